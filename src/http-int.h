/*
 * http-int.h - helpers shared by http.c, httpurl.c, httpval.c and
 * httpbody.c; not for use outside them (http.h is the interface).
 */
#ifndef SOCKT_HTTP_INT_H
#define SOCKT_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

void		*http_alloc(size_t);
int		 http_hexval(unsigned char);
struct http_str	 http_str_make(const char *, size_t);
struct http_str	 http_str_trim(struct http_str);
bool		 http_list_next(struct http_str *, struct http_str *);
bool		 http_parse_u64(struct http_str, uint64_t *);

#endif
