/*
 * audit.c - the store's audit family: appending an event and reading the
 * newest ones back (see store.h). Other families write their audit rows
 * inside their own jobs with store_audit_row() (internal.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "common/lerr.h"
#include "store/store.h"
#include "store/internal.h"

const char *const store_sql_audit[Q_COUNT] = {
	[Q_AUDIT_INSERT] =
		"INSERT INTO audit (at, actor, event, subject, detail) "
		"VALUES (?, ?, ?, ?, ?)",
	/* A page (store_page_each): id is the rowid. */
	[Q_AUDIT_PAGE] =
		"SELECT id, at, actor, event, subject, detail, id FROM audit "
		"WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
	/* Filtered pages, each one range of audit_event (event, rowid) or
	 * audit_subject (subject, rowid). Both filters walk the subject's
	 * range (a device has few rows; an event may have most of them):
	 * the unary + keeps the planner off the event's index. */
	[Q_AUDIT_PAGE_EVENT] =
		"SELECT id, at, actor, event, subject, detail, id FROM audit "
		"WHERE event = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
	[Q_AUDIT_PAGE_SUBJECT] =
		"SELECT id, at, actor, event, subject, detail, id FROM audit "
		"WHERE subject = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
	[Q_AUDIT_PAGE_BOTH] =
		"SELECT id, at, actor, event, subject, detail, id FROM audit "
		"WHERE subject = ?1 AND +event = ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4",
};

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
		return lerr_set(e, LERR_INTERNAL, "store_audit: bad arguments");
	j.at = (int64_t)time(NULL);
	j.actor = actor;
	j.event = event;
	j.subject = subject;
	j.detail = detail_json;
	return store_submit(s, store_audit_run, &j, e);
}

/* store_audit_page's fn and its argument. */
struct store_audit_visit {
	int (*fn)(const struct store_audit_row *r, void *arg);
	void *arg;
};

/* Row reader for store_audit_page: hands one audit row to the caller's fn
 * (1 when it asks to stop). */
static int
store_audit_page_row(sqlite3_stmt *st, void *arg, struct lerr *e)
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
