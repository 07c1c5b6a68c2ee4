/*
 * relay-source.c - sources: reading an fd (plain or through TLS) into
 * shared chunks for every linked sink, with backpressure, and the
 * dispatcher of TLS sockets, whose two directions share one fd.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "relay-int.h"
#include "tls.h"
#include "xmalloc.h"

#define RELAY_READS_PER_WAKEUP	4	/* then let others run */

/* ---- TLS sockets ------------------------------------------------------ */

/* The record of S for TLS socket FD, made on first use. */
struct relay_tlsfd *
relay_tlsfd_get(struct relay_session *s, int fd, struct tls_conn *tls)
{
	struct relay_tlsfd *t;

	for (t = s->tlsfds; t != NULL; t = t->next)
		if (t->fd == fd)
			return t;
	t = xcalloc(1, sizeof *t);
	t->fd = fd;
	t->tls = tls;
	t->next = s->tlsfds;
	s->tlsfds = t;
	return t;
}


/* Either event on a TLS socket: let both directions try. */
static void
tlsfd_event(struct loop *l, int fd, void *arg)
{
	struct relay_tlsfd *t = arg;
	struct relay_session *s = t->src ? t->src->sess : t->sink->sess;

	(void)l;
	(void)fd;
	if (t->sink != NULL && !t->sink->done && !s->ended)
		relay_sink_write(t->sink);
	if (t->src != NULL && !s->ended && relay_source_wants(t->src))
		relay_source_read(t->src);
	if (!s->ended)
		relay_tlsfd_sync(t);
}

/* Watch a TLS socket for what its two directions wait for. */
void
relay_tlsfd_sync(struct relay_tlsfd *t)
{
	struct relay_session *s = t->src ? t->src->sess : t->sink->sess;
	struct relay_sink *k = t->sink;
	bool rd = false, wr = false;

	if (s->ended)
		return;
	if (t->src != NULL && relay_source_wants(t->src)) {
		rd = rd || t->src_wait != POLLOUT;
		wr = wr || t->src_wait == POLLOUT;
	}
	if (k != NULL && !k->done && (k->rcount > 0 || (k->live == 0 &&
	    !(k->flags & RELAY_SINK_KEEP) && (k->ended || k->nsources > 0)))) {
		rd = rd || t->sink_wait == POLLIN;
		wr = wr || t->sink_wait != POLLIN;
	}
	if (rd)
		loop_want_read(s->loop, t->fd, tlsfd_event, t);
	else
		loop_cancel_read(s->loop, t->fd);
	if (wr)
		loop_want_write(s->loop, t->fd, tlsfd_event, t);
	else
		loop_cancel_write(s->loop, t->fd);
}

int
relay_tls_wait(struct tls_conn *tls)
{
	switch (tls_waiting(tls)) {
	case TLS_WAIT_READ:
		return POLLIN;
	case TLS_WAIT_WRITE:
		return POLLOUT;
	default:
		return 0;
	}
}

/* ---- sources ---------------------------------------------------------- */

/*
 * A source reading FD (of KIND) for session S; NAME is used in messages.
 * It reads nothing until linked to a sink and started, or until flagged
 * RELAY_SOURCE_DISCARD and started.
 */
struct relay_source *
relay_source_new(struct relay_session *s, int fd, enum fd_kind kind,
    const char *name, unsigned flags)
{
	struct relay_source *src = xcalloc(1, sizeof *src);

	src->sess = s;
	src->fd = fd;
	src->kind = kind;
	src->flags = flags;
	src->name = xstrdup(name);
	s->sources = xreallocarray(s->sources, s->nsources + 1,
	    sizeof *s->sources);
	s->sources[s->nsources++] = src;
	return src;
}

static void
source_kicked(struct loop *l, void *arg)
{
	struct relay_source *src = arg;

	(void)l;
	if (!src->sess->ended && relay_source_wants(src))
		relay_source_read(src);
	if (!src->sess->ended && src->tls != NULL)
		relay_tlsfd_sync(src->tls);
}

/* SRC reads through TLS connection TLS (on its fd): no zero copy. */
void
relay_source_tls(struct relay_source *src, struct tls_conn *tls)
{
	src->tls = relay_tlsfd_get(src->sess, src->fd, tls);
	src->tls->src = src;
	src->flags |= RELAY_SOURCE_NOSPLICE;
	loop_deferred_init(&src->kick, source_kicked, src);
}

/* FN sees every chunk as it is read; -1 from it fails the session. */
void
relay_source_tap(struct relay_source *src, relay_tap_fn *fn, void *arg)
{
	src->tap = fn;
	src->taparg = arg;
}

/* FN runs once when the source reaches end of file. */
void
relay_source_on_eof(struct relay_source *src, relay_event_fn *fn, void *arg)
{
	src->on_eof = fn;
	src->eofarg = arg;
}

bool
relay_source_eof(const struct relay_source *src)
{
	return src->eof;
}

uint64_t
relay_source_bytes(const struct relay_source *src)
{
	return src->bytes;
}

void
relay_source_set_eof(struct relay_source *src, bool notify)
{
	struct relay_sink *k, **sinks;
	size_t i, n;

	if (src->eof)
		return;
	src->eof = true;
	log_info(2, "%s: %s after %llu bytes", src->name, notify ?
	    "end of file" : "stopped reading", (unsigned long long)src->bytes);
	loop_undefer(src->sess->loop, &src->kick);
	if (src->tls == NULL)
		loop_cancel_read(src->sess->loop, src->fd);
	for (i = 0; i < src->nsinks; i++) {
		k = src->sinks[i];
		if (k->live > 0)
			k->live--;
	}
	if (notify && src->on_eof != NULL)
		src->on_eof(src->eofarg);
	if (src->sess->ended)
		return;
	/*
	 * A sink that ends here may end its session, which takes it out of
	 * src->sinks: walk a copy.  Ended sessions are freed only later.
	 */
	n = src->nsinks;
	sinks = xreallocarray(NULL, n ? n : 1, sizeof *sinks);
	if (n > 0)
		memcpy(sinks, src->sinks, n * sizeof *sinks);
	for (i = 0; i < n; i++)
		relay_sink_update(sinks[i]);
	free(sinks);
	if (src->tls != NULL && !src->sess->ended)
		relay_tlsfd_sync(src->tls);
	relay_session_check(src->sess);
}

/*
 * Stop reading SRC as if it had reached end of file: what it already read
 * is still delivered, then its sinks end.
 */
void
relay_source_close(struct relay_source *src)
{
	relay_source_set_eof(src, false);
}

/* May SRC read another chunk into its sinks' queues? */
static bool
source_has_room(const struct relay_source *src)
{
	const struct relay_sink *k;
	bool any = false;
	size_t i;

	for (i = 0; i < src->nsinks; i++) {
		k = src->sinks[i];
		if (k->held < RELAY_QUEUE_BYTES)
			any = true;
		else if ((k->flags & RELAY_SINK_DROPPABLE) == 0)
			return false;
	}
	return any;
}

/* Does SRC want to read now (copying path)? */
bool
relay_source_wants(const struct relay_source *src)
{
	return src->started && !src->eof && !src->sess->ended &&
	    ((src->flags & RELAY_SOURCE_DISCARD) || source_has_room(src));
}

/* Hand a chunk just read to every sink; drop sinks too far behind. */
static void
source_deliver(struct relay_source *src, struct chunk *c)
{
	struct relay_sink *k;
	size_t i;
	char *msg;

	c->refs = 1;	/* held while it is handed out */
	for (i = 0; i < src->nsinks; i++) {
		relay_sink_push_chunk(src->sinks[i], c);
		relay_sink_update(src->sinks[i]);
	}
	relay_chunk_unref(c);
	for (i = 0; i < src->nsinks;) {
		k = src->sinks[i];
		if ((k->flags & RELAY_SINK_DROPPABLE) &&
		    k->held > RELAY_DROP_BYTES) {
			msg = log_fmt("%s: too slow, dropped with %zu bytes "
			    "queued in %zu bytes of memory", k->name, k->queued,
			    k->held);
			relay_session_end(k->sess, 1, msg);
			free(msg);
			continue;	/* it left src->sinks */
		}
		i++;
	}
}

/* A TLS read failed: a cut stream still delivers, then fails. */
static void
source_tls_failed(struct relay_source *src)
{
	char *msg;

	msg = log_fmt("tls %s: %s (%llu bytes received)", src->name,
	    tls_error(src->tls->tls), (unsigned long long)src->bytes);
	if (errno == EPROTO) {
		relay_session_fail_later(src->sess, msg);
		free(msg);
		relay_source_set_eof(src, true);
		return;
	}
	relay_session_end(src->sess, 1, msg);
	free(msg);
}

/*
 * -C: the N bytes just read into the spare buffer as a chunk with each
 * bare LF turned into CRLF (an LF after a CR, even one read earlier, is
 * left alone, so CRLF input stays CRLF).
 */
static struct chunk *
source_crlf(struct relay_source *src, size_t n)
{
	const char *in = src->sess->relay->spare->data;
	struct chunk *c = relay_chunk_new(2 * n);
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (in[i] == '\n' && !src->after_cr)
			c->data[o++] = '\r';
		c->data[o++] = in[i];
		src->after_cr = in[i] == '\r';
	}
	c->len = o;
	return c;
}

/* Read what SRC has, a few chunks at most, into its sinks. */
void
relay_source_read(struct relay_source *src)
{
	struct relay_session *s = src->sess;
	struct relay *r = s->relay;
	struct chunk *c;
	ssize_t n;
	int rounds;
	char *msg;

	for (rounds = 0; rounds < RELAY_READS_PER_WAKEUP; rounds++) {
		if (rounds > 0 && (s->ended || !relay_source_wants(src)))
			return;
		if (r->spare == NULL)
			r->spare = relay_buffer(r);
		if (src->tls != NULL) {
			n = tls_read(src->tls->tls, r->spare->data, RELAY_CHUNK);
			src->tls->src_wait = n == -1 && errno == EAGAIN ?
			    relay_tls_wait(src->tls->tls) : 0;
		} else if (src->kind == FD_SOCKET)
			n = recv(src->fd, r->spare->data, RELAY_CHUNK,
			    MSG_DONTWAIT);
		else
			n = read(src->fd, r->spare->data, RELAY_CHUNK);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* A pty master reads EIO once the slave side closed. */
			if (errno == EIO && src->kind == FD_TTY)
				n = 0;
			else if (src->tls != NULL) {
				source_tls_failed(src);
				return;
			} else {
				relay_fail(s, "read from", src->name, errno,
				    src->bytes, "received");
				return;
			}
		}
		if (n == 0) {
			relay_source_set_eof(src, true);
			return;
		}
		relay_touch(s);
		src->bytes += (uint64_t)n;
		if (src->flags & RELAY_SOURCE_CRLF)
			c = source_crlf(src, (size_t)n);
		else
			c = relay_chunk_take(r, (size_t)n);
		/* the tap sees what goes on: after -C */
		if (src->tap != NULL && src->tap(src->taparg, c->data, c->len,
		    &msg) == -1) {
			c->refs = 1;
			relay_chunk_unref(c);
			relay_session_end(s, 1, msg);
			free(msg);
			return;
		}
		if (!(src->flags & RELAY_SOURCE_DISCARD))
			source_deliver(src, c);
		else {
			c->refs = 1;
			relay_chunk_unref(c);
		}
		if (s->ended)
			return;
		relay_source_update(src);
		/* a plain fd read short is drained for now */
		if (src->tls == NULL && (size_t)n < RELAY_CHUNK)
			return;
	}
	/* TLS may hold decrypted bytes poll() cannot see: come back */
	if (src->tls != NULL && tls_pending(src->tls->tls))
		loop_defer(s->loop, &src->kick);
}

static void
source_io(struct loop *l, int fd, void *arg)
{
	(void)l;
	(void)fd;
	relay_source_read(arg);
}

/* Set SRC's read watch from its sinks' state. */
void
relay_source_update(struct relay_source *src)
{
	struct loop *l = src->sess->loop;

	if (!src->started || src->eof || src->sess->ended)
		return;
	if (src->tls != NULL) {
		relay_tlsfd_sync(src->tls);
		if (relay_source_wants(src) && tls_pending(src->tls->tls))
			loop_defer(l, &src->kick);
		return;
	}
	if (src->nsinks == 1 && src->sinks[0]->zc != ZC_COPY &&
	    zc_start(src, src->sinks[0]))
		return;
	if (relay_source_wants(src))
		loop_want_read(l, src->fd, source_io, src);
	else
		loop_cancel_read(l, src->fd);
}

void
relay_source_start(struct relay_source *src)
{
	src->started = true;
	relay_source_update(src);
}

