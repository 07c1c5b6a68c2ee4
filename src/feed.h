/*
 * feed.h - stdin cut into datagrams: one per line (newline kept),
 * fixed-size chunks, or all of it as one.  feed_fill() reads once;
 * feed_next() lists the complete datagrams not yet sent, without
 * consuming them; feed_consume() drops the first N once sent.
 */
#ifndef SOCKT_FEED_H
#define SOCKT_FEED_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "dgram.h"
#include "fdkind.h"

enum feed_split { FEED_LINES, FEED_SIZE, FEED_WHOLE };

struct feed {
	enum feed_split	 mode;
	size_t		 size;		/* FEED_SIZE: bytes per datagram */
	size_t		 max;		/* the largest datagram allowed */
	int		 fd;
	enum fd_kind	 kind;
	char		*buf;
	size_t		 cap;
	size_t		 head;		/* first byte not yet sent */
	size_t		 ready;		/* end of the complete datagrams */
	size_t		 tail;		/* end of what was read */
	bool		 eof;
	bool		 whole_sent;	/* FEED_WHOLE: the one datagram */
};

void	 feed_init(struct feed *, int, enum fd_kind, enum feed_split, size_t,
	     size_t);
void	 feed_free(struct feed *);
bool	 feed_room(const struct feed *);
ssize_t	 feed_fill(struct feed *);
int	 feed_next(struct feed *, struct dgram *, size_t);
void	 feed_consume(struct feed *, const struct dgram *, size_t);
bool	 feed_done(const struct feed *);

#endif
