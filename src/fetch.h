/*
 * fetch.h - one download of fetch-file on the loop: the HTTP exchange
 * (httpc.c) whose body goes through a relay sink into NAME.part
 * (partfile.c) or stdout, the SHA-256 of the whole file computed as the
 * body arrives and checked against the server's Repr-Digest and
 * --sha256, progress (progress.c), then publishing.
 *
 * cmd-fetch-file.c fills struct fetch (the output planned, the request
 * built) and calls fetch_run(), which returns the exit status with the
 * one error line printed; a caught signal is left in *sig.
 */
#ifndef SOCKT_FETCH_H
#define SOCKT_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "httpc.h"
#include "partfile.h"
#include "progress.h"

struct relay;
struct relay_session;
struct relay_sink;

struct fetch {
	struct loop		*loop;
	bool			 raw;		/* --raw: a stream to EOF */
	bool			 no_resume;

	/* where to */
	bool			 to_stdout;
	char			*dir;		/* -o DIR, or NULL */
	struct partfile		 pf;		/* unless to_stdout */
	bool			 named;		/* pf has its name */

	/* integrity */
	bool			 have_user;
	unsigned char		 user_digest[DIGEST_LEN];
	bool			 have_server;
	unsigned char		 server_digest[DIGEST_LEN];
	struct digest_ctx	*ctx;		/* when checking */

	/* the exchange */
	struct httpc		*hc;
	struct relay		*relay;
	struct relay_session	*rs;
	struct relay_sink	*sink;
	int64_t			 total;		/* whole file, -1: unknown */
	bool			 complete;	/* the body is all in */
	char			*err;		/* the first error */
	bool			 show_progress;
	struct progress		 meter;
};

void	 fetch_init(struct fetch *, struct loop *);
int	 fetch_run(struct fetch *, const struct httpc_spec *,
	     const struct httpc_request *, int *);
void	 fetch_free(struct fetch *);

#endif
