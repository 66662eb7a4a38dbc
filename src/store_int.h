/*
 * store_int.h - what the store's query families share with its engine.
 *
 * Internal to the store: only store.c (the engine, CAs, serials,
 * certificates, settings, audit) and the family files db_requests.c,
 * db_devices.c and db_admin.c include it. Everyone else uses store.h.
 *
 * Statements: every query of every family has one value in enum store_q.
 * Each family file defines a table indexed by that enum holding the SQL
 * of its own queries only (NULL elsewhere); store_stmt() finds the text in
 * whichever table has it and prepares it once per connection. store_open()
 * checks that each query has its text in exactly one table.
 *
 * Writes: a family hands a job to store_submit(); the job runs on the
 * writer's connection inside a savepoint of a group-committed transaction
 * (see store.c) and must use only that connection. Reads take a pooled
 * connection with store_reader_get() and give it back with
 * store_reader_put().
 */
#ifndef LANCA_STORE_INT_H
#define LANCA_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "lerr.h"
#include "store.h"

#define STORE_ACTOR		"lanca"		/* actor of the store's own audit rows */

enum store_q {
	/* engine and certificates (store.c) */
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_SAVEPOINT,
	Q_RELEASE,
	Q_ROLLBACK_TO,
	Q_SERIAL_INSERT,
	Q_SERIAL_USE,
	Q_CERT_INSERT,
	Q_CERT_NAMES_INSERT,
	Q_CERT_REQUEST_CLAIM,
	Q_CERT_REQUEST_STATE,
	Q_CERT_REQUEST_LINK,
	Q_CERT_PREAUTH_USE,
	Q_CERT_PREAUTH_STATE,
	Q_CERT_REVOKE_FIND,
	Q_CERT_REVOKE,
	Q_AUDIT_INSERT,
	Q_CA_INSERT,
	Q_SETTING_SET,
	Q_CA_ACTIVE,
	Q_CERT_BY_SERIAL,
	Q_CERT_BY_KEY,
	Q_CERT_EACH,
	Q_CERT_COUNT,
	Q_NAME_OWNER,
	Q_KEY_OWNER,
	Q_SETTING_GET,
	Q_AUDIT_EACH,
	Q_SCHEMA_VERSION,

	/* requests (db_requests.c) */
	Q_REQ_FIND_KEY,
	Q_REQ_REFRESH,
	Q_REQ_INSERT,
	Q_REQ_GET,
	Q_REQ_TOUCH,
	Q_REQ_DENY,
	Q_REQ_NOTE,
	Q_REQ_CONTEST,
	Q_REQ_WAITING,
	Q_REQ_EACH,
	Q_REQ_EXPIRE,

	/* pre-authorised devices and vendor CAs (db_devices.c) */
	Q_PREAUTH_INSERT,
	Q_PREAUTH_GET,
	Q_VENDOR_INSERT,
	Q_VENDOR_EACH,

	/* administrators and sessions (db_admin.c) */
	Q_ADMIN_SET,
	Q_ADMIN_HASH,
	Q_SESSION_PURGE,
	Q_SESSION_INSERT,
	Q_SESSION_GET,
	Q_SESSION_DELETE,

	Q_COUNT
};

/* The SQL of each family, indexed by enum store_q (NULL: another family's). */
extern const char *const store_sql[Q_COUNT];
extern const char *const db_requests_sql[Q_COUNT];
extern const char *const db_devices_sql[Q_COUNT];
extern const char *const db_admin_sql[Q_COUNT];

/* One database connection and its cache of prepared statements. */
struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *st[Q_COUNT];
	int busy;			/* readers: handed out to a thread */
};

/* A writer job: runs on w inside its own savepoint; returns 0, or -1 with
 * e set (the job's changes are then rolled back, the others' kept). */
typedef int (*store_job_fn)(struct store_conn *w, void *arg, struct lerr *e);

/* Queues run(w, arg, e) for the writer and waits until its transaction
 * committed (0) or failed (-1, e set). arg stays the caller's. */
int store_submit(struct store *s, store_job_fn run, void *arg, struct lerr *e);

/* A pooled read connection (waits while all are busy); NULL with e set on
 * failure. Give it back with store_reader_put() (NULL-safe). */
struct store_conn *store_reader_get(struct store *s, struct lerr *e);
void store_reader_put(struct store *s, struct store_conn *c);

/* c's prepared statement for q (prepared on first use, owned by c); NULL
 * with e set on failure. Pass it to store_stmt_done() after use. */
sqlite3_stmt *store_stmt(struct store_conn *c, enum store_q q, struct lerr *e);
void store_stmt_done(sqlite3_stmt *st);		/* reset + clear bindings; NULL-safe */

/* Fills e from db's last error (LERR_CONFLICT for UNIQUE / PRIMARY KEY,
 * LERR_STORE otherwise); returns -1. */
int store_sqlerr(sqlite3 *db, struct lerr *e, const char *what);

/* Appends an audit row on the writer's connection (inside a job). */
int store_audit_row(struct store_conn *w, int64_t at, const char *actor,
		    const char *event, const char *subject, const char *detail,
		    struct lerr *e);
/* Serialises o compactly into *out (caller frees); always drops o's
 * reference. LERR_BAD_REQUEST when o is NULL (json_pack refused a string
 * that is not UTF-8, or ran out of memory). */
int store_json_detail(json_t *o, char **out, struct lerr *e);

/* Small helpers. */
void store_hex(const unsigned char *p, size_t n, char *out, size_t outsz);
sqlite3_int64 store_limit(size_t limit);	/* 0 or huge -> -1 (no limit) */
int store_fits(const char *s, size_t size);	/* NUL within size bytes */
int store_bind_text(sqlite3_stmt *st, int i, const char *s);	/* NULL binds NULL */
int store_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n);
int store_col_text(sqlite3_stmt *st, int col, char *dst, size_t size, struct lerr *e);
int store_col_text_dup(sqlite3_stmt *st, int col, char **dst, struct lerr *e);
int store_col_blob(sqlite3_stmt *st, int col, unsigned char *dst, size_t size,
		   size_t *len, struct lerr *e);
int store_col_blob_dup(sqlite3_stmt *st, int col, unsigned char **dst, size_t *len,
		       struct lerr *e);

#endif
