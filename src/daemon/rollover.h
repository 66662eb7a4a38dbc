/*
 * rollover.h - root rollover: the next root and issuing CA, the
 * certificates by which the old and new roots vouch for each other, and
 * the switch of the signer's keys from one generation to the next.
 *
 * Owns: `lanca rollover start|status|finish` (cli/cmd_rollover.c is the
 * shell around it) and the crash-safe swap of keys/: a new generation is
 * built complete in DIR/.rollover/keys (new keys and chain, the old
 * generation's issuing CA as previous-*, the audit key), the store records
 * the rollover, and only then does one renameat2(RENAME_EXCHANGE) put it
 * in place of keys/. rollover_recover() finishes or undoes a swap that a
 * crash interrupted, by what the store says: `serve` calls it before the
 * signer starts. Nothing here runs while `serve` does (rollover_lock):
 * the signer loads its keys once, at start.
 *
 * With --to-backup (a compromise, or a primary key lost) the offline
 * backup root becomes the new root: its key comes back from the admin's
 * file, the old issuing CA is revoked, the old root distrusted (out of
 * the trust bundle with everything it signed) and its keys destroyed.
 * Which roots devices are told to trust is trustbundle.h's; the CRLs of
 * both issuing CAs are revocation.h's.
 */
#ifndef LANCA_ROLLOVER_H
#define LANCA_ROLLOVER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include "ca/keystore.h"
#include "common/lerr.h"

struct names;
struct store;

#define ROLLOVER_STAGE		".rollover"	/* DIR/.rollover/keys: the next keys/ */
#define ROLLOVER_LOCK		"lanca.lock"	/* held by serve and by start|finish */

/* Takes DIR/lanca.lock (flock, exclusive, not waiting): `serve` holds it
 * from before it recovers a switch until it exits, `rollover start` and
 * `finish` while they run, so neither changes keys/ under the other.
 * LERR_CONFLICT when another holds it. *fd is released with
 * rollover_unlock (-1 is fine). 0 or -1 with e. */
int rollover_lock(const char *dir, int *fd, struct lerr *e);
void rollover_unlock(int fd);

struct rollover_opts {
	const char *dir;		/* the state directory */
	const char *pass;		/* passphrase of keys/ (NULL: unencrypted keys) */
	const char *backup_key;		/* --to-backup: the backup root's key file, or NULL */
	const char *backup_pass;	/* its passphrase */
	enum keystore_type key_type;	/* for the new keys */
	const char *crl_url;		/* the new CA's CRL URL prefix; NULL: derived */
	const char *actor;		/* for the audit log */
};

struct rollover_started {
	int64_t id;
	char root_fp[96], issuing_subject[256], crl_url[256];
	int compromise;
};

/* Starts a rollover (see above); refuses while one is under way
 * (LERR_CONFLICT). 0 or -1 with e. A failure before the record leaves
 * nothing recorded and keys/ untouched; one after it (the switch itself)
 * is finished by the next serve or start|finish (rollover_recover). The
 * caller holds rollover_lock. */
int rollover_start(struct store *s, const struct rollover_opts *o, struct rollover_started *out,
		   struct lerr *e);

/* A new issuing CA: a new key of type t (*key_out, the caller's), and its
 * certificate (*out) signed by root/root_key: O "lanca", OU ou, no CN,
 * path length 0, name constraints permitted, valid from now for
 * POLICY_ISSUING_YEARS or until root ends. Its serial is reserved in s.
 * What a rollover makes, and what a gateway joining a site gets
 * (join.h). 0 or -1 with e. */
int rollover_make_issuing(struct store *s, enum keystore_type t, const char *ou,
			  const struct names *permitted, gnutls_x509_crt_t root,
			  gnutls_privkey_t root_key, time_t now, gnutls_x509_privkey_t *key_out,
			  gnutls_x509_crt_t *out, struct lerr *e);

/* Retires the old root of the rollover under way (it leaves the trust
 * bundle; its NewWithOld stays unless distrusted) and destroys its key.
 * The old issuing CA's key stays in keys/ for its CRLs. 0 or -1 with e. */
int rollover_finish(struct store *s, const char *dir, const char *actor, struct lerr *e);

/* Where the newest rollover stands, for `lanca rollover status`. */
struct rollover_status {
	int any;			/* 0: there was none */
	int64_t id, started_at, finished_at;
	int compromise;
	char old_root[256], new_root[256];
	int64_t devices;		/* devices holding a valid certificate */
	int64_t refreshed;		/* of them, fetched the new bundle since the start */
	int64_t renewed;		/* of them, renewed under the new issuing CA */
};
int rollover_status(struct store *s, struct rollover_status *st, struct lerr *e);

/* What recovery and serve's start check need from the store, read at
 * once: `serve` reads it as the daemon's user, which owns the store, and
 * acts on keys/ as root, which owns that (handover.h). */
struct rollover_view {
	int finished;			/* the newest rollover is finished */
	char issuing_fp[65];		/* the active issuing CA's SHA-256, hex */
	char issuing_subject[256];
	unsigned char *root_der;	/* the primary root */
	size_t root_der_len;
	int backup_root;		/* an offline backup root is on record */
};
/* 0 or -1 with e; free v with rollover_view_free (also after a failure). */
int rollover_view_read(struct store *s, struct rollover_view *v, struct lerr *e);
void rollover_view_free(struct rollover_view *v);

/* Completes or undoes a swap of keys/ that a crash interrupted (see
 * above); does nothing when DIR/.rollover does not exist. Also keeps
 * DIR/root.pem the primary root's. 0 or -1 with e. rollover_recover reads
 * the view from s first. */
int rollover_recover_view(const char *dir, const struct rollover_view *v, struct lerr *e);
int rollover_recover(const char *dir, struct store *s, struct lerr *e);

/* Checks that keys/issuing.pem is the store's active issuing CA (when
 * keys/ has one): `serve` refuses to start a signer of another generation
 * than the one it records certificates under. 0 or -1 with e. */
int rollover_check_keys(const char *dir, const struct rollover_view *v, struct lerr *e);

#endif
