/*
 * sock.h - sockets: open, bind, listen, accept, connect with a timeout, and
 * one small helper per socket option.
 *
 * Every fd returned is non-blocking and close-on-exec.  Failures return -1
 * and set *errp to an allocated one-line message naming the operation and
 * the address, e.g. "connect 127.0.0.1:9: Connection refused".
 */
#ifndef SOCKT_SOCK_H
#define SOCKT_SOCK_H

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <stdint.h>

/*
 * Or'ed into a stream socktype argument: Multipath TCP (IPPROTO_MPTCP),
 * or plain TCP, noted once under -v, where the kernel refuses it.
 */
#define SOCK_MPTCP	0x40000000

/* Listening sockets of one subcommand; all share the same port. */
struct sock_listeners {
	int		 fds[8];
	size_t		 nfds;
	char		*unix_path;	/* filesystem socket to unlink, or NULL */
};

int	 sock_listen_inet(const char *, const char *, int, int, int,
	     struct sock_listeners *, char **);
int	 sock_bind_shared(const char *, const char *, int, int,
	     struct sock_listeners *, char **);
int	 sock_listen_loopback(const char *, int, int, struct sock_listeners *,
	     char **);
int	 sock_listen_unix(const char *, int, struct sock_listeners *, char **);
void	 sock_listeners_stop(struct sock_listeners *);
void	 sock_listeners_close(struct sock_listeners *);
int	 sock_listeners_port(const struct sock_listeners *);
int	 sock_accept(int, struct sockaddr_storage *, socklen_t *);
int	 sock_connect_timeout(const struct addrinfo *, const struct addrinfo *,
	     int, int, char **);
int	 sock_connect_unix(const char *, int, int, char **);
int	 sock_connect_start(const struct sockaddr *, socklen_t, int,
	     const struct addrinfo *, char **);
int	 sock_connect_result(int);
int	 sock_check_source(const struct addrinfo *, int, char **);
int	 sock_wait(int, short, int);

int	 sock_set_nonblock(int, int);
int	 sock_set_reuseaddr(int);
int	 sock_set_v6only(int, int);
int	 sock_set_nodelay(int);
int	 sock_set_linger0(int);
int	 sock_unacked(int, size_t *);
const char *sock_describe(int, char *, size_t);
int	 sock_conn_error(int);

#endif
