/*
 * push.c - one file pushed raw over a connected TCP socket until the
 * peer has acknowledged every byte and closed its side (push.h).
 */
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "push.h"
#include "relay.h"
#include "sock.h"
#include "xmalloc.h"

#define PUSH_ACK_POLL_MS	10	/* after the last byte: look this often */
#define PUSH_STALL_POLL_MS	100	/* before it */

struct push {
	struct loop		*loop;
	struct relay_session	*rs;		/* NULL once it ended */
	struct relay_sink	*sink;		/* file -> socket */
	int			 fd;
	char			*peer;
	int64_t			 size;
	int			 ack_ms;
	bool			 ack_by_w;
	struct loop_timer	 ack;
	uint64_t		 last_acked;	/* at the last progress */
	uint64_t		 progress;	/* its time */
	uint64_t		 sent;		/* once rs ended */
	bool			 shut;		/* our FIN is queued */
	bool			 relayed;	/* all sent, the peer closed */
	bool			 acked;
	bool			 finished;
	push_done_fn		*done;
	void			*arg;
};

/* Bytes handed to the socket so far. */
uint64_t
push_sent(const struct push *p)
{
	return p->sink != NULL ? relay_sink_bytes(p->sink) : p->sent;
}

/*
 * Bytes the peer's TCP has acknowledged: those sent less those still in
 * the send queue, where a queued FIN counts one.
 */
static uint64_t
push_acked(const struct push *p)
{
	uint64_t sent = push_sent(p);
	size_t left;

	if (sock_unacked(p->fd, &left) == -1)
		return 0;
	if (p->shut && left > 0)
		left--;
	return left < sent ? sent - left : 0;
}

/* "; the peer acknowledged N of M bytes" for the end of a message. */
static char *
push_ack_report(const struct push *p, const char *what)
{
	uint64_t total = p->size >= 0 ? (uint64_t)p->size : push_sent(p);

	return log_fmt("%s; the peer acknowledged %llu of %llu bytes", what,
	    (unsigned long long)push_acked(p), (unsigned long long)total);
}

/* The push is over: report STATUS and MSG once. */
static void
push_finish(struct push *p, int status, const char *msg)
{
	if (p->finished)
		return;
	p->finished = true;
	loop_timer_disarm(p->loop, &p->ack);
	if (p->rs != NULL)
		relay_session_end(p->rs, status, NULL);
	p->done(p->arg, status, msg);
}

/*
 * The relay ended: the file was sent and the peer closed (status 0), or
 * it failed (a reset, a read error, -i).
 */
static void
push_relay_done(struct relay_session *rs, int status, const char *msg,
    void *arg)
{
	struct push *p = arg;
	char *m;

	(void)rs;
	p->sent = relay_sink_bytes(p->sink);
	p->rs = NULL;
	p->sink = NULL;
	if (p->finished)
		return;
	if (status != 0) {
		m = push_ack_report(p, msg ? msg : "failed");
		push_finish(p, 1, m);
		free(m);
		return;
	}
	log_info(2, "%s closed its side", p->peer);
	p->relayed = true;
	if (p->acked)
		push_finish(p, 0, NULL);
}

/*
 * On a timer for the whole push: has the peer acknowledged every byte
 * (the FIN included) once all are sent?  A connection the peer has reset
 * fails at once; unacknowledged bytes and no acknowledgement progress for
 * ack_ms fail too (a peer that stopped reading).
 */
static void
push_ack_fire(struct loop *l, void *arg)
{
	struct push *p = arg;
	uint64_t now = loop_now(), acked;
	size_t left;
	char *m, *r;
	int err;

	if (sock_unacked(p->fd, &left) == -1) {
		m = log_fmt("%s: %s", p->peer, strerror(errno));
		push_finish(p, 1, m);
		free(m);
		return;
	}
	if (left == 0 && p->shut) {
		log_info(2, "%s acknowledged every byte", p->peer);
		p->acked = true;
		if (p->relayed)
			push_finish(p, 0, NULL);
		return;
	}
	if (left > 0 && (err = sock_conn_error(p->fd)) != 0) {
		m = log_fmt("%s: %s", p->peer, strerror(err));
		r = push_ack_report(p, m);
		push_finish(p, 1, r);
		free(r);
		free(m);
		return;
	}
	acked = push_acked(p);
	if (left == 0 || acked > p->last_acked) {
		p->last_acked = acked;
		p->progress = now;
	} else if (now - p->progress >= (uint64_t)p->ack_ms) {
		m = log_fmt("%s: no acknowledgement for %d.%03d s%s", p->peer,
		    p->ack_ms / 1000, p->ack_ms % 1000, p->ack_by_w ? " (-w)" :
		    "");
		r = push_ack_report(p, m);
		push_finish(p, 1, r);
		free(r);
		free(m);
		return;
	}
	loop_timer_arm(l, &p->ack, now + (p->shut ? PUSH_ACK_POLL_MS :
	    PUSH_STALL_POLL_MS));
}

/* The last byte is in the socket and it is half-closed: look sooner. */
static void
push_sent_all(void *arg)
{
	struct push *p = arg;

	log_info(2, "sent %llu bytes; waiting until %s has every one",
	    (unsigned long long)push_sent(p), p->peer);
	p->shut = true;
	loop_timer_arm(p->loop, &p->ack, loop_now());
}

/*
 * Push SPEC's file over the connected TCP socket FD (named PEER in
 * messages) on relay context R; the push owns FD and the file.  DONE(ARG,
 * status, message) runs once, from the loop.
 */
struct push *
push_start(struct relay *r, int fd, const char *peer,
    const struct push_spec *spec, push_done_fn *done, void *arg)
{
	struct push *p = xcalloc(1, sizeof *p);
	struct relay_source *file, *sock;

	p->loop = relay_loop(r);
	p->fd = fd;
	p->peer = xstrdup(peer);
	p->size = spec->size;
	p->ack_ms = spec->ack_ms;
	p->ack_by_w = spec->ack_by_w;
	p->done = done;
	p->arg = arg;
	loop_timer_init(&p->ack, push_ack_fire, p);
	/* FD stays open after the relay: its send queue is looked at */
	p->rs = relay_session_new(r, push_relay_done, p);
	if (spec->in_fd > STDERR_FILENO)
		relay_session_own_fd(p->rs, spec->in_fd);
	file = relay_source_new(p->rs, spec->in_fd, spec->in_kind,
	    spec->in_name, 0);
	p->sink = relay_sink_new(p->rs, fd, FD_SOCKET, peer,
	    RELAY_SINK_SHUTDOWN);
	relay_sink_on_done(p->sink, push_sent_all, p);
	relay_link(file, p->sink);
	sock = relay_source_new(p->rs, fd, FD_SOCKET, peer,
	    RELAY_SOURCE_DISCARD);
	if (spec->idle_ms > 0)
		relay_session_set_idle(p->rs, spec->idle_ms);
	relay_source_start(file);
	relay_source_start(sock);
	p->progress = loop_now();
	loop_timer_arm(p->loop, &p->ack, p->progress + PUSH_STALL_POLL_MS);
	return p;
}

/* Free P, ended or not (an unfinished push ends without its callback). */
void
push_free(struct push *p)
{
	if (p == NULL)
		return;
	p->finished = true;
	loop_timer_disarm(p->loop, &p->ack);
	if (p->rs != NULL)
		relay_session_end(p->rs, 1, NULL);
	loop_forget(p->loop, p->fd);
	close(p->fd);
	free(p->peer);
	free(p);
}
