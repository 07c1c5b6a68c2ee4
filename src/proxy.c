/*
 * proxy.c - the client side of proxies: the non-blocking SOCKS5,
 * SOCKS4/4a and HTTP CONNECT handshakes that ask a proxy for a
 * connection (proxyspec.c parses what names the proxy).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "http.h"
#include "log.h"
#include "proxy.h"
#include "xmalloc.h"

#define PROXY_REPLY_MAX	4096	/* an HTTP reply's header block */

enum proxy_phase {
	PH_S5_METHOD,		/* the greeting sent, the method chosen */
	PH_S5_AUTH,		/* RFC 1929 status */
	PH_S5_REPLY,		/* the reply's first 5 bytes */
	PH_S5_REPLY_REST,	/* the rest of its bound address */
	PH_S4_REPLY,
	PH_HTTP_REPLY
};

struct proxy_hs {
	const struct proxy_spec	*spec;
	enum proxy_phase	 phase;
	unsigned char		 req[600];	/* the CONNECT request */
	size_t			 reqlen;
	unsigned char		 out[1024];
	size_t			 outlen;
	size_t			 outoff;
	unsigned char		 in[PROXY_REPLY_MAX];
	size_t			 inlen;
	size_t			 need;		/* read until inlen == need */
};

const char *
proxy_socks5_reason(int rep)
{
	static const char *const reasons[] = {
		"succeeded", "general SOCKS server failure",
		"connection not allowed by ruleset", "network unreachable",
		"host unreachable", "connection to target refused",
		"TTL expired (timed out)", "command not supported",
		"address type not supported"
	};

	if (rep >= 0 && rep < (int)(sizeof reasons / sizeof reasons[0]))
		return reasons[rep];
	return "unknown failure";
}

/* The CONNECT request for HOST:PNUM, in hs->req. */
static int
proxy_hs_request(struct proxy_hs *hs, const char *host, uint16_t pnum,
    char **errp)
{
	const struct proxy_spec *s = hs->spec;
	unsigned char *r = hs->req;
	unsigned char a6[16];
	struct in_addr a4;
	size_t hlen = strlen(host);
	char cred[520], b64[700];
	size_t n;

	if (s->type == PROXY_HTTP) {
		bool v6 = strchr(host, ':') != NULL;
		int len;

		len = snprintf((char *)r, sizeof hs->req, "CONNECT %s%s%s:%u "
		    "HTTP/1.1\r\nHost: %s%s%s:%u\r\n", v6 ? "[" : "", host,
		    v6 ? "]" : "", pnum, v6 ? "[" : "", host, v6 ? "]" : "",
		    pnum);
		if (len < 0 || (size_t)len >= sizeof hs->req)
			goto toolong;
		n = (size_t)len;
		if (s->auth) {
			snprintf(cred, sizeof cred, "%s:%s", s->user, s->pass);
			http_base64_encode((unsigned char *)cred, strlen(cred),
			    b64, sizeof b64);
			len = snprintf((char *)r + n, sizeof hs->req - n,
			    "Proxy-Authorization: Basic %s\r\n", b64);
			if (len < 0 || (size_t)len >= sizeof hs->req - n)
				goto toolong;
			n += (size_t)len;
		}
		if (n + 2 >= sizeof hs->req)
			goto toolong;
		memcpy(r + n, "\r\n", 2);
		hs->reqlen = n + 2;
		return 0;
	}
	if (s->type == PROXY_SOCKS4) {
		r[0] = 4;
		r[1] = 1;
		r[2] = pnum >> 8;
		r[3] = pnum & 0xff;
		if (inet_pton(AF_INET, host, &a4) == 1) {
			memcpy(r + 4, &a4, 4);
			r[8] = 0;	/* no user id */
			hs->reqlen = 9;
			return 0;
		}
		if (strchr(host, ':') != NULL) {
			*errp = log_fmt("socks4 cannot reach an IPv6 address");
			return -1;
		}
		if (hlen > 255)
			goto toolong;
		/* SOCKS4a: 0.0.0.1, then the name for the proxy to resolve */
		memcpy(r + 4, "\0\0\0\1", 4);
		r[8] = 0;
		memcpy(r + 9, host, hlen + 1);
		hs->reqlen = 10 + hlen;
		return 0;
	}
	r[0] = 5;
	r[1] = 1;
	r[2] = 0;
	if (inet_pton(AF_INET, host, &a4) == 1) {
		r[3] = 1;
		memcpy(r + 4, &a4, 4);
		n = 8;
	} else if (inet_pton(AF_INET6, host, a6) == 1) {
		r[3] = 4;
		memcpy(r + 4, a6, 16);
		n = 20;
	} else {
		if (hlen == 0 || hlen > 255)
			goto toolong;
		r[3] = 3;
		r[4] = (unsigned char)hlen;
		memcpy(r + 5, host, hlen);
		n = 5 + hlen;
	}
	r[n] = pnum >> 8;
	r[n + 1] = pnum & 0xff;
	hs->reqlen = n + 2;
	return 0;
toolong:
	*errp = log_fmt("the target name is too long for the proxy");
	return -1;
}

static void
proxy_hs_send(struct proxy_hs *hs, const void *p, size_t len)
{
	memcpy(hs->out, p, len);
	hs->outlen = len;
	hs->outoff = 0;
}

struct proxy_hs *
proxy_hs_new(const struct proxy_spec *spec, const char *host,
    const char *port, char **errp)
{
	struct proxy_hs *hs;
	uint16_t pnum;
	unsigned char greet[4] = { 5, 1, 0, 0 };

	if (addr_parse_port(port, "tcp", &pnum, errp) == -1)
		return NULL;
	hs = xcalloc(1, sizeof *hs);
	hs->spec = spec;
	if (proxy_hs_request(hs, host, pnum, errp) == -1) {
		free(hs);
		return NULL;
	}
	switch (spec->type) {
	case PROXY_SOCKS5:
		if (spec->auth) {
			greet[1] = 2;	/* none, or username/password */
			greet[3] = 2;
		}
		proxy_hs_send(hs, greet, spec->auth ? 4 : 3);
		hs->phase = PH_S5_METHOD;
		hs->need = 2;
		break;
	case PROXY_SOCKS4:
		proxy_hs_send(hs, hs->req, hs->reqlen);
		hs->phase = PH_S4_REPLY;
		hs->need = 8;
		break;
	case PROXY_HTTP:
		proxy_hs_send(hs, hs->req, hs->reqlen);
		hs->phase = PH_HTTP_REPLY;
		hs->need = 0;
		break;
	}
	return hs;
}

void
proxy_hs_free(struct proxy_hs *hs)
{
	free(hs);
}

/* The HTTP reply in hs->in, complete: 2xx, or the refusal in words. */
static int
proxy_http_reply(struct proxy_hs *hs, char **errp)
{
	const char *s = (const char *)hs->in;
	char esc[LOG_ESCAPE_MAX];
	size_t llen = strcspn(s, "\r\n");
	int code;

	if (llen < 12 || strncmp(s, "HTTP/1.", 7) != 0 || s[8] != ' ' ||
	    !isdigit((unsigned char)s[9]) || !isdigit((unsigned char)s[10]) ||
	    !isdigit((unsigned char)s[11])) {
		*errp = log_fmt("not an HTTP reply: %s", log_escape(s,
		    llen > 64 ? 64 : llen, esc, sizeof esc));
		return -1;
	}
	code = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (code / 100 == 2)
		return 0;
	*errp = log_fmt("HTTP %d%s", code, log_escape(s + 12, llen - 12, esc,
	    sizeof esc));
	return -1;
}

/*
 * Read the HTTP reply up to and including its blank line, never past it:
 * peek, then consume only what belongs to the reply.  Returns 1 when
 * complete, 0 to wait, -1 with errno (0: closed).
 */
static int
proxy_http_read(struct proxy_hs *hs, int fd)
{
	size_t room = sizeof hs->in - 1 - hs->inlen, from, i, take;
	ssize_t n;

	if (room == 0) {
		errno = EMSGSIZE;
		return -1;
	}
	n = recv(fd, hs->in + hs->inlen, room, MSG_PEEK);
	if (n <= 0) {
		if (n == 0)
			errno = 0;
		return n == -1 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	}
	from = hs->inlen > 3 ? hs->inlen - 3 : 0;
	take = (size_t)n;
	for (i = from; i + 4 <= hs->inlen + (size_t)n; i++)
		if (memcmp(hs->in + i, "\r\n\r\n", 4) == 0) {
			take = i + 4 - hs->inlen;
			break;
		}
	n = recv(fd, hs->in + hs->inlen, take, 0);
	if (n <= 0)
		return -1;
	hs->inlen += (size_t)n;
	hs->in[hs->inlen] = '\0';
	return hs->inlen >= 4 && memcmp(hs->in + hs->inlen - 4, "\r\n\r\n", 4) == 0;
}

/* A complete reply of the current phase is in hs->in: act on it. */
static int
proxy_hs_reply(struct proxy_hs *hs, char **errp)
{
	const unsigned char *in = hs->in;
	unsigned char a[520];
	size_t ulen, plen;

	switch (hs->phase) {
	case PH_S5_METHOD:
		if (in[0] != 5)
			goto notsocks;
		if (in[1] == 0xff || (in[1] == 2 && !hs->spec->auth) ||
		    (in[1] != 0 && in[1] != 2)) {
			*errp = log_fmt(hs->spec->auth ? "no acceptable "
			    "authentication method" : "the proxy requires "
			    "authentication (--proxy-auth)");
			return -1;
		}
		if (in[1] == 2) {
			ulen = strlen(hs->spec->user);
			plen = strlen(hs->spec->pass);
			a[0] = 1;
			a[1] = (unsigned char)ulen;
			memcpy(a + 2, hs->spec->user, ulen);
			a[2 + ulen] = (unsigned char)plen;
			memcpy(a + 3 + ulen, hs->spec->pass, plen);
			proxy_hs_send(hs, a, 3 + ulen + plen);
			hs->phase = PH_S5_AUTH;
			hs->need = 2;
			return 1;
		}
		proxy_hs_send(hs, hs->req, hs->reqlen);
		hs->phase = PH_S5_REPLY;
		hs->need = 5;
		return 1;
	case PH_S5_AUTH:
		if (in[1] != 0) {
			*errp = log_fmt("authentication failed (SOCKS5 "
			    "username/password status %u)", in[1]);
			return -1;
		}
		proxy_hs_send(hs, hs->req, hs->reqlen);
		hs->phase = PH_S5_REPLY;
		hs->need = 5;
		return 1;
	case PH_S5_REPLY:
		if (in[0] != 5)
			goto notsocks;
		if (in[1] != 0) {
			*errp = log_fmt("%s (SOCKS5 reply %u)",
			    proxy_socks5_reason(in[1]), in[1]);
			return -1;
		}
		hs->phase = PH_S5_REPLY_REST;
		if (in[3] == 1)
			hs->need = 10;
		else if (in[3] == 4)
			hs->need = 22;
		else if (in[3] == 3)
			hs->need = 7 + (size_t)in[4];
		else
			goto notsocks;
		return 1;
	case PH_S5_REPLY_REST:
		return 0;
	case PH_S4_REPLY:
		if (in[0] != 0)
			goto notsocks;
		if (in[1] == 0x5a)
			return 0;
		*errp = log_fmt("request rejected or failed (SOCKS4 reply %u)",
		    in[1]);
		return -1;
	case PH_HTTP_REPLY:
		return proxy_http_reply(hs, errp);
	}
notsocks:
	*errp = log_fmt("not a %s reply", proxy_type_name(hs->spec->type));
	return -1;
}

int
proxy_hs_step(struct proxy_hs *hs, int fd, char **errp)
{
	ssize_t n;
	int r;

	for (;;) {
		if (hs->outoff < hs->outlen) {
			n = send(fd, hs->out + hs->outoff, hs->outlen -
			    hs->outoff, MSG_NOSIGNAL);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				return PROXY_WANT_WRITE;
			if (n == -1)
				goto ioerr;
			hs->outoff += (size_t)n;
			continue;
		}
		if (hs->phase == PH_HTTP_REPLY) {
			if ((r = proxy_http_read(hs, fd)) == 0)
				return PROXY_WANT_READ;
			if (r == -1)
				goto ioerr;
		} else if (hs->inlen < hs->need) {
			n = recv(fd, hs->in + hs->inlen, hs->need - hs->inlen,
			    0);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				return PROXY_WANT_READ;
			if (n <= 0) {
				if (n == 0)
					errno = 0;
				goto ioerr;
			}
			hs->inlen += (size_t)n;
			continue;
		}
		r = proxy_hs_reply(hs, errp);
		if (r != 1)
			return r;
		if (hs->phase != PH_S5_REPLY_REST)
			hs->inlen = 0;
	}
ioerr:
	if (errno == 0)
		*errp = log_fmt("closed the connection during the handshake");
	else if (errno == EMSGSIZE)
		*errp = log_fmt("reply too long");
	else
		*errp = log_fmt("%s", strerror(errno));
	return -1;
}
