/*
 * sock.c - socket setup: listeners on every resolved address (one shared
 * port, also for port 0), accept, connect with a deadline, Unix sockets,
 * and the socket option helpers.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "sock.h"

#define SOCK_LOOPBACK_TRIES	8	/* port 0: one free on ::1 as well */

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP	262
#endif

/*
 * socket(FAMILY, TYPE, 0), where TYPE may carry SOCK_MPTCP: then an
 * IPPROTO_MPTCP socket, or a TCP one when the kernel refuses MPTCP (said
 * once under -v).  Returns the fd, or -1 with errno.
 */
static int
sock_open(int family, int type)
{
	static bool noted;
	int fd, saved;

	if (!(type & SOCK_MPTCP))
		return socket(family, type, 0);
	type &= ~SOCK_MPTCP;
	if (family != AF_INET && family != AF_INET6)
		return socket(family, type, 0);
	if ((fd = socket(family, type, IPPROTO_MPTCP)) != -1)
		return fd;
	saved = errno;
	if (saved != EPROTONOSUPPORT && saved != EINVAL &&
	    saved != ENOPROTOOPT)
		return -1;
	if (!noted)
		log_info(1, "mptcp: %s: using plain TCP", strerror(saved));
	noted = true;
	return socket(family, type, 0);
}

int
sock_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

int
sock_set_reuseaddr(int fd)
{
	int on = 1;

	return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
}

int
sock_set_v6only(int fd, int on)
{
	return setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
}

int
sock_set_nodelay(int fd)
{
	int on = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

/* Make close() send a reset: used by tests of peers that vanish. */
int
sock_set_linger0(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	return setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

/*
 * How many bytes sent on the stream socket FD the peer has yet to
 * acknowledge (SIOCOUTQ: TCP's unacknowledged and unsent bytes, the FIN
 * included), in *N.  A Unix socket has no acknowledgement: what it wrote
 * is in the peer's receive queue, where closing our end never loses it,
 * so *N is 0.  Returns 0, or -1 with errno.
 */
int
sock_unacked(int fd, size_t *n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int outq;

	*n = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return 0;
	if (ioctl(fd, SIOCOUTQ, &outq) == -1)
		return -1;
	*n = outq > 0 ? (size_t)outq : 0;
	return 0;
}

/*
 * The error that broke the TCP connection FD: its pending socket error,
 * or ECONNRESET when TCP has closed it (a reset whose error a read
 * already took).  0 while the connection is alive.
 */
int
sock_conn_error(int fd)
{
	struct tcp_info ti;
	socklen_t len;
	int err = 0;

	len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0)
		return err;
	len = sizeof ti;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
	    ti.tcpi_state == TCP_CLOSE)
		return ECONNRESET;
	return 0;
}

static void
sock_set_port(struct sockaddr *sa, int port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
}

/* The port LS is bound to (they all share one), or -1. */
int
sock_listeners_port(const struct sock_listeners *ls)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char host[INET6_ADDRSTRLEN];
	uint16_t port;

	if (ls->nfds == 0 || getsockname(ls->fds[0], (struct sockaddr *)&ss,
	    &len) == -1)
		return -1;
	if (addr_numeric((struct sockaddr *)&ss, len, host, sizeof host,
	    &port) == -1)
		return -1;
	return port;
}

/*
 * Bind (and for stream sockets listen on) every address HOST PORT resolves
 * to.  With port 0 the first socket picks the port and the others reuse it,
 * so "listen 0" reports one port for IPv4 and IPv6 alike.  SHARED sets
 * SO_REUSEADDR before each bind.
 */
static int
sock_bind_all(const char *host, const char *port, int family, int socktype,
    int flags, bool shared, struct sock_listeners *ls, char **errp)
{
	struct addrinfo *res, *ai;
	char where[ADDR_NAMELEN];
	int fd, bound = -1, saved = 0;

	memset(ls, 0, sizeof *ls);
	if (addr_resolve(host, port, family, socktype & ~SOCK_MPTCP,
	    flags | AI_PASSIVE,
	    &res, errp) == -1)
		return -1;
	for (ai = res; ai != NULL && ls->nfds < 8; ai = ai->ai_next) {
		if (bound > 0)
			sock_set_port(ai->ai_addr, bound);
		addr_format(ai->ai_addr, ai->ai_addrlen, where, sizeof where);
		fd = sock_open(ai->ai_family, socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC);
		if (fd == -1) {
			/* An address family this kernel lacks: skip it. */
			if (errno == EAFNOSUPPORT && host == NULL)
				continue;
			saved = errno;
			goto fail;
		}
		if (shared)
			sock_set_reuseaddr(fd);
		if (ai->ai_family == AF_INET6)
			sock_set_v6only(fd, 1);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
		    ((socktype & ~SOCK_MPTCP) == SOCK_STREAM &&
		    listen(fd, SOMAXCONN) == -1)) {
			saved = errno;
			close(fd);
			goto fail;
		}
		ls->fds[ls->nfds++] = fd;
		if (bound <= 0)
			bound = sock_listeners_port(ls);
	}
	freeaddrinfo(res);
	if (ls->nfds == 0) {
		*errp = log_fmt("listen %s: no usable address", host ? host :
		    "*");
		return -1;
	}
	return 0;
fail:
	*errp = log_fmt("%s %s: %s", socktype != SOCK_DGRAM ? "listen" :
	    "bind", where, strerror(saved));
	freeaddrinfo(res);
	sock_listeners_close(ls);
	return -1;
}

/*
 * Listen on (SOCK_STREAM) or bind (SOCK_DGRAM) HOST PORT, as
 * sock_bind_all() does.  A stream socket takes SO_REUSEADDR, so that a
 * restarted server need not wait for TIME_WAIT; a datagram socket does
 * not: on Linux it would let any other socket with the option bind the
 * same port and take its unicast datagrams.
 */
int
sock_listen_inet(const char *host, const char *port, int family,
    int socktype, int flags, struct sock_listeners *ls, char **errp)
{
	return sock_bind_all(host, port, family, socktype, flags,
	    socktype != SOCK_DGRAM, ls, errp);
}

/*
 * Bind datagram sockets to HOST PORT that share the port with others
 * (SO_REUSEADDR): for a broadcast or multicast address, where every
 * receiver gets each datagram and no unicast datagram arrives.
 */
int
sock_bind_shared(const char *host, const char *port, int family, int flags,
    struct sock_listeners *ls, char **errp)
{
	return sock_bind_all(host, port, family, SOCK_DGRAM, flags, true, ls,
	    errp);
}

/*
 * Is any socket still bound to PATH?  /proc/net/unix lists every bound
 * Unix socket with its path; looking there, unlike a test connect(), never
 * takes the place of a real client at a one-shot listener.  When the list
 * cannot be read, assume it is in use: leave the file alone.
 */
static int
sock_unix_in_use(const char *path)
{
	const char *base = strrchr(path, '/'), *other;
	char line[4096], *p;
	FILE *f;
	int used = 0;

	base = base ? base + 1 : path;
	if ((f = fopen("/proc/net/unix", "re")) == NULL)
		return 1;
	while (!used && fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		/* the path is the last field, after the inode */
		if ((p = strrchr(line, ' ')) == NULL)
			continue;
		/*
		 * Others may have bound a relative name: a same base name
		 * counts as in use, to err on the side of leaving it alone.
		 */
		other = strrchr(p + 1, '/');
		other = other ? other + 1 : p + 1;
		if (strcmp(p + 1, path) == 0 || strcmp(other, base) == 0)
			used = 1;
	}
	fclose(f);
	return used;
}

/* Bind (and for streams listen on) Unix socket PATH. */
int
sock_listen_unix(const char *path, int type, struct sock_listeners *ls,
    char **errp)
{
	struct sockaddr_storage ss;
	struct stat st;
	socklen_t len;
	int fd;

	memset(ls, 0, sizeof *ls);
	if (addr_unix(path, &ss, &len, errp) == -1)
		return -1;
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		if (errno != EADDRINUSE || path[0] == '@' ||
		    lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode) ||
		    sock_unix_in_use(path))
			goto fail;
		errno = EADDRINUSE;
		if (unlink(path) == -1 ||
		    bind(fd, (struct sockaddr *)&ss, len) == -1)
			goto fail;
	}
	if (type == SOCK_STREAM && listen(fd, SOMAXCONN) == -1)
		goto fail;
	ls->fds[ls->nfds++] = fd;
	if (path[0] != '@')
		ls->unix_path = strdup(path);
	return 0;
fail:
	*errp = log_fmt("%s %s: %s", type == SOCK_STREAM ? "listen" : "bind",
	    path, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Close every listener, but keep the socket file sockt created until
 * sock_listeners_close(): a client that comes later is refused
 * (ECONNREFUSED), as at any port nobody listens on, instead of being told
 * that the path does not exist.
 */
void
sock_listeners_stop(struct sock_listeners *ls)
{
	size_t i;

	for (i = 0; i < ls->nfds; i++)
		close(ls->fds[i]);
	ls->nfds = 0;
}

/* Close every listener and remove the socket file sockt created. */
void
sock_listeners_close(struct sock_listeners *ls)
{
	sock_listeners_stop(ls);
	if (ls->unix_path != NULL) {
		unlink(ls->unix_path);
		free(ls->unix_path);
		ls->unix_path = NULL;
	}
}

/* Can this host bind ::1 (some have IPv6 without a loopback address)? */
static bool
sock_has_ipv6_loopback(void)
{
	struct sockaddr_in6 sin6;
	bool ok;
	int fd;

	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return false;
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof sin6) == 0;
	close(fd);
	return ok;
}

/*
 * Listen on loopback only: 127.0.0.1 and ::1 on one PORT (one of them with
 * FAMILY AF_INET or AF_INET6; IPv4 alone on a host without IPv6
 * loopback).  With port 0, tries again until the port the kernel chose
 * for 127.0.0.1 is free on ::1 too.
 */
int
sock_listen_loopback(const char *port, int family, int socktype,
    struct sock_listeners *ls, char **errp)
{
	struct sock_listeners v6;
	char bound[8];
	size_t i;
	int tries;

	if (family == AF_INET6)
		return sock_listen_inet("::1", port, AF_INET6, socktype,
		    AI_NUMERICHOST, ls, errp);
	for (tries = 1;; tries++) {
		if (sock_listen_inet("127.0.0.1", port, AF_INET, socktype,
		    AI_NUMERICHOST, ls, errp) == -1)
			return -1;
		if (family == AF_INET || !sock_has_ipv6_loopback())
			return 0;
		snprintf(bound, sizeof bound, "%d", sock_listeners_port(ls));
		if (sock_listen_inet("::1", bound, AF_INET6, socktype,
		    AI_NUMERICHOST, &v6, errp) == 0) {
			for (i = 0; i < v6.nfds && ls->nfds < 8; i++)
				ls->fds[ls->nfds++] = v6.fds[i];
			return 0;
		}
		sock_listeners_close(ls);
		if (strcmp(port, "0") != 0 || tries == SOCK_LOOPBACK_TRIES)
			return -1;
		free(*errp);
		*errp = NULL;
	}
}

/*
 * The options of socket FD that -vv reports, read back from the kernel:
 * "SO_REUSEADDR, IPV6_V6ONLY, MPTCP" or a part of it, "" for none.
 */
const char *
sock_describe(int fd, char *buf, size_t size)
{
	static const struct {
		int		 level;
		int		 name;
		int		 want;	/* -1: any non-zero value */
		const char	*text;
	} opts[] = {
		{ SOL_SOCKET, SO_REUSEADDR, -1, "SO_REUSEADDR" },
		{ IPPROTO_IPV6, IPV6_V6ONLY, -1, "IPV6_V6ONLY" },
		{ SOL_SOCKET, SO_PROTOCOL, IPPROTO_MPTCP, "MPTCP" },
	};
	socklen_t len;
	size_t i, n = 0;
	int v;

	buf[0] = '\0';
	for (i = 0; i < sizeof opts / sizeof opts[0] && n < size; i++) {
		len = sizeof v;
		if (getsockopt(fd, opts[i].level, opts[i].name, &v, &len) ==
		    -1 || v == 0 || (opts[i].want != -1 && v != opts[i].want))
			continue;
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "",
		    opts[i].text);
	}
	return buf;
}

/* accept4() a non-blocking, close-on-exec connection; -1 with errno. */
int
sock_accept(int lfd, struct sockaddr_storage *ss, socklen_t *len)
{
	*len = sizeof *ss;
	return accept4(lfd, (struct sockaddr *)ss, len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/*
 * poll() FD for EVENTS for at most TIMEOUT_MS (-1: no limit), retrying on
 * EINTR with the time left.  Returns 1 when ready, 0 on timeout, -1 on error.
 */
int
sock_wait(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	struct timespec ts;
	long long deadline = 0, now;
	int r;

	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		deadline = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 +
		    timeout_ms;
	}
	for (;;) {
		r = poll(&pfd, 1, timeout_ms);
		if (r >= 0 || errno != EINTR)
			return r;
		if (timeout_ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
			timeout_ms = now >= deadline ? 0 :
			    (int)(deadline - now);
		}
	}
}

/*
 * Start a non-blocking connect to SA, bound first to SRC when given.
 * Returns the fd (connected or in progress), or -1 with *errp and errno
 * set by the step that failed.
 */
int
sock_connect_start(const struct sockaddr *sa, socklen_t len, int socktype,
    const struct addrinfo *src, char **errp)
{
	char where[ADDR_NAMELEN];
	const char *op = "connect";
	int fd, saved;

	addr_format(sa, len, where, sizeof where);
	fd = sock_open(sa->sa_family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		goto fail;
	if (src != NULL) {
		op = "bind";
		addr_format(src->ai_addr, src->ai_addrlen, where, sizeof where);
		sock_set_reuseaddr(fd);
		log_info(2, "bind %s: SO_REUSEADDR", where);
		if (bind(fd, src->ai_addr, src->ai_addrlen) == -1)
			goto fail;
		op = "connect";
		addr_format(sa, len, where, sizeof where);
	}
	if (connect(fd, sa, len) == -1 && errno != EINPROGRESS)
		goto fail;
	return fd;
fail:
	saved = errno;
	*errp = log_fmt("%s %s: %s", op, where, strerror(saved));
	if (fd != -1)
		close(fd);
	errno = saved;
	return -1;
}

/*
 * Can a socket of type SOCKTYPE be bound to SRC, the -s/-p source of
 * outgoing connections?  A scan asks once, so that a source this host
 * cannot use is one error, not a verdict on every port.  Returns 0, or -1
 * with *errp ("bind ADDR: reason").
 */
int
sock_check_source(const struct addrinfo *src, int socktype, char **errp)
{
	char where[ADDR_NAMELEN];
	int fd, saved;

	fd = socket(src->ai_family, socktype | SOCK_CLOEXEC, 0);
	if (fd != -1) {
		sock_set_reuseaddr(fd);
		if (bind(fd, src->ai_addr, src->ai_addrlen) == 0) {
			close(fd);
			return 0;
		}
	}
	saved = errno;
	*errp = log_fmt("%s %s: %s", fd == -1 ? "socket for" : "bind",
	    addr_format(src->ai_addr, src->ai_addrlen, where, sizeof where),
	    strerror(saved));
	if (fd != -1)
		close(fd);
	return -1;
}

/* The outcome of a finished non-blocking connect: 0 or an errno value. */
int
sock_connect_result(int fd)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

/*
 * Connect to each address of RES in turn (nc's habit), each attempt
 * limited to TIMEOUT_MS (-1: the kernel's own limit).  SRC, if not NULL, is
 * the -s/-p source.  Failures before the last are reported under -v; the
 * last one is returned in *errp.
 */
int
sock_connect_timeout(const struct addrinfo *res, const struct addrinfo *src,
    int socktype, int timeout_ms, char **errp)
{
	const struct addrinfo *ai;
	char where[ADDR_NAMELEN];
	int fd, r, err;

	*errp = NULL;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (src != NULL && src->ai_family != ai->ai_family)
			continue;
		free(*errp);
		*errp = NULL;
		fd = sock_connect_start(ai->ai_addr, ai->ai_addrlen, socktype,
		    src, errp);
		if (fd == -1)
			goto next;
		r = sock_wait(fd, POLLOUT, timeout_ms);
		err = r == 0 ? ETIMEDOUT : r == -1 ? errno :
		    sock_connect_result(fd);
		if (err == 0)
			return fd;
		close(fd);
		addr_format(ai->ai_addr, ai->ai_addrlen, where, sizeof where);
		*errp = log_fmt("connect %s: %s", where, strerror(err));
next:
		if (ai->ai_next != NULL)
			log_info(1, "%s", *errp);
	}
	if (*errp == NULL)
		*errp = log_fmt("connect: no address matches the source "
		    "address family");
	return -1;
}

/* Connect to Unix socket PATH (SOCK_STREAM or SOCK_DGRAM). */
int
sock_connect_unix(const char *path, int type, int timeout_ms, char **errp)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, r, err;

	if (addr_unix(path, &ss, &len, errp) == -1)
		return -1;
	fd = sock_connect_start((struct sockaddr *)&ss, len, type, NULL, errp);
	if (fd == -1)
		return -1;
	r = sock_wait(fd, POLLOUT, timeout_ms);
	err = r == 0 ? ETIMEDOUT : r == -1 ? errno : sock_connect_result(fd);
	if (err == 0)
		return fd;
	close(fd);
	*errp = log_fmt("connect %s: %s", path, strerror(err));
	return -1;
}
