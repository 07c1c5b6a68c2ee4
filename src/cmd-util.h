/*
 * cmd-util.h - the accept helpers of cmd.c that listener.c replaces; they
 * go once no subcommand uses them.  The rest is in cmd.h.
 */
#ifndef SOCKT_CMD_UTIL_H
#define SOCKT_CMD_UTIL_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

#include "cmd.h"
#include "loop.h"
#include "relay.h"
#include "sock.h"

int	 cmd_report_listening(const struct sockt_opts *,
	     const struct sock_listeners *, const char *, char **);
bool	 cmd_admit(const struct sockt_opts *, const struct sockaddr *,
	     const char *, size_t);
void	 cmd_watch_listeners(struct loop *, const struct sock_listeners *,
	     bool, loop_io_fn *, void *);
int	 cmd_accept(const struct sockt_opts *, int, size_t, char *, size_t,
	     bool *);

#define CMD_ACCEPT_PAUSE_MS	100	/* out of fds: accept again after */

#endif
