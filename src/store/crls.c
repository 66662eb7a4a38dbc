/*
 * crls.c - the store's CRL family: the CRLs published (schema/0007), and
 * what the next one lists (see store.h, "CRLs").
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/lerr.h"
#include "store/store.h"
#include "store/internal.h"

#define CRL_COLS "number, ca_id, this_update, next_update, entries, revocations, created_at"

const char *const store_sql_crls[Q_COUNT] = {
	[Q_CRL_NEWEST] = "SELECT " CRL_COLS ", NULL FROM crls WHERE ?1 = 0 OR ca_id = ?1 "
			 "ORDER BY number DESC LIMIT 1",
	[Q_CRL_NEWEST_DER] = "SELECT " CRL_COLS ", der FROM crls WHERE ?1 = 0 OR ca_id = ?1 "
			     "ORDER BY number DESC LIMIT 1",
	[Q_CRL_INSERT] =
		"INSERT INTO crls (number, ca_id, this_update, next_update, entries, "
		"revocations, der, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[Q_CRL_MAX] = "SELECT coalesce(max(number), 0) FROM crls",
	/* One range of certificates_revoked_not_after (schema/0006). A row
	 * revoked without a time (revoked_at NULL) comes first, as SQLite
	 * puts NULL first and PostgreSQL last: coalesce says it for both. */
	[Q_CRL_ENTRIES] =
		"SELECT serial, revoked_at, revoke_reason FROM certificates "
		"WHERE status = 'revoked' AND not_after > ?2 AND ca_id = ?1 "
		"ORDER BY coalesce(revoked_at, 0), id LIMIT ?3",
};

void
store_crl_free(struct store_crl *c)
{
	if (c == NULL)
		return;
	free(c->der);
	free(c);
}

/* Row reader: a row of Q_CRL_NEWEST(_DER) into a new CRL at arg. */
static int
store_crl_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_crl *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return lerr_set(e, LERR_STORE, "out of memory");
	c->number = store_get_int(st, 0);
	c->ca_id = store_get_int(st, 1);
	c->this_update = store_get_int(st, 2);
	c->next_update = store_get_int(st, 3);
	c->entries = store_get_int(st, 4);
	c->revocations = store_get_int(st, 5);
	c->created_at = store_get_int(st, 6);
	if (!store_get_null(st, 7) &&
	    store_col_blob_dup(st, 7, &c->der, &c->der_len, e) != 0) {
		store_crl_free(c);
		return -1;
	}
	*(struct store_crl **)arg = c;
	return 0;
}

int
store_crl_newest(struct store *s, int64_t ca_id, int with_der, struct store_crl **out,
		 struct lerr *e)
{
	const struct store_query x = {
		with_der ? Q_CRL_NEWEST_DER : Q_CRL_NEWEST, "reading the newest CRL",
		{ store_arg_int(ca_id) },
	};
	int lrc;

	if (out == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_crl_newest: bad arguments");
	*out = NULL;
	if (s == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_crl_newest: bad arguments");
	if ((lrc = store_lookup(s, &x, store_crl_row, out, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no CRL was made yet");
	return lrc;
}

struct store_crl_job {
	const struct store_crl *c;
	const char *actor;
	const char *detail;
	int64_t now;
};

/* Writer job: the next number only, the row and its "crl" audit row. */
static int
store_crl_insert_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_crl_job *j = arg;
	const struct store_crl *c = j->c;
	struct store_query x = { Q_CRL_MAX, "reading the newest CRL number", { { 0 } } };
	int64_t newest = 0;

	if (store_conn_lookup(w, &x, store_row_int, &newest, e) < 0)
		return -1;
	if (c->number != newest + 1)
		return lerr_set(e, LERR_CONFLICT, "CRL number %lld is not the next one (%lld)",
				(long long)c->number, (long long)(newest + 1));
	x = (struct store_query){
		Q_CRL_INSERT, "recording the CRL",
		{ store_arg_int(c->number), store_arg_int(c->ca_id), store_arg_int(c->this_update),
		  store_arg_int(c->next_update), store_arg_int(c->entries),
		  store_arg_int(c->revocations), store_arg_blob(c->der, c->der_len),
		  store_arg_int(j->now) },
	};
	if (store_exec(w, &x, NULL, e) != 0)
		return -1;
	return store_audit_row(w, j->now, j->actor, "crl", NULL, j->detail, e);
}

int
store_crl_insert(struct store *s, const struct store_crl *c, const char *actor,
		 struct lerr *e)
{
	struct store_crl_job j;
	char *detail = NULL;
	int rc;

	if (s == NULL || c == NULL || actor == NULL || c->der == NULL || c->der_len == 0 ||
	    c->der_len > INT_MAX)
		return lerr_set(e, LERR_INTERNAL, "store_crl_insert: bad arguments");
	if (c->number <= 0 || c->next_update <= c->this_update || c->entries < 0 ||
	    c->revocations < 0)
		return lerr_set(e, LERR_BAD_REQUEST, "malformed CRL record");
	if (store_json_detail(json_pack("{s:I, s:I, s:I}", "number", (json_int_t)c->number,
					"entries", (json_int_t)c->entries,
					"next_update", (json_int_t)c->next_update),
			      &detail, e) != 0)
		return -1;
	j.c = c;
	j.actor = actor;
	j.detail = detail;
	j.now = c->created_at != 0 ? c->created_at : (int64_t)time(NULL);
	rc = store_submit(s, store_crl_insert_run, &j, e);
	free(detail);
	return rc;
}

/* Entries as Q_CRL_ENTRIES reads them. */
struct store_crl_fill {
	struct crl_entry *out;
	size_t max, n;
};

static int
store_crl_entry_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_crl_fill *f = arg;
	struct crl_entry *ce;
	char reason[32];

	if (f->n++ >= f->max)
		return 0;	/* counted only: it does not fit */
	ce = &f->out[f->n - 1];
	memset(ce, 0, sizeof(*ce));
	if (store_col_blob(st, 0, ce->serial, sizeof(ce->serial), &ce->serial_len, e) != 0 ||
	    store_col_text(st, 2, reason, sizeof(reason), e) != 0)
		return -1;
	ce->revoked_at = (time_t)store_get_int(st, 1);
	ce->reason = CRL_REASON_UNSPECIFIED;
	if (reason[0] != '\0' && crl_reason_parse(reason, &ce->reason) != 0)
		return lerr_set(e, LERR_STORE, "unknown revocation reason '%s' on record", reason);
	return 0;
}

int
store_crl_entries(struct store *s, int64_t ca_id, int64_t now, struct crl_entry *out,
		  size_t max, size_t *n, int64_t *revocations, struct lerr *e)
{
	const struct store_query count = {
		Q_CERT_REVOKED_COUNT, "counting revoked certificates", { { 0 } },
	};
	/* One row past max says that they do not fit, and costs nothing more. */
	const struct store_query x = {
		Q_CRL_ENTRIES, "reading the revoked certificates",
		{ store_arg_int(ca_id), store_arg_int(now), store_arg_int((int64_t)max + 1) },
	};
	struct store_crl_fill f = { out, max, 0 };
	struct store_conn *c = NULL;
	int rc = -1, open = 0;

	*n = 0;
	*revocations = 0;
	if (s == NULL || (out == NULL && max > 0) || max > INT_MAX)
		return lerr_set(e, LERR_INTERNAL, "store_crl_entries: bad arguments");
	if ((c = store_reader_get(s, e)) == NULL || store_read_begin(c, e) != 0)
		goto out;
	open = 1;
	if (store_conn_lookup(c, &count, store_row_int, revocations, e) < 0 ||
	    store_conn_each(c, &x, store_crl_entry_row, &f, e) != 0)
		goto out;
	*n = f.n;
	rc = 0;
out:
	/* A read transaction: ending it cannot lose work (as onboard.c's). */
	if (open && store_read_end(c, rc == 0 ? e : NULL) != 0 && rc == 0)
		rc = -1;
	store_reader_put(s, c);
	return rc;
}

int
store_revocations(struct store *s, int64_t *n, struct lerr *e)
{
	const struct store_query x = {
		Q_CERT_REVOKED_COUNT, "counting revoked certificates", { { 0 } },
	};

	*n = 0;
	if (s == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_revocations: bad arguments");
	return store_lookup(s, &x, store_row_int, n, e) < 0 ? -1 : 0;
}
