/*
 * mime.h - content types from file name extensions: a built-in table of
 * the common types, completed by /etc/mime.types when it is there (read
 * once, at start).  Text types carry "; charset=utf-8".
 */
#ifndef SOCKT_MIME_H
#define SOCKT_MIME_H

#include <stdbool.h>

struct mime;

struct mime	*mime_new(const char *);
const char	*mime_type(const struct mime *, const char *, bool *);
void		 mime_free(struct mime *);

#endif
