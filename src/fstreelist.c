/*
 * fstreelist.c - listings of the served tree's directories, built in
 * bounded steps: entries read a slice at a time, sorted in runs, the runs
 * merged a slice at a time, then formatted a slice at a time.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fstree.h"
#include "fstree-int.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"

#define FSTREE_SLICE	2048	/* entries read or formatted per step */
#define FSTREE_RUN	2048	/* entries sorted at once: a run per step */
#define FSTREE_MERGE	32768	/* entries merged per step */

struct fstree_entry {
	char	*name;
	size_t	 seq;		/* order read: the first of equal names wins */
	bool	 dir;
	int64_t	 size;
	time_t	 mtime;
};

enum fstree_phase {
	FSTREE_READ,		/* reading the directories */
	FSTREE_RUNS,		/* sorting runs of FSTREE_RUN entries */
	FSTREE_MERGING,		/* merging the runs, a pass at a time */
	FSTREE_FORMAT,		/* formatting the sorted entries */
	FSTREE_DONE
};

struct fstree_list {
	struct fstree		*tree;
	const struct fstree_root *root;	/* NULL: the top, every root */
	char			*path;		/* "" for the top */
	int			 dfd;		/* the directory; -1: the top */
	size_t			 next_root;	/* the top: the root to read next */
	bool			 opened;	/* a directory: it was opened */
	DIR			*d;		/* being read */
	const struct fstree_root *droot;	/* the root D is beneath */
	bool			 html;
	enum fstree_phase	 phase;
	struct fstree_entry	*v;		/* every entry */
	struct fstree_entry	*tmp;		/* merge passes write here */
	size_t			 n;
	size_t			 cap;
	size_t			 pos;		/* next run, or entry to format */
	size_t			 freed;		/* names [0, freed) are freed */
	size_t			 width;		/* merging: runs of this size */
	size_t			 lo, mid, hi;	/* the pair being merged */
	size_t			 i, j, k;
	bool			 in_pair;
	int			 pass;		/* HTML: directories, then files */
	struct http_listing	 hl;
};

static int
fstree_entry_cmp(const void *a, const void *b)
{
	const struct fstree_entry *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r != 0)
		return r;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
fstree_list_push(struct fstree_list *l, const char *name,
    const struct stat *st)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	l->v[l->n].name = xstrdup(name);
	l->v[l->n].seq = l->n;
	l->v[l->n].dir = S_ISDIR(st->st_mode);
	l->v[l->n].size = (int64_t)st->st_size;
	l->v[l->n].mtime = st->st_mtime;
	l->n++;
}

/*
 * The listing of directory DFD (taken) at PATH beneath ROOT, or of the
 * top when ROOT is NULL (DFD -1): every root, a FILE argument as an
 * entry itself.  HTML or text, as http_listing_begin() makes them.
 */
struct fstree_list *
fstree_list_new(struct fstree *t, const char *path,
    const struct fstree_root *root, int dfd, bool html)
{
	struct fstree_list *l = xcalloc(1, sizeof *l);

	l->tree = t;
	l->root = root;
	l->path = xstrdup(path);
	l->dfd = dfd;
	l->html = html;
	l->phase = FSTREE_READ;
	return l;
}

/*
 * Open the next directory L reads (the top: the next root, whose FILE
 * arguments are entries themselves).  False when there is none left.
 */
static bool
fstree_list_open_next(struct fstree_list *l)
{
	const struct fstree_root *r;
	struct stat st;
	int fd;

	for (;;) {
		if (l->root != NULL) {
			if (l->opened)
				return false;
			l->opened = true;
			r = l->root;
			fd = fcntl(l->dfd, F_DUPFD_CLOEXEC, 0);
		} else {
			if (l->next_root >= l->tree->nroots)
				return false;
			r = &l->tree->roots[l->next_root++];
			if (!r->dir) {
				if (stat(r->arg, &st) == 0 &&
				    S_ISREG(st.st_mode))
					fstree_list_push(l, r->name, &st);
				continue;
			}
			fd = openat(r->dirfd, ".", O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC);
		}
		if (fd == -1)
			continue;
		if ((l->d = fdopendir(fd)) == NULL) {
			close(fd);
			continue;
		}
		l->droot = r;
		return true;
	}
}

/*
 * Whether entry DE of the directory being read is listed, and its stat in
 * *ST: exactly what a request could fetch, regular files and directories.
 * Symbolic links (and filesystems without d_type) are resolved beneath
 * the root, as a request would be.
 */
static bool
fstree_list_wanted(struct fstree_list *l, const struct dirent *de,
    struct stat *st)
{
	char *sub;
	int efd;
	bool ok;

	if (de->d_type == DT_REG || de->d_type == DT_DIR)
		return fstatat(dirfd(l->d), de->d_name, st,
		    AT_SYMLINK_NOFOLLOW) == 0 && (S_ISREG(st->st_mode) ||
		    S_ISDIR(st->st_mode));
	if (de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
		return false;	/* devices, fifos, sockets: not served */
	sub = l->path[0] ? log_fmt("%s/%s", l->path, de->d_name) :
	    xstrdup(de->d_name);
	efd = fstree_open_beneath(l->tree, l->droot->dirfd, sub, O_PATH);
	free(sub);
	if (efd == -1)
		return false;
	ok = fstat(efd, st) == 0 && (S_ISREG(st->st_mode) ||
	    S_ISDIR(st->st_mode));
	close(efd);
	return ok;
}

/* Read up to FSTREE_SLICE entries; true when all are read. */
static bool
fstree_list_read(struct fstree_list *l)
{
	struct dirent *de;
	struct stat st;
	size_t budget;

	for (budget = FSTREE_SLICE; budget > 0; budget--) {
		if (l->d == NULL && !fstree_list_open_next(l))
			return true;
		if ((de = readdir(l->d)) == NULL) {
			closedir(l->d);
			l->d = NULL;
			continue;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstree_list_wanted(l, de, &st))
			fstree_list_push(l, de->d_name, &st);
	}
	return false;
}

/* Sort the next run of FSTREE_RUN entries; true when every run is. */
static bool
fstree_list_runs(struct fstree_list *l)
{
	size_t len;

	if (l->pos >= l->n)
		return true;
	len = l->n - l->pos < FSTREE_RUN ? l->n - l->pos : FSTREE_RUN;
	if (len > 1)
		qsort(l->v + l->pos, len, sizeof *l->v, fstree_entry_cmp);
	l->pos += len;
	return l->pos >= l->n;
}

/*
 * Merge sorted runs, FSTREE_MERGE entries per call: a bottom-up merge
 * sort whose state (the pass's run width, the pair being merged and the
 * positions in it) lives in L, so that sorting a million names never
 * holds the caller up for more than one bounded step.  True when sorted.
 */
static bool
fstree_list_merge(struct fstree_list *l)
{
	struct fstree_entry *t;
	size_t budget = FSTREE_MERGE;

	while (budget > 0) {
		if (l->width >= l->n)
			return true;
		if (!l->in_pair) {
			if (l->lo >= l->n) {	/* a pass is done */
				t = l->v;
				l->v = l->tmp;
				l->tmp = t;
				l->width *= 2;
				l->lo = 0;
				continue;
			}
			l->mid = l->n - l->lo > l->width ? l->lo + l->width :
			    l->n;
			l->hi = l->n - l->mid > l->width ? l->mid + l->width :
			    l->n;
			l->i = l->lo;
			l->j = l->mid;
			l->k = l->lo;
			l->in_pair = true;
		}
		for (; budget > 0 && l->k < l->hi; budget--) {
			if (l->j >= l->hi || (l->i < l->mid &&
			    fstree_entry_cmp(&l->v[l->i], &l->v[l->j]) < 0))
				l->tmp[l->k++] = l->v[l->i++];
			else
				l->tmp[l->k++] = l->v[l->j++];
		}
		if (l->k == l->hi) {
			l->in_pair = false;
			l->lo = l->hi;
		}
	}
	return l->width >= l->n;
}

/*
 * Format up to FSTREE_SLICE entries, the first of equal names only; HTML
 * in two passes over the sorted entries, directories first.
 */
static bool
fstree_list_format(struct fstree_list *l)
{
	struct fstree_entry *e;
	size_t i, end = l->pos + FSTREE_SLICE;
	bool last_pass = !l->html || l->pass == 1;

	if (end > l->n)
		end = l->n;
	for (i = l->pos; i < end; i++) {
		e = &l->v[i];
		if ((i == 0 || strcmp(e->name, l->v[i - 1].name) != 0) &&
		    (!l->html || e->dir == (l->pass == 0)))
			http_listing_add(&l->hl, e->name, e->dir, e->size,
			    e->mtime);
		/* Freed as it goes: a million at the end would stall too. */
		if (i > 0 && last_pass) {
			free(l->v[i - 1].name);
			l->freed = i;
		}
	}
	l->pos = end;
	if (end < l->n)
		return false;
	if (!last_pass) {
		l->pass = 1;
		l->pos = 0;
		return false;
	}
	return true;
}

/*
 * One bounded step of building L: read entries, sort a run, merge, or
 * format entries.  True once the listing is complete.
 */
bool
fstree_list_step(struct fstree_list *l)
{
	char *base;

	switch (l->phase) {
	case FSTREE_READ:
		if (fstree_list_read(l)) {
			l->phase = FSTREE_RUNS;
			l->pos = 0;
		}
		break;
	case FSTREE_RUNS:
		if (fstree_list_runs(l)) {
			l->phase = FSTREE_MERGING;
			l->width = FSTREE_RUN;
			if (l->n > l->width)
				l->tmp = xreallocarray(NULL, l->n,
				    sizeof *l->tmp);
		}
		break;
	case FSTREE_MERGING:
		if (fstree_list_merge(l)) {
			l->phase = FSTREE_FORMAT;
			l->pos = 0;
			base = l->path[0] ? log_fmt("/%s/", l->path) :
			    xstrdup("/");
			http_listing_begin(&l->hl, base, l->html);
			free(base);
		}
		break;
	case FSTREE_FORMAT:
		if (fstree_list_format(l)) {
			http_listing_end(&l->hl);
			l->phase = FSTREE_DONE;
		}
		break;
	case FSTREE_DONE:
		break;
	}
	return l->phase == FSTREE_DONE;
}

/* The text formatted so far (all of it once complete). */
const char *
fstree_list_text(const struct fstree_list *l, size_t *len)
{
	*len = l->hl.len;
	return l->hl.buf;
}

/* Take the complete text away from L (the caller frees it). */
char *
fstree_list_take(struct fstree_list *l, size_t *len)
{
	char *buf = l->hl.buf;

	*len = l->hl.len;
	l->hl.buf = NULL;
	l->hl.len = l->hl.cap = 0;
	return buf;
}

void
fstree_list_free(struct fstree_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	if (l->d != NULL)
		closedir(l->d);
	if (l->dfd != -1)
		close(l->dfd);
	for (i = l->freed; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	free(l->tmp);
	if (l->phase == FSTREE_FORMAT)
		http_listing_end(&l->hl);	/* frees its base */
	free(l->hl.buf);
	free(l->path);
	free(l);
}
