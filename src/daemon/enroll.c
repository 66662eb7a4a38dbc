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
#include <strings.h>
#include <time.h>
#include <jansson.h>
#include <gnutls/gnutls.h>

#include "common/hex.h"
#include "ca/csr.h"
#include "daemon/auditlog.h"
#include "daemon/enroll.h"
#include "common/log.h"
#include "ca/names.h"
#include "ca/policy.h"
#include "daemon/preauth.h"
#include "daemon/revocation.h"
#include "signer/signer.h"
#include "daemon/vendor.h"
#include "ca/x509.h"

#define ENROLL_WAITING_MAX	64

/* An audit row a decision on a shared window keeps until it ends. */
struct enroll_row {
	char *actor, *event, *subject, *detail;
};
#define ENROLL_DECISION_ROWS	4	/* the most one decision writes */

struct enroll {
	const struct issuer *is;
	const struct ca_set *ca;
	struct window *w;
	struct enroll_config c;
	/* Held from reading the waiting set to the window's decision, so a
	 * key recorded in between cannot go uncounted (with the site's lock
	 * on a store gateways share: enroll_decide_begin). */
	pthread_mutex_t decide;
	char *loaded;			/* under decide: the shared window as loaded */
	char *stored;			/* and the stored text it came from (NULL: none) */
	struct enroll_row *pend;	/* under decide: the decision's audit rows, kept */
	size_t npend;
	struct metric_counter tally[ENROLL_DOORS][2][ENROLL_TALLIES];	/* [door][renew][t] */
};

const char *
enroll_tally_str(enum enroll_tally t)
{
	static const char *const names[ENROLL_TALLIES] = {
		"issued", "pending", "denied", "expired", "refused", "error",
	};

	return (unsigned)t < ENROLL_TALLIES ? names[t] : "?";
}

uint64_t
enroll_tally_get(const struct enroll *en, enum store_door door, int renew, enum enroll_tally t)
{
	if (en == NULL || (unsigned)door >= ENROLL_DOORS || (unsigned)t >= ENROLL_TALLIES)
		return 0;
	return metric_counter_get(&en->tally[door][renew != 0][t]);
}

/* Counts one decision of enroll_submit (renew 0) or enroll_renew. */
static void
enroll_tally(struct enroll *en, const struct enroll_ask *a, int renew, int rc,
	     const struct enroll_result *res, const struct lerr *e)
{
	enum enroll_tally t;

	if (rc != 0)
		t = e != NULL && e->http >= 400 && e->http < 500 ? ENROLL_TALLY_REFUSED :
								    ENROLL_TALLY_ERROR;
	else if (res->outcome == ENROLL_ISSUED)
		t = ENROLL_TALLY_ISSUED;
	else if (res->outcome == ENROLL_DENIED)
		t = ENROLL_TALLY_DENIED;
	else if (res->outcome == ENROLL_EXPIRED)
		t = ENROLL_TALLY_EXPIRED;
	else
		t = ENROLL_TALLY_PENDING;
	if ((unsigned)a->door < ENROLL_DOORS)
		metric_counter_add(&en->tally[a->door][renew][t]);
}

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
	if ((en->pend = calloc(ENROLL_DECISION_ROWS, sizeof(*en->pend))) == NULL) {
		pthread_mutex_destroy(&en->decide);
		free(en);
		return lerr_set(e, LERR_INTERNAL, "out of memory");
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
	free(en->loaded);
	free(en->stored);
	free(en->pend);
	free(en);
}

/* Drops the rows a decision kept. Under en->decide. */
static void
enroll_pend_clear(struct enroll *en)
{
	size_t i;

	for (i = 0; i < en->npend; i++) {
		free(en->pend[i].actor);
		free(en->pend[i].event);
		free(en->pend[i].subject);
		free(en->pend[i].detail);
	}
	memset(en->pend, 0, ENROLL_DECISION_ROWS * sizeof(*en->pend));
	en->npend = 0;
}

/* ---- the window on a store gateways share ----
 * Then the window is the site's, not this gateway's: a press on one
 * gateway admits a device asking through another, once. Its state lives
 * in the store (the "window_state" setting); every decision takes the
 * site's lock besides en->decide, starts from the stored state and stores
 * what it leaves before letting go; every look reads it afresh. On a
 * store of its own the gateway's memory is the window, as always. */

#define ENROLL_WINDOW_KEY	"window_state"

/* Reads the stored window into en->w (a store without one: a closed
 * window), and its text into *stored (may be NULL; NULL when there is
 * none). Under en->decide. */
static int
enroll_window_load(struct enroll *en, char **stored, struct lerr *e)
{
	char *text = NULL;
	struct window closed;
	struct lerr why;

	if (store_setting_get(en->is->store, ENROLL_WINDOW_KEY, &text, &why) != 0) {
		if (why.code != LERR_NOT_FOUND) {
			if (e != NULL)
				*e = why;
			return -1;
		}
		memset(&closed, 0, sizeof(closed));
		closed.state = WINDOW_CLOSED;
		window_restore(en->w, &closed);
	} else if (window_import(en->w, text) != 0) {
		free(text);
		return lerr_set(e, LERR_STORE, "the stored onboarding window is not readable");
	}
	if (stored != NULL)
		*stored = text;
	else
		free(text);
	return 0;
}

/* A look at the window at a moment no decision is made: afresh from the
 * store when it is the site's. A failure is logged; the last state read
 * stands. */
static void
enroll_window_refresh(struct enroll *en)
{
	struct lerr e;

	if (en->w == NULL || !store_shared(en->is->store))
		return;
	/* A decision under way leaves the state current when it ends: a
	 * look does not wait for it (it may wait for the site's lock). */
	if (pthread_mutex_trylock(&en->decide) != 0)
		return;
	if (enroll_window_load(en, NULL, &e) != 0)
		log_warn("cannot read the site's onboarding window: %s", e.msg);
	pthread_mutex_unlock(&en->decide);
}

/* Begins a decision on the window: en->decide, and on a shared store the
 * site's lock and the stored state. 0, or -1 with e (nothing held). */
static int
enroll_decide_begin(struct enroll *en, struct lerr *e)
{
	pthread_mutex_lock(&en->decide);
	if (!store_shared(en->is->store))
		return 0;
	if (store_site_lock(en->is->store, e) != 0)
		goto fail;
	if (enroll_window_load(en, &en->stored, e) != 0)
		goto unlock;
	if ((en->loaded = window_export(en->w)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto unlock;
	}
	return 0;
unlock:
	free(en->stored);
	en->stored = NULL;
	store_site_unlock(en->is->store);
fail:
	pthread_mutex_unlock(&en->decide);
	return -1;
}

/* Ends it. On a shared store what the decision left is stored before the
 * site's lock goes, provided the stored state is still the one the
 * decision started from (a gateway whose hold on the site's lock was
 * lost with its connection must not overwrite another's decision); when
 * it cannot be, the decision is undone (the window is as it was read)
 * and the caller must not act on it: -1 with e. */
static int
enroll_decide_end(struct enroll *en, struct lerr *e)
{
	char *now_text;
	int rc = 0;

	if (store_shared(en->is->store)) {
		struct store_audit_new rows[ENROLL_DECISION_ROWS];
		size_t i;
		int changed;

		for (i = 0; i < en->npend; i++)
			rows[i] = (struct store_audit_new){ en->pend[i].actor, en->pend[i].event,
							    en->pend[i].subject, en->pend[i].detail };
		now_text = window_export(en->w);
		changed = now_text != NULL && strcmp(now_text, en->loaded) != 0;
		if (now_text == NULL)
			rc = lerr_set(e, LERR_INTERNAL, "out of memory");
		else if (changed || en->npend > 0)
			rc = store_setting_swap(en->is->store, ENROLL_WINDOW_KEY, en->stored,
						changed ? now_text : NULL, rows, en->npend, e);
		enroll_pend_clear(en);
		if (rc != 0 && window_import(en->w, en->loaded) != 0)
			log_err("cannot undo an onboarding window decision");
		free(now_text);
		free(en->loaded);
		en->loaded = NULL;
		free(en->stored);
		en->stored = NULL;
		store_site_unlock(en->is->store);
	}
	pthread_mutex_unlock(&en->decide);
	return rc;
}

/* The audit rows of one change, written together or not at all. */
#define ENROLL_ROWS_MAX	2

/* Appends n audit rows in one transaction (takes each detail's
 * reference; a NULL detail is none). 0, or -1 with e. */
static int
enroll_record_rows(struct enroll *en, const struct store_audit_new *rows, json_t *const *details,
		   size_t n, struct lerr *e)
{
	struct store_audit_new r[ENROLL_ROWS_MAX];
	char *text[ENROLL_ROWS_MAX] = { NULL };
	size_t i;
	int rc = 0;

	for (i = 0; i < n && i < ENROLL_ROWS_MAX; i++) {
		r[i] = rows[i];
		r[i].detail = text[i] = details[i] != NULL ? json_dumps(details[i], JSON_COMPACT) :
							       NULL;
		if (details[i] != NULL && text[i] == NULL)
			rc = lerr_set(e, LERR_INTERNAL, "out of memory");
	}
	if (rc == 0 && n > ENROLL_ROWS_MAX)
		rc = lerr_set(e, LERR_INTERNAL, "enroll_record_rows: too many rows");
	if (rc == 0)
		rc = store_audit_rows(en->is->store, r, n, e);
	for (i = 0; i < n && i < ENROLL_ROWS_MAX; i++) {
		free(text[i]);
		json_decref(details[i]);
	}
	return rc;
}

/* Appends an audit row (takes detail's reference). 0, or -1 with e. */
static int
enroll_record(struct enroll *en, const char *actor, const char *event, const char *subject,
	      json_t *detail, struct lerr *e)
{
	const struct store_audit_new row = { actor, event, subject, NULL };

	return enroll_record_rows(en, &row, &detail, 1, e);
}

/*
 * The audit rows of a decision on the window, under en->decide (takes
 * each detail's reference). On a store of its own they are written now,
 * as enroll_record_rows. On a store gateways share they are kept, and
 * enroll_decide_end commits them with the window's new state in one
 * transaction: the log never shows a decision whose state was not
 * stored, nor the reverse. 0, or -1 with e.
 */
static int
enroll_decision_rows(struct enroll *en, const struct store_audit_new *rows,
		     json_t *const *details, size_t n, struct lerr *e)
{
	struct enroll_row *r;
	size_t i, start = en->npend;
	int rc = 0;

	if (!store_shared(en->is->store))
		return enroll_record_rows(en, rows, details, n, e);
	for (i = 0; i < n; i++) {
		if (rc == 0 && en->npend == ENROLL_DECISION_ROWS)
			rc = lerr_set(e, LERR_INTERNAL, "enroll_decision_rows: too many rows");
		if (rc == 0) {
			r = &en->pend[en->npend];
			r->actor = strdup(rows[i].actor);
			r->event = strdup(rows[i].event);
			r->subject = rows[i].subject != NULL ? strdup(rows[i].subject) : NULL;
			r->detail = details[i] != NULL ? json_dumps(details[i], JSON_COMPACT) : NULL;
			en->npend++;
			if (r->actor == NULL || r->event == NULL ||
			    (rows[i].subject != NULL && r->subject == NULL) ||
			    (details[i] != NULL && r->detail == NULL))
				rc = lerr_set(e, LERR_INTERNAL, "out of memory");
		}
		json_decref(details[i]);
	}
	/* All of them or none: the caller undoes its decision. */
	while (rc != 0 && en->npend > start) {
		r = &en->pend[--en->npend];
		free(r->actor);
		free(r->event);
		free(r->subject);
		free(r->detail);
		memset(r, 0, sizeof(*r));
	}
	return rc;
}

static int
enroll_decision_row(struct enroll *en, const char *actor, const char *event, const char *subject,
		    json_t *detail, struct lerr *e)
{
	const struct store_audit_new row = { actor, event, subject, NULL };

	return enroll_decision_rows(en, &row, &detail, 1, e);
}

/* Appends an audit row about something that has happened already (an
 * issuance also known by another name): a failure is logged. */
static void
enroll_audit(struct enroll *en, const char *actor, const char *event, const char *subject,
	     json_t *detail)
{
	struct lerr e;

	if (enroll_record(en, actor, event, subject, detail, &e) != 0)
		log_warn("cannot audit %s: %s", event, e.msg);
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
	return issue_chain_pem(en->is->store, c, en->ca, &res->chain, e);
}

/* The decision's clock: read once per decision and passed down. */
static int64_t
enroll_now(const struct enroll *en)
{
	return (int64_t)(en->c.now != NULL ? en->c.now(en->c.now_arg) : time(NULL));
}


/* A parsed, policy-checked request: parsed once per decision and handed
 * to issue_cert() as it is. */
struct enroll_parse {
	struct csr *csr;
	struct names sans;
	struct buf names;		/* sans as names_format writes them, NUL-terminated */
};

static void
enroll_parse_init(struct enroll_parse *p)
{
	p->csr = NULL;
	names_init(&p->sans);
	buf_init(&p->names, 16 * 1024);
}

static void
enroll_parse_free(struct enroll_parse *p)
{
	csr_free(p->csr);
	p->csr = NULL;
	names_free(&p->sans);
	buf_free(&p->names);
}

/* 1 when a signer process signs (and verifies every request it signs
 * itself), 0 when the signing core runs in this process. */
static int
enroll_remote(const struct enroll *en)
{
	return signer_pid(en->is->signer) != 0;
}

/*
 * Parses bytes and checks its names for a device. With a signer process
 * the self-signature is not verified here: the signer verifies it before
 * it signs, and enroll_pop() asks it to before anything is recorded
 * without a signature. A signing core in this process signs this very
 * parse, so it is verified here then.
 */
static int
enroll_parse_as(struct enroll *en, enum policy_profile prof, const unsigned char *bytes,
		size_t len, struct enroll_parse *p, struct lerr *e)
{
	if (csr_parse_flags(bytes, len, (enroll_remote(en) ? CSR_PARSE_NO_VERIFY : 0) |
			    policy_csr_flags(prof), &p->csr, e) != 0 ||
	    policy_names(en->is->policy, p->csr, prof, &p->sans, e) != 0)
		return -1;
	if (names_format(&p->sans, &p->names) != 0 || buf_append(&p->names, "", 1) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot format names");
	return 0;
}

/* The device ids an ACME account's certificates are recorded under
 * (daemon/acme.h's ACME_DEVICE_PREFIX and an account id: 22 characters
 * of base64url): no device may claim one, so that no device door
 * (enroll, renew, EST) ever takes an account's names or renews its
 * certificates, which only a new order proves again. Other ids that
 * begin so ("acme-0001", a vendor's) are a device's like any other. */
#define ENROLL_ACME_PREFIX	"acme-"
#define ENROLL_ACME_ID_LEN	22

static int
enroll_acme_id(const char *cn)
{
	size_t i, n = strlen(ENROLL_ACME_PREFIX);

	if (strncasecmp(cn, ENROLL_ACME_PREFIX, n) != 0 || strlen(cn) != n + ENROLL_ACME_ID_LEN)
		return 0;
	for (i = n; cn[i] != '\0'; i++)
		if (!((cn[i] >= 'A' && cn[i] <= 'Z') || (cn[i] >= 'a' && cn[i] <= 'z') ||
		      (cn[i] >= '0' && cn[i] <= '9') || cn[i] == '-' || cn[i] == '_'))
			return 0;
	return 1;
}

static int
enroll_parse(struct enroll *en, const unsigned char *bytes, size_t len,
	     struct enroll_parse *p, struct lerr *e)
{
	if (enroll_parse_as(en, POLICY_DEVICE, bytes, len, p, e) != 0)
		return -1;
	if (enroll_acme_id(p->csr->cn))
		return lerr_set(e, LERR_BAD_NAME, "device id %s is an ACME account's: an ACME "
				"certificate is renewed by a new ACME order", p->csr->cn);
	return 0;
}

/*
 * Proof of possession before a request is recorded under its key's
 * identity (a pending request, a refresh of one): the signer process
 * verifies the bytes and remembers them, so the issuance that may follow
 * does not verify them again. Without one, enroll_parse verified them.
 */
static int
enroll_pop(struct enroll *en, const unsigned char *bytes, size_t len, struct lerr *e)
{
	if (!enroll_remote(en))
		return 0;
	return signer_verify(en->is->signer, bytes, len, e);
}

/* The store's snapshot for the parsed request at now. */
static int
enroll_read(struct enroll *en, const struct enroll_parse *p, int want_vendors, int64_t now,
	    struct store_onboard *v, struct lerr *e)
{
	memset(v, 0, sizeof(*v));
	v->key_id = p->csr->key_id;
	v->device_id = p->csr->cn;
	v->names = (const char *)p->names.data;
	v->now = now;
	v->want_vendors = want_vendors;
	return store_onboard_read(en->is->store, v, e);
}

/*
 * Conflicts an admin must settle: a new key claiming a device id that
 * holds a valid certificate under another key (a reinstalled device, or
 * an impostor: a device renews with its current key over mTLS instead),
 * when check_device, or a name held by another device. 1 with why
 * filled, 0 none.
 */
static int
enroll_conflict(const struct csr *csr, const struct store_onboard *v, int check_device,
		char *why, size_t whylen)
{
	const char *name;

	if (check_device && v->device_held) {
		snprintf(why, whylen, "device %s already holds a certificate for another key: "
			 "renew with that certificate, or an admin must decide", csr->cn);
		return 1;
	}
	if (v->name[0] != '\0') {
		name = strchr(v->name, ':');	/* "DNS:x" or "IP:a.b.c.d": the name after its kind */
		/* A long name is cut short in the message, never in the decision. */
		if (snprintf(why, whylen, "%s is held by device %s: an admin must decide",
			     name != NULL ? name + 1 : v->name, v->name_owner) < 0)
			why[0] = '\0';
		return 1;
	}
	return 0;
}

/* Issues for a recorded request from its parse (preauth_id: the
 * pre-authorisation consumed with it, may be NULL); or, with record, for
 * that new request, recorded in the certificate's transaction. address:
 * where the device last asked from (the request's source). */
static int
enroll_issue(struct enroll *en, const char *request_id, const struct store_request *record,
	     const unsigned char *bytes, size_t len, const struct enroll_parse *p,
	     const char *actor, const char *address, const char *preauth_id, int64_t now,
	     struct enroll_result *res, struct lerr *e)
{
	struct store_cert *cert = NULL;
	struct issue_req ir;
	int rc;

	memset(&ir, 0, sizeof(ir));
	ir.csr = bytes;
	ir.csr_len = len;
	ir.parsed = p->csr;
	ir.sans = &p->sans;
	ir.profile = POLICY_DEVICE;
	ir.actor = actor;
	ir.address = address;
	ir.request_id = request_id;
	ir.record = record;
	ir.preauth_id = preauth_id;
	ir.exclusive = 1;
	ir.now = now;
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

static json_t *
enroll_window_json_at(struct enroll *en, int64_t now)
{
	struct window_status st;

	if (en->w == NULL) {
		memset(&st, 0, sizeof(st));
		st.state = WINDOW_CLOSED;
	} else {
		window_get_status(en->w, now, &st);
	}
	return json_pack("{s:s, s:I, s:I, s:I, s:i, s:i, s:I, s:i, s:b}",
			 "state", window_state_name(st.state),
			 "seconds_left", (json_int_t)st.seconds_left,
			 "opened_at", (json_int_t)st.opened_at, "ends_at", (json_int_t)st.ends_at,
			 "count", (int)st.count, "admitted", (int)st.admitted,
			 "overlap_since", (json_int_t)st.overlap_since,
			 "overlap_keys", (int)st.overlap_keys, "contested", st.contested);
}

/* Persists the window's state for `lanca status` (a copy for reading:
 * the decisions and their audit rows are recorded before it). */
static void
enroll_window_changed(struct enroll *en, int64_t now)
{
	json_t *j;
	char *text;
	struct lerr e;

	if (en->w == NULL)
		return;
	j = enroll_window_json_at(en, now);
	text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text == NULL || store_setting_set(en->is->store, "window", text, &e) != 0)
		log_warn("cannot record the window state");
	free(text);
	json_decref(j);
}

/*
 * The window's end by time, recorded: when the open window's time has run
 * out at now, its "window-closed" row is written, then the window closes.
 * A row that cannot be written leaves the window open in its state (it
 * decides as closed all the same: time cannot be refused) for the next
 * look to try again, so the end is on record once, written by whoever saw
 * it first. Called with en->decide held, so that no press comes between
 * the row and the close. 1 when it closed the window, 0 when there was
 * nothing to close, -1 with e.
 */
static int
enroll_settle_locked(struct enroll *en, int64_t now, struct lerr *e)
{
	struct window_end end;

	if (en->w == NULL || !window_due(en->w, now, &end))
		return 0;
	if (enroll_decision_row(en, AUDITLOG_ACTOR, "window-closed", NULL,
			  json_pack("{s:s, s:I, s:I, s:i, s:i}",
				    "result", end.admitted > 0 ? "issued" : "nothing",
				    "opened_at", (json_int_t)end.opened_at,
				    "ends_at", (json_int_t)end.ends_at,
				    "count", (int)end.count, "admitted", (int)end.admitted),
			  e) != 0)
		return -1;
	return window_close(en->w, &end);
}

/* enroll_settle_locked for a look without the decision lock (a tick, a
 * status read); a failure is logged. */
static void
enroll_settle(struct enroll *en, int64_t now)
{
	struct window_end end;
	struct lerr e;
	int r;

	/* The usual look, at a window that is not due, waits for no lock a
	 * decision may hold. */
	enroll_window_refresh(en);
	if (en->w == NULL || !window_due(en->w, now, &end))
		return;
	if (enroll_decide_begin(en, &e) != 0) {
		log_err("cannot record the end of the onboarding window (tried again at the next "
			"look): %s", e.msg);
		return;
	}
	r = enroll_settle_locked(en, now, &e);
	if (r >= 0 && enroll_decide_end(en, &e) != 0)
		r = -1;
	else if (r < 0)
		(void)enroll_decide_end(en, NULL);
	if (r < 0)
		log_err("cannot record the end of the onboarding window (tried again at the next "
			"look): %s", e.msg);
	else if (r > 0)
		enroll_window_changed(en, now);
}

void
enroll_tick(struct enroll *en)
{
	if (en != NULL)
		enroll_settle(en, enroll_now(en));
}

/* The window at now, its end by time recorded first if due. */
static void
enroll_window_at(struct enroll *en, int64_t now, struct window_status *st)
{
	if (en->w == NULL) {
		memset(st, 0, sizeof(*st));
		st->state = WINDOW_CLOSED;
		return;
	}
	enroll_settle(en, now);
	window_get_status(en->w, now, st);
}

/* Whether a press window is open at now (never without a window). */
static int
enroll_window_open(struct enroll *en, int64_t now)
{
	struct window_status st;

	enroll_window_at(en, now, &st);
	return st.state == WINDOW_OPEN;
}

json_t *
enroll_window_json(struct enroll *en)
{
	int64_t now = enroll_now(en);

	enroll_settle(en, now);
	return enroll_window_json_at(en, now);
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

#define ENROLL_OVERLAP_NOTE \
	"session overlap: more than one device asked during the onboarding window; " \
	"an admin must decide"
#define ENROLL_VENDOR_NOTE \
	"factory certificate recognised; waiting for an admin or a press"

/* Every waiting request learns why it waits. */
static void
enroll_note_overlap(struct enroll *en, const struct enroll_waiting *wt)
{
	size_t i, n = wt->ww.n < ENROLL_WAITING_MAX ? wt->ww.n : ENROLL_WAITING_MAX;
	struct lerr e;

	for (i = 0; i < n; i++)
		if (store_request_note(en->is->store, wt->ids[i], ENROLL_OVERLAP_NOTE, &e) != 0)
			log_warn("cannot note overlap on %s: %s", wt->ids[i], e.msg);
}

const char *
enroll_request_via(const struct store_request *rq)
{
	/* A request nobody vouched for says why it waits in its note, which
	 * only this file writes. */
	if (rq->auth == STORE_AUTH_NONE) {
		if (strcmp(rq->reason, ENROLL_OVERLAP_NOTE) == 0)
			return "window";
		if (strcmp(rq->reason, ENROLL_VENDOR_NOTE) == 0)
			return "vendor";
	}
	return store_auth_str(rq->auth);
}

/* Gives an admission back (its certificate could not be issued after
 * all), which may reopen the window: a decision like a press. A failure
 * is logged: the admission stays spent until the window ends. */
static void
enroll_admission_failed(struct enroll *en, const unsigned char key[32], int64_t now,
			struct lerr *e)
{
	if (enroll_decide_begin(en, e) != 0) {
		log_err("cannot give an admission back to the onboarding window: %s", e->msg);
		return;
	}
	window_admission_failed(en->w, key, now);
	if (enroll_decide_end(en, e) != 0)
		log_err("cannot give an admission back to the onboarding window: %s", e->msg);
}

/*
 * Issues the request the window admitted. self is the asker's own request
 * (with its bytes and parse), whose conflicts the caller checked on its
 * snapshot; any other admitted request (a press admits one that waited)
 * is read, parsed and checked here. On failure the admission is given
 * back and the request notes why.
 */
static void
enroll_admit(struct enroll *en, const struct window_decision *d, const char *actor,
	     int64_t now, const struct store_request *self, const unsigned char *self_bytes,
	     size_t self_len, const struct enroll_parse *self_parse,
	     struct enroll_result *res_or_null)
{
	struct store_request *rq = NULL;
	struct store_onboard v;
	struct enroll_parse own;
	struct enroll_result tmp;
	struct enroll_result *res = res_or_null != NULL ? res_or_null : &tmp;
	char why[256];
	struct lerr e;
	int rc = -1;

	memset(&v, 0, sizeof(v));
	enroll_parse_init(&own);
	lerr_clear(&e);
	if (res == &tmp)
		enroll_result_init(&tmp);
	if (self != NULL && strcmp(self->id, d->admit_id) == 0) {
		rc = enroll_issue(en, self->id, NULL, self_bytes, self_len, self_parse, actor,
				  self->source, NULL, now, res, &e);
		goto out;
	}
	if (store_request_get(en->is->store, d->admit_id, &rq, &e) != 0 ||
	    enroll_parse(en, rq->csr, rq->csr_len, &own, &e) != 0 ||
	    enroll_read(en, &own, 0, now, &v, &e) != 0)
		goto out;
	if (v.key_owner[0] != '\0') {
		lerr_set(&e, LERR_CONFLICT, "this key already holds a certificate for device %s",
			 v.key_owner);
		goto out;
	}
	if (enroll_conflict(own.csr, &v, 1, why, sizeof(why)) != 0) {
		lerr_set(&e, LERR_CONFLICT, "%s", why);
		goto out;
	}
	if (v.device_revoked) {
		lerr_set(&e, LERR_CONFLICT, "device %s had its certificate revoked: an admin "
			 "must decide", own.csr->cn);
		goto out;
	}
	rc = enroll_issue(en, rq->id, NULL, rq->csr, rq->csr_len, &own, actor, rq->source, NULL,
			  now, res, &e);
out:
	if (rc != 0) {
		struct lerr ne;

		log_warn("admitted request %s could not be issued: %s", d->admit_id, e.msg);
		enroll_admission_failed(en, d->admit_key, now, &ne);
		(void)store_request_note(en->is->store, d->admit_id, e.msg, &ne);
		res->outcome = ENROLL_PENDING;
		/* The device is told why, as the note says on its next poll. */
		snprintf(res->reason, sizeof(res->reason), "%s", e.msg);
	}
	store_onboard_clear(&v);
	enroll_parse_free(&own);
	store_request_free(rq);
	if (res == &tmp)
		enroll_result_free(&tmp);
}

/* Another key asked after the press's last admission: each admission of
 * that press is contested, a device's request marked so, an ACME
 * account (whose id is not a request's) audited. */
static void
enroll_contest(struct enroll *en, const struct window_decision *d, const char *actor)
{
	struct lerr e;
	size_t i;

	for (i = 0; i < d->ncontest; i++) {
		if (strlen(d->contest_ids[i]) != STORE_REQUEST_ID_LEN) {
			enroll_audit(en, actor, "contested", d->contest_ids[i],
				     json_pack("{s:s}", "acme_account", d->contest_ids[i]));
			continue;
		}
		if (store_request_contest(en->is->store, d->contest_ids[i], actor, &e) != 0)
			log_warn("cannot mark %s contested: %s", d->contest_ids[i], e.msg);
	}
}

/* The window's part of a request without other authorisation; an overlap
 * becomes the reason the device is told. */
static void
enroll_window_decide(struct enroll *en, const struct store_request *rq,
		     const unsigned char *bytes, size_t len, const struct enroll_parse *p,
		     const char *actor, int64_t now, struct enroll_result *res)
{
	struct enroll_waiting wt;
	struct window_decision d;
	struct window saved;
	struct lerr e;
	int settled;

	if (en->w == NULL)
		return;
	wt.ww.n = 0;
	if (enroll_decide_begin(en, &e) != 0) {
		log_err("cannot reach the onboarding window: %s", e.msg);
		return;
	}
	/* A window whose time ran out is recorded as ended by this look; if
	 * it cannot be, it decides as closed all the same. */
	settled = enroll_settle_locked(en, now, &e);
	if (settled < 0)
		log_err("cannot record the end of the onboarding window: %s", e.msg);
	/* Only an open window looks at who else is waiting (overlap): ask
	 * without the waiting set first, and read it only when the window
	 * says it is open. The ordinary ask, outside any window, costs no
	 * second read of the store. */
	window_request(en->w, rq->key_id, rq->id, NULL, now, &d);
	if (d.verdict == WINDOW_NEED_WAITING) {
		if (enroll_get_waiting(en, now, &wt, &e) != 0) {
			(void)enroll_decide_end(en, NULL);
			log_warn("cannot read the waiting keys: %s", e.msg);
			return;
		}
		window_save(en->w, &saved);
		window_request(en->w, rq->key_id, rq->id, &wt.ww, now, &d);
		/* An overlap closes the window until the next press: on
		 * record before it counts, or it did not happen (the request
		 * waits, the window stays as it was). */
		if (d.verdict == WINDOW_OVERLAPPED &&
		    enroll_decision_row(en, actor, "overlap", NULL,
				  json_pack("{s:i}", "keys", (int)d.overlap_keys), &e) != 0) {
			window_restore(en->w, &saved);
			(void)enroll_decide_end(en, NULL);
			log_err("cannot record an overlap, so it was not entered: %s", e.msg);
			return;
		}
	}
	if (enroll_decide_end(en, &e) != 0) {
		log_err("cannot store the site's onboarding window, so its decision was "
			"undone: %s", e.msg);
		return;
	}
	switch (d.verdict) {
	case WINDOW_ADMIT:
		enroll_admit(en, &d, actor, now, rq, bytes, len, p, res);
		break;
	case WINDOW_OVERLAPPED:
		enroll_note_overlap(en, &wt);
		if (res->reason[0] == '\0')
			snprintf(res->reason, sizeof(res->reason), "%s", ENROLL_OVERLAP_NOTE);
		break;
	case WINDOW_CONTESTED:
		enroll_contest(en, &d, actor);
		break;
	case WINDOW_WAIT:
	case WINDOW_NEED_WAITING:	/* not after a call with the waiting set */
		break;
	}
	if (d.changed || d.verdict == WINDOW_ADMIT || settled > 0)
		enroll_window_changed(en, now);
}

int
enroll_window_account(struct enroll *en, const unsigned char key[32], const char *id,
		      const char *actor, struct lerr *e)
{
	struct enroll_waiting wt;
	struct window_decision d;
	struct window saved;
	int settled, rc = 0;
	int64_t now = enroll_now(en);

	if (en->w == NULL)
		return 0;
	wt.ww.n = 0;
	if (enroll_decide_begin(en, e) != 0)
		return -1;
	settled = enroll_settle_locked(en, now, e);
	if (settled < 0)
		log_err("cannot record the end of the onboarding window: %s", e->msg);
	window_request(en->w, key, id, NULL, now, &d);
	if (d.verdict == WINDOW_NEED_WAITING) {
		if (enroll_get_waiting(en, now, &wt, e) != 0) {
			(void)enroll_decide_end(en, NULL);
			return -1;
		}
		/* The account asks now: it is waiting too, beside the devices. */
		if (wt.ww.n < ENROLL_WAITING_MAX) {
			memcpy(wt.keys[wt.ww.n], key, 32);
			snprintf(wt.ids[wt.ww.n], sizeof(wt.ids[wt.ww.n]), "%s", id);
			wt.ww.n++;
		}
		window_save(en->w, &saved);
		window_request(en->w, key, id, &wt.ww, now, &d);
		if (d.verdict == WINDOW_OVERLAPPED &&
		    enroll_decision_row(en, actor, "overlap", NULL,
				  json_pack("{s:i}", "keys", (int)d.overlap_keys), e) != 0) {
			window_restore(en->w, &saved);
			(void)enroll_decide_end(en, NULL);
			return -1;
		}
	}
	if (enroll_decide_end(en, e) != 0)
		return -1;
	if (d.verdict == WINDOW_OVERLAPPED)
		enroll_note_overlap(en, &wt);
	rc = d.verdict == WINDOW_ADMIT;
	if (d.verdict == WINDOW_CONTESTED)
		enroll_contest(en, &d, actor);
	if (d.changed || rc || settled > 0)
		enroll_window_changed(en, now);
	return rc;
}

void
enroll_window_account_failed(struct enroll *en, const unsigned char key[32])
{
	struct lerr e;

	if (en->w == NULL)
		return;
	enroll_admission_failed(en, key, enroll_now(en), &e);
}

/*
 * Who vouches for this device besides the button, judged on the
 * snapshot: *auth is STORE_AUTH_PREAUTH, STORE_AUTH_VENDOR or
 * STORE_AUTH_NONE (*vendor_pending set when a factory certificate of a
 * vendor without auto-registration was recognised). 0, or -1 with e (a
 * wrong pre-authorisation secret is an error, not "not listed").
 */
static int
enroll_authority(const struct enroll_ask *a, const struct csr *csr,
		 const struct store_onboard *v, int64_t now, enum store_auth *auth,
		 int *vendor_pending, struct lerr *e)
{
	struct vendor_match vm;
	int r;

	*vendor_pending = 0;
	*auth = STORE_AUTH_NONE;
	if (preauth_check_row(v->preauth, csr->cn, a->secret, e) == 0) {
		*auth = STORE_AUTH_PREAUTH;
		return 0;
	}
	if (e->code != LERR_NONE && e->code != LERR_NOT_FOUND && e->code != LERR_CONFLICT)
		return -1;
	lerr_clear(e);
	if (a->npeer == 0)
		return 0;
	r = vendor_check_chain_rows(v->vendors, v->nvendors, a->peer, a->npeer, (time_t)now,
				    &vm, e);
	if (r < 0)
		return -1;
	if (r == 0 && e->code != LERR_NONE)	/* a vendor's chain that failed: say why */
		log_info("factory certificate from %s not accepted: %s", a->source, e->msg);
	lerr_clear(e);
	if (r == 0)
		return 0;
	/* A factory certificate vouches for its own device only. */
	if (strcmp(vm.leaf_cn, csr->cn) != 0) {
		log_info("factory certificate for %s used to ask for %s: not vouched for",
			 vm.leaf_cn, csr->cn);
		return 0;
	}
	if (vm.auto_register)
		*auth = STORE_AUTH_VENDOR;
	else
		*vendor_pending = 1;
	return 0;
}

/*
 * One decision: the request is parsed and checked once, everything the
 * decision needs is read in one snapshot, the request (with the note it
 * gets) is recorded in one writer job, and a certificate, when there is
 * one, is committed by issue_cert() before the device sees it.
 */
int
enroll_submit(struct enroll *en, const struct enroll_ask *a, struct enroll_result *res,
	      struct lerr *e)
{
	struct store_request in, *rq = NULL;
	struct store_onboard v;
	struct enroll_parse p;
	enum store_auth auth;
	struct lerr ae;
	char actor[96];
	int vendor_pending = 0, rc = -1;
	int64_t now = enroll_now(en);

	memset(&v, 0, sizeof(v));
	enroll_parse_init(&p);
	res->retry_after = en->c.retry_after_s;
	snprintf(actor, sizeof(actor), "device %s", a->source != NULL ? a->source : "?");
	if (enroll_parse(en, a->csr, a->csr_len, &p, e) != 0 ||
	    enroll_read(en, &p, a->npeer > 0, now, &v, e) != 0)
		goto out;
	if (v.key_owner[0] != '\0') {
		lerr_set(e, LERR_CONFLICT, "this key already holds a certificate for device %s",
			 v.key_owner);
		goto out;
	}
	if (enroll_authority(a, p.csr, &v, now, &auth, &vendor_pending, e) != 0) {
		/* A wrong secret is a guess until shown otherwise: on record,
		 * or not answered as one (the caller counts it either way). */
		if (e->code == LERR_BAD_SECRET && a->secret != NULL) {
			res->wrong_secret = 1;
			if (enroll_record(en, actor, "preauth_secret_wrong", p.csr->cn, NULL,
					  &ae) != 0)
				auditlog_unwritable(e, &ae);
		}
		goto out;
	}
	res->auth = auth;

	memset(&in, 0, sizeof(in));
	memcpy(in.key_id, p.csr->key_id, sizeof(in.key_id));
	snprintf(in.device_id, sizeof(in.device_id), "%s", p.csr->cn);
	in.csr = (unsigned char *)a->csr;
	in.csr_len = a->csr_len;
	in.state = STORE_REQ_PENDING;
	in.auth = auth;
	in.door = a->door;
	snprintf(in.source, sizeof(in.source), "%s", a->source != NULL ? a->source : "");
	in.created_at = now;
	in.last_seen = now;
	in.expires_at = now + (int64_t)en->c.pending_days * 86400;
	if (v.cert == NULL) {
		/* Never issued without an admin; the device is told why. */
		res->conflict = enroll_conflict(p.csr, &v, 1, res->reason, sizeof(res->reason));
		/* A device id whose certificate was revoked is not the button's
		 * (nor counted in an overlap: store_waiting leaves it out). */
		if (!res->conflict && auth == STORE_AUTH_NONE && v.device_revoked) {
			res->conflict = 1;
			snprintf(res->reason, sizeof(res->reason), "device %s had its certificate "
				 "revoked: an admin must decide", p.csr->cn);
		}
		if (!res->conflict && auth == STORE_AUTH_NONE && vendor_pending)
			snprintf(res->reason, sizeof(res->reason), "%s", ENROLL_VENDOR_NOTE);
		snprintf(in.reason, sizeof(in.reason), "%s", res->reason);
	}
	if (a->no_wait && (res->conflict || v.request != NULL ||
			   (auth == STORE_AUTH_NONE && !enroll_window_open(en, now)))) {
		lerr_set(e, LERR_FORBIDDEN, "%s", res->conflict ? res->reason :
			 "this needs a decision at once: press the button or pre-authorise "
			 "the device (nothing was recorded)");
		goto out;
	}
	if (v.request == NULL && !res->conflict && auth != STORE_AUTH_NONE) {
		/* Decided at once, with nothing recorded for the key yet: the
		 * request is recorded with its certificate, in one commit, and
		 * the signer verifies the signature once, as it signs. */
		store_request_new_id(now, in.id);
		snprintf(res->request_id, sizeof(res->request_id), "%s", in.id);
		res->outcome = ENROLL_PENDING;
		rc = enroll_issue(en, in.id, &in, a->csr, a->csr_len, &p, actor, a->source,
				  auth == STORE_AUTH_PREAUTH ? p.csr->cn : NULL, now, res, e);
		goto out;
	}
	if (enroll_pop(en, a->csr, a->csr_len, e) != 0 ||
	    store_request_upsert(en->is->store, &in, &rq, NULL, e) != 0)
		goto out;
	snprintf(res->request_id, sizeof(res->request_id), "%s", rq->id);

	if (rq->state == STORE_REQ_ISSUED) {
		/* Asked again: the certificate it has, as the snapshot read it
		 * (or, issued in between, as it is now). */
		if (v.cert != NULL && v.request != NULL && strcmp(v.request->id, rq->id) == 0)
			rc = enroll_fill_issued(en, v.cert, res, e);
		else
			rc = enroll_issued_chain(en, rq, res, e);
		goto out;
	}
	res->outcome = ENROLL_PENDING;
	if (res->conflict) {
		rc = 0;
		goto out;
	}
	if (auth != STORE_AUTH_NONE) {
		rc = enroll_issue(en, rq->id, NULL, a->csr, a->csr_len, &p, actor, a->source,
				  auth == STORE_AUTH_PREAUTH ? p.csr->cn : NULL, now, res, e);
		goto out;
	}
	enroll_window_decide(en, rq, a->csr, a->csr_len, &p, actor, now, res);
	if (res->outcome == ENROLL_PENDING && a->no_wait) {
		/* The window did not admit it after all (another device came
		 * first): nobody could collect it later, so it goes now. */
		if (enroll_deny(en, rq->id, "the device could not wait for a decision", actor,
				e) != 0)
			log_warn("cannot withdraw request %s, which nobody can collect: %s",
				 rq->id, e->msg);
		lerr_set(e, LERR_FORBIDDEN, "the onboarding window did not admit this device%s%s; "
			 "the request was withdrawn", res->reason[0] ? ": " : "", res->reason);
		goto out;
	}
	if (res->outcome == ENROLL_PENDING && res->reason[0] == '\0')
		snprintf(res->reason, sizeof(res->reason), "%s", rq->reason);
	rc = 0;
out:
	enroll_tally(en, a, 0, rc, res, e);
	if (rc == 0 && res->outcome == ENROLL_ISSUED && a->audit_event != NULL)
		enroll_audit(en, actor, a->audit_event, p.csr != NULL ? p.csr->cn : NULL,
			     json_pack("{s:s}", "serial", res->serial));
	store_request_free(rq);
	store_onboard_clear(&v);
	enroll_parse_free(&p);
	return rc;
}

/* 1 if a request's CN names one of the proven names (RFC 8555 7.4). */
static int
enroll_cn_proven(const char *cn, const struct names *proven)
{
	struct ipnet ip;

	return ipnet_parse(cn, &ip) == 0 ? names_has_ip(proven, &ip) : names_has_dns(proven, cn);
}

int
enroll_order(struct enroll *en, const struct enroll_order_ask *a, struct enroll_result *res,
	     struct lerr *e)
{
	struct store_cert *cert = NULL;
	struct store_onboard v;
	struct enroll_parse p;
	struct issue_req ir;
	char actor[96], why[256];
	int rc = -1;
	int64_t now = enroll_now(en);

	memset(&v, 0, sizeof(v));
	enroll_parse_init(&p);
	snprintf(actor, sizeof(actor), "acme %s", a->source != NULL ? a->source : "?");
	if (enroll_parse_as(en, POLICY_SERVER, a->csr, a->csr_len, &p, e) != 0)
		goto out;
	/* RFC 8555 section 7.4: the very names the order proved, no more
	 * and no fewer; a CN, when there is one, is one of them. */
	if (!names_same(&p.sans, a->proven)) {
		lerr_set(e, LERR_BAD_CSR, "the request's names (%s) are not the order's "
			 "identifiers", (const char *)p.names.data);
		goto out;
	}
	if (p.csr->cn_given && !enroll_cn_proven(p.csr->cn, a->proven)) {
		lerr_set(e, LERR_BAD_CSR, "the request's subject CN %s is not one of the order's "
			 "identifiers", p.csr->cn);
		goto out;
	}
	/* The account is the device whose names these are. */
	v.key_id = p.csr->key_id;
	v.device_id = a->device_id;
	v.names = (const char *)p.names.data;
	v.now = now;
	if (store_onboard_read(en->is->store, &v, e) != 0)
		goto out;
	if (v.key_owner[0] != '\0' && strcmp(v.key_owner, a->device_id) != 0) {
		lerr_set(e, LERR_BAD_CSR, "this key already holds a certificate for device %s: "
			 "make a new key", v.key_owner);
		goto out;
	}
	/* store_onboard_read names another device's name only: the rule
	 * every door keeps, refused here since an order cannot wait. */
	if (enroll_conflict(p.csr, &v, 0, why, sizeof(why)) != 0) {
		lerr_set(e, LERR_FORBIDDEN, "%s", why);
		goto out;
	}
	memset(&ir, 0, sizeof(ir));
	ir.csr = a->csr;
	ir.csr_len = a->csr_len;
	ir.parsed = p.csr;
	ir.sans = &p.sans;
	ir.profile = POLICY_SERVER;
	ir.device_id = a->device_id;
	ir.actor = actor;
	/* No address for the LAN's DNS: the client that ordered (an admin's
	 * host, a proxy) is not always the server the names are for. */
	ir.address = NULL;
	ir.exclusive = 1;
	ir.now = now;
	if (issue_cert(en->is, &ir, &cert, e) != 0)
		goto out;
	rc = enroll_fill_issued(en, cert, res, e);
out:
	store_cert_free(cert);
	store_onboard_clear(&v);
	enroll_parse_free(&p);
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
	int64_t now = enroll_now(en);
	int rc = -1;

	if (store_request_get(en->is->store, id, &rq, e) != 0)
		goto out;
	snprintf(res->request_id, sizeof(res->request_id), "%s", rq->id);
	snprintf(res->reason, sizeof(res->reason), "%s", rq->reason);
	res->retry_after = en->c.retry_after_s;
	switch (rq->state) {
	case STORE_REQ_ISSUED:
		rc = enroll_issued_chain(en, rq, res, e);
		goto out;
	case STORE_REQ_DENIED:
		res->outcome = ENROLL_DENIED;
		break;
	case STORE_REQ_EXPIRED:
		res->outcome = ENROLL_EXPIRED;
		break;
	case STORE_REQ_PENDING:
	case STORE_REQ_ANY:
		if (rq->expires_at <= now) {
			res->outcome = ENROLL_EXPIRED;
			break;
		}
		res->outcome = ENROLL_PENDING;
		/* A poll keeps the key waiting, but is not a new ask. A write
		 * per poll would let a device wear the disk: the mark is
		 * refreshed at most every quarter of the monitor time. */
		if (now - rq->last_seen >= enroll_touch_every(en) &&
		    store_request_touch(en->is->store, rq->id, now, e) != 0)
			goto out;
		break;
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
	struct window saved;
	struct store_audit_new rows[2] = {
		{ actor, "press", NULL, NULL }, { actor, "overlap", NULL, NULL },
	};
	json_t *details[2];
	int64_t now = enroll_now(en);
	int r;

	if (en->w == NULL)
		return lerr_set_http(e, LERR_INTERNAL, 503, "no onboarding window here");
	if (enroll_decide_begin(en, e) != 0)
		return -1;
	/* The window this press replaces ended by time first: on record
	 * before the press, or no press. */
	if (enroll_settle_locked(en, now, e) < 0 || enroll_get_waiting(en, now, &wt, e) != 0) {
		(void)enroll_decide_end(en, NULL);
		return -1;
	}
	window_save(en->w, &saved);
	r = window_press(en->w, seconds, count, &wt.ww, now, &d);
	if (r != 0) {
		(void)enroll_decide_end(en, NULL);
		return lerr_set(e, LERR_BAD_REQUEST,
				"the window is 1 to %d seconds and admits 1 to %d devices",
				WINDOW_SECONDS_MAX, WINDOW_COUNT_MAX);
	}
	/* The press and what it decided (an overlap with its own row) are
	 * on record, in one transaction, before anything acts on them; a
	 * press that cannot be recorded (a full disk) is undone and refused,
	 * under the same lock, so no decision saw it. */
	details[0] = json_pack("{s:i, s:i, s:i, s:s}", "seconds",
			       (int)(seconds ? seconds : WINDOW_SECONDS_DEFAULT),
			       "count", (int)(count ? count : 1), "waiting", (int)wt.ww.n,
			       "result", d.verdict == WINDOW_ADMIT ? "admit" :
					 d.verdict == WINDOW_OVERLAPPED ? "overlap" : "open");
	details[1] = d.verdict == WINDOW_OVERLAPPED ?
		     json_pack("{s:i}", "keys", (int)d.overlap_keys) : NULL;
	if (enroll_decision_rows(en, rows, details, d.verdict == WINDOW_OVERLAPPED ? 2 : 1,
			       e) != 0) {
		window_restore(en->w, &saved);
		(void)enroll_decide_end(en, NULL);
		return -1;
	}
	if (enroll_decide_end(en, e) != 0)
		return -1;
	if (d.verdict == WINDOW_ADMIT)
		enroll_admit(en, &d, actor, now, NULL, NULL, 0, NULL, NULL);
	else if (d.verdict == WINDOW_OVERLAPPED)
		enroll_note_overlap(en, &wt);
	enroll_window_changed(en, now);
	return 0;
}

int
enroll_approve(struct enroll *en, const char *id, const char *actor,
	       struct enroll_result *res, struct lerr *e)
{
	struct store_request *rq = NULL;
	struct store_cert *cert = NULL;
	struct issue_req ir;
	int64_t now = enroll_now(en);
	int rc = -1;

	if (store_request_get(en->is->store, id, &rq, e) != 0)
		goto out;
	snprintf(res->request_id, sizeof(res->request_id), "%s", rq->id);
	if (rq->state != STORE_REQ_PENDING) {
		lerr_set(e, LERR_CONFLICT, "request %s is %s, not pending", rq->id,
			 store_req_state_str(rq->state));
		goto out;
	}
	if (rq->expires_at <= now) {
		lerr_set(e, LERR_EXPIRED, "request %s has expired", rq->id);
		goto out;
	}
	/* The admin decides over conflicts: no snapshot to read, and
	 * issue_cert() parses the stored request itself, once. */
	memset(&ir, 0, sizeof(ir));
	ir.csr = rq->csr;
	ir.csr_len = rq->csr_len;
	ir.profile = POLICY_DEVICE;
	ir.actor = actor;
	ir.address = rq->source;
	ir.now = now;
	ir.request_id = rq->id;
	ir.approved = 1;
	if (issue_cert(en->is, &ir, &cert, e) != 0 || enroll_fill_issued(en, cert, res, e) != 0)
		goto out;
	rc = 0;
out:
	store_cert_free(cert);
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

/* Whether peer verifies under the issuing CA of row ca_id (an older
 * generation's, after a rollover, or another gateway's of the site) and
 * that CA was not revoked. 0, or -1 with e (forbidden) saying which. */
static int
enroll_older_ca(struct enroll *en, gnutls_x509_crt_t peer, int64_t ca_id, struct lerr *e)
{
	struct store_ca *row = NULL;
	gnutls_x509_crt_t ca = NULL;
	unsigned status = 0;
	struct lerr why;
	int rc = -1;

	if (store_ca_get(en->is->store, ca_id, &row, &why) != 0 && why.code != LERR_NOT_FOUND) {
		*e = why;
		return -1;
	}
	if (row == NULL || strcmp(row->role, "issuing") != 0 ||
	    x509_import(row->der, row->der_len, &ca, &why) != 0 ||
	    gnutls_x509_crt_verify(peer, &ca, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
				   GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS, &status) < 0 ||
	    status != 0) {
		lerr_set(e, LERR_FORBIDDEN, "the client certificate was not issued by this site");
		goto out;
	}
	if (row->revoked_at != 0) {
		lerr_set(e, LERR_FORBIDDEN, "the client certificate's issuing CA was revoked (a "
			 "compromise): enroll again");
		goto out;
	}
	rc = 0;
out:
	if (ca != NULL)
		gnutls_x509_crt_deinit(ca);
	store_ca_free(row);
	return rc;
}

/* Checks the client's current certificate for renewal at now: ours (the
 * very bytes on record, under the active issuing CA or, after a
 * rollover, an older one that was not revoked), unrevoked, unexpired (or
 * within the grace period), for the same device id. serial receives its
 * serial (*serial_len bytes). */
static int
enroll_renew_check(struct enroll *en, gnutls_x509_crt_t peer, const struct csr *csr,
		   int64_t now, unsigned char serial[STORE_SERIAL_MAX + 4], size_t *serial_len,
		   struct lerr *e)
{
	gnutls_x509_crt_t chain[2];
	gnutls_datum_t der = { NULL, 0 };
	struct store_cert *cur = NULL;
	unsigned status = 0;
	int64_t grace = (int64_t)en->c.renew_grace_days * 86400;
	int active, rc = -1;

	chain[0] = en->ca->issuing;
	chain[1] = en->ca->root;
	/* Time is judged below, with the grace period; the rest by GnuTLS. */
	active = gnutls_x509_crt_verify(peer, chain, 2, GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
					GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS, &status) >= 0 &&
		 status == 0;
	*serial_len = STORE_SERIAL_MAX + 4;
	if (gnutls_x509_crt_get_serial(peer, serial, serial_len) < 0 ||
	    store_cert_by_serial(en->is->store, serial, *serial_len, &cur, e) != 0) {
		lerr_set(e, LERR_FORBIDDEN, active ? "the client certificate is not on record" :
			 "the client certificate was not issued by this gateway");
		goto out;
	}
	if (!active && (cur->ca_id == en->is->ca_id ||
			enroll_older_ca(en, peer, cur->ca_id, e) != 0)) {
		if (cur->ca_id == en->is->ca_id)
			lerr_set(e, LERR_FORBIDDEN,
				 "the client certificate was not issued by this gateway");
		goto out;
	}
	/* The bytes issued, not another certificate with their serial (one
	 * made with a stolen CA key, say). */
	if (gnutls_x509_crt_export2(peer, GNUTLS_X509_FMT_DER, &der) < 0 ||
	    der.size != cur->der_len || memcmp(der.data, cur->der, der.size) != 0) {
		lerr_set(e, LERR_FORBIDDEN, "the client certificate is not the one on record");
		goto out;
	}
	if (cur->status != STORE_CERT_VALID) {
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
	gnutls_free(der.data);
	store_cert_free(cur);
	return rc;
}

int
enroll_renew(struct enroll *en, const struct enroll_ask *a, struct enroll_result *res,
	     struct lerr *e)
{
	struct store_cert *cert = NULL;
	struct store_onboard v;
	struct enroll_parse p;
	struct issue_req ir;
	struct lerr ce;
	unsigned char old[STORE_SERIAL_MAX + 4];
	size_t old_len = 0;
	char actor[96], why[256];
	int64_t now = enroll_now(en);
	int rc = -1;

	memset(&v, 0, sizeof(v));
	enroll_parse_init(&p);
	if (a->npeer == 0) {
		lerr_set(e, LERR_FORBIDDEN,
			 "renewal needs the current certificate as the TLS client certificate");
		goto out;
	}
	if (enroll_parse(en, a->csr, a->csr_len, &p, e) != 0 ||
	    enroll_read(en, &p, 0, now, &v, e) != 0)
		goto out;
	if (v.key_owner[0] != '\0') {
		lerr_set(e, LERR_CONFLICT, "this key already holds a certificate for device %s",
			 v.key_owner);
		goto out;
	}
	if (enroll_renew_check(en, a->peer[0], p.csr, now, old, &old_len, e) != 0)
		goto out;
	/* The device renews its own certificate: holding one under another
	 * key is the point, only other devices' names conflict. */
	if (enroll_conflict(p.csr, &v, 0, why, sizeof(why)) != 0) {
		lerr_set(e, LERR_CONFLICT, "%s", why);
		goto out;
	}
	snprintf(actor, sizeof(actor), "renew %s", a->source != NULL ? a->source : "?");
	memset(&ir, 0, sizeof(ir));
	ir.csr = a->csr;
	ir.csr_len = a->csr_len;
	ir.parsed = p.csr;
	ir.sans = &p.sans;
	ir.profile = POLICY_DEVICE;
	ir.actor = actor;
	ir.address = a->source;
	ir.exclusive = 1;
	ir.now = now;
	ir.supersedes = old;
	ir.supersedes_len = old_len;
	if (issue_cert(en->is, &ir, &cert, e) != 0)
		goto out;
	rc = enroll_fill_issued(en, cert, res, e);
	/* The new certificate is the device's either way: a CRL that could
	 * not be made now is made on the daemon's next tick. */
	if (rc == 0 && en->c.revocation != NULL &&
	    revocation_crl_make(en->c.revocation, actor, NULL, &ce) != 0)
		log_err("renewed %s, but no CRL lists the certificate it replaced yet: %s",
			p.csr->cn, ce.msg);
out:
	enroll_tally(en, a, 1, rc, res, e);
	store_cert_free(cert);
	store_onboard_clear(&v);
	enroll_parse_free(&p);
	return rc;
}

void
enroll_window(struct enroll *en, struct window_status *st)
{
	enroll_window_at(en, enroll_now(en), st);
}
