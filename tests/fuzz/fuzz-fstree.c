/*
 * fuzz-fstree.c - libFuzzer harness for serve-file's path containment:
 * arbitrary request targets go through the decoding and the lookup
 * serve-file uses (http_target_path(), fstree_lookup()) in a real tree
 * full of symbolic links leading in and out, and the harness aborts if
 * anything outside the tree is ever opened, if something other than a
 * regular file or directory is, or if a listing names an entry that a
 * request could not fetch.
 *
 * Input: the first byte picks the resolution (bit 0: the O_NOFOLLOW walk
 * of kernels without openat2(); bit 1: list what is found), the rest is
 * the request target.  The tree is built once per process in a
 * temporary directory:
 *
 *   outside/secret, outside/dir/x        never to be opened
 *   top.txt                              a FILE argument
 *   root/ (a DIR argument) with files, subdirectories, links in (rel-in,
 *       sub/up-in, sub/self, sub/root-up), links out (rel-out, abs-out,
 *       dir-out, sub/to-base, dev-null, proc-root), a loop, a FIFO
 *   root2/ (a second DIR argument) sharing some names with root/
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fstree.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MAX_INSIDE	64

struct fuzz_id {
	dev_t	dev;
	ino_t	ino;
};

static char		 fuzz_base[64];
static struct fuzz_id	 fuzz_inside[FUZZ_MAX_INSIDE];
static size_t		 fuzz_ninside;
static struct fstree	*fuzz_trees[2];
static char		*fuzz_args[3];

static void
fuzz_die(const char *what, const char *path)
{
	fprintf(stderr, "fuzz-fstree: %s: %s\n", what, path);
	abort();
}

static void
fuzz_file(const char *rel, const char *text)
{
	char path[256];
	int fd;

	snprintf(path, sizeof path, "%s/%s", fuzz_base, rel);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		fuzz_die("cannot create", path);
	close(fd);
}

static void
fuzz_dir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof path, "%s/%s", fuzz_base, rel);
	if (mkdir(path, 0755) == -1)
		fuzz_die("cannot mkdir", path);
}

static void
fuzz_link(const char *target, const char *rel)
{
	char path[256], abs[256];

	snprintf(path, sizeof path, "%s/%s", fuzz_base, rel);
	if (target[0] == '@') {		/* "@x": the absolute path of x */
		snprintf(abs, sizeof abs, "%s/%s", fuzz_base, target + 1);
		target = abs;
	}
	if (symlink(target, path) == -1)
		fuzz_die("cannot symlink", path);
}

/* Remember the identity of what REL is, not following a link. */
static void
fuzz_inside_add(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		fuzz_die("cannot lstat", path);
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return;
	if (fuzz_ninside == FUZZ_MAX_INSIDE)
		fuzz_die("too many files", path);
	fuzz_inside[fuzz_ninside].dev = st.st_dev;
	fuzz_inside[fuzz_ninside].ino = st.st_ino;
	fuzz_ninside++;
}

static int
fuzz_walk_inside(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	fuzz_inside_add(path);
	return 0;
}

static int
fuzz_walk_remove(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void
fuzz_cleanup(void)
{
	nftw(fuzz_base, fuzz_walk_remove, 16, FTW_DEPTH | FTW_PHYS);
}

/* A sanity check of the setup: PATH must be found as F. */
static void
fuzz_expect(struct fstree *t, const char *path, enum fstree_found f)
{
	const struct fstree_root *root;
	int fd;

	if (fstree_lookup(t, path, &fd, &root) != f)
		fuzz_die("not found as expected", path);
	if (fd != -1)
		close(fd);
}

static void
fuzz_setup(void)
{
	char path[256];
	size_t i;
	char *err = NULL;

	strcpy(fuzz_base, "/tmp/fuzz-fstree.XXXXXX");
	if (mkdtemp(fuzz_base) == NULL)
		fuzz_die("mkdtemp", fuzz_base);
	atexit(fuzz_cleanup);
	fuzz_dir("outside");
	fuzz_dir("outside/dir");
	fuzz_file("outside/secret", "SECRET");
	fuzz_file("outside/dir/x", "SECRET");
	fuzz_file("top.txt", "top");
	fuzz_dir("root");
	fuzz_dir("root/sub");
	fuzz_dir("root/sub/deeper");
	fuzz_file("root/a", "a");
	fuzz_file("root/same", "root's");
	fuzz_file("root/sub/b", "b");
	fuzz_file("root/sub/deeper/c", "c");
	fuzz_link("a", "root/rel-in");
	fuzz_link("../a", "root/sub/up-in");
	fuzz_link(".", "root/sub/self");
	fuzz_link("..", "root/sub/root-up");
	fuzz_link("deeper/../b", "root/sub/dotted-in");
	fuzz_link("../outside/secret", "root/rel-out");
	fuzz_link("@outside/secret", "root/abs-out");
	fuzz_link("../outside", "root/dir-out");
	fuzz_link("../../outside/dir", "root/sub/dir-out2");
	fuzz_link("../..", "root/sub/to-base");
	fuzz_link("@root/a", "root/abs-in");	/* absolute: out, by rule */
	fuzz_link("/dev/null", "root/dev-null");
	fuzz_link("/proc/self/root", "root/proc-root");
	fuzz_link("/proc/self/cwd", "root/proc-cwd");
	fuzz_link("loop", "root/loop");
	fuzz_link("../top.txt", "root/top-out");
	snprintf(path, sizeof path, "%s/root/fifo", fuzz_base);
	if (mkfifo(path, 0644) == -1)
		fuzz_die("mkfifo", path);
	fuzz_dir("root2");
	fuzz_file("root2/same", "root2's");
	fuzz_file("root2/only2", "only2");
	fuzz_link("../root/a", "root2/cross");	/* beneath root2: out */

	snprintf(path, sizeof path, "%s/root", fuzz_base);
	nftw(path, fuzz_walk_inside, 16, FTW_PHYS);
	snprintf(path, sizeof path, "%s/root2", fuzz_base);
	nftw(path, fuzz_walk_inside, 16, FTW_PHYS);
	snprintf(path, sizeof path, "%s/top.txt", fuzz_base);
	fuzz_inside_add(path);

	if (asprintf(&fuzz_args[0], "%s/top.txt", fuzz_base) == -1 ||
	    asprintf(&fuzz_args[1], "%s/root", fuzz_base) == -1 ||
	    asprintf(&fuzz_args[2], "%s/root2", fuzz_base) == -1)
		abort();
	for (i = 0; i < 2; i++) {
		fuzz_trees[i] = fstree_new(i ? FSTREE_NO_OPENAT2 : 0);
		if (fstree_add(fuzz_trees[i], fuzz_args[0], &err) == -1 ||
		    fstree_add(fuzz_trees[i], fuzz_args[1], &err) == -1 ||
		    fstree_add(fuzz_trees[i], fuzz_args[2], &err) == -1)
			fuzz_die("fstree_add", err);
	}
	/* The harness must see the tree: what is inside is found. */
	fuzz_expect(fuzz_trees[0], "sub/self/up-in", FSTREE_FILE);
	fuzz_expect(fuzz_trees[0], "same", FSTREE_FILE);
	fuzz_expect(fuzz_trees[1], "sub/deeper/c", FSTREE_FILE);
	fuzz_expect(fuzz_trees[1], "sub/up-in", FSTREE_FORBIDDEN);
	fuzz_expect(fuzz_trees[0], "rel-out", FSTREE_FORBIDDEN);
	fuzz_expect(fuzz_trees[0], "top.txt", FSTREE_FILE);
	fuzz_expect(fuzz_trees[0], "only2", FSTREE_FILE);
	fuzz_expect(fuzz_trees[0], "fifo", FSTREE_NONE);
}

/* Abort unless FD (what PATH opened) is a file or directory inside. */
static void
fuzz_check(int fd, enum fstree_found f, const char *path)
{
	struct stat st;
	size_t i;

	if (fstat(fd, &st) == -1)
		fuzz_die("fstat failed on what was opened for", path);
	if (f == FSTREE_FILE && !S_ISREG(st.st_mode))
		fuzz_die("not a regular file", path);
	if (f == FSTREE_DIR && !S_ISDIR(st.st_mode))
		fuzz_die("not a directory", path);
	for (i = 0; i < fuzz_ninside; i++)
		if (fuzz_inside[i].dev == st.st_dev &&
		    fuzz_inside[i].ino == st.st_ino)
			return;
	fuzz_die("opened outside the tree", path);
}

static enum fstree_found
fuzz_lookup(struct fstree *t, const char *path, int *fd,
    const struct fstree_root **root)
{
	enum fstree_found f = fstree_lookup(t, path, fd, root);

	if ((f == FSTREE_FILE || f == FSTREE_DIR) && *fd != -1)
		fuzz_check(*fd, f, path);
	else if (*fd != -1)
		fuzz_die("an fd for a failed lookup", path);
	return f;
}

/*
 * List directory DFD at PATH and look every entry up: each one listed
 * must be fetchable, and inside.
 */
static void
fuzz_list(struct fstree *t, const char *path, const struct fstree_root *root,
    int dfd)
{
	struct fstree_list *l = fstree_list_new(t, path, root, dfd, false);
	const struct fstree_root *r2;
	enum fstree_found f;
	char *text, *line, *save = NULL, *sub;
	size_t len, n;
	int fd;

	while (!fstree_list_step(l))
		;
	text = fstree_list_take(l, &len);
	fstree_list_free(l);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		n = strlen(line);
		if (n > 0 && line[n - 1] == '/')
			line[--n] = '\0';
		if (asprintf(&sub, "%s%s%s", path, path[0] ? "/" : "",
		    line) == -1)
			abort();
		f = fuzz_lookup(t, sub, &fd, &r2);
		if (f != FSTREE_FILE && f != FSTREE_DIR)
			fuzz_die("listed but not fetchable", sub);
		if (fd != -1)
			close(fd);
		free(sub);
	}
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fstree_root *root;
	struct http_str target;
	struct fstree *t;
	enum fstree_found f;
	char *path;
	bool dir;
	int fd;

	if (fuzz_base[0] == '\0')
		fuzz_setup();
	if (size < 1)
		return 0;
	t = fuzz_trees[data[0] & 1];
	target.p = (const char *)data + 1;
	target.len = size - 1;
	if (http_target_path(target, &path, &dir) != HTTP_PATH_OK)
		return 0;
	f = fuzz_lookup(t, path, &fd, &root);
	if (f == FSTREE_DIR && (data[0] & 2))
		fuzz_list(t, path, root, fd);	/* takes FD */
	else if (fd != -1)
		close(fd);
	free(path);
	return 0;
}
