/*
 * progress.c - the progress meter of one transfer on stderr (progress.h).
 */
#include <sys/types.h>

#include <libutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "progress.h"
#include "xmalloc.h"

#define PROGRESS_TTY_MS		250
#define PROGRESS_LINE_MS	1000

/* N with an SI prefix and at most three digits, e.g. "1.5GB". */
static void
progress_humanize(char *buf, size_t size, uint64_t n, const char *suffix)
{
	size_t len = strlen(suffix) + 5;

	humanize_number(buf, len < size ? len : size, (int64_t)n, suffix,
	    HN_AUTOSCALE, HN_DECIMAL | HN_NOSPACE | HN_DIVISOR_1000);
}

static void
progress_print(struct progress *pr, bool last)
{
	uint64_t have = pr->count(pr->arg), ms, rate, eta;
	char got[16], all[16], speed[16], line[512];
	int n;

	ms = loop_now() - pr->started;
	rate = have * 1000 / (ms ? ms : 1);
	progress_humanize(got, sizeof got, have, "B");
	progress_humanize(speed, sizeof speed, rate, "B/s");
	if (pr->total > 0) {
		progress_humanize(all, sizeof all, (uint64_t)pr->total, "B");
		n = snprintf(line, sizeof line, "%s: %s of %s (%d%%), %s",
		    pr->name, got, all, (int)(have * 100 /
		    (uint64_t)pr->total), speed);
	} else
		n = snprintf(line, sizeof line, "%s: %s, %s", pr->name, got,
		    speed);
	if (n < 0 || (size_t)n >= sizeof line)
		n = (int)strlen(line);
	if (last)
		snprintf(line + n, sizeof line - (size_t)n, " in %llu.%01llu s",
		    (unsigned long long)(ms / 1000),
		    (unsigned long long)(ms % 1000 / 100));
	else if (pr->total > 0 && rate > 0 && (uint64_t)pr->total > have) {
		eta = ((uint64_t)pr->total - have) / rate;
		snprintf(line + n, sizeof line - (size_t)n,
		    ", ETA %llu:%02llu:%02llu",
		    (unsigned long long)(eta / 3600),
		    (unsigned long long)(eta / 60 % 60),
		    (unsigned long long)(eta % 60));
	}
	if (pr->tty)
		dprintf(STDERR_FILENO, "\rsockt: %s\033[K%s", line,
		    last ? "\n" : "");
	else
		dprintf(STDERR_FILENO, "sockt: %s\n", line);
}

static void
progress_tick(struct loop *p, void *arg)
{
	struct progress *pr = arg;

	progress_print(pr, false);
	loop_timer_arm(p, &pr->timer, loop_now() + (pr->tty ?
	    PROGRESS_TTY_MS : PROGRESS_LINE_MS));
}

/*
 * Start the meter of a transfer called NAME (escaped here) of TOTAL bytes
 * (-1: unknown); COUNT(ARG) says how many have moved.
 */
void
progress_start(struct progress *pr, struct loop *p, const char *name,
    int64_t total, progress_count_fn *count, void *arg)
{
	char buf[256];

	memset(pr, 0, sizeof *pr);
	pr->loop = p;
	pr->name = xstrdup(log_escape(name, strlen(name), buf, sizeof buf));
	pr->total = total;
	pr->count = count;
	pr->arg = arg;
	pr->tty = isatty(STDERR_FILENO);
	pr->started = loop_now();
	loop_timer_init(&pr->timer, progress_tick, pr);
	loop_timer_arm(p, &pr->timer, pr->started + (pr->tty ?
	    PROGRESS_TTY_MS : PROGRESS_LINE_MS));
}

/* The last line, once the bytes have stopped moving; then the meter is
 * stopped (safe on a zeroed or stopped one). */
void
progress_end(struct progress *pr)
{
	if (pr->started == 0)
		return;
	loop_timer_disarm(pr->loop, &pr->timer);
	progress_print(pr, true);
	pr->started = 0;
	free(pr->name);
	pr->name = NULL;
}
