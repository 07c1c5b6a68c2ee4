/*
 * proc.h - child processes: start a program with its standard input and
 * output on pipes or on a new pseudo-terminal, detect a failed execve()
 * reliably and without waiting for it, describe the connection it serves
 * in its environment (SOCKT_*), signal its process group, and turn a wait
 * status into an exit status.
 *
 * Failures return -1 and set *errp to an allocated one-line message; the
 * caller frees it.
 */
#ifndef SOCKT_PROC_H
#define SOCKT_PROC_H

#include <sys/types.h>

#include <stdbool.h>

/* What to run, and how its standard I/O is wired. */
struct proc_spec {
	char *const	*argv;		/* argv[0] is looked up in PATH */
	char *const	*env;		/* "NAME=VALUE" to add; NULL-ended */
	bool		 pty;		/* stdio on a new terminal */
	bool		 stderr_out;	/* pipes: stderr joins stdout (2>&1) */
	unsigned short	 cols, rows;	/* the pty's window size; 0: 80x24 */
};

/*
 * A started program.  The caller owns the fds, which are non-blocking and
 * close-on-exec; with a pty, in and out are the same master fd.  REPORT
 * is readable once it is known whether the program runs (proc_started()).
 */
struct proc {
	pid_t		 pid;		/* leads its own session and group */
	int		 in;		/* its stdin: pipe write end / master */
	int		 out;		/* its stdout: pipe read end / master */
	int		 report;	/* -1 once proc_started() answered */
};

#define PROC_PTY_ROWS	24	/* the window size a new terminal starts with */
#define PROC_PTY_COLS	80

int	 proc_spawn(const struct proc_spec *, struct proc *, char **);
int	 proc_started(struct proc *, const struct proc_spec *, char **);
#define PROC_ENV_SOCKET	6	/* SOCKT_* variables, and the NULL */

void	 proc_env_socket(int, bool, char *[PROC_ENV_SOCKET]);
int	 proc_signal(pid_t, int);
int	 proc_exit_status(int);
int	 proc_pty_send_eof(int, bool);

#endif
