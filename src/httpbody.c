/*
 * httpbody.c - bodies (pure functions, see http.h): the chunked transfer
 * coding, decoded in place as bytes arrive, and directory listings in
 * text or HTML.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "http-int.h"
#include "log.h"

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

/* Keep a byte of the trailer section, when asked to; false: too many. */
static bool
http_chunked_keep(struct http_chunked *c, unsigned char ch)
{
	if (c->trailers == NULL)
		return true;
	if (c->trailers_len >= c->trailers_cap)
		return false;
	c->trailers[c->trailers_len++] = (char)ch;
	return true;
}

/*
 * The value of the field NAME in BLOCK, lines "name: value" (a trailer
 * section kept by http_chunked_step()); false when it is not there.
 */
bool
http_field_find(struct http_str block, const char *name,
    struct http_str *value)
{
	const char *nl, *colon;
	struct http_str line;

	while (block.len > 0) {
		nl = memchr(block.p, '\n', block.len);
		line = http_str_make(block.p, nl ? (size_t)(nl - block.p) :
		    block.len);
		block.p += nl ? line.len + 1 : line.len;
		block.len -= nl ? line.len + 1 : line.len;
		colon = memchr(line.p, ':', line.len);
		if (colon == NULL || !http_str_eq(http_str_make(line.p,
		    (size_t)(colon - line.p)), name))
			continue;
		*value = http_str_trim(http_str_make(colon + 1,
		    (size_t)(line.p + line.len - colon - 1)));
		if (value->len > 0 && value->p[value->len - 1] == '\r')
			value->len--;
		*value = http_str_trim(*value);
		return true;
	}
	return false;
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
				if (!http_chunked_keep(c, ch))
					return HTTP_CHUNK_BAD;
			}
			break;
		case CH_TRAILER_LINE:
			i++;
			if (++c->line > HTTP_CHUNK_LINE_MAX ||
			    !http_chunked_keep(c, ch))
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

/*
 * Start the listing of the directory at URL path BASE ("/" or "/a/b/"):
 * HTML is a table with a link to the parent (but at "/"), text is only
 * the names.
 */
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
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width\">\n<title>Index of ");
	http_listing_put(l, esc);
	http_listing_put(l, "</title>\n<style>td,th{padding:0 1em 0 0;"
	    "text-align:left}td.size{text-align:right}</style>\n</head>\n"
	    "<body>\n<h1>Index of ");
	http_listing_put(l, esc);
	http_listing_put(l, "</h1>\n<table>\n<tr><th>Name</th><th>Size</th>"
	    "<th>Modified</th></tr>\n");
	if (strcmp(base, "/") != 0)
		http_listing_put(l, "<tr><td><a href=\"../\">../</a></td>"
		    "<td></td><td></td></tr>\n");
	free(esc);
}

/*
 * One entry: NAME, a directory when DIR, of SIZE bytes, modified at
 * MTIME (HTML only).
 */
void
http_listing_add(struct http_listing *l, const char *name, bool dir,
    int64_t size, time_t mtime)
{
	char *href, *text, num[32], when[32];
	struct tm tm;

	if (!l->html) {
		text = http_listing_text(name);
		http_listing_put(l, text);
		http_listing_put(l, dir ? "/\n" : "\n");
		free(text);
		return;
	}
	href = http_encode_path(name, strlen(name), false);
	text = http_html_escape(name);
	if (dir)
		strlcpy(num, "-", sizeof num);
	else
		snprintf(num, sizeof num, "%lld", (long long)size);
	if (gmtime_r(&mtime, &tm) == NULL ||
	    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		when[0] = '\0';
	http_listing_put(l, "<tr><td><a href=\"");
	http_listing_put(l, l->base);
	http_listing_put(l, href);
	http_listing_put(l, dir ? "/\">" : "\">");
	http_listing_put(l, text);
	http_listing_put(l, dir ? "/</a></td><td class=\"size\">" :
	    "</a></td><td class=\"size\">");
	http_listing_put(l, num);
	http_listing_put(l, "</td><td>");
	http_listing_put(l, when);
	http_listing_put(l, "</td></tr>\n");
	free(href);
	free(text);
}

void
http_listing_end(struct http_listing *l)
{
	if (l->html)
		http_listing_put(l, "</table>\n</body>\n</html>\n");
	else if (l->buf == NULL)
		http_listing_put(l, "");
	free(l->base);
	l->base = NULL;
}
