/*
 * proxy.h - the client side of proxies: a parsed proxy (--proxy,
 * --proxy-type, --proxy-auth, or curl's environment variables) and the
 * non-blocking handshake that asks it for a connection (SOCKS5 with
 * RFC 1929 auth, SOCKS4/4a, HTTP CONNECT with Basic auth).
 *
 * dial.c runs the handshake as a stage of a dial: set dial_spec.proxy
 * and dial_spec.host/port name the target, which the proxy connects to.
 * Nothing in here prints or exits; errors are allocated one-line messages
 * without the "proxy HOST:PORT: " prefix, which the dial adds.
 */
#ifndef SOCKT_PROXY_H
#define SOCKT_PROXY_H

#include <stdbool.h>

enum proxy_type {
	PROXY_SOCKS5,		/* the name goes to the proxy: no local DNS */
	PROXY_SOCKS4,		/* an IPv4 literal; a name is sent as 4a */
	PROXY_HTTP		/* CONNECT host:port */
};

#define PROXY_PORT_SOCKS	"1080"
#define PROXY_PORT_HTTP		"3128"

struct proxy_spec {
	enum proxy_type	 type;
	char		 host[256];	/* without brackets */
	char		 port[8];
	bool		 auth;		/* user and pass below */
	char		 user[256];
	char		 pass[256];
};

/*
 * proxy_parse(S, TYPE, AUTH, SPEC, ERRP): S is [SCHEME://][USER:PASS@]
 * HOST[:PORT] or [IPV6][:PORT]; SCHEME is socks5, socks5h, socks4,
 * socks4a or http and sets the type, else TYPE does (-1: socks5).  The
 * port defaults to 1080 (socks) or 3128 (http).  AUTH ("USER:PASS",
 * or NULL) wins over credentials in S.  Returns -1 with *errp (a usage
 * error) on a bad form, an unknown scheme, a type that contradicts
 * TYPE, or credentials with socks4.
 */
int	 proxy_parse(const char *, int, const char *, struct proxy_spec *,
	     char **);
int	 proxy_parse_type(const char *, enum proxy_type *, char **);
int	 proxy_parse_auth(const char *, struct proxy_spec *, char **);
const char *proxy_type_name(enum proxy_type);
/* "HOST:PORT" or "[V6]:PORT" of the proxy, into BUF of SIZE. */
const char *proxy_name(const struct proxy_spec *, char *, size_t);

/*
 * proxy_from_env(SCHEME, HOST, SPEC, ERRP): the proxy curl would use for
 * a SCHEME ("http", "https") URL to HOST, from the environment:
 *   - no_proxy, else NO_PROXY: "*" means no proxy for any host; else a
 *     list split at commas and blanks of host names or domain suffixes
 *     (a leading '.' is ignored; "example.com" matches example.com and
 *     www.example.com, not badexample.com); ":PORT" is ignored, brackets
 *     around IPv6 literals too; case does not matter.  A match: no proxy.
 *   - http: http_proxy only (lowercase: HTTP_PROXY may be set by a CGI
 *     request's Proxy: header).  Other schemes: SCHEME_proxy, else
 *     SCHEME_PROXY (https_proxy, HTTPS_PROXY).
 *   - else all_proxy, else ALL_PROXY.
 * An empty variable counts as unset.  The value is parsed by proxy_parse()
 * with type http unless it has a scheme.  Returns 1 with *SPEC filled, 0
 * when no proxy applies, -1 with *errp for a value that does not parse
 * (the message names the variable).  The caller's --proxy wins over this.
 */
int	 proxy_from_env(const char *, const char *, struct proxy_spec *,
	     char **);

/* The handshake on a connected non-blocking socket. */
#define PROXY_WANT_READ		1
#define PROXY_WANT_WRITE	2

struct proxy_hs;

/*
 * proxy_hs_new(SPEC, HOST, PORT, ERRP): a handshake asking SPEC's proxy
 * for HOST:PORT (PORT numeric or a service name).  NULL with *errp when
 * the target cannot be named to that proxy.  proxy_hs_step(HS, FD, ERRP)
 * advances it: 0 once the proxy has connected the target (FD then
 * carries the target's bytes: nothing past the reply was read),
 * PROXY_WANT_READ or PROXY_WANT_WRITE to be called again when FD is
 * ready, -1 with *errp (the proxy's refusal, or an I/O failure).
 */
struct proxy_hs	*proxy_hs_new(const struct proxy_spec *, const char *,
		     const char *, char **);
int		 proxy_hs_step(struct proxy_hs *, int, char **);
void		 proxy_hs_free(struct proxy_hs *);

/* Why SOCKS5 reply code REP failed, in words. */
const char	*proxy_socks5_reason(int);

#endif
