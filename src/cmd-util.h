/*
 * cmd-util.h - helpers shared by the cmd-*.c files (cmd.c).
 */
#ifndef SOCKT_CMD_UTIL_H
#define SOCKT_CMD_UTIL_H

#include "options.h"
#include "sock.h"

int	 cmd_usage_error(const struct sockt_opts *, char *);
int	 cmd_fail(char *);
int	 cmd_report_listening(const struct sockt_opts *,
	     const struct sock_listeners *, const char *, char **);
void	 cmd_die_by_signal(int);

#endif
