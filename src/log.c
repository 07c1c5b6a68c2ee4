/*
 * log.c - stderr messages and the traffic taps behind -x and -o.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int verbosity;

void
log_set_verbosity(int level)
{
	verbosity = level;
}

int
log_verbosity(void)
{
	return verbosity;
}

static void
log_vline(const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof line, fmt, ap);
	/* One write, so lines from concurrent processes never interleave. */
	dprintf(STDERR_FILENO, "sockt: %s\n", line);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(fmt, ap);
	va_end(ap);
}

/* Print only when -v was given at least LEVEL times. */
void
log_info(int level, const char *fmt, ...)
{
	va_list ap;

	if (verbosity < level)
		return;
	va_start(ap, fmt);
	log_vline(fmt, ap);
	va_end(ap);
}

/* An allocated formatted string; aborts only when memory is exhausted. */
char *
log_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1) {
		dprintf(STDERR_FILENO, "sockt: out of memory\n");
		abort();
	}
	va_end(ap);
	return s;
}

/*
 * The length of the valid UTF-8 sequence at S (at most LEN bytes) that
 * encodes a printable character of U+00A0 or above, or 0.  C1 controls,
 * overlong forms, surrogates and stray bytes get 0: they are escaped.
 */
static size_t
log_utf8_len(const unsigned char *s, size_t len)
{
	unsigned cp, min;
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, cp = s[0] & 0x1f, min = 0xa0;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * LEN bytes of S made printable in BUF (SIZE >= 8): printable ASCII and
 * valid UTF-8 pass through; control bytes, DEL, C1 controls, invalid
 * UTF-8 and the backslash itself become \xNN.  What does not fit is cut
 * and marked "...".  Returns BUF.
 */
const char *
log_escape(const char *s, size_t len, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0, n;

	while (i < len) {
		if (u[i] >= 0x20 && u[i] < 0x7f && u[i] != '\\')
			n = 1;
		else
			n = log_utf8_len(u + i, len - i);
		if (n > 0) {
			if (o + n + 4 > size)
				break;
			memcpy(buf + o, s + i, n);
			o += n;
			i += n;
			continue;
		}
		if (o + 4 + 4 > size)
			break;
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[u[i] >> 4];
		buf[o++] = hex[u[i] & 15];
		i++;
	}
	if (i < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

void
log_tap_init(struct log_tap *tap)
{
	memset(tap, 0, sizeof *tap);
	tap->copy_fd = -1;
}

/*
 * Open the taps: the hex dump to HEXDUMP ("-" is stderr) and the copy to
 * COPY, each truncated, either may be NULL.  The names are kept for
 * messages (the caller keeps the strings alive).  Returns -1 with *errp
 * naming the file; what was opened is closed again.
 */
int
log_tap_open(struct log_tap *tap, const char *hexdump, const char *copy,
    char **errp)
{
	int fd = -1;

	log_tap_init(tap);
	if (hexdump != NULL) {
		if (strcmp(hexdump, "-") == 0) {
			/* our own fd, so that closing the dump keeps fd 2 */
			fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
			tap->hexdump_name = "stderr";
		} else {
			fd = open(hexdump, O_WRONLY | O_CREAT | O_TRUNC |
			    O_CLOEXEC, 0666);
			tap->hexdump_name = hexdump;
		}
		if (fd == -1 || (tap->hexdump = fdopen(fd, "w")) == NULL)
			goto fail;
		fd = -1;
	}
	if (copy != NULL) {
		tap->copy_name = copy;
		tap->copy_fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0666);
		if (tap->copy_fd == -1) {
			*errp = log_fmt("%s: %s", copy, strerror(errno));
			log_tap_close(tap);
			return -1;
		}
	}
	return 0;
fail:
	*errp = log_fmt("%s: %s", hexdump, strerror(errno));
	if (fd != -1)
		close(fd);
	log_tap_close(tap);
	return -1;
}

void
log_tap_close(struct log_tap *tap)
{
	if (tap->hexdump != NULL)
		fclose(tap->hexdump);
	tap->hexdump = NULL;
	if (tap->copy_fd != -1)
		close(tap->copy_fd);
	tap->copy_fd = -1;
}

/*
 * 0 while every tap was written, else -1 with *errp = "write to FILE:
 * reason" for the copy's first error, or else the dump's.
 */
int
log_tap_check(const struct log_tap *tap, char **errp)
{
	if (tap->error != 0)
		*errp = log_fmt("write to %s: %s", tap->copy_name,
		    strerror(tap->error));
	else if (tap->hexdump_error != 0)
		*errp = log_fmt("write to %s: %s", tap->hexdump_name,
		    strerror(tap->hexdump_error));
	else
		return 0;
	return -1;
}

/*
 * One hex dump line per 16 bytes:
 *   > 00000000  68 65 6c 6c 6f 0a                                |hello.|
 * MARK is '>' for sent and '<' for received; OFFSET counts that direction.
 */
void
log_hexdump(FILE *f, const char *prefix, char mark, uint64_t offset,
    const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i, j;

	for (i = 0; i < len; i += 16) {
		fprintf(f, "%s%c %08llx  ", prefix, mark,
		    (unsigned long long)(offset + i));
		for (j = 0; j < 16; j++) {
			if (i + j < len)
				fprintf(f, "%02x ", p[i + j]);
			else
				fputs("   ", f);
			if (j == 7)
				fputc(' ', f);
		}
		fputs(" |", f);
		for (j = 0; j < 16 && i + j < len; j++)
			fputc(isprint(p[i + j]) ? p[i + j] : '.', f);
		fputs("|\n", f);
	}
}

/*
 * Show LEN bytes of DATA, moving in direction DIR, to the taps: the dump
 * sees both directions, the copy only what was received.  A failed write
 * is kept in the tap (see log_tap_check()) and that output stops.
 */
void
log_tap_data(struct log_tap *tap, enum log_dir dir, const void *data,
    size_t len)
{
	const char *p = data;
	size_t left = len;
	ssize_t n;

	if (tap->hexdump != NULL && tap->hexdump_error == 0) {
		/* stdio keeps no errno: whatever write failed last set it */
		errno = 0;
		log_hexdump(tap->hexdump, "", dir == LOG_SENT ? '>' : '<',
		    tap->offset[dir], data, len);
		if (fflush(tap->hexdump) == EOF || ferror(tap->hexdump))
			tap->hexdump_error = errno != 0 ? errno : EIO;
	}
	tap->offset[dir] += len;
	if (dir != LOG_RECEIVED || tap->copy_fd == -1 || tap->error != 0)
		return;
	while (left > 0) {
		n = write(tap->copy_fd, p, left);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			tap->error = errno;
			return;
		}
		p += n;
		left -= (size_t)n;
	}
}

/*
 * The hex dump of one of many connections sharing TAP (forward -x): each
 * line starts with "#ID ", OFFSET counts that connection's direction.
 */
void
log_tap_tagged(struct log_tap *tap, unsigned long id, enum log_dir dir,
    uint64_t offset, const void *data, size_t len)
{
	char prefix[32];

	if (tap->hexdump == NULL)
		return;
	snprintf(prefix, sizeof prefix, "#%lu ", id);
	log_hexdump(tap->hexdump, prefix, dir == LOG_SENT ? '>' : '<', offset,
	    data, len);
	if (fflush(tap->hexdump) == EOF && tap->hexdump_error == 0)
		tap->hexdump_error = errno;
}
