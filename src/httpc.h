/*
 * httpc.h - the HTTP/1.1 client engine on the loop: one exchange (GET,
 * HEAD, PUT, ...) at a time, over plain TCP or TLS, never blocking.
 *
 * httpc_start() dials (dial.c: -s/-p, -w, --wait, and for https the TLS
 * handshake and verification), sends the request head and, when given,
 * a request body, reads the response head, and hands the body over as it
 * arrives, framed by Content-Length, chunked coding or the end of the
 * connection.  Redirects (301, 302, 303, 307, 308) of a request without
 * a body are followed up to max_redirects times, each under -v, never
 * from https to http; one that is not followed reaches the head callback
 * like any other response.  -i (idle_ms) fails an exchange that moves
 * nothing for that long.
 *
 * Callbacks (struct httpc_ops; any may be NULL but done):
 *
 *	head(arg, res, &err)	the final response head (1xx are skipped).
 *				Return 0 to take the body, 1 to end the
 *				exchange successfully now, -1 to fail with
 *				*err (allocated).
 *	body(arg, p, n, &err)	N body bytes, decoded.  0, or -1 with *err.
 *				A consumer that cannot take more calls
 *				httpc_pause(), later httpc_resume().
 *	body_sent(arg, p, n)	N request body bytes as they go out (a tap:
 *				hash what is sent while it is sent).
 *	trailer(arg)		after a chunked request body: the trailer
 *				fields, each "Name: value\r\n", allocated,
 *				or NULL for none.
 *	done(arg, end, e, msg)	once, last: HTTPC_OK (the response body is
 *				complete), HTTPC_CUT (the connection ended
 *				inside the body: errno E, or 0 for a close;
 *				MSG says how over TLS, else NULL) or
 *				HTTPC_FAILED (MSG is the one-line error).
 *				The engine does nothing after it; free it
 *				with httpc_free() later, never from a
 *				callback.
 *
 * PUT of a file with a chunked body and a digest trailer (send-file):
 *
 *	req.method = "PUT"; req.body_fd = fd; req.body_len = -1;
 *	req.headers = "Trailer: Content-Digest\r\n";
 *	ops.body_sent = hash_update;	(digest_update() on each piece)
 *	ops.trailer = make_trailer;	(returns "Content-Digest:
 *					 sha-256=:BASE64:\r\n")
 *
 * With body_len >= 0 the body is sent with Content-Length instead (the
 * file must hold that many bytes from its offset).  The body is read
 * from body_fd (a regular file or a pipe) only while the socket takes
 * it.  A response that arrives while the body is still going out (413)
 * ends the sending and is handled as usual.
 *
 * Messages name the URL escaped (httpc_what()); connection failures come
 * from dial.c ("connect 127.0.0.1:9: Connection refused", "tls
 * 127.0.0.1:8443: certificate verify failed: ...").
 */
#ifndef SOCKT_HTTPC_H
#define SOCKT_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dial.h"
#include "http.h"
#include "loop.h"

enum httpc_end { HTTPC_OK, HTTPC_CUT, HTTPC_FAILED };

struct httpc_ops {
	int	(*head)(void *, const struct http_response *, char **);
	int	(*body)(void *, const void *, size_t, char **);
	void	(*body_sent)(void *, const void *, size_t);
	char	*(*trailer)(void *);
	void	(*done)(void *, enum httpc_end, int, const char *);
};

/* Where to and how to connect. */
struct httpc_spec {
	struct dial_spec dial;		/* -4/-6, -n, -s, -p, -w, --wait;
					   host, port and tls are set here */
	struct tls_ctx	*tls;		/* for https; NULL: one with default
					   verification is made if needed */
	const char	*servername;	/* --servername, for the first host */
	int		 idle_ms;	/* -i, 0: none */
};

struct httpc_request {
	const char	*method;	/* "GET", "HEAD", "PUT" */
	bool		 tls;		/* https */
	const char	*host;
	const char	*port;
	const char	*target;	/* origin-form, percent-encoded */
	const char	*authority;	/* Host: */
	const char	*headers;	/* more fields, each ending "\r\n" */
	int		 body_fd;	/* request body; -1: none */
	int64_t		 body_len;	/* Content-Length; -1: chunked */
	int		 max_redirects;
	bool		 raw;		/* no HTTP: read the stream to EOF */
};

struct httpc;

struct httpc	*httpc_start(struct loop *, const struct httpc_spec *,
		     const struct httpc_request *, const struct httpc_ops *,
		     void *);
void		 httpc_pause(struct httpc *);
void		 httpc_resume(struct httpc *);
void		 httpc_cancel(struct httpc *);
void		 httpc_free(struct httpc *);
const char	*httpc_what(const struct httpc *);
uint64_t	 httpc_body_bytes(const struct httpc *);
uint64_t	 httpc_sent_bytes(const struct httpc *);

#endif
