/*
 * serve.h - serve-file's answers to the HTTP server engine (httpd.h):
 * request paths looked up in the served tree (fstree.h); files answered
 * with their digest (once digest.h's scheduler has it), validators,
 * preconditions and ranges; directories with listings built a bounded
 * step per loop round, or a directory's index.html; with --raw, the
 * one FILE to every client.  With --upload, PUT requests are stored in
 * the tree (serveput.c).
 */
#ifndef SOCKT_SERVE_H
#define SOCKT_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "fstree.h"
#include "httpd.h"
#include "loop.h"
#include "mime.h"

struct serve;

struct serve_spec {
	const char		*raw_path;	/* --raw: the FILE */
	const struct mime	*mime;
	bool			 download;	/* attachment by default */
	bool			 no_index;
	bool			 upload;	/* PUT into the one DIR */
	bool			 force;		/* a PUT may replace a file */
	uint64_t		 max_size;	/* of a PUT body; 0: no limit */
};

struct serve	*serve_new(struct loop *, struct fstree *,
		     const struct serve_spec *);
int		 serve_prime(struct serve *, char **);
void		 serve_handler(struct serve *, struct httpd_handler *);
void		 serve_free(struct serve *);

#endif
