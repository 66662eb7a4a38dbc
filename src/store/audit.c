/*
 * audit.c - the store's audit family: appending an event to the hash
 * chain, reading the newest ones back, the signed checkpoints, and the
 * step of schema/0008 that chains the rows written before it (see
 * store.h). Other families write their audit rows inside their own jobs
 * with store_audit_row() (internal.h), which is the one place a row is
 * written and chained.
 *
 * The chain's head is read from the table, inside the writing
 * transaction, for every row (one seek to the table's last page): other
 * processes (`lanca admin`, `lanca preauth`) append rows beside a running
 * daemon, and a job rolled back in a batch takes its rows with it, so a
 * head kept in memory would go stale where the table cannot.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "ca/auditseal.h"
#include "common/lerr.h"
#include "store/store.h"
#include "store/internal.h"

const char *const store_sql_audit[Q_COUNT] = {
	[Q_AUDIT_INSERT] =
		"INSERT INTO audit (id, at, actor, event, subject, detail, hash) "
		"VALUES (?, ?, ?, ?, ?, ?, ?)",
	/* The rowid's last entry: one seek, whatever the log's size. */
	[Q_AUDIT_HEAD] = "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
	[Q_AUDIT_HASH_OF] = "SELECT hash FROM audit WHERE id = ?",
	[Q_AUDIT_SCAN] =
		"SELECT id, at, actor, event, subject, detail, hash FROM audit ORDER BY id",
	/* schema/0008's step (store_audit_chain_step). */
	[Q_AUDIT_CHAIN_READ] =
		"SELECT id, at, actor, event, subject, detail FROM audit ORDER BY id",
	[Q_AUDIT_CHAIN_SET] = "UPDATE audit SET hash = ?2 WHERE id = ?1",
	[Q_CKPT_INSERT] =
		"INSERT INTO audit_checkpoints (row_id, head, at, signature) VALUES (?, ?, ?, ?) "
		"RETURNING id",
	[Q_CKPT_LAST] =
		"SELECT id, row_id, head, at, signature FROM audit_checkpoints "
		"ORDER BY row_id DESC, id DESC LIMIT 1",
	[Q_CKPT_SCAN] =
		"SELECT id, row_id, head, at, signature FROM audit_checkpoints "
		"ORDER BY row_id, id",
	/* A page (store_page_each): id is the rowid. */
	[Q_AUDIT_PAGE] =
		"SELECT id, at, actor, event, subject, detail, hash, id FROM audit "
		"WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
	/* Filtered pages, each one range of audit_event (event, rowid) or
	 * audit_subject (subject, rowid). Both filters walk the subject's
	 * range (a device has few rows; an event may have most of them):
	 * "event || ''" (not an index's column: unary + would do in SQLite,
	 * but PostgreSQL has no + for text) keeps the planner off the event's
	 * index. */
	[Q_AUDIT_PAGE_EVENT] =
		"SELECT id, at, actor, event, subject, detail, hash, id FROM audit "
		"WHERE event = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
	[Q_AUDIT_PAGE_SUBJECT] =
		"SELECT id, at, actor, event, subject, detail, hash, id FROM audit "
		"WHERE subject = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
	[Q_AUDIT_PAGE_BOTH] =
		"SELECT id, at, actor, event, subject, detail, hash, id FROM audit "
		"WHERE subject = ?1 AND event || '' = ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4",
};

/* ---- the chain ---- */

/* The head: the newest row's id and hash. */
struct store_audit_headrow {
	int64_t id;
	unsigned char hash[STORE_AUDIT_HASH_LEN];
};

static int
store_audit_head_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_audit_headrow *h = arg;
	size_t n = 0;

	h->id = store_get_int(st, 0);
	if (store_col_blob(st, 1, h->hash, sizeof(h->hash), &n, e) != 0)
		return -1;
	if (n != sizeof(h->hash))
		return lerr_set(e, LERR_STORE, "audit row %lld has no chain hash: the log "
				"was changed outside lanca (lanca audit verify)",
				(long long)h->id);
	return 0;
}

/* The head on c: the newest row, or id 0 and zeros for an empty log. */
static int
store_audit_head_on(struct store_conn *c, struct store_audit_headrow *h, struct lerr *e)
{
	const struct store_query x = { Q_AUDIT_HEAD, "reading the audit log's head", { { 0 } } };
	int rc;

	memset(h, 0, sizeof(*h));
	rc = store_conn_lookup(c, &x, store_audit_head_row, h, e);
	return rc < 0 ? -1 : 0;
}

/* Appends one audit row on the writer's connection (inside a job). */
int
store_audit_row(struct store_conn *w, int64_t at, const char *actor,
		const char *event, const char *subject, const char *detail,
		struct lerr *e)
{
	struct store_audit_headrow h;
	struct auditseal_row r = { 0, at, actor, event, subject, detail };
	unsigned char hash[STORE_AUDIT_HASH_LEN];

	if (store_audit_head_on(w, &h, e) != 0)
		return -1;
	if (h.id == INT64_MAX)
		return lerr_set(e, LERR_STORE, "the audit log is full");
	r.id = h.id + 1;
	if (auditseal_row_hash(h.hash, &r, hash) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot hash an audit row");
	{
		const struct store_query x = {
			Q_AUDIT_INSERT, "appending to the audit log",
			{ store_arg_int(r.id), store_arg_int(at), store_arg_text(actor),
			  store_arg_text(event), store_arg_text(subject), store_arg_text(detail),
			  store_arg_blob(hash, sizeof(hash)) },
		};

		return store_exec(w, &x, NULL, e);
	}
}

int
store_audit_head(struct store *s, int64_t *id, unsigned char hash[STORE_AUDIT_HASH_LEN],
		 struct lerr *e)
{
	struct store_audit_headrow h;
	struct store_conn *c;
	int rc;

	if ((c = store_reader_get(s, e)) == NULL)
		return -1;
	rc = store_audit_head_on(c, &h, e);
	store_reader_put(s, c);
	if (rc != 0)
		return -1;
	*id = h.id;
	memcpy(hash, h.hash, sizeof(h.hash));
	return 0;
}

/*
 * The migration step of 0008: every row written before it gets its hash,
 * in id order, the first one after 32 zero bytes, as store_audit_row
 * would have chained it. The new update trigger lets a row without a
 * hash receive one and nothing else. Runs on the migration's connection
 * inside its transaction, so its own statements.
 */
/* The chain so far, while store_audit_chain_step walks it. */
struct store_audit_chain {
	struct store_conn *c;
	unsigned char prev[STORE_AUDIT_HASH_LEN];
	int first;
};

static int
store_audit_chain_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_audit_chain *ch = arg;
	unsigned char hash[STORE_AUDIT_HASH_LEN];
	struct auditseal_row r;

	r.id = store_get_int(st, 0);
	r.at = store_get_int(st, 1);
	r.actor = store_get_text(st, 2);
	r.event = store_get_text(st, 3);
	r.subject = store_get_text(st, 4);
	r.detail = store_get_text(st, 5);
	if (auditseal_row_hash(ch->first ? NULL : ch->prev, &r, hash) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot hash audit row %lld", (long long)r.id);
	{
		const struct store_query x = {
			Q_AUDIT_CHAIN_SET, "chaining the audit log",
			{ store_arg_int(r.id), store_arg_blob(hash, sizeof(hash)) },
		};

		if (store_exec(ch->c, &x, NULL, e) != 0)
			return -1;
	}
	memcpy(ch->prev, hash, sizeof(ch->prev));
	ch->first = 0;
	return 0;
}

int
store_audit_chain_step(struct store_conn *c, int version, struct lerr *e)
{
	const struct store_query x = { Q_AUDIT_CHAIN_READ, "chaining the audit log", { { 0 } } };
	struct store_audit_chain ch = { .c = c, .first = 1 };

	if (version != 8)
		return 0;
	return store_conn_each(c, &x, store_audit_chain_row, &ch, e);
}

/* ---- checkpoints ---- */

/* Row reader: a checkpoint row into *(struct store_checkpoint *)arg. */
static int
store_ckpt_read(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_checkpoint *c = arg;
	size_t hn = 0, sn = 0;

	c->id = store_get_int(st, 0);
	c->row_id = store_get_int(st, 1);
	c->at = store_get_int(st, 3);
	if (store_col_blob(st, 2, c->head, sizeof(c->head), &hn, e) != 0 ||
	    store_col_blob(st, 4, c->sig, sizeof(c->sig), &sn, e) != 0)
		return -1;
	if (hn != sizeof(c->head) || sn != sizeof(c->sig))
		return lerr_set(e, LERR_STORE, "checkpoint %lld is malformed", (long long)c->id);
	return 0;
}

struct store_ckpt_job {
	struct store_checkpoint *c;
};

/* Row reader of Q_AUDIT_HASH_OF into a struct store_audit_headrow. */
static int
store_audit_hash_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_audit_headrow *h = arg;
	size_t n = 0;

	if (store_col_blob(st, 0, h->hash, sizeof(h->hash), &n, e) != 0)
		return -1;
	h->id = n == sizeof(h->hash);		/* 1: it has a full hash */
	return 0;
}

/* Writer job: the checkpoint, if its row still has its head. */
static int
store_ckpt_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_checkpoint *c = ((struct store_ckpt_job *)arg)->c;
	const struct store_query q = {
		Q_AUDIT_HASH_OF, "reading an audit row's hash", { store_arg_int(c->row_id) },
	};
	const struct store_query x = {
		Q_CKPT_INSERT, "recording a checkpoint",
		{ store_arg_int(c->row_id), store_arg_blob(c->head, sizeof(c->head)),
		  store_arg_int(c->at), store_arg_blob(c->sig, sizeof(c->sig)) },
	};
	struct store_audit_headrow h;
	int rc;

	memset(&h, 0, sizeof(h));
	if ((rc = store_conn_lookup(w, &q, store_audit_hash_row, &h, e)) < 0)
		return -1;
	if (rc != 0 || h.id != 1 || sodium_memcmp(h.hash, c->head, sizeof(h.hash)) != 0)
		return lerr_set(e, LERR_CONFLICT, "audit row %lld does not have the hash "
				"the checkpoint signs", (long long)c->row_id);
	return store_insert(w, &x, &c->id, e);
}

int
store_checkpoint_add(struct store *s, struct store_checkpoint *c, struct lerr *e)
{
	struct store_ckpt_job j = { c };

	if (c == NULL || c->row_id < 1)
		return lerr_set(e, LERR_INTERNAL, "store_checkpoint_add: bad arguments");
	return store_submit(s, store_ckpt_run, &j, e);
}

int
store_checkpoint_last(struct store *s, struct store_checkpoint *out, struct lerr *e)
{
	const struct store_query x = { Q_CKPT_LAST, "reading the last checkpoint", { { 0 } } };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_lookup(s, &x, store_ckpt_read, out, e);
	if (rc == 1)
		return lerr_set(e, LERR_NOT_FOUND, "no checkpoint was taken yet");
	return rc;
}

/* store_audit_scan's callbacks. */
struct store_audit_scan_arg {
	int (*cp)(const struct store_checkpoint *c, void *arg);
	int (*row)(const struct store_audit_row *r, void *arg);
	void *arg;
};

static int
store_audit_scan_cp(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_audit_scan_arg *a = arg;
	struct store_checkpoint c;
	int rc;

	if (store_ckpt_read(st, &c, e) != 0)
		return -1;
	if ((rc = a->cp(&c, a->arg)) < 0)
		return lerr_set(e, LERR_INTERNAL, "reading the checkpoints stopped");
	return rc > 0;
}

/* A row of "id, at, actor, event, subject, detail, hash" into r (its
 * strings and hash the row's, valid while it is). */
static void
store_audit_read(struct store_row *st, struct store_audit_row *r)
{
	r->id = store_get_int(st, 0);
	r->at = store_get_int(st, 1);
	r->actor = store_get_text(st, 2);
	r->event = store_get_text(st, 3);
	r->subject = store_get_text(st, 4);
	r->detail = store_get_text(st, 5);
	r->hash = store_get_blob(st, 6, &r->hash_len);
}

static int
store_audit_scan_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_audit_scan_arg *a = arg;
	struct store_audit_row r;
	int rc;

	store_audit_read(st, &r);
	if ((rc = a->row(&r, a->arg)) < 0)
		return lerr_set(e, LERR_INTERNAL, "reading the audit log stopped");
	return rc > 0;
}

int
store_audit_scan(struct store *s,
		 int (*cp)(const struct store_checkpoint *c, void *arg),
		 int (*row)(const struct store_audit_row *r, void *arg), void *arg,
		 struct lerr *e)
{
	const struct store_query xc = { Q_CKPT_SCAN, "reading the checkpoints", { { 0 } } };
	const struct store_query xr = { Q_AUDIT_SCAN, "reading the audit log", { { 0 } } };
	struct store_audit_scan_arg a = { cp, row, arg };
	struct store_conn *c;
	int rc = -1;

	if (s == NULL || cp == NULL || row == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_audit_scan: bad arguments");
	if ((c = store_reader_get(s, e)) == NULL)
		return -1;
	if (store_read_begin(c, e) != 0)
		goto out;
	if (store_conn_each(c, &xc, store_audit_scan_cp, &a, e) != 0 ||
	    store_conn_each(c, &xr, store_audit_scan_row, &a, e) != 0)
		goto out;
	if (store_read_end(c, e) != 0)
		goto out;
	rc = 0;
out:
	store_reader_put(s, c);
	return rc;
}

/* ---- audit ---- */

struct store_audit_job {
	int64_t at;
	const struct store_audit_new *rows;
	size_t n;
};

/* Writer job: the rows, in order, in one transaction. */
static int
store_audit_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_audit_job *j = arg;
	size_t i;

	for (i = 0; i < j->n; i++)
		if (store_audit_row(w, j->at, j->rows[i].actor, j->rows[i].event,
				    j->rows[i].subject, j->rows[i].detail, e) != 0)
			return -1;
	return 0;
}

int
store_audit_rows(struct store *s, const struct store_audit_new *rows, size_t n, struct lerr *e)
{
	struct store_audit_job j;
	size_t i;

	for (i = 0; i < n; i++)
		if (rows == NULL || rows[i].actor == NULL || rows[i].event == NULL)
			return lerr_set(e, LERR_INTERNAL, "store_audit: bad arguments");
	j.at = (int64_t)time(NULL);
	j.rows = rows;
	j.n = n;
	return store_submit(s, store_audit_run, &j, e);
}

/* Appends one audit event; durable on return. */
int
store_audit(struct store *s, const char *actor, const char *event,
	    const char *subject, const char *detail_json, struct lerr *e)
{
	const struct store_audit_new one = { actor, event, subject, detail_json };

	return store_audit_rows(s, &one, 1, e);
}

/* store_audit_page's fn and its argument. */
struct store_audit_visit {
	int (*fn)(const struct store_audit_row *r, void *arg);
	void *arg;
};

/* Row reader for store_audit_page: hands one audit row to the caller's fn
 * (1 when it asks to stop). */
static int
store_audit_page_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_audit_visit *v = arg;
	struct store_audit_row row;

	store_audit_read(st, &row);
	if (row.actor == NULL || row.event == NULL)
		return lerr_set(e, LERR_STORE, "audit row %lld is incomplete",
				(long long)row.id);
	return v->fn(&row, v->arg) != 0;
}

/*
 * Calls fn for each audit row of page pg, newest first (see store.h); the
 * strings in the row are only valid during the call.
 */
int
store_audit_page(struct store *s, struct store_page *pg,
		 int (*fn)(const struct store_audit_row *r, void *arg), void *arg,
		 struct lerr *e)
{
	return store_audit_find(s, NULL, NULL, pg, fn, arg, e);
}

/* The same, only event's rows and/or subject's (NULL: any). */
int
store_audit_find(struct store *s, const char *event, const char *subject,
		 struct store_page *pg,
		 int (*fn)(const struct store_audit_row *r, void *arg), void *arg,
		 struct lerr *e)
{
	struct store_query x = { Q_AUDIT_PAGE, "reading the audit log", { { 0 } } };
	struct store_audit_visit v = { fn, arg };

	if (s == NULL || pg == NULL || fn == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_audit_find: bad arguments");
	if (event != NULL && subject != NULL) {
		x.q = Q_AUDIT_PAGE_BOTH;
		x.args[0] = store_arg_text(subject);
		x.args[1] = store_arg_text(event);
	} else if (event != NULL) {
		x.q = Q_AUDIT_PAGE_EVENT;
		x.args[0] = store_arg_text(event);
	} else if (subject != NULL) {
		x.q = Q_AUDIT_PAGE_SUBJECT;
		x.args[0] = store_arg_text(subject);
	}
	return store_page_each(s, &x, pg, store_audit_page_row, &v, e);
}
