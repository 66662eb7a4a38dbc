/*
 * db.h - the databases behind the store: what the engine asks of one.
 *
 * Internal to the store. A driver (db_sqlite.c, db_pg.c) owns connections
 * to one kind of database: opening them, preparing and caching the store's
 * queries (enum store_q) on each, binding struct store_query's parameters,
 * handing rows out, transactions, and telling its errors apart. Nothing
 * outside a driver's file includes that database's header: the engine and
 * the families see only this interface, and read rows through the
 * store_get_*() accessors below.
 *
 * The SQL itself is written once, in SQLite's dialect (schema/NNNN-*.sql and
 * the families' tables); the PostgreSQL driver translates it (dialect.c)
 * when it prepares a query or applies a migration.
 */
#ifndef LANCA_STORE_DB_H
#define LANCA_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "common/lerr.h"

struct store_db;			/* one connection, the driver's */
struct store_query;			/* internal.h */
struct store_row;
struct store_stats;

/* A row callback (internal.h's store_row_fn). */
typedef int (*store_db_row_fn)(struct store_row *r, void *arg, struct lerr *e);

/* The constraint a failed statement broke, for a caller that names the
 * conflict itself (store_exec_constraint). A PRIMARY KEY is UNIQUE. */
enum store_violation {
	STORE_VIOLATION_NONE = 0,
	STORE_VIOLATION_UNIQUE,
	STORE_VIOLATION_FOREIGN_KEY,
};

/* What a connection is for. */
enum store_role {
	STORE_ROLE_WRITER,		/* the writer thread's; also migrates */
	STORE_ROLE_READER,		/* a pooled reader: never writes */
};

struct store_driver {
	const char *name;		/* "SQLite", "PostgreSQL": for messages */

	/* Opens one connection to target (a file path, a URL) for role;
	 * flags are store.h's STORE_*. 0, or -1 with e set. */
	int (*open)(const char *target, enum store_role role, unsigned flags,
		    struct store_db **out, struct lerr *e);
	void (*close)(struct store_db *db);	/* NULL-safe */

	/*
	 * Runs x, whose text is sql (one statement, the store's dialect),
	 * preparing it once per connection. Each row goes to row(r, arg, e)
	 * (row may be NULL: rows are then skipped) until it returns
	 * non-zero: 1 stops early, -1 fails. *changed (may be NULL) gets
	 * how many rows the statement changed, *violation (may be NULL) the
	 * constraint a failure broke. 0, or -1 with e set (LERR_CONFLICT
	 * for a UNIQUE constraint, LERR_STORE_UNAVAILABLE for a fault that
	 * clears: a full disk, a lost server; LERR_STORE otherwise).
	 */
	int (*run)(struct store_db *db, const struct store_query *x, const char *sql,
		   store_db_row_fn row, void *arg, int *changed,
		   enum store_violation *violation, struct lerr *e);

	/* Runs sql, one or more statements without parameters (a whole
	 * migration: the driver translates it), to completion. */
	int (*script)(struct store_db *db, const char *sql, const char *what,
		      struct lerr *e);

	/* The writer's transaction: begins one that holds the database's
	 * write lock (SQLite's IMMEDIATE; PostgreSQL's advisory lock, so
	 * that gateways sharing a database take turns), so that every
	 * check made inside it still holds at COMMIT. */
	int (*begin_write)(struct store_db *db, struct lerr *e);
	/* A read transaction: every read inside sees one snapshot. */
	int (*begin_read)(struct store_db *db, struct lerr *e);
	/* 1 while a transaction is open on db (after a failure: whether the
	 * database abandoned it). */
	int (*in_transaction)(struct store_db *db);

	/* Whether the database has a table called name: *yes 0 or 1. */
	int (*has_table)(struct store_db *db, const char *name, int *yes, struct lerr *e);

	/* Called by the writer thread before each batch: a driver may
	 * replace a connection that can no longer write (reopened read-only,
	 * or lost with its server). May be NULL. */
	void (*writer_check)(struct store_db *db);
	/* Adds the driver's own figures to st (may be NULL). */
	void (*stats)(struct store_db *writer, struct store_stats *st);

	/* Whether gateways may share the database: 1 for PostgreSQL. */
	int shared;
	/* Takes (lock 1) or lets go of (lock 0) the site's lock on db, a
	 * connection kept for it alone: held across statements until let
	 * go or the session ends (store_site_lock). NULL when nobody shares
	 * the database. */
	int (*site_lock)(struct store_db *db, int lock, struct lerr *e);
};

extern const struct store_driver store_driver_sqlite;	/* db_sqlite.c */
#ifdef HAVE_POSTGRESQL
extern const struct store_driver store_driver_pg;	/* db_pg.c */
#endif

/* The driver for target: PostgreSQL for a postgresql:// or postgres://
 * URL, SQLite for anything else. NULL with e set for a URL this build
 * cannot open. */
const struct store_driver *store_driver_for(const char *target, struct lerr *e);

/*
 * A row being read, handed to a row callback; valid only during the
 * callback. Read it through the accessors: columns count from 0.
 */
struct store_row_ops {
	int64_t (*get_int)(void *h, int col);	/* NULL and non-numbers read as 0 */
	int (*get_null)(void *h, int col);
	const char *(*get_text)(void *h, int col);	/* NUL-terminated; NULL for NULL */
	const void *(*get_blob)(void *h, int col, size_t *len);	/* NULL for NULL */
	int (*count)(void *h);
	const char *(*name)(void *h, int col);
};

struct store_row {
	const struct store_row_ops *ops;
	void *h;			/* the driver's cursor */
};

static inline int64_t
store_get_int(struct store_row *r, int col)
{
	return r->ops->get_int(r->h, col);
}

static inline int
store_get_null(struct store_row *r, int col)
{
	return r->ops->get_null(r->h, col);
}

static inline const char *
store_get_text(struct store_row *r, int col)
{
	return r->ops->get_text(r->h, col);
}

/* The column's bytes (a blob's, or a text's without its NUL) and their
 * number in *len; NULL (len 0) for NULL. */
static inline const void *
store_get_blob(struct store_row *r, int col, size_t *len)
{
	return r->ops->get_blob(r->h, col, len);
}

static inline int
store_get_count(struct store_row *r)
{
	return r->ops->count(r->h);
}

static inline const char *
store_get_name(struct store_row *r, int col)
{
	return r->ops->name(r->h, col);
}

#endif
