/*
 * proxyd-http.c - the HTTP side of the proxy server: a client's request
 * head checked (Basic credentials, method, target) and rewritten into the
 * origin-form request its target gets; the server's own replies.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "log.h"
#include "proxy.h"
#include "proxyd.h"
#include "xmalloc.h"

/* Is the field at LINE (up to EOL) named NAME? Then *VAL is its value. */
static bool
proxyd_http_field(const char *line, const char *eol, const char *name,
    const char **val)
{
	size_t n = strlen(name);

	if ((size_t)(eol - line) <= n || strncasecmp(line, name, n) != 0 ||
	    line[n] != ':')
		return false;
	line += n + 1;
	while (line < eol && (*line == ' ' || *line == '\t'))
		line++;
	*val = line;
	return true;
}

/* Basic credentials VAL (up to EOL) against AUTH. */
static bool
proxyd_http_auth(const char *val, const char *eol,
    const struct proxy_spec *auth)
{
	unsigned char got[600];
	char want[520];
	ssize_t n;
	size_t len;

	if (eol - val < 6 || strncasecmp(val, "Basic ", 6) != 0)
		return false;
	val += 6;
	while (val < eol && *val == ' ')
		val++;
	len = (size_t)(eol - val);
	while (len > 0 && (val[len - 1] == ' ' || val[len - 1] == '\t'))
		len--;
	n = http_base64_decode(val, len, got, sizeof got);
	snprintf(want, sizeof want, "%s:%s", auth->user, auth->pass);
	return n >= 0 && (size_t)n == strlen(want) &&
	    memcmp(got, want, (size_t)n) == 0;
}

/*
 * AUTHORITY (LEN bytes): HOST[:PORT] or [V6][:PORT], into HOST and
 * PORT; DEFPORT when there is none (NULL: a port is required).
 */
static int
proxyd_http_authority(const char *a, size_t len, const char *defport,
    char *host, size_t hsize, char *port, size_t psize)
{
	const char *hend, *colon = NULL, *end = a + len;
	size_t hlen, plen, i;

	if (len > 0 && a[0] == '[') {
		hend = memchr(a, ']', len);
		if (hend == NULL)
			return -1;
		if (hend + 1 < a + len) {
			if (hend[1] != ':')
				return -1;
			colon = hend + 1;
		}
		a++;
	} else {
		for (i = len; i > 0; i--)
			if (a[i - 1] == ':') {
				colon = a + i - 1;
				break;
			}
		hend = colon != NULL ? colon : a + len;
	}
	hlen = (size_t)(hend - a);
	if (hlen == 0 || hlen >= hsize)
		return -1;
	for (i = 0; i < hlen; i++)
		if (!isalnum((unsigned char)a[i]) && strchr("-._:%",
		    a[i]) == NULL)
			return -1;
	memcpy(host, a, hlen);
	host[hlen] = '\0';
	if (colon == NULL) {
		if (defport == NULL)
			return -1;
		strlcpy(port, defport, psize);
		return 0;
	}
	plen = (size_t)(end - colon - 1);
	if (plen == 0 || plen > 5 || plen >= psize)
		return -1;
	for (i = 0; i < plen; i++)
		if (!isdigit((unsigned char)colon[1 + i]))
			return -1;
	memcpy(port, colon + 1, plen);
	port[plen] = '\0';
	if (atoi(port) < 1 || atoi(port) > 65535)
		return -1;
	return 0;
}

int
proxyd_http_request(const char *head, const struct proxy_spec *auth,
    char *host, size_t hsize, char *port, size_t psize, char **fwd,
    size_t *fwdlen)
{
	const char *eol, *sp1, *sp2, *line, *val, *path, *astart;
	size_t mlen, tlen, vlen, alen, cap, n;
	bool authed = false, has_host = false, connect;
	char *out;

	*fwd = NULL;
	eol = strstr(head, "\r\n");
	if (eol == NULL || (sp1 = memchr(head, ' ', (size_t)(eol -
	    head))) == NULL || (sp2 = memchr(sp1 + 1, ' ', (size_t)(eol -
	    sp1 - 1))) == NULL)
		return 400;
	mlen = (size_t)(sp1 - head);
	tlen = (size_t)(sp2 - sp1 - 1);
	vlen = (size_t)(eol - sp2 - 1);
	if (mlen == 0 || tlen == 0 || vlen != 8 ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return 400;
	for (line = eol + 2; strncmp(line, "\r\n", 2) != 0; line = eol + 2) {
		if ((eol = strstr(line, "\r\n")) == NULL)
			return 400;
		if (auth != NULL && proxyd_http_field(line, eol,
		    "Proxy-Authorization", &val) && proxyd_http_auth(val, eol,
		    auth))
			authed = true;
		if (proxyd_http_field(line, eol, "Host", &val))
			has_host = true;
	}
	if (auth != NULL && !authed)
		return 407;
	connect = mlen == 7 && strncmp(head, "CONNECT", 7) == 0;
	if (!connect && !(mlen == 3 && strncmp(head, "GET", 3) == 0) &&
	    !(mlen == 4 && strncmp(head, "HEAD", 4) == 0))
		return 405;
	if (connect)
		return proxyd_http_authority(sp1 + 1, tlen, NULL, host, hsize,
		    port, psize) == -1 ? 400 : 0;
	if (tlen < 7 || strncasecmp(sp1 + 1, "http://", 7) != 0)
		return 400;
	astart = sp1 + 8;
	alen = strcspn(astart, "/? ");
	if (astart + alen > sp2)
		alen = (size_t)(sp2 - astart);
	if (memchr(astart, '@', alen) != NULL ||
	    proxyd_http_authority(astart, alen, "80", host, hsize, port,
	    psize) == -1)
		return 400;
	path = astart + alen;

	/* the origin-form request: METHOD PATH VERSION, then the fields */
	cap = strlen(head) + 2 * (size_t)(sp2 - head) + 600;
	out = xmalloc(cap);
	n = (size_t)snprintf(out, cap, "%.*s %s%.*s %.8s\r\n", (int)mlen,
	    head, *path == '/' ? "" : "/", (int)(sp2 - path), path, sp2 + 1);
	for (line = strstr(head, "\r\n") + 2; strncmp(line, "\r\n", 2) != 0;
	    line = eol + 2) {
		eol = strstr(line, "\r\n");
		if (proxyd_http_field(line, eol, "Proxy-Authorization", &val) ||
		    proxyd_http_field(line, eol, "Proxy-Connection", &val) ||
		    proxyd_http_field(line, eol, "Connection", &val) ||
		    proxyd_http_field(line, eol, "Keep-Alive", &val))
			continue;
		memcpy(out + n, line, (size_t)(eol - line) + 2);
		n += (size_t)(eol - line) + 2;
	}
	if (!has_host)
		n += (size_t)snprintf(out + n, cap - n, "Host: %.*s\r\n",
		    (int)alen, astart);
	n += (size_t)snprintf(out + n, cap - n, "Connection: close\r\n\r\n");
	*fwd = out;
	*fwdlen = n;
	return 0;
}

/* The server's own answer with STATUS, a one-line BODY; malloc'ed. */
char *
proxyd_http_reply(int status, const char *body, size_t *len)
{
	const char *reason, *extra = "";
	char *r;
	int n;

	switch (status) {
	case 200:
		reason = "Connection established";
		break;
	case 400:
		reason = "Bad Request";
		break;
	case 405:
		reason = "Method Not Allowed";
		extra = "Allow: CONNECT, GET, HEAD\r\n";
		break;
	case 407:
		reason = "Proxy Authentication Required";
		extra = "Proxy-Authenticate: Basic realm=\"sockt\"\r\n";
		break;
	case 504:
		reason = "Gateway Timeout";
		break;
	default:
		reason = "Bad Gateway";
		break;
	}
	if (status == 200)
		n = asprintf(&r, "HTTP/1.1 200 %s\r\n\r\n", reason);
	else
		n = asprintf(&r, "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain"
		    "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
		    status, reason, extra, strlen(body) + 1, body);
	if (n == -1)
		abort();
	*len = (size_t)n;
	return r;
}
