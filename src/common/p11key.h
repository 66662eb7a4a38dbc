/*
 * p11key.h - private keys held in PKCS#11 tokens, named by pkcs11: URLs.
 *
 * Owns: checking a pkcs11: URL (RFC 7512) that names a key; the record of
 * a token key (its URL without any PIN, the module, the PIN file's path
 * and, for the CA's signer, the paths its sandbox lets the module reach:
 * the same "name=value" lines wherever it is kept, never a PIN or key
 * bytes); the process's PKCS#11 layer (one module, or p11-kit's
 * configured ones) and the PIN GnuTLS asks for through it; opening a key
 * in a token, making one there and copying one into it, sensitive and
 * not extractable.
 *
 * Used by lanca-enroll for a device's key (client/devkey.c) and by the
 * CA for its issuing key (ca/keystore.c, in the signer process only).
 * GnuTLS's PKCS#11 layer and PIN callback are one per process, so this
 * module is too: not for concurrent use from several threads while a key
 * is being opened. Keys once opened may sign from any thread.
 */
#ifndef LANCA_P11KEY_H
#define LANCA_P11KEY_H

#include <limits.h>
#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include "common/lerr.h"

#define P11KEY_URL_MAX		1024
#define P11KEY_LABEL_MAX	256
#define P11KEY_ID_MAX		128
#define P11KEY_PIN_MAX		255	/* GnuTLS hands the callback 256 bytes, NUL included */
#define P11KEY_ALLOW_MAX	8	/* allow= lines in a record */
#define P11KEY_RECORD_MAX	(P11KEY_URL_MAX + (2 + P11KEY_ALLOW_MAX) * (PATH_MAX + 16) + 256)

/* A token key: what a URL names, and how to reach it. */
struct p11key_ref {
	char url[P11KEY_URL_MAX];	/* as given: may hold a pin-value */
	char record[P11KEY_URL_MAX];	/* url without its pin-value: shown and written */
	char label[P11KEY_LABEL_MAX];	/* object=, decoded ("" when absent) */
	unsigned char id[P11KEY_ID_MAX];	/* id=, decoded */
	size_t id_len;			/* 0 when absent */
	int pin_in_url;			/* pin-value or pin-source present */
	int pin_value;			/* pin-value present (never in a record) */
	char pin_file[PATH_MAX];	/* "" when none */
	char module[PATH_MAX];		/* "": p11-kit's configured modules */
	/* Files and directories the module reads and writes while it signs
	 * (a token directory, a database, a device node): what the signer's
	 * sandbox leaves it. */
	char allow[P11KEY_ALLOW_MAX][PATH_MAX];
	size_t nallow;
};

/*
 * Checks arg, the value of option opt (named in messages; nothing of arg
 * is quoted back, since it may hold a PIN), and fills r's URL fields
 * (the paths are left as they were): a pkcs11: URL of at most
 * P11KEY_URL_MAX - 1 printable ASCII bytes, well-formed percent-escapes,
 * naming the key with object= or id=, type= absent or "private", no PIN
 * in the path part. 0, or -1 with e (LERR_BAD_REQUEST) naming the problem.
 */
int p11key_url_parse(const char *opt, const char *arg, struct p11key_ref *r, struct lerr *e);

/* The first line of a record. */
#define P11KEY_RECORD_HEAD \
	"# lanca: a key held in a PKCS#11 token (this file names it, it is not the key)\n"
/* Whether the file at text (len bytes) is a record (p11key_record_format
 * wrote it), not a key. */
int p11key_is_record(const unsigned char *text, size_t len);
/* Writes r as a record into out (size max): a comment line saying what
 * the file is, "url=", then "module=", "pin-file=" and "allow=" lines
 * for what is set. Returns its length, or -1 with e (a path holding a
 * control character, too long). */
long p11key_record_format(const struct p11key_ref *r, char *out, size_t max, struct lerr *e);
/* Parses a record (name names it in messages) into r: every line ends in
 * a newline, lines starting with '#' are skipped, one url= (checked by
 * p11key_url_parse; a pin-value refused, the URL used as its record
 * writes it), absolute module=, pin-file= and allow= paths. 0, or -1
 * with e. Whether the module file may be trusted is the caller's
 * question. */
int p11key_record_parse(const char *name, const unsigned char *text, size_t len,
			struct p11key_ref *r, struct lerr *e);

/* Whether path may be an allow= path: absolute, on one line, and not the
 * root directory however spelt ("/", "//", "/.", "/tmp/.."), since that
 * would leave a module the whole file system. 0, or -1 with e. The
 * signer's sandbox checks the directory itself too. */
int p11key_allow_ok(const char *path, struct lerr *e);

/* Whether a and b reach their tokens the same way: the same module, PIN
 * file and allow= paths (what one process can hold: p11key_start). */
int p11key_same_access(const struct p11key_ref *a, const struct p11key_ref *b);

/* Whether path (what names it in messages: "the PKCS#11 module") may be
 * believed by a process that loads or reads what it names: a regular file
 * (links followed) of root's or the effective user's that no group or
 * other may write. 0, or -1 with e (LERR_NOT_FOUND, LERR_FORBIDDEN). */
int p11key_file_trusted(const char *what, const char *path, struct lerr *e);

/* Loads the PKCS#11 layer: module alone ("" or NULL: p11-kit's
 * configured modules). Counted: each successful start wants one stop;
 * a start naming another module than the one loaded is refused. */
int p11key_start(const char *module, struct lerr *e);
void p11key_stop(void);
/* The PIN GnuTLS is given when a token asks (NULL: none; it then
 * refuses). Borrowed: the caller keeps pin alive and NUL-terminated
 * while keys it opened are in use, and wipes it. */
void p11key_pin_set(const unsigned char *pin, size_t len);

/* What a key made in a token is. */
struct p11key_gen {
	gnutls_pk_algorithm_t pk;	/* GNUTLS_PK_ECDSA or GNUTLS_PK_RSA */
	unsigned bits;			/* GNUTLS_CURVE_TO_BITS(curve), or RSA bits */
	unsigned usage;			/* GNUTLS_KEY_* */
};

/*
 * Opens the private key r names in its token (p11key_start first). When
 * there is none and gen is not NULL, makes one there as gen says
 * (sensitive, never extractable, private, labelled and identified as the
 * URL says) and sets *made (made may be NULL). Refuses a key lanca cannot
 * use (ECDSA on P-256 or P-384, RSA of 2048 bits or more are what it
 * can). 0 with *out new (gnutls_privkey_deinit), or -1 with e: no token
 * matches (LERR_NOT_FOUND, with a hint about --pkcs11-module), no key of
 * that name (LERR_NOT_FOUND), a PIN wanted or refused (LERR_UNAUTHORIZED,
 * naming r->pin_file), an unusable key (LERR_WEAK_KEY).
 */
int p11key_open(const struct p11key_ref *r, const struct p11key_gen *gen,
		gnutls_privkey_t *out, int *made, struct lerr *e);

/* Whether the private key r names (an existing one, which lanca did not
 * make) is kept in the token: sensitive and not extractable. 0, or -1
 * with e saying which it is not (LERR_WEAK_KEY) or why it cannot tell. */
int p11key_check_kept(const struct p11key_ref *r, struct lerr *e);

/* Copies key into the token r names, as a sensitive, private object with
 * r's label and id and the given usage (GNUTLS_KEY_*), refusing when the
 * token already holds a private key of that name. The token marks it
 * never extractable from then on; it cannot say it was never outside.
 * 0, or -1 with e. */
int p11key_copy(const struct p11key_ref *r, gnutls_x509_privkey_t key, unsigned usage,
		struct lerr *e);

#endif
