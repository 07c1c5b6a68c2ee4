/*
 * cmd-udp-recv.c - "sockt udp-recv": bind a UDP port (or a Unix datagram
 * socket), write each datagram from any number of senders to stdout
 * whole, optionally prefixed with its sender or echoed back to it, and
 * send stdin lines to the most recent sender.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stddef.h>
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
#include "sock.h"
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
	.exec = cmd_udp_recv_exec,
};

#define RECV_NAME_LEN	ADDR_NAMELEN

/* A sender, as the socket it wrote to sees it. */
struct recv_peer {
	struct sockaddr_storage	 addr;
	socklen_t		 len;
	int			 fd;
	char			 name[RECV_NAME_LEN];
};

struct recv_run {
	struct sockt_opts	*o;
	struct loop		*loop;
	struct session_ctx	 ctx;
	struct session_spec	 spec;
	struct sock_listeners	 ls;
	bool			 writing[8];	/* per listener: POLLOUT */
	struct udp_rx		 rx;
	struct udp_out		 out;
	struct udp_feed		 feed;		/* stdin lines to the peer */
	struct recv_peer	 peer;		/* the most recent named one */
	bool			 have_peer;
	struct recv_peer	 last;		/* the previous sender (-v) */
	bool			 have_last;
	char			 prefix[UDP_BATCH][RECV_NAME_LEN + 1];
	struct udp_dgram	 echo[UDP_BATCH];
	struct udp_echo_limit	 echo_limit;	/* no echo loops */
	size_t			 necho;
	size_t			 echo_off;
	int			 echo_fd;
	bool			 receiving;
	bool			 feeding;
	bool			 feed_blocked;
	bool			 stdin_ended;
	bool			 finishing;
	struct loop_timer	 first;		/* -w */
	struct loop_timer	 idle;		/* -i */
	struct loop_timer	 quit;		/* -q */
	uint64_t		 active;
	uint64_t		 datagrams;
	uint64_t		 bytes;
	int			 status;
	int			 sig;
};

static void	recv_watch(struct recv_run *);
static void	recv_readable(struct loop *, int, void *);
static void	recv_writable(struct loop *, int, void *);
static void	recv_stdin(struct loop *, int, void *);

/* Nothing is left to deliver: the pump may stop. */
static void
recv_maybe_stop(struct recv_run *run)
{
	if (run->finishing && !udp_out_busy(&run->out) &&
	    run->echo_off >= run->necho)
		loop_stop(run->loop, run->status);
}

/*
 * End with STATUS once stdout and the echoes have taken what was
 * received.  MSG, when given, is the error to report (the first counts).
 */
static void
recv_finish(struct recv_run *run, int status, char *msg)
{
	if (!run->finishing) {
		run->finishing = true;
		run->status = status;
		if (msg != NULL)
			log_error("%s", msg);
	}
	free(msg);
	loop_timer_disarm(run->loop, &run->first);
	loop_timer_disarm(run->loop, &run->idle);
	loop_timer_disarm(run->loop, &run->quit);
	recv_watch(run);
	recv_maybe_stop(run);
}

/* Bring the poll interest in line with the state. */
static void
recv_watch(struct recv_run *run)
{
	const struct sockt_opts *o = run->o;
	bool recv, feed, write;
	size_t i;
	int fd;

	recv = !run->finishing && !udp_out_busy(&run->out) &&
	    run->echo_off >= run->necho &&
	    (o->count == 0 || run->datagrams < (uint64_t)o->count);
	feed = !run->finishing && run->have_peer && !run->feed_blocked &&
	    run->feed.fd != -1 && udp_feed_room(&run->feed);
	if (recv != run->receiving) {
		for (i = 0; i < run->ls.nfds; i++) {
			if (recv)
				loop_want_read(run->loop, run->ls.fds[i],
				    recv_readable, run);
			else
				loop_cancel_read(run->loop, run->ls.fds[i]);
		}
		run->receiving = recv;
	}
	if (feed != run->feeding) {
		if (feed)
			loop_want_read(run->loop, run->feed.fd, recv_stdin,
			    run);
		else
			loop_cancel_read(run->loop, run->feed.fd);
		run->feeding = feed;
	}
	for (i = 0; i < run->ls.nfds; i++) {
		fd = run->ls.fds[i];
		write = (run->echo_off < run->necho && run->echo_fd == fd) ||
		    (!run->finishing && run->feed_blocked &&
		    run->peer.fd == fd);
		if (write == run->writing[i])
			continue;
		if (write)
			loop_want_write(run->loop, fd, recv_writable, run);
		else
			loop_cancel_write(run->loop, fd);
		run->writing[i] = write;
	}
}

/* Does SA name a sender that can be answered? */
static bool
recv_named(const struct sockaddr *sa, socklen_t len)
{
	if (len == 0)
		return false;	/* an unbound Unix socket */
	if (sa->sa_family != AF_UNIX)
		return true;
	return len > offsetof(struct sockaddr_un, sun_path);
}

/* Send the pending echoes; a sender that is gone only misses its echo. */
static void
recv_echo_flush(struct recv_run *run)
{
	char name[RECV_NAME_LEN];
	const struct udp_dgram *d;
	int n, i;

	while (run->echo_off < run->necho) {
		d = &run->echo[run->echo_off];
		n = udp_send_batch(run->echo_fd, d, run->necho - run->echo_off);
		if (n == 0)
			break;
		if (n == -1) {
			log_info(1, "echo to %s: %s", addr_format(d->to,
			    d->tolen, name, sizeof name), strerror(errno));
			run->echo_off++;
			continue;
		}
		for (i = 0; i < n; i++)
			log_tap_data(&run->ctx.tap, LOG_SENT, d[i].data,
			    d[i].len);
		run->echo_off += (size_t)n;
	}
	if (run->echo_off >= run->necho)
		run->necho = run->echo_off = 0;
}

/*
 * Queue the echo of LEN bytes of DATA to SA (NAME in messages), unless
 * it could feed an echo loop (udp_echo_check()); refusals are reported
 * under -v once per sender (CHANGED: it is not the previous datagram's).
 */
static void
recv_echo_queue(struct recv_run *run, const struct sockaddr *sa,
    socklen_t salen, const char *data, size_t len, const char *name,
    bool changed)
{
	struct udp_dgram *d;

	switch (udp_echo_check(&run->echo_limit, sa, salen, loop_now())) {
	case UDP_ECHO_OK:
		d = &run->echo[run->necho++];
		d->data = data;
		d->len = len;
		d->to = sa;
		d->tolen = salen;
		break;
	case UDP_ECHO_LOOP_PORT:
		if (changed)
			log_info(1, "not echoing to %s: that port answers "
			    "every datagram (an echo loop)", name);
		break;
	case UDP_ECHO_OVER:
		log_info(1, "not echoing to %s: more than %d echoes at once "
		    "or %d a second (an echo loop?)", name, UDP_ECHO_BURST,
		    UDP_ECHO_RATE);
		break;
	case UDP_ECHO_STILL_OVER:
		break;
	}
}

/* stdin reached its end and all of it went out. */
static void
recv_stdin_ended(struct recv_run *run)
{
	run->stdin_ended = true;
	log_info(2, "stdin ended");
	if (run->o->quit_ms >= 0)
		loop_timer_arm(run->loop, &run->quit, loop_now() +
		    (uint64_t)run->o->quit_ms);
}

/* Send the complete stdin lines to the most recent sender. */
static void
recv_feed_flush(struct recv_run *run)
{
	struct udp_dgram d[UDP_BATCH];
	struct recv_peer *peer = &run->peer;
	int i, k, n;

	run->feed_blocked = false;
	for (;;) {
		k = udp_feed_next(&run->feed, d, UDP_BATCH);
		if (k == -1) {
			recv_finish(run, 1, log_fmt("a line of stdin is longer "
			    "than %d bytes, the most one datagram holds",
			    UDP_DGRAM_MAX));
			return;
		}
		if (k == 0)
			break;
		for (i = 0; i < k; i++) {
			d[i].to = (struct sockaddr *)&peer->addr;
			d[i].tolen = peer->len;
		}
		n = udp_send_batch(peer->fd, d, (size_t)k);
		if (n == -1) {
			recv_finish(run, 1, log_fmt("send %s: %s", peer->name,
			    strerror(errno)));
			return;
		}
		if (n == 0) {
			run->feed_blocked = true;
			break;
		}
		for (i = 0; i < n; i++)
			log_tap_data(&run->ctx.tap, LOG_SENT, d[i].data,
			    d[i].len);
		run->active = loop_now();
		udp_feed_consume(&run->feed, d, (size_t)n);
	}
	if (!run->feed_blocked && !run->stdin_ended &&
	    udp_feed_done(&run->feed))
		recv_stdin_ended(run);
	recv_watch(run);
}

static void
recv_stdin(struct loop *p, int fd, void *arg)
{
	struct recv_run *run = arg;

	(void)p;
	(void)fd;
	if (udp_feed_fill(&run->feed) == -1) {
		if (errno != EAGAIN)
			recv_finish(run, 1, log_fmt("read from stdin: %s",
			    strerror(errno)));
		return;
	}
	recv_feed_flush(run);
}

static void
recv_writable(struct loop *p, int fd, void *arg)
{
	struct recv_run *run = arg;

	(void)p;
	if (run->echo_off < run->necho && run->echo_fd == fd) {
		recv_echo_flush(run);
		recv_maybe_stop(run);
	}
	if (!run->finishing && run->feed_blocked && run->peer.fd == fd)
		recv_feed_flush(run);
	recv_watch(run);
}

/*
 * Is the sender of SA admitted, and who is it?  Returns its printable
 * name; *CHANGED says it is not the sender of the previous datagram, a
 * change logged under -v.
 */
static const char *
recv_sender(struct recv_run *run, int fd, const struct sockaddr *sa,
    socklen_t len, bool *admitted, bool *changed)
{
	struct recv_peer *last = &run->last;

	*admitted = addr_acl_admits(&run->o->acl, sa);
	*changed = !(run->have_last && last->len == len && last->fd == fd &&
	    memcmp(&last->addr, sa, len) == 0);
	if (!*changed)
		return last->name;
	run->have_last = true;
	memcpy(&last->addr, sa, len);
	last->len = len;
	last->fd = fd;
	if (recv_named(sa, len))
		addr_format(sa, len, last->name, sizeof last->name);
	else
		strlcpy(last->name, "(unnamed)", sizeof last->name);
	if (*admitted)
		log_info(1, "datagrams from %s", last->name);
	else
		log_info(1, "refused datagrams from %s: not allowed by "
		    "--allow/--deny", last->name);
	return last->name;
}

/* Write an error for a failed stdout; EPIPE dies by SIGPIPE. */
static void
recv_out_error(struct recv_run *run, int err)
{
	if (err == EPIPE) {
		run->sig = SIGPIPE;
		loop_stop(run->loop, 128 + SIGPIPE);
		return;
	}
	recv_finish(run, 1, log_fmt("write to stdout: %s", strerror(err)));
}

/*
 * Datagrams arrived on FD: each payload to stdout whole (after its sender
 * with --peer), echoed with --echo; the sender becomes the peer stdin
 * lines go to.
 */
static void
recv_readable(struct loop *p, int fd, void *arg)
{
	struct recv_run *run = arg;
	const struct sockt_opts *o = run->o;
	struct iovec iov[3 * UDP_BATCH];	/* name, data, newline */
	const struct sockaddr *sa;
	const char *name, *data;
	socklen_t salen;
	size_t i, len, max, prev;
	bool admitted, changed;
	int n, niov, rounds;
	char *msg;

	(void)p;
	for (rounds = 0; rounds < 16 && run->receiving; rounds++) {
		max = UDP_BATCH;
		if (o->count > 0 && (uint64_t)o->count - run->datagrams < max)
			max = (size_t)((uint64_t)o->count - run->datagrams);
		n = udp_rx_recv(&run->rx, fd, max);
		if (n == 0)
			return;
		if (n == -1) {
			recv_finish(run, 1, log_fmt("receive: %s",
			    strerror(errno)));
			return;
		}
		msg = NULL;
		niov = 0;
		prev = UDP_BATCH;	/* no name written in this batch yet */
		run->echo_fd = fd;
		for (i = 0; i < (size_t)n; i++) {
			sa = udp_rx_from(&run->rx, i, &salen);
			name = recv_sender(run, fd, sa, salen, &admitted,
			    &changed);
			if (!admitted)
				continue;
			len = udp_rx_len(&run->rx, i);
			if (udp_rx_truncated(&run->rx, i)) {
				msg = log_fmt("datagram from %s: %zu bytes, "
				    "larger than the %d-byte buffer: not "
				    "written", name, len, UDP_DGRAM_MAX);
				break;
			}
			log_info(2, "%zu bytes from %s", len, name);
			data = udp_rx_data(&run->rx, i);
			if (recv_named(sa, salen)) {
				memcpy(&run->peer.addr, sa, salen);
				run->peer.len = salen;
				run->peer.fd = fd;
				strlcpy(run->peer.name, name,
				    sizeof run->peer.name);
				run->have_peer = true;
			}
			if (o->peer) {
				/* "NAME\t", made once per run of datagrams */
				if (prev == UDP_BATCH || changed) {
					prev = i;
					snprintf(run->prefix[i],
					    sizeof run->prefix[i], "%s\t", name);
				}
				iov[niov].iov_base = run->prefix[prev];
				iov[niov++].iov_len = strlen(run->prefix[prev]);
			}
			iov[niov].iov_base = (void *)data;
			iov[niov++].iov_len = len;
			if (o->peer && (len == 0 || data[len - 1] != '\n')) {
				iov[niov].iov_base = "\n";
				iov[niov++].iov_len = 1;
			}
			log_tap_data(&run->ctx.tap, LOG_RECEIVED, data, len);
			if (o->echo && recv_named(sa, salen))
				recv_echo_queue(run, sa, salen, data, len, name,
				    changed);
			else if (o->echo)
				log_info(1, "cannot echo to %s: it has no "
				    "address", name);
			run->datagrams++;
			run->bytes += len;
			run->active = loop_now();
			loop_timer_disarm(run->loop, &run->first);
		}
		if (udp_out_writev(&run->out, iov, niov) == -1) {
			free(msg);
			recv_out_error(run, errno);
			return;
		}
		if (msg == NULL && run->ctx.tap.error != 0)
			msg = log_fmt("write to %s: %s", o->output,
			    strerror(run->ctx.tap.error));
		recv_echo_flush(run);
		if (msg != NULL) {
			recv_finish(run, 1, msg);
			return;
		}
		if (o->count > 0 && run->datagrams >= (uint64_t)o->count) {
			recv_finish(run, 0, NULL);
			return;
		}
		recv_watch(run);
	}
}

/* stdout took the queue (ERR 0) or failed. */
static void
recv_out_done(void *arg, int err)
{
	struct recv_run *run = arg;

	if (err != 0) {
		recv_out_error(run, err);
		return;
	}
	recv_maybe_stop(run);
	recv_watch(run);
}

static void
recv_first_timeout(struct loop *p, void *arg)
{
	struct recv_run *run = arg;

	(void)p;
	recv_finish(run, 1, log_fmt("no datagram within %d.%03d s (-w)",
	    run->o->timeout_ms / 1000, run->o->timeout_ms % 1000));
}

static void
recv_idle(struct loop *p, void *arg)
{
	struct recv_run *run = arg;
	uint64_t deadline = run->active + (uint64_t)run->o->idle_ms;

	if (loop_now() < deadline) {
		loop_timer_arm(p, &run->idle, deadline);
		return;
	}
	recv_finish(run, 1, log_fmt("idle timeout: no traffic for %d.%03d s",
	    run->o->idle_ms / 1000, run->o->idle_ms % 1000));
}

static void
recv_quit(struct loop *p, void *arg)
{
	(void)p;
	log_info(2, "-q: quitting after the end of stdin");
	recv_finish(arg, 0, NULL);
}

/*
 * Bind the sockets the arguments name and join --join's group on them.
 * Returns -1 with *errp; *USAGE says the error is the user's.
 */
static int
recv_open(struct recv_run *run, bool *usage, char **errp)
{
	struct sockt_opts *o = run->o;
	struct addr_endpoint ep = { NULL, NULL };
	struct sockaddr_storage group, path;
	unsigned ifindex = 0;
	socklen_t len;
	int family = o->family, flags = o->numeric ? AI_NUMERICHOST : 0;
	int r = -1;
	uint16_t port;
	size_t i;

	*usage = true;
	if (o->unix_socket) {
		/* -U with --allow/--deny was refused by opts_validate() */
		if (o->argc != 1) {
			*errp = log_fmt(o->argc == 0 ? "missing PATH" :
			    "too many arguments: '%s'", o->argv[o->argc > 1]);
			return -1;
		}
		if (addr_unix(o->argv[0], &path, &len, errp) == -1)
			return -1;	/* a bad path is the user's error */
		*usage = false;
		return sock_listen_unix(o->argv[0], SOCK_DGRAM, &run->ls, errp);
	}
	if (o->iface != NULL && o->join == NULL) {
		*errp = log_fmt("--iface needs --join");
		return -1;
	}
	if (o->join != NULL) {
		if (udp_parse_group(o->join, &group, errp) == -1)
			return -1;
		if (family != AF_UNSPEC && family != group.ss_family) {
			*errp = log_fmt("cannot join %s group %s with -%c",
			    udp_family_name(group.ss_family), o->join,
			    family == AF_INET ? '4' : '6');
			return -1;
		}
		family = group.ss_family;
	}
	if (addr_parse_endpoint(o->argc, o->argv, ADDR_LISTEN, o->port, &ep,
	    errp) == -1 || addr_parse_port(ep.port, "udp", &port, errp) == -1)
		goto out;
	*usage = false;
	if (o->iface != NULL && udp_iface_index(o->iface, &ifindex, errp) == -1)
		goto out;
	if (sock_listen_inet(ep.host, ep.port, family, SOCK_DGRAM, flags,
	    &run->ls, errp) == -1)
		goto out;
	for (i = 0; o->join != NULL && i < run->ls.nfds; i++) {
		if (udp_join(run->ls.fds[i], (struct sockaddr *)&group,
		    ifindex) == -1) {
			*errp = log_fmt("--join %s: %s", o->join,
			    strerror(errno));
			sock_listeners_close(&run->ls);
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
recv_rcvbuf(struct recv_run *run, char **errp)
{
	const struct sockt_opts *o = run->o;
	size_t i;
	int got = 0;

	for (i = 0; o->rcvbuf > 0 && i < run->ls.nfds; i++) {
		if (udp_set_rcvbuf(run->ls.fds[i], (int)o->rcvbuf, &got) ==
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
	struct recv_run run;
	char *err = NULL;
	bool usage;
	int sig;

	memset(&run, 0, sizeof run);
	run.o = o;
	run.ctx.in_fd = run.ctx.out_fd = -1;
	if (recv_open(&run, &usage, &err) == -1)
		return usage ? cmd_usage_error(o, err) : cmd_fail(err);
	if (recv_rcvbuf(&run, &err) == -1) {
		sock_listeners_close(&run.ls);
		return cmd_fail(err);
	}
	run.loop = loop_new();
	if (run.loop == NULL) {
		sock_listeners_close(&run.ls);
		return cmd_fail(log_fmt("loop: %s", strerror(errno)));
	}
	if (session_ctx_open(&run.ctx, run.loop, cmd_session_spec(o, &run.spec), &err) == -1) {
		run.status = cmd_fail(err);
		goto out;
	}
	if (udp_rx_init(&run.rx) == -1) {
		run.status = cmd_fail(log_fmt("out of memory"));
		goto out;
	}
	udp_feed_init(&run.feed, run.ctx.in_fd, run.ctx.in_kind,
	    UDP_SPLIT_LINES, 0, UDP_DGRAM_MAX);
	udp_out_init(&run.out, run.loop, run.ctx.out_fd, run.ctx.out_kind,
	    recv_out_done, &run);
	loop_timer_init(&run.first, recv_first_timeout, &run);
	loop_timer_init(&run.idle, recv_idle, &run);
	loop_timer_init(&run.quit, recv_quit, &run);
	if (cmd_report_listening(o, &run.ls, o->unix_socket ? o->argv[0] :
	    NULL, &err) == -1) {
		run.status = cmd_fail(err);
		goto out;
	}
	run.active = loop_now();
	if (o->timeout_ms >= 0)
		loop_timer_arm(run.loop, &run.first, run.active +
		    (uint64_t)o->timeout_ms);
	if (o->idle_ms > 0)
		loop_timer_arm(run.loop, &run.idle, run.active +
		    (uint64_t)o->idle_ms);
	recv_watch(&run);
	run.status = loop_run(run.loop);
	log_info(1, "received %llu datagrams (%llu bytes)",
	    (unsigned long long)run.datagrams, (unsigned long long)run.bytes);
out:
	sig = run.sig ? run.sig : loop_caught_signal(run.loop);
	udp_out_free(&run.out);
	udp_feed_free(&run.feed);
	udp_rx_free(&run.rx);
	if (run.ctx.out_fd > STDERR_FILENO)
		close(run.ctx.out_fd);
	run.ctx.out_fd = -1;
	session_ctx_close(&run.ctx);
	loop_free(run.loop);
	sock_listeners_close(&run.ls);
	cmd_die_by_signal(sig);
	return run.status;
}
