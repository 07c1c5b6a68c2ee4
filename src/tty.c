/*
 * tty.c - raw mode for the local terminal (connect --raw-tty): every key,
 * ^C and ^D included, goes to the peer as typed, and the saved mode comes
 * back when the session ends.
 */
#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "tty.h"

void
tty_state_init(struct tty_state *st)
{
	memset(st, 0, sizeof *st);
	st->fd = -1;
}

/*
 * Can FD be put in raw mode by us?  It must be a terminal, and ours: a
 * background job changing it would be stopped by SIGTTOU.
 */
int
tty_check(int fd, char **errp)
{
	pid_t fg;

	if (!isatty(fd)) {
		*errp = log_fmt("--raw-tty: standard input is not a terminal");
		return -1;
	}
	fg = tcgetpgrp(fd);
	if (fg != -1 && fg != getpgrp()) {
		*errp = log_fmt("--raw-tty: the terminal belongs to another "
		    "job");
		return -1;
	}
	return 0;
}

/*
 * Save FD's mode in ST and make it raw: no echo, no line editing, no
 * signals from keys, no flow control, no output processing (the peer's
 * terminal already turned "\n" into "\r\n"), 8-bit bytes.
 */
int
tty_raw(int fd, struct tty_state *st, char **errp)
{
	struct termios raw;

	if (tty_check(fd, errp) == -1)
		return -1;
	if (tcgetattr(fd, &st->saved) == -1)
		goto fail;
	raw = st->saved;
	raw.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR |
	    IGNCR | ICRNL | IXON | IXANY | IXOFF);
	raw.c_oflag &= ~(tcflag_t)OPOST;
	raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	while (tcsetattr(fd, TCSADRAIN, &raw) == -1)
		if (errno != EINTR)
			goto fail;
	st->fd = fd;
	return 0;
fail:
	*errp = log_fmt("--raw-tty: %s", strerror(errno));
	return -1;
}

/*
 * Put back the mode tty_raw() saved, if any.  SIGTTOU is held off, so this
 * works even if we were moved to the background meanwhile.
 */
void
tty_restore(struct tty_state *st)
{
	sigset_t ttou, old;

	if (st->fd == -1)
		return;
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	while (tcsetattr(st->fd, TCSADRAIN, &st->saved) == -1 &&
	    errno == EINTR)
		continue;
	sigprocmask(SIG_SETMASK, &old, NULL);
	st->fd = -1;
}
