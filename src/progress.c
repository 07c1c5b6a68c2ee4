/*
 * progress.c - the one progress meter (-P) of fetch-file, connect and
 * listen: counters, percent and ETA when a total is known, a final line
 * with the average rate and the time taken.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"
#include "xmalloc.h"

/* N bytes in binary units: "512 B", "2.9 KiB", "1.4 MiB". */
void
progress_bytes(uint64_t n, char *buf, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB",
	    "PiB", "EiB" };
	uint64_t scale = 1024, tenths;
	size_t u = 0;

	if (n < 1024) {
		snprintf(buf, size, "%" PRIu64 " B", n);
		return;
	}
	/* the largest unit that leaves at least 1.0, rounded to tenths */
	while (u + 1 < sizeof units / sizeof units[0] && n / scale >= 1024) {
		scale *= 1024;
		u++;
	}
	tenths = (uint64_t)((long double)n * 10 / scale + 0.5L);
	if (tenths >= 10240 && u + 1 < sizeof units / sizeof units[0]) {
		scale *= 1024;
		u++;
		tenths = (uint64_t)((long double)n * 10 / scale + 0.5L);
	}
	snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " %s", tenths / 10,
	    tenths % 10, units[u]);
}

static void	progress_tick(struct loop *, void *);

/* An idle meter; NAME (may be NULL) starts its line. */
void
progress_init(struct progress *p, struct loop *l, const char *name)
{
	memset(p, 0, sizeof *p);
	p->loop = l;
	p->name = name ? xstrdup(name) : NULL;
	p->tty = isatty(STDERR_FILENO);
	loop_timer_init(&p->timer, progress_tick, p);
}

void
progress_set_name(struct progress *p, const char *name)
{
	free(p->name);
	p->name = name ? xstrdup(name) : NULL;
}

/* A counter called LABEL (may be NULL); returns its index. */
int
progress_add(struct progress *p, const char *label, progress_read_fn *fn,
    void *arg)
{
	struct progress_counter *c = &p->c[p->n];

	c->label = label;
	c->read = fn;
	c->arg = arg;
	c->total = -1;
	return p->n++;
}

/* Counter I goes from BASE bytes (already there) to TOTAL (-1: unknown). */
void
progress_set_total(struct progress *p, int i, uint64_t base, int64_t total)
{
	p->c[i].base = base;
	p->c[i].total = total;
}

/* Format the line; LAST adds the time taken instead of the ETA. */
static void
progress_print(struct progress *p, bool last)
{
	char line[512], have[PROGRESS_BYTES_LEN], all[PROGRESS_BYTES_LEN];
	char rate[PROGRESS_BYTES_LEN];
	uint64_t ms, moved = 0, bps, v, eta = 0;
	size_t len = 0;
	bool has_eta = false;
	int i;

	ms = loop_now() - p->started;
	line[0] = '\0';
	if (p->name != NULL)
		len += (size_t)snprintf(line, sizeof line, "%s: ", p->name);
	for (i = 0; i < p->n; i++)
		moved += p->c[i].read(p->c[i].arg);
	bps = moved * 1000 / (ms ? ms : 1);
	for (i = 0; i < p->n && len < sizeof line; i++) {
		struct progress_counter *c = &p->c[i];

		v = c->read(c->arg);
		progress_bytes(c->base + v, have, sizeof have);
		len += (size_t)snprintf(line + len, sizeof line - len, "%s%s",
		    i > 0 ? ", " : "", have);
		if (c->total >= 0 && len < sizeof line) {
			progress_bytes((uint64_t)c->total, all, sizeof all);
			len += (size_t)snprintf(line + len, sizeof line - len,
			    " of %s", all);
		}
		if (c->label != NULL && len < sizeof line)
			len += (size_t)snprintf(line + len, sizeof line - len,
			    " %s", c->label);
		if (c->total < 0 || len >= sizeof line)
			continue;
		len += (size_t)snprintf(line + len, sizeof line - len,
		    " (%d%%)", c->total == 0 ? 100 : (int)((c->base + v) *
		    100 / (uint64_t)c->total));
		if (!has_eta && v > 0 && (uint64_t)c->total > c->base + v) {
			/* at the average rate so far */
			eta = ((uint64_t)c->total - c->base - v) * ms / v /
			    1000;
			has_eta = true;
		}
	}
	progress_bytes(bps, rate, sizeof rate);
	if (len < sizeof line)
		len += (size_t)snprintf(line + len, sizeof line - len,
		    ", %s/s", rate);
	if (last && len < sizeof line)
		snprintf(line + len, sizeof line - len, " in %" PRIu64 ".%"
		    PRIu64 " s", ms / 1000, ms % 1000 / 100);
	else if (has_eta && len < sizeof line)
		snprintf(line + len, sizeof line - len, ", ETA %" PRIu64
		    ":%02" PRIu64 ":%02" PRIu64, eta / 3600, eta / 60 % 60,
		    eta % 60);
	if (p->tty)
		dprintf(STDERR_FILENO, "\rsockt: %s\033[K%s", line,
		    last ? "\n" : "");
	else
		dprintf(STDERR_FILENO, "sockt: %s\n", line);
}

static void
progress_tick(struct loop *l, void *arg)
{
	struct progress *p = arg;

	progress_print(p, false);
	loop_timer_arm(l, &p->timer, loop_now() + (uint64_t)p->every);
}

/*
 * The counters start moving now.  Lines follow every PROGRESS_TTY_MS on a
 * terminal, else every EVERY ms (0: only the final line).
 */
void
progress_start(struct progress *p, int every)
{
	p->started = loop_now();
	p->every = p->tty ? PROGRESS_TTY_MS : every;
	if (p->every > 0)
		loop_timer_arm(p->loop, &p->timer, p->started +
		    (uint64_t)p->every);
}

/* The final line, once (nothing if the meter never started). */
void
progress_end(struct progress *p)
{
	if (p->started == 0)
		return;
	loop_timer_disarm(p->loop, &p->timer);
	progress_print(p, true);
	p->started = 0;
}

void
progress_free(struct progress *p)
{
	if (p->loop != NULL)
		loop_timer_disarm(p->loop, &p->timer);
	free(p->name);
	p->name = NULL;
}
