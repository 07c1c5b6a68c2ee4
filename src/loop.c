/*
 * loop.c - the poll() loop: fd watches, a heap of deadline timers, signals
 * through a self-pipe, and deferred work.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "xmalloc.h"

struct loop_watch {
	loop_io_fn	*rfn;
	loop_io_fn	*wfn;
	void		*rarg;
	void		*warg;
	int		 slot;		/* index in pfds, -1 when not polled */
};

struct loop {
	struct pollfd		*pfds;
	size_t			 npfds;
	size_t			 cappfds;
	struct loop_watch	*watches;	/* indexed by fd */
	size_t			 capwatches;
	struct loop_timer	**heap;
	size_t			 nheap;
	size_t			 capheap;
	struct loop_deferred	*deferred;
	unsigned		 holds;
	int			 sigpipe[2];
	loop_signal_fn		*sigfn;
	void			*sigarg;
	int			 caught;
	bool			 stopping;
	int			 status;
	uint64_t		 now;
};

/* The write end of the self-pipe, for the signal handler. */
static int	loop_signal_fd = -1;

/* Monotonic milliseconds. */
uint64_t
loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The time this round of the loop started (cheaper than loop_now()). */
uint64_t
loop_time(const struct loop *l)
{
	return l->now;
}

/* ---- watches ---------------------------------------------------------- */

static struct loop_watch *
watch_get(struct loop *l, int fd)
{
	size_t old = l->capwatches, i;

	if ((size_t)fd >= l->capwatches) {
		l->capwatches = (size_t)fd + 64;
		l->watches = xreallocarray(l->watches, l->capwatches,
		    sizeof *l->watches);
		for (i = old; i < l->capwatches; i++) {
			memset(&l->watches[i], 0, sizeof l->watches[i]);
			l->watches[i].slot = -1;
		}
	}
	return &l->watches[fd];
}

/* Bring FD's pollfd in line with its callbacks. */
static void
watch_sync(struct loop *l, int fd)
{
	struct loop_watch *w = watch_get(l, fd);
	short events = (short)((w->rfn ? POLLIN : 0) | (w->wfn ? POLLOUT : 0));
	size_t last;

	if (events != 0 && w->slot == -1) {
		if (l->npfds == l->cappfds) {
			l->cappfds = l->cappfds ? l->cappfds * 2 : 16;
			l->pfds = xreallocarray(l->pfds, l->cappfds,
			    sizeof *l->pfds);
		}
		w->slot = (int)l->npfds++;
		l->pfds[w->slot].fd = fd;
		l->pfds[w->slot].revents = 0;
	} else if (events == 0 && w->slot != -1) {
		last = --l->npfds;
		if ((size_t)w->slot != last) {
			l->pfds[w->slot] = l->pfds[last];
			l->watches[l->pfds[w->slot].fd].slot = w->slot;
		}
		w->slot = -1;
		return;
	}
	if (w->slot != -1)
		l->pfds[w->slot].events = events;
}

/* Call FN(l, fd, arg) whenever FD is readable (or hung up, or in error). */
void
loop_want_read(struct loop *l, int fd, loop_io_fn *fn, void *arg)
{
	struct loop_watch *w = watch_get(l, fd);

	w->rfn = fn;
	w->rarg = arg;
	watch_sync(l, fd);
}

/* Call FN(l, fd, arg) whenever FD is writable (or in error). */
void
loop_want_write(struct loop *l, int fd, loop_io_fn *fn, void *arg)
{
	struct loop_watch *w = watch_get(l, fd);

	w->wfn = fn;
	w->warg = arg;
	watch_sync(l, fd);
}

void
loop_cancel_read(struct loop *l, int fd)
{
	if (fd >= 0 && (size_t)fd < l->capwatches &&
	    l->watches[fd].rfn != NULL) {
		l->watches[fd].rfn = NULL;
		watch_sync(l, fd);
	}
}

void
loop_cancel_write(struct loop *l, int fd)
{
	if (fd >= 0 && (size_t)fd < l->capwatches &&
	    l->watches[fd].wfn != NULL) {
		l->watches[fd].wfn = NULL;
		watch_sync(l, fd);
	}
}

/* Drop every watch on FD; call before closing it. */
void
loop_forget(struct loop *l, int fd)
{
	loop_cancel_read(l, fd);
	loop_cancel_write(l, fd);
}

/* ---- timers: a binary min-heap on the deadline ------------------------ */

static void
heap_swap(struct loop *l, size_t a, size_t b)
{
	struct loop_timer *t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->slot = a;
	l->heap[b]->slot = b;
}

static void
heap_fix(struct loop *l, size_t i)
{
	size_t c, m;

	while (i > 0 && l->heap[(i - 1) / 2]->when > l->heap[i]->when) {
		heap_swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		m = i;
		c = 2 * i + 1;
		if (c < l->nheap && l->heap[c]->when < l->heap[m]->when)
			m = c;
		if (c + 1 < l->nheap && l->heap[c + 1]->when < l->heap[m]->when)
			m = c + 1;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

void
loop_timer_init(struct loop_timer *t, loop_timer_fn *fn, void *arg)
{
	t->when = 0;
	t->slot = 0;
	t->fn = fn;
	t->arg = arg;
}

/* Run T's callback once, at monotonic time WHEN (ms, loop_now()). */
void
loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t when)
{
	if (when == 0)
		when = 1;
	if (t->when != 0) {
		t->when = when;
		heap_fix(l, t->slot);
		return;
	}
	if (l->nheap == l->capheap) {
		l->capheap = l->capheap ? l->capheap * 2 : 8;
		l->heap = xreallocarray(l->heap, l->capheap, sizeof *l->heap);
	}
	t->when = when;
	t->slot = l->nheap;
	l->heap[l->nheap++] = t;
	heap_fix(l, t->slot);
}

/* Run T's callback once, MS milliseconds from now. */
void
loop_timer_after(struct loop *l, struct loop_timer *t, uint64_t ms)
{
	loop_timer_arm(l, t, loop_now() + ms);
}

void
loop_timer_disarm(struct loop *l, struct loop_timer *t)
{
	size_t i = t->slot;

	if (t->when == 0)
		return;
	t->when = 0;
	if (i != --l->nheap) {
		l->heap[i] = l->heap[l->nheap];
		l->heap[i]->slot = i;
		heap_fix(l, i);
	}
}

bool
loop_timer_armed(const struct loop_timer *t)
{
	return t->when != 0;
}

/* ---- deferred work ---------------------------------------------------- */

void
loop_deferred_init(struct loop_deferred *d, loop_timer_fn *fn, void *arg)
{
	memset(d, 0, sizeof *d);
	d->fn = fn;
	d->arg = arg;
}

/*
 * Run D's callback at the top of the next round, outside every callback
 * now on the stack: the place to free what those callbacks may still use.
 */
void
loop_defer(struct loop *l, struct loop_deferred *d)
{
	if (d->queued)
		return;
	d->queued = true;
	d->next = l->deferred;
	l->deferred = d;
}

void
loop_undefer(struct loop *l, struct loop_deferred *d)
{
	struct loop_deferred **pp;

	if (!d->queued)
		return;
	for (pp = &l->deferred; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	d->queued = false;
}

static void
loop_run_deferred(struct loop *l)
{
	struct loop_deferred *d;

	while ((d = l->deferred) != NULL) {
		l->deferred = d->next;
		d->queued = false;
		d->fn(l, d->arg);
	}
}

/* ---- signals ---------------------------------------------------------- */

static void
loop_signal_handler(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (write(loop_signal_fd, &c, 1) == -1) {
		/* the pipe is full: that signal is pending already */
	}
	errno = saved;
}

static void
loop_signal_read(struct loop *l, int fd, void *arg)
{
	unsigned char sigs[64];
	ssize_t n, i;

	(void)arg;
	n = read(fd, sigs, sizeof sigs);
	for (i = 0; i < n; i++) {
		if (l->sigfn != NULL)
			l->sigfn(l, sigs[i], l->sigarg);
		else if (sigs[i] != SIGCHLD)
			loop_die_by(l, sigs[i]);
	}
}

/*
 * Route SIGINT, SIGTERM, SIGHUP and SIGCHLD to FN.  Without one, the first
 * three stop the loop and loop_caught_signal() names the signal, so the
 * caller can clean up and then die by it.
 */
void
loop_on_signal(struct loop *l, loop_signal_fn *fn, void *arg)
{
	l->sigfn = fn;
	l->sigarg = arg;
}

/* The signal sockt should die by once it has cleaned up, or 0. */
int
loop_caught_signal(const struct loop *l)
{
	return l->caught;
}

/* Stop the loop so that the process then dies by SIG (status 128+SIG). */
void
loop_die_by(struct loop *l, int sig)
{
	if (l->caught == 0)
		l->caught = sig;
	loop_stop(l, 128 + sig);
}

/* ---- the loop --------------------------------------------------------- */

struct loop *
loop_new(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD };
	struct sigaction sa;
	struct loop *l;
	size_t i;

	l = xcalloc(1, sizeof *l);
	if (pipe2(l->sigpipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		free(l);
		return NULL;
	}
	loop_signal_fd = l->sigpipe[1];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = loop_signal_handler;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sa.sa_flags = SA_RESTART | (sigs[i] == SIGCHLD ?
		    SA_NOCLDSTOP : 0);
		sigaction(sigs[i], &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	l->now = loop_now();
	loop_want_read(l, l->sigpipe[0], loop_signal_read, NULL);
	return l;
}

/* Free L; deferred work still queued runs first. */
void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	loop_run_deferred(l);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	loop_signal_fd = -1;
	close(l->sigpipe[0]);
	close(l->sigpipe[1]);
	free(l->pfds);
	free(l->watches);
	free(l->heap);
	free(l);
}

/* End loop_run() after the current callback with STATUS. */
void
loop_stop(struct loop *l, int status)
{
	if (!l->stopping)
		l->status = status;
	l->stopping = true;
}

bool
loop_stopping(const struct loop *l)
{
	return l->stopping;
}

/* Keep the loop running even with nothing to watch (a child to reap). */
void
loop_hold(struct loop *l)
{
	l->holds++;
}

void
loop_release(struct loop *l)
{
	if (l->holds > 0)
		l->holds--;
}

static void
loop_dispatch(struct loop *l)
{
	struct loop_watch *w;
	short rev;
	size_t i;
	int fd;

	for (i = 0; i < l->npfds && !l->stopping; i++) {
		rev = l->pfds[i].revents;
		if (rev == 0)
			continue;
		l->pfds[i].revents = 0;
		fd = l->pfds[i].fd;
		w = &l->watches[fd];
		if ((rev & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) &&
		    w->rfn != NULL)
			w->rfn(l, fd, w->rarg);
		w = &l->watches[fd];
		if ((rev & (POLLOUT | POLLHUP | POLLERR | POLLNVAL)) &&
		    w->wfn != NULL)
			w->wfn(l, fd, w->warg);
	}
}

/*
 * Poll until loop_stop(), or until nothing is left to wait for.  Returns
 * the status given to loop_stop() (0 when the loop simply ran dry).
 */
int
loop_run(struct loop *l)
{
	struct loop_timer *t;
	int timeout, n;

	while (!l->stopping) {
		loop_run_deferred(l);
		if (l->stopping)
			break;
		/* only the signal pipe left, and nothing held: done */
		if (l->npfds <= 1 && l->nheap == 0 && l->holds == 0 &&
		    l->deferred == NULL)
			break;
		timeout = l->deferred != NULL ? 0 : -1;
		if (l->nheap > 0 && timeout != 0) {
			l->now = loop_now();
			timeout = l->heap[0]->when <= l->now ? 0 :
			    (int)(l->heap[0]->when - l->now);
		}
		n = poll(l->pfds, l->npfds, timeout);
		if (n == -1 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			loop_stop(l, 1);
			break;
		}
		l->now = loop_now();
		if (n > 0)
			loop_dispatch(l);
		while (!l->stopping && l->nheap > 0 &&
		    l->heap[0]->when <= l->now) {
			t = l->heap[0];
			loop_timer_disarm(l, t);
			t->fn(l, t->arg);
		}
	}
	loop_run_deferred(l);
	return l->status;
}
