/*
 * fuzz-http-response.c - libFuzzer harness for what fetch-file reads from
 * a server: the response head, Repr-Digest, Content-Disposition names,
 * chunked framing, and the URLs and names it is given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_response res;
	struct http_chunked ch;
	struct http_url url;
	unsigned char digest[32], raw[96];
	struct http_str whole = { (const char *)data, size };
	size_t used, off, len, pos;
	char *s, *name, *err = NULL, b64[160];
	ssize_t n;

	n = http_parse_response((const char *)data, size, &res);
	if (n > 0) {
		(void)http_repr_digest_sha256(res.repr_digest, digest);
		if ((name = http_disposition_name(res.content_disposition)))
			free(name);
	}
	/* chunked framing, fed in pieces as the network would */
	http_chunked_init(&ch);
	for (pos = 0; pos < size;) {
		enum http_chunk_step st;

		used = off = len = 0;
		st = http_chunked_step(&ch, (const char *)data + pos,
		    size - pos, &used, &off, &len);
		/* body bytes must lie inside what was consumed */
		if (used > size - pos || (st == HTTP_CHUNK_DATA &&
		    off + len > used))
			abort();
		if (st == HTTP_CHUNK_BAD || st == HTTP_CHUNK_END ||
		    (used == 0 && st != HTTP_CHUNK_DATA))
			break;
		pos += used;
	}
	s = strndup((const char *)data, size);
	if (s != NULL) {
		if (http_parse_url(s, &url, &err) == 0)
			http_url_free(&url);
		else
			free(err);
		if ((name = http_target_name(s)) != NULL)
			free(name);
		free(s);
	}
	if ((name = http_safe_name((const char *)data, size, true)) != NULL) {
		if (strchr(name, '/') != NULL || strcmp(name, "..") == 0 ||
		    strcmp(name, ".") == 0)
			abort();
		free(name);
	}
	(void)http_repr_digest_sha256(whole, digest);
	if ((n = http_base64_decode((const char *)data, size, raw,
	    sizeof raw)) > 0)
		(void)http_base64_encode(raw, (size_t)n, b64, sizeof b64);
	return 0;
}
