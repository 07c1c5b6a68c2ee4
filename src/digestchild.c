/*
 * digestchild.c - a child process that hashes a stream written to its
 * pipe, or a file as it grows (fetch-file: the hashing runs on another
 * CPU while the body arrives), and hands the digest back.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "log.h"

#define DIGEST_PIPE	(1024 * 1024)

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
