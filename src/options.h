/*
 * options.h - struct sockt_opts, the one options struct every subcommand
 * parses into, and the option table behind parsing and --help.
 *
 * Parsing is generic: each subcommand lists the options it accepts (its
 * cmd_entry), opts_parse() fills the struct and checks every number against
 * real bounds, and opts_validate() rejects conflicting combinations in one
 * place.  Both return -1 with an allocated message; that is a usage error.
 */
#ifndef SOCKT_OPTIONS_H
#define SOCKT_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "proxy.h"

enum opt_id {
	OPT_END = 0,
	/* shared */
	OPT_IPV4, OPT_IPV6, OPT_UNIX, OPT_NUMERIC, OPT_VERBOSE, OPT_SOURCE,
	OPT_PORT, OPT_TIMEOUT, OPT_IDLE, OPT_QUIT, OPT_KEEP, OPT_NOSTDIN,
	OPT_SEND_ONLY, OPT_RECV_ONLY, OPT_NO_SHUTDOWN, OPT_MAX_CONNS,
	OPT_ALLOW, OPT_DENY, OPT_PORT_FILE, OPT_HEXDUMP, OPT_OUTPUT,
	OPT_PROGRESS, OPT_HELP,
	/* listen, connect */
	OPT_BROKER, OPT_SCAN, OPT_WAIT, OPT_PARALLEL, OPT_RAW_TTY,
	/* udp-send, udp-recv */
	OPT_BROADCAST, OPT_TTL, OPT_WHOLE, OPT_SIZE, OPT_JOIN, OPT_IFACE,
	OPT_COUNT, OPT_PEER, OPT_ECHO, OPT_RCVBUF,
	/* serve-file, fetch-file */
	OPT_RAW, OPT_FORCE, OPT_NO_RESUME, OPT_SHA256, OPT_RETRY,
	/* exec */
	OPT_CONNECT, OPT_PTY, OPT_STDERR, OPT_SH,
	/* TLS */
	OPT_TLS, OPT_CA, OPT_CERT, OPT_KEY, OPT_INSECURE, OPT_PIN,
	OPT_SERVERNAME, OPT_ALPN,
	OPT_CRLF,
	/* proxies */
	OPT_PROXY, OPT_PROXY_TYPE, OPT_PROXY_AUTH, OPT_PROXY_SERVER,
	/* serve-file */
	OPT_UPLOAD, OPT_DOWNLOAD, OPT_NO_INDEX, OPT_MAX_SIZE,
	OPT_MPTCP, OPT_PTY_SIZE,
	OPT__MAX
};

struct cmd_entry;

struct sockt_opts {
	const struct cmd_entry	*cmd;
	bool		 given[OPT__MAX];	/* which options appeared */

	int		 family;		/* AF_UNSPEC, AF_INET, AF_INET6 */
	bool		 unix_socket;		/* -U */
	bool		 numeric;		/* -n */
	int		 verbose;		/* -v count */
	char		*source;		/* -s ADDR */
	char		*port;			/* -p PORT */
	int		 timeout_ms;		/* -w, -1: none */
	int		 idle_ms;		/* -i, 0: none */
	int		 quit_ms;		/* -q, -1: wait for the peer */
	bool		 keep;			/* -k */
	bool		 no_stdin;		/* -d */
	bool		 send_only;
	bool		 recv_only;
	bool		 no_shutdown;
	long long	 max_conns;		/* -1: no limit */
	char		**allow;		/* --allow, as given */
	size_t		 nallow;
	char		**deny;			/* --deny, as given */
	size_t		 ndeny;
	struct addr_acl	 acl;			/* built by opts_validate() */
	char		*port_file;
	char		*hexdump;		/* -x FILE */
	char		*output;		/* -o FILE */
	bool		 progress;		/* -P */

	bool		 broker;
	bool		 scan;			/* -z */
	int		 wait_ms;		/* --wait, -1: none */
	long long	 parallel;
	long long	 retry;			/* fetch-file --retry */
	bool		 raw_tty;

	bool		 broadcast;
	int		 ttl;			/* -1: system default */
	bool		 whole;
	long long	 size;			/* --size, 0: lines */
	char		*join;
	char		*iface;
	long long	 count;			/* --count, 0: no limit */
	bool		 peer;
	bool		 echo;
	long long	 rcvbuf;		/* 0: system default */

	bool		 raw;
	bool		 force;
	bool		 no_resume;
	char		*sha256;		/* 64 hex digits */
	bool		 upload;		/* serve-file --upload */
	bool		 download;		/* attachment by default */
	bool		 no_index;
	long long	 max_size;		/* --max-size, 0: no limit */

	bool		 connect;
	bool		 pty;
	bool		 child_stderr;		/* --stderr */
	char		*sh;			/* --sh COMMAND */
	int		 pty_cols;		/* --pty-size, 0: 80x24 */
	int		 pty_rows;
	bool		 mptcp;			/* --mptcp */

	bool		 crlf;			/* -C */
	bool		 tls;			/* --tls (or https://) */
	char		*ca;
	char		*cert;
	char		*key;
	bool		 insecure;
	char		*pin;			/* sha256//BASE64 */
	char		*servername;
	char		*alpn;

	char		*proxy;			/* --proxy, as given */
	int		 proxy_type;		/* enum proxy_type, -1: unset */
	char		*proxy_auth;		/* USER:PASS */
	bool		 proxy_server;		/* forward --proxy-server */
	struct proxy_spec proxy_spec;		/* --proxy, parsed */
	struct proxy_spec proxyd_auth;		/* --proxy-server's creds */

	bool		 stdin_closed;		/* fd 0 was closed at start */
	bool		 stdout_closed;		/* fd 1 was closed at start */

	int		 argc;			/* positional arguments */
	char		**argv;
	int		 argc_before_dashes;	/* of them before "--", or -1 */
	char		 unknown[32];		/* an unknown option, as typed */
};

void	 opts_init(struct sockt_opts *, const struct cmd_entry *);
int	 opts_parse(struct sockt_opts *, int, char **, char **);
int	 opts_validate(struct sockt_opts *, char **);
void	 opts_free(struct sockt_opts *);
int	 opts_parse_secs(const char *, int *, char **);
void	 opts_print_help(const struct cmd_entry *, FILE *);
int	 opts_describe(enum opt_id, int *, const char **, const char **,
	     const char **);

#endif
