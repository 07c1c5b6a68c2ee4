/*
 * fuzz-http-request.c - libFuzzer harness for what serve-file reads from
 * the network: the request head, its Range field against a file size, the
 * request target turned into a path beneath the served tree, validators
 * and preconditions, the response head built from what it names, and an
 * upload's chunked body with its trailer section and digests.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The chunked body of an upload after the head, its trailers kept, and
 * the digest fields serve-file looks for in them.
 */
static void
fuzz_upload_body(const char *p, size_t size)
{
	struct http_chunked ch;
	struct http_str trailers, v;
	unsigned char digest[32];
	char keep[256];
	size_t pos, used, off, len;
	enum http_chunk_step st;

	http_chunked_init(&ch);
	ch.trailers = keep;
	ch.trailers_cap = sizeof keep;
	for (pos = 0; pos < size; pos += used) {
		used = off = len = 0;
		st = http_chunked_step(&ch, p + pos, size - pos, &used, &off,
		    &len);
		if (used > size - pos || ch.trailers_len > ch.trailers_cap ||
		    (st == HTTP_CHUNK_DATA && off + len > used))
			abort();
		if (st == HTTP_CHUNK_BAD || st == HTTP_CHUNK_END ||
		    (used == 0 && st != HTTP_CHUNK_DATA))
			break;
	}
	trailers.p = keep;
	trailers.len = ch.trailers_len;
	if (http_field_find(trailers, "content-digest", &v)) {
		if (v.p < keep || v.p + v.len > keep + ch.trailers_len)
			abort();
		(void)http_repr_digest_sha256(v, digest);
	}
}

/* A path serve-file may open: relative, no "." or ".." component. */
static int
fuzz_path_is_beneath(const char *path)
{
	const char *p = path, *slash;
	size_t n;

	if (path[0] == '/')
		return 0;
	for (;;) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if ((n == 2 && p[0] == '.' && p[1] == '.') ||
		    (n == 1 && p[0] == '.'))
			return 0;
		if (slash == NULL)
			return 1;
		p = slash + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req;
	struct http_head head;
	struct http_str whole = { (const char *)data, size };
	uint64_t first, last;
	unsigned char digest[32];
	time_t t;
	char *path, *enc;
	bool dir;
	ssize_t n;

	n = http_parse_request((const char *)data, size, &req);
	if (n > 0) {
		(void)http_parse_range(req.range, 1000, &first, &last);
		(void)http_parse_range(req.range, 0, &first, &last);
		if (http_target_path(req.target, &path, &dir) == HTTP_PATH_OK) {
			/* what serve-file opens must stay beneath the tree */
			if (!fuzz_path_is_beneath(path))
				abort();
			enc = http_encode_path(path, strlen(path), dir);
			free(enc);
			http_head_begin(&head, 200, 0);
			http_head_disposition(&head, "attachment", path);
			http_head_finish(&head, false);
			http_head_free(&head);
			free(path);
		}
		(void)http_preconditions(&req, "\"abc\"", 784111777, 1000,
		    &first, &last);
		(void)http_preconditions(&req, "\"abc\"", 0, 0, &first, &last);
		http_head_begin(&head, 206, 784111777);
		http_head_printf(&head, "X: %.*s\r\n", (int)req.target.len,
		    req.target.p);
		http_head_finish(&head, req.keep_alive);
		http_head_free(&head);
		(void)http_etag_listed(req.if_none_match, "\"abc\"", true);
		(void)http_accepts_html(req.accept);
		(void)http_parse_date(req.if_modified_since, &t);
		(void)http_repr_digest_sha256(req.content_digest, digest);
		fuzz_upload_body((const char *)data + n, size - (size_t)n);
	}
	(void)http_accepts_html(whole);
	/* every field parser on raw input too */
	(void)http_parse_range(whole, UINT64_MAX / 2, &first, &last);
	if (http_target_path(whole, &path, &dir) == HTTP_PATH_OK)
		free(path);
	(void)http_parse_date(whole, &t);
	return 0;
}
