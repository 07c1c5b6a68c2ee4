/*
 * cmd-fetch-file.c - "sockt fetch-file": fetch one file over HTTP/1.1
 * (or, with --raw, read a stream until EOF) into NAME.part, resuming an
 * earlier .part with a Range request, verifying the SHA-256 the server
 * sent (Repr-Digest) or the user gave (--sha256), then fsync and rename
 * to NAME.  Progress on stderr.
 *
 * The body moves socket -> pipe -> file with splice(); when it must be
 * hashed, the pipe is tee()d to a hashing child process, so SHA-256 runs
 * on another CPU while the next block is received.  Small bodies, chunked
 * bodies and outputs splice cannot write go through memory instead.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <libutil.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "cmd-util.h"
#include "digest.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "relay.h"
#include "sock.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define FETCH_BUF	(256 * 1024)	/* one read on the copy path */
#define FETCH_PIPE	(1024 * 1024)	/* the splice pipe */
#define FETCH_SPLICE	(1024 * 1024)	/* one splice */
#define FETCH_CHILD_MIN	(8 * 1024 * 1024)	/* hash in a child from here */
#define FETCH_XATTR	"user.sockt.validator"

static const enum opt_id fetch_options[] = {
	OPT_IPV4, OPT_IPV6, OPT_NUMERIC, OPT_VERBOSE, OPT_SOURCE, OPT_PORT,
	OPT_TIMEOUT, OPT_IDLE, OPT_OUTPUT, OPT_PROGRESS, OPT_RAW, OPT_FORCE,
	OPT_NO_RESUME, OPT_SHA256, OPT_END
};

static int	cmd_fetch_file_exec(struct sockt_opts *);

static const struct cmd_help fetch_file_help[] = {
	{ OPT_PORT, "source port" },
	{ OPT_TIMEOUT, "connect timeout" },
	{ OPT_IDLE, "give up after SECS without data" },
	{ OPT_OUTPUT, "write to FILE (- for stdout, DIR for DIR/NAME)" },
	{ OPT_PROGRESS, "progress line on stderr (default when it is a terminal)" },
	{ OPT_END, NULL }
};

const struct cmd_entry cmd_fetch_file_entry = {
	.name = "fetch-file",
	.summary = "fetch a file over HTTP with resume and a SHA-256 check",
	.usage = "[options] [-o OUT|-] URL | HOST PORT [PATH]",
	.options = fetch_options,
	.help = fetch_file_help,
	.args = { 1, 3, 0, "URL or HOST PORT" },
	.exec = cmd_fetch_file_exec,
};

enum fetch_state { FETCH_SEND, FETCH_HEAD, FETCH_BODY };

struct fetch_run {
	struct sockt_opts	*o;
	struct loop		*loop;
	enum fetch_state	 state;
	int			 status;	/* -1 while running */
	char			*err;		/* the one error line */
	bool			 die_sigpipe;

	/* where from */
	char			*host;
	char			*port;
	char			*target;
	char			*authority;
	char			*what;		/* the URL, escaped for messages */

	/* where to */
	bool			 to_stdout;
	char			*dir;		/* -o DIR, or NULL */
	char			*final;		/* NAME */
	char			*part;		/* NAME.part */
	char			*shown;		/* NAME escaped, for messages */
	char			*shown_part;	/* NAME.part escaped */
	int			 out;		/* .part or stdout */
	bool			 out_splice;	/* splice() can write it */
	uint64_t		 resume_from;	/* .part bytes kept */
	bool			 part_created;	/* by this run: empty, removed */
	bool			 part_stale;	/* truncate once a body comes */
	char			*validator;	/* for If-Range */

	/* the exchange */
	int			 sock;
	char			*req;
	size_t			 reqlen;
	size_t			 reqoff;
	char			*head;
	size_t			 headlen;
	struct http_response	 res;
	bool			 chunked;
	struct http_chunked	 ch;
	int64_t			 left;		/* body bytes to come, -1: EOF */
	int64_t			 total;		/* whole file, -1: unknown */
	uint64_t		 received;	/* body bytes this run */
	bool			 complete;
	bool			 keep_part;	/* failures keep .part */

	/* data path */
	int			 zpipe[2];
	char			*buf;

	/* integrity */
	bool			 hashing;
	bool			 have_server;
	bool			 have_user;
	unsigned char		 server_digest[DIGEST_LEN];
	unsigned char		 user_digest[DIGEST_LEN];
	struct digest_ctx	*ctx;
	struct digest_child	 child;
	bool			 use_child;

	/* timers */
	struct loop_timer	 idle;
	struct loop_timer	 progress;
	bool			 show_progress;
	bool			 progress_tty;
	uint64_t		 started;
	uint64_t		 active;
};

static void	fetch_sock_read(struct loop *, int, void *);

/* Record the first failure and stop the loop. */
static void
fetch_fail(struct fetch_run *run, char *msg)
{
	if (run->err == NULL)
		run->err = msg;
	else
		free(msg);
	run->status = 1;
	loop_stop(run->loop, 1);
}

static void
fetch_fail_errno(struct fetch_run *run, const char *what, int e)
{
	fetch_fail(run, log_fmt("%s: %s", what, strerror(e)));
}

/*
 * S escaped by log_escape() in a new string, never cut: names and URLs
 * in messages may come from the server (Content-Disposition, a URL's
 * percent-escapes) and must not reach the terminal raw.
 */
static char *
fetch_escape(const char *s)
{
	size_t size = strlen(s) * 4 + 8;
	char *buf = malloc(size);

	if (buf == NULL) {
		log_error("out of memory");
		abort();
	}
	log_escape(s, strlen(s), buf, size);
	return buf;
}

/* "X of Y bytes" for messages about an incomplete body. */
static char *
fetch_count(const struct fetch_run *run)
{
	uint64_t have = run->resume_from + run->received;

	if (run->total >= 0)
		return log_fmt("%llu of %lld bytes", (unsigned long long)have,
		    (long long)run->total);
	return log_fmt("%llu bytes", (unsigned long long)have);
}

/* ---- progress ---------------------------------------------------------- */

/* N with an SI prefix, e.g. "1.5GB": at most 3 digits, so it scales. */
static void
fetch_humanize(char *buf, size_t size, uint64_t n, const char *suffix)
{
	size_t len = strlen(suffix) + 5;

	humanize_number(buf, len < size ? len : size, (int64_t)n, suffix,
	    HN_AUTOSCALE, HN_DECIMAL | HN_NOSPACE | HN_DIVISOR_1000);
}

/* One progress line: bytes, percent, rate and ETA when the size is known. */
static void
fetch_progress_print(struct fetch_run *run, bool last)
{
	uint64_t have = run->resume_from + run->received, ms, rate, eta;
	char got[16], all[16], speed[16], line[256];
	int n;

	ms = loop_now() - run->started;
	rate = run->received * 1000 / (ms ? ms : 1);
	fetch_humanize(got, sizeof got, have, "B");
	fetch_humanize(speed, sizeof speed, rate, "B/s");
	if (run->total > 0) {
		fetch_humanize(all, sizeof all, (uint64_t)run->total, "B");
		n = snprintf(line, sizeof line, "%s: %s of %s (%d%%), %s",
		    run->shown, got, all, (int)(have * 100 /
		    (uint64_t)run->total), speed);
		if (!last && rate > 0 && (uint64_t)run->total > have) {
			eta = ((uint64_t)run->total - have) / rate;
			snprintf(line + n, sizeof line - (size_t)n,
			    ", ETA %llu:%02llu:%02llu",
			    (unsigned long long)(eta / 3600),
			    (unsigned long long)(eta / 60 % 60),
			    (unsigned long long)(eta % 60));
		} else if (last)
			snprintf(line + n, sizeof line - (size_t)n,
			    " in %llu.%01llu s", (unsigned long long)(ms / 1000),
			    (unsigned long long)(ms % 1000 / 100));
	} else
		snprintf(line, sizeof line, "%s: %s, %s%s", run->shown, got,
		    speed, last ? "" : " (size unknown)");
	if (run->progress_tty)
		dprintf(STDERR_FILENO, "\rsockt: %s\033[K%s", line,
		    last ? "\n" : "");
	else
		dprintf(STDERR_FILENO, "sockt: %s\n", line);
}

static void
fetch_progress_tick(struct loop *p, void *arg)
{
	struct fetch_run *run = arg;

	fetch_progress_print(run, false);
	loop_timer_arm(p, &run->progress, loop_now() +
	    (run->progress_tty ? 250 : 1000));
}

/* The last progress line, once the body has stopped moving. */
static void
fetch_progress_end(struct fetch_run *run)
{
	if (!run->show_progress || run->started == 0)
		return;
	loop_timer_disarm(run->loop, &run->progress);
	fetch_progress_print(run, true);
	run->started = 0;
}

/* ---- the idle timeout (-i) --------------------------------------------- */

/* -i: fail when nothing arrived for that long. */
static void
fetch_idle_fire(struct loop *p, void *arg)
{
	struct fetch_run *run = arg;
	uint64_t deadline = run->active + (uint64_t)run->o->idle_ms;

	if (loop_now() < deadline) {
		loop_timer_arm(p, &run->idle, deadline);
		return;
	}
	fetch_fail(run, log_fmt("%s: no data for %d.%03d s (-i)", run->what,
	    run->o->idle_ms / 1000, run->o->idle_ms % 1000));
}

/* ---- hashing ----------------------------------------------------------- */

/*
 * Feed N body bytes to the hash: in this process, or down the child's
 * pipe.  A child following the .part reads it itself (fetch_hash_grown).
 */
static int
fetch_hash(struct fetch_run *run, const char *p, size_t n)
{
	ssize_t w;

	if (!run->hashing || (run->use_child && run->child.follow))
		return 0;
	if (!run->use_child) {
		digest_update(run->ctx, p, n);
		return 0;
	}
	while (n > 0) {
		w = write(run->child.fd, p, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			fetch_fail(run, log_fmt("hashing process: %s",
			    strerror(errno)));
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The .part has grown: tell a child that follows it. */
static int
fetch_hash_grown(struct fetch_run *run)
{
	char *err = NULL;

	if (!run->hashing || !run->use_child || !run->child.follow)
		return 0;
	if (digest_child_grown(&run->child, run->resume_from + run->received,
	    &err) == -1) {
		fetch_fail(run, err);
		return -1;
	}
	return 0;
}

/* Hash the bytes already in .part, in this process. */
static int
fetch_hash_prefix(struct fetch_run *run)
{
	uint64_t off = 0;
	size_t want;
	ssize_t n;

	while (off < run->resume_from) {
		want = FETCH_BUF;
		if (want > run->resume_from - off)
			want = (size_t)(run->resume_from - off);
		n = pread(run->out, run->buf, want, (off_t)off);
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			fetch_fail(run, log_fmt("%s: read: %s", run->shown_part,
			    n == 0 ? "file shrank" : strerror(errno)));
			return -1;
		}
		digest_update(run->ctx, run->buf, (size_t)n);
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * Start hashing if there is a digest to check: in a child when large
 * (one that reads the .part as it grows, or the stream for stdout).
 */
static int
fetch_hash_start(struct fetch_run *run)
{
	char *err = NULL;

	run->hashing = run->have_server || run->have_user;
	if (!run->hashing)
		return 0;
	run->use_child = !run->chunked && (run->total < 0 ||
	    run->total >= FETCH_CHILD_MIN);
	if (run->use_child) {
		if (digest_child_start(&run->child, run->to_stdout ? -1 :
		    run->out, run->resume_from, !run->to_stdout, &err) == 0)
			return 0;
		log_info(1, "%s; hashing here instead", err);
		free(err);
		run->use_child = false;
	}
	run->ctx = digest_new();
	return fetch_hash_prefix(run);
}

/* ---- output ------------------------------------------------------------ */

/*
 * A failed write to the output: standard output closed by its reader
 * ends sockt as SIGPIPE would; anything else is an error.
 */
static void
fetch_write_error(struct fetch_run *run, int e)
{
	if (e == EPIPE && run->to_stdout) {
		run->die_sigpipe = true;
		run->status = 1;
		loop_stop(run->loop, 1);
		return;
	}
	fetch_fail(run, log_fmt("%s: write: %s", run->to_stdout ? "stdout" :
	    run->shown_part, strerror(e)));
}

/*
 * Write N bytes to the output.  Standard output is used as inherited; if
 * someone left it non-blocking, wait for it rather than lose data.
 */
static int
fetch_output(struct fetch_run *run, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(run->out, p, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && sock_wait(run->out, POLLOUT, -1) >=
			    0)
				continue;
			fetch_write_error(run, errno);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Hash and write N body bytes. */
static int
fetch_deliver(struct fetch_run *run, const char *p, size_t n)
{
	if (fetch_hash(run, p, n) == -1 || fetch_output(run, p, n) == -1)
		return -1;
	run->received += n;
	return fetch_hash_grown(run);
}

/* The body is complete. */
static void
fetch_body_done(struct fetch_run *run)
{
	run->complete = true;
	loop_forget(run->loop, run->sock);
	loop_stop(run->loop, 0);
}

/* Body bytes in memory (after the head, or read on the copy path). */
static int
fetch_body_bytes(struct fetch_run *run, const char *p, size_t n)
{
	enum http_chunk_step s;
	size_t used, off, len;

	if (!run->chunked) {
		if (run->left >= 0 && (int64_t)n > run->left)
			n = (size_t)run->left;	/* ignore anything extra */
		if (fetch_deliver(run, p, n) == -1)
			return -1;
		if (run->left >= 0) {
			run->left -= (int64_t)n;
			if (run->left == 0)
				fetch_body_done(run);
		}
		return 0;
	}
	while (n > 0 && !run->complete) {
		s = http_chunked_step(&run->ch, p, n, &used, &off, &len);
		if (s == HTTP_CHUNK_BAD) {
			fetch_fail(run, log_fmt("%s: malformed chunked body "
			    "after %llu bytes", run->what,
			    (unsigned long long)run->received));
			return -1;
		}
		if (s == HTTP_CHUNK_DATA && fetch_deliver(run, p + off, len) ==
		    -1)
			return -1;
		if (s == HTTP_CHUNK_END)
			fetch_body_done(run);
		p += used;
		n -= used;
	}
	return 0;
}

/*
 * Move the N bytes the pipe holds to the output, through the hashing
 * child's pipe first when hashing (tee() shares the pages, it copies
 * nothing).  An output splice() cannot write (a file opened O_APPEND) is
 * noticed here and written by copying from then on.
 */
static int
fetch_drain_pipe(struct fetch_run *run, size_t n)
{
	ssize_t t, m;
	size_t chunk;

	while (n > 0) {
		chunk = n;
		if (run->hashing && !run->child.follow) {
			t = tee(run->zpipe[0], run->child.fd, n, 0);
			if (t == -1) {
				if (errno == EINTR)
					continue;
				fetch_fail(run, log_fmt("hashing process: %s",
				    strerror(errno)));
				return -1;
			}
			chunk = (size_t)t;
		}
		while (chunk > 0) {
			if (run->out_splice)
				m = splice(run->zpipe[0], NULL, run->out, NULL,
				    chunk, SPLICE_F_MOVE);
			else {
				m = read(run->zpipe[0], run->buf, chunk <
				    FETCH_BUF ? chunk : FETCH_BUF);
				if (m > 0 && fetch_output(run, run->buf,
				    (size_t)m) == -1)
					return -1;
			}
			if (m == -1 && errno == EINTR)
				continue;
			if (m == -1 && errno == EAGAIN && run->to_stdout &&
			    sock_wait(run->out, POLLOUT, -1) >= 0)
				continue;
			if (m == -1 && errno == EINVAL && run->out_splice) {
				run->out_splice = false;
				continue;
			}
			if (m <= 0) {
				fetch_write_error(run, m == 0 ? EIO : errno);
				return -1;
			}
			chunk -= (size_t)m;
			n -= (size_t)m;
		}
	}
	return 0;
}

/* The connection ended early: say how far it got. */
static void
fetch_lost(struct fetch_run *run, int e)
{
	char *count = fetch_count(run), *kept = NULL;

	if (run->keep_part && (!run->part_created || run->resume_from +
	    run->received > 0))
		kept = log_fmt("; %s kept%s", run->shown_part, run->o->raw ? "" :
		    " for resuming");
	fetch_fail(run, log_fmt("%s: %s after %s%s", run->what, e ?
	    strerror(e) : "connection closed", count, kept ? kept : ""));
	free(count);
	free(kept);
}

/* Socket readable, splice path. */
static void
fetch_splice_body(struct fetch_run *run)
{
	ssize_t n;
	size_t want;
	int rounds;

	for (rounds = 0; rounds < 16 && !run->complete; rounds++) {
		want = FETCH_SPLICE;
		if (run->left >= 0 && (uint64_t)run->left < want)
			want = (size_t)run->left;
		n = splice(run->sock, NULL, run->zpipe[1], NULL, want,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1) {
			fetch_lost(run, errno);
			return;
		}
		if (n == 0) {
			if (run->left < 0)
				fetch_body_done(run);
			else
				fetch_lost(run, 0);
			return;
		}
		run->active = loop_now();
		if (fetch_drain_pipe(run, (size_t)n) == -1)
			return;
		run->received += (uint64_t)n;
		if (fetch_hash_grown(run) == -1)
			return;
		if (run->left >= 0) {
			run->left -= n;
			if (run->left == 0) {
				fetch_body_done(run);
				return;
			}
		}
		if (!run->out_splice)
			return;	/* the copy path reads from now on */
	}
}

/* Socket readable, copy path. */
static void
fetch_copy_body(struct fetch_run *run)
{
	ssize_t n;
	int rounds;

	for (rounds = 0; rounds < 16 && !run->complete; rounds++) {
		n = recv(run->sock, run->buf, FETCH_BUF, MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == 0 && run->left < 0 && !run->chunked) {
			fetch_body_done(run);
			return;
		}
		if (n <= 0) {
			fetch_lost(run, n == 0 ? 0 : errno);
			return;
		}
		run->active = loop_now();
		if (fetch_body_bytes(run, run->buf, (size_t)n) == -1)
			return;
	}
}

/* ---- the response head ------------------------------------------------- */

/* Open NAME.part (creating it), lock it, and decide what it keeps. */
static int
fetch_open_part(struct fetch_run *run, bool may_resume)
{
	struct stat st;
	char buf[256];
	ssize_t n;

	bool created = false;
	int tries;

	/* Know whether this run created it: only then may it remove it. */
	for (tries = 0; tries < 10; tries++) {
		run->out = open(run->part, O_RDWR | O_CLOEXEC | O_NOFOLLOW |
		    O_NOCTTY);
		if (run->out != -1 || errno != ENOENT)
			break;
		run->out = open(run->part, O_RDWR | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0666);
		if (run->out != -1 || errno != EEXIST) {
			created = run->out != -1;
			break;
		}
	}
	if (run->out == -1) {
		fetch_fail_errno(run, run->shown_part, errno);
		return -1;
	}
	if (flock(run->out, LOCK_EX | LOCK_NB) == -1) {
		fetch_fail(run, log_fmt("%s: %s", run->shown_part, errno ==
		    EWOULDBLOCK ? "another fetch is writing it" :
		    strerror(errno)));
		return -1;
	}
	run->part_created = created;
	if (fstat(run->out, &st) == -1 || !S_ISREG(st.st_mode)) {
		fetch_fail(run, log_fmt("%s: not a regular file",
		    run->shown_part));
		return -1;
	}
	/* Old bytes not resumed go only when a body replaces them. */
	run->resume_from = may_resume ? (uint64_t)st.st_size : 0;
	run->part_stale = run->resume_from == 0 && st.st_size > 0;
	if (run->resume_from > 0) {
		n = fgetxattr(run->out, FETCH_XATTR, buf, sizeof buf - 1);
		if (n > 0) {
			buf[n] = '\0';
			run->validator = strdup(buf);
		}
	}
	run->keep_part = true;
	return 0;
}

/*
 * Restart the .part from byte 0 (the server sent the whole file); it is
 * emptied when the body begins, so a failure before keeps it as it was.
 */
static void
fetch_restart_part(struct fetch_run *run)
{
	log_info(1, "%s: the server sent the whole file; starting over",
	    run->shown);
	run->resume_from = 0;
	run->part_stale = true;
}

/* The body begins: empty a .part whose old bytes are not resumed. */
static int
fetch_start_part(struct fetch_run *run)
{
	if (run->to_stdout || !run->part_stale)
		return 0;
	if (ftruncate(run->out, 0) == -1 || lseek(run->out, 0, SEEK_SET) ==
	    -1) {
		fetch_fail_errno(run, run->shown_part, errno);
		return -1;
	}
	run->part_stale = false;
	return 0;
}

/*
 * The fetch failed: a .part this run created and never wrote to goes
 * (a 404, a redirect, a refused connection leave nothing behind), but
 * only while the name is still that file.  An earlier .part stays.
 */
static void
fetch_drop_empty_part(struct fetch_run *run)
{
	struct stat st, lst;

	if (run->to_stdout || !run->part_created || run->out == -1)
		return;
	if (fstat(run->out, &st) == 0 && st.st_size == 0 &&
	    lstat(run->part, &lst) == 0 && lst.st_dev == st.st_dev &&
	    lst.st_ino == st.st_ino)
		unlink(run->part);
}

/* Remember the server's validator on .part, so a resume sends If-Range. */
static void
fetch_save_validator(struct fetch_run *run)
{
	const struct http_response *r = &run->res;
	char *v = NULL;

	if (run->to_stdout)
		return;
	if (r->etag.len > 2 && r->etag.p[0] == '"')
		v = strndup(r->etag.p, r->etag.len);
	else if (r->last_modified.len > 0)
		v = strndup(r->last_modified.p, r->last_modified.len);
	if (v != NULL)
		fsetxattr(run->out, FETCH_XATTR, v, strlen(v), 0);
	else
		fremovexattr(run->out, FETCH_XATTR);
	free(v);
}

/* What a file that is not regular is, for messages. */
static const char *
fetch_file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "a special file";
}

/*
 * Fail because of what is at NAME (ST is its lstat()): nothing is
 * replaced without --force, and nothing but a regular file even with it
 * (a FIFO, a device, a directory or a symbolic link stays as it is).
 * KEPT, if not NULL, ends the message.
 */
static void
fetch_refuse_existing(struct fetch_run *run, const struct stat *st,
    const char *kept)
{
	if (!S_ISREG(st->st_mode))
		fetch_fail(run, log_fmt("%s: is %s; --force replaces regular "
		    "files only%s", run->shown, fetch_file_kind(st->st_mode),
		    kept ? kept : ""));
	else
		fetch_fail(run, log_fmt("%s: already exists (--force "
		    "overwrites it)%s", run->shown, kept ? kept : ""));
}

/*
 * NAME and NAME.part under -o DIR (or here); fails when NAME exists and
 * may not be replaced.
 */
static int
fetch_set_name(struct fetch_run *run, const char *name)
{
	struct stat st;

	free(run->final);
	free(run->part);
	run->final = run->dir ? log_fmt("%s/%s", run->dir, name) :
	    strdup(name);
	run->part = log_fmt("%s.part", run->final);
	free(run->shown);
	free(run->shown_part);
	run->shown = fetch_escape(run->final);
	run->shown_part = fetch_escape(run->part);
	if (lstat(run->final, &st) == 0 && (!run->o->force ||
	    !S_ISREG(st.st_mode))) {
		fetch_refuse_existing(run, &st, NULL);
		return -1;
	}
	return 0;
}

/* What the status line means for us; -1 when the fetch cannot go on. */
static int
fetch_check_status(struct fetch_run *run)
{
	const struct http_response *r = &run->res;
	char reason[LOG_ESCAPE_MAX], loc[LOG_ESCAPE_MAX], *where;

	if (r->status == 200) {
		if (run->resume_from > 0)
			fetch_restart_part(run);
		run->total = r->content_length;
		return 0;
	}
	if (r->status == 206) {
		if (!r->has_content_range || r->range_first < 0 ||
		    (uint64_t)r->range_first != run->resume_from) {
			fetch_fail(run, log_fmt("%s: asked for bytes %llu- but "
			    "the server sent another range", run->what,
			    (unsigned long long)run->resume_from));
			return -1;
		}
		run->total = r->range_total;
		if (r->content_length < 0 && !r->chunked)
			run->left = r->range_last - r->range_first + 1;
		return 0;
	}
	if (r->status == 416 && run->resume_from > 0 && r->has_content_range &&
	    r->range_total >= 0) {
		if ((uint64_t)r->range_total == run->resume_from) {
			log_info(1, "%s: already complete", run->shown_part);
			run->total = r->range_total;
			return 1;
		}
		fetch_fail(run, log_fmt("%s: longer than the file on the "
		    "server (%llu > %lld bytes); remove it or use --no-resume",
		    run->shown_part, (unsigned long long)run->resume_from,
		    (long long)r->range_total));
		return -1;
	}
	where = r->location.len > 0 ? log_fmt(" (Location: %s)",
	    log_escape(r->location.p, r->location.len, loc, sizeof loc)) :
	    strdup("");
	fetch_fail(run, log_fmt("%s: %d %s%s", run->what, r->status,
	    log_escape(r->reason.p, r->reason.len, reason, sizeof reason),
	    where ? where : ""));
	free(where);
	return -1;
}

/* Which digests will be checked: the server's and --sha256. */
static int
fetch_check_digests(struct fetch_run *run)
{
	char a[DIGEST_HEX_LEN], b[DIGEST_HEX_LEN], esc[LOG_ESCAPE_MAX];
	int r;

	if (run->res.repr_digest.len == 0)
		return 0;
	r = http_repr_digest_sha256(run->res.repr_digest, run->server_digest);
	if (r == -1) {
		fetch_fail(run, log_fmt("%s: malformed Repr-Digest from the "
		    "server: %s", run->what, log_escape(run->res.repr_digest.p,
		    run->res.repr_digest.len, esc, sizeof esc)));
		return -1;
	}
	if (r == 0) {
		log_info(1, "%s: Repr-Digest has no sha-256", run->what);
		return 0;
	}
	run->have_server = true;
	if (run->have_user && memcmp(run->server_digest, run->user_digest,
	    DIGEST_LEN) != 0) {
		digest_hex(run->server_digest, a);
		digest_hex(run->user_digest, b);
		fetch_fail(run, log_fmt("%s: the server's SHA-256 %s is not "
		    "--sha256 %s", run->what, a, b));
		return -1;
	}
	return 0;
}

/* The head is in: check it, prepare the output and the data path. */
static int
fetch_head_done(struct fetch_run *run, size_t headlen)
{
	const struct http_response *r = &run->res;
	char esc[LOG_ESCAPE_MAX], *name;
	int st;

	if (r->transfer_encoding.len > 0) {
		fetch_fail(run, log_fmt("%s: unsupported Transfer-Encoding "
		    "'%s'", run->what, log_escape(r->transfer_encoding.p,
		    r->transfer_encoding.len, esc, sizeof esc)));
		return -1;
	}
	run->chunked = r->chunked;
	http_chunked_init(&run->ch);
	run->left = run->chunked ? -1 : r->content_length;
	st = fetch_check_status(run);
	if (st == -1 || fetch_check_digests(run) == -1)
		return -1;
	if (run->final == NULL && !run->to_stdout) {
		/* No name in the URL: the server's Content-Disposition. */
		name = http_disposition_name(r->content_disposition);
		if (name == NULL) {
			fetch_fail(run, log_fmt("%s: no file name in the URL "
			    "or from the server; use -o FILE", run->what));
			return -1;
		}
		if (fetch_set_name(run, name) == -1 ||
		    fetch_open_part(run, false) == -1) {
			free(name);
			return -1;
		}
		free(name);
	}
	if (fetch_start_part(run) == -1)
		return -1;
	if (!run->to_stdout)
		fetch_save_validator(run);
	if (run->total < 0 && run->left >= 0)
		run->total = (int64_t)run->resume_from + run->left;
	if (fetch_hash_start(run) == -1)
		return -1;
	if (st == 1 || run->left == 0) {
		fetch_body_done(run);
		return 0;
	}
	if (run->out_splice && !run->chunked && (!run->hashing ||
	    run->use_child)) {
		if (pipe2(run->zpipe, O_CLOEXEC) == -1) {
			run->zpipe[0] = run->zpipe[1] = -1;
			run->out_splice = false;
		} else
			fcntl(run->zpipe[1], F_SETPIPE_SZ, FETCH_PIPE);
	} else
		run->out_splice = false;
	if (run->show_progress) {
		run->started = loop_now();
		loop_timer_arm(run->loop, &run->progress, run->started +
		    (run->progress_tty ? 250 : 1000));
	}
	run->state = FETCH_BODY;
	if (run->headlen > headlen)
		return fetch_body_bytes(run, run->head + headlen,
		    run->headlen - headlen);
	return 0;
}

/* Read the response head (1xx heads are skipped), then act on it. */
static void
fetch_read_head(struct fetch_run *run)
{
	char esc[LOG_ESCAPE_MAX];
	ssize_t n, h;

	n = recv(run->sock, run->head + run->headlen, HTTP_MAX_RESPONSE_HEAD -
	    run->headlen, MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		fetch_fail(run, log_fmt("%s: %s before a response", run->what,
		    n == 0 ? "connection closed" : strerror(errno)));
		return;
	}
	run->active = loop_now();
	run->headlen += (size_t)n;
	for (;;) {
		h = http_parse_response(run->head, run->headlen, &run->res);
		if (h == 0)
			return;
		if (h < 0) {
			fetch_fail(run, log_fmt("%s: malformed response "
			    "head", run->what));
			return;
		}
		if (run->res.status >= 200)
			break;
		/* 1xx: an interim response, the real one follows */
		memmove(run->head, run->head + h, run->headlen - (size_t)h);
		run->headlen -= (size_t)h;
	}
	log_info(2, "%s: %d %s", run->what, run->res.status,
	    log_escape(run->res.reason.p, run->res.reason.len, esc,
	    sizeof esc));
	fetch_head_done(run, (size_t)h);
}

static void
fetch_sock_read(struct loop *p, int fd, void *arg)
{
	struct fetch_run *run = arg;

	(void)p;
	(void)fd;
	if (run->state == FETCH_HEAD)
		fetch_read_head(run);
	else if (run->out_splice)
		fetch_splice_body(run);
	else
		fetch_copy_body(run);
}

/* Send the request, then read the response. */
static void
fetch_sock_write(struct loop *p, int fd, void *arg)
{
	struct fetch_run *run = arg;
	ssize_t n;

	while (run->reqoff < run->reqlen) {
		n = send(fd, run->req + run->reqoff, run->reqlen - run->reqoff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			fetch_fail(run, log_fmt("%s: %s", run->what,
			    strerror(errno)));
			return;
		}
		run->reqoff += (size_t)n;
	}
	loop_cancel_write(p, fd);
	run->state = FETCH_HEAD;
	loop_want_read(p, fd, fetch_sock_read, run);
}

/* ---- arguments --------------------------------------------------------- */

/* Host header value: HOST:PORT, IPv6 in brackets. */
static char *
fetch_authority(const char *host, const char *port)
{
	if (strchr(host, ':') != NULL)
		return log_fmt("[%s]:%s", host, port);
	return log_fmt("%s:%s", host, port);
}

/*
 * URL, HOST PORT [PATH], or HOST:PORT [PATH].  A PATH is a plain file
 * path (percent-encoded here); a URL's path is used as written.
 */
static int
fetch_parse_args(struct fetch_run *run, char **errp)
{
	struct sockt_opts *o = run->o;
	struct addr_endpoint ep;
	struct http_url u;
	const char *path = NULL;
	uint16_t port;
	char *e2 = NULL, *url;
	int r, used;

	if (o->argc == 0) {
		*errp = log_fmt("missing URL or HOST PORT");
		return -1;
	}
	r = http_parse_url(o->argv[0], &u, errp);
	if (r == -1)
		return -1;
	if (r == 0) {
		if (o->argc > 1) {
			*errp = log_fmt("too many arguments: '%s'", o->argv[1]);
			http_url_free(&u);
			return -1;
		}
		if (o->raw && strcmp(u.target, "/") != 0) {
			*errp = log_fmt("--raw takes no PATH");
			http_url_free(&u);
			return -1;
		}
		run->host = u.host;
		run->port = u.port;
		run->target = u.target;
		run->authority = u.authority;
		run->what = fetch_escape(o->argv[0]);
		if (addr_parse_port(run->port, "tcp", &port, errp) == -1)
			return -1;
		return 0;
	}
	/* HOST PORT [PATH] or HOST:PORT [PATH] */
	used = 2;
	if (o->argc == 1 || (addr_parse_port(o->argv[1], "tcp", &port, &e2) ==
	    -1 && strchr(o->argv[0], ':') != NULL))
		used = 1;
	free(e2);
	if (addr_parse_endpoint(used, o->argv, ADDR_CONNECT, NULL, &ep,
	    errp) == -1)
		return -1;
	if (o->argc > used + 1) {
		*errp = log_fmt("too many arguments: '%s'", o->argv[used + 1]);
		addr_endpoint_free(&ep);
		return -1;
	}
	if (o->argc == used + 1)
		path = o->argv[used];
	if (path != NULL && o->raw) {
		*errp = log_fmt("--raw takes no PATH");
		addr_endpoint_free(&ep);
		return -1;
	}
	if (addr_parse_port(ep.port, "tcp", &port, errp) == -1) {
		addr_endpoint_free(&ep);
		return -1;
	}
	run->host = ep.host;
	run->port = ep.port;
	if (path == NULL)
		path = "/";
	{
		char *enc = http_encode_path(path, strlen(path), true);

		run->target = log_fmt("%s%s", enc[0] == '/' ? "" : "/", enc);
		free(enc);
	}
	run->authority = fetch_authority(run->host, run->port);
	if (o->raw)
		run->what = fetch_escape(run->authority);
	else {
		url = log_fmt("http://%s%s", run->authority, run->target);
		run->what = fetch_escape(url);
		free(url);
	}
	return 0;
}

/* Decide where the bytes go: stdout, -o FILE, -o DIR/NAME or ./NAME. */
static int
fetch_plan_output(struct fetch_run *run, char **errp, bool *usage)
{
	struct sockt_opts *o = run->o;
	struct stat st;
	char *name;

	*usage = false;
	if (o->output != NULL && strcmp(o->output, "-") == 0) {
		if (o->stdout_closed) {
			/* main put /dev/null there: the bytes would vanish */
			fetch_fail(run, log_fmt("stdout is closed (-o - has "
			    "nowhere to write)"));
			return -1;
		}
		run->to_stdout = true;
		run->shown = strdup("stdout");
		run->out = STDOUT_FILENO;
		run->out_splice = fstat(STDOUT_FILENO, &st) == 0 &&
		    (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode));
		return 0;
	}
	if (o->output != NULL && stat(o->output, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		run->dir = strdup(o->output);
	else if (o->output != NULL) {
		if (fetch_set_name(run, o->output) == -1)
			return -1;
		run->out_splice = true;
		return fetch_open_part(run, !o->no_resume && !o->raw);
	}
	run->out_splice = true;
	if (o->raw) {
		*usage = true;
		*errp = log_fmt("--raw needs -o FILE or -o - (a raw stream "
		    "has no name)");
		return -1;
	}
	name = http_target_name(run->target);
	if (name == NULL)
		return 0;	/* the server may name it */
	if (fetch_set_name(run, name) == -1) {
		free(name);
		return -1;
	}
	free(name);
	return fetch_open_part(run, !o->no_resume);
}

/* ---- connecting -------------------------------------------------------- */

/* Connect (blocking, with -w) from -s/-p if given; fails the run. */
static int
fetch_connect(struct fetch_run *run)
{
	struct sockt_opts *o = run->o;
	struct addrinfo *res = NULL, *src = NULL;
	uint16_t sport;
	char *err = NULL;
	int flags = o->numeric ? AI_NUMERICHOST : 0;

	if (addr_resolve(run->host, run->port, o->family, SOCK_STREAM, flags,
	    &res, &err) == -1)
		goto fail;
	if ((o->source != NULL || o->port != NULL) && ((o->port != NULL &&
	    addr_parse_port(o->port, "tcp", &sport, &err) == -1) ||
	    addr_resolve(o->source, o->port ? o->port : "0", o->family,
	    SOCK_STREAM, AI_PASSIVE | flags, &src, &err) == -1))
		goto fail;
	run->sock = sock_connect_timeout(res, src, SOCK_STREAM, o->timeout_ms,
	    &err);
	if (run->sock == -1)
		goto fail;
	freeaddrinfo(res);
	if (src != NULL)
		freeaddrinfo(src);
	log_info(1, "connected to %s", run->authority);
	return 0;
fail:
	if (res != NULL)
		freeaddrinfo(res);
	if (src != NULL)
		freeaddrinfo(src);
	fetch_fail(run, err);
	return -1;
}

/* The GET request, with Range and If-Range when resuming. */
static void
fetch_build_request(struct fetch_run *run)
{
	char *range = NULL;

	if (run->resume_from > 0) {
		if (run->validator != NULL)
			range = log_fmt("Range: bytes=%llu-\r\nIf-Range: %s\r\n",
			    (unsigned long long)run->resume_from,
			    run->validator);
		else
			range = log_fmt("Range: bytes=%llu-\r\n",
			    (unsigned long long)run->resume_from);
		log_info(1, "%s: resuming after %llu bytes", run->shown_part,
		    (unsigned long long)run->resume_from);
	}
	run->req = log_fmt("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: "
	    "sockt/%s\r\nAccept: */*\r\nWant-Repr-Digest: sha-256=10\r\n"
	    "%sConnection: close\r\n\r\n", run->target, run->authority,
	    PACKAGE_VERSION, range ? range : "");
	run->reqlen = strlen(run->req);
	free(range);
}

/* ---- the end ----------------------------------------------------------- */

/* Digest, length, fsync, rename: only a verified file gets its name. */
static int
fetch_publish(struct fetch_run *run)
{
	unsigned char got[DIGEST_LEN];
	char a[DIGEST_HEX_LEN], b[DIGEST_HEX_LEN], *dir, *copy, *kept;
	struct stat st;
	char *err = NULL;
	int dfd;

	if (run->hashing) {
		if (run->use_child) {
			if (digest_child_finish(&run->child, got, &err) == -1) {
				fetch_fail(run, err);
				return -1;
			}
		} else
			digest_final(run->ctx, got);
		if ((run->have_server && memcmp(got, run->server_digest,
		    DIGEST_LEN) != 0) || (run->have_user &&
		    memcmp(got, run->user_digest, DIGEST_LEN) != 0)) {
			digest_hex(got, a);
			digest_hex(run->have_user ? run->user_digest :
			    run->server_digest, b);
			if (!run->to_stdout)
				unlink(run->part);
			fetch_fail(run, log_fmt("%s: SHA-256 mismatch: got %s, "
			    "expected %s (%s)%s", run->shown, a, b,
			    run->have_user ? "--sha256" : "Repr-Digest",
			    run->to_stdout ? "" : "; removed the .part"));
			return -1;
		}
		log_info(1, "%s: SHA-256 verified", run->shown);
	}
	if (run->to_stdout)
		return 0;
	if (fstat(run->out, &st) == -1) {
		fetch_fail_errno(run, run->shown_part, errno);
		return -1;
	}
	if (run->total >= 0 && st.st_size != run->total) {
		fetch_fail(run, log_fmt("%s: %lld bytes, expected %lld",
		    run->shown_part, (long long)st.st_size, (long long)run->total));
		return -1;
	}
	if (fsync(run->out) == -1) {
		fetch_fail(run, log_fmt("%s: fsync: %s", run->shown_part,
		    strerror(errno)));
		return -1;
	}
	fremovexattr(run->out, FETCH_XATTR);
	/*
	 * Never over anything created meanwhile; with --force over a
	 * regular file only (checked just before, so only a file swapped
	 * in that instant can slip through).
	 */
	if (renameat2(AT_FDCWD, run->part, AT_FDCWD, run->final,
	    RENAME_NOREPLACE) == -1) {
		if (errno != EINVAL && errno != EEXIST)
			goto fail;
		if (lstat(run->final, &st) == 0) {
			if (!run->o->force || !S_ISREG(st.st_mode)) {
				kept = log_fmt("; the download is in %s",
				    run->shown_part);
				fetch_refuse_existing(run, &st, kept);
				free(kept);
				return -1;
			}
		} else if (errno != ENOENT)
			goto fail;
		if (rename(run->part, run->final) == -1)
			goto fail;
	}
	copy = strdup(run->final);
	dir = copy ? dirname(copy) : ".";
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd != -1) {
		fsync(dfd);
		close(dfd);
	}
	free(copy);
	return 0;
fail:
	fetch_fail(run, log_fmt("rename %s: %s", run->shown_part,
	    strerror(errno)));
	return -1;
}

/* Release everything RUN holds (the .part itself stays). */
static void
fetch_cleanup(struct fetch_run *run)
{
	if (run->child.pid > 0)
		digest_child_abort(&run->child);
	digest_free(run->ctx);
	if (run->sock != -1) {
		if (run->loop != NULL)
			loop_forget(run->loop, run->sock);
		close(run->sock);
	}
	if (run->zpipe[0] != -1) {
		close(run->zpipe[0]);
		close(run->zpipe[1]);
	}
	if (!run->to_stdout && run->out != -1)
		close(run->out);
	if (run->loop != NULL) {
		loop_timer_disarm(run->loop, &run->idle);
		loop_timer_disarm(run->loop, &run->progress);
	}
	free(run->host);
	free(run->port);
	free(run->target);
	free(run->authority);
	free(run->what);
	free(run->dir);
	free(run->final);
	free(run->part);
	free(run->shown);
	free(run->shown_part);
	free(run->validator);
	free(run->req);
	free(run->head);
	free(run->buf);
	free(run->err);
}

/*
 * Plan the output, connect, run the exchange on the pump, then verify
 * and publish.  Returns the exit status.
 */
static int
cmd_fetch_file_exec(struct sockt_opts *o)
{
	struct fetch_run run;
	char *err = NULL;
	uint16_t sport;
	bool usage;
	int sig, status;

	memset(&run, 0, sizeof run);
	run.o = o;
	run.sock = run.out = -1;
	run.zpipe[0] = run.zpipe[1] = -1;
	run.child.pid = -1;
	run.total = -1;
	run.left = -1;
	if (o->sha256 != NULL) {
		if (digest_parse_hex(o->sha256, run.user_digest) == -1)
			return cmd_usage_error(o, log_fmt("bad --sha256 '%s': "
			    "expected 64 hex digits", o->sha256));
		run.have_user = true;
	}
	if (fetch_parse_args(&run, &err) == -1 || (o->port != NULL &&
	    addr_parse_port(o->port, "tcp", &sport, &err) == -1)) {
		fetch_cleanup(&run);
		return cmd_usage_error(o, err);
	}
	run.loop = loop_new();
	if (run.loop == NULL) {
		fetch_cleanup(&run);
		return cmd_fail(log_fmt("loop: %s", strerror(errno)));
	}
	run.buf = malloc(FETCH_BUF);
	run.head = malloc(HTTP_MAX_RESPONSE_HEAD);
	if (run.buf == NULL || run.head == NULL) {
		log_error("out of memory");
		abort();
	}
	loop_timer_init(&run.idle, fetch_idle_fire, &run);
	loop_timer_init(&run.progress, fetch_progress_tick, &run);
	run.show_progress = o->progress || isatty(STDERR_FILENO);
	run.progress_tty = isatty(STDERR_FILENO);
	if (fetch_plan_output(&run, &err, &usage) == -1) {
		if (usage) {
			status = cmd_usage_error(o, err);
			loop_free(run.loop);
			run.loop = NULL;
			fetch_cleanup(&run);
			return status;
		}
		goto out;
	}
	if (run.err != NULL || fetch_connect(&run) == -1)
		goto out;
	if (!run.to_stdout && run.out != -1 && lseek(run.out,
	    (off_t)run.resume_from, SEEK_SET) == -1) {
		fetch_fail_errno(&run, run.part, errno);
		goto out;
	}
	if (o->idle_ms > 0) {
		run.active = loop_now();
		loop_timer_arm(run.loop, &run.idle, run.active +
		    (uint64_t)o->idle_ms);
	}
	if (o->raw) {
		/*
		 * No request, and no half-close either: nc takes our FIN
		 * as the end of the whole session and stops sending.
		 */
		run.res.status = 200;
		run.res.content_length = -1;
		run.state = FETCH_HEAD;
		if (fetch_head_done(&run, 0) == 0 && !run.complete)
			loop_want_read(run.loop, run.sock, fetch_sock_read, &run);
	} else {
		fetch_build_request(&run);
		run.state = FETCH_SEND;
		loop_want_write(run.loop, run.sock, fetch_sock_write, &run);
	}
	if (run.err == NULL && !run.complete)
		loop_run(run.loop);
out:
	sig = loop_caught_signal(run.loop);
	if (sig == 0 && run.err == NULL && !run.complete && !run.die_sigpipe)
		fetch_fail(&run, log_fmt("%s: stopped", run.what));
	if (run.complete && run.err == NULL && sig == 0)
		fetch_publish(&run);
	run.status = run.err != NULL || sig != 0 || run.die_sigpipe ? 1 : 0;
	if (run.status != 0)
		fetch_drop_empty_part(&run);
	fetch_progress_end(&run);
	if (run.err != NULL && sig == 0)
		log_error("%s", run.err);
	status = run.status;
	if (run.child.pid > 0)
		digest_child_abort(&run.child);
	loop_free(run.loop);
	run.loop = NULL;
	fetch_cleanup(&run);
	if (run.die_sigpipe)
		sig = SIGPIPE;
	cmd_die_by_signal(sig);
	return status;
}
