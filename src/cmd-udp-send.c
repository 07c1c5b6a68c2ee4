/*
 * cmd-udp-send.c - "sockt udp-send": send stdin to HOST PORT, or to a
 * Unix datagram socket, as datagrams (one per line, fixed-size chunks, or
 * all of it as one) and print the replies on stdout.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "cmd-util.h"
#include "log.h"
#include "loop.h"
#include "relay.h"
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
	.exec = cmd_udp_send_exec,
};

struct send_run {
	struct sockt_opts	*o;
	struct loop		*loop;
	struct session_ctx	 ctx;
	struct session_spec	 spec;
	int			 fd;
	int			 family;
	struct sockaddr_storage	 dest;		/* unconnected: the target */
	socklen_t		 destlen;	/* 0: the socket is connected */
	char			 name[ADDR_NAMELEN];
	char			*bound;		/* our Unix socket's path */
	struct udp_feed		 feed;
	struct udp_rx		 rx;
	struct udp_out		 out;
	bool			 feeding;	/* stdin is watched */
	bool			 receiving;	/* the socket is watched */
	bool			 writing;	/* waiting for the socket */
	bool			 blocked;	/* the socket took no more */
	bool			 all_sent;
	bool			 finishing;
	struct loop_timer	 quit;
	struct loop_timer	 idle;
	int			 quit_ms;
	uint64_t		 active;
	uint64_t		 sent;
	uint64_t		 sent_bytes;
	uint64_t		 replies;
	uint64_t		 reply_bytes;
	int			 status;
	int			 sig;
};

static void	send_watch(struct send_run *);
static void	send_readable(struct loop *, int, void *);
static void	send_writable(struct loop *, int, void *);
static void	send_stdin(struct loop *, int, void *);

/*
 * End with STATUS once stdout has taken what was received.  MSG, when
 * given, is the error to report (only the first one counts).
 */
static void
send_finish(struct send_run *run, int status, char *msg)
{
	if (!run->finishing) {
		run->finishing = true;
		run->status = status;
		if (msg != NULL)
			log_error("%s", msg);
	}
	free(msg);
	loop_timer_disarm(run->loop, &run->quit);
	loop_timer_disarm(run->loop, &run->idle);
	send_watch(run);
	if (!udp_out_busy(&run->out))
		loop_stop(run->loop, run->status);
}

/* A socket error: "send DEST: reason", with a hint where one helps. */
static void
send_fail(struct send_run *run, int err)
{
	send_finish(run, 1, log_fmt("send %s: %s%s", run->name, strerror(err),
	    err == EACCES && !run->o->broadcast ? " (a broadcast address "
	    "needs --broadcast)" : ""));
}

/* Bring the poll interest in line with the state. */
static void
send_watch(struct send_run *run)
{
	const struct sockt_opts *o = run->o;
	bool feed, recv, write;

	feed = !run->finishing && !run->blocked && run->feed.fd != -1 &&
	    udp_feed_room(&run->feed);
	recv = !run->finishing && !udp_out_busy(&run->out) &&
	    (o->count == 0 || run->replies < (uint64_t)o->count);
	write = !run->finishing && run->blocked;
	if (feed != run->feeding) {
		if (feed)
			loop_want_read(run->loop, run->feed.fd, send_stdin,
			    run);
		else
			loop_cancel_read(run->loop, run->feed.fd);
		run->feeding = feed;
	}
	if (recv != run->receiving) {
		if (recv)
			loop_want_read(run->loop, run->fd, send_readable, run);
		else
			loop_cancel_read(run->loop, run->fd);
		run->receiving = recv;
	}
	if (write != run->writing) {
		if (write)
			loop_want_write(run->loop, run->fd, send_writable, run);
		else
			loop_cancel_write(run->loop, run->fd);
		run->writing = write;
	}
}

/* Everything stdin held has been sent: wait -q for replies. */
static void
send_all_sent(struct send_run *run)
{
	const struct sockt_opts *o = run->o;

	run->all_sent = true;
	log_info(1, "stdin sent: %llu datagrams (%llu bytes) to %s",
	    (unsigned long long)run->sent,
	    (unsigned long long)run->sent_bytes, run->name);
	if (o->count > 0 && run->replies >= (uint64_t)o->count) {
		send_finish(run, 0, NULL);
		return;
	}
	loop_timer_arm(run->loop, &run->quit, loop_now() +
	    (uint64_t)run->quit_ms);
}

/* The datagram that does not fit: a usage error under --whole. */
static void
send_too_big(struct send_run *run)
{
	size_t max = udp_max_payload(run->family);
	const char *fam = udp_family_name(run->family);

	if (run->feed.mode == UDP_SPLIT_WHOLE)
		send_finish(run, 2, log_fmt("stdin is larger than %zu bytes, "
		    "the most one %s datagram holds (--whole)", max, fam));
	else
		send_finish(run, 1, log_fmt("a line of stdin is longer than "
		    "%zu bytes, the most one %s datagram holds (see --size)",
		    max, fam));
}

/* Send the complete datagrams stdin has given, in batches. */
static void
send_flush(struct send_run *run)
{
	struct udp_dgram d[UDP_BATCH];
	int i, k, n;

	run->blocked = false;
	for (;;) {
		k = udp_feed_next(&run->feed, d, UDP_BATCH);
		if (k == -1) {
			send_too_big(run);
			return;
		}
		if (k == 0)
			break;
		for (i = 0; run->destlen != 0 && i < k; i++) {
			d[i].to = (struct sockaddr *)&run->dest;
			d[i].tolen = run->destlen;
		}
		n = udp_send_batch(run->fd, d, (size_t)k);
		if (n == -1) {
			send_fail(run, errno);
			return;
		}
		if (n == 0) {
			run->blocked = true;
			break;
		}
		for (i = 0; i < n; i++) {
			log_tap_data(&run->ctx.tap, LOG_SENT, d[i].data,
			    d[i].len);
			run->sent_bytes += d[i].len;
		}
		run->sent += (uint64_t)n;
		run->active = loop_now();
		udp_feed_consume(&run->feed, d, (size_t)n);
	}
	if (!run->blocked && !run->all_sent && udp_feed_done(&run->feed))
		send_all_sent(run);
	send_watch(run);
}

static void
send_stdin(struct loop *p, int fd, void *arg)
{
	struct send_run *run = arg;

	(void)p;
	(void)fd;
	if (udp_feed_fill(&run->feed) == -1) {
		if (errno != EAGAIN)
			send_finish(run, 1, log_fmt("read from stdin: %s",
			    strerror(errno)));
		return;
	}
	send_flush(run);
}

static void
send_writable(struct loop *p, int fd, void *arg)
{
	(void)p;
	(void)fd;
	send_flush(arg);
}

/* Replies: each datagram's payload to stdout, unchanged. */
static void
send_readable(struct loop *p, int fd, void *arg)
{
	struct send_run *run = arg;
	const struct sockt_opts *o = run->o;
	struct iovec iov[UDP_BATCH];
	char from[ADDR_NAMELEN];
	const struct sockaddr *sa;
	socklen_t salen;
	size_t max, len;
	int i, n, rounds;
	char *msg;

	(void)p;
	for (rounds = 0; rounds < 16 && run->receiving; rounds++) {
		max = UDP_BATCH;
		if (o->count > 0 && (uint64_t)o->count - run->replies < max)
			max = (size_t)((uint64_t)o->count - run->replies);
		n = udp_rx_recv(&run->rx, fd, max);
		if (n == 0)
			break;
		if (n == -1) {
			send_fail(run, errno);
			return;
		}
		msg = NULL;
		for (i = 0; i < n; i++) {
			len = udp_rx_len(&run->rx, (size_t)i);
			if (udp_rx_truncated(&run->rx, (size_t)i)) {
				sa = udp_rx_from(&run->rx, (size_t)i, &salen);
				if (salen == 0)
					strlcpy(from, run->name, sizeof from);
				else
					addr_format(sa, salen, from,
					    sizeof from);
				msg = log_fmt("reply from %s: %zu bytes, "
				    "larger than the %d-byte buffer: "
				    "not written", from, len, UDP_DGRAM_MAX);
				break;
			}
			iov[i].iov_base = (void *)udp_rx_data(&run->rx,
			    (size_t)i);
			iov[i].iov_len = len;
			log_tap_data(&run->ctx.tap, LOG_RECEIVED,
			    iov[i].iov_base, len);
			run->reply_bytes += len;
		}
		run->replies += (uint64_t)i;
		run->active = loop_now();
		if (udp_out_writev(&run->out, iov, i) == -1) {
			if (errno == EPIPE) {
				run->sig = SIGPIPE;
				loop_stop(run->loop, 128 + SIGPIPE);
				free(msg);
				return;
			}
			free(msg);
			send_finish(run, 1, log_fmt("write to stdout: %s",
			    strerror(errno)));
			return;
		}
		if (msg == NULL && run->ctx.tap.error != 0)
			msg = log_fmt("write to %s: %s", o->output,
			    strerror(run->ctx.tap.error));
		if (msg != NULL) {
			send_finish(run, 1, msg);
			return;
		}
		if (o->count > 0 && run->replies >= (uint64_t)o->count &&
		    run->all_sent) {
			send_finish(run, 0, NULL);
			return;
		}
		send_watch(run);
	}
}

/* stdout took the queue (ERR 0) or failed. */
static void
send_out_done(void *arg, int err)
{
	struct send_run *run = arg;

	if (err == EPIPE) {
		run->sig = SIGPIPE;
		loop_stop(run->loop, 128 + SIGPIPE);
		return;
	}
	if (err != 0) {
		send_finish(run, 1, log_fmt("write to stdout: %s",
		    strerror(err)));
		return;
	}
	if (run->finishing)
		loop_stop(run->loop, run->status);
	else
		send_watch(run);
}

/* -q passed after stdin was sent: done, unless --count replies are due. */
static void
send_quit(struct loop *p, void *arg)
{
	struct send_run *run = arg;
	const struct sockt_opts *o = run->o;
	socklen_t len = sizeof(int);
	int err = 0;

	(void)p;
	if (run->destlen == 0 && getsockopt(run->fd, SOL_SOCKET, SO_ERROR,
	    &err, &len) == 0 && err != 0) {
		send_fail(run, err);
		return;
	}
	if (o->count > 0 && run->replies < (uint64_t)o->count) {
		send_finish(run, 1, log_fmt("%llu of %lld replies arrived "
		    "within -q %d.%03d s", (unsigned long long)run->replies,
		    o->count, run->quit_ms / 1000, run->quit_ms % 1000));
		return;
	}
	send_finish(run, 0, NULL);
}

static void
send_idle(struct loop *p, void *arg)
{
	struct send_run *run = arg;
	uint64_t deadline = run->active + (uint64_t)run->o->idle_ms;

	if (loop_now() < deadline) {
		loop_timer_arm(p, &run->idle, deadline);
		return;
	}
	send_finish(run, 1, log_fmt("idle timeout: no traffic for %d.%03d s",
	    run->o->idle_ms / 1000, run->o->idle_ms % 1000));
}

/* Socket options for a datagram socket toward SA; -1 with *errp. */
static int
send_setup(struct send_run *run, int fd, const struct sockaddr *sa,
    unsigned ifindex, char **errp)
{
	const struct sockt_opts *o = run->o;
	const char *what = NULL;

	if (o->broadcast && udp_set_broadcast(fd) == -1)
		what = "--broadcast";
	else if (o->ttl > 0 && udp_set_ttl(fd, sa->sa_family, o->ttl) == -1)
		what = "--ttl";
	else if (o->iface != NULL && udp_set_multicast_iface(fd, sa->sa_family,
	    ifindex) == -1)
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
send_socket(struct send_run *run, const struct addrinfo *res,
    const struct addrinfo *src, bool *usage, char **errp)
{
	const struct sockt_opts *o = run->o;
	const struct addrinfo *ai;
	char where[ADDR_NAMELEN];
	unsigned ifindex = 0;
	bool group;
	int fd;

	*errp = NULL;
	if (o->iface != NULL && udp_iface_index(o->iface, &ifindex, errp) == -1)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (src != NULL && src->ai_family != ai->ai_family)
			continue;
		group = udp_is_multicast(ai->ai_addr);
		if (o->iface != NULL && !group) {
			free(*errp);
			*errp = log_fmt("--iface applies to a multicast "
			    "destination only");
			*usage = true;
			return -1;
		}
		free(*errp);
		*errp = NULL;
		addr_format(ai->ai_addr, ai->ai_addrlen, run->name,
		    sizeof run->name);
		fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			*errp = log_fmt("socket: %s", strerror(errno));
			continue;
		}
		if (send_setup(run, fd, ai->ai_addr, ifindex, errp) == -1) {
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
			memcpy(&run->dest, ai->ai_addr, ai->ai_addrlen);
			run->destlen = ai->ai_addrlen;
		} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
			*errp = log_fmt("send %s: %s%s", run->name,
			    strerror(errno), errno == EACCES ? " (a broadcast "
			    "address needs --broadcast)" : "");
			close(fd);
			continue;
		}
		run->family = ai->ai_family;
		return fd;
	}
	if (*errp == NULL)
		*errp = log_fmt("%s: no address matches the source address "
		    "family", o->argv[0]);
	return -1;
}

/* Parse the endpoint and open the socket; -1 with *errp and *USAGE. */
static int
send_open(struct send_run *run, bool *usage, char **errp)
{
	struct sockt_opts *o = run->o;
	struct addr_endpoint ep = { NULL, NULL };
	struct addrinfo *res = NULL, *src = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd = -1, flags = o->numeric ? AI_NUMERICHOST : 0;
	uint16_t port;

	*usage = true;
	if (o->unix_socket) {
		if (o->argc != 1) {
			*errp = log_fmt(o->argc == 0 ? "missing PATH" :
			    "too many arguments: '%s'", o->argv[o->argc > 1]);
			return -1;
		}
		if (addr_unix(o->argv[0], &ss, &sslen, errp) == -1)
			return -1;	/* a bad path is the user's error */
		*usage = false;
		fd = udp_unix_client(o->argv[0], &run->bound, errp);
		if (fd == -1)
			return -1;
		run->family = AF_UNIX;
		strlcpy(run->name, o->argv[0], sizeof run->name);
		log_info(1, "bound to %s", run->bound);
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
	fd = send_socket(run, res, src, usage, errp);
out:
	if (res != NULL)
		freeaddrinfo(res);
	if (src != NULL)
		freeaddrinfo(src);
	addr_endpoint_free(&ep);
	return fd;
}

static int
cmd_udp_send_exec(struct sockt_opts *o)
{
	struct send_run run;
	enum udp_split mode;
	char *err = NULL;
	bool usage;
	int sig;

	memset(&run, 0, sizeof run);
	run.o = o;
	run.ctx.in_fd = run.ctx.out_fd = -1;
	run.fd = send_open(&run, &usage, &err);
	if (run.fd == -1)
		return usage ? cmd_usage_error(o, err) : cmd_fail(err);
	if (o->size > 0 && (size_t)o->size > udp_max_payload(run.family)) {
		run.status = cmd_usage_error(o, log_fmt("bad --size %lld: one "
		    "%s datagram holds at most %zu bytes", o->size,
		    udp_family_name(run.family), udp_max_payload(run.family)));
		goto out;
	}
	log_info(1, "sending to %s", run.name);
	run.loop = loop_new();
	if (run.loop == NULL) {
		run.status = cmd_fail(log_fmt("loop: %s", strerror(errno)));
		goto out;
	}
	if (session_ctx_open(&run.ctx, run.loop, cmd_session_spec(o, &run.spec), &err) == -1) {
		run.status = cmd_fail(err);
		goto out;
	}
	if (udp_rx_init(&run.rx) == -1) {
		run.status = cmd_fail(log_fmt("out of memory"));
		goto out;
	}
	mode = o->whole ? UDP_SPLIT_WHOLE : o->size > 0 ? UDP_SPLIT_SIZE :
	    UDP_SPLIT_LINES;
	udp_feed_init(&run.feed, run.ctx.in_fd, run.ctx.in_kind, mode,
	    (size_t)o->size, udp_max_payload(run.family));
	udp_out_init(&run.out, run.loop, run.ctx.out_fd, run.ctx.out_kind,
	    send_out_done, &run);
	loop_timer_init(&run.quit, send_quit, &run);
	loop_timer_init(&run.idle, send_idle, &run);
	run.quit_ms = o->given[OPT_QUIT] ? o->quit_ms : SEND_QUIT_DEFAULT_MS;
	run.active = loop_now();
	if (o->idle_ms > 0)
		loop_timer_arm(run.loop, &run.idle, run.active +
		    (uint64_t)o->idle_ms);
	send_flush(&run);	/* no stdin at all: nothing to send */
	run.status = loop_run(run.loop);
	log_info(1, "sent %llu datagrams (%llu bytes), received %llu "
	    "(%llu bytes)", (unsigned long long)run.sent,
	    (unsigned long long)run.sent_bytes,
	    (unsigned long long)run.replies,
	    (unsigned long long)run.reply_bytes);
out:
	sig = run.sig ? run.sig : run.loop ? loop_caught_signal(run.loop) : 0;
	udp_out_free(&run.out);
	udp_feed_free(&run.feed);
	udp_rx_free(&run.rx);
	if (run.ctx.out_fd > STDERR_FILENO)
		close(run.ctx.out_fd);
	run.ctx.out_fd = -1;
	if (run.loop != NULL)
		session_ctx_close(&run.ctx);
	loop_free(run.loop);
	close(run.fd);
	if (run.bound != NULL) {
		unlink(run.bound);
		free(run.bound);
	}
	cmd_die_by_signal(sig);
	return run.status;
}
