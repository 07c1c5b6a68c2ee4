/*
 * httpval.c - what a response depends on besides the path (pure
 * functions, see http.h): byte ranges, entity tags, content negotiation,
 * HTTP dates, base64 and Repr-Digest.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"
#include "http-int.h"

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
 * The q-value (in thousandths) of one Accept element's parameters; 1000
 * when there is none, 0 for one that does not parse.
 */
static int
http_accept_q(struct http_str params)
{
	struct http_str param;
	const char *semi, *p;
	size_t rest, i;
	int q, scale;

	while (params.len > 0) {
		p = params.p;
		semi = memchr(p, ';', params.len);
		rest = semi ? (size_t)(semi - p) : params.len;
		param = http_str_trim(http_str_make(p, rest));
		params.p += semi ? rest + 1 : rest;
		params.len -= semi ? rest + 1 : rest;
		if (param.len < 3 || (param.p[0] != 'q' && param.p[0] != 'Q') ||
		    param.p[1] != '=')
			continue;
		if (param.p[2] == '1')
			return 1000;
		if (param.p[2] != '0')
			return 0;
		q = 0;
		scale = 100;
		for (i = 4; i < param.len && i < 7 && param.p[3] == '.'; i++) {
			if (param.p[i] < '0' || param.p[i] > '9')
				return 0;
			q += (param.p[i] - '0') * scale;
			scale /= 10;
		}
		return q;
	}
	return 1000;
}

/*
 * The weight an Accept value V gives TYPE ("text/html"): that of its most
 * specific matching range (type/subtype, then type/ *, then * / *), or -1
 * when none matches.
 */
static int
http_accept_weight(struct http_str v, const char *type)
{
	struct http_str range, name;
	const char *semi, *slash = strchr(type, '/');
	int best = -1, spec = -1, s;

	while (http_list_next(&v, &range)) {
		semi = memchr(range.p, ';', range.len);
		name = http_str_trim(http_str_make(range.p, semi ?
		    (size_t)(semi - range.p) : range.len));
		if (http_str_eq(name, type))
			s = 2;
		else if (name.len == (size_t)(slash - type) + 2 &&
		    strncasecmp(name.p, type, (size_t)(slash - type) + 1) == 0 &&
		    name.p[name.len - 1] == '*')
			s = 1;
		else if (http_str_eq(name, "*/*"))
			s = 0;
		else
			continue;
		if (s > spec) {
			spec = s;
			best = http_accept_q(semi ? http_str_make(semi + 1,
			    (size_t)(range.p + range.len - semi - 1)) :
			    http_str_make("", 0));
		}
	}
	return best;
}

/*
 * Does a client with Accept value V get an HTML listing?  Yes unless it
 * ranks text/plain above text/html or refuses HTML (q=0; RFC 9110
 * 12.5.1): no Accept and "* / *" get HTML, "text/plain" alone or
 * "text/html;q=0" get text.
 */
bool
http_accepts_html(struct http_str v)
{
	int html = http_accept_weight(v, "text/html");

	if (http_str_trim(v).len == 0)
		return true;
	/* refused by name, or text/plain ranked above it: text */
	return html != 0 && http_accept_weight(v, "text/plain") <= html;
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

/*
 * Evaluate the request's preconditions and Range against one
 * representation of SIZE bytes with entity tag ETAG, last modified at
 * MTIME (RFC 9110 13.2.2, 14.2): If-None-Match (weak comparison) decides
 * alone when present, else If-Modified-Since; either may give 304.  Then
 * a Range is honoured when If-Range is absent or names this very version
 * (the ETag, strongly, or the exact Last-Modified date).  Returns 200
 * (*FIRST, *LAST the whole; *LAST is meaningless when SIZE is 0), 206
 * (the inclusive byte range), 304 or 416.
 */
int
http_preconditions(const struct http_request *rq, const char *etag,
    time_t mtime, uint64_t size, uint64_t *first, uint64_t *last)
{
	char lastmod[HTTP_DATE_LEN];
	enum http_range rr = HTTP_RANGE_IGNORE;
	time_t ims;

	http_format_date(mtime, lastmod);
	if (rq->if_none_match.len > 0) {
		if (http_etag_listed(rq->if_none_match, etag, true))
			return 304;
	} else if (rq->if_modified_since.len > 0 &&
	    http_parse_date(rq->if_modified_since, &ims) == 0 && mtime <= ims)
		return 304;
	if (rq->range.len > 0 && (rq->if_range.len == 0 ||
	    http_etag_listed(rq->if_range, etag, false) ||
	    http_str_eq(rq->if_range, lastmod)))
		rr = http_parse_range(rq->range, size, first, last);
	if (rr == HTTP_RANGE_UNSATISFIABLE)
		return 416;
	if (rr == HTTP_RANGE_OK)
		return 206;
	*first = 0;
	*last = size - 1;
	return 200;
}
