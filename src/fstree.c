/*
 * fstree.c - serve-file's tree: the FILE and DIR arguments, and lookups
 * that stay beneath them.  Listings are in fstreelist.c.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fstree.h"
#include "fstree-int.h"
#include "log.h"
#include "xmalloc.h"

#define FSTREE_TRIES	1024	/* openat2() failing with EAGAIN */

/* A tree with no roots yet; FLAGS: FSTREE_NO_OPENAT2. */
struct fstree *
fstree_new(unsigned flags)
{
	struct fstree *t = xcalloc(1, sizeof *t);

	t->no_openat2 = (flags & FSTREE_NO_OPENAT2) != 0;
	return t;
}

/*
 * Add ARG (kept, not copied), a regular file or a directory, as the next
 * root.  Returns -1 with *errp when it is neither or cannot be opened.
 */
int
fstree_add(struct fstree *t, const char *arg, char **errp)
{
	struct fstree_root *r;
	struct stat st;
	char *copy;

	if (stat(arg, &st) == -1) {
		*errp = log_fmt("%s: %s", arg, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
		*errp = log_fmt("%s: not a regular file or directory", arg);
		return -1;
	}
	t->roots = xreallocarray(t->roots, t->nroots + 1, sizeof *t->roots);
	r = &t->roots[t->nroots];
	memset(r, 0, sizeof *r);
	r->arg = arg;
	r->dirfd = -1;
	if (S_ISDIR(st.st_mode)) {
		r->dir = true;
		r->dirfd = open(arg, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (r->dirfd == -1) {
			*errp = log_fmt("%s: %s", arg, strerror(errno));
			return -1;
		}
	} else {
		copy = xstrdup(arg);
		r->name = xstrdup(basename(copy));
		free(copy);
	}
	t->nroots++;
	return 0;
}

/* The Ith FILE argument (DIR arguments skipped), NULL past the last. */
const char *
fstree_file(const struct fstree *t, size_t i)
{
	size_t k;

	for (k = 0; k < t->nroots; k++)
		if (!t->roots[k].dir && i-- == 0)
			return t->roots[k].arg;
	return NULL;
}

void
fstree_free(struct fstree *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nroots; i++) {
		if (t->roots[i].dirfd != -1)
			close(t->roots[i].dirfd);
		free(t->roots[i].name);
	}
	free(t->roots);
	free(t);
}

/*
 * The walk of kernels without openat2(): one component at a time, each
 * with O_NOFOLLOW, so that every symbolic link fails with ELOOP.
 */
static int
fstree_walk(int dirfd, const char *path, int flags)
{
	char *copy, *comp, *next, *save = NULL;
	struct stat st;
	int fd, cur, saved;

	copy = xstrdup(path);
	cur = dirfd;
	for (comp = strtok_r(copy, "/", &save); comp != NULL; comp = next) {
		next = strtok_r(NULL, "/", &save);
		if (next != NULL)
			fd = openat(cur, comp, O_PATH | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		else
			fd = openat(cur, comp, flags | O_NOFOLLOW);
		saved = errno;
		if (fd == -1 && (saved == ENOTDIR || saved == ELOOP) &&
		    fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			saved = ELOOP;
		else if (fd != -1 && (flags & O_PATH) && fstat(fd, &st) == 0 &&
		    S_ISLNK(st.st_mode)) {
			close(fd);
			fd = -1;
			saved = ELOOP;
		}
		if (cur != dirfd)
			close(cur);
		if (fd == -1) {
			free(copy);
			errno = saved;
			return -1;
		}
		cur = fd;
	}
	free(copy);
	if (cur == dirfd) {
		errno = ENOENT;
		return -1;
	}
	return cur;
}

/*
 * Open PATH beneath DIRFD with FLAGS, never leaving the tree: openat2()
 * with RESOLVE_BENEATH (symlinks inside the tree work, ".." and symlinks
 * leading out fail with EXDEV), or the O_NOFOLLOW walk.
 */
int
fstree_open_beneath(struct fstree *t, int dirfd, const char *path, int flags)
{
	struct open_how how;
	long r;
	int tries;

	/* openat2() refuses O_PATH with anything but these. */
	flags |= O_CLOEXEC;
	if ((flags & O_PATH) == 0)
		flags |= O_NOCTTY | O_NONBLOCK;
	if (!t->no_openat2) {
		memset(&how, 0, sizeof how);
		how.flags = (uint64_t)flags;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		/*
		 * With a ".." on the way (a symlink's target counts), a
		 * rename anywhere in the system meanwhile makes openat2()
		 * fail with EAGAIN, to be retried (openat2(2)).  Under a
		 * storm of renames on another CPU, yielding lets a walk
		 * of many components finish between two of them.
		 */
		tries = 0;
		for (;;) {
			r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
			if (r != -1 || errno != EAGAIN ||
			    ++tries >= FSTREE_TRIES)
				break;
			if (tries > 8)
				sched_yield();
		}
		if (r >= 0 || errno != ENOSYS)
			return (int)r;
		t->no_openat2 = true;
		log_info(1, "openat2: not available, symlinks are not "
		    "followed");
	}
	return fstree_walk(dirfd, path, flags);
}

/* What an open's errno means for the client. */
static enum fstree_found
fstree_errno_found(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
		return FSTREE_NONE;
	case EXDEV:
	case ELOOP:
	case EACCES:
	case EPERM:
		return FSTREE_FORBIDDEN;
	default:
		return FSTREE_ERROR;
	}
}

/*
 * PATH as the FILE argument R.  *NEXT is set when R does not have it, so
 * a later root may.
 */
static enum fstree_found
fstree_lookup_file(const struct fstree_root *r, const char *path, int *fd,
    bool *next)
{
	struct stat st;
	int rfd;

	*next = true;
	if (strcmp(path, r->name) != 0)
		return FSTREE_NONE;
	rfd = open(r->arg, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (rfd == -1) {
		if (errno == ENOENT)
			return FSTREE_NONE;
		*next = false;
		return fstree_errno_found(errno);
	}
	if (fstat(rfd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(rfd);
		return FSTREE_NONE;
	}
	*next = false;
	*fd = rfd;
	return FSTREE_FILE;
}

/* PATH beneath the DIR argument R; *NEXT as for fstree_lookup_file(). */
static enum fstree_found
fstree_lookup_dir(struct fstree *t, const struct fstree_root *r,
    const char *path, int *fd, bool *next)
{
	struct stat st, st2;
	int pfd, rfd;

	*next = true;
	if ((pfd = fstree_open_beneath(t, r->dirfd, path, O_PATH)) == -1) {
		*next = fstree_errno_found(errno) == FSTREE_NONE;
		return fstree_errno_found(errno);
	}
	if (fstat(pfd, &st) == -1) {
		close(pfd);
		*next = false;
		return FSTREE_ERROR;
	}
	close(pfd);
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return FSTREE_NONE;	/* devices, fifos, sockets */
	/* Open for real, and make sure it is still what was checked. */
	*next = false;
	rfd = fstree_open_beneath(t, r->dirfd, path, O_RDONLY |
	    (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
	if (rfd == -1)
		return fstree_errno_found(errno);
	if (fstat(rfd, &st2) == -1 || st2.st_dev != st.st_dev ||
	    st2.st_ino != st.st_ino) {
		close(rfd);
		return FSTREE_NONE;
	}
	*fd = rfd;
	return S_ISDIR(st.st_mode) ? FSTREE_DIR : FSTREE_FILE;
}

/*
 * Look PATH ("" for the top) up in the roots, in argument order.  A
 * regular file: *FD open for reading.  A directory: *FD open for listing
 * and *ROOTP the root it is beneath (the top has *FD -1 and *ROOTP NULL:
 * every root is listed).  Anything else is not served.
 */
enum fstree_found
fstree_lookup(struct fstree *t, const char *path, int *fd,
    const struct fstree_root **rootp)
{
	const struct fstree_root *r;
	enum fstree_found f;
	size_t i;
	bool next;

	*fd = -1;
	*rootp = NULL;
	if (path[0] == '\0')
		return FSTREE_DIR;
	for (i = 0; i < t->nroots; i++) {
		r = &t->roots[i];
		if (r->dir)
			f = fstree_lookup_dir(t, r, path, fd, &next);
		else
			f = fstree_lookup_file(r, path, fd, &next);
		if (next)
			continue;
		if (f == FSTREE_FILE || f == FSTREE_DIR)
			*rootp = r;
		return f;
	}
	return FSTREE_NONE;
}

/*
 * The directory PATH ("" for the top) beneath the first root, which
 * --upload makes the one DIR, open (O_PATH) on *FD for storing a file in
 * it, by the same rules as every lookup.
 */
enum fstree_found
fstree_lookup_updir(struct fstree *t, const char *path, int *fd)
{
	*fd = -1;
	if (t->nroots == 0 || !t->roots[0].dir)
		return FSTREE_ERROR;
	if (path[0] == '\0')
		*fd = fcntl(t->roots[0].dirfd, F_DUPFD_CLOEXEC, 0);
	else
		*fd = fstree_open_beneath(t, t->roots[0].dirfd, path,
		    O_PATH | O_DIRECTORY);
	return *fd == -1 ? fstree_errno_found(errno) : FSTREE_DIR;
}
