/*
 * log.h - messages on stderr and the traffic taps (hex dump, raw copy).
 *
 * Every message is one line starting with "sockt: ".  Verbosity is owned by
 * main and passed in once with log_set_verbosity(); nothing else is global.
 */
#ifndef SOCKT_LOG_H
#define SOCKT_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void	 log_set_verbosity(int);
int	 log_verbosity(void);
void	 log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(int, const char *, ...) __attribute__((format(printf, 2, 3)));
char	*log_fmt(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * Every string that came from the network or a peer (reason phrases, file
 * names, Unix socket names, proxy replies) is printed through this: control
 * bytes, DEL, C1 controls, invalid UTF-8 and the backslash become \xNN, so
 * no peer can write to a terminal or forge a log line.  log_escape(S, LEN,
 * BUF, SIZE) returns BUF, always NUL-terminated; what does not fit is cut
 * and ends in "...".  LOG_ESCAPE_MAX is a buffer size that suits one field.
 */
#define LOG_ESCAPE_MAX	1024
const char *log_escape(const char *, size_t, char *, size_t);

/*
 * A tap sees every chunk a session moves: -x writes a direction-marked hex
 * dump (to stderr for "-x -"), -o a raw copy of what was received.
 * Direction is LOG_SENT for local -> peer and LOG_RECEIVED for peer ->
 * local.  A write error stops that output and is kept: log_tap_check()
 * turns it into the "write to FILE: reason" that ends the session.
 */
enum log_dir { LOG_SENT, LOG_RECEIVED };

struct log_tap {
	FILE		*hexdump;	/* -x FILE, or NULL */
	const char	*hexdump_name;	/* FILE, or "stderr" for -x - */
	int		 copy_fd;	/* -o FILE, or -1 */
	const char	*copy_name;
	uint64_t	 offset[2];	/* per direction */
	int		 error;		/* first errno writing the copy */
	int		 hexdump_error;	/* first errno of the dump */
};

void	 log_tap_init(struct log_tap *);
int	 log_tap_open(struct log_tap *, const char *, const char *, char **);
void	 log_tap_close(struct log_tap *);
void	 log_tap_data(struct log_tap *, enum log_dir, const void *, size_t);
int	 log_tap_check(const struct log_tap *, char **);
void	 log_hexdump(FILE *, const char *, char, uint64_t, const void *,
	     size_t);
void	 log_tap_tagged(struct log_tap *, unsigned long, enum log_dir,
	     uint64_t, const void *, size_t);

#endif
