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
#include "resolve.h"
#include "xmalloc.h"

#define PROXYD_IN_MAX		8192	/* a request, with what follows */
#define PROXYD_HANDSHAKE_MS	30000	/* without -w */
#define PROXYD_DRAIN_MS		2000	/* reading on after an error reply */

enum proxyd_state {
	PC_READ,	/* the client's request */
	PC_RESOLVE,
	PC_DIAL,
	PC_WRITE_OK,	/* the success reply, and early bytes to the target */
	PC_WRITE_FAIL,	/* the error reply */
	PC_DRAIN	/* then read until end of file, so no reset eats it */
};

enum proxyd_proto { PP_NONE, PP_SOCKS5, PP_SOCKS4, PP_HTTP };

struct proxyd {
	struct loop		*loop;
	struct proxyd_spec	 spec;
	struct resolver		*resolver;
	struct proxyd_conn	*conns;
};

struct proxyd_conn {
	struct proxyd		*pd;
	struct proxyd_conn	*prev, *next;
	proxyd_fn		*fn;
	void			*arg;
	int			 fd;
	int			 tfd;
	enum proxyd_state	 state;
	enum proxyd_proto	 proto;
	int			 stage;		/* SOCKS5: 0 methods, 1 auth */
	unsigned char		 in[PROXYD_IN_MAX + 1];
	size_t			 inlen;
	char			*out;		/* to the client */
	size_t			 outlen, outoff;
	char			*fwd;		/* to the target */
	size_t			 fwdlen, fwdoff;
	bool			 forward;	/* HTTP GET passed on */
	char			 host[256];
	char			 port[8];
	char			 target[300];
	char			*err;
	struct resolve		*res;
	struct addrinfo		*addrs;
	struct dial		*dial;
	struct loop_timer	 timer;
};

static void	proxyd_io(struct loop *, int, void *);
static void	proxyd_watch(struct proxyd_conn *);

static void
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
	if (ok)
		c->fn(c->arg, c->fd, c->tfd, c->target, NULL);
	else {
		close(c->fd);
		if (c->tfd != -1)
			close(c->tfd);
		c->fn(c->arg, -1, -1, c->target, c->err ? c->err :
		    "closed during the handshake");
	}
	free(c->out);
	free(c->fwd);
	free(c->err);
	free(c);
}

static void
proxyd_set_err(struct proxyd_conn *c, char *msg)
{
	free(c->err);
	c->err = msg;
}

/*
 * Fail C with MSG: answer with the protocol's error (SOCKS5 REP, SOCKS4
 * 0x5b, or an HTTP status), then end it.  No reply when none fits.
 */
static void
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
static void
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
	    c->pd->spec.family, proxyd_resolved, c);
}

/* The SOCKS5 exchange so far in c->in; 1: more bytes needed. */
static int
proxyd_socks5(struct proxyd_conn *c)
{
	const struct proxy_spec *auth = c->pd->spec.auth;
	const unsigned char *in = c->in;
	unsigned char rep[2], ip[16];
	size_t need, ulen, plen, hlen;
	int fam = c->pd->spec.family;

	if (c->stage == 0) {
		if (c->inlen < 2 || c->inlen < 2 + (size_t)in[1])
			return 1;
		rep[0] = 5;
		rep[1] = memchr(in + 2, auth != NULL ? 2 : 0, in[1]) != NULL ?
		    (auth != NULL ? 2 : 0) : 0xff;
		need = 2 + (size_t)in[1];
		memmove(c->in, c->in + need, c->inlen - need);
		c->inlen -= need;
		proxyd_out(c, rep, 2);
		if (rep[1] == 0xff) {
			proxyd_set_err(c, log_fmt("no acceptable SOCKS5 "
			    "authentication method"));
			c->state = PC_WRITE_FAIL;
		} else
			c->stage = auth != NULL ? 1 : 2;
		proxyd_watch(c);
		return 0;
	}
	if (c->stage == 1) {
		if (c->inlen < 2 || c->inlen < 3 + (size_t)in[1])
			return 1;
		ulen = in[1];
		plen = in[2 + ulen];
		if (c->inlen < 3 + ulen + plen)
			return 1;
		rep[0] = 1;
		rep[1] = in[0] == 1 && ulen == strlen(auth->user) &&
		    plen == strlen(auth->pass) && memcmp(in + 2, auth->user,
		    ulen) == 0 && memcmp(in + 3 + ulen, auth->pass, plen) == 0 ?
		    0 : 1;
		need = 3 + ulen + plen;
		memmove(c->in, c->in + need, c->inlen - need);
		c->inlen -= need;
		proxyd_out(c, rep, 2);
		if (rep[1] != 0) {
			proxyd_set_err(c, log_fmt("SOCKS5 authentication "
			    "failed"));
			c->state = PC_WRITE_FAIL;
		} else
			c->stage = 2;
		proxyd_watch(c);
		return 0;
	}
	if (c->inlen < 5)
		return 1;
	if (in[0] != 5) {
		proxyd_fail(c, 1, 400, log_fmt("not a SOCKS5 request"));
		return 0;
	}
	if (in[3] == 1)
		need = 10;
	else if (in[3] == 4)
		need = 22;
	else if (in[3] == 3)
		need = 7 + (size_t)in[4];
	else {
		proxyd_fail(c, 8, 400, log_fmt("SOCKS5 address type %u not "
		    "supported", in[3]));
		return 0;
	}
	if (c->inlen < need)
		return 1;
	if (in[1] != 1) {
		proxyd_fail(c, 7, 400, log_fmt("SOCKS5 command %u not "
		    "supported", in[1]));
		return 0;
	}
	if (in[3] == 3) {
		hlen = in[4];
		if (hlen == 0 || memchr(in + 5, '\0', hlen) != NULL) {
			proxyd_fail(c, 1, 400, log_fmt("bad SOCKS5 host name"));
			return 0;
		}
		memcpy(c->host, in + 5, hlen);
		c->host[hlen] = '\0';
	} else {
		memcpy(ip, in + 4, in[3] == 1 ? 4 : 16);
		inet_ntop(in[3] == 1 ? AF_INET : AF_INET6, ip, c->host,
		    sizeof c->host);
		if ((fam == AF_INET && in[3] == 4) ||
		    (fam == AF_INET6 && in[3] == 1)) {
			proxyd_fail(c, 2, 400, log_fmt("%s: not allowed with "
			    "-%c", c->host, fam == AF_INET ? '4' : '6'));
			return 0;
		}
	}
	snprintf(c->port, sizeof c->port, "%u", in[need - 2] << 8 |
	    in[need - 1]);
	proxyd_request(c, need);
	return 0;
}

/* A SOCKS4 or 4a request in c->in; 1: more bytes needed. */
static int
proxyd_socks4(struct proxyd_conn *c)
{
	const unsigned char *in = c->in, *nul, *name;
	size_t used;

	if (c->inlen < 9 || (nul = memchr(in + 8, '\0', c->inlen - 8)) ==
	    NULL)
		return 1;
	used = (size_t)(nul - in) + 1;
	if (in[4] == 0 && in[5] == 0 && in[6] == 0 && in[7] != 0) {
		name = nul + 1;
		if ((nul = memchr(name, '\0', c->inlen - used)) == NULL)
			return 1;
		if (nul == name || (size_t)(nul - name) >= sizeof c->host) {
			proxyd_fail(c, 1, 400, log_fmt("bad SOCKS4a host "
			    "name"));
			return 0;
		}
		memcpy(c->host, name, (size_t)(nul - name) + 1);
		used = (size_t)(nul - in) + 1;
	} else
		inet_ntop(AF_INET, in + 4, c->host, sizeof c->host);
	snprintf(c->port, sizeof c->port, "%u", in[2] << 8 | in[3]);
	if (c->pd->spec.auth != NULL) {
		proxyd_fail(c, 2, 407, log_fmt("SOCKS4 cannot authenticate; "
		    "--proxy-auth requires SOCKS5 or HTTP"));
		return 0;
	}
	if (in[1] != 1) {
		proxyd_fail(c, 7, 400, log_fmt("SOCKS4 command %u not "
		    "supported", in[1]));
		return 0;
	}
	proxyd_request(c, used);
	return 0;
}

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
static void
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
