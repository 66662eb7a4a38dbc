/*
 * snapshot.c - whole copies of the database: the consistent copy a backup
 * takes while the daemon writes, and the check a restored copy passes
 * before anything uses it (store.h).
 */
#include "config.h"

#include <string.h>
#include <sqlite3.h>

#include "store/db_sqlite.h"
#include "store/internal.h"
#include "store/store.h"

int
store_snapshot(struct store *s, const char *dest, struct lerr *e)
{
	struct store_conn *c;
	sqlite3 *out = NULL;
	sqlite3_backup *b;
	sqlite3_stmt *st = NULL;
	int rc = -1, x;

	c = store_reader_get(s, e);
	if (c == NULL)
		return -1;
	if (c->drv != &store_driver_sqlite) {
		lerr_set(e, LERR_BAD_REQUEST, "the store is %s: back it up with its own tools "
			 "(pg_dump; docs/scaling.md)", c->drv->name);
		goto done;
	}
	if (sqlite3_open_v2(dest, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		store_sqlite_err(out, e, "creating the snapshot");
		goto done;
	}
	/* One step of every page: a single read transaction on the source,
	 * so the copy is the database as of one commit. In WAL mode the
	 * writer goes on meanwhile; the copy shows none of its later work. */
	b = sqlite3_backup_init(out, "main", store_sqlite_handle(c->db), "main");
	if (b == NULL) {
		store_sqlite_err(out, e, "starting the snapshot");
		goto done;
	}
	x = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (x != SQLITE_DONE) {
		store_sqlite_err(out, e, "copying the database");
		goto done;
	}
	/* The copy is one file: without this its header would still name
	 * WAL mode, and a read-only open would look for a -wal beside it. */
	if (sqlite3_prepare_v2(out, "PRAGMA journal_mode = DELETE", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		store_sqlite_err(out, e, "the snapshot's journal mode");
		goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(st);
	if (out != NULL && sqlite3_close(out) != SQLITE_OK && rc == 0)
		rc = lerr_set(e, LERR_STORE, "closing the snapshot");
	store_reader_put(s, c);
	return rc;
}

int
store_check_file(const char *path, struct lerr *e)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const unsigned char *first;
	int rc = -1, x;

	/* Read-only and without a journal of its own: a copy under check is
	 * not changed by being checked. */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		store_sqlite_err(db, e, "opening the database");
		goto out;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(20)", -1, &st, NULL) != SQLITE_OK) {
		store_sqlite_err(db, e, "the integrity check");
		goto out;
	}
	x = sqlite3_step(st);
	if (x != SQLITE_ROW) {
		store_sqlite_err(db, e, "the integrity check");
		goto out;
	}
	first = sqlite3_column_text(st, 0);
	if (first == NULL || strcmp((const char *)first, "ok") != 0) {
		lerr_set(e, LERR_STORE, "the database fails its integrity check: %s",
			 first != NULL ? (const char *)first : "(no answer)");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
