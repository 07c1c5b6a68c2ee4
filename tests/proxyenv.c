/*
 * tests/proxyenv.c - a driver for proxy_from_env() (proxyspec.c) until
 * fetch-file and send-file call it: "proxyenv SCHEME HOST" prints the
 * proxy curl's rules pick from the environment ("TYPE HOST PORT" and
 * "USER:PASS" when given), or "none"; a bad variable is one line on
 * stderr, exit 2.  tests/proxy.bats runs it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "proxy.h"

int
main(int argc, char **argv)
{
	struct proxy_spec spec;
	char *err = NULL;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: proxyenv SCHEME HOST\n");
		return 2;
	}
	r = proxy_from_env(argv[1], argv[2], &spec, &err);
	if (r == -1) {
		fprintf(stderr, "proxyenv: %s\n", err);
		free(err);
		return 2;
	}
	if (r == 0)
		printf("none\n");
	else if (spec.auth)
		printf("%s %s %s %s:%s\n", proxy_type_name(spec.type),
		    spec.host, spec.port, spec.user, spec.pass);
	else
		printf("%s %s %s\n", proxy_type_name(spec.type), spec.host,
		    spec.port);
	return 0;
}
