/*
 * cmd-udp-send.c - "sockt udp-send": send stdin to HOST PORT, or to a
 * Unix datagram socket, as datagrams (one per line, fixed-size chunks, or
 * all of it as one) and print the replies on stdout.
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
#include "session.h"
#include "udp.h"

#define SEND_QUIT_DEFAULT_MS	1000	/* wait for replies after stdin EOF */

static const enum opt_id udp_send_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_UNIX, OPT_NUMERIC, OPT_VERBOSE, OPT_SOURCE,
	OPT_PORT, OPT_IDLE, OPT_QUIT, OPT_HEXDUMP, OPT_OUTPUT, OPT_BROADCAST,
	OPT_TTL, OPT_WHOLE, OPT_SIZE, OPT_IFACE, OPT_COUNT,
	OPT_END
};

static int	cmd_udp_send_exec(struct sockt_opts *);

static const struct cmd_help udp_send_help[] = {
	{ OPT_PORT, "source port" },
	{ OPT_QUIT, "after stdin EOF, wait SECS for replies (default 1)" },
	{ OPT_COUNT, "exit after N replies" },
	{ OPT_IDLE, "exit 1 after SECS without traffic" },
	{ OPT_OUTPUT, "also write the replies to FILE" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_udp_send_entry = {
	.name = "udp-send",
	.summary = "send stdin as datagrams (one per line) and print replies",
	.usage = "[options] [--broadcast] [--ttl N] [--whole | --size N] "
	    "HOST PORT | -U PATH",
	.options = udp_send_options,
	.help = udp_send_help,
	.args = { 1, 2, 1, "HOST and PORT" },
	.examples = {
		"sockt udp-send -q 0 127.0.0.1 8125 < stats",
		"sockt udp-send --whole 127.0.0.1 9999 < packet.bin",
		"sockt udp-send --count 1 -q 5 127.0.0.1 9999 < question",
	},
	.exec = cmd_udp_send_exec,
};

/* Where the datagrams go, and the socket they go out of. */
struct send_target {
	const struct sockt_opts	*o;
	int			 family;
	struct sockaddr_storage	 dest;		/* unconnected: the target */
	socklen_t		 destlen;	/* 0: the socket is connected */
	char			 name[ADDR_NAMELEN];
	char			*bound;		/* our Unix socket's path */
};

/* Socket options for a datagram socket toward SA; -1 with *errp. */
static int
send_setup(struct send_target *t, int fd, const struct sockaddr *sa,
    unsigned ifindex, char **errp)
{
	const struct sockt_opts *o = t->o;
	const char *what = NULL;

	if (o->broadcast && dgram_set_broadcast(fd) == -1)
		what = "--broadcast";
	else if (o->ttl > 0 &&
	    dgram_set_ttl(fd, sa->sa_family, o->ttl) == -1)
		what = "--ttl";
	else if (o->iface != NULL &&
	    dgram_set_multicast_iface(fd, sa->sa_family, ifindex) == -1)
		what = "--iface";
	if (what == NULL)
		return 0;
	*errp = log_fmt("%s: %s", what, strerror(errno));
	return -1;
}

/*
 * A socket for the first usable address of RES: bound to SRC when given,
 * connected unless the target is broadcast (--broadcast) or multicast,
 * where replies come from other addresses than the one sent to.  Returns
 * the fd or -1 with *errp; *USAGE says the error is the user's.
 */
static int
send_socket(struct send_target *t, const struct addrinfo *res,
    const struct addrinfo *src, bool *usage, char **errp)
{
	const struct sockt_opts *o = t->o;
	const struct addrinfo *ai;
	char where[ADDR_NAMELEN];
	unsigned ifindex = 0;
	bool group;
	int fd;

	*errp = NULL;
	if (o->iface != NULL &&
	    dgram_iface_index(o->iface, &ifindex, errp) == -1)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (src != NULL && src->ai_family != ai->ai_family)
			continue;
		group = dgram_is_multicast(ai->ai_addr);
		if (o->iface != NULL && !group) {
			free(*errp);
			*errp = log_fmt("--iface applies to a multicast "
			    "destination only");
			*usage = true;
			return -1;
		}
		free(*errp);
		*errp = NULL;
		addr_format(ai->ai_addr, ai->ai_addrlen, t->name,
		    sizeof t->name);
		fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			*errp = log_fmt("socket: %s", strerror(errno));
			continue;
		}
		if (send_setup(t, fd, ai->ai_addr, ifindex, errp) == -1) {
			close(fd);
			continue;
		}
		if (src != NULL && bind(fd, src->ai_addr, src->ai_addrlen) ==
		    -1) {
			*errp = log_fmt("bind %s: %s", addr_format(src->ai_addr,
			    src->ai_addrlen, where, sizeof where),
			    strerror(errno));
			close(fd);
			continue;
		}
		if (o->broadcast || group) {
			memcpy(&t->dest, ai->ai_addr, ai->ai_addrlen);
			t->destlen = ai->ai_addrlen;
		} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
			*errp = log_fmt("send %s: %s%s", t->name,
			    strerror(errno), errno == EACCES ? " (a broadcast "
			    "address needs --broadcast)" : "");
			close(fd);
			continue;
		}
		t->family = ai->ai_family;
		return fd;
	}
	if (*errp == NULL)
		*errp = log_fmt("%s: no address matches the source address "
		    "family", o->argv[0]);
	return -1;
}

/* Parse the endpoint and open the socket; -1 with *errp and *USAGE. */
static int
send_open(struct send_target *t, bool *usage, char **errp)
{
	const struct sockt_opts *o = t->o;
	struct addr_endpoint ep = { NULL, NULL };
	struct addrinfo *res = NULL, *src = NULL;
	int fd = -1, flags = o->numeric ? AI_NUMERICHOST : 0;
	uint16_t port;

	*usage = true;
	if (o->unix_socket) {
		/* cmd_check_args() checked the PATH */
		*usage = false;
		fd = dgram_unix_client(o->argv[0], &t->bound, errp);
		if (fd == -1)
			return -1;
		t->family = AF_UNIX;
		strlcpy(t->name, o->argv[0], sizeof t->name);
		log_info(1, "bound to %s", t->bound);
		return fd;
	}
	if (addr_parse_endpoint(o->argc, o->argv, ADDR_CONNECT, NULL, &ep,
	    errp) == -1 || addr_parse_port(ep.port, "udp", &port, errp) == -1)
		goto out;
	if (port == 0) {
		*errp = log_fmt("bad port '0': cannot send to port 0");
		goto out;
	}
	if (o->port != NULL && addr_parse_port(o->port, "udp", &port, errp) ==
	    -1)
		goto out;
	*usage = false;
	if (addr_resolve(ep.host, ep.port, o->family, SOCK_DGRAM, flags, &res,
	    errp) == -1)
		goto out;
	if ((o->source != NULL || o->port != NULL) &&
	    addr_resolve(o->source, o->port ? o->port : "0", o->family,
	    SOCK_DGRAM, AI_PASSIVE | flags, &src, errp) == -1)
		goto out;
	fd = send_socket(t, res, src, usage, errp);
out:
	if (res != NULL)
		freeaddrinfo(res);
	if (src != NULL)
		freeaddrinfo(src);
	addr_endpoint_free(&ep);
	return fd;
}

/*
 * The run: stdin to the target, replies to stdout.  Returns the exit
 * status, or sets *SIG to the signal to die by.
 */
static int
send_run(struct sockt_opts *o, struct send_target *t, int fd, int *sig)
{
	struct session_spec ss;
	struct udp_spec spec;
	struct udp_result res;
	struct udp *u;
	char *err = NULL;

	memset(&spec, 0, sizeof spec);
	spec.role = UDP_SENDER;
	spec.fds = &fd;
	spec.nfds = 1;
	spec.target = t->name;
	spec.dest = t->destlen ? (struct sockaddr *)&t->dest : NULL;
	spec.destlen = t->destlen;
	spec.broadcast = o->broadcast;
	spec.family = t->family;
	spec.split = o->whole ? FEED_WHOLE : o->size > 0 ? FEED_SIZE :
	    FEED_LINES;
	spec.size = (size_t)o->size;
	spec.max = dgram_max_payload(t->family);
	spec.count = o->count;
	spec.first_ms = -1;
	spec.idle_ms = o->idle_ms;
	spec.quit_ms = o->given[OPT_QUIT] ? o->quit_ms : SEND_QUIT_DEFAULT_MS;
	if ((u = udp_new(cmd_session_spec(o, &ss), &spec, &err)) == NULL)
		return cmd_fail(err);
	udp_run(u, &res);
	udp_free(u);
	if (res.error != NULL)
		log_error("%s", res.error);
	free(res.error);
	log_info(1, "sent %llu datagrams (%llu bytes), received %llu "
	    "(%llu bytes)", (unsigned long long)res.sent,
	    (unsigned long long)res.sent_bytes,
	    (unsigned long long)res.received,
	    (unsigned long long)res.received_bytes);
	*sig = res.sig;
	return res.status;
}

static int
cmd_udp_send_exec(struct sockt_opts *o)
{
	struct send_target t;
	char *err = NULL;
	bool usage;
	int fd, status, sig = 0;

	memset(&t, 0, sizeof t);
	t.o = o;
	fd = send_open(&t, &usage, &err);
	if (fd == -1)
		return usage ? cmd_usage_error(o, err) : cmd_fail(err);
	if (o->size > 0 && (size_t)o->size > dgram_max_payload(t.family))
		status = cmd_usage_error(o, log_fmt("bad --size %lld: one "
		    "%s datagram holds at most %zu bytes", o->size,
		    dgram_family_name(t.family), dgram_max_payload(t.family)));
	else {
		log_info(1, "sending to %s", t.name);
		status = send_run(o, &t, fd, &sig);
	}
	close(fd);
	if (t.bound != NULL) {
		unlink(t.bound);
		free(t.bound);
	}
	cmd_die_by_signal(sig);
	return status;
}
