/*
 * digest.c - SHA-256 via libcrypto EVP: streaming contexts, hex helpers,
 * file versions, the cache of their digests, and the scheduling of file
 * hashing on the loop for serve-file.  Hashing a file in
 * slices is in digestjob.c, the hashing child of fetch-file in
 * digestchild.c.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "digest.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

#define DIGEST_CACHE_MAX 65536		/* entries before the cache is reset */

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

/* ---- scheduling: one job per file, a slice per loop round ------------- */

#define DIGEST_SLICE	(4 * 1024 * 1024)	/* per job per loop round */
#define DIGEST_TRIES	10	/* then DIGEST_UNSTABLE */

/* A digest being computed for one file (device, inode). */
struct digest_task {
	struct digest_sched	*sched;
	struct digest_job	*job;
	struct digest_waiter	*waiters;
	int			 tries;
	char			*what;		/* for messages */
	uint64_t		 settle_end;	/* waits for the racy window
						   end here; 0: none yet */
	bool			 settling;	/* timer armed, not hashing */
	struct loop_timer	 settle;
	struct digest_task	*next;
};

struct digest_sched {
	struct loop		*loop;
	struct digest_cache	*cache;
	struct digest_task	*tasks;
	struct loop_timer	 tick;
};

static void	digest_sched_arm(struct digest_sched *);
static void	digest_sched_tick(struct loop *, void *);

struct digest_sched *
digest_sched_new(struct loop *loop)
{
	struct digest_sched *s = xcalloc(1, sizeof *s);

	s->loop = loop;
	s->cache = digest_cache_new();
	loop_timer_init(&s->tick, digest_sched_tick, s);
	return s;
}

/* Unlink and free T (its waiters must have been taken off). */
static void
digest_task_free(struct digest_task *t)
{
	struct digest_sched *s = t->sched;
	struct digest_task **pp;

	for (pp = &s->tasks; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	loop_timer_disarm(s->loop, &t->settle);
	digest_job_free(t->job);
	free(t->what);
	free(t);
}

/* Every task ends, its waiters not told; the cache goes too. */
void
digest_sched_free(struct digest_sched *s)
{
	struct digest_waiter *w;

	if (s == NULL)
		return;
	while (s->tasks != NULL) {
		for (w = s->tasks->waiters; w != NULL; w = w->next)
			w->task = NULL;
		digest_task_free(s->tasks);
	}
	loop_timer_disarm(s->loop, &s->tick);
	digest_cache_free(s->cache);
	free(s);
}

/*
 * Hash the file open on FD now, blocking (before serving starts, so no
 * client waits for it), and cache its digest.  -1 with *errp when no
 * trustworthy digest could be had: the first request hashes it then.
 */
int
digest_sched_prime(struct digest_sched *s, int fd, char **errp)
{
	unsigned char d[DIGEST_LEN];
	struct digest_key k;

	if (digest_file(fd, &k, d, errp) == -1)
		return -1;
	digest_cache_put(s->cache, &k, d);
	return 0;
}

/* T is over: tell every waiter R (with the version and digest). */
static void
digest_task_finish(struct digest_task *t, enum digest_result r)
{
	struct digest_waiter *w, *next;
	unsigned char d[DIGEST_LEN];
	struct digest_key k = *digest_job_key(t->job);

	if (r == DIGEST_OK)
		digest_job_result(t->job, d);
	else
		memset(d, 0, sizeof d);
	w = t->waiters;
	t->waiters = NULL;
	digest_task_free(t);
	for (; w != NULL; w = next) {
		next = w->next;
		w->task = NULL;
		w->next = NULL;
		w->fn(w->arg, r, &k, d);
	}
}

/* The racy window of T's file has passed: hash it again. */
static void
digest_task_settled(struct loop *loop, void *arg)
{
	struct digest_task *t = arg;

	(void)loop;
	t->settling = false;
	digest_job_restart(t->job);
	digest_sched_arm(t->sched);
}

/*
 * A hash of T's file is complete (STEP: DONE or CHANGED): trust and
 * cache it, or hash again (after the racy window when it is not over).
 * The waits for racy windows end DIGEST_SETTLE_MAX_MS after the first
 * began: a file changed in the future (its window lasting until the
 * clock catches up) is then answered with a hash of an unchanged
 * version, which is not cached.
 */
static void
digest_task_done(struct digest_task *t, enum digest_step step)
{
	struct digest_sched *s = t->sched;
	unsigned char d[DIGEST_LEN];
	uint64_t wait_ms, now = loop_now();

	if (step == DIGEST_STEP_DONE && digest_job_settled(t->job, &wait_ms)) {
		digest_job_result(t->job, d);
		digest_cache_put(s->cache, digest_job_key(t->job), d);
		digest_task_finish(t, DIGEST_OK);
		return;
	}
	if (step == DIGEST_STEP_DONE && t->settle_end != 0 &&
	    now >= t->settle_end) {
		log_info(1, "hashing %s: modified in the future: the digest "
		    "is not cached", t->what);
		digest_task_finish(t, DIGEST_OK);
		return;
	}
	if (++t->tries >= DIGEST_TRIES) {
		log_info(1, "hashing: the file keeps changing");
		digest_task_finish(t, DIGEST_UNSTABLE);
		return;
	}
	if (step == DIGEST_STEP_DONE) {
		if (t->settle_end == 0)
			t->settle_end = now + DIGEST_SETTLE_MAX_MS;
		if (now + wait_ms > t->settle_end)
			wait_ms = t->settle_end - now;
		t->settling = true;
		loop_timer_arm(s->loop, &t->settle, now + wait_ms);
	} else
		digest_job_restart(t->job);
}

/* Hash a slice of every running task; called between polls. */
static void
digest_sched_tick(struct loop *loop, void *arg)
{
	struct digest_sched *s = arg;
	struct digest_task *t, *next;
	enum digest_step step;
	char *err = NULL;

	(void)loop;
	for (t = s->tasks; t != NULL; t = next) {
		next = t->next;
		if (t->settling)
			continue;
		step = digest_job_step(t->job, DIGEST_SLICE, &err);
		if (step == DIGEST_STEP_ERROR) {
			log_info(1, "hashing: %s", err);
			free(err);
			err = NULL;
			digest_task_finish(t, DIGEST_FAILED);
		} else if (step != DIGEST_STEP_MORE)
			digest_task_done(t, step);
	}
	digest_sched_arm(s);
}

/* Keep the tick running while some task is hashing. */
static void
digest_sched_arm(struct digest_sched *s)
{
	struct digest_task *t;

	for (t = s->tasks; t != NULL; t = t->next)
		if (!t->settling) {
			loop_timer_arm(s->loop, &s->tick, loop_now());
			return;
		}
	loop_timer_disarm(s->loop, &s->tick);
}

/*
 * The digest of the version of the regular file open on FD now.  Returns
 * 1 with OUT filled when it is cached.  Otherwise W waits on the task
 * hashing that file (one is started, with WHAT in the -vv line, when
 * none is) and 0 is returned: FN(ARG, result, version, digest) is called
 * from the loop once it is known, for the version then hashed, which the
 * caller compares with its file's (a file can change meanwhile).
 * digest_sched_cancel() takes W off first, if the caller stops waiting.
 * -1 with *errp when the file cannot be hashed at all.
 */
int
digest_sched_get(struct digest_sched *s, int fd, const char *what,
    unsigned char *out, struct digest_waiter *w, digest_ready_fn *fn,
    void *arg, char **errp)
{
	const struct digest_key *tk;
	struct digest_task *t;
	struct digest_key k;
	struct stat st;

	if (fstat(fd, &st) == -1) {
		*errp = log_fmt("fstat: %s", strerror(errno));
		return -1;
	}
	digest_key_of(&st, &k);
	if (digest_cache_get(s->cache, &k, out))
		return 1;
	for (t = s->tasks; t != NULL; t = t->next) {
		tk = digest_job_key(t->job);
		if (tk->dev == k.dev && tk->ino == k.ino)
			break;
	}
	if (t == NULL) {
		t = xcalloc(1, sizeof *t);
		if ((t->job = digest_job_new(fd, errp)) == NULL) {
			free(t);
			return -1;
		}
		t->sched = s;
		t->what = xstrdup(what);
		loop_timer_init(&t->settle, digest_task_settled, t);
		t->next = s->tasks;
		s->tasks = t;
		log_info(2, "hashing %s", what);
	}
	digest_sched_cancel(w);	/* a waiter at most once, on one task */
	w->task = t;
	w->fn = fn;
	w->arg = arg;
	w->next = t->waiters;
	t->waiters = w;
	digest_sched_arm(s);
	return 0;
}

/* W no longer waits (its client left); the task goes on for others. */
void
digest_sched_cancel(struct digest_waiter *w)
{
	struct digest_waiter **pp;

	if (w->task == NULL)
		return;
	for (pp = &w->task->waiters; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	w->task = NULL;
	w->next = NULL;
}
