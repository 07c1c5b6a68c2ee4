/*
 * cmd.h - the subcommand table: one const struct cmd_entry per cmd-*.c.
 */
#ifndef SOCKT_CMD_H
#define SOCKT_CMD_H

#include "options.h"

/* A subcommand's own wording for a shared option in its --help. */
struct cmd_help {
	enum opt_id	 id;
	const char	*help;
};

/*
 * How many positional arguments a subcommand takes (those before "--"),
 * checked before it runs: MIN to MAX (-1: no limit), or with -U exactly
 * UNIX_N (the PATH first).  MISSING names what too few lack.
 */
struct cmd_args {
	int		 min;
	int		 max;
	int		 unix_n;
	const char	*missing;
};

#define CMD_EXAMPLES_MAX	4	/* lines under "examples:" in --help */

struct cmd_entry {
	const char	*name;
	const char	*summary;	/* one line for "sockt --help" */
	const char	*usage;		/* after "sockt NAME " */
	const enum opt_id *options;	/* accepted, OPT_END terminated */
	const struct cmd_help *help;	/* overrides, OPT_END terminated */
	struct cmd_args	 args;
	const char	*examples[CMD_EXAMPLES_MAX + 1];	/* NULL-ended */
	int		(*exec)(struct sockt_opts *);	/* exit status */
};

extern const struct cmd_entry *const cmd_table[];	/* NULL-ended */

extern const struct cmd_entry cmd_connect_entry;
extern const struct cmd_entry cmd_exec_entry;
extern const struct cmd_entry cmd_fetch_file_entry;
extern const struct cmd_entry cmd_forward_entry;
extern const struct cmd_entry cmd_listen_entry;
extern const struct cmd_entry cmd_send_file_entry;
extern const struct cmd_entry cmd_serve_file_entry;
extern const struct cmd_entry cmd_udp_recv_entry;
extern const struct cmd_entry cmd_udp_send_entry;

#include "addr.h"
#include "listener.h"

#define CMD_ACK_MS	30000	/* --send-only: no progress fails, without -w */
#define CMD_HANDSHAKE_MS 30000	/* a TLS handshake, without -w */

struct dial_spec;
struct session_spec;
struct tls_ctx;
struct http_url;
struct httpc_spec;
struct httpc_request;

const struct cmd_entry *cmd_find(const char *);
const struct cmd_entry *cmd_suggest(const char *);
const char *cmd_hint(const struct cmd_entry *, const char *);

int	 cmd_check_args(const struct sockt_opts *, char **);
int	 cmd_usage_error(const struct sockt_opts *, char *);
int	 cmd_fail(char *);
void	 cmd_die_by_signal(int);
void	 cmd_dial_spec(const struct sockt_opts *, const char *, const char *,
	     struct dial_spec *);
bool	 cmd_tls_options_given(const struct sockt_opts *);
int	 cmd_env_proxy(const struct sockt_opts *, bool, const char *,
	     struct proxy_spec *, char **);
int	 cmd_http_where(const struct sockt_opts *, int, char **,
	     struct http_url *, char **);
void	 cmd_httpc_spec(const struct sockt_opts *, const struct http_url *,
	     struct tls_ctx *, const struct proxy_spec *, struct httpc_spec *,
	     struct httpc_request *);
int	 cmd_listener_spec(const struct sockt_opts *, enum listener_bind,
	     struct addr_endpoint *, struct listener_spec *, char **);
const struct session_spec *cmd_session_spec(const struct sockt_opts *,
	     struct session_spec *);
int	 cmd_tls(const struct sockt_opts *, bool, bool, struct tls_ctx **,
	     char **, bool *);

/* A fixed TARGET to relay to (forward's), and --proxy, resolved once. */
struct cmd_target {
	struct addr_endpoint	 ep;		/* HOST:PORT */
	const char		*path;		/* or a Unix socket */
	struct addrinfo		*addrs;		/* resolved at start */
	struct addrinfo		*proxy_addrs;	/* --proxy's, at start */
	char			*name;		/* for messages */
};

int	 cmd_target(const struct sockt_opts *, const char *,
	     struct cmd_target *, char **, bool *);
void	 cmd_target_free(struct cmd_target *);

#endif
