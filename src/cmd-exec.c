/*
 * cmd-exec.c - "sockt exec": run a program for each connection with its
 * standard input and output pumped to and from the socket (so -x, -o, -i
 * and the end-of-stream rules apply as everywhere).  It listens, on
 * loopback unless given an ADDRESS, for one client or with -k for every
 * client, or connects out with --connect.
 *
 * A connection is two pump sessions and a child:
 *   io    the socket's input (read here) and the program's output -> the
 *         socket, half-closed when the program closes its output;
 *   feed  the socket's input -> the program's stdin, closed at the
 *         client's end of file.  A session of its own, so that a program
 *         that stops reading (EPIPE, or EIO on a terminal) only ends
 *         this direction: the rest of the input is then discarded.
 * The connection is over when both sessions are and the child is reaped.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "cmd-util.h"
#include "log.h"
#include "proc.h"
#include "loop.h"
#include "relay.h"
#include "sock.h"

#define EXEC_KILL_GRACE_MS	2000	/* SIGTERM or SIGHUP to SIGKILL */
#define EXEC_HANGUP_MS		2000	/* --pty: client's EOF to SIGHUP */
#define EXEC_KEEPALIVE_MS	60000	/* see exec_keepalive() */
#define EXEC_LOOPBACK_TRIES	8	/* port 0: one free on ::1 as well */
#define EXEC_NAME_MAX		ADDR_NAMELEN

static const enum opt_id exec_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_UNIX, OPT_NUMERIC, OPT_VERBOSE, OPT_SOURCE,
	OPT_PORT, OPT_TIMEOUT, OPT_IDLE, OPT_KEEP, OPT_MAX_CONNS, OPT_ALLOW,
	OPT_DENY, OPT_PORT_FILE, OPT_HEXDUMP, OPT_OUTPUT, OPT_CONNECT,
	OPT_PTY, OPT_STDERR, OPT_SH, OPT_END
};

static int	cmd_exec_exec(struct sockt_opts *);

static const struct cmd_help exec_help[] = {
	{ OPT_PORT, "the port to listen on (source port with --connect)" },
	{ OPT_TIMEOUT, "connect timeout with --connect, else time to wait for the first client" },
	{ OPT_IDLE, "end a connection idle that long" },
	{ OPT_OUTPUT, "also write what clients send to FILE" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_exec_entry = {
	.name = "exec",
	.summary = "run a program for each connection, its stdio on the "
	    "socket",
	.usage = "[options] [ADDRESS] PORT | -U PATH -- PROGRAM [ARG...]\n"
	    "       sockt exec [options] --sh COMMAND [ADDRESS] PORT | "
	    "-U PATH\n"
	    "       sockt exec [options] --connect HOST PORT | -U PATH "
	    "-- PROGRAM [ARG...]",
	.options = exec_options,
	.help = exec_help,
	.args = { 0, 2, 1, "PORT" },
	.exec = cmd_exec_exec,
};

struct exec_conn;

struct exec_run {
	struct sockt_opts	*o;
	struct loop		*loop;
	struct relay		*relay;
	struct proc_spec	 spec;
	char			*sh_argv[4];	/* --sh: /bin/sh -c COMMAND */
	struct sock_listeners	 ls;
	bool			 accepting;
	bool			 served;	/* a client came */
	struct loop_timer	 accept_deadline;	/* -w */
	struct loop_timer	 accept_retry;		/* after EMFILE */
	struct loop_timer	 keepalive;
	struct log_tap		 tap;		/* -x, -o */
	bool			 tapping;
	struct exec_conn	*conns;
	size_t			 nconns;	/* until the child is reaped */
	int			 status;
	bool			 stopping;	/* exec_shutdown() ran */
	int			 stop_sig;	/* INT, TERM or HUP obeyed */
};

struct exec_conn {
	struct exec_run		*run;
	char			 name[EXEC_NAME_MAX];
	struct proc		 child;
	struct relay_session	*io;
	struct relay_session	*feed;
	struct relay_source	*sock_in;
	struct relay_sink	*prog_in;
	int			 master;	/* --pty, closed after both */
	bool			 midline;	/* --pty: no EOL last */
	bool			 io_over;
	bool			 feed_over;
	bool			 reaped;
	bool			 terminating;
	int			 term_sig;	/* what terminating sent */
	int			 io_status;
	int			 wstatus;
	struct loop_timer	 kill_timer;
	struct loop_timer	 hangup_timer;	/* --pty, after EOF */
	struct exec_conn	*prev;
	struct exec_conn	*next;
};

static void	exec_accept(struct loop *, int, void *);
static void	exec_conn_check(struct exec_conn *);
static void	exec_shutdown(struct exec_run *, int);

/* One client (no -k, or --connect): its end is sockt's end. */
static bool
exec_single(const struct exec_run *run)
{
	return !run->o->keep || run->o->connect;
}

/* How sockt ends after exec_shutdown(): by its signal, or 1 on an error. */
static int
exec_stop_status(const struct exec_run *run)
{
	return run->stop_sig != 0 ? 128 + run->stop_sig : 1;
}

/* ---- the program's environment ---------------------------------------- */

/*
 * HOST and PORT of an address for SOCKT_*; empty when it has none.  A
 * Unix name is given as it is (cut at a NUL): the program reads it, no
 * terminal does.
 */
static void
exec_env_addr(const struct sockaddr_storage *ss, socklen_t len, char *host,
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
 * ENV[0..4]: SOCKT_PROTO and the peer's and our address and port on FD,
 * allocated; ENV[5] is NULL.
 */
static void
exec_env(int fd, bool is_unix, char *env[6])
{
	struct sockaddr_storage ss;
	char host[EXEC_NAME_MAX], port[8];
	socklen_t len;

	env[0] = log_fmt("SOCKT_PROTO=%s", is_unix ? "unix" : "tcp");
	memset(&ss, 0, sizeof ss);
	len = sizeof ss;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		len = 0;
	exec_env_addr(&ss, len, host, sizeof host, port, sizeof port);
	env[1] = log_fmt("SOCKT_PEER_ADDR=%s", host);
	env[2] = log_fmt("SOCKT_PEER_PORT=%s", port);
	memset(&ss, 0, sizeof ss);
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		len = 0;
	exec_env_addr(&ss, len, host, sizeof host, port, sizeof port);
	env[3] = log_fmt("SOCKT_LOCAL_ADDR=%s", host);
	env[4] = log_fmt("SOCKT_LOCAL_PORT=%s", port);
	env[5] = NULL;
}

/* ---- taps: -x and -o -------------------------------------------------- */

/* Open the -x and -o files (truncated); -1 with *errp. */
static int
exec_tap_open(struct exec_run *run, char **errp)
{
	const struct sockt_opts *o = run->o;

	if (log_tap_open(&run->tap, o->hexdump, o->output, errp) == -1)
		return -1;
	run->tapping = o->hexdump != NULL || o->output != NULL;
	return 0;
}

/*
 * relay_tap_fn for what the client sends: -x, -o, and under --pty whether
 * a partial line is pending (see proc_pty_send_eof()).
 */
static int
exec_tap_in(void *arg, const void *data, size_t len, char **errp)
{
	struct exec_conn *c = arg;
	struct exec_run *run = c->run;
	unsigned char last;

	if (len > 0) {
		last = ((const unsigned char *)data)[len - 1];
		c->midline = last != '\n' && last != '\r';
	}
	if (!run->tapping)
		return 0;
	log_tap_data(&run->tap, LOG_RECEIVED, data, len);
	return log_tap_check(&run->tap, errp);
}

/* relay_tap_fn for what the program sends (-x). */
static int
exec_tap_out(void *arg, const void *data, size_t len, char **errp)
{
	struct exec_run *run = arg;

	log_tap_data(&run->tap, LOG_SENT, data, len);
	return log_tap_check(&run->tap, errp);
}

/* ---- one connection --------------------------------------------------- */

/*
 * The program's whole process group: SIG (SIGTERM, or SIGHUP for a
 * terminal hang-up) now, SIGKILL after a grace.  Once only.
 */
static void
exec_conn_terminate(struct exec_conn *c, int sig)
{
	struct exec_run *run = c->run;

	if (c->reaped || c->terminating)
		return;
	c->terminating = true;
	c->term_sig = sig;
	log_info(2, "%s: %s %s (pid %ld)", c->name, sig == SIGHUP ?
	    "hanging up on" : "terminating", run->spec.argv[0],
	    (long)c->child.pid);
	proc_signal(c->child.pid, sig);
	proc_signal(c->child.pid, SIGCONT);	/* a stopped job must hear it */
	loop_timer_arm(run->loop, &c->kill_timer, loop_now() +
	    EXEC_KILL_GRACE_MS);
}

/* The grace after SIGTERM or SIGHUP is over: SIGKILL the group if needed. */
static void
exec_kill_fire(struct loop *p, void *arg)
{
	struct exec_conn *c = arg;

	(void)p;
	if (c->reaped)
		return;
	log_info(1, "%s: %s outlived %s: killing it", c->name,
	    c->run->spec.argv[0], c->term_sig == SIGHUP ? "SIGHUP" :
	    "SIGTERM");
	proc_signal(c->child.pid, SIGKILL);
}

/* Both sessions and the child are gone: report, and free C. */
static void
exec_conn_finish(struct exec_conn *c)
{
	struct exec_run *run = c->run;
	const char *prog = run->spec.argv[0];
	int status, sig;

	status = c->io_status != 0 ? 1 : proc_exit_status(c->wstatus);
	if (WIFSIGNALED(c->wstatus)) {
		sig = WTERMSIG(c->wstatus);
		log_info(1, "%s: %s killed by signal %d (%s)", c->name, prog,
		    sig, strsignal(sig));
	} else
		log_info(1, "%s: %s exited with status %d", c->name, prog,
		    proc_exit_status(c->wstatus));
	loop_timer_disarm(run->loop, &c->kill_timer);
	loop_timer_disarm(run->loop, &c->hangup_timer);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		run->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	run->nconns--;
	free(c);

	if (run->nconns == 0)
		loop_timer_disarm(run->loop, &run->keepalive);
	if (exec_single(run)) {
		run->status = status;
		loop_stop(run->loop, status);
	} else if (run->stopping && run->nconns == 0)
		loop_stop(run->loop, exec_stop_status(run));
}

/* Is C over?  The pty closes once no session uses it. */
static void
exec_conn_check(struct exec_conn *c)
{
	if (!c->io_over || !c->feed_over)
		return;
	if (c->master != -1) {
		/* the last user: closing it hangs up the terminal */
		loop_forget(c->run->loop, c->master);
		close(c->master);
		c->master = -1;
	}
	if (c->reaped)
		exec_conn_finish(c);
}

/*
 * The program stopped reading while the client still sends: read the
 * client to its end anyway, into /dev/null, so that closing the socket
 * never resets a connection that still has a reply to deliver.
 */
static void
exec_discard_input(struct exec_conn *c)
{
	struct relay_sink *k;
	int fd;

	if (c->io == NULL || relay_source_eof(c->sock_in))
		return;
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd == -1) {
		relay_source_close(c->sock_in);
		return;
	}
	k = relay_sink_new(c->io, fd, FD_OTHER, "/dev/null",
	    RELAY_SINK_CLOSE);
	relay_link(c->sock_in, k);
}

/* The feed session ended: the program's input is closed or unwanted. */
static void
exec_feed_done(struct relay_session *ps, int status, const char *msg,
    void *arg)
{
	struct exec_conn *c = arg;

	(void)ps;
	c->feed = NULL;
	c->prog_in = NULL;
	if (status != 0) {
		log_info(2, "%s: %s; discarding the rest of the input",
		    c->name, msg ? msg : "the program stopped reading");
		exec_discard_input(c);
	}
	c->feed_over = true;
	exec_conn_check(c);
}

/*
 * --pty: the client has gone (its end of file) and all of its input
 * reached the terminal.  Type the end-of-file character, which ends a
 * shell at its prompt or a program reading lines; a program still
 * running EXEC_HANGUP_MS later (one in raw mode that cannot be told, or
 * a job the client left running) is hung up, as when a terminal closes:
 * see exec_hangup_fire().
 */
static void
exec_pty_input_end(void *arg)
{
	struct exec_conn *c = arg;

	if (proc_pty_send_eof(c->master, c->midline) == -1)
		log_info(2, "%s: cannot type end of file: %s", c->name,
		    strerror(errno));
	loop_timer_arm(c->run->loop, &c->hangup_timer, loop_now() +
	    EXEC_HANGUP_MS);
}

/*
 * EXEC_HANGUP_MS after the client's end of file the program still runs:
 * hang up.  Its process group gets SIGHUP, and the connection and the
 * terminal's master are closed, so the terminal is hung up for every
 * process that has it open, and what the program writes from now on (a
 * shell resetting the terminal as it goes) is not sent to a client that
 * has gone.  The exit status is then the program's.
 */
static void
exec_hangup_fire(struct loop *p, void *arg)
{
	struct exec_conn *c = arg;

	(void)p;
	if (c->reaped)
		return;
	exec_conn_terminate(c, SIGHUP);
	if (c->io != NULL)
		relay_session_end(c->io, 0, NULL);	/* may free C */
}

/*
 * The io session ended.  Normally the program's output was delivered and
 * the client sent its end of file: what is queued for the program still
 * goes in.  On an error (the peer reset, -i, -o failing, sockt stopping)
 * its input is dropped and it is terminated.  A -x or -o file that cannot
 * be written is sockt's own failure: under -k it stops everything too.
 */
static void
exec_io_done(struct relay_session *ps, int status, const char *msg,
    void *arg)
{
	struct exec_conn *c = arg;
	struct exec_run *run = c->run;
	bool tap_failed;
	char *err;

	(void)ps;
	c->io = NULL;
	c->sock_in = NULL;
	c->io_status = status;
	tap_failed = log_tap_check(&run->tap, &err) == -1;
	if (tap_failed)
		free(err);
	if (msg != NULL && !run->stopping) {
		if (exec_single(run) || tap_failed)
			log_error("%s", msg);
		else
			log_info(1, "%s", msg);
	}
	if (c->feed != NULL) {
		if (status == 0)
			relay_sink_end(c->prog_in);
		else
			relay_session_end(c->feed, 0, NULL);
	}
	if (status != 0)
		exec_conn_terminate(c, SIGTERM);
	c->io_over = true;
	exec_conn_check(c);	/* may free C */
	if (tap_failed && !exec_single(run))
		exec_shutdown(run, 0);
}

/*
 * Start the program for the connected socket FD (NAME in messages) and
 * pump between them.  Takes FD.  Returns -1 when the program could not be
 * started: the error is reported and FD closed.
 */
static int
exec_conn_start(struct exec_run *run, int fd, const char *name)
{
	const struct sockt_opts *o = run->o;
	const char *prog = run->spec.argv[0];
	enum fd_kind kind = o->pty ? FD_TTY : FD_PIPE;
	struct proc_spec spec = run->spec;
	struct relay_source *prog_out;
	struct relay_sink *sock_out;
	struct exec_conn *c;
	char *env[6], *err, what[EXEC_NAME_MAX];
	int i, r;

	c = calloc(1, sizeof *c);
	if (c == NULL) {
		log_error("%s: out of memory", name);
		close(fd);
		return -1;
	}
	exec_env(fd, o->unix_socket, env);
	spec.env = env;
	r = proc_spawn(&spec, &c->child, &err);
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	if (r == -1) {
		log_error("%s", err);
		free(err);
		free(c);
		close(fd);
		return -1;
	}
	log_info(2, "%s: started %s (pid %ld)", name, prog,
	    (long)c->child.pid);
	c->run = run;
	strlcpy(c->name, name, sizeof c->name);
	c->master = o->pty ? c->child.in : -1;
	loop_timer_init(&c->kill_timer, exec_kill_fire, c);
	loop_timer_init(&c->hangup_timer, exec_hangup_fire, c);

	c->io = relay_session_new(run->relay, exec_io_done, c);
	relay_session_own_fd(c->io, fd);
	if (!o->pty)
		relay_session_own_fd(c->io, c->child.out);
	/* -i: copying lets the io session see input traffic too */
	c->sock_in = relay_source_new(c->io, fd, FD_SOCKET, name,
	    o->idle_ms > 0 ? RELAY_SOURCE_NOSPLICE : 0);
	if (run->tapping || o->pty)
		relay_source_tap(c->sock_in, exec_tap_in, c);
	snprintf(what, sizeof what, "%s %s", prog, o->pty ? "terminal" :
	    "stdout");
	prog_out = relay_source_new(c->io, c->child.out, kind, what, 0);
	if (run->tap.hexdump != NULL)
		relay_source_tap(prog_out, exec_tap_out, run);
	sock_out = relay_sink_new(c->io, fd, FD_SOCKET, name,
	    RELAY_SINK_SHUTDOWN);
	relay_link(prog_out, sock_out);

	c->feed = relay_session_new(run->relay, exec_feed_done, c);
	snprintf(what, sizeof what, "%s %s", prog, o->pty ? "terminal" :
	    "stdin");
	c->prog_in = relay_sink_new(c->feed, c->child.in, kind, what,
	    o->pty ? 0 : RELAY_SINK_CLOSE);
	if (o->pty)
		relay_sink_on_done(c->prog_in, exec_pty_input_end, c);
	relay_link(c->sock_in, c->prog_in);

	c->next = run->conns;
	if (run->conns != NULL)
		run->conns->prev = c;
	run->conns = c;
	run->nconns++;
	loop_timer_arm(run->loop, &run->keepalive, loop_now() +
	    EXEC_KEEPALIVE_MS);
	if (o->idle_ms > 0)
		relay_session_set_idle(c->io, o->idle_ms);
	relay_source_start(c->sock_in);
	relay_source_start(prog_out);
	return 0;
}

/* ---- children and signals --------------------------------------------- */

/* Reap every child that ended; SIGCHLD brought us here. */
static void
exec_reap(struct exec_run *run)
{
	struct exec_conn *c;
	int wstatus;
	pid_t pid;

	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		for (c = run->conns; c != NULL; c = c->next)
			if (!c->reaped && c->child.pid == pid)
				break;
		if (c == NULL)
			continue;
		c->reaped = true;
		c->wstatus = wstatus;
		loop_timer_disarm(run->loop, &c->kill_timer);
		exec_conn_check(c);
	}
}

/*
 * loop_run() returns once nothing but its signal pipe is watched, yet a
 * child that outlives its sessions is still work: this timer stays armed
 * while any child lives, and sweeps for exits as it goes.
 */
static void
exec_keepalive(struct loop *p, void *arg)
{
	struct exec_run *run = arg;

	exec_reap(run);
	if (run->nconns > 0)
		loop_timer_arm(p, &run->keepalive, loop_now() +
		    EXEC_KEEPALIVE_MS);
}

/* Accept clients, or stop accepting them (the sockets stay open). */
static void
exec_watch(struct exec_run *run, bool on)
{
	run->accepting = on;
	cmd_watch_listeners(run->loop, &run->ls, on, exec_accept, run);
}

/*
 * SIGINT, SIGTERM or SIGHUP (SIG), or a failure of sockt's own (SIG 0):
 * stop accepting, end every connection, and terminate every program
 * (SIGKILL after EXEC_KILL_GRACE_MS, or at once when a signal asks
 * again).  Once all are reaped sockt dies by SIG, or exits 1.
 */
static void
exec_shutdown(struct exec_run *run, int sig)
{
	struct exec_conn *c, *next;

	if (run->stopping) {
		if (sig == 0)
			return;
		if (run->stop_sig == 0)
			run->stop_sig = sig;
		for (c = run->conns; c != NULL; c = c->next)
			if (!c->reaped)
				proc_signal(c->child.pid, SIGKILL);
		return;
	}
	run->stopping = true;
	run->stop_sig = sig;
	if (sig != 0)
		log_info(1, "%s: stopping", strsignal(sig));
	exec_watch(run, false);
	sock_listeners_close(&run->ls);
	loop_timer_disarm(run->loop, &run->accept_deadline);
	loop_timer_disarm(run->loop, &run->accept_retry);
	for (c = run->conns; c != NULL; c = next) {
		next = c->next;
		exec_conn_terminate(c, SIGTERM);
		if (c->io != NULL)
			relay_session_end(c->io, 1, NULL);
		else if (c->feed != NULL)
			relay_session_end(c->feed, 0, NULL);
	}
	if (run->nconns == 0)
		loop_stop(run->loop, exec_stop_status(run));
}

/* loop_signal_fn: SIGCHLD reaps, the others stop everything. */
static void
exec_signal(struct loop *p, int sig, void *arg)
{
	(void)p;
	if (sig == SIGCHLD)
		exec_reap(arg);
	else
		exec_shutdown(arg, sig);
}

/* ---- listening -------------------------------------------------------- */

/* -w: no client came in time. */
static void
exec_accept_timeout(struct loop *p, void *arg)
{
	struct exec_run *run = arg;

	log_error("accept: no client within %d.%03d s (-w)",
	    run->o->timeout_ms / 1000, run->o->timeout_ms % 1000);
	run->status = 1;
	loop_stop(p, 1);
}

static void
exec_accept_retry(struct loop *p, void *arg)
{
	(void)p;
	exec_watch(arg, true);
}

/*
 * Accept what is waiting on LFD: each admitted client gets its program;
 * without -k the first one closes the listening sockets.
 */
static void
exec_accept(struct loop *p, int lfd, void *arg)
{
	struct exec_run *run = arg;
	char name[EXEC_NAME_MAX];
	bool starved;
	int fd, n;

	for (n = 0; n < 64 && run->accepting; n++) {
		fd = cmd_accept(run->o, lfd, run->nconns, name, sizeof name,
		    &starved);
		if (fd == -1) {
			if (starved) {
				exec_watch(run, false);
				loop_timer_arm(p, &run->accept_retry,
				    loop_now() + CMD_ACCEPT_PAUSE_MS);
			}
			return;
		}
		log_info(1, "connection from %s", name);
		if (!run->served) {
			run->served = true;
			loop_timer_disarm(p, &run->accept_deadline);
		}
		if (exec_single(run)) {
			exec_watch(run, false);
			sock_listeners_stop(&run->ls);
			if (exec_conn_start(run, fd, name) == -1) {
				run->status = 1;
				loop_stop(p, 1);
			}
			return;
		}
		exec_conn_start(run, fd, name);
	}
}

/* Can a socket be bound to ::1?  Not on hosts without IPv6 loopback. */
static bool
exec_has_ipv6_loopback(void)
{
	struct sockaddr_in6 sin6;
	bool ok;
	int fd;

	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return false;
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof sin6) == 0;
	close(fd);
	return ok;
}

/*
 * No ADDRESS: listen on loopback only, 127.0.0.1 and ::1 on one port (one
 * of them with -4 or -6, IPv4 alone on a host without IPv6 loopback).
 * With port 0, tries again until the port chosen is free on ::1 too.
 */
static int
exec_listen_loopback(struct exec_run *run, uint16_t port, char **errp)
{
	const struct sockt_opts *o = run->o;
	struct sock_listeners v6;
	char want[8], bound[8];
	size_t i;
	int tries;

	log_info(1, "no ADDRESS given: listening on loopback only");
	snprintf(want, sizeof want, "%u", port);
	if (o->family == AF_INET6)
		return sock_listen_inet("::1", want, AF_INET6, SOCK_STREAM,
		    AI_NUMERICHOST, &run->ls, errp);
	for (tries = 1;; tries++) {
		if (sock_listen_inet("127.0.0.1", want, AF_INET, SOCK_STREAM,
		    AI_NUMERICHOST, &run->ls, errp) == -1)
			return -1;
		if (o->family == AF_INET || !exec_has_ipv6_loopback())
			return 0;
		snprintf(bound, sizeof bound, "%d",
		    sock_listeners_port(&run->ls));
		if (sock_listen_inet("::1", bound, AF_INET6, SOCK_STREAM,
		    AI_NUMERICHOST, &v6, errp) == 0) {
			for (i = 0; i < v6.nfds && run->ls.nfds < 8; i++)
				run->ls.fds[run->ls.nfds++] = v6.fds[i];
			return 0;
		}
		sock_listeners_close(&run->ls);
		if (port != 0 || tries == EXEC_LOOPBACK_TRIES)
			return -1;
		free(*errp);
		*errp = NULL;
	}
}

/*
 * Listen on the endpoint in ARGV.  *USAGE tells a usage error from a
 * runtime failure.
 */
static int
exec_listen(struct exec_run *run, int argc, char **argv, char **errp,
    bool *usage)
{
	const struct sockt_opts *o = run->o;
	struct addr_endpoint ep;
	uint16_t port;
	int r, flags = o->numeric ? AI_NUMERICHOST : 0;

	*usage = true;
	if (o->unix_socket) {
		if (argc != 1) {
			*errp = log_fmt(argc == 0 ? "missing PATH" :
			    "too many arguments: '%s'", argv[argc > 1]);
			return -1;
		}
		*usage = false;
		return sock_listen_unix(argv[0], SOCK_STREAM, &run->ls, errp);
	}
	if (addr_parse_endpoint(argc, argv, ADDR_LISTEN, o->port, &ep,
	    errp) == -1)
		return -1;
	if (addr_parse_port(ep.port, "tcp", &port, errp) == -1) {
		addr_endpoint_free(&ep);
		return -1;
	}
	*usage = false;
	if (ep.host != NULL)
		r = sock_listen_inet(ep.host, ep.port, o->family, SOCK_STREAM,
		    flags, &run->ls, errp);
	else
		r = exec_listen_loopback(run, port, errp);
	addr_endpoint_free(&ep);
	return r;
}

/* ---- connecting (--connect) ------------------------------------------- */

/*
 * Connect to the endpoint in ARGV; returns the fd, with the peer's name
 * in PEER, or -1 with *errp (*USAGE: a usage error).
 */
static int
exec_connect(struct exec_run *run, int argc, char **argv, char *peer,
    size_t peerlen, char **errp, bool *usage)
{
	const struct sockt_opts *o = run->o;
	struct addrinfo *res = NULL, *src = NULL;
	struct addr_endpoint ep = { NULL, NULL };
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	uint16_t port;
	int fd = -1;

	*usage = true;
	if (o->unix_socket) {
		if (argc != 1) {
			*errp = log_fmt(argc == 0 ? "missing PATH" :
			    "too many arguments: '%s'", argv[argc > 1]);
			return -1;
		}
		*usage = false;
		strlcpy(peer, argv[0], peerlen);
		return sock_connect_unix(argv[0], SOCK_STREAM, o->timeout_ms,
		    errp);
	}
	if (addr_parse_endpoint(argc, argv, ADDR_CONNECT, NULL, &ep,
	    errp) == -1 || addr_parse_port(ep.port, "tcp", &port, errp) == -1)
		goto out;
	if (port == 0) {
		*errp = log_fmt("bad port '0': cannot connect to port 0");
		goto out;
	}
	if (o->port != NULL && addr_parse_port(o->port, "tcp", &port,
	    errp) == -1)
		goto out;
	*usage = false;
	if (addr_resolve(ep.host, ep.port, o->family, SOCK_STREAM,
	    o->numeric ? AI_NUMERICHOST : 0, &res, errp) == -1 ||
	    addr_resolve_source(o->source, o->port, o->family, o->numeric ?
	    AI_NUMERICHOST : 0, &src, errp) == -1)
		goto out;
	fd = sock_connect_timeout(res, src, SOCK_STREAM, o->timeout_ms, errp);
	if (fd != -1 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_format((struct sockaddr *)&ss, len, peer, peerlen);
out:
	addr_endpoint_free(&ep);
	if (res != NULL)
		freeaddrinfo(res);
	if (src != NULL)
		freeaddrinfo(src);
	return fd;
}

/* ---- the command ------------------------------------------------------ */

/* Choose the program from --sh or "-- PROGRAM"; NENDP: the endpoint's. */
static int
exec_program(struct exec_run *run, int *nendp, char **errp)
{
	struct sockt_opts *o = run->o;
	int nend = o->argc_before_dashes;	/* -1: no "--" */

	if (o->sh != NULL) {
		if (nend != -1 && nend < o->argc) {
			*errp = log_fmt("cannot use --sh with -- PROGRAM");
			return -1;
		}
		run->sh_argv[0] = "/bin/sh";
		run->sh_argv[1] = "-c";
		run->sh_argv[2] = o->sh;
		run->sh_argv[3] = NULL;
		run->spec.argv = run->sh_argv;
		*nendp = nend == -1 ? o->argc : nend;
		return 0;
	}
	if (nend == -1) {
		*errp = log_fmt("missing -- PROGRAM (or --sh COMMAND)");
		return -1;
	}
	if (nend == o->argc) {
		*errp = log_fmt("missing PROGRAM after --");
		return -1;
	}
	run->spec.argv = o->argv + nend;	/* argv ends with NULL */
	*nendp = nend;
	return 0;
}

/* Whatever is left when the loop ends early: kill it and wait for it. */
static void
exec_conns_free(struct exec_run *run)
{
	struct exec_conn *c;

	while ((c = run->conns) != NULL) {
		run->conns = c->next;
		if (!c->reaped) {
			proc_signal(c->child.pid, SIGKILL);
			while (waitpid(c->child.pid, NULL, 0) == -1 &&
			    errno == EINTR)
				continue;
		}
		if (c->master != -1)
			close(c->master);
		free(c);
	}
	run->nconns = 0;
}

static int
cmd_exec_exec(struct sockt_opts *o)
{
	struct exec_run run;
	char peer[EXEC_NAME_MAX], *err = NULL;
	int nend, fd = -1, r;
	bool usage;

	memset(&run, 0, sizeof run);
	run.o = o;
	run.status = 1;
	log_tap_init(&run.tap);
	if (exec_program(&run, &nend, &err) == -1)
		return cmd_usage_error(o, err);
	if (o->source != NULL && !o->connect)
		return cmd_usage_error(o, log_fmt("-s needs --connect"));
	run.spec.pty = o->pty;
	run.spec.stderr_out = o->child_stderr;

	if (o->connect)
		r = fd = exec_connect(&run, nend, o->argv, peer, sizeof peer,
		    &err, &usage);
	else
		r = exec_listen(&run, nend, o->argv, &err, &usage);
	if (r == -1)
		return usage ? cmd_usage_error(o, err) : cmd_fail(err);
	if (exec_tap_open(&run, &err) == -1)
		goto fail;
	run.loop = loop_new();
	if (run.loop == NULL) {
		err = log_fmt("loop: %s", strerror(errno));
		goto fail;
	}
	run.relay = relay_new(run.loop);
	loop_on_signal(run.loop, exec_signal, &run);
	loop_timer_init(&run.accept_deadline, exec_accept_timeout, &run);
	loop_timer_init(&run.accept_retry, exec_accept_retry, &run);
	loop_timer_init(&run.keepalive, exec_keepalive, &run);
	if (o->connect) {
		log_info(1, "connected to %s", peer);
		if (exec_conn_start(&run, fd, peer) == 0)
			run.status = loop_run(run.loop);
	} else {
		if (cmd_report_listening(o, &run.ls, o->unix_socket ?
		    o->argv[0] : NULL, &err) == -1)
			goto fail;
		if (o->timeout_ms >= 0)
			loop_timer_arm(run.loop, &run.accept_deadline,
			    loop_now() + (uint64_t)o->timeout_ms);
		exec_watch(&run, true);
		run.status = loop_run(run.loop);
	}
	goto out;
fail:
	run.status = cmd_fail(err);
	if (fd != -1)
		close(fd);
out:
	sock_listeners_close(&run.ls);
	relay_free(run.relay);
	loop_free(run.loop);
	exec_conns_free(&run);
	log_tap_close(&run.tap);
	cmd_die_by_signal(run.stop_sig);
	return run.status;
}
