/*
 * session.h - the stdio <-> socket session of listen and connect, with the
 * end-of-stream rules of design section 3: stdin EOF half-closes the
 * socket, socket EOF closes stdout, -q, -d, --send-only, --recv-only,
 * --no-shutdown, -i, the terminal habits, the -x/-o taps and -P progress.
 */
#ifndef SOCKT_SESSION_H
#define SOCKT_SESSION_H

#include <stdbool.h>

#include "log.h"
#include "options.h"
#include "loop.h"
#include "relay.h"

/* The local side: stdio as opened for the pump, once per process. */
struct session_ctx {
	const struct sockt_opts	*opts;
	struct loop		*loop;
	struct relay		*relay;		/* the sessions' relays */
	int			 in_fd;		/* -1: stdin is not read */
	enum fd_kind		 in_kind;
	bool			 in_tty;
	int			 out_fd;	/* -1: nothing goes to stdout */
	enum fd_kind		 out_kind;
	struct log_tap		 tap;
	bool			 tapping;
	struct loop_timer	 progress;
	uint64_t		 started;
	struct relay_source	*counted_in;	/* for -P */
	struct relay_source	*counted_out;
};

int	 session_ctx_open(struct session_ctx *, struct loop *,
	     const struct sockt_opts *, char **);
void	 session_ctx_close(struct session_ctx *);
int	 session_tap(void *, const void *, size_t, char **);
int	 session_tap_sent(void *, const void *, size_t, char **);
struct relay_session *session_start(struct session_ctx *, int, const char *,
	     relay_done_fn *, void *);
void	 session_progress_end(struct session_ctx *);

#endif
