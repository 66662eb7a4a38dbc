/*
 * db_sqlite.h - what the SQLite driver (db_sqlite.c) shares with the
 * store's other SQLite-only files: the WAL's checkpointer (wal.c) and
 * whole-file snapshots (snapshot.c). Internal to the store.
 */
#ifndef LANCA_STORE_DB_SQLITE_H
#define LANCA_STORE_DB_SQLITE_H

#include <sqlite3.h>

#include "common/lerr.h"
#include "store/db.h"

/* Fills e from db's last error (LERR_CONFLICT for UNIQUE / PRIMARY KEY,
 * LERR_STORE_UNAVAILABLE for a disk that is full, failed or read-only,
 * LERR_STORE otherwise); returns -1. */
int store_sqlite_err(sqlite3 *db, struct lerr *e, const char *what);

/* The SQLite connection under db, a connection of store_driver_sqlite. */
sqlite3 *store_sqlite_handle(struct store_db *db);

/*
 * The WAL's accounting and checkpoints (wal.c). store_wal_start() opens a
 * connection of its own on path, starts the checkpointer thread and hooks
 * writer's commits (which turns SQLite's automatic checkpoints off); the
 * driver calls it when it opens the write connection. store_wal_stop()
 * (NULL-safe) unhooks writer (may be NULL) and stops the thread.
 * store_wal_stats() fills the wal_* and checkpoint fields of st.
 */
struct store_wal;
struct store_stats;
int store_wal_start(const char *path, sqlite3 *writer, struct store_wal **out, struct lerr *e);
void store_wal_stop(struct store_wal *w, sqlite3 *writer);
/* Moves the commit hook from the write connection old to its replacement
 * (a read-only connection opened afresh). w may be NULL. */
void store_wal_attach(struct store_wal *w, sqlite3 *old, sqlite3 *writer);
void store_wal_stats(const struct store_wal *w, struct store_stats *st);

#endif
