/*
 * listener.h - the one accept loop of every listening subcommand: bind
 * (every address, loopback only, or a Unix path), report readiness (-v
 * "listening on" lines and --port-file), accept on the loop, and admit
 * each client by --allow/--deny and --max-conns before anything else
 * happens on its connection.  When fds run out, accepting pauses for a
 * moment instead of spinning; sessions that end give fds back.
 *
 * With a TLS context each admitted client first does its handshake on
 * the loop (bounded by handshake_ms); a client that fails it is closed
 * and reported under -v, and the others are served on.
 *
 * The client callback gets each admitted connection (non-blocking,
 * close-on-exec, now the caller's, with its tls_conn when TLS) and its
 * printable name; the caller says when it is gone
 * (listener_client_gone()) so --max-conns counts the clients really
 * being served.  With a first-client deadline (-w), the callback gets
 * fd -1 and a message in err once it passes with no client.
 */
#ifndef SOCKT_LISTENER_H
#define SOCKT_LISTENER_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "loop.h"

enum listener_bind {
	LISTENER_ALL,		/* no ADDRESS: every address */
	LISTENER_LOOPBACK	/* no ADDRESS: 127.0.0.1 and ::1 only */
};

struct listener_spec {
	const char		*host;		/* ADDRESS, or NULL */
	const char		*port;
	const char		*unix_path;	/* or a Unix stream socket */
	enum listener_bind	 bind;
	int			 family;
	bool			 numeric;
	const struct addr_acl	*acl;		/* NULL: everyone */
	long long		 max_conns;	/* -1: no limit */
	int			 first_ms;	/* -w for the first client, -1 */
	const char		*port_file;	/* or NULL */
	struct tls_ctx		*tls;		/* TLS server, or NULL */
	int			 handshake_ms;	/* TLS handshake limit */
	bool			 mptcp;		/* --mptcp */
};

struct listener_conn {
	int			 fd;		/* -1: see err */
	struct tls_conn		*tls;
	const struct sockaddr	*addr;
	socklen_t		 addrlen;
	const char		*name;
	const char		*err;
};

struct listener;
struct tls_ctx;
struct tls_conn;

typedef void	 listener_fn(void *, const struct listener_conn *);

struct listener	*listener_open(struct loop *, const struct listener_spec *,
		     char **);
int		 listener_ready(struct listener *, char **);
void		 listener_start(struct listener *, listener_fn *, void *);
void		 listener_pause(struct listener *, bool);
void		 listener_close(struct listener *);
void		 listener_client_gone(struct listener *);
size_t		 listener_active(const struct listener *);
int		 listener_port(const struct listener *);
int		 listener_fd(const struct listener *, size_t);
void		 listener_free(struct listener *);

#endif
