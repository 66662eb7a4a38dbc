/*
 * enroll.c - onboarding decisions (see enroll.h).
 *
 * Every path that may end in a certificate goes: parse and check the
 * request (a clear error before anything is recorded) -> record or find
 * the request (one record per key) -> decide (pre-authorised, vendor
 * auto-registration, the window, or wait for an admin) -> issue_cert().
 * The window's decisions are made under its lock, the certificate is
 * issued after it; an admission that cannot be issued is given back.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <gnutls/gnutls.h>

#include "common/hex.h"
#include "ca/csr.h"
#include "daemon/enroll.h"
#include "common/log.h"
#include "ca/names.h"
#include "ca/policy.h"
#include "daemon/preauth.h"
#include "signer/signer.h"
#include "daemon/vendor.h"
#include "ca/x509.h"

#define ENROLL_WAITING_MAX	64

struct enroll {
	const struct issuer *is;
	const struct ca_set *ca;
	struct window *w;
	struct enroll_config c;
	/* Held from reading the waiting set to the window's decision, so a
	 * key recorded in between cannot go uncounted. */
	pthread_mutex_t decide;
};

void
enroll_result_init(struct enroll_result *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->chain, 64 * 1024);
}

void
enroll_result_free(struct enroll_result *r)
{
	if (r != NULL)
		buf_free(&r->chain);
}

int
enroll_new(const struct issuer *is, const struct ca_set *ca, struct window *w,
	   const struct enroll_config *c, struct enroll **out, struct lerr *e)
{
	struct enroll *en = calloc(1, sizeof(*en));

	if (en == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	if (pthread_mutex_init(&en->decide, NULL) != 0) {
		free(en);
		return lerr_set(e, LERR_INTERNAL, "out of resources");
	}
	en->is = is;
	en->ca = ca;
	en->w = w;
	if (c != NULL)
		en->c = *c;
	if (en->c.monitor_s == 0)
		en->c.monitor_s = WINDOW_MONITOR_DEFAULT;
	if (en->c.pending_days == 0)
		en->c.pending_days = ENROLL_PENDING_DAYS;
	if (en->c.retry_after_s == 0)
		en->c.retry_after_s = ENROLL_RETRY_AFTER_S;
	*out = en;
	return 0;
}

void
enroll_free(struct enroll *en)
{
	if (en == NULL)
		return;
	pthread_mutex_destroy(&en->decide);
	free(en);
}

/* Appends an audit row; a failure is logged, never the caller's error. */
static void
enroll_audit(struct enroll *en, const char *actor, const char *event, const char *subject,
	     json_t *detail)
{
	char *text = detail != NULL ? json_dumps(detail, JSON_COMPACT) : NULL;
	struct lerr e;

	if (store_audit(en->is->store, actor, event, subject, text, &e) != 0)
		log_warn("cannot audit %s: %s", event, e.msg);
	free(text);
	json_decref(detail);
}

/* Fills res for an issued certificate row. */
static int
enroll_fill_issued(struct enroll *en, const struct store_cert *c, struct enroll_result *res,
		   struct lerr *e)
{
	res->outcome = ENROLL_ISSUED;
	hex_encode(c->serial, c->serial_len, res->serial);
	buf_free(&res->chain);
	buf_init(&res->chain, 64 * 1024);
	if (issue_chain_pem(c, en->ca, &res->chain) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot encode the certificate chain");
	return 0;
}

/* Issues for a recorded request (auth tells the audit who vouched). */
static int
enroll_issue(struct enroll *en, const struct store_request *rq, const char *actor,
	     const char *preauth_id, struct enroll_result *res, struct lerr *e)
{
	struct store_cert *cert = NULL;
	struct issue_req ir;
	int rc;

	memset(&ir, 0, sizeof(ir));
	ir.csr = rq->csr;
	ir.csr_len = rq->csr_len;
	ir.profile = POLICY_DEVICE;
	ir.actor = actor;
	ir.request_id = rq->id;
	ir.preauth_id = preauth_id;
	if (issue_cert(en->is, &ir, &cert, e) != 0)
		return -1;
	rc = enroll_fill_issued(en, cert, res, e);
	store_cert_free(cert);
	return rc;
}

/* The request's chain once issued: the newest certificate for its key. */
static int
enroll_issued_chain(struct enroll *en, const struct store_request *rq,
		    struct enroll_result *res, struct lerr *e)
{
	struct store_cert *cert = NULL;
	int rc;

	if (store_cert_by_key(en->is->store, rq->key_id, &cert, e) != 0)
		return -1;
	rc = enroll_fill_issued(en, cert, res, e);
	store_cert_free(cert);
	return rc;
}

/*
 * Name ownership: 1 (with why filled) when one of names is held by a
 * valid certificate of another device id, 0 when all are free, -1 on error.
 */
static int
enroll_names_taken(struct enroll *en, const char *device_id, const struct names *n,
		   char *why, size_t whylen, struct lerr *e)
{
	char name[NAMES_DNS_MAX + 8], ip[64], owner[65];
	int64_t now = time(NULL);
	size_t i;
	int r;

	for (i = 0; i < n->ndns + n->nip; i++) {
		if (i < n->ndns) {
			snprintf(name, sizeof(name), "DNS:%s", n->dns[i]);
		} else {
			if (ipnet_format(&n->ip[i - n->ndns], ip, sizeof(ip)) != 0)
				return lerr_set(e, LERR_INTERNAL, "cannot format an address");
			snprintf(name, sizeof(name), "IP:%s", ip);
		}
		r = store_name_owner(en->is->store, name, device_id, now, owner, e);
		if (r != 0) {
			if (r > 0)
				snprintf(why, whylen, "%s is held by device %s: an admin must decide",
					 name + (i < n->ndns ? 4 : 3), owner);
			return r;
		}
	}
	return 0;
}

json_t *
enroll_window_json(struct enroll *en)
{
	struct window_status st;

	enroll_window(en, &st);
	return json_pack("{s:s, s:I, s:I, s:I, s:i, s:i, s:I, s:i, s:b}",
			 "state", window_state_name(st.state),
			 "seconds_left", (json_int_t)st.seconds_left,
			 "opened_at", (json_int_t)st.opened_at, "ends_at", (json_int_t)st.ends_at,
			 "count", (int)st.count, "admitted", (int)st.admitted,
			 "overlap_since", (json_int_t)st.overlap_since,
			 "overlap_keys", (int)st.overlap_keys, "contested", st.contested);
}

/*
 * Conflicts an admin must settle: a name held by another device, or a new
 * key claiming a device id that holds a valid certificate under another
 * key (a reinstalled device, or an impostor: a device renews with its
 * current key over mTLS instead). 1 with why filled, 0 none, -1 error.
 */
static int
enroll_conflict(struct enroll *en, const struct csr *csr, const struct names *sans,
		char *why, size_t whylen, struct lerr *e)
{
	int r = store_device_holder(en->is->store, csr->cn, csr->key_id, time(NULL), e);

	if (r < 0)
		return -1;
	if (r > 0) {
		snprintf(why, whylen, "device %s already holds a certificate for another key: "
			 "renew with that certificate, or an admin must decide", csr->cn);
		return 1;
	}
	return enroll_names_taken(en, csr->cn, sans, why, whylen, e);
}

/* Persists the window's state for `lanca status` and audits an overlap. */
static void
enroll_window_changed(struct enroll *en, const char *actor, const struct window_decision *d)
{
	json_t *j;
	char *text;
	struct lerr e;

	if (en->w == NULL)
		return;
	j = enroll_window_json(en);
	text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text == NULL || store_setting_set(en->is->store, "window", text, &e) != 0)
		log_warn("cannot record the window state");
	free(text);
	json_decref(j);
	if (d != NULL && d->verdict == WINDOW_OVERLAPPED)
		enroll_audit(en, actor, "overlap", NULL,
			     json_pack("{s:i}", "keys", (int)d->overlap_keys));
}

/* Fetches the waiting set: distinct keys asking within the monitor time. */
struct enroll_waiting {
	char ids[ENROLL_WAITING_MAX][STORE_REQUEST_ID_LEN + 1];
	unsigned char keys[ENROLL_WAITING_MAX][32];
	struct window_waiting ww;
};

static int
enroll_get_waiting(struct enroll *en, int64_t now, struct enroll_waiting *wt, struct lerr *e)
{
	size_t n = 0;

	if (store_waiting(en->is->store, now - (int64_t)en->c.monitor_s, now, wt->ids, wt->keys,
			  ENROLL_WAITING_MAX, &n, e) != 0)
		return -1;
	/* Only what was filled is handed on; more keys than fit are still
	 * more than one, which is all the window needs to see overlap. */
	wt->ww.n = n < ENROLL_WAITING_MAX ? n : ENROLL_WAITING_MAX;
	wt->ww.keys = (const unsigned char (*)[32])wt->keys;
	wt->ww.ids = (const char (*)[WINDOW_ID_LEN + 1])wt->ids;
	return 0;
}

/* Every waiting request learns why it waits. */
static void
enroll_note_overlap(struct enroll *en, const struct enroll_waiting *wt)
{
	size_t i, n = wt->ww.n < ENROLL_WAITING_MAX ? wt->ww.n : ENROLL_WAITING_MAX;
	struct lerr e;

	for (i = 0; i < n; i++)
		if (store_request_note(en->is->store, wt->ids[i],
				       "session overlap: more than one device asked during the "
				       "onboarding window; an admin must decide", &e) != 0)
			log_warn("cannot note overlap on %s: %s", wt->ids[i], e.msg);
}

/* 0 when none of the request's names is another device's; -1 (e says
 * why) otherwise: such a request is never admitted without an admin. */
static int
enroll_names_free(struct enroll *en, const struct store_request *rq, struct lerr *e)
{
	struct csr *csr = NULL;
	struct names sans;
	char why[256];
	int r = -1;

	names_init(&sans);
	if (csr_parse_flags(rq->csr, rq->csr_len, CSR_PARSE_NO_VERIFY, &csr, e) != 0 ||
	    policy_names(en->is->policy, csr, POLICY_DEVICE, &sans, e) != 0)
		goto out;
	r = enroll_conflict(en, csr, &sans, why, sizeof(why), e);
	if (r > 0) {
		lerr_set(e, LERR_CONFLICT, "%s", why);
		r = -1;
	}
out:
	names_free(&sans);
	csr_free(csr);
	return r;
}

/* Issues an admitted request; on failure gives the admission back. */
static void
enroll_admit(struct enroll *en, const struct window_decision *d, const char *actor,
	     struct enroll_result *res_or_null)
{
	struct store_request *rq = NULL;
	struct enroll_result tmp;
	struct enroll_result *res = res_or_null != NULL ? res_or_null : &tmp;
	struct lerr e;

	if (res == &tmp)
		enroll_result_init(&tmp);
	if (store_request_get(en->is->store, d->admit_id, &rq, &e) != 0 ||
	    enroll_names_free(en, rq, &e) != 0 ||
	    enroll_issue(en, rq, actor, NULL, res, &e) != 0) {
		log_warn("admitted request %s could not be issued: %s", d->admit_id, e.msg);
		window_admission_failed(en->w, d->admit_key, time(NULL));
		if (rq != NULL)
			(void)store_request_note(en->is->store, rq->id, e.msg, &e);
		res->outcome = ENROLL_PENDING;
	}
	store_request_free(rq);
	if (res == &tmp)
		enroll_result_free(&tmp);
}

/* The window's part of a request without other authorisation. */
static void
enroll_window_decide(struct enroll *en, const struct store_request *rq, const char *actor,
		     struct enroll_result *res)
{
	struct enroll_waiting wt;
	struct window_decision d;
	size_t i;
	struct lerr e;
	int64_t now = time(NULL);

	if (en->w == NULL)
		return;
	pthread_mutex_lock(&en->decide);
	if (enroll_get_waiting(en, now, &wt, &e) != 0) {
		pthread_mutex_unlock(&en->decide);
		log_warn("cannot read the waiting keys: %s", e.msg);
		return;
	}
	window_request(en->w, rq->key_id, rq->id, &wt.ww, now, &d);
	pthread_mutex_unlock(&en->decide);
	switch (d.verdict) {
	case WINDOW_ADMIT:
		enroll_admit(en, &d, actor, res);
		break;
	case WINDOW_OVERLAPPED:
		enroll_note_overlap(en, &wt);
		break;
	case WINDOW_CONTESTED:
		for (i = 0; i < d.ncontest; i++)
			if (store_request_contest(en->is->store, d.contest_ids[i], actor, &e) != 0)
				log_warn("cannot mark %s contested: %s", d.contest_ids[i], e.msg);
		break;
	case WINDOW_WAIT:
		break;
	}
	if (d.changed || d.verdict == WINDOW_ADMIT)
		enroll_window_changed(en, actor, &d);
}

/* Parses the request and checks what can be checked before recording it. */
static int
enroll_check(struct enroll *en, const struct enroll_ask *a, struct csr **csr,
	     struct names *sans, struct lerr *e)
{
	char owner[65];
	int r;

	if (csr_parse(a->csr, a->csr_len, csr, e) != 0 ||
	    policy_names(en->is->policy, *csr, POLICY_DEVICE, sans, e) != 0)
		return -1;
	r = store_key_owner(en->is->store, (*csr)->key_id, (*csr)->cn, time(NULL), owner, e);
	if (r < 0)
		return -1;
	if (r > 0)
		return lerr_set(e, LERR_CONFLICT,
				"this key already holds a certificate for device %s", owner);
	return 0;
}

/* Who vouches for this device besides the button: "preauth", "vendor" or "none". */
static const char *
enroll_authority(struct enroll *en, const struct enroll_ask *a, const struct csr *csr,
		 int *vendor_pending, struct lerr *e)
{
	struct store_preauth *pa = NULL;
	struct vendor_match vm;
	int r;

	*vendor_pending = 0;
	r = preauth_check(en->is->store, csr->cn, a->secret, &pa, e);
	store_preauth_free(pa);
	if (r == 0)
		return "preauth";
	if (e->code != LERR_NONE && e->code != LERR_NOT_FOUND && e->code != LERR_CONFLICT)
		return NULL;	/* a wrong secret is an error, not "not listed" */
	lerr_clear(e);
	if (a->npeer > 0) {
		r = vendor_check_chain(en->is->store, a->peer, a->npeer, time(NULL), &vm, e);
		if (r < 0)
			return NULL;
		if (r == 0 && e->code != LERR_NONE)	/* a vendor's chain that failed: say why */
			log_info("factory certificate from %s not accepted: %s", a->source, e->msg);
		lerr_clear(e);
		/* A factory certificate vouches for its own device only. */
		if (r > 0 && strcmp(vm.leaf_cn, csr->cn) != 0) {
			log_info("factory certificate for %s used to ask for %s: not vouched for",
				 vm.leaf_cn, csr->cn);
			return "none";
		}
		if (r > 0 && vm.auto_register)
			return "vendor";
		if (r > 0)
			*vendor_pending = 1;
	}
	return "none";
}

int
enroll_submit(struct enroll *en, const struct enroll_ask *a, struct enroll_result *res,
	      struct lerr *e)
{
	struct store_request in, *rq = NULL;
	struct csr *csr = NULL;
	struct names sans;
	const char *auth;
	char actor[96];
	int created = 0, vendor_pending = 0, rc = -1, taken;
	int64_t now = time(NULL);

	names_init(&sans);
	res->retry_after = en->c.retry_after_s;
	snprintf(actor, sizeof(actor), "device %s", a->source != NULL ? a->source : "?");
	if (enroll_check(en, a, &csr, &sans, e) != 0)
		goto out;
	auth = enroll_authority(en, a, csr, &vendor_pending, e);
	if (auth == NULL)
		goto out;

	memset(&in, 0, sizeof(in));
	memcpy(in.key_id, csr->key_id, sizeof(in.key_id));
	snprintf(in.device_id, sizeof(in.device_id), "%s", csr->cn);
	in.csr = (unsigned char *)a->csr;
	in.csr_len = a->csr_len;
	snprintf(in.state, sizeof(in.state), "pending");
	snprintf(in.auth, sizeof(in.auth), "%s", auth);
	snprintf(in.source, sizeof(in.source), "%s", a->source != NULL ? a->source : "");
	in.created_at = now;
	in.last_seen = now;
	in.expires_at = now + (int64_t)en->c.pending_days * 86400;
	if (store_request_upsert(en->is->store, &in, &rq, &created, e) != 0)
		goto out;
	snprintf(res->request_id, sizeof(res->request_id), "%s", rq->id);

	if (strcmp(rq->state, "issued") == 0) {
		rc = enroll_issued_chain(en, rq, res, e);
		goto out;
	}
	res->outcome = ENROLL_PENDING;
	taken = enroll_conflict(en, csr, &sans, res->reason, sizeof(res->reason), e);
	if (taken < 0)
		goto out;
	if (taken > 0) {
		/* Never issued without an admin; the device is told why. */
		res->conflict = 1;
		(void)store_request_note(en->is->store, rq->id, res->reason, e);
		lerr_clear(e);
		rc = 0;
		goto out;
	}
	if (strcmp(auth, "none") != 0) {
		rc = enroll_issue(en, rq, actor, strcmp(auth, "preauth") == 0 ? csr->cn : NULL,
				  res, e);
		goto out;
	}
	if (vendor_pending) {
		snprintf(res->reason, sizeof(res->reason),
			 "factory certificate recognised; waiting for an admin or a press");
		(void)store_request_note(en->is->store, rq->id, res->reason, e);
		lerr_clear(e);
	}
	enroll_window_decide(en, rq, actor, res);
	if (res->outcome == ENROLL_PENDING && res->reason[0] == '\0') {
		struct store_request *now_rq = NULL;

		/* An overlap noted just now is the reason the device should see. */
		if (store_request_get(en->is->store, rq->id, &now_rq, e) == 0)
			snprintf(res->reason, sizeof(res->reason), "%s", now_rq->reason);
		store_request_free(now_rq);
		lerr_clear(e);
	}
	rc = 0;
out:
	(void)created;
	store_request_free(rq);
	names_free(&sans);
	csr_free(csr);
	return rc;
}

static int64_t
enroll_touch_every(const struct enroll *en)
{
	int64_t t = (int64_t)en->c.monitor_s / 4;

	return t < 1 ? 1 : t > 10 ? 10 : t;
}

int
enroll_poll(struct enroll *en, const char *id, struct enroll_result *res, struct lerr *e)
{
	struct store_request *rq = NULL;
	int64_t now = time(NULL);
	int rc = -1;

	if (store_request_get(en->is->store, id, &rq, e) != 0)
		goto out;
	snprintf(res->request_id, sizeof(res->request_id), "%s", rq->id);
	snprintf(res->reason, sizeof(res->reason), "%s", rq->reason);
	res->retry_after = en->c.retry_after_s;
	if (strcmp(rq->state, "issued") == 0) {
		rc = enroll_issued_chain(en, rq, res, e);
		goto out;
	}
	if (strcmp(rq->state, "denied") == 0) {
		res->outcome = ENROLL_DENIED;
	} else if (strcmp(rq->state, "expired") == 0 || rq->expires_at <= now) {
		res->outcome = ENROLL_EXPIRED;
	} else {
		res->outcome = ENROLL_PENDING;
		/* A poll keeps the key waiting, but is not a new ask. A write
		 * per poll would let a device wear the disk: the mark is
		 * refreshed at most every quarter of the monitor time. */
		if (now - rq->last_seen >= enroll_touch_every(en) &&
		    store_request_touch(en->is->store, rq->id, now, e) != 0)
			goto out;
	}
	rc = 0;
out:
	store_request_free(rq);
	return rc;
}

int
enroll_press(struct enroll *en, unsigned seconds, unsigned count, const char *actor,
	     struct lerr *e)
{
	struct enroll_waiting wt;
	struct window_decision d;
	int64_t now = time(NULL);
	int r;

	if (en->w == NULL)
		return lerr_set_http(e, LERR_INTERNAL, 503, "no onboarding window here");
	pthread_mutex_lock(&en->decide);
	if (enroll_get_waiting(en, now, &wt, e) != 0) {
		pthread_mutex_unlock(&en->decide);
		return -1;
	}
	r = window_press(en->w, seconds, count, &wt.ww, now, &d);
	pthread_mutex_unlock(&en->decide);
	if (r != 0)
		return lerr_set(e, LERR_BAD_REQUEST,
				"the window is 1 to %d seconds and admits 1 to %d devices",
				WINDOW_SECONDS_MAX, WINDOW_COUNT_MAX);
	enroll_audit(en, actor, "press", NULL,
		     json_pack("{s:i, s:i, s:i}", "seconds",
			       (int)(seconds ? seconds : WINDOW_SECONDS_DEFAULT),
			       "count", (int)(count ? count : 1), "waiting", (int)wt.ww.n));
	if (d.verdict == WINDOW_ADMIT)
		enroll_admit(en, &d, actor, NULL);
	else if (d.verdict == WINDOW_OVERLAPPED)
		enroll_note_overlap(en, &wt);
	enroll_window_changed(en, actor, &d);
	return 0;
}

int
enroll_approve(struct enroll *en, const char *id, const char *actor,
	       struct enroll_result *res, struct lerr *e)
{
	struct store_request *rq = NULL;
	int rc = -1;

	if (store_request_get(en->is->store, id, &rq, e) != 0)
		goto out;
	snprintf(res->request_id, sizeof(res->request_id), "%s", rq->id);
	if (strcmp(rq->state, "pending") != 0) {
		lerr_set(e, LERR_CONFLICT, "request %s is %s, not pending", rq->id, rq->state);
		goto out;
	}
	if (rq->expires_at <= time(NULL)) {
		lerr_set(e, LERR_EXPIRED, "request %s has expired", rq->id);
		goto out;
	}
	rc = enroll_issue(en, rq, actor, NULL, res, e);
	if (rc == 0)
		enroll_audit(en, actor, "approve", rq->device_id,
			     json_pack("{s:s, s:s}", "request", rq->id, "serial", res->serial));
out:
	store_request_free(rq);
	return rc;
}

int
enroll_deny(struct enroll *en, const char *id, const char *reason, const char *actor,
	    struct lerr *e)
{
	return store_request_deny(en->is->store, id,
				  reason != NULL && reason[0] != '\0' ? reason : "denied by an admin",
				  actor, e);
}

/* Checks the client's current certificate for renewal: ours, unrevoked,
 * unexpired (or within the grace period), for the same device id. */
static int
enroll_renew_check(struct enroll *en, gnutls_x509_crt_t peer, const struct csr *csr,
		   struct lerr *e)
{
	unsigned char serial[STORE_SERIAL_MAX + 4];
	size_t serial_len = sizeof(serial);
	gnutls_x509_crt_t chain[2];
	struct store_cert *cur = NULL;
	unsigned status = 0;
	int64_t now = time(NULL), grace = (int64_t)en->c.renew_grace_days * 86400;
	int rc = -1;

	chain[0] = en->ca->issuing;
	chain[1] = en->ca->root;
	/* Time is judged below, with the grace period; the rest by GnuTLS. */
	if (gnutls_x509_crt_verify(peer, chain, 2, GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
				   GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS, &status) < 0 ||
	    status != 0) {
		lerr_set(e, LERR_FORBIDDEN,
			 "the client certificate was not issued by this gateway");
		goto out;
	}
	if (gnutls_x509_crt_get_serial(peer, serial, &serial_len) < 0 ||
	    store_cert_by_serial(en->is->store, serial, serial_len, &cur, e) != 0) {
		lerr_set(e, LERR_FORBIDDEN, "the client certificate is not on record");
		goto out;
	}
	if (strcmp(cur->status, "valid") != 0) {
		lerr_set(e, LERR_FORBIDDEN, "the client certificate has been revoked");
		goto out;
	}
	if (cur->not_after + grace < now) {
		lerr_set(e, LERR_FORBIDDEN,
			 en->c.renew_grace_days > 0 ?
			 "the client certificate expired more than the grace period ago" :
			 "the client certificate has expired");
		goto out;
	}
	if (strcmp(cur->device_id, csr->cn) != 0) {
		lerr_set(e, LERR_FORBIDDEN,
			 "the request is for device %s but the client certificate is %s's",
			 csr->cn, cur->device_id);
		goto out;
	}
	rc = 0;
out:
	store_cert_free(cur);
	return rc;
}

int
enroll_renew(struct enroll *en, const struct enroll_ask *a, struct enroll_result *res,
	     struct lerr *e)
{
	struct store_cert *cert = NULL;
	struct csr *csr = NULL;
	struct names sans;
	struct issue_req ir;
	char actor[96], why[256];
	int rc = -1, taken;

	names_init(&sans);
	if (a->npeer == 0) {
		lerr_set(e, LERR_FORBIDDEN,
			 "renewal needs the current certificate as the TLS client certificate");
		goto out;
	}
	if (enroll_check(en, a, &csr, &sans, e) != 0 ||
	    enroll_renew_check(en, a->peer[0], csr, e) != 0)
		goto out;
	taken = enroll_names_taken(en, csr->cn, &sans, why, sizeof(why), e);
	if (taken != 0) {
		if (taken > 0)
			lerr_set(e, LERR_CONFLICT, "%s", why);
		goto out;
	}
	snprintf(actor, sizeof(actor), "renew %s", a->source != NULL ? a->source : "?");
	memset(&ir, 0, sizeof(ir));
	ir.csr = a->csr;
	ir.csr_len = a->csr_len;
	ir.profile = POLICY_DEVICE;
	ir.actor = actor;
	if (issue_cert(en->is, &ir, &cert, e) != 0)
		goto out;
	rc = enroll_fill_issued(en, cert, res, e);
out:
	store_cert_free(cert);
	names_free(&sans);
	csr_free(csr);
	return rc;
}

void
enroll_window(struct enroll *en, struct window_status *st)
{
	if (en->w == NULL) {
		memset(st, 0, sizeof(*st));
		st->state = WINDOW_CLOSED;
		return;
	}
	window_get_status(en->w, time(NULL), st);
}
