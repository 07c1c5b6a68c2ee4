/*
 * fuzz-http-request.c - libFuzzer harness for what serve-file reads from
 * the network: the request head, its Range field against a file size, the
 * request target turned into a path beneath the served tree, validators.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

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
	struct http_str whole = { (const char *)data, size };
	uint64_t first, last;
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
			free(path);
		}
		(void)http_etag_listed(req.if_none_match, "\"abc\"", true);
		(void)http_accepts_html(req.accept);
		(void)http_parse_date(req.if_modified_since, &t);
	}
	/* every field parser on raw input too */
	(void)http_parse_range(whole, UINT64_MAX / 2, &first, &last);
	if (http_target_path(whole, &path, &dir) == HTTP_PATH_OK)
		free(path);
	(void)http_parse_date(whole, &t);
	return 0;
}
