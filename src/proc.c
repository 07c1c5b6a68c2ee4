/*
 * proc.c - child processes: fork, put the program in a session of its own,
 * wire its standard I/O to pipes or to a new pseudo-terminal, execvp(),
 * and learn for certain whether it started: every step the child takes
 * before the program runs reports a failure on a close-on-exec pipe, which
 * simply closes when execve() succeeds.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "proc.h"

/* The step of the child's set-up that failed, as reported to the parent. */
enum proc_step {
	PROC_STEP_SETSID,
	PROC_STEP_TTY,
	PROC_STEP_FDS,
	PROC_STEP_ENV,
	PROC_STEP_EXEC
};

struct proc_report {
	int	 step;
	int	 err;
};

/* What the pump catches or ignores; the program starts with the defaults. */
static const int proc_reset_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE
};

/*
 * In the child, when close_range() is missing: mark every fd above 2
 * close-on-exec, walking /proc/self/fd (or every possible fd without it).
 */
static void
proc_cloexec_walk(void)
{
	struct dirent *de;
	const char *errstr;
	long fd, max;
	DIR *d;

	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			fd = (long)strtonum(de->d_name, 3, INT_MAX, &errstr);
			if (errstr == NULL && fd != dirfd(d))
				fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		}
		closedir(d);
		return;
	}
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = 3; fd < max; fd++)
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

static void
proc_close(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

/*
 * A new pseudo-terminal of COLS x ROWS (0: PROC_PTY_COLS, PROC_PTY_ROWS):
 * the master and the slave, both close-on-exec, neither becoming our
 * controlling terminal.
 */
static int
proc_pty_open(unsigned short cols, unsigned short rows, int *master,
    int *slave, char **errp)
{
	struct winsize ws = { .ws_row = rows ? rows : PROC_PTY_ROWS,
	    .ws_col = cols ? cols : PROC_PTY_COLS };
	char name[128];
	int e;

	*slave = -1;
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master == -1 || grantpt(*master) == -1 ||
	    unlockpt(*master) == -1)
		goto fail;
	if ((e = ptsname_r(*master, name, sizeof name)) != 0) {
		errno = e;
		goto fail;
	}
	*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave == -1 || ioctl(*master, TIOCSWINSZ, &ws) == -1)
		goto fail;
	return 0;
fail:
	*errp = log_fmt("pseudo-terminal: %s", strerror(errno));
	proc_close(master);
	proc_close(slave);
	return -1;
}

/*
 * In the child: become a session leader (so the program and whatever it
 * starts form one process group sockt can signal, and signals typed at
 * sockt's terminal reach sockt only), take TTY as the controlling terminal
 * if there is one, make WANT[i] fd i (-1: keep it), and run the program.
 * Never returns; a failure is written to REPORT.
 */
static void __attribute__((noreturn))
proc_child(const struct proc_spec *spec, const int want[3], int tty,
    int report)
{
	struct proc_report r;
	char *const *env;
	sigset_t none;
	int high[3], i;

	for (i = 0; i < (int)(sizeof proc_reset_signals /
	    sizeof proc_reset_signals[0]); i++)
		signal(proc_reset_signals[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	r.step = PROC_STEP_SETSID;
	if (setsid() == -1)
		goto fail;
	r.step = PROC_STEP_TTY;
	if (tty != -1 && ioctl(tty, TIOCSCTTY, 0) == -1)
		goto fail;
	/*
	 * Copies above 2 first: a source fd, or REPORT, may itself be 0, 1 or
	 * 2 (sockt started with those closed), and dup2() onto itself would
	 * neither move it nor clear close-on-exec.
	 */
	r.step = PROC_STEP_FDS;
	if (report < 3 && (i = fcntl(report, F_DUPFD_CLOEXEC, 3)) != -1)
		report = i;
	for (i = 0; i < 3; i++)
		if (want[i] != -1 &&
		    (high[i] = fcntl(want[i], F_DUPFD_CLOEXEC, 3)) == -1)
			goto fail;
	for (i = 0; i < 3; i++)
		if (want[i] != -1 && dup2(high[i], i) == -1)
			goto fail;
	/* Only 0, 1 and 2 reach the program, nothing else sockt inherited. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
		proc_cloexec_walk();
	r.step = PROC_STEP_ENV;
	for (env = spec->env; env != NULL && *env != NULL; env++)
		if (putenv(*env) != 0)
			goto fail;
	r.step = PROC_STEP_EXEC;
	execvp(spec->argv[0], spec->argv);
fail:
	r.err = errno;
	if (write(report, &r, sizeof r) == -1) {
		/* the parent sees a closed pipe without a report */
	}
	_exit(127);
}

static char *
proc_report_message(const struct proc_spec *spec, const struct proc_report *r)
{
	static const char *const what[] = {
		[PROC_STEP_SETSID] = "new session",
		[PROC_STEP_TTY] = "controlling terminal",
		[PROC_STEP_FDS] = "standard I/O",
		[PROC_STEP_ENV] = "environment",
	};

	if (r->step == PROC_STEP_EXEC || r->step < 0 ||
	    r->step > PROC_STEP_EXEC)
		return log_fmt("exec %s: %s", spec->argv[0], strerror(r->err));
	return log_fmt("exec %s: %s: %s", spec->argv[0], what[r->step],
	    strerror(r->err));
}

/* Make FD non-blocking; -1 with errno. */
static int
proc_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/*
 * Start SPEC's program in a new session.  With pipes, its stdin and stdout
 * are pipes to us and its stderr stays sockt's (or joins stdout); with a
 * pty, all three are the slave, which is its controlling terminal.
 * Returns 0 once the child is forked, filling P: whether execve()
 * succeeds is known later, without waiting, from p->report
 * (proc_started()).  Returns -1 with *errp when nothing was started.
 */
int
proc_spawn(const struct proc_spec *spec, struct proc *p, char **errp)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, report[2] = { -1, -1 };
	int master = -1, slave = -1, want[3], saved;
	sigset_t all, old;
	pid_t pid;

	p->pid = -1;
	p->in = p->out = p->report = -1;
	*errp = NULL;
	if (pipe2(report, O_CLOEXEC) == -1 || proc_nonblock(report[0]) == -1)
		goto fail_errno;
	if (spec->pty) {
		if (proc_pty_open(spec->cols, spec->rows, &master, &slave,
		    errp) == -1)
			goto fail;
		if (proc_nonblock(master) == -1)
			goto fail_errno;
		want[0] = want[1] = want[2] = slave;
	} else {
		if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
			goto fail_errno;
		/* our ends only: the program's stay blocking */
		if (proc_nonblock(in[1]) == -1 || proc_nonblock(out[0]) == -1)
			goto fail_errno;
		want[0] = in[0];
		want[1] = out[1];
		want[2] = spec->stderr_out ? out[1] : -1;
	}

	/* No handler of ours may run in the child before it resets them. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		proc_child(spec, want, slave, report[1]);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		errno = saved;
		goto fail_errno;
	}

	proc_close(&report[1]);
	proc_close(&in[0]);
	proc_close(&out[1]);
	proc_close(&slave);
	p->pid = pid;
	p->in = spec->pty ? master : in[1];
	p->out = spec->pty ? master : out[0];
	p->report = report[0];
	return 0;

fail_errno:
	*errp = log_fmt("exec %s: %s", spec->argv[0], strerror(errno));
fail:
	proc_close(&report[0]);
	proc_close(&report[1]);
	proc_close(&in[0]);
	proc_close(&in[1]);
	proc_close(&out[0]);
	proc_close(&out[1]);
	proc_close(&master);
	proc_close(&slave);
	return -1;
}

/*
 * Has P's program started?  Reads p->report, which closes unread when
 * execve() succeeds and carries the failed step otherwise.  Returns 1
 * when the program runs, 0 when it is not known yet (wait for p->report
 * to be readable), or -1 with *errp when it could not be started: the
 * child is exiting (killed, when it sent no proper report) and is still
 * the caller's to reap.  p->report is closed once the answer is known.
 */
int
proc_started(struct proc *p, const struct proc_spec *spec, char **errp)
{
	struct proc_report r;
	ssize_t n;

	do
		n = read(p->report, &r, sizeof r);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return 0;
	proc_close(&p->report);
	if (n == 0)
		return 1;
	if (n != (ssize_t)sizeof r) {
		/* no report, yet no exec: do not leave it running */
		r.step = PROC_STEP_EXEC;
		r.err = n == -1 ? errno : EIO;
		kill(p->pid, SIGKILL);
	}
	*errp = proc_report_message(spec, &r);
	return -1;
}

/*
 * HOST and PORT of an address for SOCKT_*; empty when it has none.  A
 * Unix name is given as it is (cut at a NUL): the program reads it, no
 * terminal does.
 */
static void
proc_env_addr(const struct sockaddr_storage *ss, socklen_t len, char *host,
    size_t hostlen, char *port, size_t portlen)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)ss;
	size_t pathlen;
	uint16_t n;

	host[0] = port[0] = '\0';
	if (addr_numeric((const struct sockaddr *)ss, len, host, hostlen,
	    &n) == 0)
		snprintf(port, portlen, "%u", n);
	else if (ss->ss_family == AF_UNIX &&
	    len > offsetof(struct sockaddr_un, sun_path)) {
		pathlen = len - offsetof(struct sockaddr_un, sun_path);
		if (pathlen > sizeof sun->sun_path)
			pathlen = sizeof sun->sun_path;
		if (sun->sun_path[0] == '\0')
			snprintf(host, hostlen, "@%.*s", (int)strnlen(
			    sun->sun_path + 1, pathlen - 1), sun->sun_path + 1);
		else
			snprintf(host, hostlen, "%.*s", (int)strnlen(
			    sun->sun_path, pathlen), sun->sun_path);
	}
}

/*
 * The environment of a program serving socket FD: ENV[0..4] are
 * SOCKT_PROTO ("unix" when IS_UNIX, else "tcp") and the peer's and our
 * address and port, allocated; ENV[5] is NULL.
 */
void
proc_env_socket(int fd, bool is_unix, char *env[PROC_ENV_SOCKET])
{
	struct sockaddr_storage ss;
	char host[ADDR_NAMELEN], port[8];
	socklen_t len;

	env[0] = log_fmt("SOCKT_PROTO=%s", is_unix ? "unix" : "tcp");
	memset(&ss, 0, sizeof ss);
	len = sizeof ss;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		len = 0;
	proc_env_addr(&ss, len, host, sizeof host, port, sizeof port);
	env[1] = log_fmt("SOCKT_PEER_ADDR=%s", host);
	env[2] = log_fmt("SOCKT_PEER_PORT=%s", port);
	memset(&ss, 0, sizeof ss);
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		len = 0;
	proc_env_addr(&ss, len, host, sizeof host, port, sizeof port);
	env[3] = log_fmt("SOCKT_LOCAL_ADDR=%s", host);
	env[4] = log_fmt("SOCKT_LOCAL_PORT=%s", port);
	env[5] = NULL;
}

/*
 * Send SIG to the process group PID leads (and so to what it started); to
 * PID alone while it has no group yet (proc_spawn()'s child before its
 * setsid(): the signal waits, blocked, until it has reset its handlers).
 */
int
proc_signal(pid_t pid, int sig)
{
	if (pid <= 0) {
		errno = ESRCH;	/* never kill(-1) or our own group */
		return -1;
	}
	if (kill(-pid, sig) == 0)
		return 0;
	if (errno != ESRCH)
		return -1;
	return kill(pid, sig);
}

/* A wait status as a shell reports it: the exit code, or 128 + signal. */
int
proc_exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

/*
 * The input of the program on pty MASTER has ended: type the terminal's
 * end-of-file character, twice when MIDLINE (the first only completes a
 * partial line).  In non-canonical mode end of file has no meaning and
 * nothing is sent.  Returns 0, or -1 with errno.
 */
int
proc_pty_send_eof(int master, bool midline)
{
	struct termios t;
	char eof[2];
	size_t n = midline ? 2 : 1;

	if (tcgetattr(master, &t) == -1)
		return -1;
	if ((t.c_lflag & ICANON) == 0 || t.c_cc[VEOF] == _POSIX_VDISABLE)
		return 0;
	eof[0] = eof[1] = (char)t.c_cc[VEOF];
	return write(master, eof, n) == (ssize_t)n ? 0 : -1;
}
