/*
 * httpdsend.c - the responses of the HTTP server engine: set up from what
 * the handler answers, written by the writer, and the connection's reads
 * and writes, the one place a TLS layer has to wrap.
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
#include "httpd-int.h"
#include "log.h"
#include "tls.h"

#define HTTPD_SEND_SLICE	(8 * 1024 * 1024)	/* per wakeup: fairness */
#define HTTPD_COPY		(64 * 1024)	/* a file body, not sendfile() */

/* ---- the connection's I/O: the one place TLS would wrap ---------------- */

ssize_t
httpd_io_read(struct httpd_conn *c, void *buf, size_t len)
{
	if (c->tls != NULL)
		return tls_read(c->tls, buf, len);
	return recv(c->fd, buf, len, MSG_DONTWAIT);
}

/* Write from IOV (N pieces); MORE: more follows at once (MSG_MORE). */
static ssize_t
httpd_io_write(struct httpd_conn *c, struct iovec *iov, int n, bool more)
{
	struct msghdr msg;

	if (c->tls != NULL)
		return tls_writev(c->tls, iov, n);
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
		c->plain = false;	/* copy from now on, on this connection */
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

/*
 * A few bytes at once (an interim "100 Continue"): 0 when all went out,
 * -1 when they did not (the connection is then given up).
 */
int
httpd_io_send_small(struct httpd_conn *c, const char *buf, size_t len)
{
	struct iovec iov;

	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	return httpd_io_write(c, &iov, 1, false) == (ssize_t)len ? 0 : -1;
}

int
httpd_io_shutdown(struct httpd_conn *c)
{
	/* close_notify is best effort: the socket buffer has room for it
	 * once the response is out, and the half-close follows anyway */
	if (c->tls != NULL)
		(void)tls_close_notify(c->tls);
	return shutdown(c->fd, SHUT_WR);
}

/* Are request bytes held inside TLS, where poll() cannot see them? */
bool
httpd_io_pending(const struct httpd_conn *c)
{
	return c->tls != NULL && tls_pending(c->tls);
}

/* Forget the response (its head, body and file). */
void
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
	    status == 505 || (c->req.has_body && !c->body_done))
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
