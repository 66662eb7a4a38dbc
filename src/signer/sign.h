/*
 * sign.h - the signing core: from a parsed request and checked parameters
 * to a certificate that has passed every check.
 *
 * Owns: the issuing CA's private key while it is loaded, and the one
 * function that uses it for leaves. Every path that issues (the signer
 * process serving the daemon, and `lanca init` / `lanca sign` in-process)
 * ends in sign_leaf(), which re-applies policy to the request itself,
 * builds the certificate (x509.c), and checks the bytes it produced
 * against the name constraints of every CA above it before returning them.
 */
#ifndef LANCA_SIGN_H
#define LANCA_SIGN_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include "ca/crl.h"
#include "ca/csr.h"
#include "common/lerr.h"
#include "ca/policy.h"
#include "signer/files.h"

struct x509_issuer;
struct popcache;

struct sign_ctx {
	gnutls_privkey_t key;		/* issuing CA private key (owned) */
	gnutls_x509_crt_t chain[2];	/* issuing CA, root (owned) */
	struct policy policy;		/* from the verified issuing CA's nameConstraints */
	char crl_url[SIGNER_CRL_URL_MAX];	/* "" for none */
	/* What every leaf takes from key, chain and crl_url, prepared once
	 * at load (owned; x509.h). */
	struct x509_issuer *issuer;
	time_t ca_not_after;		/* chain[0]'s notAfter */
	/* Digests of the request bytes whose self-signature this process
	 * verified (owned; popcache.h), and how many it verified: a count
	 * for tests and figures, never a decision. */
	struct popcache *pop;
	atomic_ulong verified;
	/* The audit checkpoint key (files.h's audit.key; sodium_malloc'd). */
	unsigned char *audit_sk;
	/* The generation a root rollover succeeded, for its CRLs only
	 * (owned; NULL when keys/ holds none). */
	gnutls_privkey_t prev_key;
	gnutls_x509_crt_t prev_chain[2];	/* its issuing CA, its root */
};

/* Which issuing CA signs a CRL. */
enum sign_generation {
	SIGN_GEN_CURRENT = 0,		/* the active issuing CA */
	SIGN_GEN_PREVIOUS = 1,		/* the one a rollover succeeded */
};

/* What the caller asks for; the serial was reserved in the store. */
struct sign_req {
	enum policy_profile profile;
	unsigned days;			/* 0 = the profile's default */
	const unsigned char *serial;	/* X509_SERIAL_LEN bytes */
};

struct sign_out {
	gnutls_datum_t der;		/* the certificate (gnutls_free) */
	time_t not_before, not_after;
	struct names sans;		/* the names it carries (names_free); signer side */
	/* What the certificate carries, as the signer put it there and
	 * checked it on the re-parsed bytes, so that the daemon records it
	 * without parsing the certificate again: */
	unsigned char key_id[32];	/* the subject key's id (csr.h's key_id) */
	char *names;			/* its names as names_format writes them (free) */
};

/* Loads the signer's files from dir/keys/ (files.h: never the store),
 * verifies the chain (x509_verify_ca_chain), loads the issuing key (with
 * pass, may be NULL) and checks it is the issuing certificate's, and
 * derives the policy from the verified issuing CA. Returns 0, or -1 with
 * e (LERR_INVARIANT for a chain or key that does not hold together). */
int sign_ctx_load(struct sign_ctx *c, const char *dir, const char *pass, struct lerr *e);
void sign_ctx_free(struct sign_ctx *c);	/* wipes and frees; NULL-safe */

/*
 * The proof of possession, checked once per request bytes by this
 * process whatever its callers say. sign_verify checks that bytes are a
 * request with an acceptable key and that its self-signature verifies
 * (csr_verify), unless this process has already done so for these very
 * bytes (their SHA-256 is in c->pop); a request that verifies is
 * remembered. Returns 0, or -1 with e saying why as csr_parse would
 * (LERR_BAD_SIGNATURE for a forged request).
 * sign_parse parses bytes for issuance as profile's requests are parsed
 * (policy_csr_flags): with the self-signature verified,
 * or, for bytes whose digest is remembered, marked verified without doing
 * it again. *out is the caller's (csr_free). Both are safe to call from
 * several threads at once with the same ctx.
 */
int sign_verify(struct sign_ctx *c, const unsigned char *bytes, size_t len, struct lerr *e);
int sign_parse(struct sign_ctx *c, const unsigned char *bytes, size_t len,
	       enum policy_profile profile, struct csr **out, struct lerr *e);

/* Issues a leaf for csr, which must have been parsed with its
 * self-signature verified (csr_parse; a CSR_PARSE_NO_VERIFY parse is
 * refused). Safe to call from several threads at once with the same ctx.
 * On success out holds the DER; free with sign_out_free. */
int sign_leaf(const struct sign_ctx *c, const struct csr *csr, const struct sign_req *r,
	      struct sign_out *out, struct lerr *e);
void sign_out_free(struct sign_out *o);

/* Signs the audit checkpoint "row row_id had hash head at time at" with
 * the audit key (ca/auditseal.h builds the message: the signer signs no
 * bytes it did not lay out itself). row_id and at must be positive.
 * 0, or -1 with e. Safe from several threads. */
int sign_checkpoint(const struct sign_ctx *c, int64_t row_id, const unsigned char head[32],
		    int64_t at, unsigned char sig[64], struct lerr *e);
/* Builds, signs with generation gen's issuing CA key and checks the CRL
 * p describes (crl_make: the issuer is that issuing CA). LERR_NOT_FOUND
 * for SIGN_GEN_PREVIOUS when keys/ holds no previous generation. *der to
 * gnutls_free. Safe to call from several threads at once with the same
 * ctx. 0, or -1 with e. */
int sign_crl(const struct sign_ctx *c, enum sign_generation gen, const struct crl_params *p,
	     gnutls_datum_t *der, struct lerr *e);

#endif
