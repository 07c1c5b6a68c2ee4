/*
 * tls-int.h - what tls.c and tlscert.c share: the context structure and
 * the helpers that load certificates, keys, pins and ALPN lists into it.
 * Nothing outside the TLS module includes this.
 */
#ifndef SOCKT_TLS_INT_H
#define SOCKT_TLS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "tls.h"

struct tls_ctx {
	SSL_CTX		*ssl;
	bool		 server;
	bool		 insecure;
	bool		 verify_ca;	/* CA verification (else pin or none) */
	bool		 ephemeral;
	char		 own_pin[TLS_PIN_LEN + 1];	/* our key's pin */
	char		 want_pin[TLS_PIN_LEN + 1];	/* --pin, or "" */
	unsigned char	*alpn;		/* wire format: length-prefixed */
	size_t		 alpnlen;
};

const char	*tls_queue_error(const char *);
int		 tls_readable(const char *, const char *, char **);
int		 tls_key_pin(EVP_PKEY *, char *, size_t);
int		 tls_ephemeral(struct tls_ctx *, char **);
int		 tls_load_cert(struct tls_ctx *, const char *, const char *,
		     char **);
int		 tls_load_ca(struct tls_ctx *, const char *, char **);
int		 tls_alpn_wire(struct tls_ctx *, const char *, char **);

#endif
