/*
 * cmd-connect.c - "sockt connect": connect to a TCP or Unix stream
 * endpoint and pump it to and from stdio.
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
#include "log.h"
#include "loop.h"
#include "relay.h"
#include "scan.h"
#include "session.h"
#include "sock.h"
#include "tls.h"
#include "tty.h"

static const enum opt_id connect_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_UNIX, OPT_NUMERIC, OPT_VERBOSE, OPT_SOURCE,
	OPT_PORT, OPT_TIMEOUT, OPT_IDLE, OPT_QUIT, OPT_NOSTDIN, OPT_SEND_ONLY,
	OPT_RECV_ONLY, OPT_NO_SHUTDOWN, OPT_HEXDUMP, OPT_OUTPUT, OPT_PROGRESS,
	OPT_SCAN, OPT_WAIT, OPT_PARALLEL, OPT_RAW_TTY, OPT_TLS, OPT_CA,
	OPT_CERT, OPT_KEY, OPT_INSECURE, OPT_PIN, OPT_SERVERNAME, OPT_ALPN,
	OPT_CRLF, OPT_PROXY, OPT_PROXY_TYPE, OPT_PROXY_AUTH, OPT_MPTCP, OPT_END
};

static int	cmd_connect_exec(struct sockt_opts *);

static const struct cmd_help connect_help[] = {
	{ OPT_PORT, "source port" },
	{ OPT_TIMEOUT, "connect timeout, per address tried (and per probe with -z)" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_connect_entry = {
	.name = "connect",
	.summary = "connect to a TCP or Unix stream endpoint and pump stdio",
	.usage = "[options] [-z] [--wait SECS] HOST PORT[,PORT|LO-HI...] | "
	    "-U PATH",
	.options = connect_options,
	.help = connect_help,
	.args = { 1, 2, 1, "HOST and PORT" },
	.examples = {
		"sockt connect 127.0.0.1 9000 < file",
		"sockt connect -z --wait 30 127.0.0.1 5432",
		"sockt connect --raw-tty 127.0.0.1 9000",
		"sockt connect --tls --pin "
		    "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= "
		    "example.org 443",
	},
	.exec = cmd_connect_exec,
};

struct connect_run {
	struct sockt_opts	*o;
	struct loop		*loop;
	struct session_ctx	 ctx;
	struct session_spec	 spec;
	struct tty_state	 tty;
	struct tls_ctx		*tls;
	int			 status;
};

static void
connect_done(struct relay_session *ps, int status, const char *msg,
    void *arg)
{
	struct connect_run *run = arg;

	(void)ps;
	if (msg != NULL)
		log_error("%s", msg);
	run->status = status;
	loop_stop(run->loop, status);
}

/* The dial ended: pump the connection to and from stdio, or fail. */
static void
connect_dialled(void *arg, const struct dial_result *r)
{
	struct connect_run *run = arg;
	char *msg = NULL;

	if (r->fd == -1) {
		log_error("%s", r->err);
		run->status = 1;
		loop_stop(run->loop, 1);
		return;
	}
	log_info(1, "connected to %s", r->peer);
	/* --raw-tty: raw from here; restored on every way out of the loop */
	if (run->o->raw_tty && tty_raw(STDIN_FILENO, &run->tty, &msg) == -1) {
		tls_conn_free(r->tls);
		close(r->fd);
		run->status = cmd_fail(msg);
		loop_stop(run->loop, 1);
		return;
	}
	session_start(&run->ctx, r->fd, r->tls, r->peer, connect_done, run);
}

/* -z -U PATH: is anyone listening there?  0 if so. */
static void
connect_probed(void *arg, const struct dial_result *r)
{
	struct connect_run *run = arg;

	if (r->fd == -1) {
		log_error("%s", r->err);
		run->status = 1;
	} else {
		close(r->fd);
		printf("%s open\n", run->o->argv[0]);
		run->status = 0;
	}
	loop_stop(run->loop, run->status);
}

/*
 * The checks that make a usage error before anything is opened (the -U
 * path was checked before the subcommand ran): the -p source port.
 * Returns -1 with *errp.
 */
static int
connect_check(const struct sockt_opts *o, char **errp)
{
	uint16_t port;

	if (o->port != NULL && addr_parse_port(o->port, "tcp", &port, errp)
	    == -1)
		return -1;
	return 0;
}

/* -z: report which ports accept a connection; 0 if any does. */
static int
connect_scan(struct sockt_opts *o)
{
	struct addr_endpoint ep = { NULL, NULL };
	struct addrinfo *res = NULL, *src = NULL;
	struct scan_spec spec;
	struct loop *p;
	uint16_t *ports = NULL;
	char *err = NULL;
	int n, sig, status = 1;

	if (connect_check(o, &err) == -1)
		return cmd_usage_error(o, err);
	if (o->unix_socket) {
		struct connect_run run = { .o = o, .status = 1 };
		struct dial_spec ds;

		if ((run.loop = loop_new()) == NULL)
			return cmd_fail(log_fmt("loop: %s", strerror(errno)));
		cmd_dial_spec(o, NULL, NULL, &ds);
		dial_start(run.loop, &ds, connect_probed, &run);
		loop_run(run.loop);
		sig = loop_caught_signal(run.loop);
		loop_free(run.loop);
		cmd_die_by_signal(sig);
		return run.status;
	}
	memset(&spec, 0, sizeof spec);
	if (addr_parse_endpoint(o->argc, o->argv, ADDR_CONNECT, NULL, &ep,
	    &err) == -1 || addr_parse_portlist(ep.port, "tcp", &ports,
	    &spec.nports, &err) == -1) {
		addr_endpoint_free(&ep);
		return cmd_usage_error(o, err);
	}
	if (ports[0] == 0) {
		free(ports);
		addr_endpoint_free(&ep);
		return cmd_usage_error(o, log_fmt("bad port '0': cannot "
		    "connect to port 0"));
	}
	if (addr_resolve(ep.host, "0", o->family, SOCK_STREAM, o->numeric ?
	    AI_NUMERICHOST : 0, &res, &err) == -1 ||
	    addr_resolve_source(o->source, o->port, o->family, o->numeric ?
	    AI_NUMERICHOST : 0, &src, &err) == -1)
		goto out;
	spec.host = ep.host;
	spec.addrs = res;
	spec.source = src;
	spec.ports = ports;
	spec.parallel = (size_t)o->parallel;
	spec.timeout_ms = o->timeout_ms;
	spec.wait_ms = o->wait_ms;
	spec.out = stdout;
	if ((p = loop_new()) == NULL) {
		err = log_fmt("loop: %s", strerror(errno));
		goto out;
	}
	n = scan_run(p, &spec, &err);
	sig = loop_caught_signal(p);
	loop_free(p);
	cmd_die_by_signal(sig);
	if (n > 0)
		status = 0;
out:
	if (status != 0 && err != NULL)
		log_error("%s", err);
	free(err);
	free(ports);
	if (res != NULL)
		freeaddrinfo(res);
	if (src != NULL)
		freeaddrinfo(src);
	addr_endpoint_free(&ep);
	return status;
}

static int
cmd_connect_exec(struct sockt_opts *o)
{
	struct connect_run run = { .o = o, .status = 1 };
	struct addr_endpoint ep = { NULL, NULL };
	struct dial_spec ds;
	char *err = NULL;
	uint16_t port = 0;
	bool usage;
	int sig;

	if (o->scan)
		return connect_scan(o);
	if (connect_check(o, &err) == -1)
		return cmd_usage_error(o, err);
	if (o->unix_socket) {
		/* checked by connect_check() */
	} else if (addr_parse_endpoint(o->argc, o->argv, ADDR_CONNECT, NULL,
	    &ep, &err) == -1 ||
	    addr_parse_port(ep.port, "tcp", &port, &err) == -1) {
		addr_endpoint_free(&ep);
		return cmd_usage_error(o, err);
	}
	if (!o->unix_socket && port == 0) {
		addr_endpoint_free(&ep);
		return cmd_usage_error(o, log_fmt("bad port '0': cannot "
		    "connect to port 0"));
	}
	if (cmd_tls(o, false, o->tls, &run.tls, &err, &usage) == -1) {
		addr_endpoint_free(&ep);
		return usage ? cmd_usage_error(o, err) : cmd_fail(err);
	}
	if (o->raw_tty && tty_check(STDIN_FILENO, &err) == -1) {
		addr_endpoint_free(&ep);
		tls_ctx_free(run.tls);
		return cmd_fail(err);
	}
	/* Open stdio and the -x/-o files first: no peer sees a connection
	 * that sockt then drops because a file cannot be written. */
	tty_state_init(&run.tty);
	run.loop = loop_new();
	if (run.loop == NULL || session_ctx_open(&run.ctx, run.loop, cmd_session_spec(o, &run.spec), &err)
	    == -1) {
		addr_endpoint_free(&ep);
		loop_free(run.loop);
		tls_ctx_free(run.tls);
		return cmd_fail(err ? err : log_fmt("loop: %s",
		    strerror(errno)));
	}
	cmd_dial_spec(o, ep.host, ep.port, &ds);
	ds.tls = run.tls;
	ds.tls_name = o->servername;
	dial_start(run.loop, &ds, connect_dialled, &run);
	run.status = loop_run(run.loop);
	tty_restore(&run.tty);
	sig = loop_caught_signal(run.loop);
	session_ctx_close(&run.ctx);
	loop_free(run.loop);
	tls_ctx_free(run.tls);
	addr_endpoint_free(&ep);
	cmd_die_by_signal(sig);
	return run.status;
}
