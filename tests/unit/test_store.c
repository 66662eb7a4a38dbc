/*
 * test_store.c - unit tests for the SQLite store (store.c, db_migrate.c).
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

#include "db_migrate.h"
#include "lerr.h"
#include "store.h"

static char tmpdir[256];
static char dbpath[320];

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
	snprintf(c->profile, sizeof(c->profile), "device");
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

/* ---- open and migrations ---- */

START_TEST(test_open_creates_and_migrates)
{
	static const char *const tables[] = {
		"schema_version", "settings", "cas", "serials", "certificates",
		"requests", "audit",
	};
	struct store *s = open_new();
	struct stat sb;
	char sql[160];
	int version = 0;
	size_t i;

	ck_assert_int_eq(store_schema_version(s, &version), 0);
	ck_assert_int_eq(version, 1);
	store_close(s);

	ck_assert_int_eq(raw_int("SELECT max(version) FROM schema_version"), 1);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master "
			 "WHERE type = 'table' AND name = '%s'", tables[i]);
		ck_assert_msg(raw_int(sql) == 1, "table %s missing", tables[i]);
	}
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master "
				 "WHERE type = 'trigger' AND tbl_name = 'audit'"), 2);
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
	ck_assert_int_eq(version, 1);
	ck_assert_int_eq(store_setting_get(s, "name", &v, &e), 0);
	ck_assert_str_eq(v, "home");
	free(v);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM schema_version"), 1);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	struct store *s = open_new();
	struct lerr e;
	char err[256];

	store_close(s);
	ck_assert_int_eq(raw_exec("INSERT INTO schema_version (version, name, applied_at) "
				  "VALUES (999, 'future', 0)", err, sizeof(err)), SQLITE_OK);
	s = NULL;
	lerr_clear(&e);
	ck_assert_int_eq(store_open(dbpath, 0, &s, &e), -1);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(e.code, LERR_STORE);
	ck_assert_msg(strstr(e.msg, "database schema version 999 is newer than this lanca "
			     "(knows up to 1): upgrade lanca") != NULL, "%s", e.msg);
	/* Not even a read-only open gets past it. */
	ck_assert_int_eq(store_open(dbpath, STORE_READONLY, &s, &e), -1);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_failed_migration_rolled_back)
{
	const struct db_migration migs[] = {
		db_migrations[0],
		{ 2, "second", "CREATE TABLE t2 (a); INSERT INTO t2 VALUES (1);" },
		{ 3, "broken", "CREATE TABLE t3 (a); INSERT INTO nosuch VALUES (1);" },
	};
	struct store *s = open_new();
	sqlite3 *db = NULL;
	struct lerr e;
	int version = -1;

	store_close(s);
	ck_assert_uint_ge(db_migrations_count, 1);
	ck_assert_int_eq(db_migrations[0].version, 1);
	ck_assert_str_eq(db_migrations[0].name, "initial");
	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	lerr_clear(&e);
	ck_assert_int_eq(db_migrate(db, migs, 3, &version, &e), -1);
	ck_assert_msg(strstr(e.msg, "schema migration 0003-broken failed") != NULL &&
		      strstr(e.msg, "nosuch") != NULL, "%s", e.msg);
	ck_assert_int_eq(db_migrate_version(db, &version, &e), 0);
	ck_assert_int_eq(version, 2);		/* 2 applied, 3 left no trace */
	ck_assert(sqlite3_get_autocommit(db));
	/* Out of order lists are a programming error, caught. */
	ck_assert_int_eq(db_migrate(db, migs + 1, 1, NULL, &e), 0);
	{
		const struct db_migration bad[] = { migs[1], migs[0] };

		ck_assert_int_eq(db_migrate(db, bad, 2, NULL, &e), -1);
	}
	sqlite3_close(db);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE name = 't2'"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE name = 't3'"), 0);
	ck_assert_int_eq(raw_int("SELECT max(version) FROM schema_version"), 2);
	/* This binary only knows version 1: the database is now too new. */
	ck_assert_int_eq(store_open(dbpath, 0, &s, &e), -1);
	ck_assert_msg(strstr(e.msg, "version 2 is newer") != NULL, "%s", e.msg);
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
	ck_assert_str_eq(e.code, LERR_NOT_FOUND);
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
	struct lerr e;
	int i, j;

	for (i = 0; i < N; i++) {
		ck_assert_msg(store_serial_reserve(s, got[i], &e) == 0, "%s", e.msg);
		ck_assert_int_ge(got[i][0], 0x01);
		ck_assert_int_le(got[i][0], 0x7f);
		for (j = 0; j < i; j++)
			ck_assert(memcmp(got[i], got[j], STORE_SERIAL_LEN) != 0);
	}
	store_close(s);
	/* Durably reserved (all of them are in the file), none used yet. */
	for (i = 0; i < N; i++)
		ck_assert_int_eq(raw_count_serial(got[i], STORE_SERIAL_LEN), 1);
	ck_assert_int_ge(raw_int("SELECT count(*) FROM serials"), N);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM serials WHERE length(serial) != 17"), 0);
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

START_TEST(test_duplicate_serial_drawn)
{
	static unsigned char got[64][STORE_SERIAL_LEN];
	unsigned char dup[STORE_SERIAL_LEN];
	struct store *s = open_new();
	struct lerr e;
	int i, j;

	memset(dup, 0xff, sizeof(dup));
	dup[0] = 0x7f;

	/* Within one batch: five identical draws, one stored. */
	rnd_reset(5);
	store_set_random(s, rnd_fill);
	for (i = 0; i < 32; i++)
		ck_assert_msg(store_serial_reserve(s, got[i], &e) == 0, "%s", e.msg);
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
	ck_assert_ptr_nonnull(e.code);
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
	/* request_id is a foreign key: unknown, the insert is refused. */
	snprintf(c.request_id, sizeof(c.request_id), "req-1");
	ck_assert_int_eq(store_cert_insert(s, &c, "test", &e), -1);
	ck_assert_msg(strstr(e.msg, "FOREIGN KEY") != NULL, "%s", e.msg);
	ck_assert_int_eq(raw_exec("INSERT INTO requests (id, key_id, device_id, csr, "
				  "state, created_at, updated_at, expires_at) VALUES "
				  "('req-1', x'01', 'dev-1', x'30', 'issued', 1, 1, 2)",
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
	ck_assert_str_eq(got->profile, "device");
	ck_assert_str_eq(got->status, "valid");
	ck_assert_int_eq(got->not_before, c.not_before);
	ck_assert_int_eq(got->not_after, c.not_after);
	ck_assert_int_gt(got->issued_at, 0);
	ck_assert_int_eq(got->revoked_at, 0);
	ck_assert_mem_eq(got->key_id, c.key_id, sizeof(c.key_id));
	ck_assert_str_eq(got->request_id, "req-1");
	ck_assert_uint_eq(got->der_len, sizeof(der));
	ck_assert_mem_eq(got->der, der, sizeof(der));
	store_cert_free(got);
	store_cert_free(NULL);

	ck_assert_int_eq(store_cert_count(s, &n, &e), 0);
	ck_assert_int_eq(n, 1);
	serial[5] ^= 1;
	ck_assert_int_eq(store_cert_by_serial(s, serial, sizeof(serial), &got, &e), -1);
	ck_assert_str_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(e.http, 404);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM serials WHERE used = 1"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM certificates WHERE request_id = 'req-1'"), 1);
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
	ck_assert_str_eq(e.code, LERR_CONFLICT);
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
	ck_assert_str_eq(e.code, LERR_CONFLICT);
	/* A profile the schema does not know is refused before any SQL. */
	ck_assert_int_eq(store_serial_reserve(s, serial, &e), 0);
	make_cert(&c, ca_id, serial, 1, der, sizeof(der));
	snprintf(c.profile, sizeof(c.profile), "root");
	ck_assert_int_eq(store_cert_insert(s, &c, "test", &e), -1);
	ck_assert_str_eq(e.code, LERR_BAD_REQUEST);
	/* An unknown CA breaks the foreign key: the serial stays unused. */
	make_cert(&c, ca_id + 100, serial, 1, der, sizeof(der));
	ck_assert_int_eq(store_cert_insert(s, &c, "test", &e), -1);
	ck_assert_str_eq(e.code, LERR_STORE);
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
	char last_err[256];
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
		} else if (e.code != NULL && strcmp(e.code, LERR_CONFLICT) == 0) {
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
	/* Appending still works. */
	ck_assert_int_eq(raw_exec("INSERT INTO audit (at, actor, event) VALUES (1, 'a', 'b')",
				  err, sizeof(err)), SQLITE_OK);
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
	ck_assert_int_eq(store_audit_each(s, 0, audit_cb, &seen, &e), 0);
	ck_assert_int_eq(seen.n, 21);		/* ca-create + 20 issues */
	ck_assert(seen.ordered);
	ck_assert_str_eq(seen.first_event, "issue");
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(store_audit_each(s, 5, audit_cb, &seen, &e), 0);
	ck_assert_int_eq(seen.n, 5);
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
	char *v = NULL;
	int i;

	ck_assert_int_eq(store_ca_active(s, "root", &ca, &e), -1);
	ck_assert_str_eq(e.code, LERR_NOT_FOUND);
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
	ck_assert_str_eq(e.code, LERR_CONFLICT);
	/* Unknown role: the CHECK refuses it. */
	ck_assert_int_eq(store_ca_insert(s, "bogus", "CN=x", "zz", 0, 1,
					 der, 1, NULL, &e), -1);

	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(store_serial_reserve(s, serial, &e), 0);
		make_cert(&c, iss2, serial, i, der, sizeof(der));
		ck_assert_int_eq(store_cert_insert(s, &c, "t", &e), 0);
	}
	ck_assert_int_eq(store_cert_each(s, 0, cert_cb, ids, &e), 0);
	ck_assert_int_eq(ids[0], 3);
	ck_assert_int_gt(ids[1], ids[2]);
	ck_assert_int_gt(ids[2], ids[3]);
	memset(ids, 0, sizeof(ids));
	ck_assert_int_eq(store_cert_each(s, 2, cert_cb, ids, &e), 0);
	ck_assert_int_eq(ids[0], 2);

	ck_assert_int_eq(store_setting_get(s, "missing", &v, &e), -1);
	ck_assert_str_eq(e.code, LERR_NOT_FOUND);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(store_setting_set(s, "k", "one", &e), 0);
	ck_assert_int_eq(store_setting_set(s, "k", "two", &e), 0);
	ck_assert_int_eq(store_setting_get(s, "k", &v, &e), 0);
	ck_assert_str_eq(v, "two");
	free(v);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM settings"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE event = 'ca-create'"), 3);
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
	tcase_add_test(tc, test_reopen_idempotent);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_failed_migration_rolled_back);
	tcase_add_test(tc, test_missing_refused);
	tcase_add_test(tc, test_readonly_refuses_writes);
	tcase_add_test(tc, test_serials_distinct);
	tcase_add_test(tc, test_duplicate_serial_drawn);
	tcase_add_test(tc, test_broken_random_source);
	tcase_add_test(tc, test_cert_roundtrip);
	tcase_add_test(tc, test_cert_same_serial_twice);
	tcase_add_test(tc, test_cert_unreserved_serial);
	tcase_add_test(tc, test_failing_job_alone);
	tcase_add_test(tc, test_concurrent_inserts);
	tcase_add_test(tc, test_audit_append_only);
	tcase_add_test(tc, test_every_insert_audited);
	tcase_add_test(tc, test_ca_list_settings);
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
