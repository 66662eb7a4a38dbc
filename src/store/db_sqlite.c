/*
 * db_sqlite.c - the SQLite driver (db.h): the default store, one file.
 *
 * Owns: opening the database file (creating it 0600 for init), the
 * settings of each connection (WAL, foreign keys, synchronous=FULL for
 * the writer; query_only for readers), each connection's cache of
 * prepared statements (SQLITE_PREPARE_PERSISTENT, prepared on first use,
 * reset after each), binding, stepping, telling errors apart, and the
 * write connection's WAL checkpointer (wal.c), started and stopped with it.
 *
 * Every connection is opened NOMUTEX: the engine guarantees that one
 * thread at a time uses it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/log.h"
#include "store/db.h"
#include "store/db_sqlite.h"
#include "store/internal.h"

#define SQLITE_BUSY_MS		5000
#define SQLITE_PAGE_SIZE_STR	"1024"
#define SQLITE_READER_CACHE	"-256"	/* KiB of page cache per read connection */

struct store_db {
	sqlite3 *db;
	sqlite3_stmt *st[Q_COUNT];
	char *path;
	enum store_role role;
	unsigned flags;
	struct store_wal *wal;		/* the writer's, unless read-only */
};

/* ---- errors ---- */

/*
 * What a disk that cannot take a write is called in the message, by
 * SQLite's primary result code; NULL for every other failure. These are
 * faults of the machine, not of the request, and they clear (space freed,
 * the disk back, the file made writable): the caller is told to come back
 * (LERR_STORE_UNAVAILABLE, 503) instead of being answered a 500.
 */
static const char *
sqlite_disk_fault(int x)
{
	switch (x & 0xff) {
	case SQLITE_FULL:
		return "the certificate store's disk is full";
	case SQLITE_IOERR:
		/* SQLite files an allocation failure in its I/O layer here too.
		 * A file system the kernel remounted read-only, or a full disk
		 * met growing the -shm file, come here as well: SQLite does
		 * not keep the system's error of a WAL write (its
		 * sqlite3_system_errno is errno at the time it reports, not of
		 * the call that failed), so they are named by what they do. */
		if (x == SQLITE_IOERR_NOMEM)
			return NULL;
		return "the certificate store's disk failed with an I/O error";
	case SQLITE_READONLY:
		return "the certificate store is read-only";
	default:
		return NULL;
	}
}

int
store_sqlite_err(sqlite3 *db, struct lerr *e, const char *what)
{
	int x = sqlite3_extended_errcode(db);
	const char *fault;

	if (x == SQLITE_CONSTRAINT_UNIQUE || x == SQLITE_CONSTRAINT_PRIMARYKEY)
		return lerr_set(e, LERR_CONFLICT, "%s: %s", what, sqlite3_errmsg(db));
	if ((fault = sqlite_disk_fault(x)) != NULL)
		return lerr_set(e, LERR_STORE_UNAVAILABLE, "%s: %s failed (%s); try again later",
				fault, what, sqlite3_errmsg(db));
	return lerr_set(e, LERR_STORE, "%s: %s", what, sqlite3_errmsg(db));
}

static enum store_violation
sqlite_violation(sqlite3 *db)
{
	switch (sqlite3_extended_errcode(db)) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return STORE_VIOLATION_UNIQUE;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return STORE_VIOLATION_FOREIGN_KEY;
	default:
		return STORE_VIOLATION_NONE;
	}
}

sqlite3 *
store_sqlite_handle(struct store_db *db)
{
	return db->db;
}

/* ---- rows ---- */

static int64_t
sqlite_get_int(void *h, int col)
{
	return sqlite3_column_int64(h, col);
}

static int
sqlite_get_null(void *h, int col)
{
	return sqlite3_column_type(h, col) == SQLITE_NULL;
}

static const char *
sqlite_get_text(void *h, int col)
{
	return (const char *)sqlite3_column_text(h, col);
}

static const void *
sqlite_get_blob(void *h, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(h, col);
	int n = sqlite3_column_bytes(h, col);

	*len = p != NULL && n > 0 ? (size_t)n : 0;
	return p;
}

static int
sqlite_count(void *h)
{
	return sqlite3_column_count(h);
}

static const char *
sqlite_name(void *h, int col)
{
	const char *n = sqlite3_column_name(h, col);

	return n != NULL ? n : "column";
}

static const struct store_row_ops sqlite_row_ops = {
	sqlite_get_int, sqlite_get_null, sqlite_get_text, sqlite_get_blob,
	sqlite_count, sqlite_name,
};

/* ---- connections ---- */

/*
 * Runs a constant PRAGMA and, when want is non-NULL, checks that the first
 * column of its answer equals want (case-insensitively).
 */
static int
sqlite_pragma(sqlite3 *db, const char *sql, const char *want, struct lerr *e)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *v;
	int rc = -1;
	int src;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_sqlite_err(db, e, sql);
		goto out;
	}
	src = sqlite3_step(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		store_sqlite_err(db, e, sql);
		goto out;
	}
	if (want != NULL && (src != SQLITE_ROW ||
	    (v = sqlite3_column_text(st, 0)) == NULL ||
	    sqlite3_stricmp((const char *)v, want) != 0)) {
		lerr_set(e, LERR_STORE, "%s: not accepted by the database", sql);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Finalizes the cached statements and closes the SQLite connection. */
static void
sqlite_disconnect(struct store_db *d)
{
	size_t i;

	for (i = 0; i < Q_COUNT; i++) {
		sqlite3_finalize(d->st[i]);
		d->st[i] = NULL;
	}
	if (d->db != NULL && sqlite3_close(d->db) != SQLITE_OK)
		log_err("closing the database: %s", sqlite3_errmsg(d->db));
	d->db = NULL;
}

/*
 * Opens the SQLite connection of d on its file (never creating it). The
 * write connection gets WAL, foreign keys and synchronous=FULL; a read
 * connection is made query_only. On failure d->db is left closed.
 */
static int
sqlite_connect(struct store_db *d, struct lerr *e)
{
	int rc = -1;

	memset(d->st, 0, sizeof(d->st));
	if (sqlite3_open_v2(d->path, &d->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		lerr_set(e, LERR_STORE, "opening %s: %s", d->path,
			 d->db != NULL ? sqlite3_errmsg(d->db) : "out of memory");
		goto out;
	}
	if (sqlite3_busy_timeout(d->db, SQLITE_BUSY_MS) != SQLITE_OK) {
		store_sqlite_err(d->db, e, "setting the busy timeout");
		goto out;
	}
	if (d->role == STORE_ROLE_WRITER) {
		/* A read-only store may sit on a file it cannot write: it
		 * accepts whatever journal mode the file already has. */
		if (sqlite_pragma(d->db, "PRAGMA page_size = " SQLITE_PAGE_SIZE_STR, NULL, e) != 0 ||
		    sqlite_pragma(d->db, "PRAGMA journal_mode = WAL",
		    (d->flags & STORE_READONLY) ? NULL : "wal", e) != 0 ||
		    sqlite_pragma(d->db, "PRAGMA foreign_keys = ON", NULL, e) != 0 ||
		    sqlite_pragma(d->db, "PRAGMA synchronous = FULL", NULL, e) != 0 ||
		    /* Statement journals inside a batch stay in memory instead
		     * of a file created and unlinked in /var/tmp each time. */
		    sqlite_pragma(d->db, "PRAGMA temp_store = MEMORY", NULL, e) != 0)
			goto out;
	} else {
		/* A reader's cache is dropped whenever another connection
		 * committed since its last read, which under load is every
		 * read: a small one costs nothing and keeps the pool's memory
		 * down. */
		if (sqlite_pragma(d->db, "PRAGMA query_only = ON", NULL, e) != 0 ||
		    sqlite_pragma(d->db, "PRAGMA cache_size = " SQLITE_READER_CACHE, NULL, e) != 0)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		sqlite_disconnect(d);
	return rc;
}

/*
 * Flushes the directory holding path, so that a database file just created
 * survives a crash (SQLite syncs the file's contents, not its name).
 */
static int
sqlite_sync_dir(const char *path, struct lerr *e)
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
		lerr_set(e, LERR_STORE, "out of memory");
		goto out;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		lerr_set(e, LERR_STORE, "syncing %s: %s", dir, strerror(errno));
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
sqlite_ensure_file(const char *path, int create, struct lerr *e)
{
	struct stat sb;
	int fd;

	if (stat(path, &sb) == 0) {
		if (!S_ISREG(sb.st_mode))
			return lerr_set(e, LERR_STORE, "%s is not a regular file", path);
		return 0;
	}
	if (errno != ENOENT)
		return lerr_set(e, LERR_STORE, "%s: %s", path, strerror(errno));
	if (!create)
		return lerr_set(e, LERR_NOT_FOUND, "no database at %s: run lanca init",
				path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno != EEXIST)
		return lerr_set(e, LERR_STORE, "creating %s: %s", path, strerror(errno));
	if (fd >= 0) {
		close(fd);
		return sqlite_sync_dir(path, e);
	}
	return 0;
}

static void
sqlite_close(struct store_db *d)
{
	if (d == NULL)
		return;
	store_wal_stop(d->wal, d->db);
	/* The writer last of all (the engine closes it after the readers),
	 * so that its close checkpoints the WAL into the file. */
	sqlite_disconnect(d);
	free(d->path);
	free(d);
}

static int
sqlite_open(const char *target, enum store_role role, unsigned flags, struct store_db **out,
	    struct lerr *e)
{
	struct store_db *d;

	*out = NULL;
	if (role == STORE_ROLE_WRITER &&
	    sqlite_ensure_file(target, (flags & STORE_CREATE) != 0, e) != 0)
		return -1;
	if ((d = calloc(1, sizeof(*d))) == NULL || (d->path = strdup(target)) == NULL) {
		free(d);
		return lerr_set(e, LERR_STORE, "out of memory");
	}
	d->role = role;
	d->flags = flags;
	if (sqlite_connect(d, e) != 0 ||
	    (role == STORE_ROLE_WRITER && !(flags & STORE_READONLY) &&
	     store_wal_start(d->path, d->db, &d->wal, e) != 0)) {
		sqlite_close(d);
		return -1;
	}
	*out = d;
	return 0;
}

/*
 * SQLite opens a file it may not write read-only, silently, and the
 * connection stays so: every write then fails with SQLITE_READONLY even
 * after the file became writable (a read-only mount gone, a mode fixed).
 * Before each batch a read-only write connection is opened afresh; the
 * new one takes over only when it can write. Writer thread only.
 */
static void
sqlite_writer_check(struct store_db *d)
{
	struct store_db fresh;
	struct lerr e;

	if (sqlite3_db_readonly(d->db, "main") != 1)
		return;
	memset(&fresh, 0, sizeof(fresh));
	fresh.path = d->path;
	fresh.role = d->role;
	fresh.flags = d->flags;
	if (sqlite_connect(&fresh, &e) != 0)
		return;
	if (sqlite3_db_readonly(fresh.db, "main") != 0) {
		sqlite_disconnect(&fresh);
		return;
	}
	store_wal_attach(d->wal, d->db, fresh.db);
	sqlite_disconnect(d);
	d->db = fresh.db;
	memcpy(d->st, fresh.st, sizeof(d->st));
	log_info("the database %s can be written again", d->path);
}

/* ---- statements ---- */

/* Binds x's parameters to ?1, ?2... up to the first STORE_ARG_END;
 * SQLITE_OK or the first failure's code. Text and blobs are bound
 * SQLITE_STATIC: the caller's memory outlives the step. */
static int
sqlite_bind(sqlite3_stmt *st, const struct store_query *x)
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
			src = a->p == NULL ? sqlite3_bind_null(st, i + 1) :
			      sqlite3_bind_text(st, i + 1, a->p, -1, SQLITE_STATIC);
			break;
		case STORE_ARG_BLOB:
			src = a->len > INT_MAX ? SQLITE_TOOBIG :
			      sqlite3_bind_blob(st, i + 1, a->p, (int)a->len, SQLITE_STATIC);
			break;
		default:
			src = SQLITE_MISUSE;
			break;
		}
	}
	return src;
}

static int
sqlite_run(struct store_db *d, const struct store_query *x, const char *sql,
	   store_db_row_fn row, void *arg, int *changed, enum store_violation *violation,
	   struct lerr *e)
{
	struct store_row r = { &sqlite_row_ops, NULL };
	sqlite3_stmt *st;
	int rc = -1, src, rrc;

	if (violation != NULL)
		*violation = STORE_VIOLATION_NONE;
	if (d->st[x->q] == NULL &&
	    sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &d->st[x->q],
			       NULL) != SQLITE_OK) {
		d->st[x->q] = NULL;
		return store_sqlite_err(d->db, e, "preparing a statement");
	}
	st = d->st[x->q];
	r.h = st;
	if (sqlite_bind(st, x) != SQLITE_OK) {
		store_sqlite_err(d->db, e, x->what);
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (row == NULL)
			continue;
		if ((rrc = row(&r, arg, e)) < 0)
			goto out;
		if (rrc > 0) {
			src = SQLITE_DONE;
			break;
		}
	}
	if (src != SQLITE_DONE) {
		/* Read before the reset, which may replace the error. */
		if (violation != NULL)
			*violation = sqlite_violation(d->db);
		store_sqlite_err(d->db, e, x->what);
		goto out;
	}
	if (changed != NULL)
		*changed = sqlite3_changes(d->db);
	rc = 0;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* Runs sql, which may hold several statements (a whole migration file), to
 * completion. */
static int
sqlite_script(struct store_db *d, const char *sql, const char *what, struct lerr *e)
{
	sqlite3_stmt *st = NULL;
	const char *tail = sql;
	int rc = -1;
	int src;

	while (*tail != '\0') {
		/* A disk fault (full, failed, read-only) is named as one and
		 * clears: store_sqlite_err tells it apart. */
		if (sqlite3_prepare_v2(d->db, tail, -1, &st, &tail) != SQLITE_OK) {
			store_sqlite_err(d->db, e, what);
			goto out;
		}
		if (st == NULL)		/* only comments or blanks were left */
			break;
		while ((src = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (src != SQLITE_DONE) {
			store_sqlite_err(d->db, e, what);
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

static int
sqlite_begin_write(struct store_db *d, struct lerr *e)
{
	/* IMMEDIATE: the write lock now, not at the first write, so that
	 * what the batch reads cannot change before it commits. */
	return sqlite_script(d, "BEGIN IMMEDIATE", "starting a write", e);
}

static int
sqlite_begin_read(struct store_db *d, struct lerr *e)
{
	/* In WAL mode a read transaction reads one snapshot throughout. */
	return sqlite_script(d, "BEGIN", "starting a read", e);
}

static int
sqlite_in_transaction(struct store_db *d)
{
	return d->db != NULL && !sqlite3_get_autocommit(d->db);
}

static int
sqlite_has_table(struct store_db *d, const char *name, int *yes, struct lerr *e)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(d->db, "SELECT count(*) FROM sqlite_master "
			       "WHERE type = 'table' AND name = ?1", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		store_sqlite_err(d->db, e, "reading the schema");
		goto out;
	}
	*yes = sqlite3_column_int64(st, 0) != 0;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

static void
sqlite_stats(struct store_db *writer, struct store_stats *st)
{
	if (writer != NULL)
		store_wal_stats(writer->wal, st);
}

const struct store_driver store_driver_sqlite = {
	.name = "SQLite",
	.open = sqlite_open,
	.close = sqlite_close,
	.run = sqlite_run,
	.script = sqlite_script,
	.begin_write = sqlite_begin_write,
	.begin_read = sqlite_begin_read,
	.in_transaction = sqlite_in_transaction,
	.has_table = sqlite_has_table,
	.writer_check = sqlite_writer_check,
	.stats = sqlite_stats,
	.shared = 0,
	.site_lock = NULL,
};
