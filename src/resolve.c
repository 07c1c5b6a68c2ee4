/*
 * resolve.c - asynchronous getaddrinfo() for the loop: getaddrinfo_a()
 * with a notification that writes the finished request to a pipe.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "resolve.h"
#include "xmalloc.h"

struct resolver {
	struct loop		*loop;
	int			 rfd;		/* finished requests arrive */
	int			 wfd;
	size_t			 running;	/* in getaddrinfo_a() */
};

struct resolve {
	struct resolver		*r;
	resolve_fn		*fn;
	void			*arg;
	bool			 cancelled;
	bool			 async;		/* in getaddrinfo_a() */
	struct addrinfo		 hints;
	struct gaicb		 cb;
	struct sigevent		 sev;
	struct addrinfo		*numeric;	/* parsed at once */
	int			 numeric_err;
	struct loop_deferred	 now;
	char			*host;
	char			*port;
};

static void
resolve_free(struct resolve *q)
{
	free(q->host);
	free(q->port);
	free(q);
}

/* A resolver thread: the lookup is over; hand Q to the loop. */
static void
resolve_notify(union sigval sv)
{
	struct resolve *q = sv.sival_ptr;
	ssize_t n;

	/* a pointer is far below PIPE_BUF: the write is whole */
	do {
		n = write(q->r->wfd, &q, sizeof q);
	} while (n == -1 && errno == EINTR);
}

/* Q's lookup is over: call back, or just free it when cancelled. */
static void
resolve_done(struct resolve *q, struct addrinfo *ai, int err)
{
	if (q->cancelled) {
		if (ai != NULL)
			freeaddrinfo(ai);
	} else
		q->fn(q->arg, ai, err);
	resolve_free(q);
}

static void
resolve_readable(struct loop *l, int fd, void *arg)
{
	struct resolver *r = arg;
	struct resolve *q[64];
	ssize_t n;
	size_t i;
	int err;

	(void)l;
	n = read(fd, q, sizeof q);
	if (n <= 0)
		return;
	for (i = 0; i < (size_t)n / sizeof q[0]; i++) {
		r->running--;
		err = gai_error(&q[i]->cb);
		resolve_done(q[i], err == 0 ? q[i]->cb.ar_result : NULL, err);
	}
}

struct resolver *
resolver_new(struct loop *l, char **errp)
{
	struct resolver *r = xcalloc(1, sizeof *r);
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) == -1) {
		*errp = log_fmt("pipe: %s", strerror(errno));
		free(r);
		return NULL;
	}
	r->loop = l;
	r->rfd = fds[0];
	r->wfd = fds[1];
	loop_want_read(l, r->rfd, resolve_readable, r);
	return r;
}

void
resolver_free(struct resolver *r)
{
	struct resolve *q;
	ssize_t n;

	if (r == NULL)
		return;
	loop_forget(r->loop, r->rfd);
	/* lookups still running write here: wait for them (exit only) */
	while (r->running > 0) {
		n = read(r->rfd, &q, sizeof q);
		if (n == -1 && errno == EINTR)
			continue;
		if (n != sizeof q)
			break;
		r->running--;
		q->cancelled = true;
		resolve_done(q, gai_error(&q->cb) == 0 ? q->cb.ar_result :
		    NULL, 0);
	}
	close(r->rfd);
	close(r->wfd);
	free(r);
}

static void
resolve_numeric_done(struct loop *l, void *arg)
{
	struct resolve *q = arg;

	(void)l;
	resolve_done(q, q->numeric, q->numeric_err);
}

/*
 * Look HOST PORT up (stream sockets of FAMILY; a literal only when
 * NUMERIC, as -n says); FN gets the answer from the loop.  Never fails
 * here: a failure reaches FN as an error code.
 */
struct resolve *
resolve_start(struct resolver *r, const char *host, const char *port,
    int family, bool numeric, resolve_fn *fn, void *arg)
{
	struct resolve *q = xcalloc(1, sizeof *q);
	struct gaicb *list[1];
	int err;

	q->r = r;
	q->fn = fn;
	q->arg = arg;
	q->host = xstrdup(host);
	q->port = xstrdup(port);
	q->hints.ai_family = family;
	q->hints.ai_socktype = SOCK_STREAM;
	q->hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	loop_deferred_init(&q->now, resolve_numeric_done, q);
	err = getaddrinfo(q->host, q->port, &q->hints, &q->numeric);
	if (err != EAI_NONAME || numeric) {
		/* a literal (or a bad port): no lookup needed */
		q->numeric_err = err;
		loop_defer(r->loop, &q->now);
		return q;
	}
	q->hints.ai_flags = AI_NUMERICSERV;
	q->cb.ar_name = q->host;
	q->cb.ar_service = q->port;
	q->cb.ar_request = &q->hints;
	q->sev.sigev_notify = SIGEV_THREAD;
	q->sev.sigev_notify_function = resolve_notify;
	q->sev.sigev_value.sival_ptr = q;
	list[0] = &q->cb;
	if ((err = getaddrinfo_a(GAI_NOWAIT, list, 1, &q->sev)) != 0) {
		q->numeric = NULL;
		q->numeric_err = err;
		loop_defer(r->loop, &q->now);
		return q;
	}
	q->async = true;
	r->running++;
	return q;
}

void
resolve_cancel(struct resolve *q)
{
	if (q == NULL)
		return;
	if (q->async) {
		q->cancelled = true;	/* freed when its notification comes */
		return;
	}
	loop_undefer(q->r->loop, &q->now);
	if (q->numeric != NULL)
		freeaddrinfo(q->numeric);
	resolve_free(q);
}
