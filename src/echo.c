/*
 * echo.c - udp-recv --echo: the echo of each datagram to its sender, and
 * the token buckets that keep it from feeding an echo loop.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "dgram.h"
#include "echo.h"
#include "log.h"
#include "loop.h"

enum echo_verdict {
	ECHO_OK,
	ECHO_LOOP_PORT,		/* never: a port of the answer-all kind */
	ECHO_OVER,		/* not now: over the rate, first time */
	ECHO_STILL_OVER		/* not now, and said so already */
};

/*
 * Ports of the services that answer any datagram (RFC 862, 867, 865, 864,
 * 868), and 0, which no real sender has.
 */
static bool
echo_loop_port(uint16_t port)
{
	return port == 0 || port == 7 || port == 13 || port == 17 ||
	    port == 19 || port == 37;
}

/* The source port of SA, or -1 for a family without one. */
static int
echo_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return -1;
}

/* Refill B as of NOW; the bucket holds at most ECHO_BURST tokens. */
static void
echo_refill(struct echo_bucket *b, uint64_t now)
{
	const uint64_t full = (uint64_t)ECHO_BURST * 1000;

	if (now > b->stamp) {
		/* RATE tokens a second are RATE thousandths a millisecond */
		if ((now - b->stamp) >= full / ECHO_RATE)
			b->tokens = full;
		else
			b->tokens += (now - b->stamp) * ECHO_RATE;
		if (b->tokens > full)
			b->tokens = full;
		b->stamp = now;
	}
	if (b->tokens == full)
		b->over = false;
}

/* Is C a better slot than V to give a new sender? */
static bool
echo_rather(const struct echo_bucket *c,
    const struct echo_bucket *v)
{
	const uint64_t full = (uint64_t)ECHO_BURST * 1000;

	if (v->len == 0 || c->len == 0)
		return v->len != 0;
	if ((c->tokens == full) != (v->tokens == full))
		return c->tokens == full;	/* a full one forgets nothing */
	return c->seen < v->seen;
}

/*
 * May the datagram from SA (LEN bytes of address) be echoed at NOW (ms)?
 * Takes one token from its sender's bucket when it may.
 */
static enum echo_verdict
echo_check(struct echo *lim, const struct sockaddr *sa,
    socklen_t len, uint64_t now)
{
	struct echo_bucket *b = NULL, *c;
	int port = echo_port(sa);
	size_t i;

	if (port != -1 && echo_loop_port((uint16_t)port))
		return ECHO_LOOP_PORT;
	if (len > sizeof b->addr)
		len = sizeof b->addr;
	for (i = 0; i < ECHO_PEERS; i++) {
		c = &lim->peers[i];
		if (c->len == len && memcmp(&c->addr, sa, len) == 0) {
			b = c;
			break;
		}
		if (c->len != 0)
			echo_refill(c, now);
		if (i == 0 || echo_rather(c, b))
			b = c;
	}
	if (i == ECHO_PEERS) {
		/* a new sender, in the slot chosen above */
		memset(b, 0, sizeof *b);
		memcpy(&b->addr, sa, len);
		b->len = len;
		b->tokens = (uint64_t)ECHO_BURST * 1000;
		b->stamp = now;
	}
	b->seen = now;
	echo_refill(b, now);
	if (b->tokens >= 1000) {
		b->tokens -= 1000;
		return ECHO_OK;
	}
	if (b->over)
		return ECHO_STILL_OVER;
	b->over = true;
	return ECHO_OVER;
}

/*
 * Queue the echo of LEN bytes of DATA (a receive buffer, valid until the
 * next receive) to SA on socket FD, unless it has no name to answer or
 * could feed an echo loop; NAME is the sender in messages, and CHANGED
 * says it did not send the previous datagram (a refusal by port is
 * reported once per change).
 */
void
echo_queue(struct echo *e, int fd, const struct sockaddr *sa, socklen_t salen,
    const void *data, size_t len, const char *name, bool changed)
{
	struct dgram *d;

	if (!dgram_named(sa, salen)) {
		log_info(1, "cannot echo to %s: it has no address", name);
		return;
	}
	switch (echo_check(e, sa, salen, loop_now())) {
	case ECHO_OK:
		if (e->n == DGRAM_BATCH)
			break;	/* never: no batch holds more */
		e->fd = fd;
		d = &e->pending[e->n++];
		d->data = data;
		d->len = len;
		d->to = sa;
		d->tolen = salen;
		break;
	case ECHO_LOOP_PORT:
		if (changed)
			log_info(1, "not echoing to %s: that port answers "
			    "every datagram (an echo loop)", name);
		break;
	case ECHO_OVER:
		log_info(1, "not echoing to %s: more than %d echoes at once "
		    "or %d a second (an echo loop?)", name, ECHO_BURST,
		    ECHO_RATE);
		break;
	case ECHO_STILL_OVER:
		break;
	}
}

/*
 * Send the pending echoes as far as the socket takes them (each one to
 * TAP's -x dump); a sender that is gone only misses its echo.
 */
void
echo_flush(struct echo *e, struct log_tap *tap)
{
	char name[ADDR_NAMELEN];
	const struct dgram *d;
	int n, i;

	while (e->off < e->n) {
		d = &e->pending[e->off];
		n = dgram_send_batch(e->fd, d, e->n - e->off);
		if (n == 0)
			break;
		if (n == -1) {
			log_info(1, "echo to %s: %s", addr_format(d->to,
			    d->tolen, name, sizeof name), strerror(errno));
			e->off++;
			continue;
		}
		for (i = 0; i < n; i++)
			log_tap_data(tap, LOG_SENT, d[i].data, d[i].len);
		e->off += (size_t)n;
	}
	if (e->off >= e->n)
		e->n = e->off = 0;
}

/* Are echoes waiting for the socket to take them? */
bool
echo_pending(const struct echo *e)
{
	return e->off < e->n;
}
