/*
 * pump.c - the single poll() I/O pump: watches, timers, signals, and the
 * relays (sources feeding sinks) that every subcommand is built from.
 */
#include <sys/types.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pump.h"

#define PUMP_SPLICE_MAX	(1024 * 1024)	/* bytes per splice/sendfile call */
#define PUMP_IOV_MAX	64
#define PUMP_RING_KEEP	64	/* an empty ring above this is freed */

/* How glibc's malloc sizes a block on 64-bit hosts (see chunk_new()). */
#define PUMP_MALLOC_HEADER	8
#define PUMP_MALLOC_ALIGN	16
#define PUMP_MALLOC_MIN		32

struct pump_watch {
	pump_io_fn	*rfn;
	pump_io_fn	*wfn;
	void		*rarg;
	void		*warg;
	int		 slot;		/* index in pfds, -1 when not polled */
};

struct pump {
	struct pollfd		*pfds;
	size_t			 npfds;
	size_t			 cappfds;
	struct pump_watch	*watches;	/* indexed by fd */
	size_t			 capwatches;
	struct pump_timer	**heap;
	size_t			 nheap;
	size_t			 capheap;
	int			 sigpipe[2];
	pump_signal_fn		*sigfn;
	void			*sigarg;
	int			 caught;
	bool			 stopping;
	int			 status;
	uint64_t		 now;
	struct chunk		*spare;
	struct pump_session	*live;
	struct pump_session	*dead;
	int			 devnull;
};

/* A block of data read once and shared by every sink it goes to. */
struct chunk {
	unsigned	 refs;
	unsigned	 cost;		/* its memory, charged to sinks */
	size_t		 len;
	char		 data[];
};

/* How a one-to-one relay moves bytes without copying them through us. */
enum zc_mode {
	ZC_UNDECIDED,
	ZC_COPY,	/* read() into chunks, write() out */
	ZC_SENDFILE,	/* regular file -> anything */
	ZC_SPLICE,	/* pipe on either side: splice() directly */
	ZC_PIPE		/* socket -> socket/file: splice() via our own pipe */
};

struct pump_source {
	struct pump_session	*sess;
	int			 fd;
	enum pump_kind		 kind;
	unsigned		 flags;
	char			*name;
	struct pump_sink	**sinks;
	size_t			 nsinks;
	size_t			 capsinks;
	bool			 started;
	bool			 eof;
	uint64_t		 bytes;
	pump_tap_fn		*tap;
	void			*taparg;
	pump_event_fn		*on_eof;
	void			*eofarg;
};

struct pump_sink {
	struct pump_session	*sess;
	int			 fd;
	int			 alias_fd;	/* closed with fd (stdout's 1) */
	enum pump_kind		 kind;
	unsigned		 flags;
	char			*name;
	struct pump_source	**sources;	/* every source linked */
	size_t			 nsources;
	size_t			 capsources;
	size_t			 live;		/* sources not yet at EOF */
	bool			 ended;		/* no more sources will come */
	bool			 done;
	uint64_t		 bytes;
	pump_event_fn		*on_done;
	void			*donearg;
	/* the queue: a ring of chunks, the first one written from off */
	struct chunk		**ring;
	size_t			 rhead;
	size_t			 rcount;
	size_t			 rcap;
	size_t			 off;
	size_t			 queued;	/* payload in the ring */
	size_t			 mem;		/* its memory */
	/* the zero-copy relay from its only source */
	enum zc_mode		 zc;
	bool			 zc_wait_sink;	/* ZC_SPLICE: blocked on us */
	bool			 zc_full;	/* ZC_PIPE: our pipe took no more */
	int			 zpipe[2];
	size_t			 zbytes;
	size_t			 zcap;
};

struct pump_session {
	struct pump		*pump;
	struct pump_source	**sources;
	size_t			 nsources;
	struct pump_sink	**sinks;
	size_t			 nsinks;
	int			*fds;
	size_t			 nfds;
	pump_done_fn		*done;
	void			*arg;
	int			 idle_ms;
	struct pump_timer	 idle;
	uint64_t		 active;
	bool			 ended;
	struct pump_session	*prev;		/* live sessions */
	struct pump_session	*next;
	struct pump_session	*next_dead;
};

static int	pump_signal_pipe = -1;

static void	source_update(struct pump_source *);
static void	sink_update(struct pump_sink *);
static void	session_check(struct pump_session *);

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL) {
		log_error("out of memory");
		abort();
	}
	return p;
}

static void *
xreallocarray(void *old, size_t n, size_t size)
{
	void *p = reallocarray(old, n, size);

	if (p == NULL) {
		log_error("out of memory");
		abort();
	}
	return p;
}

/* Append PTR to a growable array of pointers. */
static void
ptrs_push(void *arrayp, size_t *n, size_t *cap, void *ptr)
{
	void ***array = arrayp;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		*array = xreallocarray(*array, *cap, sizeof **array);
	}
	(*array)[(*n)++] = ptr;
}

/* Remove PTR from an array of pointers (order not kept). */
static void
ptrs_remove(void *arrayp, size_t *n, void *ptr)
{
	void **array = *(void ***)arrayp;
	size_t i;

	for (i = 0; i < *n; i++)
		if (array[i] == ptr) {
			array[i] = array[--*n];
			return;
		}
}

uint64_t
pump_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- watches ---------------------------------------------------------- */

static struct pump_watch *
watch_get(struct pump *p, int fd)
{
	size_t old = p->capwatches, i;

	if ((size_t)fd >= p->capwatches) {
		p->capwatches = (size_t)fd + 64;
		p->watches = xreallocarray(p->watches, p->capwatches,
		    sizeof *p->watches);
		for (i = old; i < p->capwatches; i++) {
			memset(&p->watches[i], 0, sizeof p->watches[i]);
			p->watches[i].slot = -1;
		}
	}
	return &p->watches[fd];
}

/* Bring fd's pollfd in line with its callbacks. */
static void
watch_sync(struct pump *p, int fd)
{
	struct pump_watch *w = watch_get(p, fd);
	short events = (short)((w->rfn ? POLLIN : 0) | (w->wfn ? POLLOUT : 0));
	size_t last;

	if (events != 0 && w->slot == -1) {
		if (p->npfds == p->cappfds) {
			p->cappfds = p->cappfds ? p->cappfds * 2 : 16;
			p->pfds = xreallocarray(p->pfds, p->cappfds,
			    sizeof *p->pfds);
		}
		w->slot = (int)p->npfds++;
		p->pfds[w->slot].fd = fd;
		p->pfds[w->slot].revents = 0;
	} else if (events == 0 && w->slot != -1) {
		last = --p->npfds;
		if ((size_t)w->slot != last) {
			p->pfds[w->slot] = p->pfds[last];
			p->watches[p->pfds[w->slot].fd].slot = w->slot;
		}
		w->slot = -1;
		return;
	}
	if (w->slot != -1)
		p->pfds[w->slot].events = events;
}

/* Call FN(p, fd, arg) whenever FD is readable (or hung up). */
int
pump_want_read(struct pump *p, int fd, pump_io_fn *fn, void *arg)
{
	struct pump_watch *w = watch_get(p, fd);

	w->rfn = fn;
	w->rarg = arg;
	watch_sync(p, fd);
	return 0;
}

/* Call FN(p, fd, arg) whenever FD is writable (or in error). */
int
pump_want_write(struct pump *p, int fd, pump_io_fn *fn, void *arg)
{
	struct pump_watch *w = watch_get(p, fd);

	w->wfn = fn;
	w->warg = arg;
	watch_sync(p, fd);
	return 0;
}

void
pump_cancel_read(struct pump *p, int fd)
{
	if (fd >= 0 && (size_t)fd < p->capwatches) {
		p->watches[fd].rfn = NULL;
		watch_sync(p, fd);
	}
}

void
pump_cancel_write(struct pump *p, int fd)
{
	if (fd >= 0 && (size_t)fd < p->capwatches) {
		p->watches[fd].wfn = NULL;
		watch_sync(p, fd);
	}
}

/* Drop every watch on FD; call before closing it. */
void
pump_forget(struct pump *p, int fd)
{
	pump_cancel_read(p, fd);
	pump_cancel_write(p, fd);
}

/* ---- timers: a binary min-heap on the deadline ------------------------ */

static void
heap_swap(struct pump *p, size_t a, size_t b)
{
	struct pump_timer *t = p->heap[a];

	p->heap[a] = p->heap[b];
	p->heap[b] = t;
	p->heap[a]->slot = a;
	p->heap[b]->slot = b;
}

static void
heap_fix(struct pump *p, size_t i)
{
	size_t l, r, m;

	while (i > 0 && p->heap[(i - 1) / 2]->when > p->heap[i]->when) {
		heap_swap(p, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < p->nheap && p->heap[l]->when < p->heap[m]->when)
			m = l;
		if (r < p->nheap && p->heap[r]->when < p->heap[m]->when)
			m = r;
		if (m == i)
			return;
		heap_swap(p, i, m);
		i = m;
	}
}

void
pump_timer_init(struct pump_timer *t, pump_timer_fn *fn, void *arg)
{
	t->when = 0;
	t->slot = 0;
	t->fn = fn;
	t->arg = arg;
}

/* Run T's callback once, at monotonic time WHEN (ms, pump_now()). */
void
pump_timer_arm(struct pump *p, struct pump_timer *t, uint64_t when)
{
	if (when == 0)
		when = 1;
	if (t->when != 0) {
		t->when = when;
		heap_fix(p, t->slot);
		return;
	}
	if (p->nheap == p->capheap) {
		p->capheap = p->capheap ? p->capheap * 2 : 8;
		p->heap = xreallocarray(p->heap, p->capheap, sizeof *p->heap);
	}
	t->when = when;
	t->slot = p->nheap;
	p->heap[p->nheap++] = t;
	heap_fix(p, t->slot);
}

void
pump_timer_disarm(struct pump *p, struct pump_timer *t)
{
	size_t i = t->slot;

	if (t->when == 0)
		return;
	t->when = 0;
	if (i != --p->nheap) {
		p->heap[i] = p->heap[p->nheap];
		p->heap[i]->slot = i;
		heap_fix(p, i);
	}
}

/* ---- signals ---------------------------------------------------------- */

static void
pump_signal_handler(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (write(pump_signal_pipe, &c, 1) == -1) {
		/* the pipe is full: that signal is already pending */
	}
	errno = saved;
}

static void
pump_signal_read(struct pump *p, int fd, void *arg)
{
	unsigned char sigs[64];
	ssize_t n, i;

	(void)arg;
	n = read(fd, sigs, sizeof sigs);
	for (i = 0; i < n; i++) {
		if (p->sigfn != NULL)
			p->sigfn(p, sigs[i], p->sigarg);
		else if (sigs[i] != SIGCHLD) {
			p->caught = sigs[i];
			pump_stop(p, 128 + sigs[i]);
		}
	}
}

/*
 * Route SIGINT, SIGTERM, SIGHUP and SIGCHLD to FN.  Without one, the first
 * three stop the pump and pump_caught_signal() names the signal, so the
 * caller can clean up and die by it.
 */
void
pump_on_signal(struct pump *p, pump_signal_fn *fn, void *arg)
{
	p->sigfn = fn;
	p->sigarg = arg;
}

int
pump_caught_signal(const struct pump *p)
{
	return p->caught;
}

/* ---- the loop --------------------------------------------------------- */

struct pump *
pump_new(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD };
	struct sigaction sa;
	struct pump *p;
	size_t i;

	p = xcalloc(1, sizeof *p);
	if (pipe2(p->sigpipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		free(p);
		return NULL;
	}
	p->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	pump_signal_pipe = p->sigpipe[1];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = pump_signal_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sa.sa_flags = SA_RESTART | (sigs[i] == SIGCHLD ?
		    SA_NOCLDSTOP : 0);
		sigaction(sigs[i], &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	p->now = pump_now();
	pump_want_read(p, p->sigpipe[0], pump_signal_read, NULL);
	return p;
}

static void	session_free(struct pump_session *);

static void
pump_reap(struct pump *p)
{
	struct pump_session *s;

	while ((s = p->dead) != NULL) {
		p->dead = s->next_dead;
		session_free(s);
	}
}

void
pump_free(struct pump *p)
{
	if (p == NULL)
		return;
	/* Sessions still running end quietly: their owner is leaving. */
	while (p->live != NULL) {
		p->live->done = NULL;
		pump_session_end(p->live, 0, NULL);
	}
	pump_reap(p);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	pump_signal_pipe = -1;
	close(p->sigpipe[0]);
	close(p->sigpipe[1]);
	if (p->devnull != -1)
		close(p->devnull);
	free(p->spare);
	free(p->pfds);
	free(p->watches);
	free(p->heap);
	free(p);
}

/* End pump_run() after the current round with STATUS. */
void
pump_stop(struct pump *p, int status)
{
	if (!p->stopping)
		p->status = status;
	p->stopping = true;
}

bool
pump_stopping(const struct pump *p)
{
	return p->stopping;
}

static void
pump_dispatch(struct pump *p)
{
	struct pump_watch *w;
	short rev;
	size_t i;
	int fd;

	for (i = 0; i < p->npfds && !p->stopping; i++) {
		rev = p->pfds[i].revents;
		if (rev == 0)
			continue;
		p->pfds[i].revents = 0;
		fd = p->pfds[i].fd;
		w = &p->watches[fd];
		if ((rev & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) &&
		    w->rfn != NULL)
			w->rfn(p, fd, w->rarg);
		w = &p->watches[fd];
		if ((rev & (POLLOUT | POLLHUP | POLLERR | POLLNVAL)) &&
		    w->wfn != NULL)
			w->wfn(p, fd, w->warg);
	}
}

/*
 * Poll until pump_stop(), or until nothing is left to wait for.  Returns
 * the status given to pump_stop() (0 when the loop simply ran dry).
 */
int
pump_run(struct pump *p)
{
	struct pump_timer *t;
	int timeout, n;

	while (!p->stopping) {
		pump_reap(p);
		if (p->npfds <= 1 && p->nheap == 0)
			break;	/* only the signal pipe: nothing to do */
		timeout = -1;
		if (p->nheap > 0) {
			p->now = pump_now();
			timeout = p->heap[0]->when <= p->now ? 0 :
			    (int)(p->heap[0]->when - p->now);
		}
		n = poll(p->pfds, p->npfds, timeout);
		if (n == -1 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			pump_stop(p, 1);
			break;
		}
		p->now = pump_now();
		if (n > 0)
			pump_dispatch(p);
		while (!p->stopping && p->nheap > 0 &&
		    p->heap[0]->when <= p->now) {
			t = p->heap[0];
			pump_timer_disarm(p, t);
			t->fn(p, t->arg);
		}
	}
	pump_reap(p);
	return p->status;
}

/* ---- stdio ------------------------------------------------------------ */

enum pump_kind
pump_fd_kind(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return PUMP_KIND_OTHER;
	if (S_ISSOCK(st.st_mode))
		return PUMP_KIND_SOCKET;
	if (S_ISFIFO(st.st_mode))
		return PUMP_KIND_PIPE;
	if (S_ISREG(st.st_mode))
		return PUMP_KIND_FILE;
	if (S_ISCHR(st.st_mode) && isatty(fd))
		return PUMP_KIND_TTY;
	return PUMP_KIND_OTHER;
}

/*
 * An fd for inherited stdio FD that sockt may use without blocking, and
 * without changing the file description it shares with the shell: pipes
 * and terminals are opened again through /proc as a description of our
 * own, made O_NONBLOCK; sockets use MSG_DONTWAIT per call; regular files
 * never block.  Returns the fd to use (FD itself, or a new one the caller
 * closes), and its kind.
 */
int
pump_stdio_open(int fd, int for_write, enum pump_kind *kind)
{
	char path[64];
	int nfd;

	*kind = pump_fd_kind(fd);
	if (*kind != PUMP_KIND_PIPE && *kind != PUMP_KIND_TTY &&
	    *kind != PUMP_KIND_OTHER)
		return fd;
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	nfd = open(path, (for_write ? O_WRONLY : O_RDONLY) | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY);
	if (nfd == -1)
		nfd = fd;
	/* A bigger pipe means fewer, larger splices on both of its ends. */
	if (*kind == PUMP_KIND_PIPE &&
	    fcntl(nfd, F_GETPIPE_SZ) < PUMP_SPLICE_MAX)
		fcntl(nfd, F_SETPIPE_SZ, PUMP_SPLICE_MAX);
	return nfd;
}

/* ---- sessions --------------------------------------------------------- */

static void
session_idle_fire(struct pump *p, void *arg)
{
	struct pump_session *s = arg;
	uint64_t deadline = s->active + (uint64_t)s->idle_ms;
	char *msg;

	if (p->now < deadline) {
		pump_timer_arm(p, &s->idle, deadline);
		return;
	}
	msg = log_fmt("idle timeout: no traffic for %d.%03d s",
	    s->idle_ms / 1000, s->idle_ms % 1000);
	pump_session_end(s, 1, msg);
	free(msg);
}

/*
 * A new session; DONE runs once when it ends, with status 0 or 1 and the
 * first error.  The session is freed after DONE returns.
 */
struct pump_session *
pump_session_new(struct pump *p, pump_done_fn *done, void *arg)
{
	struct pump_session *s = xcalloc(1, sizeof *s);

	s->pump = p;
	s->done = done;
	s->arg = arg;
	s->active = p->now;
	pump_timer_init(&s->idle, session_idle_fire, s);
	s->next = p->live;
	if (p->live != NULL)
		p->live->prev = s;
	p->live = s;
	return s;
}

void *
pump_session_arg(const struct pump_session *s)
{
	return s->arg;
}

/* FD is closed when the session is freed. */
void
pump_session_own_fd(struct pump_session *s, int fd)
{
	s->fds = xreallocarray(s->fds, s->nfds + 1, sizeof *s->fds);
	s->fds[s->nfds++] = fd;
}

/* End the session with status 1 after MS milliseconds without traffic. */
void
pump_session_set_idle(struct pump_session *s, int ms)
{
	s->idle_ms = ms;
	if (ms > 0)
		pump_timer_arm(s->pump, &s->idle, s->active + (uint64_t)ms);
	else
		pump_timer_disarm(s->pump, &s->idle);
}

static void
session_touch(struct pump_session *s)
{
	s->active = s->pump->now;
}

static void
chunk_unref(struct chunk *c)
{
	if (--c->refs == 0)
		free(c);
}

static void
sink_detach(struct pump_sink *k)
{
	struct pump *p = k->sess->pump;
	struct pump_source *src;
	size_t i;

	pump_cancel_write(p, k->fd);
	if ((k->flags & PUMP_SINK_CLOSE) && k->fd != -1) {
		pump_forget(p, k->fd);
		close(k->fd);
		k->fd = -1;
		if (k->alias_fd != -1 && p->devnull != -1)
			dup2(p->devnull, k->alias_fd);
	}
	for (i = 0; i < k->nsources; i++) {
		src = k->sources[i];
		ptrs_remove(&src->sinks, &src->nsinks, k);
		if (!src->sess->ended)
			source_update(src);
	}
	k->nsources = k->live = 0;
	for (; k->rcount > 0; k->rcount--) {
		chunk_unref(k->ring[k->rhead]);
		k->rhead = (k->rhead + 1) % k->rcap;
	}
	k->queued = k->mem = 0;
}

static void
source_detach(struct pump_source *src)
{
	struct pump_sink *k;
	size_t i;

	pump_cancel_read(src->sess->pump, src->fd);
	for (i = 0; i < src->nsinks; i++) {
		k = src->sinks[i];
		ptrs_remove(&k->sources, &k->nsources, src);
		if (!src->eof && k->live > 0)
			k->live--;
		if (!k->sess->ended)
			sink_update(k);
	}
	src->nsinks = 0;
	src->eof = true;
}

/*
 * End S now with STATUS (0 or 1) and MSG (may be NULL): stop its watches,
 * unlink it from shared sources and sinks, close its fds, run its done
 * callback.  Bytes still queued in its sinks are dropped, so a graceful end
 * closes the sources instead (pump_source_close).
 */
void
pump_session_end(struct pump_session *s, int status, const char *msg)
{
	struct pump *p = s->pump;
	size_t i;

	if (s->ended)
		return;
	s->ended = true;
	pump_timer_disarm(p, &s->idle);
	for (i = 0; i < s->nsources; i++)
		source_detach(s->sources[i]);
	for (i = 0; i < s->nsinks; i++)
		sink_detach(s->sinks[i]);
	for (i = 0; i < s->nfds; i++) {
		pump_forget(p, s->fds[i]);
		close(s->fds[i]);
	}
	s->nfds = 0;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		p->live = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	if (s->done != NULL)
		s->done(s, status, msg, s->arg);
	s->next_dead = p->dead;
	p->dead = s;
}

static void
session_free(struct pump_session *s)
{
	struct pump_sink *k;
	size_t i;

	for (i = 0; i < s->nsources; i++) {
		free(s->sources[i]->sinks);
		free(s->sources[i]->name);
		free(s->sources[i]);
	}
	for (i = 0; i < s->nsinks; i++) {
		k = s->sinks[i];
		if (k->zpipe[0] != -1) {
			close(k->zpipe[0]);
			close(k->zpipe[1]);
		}
		free(k->sources);
		free(k->ring);
		free(k->name);
		free(k);
	}
	free(s->sources);
	free(s->sinks);
	free(s->fds);
	free(s);
}

/* The session is over when every source ended and every sink is done. */
static void
session_check(struct pump_session *s)
{
	size_t i;

	if (s->ended)
		return;
	for (i = 0; i < s->nsources; i++)
		if (!s->sources[i]->eof)
			return;
	for (i = 0; i < s->nsinks; i++)
		if (!s->sinks[i]->done)
			return;
	pump_session_end(s, 0, NULL);
}

/* Fail S with "VERB NAME: strerror(ERR) (N bytes DONE)". */
static void
session_fail(struct pump_session *s, const char *verb, const char *name,
    int err, uint64_t bytes, const char *done)
{
	char *msg;

	msg = log_fmt("%s %s: %s (%llu bytes %s)", verb, name, strerror(err),
	    (unsigned long long)bytes, done);
	pump_session_end(s, 1, msg);
	free(msg);
}

/* ---- sources ---------------------------------------------------------- */

/*
 * A source reading FD (of KIND) for session S; NAME is used in messages.
 * It reads nothing until linked to a sink and started, or until flagged
 * PUMP_SOURCE_DISCARD and started.
 */
struct pump_source *
pump_source_new(struct pump_session *s, int fd, enum pump_kind kind,
    const char *name, unsigned flags)
{
	struct pump_source *src = xcalloc(1, sizeof *src);

	src->sess = s;
	src->fd = fd;
	src->kind = kind;
	src->flags = flags;
	src->name = strdup(name);
	s->sources = xreallocarray(s->sources, s->nsources + 1,
	    sizeof *s->sources);
	s->sources[s->nsources++] = src;
	return src;
}

/* FN sees every chunk as it is read; -1 from it fails the session. */
void
pump_source_tap(struct pump_source *src, pump_tap_fn *fn, void *arg)
{
	src->tap = fn;
	src->taparg = arg;
}

/* FN runs once when the source reaches end of file. */
void
pump_source_on_eof(struct pump_source *src, pump_event_fn *fn, void *arg)
{
	src->on_eof = fn;
	src->eofarg = arg;
}

bool
pump_source_eof(const struct pump_source *src)
{
	return src->eof;
}

uint64_t
pump_source_bytes(const struct pump_source *src)
{
	return src->bytes;
}

size_t
pump_source_nsinks(const struct pump_source *src)
{
	return src->nsinks;
}

static void
source_set_eof(struct pump_source *src, bool notify)
{
	struct pump_sink *k, **sinks;
	size_t i, n;

	if (src->eof)
		return;
	src->eof = true;
	pump_cancel_read(src->sess->pump, src->fd);
	for (i = 0; i < src->nsinks; i++) {
		k = src->sinks[i];
		if (k->live > 0)
			k->live--;
	}
	if (notify && src->on_eof != NULL)
		src->on_eof(src->eofarg);
	if (src->sess->ended)
		return;
	/*
	 * A sink that ends here may end its session, which takes it out of
	 * src->sinks: walk a copy.  Ended sessions are freed only later.
	 */
	n = src->nsinks;
	sinks = xreallocarray(NULL, n ? n : 1, sizeof *sinks);
	if (n > 0)
		memcpy(sinks, src->sinks, n * sizeof *sinks);
	for (i = 0; i < n; i++)
		sink_update(sinks[i]);
	free(sinks);
	session_check(src->sess);
}

/*
 * Stop reading SRC as if it had reached end of file: what it already read
 * is still delivered, then its sinks end.
 */
void
pump_source_close(struct pump_source *src)
{
	source_set_eof(src, false);
}

/* May SRC read another chunk into its sinks' queues? */
static bool
source_has_room(const struct pump_source *src)
{
	const struct pump_sink *k;
	bool any = false;
	size_t i;

	for (i = 0; i < src->nsinks; i++) {
		k = src->sinks[i];
		if (k->mem < PUMP_QUEUE_BYTES)
			any = true;
		else if ((k->flags & PUMP_SINK_DROPPABLE) == 0)
			return false;
	}
	return any;
}

/*
 * A chunk with room for CAP bytes.  Its cost is the block malloc really
 * takes: a header word, rounded up to 16 bytes, 32 at least.  Sinks are
 * charged that, not the payload, so that a queue of one-byte reads (40
 * bytes each with the ring slot) is bounded as tightly as big ones.
 */
static struct chunk *
chunk_new(size_t cap)
{
	size_t size = sizeof(struct chunk) + cap;
	struct chunk *c = xcalloc(1, size);

	size = (size + PUMP_MALLOC_HEADER + PUMP_MALLOC_ALIGN - 1) &
	    ~(size_t)(PUMP_MALLOC_ALIGN - 1);
	c->cost = (unsigned)(size < PUMP_MALLOC_MIN ? PUMP_MALLOC_MIN : size);
	return c;
}

static struct chunk *
chunk_take(struct pump *p, size_t n)
{
	struct chunk *c;

	/* A big read keeps its buffer; a small one gets a fitted copy. */
	if (n >= PUMP_CHUNK / 2) {
		c = p->spare;
		p->spare = NULL;
	} else {
		c = chunk_new(n);
		memcpy(c->data, p->spare->data, n);
	}
	c->refs = 0;
	c->len = n;
	return c;
}

/* Queue C on K, charging K its memory: the chunk and the ring slot. */
static void
sink_push(struct pump_sink *k, struct chunk *c)
{
	size_t i, newcap;
	struct chunk **ring;

	if (k->rcount == k->rcap) {
		newcap = k->rcap ? k->rcap * 2 : 4;
		ring = xcalloc(newcap, sizeof *ring);
		for (i = 0; i < k->rcount; i++)
			ring[i] = k->ring[(k->rhead + i) % k->rcap];
		free(k->ring);
		k->ring = ring;
		k->rcap = newcap;
		k->rhead = 0;
	}
	k->ring[(k->rhead + k->rcount++) % k->rcap] = c;
	c->refs++;
	k->queued += c->len;
	k->mem += c->cost + sizeof *k->ring;
}

static void
source_read_copy(struct pump_source *src)
{
	struct pump_session *s = src->sess;
	struct pump *p = s->pump;
	struct pump_sink *k;
	struct chunk *c;
	ssize_t n;
	size_t i;
	char *msg;

	if (p->spare == NULL)
		p->spare = chunk_new(PUMP_CHUNK);
	if (src->kind == PUMP_KIND_SOCKET)
		n = recv(src->fd, p->spare->data, PUMP_CHUNK, MSG_DONTWAIT);
	else
		n = read(src->fd, p->spare->data, PUMP_CHUNK);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		/* A pty master reads EIO once the slave side is closed. */
		if (errno != EIO || src->kind != PUMP_KIND_TTY) {
			session_fail(s, "read from", src->name, errno,
			    src->bytes, "received");
			return;
		}
		n = 0;
	}
	if (n == 0) {
		source_set_eof(src, true);
		return;
	}
	session_touch(s);
	src->bytes += (uint64_t)n;
	if (src->tap != NULL &&
	    src->tap(src->taparg, p->spare->data, (size_t)n, &msg) == -1) {
		pump_session_end(s, 1, msg);
		free(msg);
		return;
	}
	if (src->flags & PUMP_SOURCE_DISCARD)
		return;
	c = chunk_take(p, (size_t)n);
	c->refs = 1;	/* held while it is handed out */
	for (i = 0; i < src->nsinks; i++) {
		sink_push(src->sinks[i], c);
		sink_update(src->sinks[i]);
	}
	chunk_unref(c);
	/* A droppable sink that fell too far behind is cut loose. */
	for (i = 0; i < src->nsinks;) {
		k = src->sinks[i];
		if ((k->flags & PUMP_SINK_DROPPABLE) &&
		    k->mem > PUMP_DROP_BYTES) {
			msg = log_fmt("%s: too slow, dropped with %zu bytes "
			    "queued in %zu bytes of memory", k->name, k->queued,
			    k->mem);
			pump_session_end(k->sess, 1, msg);
			free(msg);
			continue;	/* it left src->sinks */
		}
		i++;
	}
	if (!s->ended)
		source_update(src);
}

/* ---- zero copy -------------------------------------------------------- */

static bool
zc_fd_ok(int fd, enum pump_kind kind)
{
	/* An inherited blocking socket could block inside splice(). */
	if (kind == PUMP_KIND_SOCKET)
		return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
	return kind != PUMP_KIND_TTY;
}

/* Choose how the one-to-one relay SRC -> K moves its bytes. */
static void
zc_choose(struct pump_source *src, struct pump_sink *k)
{
	k->zc = ZC_COPY;
	if (src->nsinks != 1 || k->nsources != 1 || src->tap != NULL ||
	    (src->flags & (PUMP_SOURCE_DISCARD | PUMP_SOURCE_NOSPLICE)) ||
	    (k->flags & (PUMP_SINK_DROPPABLE | PUMP_SINK_KEEP)) ||
	    !zc_fd_ok(src->fd, src->kind) || !zc_fd_ok(k->fd, k->kind))
		return;
	if (src->kind == PUMP_KIND_FILE)
		k->zc = ZC_SENDFILE;
	else if (src->kind == PUMP_KIND_PIPE || k->kind == PUMP_KIND_PIPE)
		k->zc = ZC_SPLICE;
	else if (src->kind == PUMP_KIND_SOCKET)
		k->zc = ZC_PIPE;
}

/* The kernel refused zero copy for these fds: copy instead, same result. */
static bool
zc_refused(struct pump_sink *k, int err)
{
	if ((err != EINVAL && err != ENOSYS && err != EOPNOTSUPP) ||
	    k->bytes != 0 || k->zbytes != 0)
		return false;
	k->zc = ZC_COPY;
	return true;
}

static void	zc_update(struct pump_sink *);

static void
zc_done_bytes(struct pump_source *src, struct pump_sink *k, size_t n)
{
	src->bytes += n;
	k->bytes += n;
	session_touch(k->sess);
}

/*
 * Move bytes SRC -> K directly.  FROM_SINK says which side poll() just
 * reported ready, which tells what an EAGAIN means.
 */
static void
zc_move(struct pump_source *src, struct pump_sink *k, bool from_sink)
{
	unsigned fl = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;
	ssize_t n;
	int rounds;

	for (rounds = 0; rounds < 16; rounds++) {
		if (k->zc == ZC_SENDFILE)
			n = sendfile(k->fd, src->fd, NULL, PUMP_SPLICE_MAX);
		else
			n = splice(src->fd, NULL, k->fd, NULL, PUMP_SPLICE_MAX,
			    fl);
		if (n > 0) {
			zc_done_bytes(src, k, (size_t)n);
			continue;
		}
		if (n == 0) {
			source_set_eof(src, true);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* Whichever side was ready, the other one is not. */
			k->zc_wait_sink = k->zc == ZC_SENDFILE || !from_sink;
			break;
		}
		if (zc_refused(k, errno))
			break;
		/* Name the side that failed: EPIPE is always the sink's. */
		if (errno == EPIPE || (errno == ECONNRESET ?
		    k->kind == PUMP_KIND_SOCKET : from_sink ||
		    k->zc == ZC_SENDFILE))
			goto sink_error;
		session_fail(src->sess, "read from", src->name, errno,
		    src->bytes, "received");
		return;
	}
	zc_update(k);
	return;
sink_error:
	if (errno == EPIPE && (k->flags & PUMP_SINK_STDOUT)) {
		k->sess->pump->caught = SIGPIPE;
		pump_stop(k->sess->pump, 128 + SIGPIPE);
		return;
	}
	session_fail(k->sess, "write to", k->name, errno, k->bytes, "sent");
}

/* ZC_PIPE: fill our pipe from the source. */
static void
zc_fill(struct pump_source *src, struct pump_sink *k)
{
	ssize_t n;

	while (k->zbytes < k->zcap && !k->zc_full) {
		n = splice(src->fd, NULL, k->zpipe[1], NULL, k->zcap - k->zbytes,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			k->zbytes += (size_t)n;
			src->bytes += (uint64_t)n;
			session_touch(k->sess);
			continue;
		}
		if (n == 0) {
			source_set_eof(src, true);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* An empty pipe means the source is dry; else full. */
			k->zc_full = k->zbytes > 0;
			break;
		}
		if (zc_refused(k, errno))
			break;
		session_fail(src->sess, "read from", src->name, errno,
		    src->bytes, "received");
		return;
	}
	zc_update(k);
}

/*
 * ZC_PIPE found a sink that refuses splice() after bytes already sat in
 * our pipe: move them into K's queue and copy from now on.  Returns 0, or
 * -1 (errno set) if the pipe could not be read.
 */
static int
zc_pipe_to_queue(struct pump_sink *k)
{
	struct chunk *c;
	ssize_t n;
	int saved = errno;

	while (k->zbytes > 0) {
		c = chunk_new(k->zbytes);
		n = read(k->zpipe[0], c->data, k->zbytes);
		if (n <= 0) {
			free(c);
			errno = n == 0 ? saved : errno;
			return -1;
		}
		c->len = (size_t)n;
		k->zbytes -= (size_t)n;
		sink_push(k, c);
	}
	k->zc = ZC_COPY;
	k->zc_full = false;
	zc_update(k);
	return 0;
}

/* ZC_PIPE: drain our pipe into the sink. */
static void
zc_drain(struct pump_sink *k)
{
	ssize_t n;

	while (k->zbytes > 0) {
		n = splice(k->zpipe[0], NULL, k->fd, NULL, k->zbytes,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			k->zbytes -= (size_t)n;
			k->bytes += (uint64_t)n;
			k->zc_full = false;
			session_touch(k->sess);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1 && k->bytes == 0 && (errno == EINVAL ||
		    errno == ENOSYS || errno == EOPNOTSUPP)) {
			/* A sink that takes no splice (/dev/full): copy. */
			if (zc_pipe_to_queue(k) == 0)
				return;
		}
		if (n == 0)
			errno = EPIPE;
		if (errno == EPIPE && (k->flags & PUMP_SINK_STDOUT)) {
			k->sess->pump->caught = SIGPIPE;
			pump_stop(k->sess->pump, 128 + SIGPIPE);
			return;
		}
		session_fail(k->sess, "write to", k->name, errno, k->bytes,
		    "sent");
		return;
	}
	zc_update(k);
}

static void
zc_source_ready(struct pump *p, int fd, void *arg)
{
	struct pump_sink *k = arg;

	(void)p;
	(void)fd;
	if (k->zc == ZC_PIPE)
		zc_fill(k->sources[0], k);
	else
		zc_move(k->sources[0], k, false);
}

static void
zc_sink_ready(struct pump *p, int fd, void *arg)
{
	struct pump_sink *k = arg;

	(void)p;
	(void)fd;
	if (k->zc == ZC_PIPE)
		zc_drain(k);
	else
		zc_move(k->sources[0], k, true);
}

static void	sink_finish(struct pump_sink *);

/* Set the watches of a zero-copy relay from its state. */
static void
zc_update(struct pump_sink *k)
{
	struct pump *p = k->sess->pump;
	struct pump_source *src;
	bool rd = false, wr = false;

	if (k->sess->ended || k->done)
		return;
	if (k->zc == ZC_COPY) {
		/* fell back: hand over to the copying relay */
		if (k->nsources == 1)
			source_update(k->sources[0]);
		sink_update(k);
		return;
	}
	src = k->nsources == 1 ? k->sources[0] : NULL;
	if (src != NULL && !src->eof) {
		if (k->zc == ZC_PIPE) {
			rd = k->zbytes < k->zcap && !k->zc_full;
			wr = k->zbytes > 0;
		} else if (k->zc == ZC_SENDFILE)
			wr = true;
		else {
			rd = !k->zc_wait_sink;
			wr = k->zc_wait_sink;
		}
	} else if (k->zc == ZC_PIPE)
		wr = k->zbytes > 0;
	if (src != NULL) {
		if (rd)
			pump_want_read(p, src->fd, zc_source_ready, k);
		else
			pump_cancel_read(p, src->fd);
	}
	if (wr)
		pump_want_write(p, k->fd, zc_sink_ready, k);
	else
		pump_cancel_write(p, k->fd);
	if (k->live == 0 && k->zbytes == 0 && (k->ended || k->nsources > 0))
		sink_finish(k);
}

/* Start zero copy on K if the relay qualifies; false if it copies. */
static bool
zc_start(struct pump_source *src, struct pump_sink *k)
{
	if (k->zc == ZC_UNDECIDED)
		zc_choose(src, k);
	if (k->zc == ZC_COPY)
		return false;
	if (k->zc == ZC_PIPE && k->zpipe[0] == -1) {
		if (pipe2(k->zpipe, O_NONBLOCK | O_CLOEXEC) == -1) {
			k->zc = ZC_COPY;
			return false;
		}
		fcntl(k->zpipe[1], F_SETPIPE_SZ, PUMP_SPLICE_MAX);
		k->zcap = (size_t)fcntl(k->zpipe[1], F_GETPIPE_SZ);
	}
	zc_update(k);
	return true;
}

/* ---- the copying relay ------------------------------------------------ */

static void
source_io(struct pump *p, int fd, void *arg)
{
	(void)p;
	(void)fd;
	source_read_copy(arg);
}

/* Set SRC's read watch from its sinks' state. */
static void
source_update(struct pump_source *src)
{
	struct pump *p = src->sess->pump;

	if (!src->started || src->eof || src->sess->ended)
		return;
	if (src->nsinks == 1 && src->sinks[0]->zc != ZC_COPY &&
	    zc_start(src, src->sinks[0]))
		return;
	if ((src->flags & PUMP_SOURCE_DISCARD) || source_has_room(src))
		pump_want_read(p, src->fd, source_io, src);
	else
		pump_cancel_read(p, src->fd);
}

void
pump_source_start(struct pump_source *src)
{
	src->started = true;
	source_update(src);
}

/* ---- sinks ------------------------------------------------------------ */

/*
 * A sink writing FD (of KIND) for session S.  FLAGS choose its end of
 * stream action and its policy when it falls behind.
 */
struct pump_sink *
pump_sink_new(struct pump_session *s, int fd, enum pump_kind kind,
    const char *name, unsigned flags)
{
	struct pump_sink *k = xcalloc(1, sizeof *k);

	k->sess = s;
	k->fd = fd;
	k->alias_fd = -1;
	k->kind = kind;
	k->flags = flags;
	k->name = strdup(name);
	k->zpipe[0] = k->zpipe[1] = -1;
	s->sinks = xreallocarray(s->sinks, s->nsinks + 1, sizeof *s->sinks);
	s->sinks[s->nsinks++] = k;
	return k;
}

/* Close FD too when K closes (stdout's fd 1 behind our own description). */
void
pump_sink_close_also(struct pump_sink *k, int fd)
{
	k->alias_fd = fd;
}

void
pump_sink_on_done(struct pump_sink *k, pump_event_fn *fn, void *arg)
{
	k->on_done = fn;
	k->donearg = arg;
}

bool
pump_sink_done(const struct pump_sink *k)
{
	return k->done;
}

uint64_t
pump_sink_bytes(const struct pump_sink *k)
{
	return k->bytes;
}

/* Bytes K has taken from its sources but not yet written to its fd. */
size_t
pump_sink_pending(const struct pump_sink *k)
{
	return k->queued + k->zbytes;
}

/*
 * K takes no more data: it is unlinked from its sources, and once its
 * queue is empty it does its end of stream action.
 */
void
pump_sink_end(struct pump_sink *k)
{
	struct pump_source *src;

	k->ended = true;
	k->flags &= ~PUMP_SINK_KEEP;
	while (k->nsources > 0) {
		src = k->sources[--k->nsources];
		ptrs_remove(&src->sinks, &src->nsinks, k);
		source_update(src);
	}
	k->live = 0;
	if (k->zc == ZC_COPY || k->zc == ZC_UNDECIDED)
		sink_update(k);
	else
		zc_update(k);
}

/* Feed K from SRC. */
int
pump_link(struct pump_source *src, struct pump_sink *k)
{
	if (k->zc != ZC_UNDECIDED && k->zc != ZC_COPY) {
		errno = EBUSY;	/* a zero-copy relay takes no second party */
		return -1;
	}
	if (src->nsinks == 1 && src->sinks[0]->zc != ZC_UNDECIDED &&
	    src->sinks[0]->zc != ZC_COPY) {
		errno = EBUSY;
		return -1;
	}
	ptrs_push(&src->sinks, &src->nsinks, &src->capsinks, k);
	ptrs_push(&k->sources, &k->nsources, &k->capsources, src);
	if (!src->eof)
		k->live++;
	/* A second party means copying for everyone involved. */
	if (src->nsinks > 1 || k->nsources > 1) {
		k->zc = ZC_COPY;
		if (src->nsinks > 1)
			src->sinks[0]->zc = ZC_COPY;
		if (k->nsources > 1 && k->sources[0]->nsinks == 1)
			k->sources[0]->sinks[0]->zc = ZC_COPY;
	}
	source_update(src);
	return 0;
}

/* The end of stream action: shutdown(SHUT_WR), close, or nothing. */
static void
sink_finish(struct pump_sink *k)
{
	struct pump *p = k->sess->pump;
	int r = 0;

	if (k->done)
		return;
	k->done = true;
	pump_cancel_write(p, k->fd);
	if (k->flags & PUMP_SINK_SHUTDOWN) {
		if (shutdown(k->fd, SHUT_WR) == -1 && errno != ENOTCONN)
			r = -1;
	} else if (k->flags & PUMP_SINK_CLOSE) {
		pump_forget(p, k->fd);
		r = close(k->fd);
		k->fd = -1;
		if (k->alias_fd != -1 && p->devnull != -1)
			dup2(p->devnull, k->alias_fd);
	}
	if (r == -1) {
		session_fail(k->sess, "close", k->name, errno, k->bytes,
		    "sent");
		return;
	}
	if (k->on_done != NULL)
		k->on_done(k->donearg);
	session_check(k->sess);
}

static void
sink_write(struct pump_sink *k)
{
	struct iovec iov[PUMP_IOV_MAX];
	struct msghdr msg;
	struct pump_source *src;
	size_t i, n, was = k->mem;
	struct chunk *c;
	ssize_t w;

	for (i = 0; i < k->rcount && i < PUMP_IOV_MAX; i++) {
		c = k->ring[(k->rhead + i) % k->rcap];
		iov[i].iov_base = c->data + (i == 0 ? k->off : 0);
		iov[i].iov_len = c->len - (i == 0 ? k->off : 0);
	}
	if (k->kind == PUMP_KIND_SOCKET) {
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = iov;
		msg.msg_iovlen = i;
		w = sendmsg(k->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	} else
		w = writev(k->fd, iov, (int)i);
	if (w == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (errno == EPIPE && (k->flags & PUMP_SINK_STDOUT)) {
			k->sess->pump->caught = SIGPIPE;
			pump_stop(k->sess->pump, 128 + SIGPIPE);
			return;
		}
		session_fail(k->sess, "write to", k->name, errno, k->bytes,
		    "sent");
		return;
	}
	session_touch(k->sess);
	k->bytes += (uint64_t)w;
	k->queued -= (size_t)w;
	n = (size_t)w;
	while (n > 0) {
		c = k->ring[k->rhead];
		if (n < c->len - k->off) {
			k->off += n;
			break;
		}
		n -= c->len - k->off;
		k->off = 0;
		k->rhead = (k->rhead + 1) % k->rcap;
		k->rcount--;
		k->mem -= c->cost + sizeof *k->ring;
		chunk_unref(c);
	}
	if (k->rcount == 0 && k->rcap > PUMP_RING_KEEP) {
		/* a burst of small reads grew it: give that memory back */
		free(k->ring);
		k->ring = NULL;
		k->rcap = k->rhead = 0;
	}
	sink_update(k);
	/* Room again: wake the sources that were held back. */
	if (was >= PUMP_QUEUE_BYTES && k->mem < PUMP_QUEUE_BYTES)
		for (i = 0; i < k->nsources && !k->sess->ended; i++) {
			src = k->sources[i];
			source_update(src);
		}
}

static void
sink_io(struct pump *p, int fd, void *arg)
{
	(void)p;
	(void)fd;
	sink_write(arg);
}

/* Set K's write watch from its queue; end it once drained and orphaned. */
static void
sink_update(struct pump_sink *k)
{
	struct pump *p = k->sess->pump;

	if (k->done || k->sess->ended)
		return;
	if (k->zc != ZC_COPY && k->zc != ZC_UNDECIDED) {
		zc_update(k);
		return;
	}
	if (k->rcount > 0) {
		pump_want_write(p, k->fd, sink_io, k);
		return;
	}
	pump_cancel_write(p, k->fd);
	if (k->live == 0 && (k->flags & PUMP_SINK_KEEP) == 0 &&
	    (k->ended || k->nsources > 0))
		sink_finish(k);
}
