/*
 * options.c - generic parsing of a command line into struct sockt_opts:
 * getopt over the table of optable.c, each value checked against its
 * bounds and stored.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "options.h"
#include "options-int.h"
#include "tls.h"
#include "xmalloc.h"

bool
cmd_accepts(const struct cmd_entry *cmd, enum opt_id id)
{
	const enum opt_id *o;

	if (id == OPT_HELP)
		return true;
	for (o = cmd->options; *o != OPT_END; o++)
		if (*o == id)
			return true;
	return false;
}

void
opts_init(struct sockt_opts *o, const struct cmd_entry *cmd)
{
	memset(o, 0, sizeof *o);
	o->cmd = cmd;
	o->family = AF_UNSPEC;
	o->timeout_ms = -1;
	o->quit_ms = -1;
	o->max_conns = -1;
	o->wait_ms = -1;
	o->parallel = 64;
	o->retry = 5;
	o->ttl = -1;
	o->proxy_type = -1;
}

/*
 * Seconds as "N" or "N.FFF" (plain digits, up to milliseconds), 0 to
 * 1000000.  Sets *ms; -1 with *errp on anything else.
 */
int
opts_parse_secs(const char *s, int *ms, char **errp)
{
	char whole[16], frac[4] = "000";
	const char *dot = strchr(s, '.'), *errstr;
	long long secs, msecs;
	size_t n, i;

	n = dot ? (size_t)(dot - s) : strlen(s);
	if (n == 0 || n >= sizeof whole)
		goto bad;
	memcpy(whole, s, n);
	whole[n] = '\0';
	secs = addr_parse_decimal(whole, 0, 1000000, &errstr);
	if (errstr != NULL)
		goto bad;
	if (dot != NULL) {
		for (i = 1; dot[i] != '\0'; i++) {
			if (i > 3)
				goto bad;
			frac[i - 1] = dot[i];
		}
		if (i == 1)
			goto bad;
	}
	msecs = addr_parse_decimal(frac, 0, 999, &errstr);
	if (errstr != NULL)
		goto bad;
	*ms = (int)(secs * 1000 + msecs);
	return 0;
bad:
	*errp = log_fmt("bad number of seconds '%s' (0-1000000, up to 3 "
	    "decimals)", s);
	return -1;
}

/* A count or size: plain decimal digits from LO to HI, or -1 with *errp. */
static int
opts_number(const char *name, const char *s, long long lo, long long hi,
    long long *out, char **errp)
{
	const char *errstr;
	long long n;

	n = addr_parse_decimal(s, lo, hi, &errstr);
	if (errstr != NULL) {
		*errp = log_fmt("bad %s '%s': %s (%lld-%lld)", name, s, errstr,
		    lo, hi);
		return -1;
	}
	*out = n;
	return 0;
}

static int
opts_push(char ***list, size_t *n, const char *s)
{
	char **grown = reallocarray(*list, *n + 1, sizeof **list);

	if (grown == NULL)
		return -1;
	grown[(*n)++] = strdup(s);
	*list = grown;
	return 0;
}

/* --pty-size COLSxROWS, each 1-9999; it implies --pty. */
static int
opts_pty_size(struct sockt_opts *o, const char *arg, char **errp)
{
	long long cols, rows;
	char buf[16];
	size_t n = strcspn(arg, "x");

	if (arg[n] != 'x' || n >= sizeof buf) {
		*errp = log_fmt("bad --pty-size '%s': not COLSxROWS", arg);
		return -1;
	}
	memcpy(buf, arg, n);
	buf[n] = '\0';
	if (opts_number("--pty-size columns", buf, 1, 9999, &cols,
	    errp) == -1 || opts_number("--pty-size rows", arg + n + 1, 1,
	    9999, &rows, errp) == -1)
		return -1;
	o->pty_cols = (int)cols;
	o->pty_rows = (int)rows;
	o->pty = true;
	return 0;
}

/* Store one parsed option; -1 with *errp for a bad value. */
static int
opts_set(struct sockt_opts *o, enum opt_id id, const char *arg, char **errp)
{
	long long n;
	int ms;

	switch (id) {
	case OPT_IPV4:
		o->family = AF_INET;
		break;
	case OPT_IPV6:
		o->family = AF_INET6;
		break;
	case OPT_UNIX:
		o->unix_socket = true;
		break;
	case OPT_NUMERIC:
		o->numeric = true;
		break;
	case OPT_VERBOSE:
		o->verbose++;
		break;
	case OPT_SOURCE:
		free(o->source);
		o->source = strdup(arg);
		break;
	case OPT_PORT:
		free(o->port);
		o->port = strdup(arg);
		break;
	case OPT_TIMEOUT:
	case OPT_IDLE:
	case OPT_QUIT:
	case OPT_WAIT:
		if (opts_parse_secs(arg, &ms, errp) == -1)
			return -1;
		if (id == OPT_TIMEOUT)
			o->timeout_ms = ms;
		else if (id == OPT_IDLE)
			o->idle_ms = ms;
		else if (id == OPT_QUIT)
			o->quit_ms = ms;
		else
			o->wait_ms = ms;
		break;
	case OPT_KEEP:
		o->keep = true;
		break;
	case OPT_NOSTDIN:
		o->no_stdin = true;
		break;
	case OPT_SEND_ONLY:
		o->send_only = true;
		break;
	case OPT_RECV_ONLY:
		o->recv_only = true;
		break;
	case OPT_NO_SHUTDOWN:
		o->no_shutdown = true;
		break;
	case OPT_MAX_CONNS:
		if (opts_number("--max-conns", arg, 0, 1000000, &o->max_conns,
		    errp) == -1)
			return -1;
		break;
	case OPT_ALLOW:
		return opts_push(&o->allow, &o->nallow, arg);
	case OPT_DENY:
		return opts_push(&o->deny, &o->ndeny, arg);
	case OPT_PORT_FILE:
		free(o->port_file);
		o->port_file = strdup(arg);
		break;
	case OPT_HEXDUMP:
		free(o->hexdump);
		o->hexdump = strdup(arg);
		break;
	case OPT_OUTPUT:
		free(o->output);
		o->output = strdup(arg);
		break;
	case OPT_PROGRESS:
		o->progress = true;
		break;
	case OPT_BROKER:
		o->broker = o->keep = true;
		break;
	case OPT_SCAN:
		o->scan = true;
		break;
	case OPT_RETRY:
		return opts_number("--retry", arg, 0, 100, &o->retry, errp);
	case OPT_PARALLEL:
		return opts_number("--parallel", arg, 1, 10000, &o->parallel,
		    errp);
	case OPT_RAW_TTY:
		o->raw_tty = true;
		break;
	case OPT_BROADCAST:
		o->broadcast = true;
		break;
	case OPT_TTL:
		if (opts_number("--ttl", arg, 1, 255, &n, errp) == -1)
			return -1;
		o->ttl = (int)n;
		break;
	case OPT_WHOLE:
		o->whole = true;
		break;
	case OPT_SIZE:
		return opts_number("--size", arg, 1, 65527, &o->size, errp);
	case OPT_JOIN:
		free(o->join);
		o->join = strdup(arg);
		break;
	case OPT_IFACE:
		free(o->iface);
		o->iface = strdup(arg);
		break;
	case OPT_COUNT:
		return opts_number("--count", arg, 1, 1000000000, &o->count,
		    errp);
	case OPT_PEER:
		o->peer = true;
		break;
	case OPT_ECHO:
		o->echo = true;
		break;
	case OPT_RCVBUF:
		return opts_number("--rcvbuf", arg, 1024, 1 << 30, &o->rcvbuf,
		    errp);
	case OPT_RAW:
		o->raw = true;
		break;
	case OPT_FORCE:
		o->force = true;
		break;
	case OPT_NO_RESUME:
		o->no_resume = true;
		break;
	case OPT_SHA256:
		free(o->sha256);
		o->sha256 = strdup(arg);
		break;
	case OPT_CONNECT:
		o->connect = true;
		break;
	case OPT_PTY:
		o->pty = true;
		break;
	case OPT_STDERR:
		o->child_stderr = true;
		break;
	case OPT_SH:
		free(o->sh);
		o->sh = strdup(arg);
		break;
	case OPT_CRLF:
		o->crlf = true;
		break;
	case OPT_UPLOAD:
		o->upload = true;
		break;
	case OPT_DOWNLOAD:
		o->download = true;
		break;
	case OPT_NO_INDEX:
		o->no_index = true;
		break;
	case OPT_MAX_SIZE:
		return opts_number("--max-size", arg, 1, INT64_MAX,
		    &o->max_size, errp);
	case OPT_MPTCP:
		o->mptcp = true;
		break;
	case OPT_PTY_SIZE:
		return opts_pty_size(o, arg, errp);
	case OPT_TLS:
		o->tls = true;
		break;
	case OPT_CA:
		free(o->ca);
		o->ca = xstrdup(arg);
		break;
	case OPT_CERT:
		free(o->cert);
		o->cert = xstrdup(arg);
		break;
	case OPT_KEY:
		free(o->key);
		o->key = xstrdup(arg);
		break;
	case OPT_INSECURE:
		o->insecure = true;
		break;
	case OPT_PIN:
		if (tls_check_pin(arg, errp) == -1)
			return -1;
		free(o->pin);
		o->pin = xstrdup(arg);
		break;
	case OPT_SERVERNAME:
		free(o->servername);
		o->servername = xstrdup(arg);
		break;
	case OPT_ALPN:
		if (tls_check_alpn(arg, errp) == -1)
			return -1;
		free(o->alpn);
		o->alpn = xstrdup(arg);
		break;
	case OPT_PROXY:
		free(o->proxy);
		o->proxy = xstrdup(arg);
		break;
	case OPT_PROXY_TYPE: {
		enum proxy_type t;

		if (proxy_parse_type(arg, &t, errp) == -1)
			return -1;
		o->proxy_type = (int)t;
		break;
	}
	case OPT_PROXY_AUTH:
		free(o->proxy_auth);
		o->proxy_auth = xstrdup(arg);
		break;
	case OPT_PROXY_SERVER:
		o->proxy_server = true;
		break;
	case OPT_HELP:
	case OPT_END:
	case OPT__MAX:
		break;
	}
	return 0;
}

/*
 * How many positional arguments were typed before the "--" that ended the
 * options (exec's "PORT -- PROGRAM ARGS"), or -1 without one.  ORIGINAL is
 * argv as typed; getopt_long() keeps the order of positional arguments and
 * leaves the "--" just before them.
 */
static int
opts_count_before_dashes(const struct sockt_opts *o, char **original)
{
	char **dashes;
	int i, j, n = 0;

	/* o->argv[-1] exists: argv[0] is the subcommand's name */
	if (strcmp(o->argv[-1], "--") != 0)
		return -1;
	dashes = &o->argv[-1];
	for (j = 0; original[j] != *dashes; j++)
		continue;
	for (i = 0; i < o->argc; i++) {
		/* is this argument found among the words before "--"? */
		int k;

		for (k = 0; k < j && original[k] != o->argv[i]; k++)
			continue;
		if (k < j)
			n++;
	}
	return n;
}

/*
 * Parse ARGV (ARGV[0] is the subcommand name) into O.  Positional
 * arguments land in o->argc/o->argv.  Returns 0, 1 when --help was asked
 * for, or -1 with *errp on a usage error.
 */
int
opts_parse(struct sockt_opts *o, int argc, char **argv, char **errp)
{
	/* the table holds each option once: at most OPT__MAX of them */
	struct option longopts[OPT__MAX + 1];
	char shortopts[OPT__MAX * 2 + 3], *sp = shortopts;
	const struct opt_def *d;
	char **original;
	size_t i, nlong = 0;
	int c, idx, prev;

	*sp++ = ':';	/* report a missing argument as ':' */
	for (i = 0; i < opt_table_len; i++) {
		d = &opt_table[i];
		if (!cmd_accepts(o->cmd, d->id))
			continue;
		if (d->letter != 0) {
			*sp++ = (char)d->letter;
			if (d->arg != NULL)
				*sp++ = ':';
		}
		if (d->name != NULL) {
			longopts[nlong].name = d->name;
			longopts[nlong].has_arg = d->arg ? required_argument :
			    no_argument;
			longopts[nlong].flag = NULL;
			longopts[nlong].val = 256 + (int)i;
			nlong++;
		}
	}
	*sp = '\0';
	memset(&longopts[nlong], 0, sizeof longopts[nlong]);

	/* getopt_long() permutes argv; keep the order as typed. */
	original = reallocarray(NULL, (size_t)argc + 1, sizeof *original);
	if (original == NULL) {
		*errp = log_fmt("out of memory");
		return -1;
	}
	memcpy(original, argv, ((size_t)argc + 1) * sizeof *original);
	opterr = 0;
	optind = 0;
	for (;;) {
		prev = optind ? optind : 1;
		idx = -1;
		c = getopt_long(argc, argv, shortopts, longopts, &idx);
		if (c == -1)
			break;
		if (c == '?' || c == ':') {
			const char *word = prev < argc ? argv[prev] : "";

			if (c == '?' && optopt != 0 && strncmp(word, "--", 2))
				snprintf(o->unknown, sizeof o->unknown, "-%c",
				    optopt);
			else if (c == '?')
				snprintf(o->unknown, sizeof o->unknown, "%.*s",
				    (int)strcspn(word, "="), word);
			if (optopt != 0 && strncmp(word, "--", 2) != 0)
				*errp = log_fmt(c == ':' ? "option -%c needs "
				    "an argument" : "unknown option -%c",
				    optopt);
			else
				*errp = log_fmt(c == ':' ? "option %s needs "
				    "an argument" : "unknown option %s", word);
			goto fail;
		}
		d = NULL;
		if (c >= 256)
			d = &opt_table[c - 256];
		else
			for (i = 0; i < opt_table_len; i++)
				if (opt_table[i].letter == c &&
				    cmd_accepts(o->cmd, opt_table[i].id))
					d = &opt_table[i];
		if (d == NULL) {
			*errp = log_fmt("unknown option -%c", c);
			goto fail;
		}
		if (d->id == OPT_HELP) {
			free(original);
			return 1;
		}
		o->given[d->id] = true;
		if (opts_set(o, d->id, optarg, errp) == -1)
			goto fail;
	}
	o->argc = argc - optind;
	o->argv = argv + optind;
	o->argc_before_dashes = opts_count_before_dashes(o, original);
	free(original);
	return 0;
fail:
	free(original);
	return -1;
}

void
opts_free(struct sockt_opts *o)
{
	size_t i;

	for (i = 0; i < o->nallow; i++)
		free(o->allow[i]);
	for (i = 0; i < o->ndeny; i++)
		free(o->deny[i]);
	free(o->allow);
	free(o->deny);
	addr_acl_free(&o->acl);
	free(o->source);
	free(o->port);
	free(o->port_file);
	free(o->hexdump);
	free(o->output);
	free(o->join);
	free(o->iface);
	free(o->sha256);
	free(o->sh);
	free(o->ca);
	free(o->cert);
	free(o->key);
	free(o->pin);
	free(o->servername);
	free(o->alpn);
	free(o->proxy);
	free(o->proxy_auth);
	explicit_bzero(&o->proxy_spec, sizeof o->proxy_spec);
	explicit_bzero(&o->proxyd_auth, sizeof o->proxyd_auth);
}
