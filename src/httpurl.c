/*
 * httpurl.c - request targets, URLs and names (pure functions, see
 * http.h): percent-encoding both ways, the path a target names beneath
 * the served tree, HTML escaping, fetch-file's URLs, and safe base names
 * from targets and Content-Disposition.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "http-int.h"
#include "log.h"

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
 * TARGET (origin-form) with NAME percent-encoded after its path's final
 * "/" (a "/" in NAME kept when KEEP_SLASH), the query kept after it: the
 * target of a file PUT into a directory.  NULL when the path does not
 * end in "/".
 */
char *
http_target_named(const char *target, const char *name, bool keep_slash)
{
	size_t path = strcspn(target, "?");
	char *enc, *t;

	if (path == 0 || target[path - 1] != '/')
		return NULL;
	enc = http_encode_path(name, strlen(name), keep_slash);
	t = log_fmt("%.*s%s%s", (int)path, target, enc, target + path);
	free(enc);
	return t;
}

/*
 * Split "http[s]://HOST[:PORT][/PATH]" (HOST may be [IPV6]; https sets
 * tls, and its default port is 443).  The target
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
	if (strncasecmp(s, "https://", 8) == 0)
		u->tls = true;
	else if (strncasecmp(s, "http://", 7) != 0) {
		*errp = log_fmt("unsupported URL '%s': only http:// and "
		    "https://", s);
		return -1;
	}
	auth = s + (u->tls ? 8 : 7);
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
		u->port = strdup(u->tls ? "443" : "80");
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
	*errp = log_fmt("bad URL '%s': expected http[s]://HOST[:PORT]/PATH", s);
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
