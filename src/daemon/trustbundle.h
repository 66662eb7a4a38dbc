/*
 * trustbundle.h - the current trust bundle: every root devices should
 * trust now, and the certificates by which a root they already trust
 * vouches for a new one.
 *
 * Owns: which CAs of the store are in the bundle, in which order and with
 * which role, and the bundle's PEM form as served (GET /trust-bundle.pem,
 * EST /cacerts, the web page, the policy files of `lanca export policy`).
 * Order: the primary root first (during a rollover still the old root,
 * which every device trusts), then during a rollover the new root, then
 * the backup roots, then the cross-
 * certificates: each a bundle root's subject and key certified by another
 * root, the voucher lanca-enroll trust refresh needs before it accepts
 * that root (the primary's for a backup root; in a rollover NewWithOld
 * and OldWithNew, RFC 7030 §4.1.3, and the new root's for the backup
 * roots). After `lanca rollover finish` the new root is the primary and
 * the old one is no longer listed, but NewWithOld stays; a distrusted root (a compromise) is listed
 * nowhere, nor is anything it signed, so a device that refreshes drops
 * it.
 * Callers: http/ (downloads, EST, page), cli/ (status, export policy).
 */
#ifndef LANCA_TRUSTBUNDLE_H
#define LANCA_TRUSTBUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "common/lerr.h"

#define TRUSTBUNDLE_MAX		16	/* entries (roots and cross-certificates) */

struct store;

enum trust_role {
	TRUST_PRIMARY = 1,	/* the active root: the anchor of today's chains */
	TRUST_BACKUP,		/* the backup root: its key is offline */
	TRUST_CROSS,		/* a root's key certified by another root (not an anchor) */
	TRUST_NEXT,		/* the new root while a rollover is under way */
};
/* "primary", "backup", "cross", "next". */
const char *trust_role_name(enum trust_role r);

struct trust_entry {
	enum trust_role role;
	gnutls_x509_crt_t crt;		/* owned */
	gnutls_datum_t der, pem;	/* owned (gnutls_free) */
	char fp[65];			/* SHA-256 of der, lower-case hex */
	char fp_colon[96];		/* AB:CD:.. as browsers show it */
	char subject[256];
	time_t not_before, not_after;
	int64_t ca_id;			/* the store's cas row (for a cross: the root it vouches for) */
	int64_t confirmed_at;		/* TRUST_BACKUP: when its key was confirmed stored, or 0 */
	int vouches_for;		/* TRUST_CROSS: index of the root it certifies; else -1 */
	int64_t issuer_ca_id;		/* TRUST_CROSS: the root that signed it */
};

struct trust_bundle {
	struct trust_entry entry[TRUSTBUNDLE_MAX];
	size_t n;
	/* The anchors alone (PRIMARY, NEXT, BACKUP), primary first: borrowed
	 * from entry[], for writers that want a list of roots. */
	gnutls_x509_crt_t roots[TRUSTBUNDLE_MAX];
	size_t nroots;
	gnutls_datum_t pem;		/* every entry's PEM, in order: what is served */
	char etag[72];			/* "\"<SHA-256 of pem, hex>\"", quotes included */
};

/*
 * Loads the current bundle from the store into b (freed with
 * trustbundle_free, also after a failure). The primary root is required
 * (LERR_NOT_FOUND without one); a backup root must come with a voucher,
 * and every voucher must carry its root's subject and key and verify under
 * the root that signed it (LERR_INVARIANT otherwise: the store was changed
 * behind lanca's back). 0 or -1 with e.
 */
int trustbundle_load(struct store *s, struct trust_bundle *b, struct lerr *e);
void trustbundle_free(struct trust_bundle *b);	/* NULL-safe; b may be reused */

/* Records that the device whose certificate peer is (the very bytes on
 * record, valid) fetched b, for `lanca rollover status`. LERR_FORBIDDEN
 * for a certificate that is not such a one. 0 or -1 with e. */
int trustbundle_note_fetch(struct store *s, const struct trust_bundle *b, gnutls_x509_crt_t peer,
			   struct lerr *e);

/* The first entry of role r, or NULL. */
const struct trust_entry *trustbundle_find(const struct trust_bundle *b, enum trust_role r);

#endif
