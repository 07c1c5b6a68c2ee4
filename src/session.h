/*
 * session.h - the stdio <-> socket sessions of listen and connect, with
 * the end-of-stream rules of design section 3: stdin EOF half-closes the
 * socket, socket EOF closes stdout, -q, -d, --send-only, --recv-only,
 * --no-shutdown, -i, the terminal habits, the -x/-o taps and -P progress;
 * and the hub of listen -k and --broker, which shares stdio among many
 * clients.  What a session does is said by a session_spec, which the
 * caller maps from the options.
 */
#ifndef SOCKT_SESSION_H
#define SOCKT_SESSION_H

#include <stdbool.h>

#include "log.h"
#include "loop.h"
#include "progress.h"
#include "relay.h"

struct session_spec {
	bool		 read_stdin;	/* false: -d, --recv-only */
	bool		 send_only;	/* discard what arrives; end once the
					   peer has every byte */
	bool		 recv_only;	/* half-close the socket at once */
	bool		 shutdown;	/* half-close at stdin EOF */
	int		 quit_ms;	/* -q: after stdin EOF; -1: never */
	int		 idle_ms;	/* -i; 0: none */
	int		 ack_ms;	/* --send-only: no progress fails */
	bool		 ack_by_w;	/* ack_ms is -w's (say so) */
	const char	*hexdump;	/* -x FILE ("-": stderr), or NULL */
	const char	*output;	/* -o FILE, or NULL */
	bool		 progress;	/* -P */
	bool		 stdout_closed;	/* fd 1 was closed at start */
	bool		 broker;	/* hub: clients hear each other */
	bool		 crlf;		/* -C: stdin's LF goes out as CRLF */
};

struct session_hub;
struct tls_conn;
struct session_state;

/* The local side: stdio as opened for the sessions, once per process. */
struct session_ctx {
	struct session_spec	 spec;
	struct loop		*loop;
	struct relay		*relay;		/* the sessions' relays */
	int			 in_fd;		/* -1: stdin is not read */
	enum fd_kind		 in_kind;
	bool			 in_tty;
	int			 out_fd;	/* -1: nothing goes to stdout */
	enum fd_kind		 out_kind;
	struct log_tap		 tap;
	bool			 tapping;
	struct progress		 meter;		/* -P */
	struct session_hub	*hub;		/* listen -k */
	struct session_state	*single;	/* the one session_start() */
};

int	 session_ctx_open(struct session_ctx *, struct loop *,
	     const struct session_spec *, char **);
void	 session_ctx_close(struct session_ctx *);
int	 session_tap(void *, const void *, size_t, char **);
int	 session_tap_sent(void *, const void *, size_t, char **);
struct relay_session *session_start(struct session_ctx *, int,
	     struct tls_conn *, const char *, relay_done_fn *, void *);
void	 session_progress_end(struct session_ctx *);

void	 session_hub_open(struct session_ctx *, relay_done_fn *, void *);
struct relay_session *session_hub_add(struct session_ctx *, int,
	     struct tls_conn *, const char *, relay_done_fn *, void *);

#endif
