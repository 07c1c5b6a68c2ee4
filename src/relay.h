/*
 * relay.h - the relays every subcommand moves bytes with, on the loop.
 *
 * A *source* reads an fd (plain, or through TLS) and feeds one or more
 * *sinks*; a sink writes an fd from a queue of shared, reference-counted
 * chunks, which code can also fill directly (relay_sink_push()).  A
 * source reads only while its sinks have room, so a slow sink stops its
 * source (backpressure); a sink flagged RELAY_SINK_DROPPABLE is instead
 * cut loose when its queue passes RELAY_DROP_BYTES, so one stalled client
 * never holds up the others.  Both limits count the memory a queue holds
 * (each chunk's allocation and ring slot), not its payload, so a queue of
 * tiny reads is bounded too.  Buffers are allocated
 * only while data moves.
 *
 * A source with exactly one sink, and that sink with one source, moves
 * bytes without copying them through sockt where the kernel allows:
 * sendfile() from a regular file, splice() when a pipe is on either side,
 * and splice() through a pipe taken from a bounded pool, only while bytes
 * are in flight, for socket to socket or file.  Same behaviour either way.
 *
 * Sources and sinks belong to a *session* of a relay context (struct
 * relay: the sessions alive, the pipe pool, a spare read buffer), which ends when every source
 * has reached end of file and every sink has delivered its bytes and done
 * its end-of-stream action (close_notify for TLS, then shutdown(SHUT_WR),
 * or close), or at once on an error, a timer, or relay_session_end().
 * Its done callback then runs once with the status (0 or 1) and the first
 * error; the session is freed later, outside every callback.  Sessions
 * still alive when the relay context is freed end quietly.
 */
#ifndef SOCKT_RELAY_H
#define SOCKT_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fdkind.h"
#include "loop.h"

#define RELAY_CHUNK		(64 * 1024)	/* one read */
#define RELAY_QUEUE_BYTES	(256 * 1024)	/* sink memory: no reads past it */
#define RELAY_DROP_BYTES	(4 * 1024 * 1024) /* droppable: dropped past it */

struct relay;
struct relay_session;
struct relay_source;
struct relay_sink;
struct tls_conn;

struct relay	*relay_new(struct loop *);
void		 relay_free(struct relay *);
struct loop	*relay_loop(const struct relay *);

/* Sessions. */
typedef void	 relay_done_fn(struct relay_session *, int, const char *,
		     void *);
typedef void	 relay_event_fn(void *);
typedef int	 relay_tap_fn(void *, const void *, size_t, char **);

struct relay_session *relay_session_new(struct relay *, relay_done_fn *,
		     void *);
void		 relay_session_own_fd(struct relay_session *, int);
void		 relay_session_own_tls(struct relay_session *,
		     struct tls_conn *);
void		 relay_session_set_idle(struct relay_session *, int);
void		 relay_session_end(struct relay_session *, int, const char *);
void		 relay_session_fail_later(struct relay_session *,
		     const char *);
void		 relay_session_mirror_resets(struct relay_session *);

/* Sources. */
#define RELAY_SOURCE_DISCARD	0x01	/* read and throw away */
#define RELAY_SOURCE_NOSPLICE	0x02	/* always copy through memory */
#define RELAY_SOURCE_CRLF	0x04	/* a bare LF read goes on as CRLF */

struct relay_source *relay_source_new(struct relay_session *, int,
		     enum fd_kind, const char *, unsigned);
void		 relay_source_tls(struct relay_source *, struct tls_conn *);
void		 relay_source_tap(struct relay_source *, relay_tap_fn *,
		     void *);
void		 relay_source_on_eof(struct relay_source *, relay_event_fn *,
		     void *);
void		 relay_source_start(struct relay_source *);
void		 relay_source_close(struct relay_source *);
bool		 relay_source_eof(const struct relay_source *);
uint64_t	 relay_source_bytes(const struct relay_source *);

/* Sinks. */
#define RELAY_SINK_SHUTDOWN	0x01	/* end: shutdown(SHUT_WR) */
#define RELAY_SINK_CLOSE	0x02	/* end: close(fd); the sink owns fd */
#define RELAY_SINK_DROPPABLE	0x04	/* too far behind: end its session */
#define RELAY_SINK_STDOUT	0x08	/* EPIPE: die by SIGPIPE (a filter) */
#define RELAY_SINK_KEEP		0x10	/* no end when its sources end */
#define RELAY_SINK_LOSSY	0x20	/* a reader that leaves (EPIPE) is
					   no error: discard from then on */

struct relay_sink *relay_sink_new(struct relay_session *, int, enum fd_kind,
		     const char *, unsigned);
void		 relay_sink_tls(struct relay_sink *, struct tls_conn *);
void		 relay_sink_close_also(struct relay_sink *, int);
void		 relay_sink_on_done(struct relay_sink *, relay_event_fn *,
		     void *);
void		 relay_sink_on_room(struct relay_sink *, relay_event_fn *,
		     void *);
void		 relay_sink_push(struct relay_sink *, const void *, size_t);
bool		 relay_sink_room(const struct relay_sink *);
void		 relay_sink_end(struct relay_sink *);
bool		 relay_sink_done(const struct relay_sink *);
uint64_t	 relay_sink_bytes(const struct relay_sink *);
int		 relay_sink_errno(const struct relay_sink *);
size_t		 relay_sink_queued(const struct relay_sink *);

int		 relay_link(struct relay_source *, struct relay_sink *);
const char	*relay_path(const struct relay_sink *);

#endif
