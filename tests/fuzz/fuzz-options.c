/*
 * fuzz-options.c - libFuzzer harness for src/options.c: option parsing,
 * bounds checks and conflict validation for every option in the table.
 *
 * The input is split at NUL bytes into an argv.  Hosts in --allow/--deny
 * are never resolved (-n is forced before validation).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const enum opt_id fuzz_all_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_UNIX, OPT_NUMERIC, OPT_VERBOSE, OPT_SOURCE,
	OPT_PORT, OPT_TIMEOUT, OPT_IDLE, OPT_QUIT, OPT_KEEP, OPT_NOSTDIN,
	OPT_SEND_ONLY, OPT_RECV_ONLY, OPT_NO_SHUTDOWN, OPT_MAX_CONNS,
	OPT_ALLOW, OPT_DENY, OPT_PORT_FILE, OPT_HEXDUMP, OPT_OUTPUT,
	OPT_PROGRESS, OPT_BROKER, OPT_SCAN, OPT_WAIT, OPT_PARALLEL,
	OPT_RAW_TTY, OPT_BROADCAST, OPT_TTL, OPT_WHOLE, OPT_SIZE, OPT_JOIN,
	OPT_IFACE, OPT_COUNT, OPT_PEER, OPT_ECHO, OPT_RCVBUF, OPT_RAW,
	OPT_FORCE, OPT_NO_RESUME, OPT_SHA256, OPT_CONNECT, OPT_PTY,
	OPT_STDERR, OPT_SH, OPT_MPTCP, OPT_PTY_SIZE, OPT_END
};

static const struct cmd_entry fuzz_cmd = {
	.name = "fuzz",
	.summary = "every option",
	.usage = "",
	.options = fuzz_all_options,
	.exec = NULL,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockt_opts o;
	char *buf, *argv[65], *err = NULL;
	size_t i;
	int argc = 0, ms;

	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "fuzz";
	argv[argc++] = buf;
	for (i = 0; i < size && argc < 64; i++)
		if (buf[i] == '\0')
			argv[argc++] = buf + i + 1;
	argv[argc] = NULL;

	opts_init(&o, &fuzz_cmd);
	if (opts_parse(&o, argc, argv, &err) == 0) {
		o.numeric = true;
		if (opts_validate(&o, &err) == -1)
			free(err);
	} else
		free(err);
	opts_free(&o);
	err = NULL;
	if (opts_parse_secs(buf, &ms, &err) == -1)
		free(err);
	free(buf);
	return 0;
}
