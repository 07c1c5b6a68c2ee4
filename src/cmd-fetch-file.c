/*
 * cmd-fetch-file.c - "sockt fetch-file": its cmd_entry and wiring.  The
 * arguments become a request (URL, or HOST PORT [PATH]) and an output
 * plan (stdout, -o FILE, -o DIR/NAME or ./NAME); fetch.c runs the
 * download on httpc.c and publishes NAME.part through partfile.c.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "dial.h"
#include "digest.h"
#include "fetch.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "proxy.h"
#include "tls.h"
#include "xmalloc.h"

#define FETCH_MAX_REDIRECTS	5	/* as wget's habit, fewer */

static const enum opt_id fetch_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_NUMERIC, OPT_VERBOSE, OPT_SOURCE, OPT_PORT,
	OPT_TIMEOUT, OPT_IDLE, OPT_OUTPUT, OPT_PROGRESS, OPT_RAW, OPT_FORCE,
	OPT_NO_RESUME, OPT_SHA256, OPT_RETRY, OPT_TLS, OPT_CA, OPT_CERT, OPT_KEY,
	OPT_INSECURE, OPT_PIN, OPT_SERVERNAME, OPT_ALPN, OPT_PROXY,
	OPT_PROXY_TYPE, OPT_PROXY_AUTH, OPT_MPTCP, OPT_END
};

static int	cmd_fetch_file_exec(struct sockt_opts *);

static const struct cmd_help fetch_file_help[] = {
	{ OPT_PORT, "source port" },
	{ OPT_TIMEOUT, "connect timeout" },
	{ OPT_IDLE, "give up after SECS without data" },
	{ OPT_OUTPUT, "write to FILE (- for stdout, DIR for DIR/NAME)" },
	{ OPT_PROGRESS, "progress line on stderr (default when it is a terminal)" },
	{ OPT_TLS, "HTTPS for HOST PORT (an https:// URL implies it)" },
	{ OPT_CA, "trust these PEM certificates instead of the system's" },
	{ OPT_CERT, "a PEM client certificate chain to present" },
	{ OPT_ALPN, "ALPN protocols to offer, comma-separated" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_fetch_file_entry = {
	.name = "fetch-file",
	.summary = "fetch a file over HTTP(S) with resume and a SHA-256 check",
	.usage = "[options] [-o OUT|-] URL | HOST PORT [PATH]",
	.options = fetch_options,
	.help = fetch_file_help,
	.args = { 1, 3, 0, "URL or HOST PORT" },
	.examples = {
		"sockt fetch-file http://127.0.0.1:8000/iso/big.iso",
		"sockt fetch-file --pin sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= https://127.0.0.1:8443/notes.txt",
		"sockt fetch-file --raw -o big.iso 127.0.0.1 9000",
	},
	.exec = cmd_fetch_file_exec,
};

/* --raw takes a stream, not a path: -1 with *errp if one was given. */
static int
fetch_check_raw(const struct sockt_opts *o, const struct http_url *u,
    char **errp)
{
	if (o->raw && strcmp(u->target, "/") != 0) {
		*errp = log_fmt("--raw takes no PATH");
		return -1;
	}
	return 0;
}

/*
 * Decide where the bytes go: stdout, -o FILE, -o DIR/NAME or ./NAME.
 * Returns -1 with *errp (*usage: a usage error).
 */
static int
fetch_plan_output(const struct sockt_opts *o, struct fetch *f,
    const char *target, char **errp, bool *usage)
{
	struct stat st;
	char *name;
	int r;

	*usage = false;
	if (o->output != NULL && strcmp(o->output, "-") == 0) {
		if (o->stdout_closed) {
			/* main put /dev/null there: the bytes would vanish */
			*errp = log_fmt("stdout is closed (-o - has nowhere "
			    "to write)");
			return -1;
		}
		f->to_stdout = true;
		return 0;
	}
	if (o->output != NULL && stat(o->output, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		f->dir = xstrdup(o->output);
	else if (o->output != NULL) {
		f->named = true;
		if (partfile_name(&f->pf, NULL, o->output, errp) == -1)
			return -1;
		return partfile_open(&f->pf, !o->no_resume && !o->raw, errp);
	}
	if (o->raw) {
		*usage = true;
		*errp = log_fmt("--raw needs -o FILE or -o - (a raw stream "
		    "has no name)");
		return -1;
	}
	name = http_target_name(target);
	if (name == NULL)
		return 0;	/* the server may name it */
	f->named = true;
	r = partfile_name(&f->pf, f->dir, name, errp);
	free(name);
	if (r == -1)
		return -1;
	return partfile_open(&f->pf, !o->no_resume, errp);
}

/* Range and If-Range when resuming, and the digest we want. */
static char *
fetch_headers(const struct fetch *f)
{
	const struct partfile *pf = &f->pf;

	if (pf->resume_from == 0)
		return xstrdup("Accept: */*\r\nWant-Repr-Digest: "
		    "sha-256=10\r\n");
	log_info(1, "%s: resuming after %llu bytes", pf->shown_part,
	    (unsigned long long)pf->resume_from);
	return log_fmt("Accept: */*\r\nWant-Repr-Digest: sha-256=10\r\n"
	    "Range: bytes=%llu-\r\n%s%s%s", (unsigned long long)pf->resume_from,
	    pf->validator ? "If-Range: " : "", pf->validator ? pf->validator :
	    "", pf->validator ? "\r\n" : "");
}

/*
 * The TLS context: for an https:// URL or --tls, and for the TLS options
 * given with an http:// URL (they then hold for a redirect to https://).
 * NULL when none is needed; -1 with *errp (*usage: a usage error).
 */
static int
fetch_tls(const struct sockt_opts *o, bool tls, struct tls_ctx **ctx,
    char **errp, bool *usage)
{
	return cmd_tls(o, false, tls || cmd_tls_options_given(o), ctx, errp,
	    usage);
}

/*
 * Parse, plan the output, then run the download on the loop.  Returns
 * the exit status.
 */
static int
cmd_fetch_file_exec(struct sockt_opts *o)
{
	struct http_url a;
	struct httpc_request req;
	struct httpc_spec spec;
	struct fetch f;
	struct tls_ctx *tls = NULL;
	struct proxy_spec px;
	struct loop *loop;
	char *err = NULL, *headers = NULL;
	uint16_t sport;
	bool usage;
	int sig = 0, status, envproxy = 0;

	memset(&a, 0, sizeof a);
	if (cmd_http_where(o, o->argc, o->argv, &a, &err) == -1 ||
	    fetch_check_raw(o, &a, &err) == -1 || (o->port != NULL &&
	    addr_parse_port(o->port, "tcp", &sport, &err) == -1) ||
	    (envproxy = cmd_env_proxy(o, a.tls, a.host, &px, &err)) == -1) {
		http_url_free(&a);
		return cmd_usage_error(o, err);
	}
	if (fetch_tls(o, a.tls, &tls, &err, &usage) == -1) {
		http_url_free(&a);
		return usage ? cmd_usage_error(o, err) : cmd_fail(err);
	}
	if ((loop = loop_new()) == NULL) {
		http_url_free(&a);
		tls_ctx_free(tls);
		return cmd_fail(log_fmt("loop: %s", strerror(errno)));
	}
	fetch_init(&f, loop);
	f.pf.force = o->force;
	f.raw = o->raw;
	f.retries_left = o->raw ? 0 : (int)o->retry;
	if (o->sha256 != NULL) {
		if (digest_parse_hex(o->sha256, f.user_digest) == -1) {
			err = log_fmt("bad --sha256 '%s': expected 64 hex "
			    "digits", o->sha256);
			usage = true;
			goto fail;
		}
		f.have_user = true;
	}
	if (fetch_plan_output(o, &f, a.target, &err, &usage) == -1)
		goto fail;
	f.show_progress = o->progress || isatty(STDERR_FILENO);
	cmd_httpc_spec(o, &a, tls, envproxy == 1 ? &px : NULL, &spec, &req);
	req.method = "GET";
	req.headers = headers = fetch_headers(&f);
	req.max_redirects = FETCH_MAX_REDIRECTS;
	req.raw = o->raw;
	status = fetch_run(&f, &spec, &req, &sig);
	fetch_free(&f);
	loop_free(loop);
	http_url_free(&a);
	free(headers);
	tls_ctx_free(tls);
	cmd_die_by_signal(sig);
	return status;
fail:
	if (!f.to_stdout)
		partfile_abandon(&f.pf);
	fetch_free(&f);
	loop_free(loop);
	http_url_free(&a);
	free(headers);
	tls_ctx_free(tls);
	return usage ? cmd_usage_error(o, err) : cmd_fail(err);
}
