/*
 * digest.c - SHA-256 via libcrypto EVP: streaming contexts, the file
 * version cache, incremental file hashing with the racy-timestamp rule,
 * a hashing child process, hex helpers.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "digest.h"
#include "log.h"

#define DIGEST_READ	(256 * 1024)	/* one read: stays in the L2 cache */
#define DIGEST_PIPE	(1024 * 1024)
#define DIGEST_CACHE_MAX 65536		/* entries before the cache is reset */

/*
 * How long after a file's last change a hash may begin and still be
 * trusted.  Local filesystems stamp changes from the kernel's tick clock
 * (a few ms per tick): two ticks is enough, 50 ms is generous.  Others
 * (FAT's 2 s granularity, network filesystems) get 2 s.
 */
#define DIGEST_WINDOW_FAST_NS	50000000LL
#define DIGEST_WINDOW_SLOW_NS	2000000000LL

struct digest_ctx {
	EVP_MD_CTX	*md;
};

static void
digest_oom(void)
{
	log_error("out of memory");
	abort();
}

/* A fresh SHA-256 context; aborts when libcrypto cannot make one. */
struct digest_ctx *
digest_new(void)
{
	struct digest_ctx *d = calloc(1, sizeof *d);

	if (d == NULL || (d->md = EVP_MD_CTX_new()) == NULL)
		digest_oom();
	if (EVP_DigestInit_ex(d->md, EVP_sha256(), NULL) != 1) {
		log_error("libcrypto: SHA-256 is not available");
		abort();
	}
	return d;
}

void
digest_update(struct digest_ctx *d, const void *p, size_t n)
{
	if (n > 0)
		EVP_DigestUpdate(d->md, p, n);
}

/* Write the digest to OUT (DIGEST_LEN bytes) and start over. */
void
digest_final(struct digest_ctx *d, unsigned char *out)
{
	unsigned int len = DIGEST_LEN;

	EVP_DigestFinal_ex(d->md, out, &len);
	EVP_DigestInit_ex(d->md, EVP_sha256(), NULL);
}

void
digest_free(struct digest_ctx *d)
{
	if (d == NULL)
		return;
	EVP_MD_CTX_free(d->md);
	free(d);
}

/* Lowercase hex of a digest into OUT (DIGEST_HEX_LEN bytes). */
void
digest_hex(const unsigned char *d, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < DIGEST_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * DIGEST_LEN] = '\0';
}

static int
digest_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 64 hex digits (either case) into OUT; -1 for anything else. */
int
digest_parse_hex(const char *s, unsigned char *out)
{
	size_t i;
	int hi, lo;

	if (strlen(s) != 2 * DIGEST_LEN)
		return -1;
	for (i = 0; i < DIGEST_LEN; i++) {
		hi = digest_hexval(s[2 * i]);
		lo = digest_hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void
digest_key_of(const struct stat *st, struct digest_key *k)
{
	memset(k, 0, sizeof *k);
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->size = st->st_size;
	k->mtime = st->st_mtim;
	k->ctime = st->st_ctim;
}

bool
digest_key_eq(const struct digest_key *a, const struct digest_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec &&
	    a->ctime.tv_sec == b->ctime.tv_sec &&
	    a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* ---- the cache: open addressing on (dev, ino), latest version only ---- */

struct digest_entry {
	bool			 used;
	struct digest_key	 key;
	unsigned char		 digest[DIGEST_LEN];
};

struct digest_cache {
	struct digest_entry	*slots;
	size_t			 cap;		/* a power of two */
	size_t			 n;
};

struct digest_cache *
digest_cache_new(void)
{
	struct digest_cache *c = calloc(1, sizeof *c);

	if (c == NULL)
		digest_oom();
	c->cap = 64;
	c->slots = calloc(c->cap, sizeof *c->slots);
	if (c->slots == NULL)
		digest_oom();
	return c;
}

void
digest_cache_free(struct digest_cache *c)
{
	if (c == NULL)
		return;
	free(c->slots);
	free(c);
}

/* The slot of (DEV, INO): its entry, or the free slot it would take. */
static size_t
digest_cache_slot(const struct digest_cache *c, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev;
	size_t i = (size_t)(h ^ h >> 29) & (c->cap - 1);

	while (c->slots[i].used && (c->slots[i].key.dev != dev ||
	    c->slots[i].key.ino != ino))
		i = (i + 1) & (c->cap - 1);
	return i;
}

/* The digest of exactly version K, if known. */
bool
digest_cache_get(struct digest_cache *c, const struct digest_key *k,
    unsigned char *out)
{
	struct digest_entry *e = &c->slots[digest_cache_slot(c, k->dev,
	    k->ino)];

	if (!e->used || !digest_key_eq(&e->key, k))
		return false;
	memcpy(out, e->digest, DIGEST_LEN);
	return true;
}

/* Remember D for version K; it replaces any older version of the file. */
void
digest_cache_put(struct digest_cache *c, const struct digest_key *k,
    const unsigned char *d)
{
	struct digest_entry *old, *e;
	size_t i, oldcap;

	if ((c->n + 1) * 2 > c->cap) {
		old = c->slots;
		oldcap = c->cap;
		if (c->cap >= DIGEST_CACHE_MAX * 2) {
			/* Bounded memory: forget everything, rehash later. */
			memset(c->slots, 0, c->cap * sizeof *c->slots);
			c->n = 0;
		} else {
			c->cap *= 2;
			c->slots = calloc(c->cap, sizeof *c->slots);
			if (c->slots == NULL)
				digest_oom();
			c->n = 0;
			for (i = 0; i < oldcap; i++)
				if (old[i].used) {
					e = &c->slots[digest_cache_slot(c,
					    old[i].key.dev, old[i].key.ino)];
					*e = old[i];
					c->n++;
				}
			free(old);
		}
	}
	e = &c->slots[digest_cache_slot(c, k->dev, k->ino)];
	if (!e->used)
		c->n++;
	e->used = true;
	e->key = *k;
	memcpy(e->digest, d, DIGEST_LEN);
}

/* ---- incremental file hashing ------------------------------------------ */

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
	struct digest_job *j = calloc(1, sizeof *j);

	if (j == NULL)
		digest_oom();
	j->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (j->fd == -1) {
		*errp = log_fmt("dup: %s", strerror(errno));
		free(j);
		return NULL;
	}
	j->buf = malloc(DIGEST_READ);
	if (j->buf == NULL)
		digest_oom();
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
 * file that keeps changing.
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

/* ---- the hashing child ------------------------------------------------- */

/* Close every fd but the three given (any may be -1). */
static void
digest_close_others(int a, int b, int c)
{
	int keep[3] = { a, b, c }, t, i, j, lo = 0;

	for (i = 0; i < 3; i++)
		for (j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	for (i = 0; i < 3; i++) {
		if (keep[i] < 0)
			continue;
		if (keep[i] > lo)
			close_range((unsigned)lo, (unsigned)keep[i] - 1, 0);
		lo = keep[i] + 1;
	}
	close_range((unsigned)lo, ~0U, 0);
}

/*
 * The window of the file the child has mapped: hashing straight from the
 * page cache costs no copy.  Only bytes below the length the writer
 * reported are touched, so a window reaching past the end of the file
 * is safe.
 */
struct digest_window {
	unsigned char	*base;
	uint64_t	 start;		/* file offset of base */
	size_t		 len;
};

#define DIGEST_MAP	(64 * 1024 * 1024)

/* Hash [*OFF, END) through mappings; false when mmap() is refused. */
static bool
digest_child_mapped(struct digest_ctx *d, struct digest_window *w, int fd,
    uint64_t *off, uint64_t end)
{
	size_t n;

	while (*off < end) {
		if (w->base == NULL || *off >= w->start + w->len) {
			if (w->base != NULL)
				munmap(w->base, w->len);
			w->start = *off & ~((uint64_t)DIGEST_MAP - 1);
			w->len = DIGEST_MAP;
			w->base = mmap(NULL, w->len, PROT_READ, MAP_SHARED, fd,
			    (off_t)w->start);
			if (w->base == MAP_FAILED) {
				w->base = NULL;
				return false;
			}
		}
		n = (size_t)(w->start + w->len - *off);
		if (n > end - *off)
			n = (size_t)(end - *off);
#ifdef MADV_POPULATE_READ
		{
			uintptr_t a = (uintptr_t)(w->base + (*off - w->start));
			uintptr_t pa = a & ~(uintptr_t)4095;

			madvise((void *)pa, n + (a - pa), MADV_POPULATE_READ);
		}
#endif
		digest_update(d, w->base + (*off - w->start), n);
		*off += n;
	}
	return true;
}

/* In the child: hash FD's bytes from *OFF up to END. */
static void
digest_child_file(struct digest_ctx *d, struct digest_window *w,
    unsigned char *buf, int fd, uint64_t *off, uint64_t end)
{
	size_t want;
	ssize_t n;

	if (w != NULL && digest_child_mapped(d, w, fd, off, end))
		return;
	while (*off < end) {
		want = DIGEST_READ;
		if (want > end - *off)
			want = (size_t)(end - *off);
		n = pread(fd, buf, want, (off_t)*off);
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			_exit(1);
		}
		digest_update(d, buf, (size_t)n);
		*off += (uint64_t)n;
	}
}

/* The hashing child: hash, send the digest back, exit.  Never returns. */
static void
digest_child_main(int in, int out, int fd, uint64_t prefix_len, bool follow)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE };
	struct digest_window win = { NULL, 0, 0 }, *w = &win;
	struct digest_ctx *d;
	unsigned char *buf, res[DIGEST_LEN];
	uint64_t off = 0, grown[64];
	size_t i;
	ssize_t n;

	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	digest_close_others(in, out, fd);
	buf = malloc(DIGEST_READ);
	if (buf == NULL)
		_exit(1);
	d = digest_new();
	if (fd == -1)
		w = NULL;
	digest_child_file(d, w, buf, fd, &off, prefix_len);
	/*
	 * Following a file: the pipe brings 8-byte lengths the file has
	 * grown to (written whole, so read whole); hash up to the last.
	 */
	while (follow) {
		n = read(in, grown, sizeof grown);
		if (n == 0)
			break;
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || n % (ssize_t)sizeof grown[0] != 0)
			_exit(1);
		digest_child_file(d, w, buf, fd, &off,
		    grown[n / (ssize_t)sizeof grown[0] - 1]);
	}
	if (win.base != NULL)
		munmap(win.base, win.len);
	if (fd != -1)
		close(fd);
	for (;;) {
		if (follow)
			break;
		n = read(in, buf, DIGEST_READ);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		digest_update(d, buf, (size_t)n);
	}
	digest_final(d, res);
	digest_free(d);
	free(buf);
	if (write(out, res, sizeof res) != (ssize_t)sizeof res)
		_exit(1);
	_exit(0);
}

/*
 * Fork a child that hashes the first PREFIX_LEN bytes of FD (-1 for
 * none), then, when FOLLOW, the rest of FD as digest_child_grown() says
 * it grows (FD must be open for reading), else everything written to
 * dc->fd.  Either way the stream ends when dc->fd is closed.  The pipe is
 * blocking, so a writer waits for the child rather than dropping
 * anything.  The hashing runs on another CPU while the caller receives;
 * following a file, it reads the page cache instead of a copy of the
 * stream.
 */
int
digest_child_start(struct digest_child *dc, int fd, uint64_t prefix_len,
    bool follow, char **errp)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };

	dc->pid = -1;
	dc->follow = follow;
	dc->fd = dc->result = -1;
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		goto fail;
	fcntl(in[1], F_SETPIPE_SZ, DIGEST_PIPE);
	dc->pid = fork();
	if (dc->pid == -1)
		goto fail;
	if (dc->pid == 0)
		digest_child_main(in[0], out[1], fd, prefix_len, follow);
	close(in[0]);
	close(out[1]);
	dc->fd = in[1];
	dc->result = out[0];
	return 0;
fail:
	*errp = log_fmt("hashing process: %s", strerror(errno));
	if (in[0] != -1) {
		close(in[0]);
		close(in[1]);
	}
	if (out[0] != -1) {
		close(out[0]);
		close(out[1]);
	}
	return -1;
}

/* Following a file: it now holds LEN bytes. */
int
digest_child_grown(struct digest_child *dc, uint64_t len, char **errp)
{
	ssize_t n;

	do
		n = write(dc->fd, &len, sizeof len);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof len) {
		*errp = log_fmt("hashing process: %s", n == -1 ?
		    strerror(errno) : "short write");
		return -1;
	}
	return 0;
}

/* End of stream: wait for the child's digest. */
int
digest_child_finish(struct digest_child *dc, unsigned char *out, char **errp)
{
	ssize_t n;
	int status;

	close(dc->fd);
	dc->fd = -1;
	do
		n = read(dc->result, out, DIGEST_LEN);
	while (n == -1 && errno == EINTR);
	close(dc->result);
	dc->result = -1;
	while (waitpid(dc->pid, &status, 0) == -1 && errno == EINTR)
		;
	dc->pid = -1;
	if (n != DIGEST_LEN || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*errp = log_fmt("the hashing process failed");
		return -1;
	}
	return 0;
}

/* Stop the child without a result (an error elsewhere ended the job). */
void
digest_child_abort(struct digest_child *dc)
{
	if (dc->fd != -1)
		close(dc->fd);
	if (dc->result != -1)
		close(dc->result);
	dc->fd = dc->result = -1;
	if (dc->pid > 0) {
		kill(dc->pid, SIGKILL);
		while (waitpid(dc->pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	dc->pid = -1;
}
