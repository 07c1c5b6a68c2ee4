/*
 * dial.c - outgoing stream connections on the loop: resolution, source
 * binding, one address after another, per-attempt timeouts and --wait,
 * then the proxy's handshake and the TLS handshake.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "dial.h"
#include "log.h"
#include "proxy.h"
#include "sock.h"
#include "tls.h"
#include "xmalloc.h"

#define DIAL_PAUSE_MIN_MS	50
#define DIAL_PAUSE_MAX_MS	1000
#define DIAL_TLS_MS		30000	/* a handshake without -w: at most */

struct dial {
	struct loop		*loop;
	struct dial_spec	 spec;
	dial_done_fn		*done;
	void			*arg;
	struct addrinfo		*addrs;		/* this attempt's */
	struct addrinfo		*source;
	const struct addrinfo	*next;		/* address to try next */
	int			 fd;		/* connect in progress */
	struct proxy_hs		*hs;		/* the proxy's handshake */
	struct tls_conn		*tls;		/* its handshake */
	char			 where[ADDR_STRLEN + 400];
	char			 proxy_name[300];
	char			*err;		/* the last failure */
	int			 errnum;	/* and its errno, or 0 */
	uint64_t		 deadline;	/* --wait, 0: none */
	int			 pause_ms;
	bool			 proxied;	/* the proxy has the target */
	struct loop_timer	 start;		/* the next attempt */
	struct loop_timer	 timer;		/* this attempt's limit */
};

static void	dial_attempt(struct loop *, void *);

static void
dial_set_error(struct dial *d, char *msg)
{
	free(d->err);
	d->err = msg;
}

static void
dial_addrs_free(struct dial *d)
{
	if (d->addrs != NULL)
		freeaddrinfo(d->addrs);
	if (d->source != NULL)
		freeaddrinfo(d->source);
	d->addrs = d->source = NULL;
	d->next = NULL;
}

/* Hand the result (FD and TLS, or d->err) to the caller and free D. */
static void
dial_finish(struct dial *d, int fd, struct tls_conn *tls)
{
	dial_done_fn *done = d->done;
	void *arg = d->arg;
	char where[sizeof d->where], *err = d->err;
	int errnum = d->errnum;
	struct dial_result r;

	strlcpy(where, d->where, sizeof where);
	d->err = NULL;
	dial_cancel(d);
	r.fd = fd;
	r.tls = tls;
	r.peer = where;
	r.err = fd == -1 ? err : NULL;
	r.error = fd == -1 ? errnum : 0;
	done(arg, &r);
	free(err);
}

/* Every address failed: pause and try again under --wait, or give up. */
static void
dial_failed(struct dial *d)
{
	uint64_t now = loop_now(), left;

	dial_addrs_free(d);
	if (d->deadline == 0) {
		dial_finish(d, -1, NULL);
		return;
	}
	if (now >= d->deadline) {
		dial_set_error(d, log_fmt("%s (gave up after --wait %d.%03d s)",
		    d->err, d->spec.wait_ms / 1000, d->spec.wait_ms % 1000));
		dial_finish(d, -1, NULL);
		return;
	}
	log_info(1, "%s: retrying", d->err);
	left = d->deadline - now;
	loop_timer_arm(d->loop, &d->start, now + ((uint64_t)d->pause_ms <
	    left ? (uint64_t)d->pause_ms : left));
	d->pause_ms = d->pause_ms * 2 > DIAL_PAUSE_MAX_MS ? DIAL_PAUSE_MAX_MS :
	    d->pause_ms * 2;
}

static void	dial_next(struct dial *);
static void	dial_handshake(struct dial *);
static void	dial_settle(struct dial *, int);

/* Advance the proxy's handshake; on success go on as if connected. */
static void
dial_proxy_ready(struct loop *l, int fd, void *arg)
{
	struct dial *d = arg;
	char *msg = NULL;
	bool v6 = strchr(d->spec.host, ':') != NULL;
	int r;

	(void)l;
	(void)fd;
	loop_forget(d->loop, d->fd);
	r = proxy_hs_step(d->hs, d->fd, &msg);
	if (r == PROXY_WANT_READ || r == PROXY_WANT_WRITE) {
		if (r == PROXY_WANT_WRITE)
			loop_want_write(d->loop, d->fd, dial_proxy_ready, d);
		else
			loop_want_read(d->loop, d->fd, dial_proxy_ready, d);
		return;
	}
	proxy_hs_free(d->hs);
	d->hs = NULL;
	if (r == -1) {
		/* the proxy's answer ends this attempt (--wait tries again) */
		d->errnum = 0;
		dial_set_error(d, log_fmt("proxy %s: %s", d->where, msg));
		free(msg);
		loop_timer_disarm(d->loop, &d->timer);
		close(d->fd);
		d->fd = -1;
		dial_failed(d);
		return;
	}
	d->proxied = true;
	log_info(2, "proxy %s: connected to %s:%s", d->where, d->spec.host,
	    d->spec.port);
	snprintf(d->where, sizeof d->where, "%s%s%s:%s via proxy %s",
	    v6 ? "[" : "", d->spec.host, v6 ? "]" : "", d->spec.port,
	    proxy_name(d->spec.proxy, d->proxy_name, sizeof d->proxy_name));
	dial_settle(d, 0);
}

/* Connected to the proxy: ask it for the target, within the attempt. */
static void
dial_proxy_start(struct dial *d)
{
	char *msg = NULL;

	d->hs = proxy_hs_new(d->spec.proxy, d->spec.host, d->spec.port, &msg);
	if (d->hs == NULL) {
		dial_set_error(d, log_fmt("proxy %s: %s", d->where, msg));
		free(msg);
		loop_timer_disarm(d->loop, &d->timer);
		close(d->fd);
		d->fd = -1;
		dial_finish(d, -1, NULL);
		return;
	}
	if (!loop_timer_armed(&d->timer))
		loop_timer_arm(d->loop, &d->timer, loop_now() + DIAL_TLS_MS);
	dial_proxy_ready(d->loop, d->fd, d);
}

/* The connect in progress ended, or its attempt timed out (ERR). */
static void
dial_settle(struct dial *d, int err)
{
	int fd = d->fd;
	char *msg = NULL, opts[64];

	loop_forget(d->loop, d->fd);
	if (err == 0 && d->spec.proxy != NULL && !d->proxied) {
		dial_proxy_start(d);
		return;
	}
	if (err == 0 && *sock_describe(fd, opts, sizeof opts) != '\0')
		log_info(2, "%s: %s", d->where, opts);
	if (err == 0 && d->spec.tls != NULL) {
		/* the handshake runs within what is left of the attempt */
		dial_addrs_free(d);
		d->tls = tls_conn_new(d->spec.tls, fd, d->spec.tls_name ?
		    d->spec.tls_name : d->spec.host, &msg);
		if (d->tls == NULL) {
			dial_set_error(d, log_fmt("tls %s: %s", d->where, msg));
			free(msg);
			dial_finish(d, -1, NULL);
			return;
		}
		if (!loop_timer_armed(&d->timer))
			loop_timer_arm(d->loop, &d->timer, loop_now() +
			    DIAL_TLS_MS);
		dial_handshake(d);
		return;
	}
	loop_timer_disarm(d->loop, &d->timer);
	if (err == 0) {
		d->fd = -1;
		dial_addrs_free(d);
		dial_finish(d, fd, NULL);
		return;
	}
	close(d->fd);
	d->fd = -1;
	d->errnum = err;
	dial_set_error(d, log_fmt("%s %s: %s", d->spec.proxy != NULL ?
	    "proxy" : "connect", d->where, strerror(err)));
	dial_next(d);
}

static void
dial_tls_ready(struct loop *l, int fd, void *arg)
{
	(void)l;
	(void)fd;
	dial_handshake(arg);
}

/*
 * Advance the TLS handshake of the connection; hand it over once the
 * peer is verified.  A TLS failure is final: trying again (--wait) would
 * meet the same certificate.
 */
static void
dial_handshake(struct dial *d)
{
	struct tls_conn *tls;
	char *msg = NULL;
	int fd;

	if (tls_handshake(d->tls, &msg) == 0) {
		loop_forget(d->loop, d->fd);
		loop_timer_disarm(d->loop, &d->timer);
		msg = tls_describe(d->tls);
		log_info(1, "tls %s: %s", d->where, msg);
		free(msg);
		fd = d->fd;
		tls = d->tls;
		d->fd = -1;
		d->tls = NULL;
		dial_finish(d, fd, tls);
		return;
	}
	if (errno != EAGAIN) {
		dial_set_error(d, log_fmt("tls %s: %s", d->where, msg));
		free(msg);
		dial_finish(d, -1, NULL);
		return;
	}
	loop_forget(d->loop, d->fd);
	if (tls_waiting(d->tls) == TLS_WAIT_WRITE)
		loop_want_write(d->loop, d->fd, dial_tls_ready, d);
	else
		loop_want_read(d->loop, d->fd, dial_tls_ready, d);
}

static void
dial_writable(struct loop *l, int fd, void *arg)
{
	(void)l;
	dial_settle(arg, sock_connect_result(fd));
}

/* Time is up, unless the connect has settled meanwhile: then that. */
static void
dial_timeout(struct loop *l, void *arg)
{
	struct dial *d = arg;
	struct pollfd pfd = { .fd = d->fd, .events = POLLOUT };

	(void)l;
	if (d->tls != NULL || d->hs != NULL) {
		dial_set_error(d, log_fmt("%s %s: the handshake did not "
		    "finish in time", d->tls != NULL ? "tls" : "proxy",
		    d->where));
		dial_finish(d, -1, NULL);
		return;
	}
	if (poll(&pfd, 1, 0) == 1)
		dial_settle(d, sock_connect_result(d->fd));
	else
		dial_settle(d, ETIMEDOUT);
}

/*
 * The per-attempt limit: -w, but never past the --wait deadline.  Returns
 * a deadline in ms, or 0 for none.
 */
static uint64_t
dial_attempt_deadline(const struct dial *d)
{
	uint64_t now = loop_now(), when = 0;

	if (d->spec.timeout_ms >= 0)
		when = now + (uint64_t)d->spec.timeout_ms;
	if (d->deadline != 0 && (when == 0 || when > d->deadline))
		when = d->deadline > now ? d->deadline : now;
	return when;
}

/*
 * Start connecting to SA (bound to SRC when given), watched until it
 * settles or its attempt times out.  Returns -1 with d->err set.
 */
static int
dial_connect_to(struct dial *d, const struct sockaddr *sa, socklen_t len,
    const struct addrinfo *src)
{
	uint64_t when;
	char *err = NULL;

	d->fd = sock_connect_start(sa, len, SOCK_STREAM |
	    (d->spec.mptcp ? SOCK_MPTCP : 0), src, &err);
	if (d->fd == -1) {
		dial_set_error(d, err);
		return -1;
	}
	loop_want_write(d->loop, d->fd, dial_writable, d);
	if ((when = dial_attempt_deadline(d)) != 0)
		loop_timer_arm(d->loop, &d->timer, when);
	return 0;
}

/* Start connecting to the next address, or fail when none is left. */
static void
dial_next(struct dial *d)
{
	const struct addrinfo *ai;

	while ((ai = d->next) != NULL) {
		d->next = ai->ai_next;
		if (d->source != NULL && d->source->ai_family != ai->ai_family)
			continue;
		if (d->err != NULL)
			log_info(1, "%s", d->err);
		addr_format(ai->ai_addr, ai->ai_addrlen, d->where,
		    sizeof d->where);
		log_info(2, "connecting to %s", d->where);
		if (dial_connect_to(d, ai->ai_addr, ai->ai_addrlen,
		    d->source) == 0)
			return;
	}
	if (d->err == NULL)
		dial_set_error(d, log_fmt("connect: no address matches the "
		    "source address family"));
	dial_failed(d);
}

/* One attempt: resolve (again: a name may appear later), then connect. */
static void
dial_attempt(struct loop *l, void *arg)
{
	struct dial *d = arg;
	const struct dial_spec *s = &d->spec;
	int flags = s->numeric ? AI_NUMERICHOST : 0;
	char *err = NULL;

	(void)l;
	dial_set_error(d, NULL);
	if (s->proxy != NULL) {
		if ((s->proxy_addrs == NULL && addr_resolve(s->proxy->host,
		    s->proxy->port, s->family, SOCK_STREAM, flags, &d->addrs,
		    &err) == -1) ||
		    addr_resolve_source(s->source, s->source_port, s->family,
		    flags, &d->source, &err) == -1) {
			dial_set_error(d, log_fmt("proxy %s", err));
			free(err);
			dial_failed(d);
			return;
		}
		d->next = s->proxy_addrs != NULL ? s->proxy_addrs : d->addrs;
		dial_next(d);
		return;
	}
	if (s->unix_path != NULL) {
		struct sockaddr_storage ss;
		socklen_t len;

		strlcpy(d->where, s->unix_path, sizeof d->where);
		if (addr_unix(s->unix_path, &ss, &len, &err) == -1) {
			dial_set_error(d, err);
			dial_finish(d, -1, NULL);
		} else if (dial_connect_to(d, (struct sockaddr *)&ss, len,
		    NULL) == -1)
			dial_failed(d);
		return;
	}
	if ((s->addrs == NULL && addr_resolve(s->host, s->port, s->family,
	    SOCK_STREAM, flags, &d->addrs, &err) == -1) ||
	    addr_resolve_source(s->source, s->source_port, s->family, flags,
	    &d->source, &err) == -1) {
		dial_set_error(d, err);
		dial_failed(d);
		return;
	}
	d->next = s->addrs != NULL ? s->addrs : d->addrs;
	dial_next(d);
}

/*
 * Start dialling as SPEC says (its strings must outlive the dial); DONE
 * gets the result.  Never fails here: every failure reaches DONE.
 */
struct dial *
dial_start(struct loop *l, const struct dial_spec *spec, dial_done_fn *done,
    void *arg)
{
	struct dial *d = xcalloc(1, sizeof *d);

	d->loop = l;
	d->spec = *spec;
	d->done = done;
	d->arg = arg;
	d->fd = -1;
	d->pause_ms = DIAL_PAUSE_MIN_MS;
	if (spec->wait_ms >= 0)
		d->deadline = loop_now() + (uint64_t)spec->wait_ms;
	loop_timer_init(&d->start, dial_attempt, d);
	loop_timer_init(&d->timer, dial_timeout, d);
	loop_timer_arm(l, &d->start, loop_now());
	return d;
}

/* Stop D at once (no callback) and free it. */
void
dial_cancel(struct dial *d)
{
	if (d == NULL)
		return;
	loop_timer_disarm(d->loop, &d->start);
	loop_timer_disarm(d->loop, &d->timer);
	tls_conn_free(d->tls);
	proxy_hs_free(d->hs);
	if (d->fd != -1) {
		loop_forget(d->loop, d->fd);
		close(d->fd);
	}
	dial_addrs_free(d);
	free(d->err);
	free(d);
}
