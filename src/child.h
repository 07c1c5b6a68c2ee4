/*
 * child.h - the programs of sockt exec, one attached to each connection:
 * started with SOCKT_* in its environment, its stdin and stdout on pipes
 * or a pseudo-terminal, relayed to and from the socket, signalled as a
 * process group, and reaped.
 *
 * Nothing is relayed before the program runs: whether execve() succeeded
 * is learnt on the loop, never by waiting, and a program that cannot be
 * executed closes its client and is reported.  A running connection is
 * one relay session: the client's input goes to the program's stdin, a
 * RELAY_SINK_LOSSY sink, so that a program that stops reading only ends
 * that direction (the rest of the input is read and discarded, and
 * closing the socket never resets a client a reply is still on its way
 * to); the program's output goes to the client, half-closed when the
 * program closes it.  An error of the connection (a reset, -i) terminates
 * the program: SIGTERM to its group, SIGKILL CHILD_KILL_GRACE_MS later.
 * Under --pty the client's end of file is typed as ^D and a program still
 * running CHILD_HANGUP_MS later is hung up (SIGHUP, the terminal closed).
 * A connection is over once its session has ended and its program is
 * reaped; a hold on the loop (loop_hold()) keeps it running until then.
 *
 * The set also decides when the loop stops: with a single client when
 * it is over, with its status; after child_stop() (SIGINT, SIGTERM or
 * SIGHUP through child_signal(), or a failure of sockt's own) once every
 * program is reaped, with 128 + the signal, or 1.
 */
#ifndef SOCKT_CHILD_H
#define SOCKT_CHILD_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "loop.h"
#include "relay.h"

#define CHILD_KILL_GRACE_MS	2000	/* SIGTERM or SIGHUP to SIGKILL */
#define CHILD_HANGUP_MS		2000	/* --pty: client's EOF to SIGHUP */

enum child_failure {
	CHILD_EXEC,	/* the program could not be started */
	CHILD_IO,	/* the connection failed: a reset, -i, a write error */
	CHILD_TAP	/* a -x or -o file could not be written: sockt's own */
};

/* A connection failed (MSG may be NULL for CHILD_TAP); it ends later. */
typedef void	 child_fail_fn(void *, enum child_failure, const char *);
/* A connection is over: its status is the program's, or 1 on a failure. */
typedef void	 child_done_fn(void *, int);
/* sockt is stopping: accept no more connections. */
typedef void	 child_stop_fn(void *);

struct child_spec {
	char *const	*argv;		/* argv[0] is looked up in PATH */
	bool		 pty;		/* --pty */
	unsigned short	 pty_cols;	/* --pty-size; 0: 80x24 */
	unsigned short	 pty_rows;
	bool		 stderr_out;	/* --stderr: stderr to the client */
	bool		 is_unix;	/* SOCKT_PROTO=unix */
	bool		 single;	/* one client: its status ends the run */
	int		 idle_ms;	/* -i, 0: none */
	struct log_tap	*tap;		/* -x and -o, or NULL */
	child_fail_fn	*fail;
	child_done_fn	*done;
	child_stop_fn	*stop;
	void		*arg;
};

struct child_set;
struct tls_conn;

struct child_set *child_set_new(struct relay *, const struct child_spec *);
void		 child_start(struct child_set *, int, struct tls_conn *,
		     const char *);
void		 child_stop(struct child_set *, int);
void		 child_signal(struct loop *, int, void *);
bool		 child_stopping(const struct child_set *);
int		 child_stop_signal(const struct child_set *);
void		 child_set_free(struct child_set *);

#endif
