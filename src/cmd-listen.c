/*
 * cmd-listen.c - "sockt listen": accept TCP or Unix stream clients and
 * pump them to and from stdio.  One client by default; with -k every
 * client at once (stdin broadcast to all, their data to stdout in whole
 * chunks); with --broker each client's data also goes to all the others.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "relay.h"
#include "session.h"
#include "tls.h"

static const enum opt_id listen_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_UNIX, OPT_NUMERIC, OPT_VERBOSE, OPT_PORT,
	OPT_TIMEOUT, OPT_IDLE, OPT_QUIT, OPT_KEEP, OPT_NOSTDIN, OPT_SEND_ONLY,
	OPT_RECV_ONLY, OPT_NO_SHUTDOWN, OPT_MAX_CONNS, OPT_ALLOW, OPT_DENY,
	OPT_PORT_FILE, OPT_HEXDUMP, OPT_OUTPUT, OPT_PROGRESS, OPT_BROKER,
	OPT_TLS, OPT_CA, OPT_CERT, OPT_KEY, OPT_ALPN, OPT_CRLF,
	OPT_MPTCP, OPT_END
};

static int	cmd_listen_exec(struct sockt_opts *);

static const struct cmd_help listen_help[] = {
	{ OPT_PORT, "the port to listen on" },
	{ OPT_TIMEOUT, "exit 1 if no client connects within SECS" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_listen_entry = {
	.name = "listen",
	.summary = "accept TCP or Unix stream clients and pump stdio",
	.usage = "[options] [--broker] [ADDRESS] PORT | -p PORT | -U PATH",
	.options = listen_options,
	.help = listen_help,
	.args = { 0, 2, 1, "PORT" },
	.examples = {
		"sockt listen 9000 > file",
		"sockt listen --port-file port 0",
		"sockt listen --broker -v 9000 < /dev/null",
		"sockt listen -k --max-conns 10 --allow 10.0.0.0/8 9000",
	},
	.exec = cmd_listen_exec,
};

struct listen_run {
	struct sockt_opts	*o;
	struct loop		*loop;
	struct listener		*listener;
	struct session_ctx	 ctx;
	struct tls_ctx		*tls;
	int			 status;
};

static void
listen_stop(struct listen_run *run, int status)
{
	run->status = status;
	loop_stop(run->loop, status);
}

/* One client: the session ended, and so does sockt. */
static void
listen_single_done(struct relay_session *rs, int status, const char *msg,
    void *arg)
{
	struct listen_run *run = arg;

	(void)rs;
	if (msg != NULL)
		log_error("%s", msg);
	listen_stop(run, status);
}

/*
 * -k: a client left; the others carry on.  Unless the -x or -o file could
 * not be written: that is sockt's own failure, not the client's, and it
 * ends sockt with status 1.
 */
static void
listen_client_done(struct relay_session *rs, int status, const char *msg,
    void *arg)
{
	struct listen_run *run = arg;
	char *err;

	(void)rs;
	(void)status;
	(void)msg;
	listener_client_gone(run->listener);
	if (log_tap_check(&run->ctx.tap, &err) == -1) {
		if (!loop_stopping(run->loop))
			log_error("%s", err);
		free(err);
		listen_stop(run, 1);
	}
}

/* The -k hub failed: only stdout can make it fail. */
static void
listen_hub_done(struct relay_session *rs, int status, const char *msg,
    void *arg)
{
	(void)rs;
	if (msg != NULL)
		log_error("%s", msg);
	listen_stop(arg, status);
}

/* A client came (or, fd -1, none did within -w). */
static void
listen_client(void *arg, const struct listener_conn *c)
{
	struct listen_run *run = arg;

	if (c->fd == -1) {
		log_error("%s", c->err);
		listen_stop(run, 1);
		return;
	}
	log_info(1, "connection from %s", c->name);
	if (run->o->keep) {
		session_hub_add(&run->ctx, c->fd, c->tls, c->name,
		    listen_client_done, run);
		return;
	}
	/* One client: later ones are refused, the -U file stays till exit */
	listener_close(run->listener);
	session_start(&run->ctx, c->fd, c->tls, c->name, listen_single_done,
	    run);
}

static int
cmd_listen_exec(struct sockt_opts *o)
{
	struct listen_run run = { .o = o, .status = 1 };
	struct addr_endpoint ep = { NULL, NULL };
	struct listener_spec ls;
	struct session_spec ss;
	char *err = NULL;
	bool usage;
	int sig;

	if (cmd_listener_spec(o, LISTENER_ALL, &ep, &ls, &err) == -1)
		return cmd_usage_error(o, err);
	if (cmd_tls(o, true, o->tls, &run.tls, &err, &usage) == -1) {
		addr_endpoint_free(&ep);
		return usage ? cmd_usage_error(o, err) : cmd_fail(err);
	}
	ls.tls = run.tls;
	if ((run.loop = loop_new()) == NULL) {
		addr_endpoint_free(&ep);
		tls_ctx_free(run.tls);
		return cmd_fail(log_fmt("loop: %s", strerror(errno)));
	}
	if ((run.listener = listener_open(run.loop, &ls, &err)) == NULL ||
	    session_ctx_open(&run.ctx, run.loop, cmd_session_spec(o, &ss),
	    &err) == -1 ||
	    listener_ready(run.listener, &err) == -1) {
		run.status = cmd_fail(err);
		goto out;
	}
	if (o->keep)
		session_hub_open(&run.ctx, listen_hub_done, &run);
	listener_start(run.listener, listen_client, &run);
	run.status = loop_run(run.loop);
out:
	sig = loop_caught_signal(run.loop);
	session_ctx_close(&run.ctx);
	listener_free(run.listener);
	loop_free(run.loop);
	tls_ctx_free(run.tls);
	addr_endpoint_free(&ep);
	cmd_die_by_signal(sig);
	return run.status;
}
