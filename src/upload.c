/*
 * upload.c - one file PUT over HTTP/1.1 with a digest trailer, verified
 * against the server's Repr-Digest (upload.h).
 */
#include <sys/types.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "http.h"
#include "httpc.h"
#include "log.h"
#include "upload.h"
#include "xmalloc.h"

struct upload {
	struct httpc		*c;
	struct digest_ctx	*hash;
	unsigned char		 digest[DIGEST_LEN];
	bool			 hashed;	/* the whole body was read */
	upload_done_fn		*done;
	void			*arg;
};

/* ":BASE64:" of DIGEST in BUF (at least DIGEST_B64_LEN + 2). */
static const char *
upload_b64(const unsigned char *digest, char *buf, size_t size)
{
	size_t n;

	buf[0] = ':';
	n = http_base64_encode(digest, DIGEST_LEN, buf + 1, size - 2);
	buf[1 + n] = ':';
	buf[2 + n] = '\0';
	return buf;
}

/* httpc body_sent: hash each piece of the body as it goes out. */
static void
upload_body_sent(void *arg, const void *p, size_t n)
{
	struct upload *u = arg;

	digest_update(u->hash, p, n);
}

/* httpc trailer: the body is all read; its digest ends the request. */
static char *
upload_trailer(void *arg)
{
	struct upload *u = arg;
	char b64[DIGEST_B64_LEN + 2];

	digest_final(u->hash, u->digest);
	u->hashed = true;
	return log_fmt("Content-Digest: sha-256=%s\r\n", upload_b64(u->digest,
	    b64, sizeof b64));
}

/*
 * httpc head: 2xx after the whole body, with the same digest when the
 * server says what it stored, ends the upload well; the body of the
 * answer is not needed.
 */
static int
upload_head(void *arg, const struct http_response *res, char **errp)
{
	struct upload *u = arg;
	unsigned char stored[DIGEST_LEN];
	char esc[LOG_ESCAPE_MAX], ours[DIGEST_B64_LEN + 2];
	char theirs[DIGEST_B64_LEN + 2];
	int r;

	if (res->status < 200 || res->status > 299) {
		*errp = log_fmt("%s: %d %s", httpc_what(u->c), res->status,
		    log_escape(res->reason.p, res->reason.len, esc,
		    sizeof esc));
		return -1;
	}
	if (!u->hashed) {
		*errp = log_fmt("%s: the server answered %d before it had "
		    "the whole file", httpc_what(u->c), res->status);
		return -1;
	}
	upload_b64(u->digest, ours, sizeof ours);
	if (res->repr_digest.len == 0) {
		log_info(1, "%s: %d, no Repr-Digest to check (sent "
		    "sha-256=%s)", httpc_what(u->c), res->status, ours);
		return 1;
	}
	r = http_repr_digest_sha256(res->repr_digest, stored);
	if (r == 0) {
		log_info(1, "%s: %d, Repr-Digest has no sha-256 (sent "
		    "sha-256=%s)", httpc_what(u->c), res->status, ours);
		return 1;
	}
	if (r == -1) {
		*errp = log_fmt("%s: malformed Repr-Digest '%s'",
		    httpc_what(u->c), log_escape(res->repr_digest.p,
		    res->repr_digest.len, esc, sizeof esc));
		return -1;
	}
	if (memcmp(stored, u->digest, DIGEST_LEN) != 0) {
		*errp = log_fmt("%s: server stored a different digest (sent "
		    "sha-256=%s, stored sha-256=%s)", httpc_what(u->c), ours,
		    upload_b64(stored, theirs, sizeof theirs));
		return -1;
	}
	log_info(1, "%s: %d, the server stored sha-256=%s", httpc_what(u->c),
	    res->status, ours);
	return 1;
}

static void
upload_done(void *arg, enum httpc_end end, int e, const char *msg)
{
	struct upload *u = arg;
	char *m = NULL;

	if (end == HTTPC_OK) {
		u->done(u->arg, 0, NULL);
		return;
	}
	if (msg == NULL)
		msg = m = log_fmt("%s: %s", httpc_what(u->c), e ? strerror(e) :
		    "connection closed");
	u->done(u->arg, 1, msg);
	free(m);
}

/*
 * PUT the body of REQ (body_fd; method, framing and trailer are set
 * here) as SPEC says.  DONE(ARG, status, message) runs once, from the
 * loop.  REQ's strings are copied; req->headers must stay valid.
 */
struct upload *
upload_start(struct loop *l, const struct httpc_spec *spec,
    const struct httpc_request *req, upload_done_fn *done, void *arg)
{
	static const struct httpc_ops ops = {
		.head = upload_head,
		.body_sent = upload_body_sent,
		.trailer = upload_trailer,
		.done = upload_done,
	};
	struct upload *u = xcalloc(1, sizeof *u);
	struct httpc_request r = *req;

	u->hash = digest_new();
	u->done = done;
	u->arg = arg;
	r.method = "PUT";
	r.body_len = -1;
	r.headers = "Trailer: Content-Digest\r\n";
	r.max_redirects = 0;
	r.raw = false;
	u->c = httpc_start(l, spec, &r, &ops, u);
	return u;
}

/* Body bytes sent so far. */
uint64_t
upload_sent(const struct upload *u)
{
	return httpc_sent_bytes(u->c);
}

/* The URL, escaped, for messages. */
const char *
upload_what(const struct upload *u)
{
	return httpc_what(u->c);
}

/* Free U, ended or not (an unfinished upload ends without callback). */
void
upload_free(struct upload *u)
{
	if (u == NULL)
		return;
	httpc_free(u->c);
	digest_free(u->hash);
	free(u);
}
