/*
 * db_devices.c - the store's device trust anchors (see store.h): devices
 * pre-authorised by a bulk import, and the manufacturer (vendor) CAs whose
 * device certificates are accepted.
 *
 * Runs on the store engine (store_int.h); every statement is in
 * db_devices_sql[] below. Consuming a pre-authorisation happens in
 * store_cert_insert(), in the same transaction as the certificate.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "lerr.h"
#include "store.h"
#include "store_int.h"

const char *const db_devices_sql[Q_COUNT] = {
	/* Plain INSERT: a device id already there (stored, or earlier in the
	 * same import) breaks the primary key and fails the whole import. */
	[Q_PREAUTH_INSERT] =
		"INSERT INTO preauth (device_id, name, auth_type, secret_hash, "
		"created_at, used_at) VALUES (?, ?, ?, ?, ?, ?)",
	[Q_PREAUTH_GET] =
		"SELECT device_id, name, auth_type, secret_hash, created_at, used_at "
		"FROM preauth WHERE device_id = ?",
	[Q_VENDOR_INSERT] =
		"INSERT INTO vendors (subject, fingerprint, auto_register, der, "
		"created_at) VALUES (?, ?, ?, ?, ?)",
	[Q_VENDOR_EACH] =
		"SELECT id, subject, fingerprint, auto_register, der, created_at "
		"FROM vendors ORDER BY id",
};

/* ---- pre-authorised devices ---- */

/* Frees p and its secret hash. NULL-safe. */
void
store_preauth_free(struct store_preauth *p)
{
	if (p == NULL)
		return;
	if (p->secret_hash != NULL) {
		/* A password hash is not the password, but it is what an
		 * offline guesser wants: do not leave it in freed memory. */
		sodium_memzero(p->secret_hash, strlen(p->secret_hash));
		free(p->secret_hash);
	}
	free(p);
}

struct db_preauth_job {
	const struct store_preauth *rows;
	size_t n;
	const char *actor, *detail;
	int64_t now;
};

/*
 * Writer job: every row, then one "preauth-import" audit row. The first
 * duplicate device id fails the job, which the savepoint rolls back whole.
 */
static int
db_preauth_import_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct db_preauth_job *j = arg;
	const struct store_preauth *p;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	size_t i;

	if ((st = store_stmt(w, Q_PREAUTH_INSERT, e)) == NULL)
		goto out;
	for (i = 0; i < j->n; i++) {
		p = &j->rows[i];
		if (store_bind_text(st, 1, p->device_id) != SQLITE_OK ||
		    store_bind_text(st, 2, p->name) != SQLITE_OK ||
		    store_bind_text(st, 3, p->auth_type) != SQLITE_OK ||
		    store_bind_text(st, 4, p->secret_hash) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 5, p->created_at != 0 ? p->created_at : j->now) != SQLITE_OK ||
		    (p->used_at != 0 ? sqlite3_bind_int64(st, 6, p->used_at)
				     : sqlite3_bind_null(st, 6)) != SQLITE_OK) {
			store_sqlerr(w->db, e, "importing pre-authorised devices");
			goto out;
		}
		if (sqlite3_step(st) != SQLITE_DONE) {
			if (sqlite3_extended_errcode(w->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
				lerr_set(e, 409, LERR_CONFLICT,
					 "device %s is already pre-authorised", p->device_id);
			else
				store_sqlerr(w->db, e, "importing pre-authorised devices");
			goto out;
		}
		store_stmt_done(st);
	}
	store_stmt_done(st);
	st = NULL;
	if (store_audit_row(w, j->now, j->actor, "preauth-import", NULL, j->detail, e) != 0)
		goto out;
	rc = 0;
out:
	store_stmt_done(st);
	return rc;
}

/*
 * Imports n pre-authorised devices in one transaction, all or nothing;
 * rows stay the caller's. An empty device id or an over-long field is
 * LERR_BAD_REQUEST naming the row (1-based), a device id listed twice or
 * already stored LERR_CONFLICT naming it.
 */
int
store_preauth_import(struct store *s, const struct store_preauth *rows, size_t n,
		     const char *actor, struct lerr *e)
{
	struct db_preauth_job j;
	char *detail = NULL;
	int rc = -1;
	size_t i;

	if (s == NULL || (rows == NULL && n > 0) || actor == NULL) {
		lerr_set(e, 500, LERR_INTERNAL, "store_preauth_import: bad arguments");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!store_fits(rows[i].device_id, sizeof(rows[i].device_id)) ||
		    rows[i].device_id[0] == '\0' ||
		    !store_fits(rows[i].name, sizeof(rows[i].name)) ||
		    !store_fits(rows[i].auth_type, sizeof(rows[i].auth_type))) {
			lerr_set(e, 400, LERR_BAD_REQUEST,
				 "pre-authorised device %zu is malformed", i + 1);
			goto out;
		}
	}
	if (store_json_detail(json_pack("{s:I}", "count", (json_int_t)n), &detail, e) != 0)
		goto out;
	memset(&j, 0, sizeof(j));
	j.rows = rows;
	j.n = n;
	j.actor = actor;
	j.detail = detail;
	j.now = (int64_t)time(NULL);
	if (store_submit(s, db_preauth_import_run, &j, e) != 0)
		goto out;
	rc = 0;
out:
	free(detail);
	return rc;
}

/* Reads one pre-authorisation; -1 with LERR_NOT_FOUND if the device id is
 * not listed. *out is the caller's (store_preauth_free). */
int
store_preauth_get(struct store *s, const char *device_id, struct store_preauth **out,
		  struct lerr *e)
{
	struct store_conn *c = NULL;
	struct store_preauth *p = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	int src;

	if (out != NULL)
		*out = NULL;
	if (s == NULL || device_id == NULL || out == NULL) {
		lerr_set(e, 500, LERR_INTERNAL, "store_preauth_get: bad arguments");
		goto out;
	}
	if ((c = store_reader_get(s, e)) == NULL ||
	    (st = store_stmt(c, Q_PREAUTH_GET, e)) == NULL)
		goto out;
	if (store_bind_text(st, 1, device_id) != SQLITE_OK) {
		store_sqlerr(c->db, e, "reading a pre-authorisation");
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		lerr_set(e, 404, LERR_NOT_FOUND, "device %s is not pre-authorised", device_id);
		goto out;
	}
	if (src != SQLITE_ROW) {
		store_sqlerr(c->db, e, "reading a pre-authorisation");
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		lerr_set(e, 500, LERR_STORE, "out of memory");
		goto out;
	}
	if (store_col_text(st, 0, p->device_id, sizeof(p->device_id), e) != 0 ||
	    store_col_text(st, 1, p->name, sizeof(p->name), e) != 0 ||
	    store_col_text(st, 2, p->auth_type, sizeof(p->auth_type), e) != 0)
		goto out;
	if (sqlite3_column_type(st, 3) != SQLITE_NULL &&
	    store_col_text_dup(st, 3, &p->secret_hash, e) != 0)
		goto out;
	p->created_at = sqlite3_column_int64(st, 4);
	p->used_at = sqlite3_column_int64(st, 5);	/* NULL reads as 0 */
	*out = p;
	p = NULL;
	rc = 0;
out:
	store_stmt_done(st);
	store_reader_put(s, c);
	store_preauth_free(p);
	return rc;
}

/* ---- vendor CAs ---- */

/* Frees v and its DER. NULL-safe. */
void
store_vendor_free(struct store_vendor *v)
{
	if (v == NULL)
		return;
	free(v->der);
	free(v);
}

struct db_vendor_job {
	const char *subject, *fingerprint, *actor, *detail;
	int auto_register;
	const unsigned char *der;
	size_t der_len;
	int64_t now;
};

/* Writer job: the vendor row and its "vendor-add" audit row. */
static int
db_vendor_add_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct db_vendor_job *j = arg;
	sqlite3_stmt *st;
	int rc = -1;

	if ((st = store_stmt(w, Q_VENDOR_INSERT, e)) == NULL)
		goto out;
	if (store_bind_text(st, 1, j->subject) != SQLITE_OK ||
	    store_bind_text(st, 2, j->fingerprint) != SQLITE_OK ||
	    sqlite3_bind_int(st, 3, j->auto_register) != SQLITE_OK ||
	    store_bind_blob(st, 4, j->der, j->der_len) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, j->now) != SQLITE_OK) {
		store_sqlerr(w->db, e, "recording the vendor CA");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(w->db) == SQLITE_CONSTRAINT_UNIQUE)
			lerr_set(e, 409, LERR_CONFLICT, "vendor CA %s is already known",
				 j->fingerprint);
		else
			store_sqlerr(w->db, e, "recording the vendor CA");
		goto out;
	}
	if (store_audit_row(w, j->now, j->actor, "vendor-add", j->subject, j->detail, e) != 0)
		goto out;
	rc = 0;
out:
	store_stmt_done(st);
	return rc;
}

/* Adds a vendor CA (its fingerprint must be new: LERR_CONFLICT otherwise);
 * durable on return. der stays the caller's. */
int
store_vendor_add(struct store *s, const char *subject, const char *fingerprint,
		 int auto_register, const unsigned char *der, size_t der_len,
		 const char *actor, struct lerr *e)
{
	struct db_vendor_job j;
	char *detail = NULL;
	int rc = -1;

	if (s == NULL || actor == NULL) {
		lerr_set(e, 500, LERR_INTERNAL, "store_vendor_add: bad arguments");
		goto out;
	}
	if (fingerprint == NULL || fingerprint[0] == '\0' ||
	    strlen(fingerprint) >= sizeof(((struct store_vendor *)0)->fingerprint) ||
	    (subject != NULL &&
	     strlen(subject) >= sizeof(((struct store_vendor *)0)->subject)) ||
	    der == NULL || der_len == 0 || der_len > INT_MAX) {
		lerr_set(e, 400, LERR_BAD_REQUEST, "incomplete vendor CA record");
		goto out;
	}
	if (store_json_detail(json_pack("{s:s, s:b}", "fingerprint", fingerprint,
					"auto_register", auto_register != 0),
			      &detail, e) != 0)
		goto out;
	memset(&j, 0, sizeof(j));
	j.subject = subject;
	j.fingerprint = fingerprint;
	j.actor = actor;
	j.detail = detail;
	j.auto_register = auto_register != 0;
	j.der = der;
	j.der_len = der_len;
	j.now = (int64_t)time(NULL);
	if (store_submit(s, db_vendor_add_run, &j, e) != 0)
		goto out;
	rc = 0;
out:
	free(detail);
	return rc;
}

/*
 * Calls fn for each vendor CA, oldest first; fn returns non-zero to stop.
 * The row is only valid during the call.
 */
int
store_vendor_each(struct store *s, int (*fn)(const struct store_vendor *v, void *arg),
		  void *arg, struct lerr *e)
{
	struct store_conn *c = NULL;
	struct store_vendor row;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	int src;

	memset(&row, 0, sizeof(row));
	if (s == NULL || fn == NULL) {
		lerr_set(e, 500, LERR_INTERNAL, "store_vendor_each: bad arguments");
		goto out;
	}
	if ((c = store_reader_get(s, e)) == NULL ||
	    (st = store_stmt(c, Q_VENDOR_EACH, e)) == NULL)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		row.id = sqlite3_column_int64(st, 0);
		if (store_col_text(st, 1, row.subject, sizeof(row.subject), e) != 0 ||
		    store_col_text(st, 2, row.fingerprint, sizeof(row.fingerprint), e) != 0 ||
		    store_col_blob_dup(st, 4, &row.der, &row.der_len, e) != 0)
			goto out;
		row.auto_register = sqlite3_column_int(st, 3) != 0;
		row.created_at = sqlite3_column_int64(st, 5);
		if (fn(&row, arg) != 0)
			break;
		free(row.der);
		memset(&row, 0, sizeof(row));
	}
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		store_sqlerr(c->db, e, "listing vendor CAs");
		goto out;
	}
	rc = 0;
out:
	free(row.der);
	store_stmt_done(st);
	store_reader_put(s, c);
	return rc;
}
