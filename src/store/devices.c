/*
 * devices.c - the store's device trust anchors (see store.h): devices
 * pre-authorised by a bulk import, and the manufacturer (vendor) CAs whose
 * device certificates are accepted.
 *
 * Runs on the store engine (internal.h); every statement is in
 * store_sql_devices[] below. Consuming a pre-authorisation happens in
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

#include "common/lerr.h"
#include "store/store.h"
#include "store/internal.h"

const char *const store_sql_devices[Q_COUNT] = {
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

struct store_preauth_job {
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
store_preauth_import_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_preauth_job *j = arg;
	const struct store_preauth *p;
	struct store_query x;
	size_t i;
	int xrc;

	for (i = 0; i < j->n; i++) {
		p = &j->rows[i];
		x = (struct store_query){
			Q_PREAUTH_INSERT, "importing pre-authorised devices",
			{ store_arg_text(p->device_id), store_arg_text(p->name),
			  store_arg_text(p->auth_type), store_arg_text(p->secret_hash),
			  store_arg_int(p->created_at != 0 ? p->created_at : j->now),
			  p->used_at != 0 ? store_arg_int(p->used_at) : store_arg_null() },
		};
		if ((xrc = store_exec_constraint(w, &x, STORE_VIOLATION_UNIQUE, e)) > 0)
			return lerr_set(e, LERR_CONFLICT,
					"device %s is already pre-authorised", p->device_id);
		if (xrc < 0)
			return -1;
	}
	return store_audit_row(w, j->now, j->actor, "preauth-import", NULL, j->detail, e);
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
	struct store_preauth_job j;
	char *detail = NULL;
	int rc = -1;
	size_t i;

	if (s == NULL || (rows == NULL && n > 0) || actor == NULL) {
		lerr_set(e, LERR_INTERNAL, "store_preauth_import: bad arguments");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!store_fits(rows[i].device_id, sizeof(rows[i].device_id)) ||
		    rows[i].device_id[0] == '\0' ||
		    !store_fits(rows[i].name, sizeof(rows[i].name)) ||
		    !store_fits(rows[i].auth_type, sizeof(rows[i].auth_type))) {
			lerr_set(e, LERR_BAD_REQUEST,
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
	if (store_submit(s, store_preauth_import_run, &j, e) != 0)
		goto out;
	rc = 0;
out:
	free(detail);
	return rc;
}

/* Row reader: a row of Q_PREAUTH_GET into a new pre-authorisation at
 * *(struct store_preauth **)arg. */
int
store_preauth_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_preauth *p;
	int rc = -1;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		lerr_set(e, LERR_STORE, "out of memory");
		goto out;
	}
	if (store_col_text(st, 0, p->device_id, sizeof(p->device_id), e) != 0 ||
	    store_col_text(st, 1, p->name, sizeof(p->name), e) != 0 ||
	    store_col_text(st, 2, p->auth_type, sizeof(p->auth_type), e) != 0)
		goto out;
	if (!store_get_null(st, 3) &&
	    store_col_text_dup(st, 3, &p->secret_hash, e) != 0)
		goto out;
	p->created_at = store_get_int(st, 4);
	p->used_at = store_get_int(st, 5);	/* NULL reads as 0 */
	*(struct store_preauth **)arg = p;
	p = NULL;
	rc = 0;
out:
	store_preauth_free(p);
	return rc;
}

/* Reads one pre-authorisation; -1 with LERR_NOT_FOUND if the device id is
 * not listed. *out is the caller's (store_preauth_free). */
int
store_preauth_get(struct store *s, const char *device_id, struct store_preauth **out,
		  struct lerr *e)
{
	const struct store_query x = {
		Q_PREAUTH_GET, "reading a pre-authorisation", { store_arg_text(device_id) },
	};
	int lrc;

	if (out != NULL)
		*out = NULL;
	if (s == NULL || device_id == NULL || out == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_preauth_get: bad arguments");
	if ((lrc = store_lookup(s, &x, store_preauth_row, out, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "device %s is not pre-authorised",
				device_id);
	return lrc;
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

struct store_vendor_job {
	const char *subject, *fingerprint, *actor, *detail;
	int auto_register;
	const unsigned char *der;
	size_t der_len;
	int64_t now;
};

/* Writer job: the vendor row and its "vendor-add" audit row. */
static int
store_vendor_add_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_vendor_job *j = arg;
	const struct store_query x = {
		Q_VENDOR_INSERT, "recording the vendor CA",
		{ store_arg_text(j->subject), store_arg_text(j->fingerprint),
		  store_arg_int(j->auto_register), store_arg_blob(j->der, j->der_len),
		  store_arg_int(j->now) },
	};
	int xrc;

	if ((xrc = store_exec_constraint(w, &x, STORE_VIOLATION_UNIQUE, e)) > 0)
		return lerr_set(e, LERR_CONFLICT, "vendor CA %s is already known",
				j->fingerprint);
	if (xrc < 0)
		return -1;
	return store_audit_row(w, j->now, j->actor, "vendor-add", j->subject, j->detail, e);
}

/* Adds a vendor CA (its fingerprint must be new: LERR_CONFLICT otherwise);
 * durable on return. der stays the caller's. */
int
store_vendor_add(struct store *s, const char *subject, const char *fingerprint,
		 int auto_register, const unsigned char *der, size_t der_len,
		 const char *actor, struct lerr *e)
{
	struct store_vendor_job j;
	char *detail = NULL;
	int rc = -1;

	if (s == NULL || actor == NULL) {
		lerr_set(e, LERR_INTERNAL, "store_vendor_add: bad arguments");
		goto out;
	}
	if (fingerprint == NULL || fingerprint[0] == '\0' ||
	    strlen(fingerprint) >= sizeof(((struct store_vendor *)0)->fingerprint) ||
	    (subject != NULL &&
	     strlen(subject) >= sizeof(((struct store_vendor *)0)->subject)) ||
	    der == NULL || der_len == 0 || der_len > INT_MAX) {
		lerr_set(e, LERR_BAD_REQUEST, "incomplete vendor CA record");
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
	if (store_submit(s, store_vendor_add_run, &j, e) != 0)
		goto out;
	rc = 0;
out:
	free(detail);
	return rc;
}

/* store_vendor_each's fn and its argument. */
struct store_vendor_visit {
	int (*fn)(const struct store_vendor *v, void *arg);
	void *arg;
};

/* Fills v from a row of Q_VENDOR_EACH; v->der is allocated (the caller
 * frees it, also on failure). */
int
store_vendor_from_row(struct store_row *st, struct store_vendor *v, struct lerr *e)
{
	v->id = store_get_int(st, 0);
	if (store_col_text(st, 1, v->subject, sizeof(v->subject), e) != 0 ||
	    store_col_text(st, 2, v->fingerprint, sizeof(v->fingerprint), e) != 0 ||
	    store_col_blob_dup(st, 4, &v->der, &v->der_len, e) != 0)
		return -1;
	v->auto_register = store_get_int(st, 3) != 0;
	v->created_at = store_get_int(st, 5);
	return 0;
}

/* Row reader for store_vendor_each: hands one vendor CA to the caller's fn
 * (1 when it asks to stop). */
static int
store_vendor_each_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_vendor_visit *v = arg;
	struct store_vendor row;
	int rc = -1;

	memset(&row, 0, sizeof(row));
	if (store_vendor_from_row(st, &row, e) != 0)
		goto out;
	rc = v->fn(&row, v->arg) != 0;
out:
	free(row.der);
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
	const struct store_query x = { .q = Q_VENDOR_EACH, .what = "listing vendor CAs" };
	struct store_vendor_visit v = { fn, arg };

	if (s == NULL || fn == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_vendor_each: bad arguments");
	return store_each(s, &x, store_vendor_each_row, &v, e);
}
