/*
 * cmd-listen.c - "sockt listen": accept TCP or Unix stream clients and
 * pump them to and from stdio.  One client by default; with -k every
 * client at once (stdin broadcast to all, their data to stdout in whole
 * chunks); with --broker each client's data also goes to all the others.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "cmd-util.h"
#include "log.h"
#include "loop.h"
#include "relay.h"
#include "session.h"
#include "sock.h"

static const enum opt_id listen_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_UNIX, OPT_NUMERIC, OPT_VERBOSE, OPT_PORT,
	OPT_TIMEOUT, OPT_IDLE, OPT_QUIT, OPT_KEEP, OPT_NOSTDIN, OPT_SEND_ONLY,
	OPT_RECV_ONLY, OPT_NO_SHUTDOWN, OPT_MAX_CONNS, OPT_ALLOW, OPT_DENY,
	OPT_PORT_FILE, OPT_HEXDUMP, OPT_OUTPUT, OPT_PROGRESS, OPT_BROKER,
	OPT_END
};

static int	cmd_listen_exec(struct sockt_opts *);

static const struct cmd_help listen_help[] = {
	{ OPT_PORT, "the port to listen on" },
	{ OPT_TIMEOUT, "exit 1 if no client connects within SECS" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_listen_entry = {
	.name = "listen",
	.summary = "accept TCP or Unix stream clients and pump stdio",
	.usage = "[options] [--broker] [ADDRESS] PORT | -p PORT | -U PATH",
	.options = listen_options,
	.help = listen_help,
	.exec = cmd_listen_exec,
};

struct listen_client;

struct listen_run {
	struct sockt_opts	*o;
	struct loop		*loop;
	struct session_ctx	 ctx;
	struct sock_listeners	 ls;
	bool			 accepting;
	struct loop_timer	 accept_deadline;	/* -w */
	struct loop_timer	 accept_retry;		/* after EMFILE */
	int			 status;
	size_t			 nclients;
	bool			 served;		/* a client came */
	/* -k: the hub that shares stdio between clients */
	struct relay_session	*hub;
	struct relay_source	*stdin_src;
	struct relay_sink	*stdout_sink;
	struct listen_client	*clients;
};

struct listen_client {
	struct listen_run	*run;
	struct relay_source	*in;
	struct relay_sink	*out;
	char			 name[ADDR_NAMELEN];
	struct listen_client	*prev;
	struct listen_client	*next;
};

static void	listen_accept(struct loop *, int, void *);

static void
listen_watch(struct listen_run *run, bool on)
{
	run->accepting = on;
	cmd_watch_listeners(run->loop, &run->ls, on, listen_accept, run);
}

static void
listen_timeout(struct loop *p, void *arg)
{
	struct listen_run *run = arg;

	(void)p;
	log_error("accept: no client within %d.%03d s (-w)",
	    run->o->timeout_ms / 1000, run->o->timeout_ms % 1000);
	run->status = 1;
	loop_stop(run->loop, 1);
}

static void
listen_retry(struct loop *p, void *arg)
{
	(void)p;
	listen_watch(arg, true);
}

/* One client: the session ended. */
static void
listen_single_done(struct relay_session *ps, int status, const char *msg,
    void *arg)
{
	struct listen_run *run = arg;

	(void)ps;
	if (msg != NULL)
		log_error("%s", msg);
	run->status = status;
	loop_stop(run->loop, status);
}

/*
 * -k: a client left; the others carry on.  Unless the -x or -o file could
 * not be written: that is sockt's own failure, not the client's, and it
 * ends sockt with status 1.
 */
static void
listen_client_done(struct relay_session *ps, int status, const char *msg,
    void *arg)
{
	struct listen_client *c = arg;
	struct listen_run *run = c->run;
	char *err;

	(void)ps;
	if (log_tap_check(&run->ctx.tap, &err) == -1) {
		if (!loop_stopping(run->loop))
			log_error("%s", err);
		free(err);
		run->status = 1;
		loop_stop(run->loop, 1);
	} else if (msg != NULL)
		log_info(1, "%s", msg);
	log_info(1, "connection from %s closed%s", c->name, status ?
	    " with an error" : "");
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		run->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	run->nclients--;
	free(c);
}

/* The -k hub failed: only stdout can make it fail. */
static void
listen_hub_done(struct relay_session *ps, int status, const char *msg,
    void *arg)
{
	struct listen_run *run = arg;

	(void)ps;
	if (msg != NULL)
		log_error("%s", msg);
	run->hub = NULL;
	run->stdin_src = NULL;
	run->stdout_sink = NULL;
	run->status = status ? status : 1;
	loop_stop(run->loop, run->status);
}

/* stdin ended under -k: clients are half-closed as their queues drain. */
static void
listen_stdin_eof(void *arg)
{
	(void)arg;
	log_info(2, "stdin ended: half-closing every client");
}

static int
listen_hub_open(struct listen_run *run)
{
	struct session_ctx *ctx = &run->ctx;

	run->hub = relay_session_new(run->ctx.relay, listen_hub_done, run);
	if (ctx->in_fd != -1) {
		run->stdin_src = relay_source_new(run->hub, ctx->in_fd,
		    ctx->in_kind, "stdin", 0);
		if (ctx->in_fd > STDERR_FILENO)
			relay_session_own_fd(run->hub, ctx->in_fd);
		ctx->in_fd = -1;
		if (ctx->tap.hexdump != NULL)
			relay_source_tap(run->stdin_src, session_tap_sent, ctx);
		relay_source_on_eof(run->stdin_src, listen_stdin_eof, run);
		relay_source_start(run->stdin_src);
	}
	if (ctx->out_fd != -1) {
		run->stdout_sink = relay_sink_new(run->hub, ctx->out_fd,
		    ctx->out_kind, "stdout", RELAY_SINK_CLOSE |
		    RELAY_SINK_STDOUT | RELAY_SINK_KEEP);
		relay_sink_close_also(run->stdout_sink, STDOUT_FILENO);
		ctx->out_fd = -1;
	}
	return 0;
}

/*
 * A -k client half-closed: it has finished.  What is already queued for it
 * is still sent, then it is half-closed too and its session ends, so a
 * long-running listener never collects half-open connections.
 */
static void
listen_client_eof(void *arg)
{
	struct listen_client *c = arg;

	if (c->out != NULL)
		relay_sink_end(c->out);
}

/*
 * Wire client FD into the -k hub.  --broker relays between clients, but
 * not with --recv-only: then, as ncat does, clients only ever talk to
 * stdout and are half-closed at once.
 */
static void
listen_client_add(struct listen_run *run, int fd, const char *name)
{
	const struct sockt_opts *o = run->o;
	struct listen_client *c, *other;
	struct relay_session *ps;
	bool relay = o->broker && !o->recv_only;
	unsigned flags;

	c = calloc(1, sizeof *c);
	if (c == NULL) {
		close(fd);
		return;
	}
	c->run = run;
	strlcpy(c->name, name, sizeof c->name);
	ps = relay_session_new(run->ctx.relay, listen_client_done, c);
	relay_session_own_fd(ps, fd);
	c->in = relay_source_new(ps, fd, FD_SOCKET, name,
	    o->send_only ? RELAY_SOURCE_DISCARD : 0);
	relay_source_on_eof(c->in, listen_client_eof, c);
	if (run->ctx.tapping)
		relay_source_tap(c->in, session_tap, &run->ctx);
	if (run->stdout_sink != NULL && !o->send_only)
		relay_link(c->in, run->stdout_sink);
	if (run->stdin_src != NULL || o->recv_only || relay) {
		flags = RELAY_SINK_DROPPABLE;
		if (!o->no_shutdown)
			flags |= RELAY_SINK_SHUTDOWN;
		if (relay)
			flags |= RELAY_SINK_KEEP;
		c->out = relay_sink_new(ps, fd, FD_SOCKET, name, flags);
		if (run->stdin_src != NULL &&
		    !relay_source_eof(run->stdin_src))
			relay_link(run->stdin_src, c->out);
		else if (!relay)
			relay_sink_end(c->out);
	}
	if (relay)
		for (other = run->clients; other != NULL; other = other->next) {
			relay_link(other->in, c->out);
			relay_link(c->in, other->out);
		}
	c->next = run->clients;
	if (run->clients != NULL)
		run->clients->prev = c;
	run->clients = c;
	run->nclients++;
	if (o->idle_ms > 0)
		relay_session_set_idle(ps, o->idle_ms);
	relay_source_start(c->in);
}

static void
listen_accept(struct loop *p, int lfd, void *arg)
{
	struct listen_run *run = arg;
	char name[ADDR_NAMELEN];
	bool starved;
	int fd, n;

	for (n = 0; n < 64 && run->accepting; n++) {
		fd = cmd_accept(run->o, lfd, run->nclients, name, sizeof name,
		    &starved);
		if (fd == -1) {
			if (starved) {
				listen_watch(run, false);
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
		if (!run->o->keep) {
			listen_watch(run, false);
			sock_listeners_stop(&run->ls);
			if (session_start(&run->ctx, fd, name,
			    listen_single_done, run) == NULL) {
				close(fd);
				loop_stop(p, 1);
			}
			return;
		}
		listen_client_add(run, fd, name);
	}
}

/* Open the listening sockets from the positional arguments. */
static int
listen_open(struct listen_run *run, char **errp, bool *usage)
{
	struct sockt_opts *o = run->o;
	struct addr_endpoint ep;
	uint16_t port;
	int r, flags = o->numeric ? AI_NUMERICHOST : 0;

	*usage = true;
	if (o->unix_socket) {
		struct sockaddr_storage ss;
		socklen_t len;

		if (o->argc != 1) {
			*errp = log_fmt(o->argc == 0 ? "missing PATH" :
			    "too many arguments: '%s'", o->argv[o->argc > 1]);
			return -1;
		}
		if (addr_unix(o->argv[0], &ss, &len, errp) == -1)
			return -1;	/* empty or too long: a usage error */
		*usage = false;
		return sock_listen_unix(o->argv[0], SOCK_STREAM, &run->ls, errp);
	}
	if (addr_parse_endpoint(o->argc, o->argv, ADDR_LISTEN, o->port, &ep,
	    errp) == -1)
		return -1;
	if (addr_parse_port(ep.port, "tcp", &port, errp) == -1) {
		addr_endpoint_free(&ep);
		return -1;
	}
	*usage = false;
	r = sock_listen_inet(ep.host, ep.port, o->family, SOCK_STREAM, flags,
	    &run->ls, errp);
	addr_endpoint_free(&ep);
	return r;
}

static int
cmd_listen_exec(struct sockt_opts *o)
{
	struct listen_run run;
	char *err = NULL;
	bool usage;
	int sig;

	memset(&run, 0, sizeof run);
	run.o = o;
	if (listen_open(&run, &err, &usage) == -1)
		return usage ? cmd_usage_error(o, err) : cmd_fail(err);
	run.loop = loop_new();
	if (run.loop == NULL) {
		sock_listeners_close(&run.ls);
		return cmd_fail(log_fmt("loop: %s", strerror(errno)));
	}
	if (session_ctx_open(&run.ctx, run.loop, o, &err) == -1 ||
	    cmd_report_listening(o, &run.ls, o->unix_socket ? o->argv[0] :
	    NULL, &err) == -1) {
		run.status = cmd_fail(err);
		goto out;
	}
	loop_timer_init(&run.accept_deadline, listen_timeout, &run);
	loop_timer_init(&run.accept_retry, listen_retry, &run);
	if (o->timeout_ms >= 0)
		loop_timer_arm(run.loop, &run.accept_deadline, loop_now() +
		    (uint64_t)o->timeout_ms);
	if (o->keep)
		listen_hub_open(&run);
	listen_watch(&run, true);
	run.status = loop_run(run.loop);
out:
	sig = loop_caught_signal(run.loop);
	sock_listeners_close(&run.ls);
	session_ctx_close(&run.ctx);
	loop_free(run.loop);
	cmd_die_by_signal(sig);
	return run.status;
}
