/*
 * serve.c - serve-file's httpd handler: what a GET or HEAD of a path in
 * the served tree is answered with.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "fstree.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "loop.h"
#include "mime.h"
#include "serve.h"
#include "serveput.h"
#include "xmalloc.h"

struct serve_req;

struct serve {
	struct loop		*loop;
	struct fstree		*tree;
	struct serve_spec	 spec;
	struct digest_sched	*sched;
	struct serve_req	*lists;		/* listings being built */
	struct loop_timer	 list_tick;
};

/* A request being answered later: a file's digest, or a listing. */
struct serve_req {
	enum serve_kind		 kind;		/* SERVE_GET: the connection's
						   data is this */
	struct serve		*s;
	struct httpd_conn	*conn;
	const struct http_request *rq;
	char			*path;		/* decoded, relative */
	int			 file;		/* waiting for its digest */
	struct digest_waiter	 w;
	struct fstree_list	*list;		/* or building its listing */
	bool			 html;
	struct digest_ctx	*ctx;		/* the listing's digest */
	size_t			 hashed;	/* listing bytes in CTX */
	struct serve_req	*next;		/* in s->lists */
};

static void	serve_file(struct serve_req *);

/* Forget R (its connection has been answered, or is gone). */
static void
serve_req_free(struct serve_req *r)
{
	struct serve_req **pp;

	if (r->list != NULL) {
		for (pp = &r->s->lists; *pp != NULL; pp = &(*pp)->next)
			if (*pp == r) {
				*pp = r->next;
				break;
			}
		fstree_list_free(r->list);
	}
	digest_sched_cancel(&r->w);
	digest_free(r->ctx);
	if (r->file != -1)
		close(r->file);
	free(r->path);
	free(r);
}

/* Answer R with STATUS (and header lines FIELDS), and forget R. */
static void
serve_req_status(struct serve_req *r, int status, const char *fields)
{
	struct httpd_conn *c = r->conn;

	serve_req_free(r);
	httpd_respond_status(c, status, fields);
}

/*
 * Does the query of TARGET hold the parameter NAME ("?download",
 * "?a=1&download=1")?
 */
static bool
serve_query_has(struct http_str target, const char *name)
{
	const char *q = memchr(target.p, '?', target.len), *end, *amp;
	size_t n = strlen(name), len;

	if (q == NULL)
		return false;
	end = target.p + target.len;
	for (q++; q < end; q = amp + 1) {
		if ((amp = memchr(q, '&', (size_t)(end - q))) == NULL)
			amp = end;
		len = (size_t)(amp - q);
		if (len >= n && memcmp(q, name, n) == 0 && (len == n ||
		    q[n] == '='))
			return true;
	}
	return false;
}

/*
 * Answer R with its file, whose current version has digest D: the
 * validators, the preconditions and the range decide the status, the
 * body follows from the file.
 */
static void
serve_file_respond(struct serve_req *r, const unsigned char *d)
{
	char lastmod[HTTP_DATE_LEN], etag[40], hex[DIGEST_HEX_LEN];
	char b64[DIGEST_B64_LEN];
	uint64_t first = 0, last = 0;
	off_t off = 0, end = 0;
	struct http_head h;
	struct httpd_conn *c = r->conn;
	struct stat st;
	const char *base, *type;
	int status, fd;
	bool known;

	if (fstat(r->file, &st) == -1) {
		serve_req_status(r, 500, NULL);
		return;
	}
	digest_hex(d, hex);
	snprintf(etag, sizeof etag, "\"%.32s\"", hex);
	http_base64_encode(d, DIGEST_LEN, b64, sizeof b64);
	http_format_date(st.st_mtime, lastmod);
	status = http_preconditions(r->rq, etag, st.st_mtime,
	    (uint64_t)st.st_size, &first, &last);
	type = mime_type(r->s->spec.mime, r->path, &known);
	http_head_begin(&h, status, time(NULL));
	http_head_printf(&h, "Last-Modified: %s\r\nETag: %s\r\n", lastmod,
	    etag);
	if (status != 304) {
		http_head_printf(&h, "Accept-Ranges: bytes\r\nRepr-Digest: "
		    "sha-256=:%s:\r\n", b64);
		base = strrchr(r->path, '/');
		http_head_disposition(&h, r->s->spec.download ||
		    serve_query_has(r->rq->target, "download") ? "attachment" :
		    "inline", base ? base + 1 : r->path);
	}
	if (status == 200) {
		http_head_printf(&h, "Content-Type: %s\r\n"
		    "Content-Length: %lld\r\n", type, (long long)st.st_size);
		end = st.st_size;
	} else if (status == 206) {
		http_head_printf(&h, "Content-Type: %s\r\n"
		    "Content-Length: %llu\r\nContent-Range: bytes "
		    "%llu-%llu/%lld\r\n", type,
		    (unsigned long long)(last - first + 1),
		    (unsigned long long)first, (unsigned long long)last,
		    (long long)st.st_size);
		off = (off_t)first;
		end = (off_t)last + 1;
	} else if (status == 416)
		http_head_printf(&h, "Content-Length: 0\r\nContent-Range: "
		    "bytes */%lld\r\n", (long long)st.st_size);
	fd = r->file;
	r->file = -1;
	if (off == end) {
		close(fd);
		fd = -1;
	}
	serve_req_free(r);
	httpd_respond_file(c, &h, fd, off, end);
}

/*
 * The digest R waited for is known, for version K: answer when that is
 * still the file's version, else look again (it changed meanwhile).
 */
static void
serve_file_ready(void *arg, enum digest_result res,
    const struct digest_key *k, const unsigned char *d)
{
	struct serve_req *r = arg;
	struct digest_key now;
	struct stat st;

	if (res == DIGEST_FAILED) {
		serve_req_status(r, 500, NULL);
		return;
	}
	if (res == DIGEST_UNSTABLE) {
		serve_req_status(r, 503, "Retry-After: 1\r\n");
		return;
	}
	if (fstat(r->file, &st) == -1) {
		serve_req_status(r, 500, NULL);
		return;
	}
	digest_key_of(&st, &now);
	if (digest_key_eq(&now, k))
		serve_file_respond(r, d);
	else
		serve_file(r);
}

/* R's file is open: answer now when its digest is cached, else wait. */
static void
serve_file(struct serve_req *r)
{
	unsigned char d[DIGEST_LEN];
	char esc[LOG_ESCAPE_MAX], *what, *err = NULL;
	int got;

	log_escape(r->path, strlen(r->path), esc, sizeof esc);
	what = log_fmt("/%s", esc);
	got = digest_sched_get(r->s->sched, r->file, what, d, &r->w,
	    serve_file_ready, r, &err);
	free(what);
	if (got == 1)
		serve_file_respond(r, d);
	else if (got == -1) {
		log_info(1, "hashing: %s", err);
		free(err);
		serve_req_status(r, 500, NULL);
	}
}

/* R's listing is complete: answer with it and its digest. */
static void
serve_list_respond(struct serve_req *r)
{
	unsigned char d[DIGEST_LEN];
	char b64[DIGEST_B64_LEN], *body;
	struct httpd_conn *c = r->conn;
	struct http_head h;
	size_t len;

	body = fstree_list_take(r->list, &len);
	digest_final(r->ctx, d);
	http_base64_encode(d, DIGEST_LEN, b64, sizeof b64);
	http_head_begin(&h, 200, time(NULL));
	http_head_printf(&h, "Content-Type: %s; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nRepr-Digest: sha-256=:%s:\r\n"
	    "Cache-Control: no-cache\r\n", r->html ? "text/html" :
	    "text/plain", len, b64);
	serve_req_free(r);
	httpd_respond_buf(c, &h, body, len);
}

/*
 * A step of every listing under way, between polls; the text each step
 * adds is hashed at once, so the whole never is in one go.
 */
static void
serve_list_tick(struct loop *loop, void *arg)
{
	struct serve *s = arg;
	struct serve_req *r, *next;
	const char *text;
	size_t len;
	bool done;

	for (r = s->lists; r != NULL; r = next) {
		next = r->next;
		done = fstree_list_step(r->list);
		text = fstree_list_text(r->list, &len);
		if (len > r->hashed) {
			digest_update(r->ctx, text + r->hashed,
			    len - r->hashed);
			r->hashed = len;
		}
		if (done)
			serve_list_respond(r);
	}
	if (s->lists != NULL)
		loop_timer_arm(loop, &s->list_tick, loop_now());
}

/* R asks for the listing of directory DFD (taken) beneath ROOT. */
static void
serve_list(struct serve_req *r, const struct fstree_root *root, int dfd)
{
	struct serve *s = r->s;

	r->html = http_accepts_html(r->rq->accept);
	r->list = fstree_list_new(s->tree, r->path, root, dfd, r->html);
	r->ctx = digest_new();
	r->next = s->lists;
	s->lists = r;
	loop_timer_arm(s->loop, &s->list_tick, loop_now());
}

/* --raw: the FILE, as it is now, to the client that just connected. */
static void
serve_raw(struct serve *s, struct httpd_conn *c)
{
	struct stat st;
	int fd;

	fd = open(s->spec.raw_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1 || fstat(fd, &st) == -1) {
		log_error("%s: %s", s->spec.raw_path, strerror(errno));
		if (fd != -1)
			close(fd);
		httpd_abort(c);
		return;
	}
	httpd_respond_file(c, NULL, fd, 0, st.st_size);
}

/*
 * A directory asked for without its final "/": 301 to the name with it,
 * so that the relative links of its index.html work.
 */
static void
serve_redirect_dir(struct httpd_conn *c, const char *path,
    struct http_str target)
{
	char *enc = http_encode_path(path, strlen(path), true), *loc;
	const char *q = memchr(target.p, '?', target.len);
	int qlen = q ? (int)(target.p + target.len - q) : 0;

	/* the query goes along (the request line has no control bytes) */
	loc = log_fmt("Location: /%s/%.*s\r\n", enc, qlen, q ? q : "");
	httpd_respond_status(c, 301, loc);
	free(loc);
	free(enc);
}

/*
 * The index.html of directory PATH, open on *FD, when it has one and
 * --no-index is not given; its path is then in *INDEX.
 */
static bool
serve_index(struct serve *s, const char *path, int *fd, char **index)
{
	const struct fstree_root *root;

	if (s->spec.no_index)
		return false;
	*index = path[0] ? log_fmt("%s/index.html", path) :
	    xstrdup("index.html");
	if (fstree_lookup(s->tree, *index, fd, &root) == FSTREE_FILE)
		return true;
	if (*fd != -1)
		close(*fd);
	free(*index);
	*index = NULL;
	return false;
}

/* The handler: answer RQ on C, or (NULL) send --raw's FILE. */
static void
serve_request(void *arg, struct httpd_conn *c, const struct http_request *rq)
{
	static const int status[] = {
		[FSTREE_NONE] = 404, [FSTREE_FORBIDDEN] = 403,
		[FSTREE_ERROR] = 500
	};
	struct serve *s = arg;
	const struct fstree_root *root;
	enum fstree_found found;
	struct serve_req *r;
	enum http_path pr;
	char *path, *index;
	bool dir;
	int fd, ifd;

	if (rq == NULL) {
		serve_raw(s, c);
		return;
	}
	if (rq->method == HTTP_PUT && s->spec.upload) {
		serve_put(s->tree, &s->spec, c, rq);
		return;
	}
	if (rq->method != HTTP_GET && rq->method != HTTP_HEAD) {
		httpd_respond_status(c, 405, s->spec.upload ?
		    "Allow: GET, HEAD, PUT\r\n" : "Allow: GET, HEAD\r\n");
		return;
	}
	pr = http_target_path(rq->target, &path, &dir);
	if (pr != HTTP_PATH_OK) {
		httpd_respond_status(c, pr == HTTP_PATH_BAD ? 400 : 403, NULL);
		return;
	}
	found = fstree_lookup(s->tree, path, &fd, &root);
	if (found != FSTREE_FILE && found != FSTREE_DIR) {
		free(path);
		httpd_respond_status(c, status[found], NULL);
		return;
	}
	if (found == FSTREE_DIR && !dir) {
		if (fd != -1)
			close(fd);
		serve_redirect_dir(c, path, rq->target);
		free(path);
		return;
	}
	if (found == FSTREE_DIR && serve_index(s, path, &ifd, &index)) {
		if (fd != -1)
			close(fd);
		free(path);
		path = index;
		fd = ifd;
		found = FSTREE_FILE;
	}
	r = xcalloc(1, sizeof *r);
	r->kind = SERVE_GET;
	r->s = s;
	r->conn = c;
	r->rq = rq;
	r->path = path;
	r->file = -1;
	httpd_conn_set_data(c, r);
	if (found == FSTREE_FILE) {
		r->file = fd;
		serve_file(r);
	} else
		serve_list(r, root, fd);
}

/* C is gone before its answer: stop waiting for it. */
static void
serve_cancel(void *arg, struct httpd_conn *c)
{
	enum serve_kind *kind = httpd_conn_data(c);

	(void)arg;
	if (kind != NULL && *kind == SERVE_PUT)
		serve_put_cancel((struct serve_put *)kind);
	else if (kind != NULL)
		serve_req_free((struct serve_req *)kind);
}

/* --count is reached and every response is out. */
static void
serve_done(void *arg, int status)
{
	struct serve *s = arg;

	loop_stop(s->loop, status);
}

/*
 * Answers from TREE (NULL with --raw, which sends SPEC's raw_path instead),
 * on LOOP, which serve_done() stops once the engine is done.
 */
struct serve *
serve_new(struct loop *loop, struct fstree *tree,
    const struct serve_spec *spec)
{
	struct serve *s = xcalloc(1, sizeof *s);

	s->loop = loop;
	s->tree = tree;
	s->spec = *spec;
	s->sched = digest_sched_new(loop);
	loop_timer_init(&s->list_tick, serve_list_tick, s);
	return s;
}

/*
 * Hash every FILE argument now, before readiness is reported, so no
 * client waits for it; one that cannot be hashed now is on its first
 * request.  Directories are hashed file by file on demand.  -1 with
 * *errp when a FILE cannot be opened.
 */
int
serve_prime(struct serve *s, char **errp)
{
	const char *path;
	uint64_t t0;
	size_t i;
	char *err = NULL;
	int fd;

	for (i = 0; s->tree && (path = fstree_file(s->tree, i)) != NULL; i++) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd == -1) {
			*errp = log_fmt("%s: %s", path, strerror(errno));
			return -1;
		}
		t0 = loop_now();
		if (digest_sched_prime(s->sched, fd, &err) == -1) {
			log_info(1, "%s: %s", path, err);
			free(err);
			err = NULL;
		} else
			log_info(2, "%s: hashed in %llu ms", path,
			    (unsigned long long)(loop_now() - t0));
		close(fd);
	}
	return 0;
}

/* The engine's handler for S: requests, cancellations, the end. */
void
serve_handler(struct serve *s, struct httpd_handler *h)
{
	memset(h, 0, sizeof *h);
	h->request = serve_request;
	h->cancel = serve_cancel;
	h->done = serve_done;
	h->arg = s;
}

/* After httpd_free(), which has cancelled every request. */
void
serve_free(struct serve *s)
{
	if (s == NULL)
		return;
	while (s->lists != NULL)
		serve_req_free(s->lists);
	loop_timer_disarm(s->loop, &s->list_tick);
	digest_sched_free(s->sched);
	free(s);
}
