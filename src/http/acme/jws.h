/*
 * jws.h - the JSON Web Signatures that carry every ACME request (RFC 8555
 * section 6.2: RFC 7515's flattened JSON serialization).
 *
 * Owns: reading a request body into its protected header (alg, nonce,
 * url, and either the account key as a JWK or the account's URL as kid),
 * its payload and its signature, with every structural check RFC 8555
 * asks for; turning a JWK (RFC 7517/7518: EC P-256 and P-384, RSA of 2048
 * bits or more, OKP Ed25519) into a GnuTLS public key and its RFC 7638
 * thumbprint; and verifying the signature with GnuTLS (ES256, ES384,
 * RS256, EdDSA). Nothing here knows accounts, nonces' validity or URLs'
 * meaning: the ACME door (a later piece of http/acme/) decides those.
 *
 * Errors are lerr codes the door maps to ACME's problem types:
 * LERR_BAD_REQUEST malformed, LERR_UNSUPPORTED_KEY badSignatureAlgorithm,
 * LERR_WEAK_KEY badPublicKey, LERR_BAD_SIGNATURE a signature that does
 * not verify, LERR_TOO_LARGE a member over its bound.
 */
#ifndef LANCA_HTTP_ACME_JWS_H
#define LANCA_HTTP_ACME_JWS_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <jansson.h>
#include "common/lerr.h"

#define JWS_BODY_MAX		(64 * 1024)	/* a request body lanca reads */
#define JWS_NONCE_MAX		128
#define JWS_URL_MAX		1024
#define JWS_THUMBPRINT_LEN	43		/* SHA-256, base64url without padding */

enum jws_alg {
	JWS_ES256 = 1,
	JWS_ES384,
	JWS_RS256,
	JWS_EDDSA,
};

/* A request, parsed (jws_parse) but not yet verified (jws_verify). */
struct jws {
	enum jws_alg alg;
	char nonce[JWS_NONCE_MAX + 1];
	char url[JWS_URL_MAX + 1];
	char kid[JWS_URL_MAX + 1];		/* "" when the header has a jwk */
	gnutls_pubkey_t jwk;			/* the header's key, or NULL (kid) */
	char thumbprint[JWS_THUMBPRINT_LEN + 1];	/* jwk's, or "" */
	char *jwk_text;				/* jwk as compact JSON (kept for the account), or NULL */
	json_t *payload;			/* NULL for POST-as-GET's "" */
	unsigned char *input;			/* protected "." payload, as sent */
	size_t input_len;
	unsigned char *sig;
	size_t sig_len;
};

/* The name of alg as JWS writes it ("ES256", ...). */
const char *jws_alg_name(enum jws_alg alg);

/*
 * Reads body (len bytes) into j: a JSON object with exactly "protected",
 * "payload" and "signature" (no unprotected header, no general
 * serialization); a protected header that is a JSON object with an alg
 * lanca verifies, a nonce, a url, and exactly one of jwk and kid, no
 * "crit"; a payload that is "" or base64url of a JSON object. Duplicate
 * members are refused. 0 with j filled (jws_free), or -1 with e.
 */
int jws_parse(const char *body, size_t len, struct jws *j, struct lerr *e);
/* jws_parse with flags: JWS_INNER reads keyChange's inner JWS (RFC 8555
 * section 7.3.5), whose header has no nonce and no kid (so a jwk). */
#define JWS_INNER	0x1u
int jws_parse_flags(const char *body, size_t len, unsigned flags, struct jws *j,
		    struct lerr *e);

/* Verifies j's signature with key (j->jwk for a new account, the
 * account's key for kid): alg must be the key's (ES256 with P-256, ES384
 * with P-384, RS256 with RSA, EdDSA with Ed25519). 0, or -1 with e. */
int jws_verify(const struct jws *j, gnutls_pubkey_t key, struct lerr *e);

/* A JWK object into *out (new: gnutls_pubkey_deinit) and its RFC 7638
 * thumbprint into thumbprint (NUL-terminated), from the members as given.
 * 0, or -1 with e (LERR_WEAK_KEY for a key lanca refuses). */
int jws_jwk_import(const json_t *jwk, gnutls_pubkey_t *out,
		   char thumbprint[JWS_THUMBPRINT_LEN + 1], struct lerr *e);

void jws_free(struct jws *j);	/* NULL-safe; leaves j empty */

/* An External Account Binding (RFC 8555 section 7.3.4): the flattened
 * JWS, MACed with the admin's key, of the new account's JWK. */
#define JWS_EAB_KID_MAX		64
struct jws_eab {
	char kid[JWS_EAB_KID_MAX + 1];
	char url[JWS_URL_MAX + 1];
	gnutls_mac_algorithm_t mac;		/* HS256, HS384 or HS512 */
	char thumbprint[JWS_THUMBPRINT_LEN + 1];	/* of the JWK it binds */
	unsigned char *input;			/* protected "." payload */
	size_t input_len;
	unsigned char *tag;
	size_t tag_len;
};
/* Reads the externalAccountBinding member eab: protected header with
 * alg HS256/HS384/HS512, kid and url only (no nonce), payload a JWK.
 * 0 with x filled (jws_eab_free), or -1 with e (LERR_BAD_REQUEST). */
int jws_eab_parse(const json_t *eab, struct jws_eab *x, struct lerr *e);
/* Checks x's MAC under key (constant time). 0, or -1 with e
 * (LERR_BAD_SIGNATURE). */
int jws_eab_verify(const struct jws_eab *x, const unsigned char *key, size_t key_len,
		   struct lerr *e);
void jws_eab_free(struct jws_eab *x);	/* NULL-safe */

#endif
