/*
 * fstree-int.h - what fstree.c (roots and lookups) and fstreelist.c
 * (listings) share; not for use outside them (fstree.h is the interface).
 */
#ifndef SOCKT_FSTREE_INT_H
#define SOCKT_FSTREE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "fstree.h"

/* One FILE or DIR argument. */
struct fstree_root {
	const char	*arg;
	bool		 dir;
	int		 dirfd;		/* DIR: O_PATH; -1 for a FILE */
	char		*name;		/* FILE: served at /NAME */
};

struct fstree {
	struct fstree_root	*roots;
	size_t			 nroots;
	bool			 no_openat2;	/* asked for, or the kernel
						   lacks it */
};

int	 fstree_open_beneath(struct fstree *, int, const char *, int);

#endif
