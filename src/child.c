/*
 * child.c - the program attached to each connection of sockt exec: its
 * start on the loop, environment, relay session, signals and reaping.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "child.h"
#include "log.h"
#include "loop.h"
#include "proc.h"
#include "relay.h"
#include "tls.h"
#include "xmalloc.h"

#define CHILD_SPAWNS	4	/* fork()s per round of the loop */

struct child {
	struct child_set	*set;
	char			 name[ADDR_NAMELEN];
	int			 fd;		/* the client, until io owns it */
	struct tls_conn		*tls;		/* its TLS, likewise */
	struct proc		 proc;
	struct relay_session	*io;
	int			 master;	/* --pty, closed after io */
	bool			 midline;	/* --pty: no EOL last */
	bool			 over;		/* io ended, or never started */
	bool			 exec_failed;
	bool			 reaped;
	bool			 terminating;
	int			 term_sig;	/* what terminating sent */
	int			 status;	/* 1: the connection failed */
	int			 wstatus;
	struct loop_timer	 kill_timer;
	struct loop_timer	 hangup_timer;	/* --pty, after EOF */
	struct child		*prev;
	struct child		*next;
	struct child		*queued;	/* the next waiting for a fork */
	struct relay_source	*sock_in;	/* while io runs: -v counts */
	struct relay_sink	*sock_out;
	uint64_t		 received;	/* from the client, once over */
	uint64_t		 sent;
};

struct child_set {
	struct loop		*loop;
	struct relay		*relay;
	struct child_spec	 spec;
	struct proc_spec	 prog;
	struct child		*list;
	size_t			 n;		/* until reaped and over */
	struct child		*queue;		/* waiting for a fork, in order */
	struct child		**queue_end;
	struct loop_timer	 spawn;
	bool			 stopping;	/* child_stop() ran */
	int			 stop_sig;	/* INT, TERM or HUP obeyed */
};

/* A connection is over with STATUS: tell the caller; the run may end. */
static void
child_set_over(struct child_set *set, int status)
{
	set->spec.done(set->spec.arg, status);
	if (set->spec.single)
		loop_stop(set->loop, status);
	else if (set->stopping && set->n == 0)
		loop_stop(set->loop, set->stop_sig != 0 ? 128 + set->stop_sig :
		    1);
}

static void	child_spawn_fire(struct loop *, void *);

/* ---- taps: -x and -o ---------------------------------------------------- */

/*
 * relay_tap_fn for what the client sends: -x, -o, and under --pty whether
 * a partial line is pending (see proc_pty_send_eof()).
 */
static int
child_tap_in(void *arg, const void *data, size_t len, char **errp)
{
	struct child *c = arg;
	struct log_tap *tap = c->set->spec.tap;
	unsigned char last;

	if (len > 0) {
		last = ((const unsigned char *)data)[len - 1];
		c->midline = last != '\n' && last != '\r';
	}
	if (tap == NULL)
		return 0;
	log_tap_data(tap, LOG_RECEIVED, data, len);
	return log_tap_check(tap, errp);
}

/* relay_tap_fn for what the program sends (-x). */
static int
child_tap_out(void *arg, const void *data, size_t len, char **errp)
{
	struct log_tap *tap = arg;

	log_tap_data(tap, LOG_SENT, data, len);
	return log_tap_check(tap, errp);
}

/* ---- signals and the end ------------------------------------------------ */

/*
 * The program's whole process group: SIG (SIGTERM, or SIGHUP for a
 * terminal hang-up) now, SIGKILL after a grace.  Once only.
 */
static void
child_terminate(struct child *c, int sig)
{
	if (c->reaped || c->terminating)
		return;
	c->terminating = true;
	c->term_sig = sig;
	log_info(2, "%s: %s %s (pid %ld)", c->name, sig == SIGHUP ?
	    "hanging up on" : "terminating", c->set->prog.argv[0],
	    (long)c->proc.pid);
	proc_signal(c->proc.pid, sig);
	proc_signal(c->proc.pid, SIGCONT);	/* a stopped job must hear it */
	loop_timer_arm(c->set->loop, &c->kill_timer, loop_now() +
	    CHILD_KILL_GRACE_MS);
}

/* The grace after SIGTERM or SIGHUP is over: SIGKILL the group if needed. */
static void
child_kill_fire(struct loop *l, void *arg)
{
	struct child *c = arg;

	(void)l;
	if (c->reaped)
		return;
	log_info(1, "%s: %s outlived %s: killing it", c->name,
	    c->set->prog.argv[0], c->term_sig == SIGHUP ? "SIGHUP" :
	    "SIGTERM");
	proc_signal(c->proc.pid, SIGKILL);
}

/* The session is over and the program reaped: report, and free C. */
static void
child_finish(struct child *c)
{
	struct child_set *set = c->set;
	const char *prog = set->prog.argv[0];
	int status, sig;

	status = c->status != 0 ? 1 : proc_exit_status(c->wstatus);
	if (c->exec_failed || c->proc.pid == -1)
		;	/* reported as it failed, or never started */
	else if (WIFSIGNALED(c->wstatus)) {
		sig = WTERMSIG(c->wstatus);
		log_info(1, "%s: %s killed by signal %d (%s)", c->name, prog,
		    sig, strsignal(sig));
	} else
		log_info(1, "%s: %s exited with status %d", c->name, prog,
		    proc_exit_status(c->wstatus));
	if (c->proc.pid != -1 && !c->exec_failed)
		log_info(1, "closed %s: %llu bytes sent, %llu received", c->name,
		    (unsigned long long)c->sent,
		    (unsigned long long)c->received);
	loop_timer_disarm(set->loop, &c->kill_timer);
	loop_timer_disarm(set->loop, &c->hangup_timer);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		set->list = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	set->n--;
	free(c);
	child_set_over(set, status);
}

/* Is C over?  The pty closes once no session uses it. */
static void
child_check(struct child *c)
{
	if (!c->over)
		return;
	if (c->master != -1) {
		/* the last user: closing it hangs up the terminal */
		loop_forget(c->set->loop, c->master);
		close(c->master);
		c->master = -1;
	}
	if (c->reaped)
		child_finish(c);
}

/*
 * The connection is given up before its program ran (it could not be
 * executed, or sockt is stopping): the client and the program's ends
 * are closed, and C ends once the program is reaped.
 */
static void
child_abandon(struct child *c)
{
	struct loop *l = c->set->loop;

	if (c->proc.report != -1) {
		loop_forget(l, c->proc.report);
		close(c->proc.report);
		c->proc.report = -1;
	}
	close(c->fd);
	c->fd = -1;
	tls_conn_free(c->tls);
	c->tls = NULL;
	if (c->proc.out != c->proc.in)
		close(c->proc.out);
	if (c->master == -1)
		close(c->proc.in);
	c->proc.in = c->proc.out = -1;
	c->status = 1;
	c->over = true;
}

/* ---- a running connection ----------------------------------------------- */

/*
 * --pty: the client has gone (its end of file) and all of its input
 * reached the terminal.  Type the end-of-file character, which ends a
 * shell at its prompt or a program reading lines; a program still
 * running CHILD_HANGUP_MS later (one in raw mode that cannot be told, or
 * a job the client left running) is hung up: see child_hangup_fire().
 */
static void
child_pty_input_end(void *arg)
{
	struct child *c = arg;

	if (proc_pty_send_eof(c->master, c->midline) == -1)
		log_info(2, "%s: cannot type end of file: %s", c->name,
		    strerror(errno));
	loop_timer_arm(c->set->loop, &c->hangup_timer, loop_now() +
	    CHILD_HANGUP_MS);
}

/*
 * CHILD_HANGUP_MS after the client's end of file the program still runs:
 * hang up.  Its process group gets SIGHUP, and the connection and the
 * terminal's master are closed, so the terminal is hung up for every
 * process that has it open, and what the program writes from now on (a
 * shell resetting the terminal as it goes) is not sent to a client that
 * has gone.  The exit status is then the program's.
 */
static void
child_hangup_fire(struct loop *l, void *arg)
{
	struct child *c = arg;

	(void)l;
	if (c->reaped)
		return;
	child_terminate(c, SIGHUP);
	if (c->io != NULL)
		relay_session_end(c->io, 0, NULL);	/* may free C */
}

/*
 * The session ended.  Normally the program's output was delivered and
 * the client's input went in (or was discarded once the program stopped
 * reading).  On an error (the peer reset, -i, a -x or -o file failing,
 * sockt stopping) the program is terminated.
 */
static void
child_io_done(struct relay_session *s, int status, const char *msg,
    void *arg)
{
	struct child *c = arg;
	struct child_set *set = c->set;
	bool tap_failed = false;
	char *err;

	(void)s;
	c->io = NULL;
	c->received = c->sock_in ? relay_source_bytes(c->sock_in) : 0;
	c->sent = c->sock_out ? relay_sink_bytes(c->sock_out) : 0;
	c->sock_in = NULL;
	c->sock_out = NULL;
	if (status != 0)
		c->status = 1;
	if (set->spec.tap != NULL && log_tap_check(set->spec.tap, &err) ==
	    -1) {
		tap_failed = true;
		free(err);
	}
	if (status != 0)
		child_terminate(c, SIGTERM);
	c->over = true;
	if (msg != NULL || tap_failed)
		set->spec.fail(set->spec.arg, tap_failed ? CHILD_TAP :
		    CHILD_IO, msg);
	child_check(c);	/* may free C */
}

/* The program runs: relay between it and the client. */
static void
child_run(struct child *c)
{
	struct child_set *set = c->set;
	const struct child_spec *spec = &set->spec;
	const char *prog = set->prog.argv[0];
	enum fd_kind kind = spec->pty ? FD_TTY : FD_PIPE;
	struct relay_source *sock_in, *prog_out;
	struct relay_sink *sock_out, *prog_in;
	char what[ADDR_NAMELEN];
	int fd = c->fd;

	log_info(2, "%s: started %s (pid %ld)", c->name, prog,
	    (long)c->proc.pid);
	c->io = relay_session_new(set->relay, child_io_done, c);
	relay_session_own_fd(c->io, fd);
	c->fd = -1;
	if (c->tls != NULL)
		relay_session_own_tls(c->io, c->tls);
	if (!spec->pty)
		relay_session_own_fd(c->io, c->proc.out);
	sock_in = relay_source_new(c->io, fd, FD_SOCKET, c->name, 0);
	if (c->tls != NULL)
		relay_source_tls(sock_in, c->tls);
	if (spec->tap != NULL || spec->pty)
		relay_source_tap(sock_in, child_tap_in, c);
	snprintf(what, sizeof what, "%s %s", prog, spec->pty ? "terminal" :
	    "stdout");
	prog_out = relay_source_new(c->io, c->proc.out, kind, what, 0);
	if (spec->tap != NULL && spec->tap->hexdump != NULL)
		relay_source_tap(prog_out, child_tap_out, spec->tap);
	sock_out = relay_sink_new(c->io, fd, FD_SOCKET, c->name,
	    RELAY_SINK_SHUTDOWN);
	if (c->tls != NULL)
		relay_sink_tls(sock_out, c->tls);
	c->tls = NULL;	/* the session's now */
	relay_link(prog_out, sock_out);
	snprintf(what, sizeof what, "%s %s", prog, spec->pty ? "terminal" :
	    "stdin");
	prog_in = relay_sink_new(c->io, c->proc.in, kind, what,
	    RELAY_SINK_LOSSY | (spec->pty ? 0 : RELAY_SINK_CLOSE));
	if (spec->pty)
		relay_sink_on_done(prog_in, child_pty_input_end, c);
	relay_link(sock_in, prog_in);
	c->sock_in = sock_in;
	c->sock_out = sock_out;
	if (spec->idle_ms > 0)
		relay_session_set_idle(c->io, spec->idle_ms);
	relay_source_start(sock_in);
	relay_source_start(prog_out);
}

/* The report pipe of C's program says whether execve() succeeded. */
static void
child_report(struct loop *l, int fd, void *arg)
{
	struct child *c = arg;
	char *err;
	int r;

	r = proc_started(&c->proc, &c->set->prog, &err);
	if (r == 0)
		return;
	loop_forget(l, fd);	/* proc_started() closed it */
	if (r == 1) {
		child_run(c);
		return;
	}
	c->exec_failed = true;
	child_abandon(c);
	c->set->spec.fail(c->set->spec.arg, CHILD_EXEC, err);
	free(err);
	child_check(c);	/* may free C */
}

/* ---- the set ------------------------------------------------------------ */

struct child_set *
child_set_new(struct relay *relay, const struct child_spec *spec)
{
	struct child_set *set = xcalloc(1, sizeof *set);

	set->loop = relay_loop(relay);
	set->relay = relay;
	set->spec = *spec;
	set->prog.argv = spec->argv;
	set->prog.pty = spec->pty;
	set->prog.cols = spec->pty_cols;
	set->prog.rows = spec->pty_rows;
	set->prog.stderr_out = spec->stderr_out;
	set->queue_end = &set->queue;
	loop_timer_init(&set->spawn, child_spawn_fire, set);
	return set;
}

/*
 * Fork C's program.  A failure is reported through the fail callback and
 * ends C at once: there is nothing to reap.
 */
static void
child_spawn(struct child *c)
{
	struct child_set *set = c->set;
	struct proc_spec prog = set->prog;
	char *env[PROC_ENV_SOCKET], *err;
	int i, r;

	proc_env_socket(c->fd, set->spec.is_unix, env);
	prog.env = env;
	r = proc_spawn(&prog, &c->proc, &err);
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	if (r == -1) {
		c->exec_failed = true;
		child_abandon(c);
		set->spec.fail(set->spec.arg, CHILD_EXEC, err);
		free(err);
		child_check(c);	/* frees C */
		return;
	}
	c->reaped = false;
	c->master = set->spec.pty ? c->proc.in : -1;
	loop_hold(set->loop);	/* until it is reaped */
	loop_want_read(set->loop, c->proc.report, child_report, c);
}

/*
 * Fork the programs of the connections waiting, CHILD_SPAWNS a round:
 * fork() costs the loop a moment each (page tables, then copy-on-write
 * faults), and a burst of new clients must not hold up the others.
 */
static void
child_spawn_fire(struct loop *l, void *arg)
{
	struct child_set *set = arg;
	struct child *c;
	int i;

	for (i = 0; i < CHILD_SPAWNS && (c = set->queue) != NULL; i++) {
		if ((set->queue = c->queued) == NULL)
			set->queue_end = &set->queue;
		c->queued = NULL;
		child_spawn(c);
	}
	if (set->queue != NULL)
		loop_timer_arm(l, &set->spawn, loop_now());
}

/*
 * Start a program for the connected socket FD (NAME in messages), which
 * is taken.  A program that cannot be started, now or once it is found
 * that execve() failed, is reported through the fail callback, and its
 * client closed.
 */
void
child_start(struct child_set *set, int fd, struct tls_conn *tls,
    const char *name)
{
	struct child *c = xcalloc(1, sizeof *c);

	c->set = set;
	c->fd = fd;
	c->tls = tls;
	strlcpy(c->name, name, sizeof c->name);
	c->proc.pid = -1;
	c->proc.in = c->proc.out = c->proc.report = -1;
	c->master = -1;
	c->reaped = true;	/* no process yet */
	loop_timer_init(&c->kill_timer, child_kill_fire, c);
	loop_timer_init(&c->hangup_timer, child_hangup_fire, c);
	c->next = set->list;
	if (set->list != NULL)
		set->list->prev = c;
	set->list = c;
	set->n++;
	*set->queue_end = c;
	set->queue_end = &c->queued;
	if (!loop_timer_armed(&set->spawn))
		loop_timer_arm(set->loop, &set->spawn, loop_now());
}

/* Reap every child that ended; SIGCHLD brought us here. */
static void
child_reap(struct child_set *set)
{
	struct child *c;
	int wstatus;
	pid_t pid;

	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		for (c = set->list; c != NULL; c = c->next)
			if (!c->reaped && c->proc.pid == pid)
				break;
		if (c == NULL)
			continue;
		c->reaped = true;
		c->wstatus = wstatus;
		loop_timer_disarm(set->loop, &c->kill_timer);
		loop_release(set->loop);
		child_check(c);	/* may free C */
	}
}

/*
 * SIGINT, SIGTERM or SIGHUP (SIG), or a failure of sockt's own (SIG 0):
 * accept no more (the stop callback), end every connection, and terminate
 * every program (SIGKILL after CHILD_KILL_GRACE_MS, or at once when a
 * signal asks again).  Once all are reaped the loop stops.
 */
void
child_stop(struct child_set *set, int sig)
{
	struct child *c, *next;

	if (set->stopping) {
		if (sig != 0 && set->stop_sig == 0)
			set->stop_sig = sig;
		for (c = set->list; sig != 0 && c != NULL; c = c->next)
			if (!c->reaped)
				proc_signal(c->proc.pid, SIGKILL);
		return;
	}
	set->stopping = true;
	set->stop_sig = sig;
	if (sig != 0)
		log_info(1, "%s: stopping", strsignal(sig));
	set->spec.stop(set->spec.arg);
	loop_timer_disarm(set->loop, &set->spawn);
	set->queue = NULL;	/* abandoned below, never forked */
	set->queue_end = &set->queue;
	for (c = set->list; c != NULL; c = next) {
		next = c->next;
		child_terminate(c, SIGTERM);
		if (c->io != NULL)
			relay_session_end(c->io, 1, NULL);	/* may free C */
		else if (!c->over) {
			child_abandon(c);	/* not running yet */
			child_check(c);
		}
	}
	if (set->n == 0)
		loop_stop(set->loop, sig != 0 ? 128 + sig : 1);
}

/* loop_signal_fn (ARG: the set): SIGCHLD reaps, the others stop all. */
void
child_signal(struct loop *l, int sig, void *arg)
{
	(void)l;
	if (sig == SIGCHLD)
		child_reap(arg);
	else
		child_stop(arg, sig);
}

bool
child_stopping(const struct child_set *set)
{
	return set->stopping;
}

/* The signal sockt should die by once it has cleaned up, or 0. */
int
child_stop_signal(const struct child_set *set)
{
	return set == NULL ? 0 : set->stop_sig;
}

/*
 * What is left when the loop ended early: kill it and wait for it.  Call
 * after relay_free(), which closed the running connections' fds.
 */
void
child_set_free(struct child_set *set)
{
	struct child *c;

	if (set == NULL)
		return;
	while ((c = set->list) != NULL) {
		set->list = c->next;
		if (!c->reaped) {
			proc_signal(c->proc.pid, SIGKILL);
			while (waitpid(c->proc.pid, NULL, 0) == -1 &&
			    errno == EINTR)
				continue;
		}
		if (!c->over && c->io == NULL)
			child_abandon(c);
		if (c->master != -1)
			close(c->master);
		free(c);
	}
	free(set);
}
