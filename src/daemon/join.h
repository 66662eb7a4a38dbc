/*
 * join.h - `lanca join`: a gateway joining a site whose store is a
 * PostgreSQL database other gateways share (docs/scaling.md).
 *
 * Owns: making a state directory for a gateway of an existing site. The
 * store is the site's (DIR/store.url names it) and holds the CA
 * hierarchy already. The new gateway signs either
 *  - with an issuing CA of its own: a new key made here, which never
 *    leaves keys/, and its certificate signed by the site's root, whose
 *    key the admin brings for the ceremony (a file or a token's record,
 *    as a rollover to the backup root takes it) and which is used in
 *    memory only; the CA is recorded for this gateway (store_ca_join),
 *    whose store finds it by the gateway's name (state_store_open); or
 *  - with the site's issuing CA, whose key it reaches in a PKCS#11 token
 *    the gateways share (a network HSM): keys/issuing.key is that key's
 *    record, checked against the issuing CA's certificate before
 *    anything is written.
 * No root key is written here. The gateway has a name in the site (DIR/gateway.name, state.h),
 * which keys its own settings in the store (its certificate's names,
 * gateway.h), and a TLS certificate of its own, issued through the same
 * core as every other. Like init, it builds everything beside DIR and
 * renames it into place only when complete.
 */
#ifndef LANCA_JOIN_H
#define LANCA_JOIN_H

#include <stddef.h>
#include "ca/keystore.h"
#include "common/lerr.h"

struct p11key_ref;

struct state_join_opts {
	const char *dir;
	const char *store_url;		/* the site's postgresql:// URL (dburl.h) */
	const char *name;		/* the gateway's name in the site; NULL: the host name */
	const char *const *sans;	/* its certificate's extra names (names or IPs) */
	size_t nsans;
	/* One of the two: */
	const struct p11key_ref *issuing_token;	/* the site's issuing key */
	const char *site_root_key;	/* the site root's key file (or token record) */
	const char *site_root_pass;	/* its passphrase, or NULL */
	/* With site_root_key: */
	const char *pass;		/* passphrase for the new issuing key, or NULL */
	enum keystore_type key_type;	/* of the new issuing key */
	const char *crl_url;		/* its CRL URL (NULL: derived from the site's) */
	const char *actor;		/* for the audit log (required) */
};

/* Makes dir (absent, or an empty directory) a gateway of the site. 0, or
 * -1 with e: a store that holds no CA yet, a token key that is not the
 * site's issuing CA's, a root key that is not the site root's, a root
 * rollover under way, a name another gateway joined with already, and
 * the rest of what init refuses. The name is claimed last, atomically
 * (another join of it meanwhile fails), after DIR is in place. On failure
 * DIR is not left; in the store, the gateway's own settings (its names)
 * may stay, and an issuing CA recorded for it is retired
 * ("gateway-ca-retire"). A join killed half-way leaves its CA recorded
 * but unclaimed: no gateway uses or lists it (store_ca_site_issuing), and
 * the next join of the name retires it; its DIR.join-XXXXXX (the key in
 * it, 0600) is the admin's to remove. */
int state_join(const struct state_join_opts *o, struct lerr *e);

#endif
