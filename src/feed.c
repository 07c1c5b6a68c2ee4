/*
 * feed.c - stdin cut into datagrams for udp-send and udp-recv: one per
 * line, fixed-size chunks, or all of it as one, read into one buffer
 * and sent from it without another copy.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dgram.h"
#include "feed.h"
#include "xmalloc.h"

#define FEED_CAP	(4 * DGRAM_MAX)	/* the stdin buffer */

/*
 * Read FD (of KIND) as MODE datagrams: SIZE bytes each for
 * FEED_SIZE, none larger than MAX.  The buffer comes with the first
 * read.  An FD of -1 is an empty stdin that yields no datagram at all.
 */
void
feed_init(struct feed *f, int fd, enum fd_kind kind,
    enum feed_split mode, size_t size, size_t max)
{
	memset(f, 0, sizeof *f);
	f->fd = fd;
	f->kind = kind;
	f->mode = mode;
	f->size = size;
	f->max = max;
	f->cap = FEED_CAP;
	if (fd == -1)	/* stdin is not read: it is empty */
		f->eof = f->whole_sent = true;
}

void
feed_free(struct feed *f)
{
	free(f->buf);
	f->buf = NULL;
}

/* Is there room for another read (and a reason to make one)? */
bool
feed_room(const struct feed *f)
{
	if (f->eof || f->tail - f->head >= f->cap)
		return false;
	if (f->mode == FEED_LINES && f->tail - f->ready > f->max)
		return false;	/* an overlong line: feed_next() says so */
	if (f->mode == FEED_WHOLE && f->tail - f->head > f->max)
		return false;
	return true;
}

/*
 * Read once into the buffer, first moving what is left to its start.
 * Returns the bytes read, 0 at end of file, -1 with errno (EAGAIN: nothing
 * to read now).
 */
ssize_t
feed_fill(struct feed *f)
{
	size_t old;
	char *nl;
	ssize_t n;

	if (f->buf == NULL)
		f->buf = xmalloc(f->cap);
	if (f->head > 0) {
		memmove(f->buf, f->buf + f->head, f->tail - f->head);
		f->ready -= f->head;
		f->tail -= f->head;
		f->head = 0;
	}
	do {
		if (f->kind == FD_SOCKET)
			n = recv(f->fd, f->buf + f->tail, f->cap - f->tail,
			    MSG_DONTWAIT);
		else
			n = read(f->fd, f->buf + f->tail, f->cap - f->tail);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if (n == 0) {
		f->eof = true;
		f->ready = f->tail;	/* a last line without newline */
		return 0;
	}
	old = f->tail;
	f->tail += (size_t)n;
	switch (f->mode) {
	case FEED_LINES:
		nl = memrchr(f->buf + old, '\n', (size_t)n);
		if (nl != NULL)
			f->ready = (size_t)(nl - f->buf) + 1;
		break;
	case FEED_SIZE:
		f->ready += (f->tail - f->ready) / f->size * f->size;
		break;
	case FEED_WHOLE:
		break;
	}
	return n;
}

/*
 * Describe up to N complete datagrams from the first unsent byte in D,
 * without consuming them.  Returns how many, or -1 with errno EMSGSIZE
 * when the next datagram is larger than the maximum (a line too long, or
 * all of stdin under FEED_WHOLE).
 */
int
feed_next(struct feed *f, struct dgram *d, size_t n)
{
	size_t count = 0, pos = f->head, end, len;
	char *nl;

	switch (f->mode) {
	case FEED_LINES:
		while (count < n && pos < f->ready) {
			nl = memchr(f->buf + pos, '\n', f->ready - pos);
			end = nl ? (size_t)(nl - f->buf) + 1 : f->ready;
			len = end - pos;
			if (len > f->max)
				break;
			d[count].data = f->buf + pos;
			d[count].len = len;
			d[count++].to = NULL;
			pos = end;
		}
		if (count == 0 && ((pos < f->ready) || (!f->eof &&
		    f->tail - f->ready > f->max))) {
			errno = EMSGSIZE;
			return -1;
		}
		break;
	case FEED_SIZE:
		while (count < n && pos < f->ready) {
			len = f->ready - pos < f->size ? f->ready - pos :
			    f->size;
			d[count].data = f->buf + pos;
			d[count].len = len;
			d[count++].to = NULL;
			pos += len;
		}
		break;
	case FEED_WHOLE:
		if (f->tail - f->head > f->max) {
			errno = EMSGSIZE;
			return -1;
		}
		if (f->eof && !f->whole_sent && n > 0) {
			/* exactly one datagram, empty when stdin was */
			d[0].data = f->buf ? f->buf + f->head : "";
			d[0].len = f->tail - f->head;
			d[0].to = NULL;
			count = 1;
		}
		break;
	}
	return (int)count;
}

/* The first N datagrams last listed by feed_next() were sent. */
void
feed_consume(struct feed *f, const struct dgram *d, size_t n)
{
	if (n == 0)
		return;
	if (f->mode == FEED_WHOLE) {
		f->whole_sent = true;
		f->head = f->tail;
	} else
		f->head = (size_t)((const char *)d[n - 1].data - f->buf) +
		    d[n - 1].len;
	if (f->head == f->tail)
		f->head = f->ready = f->tail = 0;
}

/* Was stdin read to its end and all of it sent? */
bool
feed_done(const struct feed *f)
{
	if (!f->eof)
		return false;
	if (f->mode == FEED_WHOLE)
		return f->whole_sent;
	return f->head == f->tail;
}
