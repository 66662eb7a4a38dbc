/*
 * csr.h - PKCS#10 certificate requests: parsing and the checks that need
 * nothing but the request itself.
 *
 * Owns: turning untrusted bytes (PEM or DER, at most CSR_MAX_BYTES) into a
 * struct csr, or a struct lerr that names what was wrong: not a CSR,
 * truncated, bad self-signature, a refused key (RSA below 2048 or above
 * 4096, a curve other than P-256/P-384, an unknown algorithm), a missing or
 * oversized CN, malformed SANs. It does not decide which names may be
 * issued (policy.c does) and never copies extensions anywhere: it only
 * reports what the request asked for.
 * Callers: sign.c (in the signer and in-process) and the HTTP/EST handlers.
 */
#ifndef LANCA_CSR_H
#define LANCA_CSR_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "common/lerr.h"
#include "ca/names.h"

#define CSR_MAX_BYTES	(16 * 1024)
#define CSR_CN_MAX	64	/* RFC 5280 ub-common-name */

enum csr_key {
	CSR_KEY_ECDSA_P256 = 1,
	CSR_KEY_ECDSA_P384,
	CSR_KEY_ED25519,
	CSR_KEY_RSA,
};

struct csr {
	gnutls_x509_crq_t crq;		/* the parsed request (owned) */
	gnutls_pubkey_t pubkey;		/* its public key (owned) */
	char cn[CSR_CN_MAX + 1];	/* subject CN: the device id ("" or the first
					 * name: CSR_PARSE_CN_OPTIONAL) */
	int cn_given;			/* the subject had a CN (else cn is the first name) */
	struct names sans;		/* names the extension request asked for */
	unsigned char key_id[32];	/* SHA-256 of the DER SubjectPublicKeyInfo */
	enum csr_key key_type;
	unsigned key_bits;
	int asked_ca;			/* the request asked for CA:TRUE (ignored) */
	int sig_verified;		/* the self-signature was verified here */
};

/* csr_parse_flags flags. */
#define CSR_PARSE_NO_VERIFY	0x1u	/* leave the self-signature unchecked */
/* A request without a subject CN is taken (a LAN server's through ACME:
 * certbot's have none, RFC 8555 section 7.4): cn is then its first
 * subjectAltName, a DNS name or an address as text, which the
 * certificate's subject carries; with addresses only, cn is "" and the
 * certificate's subject is empty. One without a name at all is still
 * refused. */
#define CSR_PARSE_CN_OPTIONAL	0x2u

/* Parses and checks a request. Accepts PEM ("CERTIFICATE REQUEST" or "NEW
 * CERTIFICATE REQUEST") or DER. Verifies the self-signature.
 * On success *out is a new struct csr the caller frees with csr_free().
 * Returns 0, or -1 with e filled (http 400 or 413). */
int csr_parse(const unsigned char *data, size_t len, struct csr **out, struct lerr *e);
/* csr_parse with flags. CSR_PARSE_NO_VERIFY skips the proof of
 * possession (the one costly step) for a caller that only forwards the
 * bytes to a remote signer, which parses and verifies them itself before
 * signing anything; such a csr has sig_verified == 0 and sign_leaf()
 * refuses it. Every other check runs as in csr_parse. */
int csr_parse_flags(const unsigned char *data, size_t len, unsigned flags,
		    struct csr **out, struct lerr *e);
/* Only the proof of possession: the request in data parses, its key is
 * one csr_parse accepts, and its self-signature verifies (the errors are
 * csr_parse's). Its names are not read: for a caller that parses them
 * elsewhere (the signer's VERIFY, whose ISSUE parses the whole request).
 * Returns 0 or -1 with e. */
int csr_verify(const unsigned char *data, size_t len, struct lerr *e);
void csr_free(struct csr *c);
/* The request's challengePassword attribute (PKCS#9), which EST uses to
 * bind a request to its TLS connection (RFC 7030 §3.5), into out (n
 * bytes, NUL-terminated; "" when the request has none). Nothing else is
 * checked: the request is checked in full where it is decided. Returns 1
 * when there is one, 0 when not, -1 with e (LERR_BAD_CSR) when the
 * request does not parse or the value does not fit. */
int csr_challenge_password(const unsigned char *data, size_t len, char *out, size_t n,
			   struct lerr *e);

/* Lower-case hex of c->key_id into out (65 bytes). */
void csr_key_id_hex(const struct csr *c, char out[65]);
/* The request in data, checked and verified as csr_parse does, made
 * again for another key: the same subject CN and subjectAltName
 * extension, signed by key (EST's server-side key generation, where the
 * server makes the device's key). The DER goes to out (gnutls_free it).
 * Returns 0 or -1 with e (csr_parse's errors). */
int csr_rekey(const unsigned char *data, size_t len, gnutls_privkey_t key,
	      gnutls_datum_t *out, struct lerr *e);
/* A request signed by key, with CN cn and the names of n as its
 * subjectAltName, into der (DER, gnutls_free it): what lanca makes for a
 * key of its own (the gateway's, the profile signer's) to issue through
 * the same path as a device's. 0 or -1 with e. */
int csr_make(gnutls_x509_privkey_t key, const char *cn, const struct names *n,
	     gnutls_datum_t *der, struct lerr *e);
/* The request's DER encoding (malloc'd into d; free with gnutls_free). */
int csr_export_der(const struct csr *c, gnutls_datum_t *d);

#endif
