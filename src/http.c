/*
 * http.c - the HTTP/1.1 subset of serve-file and fetch-file as pure
 * functions over buffers: the helpers the other http*.c files share,
 * request and response heads, and building serve-file's heads.  Targets, URLs and names are in httpurl.c;
 * ranges, validators, dates and digests in httpval.c; chunked bodies and
 * listings in httpbody.c.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"
#include "http-int.h"
#include "log.h"
#include "xmalloc.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

void *
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

int
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

struct http_str
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

struct http_str
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
bool
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
bool
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

/* Is the last element of the list VALUE the token WORD? */
static bool
http_last_token_is(struct http_str value, const char *word)
{
	struct http_str tok;
	bool last = false;

	while (http_list_next(&value, &tok))
		last = http_str_eq(tok, word);
	return last;
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
	else if (req->method_name.len == 3 && memcmp(line.p, "PUT", 3) == 0)
		req->method = HTTP_PUT;
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
		} else if (http_str_eq(name, "transfer-encoding")) {
			has_te = true;
			req->chunked = http_last_token_is(value, "chunked");
		} else if (http_str_eq(name, "range"))
			req->range = value;
		else if (http_str_eq(name, "if-range"))
			req->if_range = value;
		else if (http_str_eq(name, "if-none-match"))
			req->if_none_match = value;
		else if (http_str_eq(name, "if-modified-since"))
			req->if_modified_since = value;
		else if (http_str_eq(name, "accept"))
			req->accept = value;
		else if (http_str_eq(name, "expect"))
			req->expect = value;
		else if (http_str_eq(name, "content-digest"))
			req->content_digest = value;
		else if (http_str_eq(name, "repr-digest"))
			req->repr_digest = value;
	}
	if (req->minor >= 1 && !host)
		return -400;
	if (has_te && has_clen)
		return -400;	/* a smuggling attempt: RFC 9112 6.1 */
	req->has_body = has_te || (has_clen && clen_seen > 0);
	req->content_length = has_te ? 0 : clen_seen;
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

/* The reason phrase serve-file sends with STATUS. */
const char *
http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 301: return "Moved Permanently";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 507: return "Insufficient Storage";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

/* Append LEN bytes of S to H. */
static void
http_head_put(struct http_head *h, const char *s, size_t len)
{
	if (h->len + len + 1 > h->cap) {
		while (h->len + len + 1 > h->cap)
			h->cap = h->cap ? h->cap * 2 : 512;
		h->buf = xreallocarray(h->buf, h->cap, 1);
	}
	memcpy(h->buf + h->len, s, len);
	h->len += len;
	h->buf[h->len] = '\0';
}

/*
 * Start the head of a response with STATUS, sent at NOW: the status line,
 * Server and Date.
 */
void
http_head_begin(struct http_head *h, int status, time_t now)
{
	char date[HTTP_DATE_LEN];

	memset(h, 0, sizeof *h);
	h->status = status;
	http_format_date(now, date);
	http_head_printf(h, "HTTP/1.1 %d %s\r\nServer: sockt/%s\r\n"
	    "Date: %s\r\n", status, http_reason(status), PACKAGE_VERSION, date);
}

/* Append text formatted as printf(3) does; the caller ends lines. */
void
http_head_printf(struct http_head *h, const char *fmt, ...)
{
	va_list ap;
	char small[256], *big;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		http_head_put(h, small, (size_t)n);
		return;
	}
	big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	http_head_put(h, big, (size_t)n);
	free(big);
}

/*
 * Content-Disposition with TYPE ("attachment" or "inline") for NAME: an
 * ASCII fallback (controls, non-ASCII, quotes, backslashes and "%" as
 * "_") and, when that lost anything, the exact name as RFC 8187 UTF-8.
 */
void
http_head_disposition(struct http_head *h, const char *type,
    const char *name)
{
	char *ascii = xstrdup(name), *p, *enc;
	bool plain = true;

	for (p = ascii; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '"' || *p == '\\' || *p == '%') {
			*p = '_';
			plain = false;
		}
	http_head_printf(h, "Content-Disposition: %s; filename=\"%s\"", type,
	    ascii);
	if (!plain) {
		enc = http_encode_path(name, strlen(name), false);
		http_head_printf(h, "; filename*=UTF-8''%s", enc);
		free(enc);
	}
	http_head_put(h, "\r\n", 2);
	free(ascii);
}

/* End the head: Connection (keep-alive or close) and the empty line. */
void
http_head_finish(struct http_head *h, bool keep_alive)
{
	http_head_printf(h, "Connection: %s\r\n\r\n", keep_alive ?
	    "keep-alive" : "close");
}

void
http_head_free(struct http_head *h)
{
	free(h->buf);
	memset(h, 0, sizeof *h);
}
