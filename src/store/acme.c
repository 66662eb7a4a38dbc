/*
 * acme.c - the store's ACME rows (see store.h, "ACME"): accounts, orders,
 * their authorisations and the EAB key ids, as schema/0012 keeps them.
 *
 * Runs on the store engine (internal.h); every statement is in
 * store_sql_acme[] below. Each state change is one UPDATE whose WHERE
 * names the state it leaves, so two requests racing for one change see
 * one of them win and the other change nothing (reported as 1).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/lerr.h"
#include "store/store.h"
#include "store/internal.h"

#define STORE_ACME_ACCOUNT_COLS \
	"id, thumbprint, jwk, status, approved, contact, coalesce(eab_kid, ''), source, " \
	"created_at, coalesce(approved_at, 0)"
#define STORE_ACME_AUTHZ_COLS \
	"id, order_id, type, value, status, token, chall, chall_status, " \
	"coalesce(validated_at, 0), expires_at, coalesce(error, '')"

const char *const store_sql_acme[Q_COUNT] = {
	[Q_ACME_ACCT_INSERT] =
		"INSERT INTO acme_accounts (id, thumbprint, jwk, status, approved, contact, "
		"eab_kid, source, created_at, approved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[Q_ACME_ACCT_GET] =
		"SELECT " STORE_ACME_ACCOUNT_COLS " FROM acme_accounts WHERE id = ?",
	[Q_ACME_ACCT_BY_KEY] =
		"SELECT " STORE_ACME_ACCOUNT_COLS " FROM acme_accounts WHERE thumbprint = ?",
	[Q_ACME_ACCT_EACH] =
		"SELECT " STORE_ACME_ACCOUNT_COLS " FROM acme_accounts ORDER BY created_at, id",
	[Q_ACME_ACCT_WAITING] =
		"SELECT count(*) FROM acme_accounts WHERE approved = '' AND status = 'valid'",
	[Q_ACME_ACCT_APPROVE] =
		"UPDATE acme_accounts SET approved = ?2, approved_at = ?3 "
		"WHERE id = ?1 AND approved = '' AND status = 'valid'",
	[Q_ACME_ACCT_UPDATE] =
		"UPDATE acme_accounts SET contact = coalesce(?2, contact), status = ?3 "
		"WHERE id = ?1 AND status = 'valid'",
	[Q_ACME_ACCT_REKEY] =
		"UPDATE acme_accounts SET jwk = ?2, thumbprint = ?3 "
		"WHERE id = ?1 AND status = 'valid'",
	[Q_ACME_EAB_INSERT] =
		"INSERT INTO acme_eab (kid, created_at, expires_at) VALUES (?, ?, ?)",
	[Q_ACME_EAB_USE] =
		"UPDATE acme_eab SET used_at = ?2, account_id = ?3 "
		"WHERE kid = ?1 AND used_at IS NULL AND expires_at > ?2",
	[Q_ACME_ORDER_INSERT] =
		"INSERT INTO acme_orders (id, account_id, status, identifiers, created_at, "
		"expires_at, updated_at) VALUES (?, ?, 'pending', ?, ?, ?, ?)",
	[Q_ACME_AUTHZ_INSERT] =
		"INSERT INTO acme_authz (id, order_id, seq, type, value, status, token, "
		"expires_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
	[Q_ACME_ORDER_GET] =
		"SELECT id, account_id, status, identifiers, coalesce(error, ''), "
		"coalesce(cert_serial, ''), created_at, expires_at, updated_at "
		"FROM acme_orders WHERE id = ?",
	[Q_ACME_ORDER_AUTHZ] =
		"SELECT " STORE_ACME_AUTHZ_COLS " FROM acme_authz WHERE order_id = ? ORDER BY seq",
	[Q_ACME_ORDERS_OF] =
		"SELECT id FROM acme_orders WHERE account_id = ? "
		"ORDER BY created_at DESC, id LIMIT ?",
	[Q_ACME_AUTHZ_GET] =
		"SELECT " STORE_ACME_AUTHZ_COLS " FROM acme_authz WHERE id = ?",
	[Q_ACME_CHALL_START] =
		"UPDATE acme_authz SET chall = ?2, chall_status = 'processing' "
		"WHERE id = ?1 AND status = 'pending' AND chall_status = 'pending' "
		"AND expires_at > ?3",
	/* The challenge takes the verdict; the authorisation too unless it
	 * left pending meanwhile (deactivated by its client: a final state). */
	[Q_ACME_CHALL_DONE] =
		"UPDATE acme_authz SET chall_status = ?2, "
		"status = CASE WHEN status = 'pending' THEN ?2 ELSE status END, "
		"validated_at = ?3, error = ?4 WHERE id = ?1 AND chall_status = 'processing'",
	/* The order of an authorisation that changed: ready once every one
	 * of its authorisations is valid, invalid once one is invalid or
	 * deactivated; pending otherwise. */
	[Q_ACME_ORDER_SETTLE] =
		"UPDATE acme_orders SET updated_at = ?2, status = CASE "
		"WHEN EXISTS (SELECT 1 FROM acme_authz a WHERE a.order_id = acme_orders.id "
		"AND a.status NOT IN ('pending', 'valid')) THEN 'invalid' "
		"WHEN NOT EXISTS (SELECT 1 FROM acme_authz a WHERE a.order_id = acme_orders.id "
		"AND a.status <> 'valid') THEN 'ready' ELSE 'pending' END, "
		"error = CASE WHEN error IS NOT NULL THEN error ELSE ?3 END "
		"WHERE id = (SELECT order_id FROM acme_authz WHERE id = ?1) "
		"AND status IN ('pending', 'ready')",
	[Q_ACME_AUTHZ_DEACTIVATE] =
		"UPDATE acme_authz SET status = 'deactivated' "
		"WHERE id = ?1 AND status IN ('pending', 'valid')",
	[Q_ACME_ORDER_BEGIN] =
		"UPDATE acme_orders SET status = 'processing', updated_at = ?2 "
		"WHERE id = ?1 AND status = 'ready' AND expires_at > ?2",
	[Q_ACME_ORDER_END] =
		"UPDATE acme_orders SET status = ?2, cert_serial = ?3, error = ?4, "
		"updated_at = ?5 WHERE id = ?1 AND status = 'processing'",
	[Q_ACME_EXPIRE_AUTHZ] =
		"UPDATE acme_authz SET status = 'expired' "
		"WHERE status = 'pending' AND chall_status <> 'processing' AND expires_at <= ?1",
	[Q_ACME_EXPIRE_ORDERS] =
		"UPDATE acme_orders SET status = 'invalid', updated_at = ?1, error = coalesce(error, "
		"'{\"type\":\"urn:ietf:params:acme:error:malformed\","
		"\"detail\":\"the order expired before it was finalized\"}') "
		"WHERE status IN ('pending', 'ready') AND expires_at <= ?1",
	[Q_ACME_AUTHZ_PROCESSING] =
		"SELECT id FROM acme_authz WHERE chall_status = 'processing'",
	[Q_ACME_ORDERS_PROCESSING] =
		"SELECT count(*) FROM acme_orders WHERE status = 'processing'",
	[Q_ACME_ORDER_ABANDON] =
		"UPDATE acme_orders SET status = 'invalid', error = ?2, updated_at = ?1 "
		"WHERE status = 'processing'",
};

/* ---- accounts ---- */

void
store_acme_account_free(struct store_acme_account *a)
{
	if (a == NULL)
		return;
	free(a->jwk);
	free(a->contact);
	free(a);
}

/* A row of STORE_ACME_ACCOUNT_COLS into a new account at *(... **)arg. */
static int
store_acme_account_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_acme_account **out = arg, *a;

	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	if (store_col_text(st, 0, a->id, sizeof(a->id), e) != 0 ||
	    store_col_text(st, 1, a->thumbprint, sizeof(a->thumbprint), e) != 0 ||
	    store_col_text_dup(st, 2, &a->jwk, e) != 0 ||
	    store_col_acme_status(st, 3, &a->status, e) != 0 ||
	    store_col_acme_approval(st, 4, &a->approved, e) != 0 ||
	    store_col_text_dup(st, 5, &a->contact, e) != 0 ||
	    store_col_text(st, 6, a->eab_kid, sizeof(a->eab_kid), e) != 0 ||
	    store_col_text(st, 7, a->source, sizeof(a->source), e) != 0) {
		store_acme_account_free(a);
		return -1;
	}
	a->created_at = store_get_int(st, 8);
	a->approved_at = store_get_int(st, 9);
	*out = a;
	return 0;
}

struct store_acme_new_job {
	const struct store_acme_account *a;
	const char *detail;
};

static int
store_acme_account_new_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_acme_new_job *j = arg;
	const struct store_acme_account *a = j->a;
	struct store_query x;
	int xrc, changed = 0;

	x = (struct store_query){
		Q_ACME_ACCT_INSERT, "recording an ACME account",
		{ store_arg_text(a->id), store_arg_text(a->thumbprint), store_arg_text(a->jwk),
		  store_arg_text(store_acme_status_str(a->status)),
		  store_arg_text(store_acme_approval_str(a->approved)),
		  store_arg_text(a->contact != NULL ? a->contact : "[]"),
		  a->eab_kid[0] != '\0' ? store_arg_text(a->eab_kid) : store_arg_null(),
		  store_arg_text(a->source), store_arg_int(a->created_at),
		  a->approved != STORE_ACME_WAITING ? store_arg_int(a->created_at) :
						      store_arg_null() },
	};
	if ((xrc = store_exec_constraint(w, &x, STORE_VIOLATION_UNIQUE, e)) > 0)
		return lerr_set(e, LERR_CONFLICT, "this key has an ACME account already");
	if (xrc < 0)
		return -1;
	if (a->eab_kid[0] != '\0') {
		x = (struct store_query){
			Q_ACME_EAB_USE, "using an EAB key",
			{ store_arg_text(a->eab_kid), store_arg_int(a->created_at),
			  store_arg_text(a->id) },
		};
		if (store_exec(w, &x, &changed, e) != 0)
			return -1;
		if (changed == 0)
			return lerr_set(e, LERR_FORBIDDEN, "the external account binding key %s "
					"is unknown, used already or expired", a->eab_kid);
	}
	return store_audit_row(w, a->created_at, a->source[0] ? a->source : "acme",
			       "acme-account", a->id, j->detail, e);
}

int
store_acme_account_new(struct store *s, const struct store_acme_account *a, struct lerr *e)
{
	struct store_acme_new_job j;
	char *detail = NULL;
	int rc;

	if (s == NULL || a == NULL || a->jwk == NULL || a->id[0] == '\0' ||
	    a->thumbprint[0] == '\0')
		return lerr_set(e, LERR_INTERNAL, "store_acme_account_new: bad arguments");
	if (store_json_detail(json_pack("{s:s, s:s, s:s}", "thumbprint", a->thumbprint,
					"approved", store_acme_approval_str(a->approved),
					"eab", a->eab_kid), &detail, e) != 0)
		return -1;
	j.a = a;
	j.detail = detail;
	rc = store_submit(s, store_acme_account_new_run, &j, e);
	free(detail);
	return rc;
}

/* The account query q (by id or by key) finds with key. */
static int
store_acme_account_find(struct store *s, enum store_q q, const char *key,
			struct store_acme_account **out, struct lerr *e)
{
	const struct store_query x = { q, "reading an ACME account", { store_arg_text(key) } };

	*out = NULL;
	return store_lookup(s, &x, store_acme_account_row, out, e);
}

int
store_acme_account_get(struct store *s, const char *id, struct store_acme_account **out,
		       struct lerr *e)
{
	return store_acme_account_find(s, Q_ACME_ACCT_GET, id, out, e);
}

int
store_acme_account_by_key(struct store *s, const char *thumbprint,
			  struct store_acme_account **out, struct lerr *e)
{
	return store_acme_account_find(s, Q_ACME_ACCT_BY_KEY, thumbprint, out, e);
}

/* One UPDATE and its audit row; 1 when the UPDATE changed nothing. */
struct store_acme_change_job {
	struct store_query x;
	int64_t at;
	const char *actor, *event, *subject, *detail;
	int changed;
};

static int
store_acme_change_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_acme_change_job *j = arg;

	if (store_exec(w, &j->x, &j->changed, e) != 0)
		return -1;
	if (j->changed == 0 || j->event == NULL)
		return 0;
	return store_audit_row(w, j->at, j->actor, j->event, j->subject, j->detail, e);
}

/* Runs j: 0 when it changed a row, 1 when none, -1 with e. */
static int
store_acme_change(struct store *s, struct store_acme_change_job *j, struct lerr *e)
{
	j->changed = 0;
	if (store_submit(s, store_acme_change_run, j, e) != 0)
		return -1;
	return j->changed > 0 ? 0 : 1;
}

/* After an account change that changed nothing: why. */
static int
store_acme_account_refused(struct store *s, const char *id, const char *what, struct lerr *e)
{
	struct store_acme_account *a = NULL;
	int lrc;

	if ((lrc = store_acme_account_get(s, id, &a, e)) < 0)
		return -1;
	if (lrc > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no ACME account %s", id);
	if (a->status != STORE_ACME_VALID)
		lerr_set(e, LERR_FORBIDDEN, "ACME account %s is %s", id,
			 store_acme_status_str(a->status));
	else
		lerr_set(e, LERR_CONFLICT, "ACME account %s: %s", id, what);
	store_acme_account_free(a);
	return -1;
}

int
store_acme_account_approve(struct store *s, const char *id, enum store_acme_approval how,
			   const char *actor, int64_t now, struct lerr *e)
{
	struct store_acme_change_job j;
	char detail[64];
	int rc;

	if (s == NULL || id == NULL || actor == NULL || how == STORE_ACME_WAITING)
		return lerr_set(e, LERR_INTERNAL, "store_acme_account_approve: bad arguments");
	snprintf(detail, sizeof(detail), "{\"by\":\"%s\"}", store_acme_approval_str(how));
	memset(&j, 0, sizeof(j));
	j.x = (struct store_query){ Q_ACME_ACCT_APPROVE, "approving an ACME account",
				    { store_arg_text(id), store_arg_text(store_acme_approval_str(how)),
				      store_arg_int(now) } };
	j.at = now;
	j.actor = actor;
	j.event = "acme-approve";
	j.subject = id;
	j.detail = detail;
	if ((rc = store_acme_change(s, &j, e)) <= 0)
		return rc;
	return store_acme_account_refused(s, id, "approved already", e);
}

int
store_acme_account_update(struct store *s, const char *id, const char *contact,
			  enum store_acme_status status, const char *actor, int64_t now,
			  struct lerr *e)
{
	struct store_acme_change_job j;
	int rc;

	if (s == NULL || id == NULL || actor == NULL ||
	    (status != STORE_ACME_VALID && status != STORE_ACME_DEACTIVATED))
		return lerr_set(e, LERR_INTERNAL, "store_acme_account_update: bad arguments");
	memset(&j, 0, sizeof(j));
	j.x = (struct store_query){ Q_ACME_ACCT_UPDATE, "updating an ACME account",
				    { store_arg_text(id), store_arg_text(contact),
				      store_arg_text(store_acme_status_str(status)) } };
	j.at = now;
	j.actor = actor;
	j.event = status == STORE_ACME_DEACTIVATED ? "acme-deactivate" : "acme-account-update";
	j.subject = id;
	if ((rc = store_acme_change(s, &j, e)) <= 0)
		return rc;
	return store_acme_account_refused(s, id, "not changed", e);
}

int
store_acme_account_rekey(struct store *s, const char *id, const char *jwk,
			 const char *thumbprint, const char *actor, int64_t now, struct lerr *e)
{
	struct store_acme_change_job j;
	char *detail = NULL;
	int rc;

	if (s == NULL || id == NULL || jwk == NULL || thumbprint == NULL || actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_acme_account_rekey: bad arguments");
	if (store_json_detail(json_pack("{s:s}", "thumbprint", thumbprint), &detail, e) != 0)
		return -1;
	memset(&j, 0, sizeof(j));
	j.x = (struct store_query){ Q_ACME_ACCT_REKEY, "changing an ACME account's key",
				    { store_arg_text(id), store_arg_text(jwk),
				      store_arg_text(thumbprint) } };
	j.at = now;
	j.actor = actor;
	j.event = "acme-key-change";
	j.subject = id;
	j.detail = detail;
	rc = store_acme_change(s, &j, e);
	free(detail);
	if (rc < 0 && e != NULL && e->code == LERR_CONFLICT)
		return lerr_set(e, LERR_CONFLICT, "the new key has an ACME account already");
	if (rc <= 0)
		return rc;
	return store_acme_account_refused(s, id, "not changed", e);
}

int
store_acme_accounts_waiting(struct store *s, int64_t *n, struct lerr *e)
{
	const struct store_query x = { Q_ACME_ACCT_WAITING, "counting waiting ACME accounts",
				       { { 0 } } };

	*n = 0;
	return store_lookup(s, &x, store_row_int, n, e) < 0 ? -1 : 0;
}

struct store_acme_each {
	int (*fn)(const struct store_acme_account *a, void *arg);
	void *arg;
};

static int
store_acme_each_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_acme_each *it = arg;
	struct store_acme_account *a = NULL;
	int stop;

	if (store_acme_account_row(st, &a, e) != 0)
		return -1;
	stop = it->fn(a, it->arg);
	store_acme_account_free(a);
	return stop != 0;
}

int
store_acme_account_each(struct store *s, int (*fn)(const struct store_acme_account *a, void *arg),
			void *arg, struct lerr *e)
{
	const struct store_query x = { Q_ACME_ACCT_EACH, "listing ACME accounts", { { 0 } } };
	struct store_acme_each it = { fn, arg };

	return store_each(s, &x, store_acme_each_row, &it, e);
}

/* ---- orders and authorisations ---- */

static int
store_acme_authz_row(struct store_row *st, struct store_acme_authz *z, struct lerr *e)
{
	char type[8];

	memset(z, 0, sizeof(*z));
	if (store_col_text(st, 0, z->id, sizeof(z->id), e) != 0 ||
	    store_col_text(st, 1, z->order_id, sizeof(z->order_id), e) != 0 ||
	    store_col_text(st, 2, type, sizeof(type), e) != 0 ||
	    store_col_text(st, 3, z->value, sizeof(z->value), e) != 0 ||
	    store_col_acme_status(st, 4, &z->status, e) != 0 ||
	    store_col_text(st, 5, z->token, sizeof(z->token), e) != 0 ||
	    store_col_text(st, 6, z->chall, sizeof(z->chall), e) != 0 ||
	    store_col_acme_status(st, 7, &z->chall_status, e) != 0 ||
	    store_col_text(st, 10, z->error, sizeof(z->error), e) != 0)
		return -1;
	z->ip = strcmp(type, "ip") == 0;
	z->validated_at = store_get_int(st, 8);
	z->expires_at = store_get_int(st, 9);
	return 0;
}

static int
store_acme_authz_one(struct store_row *st, void *arg, struct lerr *e)
{
	return store_acme_authz_row(st, arg, e);
}

/* Appends a row of Q_ACME_ORDER_AUTHZ to the order at arg. */
static int
store_acme_authz_append(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_acme_order *o = arg;

	if (o->nauthz >= STORE_ACME_IDENTS_MAX)
		return lerr_set(e, LERR_STORE, "order %s has too many authorisations", o->id);
	if (store_acme_authz_row(st, &o->authz[o->nauthz], e) != 0)
		return -1;
	o->nauthz++;
	return 0;
}

static int
store_acme_order_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_acme_order *o = arg;

	if (store_col_text(st, 0, o->id, sizeof(o->id), e) != 0 ||
	    store_col_text(st, 1, o->account_id, sizeof(o->account_id), e) != 0 ||
	    store_col_acme_status(st, 2, &o->status, e) != 0 ||
	    store_col_text(st, 3, o->identifiers, sizeof(o->identifiers), e) != 0 ||
	    store_col_text(st, 4, o->error, sizeof(o->error), e) != 0 ||
	    store_col_text(st, 5, o->cert_serial, sizeof(o->cert_serial), e) != 0)
		return -1;
	o->created_at = store_get_int(st, 6);
	o->expires_at = store_get_int(st, 7);
	o->updated_at = store_get_int(st, 8);
	return 0;
}

static int
store_acme_order_new_run(struct store_conn *w, void *arg, struct lerr *e)
{
	const struct store_acme_order *o = arg;
	struct store_query x;
	size_t i;

	x = (struct store_query){
		Q_ACME_ORDER_INSERT, "recording an ACME order",
		{ store_arg_text(o->id), store_arg_text(o->account_id),
		  store_arg_text(o->identifiers), store_arg_int(o->created_at),
		  store_arg_int(o->expires_at), store_arg_int(o->created_at) },
	};
	if (store_exec(w, &x, NULL, e) != 0)
		return -1;
	for (i = 0; i < o->nauthz; i++) {
		const struct store_acme_authz *z = &o->authz[i];

		x = (struct store_query){
			Q_ACME_AUTHZ_INSERT, "recording an ACME authorisation",
			{ store_arg_text(z->id), store_arg_text(o->id), store_arg_int((int64_t)i),
			  store_arg_text(z->ip ? "ip" : "dns"), store_arg_text(z->value),
			  store_arg_text(z->token), store_arg_int(z->expires_at) },
		};
		if (store_exec(w, &x, NULL, e) != 0)
			return -1;
	}
	return store_audit_row(w, o->created_at, "acme", "acme-order", o->account_id,
			       o->identifiers, e);
}

int
store_acme_order_new(struct store *s, const struct store_acme_order *o, struct lerr *e)
{
	if (s == NULL || o == NULL || o->nauthz == 0 || o->nauthz > STORE_ACME_IDENTS_MAX)
		return lerr_set(e, LERR_INTERNAL, "store_acme_order_new: bad arguments");
	return store_submit(s, store_acme_order_new_run, (void *)o, e);
}

int
store_acme_order_get(struct store *s, const char *id, struct store_acme_order **out,
		     struct lerr *e)
{
	const struct store_query xo = { Q_ACME_ORDER_GET, "reading an ACME order",
					{ store_arg_text(id) } };
	const struct store_query xa = { Q_ACME_ORDER_AUTHZ, "reading an order's authorisations",
					{ store_arg_text(id) } };
	struct store_acme_order *o;
	struct store_conn *c;
	int lrc = -1;

	*out = NULL;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	if ((c = store_reader_get(s, e)) == NULL)
		goto out;
	/* One connection, and the authorisations change only forwards: an
	 * order read with authorisations a moment newer is still whole. */
	if ((lrc = store_conn_lookup(c, &xo, store_acme_order_row, o, e)) == 0 &&
	    store_conn_each(c, &xa, store_acme_authz_append, o, e) != 0)
		lrc = -1;
out:
	store_reader_put(s, c);
	if (lrc == 0)
		*out = o;
	else
		free(o);
	return lrc;
}

struct store_acme_ids {
	char (*ids)[STORE_ACME_ID_LEN + 1];
	size_t n, got;
};

static int
store_acme_id_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_acme_ids *it = arg;

	if (it->got >= it->n)
		return 1;
	if (store_col_text(st, 0, it->ids[it->got], STORE_ACME_ID_LEN + 1, e) != 0)
		return -1;
	it->got++;
	return 0;
}

int
store_acme_orders_of(struct store *s, const char *account_id,
		     char (*ids)[STORE_ACME_ID_LEN + 1], size_t n, size_t *got, struct lerr *e)
{
	const struct store_query x = { Q_ACME_ORDERS_OF, "listing an account's orders",
				       { store_arg_text(account_id), store_arg_int((int64_t)n) } };
	struct store_acme_ids it = { ids, n, 0 };
	int rc;

	rc = store_each(s, &x, store_acme_id_row, &it, e);
	*got = it.got;
	return rc;
}

int
store_acme_authz_get(struct store *s, const char *id, struct store_acme_authz *out,
		     struct lerr *e)
{
	const struct store_query x = { Q_ACME_AUTHZ_GET, "reading an ACME authorisation",
				       { store_arg_text(id) } };

	return store_lookup(s, &x, store_acme_authz_one, out, e);
}

int
store_acme_chall_start(struct store *s, const char *authz_id, const char *chall, int64_t now,
		       struct lerr *e)
{
	struct store_acme_change_job j;

	memset(&j, 0, sizeof(j));
	j.x = (struct store_query){ Q_ACME_CHALL_START, "starting an ACME challenge",
				    { store_arg_text(authz_id), store_arg_text(chall),
				      store_arg_int(now) } };
	return store_acme_change(s, &j, e);
}

struct store_acme_done_job {
	const char *authz_id, *error, *detail, *value;
	int ok;
	int64_t now;
	int changed;
};

static int
store_acme_chall_done_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_acme_done_job *j = arg;
	struct store_query x;

	x = (struct store_query){
		Q_ACME_CHALL_DONE, "recording an ACME validation",
		{ store_arg_text(j->authz_id), store_arg_text(j->ok ? "valid" : "invalid"),
		  store_arg_int(j->now), j->ok ? store_arg_null() : store_arg_text(j->error) },
	};
	if (store_exec(w, &x, &j->changed, e) != 0)
		return -1;
	if (j->changed == 0)
		return 0;
	x = (struct store_query){
		Q_ACME_ORDER_SETTLE, "settling an ACME order",
		{ store_arg_text(j->authz_id), store_arg_int(j->now),
		  j->ok ? store_arg_null() : store_arg_text(j->error) },
	};
	if (store_exec(w, &x, NULL, e) != 0)
		return -1;
	return store_audit_row(w, j->now, "lanca", "acme-validate", j->value, j->detail, e);
}

int
store_acme_chall_done(struct store *s, const char *authz_id, int ok, const char *error,
		      int64_t now, struct lerr *e)
{
	struct store_acme_done_job j;
	struct store_acme_authz z;
	char *detail = NULL;
	int lrc;

	if (s == NULL || authz_id == NULL || (!ok && error == NULL))
		return lerr_set(e, LERR_INTERNAL, "store_acme_chall_done: bad arguments");
	if ((lrc = store_acme_authz_get(s, authz_id, &z, e)) != 0)
		return lrc < 0 ? -1 : lerr_set(e, LERR_NOT_FOUND, "no authorisation %s", authz_id);
	if (store_json_detail(json_pack("{s:s, s:s, s:s, s:b}", "authz", authz_id, "order",
					z.order_id, "challenge", z.chall, "valid", ok),
			      &detail, e) != 0)
		return -1;
	memset(&j, 0, sizeof(j));
	j.authz_id = authz_id;
	j.error = error;
	j.detail = detail;
	j.value = z.value;
	j.ok = ok;
	j.now = now;
	lrc = store_submit(s, store_acme_chall_done_run, &j, e);
	free(detail);
	if (lrc != 0)
		return -1;
	return j.changed > 0 ? 0 : 1;
}

static int
store_acme_deactivate_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_acme_done_job *j = arg;
	struct store_query x;

	x = (struct store_query){ Q_ACME_AUTHZ_DEACTIVATE, "deactivating an authorisation",
				  { store_arg_text(j->authz_id) } };
	if (store_exec(w, &x, &j->changed, e) != 0)
		return -1;
	if (j->changed == 0)
		return 0;
	x = (struct store_query){
		Q_ACME_ORDER_SETTLE, "settling an ACME order",
		{ store_arg_text(j->authz_id), store_arg_int(j->now), store_arg_text(j->error) },
	};
	return store_exec(w, &x, NULL, e);
}

int
store_acme_authz_deactivate(struct store *s, const char *authz_id, int64_t now, struct lerr *e)
{
	struct store_acme_done_job j;

	memset(&j, 0, sizeof(j));
	j.authz_id = authz_id;
	j.now = now;
	j.error = "{\"type\":\"urn:ietf:params:acme:error:unauthorized\","
		  "\"detail\":\"an authorization of this order was deactivated\"}";
	if (store_submit(s, store_acme_deactivate_run, &j, e) != 0)
		return -1;
	return j.changed > 0 ? 0 : 1;
}

int
store_acme_order_begin(struct store *s, const char *id, int64_t now, struct lerr *e)
{
	struct store_acme_change_job j;

	memset(&j, 0, sizeof(j));
	j.x = (struct store_query){ Q_ACME_ORDER_BEGIN, "finalizing an ACME order",
				    { store_arg_text(id), store_arg_int(now) } };
	return store_acme_change(s, &j, e);
}

int
store_acme_order_end(struct store *s, const char *id, const char *serial, const char *error,
		     int64_t now, struct lerr *e)
{
	struct store_acme_change_job j;

	memset(&j, 0, sizeof(j));
	j.x = (struct store_query){ Q_ACME_ORDER_END, "finishing an ACME order",
				    { store_arg_text(id), store_arg_text(serial != NULL ? "valid" :
									 error != NULL ? "invalid" :
									 "ready"),
				      store_arg_text(serial),
				      serial != NULL ? store_arg_null() : store_arg_text(error),
				      store_arg_int(now) } };
	return store_acme_change(s, &j, e) < 0 ? -1 : 0;
}

static int
store_acme_expire_run(struct store_conn *w, void *arg, struct lerr *e)
{
	const int64_t *now = arg;
	struct store_query x;

	x = (struct store_query){ Q_ACME_EXPIRE_AUTHZ, "expiring ACME authorisations",
				  { store_arg_int(*now) } };
	if (store_exec(w, &x, NULL, e) != 0)
		return -1;
	x = (struct store_query){ Q_ACME_EXPIRE_ORDERS, "expiring ACME orders",
				  { store_arg_int(*now) } };
	return store_exec(w, &x, NULL, e);
}

int
store_acme_expire(struct store *s, int64_t now, struct lerr *e)
{
	return store_submit(s, store_acme_expire_run, &now, e);
}

struct store_acme_recover_it {
	int (*fn)(const char *authz_id, void *arg);
	void *arg;
};

static int
store_acme_recover_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_acme_recover_it *it = arg;
	char id[STORE_ACME_ID_LEN + 1];

	if (store_col_text(st, 0, id, sizeof(id), e) != 0)
		return -1;
	return it->fn(id, it->arg) != 0;
}

int
store_acme_recover(struct store *s, int64_t now, const char *error,
		   int (*fn)(const char *authz_id, void *arg), void *arg, struct lerr *e)
{
	const struct store_query x = { Q_ACME_AUTHZ_PROCESSING, "reading ACME validations",
				       { { 0 } } };
	struct store_acme_recover_it it = { fn, arg };
	struct store_write wr;

	const struct store_query xo = { Q_ACME_ORDERS_PROCESSING, "reading ACME orders",
					{ { 0 } } };
	int64_t n = 0;

	/* Written only when there is something to end: a start on a store
	 * that takes no writes is not refused for nothing. */
	if (store_lookup(s, &xo, store_row_int, &n, e) < 0)
		return -1;
	if (n > 0) {
		memset(&wr, 0, sizeof(wr));
		wr.x = (struct store_query){ Q_ACME_ORDER_ABANDON, "ending interrupted ACME orders",
					     { store_arg_int(now), store_arg_text(error) } };
		if (store_write(s, &wr, e) != 0)
			return -1;
	}
	return store_each(s, &x, store_acme_recover_row, &it, e);
}

/* ---- EAB key ids ---- */

int
store_acme_eab_new(struct store *s, const char *kid, int64_t now, int64_t expires_at,
		   const char *actor, struct lerr *e)
{
	struct store_write wr;

	if (s == NULL || kid == NULL || actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_acme_eab_new: bad arguments");
	memset(&wr, 0, sizeof(wr));
	wr.x = (struct store_query){ Q_ACME_EAB_INSERT, "recording an EAB key",
				     { store_arg_text(kid), store_arg_int(now),
				       store_arg_int(expires_at) } };
	wr.at = now;
	wr.actor = actor;
	wr.event = "acme-eab-new";
	wr.subject = kid;
	return store_write(s, &wr, e);
}
