/*
 * scan.c - concurrent connect probes for "connect -z" on the pump.
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
#include "pump.h"
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
	struct pump_timer	 timer;		/* timeout, or the next retry */
};

struct scan {
	const struct scan_spec	*spec;
	struct pump		*pump;
	struct probe		*probes;
	size_t			 next;		/* next probe to start */
	size_t			 printed;	/* results printed so far */
	size_t			 active;
	size_t			 open;
	uint64_t		 deadline;	/* --wait, 0: none */
};

static void	probe_attempt(struct probe *);

static void
scan_flush(struct scan *sc)
{
	struct probe *pr;

	while (sc->printed < sc->spec->nports) {
		pr = &sc->probes[sc->printed];
		if (pr->state == PROBE_OPEN) {
			fprintf(sc->spec->out, "%u open\n", pr->port);
			fflush(sc->spec->out);
		} else if (pr->state != PROBE_CLOSED)
			return;
		sc->printed++;
	}
}

static void
scan_start_more(struct scan *sc)
{
	struct probe *pr;

	while (sc->active < sc->spec->parallel && sc->next < sc->spec->nports) {
		pr = &sc->probes[sc->next++];
		pr->state = PROBE_RUNNING;
		pr->ai = sc->spec->addrs;
		sc->active++;
		probe_attempt(pr);
	}
	if (sc->active == 0 && sc->next == sc->spec->nports)
		pump_stop(sc->pump, 0);
}

static void
probe_finish(struct probe *pr, bool open)
{
	struct scan *sc = pr->scan;
	char where[ADDR_STRLEN];

	pr->state = open ? PROBE_OPEN : PROBE_CLOSED;
	if (open)
		sc->open++;
	else {
		snprintf(where, sizeof where, "%s:%u", sc->spec->host,
		    pr->port);
		log_info(1, "connect %s: %s", where, strerror(pr->err));
	}
	sc->active--;
	scan_flush(sc);
	scan_start_more(sc);
}

static void
probe_close(struct probe *pr)
{
	if (pr->fd != -1) {
		pump_forget(pr->scan->pump, pr->fd);
		close(pr->fd);
		pr->fd = -1;
	}
	pump_timer_disarm(pr->scan->pump, &pr->timer);
}

/* This address failed: the next one, a retry later, or closed. */
static void
probe_failed(struct probe *pr, int err)
{
	struct scan *sc = pr->scan;
	uint64_t now = pump_now(), when;

	probe_close(pr);
	pr->err = err;
	if (pr->ai->ai_next != NULL) {
		pr->ai = pr->ai->ai_next;
		probe_attempt(pr);
		return;
	}
	if (sc->deadline != 0 && now < sc->deadline) {
		log_info(1, "connect %s:%u: %s: retrying", sc->spec->host,
		    pr->port, strerror(err));
		pr->ai = sc->spec->addrs;
		pr->backoff = pr->backoff ? pr->backoff * 2 : SCAN_BACKOFF_MIN;
		if (pr->backoff > SCAN_BACKOFF_MAX)
			pr->backoff = SCAN_BACKOFF_MAX;
		when = now + (uint64_t)pr->backoff;
		pump_timer_arm(sc->pump, &pr->timer, when < sc->deadline ?
		    when : sc->deadline);
		return;
	}
	probe_finish(pr, false);
}

static void
probe_writable(struct pump *p, int fd, void *arg)
{
	struct probe *pr = arg;
	int err = sock_connect_result(fd);

	(void)p;
	if (err != 0) {
		probe_failed(pr, err);
		return;
	}
	probe_close(pr);
	probe_finish(pr, true);
}

/* The timer: a probe timed out, or a --wait retry is due. */
static void
probe_timer(struct pump *p, void *arg)
{
	struct probe *pr = arg;

	(void)p;
	if (pr->fd != -1)
		probe_failed(pr, ETIMEDOUT);
	else
		probe_attempt(pr);
}

static void
probe_attempt(struct probe *pr)
{
	struct scan *sc = pr->scan;
	struct sockaddr_storage ss;
	uint64_t when;
	char *err = NULL;

	memcpy(&ss, pr->ai->ai_addr, pr->ai->ai_addrlen);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(pr->port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(pr->port);
	pr->fd = sock_connect_start((struct sockaddr *)&ss, pr->ai->ai_addrlen,
	    SOCK_STREAM, sc->spec->source, &err);
	if (pr->fd == -1) {
		free(err);
		probe_failed(pr, errno ? errno : EINVAL);
		return;
	}
	pump_want_write(sc->pump, pr->fd, probe_writable, pr);
	if (sc->spec->timeout_ms >= 0) {
		when = pump_now() + (uint64_t)sc->spec->timeout_ms;
		if (sc->deadline != 0 && when > sc->deadline)
			when = sc->deadline;
		pump_timer_arm(sc->pump, &pr->timer, when);
	} else if (sc->deadline != 0) {
		/* The last try at the deadline still gets its answer. */
		when = pump_now() + 2 * SCAN_BACKOFF_MIN;
		pump_timer_arm(sc->pump, &pr->timer, when > sc->deadline ?
		    when : sc->deadline);
	}
}

/*
 * Probe every port of SPEC.  Returns the number of open ports, or -1 with
 * *errp when nothing could be probed.  With no port open, *errp says why
 * (the connect error for a single port).
 */
int
scan_run(struct pump *p, const struct scan_spec *spec, char **errp)
{
	struct scan sc;
	size_t i;
	int r;

	memset(&sc, 0, sizeof sc);
	sc.spec = spec;
	sc.pump = p;
	sc.probes = calloc(spec->nports, sizeof *sc.probes);
	if (sc.probes == NULL) {
		*errp = log_fmt("%s", strerror(errno));
		return -1;
	}
	for (i = 0; i < spec->nports; i++) {
		sc.probes[i].scan = &sc;
		sc.probes[i].port = spec->ports[i];
		sc.probes[i].fd = -1;
		pump_timer_init(&sc.probes[i].timer, probe_timer,
		    &sc.probes[i]);
	}
	if (spec->wait_ms >= 0)
		sc.deadline = pump_now() + (uint64_t)spec->wait_ms;
	scan_start_more(&sc);
	r = pump_run(p);
	for (i = 0; i < spec->nports; i++)
		probe_close(&sc.probes[i]);
	if (r != 0 && pump_caught_signal(p) == 0)
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
