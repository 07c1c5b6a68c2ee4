/*
 * fetch.c - one download of fetch-file (see fetch.h): the response
 * checked, the body hashed and relayed to NAME.part or stdout, the
 * result verified and published.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdkind.h"
#include "fetch.h"
#include "log.h"
#include "relay.h"
#include "xmalloc.h"

#define FETCH_EVERY_MS	1000	/* -P lines when stderr is no terminal */

void
fetch_init(struct fetch *f, struct loop *l)
{
	memset(f, 0, sizeof *f);
	f->loop = l;
	f->total = -1;
	partfile_init(&f->pf, false);
	progress_init(&f->meter, l, NULL);
}

/* Record the first failure (taking MSG); stop once the output drained. */
static void
fetch_fail(struct fetch *f, char *msg)
{
	if (f->err == NULL)
		f->err = msg;
	else
		free(msg);
	httpc_cancel(f->hc);
	if (f->sink != NULL && !relay_sink_done(f->sink))
		relay_sink_end(f->sink);	/* the bytes in hand are kept */
	else
		loop_stop(f->loop, 1);
}

/* "X of Y bytes" for messages about an incomplete body. */
static char *
fetch_count(const struct fetch *f)
{
	uint64_t have = f->pf.resume_from + httpc_body_bytes(f->hc);

	if (f->total >= 0)
		return log_fmt("%llu of %lld bytes", (unsigned long long)have,
		    (long long)f->total);
	return log_fmt("%llu bytes", (unsigned long long)have);
}

/* What the status line means: 0 a body follows, 1 complete, -1 fail. */
static int
fetch_check_status(struct fetch *f, const struct http_response *r,
    char **errp)
{
	const char *what = httpc_what(f->hc);
	char reason[LOG_ESCAPE_MAX], loc[LOG_ESCAPE_MAX];

	if (r->status == 200) {
		if (f->pf.resume_from > 0)
			partfile_restart(&f->pf);
		f->total = r->content_length;
		return 0;
	}
	if (r->status == 206) {
		if (!r->has_content_range || r->range_first < 0 ||
		    (uint64_t)r->range_first != f->pf.resume_from) {
			*errp = log_fmt("%s: asked for bytes %llu- but the "
			    "server sent another range", what,
			    (unsigned long long)f->pf.resume_from);
			return -1;
		}
		f->total = r->range_total;
		return 0;
	}
	if (r->status == 416 && f->pf.resume_from > 0 &&
	    r->has_content_range && r->range_total >= 0) {
		if ((uint64_t)r->range_total == f->pf.resume_from) {
			log_info(1, "%s: already complete", f->pf.shown_part);
			f->total = r->range_total;
			return 1;
		}
		*errp = log_fmt("%s: longer than the file on the server (%llu "
		    "> %lld bytes); remove it or use --no-resume",
		    f->pf.shown_part, (unsigned long long)f->pf.resume_from,
		    (long long)r->range_total);
		return -1;
	}
	if (r->location.len > 0)
		*errp = log_fmt("%s: %d %s (Location: %s)", what, r->status,
		    log_escape(r->reason.p, r->reason.len, reason,
		    sizeof reason), log_escape(r->location.p, r->location.len,
		    loc, sizeof loc));
	else
		*errp = log_fmt("%s: %d %s", what, r->status,
		    log_escape(r->reason.p, r->reason.len, reason,
		    sizeof reason));
	return -1;
}

/* The server's Repr-Digest, checked against --sha256 at once. */
static int
fetch_check_digests(struct fetch *f, const struct http_response *r,
    char **errp)
{
	char a[DIGEST_HEX_LEN], b[DIGEST_HEX_LEN], esc[LOG_ESCAPE_MAX];
	int st;

	if (r->repr_digest.len == 0)
		return 0;
	st = http_repr_digest_sha256(r->repr_digest, f->server_digest);
	if (st == -1) {
		*errp = log_fmt("%s: malformed Repr-Digest from the server: %s",
		    httpc_what(f->hc), log_escape(r->repr_digest.p,
		    r->repr_digest.len, esc, sizeof esc));
		return -1;
	}
	if (st == 0) {
		log_info(1, "%s: Repr-Digest has no sha-256", httpc_what(f->hc));
		return 0;
	}
	f->have_server = true;
	if (f->have_user && memcmp(f->server_digest, f->user_digest,
	    DIGEST_LEN) != 0) {
		digest_hex(f->server_digest, a);
		digest_hex(f->user_digest, b);
		*errp = log_fmt("%s: the server's SHA-256 %s is not --sha256 %s",
		    httpc_what(f->hc), a, b);
		return -1;
	}
	return 0;
}

static uint64_t
fetch_received(void *arg)
{
	struct fetch *f = arg;

	return httpc_body_bytes(f->hc);
}

static void	fetch_sink_done(struct relay_session *, int, const char *,
		    void *);

static void
fetch_room(void *arg)
{
	struct fetch *f = arg;

	httpc_resume(f->hc);
}

/* The output: a relay sink on NAME.part or stdout. */
static int
fetch_open_sink(struct fetch *f, char **errp)
{
	enum fd_kind kind;
	int fd;

	f->rs = relay_session_new(f->relay, fetch_sink_done, f);
	if (f->to_stdout) {
		fd = fd_stdio_open(STDOUT_FILENO, 1, &kind);
		if (fd == -1) {
			*errp = log_fmt("stdout: %s", strerror(errno));
			return -1;
		}
		f->sink = relay_sink_new(f->rs, fd, kind, "stdout",
		    RELAY_SINK_CLOSE | RELAY_SINK_STDOUT);
		relay_sink_close_also(f->sink, STDOUT_FILENO);
	} else
		f->sink = relay_sink_new(f->rs, f->pf.fd, FD_FILE,
		    f->pf.shown_part, 0);
	relay_sink_on_room(f->sink, fetch_room, f);
	return 0;
}

/* The final head: check it, prepare the output, the hash, progress. */
static int
fetch_head(void *arg, const struct http_response *r, char **errp)
{
	struct fetch *f = arg;
	char *name;
	int st;

	st = fetch_check_status(f, r, errp);
	if (st == -1 || fetch_check_digests(f, r, errp) == -1)
		return -1;
	if (!f->to_stdout && !f->named) {
		/* No name in the URL: the server's Content-Disposition. */
		name = http_disposition_name(r->content_disposition);
		if (name == NULL) {
			*errp = log_fmt("%s: no file name in the URL or from "
			    "the server; use -o FILE", httpc_what(f->hc));
			return -1;
		}
		st = partfile_name(&f->pf, f->dir, name, errp) == -1 ||
		    partfile_open(&f->pf, false, errp) == -1 ? -1 : st;
		free(name);
		if (st == -1)
			return -1;
		f->named = true;
	}
	if (!f->to_stdout) {
		if (partfile_begin(&f->pf, errp) == -1)
			return -1;
		if (r->etag.len > 2 && r->etag.p[0] == '"')
			partfile_save_validator(&f->pf, r->etag.p, r->etag.len);
		else
			partfile_save_validator(&f->pf, r->last_modified.p,
			    r->last_modified.len);
	}
	if (f->total < 0 && !r->chunked && r->content_length >= 0)
		f->total = (int64_t)f->pf.resume_from + r->content_length;
	if (f->have_server || f->have_user) {
		f->ctx = digest_new();
		if (partfile_hash_prefix(&f->pf, f->ctx, errp) == -1)
			return -1;
	}
	if (fetch_open_sink(f, errp) == -1)
		return -1;
	if (f->show_progress) {
		progress_set_name(&f->meter, f->to_stdout ? "stdout" :
		    f->pf.shown);
		progress_add(&f->meter, NULL, fetch_received, f);
		progress_set_total(&f->meter, 0, f->pf.resume_from, f->total);
		progress_start(&f->meter, FETCH_EVERY_MS);
	}
	return st;
}

/* Body bytes: hash them and queue them on the output. */
static int
fetch_body(void *arg, const void *p, size_t n, char **errp)
{
	struct fetch *f = arg;

	(void)errp;
	if (f->ctx != NULL)
		digest_update(f->ctx, p, n);
	relay_sink_push(f->sink, p, n);
	if (!relay_sink_room(f->sink))
		httpc_pause(f->hc);
	return 0;
}

/* The exchange ended: the output drains, then fetch_sink_done(). */
static void
fetch_done(void *arg, enum httpc_end end, int e, const char *msg)
{
	struct fetch *f = arg;
	char *count, *kept = NULL;

	if (end == HTTPC_OK) {
		f->complete = true;
		relay_sink_end(f->sink);
		return;
	}
	if (end == HTTPC_FAILED) {
		fetch_fail(f, xstrdup(msg));
		return;
	}
	count = fetch_count(f);
	if (!f->to_stdout && (!f->pf.created || f->pf.resume_from +
	    httpc_body_bytes(f->hc) > 0))
		kept = log_fmt("; %s kept%s", f->pf.shown_part, f->raw ? "" :
		    " for resuming");
	fetch_fail(f, log_fmt("%s: %s after %s%s", httpc_what(f->hc), msg ?
	    msg : e ? strerror(e) : "connection closed", count,
	    kept ? kept : ""));
	free(count);
	free(kept);
}

/* Check the digests and publish NAME; -1 with *errp. */
static int
fetch_publish(struct fetch *f, char **errp)
{
	unsigned char got[DIGEST_LEN];
	char a[DIGEST_HEX_LEN], b[DIGEST_HEX_LEN];
	const char *shown = f->to_stdout ? "stdout" : f->pf.shown;

	if (f->ctx != NULL) {
		digest_final(f->ctx, got);
		if ((f->have_server && memcmp(got, f->server_digest,
		    DIGEST_LEN) != 0) || (f->have_user && memcmp(got,
		    f->user_digest, DIGEST_LEN) != 0)) {
			digest_hex(got, a);
			digest_hex(f->have_user ? f->user_digest :
			    f->server_digest, b);
			if (!f->to_stdout)
				partfile_remove(&f->pf);
			*errp = log_fmt("%s: SHA-256 mismatch: got %s, expected "
			    "%s (%s)%s", shown, a, b, f->have_user ? "--sha256" :
			    "Repr-Digest", f->to_stdout ? "" :
			    "; removed the .part");
			return -1;
		}
		log_info(1, "%s: SHA-256 verified", shown);
	}
	if (f->to_stdout)
		return 0;
	return partfile_commit(&f->pf, f->total, errp);
}

/* The output is drained (or failed): publish, and stop the loop. */
static void
fetch_sink_done(struct relay_session *rs, int status, const char *msg,
    void *arg)
{
	struct fetch *f = arg;
	char *err = NULL;
	int e;

	(void)rs;
	f->rs = NULL;
	if (status != 0 && f->err == NULL) {
		e = f->sink ? relay_sink_errno(f->sink) : 0;
		f->err = e ? log_fmt("%s: write: %s", f->to_stdout ? "stdout" :
		    f->pf.shown_part, strerror(e)) : xstrdup(msg ? msg :
		    "write failed");
		httpc_cancel(f->hc);
	}
	f->sink = NULL;
	if (f->err == NULL && f->complete && fetch_publish(f, &err) == -1)
		f->err = err;
	loop_stop(f->loop, f->err != NULL);
}

/*
 * Run the exchange REQ (SPEC: how to connect) and publish.  Returns the
 * exit status, the error printed; *SIG is a signal that stopped it.
 */
int
fetch_run(struct fetch *f, const struct httpc_spec *spec,
    const struct httpc_request *req, int *sig)
{
	static const struct httpc_ops ops = {
		.head = fetch_head,
		.body = fetch_body,
		.done = fetch_done,
	};
	int status;

	f->relay = relay_new(f->loop);
	f->hc = httpc_start(f->loop, spec, req, &ops, f);
	loop_run(f->loop);
	*sig = loop_caught_signal(f->loop);
	if (*sig == 0 && f->err == NULL && !(f->complete && f->rs == NULL))
		f->err = log_fmt("%s: stopped", httpc_what(f->hc));
	status = f->err != NULL || *sig != 0 ? 1 : 0;
	if (status != 0 && !f->to_stdout)
		partfile_abandon(&f->pf);
	if (f->show_progress)
		progress_end(&f->meter);
	if (f->err != NULL && *sig == 0)
		log_error("%s", f->err);
	return status;
}

void
fetch_free(struct fetch *f)
{
	httpc_free(f->hc);
	f->hc = NULL;
	relay_free(f->relay);	/* a session still there ends quietly */
	f->relay = NULL;
	f->sink = NULL;
	digest_free(f->ctx);
	f->ctx = NULL;
	progress_free(&f->meter);
	partfile_free(&f->pf);
	free(f->dir);
	free(f->err);
}
