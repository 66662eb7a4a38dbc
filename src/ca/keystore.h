/*
 * keystore.h - CA private keys on disk and in memory.
 *
 * Owns: key generation, the PKCS#8 files (mode 0600, encrypted with
 * PKCS#5 v2 / AES-256 when a passphrase is given) and loading them so that
 * the file bytes and the passphrase live only in locked memory
 * (sodium_malloc) and are wiped as soon as GnuTLS has imported them.
 * Callers: the signer process and, in-process, `lanca init` and `lanca sign`.
 * The network-facing daemon never calls keystore_load on a CA key.
 */
#ifndef LANCA_KEYSTORE_H
#define LANCA_KEYSTORE_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include "common/lerr.h"

#define KEYSTORE_PASS_MAX	1024

enum keystore_type {
	KEYSTORE_ECDSA_P256 = 1,
	KEYSTORE_ECDSA_P384,
	KEYSTORE_RSA_3072,
};

/* "ecdsa-p256" | "ecdsa-p384" | "rsa-3072"; -1 if unknown. */
int keystore_type_parse(const char *s, enum keystore_type *t);

/* Generates a key; *out is new, caller frees with gnutls_x509_privkey_deinit. */
int keystore_generate(enum keystore_type t, gnutls_x509_privkey_t *out, struct lerr *e);
/* Writes key as PKCS#8 PEM to path, mode 0600, never replacing a file.
 * pass may be NULL (unencrypted). */
int keystore_write(const char *path, gnutls_x509_privkey_t key, const char *pass, struct lerr *e);
/* Loads a PKCS#8 key. *out is new, caller frees with gnutls_privkey_deinit.
 * Refuses a symlink, a file that is not a regular one, not the effective
 * user's, or open to group or others (fileio_open_read_at). The _at form
 * opens dirfd's name (dirfd and name as for openat). */
int keystore_load(const char *path, const char *pass, gnutls_privkey_t *out, struct lerr *e);
int keystore_load_at(int dirfd, const char *name, const char *pass, gnutls_privkey_t *out,
		     struct lerr *e);

/* Reads a passphrase (first line, at most KEYSTORE_PASS_MAX bytes) from a
 * file into sodium_malloc'd memory; free with keystore_pass_free. */
int keystore_pass_read(const char *path, char **pass, struct lerr *e);
void keystore_pass_free(char *pass);

/*
 * Keys in a PKCS#11 token. A CA key's file may instead be a record
 * (common/p11key.h) naming a key in a token: keystore_load opens that key
 * (the record's PIN file read once, kept in locked memory while the
 * process lives, since the token may ask again), so every caller of
 * keystore_load works with either. One module and one PIN file per
 * process. The key never leaves the token.
 */
struct p11key_ref;
/* Fills r from a --issuing-key URL (opt names it in messages), a PIN file,
 * a module (either may be NULL) and the paths the module needs while it
 * signs (nallow of them), made absolute; each must exist. 0 or -1 with e. */
int keystore_token_ref(const char *opt, const char *url, const char *pin_file, const char *module,
		       const char *const *allow, size_t nallow, struct p11key_ref *r,
		       struct lerr *e);
/* Opens r's key, making one of type t in the token when it holds none
 * (sensitive, never extractable; *made set), and writes the record at
 * path (0600, never replacing a file). *out is new. 0 or -1 with e. */
int keystore_token_make(const char *path, const struct p11key_ref *r, enum keystore_type t,
			gnutls_privkey_t *out, int *made, struct lerr *e);
/* Opens the key r names (no record needed): *out new. 0, or -1 with e
 * (LERR_NOT_FOUND when the token holds no private key of that name). */
int keystore_token_open(const struct p11key_ref *r, gnutls_privkey_t *out, struct lerr *e);
/* Copies key into the token r names (refused when it holds a private key
 * of that name) and opens the copy into *out (new). 0 or -1 with e. */
int keystore_token_copy(const struct p11key_ref *r, gnutls_x509_privkey_t key,
			gnutls_privkey_t *out, struct lerr *e);
/* Writes r as the record at path (0600, never replacing a file). */
int keystore_token_write(const char *path, const struct p11key_ref *r, struct lerr *e);
/* What a CA key file's bytes are, without loading the key: a PKCS#8
 * file in clear or under a passphrase, or a token's record (its URL into
 * url, P11KEY_URL_MAX bytes, when url is not NULL; "" otherwise). */
enum keystore_kind {
	KEYSTORE_KIND_FILE,
	KEYSTORE_KIND_ENCRYPTED,
	KEYSTORE_KIND_TOKEN,
};
enum keystore_kind keystore_kind(const unsigned char *data, size_t len, char *url);
/* "file", "encrypted file" or "PKCS#11 token". */
const char *keystore_kind_name(enum keystore_kind k);

/* The token this process has opened keys in (its record, without any
 * PIN), or NULL: what the signer's sandbox must leave the module. */
const struct p11key_ref *keystore_token(void);

/* The public half of a private key (new, caller frees). */
int keystore_pubkey(gnutls_privkey_t key, gnutls_pubkey_t *out, struct lerr *e);

#endif
