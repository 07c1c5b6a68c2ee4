/*
 * cmd-serve-file.c - "sockt serve-file": serve files and directory trees
 * over the HTTP/1.1 subset of http.c to any number of clients at once, on
 * the one poll loop, bodies sent with sendfile(); or, with --raw, write
 * one file to every client that connects (what "nc -l < file" does).
 *
 * Each connection is a small state machine on the pump's watches: read a
 * request head, look the path up beneath the served tree, wait for the
 * file's digest if it is not cached yet (hashing runs in slices between
 * polls) or for its directory listing (read in slices too, then sorted
 * once), send the head and the body, then read the next request.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "cmd-util.h"
#include "digest.h"
#include "fstree.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "relay.h"
#include "sock.h"
#include "xmalloc.h"

#define SERVE_IDLE_MS		60000	/* keep-alive idle, without -i */
#define SERVE_HEAD_MS		30000	/* a request head must arrive within */
#define SERVE_LINGER_MS		2000	/* read after our last byte, then close */
#define SERVE_SEND_SLICE	(8 * 1024 * 1024)	/* per wakeup: fairness */
#define SERVE_HASH_SLICE	(4 * 1024 * 1024)	/* per job per loop round */
#define SERVE_HASH_TRIES	10	/* then 503: the file keeps changing */
#define SERVE_LIST_SLICE	2048	/* directory entries per loop round */

static const enum opt_id serve_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_NUMERIC, OPT_VERBOSE, OPT_PORT, OPT_IDLE,
	OPT_KEEP, OPT_MAX_CONNS, OPT_ALLOW, OPT_DENY, OPT_PORT_FILE, OPT_COUNT,
	OPT_RAW, OPT_END
};

static int	cmd_serve_file_exec(struct sockt_opts *);

static const struct cmd_help serve_file_help[] = {
	{ OPT_PORT, "the port to listen on" },
	{ OPT_IDLE, "close a connection idle that long (default 60)" },
	{ OPT_COUNT, "exit after N responses, aborted ones included" },
	{ OPT_KEEP, "serve until stopped (the default without --count)" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_serve_file_entry = {
	.name = "serve-file",
	.summary = "serve files and directories over HTTP to many clients",
	.usage = "[options] [--raw] [ADDRESS] PORT FILE|DIR...",
	.options = serve_options,
	.help = serve_file_help,
	.exec = cmd_serve_file_exec,
};

struct serve_conn;
struct serve_list;

/* A digest being computed for one file (device, inode). */
struct serve_job {
	struct serve_run	*run;
	struct digest_job	*job;
	struct serve_conn	*waiters;
	int			 tries;
	bool			 settling;	/* timer armed, not hashing */
	struct loop_timer	 settle;
	struct serve_job	*next;
};

struct serve_run {
	struct sockt_opts	*o;
	struct loop		*loop;
	struct sock_listeners	 ls;
	struct fstree		*tree;
	const char		*raw_path;	/* --raw: the FILE */
	struct digest_cache	*cache;
	struct serve_job	*jobs;
	struct loop_timer	 hash_tick;
	struct serve_list	*lists;		/* listings being read */
	struct loop_timer	 list_tick;
	struct loop_timer	 accept_retry;
	struct serve_conn	*conns;
	size_t			 nconns;
	bool			 accepting;
	bool			 finishing;	/* --count reached */
	long long		 served;
	int			 status;
};

enum serve_state {
	SERVE_READ,		/* reading a request head */
	SERVE_DIGEST,		/* waiting for the file's digest */
	SERVE_LIST,		/* waiting for a directory listing */
	SERVE_SEND,		/* writing the response */
	SERVE_LINGER		/* our side is shut; draining the client's */
};

struct serve_conn {
	struct serve_run	*run;
	int			 fd;
	char			 name[ADDR_STRLEN + 8];
	enum serve_state	 state;
	char			*in;		/* HTTP_MAX_HEAD bytes, lazily */
	size_t			 inlen;
	size_t			 reqlen;	/* head being answered */
	struct http_request	 req;
	uint64_t		 req_started;	/* first byte of this head */
	uint64_t		 active;	/* last progress */
	char			*path;		/* decoded, relative */
	int			 file;		/* body source, or -1 */
	char			*out;		/* head and in-memory body */
	size_t			 outlen;
	size_t			 outoff;
	off_t			 body_off;	/* file bytes [off, end) */
	off_t			 body_end;
	off_t			 body_start;	/* body_off when sending began */
	bool			 keep_alive;
	int			 status;	/* of the response, for -v */
	struct loop_timer	 timer;		/* idle, head or linger */
	struct serve_job	*job;
	struct serve_conn	*next_waiter;
	struct serve_list	*list;		/* SERVE_LIST */
	struct serve_conn	*prev;
	struct serve_conn	*next;
};

static void	serve_conn_read(struct loop *, int, void *);
static void	serve_conn_write(struct loop *, int, void *);
static void	serve_conn_process(struct serve_conn *);
static void	serve_conn_file_ready(struct serve_conn *);
static void	serve_conn_simple(struct serve_conn *, int, const char *);
static void	serve_hash_arm(struct serve_run *);
static void	serve_finish(struct serve_run *);
static void	serve_conn_memory(struct serve_conn *, const char *, char *,
		    size_t);

/* ---- listings ---------------------------------------------------------- */

/* A listing being built for one connection, a step per loop round. */
struct serve_list {
	struct serve_conn	*conn;
	struct fstree_list	*fl;
	bool			 html;
	struct serve_list	*next;
};

/* Take C's listing off the run and free it, if it has one. */
static void
serve_list_detach(struct serve_conn *c)
{
	struct serve_list **pp;

	if (c->list == NULL)
		return;
	for (pp = &c->run->lists; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c->list) {
			*pp = c->list->next;
			break;
		}
	fstree_list_free(c->list->fl);
	free(c->list);
	c->list = NULL;
}

/* The body is ready: answer with it, and forget the listing. */
static void
serve_list_answer(struct serve_list *l)
{
	struct serve_conn *c = l->conn;
	char *body;
	size_t len;
	bool html = l->html;

	body = fstree_list_take(l->fl, &len);
	serve_list_detach(c);
	serve_conn_memory(c, html ? "text/html; charset=utf-8" :
	    "text/plain; charset=utf-8", body, len);
}

/* A step of every listing under way; called between polls. */
static void
serve_list_tick(struct loop *p, void *arg)
{
	struct serve_run *run = arg;
	struct serve_list *l, *next;

	for (l = run->lists; l != NULL; l = next) {
		next = l->next;
		if (fstree_list_step(l->fl))
			serve_list_answer(l);
	}
	if (run->lists != NULL)
		loop_timer_arm(p, &run->list_tick, loop_now());
}

/* ---- connections ------------------------------------------------------- */

static void
serve_accept_watch(struct serve_run *run, bool on);

/* Finished: no more clients will be answered. */
static void
serve_check_finished(struct serve_run *run)
{
	if (run->finishing && run->nconns == 0)
		loop_stop(run->loop, run->status);
}

/* Take C off the waiters of the digest job it waits for, if any. */
static void
serve_job_detach(struct serve_conn *c)
{
	struct serve_conn **pp;

	if (c->job == NULL)
		return;
	for (pp = &c->job->waiters; *pp != NULL; pp = &(*pp)->next_waiter)
		if (*pp == c) {
			*pp = c->next_waiter;
			break;
		}
	c->job = NULL;
	c->next_waiter = NULL;
}

/* Forget the request being answered (its file, head and path). */
static void
serve_conn_reset(struct serve_conn *c)
{
	if (c->file != -1)
		close(c->file);
	c->file = -1;
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	c->body_off = c->body_end = 0;
	serve_list_detach(c);
	free(c->path);
	c->path = NULL;
	serve_job_detach(c);
}

/* Close C and forget it; may end the run (--count reached, nobody left). */
static void
serve_conn_free(struct serve_conn *c)
{
	struct serve_run *run = c->run;

	loop_timer_disarm(run->loop, &c->timer);
	serve_conn_reset(c);
	loop_forget(run->loop, c->fd);
	close(c->fd);
	free(c->in);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		run->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	run->nconns--;
	log_info(2, "connection from %s closed", c->name);
	free(c);
	serve_check_finished(run);
}

/*
 * A response (with --raw, a client) counts for --count even when it
 * failed; a failure makes the exit status 1.
 */
static void
serve_count(struct serve_run *run, bool failed)
{
	if (failed)
		run->status = 1;
	run->served++;
	if (run->o->count > 0 && run->served >= run->o->count &&
	    !run->finishing)
		serve_finish(run);
}

/*
 * C's response could not be delivered (WHY: the client reset or
 * stalled, the file shrank): say how far it got, count it, close C.
 * With --count the line is an error, since it decides the exit status;
 * a server that runs until stopped says it only under -v.
 */
static void
serve_conn_failed(struct serve_conn *c, const char *why)
{
	struct serve_run *run = c->run;
	char method[LOG_ESCAPE_MAX], target[LOG_ESCAPE_MAX], *req = NULL;
	char *msg;

	if (!run->o->raw) {
		log_escape(c->req.method_name.p, c->req.method_name.len, method,
		    sizeof method);
		log_escape(c->req.target.p, c->req.target.len, target,
		    sizeof target);
		req = log_fmt(" \"%s %s\":", method, target);
	}
	msg = log_fmt("%s:%s %s after %lld of %lld bytes", c->name,
	    req ? req : "", why, (long long)(c->body_off - c->body_start),
	    (long long)(c->body_end - c->body_start));
	if (run->o->count > 0)
		log_error("%s", msg);
	else
		log_info(1, "%s", msg);
	free(msg);
	free(req);
	serve_count(run, true);
	serve_conn_free(c);
}

/* The idle / head / linger deadline of C, from its state. */
static void
serve_conn_arm(struct serve_conn *c)
{
	struct serve_run *run = c->run;
	uint64_t idle = run->o->idle_ms > 0 ? (uint64_t)run->o->idle_ms :
	    SERVE_IDLE_MS, when;

	when = c->active + idle;
	if (c->state == SERVE_LINGER)
		when = c->active + SERVE_LINGER_MS;
	else if (c->state == SERVE_READ && c->inlen > 0 &&
	    c->req_started + SERVE_HEAD_MS < when)
		when = c->req_started + SERVE_HEAD_MS;
	else if (c->state == SERVE_DIGEST || c->state == SERVE_LIST)
		when = 0;	/* hashing is our delay, not the client's */
	if (when == 0)
		loop_timer_disarm(run->loop, &c->timer);
	else
		loop_timer_arm(run->loop, &c->timer, when);
}

/* Our last byte is out: half-close, read what is left, then close. */
static void
serve_conn_linger_read(struct loop *p, int fd, void *arg)
{
	struct serve_conn *c = arg;
	char junk[4096];
	ssize_t n;
	int i;

	(void)p;
	for (i = 0; i < 16; i++) {
		n = recv(fd, junk, sizeof junk, MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		serve_conn_free(c);
		return;
	}
}

/*
 * Half-close C and drain it for SERVE_LINGER_MS, so a client still
 * sending never turns our close into a reset that eats the response.
 */
static void
serve_conn_linger(struct serve_conn *c)
{
	struct serve_run *run = c->run;

	serve_conn_reset(c);
	free(c->in);
	c->in = NULL;
	c->inlen = 0;
	c->state = SERVE_LINGER;
	loop_cancel_write(run->loop, c->fd);
	if (shutdown(c->fd, SHUT_WR) == -1) {
		serve_conn_free(c);
		return;
	}
	c->active = loop_now();
	serve_conn_arm(c);
	loop_want_read(run->loop, c->fd, serve_conn_linger_read, c);
}

/* C's deadline: a head still incomplete gets 408, else C is closed. */
static void
serve_conn_timeout(struct loop *p, void *arg)
{
	struct serve_conn *c = arg;

	(void)p;
	if (c->state == SERVE_READ && c->inlen > 0) {
		log_info(1, "%s: request head not complete in time: 408",
		    c->name);
		memset(&c->req, 0, sizeof c->req);
		c->req.method = HTTP_GET;
		c->reqlen = c->inlen;
		serve_conn_simple(c, 408, NULL);
		return;
	}
	if (c->state == SERVE_SEND) {
		serve_conn_failed(c, "stalled: no progress in time");
		return;
	}
	log_info(2, "%s: idle, closing", c->name);
	serve_conn_free(c);
}

/* Begin writing the response built in c->out (and the file range). */
static void
serve_conn_send(struct serve_conn *c)
{
	struct serve_run *run = c->run;

	c->state = SERVE_SEND;
	c->outoff = 0;
	c->body_start = c->body_off;
	loop_cancel_read(run->loop, c->fd);
	loop_want_write(run->loop, c->fd, serve_conn_write, c);
	c->active = loop_now();
	serve_conn_arm(c);
}

/* A response with a short text body, or none for HEAD. */
static void
serve_conn_simple(struct serve_conn *c, int status, const char *extra)
{
	char *body = log_fmt("%d %s\n", status, http_reason(status));
	struct http_head h;

	serve_conn_reset(c);
	if (status == 400 || status == 408 || status == 414 || status == 431 ||
	    status == 505 || c->req.has_body)
		c->keep_alive = false;
	http_head_begin(&h, status, time(NULL));
	http_head_printf(&h, "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n%s", strlen(body), extra ? extra : "");
	http_head_finish(&h, c->keep_alive);
	if (c->req.method != HTTP_HEAD)
		http_head_printf(&h, "%s", body);
	c->status = status;
	c->out = h.buf;
	c->outlen = h.len;
	free(body);
	serve_conn_send(c);
}

/* A listing or another in-memory body with its digest; takes BODY. */
static void
serve_conn_memory(struct serve_conn *c, const char *type, char *body,
    size_t len)
{
	unsigned char d[DIGEST_LEN];
	char b64[DIGEST_B64_LEN];
	struct digest_ctx *ctx;
	struct http_head h;

	ctx = digest_new();
	digest_update(ctx, body, len);
	digest_final(ctx, d);
	digest_free(ctx);
	http_base64_encode(d, DIGEST_LEN, b64, sizeof b64);
	http_head_begin(&h, 200, time(NULL));
	http_head_printf(&h, "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Repr-Digest: sha-256=:%s:\r\nCache-Control: no-cache\r\n", type,
	    len, b64);
	http_head_finish(&h, c->keep_alive);
	c->status = 200;
	c->out = h.buf;
	c->outlen = h.len;
	/* The body after the head in one copy. */
	if (c->req.method != HTTP_HEAD && len > 0) {
		c->out = xreallocarray(c->out, c->outlen + len, 1);
		memcpy(c->out + c->outlen, body, len);
		c->outlen += len;
	}
	free(body);
	serve_conn_send(c);
}

/*
 * Answer with the file open on c->file, whose current version has digest
 * D: the conditionals, the range, the head; the body follows from
 * serve_conn_write() with sendfile().
 */
static void
serve_conn_respond_file(struct serve_conn *c, const unsigned char *d)
{
	char lastmod[HTTP_DATE_LEN], etag[40], hex[DIGEST_HEX_LEN];
	char b64[DIGEST_B64_LEN];
	uint64_t first = 0, last = 0;
	struct http_head h;
	struct stat st;
	const char *base;
	int status;

	if (fstat(c->file, &st) == -1) {
		serve_conn_simple(c, 500, NULL);
		return;
	}
	digest_hex(d, hex);
	snprintf(etag, sizeof etag, "\"%.32s\"", hex);
	http_base64_encode(d, DIGEST_LEN, b64, sizeof b64);
	http_format_date(st.st_mtime, lastmod);
	status = http_preconditions(&c->req, etag, st.st_mtime,
	    (uint64_t)st.st_size, &first, &last);
	http_head_begin(&h, status, time(NULL));
	http_head_printf(&h, "Last-Modified: %s\r\nETag: %s\r\n", lastmod,
	    etag);
	if (status != 304) {
		http_head_printf(&h, "Accept-Ranges: bytes\r\nRepr-Digest: "
		    "sha-256=:%s:\r\n", b64);
		base = strrchr(c->path, '/');
		http_head_disposition(&h, "attachment", base ? base + 1 :
		    c->path);
	}
	c->body_off = c->body_end = 0;
	if (status == 200) {
		http_head_printf(&h, "Content-Type: application/octet-stream\r\n"
		    "Content-Length: %lld\r\n", (long long)st.st_size);
		c->body_end = st.st_size;
	} else if (status == 206) {
		http_head_printf(&h, "Content-Type: application/octet-stream\r\n"
		    "Content-Length: %llu\r\nContent-Range: bytes "
		    "%llu-%llu/%lld\r\n", (unsigned long long)(last - first + 1),
		    (unsigned long long)first, (unsigned long long)last,
		    (long long)st.st_size);
		c->body_off = (off_t)first;
		c->body_end = (off_t)last + 1;
	} else if (status == 416)
		http_head_printf(&h, "Content-Length: 0\r\nContent-Range: "
		    "bytes */%lld\r\n", (long long)st.st_size);
	http_head_finish(&h, c->keep_alive);
	c->status = status;
	c->out = h.buf;
	c->outlen = h.len;
	if (c->req.method == HTTP_HEAD)
		c->body_off = c->body_end = 0;
	serve_conn_send(c);
}

/* ---- digests: cached, or computed in slices between polls -------------- */

/* Unlink and free J (its waiters must have been taken off). */
static void
serve_job_free(struct serve_job *j)
{
	struct serve_run *run = j->run;
	struct serve_job **pp;

	for (pp = &run->jobs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	loop_timer_disarm(run->loop, &j->settle);
	digest_job_free(j->job);
	free(j);
}

/* The job is over: every waiter looks again (or gets STATUS). */
static void
serve_job_finish(struct serve_job *j, int status)
{
	struct serve_conn *c, *next;

	c = j->waiters;
	j->waiters = NULL;
	serve_job_free(j);
	for (; c != NULL; c = next) {
		next = c->next_waiter;
		c->job = NULL;
		c->next_waiter = NULL;
		if (status != 0)
			serve_conn_simple(c, status, status == 503 ?
			    "Retry-After: 1\r\n" : NULL);
		else
			serve_conn_file_ready(c);
	}
}

/* The racy window of J's file has passed: hash it again. */
static void
serve_job_settled(struct loop *p, void *arg)
{
	struct serve_job *j = arg;

	(void)p;
	j->settling = false;
	digest_job_restart(j->job);
	serve_hash_arm(j->run);
}

/* Hash a slice of every running job; called between polls. */
static void
serve_hash_tick(struct loop *p, void *arg)
{
	struct serve_run *run = arg;
	struct serve_job *j, *next;
	unsigned char d[DIGEST_LEN];
	enum digest_step s;
	uint64_t wait_ms;
	char *err = NULL;

	(void)p;
	for (j = run->jobs; j != NULL; j = next) {
		next = j->next;
		if (j->settling)
			continue;
		s = digest_job_step(j->job, SERVE_HASH_SLICE, &err);
		switch (s) {
		case DIGEST_STEP_MORE:
			break;
		case DIGEST_STEP_ERROR:
			log_info(1, "hashing: %s", err);
			free(err);
			err = NULL;
			serve_job_finish(j, 500);
			break;
		case DIGEST_STEP_DONE:
			if (digest_job_settled(j->job, &wait_ms)) {
				digest_job_result(j->job, d);
				digest_cache_put(run->cache, digest_job_key(j->job),
				    d);
				serve_job_finish(j, 0);
				break;
			}
			/* FALLTHROUGH */
		case DIGEST_STEP_CHANGED:
			if (++j->tries >= SERVE_HASH_TRIES) {
				log_info(1, "hashing: the file keeps changing");
				serve_job_finish(j, 503);
				break;
			}
			if (s == DIGEST_STEP_DONE) {
				j->settling = true;
				loop_timer_arm(run->loop, &j->settle, loop_now() +
				    wait_ms);
			} else
				digest_job_restart(j->job);
			break;
		}
	}
	serve_hash_arm(run);
}

/* Keep the tick running while some job is hashing. */
static void
serve_hash_arm(struct serve_run *run)
{
	struct serve_job *j;

	for (j = run->jobs; j != NULL; j = j->next)
		if (!j->settling) {
			loop_timer_arm(run->loop, &run->hash_tick, loop_now());
			return;
		}
	loop_timer_disarm(run->loop, &run->hash_tick);
}

/*
 * c->file is open: answer at once when its version's digest is cached,
 * else wait for the job hashing that file (starting one if needed).
 */
static void
serve_conn_file_ready(struct serve_conn *c)
{
	struct serve_run *run = c->run;
	unsigned char d[DIGEST_LEN];
	struct digest_key k;
	const struct digest_key *jk;
	struct serve_job *j;
	struct stat st;
	char esc[LOG_ESCAPE_MAX], *err = NULL;

	if (fstat(c->file, &st) == -1) {
		serve_conn_simple(c, 500, NULL);
		return;
	}
	digest_key_of(&st, &k);
	if (digest_cache_get(run->cache, &k, d)) {
		serve_conn_respond_file(c, d);
		return;
	}
	for (j = run->jobs; j != NULL; j = j->next) {
		jk = digest_job_key(j->job);
		if (jk->dev == k.dev && jk->ino == k.ino)
			break;
	}
	if (j == NULL) {
		j = calloc(1, sizeof *j);
		if (j == NULL || (j->job = digest_job_new(c->file, &err)) ==
		    NULL) {
			log_info(1, "hashing: %s", err ? err : "out of memory");
			free(err);
			free(j);
			serve_conn_simple(c, 500, NULL);
			return;
		}
		j->run = run;
		loop_timer_init(&j->settle, serve_job_settled, j);
		j->next = run->jobs;
		run->jobs = j;
		log_info(2, "hashing /%s", log_escape(c->path,
		    strlen(c->path), esc, sizeof esc));
	}
	serve_job_detach(c);	/* a waiter at most once, on one job */
	c->job = j;
	c->next_waiter = j->waiters;
	j->waiters = c;
	c->state = SERVE_DIGEST;
	serve_conn_arm(c);
	serve_hash_arm(run);
}

/*
 * C asks for the listing of directory DFD beneath ROOT (the top when
 * ROOT is NULL): it waits while the entries are read between polls.
 * Takes DFD.
 */
static void
serve_conn_list(struct serve_conn *c, const struct fstree_root *root, int dfd)
{
	struct serve_run *run = c->run;
	struct serve_list *l = xcalloc(1, sizeof *l);

	l->conn = c;
	l->html = http_accepts_html(c->req.accept);
	l->fl = fstree_list_new(run->tree, c->path, root, dfd, l->html);
	l->next = run->lists;
	run->lists = l;
	c->list = l;
	c->state = SERVE_LIST;
	serve_conn_arm(c);
	loop_timer_arm(run->loop, &run->list_tick, loop_now());
}

/* ---- requests ---------------------------------------------------------- */

/* Answer the parsed request in c->req. */
static void
serve_conn_answer(struct serve_conn *c)
{
	struct serve_run *run = c->run;
	const struct fstree_root *root;
	enum http_path pr;
	enum fstree_found found;
	bool dir;
	int fd;

	c->keep_alive = c->req.keep_alive && !c->req.has_body;
	if (c->req.method == HTTP_OTHER) {
		serve_conn_simple(c, 405, "Allow: GET, HEAD\r\n");
		return;
	}
	pr = http_target_path(c->req.target, &c->path, &dir);
	if (pr != HTTP_PATH_OK) {
		serve_conn_simple(c, pr == HTTP_PATH_BAD ? 400 : 403, NULL);
		return;
	}
	found = fstree_lookup(run->tree, c->path, &fd, &root);
	switch (found) {
	case FSTREE_FILE:
		c->file = fd;
		serve_conn_file_ready(c);
		return;
	case FSTREE_DIR:
		serve_conn_list(c, root, fd);
		return;
	case FSTREE_NONE:
		serve_conn_simple(c, 404, NULL);
		return;
	case FSTREE_FORBIDDEN:
		serve_conn_simple(c, 403, NULL);
		return;
	case FSTREE_ERROR:
		serve_conn_simple(c, 500, NULL);
		return;
	}
}

/* Parse what is buffered: answer a complete head, refuse a bad one. */
static void
serve_conn_process(struct serve_conn *c)
{
	struct serve_run *run = c->run;
	ssize_t r;

	if (run->finishing) {
		serve_conn_free(c);
		return;
	}
	r = http_parse_request(c->in, c->inlen, &c->req);
	if (r == 0) {
		if (c->inlen == 0) {
			free(c->in);
			c->in = NULL;
		}
		serve_conn_arm(c);
		return;
	}
	if (r < 0) {
		memset(&c->req, 0, sizeof c->req);
		c->req.method = HTTP_GET;
		c->reqlen = c->inlen;
		serve_conn_simple(c, (int)-r, NULL);
		return;
	}
	c->reqlen = (size_t)r;
	serve_conn_answer(c);
}

/*
 * Bytes of a request head; end of file or an error closes C.  While C
 * waits for a digest or a listing (SERVE_DIGEST, SERVE_LIST) the request
 * being answered is still at the start of c->in: what arrives then is
 * only buffered, for after the response (pipelining), never parsed;
 * reading goes on only so that a reset frees C (and takes it off the
 * job) at once.  A full buffer or the client's end of file stops reading
 * until the response is out.
 */
static void
serve_conn_read(struct loop *p, int fd, void *arg)
{
	struct serve_conn *c = arg;
	bool waiting = c->state == SERVE_DIGEST || c->state == SERVE_LIST;
	ssize_t n;

	if (waiting && c->inlen == HTTP_MAX_HEAD) {
		loop_cancel_read(p, fd);
		return;
	}
	if (c->in == NULL) {
		c->in = malloc(HTTP_MAX_HEAD);
		if (c->in == NULL) {
			serve_conn_free(c);
			return;
		}
	}
	n = recv(fd, c->in + c->inlen, HTTP_MAX_HEAD - c->inlen, MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 0 && waiting) {
		/* A client may half-close and still wait for its answer. */
		loop_cancel_read(p, fd);
		return;
	}
	if (n <= 0) {
		if (n == -1)
			log_info(2, "%s: %s", c->name, strerror(errno));
		serve_conn_free(c);
		return;
	}
	if (c->inlen == 0)
		c->req_started = loop_now();
	c->inlen += (size_t)n;
	if (waiting)
		return;
	c->active = loop_now();
	serve_conn_process(c);
}

/*
 * --count was reached: accept no one, drop connections between requests,
 * finish the responses under way, then stop.
 */
static void
serve_finish(struct serve_run *run)
{
	struct serve_conn *c, *next;

	run->finishing = true;
	serve_accept_watch(run, false);
	sock_listeners_close(&run->ls);
	for (c = run->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == SERVE_READ)
			serve_conn_free(c);
	}
}

/* The response is out: count it, then the next request or the end. */
static void
serve_conn_sent(struct serve_conn *c)
{
	struct serve_run *run = c->run;
	char method[LOG_ESCAPE_MAX], target[LOG_ESCAPE_MAX];

	if (run->o->raw)
		log_info(1, "%s: sent %lld bytes", c->name,
		    (long long)c->body_end);
	else if (log_verbosity() >= 1) {
		/* The client's bytes, escaped: no forged lines, no ESC. */
		log_escape(c->req.method_name.p, c->req.method_name.len, method,
		    sizeof method);
		log_escape(c->req.target.p, c->req.target.len, target,
		    sizeof target);
		log_info(1, "%s: \"%s %s\" %d", c->name, method,
		    target[0] != '\0' ? target : "-", c->status);
	}
	serve_count(run, false);
	if (run->o->raw || !c->keep_alive || run->finishing) {
		serve_conn_linger(c);
		return;
	}
	serve_conn_reset(c);
	if (c->reqlen < c->inlen)
		memmove(c->in, c->in + c->reqlen, c->inlen - c->reqlen);
	c->inlen -= c->reqlen;
	c->reqlen = 0;
	c->state = SERVE_READ;
	c->req_started = loop_now();
	loop_cancel_write(run->loop, c->fd);
	loop_want_read(run->loop, c->fd, serve_conn_read, c);
	serve_conn_process(c);
}

/*
 * Send the head, then the body with sendfile(), at most SERVE_SEND_SLICE
 * per wakeup so one fast client cannot starve the others.
 */
static void
serve_conn_write(struct loop *p, int fd, void *arg)
{
	struct serve_conn *c = arg;
	size_t budget = SERVE_SEND_SLICE;
	off_t off;
	ssize_t n;
	int flags;

	(void)p;
	while (c->outoff < c->outlen) {
		flags = MSG_NOSIGNAL | MSG_DONTWAIT;
		if (c->body_off < c->body_end)
			flags |= MSG_MORE;
		n = send(fd, c->out + c->outoff, c->outlen - c->outoff, flags);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			goto fail;
		}
		c->outoff += (size_t)n;
		c->active = loop_now();
	}
	while (c->body_off < c->body_end && budget > 0) {
		off = c->body_off;
		n = sendfile(fd, c->file, &off, (size_t)(c->body_end -
		    c->body_off) < budget ? (size_t)(c->body_end -
		    c->body_off) : budget);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			goto fail;
		}
		if (n == 0) {
			serve_conn_failed(c, "the file shrank");
			return;
		}
		c->body_off = off;
		budget -= (size_t)n;
		c->active = loop_now();
	}
	serve_conn_arm(c);
	if (c->body_off < c->body_end)
		return;
	serve_conn_sent(c);
	return;
fail:
	serve_conn_failed(c, strerror(errno));
}

/* --raw: the file goes to the client as soon as it connects. */
static void
serve_conn_raw(struct serve_conn *c)
{
	struct serve_run *run = c->run;
	struct stat st;

	c->file = open(run->raw_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (c->file == -1 || fstat(c->file, &st) == -1) {
		log_error("%s: %s", run->raw_path, strerror(errno));
		serve_count(run, true);
		serve_conn_free(c);
		return;
	}
	c->body_off = 0;
	c->body_end = st.st_size;
	c->state = SERVE_SEND;
	c->active = loop_now();
	loop_want_write(run->loop, c->fd, serve_conn_write, c);
	serve_conn_arm(c);
}

/* A new client on FD: wait for its request, or (--raw) send the file. */
static void
serve_conn_new(struct serve_run *run, int fd, const char *name)
{
	struct serve_conn *c = calloc(1, sizeof *c);

	if (c == NULL) {
		close(fd);
		return;
	}
	c->run = run;
	c->fd = fd;
	c->file = -1;
	strlcpy(c->name, name, sizeof c->name);
	c->active = loop_now();
	loop_timer_init(&c->timer, serve_conn_timeout, c);
	c->next = run->conns;
	if (run->conns != NULL)
		run->conns->prev = c;
	run->conns = c;
	run->nconns++;
	sock_set_nodelay(fd);
	log_info(2, "connection from %s", name);
	if (run->o->raw) {
		serve_conn_raw(c);
		return;
	}
	c->state = SERVE_READ;
	loop_want_read(run->loop, fd, serve_conn_read, c);
	serve_conn_arm(c);
}

/* ---- accepting --------------------------------------------------------- */

static void	serve_accept(struct loop *, int, void *);

static void
serve_accept_watch(struct serve_run *run, bool on)
{
	run->accepting = on;
	cmd_watch_listeners(run->loop, &run->ls, on, serve_accept, run);
}

/* Out of descriptors a moment ago: accept again. */
static void
serve_accept_retry(struct loop *p, void *arg)
{
	struct serve_run *run = arg;

	(void)p;
	if (!run->finishing)
		serve_accept_watch(run, true);
}

/*
 * Accept what is pending (64 at most per wakeup) and admit it by the
 * access list and --max-conns, as listen does.
 */
static void
serve_accept(struct loop *p, int lfd, void *arg)
{
	struct serve_run *run = arg;
	char name[ADDR_STRLEN];
	bool starved;
	int fd, n;

	for (n = 0; n < 64 && run->accepting; n++) {
		fd = cmd_accept(run->o, lfd, run->nconns, name, sizeof name,
		    &starved);
		if (fd == -1) {
			if (starved) {
				serve_accept_watch(run, false);
				loop_timer_arm(p, &run->accept_retry,
				    loop_now() + CMD_ACCEPT_PAUSE_MS);
			}
			return;
		}
		serve_conn_new(run, fd, name);
	}
}

/* ---- setup ------------------------------------------------------------- */

static bool
serve_all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/*
 * Split the positional arguments into the endpoint and the FILE|DIR list.
 * With -p every argument is a FILE or DIR.  Otherwise the first is PORT
 * when it is a number, the first two are ADDRESS PORT when the second is
 * a port, the first is HOST:PORT when it has a colon, or a service name.
 * An argument with a "/" is always a FILE or DIR.
 */
static int
serve_split_args(struct sockt_opts *o, struct addr_endpoint *ep, int *nfirst,
    char **errp)
{
	uint16_t port;
	char *e2 = NULL;
	bool slash0, slash1;

	ep->host = ep->port = NULL;
	*nfirst = 0;
	if (o->port != NULL) {
		ep->port = strdup(o->port);
	} else {
		if (o->argc == 0) {
			*errp = log_fmt("missing PORT");
			return -1;
		}
		slash0 = strchr(o->argv[0], '/') != NULL;
		slash1 = o->argc > 1 && strchr(o->argv[1], '/') != NULL;
		if (!slash0 && serve_all_digits(o->argv[0])) {
			ep->port = strdup(o->argv[0]);
			*nfirst = 1;
		} else if (!slash0 && o->argc > 1 && !slash1 &&
		    addr_parse_port(o->argv[1], "tcp", &port, &e2) == 0) {
			ep->host = strdup(o->argv[0]);
			ep->port = strdup(o->argv[1]);
			*nfirst = 2;
		} else if (!slash0 && strchr(o->argv[0], ':') != NULL) {
			if (addr_parse_endpoint(1, o->argv, ADDR_LISTEN, NULL,
			    ep, errp) == -1)
				goto fail;
			*nfirst = 1;
		} else if (!slash0 && addr_parse_port(o->argv[0], "tcp", &port,
		    &e2) == 0) {
			ep->port = strdup(o->argv[0]);
			*nfirst = 1;
		} else {
			*errp = log_fmt("missing PORT before '%s'",
			    o->argv[0]);
			goto fail;
		}
		free(e2);
		e2 = NULL;
	}
	if (addr_parse_port(ep->port, "tcp", &port, errp) == -1)
		goto fail;
	if (*nfirst >= o->argc) {
		*errp = log_fmt("missing FILE or DIR to serve");
		goto fail;
	}
	if (o->raw && o->argc - *nfirst != 1) {
		*errp = log_fmt("--raw serves exactly one FILE");
		goto fail;
	}
	return 0;
fail:
	free(e2);
	addr_endpoint_free(ep);
	return -1;
}

/* Open the FILE and DIR arguments (--raw: check its one FILE). */
static int
serve_open_roots(struct serve_run *run, int first, char **errp)
{
	struct sockt_opts *o = run->o;
	struct stat st;
	int i;

	if (o->raw) {
		run->raw_path = o->argv[first];
		if (stat(run->raw_path, &st) == -1) {
			*errp = log_fmt("%s: %s", run->raw_path,
			    strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			*errp = log_fmt("%s: not a regular file (--raw serves "
			    "one FILE)", run->raw_path);
			return -1;
		}
		return 0;
	}
	run->tree = fstree_new(0);
	for (i = first; i < o->argc; i++)
		if (fstree_add(run->tree, o->argv[i], errp) == -1)
			return -1;
	return 0;
}

/*
 * Hash every FILE argument now, before readiness is reported, so no
 * client waits for it.  Directories are hashed file by file on demand.
 */
static int
serve_hash_roots(struct serve_run *run, char **errp)
{
	unsigned char d[DIGEST_LEN];
	struct digest_key k;
	uint64_t t0;
	size_t i;
	const char *path;
	char *err = NULL;
	int fd;

	for (i = 0; (path = fstree_file(run->tree, i)) != NULL; i++) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd == -1) {
			*errp = log_fmt("%s: %s", path, strerror(errno));
			return -1;
		}
		t0 = loop_now();
		if (digest_file(fd, &k, d, &err) == -1) {
			/* Not fatal: the first request will hash it. */
			log_info(1, "%s: %s", path, err);
			free(err);
			err = NULL;
		} else {
			digest_cache_put(run->cache, &k, d);
			log_info(2, "%s: hashed in %llu ms", path,
			    (unsigned long long)(loop_now() - t0));
		}
		close(fd);
	}
	return 0;
}

/* Many clients at once need many fds: use the hard limit. */
static void
serve_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Close every connection, job, listener and root; free the cache. */
static void
serve_cleanup(struct serve_run *run)
{
	while (run->conns != NULL) {
		run->finishing = false;	/* no loop_stop from here */
		serve_conn_free(run->conns);
	}
	while (run->jobs != NULL)
		serve_job_free(run->jobs);
	if (run->loop != NULL) {
		loop_timer_disarm(run->loop, &run->hash_tick);
		loop_timer_disarm(run->loop, &run->list_tick);
		loop_timer_disarm(run->loop, &run->accept_retry);
	}
	sock_listeners_close(&run->ls);
	while (run->lists != NULL)
		serve_list_detach(run->lists->conn);
	fstree_free(run->tree);
	digest_cache_free(run->cache);
}

/*
 * Listen, hash the FILE arguments, report readiness, serve until a
 * signal or --count.  Returns the exit status.
 */
static int
cmd_serve_file_exec(struct sockt_opts *o)
{
	struct serve_run run;
	struct addr_endpoint ep;
	char *err = NULL;
	int first, sig, flags = o->numeric ? AI_NUMERICHOST : 0;

	memset(&run, 0, sizeof run);
	run.o = o;
	if (serve_split_args(o, &ep, &first, &err) == -1)
		return cmd_usage_error(o, err);
	serve_raise_nofile();
	run.cache = digest_cache_new();
	if (serve_open_roots(&run, first, &err) == -1 ||
	    sock_listen_inet(ep.host, ep.port, o->family, SOCK_STREAM, flags,
	    &run.ls, &err) == -1) {
		addr_endpoint_free(&ep);
		serve_cleanup(&run);
		return cmd_fail(err);
	}
	addr_endpoint_free(&ep);
	run.loop = loop_new();
	if (run.loop == NULL) {
		serve_cleanup(&run);
		return cmd_fail(log_fmt("loop: %s", strerror(errno)));
	}
	loop_timer_init(&run.hash_tick, serve_hash_tick, &run);
	loop_timer_init(&run.list_tick, serve_list_tick, &run);
	loop_timer_init(&run.accept_retry, serve_accept_retry, &run);
	if ((!o->raw && serve_hash_roots(&run, &err) == -1) ||
	    cmd_report_listening(o, &run.ls, NULL, &err) == -1) {
		run.status = cmd_fail(err);
		goto out;
	}
	serve_accept_watch(&run, true);
	run.status = loop_run(run.loop);
out:
	sig = loop_caught_signal(run.loop);
	serve_cleanup(&run);
	loop_free(run.loop);
	cmd_die_by_signal(sig);
	return run.status;
}
