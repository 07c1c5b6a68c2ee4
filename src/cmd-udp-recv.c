/*
 * cmd-udp-recv.c - "sockt udp-recv": bind a UDP port (or a Unix datagram
 * socket), write each datagram from any number of senders to stdout
 * whole, optionally prefixed with its sender or echoed back to it, and
 * send stdin lines to the most recent sender.
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
#include "cmd-util.h"
#include "dgram.h"
#include "log.h"
#include "sock.h"
#include "session.h"
#include "udp.h"

static const enum opt_id udp_recv_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_UNIX, OPT_NUMERIC, OPT_VERBOSE, OPT_PORT,
	OPT_TIMEOUT, OPT_IDLE, OPT_QUIT, OPT_NOSTDIN, OPT_ALLOW, OPT_DENY,
	OPT_PORT_FILE, OPT_HEXDUMP, OPT_OUTPUT, OPT_JOIN, OPT_IFACE,
	OPT_COUNT, OPT_PEER, OPT_ECHO, OPT_RCVBUF,
	OPT_END
};

static int	cmd_udp_recv_exec(struct sockt_opts *);

static const struct cmd_help udp_recv_help[] = {
	{ OPT_PORT, "the port to listen on" },
	{ OPT_TIMEOUT, "exit 1 if no datagram arrives within SECS" },
	{ OPT_QUIT, "quit SECS after stdin EOF" },
	{ OPT_COUNT, "exit after N datagrams" },
	{ OPT_IDLE, "exit 1 after SECS without traffic" },
	{ OPT_OUTPUT, "also write the datagrams to FILE" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_udp_recv_entry = {
	.name = "udp-recv",
	.summary = "receive datagrams from any sender and write them to stdout",
	.usage = "[options] [--join GROUP] [--count N] [--peer] [--echo] "
	    "[ADDRESS] PORT | -p PORT | -U PATH",
	.options = udp_recv_options,
	.help = udp_recv_help,
	.args = { 0, 2, 1, "PORT" },
	.examples = {
		"sockt udp-recv --echo --peer 9999",
		"sockt udp-recv --count 1 -w 5 127.0.0.1 5000 > datagram",
		"sockt udp-recv --peer --join 239.1.2.3 --iface eth0 5000",
	},
	.exec = cmd_udp_recv_exec,
};

/*
 * Bind the sockets the arguments name and join --join's group on them.
 * Returns -1 with *errp; *USAGE says the error is the user's.
 */
static int
recv_open(const struct sockt_opts *o, struct sock_listeners *ls, bool *usage,
    char **errp)
{
	struct addr_endpoint ep = { NULL, NULL };
	struct sockaddr_storage group;
	unsigned ifindex = 0;
	int family = o->family, flags = o->numeric ? AI_NUMERICHOST : 0;
	int r = -1;
	uint16_t port;
	size_t i;

	*usage = true;
	if (o->unix_socket) {
		/* cmd_check_args() checked the PATH; opts_validate() refused
		 * -U with --allow/--deny */
		*usage = false;
		return sock_listen_unix(o->argv[0], SOCK_DGRAM, ls, errp);
	}
	if (o->iface != NULL && o->join == NULL) {
		*errp = log_fmt("--iface needs --join");
		return -1;
	}
	if (o->join != NULL) {
		if (dgram_parse_group(o->join, &group, errp) == -1)
			return -1;
		if (family != AF_UNSPEC && family != group.ss_family) {
			*errp = log_fmt("cannot join %s group %s with -%c",
			    dgram_family_name(group.ss_family), o->join,
			    family == AF_INET ? '4' : '6');
			return -1;
		}
		family = group.ss_family;
	}
	if (addr_parse_endpoint(o->argc, o->argv, ADDR_LISTEN, o->port, &ep,
	    errp) == -1 || addr_parse_port(ep.port, "udp", &port, errp) == -1)
		goto out;
	*usage = false;
	if (o->iface != NULL &&
	    dgram_iface_index(o->iface, &ifindex, errp) == -1)
		goto out;
	if (dgram_bind(ep.host, ep.port, family, flags, ls, errp) == -1)
		goto out;
	for (i = 0; o->join != NULL && i < ls->nfds; i++) {
		if (dgram_join(ls->fds[i], (struct sockaddr *)&group,
		    ifindex) == -1) {
			*errp = log_fmt("--join %s: %s", o->join,
			    strerror(errno));
			sock_listeners_close(ls);
			goto out;
		}
	}
	if (o->join != NULL)
		log_info(1, "joined %s%s%s", o->join, o->iface ? " on " : "",
		    o->iface ? o->iface : "");
	r = 0;
out:
	addr_endpoint_free(&ep);
	return r;
}

/* --rcvbuf on every socket; say so when the kernel gives less. */
static int
recv_rcvbuf(const struct sockt_opts *o, const struct sock_listeners *ls,
    char **errp)
{
	size_t i;
	int got = 0;

	for (i = 0; o->rcvbuf > 0 && i < ls->nfds; i++) {
		if (dgram_set_rcvbuf(ls->fds[i], (int)o->rcvbuf, &got) ==
		    -1) {
			*errp = log_fmt("--rcvbuf %lld: %s", o->rcvbuf,
			    strerror(errno));
			return -1;
		}
	}
	if (o->rcvbuf > 0 && got < o->rcvbuf)
		log_error("--rcvbuf %lld: the kernel allows %d bytes "
		    "(net.core.rmem_max)", o->rcvbuf, got);
	else if (o->rcvbuf > 0)
		log_info(1, "receive buffer: %d bytes", got);
	return 0;
}

static int
cmd_udp_recv_exec(struct sockt_opts *o)
{
	struct session_spec ss;
	struct sock_listeners ls;
	struct udp_spec spec;
	struct udp_result res;
	struct udp *u;
	char *err = NULL;
	bool usage;

	if (recv_open(o, &ls, &usage, &err) == -1)
		return usage ? cmd_usage_error(o, err) : cmd_fail(err);
	if (recv_rcvbuf(o, &ls, &err) == -1) {
		sock_listeners_close(&ls);
		return cmd_fail(err);
	}
	memset(&spec, 0, sizeof spec);
	spec.role = UDP_RECEIVER;
	spec.fds = ls.fds;
	spec.nfds = ls.nfds;
	spec.split = FEED_LINES;
	spec.max = DGRAM_MAX;
	spec.count = o->count;
	spec.first_ms = o->timeout_ms;
	spec.idle_ms = o->idle_ms;
	spec.quit_ms = o->quit_ms;
	spec.peer = o->peer;
	spec.echo = o->echo;
	spec.acl = &o->acl;
	if ((u = udp_new(cmd_session_spec(o, &ss), &spec, &err)) == NULL ||
	    cmd_report_listening(o, &ls, o->unix_socket ? o->argv[0] : NULL,
	    &err) == -1) {
		udp_free(u);
		sock_listeners_close(&ls);
		return cmd_fail(err);
	}
	udp_run(u, &res);
	udp_free(u);
	if (res.error != NULL)
		log_error("%s", res.error);
	free(res.error);
	log_info(1, "received %llu datagrams (%llu bytes)",
	    (unsigned long long)res.received,
	    (unsigned long long)res.received_bytes);
	sock_listeners_close(&ls);
	cmd_die_by_signal(res.sig);
	return res.status;
}
