/*
 * trust.h - the device's trust store: which roots a trust bundle leaves
 * it, and whether a chain the gateway sent leads to one of them.
 *
 * Owns: the rule for replacing the roots a device trusts by the roots of
 * the gateway's trust bundle, and the check of a chain against those
 * roots. The new store is exactly the bundle's roots, in bundle order,
 * each either trusted already (byte for byte) or accepted on a voucher:
 * a certificate of that root's subject and key in the bundle that
 * verifies under a root trusted already or under a root accepted earlier
 * in the same merge (the gateway's primary root vouching for its backup
 * root, or in a rollover the old root for the new one, RFC 7030 §4.1.3's
 * NewWithOld, and the new root for the backup). A bundle holding a root
 * nothing vouches for is refused whole: a device takes no part of a
 * bundle that was tampered with. A trusted root the bundle no longer
 * lists is dropped, and named to the caller: that is how a root the
 * gateway distrusts (a rollover finished, a compromise) leaves the
 * device. A bundle that would leave no root is refused, so the roots the
 * fetch was verified with stay unless at least one root replaces them.
 * Pure over GnuTLS, so the unit tests drive it without a network;
 * cmd_trust.c does the fetching and the writing, device.c the chain check
 * after an enrolment or renewal.
 */
#ifndef LANCA_CLIENT_TRUST_H
#define LANCA_CLIENT_TRUST_H

#include <gnutls/gnutls.h>
#include "common/lerr.h"

#define TRUST_STORE_MAX		16	/* roots a device keeps */
#define TRUST_BUNDLE_CERTS_MAX	16	/* certificates a bundle may hold */
#define TRUST_CHAIN_MAX		8	/* certificates a chain may hold */

/* A root the merge dropped: its subject and SHA-256, for the message. */
struct trust_dropped {
	char subject[256];
	char sha256[65];	/* lower-case hex of the DER's SHA-256 */
};

/* What a merge did. */
struct trust_result {
	unsigned kept;		/* roots the new store holds */
	unsigned added;		/* of them, accepted on a voucher in this merge */
	unsigned ndropped;	/* roots of the old store it no longer holds */
	struct trust_dropped dropped[TRUST_STORE_MAX];
};

/*
 * Merges bundle (PEM, as GET /trust-bundle.pem serves it) into store (PEM:
 * the roots trusted now, at least one). On success *out (gnutls_malloc'd:
 * the caller gnutls_frees it) holds the bundle's roots in bundle order,
 * each once, and *res says how many were new and which roots of store
 * were dropped. Refuses (-1 with e naming the certificate and why; *out
 * empty) a store or bundle that does not parse, is empty or holds more
 * than its bound; a bundle with a new root that is not a CA, not signed by
 * its own key, or that no voucher leads to from store; and a bundle that
 * lists no root at all.
 */
int trust_merge(const gnutls_datum_t *store, const gnutls_datum_t *bundle, gnutls_datum_t *out,
		struct trust_result *res, struct lerr *e);

/*
 * Whether chain[0..n) (leaf first, as the gateway sent it, at most
 * TRUST_CHAIN_MAX) verifies up to one of the roots in store (PEM) at the
 * current time. During a rollover the chain carries a cross-certificate
 * that only a device trusting the old root needs: the paths from the leaf
 * through the chain's certificates, each the issuer by name of the one
 * before, are tried in the chain's order (the leaf alone, then longer;
 * each checked by gnutls_x509_trust_list_verify_crt), so leaf → issuing
 * → NewWithOld → old root and leaf → issuing → new root both verify.
 * Returns 0, or -1 with e saying why the chain as sent failed.
 */
int trust_verify_chain(const gnutls_datum_t *store, gnutls_x509_crt_t *chain, unsigned n,
		       struct lerr *e);

#endif
