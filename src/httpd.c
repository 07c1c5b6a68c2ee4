/*
 * httpd.c - the HTTP/1.1 server engine: each connection is a small state
 * machine on the loop's watches (read a head, wait for the handler's
 * answer, write it, then read the next head or linger and close).
 */
#include <sys/types.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "httpd.h"
#include "log.h"
#include "sock.h"
#include "xmalloc.h"

#define HTTPD_SEND_SLICE	(8 * 1024 * 1024)	/* per wakeup: fairness */
#define HTTPD_COPY		(64 * 1024)	/* a file body, not sendfile() */

enum httpd_state {
	HTTPD_READ,		/* reading a request head */
	HTTPD_WAIT,		/* the handler has the request */
	HTTPD_SEND,		/* writing the response */
	HTTPD_LINGER		/* our side is shut; draining the client's */
};

struct httpd {
	struct loop		*loop;
	struct listener		*listener;
	struct httpd_spec	 spec;
	struct httpd_handler	 handler;
	struct httpd_conn	*conns;
	size_t			 nconns;
	long long		 served;
	int			 status;
	bool			 finishing;	/* --count reached */
	bool			 freeing;
};

struct httpd_conn {
	struct httpd		*h;
	int			 fd;
	bool			 plain;		/* no TLS: sendfile() */
	char			*name;
	enum httpd_state	 state;
	char			*in;		/* HTTP_MAX_HEAD bytes, lazily */
	size_t			 inlen;
	size_t			 reqlen;	/* the head being answered */
	struct http_request	 req;
	uint64_t		 req_started;	/* first byte of this head */
	uint64_t		 active;	/* last progress */
	bool			 keep_alive;
	int			 status;	/* of the response, for -v */
	char			*head;		/* the response head */
	size_t			 headlen;
	size_t			 headoff;
	char			*body;		/* a body from memory */
	size_t			 bodylen;
	size_t			 bodyoff;
	int			 file;		/* or from a file, or -1 */
	off_t			 file_off;	/* file bytes [off, end) */
	off_t			 file_end;
	off_t			 file_start;	/* file_off when sending began */
	struct loop_timer	 timer;		/* idle, head or linger */
	void			*data;		/* the handler's */
	struct httpd_conn	*prev;
	struct httpd_conn	*next;
};

static void	httpd_conn_read(struct loop *, int, void *);
static void	httpd_conn_process(struct httpd_conn *);

/* ---- the connection's I/O: the one place TLS would wrap ---------------- */

static ssize_t
httpd_io_read(struct httpd_conn *c, void *buf, size_t len)
{
	return recv(c->fd, buf, len, MSG_DONTWAIT);
}

/* Write from IOV (N pieces); MORE: more follows at once (MSG_MORE). */
static ssize_t
httpd_io_write(struct httpd_conn *c, struct iovec *iov, int n, bool more)
{
	struct msghdr msg;

	memset(&msg, 0, sizeof msg);
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)n;
	return sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT |
	    (more ? MSG_MORE : 0));
}

/*
 * Up to LEN bytes of the file body at c->file_off: sendfile() on a plain
 * connection, else (and where sendfile() refuses the file) a copy.
 * Returns the bytes sent, 0 when the file ended early, -1 with errno.
 */
static ssize_t
httpd_io_sendfile(struct httpd_conn *c, size_t len)
{
	char buf[HTTPD_COPY];
	struct iovec iov;
	off_t off = c->file_off;
	ssize_t n, w;

	if (c->plain) {
		n = sendfile(c->fd, c->file, &off, len);
		if (n != -1 || (errno != EINVAL && errno != ENOSYS))
			return n;
		c->plain = false;	/* not this file: copy from now on */
	}
	if (len > sizeof buf)
		len = sizeof buf;
	if ((n = pread(c->file, buf, len, c->file_off)) <= 0)
		return n;
	iov.iov_base = buf;
	iov.iov_len = (size_t)n;
	/* A short write leaves the rest in the file, read again later. */
	w = httpd_io_write(c, &iov, 1, false);
	return w;
}

static int
httpd_io_shutdown(struct httpd_conn *c)
{
	return shutdown(c->fd, SHUT_WR);
}

/* ---- connections ------------------------------------------------------- */

/* Forget the response (its head, body and file). */
static void
httpd_conn_reset(struct httpd_conn *c)
{
	if (c->file != -1)
		close(c->file);
	c->file = -1;
	c->file_off = c->file_end = c->file_start = 0;
	free(c->head);
	c->head = NULL;
	c->headlen = c->headoff = 0;
	free(c->body);
	c->body = NULL;
	c->bodylen = c->bodyoff = 0;
}

/* Done (--count reached, nobody left): tell the handler, once. */
static void
httpd_check_done(struct httpd *h)
{
	if (h->finishing && h->nconns == 0 && !h->freeing) {
		h->freeing = true;	/* no second call */
		h->handler.done(h->handler.arg, h->status);
	}
}

/* Close C and forget it; a request still with the handler is cancelled. */
static void
httpd_conn_free(struct httpd_conn *c)
{
	struct httpd *h = c->h;

	if (c->state == HTTPD_WAIT && h->handler.cancel != NULL)
		h->handler.cancel(h->handler.arg, c);
	loop_timer_disarm(h->loop, &c->timer);
	httpd_conn_reset(c);
	loop_forget(h->loop, c->fd);
	close(c->fd);
	free(c->in);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->nconns--;
	listener_client_gone(h->listener);
	log_info(2, "connection from %s closed", c->name);
	free(c->name);
	free(c);
	httpd_check_done(h);
}

/*
 * --count was reached: accept no one, drop connections between requests,
 * finish the responses under way, then done.
 */
static void
httpd_finish(struct httpd *h)
{
	struct httpd_conn *c, *next;

	h->finishing = true;
	listener_close(h->listener);
	for (c = h->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == HTTPD_READ)
			httpd_conn_free(c);
	}
	httpd_check_done(h);
}

/* A response (with raw, a client) counts, even when it FAILED. */
static void
httpd_count(struct httpd *h, bool failed)
{
	if (failed)
		h->status = 1;
	h->served++;
	if (h->spec.count > 0 && h->served >= h->spec.count && !h->finishing)
		httpd_finish(h);
}

/* METHOD and TARGET of C's request, escaped, for messages. */
static void
httpd_conn_request_line(const struct httpd_conn *c, char *method,
    char *target)
{
	log_escape(c->req.method_name.p, c->req.method_name.len, method,
	    LOG_ESCAPE_MAX);
	log_escape(c->req.target.p, c->req.target.len, target,
	    LOG_ESCAPE_MAX);
}

/*
 * C's response could not be delivered (WHY: the client reset or
 * stalled, the file shrank): say how far it got, count it, close C.
 * With --count the line is an error, since it decides the exit status;
 * a server that runs until stopped says it only under -v.
 */
static void
httpd_conn_failed(struct httpd_conn *c, const char *why)
{
	struct httpd *h = c->h;
	char method[LOG_ESCAPE_MAX], target[LOG_ESCAPE_MAX], *req = NULL;
	char *msg;
	long long done, total;

	if (!h->spec.raw) {
		httpd_conn_request_line(c, method, target);
		req = log_fmt(" \"%s %s\":", method, target);
	}
	done = (long long)(c->file_off - c->file_start);
	total = (long long)(c->file_end - c->file_start);
	if (c->file == -1) {
		done = (long long)c->bodyoff;
		total = (long long)c->bodylen;
	}
	msg = log_fmt("%s:%s %s after %lld of %lld bytes", c->name,
	    req ? req : "", why, done, total);
	if (h->spec.count > 0)
		log_error("%s", msg);
	else
		log_info(1, "%s", msg);
	free(msg);
	free(req);
	httpd_count(h, true);
	httpd_conn_free(c);
}

/* The idle / head / linger deadline of C, from its state. */
static void
httpd_conn_arm(struct httpd_conn *c)
{
	struct httpd *h = c->h;
	uint64_t when, idle = h->spec.idle_ms > 0 ? (uint64_t)h->spec.idle_ms :
	    HTTPD_IDLE_MS;

	when = c->active + idle;
	if (c->state == HTTPD_LINGER)
		when = c->active + HTTPD_LINGER_MS;
	else if (c->state == HTTPD_READ && c->inlen > 0 &&
	    c->req_started + HTTPD_HEAD_MS < when)
		when = c->req_started + HTTPD_HEAD_MS;
	else if (c->state == HTTPD_WAIT)
		when = 0;	/* the handler's delay, not the client's */
	if (when == 0)
		loop_timer_disarm(h->loop, &c->timer);
	else
		loop_timer_arm(h->loop, &c->timer, when);
}

/* Our last byte is out: half-closed, read what is left, then close. */
static void
httpd_conn_linger_read(struct loop *loop, int fd, void *arg)
{
	struct httpd_conn *c = arg;
	char junk[4096];
	ssize_t n;
	int i;

	(void)loop;
	(void)fd;
	for (i = 0; i < 16; i++) {
		n = httpd_io_read(c, junk, sizeof junk);
		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		httpd_conn_free(c);
		return;
	}
}

/*
 * Half-close C and drain it for HTTPD_LINGER_MS, so a client still
 * sending never turns our close into a reset that eats the response.
 */
static void
httpd_conn_linger(struct httpd_conn *c)
{
	struct httpd *h = c->h;

	httpd_conn_reset(c);
	free(c->in);
	c->in = NULL;
	c->inlen = 0;
	c->state = HTTPD_LINGER;
	loop_cancel_write(h->loop, c->fd);
	if (httpd_io_shutdown(c) == -1) {
		httpd_conn_free(c);
		return;
	}
	c->active = loop_now();
	httpd_conn_arm(c);
	loop_want_read(h->loop, c->fd, httpd_conn_linger_read, c);
}

/* The response is out: count it, then the next request or the end. */
static void
httpd_conn_sent(struct httpd_conn *c)
{
	struct httpd *h = c->h;
	char method[LOG_ESCAPE_MAX], target[LOG_ESCAPE_MAX];

	if (h->spec.raw)
		log_info(1, "%s: sent %lld bytes", c->name,
		    (long long)c->file_end);
	else if (log_verbosity() >= 1) {
		/* The client's bytes, escaped: no forged lines, no ESC. */
		httpd_conn_request_line(c, method, target);
		log_info(1, "%s: \"%s %s\" %d", c->name, method,
		    target[0] != '\0' ? target : "-", c->status);
	}
	httpd_count(h, false);
	if (h->spec.raw || !c->keep_alive || h->finishing) {
		httpd_conn_linger(c);
		return;
	}
	httpd_conn_reset(c);
	if (c->reqlen < c->inlen)
		memmove(c->in, c->in + c->reqlen, c->inlen - c->reqlen);
	c->inlen -= c->reqlen;
	c->reqlen = 0;
	c->state = HTTPD_READ;
	c->req_started = loop_now();
	loop_cancel_write(h->loop, c->fd);
	loop_want_read(h->loop, c->fd, httpd_conn_read, c);
	httpd_conn_process(c);
}

/*
 * Send the head, then the body, at most HTTPD_SEND_SLICE per wakeup so
 * one fast client cannot starve the others.
 */
static void
httpd_conn_write(struct loop *loop, int fd, void *arg)
{
	struct httpd_conn *c = arg;
	size_t budget = HTTPD_SEND_SLICE, want;
	struct iovec iov[2];
	ssize_t n;
	int k;

	(void)loop;
	(void)fd;
	while (c->headoff < c->headlen || c->bodyoff < c->bodylen) {
		k = 0;
		if (c->headoff < c->headlen) {
			iov[k].iov_base = c->head + c->headoff;
			iov[k++].iov_len = c->headlen - c->headoff;
		}
		if (c->bodyoff < c->bodylen) {
			iov[k].iov_base = c->body + c->bodyoff;
			iov[k++].iov_len = c->bodylen - c->bodyoff;
		}
		n = httpd_io_write(c, iov, k, c->file_off < c->file_end);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				goto wait;
			goto fail;
		}
		want = c->headlen - c->headoff;
		if ((size_t)n < want)
			want = (size_t)n;
		c->headoff += want;
		c->bodyoff += (size_t)n - want;
		c->active = loop_now();
	}
	while (c->file_off < c->file_end && budget > 0) {
		want = (size_t)(c->file_end - c->file_off);
		n = httpd_io_sendfile(c, want < budget ? want : budget);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			goto fail;
		}
		if (n == 0) {
			httpd_conn_failed(c, "the file shrank");
			return;
		}
		c->file_off += n;
		budget -= (size_t)n;
		c->active = loop_now();
	}
	if (c->file_off < c->file_end)
		goto wait;
	httpd_conn_sent(c);
	return;
wait:
	httpd_conn_arm(c);
	return;
fail:
	httpd_conn_failed(c, strerror(errno));
}

/* Begin writing the response now set up in C. */
static void
httpd_conn_send(struct httpd_conn *c)
{
	struct httpd *h = c->h;

	c->state = HTTPD_SEND;
	c->file_start = c->file_off;
	loop_cancel_read(h->loop, c->fd);
	loop_want_write(h->loop, c->fd, httpd_conn_write, c);
	c->active = loop_now();
	httpd_conn_arm(c);
}

/* Take HEAD (NULL with raw), ending it with Connection. */
static void
httpd_conn_take_head(struct httpd_conn *c, struct http_head *head)
{
	httpd_conn_reset(c);
	c->data = NULL;
	if (head == NULL)
		return;
	http_head_finish(head, c->keep_alive);
	c->status = head->status;
	c->head = head->buf;
	c->headlen = head->len;
	head->buf = NULL;
	http_head_free(head);
}

/*
 * Answer C's request with HEAD and the bytes [OFF, END) of the regular
 * file open on FD (taken; -1 for no body).  A HEAD request gets no body.
 */
void
httpd_respond_file(struct httpd_conn *c, struct http_head *head, int fd,
    off_t off, off_t end)
{
	httpd_conn_take_head(c, head);
	if (fd != -1 && c->req.method == HTTP_HEAD && !c->h->spec.raw) {
		close(fd);
		fd = -1;
	}
	c->file = fd;
	if (fd != -1) {
		c->file_off = off;
		c->file_end = end;
	}
	httpd_conn_send(c);
}

/* Answer C's request with HEAD and BODY (LEN bytes, taken). */
void
httpd_respond_buf(struct httpd_conn *c, struct http_head *head, char *body,
    size_t len)
{
	httpd_conn_take_head(c, head);
	if (c->req.method == HTTP_HEAD) {
		free(body);
		body = NULL;
		len = 0;
	}
	c->body = body;
	c->bodylen = len;
	httpd_conn_send(c);
}

/*
 * Answer with STATUS and its reason as a short text body, and FIELDS
 * (whole header lines, or NULL).  A status that means the request could
 * not be read closes the connection after it.
 */
void
httpd_respond_status(struct httpd_conn *c, int status, const char *fields)
{
	struct http_head head;
	char *body = log_fmt("%d %s\n", status, http_reason(status));

	if (status == 400 || status == 408 || status == 414 || status == 431 ||
	    status == 505 || c->req.has_body)
		c->keep_alive = false;
	http_head_begin(&head, status, time(NULL));
	http_head_printf(&head, "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n%s", strlen(body), fields ? fields : "");
	httpd_respond_buf(c, &head, body, strlen(body));
}

/* The handler cannot answer at all: count a failure, close C. */
void
httpd_abort(struct httpd_conn *c)
{
	c->data = NULL;
	c->state = HTTPD_SEND;		/* nothing to cancel */
	httpd_count(c->h, true);
	httpd_conn_free(c);
}

const char *
httpd_conn_name(const struct httpd_conn *c)
{
	return c->name;
}

void *
httpd_conn_data(const struct httpd_conn *c)
{
	return c->data;
}

/* What the handler keeps for C's request; the engine only stores it. */
void
httpd_conn_set_data(struct httpd_conn *c, void *data)
{
	c->data = data;
}

/* ---- requests ---------------------------------------------------------- */

/* A request the engine answers itself: STATUS for what is buffered. */
static void
httpd_conn_refuse(struct httpd_conn *c, int status)
{
	memset(&c->req, 0, sizeof c->req);
	c->req.method = HTTP_GET;
	c->reqlen = c->inlen;
	httpd_respond_status(c, status, NULL);
}

/* Parse what is buffered: hand a complete head over, refuse a bad one. */
static void
httpd_conn_process(struct httpd_conn *c)
{
	struct httpd *h = c->h;
	ssize_t r;

	if (h->finishing) {
		httpd_conn_free(c);
		return;
	}
	r = http_parse_request(c->in, c->inlen, &c->req);
	if (r == 0) {
		if (c->inlen == 0) {
			free(c->in);
			c->in = NULL;
		}
		httpd_conn_arm(c);
		return;
	}
	if (r < 0) {
		httpd_conn_refuse(c, (int)-r);
		return;
	}
	c->reqlen = (size_t)r;
	c->keep_alive = c->req.keep_alive && !c->req.has_body;
	c->state = HTTPD_WAIT;
	httpd_conn_arm(c);
	h->handler.request(h->handler.arg, c, &c->req);	/* may free C */
}

/*
 * Bytes of a request head; end of file or an error closes C.  While the
 * handler has the request (HTTPD_WAIT) its head is still at the start of
 * c->in: what arrives then is only buffered, for after the response
 * (pipelining), never parsed; reading goes on only so that a reset frees
 * C at once.  A full buffer or the client's end of file stops reading
 * until the response is out.
 */
static void
httpd_conn_read(struct loop *loop, int fd, void *arg)
{
	struct httpd_conn *c = arg;
	bool waiting = c->state == HTTPD_WAIT;
	ssize_t n;

	if (waiting && c->inlen == HTTP_MAX_HEAD) {
		loop_cancel_read(loop, fd);
		return;
	}
	if (c->in == NULL)
		c->in = xmalloc(HTTP_MAX_HEAD);
	n = httpd_io_read(c, c->in + c->inlen, HTTP_MAX_HEAD - c->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 0 && waiting) {
		/* A client may half-close and still wait for its answer. */
		loop_cancel_read(loop, fd);
		return;
	}
	if (n <= 0) {
		if (n == -1)
			log_info(2, "%s: %s", c->name, strerror(errno));
		httpd_conn_free(c);
		return;
	}
	if (c->inlen == 0)
		c->req_started = loop_now();
	c->inlen += (size_t)n;
	if (waiting)
		return;
	c->active = loop_now();
	httpd_conn_process(c);
}

/* C's deadline: a head still incomplete gets 408, else C is closed. */
static void
httpd_conn_timeout(struct loop *loop, void *arg)
{
	struct httpd_conn *c = arg;

	(void)loop;
	if (c->state == HTTPD_READ && c->inlen > 0) {
		log_info(1, "%s: request head not complete in time: 408",
		    c->name);
		httpd_conn_refuse(c, 408);
		return;
	}
	if (c->state == HTTPD_SEND) {
		httpd_conn_failed(c, "stalled: no progress in time");
		return;
	}
	log_info(2, "%s: idle, closing", c->name);
	httpd_conn_free(c);
}

/* A client admitted by the listener: read its request (raw: answer). */
static void
httpd_accept(void *arg, int fd, const struct sockaddr *sa, socklen_t salen,
    const char *name)
{
	struct httpd *h = arg;
	struct httpd_conn *c;

	(void)sa;
	(void)salen;
	if (fd == -1)
		return;		/* no first-client deadline is asked for */
	c = xcalloc(1, sizeof *c);
	c->h = h;
	c->fd = fd;
	c->plain = true;
	c->file = -1;
	c->name = xstrdup(name);
	c->active = loop_now();
	loop_timer_init(&c->timer, httpd_conn_timeout, c);
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	h->nconns++;
	sock_set_nodelay(fd);
	log_info(2, "connection from %s", name);
	if (h->spec.raw) {
		c->state = HTTPD_WAIT;
		h->handler.request(h->handler.arg, c, NULL);
		return;
	}
	c->state = HTTPD_READ;
	loop_want_read(h->loop, fd, httpd_conn_read, c);
	httpd_conn_arm(c);
}

/*
 * Serve the clients LISTENER (ready, not started) admits, from now on,
 * answering their requests through HANDLER.
 */
struct httpd *
httpd_new(struct loop *loop, struct listener *listener,
    const struct httpd_spec *spec, const struct httpd_handler *handler)
{
	struct httpd *h = xcalloc(1, sizeof *h);

	h->loop = loop;
	h->listener = listener;
	h->spec = *spec;
	h->handler = *handler;
	listener_start(listener, httpd_accept, h);
	return h;
}

/* 1 when a response failed (see --count), else 0. */
int
httpd_status(const struct httpd *h)
{
	return h->status;
}

/* Close every connection (their handler requests cancelled). */
void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	h->freeing = true;
	while (h->conns != NULL)
		httpd_conn_free(h->conns);
	free(h);
}
