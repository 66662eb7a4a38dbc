/*
 * sign.c - the signing core (see sign.h).
 *
 * The order inside sign_leaf() is the point of this file: policy first
 * (on the request as parsed here, never on what a caller claims), then
 * the certificate is built from our own parameters only, then the bytes
 * just produced are parsed again and checked against every CA above
 * them. GnuTLS would sign a name outside the constraints without a word;
 * x509_check_leaf() is what stops it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "ca/auditseal.h"
#include "ca/x509.h"
#include "common/buf.h"
#include "common/log.h"
#include "signer/files.h"
#include "signer/popcache.h"
#include "signer/sign.h"

int
sign_ctx_load(struct sign_ctx *c, const char *dir, const char *pass, struct lerr *e)
{
	char why[sizeof(e->msg)];
	struct signer_files f;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (signer_files_read(dir, pass, &f, e) != 0)
		goto out;
	/* Everything below trusts this chain: the policy and the final check
	 * of every leaf are its name constraints. */
	if (x509_verify_ca_chain(f.root, f.issuing, e) != 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		lerr_set(e, LERR_INVARIANT, "%s and %s do not form a valid CA chain: %s",
			 SIGNER_ISSUING_PEM, SIGNER_ROOT_PEM, why);
		goto out;
	}
	c->chain[0] = f.issuing;
	c->chain[1] = f.root;
	c->key = f.key;
	c->audit_sk = f.audit_sk;
	f.issuing = f.root = NULL;
	f.key = NULL;
	f.audit_sk = NULL;
	memcpy(c->crl_url, f.conf.crl_url, sizeof(c->crl_url));
	if (x509_key_matches(c->key, c->chain[0], SIGNER_ISSUING_PEM, e) != 0) {
		lerr_set(e, LERR_INVARIANT, "%s/%s does not match %s", dir, SIGNER_ISSUING_KEY,
			 SIGNER_ISSUING_PEM);
		goto out;
	}
	c->pop = popcache_new();
	if (c->pop == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (policy_from_ca(&c->policy, c->chain[0], e) != 0 ||
	    x509_issuer_new(c->chain, 2, c->key, c->crl_url, &c->issuer, e) != 0)
		goto out;
	c->ca_not_after = gnutls_x509_crt_get_expiration_time(c->chain[0]);
	/* The previous generation signs CRLs for leaves that are still
	 * valid; once its issuing CA or root has expired none is, and it is
	 * let go rather than refused (its chain no longer verifies). */
	if (f.prev_issuing != NULL &&
	    (gnutls_x509_crt_get_expiration_time(f.prev_issuing) <= time(NULL) ||
	     gnutls_x509_crt_get_expiration_time(f.prev_root) <= time(NULL)))
		log_info("%s has expired: its CRLs are no longer made", SIGNER_PREV_ISSUING_PEM_NAME);
	else if (f.prev_issuing != NULL) {
		if (x509_verify_ca_chain(f.prev_root, f.prev_issuing, e) != 0) {
			snprintf(why, sizeof(why), "%s", e->msg);
			lerr_set(e, LERR_INVARIANT, "%s and %s do not form a valid CA chain: %s",
				 SIGNER_PREV_ISSUING_PEM_NAME, SIGNER_PREV_ROOT_PEM_NAME, why);
			goto out;
		}
		c->prev_chain[0] = f.prev_issuing;
		c->prev_chain[1] = f.prev_root;
		c->prev_key = f.prev_key;
		f.prev_issuing = f.prev_root = NULL;
		f.prev_key = NULL;
		if (x509_key_matches(c->prev_key, c->prev_chain[0], SIGNER_PREV_ISSUING_PEM_NAME,
				     e) != 0)
			goto out;
	}
	rc = 0;
out:
	signer_files_free(&f);
	if (rc != 0)
		sign_ctx_free(c);
	return rc;
}

void
sign_ctx_free(struct sign_ctx *c)
{
	if (c == NULL)
		return;
	/* The issuer borrows key and chain: it goes first. */
	x509_issuer_free(c->issuer);
	if (c->key != NULL)
		gnutls_privkey_deinit(c->key);
	if (c->chain[0] != NULL)
		gnutls_x509_crt_deinit(c->chain[0]);
	if (c->chain[1] != NULL)
		gnutls_x509_crt_deinit(c->chain[1]);
	if (c->prev_key != NULL)
		gnutls_privkey_deinit(c->prev_key);
	if (c->prev_chain[0] != NULL)
		gnutls_x509_crt_deinit(c->prev_chain[0]);
	if (c->prev_chain[1] != NULL)
		gnutls_x509_crt_deinit(c->prev_chain[1]);
	policy_free(&c->policy);
	popcache_free(c->pop);
	sodium_free(c->audit_sk);
	memset(c, 0, sizeof(*c));
}

int
sign_checkpoint(const struct sign_ctx *c, int64_t row_id, const unsigned char head[32],
		int64_t at, unsigned char sig[64], struct lerr *e)
{
	if (c->audit_sk == NULL)
		return lerr_set(e, LERR_SIGNER, "the signer has no audit key");
	if (row_id < 1 || at < 1)
		return lerr_set(e, LERR_BAD_REQUEST, "a checkpoint names a row and a time");
	if (auditseal_sign(c->audit_sk, row_id, head, at, sig) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot sign the checkpoint");
	return 0;
}

/*
 * Parses bytes into *out; known says whether their digest d is in c->pop
 * (the self-signature of these very bytes was verified here before).
 * Verifies otherwise, and remembers bytes that pass every check.
 */
static int
sign_parse_known(struct sign_ctx *c, const unsigned char *bytes, size_t len, unsigned flags,
		 int hashed, const unsigned char d[POPCACHE_DIGEST], int known, struct csr **out,
		 struct lerr *e)
{
	if (known) {
		if (csr_parse_flags(bytes, len, flags | CSR_PARSE_NO_VERIFY, out, e) != 0)
			return -1;
		/* Same digest, same bytes: verified by this process. */
		(*out)->sig_verified = 1;
		return 0;
	}
	atomic_fetch_add(&c->verified, 1);
	if (csr_parse_flags(bytes, len, flags, out, e) != 0)
		return -1;
	if (hashed)
		popcache_add(c->pop, d);
	return 0;
}

/* See sign.h. */
int
sign_parse(struct sign_ctx *c, const unsigned char *bytes, size_t len,
	   enum policy_profile profile, struct csr **out, struct lerr *e)
{
	unsigned char d[POPCACHE_DIGEST];
	int hashed;

	*out = NULL;
	/* Oversized bytes are refused by the parse; never hashed for it. */
	hashed = bytes != NULL && len <= CSR_MAX_BYTES && popcache_digest(bytes, len, d) == 0;
	return sign_parse_known(c, bytes, len, policy_csr_flags(profile), hashed, d,
				hashed && popcache_has(c->pop, d), out, e);
}

/* See sign.h. */
int
sign_verify(struct sign_ctx *c, const unsigned char *bytes, size_t len, struct lerr *e)
{
	unsigned char d[POPCACHE_DIGEST];
	int hashed;

	hashed = bytes != NULL && len <= CSR_MAX_BYTES && popcache_digest(bytes, len, d) == 0;
	if (hashed && popcache_has(c->pop, d))
		return 0;
	/* Only the signature: the ISSUE that follows parses the rest. */
	atomic_fetch_add(&c->verified, 1);
	if (csr_verify(bytes, len, e) != 0)
		return -1;
	if (hashed)
		popcache_add(c->pop, d);
	return 0;
}

int
sign_leaf(const struct sign_ctx *c, const struct csr *csr, const struct sign_req *r,
	  struct sign_out *out, struct lerr *e)
{
	struct x509_leaf_params p;
	time_t now = time(NULL);
	unsigned days = r->days;
	struct buf b;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	names_init(&out->sans);
	/* The proof of possession is checked once per issuance, and here
	 * that is by whoever parsed csr: never sign for one skipped. */
	if (!csr->sig_verified) {
		lerr_set(e, LERR_INTERNAL, "the request's signature was not verified");
		goto out;
	}
	if (policy_profile_kind(r->profile) < 0) {
		lerr_set(e, LERR_BAD_REQUEST, "unknown certificate profile %d", (int)r->profile);
		goto out;
	}
	if (policy_names(&c->policy, csr, r->profile, &out->sans, e) != 0)
		goto out;
	if (days == 0 && r->profile == POLICY_GATEWAY)
		days = POLICY_GATEWAY_DAYS;
	if (policy_validity(&c->policy, days, now, c->ca_not_after, &out->not_before,
			    &out->not_after, e) != 0)
		goto out;

	memset(&p, 0, sizeof(p));
	p.pubkey = csr->pubkey;
	p.key_id = csr->key_id;
	p.cn = policy_leaf_cn(csr, &out->sans, r->profile);
	p.sans = &out->sans;
	p.not_before = out->not_before;
	p.not_after = out->not_after;
	p.serial = r->serial;
	p.crl_url = c->crl_url[0] != '\0' ? c->crl_url : NULL;
	if (x509_issuer_make_leaf(c->issuer, &p, &out->der, e) != 0)
		goto out;
	if (x509_issuer_check_leaf(c->issuer, &out->der, &p, e) != 0)
		goto out;
	/* check_leaf found the request's key and these names in the bytes. */
	memcpy(out->key_id, csr->key_id, sizeof(out->key_id));
	buf_init(&b, 16 * 1024);
	if (names_format(&out->sans, &b) != 0 || buf_append(&b, "", 1) != 0) {
		buf_free(&b);
		lerr_set(e, LERR_INTERNAL, "cannot format names");
		goto out;
	}
	out->names = (char *)buf_steal(&b, NULL);
	rc = 0;
out:
	if (rc != 0)
		sign_out_free(out);
	return rc;
}

void
sign_out_free(struct sign_out *o)
{
	if (o == NULL)
		return;
	gnutls_free(o->der.data);
	o->der.data = NULL;
	o->der.size = 0;
	names_free(&o->sans);
	free(o->names);
	o->names = NULL;
}

int
sign_crl(const struct sign_ctx *c, enum sign_generation gen, const struct crl_params *p,
	 gnutls_datum_t *der, struct lerr *e)
{
	if (gen == SIGN_GEN_PREVIOUS) {
		if (c->prev_key == NULL)
			return lerr_set(e, LERR_NOT_FOUND,
					"the signer holds no previous generation's issuing CA");
		return crl_make(p, c->prev_chain[0], c->prev_key, der, e);
	}
	return crl_make(p, c->chain[0], c->key, der, e);
}
