/*
 * cmd-send-file.c - "sockt send-file": its cmd_entry and wiring.  FILE
 * URL (or FILE HOST PORT [PATH]) is a PUT with a verified digest run by
 * upload.c on httpc.c; --raw FILE HOST PORT pushes the bytes over plain
 * TCP with push.c.
 */
#include <sys/types.h>

#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "dial.h"
#include "fdkind.h"
#include "http.h"
#include "httpc.h"
#include "log.h"
#include "loop.h"
#include "progress.h"
#include "proxy.h"
#include "push.h"
#include "relay.h"
#include "tls.h"
#include "upload.h"
#include "xmalloc.h"

#define SEND_EVERY_MS	1000	/* -P lines when stderr is no terminal */

static const enum opt_id send_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_NUMERIC, OPT_VERBOSE, OPT_SOURCE, OPT_PORT,
	OPT_TIMEOUT, OPT_IDLE, OPT_OUTPUT, OPT_PROGRESS, OPT_WAIT, OPT_RAW,
	OPT_TLS, OPT_CA, OPT_CERT, OPT_KEY, OPT_INSECURE, OPT_PIN,
	OPT_SERVERNAME, OPT_ALPN, OPT_PROXY, OPT_PROXY_TYPE, OPT_PROXY_AUTH,
	OPT_MPTCP, OPT_END
};

static int	cmd_send_file_exec(struct sockt_opts *);

static const struct cmd_help send_help[] = {
	{ OPT_PORT, "source port" },
	{ OPT_TIMEOUT, "connect timeout; with --raw also the longest wait "
	    "for an acknowledgement (default 30)" },
	{ OPT_OUTPUT, "NAME: store under this name (the URL ends in /)" },
	{ OPT_RAW, "no HTTP: push the bytes over plain TCP (FILE HOST PORT)" },
	{ OPT_PROGRESS, "progress line on stderr (default when it is a "
	    "terminal)" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_send_file_entry = {
	.name = "send-file",
	.summary = "upload a file with HTTP PUT and a verified SHA-256, or "
	    "push it raw over TCP",
	.usage = "[options] [-o NAME] FILE URL | FILE HOST PORT [PATH] | "
	    "--raw FILE HOST PORT",
	.options = send_options,
	.help = send_help,
	.args = { 2, 4, 0, "FILE and URL" },
	.examples = {
		"sockt send-file report.pdf http://127.0.0.1:8000/",
		"sockt send-file --pin sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= -o notes.txt draft.txt https://127.0.0.1:8443/inbox/",
		"sockt send-file --raw -P big.iso 127.0.0.1 9000",
	},
	.exec = cmd_send_file_exec,
};

struct send_run {
	struct loop		*loop;
	struct relay		*relay;
	struct push_spec	 spec;		/* the file */
	struct push		*push;		/* --raw */
	struct upload		*upload;	/* HTTP */
	struct progress		 meter;
	bool			 show_progress;
	int			 status;
};

/*
 * A target whose path ends in "/" gets a name after it: -o NAME, else
 * FILE's base name.  Returns -1 with *errp (a usage error) when there is
 * no name to put there, or -o no "/" to follow.
 */
static int
send_name_target(const struct sockt_opts *o, struct http_url *a,
    char **errp)
{
	char *copy = xstrdup(o->argv[0]), *t;

	t = http_target_named(a->target, o->output ? o->output :
	    basename(copy), o->output != NULL);
	free(copy);
	if (t == NULL && o->output != NULL) {
		*errp = log_fmt("-o NAME needs a URL that ends in /");
		return -1;
	}
	if (t != NULL && o->output == NULL && strcmp(o->argv[0], "-") == 0) {
		free(t);
		*errp = log_fmt("stdin has no name: give -o NAME, or a URL "
		    "that does not end in /");
		return -1;
	}
	if (t != NULL) {
		free(a->target);
		a->target = t;
	}
	return 0;
}

/* FILE, then where to (cmd_http_where()); -1 with *errp (usage). */
static int
send_parse_args(const struct sockt_opts *o, struct http_url *a,
    char **errp)
{
	if (cmd_http_where(o, o->argc - 1, o->argv + 1, a, errp) == -1)
		return -1;
	return send_name_target(o, a, errp);
}

static uint64_t
send_count(void *arg)
{
	struct send_run *run = arg;

	if (run->push != NULL)
		return push_sent(run->push);
	return run->upload != NULL ? upload_sent(run->upload) : 0;
}

/* The meter of FILE's bytes as they go out. */
static void
send_progress_start(struct send_run *run)
{
	char esc[LOG_ESCAPE_MAX];
	int i;

	if (!run->show_progress)
		return;
	progress_set_name(&run->meter, log_escape(run->spec.in_name,
	    strlen(run->spec.in_name), esc, sizeof esc));
	i = progress_add(&run->meter, NULL, send_count, run);
	progress_set_total(&run->meter, i, 0, run->spec.size);
	progress_start(&run->meter, SEND_EVERY_MS);
}

/* push_done_fn and upload_done_fn: the transfer is over. */
static void
send_done(void *arg, int status, const char *msg)
{
	struct send_run *run = arg;

	progress_end(&run->meter);
	if (msg != NULL)
		log_error("%s", msg);
	else
		log_info(1, "%s: every byte delivered", run->spec.in_name);
	run->status = status;
	loop_stop(run->loop, status);
}

/* --raw: the dial ended; push the file, or fail. */
static void
send_dialled(void *arg, const struct dial_result *r)
{
	struct send_run *run = arg;

	if (r->fd == -1) {
		log_error("%s", r->err);
		run->status = 1;
		loop_stop(run->loop, 1);
		return;
	}
	log_info(1, "connected to %s", r->peer);
	run->push = push_start(run->relay, r->fd, r->peer, &run->spec,
	    send_done, run);
	run->spec.in_fd = -1;		/* the push's now */
	send_progress_start(run);
}

/* --raw FILE HOST PORT: check the rest, and what to dial. */
static int
send_raw_args(const struct sockt_opts *o, struct addr_endpoint *ep,
    char **errp)
{
	char *e2 = NULL;
	uint16_t port;

	if (o->output != NULL || o->tls) {
		*errp = log_fmt("cannot use %s with --raw", o->output ? "-o" :
		    "--tls");
		return -1;
	}
	/* HOST:PORT takes no PATH after it */
	if (o->argc == 3 && strchr(o->argv[1], ':') != NULL &&
	    addr_parse_port(o->argv[2], "tcp", &port, &e2) == -1) {
		free(e2);
		*errp = log_fmt("too many arguments: '%s'", o->argv[2]);
		return -1;
	}
	if (addr_parse_endpoint(o->argc - 1, o->argv + 1, ADDR_CONNECT, NULL,
	    ep, errp) == -1)
		return -1;
	if (addr_parse_port(ep->port, "tcp", &port, errp) == -1)
		return -1;
	if (port == 0) {
		*errp = log_fmt("bad port '0': cannot connect to port 0");
		return -1;
	}
	return 0;
}

/* Parse, open FILE, then run the upload or the push on the loop. */
static int
cmd_send_file_exec(struct sockt_opts *o)
{
	struct send_run run = { .status = 1 };
	struct addr_endpoint ep = { NULL, NULL };
	struct http_url a;
	struct httpc_spec spec;
	struct httpc_request req;
	struct dial_spec ds;
	struct tls_ctx *tls = NULL;
	struct proxy_spec px;
	char *err = NULL;
	uint16_t sport;
	int envproxy = 0;
	bool usage = true;
	int sig;

	memset(&a, 0, sizeof a);
	if ((o->raw ? send_raw_args(o, &ep, &err) : send_parse_args(o, &a,
	    &err)) == -1 || (o->port != NULL && addr_parse_port(o->port,
	    "tcp", &sport, &err) == -1) || (!o->raw && (envproxy =
	    cmd_env_proxy(o, a.tls, a.host, &px, &err)) == -1) ||
	    cmd_tls(o, false, !o->raw && (a.tls || cmd_tls_options_given(o)),
	    &tls, &err, &usage) == -1)
		goto fail;
	usage = false;
	if ((run.spec.in_fd = fd_open_input(o->argv[0], &run.spec.in_kind,
	    &run.spec.size, &err)) == -1)
		goto fail;
	run.spec.in_name = strcmp(o->argv[0], "-") ? o->argv[0] : "stdin";
	if (!o->raw && run.spec.in_kind != FD_FILE) {
		err = log_fmt("%s: not a regular file (an upload reads a file; "
		    "--raw pushes a stream)", run.spec.in_name);
		goto fail;
	}
	run.spec.idle_ms = o->idle_ms;
	run.spec.ack_ms = o->timeout_ms >= 0 ? o->timeout_ms : CMD_ACK_MS;
	run.spec.ack_by_w = o->timeout_ms >= 0;
	run.show_progress = o->progress || isatty(STDERR_FILENO);
	if ((run.loop = loop_new()) == NULL) {
		err = log_fmt("loop: %s", strerror(errno));
		goto fail;
	}
	progress_init(&run.meter, run.loop, NULL);
	if (o->raw) {
		run.relay = relay_new(run.loop);
		cmd_dial_spec(o, ep.host, ep.port, &ds);
		dial_start(run.loop, &ds, send_dialled, &run);
	} else {
		cmd_httpc_spec(o, &a, tls, envproxy == 1 ? &px : NULL, &spec,
		    &req);
		req.body_fd = run.spec.in_fd;
		run.upload = upload_start(run.loop, &spec, &req, send_done,
		    &run);
		send_progress_start(&run);
	}
	loop_run(run.loop);
	sig = loop_caught_signal(run.loop);
	progress_end(&run.meter);
	progress_free(&run.meter);
	push_free(run.push);
	upload_free(run.upload);
	relay_free(run.relay);
	loop_free(run.loop);
	if (run.spec.in_fd > STDERR_FILENO)
		close(run.spec.in_fd);
	http_url_free(&a);
	addr_endpoint_free(&ep);
	tls_ctx_free(tls);
	cmd_die_by_signal(sig);
	return run.status;
fail:
	if (run.spec.in_fd > STDERR_FILENO)
		close(run.spec.in_fd);
	http_url_free(&a);
	addr_endpoint_free(&ep);
	tls_ctx_free(tls);
	return usage ? cmd_usage_error(o, err) : cmd_fail(err);
}
