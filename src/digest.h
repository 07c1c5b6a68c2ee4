/*
 * digest.h - SHA-256 through OpenSSL's libcrypto (EVP, so the CPU's SHA
 * instructions are used), the per-file-version cache serve-file keeps,
 * incremental hashing of files, the scheduling of that hashing on the
 * loop, a hashing child process for streams, and hex helpers.
 *
 * A file version is its (device, inode, size, mtime, ctime).  A digest
 * is only trusted for a version when hashing began at least the racy
 * window after the file's last change (so a write in the same timestamp
 * tick cannot hide); see digest_job_settled().  A file whose last change
 * lies in the future (clock skew, a touch -d) would make that wait last
 * until the clock catches up: it is capped at DIGEST_SETTLE_MAX_MS, after
 * which the digest is used for the one answer it was computed for, and
 * not cached.
 *
 * Failures return -1 with *errp set to an allocated one-line message.
 */
#ifndef SOCKT_DIGEST_H
#define SOCKT_DIGEST_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "loop.h"

#define DIGEST_LEN	32	/* SHA-256 */
#define DIGEST_HEX_LEN	(DIGEST_LEN * 2 + 1)
#define DIGEST_B64_LEN	45	/* base64 of 32 bytes + NUL */
#define DIGEST_SETTLE_MAX_MS	2000	/* the longest wait for a racy
						   window to pass */
#define DIGEST_READ	(256 * 1024)	/* one read of a file being hashed:
					   it stays in the L2 cache */

/* Streaming SHA-256. */
struct digest_ctx;

struct digest_ctx *digest_new(void);
void	 digest_update(struct digest_ctx *, const void *, size_t);
void	 digest_final(struct digest_ctx *, unsigned char *);
void	 digest_free(struct digest_ctx *);

void	 digest_hex(const unsigned char *, char *);
int	 digest_parse_hex(const char *, unsigned char *);

/* One version of a file. */
struct digest_key {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	struct timespec	 ctime;
};

void	 digest_key_of(const struct stat *, struct digest_key *);
bool	 digest_key_eq(const struct digest_key *, const struct digest_key *);

/* Digests of file versions, for the life of the process. */
struct digest_cache;

struct digest_cache *digest_cache_new(void);
void	 digest_cache_free(struct digest_cache *);
bool	 digest_cache_get(struct digest_cache *, const struct digest_key *,
	     unsigned char *);
void	 digest_cache_put(struct digest_cache *, const struct digest_key *,
	     const unsigned char *);

/* Hashing one file a slice at a time, so a poll loop keeps running. */
enum digest_step {
	DIGEST_STEP_MORE,	/* call again */
	DIGEST_STEP_DONE,	/* result ready; the version did not change */
	DIGEST_STEP_CHANGED,	/* the file changed meanwhile: start over */
	DIGEST_STEP_ERROR
};

struct digest_job;

struct digest_job *digest_job_new(int, char **);
enum digest_step digest_job_step(struct digest_job *, size_t, char **);
void	 digest_job_restart(struct digest_job *);
const struct digest_key *digest_job_key(const struct digest_job *);
bool	 digest_job_settled(const struct digest_job *, uint64_t *);
void	 digest_job_result(const struct digest_job *, unsigned char *);
void	 digest_job_free(struct digest_job *);

int	 digest_file(int, struct digest_key *, unsigned char *, char **);

/*
 * The digests a server needs, on the loop: cached per file version, or
 * computed a slice per loop round by one job per file that every client
 * asking for that file waits on, so the loop never waits for a hash.
 */
enum digest_result {
	DIGEST_OK,		/* the digest of the version given */
	DIGEST_FAILED,		/* the file could not be read */
	DIGEST_UNSTABLE		/* it kept changing while it was hashed */
};

typedef void	 digest_ready_fn(void *, enum digest_result,
		     const struct digest_key *, const unsigned char *);

struct digest_sched;
struct digest_task;

/* A caller waiting for a digest (embedded in the caller's state). */
struct digest_waiter {
	struct digest_task	*task;		/* NULL: not waiting */
	struct digest_waiter	*next;
	digest_ready_fn		*fn;
	void			*arg;
};

struct digest_sched *digest_sched_new(struct loop *);
void	 digest_sched_free(struct digest_sched *);
int	 digest_sched_prime(struct digest_sched *, int, char **);
int	 digest_sched_get(struct digest_sched *, int, const char *,
	     unsigned char *, struct digest_waiter *, digest_ready_fn *, void *,
	     char **);
void	 digest_sched_cancel(struct digest_waiter *);

/* A child process hashing what is written to its pipe. */
struct digest_child {
	pid_t	 pid;
	int	 fd;		/* write the stream (or lengths) here */
	int	 result;	/* the digest comes back here */
	bool	 follow;	/* hashing a file as it grows */
};

int	 digest_child_start(struct digest_child *, int, uint64_t, bool,
	     char **);
int	 digest_child_grown(struct digest_child *, uint64_t, char **);
int	 digest_child_finish(struct digest_child *, unsigned char *, char **);
void	 digest_child_abort(struct digest_child *);

#endif
