/*
 * cmd-util.h - helpers shared by the cmd-*.c files (cmd.c).
 */
#ifndef SOCKT_CMD_UTIL_H
#define SOCKT_CMD_UTIL_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

#include "options.h"
#include "loop.h"
#include "relay.h"
#include "sock.h"

int	 cmd_usage_error(const struct sockt_opts *, char *);
int	 cmd_fail(char *);
int	 cmd_report_listening(const struct sockt_opts *,
	     const struct sock_listeners *, const char *, char **);
void	 cmd_die_by_signal(int);
bool	 cmd_admit(const struct sockt_opts *, const struct sockaddr *,
	     const char *, size_t);
void	 cmd_watch_listeners(struct loop *, const struct sock_listeners *,
	     bool, loop_io_fn *, void *);
int	 cmd_accept(const struct sockt_opts *, int, size_t, char *, size_t,
	     bool *);

#define CMD_ACCEPT_PAUSE_MS	100	/* out of fds: accept again after */

#endif
