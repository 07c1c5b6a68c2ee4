/*
 * http.c - the HTTP/1.1 subset of serve-file and fetch-file as pure
 * functions over buffers: request and response heads, ranges, targets,
 * URLs, names, dates, base64, Repr-Digest, chunked bodies and listings.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"
#include "log.h"

static void *
http_alloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL) {
		log_error("out of memory");
		abort();
	}
	return p;
}

static bool
http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
http_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static struct http_str
http_str_make(const char *p, size_t len)
{
	struct http_str s = { p, len };

	return s;
}

/* Is S, compared without regard to case, equal to WORD? */
bool
http_str_eq(struct http_str s, const char *word)
{
	return strlen(word) == s.len && strncasecmp(s.p, word, s.len) == 0;
}

static struct http_str
http_str_trim(struct http_str s)
{
	while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

/*
 * Split off the next comma-separated element of *LIST (quotes respected),
 * trimmed.  Returns false when the list is used up.
 */
static bool
http_list_next(struct http_str *list, struct http_str *elem)
{
	size_t i;
	bool quoted = false;

	while (list->len > 0) {
		for (i = 0; i < list->len; i++) {
			if (list->p[i] == '"')
				quoted = !quoted;
			else if (list->p[i] == '\\' && quoted && i + 1 <
			    list->len)
				i++;
			else if (list->p[i] == ',' && !quoted)
				break;
		}
		*elem = http_str_trim(http_str_make(list->p, i));
		if (i < list->len)
			i++;
		list->p += i;
		list->len -= i;
		if (elem->len > 0)
			return true;
	}
	return false;
}

/* Decimal digits only, saturating at UINT64_MAX; false when not digits. */
static bool
http_parse_u64(struct http_str s, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (s.len == 0)
		return false;
	for (i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		if (n > (UINT64_MAX - 9) / 10)
			n = UINT64_MAX;
		else
			n = n * 10 + (uint64_t)(s.p[i] - '0');
	}
	*out = n;
	return true;
}

/* Find the end of a head: the offset just past the empty line, or 0. */
static size_t
http_head_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The next line of a head (without CR LF); false at the end of BUF. */
static bool
http_next_line(const char **pos, const char *end, struct http_str *line)
{
	const char *nl;

	if (*pos >= end)
		return false;
	nl = memchr(*pos, '\n', (size_t)(end - *pos));
	if (nl == NULL)
		nl = end;
	line->p = *pos;
	line->len = (size_t)(nl - *pos);
	if (line->len > 0 && line->p[line->len - 1] == '\r')
		line->len--;
	*pos = nl < end ? nl + 1 : end;
	return true;
}

/* Split "name: value"; false for a malformed field line. */
static bool
http_split_field(struct http_str line, struct http_str *name,
    struct http_str *value)
{
	size_t i;

	for (i = 0; i < line.len && line.p[i] != ':'; i++)
		if (!http_is_tchar((unsigned char)line.p[i]))
			return false;
	if (i == 0 || i == line.len)
		return false;
	*name = http_str_make(line.p, i);
	*value = http_str_trim(http_str_make(line.p + i + 1, line.len - i - 1));
	for (i = 0; i < value->len; i++) {
		unsigned char c = (unsigned char)value->p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* "HTTP/1.x": sets *minor; 0, or -1 malformed, or -2 another version. */
static int
http_parse_version(struct http_str v, int *minor)
{
	if (v.len != 8 || strncmp(v.p, "HTTP/", 5) != 0 || v.p[6] != '.' ||
	    v.p[5] < '0' || v.p[5] > '9' || v.p[7] < '0' || v.p[7] > '9')
		return -1;
	if (v.p[5] != '1')
		return -2;
	*minor = v.p[7] - '0';
	return 0;
}

/* Connection: close / keep-alive tokens. */
static void
http_connection_tokens(struct http_str value, bool *close, bool *keep)
{
	struct http_str tok;

	while (http_list_next(&value, &tok)) {
		if (http_str_eq(tok, "close"))
			*close = true;
		else if (http_str_eq(tok, "keep-alive"))
			*keep = true;
	}
}

/*
 * Parse the request head at the start of BUF (LEN bytes so far).  Returns
 * the length of the head when it is complete, 0 when more bytes are
 * needed, or minus the status to answer: -400 malformed, -414 request
 * line too long, -431 head too large, -505 not HTTP/1.x.  Empty lines
 * before the request line are skipped (RFC 9112 2.2).
 */
ssize_t
http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	const char *pos, *end, *sp1, *sp2;
	struct http_str line, name, value, version;
	size_t start = 0, head, nfields = 0, i;
	uint64_t clen, clen_seen = 0;
	bool close = false, keep = false, host = false, has_clen = false;
	bool has_te = false;
	int r;

	memset(req, 0, sizeof *req);
	while (start < len && (buf[start] == '\r' || buf[start] == '\n'))
		start++;
	if (start >= HTTP_MAX_HEAD)
		return -400;
	pos = memchr(buf + start, '\n', len - start);
	if (pos == NULL)
		return len - start >= HTTP_MAX_LINE ? -414 :
		    len >= HTTP_MAX_HEAD ? -431 : 0;
	if ((size_t)(pos - buf) - start >= HTTP_MAX_LINE)
		return -414;
	head = http_head_end(buf + start, len - start);
	if (head == 0)
		return len >= HTTP_MAX_HEAD ? -431 : 0;
	head += start;
	if (head > HTTP_MAX_HEAD)
		return -431;

	pos = buf + start;
	end = buf + head;
	http_next_line(&pos, end, &line);
	for (i = 0; i < line.len; i++)
		if ((unsigned char)line.p[i] < 0x20 ||
		    (unsigned char)line.p[i] >= 0x7f)
			return -400;
	sp1 = memchr(line.p, ' ', line.len);
	if (sp1 == NULL || sp1 == line.p)
		return -400;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(line.p + line.len - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return -400;
	req->method_name = http_str_make(line.p, (size_t)(sp1 - line.p));
	req->target = http_str_make(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	version = http_str_make(sp2 + 1, (size_t)(line.p + line.len - sp2 - 1));
	for (i = 0; i < req->method_name.len; i++)
		if (!http_is_tchar((unsigned char)req->method_name.p[i]))
			return -400;
	if ((r = http_parse_version(version, &req->minor)) != 0)
		return r == -2 ? -505 : -400;
	if (req->method_name.len == 3 && memcmp(line.p, "GET", 3) == 0)
		req->method = HTTP_GET;
	else if (req->method_name.len == 4 && memcmp(line.p, "HEAD", 4) == 0)
		req->method = HTTP_HEAD;
	else
		req->method = HTTP_OTHER;

	while (http_next_line(&pos, end, &line) && line.len > 0) {
		if (++nfields > HTTP_MAX_FIELDS)
			return -431;
		if (!http_split_field(line, &name, &value))
			return -400;	/* also obs-fold: RFC 9112 5.2 */
		if (http_str_eq(name, "host")) {
			if (host)
				return -400;
			host = true;
		} else if (http_str_eq(name, "connection"))
			http_connection_tokens(value, &close, &keep);
		else if (http_str_eq(name, "content-length")) {
			if (!http_parse_u64(value, &clen) ||
			    (has_clen && clen != clen_seen))
				return -400;
			has_clen = true;
			clen_seen = clen;
		} else if (http_str_eq(name, "transfer-encoding"))
			has_te = true;
		else if (http_str_eq(name, "range"))
			req->range = value;
		else if (http_str_eq(name, "if-range"))
			req->if_range = value;
		else if (http_str_eq(name, "if-none-match"))
			req->if_none_match = value;
		else if (http_str_eq(name, "if-modified-since"))
			req->if_modified_since = value;
		else if (http_str_eq(name, "accept"))
			req->accept = value;
	}
	if (req->minor >= 1 && !host)
		return -400;
	if (has_te && has_clen)
		return -400;	/* a smuggling attempt: RFC 9112 6.1 */
	req->has_body = has_te || (has_clen && clen_seen > 0);
	req->keep_alive = req->minor >= 1 ? !close : keep && !close;
	return (ssize_t)head;
}

/* "bytes A-B/TOTAL", "bytes * /TOTAL" or "bytes A-B/ *" (no spaces). */
static bool
http_parse_content_range(struct http_str v, struct http_response *res)
{
	const char *slash, *dash;
	struct http_str a, b, t;
	uint64_t n;

	if (v.len < 6 || strncasecmp(v.p, "bytes ", 6) != 0)
		return false;
	v.p += 6;
	v.len -= 6;
	v = http_str_trim(v);
	slash = memchr(v.p, '/', v.len);
	if (slash == NULL)
		return false;
	t = http_str_make(slash + 1, (size_t)(v.p + v.len - slash - 1));
	if (http_str_eq(t, "*"))
		res->range_total = -1;
	else if (http_parse_u64(t, &n) && n <= INT64_MAX)
		res->range_total = (int64_t)n;
	else
		return false;
	v.len = (size_t)(slash - v.p);
	if (http_str_eq(v, "*")) {
		res->range_first = res->range_last = -1;
		return res->range_total >= 0;
	}
	dash = memchr(v.p, '-', v.len);
	if (dash == NULL)
		return false;
	a = http_str_make(v.p, (size_t)(dash - v.p));
	b = http_str_make(dash + 1, (size_t)(v.p + v.len - dash - 1));
	if (!http_parse_u64(a, &n) || n > INT64_MAX)
		return false;
	res->range_first = (int64_t)n;
	if (!http_parse_u64(b, &n) || n > INT64_MAX)
		return false;
	res->range_last = (int64_t)n;
	return res->range_first <= res->range_last && (res->range_total < 0 ||
	    res->range_last < res->range_total);
}

/* Transfer-Encoding: only "chunked" (alone, last) is understood. */
static void
http_transfer_coding(struct http_str value, struct http_response *res)
{
	struct http_str list = value, tok;
	size_t n = 0;
	bool last_chunked = false;

	while (http_list_next(&list, &tok)) {
		n++;
		last_chunked = http_str_eq(tok, "chunked");
	}
	if (n == 1 && last_chunked)
		res->chunked = true;
	else
		res->transfer_encoding = value;
}

/*
 * Parse a response head at the start of BUF.  Returns its length when
 * complete, 0 when more is needed, -1 when malformed or larger than
 * HTTP_MAX_RESPONSE_HEAD.
 */
ssize_t
http_parse_response(const char *buf, size_t len, struct http_response *res)
{
	const char *pos, *end;
	struct http_str line, name, value;
	size_t head, i;
	uint64_t n;
	bool close = false, keep = false;

	memset(res, 0, sizeof *res);
	res->content_length = -1;
	head = http_head_end(buf, len);
	if (head == 0)
		return len >= HTTP_MAX_RESPONSE_HEAD ? -1 : 0;
	if (head > HTTP_MAX_RESPONSE_HEAD)
		return -1;
	pos = buf;
	end = buf + head;
	http_next_line(&pos, end, &line);
	if (line.len < 12 || http_parse_version(http_str_make(line.p, 8),
	    &res->minor) != 0 || line.p[8] != ' ')
		return -1;
	for (i = 9; i < 12; i++)
		if (line.p[i] < '0' || line.p[i] > '9')
			return -1;
	res->status = (line.p[9] - '0') * 100 + (line.p[10] - '0') * 10 +
	    (line.p[11] - '0');
	if (line.len > 12 && line.p[12] != ' ')
		return -1;
	if (line.len > 13)
		res->reason = http_str_make(line.p + 13, line.len - 13);
	while (http_next_line(&pos, end, &line) && line.len > 0) {
		if (line.p[0] == ' ' || line.p[0] == '\t')
			continue;	/* obs-fold: nothing we need */
		if (!http_split_field(line, &name, &value))
			return -1;
		if (http_str_eq(name, "content-length")) {
			if (!http_parse_u64(value, &n) || n > INT64_MAX ||
			    (res->content_length >= 0 &&
			    (uint64_t)res->content_length != n))
				return -1;
			res->content_length = (int64_t)n;
		} else if (http_str_eq(name, "transfer-encoding"))
			http_transfer_coding(value, res);
		else if (http_str_eq(name, "content-range")) {
			if (!http_parse_content_range(value, res))
				return -1;
			res->has_content_range = true;
		} else if (http_str_eq(name, "connection"))
			http_connection_tokens(value, &close, &keep);
		else if (http_str_eq(name, "repr-digest"))
			res->repr_digest = value;
		else if (http_str_eq(name, "content-disposition"))
			res->content_disposition = value;
		else if (http_str_eq(name, "location"))
			res->location = value;
		else if (http_str_eq(name, "etag"))
			res->etag = value;
		else if (http_str_eq(name, "last-modified"))
			res->last_modified = value;
	}
	res->close = res->minor == 0 ? !keep || close : close;
	return (ssize_t)head;
}

/*
 * A Range header against SIZE bytes: one byte range (first-last,
 * first-, or -suffix, decimal digits only; a number too large for 64
 * bits counts as the largest) gives HTTP_RANGE_OK with the inclusive
 * bounds.
 * Several ranges, another unit or a malformed value give
 * HTTP_RANGE_IGNORE (the whole representation is sent, as RFC 9110 14.2
 * allows); a range beyond the end gives HTTP_RANGE_UNSATISFIABLE.
 */
enum http_range
http_parse_range(struct http_str v, uint64_t size, uint64_t *first,
    uint64_t *last)
{
	struct http_str a, b;
	const char *dash;
	uint64_t x, y;

	v = http_str_trim(v);
	if (v.len < 6 || strncasecmp(v.p, "bytes=", 6) != 0)
		return HTTP_RANGE_IGNORE;
	v.p += 6;
	v.len -= 6;
	v = http_str_trim(v);
	if (memchr(v.p, ',', v.len) != NULL)
		return HTTP_RANGE_IGNORE;
	dash = memchr(v.p, '-', v.len);
	if (dash == NULL)
		return HTTP_RANGE_IGNORE;
	/* Plain digits on either side: no sign, no blank (RFC 9110 14.1.1). */
	a = http_str_make(v.p, (size_t)(dash - v.p));
	b = http_str_make(dash + 1, (size_t)(v.p + v.len - dash - 1));
	if (a.len == 0) {
		if (!http_parse_u64(b, &y))
			return HTTP_RANGE_IGNORE;
		if (y == 0 || size == 0)
			return HTTP_RANGE_UNSATISFIABLE;
		*first = size - (y < size ? y : size);
		*last = size - 1;
		return HTTP_RANGE_OK;
	}
	if (!http_parse_u64(a, &x))
		return HTTP_RANGE_IGNORE;
	if (b.len == 0)
		y = UINT64_MAX;
	else if (!http_parse_u64(b, &y) || y < x)
		return HTTP_RANGE_IGNORE;
	if (x >= size)
		return HTTP_RANGE_UNSATISFIABLE;
	*first = x;
	*last = y < size ? y : size - 1;
	return HTTP_RANGE_OK;
}

/*
 * Percent-decode S into a new string; *LEN gets its length.  Returns NULL
 * for a malformed escape.  Decoded NUL bytes are kept (callers check).
 */
static char *
http_percent_decode(const char *s, size_t n, size_t *len)
{
	char *out = http_alloc(n + 1);
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= n) {
			free(out);
			return NULL;
		}
		hi = http_hexval((unsigned char)s[i + 1]);
		lo = http_hexval((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	*len = o;
	return out;
}

/*
 * The relative path a request target names beneath the served tree:
 * "a/b" for "/a/./b/", "" for "/".  The absolute form (http://host/path)
 * is accepted; the query and fragment are dropped.  Empty and "."
 * components vanish; a ".." component, or a NUL byte, anywhere after
 * decoding is HTTP_PATH_FORBIDDEN: nothing is resolved by string
 * arithmetic.  *DIR tells whether the path ended with a slash.
 */
enum http_path
http_target_path(struct http_str target, char **out, bool *dir)
{
	const char *p = target.p, *end = target.p + target.len, *q;
	char *dec, *res, *comp, *save = NULL;
	size_t dlen, rlen = 0;

	*out = NULL;
	if (target.len > 7 && strncasecmp(p, "http://", 7) == 0) {
		p += 7;
		while (p < end && *p != '/')
			p++;
		if (p == end) {
			*out = strdup("");
			*dir = true;
			return *out ? HTTP_PATH_OK : HTTP_PATH_BAD;
		}
	}
	if (p == end || *p != '/')
		return HTTP_PATH_BAD;
	for (q = p; q < end && *q != '?' && *q != '#'; q++)
		;
	dec = http_percent_decode(p, (size_t)(q - p), &dlen);
	if (dec == NULL)
		return HTTP_PATH_BAD;
	if (memchr(dec, '\0', dlen) != NULL) {
		free(dec);
		return HTTP_PATH_FORBIDDEN;
	}
	*dir = dlen > 0 && dec[dlen - 1] == '/';
	res = http_alloc(dlen + 1);
	res[0] = '\0';
	for (comp = strtok_r(dec, "/", &save); comp != NULL;
	    comp = strtok_r(NULL, "/", &save)) {
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			free(dec);
			free(res);
			return HTTP_PATH_FORBIDDEN;
		}
		if (rlen > 0)
			res[rlen++] = '/';
		memcpy(res + rlen, comp, strlen(comp));
		rlen += strlen(comp);
		res[rlen] = '\0';
	}
	free(dec);
	if (rlen == 0)
		*dir = true;
	*out = res;
	return HTTP_PATH_OK;
}

/*
 * Percent-encode N bytes of S for a URL path: every byte but ALPHA DIGIT
 * "-._~" (and "/" when KEEP_SLASH) becomes %XX.  The result is also safe
 * inside an HTML attribute.
 */
char *
http_encode_path(const char *s, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = http_alloc(n * 3 + 1), *o = out;
	unsigned char c;
	size_t i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || (c == '/' && keep_slash))
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* S with & < > " ' written as character references. */
char *
http_html_escape(const char *s)
{
	size_t n = strlen(s), i;
	char *out = http_alloc(n * 6 + 1), *o = out;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			memcpy(o, "&amp;", 5);
			o += 5;
			break;
		case '<':
			memcpy(o, "&lt;", 4);
			o += 4;
			break;
		case '>':
			memcpy(o, "&gt;", 4);
			o += 4;
			break;
		case '"':
			memcpy(o, "&quot;", 6);
			o += 6;
			break;
		case '\'':
			memcpy(o, "&#39;", 5);
			o += 5;
			break;
		default:
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/*
 * The bytes of a URL path that may not appear raw in a request target
 * (controls, space, non-ASCII, "<>\^`{|} and a % that starts no escape)
 * are percent-encoded; everything else is kept as written.
 */
static char *
http_target_fix(const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = http_alloc(n * 3 + 2), *o = out;
	unsigned char c;
	size_t i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}", c) ||
		    (c == '%' && (i + 2 >= n ||
		    http_hexval((unsigned char)s[i + 1]) < 0 ||
		    http_hexval((unsigned char)s[i + 2]) < 0))) {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

/*
 * Split "http://HOST[:PORT][/PATH]" (HOST may be [IPV6]).  The target
 * keeps the query, drops the fragment, and gets the bytes a target may
 * not hold percent-encoded.  Returns 0, 1 when S is not a URL at all (no
 * "scheme://"), or -1 with *errp for a URL sockt cannot fetch.
 */
int
http_parse_url(const char *s, struct http_url *u, char **errp)
{
	const char *auth, *end, *hend, *colon, *hash;
	char *path;

	memset(u, 0, sizeof *u);
	if (strstr(s, "://") == NULL)
		return 1;
	if (strncasecmp(s, "http://", 7) != 0) {
		*errp = log_fmt("unsupported URL '%s': only http:// (no TLS)",
		    s);
		return -1;
	}
	auth = s + 7;
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL) {
		*errp = log_fmt("unsupported URL '%s': no user names or "
		    "passwords", s);
		return -1;
	}
	if (*auth == '[') {
		hend = memchr(auth, ']', (size_t)(end - auth));
		if (hend == NULL || hend == auth + 1)
			goto bad;
		u->host = strndup(auth + 1, (size_t)(hend - auth - 1));
		colon = hend + 1 < end ? hend + 1 : NULL;
		if (colon != NULL && *colon != ':')
			goto bad;
	} else {
		colon = memchr(auth, ':', (size_t)(end - auth));
		hend = colon ? colon : end;
		if (hend == auth)
			goto bad;
		u->host = strndup(auth, (size_t)(hend - auth));
	}
	if (colon != NULL && colon + 1 < end)
		u->port = strndup(colon + 1, (size_t)(end - colon - 1));
	else
		u->port = strdup("80");
	u->authority = strndup(auth, (size_t)(end - auth));
	hash = strchr(end, '#');
	path = log_fmt("%s%.*s", *end == '/' ? "" : "/",
	    (int)(hash ? (size_t)(hash - end) : strlen(end)), end);
	u->target = http_target_fix(path, strlen(path));
	free(path);
	if (u->host == NULL || u->port == NULL || u->authority == NULL)
		goto bad;
	return 0;
bad:
	*errp = log_fmt("bad URL '%s': expected http://HOST[:PORT]/PATH", s);
	http_url_free(u);
	return -1;
}

void
http_url_free(struct http_url *u)
{
	free(u->host);
	free(u->port);
	free(u->target);
	free(u->authority);
	memset(u, 0, sizeof *u);
}

/*
 * Reduce N bytes of NAME to a safe base name for a file in the current
 * directory: only what follows the last "/" or "\", without control
 * bytes; a name offered by the server (FROM_SERVER) also loses leading
 * dots, so it can never create a hidden file.  Returns NULL when nothing
 * usable is left ("", ".", "..") or it is longer than NAME_MAX minus the
 * ".part" suffix.
 */
char *
http_safe_name(const char *name, size_t n, bool from_server)
{
	const char *base = name;
	char *out;
	size_t i, o = 0;

	for (i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == '\\')
			base = name + i + 1;
	n -= (size_t)(base - name);
	out = http_alloc(n + 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)base[i];

		if (c < 0x20 || c == 0x7f)
			continue;
		if (from_server && o == 0 && c == '.')
			continue;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (o == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0 ||
	    o > NAME_MAX - 5) {
		free(out);
		return NULL;
	}
	return out;
}

/* The safe base name of a request target's last path component, or NULL. */
char *
http_target_name(const char *target)
{
	size_t n = strcspn(target, "?#"), start = n, len;
	char *dec, *name;

	while (start > 0 && target[start - 1] != '/')
		start--;
	if (start == n)
		return NULL;
	dec = http_percent_decode(target + start, n - start, &len);
	if (dec == NULL)
		return http_safe_name(target + start, n - start, false);
	name = http_safe_name(dec, len, false);
	free(dec);
	return name;
}

/* The value of a quoted-string (RFC 9110 5.6.4) or token, unescaped. */
static char *
http_param_value(struct http_str v, size_t *len)
{
	char *out = http_alloc(v.len + 1);
	size_t i, o = 0;

	if (v.len == 0 || v.p[0] != '"') {
		memcpy(out, v.p, v.len);
		out[v.len] = '\0';
		*len = v.len;
		return out;
	}
	for (i = 1; i < v.len && v.p[i] != '"'; i++) {
		if (v.p[i] == '\\' && i + 1 < v.len)
			i++;
		out[o++] = v.p[i];
	}
	out[o] = '\0';
	*len = o;
	return out;
}

/*
 * The file name a Content-Disposition value suggests (RFC 6266):
 * filename* (RFC 8187, UTF-8) wins over filename.  Reduced to a safe base
 * name; NULL when there is none.
 */
char *
http_disposition_name(struct http_str v)
{
	struct http_str param, name, value;
	const char *eq, *q1, *q2;
	char *plain = NULL, *ext = NULL, *raw, *dec, *res;
	size_t plen = 0, elen = 0, len, i, start;
	bool quoted = false;

	if (v.p == NULL)
		return NULL;	/* no such field */
	start = 0;
	for (i = 0; i <= v.len; i++) {
		if (i < v.len && v.p[i] == '"')
			quoted = !quoted;
		else if (i < v.len && v.p[i] == '\\' && quoted)
			i++;
		if (i < v.len && (v.p[i] != ';' || quoted))
			continue;
		param = http_str_trim(http_str_make(v.p + start,
		    (i < v.len ? i : v.len) - start));
		start = i + 1;
		eq = memchr(param.p, '=', param.len);
		if (eq == NULL)
			continue;
		name = http_str_trim(http_str_make(param.p,
		    (size_t)(eq - param.p)));
		value = http_str_trim(http_str_make(eq + 1,
		    (size_t)(param.p + param.len - eq - 1)));
		if (http_str_eq(name, "filename") && plain == NULL)
			plain = http_param_value(value, &plen);
		else if (http_str_eq(name, "filename*") && ext == NULL) {
			/* charset'language'percent-encoded */
			q1 = memchr(value.p, '\'', value.len);
			q2 = q1 ? memchr(q1 + 1, '\'', (size_t)(value.p +
			    value.len - q1 - 1)) : NULL;
			if (q2 == NULL || !http_str_eq(http_str_make(value.p,
			    (size_t)(q1 - value.p)), "utf-8"))
				continue;
			ext = http_percent_decode(q2 + 1, (size_t)(value.p +
			    value.len - q2 - 1), &elen);
		}
	}
	raw = ext ? ext : plain;
	len = ext ? elen : plen;
	res = raw ? http_safe_name(raw, len, true) : NULL;
	dec = ext ? plain : ext;
	free(raw);
	free(dec);
	return res;
}

/*
 * Does the If-None-Match / If-Range list V hold ETAG ("*" matches all)?
 * WEAK compares as RFC 9110 8.8.3.2 weak comparison (W/ ignored), else
 * strong comparison (a weak tag never matches).
 */
bool
http_etag_listed(struct http_str v, const char *etag, bool weak)
{
	struct http_str tag;
	bool is_weak;

	if (http_str_eq(http_str_trim(v), "*"))
		return true;
	while (http_list_next(&v, &tag)) {
		is_weak = tag.len > 2 && tag.p[0] == 'W' && tag.p[1] == '/';
		if (is_weak) {
			if (!weak)
				continue;
			tag.p += 2;
			tag.len -= 2;
		}
		if (tag.len == strlen(etag) && memcmp(tag.p, etag, tag.len) == 0)
			return true;
	}
	return false;
}

/*
 * Does an Accept value ask for text/html by name (with q > 0)?  Wildcards
 * do not count, so curl's "* / *" gets the text listing.
 */
bool
http_accepts_html(struct http_str v)
{
	struct http_str range, type, param;
	const char *semi, *p;
	size_t rest;

	while (http_list_next(&v, &range)) {
		semi = memchr(range.p, ';', range.len);
		type = http_str_trim(http_str_make(range.p, semi ?
		    (size_t)(semi - range.p) : range.len));
		if (!http_str_eq(type, "text/html"))
			continue;
		while (semi != NULL) {
			p = semi + 1;
			rest = (size_t)(range.p + range.len - p);
			semi = memchr(p, ';', rest);
			param = http_str_trim(http_str_make(p, semi ?
			    (size_t)(semi - p) : rest));
			if (param.len >= 2 && (param.p[0] == 'q' ||
			    param.p[0] == 'Q') && param.p[1] == '=') {
				param.p += 2;
				param.len -= 2;
				while (param.len > 0 && (param.p[0] == '0' ||
				    param.p[0] == '.')) {
					param.p++;
					param.len--;
				}
				if (param.len == 0)
					goto next;	/* q=0: not wanted */
			}
		}
		return true;
next:
		;
	}
	return false;
}

static const char http_days[7][4] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char http_months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec"
};

/* IMF-fixdate (RFC 9110 5.6.7) into BUF of HTTP_DATE_LEN bytes. */
void
http_format_date(time_t t, char *buf)
{
	char tmp[128];
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
	snprintf(tmp, sizeof tmp, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    http_days[tm.tm_wday % 7], tm.tm_mday % 100,
	    http_months[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000,
	    tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100);
	strlcpy(buf, tmp, HTTP_DATE_LEN);
}

/* Where an IMF-fixdate has digits ('d'), and only there. */
static const char http_date_form[HTTP_DATE_LEN] =
    "xxx, dd xxx dddd dd:dd:dd xxx";

/* An IMF-fixdate into *T; -1 for anything else (the caller ignores it). */
int
http_parse_date(struct http_str v, time_t *t)
{
	/* "Sun, 06 Nov 1994 08:49:37 GMT": where its digits are */
	static const unsigned char digits[] = {
		5, 6, 12, 13, 14, 15, 17, 18, 20, 21, 23, 24
	};
	char buf[HTTP_DATE_LEN], day[4], mon[4];
	struct tm tm;
	int i, n = 0;

	v = http_str_trim(v);
	if (v.len != HTTP_DATE_LEN - 1)
		return -1;
	/* Digits where digits go: sscanf's %d would take a sign or blank. */
	for (i = 0; i < (int)sizeof digits; i++)
		if (v.p[digits[i]] < '0' || v.p[digits[i]] > '9')
			return -1;
	memcpy(buf, v.p, v.len);
	buf[v.len] = '\0';
	/* sscanf's %d takes a sign and blanks: every digit must be a digit */
	for (i = 0; i < (int)v.len; i++)
		if ((http_date_form[i] == 'd') != (buf[i] >= '0' &&
		    buf[i] <= '9'))
			return -1;
	memset(&tm, 0, sizeof tm);
	if (sscanf(buf, "%3s, %2d %3s %4d %2d:%2d:%2d GMT%n", day,
	    &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec, &n) != 7 || n != (int)v.len)
		return -1;
	for (i = 0; i < 12 && strcmp(mon, http_months[i]) != 0; i++)
		;
	if (i == 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_mon = i;
	tm.tm_year -= 1900;
	*t = timegm(&tm);
	return *t == (time_t)-1 ? -1 : 0;
}

static const char http_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Base64 of N bytes of IN, padded, NUL-terminated in OUT.  Returns the
 * length, or 0 when OUT (SIZE bytes) is too small.
 */
size_t
http_base64_encode(const unsigned char *in, size_t n, char *out, size_t size)
{
	size_t i, o = 0;
	uint32_t v;

	if (size < (n + 2) / 3 * 4 + 1)
		return 0;
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = http_b64[v >> 18 & 63];
		out[o++] = http_b64[v >> 12 & 63];
		out[o++] = http_b64[v >> 6 & 63];
		out[o++] = http_b64[v & 63];
	}
	if (i < n) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = http_b64[v >> 18 & 63];
		out[o++] = http_b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? http_b64[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/*
 * Decode padded base64; returns the number of bytes, or -1 when IN is
 * malformed or the result does not fit SIZE bytes.
 */
ssize_t
http_base64_decode(const char *in, size_t n, unsigned char *out, size_t size)
{
	const char *p;
	size_t i, o = 0, pad = 0, j;
	uint32_t v;
	int k;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		v = 0;
		for (j = 0; j < 4; j++) {
			if (in[i + j] == '=' && i + 4 == n && j >= 2) {
				pad++;
				v <<= 6;
				continue;
			}
			if (pad > 0 || in[i + j] == '\0' ||
			    (p = strchr(http_b64, in[i + j])) == NULL)
				return -1;
			k = (int)(p - http_b64);
			v = v << 6 | (uint32_t)k;
		}
		if (o + 3 - pad > size)
			return -1;
		out[o++] = (unsigned char)(v >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(v >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)v;
	}
	return (ssize_t)o;
}

/*
 * The sha-256 member of a Repr-Digest dictionary (RFC 9530, RFC 8941
 * byte sequence ":BASE64:") into OUT (32 bytes).  Returns 1 when found,
 * 0 when the dictionary has no sha-256 member, -1 when that member is
 * malformed.
 */
int
http_repr_digest_sha256(struct http_str v, unsigned char *out)
{
	struct http_str member, key, value;
	const char *eq, *semi;

	while (http_list_next(&v, &member)) {
		eq = memchr(member.p, '=', member.len);
		if (eq == NULL)
			continue;
		key = http_str_trim(http_str_make(member.p,
		    (size_t)(eq - member.p)));
		if (key.len != 7 || memcmp(key.p, "sha-256", 7) != 0)
			continue;
		value = http_str_make(eq + 1, (size_t)(member.p + member.len -
		    eq - 1));
		semi = memchr(value.p, ';', value.len);
		if (semi != NULL)
			value.len = (size_t)(semi - value.p);
		value = http_str_trim(value);
		if (value.len < 2 || value.p[0] != ':' ||
		    value.p[value.len - 1] != ':')
			return -1;
		if (http_base64_decode(value.p + 1, value.len - 2, out, 32) != 32)
			return -1;
		return 1;
	}
	return 0;
}

/* ---- chunked transfer coding (RFC 9112 7.1) -------------------------- */

enum {
	CH_SIZE,	/* hex digits of the chunk size */
	CH_SIZE_END,	/* blanks, then ";" extensions, CR LF or LF */
	CH_SIZE_LF,	/* LF after the CR of a size line */
	CH_EXT,		/* chunk extensions up to the line end */
	CH_DATA,
	CH_DATA_END,	/* CR LF after the data */
	CH_DATA_LF,
	CH_TRAILER,	/* start of a trailer line (or the final empty one) */
	CH_TRAILER_LINE,
	CH_END_LF,
	CH_DONE
};

#define HTTP_CHUNK_LINE_MAX	8192

void
http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof *c);
	c->state = CH_SIZE;
}

/*
 * Consume framing from IN (LEN bytes) until body bytes, the end, or the
 * end of IN.  *USED is how much of IN was consumed (including the data
 * span returned).  For HTTP_CHUNK_DATA the body bytes are
 * IN[*DATA_OFF .. *DATA_OFF + *DATA_LEN).  A chunk size is hex digits
 * only (RFC 9112 7.1: no sign, no blank before it, no "0x"), at most 15
 * of them, followed by blanks and extensions after a ";" or by the line
 * end: "0x5" is malformed, not a last chunk with an extension "x5".
 */
enum http_chunk_step
http_chunked_step(struct http_chunked *c, const char *in, size_t len,
    size_t *used, size_t *data_off, size_t *data_len)
{
	size_t i = 0, n;
	int h;

	*data_off = *data_len = 0;
	while (i < len) {
		unsigned char ch = (unsigned char)in[i];

		switch (c->state) {
		case CH_SIZE:
			h = http_hexval(ch);
			if (h >= 0) {
				if (c->line >= 15)
					return HTTP_CHUNK_BAD;
				c->left = c->left << 4 | (uint64_t)h;
				c->line++;
				i++;
				break;
			}
			if (c->line == 0)
				return HTTP_CHUNK_BAD;
			c->state = CH_SIZE_END;
			break;
		case CH_SIZE_END:
			i++;
			if (++c->line > HTTP_CHUNK_LINE_MAX)
				return HTTP_CHUNK_BAD;
			if (ch == ' ' || ch == '\t')
				break;
			if (ch == ';')
				c->state = CH_EXT;
			else if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (ch == '\n') {
				c->line = 0;
				c->state = c->left > 0 ? CH_DATA : CH_TRAILER;
			} else
				return HTTP_CHUNK_BAD;
			break;
		case CH_SIZE_LF:
			i++;
			if (ch != '\n')
				return HTTP_CHUNK_BAD;
			c->line = 0;
			c->state = c->left > 0 ? CH_DATA : CH_TRAILER;
			break;
		case CH_EXT:
			i++;
			if (++c->line > HTTP_CHUNK_LINE_MAX)
				return HTTP_CHUNK_BAD;
			if (ch != '\n')
				break;
			c->line = 0;
			c->state = c->left > 0 ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA:
			n = len - i;
			if (n > c->left)
				n = (size_t)c->left;
			c->left -= n;
			if (c->left == 0)
				c->state = CH_DATA_END;
			*data_off = i;
			*data_len = n;
			*used = i + n;
			return HTTP_CHUNK_DATA;
		case CH_DATA_END:
			i++;
			if (ch == '\r')
				c->state = CH_DATA_LF;
			else if (ch == '\n')
				c->state = CH_SIZE;
			else
				return HTTP_CHUNK_BAD;
			c->line = 0;
			break;
		case CH_DATA_LF:
			i++;
			if (ch != '\n')
				return HTTP_CHUNK_BAD;
			c->state = CH_SIZE;
			break;
		case CH_TRAILER:
			i++;
			if (ch == '\r')
				c->state = CH_END_LF;
			else if (ch == '\n')
				c->state = CH_DONE;
			else {
				c->line = 1;
				c->state = CH_TRAILER_LINE;
			}
			break;
		case CH_TRAILER_LINE:
			i++;
			if (++c->line > HTTP_CHUNK_LINE_MAX)
				return HTTP_CHUNK_BAD;
			if (ch == '\n') {
				c->line = 0;
				c->state = CH_TRAILER;
			}
			break;
		case CH_END_LF:
			i++;
			if (ch != '\n')
				return HTTP_CHUNK_BAD;
			c->state = CH_DONE;
			break;
		case CH_DONE:
			*used = i;
			return HTTP_CHUNK_END;
		}
		if (c->state == CH_DONE) {
			*used = i;
			return HTTP_CHUNK_END;
		}
	}
	*used = i;
	return c->state == CH_DONE ? HTTP_CHUNK_END : HTTP_CHUNK_MORE;
}

/* ---- listings --------------------------------------------------------- */

static void
http_listing_put(struct http_listing *l, const char *s)
{
	size_t n = strlen(s);

	if (l->len + n + 1 > l->cap) {
		while (l->len + n + 1 > l->cap)
			l->cap = l->cap ? l->cap * 2 : 1024;
		l->buf = realloc(l->buf, l->cap);
		if (l->buf == NULL) {
			log_error("out of memory");
			abort();
		}
	}
	memcpy(l->buf + l->len, s, n + 1);
	l->len += n;
}

/* A name for the text listing: control bytes and "%" as %XX. */
static char *
http_listing_text(const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(name), i;
	char *out = http_alloc(n * 3 + 1), *o = out;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == '%') {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

/* Start the listing of the directory at URL path BASE ("/" or "/a/b/"). */
void
http_listing_begin(struct http_listing *l, const char *base, bool html)
{
	char *esc;

	memset(l, 0, sizeof *l);
	l->html = html;
	/* Encoded once here, not once per entry. */
	l->base = http_encode_path(base, strlen(base), true);
	if (!html)
		return;
	esc = http_html_escape(base);
	http_listing_put(l, "<!DOCTYPE html>\n<html>\n<head>\n"
	    "<meta charset=\"utf-8\">\n<title>Index of ");
	http_listing_put(l, esc);
	http_listing_put(l, "</title>\n</head>\n<body>\n<h1>Index of ");
	http_listing_put(l, esc);
	http_listing_put(l, "</h1>\n<ul>\n");
	free(esc);
}

/* One entry: NAME, a directory when DIR. */
void
http_listing_add(struct http_listing *l, const char *name, bool dir)
{
	char *href, *text;

	if (!l->html) {
		text = http_listing_text(name);
		http_listing_put(l, text);
		http_listing_put(l, dir ? "/\n" : "\n");
		free(text);
		return;
	}
	href = http_encode_path(name, strlen(name), false);
	text = http_html_escape(name);
	http_listing_put(l, "<li><a href=\"");
	http_listing_put(l, l->base);
	http_listing_put(l, href);
	http_listing_put(l, dir ? "/\">" : "\">");
	http_listing_put(l, text);
	http_listing_put(l, dir ? "/</a></li>\n" : "</a></li>\n");
	free(href);
	free(text);
}

void
http_listing_end(struct http_listing *l)
{
	if (l->html)
		http_listing_put(l, "</ul>\n</body>\n</html>\n");
	else if (l->buf == NULL)
		http_listing_put(l, "");
	free(l->base);
	l->base = NULL;
}
