/*
 * scan.h - "connect -z": concurrent non-blocking connect probes run on the
 * pump, with bounded parallelism, a per-probe timeout, optional retrying
 * until a deadline (--wait), and results printed in port order.
 */
#ifndef SOCKT_SCAN_H
#define SOCKT_SCAN_H

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop.h"
#include "relay.h"

struct scan_spec {
	const char		*host;		/* for messages */
	const struct addrinfo	*addrs;		/* tried in turn, any port */
	const struct addrinfo	*source;	/* -s/-p, or NULL */
	const uint16_t		*ports;		/* ascending */
	size_t			 nports;
	size_t			 parallel;
	int			 timeout_ms;	/* per probe, -1: the kernel's */
	int			 wait_ms;	/* retry until, -1: no retry */
	FILE			*out;		/* "PORT open" lines */
};

int	 scan_run(struct loop *, const struct scan_spec *, char **);

#endif
