/*
 * partfile.h - a download's NAME.part: open or resume it (locked, so two
 * fetches never write one file), empty it only once a new body begins,
 * remember the server's validator for If-Range, and publish it: fsync,
 * then rename to NAME, which never replaces anything but a regular file
 * and that only with --force.  A .part this run created and never wrote
 * to is removed when the fetch fails (no body byte, no .part).
 *
 * Failures return -1 with *errp set to an allocated one-line message.
 */
#ifndef SOCKT_PARTFILE_H
#define SOCKT_PARTFILE_H

#include <stdbool.h>
#include <stdint.h>

struct digest_ctx;

struct partfile {
	char		*final;		/* NAME */
	char		*path;		/* NAME.part */
	char		*shown;		/* NAME escaped, for messages */
	char		*shown_part;	/* NAME.part escaped */
	int		 fd;		/* -1: not open */
	bool		 force;		/* --force: may replace a regular NAME */
	bool		 created;	/* by this run: removed while empty */
	bool		 stale;		/* old bytes: emptied once a body comes */
	uint64_t	 resume_from;	/* bytes kept */
	char		*validator;	/* ETag or Last-Modified, for If-Range */
};

void	 partfile_init(struct partfile *, bool);
int	 partfile_name(struct partfile *, const char *, const char *, char **);
int	 partfile_open(struct partfile *, bool, char **);
void	 partfile_restart(struct partfile *);
int	 partfile_begin(struct partfile *, char **);
void	 partfile_save_validator(struct partfile *, const char *, size_t);
int	 partfile_hash_prefix(struct partfile *, struct digest_ctx *, char **);
int	 partfile_commit(struct partfile *, int64_t, char **);
void	 partfile_abandon(struct partfile *);
void	 partfile_remove(struct partfile *);
void	 partfile_free(struct partfile *);
char	*partfile_escape(const char *);

#endif
