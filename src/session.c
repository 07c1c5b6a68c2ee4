/*
 * session.c - stdio <-> socket sessions for listen and connect (design
 * section 3), and the hub of listen -k and --broker, built from relays.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"
#include "loop.h"
#include "relay.h"
#include "session.h"
#include "sock.h"

#define SESSION_DELIVER_POLL_MS	10	/* --send-only: look this often */

/* listen -k: stdin to every client, every client to stdout. */
struct session_hub {
	struct relay_session	*rs;
	struct relay_source	*stdin_src;
	struct relay_sink	*stdout_sink;
	struct hub_client	*clients;
	relay_done_fn		*done;
	void			*arg;
};

struct hub_client {
	struct session_ctx	*ctx;
	char			*name;
	struct relay_source	*in;
	struct relay_sink	*out;
	relay_done_fn		*done;
	void			*arg;
	struct hub_client	*prev;
	struct hub_client	*next;
};

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

/* Bytes a relay source has read, for the -P meter. */
static uint64_t
session_source_bytes(void *arg)
{
	return relay_source_bytes(arg);
}

/* The final -P line, once the data has stopped moving. */
void
session_progress_end(struct session_ctx *ctx)
{
	if (ctx->spec.progress)
		progress_end(&ctx->meter);
}

/*
 * Prepare stdio and the taps for sessions.  stdin is not read with -d,
 * --recv-only, or when it is a terminal that belongs to another process
 * group (a background job must never be stopped by SIGTTIN).
 */
int
session_ctx_open(struct session_ctx *ctx, struct loop *p,
    const struct session_spec *spec, char **errp)
{
	const struct session_spec *o = &ctx->spec;
	pid_t fg;

	memset(ctx, 0, sizeof *ctx);
	ctx->spec = *spec;
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
	if (o->read_stdin) {
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
	progress_init(&ctx->meter, p, NULL);
	return 0;
fail:
	session_ctx_close(ctx);
	return -1;
}

/* Close what session_ctx_open() opened; safe on a zeroed CTX, twice. */
void
session_ctx_close(struct session_ctx *ctx)
{
	if (ctx->loop == NULL)
		return;		/* never opened, or closed already */
	session_progress_end(ctx);
	if (ctx->in_fd > STDERR_FILENO)
		close(ctx->in_fd);
	ctx->in_fd = -1;
	log_tap_close(&ctx->tap);
	progress_free(&ctx->meter);
	relay_free(ctx->relay);		/* sessions end without callbacks */
	ctx->relay = NULL;
	if (ctx->hub != NULL) {
		struct hub_client *c;

		while ((c = ctx->hub->clients) != NULL) {
			ctx->hub->clients = c->next;
			free(c->name);
			free(c);
		}
		free(ctx->hub);
		ctx->hub = NULL;
	}
	if (ctx->single != NULL) {
		free(ctx->single->peer);
		free(ctx->single);
		ctx->single = NULL;
	}
	ctx->loop = NULL;
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
	const struct session_spec *o = &st->ctx->spec;

	if (o->quit_ms >= 0)
		loop_timer_arm(st->ctx->loop, &st->quit, loop_now() +
		    (uint64_t)o->quit_ms);
}

/*
 * --send-only, after stdin's end of file: look every
 * SESSION_DELIVER_POLL_MS whether the peer has acknowledged every byte
 * (our queue written, the socket half-closed, nothing left in its send
 * queue); then the session is over, with status 0, whatever the peer is
 * still sending.  No progress for spec.ack_ms fails it.
 */
static void
session_deliver_fire(struct loop *p, void *arg)
{
	struct session_state *st = arg;
	int limit = st->ctx->spec.ack_ms;
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
		    limit / 1000, limit % 1000, st->ctx->spec.ack_by_w ?
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

	if (!st->ctx->spec.send_only || st->sock_out == NULL)
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
	if (st->ctx->meter.n > 0 && st->ctx->meter.c[0].arg == st->sock_in) {
		session_progress_end(st->ctx);
		st->ctx->meter.n = 0;	/* its sources go with the session */
	}
	st->ctx->single = NULL;
	if (st->done != NULL)
		st->done(ps, status, msg, st->arg);
	free(st->peer);
	free(st);
}

/*
 * -P for the session ST: bytes received and sent; a regular file on
 * stdin gives the total to send (from its offset), hence percent and ETA.
 */
static void
session_progress_start(struct session_ctx *ctx, struct session_state *st)
{
	struct stat sb;
	off_t at;
	int i;

	progress_add(&ctx->meter, "received", session_source_bytes,
	    st->sock_in);
	if (st->stdin_src == NULL) {
		progress_start(&ctx->meter, 0);
		return;
	}
	i = progress_add(&ctx->meter, "sent", session_source_bytes,
	    st->stdin_src);
	if (ctx->in_kind == FD_FILE && fstat(STDIN_FILENO, &sb) == 0 &&
	    (at = lseek(STDIN_FILENO, 0, SEEK_CUR)) != -1 && sb.st_size >= at)
		progress_set_total(&ctx->meter, i, 0, sb.st_size - at);
	progress_start(&ctx->meter, 0);
}

/*
 * Pump the connected socket FD (named PEER in messages, through TLS when
 * not NULL) to and from stdio.  The session owns FD and TLS.  DONE runs
 * once with the final status.
 */
struct relay_session *
session_start(struct session_ctx *ctx, int fd, struct tls_conn *tls,
    const char *peer, relay_done_fn *done, void *arg)
{
	const struct session_spec *o = &ctx->spec;
	struct session_state *st;
	struct relay_sink *sock_out = NULL, *out;
	unsigned flags;

	st = xcalloc(1, sizeof *st);
	st->peer = xstrdup(peer);
	ctx->single = st;
	st->ctx = ctx;
	st->fd = fd;
	st->done = done;
	st->arg = arg;
	loop_timer_init(&st->quit, session_quit_fire, st);
	loop_timer_init(&st->deliver, session_deliver_fire, st);
	st->ps = relay_session_new(ctx->relay, session_done, st);
	relay_session_own_fd(st->ps, fd);
	if (tls != NULL)
		relay_session_own_tls(st->ps, tls);

	st->sock_in = relay_source_new(st->ps, fd, FD_SOCKET, peer,
	    o->send_only ? RELAY_SOURCE_DISCARD : 0);
	if (tls != NULL)
		relay_source_tls(st->sock_in, tls);
	relay_source_on_eof(st->sock_in, session_peer_eof, st);
	if (ctx->tapping)
		relay_source_tap(st->sock_in, session_tap, ctx);

	if (ctx->in_fd != -1 || o->recv_only) {
		flags = o->shutdown ? RELAY_SINK_SHUTDOWN : 0;
		sock_out = relay_sink_new(st->ps, fd, FD_SOCKET, peer,
		    flags);
		if (tls != NULL)
			relay_sink_tls(sock_out, tls);
		relay_sink_on_done(sock_out, session_sent_all, st);
		st->sock_out = sock_out;
	}
	if (ctx->in_fd != -1) {
		st->stdin_src = relay_source_new(st->ps, ctx->in_fd,
		    ctx->in_kind, "stdin", o->crlf ? RELAY_SOURCE_CRLF : 0);
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
	if (o->progress)
		session_progress_start(ctx, st);
	if (st->stdin_src != NULL)
		relay_source_start(st->stdin_src);
	relay_source_start(st->sock_in);
	return st->ps;
}

/* ---- the hub of listen -k and --broker -------------------------------- */

/* The hub failed: only stdout can make it fail. */
static void
hub_done(struct relay_session *rs, int status, const char *msg, void *arg)
{
	struct session_ctx *ctx = arg;
	struct session_hub *hub = ctx->hub;

	hub->rs = NULL;
	hub->stdin_src = NULL;
	hub->stdout_sink = NULL;
	if (hub->done != NULL)
		hub->done(rs, status ? status : 1, msg, hub->arg);
}

/* stdin ended under -k: clients are half-closed as their queues drain. */
static void
hub_stdin_eof(void *arg)
{
	(void)arg;
	log_info(2, "stdin ended: half-closing every client");
}

/*
 * Open the hub of listen -k: stdin is read while clients are connected
 * and each chunk goes to every client connected then; every client's data
 * goes to stdout in whole reads.  DONE runs if stdout fails.
 */
void
session_hub_open(struct session_ctx *ctx, relay_done_fn *done, void *arg)
{
	struct session_hub *hub = xcalloc(1, sizeof *hub);

	ctx->hub = hub;
	hub->done = done;
	hub->arg = arg;
	hub->rs = relay_session_new(ctx->relay, hub_done, ctx);
	if (ctx->in_fd != -1) {
		hub->stdin_src = relay_source_new(hub->rs, ctx->in_fd,
		    ctx->in_kind, "stdin", ctx->spec.crlf ? RELAY_SOURCE_CRLF :
		    0);
		if (ctx->in_fd > STDERR_FILENO)
			relay_session_own_fd(hub->rs, ctx->in_fd);
		ctx->in_fd = -1;
		if (ctx->tap.hexdump != NULL)
			relay_source_tap(hub->stdin_src, session_tap_sent, ctx);
		relay_source_on_eof(hub->stdin_src, hub_stdin_eof, ctx);
		relay_source_start(hub->stdin_src);
	}
	if (ctx->out_fd != -1) {
		hub->stdout_sink = relay_sink_new(hub->rs, ctx->out_fd,
		    ctx->out_kind, "stdout", RELAY_SINK_CLOSE |
		    RELAY_SINK_STDOUT | RELAY_SINK_KEEP);
		relay_sink_close_also(hub->stdout_sink, STDOUT_FILENO);
		ctx->out_fd = -1;
	}
}

/* A client left: the others carry on. */
static void
hub_client_done(struct relay_session *rs, int status, const char *msg,
    void *arg)
{
	struct hub_client *c = arg;
	struct session_hub *hub = c->ctx->hub;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		hub->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (msg != NULL)
		log_info(1, "%s", msg);
	log_info(1, "connection from %s closed%s", c->name, status ?
	    " with an error" : "");
	if (c->done != NULL)
		c->done(rs, status, msg, c->arg);
	free(c->name);
	free(c);
}

/*
 * A client half-closed: it has finished.  What is already queued for it
 * is still sent, then it is half-closed too and its session ends, so a
 * long-running listener never collects half-open connections.
 */
static void
hub_client_eof(void *arg)
{
	struct hub_client *c = arg;

	if (c->out != NULL)
		relay_sink_end(c->out);
}

/*
 * Wire client FD (NAME in messages, through TLS when not NULL) into the
 * hub, which owns both; DONE runs when it
 * leaves (its end is logged under -v here).  --broker relays between clients, but not with --recv-only:
 * then, as ncat does, clients only ever talk to stdout and are
 * half-closed at once.
 */
struct relay_session *
session_hub_add(struct session_ctx *ctx, int fd, struct tls_conn *tls,
    const char *name, relay_done_fn *done, void *arg)
{
	const struct session_spec *o = &ctx->spec;
	struct session_hub *hub = ctx->hub;
	struct hub_client *c, *other;
	struct relay_session *rs;
	bool relay = o->broker && !o->recv_only;
	unsigned flags;

	c = xcalloc(1, sizeof *c);
	c->ctx = ctx;
	c->name = xstrdup(name);
	c->done = done;
	c->arg = arg;
	rs = relay_session_new(ctx->relay, hub_client_done, c);
	relay_session_own_fd(rs, fd);
	if (tls != NULL)
		relay_session_own_tls(rs, tls);
	c->in = relay_source_new(rs, fd, FD_SOCKET, name,
	    o->send_only ? RELAY_SOURCE_DISCARD : 0);
	if (tls != NULL)
		relay_source_tls(c->in, tls);
	relay_source_on_eof(c->in, hub_client_eof, c);
	if (ctx->tapping)
		relay_source_tap(c->in, session_tap, ctx);
	if (hub->stdout_sink != NULL && !o->send_only)
		relay_link(c->in, hub->stdout_sink);
	if (hub->stdin_src != NULL || o->recv_only || relay) {
		flags = RELAY_SINK_DROPPABLE;
		if (o->shutdown)
			flags |= RELAY_SINK_SHUTDOWN;
		if (relay)
			flags |= RELAY_SINK_KEEP;
		c->out = relay_sink_new(rs, fd, FD_SOCKET, name, flags);
		if (tls != NULL)
			relay_sink_tls(c->out, tls);
		if (hub->stdin_src != NULL &&
		    !relay_source_eof(hub->stdin_src))
			relay_link(hub->stdin_src, c->out);
		else if (!relay)
			relay_sink_end(c->out);
	}
	if (relay)
		for (other = hub->clients; other != NULL; other = other->next) {
			relay_link(other->in, c->out);
			relay_link(c->in, other->out);
		}
	c->next = hub->clients;
	if (hub->clients != NULL)
		hub->clients->prev = c;
	hub->clients = c;
	if (o->idle_ms > 0)
		relay_session_set_idle(rs, o->idle_ms);
	relay_source_start(c->in);
	return rs;
}
