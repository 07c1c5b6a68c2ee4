/*
 * httpc-int.h - what httpc.c (the exchange on the loop) and httpcreq.c
 * (the request going out, redirects) share.
 */
#ifndef SOCKT_HTTPC_INT_H
#define SOCKT_HTTPC_INT_H

#include "httpc.h"
#include "tls.h"

#define HTTPC_READ	(64 * 1024)	/* one read */
#define HTTPC_ROUNDS	16		/* reads per wakeup */

enum httpc_state { HTTPC_DIAL, HTTPC_HEAD, HTTPC_BODY, HTTPC_OVER };

struct httpc {
	struct loop		*loop;
	struct httpc_spec	 spec;
	struct httpc_request	 req;
	struct httpc_ops	 ops;
	void			*arg;
	enum httpc_state	 state;
	int			 redirects;

	/* the current URL */
	bool			 tls;
	char			*host;
	char			*port;
	char			*target;
	char			*authority;
	char			*what;		/* escaped, for messages */
	struct tls_ctx		*own_tls;	/* made for a redirect */

	/* the connection */
	struct dial		*dial;
	int			 fd;
	struct tls_conn		*conn;
	enum tls_wait		 read_wait;	/* TLS: what a read waits for */
	enum tls_wait		 write_wait;
	bool			 paused;
	struct loop_deferred	 kick;
	struct loop_timer	 idle;
	uint64_t		 active;

	/* the request */
	char			*out;
	size_t			 outlen;
	size_t			 outoff;
	bool			 sending;	/* more of the body to come */
	bool			 body_eof;
	uint64_t		 sent;		/* request body bytes */

	/* the response */
	char			*head;
	size_t			 headlen;
	struct http_response	 res;
	bool			 chunked;
	struct http_chunked	 ch;
	int64_t			 left;		/* -1: to the end */
	uint64_t		 received;	/* body bytes */
	char			*buf;
};

void	 httpc_finish(struct httpc *, enum httpc_end, int, const char *);
void	 httpc_failf(struct httpc *, char *);
char	*httpc_escape(const char *);
void	 httpc_build_request(struct httpc *);
int	 httpc_write(struct httpc *);
bool	 httpc_redirect(struct httpc *);

#endif
