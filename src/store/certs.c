/*
 * certs.c - the store's CA and certificate family: CA rows, certificate
 * insertion (with its request and pre-authorisation claims and audit row,
 * in one job), lookups by serial and key, name and key ownership, and
 * revocation (see store.h).
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

#define STORE_CERT_COLS \
	"id, serial, ca_id, device_id, subject, sans, profile, status, " \
	"not_before, not_after, issued_at, revoked_at, key_id, request_id, der, " \
	"preauth_id, revoke_reason, revoke_comment"

/*
 * The inventory's pages (store_cert_find). Their parameters: ?1 the sort
 * key of the row the page starts after (its not_after or device_id; for
 * the first page one beyond every row), ?2 the status (NULL: any), ?3..?10
 * the search's ranges (device id, DNS name, IP name, serial: each from
 * the first to before the second), then what store_page_each binds: ?11
 * the id the page starts after, ?12 the row count. A statement leaves out
 * what it does not use. Rows tie on a sort key; the id breaks the tie, as
 * each index holds its rows in (key, rowid) order.
 */
#define CERT_FIND(where, order) \
	"SELECT " STORE_CERT_COLS ", id FROM certificates WHERE " where order
#define CERT_ANY	"(CAST(?2 AS TEXT) IS NULL OR status = ?2) AND "
#define CERT_REVOKED	"status = 'revoked' AND "
#define CERT_MATCH \
	"id IN (SELECT id FROM certificates WHERE device_id >= ?3 AND device_id < ?4" \
	" UNION ALL SELECT cert_id FROM cert_names WHERE name >= ?5 AND name < ?6" \
	" UNION ALL SELECT cert_id FROM cert_names WHERE name >= ?7 AND name < ?8" \
	" UNION ALL SELECT id FROM certificates WHERE serial >= ?9 AND serial < ?10) AND " \
	CERT_ANY
#define CERT_ISSUED_DESC	"id < ?11 ORDER BY id DESC LIMIT ?12"
#define CERT_ISSUED_ASC		"id > ?11 ORDER BY id ASC LIMIT ?12"
#define CERT_EXPIRES_DESC \
	"not_after <= ?1 AND (not_after < ?1 OR id < ?11) " \
	"ORDER BY not_after DESC, id DESC LIMIT ?12"
#define CERT_EXPIRES_ASC \
	"not_after >= ?1 AND (not_after > ?1 OR id > ?11) " \
	"ORDER BY not_after ASC, id ASC LIMIT ?12"
#define CERT_DEVICE_DESC \
	"device_id <= ?1 AND (device_id < ?1 OR id < ?11) " \
	"ORDER BY device_id DESC, id DESC LIMIT ?12"
#define CERT_DEVICE_ASC \
	"device_id >= ?1 AND (device_id > ?1 OR id > ?11) " \
	"ORDER BY device_id ASC, id ASC LIMIT ?12"
/* The statement for a filter: 6 per kind (any status, revoked, search),
 * 2 per sort (descending, ascending). */
#define CERT_FIND_Q(kind, sort, asc)	(Q_CERT_FIND + (kind) * 6 + (sort) * 2 + (asc))

const char *const store_sql_certs[Q_COUNT] = {
	[Q_CERT_INSERT] =
		"INSERT INTO certificates (serial, ca_id, device_id, subject, sans, "
		"profile, status, not_before, not_after, issued_at, revoked_at, "
		"key_id, request_id, der, preauth_id, address) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
	/* ?1 the certificate, ?2 its sans ("DNS:a,IP:10.0.0.2"): one row per
	 * comma-separated name, the same split as schema/0002. */
	[Q_CERT_NAMES_INSERT] =
		"WITH RECURSIVE split (name, rest) AS ("
		" SELECT '', CAST(?2 AS TEXT) || ','"
		" UNION ALL"
		" SELECT substr(rest, 1, instr(rest, ',') - 1),"
		" substr(rest, instr(rest, ',') + 1) FROM split WHERE rest <> '') "
		"INSERT INTO cert_names (cert_id, name) "
		"SELECT CAST(?1 AS INTEGER), name FROM split WHERE name <> '' "
		"ON CONFLICT DO NOTHING",
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
		"revoke_reason = ?3, revoke_comment = ?4 WHERE serial = ?1 AND status = 'valid'",
	/* A device's certificates, to revoke those valid and unexpired at ?2. */
	[Q_DEVICE_CERTS] =
		"SELECT serial, CASE WHEN status = 'valid' AND not_after > ?2 THEN 1 ELSE 0 END "
		"FROM certificates "
		"WHERE device_id = ?1 ORDER BY id",
	/* Every name of every certificate valid at ?1, with the address its
	 * device asked from: the hosts a LAN's DNS should know. */
	[Q_HOST_NAMES] =
		"SELECT c.id, c.device_id, n.name, c.address FROM certificates c "
		"JOIN cert_names n ON n.cert_id = c.id "
		"WHERE c.status = 'valid' AND c.not_after > ?1 ORDER BY c.id, n.name",
	[Q_CA_INSERT] =
		"INSERT INTO cas (role, state, subject, fingerprint, not_before, "
		"not_after, der, created_at) VALUES (?, 'active', ?, ?, ?, ?, ?, ?) "
		"RETURNING id",
	/* ?2: the store's gateway, whose own issuing CA comes first. */
	[Q_CA_ACTIVE] =
		"SELECT " STORE_CA_COLS " FROM cas WHERE role = ?1 AND state = 'active' "
		"AND (gateway IS NULL OR gateway = ?2) "
		"ORDER BY CASE WHEN gateway IS NULL THEN 1 ELSE 0 END, "
		STORE_PRIMARY_KEYS " LIMIT 1",
	[Q_CA_GET] = "SELECT " STORE_CA_COLS " FROM cas WHERE id = ?1",
	[Q_CA_INSERT_OFFLINE] =
		"INSERT INTO cas (role, state, subject, fingerprint, not_before, "
		"not_after, der, created_at) VALUES (?, 'offline', ?, ?, ?, ?, ?, ?) "
		"RETURNING id",
	/* The primary root's voucher for the CA just inserted. */
	[Q_CA_CROSS_PRIMARY] =
		"INSERT INTO crosses (issuer_id, subject_id, der, created_at) VALUES ("
		"(SELECT id FROM cas WHERE role = 'root' AND state = 'active' "
		STORE_PRIMARY_ORDER " LIMIT 1), ?1, ?2, ?3)",
	[Q_CA_FIND] =
		"SELECT " STORE_CA_COLS " FROM cas WHERE role = ?1 AND state = ?2 "
		"ORDER BY id DESC LIMIT 1",
	[Q_CA_CONFIRM] =
		"UPDATE cas SET confirmed_at = ?2 WHERE id = ?1 AND state = 'offline' "
		"AND confirmed_at IS NULL",
	[Q_CERT_BY_SERIAL] =
		"SELECT " STORE_CERT_COLS " FROM certificates WHERE serial = ?",
	[Q_CERT_BY_KEY] =
		"SELECT " STORE_CERT_COLS " FROM certificates WHERE key_id = ? "
		"ORDER BY id DESC LIMIT 1",
	/* A page (store_page_each): id is the rowid, so the page is one
	 * range of the table itself. */
	[Q_CERT_PAGE] =
		"SELECT " STORE_CERT_COLS ", id FROM certificates WHERE id < ?1 "
		"ORDER BY id DESC LIMIT ?2",
	[Q_CERT_COUNT] = "SELECT count(*) FROM certificates",
	[Q_CERT_FIND + 0] = CERT_FIND(CERT_ANY, CERT_ISSUED_DESC),
	[Q_CERT_FIND + 1] = CERT_FIND(CERT_ANY, CERT_ISSUED_ASC),
	[Q_CERT_FIND + 2] = CERT_FIND(CERT_ANY, CERT_EXPIRES_DESC),
	[Q_CERT_FIND + 3] = CERT_FIND(CERT_ANY, CERT_EXPIRES_ASC),
	[Q_CERT_FIND + 4] = CERT_FIND(CERT_ANY, CERT_DEVICE_DESC),
	[Q_CERT_FIND + 5] = CERT_FIND(CERT_ANY, CERT_DEVICE_ASC),
	[Q_CERT_FIND + 6] = CERT_FIND(CERT_REVOKED, CERT_ISSUED_DESC),
	[Q_CERT_FIND + 7] = CERT_FIND(CERT_REVOKED, CERT_ISSUED_ASC),
	[Q_CERT_FIND + 8] = CERT_FIND(CERT_REVOKED, CERT_EXPIRES_DESC),
	[Q_CERT_FIND + 9] = CERT_FIND(CERT_REVOKED, CERT_EXPIRES_ASC),
	[Q_CERT_FIND + 10] = CERT_FIND(CERT_REVOKED, CERT_DEVICE_DESC),
	[Q_CERT_FIND + 11] = CERT_FIND(CERT_REVOKED, CERT_DEVICE_ASC),
	[Q_CERT_FIND + 12] = CERT_FIND(CERT_MATCH, CERT_ISSUED_DESC),
	[Q_CERT_FIND + 13] = CERT_FIND(CERT_MATCH, CERT_ISSUED_ASC),
	[Q_CERT_FIND + 14] = CERT_FIND(CERT_MATCH, CERT_EXPIRES_DESC),
	[Q_CERT_FIND + 15] = CERT_FIND(CERT_MATCH, CERT_EXPIRES_ASC),
	[Q_CERT_FIND + 16] = CERT_FIND(CERT_MATCH, CERT_DEVICE_DESC),
	[Q_CERT_FIND + 17] = CERT_FIND(CERT_MATCH, CERT_DEVICE_ASC),
	[Q_CERT_FIND_KEY] = "SELECT not_after, device_id FROM certificates WHERE id = ?",
	/* The shell's inventory (store_cert_range): ?1 the sort key of the
	 * row the page starts after (by expiry), ?2 the status (NULL: any),
	 * ?3 the device, ?4 and ?5 the range of not_after, then ?6 the id the
	 * page starts after and ?7 the row count. The unary + keeps SQLite
	 * from reading not_after's index where the order is another's. */
	[Q_CERT_RANGE_DEVICE] =
		"SELECT " STORE_CERT_COLS ", id FROM certificates WHERE device_id = ?3 "
		"AND (CAST(?2 AS TEXT) IS NULL OR status = ?2) AND +not_after >= ?4 AND +not_after < ?5 "
		"AND id < ?6 ORDER BY id DESC LIMIT ?7",
	[Q_CERT_RANGE_ISSUED] =
		"SELECT " STORE_CERT_COLS ", id FROM certificates WHERE "
		"(CAST(?2 AS TEXT) IS NULL OR status = ?2) AND +not_after >= ?4 AND +not_after < ?5 "
		"AND id < ?6 ORDER BY id DESC LIMIT ?7",
	[Q_CERT_RANGE_EXPIRES_ASC] =
		"SELECT " STORE_CERT_COLS ", id FROM certificates WHERE "
		"not_after >= ?1 AND (not_after > ?1 OR id > ?6) AND not_after < ?5 "
		"AND (CAST(?2 AS TEXT) IS NULL OR status = ?2) "
		"ORDER BY not_after ASC, id ASC LIMIT ?7",
	[Q_CERT_RANGE_EXPIRES_DESC] =
		"SELECT " STORE_CERT_COLS ", id FROM certificates WHERE "
		"not_after <= ?1 AND (not_after < ?1 OR id < ?6) AND not_after >= ?4 "
		"AND (CAST(?2 AS TEXT) IS NULL OR status = ?2) "
		"ORDER BY not_after DESC, id DESC LIMIT ?7",
	[Q_CERT_EXPIRING] =
		"SELECT not_after FROM certificates "
		"WHERE not_after >= ?1 AND not_after < ?2 AND status = 'valid'",
	/* Newest first from ?1 on: the caller stops once past its period. */
	[Q_CERT_ISSUED_SINCE] =
		"SELECT issued_at FROM certificates WHERE id < ?1 ORDER BY id DESC",
	[Q_CERT_UNEXPIRED] = "SELECT count(*) FROM certificates WHERE not_after > ?1",
	[Q_CERT_REVOKED_UNEXPIRED] =
		"SELECT count(*) FROM certificates WHERE status = 'revoked' AND not_after > ?1",
	[Q_CERT_REVOKED_COUNT] =
		"SELECT count(*) FROM certificates WHERE status = 'revoked'",
	/* Both one range of an index with nothing read from the table: the
	 * status is not in certificates_not_after, so the revoked ones are
	 * counted apart in their own partial index and taken off. */
	[Q_CERT_EXPIRING_COUNT] =
		"SELECT count(*) FROM certificates WHERE not_after >= ?1 AND not_after < ?2",
	[Q_CERT_REVOKED_EXPIRING_COUNT] =
		"SELECT count(*) FROM certificates "
		"WHERE status = 'revoked' AND not_after >= ?1 AND not_after < ?2",
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
};

/* ---- CAs ---- */

void
store_ca_free(struct store_ca *ca)
{
	if (ca == NULL)
		return;
	free(ca->der);
	free(ca);
}

/* A write job: a CA row, for an offline one the primary root's voucher
 * for it, and the "ca-create" audit row, in one transaction. */
struct store_ca_job {
	struct store_write wr;
	int64_t id;			/* out: the CA's row */
	const unsigned char *cross;
	size_t cross_len;
};

static int
store_ca_record_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_ca_job *j = arg;
	struct store_query x;

	if (store_insert(w, &j->wr.x, &j->id, e) != 0)
		return -1;
	if (j->cross != NULL) {
		x = (struct store_query){
			Q_CA_CROSS_PRIMARY, "recording the root's voucher",
			{ store_arg_int(j->id), store_arg_blob(j->cross, j->cross_len),
			  store_arg_int(j->wr.at) },
		};
		if (store_exec(w, &x, NULL, e) != 0)
			return -1;
	}
	return store_audit_row(w, j->wr.at, j->wr.actor, j->wr.event, j->wr.subject,
			       j->wr.detail, e);
}

/*
 * Records a CA certificate and audits it ("ca-create"): active when cross
 * is NULL, else offline with cross as the primary root's voucher for it.
 * Durable on return. *id (may be NULL) receives the row id.
 */
static int
store_ca_record(struct store *s, const char *role, const char *subject,
		const char *fingerprint, int64_t not_before, int64_t not_after,
		const unsigned char *der, size_t der_len, const unsigned char *cross,
		size_t cross_len, int64_t *id, struct lerr *e)
{
	struct store_ca_job j;
	json_t *o = NULL;
	char *detail = NULL;
	int64_t now;
	int rc = -1;

	if (role == NULL || fingerprint == NULL || der == NULL || der_len == 0 ||
	    der_len > INT_MAX || cross_len > INT_MAX || (cross != NULL && cross_len == 0)) {
		lerr_set(e, LERR_BAD_REQUEST, "incomplete CA record");
		goto out;
	}
	now = (int64_t)time(NULL);
	/* json_pack refuses invalid UTF-8, so the audit detail is valid JSON. */
	o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "role", role,
		      "state", cross != NULL ? "offline" : "active", "fingerprint", fingerprint,
		      "not_before", (json_int_t)not_before,
		      "not_after", (json_int_t)not_after);
	if (o == NULL || (detail = json_dumps(o, JSON_COMPACT)) == NULL) {
		lerr_set(e, LERR_BAD_REQUEST, "CA record is not valid text");
		goto out;
	}
	memset(&j, 0, sizeof(j));
	j.wr.x = (struct store_query){
		cross != NULL ? Q_CA_INSERT_OFFLINE : Q_CA_INSERT, "recording the CA",
		{ store_arg_text(role), store_arg_text(subject),
		  store_arg_text(fingerprint), store_arg_int(not_before),
		  store_arg_int(not_after), store_arg_blob(der, der_len),
		  store_arg_int(now) },
	};
	j.cross = cross;
	j.cross_len = cross_len;
	j.wr.at = now;
	j.wr.actor = STORE_ACTOR;
	j.wr.event = "ca-create";
	j.wr.subject = subject;
	j.wr.detail = detail;
	if (store_submit(s, store_ca_record_run, &j, e) != 0)
		goto out;
	if (id != NULL)
		*id = j.id;
	rc = 0;
out:
	free(detail);
	json_decref(o);
	return rc;
}

int
store_ca_insert(struct store *s, const char *role, const char *subject,
		const char *fingerprint, int64_t not_before, int64_t not_after,
		const unsigned char *der, size_t der_len, int64_t *id, struct lerr *e)
{
	return store_ca_record(s, role, subject, fingerprint, not_before, not_after, der,
			       der_len, NULL, 0, id, e);
}

int
store_ca_insert_offline(struct store *s, const char *role, const char *subject,
			const char *fingerprint, int64_t not_before, int64_t not_after,
			const unsigned char *der, size_t der_len, const unsigned char *cross,
			size_t cross_len, int64_t *id, struct lerr *e)
{
	if (cross == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "an offline CA needs its voucher");
	return store_ca_record(s, role, subject, fingerprint, not_before, not_after, der,
			       der_len, cross, cross_len, id, e);
}

/* See internal.h. */
int
store_ca_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_ca *ca;
	int rc = -1;

	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		lerr_set(e, LERR_STORE, "out of memory");
		goto out;
	}
	ca->id = store_get_int(st, 0);
	if (store_col_text(st, 1, ca->role, sizeof(ca->role), e) != 0 ||
	    store_col_text(st, 2, ca->state, sizeof(ca->state), e) != 0 ||
	    store_col_text(st, 3, ca->subject, sizeof(ca->subject), e) != 0 ||
	    store_col_text(st, 4, ca->fingerprint, sizeof(ca->fingerprint), e) != 0)
		goto out;
	ca->not_before = store_get_int(st, 5);
	ca->not_after = store_get_int(st, 6);
	if (store_col_blob_dup(st, 7, &ca->der, &ca->der_len, e) != 0)
		goto out;
	ca->confirmed_at = store_get_int(st, 8);	/* NULL reads as 0 */
	if (!store_get_null(st, 9) &&
	    store_col_text(st, 9, ca->crl_url, sizeof(ca->crl_url), e) != 0)
		goto out;
	ca->revoked_at = store_get_int(st, 10);
	ca->distrusted_at = store_get_int(st, 11);
	if (!store_get_null(st, 12) &&
	    store_col_text(st, 12, ca->gateway, sizeof(ca->gateway), e) != 0)
		goto out;
	*(struct store_ca **)arg = ca;
	ca = NULL;
	rc = 0;
out:
	store_ca_free(ca);
	return rc;
}

int
store_ca_get(struct store *s, int64_t id, struct store_ca **out, struct lerr *e)
{
	const struct store_query x = { Q_CA_GET, "looking up the CA", { store_arg_int(id) } };
	int lrc;

	*out = NULL;
	if ((lrc = store_lookup(s, &x, store_ca_row, out, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no CA %lld on record", (long long)id);
	return lrc;
}

/*
 * The newest CA of role in state; -1 with LERR_NOT_FOUND if none. *out is
 * the caller's (store_ca_free).
 */
int
store_ca_find(struct store *s, const char *role, const char *state, struct store_ca **out,
	      struct lerr *e)
{
	const struct store_query x = {
		Q_CA_FIND, "looking up the CA", { store_arg_text(role), store_arg_text(state) },
	};
	int lrc;

	if (out != NULL)
		*out = NULL;
	if (s == NULL || role == NULL || state == NULL || out == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_ca_find: bad arguments");
	if ((lrc = store_lookup(s, &x, store_ca_row, out, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no %s %s CA", state, role);
	return lrc;
}

/*
 * The newest active CA of role; -1 with LERR_NOT_FOUND if none. *out is the
 * caller's (store_ca_free).
 */
int
store_ca_active(struct store *s, const char *role, struct store_ca **out, struct lerr *e)
{
	struct store_query x;
	int lrc;

	if (out != NULL)
		*out = NULL;
	if (s == NULL || role == NULL || out == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_ca_active: bad arguments");
	x = (struct store_query){
		Q_CA_ACTIVE, "looking up the CA",
		{ store_arg_text(role), store_arg_text(store_gateway(s)) },
	};
	if ((lrc = store_lookup(s, &x, store_ca_row, out, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no active %s CA", role);
	return lrc;
}

/* A write job: confirms one offline CA and audits it in the same
 * transaction; LERR_CONFLICT when it was confirmed already. */
struct store_ca_confirm_job {
	int64_t id, now;
	const char *actor, *subject, *detail;
};

static int
store_ca_confirm_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_ca_confirm_job *j = arg;
	const struct store_query x = {
		Q_CA_CONFIRM, "confirming the CA", { store_arg_int(j->id), store_arg_int(j->now) },
	};
	int changed = 0;

	if (store_exec(w, &x, &changed, e) != 0)
		return -1;
	if (changed != 1)
		return lerr_set(e, LERR_CONFLICT, "the CA was confirmed already or is not offline");
	return store_audit_row(w, j->now, j->actor, "backup-root-confirm", j->subject, j->detail, e);
}

int
store_ca_confirm(struct store *s, int64_t id, const char *actor, int64_t now,
		 const char *subject, const char *detail, struct lerr *e)
{
	struct store_ca_confirm_job j = { id, now, actor, subject, detail };

	if (actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_ca_confirm: bad arguments");
	return store_submit(s, store_ca_confirm_run, &j, e);
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
	const struct store_request *rq;	/* a new request recorded with it, or NULL */
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
		return lerr_set(e, LERR_CONFLICT, "no request %s", id);
	return lerr_set(e, LERR_CONFLICT, "request %s is %s", id, state);
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
		return lerr_set(e, LERR_CONFLICT,
				"pre-authorisation %s was used already", id);
	return lerr_set(e, LERR_CONFLICT, "no pre-authorisation for %s", id);
}

/* A revocation on its way (store_cert_revoke, store_device_revoke and
 * a renewal's supersession), for the writer. */
struct store_revoke_job {
	const struct store_revocation *r;
	const char *reason;		/* r->reason's word */
	int64_t now;
	const char *device;		/* store_device_revoke: the device */
	char (*serials)[2 * STORE_SERIAL_MAX + 1];
	size_t max, n;
};

static int store_revoke_one(struct store_conn *w, const unsigned char *serial, size_t len,
			    const struct store_revoke_job *j, const char *newly, struct lerr *e);

/* Inside a certificate job: the certificate it renews, revoked as
 * superseded by it (LERR_CONFLICT, and the job undone, when that one is
 * no longer valid: revoked meanwhile). */
static int
store_cert_supersede(struct store_conn *w, const struct store_cert_job *cj, struct lerr *e)
{
	const struct store_cert *c = cj->c;
	struct store_revocation r = { CRL_REASON_SUPERSEDED, NULL, cj->actor, cj->now };
	struct store_revoke_job j;

	memset(&j, 0, sizeof(j));
	j.r = &r;
	j.reason = crl_reason_str(CRL_REASON_SUPERSEDED);
	j.now = cj->now;
	if (store_revoke_one(w, c->supersedes, c->supersedes_len, &j, cj->hex, e) != 0) {
		if (e->code == LERR_CONFLICT)
			lerr_set(e, LERR_CONFLICT, "the certificate being renewed is no longer "
				 "valid: %s", e->msg);
		return -1;
	}
	return 0;
}

/* The "approve" row of an admin's approval, in the certificate's job. */
static int
store_cert_approved(struct store_conn *w, const struct store_cert_job *j, const char *request,
		    struct lerr *e)
{
	char *detail = NULL;
	int rc;

	if (request == NULL)
		return lerr_set(e, LERR_INTERNAL, "an approval names no request");
	if (store_json_detail(json_pack("{s:s, s:s}", "request", request, "serial", j->hex),
			      &detail, e) != 0)
		return -1;
	rc = store_audit_row(w, j->now, j->actor, "approve", j->c->device_id, detail, e);
	free(detail);
	return rc;
}

/* Inside a certificate job: each name of sans ("DNS:a,IP:10.0.0.2") is
 * free of other devices' valid certificates at now (LERR_CONFLICT naming
 * the first that is not). */
static int
store_cert_names_free(struct store_conn *w, const char *sans, const char *device_id,
		      int64_t now, struct lerr *e)
{
	char name[4 + 253 + 1], owner[65];	/* "DNS:" and the longest DNS name */
	struct store_text_buf b = { owner, sizeof(owner) };
	const char *p = sans, *end;
	size_t len;
	int rc;

	while (*p != '\0') {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len >= sizeof(name))
			return lerr_set(e, LERR_BAD_NAME, "a name of the certificate is too long");
		if (len > 0) {
			memcpy(name, p, len);
			name[len] = '\0';
			{
				const struct store_query x = {
					Q_NAME_OWNER, "looking up an owner",
					{ store_arg_text(name), store_arg_int(now),
					  store_arg_text(device_id) },
				};

				if ((rc = store_conn_lookup(w, &x, store_row_text, &b, e)) < 0)
					return -1;
			}
			if (rc == 0)
				return lerr_set(e, LERR_CONFLICT, "%s is held by device %s: an "
						"admin must decide", strchr(name, ':') != NULL ?
						strchr(name, ':') + 1 : name, owner);
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
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
		return lerr_set(e, LERR_CONFLICT,
				"serial %s not reserved or already used", j->hex);
	if (j->rq != NULL) {
		if (store_req_insert_issued(w, j->rq, request, j->now, e) != 0)
			return -1;
	} else if (request != NULL && store_cert_claim_request(w, request, j->now, e) != 0) {
		return -1;
	}
	if (preauth != NULL && store_cert_use_preauth(w, preauth, j->now, e) != 0)
		return -1;
	if (c->exclusive && store_cert_names_free(w, sans, c->device_id, j->now, e) != 0)
		return -1;

	x = (struct store_query){
		Q_CERT_INSERT, "recording the certificate",
		{ store_arg_blob(c->serial, c->serial_len), store_arg_int(c->ca_id),
		  store_arg_text(c->device_id), store_arg_text(c->subject),
		  store_arg_text(sans), store_arg_text(store_profile_str(c->profile)),
		  store_arg_text(store_cert_status_str(c->status)), store_arg_int(c->not_before),
		  store_arg_int(c->not_after),
		  store_arg_int(c->issued_at != 0 ? c->issued_at : j->now),
		  c->revoked_at != 0 ? store_arg_int(c->revoked_at) : store_arg_null(),
		  store_arg_blob(c->key_id, sizeof(c->key_id)), store_arg_text(request),
		  store_arg_blob(c->der, c->der_len), store_arg_text(preauth),
		  store_arg_text(c->address[0] != '\0' ? c->address : NULL) },
	};
	if (store_insert(w, &x, &cert_id, e) != 0)
		return -1;
	w->certs_changed = 1;

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
	if (store_audit_row(w, j->now, j->actor, "issue", c->device_id, j->detail, e) != 0)
		return -1;
	if (c->approved && store_cert_approved(w, j, request, e) != 0)
		return -1;
	return c->supersedes_len == 0 ? 0 : store_cert_supersede(w, j, e);
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
		return lerr_set(e, LERR_INTERNAL, "store_cert_insert: bad arguments");
	if (c->serial_len == 0 || c->serial_len > STORE_SERIAL_MAX ||
	    c->der == NULL || c->der_len == 0 || c->der_len > INT_MAX ||
	    !store_fits(c->device_id, sizeof(c->device_id)) ||
	    !store_fits(c->subject, sizeof(c->subject)) ||
	    !store_fits(c->request_id, sizeof(c->request_id)) ||
	    !store_fits(c->preauth_id, sizeof(c->preauth_id)) ||
	    c->supersedes_len > STORE_SERIAL_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "malformed certificate record");
	if (c->profile != POLICY_DEVICE && c->profile != POLICY_GATEWAY)
		return lerr_set(e, LERR_BAD_REQUEST, "unknown certificate profile");
	if (c->status != STORE_CERT_VALID && c->status != STORE_CERT_REVOKED)
		return lerr_set(e, LERR_BAD_REQUEST, "unknown certificate status");
	j->c = c;
	j->actor = actor;
	j->now = (int64_t)time(NULL);
	store_hex(c->serial, c->serial_len, j->hex, sizeof(j->hex));
	o = json_pack("{s:s, s:s, s:I}", "serial", j->hex, "profile", store_profile_str(c->profile),
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
	return store_cert_submit_new(s, c, NULL, actor, out, e);
}

int
store_cert_submit_new(struct store *s, const struct store_cert *c,
		      const struct store_request *rq, const char *actor,
		      struct store_ticket **out, struct lerr *e)
{
	struct store_ticket *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	t->s = s;
	if (rq != NULL && (c == NULL || strcmp(c->request_id, rq->id) != 0 ||
	    rq->csr == NULL || rq->csr_len == 0 || rq->csr_len > INT_MAX ||
	    !store_fits(rq->device_id, sizeof(rq->device_id)) ||
	    !store_fits(rq->source, sizeof(rq->source)) ||
	    (unsigned)rq->auth > STORE_AUTH_ADMIN || (unsigned)rq->door > STORE_DOOR_EST)) {
		free(t);
		return lerr_set(e, LERR_BAD_REQUEST, "malformed request record");
	}
	t->cj.rq = rq;
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
store_cert_from_row(struct store_row *st, struct store_cert *c, struct lerr *e)
{
	char reason[32];
	size_t key_len = 0;

	c->id = store_get_int(st, 0);
	if (store_col_blob(st, 1, c->serial, sizeof(c->serial), &c->serial_len, e) != 0)
		return -1;
	c->ca_id = store_get_int(st, 2);
	if (store_col_text(st, 3, c->device_id, sizeof(c->device_id), e) != 0 ||
	    store_col_text(st, 4, c->subject, sizeof(c->subject), e) != 0 ||
	    store_col_text_dup(st, 5, &c->sans, e) != 0 ||
	    store_col_profile(st, 6, &c->profile, e) != 0 ||
	    store_col_cert_status(st, 7, &c->status, e) != 0)
		return -1;
	c->not_before = store_get_int(st, 8);
	c->not_after = store_get_int(st, 9);
	c->issued_at = store_get_int(st, 10);
	c->revoked_at = store_get_int(st, 11);	/* NULL reads as 0 */
	if (store_col_blob(st, 12, c->key_id, sizeof(c->key_id), &key_len, e) != 0 ||
	    store_col_text(st, 13, c->request_id, sizeof(c->request_id), e) != 0 ||
	    store_col_blob_dup(st, 14, &c->der, &c->der_len, e) != 0 ||
	    store_col_text(st, 15, c->preauth_id, sizeof(c->preauth_id), e) != 0 ||
	    store_col_text(st, 16, reason, sizeof(reason), e) != 0 ||
	    store_col_text(st, 17, c->revoke_comment, sizeof(c->revoke_comment), e) != 0)
		return -1;
	/* Valid certificates have none; rows of 0007 and later a word. */
	c->revoke_reason = CRL_REASON_UNSPECIFIED;
	if (reason[0] != '\0' && crl_reason_parse(reason, &c->revoke_reason) != 0)
		return lerr_set(e, LERR_STORE, "certificate %lld: unknown revocation reason '%s'",
				(long long)c->id, reason);
	return 0;
}

/*
 * Row reader: a row of STORE_CERT_COLS into a new certificate at
 * *(struct store_cert **)arg (the caller's).
 */
int
store_cert_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_cert *cert;

	if ((cert = calloc(1, sizeof(*cert))) == NULL)
		return lerr_set(e, LERR_STORE, "out of memory");
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
		return lerr_set(e, LERR_INTERNAL, "store_cert_by_serial: bad arguments");
	store_hex(serial, len, hex, sizeof(hex));
	if (len == 0 || len > STORE_SERIAL_MAX)
		return lerr_set(e, LERR_NOT_FOUND, "no certificate with serial %s", hex);
	if ((lrc = store_lookup(s, &x, store_cert_row, out, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no certificate with serial %s", hex);
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
		return lerr_set(e, LERR_INTERNAL, "store_cert_by_key: bad arguments");
	if ((lrc = store_lookup(s, &x, store_cert_row, out, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no certificate for this key");
	return lrc;
}

/* store_cert_page's fn and its argument. */
struct store_cert_visit {
	int (*fn)(const struct store_cert *c, void *arg);
	void *arg;
};

/* Row reader for store_cert_page: hands one certificate to the caller's fn
 * (1 when it asks to stop). */
static int
store_cert_page_row(struct store_row *st, void *arg, struct lerr *e)
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
 * Calls fn for each certificate of page pg, newest first (see store.h).
 * fn holds one of the read connections meanwhile: it should not call back
 * into the store more than the pool can serve.
 */
int
store_cert_page(struct store *s, struct store_page *pg,
		int (*fn)(const struct store_cert *c, void *arg), void *arg, struct lerr *e)
{
	struct store_query x = { Q_CERT_PAGE, "listing certificates", { { 0 } } };
	struct store_cert_visit v = { fn, arg };

	if (s == NULL || pg == NULL || fn == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_cert_page: bad arguments");
	return store_page_each(s, &x, pg, store_cert_page_row, &v, e);
}

/* The serial range of a hex prefix: lo is the prefix (an odd digit
 * count padded with 0), hi the prefix plus one in its last digit (with
 * carry); a prefix of only f digits has no end, so hi is then one byte
 * longer than any serial, all ones. 0, or -1 when text is not hex. */
static int
store_serial_range(const char *text, unsigned char lo[STORE_SERIAL_MAX],
		   unsigned char hi[STORE_SERIAL_MAX + 1], size_t *lolen, size_t *hilen)
{
	unsigned char d[2 * STORE_SERIAL_MAX];
	size_t n = strlen(text), i;
	int carry = 1;

	if (n == 0 || n > sizeof(d))
		return -1;
	for (i = 0; i < n; i++) {
		if (text[i] >= '0' && text[i] <= '9')
			d[i] = (unsigned char)(text[i] - '0');
		else if (text[i] >= 'a' && text[i] <= 'f')
			d[i] = (unsigned char)(text[i] - 'a' + 10);
		else if (text[i] >= 'A' && text[i] <= 'F')
			d[i] = (unsigned char)(text[i] - 'A' + 10);
		else
			return -1;
	}
	if (n % 2 != 0)
		d[n++] = 0;
	*lolen = *hilen = n / 2;
	for (i = 0; i < n / 2; i++)
		lo[i] = (unsigned char)(d[2 * i] << 4 | d[2 * i + 1]);
	/* The last digit the text named is the one that counts up. */
	for (i = strlen(text); i-- > 0 && carry;) {
		d[i] = (unsigned char)((d[i] + 1) & 0xf);
		carry = d[i] == 0;
	}
	if (carry) {
		memset(hi, 0xff, STORE_SERIAL_MAX + 1);
		*hilen = STORE_SERIAL_MAX + 1;
		return 0;
	}
	for (i = 0; i < n / 2; i++)
		hi[i] = (unsigned char)(d[2 * i] << 4 | d[2 * i + 1]);
	return 0;
}

/* store_cert_find's sort key of the row a page starts after. */
struct store_cert_key {
	int64_t not_after;
	char device_id[65];
};

static int
store_cert_key_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_cert_key *k = arg;

	k->not_after = store_get_int(st, 0);
	return store_col_text(st, 1, k->device_id, sizeof(k->device_id), e);
}

/* The sort key of certificate id, where a page after it starts: 0, or
 * -1 with e (bad_request when no certificate has that id). */
static int
store_cert_key(struct store *s, int64_t id, struct store_cert_key *k, struct lerr *e)
{
	const struct store_query kx = {
		Q_CERT_FIND_KEY, "reading the cursor's certificate", { store_arg_int(id) },
	};
	int lrc;

	if ((lrc = store_lookup(s, &kx, store_cert_key_row, k, e)) < 0)
		return -1;
	if (lrc > 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the cursor names no certificate");
	return 0;
}

/*
 * Calls fn for each certificate of page pg as f says (see store.h, "the
 * inventory"); fn as for store_cert_page.
 */
int
store_cert_find(struct store *s, const struct store_cert_filter *f, struct store_page *pg,
		int (*fn)(const struct store_cert *c, void *arg), void *arg, struct lerr *e)
{
	/* U+10FFFF, the last character: text above every device id and every
	 * prefix's range (compared bytewise on both databases), and valid
	 * UTF-8, which PostgreSQL insists on. */
	static const char after_all[] = "\xf4\x8f\xbf\xbf";
	char dev_hi[STORE_SEARCH_MAX + 5], dns_lo[STORE_SEARCH_MAX + 5];
	char dns_hi[STORE_SEARCH_MAX + 9], ip_lo[STORE_SEARCH_MAX + 4];
	char ip_hi[STORE_SEARCH_MAX + 8], name[STORE_SEARCH_MAX + 1];
	unsigned char slo[STORE_SERIAL_MAX], shi[STORE_SERIAL_MAX + 1];
	size_t slolen = 0, shilen = 0;
	struct store_cert_visit v = { fn, arg };
	struct store_cert_key k;
	struct store_query x;
	const char *q, *status = NULL;
	int kind, hex;
	size_t i;

	if (s == NULL || f == NULL || pg == NULL || fn == NULL ||
	    (unsigned)f->sort > STORE_SORT_DEVICE ||
	    (f->status != -1 && f->status != STORE_CERT_VALID && f->status != STORE_CERT_REVOKED))
		return lerr_set(e, LERR_INTERNAL, "store_cert_find: bad arguments");
	q = f->q != NULL && f->q[0] != '\0' ? f->q : NULL;
	if (q != NULL && strlen(q) > STORE_SEARCH_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "a search is at most %d bytes",
				STORE_SEARCH_MAX);
	if (f->status != -1)
		status = store_cert_status_str((enum store_cert_status)f->status);
	kind = q != NULL ? 2 : f->status == STORE_CERT_REVOKED ? 1 : 0;
	memset(&x, 0, sizeof(x));
	x.q = (enum store_q)CERT_FIND_Q(kind, (int)f->sort, f->ascending != 0);
	x.what = "listing certificates";

	/* ?1: the sort key of the row the page starts after. */
	memset(&k, 0, sizeof(k));
	if (pg->after > 0 && f->sort != STORE_SORT_ISSUED &&
	    store_cert_key(s, pg->after, &k, e) != 0)
		return -1;
	if (f->sort == STORE_SORT_EXPIRES)
		x.args[0] = store_arg_int(pg->after > 0 ? k.not_after :
					  f->ascending ? INT64_MIN : INT64_MAX);
	else if (f->sort == STORE_SORT_DEVICE)
		x.args[0] = pg->after > 0 ? store_arg_text(k.device_id) :
			    f->ascending ? store_arg_text("") : store_arg_text(after_all);
	else
		x.args[0] = store_arg_null();
	x.args[1] = store_arg_text(status);

	/* ?3..?10: the search's ranges, NULL (matching nothing) without one. */
	if (q != NULL) {
		/* Names are stored in lower case (ca/names.c): the search for
		 * one is too, as SQLite's NOCASE column did by itself. */
		for (i = 0; q[i] != '\0'; i++)
			name[i] = (char)(q[i] >= 'A' && q[i] <= 'Z' ? q[i] - 'A' + 'a' : q[i]);
		name[i] = '\0';
		snprintf(dev_hi, sizeof(dev_hi), "%s%s", q, after_all);
		snprintf(dns_lo, sizeof(dns_lo), "DNS:%s", name);
		snprintf(dns_hi, sizeof(dns_hi), "DNS:%s%s", name, after_all);
		snprintf(ip_lo, sizeof(ip_lo), "IP:%s", name);
		snprintf(ip_hi, sizeof(ip_hi), "IP:%s%s", name, after_all);
		hex = store_serial_range(q, slo, shi, &slolen, &shilen) == 0;
		x.args[2] = store_arg_text(q);
		x.args[3] = store_arg_text(dev_hi);
		x.args[4] = store_arg_text(dns_lo);
		x.args[5] = store_arg_text(dns_hi);
		x.args[6] = store_arg_text(ip_lo);
		x.args[7] = store_arg_text(ip_hi);
		x.args[8] = hex ? store_arg_blob(slo, slolen) : store_arg_null();
		x.args[9] = hex ? store_arg_blob(shi, shilen) : store_arg_null();
	} else {
		for (i = 2; i < 10; i++)
			x.args[i] = store_arg_null();
	}
	return store_page_walk(s, &x, pg, f->ascending != 0, store_cert_page_row, &v, e);
}

/*
 * Calls fn for each certificate of page pg as r says (see store.h, "the
 * shell's inventory"); fn as for store_cert_page.
 */
int
store_cert_range(struct store *s, const struct store_cert_range *r, struct store_page *pg,
		 int (*fn)(const struct store_cert *c, void *arg), void *arg, struct lerr *e)
{
	struct store_cert_visit v = { fn, arg };
	struct store_cert_key k;
	struct store_query x;
	const char *device;
	int64_t key;

	if (s == NULL || r == NULL || pg == NULL || fn == NULL || r->from >= r->until ||
	    (unsigned)r->order > STORE_RANGE_EXPIRES_DESC ||
	    (r->status != -1 && r->status != STORE_CERT_VALID && r->status != STORE_CERT_REVOKED))
		return lerr_set(e, LERR_INTERNAL, "store_cert_range: bad arguments");
	device = r->device != NULL && r->device[0] != '\0' ? r->device : NULL;
	if (device != NULL && r->order != STORE_RANGE_ISSUED)
		return lerr_set(e, LERR_INTERNAL, "store_cert_range: a device's rows are by issuance");
	memset(&x, 0, sizeof(x));
	x.what = "listing certificates";
	x.q = device != NULL ? Q_CERT_RANGE_DEVICE :
	      r->order == STORE_RANGE_ISSUED ? Q_CERT_RANGE_ISSUED :
	      r->order == STORE_RANGE_EXPIRES_ASC ? Q_CERT_RANGE_EXPIRES_ASC :
	      Q_CERT_RANGE_EXPIRES_DESC;
	/* ?1: by expiry, where the page starts: the range's end, or the
	 * cursor's row when that is further in (it is, unless the cursor is
	 * another listing's). */
	key = r->order == STORE_RANGE_EXPIRES_ASC ? r->from : r->until - 1;
	if (pg->after > 0 && r->order != STORE_RANGE_ISSUED) {
		memset(&k, 0, sizeof(k));
		if (store_cert_key(s, pg->after, &k, e) != 0)
			return -1;
		if (r->order == STORE_RANGE_EXPIRES_ASC ? k.not_after > key : k.not_after < key)
			key = k.not_after;
	}
	x.args[0] = store_arg_int(key);
	x.args[1] = store_arg_text(r->status != -1 ?
				   store_cert_status_str((enum store_cert_status)r->status) :
				   NULL);
	x.args[2] = store_arg_text(device);
	x.args[3] = store_arg_int(r->from);
	x.args[4] = store_arg_int(r->until);
	return store_page_walk(s, &x, pg, r->order == STORE_RANGE_EXPIRES_ASC,
			       store_cert_page_row, &v, e);
}

/* Row reader: column 0, a time, into its span's count (struct
 * store_spans); 1 (stop) once a newest-first walk is past the spans. */
struct store_spans {
	int64_t start, width;
	size_t n;
	int64_t *counts;
	int newest_first;
};

static int
store_span_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_spans *sp = arg;
	int64_t t = store_get_int(st, 0);

	(void)e;
	if (t < sp->start) {
		/* Issued in the same second as a row with a lower id can
		 * come later: stop only a day past the start. */
		return sp->newest_first && t < sp->start - 86400;
	}
	if ((t - sp->start) / sp->width < (int64_t)sp->n)
		sp->counts[(t - sp->start) / sp->width]++;
	return 0;
}

/* Checks the spans' arguments and zeroes counts. */
static int
store_spans_init(struct store_spans *sp, int64_t start, int64_t width, size_t n,
		 int64_t *counts, struct lerr *e)
{
	if (width <= 0 || n == 0 || n > 1000 || counts == NULL ||
	    start > INT64_MAX - width * (int64_t)n || start < 0)
		return lerr_set(e, LERR_INTERNAL, "counting certificates: bad spans");
	memset(counts, 0, n * sizeof(*counts));
	sp->start = start;
	sp->width = width;
	sp->n = n;
	sp->counts = counts;
	sp->newest_first = 0;
	return 0;
}

int
store_cert_expiring(struct store *s, int64_t start, int64_t width, size_t n,
		    int64_t *counts, struct lerr *e)
{
	struct store_spans sp;
	struct store_query x;

	if (s == NULL || store_spans_init(&sp, start, width, n, counts, e) != 0)
		return -1;
	x = (struct store_query){
		Q_CERT_EXPIRING, "counting expiring certificates",
		{ store_arg_int(start), store_arg_int(start + width * (int64_t)n) },
	};
	return store_each(s, &x, store_span_row, &sp, e);
}

int
store_cert_issued(struct store *s, int64_t start, int64_t width, size_t n,
		  int64_t *counts, struct lerr *e)
{
	struct store_spans sp;
	struct store_query x;

	if (s == NULL || store_spans_init(&sp, start, width, n, counts, e) != 0)
		return -1;
	sp.newest_first = 1;
	x = (struct store_query){
		Q_CERT_ISSUED_SINCE, "counting issued certificates",
		{ store_arg_int(INT64_MAX) },
	};
	return store_each(s, &x, store_span_row, &sp, e);
}

/* One count(*) query x into *n. */
static int
store_count(struct store *s, const struct store_query *x, int64_t *n, struct lerr *e)
{
	int lrc;

	if ((lrc = store_lookup(s, x, store_row_int, n, e)) > 0)
		return lerr_set(e, LERR_STORE, "%s: no answer", x->what);
	return lrc;
}

int
store_cert_totals(struct store *s, int64_t now, int64_t *valid, int64_t *revoked,
		  struct lerr *e)
{
	const struct store_query unexpired = {
		Q_CERT_UNEXPIRED, "counting certificates", { store_arg_int(now) },
	};
	const struct store_query rev_unexpired = {
		Q_CERT_REVOKED_UNEXPIRED, "counting revoked certificates", { store_arg_int(now) },
	};
	const struct store_query rev = {
		.q = Q_CERT_REVOKED_COUNT, .what = "counting revoked certificates",
	};
	int64_t all = 0, gone = 0;

	if (s == NULL || valid == NULL || revoked == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_cert_totals: bad arguments");
	/* Each count is one range of an index; revoked ones are few. */
	if (store_count(s, &unexpired, &all, e) != 0 ||
	    store_count(s, &rev_unexpired, &gone, e) != 0 ||
	    store_count(s, &rev, revoked, e) != 0)
		return -1;
	*valid = all - gone;
	return 0;
}

int
store_cert_expiring_count(struct store *s, int64_t from, int64_t to, int64_t *n, struct lerr *e)
{
	const struct store_query all = {
		Q_CERT_EXPIRING_COUNT, "counting expiring certificates",
		{ store_arg_int(from), store_arg_int(to) },
	};
	const struct store_query gone = {
		Q_CERT_REVOKED_EXPIRING_COUNT, "counting expiring revoked certificates",
		{ store_arg_int(from), store_arg_int(to) },
	};
	int64_t rev = 0;

	if (s == NULL || n == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_cert_expiring_count: bad arguments");
	if (store_count(s, &all, n, e) != 0 || store_count(s, &gone, &rev, e) != 0)
		return -1;
	*n -= rev;
	return 0;
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
		return lerr_set(e, LERR_INTERNAL, "store_cert_count: bad arguments");
	/* count(*) always answers one row; none would be the database's fault. */
	if ((lrc = store_lookup(s, &x, store_row_int, n, e)) > 0)
		return lerr_set(e, LERR_STORE, "counting certificates: no answer");
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
		return lerr_set(e, LERR_INTERNAL, "store_name_owner: bad arguments");
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
		return lerr_set(e, LERR_INTERNAL, "store_key_owner: bad arguments");
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
		return lerr_set(e, LERR_INTERNAL, "store_device_holder: bad arguments");
	return store_owner_query(s, &x, owner, e);
}


/* What Q_CERT_REVOKE_FIND reads of a certificate. */
struct store_revoke_found {
	char device[65];
	enum store_cert_status status;
};

/* Row reader: Q_CERT_REVOKE_FIND's device and status. */
static int
store_revoke_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_revoke_found *row = arg;

	if (store_col_text(st, 0, row->device, sizeof(row->device), e) != 0 ||
	    store_col_cert_status(st, 1, &row->status, e) != 0)
		return -1;
	return 0;
}

/*
 * Inside a job: revokes the certificate with serial, which must be
 * valid, as j says, with its "revoke" audit row naming the device
 * (newly, when set: the certificate that replaces it). LERR_NOT_FOUND
 * for an unknown serial, LERR_CONFLICT when it is revoked already.
 */
static int
store_revoke_one(struct store_conn *w, const unsigned char *serial, size_t len,
		 const struct store_revoke_job *j, const char *newly, struct lerr *e)
{
	struct store_revoke_found row;
	struct store_query x = {
		Q_CERT_REVOKE_FIND, "looking up the certificate",
		{ store_arg_blob(serial, len) },
	};
	char hex[2 * STORE_SERIAL_MAX + 1], *detail = NULL;
	json_t *o;
	int changed, lrc, rc;

	store_hex(serial, len, hex, sizeof(hex));
	if ((lrc = store_conn_lookup(w, &x, store_revoke_row, &row, e)) < 0)
		return -1;
	if (lrc > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no certificate with serial %s", hex);
	if (row.status != STORE_CERT_VALID)
		return lerr_set(e, LERR_CONFLICT, "certificate %s is %s already", hex,
				store_cert_status_str(row.status));
	x = (struct store_query){
		Q_CERT_REVOKE, "revoking the certificate",
		{ store_arg_blob(serial, len), store_arg_int(j->now), store_arg_text(j->reason),
		  store_arg_text(j->r->comment) },
	};
	if (store_exec(w, &x, &changed, e) != 0)
		return -1;
	if (changed != 1)
		return lerr_set(e, LERR_CONFLICT, "certificate %s changed meanwhile", hex);
	w->certs_changed = 1;
	o = json_pack("{s:s, s:s}", "serial", hex, "reason", j->reason);
	if (o != NULL && j->r->comment != NULL &&
	    json_object_set_new(o, "comment", json_string(j->r->comment)) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (o != NULL && newly != NULL &&
	    json_object_set_new(o, "superseded_by", json_string(newly)) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (store_json_detail(o, &detail, e) != 0)
		return -1;
	rc = store_audit_row(w, j->now, j->r->actor, "revoke", row.device, detail, e);
	free(detail);
	return rc;
}

/* Checks r and fills j from it. */
static int
store_revoke_prepare(const struct store_revocation *r, struct store_revoke_job *j,
		     struct lerr *e)
{
	memset(j, 0, sizeof(*j));
	if (r == NULL || r->actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "a revocation without its actor");
	if ((j->reason = crl_reason_str((int)r->reason)) == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "unknown revocation reason %d: one of "
				CRL_REASON_WORDS, (int)r->reason);
	if (r->comment != NULL && strlen(r->comment) > STORE_REASON_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "a revocation's comment is at most %d bytes",
				STORE_REASON_MAX);
	j->r = r;
	j->now = r->now != 0 ? r->now : (int64_t)time(NULL);
	return 0;
}

struct store_revoke_serial {
	struct store_revoke_job j;
	const unsigned char *serial;
	size_t len;
};

static int
store_cert_revoke_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_revoke_serial *rs = arg;

	return store_revoke_one(w, rs->serial, rs->len, &rs->j, NULL, e);
}

int
store_cert_revoke(struct store *s, const unsigned char *serial, size_t len,
		  const struct store_revocation *r, struct lerr *e)
{
	struct store_revoke_serial rs;
	char hex[2 * STORE_SERIAL_MAX + 1];

	if (s == NULL || serial == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_cert_revoke: bad arguments");
	if (store_revoke_prepare(r, &rs.j, e) != 0)
		return -1;
	store_hex(serial, len, hex, sizeof(hex));
	if (len == 0 || len > STORE_SERIAL_MAX)
		return lerr_set(e, LERR_NOT_FOUND, "no certificate with serial %s", hex);
	rs.serial = serial;
	rs.len = len;
	return store_submit(s, store_cert_revoke_run, &rs, e);
}

/* A device's certificates as Q_DEVICE_CERTS reads them. */
struct store_device_certs {
	unsigned char (*serial)[STORE_SERIAL_MAX];
	size_t *len;
	size_t n, cap, total;
};

/* Row reader: collects the serials of those valid and unexpired. */
static int
store_device_cert_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_device_certs *d = arg;
	void *p;

	d->total++;
	if (store_get_int(st, 1) == 0)
		return 0;
	if (d->n == d->cap) {
		d->cap = d->cap == 0 ? 8 : 2 * d->cap;
		if ((p = realloc(d->serial, d->cap * sizeof(*d->serial))) == NULL)
			return lerr_set(e, LERR_STORE, "out of memory");
		d->serial = p;
		if ((p = realloc(d->len, d->cap * sizeof(*d->len))) == NULL)
			return lerr_set(e, LERR_STORE, "out of memory");
		d->len = p;
	}
	if (store_col_blob(st, 0, d->serial[d->n], STORE_SERIAL_MAX, &d->len[d->n], e) != 0)
		return -1;
	d->n++;
	return 0;
}

/* Writer job: every valid, unexpired certificate of the device, revoked. */
static int
store_device_revoke_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_revoke_job *j = arg;
	struct store_device_certs d;
	const struct store_query x = {
		Q_DEVICE_CERTS, "looking up the device's certificates",
		{ store_arg_text(j->device), store_arg_int(j->now) },
	};
	size_t i;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	j->n = 0;
	if (store_conn_each(w, &x, store_device_cert_row, &d, e) != 0)
		goto out;
	if (d.total == 0) {
		lerr_set(e, LERR_NOT_FOUND, "no certificate for device %s", j->device);
		goto out;
	}
	if (d.n == 0) {
		lerr_set(e, LERR_CONFLICT, "device %s holds no valid certificate to revoke",
			 j->device);
		goto out;
	}
	for (i = 0; i < d.n; i++) {
		if (store_revoke_one(w, d.serial[i], d.len[i], j, NULL, e) != 0)
			goto out;
		if (j->serials != NULL && i < j->max)
			store_hex(d.serial[i], d.len[i], j->serials[i], sizeof(j->serials[i]));
	}
	j->n = d.n;
	rc = 0;
out:
	free(d.serial);
	free(d.len);
	return rc;
}

int
store_device_revoke(struct store *s, const char *device_id, const struct store_revocation *r,
		    char (*serials)[2 * STORE_SERIAL_MAX + 1], size_t max, size_t *n,
		    struct lerr *e)
{
	struct store_revoke_job j;

	*n = 0;
	if (s == NULL || device_id == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_device_revoke: bad arguments");
	if (store_revoke_prepare(r, &j, e) != 0)
		return -1;
	j.device = device_id;
	j.serials = serials;
	j.max = max;
	if (store_submit(s, store_device_revoke_run, &j, e) != 0)
		return -1;
	*n = j.n;
	return 0;
}

/* ---- the names a LAN's DNS should know ---- */

struct store_host_visit {
	int (*fn)(const struct store_host_name *h, void *arg);
	void *arg;
};

/* Row reader for store_host_names: one (certificate, name) pair. */
static int
store_host_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_host_visit *v = arg;
	struct store_host_name h;
	const char *addr = store_get_text(st, 3);
	int rc;

	h.cert_id = store_get_int(st, 0);
	h.device_id = store_get_text(st, 1);
	h.name = store_get_text(st, 2);
	h.address = addr != NULL ? addr : "";
	if (h.device_id == NULL || h.name == NULL)
		return lerr_set(e, LERR_STORE, "certificate %lld: a name without its text",
				(long long)h.cert_id);
	rc = v->fn(&h, v->arg);
	return rc < 0 ? -1 : rc;
}

int
store_host_names(struct store *s, int64_t now,
		 int (*fn)(const struct store_host_name *h, void *arg), void *arg,
		 struct lerr *e)
{
	struct store_host_visit v = { fn, arg };
	const struct store_query x = {
		Q_HOST_NAMES, "listing the valid certificates' names", { store_arg_int(now) },
	};

	return store_each(s, &x, store_host_row, &v, e);
}
