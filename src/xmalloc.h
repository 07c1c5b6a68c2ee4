/*
 * xmalloc.h - the one allocation-failure policy of sockt: running out of
 * memory is not a condition sockt recovers from, so these print
 * "sockt: out of memory" and abort instead of returning NULL.  Memory
 * that a peer can make sockt allocate is bounded before it is asked for,
 * never by a failing malloc().
 */
#ifndef SOCKT_XMALLOC_H
#define SOCKT_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

#endif
