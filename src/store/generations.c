/*
 * generations.c - the store's family of CA generations (schema/0011):
 * every CA on record, the certificates by which roots vouch for each
 * other, root rollovers and what devices fetched of the trust bundle
 * (see store.h, "CA generations").
 *
 * A rollover is recorded in one transaction: the new root (or the backup
 * root promoted), the new issuing CA and its CRL URL, every voucher, the
 * old issuing CA retired (revoked and its root distrusted after a
 * compromise) and the audit row. The one-open-rollover rule is the
 * database's (a unique partial index), checked here first only to name it.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "common/lerr.h"
#include "store/store.h"
#include "store/internal.h"

#define ROLL_COLS \
	"id, old_root, old_issuing, new_root, new_issuing, compromise, started_at, " \
	"coalesce(finished_at, 0)"
/* A device's newest valid certificate, at ?1. */
#define ROLL_VALID \
	"FROM certificates c WHERE c.profile = 'device' AND c.status = 'valid' " \
	"AND c.not_after > ?1 AND c.id = (SELECT max(d.id) FROM certificates d " \
	"WHERE d.device_id = c.device_id AND d.status = 'valid' AND d.not_after > ?1)"

const char *const store_sql_generations[Q_COUNT] = {
	[Q_CA_LIST] = "SELECT " STORE_CA_COLS " FROM cas ORDER BY id",
	[Q_CROSS_LIST] = "SELECT id, issuer_id, subject_id, der FROM crosses ORDER BY id",
	[Q_CROSS_INSERT] =
		"INSERT INTO crosses (issuer_id, subject_id, der, created_at) "
		"VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[Q_CA_INSERT_GEN] =
		"INSERT INTO cas (role, state, subject, fingerprint, not_before, "
		"not_after, der, created_at) VALUES (?, 'active', ?, ?, ?, ?, ?, ?) "
		"RETURNING id",
	[Q_CA_SET_CRL_URL] = "UPDATE cas SET crl_url = ?2 WHERE id = ?1",
	/* A gateway's own issuing CA (store_ca_join): one of the same name
	 * from a join that did not finish (no gateway of that name joined) is
	 * retired first; or, ?2 not 0, that one row of the gateway's. */
	[Q_CA_RETIRE_GATEWAY] =
		"UPDATE cas SET state = 'retired' WHERE role = 'issuing' AND gateway = ?1 "
		"AND state = 'active' AND (CASE WHEN CAST(?2 AS INTEGER) = 0 THEN "
		"NOT EXISTS (SELECT 1 FROM settings WHERE key = 'gateway:' || ?1) "
		"ELSE id = ?2 END)",
	/* The site's issuing CAs in use: the site's own and those of the
	 * gateways that joined (not a CA a join left behind unfinished). */
	[Q_CA_SITE_ISSUING] =
		"SELECT " STORE_CA_COLS " FROM cas WHERE role = 'issuing' AND state = 'active' "
		"AND revoked_at IS NULL AND (gateway IS NULL OR EXISTS (SELECT 1 FROM settings "
		"WHERE key = 'gateway:' || cas.gateway)) ORDER BY id",
	[Q_CA_INSERT_GATEWAY] =
		"INSERT INTO cas (role, state, subject, fingerprint, not_before, not_after, der, "
		"created_at, crl_url, gateway) VALUES ('issuing', 'active', ?1, ?2, ?3, ?4, ?5, "
		"?6, ?7, ?8) RETURNING id",
	/* The gateways that joined the site (join.c's "gateway:NAME"). */
	[Q_GATEWAY_COUNT] = "SELECT count(*) FROM settings WHERE key LIKE 'gateway:%'",
	/* Each with its own issuing CA in use, if it has one. */
	[Q_GATEWAY_LIST] =
		"SELECT substr(s.key, 9), CAST(s.value AS INTEGER), c.subject, c.fingerprint "
		"FROM settings s LEFT JOIN cas c ON c.role = 'issuing' AND c.state = 'active' "
		"AND c.gateway = substr(s.key, 9) WHERE s.key LIKE 'gateway:%' ORDER BY s.key",
	[Q_GATEWAY_UNJOIN] = "DELETE FROM settings WHERE key = 'gateway:' || ?1",
	[Q_GATEWAY_SETTINGS_DROP] =
		"DELETE FROM settings WHERE key IN ('gateway_sans:' || ?1, 'gateway_cn:' || ?1)",
	[Q_CA_RETIRE] = "UPDATE cas SET state = 'retired' WHERE id = ?1 AND state = 'active'",
	[Q_CA_PROMOTE] =
		"UPDATE cas SET role = 'root', state = 'active' "
		"WHERE id = ?1 AND role = 'backup-root' AND state = 'offline'",
	/* After a compromise: every issuing CA but the new one (each of their
	 * keys was on the gateway). */
	[Q_CA_REVOKE] =
		"UPDATE cas SET revoked_at = ?2 WHERE role = 'issuing' AND id <> ?1 "
		"AND revoked_at IS NULL",
	[Q_CA_DISTRUST] =
		"UPDATE cas SET distrusted_at = ?2 WHERE id = ?1 AND distrusted_at IS NULL",
	[Q_ROLL_NEWEST] = "SELECT " ROLL_COLS " FROM rollovers ORDER BY id DESC LIMIT 1",
	/* A rollover after a compromise is over at once: the old root is
	 * distrusted, nobody waits for it. */
	[Q_ROLL_INSERT] =
		"INSERT INTO rollovers (old_root, old_issuing, new_root, new_issuing, "
		"compromise, started_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
		"CASE WHEN CAST(?5 AS INTEGER) = 1 THEN CAST(?6 AS INTEGER) END) RETURNING id",
	[Q_ROLL_FINISH] =
		"UPDATE rollovers SET finished_at = ?2 WHERE id = ?1 AND finished_at IS NULL",
	[Q_ROLL_COUNT_VALID] = "SELECT count(*) " ROLL_VALID,
	[Q_ROLL_COUNT_UNDER] = "SELECT count(*) " ROLL_VALID " AND c.ca_id = ?2",
	[Q_ROLL_COUNT_FETCHED] =
		"SELECT count(*) FROM trust_fetches f WHERE f.at >= ?2 "
		"AND f.device_id IN (SELECT c.device_id " ROLL_VALID ")",
	/* After a compromise: the revoked issuing CA's leaves with it, so that
	 * their devices' names and keys are free to onboard again. */
	[Q_ROLL_REVOKE_LEAVES] =
		"UPDATE certificates SET status = 'revoked', revoked_at = ?2, "
		"revoke_reason = 'cACompromise', revoke_comment = 'its issuing CA was revoked "
		"(a rollover after a compromise)' WHERE ca_id <> ?1 AND status = 'valid'",
	[Q_FETCH_UPSERT] =
		"INSERT INTO trust_fetches (device_id, primary_fp, at) VALUES (?1, ?2, ?3) "
		"ON CONFLICT (device_id) DO UPDATE SET primary_fp = excluded.primary_fp, "
		"at = excluded.at",
};

/* ---- every CA ---- */

struct ca_fill {
	struct store_ca **out;
	size_t max, n;
};

static int
ca_fill_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct ca_fill *f = arg;

	if (f->n == f->max)
		return lerr_set(e, LERR_INVARIANT, "more than %zu CAs on record", f->max);
	if (store_ca_row(st, &f->out[f->n], e) != 0)
		return -1;
	f->n++;
	return 0;
}

int
store_ca_list(struct store *s, struct store_ca **out, size_t max, size_t *n, struct lerr *e)
{
	const struct store_query x = { Q_CA_LIST, "listing the CAs", { { 0 } } };
	struct ca_fill f = { out, max, 0 };

	*n = 0;
	if (s == NULL || out == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_ca_list: bad arguments");
	if (store_each(s, &x, ca_fill_row, &f, e) != 0) {
		store_ca_list_free(out, f.n);
		return -1;
	}
	*n = f.n;
	return 0;
}

void
store_ca_list_free(struct store_ca **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		store_ca_free(v[i]);
		v[i] = NULL;
	}
}

/* ---- vouchers ---- */

struct cross_fill {
	struct store_cross *out;
	size_t max, n;
};

static int
cross_fill_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct cross_fill *f = arg;
	struct store_cross *c;

	if (f->n == f->max)
		return lerr_set(e, LERR_INVARIANT, "more than %zu cross-certificates on record",
				f->max);
	c = &f->out[f->n];
	memset(c, 0, sizeof(*c));
	c->id = store_get_int(st, 0);
	c->issuer_id = store_get_int(st, 1);
	c->subject_id = store_get_int(st, 2);
	if (store_col_blob_dup(st, 3, &c->der, &c->der_len, e) != 0)
		return -1;
	f->n++;
	return 0;
}

int
store_cross_list(struct store *s, struct store_cross *out, size_t max, size_t *n,
		 struct lerr *e)
{
	const struct store_query x = {
		Q_CROSS_LIST, "listing the cross-certificates", { { 0 } },
	};
	struct cross_fill f = { out, max, 0 };

	*n = 0;
	if (s == NULL || out == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_cross_list: bad arguments");
	if (store_each(s, &x, cross_fill_row, &f, e) != 0) {
		store_cross_clear(out, f.n);
		return -1;
	}
	*n = f.n;
	return 0;
}

void
store_cross_clear(struct store_cross *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].der);
		memset(&v[i], 0, sizeof(v[i]));
	}
}

/* ---- rollovers ---- */

static int
roll_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_rollover *r = arg;

	(void)e;
	r->id = store_get_int(st, 0);
	r->old_root = store_get_int(st, 1);
	r->old_issuing = store_get_int(st, 2);
	r->new_root = store_get_int(st, 3);
	r->new_issuing = store_get_int(st, 4);
	r->compromise = store_get_int(st, 5) != 0;
	r->started_at = store_get_int(st, 6);
	r->finished_at = store_get_int(st, 7);
	return 0;
}

int
store_rollover_newest(struct store *s, struct store_rollover *out, struct lerr *e)
{
	const struct store_query x = { Q_ROLL_NEWEST, "reading the rollovers", { { 0 } } };
	int lrc;

	memset(out, 0, sizeof(*out));
	if ((lrc = store_lookup(s, &x, roll_row, out, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no root rollover on record");
	return lrc;
}

/* Inside a job: one statement that must change exactly one row, else
 * LERR_CONFLICT with msg. */
static int
roll_exec_one(struct store_conn *w, const struct store_query *x, const char *msg,
	      struct lerr *e)
{
	int changed = 0;

	if (store_exec(w, x, &changed, e) != 0)
		return -1;
	return changed == 1 ? 0 : lerr_set(e, LERR_CONFLICT, "%s", msg);
}

static int
roll_voucher(struct store_conn *w, int64_t issuer, int64_t subject, const unsigned char *der,
	     size_t len, int64_t now, struct lerr *e)
{
	const struct store_query x = {
		Q_CROSS_INSERT, "recording a cross-certificate",
		{ store_arg_int(issuer), store_arg_int(subject), store_arg_blob(der, len),
		  store_arg_int(now) },
	};

	return store_exec(w, &x, NULL, e);
}

static int
roll_start_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_rollover_start *r = arg;
	struct store_rollover cur;
	struct store_query x = { Q_ROLL_NEWEST, "reading the rollovers", { { 0 } } };
	const struct store_ca_new *c;
	size_t i;
	int lrc;

	if ((lrc = store_conn_lookup(w, &x, roll_row, &cur, e)) < 0)
		return -1;
	if (lrc == 0 && cur.finished_at == 0)
		return lerr_set(e, LERR_CONFLICT, "a root rollover is under way already: finish it "
				"first (`lanca rollover finish`)");
	if (r->backup_id != 0) {
		x = (struct store_query){ Q_CA_PROMOTE, "promoting the backup root",
					  { store_arg_int(r->backup_id) } };
		if (roll_exec_one(w, &x, "the backup root is not on record as offline", e) != 0)
			return -1;
		r->new_root = r->backup_id;
	} else {
		c = &r->root;
		x = (struct store_query){
			Q_CA_INSERT_GEN, "recording the new root",
			{ store_arg_text("root"), store_arg_text(c->subject),
			  store_arg_text(c->fingerprint), store_arg_int(c->not_before),
			  store_arg_int(c->not_after), store_arg_blob(c->der, c->der_len),
			  store_arg_int(r->now) },
		};
		if (store_insert(w, &x, &r->new_root, e) != 0)
			return -1;
	}
	c = &r->issuing;
	x = (struct store_query){
		Q_CA_INSERT_GEN, "recording the new issuing CA",
		{ store_arg_text("issuing"), store_arg_text(c->subject),
		  store_arg_text(c->fingerprint), store_arg_int(c->not_before),
		  store_arg_int(c->not_after), store_arg_blob(c->der, c->der_len),
		  store_arg_int(r->now) },
	};
	if (store_insert(w, &x, &r->new_issuing, e) != 0)
		return -1;
	x = (struct store_query){ Q_CA_SET_CRL_URL, "setting the CRL URL",
				  { store_arg_int(r->new_issuing), store_arg_text(r->crl_url) } };
	if (store_exec(w, &x, NULL, e) != 0)
		return -1;
	if (r->new_with_old != NULL &&
	    roll_voucher(w, r->old_root, r->new_root, r->new_with_old, r->new_with_old_len,
			 r->now, e) != 0)
		return -1;
	if (r->old_with_new != NULL &&
	    roll_voucher(w, r->new_root, r->old_root, r->old_with_new, r->old_with_new_len,
			 r->now, e) != 0)
		return -1;
	if (r->issuing_by_old != NULL &&
	    roll_voucher(w, r->old_root, r->new_issuing, r->issuing_by_old, r->issuing_by_old_len,
			 r->now, e) != 0)
		return -1;
	for (i = 0; i < r->nvouch; i++)
		if (roll_voucher(w, r->new_root, r->vouch[i].subject_id, r->vouch[i].der,
				 r->vouch[i].len, r->now, e) != 0)
			return -1;
	x = (struct store_query){ Q_CA_RETIRE, "retiring the old issuing CA",
				  { store_arg_int(r->old_issuing) } };
	if (roll_exec_one(w, &x, "the old issuing CA is not active", e) != 0)
		return -1;
	if (r->compromise) {
		x = (struct store_query){ Q_CA_REVOKE, "revoking the old issuing CAs",
					  { store_arg_int(r->new_issuing), store_arg_int(r->now) } };
		if (store_exec(w, &x, NULL, e) != 0)
			return -1;
		x = (struct store_query){ Q_ROLL_REVOKE_LEAVES, "revoking the old CAs' leaves",
					  { store_arg_int(r->new_issuing), store_arg_int(r->now) } };
		if (store_exec(w, &x, NULL, e) != 0)
			return -1;
		w->certs_changed = 1;
		x = (struct store_query){ Q_CA_DISTRUST, "distrusting the old root",
					  { store_arg_int(r->old_root), store_arg_int(r->now) } };
		if (store_exec(w, &x, NULL, e) != 0)
			return -1;
		x = (struct store_query){ Q_CA_RETIRE, "retiring the old root",
					  { store_arg_int(r->old_root) } };
		if (roll_exec_one(w, &x, "the old root is not active", e) != 0)
			return -1;
	}
	x = (struct store_query){
		Q_ROLL_INSERT, "recording the rollover",
		{ store_arg_int(r->old_root), store_arg_int(r->old_issuing),
		  store_arg_int(r->new_root), store_arg_int(r->new_issuing),
		  store_arg_int(r->compromise ? 1 : 0), store_arg_int(r->now) },
	};
	if (store_insert(w, &x, &r->id, e) != 0)
		return -1;
	return store_audit_row(w, r->now, r->actor, "rollover-start", r->issuing.subject,
			       r->detail, e);
}

int
store_rollover_start(struct store *s, struct store_rollover_start *r, struct lerr *e)
{
	if (s == NULL || r == NULL || r->actor == NULL || r->crl_url == NULL ||
	    r->issuing.der == NULL || r->issuing.der_len > INT_MAX ||
	    (r->backup_id == 0 && (r->root.der == NULL || r->root.der_len > INT_MAX)) ||
	    r->nvouch > STORE_ROLL_VOUCHERS_MAX)
		return lerr_set(e, LERR_INTERNAL, "store_rollover_start: bad arguments");
	return store_submit(s, roll_start_run, r, e);
}

struct roll_finish_job {
	int64_t id, now, old_root;
	const char *actor, *detail;
};

static int
roll_finish_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct roll_finish_job *j = arg;
	struct store_query x = { Q_ROLL_FINISH, "finishing the rollover",
				 { store_arg_int(j->id), store_arg_int(j->now) } };

	if (roll_exec_one(w, &x, "that root rollover is not under way", e) != 0)
		return -1;
	/* After a compromise the old root was retired at the start. */
	x = (struct store_query){ Q_CA_RETIRE, "retiring the old root",
				  { store_arg_int(j->old_root) } };
	if (store_exec(w, &x, NULL, e) != 0)
		return -1;
	return store_audit_row(w, j->now, j->actor, "rollover-finish", NULL, j->detail, e);
}

int
store_rollover_finish(struct store *s, int64_t id, const char *actor, const char *detail,
		      int64_t now, struct lerr *e)
{
	struct store_rollover r;
	struct roll_finish_job j;

	if (actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_rollover_finish: bad arguments");
	if (store_rollover_newest(s, &r, e) != 0)
		return -1;
	if (r.id != id || r.finished_at != 0)
		return lerr_set(e, LERR_CONFLICT, "that root rollover is not under way");
	j.id = id;
	j.now = now;
	j.old_root = r.old_root;
	j.actor = actor;
	j.detail = detail;
	return store_submit(s, roll_finish_run, &j, e);
}

int
store_rollover_counts(struct store *s, int64_t new_issuing, int64_t since, int64_t now,
		      struct store_roll_counts *out, struct lerr *e)
{
	const struct store_query all = { Q_ROLL_COUNT_VALID, "counting devices",
					 { store_arg_int(now) } };
	const struct store_query under = { Q_ROLL_COUNT_UNDER, "counting renewed devices",
					   { store_arg_int(now), store_arg_int(new_issuing) } };
	const struct store_query fetched = {
		Q_ROLL_COUNT_FETCHED, "counting refreshed devices",
		{ store_arg_int(now), store_arg_int(since) },
	};

	memset(out, 0, sizeof(*out));
	if (store_lookup(s, &all, store_row_int, &out->devices, e) < 0 ||
	    store_lookup(s, &under, store_row_int, &out->renewed, e) < 0 ||
	    store_lookup(s, &fetched, store_row_int, &out->refreshed, e) < 0)
		return -1;
	return 0;
}

int
store_trust_fetch(struct store *s, const char *device_id, const char *primary_fp, int64_t at,
		  struct lerr *e)
{
	struct store_write wr;

	if (device_id == NULL || primary_fp == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_trust_fetch: bad arguments");
	memset(&wr, 0, sizeof(wr));
	wr.x = (struct store_query){
		Q_FETCH_UPSERT, "recording a trust bundle fetch",
		{ store_arg_text(device_id), store_arg_text(primary_fp), store_arg_int(at) },
	};
	wr.at = at;
	return store_write(s, &wr, e);
}

int
store_ca_set_crl_url(struct store *s, int64_t id, const char *url, struct lerr *e)
{
	struct store_write wr;

	if (url == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_ca_set_crl_url: bad arguments");
	memset(&wr, 0, sizeof(wr));
	wr.x = (struct store_query){ Q_CA_SET_CRL_URL, "setting the CRL URL",
				     { store_arg_int(id), store_arg_text(url) } };
	wr.at = (int64_t)time(NULL);
	return store_write(s, &wr, e);
}

/* ---- the issuing CAs of a site's gateways ---- */

struct ca_join_job {
	struct store_write wr;		/* the audit row; wr.x is the insert */
	const char *gateway;
	int64_t id;			/* out */
};

/* Retires the active issuing CAs recorded for gateway, with a
 * "gateway-ca-retire" audit row when there was one. */
static int
store_ca_retire_rows(struct store_conn *w, const char *gateway, int64_t id, int64_t at,
		     const char *actor, struct lerr *e)
{
	const struct store_query retire = {
		Q_CA_RETIRE_GATEWAY, "retiring the gateway's CA",
		{ store_arg_text(gateway), store_arg_int(id) },
	};
	int changed = 0;

	if (store_exec(w, &retire, &changed, e) != 0)
		return -1;
	return changed == 0 ? 0 : store_audit_row(w, at, actor, "gateway-ca-retire", gateway,
						  NULL, e);
}

static int
store_ca_join_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct ca_join_job *j = arg;

	if (store_ca_retire_rows(w, j->gateway, 0, j->wr.at, j->wr.actor, e) != 0 ||
	    store_insert(w, &j->wr.x, &j->id, e) != 0)
		return -1;
	return store_audit_row(w, j->wr.at, j->wr.actor, j->wr.event, j->wr.subject,
			       j->wr.detail, e);
}

static int
store_ca_retire_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct ca_join_job *j = arg;

	return store_ca_retire_rows(w, j->gateway, j->id, j->wr.at, j->wr.actor, e);
}

int
store_ca_retire_gateway(struct store *s, const char *gateway, int64_t id, const char *actor,
			struct lerr *e)
{
	struct ca_join_job j;

	if (gateway == NULL || gateway[0] == '\0' || actor == NULL || id < 0)
		return lerr_set(e, LERR_INTERNAL, "store_ca_retire_gateway: bad arguments");
	memset(&j, 0, sizeof(j));
	j.gateway = gateway;
	j.id = id;
	j.wr.at = (int64_t)time(NULL);
	j.wr.actor = actor;
	return store_submit(s, store_ca_retire_run, &j, e);
}

int
store_ca_join(struct store *s, const char *gateway, const struct store_ca_new *c,
	      const char *crl_url, const char *actor, const char *detail, int64_t *id,
	      struct lerr *e)
{
	struct ca_join_job j;

	if (gateway == NULL || gateway[0] == '\0' || c == NULL || c->der == NULL ||
	    crl_url == NULL || actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_ca_join: bad arguments");
	memset(&j, 0, sizeof(j));
	j.gateway = gateway;
	j.wr.at = (int64_t)time(NULL);
	j.wr.x = (struct store_query){
		Q_CA_INSERT_GATEWAY, "recording the gateway's issuing CA",
		{ store_arg_text(c->subject), store_arg_text(c->fingerprint),
		  store_arg_int(c->not_before), store_arg_int(c->not_after),
		  store_arg_blob(c->der, c->der_len), store_arg_int(j.wr.at),
		  store_arg_text(crl_url), store_arg_text(gateway) },
	};
	j.wr.actor = actor;
	j.wr.event = "gateway-ca";
	j.wr.subject = gateway;
	j.wr.detail = detail;
	if (store_submit(s, store_ca_join_run, &j, e) != 0)
		return -1;
	*id = j.id;
	return 0;
}

int
store_gateway_count(struct store *s, int64_t *n, struct lerr *e)
{
	const struct store_query x = { Q_GATEWAY_COUNT, "counting the site's gateways", { { 0 } } };

	*n = 0;
	return store_lookup(s, &x, store_row_int, n, e) < 0 ? -1 : 0;
}

int
store_ca_site_issuing(struct store *s, struct store_ca **out, size_t max, size_t *n,
		      struct lerr *e)
{
	const struct store_query x = { Q_CA_SITE_ISSUING, "listing the site's issuing CAs",
				       { { 0 } } };
	struct ca_fill f = { out, max, 0 };

	*n = 0;
	if (store_each(s, &x, ca_fill_row, &f, e) != 0) {
		store_ca_list_free(out, f.n);
		return -1;
	}
	*n = f.n;
	return 0;
}

/* ---- the gateways of a site ---- */

struct gateway_each {
	store_gateway_fn fn;
	void *arg;
};

static int
store_gateway_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct gateway_each *g = arg;
	struct store_gateway gw;

	memset(&gw, 0, sizeof(gw));
	if (store_col_text(st, 0, gw.name, sizeof(gw.name), e) != 0)
		return -1;
	gw.joined_at = store_get_int(st, 1);
	if ((!store_get_null(st, 2) &&
	     store_col_text(st, 2, gw.ca_subject, sizeof(gw.ca_subject), e) != 0) ||
	    (!store_get_null(st, 3) &&
	     store_col_text(st, 3, gw.ca_fingerprint, sizeof(gw.ca_fingerprint), e) != 0))
		return -1;
	return g->fn(&gw, g->arg) != 0 ? 1 : 0;
}

int
store_gateway_each(struct store *s, store_gateway_fn fn, void *arg, struct lerr *e)
{
	const struct store_query x = { Q_GATEWAY_LIST, "listing the site's gateways", { { 0 } } };
	struct gateway_each g = { fn, arg };

	return store_each(s, &x, store_gateway_row, &g, e);
}

static int
store_gateway_remove_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct ca_join_job *j = arg;
	const struct store_query unjoin = {
		Q_GATEWAY_UNJOIN, "removing the gateway", { store_arg_text(j->gateway) },
	}, drop = {
		Q_GATEWAY_SETTINGS_DROP, "removing the gateway's settings",
		{ store_arg_text(j->gateway) },
	};
	int changed = 0;

	if (store_exec(w, &unjoin, &changed, e) != 0)
		return -1;
	if (changed != 1)
		return lerr_set(e, LERR_NOT_FOUND, "no gateway named %s joined the site",
				j->gateway);
	/* No longer joined: its CA is retired like a failed join's. */
	if (store_exec(w, &drop, NULL, e) != 0 ||
	    store_ca_retire_rows(w, j->gateway, 0, j->wr.at, j->wr.actor, e) != 0)
		return -1;
	return store_audit_row(w, j->wr.at, j->wr.actor, "gateway-remove", j->gateway, NULL, e);
}

int
store_gateway_remove(struct store *s, const char *gateway, const char *actor, struct lerr *e)
{
	struct ca_join_job j;

	if (gateway == NULL || gateway[0] == '\0' || actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_gateway_remove: bad arguments");
	memset(&j, 0, sizeof(j));
	j.gateway = gateway;
	j.wr.at = (int64_t)time(NULL);
	j.wr.actor = actor;
	return store_submit(s, store_gateway_remove_run, &j, e);
}
