/*
 * digestjob.c - hashing one file a slice at a time (so a poll loop keeps
 * running), with the racy-timestamp rule that decides when a digest may
 * be trusted for a file version; and hashing a file at once.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "log.h"
#include "xmalloc.h"

/*
 * How long after a file's last change a hash may begin and still be
 * trusted.  Local filesystems stamp changes from the kernel's tick clock
 * (a few ms per tick): two ticks is enough, 50 ms is generous.  Others
 * (FAT's 2 s granularity, network filesystems) get 2 s.
 */
#define DIGEST_WINDOW_FAST_NS	50000000LL
#define DIGEST_WINDOW_SLOW_NS	2000000000LL

struct digest_job {
	int			 fd;
	struct digest_key	 key;
	struct timespec		 started;	/* CLOCK_REALTIME */
	long long		 window_ns;
	uint64_t		 off;
	struct digest_ctx	*ctx;
	unsigned char		*buf;
	unsigned char		 result[DIGEST_LEN];
};

/* The racy window for the filesystem holding FD. */
static long long
digest_window(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) == -1)
		return DIGEST_WINDOW_SLOW_NS;
	switch ((unsigned long)sf.f_type) {
	case 0xef53UL:		/* ext2, ext3, ext4 */
	case 0x58465342UL:	/* xfs */
	case 0x9123683eUL:	/* btrfs */
	case 0x01021994UL:	/* tmpfs */
	case 0xf2f52010UL:	/* f2fs */
	case 0x794c7630UL:	/* overlayfs */
	case 0x2fc12fc1UL:	/* zfs */
	case 0x858458f6UL:	/* ramfs */
		return DIGEST_WINDOW_FAST_NS;
	default:
		return DIGEST_WINDOW_SLOW_NS;
	}
}

static int
digest_job_stat(struct digest_job *j, char **errp)
{
	struct stat st;

	if (fstat(j->fd, &st) == -1) {
		*errp = log_fmt("fstat: %s", strerror(errno));
		return -1;
	}
	digest_key_of(&st, &j->key);
	return 0;
}

/*
 * Start hashing the regular file open on FD (the job keeps its own
 * duplicate of FD).  Returns NULL with *errp on failure.
 */
struct digest_job *
digest_job_new(int fd, char **errp)
{
	struct digest_job *j = xcalloc(1, sizeof *j);

	j->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (j->fd == -1) {
		*errp = log_fmt("dup: %s", strerror(errno));
		free(j);
		return NULL;
	}
	j->buf = xmalloc(DIGEST_READ);
	j->ctx = digest_new();
	j->window_ns = digest_window(j->fd);
	posix_fadvise(j->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	digest_job_restart(j);
	return j;
}

/* Start over from byte 0 with the file's current version. */
void
digest_job_restart(struct digest_job *j)
{
	char *err = NULL;
	unsigned char junk[DIGEST_LEN];

	clock_gettime(CLOCK_REALTIME, &j->started);
	if (digest_job_stat(j, &err) == -1) {
		free(err);
		memset(&j->key, 0, sizeof j->key);
	}
	j->off = 0;
	digest_final(j->ctx, junk);	/* resets the context */
}

/*
 * Hash at most BUDGET more bytes.  DIGEST_STEP_DONE once the whole file
 * is hashed and its version is still the one hashing began with;
 * DIGEST_STEP_CHANGED when it is not (call digest_job_restart()).
 */
enum digest_step
digest_job_step(struct digest_job *j, size_t budget, char **errp)
{
	struct digest_key before = j->key;
	size_t want;
	ssize_t n;

	while (budget > 0 && j->off < (uint64_t)j->key.size) {
		want = DIGEST_READ;
		if (want > budget)
			want = budget;
		if (want > (uint64_t)j->key.size - j->off)
			want = (size_t)((uint64_t)j->key.size - j->off);
		n = pread(j->fd, j->buf, want, (off_t)j->off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			*errp = log_fmt("read: %s", strerror(errno));
			return DIGEST_STEP_ERROR;
		}
		if (n == 0)
			return DIGEST_STEP_CHANGED;	/* truncated */
		digest_update(j->ctx, j->buf, (size_t)n);
		j->off += (uint64_t)n;
		budget -= (size_t)n;
	}
	if (j->off < (uint64_t)j->key.size)
		return DIGEST_STEP_MORE;
	if (digest_job_stat(j, errp) == -1)
		return DIGEST_STEP_ERROR;
	if (!digest_key_eq(&before, &j->key))
		return DIGEST_STEP_CHANGED;
	digest_final(j->ctx, j->result);
	return DIGEST_STEP_DONE;
}

const struct digest_key *
digest_job_key(const struct digest_job *j)
{
	return &j->key;
}

static long long
digest_ns(const struct timespec *ts)
{
	return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/*
 * Did hashing begin late enough after the file's last change that no
 * later write can share its timestamp?  When not, *WAIT_MS says how long
 * to wait before a restart would be.
 */
bool
digest_job_settled(const struct digest_job *j, uint64_t *wait_ms)
{
	long long changed = digest_ns(&j->key.mtime), ready;

	if (digest_ns(&j->key.ctime) > changed)
		changed = digest_ns(&j->key.ctime);
	ready = changed + j->window_ns;
	if (digest_ns(&j->started) >= ready) {
		*wait_ms = 0;
		return true;
	}
	*wait_ms = (uint64_t)((ready - digest_ns(&j->started)) / 1000000 + 1);
	return false;
}

void
digest_job_result(const struct digest_job *j, unsigned char *out)
{
	memcpy(out, j->result, DIGEST_LEN);
}

void
digest_job_free(struct digest_job *j)
{
	if (j == NULL)
		return;
	close(j->fd);
	digest_free(j->ctx);
	free(j->buf);
	free(j);
}

/*
 * Hash the file open on FD now, blocking, until a settled digest of an
 * unchanged version is had; *KEY gets that version.  Gives up (-1) on a
 * file that keeps changing, and on one changed in the future, whose
 * racy window lasts longer than DIGEST_SETTLE_MAX_MS.
 */
int
digest_file(int fd, struct digest_key *key, unsigned char *out, char **errp)
{
	struct digest_job *j;
	struct timespec ts;
	enum digest_step s;
	uint64_t wait_ms;
	int tries = 0;

	if ((j = digest_job_new(fd, errp)) == NULL)
		return -1;
	for (;;) {
		s = digest_job_step(j, 64 * 1024 * 1024, errp);
		if (s == DIGEST_STEP_ERROR)
			break;
		if (s == DIGEST_STEP_MORE)
			continue;
		if (s == DIGEST_STEP_DONE && digest_job_settled(j, &wait_ms)) {
			*key = j->key;
			digest_job_result(j, out);
			digest_job_free(j);
			return 0;
		}
		if (++tries == 10) {
			*errp = log_fmt("the file keeps changing while it is "
			    "hashed");
			break;
		}
		if (s == DIGEST_STEP_DONE && wait_ms > DIGEST_SETTLE_MAX_MS) {
			/* No trustworthy digest before the clock catches up. */
			*errp = log_fmt("modified in the future: hashed on "
			    "request until %llu s from now",
			    (unsigned long long)(wait_ms / 1000));
			break;
		}
		if (s == DIGEST_STEP_DONE) {
			ts.tv_sec = (time_t)(wait_ms / 1000);
			ts.tv_nsec = (long)(wait_ms % 1000) * 1000000;
			while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
				;
		}
		digest_job_restart(j);
	}
	digest_job_free(j);
	return -1;
}
