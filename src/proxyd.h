/*
 * proxyd.h - the server side of proxies (forward --proxy-server): each
 * client names its target with SOCKS5 (RFC 1928 CONNECT, RFC 1929
 * auth), SOCKS4/4a, or HTTP (CONNECT, or an absolute-form GET/HEAD that
 * is passed on in origin form), told apart by its first bytes.  All of
 * it runs on the loop: names are resolved by resolve.c, targets dialled
 * by dial.c (through an upstream --proxy when given).
 *
 * proxyd_start() takes over an admitted client.  The callback comes from
 * the loop exactly once: with the client fd and the connected target fd
 * (both the caller's now, non-blocking; the success reply is sent, and
 * what the client sent past its request, after the origin-form request
 * of a GET, is written to the target already: EARLY) and TARGET
 * "HOST:PORT"; or with both fds -1 and ERR, once the failure has been
 * answered with the protocol's error code and the client closed.  The
 * result's strings and bytes are valid during the callback only.  proxyd_free() ends every handshake still running,
 * each with its callback (ERR "stopped").
 */
#ifndef SOCKT_PROXYD_H
#define SOCKT_PROXYD_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"

struct addrinfo;
struct proxy_spec;

struct proxyd_spec {
	const struct proxy_spec	*auth;		/* required creds, or NULL */
	const struct proxy_spec	*upstream;	/* --proxy, or NULL */
	const struct addrinfo	*upstream_addrs; /* its addresses */
	int			 family;	/* -4, -6 */
	bool			 numeric;	/* -n: targets by address only */
	const char		*source;	/* -s */
	int			 timeout_ms;	/* -w: handshake and connect */
};

struct proxyd_result {
	int		 fd;		/* the client's, or -1 */
	int		 tfd;		/* the target's, or -1 */
	const char	*target;	/* "HOST:PORT" (escaped), or "" */
	const char	*err;		/* with fd -1 */
	const void	*early;		/* client bytes sent to the target */
	size_t		 earlylen;	/* already (for -x and -v) */
};

typedef void	 proxyd_fn(void *, const struct proxyd_result *);

struct proxyd;
struct proxyd_conn;

struct proxyd	*proxyd_new(struct loop *, const struct proxyd_spec *, char **);
void		 proxyd_start(struct proxyd *, int, proxyd_fn *, void *);
void		 proxyd_free(struct proxyd *);

/*
 * For proxyd.c: an HTTP proxy request's head (NUL-terminated, up to and
 * with its blank line) checked and turned into what to do.  Returns 0
 * with HOST, PORT and, for a GET/HEAD passed on, *FWD (the head in origin
 * form, "Connection: close", no Proxy-* fields; malloc'ed) or *FWD NULL
 * for CONNECT; else the HTTP status to answer with (400, 405, 407).
 */
int	 proxyd_http_request(const char *, const struct proxy_spec *, char *,
	     size_t, char *, size_t, char **, size_t *);
char	*proxyd_http_reply(int, const char *, size_t *);

#endif
