/*
 * httpd-int.h - the state httpd.c (connections and requests) and
 * httpdsend.c (responses and the connection's I/O) share; not for use
 * outside them (httpd.h is the interface).
 */
#ifndef SOCKT_HTTPD_INT_H
#define SOCKT_HTTPD_INT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "httpd.h"
#include "loop.h"

enum httpd_state {
	HTTPD_READ,		/* reading a request head */
	HTTPD_BODY,		/* the handler reads the request body */
	HTTPD_WAIT,		/* the handler has the request */
	HTTPD_SEND,		/* writing the response */
	HTTPD_LINGER		/* our side is shut; draining the client's */
};

struct httpd {
	struct loop		*loop;
	struct listener		*listener;
	struct httpd_spec	 spec;
	struct httpd_handler	 handler;
	struct httpd_conn	*conns;
	size_t			 nconns;
	long long		 served;
	int			 status;
	bool			 finishing;	/* --count reached */
	bool			 freeing;
};

struct tls_conn;

struct httpd_conn {
	struct httpd		*h;
	int			 fd;
	bool			 plain;		/* sendfile() can be used */
	struct tls_conn		*tls;		/* or NULL */
	char			*name;
	enum httpd_state	 state;
	char			*in;		/* HTTP_MAX_HEAD bytes, lazily */
	size_t			 inlen;
	size_t			 reqlen;	/* the head being answered */
	struct http_request	 req;
	uint64_t		 req_started;	/* first byte of this head */
	uint64_t		 active;	/* last progress */
	bool			 keep_alive;
	int			 status;	/* of the response, for -v */
	char			*head;		/* the response head */
	size_t			 headlen;
	size_t			 headoff;
	char			*body;		/* a body from memory */
	size_t			 bodylen;
	size_t			 bodyoff;
	int			 file;		/* or from a file, or -1 */
	off_t			 file_off;	/* file bytes [off, end) */
	off_t			 file_end;
	off_t			 file_start;	/* file_off when sending began */
	struct loop_timer	 timer;		/* idle, head or linger */
	void			*data;		/* the handler's */
	struct httpd_body	 sink;		/* HTTPD_BODY: where it goes */
	uint64_t		 body_left;	/* Content-Length still due */
	struct http_chunked	 chunked;	/* or its chunked decoding */
	char			*bbuf;		/* body bytes read */
	bool			 body_done;	/* the whole body is read */
	struct httpd_conn	*prev;
	struct httpd_conn	*next;
};

/* httpd.c */
void	 httpd_conn_free(struct httpd_conn *);
void	 httpd_conn_arm(struct httpd_conn *);
void	 httpd_conn_failed(struct httpd_conn *, const char *);
void	 httpd_conn_sent(struct httpd_conn *);
void	 httpd_count(struct httpd *, bool);
void	 httpd_conn_read(struct loop *, int, void *);

/* httpdsend.c */
ssize_t	 httpd_io_read(struct httpd_conn *, void *, size_t);
int	 httpd_io_shutdown(struct httpd_conn *);
bool	 httpd_io_pending(const struct httpd_conn *);
void	 httpd_conn_reset(struct httpd_conn *);
int	 httpd_io_send_small(struct httpd_conn *, const char *, size_t);

/* httpdbody.c */
void	 httpd_body_free(struct httpd_conn *);

#endif
