/*
 * migrate.c - apply schema/NNNN-*.sql migrations in order (see
 * migrate.h).
 *
 * Each migration runs in its own write transaction together with the
 * INSERT that records it in schema_version, so a database is always at
 * exactly one known version: a migration that fails leaves no trace. The
 * version is re-read inside the write transaction, which holds the
 * database's write lock, so that two processes (or two gateways sharing a
 * PostgreSQL database) opening a new database at once do not both apply a
 * migration.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "store/migrate.h"
#include "store/internal.h"
#include "common/lerr.h"
#include "common/log.h"

#define STORE_MIGRATE_TABLE_SQL \
	"CREATE TABLE IF NOT EXISTS schema_version (" \
	"version INTEGER PRIMARY KEY, name TEXT NOT NULL, " \
	"applied_at INTEGER NOT NULL)"

const char *const store_sql_migrate[Q_COUNT] = {
	[Q_SCHEMA_VERSION] =
		"SELECT coalesce(max(version), 0) FROM schema_version",
	[Q_SCHEMA_RECORD] =
		"INSERT INTO schema_version (version, name, applied_at) VALUES (?1, ?2, ?3)",
};

/*
 * Reads the highest applied version; 0 when schema_version does not exist
 * yet (an empty database).
 */
int
store_migrate_version(struct store_conn *c, int *version, struct lerr *e)
{
	const struct store_query x = { .q = Q_SCHEMA_VERSION, .what = "reading the schema version" };
	int64_t v = 0;
	int yes = 0;

	if (c->drv->has_table(c->db, "schema_version", &yes, e) != 0)
		return -1;
	if (yes && store_conn_lookup(c, &x, store_row_int, &v, e) != 0)
		return -1;
	if (v < 0 || v > INT_MAX)
		return lerr_set(e, LERR_STORE, "database schema version %lld is not valid",
				(long long)v);
	*version = (int)v;
	return 0;
}

/* Fills e with the "newer than this binary" refusal. */
static int
store_migrate_too_new(int have, int newest, struct lerr *e)
{
	return lerr_set(e, LERR_STORE,
			"database schema version %d is newer than this lanca "
			"(knows up to %d): upgrade lanca", have, newest);
}

/* Runs a statement without parameters or rows (COMMIT, ROLLBACK). */
static int
store_migrate_run(struct store_conn *c, enum store_q q, const char *what, struct lerr *e)
{
	const struct store_query x = { .q = q, .what = what };

	return store_exec(c, &x, NULL, e);
}

/*
 * Applies migration m inside one write transaction, unless another process
 * applied it meanwhile. *cur is updated to the version now in the database.
 */
static int
store_migrate_one(struct store_conn *c, const struct store_migration *m,
		  store_migrate_step step, int newest, int *cur, struct lerr *e)
{
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
	if (c->drv->begin_write(c->db, e) != 0)
		goto out;
	if (store_migrate_version(c, &have, e) != 0)
		goto out;
	if (have > newest) {
		store_migrate_too_new(have, newest, e);
		goto out;
	}
	if (have >= m->version) {
		/* Someone else got here first; nothing to do. */
		if (store_migrate_run(c, Q_COMMIT, what, e) != 0)
			goto out;
		*cur = have;
		rc = 0;
		goto out;
	}
	if (c->drv->script(c->db, STORE_MIGRATE_TABLE_SQL, what, e) != 0 ||
	    c->drv->script(c->db, m->sql, what, e) != 0)
		goto out;
	if (step != NULL && step(c, m->version, e) != 0) {
		char why[sizeof(e->msg)];

		snprintf(why, sizeof(why), "%s", e->msg);
		lerr_set(e, LERR_STORE, "%s: %s", what, why);
		goto out;
	}
	{
		const struct store_query x = {
			Q_SCHEMA_RECORD, what,
			{ store_arg_int(m->version), store_arg_text(m->name),
			  store_arg_int((int64_t)time(NULL)) },
		};

		if (store_exec(c, &x, NULL, e) != 0 ||
		    store_migrate_run(c, Q_COMMIT, what, e) != 0)
			goto out;
	}
	log_info("applied schema migration %04d-%s", m->version, m->name);
	*cur = m->version;
	rc = 0;
out:
	/* Leave the connection outside any transaction whatever happened;
	 * e keeps the first error. */
	if (c->drv->in_transaction(c->db))
		(void)store_migrate_run(c, Q_ROLLBACK, what, NULL);
	return rc;
}

/*
 * Brings the database up to the newest migration, one transaction per
 * migration. Returns 0 with *version (optional) set, or -1 with e saying
 * why: a database newer than this binary, or which migration failed.
 */
int
store_migrate(struct store_conn *c, const struct store_migration *migrations, size_t n,
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
	if (store_migrate_version(c, &cur, e) != 0)
		goto out;
	if (cur > newest) {
		store_migrate_too_new(cur, newest, e);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (migrations[i].version <= cur)
			continue;
		if (store_migrate_one(c, &migrations[i], step, newest, &cur, e) != 0)
			goto out;
	}
	if (version != NULL)
		*version = cur;
	rc = 0;
out:
	return rc;
}
