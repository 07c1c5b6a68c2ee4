/*
 * session.c - stdio <-> socket sessions for listen and connect (design
 * section 3), built from pump sources and sinks.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libutil.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "options.h"
#include "loop.h"
#include "relay.h"
#include "session.h"
#include "sock.h"

#define SESSION_DELIVER_POLL_MS	10	/* --send-only: look this often */
#define SESSION_DELIVER_MS	30000	/* and fail stalled this long */

struct session_state {
	struct session_ctx	*ctx;
	struct relay_session	*ps;
	int			 fd;
	char			*peer;
	struct relay_source	*sock_in;	/* peer -> us */
	struct relay_sink	*sock_out;	/* us -> peer */
	struct relay_source	*stdin_src;
	struct loop_timer	 quit;		/* -q after stdin EOF */
	struct loop_timer	 deliver;	/* --send-only, after EOF */
	size_t			 undelivered;	/* at the last progress */
	uint64_t		 progress;	/* its time */
	relay_done_fn		*done;
	void			*arg;
};

static void
session_progress_print(struct session_ctx *ctx, bool last)
{
	uint64_t in = 0, out = 0, ms;
	char rx[16], tx[16], rate[16];

	if (ctx->counted_in != NULL)
		in = relay_source_bytes(ctx->counted_in);
	if (ctx->counted_out != NULL)
		out = relay_source_bytes(ctx->counted_out);
	ms = loop_now() - ctx->started;
	/* The lengths make autoscale pick a unit: "2.9MB", "512B", "1.4GB/s". */
	humanize_number(rx, 6, (int64_t)in, "B", HN_AUTOSCALE,
	    HN_DECIMAL | HN_NOSPACE);
	humanize_number(tx, 6, (int64_t)out, "B", HN_AUTOSCALE,
	    HN_DECIMAL | HN_NOSPACE);
	humanize_number(rate, 8, (int64_t)((in + out) * 1000 /
	    (ms ? ms : 1)), "B/s", HN_AUTOSCALE, HN_DECIMAL | HN_NOSPACE);
	dprintf(STDERR_FILENO, "%ssockt: %s received, %s sent, %s%s",
	    isatty(STDERR_FILENO) ? "\r" : "", rx, tx, rate,
	    last ? "\n" : "\033[K");
}

static void
session_progress_tick(struct loop *p, void *arg)
{
	struct session_ctx *ctx = arg;

	session_progress_print(ctx, false);
	loop_timer_arm(p, &ctx->progress, loop_now() + 1000);
}

/* The final -P line, once the data has stopped moving. */
void
session_progress_end(struct session_ctx *ctx)
{
	if (!ctx->opts->progress || ctx->started == 0)
		return;
	loop_timer_disarm(ctx->loop, &ctx->progress);
	session_progress_print(ctx, true);
	ctx->started = 0;
}

/*
 * Prepare stdio and the taps for sessions.  stdin is not read with -d,
 * --recv-only, or when it is a terminal that belongs to another process
 * group (a background job must never be stopped by SIGTTIN).
 */
int
session_ctx_open(struct session_ctx *ctx, struct loop *p,
    const struct sockt_opts *o, char **errp)
{
	pid_t fg;

	memset(ctx, 0, sizeof *ctx);
	ctx->opts = o;
	ctx->loop = p;
	ctx->relay = relay_new(p);
	ctx->in_fd = ctx->out_fd = -1;
	if (log_tap_open(&ctx->tap, o->hexdump, o->output, errp) == -1)
		goto fail;
	ctx->tapping = o->hexdump != NULL || o->output != NULL;
	if (o->stdout_closed && !o->send_only) {
		/* Data would have nowhere to go: refuse rather than lose it. */
		*errp = log_fmt("stdout is closed (--send-only discards what "
		    "arrives)");
		goto fail;
	}
	/* A closed stdin (<&-) is /dev/null by now: simply empty. */
	if (!o->no_stdin && !o->recv_only) {
		if (isatty(STDIN_FILENO) &&
		    (fg = tcgetpgrp(STDIN_FILENO)) != -1 && fg != getpgrp()) {
			log_info(1, "stdin is a terminal in use by another "
			    "job: not reading it");
		} else {
			ctx->in_fd = fd_stdio_open(STDIN_FILENO, 0,
			    &ctx->in_kind);
			ctx->in_tty = ctx->in_kind == FD_TTY;
		}
	}
	if (!o->send_only)
		ctx->out_fd = fd_stdio_open(STDOUT_FILENO, 1, &ctx->out_kind);
	loop_timer_init(&ctx->progress, session_progress_tick, ctx);
	return 0;
fail:
	session_ctx_close(ctx);
	return -1;
}

void
session_ctx_close(struct session_ctx *ctx)
{
	session_progress_end(ctx);
	if (ctx->in_fd > STDERR_FILENO)
		close(ctx->in_fd);
	ctx->in_fd = -1;
	log_tap_close(&ctx->tap);
	relay_free(ctx->relay);
	ctx->relay = NULL;
}

/*
 * relay_tap_fn for data received from the peer (-x and -o); a file that
 * cannot be written fails the session.
 */
int
session_tap(void *arg, const void *data, size_t len, char **errp)
{
	struct session_ctx *ctx = arg;

	log_tap_data(&ctx->tap, LOG_RECEIVED, data, len);
	return log_tap_check(&ctx->tap, errp);
}

/* relay_tap_fn for data sent to the peer (-x only). */
int
session_tap_sent(void *arg, const void *data, size_t len, char **errp)
{
	struct session_ctx *ctx = arg;

	log_tap_data(&ctx->tap, LOG_SENT, data, len);
	return log_tap_check(&ctx->tap, errp);
}

/* -q expired: stop reading the peer; what it sent still reaches stdout. */
static void
session_quit_fire(struct loop *p, void *arg)
{
	struct session_state *st = arg;

	(void)p;
	log_info(2, "-q: quitting without waiting for the peer");
	relay_source_close(st->sock_in);
}

/* All of stdin reached the peer (and the socket is half-closed). */
static void
session_sent_all(void *arg)
{
	struct session_state *st = arg;
	const struct sockt_opts *o = st->ctx->opts;

	if (o->quit_ms >= 0)
		loop_timer_arm(st->ctx->loop, &st->quit, loop_now() +
		    (uint64_t)o->quit_ms);
}

/*
 * --send-only, after stdin's end of file: look every
 * SESSION_DELIVER_POLL_MS whether the peer has acknowledged every byte
 * (our queue written, the socket half-closed, nothing left in its send
 * queue); then the session is over, with status 0, whatever the peer is
 * still sending.  No progress for -w (else SESSION_DELIVER_MS) fails it.
 */
static void
session_deliver_fire(struct loop *p, void *arg)
{
	struct session_state *st = arg;
	const struct sockt_opts *o = st->ctx->opts;
	int limit = o->timeout_ms >= 0 ? o->timeout_ms : SESSION_DELIVER_MS;
	size_t unacked, left;
	uint64_t now = loop_now();
	char *msg;

	if (sock_unacked(st->fd, &unacked) == -1) {
		msg = log_fmt("%s: %s", st->peer, strerror(errno));
		relay_session_end(st->ps, 1, msg);
		free(msg);
		return;
	}
	left = relay_sink_queued(st->sock_out) + unacked;
	if (relay_sink_done(st->sock_out) && left == 0) {
		log_info(2, "--send-only: the peer acknowledged every byte");
		relay_session_end(st->ps, 0, NULL);
		return;
	}
	if (left < st->undelivered) {
		st->undelivered = left;
		st->progress = now;
	} else if (now - st->progress >= (uint64_t)limit) {
		msg = log_fmt("%s: %zu bytes not acknowledged by the peer, "
		    "no progress for %d.%03d s%s", st->peer, left,
		    limit / 1000, limit % 1000, o->timeout_ms >= 0 ?
		    " (-w)" : "");
		relay_session_end(st->ps, 1, msg);
		free(msg);
		return;
	}
	loop_timer_arm(p, &st->deliver, now + SESSION_DELIVER_POLL_MS);
}

/* stdin ended: under --send-only, wait for the peer to have it all. */
static void
session_stdin_eof(void *arg)
{
	struct session_state *st = arg;

	if (!st->ctx->opts->send_only || st->sock_out == NULL)
		return;
	log_info(2, "--send-only: stdin ended; waiting until the peer has "
	    "every byte");
	st->undelivered = SIZE_MAX;
	st->progress = loop_now();
	loop_timer_arm(st->ctx->loop, &st->deliver, loop_now());
}

/* The peer closed: at a terminal, the session ends with it. */
static void
session_peer_eof(void *arg)
{
	struct session_state *st = arg;

	log_info(2, "the peer closed its side");
	if (st->stdin_src != NULL && st->ctx->in_tty)
		relay_source_close(st->stdin_src);
}

static void
session_done(struct relay_session *ps, int status, const char *msg,
    void *arg)
{
	struct session_state *st = arg;

	loop_timer_disarm(st->ctx->loop, &st->quit);
	loop_timer_disarm(st->ctx->loop, &st->deliver);
	if (st->ctx->counted_in == st->sock_in) {
		session_progress_end(st->ctx);
		st->ctx->counted_in = st->ctx->counted_out = NULL;
	}
	if (st->done != NULL)
		st->done(ps, status, msg, st->arg);
	free(st->peer);
	free(st);
}

/*
 * Pump the connected socket FD (named PEER in messages) to and from stdio.
 * The session owns FD.  DONE runs once with the final status.
 */
struct relay_session *
session_start(struct session_ctx *ctx, int fd, const char *peer,
    relay_done_fn *done, void *arg)
{
	const struct sockt_opts *o = ctx->opts;
	struct session_state *st;
	struct relay_sink *sock_out = NULL, *out;
	unsigned flags;

	st = calloc(1, sizeof *st);
	if (st == NULL || (st->peer = strdup(peer)) == NULL) {
		free(st);
		return NULL;
	}
	st->ctx = ctx;
	st->fd = fd;
	st->done = done;
	st->arg = arg;
	loop_timer_init(&st->quit, session_quit_fire, st);
	loop_timer_init(&st->deliver, session_deliver_fire, st);
	st->ps = relay_session_new(ctx->relay, session_done, st);
	relay_session_own_fd(st->ps, fd);

	st->sock_in = relay_source_new(st->ps, fd, FD_SOCKET, peer,
	    o->send_only ? RELAY_SOURCE_DISCARD : 0);
	relay_source_on_eof(st->sock_in, session_peer_eof, st);
	if (ctx->tapping)
		relay_source_tap(st->sock_in, session_tap, ctx);

	if (ctx->in_fd != -1 || o->recv_only) {
		flags = o->no_shutdown ? 0 : RELAY_SINK_SHUTDOWN;
		sock_out = relay_sink_new(st->ps, fd, FD_SOCKET, peer,
		    flags);
		relay_sink_on_done(sock_out, session_sent_all, st);
		st->sock_out = sock_out;
	}
	if (ctx->in_fd != -1) {
		st->stdin_src = relay_source_new(st->ps, ctx->in_fd,
		    ctx->in_kind, "stdin", 0);
		relay_source_on_eof(st->stdin_src, session_stdin_eof, st);
		if (ctx->tap.hexdump != NULL)
			relay_source_tap(st->stdin_src, session_tap_sent, ctx);
		relay_link(st->stdin_src, sock_out);
		/* stdin is read by one session only, which closes it */
		if (ctx->in_fd > STDERR_FILENO)
			relay_session_own_fd(st->ps, ctx->in_fd);
		ctx->in_fd = -1;
	} else if (sock_out != NULL)
		relay_sink_end(sock_out);

	if (ctx->out_fd != -1) {
		out = relay_sink_new(st->ps, ctx->out_fd, ctx->out_kind, "stdout",
		    RELAY_SINK_CLOSE | RELAY_SINK_STDOUT);
		relay_sink_close_also(out, STDOUT_FILENO);
		relay_link(st->sock_in, out);
		ctx->out_fd = -1;
	}
	if (o->idle_ms > 0)
		relay_session_set_idle(st->ps, o->idle_ms);
	if (o->progress) {
		ctx->counted_in = st->sock_in;
		ctx->counted_out = st->stdin_src;
		ctx->started = loop_now();
		if (isatty(STDERR_FILENO))
			loop_timer_arm(ctx->loop, &ctx->progress,
			    ctx->started + 1000);
	}
	if (st->stdin_src != NULL)
		relay_source_start(st->stdin_src);
	relay_source_start(st->sock_in);
	return st->ps;
}
