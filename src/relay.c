/*
 * relay.c - sessions, sources and sinks, their queues of shared chunks,
 * and the copying path (plain and TLS).  The zero-copy paths are in
 * zerocopy.c.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "relay-int.h"
#include "tls.h"
#include "xmalloc.h"

#define RELAY_IOV_MAX		64
#define RELAY_READS_PER_WAKEUP	4	/* then let others run */
#define RELAY_RING_KEEP		64	/* an empty ring above this is freed */

/* How glibc's malloc sizes a block on 64-bit hosts (relay_chunk_new()). */
#define RELAY_MALLOC_HEADER	8
#define RELAY_MALLOC_ALIGN	16
#define RELAY_MALLOC_MIN	32

static void	tlsfd_sync(struct relay_tlsfd *);

/* Append PTR to a growable array of pointers. */
static void
ptrs_push(void *arrayp, size_t *n, size_t *cap, void *ptr)
{
	void ***array = arrayp;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		*array = xreallocarray(*array, *cap, sizeof **array);
	}
	(*array)[(*n)++] = ptr;
}

/* Remove PTR from an array of pointers (order not kept). */
static void
ptrs_remove(void *arrayp, size_t *n, void *ptr)
{
	void **array = *(void ***)arrayp;
	size_t i;

	for (i = 0; i < *n; i++)
		if (array[i] == ptr) {
			array[i] = array[--*n];
			return;
		}
}

/* ---- the relay context ------------------------------------------------ */

struct relay *
relay_new(struct loop *l)
{
	struct relay *r = xcalloc(1, sizeof *r);

	r->loop = l;
	r->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	return r;
}

struct loop *
relay_loop(const struct relay *r)
{
	return r->loop;
}

static void	session_free(struct relay_session *);

/*
 * Free R; sessions still running end quietly, their owner is leaving.
 * Call before loop_free(), which frees those sessions.
 */
void
relay_free(struct relay *r)
{
	size_t i;

	if (r == NULL)
		return;
	while (r->live != NULL) {
		r->live->done = NULL;
		relay_session_end(r->live, 0, NULL);
	}
	/* their frees are deferred work: loop_free() runs it */
	for (i = 0; i < r->nidle; i++) {
		close(r->idle[i][0]);
		close(r->idle[i][1]);
	}
	free(r->idle);
	free(r->spare);
	if (r->devnull != -1)
		close(r->devnull);
	free(r);
}

/* ---- chunks ----------------------------------------------------------- */

/*
 * A chunk with room for CAP bytes.  Its size is the block malloc really
 * takes: a header word, rounded up to 16 bytes, 32 at least.  Sinks are
 * charged that, not the payload, so that a queue of one-byte reads is
 * bounded as tightly as one of big reads.
 */
struct chunk *
relay_chunk_new(size_t cap)
{
	size_t size = sizeof(struct chunk) + cap;
	struct chunk *c = xmalloc(size);

	size = (size + RELAY_MALLOC_HEADER + RELAY_MALLOC_ALIGN - 1) &
	    ~(size_t)(RELAY_MALLOC_ALIGN - 1);
	c->refs = 0;
	c->len = 0;
	c->size = size < RELAY_MALLOC_MIN ? RELAY_MALLOC_MIN : size;
	return c;
}

static void
chunk_unref(struct chunk *c)
{
	if (--c->refs == 0)
		free(c);
}

/* What a chunk in a sink's queue costs: its memory and its ring slot. */
static size_t
chunk_cost(const struct chunk *c)
{
	return c->size + sizeof c;
}

/*
 * The chunk for N bytes just read into r->spare: a big read keeps the
 * buffer, a small one gets a fitted copy, so a stalled queue of small
 * reads holds little memory.
 */
static struct chunk *
chunk_take(struct relay *r, size_t n)
{
	struct chunk *c;

	if (n >= RELAY_CHUNK / 2) {
		c = r->spare;
		r->spare = NULL;
	} else {
		c = relay_chunk_new(n);
		memcpy(c->data, r->spare->data, n);
	}
	c->len = n;
	return c;
}

/* ---- sessions --------------------------------------------------------- */

void
relay_touch(struct relay_session *s)
{
	s->active = loop_time(s->loop);
}

static void
session_idle_fire(struct loop *l, void *arg)
{
	struct relay_session *s = arg;
	uint64_t deadline = s->active + (uint64_t)s->idle_ms;
	char *msg;

	if (loop_time(l) < deadline) {
		loop_timer_arm(l, &s->idle, deadline);
		return;
	}
	msg = log_fmt("idle timeout: no traffic for %d.%03d s",
	    s->idle_ms / 1000, s->idle_ms % 1000);
	relay_session_end(s, 1, msg);
	free(msg);
}

static void
session_reap(struct loop *l, void *arg)
{
	(void)l;
	session_free(arg);
}

/*
 * A new session of R; DONE runs once when it ends, with status 0 or 1 and
 * the first error.  The session is freed after DONE returns, outside
 * every callback.
 */
struct relay_session *
relay_session_new(struct relay *r, relay_done_fn *done, void *arg)
{
	struct relay_session *s = xcalloc(1, sizeof *s);

	s->relay = r;
	s->loop = r->loop;
	s->done = done;
	s->arg = arg;
	s->active = loop_time(r->loop);
	loop_timer_init(&s->idle, session_idle_fire, s);
	loop_deferred_init(&s->reap, session_reap, s);
	s->next = r->live;
	if (r->live != NULL)
		r->live->prev = s;
	r->live = s;
	return s;
}

/* FD is closed when the session ends. */
void
relay_session_own_fd(struct relay_session *s, int fd)
{
	s->fds = xreallocarray(s->fds, s->nfds + 1, sizeof *s->fds);
	s->fds[s->nfds++] = fd;
}

/* End the session with status 1 after MS milliseconds without traffic. */
void
relay_session_set_idle(struct relay_session *s, int ms)
{
	s->idle_ms = ms;
	if (ms > 0)
		loop_timer_arm(s->loop, &s->idle, s->active + (uint64_t)ms);
	else
		loop_timer_disarm(s->loop, &s->idle);
}

/*
 * The session goes on delivering what it holds, but ends with status 1
 * and MSG (the first one given): a TLS stream cut without close_notify.
 */
void
relay_session_fail_later(struct relay_session *s, const char *msg)
{
	if (s->later == NULL)
		s->later = xstrdup(msg);
}

static void
sink_detach(struct relay_sink *k)
{
	struct loop *l = k->sess->loop;
	struct relay_source *src;
	size_t i;

	zc_release(k);
	if (k->fd != -1)
		loop_cancel_write(l, k->fd);
	if ((k->flags & RELAY_SINK_CLOSE) && k->fd != -1) {
		loop_forget(l, k->fd);
		close(k->fd);
		k->fd = -1;
		if (k->alias_fd != -1 && k->sess->relay->devnull != -1)
			dup2(k->sess->relay->devnull, k->alias_fd);
	}
	for (i = 0; i < k->nsources; i++) {
		src = k->sources[i];
		ptrs_remove(&src->sinks, &src->nsinks, k);
		if (!src->sess->ended)
			relay_source_update(src);
	}
	k->nsources = k->live = 0;
	for (; k->rcount > 0; k->rcount--) {
		chunk_unref(k->ring[k->rhead]);
		k->rhead = (k->rhead + 1) % k->rcap;
	}
	k->queued = k->held = 0;
}

static void
source_detach(struct relay_source *src)
{
	struct relay_sink *k;
	size_t i;

	loop_undefer(src->sess->loop, &src->kick);
	loop_cancel_read(src->sess->loop, src->fd);
	for (i = 0; i < src->nsinks; i++) {
		k = src->sinks[i];
		ptrs_remove(&k->sources, &k->nsources, src);
		if (!src->eof && k->live > 0)
			k->live--;
		if (!k->sess->ended)
			relay_sink_update(k);
	}
	src->nsinks = 0;
	src->eof = true;
}

/*
 * End S now with STATUS (0 or 1) and MSG (may be NULL): stop its watches,
 * unlink it from shared sources and sinks, close its fds, run its done
 * callback.  Bytes still queued in its sinks are dropped, so a graceful
 * end closes the sources instead (relay_source_close()).
 */
void
relay_session_end(struct relay_session *s, int status, const char *msg)
{
	struct relay *r = s->relay;
	struct relay_tlsfd *t;
	size_t i;

	if (s->ended)
		return;
	s->ended = true;
	loop_timer_disarm(s->loop, &s->idle);
	for (t = s->tlsfds; t != NULL; t = t->next)
		loop_forget(s->loop, t->fd);
	for (i = 0; i < s->nsources; i++)
		source_detach(s->sources[i]);
	for (i = 0; i < s->nsinks; i++)
		sink_detach(s->sinks[i]);
	for (i = 0; i < s->nfds; i++) {
		loop_forget(s->loop, s->fds[i]);
		close(s->fds[i]);
	}
	s->nfds = 0;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		r->live = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	if (status == 0 && s->later != NULL) {
		status = 1;
		msg = s->later;
	}
	if (s->done != NULL)
		s->done(s, status, msg, s->arg);
	loop_defer(s->loop, &s->reap);
}

static void
session_free(struct relay_session *s)
{
	struct relay_tlsfd *t;
	struct relay_sink *k;
	size_t i;

	for (i = 0; i < s->nsources; i++) {
		free(s->sources[i]->sinks);
		free(s->sources[i]->name);
		free(s->sources[i]);
	}
	for (i = 0; i < s->nsinks; i++) {
		k = s->sinks[i];
		free(k->sources);
		free(k->ring);
		free(k->name);
		free(k);
	}
	while ((t = s->tlsfds) != NULL) {
		s->tlsfds = t->next;
		free(t);
	}
	free(s->sources);
	free(s->sinks);
	free(s->fds);
	free(s->later);
	free(s);
}

/* The session is over when every source ended and every sink is done. */
static void
session_check(struct relay_session *s)
{
	size_t i;

	if (s->ended)
		return;
	for (i = 0; i < s->nsources; i++)
		if (!s->sources[i]->eof)
			return;
	for (i = 0; i < s->nsinks; i++)
		if (!s->sinks[i]->done)
			return;
	relay_session_end(s, 0, NULL);
}

/* Fail S with "VERB NAME: strerror(ERR) (N bytes DONE)". */
void
relay_fail(struct relay_session *s, const char *verb, const char *name,
    int err, uint64_t bytes, const char *done)
{
	char *msg;

	msg = log_fmt("%s %s: %s (%llu bytes %s)", verb, name, strerror(err),
	    (unsigned long long)bytes, done);
	relay_session_end(s, 1, msg);
	free(msg);
}

/* ---- TLS sockets ------------------------------------------------------ */

/* The record of S for TLS socket FD, made on first use. */
static struct relay_tlsfd *
tlsfd_get(struct relay_session *s, int fd, struct tls_conn *tls)
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

static void	source_read(struct relay_source *);
static void	sink_write(struct relay_sink *);
static bool	source_wants(const struct relay_source *);

/* Either event on a TLS socket: let both directions try. */
static void
tlsfd_event(struct loop *l, int fd, void *arg)
{
	struct relay_tlsfd *t = arg;
	struct relay_session *s = t->src ? t->src->sess : t->sink->sess;

	(void)l;
	(void)fd;
	if (t->sink != NULL && !t->sink->done && !s->ended)
		sink_write(t->sink);
	if (t->src != NULL && !s->ended && source_wants(t->src))
		source_read(t->src);
	if (!s->ended)
		tlsfd_sync(t);
}

/* Watch a TLS socket for what its two directions wait for. */
static void
tlsfd_sync(struct relay_tlsfd *t)
{
	struct relay_session *s = t->src ? t->src->sess : t->sink->sess;
	struct relay_sink *k = t->sink;
	bool rd = false, wr = false;

	if (s->ended)
		return;
	if (t->src != NULL && source_wants(t->src)) {
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

static int
tls_poll_event(struct tls_conn *tls)
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
	if (!src->sess->ended && source_wants(src))
		source_read(src);
	if (!src->sess->ended && src->tls != NULL)
		tlsfd_sync(src->tls);
}

/* SRC reads through TLS connection TLS (on its fd): no zero copy. */
void
relay_source_tls(struct relay_source *src, struct tls_conn *tls)
{
	src->tls = tlsfd_get(src->sess, src->fd, tls);
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
		tlsfd_sync(src->tls);
	session_check(src->sess);
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
static bool
source_wants(const struct relay_source *src)
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
	chunk_unref(c);
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

/* Read what SRC has, a few chunks at most, into its sinks. */
static void
source_read(struct relay_source *src)
{
	struct relay_session *s = src->sess;
	struct relay *r = s->relay;
	ssize_t n;
	int rounds;
	char *msg;

	for (rounds = 0; rounds < RELAY_READS_PER_WAKEUP; rounds++) {
		if (rounds > 0 && (s->ended || !source_wants(src)))
			return;
		if (r->spare == NULL)
			r->spare = relay_chunk_new(RELAY_CHUNK);
		if (src->tls != NULL) {
			n = tls_read(src->tls->tls, r->spare->data, RELAY_CHUNK);
			src->tls->src_wait = n == -1 && errno == EAGAIN ?
			    tls_poll_event(src->tls->tls) : 0;
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
		if (src->tap != NULL && src->tap(src->taparg, r->spare->data,
		    (size_t)n, &msg) == -1) {
			relay_session_end(s, 1, msg);
			free(msg);
			return;
		}
		if (!(src->flags & RELAY_SOURCE_DISCARD))
			source_deliver(src, chunk_take(r, (size_t)n));
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
	source_read(arg);
}

/* Set SRC's read watch from its sinks' state. */
void
relay_source_update(struct relay_source *src)
{
	struct loop *l = src->sess->loop;

	if (!src->started || src->eof || src->sess->ended)
		return;
	if (src->tls != NULL) {
		tlsfd_sync(src->tls);
		if (source_wants(src) && tls_pending(src->tls->tls))
			loop_defer(l, &src->kick);
		return;
	}
	if (src->nsinks == 1 && src->sinks[0]->zc != ZC_COPY &&
	    zc_start(src, src->sinks[0]))
		return;
	if (source_wants(src))
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

/* ---- sinks ------------------------------------------------------------ */

/*
 * A sink writing FD (of KIND) for session S.  FLAGS choose its end of
 * stream action and its policy when it falls behind.
 */
struct relay_sink *
relay_sink_new(struct relay_session *s, int fd, enum fd_kind kind,
    const char *name, unsigned flags)
{
	struct relay_sink *k = xcalloc(1, sizeof *k);

	k->sess = s;
	k->fd = fd;
	k->alias_fd = -1;
	k->kind = kind;
	k->flags = flags;
	k->name = xstrdup(name);
	k->zpipe[0] = k->zpipe[1] = -1;
	s->sinks = xreallocarray(s->sinks, s->nsinks + 1, sizeof *s->sinks);
	s->sinks[s->nsinks++] = k;
	return k;
}

/* K writes through TLS connection TLS (on its fd): no zero copy. */
void
relay_sink_tls(struct relay_sink *k, struct tls_conn *tls)
{
	k->tls = tlsfd_get(k->sess, k->fd, tls);
	k->tls->sink = k;
	k->zc = ZC_COPY;
}

/* Close FD too when K closes (stdout's fd 1 behind our own description). */
void
relay_sink_close_also(struct relay_sink *k, int fd)
{
	k->alias_fd = fd;
}

/* FN runs once K has done its end-of-stream action. */
void
relay_sink_on_done(struct relay_sink *k, relay_event_fn *fn, void *arg)
{
	k->on_done = fn;
	k->donearg = arg;
}

/* FN runs when K's queue falls below RELAY_QUEUE_BYTES again. */
void
relay_sink_on_room(struct relay_sink *k, relay_event_fn *fn, void *arg)
{
	k->on_room = fn;
	k->roomarg = arg;
}

bool
relay_sink_done(const struct relay_sink *k)
{
	return k->done;
}

uint64_t
relay_sink_bytes(const struct relay_sink *k)
{
	return k->bytes;
}

size_t
relay_sink_queued(const struct relay_sink *k)
{
	return k->queued + k->zbytes;
}

/* Has K's queue room for more (relay_sink_push())? */
bool
relay_sink_room(const struct relay_sink *k)
{
	return k->held < RELAY_QUEUE_BYTES;
}

/* The zero-copy path K uses, for -vv. */
const char *
relay_path(const struct relay_sink *k)
{
	return k->tls != NULL ? "TLS, copying" : zc_name(k->zc);
}

void
relay_sink_push_chunk(struct relay_sink *k, struct chunk *c)
{
	size_t i, newcap;
	struct chunk **ring;

	if (k->gone)
		return;
	if (k->rcount == k->rcap) {
		newcap = k->rcap ? k->rcap * 2 : 4;
		ring = xcalloc(newcap, sizeof *ring);
		for (i = 0; i < k->rcount; i++)
			ring[i] = k->ring[(k->rhead + i) % k->rcap];
		free(k->ring);
		k->ring = ring;
		k->rcap = newcap;
		k->rhead = 0;
	}
	k->ring[(k->rhead + k->rcount++) % k->rcap] = c;
	c->refs++;
	k->queued += c->len;
	k->held += chunk_cost(c);
}

/*
 * Queue LEN bytes of DATA on K, as if a source had read them: for code
 * that produces a stream (an HTTP head, a datagram for stdout).  K copies
 * them and never zero-copies from then on.
 */
void
relay_sink_push(struct relay_sink *k, const void *data, size_t len)
{
	struct chunk *c;

	if (len == 0 || k->done || k->sess->ended)
		return;
	if (k->zc == ZC_UNDECIDED)
		k->zc = ZC_COPY;
	c = relay_chunk_new(len);
	memcpy(c->data, data, len);
	c->len = len;
	relay_sink_push_chunk(k, c);
	relay_sink_update(k);
}

/*
 * K takes no more data: it is unlinked from its sources, and once its
 * queue is empty it does its end of stream action.
 */
void
relay_sink_end(struct relay_sink *k)
{
	struct relay_source *src;

	k->ended = true;
	k->flags &= ~RELAY_SINK_KEEP;
	while (k->nsources > 0) {
		src = k->sources[--k->nsources];
		ptrs_remove(&src->sinks, &src->nsinks, k);
		relay_source_update(src);
	}
	k->live = 0;
	relay_sink_update(k);
}

/* Feed K from SRC. */
int
relay_link(struct relay_source *src, struct relay_sink *k)
{
	if (k->zc != ZC_UNDECIDED && k->zc != ZC_COPY) {
		errno = EBUSY;	/* a zero-copy relay takes no second party */
		return -1;
	}
	if (src->nsinks == 1 && src->sinks[0]->zc != ZC_UNDECIDED &&
	    src->sinks[0]->zc != ZC_COPY) {
		errno = EBUSY;
		return -1;
	}
	ptrs_push(&src->sinks, &src->nsinks, &src->capsinks, k);
	ptrs_push(&k->sources, &k->nsources, &k->capsources, src);
	if (!src->eof)
		k->live++;
	/* A second party means copying for everyone involved. */
	if (src->nsinks > 1 || k->nsources > 1) {
		k->zc = ZC_COPY;
		if (src->nsinks > 1)
			src->sinks[0]->zc = ZC_COPY;
		if (k->nsources > 1 && k->sources[0]->nsinks == 1)
			k->sources[0]->sinks[0]->zc = ZC_COPY;
	}
	relay_source_update(src);
	return 0;
}

/* The end of stream action: close_notify and shutdown(SHUT_WR), or close. */
void
relay_sink_finish(struct relay_sink *k)
{
	struct loop *l = k->sess->loop;
	int r = 0;

	if (k->done)
		return;
	if (k->tls != NULL && (k->flags & RELAY_SINK_SHUTDOWN) &&
	    !k->tls->notified) {
		if (tls_close_notify(k->tls->tls) == -1) {
			if (errno == EAGAIN) {
				k->tls->sink_wait =
				    tls_poll_event(k->tls->tls);
				tlsfd_sync(k->tls);
				return;
			}
			relay_sink_error(k, errno);
			return;
		}
		k->tls->notified = true;
		k->tls->sink_wait = 0;
	}
	k->done = true;
	if (k->tls != NULL)
		tlsfd_sync(k->tls);
	else if (k->fd != -1)
		loop_cancel_write(l, k->fd);
	if (k->flags & RELAY_SINK_SHUTDOWN) {
		if (shutdown(k->fd, SHUT_WR) == -1 && errno != ENOTCONN)
			r = -1;
	} else if (k->flags & RELAY_SINK_CLOSE) {
		loop_forget(l, k->fd);
		r = close(k->fd);
		k->fd = -1;
		if (k->alias_fd != -1 && k->sess->relay->devnull != -1)
			dup2(k->sess->relay->devnull, k->alias_fd);
	}
	if (r == -1) {
		relay_fail(k->sess, "close", k->name, errno, k->bytes, "sent");
		return;
	}
	if (k->on_done != NULL)
		k->on_done(k->donearg);
	session_check(k->sess);
}

/*
 * A write to K failed with ERR: stdout closed by its reader dies by
 * SIGPIPE like a filter; a LOSSY sink discards from now on; anything
 * else fails the session.
 */
void
relay_sink_error(struct relay_sink *k, int err)
{
	struct relay_source *src;
	size_t i;

	if (err == EPIPE && (k->flags & RELAY_SINK_STDOUT)) {
		loop_die_by(k->sess->loop, SIGPIPE);
		return;
	}
	if ((err == EPIPE || err == ECONNRESET || err == EIO) &&
	    (k->flags & RELAY_SINK_LOSSY)) {
		log_info(2, "%s: the reader left: discarding what follows",
		    k->name);
		k->gone = true;
		k->zc = ZC_COPY;
		for (; k->rcount > 0; k->rcount--) {
			chunk_unref(k->ring[k->rhead]);
			k->rhead = (k->rhead + 1) % k->rcap;
		}
		k->queued = k->held = k->off = 0;
		for (i = 0; i < k->nsources; i++) {
			src = k->sources[i];
			relay_source_update(src);
		}
		relay_sink_update(k);
		return;
	}
	if (k->tls != NULL && err == EPROTO) {
		char *msg = log_fmt("tls %s: %s (%llu bytes sent)", k->name,
		    tls_error(k->tls->tls), (unsigned long long)k->bytes);

		relay_session_end(k->sess, 1, msg);
		free(msg);
		return;
	}
	relay_fail(k->sess, "write to", k->name, err, k->bytes, "sent");
}

/* Drop N written bytes from the head of K's queue. */
static void
sink_consume(struct relay_sink *k, size_t n)
{
	struct chunk *c;

	k->bytes += (uint64_t)n;
	k->queued -= n;
	while (n > 0) {
		c = k->ring[k->rhead];
		if (n < c->len - k->off) {
			k->off += n;
			break;
		}
		n -= c->len - k->off;
		k->off = 0;
		k->held -= chunk_cost(c);
		k->rhead = (k->rhead + 1) % k->rcap;
		k->rcount--;
		chunk_unref(c);
	}
	if (k->rcount == 0 && k->rcap > RELAY_RING_KEEP) {
		/* a burst of small reads grew it: give that memory back */
		free(k->ring);
		k->ring = NULL;
		k->rcap = k->rhead = 0;
	}
}

static void
sink_write(struct relay_sink *k)
{
	struct iovec iov[RELAY_IOV_MAX];
	struct msghdr msg;
	struct relay_source *src;
	size_t i, was = k->held;
	struct chunk *c;
	ssize_t w;

	if (k->rcount == 0) {
		relay_sink_update(k);
		return;
	}
	for (i = 0; i < k->rcount && i < RELAY_IOV_MAX; i++) {
		c = k->ring[(k->rhead + i) % k->rcap];
		iov[i].iov_base = c->data + (i == 0 ? k->off : 0);
		iov[i].iov_len = c->len - (i == 0 ? k->off : 0);
	}
	if (k->tls != NULL) {
		w = tls_writev(k->tls->tls, iov, (int)i);
		k->tls->sink_wait = w == -1 && errno == EAGAIN ?
		    tls_poll_event(k->tls->tls) : 0;
	} else if (k->kind == FD_SOCKET) {
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = iov;
		msg.msg_iovlen = i;
		w = sendmsg(k->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	} else
		w = writev(k->fd, iov, (int)i);
	if (w == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		relay_sink_error(k, errno);
		return;
	}
	relay_touch(k->sess);
	sink_consume(k, (size_t)w);
	relay_sink_update(k);
	if (k->sess->ended)
		return;
	/* Room again: wake the sources that were held back. */
	if (was >= RELAY_QUEUE_BYTES && k->held < RELAY_QUEUE_BYTES) {
		for (i = 0; i < k->nsources && !k->sess->ended; i++) {
			src = k->sources[i];
			relay_source_update(src);
		}
		if (k->on_room != NULL && !k->sess->ended)
			k->on_room(k->roomarg);
	}
}

static void
sink_io(struct loop *l, int fd, void *arg)
{
	(void)l;
	(void)fd;
	sink_write(arg);
}

/* Set K's write watch from its queue; end it once drained and orphaned. */
void
relay_sink_update(struct relay_sink *k)
{
	struct loop *l = k->sess->loop;

	if (k->done || k->sess->ended)
		return;
	if (k->zc != ZC_COPY && k->zc != ZC_UNDECIDED) {
		zc_update(k);
		return;
	}
	if (k->tls != NULL) {
		if (k->rcount == 0 && k->live == 0 &&
		    !(k->flags & RELAY_SINK_KEEP) &&
		    (k->ended || k->nsources > 0))
			relay_sink_finish(k);
		else
			tlsfd_sync(k->tls);
		return;
	}
	if (k->rcount > 0 && !k->gone) {
		loop_want_write(l, k->fd, sink_io, k);
		return;
	}
	loop_cancel_write(l, k->fd);
	if (k->live == 0 && (k->flags & RELAY_SINK_KEEP) == 0 &&
	    (k->ended || k->nsources > 0))
		relay_sink_finish(k);
}
