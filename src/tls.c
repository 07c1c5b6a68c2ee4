/*
 * tls.c - TLS contexts and connections over non-blocking sockets, with
 * verification on by default, --pin key matching, ephemeral self-signed
 * server certificates, ALPN, and truncation detection.  The only user of
 * OpenSSL's TLS API.
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
#include "tls.h"

#define TLS_EPHEMERAL_DAYS	30
#define TLS_READ_BUFFER		(64 * 1024)	/* several records per read */

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

struct tls_conn {
	struct tls_ctx	*ctx;
	SSL		*ssl;
	enum tls_wait	 wait;
	char		 err[256];
};

/* The newest error on OpenSSL's queue, as text, and the queue emptied. */
static const char *
tls_queue_error(const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r != NULL ? r : fallback;
}

/*
 * Can PATH be read?  OpenSSL names a missing file "system lib": say what
 * the system said instead.  Returns 0, or -1 with *errp naming OPTION.
 */
static int
tls_readable(const char *option, const char *path, char **errp)
{
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		*errp = log_fmt("%s %s: %s", option, path, strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

/* "sha256//BASE64" of the SubjectPublicKeyInfo of KEY into PIN. */
static int
tls_key_pin(EVP_PKEY *key, char *pin, size_t size)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char b64[64];
	int n;

	n = i2d_PUBKEY(key, &der);
	if (n <= 0)
		return -1;
	if (EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
	strlcpy(pin, TLS_PIN_PREFIX, size);
	strlcat(pin, b64, size);
	return 0;
}

/*
 * Is S a --pin of the form "sha256//" and 44 base64 characters (32
 * bytes)?  Returns 0, or -1 with *errp.
 */
int
tls_check_pin(const char *s, char **errp)
{
	const char *b = s + strlen(TLS_PIN_PREFIX);
	unsigned char raw[48];
	size_t i;

	if (strncmp(s, TLS_PIN_PREFIX, strlen(TLS_PIN_PREFIX)) != 0 ||
	    strlen(b) != 44 || b[43] != '=' || b[42] == '=')
		goto bad;
	for (i = 0; i < 43; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/", b[i]) == NULL)
			goto bad;
	if (EVP_DecodeBlock(raw, (const unsigned char *)b, 44) != 33)
		goto bad;
	return 0;
bad:
	*errp = log_fmt("bad --pin '%s': expected sha256//BASE64 (44 "
	    "characters, the SHA-256 of the key)", s);
	return -1;
}

/*
 * An ephemeral ECDSA P-256 key and a self-signed certificate for it,
 * valid from an hour ago for TLS_EPHEMERAL_DAYS, put into CTX.
 */
static int
tls_ephemeral(struct tls_ctx *ctx, char **errp)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int r = -1;

	if ((key = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		goto fail;
	if (RAND_bytes(serial, sizeof serial) != 1)
		goto fail;
	serial[0] &= 0x7f;	/* a positive serial number */
	if ((bn = BN_bin2bn(serial, sizeof serial, NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_set_version(x, 2) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)TLS_EPHEMERAL_DAYS * 86400) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"sockt ephemeral", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, key) != 1 ||
	    X509_sign(x, key, EVP_sha256()) == 0)
		goto fail;
	if (SSL_CTX_use_certificate(ctx->ssl, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx->ssl, key) != 1)
		goto fail;
	if (tls_key_pin(key, ctx->own_pin, sizeof ctx->own_pin) == -1)
		goto fail;
	ctx->ephemeral = true;
	r = 0;
fail:
	if (r == -1)
		*errp = log_fmt("tls: cannot make an ephemeral certificate: %s",
		    tls_queue_error("unknown error"));
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

/* --cert/--key into CTX, and our own pin from the certificate's key. */
static int
tls_load_cert(struct tls_ctx *ctx, const char *cert, const char *key,
    char **errp)
{
	const char *what = "--cert";
	EVP_PKEY *pub;

	if (tls_readable("--cert", cert, errp) == -1 ||
	    (key != NULL && tls_readable("--key", key, errp) == -1))
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ctx->ssl, cert) != 1)
		goto fail;
	what = "--key";
	if (SSL_CTX_use_PrivateKey_file(ctx->ssl, key ? key : cert,
	    SSL_FILETYPE_PEM) != 1)
		goto fail;
	if (SSL_CTX_check_private_key(ctx->ssl) != 1) {
		ERR_clear_error();
		*errp = log_fmt("--key %s: does not match the certificate in "
		    "%s", key ? key : cert, cert);
		return -1;
	}
	pub = X509_get0_pubkey(SSL_CTX_get0_certificate(ctx->ssl));
	if (pub != NULL)
		tls_key_pin(pub, ctx->own_pin, sizeof ctx->own_pin);
	return 0;
fail:
	*errp = log_fmt("%s %s: %s", what, what[2] == 'c' ? cert :
	    key ? key : cert, tls_queue_error("cannot load"));
	return -1;
}

/* "a,b" as ALPN wire format: each name prefixed by its length. */
static int
tls_alpn_wire(struct tls_ctx *ctx, const char *list, char **errp)
{
	const char *p = list, *end;
	size_t n, len = strlen(list);

	ctx->alpn = malloc(len + 1);
	if (ctx->alpn == NULL) {
		*errp = log_fmt("%s", strerror(errno));
		return -1;
	}
	ctx->alpnlen = 0;
	for (;;) {
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n == 0 || n > 255) {
			*errp = log_fmt("bad --alpn '%s': empty or over-long "
			    "protocol name", list);
			return -1;
		}
		ctx->alpn[ctx->alpnlen++] = (unsigned char)n;
		memcpy(ctx->alpn + ctx->alpnlen, p, n);
		ctx->alpnlen += n;
		if (end == NULL)
			return 0;
		p = end + 1;
	}
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

/* Pin-only clients accept any chain here; the key is matched after. */
static int
tls_verify_any(int ok, X509_STORE_CTX *store)
{
	(void)ok;
	(void)store;
	return 1;
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
	SSL_CTX_set_options(ctx->ssl, SSL_OP_ENABLE_KTLS |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
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
			STACK_OF(X509_NAME) *names;

			if (tls_readable("--ca", cfg->ca, errp) == -1)
				goto fail;
			if (SSL_CTX_load_verify_locations(ctx->ssl, cfg->ca,
			    NULL) != 1 ||
			    (names = SSL_load_client_CA_file(cfg->ca)) == NULL)
				goto bad_ca;
			SSL_CTX_set_client_CA_list(ctx->ssl, names);
			SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER |
			    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
			ctx->verify_ca = true;
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
		if (tls_readable("--ca", cfg->ca, errp) == -1)
			goto fail;
		if (SSL_CTX_load_verify_locations(ctx->ssl, cfg->ca, NULL) != 1)
			goto bad_ca;
		SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER, NULL);
		ctx->verify_ca = true;
	} else if (cfg->pin != NULL) {
		SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER, tls_verify_any);
	} else {
		if (SSL_CTX_set_default_verify_paths(ctx->ssl) != 1) {
			*errp = log_fmt("tls: cannot load the system's "
			    "certificate store: %s", tls_queue_error("unknown"));
			goto fail;
		}
		SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER, NULL);
		ctx->verify_ca = true;
	}
	if (ctx->alpn != NULL &&
	    SSL_CTX_set_alpn_protos(ctx->ssl, ctx->alpn,
	    (unsigned)ctx->alpnlen) != 0) {
		*errp = log_fmt("tls: --alpn: %s", tls_queue_error("refused"));
		goto fail;
	}
	return ctx;
bad_ca:
	*errp = log_fmt("--ca %s: %s", cfg->ca, tls_queue_error("cannot "
	    "load"));
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
 * Errors set c->err.
 */
static int
tls_result(struct tls_conn *c, int r)
{
	int e = SSL_get_error(c->ssl, r), saved = errno;
	unsigned long q;

	c->wait = TLS_WAIT_NONE;
	switch (e) {
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_WANT_READ:
		c->wait = TLS_WAIT_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		c->wait = TLS_WAIT_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (saved == 0 || saved == EAGAIN)
			saved = EPROTO;
		snprintf(c->err, sizeof c->err, "%s", saved == EPROTO ?
		    "connection closed without close_notify (truncated)" :
		    strerror(saved));
		errno = saved;
		return -1;
	default:
		q = ERR_peek_last_error();
		if (ERR_GET_REASON(q) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			snprintf(c->err, sizeof c->err, "connection closed "
			    "without close_notify (truncated)");
		} else
			snprintf(c->err, sizeof c->err, "%s",
			    tls_queue_error("protocol error"));
		errno = EPROTO;
		return -1;
	}
}

/* The peer's key against --pin: 0 when it matches. */
static int
tls_match_pin(struct tls_conn *c)
{
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
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
 * Advance the handshake.  Returns 0 when it is complete and the peer is
 * verified, -1 with errno EAGAIN to be called again (see tls_waiting()),
 * or -1 with *errp on failure.
 */
int
tls_handshake(struct tls_conn *c, char **errp)
{
	long v;
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->wait = TLS_WAIT_NONE;
		SSL_set_read_ahead(c->ssl, 1);
		if (c->ctx->want_pin[0] != '\0' && tls_match_pin(c) == -1)
			goto fail;
		return 0;
	}
	if (tls_result(c, r) == -1 && errno == EAGAIN)
		return -1;
	v = SSL_get_verify_result(c->ssl);
	if (v != X509_V_OK && (c->ctx->verify_ca || c->ctx->server))
		snprintf(c->err, sizeof c->err, "certificate verify failed: "
		    "%s", X509_verify_cert_error_string(v));
	else if (r == 0 || c->err[0] == '\0')
		snprintf(c->err, sizeof c->err, "the peer closed the "
		    "connection during the handshake");
fail:
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
 * socket).  An end or error after some bytes is reported by the next call.
 */
ssize_t
tls_read(struct tls_conn *c, void *buf, size_t len)
{
	size_t got = 0;
	int r;

	if (len > INT_MAX)
		len = INT_MAX;
	while (got < len) {
		ERR_clear_error();
		r = SSL_read(c->ssl, (char *)buf + got, (int)(len - got));
		if (r <= 0) {
			if (got > 0) {
				ERR_clear_error();
				break;
			}
			return tls_result(c, r);
		}
		got += (size_t)r;
	}
	c->wait = TLS_WAIT_NONE;
	return (ssize_t)got;
}

/* Are decrypted bytes waiting inside OpenSSL (poll() cannot see them)? */
bool
tls_pending(const struct tls_conn *c)
{
	return SSL_pending(c->ssl) > 0;
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
