/*
 * udp.h - the run shared by udp-send and udp-recv, on the loop: datagrams
 * from the sockets to stdout, each whole (after its sender with --peer,
 * echoed with --echo), stdin cut into datagrams to the target or to the
 * most recent sender, the -x/-o taps, --count, and the -w, -i and -q
 * timers.  stdout is a relay sink: the sockets are read only while it has
 * room, so a slow reader holds the senders back instead of growing a
 * queue.  The run ends once what was received has reached stdout.
 */
#ifndef SOCKT_UDP_H
#define SOCKT_UDP_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "feed.h"
#include "options.h"

enum udp_role {
	UDP_SENDER,	/* udp-send: one socket; stdin to the target */
	UDP_RECEIVER	/* udp-recv: bound sockets; stdin to the last sender */
};

struct udp_spec {
	enum udp_role		 role;
	const int		*fds;		/* the sockets (at most 8) */
	size_t			 nfds;
	const char		*target;	/* sender: its name in messages */
	const struct sockaddr	*dest;		/* sender, unconnected: to */
	socklen_t		 destlen;	/* 0: the socket is connected */
	bool			 broadcast;	/* --broadcast was given */
	int			 family;	/* the target's, for messages */
	enum feed_split		 split;		/* how stdin is cut */
	size_t			 size;		/* FEED_SIZE: bytes each */
	size_t			 max;		/* the largest datagram */
	long long		 count;		/* datagrams to receive, 0: any */
	int			 first_ms;	/* -w for the first one, -1 */
	int			 idle_ms;	/* -i, 0: none */
	int			 quit_ms;	/* after stdin is sent, -1: never */
	bool			 peer;		/* --peer: "NAME<TAB>" first */
	bool			 echo;		/* --echo */
	const struct addr_acl	*acl;		/* senders admitted, NULL: all */
};

/* How a run ended, for the subcommand to report. */
struct udp_result {
	int		 status;	/* exit status, when SIG is 0 */
	int		 sig;		/* die by this signal, or 0 */
	char		*error;		/* the first error (allocated), or NULL */
	uint64_t	 sent;		/* datagrams and bytes of stdin */
	uint64_t	 sent_bytes;
	uint64_t	 received;	/* datagrams and bytes written out */
	uint64_t	 received_bytes;
};

struct udp;

struct udp	*udp_new(const struct session_spec *, const struct udp_spec *,
		     char **);
void		 udp_run(struct udp *, struct udp_result *);
void		 udp_free(struct udp *);

#endif
