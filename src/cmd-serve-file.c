/*
 * cmd-serve-file.c - "sockt serve-file": serve files and directory trees
 * over HTTP/1.1 to any number of clients at once, or, with --raw, write
 * one file to every client that connects (what "nc -l < file" does).
 * With --upload, PUT stores files in the one DIR.  The wiring: arguments,
 * the tree (fstree.h), content types (mime.h), the listener, the engine
 * (httpd.h) and its handler (serve.h), on one loop.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "cmd-util.h"
#include "fstree.h"
#include "httpd.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "mime.h"
#include "serve.h"
#include "tls.h"
#include "xmalloc.h"

static const enum opt_id serve_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_NUMERIC, OPT_VERBOSE, OPT_PORT, OPT_IDLE,
	OPT_KEEP, OPT_MAX_CONNS, OPT_ALLOW, OPT_DENY, OPT_PORT_FILE, OPT_COUNT,
	OPT_RAW, OPT_TIMEOUT, OPT_TLS, OPT_CA, OPT_CERT, OPT_KEY, OPT_ALPN,
	OPT_UPLOAD, OPT_DOWNLOAD, OPT_NO_INDEX, OPT_MAX_SIZE, OPT_FORCE,
	OPT_MPTCP, OPT_END
};

static int	cmd_serve_file_exec(struct sockt_opts *);

static const struct cmd_help serve_file_help[] = {
	{ OPT_PORT, "the port to listen on" },
	{ OPT_IDLE, "close a connection idle that long (default 60)" },
	{ OPT_COUNT, "exit after N responses, aborted ones included" },
	{ OPT_KEEP, "serve until stopped (the default without --count)" },
	{ OPT_TIMEOUT, "the most a client's TLS handshake may take (30)" },
	{ OPT_FORCE, "with --upload: a PUT may replace a regular file" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_serve_file_entry = {
	.name = "serve-file",
	.summary = "serve files and directories over HTTP to many clients",
	.usage = "[options] [--raw] [ADDRESS] PORT FILE|DIR...\n"
	    "       sockt serve-file [options] --upload [ADDRESS] PORT DIR",
	.options = serve_options,
	.help = serve_file_help,
	.args = { 1, -1, 0, "PORT" },
	.examples = {
		"sockt serve-file -v 8000 ~/pub",
		"sockt serve-file --raw 9000 big.iso",
		"sockt serve-file --tls 127.0.0.1 8443 index.html",
	},
	.exec = cmd_serve_file_exec,
};

static bool
serve_all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/*
 * Split the positional arguments into the endpoint and the FILE|DIR list.
 * With -p every argument is a FILE or DIR.  Otherwise the first is PORT
 * when it is a number, the first two are ADDRESS PORT when the second is
 * a port, the first is HOST:PORT when it has a colon, or a service name.
 * An argument with a "/" is always a FILE or DIR.
 */
static int
serve_split_args(struct sockt_opts *o, struct addr_endpoint *ep, int *nfirst,
    char **errp)
{
	uint16_t port;
	char *e2 = NULL;
	bool slash0, slash1;

	ep->host = ep->port = NULL;
	*nfirst = 0;
	if (o->port != NULL) {
		ep->port = xstrdup(o->port);
	} else {
		if (o->argc == 0) {
			*errp = log_fmt("missing PORT");
			return -1;
		}
		slash0 = strchr(o->argv[0], '/') != NULL;
		slash1 = o->argc > 1 && strchr(o->argv[1], '/') != NULL;
		if (!slash0 && serve_all_digits(o->argv[0])) {
			ep->port = xstrdup(o->argv[0]);
			*nfirst = 1;
		} else if (!slash0 && o->argc > 1 && !slash1 &&
		    addr_parse_port(o->argv[1], "tcp", &port, &e2) == 0) {
			ep->host = xstrdup(o->argv[0]);
			ep->port = xstrdup(o->argv[1]);
			*nfirst = 2;
		} else if (!slash0 && strchr(o->argv[0], ':') != NULL) {
			if (addr_parse_endpoint(1, o->argv, ADDR_LISTEN, NULL,
			    ep, errp) == -1)
				goto fail;
			*nfirst = 1;
		} else if (!slash0 && addr_parse_port(o->argv[0], "tcp", &port,
		    &e2) == 0) {
			ep->port = xstrdup(o->argv[0]);
			*nfirst = 1;
		} else {
			*errp = log_fmt("missing PORT before '%s'",
			    o->argv[0]);
			goto fail;
		}
		free(e2);
		e2 = NULL;
	}
	if (addr_parse_port(ep->port, "tcp", &port, errp) == -1)
		goto fail;
	if (*nfirst >= o->argc) {
		*errp = log_fmt("missing FILE or DIR to serve");
		goto fail;
	}
	if (o->raw && o->argc - *nfirst != 1) {
		*errp = log_fmt("--raw serves exactly one FILE");
		goto fail;
	}
	if (o->upload && o->argc - *nfirst != 1) {
		*errp = log_fmt("--upload takes exactly one DIR");
		goto fail;
	}
	if (!o->upload && (o->force || o->max_size > 0)) {
		*errp = log_fmt("%s needs --upload", o->force ? "--force" :
		    "--max-size");
		goto fail;
	}
	return 0;
fail:
	free(e2);
	addr_endpoint_free(ep);
	return -1;
}

/* Many clients at once need many fds: use the hard limit. */
static void
serve_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The FILE and DIR arguments, or --raw's one FILE, checked. */
static int
serve_open_tree(struct sockt_opts *o, int first, struct fstree **treep,
    char **errp)
{
	struct stat st;
	int i;

	*treep = NULL;
	if (o->raw) {
		if (stat(o->argv[first], &st) == -1) {
			*errp = log_fmt("%s: %s", o->argv[first],
			    strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			*errp = log_fmt("%s: not a regular file (--raw serves "
			    "one FILE)", o->argv[first]);
			return -1;
		}
		return 0;
	}
	if (o->upload && stat(o->argv[first], &st) == -1) {
		*errp = log_fmt("%s: %s", o->argv[first], strerror(errno));
		return -1;
	}
	if (o->upload && !S_ISDIR(st.st_mode)) {
		*errp = log_fmt("%s: not a directory (--upload takes one DIR)",
		    o->argv[first]);
		return -1;
	}
	*treep = fstree_new(0);
	for (i = first; i < o->argc; i++)
		if (fstree_add(*treep, o->argv[i], errp) == -1)
			return -1;
	return 0;
}

/*
 * At start, when stderr is a terminal or with -v: the URL to open on
 * each listening address ("every address" as its loopback one).
 */
static void
serve_print_urls(struct sockt_opts *o, int first, struct listener *l)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char host[ADDR_STRLEN], esc[LOG_ESCAPE_MAX], *what = NULL, *t;
	socklen_t len;
	size_t i;
	int fd, port;

	if (!isatty(STDERR_FILENO) && o->verbose == 0)
		return;
	for (i = (size_t)first; i < (size_t)o->argc; i++) {
		log_escape(o->argv[i], strlen(o->argv[i]), esc, sizeof esc);
		t = log_fmt("%s%s%s", what ? what : "", what ? " " : "", esc);
		free(what);
		what = t;
	}
	for (i = 0; (fd = listener_fd(l, i)) != -1; i++) {
		len = sizeof ss;
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
			continue;
		if (ss.ss_family == AF_INET) {
			if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
				sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
			port = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
				sin6->sin6_addr = in6addr_loopback;
			t = host;
			*t++ = '[';
			inet_ntop(AF_INET6, &sin6->sin6_addr, t, sizeof host - 2);
			strlcat(host, "]", sizeof host);
			port = ntohs(sin6->sin6_port);
		} else
			continue;
		log_error("serving %s on %s://%s:%d/", what, o->tls ? "https" :
		    "http", host, port);
	}
	free(what);
}

/*
 * Listen, hash the FILE arguments, report readiness, serve until a
 * signal or --count.  Returns the exit status.
 */
static int
cmd_serve_file_exec(struct sockt_opts *o)
{
	struct listener_spec ls;
	struct addr_endpoint ep;
	struct httpd_handler handler;
	struct httpd_spec hs;
	struct fstree *tree = NULL;
	struct listener *l = NULL;
	struct serve *s = NULL;
	struct httpd *h = NULL;
	struct loop *loop = NULL;
	struct tls_ctx *tls = NULL;
	struct serve_spec spec;
	struct mime *mime = NULL;
	char *err = NULL;
	bool usage;
	int first, sig, status;

	if (serve_split_args(o, &ep, &first, &err) == -1)
		return cmd_usage_error(o, err);
	if (cmd_tls(o, true, o->tls, &tls, &err, &usage) == -1) {
		addr_endpoint_free(&ep);
		return usage ? cmd_usage_error(o, err) : cmd_fail(err);
	}
	serve_raise_nofile();
	if (serve_open_tree(o, first, &tree, &err) == -1)
		goto fail;
	if ((loop = loop_new()) == NULL) {
		err = log_fmt("loop: %s", strerror(errno));
		goto fail;
	}
	memset(&ls, 0, sizeof ls);
	ls.host = ep.host;
	ls.port = ep.port;
	ls.bind = LISTENER_ALL;
	ls.family = o->family;
	ls.numeric = o->numeric;
	ls.acl = &o->acl;
	ls.max_conns = o->max_conns;
	ls.first_ms = -1;
	ls.port_file = o->port_file;
	ls.mptcp = o->mptcp;
	ls.tls = tls;
	ls.handshake_ms = o->timeout_ms >= 0 ? o->timeout_ms :
	    CMD_HANDSHAKE_MS;
	if ((l = listener_open(loop, &ls, &err)) == NULL)
		goto fail;
	memset(&spec, 0, sizeof spec);
	spec.raw_path = o->raw ? o->argv[first] : NULL;
	spec.mime = mime = mime_new("/etc/mime.types");
	spec.download = o->download;
	spec.no_index = o->no_index;
	spec.upload = o->upload;
	spec.force = o->force;
	spec.max_size = (uint64_t)o->max_size;
	s = serve_new(loop, tree, &spec);
	if (serve_prime(s, &err) == -1 || listener_ready(l, &err) == -1)
		goto fail;
	if (!o->raw)
		serve_print_urls(o, first, l);
	memset(&hs, 0, sizeof hs);
	hs.idle_ms = o->idle_ms;
	hs.count = o->count;
	hs.raw = o->raw;
	serve_handler(s, &handler);
	h = httpd_new(loop, l, &hs, &handler);
	status = loop_run(loop);
	goto out;
fail:
	status = cmd_fail(err);
out:
	sig = loop ? loop_caught_signal(loop) : 0;
	httpd_free(h);
	serve_free(s);
	listener_free(l);
	fstree_free(tree);
	mime_free(mime);
	loop_free(loop);
	tls_ctx_free(tls);
	addr_endpoint_free(&ep);
	cmd_die_by_signal(sig);
	return status;
}
