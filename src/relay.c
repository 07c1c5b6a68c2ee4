/*
 * relay.c - the relay context, chunks, sessions and links.  Sources are
 * in relay-source.c, sinks in relay-sink.c, the zero-copy paths in
 * relay-zc.c; relay-int.h is what they share.
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


/* How glibc's malloc sizes a block on 64-bit hosts (relay_chunk_new()). */
#define RELAY_MALLOC_HEADER	8
#define RELAY_MALLOC_ALIGN	16
#define RELAY_MALLOC_MIN	32


/* Append PTR to a growable array of pointers. */
void
relay_ptrs_push(void *arrayp, size_t *n, size_t *cap, void *ptr)
{
	void ***array = arrayp;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		*array = xreallocarray(*array, *cap, sizeof **array);
	}
	(*array)[(*n)++] = ptr;
}

/* Remove PTR from an array of pointers (order not kept). */
void
relay_ptrs_remove(void *arrayp, size_t *n, void *ptr)
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
	while (r->nidle_bufs > 0)
		free(r->bufs[--r->nidle_bufs]);
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
	c->home = NULL;
	c->refs = 0;
	c->len = 0;
	c->size = size < RELAY_MALLOC_MIN ? RELAY_MALLOC_MIN : size;
	return c;
}

/*
 * A RELAY_CHUNK read buffer: a recycled one if there is one.  Recycling
 * keeps a steady stream from allocating and freeing 64 KiB blocks, which
 * glibc would hand back to the kernel and fault in again each time.
 */
struct chunk *
relay_buffer(struct relay *r)
{
	struct chunk *c;

	if (r->nidle_bufs > 0)
		c = r->bufs[--r->nidle_bufs];
	else {
		c = relay_chunk_new(RELAY_CHUNK);
		c->home = r;
	}
	c->refs = 0;
	c->len = 0;
	return c;
}

void
relay_chunk_unref(struct chunk *c)
{
	struct relay *r = c->home;

	if (--c->refs > 0)
		return;
	if (r != NULL && r->nidle_bufs < RELAY_IDLE_BUFFERS)
		r->bufs[r->nidle_bufs++] = c;
	else
		free(c);
}

/* What a chunk in a sink's queue costs: its memory and its ring slot. */
size_t
relay_chunk_cost(const struct chunk *c)
{
	return c->size + sizeof c;
}

/*
 * The chunk for N bytes just read into r->spare: a big read keeps the
 * buffer, a small one gets a fitted copy, so a stalled queue of small
 * reads holds little memory.
 */
struct chunk *
relay_chunk_take(struct relay *r, size_t n)
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

/* TLS is freed when the session is (after its fds are closed). */
void
relay_session_own_tls(struct relay_session *s, struct tls_conn *tls)
{
	s->tlss = xreallocarray(s->tlss, s->ntlss + 1, sizeof *s->tlss);
	s->tlss[s->ntlss++] = tls;
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
		relay_ptrs_remove(&src->sinks, &src->nsinks, k);
		if (!src->sess->ended)
			relay_source_update(src);
	}
	k->nsources = k->live = 0;
	for (; k->rcount > 0; k->rcount--) {
		relay_chunk_unref(k->ring[k->rhead]);
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
		relay_ptrs_remove(&k->sources, &k->nsources, src);
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
	for (t = s->tlsfds; t != NULL; t = t->next) {
		loop_forget(s->loop, t->fd);
		/* a clean end tells the peer so, even where we never
		 * half-closed (-d): best effort, it is not waited for */
		if (status == 0 && !t->notified)
			(void)tls_close_notify(t->tls);
	}
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
	for (i = 0; i < s->ntlss; i++)
		tls_conn_free(s->tlss[i]);
	free(s->tlss);
	free(s->sources);
	free(s->sinks);
	free(s->fds);
	free(s->later);
	free(s);
}

/* The session is over when every source ended and every sink is done. */
void
relay_session_check(struct relay_session *s)
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

/*
 * A reset on one socket of S resets its other sockets too (forward): the
 * far side learns that the connection broke, not that it ended.
 */
void
relay_session_mirror_resets(struct relay_session *s)
{
	s->mirror_resets = true;
}

/* Fail S with "VERB NAME: strerror(ERR) (N bytes DONE)". */
void
relay_fail(struct relay_session *s, const char *verb, const char *name,
    int err, uint64_t bytes, const char *done)
{
	struct linger lin = { .l_onoff = 1, .l_linger = 0 };
	char *msg;
	size_t i;

	if (s->mirror_resets && (err == ECONNRESET || err == EPIPE))
		for (i = 0; i < s->nfds; i++)
			setsockopt(s->fds[i], SOL_SOCKET, SO_LINGER, &lin,
			    sizeof lin);

	msg = log_fmt("%s %s: %s (%llu bytes %s)", verb, name, strerror(err),
	    (unsigned long long)bytes, done);
	relay_session_end(s, 1, msg);
	free(msg);
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
	relay_ptrs_push(&src->sinks, &src->nsinks, &src->capsinks, k);
	relay_ptrs_push(&k->sources, &k->nsources, &k->capsources, src);
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

