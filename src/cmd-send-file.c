/*
 * cmd-send-file.c - "sockt send-file": push a file to a peer; --raw sends
 * its bytes over plain TCP and succeeds once the peer has every one.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "dial.h"
#include "fdkind.h"
#include "log.h"
#include "loop.h"
#include "progress.h"
#include "push.h"
#include "relay.h"

static const enum opt_id send_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_NUMERIC, OPT_VERBOSE, OPT_SOURCE, OPT_PORT,
	OPT_TIMEOUT, OPT_IDLE, OPT_PROGRESS, OPT_WAIT, OPT_RAW, OPT_END
};

static int	cmd_send_file_exec(struct sockt_opts *);

static const struct cmd_help send_help[] = {
	{ OPT_PORT, "source port" },
	{ OPT_TIMEOUT, "connect timeout; and with --raw, the longest wait "
	    "for an acknowledgement (default 30)" },
	{ OPT_RAW, "no HTTP: push the bytes over plain TCP (FILE HOST PORT)" },
	{ OPT_PROGRESS, "progress line on stderr (default when it is a "
	    "terminal)" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_send_file_entry = {
	.name = "send-file",
	.summary = "push a file to HOST PORT over TCP; done once the peer has "
	    "every byte",
	.usage = "[options] --raw FILE HOST PORT",
	.options = send_options,
	.help = send_help,
	.args = { 2, 3, 0, "FILE, HOST and PORT" },
	.exec = cmd_send_file_exec,
};

struct send_run {
	struct sockt_opts	*o;
	struct loop		*loop;
	struct relay		*relay;
	struct push_spec	 spec;
	struct push		*push;
	struct progress		 meter;
	bool			 show_progress;
	int			 status;
};

/*
 * Open FILE ("-": stdin) for reading into SPEC: a regular file, a pipe or
 * a terminal, never a directory.  Returns -1 with *errp.
 */
static int
send_open(const char *file, struct push_spec *spec, char **errp)
{
	struct stat st;
	int fd;

	spec->size = -1;
	if (strcmp(file, "-") == 0) {
		spec->in_fd = fd_stdio_open(STDIN_FILENO, false,
		    &spec->in_kind);
		spec->in_name = "stdin";
		if (spec->in_kind == FD_FILE && fstat(spec->in_fd, &st) == 0 &&
		    st.st_size >= lseek(spec->in_fd, 0, SEEK_CUR))
			spec->size = st.st_size - lseek(spec->in_fd, 0,
			    SEEK_CUR);
		return 0;
	}
	/* O_NONBLOCK: a FIFO must not block open() or the loop */
	fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd == -1 || fstat(fd, &st) == -1) {
		*errp = log_fmt("%s: %s", file, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		*errp = log_fmt("%s: %s", file, strerror(EISDIR));
		close(fd);
		return -1;
	}
	spec->in_fd = fd;
	spec->in_kind = fd_kind_of(fd);
	spec->in_name = file;
	if (S_ISREG(st.st_mode))
		spec->size = st.st_size;
	return 0;
}

static void
send_close(struct push_spec *spec)
{
	if (spec->in_fd > STDERR_FILENO)
		close(spec->in_fd);
	spec->in_fd = -1;
}

static uint64_t
send_count(void *arg)
{
	struct send_run *run = arg;

	return run->push != NULL ? push_sent(run->push) : 0;
}

static void
send_pushed(void *arg, int status, const char *msg)
{
	struct send_run *run = arg;

	progress_end(&run->meter);
	if (msg != NULL)
		log_error("%s", msg);
	else
		log_info(1, "%s: every byte delivered", run->spec.in_name);
	run->status = status;
	loop_stop(run->loop, status);
}

/* The dial ended: push the file, or fail. */
static void
send_dialled(void *arg, const struct dial_result *r)
{
	struct send_run *run = arg;

	if (r->fd == -1) {
		log_error("%s", r->err);
		run->status = 1;
		loop_stop(run->loop, 1);
		return;
	}
	log_info(1, "connected to %s", r->peer);
	run->push = push_start(run->relay, r->fd, r->peer, &run->spec,
	    send_pushed, run);
	run->spec.in_fd = -1;		/* the push's now */
	if (run->show_progress)
		progress_start(&run->meter, run->loop, run->spec.in_name,
		    run->spec.size, send_count, run);
}

/* --raw FILE HOST PORT: the bytes over plain TCP. */
static int
send_raw(struct sockt_opts *o)
{
	struct send_run run = { .o = o, .status = 1 };
	struct addr_endpoint ep = { NULL, NULL };
	struct dial_spec ds;
	char *err = NULL;
	uint16_t port = 0;
	int sig;

	if (addr_parse_endpoint(o->argc - 1, o->argv + 1, ADDR_CONNECT, NULL,
	    &ep, &err) == -1 ||
	    addr_parse_port(ep.port, "tcp", &port, &err) == -1 ||
	    (o->port != NULL && addr_parse_port(o->port, "tcp", &port, &err)
	    == -1)) {
		addr_endpoint_free(&ep);
		return cmd_usage_error(o, err);
	}
	if (port == 0 && o->port == NULL) {
		addr_endpoint_free(&ep);
		return cmd_usage_error(o, log_fmt("bad port '0': cannot "
		    "connect to port 0"));
	}
	if (send_open(o->argv[0], &run.spec, &err) == -1) {
		addr_endpoint_free(&ep);
		return cmd_fail(err);
	}
	run.spec.idle_ms = o->idle_ms;
	run.spec.ack_ms = o->timeout_ms >= 0 ? o->timeout_ms : CMD_ACK_MS;
	run.spec.ack_by_w = o->timeout_ms >= 0;
	run.show_progress = o->progress || isatty(STDERR_FILENO);
	if ((run.loop = loop_new()) == NULL) {
		send_close(&run.spec);
		addr_endpoint_free(&ep);
		return cmd_fail(log_fmt("loop: %s", strerror(errno)));
	}
	run.relay = relay_new(run.loop);
	cmd_dial_spec(o, ep.host, ep.port, &ds);
	dial_start(run.loop, &ds, send_dialled, &run);
	loop_run(run.loop);
	sig = loop_caught_signal(run.loop);
	progress_end(&run.meter);
	push_free(run.push);
	send_close(&run.spec);
	relay_free(run.relay);
	loop_free(run.loop);
	addr_endpoint_free(&ep);
	cmd_die_by_signal(sig);
	return run.status;
}

static int
cmd_send_file_exec(struct sockt_opts *o)
{
	if (!o->raw)
		return cmd_usage_error(o, log_fmt("missing --raw (send-file "
		    "--raw FILE HOST PORT)"));
	return send_raw(o);
}
