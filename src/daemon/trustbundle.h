/*
 * trustbundle.h - the current trust bundle: every root devices should
 * trust now, and the certificates by which a root they already trust
 * vouches for a new one.
 *
 * Owns: which CAs of the store are in the bundle, in which order and with
 * which role, and the bundle's PEM form as served (GET /trust-bundle.pem,
 * EST /cacerts, the web page, the policy files of `lanca export policy`).
 * Order: the primary (active) root first, then the backup root, then the
 * cross-certificates (each a root's key certified by the primary root:
 * the voucher lanca-enroll trust refresh needs before it accepts that
 * root). Root rollover adds the next root and its cross-certificates
 * (OldWithNew, NewWithOld, RFC 7030 §4.1.3) as more roles.
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

#define TRUSTBUNDLE_MAX		8	/* entries (roots and cross-certificates) */

struct store;

enum trust_role {
	TRUST_PRIMARY = 1,	/* the active root: the anchor of today's chains */
	TRUST_BACKUP,		/* the backup root: its key is offline */
	TRUST_CROSS,		/* a root's key certified by the primary (not an anchor) */
};
/* "primary", "backup", "cross". */
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
};

struct trust_bundle {
	struct trust_entry entry[TRUSTBUNDLE_MAX];
	size_t n;
	/* The anchors alone (PRIMARY and BACKUP), primary first: borrowed
	 * from entry[], for writers that want a list of roots. */
	gnutls_x509_crt_t roots[TRUSTBUNDLE_MAX];
	size_t nroots;
	gnutls_datum_t pem;		/* every entry's PEM, in order: what is served */
	char etag[72];			/* "\"<SHA-256 of pem, hex>\"", quotes included */
};

/*
 * Loads the current bundle from the store into b (freed with
 * trustbundle_free, also after a failure). The primary root is required
 * (LERR_NOT_FOUND without one); a backup root comes with its cross-
 * certificate, which must name the primary root as its issuer and carry
 * the backup root's subject and key (LERR_INVARIANT otherwise: the store
 * was changed behind lanca's back). 0 or -1 with e.
 */
int trustbundle_load(struct store *s, struct trust_bundle *b, struct lerr *e);
void trustbundle_free(struct trust_bundle *b);	/* NULL-safe; b may be reused */

/* The first entry of role r, or NULL. */
const struct trust_entry *trustbundle_find(const struct trust_bundle *b, enum trust_role r);

#endif
