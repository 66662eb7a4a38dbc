/*
 * devkey.h - the device's private key, in a file or in a PKCS#11 token.
 *
 * Owns: the one handle (gnutls_privkey_t) through which enroll, renew and
 * the TLS client (httpc.c) use the device's key whatever holds it: a PEM
 * file in the device directory (key.pem: made here, written as PKCS#8), or
 * an object in a PKCS#11 token (a TPM through tpm2-pkcs11, a secure
 * element, SoftHSM2) named by a pkcs11: URL (RFC 7512), found there or
 * made there, sensitive and not extractable, so that its bytes never
 * exist outside the token. Also owns checking a --key URL, the PIN (from
 * --pin-file, or the URL's pin-value or pin-source as GnuTLS reads them),
 * loading a --pkcs11-module, and the record of a token key in the device
 * directory (key.token: the URL without any pin-value, the module and the
 * PIN file's path; never a PIN or key bytes). Every function prints what
 * went wrong (client_msg) and returns -1.
 */
#ifndef LANCA_CLIENT_DEVKEY_H
#define LANCA_CLIENT_DEVKEY_H

#include <limits.h>
#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include "common/p11key.h"

#define DEVKEY_FILE		"key.pem"	/* a file key */
#define DEVKEY_TOKEN_FILE	"key.token"	/* the record of a token key */
/*
 * Checks a --key value and fills t's URL fields (pin_file and module are
 * left as they were): a pkcs11: URL of at most P11KEY_URL_MAX - 1
 * printable ASCII bytes, well-formed percent-escapes, naming the key with
 * object= or id=, type= absent or "private". Returns 0, or -1 with a
 * message naming the problem printed.
 */
int devkey_token_parse(const char *arg, struct p11key_ref *t);

/* Sets t's pin_file and module (either may be NULL: left as they are) to
 * the absolute paths of existing files, so that a later renew from
 * another directory finds them. */
int devkey_token_paths(const char *pin_file, const char *module, struct p11key_ref *t);

/* Writes t as the record dir/name (mode 0600): "url=", "module=" and
 * "pin-file=" lines, the last two only when set. */
int devkey_token_write(const struct p11key_ref *t, const char *dir, const char *name);
/* Reads the record dir/name into t (devkey_token_parse checks its URL). */
int devkey_token_read(const char *dir, const char *name, struct p11key_ref *t);

/* The device's key: one handle for signing whatever holds it. */
struct devkey {
	gnutls_privkey_t priv;
	int token;			/* held by a PKCS#11 token */
};

/* A new ECDSA P-256 key in memory, for a key file. */
int devkey_generate(struct devkey *k);
/* Loads the PEM key file dir/name. */
int devkey_load_file(const char *dir, const char *name, struct devkey *k);
/* Writes a file key as unencrypted PKCS#8 PEM, mode 0600, to dir/name. */
int devkey_write_file(const struct devkey *k, const char *dir, const char *name);
/*
 * Opens the private key t names in its token. When there is none and
 * create is set, makes one there (ECDSA P-256, sensitive, not
 * extractable, private, labelled and identified as the URL says) and sets
 * *made. Refuses a key the device cannot use (ECDSA on P-256 or P-384 and
 * RSA of 2048 bits or more are what it can).
 */
int devkey_token_open(const struct p11key_ref *t, int create, struct devkey *k, int *made);
/*
 * The key of the device enrolled in dir: the token key dir/key.token
 * records (its PIN file and module replaced by over's where over sets
 * them; over may be NULL), else the file dir/key.pem (for which over
 * setting either is an error). Returns 0, 1 when dir holds neither
 * (nothing printed), or -1.
 */
int devkey_load_dir(const char *dir, const struct p11key_ref *over, struct devkey *k);
/* Whether dir holds a device key (key.pem or key.token). */
int devkey_in_dir(const char *dir);
/* The SHA-256 key id of key's public key (what gnutls_x509_crt_get_key_id
 * gives for its certificate) into id (*len in: its size, out: the length). */
int devkey_key_id(gnutls_privkey_t key, unsigned char *id, size_t *len);
/* NULL-safe; releases the key (and the PKCS#11 layer a token key held). */
void devkey_free(struct devkey *k);

#endif
