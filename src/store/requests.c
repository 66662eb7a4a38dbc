/*
 * requests.c - the store's enrollment requests (see store.h, "enrollment
 * requests"): recording a device's ask (one request per key however often
 * it asks), polling, denial, notes, contest, the keys waiting for a button
 * press, listing and expiry.
 *
 * Runs on the store engine (internal.h): writes are writer jobs, reads use
 * the read pool; every statement is in store_sql_requests[] below. Issuing a
 * request (pending -> issued) happens in store_cert_insert(), in the same
 * transaction as the certificate.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "common/lerr.h"
#include "store/store.h"
#include "store/internal.h"

#define STORE_REQ_COLS \
	"id, key_id, device_id, csr, state, auth, source, reason, created_at, " \
	"last_seen, expires_at, cert_id, contested, door"

const char *const store_sql_requests[Q_COUNT] = {
	/*
	 * The request a device asking again with key ?1 at ?2 gets back: one
	 * still pending, or one issued whose key holds a certificate that is
	 * still valid. A revoked or expired certificate, or an expired
	 * request, makes the next ask a new request.
	 */
	[Q_REQ_FIND_KEY] =
		"SELECT id FROM requests r WHERE r.key_id = ?1 AND ("
		" (r.state = 'pending' AND r.expires_at > ?2) OR"
		" (r.state = 'issued' AND EXISTS (SELECT 1 FROM certificates c"
		"  WHERE c.key_id = r.key_id AND c.status = 'valid' AND c.not_after > ?2))) "
		"ORDER BY r.created_at DESC, r.rowid DESC LIMIT 1",
	/*
	 * Asking again: a pending request takes the request just sent (device
	 * id ?4, bytes ?5, authority ?6), which is the one every check of this
	 * ask was made on; an issued one only notes that it was seen.
	 */
	[Q_REQ_REFRESH] =
		"UPDATE requests SET "
		"last_seen = CASE WHEN last_seen > ?2 THEN last_seen ELSE ?2 END, "
		"source = coalesce(?3, source), updated_at = ?2, "
		"device_id = CASE WHEN state = 'pending' THEN ?4 ELSE device_id END, "
		"csr = CASE WHEN state = 'pending' THEN ?5 ELSE csr END, "
		"auth = CASE WHEN state = 'pending' THEN ?6 ELSE auth END, "
		"door = CASE WHEN state = 'pending' THEN ?8 ELSE door END, "
		"reason = CASE WHEN state = 'pending' AND CAST(?7 AS TEXT) IS NOT NULL THEN ?7 ELSE reason END "
		"WHERE id = ?1",
	[Q_REQ_COUNT_PENDING] = "SELECT count(*) FROM requests WHERE state = 'pending'",
	[Q_REQ_INSERT] =
		"INSERT INTO requests (id, key_id, device_id, csr, state, auth, source, "
		"reason, created_at, updated_at, last_seen, expires_at, door) "
		"VALUES (?1, ?2, ?3, ?4, ?10, ?5, ?6, ?9, ?7, ?7, ?7, ?8, ?11)",
	[Q_REQ_GET] = "SELECT " STORE_REQ_COLS " FROM requests WHERE id = ?",
	/* A poll is not a change of the row: updated_at stays. */
	[Q_REQ_TOUCH] =
		"UPDATE requests SET last_seen = CASE WHEN last_seen > ?2 THEN last_seen "
		"ELSE ?2 END WHERE id = ?1",
	[Q_REQ_DENY] =
		"UPDATE requests SET state = 'denied', reason = ?2, updated_at = ?3 "
		"WHERE id = ?1 AND state = 'pending'",
	[Q_REQ_NOTE] =
		"UPDATE requests SET reason = ?2, updated_at = ?3 "
		"WHERE id = ?1 AND state = 'pending'",
	[Q_REQ_CONTEST] =
		"UPDATE requests SET contested = 1, updated_at = ?2 "
		"WHERE id = ?1 AND state = 'issued' AND contested = 0",
	/*
	 * Keys waiting at ?2: a pending request with no authentication, asked
	 * for since ?1, and no certificate for the key that is valid at ?2.
	 * One row per key (its newest request), in order of the key's first
	 * ask; the third column is the number of such keys.
	 */
	[Q_REQ_WAITING] =
		"WITH w AS ("
		" SELECT r.id, r.key_id,"
		"  row_number() OVER (PARTITION BY r.key_id"
		"   ORDER BY r.created_at DESC, r.rowid DESC) AS rn,"
		"  min(r.created_at) OVER (PARTITION BY r.key_id) AS first"
		" FROM requests r"
		" WHERE r.state = 'pending' AND r.auth = 'none' AND r.last_seen >= ?1"
		" AND r.expires_at > ?2"
		" AND NOT EXISTS (SELECT 1 FROM certificates c"
		"  WHERE c.key_id = r.key_id AND c.status = 'valid'"
		"  AND c.not_after > ?2)"
		/* A device id whose certificate was revoked waits for an admin
		 * (store_onboard's device_revoked): not the button's. */
		" AND NOT (EXISTS (SELECT 1 FROM certificates c"
		"  WHERE c.device_id = r.device_id AND c.status = 'revoked'"
		"  AND c.revoke_reason NOT IN ('superseded', 'cACompromise'))"
		"  AND NOT EXISTS (SELECT 1 FROM certificates c"
		"  WHERE c.device_id = r.device_id AND c.status = 'valid'"
		"  AND c.not_after > ?2))) "
		"SELECT id, key_id, count(*) OVER () FROM w WHERE rn = 1 "
		"ORDER BY first, key_id",
	/*
	 * Pages (store_page_each), newest recorded first. The order is the
	 * rowid's, which the table and requests_state (state, rowid) hold
	 * already: each page is one range of one of them, and a listing
	 * costs an enrollment no index of its own. Requests are never
	 * deleted, so their rowids have no gaps that a VACUUM could close.
	 * One statement per filter: "?1 IS NULL OR state = ?1" would scan.
	 */
	[Q_REQ_PAGE] =
		"SELECT " STORE_REQ_COLS ", rowid FROM requests WHERE rowid < ?1 "
		"ORDER BY rowid DESC LIMIT ?2",
	[Q_REQ_PAGE_STATE] =
		"SELECT " STORE_REQ_COLS ", rowid FROM requests "
		"WHERE state = ?1 AND rowid < ?2 ORDER BY rowid DESC LIMIT ?3",
	/* Whether a sweep has anything to do: pending rows only. */
	[Q_REQ_EXPIRE_DUE] =
		"SELECT 1 FROM requests WHERE state = 'pending' AND expires_at <= ?1 LIMIT 1",
	[Q_REQ_EXPIRE] =
		"UPDATE requests SET state = 'expired', updated_at = ?1 "
		"WHERE state = 'pending' AND expires_at <= ?1",
};

/* Frees r and what it owns. NULL-safe. */
void
store_request_free(struct store_request *r)
{
	if (r == NULL)
		return;
	free(r->csr);
	free(r);
}

/*
 * Fills r from a row of STORE_REQ_COLS; r->csr is allocated (the caller frees
 * it, also on failure).
 */
static int
store_req_from_row(struct store_row *st, struct store_request *r, struct lerr *e)
{
	size_t key_len = 0;

	if (store_col_text(st, 0, r->id, sizeof(r->id), e) != 0 ||
	    store_col_blob(st, 1, r->key_id, sizeof(r->key_id), &key_len, e) != 0 ||
	    store_col_text(st, 2, r->device_id, sizeof(r->device_id), e) != 0 ||
	    store_col_blob_dup(st, 3, &r->csr, &r->csr_len, e) != 0 ||
	    store_col_req_state(st, 4, &r->state, e) != 0 ||
	    store_col_auth(st, 5, &r->auth, e) != 0 ||
	    store_col_text(st, 6, r->source, sizeof(r->source), e) != 0 ||
	    store_col_text(st, 7, r->reason, sizeof(r->reason), e) != 0)
		return -1;
	if (key_len != sizeof(r->key_id))
		return lerr_set(e, LERR_STORE, "request %s has a bad key id", r->id);
	r->created_at = store_get_int(st, 8);
	r->last_seen = store_get_int(st, 9);
	r->expires_at = store_get_int(st, 10);
	r->cert_id = store_get_int(st, 11);	/* NULL reads as 0 */
	r->contested = store_get_int(st, 12) != 0;
	return store_col_door(st, 13, &r->door, e);
}

/* Row reader: a row of STORE_REQ_COLS into a new request at
 * *(struct store_request **)arg (the caller's). */
static int
store_req_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_request *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return lerr_set(e, LERR_STORE, "out of memory");
	if (store_req_from_row(st, r, e) != 0) {
		store_request_free(r);
		return -1;
	}
	*(struct store_request **)arg = r;
	return 0;
}

/*
 * Reads request id on connection c into a new struct (the caller's).
 * 1 if there is none, 0 found, -1 on error.
 */
int
store_req_read(struct store_conn *c, const char *id, struct store_request **out,
	    struct lerr *e)
{
	const struct store_query x = {
		Q_REQ_GET, "reading a request", { store_arg_text(id) },
	};

	*out = NULL;
	return store_conn_lookup(c, &x, store_req_row, out, e);
}

/*
 * After an update that changed nothing: fills e with why, LERR_NOT_FOUND
 * for an unknown id, LERR_CONFLICT naming the state it is in otherwise.
 * Returns -1; *r (when not NULL) receives the row if there is one.
 */
static int
store_req_refused(struct store_conn *w, const char *id, struct store_request **r,
	       struct lerr *e)
{
	struct store_request *cur = NULL;
	int lrc;

	if ((lrc = store_req_read(w, id, &cur, e)) < 0)
		return -1;
	if (lrc > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no request %s", id);
	lerr_set(e, LERR_CONFLICT, "request %s is %s", id, store_req_state_str(cur->state));
	if (r != NULL)
		*r = cur;
	else
		store_request_free(cur);
	return -1;
}

/* ---- upsert ---- */

struct store_req_upsert_job {
	const struct store_request *in;
	int64_t at;			/* when the device asked (a refresh) */
	int64_t first;			/* created_at = last_seen of a new one */
	const char *source;		/* NULL: unknown */
	const char *reason;		/* the note a pending request gets, NULL: none */
	struct store_request *out;	/* out, the caller's */
	int created;			/* out */
};

/* Row reader: a count into the int64_t at arg. */
static int
store_row_count(struct store_row *st, void *arg, struct lerr *e)
{
	(void)e;
	*(int64_t *)arg = store_get_int(st, 0);
	return 0;
}

/*
 * A new request id: 8 hex digits of the time it was first asked, then 96
 * random bits. The random part makes it unguessable (it lets anybody poll
 * the request); the time first keeps new ids at the end of the id index,
 * so a batch of new requests writes a page or two of it, not a random page
 * each.
 */
void
store_request_new_id(int64_t now, char id[STORE_REQUEST_ID_LEN + 1])
{
	unsigned char raw[STORE_REQUEST_ID_LEN / 2];
	uint32_t t = (uint32_t)now;

	raw[0] = (unsigned char)(t >> 24);
	raw[1] = (unsigned char)(t >> 16);
	raw[2] = (unsigned char)(t >> 8);
	raw[3] = (unsigned char)t;
	randombytes_buf(raw + 4, sizeof(raw) - 4);
	store_hex(raw, sizeof(raw), id, STORE_REQUEST_ID_LEN + 1);
}

/*
 * Inside a job: inserts request in as id, in state st, first asked at
 * first from source (NULL: unknown) with the note reason (NULL: none), and
 * its "enroll" audit row.
 */
int
store_req_insert(struct store_conn *w, const struct store_request *in, const char *id,
		 enum store_req_state st, int64_t first, const char *source, const char *reason,
		 struct lerr *e)
{
	const struct store_query x = {
		Q_REQ_INSERT, "recording the request",
		{ store_arg_text(id), store_arg_blob(in->key_id, sizeof(in->key_id)),
		  store_arg_text(in->device_id), store_arg_blob(in->csr, in->csr_len),
		  store_arg_text(store_auth_str(in->auth)),
		  store_arg_text(source), store_arg_int(first),
		  store_arg_int(in->expires_at), store_arg_text(reason),
		  store_arg_text(store_req_state_str(st)),
		  store_arg_text(store_door_str(in->door)) },
	};
	char keyhex[2 * sizeof(in->key_id) + 1];
	char *detail = NULL;
	int rc;

	if (store_exec(w, &x, NULL, e) != 0)
		return -1;
	store_hex(in->key_id, sizeof(in->key_id), keyhex, sizeof(keyhex));
	if (store_json_detail(json_pack("{s:s, s:s}", "request", id, "key_id", keyhex),
			      &detail, e) != 0)
		return -1;
	rc = store_audit_row(w, first, source != NULL ? source : "device", "enroll",
			     in->device_id, detail, e);
	free(detail);
	return rc;
}

/*
 * Inside a job: records in, a request issued at once with the certificate
 * of the same job, as id (see store_cert_submit_new). LERR_CONFLICT when
 * the key has a pending or issued request already.
 */
int
store_req_insert_issued(struct store_conn *w, const struct store_request *in, const char *id,
			int64_t now, struct lerr *e)
{
	const struct store_query x = {
		Q_REQ_FIND_KEY, "looking up the key's request",
		{ store_arg_blob(in->key_id, sizeof(in->key_id)), store_arg_int(now) },
	};
	int lrc;

	if ((lrc = store_conn_lookup(w, &x, NULL, NULL, e)) < 0)
		return -1;
	if (lrc == 0)
		return lerr_set(e, LERR_CONFLICT,
				"another request for this key was recorded meanwhile: ask again");
	return store_req_insert(w, in, id, STORE_REQ_ISSUED,
				in->created_at != 0 ? in->created_at : now,
				in->source[0] != '\0' ? in->source : NULL, NULL, e);
}

/*
 * Writer job: finds the pending or issued request for the key and
 * refreshes it, or inserts a new pending one with a fresh id and its
 * "enroll" audit row. Reads the resulting row back in the same job.
 */
static int
store_req_upsert_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_req_upsert_job *j = arg;
	const struct store_request *in = j->in;
	char id[STORE_REQUEST_ID_LEN + 1];
	struct store_text_buf b = { id, sizeof(id) };
	struct store_query x = {
		Q_REQ_FIND_KEY, "looking up the key's request",
		{ store_arg_blob(in->key_id, sizeof(in->key_id)), store_arg_int(j->at) },
	};
	int64_t pending = 0;
	int rc = -1;
	int lrc;

	if ((lrc = store_conn_lookup(w, &x, store_row_text, &b, e)) < 0)
		goto out;
	if (lrc == 0) {
		x = (struct store_query){
			Q_REQ_REFRESH, "updating a request",
			{ store_arg_text(id), store_arg_int(j->at), store_arg_text(j->source),
			  store_arg_text(in->device_id), store_arg_blob(in->csr, in->csr_len),
			  store_arg_text(store_auth_str(in->auth)), store_arg_text(j->reason),
			  store_arg_text(store_door_str(in->door)) },
		};
		if (store_exec(w, &x, NULL, e) != 0)
			goto out;
		j->created = 0;
	} else {
		/* Pending requests hold up to 16 KiB each and nobody asked for
		 * them: their number is bounded, checked in the same job. */
		x = (struct store_query){ Q_REQ_COUNT_PENDING, "counting pending requests", { { 0 } } };
		if (store_conn_lookup(w, &x, store_row_count, &pending, e) < 0)
			goto out;
		if (pending >= STORE_PENDING_MAX) {
			lerr_set_http(e, LERR_TOO_LARGE, 503,
				 "%lld requests are waiting for a decision already: try again later",
				 (long long)pending);
			goto out;
		}
		store_request_new_id(j->first, id);
		if (store_req_insert(w, in, id, STORE_REQ_PENDING, j->first, j->source, j->reason,
				     e) != 0)
			goto out;
		j->created = 1;
	}
	if (store_req_read(w, id, &j->out, e) != 0) {
		if (e != NULL && e->code == LERR_NONE)
			lerr_set(e, LERR_STORE, "request %s vanished", id);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

/*
 * Records a device's request, or refreshes the one its key already has
 * (pending or issued): see store.h. A new request is created (and last
 * seen) at in->created_at, or now when 0; a refresh is seen at
 * in->last_seen, else in->created_at, else now. *out (the caller's) is the
 * full row.
 */
int
store_request_upsert(struct store *s, const struct store_request *in,
		     struct store_request **out, int *created, struct lerr *e)
{
	struct store_req_upsert_job j;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (s == NULL || in == NULL || out == NULL) {
		lerr_set(e, LERR_INTERNAL, "store_request_upsert: bad arguments");
		goto out;
	}
	if (in->csr == NULL || in->csr_len == 0 || in->csr_len > INT_MAX ||
	    !store_fits(in->device_id, sizeof(in->device_id)) ||
	    !store_fits(in->reason, sizeof(in->reason)) ||
	    !store_fits(in->source, sizeof(in->source)) ||
	    (unsigned)in->auth > STORE_AUTH_ADMIN || (unsigned)in->door > STORE_DOOR_EST) {
		lerr_set(e, LERR_BAD_REQUEST, "malformed request record");
		goto out;
	}
	memset(&j, 0, sizeof(j));
	j.in = in;
	j.at = in->last_seen != 0 ? in->last_seen :
	       in->created_at != 0 ? in->created_at : (int64_t)time(NULL);
	j.first = in->created_at != 0 ? in->created_at : (int64_t)time(NULL);
	j.source = in->source[0] != '\0' ? in->source : NULL;
	j.reason = in->reason[0] != '\0' ? in->reason : NULL;
	if (store_submit(s, store_req_upsert_run, &j, e) != 0) {
		/* A job that failed after reading its row back is rolled
		 * back: the row is not the caller's to see. */
		store_request_free(j.out);
		goto out;
	}
	*out = j.out;
	if (created != NULL)
		*created = j.created;
	rc = 0;
out:
	return rc;
}

/* Reads request id; -1 with LERR_NOT_FOUND if unknown. *out is the caller's. */
int
store_request_get(struct store *s, const char *id, struct store_request **out,
		  struct lerr *e)
{
	struct store_conn *c = NULL;
	int rc = -1;
	int lrc;

	if (out != NULL)
		*out = NULL;
	if (s == NULL || id == NULL || out == NULL) {
		lerr_set(e, LERR_INTERNAL, "store_request_get: bad arguments");
		goto out;
	}
	if ((c = store_reader_get(s, e)) == NULL)
		goto out;
	if ((lrc = store_req_read(c, id, out, e)) < 0)
		goto out;
	if (lrc > 0) {
		lerr_set(e, LERR_NOT_FOUND, "no request %s", id);
		goto out;
	}
	rc = 0;
out:
	store_reader_put(s, c);
	return rc;
}

/* ---- small state changes ---- */

struct store_req_change_job {
	const char *id;
	const char *reason;
	const char *actor;
	const char *detail;
	int64_t now;
};

/*
 * Inside a job: runs the update q (touch, deny, note, contest) on request
 * j->id: ?2 is j->reason and ?3 j->now for deny and note, ?2 j->now for
 * the others. *changed receives how many rows it changed.
 */
static int
store_req_change(struct store_conn *w, enum store_q q, const struct store_req_change_job *j,
	      int *changed, struct lerr *e)
{
	struct store_query x = { q, "updating a request", { store_arg_text(j->id) } };

	if (q == Q_REQ_DENY || q == Q_REQ_NOTE) {
		x.args[1] = store_arg_text(j->reason);
		x.args[2] = store_arg_int(j->now);
	} else {
		x.args[1] = store_arg_int(j->now);
	}
	return store_exec(w, &x, changed, e);
}

/* Inside a job: appends event's audit row for request j->id, under the
 * request's device id. */
static int
store_req_audit(struct store_conn *w, const struct store_req_change_job *j, const char *event,
	     struct lerr *e)
{
	struct store_request *r = NULL;
	int rc = -1;

	if (store_req_read(w, j->id, &r, e) != 0)
		goto out;
	if (store_audit_row(w, j->now, j->actor, event, r->device_id, j->detail, e) != 0)
		goto out;
	rc = 0;
out:
	store_request_free(r);
	return rc;
}

/*
 * Runs run(j) as a writer job at the current time, with o (its reference
 * taken, see store_json_detail) as the audit detail. 0 once durable, or -1
 * with e set.
 */
static int
store_req_submit(struct store *s, store_job_fn run, struct store_req_change_job *j, json_t *o,
	      struct lerr *e)
{
	char *detail = NULL;
	int rc = -1;

	if (store_json_detail(o, &detail, e) != 0)
		goto out;
	j->detail = detail;
	j->now = (int64_t)time(NULL);
	if (store_submit(s, run, j, e) != 0)
		goto out;
	rc = 0;
out:
	j->detail = NULL;
	free(detail);
	return rc;
}

/* Writer job: last_seen of an existing request moves forward. */
static int
store_req_touch_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_req_change_job *j = arg;
	int changed;

	if (store_req_change(w, Q_REQ_TOUCH, j, &changed, e) != 0)
		return -1;
	if (changed == 0)
		return lerr_set(e, LERR_NOT_FOUND, "no request %s", j->id);
	return 0;
}

/* Records a poll: last_seen becomes now (never goes back). */
int
store_request_touch(struct store *s, const char *id, int64_t now, struct lerr *e)
{
	struct store_req_change_job j;

	if (id == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_request_touch: bad arguments");
	memset(&j, 0, sizeof(j));
	j.id = id;
	j.now = now;
	return store_submit(s, store_req_touch_run, &j, e);
}

/*
 * Writer job: pending -> denied with its reason, audited "deny" under the
 * device id. LERR_CONFLICT naming the state when it is not pending.
 */
static int
store_req_deny_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_req_change_job *j = arg;
	int changed;

	if (store_req_change(w, Q_REQ_DENY, j, &changed, e) != 0)
		return -1;
	if (changed == 0)
		return store_req_refused(w, j->id, NULL, e);
	return store_req_audit(w, j, "deny", e);
}

/* Denies a pending request (reason shown to the device); durable on return. */
int
store_request_deny(struct store *s, const char *id, const char *reason,
		   const char *actor, struct lerr *e)
{
	struct store_req_change_job j;

	if (id == NULL || actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_request_deny: bad arguments");
	if (reason != NULL && strlen(reason) >= sizeof(((struct store_request *)0)->reason))
		return lerr_set(e, LERR_TOO_LARGE, "the reason is too long");
	memset(&j, 0, sizeof(j));
	j.id = id;
	j.reason = reason;
	j.actor = actor;
	return store_req_submit(s, store_req_deny_run, &j, reason != NULL ?
			     json_pack("{s:s, s:s}", "request", id, "reason", reason) :
			     json_pack("{s:s}", "request", id), e);
}

/* Writer job: the reason a pending request waits. */
static int
store_req_note_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_req_change_job *j = arg;
	int changed;

	if (store_req_change(w, Q_REQ_NOTE, j, &changed, e) != 0)
		return -1;
	if (changed == 0)
		return store_req_refused(w, j->id, NULL, e);
	return 0;
}

/* Sets (NULL: clears) why a pending request waits; LERR_CONFLICT when it
 * is not pending any more. */
int
store_request_note(struct store *s, const char *id, const char *reason, struct lerr *e)
{
	struct store_req_change_job j;

	if (id == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_request_note: bad arguments");
	if (reason != NULL && strlen(reason) >= sizeof(((struct store_request *)0)->reason))
		return lerr_set(e, LERR_TOO_LARGE, "the reason is too long");
	memset(&j, 0, sizeof(j));
	j.id = id;
	j.reason = reason;
	j.now = (int64_t)time(NULL);
	return store_submit(s, store_req_note_run, &j, e);
}

/*
 * Writer job: an issued request becomes contested, audited "contested".
 * Contesting one that is contested already changes nothing and succeeds
 * (one audit row per request); any other state is LERR_CONFLICT.
 */
static int
store_req_contest_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_req_change_job *j = arg;
	struct store_request *r = NULL;
	int changed;
	int rc = -1;

	if (store_req_change(w, Q_REQ_CONTEST, j, &changed, e) != 0)
		goto out;
	if (changed == 0) {
		if (store_req_refused(w, j->id, &r, e) == 0 || r == NULL ||
		    r->state != STORE_REQ_ISSUED || !r->contested)
			goto out;
		lerr_clear(e);
	} else if (store_req_audit(w, j, "contested", e) != 0) {
		goto out;
	}
	rc = 0;
out:
	store_request_free(r);
	return rc;
}

/* Marks an issued request contested; durable on return. */
int
store_request_contest(struct store *s, const char *id, const char *actor, struct lerr *e)
{
	struct store_req_change_job j;

	if (id == NULL || actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_request_contest: bad arguments");
	memset(&j, 0, sizeof(j));
	j.id = id;
	j.actor = actor;
	return store_req_submit(s, store_req_contest_run, &j, json_pack("{s:s}", "request", id), e);
}

/* ---- waiting keys, listing, expiry ---- */

/* store_waiting's reader: the first max rows into ids and keys; every row
 * carries the total, so one more row is read past max, for it alone. */
struct store_waiting_rows {
	char (*ids)[STORE_REQUEST_ID_LEN + 1];
	unsigned char (*keys)[32];
	size_t max, i;
	int64_t total;
};

static int
store_waiting_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_waiting_rows *w = arg;
	size_t key_len;

	w->total = store_get_int(st, 2);
	if (w->i == w->max)
		return 1;
	if (store_col_text(st, 0, w->ids[w->i], sizeof(w->ids[w->i]), e) != 0 ||
	    store_col_blob(st, 1, w->keys[w->i], sizeof(w->keys[w->i]), &key_len, e) != 0)
		return -1;
	if (key_len != sizeof(w->keys[w->i]))
		return lerr_set(e, LERR_STORE, "request %s has a bad key id", w->ids[w->i]);
	w->i++;
	return 0;
}

/*
 * The keys waiting at now (see store.h): fills up to max request ids and
 * key ids (either array may be NULL when max is 0) in order of the key's
 * first ask; *n is how many keys wait in all.
 */
int
store_waiting(struct store *s, int64_t since, int64_t now,
	      char (*ids)[STORE_REQUEST_ID_LEN + 1], unsigned char (*keys)[32],
	      size_t max, size_t *n, struct lerr *e)
{
	const struct store_query x = {
		Q_REQ_WAITING, "listing waiting keys", { store_arg_int(since), store_arg_int(now) },
	};
	struct store_waiting_rows w = { ids, keys, max, 0, 0 };

	if (s == NULL || n == NULL || (max > 0 && (ids == NULL || keys == NULL)))
		return lerr_set(e, LERR_INTERNAL, "store_waiting: bad arguments");
	*n = 0;
	if (store_each(s, &x, store_waiting_row, &w, e) != 0)
		return -1;
	if (w.total < 0 || (uint64_t)w.total > SIZE_MAX)
		return lerr_set(e, LERR_STORE, "bad count of waiting keys");
	*n = (size_t)w.total;
	return 0;
}

/* store_request_page's fn and its argument. */
struct store_req_visit {
	int (*fn)(const struct store_request *r, void *arg);
	void *arg;
};

/* Row reader for store_request_page: hands one request to the caller's fn
 * (1 when it asks to stop). */
static int
store_req_page_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_req_visit *v = arg;
	struct store_request row;
	int rc = -1;

	memset(&row, 0, sizeof(row));
	if (store_req_from_row(st, &row, e) != 0)
		goto out;
	rc = v->fn(&row, v->arg) != 0;
out:
	free(row.csr);
	return rc;
}

/*
 * Calls fn for each request of page pg in state (STORE_REQ_ANY: every
 * state), newest first (see store.h). The row is only valid during the
 * call, and fn holds a read connection meanwhile.
 */
int
store_request_page(struct store *s, enum store_req_state state, struct store_page *pg,
		   int (*fn)(const struct store_request *r, void *arg), void *arg,
		   struct lerr *e)
{
	struct store_query x = { Q_REQ_PAGE, "listing requests", { { 0 } } };
	struct store_req_visit v = { fn, arg };

	if (s == NULL || pg == NULL || fn == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_request_page: bad arguments");
	if (state != STORE_REQ_ANY) {
		if (store_req_state_str(state) == NULL)
			return lerr_set(e, LERR_INTERNAL, "store_request_page: bad state");
		x.q = Q_REQ_PAGE_STATE;
		x.args[0] = store_arg_text(store_req_state_str(state));
	}
	return store_page_each(s, &x, pg, store_req_page_row, &v, e);
}

struct store_req_expire_job {
	int64_t now;
	size_t n;			/* out */
};

/* Writer job: every pending request past its expiry becomes expired; one
 * "expire" audit row for the batch when there were any. */
static int
store_req_expire_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_req_expire_job *j = arg;
	const struct store_query x = {
		Q_REQ_EXPIRE, "expiring requests", { store_arg_int(j->now) },
	};
	char *detail = NULL;
	int rc = -1;
	int changed;

	if (store_exec(w, &x, &changed, e) != 0)
		goto out;
	j->n = changed > 0 ? (size_t)changed : 0;
	if (j->n > 0 &&
	    (store_json_detail(json_pack("{s:I}", "count", (json_int_t)j->n), &detail, e) != 0 ||
	     store_audit_row(w, j->now, STORE_ACTOR, "expire", NULL, detail, e) != 0))
		goto out;
	rc = 0;
out:
	free(detail);
	return rc;
}

/* Expires the pending requests whose time is up at now; *n (may be NULL)
 * receives how many. */
int
store_request_expire(struct store *s, int64_t now, size_t *n, struct lerr *e)
{
	struct store_req_expire_job j;

	const struct store_query due = {
		Q_REQ_EXPIRE_DUE, "looking for expired requests", { store_arg_int(now) },
	};
	int lrc;

	if (n != NULL)
		*n = 0;
	/* Every listing sweeps first: a look on a reader spares it a turn
	 * of the writer (and the wait behind a group commit) when, as
	 * nearly always, nothing is due. */
	if ((lrc = store_lookup(s, &due, NULL, NULL, e)) != 0)
		return lrc > 0 ? 0 : -1;
	memset(&j, 0, sizeof(j));
	j.now = now;
	if (store_submit(s, store_req_expire_run, &j, e) != 0)
		return -1;
	if (n != NULL)
		*n = j.n;
	return 0;
}

/* How many requests are pending: one range of requests_state. */
int
store_request_count_pending(struct store *s, int64_t *n, struct lerr *e)
{
	const struct store_query x = {
		.q = Q_REQ_COUNT_PENDING, .what = "counting pending requests",
	};
	int lrc;

	if (s == NULL || n == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_request_count_pending: bad arguments");
	if ((lrc = store_lookup(s, &x, store_row_int, n, e)) > 0)
		return lerr_set(e, LERR_STORE, "counting pending requests: no answer");
	return lrc;
}
