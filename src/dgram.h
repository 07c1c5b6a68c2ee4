/*
 * dgram.h - datagram sockets for udp-send and udp-recv: batched receives
 * (recvmmsg) that detect truncation, batched sends (sendmmsg), binding
 * (a port is shared only where no unicast datagram can arrive), Unix
 * datagram client sockets, and one helper per socket option (broadcast,
 * TTL, multicast interface and membership, receive buffer).
 *
 * Functions that can fail return -1 with errno set, or with *errp set to
 * an allocated one-line message when they take one.  Nothing here prints
 * or exits.
 */
#ifndef SOCKT_DGRAM_H
#define SOCKT_DGRAM_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "sock.h"

#define DGRAM_MAX	65536	/* one receive buffer: any UDP datagram fits */
#define DGRAM_BATCH	64	/* datagrams per recvmmsg() / sendmmsg() */

size_t		 dgram_max_payload(int);
const char	*dgram_family_name(int);

/* One datagram to send; TO is NULL on a connected socket. */
struct dgram {
	const void		*data;
	size_t			 len;
	const struct sockaddr	*to;
	socklen_t		 tolen;
};

int	 dgram_send_batch(int, const struct dgram *, size_t);

/*
 * A receive batch: DGRAM_BATCH buffers of DGRAM_MAX bytes, allocated
 * once.  After dgram_rx_recv() returned N, datagram I (I < N) is
 * dgram_rx_data()/dgram_rx_len() from dgram_rx_from();
 * dgram_rx_truncated() says it was larger than its buffer, and
 * dgram_rx_len() is then its real size.
 */
struct dgram_rx {
	struct mmsghdr		*msgs;
	struct iovec		*iovs;
	struct sockaddr_storage	*addrs;
	char			*bufs;
};

void		 dgram_rx_init(struct dgram_rx *);
void		 dgram_rx_free(struct dgram_rx *);
int		 dgram_rx_recv(struct dgram_rx *, int, size_t);
const char	*dgram_rx_data(const struct dgram_rx *, size_t);
size_t		 dgram_rx_len(const struct dgram_rx *, size_t);
bool		 dgram_rx_truncated(const struct dgram_rx *, size_t);
const struct sockaddr *dgram_rx_from(const struct dgram_rx *, size_t,
		     socklen_t *);

/* A sender, as the socket it wrote to sees it, with its printable name. */
struct dgram_peer {
	struct sockaddr_storage	 addr;
	socklen_t		 len;
	int			 fd;
	char			 name[ADDR_NAMELEN];
};

bool	 dgram_named(const struct sockaddr *, socklen_t);
bool	 dgram_peer_set(struct dgram_peer *, int, const struct sockaddr *,
	     socklen_t);

/* Sockets and their options. */
int	 dgram_bind(const char *, const char *, int, int,
	     struct sock_listeners *, char **);
int	 dgram_unix_client(const char *, char **, char **);
bool	 dgram_is_multicast(const struct sockaddr *);
bool	 dgram_is_broadcast(const struct sockaddr *);
int	 dgram_parse_group(const char *, struct sockaddr_storage *, char **);
int	 dgram_iface_index(const char *, unsigned *, char **);
int	 dgram_set_broadcast(int);
int	 dgram_set_ttl(int, int, int);
int	 dgram_set_multicast_iface(int, int, unsigned);
int	 dgram_join(int, const struct sockaddr *, unsigned);
int	 dgram_set_rcvbuf(int, int, int *);

#endif
