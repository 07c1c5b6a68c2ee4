/*
 * fuzz-addr.c - libFuzzer harness for src/addr.c: endpoint forms, ports,
 * port lists and CIDR access lists, fed from the command line in real use.
 *
 * The input is split at NUL bytes into up to four words; every parser sees
 * the words it takes.  Host names are never resolved (AI_NUMERICHOST).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr_endpoint ep;
	struct addr_acl acl;
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	char *buf, *words[4], *err = NULL;
	uint16_t port, *ports = NULL;
	size_t nports, nwords = 0, i;
	int argc;

	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	words[nwords++] = buf;
	for (i = 0; i < size && nwords < 4; i++)
		if (buf[i] == '\0')
			words[nwords++] = buf + i + 1;

	for (argc = 0; argc <= (int)nwords && argc <= 3; argc++) {
		if (addr_parse_endpoint(argc, words, ADDR_LISTEN,
		    argc == 1 ? words[0] : NULL, &ep, &err) == 0)
			addr_endpoint_free(&ep);
		free(err);
		err = NULL;
		if (addr_parse_endpoint(argc, words, ADDR_CONNECT, NULL, &ep,
		    &err) == 0)
			addr_endpoint_free(&ep);
		free(err);
		err = NULL;
	}
	if (addr_parse_port(words[0], "tcp", &port, &err) == -1)
		free(err);
	err = NULL;
	if (addr_parse_portlist(words[0], "udp", &ports, &nports, &err) == 0)
		free(ports);
	else
		free(err);
	err = NULL;

	memset(&acl, 0, sizeof acl);
	for (i = 0; i < nwords; i++) {
		if (addr_acl_add(&acl, i % 2 == 1, words[i], AI_NUMERICHOST,
		    &err) == -1)
			free(err);
		err = NULL;
	}
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, data, size < 4 ? size : 4);
	(void)addr_acl_admits(&acl, (struct sockaddr *)&sin);
	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	memcpy(&sin6.sin6_addr, data, size < 16 ? size : 16);
	(void)addr_acl_admits(&acl, (struct sockaddr *)&sin6);
	addr_acl_free(&acl);
	free(buf);
	return 0;
}
