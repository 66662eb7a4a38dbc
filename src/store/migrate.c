/*
 * migrate.c - apply schema/NNNN-*.sql migrations in order (see
 * migrate.h).
 *
 * Each migration runs in its own BEGIN IMMEDIATE transaction together with
 * the INSERT that records it in schema_version, so a database is always at
 * exactly one known version: a migration that fails leaves no trace. The
 * version is re-read inside the write transaction so that two processes
 * opening the same new database at once do not both apply a migration.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <sqlite3.h>

#include "store/migrate.h"
#include "common/lerr.h"
#include "common/log.h"

#define STORE_MIGRATE_TABLE_SQL \
	"CREATE TABLE IF NOT EXISTS schema_version (" \
	"version INTEGER PRIMARY KEY, name TEXT NOT NULL, " \
	"applied_at INTEGER NOT NULL)"

/*
 * Runs sql, which may hold several statements (a whole migration file), to
 * completion. Returns 0, or -1 with e naming what (and SQLite's message).
 */
static int
store_migrate_exec(sqlite3 *db, const char *sql, const char *what, struct lerr *e)
{
	sqlite3_stmt *st = NULL;
	const char *tail = sql;
	int rc = -1;
	int src;

	while (*tail != '\0') {
		if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) != SQLITE_OK) {
			lerr_set(e, LERR_STORE, "%s: %s", what, sqlite3_errmsg(db));
			goto out;
		}
		if (st == NULL)		/* only comments or blanks were left */
			break;
		while ((src = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (src != SQLITE_DONE) {
			lerr_set(e, LERR_STORE, "%s: %s", what, sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Reads one integer from a query that returns a single row and column.
 */
static int
store_migrate_query_int(sqlite3 *db, const char *sql, sqlite3_int64 *v, struct lerr *e)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		lerr_set(e, LERR_STORE, "reading the schema version: %s",
			 sqlite3_errmsg(db));
		goto out;
	}
	*v = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Reads the highest applied version; 0 when schema_version does not exist
 * yet (an empty database).
 */
int
store_migrate_version(sqlite3 *db, int *version, struct lerr *e)
{
	sqlite3_int64 v = 0;
	int rc = -1;

	if (store_migrate_query_int(db,
	    "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table' AND name = 'schema_version'", &v, e) != 0)
		goto out;
	if (v != 0 && store_migrate_query_int(db,
	    "SELECT coalesce(max(version), 0) FROM schema_version", &v, e) != 0)
		goto out;
	if (v < 0 || v > INT_MAX) {
		lerr_set(e, LERR_STORE, "database schema version %lld is not valid",
			 (long long)v);
		goto out;
	}
	*version = (int)v;
	rc = 0;
out:
	return rc;
}

/* Fills e with the "newer than this binary" refusal. */
static int
store_migrate_too_new(int have, int newest, struct lerr *e)
{
	return lerr_set(e, LERR_STORE,
			"database schema version %d is newer than this lanca "
			"(knows up to %d): upgrade lanca", have, newest);
}

/*
 * Applies migration m inside one write transaction, unless another process
 * applied it meanwhile. *cur is updated to the version now in the database.
 */
static int
store_migrate_one(sqlite3 *db, const struct store_migration *m, store_migrate_step step,
		  int newest, int *cur, struct lerr *e)
{
	sqlite3_stmt *st = NULL;
	char what[128];
	int have = 0;
	int rc = -1;
	int n;

	n = snprintf(what, sizeof(what), "schema migration %04d-%s failed",
		     m->version, m->name);
	if (n < 0 || (size_t)n >= sizeof(what)) {
		lerr_set(e, LERR_STORE, "schema migration %d: name too long",
			 m->version);
		goto out;
	}
	if (store_migrate_exec(db, "BEGIN IMMEDIATE", what, e) != 0)
		goto out;
	if (store_migrate_version(db, &have, e) != 0)
		goto out;
	if (have > newest) {
		store_migrate_too_new(have, newest, e);
		goto out;
	}
	if (have >= m->version) {
		/* Someone else got here first; nothing to do. */
		if (store_migrate_exec(db, "COMMIT", what, e) != 0)
			goto out;
		*cur = have;
		rc = 0;
		goto out;
	}
	if (store_migrate_exec(db, STORE_MIGRATE_TABLE_SQL, what, e) != 0 ||
	    store_migrate_exec(db, m->sql, what, e) != 0)
		goto out;
	if (step != NULL && step(db, m->version, e) != 0) {
		char why[sizeof(e->msg)];

		snprintf(why, sizeof(why), "%s", e->msg);
		lerr_set(e, LERR_STORE, "%s: %s", what, why);
		goto out;
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO schema_version "
	    "(version, name, applied_at) VALUES (?, ?, ?)", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int(st, 1, m->version) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL)) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		lerr_set(e, LERR_STORE, "%s: %s", what, sqlite3_errmsg(db));
		goto out;
	}
	if (store_migrate_exec(db, "COMMIT", what, e) != 0)
		goto out;
	log_info("applied schema migration %04d-%s", m->version, m->name);
	*cur = m->version;
	rc = 0;
out:
	sqlite3_finalize(st);
	/* Leave the connection outside any transaction whatever happened;
	 * e keeps the first error. */
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/*
 * Brings db up to the newest migration, one transaction per migration.
 * Returns 0 with *version (optional) set, or -1 with e saying why: a
 * database newer than this binary, or which migration failed.
 */
int
store_migrate(sqlite3 *db, const struct store_migration *migrations, size_t n,
	      store_migrate_step step, int *version, struct lerr *e)
{
	int newest = 0;
	int cur = 0;
	int rc = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		if (migrations[i].version <= newest) {
			lerr_set(e, LERR_INTERNAL,
				 "schema migrations out of order at %d",
				 migrations[i].version);
			goto out;
		}
		newest = migrations[i].version;
	}
	if (store_migrate_version(db, &cur, e) != 0)
		goto out;
	if (cur > newest) {
		store_migrate_too_new(cur, newest, e);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (migrations[i].version <= cur)
			continue;
		if (store_migrate_one(db, &migrations[i], step, newest, &cur, e) != 0)
			goto out;
	}
	if (version != NULL)
		*version = cur;
	rc = 0;
out:
	return rc;
}
