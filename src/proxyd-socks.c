/*
 * proxyd-socks.c - the SOCKS side of the proxy server: a client's SOCKS5
 * method choice, RFC 1929 credentials and CONNECT request, or its SOCKS4
 * or 4a request, read from what has arrived so far.  Each returns 1 while
 * more bytes are needed, else 0 (the request is on its way, or answered
 * with its error).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "proxy.h"
#include "proxyd-int.h"

/* The SOCKS5 exchange so far in c->in; 1: more bytes needed. */
int
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
int
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
