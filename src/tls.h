/*
 * tls.h - TLS through OpenSSL's libssl, behind a narrow interface: the only
 * module that includes OpenSSL's TLS headers.
 *
 * A tls_ctx holds what every connection of one role shares: trust (the
 * system store, --ca, --pin or --insecure), the certificate to present
 * (--cert/--key, or an ephemeral ECDSA P-256 key with a self-signed
 * certificate made at start) and the ALPN list.  A tls_conn is one
 * connection over a non-blocking socket; every call returns at once, and
 * a call that cannot finish says which poll() event it waits for.
 *
 * End of stream (design section 6): tls_close_notify() sends close_notify,
 * after which the caller half-closes the socket; the peer's close_notify
 * reads as end of file (0); a TCP end of file without one is a truncation,
 * reported as -1 with errno EPROTO.
 *
 * Failures return -1 with *errp set to an allocated one-line message that
 * names the problem ("certificate verify failed: self-signed
 * certificate"), without the "sockt: " prefix or the peer's name.
 */
#ifndef SOCKT_TLS_H
#define SOCKT_TLS_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stdbool.h>
#include <stddef.h>

#define TLS_PIN_PREFIX	"sha256//"
#define TLS_PIN_LEN	(sizeof TLS_PIN_PREFIX - 1 + 44)	/* + base64 */

struct tls_config {
	bool		 server;
	const char	*ca;		/* PEM file: trust (client), or
					   client certificates required
					   (server) */
	const char	*cert;		/* PEM chain to present */
	const char	*key;		/* its key (default: in cert) */
	bool		 insecure;	/* client: no verification at all */
	const char	*pin;		/* "sha256//BASE64" of the peer's key */
	const char	*alpn;		/* "h2,http/1.1" */
};

struct tls_ctx;
struct tls_conn;

struct tls_ctx	*tls_ctx_new(const struct tls_config *, char **);
void		 tls_ctx_free(struct tls_ctx *);
const char	*tls_ctx_pin(const struct tls_ctx *);
bool		 tls_ctx_ephemeral(const struct tls_ctx *);
int		 tls_check_pin(const char *, char **);
int		 tls_check_alpn(const char *, char **);

/* What a call that returned -1 with errno EAGAIN waits for. */
enum tls_wait { TLS_WAIT_NONE, TLS_WAIT_READ, TLS_WAIT_WRITE };

struct tls_conn	*tls_conn_new(struct tls_ctx *, int, const char *, char **);
void		 tls_conn_free(struct tls_conn *);
int		 tls_handshake(struct tls_conn *, char **);
enum tls_wait	 tls_waiting(const struct tls_conn *);
ssize_t		 tls_read(struct tls_conn *, void *, size_t);
ssize_t		 tls_writev(struct tls_conn *, const struct iovec *, int);
int		 tls_close_notify(struct tls_conn *);
bool		 tls_pending(const struct tls_conn *);
const char	*tls_error(const struct tls_conn *);
int		 tls_ktls(const struct tls_conn *, bool);
char		*tls_describe(const struct tls_conn *);

#endif
