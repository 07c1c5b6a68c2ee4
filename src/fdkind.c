/*
 * fdkind.c - fd kinds, and stdio made safe to use without blocking.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "fdkind.h"

#define FD_PIPE_SIZE	(1024 * 1024)	/* see fd_stdio_open() */

enum fd_kind
fd_kind_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return FD_OTHER;
	if (S_ISSOCK(st.st_mode))
		return FD_SOCKET;
	if (S_ISFIFO(st.st_mode))
		return FD_PIPE;
	if (S_ISREG(st.st_mode))
		return FD_FILE;
	if (S_ISCHR(st.st_mode) && isatty(fd))
		return FD_TTY;
	return FD_OTHER;
}

/*
 * An fd for inherited stdio FD that sockt may use without blocking, and
 * without changing the file description it shares with the shell: pipes
 * and terminals are opened again through /proc as a description of our
 * own, made O_NONBLOCK (a shared pipe or terminal left non-blocking breaks
 * the parent shell); sockets use MSG_DONTWAIT per call; regular files
 * never block.  Returns the fd to use (FD itself, or a new one the caller
 * closes) and its kind in *KIND.
 */
int
fd_stdio_open(int fd, bool for_write, enum fd_kind *kind)
{
	char path[64];
	int nfd;

	*kind = fd_kind_of(fd);
	if (*kind != FD_PIPE && *kind != FD_TTY && *kind != FD_OTHER)
		return fd;
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	nfd = open(path, (for_write ? O_WRONLY : O_RDONLY) | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY);
	if (nfd == -1)
		nfd = fd;
	/* A bigger pipe means fewer, larger splices on both of its ends. */
	if (*kind == FD_PIPE && fcntl(nfd, F_GETPIPE_SZ) < FD_PIPE_SIZE)
		fcntl(nfd, F_SETPIPE_SZ, FD_PIPE_SIZE);
	return nfd;
}
