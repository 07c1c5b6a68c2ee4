/*
 * relay-zc.c - the one-to-one relays that move bytes without copying them
 * through sockt: sendfile() from a regular file, splice() when a pipe is
 * on either side, and splice() through a pipe from a bounded pool for
 * socket to socket or file.  A pool pipe is held only while bytes are in
 * it, so ten thousand idle relays hold none.
 */
#include <sys/types.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "relay-int.h"
#include "xmalloc.h"

#define ZC_MAX_BYTES	(1024 * 1024)	/* per splice/sendfile call */
#define ZC_ROUNDS	16		/* calls per wakeup, then others */

const char *
zc_name(enum zc_mode zc)
{
	switch (zc) {
	case ZC_SENDFILE:
		return "sendfile";
	case ZC_SPLICE:
		return "splice";
	case ZC_PIPE:
		return "splice through a pipe";
	default:
		return "copy";
	}
}

static bool
zc_fd_ok(int fd, enum fd_kind kind)
{
	/* An inherited blocking socket could block inside splice(). */
	if (kind == FD_SOCKET)
		return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
	return kind != FD_TTY;
}

/*
 * Choose how the one-to-one relay SRC -> K moves its bytes (said under
 * -vv: sendfile, splice, or copy).
 */
static void
zc_choose(struct relay_source *src, struct relay_sink *k)
{
	k->zc = ZC_COPY;
	if (src->nsinks != 1 || k->nsources != 1 || src->tap != NULL ||
	    src->tls != NULL || k->tls != NULL ||
	    (src->flags & (RELAY_SOURCE_DISCARD | RELAY_SOURCE_NOSPLICE |
	    RELAY_SOURCE_CRLF)) ||
	    (k->flags & (RELAY_SINK_DROPPABLE | RELAY_SINK_KEEP |
	    RELAY_SINK_LOSSY)) ||
	    !zc_fd_ok(src->fd, src->kind) || !zc_fd_ok(k->fd, k->kind))
		;
	else if (src->kind == FD_FILE)
		k->zc = ZC_SENDFILE;
	else if (src->kind == FD_PIPE || k->kind == FD_PIPE)
		k->zc = ZC_SPLICE;
	else if (src->kind == FD_SOCKET)
		k->zc = ZC_PIPE;
	log_info(2, "%s -> %s: %s", src->name, k->name, k->tls != NULL ||
	    src->tls != NULL ? "TLS, copying" : zc_name(k->zc));
}

/* ---- the pipe pool ---------------------------------------------------- */

/* Give K a pipe from the pool; false when none can be had now. */
static bool
zc_pipe_get(struct relay_sink *k)
{
	struct relay *r = k->sess->relay;

	if (k->zpipe[0] != -1)
		return true;
	if (r->nidle > 0) {
		r->nidle--;
		k->zpipe[0] = r->idle[r->nidle][0];
		k->zpipe[1] = r->idle[r->nidle][1];
	} else {
		if (r->pipes >= RELAY_PIPES_MAX ||
		    pipe2(k->zpipe, O_NONBLOCK | O_CLOEXEC) == -1) {
			k->zpipe[0] = k->zpipe[1] = -1;
			return false;
		}
		fcntl(k->zpipe[1], F_SETPIPE_SZ, RELAY_PIPE_SIZE);
	}
	r->pipes++;
	return true;
}

static void
zc_wait_for_pipe(struct relay_sink *k)
{
	struct relay *r = k->sess->relay;

	if (k->zc_queued)
		return;
	k->zc_queued = true;
	k->zc_waiting = NULL;
	if (r->pipe_wait_tail != NULL)
		r->pipe_wait_tail->zc_waiting = k;
	else
		r->pipe_wait = k;
	r->pipe_wait_tail = k;
}

static void
zc_unwait(struct relay_sink *k)
{
	struct relay *r = k->sess->relay;
	struct relay_sink **pp, *prev = NULL;

	if (!k->zc_queued)
		return;
	for (pp = &r->pipe_wait; *pp != NULL; prev = *pp,
	    pp = &(*pp)->zc_waiting)
		if (*pp == k) {
			*pp = k->zc_waiting;
			if (r->pipe_wait_tail == k)
				r->pipe_wait_tail = prev;
			break;
		}
	k->zc_queued = false;
	k->zc_waiting = NULL;
}

/*
 * K's pipe goes back to the pool (it must be empty, or it is closed), and
 * the first sink waiting for one gets its turn.
 */
void
zc_release(struct relay_sink *k)
{
	struct relay *r = k->sess->relay;
	struct relay_sink *w;

	zc_unwait(k);
	if (k->zpipe[0] == -1)
		return;
	r->pipes--;
	if (k->zbytes == 0 && r->nidle < RELAY_PIPES_IDLE) {
		r->idle = xreallocarray(r->idle, r->nidle + 1,
		    sizeof *r->idle);
		r->idle[r->nidle][0] = k->zpipe[0];
		r->idle[r->nidle][1] = k->zpipe[1];
		r->nidle++;
	} else {
		close(k->zpipe[0]);
		close(k->zpipe[1]);
	}
	k->zpipe[0] = k->zpipe[1] = -1;
	k->zbytes = 0;
	if ((w = r->pipe_wait) != NULL) {
		zc_unwait(w);
		zc_update(w);
	}
}

/* ---- moving bytes ----------------------------------------------------- */

static void
zc_done_bytes(struct relay_source *src, struct relay_sink *k, size_t n)
{
	src->bytes += n;
	k->bytes += n;
	relay_touch(k->sess);
}

/* The kernel refused zero copy for these fds: copy instead, same result. */
static bool
zc_refused(struct relay_sink *k, int err)
{
	if ((err != EINVAL && err != ENOSYS && err != EOPNOTSUPP) ||
	    k->bytes != 0 || k->zbytes != 0)
		return false;
	log_info(2, "%s: zero copy refused (%s): copying", k->name,
	    strerror(err));
	zc_release(k);
	k->zc = ZC_COPY;
	return true;
}

/*
 * ZC_SENDFILE and ZC_SPLICE: move bytes SRC -> K directly.  FROM_SINK
 * says which side poll() reported ready, which tells what EAGAIN means.
 */
static void
zc_move(struct relay_source *src, struct relay_sink *k, bool from_sink)
{
	unsigned fl = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;
	ssize_t n;
	int rounds;

	for (rounds = 0; rounds < ZC_ROUNDS; rounds++) {
		if (k->zc == ZC_SENDFILE)
			n = sendfile(k->fd, src->fd, NULL, ZC_MAX_BYTES);
		else
			n = splice(src->fd, NULL, k->fd, NULL, ZC_MAX_BYTES,
			    fl);
		if (n > 0) {
			zc_done_bytes(src, k, (size_t)n);
			continue;
		}
		if (n == 0) {
			relay_source_set_eof(src, true);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* Whichever side was ready, the other one is not. */
			k->zc_wait_sink = k->zc == ZC_SENDFILE || !from_sink;
			break;
		}
		if (zc_refused(k, errno))
			break;
		/* Name the side that failed: EPIPE is always the sink's. */
		if (errno == EPIPE || (errno == ECONNRESET ? k->kind ==
		    FD_SOCKET : from_sink || k->zc == ZC_SENDFILE)) {
			relay_sink_error(k, errno);
			return;
		}
		relay_fail(src->sess, "read from", src->name, errno,
		    src->bytes, "received");
		return;
	}
	zc_update(k);
}

/* ZC_PIPE: fill K's pipe from the source. */
static void
zc_fill(struct relay_source *src, struct relay_sink *k)
{
	int cap;
	ssize_t n;

	if (!zc_pipe_get(k)) {
		zc_wait_for_pipe(k);
		zc_update(k);
		return;
	}
	cap = fcntl(k->zpipe[1], F_GETPIPE_SZ);
	while (k->zbytes < (size_t)cap && !k->zc_full) {
		n = splice(src->fd, NULL, k->zpipe[1], NULL,
		    (size_t)cap - k->zbytes, SPLICE_F_NONBLOCK |
		    SPLICE_F_MOVE);
		if (n > 0) {
			k->zbytes += (size_t)n;
			src->bytes += (uint64_t)n;
			relay_touch(k->sess);
			continue;
		}
		if (n == 0) {
			relay_source_set_eof(src, true);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* An empty pipe means the source is dry; else full. */
			k->zc_full = k->zbytes > 0;
			break;
		}
		if (zc_refused(k, errno))
			break;
		relay_fail(src->sess, "read from", src->name, errno,
		    src->bytes, "received");
		return;
	}
	zc_update(k);
}

/*
 * ZC_PIPE found a sink that refuses splice() after bytes already sat in
 * the pipe: move them into K's queue and copy from now on.  Returns 0, or
 * -1 (errno set) if the pipe could not be read.
 */
static int
zc_pipe_to_queue(struct relay_sink *k)
{
	struct chunk *c;
	ssize_t n;
	int saved = errno;

	while (k->zbytes > 0) {
		c = relay_chunk_new(k->zbytes);
		n = read(k->zpipe[0], c->data, k->zbytes);
		if (n <= 0) {
			free(c);
			errno = n == 0 ? saved : errno;
			return -1;
		}
		c->len = (size_t)n;
		k->zbytes -= (size_t)n;
		relay_sink_push_chunk(k, c);
	}
	zc_release(k);
	k->zc = ZC_COPY;
	k->zc_full = false;
	zc_update(k);
	return 0;
}

/* ZC_PIPE: drain K's pipe into the sink; an empty pipe goes back. */
static void
zc_drain(struct relay_sink *k)
{
	ssize_t n;

	while (k->zbytes > 0) {
		n = splice(k->zpipe[0], NULL, k->fd, NULL, k->zbytes,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			k->zbytes -= (size_t)n;
			k->bytes += (uint64_t)n;
			k->zc_full = false;
			relay_touch(k->sess);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1 && k->bytes == 0 && (errno == EINVAL ||
		    errno == ENOSYS || errno == EOPNOTSUPP)) {
			/* A sink that takes no splice (/dev/full): copy. */
			if (zc_pipe_to_queue(k) == 0)
				return;
		}
		relay_sink_error(k, n == 0 ? EPIPE : errno);
		return;
	}
	if (k->zbytes == 0)
		zc_release(k);
	zc_update(k);
}

static void
zc_source_ready(struct loop *l, int fd, void *arg)
{
	struct relay_sink *k = arg;

	(void)l;
	(void)fd;
	if (k->zc == ZC_PIPE)
		zc_fill(k->sources[0], k);
	else
		zc_move(k->sources[0], k, false);
}

static void
zc_sink_ready(struct loop *l, int fd, void *arg)
{
	struct relay_sink *k = arg;

	(void)l;
	(void)fd;
	if (k->zc == ZC_PIPE)
		zc_drain(k);
	else
		zc_move(k->sources[0], k, true);
}

/* Set the watches of a zero-copy relay from its state. */
void
zc_update(struct relay_sink *k)
{
	struct loop *l = k->sess->loop;
	struct relay_source *src;
	bool rd = false, wr = false;

	if (k->sess->ended || k->done)
		return;
	if (k->zc == ZC_COPY) {
		/* fell back: hand over to the copying relay */
		if (k->nsources == 1)
			relay_source_update(k->sources[0]);
		relay_sink_update(k);
		return;
	}
	src = k->nsources == 1 ? k->sources[0] : NULL;
	if (src != NULL && !src->eof) {
		if (k->zc == ZC_PIPE) {
			rd = !k->zc_full && !k->zc_queued;
			wr = k->zbytes > 0;
		} else if (k->zc == ZC_SENDFILE)
			wr = true;
		else {
			rd = !k->zc_wait_sink;
			wr = k->zc_wait_sink;
		}
	} else if (k->zc == ZC_PIPE)
		wr = k->zbytes > 0;
	if (src != NULL) {
		if (rd)
			loop_want_read(l, src->fd, zc_source_ready, k);
		else
			loop_cancel_read(l, src->fd);
	}
	if (wr)
		loop_want_write(l, k->fd, zc_sink_ready, k);
	else
		loop_cancel_write(l, k->fd);
	if (k->live == 0 && k->zbytes == 0 && (k->ended || k->nsources > 0))
		relay_sink_finish(k);
}

/* Start zero copy on K if the relay qualifies; false if it copies. */
bool
zc_start(struct relay_source *src, struct relay_sink *k)
{
	if (k->zc == ZC_UNDECIDED)
		zc_choose(src, k);
	if (k->zc == ZC_COPY)
		return false;
	zc_update(k);
	return true;
}
