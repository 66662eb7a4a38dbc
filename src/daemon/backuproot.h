/*
 * backuproot.h - the backup root: a second self-signed root, made beside
 * the primary one, whose private key leaves the gateway at once.
 *
 * Owns: making it (same name constraints as the primary root, its own
 * key), the certificate by which the primary root vouches for its key
 * (the "cross-certificate" a device needs before it accepts a new root:
 * lanca-enroll trust refresh), writing its key once, encrypted, to a file
 * the admin takes offline, and recording it in the store (cas: role
 * "backup-root", state "offline") and the state directory
 * (STATE_BACKUP_ROOT_PEM). Its key is never kept here: it is generated,
 * written and wiped in this one call. Also the admin's confirmation that
 * the key file was stored. Callers: `lanca init` (init.c) and `lanca
 * backup-root` (cli/cmd_backup_root.c). What devices are told to trust is
 * trustbundle.h's.
 */
#ifndef LANCA_BACKUPROOT_H
#define LANCA_BACKUPROOT_H

#include <stdint.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include "ca/keystore.h"
#include "common/lerr.h"

struct store;

/* Where the backup root stands, for status and the web console. */
enum backuproot_state {
	BACKUPROOT_NONE = 0,		/* none was made: devices trust one root */
	BACKUPROOT_UNCONFIRMED,		/* made; the admin has not said the key is stored */
	BACKUPROOT_CONFIRMED,		/* made and its key stored offline */
};
/* "none", "unconfirmed", "confirmed". */
const char *backuproot_state_name(enum backuproot_state st);
/* What status and the web console warn of in state st, or NULL. */
const char *backuproot_warning(enum backuproot_state st);

struct backuproot_opts {
	const char *dir;		/* state directory: its STATE_BACKUP_ROOT_PEM */
	const char *name;		/* site name: subject OU "NAME Backup Root CA" */
	enum keystore_type key_type;
	const char *key_out;		/* new file for the encrypted key (must not exist) */
	const char *pass;		/* its passphrase: required, not empty */
};

/*
 * Makes the backup root under primary (the active root, whose key is
 * primary_key): a new key, its self-signed certificate and the primary
 * root's certificate of it; writes the key to o->key_out as PKCS#8
 * encrypted with PBES2/AES-256 (keystore_write), then records both
 * certificates (durable, audited) and writes the certificate's PEM into
 * o->dir. The key is wiped whatever happens. Refuses (LERR_CONFLICT) when
 * a backup root exists. fp_colon (may be NULL) receives its SHA-256
 * fingerprint as browsers show it. 0 or -1 with e.
 */
int backuproot_create(struct store *s, gnutls_x509_crt_t primary, gnutls_privkey_t primary_key,
		      const struct backuproot_opts *o, char fp_colon[96], struct lerr *e);

/* The backup root's state from the store (*ca_id, may be NULL, receives
 * its row when there is one). 0 or -1 with e. */
/* 0 if key_out's directory is outside dir; -1 with e if it is dir or
 * inside it: the backup root's key must not stay with the gateway's state
 * (init asks before it builds anything, backuproot_create again). */
int backuproot_outside(const char *dir, const char *key_out, struct lerr *e);
int backuproot_state(struct store *s, enum backuproot_state *st, int64_t *ca_id,
		     struct lerr *e);

/* Records that the admin stored the key file offline (audited
 * "backup-root-confirm" with actor). LERR_NOT_FOUND without a backup
 * root, LERR_CONFLICT when it was confirmed already. 0 or -1 with e. */
int backuproot_confirm(struct store *s, const char *actor, struct lerr *e);

#endif
