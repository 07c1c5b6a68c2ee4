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

struct cmd_entry {
	const char	*name;
	const char	*summary;	/* one line for "sockt --help" */
	const char	*usage;		/* after "sockt NAME " */
	const enum opt_id *options;	/* accepted, OPT_END terminated */
	const struct cmd_help *help;	/* overrides, OPT_END terminated */
	int		(*exec)(struct sockt_opts *);	/* exit status */
};

extern const struct cmd_entry cmd_connect_entry;
extern const struct cmd_entry cmd_exec_entry;
extern const struct cmd_entry cmd_fetch_file_entry;
extern const struct cmd_entry cmd_listen_entry;
extern const struct cmd_entry cmd_serve_file_entry;
extern const struct cmd_entry cmd_udp_recv_entry;
extern const struct cmd_entry cmd_udp_send_entry;

#endif
