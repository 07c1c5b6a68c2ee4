/*
 * relay-sink.c - sinks: a queue of shared chunks written to an fd (plain
 * or through TLS), data pushed by code, and the end-of-stream actions.
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

#define RELAY_IOV_MAX		64
#define RELAY_RING_KEEP		64	/* an empty ring above this is freed */

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
	k->tls = relay_tlsfd_get(k->sess, k->fd, tls);
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

/* The errno a write to K failed with, 0 if none did. */
int
relay_sink_errno(const struct relay_sink *k)
{
	return k->error;
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
	k->held += relay_chunk_cost(c);
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
		relay_ptrs_remove(&src->sinks, &src->nsinks, k);
		relay_source_update(src);
	}
	k->live = 0;
	relay_sink_update(k);
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
				    relay_tls_wait(k->tls->tls);
				relay_tlsfd_sync(k->tls);
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
		relay_tlsfd_sync(k->tls);
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
	relay_session_check(k->sess);
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

	k->error = err;
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
			relay_chunk_unref(k->ring[k->rhead]);
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
		k->held -= relay_chunk_cost(c);
		k->rhead = (k->rhead + 1) % k->rcap;
		k->rcount--;
		relay_chunk_unref(c);
	}
	if (k->rcount == 0 && k->rcap > RELAY_RING_KEEP) {
		/* a burst of small reads grew it: give that memory back */
		free(k->ring);
		k->ring = NULL;
		k->rcap = k->rhead = 0;
	}
}

void
relay_sink_write(struct relay_sink *k)
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
		    relay_tls_wait(k->tls->tls) : 0;
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
	relay_sink_write(arg);
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
			relay_tlsfd_sync(k->tls);
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

