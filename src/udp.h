/*
 * udp.h - datagram plumbing shared by udp-send and udp-recv: batched
 * receives (recvmmsg) that detect truncation, batched sends (sendmmsg),
 * stdin split into datagrams, a non-blocking queue in front of stdout,
 * Unix datagram client sockets, and one helper per socket option
 * (broadcast, TTL, multicast interface and membership, receive buffer).
 *
 * Functions that can fail return -1 with errno set, or with *errp set to
 * an allocated one-line message when they take one.  Nothing here prints
 * or exits.
 */
#ifndef SOCKT_UDP_H
#define SOCKT_UDP_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "relay.h"

#define UDP_DGRAM_MAX	65536	/* one receive buffer: any UDP datagram fits */
#define UDP_BATCH	64	/* datagrams per recvmmsg() / sendmmsg() */

size_t		 udp_max_payload(int);
const char	*udp_family_name(int);

/* One datagram to send; TO is NULL on a connected socket. */
struct udp_dgram {
	const void		*data;
	size_t			 len;
	const struct sockaddr	*to;
	socklen_t		 tolen;
};

int	 udp_send_batch(int, const struct udp_dgram *, size_t);

/*
 * A receive batch: UDP_BATCH buffers of UDP_DGRAM_MAX bytes, allocated
 * once.  After udp_rx_recv() returned N, datagram I (I < N) is
 * udp_rx_data()/udp_rx_len() from udp_rx_from(); udp_rx_truncated() says
 * it was larger than its buffer, and udp_rx_len() is then its real size.
 */
struct udp_rx {
	struct mmsghdr		*msgs;
	struct iovec		*iovs;
	struct sockaddr_storage	*addrs;
	char			*bufs;
};

int		 udp_rx_init(struct udp_rx *);
void		 udp_rx_free(struct udp_rx *);
int		 udp_rx_recv(struct udp_rx *, int, size_t);
const char	*udp_rx_data(const struct udp_rx *, size_t);
size_t		 udp_rx_len(const struct udp_rx *, size_t);
bool		 udp_rx_truncated(const struct udp_rx *, size_t);
const struct sockaddr *udp_rx_from(const struct udp_rx *, size_t,
		     socklen_t *);

/*
 * stdin cut into datagrams: one per line (newline kept), fixed-size
 * chunks, or all of it as one.  udp_feed_fill() reads once;
 * udp_feed_next() lists the complete datagrams not yet sent, without
 * consuming them; udp_feed_consume() drops the first N once sent.
 */
enum udp_split { UDP_SPLIT_LINES, UDP_SPLIT_SIZE, UDP_SPLIT_WHOLE };

struct udp_feed {
	enum udp_split	 mode;
	size_t		 size;		/* UDP_SPLIT_SIZE: bytes per datagram */
	size_t		 max;		/* the largest datagram allowed */
	int		 fd;
	enum fd_kind	 kind;
	char		*buf;
	size_t		 cap;
	size_t		 head;		/* first byte not yet sent */
	size_t		 ready;		/* end of the complete datagrams */
	size_t		 tail;		/* end of what was read */
	bool		 eof;
	bool		 whole_sent;	/* UDP_SPLIT_WHOLE: the one datagram */
};

void	 udp_feed_init(struct udp_feed *, int, enum fd_kind, enum udp_split,
	     size_t, size_t);
void	 udp_feed_free(struct udp_feed *);
bool	 udp_feed_room(const struct udp_feed *);
ssize_t	 udp_feed_fill(struct udp_feed *);
int	 udp_feed_next(struct udp_feed *, struct udp_dgram *, size_t);
void	 udp_feed_consume(struct udp_feed *, const struct udp_dgram *,
	     size_t);
bool	 udp_feed_done(const struct udp_feed *);

/*
 * A queue in front of a non-blocking output fd (stdout).  udp_out_writev()
 * writes what the fd takes at once and queues the rest; the queue is
 * written as the fd drains, then FN(ARG, 0) runs.  A write error drops
 * the queue and runs FN(ARG, errno).  An fd of -1 discards everything.
 */
typedef void	 udp_out_fn(void *, int);

struct udp_out {
	struct loop	*loop;
	int		 fd;
	enum fd_kind	 kind;
	char		*buf;
	size_t		 off;
	size_t		 len;
	size_t		 cap;
	udp_out_fn	*fn;
	void		*arg;
};

void	 udp_out_init(struct udp_out *, struct loop *, int, enum fd_kind,
	     udp_out_fn *, void *);
int	 udp_out_writev(struct udp_out *, const struct iovec *, int);
bool	 udp_out_busy(const struct udp_out *);
void	 udp_out_free(struct udp_out *);

/*
 * What keeps udp-recv --echo from feeding an echo loop, such as two echo
 * services made to answer each other by one spoofed datagram.  A sender
 * at a port of the services that answer every datagram (echo, daytime,
 * qotd, chargen, time) is never answered.  Any other sender (its address
 * and port; a Unix name) has a token bucket: UDP_ECHO_BURST echoes at
 * once, then UDP_ECHO_RATE a second.  A loop runs faster than that and
 * dies out once a bucket is empty.  UDP_ECHO_PEERS buckets are kept; a
 * new sender takes the place of a full bucket, or of the one unused the
 * longest.
 */
#define UDP_ECHO_BURST	1000
#define UDP_ECHO_RATE	100	/* echoes a second, after the burst */
#define UDP_ECHO_PEERS	64

enum udp_echo_verdict {
	UDP_ECHO_OK,
	UDP_ECHO_LOOP_PORT,	/* never: a port of the answer-all kind */
	UDP_ECHO_OVER,		/* not now: over the rate, first time */
	UDP_ECHO_STILL_OVER	/* not now, and said so already */
};

struct udp_echo_bucket {
	struct sockaddr_storage	 addr;
	socklen_t		 len;		/* 0: slot unused */
	uint64_t		 stamp;		/* ms of the last refill */
	uint64_t		 seen;		/* ms of its last datagram */
	uint64_t		 tokens;	/* in thousandths */
	bool			 over;		/* refused since last full */
};

struct udp_echo_limit {
	struct udp_echo_bucket	 peers[UDP_ECHO_PEERS];
};

enum udp_echo_verdict udp_echo_check(struct udp_echo_limit *,
		     const struct sockaddr *, socklen_t, uint64_t);

/* Sockets and their options. */
int	 udp_unix_client(const char *, char **, char **);
bool	 udp_is_multicast(const struct sockaddr *);
int	 udp_parse_group(const char *, struct sockaddr_storage *, char **);
int	 udp_iface_index(const char *, unsigned *, char **);
int	 udp_set_broadcast(int);
int	 udp_set_ttl(int, int, int);
int	 udp_set_multicast_iface(int, int, unsigned);
int	 udp_join(int, const struct sockaddr *, unsigned);
int	 udp_set_rcvbuf(int, int, int *);

#endif
