/*
 * digest.c - SHA-256 via libcrypto EVP: streaming contexts, hex helpers,
 * file versions and the cache of their digests.  Hashing a file in
 * slices is in digestjob.c, the hashing child of fetch-file in
 * digestchild.c.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "digest.h"
#include "log.h"

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
