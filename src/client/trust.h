/*
 * trust.h - the device's trust store and the rule for growing it.
 *
 * Owns: deciding which roots of a trust bundle the device may add to the
 * roots it trusts. A root already trusted stays; a new root is accepted
 * only when the bundle also carries a certificate of that root's subject
 * and key that verifies under a root the device already trusts (the
 * gateway's primary root vouching for its backup root, or in a rollover
 * the old root for the new one: RFC 7030 §4.1.3's NewWithOld). A bundle
 * holding a root nobody trusted vouches for is refused whole: a device
 * takes no part of a bundle that was tampered with. Nothing is ever
 * dropped here, so the last working root stays. Pure over GnuTLS, so the
 * unit tests drive it without a network; cmd_trust.c does the fetching
 * and the writing.
 */
#ifndef LANCA_CLIENT_TRUST_H
#define LANCA_CLIENT_TRUST_H

#include <gnutls/gnutls.h>
#include "common/lerr.h"

#define TRUST_STORE_MAX		16	/* roots a device keeps */
#define TRUST_BUNDLE_CERTS_MAX	16	/* certificates a bundle may hold */

/*
 * Merges bundle (PEM, as GET /trust-bundle.pem serves it) into store (PEM:
 * the roots trusted now, at least one). On success *out (gnutls_malloc'd:
 * the caller gnutls_frees it) holds every root of store, in its order,
 * then each new vouched-for root of the bundle, and *added how many were
 * new. Refuses (-1 with e naming the certificate and why) a bundle that
 * does not parse, is empty or too large, or holds a new root without a
 * voucher that verifies under store, or that is not a CA.
 */
int trust_merge(const gnutls_datum_t *store, const gnutls_datum_t *bundle, gnutls_datum_t *out,
		unsigned *added, struct lerr *e);

#endif
