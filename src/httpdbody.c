/*
 * httpdbody.c - request bodies for the HTTP server engine: read on the
 * loop when the handler asks (httpd_read_body()), Content-Length or
 * chunked, handed over as they arrive, then the trailer section.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "httpd.h"
#include "httpd-int.h"
#include "log.h"
#include "xmalloc.h"

#define HTTPD_BODY_BUF		(64 * 1024)
#define HTTPD_BODY_READS	16		/* per wakeup: fairness */
#define HTTPD_TRAILERS_MAX	8192

enum httpd_fed { HTTPD_FED_MORE, HTTPD_FED_DONE, HTTPD_FED_STOP };

/* Forget the body's buffers. */
void
httpd_body_free(struct httpd_conn *c)
{
	free(c->bbuf);
	c->bbuf = NULL;
	free(c->chunked.trailers);
	c->chunked.trailers = NULL;
}

/* The body is malformed: the handler forgets it, the client gets 400. */
static void
httpd_body_bad(struct httpd_conn *c)
{
	struct httpd *h = c->h;

	log_info(1, "%s: malformed chunked request body", c->name);
	if (h->handler.cancel != NULL)
		h->handler.cancel(h->handler.arg, c);
	c->state = HTTPD_WAIT;
	httpd_respond_status(c, 400, NULL);
}

/*
 * Hand the body bytes among BUF (LEN bytes) to the handler; *USED is how
 * many were the body's (or its framing).  STOP: C is answered (the
 * handler's -1, or 400), so the caller must not touch the body again.
 */
static enum httpd_fed
httpd_body_feed(struct httpd_conn *c, const char *buf, size_t len,
    size_t *used)
{
	enum http_chunk_step step;
	size_t u, off, n;

	*used = 0;
	if (!c->req.chunked) {
		n = len < c->body_left ? len : (size_t)c->body_left;
		if (n > 0 && c->sink.data(c->sink.arg, buf, n) == -1)
			return HTTPD_FED_STOP;
		c->body_left -= n;
		*used = n;
		return c->body_left == 0 ? HTTPD_FED_DONE : HTTPD_FED_MORE;
	}
	while (*used < len) {
		step = http_chunked_step(&c->chunked, buf + *used,
		    len - *used, &u, &off, &n);
		if (step == HTTP_CHUNK_BAD) {
			httpd_body_bad(c);
			return HTTPD_FED_STOP;
		}
		if (step == HTTP_CHUNK_DATA && n > 0 &&
		    c->sink.data(c->sink.arg, buf + *used + off, n) == -1)
			return HTTPD_FED_STOP;
		*used += u;
		if (step == HTTP_CHUNK_END)
			return HTTPD_FED_DONE;
	}
	return HTTPD_FED_MORE;
}

/*
 * The whole body is in; REST bytes (at LEFT) that followed it are the
 * next request's.  Back to waiting for the handler, which gets the end.
 */
static void
httpd_body_done(struct httpd_conn *c, const char *left, size_t rest)
{
	struct httpd *h = c->h;
	struct http_str trailers;

	c->body_done = true;
	c->keep_alive = c->req.keep_alive;
	if (rest > 0) {
		if (c->inlen + rest <= HTTP_MAX_HEAD) {
			memmove(c->in + c->inlen, left, rest);
			c->inlen += rest;
		} else
			c->keep_alive = false;
	}
	free(c->bbuf);
	c->bbuf = NULL;
	c->state = HTTPD_WAIT;
	httpd_conn_arm(c);
	loop_want_read(h->loop, c->fd, httpd_conn_read, c);
	trailers.p = c->chunked.trailers ? c->chunked.trailers : "";
	trailers.len = c->chunked.trailers_len;
	c->sink.end(c->sink.arg, trailers);	/* may answer, or free C */
}

/*
 * Body bytes from the client; its end of file before the body's end is
 * a cut upload: the handler forgets it and C is closed.
 */
static void
httpd_body_read(struct loop *loop, int fd, void *arg)
{
	struct httpd_conn *c = arg;
	enum httpd_fed fed;
	size_t want, used;
	ssize_t n;
	int i;

	(void)loop;
	(void)fd;
	if (c->bbuf == NULL)
		c->bbuf = xmalloc(HTTPD_BODY_BUF);
	/* bytes held inside TLS are invisible to poll(): take them now */
	for (i = 0; i < HTTPD_BODY_READS || httpd_io_pending(c); i++) {
		want = HTTPD_BODY_BUF;
		if (!c->req.chunked && c->body_left < want)
			want = (size_t)c->body_left;
		n = httpd_io_read(c, c->bbuf, want);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			log_info(1, "%s: request body cut: %s", c->name,
			    n == 0 ? "end of file" : strerror(errno));
			httpd_conn_free(c);
			return;
		}
		c->active = loop_now();
		fed = httpd_body_feed(c, c->bbuf, (size_t)n, &used);
		if (fed == HTTPD_FED_STOP)
			return;
		if (fed == HTTPD_FED_DONE) {
			httpd_body_done(c, c->bbuf + used, (size_t)n - used);
			return;
		}
	}
	httpd_conn_arm(c);
}

/*
 * Read the body of C's request into BODY's callbacks: first the bytes
 * buffered after the head, then from the client.  Until the end the
 * handler may answer at any time (its data callback then returns -1).
 */
void
httpd_read_body(struct httpd_conn *c, const struct httpd_body *body)
{
	struct httpd *h = c->h;
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	enum httpd_fed fed;
	size_t have, used;

	httpd_body_free(c);	/* an earlier request's trailers */
	c->sink = *body;
	c->state = HTTPD_BODY;
	c->body_left = c->req.chunked ? 0 : c->req.content_length;
	http_chunked_init(&c->chunked);
	if (c->req.chunked) {
		c->chunked.trailers = xmalloc(HTTPD_TRAILERS_MAX);
		c->chunked.trailers_cap = HTTPD_TRAILERS_MAX;
	}
	if (!c->req.chunked && c->body_left == 0) {
		httpd_body_done(c, NULL, 0);
		return;
	}
	have = c->inlen - c->reqlen;
	if (have == 0 && c->req.minor >= 1 &&
	    http_str_eq(c->req.expect, "100-continue") &&
	    httpd_io_send_small(c, cont, sizeof cont - 1) == -1) {
		httpd_conn_free(c);
		return;
	}
	fed = httpd_body_feed(c, c->in + c->reqlen, have, &used);
	if (fed == HTTPD_FED_STOP)
		return;
	/* What was consumed leaves the buffer; the head stays where it is. */
	memmove(c->in + c->reqlen, c->in + c->reqlen + used, have - used);
	c->inlen -= used;
	if (fed == HTTPD_FED_DONE) {
		httpd_body_done(c, NULL, 0);
		return;
	}
	c->active = loop_now();
	httpd_conn_arm(c);
	loop_want_read(h->loop, c->fd, httpd_body_read, c);
	if (httpd_io_pending(c))
		httpd_body_read(h->loop, c->fd, c);
}
