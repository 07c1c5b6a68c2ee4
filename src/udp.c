/*
 * udp.c - datagram plumbing for udp-send and udp-recv: recvmmsg and
 * sendmmsg batches, stdin cut into datagrams, the stdout queue, Unix
 * datagram client sockets and the UDP socket option helpers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "loop.h"
#include "relay.h"
#include "udp.h"

#define UDP_FEED_CAP	(4 * UDP_DGRAM_MAX)	/* stdin buffer */
#define UDP_OUT_IOV	(4 * UDP_BATCH)		/* iovecs per udp_out_writev */

/*
 * The largest payload one datagram of FAMILY carries: 65,535 bytes of IP
 * packet minus the headers (20 + 8 for IPv4; the IPv6 header is not
 * counted in its payload length, so only the 8-byte UDP header), and for
 * Unix datagrams what udp-recv receives whole.
 */
size_t
udp_max_payload(int family)
{
	if (family == AF_INET)
		return 65535 - 20 - 8;
	if (family == AF_INET6)
		return 65535 - 8;
	return UDP_DGRAM_MAX;
}

const char *
udp_family_name(int family)
{
	if (family == AF_INET)
		return "IPv4";
	if (family == AF_INET6)
		return "IPv6";
	return "Unix";
}

/* ---- batches ---------------------------------------------------------- */

/*
 * Send the N (at most UDP_BATCH) datagrams of D with one sendmmsg().
 * Returns how many left (at least 1), 0 when the socket takes none now
 * (EAGAIN), or -1 with errno for the first datagram that failed.
 */
int
udp_send_batch(int fd, const struct udp_dgram *d, size_t n)
{
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iovs[UDP_BATCH];
	size_t i;
	int r;

	if (n > UDP_BATCH)
		n = UDP_BATCH;
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

/* Allocate the batch buffers; -1 with errno (ENOMEM). */
int
udp_rx_init(struct udp_rx *rx)
{
	size_t i;

	memset(rx, 0, sizeof *rx);
	rx->msgs = calloc(UDP_BATCH, sizeof *rx->msgs);
	rx->iovs = calloc(UDP_BATCH, sizeof *rx->iovs);
	rx->addrs = calloc(UDP_BATCH, sizeof *rx->addrs);
	rx->bufs = malloc((size_t)UDP_BATCH * UDP_DGRAM_MAX);
	if (rx->msgs == NULL || rx->iovs == NULL || rx->addrs == NULL ||
	    rx->bufs == NULL) {
		udp_rx_free(rx);
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < UDP_BATCH; i++) {
		rx->iovs[i].iov_base = rx->bufs + i * UDP_DGRAM_MAX;
		rx->msgs[i].msg_hdr.msg_iov = &rx->iovs[i];
		rx->msgs[i].msg_hdr.msg_iovlen = 1;
		rx->msgs[i].msg_hdr.msg_name = &rx->addrs[i];
	}
	return 0;
}

void
udp_rx_free(struct udp_rx *rx)
{
	free(rx->msgs);
	free(rx->iovs);
	free(rx->addrs);
	free(rx->bufs);
	memset(rx, 0, sizeof *rx);
}

/*
 * Receive up to MAX (at most UDP_BATCH) waiting datagrams from FD with
 * one recvmmsg().  MSG_TRUNC makes the kernel report a datagram's real
 * size even when it did not fit.  Returns how many arrived, 0 when none
 * is waiting, or -1 with errno (ECONNREFUSED: an ICMP error came back).
 */
int
udp_rx_recv(struct udp_rx *rx, int fd, size_t max)
{
	size_t i;
	int r;

	if (max > UDP_BATCH)
		max = UDP_BATCH;
	for (i = 0; i < max; i++) {
		rx->iovs[i].iov_len = UDP_DGRAM_MAX;
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
udp_rx_data(const struct udp_rx *rx, size_t i)
{
	return rx->bufs + i * UDP_DGRAM_MAX;
}

size_t
udp_rx_len(const struct udp_rx *rx, size_t i)
{
	return rx->msgs[i].msg_len;
}

bool
udp_rx_truncated(const struct udp_rx *rx, size_t i)
{
	return (rx->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 ||
	    rx->msgs[i].msg_len > UDP_DGRAM_MAX;
}

const struct sockaddr *
udp_rx_from(const struct udp_rx *rx, size_t i, socklen_t *len)
{
	*len = rx->msgs[i].msg_hdr.msg_namelen;
	return (const struct sockaddr *)&rx->addrs[i];
}

/* ---- stdin cut into datagrams ----------------------------------------- */

/*
 * Read FD (of KIND) as MODE datagrams: SIZE bytes each for
 * UDP_SPLIT_SIZE, none larger than MAX.  The buffer comes with the first
 * read.  An FD of -1 is an empty stdin that yields no datagram at all.
 */
void
udp_feed_init(struct udp_feed *f, int fd, enum fd_kind kind,
    enum udp_split mode, size_t size, size_t max)
{
	memset(f, 0, sizeof *f);
	f->fd = fd;
	f->kind = kind;
	f->mode = mode;
	f->size = size;
	f->max = max;
	f->cap = UDP_FEED_CAP;
	if (fd == -1)	/* stdin is not read: it is empty */
		f->eof = f->whole_sent = true;
}

void
udp_feed_free(struct udp_feed *f)
{
	free(f->buf);
	f->buf = NULL;
}

/* Is there room for another read (and a reason to make one)? */
bool
udp_feed_room(const struct udp_feed *f)
{
	if (f->eof || f->tail - f->head >= f->cap)
		return false;
	if (f->mode == UDP_SPLIT_LINES && f->tail - f->ready > f->max)
		return false;	/* an overlong line: udp_feed_next() says so */
	if (f->mode == UDP_SPLIT_WHOLE && f->tail - f->head > f->max)
		return false;
	return true;
}

/*
 * Read once into the buffer, first moving what is left to its start.
 * Returns the bytes read, 0 at end of file, -1 with errno (EAGAIN: nothing
 * to read now).
 */
ssize_t
udp_feed_fill(struct udp_feed *f)
{
	size_t old;
	char *nl;
	ssize_t n;

	if (f->buf == NULL && (f->buf = malloc(f->cap)) == NULL)
		return -1;
	if (f->head > 0) {
		memmove(f->buf, f->buf + f->head, f->tail - f->head);
		f->ready -= f->head;
		f->tail -= f->head;
		f->head = 0;
	}
	do {
		if (f->kind == FD_SOCKET)
			n = recv(f->fd, f->buf + f->tail, f->cap - f->tail,
			    MSG_DONTWAIT);
		else
			n = read(f->fd, f->buf + f->tail, f->cap - f->tail);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if (n == 0) {
		f->eof = true;
		f->ready = f->tail;	/* a last line without newline */
		return 0;
	}
	old = f->tail;
	f->tail += (size_t)n;
	switch (f->mode) {
	case UDP_SPLIT_LINES:
		nl = memrchr(f->buf + old, '\n', (size_t)n);
		if (nl != NULL)
			f->ready = (size_t)(nl - f->buf) + 1;
		break;
	case UDP_SPLIT_SIZE:
		f->ready += (f->tail - f->ready) / f->size * f->size;
		break;
	case UDP_SPLIT_WHOLE:
		break;
	}
	return n;
}

/*
 * Describe up to N complete datagrams from the first unsent byte in D,
 * without consuming them.  Returns how many, or -1 with errno EMSGSIZE
 * when the next datagram is larger than the maximum (a line too long, or
 * all of stdin under UDP_SPLIT_WHOLE).
 */
int
udp_feed_next(struct udp_feed *f, struct udp_dgram *d, size_t n)
{
	size_t count = 0, pos = f->head, end, len;
	char *nl;

	switch (f->mode) {
	case UDP_SPLIT_LINES:
		while (count < n && pos < f->ready) {
			nl = memchr(f->buf + pos, '\n', f->ready - pos);
			end = nl ? (size_t)(nl - f->buf) + 1 : f->ready;
			len = end - pos;
			if (len > f->max)
				break;
			d[count].data = f->buf + pos;
			d[count].len = len;
			d[count++].to = NULL;
			pos = end;
		}
		if (count == 0 && ((pos < f->ready) || (!f->eof &&
		    f->tail - f->ready > f->max))) {
			errno = EMSGSIZE;
			return -1;
		}
		break;
	case UDP_SPLIT_SIZE:
		while (count < n && pos < f->ready) {
			len = f->ready - pos < f->size ? f->ready - pos :
			    f->size;
			d[count].data = f->buf + pos;
			d[count].len = len;
			d[count++].to = NULL;
			pos += len;
		}
		break;
	case UDP_SPLIT_WHOLE:
		if (f->tail - f->head > f->max) {
			errno = EMSGSIZE;
			return -1;
		}
		if (f->eof && !f->whole_sent && n > 0) {
			/* exactly one datagram, empty when stdin was */
			d[0].data = f->buf ? f->buf + f->head : "";
			d[0].len = f->tail - f->head;
			d[0].to = NULL;
			count = 1;
		}
		break;
	}
	return (int)count;
}

/* The first N datagrams last listed by udp_feed_next() were sent. */
void
udp_feed_consume(struct udp_feed *f, const struct udp_dgram *d, size_t n)
{
	if (n == 0)
		return;
	if (f->mode == UDP_SPLIT_WHOLE) {
		f->whole_sent = true;
		f->head = f->tail;
	} else
		f->head = (size_t)((const char *)d[n - 1].data - f->buf) +
		    d[n - 1].len;
	if (f->head == f->tail)
		f->head = f->ready = f->tail = 0;
}

/* Was stdin read to its end and all of it sent? */
bool
udp_feed_done(const struct udp_feed *f)
{
	if (!f->eof)
		return false;
	if (f->mode == UDP_SPLIT_WHOLE)
		return f->whole_sent;
	return f->head == f->tail;
}

/* ---- the stdout queue ------------------------------------------------- */

void
udp_out_init(struct udp_out *o, struct loop *p, int fd, enum fd_kind kind,
    udp_out_fn *fn, void *arg)
{
	memset(o, 0, sizeof *o);
	o->loop = p;
	o->fd = fd;
	o->kind = kind;
	o->fn = fn;
	o->arg = arg;
}

static ssize_t
udp_out_write(struct udp_out *o, const struct iovec *iov, int n)
{
	struct msghdr msg;
	ssize_t r;

	do {
		if (o->kind == FD_SOCKET) {
			memset(&msg, 0, sizeof msg);
			msg.msg_iov = (struct iovec *)iov;
			msg.msg_iovlen = (size_t)n;
			r = sendmsg(o->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		} else
			r = writev(o->fd, iov, n);
	} while (r == -1 && errno == EINTR);
	return r;
}

/* Append LEN bytes to the queue. */
static int
udp_out_queue(struct udp_out *o, const char *data, size_t len)
{
	size_t want;
	char *grown;

	if (o->off > 0 && o->off == o->len)
		o->off = o->len = 0;
	want = o->len + len;
	if (want > o->cap) {
		if (o->off > 0) {
			memmove(o->buf, o->buf + o->off, o->len - o->off);
			o->len -= o->off;
			o->off = 0;
			want = o->len + len;
		}
		if (want > o->cap) {
			grown = realloc(o->buf, want);
			if (grown == NULL)
				return -1;
			o->buf = grown;
			o->cap = want;
		}
	}
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return 0;
}

static void
udp_out_ready(struct loop *p, int fd, void *arg)
{
	struct udp_out *o = arg;
	struct iovec iov;
	ssize_t n;
	int err;

	while (o->off < o->len) {
		iov.iov_base = o->buf + o->off;
		iov.iov_len = o->len - o->off;
		n = udp_out_write(o, &iov, 1);
		if (n == -1) {
			if (errno == EAGAIN)
				return;
			err = errno;
			loop_cancel_write(p, fd);
			o->off = o->len = 0;
			o->fn(o->arg, err);
			return;
		}
		o->off += (size_t)n;
	}
	o->off = o->len = 0;
	loop_cancel_write(p, fd);
	o->fn(o->arg, 0);
}

/*
 * Write the N (at most UDP_OUT_IOV) buffers of IOV in order: at once as
 * far as the fd takes them, the rest queued.  Returns 0, or -1 with errno
 * for a write error (EPIPE: the reader is gone).
 */
int
udp_out_writev(struct udp_out *o, const struct iovec *iov, int n)
{
	struct iovec v[UDP_OUT_IOV];
	ssize_t w;
	size_t done;
	int i = 0;

	if (o->fd == -1 || n <= 0)
		return 0;
	if (n > UDP_OUT_IOV) {
		errno = EINVAL;
		return -1;
	}
	memcpy(v, iov, (size_t)n * sizeof v[0]);
	while (!udp_out_busy(o) && i < n) {
		w = udp_out_write(o, v + i, n - i);
		if (w == -1) {
			if (errno == EAGAIN)
				break;
			return -1;
		}
		for (done = (size_t)w; i < n && done >= v[i].iov_len; i++)
			done -= v[i].iov_len;
		if (i < n) {
			v[i].iov_base = (char *)v[i].iov_base + done;
			v[i].iov_len -= done;
		}
	}
	if (i == n)
		return 0;
	for (; i < n; i++)
		if (udp_out_queue(o, v[i].iov_base, v[i].iov_len) == -1)
			return -1;
	loop_want_write(o->loop, o->fd, udp_out_ready, o);
	return 0;
}

/* Are bytes still waiting for the fd? */
bool
udp_out_busy(const struct udp_out *o)
{
	return o->len > o->off;
}

void
udp_out_free(struct udp_out *o)
{
	if (o->fd != -1 && udp_out_busy(o))
		loop_cancel_write(o->loop, o->fd);
	free(o->buf);
	o->buf = NULL;
	o->off = o->len = o->cap = 0;
}

/* ---- --echo: no loops ------------------------------------------------ */

/*
 * Ports of the services that answer any datagram (RFC 862, 867, 865, 864,
 * 868), and 0, which no real sender has.
 */
static bool
udp_echo_loop_port(uint16_t port)
{
	return port == 0 || port == 7 || port == 13 || port == 17 ||
	    port == 19 || port == 37;
}

/* The source port of SA, or -1 for a family without one. */
static int
udp_echo_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return -1;
}

/* Refill B as of NOW; the bucket holds at most UDP_ECHO_BURST tokens. */
static void
udp_echo_refill(struct udp_echo_bucket *b, uint64_t now)
{
	const uint64_t full = (uint64_t)UDP_ECHO_BURST * 1000;

	if (now > b->stamp) {
		/* RATE tokens a second are RATE thousandths a millisecond */
		if ((now - b->stamp) >= full / UDP_ECHO_RATE)
			b->tokens = full;
		else
			b->tokens += (now - b->stamp) * UDP_ECHO_RATE;
		if (b->tokens > full)
			b->tokens = full;
		b->stamp = now;
	}
	if (b->tokens == full)
		b->over = false;
}

/* Is C a better slot than V to give a new sender? */
static bool
udp_echo_rather(const struct udp_echo_bucket *c,
    const struct udp_echo_bucket *v)
{
	const uint64_t full = (uint64_t)UDP_ECHO_BURST * 1000;

	if (v->len == 0 || c->len == 0)
		return v->len != 0;
	if ((c->tokens == full) != (v->tokens == full))
		return c->tokens == full;	/* a full one forgets nothing */
	return c->seen < v->seen;
}

/*
 * May the datagram from SA (LEN bytes of address) be echoed at NOW (ms)?
 * Takes one token from its sender's bucket when it may.
 */
enum udp_echo_verdict
udp_echo_check(struct udp_echo_limit *lim, const struct sockaddr *sa,
    socklen_t len, uint64_t now)
{
	struct udp_echo_bucket *b = NULL, *c;
	int port = udp_echo_port(sa);
	size_t i;

	if (port != -1 && udp_echo_loop_port((uint16_t)port))
		return UDP_ECHO_LOOP_PORT;
	if (len > sizeof b->addr)
		len = sizeof b->addr;
	for (i = 0; i < UDP_ECHO_PEERS; i++) {
		c = &lim->peers[i];
		if (c->len == len && memcmp(&c->addr, sa, len) == 0) {
			b = c;
			break;
		}
		if (c->len != 0)
			udp_echo_refill(c, now);
		if (i == 0 || udp_echo_rather(c, b))
			b = c;
	}
	if (i == UDP_ECHO_PEERS) {
		/* a new sender, in the slot chosen above */
		memset(b, 0, sizeof *b);
		memcpy(&b->addr, sa, len);
		b->len = len;
		b->tokens = (uint64_t)UDP_ECHO_BURST * 1000;
		b->stamp = now;
	}
	b->seen = now;
	udp_echo_refill(b, now);
	if (b->tokens >= 1000) {
		b->tokens -= 1000;
		return UDP_ECHO_OK;
	}
	if (b->over)
		return UDP_ECHO_STILL_OVER;
	b->over = true;
	return UDP_ECHO_OVER;
}

/* ---- sockets and options ---------------------------------------------- */

/*
 * A Unix datagram socket connected to PATH, bound first to a fresh name
 * in $TMPDIR (or /tmp) so that the peer can reply.  *BOUND is set to that
 * allocated path, which the caller unlinks when done.  Returns the fd, or
 * -1 with *errp.
 */
int
udp_unix_client(const char *path, char **bound, char **errp)
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

bool
udp_is_multicast(const struct sockaddr *sa)
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
 * A multicast group given numerically: 224.0.0.0/4 or ff00::/8.  Fills
 * SS (port 0).  Returns -1 with *errp for anything else.
 */
int
udp_parse_group(const char *s, struct sockaddr_storage *ss, char **errp)
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
	if (!udp_is_multicast((struct sockaddr *)ss)) {
		*errp = log_fmt("bad multicast group '%s': not a multicast "
		    "address (224.0.0.0/4, ff00::/8)", s);
		return -1;
	}
	return 0;
}

/* The index of network interface NAME; -1 with *errp when there is none. */
int
udp_iface_index(const char *name, unsigned *index, char **errp)
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
udp_set_broadcast(int fd)
{
	int on = 1;

	return setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
}

/* Time to live (hop limit) of unicast and multicast datagrams alike. */
int
udp_set_ttl(int fd, int family, int ttl)
{
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
udp_set_multicast_iface(int fd, int family, unsigned index)
{
	struct ip_mreqn mr;
	int i = (int)index;

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
udp_join(int fd, const struct sockaddr *group, unsigned index)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)group;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)group;
	struct ip_mreqn mr;
	struct ipv6_mreq mr6;

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
udp_set_rcvbuf(int fd, int bytes, int *got)
{
	socklen_t len = sizeof *got;

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
