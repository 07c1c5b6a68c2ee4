/*
 * fstree.h - the tree serve-file serves: its FILE and DIR arguments
 * merged at "/", lookups of request paths that never leave it, and
 * directory listings built a slice at a time.
 *
 * A FILE argument is served at /BASENAME, a DIR argument's entries at
 * their paths beneath "/"; the first argument that has a name wins.
 * Beneath a DIR, a path is opened with openat2(RESOLVE_BENEATH), so ".."
 * and symbolic links leading out fail (403) while links inside the tree
 * work; on kernels without openat2() (or with FSTREE_NO_OPENAT2) it is
 * walked one component at a time with O_NOFOLLOW, and every symbolic link
 * fails.  Only regular files and directories are served: FIFOs, devices
 * and sockets are not there (404).  Paths come decoded and checked by
 * http_target_path(): relative, no "." or ".." components.
 *
 * Nothing here blocks on the network or knows the loop: a listing is
 * stepped by its caller, each step bounded (entries read, sorted, merged
 * or formatted), so that a directory of a million entries never holds up
 * the caller's other clients for long.
 */
#ifndef SOCKT_FSTREE_H
#define SOCKT_FSTREE_H

#include <stdbool.h>
#include <stddef.h>

#define FSTREE_NO_OPENAT2	0x01	/* walk with O_NOFOLLOW (tests) */

enum fstree_found {
	FSTREE_FILE,		/* a regular file, open for reading */
	FSTREE_DIR,		/* a directory, open for listing */
	FSTREE_NONE,		/* 404 */
	FSTREE_FORBIDDEN,	/* 403: leads out, or not permitted */
	FSTREE_ERROR		/* 500 */
};

struct fstree;
struct fstree_root;
struct fstree_list;

struct fstree	*fstree_new(unsigned);
int		 fstree_add(struct fstree *, const char *, char **);
const char	*fstree_file(const struct fstree *, size_t);
void		 fstree_free(struct fstree *);

enum fstree_found fstree_lookup(struct fstree *, const char *, int *,
		     const struct fstree_root **);
enum fstree_found fstree_lookup_updir(struct fstree *, const char *, int *);

struct fstree_list *fstree_list_new(struct fstree *, const char *,
		     const struct fstree_root *, int, bool);
bool		 fstree_list_step(struct fstree_list *);
const char	*fstree_list_text(const struct fstree_list *, size_t *);
char		*fstree_list_take(struct fstree_list *, size_t *);
void		 fstree_list_free(struct fstree_list *);

#endif
