/*
 * tty.h - the local terminal's mode: switch it to raw for a session and
 * put it back exactly as it was.
 *
 * Failures return -1 and set *errp to an allocated one-line message.
 */
#ifndef SOCKT_TTY_H
#define SOCKT_TTY_H

#include <termios.h>

struct tty_state {
	int		 fd;		/* -1: nothing to restore */
	struct termios	 saved;
};

void	 tty_state_init(struct tty_state *);
int	 tty_check(int, char **);
int	 tty_raw(int, struct tty_state *, char **);
void	 tty_restore(struct tty_state *);

#endif
