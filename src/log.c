/*
 * log.c - stderr messages and the traffic taps behind -x and -o.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
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

void
log_tap_init(struct log_tap *tap)
{
	memset(tap, 0, sizeof *tap);
	tap->copy_fd = -1;
}

/*
 * One hex dump line per 16 bytes:
 *   > 00000000  68 65 6c 6c 6f 0a                                |hello.|
 * MARK is '>' for sent and '<' for received; OFFSET counts that direction.
 */
void
log_hexdump(FILE *f, char mark, uint64_t offset, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i, j;

	for (i = 0; i < len; i += 16) {
		fprintf(f, "%c %08llx  ", mark,
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

void
log_tap_data(struct log_tap *tap, enum log_dir dir, const void *data,
    size_t len)
{
	const char *p = data;
	size_t left = len;
	ssize_t n;

	if (tap->hexdump != NULL) {
		log_hexdump(tap->hexdump, dir == LOG_SENT ? '>' : '<',
		    tap->offset[dir], data, len);
		fflush(tap->hexdump);
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
