/*
 * cmd-exec.c - "sockt exec": run a program for each connection with its
 * standard input and output relayed to and from the socket (so -x, -o, -i
 * and the end-of-stream rules apply as everywhere).  It listens, on
 * loopback unless given an ADDRESS, for one client or with -k for every
 * client, or connects out with --connect.  The connections and their
 * programs are child.c's; this file is their wiring: the listener or the
 * dial, what is reported, the exit status and the signals.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "child.h"
#include "cmd.h"
#include "cmd-util.h"
#include "dial.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "relay.h"
#include "tls.h"

static const enum opt_id exec_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_UNIX, OPT_NUMERIC, OPT_VERBOSE, OPT_SOURCE,
	OPT_PORT, OPT_TIMEOUT, OPT_IDLE, OPT_KEEP, OPT_MAX_CONNS, OPT_ALLOW,
	OPT_DENY, OPT_PORT_FILE, OPT_HEXDUMP, OPT_OUTPUT, OPT_CONNECT,
	OPT_PTY, OPT_STDERR, OPT_SH, OPT_TLS, OPT_CA, OPT_CERT, OPT_KEY,
	OPT_INSECURE, OPT_PIN, OPT_SERVERNAME, OPT_ALPN, OPT_PROXY,
	OPT_PROXY_TYPE, OPT_PROXY_AUTH, OPT_MPTCP, OPT_PTY_SIZE, OPT_END
};

static int	cmd_exec_exec(struct sockt_opts *);

static const struct cmd_help exec_help[] = {
	{ OPT_PORT, "the port to listen on (source port with --connect)" },
	{ OPT_TIMEOUT, "connect timeout with --connect, else time to wait for the first client" },
	{ OPT_IDLE, "end a connection idle that long" },
	{ OPT_OUTPUT, "also write what clients send to FILE" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_exec_entry = {
	.name = "exec",
	.summary = "run a program for each connection, its stdio on the "
	    "socket",
	.usage = "[options] [ADDRESS] PORT | -U PATH -- PROGRAM [ARG...]\n"
	    "       sockt exec [options] --sh COMMAND [ADDRESS] PORT | "
	    "-U PATH\n"
	    "       sockt exec [options] --connect HOST PORT | -U PATH "
	    "-- PROGRAM [ARG...]",
	.options = exec_options,
	.help = exec_help,
	.args = { 0, 2, 1, "PORT" },
	.examples = {
		"sockt exec -k 9000 -- stdbuf -oL tr a-z A-Z",
		"sockt exec --pty-size 132x43 9000 -- /bin/sh",
		"sockt exec --connect 127.0.0.1 9000 --sh 'echo hi; cat'",
	},
	.exec = cmd_exec_exec,
};

struct exec_run {
	struct sockt_opts	*o;
	struct loop		*loop;
	struct listener		*listener;
	struct dial		*dial;
	struct child_set	*children;
	struct tls_ctx		*tls;
	struct log_tap		 tap;		/* -x, -o */
	char			*sh_argv[4];	/* --sh: /bin/sh -c COMMAND */
	char *const		*argv;
	struct addr_endpoint	 ep;
};

/* One client (no -k, or --connect): its end is sockt's end. */
static bool
exec_single(const struct exec_run *run)
{
	return !run->o->keep || run->o->connect;
}

/*
 * child_fail_fn: a program that cannot be executed is always reported;
 * a connection's own failure is sockt's failure with one client and a -v
 * note with -k, unless a -x or -o file failed: that stops everything.
 */
static void
exec_failed(void *arg, enum child_failure why, const char *msg)
{
	struct exec_run *run = arg;

	if (why == CHILD_EXEC)
		log_error("%s", msg);
	else if (msg != NULL && !child_stopping(run->children)) {
		if (exec_single(run) || why == CHILD_TAP)
			log_error("%s", msg);
		else
			log_info(1, "%s", msg);
	}
	if (why == CHILD_TAP && !exec_single(run))
		child_stop(run->children, 0);
}

/* child_done_fn: a connection is over, its program reaped. */
static void
exec_done(void *arg, int status)
{
	struct exec_run *run = arg;

	(void)status;
	if (run->listener != NULL)
		listener_client_gone(run->listener);
}

/* child_stop_fn: sockt is stopping: no new connection. */
static void
exec_stop(void *arg)
{
	struct exec_run *run = arg;

	if (run->listener != NULL)
		listener_close(run->listener);
	dial_cancel(run->dial);
	run->dial = NULL;
}

/*
 * listener_fn: an admitted client gets its program; without -k the first
 * one closes the listening sockets.  FD -1: -w passed without a client.
 */
static void
exec_client(void *arg, const struct listener_conn *lc)
{
	struct exec_run *run = arg;

	if (lc->fd == -1) {
		log_error("%s", lc->err);
		loop_stop(run->loop, 1);
		return;
	}
	log_info(1, "connection from %s", lc->name);
	if (exec_single(run))
		listener_close(run->listener);
	child_start(run->children, lc->fd, lc->tls, lc->name);
}

/* dial_done_fn: --connect connected, or failed. */
static void
exec_dialed(void *arg, const struct dial_result *r)
{
	struct exec_run *run = arg;

	run->dial = NULL;
	if (r->fd == -1) {
		log_error("%s", r->err);
		loop_stop(run->loop, 1);
		return;
	}
	log_info(1, "connected to %s", r->peer);
	child_start(run->children, r->fd, r->tls, r->peer);
}

/* Choose the program from --sh or "-- PROGRAM"; NENDP: the endpoint's. */
static int
exec_program(struct exec_run *run, int *nendp, char **errp)
{
	struct sockt_opts *o = run->o;
	int nend = o->argc_before_dashes;	/* -1: no "--" */

	if (o->sh != NULL) {
		if (nend != -1 && nend < o->argc) {
			*errp = log_fmt("cannot use --sh with -- PROGRAM");
			return -1;
		}
		run->sh_argv[0] = "/bin/sh";
		run->sh_argv[1] = "-c";
		run->sh_argv[2] = o->sh;
		run->sh_argv[3] = NULL;
		run->argv = run->sh_argv;
		*nendp = nend == -1 ? o->argc : nend;
		return 0;
	}
	if (nend == -1) {
		*errp = log_fmt("missing -- PROGRAM (or --sh COMMAND)");
		return -1;
	}
	if (nend == o->argc) {
		*errp = log_fmt("missing PROGRAM after --");
		return -1;
	}
	run->argv = o->argv + nend;	/* argv ends with NULL */
	*nendp = nend;
	return 0;
}

/*
 * Check the endpoint in the NEND arguments before the program: a Unix
 * path, or [ADDRESS] PORT to listen on, or HOST PORT to connect to (the
 * nc forms and HOST:PORT).  -1 with *errp: a usage error.
 */
static int
exec_endpoint(struct exec_run *run, int nend, char **errp)
{
	const struct sockt_opts *o = run->o;
	uint16_t port;

	if (o->unix_socket)
		return 0;	/* cmd_check_args() checked the PATH */
	if (addr_parse_endpoint(nend, o->argv, o->connect ? ADDR_CONNECT :
	    ADDR_LISTEN, o->connect ? NULL : o->port, &run->ep, errp) == -1 ||
	    addr_parse_port(run->ep.port, "tcp", &port, errp) == -1)
		return -1;
	if (o->connect && port == 0) {
		*errp = log_fmt("bad port '0': cannot connect to port 0");
		return -1;
	}
	if (o->connect && o->port != NULL &&
	    addr_parse_port(o->port, "tcp", &port, errp) == -1)
		return -1;
	return 0;
}

/* Listen (without ADDRESS on loopback only), or dial with --connect. */
static int
exec_open(struct exec_run *run, char **errp)
{
	const struct sockt_opts *o = run->o;
	const char *path = o->unix_socket ? o->argv[0] : NULL;
	struct listener_spec ls = {
		.host = run->ep.host, .port = run->ep.port, .unix_path = path,
		.bind = LISTENER_LOOPBACK, .family = o->family,
		.numeric = o->numeric, .acl = &o->acl,
		.max_conns = o->max_conns, .first_ms = o->timeout_ms,
		.port_file = o->port_file, .tls = run->tls,
		.handshake_ms = o->timeout_ms >= 0 ? o->timeout_ms :
		    CMD_HANDSHAKE_MS
	};
	struct dial_spec ds;

	cmd_dial_spec(o, run->ep.host, run->ep.port, &ds);
	ds.tls = run->tls;
	ds.tls_name = o->servername;
	if (o->connect)
		run->dial = dial_start(run->loop, &ds, exec_dialed, run);
	else if ((run->listener = listener_open(run->loop, &ls, errp)) ==
	    NULL)
		return -1;
	return 0;
}

static int
cmd_exec_exec(struct sockt_opts *o)
{
	struct exec_run run;
	struct child_spec cs;
	struct relay *relay = NULL;
	char *err = NULL;
	bool usage;
	int nend, status, sig;

	memset(&run, 0, sizeof run);
	run.o = o;
	log_tap_init(&run.tap);
	if (exec_program(&run, &nend, &err) == -1)
		return cmd_usage_error(o, err);
	if (o->source != NULL && !o->connect)
		return cmd_usage_error(o, log_fmt("-s needs --connect"));
	if (exec_endpoint(&run, nend, &err) == -1) {
		addr_endpoint_free(&run.ep);
		return cmd_usage_error(o, err);
	}
	if (cmd_tls(o, !o->connect, o->tls, &run.tls, &err, &usage) == -1) {
		addr_endpoint_free(&run.ep);
		return usage ? cmd_usage_error(o, err) : cmd_fail(err);
	}
	if ((run.loop = loop_new()) == NULL) {
		err = log_fmt("loop: %s", strerror(errno));
		goto fail;
	}
	relay = relay_new(run.loop);
	cs = (struct child_spec){
		.argv = run.argv, .pty = o->pty, .stderr_out = o->child_stderr,
		.pty_cols = (unsigned short)o->pty_cols,
		.pty_rows = (unsigned short)o->pty_rows,
		.is_unix = o->unix_socket, .single = exec_single(&run),
		.idle_ms = o->idle_ms,
		.tap = o->hexdump != NULL || o->output != NULL ? &run.tap :
		    NULL,
		.fail = exec_failed, .done = exec_done, .stop = exec_stop,
		.arg = &run
	};
	run.children = child_set_new(relay, &cs);
	loop_on_signal(run.loop, child_signal, run.children);
	if (!o->connect && exec_open(&run, &err) == -1)
		goto fail;
	if (log_tap_open(&run.tap, o->hexdump, o->output, &err) == -1)
		goto fail;
	if (o->connect)
		exec_open(&run, &err);
	else if (listener_ready(run.listener, &err) == -1)
		goto fail;
	else
		listener_start(run.listener, exec_client, &run);
	status = loop_run(run.loop);
	goto out;
fail:
	status = cmd_fail(err);
out:
	sig = child_stop_signal(run.children);
	dial_cancel(run.dial);
	listener_free(run.listener);
	relay_free(relay);
	child_set_free(run.children);
	loop_free(run.loop);
	log_tap_close(&run.tap);
	tls_ctx_free(run.tls);
	addr_endpoint_free(&run.ep);
	cmd_die_by_signal(sig);
	return status;
}
