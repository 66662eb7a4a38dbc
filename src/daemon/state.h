/*
 * state.h - the state directory: its layout, `lanca init`, and the CA
 * certificates a running lanca serves.
 *
 * Layout of DIR (0700):
 *   lanca.db            the store (certificates, CAs, settings, audit)
 *   keys/ (0700)        root.key, issuing.key: CA keys, 0600, signer only
 *   gateway.key         the gateway's TLS key (0600, the daemon's own)
 *   gateway.pem         the gateway's certificate chain
 *   root.pem            the root, for people and scripts
 * Owns: creating all of that atomically (a sibling temporary directory,
 * renamed into place only when complete) and loading the public half.
 */
#ifndef LANCA_STATE_H
#define LANCA_STATE_H

#include <stddef.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "common/lerr.h"
#include "ca/names.h"
#include "ca/keystore.h"

#define STATE_DIR_DEFAULT	"/var/lib/lanca"
#define STATE_KEYS		"keys"
#define STATE_ROOT_KEY		"keys/root.key"
#define STATE_ISSUING_KEY	"keys/issuing.key"
#define STATE_GATEWAY_KEY	"gateway.key"
#define STATE_GATEWAY_PEM	"gateway.pem"
#define STATE_ROOT_PEM		"root.pem"
#define STATE_PATH_MAX		4096

struct state_init_opts {
	const char *dir;
	const char *name;		/* site name used in CA subjects */
	const char *const *domains;	/* extra permitted DNS suffixes */
	size_t ndomains;
	const char *const *sans;	/* extra gateway SANs (names or IPs) */
	size_t nsans;
	const struct ipnet *nets;	/* gateway's own ranges (permitted) */
	size_t nnets;
	enum keystore_type key_type;
	const char *passphrase;		/* may be NULL */
	const char *crl_url;		/* may be NULL: http://HOSTNAME.local/crl */
};

/* Creates the whole state directory, or nothing. */
int state_init(const struct state_init_opts *o, struct lerr *e);

/* The public side of the CA hierarchy, as served to clients. */
struct ca_set {
	gnutls_x509_crt_t root, issuing;
	gnutls_datum_t root_der, root_pem, issuing_der, issuing_pem;
	char root_fp[65], issuing_fp[65];	/* SHA-256 hex */
	char root_fp_colon[96], issuing_fp_colon[96];	/* AB:CD:.. (as browsers show it) */
	char root_subject[256], issuing_subject[256];
	time_t root_not_before, root_not_after;
	time_t issuing_not_before, issuing_not_after;
	int64_t issuing_id;			/* store row */
};
struct store;
/* Loads the active root and issuing CA from the store. */
int ca_set_load(struct store *s, struct ca_set *c, struct lerr *e);
void ca_set_free(struct ca_set *c);

/* Joins dir and a relative path from above; -1 if too long. */
int state_path(char out[STATE_PATH_MAX], const char *dir, const char *rel);

#endif
