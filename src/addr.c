/*
 * addr.c - endpoint forms (HOST PORT, HOST:PORT, [V6]:PORT, PORT), ports and
 * service names, getaddrinfo, printable addresses and CIDR access lists.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"

/*
 * S as a decimal number from LO to HI (LO >= 0), strtonum()'s contract
 * with one rule more: S must be plain digits.  strtonum() alone takes a
 * sign and leading blanks, so "-0" would pass as 0 and "+24" as 24.
 * Returns the number with *errstr NULL, or 0 with *errstr saying why.
 */
long long
addr_parse_decimal(const char *s, long long lo, long long hi,
    const char **errstr)
{
	const char *p;

	for (p = s; *p >= '0' && *p <= '9'; p++)
		continue;
	if (p == s || *p != '\0') {
		*errstr = "not a decimal number";
		return 0;
	}
	return strtonum(s, lo, hi, errstr);
}

/*
 * Split "HOST:PORT" or "[V6]:PORT" into its parts.  Returns 0 when ARG has
 * that form, 1 when it has no port part, -1 (with *errp) when it is
 * malformed.
 */
static int
addr_split_hostport(const char *arg, char **host, char **port, char **errp)
{
	const char *colon, *close;

	if (arg[0] == '[') {
		close = strchr(arg, ']');
		if (close == NULL || close[1] != ':' || close[2] == '\0') {
			*errp = log_fmt("bad address '%s': expected [IPV6]:PORT",
			    arg);
			return -1;
		}
		*host = strndup(arg + 1, (size_t)(close - arg - 1));
		*port = strdup(close + 2);
		return 0;
	}
	colon = strchr(arg, ':');
	if (colon == NULL || strchr(colon + 1, ':') != NULL)
		return 1;	/* a name, a port, or a bare IPv6 address */
	if (colon == arg || colon[1] == '\0') {
		*errp = log_fmt("bad address '%s': expected HOST:PORT", arg);
		return -1;
	}
	*host = strndup(arg, (size_t)(colon - arg));
	*port = strdup(colon + 1);
	return 0;
}

/*
 * Fill EP from the positional arguments.  Connecting takes HOST PORT or
 * HOST:PORT; listening also takes PORT alone, or only HOST (or nothing)
 * when -p PORT was given as PFLAG.
 */
int
addr_parse_endpoint(int argc, char **argv, enum addr_role role,
    const char *pflag, struct addr_endpoint *ep, char **errp)
{
	size_t n;
	int r;

	ep->host = ep->port = NULL;
	if (argc > 2) {
		*errp = log_fmt("too many arguments: '%s'", argv[2]);
		return -1;
	}
	if (role == ADDR_LISTEN && pflag != NULL) {
		if (argc > 1) {
			*errp = log_fmt("cannot use -p with a PORT argument");
			return -1;
		}
		if (argc == 1)
			ep->host = strdup(argv[0]);
		ep->port = strdup(pflag);
		return 0;
	}
	if (argc == 2) {
		n = strlen(argv[0]);
		if (n >= 2 && argv[0][0] == '[' && argv[0][n - 1] == ']') {
			ep->host = strndup(argv[0] + 1, n - 2);	/* [V6] PORT */
			ep->port = strdup(argv[1]);
			goto check;
		}
		r = addr_split_hostport(argv[0], &ep->host, &ep->port, errp);
		if (r == 0) {
			addr_endpoint_free(ep);
			*errp = log_fmt("bad address '%s %s': give HOST PORT or "
			    "HOST:PORT, not both", argv[0], argv[1]);
			return -1;
		}
		if (r == -1)
			return -1;
		ep->host = strdup(argv[0]);
		ep->port = strdup(argv[1]);
		goto check;
	}
	if (argc == 0) {
		*errp = log_fmt(role == ADDR_LISTEN ? "missing PORT" :
		    "missing HOST and PORT");
		return -1;
	}
	r = addr_split_hostport(argv[0], &ep->host, &ep->port, errp);
	if (r == -1)
		return -1;
	if (r == 1) {
		if (role == ADDR_CONNECT) {
			*errp = log_fmt("missing PORT after '%s'", argv[0]);
			return -1;
		}
		ep->port = strdup(argv[0]);
	}
check:
	if (ep->host != NULL && ep->host[0] == '\0') {
		addr_endpoint_free(ep);
		*errp = log_fmt("bad address '': empty host");
		return -1;
	}
	if (ep->port[0] == '\0') {
		addr_endpoint_free(ep);
		*errp = log_fmt("bad port '': empty");
		return -1;
	}
	return 0;
}

void
addr_endpoint_free(struct addr_endpoint *ep)
{
	free(ep->host);
	free(ep->port);
	ep->host = ep->port = NULL;
}

/*
 * A port is a decimal number 0-65535 or a service name known for PROTO
 * ("tcp" or "udp").
 */
int
addr_parse_port(const char *s, const char *proto, uint16_t *port, char **errp)
{
	const char *errstr;
	struct servent *se;
	long long n;

	if (*s >= '0' && *s <= '9') {
		n = addr_parse_decimal(s, 0, 65535, &errstr);
		if (errstr != NULL) {
			*errp = log_fmt("bad port '%s': %s (0-65535)", s,
			    errstr);
			return -1;
		}
		*port = (uint16_t)n;
		return 0;
	}
	if (*s != '\0' && *s != '-' && (se = getservbyname(s, proto)) != NULL) {
		*port = ntohs((uint16_t)se->s_port);
		return 0;
	}
	*errp = log_fmt("bad port '%s': not a number (0-65535) or a known "
	    "service", s);
	return -1;
}

/*
 * A port list for scanning: "22", "22,80,8000-8100", service names too.
 * Returns the ports in ascending order without repeats in an allocated
 * array.
 */
int
addr_parse_portlist(const char *spec, const char *proto, uint16_t **ports,
    size_t *n, char **errp)
{
	char *copy, *item, *rest, *dash;
	uint16_t lo, hi;
	unsigned char *seen;
	size_t count = 0, i;
	int r = -1;

	*ports = NULL;
	*n = 0;
	seen = calloc(65536, 1);
	copy = strdup(spec);
	if (seen == NULL || copy == NULL) {
		*errp = log_fmt("%s", strerror(errno));
		goto out;
	}
	for (item = strtok_r(copy, ",", &rest); item != NULL;
	    item = strtok_r(NULL, ",", &rest)) {
		dash = strchr(item, '-');
		if (dash != NULL && dash != item) {
			*dash = '\0';
			if (addr_parse_port(item, proto, &lo, errp) == -1 ||
			    addr_parse_port(dash + 1, proto, &hi, errp) == -1)
				goto out;
			if (lo > hi) {
				*errp = log_fmt("bad port range '%s-%s': "
				    "reversed", item, dash + 1);
				goto out;
			}
		} else if (addr_parse_port(item, proto, &lo, errp) == -1)
			goto out;
		else
			hi = lo;
		for (i = lo; i <= hi; i++)
			if (!seen[i]) {
				seen[i] = 1;
				count++;
			}
	}
	if (count == 0) {
		*errp = log_fmt("bad port list '%s': empty", spec);
		goto out;
	}
	*ports = calloc(count, sizeof **ports);
	if (*ports == NULL) {
		*errp = log_fmt("%s", strerror(errno));
		goto out;
	}
	for (i = 0; i < 65536; i++)
		if (seen[i])
			(*ports)[(*n)++] = (uint16_t)i;
	r = 0;
out:
	free(seen);
	free(copy);
	return r;
}

/* -vv: what HOST resolved to, numeric, in getaddrinfo()'s order. */
static void
addr_log_resolved(const char *host, const struct addrinfo *res)
{
	char line[512], one[INET6_ADDRSTRLEN];
	size_t len = 0;

	if (log_verbosity() < 2 || host == NULL)
		return;
	line[0] = '\0';
	for (; res != NULL && len < sizeof line; res = res->ai_next) {
		if (getnameinfo(res->ai_addr, res->ai_addrlen, one, sizeof one,
		    NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		len += (size_t)snprintf(line + len, sizeof line - len, "%s%s",
		    len ? ", " : "", one);
	}
	if (strcmp(line, host) != 0)	/* a numeric address says nothing */
		log_info(2, "resolved %s: %s", host, line);
}

/*
 * getaddrinfo() with sockt's rules: FAMILY is AF_UNSPEC, AF_INET or
 * AF_INET6; FLAGS may hold AI_PASSIVE and AI_NUMERICHOST.  The port has
 * already been checked, so failures here are about the host.
 */
int
addr_resolve(const char *host, const char *port, int family, int socktype,
    int flags, struct addrinfo **res, char **errp)
{
	struct addrinfo hints;
	int e;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = family;
	hints.ai_socktype = socktype;
	hints.ai_flags = flags;
	if (port != NULL && port[0] >= '0' && port[0] <= '9')
		hints.ai_flags |= AI_NUMERICSERV;
	if (host == NULL)
		hints.ai_flags |= AI_PASSIVE;
	else if ((flags & AI_PASSIVE) == 0)
		hints.ai_flags |= AI_ADDRCONFIG;
	e = getaddrinfo(host, port, &hints, res);
	if (e == EAI_ADDRFAMILY || (e == EAI_NONAME && host != NULL &&
	    (flags & AI_NUMERICHOST) == 0 && (hints.ai_flags & AI_ADDRCONFIG))) {
		/* AI_ADDRCONFIG hides ::1 on hosts with only loopback v6. */
		hints.ai_flags &= ~AI_ADDRCONFIG;
		e = getaddrinfo(host, port, &hints, res);
	}
	if (e == 0) {
		addr_log_resolved(host, *res);
		return 0;
	}
	if (e == EAI_NONAME && (flags & AI_NUMERICHOST))
		*errp = log_fmt("bad address '%s': not numeric (-n)", host);
	else if (e == EAI_SYSTEM)
		*errp = log_fmt("%s: %s", host ? host : "*", strerror(errno));
	else if (e == EAI_FAMILY || e == EAI_ADDRFAMILY || e == EAI_NODATA)
		*errp = log_fmt("%s: no address of the requested family",
		    host ? host : "*");
	else
		*errp = log_fmt("%s: %s", host ? host : "*", gai_strerror(e));
	return -1;
}

/*
 * The -s ADDR / -p PORT source of an outgoing stream connection: *res is
 * NULL when neither was given.  FLAGS may hold AI_NUMERICHOST.
 */
int
addr_resolve_source(const char *host, const char *port, int family,
    int flags, struct addrinfo **res, char **errp)
{
	*res = NULL;
	if (host == NULL && port == NULL)
		return 0;
	return addr_resolve(host, port ? port : "0", family, SOCK_STREAM,
	    flags | AI_PASSIVE, res, errp);
}

/*
 * The numeric host of SA (v4-mapped IPv6 shown as IPv4) and its port.
 * Returns 0, or -1 for a family without one.
 */
int
addr_numeric(const struct sockaddr *sa, socklen_t len, char *host,
    size_t hostlen, uint16_t *port)
{
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_in *sin;
	char ifname[IF_NAMESIZE];
	struct in_addr v4;

	(void)len;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, (socklen_t)hostlen);
		*port = ntohs(sin->sin_port);
		return 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&v4, &sin6->sin6_addr.s6_addr[12], 4);
			inet_ntop(AF_INET, &v4, host, (socklen_t)hostlen);
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, host,
			    (socklen_t)hostlen);
			/* a link-local address means nothing without its link */
			if (sin6->sin6_scope_id != 0 &&
			    if_indextoname(sin6->sin6_scope_id, ifname) != NULL)
				snprintf(host + strlen(host), hostlen -
				    strlen(host), "%%%s", ifname);
		}
		*port = ntohs(sin6->sin6_port);
		return 0;
	default:
		return -1;
	}
}

/*
 * "127.0.0.1:80", "[::1]:80", a Unix path, "@abstract", or "(unnamed)",
 * ready to print: a Unix name is the peer's choice, so it goes through
 * log_escape() (a newline or an ESC in it shows as \xNN).  SIZE should
 * be ADDR_NAMELEN for a Unix name to fit whole.  Returns BUF.
 */
const char *
addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	const struct sockaddr_un *sun;
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	size_t pathlen;
	uint16_t port;

	if (addr_numeric(sa, len, host, sizeof host, &port) == 0) {
		if (strchr(host, ':') != NULL)
			snprintf(buf, size, "[%s]:%u", host, port);
		else
			snprintf(buf, size, "%s:%u", host, port);
		return buf;
	}
	if (sa->sa_family == AF_UNIX) {
		sun = (const struct sockaddr_un *)sa;
		pathlen = len > offsetof(struct sockaddr_un, sun_path) ?
		    len - offsetof(struct sockaddr_un, sun_path) : 0;
		if (pathlen > sizeof sun->sun_path)
			pathlen = sizeof sun->sun_path;
		if (pathlen == 0 || size < 9)
			snprintf(buf, size, "(unnamed)");
		else if (sun->sun_path[0] == '\0') {
			/* abstract: every byte counts, NULs too */
			buf[0] = '@';
			log_escape(sun->sun_path + 1, pathlen - 1, buf + 1,
			    size - 1);
		} else
			log_escape(sun->sun_path, strnlen(sun->sun_path,
			    pathlen), buf, size);
		return buf;
	}
	snprintf(buf, size, "(family %d)", sa->sa_family);
	return buf;
}

/* A Unix socket address; a leading '@' names a Linux abstract socket. */
int
addr_unix(const char *path, struct sockaddr_storage *ss, socklen_t *len,
    char **errp)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	size_t n = strlen(path);

	memset(ss, 0, sizeof *ss);
	sun->sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof sun->sun_path) {
		*errp = log_fmt("bad Unix socket path '%s': %s", path, n == 0 ?
		    "empty" : "too long");
		return -1;
	}
	memcpy(sun->sun_path, path, n);
	if (path[0] == '@') {
		sun->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
		    1);
	return 0;
}

/*
 * The 16 bytes an access list compares for an IPv4 or IPv6 address: IPv6
 * as it is, IPv4 as its v4-mapped IPv6 form (::ffff:A.B.C.D).  Returns
 * 0, or -1 for a family without an IP address.
 */
static int
addr_canonical(const struct sockaddr *sa, unsigned char *out)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	switch (sa->sa_family) {
	case AF_INET:
		memcpy(out, mapped, sizeof mapped);
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr,
		    4);
		return 0;
	case AF_INET6:
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	default:
		return -1;
	}
}

/*
 * "ADDRESS[/PREFIX]" in the canonical form.  Returns 0, 1 when the
 * address part is not numeric (maybe a host name), or -1 when it is
 * numeric but the spec is malformed.  A prefix is plain digits.
 */
static int
addr_cidr_parse(const char *spec, struct addr_cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	const char *errstr;
	unsigned max, prefix;

	if (strlcpy(buf, spec, sizeof buf) >= sizeof buf)
		return -1;
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		max = 128;
	} else
		return 1;	/* not numeric: maybe a host name */
	prefix = max;
	if (slash != NULL) {
		prefix = (unsigned)addr_parse_decimal(slash, 0, max,
		    &errstr);
		if (errstr != NULL)
			return -1;
	}
	memset(c, 0, sizeof *c);
	addr_canonical((struct sockaddr *)&ss, c->bytes);
	c->prefix = prefix + 128 - max;
	return 0;
}

static int
addr_acl_push(struct addr_acl *acl, bool deny, const struct addr_cidr *c)
{
	struct addr_cidr **list = deny ? &acl->deny : &acl->allow;
	size_t *n = deny ? &acl->ndeny : &acl->nallow;
	struct addr_cidr *grown;

	grown = reallocarray(*list, *n + 1, sizeof **list);
	if (grown == NULL)
		return -1;
	grown[(*n)++] = *c;
	*list = grown;
	return 0;
}

/*
 * Add SPEC (CIDR, bare address, or host name resolved now) to the allow
 * or deny list.  FLAGS may hold AI_NUMERICHOST (-n).
 */
int
addr_acl_add(struct addr_acl *acl, bool deny, const char *spec, int flags,
    char **errp)
{
	struct addrinfo *res, *ai;
	struct addr_cidr c;
	int r;

	r = addr_cidr_parse(spec, &c);
	if (r == 0)
		return addr_acl_push(acl, deny, &c);
	if (r == -1 || strchr(spec, '/') != NULL || (flags & AI_NUMERICHOST)) {
		*errp = log_fmt("bad %s '%s': expected ADDRESS[/PREFIX]%s",
		    deny ? "--deny" : "--allow", spec,
		    (flags & AI_NUMERICHOST) ? "" : " or a host name");
		return -1;
	}
	if (addr_resolve(spec, "0", AF_UNSPEC, SOCK_STREAM, 0, &res, errp)
	    == -1)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		memset(&c, 0, sizeof c);
		if (addr_canonical(ai->ai_addr, c.bytes) == -1)
			continue;
		c.prefix = 128;
		if (addr_acl_push(acl, deny, &c) == -1) {
			freeaddrinfo(res);
			*errp = log_fmt("%s", strerror(errno));
			return -1;
		}
	}
	freeaddrinfo(res);
	return 0;
}

/* Do the first C->prefix bits of B (canonical form) match C? */
static bool
addr_cidr_match(const struct addr_cidr *c, const unsigned char *b)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;
	unsigned char mask;

	if (memcmp(c->bytes, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return (c->bytes[full] & mask) == (b[full] & mask);
}

static bool
addr_list_match(const struct addr_cidr *list, size_t n,
    const unsigned char *b)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (addr_cidr_match(&list[i], b))
			return true;
	return false;
}

/*
 * Deny wins; a non-empty allow list admits only what it names.  An IPv4
 * peer and a v4-mapped IPv6 peer are the same peer.
 */
bool
addr_acl_admits(const struct addr_acl *acl, const struct sockaddr *sa)
{
	unsigned char b[16];

	if (addr_canonical(sa, b) == -1)
		return true;	/* Unix sockets carry no address */
	if (addr_list_match(acl->deny, acl->ndeny, b))
		return false;
	return acl->nallow == 0 || addr_list_match(acl->allow, acl->nallow, b);
}

void
addr_acl_free(struct addr_acl *acl)
{
	free(acl->allow);
	free(acl->deny);
	memset(acl, 0, sizeof *acl);
}
