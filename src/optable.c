/*
 * optable.c - the option tables: every option (letter, long name,
 * argument, help line) and the pairs that conflict; the checks that need
 * all options at once (opts_validate); per-subcommand --help.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "options.h"
#include "options-int.h"

const struct opt_def opt_table[] = {
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

const size_t opt_table_len = sizeof opt_table / sizeof opt_table[0];
_Static_assert(sizeof opt_table / sizeof opt_table[0] <= OPT__MAX,
    "options.c sizes its getopt tables by OPT__MAX");

const struct opt_def *
opt_lookup(enum opt_id id)
{
	size_t i;

	for (i = 0; i < opt_table_len; i++)
		if (opt_table[i].id == id)
			return &opt_table[i];
	return NULL;
}

/* "-x" or "--hexdump" as the user would have typed it. */
const char *
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
