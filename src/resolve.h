/*
 * resolve.h - host name resolution that never blocks the loop: numeric
 * addresses are parsed at once, names go to getaddrinfo_a() (glibc's
 * resolver threads), whose completions come back through a pipe the
 * loop watches.  The loop itself stays one thread.
 *
 * resolve_start() never calls back from inside itself: the callback
 * runs from the loop with the addresses (the callee's to free with
 * freeaddrinfo()), or NULL and a getaddrinfo error code.
 * resolve_cancel() means no callback; the lookup may still run on and is
 * freed when it ends.  resolver_free() waits for the lookups still
 * running (they hold the pipe), so it may block at exit only.
 */
#ifndef SOCKT_RESOLVE_H
#define SOCKT_RESOLVE_H

#include <stdbool.h>

#include "loop.h"

struct addrinfo;
struct resolver;
struct resolve;

typedef void	 resolve_fn(void *, struct addrinfo *, int);

struct resolver	*resolver_new(struct loop *, char **);
void		 resolver_free(struct resolver *);
struct resolve	*resolve_start(struct resolver *, const char *, const char *,
		     int, bool, resolve_fn *, void *);
void		 resolve_cancel(struct resolve *);

#endif
