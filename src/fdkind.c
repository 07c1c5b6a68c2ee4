/*
 * fdkind.c - fd kinds, stdio made safe to use without blocking, and an
 * input file opened by name.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fdkind.h"
#include "log.h"

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

/*
 * Open PATH for reading ("-": stdin, as fd_stdio_open() gives it): a
 * regular file, a pipe, a terminal or a device, never a directory; a
 * FIFO's open() does not block.  Returns the fd (STDIN_FILENO, or one the
 * caller closes), its kind in *KIND and in *SIZE the bytes a regular file
 * holds from its offset (else -1); -1 with *errp.
 */
int
fd_open_input(const char *path, enum fd_kind *kind, int64_t *size,
    char **errp)
{
	struct stat st;
	off_t at;
	int fd;

	*size = -1;
	if (strcmp(path, "-") == 0)
		fd = fd_stdio_open(STDIN_FILENO, false, kind);
	else if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY)) == -1) {
		*errp = log_fmt("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || (S_ISDIR(st.st_mode) && (errno =
	    EISDIR))) {
		*errp = log_fmt("%s: %s", path, strerror(errno));
		if (fd > STDERR_FILENO)
			close(fd);
		return -1;
	}
	*kind = fd_kind_of(fd);
	if (S_ISREG(st.st_mode) && (at = lseek(fd, 0, SEEK_CUR)) >= 0 &&
	    st.st_size >= at)
		*size = st.st_size - at;
	return fd;
}
