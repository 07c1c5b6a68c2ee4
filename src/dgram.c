/*
 * dgram.c - datagram sockets: recvmmsg and sendmmsg batches, binding,
 * Unix datagram client sockets and the UDP socket option helpers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "dgram.h"
#include "log.h"
#include "sock.h"
#include "xmalloc.h"

/*
 * The largest payload one datagram of FAMILY carries: 65,535 bytes of IP
 * packet minus the headers (20 + 8 for IPv4; the IPv6 header is not
 * counted in its payload length, so only the 8-byte UDP header), and for
 * Unix datagrams what udp-recv receives whole.
 */
size_t
dgram_max_payload(int family)
{
	if (family == AF_INET)
		return 65535 - 20 - 8;
	if (family == AF_INET6)
		return 65535 - 8;
	return DGRAM_MAX;
}

const char *
dgram_family_name(int family)
{
	if (family == AF_INET)
		return "IPv4";
	if (family == AF_INET6)
		return "IPv6";
	return "Unix";
}

/* ---- batches ---------------------------------------------------------- */

/*
 * Send the N (at most DGRAM_BATCH) datagrams of D with one sendmmsg().
 * Returns how many left (at least 1), 0 when the socket takes none now
 * (EAGAIN), or -1 with errno for the first datagram that failed.
 */
int
dgram_send_batch(int fd, const struct dgram *d, size_t n)
{
	struct mmsghdr msgs[DGRAM_BATCH];
	struct iovec iovs[DGRAM_BATCH];
	size_t i;
	int r;

	if (n > DGRAM_BATCH)
		n = DGRAM_BATCH;
	if (n == 0)
		return 0;
	memset(msgs, 0, n * sizeof msgs[0]);
	for (i = 0; i < n; i++) {
		iovs[i].iov_base = (void *)d[i].data;
		iovs[i].iov_len = d[i].len;
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = (void *)d[i].to;
		msgs[i].msg_hdr.msg_namelen = d[i].to ? d[i].tolen : 0;
	}
	do
		r = sendmmsg(fd, msgs, (unsigned)n,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	while (r == -1 && errno == EINTR);
	if (r == -1 && (errno == EAGAIN || errno == ENOBUFS))
		return 0;
	return r;
}

/* Allocate the batch buffers (DGRAM_BATCH x DGRAM_MAX bytes). */
void
dgram_rx_init(struct dgram_rx *rx)
{
	size_t i;

	rx->msgs = xcalloc(DGRAM_BATCH, sizeof *rx->msgs);
	rx->iovs = xcalloc(DGRAM_BATCH, sizeof *rx->iovs);
	rx->addrs = xcalloc(DGRAM_BATCH, sizeof *rx->addrs);
	rx->bufs = xreallocarray(NULL, DGRAM_BATCH, DGRAM_MAX);
	for (i = 0; i < DGRAM_BATCH; i++) {
		rx->iovs[i].iov_base = rx->bufs + i * DGRAM_MAX;
		rx->msgs[i].msg_hdr.msg_iov = &rx->iovs[i];
		rx->msgs[i].msg_hdr.msg_iovlen = 1;
		rx->msgs[i].msg_hdr.msg_name = &rx->addrs[i];
	}
}

void
dgram_rx_free(struct dgram_rx *rx)
{
	free(rx->msgs);
	free(rx->iovs);
	free(rx->addrs);
	free(rx->bufs);
	memset(rx, 0, sizeof *rx);
}

/*
 * Receive up to MAX (at most DGRAM_BATCH) waiting datagrams from FD with
 * one recvmmsg().  MSG_TRUNC makes the kernel report a datagram's real
 * size even when it did not fit.  Returns how many arrived, 0 when none
 * is waiting, or -1 with errno (ECONNREFUSED: an ICMP error came back).
 */
int
dgram_rx_recv(struct dgram_rx *rx, int fd, size_t max)
{
	size_t i;
	int r;

	if (max > DGRAM_BATCH)
		max = DGRAM_BATCH;
	for (i = 0; i < max; i++) {
		rx->iovs[i].iov_len = DGRAM_MAX;
		rx->msgs[i].msg_hdr.msg_namelen = sizeof rx->addrs[i];
		rx->msgs[i].msg_hdr.msg_control = NULL;
		rx->msgs[i].msg_hdr.msg_controllen = 0;
		rx->msgs[i].msg_hdr.msg_flags = 0;
		rx->msgs[i].msg_len = 0;
	}
	do
		r = recvmmsg(fd, rx->msgs, (unsigned)max,
		    MSG_DONTWAIT | MSG_TRUNC, NULL);
	while (r == -1 && errno == EINTR);
	if (r == -1 && errno == EAGAIN)
		return 0;
	return r;
}

const char *
dgram_rx_data(const struct dgram_rx *rx, size_t i)
{
	return rx->bufs + i * DGRAM_MAX;
}

size_t
dgram_rx_len(const struct dgram_rx *rx, size_t i)
{
	return rx->msgs[i].msg_len;
}

bool
dgram_rx_truncated(const struct dgram_rx *rx, size_t i)
{
	return (rx->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 ||
	    rx->msgs[i].msg_len > DGRAM_MAX;
}

const struct sockaddr *
dgram_rx_from(const struct dgram_rx *rx, size_t i, socklen_t *len)
{
	*len = rx->msgs[i].msg_hdr.msg_namelen;
	return (const struct sockaddr *)&rx->addrs[i];
}

/* ---- sockets and options ---------------------------------------------- */

/*
 * A Unix datagram socket connected to PATH, bound first to a fresh name
 * in $TMPDIR (or /tmp) so that the peer can reply.  *BOUND is set to that
 * allocated path, which the caller unlinks when done.  Returns the fd, or
 * -1 with *errp.
 */
int
dgram_unix_client(const char *path, char **bound, char **errp)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	struct sockaddr_storage dst, me;
	socklen_t dstlen, melen;
	const char *dir = getenv("TMPDIR");
	char suffix[11], *name = NULL;
	int fd, tries;
	size_t i;

	*bound = NULL;
	if (addr_unix(path, &dst, &dstlen, errp) == -1)
		return -1;
	if (dir == NULL || *dir == '\0' || *dir == '@')
		dir = "/tmp";
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*errp = log_fmt("socket: %s", strerror(errno));
		return -1;
	}
	for (tries = 0; tries < 32; tries++) {
		for (i = 0; i < sizeof suffix - 1; i++)
			suffix[i] = alnum[arc4random_uniform(sizeof alnum - 1)];
		suffix[i] = '\0';
		free(name);
		name = log_fmt("%s/sockt-udp.%s", dir, suffix);
		if (addr_unix(name, &me, &melen, errp) == -1)
			goto fail;
		if (bind(fd, (struct sockaddr *)&me, melen) == 0)
			break;
		if (errno != EADDRINUSE) {
			*errp = log_fmt("bind %s: %s", name, strerror(errno));
			goto fail;
		}
	}
	if (tries == 32) {
		*errp = log_fmt("bind %s: %s", name, strerror(EADDRINUSE));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&dst, dstlen) == -1) {
		*errp = log_fmt("send %s: %s", path, strerror(errno));
		unlink(name);
		goto fail;
	}
	*bound = name;
	return fd;
fail:
	free(name);
	close(fd);
	return -1;
}

/*
 * Does SA (LEN bytes) name a sender that can be answered?  Not an
 * unbound Unix socket.
 */
bool
dgram_named(const struct sockaddr *sa, socklen_t len)
{
	if (len == 0)
		return false;
	if (sa->sa_family != AF_UNIX)
		return true;
	return len > offsetof(struct sockaddr_un, sun_path);
}

/*
 * P (zeroed at first) is now the sender of a datagram from SA (LEN bytes)
 * on socket FD, its name formatted ("(unnamed)" for an unbound Unix
 * socket).  Returns whether that is a change.
 */
bool
dgram_peer_set(struct dgram_peer *p, int fd, const struct sockaddr *sa,
    socklen_t len)
{
	if (p->name[0] != '\0' && p->len == len && p->fd == fd &&
	    memcmp(&p->addr, sa, len) == 0)
		return false;
	if (len > sizeof p->addr)
		len = sizeof p->addr;
	memcpy(&p->addr, sa, len);
	p->len = len;
	p->fd = fd;
	if (dgram_named(sa, len))
		addr_format(sa, len, p->name, sizeof p->name);
	else
		strlcpy(p->name, "(unnamed)", sizeof p->name);
	return true;
}

bool
dgram_is_multicast(const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET)
		return IN_MULTICAST(ntohl(sin->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr);
	return false;
}

/*
 * Is SA an IPv4 broadcast address of this host: 255.255.255.255, an
 * interface's broadcast address, or the last address of a local prefix
 * (127.255.255.255 for lo's 127.0.0.1/8), for which Linux adds a
 * broadcast route whatever the interface's flags?
 */
bool
dgram_is_broadcast(const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in *a, *m, *b;
	struct ifaddrs *ifs, *i;
	uint32_t want, mask;
	bool found = false;

	if (sa->sa_family != AF_INET)
		return false;
	want = ntohl(sin->sin_addr.s_addr);
	if (want == INADDR_BROADCAST)
		return true;
	if (getifaddrs(&ifs) == -1)
		return false;
	for (i = ifs; i != NULL && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		a = (const struct sockaddr_in *)i->ifa_addr;
		m = (const struct sockaddr_in *)i->ifa_netmask;
		b = (const struct sockaddr_in *)i->ifa_broadaddr;
		mask = m != NULL ? ntohl(m->sin_addr.s_addr) : 0xffffffff;
		/* a /31 or /32 has no broadcast address */
		if (mask < 0xfffffffe &&
		    want == (ntohl(a->sin_addr.s_addr) | ~mask))
			found = true;
		if ((i->ifa_flags & IFF_BROADCAST) && b != NULL &&
		    b->sin_family == AF_INET &&
		    ntohl(b->sin_addr.s_addr) == want)
			found = true;
	}
	freeifaddrs(ifs);
	return found;
}

/*
 * Bind datagram sockets to HOST PORT (every address when HOST is NULL).
 * A socket on a numeric broadcast or multicast address shares its port,
 * so that several receivers each get every datagram sent there; any
 * other is the port's only owner: a second receiver would take unicast
 * datagrams meant for the first.  Returns -1 with *errp.
 */
int
dgram_bind(const char *host, const char *port, int family, int flags,
    struct sock_listeners *ls, char **errp)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof ss);
	if (host != NULL && inet_pton(AF_INET, host, &sin->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (host != NULL && inet_pton(AF_INET6, host,
	    &sin6->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	if (ss.ss_family != AF_UNSPEC &&
	    (dgram_is_multicast((struct sockaddr *)&ss) ||
	    dgram_is_broadcast((struct sockaddr *)&ss)))
		return sock_bind_shared(host, port, family, flags, ls, errp);
	return sock_listen_inet(host, port, family, SOCK_DGRAM, flags, ls,
	    errp);
}

/*
 * A multicast group given numerically: 224.0.0.0/4 or ff00::/8.  Fills
 * SS (port 0).  Returns -1 with *errp for anything else.
 */
int
dgram_parse_group(const char *s, struct sockaddr_storage *ss, char **errp)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else {
		*errp = log_fmt("bad multicast group '%s': not a numeric IPv4 "
		    "or IPv6 address", s);
		return -1;
	}
	if (!dgram_is_multicast((struct sockaddr *)ss)) {
		*errp = log_fmt("bad multicast group '%s': not a multicast "
		    "address (224.0.0.0/4, ff00::/8)", s);
		return -1;
	}
	return 0;
}

/* The index of network interface NAME; -1 with *errp when there is none. */
int
dgram_iface_index(const char *name, unsigned *index, char **errp)
{
	*index = if_nametoindex(name);
	if (*index == 0) {
		*errp = log_fmt("--iface %s: %s", name, errno == ENODEV ||
		    errno == 0 || errno == ENXIO ? "no such interface" :
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
dgram_set_broadcast(int fd)
{
	int on = 1;

	log_info(2, "SO_BROADCAST");
	return setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
}

/* Time to live (hop limit) of unicast and multicast datagrams alike. */
int
dgram_set_ttl(int fd, int family, int ttl)
{
	log_info(2, "%s %d", family == AF_INET ? "IP_TTL, IP_MULTICAST_TTL" :
	    "IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS", ttl);
	if (family == AF_INET)
		return setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) ==
		    -1 ? -1 : setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl,
		    sizeof ttl);
	return setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl,
	    sizeof ttl) == -1 ? -1 : setsockopt(fd, IPPROTO_IPV6,
	    IPV6_MULTICAST_HOPS, &ttl, sizeof ttl);
}

/* Multicast datagrams leave through interface INDEX. */
int
dgram_set_multicast_iface(int fd, int family, unsigned index)
{
	struct ip_mreqn mr;
	int i = (int)index;

	log_info(2, "%s %u", family == AF_INET ? "IP_MULTICAST_IF" :
	    "IPV6_MULTICAST_IF", index);
	if (family == AF_INET) {
		memset(&mr, 0, sizeof mr);
		mr.imr_ifindex = (int)index;
		return setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr,
		    sizeof mr);
	}
	return setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &i, sizeof i);
}

/* Join GROUP on interface INDEX (0: the one the routing table picks). */
int
dgram_join(int fd, const struct sockaddr *group, unsigned index)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)group;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)group;
	struct ip_mreqn mr;
	struct ipv6_mreq mr6;

	log_info(2, "%s on interface %u", group->sa_family == AF_INET ?
	    "IP_ADD_MEMBERSHIP" : "IPV6_JOIN_GROUP", index);
	if (group->sa_family == AF_INET) {
		memset(&mr, 0, sizeof mr);
		mr.imr_multiaddr = sin->sin_addr;
		mr.imr_ifindex = (int)index;
		return setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
		    sizeof mr);
	}
	memset(&mr6, 0, sizeof mr6);
	mr6.ipv6mr_multiaddr = sin6->sin6_addr;
	mr6.ipv6mr_interface = index;
	return setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr6, sizeof mr6);
}

/*
 * Ask for a receive buffer of BYTES; past net.core.rmem_max, force it when
 * privileged.  *GOT is the size obtained, in the same units (Linux reports
 * twice the size asked for, its bookkeeping included; halved here).
 */
int
dgram_set_rcvbuf(int fd, int bytes, int *got)
{
	socklen_t len = sizeof *got;

	log_info(2, "SO_RCVBUF %d", bytes);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) == -1)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, got, &len) == -1)
		return -1;
	*got /= 2;
	if (*got >= bytes)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) ==
	    0) {
		len = sizeof *got;
		if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, got, &len) == -1)
			return -1;
		*got /= 2;
	}
	return 0;
}
