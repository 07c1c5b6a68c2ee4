/*
 * httpd.c - the HTTP/1.1 server engine: each connection is a small state
 * machine on the loop's watches (read a head, wait for the handler's
 * answer, write it, then read the next head or linger and close).  The
 * responses and the connection's I/O are in httpdsend.c.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "httpd.h"
#include "httpd-int.h"
#include "listener.h"
#include "log.h"
#include "tls.h"
#include "sock.h"
#include "xmalloc.h"

static void	httpd_conn_process(struct httpd_conn *);

/* ---- connections ------------------------------------------------------- */

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
void
httpd_conn_free(struct httpd_conn *c)
{
	struct httpd *h = c->h;

	if ((c->state == HTTPD_WAIT || c->state == HTTPD_BODY) &&
	    h->handler.cancel != NULL)
		h->handler.cancel(h->handler.arg, c);
	httpd_body_free(c);
	loop_timer_disarm(h->loop, &c->timer);
	httpd_conn_reset(c);
	loop_forget(h->loop, c->fd);
	close(c->fd);
	tls_conn_free(c->tls);
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
void
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
void
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
void
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
void
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
	if (httpd_io_pending(c))	/* pipelined, inside TLS: poll() is blind */
		httpd_conn_read(h->loop, c->fd, c);
	else
		httpd_conn_process(c);
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
	c->body_done = false;
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
void
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
	if (c->state == HTTPD_BODY) {
		log_info(1, "%s: request body stalled, closing", c->name);
		httpd_conn_free(c);
		return;
	}
	log_info(2, "%s: idle, closing", c->name);
	httpd_conn_free(c);
}

/* A client admitted by the listener: read its request (raw: answer). */
static void
httpd_accept(void *arg, const struct listener_conn *lc)
{
	struct httpd *h = arg;
	struct httpd_conn *c;
	int fd = lc->fd;
	const char *name = lc->name;

	if (fd == -1)
		return;		/* no first-client deadline is asked for */
	c = xcalloc(1, sizeof *c);
	c->h = h;
	c->fd = fd;
	c->tls = lc->tls;
	c->plain = lc->tls == NULL;
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
