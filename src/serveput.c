/*
 * serveput.c - serve-file --upload: a PUT request's body stored in the
 * served DIR, verified and published atomically, or nothing at all.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "fstree.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "serve.h"
#include "serveput.h"
#include "xmalloc.h"

#define SERVE_PUT_PREFIX	".sockt-upload-"
#define SERVE_PUT_SYNC		(8 * 1024 * 1024)	/* start writeback */

struct serve_put {
	enum serve_kind		 kind;		/* SERVE_PUT */
	const struct serve_spec	*spec;
	struct httpd_conn	*conn;
	const struct http_request *rq;
	char			*path;		/* decoded, relative */
	const char		*name;		/* its last component */
	int			 dfd;		/* the directory (O_PATH) */
	int			 fd;		/* the temporary file */
	char			*tmpname;	/* its name, or NULL (O_TMPFILE) */
	struct digest_ctx	*ctx;
	uint64_t		 size;		/* body bytes so far */
	uint64_t		 synced;	/* writeback started up to */
};

/* Forget P: the temporary file goes, nothing is left behind. */
static void
serve_put_free(struct serve_put *p)
{
	if (p->fd != -1)
		close(p->fd);
	if (p->tmpname != NULL)
		unlinkat(p->dfd, p->tmpname, 0);
	if (p->dfd != -1)
		close(p->dfd);
	free(p->tmpname);
	digest_free(p->ctx);
	free(p->path);
	free(p);
}

/* Answer P's request with STATUS (and FIELDS), leaving nothing. */
static void
serve_put_fail(struct serve_put *p, int status, const char *fields)
{
	struct httpd_conn *c = p->conn;

	serve_put_free(p);
	httpd_respond_status(c, status, fields);
}

/* The connection went away mid-body: nothing is stored. */
void
serve_put_cancel(struct serve_put *p)
{
	serve_put_free(p);
}

/* A random hidden name beside the target, into *NAMEP. */
static char *
serve_put_tmpname(void)
{
	static const char hex[] = "0123456789abcdef";
	char suffix[17];
	size_t i;

	for (i = 0; i < sizeof suffix - 1; i++)
		suffix[i] = hex[arc4random_uniform(16)];
	suffix[sizeof suffix - 1] = '\0';
	return log_fmt("%s%s", SERVE_PUT_PREFIX, suffix);
}

/*
 * The temporary file in P's directory: unnamed (O_TMPFILE) where the
 * filesystem can, else a hidden name.  -1 with errno.
 */
static int
serve_put_open_tmp(struct serve_put *p)
{
	int i;

	p->fd = openat(p->dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (p->fd != -1)
		return 0;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL &&
	    errno != ENOENT)
		return -1;
	for (i = 0; i < 16; i++) {
		p->tmpname = serve_put_tmpname();
		p->fd = openat(p->dfd, p->tmpname, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (p->fd != -1)
			return 0;
		free(p->tmpname);
		p->tmpname = NULL;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* The status for a failed write or publish with errno E. */
static int
serve_put_errno_status(int e)
{
	if (e == ENOSPC || e == EDQUOT)
		return 507;
	if (e == EACCES || e == EPERM || e == EROFS)
		return 403;
	if (e == ENAMETOOLONG)
		return 400;
	return 500;
}

/* Body bytes: written, hashed, and counted against --max-size. */
static int
serve_put_data(void *arg, const char *buf, size_t len)
{
	struct serve_put *p = arg;
	size_t off = 0;
	ssize_t n;

	if (p->spec->max_size > 0 && p->size + len > p->spec->max_size) {
		log_info(1, "%s: upload larger than --max-size %llu",
		    httpd_conn_name(p->conn),
		    (unsigned long long)p->spec->max_size);
		serve_put_fail(p, 413, NULL);
		return -1;
	}
	digest_update(p->ctx, buf, len);
	while (off < len) {
		n = write(p->fd, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_info(1, "%s: upload: %s", httpd_conn_name(p->conn),
			    strerror(errno));
			serve_put_fail(p, serve_put_errno_status(errno), NULL);
			return -1;
		}
		off += (size_t)n;
	}
	p->size += len;
	/* Start writing back now, so the final fsync() is short. */
	if (p->size - p->synced >= SERVE_PUT_SYNC) {
		(void)sync_file_range(p->fd, (off_t)p->synced,
		    (off_t)(p->size - p->synced), SYNC_FILE_RANGE_WRITE);
		p->synced = p->size;
	}
	return 0;
}

/*
 * Check one digest field V against D: 0 when it matches or names no
 * sha-256, -1 when it differs or is malformed.
 */
static int
serve_put_check(struct http_str v, const unsigned char *d)
{
	unsigned char want[DIGEST_LEN];
	int r;

	if (v.len == 0)
		return 0;
	r = http_repr_digest_sha256(v, want);
	if (r == 0)
		return 0;
	return r == 1 && memcmp(want, d, DIGEST_LEN) == 0 ? 0 : -1;
}

/*
 * Give the temporary file its name: never over an existing name, or with
 * --force only over a regular file.  *REPLACED says whether one was.
 * Returns 0, or the status to answer.
 */
static int
serve_put_publish(struct serve_put *p, bool *replaced)
{
	struct stat st;
	char proc[64];

	*replaced = false;
	if (p->tmpname == NULL && !p->spec->force) {
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", p->fd);
		if (linkat(AT_FDCWD, proc, p->dfd, p->name,
		    AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno == EEXIST)
			return 409;
		if (linkat(p->fd, "", p->dfd, p->name, AT_EMPTY_PATH) == 0)
			return 0;
		return errno == EEXIST ? 409 : serve_put_errno_status(errno);
	}
	if (p->tmpname == NULL) {
		/* --force: a name of its own first, then rename over */
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", p->fd);
		p->tmpname = serve_put_tmpname();
		if (linkat(AT_FDCWD, proc, p->dfd, p->tmpname,
		    AT_SYMLINK_FOLLOW) == -1 && linkat(p->fd, "", p->dfd,
		    p->tmpname, AT_EMPTY_PATH) == -1) {
			free(p->tmpname);
			p->tmpname = NULL;
			return serve_put_errno_status(errno);
		}
	}
	if (!p->spec->force) {
		if (renameat2(p->dfd, p->tmpname, p->dfd, p->name,
		    RENAME_NOREPLACE) == 0)
			goto published;
		if (errno == EEXIST)
			return 409;
		if (errno != EINVAL && errno != ENOSYS)
			return serve_put_errno_status(errno);
		if (linkat(p->dfd, p->tmpname, p->dfd, p->name, 0) == -1)
			return errno == EEXIST ? 409 :
			    serve_put_errno_status(errno);
		unlinkat(p->dfd, p->tmpname, 0);
		goto published;
	}
	if (fstatat(p->dfd, p->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st.st_mode))
			return 409;
		*replaced = true;
	}
	if (renameat(p->dfd, p->tmpname, p->dfd, p->name) == -1)
		return serve_put_errno_status(errno);
published:
	free(p->tmpname);
	p->tmpname = NULL;
	return 0;
}

/* The directory's entry is durable too. */
static void
serve_put_sync_dir(struct serve_put *p)
{
	int fd = openat(p->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd != -1) {
		(void)fsync(fd);
		close(fd);
	}
}

/*
 * The whole body is in: verify its digests (header and TRAILERS), make
 * it durable, publish it, answer 201 (200 when it replaced a file).
 */
static void
serve_put_end(void *arg, struct http_str trailers)
{
	struct serve_put *p = arg;
	struct httpd_conn *c = p->conn;
	unsigned char d[DIGEST_LEN];
	char b64[DIGEST_B64_LEN], *fields, *enc;
	struct http_str v;
	bool replaced;
	int status;

	digest_final(p->ctx, d);
	if (serve_put_check(p->rq->content_digest, d) == -1 ||
	    serve_put_check(p->rq->repr_digest, d) == -1 ||
	    (http_field_find(trailers, "content-digest", &v) &&
	    serve_put_check(v, d) == -1) ||
	    (http_field_find(trailers, "repr-digest", &v) &&
	    serve_put_check(v, d) == -1)) {
		log_info(1, "%s: upload digest mismatch", httpd_conn_name(c));
		serve_put_fail(p, 400, NULL);
		return;
	}
	if (fsync(p->fd) == -1) {
		serve_put_fail(p, serve_put_errno_status(errno), NULL);
		return;
	}
	if ((status = serve_put_publish(p, &replaced)) != 0) {
		serve_put_fail(p, status, NULL);
		return;
	}
	serve_put_sync_dir(p);
	http_base64_encode(d, DIGEST_LEN, b64, sizeof b64);
	enc = http_encode_path(p->path, strlen(p->path), true);
	fields = log_fmt("Repr-Digest: sha-256=:%s:\r\nLocation: /%s\r\n",
	    b64, enc);
	free(enc);
	serve_put_free(p);
	httpd_respond_status(c, replaced ? 200 : 201, fields);
	free(fields);
}

/*
 * Where PATH goes: its directory looked up beneath DIR, and its name not
 * taken (or, with --force, a regular file).  Returns 0 or the status.
 */
static int
serve_put_target(struct fstree *tree, struct serve_put *p)
{
	static const int status[] = {
		[FSTREE_NONE] = 404, [FSTREE_FORBIDDEN] = 403,
		[FSTREE_ERROR] = 500, [FSTREE_FILE] = 500
	};
	enum fstree_found f;
	struct stat st;
	char *slash, *dir;

	slash = strrchr(p->path, '/');
	p->name = slash ? slash + 1 : p->path;
	if (strncmp(p->name, SERVE_PUT_PREFIX, strlen(SERVE_PUT_PREFIX)) == 0)
		return 403;	/* the temporary files' own names */
	dir = slash ? xstrndup(p->path, (size_t)(slash - p->path)) :
	    xstrdup("");
	f = fstree_lookup_updir(tree, dir, &p->dfd);
	free(dir);
	if (f != FSTREE_DIR)
		return status[f];
	if (fstatat(p->dfd, p->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!p->spec->force || !S_ISREG(st.st_mode))
			return 409;
	} else if (errno != ENOENT)
		return serve_put_errno_status(errno);
	return 0;
}

/* A PUT of RQ on C into TREE (the one DIR): store its body, or refuse. */
void
serve_put(struct fstree *tree, const struct serve_spec *spec,
    struct httpd_conn *c, const struct http_request *rq)
{
	struct httpd_body body;
	struct serve_put *p;
	enum http_path pr;
	char *path;
	bool dir;
	int status;

	pr = http_target_path(rq->target, &path, &dir);
	if (pr != HTTP_PATH_OK) {
		httpd_respond_status(c, pr == HTTP_PATH_BAD ? 400 : 403, NULL);
		return;
	}
	if (dir) {
		free(path);
		httpd_respond_status(c, 405, "Allow: GET, HEAD\r\n");
		return;
	}
	if (spec->max_size > 0 && !rq->chunked &&
	    rq->content_length > spec->max_size) {
		free(path);
		httpd_respond_status(c, 413, NULL);
		return;
	}
	p = xcalloc(1, sizeof *p);
	p->kind = SERVE_PUT;
	p->spec = spec;
	p->conn = c;
	p->rq = rq;
	p->path = path;
	p->dfd = p->fd = -1;
	if ((status = serve_put_target(tree, p)) != 0) {
		serve_put_fail(p, status, NULL);
		return;
	}
	if (serve_put_open_tmp(p) == -1) {
		log_info(1, "%s: upload: %s", httpd_conn_name(c),
		    strerror(errno));
		serve_put_fail(p, serve_put_errno_status(errno), NULL);
		return;
	}
	p->ctx = digest_new();
	httpd_conn_set_data(c, p);
	memset(&body, 0, sizeof body);
	body.data = serve_put_data;
	body.end = serve_put_end;
	body.arg = p;
	httpd_read_body(c, &body);
}
