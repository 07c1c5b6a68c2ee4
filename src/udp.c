/*
 * udp.c - the run of udp-send and udp-recv: receive batches to a stdout
 * relay sink, stdin datagrams out, echoes, taps, --count and the timers.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "dgram.h"
#include "echo.h"
#include "feed.h"
#include "log.h"
#include "loop.h"
#include "relay.h"
#include "session.h"
#include "udp.h"
#include "xmalloc.h"

#define UDP_ROUNDS	16	/* receive batches per wakeup, then others */
#define UDP_SOCKETS	8

struct udp {
	struct udp_spec		 spec;
	struct loop		*loop;
	struct session_ctx	 ctx;		/* stdio, -x and -o */
	struct dgram_rx		 rx;
	struct feed		 feed;
	struct echo		 echo;
	struct relay_session	*outs;
	struct relay_sink	*out;		/* stdout; NULL once it ended */
	char			*line;		/* --peer: name, payload, EOL */
	struct dgram_peer	 peer;		/* receiver: stdin goes there */
	bool			 have_peer;
	struct dgram_peer	 last;		/* the previous sender (-v) */
	bool			 receiving;	/* the sockets are watched */
	bool			 writing[UDP_SOCKETS];
	bool			 feeding;	/* stdin is watched */
	bool			 blocked;	/* the socket took no more */
	bool			 all_sent;
	bool			 finishing;
	struct loop_timer	 first;		/* -w */
	struct loop_timer	 idle;		/* -i */
	struct loop_timer	 quit;		/* -q */
	uint64_t		 active;
	struct udp_result	 res;
};

static void	udp_watch(struct udp *);

static bool
udp_count_reached(const struct udp *u)
{
	return u->spec.count > 0 && u->res.received >= (uint64_t)u->spec.count;
}

/* Nothing is left to deliver: the loop may stop. */
static void
udp_maybe_stop(struct udp *u)
{
	if (u->finishing && u->out == NULL && !echo_pending(&u->echo))
		loop_stop(u->loop, u->res.status);
}

/*
 * End with STATUS once stdout and the echoes have taken what was
 * received.  MSG (taken) is the error to report: the first one counts,
 * and an error still overrides an end that was going to be a success.
 */
static void
udp_finish(struct udp *u, int status, char *msg)
{
	if (!u->finishing || (u->res.status == 0 && status != 0)) {
		u->res.status = status;
		if (msg != NULL && u->res.error == NULL) {
			u->res.error = msg;
			msg = NULL;
		}
	}
	free(msg);
	u->finishing = true;
	loop_timer_disarm(u->loop, &u->first);
	loop_timer_disarm(u->loop, &u->idle);
	loop_timer_disarm(u->loop, &u->quit);
	udp_watch(u);
	if (u->out != NULL)
		relay_sink_end(u->out);	/* done once drained */
	udp_maybe_stop(u);
}

/* A -x or -o file that cannot be written ends the run; false then. */
static bool
udp_taps_ok(struct udp *u)
{
	char *msg;

	if (log_tap_check(&u->ctx.tap, &msg) == 0)
		return true;
	udp_finish(u, 1, msg);
	return false;
}

/* The socket stdin goes out of, or -1 while there is nobody to send to. */
static int
udp_feed_fd(const struct udp *u)
{
	if (u->spec.role == UDP_SENDER)
		return u->spec.fds[0];
	return u->have_peer ? u->peer.fd : -1;
}

static void	udp_readable(struct loop *, int, void *);
static void	udp_writable(struct loop *, int, void *);
static void	udp_stdin(struct loop *, int, void *);

/* Bring the poll interest in line with the state. */
static void
udp_watch(struct udp *u)
{
	bool recv, feed, write, echoing = echo_pending(&u->echo);
	int fd, feed_fd = udp_feed_fd(u);
	size_t i;

	recv = !u->finishing && !echoing && !udp_count_reached(u) &&
	    (u->out == NULL || relay_sink_room(u->out));
	feed = !u->finishing && !u->blocked && u->feed.fd != -1 &&
	    feed_fd != -1 && feed_room(&u->feed);
	if (recv != u->receiving) {
		for (i = 0; i < u->spec.nfds; i++) {
			if (recv)
				loop_want_read(u->loop, u->spec.fds[i],
				    udp_readable, u);
			else
				loop_cancel_read(u->loop, u->spec.fds[i]);
		}
		u->receiving = recv;
	}
	if (feed != u->feeding) {
		if (feed)
			loop_want_read(u->loop, u->feed.fd, udp_stdin, u);
		else
			loop_cancel_read(u->loop, u->feed.fd);
		u->feeding = feed;
	}
	for (i = 0; i < u->spec.nfds; i++) {
		fd = u->spec.fds[i];
		write = (echoing && u->echo.fd == fd) ||
		    (!u->finishing && u->blocked && feed_fd == fd);
		if (write == u->writing[i])
			continue;
		if (write)
			loop_want_write(u->loop, fd, udp_writable, u);
		else
			loop_cancel_write(u->loop, fd);
		u->writing[i] = write;
	}
}

/* ---- stdin to the target or the last sender ---------------------------- */

/* A send failed: "send DEST: reason", with a hint where one helps. */
static void
udp_send_failed(struct udp *u, int err)
{
	if (u->spec.role == UDP_RECEIVER) {
		udp_finish(u, 1, log_fmt("send %s: %s", u->peer.name,
		    strerror(err)));
		return;
	}
	udp_finish(u, 1, log_fmt("send %s: %s%s", u->spec.target,
	    strerror(err), err == EACCES && !u->spec.broadcast ?
	    " (a broadcast address needs --broadcast)" : ""));
}

/* The datagram of stdin that does not fit: a usage error for --whole. */
static void
udp_too_big(struct udp *u)
{
	const char *fam = dgram_family_name(u->spec.family);

	if (u->spec.role == UDP_RECEIVER)
		udp_finish(u, 1, log_fmt("a line of stdin is longer than %zu "
		    "bytes, the most one datagram holds", u->spec.max));
	else if (u->spec.split == FEED_WHOLE)
		udp_finish(u, 2, log_fmt("stdin is larger than %zu bytes, the "
		    "most one %s datagram holds (--whole)", u->spec.max, fam));
	else
		udp_finish(u, 1, log_fmt("a line of stdin is longer than %zu "
		    "bytes, the most one %s datagram holds (see --size)",
		    u->spec.max, fam));
}

/* Everything stdin held has been sent: -q starts. */
static void
udp_all_sent(struct udp *u)
{
	u->all_sent = true;
	if (u->spec.role == UDP_SENDER)
		log_info(1, "stdin sent: %llu datagrams (%llu bytes) to %s",
		    (unsigned long long)u->res.sent,
		    (unsigned long long)u->res.sent_bytes, u->spec.target);
	else
		log_info(2, "stdin ended");
	if (u->spec.role == UDP_SENDER && udp_count_reached(u))
		udp_finish(u, 0, NULL);
	else if (u->spec.quit_ms >= 0)
		loop_timer_arm(u->loop, &u->quit, loop_now() +
		    (uint64_t)u->spec.quit_ms);
}

/* Send the complete datagrams stdin has given, in batches. */
static void
udp_feed_flush(struct udp *u)
{
	struct dgram d[DGRAM_BATCH];
	const struct sockaddr *to = u->spec.dest;
	socklen_t tolen = u->spec.destlen;
	int fd = udp_feed_fd(u), i, k, n;

	if (u->spec.role == UDP_RECEIVER) {
		to = (const struct sockaddr *)&u->peer.addr;
		tolen = u->peer.len;
	}
	u->blocked = false;
	for (;;) {
		k = feed_next(&u->feed, d, DGRAM_BATCH);
		if (k == -1) {
			udp_too_big(u);
			return;
		}
		if (k == 0)
			break;
		for (i = 0; tolen != 0 && i < k; i++) {
			d[i].to = to;
			d[i].tolen = tolen;
		}
		n = dgram_send_batch(fd, d, (size_t)k);
		if (n == -1) {
			udp_send_failed(u, errno);
			return;
		}
		if (n == 0) {
			u->blocked = true;
			break;
		}
		for (i = 0; i < n; i++) {
			log_tap_data(&u->ctx.tap, LOG_SENT, d[i].data,
			    d[i].len);
			u->res.sent_bytes += d[i].len;
		}
		u->res.sent += (uint64_t)n;
		u->active = loop_now();
		feed_consume(&u->feed, d, (size_t)n);
		if (!udp_taps_ok(u))
			return;
	}
	if (!u->blocked && !u->all_sent && feed_done(&u->feed))
		udp_all_sent(u);
	udp_watch(u);
}

static void
udp_stdin(struct loop *l, int fd, void *arg)
{
	struct udp *u = arg;

	(void)l;
	(void)fd;
	if (feed_fill(&u->feed) == -1) {
		if (errno != EAGAIN)
			udp_finish(u, 1, log_fmt("read from stdin: %s",
			    strerror(errno)));
		return;
	}
	udp_feed_flush(u);
}

static void
udp_writable(struct loop *l, int fd, void *arg)
{
	struct udp *u = arg;

	(void)l;
	if (echo_pending(&u->echo) && u->echo.fd == fd) {
		echo_flush(&u->echo, &u->ctx.tap);
		if (!udp_taps_ok(u))
			return;
		udp_maybe_stop(u);
	}
	if (!u->finishing && u->blocked && udp_feed_fd(u) == fd)
		udp_feed_flush(u);
	udp_watch(u);
}

/* ---- datagrams to stdout ------------------------------------------------ */

/* Is SA admitted, and who is it?  A change of sender is logged (-v). */
static const char *
udp_sender(struct udp *u, int fd, const struct sockaddr *sa, socklen_t len,
    bool *admitted, bool *changed)
{
	*admitted = u->spec.acl == NULL || addr_acl_admits(u->spec.acl, sa);
	*changed = dgram_peer_set(&u->last, fd, sa, len);
	if (*changed && *admitted)
		log_info(1, "datagrams from %s", u->last.name);
	else if (*changed)
		log_info(1, "refused datagrams from %s: not allowed by "
		    "--allow/--deny", u->last.name);
	return u->last.name;
}

/* LEN bytes of DATA from NAME to stdout: "NAME<TAB>DATA<LF>" with --peer. */
static void
udp_emit(struct udp *u, const char *name, const char *data, size_t len)
{
	size_t n;

	if (u->out == NULL)
		return;
	if (!u->spec.peer) {
		relay_sink_push(u->out, data, len);
		return;
	}
	n = strlen(name);
	memcpy(u->line, name, n);
	u->line[n++] = '\t';
	memcpy(u->line + n, data, len);
	n += len;
	if (len == 0 || data[len - 1] != '\n')
		u->line[n++] = '\n';
	relay_sink_push(u->out, u->line, n);
}

/*
 * Datagram I of the batch just received on FD: to stdout, the -x/-o taps
 * and the echo.  Returns NULL, or the error that ends the run (a datagram
 * too large for the buffer: never cut, never written).
 */
static char *
udp_datagram(struct udp *u, int fd, size_t i)
{
	const char *name = u->spec.target, *data;
	const struct sockaddr *sa;
	size_t len = dgram_rx_len(&u->rx, i);
	bool admitted, changed = false;
	char from[ADDR_NAMELEN];
	socklen_t salen;

	sa = dgram_rx_from(&u->rx, i, &salen);
	if (u->spec.role == UDP_RECEIVER) {
		name = udp_sender(u, fd, sa, salen, &admitted, &changed);
		if (!admitted)
			return NULL;
	}
	if (dgram_rx_truncated(&u->rx, i)) {
		if (u->spec.role == UDP_RECEIVER)
			return log_fmt("datagram from %s: %zu bytes, larger "
			    "than the %d-byte buffer: not written", name, len,
			    DGRAM_MAX);
		if (salen != 0)
			name = addr_format(sa, salen, from, sizeof from);
		return log_fmt("reply from %s: %zu bytes, larger than the "
		    "%d-byte buffer: not written", name, len, DGRAM_MAX);
	}
	data = dgram_rx_data(&u->rx, i);
	if (u->spec.role == UDP_RECEIVER) {
		log_info(2, "%zu bytes from %s", len, name);
		if (dgram_named(sa, salen)) {
			u->peer = u->last;
			u->have_peer = true;
		}
	}
	udp_emit(u, name, data, len);
	log_tap_data(&u->ctx.tap, LOG_RECEIVED, data, len);
	if (u->spec.echo)
		echo_queue(&u->echo, fd, sa, salen, data, len, name, changed);
	u->res.received++;
	u->res.received_bytes += len;
	u->active = loop_now();
	loop_timer_disarm(u->loop, &u->first);
	return NULL;
}

/*
 * Datagrams arrived on FD: a few batches of them, while stdout has room
 * and the echoes of the last batch went out (they point into it).
 */
static void
udp_readable(struct loop *l, int fd, void *arg)
{
	struct udp *u = arg;
	size_t i, max;
	int n, rounds;
	char *msg;

	(void)l;
	for (rounds = 0; rounds < UDP_ROUNDS && u->receiving; rounds++) {
		max = DGRAM_BATCH;
		if (u->spec.count > 0 && (uint64_t)u->spec.count -
		    u->res.received < max)
			max = (size_t)((uint64_t)u->spec.count -
			    u->res.received);
		n = dgram_rx_recv(&u->rx, fd, max);
		if (n == 0)
			return;
		if (n == -1) {
			/* ECONNREFUSED: an ICMP error for what we sent */
			if (u->spec.role == UDP_SENDER)
				udp_send_failed(u, errno);
			else
				udp_finish(u, 1, log_fmt("receive: %s",
				    strerror(errno)));
			return;
		}
		msg = NULL;
		for (i = 0; i < (size_t)n && msg == NULL; i++)
			msg = udp_datagram(u, fd, i);
		echo_flush(&u->echo, &u->ctx.tap);
		if (msg != NULL) {
			udp_finish(u, 1, msg);
			return;
		}
		if (!udp_taps_ok(u))
			return;
		if (udp_count_reached(u) && (u->spec.role == UDP_RECEIVER ||
		    u->all_sent)) {
			udp_finish(u, 0, NULL);
			return;
		}
		udp_watch(u);
	}
}

/* stdout ended: drained after udp_finish(), or a write failed. */
static void
udp_out_done(struct relay_session *s, int status, const char *msg, void *arg)
{
	struct udp *u = arg;

	(void)s;
	u->out = NULL;
	if (status != 0)
		udp_finish(u, 1, xstrdup(msg ? msg : "write to stdout"));
	udp_maybe_stop(u);
}

/* stdout took enough of its queue: receive again. */
static void
udp_out_room(void *arg)
{
	udp_watch(arg);
}

/* ---- timers ------------------------------------------------------------- */

static void
udp_first_expired(struct loop *l, void *arg)
{
	struct udp *u = arg;

	(void)l;
	udp_finish(u, 1, log_fmt("no datagram within %d.%03d s (-w)",
	    u->spec.first_ms / 1000, u->spec.first_ms % 1000));
}

static void
udp_idle_expired(struct loop *l, void *arg)
{
	struct udp *u = arg;
	uint64_t deadline = u->active + (uint64_t)u->spec.idle_ms;

	if (loop_now() < deadline) {
		loop_timer_arm(l, &u->idle, deadline);
		return;
	}
	udp_finish(u, 1, log_fmt("idle timeout: no traffic for %d.%03d s",
	    u->spec.idle_ms / 1000, u->spec.idle_ms % 1000));
}

/*
 * -q passed after stdin was sent.  A sender fails if an ICMP error is
 * pending on its connected socket or --count replies are still due.
 */
static void
udp_quit_expired(struct loop *l, void *arg)
{
	struct udp *u = arg;
	socklen_t len = sizeof(int);
	int err = 0, ms = u->spec.quit_ms;

	(void)l;
	if (u->spec.role == UDP_RECEIVER) {
		log_info(2, "-q: quitting after the end of stdin");
		udp_finish(u, 0, NULL);
		return;
	}
	if (u->spec.destlen == 0 && getsockopt(u->spec.fds[0], SOL_SOCKET,
	    SO_ERROR, &err, &len) == 0 && err != 0) {
		udp_send_failed(u, err);
		return;
	}
	if (u->spec.count > 0 && !udp_count_reached(u)) {
		udp_finish(u, 1, log_fmt("%llu of %lld replies arrived within "
		    "-q %d.%03d s", (unsigned long long)u->res.received,
		    u->spec.count, ms / 1000, ms % 1000));
		return;
	}
	udp_finish(u, 0, NULL);
}

/* ---- the run ------------------------------------------------------------ */

/*
 * Prepare a run of SPEC (copied; its sockets stay the caller's): stdio,
 * the taps, the buffers.  Nothing moves before udp_run().  Returns NULL
 * with *errp.
 */
struct udp *
udp_new(const struct session_spec *ss, const struct udp_spec *spec,
    char **errp)
{
	struct udp *u = xcalloc(1, sizeof *u);

	u->spec = *spec;
	if (u->spec.nfds > UDP_SOCKETS)
		u->spec.nfds = UDP_SOCKETS;
	if ((u->loop = loop_new()) == NULL) {
		*errp = log_fmt("loop: %s", strerror(errno));
		free(u);
		return NULL;
	}
	if (session_ctx_open(&u->ctx, u->loop, ss, errp) == -1) {
		loop_free(u->loop);
		free(u);
		return NULL;
	}
	dgram_rx_init(&u->rx);
	feed_init(&u->feed, u->ctx.in_fd, u->ctx.in_kind, spec->split,
	    spec->size, spec->max);
	if (spec->peer)
		u->line = xmalloc(ADDR_NAMELEN + DGRAM_MAX + 2);
	if (u->ctx.out_fd != -1) {
		u->outs = relay_session_new(u->ctx.relay, udp_out_done, u);
		u->out = relay_sink_new(u->outs, u->ctx.out_fd,
		    u->ctx.out_kind, "stdout", RELAY_SINK_CLOSE |
		    RELAY_SINK_STDOUT);
		relay_sink_close_also(u->out, STDOUT_FILENO);
		relay_sink_on_room(u->out, udp_out_room, u);
		u->ctx.out_fd = -1;
	}
	loop_timer_init(&u->first, udp_first_expired, u);
	loop_timer_init(&u->idle, udp_idle_expired, u);
	loop_timer_init(&u->quit, udp_quit_expired, u);
	return u;
}

/*
 * Run until everything is done, an error, or a signal; RES says how it
 * ended (its error is the caller's to print and free).
 */
void
udp_run(struct udp *u, struct udp_result *res)
{
	int status;

	u->active = loop_now();
	if (u->spec.first_ms >= 0)
		loop_timer_arm(u->loop, &u->first, u->active +
		    (uint64_t)u->spec.first_ms);
	if (u->spec.idle_ms > 0)
		loop_timer_arm(u->loop, &u->idle, u->active +
		    (uint64_t)u->spec.idle_ms);
	if (u->spec.role == UDP_SENDER)
		udp_feed_flush(u);	/* no stdin at all: nothing to send */
	else
		udp_watch(u);
	status = loop_run(u->loop);
	if (!u->finishing)
		u->res.status = status;	/* a signal, or nothing left */
	u->res.sig = loop_caught_signal(u->loop);
	*res = u->res;
	u->res.error = NULL;
}

void
udp_free(struct udp *u)
{
	if (u == NULL)
		return;
	feed_free(&u->feed);
	dgram_rx_free(&u->rx);
	session_ctx_close(&u->ctx);	/* ends stdout's session, if alive */
	loop_free(u->loop);
	free(u->line);
	free(u->res.error);
	free(u);
}
