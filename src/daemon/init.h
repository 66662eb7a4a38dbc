/*
 * init.h - `lanca init`: creating a state directory (its layout is
 * state.h's), the CA hierarchy in it, the signer's files in keys/
 * (signer/files.h) and the gateway's first certificate.
 */
#ifndef LANCA_INIT_H
#define LANCA_INIT_H

#include <stddef.h>
#include <gnutls/x509.h>
#include "ca/keystore.h"
#include "ca/names.h"
#include "daemon/auth.h"
#include "common/lerr.h"

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
	/* A postgresql:// URL (dburl.h): the store is that database, and
	 * DIR/store.url names it (state.h). NULL: the SQLite file lanca.db. */
	const char *store_url;
	/* The backup root (backuproot.h): made when backup_key_out is set,
	 * its key written there encrypted with backup_pass (required then). */
	const char *backup_key_out;
	const char *backup_pass;
	/* The issuing CA's key, and the root's, in a PKCS#11 token (NULL: a
	 * key file): the key each names is used, or made there when the
	 * token holds none (*issuing_made, *root_made then set);
	 * keys/issuing.key and keys/root.key are their records. */
	const struct p11key_ref *issuing_token, *root_token;
	int *issuing_made, *root_made;
};

/* Creates the whole state directory o->dir, or nothing: built in a
 * sibling temporary directory and renamed into place when complete.
 * Refuses a dir that exists and is not empty. The store holds the hash
 * of a new setup code (auth.h) for the first administrator; the code
 * itself goes to setup_code when it is not NULL, for `lanca init` to
 * print (and the caller to wipe). With o->backup_key_out, the backup root
 * is made too and its key written there; a failed init removes that file
 * again. With o->store_url, the store is that PostgreSQL database, and
 * what a failed init wrote into it is not undone here. 0 or -1 with e. */
int state_init(const struct state_init_opts *o, char setup_code[AUTH_SETUP_CODE_SIZE],
	       struct lerr *e);

/* 0 if path does not exist or is an empty directory (where a new state
 * directory may go: `lanca init`, `lanca restore`); -1 with e otherwise. */
int init_dir_free(const char *path, struct lerr *e);

/* What `lanca join` (join.h) makes as init does. init_hostname: this
 * machine's short host name as a lower-case DNS label in out, or NULL
 * when it is none. init_gateway_names: the names a gateway's own
 * certificate carries (sans, names or addresses; HOST.local when host is
 * not NULL; localhost and the loopback addresses). init_root_pem: writes
 * the root to DIR/root.pem (0644), for people and scripts. */
const char *init_hostname(char *out, size_t n);
int init_gateway_names(const char *const *sans, size_t nsans, const char *host, struct names *n,
		       struct lerr *e);
int init_root_pem(const char *dir, gnutls_x509_crt_t root, struct lerr *e);

#endif
