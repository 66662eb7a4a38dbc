/*
 * backuproot.c - making the backup root, and the admin's confirmation that
 * its key is stored (see backuproot.h).
 *
 * The key exists on this machine only inside backuproot_create: generated,
 * used to self-sign, written encrypted to the admin's file and released
 * with gnutls_x509_privkey_deinit, which clears GnuTLS's copy of its
 * numbers (as the signer does with the keys keystore.c loads). The file is
 * written before anything is recorded, so that a backup root never
 * appears in the store, or in the trust bundle devices are sent, without
 * its key having been handed over.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "ca/policy.h"
#include "ca/x509.h"
#include "common/fileio.h"
#include "daemon/backuproot.h"
#include "daemon/state.h"
#include "store/store.h"

#define YEAR_S	(365L * 24 * 3600 + 6 * 3600)	/* a Julian year */
#define BACKUPROOT_ROLE	"backup-root"

const char *
backuproot_state_name(enum backuproot_state st)
{
	switch (st) {
	case BACKUPROOT_UNCONFIRMED: return "unconfirmed";
	case BACKUPROOT_CONFIRMED: return "confirmed";
	case BACKUPROOT_NONE: break;
	}
	return "none";
}

const char *
backuproot_warning(enum backuproot_state st)
{
	switch (st) {
	case BACKUPROOT_NONE:
		return "no backup root: devices trust one root only; make one with "
		       "`lanca backup-root create`";
	case BACKUPROOT_UNCONFIRMED:
		return "the backup root's key is not confirmed stored offline: store it, then run "
		       "`lanca backup-root confirm`";
	case BACKUPROOT_CONFIRMED:
		break;
	}
	return NULL;
}

/* Writes crt's PEM as dir/STATE_BACKUP_ROOT_PEM, for people and scripts. */
static int
backuproot_write_pem(const char *dir, gnutls_x509_crt_t crt, struct lerr *e)
{
	char path[STATE_PATH_MAX];
	gnutls_datum_t pem = { NULL, 0 };
	int rc = -1;

	if (state_path(path, dir, STATE_BACKUP_ROOT_PEM) != 0) {
		lerr_set(e, LERR_INTERNAL, "state directory path too long");
		goto out;
	}
	if (x509_export_pem(crt, &pem) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the backup root");
		goto out;
	}
	rc = fileio_write_atomic(path, pem.data, pem.size, 0644, 1, e);
out:
	gnutls_free(pem.data);
	return rc;
}

int
backuproot_outside(const char *dir, const char *key_out, struct lerr *e)
{
	char parent[STATE_PATH_MAX], *slash, *rd = NULL, *rp = NULL;
	size_t n;
	int rc = 0;

	if (snprintf(parent, sizeof(parent), "%s", key_out) >= (int)sizeof(parent))
		return lerr_set(e, LERR_BAD_REQUEST, "the key file's path is too long");
	slash = strrchr(parent, '/');
	if (slash == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	rd = realpath(dir, NULL);
	rp = realpath(parent, NULL);
	if (rd != NULL && rp != NULL) {
		n = strlen(rd);
		if (strncmp(rp, rd, n) == 0 && (rp[n] == '\0' || rp[n] == '/'))
			rc = lerr_set(e, LERR_BAD_REQUEST,
				      "%s is inside the state directory %s: the backup root's key "
				      "must not stay on the gateway", key_out, dir);
	}
	free(rd);
	free(rp);
	return rc;
}

/* Records the backup root (offline, with the primary's voucher cross). */
static int
backuproot_record(struct store *s, gnutls_x509_crt_t crt, gnutls_x509_crt_t cross,
		  struct lerr *e)
{
	gnutls_datum_t der = { NULL, 0 }, xder = { NULL, 0 };
	char fp[65], subject[256];
	int rc = -1;

	if (x509_export_der(crt, &der) != 0 || x509_export_der(cross, &xder) != 0 ||
	    x509_fingerprint(crt, fp) != 0 || x509_subject(crt, subject, sizeof(subject)) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the backup root");
		goto out;
	}
	rc = store_ca_insert_offline(s, BACKUPROOT_ROLE, subject, fp,
				     gnutls_x509_crt_get_activation_time(crt),
				     gnutls_x509_crt_get_expiration_time(crt), der.data, der.size,
				     xder.data, xder.size, NULL, e);
out:
	gnutls_free(der.data);
	gnutls_free(xder.data);
	return rc;
}

int
backuproot_create(struct store *s, gnutls_x509_crt_t primary, gnutls_privkey_t primary_key,
		  const struct backuproot_opts *o, char fp_colon[96], struct lerr *e)
{
	gnutls_x509_privkey_t x = NULL;
	gnutls_privkey_t key = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_x509_crt_t crt = NULL, cross = NULL;
	unsigned char serial[X509_SERIAL_LEN], xserial[X509_SERIAL_LEN];
	struct x509_ca_params cp;
	struct store_ca *old = NULL;
	struct policy pol;
	char ou[128], pem_path[STATE_PATH_MAX];
	time_t now = time(NULL), primary_end;
	int rc = -1, key_written = 0, pem_written = 0;

	memset(&pol, 0, sizeof(pol));
	if (o->pass == NULL || o->pass[0] == '\0') {
		lerr_set(e, LERR_BAD_REQUEST,
			 "the backup root's key needs a passphrase: it is written encrypted");
		goto out;
	}
	if (o->key_out == NULL || o->key_out[0] == '\0') {
		lerr_set(e, LERR_BAD_REQUEST, "no file named for the backup root's key");
		goto out;
	}
	if (backuproot_outside(o->dir, o->key_out, e) != 0)
		goto out;
	/* During a rollover keys/root.key is the new root's while the
	 * primary is still the old one: made after finish, the backup root
	 * is vouched for by the root devices end up with. */
	{
		struct store_rollover r;

		if (store_rollover_newest(s, &r, e) == 0 && r.finished_at == 0) {
			lerr_set(e, LERR_CONFLICT, "a root rollover is under way: make the backup "
				 "root after `lanca rollover finish`");
			goto out;
		}
		lerr_clear(e);
	}
	if (store_ca_find(s, BACKUPROOT_ROLE, "offline", &old, e) == 0) {
		lerr_set(e, LERR_CONFLICT, "a backup root exists already (%s)", old->subject);
		goto out;
	}
	if (e->code != LERR_NOT_FOUND)
		goto out;
	lerr_clear(e);
	if (snprintf(ou, sizeof(ou), "%s Backup Root CA", o->name) >= (int)sizeof(ou)) {
		lerr_set(e, LERR_BAD_NAME, "the site name is too long");
		goto out;
	}
	/* The same constraints as the primary: the backup is its successor. */
	if (policy_from_ca(&pol, primary, e) != 0)
		goto out;
	if (keystore_generate(o->key_type, &x, e) != 0)
		goto out;
	if (gnutls_privkey_init(&key) != 0 || gnutls_privkey_import_x509(key, x, 0) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot use the new key");
		goto out;
	}
	if (keystore_pubkey(key, &pub, e) != 0 ||
	    store_serial_reserve(s, serial, e) != 0 || store_serial_reserve(s, xserial, e) != 0)
		goto out;

	/* No CN: the primary's certificate of this name must verify under the
	 * primary's name constraints, and GnuTLS would read a CN as a DNS
	 * name (x509.h). The unit name carries the label. */
	memset(&cp, 0, sizeof(cp));
	cp.org = "lanca";
	cp.ou = ou;
	cp.permitted = &pol.permitted;
	cp.pathlen = 1;
	cp.not_before = now - 60;
	cp.not_after = now + POLICY_ROOT_YEARS * YEAR_S;
	cp.serial = serial;
	if (x509_make_root(&cp, key, &crt, e) != 0)
		goto out;
	/* The voucher: the same subject and key, signed by the primary, no
	 * longer valid than the primary itself. */
	primary_end = gnutls_x509_crt_get_expiration_time(primary);
	if (primary_end != (time_t)-1 && primary_end < cp.not_after)
		cp.not_after = primary_end;
	cp.serial = xserial;
	if (x509_make_ca(&cp, pub, primary, primary_key, &cross, e) != 0)
		goto out;

	if (fp_colon != NULL && x509_fingerprint_colon(crt, fp_colon) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot compute the backup root's fingerprint");
		goto out;
	}
	/* The key goes out first: nothing is recorded without it. Then the
	 * PEM copy, then the record, the step that makes it the backup root:
	 * a failure on the way takes back what was written, so that neither
	 * a key file of a root never installed nor a copy of one is left. */
	if (keystore_write(o->key_out, x, o->pass, e) != 0)
		goto out;
	key_written = 1;
	if (backuproot_write_pem(o->dir, crt, e) != 0)
		goto out;
	pem_written = 1;
	if (backuproot_record(s, crt, cross, e) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0 && key_written)
		unlink(o->key_out);
	if (rc != 0 && pem_written && state_path(pem_path, o->dir, STATE_BACKUP_ROOT_PEM) == 0)
		unlink(pem_path);
	store_ca_free(old);
	if (key != NULL)
		gnutls_privkey_deinit(key);
	if (x != NULL)
		gnutls_x509_privkey_deinit(x);	/* clears the key's numbers */
	gnutls_pubkey_deinit(pub);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (cross != NULL)
		gnutls_x509_crt_deinit(cross);
	policy_free(&pol);
	return rc;
}

int
backuproot_state(struct store *s, enum backuproot_state *st, int64_t *ca_id, struct lerr *e)
{
	struct store_ca *ca = NULL;

	*st = BACKUPROOT_NONE;
	if (ca_id != NULL)
		*ca_id = 0;
	if (store_ca_find(s, BACKUPROOT_ROLE, "offline", &ca, e) != 0) {
		if (e->code != LERR_NOT_FOUND)
			return -1;
		lerr_clear(e);
		return 0;
	}
	*st = ca->confirmed_at != 0 ? BACKUPROOT_CONFIRMED : BACKUPROOT_UNCONFIRMED;
	if (ca_id != NULL)
		*ca_id = ca->id;
	store_ca_free(ca);
	return 0;
}

int
backuproot_confirm(struct store *s, const char *actor, struct lerr *e)
{
	struct store_ca *ca = NULL;
	json_t *o = NULL;
	char *detail = NULL;
	int rc = -1;

	if (store_ca_find(s, BACKUPROOT_ROLE, "offline", &ca, e) != 0) {
		if (e->code == LERR_NOT_FOUND)
			lerr_set(e, LERR_NOT_FOUND,
				 "there is no backup root: make one with `lanca backup-root create`");
		goto out;
	}
	if (ca->confirmed_at != 0) {
		lerr_set(e, LERR_CONFLICT, "the backup root's key was confirmed stored already");
		goto out;
	}
	o = json_pack("{s:s}", "fingerprint", ca->fingerprint);
	if (o == NULL || (detail = json_dumps(o, JSON_COMPACT)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the audit detail");
		goto out;
	}
	rc = store_ca_confirm(s, ca->id, actor, (int64_t)time(NULL), ca->subject, detail, e);
out:
	free(detail);
	json_decref(o);
	store_ca_free(ca);
	return rc;
}
