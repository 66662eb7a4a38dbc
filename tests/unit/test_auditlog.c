/*
 * test_auditlog.c - checkpoints of the audit chain and its verification
 * (daemon/auditlog.h) over a real CA: when a checkpoint is taken (not
 * twice for the same head, at least hourly while rows come, never more
 * often), sessions that ran out recorded and dropped, and verification
 * of a sound log, a changed row and a checkpoint of another key.
 */
#include "config.h"

#include <sqlite3.h>

#include "daemon/auditlog.h"
#include "fixture.h"

static struct fx_issuer x;

static void
setup(void)
{
	fx_make_ca();
	fx_issuer_open(&x, FX_LOCAL_SIGNER);
}

static void
teardown(void)
{
	fx_issuer_close(&x);
	fx_remove_ca();
}

static int64_t
q_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_open_v2(x.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s", sql);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
q_exec(const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	ck_assert_int_eq(sqlite3_open_v2(x.db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		ck_abort_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static void
pub(unsigned char pk[32])
{
	char path[STATE_PATH_MAX];
	struct lerr e;

	ck_assert_int_eq(state_path(path, fx_dir, SIGNER_AUDIT_PUB), 0);
	ck_assert_msg(auditlog_read_pub(path, pk, &e) == 0, "%s", e.msg);
}

START_TEST(test_checkpoint_when)
{
	struct store_checkpoint last;
	int64_t t0, n0;
	struct lerr e;

	/* init signed its rows. */
	ck_assert_int_eq(store_checkpoint_last(x.store, &last, &e), 0);
	ck_assert_int_eq(last.row_id, q_int("SELECT max(id) FROM audit"));
	t0 = last.at;
	n0 = q_int("SELECT count(*) FROM audit_checkpoints");
	/* Nothing new: nothing to sign. */
	ck_assert_int_eq(auditlog_checkpoint(x.store, x.signer, t0 + 5, &e), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit_checkpoints"), n0);

	ck_assert_int_eq(store_audit(x.store, "unit", "press", NULL, NULL, &e), 0);
	/* A new row, but the last checkpoint is fresh: the tick waits. */
	auditlog_tick(x.store, x.signer, t0 + 60);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit_checkpoints"), n0);
	/* An hour on: signed. */
	auditlog_tick(x.store, x.signer, t0 + AUDITLOG_EVERY_S);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit_checkpoints"), n0 + 1);
	ck_assert_int_eq(store_checkpoint_last(x.store, &last, &e), 0);
	ck_assert_int_eq(last.row_id, q_int("SELECT max(id) FROM audit"));
	ck_assert_int_eq(last.at, t0 + AUDITLOG_EVERY_S);
	/* Hours later with no new row: nothing. */
	auditlog_tick(x.store, x.signer, t0 + 5 * AUDITLOG_EVERY_S);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit_checkpoints"), n0 + 1);
	/* "Now" takes one at once, whatever the time. */
	ck_assert_int_eq(store_audit(x.store, "unit", "crl", NULL, NULL, &e), 0);
	ck_assert_int_eq(auditlog_checkpoint(x.store, x.signer, t0 + 5 * AUDITLOG_EVERY_S + 1, &e),
			 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit_checkpoints"), n0 + 2);
}
END_TEST

/* A session that ran out is dropped by the tick with its own row. */
START_TEST(test_sessions_expire_on_record)
{
	static const unsigned char tok[32] = { 1, 2, 3 };
	struct store_session_new ses = { tok, "csrf", 1000, 5000, 2000 };
	struct lerr e;

	ck_assert_int_eq(store_admin_set(x.store, "root", "$argon2id$x", NULL, "unit", &e), 0);
	ck_assert_int_eq(store_session_add(x.store, "root", &ses, "unit", &e), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'login'"), 1);
	auditlog_tick(x.store, x.signer, 1500);
	ck_assert_int_eq(q_int("SELECT count(*) FROM sessions"), 1);
	auditlog_tick(x.store, x.signer, 2000);
	ck_assert_int_eq(q_int("SELECT count(*) FROM sessions"), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'session-expired' AND "
			       "subject = 'root' AND json_extract(detail, '$.ended_at') = 2000"), 1);
	auditlog_tick(x.store, x.signer, 3000);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'session-expired'"), 1);
}
END_TEST

START_TEST(test_verify)
{
	unsigned char pk[32], other[32];
	struct auditlog_report r;
	struct lerr e;
	int64_t k;

	pub(pk);
	ck_assert_int_eq(store_audit(x.store, "unit", "login", "a", NULL, &e), 0);
	ck_assert_int_eq(store_audit(x.store, "unit", "logout", "a", NULL, &e), 0);
	ck_assert_int_eq(auditlog_verify(x.store, pk, &r, &e), 0);
	ck_assert_msg(r.ok, "%s", r.why);
	ck_assert_int_eq(r.rows, q_int("SELECT count(*) FROM audit"));
	ck_assert_int_eq(r.checkpoints, 1);
	ck_assert_int_lt(r.checked_row, r.last_row);	/* the two new rows: not signed yet */

	ck_assert_int_eq(auditlog_checkpoint(x.store, x.signer, 99, &e), 0);
	ck_assert_int_eq(auditlog_verify(x.store, pk, &r, &e), 0);
	ck_assert_msg(r.ok, "%s", r.why);
	ck_assert_int_eq(r.checked_row, r.last_row);
	ck_assert_int_eq(r.checked_at, 99);

	/* Another key: its checkpoints do not verify. */
	memcpy(other, pk, sizeof(other));
	other[0] ^= 1;
	ck_assert_int_eq(auditlog_verify(x.store, other, &r, &e), 0);
	ck_assert_int_eq(r.ok, 0);
	ck_assert_msg(strstr(r.why, "signature does not verify") != NULL, "%s", r.why);
	/* Several keys (a site's gateways): a checkpoint signed with any one
	 * of them verifies, in either order. */
	{
		unsigned char two[2][32];

		memcpy(two[0], other, 32);
		memcpy(two[1], pk, 32);
		ck_assert_int_eq(auditlog_verify_keys(x.store, (const unsigned char (*)[32])two, 2,
						      &r, &e), 0);
		ck_assert_msg(r.ok, "%s", r.why);
		ck_assert_int_eq(auditlog_verify_keys(x.store, (const unsigned char (*)[32])two, 1,
						      &r, &e), 0);
		ck_assert_int_eq(r.ok, 0);
		ck_assert_msg(strstr(r.why, "does not verify with the audit key") != NULL, "%s",
			      r.why);
		ck_assert_int_eq(auditlog_verify_keys(x.store, (const unsigned char (*)[32])two, 0,
						      &r, &e), -1);
	}

	/* A changed row, named. */
	k = q_int("SELECT id FROM audit WHERE event = 'login'");
	q_exec("DROP TRIGGER audit_no_update; UPDATE audit SET subject = 'b' WHERE event = 'login'");
	ck_assert_int_eq(auditlog_verify(x.store, pk, &r, &e), 0);
	ck_assert_int_eq(r.ok, 0);
	ck_assert_int_eq(r.broken_row, k);
	ck_assert_msg(strstr(r.why, "does not match its hash") != NULL, "%s", r.why);
}
END_TEST

START_TEST(test_events_known)
{
	size_t i;

	ck_assert(auditlog_event_known("press"));
	ck_assert(auditlog_event_known("session-expired"));
	ck_assert(!auditlog_event_known("Press"));
	ck_assert(!auditlog_event_known(""));
	ck_assert(!auditlog_event_known(NULL));
	for (i = 0; auditlog_event(i) != NULL; i++)
		ck_assert(auditlog_event_known(auditlog_event(i)));
	ck_assert_uint_gt(i, 20);
}
END_TEST

/* An action whose audit row cannot be written answers 503; a disk that is
 * full, failing or read-only keeps its own code (store_unavailable), any
 * other failure is the store's. cause may be e itself. */
START_TEST(test_unwritable)
{
	struct lerr cause, e;

	lerr_set(&cause, LERR_STORE_UNAVAILABLE, "the certificate store's disk is full: x");
	ck_assert_int_eq(auditlog_unwritable(&e, &cause), -1);
	ck_assert_int_eq(e.code, LERR_STORE_UNAVAILABLE);
	ck_assert_int_eq(e.http, 503);
	ck_assert_str_eq(e.msg, "the audit log cannot be written: the certificate store's disk "
		"is full: x");
	lerr_set(&e, LERR_STORE, "constraint failed");
	ck_assert_int_eq(auditlog_unwritable(&e, &e), -1);
	ck_assert_int_eq(e.code, LERR_STORE);
	ck_assert_int_eq(e.http, 503);
	ck_assert_str_eq(e.msg, "the audit log cannot be written: constraint failed");
}
END_TEST

static Suite *
auditlog_suite(void)
{
	Suite *s = suite_create("auditlog");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_checkpoint_when);
	tcase_add_test(tc, test_sessions_expire_on_record);
	tcase_add_test(tc, test_verify);
	tcase_add_test(tc, test_events_known);
	tcase_add_test(tc, test_unwritable);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (gnutls_global_init() < 0)
		return 1;
	sr = srunner_create(auditlog_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
