/*
 * httpcreq.c - the request of an httpc exchange going out: its head, a
 * body from a file (Content-Length or chunked, with a trailer), the
 * writes; and where a redirect leads.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpc-int.h"
#include "log.h"
#include "xmalloc.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* S escaped for messages in a new string, never cut. */
char *
httpc_escape(const char *s)
{
	size_t size = strlen(s) * 4 + 8;
	char *buf = xmalloc(size);

	log_escape(s, strlen(s), buf, size);
	return buf;
}

/* ---- sending ----------------------------------------------------------- */

/* Replace the output with the next piece of the request body. */
static int
httpc_fill_body(struct httpc *c)
{
	size_t want = HTTPC_READ, hdr;
	char *tr;
	ssize_t n;

	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	if (c->req.body_len >= 0 && (uint64_t)c->req.body_len - c->sent <
	    want)
		want = (size_t)((uint64_t)c->req.body_len - c->sent);
	if (want == 0) {
		c->sending = false;
		return 0;
	}
	c->out = xmalloc(want + 32);
	hdr = c->req.body_len < 0 ? 10 : 0;	/* room for "%zx\r\n" */
	do
		n = read(c->req.body_fd, c->out + hdr, want);
	while (n == -1 && errno == EINTR);
	if (n == -1 || (n == 0 && c->req.body_len >= 0)) {
		httpc_failf(c, log_fmt("%s: request body: %s", c->what,
		    n == -1 ? strerror(errno) : "it ended early"));
		return -1;
	}
	if (n == 0) {
		/* the last chunk, the trailer, the end */
		free(c->out);
		tr = c->ops.trailer ? c->ops.trailer(c->arg) : NULL;
		c->out = log_fmt("0\r\n%s\r\n", tr ? tr : "");
		c->outlen = strlen(c->out);
		free(tr);
		c->sending = false;
		return 0;
	}
	if (c->ops.body_sent != NULL)
		c->ops.body_sent(c->arg, c->out + hdr, (size_t)n);
	c->sent += (uint64_t)n;
	c->outlen = hdr + (size_t)n;
	if (hdr > 0) {
		char size[16];
		int len = snprintf(size, sizeof size, "%zx\r\n", (size_t)n);

		c->outoff = hdr - (size_t)len;
		memcpy(c->out + c->outoff, size, (size_t)len);
		memcpy(c->out + c->outlen, "\r\n", 2);
		c->outlen += 2;
	}
	return 0;
}

/* Write what is pending; more of the body when that is out. */
int
httpc_write(struct httpc *c)
{
	struct iovec iov;
	ssize_t n;

	while (c->outoff < c->outlen) {
		if (c->conn != NULL) {
			iov.iov_base = c->out + c->outoff;
			iov.iov_len = c->outlen - c->outoff;
			n = tls_writev(c->conn, &iov, 1);
			c->write_wait = n == -1 && errno == EAGAIN ?
			    tls_waiting(c->conn) : TLS_WAIT_NONE;
		} else
			n = send(c->fd, c->out + c->outoff, c->outlen -
			    c->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n == -1) {
			/* a server that answered and closed: read that */
			if (c->state != HTTPC_HEAD || c->headlen > 0) {
				c->outoff = c->outlen;
				c->sending = false;
				return 0;
			}
			httpc_failf(c, log_fmt("%s: %s", c->what, c->conn ?
			    tls_error(c->conn) : strerror(errno)));
			return -1;
		}
		c->outoff += (size_t)n;
		c->active = loop_now();
		if (c->outoff == c->outlen && c->sending &&
		    httpc_fill_body(c) == -1)
			return -1;
	}
	return 0;
}

/* The request head, and the body's framing fields. */
void
httpc_build_request(struct httpc *c)
{
	char *framing = NULL;

	if (c->req.body_fd != -1 && c->req.body_len >= 0)
		framing = log_fmt("Content-Length: %lld\r\n",
		    (long long)c->req.body_len);
	else if (c->req.body_fd != -1)
		framing = xstrdup("Transfer-Encoding: chunked\r\n");
	free(c->out);
	c->out = log_fmt("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: "
	    "sockt/%s\r\n%s%sConnection: close\r\n\r\n", c->req.method,
	    c->target, c->authority, PACKAGE_VERSION, c->req.headers ?
	    c->req.headers : "", framing ? framing : "");
	free(framing);
	c->outlen = strlen(c->out);
	c->outoff = 0;
	c->sending = c->req.body_fd != -1;
}

/* ---- redirects -------------------------------------------------------- */

/* Is this response a redirect to follow?  Sets the next URL if so. */
bool
httpc_redirect(struct httpc *c)
{
	const struct http_response *r = &c->res;
	struct http_url u;
	char *loc, *err = NULL, *dir, esc[LOG_ESCAPE_MAX];
	size_t i;
	int st;

	if ((r->status < 301 || r->status > 303) && r->status != 307 &&
	    r->status != 308)
		return false;
	if (r->location.len == 0 || c->req.body_fd != -1)
		return false;
	for (i = 0; i < r->location.len; i++)
		if (r->location.p[i] <= ' ' || r->location.p[i] >= 0x7f)
			return false;	/* not a URI: reported as it is */
	if (c->redirects >= c->req.max_redirects) {
		log_info(1, "%s: no more than %d redirects", c->what,
		    c->req.max_redirects);
		return false;
	}
	loc = xstrndup(r->location.p, r->location.len);
	memset(&u, 0, sizeof u);
	st = http_parse_url(loc, &u, &err);
	if (st == 1 && loc[0] == '/' && loc[1] != '/') {
		u.host = xstrdup(c->host);
		u.port = xstrdup(c->port);
		u.authority = xstrdup(c->authority);
		u.target = xstrndup(loc, strcspn(loc, "#"));
		u.tls = c->tls;
		st = 0;
	} else if (st == 1 && loc[0] != '/') {
		/* relative to the current target's directory */
		dir = xstrndup(c->target, (size_t)(strrchr(c->target, '/') -
		    c->target + 1));
		u.host = xstrdup(c->host);
		u.port = xstrdup(c->port);
		u.authority = xstrdup(c->authority);
		u.target = log_fmt("%s%.*s", dir, (int)strcspn(loc, "#"), loc);
		u.tls = c->tls;
		free(dir);
		st = 0;
	}
	free(err);
	if (st != 0) {
		http_url_free(&u);
		free(loc);
		return false;
	}
	if (c->tls && !u.tls) {
		log_info(1, "%s: not following https:// to http://", c->what);
		http_url_free(&u);
		free(loc);
		return false;
	}
	/* LOC holds printable ASCII only (checked above) */
	log_info(1, "%s: %d %s: following %s", c->what, r->status,
	    log_escape(r->reason.p, r->reason.len, esc, sizeof esc), loc);
	c->redirects++;
	free(c->host);
	free(c->port);
	free(c->target);
	free(c->authority);
	free(c->what);
	c->host = u.host;
	c->port = u.port;
	c->target = u.target;
	c->authority = u.authority;
	c->tls = u.tls;
	c->what = log_fmt("%s://%s%s", c->tls ? "https" : "http",
	    c->authority, c->target);
	free(loc);
	return true;
}
