/*
 * listener.c - listening sockets, readiness reports, and the accept loop
 * with admission (--allow/--deny, --max-conns), the out-of-fds pause and
 * the TLS handshake of each client.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <libgen.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "listener.h"
#include "log.h"
#include "sock.h"
#include "tls.h"
#include "xmalloc.h"

#define LISTENER_PAUSE_MS	100	/* out of fds: accept again after */
#define LISTENER_BATCH		64	/* accepts per wakeup, then others */
#define LISTENER_NAME_MAX	(ADDR_STRLEN + 108)

/* A client admitted, doing its TLS handshake. */
struct listener_hs {
	struct listener		*l;
	int			 fd;
	struct tls_conn		*tls;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	char			 name[LISTENER_NAME_MAX];
	struct loop_timer	 timer;
	struct listener_hs	*prev;
	struct listener_hs	*next;
};

struct listener {
	struct loop		*loop;
	struct listener_spec	 spec;
	struct sock_listeners	 ls;
	char			*unix_path;	/* as given, for names */
	listener_fn		*fn;
	void			*arg;
	bool			 watching;
	bool			 paused;	/* by the caller */
	bool			 seen;		/* a client came */
	size_t			 active;
	struct loop_timer	 retry;		/* after running out of fds */
	struct loop_timer	 first;		/* -w */
	struct listener_hs	*handshakes;
};

static void	listener_accept(struct loop *, int, void *);

/* Watch the listening sockets when accepting is wanted and possible. */
static void
listener_watch(struct listener *l, bool on)
{
	size_t i;

	on = on && !l->paused && l->fn != NULL;
	if (on == l->watching)
		return;
	l->watching = on;
	for (i = 0; i < l->ls.nfds; i++) {
		if (on)
			loop_want_read(l->loop, l->ls.fds[i], listener_accept,
			    l);
		else
			loop_cancel_read(l->loop, l->ls.fds[i]);
	}
}

static void
listener_retry(struct loop *loop, void *arg)
{
	(void)loop;
	listener_watch(arg, true);
}

static void
listener_first_expired(struct loop *loop, void *arg)
{
	struct listener *l = arg;
	char *msg;

	(void)loop;
	struct listener_conn c;

	msg = log_fmt("accept: no client within %d.%03d s (-w)",
	    l->spec.first_ms / 1000, l->spec.first_ms % 1000);
	memset(&c, 0, sizeof c);
	c.fd = -1;
	c.name = "";
	c.err = msg;
	l->fn(l->arg, &c);
	free(msg);
}

/*
 * May the client at SA (NAME in messages) in?  --allow/--deny, then
 * --max-conns against the clients being served.  Refusals are logged
 * under -v; the caller closes the connection at once.
 */
static bool
listener_admit(const struct listener *l, const struct sockaddr *sa,
    const char *name)
{
	if (l->spec.acl != NULL && !addr_acl_admits(l->spec.acl, sa)) {
		log_info(1, "refused %s: not allowed by --allow/--deny", name);
		return false;
	}
	if (l->spec.max_conns >= 0 &&
	    l->active >= (size_t)l->spec.max_conns) {
		log_info(1, "refused %s: --max-conns %lld reached", name,
		    l->spec.max_conns);
		return false;
	}
	return true;
}

static void
listener_hs_free(struct listener_hs *h, bool close_fd)
{
	struct listener *l = h->l;

	loop_timer_disarm(l->loop, &h->timer);
	loop_forget(l->loop, h->fd);
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		l->handshakes = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	if (close_fd) {
		tls_conn_free(h->tls);
		close(h->fd);
	}
	free(h);
}

/* A client's handshake failed (MSG): it goes, the others stay. */
static void
listener_hs_failed(struct listener_hs *h, const char *msg)
{
	struct listener *l = h->l;

	log_info(1, "tls %s: %s", h->name, msg);
	listener_hs_free(h, true);
	listener_client_gone(l);
}

static void	listener_hs_step(struct listener_hs *);

static void
listener_hs_ready(struct loop *loop, int fd, void *arg)
{
	(void)loop;
	(void)fd;
	listener_hs_step(arg);
}

static void
listener_hs_expired(struct loop *loop, void *arg)
{
	(void)loop;
	listener_hs_failed(arg, "the handshake did not finish in time");
}

/* Advance a client's handshake; hand the client over once it is done. */
static void
listener_hs_step(struct listener_hs *h)
{
	struct listener *l = h->l;
	struct listener_conn c;
	struct sockaddr_storage addr;
	char name[LISTENER_NAME_MAX];
	char *msg = NULL;

	if (tls_handshake(h->tls, &msg) == 0) {
		msg = tls_describe(h->tls);
		log_info(1, "tls %s: %s", h->name, msg);
		free(msg);
		/* The client outlives H: its address and name move here. */
		memcpy(&addr, &h->addr, sizeof addr);
		strlcpy(name, h->name, sizeof name);
		memset(&c, 0, sizeof c);
		c.fd = h->fd;
		c.tls = h->tls;
		c.addr = (struct sockaddr *)&addr;
		c.addrlen = h->addrlen;
		c.name = name;
		listener_hs_free(h, false);
		l->fn(l->arg, &c);
		return;
	}
	if (errno != EAGAIN) {
		listener_hs_failed(h, msg);
		free(msg);
		return;
	}
	loop_forget(l->loop, h->fd);
	if (tls_waiting(h->tls) == TLS_WAIT_WRITE)
		loop_want_write(l->loop, h->fd, listener_hs_ready, h);
	else
		loop_want_read(l->loop, h->fd, listener_hs_ready, h);
}

/* Start the TLS handshake of admitted client FD. */
static void
listener_hs_start(struct listener *l, int fd, const struct sockaddr *sa,
    socklen_t len, const char *name)
{
	struct listener_hs *h = xcalloc(1, sizeof *h);
	char *msg = NULL;

	h->l = l;
	h->fd = fd;
	memcpy(&h->addr, sa, len);
	h->addrlen = len;
	strlcpy(h->name, name, sizeof h->name);
	loop_timer_init(&h->timer, listener_hs_expired, h);
	h->next = l->handshakes;
	if (l->handshakes != NULL)
		l->handshakes->prev = h;
	l->handshakes = h;
	if ((h->tls = tls_conn_new(l->spec.tls, fd, NULL, &msg)) == NULL) {
		listener_hs_failed(h, msg);
		free(msg);
		return;
	}
	loop_timer_arm(l->loop, &h->timer, loop_now() +
	    (uint64_t)l->spec.handshake_ms);
	listener_hs_step(h);
}

static void
listener_accept(struct loop *loop, int lfd, void *arg)
{
	struct listener *l = arg;
	struct listener_conn c;
	struct sockaddr_storage ss;
	char name[LISTENER_NAME_MAX];
	socklen_t len;
	int fd, n;

	for (n = 0; n < LISTENER_BATCH && l->watching; n++) {
		fd = sock_accept(lfd, &ss, &len);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_info(1, "accept: %s: pausing for %d ms",
				    strerror(errno), LISTENER_PAUSE_MS);
				listener_watch(l, false);
				loop_timer_arm(loop, &l->retry, loop_now() +
				    LISTENER_PAUSE_MS);
			}
			return;
		}
		if (ss.ss_family == AF_UNIX)
			strlcpy(name, l->unix_path, sizeof name);
		else
			addr_format((struct sockaddr *)&ss, len, name,
			    sizeof name);
		if (!listener_admit(l, (struct sockaddr *)&ss, name)) {
			close(fd);
			continue;
		}
		if (!l->seen) {
			l->seen = true;
			loop_timer_disarm(loop, &l->first);
		}
		l->active++;
		if (l->spec.tls != NULL) {
			listener_hs_start(l, fd, (struct sockaddr *)&ss, len,
			    name);
			continue;
		}
		memset(&c, 0, sizeof c);
		c.fd = fd;
		c.addr = (struct sockaddr *)&ss;
		c.addrlen = len;
		c.name = name;
		l->fn(l->arg, &c);
	}
}

/*
 * Bind and listen as SPEC says (its strings must outlive the listener).
 * Nothing is accepted before listener_start().  Returns NULL with *errp.
 */
struct listener *
listener_open(struct loop *loop, const struct listener_spec *spec,
    char **errp)
{
	struct listener *l = xcalloc(1, sizeof *l);
	int r, flags = spec->numeric ? AI_NUMERICHOST : 0;
	int stype = SOCK_STREAM | (spec->mptcp ? SOCK_MPTCP : 0);

	l->loop = loop;
	l->spec = *spec;
	loop_timer_init(&l->retry, listener_retry, l);
	loop_timer_init(&l->first, listener_first_expired, l);
	if (spec->unix_path != NULL) {
		l->unix_path = xstrdup(spec->unix_path);
		r = sock_listen_unix(spec->unix_path, SOCK_STREAM, &l->ls,
		    errp);
	} else if (spec->host == NULL && spec->bind == LISTENER_LOOPBACK) {
		log_info(1, "no ADDRESS given: listening on loopback only");
		r = sock_listen_loopback(spec->port, spec->family, stype,
		    &l->ls, errp);
	} else
		r = sock_listen_inet(spec->host, spec->port, spec->family,
		    stype, flags, &l->ls, errp);
	if (r == -1) {
		free(l->unix_path);
		free(l);
		return NULL;
	}
	return l;
}

/* Write TEXT to PATH atomically: a temporary file beside it, renamed. */
static int
listener_write_atomic(const char *path, const char *text, char **errp)
{
	char *tmp, *copy;
	size_t len = strlen(text);
	int fd;

	copy = xstrdup(path);
	tmp = log_fmt("%s/.sockt-port.XXXXXX", dirname(copy));
	free(copy);
	if ((fd = mkstemp(tmp)) == -1)
		goto fail;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		unlink(tmp);
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		unlink(tmp);
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	*errp = log_fmt("--port-file %s: %s", path, strerror(errno));
	free(tmp);
	return -1;
}

/*
 * The readiness report: "sockt: listening on ADDR:PORT" under -v for each
 * socket, then the port (a Unix socket's path) written to --port-file.
 * Anything a client must know first (a TLS pin) is printed before this.
 */
int
listener_ready(struct listener *l, char **errp)
{
	struct sockaddr_storage ss;
	char where[ADDR_STRLEN], opts[64], *text;
	socklen_t len;
	size_t i;
	int r;

	for (i = 0; i < l->ls.nfds; i++) {
		len = sizeof ss;
		if (getsockname(l->ls.fds[i], (struct sockaddr *)&ss,
		    &len) == -1)
			continue;
		if (l->unix_path == NULL)
			addr_format((struct sockaddr *)&ss, len, where,
			    sizeof where);
		log_info(1, "listening on %s", l->unix_path ? l->unix_path :
		    where);
		if (*sock_describe(l->ls.fds[i], opts, sizeof opts) != '\0')
			log_info(2, "%s: %s", l->unix_path ? l->unix_path :
			    where, opts);
	}
	if (l->spec.port_file == NULL)
		return 0;
	if (l->unix_path != NULL)
		text = log_fmt("%s\n", l->unix_path);
	else
		text = log_fmt("%d\n", sock_listeners_port(&l->ls));
	r = listener_write_atomic(l->spec.port_file, text, errp);
	free(text);
	return r;
}

/* The Ith listening socket, or -1 past the last. */
int
listener_fd(const struct listener *l, size_t i)
{
	return i < l->ls.nfds ? l->ls.fds[i] : -1;
}

/* Start accepting: FN(ARG, conn) for each client. */
void
listener_start(struct listener *l, listener_fn *fn, void *arg)
{
	l->fn = fn;
	l->arg = arg;
	if (l->spec.first_ms >= 0 && !l->seen)
		loop_timer_arm(l->loop, &l->first, loop_now() +
		    (uint64_t)l->spec.first_ms);
	listener_watch(l, true);
}

/* Stop (ON) or resume accepting; clients wait in the backlog meanwhile. */
void
listener_pause(struct listener *l, bool on)
{
	l->paused = on;
	listener_watch(l, !on);
}

/*
 * Accept no more: the sockets are closed, so later clients are refused.
 * A Unix socket's file stays until listener_free(), so they are refused
 * rather than told it does not exist.
 */
void
listener_close(struct listener *l)
{
	size_t i;

	listener_watch(l, false);
	loop_timer_disarm(l->loop, &l->retry);
	loop_timer_disarm(l->loop, &l->first);
	while (l->handshakes != NULL)
		listener_hs_free(l->handshakes, true);
	for (i = 0; i < l->ls.nfds; i++)
		close(l->ls.fds[i]);
	l->ls.nfds = 0;
	l->fn = NULL;
}

/* A client handed out earlier is gone: it no longer counts. */
void
listener_client_gone(struct listener *l)
{
	if (l->active > 0)
		l->active--;
}

size_t
listener_active(const struct listener *l)
{
	return l->active;
}

/* The bound port (all sockets share it), or -1 for a Unix socket. */
int
listener_port(const struct listener *l)
{
	return l->unix_path ? -1 : sock_listeners_port(&l->ls);
}

/* Close everything and remove the Unix socket file sockt created. */
void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	listener_close(l);
	sock_listeners_close(&l->ls);
	free(l->unix_path);
	free(l);
}
