/*
 * rollover.c - root rollover (see rollover.h).
 *
 * The order of rollover_start is what makes it safe to interrupt: every
 * key and certificate is made in memory; the next keys/ is written whole
 * under DIR/.rollover; the store records the new CAs, vouchers and the
 * rollover in one transaction; then keys/ and the staged directory trade
 * places in one rename. Before the commit a crash leaves a staged
 * directory the store does not know (rollover_recover removes it); after
 * it, one the store names (rollover_recover puts it in place).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "ca/policy.h"
#include "ca/x509.h"
#include "common/fileio.h"
#include "common/log.h"
#include "daemon/revocation.h"
#include "daemon/rollover.h"
#include "daemon/state.h"
#include "signer/files.h"
#include "store/store.h"

#define YEAR_S		(365L * 24 * 3600 + 6 * 3600)	/* a Julian year */
#define ROLL_FILE_MAX	(256 * 1024)

/* What a rollover makes, in memory until it is recorded. */
struct roll_build {
	struct store_ca *old_root_row, *old_issuing_row, *backup_row;
	gnutls_x509_crt_t old_root, new_root, new_issuing;
	gnutls_x509_crt_t new_with_old, old_with_new;
	gnutls_x509_crt_t issuing_by_old;	/* the new issuing CA under the old root */
	gnutls_x509_crt_t vouch[STORE_ROLL_VOUCHERS_MAX];
	int64_t vouch_id[STORE_ROLL_VOUCHERS_MAX];
	size_t nvouch;
	gnutls_privkey_t old_root_key, new_root_key;
	gnutls_x509_privkey_t new_root_x, new_issuing_x;	/* to write */
	struct policy pol;
	char name[128];
};

static void
roll_build_free(struct roll_build *b)
{
	size_t i;

	store_ca_free(b->old_root_row);
	store_ca_free(b->old_issuing_row);
	store_ca_free(b->backup_row);
	if (b->old_root != NULL)
		gnutls_x509_crt_deinit(b->old_root);
	if (b->new_root != NULL)
		gnutls_x509_crt_deinit(b->new_root);
	if (b->new_issuing != NULL)
		gnutls_x509_crt_deinit(b->new_issuing);
	if (b->new_with_old != NULL)
		gnutls_x509_crt_deinit(b->new_with_old);
	if (b->old_with_new != NULL)
		gnutls_x509_crt_deinit(b->old_with_new);
	if (b->issuing_by_old != NULL)
		gnutls_x509_crt_deinit(b->issuing_by_old);
	for (i = 0; i < b->nvouch; i++)
		gnutls_x509_crt_deinit(b->vouch[i]);
	if (b->old_root_key != NULL)
		gnutls_privkey_deinit(b->old_root_key);
	if (b->new_root_key != NULL)
		gnutls_privkey_deinit(b->new_root_key);
	/* Clears the keys' numbers. */
	if (b->new_root_x != NULL)
		gnutls_x509_privkey_deinit(b->new_root_x);
	if (b->new_issuing_x != NULL)
		gnutls_x509_privkey_deinit(b->new_issuing_x);
	policy_free(&b->pol);
	memset(b, 0, sizeof(*b));
}

/* A new key of type t, as the x509 key to write and the key to sign with. */
static int
roll_new_key(enum keystore_type t, gnutls_x509_privkey_t *x, gnutls_privkey_t *k,
	     struct lerr *e)
{
	*k = NULL;
	if (keystore_generate(t, x, e) != 0)
		return -1;
	if (gnutls_privkey_init(k) != 0 || gnutls_privkey_import_x509(*k, *x, 0) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot use the new key");
	return 0;
}

/* The path of rel below dir into out. */
static int
roll_path(char out[STATE_PATH_MAX], const char *dir, const char *rel, struct lerr *e)
{
	if (state_path(out, dir, rel) != 0)
		return lerr_set(e, LERR_INTERNAL, "state directory path too long");
	return 0;
}

/* Copies keys/from of dir to stage's keys/to, mode mode (secret: read
 * into locked memory). */
static int
roll_copy(const char *dir, const char *stage, const char *from, const char *to, mode_t mode,
	  int secret, struct lerr *e)
{
	char src[STATE_PATH_MAX], dst[STATE_PATH_MAX], rel[256];
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	snprintf(rel, sizeof(rel), "%s/%s", SIGNER_KEYS_DIR, from);
	if (roll_path(src, dir, rel, e) != 0)
		return -1;
	snprintf(rel, sizeof(rel), "%s/%s", SIGNER_KEYS_DIR, to);
	if (roll_path(dst, stage, rel, e) != 0)
		return -1;
	if (fileio_read(src, ROLL_FILE_MAX, secret, &data, &len, e) != 0)
		return -1;
	rc = fileio_write_atomic(dst, data, len, mode, 1, e);
	if (secret)
		fileio_free_secret(data, len);
	else
		free(data);
	return rc;
}

/* Makes the new root (a new key) or takes the backup root (its key from
 * the admin's file, checked against the backup root on record). */
static int
roll_new_root(struct store *s, struct roll_build *b, const struct rollover_opts *o,
	      unsigned gen, time_t now, struct lerr *e)
{
	unsigned char serial[X509_SERIAL_LEN];
	struct x509_ca_params cp;
	char ou[192];

	if (o->backup_key != NULL) {
		if (store_ca_find(s, "backup-root", "offline", &b->backup_row, e) != 0) {
			if (e->code == LERR_NOT_FOUND)
				lerr_set(e, LERR_NOT_FOUND, "--to-backup: there is no backup root");
			return -1;
		}
		if (x509_import(b->backup_row->der, b->backup_row->der_len, &b->new_root, e) != 0 ||
		    keystore_load(o->backup_key, o->backup_pass, &b->new_root_key, e) != 0)
			return -1;
		if (x509_key_matches(b->new_root_key, b->new_root, "the backup root", e) != 0)
			return lerr_set(e, LERR_FORBIDDEN, "%s is not the backup root's key",
					o->backup_key);
		if (gnutls_privkey_export_x509(b->new_root_key, &b->new_root_x) < 0)
			return lerr_set(e, LERR_INTERNAL, "cannot read the backup root's key");
		return 0;
	}
	if (roll_new_key(o->key_type, &b->new_root_x, &b->new_root_key, e) != 0 ||
	    store_serial_reserve(s, serial, e) != 0)
		return -1;
	/* No CN, as the backup root: its voucher under the old root must
	 * verify under the old root's constraints (x509.h). A path length of
	 * 2: a party that trusts only this root verifies the old root's leaves
	 * through OldWithNew (leaf, old issuing CA, OldWithNew, this root). */
	snprintf(ou, sizeof(ou), "%s Root CA %u", b->name, gen);
	memset(&cp, 0, sizeof(cp));
	cp.org = "lanca";
	cp.ou = ou;
	cp.permitted = &b->pol.permitted;
	cp.pathlen = 2;
	cp.not_before = now - 60;
	cp.not_after = now + POLICY_ROOT_YEARS * YEAR_S;
	cp.serial = serial;
	return x509_make_root(&cp, b->new_root_key, &b->new_root, e);
}

int
rollover_make_issuing(struct store *s, enum keystore_type t, const char *ou,
		      const struct names *permitted, gnutls_x509_crt_t root,
		      gnutls_privkey_t root_key, time_t now, gnutls_x509_privkey_t *key_out,
		      gnutls_x509_crt_t *out, struct lerr *e)
{
	unsigned char serial[X509_SERIAL_LEN];
	struct x509_ca_params cp;
	gnutls_privkey_t key = NULL;
	gnutls_pubkey_t pub = NULL;
	time_t root_end;
	int rc = -1;

	*key_out = NULL;
	if (roll_new_key(t, key_out, &key, e) != 0 ||
	    keystore_pubkey(key, &pub, e) != 0 || store_serial_reserve(s, serial, e) != 0)
		goto out;
	memset(&cp, 0, sizeof(cp));
	cp.org = "lanca";
	cp.ou = ou;
	cp.permitted = permitted;
	cp.pathlen = 0;
	cp.not_before = now - 60;
	cp.not_after = now + POLICY_ISSUING_YEARS * YEAR_S;
	root_end = gnutls_x509_crt_get_expiration_time(root);
	if (root_end != (time_t)-1 && root_end < cp.not_after)
		cp.not_after = root_end;
	cp.serial = serial;
	rc = x509_make_ca(&cp, pub, root, root_key, out, e);
out:
	if (key != NULL)
		gnutls_privkey_deinit(key);
	gnutls_pubkey_deinit(pub);
	if (rc != 0 && *key_out != NULL) {
		gnutls_x509_privkey_deinit(*key_out);
		*key_out = NULL;
	}
	return rc;
}

/* The new issuing CA under the new root. */
static int
roll_new_issuing(struct store *s, struct roll_build *b, const struct rollover_opts *o,
		 unsigned gen, time_t now, struct lerr *e)
{
	char ou[192];

	snprintf(ou, sizeof(ou), "%s Issuing CA %u", b->name, gen);
	return rollover_make_issuing(s, o->key_type, ou, &b->pol.permitted, b->new_root,
				     b->new_root_key, now, &b->new_issuing_x, &b->new_issuing, e);
}

/* One voucher of subject by issuer/key into *out. */
static int
roll_cross(struct store *s, struct roll_build *b, gnutls_x509_crt_t subject,
	   gnutls_x509_crt_t issuer, gnutls_privkey_t key, time_t now, gnutls_x509_crt_t *out,
	   struct lerr *e)
{
	unsigned char serial[X509_SERIAL_LEN];

	if (store_serial_reserve(s, serial, e) != 0)
		return -1;
	return x509_make_cross(subject, &b->pol.permitted, issuer, key,
			       now + POLICY_ROOT_YEARS * YEAR_S, serial, out, e);
}

/* The vouchers: NewWithOld (a new key only: the backup root's is on
 * record), OldWithNew (unless the old root is being distrusted), and the
 * new root's for each backup root that stays; and, unless the old root is
 * distrusted, the old root's certificate of the new issuing CA, which the
 * chains carry until `finish` (a root made with a path length of 1 takes
 * no chain through NewWithOld: state.h). */
static int
roll_crosses(struct store *s, struct roll_build *b, int compromise, time_t now, struct lerr *e)
{
	struct store_ca *cas[STORE_CAS_MAX];
	gnutls_x509_crt_t crt = NULL;
	size_t n = 0, i;
	int rc = -1;

	if (!compromise &&
	    (roll_cross(s, b, b->new_root, b->old_root, b->old_root_key, now, &b->new_with_old,
			e) != 0 ||
	     roll_cross(s, b, b->old_root, b->new_root, b->new_root_key, now, &b->old_with_new,
			e) != 0 ||
	     roll_cross(s, b, b->new_issuing, b->old_root, b->old_root_key, now,
			&b->issuing_by_old, e) != 0))
		return -1;
	if (store_ca_list(s, cas, STORE_CAS_MAX, &n, e) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (strcmp(cas[i]->role, "backup-root") != 0 || strcmp(cas[i]->state, "offline") != 0 ||
		    cas[i]->distrusted_at != 0 ||
		    (b->backup_row != NULL && cas[i]->id == b->backup_row->id))
			continue;
		if (b->nvouch == STORE_ROLL_VOUCHERS_MAX) {
			lerr_set(e, LERR_TOO_LARGE, "too many backup roots");
			goto out;
		}
		if (x509_import(cas[i]->der, cas[i]->der_len, &crt, e) != 0 ||
		    roll_cross(s, b, crt, b->new_root, b->new_root_key, now, &b->vouch[b->nvouch],
			       e) != 0)
			goto out;
		b->vouch_id[b->nvouch++] = cas[i]->id;
		gnutls_x509_crt_deinit(crt);
		crt = NULL;
	}
	rc = 0;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	store_ca_list_free(cas, n);
	return rc;
}

/* Exchanges two empty directories made in stage, then removes them: 0
 * when the file system can do what roll_swap does. */
static int
roll_probe_exchange(const char *stage, struct lerr *e)
{
	char a[STATE_PATH_MAX], b[STATE_PATH_MAX];
	int rc = 0;

	if (roll_path(a, stage, "probe-a", e) != 0 || roll_path(b, stage, "probe-b", e) != 0)
		return -1;
	if (mkdir(a, 0700) != 0 || mkdir(b, 0700) != 0 ||
	    renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0)
		rc = lerr_set(e, LERR_INTERNAL, "this file system cannot exchange two directories "
			      "in one step (%s), which the switch of keys/ needs", strerror(errno));
	rmdir(a);
	rmdir(b);
	return rc;
}

/* Writes the next keys/ under DIR/.rollover: the new keys and chain and
 * signer.conf, the audit key, and (unless compromise) the old
 * generation's issuing CA and root as previous-*. */
static int
roll_stage(const char *dir, const struct rollover_opts *o, struct roll_build *b,
	   const char *crl_url, int compromise, int *staged, struct lerr *e)
{
	char stage[STATE_PATH_MAX], path[STATE_PATH_MAX];
	struct signer_conf conf;
	struct stat st;

	/* The signer reads only files of its own user: the one that owns
	 * keys/ now must write the next one. */
	if (roll_path(path, dir, SIGNER_KEYS_DIR, e) != 0)
		return -1;
	if (stat(path, &st) != 0)
		return lerr_set(e, LERR_INTERNAL, "%s: %s", path, strerror(errno));
	if (st.st_uid != geteuid())
		return lerr_set(e, LERR_FORBIDDEN, "%s belongs to uid %u: run this as that user",
				path, (unsigned)st.st_uid);

	if (roll_path(stage, dir, ROLLOVER_STAGE, e) != 0)
		return -1;
	if (mkdir(stage, 0700) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot create %s: %s", stage, strerror(errno));
	*staged = 1;
	/* The switch is one exchange of two directories: make sure this file
	 * system does it before anything is recorded. */
	if (roll_probe_exchange(stage, e) != 0)
		return -1;
	if (roll_path(path, stage, SIGNER_KEYS_DIR, e) != 0)
		return -1;
	if (mkdir(path, 0700) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot create %s: %s", path, strerror(errno));
	if (roll_path(path, stage, SIGNER_ROOT_KEY, e) != 0 ||
	    keystore_write(path, b->new_root_x, o->pass, e) != 0 ||
	    roll_path(path, stage, SIGNER_ISSUING_KEY, e) != 0 ||
	    keystore_write(path, b->new_issuing_x, o->pass, e) != 0)
		return -1;
	if (roll_copy(dir, stage, SIGNER_AUDIT_KEY_NAME, SIGNER_AUDIT_KEY_NAME, 0600, 1, e) != 0 ||
	    roll_copy(dir, stage, SIGNER_AUDIT_PUB_NAME, SIGNER_AUDIT_PUB_NAME, 0644, 0, e) != 0)
		return -1;
	if (!compromise &&
	    (roll_copy(dir, stage, SIGNER_ISSUING_KEY_NAME, SIGNER_PREV_ISSUING_KEY_NAME, 0600, 1,
		       e) != 0 ||
	     roll_copy(dir, stage, SIGNER_ISSUING_PEM_NAME, SIGNER_PREV_ISSUING_PEM_NAME, 0644, 0,
		       e) != 0 ||
	     roll_copy(dir, stage, SIGNER_ROOT_PEM_NAME, SIGNER_PREV_ROOT_PEM_NAME, 0644, 0,
		       e) != 0 ||
	     roll_copy(dir, stage, SIGNER_ROOT_KEY_NAME, SIGNER_PREV_ROOT_KEY_NAME, 0600, 1,
		       e) != 0))
		return -1;
	if (signer_conf_init(&conf, crl_url, e) != 0 ||
	    signer_files_write(stage, b->new_root, b->new_issuing, &conf, 0, e) != 0)
		return -1;
	if (roll_path(path, stage, SIGNER_KEYS_DIR, e) != 0 || fileio_sync_dir(path) != 0 ||
	    fileio_sync_dir(stage) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot sync %s: %s", stage, strerror(errno));
	return 0;
}

/* A certificate as the store records it; strings in fp and subject. */
static int
roll_ca_new(gnutls_x509_crt_t crt, gnutls_datum_t *der, char fp[65], char subject[256],
	    struct store_ca_new *out, struct lerr *e)
{
	if (x509_export_der(crt, der) != 0 || x509_fingerprint(crt, fp) != 0 ||
	    x509_subject(crt, subject, 256) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot encode a new CA");
	out->subject = subject;
	out->fingerprint = fp;
	out->not_before = gnutls_x509_crt_get_activation_time(crt);
	out->not_after = gnutls_x509_crt_get_expiration_time(crt);
	out->der = der->data;
	out->der_len = der->size;
	return 0;
}

/* Keeps DIR/root.pem the primary root's and removes DIR/backup-root.pem
 * when no backup root is left (the backup root became the root). */
static int
roll_state_pems(const char *dir, const struct rollover_view *v, struct lerr *e)
{
	char path[STATE_PATH_MAX];
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t pem = { NULL, 0 };
	int rc = -1;

	if (x509_import(v->root_der, v->root_der_len, &crt, e) != 0 ||
	    x509_export_pem(crt, &pem) != 0 || roll_path(path, dir, STATE_ROOT_PEM, e) != 0 ||
	    fileio_write_atomic(path, pem.data, pem.size, 0644, 0, e) != 0)
		goto out;
	if (!v->backup_root) {
		if (roll_path(path, dir, STATE_BACKUP_ROOT_PEM, e) != 0)
			goto out;
		unlink(path);
	}
	rc = 0;
out:
	gnutls_free(pem.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

/* Puts the staged keys/ in place of keys/ (one exchange), then removes
 * what was keys/, and keeps DIR/root.pem and DIR/backup-root.pem what the
 * store says. */
static int
roll_swap(const char *dir, const struct rollover_view *v, struct lerr *e)
{
	char stage[STATE_PATH_MAX], staged[STATE_PATH_MAX], keys[STATE_PATH_MAX];
	int rc = -1;

	if (roll_path(stage, dir, ROLLOVER_STAGE, e) != 0 ||
	    roll_path(staged, stage, SIGNER_KEYS_DIR, e) != 0 ||
	    roll_path(keys, dir, SIGNER_KEYS_DIR, e) != 0)
		goto out;
	if (renameat2(AT_FDCWD, staged, AT_FDCWD, keys, RENAME_EXCHANGE) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot put %s in place of %s: %s", staged, keys,
			 strerror(errno));
		goto out;
	}
	if (fileio_sync_dir(dir) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot sync %s: %s", dir, strerror(errno));
		goto out;
	}
	/* The old generation's keys go with the tree (the previous issuing
	 * CA's were copied). */
	if (fileio_remove_tree(stage) != 0)
		log_warn("cannot remove %s: remove it by hand", stage);
	if (roll_state_pems(dir, v, e) != 0)
		goto out;
	rc = 0;
out:
	return rc;
}

/* Whether dir's keys/issuing.pem is the store's active issuing CA (v's):
 * 0 with *same set, or -1 with e (LERR_NOT_FOUND when the file is
 * missing). */
static int
roll_keys_current(const char *dir, const struct rollover_view *v, int *same, struct lerr *e)
{
	char path[STATE_PATH_MAX], fp[65];
	unsigned char *pem = NULL;
	size_t len = 0;
	gnutls_x509_crt_t crt = NULL;
	int rc = -1;

	*same = 0;
	if (roll_path(path, dir, SIGNER_ISSUING_PEM, e) != 0 ||
	    fileio_read(path, ROLL_FILE_MAX, 0, &pem, &len, e) != 0)
		goto out;
	if (x509_import(pem, len, &crt, e) != 0 || x509_fingerprint(crt, fp) != 0)
		goto out;
	*same = strcmp(v->issuing_fp, fp) == 0;
	rc = 0;
out:
	free(pem);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

int
rollover_view_read(struct store *s, struct rollover_view *v, struct lerr *e)
{
	struct store_rollover r;
	struct store_ca *ca = NULL;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	v->finished = store_rollover_newest(s, &r, e) == 0 && r.finished_at != 0;
	lerr_clear(e);
	if (store_ca_active(s, "issuing", &ca, e) != 0)
		goto out;
	snprintf(v->issuing_fp, sizeof(v->issuing_fp), "%s", ca->fingerprint);
	snprintf(v->issuing_subject, sizeof(v->issuing_subject), "%s", ca->subject);
	store_ca_free(ca);
	ca = NULL;
	if (store_ca_active(s, "root", &ca, e) != 0)
		goto out;
	if ((v->root_der = malloc(ca->der_len)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	memcpy(v->root_der, ca->der, ca->der_len);
	v->root_der_len = ca->der_len;
	store_ca_free(ca);
	ca = NULL;
	if (store_ca_find(s, "backup-root", "offline", &ca, e) == 0)
		v->backup_root = 1;
	else if (e->code != LERR_NOT_FOUND)
		goto out;
	lerr_clear(e);
	rc = 0;
out:
	store_ca_free(ca);
	if (rc != 0)
		rollover_view_free(v);
	return rc;
}

void
rollover_view_free(struct rollover_view *v)
{
	free(v->root_der);
	v->root_der = NULL;
	v->root_der_len = 0;
}

/* 0 if path is absent, or a directory (not a link) of this process's
 * user that no one else may write; else -1 with e naming it. */
static int
roll_stage_owned(const char *path, struct lerr *e)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : lerr_set(e, LERR_INTERNAL, "%s: %s", path,
						      strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0)
		return lerr_set(e, LERR_INTERNAL, "%s is not a directory of uid %u that only it "
				"may write (uid %u, mode %o): no rollover of lanca's staged it; "
				"refusing to touch the keys (remove it once checked)", path,
				(unsigned)geteuid(), (unsigned)st.st_uid,
				(unsigned)(st.st_mode & 07777));
	return 0;
}

int
rollover_recover_view(const char *dir, const struct rollover_view *v, struct lerr *e)
{
	char stage[STATE_PATH_MAX], path[STATE_PATH_MAX];
	struct stat st;
	int recorded = 0;

	if (roll_path(stage, dir, ROLLOVER_STAGE, e) != 0)
		return -1;
	/* finish deletes the old root's key after its record: a crash between
	 * the two leaves it, for this to remove. */
	if (v->finished &&
	    roll_path(path, dir, SIGNER_KEYS_DIR "/" SIGNER_PREV_ROOT_KEY_NAME, e) == 0 &&
	    unlink(path) == 0)
		log_info("removed the retired root's key %s", path);
	lerr_clear(e);
	if (lstat(stage, &st) != 0)
		return errno == ENOENT ? 0 : lerr_set(e, LERR_INTERNAL, "%s: %s", stage,
						      strerror(errno));
	/* Only a stage this process's user made and alone may write: the
	 * state directory is the daemon user's group's to write, so that
	 * user could plant a stage whose issuing.pem (public, in the store)
	 * names the active CA, and have the swap below put its keys/ in
	 * place and the real one deleted. */
	if (roll_stage_owned(stage, e) != 0 ||
	    (roll_path(path, stage, SIGNER_KEYS_DIR, e) == 0 && roll_stage_owned(path, e) != 0))
		return -1;
	lerr_clear(e);
	/* A staged keys/ the store does not name was never recorded (or is
	 * the old one, once exchanged): it goes. */
	if (roll_keys_current(stage, v, &recorded, e) != 0)
		recorded = 0;
	lerr_clear(e);
	if (recorded) {
		int current = 0;

		/* Already switched: both cannot name the store's CA. */
		if (roll_keys_current(dir, v, &current, e) == 0 && current)
			return lerr_set(e, LERR_INTERNAL, "%s and %s/%s both hold the active issuing "
					"CA: refusing to switch keys (remove %s once checked)",
					stage, dir, SIGNER_KEYS_DIR, stage);
		lerr_clear(e);
		log_info("completing the key switch of a root rollover that was interrupted");
		return roll_swap(dir, v, e);
	}
	if (fileio_remove_tree(stage) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot remove %s", stage);
	return 0;
}

int
rollover_recover(const char *dir, struct store *s, struct lerr *e)
{
	struct rollover_view v;
	int rc;

	if (rollover_view_read(s, &v, e) != 0)
		return -1;
	rc = rollover_recover_view(dir, &v, e);
	rollover_view_free(&v);
	return rc;
}

int
rollover_lock(const char *dir, int *fd, struct lerr *e)
{
	char path[STATE_PATH_MAX];

	*fd = -1;
	if (roll_path(path, dir, ROLLOVER_LOCK, e) != 0)
		return -1;
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return lerr_set(e, LERR_INTERNAL, "cannot open %s: %s", path, strerror(errno));
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		close(*fd);
		*fd = -1;
		if (errno == EWOULDBLOCK)
			return lerr_set(e, LERR_CONFLICT, "lanca serve is running on %s (or a lanca "
					"rollover command is): stop it first (the signer reads its keys "
					"when it starts), then start it again after this command", dir);
		return lerr_set(e, LERR_INTERNAL, "cannot lock %s: %s", path, strerror(errno));
	}
	return 0;
}

void
rollover_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* the lock goes with the descriptor */
}

int
rollover_check_keys(const char *dir, const struct rollover_view *v, struct lerr *e)
{
	int same = 0;

	if (roll_keys_current(dir, v, &same, e) != 0) {
		/* An older state directory: the signer adopts the store's. */
		if (e->code == LERR_NOT_FOUND) {
			lerr_clear(e);
			return 0;
		}
		return -1;
	}
	if (!same)
		return lerr_set(e, LERR_INVARIANT, "%s/%s is not the issuing CA the store names "
				"(%s): keys/ and the store are of different generations (a copy of "
				"one without the other?)", dir, SIGNER_ISSUING_PEM, v->issuing_subject);
	return 0;
}

int
rollover_start(struct store *s, const struct rollover_opts *o, struct rollover_started *out,
	       struct lerr *e)
{
	struct roll_build b;
	struct store_rollover cur;
	struct store_rollover_start r;
	struct rollover_view view;
	gnutls_datum_t root_der = { NULL, 0 }, iss_der = { NULL, 0 };
	gnutls_datum_t nwo = { NULL, 0 }, own = { NULL, 0 }, ibo = { NULL, 0 };
	gnutls_datum_t vder[STORE_ROLL_VOUCHERS_MAX];
	char path[STATE_PATH_MAX], root_fp[65], root_subj[256], iss_fp[65], iss_subj[256];
	char crl_url[SIGNER_CRL_URL_MAX], *name = NULL, *detail = NULL;
	int compromise = o->backup_key != NULL, staged = 0, rc = -1;
	int64_t joined = 0;
	time_t now = time(NULL);
	unsigned gen;
	size_t i;

	memset(&b, 0, sizeof(b));
	memset(&view, 0, sizeof(view));
	memset(vder, 0, sizeof(vder));
	memset(out, 0, sizeof(*out));
	if (store_rollover_newest(s, &cur, e) == 0) {
		if (cur.finished_at == 0) {
			lerr_set(e, LERR_CONFLICT, "a root rollover is under way already: finish it "
				 "first (`lanca rollover finish`)");
			goto out;
		}
	} else if (e->code != LERR_NOT_FOUND) {
		goto out;
	}
	lerr_clear(e);
	/* Every gateway of a shared site holds keys/ of its own that a
	 * rollover here would leave behind (issue 16 did not design that). */
	if (store_gateway_count(s, &joined, e) != 0)
		goto out;
	if (joined > 0) {
		lerr_set(e, LERR_CONFLICT, "%lld other gateway(s) joined this site (`lanca join`): "
			 "a root rollover of a site of several gateways is not supported; see "
			 "docs/scaling.md", (long long)joined);
		goto out;
	}
	gen = cur.id > 0 ? (unsigned)cur.id + 2 : 2;
	if (store_ca_active(s, "root", &b.old_root_row, e) != 0 ||
	    store_ca_active(s, "issuing", &b.old_issuing_row, e) != 0 ||
	    x509_import(b.old_root_row->der, b.old_root_row->der_len, &b.old_root, e) != 0 ||
	    policy_from_ca(&b.pol, b.old_root, e) != 0)
		goto out;
	if (store_setting_get(s, "name", &name, e) != 0)
		goto out;
	snprintf(b.name, sizeof(b.name), "%s", name);
	/* The old root's key vouches for the new one; after a compromise it
	 * vouches for nothing. */
	if (!compromise &&
	    (roll_path(path, o->dir, SIGNER_ROOT_KEY, e) != 0 ||
	     keystore_load(path, o->pass, &b.old_root_key, e) != 0 ||
	     x509_key_matches(b.old_root_key, b.old_root, SIGNER_ROOT_PEM, e) != 0))
		goto out;
	if (roll_new_root(s, &b, o, gen, now, e) != 0 ||
	    roll_new_issuing(s, &b, o, gen, now, e) != 0 ||
	    roll_crosses(s, &b, compromise, now, e) != 0)
		goto out;
	memset(&r, 0, sizeof(r));
	if (roll_ca_new(b.new_root, &root_der, root_fp, root_subj, &r.root, e) != 0 ||
	    roll_ca_new(b.new_issuing, &iss_der, iss_fp, iss_subj, &r.issuing, e) != 0 ||
	    revocation_crl_url_next(b.old_issuing_row->crl_url, o->crl_url, iss_fp, crl_url,
			 sizeof(crl_url), e) != 0)
		goto out;
	if (revocation_crl_url_free(s, crl_url, e) != 0)
		goto out;
	if (b.new_with_old != NULL && x509_export_der(b.new_with_old, &nwo) != 0)
		goto enc;
	if (b.old_with_new != NULL && x509_export_der(b.old_with_new, &own) != 0)
		goto enc;
	if (b.issuing_by_old != NULL && x509_export_der(b.issuing_by_old, &ibo) != 0)
		goto enc;
	for (i = 0; i < b.nvouch; i++) {
		if (x509_export_der(b.vouch[i], &vder[i]) != 0)
			goto enc;
		r.vouch[i].subject_id = b.vouch_id[i];
		r.vouch[i].der = vder[i].data;
		r.vouch[i].len = vder[i].size;
	}
	r.nvouch = b.nvouch;
	r.old_root = b.old_root_row->id;
	r.old_issuing = b.old_issuing_row->id;
	r.backup_id = b.backup_row != NULL ? b.backup_row->id : 0;
	r.crl_url = crl_url;
	r.new_with_old = nwo.data;
	r.new_with_old_len = nwo.size;
	r.old_with_new = own.data;
	r.old_with_new_len = own.size;
	r.issuing_by_old = ibo.data;
	r.issuing_by_old_len = ibo.size;
	r.compromise = compromise;
	r.actor = o->actor;
	r.now = (int64_t)now;
	{
		json_t *d = json_pack("{s:s, s:s, s:b, s:s}", "root_sha256", root_fp,
				      "issuing_sha256", iss_fp, "compromise", compromise,
				      "crl_url", crl_url);

		detail = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
		json_decref(d);
		if (detail == NULL) {
			lerr_set(e, LERR_INTERNAL, "out of memory");
			goto out;
		}
	}
	r.detail = detail;

	/* The next keys/ first, complete; then the record; then the switch. */
	if (rollover_recover(o->dir, s, e) != 0)
		goto out;
	if (roll_stage(o->dir, o, &b, crl_url, compromise, &staged, e) != 0 ||
	    store_rollover_start(s, &r, e) != 0)
		goto out;
	staged = 0;
	if (rollover_view_read(s, &view, e) != 0 || roll_swap(o->dir, &view, e) != 0)
		goto out;
	out->id = r.id;
	x509_fingerprint_colon(b.new_root, out->root_fp);
	snprintf(out->issuing_subject, sizeof(out->issuing_subject), "%s", iss_subj);
	snprintf(out->crl_url, sizeof(out->crl_url), "%s", crl_url);
	out->compromise = compromise;
	rc = 0;
	goto out;
enc:
	lerr_set(e, LERR_INTERNAL, "cannot encode a cross-certificate");
out:
	if (staged && state_path(path, o->dir, ROLLOVER_STAGE) == 0)
		fileio_remove_tree(path);
	for (i = 0; i < STORE_ROLL_VOUCHERS_MAX; i++)
		gnutls_free(vder[i].data);
	gnutls_free(root_der.data);
	gnutls_free(iss_der.data);
	gnutls_free(nwo.data);
	gnutls_free(own.data);
	gnutls_free(ibo.data);
	free(name);
	free(detail);
	roll_build_free(&b);
	rollover_view_free(&view);
	return rc;
}

int
rollover_finish(struct store *s, const char *dir, const char *actor, struct lerr *e)
{
	struct store_rollover r;
	struct rollover_view view;
	char path[STATE_PATH_MAX];
	json_t *o;
	char *detail = NULL;
	int rc;

	if (store_rollover_newest(s, &r, e) != 0) {
		if (e->code == LERR_NOT_FOUND)
			lerr_set(e, LERR_CONFLICT, "no root rollover is under way");
		return -1;
	}
	if (r.finished_at != 0)
		return lerr_set(e, LERR_CONFLICT, "no root rollover is under way");
	o = json_pack("{s:I}", "rollover", (json_int_t)r.id);
	detail = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	rc = store_rollover_finish(s, r.id, actor, detail, (int64_t)time(NULL), e);
	free(detail);
	if (rc != 0)
		return -1;
	/* The retired root signs nothing again. */
	if (roll_path(path, dir, SIGNER_KEYS_DIR "/" SIGNER_PREV_ROOT_KEY_NAME, e) != 0)
		return -1;
	if (unlink(path) != 0 && errno != ENOENT)
		return lerr_set(e, LERR_INTERNAL, "cannot remove %s: %s", path, strerror(errno));
	if (roll_path(path, dir, SIGNER_KEYS_DIR, e) != 0 || fileio_sync_dir(path) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot sync %s/%s", dir, SIGNER_KEYS_DIR);
	/* The new root is the primary now. */
	if (rollover_view_read(s, &view, e) != 0)
		return -1;
	rc = roll_state_pems(dir, &view, e);
	rollover_view_free(&view);
	return rc;
}

int
rollover_status(struct store *s, struct rollover_status *st, struct lerr *e)
{
	struct store_rollover r;
	struct store_ca *cas[STORE_CAS_MAX];
	struct store_roll_counts c;
	size_t n = 0, i;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (store_rollover_newest(s, &r, e) != 0) {
		if (e->code != LERR_NOT_FOUND)
			return -1;
		lerr_clear(e);
		return 0;
	}
	st->any = 1;
	st->id = r.id;
	st->started_at = r.started_at;
	st->finished_at = r.finished_at;
	st->compromise = r.compromise;
	if (store_ca_list(s, cas, STORE_CAS_MAX, &n, e) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (cas[i]->id == r.old_root)
			snprintf(st->old_root, sizeof(st->old_root), "%s", cas[i]->subject);
		if (cas[i]->id == r.new_root)
			snprintf(st->new_root, sizeof(st->new_root), "%s", cas[i]->subject);
	}
	if (store_rollover_counts(s, r.new_issuing, r.started_at, (int64_t)time(NULL), &c, e) != 0)
		goto out;
	st->devices = c.devices;
	st->refreshed = c.refreshed;
	st->renewed = c.renewed;
	rc = 0;
out:
	store_ca_list_free(cas, n);
	return rc;
}
