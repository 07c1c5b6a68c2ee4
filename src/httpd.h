/*
 * httpd.h - the HTTP/1.1 server engine on the loop: connections from a
 * listener, request heads read with size limits and deadlines, keep-alive
 * and pipelining, the writer, --count, and lingering closes.
 *
 * The engine knows nothing of what is served.  For each request head it
 * parses it calls the handler, which answers with one of httpd_respond_*()
 * at once or later (while it waits for something, such as a digest, the
 * connection costs no timer and what the client sends meanwhile is kept
 * as its next request); a connection that goes away first is handed to
 * the handler's cancel callback, after which the handler must forget it.
 * Bad requests (400, 414, 431, 505) and heads that do not arrive in time
 * (408) are answered here, and close the connection.
 *
 * A response is a head from memory and a body from memory or from a
 * file; bodies from a file go out with sendfile() on plain connections.
 * Every read and write of a connection goes through httpd_io_*() in
 * httpd.c, the one place a TLS layer has to wrap (it would copy file
 * bodies instead of sendfile()).  A HEAD request gets the head only.
 *
 * A request body is read only when the handler asks for it with
 * httpd_read_body() (httpdbody.c): Content-Length or chunked (its
 * trailer section kept), the bytes already buffered after the head
 * first, "100 Continue" first when the client expects it.  A request
 * whose body is not read is answered and its connection closed.
 *
 * With spec.raw there is no HTTP at all (serve-file --raw): the handler
 * is called with no request as soon as a client connects, answers with a
 * body and no head, and the connection is closed after it.
 */
#ifndef SOCKT_HTTPD_H
#define SOCKT_HTTPD_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "listener.h"
#include "loop.h"

#define HTTPD_IDLE_MS	60000	/* keep-alive idle, unless spec.idle_ms */
#define HTTPD_HEAD_MS	30000	/* a request head must arrive within */
#define HTTPD_LINGER_MS	2000	/* read after our last byte, then close */

struct httpd;
struct httpd_conn;

struct httpd_spec {
	int		 idle_ms;	/* <= 0: HTTPD_IDLE_MS */
	long long	 count;		/* end after N responses, aborted ones
					   included; 0: never */
	bool		 raw;		/* no HTTP: one body per client */
};

struct httpd_handler {
	/* Answer REQ (NULL with spec.raw) on the connection, now or later. */
	void	(*request)(void *, struct httpd_conn *,
		    const struct http_request *);
	/* The connection is gone before the answer: forget it. */
	void	(*cancel)(void *, struct httpd_conn *);
	/* --count is reached and every response is out: status 0 or 1. */
	void	(*done)(void *, int);
	void	*arg;
};

struct httpd_body {
	/* LEN body bytes: 0 to go on, -1 when the handler has answered. */
	int	(*data)(void *, const char *, size_t);
	/* All of it is in; the trailer section's lines, or empty. */
	void	(*end)(void *, struct http_str);
	void	*arg;
};

struct httpd	*httpd_new(struct loop *, struct listener *,
		     const struct httpd_spec *, const struct httpd_handler *);
void		 httpd_free(struct httpd *);

void		 httpd_respond_file(struct httpd_conn *, struct http_head *,
		     int, off_t, off_t);
void		 httpd_respond_buf(struct httpd_conn *, struct http_head *,
		     char *, size_t);
void		 httpd_respond_status(struct httpd_conn *, int, const char *);
void		 httpd_abort(struct httpd_conn *);
void		 httpd_read_body(struct httpd_conn *, const struct httpd_body *);

const char	*httpd_conn_name(const struct httpd_conn *);
void		*httpd_conn_data(const struct httpd_conn *);
void		 httpd_conn_set_data(struct httpd_conn *, void *);

#endif
