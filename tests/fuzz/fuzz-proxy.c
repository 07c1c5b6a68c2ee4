/*
 * fuzz-proxy.c - libFuzzer harness for the proxy parsers fed by the
 * network or the user: an HTTP proxy request head as forward
 * --proxy-server checks and rewrites it (proxyd-http.c), with and without
 * required credentials, and a --proxy value or proxy variable
 * (proxyspec.c).  The first byte picks which; the rest is the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "proxyd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_spec spec, auth;
	char *buf, *err = NULL, *fwd = NULL, host[256], port[8];
	size_t fwdlen = 0;

	if (size < 1)
		return 0;
	buf = malloc(size);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	memset(&auth, 0, sizeof auth);
	strcpy(auth.user, "fz");
	strcpy(auth.pass, "pw");
	auth.auth = true;
	switch (data[0] % 4) {
	case 0:
	case 1:
		/* proxyd.c hands over a head that ends in its blank line */
		if (strstr(buf, "\r\n\r\n") != NULL) {
			*(strstr(buf, "\r\n\r\n") + 4) = '\0';
			proxyd_http_request(buf, data[0] % 4 ? &auth : NULL,
			    host, sizeof host, port, sizeof port, &fwd,
			    &fwdlen);
			if (fwd != NULL && (fwdlen == 0 || fwdlen >
			    2 * strlen(buf) + 600))
				abort();
			free(fwd);
		}
		break;
	default:
		if (proxy_parse(buf, data[0] % 4 == 2 ? -1 : PROXY_HTTP,
		    NULL, &spec, &err) == -1)
			free(err);
		break;
	}
	free(buf);
	return 0;
}
