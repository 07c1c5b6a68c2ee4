/*
 * upload.h - one file PUT over HTTP/1.1 on httpc.c (send-file): the body
 * goes out chunked, with a Content-Digest trailer that is the SHA-256 of
 * exactly the bytes sent, hashed while they are sent.  The upload
 * succeeds only on a 2xx answer that came after the whole body, and whose
 * Repr-Digest (RFC 9530), when the server sends one, is that digest.
 *
 * A non-2xx answer fails with its status line ("URL: 409 Conflict",
 * escaped), a different Repr-Digest with "URL: server stored a different
 * digest (...)", a connection lost before the answer with its error.  The
 * result arrives once through the done callback, from the loop.
 */
#ifndef SOCKT_UPLOAD_H
#define SOCKT_UPLOAD_H

#include <stdint.h>

#include "httpc.h"
#include "loop.h"

struct upload;

typedef void	 upload_done_fn(void *, int, const char *);

struct upload	*upload_start(struct loop *, const struct httpc_spec *,
		     const struct httpc_request *, upload_done_fn *, void *);
uint64_t	 upload_sent(const struct upload *);
const char	*upload_what(const struct upload *);
void		 upload_free(struct upload *);

#endif
