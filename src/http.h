/*
 * http.h - the HTTP/1.1 subset of serve-file and fetch-file (RFC 9110,
 * RFC 9112): request and response heads, byte ranges, request targets and
 * URLs, percent-encoding, dates, base64, Repr-Digest (RFC 9530), chunked
 * bodies, listings and safe file names.
 *
 * Everything here is a pure function over buffers: no I/O, no globals, so
 * each parser can be fuzzed on its own.  Parsed strings are slices into
 * the caller's buffer (struct http_str), valid while that buffer is.
 * Functions that allocate return NULL only for input they reject; they
 * abort when memory is exhausted, like log_fmt().
 */
#ifndef SOCKT_HTTP_H
#define SOCKT_HTTP_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HTTP_MAX_LINE	8192	/* request line; longer gets 414 */
#define HTTP_MAX_HEAD	16384	/* whole request head; longer gets 431 */
#define HTTP_MAX_FIELDS	100	/* header fields; more gets 431 */
#define HTTP_MAX_RESPONSE_HEAD	65536	/* a response head we accept */
#define HTTP_DATE_LEN	30	/* "Sun, 06 Nov 1994 08:49:37 GMT" + NUL */

struct http_str {
	const char	*p;
	size_t		 len;
};

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OTHER, HTTP_PUT };

struct http_request {
	enum http_method method;
	struct http_str	 method_name;
	struct http_str	 target;
	int		 minor;		/* HTTP/1.MINOR */
	bool		 keep_alive;	/* version and Connection say so */
	bool		 has_body;	/* Content-Length > 0 or chunked */
	bool		 chunked;	/* Transfer-Encoding ends with chunked */
	uint64_t	 content_length;	/* without Transfer-Encoding */
	struct http_str	 accept;
	struct http_str	 range;
	struct http_str	 if_range;
	struct http_str	 if_none_match;
	struct http_str	 if_modified_since;
	struct http_str	 expect;
	struct http_str	 content_digest;	/* uploads (RFC 9530) */
	struct http_str	 repr_digest;
};

struct http_response {
	int		 status;
	struct http_str	 reason;
	int		 minor;
	bool		 close;		/* Connection: close, or HTTP/1.0 */
	int64_t		 content_length;	/* -1: not sent */
	bool		 chunked;
	struct http_str	 transfer_encoding;	/* when not only chunked */
	bool		 has_content_range;
	int64_t		 range_first;	/* -1 for "bytes * / TOTAL" */
	int64_t		 range_last;
	int64_t		 range_total;	/* -1 for "bytes A-B / *" */
	struct http_str	 repr_digest;
	struct http_str	 content_disposition;
	struct http_str	 location;
	struct http_str	 etag;
	struct http_str	 last_modified;
};

/* A response head being built (serve-file's side), NUL-terminated. */
struct http_head {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	int	 status;
};

/* Parsing a request: > 0 head length, 0 need more, < 0 minus a status. */
ssize_t	 http_parse_request(const char *, size_t, struct http_request *);
ssize_t	 http_parse_response(const char *, size_t, struct http_response *);
bool	 http_str_eq(struct http_str, const char *);

/* Building a response head. */
const char *http_reason(int);
void	 http_head_begin(struct http_head *, int, time_t);
void	 http_head_printf(struct http_head *, const char *, ...)
	     __attribute__((__format__(__printf__, 2, 3)));
void	 http_head_disposition(struct http_head *, const char *,
	     const char *);
void	 http_head_finish(struct http_head *, bool);
void	 http_head_free(struct http_head *);

/* Range (RFC 9110 14.2) against a representation of SIZE bytes. */
enum http_range { HTTP_RANGE_IGNORE, HTTP_RANGE_OK, HTTP_RANGE_UNSATISFIABLE };

enum http_range http_parse_range(struct http_str, uint64_t, uint64_t *,
	     uint64_t *);

/* Conditional GET and Range for one representation: 200, 206, 304, 416. */
int	 http_preconditions(const struct http_request *, const char *, time_t,
	     uint64_t, uint64_t *, uint64_t *);

/* Request target -> a relative path beneath the served tree. */
enum http_path {
	HTTP_PATH_OK,
	HTTP_PATH_BAD,		/* malformed encoding, NUL, bad form: 400 */
	HTTP_PATH_FORBIDDEN	/* a ".." component: 403 */
};

enum http_path http_target_path(struct http_str, char **, bool *);
char	*http_encode_path(const char *, size_t, bool);
char	*http_html_escape(const char *);

/* fetch-file's side: URLs, base names, the file name a server suggests. */
struct http_url {
	bool	 tls;		/* https:// */
	char	*host;		/* without brackets */
	char	*port;
	char	*target;	/* origin-form, percent-encoded */
	char	*authority;	/* for Host: */
};

int	 http_parse_url(const char *, struct http_url *, char **);
void	 http_url_free(struct http_url *);
char	*http_target_name(const char *);
char	*http_target_named(const char *, const char *, bool);
char	*http_safe_name(const char *, size_t, bool);
char	*http_disposition_name(struct http_str);

/* Validators and negotiation. */
bool	 http_etag_listed(struct http_str, const char *, bool);
bool	 http_accepts_html(struct http_str);
void	 http_format_date(time_t, char *);
int	 http_parse_date(struct http_str, time_t *);

/* base64 (RFC 4648) and Repr-Digest (RFC 9530). */
size_t	 http_base64_encode(const unsigned char *, size_t, char *, size_t);
ssize_t	 http_base64_decode(const char *, size_t, unsigned char *, size_t);
int	 http_repr_digest_sha256(struct http_str, unsigned char *);

/* Chunked transfer coding, decoded in place as bytes arrive. */
struct http_chunked {
	int		 state;
	uint64_t	 left;		/* data bytes left in this chunk */
	size_t		 line;		/* length of the framing line so far */
	char		*trailers;	/* when set: the trailer lines are kept */
	size_t		 trailers_cap;	/* here; more than this is malformed */
	size_t		 trailers_len;
};

enum http_chunk_step {
	HTTP_CHUNK_MORE,	/* consumed everything, feed more */
	HTTP_CHUNK_DATA,	/* *data_off, *data_len: body bytes */
	HTTP_CHUNK_END,		/* the last chunk and trailers are done */
	HTTP_CHUNK_BAD		/* malformed framing */
};

void	 http_chunked_init(struct http_chunked *);
enum http_chunk_step http_chunked_step(struct http_chunked *, const char *,
	     size_t, size_t *, size_t *, size_t *);
bool	 http_field_find(struct http_str, const char *, struct http_str *);

/* A directory listing, built entry by entry into a growing buffer. */
struct http_listing {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	bool	 html;
	char	*base;		/* the directory's URL path, with a final /,
				   percent-encoded */
};

void	 http_listing_begin(struct http_listing *, const char *, bool);
void	 http_listing_add(struct http_listing *, const char *, bool, int64_t,
	     time_t);
void	 http_listing_end(struct http_listing *);

#endif
