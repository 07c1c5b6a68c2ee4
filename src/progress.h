/*
 * progress.h - the one progress meter of sockt (-P): fetch-file's
 * download and connect/listen's streams print the same way.
 *
 * Units are binary (1024): "512 B", "2.9 KiB", "1.4 MiB", "3.0 GiB",
 * rates the same with "/s".  A counter whose total is known shows
 * "X of Y (P%)" and, while it runs, the ETA.  On a terminal the line is
 * rewritten in place every PROGRESS_TTY_MS; elsewhere a line is printed
 * every EVERY ms given to progress_start() (0: only the final one).  The
 * final line ends with the average rate and the time taken:
 *
 *	sockt: NAME: 2.9 MiB of 2.9 MiB (100%), 31.2 MiB/s in 0.1 s
 *	sockt: 6 B received, 38 B of 38 B sent (100%), 1.1 KiB/s in 0.0 s
 */
#ifndef SOCKT_PROGRESS_H
#define SOCKT_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

#define PROGRESS_TTY_MS		250
#define PROGRESS_MAX		2	/* counters on one line */
#define PROGRESS_BYTES_LEN	16	/* "1023.9 KiB" + NUL, with room */

/* The bytes a counter has moved so far. */
typedef uint64_t progress_read_fn(void *);

struct progress_counter {
	const char		*label;	/* "received", or NULL */
	progress_read_fn	*read;
	void			*arg;
	uint64_t		 base;	/* there before: in X, not the rate */
	int64_t			 total;	/* -1: unknown */
};

struct progress {
	struct loop		*loop;
	struct loop_timer	 timer;
	char			*name;	/* "NAME: " before the counters */
	struct progress_counter	 c[PROGRESS_MAX];
	int			 n;
	bool			 tty;
	int			 every;	/* ms between lines */
	uint64_t		 started;	/* 0: not running */
};

void	 progress_init(struct progress *, struct loop *, const char *);
int	 progress_add(struct progress *, const char *, progress_read_fn *,
	     void *);
void	 progress_set_total(struct progress *, int, uint64_t, int64_t);
void	 progress_set_name(struct progress *, const char *);
void	 progress_start(struct progress *, int);
void	 progress_end(struct progress *);
void	 progress_free(struct progress *);
void	 progress_bytes(uint64_t, char *, size_t);

#endif
