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
#include "proxyd.h"
#include "relay.h"
#include "tls.h"
#include "xmalloc.h"

static const enum opt_id forward_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_UNIX, OPT_NUMERIC, OPT_VERBOSE, OPT_SOURCE,
	OPT_PORT, OPT_TIMEOUT, OPT_IDLE, OPT_MAX_CONNS, OPT_ALLOW, OPT_DENY,
	OPT_PORT_FILE, OPT_HEXDUMP, OPT_TLS, OPT_CA, OPT_CERT, OPT_KEY,
	OPT_ALPN, OPT_PROXY, OPT_PROXY_TYPE, OPT_PROXY_AUTH, OPT_PROXY_SERVER,
	OPT_MPTCP, OPT_END
};

static int	cmd_forward_exec(struct sockt_opts *);

static const struct cmd_help forward_help[] = {
	{ OPT_SOURCE, "source address of the connections to TARGET" },
	{ OPT_PORT, "the port to listen on" },
	{ OPT_TIMEOUT, "connect timeout to TARGET (and TLS and proxy "
	    "handshakes)" },
	{ OPT_IDLE, "close a connection idle that long" },
	{ OPT_HEXDUMP, "hex dump of every connection, each line with its "
	    "#id (- is stderr)" },
	{ OPT_TLS, "clients speak TLS: terminate it here" },
	{ OPT_PROXY, "reach TARGET through this proxy (port 1080, http "
	    "3128)" },
	{ OPT_PROXY_AUTH, "credentials for --proxy, or those --proxy-server "
	    "clients must give" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_forward_entry = {
	.name = "forward",
	.summary = "relay every client to a target (port forwarding)",
	.usage = "[options] [ADDRESS] PORT TARGET | -U PATH TARGET\n"
	    "       sockt forward [options] --proxy-server [ADDRESS] PORT\n"
	    "TARGET is HOST:PORT, [IPV6]:PORT, or a Unix socket path (with a "
	    "/, or @NAME)",
	.options = forward_options,
	.help = forward_help,
	.args = { 1, 3, 2, "PORT and TARGET" },	/* TARGET: see exec */
	.examples = {
		"sockt forward -v 5433 db.internal:5432",
		"sockt forward -U /tmp/app.sock 127.0.0.1:8080",
		"sockt forward --proxy-server --proxy-auth me:secret 1080",
		"sockt forward --tls --cert cert.pem --key key.pem 0.0.0.0 443 127.0.0.1:8080",
	},
	.exec = cmd_forward_exec,
};

struct forward_run {
	struct sockt_opts	*o;
	struct loop		*loop;
	struct relay		*relay;
	struct listener		*listener;
	struct proxyd		*proxyd;	/* --proxy-server */
	struct tls_ctx		*tls;
	struct log_tap		 tap;		/* -x */
	struct cmd_target	 target;	/* TARGET, or none */
	unsigned long		 ids;
	int			 status;
};

/* One client and its connection to the target. */
struct forward_conn {
	struct forward_run	*run;
	unsigned long		 id;
	char			*client;
	char			*target;
	int			 fd;		/* the client's */
	struct tls_conn		*tls;
	struct dial		*dial;
	struct relay_source	*up;		/* client -> target */
	struct relay_source	*down;		/* target -> client */
	uint64_t		 early;		/* sent by --proxy-server */
	uint64_t		 up_off;	/* -x offsets */
	uint64_t		 down_off;
	uint64_t		 started;
};

static void
forward_conn_free(struct forward_conn *c)
{
	free(c->client);
	free(c->target);
	free(c);
}

/* -x: what the client sent, and what the target sent back. */
static int
forward_tap_up(void *arg, const void *data, size_t len, char **errp)
{
	struct forward_conn *c = arg;

	if (c->run->tap.hexdump == NULL)
		return 0;
	log_tap_tagged(&c->run->tap, c->id, LOG_SENT, c->up_off, data, len);
	c->up_off += len;
	return errp != NULL ? log_tap_check(&c->run->tap, errp) : 0;
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
	    c->id, c->client, c->target,
	    (unsigned long long)(c->early + relay_source_bytes(c->up)),
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
	c->down = relay_source_new(rs, tfd, FD_SOCKET, c->target, 0);
	to_target = relay_sink_new(rs, tfd, FD_SOCKET, c->target,
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

/* --proxy-server: the client named its target, and has it, or not. */
static void
forward_proxied(void *arg, const struct proxyd_result *r)
{
	struct forward_conn *c = arg;

	c->target = xstrdup(r->target);
	if (r->fd == -1) {
		log_info(1, "#%lu %s%s%s: %s", c->id, c->client, *r->target ?
		    " -> " : "", r->target, r->err);
		listener_client_gone(c->run->listener);
		forward_conn_free(c);
		return;
	}
	log_info(2, "#%lu %s -> %s: connected", c->id, c->client, r->target);
	if (r->earlylen > 0)
		forward_tap_up(c, r->early, r->earlylen, NULL);
	c->early = r->earlylen;
	forward_relay(c, r->tfd);
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
	if (run->proxyd != NULL) {
		proxyd_start(run->proxyd, c->fd, forward_proxied, c);
		return;
	}
	c->target = xstrdup(run->target.name);
	memset(&ds, 0, sizeof ds);
	ds.unix_path = run->target.path;
	ds.addrs = run->target.addrs;
	ds.host = run->target.ep.host;
	ds.port = run->target.ep.port;
	ds.family = run->o->family;
	ds.numeric = true;
	ds.source = run->o->source;
	ds.timeout_ms = run->o->timeout_ms;
	ds.wait_ms = -1;
	if (run->o->given[OPT_PROXY]) {
		ds.proxy = &run->o->proxy_spec;
		ds.proxy_addrs = run->target.proxy_addrs;
	}
	ds.mptcp = run->o->mptcp;
	c->dial = dial_start(run->loop, &ds, forward_dialled, c);
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
	lo.argc = o->argc - (o->proxy_server ? 0 : 1);
	usage = true;
	if (o->proxy_server && o->argc > 2)
		err = log_fmt("too many arguments: '%s' (--proxy-server "
		    "takes no TARGET)", o->argv[2]);
	else if (!o->proxy_server && o->argc < 2)
		err = log_fmt("missing PORT and TARGET");
	if (err != NULL || cmd_target(o, o->proxy_server ? NULL :
	    o->argv[o->argc - 1], &run.target, &err, &usage) == -1 ||
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
	if (o->proxy_server) {
		struct proxyd_spec ps = {
			.auth = o->proxy_auth ? &o->proxyd_auth : NULL,
			.upstream = o->given[OPT_PROXY] ? &o->proxy_spec : NULL,
			.upstream_addrs = run.target.proxy_addrs,
			.family = o->family, .numeric = o->numeric,
			.source = o->source,
			.timeout_ms = o->timeout_ms
		};

		if ((run.proxyd = proxyd_new(run.loop, &ps, &err)) == NULL) {
			run.status = cmd_fail(err);
			goto out;
		}
	}
	run.relay = relay_new(run.loop);
	listener_start(run.listener, forward_client, &run);
	run.status = loop_run(run.loop);
out:
	sig = run.loop ? loop_caught_signal(run.loop) : 0;
	proxyd_free(run.proxyd);
	relay_free(run.relay);
	listener_free(run.listener);
	loop_free(run.loop);
	log_tap_close(&run.tap);
	tls_ctx_free(run.tls);
	cmd_target_free(&run.target);
	addr_endpoint_free(&ep);
	cmd_die_by_signal(sig);
	return run.status;
}
