/*
 * push.h - one file pushed raw over a connected TCP socket (send-file
 * --raw, "nc HOST PORT < FILE" done right): the bytes go out without
 * copying through sockt where the kernel allows (sendfile), the socket is
 * half-closed after the last one, and the push succeeds only once the
 * peer's TCP has acknowledged every byte (SIOCOUTQ down to 0, looked at
 * on a timer) and the peer has closed its side.  What the peer sends
 * meanwhile is read and discarded.
 *
 * A reset, a peer that closes before it has everything, a read error, no
 * acknowledgement progress for ack_ms, or -i idle time fail the push;
 * the message then says how many bytes the peer acknowledged.  The
 * result arrives once through the done callback, from the loop.
 */
#ifndef SOCKT_PUSH_H
#define SOCKT_PUSH_H

#include <stdbool.h>
#include <stdint.h>

#include "fdkind.h"
#include "relay.h"

struct push_spec {
	int		 in_fd;		/* the file (or stdin), now the push's */
	enum fd_kind	 in_kind;
	const char	*in_name;	/* in messages */
	int64_t		 size;		/* a regular file's size, or -1 */
	int		 idle_ms;	/* -i; 0: none */
	int		 ack_ms;	/* no acknowledgement progress fails */
	bool		 ack_by_w;	/* ack_ms is -w's (say so) */
};

struct push;

typedef void	 push_done_fn(void *, int, const char *);

struct push	*push_start(struct relay *, int, const char *,
		     const struct push_spec *, push_done_fn *, void *);
uint64_t	 push_sent(const struct push *);
void		 push_free(struct push *);

#endif
