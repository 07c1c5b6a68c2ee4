/*
 * loop.h - the one poll() loop of a sockt process: a read and a write
 * callback per fd, deadline timers, signals, and deferred work.
 *
 * poll() sleeps until the nearest timer's deadline, so every timeout of
 * sockt (-w, -i, -q, retries) is a timer here and none uses alarm().
 * SIGINT, SIGTERM, SIGHUP and SIGCHLD arrive through a self-pipe and are
 * handed to one callback; without one, the first three stop the loop.
 * SIGPIPE is ignored: a write to a closed pipe or socket fails with EPIPE.
 *
 * The loop runs until loop_stop(), or until nothing is left to wait for:
 * no fd watched, no timer armed and no hold taken (loop_hold()).
 */
#ifndef SOCKT_LOOP_H
#define SOCKT_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

typedef void	 loop_io_fn(struct loop *, int, void *);
typedef void	 loop_timer_fn(struct loop *, void *);
typedef void	 loop_signal_fn(struct loop *, int, void *);

struct loop_timer {
	uint64_t	 when;		/* monotonic ms, 0 when not armed */
	size_t		 slot;
	loop_timer_fn	*fn;
	void		*arg;
};

/* Work to run at the top of the next round, once (loop_defer()). */
struct loop_deferred {
	bool			 queued;
	loop_timer_fn		*fn;
	void			*arg;
	struct loop_deferred	*next;
};

struct loop	*loop_new(void);
void		 loop_free(struct loop *);
int		 loop_run(struct loop *);
void		 loop_stop(struct loop *, int);
bool		 loop_stopping(const struct loop *);
void		 loop_hold(struct loop *);
void		 loop_release(struct loop *);
uint64_t	 loop_now(void);
uint64_t	 loop_time(const struct loop *);

void		 loop_on_signal(struct loop *, loop_signal_fn *, void *);
int		 loop_caught_signal(const struct loop *);
void		 loop_die_by(struct loop *, int);

void		 loop_want_read(struct loop *, int, loop_io_fn *, void *);
void		 loop_want_write(struct loop *, int, loop_io_fn *, void *);
void		 loop_cancel_read(struct loop *, int);
void		 loop_cancel_write(struct loop *, int);
void		 loop_forget(struct loop *, int);

void		 loop_timer_init(struct loop_timer *, loop_timer_fn *, void *);
void		 loop_timer_arm(struct loop *, struct loop_timer *, uint64_t);
void		 loop_timer_after(struct loop *, struct loop_timer *, uint64_t);
void		 loop_timer_disarm(struct loop *, struct loop_timer *);
bool		 loop_timer_armed(const struct loop_timer *);

void		 loop_deferred_init(struct loop_deferred *, loop_timer_fn *,
		     void *);
void		 loop_defer(struct loop *, struct loop_deferred *);
void		 loop_undefer(struct loop *, struct loop_deferred *);

#endif
