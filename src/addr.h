/*
 * addr.h - endpoint forms, ports and services, name resolution, formatting,
 * and CIDR access lists.
 *
 * Functions that can fail return -1 and set *errp to an allocated one-line
 * message (without the "sockt: " prefix); the caller frees it.
 *
 * Every number a user or a peer gives (ports, prefixes, option values) is
 * read by addr_parse_decimal(): plain decimal digits only, no sign, no
 * blanks, no base prefix; leading zeros are allowed and mean nothing
 * ("024" is 24).
 */
#ifndef SOCKT_ADDR_H
#define SOCKT_ADDR_H

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>

#define ADDR_STRLEN	(INET6_ADDRSTRLEN + 32)	/* [v6%ifname]:port */
#define ADDR_NAMELEN	(4 * 108 + 8)	/* any name: 108 bytes, escaped */

/* Which of the positional endpoint forms a subcommand accepts. */
enum addr_role { ADDR_CONNECT, ADDR_LISTEN };

struct addr_endpoint {
	char	*host;		/* NULL: all addresses (listening) */
	char	*port;		/* as given: number, service or list */
};

long long addr_parse_decimal(const char *, long long, long long,
	     const char **);
int	 addr_parse_endpoint(int, char **, enum addr_role, const char *,
	     struct addr_endpoint *, char **);
void	 addr_endpoint_free(struct addr_endpoint *);
int	 addr_parse_port(const char *, const char *, uint16_t *, char **);
int	 addr_parse_portlist(const char *, const char *, uint16_t **, size_t *,
	     char **);
int	 addr_resolve(const char *, const char *, int, int, int,
	     struct addrinfo **, char **);
int	 addr_resolve_source(const char *, const char *, int, int,
	     struct addrinfo **, char **);
const char *addr_format(const struct sockaddr *, socklen_t, char *, size_t);
int	 addr_numeric(const struct sockaddr *, socklen_t, char *, size_t,
	     uint16_t *);
int	 addr_unix(const char *, struct sockaddr_storage *, socklen_t *,
	     char **);

/*
 * --allow/--deny: a list of networks; deny wins, empty allow admits all.
 * Rules and peers are compared in one form, IPv6: an IPv4 address is its
 * v4-mapped ::ffff:A.B.C.D and an IPv4 prefix counts 96 more bits, so
 * 127.0.0.0/8 and ::ffff:127.0.0.0/104 are the same rule, and
 * ::ffff:0:0/96 names every IPv4 client.
 */
struct addr_cidr {
	unsigned char	 bytes[16];
	unsigned	 prefix;	/* 0-128 */
};

struct addr_acl {
	struct addr_cidr	*allow;
	size_t			 nallow;
	struct addr_cidr	*deny;
	size_t			 ndeny;
};

int	 addr_acl_add(struct addr_acl *, bool, const char *, int, char **);
bool	 addr_acl_admits(const struct addr_acl *, const struct sockaddr *);
void	 addr_acl_free(struct addr_acl *);

#endif
