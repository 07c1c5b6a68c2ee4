/*
 * serve.h - serve-file's answers to the HTTP server engine (httpd.h):
 * request paths looked up in the served tree (fstree.h); files answered
 * with their digest (once digest.h's scheduler has it), validators,
 * preconditions and ranges; directories with listings built a bounded
 * step per loop round; with --raw, the one FILE to every client.
 */
#ifndef SOCKT_SERVE_H
#define SOCKT_SERVE_H

#include "fstree.h"
#include "httpd.h"
#include "loop.h"

struct serve;

struct serve	*serve_new(struct loop *, struct fstree *, const char *);
int		 serve_prime(struct serve *, char **);
void		 serve_handler(struct serve *, struct httpd_handler *);
void		 serve_free(struct serve *);

#endif
