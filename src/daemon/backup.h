/*
 * backup.h - a state directory as one backup file, and back again
 * (`lanca backup`, `lanca restore`).
 *
 * Owns: which files a backup holds and the modes they come back with
 * (backup.c's table), its META record, and the checks a restore passes
 * before it commits. The file's format and encryption are
 * ca/backupfile.h's.
 *
 * A backup holds, in this order: META (JSON: format, lanca's version,
 * when, the schema, the root's fingerprint, the certificate count, and
 * whether the CA keys are under a passphrase); keys/ (the CA keys, the
 * chain, signer.conf, the audit key, and after a rollover the previous
 * generation's files); the gateway's key and chain, root.pem and
 * backup-root.pem; then lanca.db as SQLite's online backup made it, the
 * database as of one commit while the daemon goes on writing. keys/ is
 * read first: a certificate the store holds was then signed by keys that
 * are in the backup. It never holds the backup root's key (it is never
 * on the gateway: backuproot.h).
 *
 * A restore writes into a new directory beside DIR, checks it whole, and
 * only then renames it to DIR (absent or empty): the stream authenticates
 * to its end; every file named in the table, each once, with its size;
 * PRAGMA integrity_check; the chain keys/root.pem -> keys/issuing.pem
 * verifies and each CA key matches its certificate; the store's root is
 * keys/root.pem and root.pem; and the audit chain verifies under
 * keys/audit.pub. Any failure removes what was written and names the
 * reason; DIR is left as it was.
 */
#ifndef LANCA_DAEMON_BACKUP_H
#define LANCA_DAEMON_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include "ca/backupfile.h"
#include "common/lerr.h"
#include "common/p11key.h"

/* The temporary files a backup makes: its own beside FILE until it is
 * whole (ciphertext), and the store's snapshot in the state directory
 * (the store in clear, where the store is). backup_sweep removes those a
 * crash left. */
#define BACKUP_TMP_INFIX	".tmp-"
#define BACKUP_SNAPSHOT_PREFIX	".snapshot-"
/* Removes what an interrupted backup left: snapshots in state_dir, and in
 * dir (NULL: none) files named prefix...TMP_INFIX...; never one a running
 * backup holds (flock), nor one this process cannot open. */
void backup_sweep(const char *state_dir, const char *dir, const char *prefix);

struct backup_opts {
	const char *pass;		/* NULL: plain (--insecure-plaintext) */
	size_t pass_len;
	const struct bkf_kdf *kdf;	/* NULL: the default cost */
};

/* What a backup holds (what backup_write wrote, what restore found). */
struct backup_summary {
	int64_t created;		/* Unix time */
	int schema;			/* the store's schema version */
	int64_t certificates;
	int keys_encrypted;		/* the CA keys are under a passphrase */
	int sealed;			/* the backup itself is encrypted */
	unsigned files;			/* files, lanca.db included */
	uint64_t bytes;			/* the backup file's size */
	char root_fp[65];		/* SHA-256 of the root, hex */
	char version[32];		/* the lanca that wrote it */
	/* The issuing CA's key is in a PKCS#11 token: its URL (which the
	 * backup holds instead of the key); "" for a key file. */
	char token_key[P11KEY_URL_MAX];
	int root_in_token;		/* the root's key is a token's too */
};

/* Writes a backup of dir to out, which must not exist: through a
 * temporary file beside it, made durable, then given its name. 0 with s
 * filled, or -1 with e (nothing left under out). */
int backup_write(const char *dir, const char *out, const struct backup_opts *o,
		 struct backup_summary *s, struct lerr *e);

/* The daemon's scheduled backup: as backup_write, sealed to `to` (no
 * passphrase on the gateway), its END tag from tag(tag_ctx) (the signer,
 * which holds the author key), with keys/ as the signer sealed it to the
 * same recipient (signer_backup_keys; keys_encrypted: under the CA keys'
 * own passphrase) and st's snapshot. */
struct store;
int backup_write_sealed(const char *dir, const char *out, const struct bkf_recipient *to,
			bkf_tag_fn tag, void *tag_ctx, const unsigned char *keys, size_t keys_len,
			int keys_encrypted, struct store *st, struct backup_summary *s,
			struct lerr *e);

struct restore_opts {
	const char *pass;		/* the backup's passphrase (NULL for a plain one) */
	size_t pass_len;
	const char *keys_pass;		/* the CA keys' passphrase, when they have one */
	const char *user;		/* hand the daemon's files to USER (handover.h) */
	int allow_plain;		/* a plain backup is restored (--insecure-plaintext) */
	const char *root_fp;		/* the root it must hold (SHA-256 hex), or NULL */
};

/* Restores the backup file in into dir (absent or empty), after every
 * check above. 0 with s filled, or -1 with e and dir as it was. */
int restore_run(const char *in, const char *dir, const struct restore_opts *o,
		struct backup_summary *s, struct lerr *e);

#endif
