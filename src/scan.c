/*
 * scan.c - concurrent connect probes for "connect -z" on the pump.
 *
 * One loop, scan_pump(), starts probes; callbacks only record what a
 * probe learnt and call it again.  A probe that fails at once (a
 * connect refused before it started, a network that is unreachable)
 * never starts the next one itself, so the call depth stays flat however
 * many ports fail in a row.
 *
 * A local shortage (no fd, no memory, no ephemeral port) says nothing
 * about a port: the probe waits in a queue until another probe gives its
 * fd back, then tries again.  Only when no probe holds an fd, so none
 * will free one, is the shortage an error that ends the scan.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "loop.h"
#include "relay.h"
#include "scan.h"
#include "sock.h"

#define SCAN_BACKOFF_MIN	50	/* ms between --wait retries, doubling */
#define SCAN_BACKOFF_MAX	1000

struct scan;

struct probe {
	struct scan		*scan;
	uint16_t		 port;
	const struct addrinfo	*ai;		/* address being tried */
	int			 fd;
	int			 err;		/* last failure */
	int			 backoff;
	enum { PROBE_IDLE, PROBE_RUNNING, PROBE_OPEN, PROBE_CLOSED } state;
	struct loop_timer	 timer;		/* timeout, or the next retry */
	struct probe		*stalled_next;	/* in scan's stalled queue */
};

/* What one try of a probe came to. */
enum probe_try {
	TRY_STARTED,	/* a connect is under way */
	TRY_FAILED,	/* every address failed at once: pr->err says why */
	TRY_STALLED,	/* no local resource now; try again later */
	TRY_FATAL	/* no local resource and none will come back */
};

struct scan {
	const struct scan_spec	*spec;
	struct loop		*loop;
	struct probe		*probes;
	size_t			 next;		/* next probe to start */
	size_t			 printed;	/* results printed so far */
	size_t			 active;	/* started and not decided */
	size_t			 inflight;	/* holding an fd */
	size_t			 open;
	struct probe		*stalled;	/* waiting for an fd, in order */
	struct probe		*stalled_last;
	bool			 pumping;	/* scan_pump() is running */
	char			*fatal;		/* the error that ends the scan */
	uint64_t		 deadline;	/* --wait, 0: none */
};

/*
 * Print the results decided so far, in port order: "PORT open" on the
 * output, and under -v the error of each closed port (a single port's
 * error is the final message instead, not printed twice).
 */
static void
scan_flush(struct scan *sc)
{
	const struct scan_spec *spec = sc->spec;
	struct probe *pr;

	while (sc->printed < spec->nports) {
		pr = &sc->probes[sc->printed];
		if (pr->state == PROBE_OPEN) {
			fprintf(spec->out, "%u open\n", pr->port);
			fflush(spec->out);
		} else if (pr->state == PROBE_CLOSED) {
			if (spec->nports > 1)
				log_info(1, "connect %s:%u: %s", spec->host,
				    pr->port, strerror(pr->err));
		} else
			return;
		sc->printed++;
	}
}

/*
 * Errors that are about this host, not the port probed: 1 for fds and
 * memory, 2 for local ports and addresses (which may also mean that this
 * one address of the target cannot be reached from here), 0 for others.
 */
static int
scan_shortage(int err)
{
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
		return 1;
	if (err == EADDRNOTAVAIL || err == EADDRINUSE || err == EAGAIN)
		return 2;
	return 0;
}

static void
scan_stall(struct scan *sc, struct probe *pr, bool first)
{
	if (sc->stalled == NULL) {
		pr->stalled_next = NULL;
		sc->stalled = sc->stalled_last = pr;
	} else if (first) {
		pr->stalled_next = sc->stalled;
		sc->stalled = pr;
	} else {
		pr->stalled_next = NULL;
		sc->stalled_last->stalled_next = pr;
		sc->stalled_last = pr;
	}
}

static struct probe *
scan_unstall(struct scan *sc)
{
	struct probe *pr = sc->stalled;

	if (pr != NULL) {
		sc->stalled = pr->stalled_next;
		if (sc->stalled == NULL)
			sc->stalled_last = NULL;
	}
	return pr;
}

/* Give back PR's fd and stop its timer. */
static void
probe_close(struct probe *pr)
{
	if (pr->fd != -1) {
		loop_forget(pr->scan->loop, pr->fd);
		close(pr->fd);
		pr->fd = -1;
		pr->scan->inflight--;
	}
	loop_timer_disarm(pr->scan->loop, &pr->timer);
}

static void
probe_decide(struct probe *pr, bool open)
{
	struct scan *sc = pr->scan;

	pr->state = open ? PROBE_OPEN : PROBE_CLOSED;
	if (open)
		sc->open++;
	sc->active--;
}

static void	probe_writable(struct loop *, int, void *);

/* AI or the first address after it of the -s source's family, or NULL. */
static const struct addrinfo *
probe_usable(const struct probe *pr, const struct addrinfo *ai)
{
	const struct addrinfo *src = pr->scan->spec->source;

	while (ai != NULL && src != NULL && ai->ai_family != src->ai_family)
		ai = ai->ai_next;
	return ai;
}

/*
 * Start a connect to PR's port at PR's address, or at the next ones when
 * an address fails at once.  Starts nothing else and never recurses.
 */
static enum probe_try
probe_try(struct probe *pr)
{
	struct scan *sc = pr->scan;
	struct sockaddr_storage ss;
	uint64_t when;
	char *msg = NULL;
	int err, shortage;

	for (pr->ai = probe_usable(pr, pr->ai); pr->ai != NULL;
	    pr->ai = probe_usable(pr, pr->ai->ai_next)) {
		memcpy(&ss, pr->ai->ai_addr, pr->ai->ai_addrlen);
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port =
			    htons(pr->port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port =
			    htons(pr->port);
		pr->fd = sock_connect_start((struct sockaddr *)&ss,
		    pr->ai->ai_addrlen, SOCK_STREAM, sc->spec->source, &msg);
		if (pr->fd != -1)
			break;
		err = errno;
		shortage = scan_shortage(err);
		if (shortage != 0 && sc->inflight > 0) {
			/* another probe will give an fd or a port back */
			free(msg);
			return TRY_STALLED;
		}
		if (shortage == 1 || (shortage == 2 &&
		    probe_usable(pr, pr->ai->ai_next) == NULL)) {
			sc->fatal = msg;
			return TRY_FATAL;
		}
		free(msg);
		msg = NULL;
		pr->err = err;
	}
	if (pr->ai == NULL)
		return TRY_FAILED;
	sc->inflight++;
	loop_want_write(sc->loop, pr->fd, probe_writable, pr);
	if (sc->spec->timeout_ms >= 0) {
		when = loop_now() + (uint64_t)sc->spec->timeout_ms;
		if (sc->deadline != 0 && when > sc->deadline)
			when = sc->deadline;
		loop_timer_arm(sc->loop, &pr->timer, when);
	} else if (sc->deadline != 0) {
		/* The last try at the deadline still gets its answer. */
		when = loop_now() + 2 * SCAN_BACKOFF_MIN;
		loop_timer_arm(sc->loop, &pr->timer, when > sc->deadline ?
		    when : sc->deadline);
	}
	return TRY_STARTED;
}

/* Every address failed: a --wait retry later, or the port is closed. */
static void
probe_failed(struct probe *pr)
{
	struct scan *sc = pr->scan;
	uint64_t now = loop_now(), when;

	if (sc->deadline != 0 && now < sc->deadline) {
		log_info(1, "connect %s:%u: %s: retrying", sc->spec->host,
		    pr->port, strerror(pr->err));
		pr->ai = sc->spec->addrs;
		pr->backoff = pr->backoff ? pr->backoff * 2 : SCAN_BACKOFF_MIN;
		if (pr->backoff > SCAN_BACKOFF_MAX)
			pr->backoff = SCAN_BACKOFF_MAX;
		when = now + (uint64_t)pr->backoff;
		loop_timer_arm(sc->loop, &pr->timer, when < sc->deadline ?
		    when : sc->deadline);
		return;
	}
	probe_decide(pr, false);
}

/* Act on what probe_try() said; a stalled probe joins the queue. */
static void
probe_tried(struct probe *pr, enum probe_try r, bool first)
{
	switch (r) {
	case TRY_STARTED:
	case TRY_FATAL:
		break;
	case TRY_FAILED:
		probe_failed(pr);
		break;
	case TRY_STALLED:
		scan_stall(pr->scan, pr, first);
		break;
	}
}

/*
 * The one place probes start: first those waiting for an fd, then new
 * ones up to --parallel.  Then print what is decided and stop the pump
 * when everything is, or on a fatal error.  Callbacks call it after
 * recording their probe's fate; it never runs inside itself.
 */
static void
scan_pump(struct scan *sc)
{
	struct probe *pr;
	enum probe_try r;

	if (sc->pumping)
		return;
	sc->pumping = true;
	while (sc->fatal == NULL) {
		if ((pr = scan_unstall(sc)) != NULL) {
			r = probe_try(pr);
			probe_tried(pr, r, true);
			if (r == TRY_STALLED)
				break;	/* still short: wait for an fd */
			continue;
		}
		if (sc->active >= sc->spec->parallel ||
		    sc->next >= sc->spec->nports)
			break;
		pr = &sc->probes[sc->next++];
		pr->state = PROBE_RUNNING;
		pr->ai = sc->spec->addrs;
		sc->active++;
		r = probe_try(pr);
		probe_tried(pr, r, false);
		if (r == TRY_STALLED)
			break;
	}
	sc->pumping = false;
	scan_flush(sc);
	if (sc->fatal != NULL)
		loop_stop(sc->loop, 1);
	else if (sc->active == 0 && sc->next == sc->spec->nports)
		loop_stop(sc->loop, 0);
}

/* This address failed after it started: the next one, or give up. */
static void
probe_address_failed(struct probe *pr, int err)
{
	probe_close(pr);
	pr->err = err;
	pr->ai = pr->ai->ai_next;
	probe_tried(pr, probe_try(pr), false);
}

static void
probe_writable(struct loop *p, int fd, void *arg)
{
	struct probe *pr = arg;
	int err = sock_connect_result(fd);

	(void)p;
	if (err != 0)
		probe_address_failed(pr, err);
	else {
		probe_close(pr);
		probe_decide(pr, true);
	}
	scan_pump(pr->scan);
}

/* The timer: a probe timed out, or a --wait retry is due. */
static void
probe_timer(struct loop *p, void *arg)
{
	struct probe *pr = arg;

	(void)p;
	if (pr->fd != -1)
		probe_address_failed(pr, ETIMEDOUT);
	else
		probe_tried(pr, probe_try(pr), false);
	scan_pump(pr->scan);
}

/*
 * Probe every port of SPEC.  Returns the number of open ports, or -1 with
 * *errp when the scan could not run to its end.  With no port open, *errp
 * says why (the connect error for a single port).
 */
int
scan_run(struct loop *p, const struct scan_spec *spec, char **errp)
{
	const struct addrinfo *ai;
	struct scan sc;
	size_t i;
	int r;

	if (spec->source != NULL) {
		for (ai = spec->addrs; ai != NULL; ai = ai->ai_next)
			if (ai->ai_family == spec->source->ai_family)
				break;
		if (ai == NULL) {
			*errp = log_fmt("connect %s: no address matches the "
			    "source address family", spec->host);
			return -1;
		}
		if (sock_check_source(spec->source, SOCK_STREAM, errp) == -1)
			return -1;
	}
	memset(&sc, 0, sizeof sc);
	sc.spec = spec;
	sc.loop = p;
	sc.probes = calloc(spec->nports, sizeof *sc.probes);
	if (sc.probes == NULL) {
		*errp = log_fmt("%s", strerror(errno));
		return -1;
	}
	for (i = 0; i < spec->nports; i++) {
		sc.probes[i].scan = &sc;
		sc.probes[i].port = spec->ports[i];
		sc.probes[i].fd = -1;
		loop_timer_init(&sc.probes[i].timer, probe_timer,
		    &sc.probes[i]);
	}
	if (spec->wait_ms >= 0)
		sc.deadline = loop_now() + (uint64_t)spec->wait_ms;
	scan_pump(&sc);
	r = loop_run(p);
	for (i = 0; i < spec->nports; i++)
		probe_close(&sc.probes[i]);
	if (sc.fatal != NULL) {
		*errp = sc.fatal;
		r = -1;
	} else if (r != 0 && loop_caught_signal(p) == 0)
		*errp = log_fmt("scan interrupted");
	else if (sc.open == 0 && spec->nports == 1)
		*errp = log_fmt("connect %s:%u: %s", spec->host, spec->ports[0],
		    strerror(sc.probes[0].err));
	else if (sc.open == 0)
		*errp = log_fmt("no open port among %zu on %s", spec->nports,
		    spec->host);
	free(sc.probes);
	return r != 0 ? -1 : (int)sc.open;
}
