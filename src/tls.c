/*
 * tls.c - TLS contexts and connections over non-blocking sockets, with
 * verification on by default, --pin key matching inside the handshake,
 * ALPN, and truncation detection (a TCP end of file that no close_notify
 * came before).  With tlscert.c, the only user of OpenSSL's TLS API.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls-int.h"

#define TLS_READ_BUFFER		(64 * 1024)	/* several records per read */

struct tls_conn {
	struct tls_ctx	*ctx;
	SSL		*ssl;
	enum tls_wait	 wait;
	bool		 close_notify;	/* the peer's came */
	int		 failed;	/* errno of an error held back, or 0 */
	bool		 full;		/* the last read filled its buffer */
	bool		 fatal;		/* a TLS error: no more writes */
	unsigned long long received;	/* application bytes read */
	char		 err[256];
};

/* The tls_conn of a connection, from inside OpenSSL's callbacks. */
static struct tls_conn *
tls_conn_of(const SSL *ssl)
{
	return SSL_get_app_data(ssl);
}

/*
 * Every record goes by here: note the peer's close_notify, so that an
 * end of file without one is told apart (OpenSSL, told to ignore an
 * unexpected end of file, reads both as a clean end).
 */
static void
tls_msg_seen(int write_p, int version, int type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	const unsigned char *p = buf;
	struct tls_conn *c = tls_conn_of(ssl);

	(void)version;
	(void)arg;
	if (!write_p && type == SSL3_RT_ALERT && len == 2 &&
	    p[1] == SSL_AD_CLOSE_NOTIFY && c != NULL)
		c->close_notify = true;
}


/* Server: take the first of our protocols the client offers, or fail. */
static int
tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned inlen, void *arg)
{
	struct tls_ctx *ctx = arg;
	unsigned char *sel;

	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, ctx->alpn,
	    (unsigned)ctx->alpnlen, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* The peer's key against --pin: 0 when it matches, else -1 with c->err. */
static int
tls_match_pin(struct tls_conn *c, X509 *peer)
{
	char got[TLS_PIN_LEN + 1];

	if (peer == NULL || tls_key_pin(X509_get0_pubkey(peer), got,
	    sizeof got) == -1) {
		snprintf(c->err, sizeof c->err, "pin mismatch: the peer "
		    "presented no key");
		return -1;
	}
	if (strcmp(got, c->ctx->want_pin) == 0)
		return 0;
	snprintf(c->err, sizeof c->err, "pin mismatch: the peer's key is "
	    "%s", got);
	return -1;
}

/*
 * A client's verification of the server's chain, inside the handshake:
 * the CA chain (unless --pin alone), then --pin, so a wrong key fails the
 * handshake with an alert and no application data ever flows.
 */
static int
tls_verify_chain(X509_STORE_CTX *store, void *arg)
{
	struct tls_ctx *ctx = arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(store,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_conn *c = ssl ? tls_conn_of(ssl) : NULL;

	if (ctx->verify_ca && X509_verify_cert(store) != 1)
		return 0;
	if (c == NULL || ctx->want_pin[0] == '\0')
		return 1;
	if (tls_match_pin(c, X509_STORE_CTX_get0_cert(store)) == 0)
		return 1;
	X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

/*
 * A context for one role.  Clients verify against the system store, or
 * --ca, unless --insecure or a --pin alone; servers present --cert or an
 * ephemeral certificate and, with --ca, require client certificates
 * signed by it.  Returns NULL with *errp.
 */
struct tls_ctx *
tls_ctx_new(const struct tls_config *cfg, char **errp)
{
	struct tls_ctx *ctx;
	long mode = SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;

	if ((ctx = calloc(1, sizeof *ctx)) == NULL) {
		*errp = log_fmt("%s", strerror(errno));
		return NULL;
	}
	ctx->server = cfg->server;
	ctx->insecure = cfg->insecure;
	ctx->ssl = SSL_CTX_new(cfg->server ? TLS_server_method() :
	    TLS_client_method());
	if (ctx->ssl == NULL) {
		*errp = log_fmt("tls: %s", tls_queue_error("cannot set up"));
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx->ssl, TLS1_2_VERSION);
	/* An end of file without close_notify must not make the connection
	 * unusable for writing: tls_result() reports it as a truncation. */
	SSL_CTX_set_options(ctx->ssl, SSL_OP_ENABLE_KTLS |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_msg_callback(ctx->ssl, tls_msg_seen);
	SSL_CTX_set_mode(ctx->ssl, mode);
	SSL_CTX_set_read_ahead(ctx->ssl, 1);
	SSL_CTX_set_default_read_buffer_len(ctx->ssl, TLS_READ_BUFFER);
	if (cfg->pin != NULL) {
		if (tls_check_pin(cfg->pin, errp) == -1)
			goto fail;
		strlcpy(ctx->want_pin, cfg->pin, sizeof ctx->want_pin);
	}
	if (cfg->alpn != NULL && tls_alpn_wire(ctx, cfg->alpn, errp) == -1)
		goto fail;
	if (cfg->server) {
		/* No resumption: a ticket sent after the client closed
		 * would only turn its close into a reset. */
		SSL_CTX_set_num_tickets(ctx->ssl, 0);
		SSL_CTX_set_session_cache_mode(ctx->ssl, SSL_SESS_CACHE_OFF);
		if (cfg->cert != NULL) {
			if (tls_load_cert(ctx, cfg->cert, cfg->key, errp) == -1)
				goto fail;
		} else if (tls_ephemeral(ctx, errp) == -1)
			goto fail;
		if (cfg->ca != NULL) {
			if (tls_load_ca(ctx, cfg->ca, errp) == -1)
				goto fail;
			SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER |
			    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		}
		if (ctx->alpn != NULL)
			SSL_CTX_set_alpn_select_cb(ctx->ssl, tls_alpn_select,
			    ctx);
		return ctx;
	}
	if (cfg->cert != NULL && tls_load_cert(ctx, cfg->cert, cfg->key,
	    errp) == -1)
		goto fail;
	if (cfg->insecure) {
		SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_NONE, NULL);
	} else if (cfg->ca != NULL) {
		if (tls_load_ca(ctx, cfg->ca, errp) == -1)
			goto fail;
		SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER, NULL);
	} else if (cfg->pin != NULL) {
		SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER, NULL);
	} else {
		if (SSL_CTX_set_default_verify_paths(ctx->ssl) != 1) {
			*errp = log_fmt("tls: cannot load the system's "
			    "certificate store: %s", tls_queue_error("unknown"));
			goto fail;
		}
		SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER, NULL);
		ctx->verify_ca = true;
	}
	SSL_CTX_set_cert_verify_callback(ctx->ssl, tls_verify_chain, ctx);
	if (ctx->alpn != NULL &&
	    SSL_CTX_set_alpn_protos(ctx->ssl, ctx->alpn,
	    (unsigned)ctx->alpnlen) != 0) {
		*errp = log_fmt("tls: --alpn: %s", tls_queue_error("refused"));
		goto fail;
	}
	return ctx;
fail:
	tls_ctx_free(ctx);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl);
	free(ctx->alpn);
	free(ctx);
}

/* The pin of the key this context presents ("" without one). */
const char *
tls_ctx_pin(const struct tls_ctx *ctx)
{
	return ctx->own_pin;
}

/* Did this server make its certificate at start? */
bool
tls_ctx_ephemeral(const struct tls_ctx *ctx)
{
	return ctx->ephemeral;
}

static bool
tls_is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

/*
 * A connection over socket FD.  A client sends NAME as SNI (a DNS name
 * only) and verifies the certificate against it; a server ignores NAME.
 * The caller keeps FD.  Returns NULL with *errp.
 */
struct tls_conn *
tls_conn_new(struct tls_ctx *ctx, int fd, const char *name, char **errp)
{
	struct tls_conn *c;
	X509_VERIFY_PARAM *param;
	int r = 1;

	if ((c = calloc(1, sizeof *c)) == NULL) {
		*errp = log_fmt("%s", strerror(errno));
		return NULL;
	}
	c->ctx = ctx;
	ERR_clear_error();
	if ((c->ssl = SSL_new(ctx->ssl)) == NULL ||
	    SSL_set_fd(c->ssl, fd) != 1)
		goto fail;
	SSL_set_app_data(c->ssl, c);
	/*
	 * No read-ahead until the handshake is done: bytes the peer sends
	 * right after its last handshake message (a request behind the
	 * client's Finished) stay in the socket, where poll() sees them,
	 * instead of in a buffer the new owner of the connection does not
	 * know to look at.
	 */
	SSL_set_read_ahead(c->ssl, 0);
	if (ctx->server) {
		SSL_set_accept_state(c->ssl);
		return c;
	}
	SSL_set_connect_state(c->ssl);
	if (name != NULL && !tls_is_ip(name))
		r = SSL_set_tlsext_host_name(c->ssl, name);
	if (r == 1 && name != NULL && ctx->verify_ca) {
		param = SSL_get0_param(c->ssl);
		if (tls_is_ip(name))
			r = X509_VERIFY_PARAM_set1_ip_asc(param, name);
		else
			r = X509_VERIFY_PARAM_set1_host(param, name, 0);
	}
	if (r == 1)
		return c;
fail:
	*errp = log_fmt("tls: %s", tls_queue_error("cannot set up the "
	    "connection"));
	tls_conn_free(c);
	return NULL;
}

void
tls_conn_free(struct tls_conn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	free(c);
}

/*
 * After an SSL call returned R <= 0: set c->wait and errno, and return
 * -1 (EAGAIN: call again when tls_waiting() says) or 0 (close_notify).
 * Errors set c->err; an end of file no close_notify came before is a
 * truncation (EPROTO).
 */
static int
tls_result(struct tls_conn *c, int r)
{
	int e = SSL_get_error(c->ssl, r), saved = errno;

	c->wait = TLS_WAIT_NONE;
	switch (e) {
	case SSL_ERROR_ZERO_RETURN:
		/* Nothing can be cut from a stream that never began: a peer
		 * (ncat) that closes without close_notify before sending. */
		if (c->close_notify || c->received == 0)
			return 0;
		saved = 0;
		/* FALLTHROUGH */
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (saved == 0 || saved == EAGAIN)
			saved = EPROTO;
		snprintf(c->err, sizeof c->err, "%s", saved == EPROTO ?
		    "connection closed without close_notify (truncated)" :
		    strerror(saved));
		errno = saved;
		return -1;
	case SSL_ERROR_WANT_READ:
		c->wait = TLS_WAIT_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		c->wait = TLS_WAIT_WRITE;
		errno = EAGAIN;
		return -1;
	default:
		snprintf(c->err, sizeof c->err, "%s",
		    tls_queue_error("protocol error"));
		c->fatal = true;
		errno = EPROTO;
		return -1;
	}
}

/*
 * Advance the handshake.  Returns 0 when it is complete and the peer is
 * verified (a --pin is matched inside it), -1 with errno EAGAIN to be
 * called again (see tls_waiting()), or -1 with *errp on failure.
 */
int
tls_handshake(struct tls_conn *c, char **errp)
{
	char pinerr[sizeof c->err];
	long v;
	int r;

	ERR_clear_error();
	c->err[0] = '\0';
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->wait = TLS_WAIT_NONE;
		SSL_set_read_ahead(c->ssl, 1);
		return 0;
	}
	strlcpy(pinerr, c->err, sizeof pinerr);	/* from tls_verify_chain() */
	if (tls_result(c, r) == -1 && errno == EAGAIN)
		return -1;
	v = SSL_get_verify_result(c->ssl);
	if (v == X509_V_ERR_APPLICATION_VERIFICATION && pinerr[0] != '\0')
		strlcpy(c->err, pinerr, sizeof c->err);
	else if (v != X509_V_OK && (c->ctx->verify_ca || c->ctx->server))
		snprintf(c->err, sizeof c->err, "certificate verify failed: "
		    "%s", X509_verify_cert_error_string(v));
	else if (r == 0 || strstr(c->err, "(truncated)") != NULL)
		snprintf(c->err, sizeof c->err, "the peer closed the "
		    "connection during the handshake");
	*errp = log_fmt("%s", c->err);
	errno = EPROTO;
	return -1;
}

/* What the last call that failed with EAGAIN waits for. */
enum tls_wait
tls_waiting(const struct tls_conn *c)
{
	return c->wait;
}

/*
 * Read up to LEN bytes, as many records as are there: > 0, 0 at the
 * peer's close_notify, or -1 with errno (EAGAIN; EPROTO for a truncation
 * or a protocol error, see tls_error(); ECONNRESET and others from the
 * socket).  An end or error after some bytes is kept, and reported as it
 * was by the next call.
 */
ssize_t
tls_read(struct tls_conn *c, void *buf, size_t len)
{
	size_t got = 0;
	int r;

	if (c->failed != 0) {
		c->wait = TLS_WAIT_NONE;
		if (c->failed == -1)
			return 0;
		errno = c->failed;
		return -1;
	}
	if (len > INT_MAX)
		len = INT_MAX;
	c->full = false;
	while (got < len) {
		ERR_clear_error();
		r = SSL_read(c->ssl, (char *)buf + got, (int)(len - got));
		if (r > 0) {
			got += (size_t)r;
			c->received += (unsigned long long)r;
			continue;
		}
		if (tls_result(c, r) == 0)
			c->failed = -1;
		else if (errno != EAGAIN)
			c->failed = errno;
		else if (got == 0)
			return -1;
		if (got == 0)
			return tls_read(c, buf, len);	/* the end, as kept */
		break;
	}
	c->wait = TLS_WAIT_NONE;
	c->full = got == len;
	return (ssize_t)got;
}

/*
 * Is anything waiting inside OpenSSL that poll() cannot see: decrypted
 * bytes, records read ahead behind a read that filled its buffer, or an
 * end or error held back?  (Read ahead after a read that ran dry is only
 * part of a record: the rest comes through the socket, which poll() sees.)
 */
bool
tls_pending(const struct tls_conn *c)
{
	return c->failed != 0 || SSL_pending(c->ssl) > 0 ||
	    (c->full && SSL_has_pending(c->ssl) == 1);
}

/*
 * A write failed because the peer is gone (EPIPE, ECONNRESET): it may
 * have said why in an alert before it closed.  Set c->err to the alert
 * and errno to EPROTO if so.
 */
static void
tls_peer_alert(struct tls_conn *c)
{
	const char *reason;
	unsigned long q;
	char b;
	int saved = errno;

	ERR_clear_error();
	if (c->failed == 0 && SSL_peek(c->ssl, &b, 1) <= 0 &&
	    (q = ERR_peek_last_error()) != 0 &&
	    (reason = ERR_reason_error_string(q)) != NULL &&
	    strstr(reason, "alert") != NULL) {
		snprintf(c->err, sizeof c->err, "%s", reason);
		saved = EPROTO;
	}
	ERR_clear_error();
	errno = saved;
}

/*
 * Write from IOV: the bytes taken (> 0), or -1 with errno (EAGAIN,
 * EPIPE, ECONNRESET, EPROTO).  Records are as large as TLS allows; with
 * partial writes on, each SSL_write() takes one record, so this goes on
 * until the socket is full.
 */
ssize_t
tls_writev(struct tls_conn *c, const struct iovec *iov, int iovcnt)
{
	size_t total = 0, len, off;
	int i, r;

	if (c->fatal) {		/* the reason is in c->err already */
		errno = EPROTO;
		return -1;
	}
	for (i = 0; i < iovcnt; i++) {
		for (off = 0; off < iov[i].iov_len; off += (size_t)r) {
			len = iov[i].iov_len - off;
			if (len > INT_MAX)
				len = INT_MAX;
			ERR_clear_error();
			r = SSL_write(c->ssl, (char *)iov[i].iov_base + off,
			    (int)len);
			if (r <= 0) {
				if (total > 0)
					return (ssize_t)total;
				if (tls_result(c, r) == 0)
					errno = EPIPE;
				if (errno == EPIPE || errno == ECONNRESET)
					tls_peer_alert(c);
				return -1;
			}
			c->wait = TLS_WAIT_NONE;
			total += (size_t)r;
		}
	}
	return (ssize_t)total;
}

/*
 * Send close_notify (our end of stream); the caller then half-closes the
 * socket and may keep reading.  Returns 0, or -1 with errno (EAGAIN).
 */
int
tls_close_notify(struct tls_conn *c)
{
	int r;

	ERR_clear_error();
	r = SSL_shutdown(c->ssl);
	if (r >= 0) {
		c->wait = TLS_WAIT_NONE;
		return 0;
	}
	return tls_result(c, r);
}

/* The message of the last failure. */
const char *
tls_error(const struct tls_conn *c)
{
	return c->err[0] ? c->err : "protocol error";
}

/* Does the kernel do the record layer (kTLS) for sending / receiving? */
int
tls_ktls(const struct tls_conn *c, bool sending)
{
	if (sending)
		return BIO_get_ktls_send(SSL_get_wbio(c->ssl)) > 0;
	return BIO_get_ktls_recv(SSL_get_rbio(c->ssl)) > 0;
}

/* "TLSv1.3 TLS_AES_256_GCM_SHA384, ALPN h2, kTLS off" for -v. */
char *
tls_describe(const struct tls_conn *c)
{
	const unsigned char *alpn = NULL;
	unsigned alpnlen = 0;
	char proto[300] = "", esc[LOG_ESCAPE_MAX];

	SSL_get0_alpn_selected(c->ssl, &alpn, &alpnlen);
	if (alpnlen > 0)
		snprintf(proto, sizeof proto, ", ALPN %s", log_escape(
		    (const char *)alpn, alpnlen, esc, sizeof esc));
	return log_fmt("%s %s%s, kTLS %s", SSL_get_version(c->ssl),
	    SSL_get_cipher_name(c->ssl), proto,
	    tls_ktls(c, true) ? (tls_ktls(c, false) ? "send+receive" :
	    "send") : "off (copying through user space)");
}
