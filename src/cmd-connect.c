/*
 * cmd-connect.c - "sockt connect": connect to a TCP or Unix stream
 * endpoint and pump it to and from stdio.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "cmd-util.h"
#include "log.h"
#include "pump.h"
#include "session.h"
#include "sock.h"

static const enum opt_id connect_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_UNIX, OPT_NUMERIC, OPT_VERBOSE, OPT_SOURCE,
	OPT_PORT, OPT_TIMEOUT, OPT_IDLE, OPT_QUIT, OPT_NOSTDIN, OPT_SEND_ONLY,
	OPT_RECV_ONLY, OPT_NO_SHUTDOWN, OPT_HEXDUMP, OPT_OUTPUT, OPT_PROGRESS,
	OPT_END
};

static int	cmd_connect_exec(struct sockt_opts *);

const struct cmd_entry cmd_connect_entry = {
	.name = "connect",
	.summary = "connect to a TCP or Unix stream endpoint and pump stdio",
	.usage = "[options] HOST PORT | HOST:PORT | [IPV6]:PORT | -U PATH",
	.options = connect_options,
	.exec = cmd_connect_exec,
};

struct connect_run {
	struct pump	*pump;
	int		 status;
};

static void
connect_done(struct pump_session *ps, int status, const char *msg,
    void *arg)
{
	struct connect_run *run = arg;

	(void)ps;
	if (msg != NULL)
		log_error("%s", msg);
	run->status = status;
	pump_stop(run->pump, status);
}

/* Resolve -s/-p into a source address of FAMILY, or NULL when not given. */
static int
connect_source(const struct sockt_opts *o, int family, struct addrinfo **src,
    char **errp)
{
	uint16_t port = 0;

	*src = NULL;
	if (o->source == NULL && o->port == NULL)
		return 0;
	if (o->port != NULL && addr_parse_port(o->port, "tcp", &port, errp)
	    == -1)
		return -1;
	return addr_resolve(o->source, o->port ? o->port : "0", family,
	    SOCK_STREAM, AI_PASSIVE | (o->numeric ? AI_NUMERICHOST : 0), src,
	    errp);
}

/* Connect as the options say; returns the fd or -1 with *errp. */
static int
connect_open(struct sockt_opts *o, struct addr_endpoint *ep, char *peer,
    size_t peerlen, char **errp)
{
	struct addrinfo *res = NULL, *src = NULL;
	int fd = -1, flags = o->numeric ? AI_NUMERICHOST : 0;

	if (o->unix_socket) {
		strlcpy(peer, o->argv[0], peerlen);
		return sock_connect_unix(o->argv[0], SOCK_STREAM, o->timeout_ms,
		    errp);
	}
	if (addr_resolve(ep->host, ep->port, o->family, SOCK_STREAM, flags,
	    &res, errp) == -1)
		goto out;
	if (connect_source(o, o->family, &src, errp) == -1)
		goto out;
	fd = sock_connect_timeout(res, src, SOCK_STREAM, o->timeout_ms, errp);
	if (fd != -1) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;

		if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
			addr_format((struct sockaddr *)&ss, len, peer, peerlen);
	}
out:
	if (res != NULL)
		freeaddrinfo(res);
	if (src != NULL)
		freeaddrinfo(src);
	return fd;
}

static int
cmd_connect_exec(struct sockt_opts *o)
{
	struct connect_run run = { .status = 1 };
	struct addr_endpoint ep = { NULL, NULL };
	struct session_ctx ctx;
	char peer[ADDR_STRLEN + 108], *err = NULL;
	uint16_t port = 0;
	int fd, sig;

	if (o->unix_socket) {
		if (o->argc != 1)
			return cmd_usage_error(o, log_fmt(o->argc == 0 ?
			    "missing PATH" : "too many arguments: '%s'",
			    o->argv[o->argc > 1 ? 1 : 0]));
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
	fd = connect_open(o, &ep, peer, sizeof peer, &err);
	addr_endpoint_free(&ep);
	if (fd == -1)
		return cmd_fail(err);
	log_info(1, "connected to %s", peer);

	run.pump = pump_new();
	if (run.pump == NULL || session_ctx_open(&ctx, run.pump, o, &err)
	    == -1) {
		close(fd);
		pump_free(run.pump);
		return cmd_fail(err ? err : log_fmt("out of resources"));
	}
	if (session_start(&ctx, fd, peer, connect_done, &run) == NULL) {
		close(fd);
		run.status = cmd_fail(log_fmt("out of memory"));
	} else
		run.status = pump_run(run.pump);
	sig = pump_caught_signal(run.pump);
	session_ctx_close(&ctx);
	pump_free(run.pump);
	cmd_die_by_signal(sig);
	return run.status;
}
