/*
 * fdkind.h - what kind of file an fd is (socket, pipe, regular file,
 * terminal, other), which decides how the relays read, write and end it;
 * and inherited stdio opened for non-blocking use without changing the
 * file description sockt shares with its parent shell; and an input
 * file opened by name ("-": stdin).
 */
#ifndef SOCKT_FDKIND_H
#define SOCKT_FDKIND_H

#include <stdbool.h>
#include <stdint.h>

enum fd_kind {
	FD_SOCKET,	/* recv/send with MSG_DONTWAIT, shutdown() */
	FD_PIPE,
	FD_FILE,	/* regular file: sendfile() as a source */
	FD_TTY,
	FD_OTHER	/* character devices such as /dev/null */
};

enum fd_kind	 fd_kind_of(int);
int		 fd_stdio_open(int, bool, enum fd_kind *);
int		 fd_open_input(const char *, enum fd_kind *, int64_t *, char **);

#endif
