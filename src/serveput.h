/*
 * serveput.h - serve-file --upload: a PUT request stored in the served
 * DIR (design.md section 8).  The body streams into a hidden temporary
 * file beside its target, is hashed as it arrives, checked against a
 * Content-Digest or Repr-Digest (header or trailer), fsynced and then
 * published under its name by an atomic link or rename that never
 * replaces anything but, with --force, a regular file.  An upload that
 * fails or is cut leaves nothing.
 */
#ifndef SOCKT_SERVEPUT_H
#define SOCKT_SERVEPUT_H

#include "fstree.h"
#include "http.h"
#include "httpd.h"
#include "loop.h"
#include "serve.h"

/* What a connection's handler data is: the first member of each. */
enum serve_kind { SERVE_GET, SERVE_PUT };

struct serve_put;

void	 serve_put(struct fstree *, const struct serve_spec *,
	     struct httpd_conn *, const struct http_request *);
void	 serve_put_cancel(struct serve_put *);

#endif
