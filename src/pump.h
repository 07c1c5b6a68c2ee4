/*
 * pump.h - the single poll() I/O pump.
 *
 * Two layers in one loop:
 *
 * 1. Watches and timers: a callback per fd and direction, and deadline
 *    timers kept in a heap.  poll() sleeps until the nearest deadline.
 *    Signals (INT, TERM, HUP, CHLD) arrive through a self-pipe.
 *
 * 2. Relays: a source (an fd read from) feeds one or more sinks (an fd
 *    written to, with a queue).  A source reads only while its sinks have
 *    room, so a slow sink stops its source (backpressure); a sink marked
 *    PUMP_SINK_DROPPABLE is instead dropped when its queue passes
 *    PUMP_DROP_BYTES, so one stalled client never holds up the others.
 *    Both limits count the memory a queue holds (each chunk's allocation
 *    and ring slot), not its payload, so tiny reads are bounded too.
 *    A source with exactly one sink, and that sink with one source, moves
 *    data with splice() or sendfile() where the kernel allows it.
 *
 * Sources and sinks belong to a session.  A session ends when every source
 * has reached end of file and every sink has delivered its bytes and done
 * its end-of-stream action (shutdown(SHUT_WR) or close), or at once on an
 * error, a timer, or pump_session_end().  Its done callback then runs with
 * the status (0 or 1) and the first error message.
 */
#ifndef SOCKT_PUMP_H
#define SOCKT_PUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PUMP_CHUNK	(64 * 1024)	/* one read */
#define PUMP_QUEUE_BYTES (256 * 1024)	/* sink memory: no reads past it */
#define PUMP_DROP_BYTES	(4 * 1024 * 1024) /* and dropped past it */

struct pump;
struct pump_source;
struct pump_sink;
struct pump_session;

typedef void	 pump_io_fn(struct pump *, int, void *);
typedef void	 pump_timer_fn(struct pump *, void *);
typedef void	 pump_signal_fn(struct pump *, int, void *);

struct pump_timer {
	uint64_t	 when;		/* monotonic ms, 0 when idle */
	size_t		 slot;
	pump_timer_fn	*fn;
	void		*arg;
};

struct pump	*pump_new(void);
void		 pump_free(struct pump *);
int		 pump_run(struct pump *);
void		 pump_stop(struct pump *, int);
bool		 pump_stopping(const struct pump *);
int		 pump_caught_signal(const struct pump *);
void		 pump_on_signal(struct pump *, pump_signal_fn *, void *);
uint64_t	 pump_now(void);

int		 pump_want_read(struct pump *, int, pump_io_fn *, void *);
int		 pump_want_write(struct pump *, int, pump_io_fn *, void *);
void		 pump_cancel_read(struct pump *, int);
void		 pump_cancel_write(struct pump *, int);
void		 pump_forget(struct pump *, int);

void		 pump_timer_init(struct pump_timer *, pump_timer_fn *, void *);
void		 pump_timer_arm(struct pump *, struct pump_timer *, uint64_t);
void		 pump_timer_disarm(struct pump *, struct pump_timer *);

/* What an fd is decides how it is read, written and ended. */
enum pump_kind {
	PUMP_KIND_SOCKET,	/* recv/send with MSG_DONTWAIT, shutdown() */
	PUMP_KIND_PIPE,
	PUMP_KIND_FILE,		/* regular file: sendfile() as a source */
	PUMP_KIND_TTY,
	PUMP_KIND_OTHER		/* character devices such as /dev/null */
};

enum pump_kind	 pump_fd_kind(int);
int		 pump_stdio_open(int, int, enum pump_kind *);

/* Session life. */
typedef void	 pump_done_fn(struct pump_session *, int, const char *, void *);

struct pump_session *pump_session_new(struct pump *, pump_done_fn *, void *);
void		 pump_session_own_fd(struct pump_session *, int);
void		 pump_session_set_idle(struct pump_session *, int);
void		 pump_session_end(struct pump_session *, int, const char *);
void		*pump_session_arg(const struct pump_session *);

/* Sources. */
#define PUMP_SOURCE_DISCARD	0x01	/* read and throw away */
#define PUMP_SOURCE_NOSPLICE	0x02	/* always copy through memory */

typedef int	 pump_tap_fn(void *, const void *, size_t, char **);
typedef void	 pump_event_fn(void *);

struct pump_source *pump_source_new(struct pump_session *, int,
		     enum pump_kind, const char *, unsigned);
void		 pump_source_tap(struct pump_source *, pump_tap_fn *, void *);
void		 pump_source_on_eof(struct pump_source *, pump_event_fn *,
		     void *);
void		 pump_source_start(struct pump_source *);
bool		 pump_source_eof(const struct pump_source *);
uint64_t	 pump_source_bytes(const struct pump_source *);
size_t		 pump_source_nsinks(const struct pump_source *);
void		 pump_source_close(struct pump_source *);

/* Sinks. */
#define PUMP_SINK_SHUTDOWN	0x01	/* end: shutdown(SHUT_WR) */
#define PUMP_SINK_CLOSE		0x02	/* end: close(fd); the sink owns fd */
#define PUMP_SINK_DROPPABLE	0x04	/* too slow: end its session */
#define PUMP_SINK_STDOUT	0x08	/* EPIPE: die by SIGPIPE like a filter */
#define PUMP_SINK_KEEP		0x10	/* no end when its sources end */

struct pump_sink *pump_sink_new(struct pump_session *, int, enum pump_kind,
		     const char *, unsigned);
void		 pump_sink_close_also(struct pump_sink *, int);
void		 pump_sink_end(struct pump_sink *);
void		 pump_sink_on_done(struct pump_sink *, pump_event_fn *, void *);
bool		 pump_sink_done(const struct pump_sink *);
uint64_t	 pump_sink_bytes(const struct pump_sink *);
size_t		 pump_sink_pending(const struct pump_sink *);

int		 pump_link(struct pump_source *, struct pump_sink *);

#endif
