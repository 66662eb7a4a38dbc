/*
 * engine.c - the engine behind store.h: connections, the writer thread
 * and group commit, the helpers every family uses, serials and settings.
 * The query families live beside it (certs.c, requests.c, devices.c,
 * admins.c, audit.c...); migrations in migrate.c; the databases behind
 * it in the drivers (db.h: db_sqlite.c, db_pg.c).
 *
 * Connections: one write connection, owned by one writer thread, and a pool
 * of up to STORE_READERS read connections opened on first use and handed
 * out under a mutex. This file guarantees that one thread at a time uses
 * a connection.
 *
 * Writes: a caller wraps its work in a job and waits. The writer takes
 * every job queued at that moment, runs them in one write transaction
 * (the driver's begin_write, which takes the database's write lock) with
 * a SAVEPOINT around each (a failing job is rolled back alone) and wakes
 * the callers only after COMMIT returned, so nobody hears of success
 * before the row is durable (SQLite's synchronous=FULL, PostgreSQL's
 * synchronous_commit=on) and concurrent callers share one flush (group
 * commit).
 *
 * Statements: every query has a value in enum store_q (internal.h); its
 * text is in the table of the file that runs it (store_sql_engine below,
 * or a family's table). The driver prepares each once per connection on
 * first use.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "common/hex.h"
#include "store/db.h"
#include "store/migrate.h"
#include "common/lerr.h"
#include "common/log.h"
#include "store/store.h"
#include "store/internal.h"

#define STORE_READERS		4	/* read connections in the pool */
#define STORE_BATCH_MAX		256	/* jobs per group commit */
#define STORE_SERIAL_BATCH	32	/* serials reserved per write */
#define STORE_SERIAL_PREFIX	4	/* bytes of a serial that follow the clock */
#define STORE_SERIAL_ATTEMPTS	(STORE_SERIAL_BATCH * 8)

const char *const store_sql_engine[Q_COUNT] = {
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_SAVEPOINT] = "SAVEPOINT job",
	[Q_RELEASE] = "RELEASE job",
	[Q_ROLLBACK_TO] = "ROLLBACK TO job",
	[Q_SERIAL_INSERT] =
		"INSERT INTO serials (serial, reserved_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
	[Q_SERIAL_USE] =
		"UPDATE serials SET used = 1 WHERE serial = ? AND used = 0",
	[Q_SETTING_SET] =
		"INSERT INTO settings (key, value) VALUES (?1, ?2) "
		"ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[Q_SETTING_GET] = "SELECT value FROM settings WHERE key = ?",
};

/* Every family's table; a query's text is in exactly one of them. */
static const char *const *const store_sql_tables[] = {
	store_sql_engine, store_sql_certs, store_sql_requests, store_sql_devices,
	store_sql_admins, store_sql_audit, store_sql_onboard, store_sql_crls,
	store_sql_generations, store_sql_acme, store_sql_migrate,
};

struct store {
	char *path;			/* the SQLite file, or the PostgreSQL URL */
	const struct store_driver *drv;
	unsigned flags;
	int sync_init;			/* mutexes and condvars below exist */
	/* The gateway of a shared site this store serves (store_set_gateway),
	 * "" for the site's first: whose issuing CA store_ca_active finds. */
	char gateway[STORE_GATEWAY_MAX + 1];

	/* The writer: only its thread touches writer once it runs. */
	struct store_conn writer;
	pthread_t thread;
	int thread_started;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;		/* jobs queued, or stopping */
	struct store_job *qhead, *qtail;
	int stopping;
	struct store_first *first;	/* under qlock: store_audit_first's row, unwritten */
	atomic_uint_least64_t commits, jobs;
	atomic_uint_least64_t cert_changes;	/* batches that changed certificates */

	/* The site's lock (store_site_lock) and its own connection, opened
	 * on first use; sitelock is held from lock to unlock. */
	pthread_mutex_t sitelock;
	struct store_conn site;

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

/* An audit row kept by store_audit_first until a transaction can write it:
 * the writer writes it before every job of the first batch that commits. */
struct store_first {
	int64_t at;
	char *actor, *event, *subject, *detail;
};

static void
store_first_free(struct store_first *f)
{
	if (f == NULL)
		return;
	free(f->actor);
	free(f->event);
	free(f->subject);
	free(f->detail);
	free(f);
}

/* ---- helpers ---- */

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

/* True if the fixed-size char array holds a NUL-terminated string. */
int
store_fits(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* The SQL text of q from whichever family table holds it; NULL if none. */
const char *
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
			return lerr_set(e, LERR_INTERNAL,
					"store query %zu has %zu SQL texts", q, n);
	}
	return 0;
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
		lerr_set(e, LERR_BAD_REQUEST, "record is not valid UTF-8 text");
		goto out;
	}
	if ((*out = json_dumps(o, JSON_COMPACT)) == NULL) {
		lerr_set(e, LERR_STORE, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* Copies a text column into a fixed array; NULL reads as "". */
int
store_col_text(struct store_row *st, int col, char *dst, size_t size, struct lerr *e)
{
	const char *t = store_get_text(st, col);
	size_t n;

	if (t == NULL) {
		dst[0] = '\0';
		return 0;
	}
	if ((n = strlen(t)) >= size)
		return lerr_set(e, LERR_STORE, "stored %s is too long", store_get_name(st, col));
	memcpy(dst, t, n + 1);
	return 0;
}

/* Copies a text column into a new string (caller frees); NULL reads as "". */
int
store_col_text_dup(struct store_row *st, int col, char **dst, struct lerr *e)
{
	const char *t = store_get_text(st, col);

	if ((*dst = strdup(t != NULL ? t : "")) == NULL)
		return lerr_set(e, LERR_STORE, "out of memory");
	return 0;
}

/* Copies a blob column into a new buffer (caller frees); empty is refused. */
int
store_col_blob_dup(struct store_row *st, int col, unsigned char **dst, size_t *len,
		   struct lerr *e)
{
	size_t n;
	const void *p = store_get_blob(st, col, &n);

	if (p == NULL || n == 0)
		return lerr_set(e, LERR_STORE, "stored %s is empty", store_get_name(st, col));
	if ((*dst = malloc(n)) == NULL)
		return lerr_set(e, LERR_STORE, "out of memory");
	memcpy(*dst, p, n);
	*len = n;
	return 0;
}

/* Copies a blob column into a fixed array of at most size bytes. */
int
store_col_blob(struct store_row *st, int col, unsigned char *dst, size_t size,
	       size_t *len, struct lerr *e)
{
	size_t n;
	const void *p = store_get_blob(st, col, &n);

	if (n > size)
		return lerr_set(e, LERR_STORE, "stored %s has a bad length",
				store_get_name(st, col));
	if (n > 0)
		memcpy(dst, p, n);
	*len = n;
	return 0;
}

/* ---- running one statement ---- */

/*
 * Runs x on c, handing its rows to row (NULL: none expected, none read).
 * A failure breaking a constraint of kind v (STORE_VIOLATION_NONE: no
 * kind is named) returns 1 with e untouched; any other failure -1 with e
 * set. *changed (may be NULL) receives how many rows x changed.
 */
static int
store_run_query(struct store_conn *c, const struct store_query *x, store_row_fn row,
		void *arg, enum store_violation v, int *changed, struct lerr *e)
{
	enum store_violation broke = STORE_VIOLATION_NONE;
	const char *sql;
	struct lerr why;

	if ((sql = store_sql_text(x->q)) == NULL)
		return lerr_set(e, LERR_INTERNAL, "store query %d has no SQL", (int)x->q);
	lerr_clear(&why);
	if (c->drv->run(c->db, x, sql, row, arg, changed, &broke, &why) == 0)
		return 0;
	if (v != STORE_VIOLATION_NONE && broke == v)
		return 1;
	if (e != NULL)
		*e = why;
	return -1;
}

/* Runs x on c expecting no row (an INSERT, UPDATE, DELETE...). */
int
store_exec(struct store_conn *c, const struct store_query *x, int *changed,
	   struct lerr *e)
{
	return store_run_query(c, x, NULL, NULL, STORE_VIOLATION_NONE, changed, e) == 0 ? 0 : -1;
}

/* store_exec() for a statement whose breaking constraint the caller names
 * itself: 1 (e untouched) when it did. */
int
store_exec_constraint(struct store_conn *c, const struct store_query *x,
		      enum store_violation v, struct lerr *e)
{
	return store_run_query(c, x, NULL, NULL, v, NULL, e);
}

/* store_conn_lookup's row reader: the first row only. */
struct store_first_row {
	store_row_fn row;
	void *arg;
	int seen;
};

static int
store_first_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_first_row *f = arg;

	f->seen = 1;
	if (f->row != NULL && f->row(st, f->arg, e) != 0)
		return -1;
	return 1;
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
	struct store_first_row f = { row, arg, 0 };

	if (store_run_query(c, x, store_first_row, &f, STORE_VIOLATION_NONE, NULL, e) != 0)
		return -1;
	return f.seen ? 0 : 1;
}

/* Runs the INSERT x (its SQL ends in RETURNING id) on the writer's
 * connection w and reads the new row's id into *id. */
int
store_insert(struct store_conn *w, const struct store_query *x, int64_t *id, struct lerr *e)
{
	int rc = store_conn_lookup(w, x, store_row_int, id, e);

	if (rc > 0)
		return lerr_set(e, LERR_INTERNAL, "%s: no id came back", x->what);
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
	struct store_conn *c;
	int rc;

	if ((c = store_reader_get(s, e)) == NULL)
		return -1;
	rc = store_conn_each(c, x, row, arg, e);
	store_reader_put(s, c);
	return rc;
}

/* store_each() on the connection c the caller holds. */
int
store_conn_each(struct store_conn *c, const struct store_query *x, store_row_fn row,
		void *arg, struct lerr *e)
{
	return store_run_query(c, x, row, arg, STORE_VIOLATION_NONE, NULL, e) == 0 ? 0 : -1;
}

int
store_read_begin(struct store_conn *c, struct lerr *e)
{
	return c->drv->begin_read(c->db, e);
}

int
store_read_end(struct store_conn *c, struct lerr *e)
{
	const struct store_query x = { .q = Q_COMMIT, .what = "ending a read" };

	return store_exec(c, &x, NULL, e);
}

/* store_page_each's walk over one page. */
struct store_page_walk {
	struct store_page *pg;
	store_row_fn row;
	void *arg;
	size_t n;			/* rows handed to row so far */
	int64_t last;			/* the position of the last of them */
};

/* Row reader of store_page_each: hands the page's rows on; the row after
 * them (the query asks for one more than the page holds) only says that
 * another page follows. */
static int
store_page_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_page_walk *w = arg;
	int rc;

	if (w->n == w->pg->limit) {
		w->pg->next = w->last;
		return 1;
	}
	w->last = store_get_int(st, store_get_count(st) - 1);
	w->n++;
	if ((rc = w->row(st, w->arg, e)) > 0)
		w->pg->next = w->last;
	return rc;
}

/*
 * Runs the page query x (see internal.h) for pg: binds the position to
 * start after and the row count after x's own parameters, hands the rows
 * to row and sets pg->next. 0, or -1 with e (bad_request for a page out
 * of bounds).
 */
int
store_page_each(struct store *s, struct store_query *x, struct store_page *pg,
		store_row_fn row, void *arg, struct lerr *e)
{
	return store_page_walk(s, x, pg, 0, row, arg, e);
}

int
store_page_walk(struct store *s, struct store_query *x, struct store_page *pg, int ascending,
		store_row_fn row, void *arg, struct lerr *e)
{
	struct store_page_walk w = { pg, row, arg, 0, 0 };
	size_t i = 0;

	if (s == NULL || x == NULL || pg == NULL || row == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_page_each: bad arguments");
	pg->next = 0;
	if (pg->limit < 1 || pg->limit > STORE_PAGE_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "a page is 1 to %d rows, not %zu",
				STORE_PAGE_MAX, pg->limit);
	if (pg->after < 0)
		return lerr_set(e, LERR_BAD_REQUEST, "a page starts after a row, not at %lld",
				(long long)pg->after);
	while (i < STORE_ARGS_MAX && x->args[i].type != STORE_ARG_END)
		i++;
	if (i + 2 > STORE_ARGS_MAX)
		return lerr_set(e, LERR_INTERNAL, "%s: too many parameters", x->what);
	/* Positions are ids, which start at 1 (SQLite's rowids and
	 * PostgreSQL's identity columns alike): INT64_MAX is before every
	 * row, and 0 before every row of an ascending page. */
	x->args[i] = store_arg_int(pg->after != 0 ? pg->after : ascending ? 0 : INT64_MAX);
	x->args[i + 1] = store_arg_int((int64_t)pg->limit + 1);
	return store_each(s, x, store_page_row, &w, e);
}

/* Row reader: column 0 into the fixed array arg (a struct store_text_buf). */
int
store_row_text(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_text_buf *b = arg;

	return store_col_text(st, 0, b->p, b->size, e);
}

/* Row reader: column 0 into a new string at *(char **)arg (caller frees). */
int
store_row_text_dup(struct store_row *st, void *arg, struct lerr *e)
{
	return store_col_text_dup(st, 0, arg, e);
}

/* Runs a statement without parameters or rows (BEGIN, COMMIT...). */
static int
store_run(struct store_conn *c, enum store_q q, struct lerr *e)
{
	const struct store_query x = { .q = q, .what = store_sql_text(q) };

	return store_exec(c, &x, NULL, e);
}

/* ---- connections ---- */

/* Closes c. NULL-safe, idempotent. */
static void
store_conn_close(struct store_conn *c)
{
	if (c == NULL || c->db == NULL)
		return;
	c->drv->close(c->db);
	c->db = NULL;
}

/* Opens c on the store's database for role; on failure c stays closed. */
static int
store_conn_open(struct store *s, struct store_conn *c, enum store_role role, struct lerr *e)
{
	c->drv = s->drv;
	return s->drv->open(s->path, role, s->flags, &c->db, e);
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
	if (c->db == NULL && store_conn_open(s, c, STORE_ROLE_READER, e) != 0) {
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
	/* A reader that comes back inside a transaction (its COMMIT failed)
	 * would pin its snapshot, and the WAL with it, for as long as the
	 * pool keeps it: end it here. Reads changed nothing to lose. */
	if (c->db != NULL && c->drv->in_transaction(c->db))
		(void)store_run(c, Q_ROLLBACK, NULL);
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
	struct store_first *first = NULL;
	struct lerr batch, why;
	struct store_job *j;
	size_t i;
	int failed = 1;

	lerr_clear(&batch);
	if (s->drv->writer_check != NULL)
		s->drv->writer_check(w->db);
	w->certs_changed = 0;
	if (s->drv->begin_write(w->db, &batch) != 0)
		goto out;
	pthread_mutex_lock(&s->qlock);
	first = s->first;
	pthread_mutex_unlock(&s->qlock);
	if (first != NULL &&
	    store_audit_row(w, first->at, first->actor, first->event, first->subject,
			    first->detail, &batch) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		j = jobs[i];
		lerr_clear(&j->err);
		if (store_run(w, Q_SAVEPOINT, &batch) != 0)
			goto out;
		j->rc = j->run(w, j->arg, &j->err);
		if (!s->drv->in_transaction(w->db)) {
			/* An I/O error or a full disk made SQLite roll back the
			 * whole transaction, or PostgreSQL's connection was lost
			 * with it: the earlier jobs are gone too, and each of
			 * them is told what this one was. */
			if (j->rc != 0)
				batch = j->err;
			else
				lerr_set(&batch, LERR_STORE_UNAVAILABLE,
					 "the database abandoned the transaction; try again later");
			goto out;
		}
		if (j->rc == 0) {
			if (store_run(w, Q_RELEASE, &j->err) == 0)
				continue;
			j->rc = -1;
		}
		if (j->err.code == LERR_NONE)
			lerr_set(&j->err, LERR_INTERNAL, "write failed");
		if (store_run(w, Q_ROLLBACK_TO, &batch) != 0 ||
		    store_run(w, Q_RELEASE, &batch) != 0)
			goto out;
	}
	if (store_run(w, Q_COMMIT, &batch) != 0)
		goto out;
	atomic_fetch_add(&s->commits, 1);
	atomic_fetch_add(&s->jobs, (uint_least64_t)n);
	/* After COMMIT: whoever sees the number change reads the change. A
	 * job rolled back alone may count too; a reader then finds nothing
	 * new, which costs it one read. */
	if (w->certs_changed)
		atomic_fetch_add(&s->cert_changes, 1);
	if (first != NULL) {
		/* Only this thread clears it once set. */
		pthread_mutex_lock(&s->qlock);
		s->first = NULL;
		pthread_mutex_unlock(&s->qlock);
		log_info("the database can be written: the kept \"%s\" audit row is on record",
			 first->event);
		store_first_free(first);
	}
	failed = 0;
out:
	if (!failed)
		return;
	if (s->drv->in_transaction(w->db) && store_run(w, Q_ROLLBACK, &why) != 0)
		log_err("rolling back a failed batch: %s", why.msg);
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
int
store_enqueue(struct store *s, struct store_job *job, struct lerr *e)
{
	if (s == NULL)
		return lerr_set(e, LERR_STORE, "no store");
	if (!s->thread_started)
		return lerr_set(e, LERR_STORE, "the store was opened read-only");
	job->done = 0;
	job->next = NULL;
	if (pthread_cond_init(&job->cond, NULL) != 0)
		return lerr_set(e, LERR_STORE, "out of resources");
	pthread_mutex_lock(&s->qlock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->qlock);
		pthread_cond_destroy(&job->cond);
		return lerr_set(e, LERR_STORE, "the store is closing");
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
int
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

/* Writer job: wr's statement, then its audit row when it has an event. */
static int
store_write_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_write *wr = arg;

	if (store_exec(w, &wr->x, NULL, e) != 0)
		return -1;
	if (wr->event != NULL &&
	    store_audit_row(w, wr->at, wr->actor, wr->event, wr->subject, wr->detail,
			    e) != 0)
		return -1;
	return 0;
}

/* Runs wr (see internal.h) as one writer job; durable on return. */
int
store_write(struct store *s, struct store_write *wr, struct lerr *e)
{
	return store_submit(s, store_write_run, wr, e);
}

int
store_audit_first(struct store *s, const char *actor, const char *event, const char *subject,
		  const char *detail, struct lerr *e)
{
	struct store_first *f = NULL;
	struct lerr why;

	if (s == NULL || actor == NULL || event == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_audit_first: bad arguments");
	if (store_audit(s, actor, event, subject, detail, &why) == 0)
		return 0;
	if (why.code != LERR_STORE_UNAVAILABLE) {
		if (e != NULL)
			*e = why;
		return -1;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL || (f->actor = strdup(actor)) == NULL ||
	    (f->event = strdup(event)) == NULL ||
	    (subject != NULL && (f->subject = strdup(subject)) == NULL) ||
	    (detail != NULL && (f->detail = strdup(detail)) == NULL)) {
		store_first_free(f);
		return lerr_set(e, LERR_STORE, "out of memory");
	}
	f->at = (int64_t)time(NULL);
	pthread_mutex_lock(&s->qlock);
	if (s->first != NULL) {
		pthread_mutex_unlock(&s->qlock);
		store_first_free(f);
		return lerr_set(e, LERR_INTERNAL, "an audit row is kept already");
	}
	s->first = f;
	pthread_mutex_unlock(&s->qlock);
	if (e != NULL)
		*e = why;
	return 1;
}

/* ---- open / close ---- */

const struct store_driver *
store_driver_for(const char *target, struct lerr *e)
{
	if (strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0) {
#ifdef HAVE_POSTGRESQL
		return &store_driver_pg;
#else
		lerr_set(e, LERR_STORE, "this lanca was built without PostgreSQL "
			 "(configure --with-postgresql)");
		return NULL;
#endif
	}
	return &store_driver_sqlite;
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
		return lerr_set(e, LERR_STORE, "starting the writer: %s", strerror(err));
	s->thread_started = 1;
	return 0;
}

int
store_set_gateway(struct store *s, const char *name, struct lerr *e)
{
	if (s == NULL || name == NULL || strlen(name) > STORE_GATEWAY_MAX)
		return lerr_set(e, LERR_INTERNAL, "store_set_gateway: bad arguments");
	memcpy(s->gateway, name, strlen(name) + 1);
	return 0;
}

/* See internal.h. */
const char *
store_gateway(const struct store *s)
{
	return s->gateway;
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
		lerr_set(e, LERR_INTERNAL, "store_open: no path");
		goto out;
	}
	if (store_sql_check(e) != 0)
		goto out;
	if (sodium_init() < 0) {
		lerr_set(e, LERR_INTERNAL, "libsodium failed to initialise");
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->path = strdup(path)) == NULL) {
		lerr_set(e, LERR_STORE, "out of memory");
		goto out;
	}
	s->flags = flags;
	if ((s->drv = store_driver_for(path, e)) == NULL)
		goto out;
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
	if (pthread_mutex_init(&s->sitelock, NULL) != 0)
		goto nosync_sc;
	s->sync_init = 1;

	/* Migrations run on the write connection before anyone else uses
	 * the database; a read-only store closes it afterwards. */
	if (store_conn_open(s, &s->writer, STORE_ROLE_WRITER, e) != 0)
		goto out;
	if (store_migrate(&s->writer, store_migrations, store_migrations_count,
			  store_audit_chain_step, NULL, e) != 0)
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
nosync_sc:
	pthread_cond_destroy(&s->scond);
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
	lerr_set(e, LERR_STORE, "out of resources");
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
	store_conn_close(&s->site);
	/* Last, so that SQLite's close checkpoints the WAL into the file. */
	store_conn_close(&s->writer);
	if (s->sync_init) {
		pthread_mutex_destroy(&s->qlock);
		pthread_cond_destroy(&s->qcond);
		pthread_mutex_destroy(&s->rlock);
		pthread_cond_destroy(&s->rcond);
		pthread_mutex_destroy(&s->slock);
		pthread_cond_destroy(&s->scond);
		pthread_mutex_destroy(&s->sitelock);
	}
	store_first_free(s->first);
	free(s->path);
	free(s);
}

int
store_shared(const struct store *s)
{
	return s != NULL && s->drv->shared;
}

int
store_site_lock(struct store *s, struct lerr *e)
{
	if (s == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_site_lock: no store");
	pthread_mutex_lock(&s->sitelock);
	if (s->drv->site_lock == NULL)
		return 0;
	if ((s->site.db == NULL && store_conn_open(s, &s->site, STORE_ROLE_WRITER, e) != 0) ||
	    s->drv->site_lock(s->site.db, 1, e) != 0) {
		pthread_mutex_unlock(&s->sitelock);
		return -1;
	}
	return 0;
}

void
store_site_unlock(struct store *s)
{
	if (s == NULL)
		return;
	if (s->drv->site_lock != NULL && s->site.db != NULL)
		(void)s->drv->site_lock(s->site.db, 0, NULL);
	pthread_mutex_unlock(&s->sitelock);
}

void
store_stats(struct store *s, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return;
	out->commits = atomic_load(&s->commits);
	out->jobs = atomic_load(&s->jobs);
	if (s->drv->stats != NULL && s->writer.db != NULL)
		s->drv->stats(s->writer.db, out);
}

/* Row reader: column 0 as an integer into *(int64_t *)arg. */
int
store_row_int(struct store_row *st, void *arg, struct lerr *e)
{
	(void)e;
	*(int64_t *)arg = store_get_int(st, 0);
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

/* ---- serials ---- */

struct store_refill {
	void (*fill)(void *buf, size_t n);
	int64_t now;
	unsigned char serials[STORE_SERIAL_BATCH][STORE_SERIAL_LEN];
	size_t n;			/* out: serials reserved */
};

/*
 * A candidate serial: STORE_SERIAL_PREFIX bytes that grow with the time of
 * the draw, then STORE_SERIAL_RANDOM random bytes. The random part is what
 * makes a serial unpredictable (SPEC: at least 127 random bits). The
 * prefix puts every new serial at the end of the serials table and of the
 * certificates' serial index, so that a batch of issuances writes the same
 * few pages instead of one random page per index and certificate; a clock
 * that goes back costs only that locality, never uniqueness (checked
 * against the table). The prefix keeps bit 30 set and bit 31 clear: the
 * first byte is 0x40..0x7f, so the DER INTEGER is positive and minimal.
 */
static void
store_serial_draw(unsigned char cand[STORE_SERIAL_LEN], int64_t now,
		  void (*fill)(void *buf, size_t n))
{
	uint32_t t = 0x40000000u | ((uint32_t)now & 0x3fffffffu);

	cand[0] = (unsigned char)(t >> 24);
	cand[1] = (unsigned char)(t >> 16);
	cand[2] = (unsigned char)(t >> 8);
	cand[3] = (unsigned char)t;
	fill(cand + STORE_SERIAL_PREFIX, STORE_SERIAL_LEN - STORE_SERIAL_PREFIX);
}

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
			return lerr_set(e, LERR_STORE, "no fresh serial number after %u "
					"draws: the random source repeats itself", attempts - 1);
		cand = r->serials[r->n];
		store_serial_draw(cand, r->now, r->fill);
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
		lerr_set(e, LERR_INTERNAL, "store_serial_reserve: bad arguments");
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
		return lerr_set(e, LERR_INTERNAL, "store_setting_set: bad arguments");
	return store_write(s, &wr, e);
}

/* store_setting_swap's job: the setting is still what the caller read;
 * then the new value (none: value NULL) and the audit rows. */
struct store_swap {
	const char *key, *old, *value;
	const struct store_audit_new *rows;
	size_t n;
	int64_t at;
};

static int
store_swap_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_swap *sw = arg;
	const struct store_query get = { Q_SETTING_GET, "reading a setting", { store_arg_text(sw->key) } };
	const struct store_query set = {
		Q_SETTING_SET, "saving a setting", { store_arg_text(sw->key), store_arg_text(sw->value) },
	};
	char *now = NULL;
	size_t i;
	int rc, same;

	if ((rc = store_conn_lookup(w, &get, store_row_text_dup, &now, e)) < 0)
		return -1;
	same = rc > 0 ? sw->old == NULL : sw->old != NULL && strcmp(now, sw->old) == 0;
	free(now);
	if (!same)
		return lerr_set(e, LERR_CONFLICT, "setting %s changed meanwhile", sw->key);
	if (sw->value != NULL && store_exec(w, &set, NULL, e) != 0)
		return -1;
	for (i = 0; i < sw->n; i++)
		if (store_audit_row(w, sw->at, sw->rows[i].actor, sw->rows[i].event,
				    sw->rows[i].subject, sw->rows[i].detail, e) != 0)
			return -1;
	return 0;
}

int
store_setting_swap(struct store *s, const char *key, const char *old, const char *value,
		   const struct store_audit_new *rows, size_t n, struct lerr *e)
{
	struct store_swap sw = { key, old, value, rows, n, (int64_t)time(NULL) };
	size_t i;

	if (s == NULL || key == NULL || (n > 0 && rows == NULL))
		return lerr_set(e, LERR_INTERNAL, "store_setting_swap: bad arguments");
	for (i = 0; i < n; i++)
		if (rows[i].actor == NULL || rows[i].event == NULL)
			return lerr_set(e, LERR_INTERNAL, "store_setting_swap: bad arguments");
	return store_submit(s, store_swap_run, &sw, e);
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
		return lerr_set(e, LERR_INTERNAL, "store_setting_get: bad arguments");
	if ((lrc = store_lookup(s, &x, store_row_text_dup, value, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "setting %s is not set", key);
	return lrc;
}

uint64_t
store_cert_changes(struct store *s)
{
	return (uint64_t)atomic_load(&s->cert_changes);
}
