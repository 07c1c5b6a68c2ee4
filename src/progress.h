/*
 * progress.h - the progress meter of one transfer on stderr: bytes, and
 * with a known size the percentage and the ETA, e.g.
 *
 *	sockt: big.iso: 2.9MB of 10MB (29%), 1.2MB/s, ETA 0:00:06
 *
 * redrawn in place four times a second at a terminal, one line a second
 * otherwise, and a last line with the duration when the transfer ends.
 * The meter asks its counter for the bytes moved so far; it runs on the
 * loop's timers and never blocks it.
 */
#ifndef SOCKT_PROGRESS_H
#define SOCKT_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

typedef uint64_t progress_count_fn(void *);

struct progress {
	struct loop		*loop;
	struct loop_timer	 timer;
	char			*name;		/* escaped */
	int64_t			 total;		/* -1: unknown */
	progress_count_fn	*count;
	void			*arg;
	uint64_t		 started;	/* 0: not running */
	bool			 tty;
};

void	 progress_start(struct progress *, struct loop *, const char *,
	     int64_t, progress_count_fn *, void *);
void	 progress_end(struct progress *);

#endif
