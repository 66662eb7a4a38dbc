/*
 * test_store.c - unit tests for the SQLite store (src/store/).
 *
 * Each test works in a fresh temporary directory, removed afterwards. The
 * database is also inspected directly through SQLite, so that what the
 * store claims (rows, schema version, append-only audit) is checked
 * against what is really in the file.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "ca/auditseal.h"
#include "store/db_sqlite.h"
#include "store/migrate.h"
#include "common/lerr.h"
#include "store/store.h"
#include "store/internal.h"


/* Revokes serial for reason as actor, with no comment. */
static int
revoke_cert(struct store *s, const unsigned char *serial, size_t len, enum crl_reason reason,
       const char *actor, struct lerr *e)
{
	struct store_revocation r = { reason, NULL, actor, 0 };

	return store_cert_revoke(s, serial, len, &r, e);
}

static char tmpdir[256];
static char dbpath[320];

/* A write connection of the SQLite driver on dbpath (created when
 * missing), for migrating by hand. */
static struct store_conn *
conn_open(void)
{
	struct store_conn *c = calloc(1, sizeof(*c));
	struct lerr e;

	ck_assert_ptr_nonnull(c);
	c->drv = &store_driver_sqlite;
	ck_assert_msg(c->drv->open(dbpath, STORE_ROLE_WRITER, STORE_CREATE, &c->db, &e) == 0,
		      "%s", e.msg);
	return c;
}

static void
conn_close(struct store_conn *c)
{
	c->drv->close(c->db);
	free(c);
}

/* ---- fixture ---- */

static void
setup(void)
{
	const char *base = getenv("TMPDIR");
	int n;

	n = snprintf(tmpdir, sizeof(tmpdir), "%s/test_store.XXXXXX",
		     base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert(n > 0 && (size_t)n < sizeof(tmpdir));
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	n = snprintf(dbpath, sizeof(dbpath), "%s/%s", tmpdir, STORE_FILE);
	ck_assert(n > 0 && (size_t)n < sizeof(dbpath));
}

static void
teardown(void)
{
	char path[600];
	struct dirent *d;
	DIR *dir;

	if ((dir = opendir(tmpdir)) != NULL) {
		while ((d = readdir(dir)) != NULL) {
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", tmpdir, d->d_name) <
			    (int)sizeof(path))
				unlink(path);
		}
		closedir(dir);
	}
	rmdir(tmpdir);
}

/* ---- direct SQLite access, bypassing the store ---- */

static int64_t
raw_int(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK,
		      "%s: %s", sql, sqlite3_errmsg(db));
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static int64_t
raw_count_serial(const unsigned char *serial, size_t len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM serials "
			 "WHERE serial = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, serial, (int)len, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Runs sql on its own connection; returns the SQLite code, message in err. */
static int
raw_exec(const char *sql, char *err, size_t errsz)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	snprintf(err, errsz, "%s", msg != NULL ? msg : "");
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc;
}

/* ---- helpers ---- */

static struct store *
open_new(void)
{
	struct store *s = NULL;
	struct lerr e;

	lerr_clear(&e);
	ck_assert_msg(store_open(dbpath, STORE_CREATE, &s, &e) == 0, "open: %s", e.msg);
	ck_assert_ptr_nonnull(s);
	return s;
}

static int64_t
add_ca(struct store *s, const char *role, const char *fp)
{
	static const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	struct lerr e;
	int64_t id = 0;

	ck_assert_msg(store_ca_insert(s, role, "CN=Test CA", fp, 1000, 2000,
				      der, sizeof(der), &id, &e) == 0, "ca: %s", e.msg);
	ck_assert_int_gt(id, 0);
	return id;
}

static char sans[] = "DNS:dev.local,IP:10.0.0.2";

/* The schema version this binary brings a database to. */
static int
newest_version(void)
{
	ck_assert_uint_ge(store_migrations_count, 2);
	return store_migrations[store_migrations_count - 1].version;
}

/* Fills c with a plausible row for serial; der points into derbuf. */
static void
make_cert(struct store_cert *c, int64_t ca_id, const unsigned char *serial, int n,
	  unsigned char *derbuf, size_t derlen)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	memcpy(c->serial, serial, STORE_SERIAL_LEN);
	c->serial_len = STORE_SERIAL_LEN;
	c->ca_id = ca_id;
	snprintf(c->device_id, sizeof(c->device_id), "dev-%d", n);
	snprintf(c->subject, sizeof(c->subject), "CN=dev-%d", n);
	c->sans = sans;
	c->profile = POLICY_DEVICE;
	c->not_before = 1700000000;
	c->not_after = 1700000000 + 86400 * 30;
	for (i = 0; i < sizeof(c->key_id); i++)
		c->key_id[i] = (unsigned char)(n + (int)i);
	for (i = 0; i < derlen; i++)
		derbuf[i] = (unsigned char)(n * 7 + (int)i);
	c->der = derbuf;
	c->der_len = derlen;
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A pooled reader handed back inside a transaction (a snapshot whose
 * COMMIT failed) is taken out of it, or it would pin the WAL. */
START_TEST(test_reader_put_ends_transaction)
{
	struct store *s = open_new();
	struct store_conn *c;
	struct lerr e;

	c = store_reader_get(s, &e);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(sqlite3_exec(store_sqlite_handle(c->db),
				      "BEGIN; SELECT count(*) FROM certificates;", NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_get_autocommit(store_sqlite_handle(c->db)), 0);
	store_reader_put(s, c);
	ck_assert_int_ne(sqlite3_get_autocommit(store_sqlite_handle(c->db)), 0);
	store_close(s);
}
END_TEST

/* ---- open and migrations ---- */

START_TEST(test_open_creates_and_migrates)
{
	static const char *const tables[] = {
		"schema_version", "settings", "cas", "serials", "certificates",
		"requests", "audit", "cert_names", "preauth", "vendors", "admins",
		"sessions", "setup_code",
	};
	struct store *s = open_new();
	struct stat sb;
	char sql[160];
	int version = 0;
	size_t i;

	ck_assert_int_eq(store_schema_version(s, &version), 0);
	ck_assert_int_eq(version, newest_version());
	store_close(s);

	ck_assert_int_eq(raw_int("SELECT max(version) FROM schema_version"), newest_version());
	ck_assert_int_eq(raw_int("SELECT count(*) FROM schema_version"), (int)store_migrations_count);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master "
			 "WHERE type = 'table' AND name = '%s'", tables[i]);
		ck_assert_msg(raw_int(sql) == 1, "table %s missing", tables[i]);
	}
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master "
				 "WHERE type = 'trigger' AND tbl_name = 'audit'"), 3);
	ck_assert_int_eq(stat(dbpath, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
}
END_TEST

START_TEST(test_reopen_idempotent)
{
	struct store *s = open_new();
	struct lerr e;
	char *v = NULL;
	int version = 0;

	ck_assert_int_eq(store_setting_set(s, "name", "home", &e), 0);
	store_close(s);
	/* Without STORE_CREATE, and twice. */
	ck_assert_int_eq(store_open(dbpath, 0, &s, &e), 0);
	store_close(s);
	ck_assert_int_eq(store_open(dbpath, 0, &s, &e), 0);
	ck_assert_int_eq(store_schema_version(s, &version), 0);
	ck_assert_int_eq(version, newest_version());
	ck_assert_int_eq(store_setting_get(s, "name", &v, &e), 0);
	ck_assert_str_eq(v, "home");
	free(v);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM schema_version"),
			 (int64_t)store_migrations_count);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	struct store *s = open_new();
	struct lerr e;
	char err[256], want[128];

	store_close(s);
	snprintf(want, sizeof(want), "database schema version 999 is newer than this "
		 "lanca (knows up to %d): upgrade lanca", newest_version());
	ck_assert_int_eq(raw_exec("INSERT INTO schema_version (version, name, applied_at) "
				  "VALUES (999, 'future', 0)", err, sizeof(err)), SQLITE_OK);
	s = NULL;
	lerr_clear(&e);
	ck_assert_int_eq(store_open(dbpath, 0, &s, &e), -1);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(e.code, LERR_STORE);
	ck_assert_msg(strstr(e.msg, want) != NULL, "%s", e.msg);
	/* Not even a read-only open gets past it. */
	ck_assert_int_eq(store_open(dbpath, STORE_READONLY, &s, &e), -1);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_failed_migration_rolled_back)
{
	const struct store_migration migs[] = {
		store_migrations[0],
		{ 1000, "second", "CREATE TABLE t2 (a); INSERT INTO t2 VALUES (1);" },
		{ 1001, "broken", "CREATE TABLE t3 (a); INSERT INTO nosuch VALUES (1);" },
	};
	struct store *s = open_new();
	struct store_conn *db = NULL;
	struct lerr e;
	int version = -1;

	store_close(s);
	ck_assert_uint_ge(store_migrations_count, 1);
	ck_assert_int_eq(store_migrations[0].version, 1);
	ck_assert_str_eq(store_migrations[0].name, "initial");
	db = conn_open();
	lerr_clear(&e);
	ck_assert_int_eq(store_migrate(db, migs, 3, NULL, &version, &e), -1);
	ck_assert_msg(strstr(e.msg, "schema migration 1001-broken failed") != NULL &&
		      strstr(e.msg, "nosuch") != NULL, "%s", e.msg);
	ck_assert_int_eq(store_migrate_version(db, &version, &e), 0);
	ck_assert_int_eq(version, 1000);	/* 1000 applied, 1001 left no trace */
	ck_assert(!db->drv->in_transaction(db->db));
	/* Out of order lists are a programming error, caught. */
	ck_assert_int_eq(store_migrate(db, migs + 1, 1, NULL, NULL, &e), 0);
	{
		const struct store_migration bad[] = { migs[1], migs[0] };

		ck_assert_int_eq(store_migrate(db, bad, 2, NULL, NULL, &e), -1);
	}
	conn_close(db);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE name = 't2'"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE name = 't3'"), 0);
	ck_assert_int_eq(raw_int("SELECT max(version) FROM schema_version"), 1000);
	/* This binary knows no version 1000: the database is now too new. */
	ck_assert_int_eq(store_open(dbpath, 0, &s, &e), -1);
	ck_assert_msg(strstr(e.msg, "version 1000 is newer") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(test_missing_refused)
{
	struct store *s = NULL;
	struct lerr e;
	struct stat sb;

	lerr_clear(&e);
	ck_assert_int_eq(store_open(dbpath, 0, &s, &e), -1);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_msg(strstr(e.msg, "no database at") != NULL &&
		      strstr(e.msg, "run lanca init") != NULL, "%s", e.msg);
	ck_assert_int_eq(stat(dbpath, &sb), -1);
	ck_assert_int_eq(store_open(dbpath, STORE_READONLY, &s, &e), -1);
	ck_assert_int_eq(stat(dbpath, &sb), -1);
}
END_TEST

START_TEST(test_readonly_refuses_writes)
{
	struct store *s = open_new();
	struct lerr e;
	char *v = NULL;
	unsigned char serial[STORE_SERIAL_LEN];

	ck_assert_int_eq(store_setting_set(s, "k", "v", &e), 0);
	store_close(s);
	ck_assert_int_eq(store_open(dbpath, STORE_READONLY, &s, &e), 0);
	ck_assert_int_eq(store_setting_get(s, "k", &v, &e), 0);
	ck_assert_str_eq(v, "v");
	free(v);
	ck_assert_int_eq(store_setting_set(s, "k", "w", &e), -1);
	ck_assert_int_eq(store_serial_reserve(s, serial, &e), -1);
	store_close(s);
	store_close(NULL);
}
END_TEST

/* ---- serials ---- */

START_TEST(test_serials_distinct)
{
	enum { N = 100 };
	static unsigned char got[N][STORE_SERIAL_LEN];
	struct store *s = open_new();
	uint32_t t0, t1, prefix;
	struct lerr e;
	int i, j;

	for (i = 0; i < N; i++) {
		t0 = (uint32_t)time(NULL);
		ck_assert_msg(store_serial_reserve(s, got[i], &e) == 0, "%s", e.msg);
		t1 = (uint32_t)time(NULL);
		/* Positive and minimal: the first byte is 0x40..0x7f. */
		ck_assert_int_ge(got[i][0], 0x40);
		ck_assert_int_le(got[i][0], 0x7f);
		/* The first four bytes follow the clock (a serial comes from a
		 * batch drawn at most a few seconds before). */
		prefix = (uint32_t)got[i][0] << 24 | (uint32_t)got[i][1] << 16 |
			 (uint32_t)got[i][2] << 8 | got[i][3];
		ck_assert_uint_le(prefix & 0x3fffffffu, t1 & 0x3fffffffu);
		ck_assert_uint_ge(prefix & 0x3fffffffu, (t0 & 0x3fffffffu) - 60);
		for (j = 0; j < i; j++)
			ck_assert(memcmp(got[i], got[j], STORE_SERIAL_LEN) != 0);
	}
	store_close(s);
	/* Durably reserved (all of them are in the file), none used yet. */
	for (i = 0; i < N; i++)
		ck_assert_int_eq(raw_count_serial(got[i], STORE_SERIAL_LEN), 1);
	ck_assert_int_ge(raw_int("SELECT count(*) FROM serials"), N);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM serials WHERE length(serial) != 20"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM serials WHERE used != 0"), 0);
}
END_TEST

/* A random source that repeats itself: the first rnd_repeat draws give the
 * same bytes (0xff..., which becomes 7f ff ... once made positive), the
 * later ones a counter. */
static pthread_mutex_t rnd_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned rnd_calls;
static unsigned rnd_repeat;

static void
rnd_fill(void *buf, size_t n)
{
	unsigned char *p = buf;
	unsigned c;

	pthread_mutex_lock(&rnd_lock);
	c = rnd_calls++;
	pthread_mutex_unlock(&rnd_lock);
	memset(p, 0xff, n);
	if (c >= rnd_repeat) {
		p[n - 1] = (unsigned char)c;
		p[n - 2] = (unsigned char)(c >> 8);
		p[n - 3] = 0x00;
	}
}

static void
rnd_reset(unsigned repeat)
{
	pthread_mutex_lock(&rnd_lock);
	rnd_calls = 0;
	rnd_repeat = repeat;
	pthread_mutex_unlock(&rnd_lock);
}

/* Writer job: 100 settings of 900 bytes each under key prefix arg. */
static int
wal_fill_run(struct store_conn *w, void *arg, struct lerr *e)
{
	char key[32], value[901];
	int i;

	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (i = 0; i < 100; i++) {
		struct store_query x = {
			Q_SETTING_SET, "filling",
			{ store_arg_text(key), store_arg_text(value) },
		};

		snprintf(key, sizeof(key), "fill-%d-%d", *(int *)arg, i);
		if (store_exec(w, &x, NULL, e) != 0)
			return -1;
	}
	return 0;
}

/* A new database has small pages (an enrollment writes whole pages to the
 * WAL); the commits' frames are counted; a thread of the store's own
 * checkpoints the WAL once it passes its threshold, and the WAL then
 * starts over instead of growing with every write. */
START_TEST(test_wal_counted_and_checkpointed)
{
	struct store *s = open_new();
	struct store_stats st;
	struct stat sb;
	char wal[sizeof(dbpath) + 8];
	struct lerr e;
	int i;

	ck_assert_int_eq(raw_int("PRAGMA page_size"), 1024);
	store_stats(s, &st);
	ck_assert_uint_eq(st.page_size, 1024);
	/* 60 commits of about 100 pages each: 6,000 frames in all. */
	for (i = 0; i < 60; i++)
		ck_assert_msg(store_submit(s, wal_fill_run, &i, &e) == 0, "%s", e.msg);
	store_stats(s, &st);
	ck_assert_uint_ge(st.commits, 60);
	ck_assert_uint_ge(st.jobs, 60);
	ck_assert_uint_ge(st.wal_frames, 6000);
	ck_assert_uint_eq(st.wal_bytes, st.wal_frames * (1024 + 24));
	ck_assert_uint_ge(st.checkpoints, 1);
	ck_assert_uint_ge(st.checkpointed_pages, 1000);
	/* Even with no pause between commits, the WAL started over: the file
	 * holds a little more than the hard limit, not all 6,000 frames. */
	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	ck_assert_int_eq(stat(wal, &sb), 0);
	ck_assert_int_lt(sb.st_size, 5000 * (1024 + 24));
	store_close(s);
	/* Every row made it into the database. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM settings WHERE key LIKE 'fill-%'"), 6000);
}
END_TEST

START_TEST(test_duplicate_serial_drawn)
{
	static unsigned char got[64][STORE_SERIAL_LEN];
	unsigned char dup[STORE_SERIAL_LEN];
	struct store *s = open_new();
	struct lerr e;
	int i, j;

	/* Within one batch: five identical draws, one stored. The random
	 * part of the first is all 0xff; its time prefix is the batch's. */
	rnd_reset(5);
	store_set_random(s, rnd_fill);
	for (i = 0; i < 32; i++)
		ck_assert_msg(store_serial_reserve(s, got[i], &e) == 0, "%s", e.msg);
	memcpy(dup, got[0], 4);
	memset(dup + 4, 0xff, sizeof(dup) - 4);
	ck_assert(memcmp(got[0], dup, STORE_SERIAL_LEN) == 0);
	ck_assert(memcmp(got[1], got[0], STORE_SERIAL_LEN) != 0);
	store_close(s);
	ck_assert_int_eq(raw_count_serial(dup, sizeof(dup)), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM serials"), 32);

	/* Across stores: the new batch draws the stored serial again. */
	ck_assert_int_eq(store_open(dbpath, 0, &s, &e), 0);
	rnd_reset(5);
	store_set_random(s, rnd_fill);
	for (i = 32; i < 64; i++) {
		ck_assert_msg(store_serial_reserve(s, got[i], &e) == 0, "%s", e.msg);
		ck_assert(memcmp(got[i], dup, STORE_SERIAL_LEN) != 0);
	}
	/* 5 repeats, then the counter values 5..35 were taken by the first
	 * batch: the second batch must have skipped those too. */
	for (i = 32; i < 64; i++)
		for (j = 0; j < i; j++)
			ck_assert(memcmp(got[i], got[j], STORE_SERIAL_LEN) != 0);
	store_close(s);
	ck_assert_int_eq(raw_count_serial(dup, sizeof(dup)), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM serials"), 64);
	ck_assert_int_eq(raw_int("SELECT count(DISTINCT serial) FROM serials"), 64);
}
END_TEST

START_TEST(test_broken_random_source)
{
	unsigned char serial[STORE_SERIAL_LEN];
	struct store *s = open_new();
	struct lerr e;

	/* Never anything new: the refill gives up instead of looping, and
	 * the one serial it did insert is rolled back with the job. */
	rnd_reset(UINT32_MAX);
	store_set_random(s, rnd_fill);
	lerr_clear(&e);
	ck_assert_int_eq(store_serial_reserve(s, serial, &e), -1);
	ck_assert_int_ne(e.code, LERR_NONE);
	ck_assert_msg(strstr(e.msg, "random source") != NULL, "%s", e.msg);
	/* The hook removed again, reservation works. */
	store_set_random(s, NULL);
	ck_assert_int_eq(store_serial_reserve(s, serial, &e), 0);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM serials"), 32);
}
END_TEST

/* ---- certificates ---- */

START_TEST(test_cert_roundtrip)
{
	unsigned char serial[STORE_SERIAL_LEN], der[300];
	struct store *s = open_new();
	struct store_cert c, *got = NULL;
	struct lerr e;
	char err[256];
	int64_t ca_id, n = -1;

	ca_id = add_ca(s, "issuing", "aa");
	ck_assert_int_eq(store_serial_reserve(s, serial, &e), 0);
	make_cert(&c, ca_id, serial, 1, der, sizeof(der));
	/* An unknown request is refused, and nothing is written. */
	snprintf(c.request_id, sizeof(c.request_id), "req-1");
	ck_assert_int_eq(store_cert_insert(s, &c, "test", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_msg(strstr(e.msg, "no request req-1") != NULL, "%s", e.msg);
	ck_assert_int_eq(raw_exec("INSERT INTO requests (id, key_id, device_id, csr, "
				  "state, created_at, updated_at, expires_at) VALUES "
				  "('req-1', x'01', 'dev-1', x'30', 'pending', 1, 1, 2)",
				  err, sizeof(err)), SQLITE_OK);
	ck_assert_msg(store_cert_insert(s, &c, "test", &e) == 0, "%s", e.msg);

	ck_assert_msg(store_cert_by_serial(s, serial, sizeof(serial), &got, &e) == 0, "%s", e.msg);
	ck_assert_int_gt(got->id, 0);
	ck_assert_uint_eq(got->serial_len, STORE_SERIAL_LEN);
	ck_assert_mem_eq(got->serial, serial, STORE_SERIAL_LEN);
	ck_assert_int_eq(got->ca_id, ca_id);
	ck_assert_str_eq(got->device_id, "dev-1");
	ck_assert_str_eq(got->subject, "CN=dev-1");
	ck_assert_str_eq(got->sans, sans);
	ck_assert_int_eq(got->profile, POLICY_DEVICE);
	ck_assert_int_eq(got->status, STORE_CERT_VALID);
	ck_assert_int_eq(got->not_before, c.not_before);
	ck_assert_int_eq(got->not_after, c.not_after);
	ck_assert_int_gt(got->issued_at, 0);
	ck_assert_int_eq(got->revoked_at, 0);
	ck_assert_mem_eq(got->key_id, c.key_id, sizeof(c.key_id));
	ck_assert_str_eq(got->request_id, "req-1");
	ck_assert_str_eq(got->preauth_id, "");
	ck_assert_uint_eq(got->der_len, sizeof(der));
	ck_assert_mem_eq(got->der, der, sizeof(der));
	store_cert_free(got);
	store_cert_free(NULL);

	ck_assert_int_eq(store_cert_count(s, &n, &e), 0);
	ck_assert_int_eq(n, 1);
	serial[5] ^= 1;
	ck_assert_int_eq(store_cert_by_serial(s, serial, sizeof(serial), &got, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(e.http, 404);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM serials WHERE used = 1"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates WHERE request_id = 'req-1'"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM requests r JOIN certificates c "
				 "ON c.id = r.cert_id WHERE r.id = 'req-1' "
				 "AND r.state = 'issued'"), 1);
	/* The certificate's names, one row each, as names_format writes them. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM cert_names"), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM cert_names "
				 "WHERE name IN ('DNS:dev.local', 'IP:10.0.0.2')"), 2);
}
END_TEST

START_TEST(test_cert_same_serial_twice)
{
	unsigned char serial[STORE_SERIAL_LEN], der[64];
	struct store *s = open_new();
	struct store_cert c;
	struct lerr e;
	int64_t ca_id, n = -1;

	ca_id = add_ca(s, "issuing", "aa");
	ck_assert_int_eq(store_serial_reserve(s, serial, &e), 0);
	make_cert(&c, ca_id, serial, 1, der, sizeof(der));
	ck_assert_int_eq(store_cert_insert(s, &c, "test", &e), 0);
	lerr_clear(&e);
	make_cert(&c, ca_id, serial, 2, der, sizeof(der));
	ck_assert_int_eq(store_cert_insert(s, &c, "test", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(e.http, 409);
	ck_assert_msg(strstr(e.msg, "not reserved or already used") != NULL, "%s", e.msg);
	ck_assert_int_eq(store_cert_count(s, &n, &e), 0);
	ck_assert_int_eq(n, 1);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates WHERE device_id = 'dev-1'"), 1);
	/* The failed insert left no audit row either. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'issue'"), 1);
}
END_TEST

START_TEST(test_cert_unreserved_serial)
{
	unsigned char serial[STORE_SERIAL_LEN], der[64];
	struct store *s = open_new();
	struct store_cert c;
	struct lerr e;
	int64_t ca_id;

	ca_id = add_ca(s, "issuing", "aa");
	memset(serial, 0x42, sizeof(serial));
	make_cert(&c, ca_id, serial, 1, der, sizeof(der));
	lerr_clear(&e);
	ck_assert_int_eq(store_cert_insert(s, &c, "test", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	/* A profile the schema does not know is refused before any SQL. */
	ck_assert_int_eq(store_serial_reserve(s, serial, &e), 0);
	make_cert(&c, ca_id, serial, 1, der, sizeof(der));
	c.profile = (enum policy_profile)7;
	ck_assert_int_eq(store_cert_insert(s, &c, "test", &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	/* An unknown CA breaks the foreign key: the serial stays unused. */
	make_cert(&c, ca_id + 100, serial, 1, der, sizeof(der));
	ck_assert_int_eq(store_cert_insert(s, &c, "test", &e), -1);
	ck_assert_int_eq(e.code, LERR_STORE);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM serials WHERE used = 1"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'issue'"), 0);
}
END_TEST

/* ---- concurrency ---- */

struct worker {
	struct store *s;
	pthread_barrier_t *start;
	int64_t ca_id;
	int id, count;
	int bad_every;			/* every Nth insert uses an unreserved serial */
	int ok, conflicts, errors;
	char last_err[sizeof(((struct lerr *)0)->msg)];
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned char serial[STORE_SERIAL_LEN], der[200];
	struct store_cert c;
	struct lerr e;
	int i, n;

	pthread_barrier_wait(w->start);
	for (i = 0; i < w->count; i++) {
		n = w->id * 100000 + i;
		if (w->bad_every > 0 && i % w->bad_every == 0) {
			memset(serial, 0, sizeof(serial));
			serial[0] = 0x01;
			serial[1] = (unsigned char)w->id;
			serial[2] = (unsigned char)(i >> 8);
			serial[3] = (unsigned char)i;
		} else if (store_serial_reserve(w->s, serial, &e) != 0) {
			w->errors++;
			snprintf(w->last_err, sizeof(w->last_err), "%s", e.msg);
			continue;
		}
		make_cert(&c, w->ca_id, serial, n, der, sizeof(der));
		lerr_clear(&e);
		if (store_cert_insert(w->s, &c, "test", &e) == 0) {
			w->ok++;
		} else if (e.code == LERR_CONFLICT) {
			w->conflicts++;
		} else {
			w->errors++;
			snprintf(w->last_err, sizeof(w->last_err), "%s", e.msg);
		}
	}
	return NULL;
}

/* Runs nthreads workers of count inserts each; returns inserts per second. */
static double
run_workers(struct store *s, int64_t ca_id, int nthreads, int count, int bad_thread,
	    int bad_every, struct worker *w)
{
	pthread_t th[16];
	pthread_barrier_t start;
	double t0, t1;
	int i;

	ck_assert_int_le(nthreads, 16);
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1), 0);
	for (i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].s = s;
		w[i].start = &start;
		w[i].ca_id = ca_id;
		w[i].id = i + 1;
		w[i].count = count;
		w[i].bad_every = i == bad_thread ? bad_every : 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	pthread_barrier_wait(&start);
	t0 = now_sec();
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	t1 = now_sec();
	pthread_barrier_destroy(&start);
	return (double)(nthreads * count) / (t1 - t0 > 0 ? t1 - t0 : 1e-9);
}

START_TEST(test_failing_job_alone)
{
	struct worker w[8];
	struct store *s = open_new();
	int64_t ca_id, n = -1;
	struct lerr e;
	int i, ok = 0;

	ca_id = add_ca(s, "issuing", "aa");
	/* Thread 3 slips an unreserved serial in every 5th insert. */
	run_workers(s, ca_id, 8, 50, 3, 5, w);
	for (i = 0; i < 8; i++) {
		ck_assert_msg(w[i].errors == 0, "worker %d: %s", i, w[i].last_err);
		ck_assert_int_eq(w[i].conflicts, i == 3 ? 10 : 0);
		ck_assert_int_eq(w[i].ok, i == 3 ? 40 : 50);
		ok += w[i].ok;
	}
	ck_assert_int_eq(store_cert_count(s, &n, &e), 0);
	ck_assert_int_eq(n, ok);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates"), 390);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'issue'"), 390);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM serials WHERE used = 1"), 390);
}
END_TEST

START_TEST(test_concurrent_inserts)
{
	struct worker w[8];
	struct store *s = open_new();
	int64_t ca_id, n = -1;
	struct lerr e;
	double rate1, rate8;
	int i;

	ca_id = add_ca(s, "issuing", "aa");
	rate1 = run_workers(s, ca_id, 1, 200, -1, 0, w);
	ck_assert_msg(w[0].errors == 0 && w[0].ok == 200, "%s", w[0].last_err);

	rate8 = run_workers(s, ca_id, 8, 200, -1, 0, w);
	for (i = 0; i < 8; i++) {
		ck_assert_msg(w[i].errors == 0, "worker %d: %s", i, w[i].last_err);
		ck_assert_int_eq(w[i].conflicts, 0);
		ck_assert_int_eq(w[i].ok, 200);
	}
	ck_assert_int_eq(store_cert_count(s, &n, &e), 0);
	ck_assert_int_eq(n, 1800);
	store_close(s);
	printf("store: %.0f inserts/s with 1 thread, %.0f inserts/s with 8 threads "
	       "(serial reservation included, synchronous=FULL)\n", rate1, rate8);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates WHERE id > 200"), 1600);
	ck_assert_int_eq(raw_int("SELECT count(DISTINCT serial) FROM certificates"), 1800);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates c "
				 "JOIN serials s ON s.serial = c.serial WHERE s.used = 1"), 1800);
}
END_TEST

/* ---- audit ---- */

START_TEST(test_audit_append_only)
{
	char err[256];
	struct store *s = open_new();
	struct lerr e;

	ck_assert_int_eq(store_audit(s, "admin", "login", "admin", NULL, &e), 0);
	ck_assert_int_eq(store_audit(s, "admin", "press", NULL, "{\"x\":1}", &e), 0);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit"), 2);

	ck_assert_int_ne(raw_exec("UPDATE audit SET actor = 'mallory'", err, sizeof(err)),
			 SQLITE_OK);
	ck_assert_msg(strstr(err, "audit log is append-only") != NULL, "%s", err);
	ck_assert_int_ne(raw_exec("DELETE FROM audit", err, sizeof(err)), SQLITE_OK);
	ck_assert_msg(strstr(err, "audit log is append-only") != NULL, "%s", err);
	ck_assert_int_ne(raw_exec("DELETE FROM audit WHERE id = 1", err, sizeof(err)),
			 SQLITE_OK);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit"), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE actor = 'mallory'"), 0);
	/* A hashed row cannot be given another hash either. */
	ck_assert_int_ne(raw_exec("UPDATE audit SET hash = zeroblob(32) WHERE id = 1",
				  err, sizeof(err)), SQLITE_OK);
	ck_assert_msg(strstr(err, "audit log is append-only") != NULL, "%s", err);
	/* Appending a row without its chain hash is refused too. */
	ck_assert_int_ne(raw_exec("INSERT INTO audit (at, actor, event) VALUES (1, 'a', 'b')",
				  err, sizeof(err)), SQLITE_OK);
	ck_assert_msg(strstr(err, "needs its chain hash") != NULL, "%s", err);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit"), 2);
}
END_TEST

/* ---- the hash chain ---- */

/* Reads every audit row with raw SQL and checks that each one's hash is
 * auditseal_row_hash of its content after the row before it, and that
 * ids follow each other from 1. Returns the number of rows. */
static int
check_chain(void)
{
	unsigned char prev[32], want[32];
	struct auditseal_row r;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = 0;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT id, at, actor, event, subject, detail, "
					    "hash FROM audit ORDER BY id", -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(st, 0);
		r.at = sqlite3_column_int64(st, 1);
		r.actor = (const char *)sqlite3_column_text(st, 2);
		r.event = (const char *)sqlite3_column_text(st, 3);
		r.subject = (const char *)sqlite3_column_text(st, 4);
		r.detail = (const char *)sqlite3_column_text(st, 5);
		ck_assert_int_eq(r.id, n + 1);
		ck_assert_int_eq(auditseal_row_hash(n == 0 ? NULL : prev, &r, want), 0);
		ck_assert_int_eq(sqlite3_column_bytes(st, 6), 32);
		ck_assert_msg(memcmp(sqlite3_column_blob(st, 6), want, 32) == 0,
			      "row %d is not chained", n + 1);
		memcpy(prev, want, 32);
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

START_TEST(test_audit_chain)
{
	struct store *s = open_new();
	unsigned char head[32];
	int64_t id = -1;
	struct lerr e;

	ck_assert_int_eq(store_audit_head(s, &id, head, &e), 0);
	ck_assert_int_eq(id, 0);
	ck_assert_int_eq(store_audit(s, "admin", "login", "admin", NULL, &e), 0);
	ck_assert_int_eq(store_audit(s, "admin", "login", "", NULL, &e), 0);
	ck_assert_int_eq(store_audit(s, "admin", "press", NULL, "{\"x\":1}", &e), 0);
	add_ca(s, "issuing", "aa");		/* a family's own job writes one too */
	ck_assert_int_eq(store_audit_head(s, &id, head, &e), 0);
	ck_assert_int_eq(id, 4);
	store_close(s);
	ck_assert_int_eq(check_chain(), 4);
	/* NULL and "" are different content. */
	ck_assert_int_eq(raw_int("SELECT hash = (SELECT hash FROM audit WHERE id = 1) "
				 "FROM audit WHERE id = 2"), 0);
}
END_TEST

/* A job that fails after its audit row takes the row with it; the rows
 * of the other jobs of its batch still chain. */
struct chain_thread {
	struct store *s;
	int i;
	int rc;
};

static void *
chain_thread_main(void *arg)
{
	struct chain_thread *t = arg;
	struct lerr e;
	char subject[16];

	snprintf(subject, sizeof(subject), "dev-%d", t->i);
	t->rc = store_audit(t->s, "admin", t->i % 3 == 0 ? "boom" : "login", subject, NULL, &e);
	return NULL;
}

START_TEST(test_audit_chain_failed_jobs)
{
	struct chain_thread t[24];
	pthread_t thr[24];
	struct store *s = open_new();
	char err[256];
	int i, ok = 0;

	ck_assert_int_eq(raw_exec("CREATE TRIGGER test_boom BEFORE INSERT ON audit "
				  "WHEN NEW.event = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END",
				  err, sizeof(err)), SQLITE_OK);
	for (i = 0; i < 24; i++) {
		t[i].s = s;
		t[i].i = i;
		ck_assert_int_eq(pthread_create(&thr[i], NULL, chain_thread_main, &t[i]), 0);
	}
	for (i = 0; i < 24; i++) {
		pthread_join(thr[i], NULL);
		if (i % 3 == 0)
			ck_assert_int_eq(t[i].rc, -1);
		else
			ok += t[i].rc == 0;
	}
	ck_assert_int_eq(ok, 16);
	store_close(s);
	ck_assert_int_eq(check_chain(), 16);
}
END_TEST

/* A database made before 0008 with audit rows: the migration chains them,
 * and the first new row follows the last old one. */
START_TEST(test_audit_chain_upgrade)
{
	struct store *s = NULL;
	unsigned char head[32];
	struct store_conn *db = NULL;
	size_t n;
	char err[256];
	struct lerr e;
	int64_t id = 0;
	int version = 0;

	for (n = 0; n < store_migrations_count && store_migrations[n].version < 8; n++)
		;
	db = conn_open();
	ck_assert_int_eq(store_migrate(db, store_migrations, n, NULL, &version, &e), 0);
	ck_assert_int_lt(version, 8);
	conn_close(db);
	ck_assert_int_eq(raw_exec("INSERT INTO audit (at, actor, event, subject, detail) VALUES "
				  "(10, 'cli', 'init', 'gw', '{\"a\":1}'),"
				  "(11, 'admin', 'login', NULL, NULL),"
				  "(12, 'device 10.0.0.9', 'enroll', 'dev', '')",
				  err, sizeof(err)), SQLITE_OK);
	ck_assert_msg(store_open(dbpath, 0, &s, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(store_audit_head(s, &id, head, &e), 0);
	ck_assert_int_eq(id, 3);
	ck_assert_int_eq(store_audit(s, "admin", "logout", "admin", NULL, &e), 0);
	store_close(s);
	ck_assert_int_eq(check_chain(), 4);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE hash IS NULL"), 0);
}
END_TEST

START_TEST(test_checkpoints)
{
	struct store_checkpoint c, last;
	struct store *s = open_new();
	struct lerr e;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(store_checkpoint_last(s, &last, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(store_audit(s, "admin", "login", "admin", NULL, &e), 0);
	ck_assert_int_eq(store_audit(s, "admin", "logout", "admin", NULL, &e), 0);
	ck_assert_int_eq(store_audit_head(s, &c.row_id, c.head, &e), 0);
	c.at = 100;
	memset(c.sig, 7, sizeof(c.sig));
	ck_assert_int_eq(store_checkpoint_add(s, &c, &e), 0);
	ck_assert_int_gt(c.id, 0);
	/* A head the row does not have, or a row that is not there. */
	c.head[0] ^= 1;
	ck_assert_int_eq(store_checkpoint_add(s, &c, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	c.head[0] ^= 1;
	c.row_id = 3;
	ck_assert_int_eq(store_checkpoint_add(s, &c, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(store_checkpoint_last(s, &last, &e), 0);
	ck_assert_int_eq(last.row_id, 2);
	ck_assert_int_eq(last.at, 100);
	ck_assert_int_eq(last.sig[5], 7);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit_checkpoints"), 1);
}
END_TEST

struct audit_seen {
	int n;
	int64_t last_id;
	int ordered;
	char first_event[32];
};

static int
audit_cb(const struct store_audit_row *r, void *arg)
{
	struct audit_seen *a = arg;

	if (a->n == 0)
		snprintf(a->first_event, sizeof(a->first_event), "%s", r->event);
	else if (r->id >= a->last_id)
		a->ordered = 0;
	a->last_id = r->id;
	a->n++;
	return 0;
}

START_TEST(test_every_insert_audited)
{
	unsigned char serial[STORE_SERIAL_LEN], der[64];
	struct audit_seen seen = { 0, 0, 1, "" };
	struct store_page pg = { 0, 0, 0 };
	struct store *s = open_new();
	struct store_cert c;
	struct lerr e;
	int64_t ca_id;
	int i;

	ca_id = add_ca(s, "issuing", "aa");
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(store_serial_reserve(s, serial, &e), 0);
		make_cert(&c, ca_id, serial, i, der, sizeof(der));
		ck_assert_int_eq(store_cert_insert(s, &c, "tester", &e), 0);
	}
	pg.limit = STORE_PAGE_MAX;
	ck_assert_int_eq(store_audit_page(s, &pg, audit_cb, &seen, &e), 0);
	ck_assert_int_eq(seen.n, 21);		/* ca-create + 20 issues */
	ck_assert(seen.ordered);
	ck_assert_str_eq(seen.first_event, "issue");
	ck_assert_int_eq(pg.next, 0);
	memset(&seen, 0, sizeof(seen));
	pg.limit = 5;
	ck_assert_int_eq(store_audit_page(s, &pg, audit_cb, &seen, &e), 0);
	ck_assert_int_eq(seen.n, 5);
	ck_assert_int_eq(pg.next, seen.last_id);
	store_close(s);

	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'ca-create'"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'issue' "
				 "AND actor = 'tester'"), 20);
	/* Each certificate has its own audit row naming its serial, device
	 * and profile, as valid JSON. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates c WHERE NOT EXISTS "
				 "(SELECT 1 FROM audit a WHERE a.event = 'issue' "
				 "AND a.subject = c.device_id "
				 "AND json_extract(a.detail, '$.serial') = lower(hex(c.serial)) "
				 "AND json_extract(a.detail, '$.profile') = c.profile "
				 "AND json_extract(a.detail, '$.not_after') = c.not_after)"), 0);
}
END_TEST

/* ---- CAs, listing, settings ---- */

static int
cert_cb(const struct store_cert *c, void *arg)
{
	int64_t *ids = arg;

	ids[ids[0] + 1] = c->id;
	ids[0]++;
	return ids[0] >= 3;		/* stop after three */
}

START_TEST(test_ca_list_settings)
{
	unsigned char serial[STORE_SERIAL_LEN], der[64];
	struct store *s = open_new();
	struct store_ca *ca = NULL;
	struct store_cert c;
	struct lerr e;
	int64_t root, iss1, iss2, ids[8] = { 0 };
	struct store_page pg = { 0, 0, 0 };
	char *v = NULL;
	int i;

	ck_assert_int_eq(store_ca_active(s, "root", &ca, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	root = add_ca(s, "root", "r1");
	iss1 = add_ca(s, "issuing", "i1");
	iss2 = add_ca(s, "issuing", "i2");
	ck_assert_int_eq(store_ca_active(s, "issuing", &ca, &e), 0);
	ck_assert_int_eq(ca->id, iss2);
	ck_assert_str_eq(ca->fingerprint, "i2");
	ck_assert_str_eq(ca->state, "active");
	ck_assert_str_eq(ca->subject, "CN=Test CA");
	ck_assert_int_eq(ca->not_after, 2000);
	ck_assert_uint_eq(ca->der_len, 5);
	store_ca_free(ca);
	ck_assert_int_eq(store_ca_active(s, "root", &ca, &e), 0);
	ck_assert_int_eq(ca->id, root);
	store_ca_free(ca);
	store_ca_free(NULL);
	ck_assert_int_ne(iss1, iss2);
	/* Same fingerprint twice: the UNIQUE constraint answers conflict. */
	ck_assert_int_eq(store_ca_insert(s, "issuing", "CN=x", "i2", 0, 1,
					 der, 1, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	/* Unknown role: the CHECK refuses it. */
	ck_assert_int_eq(store_ca_insert(s, "bogus", "CN=x", "zz", 0, 1,
					 der, 1, NULL, &e), -1);

	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(store_serial_reserve(s, serial, &e), 0);
		make_cert(&c, iss2, serial, i, der, sizeof(der));
		ck_assert_int_eq(store_cert_insert(s, &c, "t", &e), 0);
	}
	pg.limit = STORE_PAGE_MAX;
	ck_assert_int_eq(store_cert_page(s, &pg, cert_cb, ids, &e), 0);
	ck_assert_int_eq(ids[0], 3);
	ck_assert_int_gt(ids[1], ids[2]);
	ck_assert_int_gt(ids[2], ids[3]);
	/* Stopped by fn: the next page starts after the row it stopped on. */
	ck_assert_int_eq(pg.next, ids[3]);
	memset(ids, 0, sizeof(ids));
	pg.after = 0;
	pg.limit = 2;
	ck_assert_int_eq(store_cert_page(s, &pg, cert_cb, ids, &e), 0);
	ck_assert_int_eq(ids[0], 2);

	ck_assert_int_eq(store_setting_get(s, "missing", &v, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(store_setting_set(s, "k", "one", &e), 0);
	ck_assert_int_eq(store_setting_set(s, "k", "two", &e), 0);
	ck_assert_int_eq(store_setting_get(s, "k", &v, &e), 0);
	ck_assert_str_eq(v, "two");
	free(v);
	/* A swap only from the value read: another writer's change meanwhile
	 * is a conflict and is kept. */
	ck_assert_int_eq(store_setting_swap(s, "k", "one", "three", NULL, 0, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(store_setting_swap(s, "k", NULL, "three", NULL, 0, &e), -1);
	ck_assert_int_eq(store_setting_swap(s, "k", "two", "three", NULL, 0, &e), 0);
	ck_assert_int_eq(store_setting_get(s, "k", &v, &e), 0);
	ck_assert_str_eq(v, "three");
	free(v);
	/* The decision's audit rows go with it, or not at all. */
	{
		const struct store_audit_new row = { "unit", "press", NULL, "{\"n\":1}" };
		int64_t before = 0, after = 0;
		unsigned char h[32];

		ck_assert_int_eq(store_audit_head(s, &before, h, &e), 0);
		ck_assert_int_eq(store_setting_swap(s, "k", "two", "four", &row, 1, &e), -1);
		ck_assert_int_eq(store_audit_head(s, &after, h, &e), 0);
		ck_assert_int_eq(after, before);
		ck_assert_int_eq(store_setting_swap(s, "k", "three", NULL, &row, 1, &e), 0);
		ck_assert_int_eq(store_audit_head(s, &after, h, &e), 0);
		ck_assert_int_eq(after, before + 1);
		ck_assert_int_eq(store_setting_get(s, "k", &v, &e), 0);
		ck_assert_str_eq(v, "three");
		free(v);
	}
	ck_assert_int_eq(store_setting_swap(s, "new", "x", "y", NULL, 0, &e), -1);
	ck_assert_int_eq(store_setting_swap(s, "new", NULL, "y", NULL, 0, &e), 0);
	ck_assert_int_eq(store_setting_swap(s, "new", NULL, "z", NULL, 0, &e), -1);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM settings"), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'ca-create'"), 3);
}
END_TEST

/* ---- enrollment requests ---- */

static unsigned char csr_bytes[] = { 0x30, 0x82, 0x01, 0x0a, 0x02, 0x01, 0x00 };

/* Fills in with a request from key k (all 32 bytes = k) at time t. */
static void
make_req(struct store_request *in, int k, const char *device, const char *auth,
	 int64_t t, int64_t expires_at)
{
	memset(in, 0, sizeof(*in));
	memset(in->key_id, k, sizeof(in->key_id));
	snprintf(in->device_id, sizeof(in->device_id), "%s", device);
	ck_assert_int_eq(store_auth_parse(auth, &in->auth), 0);
	snprintf(in->source, sizeof(in->source), "192.0.2.%d", k);
	in->csr = csr_bytes;
	in->csr_len = sizeof(csr_bytes);
	in->created_at = t;
	in->expires_at = expires_at;
}

/* Upserts a request and returns it (the caller frees). */
static struct store_request *
upsert(struct store *s, int k, const char *device, const char *auth, int64_t t,
       int64_t expires_at, int *created)
{
	struct store_request in, *out = NULL;
	struct lerr e;
	int c = -1;

	make_req(&in, k, device, auth, t, expires_at);
	lerr_clear(&e);
	ck_assert_msg(store_request_upsert(s, &in, &out, &c, &e) == 0, "upsert: %s", e.msg);
	ck_assert_ptr_nonnull(out);
	ck_assert(c == 0 || c == 1);
	if (created != NULL)
		*created = c;
	return out;
}

/* A request id starts with the time it was first asked (8 hex digits),
 * so that new ids go to the end of their index; the rest is random. */
/* store_gateway_each: keeps the first gateway. */
static int
gateway_first(const struct store_gateway *gw, void *arg)
{
	*(struct store_gateway *)arg = *gw;
	return 1;
}

/* A joined gateway's own issuing CA (store_ca_join): the store of that
 * gateway finds it, every other store the site's; a second join of the
 * same name retires the first's; the join is audited and counted only
 * through its setting. */
START_TEST(test_gateway_cas)
{
	static const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x02 };
	struct store *s = open_new();
	struct store_ca *ca = NULL;
	struct store_ca_new c = { "O=lanca, OU=site Issuing CA gw-b", "bb", 1000, 2000,
				  der, sizeof(der) };
	struct lerr e;
	int64_t site, first, second, n = -1;

	add_ca(s, "root", "r0");
	site = add_ca(s, "issuing", "aa");
	ck_assert_int_eq(store_ca_join(s, "gw-b", &c, "http://gw/crl/bb", "test", "{}", &first,
				       &e), 0);
	/* The site's first gateway and another joined one: the site's CA. */
	ck_assert_int_eq(store_ca_active(s, "issuing", &ca, &e), 0);
	ck_assert_int_eq(ca->id, site);
	store_ca_free(ca);
	ck_assert_int_eq(store_set_gateway(s, "gw-c", &e), 0);
	ck_assert_int_eq(store_ca_active(s, "issuing", &ca, &e), 0);
	ck_assert_int_eq(ca->id, site);
	store_ca_free(ca);
	/* A site CA newer than gw-b's (a later row): the site's stores take
	 * it, gw-b keeps its own. */
	site = add_ca(s, "issuing", "ab");
	ck_assert_int_gt(site, first);
	ck_assert_int_eq(store_ca_active(s, "issuing", &ca, &e), 0);
	ck_assert_int_eq(ca->id, site);
	store_ca_free(ca);
	/* gw-b: its own, with its CRL URL and name; the root stays the site's. */
	ck_assert_int_eq(store_set_gateway(s, "gw-b", &e), 0);
	ck_assert_int_eq(store_ca_active(s, "issuing", &ca, &e), 0);
	ck_assert_int_eq(ca->id, first);
	ck_assert_str_eq(ca->gateway, "gw-b");
	ck_assert_str_eq(ca->crl_url, "http://gw/crl/bb");
	store_ca_free(ca);
	ck_assert_int_eq(store_ca_active(s, "root", &ca, &e), 0);
	ck_assert_str_eq(ca->fingerprint, "r0");
	store_ca_free(ca);
	/* A join run again (the first did not finish) retires the first CA. */
	c.fingerprint = "cc";
	ck_assert_int_eq(store_ca_join(s, "gw-b", &c, "http://gw/crl/cc", "test", "{}", &second,
				       &e), 0);
	ck_assert_int_eq(store_ca_active(s, "issuing", &ca, &e), 0);
	ck_assert_int_eq(ca->id, second);
	store_ca_free(ca);
	ck_assert_int_eq(store_ca_get(s, first, &ca, &e), 0);
	ck_assert_str_eq(ca->state, "retired");
	store_ca_free(ca);
	ck_assert_int_eq(store_ca_get(s, 9999, &ca, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_ptr_null(ca);
	ck_assert_int_eq(store_set_gateway(s, "", &e), 0);
	ck_assert_int_eq(store_ca_active(s, "issuing", &ca, &e), 0);
	ck_assert_int_eq(ca->id, site);
	store_ca_free(ca);
	/* The site's issuing CAs in use: not gw-b's while gw-b has not
	 * joined (a join under way, or one that died), then with it. */
	{
		struct store_ca *v[STORE_CAS_MAX];
		size_t nv = 0;

		ck_assert_int_eq(store_ca_site_issuing(s, v, STORE_CAS_MAX, &nv, &e), 0);
		ck_assert_uint_eq(nv, 2);
		ck_assert_str_eq(v[0]->fingerprint, "aa");
		ck_assert_str_eq(v[1]->fingerprint, "ab");
		store_ca_list_free(v, nv);
		ck_assert_int_eq(store_setting_set(s, "gateway:gw-b", "1", &e), 0);
		ck_assert_int_eq(store_ca_site_issuing(s, v, STORE_CAS_MAX, &nv, &e), 0);
		ck_assert_uint_eq(nv, 3);
		ck_assert_int_eq(v[2]->id, second);
		store_ca_list_free(v, nv);
		/* A joined gateway's CA is no orphan: retiring by name leaves it. */
		ck_assert_int_eq(store_ca_retire_gateway(s, "gw-b", 0, "test", &e), 0);
		ck_assert_int_eq(store_ca_get(s, second, &ca, &e), 0);
		ck_assert_str_eq(ca->state, "active");
		store_ca_free(ca);
		ck_assert_int_eq(raw_exec("DELETE FROM settings WHERE key = 'gateway:gw-b'", NULL, 0),
				 SQLITE_OK);
	}
	/* Retired by its row (a join that failed after recording it): gw-b's
	 * store falls back to the site's; retiring nothing is not audited. */
	ck_assert_int_eq(store_ca_retire_gateway(s, "gw-b", second + 1000, "test", &e), 0);
	ck_assert_int_eq(store_ca_retire_gateway(s, "gw-b", second, "test", &e), 0);
	ck_assert_int_eq(store_ca_retire_gateway(s, "gw-b", second, "test", &e), 0);
	ck_assert_int_eq(store_set_gateway(s, "gw-b", &e), 0);
	ck_assert_int_eq(store_ca_active(s, "issuing", &ca, &e), 0);
	ck_assert_int_eq(ca->id, site);
	store_ca_free(ca);
	/* Audited; and only a recorded join counts as a gateway. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'gateway-ca' "
				 "AND subject = 'gw-b'"), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'gateway-ca-retire' "
				 "AND subject = 'gw-b'"), 2);
	ck_assert_int_eq(store_gateway_count(s, &n, &e), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(store_setting_set(s, "gateway:gw-b", "1", &e), 0);
	ck_assert_int_eq(store_setting_set(s, "gateway_sans:gw-b", "DNS:x", &e), 0);
	ck_assert_int_eq(store_gateway_count(s, &n, &e), 0);
	ck_assert_int_eq(n, 1);
	/* Listed (its CA: retired above, so the site's); removed, with its
	 * settings, once. */
	{
		struct store_gateway got;

		memset(&got, 0, sizeof(got));
		ck_assert_int_eq(store_gateway_each(s, gateway_first, &got, &e), 0);
		ck_assert_str_eq(got.name, "gw-b");
		ck_assert_int_eq(got.joined_at, 1);
		ck_assert_str_eq(got.ca_subject, "");
	}
	ck_assert_int_eq(store_gateway_remove(s, "gw-b", "test", &e), 0);
	ck_assert_int_eq(store_gateway_remove(s, "gw-b", "test", &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(store_gateway_count(s, &n, &e), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM settings WHERE key LIKE '%gw-b'"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'gateway-remove'"), 1);
	store_close(s);
}
END_TEST

/* A rollover in the store: one transaction, the primary root stays the
 * old one until it finishes, one at a time, the compromise path. */
START_TEST(test_rollover_records)
{
	static const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x02 };
	static const unsigned char x1[] = { 0x30, 0x03, 0x02, 0x01, 0x03 };
	static const unsigned char x2[] = { 0x30, 0x03, 0x02, 0x01, 0x04 };
	struct store *s = open_new();
	struct store_rollover_start r;
	struct store_rollover cur;
	struct store_ca *ca = NULL, *cas[STORE_CAS_MAX];
	struct store_cross x[STORE_CAS_MAX];
	size_t n = 0, nx = 0, i;
	struct lerr e;
	int64_t root, iss, backup;

	root = add_ca(s, "root", "r1");
	iss = add_ca(s, "issuing", "i1");
	ck_assert_int_eq(store_ca_insert_offline(s, "backup-root", "CN=B", "b1", 0, 3000, der,
						 sizeof(der), x1, sizeof(x1), &backup, &e), 0);
	ck_assert_int_eq(store_rollover_newest(s, &cur, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);

	memset(&r, 0, sizeof(r));
	r.old_root = root;
	r.old_issuing = iss;
	r.root = (struct store_ca_new){ "CN=R2", "r2", 0, 3000, der, sizeof(der) };
	r.issuing = (struct store_ca_new){ "CN=I2", "i2", 0, 3000, der, sizeof(der) };
	r.crl_url = "http://gw.local/crl/abc";
	r.new_with_old = x1;
	r.new_with_old_len = sizeof(x1);
	r.old_with_new = x2;
	r.old_with_new_len = sizeof(x2);
	r.actor = "t";
	r.now = 5000;
	ck_assert_msg(store_rollover_start(s, &r, &e) == 0, "%s", e.msg);
	/* The old root is still the primary; the new issuing CA is active,
	 * with its CRL URL; the old one is retired. */
	ck_assert_int_eq(store_ca_active(s, "root", &ca, &e), 0);
	ck_assert_int_eq(ca->id, root);
	store_ca_free(ca);
	ck_assert_int_eq(store_ca_active(s, "issuing", &ca, &e), 0);
	ck_assert_int_eq(ca->id, r.new_issuing);
	ck_assert_str_eq(ca->crl_url, "http://gw.local/crl/abc");
	store_ca_free(ca);
	ck_assert_int_eq(store_cross_list(s, x, STORE_CAS_MAX, &nx, &e), 0);
	ck_assert_uint_eq(nx, 3);	/* the backup's, NewWithOld, OldWithNew */
	ck_assert_int_eq(x[1].issuer_id, root);
	ck_assert_int_eq(x[1].subject_id, r.new_root);
	ck_assert_int_eq(x[2].issuer_id, r.new_root);
	ck_assert_int_eq(x[2].subject_id, root);
	store_cross_clear(x, nx);
	ck_assert_int_eq(store_rollover_newest(s, &cur, &e), 0);
	ck_assert_int_eq(cur.finished_at, 0);
	ck_assert_int_eq(cur.new_issuing, r.new_issuing);

	/* A second start is refused, and writes nothing. */
	r.root.fingerprint = "r3";
	r.issuing.fingerprint = "i3";
	ck_assert_int_eq(store_rollover_start(s, &r, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(store_ca_list(s, cas, STORE_CAS_MAX, &n, &e), 0);
	ck_assert_uint_eq(n, 5);
	store_ca_list_free(cas, n);

	/* Finished: the new root is the primary, the old one retired. */
	ck_assert_int_eq(store_rollover_finish(s, cur.id, "t", NULL, 6000, &e), 0);
	ck_assert_int_eq(store_rollover_finish(s, cur.id, "t", NULL, 6000, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(store_ca_active(s, "root", &ca, &e), 0);
	ck_assert_int_eq(ca->id, r.new_root);
	store_ca_free(ca);

	/* The compromise path: the backup root becomes the primary at once,
	 * the old issuing CA is revoked and the old root distrusted. */
	memset(&r, 0, sizeof(r));
	r.old_root = cur.new_root;
	r.old_issuing = cur.new_issuing;
	r.backup_id = backup;
	r.issuing = (struct store_ca_new){ "CN=I4", "i4", 0, 3000, der, sizeof(der) };
	r.crl_url = "";
	r.compromise = 1;
	r.actor = "t";
	r.now = 7000;
	ck_assert_msg(store_rollover_start(s, &r, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(r.new_root, backup);
	/* Over at once: nobody waits for a distrusted root. */
	ck_assert_int_eq(store_rollover_newest(s, &cur, &e), 0);
	ck_assert_int_eq(cur.finished_at, 7000);
	ck_assert_int_eq(cur.compromise, 1);
	ck_assert_int_eq(store_ca_active(s, "root", &ca, &e), 0);
	ck_assert_int_eq(ca->id, backup);
	store_ca_free(ca);
	ck_assert_int_eq(store_ca_list(s, cas, STORE_CAS_MAX, &n, &e), 0);
	for (i = 0; i < n; i++) {
		/* Every issuing CA whose key was here, not only the last. */
		if (cas[i]->id == r.old_issuing || cas[i]->id == iss)
			ck_assert_int_eq(cas[i]->revoked_at, 7000);
		if (cas[i]->id == r.new_issuing)
			ck_assert_int_eq(cas[i]->revoked_at, 0);
		if (cas[i]->id == r.old_root) {
			ck_assert_int_eq(cas[i]->distrusted_at, 7000);
			ck_assert_str_eq(cas[i]->state, "retired");
		}
		if (cas[i]->id == backup)
			ck_assert_str_eq(cas[i]->role, "root");
	}
	store_ca_list_free(cas, n);
	/* A backup root that is not one is refused. */
	r.backup_id = root;
	r.old_root = backup;
	r.old_issuing = r.new_issuing;
	r.issuing.fingerprint = "i5";
	ck_assert_int_eq(store_rollover_start(s, &r, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	store_close(s);
}
END_TEST

START_TEST(test_request_id_follows_time)
{
	struct store *s = open_new();
	struct store_request *a, *b;
	char want[9];
	uint32_t t0 = (uint32_t)time(NULL);

	a = upsert(s, 1, "dev-a", "none", (int64_t)t0, (int64_t)t0 + 100, NULL);
	b = upsert(s, 2, "dev-b", "none", (int64_t)t0 + 1, (int64_t)t0 + 100, NULL);
	snprintf(want, sizeof(want), "%08x", t0);
	ck_assert_int_eq(strncmp(a->id, want, 8), 0);
	snprintf(want, sizeof(want), "%08x", t0 + 1);
	ck_assert_int_eq(strncmp(b->id, want, 8), 0);
	ck_assert_int_lt(strcmp(a->id, b->id), 0);
	ck_assert_int_eq((int)strlen(a->id), STORE_REQUEST_ID_LEN);
	ck_assert_int_ne(strcmp(a->id + 8, b->id + 8), 0);
	store_request_free(a);
	store_request_free(b);
	store_close(s);
}
END_TEST

/* The query plan of sql on the store's file, one detail per line. */
static void
plan_of(const char *sql, char *out, size_t size)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char q[2048];
	size_t n = 0;

	out[0] = '\0';
	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW && n < size)
		n += (size_t)snprintf(out + n, size - n, "%s\n",
				      (const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The device asking again is found through the key's own index (one
 * that does not change when the request is issued), never by a scan. */
START_TEST(test_key_lookup_plan)
{
	struct store *s = open_new();
	char plan[1024];

	store_close(s);
	plan_of(store_sql_requests[Q_REQ_FIND_KEY], plan, sizeof(plan));
	ck_assert_msg(strstr(plan, "SEARCH r USING INDEX requests_key (key_id=?)") != NULL, "%s", plan);
	ck_assert_msg(strstr(plan, "SCAN") == NULL, "%s", plan);
}
END_TEST

/*
 * Issues a certificate for device with key k (all bytes k), the given
 * names and expiry, optionally for a request or a pre-authorisation.
 * Returns the store's answer; serial receives the serial used.
 */
static int
issue(struct store *s, int64_t ca_id, const char *device, int k, char *names,
      int64_t not_after, const char *request_id, const char *preauth_id,
      unsigned char serial[STORE_SERIAL_LEN], struct lerr *e)
{
	static unsigned char der[48];
	struct store_cert c;

	ck_assert_int_eq(store_serial_reserve(s, serial, e), 0);
	make_cert(&c, ca_id, serial, k, der, sizeof(der));
	snprintf(c.device_id, sizeof(c.device_id), "%s", device);
	memset(c.key_id, k, sizeof(c.key_id));
	c.sans = names;
	c.not_before = 1000;
	c.not_after = not_after;
	if (request_id != NULL)
		snprintf(c.request_id, sizeof(c.request_id), "%s", request_id);
	if (preauth_id != NULL)
		snprintf(c.preauth_id, sizeof(c.preauth_id), "%s", preauth_id);
	lerr_clear(e);
	return store_cert_insert(s, &c, "test", e);
}

/* A certificate whose names must be its device's alone is refused when
 * another device holds one of them at commit, and leaves nothing behind;
 * its own device's names are no conflict, and an admin's decision (not
 * exclusive) is recorded over one. */
START_TEST(test_cert_exclusive_names)
{
	static char names_a[] = "DNS:a.local,IP:10.0.0.7";
	static char names_b[] = "DNS:b.local,IP:10.0.0.7";
	static unsigned char der[48];
	unsigned char serial[STORE_SERIAL_LEN];
	struct store *s = open_new();
	struct store_cert c;
	struct lerr e;
	int64_t ca_id, later = (int64_t)time(NULL) + 86400;

	ca_id = add_ca(s, "issuing", "aa");
	ck_assert_int_eq(issue(s, ca_id, "dev-a", 0x0a, names_a, later, NULL, NULL, serial, &e), 0);
	ck_assert_int_eq(store_serial_reserve(s, serial, &e), 0);
	make_cert(&c, ca_id, serial, 0x0b, der, sizeof(der));
	snprintf(c.device_id, sizeof(c.device_id), "dev-b");
	c.sans = names_b;
	c.not_before = 1000;
	c.not_after = later;
	c.exclusive = 1;
	ck_assert_int_eq(store_cert_insert(s, &c, "test", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_msg(strstr(e.msg, "10.0.0.7 is held by device dev-a") != NULL, "%s", e.msg);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM cert_names"), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM serials WHERE used = 1"), 1);
	/* The holder's own names: no conflict. */
	snprintf(c.device_id, sizeof(c.device_id), "dev-a");
	c.sans = names_a;
	ck_assert_msg(store_cert_insert(s, &c, "test", &e) == 0, "%s", e.msg);
	/* An admin decides over the conflict. */
	ck_assert_int_eq(store_serial_reserve(s, serial, &e), 0);
	make_cert(&c, ca_id, serial, 0x0c, der, sizeof(der));
	snprintf(c.device_id, sizeof(c.device_id), "dev-b");
	c.sans = names_b;
	c.not_after = later;
	ck_assert_msg(store_cert_insert(s, &c, "test", &e) == 0, "%s", e.msg);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates"), 3);
	store_close(s);
}
END_TEST

/* A request decided at once is recorded with its certificate: one job,
 * the request issued and linked, both audit rows; a key whose request
 * was recorded meanwhile gets a conflict and nothing is written. */
START_TEST(test_cert_with_new_request)
{
	struct store *s = open_new();
	static unsigned char der[48];
	unsigned char serial[STORE_SERIAL_LEN];
	struct store_request in, *rq = NULL, *other;
	struct store_ticket *t = NULL;
	struct store_stats st0, st1;
	struct store_cert c;
	struct lerr e;
	int64_t ca_id, now = (int64_t)time(NULL);

	ca_id = add_ca(s, "issuing", "aa");
	ck_assert_int_eq(store_serial_reserve(s, serial, &e), 0);
	make_req(&in, 7, "dev-7", "preauth", now, now + 100);
	store_request_new_id(now, in.id);
	make_cert(&c, ca_id, serial, 7, der, sizeof(der));
	snprintf(c.device_id, sizeof(c.device_id), "dev-7");
	memset(c.key_id, 7, sizeof(c.key_id));
	c.not_after = now + 1000;
	snprintf(c.request_id, sizeof(c.request_id), "%s", in.id);
	store_stats(s, &st0);
	ck_assert_msg(store_cert_submit_new(s, &c, &in, "test", &t, &e) == 0, "%s", e.msg);
	ck_assert_msg(store_ticket_wait(t, &e) == 0, "%s", e.msg);
	store_stats(s, &st1);
	ck_assert_uint_eq(st1.jobs - st0.jobs, 1);
	ck_assert_uint_eq(st1.commits - st0.commits, 1);
	ck_assert_int_eq(store_request_get(s, in.id, &rq, &e), 0);
	ck_assert_int_eq(rq->state, STORE_REQ_ISSUED);
	ck_assert_int_eq(rq->auth, STORE_AUTH_PREAUTH);
	ck_assert_int_gt(rq->cert_id, 0);
	store_request_free(rq);

	/* The same key again, as if a second ask had raced the first. */
	ck_assert_int_eq(store_serial_reserve(s, serial, &e), 0);
	make_cert(&c, ca_id, serial, 7, der, sizeof(der));
	memset(c.key_id, 7, sizeof(c.key_id));
	c.not_after = now + 1000;
	store_request_new_id(now, in.id);
	snprintf(c.request_id, sizeof(c.request_id), "%s", in.id);
	ck_assert_int_eq(store_cert_submit_new(s, &c, &in, "test", &t, &e), 0);
	ck_assert_int_eq(store_ticket_wait(t, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(store_request_get(s, in.id, &other, &e), -1);
	/* An id that is not the certificate's is refused up front. */
	snprintf(c.request_id, sizeof(c.request_id), "something-else");
	ck_assert_int_eq(store_cert_submit_new(s, &c, &in, "test", &t, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM requests"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'enroll'"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'issue'"), 1);
}
END_TEST

static int
is_hex_id(const char *id)
{
	size_t i;

	if (strlen(id) != STORE_REQUEST_ID_LEN)
		return 0;
	for (i = 0; i < STORE_REQUEST_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

/* The number of pending requests is bounded: past STORE_PENDING_MAX a new
 * key is refused (503) and nothing is written; a known key still asks. */
START_TEST(test_request_pending_cap)
{
	struct store *s = open_new();
	struct store_request in, *out = NULL, *a;
	char err[256], sql[512];
	struct lerr e;
	int created = -1;

	a = upsert(s, 0x11, "dev-a", "none", 100, 1000000, &created);
	/* Fill the table up to the cap with rows made directly. */
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
		 "INSERT INTO requests (id, key_id, device_id, csr, state, auth, created_at, "
		 "updated_at, last_seen, expires_at) SELECT printf('%%032x', i), randomblob(32), "
		 "'filler', x'00', 'pending', 'none', 100, 100, 100, 1000000 FROM n",
		 STORE_PENDING_MAX - 1);
	ck_assert_msg(raw_exec(sql, err, sizeof(err)) == SQLITE_OK, "%s", err);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM requests WHERE state='pending'"),
			 STORE_PENDING_MAX);
	make_req(&in, 0x22, "dev-b", "none", 200, 1000000);
	ck_assert_int_eq(store_request_upsert(s, &in, &out, &created, &e), -1);
	ck_assert_int_eq(e.http, 503);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM requests WHERE device_id='dev-b'"), 0);
	/* The key already recorded is not a new request: it is answered. */
	store_request_free(upsert(s, 0x11, "dev-a", "none", 300, 1000000, &created));
	ck_assert_int_eq(created, 0);
	store_request_free(a);
	store_close(s);
}
END_TEST

START_TEST(test_request_upsert)
{
	struct store *s = open_new();
	struct store_request *a1, *a2, *b, *got = NULL;
	unsigned char key_a[32];
	struct lerr e;
	int created = -1;

	a1 = upsert(s, 0xa1, "dev-a", "none", 100, 10000, &created);
	ck_assert_int_eq(created, 1);
	ck_assert_msg(is_hex_id(a1->id), "%s", a1->id);
	ck_assert_int_eq(a1->state, STORE_REQ_PENDING);
	ck_assert_int_eq(a1->auth, STORE_AUTH_NONE);
	ck_assert_str_eq(a1->device_id, "dev-a");
	ck_assert_str_eq(a1->source, "192.0.2.161");
	ck_assert_str_eq(a1->reason, "");
	ck_assert_int_eq(a1->created_at, 100);
	ck_assert_int_eq(a1->last_seen, 100);
	ck_assert_int_eq(a1->expires_at, 10000);
	ck_assert_int_eq(a1->cert_id, 0);
	ck_assert_int_eq(a1->contested, 0);
	ck_assert_uint_eq(a1->csr_len, sizeof(csr_bytes));
	ck_assert_mem_eq(a1->csr, csr_bytes, sizeof(csr_bytes));
	memset(key_a, 0xa1, sizeof(key_a));
	ck_assert_mem_eq(a1->key_id, key_a, sizeof(key_a));

	/* The same key asks again: the same request, seen later. */
	a2 = upsert(s, 0xa1, "dev-a", "none", 250, 20000, &created);
	ck_assert_int_eq(created, 0);
	ck_assert_str_eq(a2->id, a1->id);
	ck_assert_int_eq(a2->created_at, 100);
	ck_assert_int_eq(a2->last_seen, 250);
	ck_assert_int_eq(a2->expires_at, 10000);	/* not extended by asking */
	ck_assert_int_eq(a2->state, STORE_REQ_PENDING);

	/* Another key: another request with another id. */
	b = upsert(s, 0xb2, "dev-b", "none", 300, 10000, &created);
	ck_assert_int_eq(created, 1);
	ck_assert_msg(is_hex_id(b->id), "%s", b->id);
	ck_assert_str_ne(b->id, a1->id);

	/* A poll moves last_seen forward, never back. */
	ck_assert_int_eq(store_request_touch(s, a1->id, 400, &e), 0);
	ck_assert_int_eq(store_request_touch(s, a1->id, 350, &e), 0);
	ck_assert_int_eq(store_request_get(s, a1->id, &got, &e), 0);
	ck_assert_int_eq(got->last_seen, 400);
	ck_assert_str_eq(got->id, a1->id);
	ck_assert_mem_eq(got->csr, csr_bytes, sizeof(csr_bytes));
	store_request_free(got);
	got = NULL;
	ck_assert_int_eq(store_request_touch(s, "nosuch", 1, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(store_request_get(s, "nosuch", &got, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_ptr_null(got);

	/* Once denied, the key asking again makes a new request. */
	ck_assert_int_eq(store_request_deny(s, a1->id, "not mine", "admin", &e), 0);
	store_request_free(a2);
	a2 = upsert(s, 0xa1, "dev-a", "none", 500, 10000, &created);
	ck_assert_int_eq(created, 1);
	ck_assert_str_ne(a2->id, a1->id);
	store_request_free(NULL);
	store_close(s);

	ck_assert_int_eq(raw_int("SELECT count(*) FROM requests"), 3);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM requests WHERE key_id = "
				 "x'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1'"), 2);
	ck_assert_int_eq(raw_int("SELECT count(DISTINCT id) FROM requests"), 3);
	/* One "enroll" audit row per new request, by the client address,
	 * naming the request and key. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'enroll'"), 3);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit a JOIN requests r "
				 "ON json_extract(a.detail, '$.request') = r.id "
				 "AND json_extract(a.detail, '$.key_id') = lower(hex(r.key_id)) "
				 "AND a.subject = r.device_id AND a.actor = r.source "
				 "WHERE a.event = 'enroll'"), 3);
	store_request_free(a1);
	store_request_free(a2);
	store_request_free(b);
}
END_TEST

/* Fills a 64-digit hex string of 32 bytes of k. */
static void
key_hex(int k, char out[65])
{
	int i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", k);
}

START_TEST(test_waiting)
{
	struct store *s = open_new();
	struct store_request *r[10];
	char ids[8][STORE_REQUEST_ID_LEN + 1];
	unsigned char keys[8][32], want[32], serial[STORE_SERIAL_LEN];
	char sql[400], kh[65], err[256];
	struct lerr e;
	size_t n = 99;
	int64_t ca_id;
	int i;

	ca_id = add_ca(s, "issuing", "aa");
	r[1] = upsert(s, 1, "k1", "none", 1100, 99999, NULL);
	r[2] = upsert(s, 2, "k2", "none", 1200, 99999, NULL);
	store_request_free(upsert(s, 2, "k2", "none", 1250, 99999, NULL));	/* asks again */
	r[3] = upsert(s, 3, "k3", "preauth", 1300, 99999, NULL);	/* authenticated */
	r[4] = upsert(s, 4, "k4", "none", 900, 99999, NULL);		/* before since */
	r[5] = upsert(s, 5, "k5", "none", 1500, 99999, NULL);		/* holds a valid cert */
	r[6] = upsert(s, 6, "k6", "none", 1600, 99999, NULL);		/* its cert revoked */
	r[7] = upsert(s, 7, "k7", "none", 1700, 99999, NULL);		/* its cert expired */
	ck_assert_int_eq(issue(s, ca_id, "k5", 5, sans, 6000, NULL, NULL, serial, &e), 0);
	ck_assert_int_eq(issue(s, ca_id, "k6", 6, sans, 6000, NULL, NULL, serial, &e), 0);
	ck_assert_int_eq(revoke_cert(s, serial, sizeof(serial), CRL_REASON_SUPERSEDED, "admin", &e), 0);
	ck_assert_int_eq(issue(s, ca_id, "k7", 7, sans, 5000, NULL, NULL, serial, &e), 0);
	/* A device id whose certificate was revoked for another reason than
	 * a renewal waits for an admin, not the button: not counted. */
	r[8] = upsert(s, 8, "k8", "none", 1800, 99999, NULL);
	ck_assert_int_eq(issue(s, ca_id, "k8", 8, sans, 6000, NULL, NULL, serial, &e), 0);
	ck_assert_int_eq(revoke_cert(s, serial, sizeof(serial), CRL_REASON_KEY_COMPROMISE, "admin", &e), 0);
	r[9] = upsert(s, 9, "k8", "none", 1900, 99999, NULL);	/* k8 again, a new key */
	/* An older second pending request for key 1 (written behind the
	 * store's back): key 1 still counts once, through its newest. */
	key_hex(1, kh);
	snprintf(sql, sizeof(sql), "INSERT INTO requests (id, key_id, device_id, csr, "
		 "state, auth, created_at, updated_at, last_seen, expires_at) VALUES "
		 "('old-k1', x'%s', 'k1', x'30', 'pending', 'none', 1050, 1050, 1050, 99999)",
		 kh);
	ck_assert_int_eq(raw_exec(sql, err, sizeof(err)), SQLITE_OK);

	ck_assert_int_eq(store_waiting(s, 1000, 5000, ids, keys, 8, &n, &e), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(ids[0], r[1]->id);
	ck_assert_str_eq(ids[1], r[2]->id);
	ck_assert_str_eq(ids[2], r[6]->id);
	ck_assert_str_eq(ids[3], r[7]->id);
	memset(want, 7, sizeof(want));
	ck_assert_mem_eq(keys[3], want, sizeof(want));
	memset(want, 1, sizeof(want));
	ck_assert_mem_eq(keys[0], want, sizeof(want));

	/* Fewer slots than keys: the first ones, and the full count. */
	memset(ids, 0, sizeof(ids));
	ck_assert_int_eq(store_waiting(s, 1000, 5000, ids, keys, 2, &n, &e), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(ids[0], r[1]->id);
	ck_assert_str_eq(ids[1], r[2]->id);
	ck_assert_str_eq(ids[2], "");
	ck_assert_int_eq(store_waiting(s, 1000, 5000, NULL, NULL, 0, &n, &e), 0);
	ck_assert_uint_eq(n, 4);
	/* Key 7's certificate is still valid at 4000; key 5's is expired at
	 * 7000. Nobody asked since 2000. */
	ck_assert_int_eq(store_waiting(s, 1000, 4000, ids, keys, 8, &n, &e), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(store_waiting(s, 1000, 7000, ids, keys, 8, &n, &e), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(store_waiting(s, 2000, 5000, ids, keys, 8, &n, &e), 0);
	ck_assert_uint_eq(n, 0);
	/* A denied request no longer waits. */
	ck_assert_int_eq(store_request_deny(s, r[2]->id, "no", "admin", &e), 0);
	ck_assert_int_eq(store_waiting(s, 1000, 5000, ids, keys, 8, &n, &e), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(ids[1], r[6]->id);
	for (i = 1; i < 10; i++)
		store_request_free(r[i]);
	store_close(s);
}
END_TEST

START_TEST(test_cert_issues_request)
{
	unsigned char serial[STORE_SERIAL_LEN], serial2[STORE_SERIAL_LEN];
	struct store *s = open_new();
	struct store_request *r, *got = NULL;
	struct store_cert *c = NULL;
	struct lerr e;
	int64_t ca_id, n = -1;
	int created = -1;

	ca_id = add_ca(s, "issuing", "aa");
	r = upsert(s, 9, "dev-9", "none", 100, 99999, NULL);
	ck_assert_msg(issue(s, ca_id, "dev-9", 9, sans, 99999, r->id, NULL, serial, &e) == 0,
		      "%s", e.msg);
	ck_assert_int_eq(store_request_get(s, r->id, &got, &e), 0);
	ck_assert_int_eq(got->state, STORE_REQ_ISSUED);
	ck_assert_int_eq(store_cert_by_serial(s, serial, sizeof(serial), &c, &e), 0);
	ck_assert_int_eq(got->cert_id, c->id);
	ck_assert_str_eq(c->request_id, r->id);
	store_cert_free(c);
	store_request_free(got);
	got = NULL;

	/* A second certificate for the same request: refused, nothing kept. */
	ck_assert_int_eq(issue(s, ca_id, "dev-9", 9, sans, 99999, r->id, NULL, serial2, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(e.http, 409);
	ck_assert_msg(strstr(e.msg, "is issued") != NULL, "%s", e.msg);
	ck_assert_int_eq(store_cert_count(s, &n, &e), 0);
	ck_assert_int_eq(n, 1);

	/* The key asking again gets its issued request back. */
	got = upsert(s, 9, "dev-9", "none", 200, 99999, &created);
	ck_assert_int_eq(created, 0);
	ck_assert_str_eq(got->id, r->id);
	ck_assert_int_eq(got->state, STORE_REQ_ISSUED);
	ck_assert_int_eq(got->last_seen, 200);
	store_request_free(got);
	got = NULL;
	/* store_cert_by_key: the newest for the key; unknown key: not found. */
	ck_assert_int_eq(store_cert_by_key(s, (const unsigned char *)"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
					   &c, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(store_cert_by_key(s, got == NULL ? r->key_id : NULL, &c, &e), 0);
	ck_assert_mem_eq(c->serial, serial, sizeof(serial));
	store_cert_free(c);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'issue'"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM serials WHERE used = 1"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'issue' AND "
				 "json_extract(detail, '$.request') IS NOT NULL"), 1);
	store_request_free(r);
}
END_TEST

START_TEST(test_request_deny_note_contest)
{
	unsigned char serial[STORE_SERIAL_LEN];
	struct store *s = open_new();
	struct store_request *p, *i, *got = NULL;
	struct lerr e;
	int64_t ca_id;

	ca_id = add_ca(s, "issuing", "aa");
	p = upsert(s, 1, "dev-p", "none", 100, 99999, NULL);
	i = upsert(s, 2, "dev-i", "none", 100, 99999, NULL);
	ck_assert_int_eq(issue(s, ca_id, "dev-i", 2, sans, 99999, i->id, NULL, serial, &e), 0);

	/* note: only while pending. */
	ck_assert_int_eq(store_request_note(s, p->id, "overlap", &e), 0);
	ck_assert_int_eq(store_request_get(s, p->id, &got, &e), 0);
	ck_assert_str_eq(got->reason, "overlap");
	store_request_free(got);
	got = NULL;
	ck_assert_int_eq(store_request_note(s, i->id, "overlap", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);

	/* deny: pending -> denied with its reason, once. */
	ck_assert_int_eq(store_request_deny(s, p->id, "unknown device", "admin", &e), 0);
	ck_assert_int_eq(store_request_get(s, p->id, &got, &e), 0);
	ck_assert_int_eq(got->state, STORE_REQ_DENIED);
	ck_assert_str_eq(got->reason, "unknown device");
	store_request_free(got);
	got = NULL;
	lerr_clear(&e);
	ck_assert_int_eq(store_request_deny(s, p->id, "again", "admin", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_msg(strstr(e.msg, "is denied") != NULL, "%s", e.msg);
	ck_assert_int_eq(store_request_deny(s, i->id, "too late", "admin", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_msg(strstr(e.msg, "is issued") != NULL, "%s", e.msg);
	ck_assert_int_eq(store_request_deny(s, "nosuch", "x", "admin", &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(store_request_get(s, i->id, &got, &e), 0);
	ck_assert_int_eq(got->state, STORE_REQ_ISSUED);
	ck_assert_str_eq(got->reason, "");
	store_request_free(got);
	got = NULL;

	/* contest: only an issued request; twice is one contest. */
	ck_assert_int_eq(store_request_contest(s, p->id, "window", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(store_request_contest(s, i->id, "window", &e), 0);
	ck_assert_int_eq(store_request_contest(s, i->id, "window", &e), 0);
	ck_assert_int_eq(store_request_get(s, i->id, &got, &e), 0);
	ck_assert_int_eq(got->contested, 1);
	store_request_free(got);
	store_close(s);

	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'deny' "
				 "AND actor = 'admin' AND subject = 'dev-p' "
				 "AND json_extract(detail, '$.reason') = 'unknown device'"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'deny'"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'contested' "
				 "AND actor = 'window' AND subject = 'dev-i'"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM requests WHERE contested = 1"), 1);
	store_request_free(p);
	store_request_free(i);
}
END_TEST

struct req_seen {
	int n;
	char states[8][16];
};

static int
req_cb(const struct store_request *r, void *arg)
{
	struct req_seen *seen = arg;

	if (seen->n < 8)
		snprintf(seen->states[seen->n], sizeof(seen->states[0]), "%s", store_req_state_str(r->state));
	seen->n++;
	return 0;
}

START_TEST(test_request_expire_each)
{
	unsigned char serial[STORE_SERIAL_LEN];
	struct store_page pg = { 0, 0, 0 };
	struct store *s = open_new();
	struct store_request *r[5];
	struct req_seen seen;
	struct lerr e;
	int64_t ca_id;
	size_t n = 99;
	int k;

	ca_id = add_ca(s, "issuing", "aa");
	for (k = 1; k <= 4; k++)
		r[k] = upsert(s, k, "dev", "none", 10 * k, 100 * k, NULL);
	/* Key 1 (expires at 100) is issued: expiry leaves it alone. */
	ck_assert_int_eq(issue(s, ca_id, "dev", 1, sans, 99999, r[1]->id, NULL, serial, &e), 0);
	ck_assert_int_eq(store_request_expire(s, 300, &n, &e), 0);
	ck_assert_uint_eq(n, 2);			/* keys 2 and 3 */
	ck_assert_int_eq(store_request_expire(s, 300, &n, &e), 0);
	ck_assert_uint_eq(n, 0);

	memset(&seen, 0, sizeof(seen));
	pg.limit = STORE_PAGE_MAX;
	ck_assert_int_eq(store_request_page(s, STORE_REQ_ANY, &pg, req_cb, &seen, &e), 0);
	ck_assert_int_eq(seen.n, 4);
	ck_assert_str_eq(seen.states[0], "pending");	/* newest first: key 4 */
	ck_assert_str_eq(seen.states[1], "expired");
	ck_assert_str_eq(seen.states[2], "expired");
	ck_assert_str_eq(seen.states[3], "issued");
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(store_request_page(s, STORE_REQ_EXPIRED, &pg, req_cb, &seen, &e), 0);
	ck_assert_int_eq(seen.n, 2);
	ck_assert_int_eq(pg.next, 0);
	memset(&seen, 0, sizeof(seen));
	pg.limit = 1;
	ck_assert_int_eq(store_request_page(s, STORE_REQ_EXPIRED, &pg, req_cb, &seen, &e), 0);
	ck_assert_int_eq(seen.n, 1);
	ck_assert_int_ne(pg.next, 0);
	/* An expired request's key asking again starts afresh. */
	store_request_free(r[4]);
	r[4] = upsert(s, 2, "dev", "none", 400, 999, &k);
	ck_assert_int_eq(k, 1);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'expire'"), 1);
	ck_assert_int_eq(raw_int("SELECT json_extract(detail, '$.count') FROM audit "
				 "WHERE event = 'expire'"), 2);
	for (k = 1; k <= 4; k++)
		store_request_free(r[k]);
}
END_TEST

/* ---- ownership ---- */

/* ---- pages ---- */

#define PAGE_SEEN_MAX	64

/* What a walk over a listing saw: request ids (with their creation
 * times), or certificate or audit ids, in the order handed out. */
struct page_seen {
	size_t n;
	char req[PAGE_SEEN_MAX][STORE_REQUEST_ID_LEN + 1];
	int64_t id[PAGE_SEEN_MAX];	/* a request's created_at, else the row id */
	enum store_req_state only;	/* STORE_REQ_ANY, or the state every row must have */
	int stop_after;			/* > 0: fn stops once it saw this many */
};

static int
page_req_cb(const struct store_request *r, void *arg)
{
	struct page_seen *p = arg;

	ck_assert_uint_lt(p->n, PAGE_SEEN_MAX);
	ck_assert(p->only == STORE_REQ_ANY || r->state == p->only);
	snprintf(p->req[p->n], sizeof(p->req[0]), "%s", r->id);
	p->id[p->n++] = r->created_at;
	return p->stop_after > 0 && p->n >= (size_t)p->stop_after;
}

static int
page_cert_cb(const struct store_cert *c, void *arg)
{
	struct page_seen *p = arg;

	ck_assert_uint_lt(p->n, PAGE_SEEN_MAX);
	p->id[p->n++] = c->id;
	return p->stop_after > 0 && p->n >= (size_t)p->stop_after;
}

static int
page_audit_cb(const struct store_audit_row *r, void *arg)
{
	struct page_seen *p = arg;

	ck_assert_uint_lt(p->n, PAGE_SEEN_MAX);
	p->id[p->n++] = r->id;
	return 0;
}

/* Which listing page_walk walks. */
enum page_list { PAGE_REQUESTS, PAGE_CERTS, PAGE_AUDIT };

/* One page of list (state for requests) into p; returns the page's next. */
static int64_t
page_one(struct store *s, enum page_list list, enum store_req_state state, int64_t after,
	 size_t limit, struct page_seen *p)
{
	struct store_page pg = { after, limit, -1 };
	size_t before = p->n;
	struct lerr e;
	int rc;

	lerr_clear(&e);
	p->only = state;
	rc = list == PAGE_REQUESTS ? store_request_page(s, state, &pg, page_req_cb, p, &e) :
	     list == PAGE_CERTS ? store_cert_page(s, &pg, page_cert_cb, p, &e) :
	     store_audit_page(s, &pg, page_audit_cb, p, &e);
	ck_assert_msg(rc == 0, "page: %s", e.msg);
	ck_assert_uint_le(p->n - before, limit);
	/* Only the last page is short, and it says so (or fn stopped it). */
	ck_assert(pg.next == 0 || p->n - before == limit || p->stop_after > 0);
	ck_assert_int_ge(pg.next, 0);
	return pg.next;
}

/*
 * Walks list page after page (limit rows each) into p, calling between(k)
 * after page k. The number of pages is returned.
 */
static int
page_walk(struct store *s, enum page_list list, enum store_req_state state, size_t limit,
	  struct page_seen *p, void (*between)(struct store *s, int k))
{
	int64_t after = 0;
	int pages = 0;

	memset(p, 0, sizeof(*p));
	do {
		after = page_one(s, list, state, after, limit, p);
		pages++;
		ck_assert_int_lt(pages, 100);
		if (between != NULL)
			between(s, pages);
	} while (after != 0);
	return pages;
}

static int64_t page_ca;
static int page_late;		/* requests page_insert made */

/* Between pages: a new request, and a certificate for it, both newer
 * than every position a walk holds. */
static void
page_insert(struct store *s, int k)
{
	unsigned char serial[STORE_SERIAL_LEN];
	struct store_request *r;
	struct lerr e;

	(void)k;
	page_late++;
	r = upsert(s, 100 + page_late, "late", "none", 5000 + page_late, 999999, NULL);
	ck_assert_msg(issue(s, page_ca, "late", 100 + page_late, sans, 999999, r->id, NULL,
			    serial, &e) == 0, "%s", e.msg);
	store_request_free(r);
}

/* Every row of every listing is on exactly one page, newest first, however
 * the pages fall and whatever is added while they are read. */
START_TEST(test_pages_cover)
{
	unsigned char serial[STORE_SERIAL_LEN];
	struct store *s = open_new();
	struct store_request *r;
	struct page_seen p;
	struct lerr e;
	int64_t nreq, ncert, naudit, npend, after, top;
	size_t i, j;
	int k;

	page_ca = add_ca(s, "issuing", "aa");
	for (k = 1; k <= 23; k++) {
		r = upsert(s, k, "dev", "none", 100 + k, 999999, NULL);
		if (k % 3 == 0)
			ck_assert_int_eq(issue(s, page_ca, "dev", k, sans, 999999, r->id, NULL,
					       serial, &e), 0);
		else if (k % 5 == 0)
			ck_assert_int_eq(store_request_deny(s, r->id, "no", "t", &e), 0);
		store_request_free(r);
	}
	nreq = raw_int("SELECT count(*) FROM requests");
	npend = raw_int("SELECT count(*) FROM requests WHERE state = 'pending'");
	ncert = raw_int("SELECT count(*) FROM certificates");
	naudit = raw_int("SELECT count(*) FROM audit");
	ck_assert_int_eq(nreq, 23);
	ck_assert_int_eq(ncert, 7);
	ck_assert_int_eq(npend, 13);

	/* Requests, 4 a page, with rows added after each page: the walk
	 * sees the 23 there were, once each, newest first. */
	ck_assert_int_eq(page_walk(s, PAGE_REQUESTS, STORE_REQ_ANY, 4, &p, page_insert), 6);
	ck_assert_uint_eq(p.n, 23);
	for (i = 0; i < p.n; i++) {
		ck_assert_int_eq(p.id[i], 100 + 23 - (int64_t)i);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(p.req[i], p.req[j]);
	}
	/* What was added meanwhile is on a new first page. */
	memset(&p, 0, sizeof(p));
	ck_assert_int_ne(page_one(s, PAGE_REQUESTS, STORE_REQ_ANY, 0, 2, &p), 0);
	ck_assert_int_eq(p.id[0], 5000 + 6);
	ck_assert_int_eq(p.id[1], 5000 + 5);

	/* One state: only its rows, all of them. */
	ck_assert_int_eq(page_walk(s, PAGE_REQUESTS, STORE_REQ_PENDING, 3, &p, NULL), 5);
	ck_assert_int_eq((int64_t)p.n, npend);
	for (i = 1; i < p.n; i++)
		ck_assert_int_lt(p.id[i], p.id[i - 1]);
	/* 3 denied, 3 a page: the full page is the last (no empty one
	 * after it). */
	ck_assert_int_eq(page_walk(s, PAGE_REQUESTS, STORE_REQ_DENIED, 3, &p, NULL), 1);
	ck_assert_uint_eq(p.n, 3);			/* keys 5, 10, 20 */
	ck_assert_int_eq(page_walk(s, PAGE_REQUESTS, STORE_REQ_EXPIRED, 5, &p, NULL), 1);
	ck_assert_uint_eq(p.n, 0);

	/* Certificates and the audit log, the same way. */
	ncert = raw_int("SELECT count(*) FROM certificates");
	ck_assert_int_eq(page_walk(s, PAGE_CERTS, STORE_REQ_ANY, 5, &p, page_insert), 3);
	ck_assert_int_eq((int64_t)p.n, ncert);
	for (i = 1; i < p.n; i++)
		ck_assert_int_lt(p.id[i], p.id[i - 1]);
	naudit = raw_int("SELECT count(*) FROM audit");
	top = raw_int("SELECT max(id) FROM audit");
	ck_assert_int_le(naudit, PAGE_SEEN_MAX);
	page_walk(s, PAGE_AUDIT, STORE_REQ_ANY, 7, &p, page_insert);
	ck_assert_int_eq((int64_t)p.n, naudit);
	ck_assert_int_eq(p.id[0], top);
	ck_assert_int_gt(raw_int("SELECT max(id) FROM audit"), top);
	for (i = 1; i < p.n; i++)
		ck_assert_int_eq(p.id[i], p.id[i - 1] - 1);

	/* A walk that fn stops goes on after the row it stopped on. */
	memset(&p, 0, sizeof(p));
	p.stop_after = 2;
	after = page_one(s, PAGE_REQUESTS, STORE_REQ_PENDING, 0, 10, &p);
	ck_assert_uint_eq(p.n, 2);
	ck_assert_int_ne(after, 0);
	p.stop_after = 0;
	page_one(s, PAGE_REQUESTS, STORE_REQ_PENDING, after, 1, &p);
	ck_assert_uint_eq(p.n, 3);
	ck_assert_int_lt(p.id[2], p.id[1]);
	store_close(s);
}
END_TEST

static int
page_never_cb(const struct store_request *r, void *arg)
{
	(void)r;
	(void)arg;
	ck_abort_msg("a refused page handed out a row");
	return 1;
}

/* A page is 1 to STORE_PAGE_MAX rows after a position that is not
 * negative; anything else is refused before a row is read. */
START_TEST(test_page_bounds)
{
	static const struct { int64_t after; size_t limit; } bad[] = {
		{ 0, 0 }, { 0, STORE_PAGE_MAX + 1 }, { 0, (size_t)-1 }, { -1, 10 },
		{ INT64_MIN, 10 },
	};
	struct store *s = open_new();
	struct store_page pg;
	struct page_seen p;
	struct store_request *r;
	struct lerr e;
	size_t i;

	r = upsert(s, 1, "dev", "none", 100, 999999, NULL);
	store_request_free(r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pg.after = bad[i].after;
		pg.limit = bad[i].limit;
		pg.next = 77;
		lerr_clear(&e);
		ck_assert_int_eq(store_request_page(s, STORE_REQ_ANY, &pg, page_never_cb, NULL,
						    &e), -1);
		ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
		ck_assert_int_eq(pg.next, 0);
	}
	ck_assert_int_eq(store_request_page(s, (enum store_req_state)42, &pg, page_never_cb,
					    NULL, &e), -1);
	/* The largest page, and a position past every row (an old cursor
	 * after a restore): fine, the page is only shorter. */
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(page_one(s, PAGE_REQUESTS, STORE_REQ_ANY, 0, STORE_PAGE_MAX, &p), 0);
	ck_assert_uint_eq(p.n, 1);
	ck_assert_int_eq(page_one(s, PAGE_REQUESTS, STORE_REQ_ANY, INT64_MAX, 1, &p), 0);
	ck_assert_uint_eq(p.n, 2);
	ck_assert_int_eq(page_one(s, PAGE_REQUESTS, STORE_REQ_ANY, 1, 5, &p), 0);
	ck_assert_uint_eq(p.n, 2);			/* nothing before the first row */
	store_close(s);
}
END_TEST

/*
 * The query plan of sql on the store at dbpath, one step per line, into
 * out. Returns 1 when a step reads a whole table or index (SCAN) or sorts
 * (USE TEMP B-TREE), 0 when every step is a search.
 */
static int
plan_scans(const char *sql, char *out, size_t size)
{
	char text[2048];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const char *d;
	size_t used = 0;
	int bad = 0, n;

	out[0] = '\0';
	n = snprintf(text, sizeof(text), "EXPLAIN QUERY PLAN %s", sql);
	ck_assert(n > 0 && (size_t)n < sizeof(text));
	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, text, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		d = (const char *)sqlite3_column_text(st, 3);
		ck_assert_ptr_nonnull(d);
		if (strncmp(d, "SCAN", 4) == 0 || strstr(d, "TEMP B-TREE") != NULL)
			bad = 1;
		n = snprintf(out + used, size - used, "%s; ", d);
		if (n > 0 && (size_t)n < size - used)
			used += (size_t)n;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return bad;
}

/* Every listing, and what a listing or the status runs before it, is one
 * search of the table or an index: none reads a whole table or sorts,
 * so none slows down as the store grows. */
START_TEST(test_page_plans)
{
	static const enum store_q lists[] = {
		Q_REQ_PAGE, Q_REQ_PAGE_STATE, Q_CERT_PAGE, Q_AUDIT_PAGE, Q_REQ_EXPIRE_DUE,
		Q_REQ_EXPIRE, Q_REQ_COUNT_PENDING, Q_AUDIT_PAGE_EVENT, Q_AUDIT_PAGE_SUBJECT,
		Q_AUDIT_PAGE_BOTH, Q_CERT_FIND_KEY, Q_CERT_EXPIRING, Q_CERT_ISSUED_SINCE,
		Q_CERT_UNEXPIRED, Q_CERT_REVOKED_UNEXPIRED,
	};
	char plan[1024];
	size_t i;
	int q;

	store_close(open_new());
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		ck_assert_ptr_nonnull(store_sql_text(lists[i]));
		ck_assert_msg(plan_scans(store_sql_text(lists[i]), plan, sizeof(plan)) == 0,
			      "query %d: %s: %s", (int)lists[i], store_sql_text(lists[i]), plan);
	}
	/* Counting the revoked reads a partial index whole: the revoked rows
	 * and nothing else. */
	plan_scans(store_sql_text(Q_CERT_REVOKED_COUNT), plan, sizeof(plan));
	ck_assert_msg(strncmp(plan, "SCAN certificates USING ", 24) == 0 &&
		      strstr(plan, "INDEX certificates_revoked_") != NULL &&
		      strchr(plan, ';') == strrchr(plan, ';'), "%s", plan);
	/* The inventory's pages without a search (12): one range each. */
	for (q = Q_CERT_FIND; q < Q_CERT_FIND + 12; q++)
		ck_assert_msg(plan_scans(store_sql_text((enum store_q)q), plan, sizeof(plan)) == 0,
			      "query %d: %s: %s", q, store_sql_text((enum store_q)q), plan);
	/* The revoked ones come from the partial indexes, not the table. */
	for (q = Q_CERT_FIND + 6; q < Q_CERT_FIND + 12; q++) {
		plan_scans(store_sql_text((enum store_q)q), plan, sizeof(plan));
		ck_assert_msg(strstr(plan, "certificates_revoked_") != NULL, "query %d: %s", q, plan);
	}
	/* A search (6): each of its matches is one range of an index (no
	 * step reads a whole table or index); only the matches are sorted. */
	for (q = Q_CERT_FIND + 12; q <= Q_CERT_FIND_LAST; q++) {
		plan_scans(store_sql_text((enum store_q)q), plan, sizeof(plan));
		ck_assert_msg(strstr(plan, "SCAN") == NULL &&
			      strstr(plan, "certificates_device_id (device_id>? AND device_id<?)") != NULL &&
			      strstr(plan, "cert_names_name (name>? AND name<?)") != NULL &&
			      strstr(plan, "(serial>? AND serial<?)") != NULL,
			      "query %d: %s", q, plan);
	}
	/* The shell's inventory: a device's rows from its range of the
	 * device index, the expiring and the expired from not_after's,
	 * the valid ones from the table newest first; none sorts. */
	for (q = Q_CERT_RANGE_DEVICE; q <= Q_CERT_RANGE_EXPIRES_DESC; q++) {
		ck_assert_msg(plan_scans(store_sql_text((enum store_q)q), plan, sizeof(plan)) == 0,
			      "query %d: %s: %s", q, store_sql_text((enum store_q)q), plan);
		ck_assert_msg(strstr(plan, q == Q_CERT_RANGE_DEVICE ?
				     "certificates_device_id (device_id=? AND rowid<?)" :
				     q == Q_CERT_RANGE_ISSUED ? "INTEGER PRIMARY KEY (rowid<?)" :
				     "certificates_not_after (not_after") != NULL,
			      "query %d: %s", q, plan);
	}
	/* The check catches what it is for: the listing before pages. */
	ck_assert_int_eq(plan_scans("SELECT id FROM requests WHERE ?1 IS NULL OR state = ?1 "
				    "ORDER BY created_at DESC, rowid DESC LIMIT ?2",
				    plan, sizeof(plan)), 1);
	ck_assert_int_eq(plan_scans("SELECT id FROM audit ORDER BY at DESC LIMIT 5",
				    plan, sizeof(plan)), 1);
}
END_TEST

/* ---- the inventory (schema/0006) ---- */

/* store_cert_find's visitor: the device ids in order, into a string. */
struct find_seen {
	char devs[512];
	size_t n;
};

static int
find_cb(const struct store_cert *c, void *arg)
{
	struct find_seen *f = arg;
	size_t used = strlen(f->devs);

	snprintf(f->devs + used, sizeof(f->devs) - used, "%s%s", used ? " " : "", c->device_id);
	f->n++;
	return 0;
}

/* Every page of a search of size limit, walked to the end: the device
 * ids in the order seen; returns the number of pages. */
static int
find_all(struct store *s, const char *q, int status, enum store_cert_sort sort, int asc,
	 size_t limit, struct find_seen *f)
{
	struct store_cert_filter flt = { q, status, sort, asc };
	struct store_page pg = { 0, limit, 0 };
	struct lerr e;
	int pages = 0;

	memset(f, 0, sizeof(*f));
	do {
		pg.after = pg.next;
		ck_assert_msg(store_cert_find(s, &flt, &pg, find_cb, f, &e) == 0, "%s", e.msg);
		pages++;
		ck_assert_int_lt(pages, 50);
	} while (pg.next != 0);
	return pages;
}

/* Certificates searched, filtered and sorted, a page at a time: every
 * order holds each certificate once, ties broken by issuance, the
 * revoked ones alone, and a search by device id, name or serial. */
START_TEST(test_cert_find)
{
	static char n_a[] = "DNS:alpha.local", n_b[] = "DNS:Bravo.local,IP:10.0.0.7";
	static char n_c[] = "DNS:charlie.local", n_d[] = "DNS:delta.local";
	unsigned char sa[STORE_SERIAL_LEN], sb[STORE_SERIAL_LEN], sc[STORE_SERIAL_LEN];
	unsigned char sd[STORE_SERIAL_LEN];
	char hex[2 * STORE_SERIAL_LEN + 1], upper[16];
	struct store *s = open_new();
	int64_t ca = add_ca(s, "issuing", "aa");
	struct find_seen f;
	struct lerr e;
	size_t i;

	/* Issued c, a, d, b; expiring b, then a and d (a tie), then c. */
	ck_assert_int_eq(issue(s, ca, "charlie", 1, n_c, 5000, NULL, NULL, sc, &e), 0);
	ck_assert_int_eq(issue(s, ca, "alpha", 2, n_a, 3000, NULL, NULL, sa, &e), 0);
	ck_assert_int_eq(issue(s, ca, "delta", 3, n_d, 3000, NULL, NULL, sd, &e), 0);
	ck_assert_int_eq(issue(s, ca, "bravo", 4, n_b, 2000, NULL, NULL, sb, &e), 0);

	for (i = 1; i <= 5; i++) {
		ck_assert_int_eq(find_all(s, NULL, -1, STORE_SORT_ISSUED, 0, i, &f), (int)((4 + i - 1) / i));
		ck_assert_str_eq(f.devs, "bravo delta alpha charlie");
		find_all(s, NULL, -1, STORE_SORT_ISSUED, 1, i, &f);
		ck_assert_str_eq(f.devs, "charlie alpha delta bravo");
		find_all(s, NULL, -1, STORE_SORT_EXPIRES, 0, i, &f);
		ck_assert_str_eq(f.devs, "charlie delta alpha bravo");
		find_all(s, NULL, -1, STORE_SORT_EXPIRES, 1, i, &f);
		ck_assert_str_eq(f.devs, "bravo alpha delta charlie");
		find_all(s, NULL, -1, STORE_SORT_DEVICE, 0, i, &f);
		ck_assert_str_eq(f.devs, "delta charlie bravo alpha");
		find_all(s, NULL, -1, STORE_SORT_DEVICE, 1, i, &f);
		ck_assert_str_eq(f.devs, "alpha bravo charlie delta");
	}

	/* Searches: a device id prefix, a name (any case, DNS or IP), a
	 * serial prefix (any case, odd or even length). */
	find_all(s, "del", -1, STORE_SORT_DEVICE, 1, 10, &f);
	ck_assert_str_eq(f.devs, "delta");
	find_all(s, "BRAVO.LO", -1, STORE_SORT_DEVICE, 1, 10, &f);
	ck_assert_str_eq(f.devs, "bravo");
	find_all(s, "10.0.0", -1, STORE_SORT_DEVICE, 1, 10, &f);
	ck_assert_str_eq(f.devs, "bravo");
	find_all(s, "local", -1, STORE_SORT_DEVICE, 1, 10, &f);
	ck_assert_str_eq(f.devs, "");
	find_all(s, "zz", -1, STORE_SORT_DEVICE, 1, 10, &f);
	ck_assert_str_eq(f.devs, "");
	store_hex(sa, sizeof(sa), hex, sizeof(hex));
	for (i = 0; i < 11; i++)
		upper[i] = (char)(hex[i] >= 'a' ? hex[i] - 'a' + 'A' : hex[i]);
	upper[11] = '\0';
	find_all(s, upper, -1, STORE_SORT_DEVICE, 1, 10, &f);
	ck_assert_msg(strstr(f.devs, "alpha") != NULL, "%s by %s", f.devs, upper);
	find_all(s, hex, -1, STORE_SORT_DEVICE, 1, 10, &f);
	ck_assert_str_eq(f.devs, "alpha");
	hex[33] = '\0';
	find_all(s, hex, -1, STORE_SORT_ISSUED, 0, 1, &f);
	ck_assert_str_eq(f.devs, "alpha");
	/* A search a page at a time, in every order. */
	find_all(s, "a", -1, STORE_SORT_EXPIRES, 0, 1, &f);
	ck_assert_str_eq(f.devs, "alpha");
	ck_assert_int_eq(issue(s, ca, "alpha2", 5, n_a, 9000, NULL, NULL, sa, &e), 0);
	find_all(s, "al", -1, STORE_SORT_EXPIRES, 0, 1, &f);
	ck_assert_str_eq(f.devs, "alpha2 alpha");
	find_all(s, "al", -1, STORE_SORT_DEVICE, 1, 1, &f);
	ck_assert_str_eq(f.devs, "alpha alpha2");

	/* Revoked ones alone, and the valid ones. */
	ck_assert_int_eq(revoke_cert(s, sd, sizeof(sd), CRL_REASON_CESSATION_OF_OPERATION, "t", &e), 0);
	ck_assert_int_eq(revoke_cert(s, sb, sizeof(sb), CRL_REASON_UNSPECIFIED, "t", &e), 0);
	for (i = 1; i <= 3; i++) {
		find_all(s, NULL, STORE_CERT_REVOKED, STORE_SORT_ISSUED, 0, i, &f);
		ck_assert_str_eq(f.devs, "bravo delta");
		find_all(s, NULL, STORE_CERT_REVOKED, STORE_SORT_EXPIRES, 1, i, &f);
		ck_assert_str_eq(f.devs, "bravo delta");
		find_all(s, NULL, STORE_CERT_REVOKED, STORE_SORT_DEVICE, 0, i, &f);
		ck_assert_str_eq(f.devs, "delta bravo");
		find_all(s, NULL, STORE_CERT_VALID, STORE_SORT_DEVICE, 1, i, &f);
		ck_assert_str_eq(f.devs, "alpha alpha2 charlie");
	}
	find_all(s, "d", STORE_CERT_REVOKED, STORE_SORT_DEVICE, 1, 10, &f);
	ck_assert_str_eq(f.devs, "delta");
	find_all(s, "d", STORE_CERT_VALID, STORE_SORT_DEVICE, 1, 10, &f);
	ck_assert_str_eq(f.devs, "");
	store_close(s);
}
END_TEST

/* Every page of size limit of the shell's range r, walked to the end. */
static void
range_all(struct store *s, const char *device, int status, int64_t from, int64_t until,
	  enum store_range_order order, size_t limit, struct find_seen *f)
{
	struct store_cert_range r = { device, status, from, until, order };
	struct store_page pg = { 0, limit, 0 };
	struct lerr e;
	int pages = 0;

	memset(f, 0, sizeof(*f));
	do {
		pg.after = pg.next;
		ck_assert_msg(store_cert_range(s, &r, &pg, find_cb, f, &e) == 0, "%s", e.msg);
		ck_assert_int_lt(++pages, 50);
	} while (pg.next != 0);
}

/* The shell's inventory: valid ones newest first, those expiring soon
 * soonest first, the expired latest first, a device's own; ties on
 * not_after broken by issuance, a page at a time of every size. */
START_TEST(test_cert_range)
{
	static char n_a[] = "DNS:a.local";
	unsigned char sx[STORE_SERIAL_LEN], se[STORE_SERIAL_LEN];
	struct store *s = open_new();
	int64_t ca = add_ca(s, "issuing", "aa");
	int64_t now = 1900000000;
	struct store_cert_range bad = { "a", -1, 0, 10, STORE_RANGE_EXPIRES_ASC };
	struct store_page pg = { 0, 10, 0 };
	struct find_seen f;
	struct lerr e;
	size_t i;

	/* Issued in this order (ids 1..8). */
	ck_assert_int_eq(issue(s, ca, "a", 1, n_a, now + 10, NULL, NULL, sx, &e), 0);
	ck_assert_int_eq(issue(s, ca, "b", 2, n_a, now + 100, NULL, NULL, sx, &e), 0);
	ck_assert_int_eq(issue(s, ca, "a2", 3, n_a, now + 5000, NULL, NULL, sx, &e), 0);
	ck_assert_int_eq(issue(s, ca, "c", 4, n_a, now - 10, NULL, NULL, sx, &e), 0);
	ck_assert_int_eq(issue(s, ca, "d", 5, n_a, now - 100, NULL, NULL, sx, &e), 0);
	ck_assert_int_eq(issue(s, ca, "e", 6, n_a, now + 50, NULL, NULL, se, &e), 0);
	ck_assert_int_eq(issue(s, ca, "f", 7, n_a, now + 100, NULL, NULL, sx, &e), 0);
	ck_assert_int_eq(issue(s, ca, "g", 8, n_a, now - 10, NULL, NULL, sx, &e), 0);
	ck_assert_int_eq(issue(s, ca, "a", 9, n_a, now, NULL, NULL, sx, &e), 0);
	ck_assert_int_eq(revoke_cert(s, se, sizeof(se), CRL_REASON_UNSPECIFIED, "t", &e), 0);

	for (i = 1; i <= 5; i++) {
		/* Valid now (not_after after now), newest first. */
		range_all(s, NULL, STORE_CERT_VALID, now + 1, INT64_MAX, STORE_RANGE_ISSUED, i, &f);
		ck_assert_str_eq(f.devs, "f a2 b a");
		/* Expiring within 100 s: soonest first, b before f (a tie). */
		range_all(s, NULL, STORE_CERT_VALID, now + 1, now + 101, STORE_RANGE_EXPIRES_ASC, i,
			  &f);
		ck_assert_str_eq(f.devs, "a b f");
		range_all(s, NULL, STORE_CERT_VALID, now + 1, now + 100, STORE_RANGE_EXPIRES_ASC, i,
			  &f);
		ck_assert_str_eq(f.devs, "a");
		/* Expired (not_after now or before): latest first, g before c
		 * (a tie, g issued later); e is revoked, not expired. */
		range_all(s, NULL, STORE_CERT_VALID, INT64_MIN, now + 1, STORE_RANGE_EXPIRES_DESC,
			  i, &f);
		ck_assert_str_eq(f.devs, "a g c d");
		/* Every status by expiry: e is in. */
		range_all(s, NULL, -1, now + 1, now + 60, STORE_RANGE_EXPIRES_ASC, i, &f);
		ck_assert_str_eq(f.devs, "a e");
		/* A device's own, newest first, filtered. */
		range_all(s, "a", -1, INT64_MIN, INT64_MAX, STORE_RANGE_ISSUED, i, &f);
		ck_assert_str_eq(f.devs, "a a");
		ck_assert_uint_eq(f.n, 2);
		range_all(s, "a", STORE_CERT_VALID, now + 1, INT64_MAX, STORE_RANGE_ISSUED, i, &f);
		ck_assert_uint_eq(f.n, 1);
		range_all(s, "e", STORE_CERT_REVOKED, INT64_MIN, INT64_MAX, STORE_RANGE_ISSUED, i,
			  &f);
		ck_assert_str_eq(f.devs, "e");
		range_all(s, "e", STORE_CERT_VALID, INT64_MIN, INT64_MAX, STORE_RANGE_ISSUED, i, &f);
		ck_assert_str_eq(f.devs, "");
		range_all(s, "zz", -1, INT64_MIN, INT64_MAX, STORE_RANGE_ISSUED, i, &f);
		ck_assert_str_eq(f.devs, "");
	}
	/* A device by expiry is not a range of one index; an empty range
	 * is a caller's mistake; a cursor by expiry must name a row. */
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(store_cert_range(s, &bad, &pg, find_cb, &f, &e), -1);
	bad.device = NULL;
	bad.from = 10;
	ck_assert_int_eq(store_cert_range(s, &bad, &pg, find_cb, &f, &e), -1);
	bad.from = 0;
	pg.after = 999;
	ck_assert_int_eq(store_cert_range(s, &bad, &pg, find_cb, &f, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_uint_eq(f.n, 0);
	store_close(s);
}
END_TEST

/* A cursor naming no certificate, and a search too long, are refused. */
START_TEST(test_cert_find_bounds)
{
	static char n_a[] = "DNS:alpha.local";
	unsigned char sa[STORE_SERIAL_LEN];
	char q[STORE_SEARCH_MAX + 2];
	struct store *s = open_new();
	int64_t ca = add_ca(s, "issuing", "aa");
	struct store_cert_filter flt = { NULL, -1, STORE_SORT_EXPIRES, 0 };
	struct store_page pg = { 999, 10, 0 };
	struct find_seen f;
	struct lerr e;

	ck_assert_int_eq(issue(s, ca, "alpha", 2, n_a, 3000, NULL, NULL, sa, &e), 0);
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(store_cert_find(s, &flt, &pg, find_cb, &f, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	memset(q, 'a', sizeof(q) - 1);
	q[sizeof(q) - 1] = '\0';
	flt.q = q;
	pg.after = 0;
	ck_assert_int_eq(store_cert_find(s, &flt, &pg, find_cb, &f, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	q[STORE_SEARCH_MAX] = '\0';
	ck_assert_int_eq(store_cert_find(s, &flt, &pg, find_cb, &f, &e), 0);
	ck_assert_uint_eq(f.n, 0);
	store_close(s);
}
END_TEST

/* The overview's counts: expiries per span (revoked ones left out),
 * issuances per span, the totals. */
START_TEST(test_cert_counts)
{
	static char n_a[] = "DNS:a.local";
	unsigned char sr[STORE_SERIAL_LEN], sx[STORE_SERIAL_LEN];
	struct store *s = open_new();
	int64_t ca = add_ca(s, "issuing", "aa");
	int64_t now = (int64_t)time(NULL), counts[4], valid = -1, revoked = -1, pending = -1;
	struct store_request *r;
	struct lerr e;

	ck_assert_int_eq(issue(s, ca, "a", 1, n_a, now + 10, NULL, NULL, sx, &e), 0);
	ck_assert_int_eq(issue(s, ca, "b", 2, n_a, now + 100 + 5, NULL, NULL, sx, &e), 0);
	ck_assert_int_eq(issue(s, ca, "c", 3, n_a, now + 100 + 50, NULL, NULL, sx, &e), 0);
	ck_assert_int_eq(issue(s, ca, "d", 4, n_a, now + 300, NULL, NULL, sr, &e), 0);
	ck_assert_int_eq(issue(s, ca, "e", 5, n_a, now + 400, NULL, NULL, sx, &e), 0);
	ck_assert_int_eq(issue(s, ca, "f", 6, n_a, now - 10, NULL, NULL, sx, &e), 0);
	ck_assert_int_eq(revoke_cert(s, sr, sizeof(sr), CRL_REASON_UNSPECIFIED, "t", &e), 0);
	ck_assert_int_eq(store_cert_expiring(s, now, 100, 4, counts, &e), 0);
	ck_assert_int_eq(counts[0], 1);
	ck_assert_int_eq(counts[1], 2);
	ck_assert_int_eq(counts[2], 0);		/* d is revoked */
	ck_assert_int_eq(counts[3], 0);		/* e is past the spans */
	/* All six were issued in the last span. */
	ck_assert_int_eq(store_cert_issued(s, now - 300, 100, 4, counts, &e), 0);
	ck_assert_int_eq(counts[0] + counts[1] + counts[2], 0);
	ck_assert_int_eq(counts[3], 6);
	ck_assert_int_eq(store_cert_issued(s, now + 86400 * 3, 100, 4, counts, &e), 0);
	ck_assert_int_eq(counts[0] + counts[1] + counts[2] + counts[3], 0);
	ck_assert_int_eq(store_cert_totals(s, now, &valid, &revoked, &e), 0);
	ck_assert_int_eq(valid, 4);		/* not d (revoked) nor f (expired) */
	ck_assert_int_eq(revoked, 1);
	r = upsert(s, 7, "g", "none", 100, now + 999, NULL);
	store_request_free(r);
	ck_assert_int_eq(store_request_count_pending(s, &pending, &e), 0);
	ck_assert_int_eq(pending, 1);
	store_close(s);
}
END_TEST

/* store_audit_find's visitor: "event:subject" of each row. */
static int
audit_find_cb(const struct store_audit_row *r, void *arg)
{
	struct find_seen *f = arg;
	size_t used = strlen(f->devs);

	snprintf(f->devs + used, sizeof(f->devs) - used, "%s%s:%s", used ? " " : "", r->event,
		 r->subject != NULL ? r->subject : "");
	f->n++;
	return 0;
}

static void
audit_all(struct store *s, const char *event, const char *subject, size_t limit,
	  struct find_seen *f)
{
	struct store_page pg = { 0, limit, 0 };
	struct lerr e;

	memset(f, 0, sizeof(*f));
	do {
		pg.after = pg.next;
		ck_assert_msg(store_audit_find(s, event, subject, &pg, audit_find_cb, f, &e) == 0,
			      "%s", e.msg);
	} while (pg.next != 0);
}

/* The audit log by event, by subject and by both, newest first. */
START_TEST(test_audit_find)
{
	struct store *s = open_new();
	struct find_seen f;
	struct lerr e;

	ck_assert_int_eq(store_audit(s, "t", "enroll", "a", NULL, &e), 0);
	ck_assert_int_eq(store_audit(s, "t", "issue", "a", NULL, &e), 0);
	ck_assert_int_eq(store_audit(s, "t", "enroll", "b", NULL, &e), 0);
	ck_assert_int_eq(store_audit(s, "t", "revoke", "a", NULL, &e), 0);
	ck_assert_int_eq(store_audit(s, "t", "issue", "b", NULL, &e), 0);
	audit_all(s, "issue", NULL, 1, &f);
	ck_assert_str_eq(f.devs, "issue:b issue:a");
	audit_all(s, NULL, "a", 2, &f);
	ck_assert_str_eq(f.devs, "revoke:a issue:a enroll:a");
	audit_all(s, "enroll", "b", 1, &f);
	ck_assert_str_eq(f.devs, "enroll:b");
	audit_all(s, "deny", NULL, 5, &f);
	ck_assert_str_eq(f.devs, "");
	store_close(s);
}
END_TEST

/* A request keeps the door it came through; asking again through the
 * other door while pending moves it. */
START_TEST(test_request_door)
{
	struct store *s = open_new();
	struct store_request in, *out = NULL;
	struct lerr e;
	int created;

	make_req(&in, 9, "door", "none", 100, 999999);
	in.door = STORE_DOOR_EST;
	ck_assert_int_eq(store_request_upsert(s, &in, &out, &created, &e), 0);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(out->door, STORE_DOOR_EST);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM requests WHERE door = 'est'"), 1);
	store_request_free(out);
	in.door = STORE_DOOR_API;
	in.created_at = 200;
	ck_assert_int_eq(store_request_upsert(s, &in, &out, &created, &e), 0);
	ck_assert_int_eq(created, 0);
	ck_assert_int_eq(out->door, STORE_DOOR_API);
	store_request_free(out);
	ck_assert_str_eq(store_door_str(STORE_DOOR_EST), "est");
	store_close(s);
}
END_TEST

START_TEST(test_name_key_owner)
{
	static char names_a[] = "DNS:a.local,DNS:b.local,IP:10.0.0.7";
	unsigned char serial[STORE_SERIAL_LEN], key[32];
	struct store *s = open_new();
	struct store_cert *c = NULL;
	char owner[65];
	struct lerr e;
	int64_t ca_id;

	ca_id = add_ca(s, "issuing", "aa");
	ck_assert_int_eq(issue(s, ca_id, "dev-a", 0x0a, names_a, 5000, NULL, NULL, serial, &e), 0);
	memset(key, 0x0a, sizeof(key));

	ck_assert_int_eq(store_name_owner(s, "DNS:a.local", "dev-b", 4000, owner, &e), 1);
	ck_assert_str_eq(owner, "dev-a");
	ck_assert_int_eq(store_name_owner(s, "DNS:b.local", "dev-b", 4000, owner, &e), 1);
	ck_assert_int_eq(store_name_owner(s, "IP:10.0.0.7", "dev-b", 4000, owner, &e), 1);
	ck_assert_str_eq(owner, "dev-a");
	ck_assert_int_eq(store_name_owner(s, "DNS:A.Local", "dev-b", 4000, owner, &e), 1);
	/* Not for its own holder, not for other names, not once expired. */
	ck_assert_int_eq(store_name_owner(s, "DNS:a.local", "dev-a", 4000, owner, &e), 0);
	ck_assert_int_eq(store_name_owner(s, "DNS:c.local", "dev-b", 4000, owner, &e), 0);
	ck_assert_int_eq(store_name_owner(s, "IP:10.0.0.70", "dev-b", 4000, owner, &e), 0);
	ck_assert_int_eq(store_name_owner(s, "DNS:a", "dev-b", 4000, owner, &e), 0);
	ck_assert_int_eq(store_name_owner(s, "DNS:a.local", "dev-b", 5000, owner, &e), 0);
	ck_assert_int_eq(store_key_owner(s, key, "dev-b", 4000, owner, &e), 1);
	ck_assert_str_eq(owner, "dev-a");
	ck_assert_int_eq(store_key_owner(s, key, "dev-a", 4000, owner, &e), 0);
	ck_assert_int_eq(store_key_owner(s, key, "dev-b", 5000, owner, &e), 0);

	/* Revoked: nobody holds them any more. */
	ck_assert_int_eq(revoke_cert(s, serial, sizeof(serial), CRL_REASON_SUPERSEDED, "admin", &e), 0);
	ck_assert_int_eq(store_name_owner(s, "DNS:a.local", "dev-b", 4000, owner, &e), 0);
	ck_assert_int_eq(store_name_owner(s, "IP:10.0.0.7", "dev-b", 4000, owner, &e), 0);
	ck_assert_int_eq(store_key_owner(s, key, "dev-b", 4000, owner, &e), 0);
	ck_assert_int_eq(store_cert_by_key(s, key, &c, &e), 0);
	ck_assert_int_eq(c->status, STORE_CERT_REVOKED);
	ck_assert_int_gt(c->revoked_at, 0);
	store_cert_free(c);
	lerr_clear(&e);
	ck_assert_int_eq(revoke_cert(s, serial, sizeof(serial), CRL_REASON_UNSPECIFIED, "admin", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	serial[3] ^= 0xff;
	ck_assert_int_eq(revoke_cert(s, serial, sizeof(serial), CRL_REASON_UNSPECIFIED, "admin", &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);

	/* A newer certificate for b.local by dev-c: dev-c owns it now. */
	ck_assert_int_eq(issue(s, ca_id, "dev-c", 0x0c, names_a, 9000, NULL, NULL, serial, &e), 0);
	ck_assert_int_eq(store_name_owner(s, "DNS:b.local", "dev-a", 4000, owner, &e), 1);
	ck_assert_str_eq(owner, "dev-c");
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM cert_names"), 6);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'revoke' "
				 "AND subject = 'dev-a' AND actor = 'admin' "
				 "AND json_extract(detail, '$.reason') = 'superseded'"), 1);
}
END_TEST

/* A database at version 1 with a certificate gets its names on upgrade. */
START_TEST(test_upgrade_fills_names)
{
	char err[256], owner[65];
	struct store *s = NULL;
	struct store_conn *db = NULL;
	struct lerr e;
	int version = 0;

	db = conn_open();
	ck_assert_int_eq(store_migrate(db, store_migrations, 1, NULL, &version, &e), 0);
	ck_assert_int_eq(version, 1);
	conn_close(db);
	ck_assert_int_eq(raw_exec("INSERT INTO cas (role, fingerprint, der, created_at) "
				  "VALUES ('issuing', 'f', x'30', 1);"
				  "INSERT INTO serials VALUES (x'01', 1, 1);"
				  "INSERT INTO requests (id, key_id, device_id, csr, state, "
				  "created_at, updated_at, expires_at) VALUES "
				  "('r1', x'01', 'old', x'30', 'pending', 5, 7, 9);"
				  "INSERT INTO certificates (serial, ca_id, device_id, subject, "
				  "sans, profile, not_before, not_after, issued_at, key_id, der) "
				  "VALUES (x'01', 1, 'old', 'CN=old', 'DNS:old.local,IP:10.1.1.1', "
				  "'device', 1, 5000, 1, x'01', x'30')", err, sizeof(err)),
			 SQLITE_OK);
	ck_assert_msg(store_open(dbpath, 0, &s, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(store_schema_version(s, &version), 0);
	ck_assert_int_eq(version, newest_version());
	ck_assert_int_eq(store_name_owner(s, "DNS:old.local", "new", 100, owner, &e), 1);
	ck_assert_str_eq(owner, "old");
	ck_assert_int_eq(store_name_owner(s, "IP:10.1.1.1", "new", 100, owner, &e), 1);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM cert_names"), 2);
	/* last_seen starts as the last change. */
	ck_assert_int_eq(raw_int("SELECT last_seen FROM requests WHERE id = 'r1'"), 7);
}
END_TEST

/* A database from before 0010: a certificate issued from a request gets
 * the address that request came from; one without a request, none. */
START_TEST(test_upgrade_fills_address)
{
	char err[256];
	struct store *s = NULL;
	struct store_conn *db = NULL;
	struct lerr e;
	size_t n;
	int version = 0;

	for (n = 0; n < store_migrations_count && store_migrations[n].version < 10; n++)
		;
	db = conn_open();
	ck_assert_int_eq(store_migrate(db, store_migrations, n, NULL, &version, &e), 0);
	ck_assert_int_lt(version, 10);
	conn_close(db);
	ck_assert_int_eq(raw_exec("INSERT INTO cas (role, fingerprint, der, created_at) "
				  "VALUES ('issuing', 'f', x'30', 1);"
				  "INSERT INTO serials VALUES (x'01', 1, 1);"
				  "INSERT INTO serials VALUES (x'02', 1, 1);"
				  "INSERT INTO requests (id, key_id, device_id, csr, state, source, "
				  "created_at, updated_at, expires_at, last_seen) VALUES "
				  "('r1', x'01', 'nas', x'30', 'issued', '192.0.2.7', 5, 7, 9, 7);"
				  "INSERT INTO certificates (serial, ca_id, device_id, subject, "
				  "sans, profile, not_before, not_after, issued_at, key_id, der, "
				  "request_id) VALUES (x'01', 1, 'nas', 'CN=nas', "
				  "'DNS:nas.home.arpa', 'device', 1, 5000, 1, x'01', x'30', 'r1'), "
				  "(x'02', 1, 'cli', 'CN=cli', 'DNS:cli.home.arpa', 'device', 1, "
				  "5000, 1, x'02', x'30', NULL)", err, sizeof(err)),
			 SQLITE_OK);
	ck_assert_msg(store_open(dbpath, 0, &s, &e) == 0, "%s", e.msg);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates WHERE device_id = 'nas' "
				 "AND address = '192.0.2.7'"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates WHERE device_id = 'cli' "
				 "AND address IS NULL"), 1);
}
END_TEST

/* ---- pre-authorised devices ---- */

static void
make_preauth(struct store_preauth *p, const char *id, char *hash)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->device_id, sizeof(p->device_id), "%s", id);
	snprintf(p->name, sizeof(p->name), "name of %s", id);
	snprintf(p->auth_type, sizeof(p->auth_type), "CERTIFICATES");
	p->secret_hash = hash;
}

START_TEST(test_preauth)
{
	static char hash[] = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
	unsigned char serial[STORE_SERIAL_LEN];
	struct store_preauth rows[3], *got = NULL;
	struct store *s = open_new();
	struct store_cert *c = NULL;
	struct lerr e;
	int64_t ca_id, n = -1;

	ca_id = add_ca(s, "issuing", "aa");
	make_preauth(&rows[0], "p1", hash);
	make_preauth(&rows[1], "p2", NULL);
	make_preauth(&rows[2], "p3", NULL);
	ck_assert_int_eq(store_preauth_import(s, rows, 3, "admin", &e), 0);
	ck_assert_int_eq(store_preauth_get(s, "p1", &got, &e), 0);
	ck_assert_str_eq(got->device_id, "p1");
	ck_assert_str_eq(got->name, "name of p1");
	ck_assert_str_eq(got->auth_type, "CERTIFICATES");
	ck_assert_str_eq(got->secret_hash, hash);
	ck_assert_int_gt(got->created_at, 0);
	ck_assert_int_eq(got->used_at, 0);
	store_preauth_free(got);
	ck_assert_int_eq(store_preauth_get(s, "p2", &got, &e), 0);
	ck_assert_ptr_null(got->secret_hash);
	store_preauth_free(got);
	got = NULL;
	store_preauth_free(NULL);
	ck_assert_int_eq(store_preauth_get(s, "p9", &got, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);

	/* A device already listed: conflict naming it, nothing written. */
	make_preauth(&rows[0], "p4", NULL);
	make_preauth(&rows[1], "p2", NULL);
	lerr_clear(&e);
	ck_assert_int_eq(store_preauth_import(s, rows, 2, "admin", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_msg(strstr(e.msg, "p2") != NULL, "%s", e.msg);
	ck_assert_int_eq(store_preauth_get(s, "p4", &got, &e), -1);
	/* Listed twice in one import: the same. */
	make_preauth(&rows[0], "p5", NULL);
	make_preauth(&rows[1], "p6", NULL);
	make_preauth(&rows[2], "p5", NULL);
	ck_assert_int_eq(store_preauth_import(s, rows, 3, "admin", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_msg(strstr(e.msg, "p5") != NULL, "%s", e.msg);
	ck_assert_int_eq(store_preauth_get(s, "p6", &got, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	/* An empty device id is refused before any SQL. */
	make_preauth(&rows[0], "", NULL);
	ck_assert_int_eq(store_preauth_import(s, rows, 1, "admin", &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);

	/* Consumed by the certificate issued on its strength, once. */
	ck_assert_msg(issue(s, ca_id, "p1", 1, sans, 99999, NULL, "p1", serial, &e) == 0,
		      "%s", e.msg);
	ck_assert_int_eq(store_preauth_get(s, "p1", &got, &e), 0);
	ck_assert_int_gt(got->used_at, 0);
	store_preauth_free(got);
	got = NULL;
	ck_assert_int_eq(store_cert_by_serial(s, serial, sizeof(serial), &c, &e), 0);
	ck_assert_str_eq(c->preauth_id, "p1");
	store_cert_free(c);
	ck_assert_int_eq(issue(s, ca_id, "p1", 1, sans, 99999, NULL, "p1", serial, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_msg(strstr(e.msg, "used already") != NULL, "%s", e.msg);
	ck_assert_int_eq(issue(s, ca_id, "p9", 1, sans, 99999, NULL, "p9", serial, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(store_cert_count(s, &n, &e), 0);
	ck_assert_int_eq(n, 1);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM preauth"), 3);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM preauth WHERE used_at IS NOT NULL"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'preauth-import' "
				 "AND json_extract(detail, '$.count') = 3"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'preauth-import'"), 1);
}
END_TEST

/* ---- vendors ---- */

struct vendor_seen {
	int n;
	int64_t ids[4];
	char fp[4][65];
	int auto_register[4];
	size_t der_len[4];
};

static int
vendor_cb(const struct store_vendor *v, void *arg)
{
	struct vendor_seen *seen = arg;

	if (seen->n < 4) {
		seen->ids[seen->n] = v->id;
		snprintf(seen->fp[seen->n], sizeof(seen->fp[0]), "%s", v->fingerprint);
		seen->auto_register[seen->n] = v->auto_register;
		seen->der_len[seen->n] = v->der_len;
	}
	seen->n++;
	return 0;
}

START_TEST(test_vendors)
{
	static const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	struct vendor_seen seen;
	struct store *s = open_new();
	struct lerr e;

	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(store_vendor_each(s, vendor_cb, &seen, &e), 0);
	ck_assert_int_eq(seen.n, 0);
	ck_assert_int_eq(store_vendor_add(s, "CN=Acme", "f1", 1, der, sizeof(der), "admin", &e), 0);
	ck_assert_int_eq(store_vendor_add(s, "CN=Other", "f2", 0, der, 3, "admin", &e), 0);
	lerr_clear(&e);
	ck_assert_int_eq(store_vendor_add(s, "CN=Again", "f1", 0, der, 3, "admin", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(store_vendor_add(s, "CN=x", "f3", 0, NULL, 0, "admin", &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(store_vendor_each(s, vendor_cb, &seen, &e), 0);
	ck_assert_int_eq(seen.n, 2);
	ck_assert_str_eq(seen.fp[0], "f1");
	ck_assert_int_eq(seen.auto_register[0], 1);
	ck_assert_uint_eq(seen.der_len[0], sizeof(der));
	ck_assert_str_eq(seen.fp[1], "f2");
	ck_assert_int_eq(seen.auto_register[1], 0);
	ck_assert_uint_eq(seen.der_len[1], 3);
	ck_assert_int_lt(seen.ids[0], seen.ids[1]);
	store_vendor_free(NULL);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM vendors"), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'vendor-add'"), 2);
}
END_TEST

/* ---- administrators and sessions ---- */

/* A session record for token tok of the tests below. */
static struct store_session_new
ses_rec(const unsigned char *tok, const char *csrf, int64_t now, int64_t end, int64_t idle_end)
{
	struct store_session_new r;

	memset(&r, 0, sizeof(r));
	r.token_hash = tok;
	r.csrf = csrf;
	r.now = now;
	r.expires_at = end;
	r.idle_expires_at = idle_end;
	return r;
}

START_TEST(test_admin_sessions)
{
	unsigned char tok[32], tok2[32], old[32];
	struct store_session_new rec;
	struct store_session got;
	char err[256];
	struct store *s = open_new();
	char *hash = NULL;
	struct lerr e;
	int any = -1;
	int64_t now = (int64_t)time(NULL);

	ck_assert_int_eq(store_admin_hash(s, "root", &hash, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_ptr_null(hash);
	ck_assert_int_eq(store_admin_any(s, &any, &e), 0);
	ck_assert_int_eq(any, 0);
	ck_assert_int_eq(store_admin_set(s, "root", "$argon2id$one", NULL, "init", &e), 0);
	ck_assert_int_eq(store_admin_any(s, &any, &e), 0);
	ck_assert_int_eq(any, 1);
	ck_assert_int_eq(store_admin_hash(s, "root", &hash, &e), 0);
	ck_assert_str_eq(hash, "$argon2id$one");
	free(hash);
	ck_assert_int_eq(store_admin_set(s, "root", "$argon2id$two", NULL, "root", &e), 0);
	ck_assert_int_eq(store_admin_hash(s, "root", &hash, &e), 0);
	ck_assert_str_eq(hash, "$argon2id$two");
	free(hash);

	memset(tok, 0x11, sizeof(tok));
	memset(tok2, 0x22, sizeof(tok2));
	memset(old, 0x33, sizeof(old));
	lerr_clear(&e);
	rec = ses_rec(tok, "c0", now, now + 100, now + 50);
	ck_assert_int_eq(store_session_add(s, "nobody", &rec, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	rec = ses_rec(old, "c-old", now - 200, now - 1, now - 1);
	ck_assert_int_eq(store_session_add(s, "root", &rec, NULL, &e), 0);
	rec = ses_rec(tok, "c1", now, now + 100, now + 50);
	ck_assert_int_eq(store_session_add(s, "root", &rec, NULL, &e), 0);
	ck_assert_int_eq(store_session_get(s, tok, now, &got, &e), 0);
	ck_assert_str_eq(got.user, "root");
	ck_assert_str_eq(got.csrf, "c1");
	ck_assert_int_eq(got.created_at, now);
	ck_assert_int_eq(got.expires_at, now + 100);
	ck_assert_int_eq(got.idle_expires_at, now + 50);
	/* Ended (idle, then absolute), unknown: the same answer. */
	ck_assert_int_eq(store_session_get(s, tok, now + 50, &got, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_str_eq(got.user, "");
	ck_assert_str_eq(got.csrf, "");
	ck_assert_int_eq(store_session_get(s, old, now - 10, &got, &e), -1);
	ck_assert_int_eq(store_session_get(s, tok2, now, &got, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	/* The same token twice is refused. */
	rec = ses_rec(tok, "c2", now, now + 100, now + 50);
	ck_assert_int_eq(store_session_add(s, "root", &rec, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(store_session_delete(s, tok, 0, NULL, NULL, &e), 0);
	ck_assert_int_eq(store_session_get(s, tok, now, &got, &e), -1);
	ck_assert_int_eq(store_session_delete(s, tok, 0, NULL, NULL, &e), 0);
	store_close(s);
	/* The ended session was dropped when a later one was added; only
	 * hashes are stored. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sessions"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM admins"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'admin-set' "
				 "AND subject = 'root' AND detail IS NULL"), 2);
	ck_assert_int_ne(raw_exec("INSERT INTO sessions VALUES (x'01', 'root', 'c', 1, 2, 2)",
				  err, sizeof(err)), SQLITE_OK);
}
END_TEST

/* Use moves the idle end on, never back and never past the absolute end;
 * the purge drops a session ended by either. */
START_TEST(test_session_idle_end)
{
	unsigned char tok[32], idle[32], other[32];
	struct store_session_new rec;
	struct store_session got;
	struct store *s = open_new();
	struct lerr e;
	int64_t now = 1000000;

	ck_assert_int_eq(store_admin_set(s, "root", "$argon2id$x", NULL, "cli", &e), 0);
	memset(tok, 0x44, sizeof(tok));
	memset(idle, 0x55, sizeof(idle));
	memset(other, 0x66, sizeof(other));
	rec = ses_rec(tok, "c", now, now + 1000, now + 100);
	ck_assert_int_eq(store_session_add(s, "root", &rec, NULL, &e), 0);
	ck_assert_int_eq(store_session_touch(s, tok, now + 300, &e), 0);
	ck_assert_int_eq(store_session_get(s, tok, now + 200, &got, &e), 0);
	ck_assert_int_eq(got.idle_expires_at, now + 300);
	/* Never back. */
	ck_assert_int_eq(store_session_touch(s, tok, now + 150, &e), 0);
	ck_assert_int_eq(store_session_get(s, tok, now + 200, &got, &e), 0);
	ck_assert_int_eq(got.idle_expires_at, now + 300);
	/* Never past the absolute end, which ends it whatever the use. */
	ck_assert_int_eq(store_session_touch(s, tok, now + 5000, &e), 0);
	ck_assert_int_eq(store_session_get(s, tok, now + 999, &got, &e), 0);
	ck_assert_int_eq(got.idle_expires_at, now + 1000);
	ck_assert_int_eq(store_session_get(s, tok, now + 1000, &got, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	/* Touching a session that is gone changes nothing and succeeds. */
	ck_assert_int_eq(store_session_touch(s, other, now + 300, &e), 0);

	/* A session past its idle end alone is purged by the next login. */
	rec = ses_rec(idle, "c", now, now + 1000, now + 10);
	ck_assert_int_eq(store_session_add(s, "root", &rec, NULL, &e), 0);
	rec = ses_rec(other, "c", now + 20, now + 1020, now + 120);
	ck_assert_int_eq(store_session_add(s, "root", &rec, NULL, &e), 0);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sessions WHERE token_hash = "
				 "x'5555555555555555555555555555555555555555555555555555555555555555'"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sessions"), 2);
}
END_TEST

/* A password change ends every session of that user (and only theirs):
 * a session opened before it must not outlive it. The session it keeps
 * is the one it makes. */
START_TEST(test_admin_set_ends_sessions)
{
	unsigned char a1[32], a2[32], b1[32], fresh[32];
	struct store_session_new rec;
	struct store_session got;
	struct store *s = open_new();
	struct lerr e;
	int64_t now = (int64_t)time(NULL);

	ck_assert_int_eq(store_admin_set(s, "alice", "$argon2id$a", NULL, "cli", &e), 0);
	ck_assert_int_eq(store_admin_set(s, "bob", "$argon2id$b", NULL, "cli", &e), 0);
	memset(a1, 0xa1, sizeof(a1));
	memset(a2, 0xa2, sizeof(a2));
	memset(b1, 0xb1, sizeof(b1));
	memset(fresh, 0xf0, sizeof(fresh));
	rec = ses_rec(a1, "ca1", now, now + 100, now + 100);
	ck_assert_int_eq(store_session_add(s, "alice", &rec, NULL, &e), 0);
	rec = ses_rec(a2, "ca2", now, now + 100, now + 100);
	ck_assert_int_eq(store_session_add(s, "alice", &rec, NULL, &e), 0);
	rec = ses_rec(b1, "cb1", now, now + 100, now + 100);
	ck_assert_int_eq(store_session_add(s, "bob", &rec, NULL, &e), 0);
	ck_assert_int_eq(store_admin_set(s, "alice", "$argon2id$a2", NULL, "cli", &e), 0);
	ck_assert_int_eq(store_session_get(s, a1, now, &got, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(store_session_get(s, a2, now, &got, &e), -1);
	ck_assert_int_eq(store_session_get(s, b1, now, &got, &e), 0);
	ck_assert_str_eq(got.user, "bob");

	/* A change made from a session: the old ones end, the new one lives. */
	rec = ses_rec(a1, "ca1", now, now + 100, now + 100);
	ck_assert_int_eq(store_session_add(s, "alice", &rec, NULL, &e), 0);
	rec = ses_rec(fresh, "cf", now, now + 100, now + 100);
	ck_assert_int_eq(store_admin_set(s, "alice", "$argon2id$a3", &rec, "admin alice", &e), 0);
	ck_assert_int_eq(store_session_get(s, a1, now, &got, &e), -1);
	ck_assert_int_eq(store_session_get(s, fresh, now, &got, &e), 0);
	ck_assert_str_eq(got.csrf, "cf");
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'admin-set' AND "
				 "subject = 'alice' AND detail = '{\"sessions_ended\":2}'"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'admin-set' AND "
				 "actor = 'admin alice' AND detail = '{\"sessions_ended\":1}'"), 1);
}
END_TEST

struct setup_race {
	struct store *s;
	unsigned char tok[32];
	char user[16];
	int rc;
	enum lerr_code code;
};

static void *
setup_race_run(void *arg)
{
	struct setup_race *r = arg;
	struct store_session_new rec = ses_rec(r->tok, "c", 100, 200, 150);
	struct lerr e;

	lerr_clear(&e);
	r->rc = store_setup_finish(r->s, "$argon2id$code", r->user, "$argon2id$pw", &rec, "test",
				   &e);
	r->code = e.code;
	return NULL;
}

/* The setup code: recorded while no admin exists, consumed with the first
 * admin's creation in one transaction, refused once an admin exists. */
START_TEST(test_setup_code)
{
	unsigned char tok[32];
	struct store_session_new rec;
	struct store_session got;
	struct setup_race race[8];
	pthread_t th[8];
	struct store *s = open_new();
	char *hash = NULL;
	struct lerr e;
	int i, won = 0;

	memset(tok, 0x77, sizeof(tok));
	rec = ses_rec(tok, "c", 100, 200, 150);
	ck_assert_int_eq(store_setup_code_hash(s, &hash, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	/* No code on record: refused, nothing created. */
	ck_assert_int_eq(store_setup_finish(s, "$argon2id$code", "first", "$argon2id$pw", &rec,
					    "test", &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_int_eq(store_setup_code_set(s, "$argon2id$old", "cli", &e), 0);
	ck_assert_int_eq(store_setup_code_set(s, "$argon2id$code", "cli", &e), 0);
	ck_assert_int_eq(store_setup_code_hash(s, &hash, &e), 0);
	ck_assert_str_eq(hash, "$argon2id$code");
	free(hash);
	/* A code replaced since it was verified is not the code. */
	ck_assert_int_eq(store_setup_finish(s, "$argon2id$old", "first", "$argon2id$pw", &rec,
					    "test", &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);

	/* Eight setups at once with the right code: one wins, seven 409. */
	for (i = 0; i < 8; i++) {
		memset(&race[i], 0, sizeof(race[i]));
		race[i].s = s;
		memset(race[i].tok, 0x80 + i, sizeof(race[i].tok));
		snprintf(race[i].user, sizeof(race[i].user), "admin%d", i);
		ck_assert_int_eq(pthread_create(&th[i], NULL, setup_race_run, &race[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		if (race[i].rc == 0) {
			won++;
			ck_assert_int_eq(store_session_get(s, race[i].tok, 120, &got, &e), 0);
			ck_assert_str_eq(got.user, race[i].user);
		} else {
			ck_assert_int_eq(race[i].code, LERR_CONFLICT);
		}
	}
	ck_assert_int_eq(won, 1);
	ck_assert_int_eq(store_setup_code_hash(s, &hash, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(store_setup_code_set(s, "$argon2id$late", "cli", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM admins"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sessions"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM setup_code"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'setup'"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'setup-code'"), 2);
}
END_TEST

/* `lanca admin passwd` making the first admin consumes the code too. */
START_TEST(test_setup_code_consumed_by_admin_set)
{
	struct store *s = open_new();
	char *hash = NULL;
	struct lerr e;

	ck_assert_int_eq(store_setup_code_set(s, "$argon2id$code", "cli", &e), 0);
	ck_assert_int_eq(store_admin_set(s, "root", "$argon2id$x", NULL, "cli", &e), 0);
	ck_assert_int_eq(store_setup_code_hash(s, &hash, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	store_close(s);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_open_creates_and_migrates);
	tcase_add_test(tc, test_reader_put_ends_transaction);
	tcase_add_test(tc, test_reopen_idempotent);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_failed_migration_rolled_back);
	tcase_add_test(tc, test_missing_refused);
	tcase_add_test(tc, test_readonly_refuses_writes);
	tcase_add_test(tc, test_serials_distinct);
	tcase_add_test(tc, test_wal_counted_and_checkpointed);
	tcase_add_test(tc, test_request_id_follows_time);
	tcase_add_test(tc, test_key_lookup_plan);
	tcase_add_test(tc, test_cert_with_new_request);
	tcase_add_test(tc, test_cert_exclusive_names);
	tcase_add_test(tc, test_duplicate_serial_drawn);
	tcase_add_test(tc, test_broken_random_source);
	tcase_add_test(tc, test_cert_roundtrip);
	tcase_add_test(tc, test_cert_same_serial_twice);
	tcase_add_test(tc, test_cert_unreserved_serial);
	tcase_add_test(tc, test_failing_job_alone);
	tcase_add_test(tc, test_concurrent_inserts);
	tcase_add_test(tc, test_audit_append_only);
	tcase_add_test(tc, test_audit_chain);
	tcase_add_test(tc, test_audit_chain_failed_jobs);
	tcase_add_test(tc, test_audit_chain_upgrade);
	tcase_add_test(tc, test_checkpoints);
	tcase_add_test(tc, test_every_insert_audited);
	tcase_add_test(tc, test_ca_list_settings);
	tcase_add_test(tc, test_rollover_records);
	tcase_add_test(tc, test_gateway_cas);
	tcase_add_test(tc, test_request_upsert);
	tcase_add_test(tc, test_request_pending_cap);
	tcase_add_test(tc, test_waiting);
	tcase_add_test(tc, test_cert_issues_request);
	tcase_add_test(tc, test_request_deny_note_contest);
	tcase_add_test(tc, test_request_expire_each);
	tcase_add_test(tc, test_pages_cover);
	tcase_add_test(tc, test_page_bounds);
	tcase_add_test(tc, test_page_plans);
	tcase_add_test(tc, test_cert_find);
	tcase_add_test(tc, test_cert_find_bounds);
	tcase_add_test(tc, test_cert_range);
	tcase_add_test(tc, test_cert_counts);
	tcase_add_test(tc, test_audit_find);
	tcase_add_test(tc, test_request_door);
	tcase_add_test(tc, test_name_key_owner);
	tcase_add_test(tc, test_upgrade_fills_names);
	tcase_add_test(tc, test_upgrade_fills_address);
	tcase_add_test(tc, test_preauth);
	tcase_add_test(tc, test_vendors);
	tcase_add_test(tc, test_admin_sessions);
	tcase_add_test(tc, test_admin_set_ends_sessions);
	tcase_add_test(tc, test_session_idle_end);
	tcase_add_test(tc, test_setup_code);
	tcase_add_test(tc, test_setup_code_consumed_by_admin_set);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
