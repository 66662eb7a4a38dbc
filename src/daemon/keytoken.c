/*
 * keytoken.c - moving the issuing CA's key into a PKCS#11 token (see
 * keytoken.h).
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

#define KEYTOKEN_NEW	SIGNER_ISSUING_KEY ".token-new"
#define KEYTOKEN_FILE_MAX	(64 * 1024)

/* Reads keys/issuing.pem into *crt. */
static int
keytoken_cert(const char *dir, gnutls_x509_crt_t *crt, struct lerr *e)
{
	char path[STATE_PATH_MAX];
	unsigned char *p = NULL;
	size_t n = 0;
	int rc;

	if (state_path(path, dir, SIGNER_ISSUING_PEM) != 0)
		return lerr_set(e, LERR_INTERNAL, "state directory path too long");
	if (fileio_read_owned(path, "certificate", KEYTOKEN_FILE_MAX, &p, &n, e) != 0)
		return -1;
	rc = x509_import(p, n, crt, e);
	free(p);
	return rc;
}

/* Refuses when keys/'s other token records (the root's, the previous
 * issuing CA's) reach their tokens another way than `to`: the signer
 * and init hold one module and one PIN. */
static int
keytoken_same_access(const char *dir, const struct p11key_ref *to, struct lerr *e)
{
	static const char *const others[] = {
		SIGNER_ROOT_KEY, SIGNER_KEYS_DIR "/" SIGNER_PREV_ISSUING_KEY_NAME,
	};
	char path[STATE_PATH_MAX];
	struct p11key_ref *r = NULL;
	unsigned char *data = NULL;
	size_t len = 0, i;
	struct lerr fe;
	int rc = -1;

	if ((r = malloc(sizeof(*r))) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		if (state_path(path, dir, others[i]) != 0) {
			lerr_set(e, LERR_INTERNAL, "state directory path too long");
			goto out;
		}
		if (fileio_read(path, KEYTOKEN_FILE_MAX, 1, &data, &len, &fe) != 0)
			continue;	/* none: nothing to agree with */
		if (p11key_is_record(data, len)) {
			if (p11key_record_parse(path, data, len, r, e) != 0)
				goto out;
			if (!p11key_same_access(r, to)) {
				lerr_set(e, LERR_CONFLICT, "%s reaches its token through another module, "
					 "PIN file or token paths: give the same --pkcs11-module, "
					 "--pin-file and --token-path as it names", path);
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

/* Audits the move (the store is the daemon's; serve is stopped). */
static int
keytoken_audit(const char *dir, const struct p11key_ref *to, const char *actor, struct lerr *e)
{
	char path[STATE_PATH_MAX];
	struct store *s = NULL;
	json_t *j;
	char *text = NULL;
	int rc = -1;

	j = json_pack("{s:s, s:s}", "key", SIGNER_ISSUING_KEY, "url", to->record);
	text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (text == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	if (state_path(path, dir, STORE_FILE) != 0) {
		lerr_set(e, LERR_INTERNAL, "state directory path too long");
		goto out;
	}
	if (store_open(path, 0, &s, e) != 0 ||
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
	      struct lerr *e)
{
	char path[STATE_PATH_MAX], tmp[STATE_PATH_MAX], why[sizeof(e->msg)];
	gnutls_privkey_t file_key = NULL, token_key = NULL;
	gnutls_x509_privkey_t x = NULL;
	gnutls_x509_crt_t crt = NULL;
	unsigned char *data = NULL;
	size_t len = 0;
	struct stat st;
	int lock = -1, g, rc = -1;

	if (rollover_lock(dir, &lock, e) != 0)
		return -1;
	if (state_path(path, dir, ROLLOVER_STAGE) == 0 && lstat(path, &st) == 0) {
		lerr_set(e, LERR_CONFLICT, "a root rollover in %s was interrupted: settle it first "
			 "(lanca rollover status)", dir);
		goto out;
	}
	if (state_path(path, dir, SIGNER_ISSUING_KEY) != 0 ||
	    state_path(tmp, dir, KEYTOKEN_NEW) != 0) {
		lerr_set(e, LERR_INTERNAL, "state directory path too long");
		goto out;
	}
	if (fileio_read(path, KEYTOKEN_FILE_MAX, 1, &data, &len, e) != 0)
		goto out;
	if (p11key_is_record(data, len)) {
		lerr_set(e, LERR_CONFLICT, "%s already names a key in a PKCS#11 token", path);
		goto out;
	}
	if (keytoken_same_access(dir, to, e) != 0 || keystore_load(path, pass, &file_key, e) != 0)
		goto out;
	if ((g = gnutls_privkey_export_x509(file_key, &x)) < 0) {
		lerr_set(e, LERR_INTERNAL, "%s: %s", path, gnutls_strerror(g));
		goto out;
	}
	if (keytoken_cert(dir, &crt, e) != 0)
		goto out;
	/* The file must be the certificate's key before it goes anywhere. */
	if (x509_key_matches(file_key, crt, "the issuing CA", e) != 0)
		goto out;
	if (keystore_token_copy(to, x, &token_key, e) != 0) {
		/* The copy may be there: a later try would find the name taken. */
		snprintf(why, sizeof(why), "%s", e->msg);
		lerr_set(e, e->code, "%s (%s is unchanged; if the token holds a copy under that "
			 "name now, delete it, e.g. with p11tool --delete, before trying again)", why,
			 path);
		goto out;
	}
	if (x509_key_matches(token_key, crt, "the issuing CA", e) != 0 ||
	    x509_key_signs(token_key, crt, e) != 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		lerr_set(e, e->code, "%s: the copy in the token is there but failed its check, "
			 "and %s is unchanged: %s", to->record, path, why);
		goto out;
	}
	/* A record left by a move that failed after writing it is ours. */
	(void)unlink(tmp);
	if (keystore_token_write(tmp, to, e) != 0)
		goto out;
	if (rename(tmp, path) != 0) {
		lerr_set(e, LERR_INTERNAL, "renaming %s to %s: %s", tmp, path, strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	if (state_path(tmp, dir, SIGNER_KEYS_DIR) != 0 || fileio_sync_dir(tmp) != 0) {
		lerr_set(e, LERR_INTERNAL, "fsync of %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (keytoken_audit(dir, to, actor, e) != 0) {
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
	rollover_unlock(lock);
	return rc;
}
