/*
 * httpc.c - the HTTP/1.1 client engine on the loop (see httpc.h): dial,
 * request, response head, body framing, redirects, -i.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpc.h"
#include "httpc-int.h"
#include "log.h"
#include "tls.h"
#include "xmalloc.h"

static void	httpc_io(struct loop *, int, void *);
static void	httpc_connect(struct httpc *);

/* Stop watching and drop the connection (not the state). */
static void
httpc_close(struct httpc *c)
{
	if (c->dial != NULL) {
		dial_cancel(c->dial);
		c->dial = NULL;
	}
	loop_undefer(c->loop, &c->kick);
	loop_timer_disarm(c->loop, &c->idle);
	if (c->fd != -1) {
		loop_forget(c->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	tls_conn_free(c->conn);
	c->conn = NULL;
	c->read_wait = c->write_wait = TLS_WAIT_NONE;
}

/* The exchange is over: tell the owner, last. */
void
httpc_finish(struct httpc *c, enum httpc_end end, int e, const char *msg)
{
	if (c->state == HTTPC_OVER)
		return;
	c->state = HTTPC_OVER;
	httpc_close(c);
	c->ops.done(c->arg, end, e, msg);
}

void
httpc_failf(struct httpc *c, char *msg)
{
	httpc_finish(c, HTTPC_FAILED, 0, msg);
	free(msg);
}

/* Watch the fd for what the exchange needs now. */
static void
httpc_watch(struct httpc *c)
{
	bool rd, wr;

	if (c->fd == -1 || c->state == HTTPC_OVER)
		return;
	rd = !c->paused;
	wr = c->outoff < c->outlen;
	if (c->conn != NULL) {
		if (rd && c->read_wait == TLS_WAIT_WRITE)
			rd = false, wr = true;
		if (wr && c->write_wait == TLS_WAIT_READ)
			wr = false, rd = true;
	}
	if (rd)
		loop_want_read(c->loop, c->fd, httpc_io, c);
	else
		loop_cancel_read(c->loop, c->fd);
	if (wr)
		loop_want_write(c->loop, c->fd, httpc_io, c);
	else
		loop_cancel_write(c->loop, c->fd);
}

/* -i: nothing moved for that long. */
static void
httpc_idle_fire(struct loop *l, void *arg)
{
	struct httpc *c = arg;
	uint64_t deadline = c->active + (uint64_t)c->spec.idle_ms;

	if (loop_now() < deadline && !c->paused) {
		loop_timer_arm(l, &c->idle, deadline);
		return;
	}
	if (c->paused) {
		/* our own consumer is behind, not the peer */
		loop_timer_arm(l, &c->idle, loop_now() +
		    (uint64_t)c->spec.idle_ms);
		return;
	}
	httpc_failf(c, log_fmt("%s: no data for %d.%03d s (-i)", c->what,
	    c->spec.idle_ms / 1000, c->spec.idle_ms % 1000));
}

/* ---- receiving --------------------------------------------------------- */

/* The body is complete. */
static void
httpc_body_done(struct httpc *c)
{
	httpc_finish(c, HTTPC_OK, 0, NULL);
}

/* N body bytes read (framed): decode and deliver; -1 when over. */
static int
httpc_body_bytes_in(struct httpc *c, const char *p, size_t n)
{
	enum http_chunk_step s;
	size_t used, off, len;
	char *err = NULL;

	while (n > 0 && c->state == HTTPC_BODY) {
		if (!c->chunked) {
			if (c->left >= 0 && (int64_t)n > c->left)
				n = (size_t)c->left;	/* ignore the rest */
			off = 0;
			len = used = n;
			s = HTTP_CHUNK_DATA;
		} else
			s = http_chunked_step(&c->ch, p, n, &used, &off, &len);
		if (s == HTTP_CHUNK_BAD) {
			httpc_failf(c, log_fmt("%s: malformed chunked body "
			    "after %llu bytes", c->what,
			    (unsigned long long)c->received));
			return -1;
		}
		if (s == HTTP_CHUNK_DATA && len > 0) {
			c->received += len;
			if (c->ops.body != NULL && c->ops.body(c->arg, p + off,
			    len, &err) == -1) {
				httpc_finish(c, HTTPC_FAILED, 0, err);
				free(err);
				return -1;
			}
			if (!c->chunked && c->left >= 0)
				c->left -= (int64_t)len;
		}
		if (s == HTTP_CHUNK_END || (!c->chunked && c->left == 0)) {
			httpc_body_done(c);
			return -1;
		}
		p += used;
		n -= used;
	}
	return c->state == HTTPC_BODY ? 0 : -1;
}

/* The final head is in HEAD (LEN bytes): follow, or hand it over. */
static void
httpc_head_done(struct httpc *c, size_t len)
{
	const struct http_response *r = &c->res;
	char esc[LOG_ESCAPE_MAX], *err = NULL;
	int st;

	log_info(2, "%s: %d %s", c->what, r->status, log_escape(r->reason.p,
	    r->reason.len, esc, sizeof esc));
	if (httpc_redirect(c)) {
		httpc_close(c);
		c->headlen = 0;
		c->state = HTTPC_DIAL;
		httpc_connect(c);
		return;
	}
	if (r->transfer_encoding.len > 0) {
		httpc_failf(c, log_fmt("%s: unsupported Transfer-Encoding "
		    "'%s'", c->what, log_escape(r->transfer_encoding.p,
		    r->transfer_encoding.len, esc, sizeof esc)));
		return;
	}
	c->chunked = r->chunked;
	http_chunked_init(&c->ch);
	c->left = c->chunked ? -1 : r->content_length;
	if (r->status == 206 && !c->chunked && r->content_length < 0 &&
	    r->has_content_range && r->range_first >= 0)
		c->left = r->range_last - r->range_first + 1;
	if (strcmp(c->req.method, "HEAD") == 0 || r->status == 204 ||
	    r->status == 304)
		c->left = 0;
	c->state = HTTPC_BODY;
	st = c->ops.head ? c->ops.head(c->arg, r, &err) : 0;
	if (st == -1) {
		httpc_finish(c, HTTPC_FAILED, 0, err);
		free(err);
		return;
	}
	if (c->state != HTTPC_BODY)
		return;
	if (st == 1 || (!c->chunked && c->left == 0)) {
		httpc_body_done(c);
		return;
	}
	if (c->headlen > len)
		httpc_body_bytes_in(c, c->head + len, c->headlen - len);
}

/* Bytes of the response head arrived: parse what there is. */
static void
httpc_head_in(struct httpc *c)
{
	ssize_t h;

	for (;;) {
		h = http_parse_response(c->head, c->headlen, &c->res);
		if (h == 0) {
			if (c->headlen == HTTP_MAX_RESPONSE_HEAD)
				httpc_failf(c, log_fmt("%s: response head "
				    "too long", c->what));
			return;
		}
		if (h < 0) {
			httpc_failf(c, log_fmt("%s: malformed response head",
			    c->what));
			return;
		}
		if (c->res.status >= 200)
			break;
		/* 1xx: an interim response, the real one follows */
		memmove(c->head, c->head + h, c->headlen - (size_t)h);
		c->headlen -= (size_t)h;
	}
	/* nothing more of the request is needed once the answer is here */
	c->sending = false;
	c->outoff = c->outlen;
	httpc_head_done(c, (size_t)h);
}

/* One read from the connection: > 0 bytes, 0 EOF, -1 errno. */
static ssize_t
httpc_recv(struct httpc *c, char *buf, size_t len)
{
	ssize_t n;

	if (c->conn != NULL) {
		n = tls_read(c->conn, buf, len);
		c->read_wait = n == -1 && errno == EAGAIN ?
		    tls_waiting(c->conn) : TLS_WAIT_NONE;
		return n;
	}
	return recv(c->fd, buf, len, MSG_DONTWAIT);
}

/* The connection ended (N == 0) or failed (errno) in state c->state. */
static void
httpc_lost(struct httpc *c, ssize_t n)
{
	int e = n == 0 ? 0 : errno;
	const char *how = NULL;

	if (c->state == HTTPC_BODY && n == 0 && c->left < 0 && !c->chunked) {
		httpc_body_done(c);	/* the end of a close-framed body */
		return;
	}
	if (c->conn != NULL && n == -1 && e == EPROTO)
		how = tls_error(c->conn);
	if (c->state == HTTPC_BODY) {
		httpc_finish(c, HTTPC_CUT, e, how);
		return;
	}
	httpc_failf(c, log_fmt("%s: %s before a response", c->what, how ? how :
	    n == 0 ? "connection closed" : strerror(e)));
}

/* Readable: the head, then the body, a bounded number of reads. */
static void
httpc_read(struct httpc *c)
{
	ssize_t n;
	int rounds;

	for (rounds = 0; rounds < HTTPC_ROUNDS; rounds++) {
		if (c->paused || c->state == HTTPC_OVER || c->state ==
		    HTTPC_DIAL)
			return;
		if (c->state == HTTPC_HEAD)
			n = httpc_recv(c, c->head + c->headlen,
			    HTTP_MAX_RESPONSE_HEAD - c->headlen);
		else
			n = httpc_recv(c, c->buf, HTTPC_READ);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			httpc_lost(c, n);
			return;
		}
		c->active = loop_now();
		if (c->state == HTTPC_HEAD) {
			c->headlen += (size_t)n;
			httpc_head_in(c);
		} else if (httpc_body_bytes_in(c, c->buf, (size_t)n) == -1)
			return;
	}
	loop_defer(c->loop, &c->kick);	/* more may wait; others first */
}

static void
httpc_io(struct loop *l, int fd, void *arg)
{
	struct httpc *c = arg;

	(void)l;
	(void)fd;
	if (c->outoff < c->outlen && httpc_write(c) == -1)
		return;
	if (c->state == HTTPC_OVER)
		return;
	httpc_read(c);
	httpc_watch(c);
}

static void
httpc_kick(struct loop *l, void *arg)
{
	httpc_io(l, -1, arg);
}

/* ---- connecting -------------------------------------------------------- */

static void
httpc_dialled(void *arg, const struct dial_result *r)
{
	struct httpc *c = arg;

	c->dial = NULL;
	if (r->fd == -1) {
		httpc_finish(c, HTTPC_FAILED, 0, r->err);
		return;
	}
	c->fd = r->fd;
	c->conn = r->tls;
	log_info(1, "connected to %s%s", r->peer, c->conn ? " (TLS)" : "");
	c->active = loop_now();
	if (c->spec.idle_ms > 0)
		loop_timer_arm(c->loop, &c->idle, c->active +
		    (uint64_t)c->spec.idle_ms);
	if (c->req.raw) {
		/* no request and no half-close: nc takes our FIN as the end */
		memset(&c->res, 0, sizeof c->res);
		c->res.status = 200;
		c->res.content_length = -1;
		c->headlen = 0;
		httpc_head_done(c, 0);
	} else {
		c->state = HTTPC_HEAD;
		httpc_build_request(c);
	}
	httpc_watch(c);
}

/* Dial the current URL. */
static void
httpc_connect(struct httpc *c)
{
	struct dial_spec ds = c->spec.dial;
	char *err = NULL;

	ds.host = c->host;
	ds.port = c->port;
	ds.tls = NULL;
	ds.tls_name = NULL;
	if (c->tls) {
		ds.tls = c->spec.tls ? c->spec.tls : c->own_tls;
		if (ds.tls == NULL) {
			struct tls_config cfg;

			memset(&cfg, 0, sizeof cfg);
			c->own_tls = tls_ctx_new(&cfg, &err);
			if (c->own_tls == NULL) {
				httpc_failf(c, err);
				return;
			}
			ds.tls = c->own_tls;
		}
		if (c->redirects == 0 || strcmp(c->host, c->req.host) == 0)
			ds.tls_name = c->spec.servername;
	}
	c->state = HTTPC_DIAL;
	c->dial = dial_start(c->loop, &ds, httpc_dialled, c);
}

/*
 * Start the exchange REQ on loop L; OPS and ARG receive its events (all
 * from the loop, none from inside this call).  The strings of SPEC and
 * REQ are copied where the engine keeps them, except spec->dial's
 * source fields, spec->servername and req->headers, which must outlive
 * the exchange.
 */
struct httpc *
httpc_start(struct loop *l, const struct httpc_spec *spec,
    const struct httpc_request *req, const struct httpc_ops *ops, void *arg)
{
	struct httpc *c = xcalloc(1, sizeof *c);
	char *url;

	c->loop = l;
	c->spec = *spec;
	c->req = *req;
	c->ops = *ops;
	c->arg = arg;
	c->fd = -1;
	c->tls = req->tls;
	c->host = xstrdup(req->host);
	c->port = xstrdup(req->port);
	c->target = xstrdup(req->target);
	c->authority = xstrdup(req->authority);
	if (req->raw)
		c->what = httpc_escape(c->authority);
	else {
		url = log_fmt("%s://%s%s", c->tls ? "https" : "http",
		    c->authority, c->target);
		c->what = httpc_escape(url);
		free(url);
	}
	c->head = xmalloc(HTTP_MAX_RESPONSE_HEAD);
	c->buf = xmalloc(HTTPC_READ);
	loop_deferred_init(&c->kick, httpc_kick, c);
	loop_timer_init(&c->idle, httpc_idle_fire, c);
	httpc_connect(c);
	return c;
}

/* Take no body bytes until httpc_resume(). */
void
httpc_pause(struct httpc *c)
{
	c->paused = true;
	httpc_watch(c);
}

void
httpc_resume(struct httpc *c)
{
	if (!c->paused)
		return;
	c->paused = false;
	c->active = loop_now();
	if (c->state == HTTPC_OVER)
		return;
	httpc_watch(c);
	loop_defer(c->loop, &c->kick);	/* TLS may hold bytes already */
}

/* End the exchange now, without a done callback. */
void
httpc_cancel(struct httpc *c)
{
	if (c == NULL)
		return;
	c->state = HTTPC_OVER;
	httpc_close(c);
}

void
httpc_free(struct httpc *c)
{
	if (c == NULL)
		return;
	httpc_cancel(c);
	tls_ctx_free(c->own_tls);
	free(c->host);
	free(c->port);
	free(c->target);
	free(c->authority);
	free(c->what);
	free(c->out);
	free(c->head);
	free(c->buf);
	free(c);
}

/* The URL (or HOST:PORT under raw) of the exchange, escaped. */
const char *
httpc_what(const struct httpc *c)
{
	return c->what;
}

/* Response body bytes so far. */
uint64_t
httpc_body_bytes(const struct httpc *c)
{
	return c->received;
}

/* Request body bytes sent so far. */
uint64_t
httpc_sent_bytes(const struct httpc *c)
{
	return c->sent;
}
