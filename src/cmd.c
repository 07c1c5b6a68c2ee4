/*
 * cmd.c - the subcommand table and its lookup, and what every subcommand's
 * wiring shares: options mapped to the dial, listener and session specs,
 * usage and runtime errors, dying by a caught signal.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <libgen.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "cmd-util.h"
#include "dial.h"
#include "listener.h"
#include "session.h"
#include "tls.h"
#include "xmalloc.h"
#include "log.h"

/* Sorted by name: lookups are a binary search, names match exactly. */
const struct cmd_entry *const cmd_table[] = {
	&cmd_connect_entry,
	&cmd_exec_entry,
	&cmd_fetch_file_entry,
	&cmd_forward_entry,
	&cmd_listen_entry,
	&cmd_send_file_entry,
	&cmd_serve_file_entry,
	&cmd_udp_recv_entry,
	&cmd_udp_send_entry,
	NULL
};

static int
cmd_compare(const void *key, const void *elem)
{
	const struct cmd_entry *const *e = elem;

	return strcmp(key, (*e)->name);
}

/* The subcommand called NAME exactly, or NULL. */
const struct cmd_entry *
cmd_find(const char *name)
{
	const struct cmd_entry *const *e;
	size_t n;

	for (n = 0; cmd_table[n] != NULL; n++)
		continue;
	e = bsearch(name, cmd_table, n, sizeof cmd_table[0], cmd_compare);
	return e ? *e : NULL;
}

/*
 * The positional arguments against the subcommand's template (before
 * "--"): -U takes its PATH (checked here) and what follows it; otherwise
 * the bounds.  Returns -1 with *errp on a usage error.
 */
int
cmd_check_args(const struct sockt_opts *o, char **errp)
{
	const struct cmd_args *a = &o->cmd->args;
	struct sockaddr_storage ss;
	socklen_t len;
	int n = o->argc_before_dashes >= 0 ? o->argc_before_dashes : o->argc;

	if (o->unix_socket && a->unix_n > 0) {
		if (n < a->unix_n) {
			*errp = log_fmt("missing PATH");
			return -1;
		}
		if (n > a->unix_n) {
			*errp = log_fmt("too many arguments: '%s'",
			    o->argv[a->unix_n]);
			return -1;
		}
		return addr_unix(o->argv[0], &ss, &len, errp);
	}
	if (n < a->min) {
		*errp = log_fmt("missing %s", a->missing);
		return -1;
	}
	if (a->max >= 0 && n > a->max) {
		*errp = log_fmt("too many arguments: '%s'", o->argv[a->max]);
		return -1;
	}
	return 0;
}

/*
 * What users of nc, ncat and curl type first, and where sockt does it.
 * CMD NULL: any subcommand that does not take the option.
 */
static const struct {
	const char	*cmd;
	const char	*option;
	const char	*hint;
} cmd_hints[] = {
	{ "listen", "-l", "listen already listens: sockt listen [ADDRESS] "
	    "PORT" },
	{ NULL, "-l", "to listen, use sockt listen [ADDRESS] PORT" },
	{ NULL, "-u", "UDP has its own subcommands: sockt udp-send HOST PORT, "
	    "sockt udp-recv PORT" },
	{ NULL, "-e", "to run a program for each connection: sockt exec PORT "
	    "-- PROGRAM [ARG...]" },
	{ NULL, "--exec", "to run a program for each connection: sockt exec "
	    "PORT -- PROGRAM [ARG...]" },
	{ NULL, "-c", "to run a shell command for each connection: sockt exec "
	    "--sh 'COMMAND' PORT" },
	{ NULL, "--sh-exec", "to run a shell command for each connection: "
	    "sockt exec --sh 'COMMAND' PORT" },
	{ NULL, "-N", "sockt half-closes the socket at the end of stdin "
	    "already (--no-shutdown keeps it open)" },
	{ "fetch-file", "-O", "fetch-file already saves under the remote "
	    "name; -o NAME chooses another" },
	{ "fetch-file", "-L", "fetch-file follows redirects by itself (5 at "
	    "most, never from https to http; -v shows each)" },
	{ "fetch-file", "-I", "fetch-file always fetches the file; -vv shows "
	    "the response head as well" },
	{ NULL, "--ssl", "TLS is --tls (see 'sockt help', section TLS of "
	    "sockt(1))" },
	{ NULL, "-x", "to reach the target through a proxy: --proxy ADDR" },
};

/* A hint line for an unknown OPTION of CMD, or NULL. */
const char *
cmd_hint(const struct cmd_entry *cmd, const char *option)
{
	size_t i;

	for (i = 0; i < sizeof cmd_hints / sizeof cmd_hints[0]; i++)
		if (strcmp(cmd_hints[i].option, option) == 0 &&
		    (cmd_hints[i].cmd == NULL ||
		    strcmp(cmd_hints[i].cmd, cmd->name) == 0))
			return cmd_hints[i].hint;
	return NULL;
}

/* The edit distance of A and B (adjacent swaps count one), bounded. */
static size_t
cmd_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d[24][24], c;

	if (la >= 24 || lb >= 24)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	return d[la][lb];
}

/*
 * The subcommand NAME was probably meant to be: the nearest by edit
 * distance (at most 2), or the only one NAME begins, or NULL.
 */
const struct cmd_entry *
cmd_suggest(const char *name)
{
	const struct cmd_entry *best = NULL, *prefix = NULL;
	size_t i, d, bestd = 3, nprefix = 0;

	for (i = 0; cmd_table[i] != NULL; i++) {
		d = cmd_distance(name, cmd_table[i]->name);
		if (d < bestd) {
			bestd = d;
			best = cmd_table[i];
		}
		if (*name != '\0' && strncmp(cmd_table[i]->name, name,
		    strlen(name)) == 0) {
			prefix = cmd_table[i];
			nprefix++;
		}
	}
	if (best != NULL)
		return best;
	return nprefix == 1 ? prefix : NULL;
}

/* Report a usage error found after parsing; returns exit status 2. */
int
cmd_usage_error(const struct sockt_opts *o, char *msg)
{
	log_error("%s (see 'sockt %s --help')", msg, o->cmd->name);
	free(msg);
	return 2;
}

/* The options that only make sense with TLS, and how they are typed. */
static const enum opt_id tls_opts[] = { OPT_CA, OPT_CERT, OPT_KEY,
    OPT_INSECURE, OPT_PIN, OPT_SERVERNAME, OPT_ALPN, OPT_END };
static const char *tls_opt_names[] = { "--ca", "--cert", "--key",
    "--insecure", "--pin", "--servername", "--alpn" };

/* Was any TLS option given?  (An HTTP client then keeps them for https.) */
bool
cmd_tls_options_given(const struct sockt_opts *o)
{
	size_t i;

	for (i = 0; tls_opts[i] != OPT_END; i++)
		if (o->given[tls_opts[i]])
			return true;
	return false;
}

/*
 * The dial of an outgoing stream connection as the options say: to HOST
 * PORT, or with -U to the PATH argument; -n, -4/-6, -s/-p, -w, --wait.
 */
void
cmd_dial_spec(const struct sockt_opts *o, const char *host, const char *port,
    struct dial_spec *ds)
{
	memset(ds, 0, sizeof *ds);
	if (o->unix_socket)
		ds->unix_path = o->argv[0];
	ds->host = host;
	ds->port = port;
	ds->family = o->family;
	ds->numeric = o->numeric;
	ds->source = o->source;
	ds->source_port = o->port;
	ds->timeout_ms = o->timeout_ms;
	ds->wait_ms = o->wait_ms;
	if (o->given[OPT_PROXY])
		ds->proxy = &o->proxy_spec;
	ds->mptcp = o->mptcp;
}

/*
 * The listening endpoint of the positional arguments: -U PATH, or
 * [ADDRESS] PORT (or -p PORT), with the admission options; BIND says what
 * no ADDRESS means.  The strings stay in EP (freed by the caller) and
 * argv.  Returns -1 with *errp on a usage error.
 */
int
cmd_listener_spec(const struct sockt_opts *o, enum listener_bind bind,
    struct addr_endpoint *ep, struct listener_spec *ls, char **errp)
{
	uint16_t port;

	memset(ls, 0, sizeof *ls);
	ep->host = ep->port = NULL;
	if (o->unix_socket)
		ls->unix_path = o->argv[0];	/* cmd_check_args() saw it */
	else {
		if (addr_parse_endpoint(o->argc, o->argv, ADDR_LISTEN, o->port,
		    ep, errp) == -1)
			return -1;
		if (addr_parse_port(ep->port, "tcp", &port, errp) == -1) {
			addr_endpoint_free(ep);
			return -1;
		}
		ls->host = ep->host;
		ls->port = ep->port;
	}
	ls->bind = bind;
	ls->family = o->family;
	ls->numeric = o->numeric;
	ls->acl = &o->acl;
	ls->max_conns = o->max_conns;
	ls->first_ms = o->timeout_ms;
	ls->port_file = o->port_file;
	ls->mptcp = o->mptcp;
	ls->handshake_ms = o->timeout_ms >= 0 ? o->timeout_ms :
	    CMD_HANDSHAKE_MS;
	return 0;
}

/* What the stdio sessions of listen and connect do, from the options. */
const struct session_spec *
cmd_session_spec(const struct sockt_opts *o, struct session_spec *ss)
{
	memset(ss, 0, sizeof *ss);
	ss->read_stdin = !o->no_stdin && !o->recv_only;
	ss->send_only = o->send_only;
	ss->recv_only = o->recv_only;
	ss->shutdown = !o->no_shutdown;
	ss->quit_ms = o->quit_ms;
	ss->idle_ms = o->idle_ms;
	ss->ack_ms = o->timeout_ms >= 0 ? o->timeout_ms : CMD_ACK_MS;
	ss->ack_by_w = o->timeout_ms >= 0;
	ss->hexdump = o->hexdump;
	ss->output = o->output;
	ss->progress = o->progress;
	ss->stdout_closed = o->stdout_closed;
	ss->broker = o->broker;
	ss->crlf = o->crlf;
	return ss;
}

/*
 * The TLS context the options ask for, in *CTX: NULL when ON (--tls, or
 * an https:// URL) is false, else a client or SERVER context.  A server
 * that made its own certificate prints its pin, always, before it says
 * it is ready.  Returns 0; -1 with *errp (*USAGE set for a usage error).
 */
int
cmd_tls(const struct sockt_opts *o, bool server, bool on,
    struct tls_ctx **ctx, char **errp, bool *usage)
{
	struct tls_config cfg;
	size_t i;

	*ctx = NULL;
	*usage = true;
	if (!on) {
		for (i = 0; tls_opts[i] != OPT_END; i++)
			if (o->given[tls_opts[i]]) {
				*errp = log_fmt("%s needs --tls", tls_opt_names[i]);
				return -1;
			}
		return 0;
	}
	if (server && (o->insecure || o->pin || o->servername)) {
		*errp = log_fmt("%s is for a TLS client, not a server",
		    o->insecure ? "--insecure" : o->pin ? "--pin" :
		    "--servername");
		return -1;
	}
	if (o->key != NULL && o->cert == NULL) {
		*errp = log_fmt("--key needs --cert");
		return -1;
	}
	*usage = false;
	memset(&cfg, 0, sizeof cfg);
	cfg.server = server;
	cfg.ca = o->ca;
	cfg.cert = o->cert;
	cfg.key = o->key;
	cfg.insecure = o->insecure;
	cfg.pin = o->pin;
	cfg.alpn = o->alpn;
	if ((*ctx = tls_ctx_new(&cfg, errp)) == NULL)
		return -1;
	if (server && tls_ctx_ephemeral(*ctx))
		log_info(0, "tls pin %s", tls_ctx_pin(*ctx));
	if (o->insecure)
		log_info(1, "--insecure: the server's certificate is not "
		    "verified");
	return 0;
}

/* Report a runtime error; returns exit status 1. */
int
cmd_fail(char *msg)
{
	log_error("%s", msg);
	free(msg);
	return 1;
}

/* Write TEXT to PATH atomically: a temporary file beside it, renamed. */
static int
cmd_write_atomic(const char *path, const char *text, char **errp)
{
	char *tmp, *dir, *copy;
	size_t len = strlen(text);
	int fd;

	copy = strdup(path);
	dir = dirname(copy);
	tmp = log_fmt("%s/.%s.XXXXXX", dir, "sockt-port");
	free(copy);
	fd = mkstemp(tmp);
	if (fd == -1)
		goto fail;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		unlink(tmp);
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		unlink(tmp);
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	*errp = log_fmt("--port-file %s: %s", path, strerror(errno));
	free(tmp);
	return -1;
}

/*
 * The readiness report once LS listen: "sockt: listening on ADDR:PORT"
 * under -v for each socket, and the port (a Unix socket's path) written
 * to --port-file.
 */
int
cmd_report_listening(const struct sockt_opts *o,
    const struct sock_listeners *ls, const char *unix_path, char **errp)
{
	struct sockaddr_storage ss;
	char where[ADDR_STRLEN], *text;
	socklen_t len;
	size_t i;
	int r = 0;

	for (i = 0; i < ls->nfds; i++) {
		len = sizeof ss;
		if (getsockname(ls->fds[i], (struct sockaddr *)&ss, &len) == 0)
			log_info(1, "listening on %s", unix_path ? unix_path :
			    addr_format((struct sockaddr *)&ss, len, where,
			    sizeof where));
	}
	if (o->port_file == NULL)
		return 0;
	if (unix_path != NULL)
		text = log_fmt("%s\n", unix_path);
	else
		text = log_fmt("%d\n", sock_listeners_port(ls));
	r = cmd_write_atomic(o->port_file, text, errp);
	free(text);
	return r;
}

/* After cleanup: die by the signal that stopped us, as a filter would. */
void
cmd_die_by_signal(int sig)
{
	if (sig == 0)
		return;
	fflush(stdout);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * May the client at SA (NAME in messages) in, with NACTIVE clients being
 * served?  --allow/--deny and --max-conns decide; a refusal is logged
 * under -v and the caller closes the connection at once.
 */
bool
cmd_admit(const struct sockt_opts *o, const struct sockaddr *sa,
    const char *name, size_t nactive)
{
	if (!addr_acl_admits(&o->acl, sa)) {
		log_info(1, "refused %s: not allowed by --allow/--deny", name);
		return false;
	}
	if (o->max_conns >= 0 && nactive >= (size_t)o->max_conns) {
		log_info(1, "refused %s: --max-conns %lld reached", name,
		    o->max_conns);
		return false;
	}
	return true;
}

/* Start (ON) or stop calling FN(ARG) when a listener of LS has clients. */
void
cmd_watch_listeners(struct loop *p, const struct sock_listeners *ls, bool on,
    loop_io_fn *fn, void *arg)
{
	size_t i;

	for (i = 0; i < ls->nfds; i++) {
		if (on)
			loop_want_read(p, ls->fds[i], fn, arg);
		else
			loop_cancel_read(p, ls->fds[i]);
	}
}

/*
 * Accept the next admitted client waiting on LFD, with NACTIVE clients
 * being served: returns its fd, its printable name in NAME (a Unix
 * listener's clients are named by its path), or -1 when none is left.
 * *STARVED is set when fds ran out: the caller stops watching LFD for
 * CMD_ACCEPT_PAUSE_MS so that sessions can free some.
 */
int
cmd_accept(const struct sockt_opts *o, int lfd, size_t nactive, char *name,
    size_t namelen, bool *starved)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	*starved = false;
	for (;;) {
		fd = sock_accept(lfd, &ss, &len);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_info(1, "accept: %s", strerror(errno));
				*starved = true;
			}
			return -1;
		}
		if (ss.ss_family == AF_UNIX)
			strlcpy(name, o->argv[0], namelen);
		else
			addr_format((struct sockaddr *)&ss, len, name, namelen);
		if (cmd_admit(o, (struct sockaddr *)&ss, name, nactive))
			return fd;
		close(fd);
	}
}

/*
 * TARGET: HOST:PORT or [V6]:PORT, resolved once now (so no client waits
 * for DNS; with --proxy the proxy resolves it, and the proxy's own name
 * is resolved once now instead), or a Unix socket path (a '/' in it, or
 * @NAME).  ARG NULL: no TARGET, only --proxy.  Returns -1 with *errp,
 * *USAGE telling a usage error; T is for cmd_target_free() either way.
 */
int
cmd_target(const struct sockt_opts *o, const char *arg, struct cmd_target *t,
    char **errp, bool *usage)
{
	const struct proxy_spec *px = &o->proxy_spec;
	int flags = o->numeric ? AI_NUMERICHOST : 0;
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;
	char *argv[1] = { (char *)arg }, *err = NULL;

	memset(t, 0, sizeof *t);
	*usage = true;
	if (arg != NULL && strchr(arg, ':') == NULL && arg[0] != '@' &&
	    strchr(arg, '/') == NULL) {
		*errp = log_fmt("bad TARGET '%s': expected HOST:PORT, "
		    "[IPV6]:PORT or a Unix socket path", arg);
		return -1;
	}
	if (arg != NULL && (arg[0] == '@' || strchr(arg, '/') != NULL)) {
		if (o->given[OPT_PROXY]) {
			*errp = log_fmt("cannot use --proxy with a Unix socket "
			    "TARGET");
			return -1;
		}
		if (addr_unix(arg, &ss, &len, errp) == -1)
			return -1;
		t->path = arg;
		t->name = xstrdup(arg);
		return 0;
	}
	if (arg != NULL && (addr_parse_endpoint(1, argv, ADDR_CONNECT, NULL,
	    &t->ep, errp) == -1 || addr_parse_port(t->ep.port, "tcp", &port,
	    errp) == -1))
		return -1;
	if (arg != NULL && port == 0) {
		*errp = log_fmt("bad TARGET '%s': port 0", arg);
		return -1;
	}
	*usage = false;
	t->name = arg != NULL ? xstrdup(arg) : NULL;
	if (o->given[OPT_PROXY]) {
		if (addr_resolve(px->host, px->port, o->family, SOCK_STREAM,
		    flags, &t->proxy_addrs, &err) == -1) {
			*errp = log_fmt("proxy %s", err);
			free(err);
			return -1;
		}
		return 0;	/* the proxy resolves TARGET */
	}
	return arg == NULL ? 0 : addr_resolve(t->ep.host, t->ep.port,
	    o->family, SOCK_STREAM, flags, &t->addrs, errp);
}

void
cmd_target_free(struct cmd_target *t)
{
	if (t->addrs != NULL)
		freeaddrinfo(t->addrs);
	if (t->proxy_addrs != NULL)
		freeaddrinfo(t->proxy_addrs);
	addr_endpoint_free(&t->ep);
	free(t->name);
	memset(t, 0, sizeof *t);
}
