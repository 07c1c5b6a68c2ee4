/*
 * tlscert.c - what a TLS context presents and trusts: --cert/--key and
 * --ca files loaded with errors that name the file and the reason, the
 * ephemeral self-signed certificate, SPKI pins, and --alpn lists.  Part
 * of the TLS module (tls.c): the only other OpenSSL TLS user.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/decodererr.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "log.h"
#include "tls-int.h"

#define TLS_EPHEMERAL_DAYS	30

/* The newest error on OpenSSL's queue, as text, and the queue emptied. */
const char *
tls_queue_error(const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r != NULL ? r : fallback;
}

/*
 * Is PATH a readable file?  OpenSSL names a missing file "system lib"
 * and reads a directory as empty: say what is wrong instead.  Returns 0,
 * or -1 with *errp naming OPTION.
 */
int
tls_readable(const char *option, const char *path, char **errp)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	int e;

	if (f == NULL) {
		*errp = log_fmt("%s %s: %s", option, path, strerror(errno));
		return -1;
	}
	e = fstat(fileno(f), &st) == -1 ? errno :
	    S_ISDIR(st.st_mode) ? EISDIR : 0;
	fclose(f);
	if (e != 0) {
		*errp = log_fmt("%s %s: %s", option, path, strerror(e));
		return -1;
	}
	return 0;
}

/*
 * Why loading a PEM file failed, from the whole error queue (OpenSSL's
 * last entry is only "PEM lib"), which is emptied.  WHAT is "certificate"
 * or "private key".
 */
static const char *
tls_load_reason(const char *what)
{
	static char buf[128];
	unsigned long e;
	const char *r = NULL;

	while ((e = ERR_get_error()) != 0) {
		if ((ERR_GET_LIB(e) == ERR_LIB_PEM &&
		    ERR_GET_REASON(e) == PEM_R_NO_START_LINE) ||
		    ERR_GET_LIB(e) == ERR_LIB_OSSL_DECODER ||
		    (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) ==
		    X509_R_NO_CERTIFICATE_OR_CRL_FOUND)) {
			snprintf(buf, sizeof buf, "no PEM %s in it", what);
			r = buf;
		} else if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
		    ERR_GET_REASON(e) == PEM_R_BAD_PASSWORD_READ)
			r = "the key is encrypted (no passphrase can be given)";
		else if (r == NULL && ERR_GET_REASON(e) != ERR_R_PEM_LIB)
			r = ERR_reason_error_string(e);
	}
	if (r != NULL)
		return r;
	snprintf(buf, sizeof buf, "cannot load the %s", what);
	return buf;
}

/* "sha256//BASE64" of the SubjectPublicKeyInfo of KEY into PIN. */
int
tls_key_pin(EVP_PKEY *key, char *pin, size_t size)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char b64[64];
	int n;

	if (key == NULL || (n = i2d_PUBKEY(key, &der)) <= 0)
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
 * Is S an --alpn list: comma-separated names of 1 to 255 printable
 * characters?  Returns 0, or -1 with *errp.
 */
int
tls_check_alpn(const char *s, char **errp)
{
	char esc[LOG_ESCAPE_MAX];
	size_t n = 0;
	const char *p;

	for (p = s;; p++) {
		if (*p == ',' || *p == '\0') {
			if (n == 0 || n > 255)
				break;
			if (*p == '\0')
				return 0;
			n = 0;
		} else if ((unsigned char)*p <= ' ' ||
		    (unsigned char)*p >= 0x7f)
			break;
		else
			n++;
	}
	*errp = log_fmt("bad --alpn '%s': expected protocol names (1 to 255 "
	    "printable characters) separated by commas", log_escape(s,
	    strlen(s), esc, sizeof esc));
	return -1;
}

/* "a,b" (checked) as ALPN wire format: each name prefixed by its length. */
int
tls_alpn_wire(struct tls_ctx *ctx, const char *list, char **errp)
{
	const char *p = list, *end;
	size_t n;

	if (tls_check_alpn(list, errp) == -1)
		return -1;
	if ((ctx->alpn = malloc(strlen(list) + 1)) == NULL) {
		*errp = log_fmt("%s", strerror(errno));
		return -1;
	}
	ctx->alpnlen = 0;
	for (;;) {
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		ctx->alpn[ctx->alpnlen++] = (unsigned char)n;
		memcpy(ctx->alpn + ctx->alpnlen, p, n);
		ctx->alpnlen += n;
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

/*
 * An ephemeral ECDSA P-256 key and a self-signed certificate for it,
 * valid from an hour ago for TLS_EPHEMERAL_DAYS, put into CTX.
 */
int
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

/* No passphrase prompt on the terminal: an encrypted key fails to load. */
static int
tls_no_passphrase(char *buf, int size, int rw, void *arg)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)arg;
	return -1;
}

/* --cert/--key into CTX, and our own pin from the certificate's key. */
int
tls_load_cert(struct tls_ctx *ctx, const char *cert, const char *key,
    char **errp)
{
	const char *keyfile = key ? key : cert;

	if (tls_readable("--cert", cert, errp) == -1 ||
	    (key != NULL && tls_readable("--key", key, errp) == -1))
		return -1;
	SSL_CTX_set_default_passwd_cb(ctx->ssl, tls_no_passphrase);
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx->ssl, cert) != 1) {
		*errp = log_fmt("--cert %s: %s", cert,
		    tls_load_reason("certificate"));
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx->ssl, keyfile,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx->ssl) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH ||
		    ERR_GET_REASON(ERR_peek_last_error()) ==
		    SSL_R_PRIVATE_KEY_MISMATCH) {
			ERR_clear_error();
			*errp = log_fmt("%s %s: does not match the certificate "
			    "in %s", key ? "--key" : "--cert", keyfile, cert);
		} else
			*errp = log_fmt("%s %s: %s", key ? "--key" : "--cert",
			    keyfile, tls_load_reason("private key"));
		return -1;
	}
	(void)tls_key_pin(X509_get0_pubkey(SSL_CTX_get0_certificate(
	    ctx->ssl)), ctx->own_pin, sizeof ctx->own_pin);
	return 0;
}

/* --ca: the certificates trusted (client) or required (server). */
int
tls_load_ca(struct tls_ctx *ctx, const char *ca, char **errp)
{
	STACK_OF(X509_NAME) *names;

	if (tls_readable("--ca", ca, errp) == -1)
		return -1;
	ERR_clear_error();
	if (SSL_CTX_load_verify_locations(ctx->ssl, ca, NULL) != 1) {
		*errp = log_fmt("--ca %s: %s", ca,
		    tls_load_reason("certificate"));
		return -1;
	}
	if (ctx->server) {
		if ((names = SSL_load_client_CA_file(ca)) == NULL) {
			*errp = log_fmt("--ca %s: %s", ca,
			    tls_load_reason("certificate"));
			return -1;
		}
		SSL_CTX_set_client_CA_list(ctx->ssl, names);
	}
	ctx->verify_ca = true;
	return 0;
}
