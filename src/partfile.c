/*
 * partfile.c - NAME.part of a download: open, resume, begin, commit
 * (fsync and rename) or abandon, under the rules of partfile.h.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "log.h"
#include "partfile.h"
#include "xmalloc.h"

#define PARTFILE_XATTR	"user.sockt.validator"
#define PARTFILE_READ	(256 * 1024)

/*
 * S escaped by log_escape() in a new string, never cut: names may come
 * from the server and must not reach the terminal raw.
 */
char *
partfile_escape(const char *s)
{
	size_t size = strlen(s) * 4 + 8;
	char *buf = xmalloc(size);

	log_escape(s, strlen(s), buf, size);
	return buf;
}

void
partfile_init(struct partfile *pf, bool force)
{
	memset(pf, 0, sizeof *pf);
	pf->fd = -1;
	pf->force = force;
}

/* What a file that is not regular is, for messages. */
static const char *
partfile_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "a special file";
}

/* Why what is at NAME (ST, its lstat()) stays; KEPT ends the message. */
static char *
partfile_refusal(const struct partfile *pf, const struct stat *st,
    const char *kept)
{
	if (!S_ISREG(st->st_mode))
		return log_fmt("%s: is %s; --force replaces regular files "
		    "only%s", pf->shown, partfile_kind(st->st_mode), kept);
	return log_fmt("%s: already exists (--force overwrites it)%s",
	    pf->shown, kept);
}

/*
 * Name the download NAME (under DIR when not NULL); fails when NAME
 * exists and may not be replaced.
 */
int
partfile_name(struct partfile *pf, const char *dir, const char *name,
    char **errp)
{
	struct stat st;

	free(pf->final);
	free(pf->path);
	free(pf->shown);
	free(pf->shown_part);
	pf->final = dir ? log_fmt("%s/%s", dir, name) : xstrdup(name);
	pf->path = log_fmt("%s.part", pf->final);
	pf->shown = partfile_escape(pf->final);
	pf->shown_part = partfile_escape(pf->path);
	if (lstat(pf->final, &st) == 0 && (!pf->force ||
	    !S_ISREG(st.st_mode))) {
		*errp = partfile_refusal(pf, &st, "");
		return -1;
	}
	return 0;
}

/*
 * Open NAME.part (creating it), lock it, and decide what it keeps: all
 * of it when MAY_RESUME, else nothing (emptied by partfile_begin()).
 */
int
partfile_open(struct partfile *pf, bool may_resume, char **errp)
{
	struct stat st;
	char buf[256];
	ssize_t n;
	int tries;

	/* Know whether this run created it: only then may it remove it. */
	for (tries = 0; tries < 10; tries++) {
		pf->fd = open(pf->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW |
		    O_NOCTTY);
		if (pf->fd != -1 || errno != ENOENT)
			break;
		pf->fd = open(pf->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW | O_NOCTTY, 0666);
		if (pf->fd != -1 || errno != EEXIST) {
			pf->created = pf->fd != -1;
			break;
		}
	}
	if (pf->fd == -1) {
		*errp = log_fmt("%s: %s", pf->shown_part, strerror(errno));
		return -1;
	}
	if (flock(pf->fd, LOCK_EX | LOCK_NB) == -1) {
		*errp = log_fmt("%s: %s", pf->shown_part, errno == EWOULDBLOCK ?
		    "another fetch is writing it" : strerror(errno));
		pf->created = false;	/* the other fetch's file */
		return -1;
	}
	if (fstat(pf->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*errp = log_fmt("%s: not a regular file", pf->shown_part);
		return -1;
	}
	pf->resume_from = may_resume ? (uint64_t)st.st_size : 0;
	pf->stale = pf->resume_from == 0 && st.st_size > 0;
	if (pf->resume_from > 0) {
		n = fgetxattr(pf->fd, PARTFILE_XATTR, buf, sizeof buf - 1);
		if (n > 0) {
			buf[n] = '\0';
			pf->validator = xstrdup(buf);
		}
	}
	return 0;
}

/* The server sends the whole file: start over, once a body begins. */
void
partfile_restart(struct partfile *pf)
{
	log_info(1, "%s: the server sent the whole file; starting over",
	    pf->shown);
	pf->resume_from = 0;
	pf->stale = true;
}

/* A body begins: empty a .part whose old bytes are not kept; seek. */
int
partfile_begin(struct partfile *pf, char **errp)
{
	if (pf->stale && ftruncate(pf->fd, 0) == -1)
		goto fail;
	pf->stale = false;
	if (lseek(pf->fd, (off_t)pf->resume_from, SEEK_SET) == -1)
		goto fail;
	return 0;
fail:
	*errp = log_fmt("%s: %s", pf->shown_part, strerror(errno));
	return -1;
}

/* Remember the server's validator V (LEN bytes, 0: none) on the .part. */
void
partfile_save_validator(struct partfile *pf, const char *v, size_t len)
{
	char *s;

	if (len == 0) {
		fremovexattr(pf->fd, PARTFILE_XATTR);
		return;
	}
	s = xstrndup(v, len);
	fsetxattr(pf->fd, PARTFILE_XATTR, s, len, 0);
	free(s);
}

/* Feed the bytes kept (resume_from) to CTX. */
int
partfile_hash_prefix(struct partfile *pf, struct digest_ctx *ctx,
    char **errp)
{
	uint64_t off = 0;
	size_t want;
	ssize_t n;
	char *buf;

	if (pf->resume_from == 0)
		return 0;
	buf = xmalloc(PARTFILE_READ);
	while (off < pf->resume_from) {
		want = PARTFILE_READ;
		if (want > pf->resume_from - off)
			want = (size_t)(pf->resume_from - off);
		n = pread(pf->fd, buf, want, (off_t)off);
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			*errp = log_fmt("%s: read: %s", pf->shown_part, n == 0 ?
			    "file shrank" : strerror(errno));
			free(buf);
			return -1;
		}
		digest_update(ctx, buf, (size_t)n);
		off += (uint64_t)n;
	}
	free(buf);
	return 0;
}

/*
 * Publish: check the length (TOTAL, -1: unknown), fsync, rename to NAME
 * (never over anything created meanwhile; with --force over a regular
 * file only), fsync the directory.
 */
int
partfile_commit(struct partfile *pf, int64_t total, char **errp)
{
	char *dir, *copy, *kept;
	struct stat st;
	int dfd;

	if (fstat(pf->fd, &st) == -1) {
		*errp = log_fmt("%s: %s", pf->shown_part, strerror(errno));
		return -1;
	}
	if (total >= 0 && st.st_size != total) {
		*errp = log_fmt("%s: %lld bytes, expected %lld", pf->shown_part,
		    (long long)st.st_size, (long long)total);
		return -1;
	}
	if (fsync(pf->fd) == -1) {
		*errp = log_fmt("%s: fsync: %s", pf->shown_part,
		    strerror(errno));
		return -1;
	}
	fremovexattr(pf->fd, PARTFILE_XATTR);
	if (renameat2(AT_FDCWD, pf->path, AT_FDCWD, pf->final,
	    RENAME_NOREPLACE) == -1) {
		if (errno != EINVAL && errno != EEXIST)
			goto fail;
		if (lstat(pf->final, &st) == 0) {
			if (!pf->force || !S_ISREG(st.st_mode)) {
				kept = log_fmt("; the download is in %s",
				    pf->shown_part);
				*errp = partfile_refusal(pf, &st, kept);
				free(kept);
				return -1;
			}
		} else if (errno != ENOENT)
			goto fail;
		if (rename(pf->path, pf->final) == -1)
			goto fail;
	}
	copy = xstrdup(pf->final);
	dir = dirname(copy);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd != -1) {
		fsync(dfd);
		close(dfd);
	}
	free(copy);
	return 0;
fail:
	*errp = log_fmt("rename %s: %s", pf->shown_part, strerror(errno));
	return -1;
}

/*
 * The fetch failed: a .part this run created and never wrote to goes,
 * but only while the name is still that file; an earlier .part stays.
 */
void
partfile_abandon(struct partfile *pf)
{
	struct stat st, lst;

	if (!pf->created || pf->fd == -1)
		return;
	if (fstat(pf->fd, &st) == 0 && st.st_size == 0 &&
	    lstat(pf->path, &lst) == 0 && lst.st_dev == st.st_dev &&
	    lst.st_ino == st.st_ino)
		unlink(pf->path);
}

/* Remove the .part whatever it holds (a digest mismatch). */
void
partfile_remove(struct partfile *pf)
{
	if (pf->path != NULL)
		unlink(pf->path);
}

void
partfile_free(struct partfile *pf)
{
	if (pf->fd != -1)
		close(pf->fd);
	free(pf->final);
	free(pf->path);
	free(pf->shown);
	free(pf->shown_part);
	free(pf->validator);
	partfile_init(pf, pf->force);
}
