/*
 * x509.h - building and checking certificates through GnuTLS.
 *
 * Owns: every certificate lanca makes (root, issuing CA, device and gateway
 * leaves) and the checks a new certificate passes before anyone sees it.
 * Never copies extensions from a request: each builder sets the whole
 * extension list itself. No ASN.1 by hand.
 * Callers: signer/sign.c (leaves), daemon/init.c (the CA hierarchy), anything
 * that needs a fingerprint or a certificate's dates.
 */
#ifndef LANCA_X509_H
#define LANCA_X509_H

#include <stddef.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include "common/lerr.h"
#include "ca/names.h"

#define X509_SERIAL_LEN	20	/* bytes; first byte 0x01..0x7f: positive, minimal DER, >= 127 random bits */

/* What a CA certificate needs. */
struct x509_ca_params {
	const char *cn;			/* subject CN, may be NULL (see below) */
	const char *org;		/* subject O, may be NULL */
	const char *ou;			/* subject OU, may be NULL */
	const struct names *permitted;	/* critical nameConstraints permitted subtrees */
	unsigned pathlen;		/* basicConstraints pathLenConstraint */
	time_t not_before, not_after;
	const unsigned char *serial;	/* X509_SERIAL_LEN bytes */
};

#define X509_KEY_ID_LEN	32	/* SHA-256 key id of a SubjectPublicKeyInfo */
#define X509_SKI_LEN	20	/* leaf SKI: leftmost 160 bits of the key id */
#define X509_CHAIN_MAX	4	/* CAs an x509_issuer holds, issuer first */
#define X509_KEYID_MAX	64	/* SKI/AKI bytes we are prepared to carry */

/* What a leaf needs; every field was checked by policy.c first. */
struct x509_leaf_params {
	gnutls_pubkey_t pubkey;		/* the subject's key */
	/* SHA-256 of pubkey's DER SubjectPublicKeyInfo (X509_KEY_ID_LEN
	 * bytes, as csr.c computes it), or NULL to compute it here. The
	 * leaf's SKI is its first X509_SKI_LEN bytes, and the check compares
	 * the new certificate's key against it. */
	const unsigned char *key_id;
	/* The subject CN (the device id); "" for none, when sans names the
	 * subject alone, in a critical extension (a server's addresses). */
	const char *cn;
	const struct names *sans;	/* already filtered by policy */
	time_t not_before, not_after;
	const unsigned char *serial;	/* X509_SERIAL_LEN bytes */
	const char *crl_url;		/* CRL distribution point, may be NULL */
};

/*
 * An issuer: a CA chain (issuer first, root last), optionally the issuing
 * key, and everything a leaf takes from them that is the same for every
 * leaf, prepared once: the DER of the shared extensions (basicConstraints,
 * keyUsage, EKU, AKI, CRL distribution point), the issuer's raw DN, each
 * CA's validity and its parsed nameConstraints. Read-only once made, so
 * several threads may sign and check with one issuer at once.
 */
struct x509_issuer;

/* Makes an issuer for chain[0..nchain) (at most X509_CHAIN_MAX; the
 * certificates and key are borrowed and must outlive it). key may be NULL
 * for an issuer that only checks; otherwise it must be chain[0]'s key
 * (LERR_INVARIANT if not). crl_url may be NULL or "" for none. *out is
 * freed with x509_issuer_free. Returns 0 or -1 with e. */
int x509_issuer_new(gnutls_x509_crt_t *chain, size_t nchain, gnutls_privkey_t key,
		    const char *crl_url, struct x509_issuer **out, struct lerr *e);
void x509_issuer_free(struct x509_issuer *is);	/* NULL-safe */

/* x509_make_leaf and x509_check_leaf with a prepared issuer (the fast
 * path: nothing about the CAs is computed again). p->crl_url is honoured:
 * the prepared extension is used when it names the issuer's URL. */
int x509_issuer_make_leaf(const struct x509_issuer *is, const struct x509_leaf_params *p,
			  gnutls_datum_t *der, struct lerr *e);
int x509_issuer_check_leaf(const struct x509_issuer *is, const gnutls_datum_t *der,
			   const struct x509_leaf_params *p, struct lerr *e);

/* A self-signed root: CA:TRUE critical with pathlen, keyUsage
 * keyCertSign+cRLSign critical, SKI, critical nameConstraints.
 * *out is a new certificate the caller frees. */
int x509_make_root(const struct x509_ca_params *p, gnutls_privkey_t key,
		   gnutls_x509_crt_t *out, struct lerr *e);
/* An intermediate signed by issuer/issuer_key for subject_key (same
 * extensions as a root, plus AKI). GnuTLS checks the CN of a certificate
 * without DNS SANs or EKU against its issuers' name constraints as if it
 * were a DNS name, CAs included: an intermediate under a constrained root
 * must have no CN (name it with O/OU) or a CN inside the constraints.
 * x509_make_ca checks the new CA against the issuer's constraints and
 * refuses (LERR_INVARIANT) one that would not verify. */
int x509_make_ca(const struct x509_ca_params *p, gnutls_pubkey_t subject_key,
		 gnutls_x509_crt_t issuer, gnutls_privkey_t issuer_key,
		 gnutls_x509_crt_t *out, struct lerr *e);
/* A cross-certificate: subject's own name, key, pathlen and (permitted:
 * its) name constraints, signed by issuer/issuer_key, valid from now
 * until not_after or the end of either root, whichever comes first. Used
 * for a root's voucher for another root (the backup root; NewWithOld and
 * OldWithNew in a rollover). Unlike x509_make_ca it does not check the
 * subject's CN against the issuer's constraints: a GnuTLS client reading
 * a CN "X Root CA" as a DNS name refuses chains through such a voucher,
 * while OpenSSL's and browsers' (which read only a leaf's CN) accept
 * them. 0 or -1 with e. */
int x509_make_cross(gnutls_x509_crt_t subject, const struct names *permitted,
		    gnutls_x509_crt_t issuer, gnutls_privkey_t issuer_key, time_t not_after,
		    const unsigned char *serial, gnutls_x509_crt_t *out, struct lerr *e);
/* Whether GnuTLS's verification status of a voucher (a cross-certificate
 * checked under the root that signed it) says it holds: 0, or only the
 * signer's constraints failed. GnuTLS reads the CN of a certificate
 * without SANs or EKU as a DNS name and checks it against the issuer's
 * name constraints; a root made before lanca named its roots without a CN
 * ("X Root CA") fails that under any other constrained root, although
 * its signature, dates and the issuer's CA rights hold (GnuTLS reports a
 * bad signature as GNUTLS_CERT_SIGNATURE_FAILURE beside it, so this never
 * lets one through). Name constraints govern the names a chain vouches
 * for in leaves, which the leaves are checked for. */
static inline int
x509_voucher_status_ok(unsigned status)
{
	return status == 0 ||
	       status == (GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE);
}

/* A leaf: CA:FALSE critical, keyUsage digitalSignature (+keyEncipherment
 * for RSA) critical, EKU serverAuth+clientAuth, SAN (critical when the
 * subject is empty... never here: CN is always set), SKI (the first
 * X509_SKI_LEN bytes of the SHA-256 key id), AKI, CRL DP.
 * Signs with issuer_key, which must be issuer's key (LERR_INVARIANT
 * otherwise), and returns the DER in *der (gnutls_free it). Prepares the
 * issuer on every call: repeated issuance uses x509_issuer_make_leaf. */
int x509_make_leaf(const struct x509_leaf_params *p, gnutls_x509_crt_t issuer,
		   gnutls_privkey_t issuer_key, gnutls_datum_t *der, struct lerr *e);

/* Parses der and checks that it is what a leaf must be: it parses, is
 * CA:FALSE, has the expected serial and validity inside every CA in chain
 * (issuer first, root last), names chain[0] as its issuer, carries the
 * expected subject key, and that every CA's
 * name constraints accept it (gnutls_x509_name_constraints_check_crt).
 * The signature is not verified: leaves are only signed through an issuer
 * whose key was matched with chain[0] (x509_issuer_new). Returns 0 or -1
 * with e (LERR_INVARIANT). Repeated checks use x509_issuer_check_leaf. */
int x509_check_leaf(const gnutls_datum_t *der, const struct x509_leaf_params *p,
		    gnutls_x509_crt_t *chain, size_t nchain, struct lerr *e);

/* Checks that key is the private half of crt's public key (crt named subj
 * in the message). Returns 0 or -1 with e (LERR_INVARIANT). */
int x509_key_matches(gnutls_privkey_t key, gnutls_x509_crt_t crt, const char *subj,
		     struct lerr *e);
/* Signs fresh random bytes with key and verifies the signature with crt's
 * public key: a key in a token is usable now (its session, its files, its
 * PIN), not only present. 0, or -1 with e naming what failed. */
int x509_key_signs(gnutls_privkey_t key, gnutls_x509_crt_t crt, struct lerr *e);

/* Verifies a two-CA chain with GnuTLS, at the current time: root is a CA,
 * self-issued, and its self-signature verifies; issuing is a CA, is not
 * root, and verifies under root (signature, issuer name, both valid now).
 * Returns 0 or -1 with e (LERR_INVARIANT) saying which step failed. */
int x509_verify_ca_chain(gnutls_x509_crt_t root, gnutls_x509_crt_t issuing, struct lerr *e);

/* The key id what issuer signs names it by (the AKI of a leaf or CRL):
 * its SKI, or for an issuer without one the SHA-1 key id GnuTLS derives
 * from its key, which is what its SKI would be. *len receives the
 * length. 0, or a GnuTLS error code (< 0). */
int x509_authority_key_id(gnutls_x509_crt_t issuer, unsigned char id[X509_KEYID_MAX],
			  size_t *len);
/* The digest that goes with a signing key: SHA-384 for P-384 (as RFC
 * 5480 pairs them), SHA-512 for P-521, SHA-256 for P-256 and RSA,
 * GNUTLS_DIG_UNKNOWN (GnuTLS's choice) for EdDSA. */
gnutls_digest_algorithm_t x509_sign_digest(gnutls_privkey_t key);

/* Helpers. */
int x509_import(const unsigned char *data, size_t len, gnutls_x509_crt_t *out, struct lerr *e); /* PEM or DER */
int x509_export_der(gnutls_x509_crt_t crt, gnutls_datum_t *out);  /* gnutls_free out->data */
int x509_export_pem(gnutls_x509_crt_t crt, gnutls_datum_t *out);
int x509_fingerprint(gnutls_x509_crt_t crt, char hex[65]);	/* SHA-256 of DER, lower-case hex */
/* "AB:CD:..." form (95 bytes + NUL) as browsers show it. */
int x509_fingerprint_colon(gnutls_x509_crt_t crt, char out[96]);
/* Fills the subject DN as text (RFC 4514) into out. */
int x509_subject(gnutls_x509_crt_t crt, char *out, size_t n);
/* Reads a certificate's SANs into n (after names_init). */
int x509_sans(gnutls_x509_crt_t crt, struct names *n);
/* Serial as lower-case hex. */
int x509_serial_hex(gnutls_x509_crt_t crt, char *out, size_t n);
/* SHA-256 of the certificate's SubjectPublicKeyInfo (the device key id). */
int x509_key_id(gnutls_x509_crt_t crt, unsigned char out[32]);

#endif
