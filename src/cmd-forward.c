/*
 * cmd-forward.c - "sockt forward": every client gets its own connection to
 * TARGET, relayed both ways on the one loop, zero-copy where the kernel
 * allows (splice through pooled pipes), with half-closes and resets
 * passed on (design section 7).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "dial.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "relay.h"
#include "tls.h"
#include "xmalloc.h"

static const enum opt_id forward_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_UNIX, OPT_NUMERIC, OPT_VERBOSE, OPT_SOURCE,
	OPT_PORT, OPT_TIMEOUT, OPT_IDLE, OPT_MAX_CONNS, OPT_ALLOW, OPT_DENY,
	OPT_PORT_FILE, OPT_HEXDUMP, OPT_TLS, OPT_CA, OPT_CERT, OPT_KEY,
	OPT_ALPN, OPT_MPTCP, OPT_END
};

static int	cmd_forward_exec(struct sockt_opts *);

static const struct cmd_help forward_help[] = {
	{ OPT_SOURCE, "source address of the connections to TARGET" },
	{ OPT_PORT, "the port to listen on" },
	{ OPT_TIMEOUT, "connect timeout to TARGET (and TLS handshakes)" },
	{ OPT_IDLE, "close a connection idle that long" },
	{ OPT_HEXDUMP, "hex dump of every connection, each line with its "
	    "#id (- is stderr)" },
	{ OPT_TLS, "clients speak TLS: terminate it here" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_forward_entry = {
	.name = "forward",
	.summary = "relay every client to a target (port forwarding)",
	.usage = "[options] [ADDRESS] PORT TARGET | -U PATH TARGET\n"
	    "TARGET is HOST:PORT, [IPV6]:PORT, or a Unix socket path (with a "
	    "/, or @NAME)",
	.options = forward_options,
	.help = forward_help,
	.args = { 2, 3, 2, "PORT and TARGET" },
	.examples = {
		"sockt forward -v 5433 db.internal:5432",
		"sockt forward -U /tmp/app.sock 127.0.0.1:8080",
		"sockt forward --tls --cert cert.pem --key key.pem 0.0.0.0 443 127.0.0.1:8080",
	},
	.exec = cmd_forward_exec,
};

struct forward_run {
	struct sockt_opts	*o;
	struct loop		*loop;
	struct relay		*relay;
	struct listener		*listener;
	struct tls_ctx		*tls;
	struct log_tap		 tap;		/* -x */
	struct addr_endpoint	 target;	/* HOST:PORT */
	const char		*target_path;	/* or a Unix socket */
	struct addrinfo		*target_addrs;	/* resolved at start */
	char			*target_name;	/* for messages */
	unsigned long		 ids;
	int			 status;
};

/* One client and its connection to the target. */
struct forward_conn {
	struct forward_run	*run;
	unsigned long		 id;
	char			*client;
	int			 fd;		/* the client's */
	struct tls_conn		*tls;
	struct dial		*dial;
	struct relay_source	*up;		/* client -> target */
	struct relay_source	*down;		/* target -> client */
	uint64_t		 up_off;	/* -x offsets */
	uint64_t		 down_off;
	uint64_t		 started;
};

static void
forward_conn_free(struct forward_conn *c)
{
	free(c->client);
	free(c);
}

/* -x: what the client sent, and what the target sent back. */
static int
forward_tap_up(void *arg, const void *data, size_t len, char **errp)
{
	struct forward_conn *c = arg;

	log_tap_tagged(&c->run->tap, c->id, LOG_SENT, c->up_off, data, len);
	c->up_off += len;
	return log_tap_check(&c->run->tap, errp);
}

static int
forward_tap_down(void *arg, const void *data, size_t len, char **errp)
{
	struct forward_conn *c = arg;

	log_tap_tagged(&c->run->tap, c->id, LOG_RECEIVED, c->down_off, data,
	    len);
	c->down_off += len;
	return log_tap_check(&c->run->tap, errp);
}

/* A connection ended: one -v line, and its place is free again. */
static void
forward_done(struct relay_session *rs, int status, const char *msg,
    void *arg)
{
	struct forward_conn *c = arg;
	struct forward_run *run = c->run;
	uint64_t ms = loop_now() - c->started;
	char *err;

	(void)rs;
	log_info(1, "#%lu %s -> %s: %llu bytes up, %llu down, %llu.%03llu s%s%s",
	    c->id, c->client, run->target_name,
	    (unsigned long long)relay_source_bytes(c->up),
	    (unsigned long long)relay_source_bytes(c->down),
	    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
	    status ? ": " : "", status && msg ? msg : "");
	listener_client_gone(run->listener);
	forward_conn_free(c);
	if (log_tap_check(&run->tap, &err) == -1) {
		/* our own -x file failed: that is sockt's failure */
		if (!loop_stopping(run->loop))
			log_error("%s", err);
		free(err);
		run->status = 1;
		loop_stop(run->loop, 1);
	}
}

/*
 * The two directions of C, each a source with a sink on the other
 * socket: an end of file half-closes the other side, a reset resets it.
 */
static void
forward_relay(struct forward_conn *c, int tfd)
{
	struct forward_run *run = c->run;
	struct relay_session *rs;
	struct relay_sink *to_target, *to_client;

	rs = relay_session_new(run->relay, forward_done, c);
	relay_session_own_fd(rs, c->fd);
	relay_session_own_fd(rs, tfd);
	relay_session_mirror_resets(rs);
	c->up = relay_source_new(rs, c->fd, FD_SOCKET, c->client, 0);
	c->down = relay_source_new(rs, tfd, FD_SOCKET, run->target_name, 0);
	to_target = relay_sink_new(rs, tfd, FD_SOCKET, run->target_name,
	    RELAY_SINK_SHUTDOWN);
	to_client = relay_sink_new(rs, c->fd, FD_SOCKET, c->client,
	    RELAY_SINK_SHUTDOWN);
	if (c->tls != NULL) {
		relay_session_own_tls(rs, c->tls);
		relay_source_tls(c->up, c->tls);
		relay_sink_tls(to_client, c->tls);
	}
	if (run->tap.hexdump != NULL) {
		relay_source_tap(c->up, forward_tap_up, c);
		relay_source_tap(c->down, forward_tap_down, c);
	}
	if (run->o->idle_ms > 0)
		relay_session_set_idle(rs, run->o->idle_ms);
	relay_link(c->up, to_target);
	relay_link(c->down, to_client);
	relay_source_start(c->up);
	relay_source_start(c->down);
}

/* The target answered, or not: relay, or close the client. */
static void
forward_dialled(void *arg, const struct dial_result *r)
{
	struct forward_conn *c = arg;
	struct forward_run *run = c->run;

	c->dial = NULL;
	if (r->fd == -1) {
		log_info(1, "#%lu %s: %s", c->id, c->client, r->err);
		tls_conn_free(c->tls);
		close(c->fd);
		listener_client_gone(run->listener);
		forward_conn_free(c);
		return;
	}
	log_info(2, "#%lu %s -> %s: connected", c->id, c->client, r->peer);
	forward_relay(c, r->fd);
}

static void
forward_client(void *arg, const struct listener_conn *lc)
{
	struct forward_run *run = arg;
	struct forward_conn *c;
	struct dial_spec ds;

	if (lc->fd == -1)
		return;		/* no -w first-client deadline is set */
	c = xcalloc(1, sizeof *c);
	c->run = run;
	c->id = ++run->ids;
	c->client = xstrdup(lc->name);
	c->fd = lc->fd;
	c->tls = lc->tls;
	c->started = loop_now();
	log_info(1, "#%lu connection from %s", c->id, c->client);
	memset(&ds, 0, sizeof ds);
	ds.unix_path = run->target_path;
	ds.addrs = run->target_addrs;
	ds.host = run->target.host;
	ds.port = run->target.port;
	ds.family = run->o->family;
	ds.numeric = true;
	ds.source = run->o->source;
	ds.timeout_ms = run->o->timeout_ms;
	ds.wait_ms = -1;
	ds.mptcp = run->o->mptcp;
	c->dial = dial_start(run->loop, &ds, forward_dialled, c);
}

/*
 * TARGET: HOST:PORT or [V6]:PORT, resolved once now (so no client waits
 * for DNS), or a Unix socket path (a '/' in it, or @NAME).  Returns -1
 * with *errp, *USAGE telling a usage error.
 */
static int
forward_target(struct forward_run *run, const char *arg, char **errp,
    bool *usage)
{
	struct sockt_opts *o = run->o;
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;
	char *argv[1] = { (char *)arg };

	*usage = true;
	if (strchr(arg, ':') == NULL && arg[0] != '@' &&
	    strchr(arg, '/') == NULL) {
		*errp = log_fmt("bad TARGET '%s': expected HOST:PORT, "
		    "[IPV6]:PORT or a Unix socket path", arg);
		return -1;
	}
	if (arg[0] == '@' || strchr(arg, '/') != NULL) {
		if (addr_unix(arg, &ss, &len, errp) == -1)
			return -1;
		run->target_path = arg;
		run->target_name = xstrdup(arg);
		return 0;
	}
	if (addr_parse_endpoint(1, argv, ADDR_CONNECT, NULL, &run->target,
	    errp) == -1 ||
	    addr_parse_port(run->target.port, "tcp", &port, errp) == -1)
		return -1;
	if (port == 0) {
		*errp = log_fmt("bad TARGET '%s': port 0", arg);
		return -1;
	}
	*usage = false;
	if (addr_resolve(run->target.host, run->target.port, o->family,
	    SOCK_STREAM, o->numeric ? AI_NUMERICHOST : 0, &run->target_addrs,
	    errp) == -1)
		return -1;
	run->target_name = xstrdup(arg);
	return 0;
}

static int
cmd_forward_exec(struct sockt_opts *o)
{
	struct forward_run run = { .o = o, .status = 0 };
	struct addr_endpoint ep = { NULL, NULL };
	struct listener_spec ls;
	struct sockt_opts lo;
	char *err = NULL;
	bool usage;
	int sig;

	log_tap_init(&run.tap);
	/* the last argument is TARGET; the rest is the listening side */
	lo = *o;
	lo.argc = o->argc - 1;
	if (forward_target(&run, o->argv[o->argc - 1], &err, &usage) == -1 ||
	    (usage = true, cmd_listener_spec(&lo, LISTENER_LOOPBACK, &ep, &ls,
	    &err)) == -1 ||
	    cmd_tls(o, true, o->tls, &run.tls, &err, &usage) == -1) {
		run.status = usage ? cmd_usage_error(o, err) : cmd_fail(err);
		goto out;
	}
	ls.tls = run.tls;
	ls.first_ms = -1;	/* -w is for the targets here */
	if (log_tap_open(&run.tap, o->hexdump, NULL, &err) == -1 ||
	    (run.loop = loop_new()) == NULL ||
	    (run.listener = listener_open(run.loop, &ls, &err)) == NULL ||
	    listener_ready(run.listener, &err) == -1) {
		run.status = cmd_fail(err ? err : log_fmt("loop: %s",
		    strerror(errno)));
		goto out;
	}
	run.relay = relay_new(run.loop);
	listener_start(run.listener, forward_client, &run);
	run.status = loop_run(run.loop);
out:
	sig = run.loop ? loop_caught_signal(run.loop) : 0;
	relay_free(run.relay);
	listener_free(run.listener);
	loop_free(run.loop);
	log_tap_close(&run.tap);
	tls_ctx_free(run.tls);
	if (run.target_addrs != NULL)
		freeaddrinfo(run.target_addrs);
	addr_endpoint_free(&run.target);
	addr_endpoint_free(&ep);
	free(run.target_name);
	cmd_die_by_signal(sig);
	return run.status;
}
