/*
 * options.c - the option table, generic parsing into struct sockt_opts,
 * bounds checks, the one place where conflicting options are rejected, and
 * per-subcommand --help.
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
#include "tls.h"
#include "xmalloc.h"

struct opt_def {
	enum opt_id	 id;
	int		 letter;	/* short form, or 0 */
	const char	*name;		/* long form, or NULL */
	const char	*arg;		/* argument name, or NULL */
	const char	*help;
};

static const struct opt_def opt_table[] = {
	{ OPT_IPV4, '4', NULL, NULL, "IPv4 only" },
	{ OPT_IPV6, '6', NULL, NULL, "IPv6 only" },
	{ OPT_UNIX, 'U', NULL, NULL, "the endpoint is a Unix socket PATH "
	    "(@NAME: abstract)" },
	{ OPT_NUMERIC, 'n', NULL, NULL, "numeric addresses only, no DNS" },
	{ OPT_VERBOSE, 'v', NULL, NULL, "report progress on stderr "
	    "(repeatable)" },
	{ OPT_SOURCE, 's', NULL, "ADDR", "source address" },
	{ OPT_PORT, 'p', NULL, "PORT", "source port, or the port to listen "
	    "on" },
	{ OPT_TIMEOUT, 'w', NULL, "SECS", "timeout to connect, or for the "
	    "first client or datagram" },
	{ OPT_IDLE, 'i', NULL, "SECS", "end a session idle that long "
	    "(status 1)" },
	{ OPT_QUIT, 'q', NULL, "SECS", "after stdin EOF, quit SECS later "
	    "(without waiting for the peer)" },
	{ OPT_KEEP, 'k', NULL, NULL, "keep listening: serve many clients "
	    "at once" },
	{ OPT_NOSTDIN, 'd', NULL, NULL, "do not read stdin" },
	{ OPT_SEND_ONLY, 0, "send-only", NULL, "only send stdin; discard "
	    "what arrives" },
	{ OPT_RECV_ONLY, 0, "recv-only", NULL, "only receive; do not read "
	    "stdin, half-close at once" },
	{ OPT_NO_SHUTDOWN, 0, "no-shutdown", NULL, "do not half-close the "
	    "socket at stdin EOF" },
	{ OPT_MAX_CONNS, 0, "max-conns", "N", "at most N clients at once; "
	    "more are closed at once" },
	{ OPT_ALLOW, 0, "allow", "CIDR", "admit only these clients "
	    "(repeatable)" },
	{ OPT_DENY, 0, "deny", "CIDR", "refuse these clients (repeatable, "
	    "wins over --allow)" },
	{ OPT_PORT_FILE, 0, "port-file", "FILE", "write the bound port to "
	    "FILE once listening" },
	{ OPT_HEXDUMP, 'x', "hexdump", "FILE", "hex dump of the traffic to "
	    "FILE (- is stderr)" },
	{ OPT_OUTPUT, 'o', "output", "FILE", "also write received data to "
	    "FILE" },
	{ OPT_PROGRESS, 'P', "progress", NULL, "progress line on stderr" },
	{ OPT_HELP, 'h', "help", NULL, "this help" },
	{ OPT_BROKER, 0, "broker", NULL, "relay each client's data to all "
	    "others (implies -k)" },
	{ OPT_SCAN, 'z', NULL, NULL, "scan: report open ports, send "
	    "nothing" },
	{ OPT_WAIT, 0, "wait", "SECS", "retry until the endpoint accepts "
	    "or SECS pass" },
	{ OPT_PARALLEL, 0, "parallel", "N", "probes at once with -z "
	    "(default 64)" },
	{ OPT_RAW_TTY, 0, "raw-tty", NULL, "put the terminal in raw mode "
	    "for the session" },
	{ OPT_BROADCAST, 0, "broadcast", NULL, "allow sending to a broadcast "
	    "address" },
	{ OPT_TTL, 0, "ttl", "N", "time to live / hop limit (1-255)" },
	{ OPT_WHOLE, 0, "whole", NULL, "all of stdin is one datagram" },
	{ OPT_SIZE, 0, "size", "N", "datagrams of N bytes instead of lines" },
	{ OPT_JOIN, 0, "join", "GROUP", "join multicast GROUP" },
	{ OPT_IFACE, 0, "iface", "IF", "interface for multicast" },
	{ OPT_COUNT, 0, "count", "N", "exit after N datagrams / requests" },
	{ OPT_PEER, 0, "peer", NULL, "prefix each datagram with its sender" },
	{ OPT_ECHO, 0, "echo", NULL, "send each datagram back to its "
	    "sender" },
	{ OPT_RCVBUF, 0, "rcvbuf", "BYTES", "socket receive buffer size" },
	{ OPT_RAW, 0, "raw", NULL, "no HTTP: nc-compatible raw bytes" },
	{ OPT_FORCE, 0, "force", NULL, "overwrite an existing file" },
	{ OPT_NO_RESUME, 0, "no-resume", NULL, "start over instead of "
	    "resuming NAME.part" },
	{ OPT_RETRY, 0, "retry", "N", "resume a cut transfer up to N times "
	    "(default 5)" },
	{ OPT_SHA256, 0, "sha256", "HEX", "the expected SHA-256 of the "
	    "file" },
	{ OPT_CONNECT, 0, "connect", NULL, "connect to HOST PORT instead of "
	    "listening" },
	{ OPT_PTY, 0, "pty", NULL, "give the program a pseudo-terminal" },
	{ OPT_STDERR, 0, "stderr", NULL, "send the program's stderr to the "
	    "peer too" },
	{ OPT_SH, 0, "sh", "COMMAND", "run COMMAND with /bin/sh -c" },
	{ OPT_CRLF, 'C', "crlf", NULL, "send each LF of stdin as CRLF (SMTP, "
	    "HTTP by hand)" },
	{ OPT_MPTCP, 0, "mptcp", NULL, "Multipath TCP (plain TCP where the "
	    "kernel has none)" },
	{ OPT_PTY_SIZE, 0, "pty-size", "COLSxROWS", "the terminal's window "
	    "size (implies --pty)" },
	{ OPT_TLS, 0, "tls", NULL, "speak TLS (verified: the system's CAs, "
	    "or --ca, or --pin)" },
	{ OPT_CA, 0, "ca", "FILE", "trust these PEM certificates (server: "
	    "require client certificates signed by them)" },
	{ OPT_CERT, 0, "cert", "FILE", "the PEM certificate chain to present" },
	{ OPT_KEY, 0, "key", "FILE", "its private key (default: in --cert)" },
	{ OPT_INSECURE, 0, "insecure", NULL, "do not verify the server (not "
	    "safe)" },
	{ OPT_PIN, 0, "pin", "sha256//BASE64", "accept exactly the server key "
	    "with this SHA-256" },
	{ OPT_SERVERNAME, 0, "servername", "NAME", "the name sent (SNI) and "
	    "verified, instead of HOST" },
	{ OPT_ALPN, 0, "alpn", "LIST", "ALPN protocols to offer or accept, "
	    "comma-separated" },
	{ OPT_PROXY, 0, "proxy", "ADDR[:PORT]", "connect through this proxy "
	    "(port 1080, http 3128)" },
	{ OPT_PROXY_TYPE, 0, "proxy-type", "TYPE", "socks5 (default), socks4 "
	    "or http (CONNECT)" },
	{ OPT_PROXY_AUTH, 0, "proxy-auth", "USER:PASS", "credentials for the "
	    "proxy (SOCKS5 or HTTP Basic)" },
	{ OPT_PROXY_SERVER, 0, "proxy-server", NULL, "be a SOCKS5, SOCKS4 and "
	    "HTTP proxy: clients name targets" },
	{ OPT_UPLOAD, 0, "upload", NULL, "also accept PUT uploads into DIR" },
	{ OPT_DOWNLOAD, 0, "download", NULL, "files as attachments (save, "
	    "do not show)" },
	{ OPT_NO_INDEX, 0, "no-index", NULL, "list directories even when "
	    "they have an index.html" },
	{ OPT_MAX_SIZE, 0, "max-size", "BYTES", "refuse uploads larger than "
	    "BYTES (413)" },
};

#define OPT_TABLE_LEN	(sizeof opt_table / sizeof opt_table[0])

static const struct opt_def *
opt_lookup(enum opt_id id)
{
	size_t i;

	for (i = 0; i < OPT_TABLE_LEN; i++)
		if (opt_table[i].id == id)
			return &opt_table[i];
	return NULL;
}

static bool
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

/* "-x" or "--hexdump" as the user would have typed it. */
static const char *
opt_spelling(const struct opt_def *d, char *buf, size_t size)
{
	if (d->letter != 0 && d->name != NULL)
		snprintf(buf, size, "-%c/--%s", d->letter, d->name);
	else if (d->letter != 0)
		snprintf(buf, size, "-%c", d->letter);
	else
		snprintf(buf, size, "--%s", d->name);
	return buf;
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
	struct option longopts[OPT_TABLE_LEN + 1];
	char shortopts[OPT_TABLE_LEN * 2 + 3], *sp = shortopts;
	const struct opt_def *d;
	char **original;
	size_t i, nlong = 0;
	int c, idx, prev;

	*sp++ = ':';	/* report a missing argument as ':' */
	for (i = 0; i < OPT_TABLE_LEN; i++) {
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
			for (i = 0; i < OPT_TABLE_LEN; i++)
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

/* The pairs of options that make no sense together. */
static const enum opt_id opt_conflicts[][2] = {
	{ OPT_IPV4, OPT_IPV6 },
	{ OPT_UNIX, OPT_IPV4 },
	{ OPT_UNIX, OPT_IPV6 },
	{ OPT_UNIX, OPT_SOURCE },
	{ OPT_SEND_ONLY, OPT_RECV_ONLY },
	{ OPT_SEND_ONLY, OPT_NOSTDIN },
	{ OPT_RECV_ONLY, OPT_NO_SHUTDOWN },
	{ OPT_RECV_ONLY, OPT_QUIT },
	{ OPT_NOSTDIN, OPT_QUIT },
	{ OPT_NOSTDIN, OPT_NO_SHUTDOWN },
	{ OPT_SCAN, OPT_SEND_ONLY },
	{ OPT_SCAN, OPT_RECV_ONLY },
	{ OPT_SCAN, OPT_HEXDUMP },
	{ OPT_SCAN, OPT_OUTPUT },
	{ OPT_UNIX, OPT_PORT },
	{ OPT_UNIX, OPT_ALLOW },	/* a Unix peer has no address to match */
	{ OPT_UNIX, OPT_DENY },
	{ OPT_WHOLE, OPT_SIZE },
	{ OPT_CONNECT, OPT_KEEP },
	{ OPT_CONNECT, OPT_MAX_CONNS },
	{ OPT_CONNECT, OPT_ALLOW },
	{ OPT_CONNECT, OPT_DENY },
	{ OPT_CONNECT, OPT_PORT_FILE },
	{ OPT_PTY, OPT_STDERR },
	{ OPT_SCAN, OPT_RAW_TTY },
	{ OPT_NOSTDIN, OPT_RAW_TTY },
	{ OPT_RECV_ONLY, OPT_RAW_TTY },
	{ OPT_KEEP, OPT_COUNT },
	{ OPT_UNIX, OPT_BROADCAST },
	{ OPT_UNIX, OPT_TTL },
	{ OPT_UNIX, OPT_JOIN },
	{ OPT_UNIX, OPT_IFACE },
	{ OPT_INSECURE, OPT_PIN },
	{ OPT_CRLF, OPT_NOSTDIN },
	{ OPT_CRLF, OPT_RECV_ONLY },
	{ OPT_INSECURE, OPT_CA },
	{ OPT_PROXY, OPT_UNIX },
	{ OPT_PROXY, OPT_SCAN },
	{ OPT_PROXY_SERVER, OPT_UNIX },
	{ OPT_PROXY_SERVER, OPT_TLS },
	{ OPT_RETRY, OPT_RAW },
	{ OPT_UPLOAD, OPT_RAW },
	{ OPT_DOWNLOAD, OPT_RAW },
	{ OPT_NO_INDEX, OPT_RAW },
	{ OPT_UNIX, OPT_MPTCP },
	{ OPT_SCAN, OPT_MPTCP },
	{ OPT_PTY_SIZE, OPT_STDERR },
};

/* --proxy and its companions, parsed; --proxy-server's credentials. */
static int
opts_validate_proxy(struct sockt_opts *o, char **errp)
{
	if (o->given[OPT_PROXY_TYPE] && !o->given[OPT_PROXY]) {
		*errp = log_fmt("--proxy-type needs --proxy");
		return -1;
	}
	if (o->given[OPT_PROXY_AUTH] && !o->given[OPT_PROXY] &&
	    !o->proxy_server) {
		*errp = log_fmt("--proxy-auth needs --proxy or "
		    "--proxy-server");
		return -1;
	}
	if (o->given[OPT_PROXY] && cmd_accepts(o->cmd, OPT_CONNECT) &&
	    !o->connect) {
		*errp = log_fmt("--proxy needs --connect");
		return -1;
	}
	if (o->proxy_server && o->proxy_auth != NULL &&
	    proxy_parse_auth(o->proxy_auth, &o->proxyd_auth, errp) == -1)
		return -1;
	if (o->given[OPT_PROXY] && proxy_parse(o->proxy, o->proxy_type,
	    o->proxy_server ? NULL : o->proxy_auth, &o->proxy_spec,
	    errp) == -1)
		return -1;
	return 0;
}

/*
 * Check combinations and build what needs all options first (the access
 * list, resolved once now).  Returns -1 with *errp on a usage error.
 */
int
opts_validate(struct sockt_opts *o, char **errp)
{
	char a[32], b[32];
	size_t i;
	int flags = o->numeric ? AI_NUMERICHOST : 0;

	for (i = 0; i < sizeof opt_conflicts / sizeof opt_conflicts[0]; i++) {
		if (o->given[opt_conflicts[i][0]] &&
		    o->given[opt_conflicts[i][1]]) {
			*errp = log_fmt("cannot use %s with %s",
			    opt_spelling(opt_lookup(opt_conflicts[i][0]), a,
			    sizeof a),
			    opt_spelling(opt_lookup(opt_conflicts[i][1]), b,
			    sizeof b));
			return -1;
		}
	}
	if (opts_validate_proxy(o, errp) == -1)
		return -1;
	for (i = 0; i < o->nallow; i++)
		if (addr_acl_add(&o->acl, false, o->allow[i], flags, errp) == -1)
			return -1;
	for (i = 0; i < o->ndeny; i++)
		if (addr_acl_add(&o->acl, true, o->deny[i], flags, errp) == -1)
			return -1;
	return 0;
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

/* The help line for D in CMD: the subcommand's own wording, if any. */
static const char *
opt_help_for(const struct cmd_entry *cmd, const struct opt_def *d)
{
	const struct cmd_help *h;

	for (h = cmd->help; h != NULL && h->id != OPT_END; h++)
		if (h->id == d->id)
			return h->help;
	return d->help;
}

/* "usage: sockt NAME USAGE" and one line per accepted option. */
void
opts_print_help(const struct cmd_entry *cmd, FILE *f)
{
	const struct opt_def *d;
	char left[64];
	const enum opt_id *id;
	size_t n;

	fprintf(f, "usage: sockt %s %s\n\n%s\n\noptions:\n", cmd->name,
	    cmd->usage, cmd->summary);
	for (id = cmd->options; *id != OPT_END; id++) {
		d = opt_lookup(*id);
		if (d == NULL)
			continue;
		if (d->letter && d->name)
			snprintf(left, sizeof left, "-%c, --%s%s%s", d->letter,
			    d->name, d->arg ? " " : "", d->arg ? d->arg : "");
		else if (d->letter)
			snprintf(left, sizeof left, "-%c%s%s", d->letter,
			    d->arg ? " " : "", d->arg ? d->arg : "");
		else
			snprintf(left, sizeof left, "    --%s%s%s", d->name,
			    d->arg ? " " : "", d->arg ? d->arg : "");
		fprintf(f, "  %-24s %s\n", left, opt_help_for(cmd, d));
	}
	fprintf(f, "  %-24s %s\n", "-h, --help", "this help");
	if (cmd->examples[0] != NULL)
		fprintf(f, "\nexamples:\n");
	for (n = 0; n < CMD_EXAMPLES_MAX && cmd->examples[n] != NULL; n++)
		fprintf(f, "  %s\n", cmd->examples[n]);
}

/*
 * The letter (or 0), long name (or NULL), argument name (or NULL) and
 * help line of option ID, for the shell completion scripts.  Returns -1
 * for no option.
 */
int
opts_describe(enum opt_id id, int *letter, const char **name,
    const char **arg, const char **help)
{
	const struct opt_def *d = opt_lookup(id);

	if (d == NULL)
		return -1;
	*letter = d->letter;
	*name = d->name;
	*arg = d->arg;
	*help = d->help;
	return 0;
}
