/*
 * proxyd-int.h - inside the proxy server: a client's handshake state,
 * shared by proxyd.c (its life on the loop, and HTTP) and the SOCKS
 * parsers in proxyd-socks.c.
 */
#ifndef SOCKT_PROXYD_INT_H
#define SOCKT_PROXYD_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "proxyd.h"

struct addrinfo;
struct dial;
struct resolve;
struct resolver;

#define PROXYD_IN_MAX		8192	/* a request, with what follows */
#define PROXYD_HANDSHAKE_MS	30000	/* without -w */
#define PROXYD_DRAIN_MS		2000	/* reading on after an error reply */

enum proxyd_state {
	PC_READ,	/* the client's request */
	PC_RESOLVE,
	PC_DIAL,
	PC_WRITE_OK,	/* the success reply, and early bytes to the target */
	PC_WRITE_FAIL,	/* the error reply */
	PC_DRAIN	/* then read until end of file, so no reset eats it */
};

enum proxyd_proto { PP_NONE, PP_SOCKS5, PP_SOCKS4, PP_HTTP };

struct proxyd {
	struct loop		*loop;
	struct proxyd_spec	 spec;
	struct resolver		*resolver;
	struct proxyd_conn	*conns;
};

struct proxyd_conn {
	struct proxyd		*pd;
	struct proxyd_conn	*prev, *next;
	proxyd_fn		*fn;
	void			*arg;
	int			 fd;
	int			 tfd;
	enum proxyd_state	 state;
	enum proxyd_proto	 proto;
	int			 stage;		/* SOCKS5: 0 methods, 1 auth */
	unsigned char		 in[PROXYD_IN_MAX + 1];
	size_t			 inlen;
	char			*out;		/* to the client */
	size_t			 outlen, outoff;
	char			*fwd;		/* to the target */
	size_t			 fwdlen, fwdoff;
	bool			 forward;	/* HTTP GET passed on */
	char			 host[256];
	char			 port[8];
	char			 target[300];
	char			*err;
	struct resolve		*res;
	struct addrinfo		*addrs;
	struct dial		*dial;
	struct loop_timer	 timer;
};

void	 proxyd_out(struct proxyd_conn *, const void *, size_t);
void	 proxyd_set_err(struct proxyd_conn *, char *);
void	 proxyd_fail(struct proxyd_conn *, int, int, char *);
void	 proxyd_request(struct proxyd_conn *, size_t);
void	 proxyd_watch(struct proxyd_conn *);
int	 proxyd_socks5(struct proxyd_conn *);
int	 proxyd_socks4(struct proxyd_conn *);

#endif
