/*
 * keytoken.c - moving the issuing CA's key into a PKCS#11 token (see
 * keytoken.h).
 *
 * Everything in keys/ is read and written through one descriptor of it
 * (signer_keys_open): under `serve --user` the daemon's user owns the
 * state directory and may rename keys/ itself.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <jansson.h>

#include "ca/keystore.h"
#include "ca/x509.h"
#include "common/fileio.h"
#include "common/p11key.h"
#include "daemon/keytoken.h"
#include "daemon/rollover.h"
#include "daemon/state.h"
#include "signer/files.h"
#include "store/store.h"

#define KEYTOKEN_FILE_MAX	(64 * 1024)

/* Reads keys' issuing.pem into *crt. */
static int
keytoken_cert(int keys, gnutls_x509_crt_t *crt, struct lerr *e)
{
	unsigned char *p = NULL;
	size_t n = 0;
	int rc;

	if (fileio_read_owned_at(keys, SIGNER_ISSUING_PEM_NAME, "certificate", KEYTOKEN_FILE_MAX, &p,
				 &n, e) != 0)
		return -1;
	rc = x509_import(p, n, crt, e);
	free(p);
	return rc;
}

/* Refuses when keys/'s other token records (the root's, the previous
 * issuing CA's) reach their tokens another way than `to`: the signer
 * and init hold one module and one PIN. */
static int
keytoken_same_access(int keys, const char *dir, const struct p11key_ref *to, struct lerr *e)
{
	static const char *const others[] = {
		SIGNER_ROOT_KEY_NAME, SIGNER_PREV_ISSUING_KEY_NAME,
	};
	struct p11key_ref *r = NULL;
	unsigned char *data = NULL;
	size_t len = 0, i;
	struct lerr fe;
	int rc = -1;

	if ((r = malloc(sizeof(*r))) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		if (fileio_read_at(keys, others[i], KEYTOKEN_FILE_MAX, 1, &data, &len, &fe) != 0)
			continue;	/* none: nothing to agree with */
		if (p11key_is_record(data, len)) {
			if (p11key_record_parse(others[i], data, len, r, e) != 0)
				goto out;
			if (!p11key_same_access(r, to)) {
				lerr_set(e, LERR_CONFLICT, "%s/%s/%s reaches its token through another "
					 "module, PIN file or token paths: give the same "
					 "--pkcs11-module, --pin-file and --token-path as it names", dir,
					 SIGNER_KEYS_DIR, others[i]);
				goto out;
			}
		}
		fileio_free_secret(data, len);
		data = NULL;
	}
	rc = 0;
out:
	if (data != NULL)
		fileio_free_secret(data, len);
	free(r);
	return rc;
}

/* Puts the key into the token, or finds it there from a move that failed
 * after copying it: *out is the token's key of crt. */
static int
keytoken_put(const struct p11key_ref *to, gnutls_x509_privkey_t x, gnutls_x509_crt_t crt,
	     gnutls_privkey_t *out, int *adopted, struct lerr *e)
{
	char why[sizeof(e->msg)];
	struct lerr oe;

	*adopted = 0;
	lerr_clear(&oe);
	if (keystore_token_open(to, out, &oe) == 0) {
		if (x509_key_matches(*out, crt, "the issuing CA", &oe) == 0) {
			*adopted = 1;
			if (p11key_check_kept(to, e) == 0)
				return 0;
			gnutls_privkey_deinit(*out);
			*out = NULL;
			return -1;
		}
		gnutls_privkey_deinit(*out);
		*out = NULL;
		return lerr_set(e, LERR_CONFLICT, "%s: the token already holds a private key of that "
				"name, another one: not replacing it", to->record);
	}
	if (oe.code == LERR_WEAK_KEY)
		return lerr_set(e, LERR_CONFLICT, "%s: the token holds a private key of that name "
				"that lanca cannot use (%s): choose another name", to->record, oe.msg);
	if (oe.code != LERR_NOT_FOUND) {
		*e = oe;
		return -1;
	}
	if (keystore_token_copy(to, x, out, e) != 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		return lerr_set(e, e->code, "%s (the key file is unchanged)", why);
	}
	return 0;
}

/* Audits the move (the store is the daemon's; serve is stopped). */
static int
keytoken_audit(const char *dir, const struct p11key_ref *to, int found, const char *actor,
	       struct lerr *e)
{
	struct store *s = NULL;
	json_t *j;
	char *text = NULL;
	int rc = -1;

	j = json_pack("{s:s, s:s, s:b}", "key", SIGNER_ISSUING_KEY, "url", to->record, "found",
		      found);
	text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (text == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	if (state_store_open(dir, 0, &s, e) != 0 ||
	    store_audit(s, actor, "key-to-token", "issuing", text, e) != 0)
		goto out;
	rc = 0;
out:
	store_close(s);
	free(text);
	return rc;
}

int
keytoken_move(const char *dir, const struct p11key_ref *to, const char *pass, const char *actor,
	      int *adopted, struct lerr *e)
{
	char path[STATE_PATH_MAX], why[sizeof(e->msg)], text[P11KEY_RECORD_MAX];
	gnutls_privkey_t file_key = NULL, token_key = NULL;
	gnutls_x509_privkey_t x = NULL;
	gnutls_x509_crt_t crt = NULL;
	unsigned char *data = NULL;
	size_t len = 0;
	struct stat st;
	long n;
	int lock = -1, keys = -1, g, rc = -1;

	if (rollover_lock(dir, &lock, e) != 0)
		return -1;
	if (state_path(path, dir, ROLLOVER_STAGE) == 0 && lstat(path, &st) == 0) {
		lerr_set(e, LERR_CONFLICT, "a root rollover in %s was interrupted: settle it first "
			 "(lanca rollover status)", dir);
		goto out;
	}
	if (state_path(path, dir, SIGNER_ISSUING_KEY) != 0) {
		lerr_set(e, LERR_INTERNAL, "state directory path too long");
		goto out;
	}
	if ((keys = signer_keys_open(dir, e)) < 0 ||
	    fileio_read_at(keys, SIGNER_ISSUING_KEY_NAME, KEYTOKEN_FILE_MAX, 1, &data, &len, e) != 0)
		goto out;
	if (p11key_is_record(data, len)) {
		lerr_set(e, LERR_CONFLICT, "%s already names a key in a PKCS#11 token", path);
		goto out;
	}
	if (keytoken_same_access(keys, dir, to, e) != 0 ||
	    keystore_load_at(keys, SIGNER_ISSUING_KEY_NAME, pass, &file_key, e) != 0 ||
	    keytoken_cert(keys, &crt, e) != 0)
		goto out;
	if ((g = gnutls_privkey_export_x509(file_key, &x)) < 0) {
		lerr_set(e, LERR_INTERNAL, "%s: %s", path, gnutls_strerror(g));
		goto out;
	}
	/* The file must be the certificate's key before it goes anywhere. */
	if (x509_key_matches(file_key, crt, "the issuing CA", e) != 0 ||
	    keytoken_put(to, x, crt, &token_key, adopted, e) != 0)
		goto out;
	if (x509_key_matches(token_key, crt, "the issuing CA", e) != 0 ||
	    x509_key_signs(token_key, crt, e) != 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		lerr_set(e, e->code, "%s: the copy in the token is there but failed its check, "
			 "and %s is unchanged: %s", to->record, path, why);
		goto out;
	}
	/* In place, atomically and durably, through the descriptor. */
	if ((n = p11key_record_format(to, text, sizeof(text), e)) < 0 ||
	    fileio_write_atomic_at(keys, SIGNER_ISSUING_KEY_NAME, text, (size_t)n, 0600, 0, e) != 0)
		goto out;
	if (keytoken_audit(dir, to, *adopted, actor, e) != 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		lerr_set(e, e->code, "the key was moved, but the move is not in the audit log: %s",
			 why);
		goto out;
	}
	rc = 0;
out:
	if (data != NULL)
		fileio_free_secret(data, len);
	if (x != NULL)
		gnutls_x509_privkey_deinit(x);
	if (file_key != NULL)
		gnutls_privkey_deinit(file_key);
	if (token_key != NULL)
		gnutls_privkey_deinit(token_key);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (keys >= 0)
		close(keys);
	rollover_unlock(lock);
	return rc;
}
