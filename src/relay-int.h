/*
 * relay-int.h - what the files of the relay module share: relay.c (the
 * context, chunks, sessions), relay-source.c, relay-sink.c and relay-zc.c
 * (sendfile, splice, the pipe pool).  Nothing else includes it.
 */
#ifndef SOCKT_RELAY_INT_H
#define SOCKT_RELAY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "relay.h"

/* A block of data read once and shared by every sink it goes to. */
struct chunk {
	struct relay	*home;		/* a read buffer: goes back there */
	unsigned	 refs;
	size_t		 len;
	size_t		 size;		/* allocated, header included */
	char		 data[];
};

/* How a one-to-one relay moves bytes without copying them through us. */
enum zc_mode {
	ZC_UNDECIDED,
	ZC_COPY,	/* read() into chunks, write() out */
	ZC_SENDFILE,	/* regular file -> anything */
	ZC_SPLICE,	/* a pipe on either side: splice() directly */
	ZC_PIPE		/* socket -> socket/file: splice() via a pooled pipe */
};

/*
 * A TLS socket: its source and its sink share the fd and the connection,
 * and either may wait for the other poll() event (a read that must write,
 * a write that must read), so one dispatcher owns both watches.
 */
struct relay_tlsfd {
	int			 fd;
	struct tls_conn		*tls;
	struct relay_source	*src;
	struct relay_sink	*sink;
	struct relay_tlsfd	*next;
	int			 src_wait;	/* POLLIN/POLLOUT, 0: ready */
	int			 sink_wait;
	bool			 notified;	/* close_notify sent */
};

struct relay_source {
	struct relay_session	*sess;
	int			 fd;
	enum fd_kind		 kind;
	unsigned		 flags;
	char			*name;
	struct relay_sink	**sinks;
	size_t			 nsinks;
	size_t			 capsinks;
	bool			 started;
	bool			 eof;
	uint64_t		 bytes;
	relay_tap_fn		*tap;
	void			*taparg;
	relay_event_fn		*on_eof;
	void			*eofarg;
	struct relay_tlsfd	*tls;
	struct loop_deferred	 kick;		/* TLS: bytes OpenSSL holds */
	bool			 after_cr;	/* CRLF: the last byte was CR */
};

struct relay_sink {
	struct relay_session	*sess;
	int			 fd;
	int			 alias_fd;	/* closed with fd (stdout's 1) */
	enum fd_kind		 kind;
	unsigned		 flags;
	int			 error;		/* the errno a write failed with */
	char			*name;
	struct relay_source	**sources;	/* every source linked */
	size_t			 nsources;
	size_t			 capsources;
	size_t			 live;		/* sources not yet at EOF */
	bool			 ended;		/* no more sources will come */
	bool			 done;
	bool			 gone;		/* LOSSY: the reader left */
	uint64_t		 bytes;
	relay_event_fn		*on_done;
	void			*donearg;
	relay_event_fn		*on_room;
	void			*roomarg;
	struct relay_tlsfd	*tls;
	/* the queue: a ring of chunks, the first one written from off */
	struct chunk		**ring;
	size_t			 rhead;
	size_t			 rcount;
	size_t			 rcap;
	size_t			 off;
	size_t			 queued;	/* payload bytes */
	size_t			 held;		/* memory the queue holds */
	/* the zero-copy relay from its only source */
	enum zc_mode		 zc;
	bool			 zc_wait_sink;	/* ZC_SPLICE: blocked on us */
	bool			 zc_full;	/* ZC_PIPE: the pipe took no more */
	int			 zpipe[2];	/* ZC_PIPE: while bytes are in it */
	size_t			 zbytes;
	struct relay_sink	*zc_waiting;	/* next sink waiting for a pipe */
	bool			 zc_queued;
};

#define RELAY_PIPE_SIZE		(1024 * 1024)	/* bytes per splice */
#define RELAY_PIPES_IDLE	64	/* pooled pipes kept while idle */
#define RELAY_PIPES_MAX		1024	/* pipes in use at once */
#define RELAY_IDLE_BUFFERS	8	/* read buffers kept for reuse */

struct relay {
	struct loop		*loop;
	struct relay_session	*live;
	struct chunk		*spare;		/* the next read's buffer */
	struct chunk		*bufs[RELAY_IDLE_BUFFERS];	/* recycled */
	size_t			 nidle_bufs;
	int			 devnull;
	int			(*idle)[2];	/* pooled pipes */
	size_t			 nidle;
	size_t			 pipes;		/* in use */
	struct relay_sink	*pipe_wait;	/* sinks waiting for a pipe */
	struct relay_sink	*pipe_wait_tail;
};

struct relay_session {
	struct relay		*relay;
	struct loop		*loop;
	struct relay_source	**sources;
	size_t			 nsources;
	struct relay_sink	**sinks;
	size_t			 nsinks;
	int			*fds;
	size_t			 nfds;
	struct tls_conn		**tlss;		/* freed with the session */
	size_t			 ntlss;
	struct relay_tlsfd	*tlsfds;
	relay_done_fn		*done;
	void			*arg;
	int			 idle_ms;
	struct loop_timer	 idle;
	uint64_t		 active;
	bool			 ended;
	char			*later;		/* relay_session_fail_later() */
	bool			 mirror_resets;
	struct relay_session	*prev;		/* relay->live */
	struct relay_session	*next;
	struct loop_deferred	 reap;
};

/* relay.c */
void	 relay_ptrs_push(void *, size_t *, size_t *, void *);
void	 relay_ptrs_remove(void *, size_t *, void *);
struct chunk *relay_chunk_new(size_t);
struct chunk *relay_chunk_take(struct relay *, size_t);
struct chunk *relay_buffer(struct relay *);
void	 relay_chunk_unref(struct chunk *);
size_t	 relay_chunk_cost(const struct chunk *);
void	 relay_touch(struct relay_session *);
void	 relay_session_check(struct relay_session *);
void	 relay_fail(struct relay_session *, const char *, const char *, int,
	     uint64_t, const char *);

/* relay-source.c */
void	 relay_tlsfd_sync(struct relay_tlsfd *);
int	 relay_tls_wait(struct tls_conn *);
struct relay_tlsfd *relay_tlsfd_get(struct relay_session *, int,
	     struct tls_conn *);
bool	 relay_source_wants(const struct relay_source *);
void	 relay_source_read(struct relay_source *);
void	 relay_source_set_eof(struct relay_source *, bool);
void	 relay_source_update(struct relay_source *);

/* relay-sink.c */
void	 relay_sink_write(struct relay_sink *);
void	 relay_sink_error(struct relay_sink *, int);
void	 relay_sink_update(struct relay_sink *);
void	 relay_sink_finish(struct relay_sink *);
void	 relay_sink_push_chunk(struct relay_sink *, struct chunk *);

/* relay-zc.c */
bool	 zc_start(struct relay_source *, struct relay_sink *);
void	 zc_update(struct relay_sink *);
void	 zc_release(struct relay_sink *);
const char *zc_name(enum zc_mode);

#endif
