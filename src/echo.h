/*
 * echo.h - udp-recv --echo: each datagram goes back to its sender, sent
 * in batches from the receive buffers, without ever feeding an echo loop
 * (two echo services made to answer each other by one spoofed datagram).
 *
 * A sender at a port of the services that answer every datagram (echo,
 * daytime, qotd, chargen, time) is never answered.  Any other sender (its
 * address and port; a Unix name) has a token bucket: ECHO_BURST echoes at
 * once, then ECHO_RATE a second.  A loop runs faster than that and dies
 * out once a bucket is empty.  ECHO_PEERS buckets are kept; a new sender
 * takes the place of a full bucket, or of the one unused the longest.
 * Refusals are logged under -v, once per sender until its bucket refills.
 */
#ifndef SOCKT_ECHO_H
#define SOCKT_ECHO_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgram.h"
#include "log.h"

#define ECHO_BURST	1000
#define ECHO_RATE	100	/* echoes a second, after the burst */
#define ECHO_PEERS	64

struct echo_bucket {
	struct sockaddr_storage	 addr;
	socklen_t		 len;		/* 0: slot unused */
	uint64_t		 stamp;		/* ms of the last refill */
	uint64_t		 seen;		/* ms of its last datagram */
	uint64_t		 tokens;	/* in thousandths */
	bool			 over;		/* refused since last full */
};

/* The buckets, and the echoes of one receive batch not yet sent. */
struct echo {
	struct echo_bucket	 peers[ECHO_PEERS];
	struct dgram		 pending[DGRAM_BATCH];
	size_t			 n;
	size_t			 off;		/* the first not yet sent */
	int			 fd;		/* the socket they go out of */
};

void	 echo_queue(struct echo *, int, const struct sockaddr *, socklen_t,
	     const void *, size_t, const char *, bool);
void	 echo_flush(struct echo *, struct log_tap *);
bool	 echo_pending(const struct echo *);

#endif
