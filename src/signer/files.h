/*
 * files.h - the signer's own files, in the state directory's keys/.
 *
 * Owns: their names, the format of signer.conf, writing them (at `lanca
 * init`, and once for a state directory made before they existed, after
 * proving what is written) and reading them back, only from files that
 * belong to the reading user and that nobody else may write.
 *
 * keys/ (0700, root's)
 *   root.key, issuing.key  the CA private keys (PKCS#8, 0600; keystore.h)
 *   root.pem               the root the signer trusts (0644)
 *   issuing.pem            the issuing CA certificate (0644)
 *   signer.conf            the signer's settings (0600), see below
 *   audit.key              the audit log's checkpoint key (Ed25519, 0600;
 *                          ca/auditseal.h gives its one-line format)
 *   audit.pub              its public key (0644), which `lanca audit
 *                          verify` checks the checkpoints with
 *   previous-root.pem, previous-issuing.pem, previous-issuing.key
 *                          after a root rollover, the generation it
 *                          succeeded: its issuing CA's key signs only that
 *                          CA's CRLs, for the leaves it issued (all three
 *                          or none; daemon/rollover.h writes them)
 *   previous-root.key      the old root's key, until `lanca rollover
 *                          finish` (the signer never reads it)
 * The daemon may include this header for the names; it never reads the
 * files (under `serve --user` it cannot), and the signer never reads the
 * daemon's store: what the signer trusts is only what is in keys/.
 *
 * signer.conf: lines "key = value"; blank lines and lines starting with
 * '#' are skipped. Each key once, unknown keys refused, lines at most
 * SIGNER_CONF_LINE_MAX bytes, no control characters. Keys:
 *   crl_url   the CRL distribution point put in every leaf ("" for none)
 */
#ifndef LANCA_SIGNER_FILES_H
#define LANCA_SIGNER_FILES_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include "common/buf.h"
#include "common/lerr.h"

#define SIGNER_KEYS_DIR		"keys"
/* The names inside keys/ (what files.c opens relative to keys/), and the
 * same below the state directory. */
#define SIGNER_ROOT_KEY_NAME	"root.key"
#define SIGNER_ISSUING_KEY_NAME	"issuing.key"
#define SIGNER_ROOT_PEM_NAME	"root.pem"
#define SIGNER_ISSUING_PEM_NAME	"issuing.pem"
#define SIGNER_CONF_NAME	"signer.conf"
#define SIGNER_AUDIT_KEY_NAME	"audit.key"
#define SIGNER_AUDIT_PUB_NAME	"audit.pub"
#define SIGNER_PREV_ROOT_PEM_NAME	"previous-root.pem"
#define SIGNER_PREV_ISSUING_PEM_NAME	"previous-issuing.pem"
#define SIGNER_PREV_ISSUING_KEY_NAME	"previous-issuing.key"
#define SIGNER_PREV_ROOT_KEY_NAME	"previous-root.key"
#define SIGNER_ROOT_KEY		SIGNER_KEYS_DIR "/" SIGNER_ROOT_KEY_NAME
#define SIGNER_ISSUING_KEY	SIGNER_KEYS_DIR "/" SIGNER_ISSUING_KEY_NAME
#define SIGNER_ROOT_PEM		SIGNER_KEYS_DIR "/" SIGNER_ROOT_PEM_NAME
#define SIGNER_ISSUING_PEM	SIGNER_KEYS_DIR "/" SIGNER_ISSUING_PEM_NAME
#define SIGNER_CONF		SIGNER_KEYS_DIR "/" SIGNER_CONF_NAME
#define SIGNER_AUDIT_KEY	SIGNER_KEYS_DIR "/" SIGNER_AUDIT_KEY_NAME
#define SIGNER_AUDIT_PUB	SIGNER_KEYS_DIR "/" SIGNER_AUDIT_PUB_NAME
#define SIGNER_PATH_MAX		4096
#define SIGNER_CONF_LINE_MAX	512
#define SIGNER_CRL_URL_MAX	256

struct signer_conf {
	char crl_url[SIGNER_CRL_URL_MAX];	/* "" for none */
};

/* What the signer trusts, as read from keys/ (all owned). */
struct signer_files {
	gnutls_x509_crt_t root, issuing;
	gnutls_privkey_t key;			/* issuing.key's */
	struct signer_conf conf;
	unsigned char *audit_sk;		/* audit.key's (sodium_malloc'd, 64 bytes) */
	/* The previous generation (a rollover's), or all NULL. */
	gnutls_x509_crt_t prev_root, prev_issuing;
	gnutls_privkey_t prev_key;
};

/* Candidates for a state directory whose keys/ lacks the files: the CA
 * certificates (DER) and CRL URL its store names. Nothing here is
 * trusted until signer_files_adopt has proven it with the keys. */
struct signer_adopt {
	gnutls_datum_t root, issuing;		/* gnutls_malloc'd */
	char crl_url[SIGNER_CRL_URL_MAX];
};
void signer_adopt_free(struct signer_adopt *a);	/* NULL-safe */

/* Sets c from a CRL URL (NULL or "" for none; else http://, no spaces or
 * control characters, shorter than SIGNER_CRL_URL_MAX). 0 or -1 with e. */
int signer_conf_init(struct signer_conf *c, const char *crl_url, struct lerr *e);
/* Parses signer.conf's text (name is the file, for messages). 0 or -1
 * with e naming the line and what is wrong with it. */
int signer_conf_parse(const char *name, const char *text, size_t len, struct signer_conf *c,
		      struct lerr *e);
/* Appends c in the format signer_conf_parse reads. */
int signer_conf_format(const struct signer_conf *c, struct buf *b) LANCA_WUR;

/* Opens dir/keys/ once, for everything read or written in it after: a
 * directory (never a symlink) of the effective user's that nobody else
 * may write, since under `serve --user` that user may rename dir's
 * entries. The descriptor (the caller closes it), or -1 with e. */
int signer_keys_open(const char *dir, struct lerr *e);

/* Writes root.pem, issuing.pem and signer.conf into dir/keys/ (which
 * exists, and is checked as signer_files_read checks it), and a new
 * audit key when there is none (signer_files_audit_key). only_missing
 * != 0 keeps a file that is already there; otherwise an existing file is
 * an error. 0 or -1 with e. */
int signer_files_write(const char *dir, gnutls_x509_crt_t root, gnutls_x509_crt_t issuing,
		       const struct signer_conf *c, int only_missing, struct lerr *e);
/* Makes audit.key (a new key) when it is missing, and audit.pub from
 * audit.key when that is missing: `lanca init` does, and for a state
 * directory made before the audit key, the signer's first start (serve,
 * or a local signer). keys/ is checked as signer_files_read checks it.
 * 0 or -1 with e. */
int signer_files_audit_key(const char *dir, struct lerr *e);
/* How many of root.pem, issuing.pem and signer.conf are missing (0-3). */
int signer_files_missing(const char *dir);
/* Reads the three files, issuing.key (decrypted with pass), audit.key
 * and the previous generation's three files when there are any, refusing
 * a keys/ that is a symlink, and a keys/ or a file that does not belong
 * to the effective user or that others may write; everything is read
 * relative to one descriptor of keys/. Checks nothing about the chain
 * or the key (sign_ctx_load does). On success f owns two certificates
 * and a key: signer_files_free. 0 or -1 with e. */
int signer_files_read(const char *dir, const char *pass, struct signer_files *f,
		      struct lerr *e);
void signer_files_free(struct signer_files *f);	/* NULL-safe */

/* For a state directory made before these files existed: checks keys/
 * as signer_files_read does and, when any file is missing, proves the candidates (the root verifies under its own key and
 * its key is keys/root.key's; the issuing CA verifies under the root and
 * its key is keys/issuing.key's; pass decrypts both) and writes the
 * missing files. Does nothing when none is missing. 0 or -1 with e. */
int signer_files_adopt(const char *dir, const char *pass, const struct signer_adopt *a,
		       struct lerr *e);

/* The files of keys/ a backup holds (daemon/backup.h), in its order:
 * the name below the state directory, the mode a restore gives it,
 * whether a backup needs it, and whether it is secret (read into locked
 * memory). */
struct signer_backup_file {
	const char *name;
	unsigned mode;
	int required, secret;
};
extern const struct signer_backup_file signer_backup_files[];
extern const size_t signer_backup_nfiles;
/* The largest sealed keys/ a signer hands out (one IPC message). */
#define SIGNER_SEALED_KEYS_MAX	(60 * 1024)

struct bkf_recipient;
struct bkf_author;
/* keys/'s files (signer_backup_files) as a backup stream sealed to `to`
 * and tagged with author (ca/backupfile.h): FILE and DATA records, then
 * END. The files' bytes
 * are held only in locked memory, wiped after; what comes out, into
 * malloc'd *blob, is ciphertext that only the passphrase behind `to`
 * opens: the signer makes it at its start for the daemon's scheduled
 * backups. 0 or -1 with e (a required file missing, or over
 * SIGNER_SEALED_KEYS_MAX). */
int signer_files_seal(const char *dir, const struct bkf_recipient *to,
		      const struct bkf_author *author, unsigned char **blob, size_t *len,
		      struct lerr *e);

#endif
