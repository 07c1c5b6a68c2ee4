/*
 * cmdhttp.c - what fetch-file and send-file share before their HTTP
 * exchange: where the request goes (a URL or HOST PORT [PATH]), the proxy
 * curl's environment variables name, and the client spec for httpc.c.
 */
#include <sys/types.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cmd.h"
#include "dial.h"
#include "http.h"
#include "httpc.h"
#include "log.h"
#include "proxy.h"

/*
 * Where an HTTP request of fetch-file or send-file goes, from ARGC
 * arguments at ARGV: a URL, or HOST PORT [PATH], or HOST:PORT [PATH] (a
 * PATH is a plain file path, percent-encoded here; a URL's is used as
 * written).  --tls makes the second form https and is refused with an
 * http:// URL.  Returns -1 with *errp (a usage error); U is then freed by
 * the caller as well.
 */
int
cmd_http_where(const struct sockt_opts *o, int argc, char **argv,
    struct http_url *u, char **errp)
{
	struct addr_endpoint ep;
	const char *path = "/";
	uint16_t port;
	char *e2 = NULL, *enc;
	int r, used;

	memset(u, 0, sizeof *u);
	if (argc == 0) {
		*errp = log_fmt("missing URL or HOST PORT");
		return -1;
	}
	if ((r = http_parse_url(argv[0], u, errp)) == -1)
		return -1;
	if (r == 0) {
		if (argc > 1) {
			*errp = log_fmt("too many arguments: '%s'", argv[1]);
			return -1;
		}
		if (o->tls && !u->tls) {
			*errp = log_fmt("--tls with an http:// URL: use "
			    "https://");
			return -1;
		}
	} else {
		used = 2;
		if (argc == 1 || (addr_parse_port(argv[1], "tcp", &port,
		    &e2) == -1 && strchr(argv[0], ':') != NULL))
			used = 1;
		free(e2);
		if (addr_parse_endpoint(used, argv, ADDR_CONNECT, NULL, &ep,
		    errp) == -1)
			return -1;
		u->host = ep.host;
		u->port = ep.port;
		if (argc > used + 1) {
			*errp = log_fmt("too many arguments: '%s'",
			    argv[used + 1]);
			return -1;
		}
		if (argc == used + 1)
			path = argv[used];
		enc = http_encode_path(path, strlen(path), true);
		u->target = log_fmt("%s%s", enc[0] == '/' ? "" : "/", enc);
		free(enc);
		u->authority = log_fmt(strchr(u->host, ':') ? "[%s]:%s" :
		    "%s:%s", u->host, u->port);
		u->tls = o->tls;
	}
	if (addr_parse_port(u->port, "tcp", &port, errp) == -1)
		return -1;
	if (port == 0) {
		*errp = log_fmt("bad port '0': cannot connect to port 0");
		return -1;
	}
	return 0;
}

/*
 * The client side of an HTTP exchange to U as the options say: the dial
 * (PX: a proxy from the environment, or NULL), the TLS context, -i.  REQ
 * gets the destination; the caller adds method, headers and body.
 */
void
cmd_httpc_spec(const struct sockt_opts *o, const struct http_url *u,
    struct tls_ctx *tls, const struct proxy_spec *px, struct httpc_spec *spec,
    struct httpc_request *req)
{
	memset(spec, 0, sizeof *spec);
	cmd_dial_spec(o, u->host, u->port, &spec->dial);
	if (px != NULL)
		spec->dial.proxy = px;
	spec->idle_ms = o->idle_ms;
	spec->tls = tls;
	spec->servername = o->servername;
	memset(req, 0, sizeof *req);
	req->tls = u->tls;
	req->host = u->host;
	req->port = u->port;
	req->target = u->target;
	req->authority = u->authority;
	req->body_fd = -1;
}

/*
 * Without --proxy, the proxy curl would take from the environment
 * (http_proxy, https_proxy, all_proxy, no_proxy) for an HTTP request (TLS:
 * https) to HOST; a --raw stream is no URL and takes none.  Returns 1
 * with PX filled, 0 when no proxy applies, -1 with *errp for a variable
 * that does not parse (a usage error, naming the variable).
 */
int
cmd_env_proxy(const struct sockt_opts *o, bool tls, const char *host,
    struct proxy_spec *px, char **errp)
{
	int r;

	if (o->given[OPT_PROXY] || o->raw)
		return 0;
	r = proxy_from_env(tls ? "https" : "http", host, px, errp);
	if (r == 1)
		log_info(2, "%s: through proxy %s:%s from the environment",
		    host, px->host, px->port);
	return r;
}
