/*
 * dial.h - the one outgoing stream connection of every subcommand, on the
 * loop and never blocking it: resolve the endpoint, bind the -s/-p
 * source, try each address in turn with -w per attempt, and with --wait
 * try again after a growing pause (50 ms doubling to 1 s) until the
 * deadline.  Proxies and TLS are further stages of the same dial.
 *
 * With a proxy, the addresses tried are the proxy's (proxy_addrs when
 * resolved already, so a server resolves it once; host, port, addrs
 * and unix_path name the target, which the proxy is asked for: only
 * host and port count, and with socks5, http, or socks4 given a name,
 * the target's name is never resolved here); the proxy's handshake runs
 * within the same -w (30 s without it), and its failures read
 * "proxy 127.0.0.1:1080: connection to target refused (SOCKS5 reply 5)".
 *
 * With a TLS context the connection then does its handshake, bounded by
 * the same -w, and is verified before it is handed over.
 *
 * The result always arrives through the callback, from the loop, never
 * from inside dial_start(): fd >= 0 is connected (non-blocking,
 * close-on-exec, now the caller's, as is tls when not NULL) and peer
 * names it; fd == -1 comes with err, a one-line message such as
 * "connect 127.0.0.1:9: Connection refused", and error, the errno behind
 * it when there is one (ECONNREFUSED, ETIMEDOUT, ...).  The strings are valid
 * during the callback only.
 */
#ifndef SOCKT_DIAL_H
#define SOCKT_DIAL_H

#include <stdbool.h>

#include "loop.h"

struct proxy_spec;
struct tls_ctx;
struct tls_conn;

struct dial_spec {
	const char	*host;		/* TCP: HOST and PORT */
	const char	*port;
	const char	*unix_path;	/* or a Unix stream socket */
	const struct addrinfo *addrs;	/* or these, resolved already */
	int		 family;	/* AF_UNSPEC, AF_INET, AF_INET6 */
	bool		 numeric;	/* -n: no DNS */
	const char	*source;	/* -s ADDR, or NULL */
	const char	*source_port;	/* -p PORT, or NULL */
	int		 timeout_ms;	/* each attempt; -1: the kernel's */
	int		 wait_ms;	/* --wait: retry until; -1: never */
	const struct proxy_spec *proxy;	/* through this proxy, or NULL */
	const struct addrinfo *proxy_addrs; /* its addresses, or NULL */
	struct tls_ctx	*tls;		/* speak TLS, or NULL */
	const char	*tls_name;	/* SNI and the name verified (HOST) */
	bool		 mptcp;		/* --mptcp: Multipath TCP, or TCP */
};

struct dial_result {
	int		 fd;
	struct tls_conn	*tls;
	const char	*peer;
	const char	*err;
	int		 error;		/* with err: the errno, or 0 */
};

struct dial;

typedef void	 dial_done_fn(void *, const struct dial_result *);

struct dial	*dial_start(struct loop *, const struct dial_spec *,
		     dial_done_fn *, void *);
void		 dial_cancel(struct dial *);

#endif
