/*
 * mime.c - the Content-Type of a served file, from its extension: the
 * built-in table first (so the common types are the same everywhere),
 * then /etc/mime.types for the rest.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mime.h"
#include "xmalloc.h"

#define MIME_DEFAULT	"application/octet-stream"
#define MIME_MAX_EXT	32

struct mime_entry {
	char	*ext;		/* lower case, without the dot */
	char	*type;		/* the whole Content-Type value */
	size_t	 seq;		/* the first of equal extensions wins */
};

struct mime {
	struct mime_entry	*v;
	size_t			 n;
	size_t			 cap;
};

static const char *const mime_builtin[][2] = {
	{ "html", "text/html" }, { "htm", "text/html" },
	{ "css", "text/css" }, { "js", "text/javascript" },
	{ "mjs", "text/javascript" }, { "txt", "text/plain" },
	{ "text", "text/plain" }, { "log", "text/plain" },
	{ "md", "text/markdown" }, { "csv", "text/csv" },
	{ "tsv", "text/tab-separated-values" }, { "xml", "text/xml" },
	{ "c", "text/plain" }, { "h", "text/plain" }, { "sh", "text/plain" },
	{ "py", "text/plain" }, { "json", "application/json" },
	{ "map", "application/json" }, { "wasm", "application/wasm" },
	{ "pdf", "application/pdf" }, { "zip", "application/zip" },
	{ "gz", "application/gzip" }, { "tgz", "application/gzip" },
	{ "bz2", "application/x-bzip2" }, { "xz", "application/x-xz" },
	{ "zst", "application/zstd" }, { "tar", "application/x-tar" },
	{ "iso", "application/x-iso9660-image" },
	{ "deb", "application/vnd.debian.binary-package" },
	{ "png", "image/png" }, { "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" }, { "gif", "image/gif" },
	{ "webp", "image/webp" }, { "svg", "image/svg+xml" },
	{ "ico", "image/vnd.microsoft.icon" }, { "bmp", "image/bmp" },
	{ "avif", "image/avif" }, { "mp3", "audio/mpeg" },
	{ "ogg", "audio/ogg" }, { "oga", "audio/ogg" }, { "wav", "audio/wav" },
	{ "flac", "audio/flac" }, { "mp4", "video/mp4" },
	{ "m4v", "video/mp4" }, { "webm", "video/webm" },
	{ "ogv", "video/ogg" }, { "woff", "font/woff" },
	{ "woff2", "font/woff2" }, { "ttf", "font/ttf" }, { "otf", "font/otf" },
};

/* Is TYPE shown as text, so it gets a charset? */
static bool
mime_is_text(const char *type)
{
	return strncmp(type, "text/", 5) == 0 ||
	    strcmp(type, "application/json") == 0 ||
	    strcmp(type, "application/javascript") == 0 ||
	    strcmp(type, "application/xml") == 0 ||
	    strcmp(type, "image/svg+xml") == 0;
}

static void
mime_add(struct mime *m, const char *ext, const char *type)
{
	char *e, *p;

	if (strlen(ext) > MIME_MAX_EXT || strlen(type) > 200)
		return;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 256;
		m->v = xreallocarray(m->v, m->cap, sizeof *m->v);
	}
	e = xstrdup(ext);
	for (p = e; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	m->v[m->n].ext = e;
	m->v[m->n].type = mime_is_text(type) ?
	    log_fmt("%s; charset=utf-8", type) : xstrdup(type);
	m->v[m->n].seq = m->n;
	m->n++;
}

static int
mime_ext_cmp(const void *a, const void *b)
{
	const struct mime_entry *x = a, *y = b;

	return strcmp(x->ext, y->ext);
}

static int
mime_cmp(const void *a, const void *b)
{
	const struct mime_entry *x = a, *y = b;
	int r = strcmp(x->ext, y->ext);

	if (r != 0)
		return r;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The lines "type ext ext ..." of a mime.types file; comments skipped. */
static void
mime_read(struct mime *m, FILE *f)
{
	char line[1024], *type, *ext, *save;

	while (fgets(line, sizeof line, f) != NULL) {
		if ((type = strtok_r(line, " \t\r\n", &save)) == NULL ||
		    type[0] == '#' || strchr(type, '/') == NULL)
			continue;
		while ((ext = strtok_r(NULL, " \t\r\n", &save)) != NULL)
			mime_add(m, ext, type);
	}
}

/*
 * The table: the built-in types, then those of the mime.types file PATH
 * (NULL, or a file that is not there: none).
 */
struct mime *
mime_new(const char *path)
{
	struct mime *m = xcalloc(1, sizeof *m);
	size_t i, k;
	FILE *f;

	for (i = 0; i < sizeof mime_builtin / sizeof mime_builtin[0]; i++)
		mime_add(m, mime_builtin[i][0], mime_builtin[i][1]);
	if (path != NULL && (f = fopen(path, "re")) != NULL) {
		mime_read(m, f);
		fclose(f);
	}
	if (m->n > 1)
		qsort(m->v, m->n, sizeof *m->v, mime_cmp);
	/* Keep the first of equal extensions (the built-in one). */
	for (i = k = 0; i < m->n; i++) {
		if (k > 0 && strcmp(m->v[k - 1].ext, m->v[i].ext) == 0) {
			free(m->v[i].ext);
			free(m->v[i].type);
			continue;
		}
		m->v[k++] = m->v[i];
	}
	m->n = k;
	return m;
}

/*
 * The Content-Type of the file NAME (its extension, case ignored);
 * *KNOWN says whether it was found (else application/octet-stream).
 */
const char *
mime_type(const struct mime *m, const char *name, bool *known)
{
	struct mime_entry key, *e;
	char ext[MIME_MAX_EXT + 1];
	const char *dot, *slash;
	size_t i, n;

	*known = false;
	slash = strrchr(name, '/');
	if (slash != NULL)
		name = slash + 1;
	dot = strrchr(name, '.');
	if (m == NULL || dot == NULL || dot == name ||
	    (n = strlen(dot + 1)) == 0 || n > MIME_MAX_EXT)
		return MIME_DEFAULT;
	for (i = 0; i <= n; i++)
		ext[i] = (char)tolower((unsigned char)dot[1 + i]);
	key.ext = ext;
	key.seq = 0;
	e = bsearch(&key, m->v, m->n, sizeof *m->v, mime_ext_cmp);
	if (e == NULL)
		return MIME_DEFAULT;
	*known = true;
	return e->type;
}

void
mime_free(struct mime *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->v[i].ext);
		free(m->v[i].type);
	}
	free(m->v);
	free(m);
}
