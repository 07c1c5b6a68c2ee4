/*
 * proxyspec.c - what names a proxy: --proxy, --proxy-type and
 * --proxy-auth parsed, and the proxy curl would take from the
 * environment (http_proxy, https_proxy, all_proxy, no_proxy).
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "log.h"
#include "proxy.h"
const char *
proxy_type_name(enum proxy_type t)
{
	switch (t) {
	case PROXY_SOCKS4:
		return "socks4";
	case PROXY_HTTP:
		return "http";
	case PROXY_SOCKS5:
		break;
	}
	return "socks5";
}

int
proxy_parse_type(const char *s, enum proxy_type *t, char **errp)
{
	if (strcmp(s, "socks5") == 0)
		*t = PROXY_SOCKS5;
	else if (strcmp(s, "socks4") == 0)
		*t = PROXY_SOCKS4;
	else if (strcmp(s, "http") == 0)
		*t = PROXY_HTTP;
	else {
		*errp = log_fmt("bad --proxy-type '%s': expected socks5, "
		    "socks4 or http", s);
		return -1;
	}
	return 0;
}

/* "USER:PASS" into SPEC: a user of 1-255 bytes, a password of 0-255. */
int
proxy_parse_auth(const char *s, struct proxy_spec *spec, char **errp)
{
	const char *colon = strchr(s, ':');
	size_t ulen, plen;

	if (colon == NULL || colon == s) {
		*errp = log_fmt("bad proxy credentials: expected USER:PASS");
		return -1;
	}
	ulen = (size_t)(colon - s);
	plen = strlen(colon + 1);
	if (ulen > 255 || plen > 255) {
		*errp = log_fmt("bad proxy credentials: USER and PASS are at "
		    "most 255 bytes each");
		return -1;
	}
	memcpy(spec->user, s, ulen);
	spec->user[ulen] = '\0';
	memcpy(spec->pass, colon + 1, plen + 1);
	spec->auth = true;
	return 0;
}

/* The scheme of "SCHEME://" at the start of S, or -1 (*errp) if unknown. */
static int
proxy_scheme(const char *s, size_t len, char **errp)
{
	static const struct {
		const char	*name;
		enum proxy_type	 type;
	} schemes[] = {
		{ "socks5", PROXY_SOCKS5 }, { "socks5h", PROXY_SOCKS5 },
		{ "socks4", PROXY_SOCKS4 }, { "socks4a", PROXY_SOCKS4 },
		{ "socks", PROXY_SOCKS5 }, { "http", PROXY_HTTP },
	};
	size_t i;

	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (strlen(schemes[i].name) == len &&
		    strncasecmp(s, schemes[i].name, len) == 0)
			return (int)schemes[i].type;
	*errp = log_fmt("bad proxy '%s': unsupported scheme (socks5, "
	    "socks4, socks4a or http)", s);
	return -1;
}

int
proxy_parse(const char *s, int type, const char *auth,
    struct proxy_spec *spec, char **errp)
{
	const char *p = s, *at, *end, *hend, *colon;
	char creds[520];
	size_t len;
	int st;
	uint16_t port;

	memset(spec, 0, sizeof *spec);
	spec->type = type < 0 ? PROXY_SOCKS5 : (enum proxy_type)type;
	if ((end = strstr(p, "://")) != NULL) {
		if ((st = proxy_scheme(p, (size_t)(end - p), errp)) == -1)
			return -1;
		if (type >= 0 && st != type) {
			*errp = log_fmt("bad proxy '%s': the scheme contradicts "
			    "--proxy-type %s", s, proxy_type_name(type));
			return -1;
		}
		spec->type = (enum proxy_type)st;
		p = end + 3;
	}
	end = p + strcspn(p, "/?#");
	if (*end != '\0' && strcmp(end, "/") != 0) {
		*errp = log_fmt("bad proxy '%s': a path is not allowed", s);
		return -1;
	}
	if ((at = memchr(p, '@', (size_t)(end - p))) != NULL) {
		len = (size_t)(at - p);
		if (len >= sizeof creds) {
			*errp = log_fmt("bad proxy '%s': credentials too long",
			    s);
			return -1;
		}
		memcpy(creds, p, len);
		creds[len] = '\0';
		if (proxy_parse_auth(creds, spec, errp) == -1)
			return -1;
		p = at + 1;
	}
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(end - p));
		if (hend == NULL) {
			*errp = log_fmt("bad proxy '%s': no ']'", s);
			return -1;
		}
		colon = hend + 1 < end && hend[1] == ':' ? hend + 1 : NULL;
		if (hend + 1 != end && colon == NULL) {
			*errp = log_fmt("bad proxy '%s'", s);
			return -1;
		}
		p++;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		hend = colon != NULL ? colon : end;
	}
	len = (size_t)(hend - p);
	if (len == 0 || len >= sizeof spec->host) {
		*errp = log_fmt("bad proxy '%s': no host", s);
		return -1;
	}
	memcpy(spec->host, p, len);
	spec->host[len] = '\0';
	len = colon != NULL ? (size_t)(end - colon - 1) : 0;
	if (colon != NULL && (len == 0 || len >= sizeof spec->port)) {
		*errp = log_fmt("bad proxy '%s': bad port", s);
		return -1;
	}
	if (colon != NULL) {
		memcpy(spec->port, colon + 1, len);
		spec->port[len] = '\0';
		if (addr_parse_port(spec->port, "tcp", &port, errp) == -1)
			return -1;
		if (port == 0) {
			*errp = log_fmt("bad proxy '%s': port 0", s);
			return -1;
		}
	} else
		strlcpy(spec->port, spec->type == PROXY_HTTP ?
		    PROXY_PORT_HTTP : PROXY_PORT_SOCKS, sizeof spec->port);
	if (auth != NULL && proxy_parse_auth(auth, spec, errp) == -1)
		return -1;
	if (spec->auth && spec->type == PROXY_SOCKS4) {
		*errp = log_fmt("cannot use proxy credentials with socks4 (it "
		    "has no passwords)");
		return -1;
	}
	return 0;
}

const char *
proxy_name(const struct proxy_spec *spec, char *buf, size_t size)
{
	if (strchr(spec->host, ':') != NULL)
		snprintf(buf, size, "[%s]:%s", spec->host, spec->port);
	else
		snprintf(buf, size, "%s:%s", spec->host, spec->port);
	return buf;
}

/* The first of NAMES set to a non-empty value, or NULL; *which names it. */
static const char *
proxy_getenv(const char *a, const char *b, const char **which)
{
	const char *v;

	if ((v = getenv(a)) != NULL && *v != '\0') {
		*which = a;
		return v;
	}
	if (b != NULL && (v = getenv(b)) != NULL && *v != '\0') {
		*which = b;
		return v;
	}
	return NULL;
}

/* Does no_proxy list LIST exempt HOST (curl's rules, see proxy.h)? */
static bool
proxy_no_proxy(const char *list, const char *host)
{
	char h[256];
	const char *p = list, *e;
	size_t hlen, len;

	if (host[0] == '[') {
		hlen = strcspn(host + 1, "]");
		if (hlen >= sizeof h)
			return false;
		memcpy(h, host + 1, hlen);
		h[hlen] = '\0';
	} else
		strlcpy(h, host, sizeof h);
	hlen = strlen(h);
	while (hlen > 0 && h[hlen - 1] == '.')
		h[--hlen] = '\0';
	while (*p != '\0') {
		p += strspn(p, ", \t");
		e = p + strcspn(p, ", \t");
		len = (size_t)(e - p);
		if (len == 1 && *p == '*')
			return true;
		if (len > 0 && *p == '.') {
			p++;
			len--;
		}
		if (len > 0 && *p == '[') {
			const char *rb = memchr(p, ']', len);

			p++;
			len = rb != NULL ? (size_t)(rb - p) : len - 1;
		} else if (len > 0) {
			const char *c = memchr(p, ':', len);

			/* HOST:PORT (one colon: an IPv6 literal has more) */
			if (c != NULL && memchr(c + 1, ':', len - (size_t)(c -
			    p) - 1) == NULL)
				len = (size_t)(c - p);
		}
		while (len > 0 && p[len - 1] == '.')
			len--;
		if (len > 0 && len <= hlen &&
		    strncasecmp(h + hlen - len, p, len) == 0 &&
		    (len == hlen || h[hlen - len - 1] == '.'))
			return true;
		p = e;
	}
	return false;
}

int
proxy_from_env(const char *scheme, const char *host, struct proxy_spec *spec,
    char **errp)
{
	char lower[32], upper[32];
	const char *v, *which = NULL;
	char *err = NULL;
	size_t i;

	if ((v = proxy_getenv("no_proxy", "NO_PROXY", &which)) != NULL &&
	    proxy_no_proxy(v, host))
		return 0;
	snprintf(lower, sizeof lower, "%s_proxy", scheme);
	for (i = 0; lower[i] != '\0'; i++) {
		lower[i] = (char)tolower((unsigned char)lower[i]);
		upper[i] = (char)toupper((unsigned char)lower[i]);
	}
	upper[i] = '\0';
	v = proxy_getenv(lower, strcmp(lower, "http_proxy") == 0 ? NULL :
	    upper, &which);
	if (v == NULL)
		v = proxy_getenv("all_proxy", "ALL_PROXY", &which);
	if (v == NULL)
		return 0;
	if (proxy_parse(v, strstr(v, "://") != NULL ? -1 : PROXY_HTTP, NULL,
	    spec, &err) == -1) {
		*errp = log_fmt("%s: %s", which, err);
		free(err);
		return -1;
	}
	return 1;
}
