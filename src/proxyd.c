/*
 * proxyd.c - the proxy server's handshakes on the loop: tell SOCKS5,
 * SOCKS4/4a and HTTP apart, read the client's request (and credentials),
 * resolve and dial its target, and answer with the protocol's success or
 * error reply before the caller relays the two connections.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dial.h"
#include "log.h"
#include "proxy.h"
#include "proxyd.h"
#include "proxyd-int.h"
#include "resolve.h"
#include "xmalloc.h"

static void	proxyd_io(struct loop *, int, void *);

void
proxyd_out(struct proxyd_conn *c, const void *p, size_t len)
{
	free(c->out);
	c->out = xmalloc(len);
	memcpy(c->out, p, len);
	c->outlen = len;
	c->outoff = 0;
}

/* Remove C from its server, call back (fds or the error), free it. */
static void
proxyd_end(struct proxyd_conn *c, bool ok)
{
	struct proxyd *pd = c->pd;
	struct proxyd_result r;

	loop_timer_disarm(pd->loop, &c->timer);
	loop_forget(pd->loop, c->fd);
	if (c->tfd != -1)
		loop_forget(pd->loop, c->tfd);
	resolve_cancel(c->res);
	dial_cancel(c->dial);
	if (c->addrs != NULL)
		freeaddrinfo(c->addrs);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		pd->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	memset(&r, 0, sizeof r);
	r.target = c->target;
	if (ok) {
		r.fd = c->fd;
		r.tfd = c->tfd;
		r.early = c->fwd;
		r.earlylen = c->fwdlen;
	} else {
		close(c->fd);
		if (c->tfd != -1)
			close(c->tfd);
		r.fd = r.tfd = -1;
		r.err = c->err ? c->err : "closed during the handshake";
	}
	c->fn(c->arg, &r);
	free(c->out);
	free(c->fwd);
	free(c->err);
	free(c);
}

void
proxyd_set_err(struct proxyd_conn *c, char *msg)
{
	free(c->err);
	c->err = msg;
}

/*
 * Fail C with MSG: answer with the protocol's error (SOCKS5 REP, SOCKS4
 * 0x5b, or an HTTP status), then end it.  No reply when none fits.
 */
void
proxyd_fail(struct proxyd_conn *c, int s5, int http, char *msg)
{
	unsigned char r[10] = { 5, 0, 0, 1 };
	char *reply;
	size_t len;

	proxyd_set_err(c, msg);
	resolve_cancel(c->res);
	c->res = NULL;
	dial_cancel(c->dial);
	c->dial = NULL;
	if (c->tfd != -1) {
		loop_forget(c->pd->loop, c->tfd);
		close(c->tfd);
		c->tfd = -1;
	}
	switch (c->proto) {
	case PP_SOCKS5:
		r[1] = (unsigned char)s5;
		proxyd_out(c, r, sizeof r);
		break;
	case PP_SOCKS4:
		memset(r, 0, 8);
		r[1] = 0x5b;
		proxyd_out(c, r, 8);
		break;
	case PP_HTTP:
		reply = proxyd_http_reply(http, c->err, &len);
		free(c->out);
		c->out = reply;
		c->outlen = len;
		c->outoff = 0;
		break;
	case PP_NONE:
		proxyd_end(c, false);
		return;
	}
	c->state = PC_WRITE_FAIL;
	loop_timer_arm(c->pd->loop, &c->timer, loop_now() + PROXYD_DRAIN_MS);
	proxyd_watch(c);
}

/* A SOCKS5 REP code and HTTP status for a failed connect (errno ERR). */
static void
proxyd_fail_errno(struct proxyd_conn *c, int err, const char *msg)
{
	int s5 = 1;

	switch (err) {
	case ECONNREFUSED:
		s5 = 5;
		break;
	case ENETUNREACH:
		s5 = 3;
		break;
	case EHOSTUNREACH:
		s5 = 4;
		break;
	case ETIMEDOUT:
		s5 = 6;
		break;
	case EACCES:
	case EPERM:
		s5 = 2;
		break;
	}
	proxyd_fail(c, s5, err == ETIMEDOUT ? 504 : 502, xstrdup(msg));
}

/* The target is connected: the success reply, then the hand-over. */
static void
proxyd_dialled(void *arg, const struct dial_result *r)
{
	struct proxyd_conn *c = arg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	unsigned char rep[22] = { 5, 0, 0, 1 };
	char *reply;
	size_t len;

	c->dial = NULL;
	if (r->fd == -1) {
		proxyd_fail_errno(c, r->error, r->err);
		return;
	}
	c->tfd = r->fd;
	if (c->proto == PP_SOCKS5) {
		/* BND.ADDR and BND.PORT: our end of the target connection */
		memset(&ss, 0, sizeof ss);
		getsockname(c->tfd, (struct sockaddr *)&ss, &sl);
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			rep[3] = 4;
			memcpy(rep + 4, &s6->sin6_addr, 16);
			memcpy(rep + 20, &s6->sin6_port, 2);
			proxyd_out(c, rep, 22);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			if (ss.ss_family == AF_INET) {
				memcpy(rep + 4, &s4->sin_addr, 4);
				memcpy(rep + 8, &s4->sin_port, 2);
			}
			proxyd_out(c, rep, 10);
		}
	} else if (c->proto == PP_SOCKS4) {
		memset(rep, 0, 8);
		rep[1] = 0x5a;
		proxyd_out(c, rep, 8);
	} else if (!c->forward) {
		reply = proxyd_http_reply(200, NULL, &len);
		free(c->out);
		c->out = reply;
		c->outlen = len;
		c->outoff = 0;
	}
	c->state = PC_WRITE_OK;
	proxyd_watch(c);
}

static void
proxyd_dial(struct proxyd_conn *c)
{
	struct proxyd_spec *s = &c->pd->spec;
	struct dial_spec ds;

	memset(&ds, 0, sizeof ds);
	ds.host = c->host;
	ds.port = c->port;
	ds.addrs = c->addrs;
	ds.family = s->family;
	ds.numeric = true;
	ds.source = s->source;
	ds.timeout_ms = s->timeout_ms;
	ds.wait_ms = -1;
	ds.proxy = s->upstream;
	ds.proxy_addrs = s->upstream_addrs;
	c->state = PC_DIAL;
	c->dial = dial_start(c->pd->loop, &ds, proxyd_dialled, c);
}

static void
proxyd_resolved(void *arg, struct addrinfo *ai, int err)
{
	struct proxyd_conn *c = arg;

	c->res = NULL;
	if (ai == NULL) {
		proxyd_fail(c, 4, 502, log_fmt("resolve %s: %s", c->target,
		    gai_strerror(err)));
		return;
	}
	c->addrs = ai;
	proxyd_dial(c);
}

/*
 * The request is read: HOST and PORT are set, USED bytes of c->in were
 * the request; what follows goes to the target (after FWD when set).
 */
void
proxyd_request(struct proxyd_conn *c, size_t used)
{
	bool v6 = strchr(c->host, ':') != NULL;
	size_t extra = c->inlen - used;
	char esc[sizeof c->target];

	/* the name came from the network: escaped for every message */
	snprintf(c->target, sizeof c->target, "%s%s%s:%s", v6 ? "[" : "",
	    log_escape(c->host, strlen(c->host), esc, sizeof esc - 10),
	    v6 ? "]" : "", c->port);
	if (extra > 0) {
		c->fwd = xreallocarray(c->fwd, 1, c->fwdlen + extra);
		memcpy(c->fwd + c->fwdlen, c->in + used, extra);
		c->fwdlen += extra;
	}
	c->inlen = 0;
	loop_forget(c->pd->loop, c->fd);
	if (strcmp(c->port, "0") == 0) {
		proxyd_fail(c, 2, 400, log_fmt("%s: port 0", c->target));
		return;
	}
	if (c->pd->spec.upstream != NULL) {
		proxyd_dial(c);		/* the upstream proxy resolves */
		return;
	}
	c->state = PC_RESOLVE;
	c->res = resolve_start(c->pd->resolver, c->host, c->port,
	    c->pd->spec.family, c->pd->spec.numeric, proxyd_resolved, c);
}




/* An HTTP request head in c->in; 1: more bytes needed. */
static int
proxyd_http(struct proxyd_conn *c)
{
	char *end, *fwd = NULL, saved;
	size_t used, fwdlen = 0;
	int status;

	c->in[c->inlen] = '\0';
	if ((end = strstr((char *)c->in, "\r\n\r\n")) == NULL) {
		if (c->inlen < PROXYD_IN_MAX && memchr(c->in, '\0',
		    c->inlen) == NULL)
			return 1;
		proxyd_fail(c, 0, 400, log_fmt("bad HTTP request head"));
		return 0;
	}
	used = (size_t)(end + 4 - (char *)c->in);
	saved = end[4];		/* the head alone, for a moment */
	end[4] = '\0';
	status = proxyd_http_request((char *)c->in, c->pd->spec.auth, c->host,
	    sizeof c->host, c->port, sizeof c->port, &fwd, &fwdlen);
	end[4] = saved;
	if (status != 0) {
		proxyd_fail(c, 0, status, log_fmt(status == 407 ? "HTTP proxy "
		    "authentication required" : status == 405 ? "HTTP method "
		    "not allowed" : "bad HTTP proxy request"));
		return 0;
	}
	c->forward = fwd != NULL;
	c->fwd = fwd;
	c->fwdlen = fwdlen;
	proxyd_request(c, used);
	return 0;
}

static void	proxyd_parse(struct proxyd_conn *);

/* Read the request; once complete, go on to the target. */
static void
proxyd_read(struct proxyd_conn *c)
{
	ssize_t n;

	n = recv(c->fd, c->in + c->inlen, PROXYD_IN_MAX - c->inlen, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		proxyd_set_err(c, n == 0 ? NULL : log_fmt("%s",
		    strerror(errno)));
		proxyd_end(c, false);
		return;
	}
	c->inlen += (size_t)n;
	proxyd_parse(c);
}

/* Act on the request bytes in c->in, as far as they go. */
static void
proxyd_parse(struct proxyd_conn *c)
{
	if (c->proto == PP_NONE) {
		if (c->in[0] == 5)
			c->proto = PP_SOCKS5;
		else if (c->in[0] == 4)
			c->proto = PP_SOCKS4;
		else if (c->in[0] >= 'A' && c->in[0] <= 'Z')
			c->proto = PP_HTTP;
		else {
			proxyd_set_err(c, log_fmt("not SOCKS or HTTP (first "
			    "byte 0x%02x)", c->in[0]));
			proxyd_end(c, false);
			return;
		}
	}
	if ((c->proto == PP_SOCKS5 ? proxyd_socks5(c) : c->proto ==
	    PP_SOCKS4 ? proxyd_socks4(c) : proxyd_http(c)) == 1 &&
	    c->inlen == PROXYD_IN_MAX)
		proxyd_fail(c, 1, 400, log_fmt("request too long"));
}

/* Write what is pending to FD; 1 when all is written, -1 on error. */
static int
proxyd_flush(int fd, const char *buf, size_t len, size_t *off)
{
	ssize_t n;

	while (*off < len) {
		n = send(fd, buf + *off, len - *off, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n == -1)
			return -1;
		*off += (size_t)n;
	}
	return 1;
}

/* Watch C's fds for what its state waits on. */
void
proxyd_watch(struct proxyd_conn *c)
{
	struct loop *l = c->pd->loop;

	loop_forget(l, c->fd);
	if (c->tfd != -1)
		loop_forget(l, c->tfd);
	if (c->outoff < c->outlen)
		loop_want_write(l, c->fd, proxyd_io, c);
	else if (c->state == PC_READ || c->state == PC_DRAIN)
		loop_want_read(l, c->fd, proxyd_io, c);
	if (c->state == PC_WRITE_OK && c->fwdoff < c->fwdlen)
		loop_want_write(l, c->tfd, proxyd_io, c);
}

static void
proxyd_io(struct loop *l, int fd, void *arg)
{
	struct proxyd_conn *c = arg;
	char sink[4096];
	ssize_t n;
	int r;

	(void)l;
	if (fd == c->tfd) {
		if (proxyd_flush(c->tfd, c->fwd, c->fwdlen, &c->fwdoff) == -1) {
			proxyd_fail_errno(c, errno, strerror(errno));
			return;
		}
	} else if (c->outoff < c->outlen) {
		if ((r = proxyd_flush(c->fd, c->out, c->outlen,
		    &c->outoff)) == -1) {
			proxyd_set_err(c, log_fmt("%s", strerror(errno)));
			proxyd_end(c, false);
			return;
		}
		if (r == 1 && c->state == PC_WRITE_FAIL) {
			shutdown(c->fd, SHUT_WR);
			c->state = PC_DRAIN;
		}
		if (r == 1 && c->state == PC_READ && c->inlen > 0) {
			/* the next step may be here already (pipelined) */
			proxyd_parse(c);
			return;
		}
	} else if (c->state == PC_DRAIN) {
		n = recv(c->fd, sink, sizeof sink, 0);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			proxyd_end(c, false);
			return;
		}
	} else if (c->state == PC_READ) {
		proxyd_read(c);
		return;
	}
	if (c->state == PC_WRITE_OK && c->outoff == c->outlen &&
	    c->fwdoff == c->fwdlen) {
		proxyd_end(c, true);
		return;
	}
	proxyd_watch(c);
}

static void
proxyd_timeout(struct loop *l, void *arg)
{
	struct proxyd_conn *c = arg;

	(void)l;
	if (c->state == PC_RESOLVE || c->state == PC_DIAL) {
		proxyd_fail_errno(c, ETIMEDOUT, "the target did not answer "
		    "in time");
		return;
	}
	if (c->state == PC_READ)
		proxyd_set_err(c, log_fmt("the handshake did not finish in "
		    "time"));
	proxyd_end(c, false);
}

struct proxyd *
proxyd_new(struct loop *l, const struct proxyd_spec *spec, char **errp)
{
	struct proxyd *pd = xcalloc(1, sizeof *pd);

	pd->loop = l;
	pd->spec = *spec;
	if ((pd->resolver = resolver_new(l, errp)) == NULL) {
		free(pd);
		return NULL;
	}
	return pd;
}

void
proxyd_start(struct proxyd *pd, int fd, proxyd_fn *fn, void *arg)
{
	struct proxyd_conn *c = xcalloc(1, sizeof *c);
	int ms = pd->spec.timeout_ms >= 0 ? pd->spec.timeout_ms :
	    PROXYD_HANDSHAKE_MS;

	c->pd = pd;
	c->fn = fn;
	c->arg = arg;
	c->fd = fd;
	c->tfd = -1;
	c->state = PC_READ;
	c->next = pd->conns;
	if (pd->conns != NULL)
		pd->conns->prev = c;
	pd->conns = c;
	loop_timer_init(&c->timer, proxyd_timeout, c);
	loop_timer_arm(pd->loop, &c->timer, loop_now() + (uint64_t)ms);
	proxyd_watch(c);
}

void
proxyd_free(struct proxyd *pd)
{
	if (pd == NULL)
		return;
	while (pd->conns != NULL) {
		proxyd_set_err(pd->conns, log_fmt("stopped"));
		proxyd_end(pd->conns, false);
	}
	resolver_free(pd->resolver);
	free(pd);
}
