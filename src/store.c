/*
 * store.c - the SQLite store (see store.h).
 *
 * Connections: one write connection, owned by one writer thread, and a pool
 * of up to STORE_READERS read connections (query_only) opened on first use
 * and handed out under a mutex. Every connection is opened NOMUTEX: this
 * file guarantees that one thread at a time uses it.
 *
 * Writes: a caller wraps its work in a job and waits. The writer takes
 * every job queued at that moment, runs them in one BEGIN IMMEDIATE ...
 * COMMIT with a SAVEPOINT around each (a failing job is rolled back alone)
 * and wakes the callers only after COMMIT returned, so with
 * synchronous=FULL nobody hears of success before the row is durable and
 * concurrent callers share one fsync (group commit).
 *
 * Statements: every query has a value in enum store_q (store_int.h); its
 * text is in store_sql[] below (engine, CAs, serials, certificates,
 * settings, audit) or in the table of its family file (db_requests.c,
 * db_devices.c, db_admin.c). Each is prepared once per connection
 * (SQLITE_PREPARE_PERSISTENT) on first use and reset after each use.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "hex.h"
#include "db_migrate.h"
#include "lerr.h"
#include "log.h"
#include "store.h"
#include "store_int.h"

#define STORE_READERS		4	/* read connections in the pool */
#define STORE_BATCH_MAX		256	/* jobs per group commit */
#define STORE_SERIAL_BATCH	32	/* serials reserved per write */
#define STORE_SERIAL_ATTEMPTS	(STORE_SERIAL_BATCH * 8)
#define STORE_BUSY_MS		5000

#define STORE_CERT_COLS \
	"id, serial, ca_id, device_id, subject, sans, profile, status, " \
	"not_before, not_after, issued_at, revoked_at, key_id, request_id, der, " \
	"preauth_id"

const char *const store_sql[Q_COUNT] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_SAVEPOINT] = "SAVEPOINT job",
	[Q_RELEASE] = "RELEASE job",
	[Q_ROLLBACK_TO] = "ROLLBACK TO job",
	[Q_SERIAL_INSERT] =
		"INSERT OR IGNORE INTO serials (serial, reserved_at) VALUES (?, ?)",
	[Q_SERIAL_USE] =
		"UPDATE serials SET used = 1 WHERE serial = ? AND used = 0",
	[Q_CERT_INSERT] =
		"INSERT INTO certificates (serial, ca_id, device_id, subject, sans, "
		"profile, status, not_before, not_after, issued_at, revoked_at, "
		"key_id, request_id, der, preauth_id) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	/* ?1 the certificate, ?2 its sans ("DNS:a,IP:10.0.0.2"): one row per
	 * comma-separated name, the same split as schema/0002. */
	[Q_CERT_NAMES_INSERT] =
		"WITH RECURSIVE split (name, rest) AS ("
		" SELECT '', ?2 || ','"
		" UNION ALL"
		" SELECT substr(rest, 1, instr(rest, ',') - 1),"
		" substr(rest, instr(rest, ',') + 1) FROM split WHERE rest <> '') "
		"INSERT OR IGNORE INTO cert_names (cert_id, name) "
		"SELECT ?1, name FROM split WHERE name <> ''",
	[Q_CERT_REQUEST_CLAIM] =
		"UPDATE requests SET state = 'issued', updated_at = ?2 "
		"WHERE id = ?1 AND state = 'pending'",
	[Q_CERT_REQUEST_STATE] = "SELECT state FROM requests WHERE id = ?",
	[Q_CERT_REQUEST_LINK] = "UPDATE requests SET cert_id = ?2 WHERE id = ?1",
	[Q_CERT_PREAUTH_USE] =
		"UPDATE preauth SET used_at = ?2 WHERE device_id = ?1 AND used_at IS NULL",
	[Q_CERT_PREAUTH_STATE] = "SELECT used_at FROM preauth WHERE device_id = ?",
	[Q_CERT_REVOKE_FIND] =
		"SELECT device_id, status FROM certificates WHERE serial = ?",
	[Q_CERT_REVOKE] =
		"UPDATE certificates SET status = 'revoked', revoked_at = ?2, "
		"revoke_reason = ?3 WHERE serial = ?1 AND status = 'valid'",
	[Q_AUDIT_INSERT] =
		"INSERT INTO audit (at, actor, event, subject, detail) "
		"VALUES (?, ?, ?, ?, ?)",
	[Q_CA_INSERT] =
		"INSERT INTO cas (role, state, subject, fingerprint, not_before, "
		"not_after, der, created_at) VALUES (?, 'active', ?, ?, ?, ?, ?, ?)",
	[Q_SETTING_SET] =
		"INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
	[Q_CA_ACTIVE] =
		"SELECT id, role, state, subject, fingerprint, not_before, not_after, "
		"der FROM cas WHERE role = ? AND state = 'active' "
		"ORDER BY id DESC LIMIT 1",
	[Q_CERT_BY_SERIAL] =
		"SELECT " STORE_CERT_COLS " FROM certificates WHERE serial = ?",
	[Q_CERT_BY_KEY] =
		"SELECT " STORE_CERT_COLS " FROM certificates WHERE key_id = ? "
		"ORDER BY id DESC LIMIT 1",
	[Q_CERT_EACH] =
		"SELECT " STORE_CERT_COLS " FROM certificates ORDER BY id DESC LIMIT ?",
	[Q_CERT_COUNT] = "SELECT count(*) FROM certificates",
	[Q_NAME_OWNER] =
		"SELECT c.device_id FROM cert_names n "
		"JOIN certificates c ON c.id = n.cert_id "
		"WHERE n.name = ?1 AND c.status = 'valid' AND c.not_after > ?2 "
		"AND c.device_id <> ?3 ORDER BY c.id DESC LIMIT 1",
	[Q_KEY_OWNER] =
		"SELECT device_id FROM certificates "
		"WHERE key_id = ?1 AND status = 'valid' AND not_after > ?2 "
		"AND device_id <> ?3 ORDER BY id DESC LIMIT 1",
	/* A valid certificate for device ?3 under another key than ?1. */
	[Q_DEVICE_HOLDER] =
		"SELECT device_id FROM certificates "
		"WHERE device_id = ?3 AND status = 'valid' AND not_after > ?2 "
		"AND key_id <> ?1 ORDER BY id DESC LIMIT 1",
	[Q_SETTING_GET] = "SELECT value FROM settings WHERE key = ?",
	[Q_AUDIT_EACH] =
		"SELECT id, at, actor, event, subject, detail FROM audit "
		"ORDER BY id DESC LIMIT ?",
	[Q_SCHEMA_VERSION] =
		"SELECT coalesce(max(version), 0) FROM schema_version",
};

/* Every family's table; a query's text is in exactly one of them. */
static const char *const *const store_sql_tables[] = {
	store_sql, db_requests_sql, db_devices_sql, db_admin_sql,
};

/* A unit of work for the writer; lives on the caller's stack. */
struct store_job {
	store_job_fn run;
	void *arg;
	struct lerr err;
	int rc;
	int done;			/* under qlock */
	pthread_cond_t cond;		/* signalled (under qlock) once done */
	struct store_job *next;
};

struct store {
	char *path;
	unsigned flags;
	int sync_init;			/* mutexes and condvars below exist */

	/* The writer: only its thread touches writer once it runs. */
	struct store_conn writer;
	pthread_t thread;
	int thread_started;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;		/* jobs queued, or stopping */
	struct store_job *qhead, *qtail;
	int stopping;

	/* Read pool. */
	pthread_mutex_t rlock;
	pthread_cond_t rcond;		/* a reader came back */
	struct store_conn readers[STORE_READERS];

	/* Serials reserved durably but not handed out yet. */
	pthread_mutex_t slock;
	pthread_cond_t scond;		/* a refill finished */
	unsigned char pool[STORE_SERIAL_BATCH][STORE_SERIAL_LEN];
	size_t pool_n;
	int refilling;
	void (*fill)(void *buf, size_t n);
};

/* ---- helpers ---- */

/*
 * Fills e from the connection's last error: LERR_CONFLICT for a UNIQUE or
 * PRIMARY KEY violation (someone else holds that value), LERR_STORE
 * otherwise. Returns -1.
 */
int
store_sqlerr(sqlite3 *db, struct lerr *e, const char *what)
{
	int x = sqlite3_extended_errcode(db);

	if (x == SQLITE_CONSTRAINT_UNIQUE || x == SQLITE_CONSTRAINT_PRIMARYKEY)
		return lerr_set(e, 409, LERR_CONFLICT, "%s: %s", what, sqlite3_errmsg(db));
	return lerr_set(e, 500, LERR_STORE, "%s: %s", what, sqlite3_errmsg(db));
}

/* Writes n bytes of p as lowercase hex into out (NUL-terminated, cut to fit). */
void
store_hex(const unsigned char *p, size_t n, char *out, size_t outsz)
{
	if (outsz == 0)
		return;
	if (n > (outsz - 1) / 2)
		n = (outsz - 1) / 2;
	hex_encode(p, n, out);
}

/* A LIMIT value: 0 (no limit) and anything too large read as -1 (all). */
sqlite3_int64
store_limit(size_t limit)
{
	if (limit == 0 || (uint64_t)limit > (uint64_t)INT64_MAX)
		return -1;
	return (sqlite3_int64)limit;
}

/* True if the fixed-size char array holds a NUL-terminated string. */
int
store_fits(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* The SQL text of q from whichever family table holds it; NULL if none. */
static const char *
store_sql_text(enum store_q q)
{
	size_t i;

	if ((int)q < 0 || q >= Q_COUNT)
		return NULL;
	for (i = 0; i < sizeof(store_sql_tables) / sizeof(store_sql_tables[0]); i++)
		if (store_sql_tables[i][q] != NULL)
			return store_sql_tables[i][q];
	return NULL;
}

/*
 * Checks that every query has its text in exactly one family table: a
 * query added to the enum but to no table (or to two) is a programming
 * error, caught when the store opens rather than on first use.
 */
static int
store_sql_check(struct lerr *e)
{
	size_t i, q, n;

	for (q = 0; q < Q_COUNT; q++) {
		n = 0;
		for (i = 0; i < sizeof(store_sql_tables) / sizeof(store_sql_tables[0]); i++)
			n += store_sql_tables[i][q] != NULL;
		if (n != 1)
			return lerr_set(e, 500, LERR_INTERNAL,
					"store query %zu has %zu SQL texts", q, n);
	}
	return 0;
}

/*
 * Returns connection c's prepared statement for q, preparing it on first
 * use; NULL with e set on failure. The statement stays owned by c.
 */
sqlite3_stmt *
store_stmt(struct store_conn *c, enum store_q q, struct lerr *e)
{
	const char *sql;

	if ((sql = store_sql_text(q)) == NULL) {
		lerr_set(e, 500, LERR_INTERNAL, "store query %d has no SQL", (int)q);
		return NULL;
	}
	if (c->st[q] == NULL &&
	    sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &c->st[q], NULL) != SQLITE_OK) {
		store_sqlerr(c->db, e, "preparing a statement");
		c->st[q] = NULL;
		return NULL;
	}
	return c->st[q];
}

/* Makes a cached statement ready for its next use. NULL-safe. */
void
store_stmt_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Binds s as text, or NULL when s is NULL. */
int
store_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Binds n bytes at p as a blob (SQLITE_STATIC: p must outlive the step);
 * a length SQLite cannot take is SQLITE_TOOBIG. */
int
store_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
	if (n > INT_MAX)
		return SQLITE_TOOBIG;
	return sqlite3_bind_blob(st, i, p, (int)n, SQLITE_STATIC);
}

/*
 * Serialises an audit detail object. Takes o's reference whatever happens;
 * *out is the caller's (free). json_pack gives NULL for text that is not
 * UTF-8, which is the caller's input at fault.
 */
int
store_json_detail(json_t *o, char **out, struct lerr *e)
{
	int rc = -1;

	*out = NULL;
	if (o == NULL) {
		lerr_set(e, 400, LERR_BAD_REQUEST, "record is not valid UTF-8 text");
		goto out;
	}
	if ((*out = json_dumps(o, JSON_COMPACT)) == NULL) {
		lerr_set(e, 500, LERR_STORE, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* Copies a text column into a fixed array; NULL reads as "". */
int
store_col_text(sqlite3_stmt *st, int col, char *dst, size_t size, struct lerr *e)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (t == NULL) {
		dst[0] = '\0';
		return 0;
	}
	if (n < 0 || (size_t)n >= size)
		return lerr_set(e, 500, LERR_STORE, "stored %s is too long",
				sqlite3_column_name(st, col));
	memcpy(dst, t, (size_t)n);
	dst[n] = '\0';
	return 0;
}

/* Copies a text column into a new string (caller frees); NULL reads as "". */
int
store_col_text_dup(sqlite3_stmt *st, int col, char **dst, struct lerr *e)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (n < 0)
		n = 0;
	if ((*dst = malloc((size_t)n + 1)) == NULL)
		return lerr_set(e, 500, LERR_STORE, "out of memory");
	if (t != NULL)
		memcpy(*dst, t, (size_t)n);
	(*dst)[t != NULL ? n : 0] = '\0';
	return 0;
}

/* Copies a blob column into a new buffer (caller frees); empty is refused. */
int
store_col_blob_dup(sqlite3_stmt *st, int col, unsigned char **dst, size_t *len,
		   struct lerr *e)
{
	const void *p = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (p == NULL || n <= 0)
		return lerr_set(e, 500, LERR_STORE, "stored %s is empty",
				sqlite3_column_name(st, col));
	if ((*dst = malloc((size_t)n)) == NULL)
		return lerr_set(e, 500, LERR_STORE, "out of memory");
	memcpy(*dst, p, (size_t)n);
	*len = (size_t)n;
	return 0;
}

/* Copies a blob column into a fixed array of at most size bytes. */
int
store_col_blob(sqlite3_stmt *st, int col, unsigned char *dst, size_t size,
	       size_t *len, struct lerr *e)
{
	const void *p = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (n < 0 || (size_t)n > size || (n > 0 && p == NULL))
		return lerr_set(e, 500, LERR_STORE, "stored %s has a bad length",
				sqlite3_column_name(st, col));
	if (n > 0)
		memcpy(dst, p, (size_t)n);
	*len = (size_t)n;
	return 0;
}

/* ---- running one statement ---- */

/* Binds x's parameters to ?1, ?2... up to the first STORE_ARG_END;
 * SQLITE_OK or the first failure's code. */
static int
store_bind_query(sqlite3_stmt *st, const struct store_query *x)
{
	const struct store_arg *a;
	int i, src = SQLITE_OK;

	for (i = 0; i < STORE_ARGS_MAX && src == SQLITE_OK; i++) {
		a = &x->args[i];
		switch (a->type) {
		case STORE_ARG_END:
			return SQLITE_OK;
		case STORE_ARG_NULL:
			src = sqlite3_bind_null(st, i + 1);
			break;
		case STORE_ARG_INT:
			src = sqlite3_bind_int64(st, i + 1, a->i);
			break;
		case STORE_ARG_TEXT:
			src = store_bind_text(st, i + 1, a->p);
			break;
		case STORE_ARG_BLOB:
			src = store_bind_blob(st, i + 1, a->p, a->len);
			break;
		default:
			src = SQLITE_MISUSE;
			break;
		}
	}
	return src;
}

/*
 * Runs x on c expecting no row. A step failing on constraint (an extended
 * code; 0: none) returns 1 with e untouched; any other failure -1 with e
 * set. *changed (may be NULL) receives how many rows x changed.
 */
static int
store_exec_run(struct store_conn *c, const struct store_query *x, int constraint,
	       int *changed, struct lerr *e)
{
	sqlite3_stmt *st;
	int rc = -1;

	if ((st = store_stmt(c, x->q, e)) == NULL)
		goto out;
	if (store_bind_query(st, x) != SQLITE_OK) {
		store_sqlerr(c->db, e, x->what);
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		/* Read before the reset, which may replace the error. */
		if (constraint != 0 && sqlite3_extended_errcode(c->db) == constraint)
			rc = 1;
		else
			store_sqlerr(c->db, e, x->what);
		goto out;
	}
	if (changed != NULL)
		*changed = sqlite3_changes(c->db);
	rc = 0;
out:
	store_stmt_done(st);
	return rc;
}

/* Runs x on c expecting no row (an INSERT, UPDATE, DELETE...). */
int
store_exec(struct store_conn *c, const struct store_query *x, int *changed,
	   struct lerr *e)
{
	return store_exec_run(c, x, 0, changed, e) == 0 ? 0 : -1;
}

/* store_exec() for a statement whose breaking constraint the caller names
 * itself: 1 (e untouched) when it did. */
int
store_exec_constraint(struct store_conn *c, const struct store_query *x, int constraint,
		      struct lerr *e)
{
	return store_exec_run(c, x, constraint, NULL, e);
}

/*
 * Runs x on c and hands its first row to row(st, arg, e), when row is not
 * NULL. 0 when there was a row, 1 when there was none (e untouched), -1
 * with e set.
 */
int
store_conn_lookup(struct store_conn *c, const struct store_query *x,
		  store_row_fn row, void *arg, struct lerr *e)
{
	sqlite3_stmt *st;
	int rc = -1;
	int src;

	if ((st = store_stmt(c, x->q, e)) == NULL)
		goto out;
	if (store_bind_query(st, x) != SQLITE_OK) {
		store_sqlerr(c->db, e, x->what);
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = 1;
		goto out;
	}
	if (src != SQLITE_ROW) {
		store_sqlerr(c->db, e, x->what);
		goto out;
	}
	if (row != NULL && row(st, arg, e) != 0)
		goto out;
	rc = 0;
out:
	store_stmt_done(st);
	return rc;
}

/* store_conn_lookup() on a read connection borrowed for the call. */
int
store_lookup(struct store *s, const struct store_query *x, store_row_fn row,
	     void *arg, struct lerr *e)
{
	struct store_conn *c;
	int rc;

	if ((c = store_reader_get(s, e)) == NULL)
		return -1;
	rc = store_conn_lookup(c, x, row, arg, e);
	store_reader_put(s, c);
	return rc;
}

/*
 * Runs x on a read connection and hands each row to row(st, arg, e): a
 * negative answer fails, a positive one stops early. 0, or -1 with e set.
 */
int
store_each(struct store *s, const struct store_query *x, store_row_fn row,
	   void *arg, struct lerr *e)
{
	struct store_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	int src, rrc;

	if ((c = store_reader_get(s, e)) == NULL ||
	    (st = store_stmt(c, x->q, e)) == NULL)
		goto out;
	if (store_bind_query(st, x) != SQLITE_OK) {
		store_sqlerr(c->db, e, x->what);
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rrc = row(st, arg, e)) < 0)
			goto out;
		if (rrc > 0)
			break;
	}
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		store_sqlerr(c->db, e, x->what);
		goto out;
	}
	rc = 0;
out:
	store_stmt_done(st);
	store_reader_put(s, c);
	return rc;
}

/* Row reader: column 0 into the fixed array arg (a struct store_text_buf). */
int
store_row_text(sqlite3_stmt *st, void *arg, struct lerr *e)
{
	struct store_text_buf *b = arg;

	return store_col_text(st, 0, b->p, b->size, e);
}

/* Row reader: column 0 into a new string at *(char **)arg (caller frees). */
int
store_row_text_dup(sqlite3_stmt *st, void *arg, struct lerr *e)
{
	return store_col_text_dup(st, 0, arg, e);
}

/* Runs a statement without parameters or rows (BEGIN, COMMIT...). */
static int
store_run(struct store_conn *c, enum store_q q, struct lerr *e)
{
	const struct store_query x = { .q = q, .what = store_sql[q] };

	return store_exec(c, &x, NULL, e);
}

/* ---- connections ---- */

/* Finalizes c's statements and closes it. NULL-safe, idempotent. */
static void
store_conn_close(struct store_conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < Q_COUNT; i++) {
		sqlite3_finalize(c->st[i]);
		c->st[i] = NULL;
	}
	if (c->db != NULL && sqlite3_close(c->db) != SQLITE_OK)
		log_err("closing the database: %s", sqlite3_errmsg(c->db));
	c->db = NULL;
}

/*
 * Runs a constant PRAGMA and, when want is non-NULL, checks that the first
 * column of its answer equals want (case-insensitively).
 */
static int
store_pragma(sqlite3 *db, const char *sql, const char *want, struct lerr *e)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *v;
	int rc = -1;
	int src;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_sqlerr(db, e, sql);
		goto out;
	}
	src = sqlite3_step(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		store_sqlerr(db, e, sql);
		goto out;
	}
	if (want != NULL && (src != SQLITE_ROW ||
	    (v = sqlite3_column_text(st, 0)) == NULL ||
	    sqlite3_stricmp((const char *)v, want) != 0)) {
		lerr_set(e, 500, LERR_STORE, "%s: not accepted by the database", sql);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Opens c on the store's file (never creating it). The write connection
 * gets WAL, foreign keys and synchronous=FULL; a read connection is made
 * query_only. On failure c is left closed.
 */
static int
store_conn_open(struct store *s, struct store_conn *c, int writer, struct lerr *e)
{
	int rc = -1;

	memset(c->st, 0, sizeof(c->st));
	if (sqlite3_open_v2(s->path, &c->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		lerr_set(e, 500, LERR_STORE, "opening %s: %s", s->path,
			 c->db != NULL ? sqlite3_errmsg(c->db) : "out of memory");
		goto out;
	}
	if (sqlite3_busy_timeout(c->db, STORE_BUSY_MS) != SQLITE_OK) {
		store_sqlerr(c->db, e, "setting the busy timeout");
		goto out;
	}
	if (writer) {
		/* A read-only store may sit on a file it cannot write: it
		 * accepts whatever journal mode the file already has. */
		if (store_pragma(c->db, "PRAGMA journal_mode = WAL",
		    (s->flags & STORE_READONLY) ? NULL : "wal", e) != 0 ||
		    store_pragma(c->db, "PRAGMA foreign_keys = ON", NULL, e) != 0 ||
		    store_pragma(c->db, "PRAGMA synchronous = FULL", NULL, e) != 0 ||
		    /* Statement journals inside a batch stay in memory instead
		     * of a file created and unlinked in /var/tmp each time. */
		    store_pragma(c->db, "PRAGMA temp_store = MEMORY", NULL, e) != 0)
			goto out;
	} else {
		if (store_pragma(c->db, "PRAGMA query_only = ON", NULL, e) != 0)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		store_conn_close(c);
	return rc;
}

/*
 * Hands out a read connection, opening it on first use and waiting while
 * all STORE_READERS are busy. Give it back with store_reader_put().
 */
struct store_conn *
store_reader_get(struct store *s, struct lerr *e)
{
	struct store_conn *c = NULL;
	size_t i;

	pthread_mutex_lock(&s->rlock);
	for (;;) {
		/* An idle open connection first; a new one only if none. */
		for (i = 0; c == NULL && i < STORE_READERS; i++)
			if (!s->readers[i].busy && s->readers[i].db != NULL)
				c = &s->readers[i];
		for (i = 0; c == NULL && i < STORE_READERS; i++)
			if (!s->readers[i].busy)
				c = &s->readers[i];
		if (c != NULL)
			break;
		pthread_cond_wait(&s->rcond, &s->rlock);
	}
	c->busy = 1;
	pthread_mutex_unlock(&s->rlock);

	/* Opened outside the lock: it touches the disk. */
	if (c->db == NULL && store_conn_open(s, c, 0, e) != 0) {
		pthread_mutex_lock(&s->rlock);
		c->busy = 0;
		pthread_cond_signal(&s->rcond);
		pthread_mutex_unlock(&s->rlock);
		return NULL;
	}
	return c;
}

/* Gives a read connection back to the pool. NULL-safe. */
void
store_reader_put(struct store *s, struct store_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&s->rlock);
	c->busy = 0;
	pthread_cond_signal(&s->rcond);
	pthread_mutex_unlock(&s->rlock);
}

/* ---- the writer ---- */

/*
 * Runs one batch of jobs in one transaction, each inside its own savepoint.
 * Sets every job's rc and err; if the transaction itself fails (BEGIN,
 * COMMIT, or SQLite abandoning it), every job of the batch fails.
 */
static void
store_writer_batch(struct store *s, struct store_job **jobs, size_t n)
{
	struct store_conn *w = &s->writer;
	struct lerr batch;
	struct store_job *j;
	size_t i;
	int failed = 1;

	lerr_clear(&batch);
	if (store_run(w, Q_BEGIN, &batch) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		j = jobs[i];
		lerr_clear(&j->err);
		if (store_run(w, Q_SAVEPOINT, &batch) != 0)
			goto out;
		j->rc = j->run(w, j->arg, &j->err);
		if (sqlite3_get_autocommit(w->db)) {
			/* An I/O error or a full disk made SQLite roll back the
			 * whole transaction: the earlier jobs are gone too. */
			lerr_set(&batch, 500, LERR_STORE, "transaction rolled back: %s",
				 j->rc != 0 ? j->err.msg : sqlite3_errmsg(w->db));
			goto out;
		}
		if (j->rc == 0) {
			if (store_run(w, Q_RELEASE, &j->err) == 0)
				continue;
			j->rc = -1;
		}
		if (j->err.code == NULL)
			lerr_set(&j->err, 500, LERR_INTERNAL, "write failed");
		if (store_run(w, Q_ROLLBACK_TO, &batch) != 0 ||
		    store_run(w, Q_RELEASE, &batch) != 0)
			goto out;
	}
	if (store_run(w, Q_COMMIT, &batch) != 0)
		goto out;
	failed = 0;
out:
	if (!failed)
		return;
	if (!sqlite3_get_autocommit(w->db) && store_run(w, Q_ROLLBACK, NULL) != 0)
		log_err("rolling back a failed batch: %s", sqlite3_errmsg(w->db));
	log_err("database write failed: %s", batch.msg);
	for (i = 0; i < n; i++) {
		jobs[i]->rc = -1;
		jobs[i]->err = batch;
	}
}

/*
 * The writer thread: takes every queued job (up to STORE_BATCH_MAX), runs
 * them as one transaction and wakes their callers after COMMIT. Exits once
 * stopping is set and the queue is empty, so store_close() drains it.
 */
static void *
store_writer_main(void *arg)
{
	struct store *s = arg;
	struct store_job *batch[STORE_BATCH_MAX];
	size_t n, i;

	pthread_mutex_lock(&s->qlock);
	for (;;) {
		while (s->qhead == NULL && !s->stopping)
			pthread_cond_wait(&s->qcond, &s->qlock);
		if (s->qhead == NULL)
			break;
		for (n = 0; n < STORE_BATCH_MAX && s->qhead != NULL; n++) {
			batch[n] = s->qhead;
			s->qhead = s->qhead->next;
		}
		if (s->qhead == NULL)
			s->qtail = NULL;
		pthread_mutex_unlock(&s->qlock);

		store_writer_batch(s, batch, n);

		pthread_mutex_lock(&s->qlock);
		/* A caller may return (and its job vanish) as soon as we
		 * unlock, so nothing touches batch[] after this loop. */
		for (i = 0; i < n; i++) {
			batch[i]->done = 1;
			pthread_cond_signal(&batch[i]->cond);
		}
	}
	pthread_mutex_unlock(&s->qlock);
	return NULL;
}

/* Queues job for the writer (job->run and job->arg set by the caller). */
static int
store_enqueue(struct store *s, struct store_job *job, struct lerr *e)
{
	if (s == NULL)
		return lerr_set(e, 500, LERR_STORE, "no store");
	if (!s->thread_started)
		return lerr_set(e, 500, LERR_STORE, "the store was opened read-only");
	job->done = 0;
	job->next = NULL;
	if (pthread_cond_init(&job->cond, NULL) != 0)
		return lerr_set(e, 500, LERR_STORE, "out of resources");
	pthread_mutex_lock(&s->qlock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->qlock);
		pthread_cond_destroy(&job->cond);
		return lerr_set(e, 500, LERR_STORE, "the store is closing");
	}
	if (s->qtail != NULL)
		s->qtail->next = job;
	else
		s->qhead = job;
	s->qtail = job;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	return 0;
}

/* Waits until the transaction holding job committed (0) or failed (-1). */
static int
store_wait(struct store *s, struct store_job *job, struct lerr *e)
{
	pthread_mutex_lock(&s->qlock);
	while (!job->done)
		pthread_cond_wait(&job->cond, &s->qlock);
	pthread_mutex_unlock(&s->qlock);
	pthread_cond_destroy(&job->cond);
	if (job->rc != 0) {
		if (e != NULL)
			*e = job->err;
		return -1;
	}
	return 0;
}

/*
 * Queues run(conn, arg, e) for the writer and waits until its transaction
 * committed (0) or failed (-1, e set). arg stays owned by the caller.
 */
int
store_submit(struct store *s, store_job_fn run, void *arg, struct lerr *e)
{
	struct store_job job;

	memset(&job, 0, sizeof(job));
	job.run = run;
	job.arg = arg;
	if (store_enqueue(s, &job, e) != 0)
		return -1;
	return store_wait(s, &job, e);
}

/* Appends one audit row on the writer's connection (inside a job). */
int
store_audit_row(struct store_conn *w, int64_t at, const char *actor,
		const char *event, const char *subject, const char *detail,
		struct lerr *e)
{
	const struct store_query x = {
		Q_AUDIT_INSERT, "appending to the audit log",
		{ store_arg_int(at), store_arg_text(actor), store_arg_text(event),
		  store_arg_text(subject), store_arg_text(detail) },
	};

	return store_exec(w, &x, NULL, e);
}

/* Writer job: wr's statement, then its audit row when it has an event. */
static int
store_write_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_write *wr = arg;

	if (store_exec(w, &wr->x, NULL, e) != 0)
		return -1;
	/* Before the audit row, which is an insertion too. */
	wr->id = sqlite3_last_insert_rowid(w->db);
	if (wr->event != NULL &&
	    store_audit_row(w, wr->at, wr->actor, wr->event, wr->subject, wr->detail,
			    e) != 0)
		return -1;
	return 0;
}

/* Runs wr (see store_int.h) as one writer job; durable on return. */
int
store_write(struct store *s, struct store_write *wr, struct lerr *e)
{
	return store_submit(s, store_write_run, wr, e);
}

/* ---- open / close ---- */

/*
 * Flushes the directory holding path, so that a database file just created
 * survives a crash (SQLite syncs the file's contents, not its name).
 */
static int
store_sync_dir(const char *path, struct lerr *e)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL;
	int fd = -1;
	int rc = -1;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL) {
		lerr_set(e, 500, LERR_STORE, "out of memory");
		goto out;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		lerr_set(e, 500, LERR_STORE, "syncing %s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/*
 * Makes sure path exists as a regular file: refuses a missing one unless
 * create, in which case it is created empty with mode 0600 (SQLite gives
 * its -wal and -shm files the same mode).
 */
static int
store_ensure_file(const char *path, int create, struct lerr *e)
{
	struct stat sb;
	int fd;

	if (stat(path, &sb) == 0) {
		if (!S_ISREG(sb.st_mode))
			return lerr_set(e, 500, LERR_STORE, "%s is not a regular file", path);
		return 0;
	}
	if (errno != ENOENT)
		return lerr_set(e, 500, LERR_STORE, "%s: %s", path, strerror(errno));
	if (!create)
		return lerr_set(e, 404, LERR_NOT_FOUND, "no database at %s: run lanca init",
				path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno != EEXIST)
		return lerr_set(e, 500, LERR_STORE, "creating %s: %s", path, strerror(errno));
	if (fd >= 0) {
		close(fd);
		return store_sync_dir(path, e);
	}
	return 0;
}

/* Starts the writer thread with every signal blocked in it, so that signals
 * go to the threads that handle them. */
static int
store_start_writer(struct store *s, struct lerr *e)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&s->thread, NULL, store_writer_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0)
		return lerr_set(e, 500, LERR_STORE, "starting the writer: %s", strerror(err));
	s->thread_started = 1;
	return 0;
}

/*
 * Opens (or with STORE_CREATE creates) the database, migrates it and, unless
 * STORE_READONLY, starts the writer. *out is owned by the caller
 * (store_close).
 */
int
store_open(const char *path, unsigned flags, struct store **out, struct lerr *e)
{
	struct store *s = NULL;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL) {
		lerr_set(e, 500, LERR_INTERNAL, "store_open: no path");
		goto out;
	}
	if (store_sql_check(e) != 0)
		goto out;
	if (sodium_init() < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "libsodium failed to initialise");
		goto out;
	}
	if (store_ensure_file(path, (flags & STORE_CREATE) != 0, e) != 0)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->path = strdup(path)) == NULL) {
		lerr_set(e, 500, LERR_STORE, "out of memory");
		goto out;
	}
	s->flags = flags;
	if (pthread_mutex_init(&s->qlock, NULL) != 0)
		goto nosync;
	if (pthread_cond_init(&s->qcond, NULL) != 0)
		goto nosync_q;
	if (pthread_mutex_init(&s->rlock, NULL) != 0)
		goto nosync_qc;
	if (pthread_cond_init(&s->rcond, NULL) != 0)
		goto nosync_r;
	if (pthread_mutex_init(&s->slock, NULL) != 0)
		goto nosync_rc;
	if (pthread_cond_init(&s->scond, NULL) != 0)
		goto nosync_s;
	s->sync_init = 1;

	/* Migrations run on the write connection before anyone else uses
	 * the database; a read-only store closes it afterwards. */
	if (store_conn_open(s, &s->writer, 1, e) != 0)
		goto out;
	if (db_migrate(s->writer.db, db_migrations, db_migrations_count, NULL, e) != 0)
		goto out;
	if (flags & STORE_READONLY)
		store_conn_close(&s->writer);
	else if (store_start_writer(s, e) != 0)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
	goto out;

	/* Unwinds a partial set-up of the locks (store_close only destroys
	 * them all together). */
nosync_s:
	pthread_mutex_destroy(&s->slock);
nosync_rc:
	pthread_cond_destroy(&s->rcond);
nosync_r:
	pthread_mutex_destroy(&s->rlock);
nosync_qc:
	pthread_cond_destroy(&s->qcond);
nosync_q:
	pthread_mutex_destroy(&s->qlock);
nosync:
	lerr_set(e, 500, LERR_STORE, "out of resources");
out:
	store_close(s);
	return rc;
}

/*
 * Lets the writer finish every queued job, stops it, then closes every
 * connection and frees s. The caller makes sure no other thread still uses
 * s. NULL-safe.
 */
void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->qlock);
		s->stopping = 1;
		pthread_cond_signal(&s->qcond);
		pthread_mutex_unlock(&s->qlock);
		pthread_join(s->thread, NULL);
	}
	for (i = 0; i < STORE_READERS; i++)
		store_conn_close(&s->readers[i]);
	/* Last, so that its close checkpoints the WAL into the file. */
	store_conn_close(&s->writer);
	if (s->sync_init) {
		pthread_mutex_destroy(&s->qlock);
		pthread_cond_destroy(&s->qcond);
		pthread_mutex_destroy(&s->rlock);
		pthread_cond_destroy(&s->rcond);
		pthread_mutex_destroy(&s->slock);
		pthread_cond_destroy(&s->scond);
	}
	free(s->path);
	free(s);
}

/* Row reader: column 0 as an integer into *(int64_t *)arg. */
static int
store_row_int(sqlite3_stmt *st, void *arg, struct lerr *e)
{
	(void)e;
	*(int64_t *)arg = sqlite3_column_int64(st, 0);
	return 0;
}

/* Reads the schema version the database is at; -1 on failure. */
int
store_schema_version(struct store *s, int *version)
{
	const struct store_query x = {
		.q = Q_SCHEMA_VERSION, .what = "reading the schema version",
	};
	int64_t v;
	struct lerr e;

	if (s == NULL || version == NULL ||
	    store_lookup(s, &x, store_row_int, &v, &e) != 0 || v < 0 || v > INT_MAX)
		return -1;
	*version = (int)v;
	return 0;
}

/* ---- CAs ---- */

void
store_ca_free(struct store_ca *ca)
{
	if (ca == NULL)
		return;
	free(ca->der);
	free(ca);
}

/*
 * Records a CA certificate as active and audits it ("ca-create"); durable
 * on return. *id (may be NULL) receives the row id.
 */
int
store_ca_insert(struct store *s, const char *role, const char *subject,
		const char *fingerprint, int64_t not_before, int64_t not_after,
		const unsigned char *der, size_t der_len, int64_t *id, struct lerr *e)
{
	struct store_write wr;
	json_t *o = NULL;
	char *detail = NULL;
	int64_t now;
	int rc = -1;

	if (role == NULL || fingerprint == NULL || der == NULL || der_len == 0 ||
	    der_len > INT_MAX) {
		lerr_set(e, 400, LERR_BAD_REQUEST, "incomplete CA record");
		goto out;
	}
	now = (int64_t)time(NULL);
	/* json_pack refuses invalid UTF-8, so the audit detail is valid JSON. */
	o = json_pack("{s:s, s:s, s:I, s:I}", "role", role, "fingerprint", fingerprint,
		      "not_before", (json_int_t)not_before,
		      "not_after", (json_int_t)not_after);
	if (o == NULL || (detail = json_dumps(o, JSON_COMPACT)) == NULL) {
		lerr_set(e, 400, LERR_BAD_REQUEST, "CA record is not valid text");
		goto out;
	}
	memset(&wr, 0, sizeof(wr));
	wr.x = (struct store_query){
		Q_CA_INSERT, "recording the CA",
		{ store_arg_text(role), store_arg_text(subject),
		  store_arg_text(fingerprint), store_arg_int(not_before),
		  store_arg_int(not_after), store_arg_blob(der, der_len),
		  store_arg_int(now) },
	};
	wr.at = now;
	wr.actor = STORE_ACTOR;
	wr.event = "ca-create";
	wr.subject = subject;
	wr.detail = detail;
	if (store_write(s, &wr, e) != 0)
		goto out;
	if (id != NULL)
		*id = wr.id;
	rc = 0;
out:
	free(detail);
	json_decref(o);
	return rc;
}

/* Row reader: a row of Q_CA_ACTIVE into a new CA at *(struct store_ca **)arg. */
static int
store_ca_row(sqlite3_stmt *st, void *arg, struct lerr *e)
{
	struct store_ca *ca;
	int rc = -1;

	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		lerr_set(e, 500, LERR_STORE, "out of memory");
		goto out;
	}
	ca->id = sqlite3_column_int64(st, 0);
	if (store_col_text(st, 1, ca->role, sizeof(ca->role), e) != 0 ||
	    store_col_text(st, 2, ca->state, sizeof(ca->state), e) != 0 ||
	    store_col_text(st, 3, ca->subject, sizeof(ca->subject), e) != 0 ||
	    store_col_text(st, 4, ca->fingerprint, sizeof(ca->fingerprint), e) != 0)
		goto out;
	ca->not_before = sqlite3_column_int64(st, 5);
	ca->not_after = sqlite3_column_int64(st, 6);
	if (store_col_blob_dup(st, 7, &ca->der, &ca->der_len, e) != 0)
		goto out;
	*(struct store_ca **)arg = ca;
	ca = NULL;
	rc = 0;
out:
	store_ca_free(ca);
	return rc;
}

/*
 * The newest active CA of role; -1 with LERR_NOT_FOUND if none. *out is the
 * caller's (store_ca_free).
 */
int
store_ca_active(struct store *s, const char *role, struct store_ca **out, struct lerr *e)
{
	const struct store_query x = {
		Q_CA_ACTIVE, "looking up the CA", { store_arg_text(role) },
	};
	int lrc;

	if (out != NULL)
		*out = NULL;
	if (s == NULL || role == NULL || out == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_ca_active: bad arguments");
	if ((lrc = store_lookup(s, &x, store_ca_row, out, e)) > 0)
		return lerr_set(e, 404, LERR_NOT_FOUND, "no active %s CA", role);
	return lrc;
}

/* ---- serials ---- */

struct store_refill {
	void (*fill)(void *buf, size_t n);
	int64_t now;
	unsigned char serials[STORE_SERIAL_BATCH][STORE_SERIAL_LEN];
	size_t n;			/* out: serials reserved */
};

/*
 * Writer job: draws candidates until STORE_SERIAL_BATCH of them were new to
 * the serials table. INSERT OR IGNORE changes nothing for a serial that is
 * already there (drawn before, by anyone, ever): that one is dropped and
 * another drawn. A random source that keeps repeating itself ends in an
 * error instead of a loop.
 */
static int
store_refill_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_refill *r = arg;
	struct store_query x = {
		Q_SERIAL_INSERT, "reserving serial numbers",
		{ store_arg_null(), store_arg_int(r->now) },
	};
	unsigned char *cand;
	unsigned attempts = 0;
	int changed;

	r->n = 0;
	while (r->n < STORE_SERIAL_BATCH) {
		if (attempts++ >= STORE_SERIAL_ATTEMPTS)
			return lerr_set(e, 500, LERR_STORE, "no fresh serial number after %u "
					"draws: the random source repeats itself", attempts - 1);
		cand = r->serials[r->n];
		r->fill(cand, STORE_SERIAL_LEN);
		/* Positive (DER INTEGER) and exactly STORE_SERIAL_LEN bytes
		 * long (no leading zero byte to strip). */
		cand[0] &= 0x7f;
		if (cand[0] == 0)
			cand[0] = 1;
		x.args[0] = store_arg_blob(cand, STORE_SERIAL_LEN);
		if (store_exec(w, &x, &changed, e) != 0)
			return -1;
		if (changed == 1)
			r->n++;
	}
	return 0;
}

/*
 * Hands out one serial from the pool, refilling it with one durable batch
 * when empty. Only one caller refills at a time; the others wait for it.
 */
int
store_serial_reserve(struct store *s, unsigned char serial[STORE_SERIAL_LEN],
		     struct lerr *e)
{
	struct store_refill r;
	int locked = 0;
	int rc = -1;
	int frc;
	size_t i;

	if (s == NULL || serial == NULL) {
		lerr_set(e, 500, LERR_INTERNAL, "store_serial_reserve: bad arguments");
		goto out;
	}
	pthread_mutex_lock(&s->slock);
	locked = 1;
	for (;;) {
		if (s->pool_n > 0) {
			s->pool_n--;
			memcpy(serial, s->pool[s->pool_n], STORE_SERIAL_LEN);
			rc = 0;
			goto out;
		}
		if (!s->refilling)
			break;
		pthread_cond_wait(&s->scond, &s->slock);
	}
	s->refilling = 1;
	memset(&r, 0, sizeof(r));
	r.fill = s->fill != NULL ? s->fill : randombytes_buf;
	r.now = (int64_t)time(NULL);
	pthread_mutex_unlock(&s->slock);
	locked = 0;

	frc = store_submit(s, store_refill_run, &r, e);

	pthread_mutex_lock(&s->slock);
	locked = 1;
	s->refilling = 0;
	pthread_cond_broadcast(&s->scond);
	if (frc != 0)
		goto out;
	/* Only the refiller adds to the pool, so it is empty here; keep the
	 * bound check anyway. Serials are handed out in the order drawn. */
	memcpy(serial, r.serials[0], STORE_SERIAL_LEN);
	for (i = r.n; i > 1 && s->pool_n < STORE_SERIAL_BATCH; i--)
		memcpy(s->pool[s->pool_n++], r.serials[i - 1], STORE_SERIAL_LEN);
	rc = 0;
out:
	if (locked)
		pthread_mutex_unlock(&s->slock);
	return rc;
}

/*
 * Tests only. Also drops the serials already in the pool (they stay
 * reserved, unused) so that the next reservation draws from fill.
 */
void
store_set_random(struct store *s, void (*fill)(void *buf, size_t n))
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->slock);
	s->fill = fill;
	s->pool_n = 0;
	pthread_mutex_unlock(&s->slock);
}

/* ---- certificates ---- */

void
store_cert_free(struct store_cert *c)
{
	if (c == NULL)
		return;
	free(c->sans);
	free(c->der);
	free(c);
}

struct store_cert_job {
	const struct store_cert *c;
	const char *actor;
	const char *status;
	const char *detail;
	int64_t now;
	char hex[2 * STORE_SERIAL_MAX + 1];
};

/*
 * Inside a certificate job: turns request id from pending into issued.
 * LERR_CONFLICT (naming its state) when it is not pending or unknown.
 */
static int
store_cert_claim_request(struct store_conn *w, const char *id, int64_t now,
			 struct lerr *e)
{
	const struct store_query claim = {
		Q_CERT_REQUEST_CLAIM, "claiming the request",
		{ store_arg_text(id), store_arg_int(now) },
	};
	const struct store_query find = {
		Q_CERT_REQUEST_STATE, "reading the request", { store_arg_text(id) },
	};
	char state[16];
	struct store_text_buf b = { state, sizeof(state) };
	int changed, lrc;

	if (store_exec(w, &claim, &changed, e) != 0)
		return -1;
	if (changed == 1)
		return 0;
	/* Not claimed: say why. */
	if ((lrc = store_conn_lookup(w, &find, store_row_text, &b, e)) < 0)
		return -1;
	if (lrc > 0)
		return lerr_set(e, 409, LERR_CONFLICT, "no request %s", id);
	return lerr_set(e, 409, LERR_CONFLICT, "request %s is %s", id, state);
}

/*
 * Inside a certificate job: marks pre-authorisation id used.
 * LERR_CONFLICT when it was used already or is unknown.
 */
static int
store_cert_use_preauth(struct store_conn *w, const char *id, int64_t now,
		       struct lerr *e)
{
	const struct store_query use = {
		Q_CERT_PREAUTH_USE, "consuming the pre-authorisation",
		{ store_arg_text(id), store_arg_int(now) },
	};
	const struct store_query find = {
		Q_CERT_PREAUTH_STATE, "reading the pre-authorisation",
		{ store_arg_text(id) },
	};
	int changed, lrc;

	if (store_exec(w, &use, &changed, e) != 0)
		return -1;
	if (changed == 1)
		return 0;
	if ((lrc = store_conn_lookup(w, &find, NULL, NULL, e)) < 0)
		return -1;
	if (lrc == 0)
		return lerr_set(e, 409, LERR_CONFLICT,
				"pre-authorisation %s was used already", id);
	return lerr_set(e, 409, LERR_CONFLICT, "no pre-authorisation for %s", id);
}

/*
 * Writer job: marks the serial used (it must be reserved and unused),
 * claims the request and consumes the pre-authorisation when given, adds
 * the certificate row, one cert_names row per name, links the request to
 * the certificate and appends the "issue" audit row. Any failure rolls the
 * whole job back (savepoint).
 */
static int
store_cert_insert_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_cert_job *j = arg;
	const struct store_cert *c = j->c;
	const char *request = c->request_id[0] != '\0' ? c->request_id : NULL;
	const char *preauth = c->preauth_id[0] != '\0' ? c->preauth_id : NULL;
	const char *sans = c->sans != NULL ? c->sans : "";
	struct store_query x = {
		Q_SERIAL_USE, "marking the serial used",
		{ store_arg_blob(c->serial, c->serial_len) },
	};
	int64_t cert_id;
	int changed;

	if (store_exec(w, &x, &changed, e) != 0)
		return -1;
	if (changed != 1)
		return lerr_set(e, 409, LERR_CONFLICT,
				"serial %s not reserved or already used", j->hex);
	if (request != NULL && store_cert_claim_request(w, request, j->now, e) != 0)
		return -1;
	if (preauth != NULL && store_cert_use_preauth(w, preauth, j->now, e) != 0)
		return -1;

	x = (struct store_query){
		Q_CERT_INSERT, "recording the certificate",
		{ store_arg_blob(c->serial, c->serial_len), store_arg_int(c->ca_id),
		  store_arg_text(c->device_id), store_arg_text(c->subject),
		  store_arg_text(sans), store_arg_text(c->profile),
		  store_arg_text(j->status), store_arg_int(c->not_before),
		  store_arg_int(c->not_after),
		  store_arg_int(c->issued_at != 0 ? c->issued_at : j->now),
		  c->revoked_at != 0 ? store_arg_int(c->revoked_at) : store_arg_null(),
		  store_arg_blob(c->key_id, sizeof(c->key_id)), store_arg_text(request),
		  store_arg_blob(c->der, c->der_len), store_arg_text(preauth) },
	};
	if (store_exec(w, &x, NULL, e) != 0)
		return -1;
	cert_id = sqlite3_last_insert_rowid(w->db);

	x = (struct store_query){
		Q_CERT_NAMES_INSERT, "recording the certificate's names",
		{ store_arg_int(cert_id), store_arg_text(sans) },
	};
	if (store_exec(w, &x, NULL, e) != 0)
		return -1;
	if (request != NULL) {
		x = (struct store_query){
			Q_CERT_REQUEST_LINK, "linking the request",
			{ store_arg_text(request), store_arg_int(cert_id) },
		};
		if (store_exec(w, &x, NULL, e) != 0)
			return -1;
	}
	return store_audit_row(w, j->now, j->actor, "issue", c->device_id, j->detail, e);
}

/* An insertion on its way to the disk (see store_cert_submit). */
struct store_ticket {
	struct store *s;
	struct store_job job;
	struct store_cert_job cj;
	char *detail;
};

/* Checks c and builds its job and audit detail into t. */
static int
store_cert_prepare(const struct store_cert *c, const char *actor, struct store_ticket *t,
		   struct lerr *e)
{
	struct store_cert_job *j = &t->cj;
	json_t *o;

	if (c == NULL || actor == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_cert_insert: bad arguments");
	if (c->serial_len == 0 || c->serial_len > STORE_SERIAL_MAX ||
	    c->der == NULL || c->der_len == 0 || c->der_len > INT_MAX ||
	    !store_fits(c->device_id, sizeof(c->device_id)) ||
	    !store_fits(c->subject, sizeof(c->subject)) ||
	    !store_fits(c->profile, sizeof(c->profile)) ||
	    !store_fits(c->status, sizeof(c->status)) ||
	    !store_fits(c->request_id, sizeof(c->request_id)) ||
	    !store_fits(c->preauth_id, sizeof(c->preauth_id)))
		return lerr_set(e, 400, LERR_BAD_REQUEST, "malformed certificate record");
	if (strcmp(c->profile, "device") != 0 && strcmp(c->profile, "gateway") != 0)
		return lerr_set(e, 400, LERR_BAD_REQUEST, "unknown certificate profile");
	j->c = c;
	j->actor = actor;
	j->status = c->status[0] != '\0' ? c->status : "valid";
	j->now = (int64_t)time(NULL);
	store_hex(c->serial, c->serial_len, j->hex, sizeof(j->hex));
	o = json_pack("{s:s, s:s, s:I}", "serial", j->hex, "profile", c->profile,
		      "not_after", (json_int_t)c->not_after);
	if (o != NULL && c->request_id[0] != '\0' &&
	    json_object_set_new(o, "request", json_string(c->request_id)) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (o != NULL && c->preauth_id[0] != '\0' &&
	    json_object_set_new(o, "preauth", json_string(c->preauth_id)) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (store_json_detail(o, &t->detail, e) != 0)
		return -1;
	j->detail = t->detail;
	t->job.run = store_cert_insert_run;
	t->job.arg = j;
	return 0;
}

/*
 * Queues the insertion store_cert_insert() makes and returns at once with
 * a ticket; the row is durable only once store_ticket_wait() returned 0.
 * c and actor must stay valid until then. Lets one thread sign the next
 * certificate while the previous one is being committed.
 */
int
store_cert_submit(struct store *s, const struct store_cert *c, const char *actor,
		  struct store_ticket **out, struct lerr *e)
{
	struct store_ticket *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "out of memory");
	t->s = s;
	if (store_cert_prepare(c, actor, t, e) != 0 || store_enqueue(s, &t->job, e) != 0) {
		free(t->detail);
		free(t);
		return -1;
	}
	*out = t;
	return 0;
}

int
store_ticket_wait(struct store_ticket *t, struct lerr *e)
{
	int rc = store_wait(t->s, &t->job, e);

	free(t->detail);
	free(t);
	return rc;
}

/*
 * Inserts a certificate row (see store.h); returns once durable. c stays
 * the caller's.
 */
int
store_cert_insert(struct store *s, const struct store_cert *c, const char *actor,
		  struct lerr *e)
{
	struct store_ticket *t;

	if (store_cert_submit(s, c, actor, &t, e) != 0)
		return -1;
	return store_ticket_wait(t, e);
}

/*
 * Fills c from a row of STORE_CERT_COLS; c->sans and c->der are allocated
 * (freed by the caller, also on failure).
 */
static int
store_cert_from_row(sqlite3_stmt *st, struct store_cert *c, struct lerr *e)
{
	size_t key_len = 0;

	c->id = sqlite3_column_int64(st, 0);
	if (store_col_blob(st, 1, c->serial, sizeof(c->serial), &c->serial_len, e) != 0)
		return -1;
	c->ca_id = sqlite3_column_int64(st, 2);
	if (store_col_text(st, 3, c->device_id, sizeof(c->device_id), e) != 0 ||
	    store_col_text(st, 4, c->subject, sizeof(c->subject), e) != 0 ||
	    store_col_text_dup(st, 5, &c->sans, e) != 0 ||
	    store_col_text(st, 6, c->profile, sizeof(c->profile), e) != 0 ||
	    store_col_text(st, 7, c->status, sizeof(c->status), e) != 0)
		return -1;
	c->not_before = sqlite3_column_int64(st, 8);
	c->not_after = sqlite3_column_int64(st, 9);
	c->issued_at = sqlite3_column_int64(st, 10);
	c->revoked_at = sqlite3_column_int64(st, 11);	/* NULL reads as 0 */
	if (store_col_blob(st, 12, c->key_id, sizeof(c->key_id), &key_len, e) != 0 ||
	    store_col_text(st, 13, c->request_id, sizeof(c->request_id), e) != 0 ||
	    store_col_blob_dup(st, 14, &c->der, &c->der_len, e) != 0 ||
	    store_col_text(st, 15, c->preauth_id, sizeof(c->preauth_id), e) != 0)
		return -1;
	return 0;
}

/*
 * Row reader: a row of STORE_CERT_COLS into a new certificate at
 * *(struct store_cert **)arg (the caller's).
 */
static int
store_cert_row(sqlite3_stmt *st, void *arg, struct lerr *e)
{
	struct store_cert *cert;

	if ((cert = calloc(1, sizeof(*cert))) == NULL)
		return lerr_set(e, 500, LERR_STORE, "out of memory");
	if (store_cert_from_row(st, cert, e) != 0) {
		store_cert_free(cert);
		return -1;
	}
	*(struct store_cert **)arg = cert;
	return 0;
}

/*
 * Looks a certificate up by serial; -1 with LERR_NOT_FOUND if unknown.
 * *out is the caller's (store_cert_free).
 */
int
store_cert_by_serial(struct store *s, const unsigned char *serial, size_t len,
		     struct store_cert **out, struct lerr *e)
{
	const struct store_query x = {
		Q_CERT_BY_SERIAL, "looking up the certificate",
		{ store_arg_blob(serial, len) },
	};
	char hex[2 * STORE_SERIAL_MAX + 1];
	int lrc;

	if (out != NULL)
		*out = NULL;
	if (s == NULL || serial == NULL || out == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_cert_by_serial: bad arguments");
	store_hex(serial, len, hex, sizeof(hex));
	if (len == 0 || len > STORE_SERIAL_MAX)
		return lerr_set(e, 404, LERR_NOT_FOUND, "no certificate with serial %s", hex);
	if ((lrc = store_lookup(s, &x, store_cert_row, out, e)) > 0)
		return lerr_set(e, 404, LERR_NOT_FOUND, "no certificate with serial %s", hex);
	return lrc;
}

/*
 * The newest certificate (any status) for a key; -1 with LERR_NOT_FOUND if
 * the key never had one. *out is the caller's (store_cert_free).
 */
int
store_cert_by_key(struct store *s, const unsigned char key_id[32],
		  struct store_cert **out, struct lerr *e)
{
	const struct store_query x = {
		Q_CERT_BY_KEY, "looking up the certificate",
		{ store_arg_blob(key_id, 32) },
	};
	int lrc;

	if (out != NULL)
		*out = NULL;
	if (s == NULL || key_id == NULL || out == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_cert_by_key: bad arguments");
	if ((lrc = store_lookup(s, &x, store_cert_row, out, e)) > 0)
		return lerr_set(e, 404, LERR_NOT_FOUND, "no certificate for this key");
	return lrc;
}

/* store_cert_each's fn and its argument. */
struct store_cert_visit {
	int (*fn)(const struct store_cert *c, void *arg);
	void *arg;
};

/* Row reader for store_cert_each: hands one certificate to the caller's fn
 * (1 when it asks to stop). */
static int
store_cert_each_row(sqlite3_stmt *st, void *arg, struct lerr *e)
{
	struct store_cert_visit *v = arg;
	struct store_cert row;
	int rc = -1;

	memset(&row, 0, sizeof(row));
	if (store_cert_from_row(st, &row, e) != 0)
		goto out;
	rc = v->fn(&row, v->arg) != 0;
out:
	free(row.sans);
	free(row.der);
	return rc;
}

/*
 * Calls fn for each certificate, newest first, at most limit (0 = all).
 * fn holds one of the read connections meanwhile: it should not call back
 * into the store more than the pool can serve.
 */
int
store_cert_each(struct store *s, size_t limit,
		int (*fn)(const struct store_cert *c, void *arg), void *arg, struct lerr *e)
{
	const struct store_query x = {
		Q_CERT_EACH, "listing certificates",
		{ store_arg_int(store_limit(limit)) },
	};
	struct store_cert_visit v = { fn, arg };

	if (s == NULL || fn == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_cert_each: bad arguments");
	return store_each(s, &x, store_cert_each_row, &v, e);
}

/* Counts the certificate rows. */
int
store_cert_count(struct store *s, int64_t *n, struct lerr *e)
{
	const struct store_query x = {
		.q = Q_CERT_COUNT, .what = "counting certificates",
	};
	int lrc;

	if (s == NULL || n == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_cert_count: bad arguments");
	/* count(*) always answers one row; none would be the database's fault. */
	if ((lrc = store_lookup(s, &x, store_row_int, n, e)) > 0)
		return lerr_set(e, 500, LERR_STORE, "counting certificates: no answer");
	return lrc;
}

/*
 * Runs an ownership query x (?1 a name or a key id, ?2 now, ?3 the asking
 * device). Returns 1 with owner filled when another device holds it, 0
 * when none does, -1 on error.
 */
static int
store_owner_query(struct store *s, const struct store_query *x, char owner[65],
		  struct lerr *e)
{
	struct store_text_buf b = { owner, 65 };
	int lrc;

	if ((lrc = store_lookup(s, x, store_row_text, &b, e)) < 0)
		return -1;
	if (lrc > 0)
		owner[0] = '\0';
	return lrc == 0;
}

/*
 * Which device other than device_id holds name ("DNS:x", "IP:a.b.c.d") in
 * a certificate valid and unexpired at now: 1 with owner filled, 0 when
 * none, -1 on error. DNS names compare case-insensitively.
 */
int
store_name_owner(struct store *s, const char *name, const char *device_id, int64_t now,
		 char owner[65], struct lerr *e)
{
	const struct store_query x = {
		Q_NAME_OWNER, "looking up an owner",
		{ store_arg_text(name), store_arg_int(now), store_arg_text(device_id) },
	};

	if (s == NULL || name == NULL || device_id == NULL || owner == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_name_owner: bad arguments");
	return store_owner_query(s, &x, owner, e);
}

/* Likewise for a key: 1 with owner filled, 0 when none, -1 on error. */
int
store_key_owner(struct store *s, const unsigned char key_id[32], const char *device_id,
		int64_t now, char owner[65], struct lerr *e)
{
	const struct store_query x = {
		Q_KEY_OWNER, "looking up an owner",
		{ store_arg_blob(key_id, 32), store_arg_int(now), store_arg_text(device_id) },
	};

	if (s == NULL || key_id == NULL || device_id == NULL || owner == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_key_owner: bad arguments");
	return store_owner_query(s, &x, owner, e);
}

int
store_device_holder(struct store *s, const char *device_id, const unsigned char key_id[32],
		    int64_t now, struct lerr *e)
{
	const struct store_query x = {
		Q_DEVICE_HOLDER, "looking up a device",
		{ store_arg_blob(key_id, 32), store_arg_int(now), store_arg_text(device_id) },
	};
	char owner[65];

	if (s == NULL || key_id == NULL || device_id == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_device_holder: bad arguments");
	return store_owner_query(s, &x, owner, e);
}

struct store_revoke_job {
	const unsigned char *serial;
	size_t len;
	const char *reason, *actor, *detail;
	char hex[2 * STORE_SERIAL_MAX + 1];
	int64_t now;
	char device[65], status[16];	/* the certificate's, as found */
};

/* Row reader: Q_CERT_REVOKE_FIND's device and status into the job. */
static int
store_revoke_row(sqlite3_stmt *st, void *arg, struct lerr *e)
{
	struct store_revoke_job *j = arg;

	if (store_col_text(st, 0, j->device, sizeof(j->device), e) != 0 ||
	    store_col_text(st, 1, j->status, sizeof(j->status), e) != 0)
		return -1;
	return 0;
}

/*
 * Writer job: valid -> revoked, with its "revoke" audit row naming the
 * device. LERR_NOT_FOUND for an unknown serial, LERR_CONFLICT when it is
 * revoked already.
 */
static int
store_cert_revoke_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_revoke_job *j = arg;
	struct store_query x = {
		Q_CERT_REVOKE_FIND, "looking up the certificate",
		{ store_arg_blob(j->serial, j->len) },
	};
	int changed, lrc;

	if ((lrc = store_conn_lookup(w, &x, store_revoke_row, j, e)) < 0)
		return -1;
	if (lrc > 0)
		return lerr_set(e, 404, LERR_NOT_FOUND, "no certificate with serial %s",
				j->hex);
	if (strcmp(j->status, "valid") != 0)
		return lerr_set(e, 409, LERR_CONFLICT, "certificate %s is %s already",
				j->hex, j->status);
	x = (struct store_query){
		Q_CERT_REVOKE, "revoking the certificate",
		{ store_arg_blob(j->serial, j->len), store_arg_int(j->now),
		  store_arg_text(j->reason) },
	};
	if (store_exec(w, &x, &changed, e) != 0)
		return -1;
	if (changed != 1)
		return lerr_set(e, 409, LERR_CONFLICT, "certificate %s changed meanwhile",
				j->hex);
	return store_audit_row(w, j->now, j->actor, "revoke", j->device, j->detail, e);
}

/* Marks the certificate with serial revoked (reason may be NULL); durable
 * on return. */
int
store_cert_revoke(struct store *s, const unsigned char *serial, size_t len,
		  const char *reason, const char *actor, struct lerr *e)
{
	struct store_revoke_job j;
	char *detail = NULL;
	int rc = -1;

	if (s == NULL || serial == NULL || actor == NULL) {
		lerr_set(e, 500, LERR_INTERNAL, "store_cert_revoke: bad arguments");
		goto out;
	}
	memset(&j, 0, sizeof(j));
	store_hex(serial, len, j.hex, sizeof(j.hex));
	if (len == 0 || len > STORE_SERIAL_MAX) {
		lerr_set(e, 404, LERR_NOT_FOUND, "no certificate with serial %s", j.hex);
		goto out;
	}
	if (store_json_detail(reason != NULL ?
	    json_pack("{s:s, s:s}", "serial", j.hex, "reason", reason) :
	    json_pack("{s:s}", "serial", j.hex), &detail, e) != 0)
		goto out;
	j.serial = serial;
	j.len = len;
	j.reason = reason;
	j.actor = actor;
	j.detail = detail;
	j.now = (int64_t)time(NULL);
	if (store_submit(s, store_cert_revoke_run, &j, e) != 0)
		goto out;
	rc = 0;
out:
	free(detail);
	return rc;
}

/* ---- settings ---- */

/* Sets (or replaces) a setting; durable on return. */
int
store_setting_set(struct store *s, const char *key, const char *value, struct lerr *e)
{
	struct store_write wr = {
		.x = { Q_SETTING_SET, "saving a setting",
		       { store_arg_text(key), store_arg_text(value) } },
	};

	if (key == NULL || value == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_setting_set: bad arguments");
	return store_write(s, &wr, e);
}

/* Reads a setting into a new string (caller frees); LERR_NOT_FOUND if unset. */
int
store_setting_get(struct store *s, const char *key, char **value, struct lerr *e)
{
	const struct store_query x = {
		Q_SETTING_GET, "reading a setting", { store_arg_text(key) },
	};
	int lrc;

	if (value != NULL)
		*value = NULL;
	if (s == NULL || key == NULL || value == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_setting_get: bad arguments");
	if ((lrc = store_lookup(s, &x, store_row_text_dup, value, e)) > 0)
		return lerr_set(e, 404, LERR_NOT_FOUND, "setting %s is not set", key);
	return lrc;
}

/* ---- audit ---- */

struct store_audit_job {
	int64_t at;
	const char *actor, *event, *subject, *detail;
};

/* Writer job: one audit row. */
static int
store_audit_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_audit_job *j = arg;

	return store_audit_row(w, j->at, j->actor, j->event, j->subject, j->detail, e);
}

/* Appends one audit event; durable on return. */
int
store_audit(struct store *s, const char *actor, const char *event,
	    const char *subject, const char *detail_json, struct lerr *e)
{
	struct store_audit_job j;

	if (actor == NULL || event == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_audit: bad arguments");
	j.at = (int64_t)time(NULL);
	j.actor = actor;
	j.event = event;
	j.subject = subject;
	j.detail = detail_json;
	return store_submit(s, store_audit_run, &j, e);
}

/* store_audit_each's fn and its argument. */
struct store_audit_visit {
	int (*fn)(const struct store_audit_row *r, void *arg);
	void *arg;
};

/* Row reader for store_audit_each: hands one audit row to the caller's fn
 * (1 when it asks to stop). */
static int
store_audit_each_row(sqlite3_stmt *st, void *arg, struct lerr *e)
{
	struct store_audit_visit *v = arg;
	struct store_audit_row row;

	row.id = sqlite3_column_int64(st, 0);
	row.at = sqlite3_column_int64(st, 1);
	row.actor = (const char *)sqlite3_column_text(st, 2);
	row.event = (const char *)sqlite3_column_text(st, 3);
	row.subject = (const char *)sqlite3_column_text(st, 4);
	row.detail = (const char *)sqlite3_column_text(st, 5);
	if (row.actor == NULL || row.event == NULL)
		return lerr_set(e, 500, LERR_STORE, "audit row %lld is incomplete",
				(long long)row.id);
	return v->fn(&row, v->arg) != 0;
}

/*
 * Calls fn for each audit row, newest first, at most limit (0 = all); the
 * strings in the row are only valid during the call.
 */
int
store_audit_each(struct store *s, size_t limit,
		 int (*fn)(const struct store_audit_row *r, void *arg), void *arg,
		 struct lerr *e)
{
	const struct store_query x = {
		Q_AUDIT_EACH, "reading the audit log",
		{ store_arg_int(store_limit(limit)) },
	};
	struct store_audit_visit v = { fn, arg };

	if (s == NULL || fn == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_audit_each: bad arguments");
	return store_each(s, &x, store_audit_each_row, &v, e);
}
