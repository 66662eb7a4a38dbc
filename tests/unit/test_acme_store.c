/*
 * test_acme_store.c - the store's ACME rows (store/acme.c, schema/0012)
 * over a real database in a temporary directory, with a fake clock (every
 * call is given its now): accounts (made, read by id and by key, one per
 * key, approved once, updated, deactivated for good, rekeyed), each
 * change with its audit row and each refusal without one; EAB keys used
 * once, never when expired or unknown, and an account refused with its
 * key not made at all; orders with their authorisations in order, the
 * challenge state machine and how an order settles (ready, invalid with
 * the error kept), deactivation, finalisation begun once and only from
 * ready, expiry, and recovery after a restart. What the store claims is
 * checked against the rows SQLite holds, read with SQL of the test's own.
 */
#include "config.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "common/lerr.h"
#include "store/store.h"

static char tmpdir[256];
static char dbpath[320];
static struct store *s;

static void
setup(void)
{
	const char *base = getenv("TMPDIR");
	struct lerr e;

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_acme_store.XXXXXX",
		 base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/%s", tmpdir, STORE_FILE);
	lerr_clear(&e);
	ck_assert_msg(store_open(dbpath, STORE_CREATE, &s, &e) == 0, "open: %s", e.msg);
}

static void
teardown(void)
{
	char path[600];
	struct dirent *d;
	DIR *dir;

	store_close(s);
	s = NULL;
	if ((dir = opendir(tmpdir)) != NULL) {
		while ((d = readdir(dir)) != NULL) {
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", tmpdir, d->d_name);
			unlink(path);
		}
		closedir(dir);
	}
	rmdir(tmpdir);
}

/* ---- the database as SQLite holds it ---- */

/* The one integer sql (a printf format) selects. */
static int64_t
q_int(const char *fmt, ...)
{
	char sql[1024];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	va_list ap;
	int64_t v;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* How many audit rows of event for subject (any subject when NULL). */
static int64_t
audits(const char *event, const char *subject)
{
	if (subject == NULL)
		return q_int("SELECT count(*) FROM audit WHERE event = '%s'", event);
	return q_int("SELECT count(*) FROM audit WHERE event = '%s' AND subject = '%s'", event,
		     subject);
}

/* ---- accounts ---- */

/* An id of STORE_ACME_ID_LEN characters, and a thumbprint of
 * STORE_ACME_THUMB_LEN, made from a tag and a number. */
static void
make_id(char out[STORE_ACME_ID_LEN + 1], const char *tag, int n)
{
	snprintf(out, STORE_ACME_ID_LEN + 1, "%s%0*d", tag, (int)(STORE_ACME_ID_LEN - strlen(tag)),
		 n);
	ck_assert_uint_eq(strlen(out), STORE_ACME_ID_LEN);
}

static void
make_thumb(char out[STORE_ACME_THUMB_LEN + 1], int n)
{
	snprintf(out, STORE_ACME_THUMB_LEN + 1, "thumb%038d", n);
	ck_assert_uint_eq(strlen(out), STORE_ACME_THUMB_LEN);
}

/* Fills a as account n (key n), made at `at`, waiting; jwk and contact
 * point at static text. */
static void
acct_fill(struct store_acme_account *a, int n, int64_t at)
{
	static char jwk[] = "{\"kty\":\"EC\"}";
	static char contact[] = "[\"mailto:ops@example.org\"]";

	memset(a, 0, sizeof(*a));
	make_id(a->id, "acct", n);
	make_thumb(a->thumbprint, n);
	a->jwk = jwk;
	a->contact = contact;
	a->status = STORE_ACME_VALID;
	a->approved = STORE_ACME_WAITING;
	snprintf(a->source, sizeof(a->source), "192.0.2.%d", n % 250);
	a->created_at = at;
}

static void
acct_new(int n, int64_t at)
{
	struct store_acme_account a;
	struct lerr e;

	acct_fill(&a, n, at);
	lerr_clear(&e);
	ck_assert_msg(store_acme_account_new(s, &a, &e) == 0, "account %d: %s", n, e.msg);
}

static struct store_acme_account *
acct_get(const char *id)
{
	struct store_acme_account *a = NULL;
	struct lerr e;

	lerr_clear(&e);
	ck_assert_msg(store_acme_account_get(s, id, &a, &e) == 0, "get %s: %s", id, e.msg);
	ck_assert_ptr_nonnull(a);
	return a;
}

START_TEST(test_account_new_get)
{
	struct store_acme_account a, *got = NULL;
	char id[STORE_ACME_ID_LEN + 1], tp[STORE_ACME_THUMB_LEN + 1];
	struct lerr e;

	acct_fill(&a, 1, 1000);
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_account_new(s, &a, &e), 0);
	got = acct_get(a.id);
	ck_assert_str_eq(got->id, a.id);
	ck_assert_str_eq(got->thumbprint, a.thumbprint);
	ck_assert_str_eq(got->jwk, "{\"kty\":\"EC\"}");
	ck_assert_str_eq(got->contact, "[\"mailto:ops@example.org\"]");
	ck_assert_int_eq(got->status, STORE_ACME_VALID);
	ck_assert_int_eq(got->approved, STORE_ACME_WAITING);
	ck_assert_str_eq(got->eab_kid, "");
	ck_assert_str_eq(got->source, "192.0.2.1");
	ck_assert_int_eq(got->created_at, 1000);
	ck_assert_int_eq(got->approved_at, 0);
	store_acme_account_free(got);
	got = NULL;
	/* by key */
	ck_assert_int_eq(store_acme_account_by_key(s, a.thumbprint, &got, &e), 0);
	ck_assert_str_eq(got->id, a.id);
	store_acme_account_free(got);
	got = NULL;
	/* neither an unknown id nor an unknown key */
	make_id(id, "acct", 2);
	make_thumb(tp, 2);
	ck_assert_int_eq(store_acme_account_get(s, id, &got, &e), 1);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(store_acme_account_by_key(s, tp, &got, &e), 1);
	ck_assert_ptr_null(got);
	/* its audit row: the account, from where it came */
	ck_assert_int_eq(audits("acme-account", a.id), 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'acme-account' AND "
			       "actor = '192.0.2.1' AND at = 1000 AND detail LIKE '%%%s%%'",
			       a.thumbprint), 1);
	/* one made approved has its time of approval */
	acct_fill(&a, 3, 1200);
	a.approved = STORE_ACME_BY_WINDOW;
	ck_assert_int_eq(store_acme_account_new(s, &a, &e), 0);
	got = acct_get(a.id);
	ck_assert_int_eq(got->approved, STORE_ACME_BY_WINDOW);
	ck_assert_int_eq(got->approved_at, 1200);
	store_acme_account_free(got);
}
END_TEST

START_TEST(test_account_duplicate_key)
{
	struct store_acme_account a;
	char tp[STORE_ACME_THUMB_LEN + 1];
	struct lerr e;

	acct_new(1, 1000);
	/* another id with the same key */
	acct_fill(&a, 2, 1001);
	make_thumb(tp, 1);
	memcpy(a.thumbprint, tp, sizeof(tp));
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_account_new(s, &a, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(q_int("SELECT count(*) FROM acme_accounts"), 1);
	ck_assert_int_eq(audits("acme-account", NULL), 1);
	/* the same id again (another key) is refused too, and writes nothing */
	acct_fill(&a, 1, 1002);
	make_thumb(a.thumbprint, 9);
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_account_new(s, &a, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(q_int("SELECT count(*) FROM acme_accounts"), 1);
	ck_assert_int_eq(audits("acme-account", NULL), 1);
}
END_TEST

START_TEST(test_account_approve)
{
	struct store_acme_account *got;
	char id[STORE_ACME_ID_LEN + 1], unknown[STORE_ACME_ID_LEN + 1];
	struct lerr e;

	acct_new(1, 1000);
	make_id(id, "acct", 1);
	lerr_clear(&e);
	ck_assert_msg(store_acme_account_approve(s, id, STORE_ACME_BY_ADMIN, "admin", 1100, &e) == 0,
		      "%s", e.msg);
	got = acct_get(id);
	ck_assert_int_eq(got->approved, STORE_ACME_BY_ADMIN);
	ck_assert_int_eq(got->approved_at, 1100);
	store_acme_account_free(got);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'acme-approve' AND "
			       "subject = '%s' AND actor = 'admin' AND at = 1100 AND "
			       "detail LIKE '%%admin%%'", id), 1);
	/* once only: a second approval (by anyone) changes nothing */
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_account_approve(s, id, STORE_ACME_BY_WINDOW, "lanca", 1200, &e),
			 -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	got = acct_get(id);
	ck_assert_int_eq(got->approved, STORE_ACME_BY_ADMIN);
	ck_assert_int_eq(got->approved_at, 1100);
	store_acme_account_free(got);
	ck_assert_int_eq(audits("acme-approve", NULL), 1);
	/* an account that does not exist */
	make_id(unknown, "acct", 77);
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_account_approve(s, unknown, STORE_ACME_BY_ADMIN, "admin", 1300,
						    &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(audits("acme-approve", NULL), 1);
	/* "approved by nobody" is no approval */
	acct_new(2, 1000);
	make_id(id, "acct", 2);
	ck_assert_int_eq(store_acme_account_approve(s, id, STORE_ACME_WAITING, "admin", 1300, &e),
			 -1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM acme_accounts WHERE id = '%s' AND "
			       "approved = ''", id), 1);
	/* a deactivated account is not approved either */
	ck_assert_int_eq(store_acme_account_update(s, id, NULL, STORE_ACME_DEACTIVATED, "acme", 1400,
						   &e), 0);
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_account_approve(s, id, STORE_ACME_BY_ADMIN, "admin", 1500, &e),
			 -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_int_eq(audits("acme-approve", NULL), 1);
}
END_TEST

static int
count_each(const struct store_acme_account *a, void *arg)
{
	(void)a;
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_account_update_deactivate)
{
	struct store_acme_account *got;
	char id[STORE_ACME_ID_LEN + 1], unknown[STORE_ACME_ID_LEN + 1];
	struct lerr e;
	int n = 0;

	acct_new(1, 1000);
	make_id(id, "acct", 1);
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_account_update(s, id, "[\"mailto:new@example.org\"]",
						   STORE_ACME_VALID, "192.0.2.9", 1100, &e), 0);
	got = acct_get(id);
	ck_assert_str_eq(got->contact, "[\"mailto:new@example.org\"]");
	ck_assert_int_eq(got->status, STORE_ACME_VALID);
	store_acme_account_free(got);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'acme-account-update' "
			       "AND subject = '%s' AND actor = '192.0.2.9' AND at = 1100", id), 1);
	/* NULL keeps the contact */
	ck_assert_int_eq(store_acme_account_update(s, id, NULL, STORE_ACME_VALID, "x", 1150, &e), 0);
	got = acct_get(id);
	ck_assert_str_eq(got->contact, "[\"mailto:new@example.org\"]");
	store_acme_account_free(got);
	ck_assert_int_eq(audits("acme-account-update", id), 2);
	/* deactivated */
	ck_assert_int_eq(store_acme_account_update(s, id, NULL, STORE_ACME_DEACTIVATED, "x", 1200,
						   &e), 0);
	got = acct_get(id);
	ck_assert_int_eq(got->status, STORE_ACME_DEACTIVATED);
	store_acme_account_free(got);
	ck_assert_int_eq(audits("acme-deactivate", id), 1);
	/* and so it stays: neither updated nor deactivated again */
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_account_update(s, id, "[]", STORE_ACME_VALID, "x", 1300, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_account_update(s, id, NULL, STORE_ACME_DEACTIVATED, "x", 1300,
						   &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	got = acct_get(id);
	ck_assert_int_eq(got->status, STORE_ACME_DEACTIVATED);
	ck_assert_str_eq(got->contact, "[\"mailto:new@example.org\"]");
	store_acme_account_free(got);
	ck_assert_int_eq(audits("acme-account-update", id), 2);
	ck_assert_int_eq(audits("acme-deactivate", id), 1);
	/* no other status may be set, and nothing unknown */
	ck_assert_int_eq(store_acme_account_update(s, id, NULL, STORE_ACME_REVOKED, "x", 1300, &e),
			 -1);
	make_id(unknown, "acct", 55);
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_account_update(s, unknown, "[]", STORE_ACME_VALID, "x", 1300,
						   &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	acct_new(2, 1001);
	ck_assert_int_eq(store_acme_account_each(s, count_each, &n, &e), 0);
	ck_assert_int_eq(n, 2);
}
END_TEST

START_TEST(test_account_rekey)
{
	struct store_acme_account *got = NULL;
	char id1[STORE_ACME_ID_LEN + 1], id2[STORE_ACME_ID_LEN + 1];
	char tp1[STORE_ACME_THUMB_LEN + 1], tp2[STORE_ACME_THUMB_LEN + 1];
	char tp3[STORE_ACME_THUMB_LEN + 1];
	struct lerr e;

	acct_new(1, 1000);
	acct_new(2, 1000);
	make_id(id1, "acct", 1);
	make_id(id2, "acct", 2);
	make_thumb(tp1, 1);
	make_thumb(tp2, 2);
	make_thumb(tp3, 3);
	lerr_clear(&e);
	ck_assert_msg(store_acme_account_rekey(s, id2, "{\"kty\":\"OKP\"}", tp3, "192.0.2.2", 1100,
					       &e) == 0, "%s", e.msg);
	ck_assert_int_eq(store_acme_account_by_key(s, tp3, &got, &e), 0);
	ck_assert_str_eq(got->id, id2);
	ck_assert_str_eq(got->jwk, "{\"kty\":\"OKP\"}");
	store_acme_account_free(got);
	got = NULL;
	ck_assert_int_eq(store_acme_account_by_key(s, tp2, &got, &e), 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'acme-key-change' AND "
			       "subject = '%s' AND at = 1100 AND detail LIKE '%%%s%%'", id2, tp3),
			 1);
	/* onto a key that has an account: refused, nothing changes */
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_account_rekey(s, id2, "{\"kty\":\"EC\"}", tp1, "x", 1200, &e),
			 -1);
	ck_assert_msg(e.code == LERR_CONFLICT, "code %d: %s", e.code, e.msg);
	got = acct_get(id2);
	ck_assert_str_eq(got->thumbprint, tp3);
	ck_assert_str_eq(got->jwk, "{\"kty\":\"OKP\"}");
	store_acme_account_free(got);
	got = acct_get(id1);
	ck_assert_str_eq(got->thumbprint, tp1);
	store_acme_account_free(got);
	ck_assert_int_eq(audits("acme-key-change", NULL), 1);
	/* a deactivated account's key is not changed */
	ck_assert_int_eq(store_acme_account_update(s, id1, NULL, STORE_ACME_DEACTIVATED, "x", 1300,
						   &e), 0);
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_account_rekey(s, id1, "{}", tp2, "x", 1400, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_int_eq(audits("acme-key-change", NULL), 1);
}
END_TEST

/* ---- External Account Binding ---- */

static int
acct_new_eab(int n, const char *kid, int64_t at, struct lerr *e)
{
	struct store_acme_account a;

	acct_fill(&a, n, at);
	a.approved = STORE_ACME_BY_EAB;
	snprintf(a.eab_kid, sizeof(a.eab_kid), "%s", kid);
	lerr_clear(e);
	return store_acme_account_new(s, &a, e);
}

START_TEST(test_eab_once)
{
	struct store_acme_account *got;
	char id1[STORE_ACME_ID_LEN + 1], id2[STORE_ACME_ID_LEN + 1];
	struct lerr e;

	ck_assert_int_eq(store_acme_eab_new(s, "kid-one", 1000, 2000, "admin", &e), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'acme-eab-new' AND "
			       "subject = 'kid-one' AND actor = 'admin'"), 1);
	ck_assert_msg(acct_new_eab(1, "kid-one", 1500, &e) == 0, "%s", e.msg);
	make_id(id1, "acct", 1);
	got = acct_get(id1);
	ck_assert_str_eq(got->eab_kid, "kid-one");
	ck_assert_int_eq(got->approved, STORE_ACME_BY_EAB);
	ck_assert_int_eq(got->approved_at, 1500);
	store_acme_account_free(got);
	ck_assert_int_eq(q_int("SELECT count(*) FROM acme_eab WHERE kid = 'kid-one' AND "
			       "used_at = 1500 AND account_id = '%s'", id1), 1);
	/* the key is used: a second account with it is refused, and is not made */
	ck_assert_int_eq(acct_new_eab(2, "kid-one", 1600, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	make_id(id2, "acct", 2);
	ck_assert_int_eq(q_int("SELECT count(*) FROM acme_accounts WHERE id = '%s'", id2), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM acme_eab WHERE kid = 'kid-one' AND "
			       "used_at = 1500 AND account_id = '%s'", id1), 1);
	ck_assert_int_eq(audits("acme-account", NULL), 1);
}
END_TEST

START_TEST(test_eab_expired_unknown)
{
	char id[STORE_ACME_ID_LEN + 1];
	struct lerr e;

	ck_assert_int_eq(store_acme_eab_new(s, "kid-two", 1000, 2000, "admin", &e), 0);
	/* at its end, and after */
	ck_assert_int_eq(acct_new_eab(1, "kid-two", 2000, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_int_eq(acct_new_eab(1, "kid-two", 2500, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	/* a key nobody made */
	ck_assert_int_eq(acct_new_eab(2, "kid-nobody", 1500, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	/* all or nothing: no account, no audit row, the key unused */
	ck_assert_int_eq(q_int("SELECT count(*) FROM acme_accounts"), 0);
	ck_assert_int_eq(audits("acme-account", NULL), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM acme_eab WHERE used_at IS NULL AND "
			       "account_id IS NULL"), 1);
	/* in time, the same account is made, and the key used */
	ck_assert_msg(acct_new_eab(1, "kid-two", 1999, &e) == 0, "%s", e.msg);
	make_id(id, "acct", 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM acme_eab WHERE kid = 'kid-two' AND "
			       "used_at = 1999 AND account_id = '%s'", id), 1);
	/* a refused key leaves the account's key free for another try */
	ck_assert_int_eq(store_acme_eab_new(s, "kid-three", 1000, 5000, "admin", &e), 0);
	ck_assert_int_eq(acct_new_eab(3, "kid-two", 3000, &e), -1);
	ck_assert_int_eq(acct_new_eab(3, "kid-three", 3000, &e), 0);
	/* and an EAB key's id is made once */
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_eab_new(s, "kid-two", 1000, 2000, "admin", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
}
END_TEST

/* ---- orders and authorisations ---- */

static const char *const values[] = { "a.lan.local", "b.lan.local", "10.0.0.5" };

/* Order n of account acct with the three values above, made at `at`,
 * ending at expires (its authorisations too), recorded. */
static void
order_new(int n, int acct, int64_t at, int64_t expires)
{
	struct store_acme_order *o;
	struct lerr e;
	size_t i;

	o = calloc(1, sizeof(*o));
	ck_assert_ptr_nonnull(o);
	make_id(o->id, "ordr", n);
	make_id(o->account_id, "acct", acct);
	snprintf(o->identifiers, sizeof(o->identifiers),
		 "[{\"type\":\"dns\",\"value\":\"%s\"},{\"type\":\"dns\",\"value\":\"%s\"},"
		 "{\"type\":\"ip\",\"value\":\"%s\"}]", values[0], values[1], values[2]);
	o->created_at = at;
	o->expires_at = expires;
	o->nauthz = 3;
	for (i = 0; i < 3; i++) {
		struct store_acme_authz *z = &o->authz[i];

		make_id(z->id, "az", n * 10 + (int)i);
		z->ip = i == 2;
		snprintf(z->value, sizeof(z->value), "%s", values[i]);
		snprintf(z->token, sizeof(z->token), "tok%040d", n * 10 + (int)i);
		z->expires_at = expires;
	}
	lerr_clear(&e);
	ck_assert_msg(store_acme_order_new(s, o, &e) == 0, "order %d: %s", n, e.msg);
	free(o);
}

/* The id of order n. */
static const char *
order_id(int n)
{
	static char id[4][STORE_ACME_ID_LEN + 1];
	static int next;
	char *p = id[next++ % 4];

	make_id(p, "ordr", n);
	return p;
}

static struct store_acme_order *
order_get(int n)
{
	struct store_acme_order *o = NULL;
	char id[STORE_ACME_ID_LEN + 1];
	struct lerr e;

	make_id(id, "ordr", n);
	lerr_clear(&e);
	ck_assert_msg(store_acme_order_get(s, id, &o, &e) == 0, "%s: %s", id, e.msg);
	return o;
}

static enum store_acme_status
order_status(int n)
{
	struct store_acme_order *o = order_get(n);
	enum store_acme_status st = o->status;

	free(o);
	return st;
}

/* The id of order n's authorisation i. */
static const char *
authz_id(int n, int i)
{
	static char id[4][STORE_ACME_ID_LEN + 1];
	static int next;
	char *p = id[next++ % 4];

	make_id(p, "az", n * 10 + i);
	return p;
}

static struct store_acme_authz
authz_get(int n, int i)
{
	struct store_acme_authz z;
	struct lerr e;

	lerr_clear(&e);
	ck_assert_msg(store_acme_authz_get(s, authz_id(n, i), &z, &e) == 0, "%s", e.msg);
	return z;
}

static int
start(int n, int i, int64_t now)
{
	struct lerr e;
	int rc;

	lerr_clear(&e);
	rc = store_acme_chall_start(s, authz_id(n, i), "http-01", now, &e);
	ck_assert_msg(rc >= 0, "%s", e.msg);
	return rc;
}

static int
done(int n, int i, int ok, const char *error, int64_t now)
{
	struct lerr e;
	int rc;

	lerr_clear(&e);
	rc = store_acme_chall_done(s, authz_id(n, i), ok, error, now, &e);
	ck_assert_msg(rc >= 0, "%s", e.msg);
	return rc;
}

static const char err_dns[] = "{\"type\":\"urn:ietf:params:acme:error:dns\","
			      "\"detail\":\"no such name\"}";

START_TEST(test_order_new_get)
{
	struct store_acme_order *o, *none = NULL;
	char ids[5][STORE_ACME_ID_LEN + 1], acct[STORE_ACME_ID_LEN + 1];
	struct store_acme_authz z;
	struct lerr e;
	size_t got = 0, i;

	acct_new(1, 900);
	order_new(1, 1, 1000, 5000);
	o = order_get(1);
	ck_assert_int_eq(o->status, STORE_ACME_PENDING);
	make_id(acct, "acct", 1);
	ck_assert_str_eq(o->account_id, acct);
	ck_assert_ptr_nonnull(strstr(o->identifiers, "b.lan.local"));
	ck_assert_str_eq(o->error, "");
	ck_assert_str_eq(o->cert_serial, "");
	ck_assert_int_eq(o->created_at, 1000);
	ck_assert_int_eq(o->updated_at, 1000);
	ck_assert_int_eq(o->expires_at, 5000);
	ck_assert_uint_eq(o->nauthz, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(o->authz[i].id, authz_id(1, (int)i));
		ck_assert_str_eq(o->authz[i].order_id, o->id);
		ck_assert_str_eq(o->authz[i].value, values[i]);
		ck_assert_int_eq(o->authz[i].ip, i == 2);
		ck_assert_int_eq(o->authz[i].status, STORE_ACME_PENDING);
		ck_assert_int_eq(o->authz[i].chall_status, STORE_ACME_PENDING);
		ck_assert_str_eq(o->authz[i].chall, "");
		ck_assert_int_eq(o->authz[i].expires_at, 5000);
		ck_assert_uint_eq(strlen(o->authz[i].token), 43);
	}
	free(o);
	z = authz_get(1, 2);
	ck_assert_str_eq(z.value, "10.0.0.5");
	ck_assert_int_eq(z.ip, 1);
	ck_assert_int_eq(store_acme_authz_get(s, authz_id(9, 0), &z, &e), 1);
	make_id(ids[0], "ordr", 9);
	ck_assert_int_eq(store_acme_order_get(s, ids[0], &none, &e), 1);
	ck_assert_ptr_null(none);
	ck_assert_int_eq(audits("acme-order", acct), 1);
	/* newest first, at most n */
	order_new(2, 1, 1002, 5000);
	order_new(3, 1, 1001, 5000);
	acct_new(2, 900);
	order_new(4, 2, 1003, 5000);
	ck_assert_int_eq(store_acme_orders_of(s, acct, ids, 5, &got, &e), 0);
	ck_assert_uint_eq(got, 3);
	make_id(acct, "ordr", 2);
	ck_assert_str_eq(ids[0], acct);
	make_id(acct, "ordr", 3);
	ck_assert_str_eq(ids[1], acct);
	make_id(acct, "ordr", 1);
	ck_assert_str_eq(ids[2], acct);
	make_id(acct, "acct", 1);
	ck_assert_int_eq(store_acme_orders_of(s, acct, ids, 2, &got, &e), 0);
	ck_assert_uint_eq(got, 2);
	make_id(acct, "ordr", 3);
	ck_assert_str_eq(ids[1], acct);
	make_id(acct, "acct", 7);
	ck_assert_int_eq(store_acme_orders_of(s, acct, ids, 5, &got, &e), 0);
	ck_assert_uint_eq(got, 0);
}
END_TEST

START_TEST(test_challenge_valid_ready)
{
	struct store_acme_authz z;
	struct store_acme_order *o;
	struct lerr e;

	acct_new(1, 900);
	order_new(1, 1, 1000, 5000);
	/* pending -> processing, once */
	ck_assert_int_eq(start(1, 0, 1100), 0);
	z = authz_get(1, 0);
	ck_assert_str_eq(z.chall, "http-01");
	ck_assert_int_eq(z.chall_status, STORE_ACME_PROCESSING);
	ck_assert_int_eq(z.status, STORE_ACME_PENDING);
	ck_assert_int_eq(start(1, 0, 1101), 1);
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_chall_start(s, authz_id(1, 0), "tls-alpn-01", 1101, &e), 1);
	z = authz_get(1, 0);
	ck_assert_str_eq(z.chall, "http-01");
	/* a verdict on an authorisation that is not processing changes nothing */
	ck_assert_int_eq(done(1, 1, 1, NULL, 1150), 1);
	z = authz_get(1, 1);
	ck_assert_int_eq(z.status, STORE_ACME_PENDING);
	ck_assert_int_eq(z.chall_status, STORE_ACME_PENDING);
	ck_assert_int_eq(audits("acme-validate", NULL), 0);
	/* valid: the authorisation, not yet the order */
	ck_assert_int_eq(done(1, 0, 1, NULL, 1200), 0);
	z = authz_get(1, 0);
	ck_assert_int_eq(z.status, STORE_ACME_VALID);
	ck_assert_int_eq(z.chall_status, STORE_ACME_VALID);
	ck_assert_int_eq(z.validated_at, 1200);
	ck_assert_str_eq(z.error, "");
	ck_assert_int_eq(order_status(1), STORE_ACME_PENDING);
	ck_assert_int_eq(audits("acme-validate", "a.lan.local"), 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'acme-validate' AND "
			       "at = 1200 AND detail LIKE '%%http-01%%'"), 1);
	/* and again: already decided */
	ck_assert_int_eq(done(1, 0, 0, err_dns, 1210), 1);
	ck_assert_int_eq(authz_get(1, 0).status, STORE_ACME_VALID);
	/* every one valid: the order is ready */
	ck_assert_int_eq(start(1, 1, 1300), 0);
	ck_assert_int_eq(done(1, 1, 1, NULL, 1300), 0);
	ck_assert_int_eq(order_status(1), STORE_ACME_PENDING);
	ck_assert_int_eq(start(1, 2, 1400), 0);
	ck_assert_int_eq(done(1, 2, 1, NULL, 1400), 0);
	o = order_get(1);
	ck_assert_int_eq(o->status, STORE_ACME_READY);
	ck_assert_int_eq(o->updated_at, 1400);
	ck_assert_str_eq(o->error, "");
	free(o);
	ck_assert_int_eq(audits("acme-validate", NULL), 3);
	/* an unknown authorisation */
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_chall_done(s, authz_id(8, 0), 1, NULL, 1500, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
}
END_TEST

START_TEST(test_challenge_invalid)
{
	struct store_acme_authz z;
	struct store_acme_order *o;
	struct lerr e;

	acct_new(1, 900);
	order_new(1, 1, 1000, 5000);
	ck_assert_int_eq(start(1, 0, 1100), 0);
	ck_assert_int_eq(done(1, 0, 1, NULL, 1100), 0);
	ck_assert_int_eq(start(1, 1, 1200), 0);
	ck_assert_int_eq(done(1, 1, 0, err_dns, 1250), 0);
	z = authz_get(1, 1);
	ck_assert_int_eq(z.status, STORE_ACME_INVALID);
	ck_assert_int_eq(z.chall_status, STORE_ACME_INVALID);
	ck_assert_str_eq(z.error, err_dns);
	o = order_get(1);
	ck_assert_int_eq(o->status, STORE_ACME_INVALID);
	ck_assert_str_eq(o->error, err_dns);
	ck_assert_int_eq(o->updated_at, 1250);
	ck_assert_int_eq(o->authz[0].status, STORE_ACME_VALID);
	free(o);
	/* an invalid order stays invalid, its error kept */
	ck_assert_int_eq(start(1, 2, 1300), 0);
	ck_assert_int_eq(done(1, 2, 1, NULL, 1300), 0);
	o = order_get(1);
	ck_assert_int_eq(o->status, STORE_ACME_INVALID);
	ck_assert_str_eq(o->error, err_dns);
	free(o);
	/* and is never finalized */
	ck_assert_int_eq(store_acme_order_begin(s, order_id(1), 1400, &e), 1);
}
END_TEST

START_TEST(test_deactivate)
{
	struct store_acme_order *o;
	struct lerr e;

	acct_new(1, 900);
	order_new(1, 1, 1000, 5000);
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_authz_deactivate(s, authz_id(1, 1), 1100, &e), 0);
	ck_assert_int_eq(authz_get(1, 1).status, STORE_ACME_DEACTIVATED);
	o = order_get(1);
	ck_assert_int_eq(o->status, STORE_ACME_INVALID);
	ck_assert_ptr_nonnull(strstr(o->error, "deactivated"));
	free(o);
	ck_assert_int_eq(store_acme_authz_deactivate(s, authz_id(1, 1), 1200, &e), 1);
	/* a valid authorisation of a ready order: the order is invalid */
	order_new(2, 1, 1000, 5000);
	ck_assert_int_eq(start(2, 0, 1100), 0);
	ck_assert_int_eq(done(2, 0, 1, NULL, 1100), 0);
	ck_assert_int_eq(start(2, 1, 1100), 0);
	ck_assert_int_eq(done(2, 1, 1, NULL, 1100), 0);
	ck_assert_int_eq(start(2, 2, 1100), 0);
	ck_assert_int_eq(done(2, 2, 1, NULL, 1100), 0);
	ck_assert_int_eq(order_status(2), STORE_ACME_READY);
	ck_assert_int_eq(store_acme_authz_deactivate(s, authz_id(2, 2), 1200, &e), 0);
	ck_assert_int_eq(order_status(2), STORE_ACME_INVALID);
	o = order_get(2);
	ck_assert_int_eq(store_acme_order_begin(s, o->id, 1300, &e), 1);
	free(o);
}
END_TEST

/* A deactivated authorisation stays so (RFC 8555 section 7.1.6: a final
 * state) when the validation that was running for it ends afterwards. */
START_TEST(test_deactivate_while_processing)
{
	struct store_acme_authz z;
	struct lerr e;

	acct_new(1, 900);
	order_new(1, 1, 1000, 5000);
	ck_assert_int_eq(start(1, 0, 1100), 0);
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_authz_deactivate(s, authz_id(1, 0), 1150, &e), 0);
	ck_assert_int_eq(order_status(1), STORE_ACME_INVALID);
	ck_assert_int_ge(done(1, 0, 1, NULL, 1200), 0);
	z = authz_get(1, 0);
	ck_assert_msg(z.status == STORE_ACME_DEACTIVATED, "a deactivated authorisation became %s",
		      store_acme_status_str(z.status));
	ck_assert_int_eq(order_status(1), STORE_ACME_INVALID);
	/* nor does a failure change it */
	ck_assert_int_eq(start(1, 1, 1100), 0);
	ck_assert_int_eq(store_acme_authz_deactivate(s, authz_id(1, 1), 1150, &e), 0);
	ck_assert_int_ge(done(1, 1, 0, err_dns, 1200), 0);
	ck_assert_int_eq(authz_get(1, 1).status, STORE_ACME_DEACTIVATED);
}
END_TEST

/* Order n made ready: every authorisation validated at `at`. */
static void
order_ready(int n, int64_t at)
{
	int i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(start(n, i, at), 0);
		ck_assert_int_eq(done(n, i, 1, NULL, at), 0);
	}
	ck_assert_int_eq(order_status(n), STORE_ACME_READY);
}

START_TEST(test_finalize)
{
	struct store_acme_order *o;
	char id[STORE_ACME_ID_LEN + 1];
	struct lerr e;

	acct_new(1, 900);
	order_new(1, 1, 1000, 5000);
	make_id(id, "ordr", 1);
	/* only from ready */
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_order_begin(s, id, 1050, &e), 1);
	ck_assert_int_eq(order_status(1), STORE_ACME_PENDING);
	order_ready(1, 1100);
	/* once: of two finalisations, one begins */
	ck_assert_int_eq(store_acme_order_begin(s, id, 1200, &e), 0);
	ck_assert_int_eq(order_status(1), STORE_ACME_PROCESSING);
	ck_assert_int_eq(store_acme_order_begin(s, id, 1201, &e), 1);
	ck_assert_int_eq(store_acme_order_end(s, id, "0a1b2c", NULL, 1300, &e), 0);
	o = order_get(1);
	ck_assert_int_eq(o->status, STORE_ACME_VALID);
	ck_assert_str_eq(o->cert_serial, "0a1b2c");
	ck_assert_str_eq(o->error, "");
	ck_assert_int_eq(o->updated_at, 1300);
	free(o);
	/* a valid order is not finalized again nor ended otherwise */
	ck_assert_int_eq(store_acme_order_begin(s, id, 1400, &e), 1);
	ck_assert_int_eq(store_acme_order_end(s, id, NULL, err_dns, 1400, &e), 0);
	o = order_get(1);
	ck_assert_int_eq(o->status, STORE_ACME_VALID);
	ck_assert_str_eq(o->cert_serial, "0a1b2c");
	free(o);
	/* invalid with the error */
	order_new(2, 1, 1000, 5000);
	order_ready(2, 1100);
	make_id(id, "ordr", 2);
	ck_assert_int_eq(store_acme_order_begin(s, id, 1200, &e), 0);
	ck_assert_int_eq(store_acme_order_end(s, id, NULL, err_dns, 1300, &e), 0);
	o = order_get(2);
	ck_assert_int_eq(o->status, STORE_ACME_INVALID);
	ck_assert_str_eq(o->error, err_dns);
	ck_assert_str_eq(o->cert_serial, "");
	free(o);
	/* neither serial nor error: ready again (the request was at fault),
	 * and finalized again later; an invalid order stays invalid */
	ck_assert_int_eq(store_acme_order_end(s, id, NULL, NULL, 1300, &e), 0);
	o = order_get(2);
	ck_assert_int_eq(o->status, STORE_ACME_INVALID);
	free(o);
	order_new(4, 1, 1000, 5000);
	order_ready(4, 1100);
	make_id(id, "ordr", 4);
	ck_assert_int_eq(store_acme_order_begin(s, id, 1200, &e), 0);
	ck_assert_int_eq(store_acme_order_end(s, id, NULL, NULL, 1300, &e), 0);
	o = order_get(4);
	ck_assert_int_eq(o->status, STORE_ACME_READY);
	ck_assert_str_eq(o->error, "");
	free(o);
	ck_assert_int_eq(store_acme_order_begin(s, id, 1400, &e), 0);
	/* not after the order's end */
	order_new(3, 1, 1000, 2000);
	order_ready(3, 1100);
	make_id(id, "ordr", 3);
	ck_assert_int_eq(store_acme_order_begin(s, id, 2000, &e), 1);
}
END_TEST

START_TEST(test_expire)
{
	struct store_acme_order *o;
	struct lerr e;

	acct_new(1, 900);
	order_new(1, 1, 1000, 2000);	/* pending */
	order_new(2, 1, 1000, 2000);	/* ready */
	order_new(3, 1, 1000, 2000);	/* valid */
	order_new(4, 1, 1000, 9000);	/* lives on */
	order_ready(2, 1100);
	order_ready(3, 1100);
	ck_assert_int_eq(store_acme_order_begin(s, order_id(3), 1200, &e), 0);
	ck_assert_int_eq(store_acme_order_end(s, order_id(3), "01", NULL, 1200, &e), 0);
	ck_assert_int_eq(start(1, 1, 1500), 0);	/* processing at the end */
	/* before the end: nothing */
	lerr_clear(&e);
	ck_assert_int_eq(store_acme_expire(s, 1999, &e), 0);
	ck_assert_int_eq(order_status(1), STORE_ACME_PENDING);
	ck_assert_int_eq(order_status(2), STORE_ACME_READY);
	ck_assert_int_eq(authz_get(1, 0).status, STORE_ACME_PENDING);
	/* at the end */
	ck_assert_int_eq(store_acme_expire(s, 2000, &e), 0);
	o = order_get(1);
	ck_assert_int_eq(o->status, STORE_ACME_INVALID);
	ck_assert_ptr_nonnull(strstr(o->error, "expired"));
	ck_assert_int_eq(o->updated_at, 2000);
	ck_assert_int_eq(o->authz[0].status, STORE_ACME_EXPIRED);
	ck_assert_int_eq(o->authz[2].status, STORE_ACME_EXPIRED);
	/* one being validated is left to its validation */
	ck_assert_int_eq(o->authz[1].status, STORE_ACME_PENDING);
	ck_assert_int_eq(o->authz[1].chall_status, STORE_ACME_PROCESSING);
	free(o);
	ck_assert_int_eq(order_status(2), STORE_ACME_INVALID);
	/* a valid order and valid authorisations are not touched */
	o = order_get(3);
	ck_assert_int_eq(o->status, STORE_ACME_VALID);
	ck_assert_str_eq(o->cert_serial, "01");
	ck_assert_int_eq(o->authz[0].status, STORE_ACME_VALID);
	free(o);
	ck_assert_int_eq(order_status(4), STORE_ACME_PENDING);
	ck_assert_int_eq(authz_get(4, 0).status, STORE_ACME_PENDING);
	/* an expired authorisation's challenge does not start */
	ck_assert_int_eq(start(1, 0, 2100), 1);
	/* nor does one whose time is up, before the tick */
	ck_assert_int_eq(start(4, 0, 9000), 1);
}
END_TEST

struct seen {
	char ids[8][STORE_ACME_ID_LEN + 1];
	int n;
};

static int
recover_cb(const char *id, void *arg)
{
	struct seen *w = arg;

	ck_assert_int_lt(w->n, 8);
	snprintf(w->ids[w->n++], STORE_ACME_ID_LEN + 1, "%s", id);
	return 0;
}

START_TEST(test_recover)
{
	static const char err[] = "{\"type\":\"urn:ietf:params:acme:error:serverInternal\","
				  "\"detail\":\"restarted\"}";
	struct store_acme_order *o;
	struct seen w;
	struct lerr e;

	acct_new(1, 900);
	order_new(1, 1, 1000, 9000);	/* left processing */
	order_new(2, 1, 1000, 9000);	/* one challenge left processing */
	order_new(3, 1, 1000, 9000);	/* ready, left alone */
	order_ready(1, 1100);
	ck_assert_int_eq(store_acme_order_begin(s, order_id(1), 1200, &e), 0);
	ck_assert_int_eq(start(2, 1, 1200), 0);
	order_ready(3, 1100);
	memset(&w, 0, sizeof(w));
	lerr_clear(&e);
	ck_assert_msg(store_acme_recover(s, 1300, err, recover_cb, &w, &e) == 0, "%s", e.msg);
	o = order_get(1);
	ck_assert_int_eq(o->status, STORE_ACME_INVALID);
	ck_assert_str_eq(o->error, err);
	ck_assert_int_eq(o->updated_at, 1300);
	free(o);
	ck_assert_int_eq(w.n, 1);
	ck_assert_str_eq(w.ids[0], authz_id(2, 1));
	/* the challenge is still processing, for its validation to go on */
	ck_assert_int_eq(authz_get(2, 1).chall_status, STORE_ACME_PROCESSING);
	ck_assert_int_eq(order_status(2), STORE_ACME_PENDING);
	ck_assert_int_eq(order_status(3), STORE_ACME_READY);
	/* it ends as any validation does */
	ck_assert_int_eq(done(2, 1, 0, err_dns, 1400), 0);
	ck_assert_int_eq(order_status(2), STORE_ACME_INVALID);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(store_acme_recover(s, 1500, err, recover_cb, &w, &e), 0);
	ck_assert_int_eq(w.n, 0);
}
END_TEST

START_TEST(test_status_words)
{
	ck_assert_str_eq(store_acme_status_str(STORE_ACME_PROCESSING), "processing");
	ck_assert_str_eq(store_acme_status_str((enum store_acme_status)99), "?");
	ck_assert_str_eq(store_acme_approval_str(STORE_ACME_WAITING), "");
	ck_assert_str_eq(store_acme_approval_str(STORE_ACME_BY_EAB), "eab");
	ck_assert_str_eq(store_acme_approval_str((enum store_acme_approval)9), "?");
}
END_TEST

static Suite *
acme_store_suite(void)
{
	Suite *su = suite_create("acme_store");
	TCase *tc = tcase_create("acme");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_account_new_get);
	tcase_add_test(tc, test_account_duplicate_key);
	tcase_add_test(tc, test_account_approve);
	tcase_add_test(tc, test_account_update_deactivate);
	tcase_add_test(tc, test_account_rekey);
	tcase_add_test(tc, test_eab_once);
	tcase_add_test(tc, test_eab_expired_unknown);
	tcase_add_test(tc, test_order_new_get);
	tcase_add_test(tc, test_challenge_valid_ready);
	tcase_add_test(tc, test_challenge_invalid);
	tcase_add_test(tc, test_deactivate);
	tcase_add_test(tc, test_deactivate_while_processing);
	tcase_add_test(tc, test_finalize);
	tcase_add_test(tc, test_expire);
	tcase_add_test(tc, test_recover);
	tcase_add_test(tc, test_status_words);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	SRunner *sr = srunner_create(acme_store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
