/*
 * test_trustbundle.c - the backup root (daemon/backuproot.c) and the trust
 * bundle (daemon/trustbundle.c) over a real state directory: the bundle's
 * order and roles before and after a backup root, its PEM and ETag, the
 * key file (encrypted, the backup root's key, opened only with its
 * passphrase), a second backup root and a missing passphrase refused, the
 * confirmation (once), and a store whose voucher was tampered with; and
 * across a root rollover (daemon/rollover.c): the roots and vouchers of
 * the bundle while it runs and after finish, the chains' issuing CA
 * certificate, and an expired old root whose vouchers are left out.
 */
#include "config.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "fixture.h"
#include "ca/keystore.h"
#include "ca/x509.h"
#include "daemon/backuproot.h"
#include "daemon/rollover.h"
#include "daemon/trustbundle.h"

#define PASS	"unit-backup pass:phrase"

static char key_out[STATE_PATH_MAX];

static void
setup(void)
{
	fx_make_ca();
	snprintf(key_out, sizeof(key_out), "%s/backup.key", fx_tmp);
}

static void
teardown(void)
{
	fx_remove_ca();
}

/* The primary root's key, from keys/. */
static gnutls_privkey_t
root_key(void)
{
	char path[STATE_PATH_MAX];
	gnutls_privkey_t k = NULL;
	struct lerr e;

	ck_assert_int_eq(state_path(path, fx_dir, SIGNER_ROOT_KEY), 0);
	ck_assert_msg(keystore_load(path, NULL, &k, &e) == 0, "%s", e.msg);
	return k;
}

/* Makes the backup root of fx_dir with passphrase pass. */
static int
make_backup(struct fx_issuer *f, const char *pass, struct lerr *e)
{
	struct backuproot_opts o = { fx_dir, "unit", KEYSTORE_ECDSA_P256, key_out, pass };
	gnutls_privkey_t k = root_key();
	int rc = backuproot_create(f->store, f->ca.root, k, &o, NULL, e);

	gnutls_privkey_deinit(k);
	return rc;
}

START_TEST(test_primary_only)
{
	struct fx_issuer f;
	struct trust_bundle b;
	enum backuproot_state st;
	struct lerr e;

	fx_issuer_open(&f, FX_NO_SIGNER);
	ck_assert_msg(trustbundle_load(f.store, &b, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(b.n, 1);
	ck_assert_uint_eq(b.nroots, 1);
	ck_assert_int_eq(b.entry[0].role, TRUST_PRIMARY);
	ck_assert_str_eq(b.entry[0].fp, f.ca.root_fp);
	ck_assert_ptr_eq(b.roots[0], b.entry[0].crt);
	/* The served PEM is the root's own. */
	ck_assert_uint_eq(b.pem.size, f.ca.root_pem.size);
	ck_assert_mem_eq(b.pem.data, f.ca.root_pem.data, b.pem.size);
	ck_assert_uint_eq(strlen(b.etag), 66);
	ck_assert_int_eq(b.etag[0], '"');
	ck_assert_ptr_null(trustbundle_find(&b, TRUST_BACKUP));
	trustbundle_free(&b);
	ck_assert_int_eq(backuproot_state(f.store, &st, NULL, &e), 0);
	ck_assert_int_eq(st, BACKUPROOT_NONE);
	ck_assert_ptr_nonnull(backuproot_warning(st));
	ck_assert_int_eq(backuproot_confirm(f.store, "unit", &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	fx_issuer_close(&f);
}
END_TEST

START_TEST(test_backup_in_bundle)
{
	char path[STATE_PATH_MAX], etag[72];
	gnutls_privkey_t bk = NULL;
	gnutls_x509_crt_t pem_crt = NULL;
	const struct trust_entry *t, *x;
	struct fx_issuer f;
	struct trust_bundle b;
	unsigned status = 0;
	unsigned char *pem;
	size_t len;
	struct stat sb;
	struct lerr e;

	fx_issuer_open(&f, FX_NO_SIGNER);
	ck_assert_msg(trustbundle_load(f.store, &b, &e) == 0, "%s", e.msg);
	memcpy(etag, b.etag, sizeof(etag));
	trustbundle_free(&b);
	ck_assert_msg(make_backup(&f, PASS, &e) == 0, "%s", e.msg);
	ck_assert_msg(trustbundle_load(f.store, &b, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(b.n, 3);
	ck_assert_uint_eq(b.nroots, 2);
	ck_assert_int_eq(b.entry[0].role, TRUST_PRIMARY);
	ck_assert_int_eq(b.entry[1].role, TRUST_BACKUP);
	ck_assert_int_eq(b.entry[2].role, TRUST_CROSS);
	ck_assert_int_eq(b.entry[2].vouches_for, 1);
	ck_assert_ptr_eq(b.roots[0], b.entry[0].crt);
	ck_assert_ptr_eq(b.roots[1], b.entry[1].crt);
	ck_assert_str_ne(b.etag, etag);
	t = trustbundle_find(&b, TRUST_BACKUP);
	x = trustbundle_find(&b, TRUST_CROSS);
	ck_assert_ptr_eq(t, &b.entry[1]);
	ck_assert_int_eq(t->confirmed_at, 0);
	ck_assert_str_ne(t->fp, f.ca.root_fp);
	/* Self-signed, with the primary's constraints; the cross-certificate
	 * verifies under the primary only. */
	ck_assert_int_ne(gnutls_x509_crt_check_issuer(t->crt, t->crt), 0);
	ck_assert_int_ge(gnutls_x509_crt_verify(x->crt, &b.entry[0].crt, 1, 0, &status), 0);
	ck_assert_uint_eq(status, 0);
	ck_assert_int_ge(gnutls_x509_crt_verify(x->crt, &b.entry[1].crt, 1, 0, &status), 0);
	ck_assert_uint_ne(status, 0);
	/* The PEM served is the three in order. */
	ck_assert_uint_eq(b.pem.size, b.entry[0].pem.size + b.entry[1].pem.size + b.entry[2].pem.size);
	ck_assert_mem_eq(b.pem.data + b.entry[0].pem.size, t->pem.data, t->pem.size);

	/* The key file: 0600, encrypted, the backup root's key. */
	ck_assert_int_eq(stat(key_out, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(keystore_load(key_out, NULL, &bk, &e), -1);
	ck_assert_int_eq(keystore_load(key_out, "wrong", &bk, &e), -1);
	ck_assert_msg(keystore_load(key_out, PASS, &bk, &e) == 0, "%s", e.msg);
	ck_assert_msg(x509_key_matches(bk, t->crt, "backup", &e) == 0, "%s", e.msg);
	ck_assert_int_ne(x509_key_matches(bk, b.entry[0].crt, "primary", &e), 0);
	gnutls_privkey_deinit(bk);
	/* The state directory's PEM is the same certificate. */
	ck_assert_int_eq(state_path(path, fx_dir, STATE_BACKUP_ROOT_PEM), 0);
	ck_assert_int_eq(fileio_read(path, 1 << 16, 0, &pem, &len, &e), 0);
	ck_assert_int_eq(x509_import(pem, len, &pem_crt, &e), 0);
	ck_assert_int_ne(gnutls_x509_crt_equals(pem_crt, t->crt), 0);
	gnutls_x509_crt_deinit(pem_crt);
	free(pem);
	trustbundle_free(&b);
	fx_issuer_close(&f);
}
END_TEST

START_TEST(test_refusals)
{
	struct fx_issuer f;
	struct trust_bundle b;
	struct lerr e;

	fx_issuer_open(&f, FX_NO_SIGNER);
	/* No passphrase, or an empty one: nothing written, nothing recorded. */
	ck_assert_int_eq(make_backup(&f, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(make_backup(&f, "", &e), -1);
	ck_assert_int_eq(access(key_out, F_OK), -1);
	ck_assert_int_eq(trustbundle_load(f.store, &b, &e), 0);
	ck_assert_uint_eq(b.n, 1);
	trustbundle_free(&b);
	/* A second backup root is refused before a key is made. */
	ck_assert_msg(make_backup(&f, PASS, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(unlink(key_out), 0);
	ck_assert_int_eq(make_backup(&f, PASS, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(access(key_out, F_OK), -1);
	fx_issuer_close(&f);
}
END_TEST

/* A record that fails after the key file was written (as on a full disk)
 * takes back the key file and the PEM copy: no key of a root never
 * installed is left to mislead, and a second try is not refused for it. */
START_TEST(test_failed_record_leaves_nothing)
{
	char pem[STATE_PATH_MAX], *msg = NULL;
	struct fx_issuer f;
	struct lerr e;
	sqlite3 *db;

	fx_issuer_open(&f, FX_NO_SIGNER);
	ck_assert_int_eq(sqlite3_open_v2(f.db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, "CREATE TRIGGER test_no_ca BEFORE INSERT ON cas "
				   "BEGIN SELECT RAISE(ABORT, 'disk full'); END", NULL, NULL,
				   &msg) == SQLITE_OK, "%s", msg);
	ck_assert_int_eq(make_backup(&f, PASS, &e), -1);
	ck_assert_int_eq(access(key_out, F_OK), -1);
	ck_assert_int_eq(state_path(pem, fx_dir, STATE_BACKUP_ROOT_PEM), 0);
	ck_assert_int_eq(access(pem, F_OK), -1);
	ck_assert_int_eq(sqlite3_exec(db, "DROP TRIGGER test_no_ca", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_msg(make_backup(&f, PASS, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(access(key_out, F_OK), 0);
	ck_assert_int_eq(access(pem, F_OK), 0);
	fx_issuer_close(&f);
}
END_TEST

START_TEST(test_confirm)
{
	struct fx_issuer f;
	struct trust_bundle b;
	enum backuproot_state st;
	int64_t id;
	struct lerr e;

	fx_issuer_open(&f, FX_NO_SIGNER);
	ck_assert_msg(make_backup(&f, PASS, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(backuproot_state(f.store, &st, &id, &e), 0);
	ck_assert_int_eq(st, BACKUPROOT_UNCONFIRMED);
	ck_assert_int_gt(id, 0);
	ck_assert_ptr_nonnull(backuproot_warning(st));
	ck_assert_msg(backuproot_confirm(f.store, "unit", &e) == 0, "%s", e.msg);
	ck_assert_int_eq(backuproot_state(f.store, &st, NULL, &e), 0);
	ck_assert_int_eq(st, BACKUPROOT_CONFIRMED);
	ck_assert_ptr_null(backuproot_warning(st));
	ck_assert_int_eq(backuproot_confirm(f.store, "unit", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(trustbundle_load(f.store, &b, &e), 0);
	ck_assert_int_gt(trustbundle_find(&b, TRUST_BACKUP)->confirmed_at, 0);
	trustbundle_free(&b);
	fx_issuer_close(&f);
}
END_TEST

/* A backup root recorded with a voucher that is not the primary's (here:
 * the root's own self-signed certificate, another subject and key) is
 * refused when the bundle is loaded, not served. */
START_TEST(test_bad_voucher)
{
	struct fx_issuer f;
	struct trust_bundle b;
	struct lerr e;

	fx_issuer_open(&f, FX_NO_SIGNER);
	ck_assert_msg(make_backup(&f, PASS, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(trustbundle_load(f.store, &b, &e), 0);
	/* Record a second offline backup root (newer: it wins) whose voucher
	 * is the primary's own certificate. */
	ck_assert_msg(store_ca_insert_offline(f.store, "backup-root", "x", "00",
					      0, 0, b.entry[1].der.data, b.entry[1].der.size,
					      b.entry[0].der.data, b.entry[0].der.size, NULL, &e) == 0,
		      "%s", e.msg);
	trustbundle_free(&b);
	ck_assert_int_eq(trustbundle_load(f.store, &b, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	trustbundle_free(&b);
	fx_issuer_close(&f);
}
END_TEST

/* How many vouchers of b were signed by root id. */
static int
crosses_by(const struct trust_bundle *b, int64_t id)
{
	size_t i;
	int n = 0;

	for (i = 0; i < b->n; i++)
		n += b->entry[i].role == TRUST_CROSS && b->entry[i].issuer_ca_id == id;
	return n;
}

START_TEST(test_rollover_bundle)
{
	struct rollover_opts o = { fx_dir, NULL, NULL, NULL, KEYSTORE_ECDSA_P256, NULL, "unit" };
	struct rollover_started st;
	struct fx_issuer f;
	struct trust_bundle b;
	struct ca_set ca;
	char path[STATE_PATH_MAX], sql[128], a_fp[65];
	int64_t a_id;
	sqlite3 *db;
	struct lerr e;

	fx_issuer_open(&f, FX_NO_SIGNER);
	ck_assert_msg(make_backup(&f, PASS, &e) == 0, "%s", e.msg);
	a_id = f.ca.root_id;
	memcpy(a_fp, f.ca.root_fp, sizeof(a_fp));
	ck_assert_msg(rollover_start(f.store, &o, &st, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(st.compromise, 0);

	/* While it runs: A, then B, then the backup root; the backup's
	 * voucher by A, NewWithOld, OldWithNew, the backup's by B. */
	ck_assert_msg(trustbundle_load(f.store, &b, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(b.entry[0].role, TRUST_PRIMARY);
	ck_assert_str_eq(b.entry[0].fp, a_fp);
	ck_assert_int_eq(b.entry[1].role, TRUST_NEXT);
	ck_assert_int_eq(b.entry[2].role, TRUST_BACKUP);
	ck_assert_uint_eq(b.nroots, 3);
	ck_assert_uint_eq(b.n, 7);
	ck_assert_int_eq(crosses_by(&b, a_id), 2);
	ck_assert_int_eq(crosses_by(&b, b.entry[1].ca_id), 2);
	trustbundle_free(&b);
	/* The chains carry A's certificate of the new issuing CA. */
	ck_assert_msg(ca_set_load(f.store, &ca, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(ca.root_id, a_id);
	ck_assert(gnutls_x509_crt_check_issuer(ca.issuing, ca.root));
	ca_set_free(&ca);

	/* Finished: B leads, A is gone; its NewWithOld and its voucher for
	 * the backup root stay while A is valid. */
	ck_assert_msg(rollover_finish(f.store, fx_dir, "unit", &e) == 0, "%s", e.msg);
	ck_assert_msg(trustbundle_load(f.store, &b, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(b.entry[0].role, TRUST_PRIMARY);
	ck_assert_str_ne(b.entry[0].fp, a_fp);
	ck_assert_int_eq(b.entry[1].role, TRUST_BACKUP);
	ck_assert_uint_eq(b.nroots, 2);
	ck_assert_int_eq(crosses_by(&b, a_id), 2);
	trustbundle_free(&b);

	/* A expires: what it signed is left out, and the bundle still loads. */
	ck_assert_int_eq(state_path(path, fx_dir, STORE_FILE), 0);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "UPDATE cas SET not_after = 1 WHERE id = %lld", (long long)a_id);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_msg(trustbundle_load(f.store, &b, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(crosses_by(&b, a_id), 0);
	ck_assert_uint_eq(b.nroots, 2);
	trustbundle_free(&b);
	fx_issuer_close(&f);
}
END_TEST

static Suite *
trustbundle_suite(void)
{
	Suite *s = suite_create("trustbundle");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_primary_only);
	tcase_add_test(tc, test_backup_in_bundle);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_failed_record_leaves_nothing);
	tcase_add_test(tc, test_confirm);
	tcase_add_test(tc, test_bad_voucher);
	tcase_add_test(tc, test_rollover_bundle);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(trustbundle_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
