/*
 * test_enroll.c - the onboarding decisions (daemon/enroll.c) over a real
 * store in a temporary CA and an in-process signer, with a fake clock:
 * SPEC.md's onboarding table (press with 0, 1 and 2 keys waiting,
 * admissions while the window is open, --count, contested, overlap, a key
 * asking again, pre-authorised and vendor devices, name ownership, the
 * monitor period and the expiry of pending requests). Each case checks
 * the outcome and the rows the store holds afterwards.
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <sqlite3.h>

#include "ca/csr.h"
#include "ca/keystore.h"
#include "ca/policy.h"
#include "daemon/enroll.h"
#include "daemon/preauth.h"
#include "daemon/vendor.h"
#include "ca/x509.h"
#include "signer/signer.h"
#include "store/store.h"
#include "fixture.h"

#ifndef TEST_SRCDIR
#define TEST_SRCDIR "."
#endif

/* One world per test (Check forks each test). */
static struct {
	struct fx_issuer x;		/* store, CAs, policy, the signing core */
	struct window w;
	struct enroll *en;
	time_t now;			/* the fake clock */
} t;

static time_t
fake_now(void *arg)
{
	return *(time_t *)arg;
}

static void
setup(void)
{
	struct enroll_config c;
	struct lerr e;

	fx_make_ca();
	fx_issuer_open(&t.x, FX_LOCAL_SIGNER);
	window_init(&t.w);
	/* Now, so that the certificates the signer makes (on the real
	 * clock) are valid at the fake one; tests move it forward. */
	t.now = time(NULL);
	memset(&c, 0, sizeof(c));
	c.monitor_s = 120;
	c.pending_days = 7;
	c.now = fake_now;
	c.now_arg = &t.now;
	ck_assert_int_eq(enroll_new(&t.x.is, &t.x.ca, &t.w, &c, &t.en, &e), 0);
}

static void
teardown(void)
{
	enroll_free(t.en);
	window_destroy(&t.w);
	fx_issuer_close(&t.x);
	fx_remove_ca();
}

/* ---- devices ---- */

struct dev {
	gnutls_x509_privkey_t key;
	gnutls_datum_t der;		/* its request */
	char cn[65];
};

/* A request for cn with the DNS names in ap, signed by d->key. */
static void
dev_request(struct dev *d, const char *cn, va_list ap)
{
	gnutls_x509_crq_t crq = NULL;
	const char *dns;

	snprintf(d->cn, sizeof(d->cn), "%s", cn);
	ck_assert_int_eq(gnutls_x509_crq_init(&crq), 0);
	ck_assert_int_eq(gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
						       strlen(cn)), 0);
	while ((dns = va_arg(ap, const char *)) != NULL)
		ck_assert_int_eq(gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME, dns,
								      strlen(dns),
								      GNUTLS_FSAN_APPEND), 0);
	ck_assert_int_eq(gnutls_x509_crq_set_key(crq, d->key), 0);
	ck_assert_int_eq(gnutls_x509_crq_sign2(crq, d->key, GNUTLS_DIG_SHA256, 0), 0);
	gnutls_free(d->der.data);
	d->der.data = NULL;
	ck_assert_int_eq(gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, &d->der), 0);
	gnutls_x509_crq_deinit(crq);
}

/* A new device: a new key and its request for cn with the DNS names
 * given (NULL ends the list). */
static void
dev_make(struct dev *d, const char *cn, ...)
{
	struct lerr e;
	va_list ap;

	memset(d, 0, sizeof(*d));
	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &d->key, &e), 0);
	va_start(ap, cn);
	dev_request(d, cn, ap);
	va_end(ap);
}

/* The same key asks for cn (and names) instead. */
static void
dev_rename(struct dev *d, const char *cn, ...)
{
	va_list ap;

	va_start(ap, cn);
	dev_request(d, cn, ap);
	va_end(ap);
}

static void
dev_free(struct dev *d)
{
	gnutls_free(d->der.data);
	d->der.data = NULL;
	if (d->key != NULL)
		gnutls_x509_privkey_deinit(d->key);
	d->key = NULL;
}

/* d asks (secret and a peer chain optional); rc of enroll_submit. */
static int
ask_with(const struct dev *d, const char *secret, const gnutls_x509_crt_t *peer,
	 unsigned npeer, struct enroll_result *r, struct lerr *e)
{
	struct enroll_ask a;

	memset(&a, 0, sizeof(a));
	a.csr = d->der.data;
	a.csr_len = d->der.size;
	a.source = "192.0.2.1";
	a.secret = secret;
	a.peer = peer;
	a.npeer = npeer;
	enroll_result_free(r);
	enroll_result_init(r);
	lerr_clear(e);
	return enroll_submit(t.en, &a, r, e);
}

/* d asks with nothing but its request; returns the outcome. */
static enum enroll_outcome
ask(const struct dev *d, struct enroll_result *r)
{
	struct lerr e;

	if (ask_with(d, NULL, NULL, 0, r, &e) != 0)
		ck_abort_msg("enroll_submit(%s): %s", d->cn, e.msg);
	return r->outcome;
}

static void
press(unsigned seconds, unsigned count)
{
	struct lerr e;

	if (enroll_press(t.en, seconds, count, "unit", &e) != 0)
		ck_abort_msg("enroll_press: %s", e.msg);
}

static enum enroll_outcome
poll_id(const char *id, struct enroll_result *r)
{
	struct lerr e;

	enroll_result_free(r);
	enroll_result_init(r);
	if (enroll_poll(t.en, id, r, &e) != 0)
		ck_abort_msg("enroll_poll(%s): %s", id, e.msg);
	return r->outcome;
}

/* ---- the store's rows, read with SQL of the test's own ---- */

static int64_t
q_int(const char *fmt, ...)
{
	char sql[1024];
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	ck_assert_int_eq(sqlite3_open_v2(t.x.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static struct store_request *
req_row(const char *id)
{
	struct store_request *rq = NULL;
	struct lerr e;

	if (store_request_get(t.x.store, id, &rq, &e) != 0)
		ck_abort_msg("no request %s: %s", id, e.msg);
	return rq;
}

static void
assert_state(const char *id, enum store_req_state st, int contested)
{
	struct store_request *rq = req_row(id);

	ck_assert_str_eq(store_req_state_str(rq->state), store_req_state_str(st));
	ck_assert_int_eq(rq->contested, contested);
	store_request_free(rq);
}

/* Device certificates (the gateway's own excluded). */
static int64_t
device_certs(void)
{
	return q_int("SELECT count(*) FROM certificates WHERE profile = 'device'");
}

/* ---- the window ---- */

/* A press with nobody waiting opens the window; the next key that asks is
 * issued at once, and its request records it. */
START_TEST(test_press_none_waiting)
{
	struct enroll_result r;
	struct window_status ws;
	struct dev a;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", "dev-a.local", NULL);
	press(0, 0);
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_OPEN);
	ck_assert_int_eq(ask(&a, &r), ENROLL_ISSUED);
	ck_assert_uint_gt(r.chain.len, 0);
	assert_state(r.request_id, STORE_REQ_ISSUED, 0);
	ck_assert_int_eq(device_certs(), 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM certificates c JOIN requests r "
			       "ON r.cert_id = c.id WHERE r.id = '%s'", r.request_id), 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'press'"), 1);
	/* The one admission closed the window. */
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_CLOSED);
	enroll_result_free(&r);
	dev_free(&a);
}
END_TEST

/* Runs sql on the store's file with a connection of the test's own. */
static void
q_exec(const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	ck_assert_int_eq(sqlite3_open_v2(t.x.db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		ck_abort_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* A press whose audit row cannot be written (as on a full disk) is
 * refused and changes nothing: the window stays closed, the waiting key
 * is not admitted. Once the row can be written, the same press works. */
START_TEST(test_press_unrecorded_refused)
{
	struct enroll_result r;
	struct window_status ws;
	char id[STORE_REQUEST_ID_LEN + 1];
	struct lerr e;
	struct dev a;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", NULL);
	ck_assert_int_eq(ask(&a, &r), ENROLL_PENDING);
	snprintf(id, sizeof(id), "%s", r.request_id);
	q_exec("CREATE TRIGGER test_no_press BEFORE INSERT ON audit WHEN NEW.event = 'press' "
	       "BEGIN SELECT RAISE(ABORT, 'disk full'); END");
	t.now += 10;
	ck_assert_int_eq(enroll_press(t.en, 0, 0, "unit", &e), -1);
	ck_assert_msg(strstr(e.msg, "disk full") != NULL, "%s", e.msg);
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_CLOSED);
	assert_state(id, STORE_REQ_PENDING, 0);
	ck_assert_int_eq(device_certs(), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'press'"), 0);

	q_exec("DROP TRIGGER test_no_press");
	press(0, 0);
	assert_state(id, STORE_REQ_ISSUED, 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'press' AND "
			       "json_extract(detail, '$.result') = 'admit'"), 1);
	enroll_result_free(&r);
	dev_free(&a);
}
END_TEST

#define CLOSED_ROWS "SELECT count(*) FROM audit WHERE event = 'window-closed'"

/* A window whose time runs out is one "window-closed" row, written by
 * whatever looks first (the tick, a device asking), once: "nothing" when
 * it admitted nobody, "issued" when it admitted fewer than its count. A
 * window its count filled closed with its last issue: no row of its own. */
START_TEST(test_window_closed_by_time)
{
	char id[STORE_REQUEST_ID_LEN + 1];
	struct enroll_result r;
	struct window_status ws;
	struct dev a, b, c;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", NULL);
	dev_make(&b, "dev-b", NULL);
	dev_make(&c, "dev-c", NULL);
	press(30, 0);
	t.now += 29;
	enroll_tick(t.en);
	ck_assert_int_eq(q_int(CLOSED_ROWS), 0);
	t.now += 1;
	enroll_tick(t.en);
	enroll_tick(t.en);
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_CLOSED);
	ck_assert_int_eq(q_int(CLOSED_ROWS " AND actor = 'lanca' AND subject IS NULL AND "
			       "json_extract(detail, '$.result') = 'nothing' AND "
			       "json_extract(detail, '$.admitted') = 0 AND "
			       "json_extract(detail, '$.count') = 1 AND "
			       "json_extract(detail, '$.ends_at') = %lld", (long long)t.now), 1);

	/* count 2, one admitted: the device asking after the end sees it. */
	press(30, 2);
	ck_assert_int_eq(ask(&a, &r), ENROLL_ISSUED);
	t.now += 31;
	ck_assert_int_eq(ask(&b, &r), ENROLL_PENDING);
	ck_assert_int_eq(device_certs(), 1);
	ck_assert_int_eq(q_int(CLOSED_ROWS " AND json_extract(detail, '$.result') = 'issued' AND "
			       "json_extract(detail, '$.admitted') = 1 AND "
			       "json_extract(detail, '$.count') = 2"), 1);
	enroll_tick(t.en);
	enroll_window(t.en, &ws);
	ck_assert_int_eq(q_int(CLOSED_ROWS), 2);

	/* Filled by its count: the issue was its end. */
	snprintf(id, sizeof(id), "%s", r.request_id);
	press(30, 1);
	ck_assert_int_eq(poll_id(id, &r), ENROLL_ISSUED);	/* b, waiting */
	t.now += 31;
	enroll_tick(t.en);
	ck_assert_int_eq(ask(&c, &r), ENROLL_PENDING);
	ck_assert_int_eq(q_int(CLOSED_ROWS), 2);
	enroll_result_free(&r);
	dev_free(&a);
	dev_free(&b);
	dev_free(&c);
}
END_TEST

/* The end by time when its row cannot be written: the window decides as
 * closed (nobody is admitted after its time), but the end is not entered;
 * a press cannot replace it either. Once the row can be written the next
 * look records it, before the next press's row. */
START_TEST(test_window_closed_unrecorded)
{
	char id[STORE_REQUEST_ID_LEN + 1];
	struct enroll_result r;
	struct window_status ws;
	struct lerr e;
	struct dev a;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", NULL);
	press(30, 0);
	q_exec("CREATE TRIGGER test_no_close BEFORE INSERT ON audit "
	       "WHEN NEW.event = 'window-closed' BEGIN SELECT RAISE(ABORT, 'disk full'); END");
	t.now += 30;
	enroll_tick(t.en);
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_CLOSED);
	ck_assert_int_eq(ask(&a, &r), ENROLL_PENDING);
	ck_assert_int_eq(device_certs(), 0);
	ck_assert_int_eq(enroll_press(t.en, 0, 0, "unit", &e), -1);
	ck_assert_msg(strstr(e.msg, "disk full") != NULL, "%s", e.msg);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'press'"), 1);
	ck_assert_int_eq(q_int(CLOSED_ROWS), 0);

	q_exec("DROP TRIGGER test_no_close");
	t.now += 1;
	snprintf(id, sizeof(id), "%s", r.request_id);
	press(0, 0);
	ck_assert_int_eq(poll_id(id, &r), ENROLL_ISSUED);
	ck_assert_int_eq(q_int(CLOSED_ROWS " AND json_extract(detail, '$.result') = 'nothing' "
			       "AND id < (SELECT max(id) FROM audit WHERE event = 'press')"), 1);
	t.now += 500;
	enroll_tick(t.en);
	ck_assert_int_eq(q_int(CLOSED_ROWS), 1);	/* the second window was filled */
	enroll_result_free(&r);
	dev_free(&a);
}
END_TEST

/* A press that finds two keys waiting enters overlap with its "press" and
 * "overlap" rows together: when the overlap row cannot be written, the
 * press is refused and nothing changed; then both rows, one after the
 * other. */
START_TEST(test_press_overlap_unrecorded)
{
	struct enroll_result r;
	struct window_status ws;
	struct lerr e;
	struct dev a, b;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", NULL);
	dev_make(&b, "dev-b", NULL);
	ck_assert_int_eq(ask(&a, &r), ENROLL_PENDING);
	ck_assert_int_eq(ask(&b, &r), ENROLL_PENDING);
	q_exec("CREATE TRIGGER test_no_overlap BEFORE INSERT ON audit "
	       "WHEN NEW.event = 'overlap' BEGIN SELECT RAISE(ABORT, 'disk full'); END");
	ck_assert_int_eq(enroll_press(t.en, 0, 0, "unit", &e), -1);
	ck_assert_msg(strstr(e.msg, "disk full") != NULL, "%s", e.msg);
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_CLOSED);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event IN ('press', 'overlap')"), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM requests WHERE reason LIKE "
			       "'session overlap%%'"), 0);

	q_exec("DROP TRIGGER test_no_overlap");
	press(0, 0);
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_OVERLAP);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit p JOIN audit o ON o.id = p.id + 1 "
			       "WHERE p.event = 'press' AND "
			       "json_extract(p.detail, '$.result') = 'overlap' AND "
			       "o.event = 'overlap' AND json_extract(o.detail, '$.keys') = 2"), 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'overlap'"), 1);
	enroll_result_free(&r);
	dev_free(&a);
	dev_free(&b);
}
END_TEST

/* An approval is recorded with its certificate or not at all: when its
 * "approve" row cannot be written, no certificate is issued and the
 * request still waits; once it can, the row names the request and the
 * serial the certificate has. */
START_TEST(test_approve_unrecorded_refused)
{
	struct enroll_result r;
	char id[STORE_REQUEST_ID_LEN + 1];
	struct lerr e;
	struct dev a;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", NULL);
	ck_assert_int_eq(ask(&a, &r), ENROLL_PENDING);
	snprintf(id, sizeof(id), "%s", r.request_id);
	q_exec("CREATE TRIGGER test_no_approve BEFORE INSERT ON audit WHEN NEW.event = 'approve' "
	       "BEGIN SELECT RAISE(ABORT, 'disk full'); END");
	ck_assert_int_eq(enroll_approve(t.en, id, "admin", &r, &e), -1);
	ck_assert_msg(strstr(e.msg, "disk full") != NULL, "%s", e.msg);
	assert_state(id, STORE_REQ_PENDING, 0);
	ck_assert_int_eq(device_certs(), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'issue' AND subject = 'dev-a'"), 0);

	q_exec("DROP TRIGGER test_no_approve");
	ck_assert_int_eq(enroll_approve(t.en, id, "admin", &r, &e), 0);
	ck_assert_int_eq(r.outcome, ENROLL_ISSUED);
	assert_state(id, STORE_REQ_ISSUED, 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit a JOIN certificates c "
			       "ON json_extract(a.detail, '$.serial') = lower(hex(c.serial)) "
			       "WHERE a.event = 'approve' AND a.actor = 'admin' AND "
			       "json_extract(a.detail, '$.request') = c.request_id"), 1);
	enroll_result_free(&r);
	dev_free(&a);
}
END_TEST

/* Asking with no window: pending, nothing issued; a press with exactly
 * that key waiting admits it, and its poll gets the chain. */
START_TEST(test_press_one_waiting)
{
	struct enroll_result r;
	char id[STORE_REQUEST_ID_LEN + 1];
	struct dev a;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", NULL);
	ck_assert_int_eq(ask(&a, &r), ENROLL_PENDING);
	snprintf(id, sizeof(id), "%s", r.request_id);
	assert_state(id, STORE_REQ_PENDING, 0);
	ck_assert_int_eq(device_certs(), 0);
	t.now += 30;
	press(0, 0);
	assert_state(id, STORE_REQ_ISSUED, 0);
	ck_assert_int_eq(poll_id(id, &r), ENROLL_ISSUED);
	ck_assert_uint_gt(r.chain.len, 0);
	ck_assert_int_eq(device_certs(), 1);
	enroll_result_free(&r);
	dev_free(&a);
}
END_TEST

/* Two keys waiting at the press: overlap. Nothing is issued, both wait
 * with the reason, the window says overlap until the next press. */
START_TEST(test_press_two_waiting)
{
	struct enroll_result r;
	char ida[STORE_REQUEST_ID_LEN + 1], idb[STORE_REQUEST_ID_LEN + 1];
	struct window_status ws;
	struct store_request *rq;
	struct dev a, b;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", NULL);
	dev_make(&b, "dev-b", NULL);
	ck_assert_int_eq(ask(&a, &r), ENROLL_PENDING);
	snprintf(ida, sizeof(ida), "%s", r.request_id);
	rq = req_row(ida);
	ck_assert_str_eq(enroll_request_via(rq), "none");
	store_request_free(rq);
	t.now += 5;
	ck_assert_int_eq(ask(&b, &r), ENROLL_PENDING);
	snprintf(idb, sizeof(idb), "%s", r.request_id);
	press(0, 0);
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_OVERLAP);
	ck_assert_uint_eq(ws.overlap_keys, 2);
	assert_state(ida, STORE_REQ_PENDING, 0);
	assert_state(idb, STORE_REQ_PENDING, 0);
	rq = req_row(ida);
	ck_assert_ptr_nonnull(strstr(rq->reason, "overlap"));
	ck_assert_str_eq(enroll_request_via(rq), "window");
	store_request_free(rq);
	ck_assert_int_eq(device_certs(), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'overlap'"), 1);
	/* Asking again during the overlap is told why. */
	ck_assert_int_eq(ask(&a, &r), ENROLL_PENDING);
	ck_assert_str_eq(r.request_id, ida);
	ck_assert_ptr_nonnull(strstr(r.reason, "overlap"));
	ck_assert_int_eq(device_certs(), 0);
	enroll_result_free(&r);
	dev_free(&a);
	dev_free(&b);
}
END_TEST

/* --count 2 used up by two keys: a third asking before the window would
 * have ended contests both admissions. */
START_TEST(test_count_contested)
{
	struct enroll_result r;
	struct window_status ws;
	struct dev a, b, c;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", NULL);
	dev_make(&b, "dev-b", NULL);
	dev_make(&c, "dev-c", NULL);
	press(0, 2);
	ck_assert_int_eq(ask(&a, &r), ENROLL_ISSUED);
	t.now += 2;
	ck_assert_int_eq(ask(&b, &r), ENROLL_ISSUED);
	t.now += 2;
	ck_assert_int_eq(ask(&c, &r), ENROLL_PENDING);
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.contested, 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM requests WHERE contested = 1"), 2);
	ck_assert_int_eq(q_int("SELECT count(*) FROM requests WHERE state = 'pending'"), 1);
	ck_assert_int_eq(device_certs(), 2);
	enroll_result_free(&r);
	dev_free(&a);
	dev_free(&b);
	dev_free(&c);
}
END_TEST

/* The window is open and a key asks while another key waits (one that
 * could not be admitted: its name is another device's): overlap. */
START_TEST(test_ask_overlap_in_window)
{
	struct enroll_result r;
	struct window_status ws;
	struct dev a, b, c;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", "printer.local", NULL);
	dev_make(&b, "dev-b", "printer.local", NULL);
	dev_make(&c, "dev-c", NULL);
	press(0, 0);
	ck_assert_int_eq(ask(&a, &r), ENROLL_ISSUED);
	press(0, 0);
	ck_assert_int_eq(ask(&b, &r), ENROLL_PENDING);
	ck_assert_int_eq(r.conflict, 1);
	t.now += 3;
	ck_assert_int_eq(ask(&c, &r), ENROLL_PENDING);
	ck_assert_ptr_nonnull(strstr(r.reason, "overlap"));
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_OVERLAP);
	ck_assert_uint_eq(ws.overlap_keys, 2);
	ck_assert_int_eq(device_certs(), 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM requests WHERE state = 'pending' "
			       "AND reason LIKE 'session overlap%%'"), 2);
	enroll_result_free(&r);
	dev_free(&a);
	dev_free(&b);
	dev_free(&c);
}
END_TEST

/* The same overlap when its audit row cannot be written: not entered.
 * The window stays open, nobody is noted as overlapping; once the row
 * can be written, the next ask enters it. */
START_TEST(test_ask_overlap_unrecorded)
{
	struct enroll_result r;
	struct window_status ws;
	struct dev a, b, c;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", "printer.local", NULL);
	dev_make(&b, "dev-b", "printer.local", NULL);
	dev_make(&c, "dev-c", NULL);
	press(0, 0);
	ck_assert_int_eq(ask(&a, &r), ENROLL_ISSUED);
	press(0, 0);
	ck_assert_int_eq(ask(&b, &r), ENROLL_PENDING);
	q_exec("CREATE TRIGGER test_no_overlap BEFORE INSERT ON audit "
	       "WHEN NEW.event = 'overlap' BEGIN SELECT RAISE(ABORT, 'disk full'); END");
	t.now += 3;
	ck_assert_int_eq(ask(&c, &r), ENROLL_PENDING);
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_OPEN);
	ck_assert_int_eq(q_int("SELECT count(*) FROM requests WHERE reason LIKE "
			       "'session overlap%%'"), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'overlap'"), 0);
	q_exec("DROP TRIGGER test_no_overlap");
	t.now += 1;
	ck_assert_int_eq(ask(&c, &r), ENROLL_PENDING);
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_OVERLAP);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'overlap'"), 1);
	enroll_result_free(&r);
	dev_free(&a);
	dev_free(&b);
	dev_free(&c);
}
END_TEST

/* count 1: the first admission closes the window early; a different key
 * asking before the window would have ended contests it; one asking after
 * that does not. */
START_TEST(test_contested)
{
	struct enroll_result r;
	char ida[STORE_REQUEST_ID_LEN + 1];
	struct dev a, b, c;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", NULL);
	dev_make(&b, "dev-b", NULL);
	dev_make(&c, "dev-c", NULL);
	press(60, 1);
	ck_assert_int_eq(ask(&a, &r), ENROLL_ISSUED);
	snprintf(ida, sizeof(ida), "%s", r.request_id);
	assert_state(ida, STORE_REQ_ISSUED, 0);
	/* a asking again never contests its own admission. */
	t.now += 1;
	ck_assert_int_eq(ask(&a, &r), ENROLL_ISSUED);
	assert_state(ida, STORE_REQ_ISSUED, 0);
	t.now += 10;
	ck_assert_int_eq(ask(&b, &r), ENROLL_PENDING);
	assert_state(ida, STORE_REQ_ISSUED, 1);
	assert_state(r.request_id, STORE_REQ_PENDING, 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'contested'"), 1);
	/* After the window would have run out: an ordinary pending ask. */
	t.now += 60;
	ck_assert_int_eq(ask(&c, &r), ENROLL_PENDING);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'contested'"), 1);
	ck_assert_int_eq(device_certs(), 1);
	enroll_result_free(&r);
	dev_free(&a);
	dev_free(&b);
	dev_free(&c);
}
END_TEST

/* --count 3: three keys asking one after the other are all admitted. */
START_TEST(test_count)
{
	struct enroll_result r;
	struct window_status ws;
	struct dev d[3];
	char name[16];
	int i;

	enroll_result_init(&r);
	press(0, 3);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "dev-%d", i);
		dev_make(&d[i], name, NULL);
		t.now += 3;
		ck_assert_int_eq(ask(&d[i], &r), ENROLL_ISSUED);
	}
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_CLOSED);
	ck_assert_uint_eq(ws.admitted, 3);
	ck_assert_int_eq(ws.contested, 0);
	ck_assert_int_eq(device_certs(), 3);
	ck_assert_int_eq(q_int("SELECT count(*) FROM requests WHERE state = 'issued'"), 3);
	for (i = 0; i < 3; i++)
		dev_free(&d[i]);
	enroll_result_free(&r);
}
END_TEST

/* A key asking again keeps its one request, pending or issued; after the
 * monitor period it no longer counts as waiting, until it asks again. */
START_TEST(test_repeat_and_monitor)
{
	struct enroll_result r;
	char id[STORE_REQUEST_ID_LEN + 1], serial[2 * STORE_SERIAL_MAX + 1];
	struct window_status ws;
	struct dev a;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", NULL);
	ck_assert_int_eq(ask(&a, &r), ENROLL_PENDING);
	snprintf(id, sizeof(id), "%s", r.request_id);
	t.now += 10;
	ck_assert_int_eq(ask(&a, &r), ENROLL_PENDING);
	ck_assert_str_eq(r.request_id, id);
	ck_assert_int_eq(q_int("SELECT count(*) FROM requests"), 1);
	ck_assert_int_eq(q_int("SELECT last_seen - created_at FROM requests"), 10);
	/* 121 s after its last ask the key is not waiting: the press admits
	 * nobody and leaves the window open. */
	t.now += 121;
	press(0, 0);
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_OPEN);
	assert_state(id, STORE_REQ_PENDING, 0);
	/* It asks again: the same request is admitted. */
	t.now += 1;
	ck_assert_int_eq(ask(&a, &r), ENROLL_ISSUED);
	ck_assert_str_eq(r.request_id, id);
	snprintf(serial, sizeof(serial), "%s", r.serial);
	/* And again: the same certificate, no second request or certificate. */
	t.now += 1;
	ck_assert_int_eq(ask(&a, &r), ENROLL_ISSUED);
	ck_assert_str_eq(r.request_id, id);
	ck_assert_str_eq(r.serial, serial);
	ck_assert_int_eq(q_int("SELECT count(*) FROM requests"), 1);
	ck_assert_int_eq(device_certs(), 1);
	enroll_result_free(&r);
	dev_free(&a);
}
END_TEST

/* ---- other authorities ---- */

static void
import_preauth(const char *csv)
{
	struct store_preauth *rows = NULL;
	size_t n = 0;
	struct lerr e;

	ck_assert_int_eq(preauth_parse((const unsigned char *)csv, strlen(csv), &rows, &n, &e), 0);
	ck_assert_int_eq(store_preauth_import(t.x.store, rows, n, "unit", &e), 0);
	preauth_rows_free(rows, n);
}

/* Listed with a secret: a wrong or missing secret is refused before
 * anything is recorded; the right one issues without a press and uses
 * the pre-authorisation up. */
/* A device that cannot come back (EST serverkeygen): refused with
 * nothing recorded unless decided at once; audited when issued. */
START_TEST(test_no_wait)
{
	struct enroll_result r;
	struct enroll_ask a;
	struct lerr e;
	struct dev d;

	enroll_result_init(&r);
	dev_make(&d, "nowait-1", NULL);
	memset(&a, 0, sizeof(a));
	a.csr = d.der.data;
	a.csr_len = d.der.size;
	a.source = "192.0.2.9";
	a.no_wait = 1;
	a.audit_event = "unit_no_wait";
	lerr_clear(&e);
	ck_assert_int_eq(enroll_submit(t.en, &a, &r, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_msg(strstr(e.msg, "decision at once") != NULL, "%s", e.msg);
	ck_assert_int_eq(q_int("SELECT count(*) FROM requests WHERE device_id = 'nowait-1'"), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'unit_no_wait'"), 0);

	press(60, 1);
	enroll_result_free(&r);
	enroll_result_init(&r);
	lerr_clear(&e);
	ck_assert_int_eq(enroll_submit(t.en, &a, &r, &e), 0);
	ck_assert_int_eq(r.outcome, ENROLL_ISSUED);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'unit_no_wait' AND "
			       "subject = 'nowait-1'"), 1);
	enroll_result_free(&r);
	dev_free(&d);
}
END_TEST

START_TEST(test_preauth)
{
	struct enroll_result r;
	struct lerr e;
	struct dev a, a2;
	struct store_request *rq;
	struct store_stats st0, st1;

	enroll_result_init(&r);
	import_preauth("ID,NAME,SECRET\npre-1,Sensor,correct horse\npre-2,Plain,\n");
	dev_make(&a, "pre-1", NULL);
	ck_assert_int_eq(ask_with(&a, "wrong secret", NULL, 0, &r, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SECRET);
	ck_assert_int_eq(ask_with(&a, NULL, NULL, 0, &r, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SECRET);
	ck_assert_int_eq(q_int("SELECT count(*) FROM requests"), 0);
	/* The wrong secret is on record; asking without one is not a guess. */
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'preauth_secret_wrong' "
			       "AND subject = 'pre-1'"), 1);
	ck_assert_int_eq(ask_with(&a, "correct horse", NULL, 0, &r, &e), 0);
	ck_assert_int_eq(r.outcome, ENROLL_ISSUED);
	rq = req_row(r.request_id);
	ck_assert_int_eq(rq->auth, STORE_AUTH_PREAUTH);
	ck_assert_int_eq(rq->state, STORE_REQ_ISSUED);
	store_request_free(rq);
	ck_assert_int_gt(q_int("SELECT used_at FROM preauth WHERE device_id = 'pre-1'"), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM certificates WHERE preauth_id = 'pre-1'"), 1);
	/* Used up: another key for the same id waits (and the id is held). */
	dev_make(&a2, "pre-1", NULL);
	ck_assert_int_eq(ask_with(&a2, "correct horse", NULL, 0, &r, &e), 0);
	ck_assert_int_eq(r.outcome, ENROLL_PENDING);
	ck_assert_int_eq(r.conflict, 1);
	rq = req_row(r.request_id);
	ck_assert_int_eq(rq->auth, STORE_AUTH_NONE);
	ck_assert_ptr_nonnull(strstr(rq->reason, "already holds"));
	store_request_free(rq);
	/* Listed without a secret: issued on the request alone. The request
	 * and its certificate are one writer job (one commit). */
	dev_free(&a);
	dev_make(&a, "pre-2", NULL);
	store_stats(t.x.store, &st0);
	ck_assert_int_eq(ask(&a, &r), ENROLL_ISSUED);
	store_stats(t.x.store, &st1);
	ck_assert_uint_eq(st1.jobs - st0.jobs, 1);
	ck_assert_int_eq(device_certs(), 2);
	rq = req_row(r.request_id);
	ck_assert_int_eq(rq->state, STORE_REQ_ISSUED);
	ck_assert_int_gt(rq->cert_id, 0);
	store_request_free(rq);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE subject = 'pre-2' AND "
			       "event IN ('enroll', 'issue')"), 2);
	enroll_result_free(&r);
	dev_free(&a);
	dev_free(&a2);
}
END_TEST

/* A wrong secret whose "preauth_secret_wrong" row cannot be written is
 * not answered as wrong (a guess nobody could see) but with the audit
 * log's 503, and is still a wrong secret for the caller to count. */
START_TEST(test_preauth_wrong_unrecorded)
{
	struct enroll_result r;
	struct lerr e;
	struct dev a;

	enroll_result_init(&r);
	import_preauth("ID,NAME,SECRET\npre-1,Sensor,correct horse\n");
	dev_make(&a, "pre-1", NULL);
	q_exec("CREATE TRIGGER test_no_wrong BEFORE INSERT ON audit WHEN "
	       "NEW.event = 'preauth_secret_wrong' BEGIN SELECT RAISE(ABORT, 'disk full'); END");
	ck_assert_int_eq(ask_with(&a, "wrong secret", NULL, 0, &r, &e), -1);
	ck_assert_int_eq(e.code, LERR_STORE);
	ck_assert_int_eq(e.http, 503);
	ck_assert_msg(strstr(e.msg, "the audit log cannot be written: ") != NULL &&
		      strstr(e.msg, "disk full") != NULL, "%s", e.msg);
	ck_assert_int_eq(r.wrong_secret, 1);
	q_exec("DROP TRIGGER test_no_wrong");
	ck_assert_int_eq(ask_with(&a, "wrong secret", NULL, 0, &r, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SECRET);
	ck_assert_int_eq(r.wrong_secret, 1);
	ck_assert_int_eq(ask_with(&a, NULL, NULL, 0, &r, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SECRET);
	ck_assert_int_eq(r.wrong_secret, 0);	/* no secret: no guess */
	ck_assert_int_eq(ask_with(&a, "correct horse", NULL, 0, &r, &e), 0);
	ck_assert_int_eq(r.wrong_secret, 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'preauth_secret_wrong'"),
			 1);
	enroll_result_free(&r);
	dev_free(&a);
}
END_TEST

/* A refusal (here a forged self-signature) whose "refuse" row cannot be
 * written is answered with the audit log's 503, not the refusal. */
START_TEST(test_refusal_unrecorded)
{
	struct store_cert *cert = NULL;
	struct issue_req ir;
	struct lerr e;
	unsigned char *p;
	size_t n;

	p = fx_csr("badsig.der", &n);
	memset(&ir, 0, sizeof(ir));
	ir.csr = p;
	ir.csr_len = n;
	ir.profile = POLICY_DEVICE;
	ir.actor = "unit";
	q_exec("CREATE TRIGGER test_no_refuse BEFORE INSERT ON audit WHEN NEW.event = 'refuse' "
	       "BEGIN SELECT RAISE(ABORT, 'disk full'); END");
	ck_assert_int_eq(issue_cert(&t.x.is, &ir, &cert, &e), -1);
	ck_assert_int_eq(e.http, 503);
	ck_assert_msg(strstr(e.msg, "the audit log cannot be written: ") != NULL, "%s", e.msg);
	q_exec("DROP TRIGGER test_no_refuse");
	ck_assert_int_eq(issue_cert(&t.x.is, &ir, &cert, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
	ck_assert_int_eq(q_int("SELECT count(*) FROM audit WHERE event = 'refuse' AND "
			       "json_extract(detail, '$.error') = 'bad_signature'"), 1);
	ck_assert_ptr_null(cert);
	free(p);
}
END_TEST

static unsigned char *fx_vendor_file(const char *name, size_t *n);

static gnutls_x509_crt_t
vendor_crt(const char *name)
{
	unsigned char *p;
	size_t n = 0;
	gnutls_x509_crt_t c = NULL;
	struct lerr e;

	p = fx_vendor_file(name, &n);
	ck_assert_int_eq(x509_import(p, n, &c, &e), 0);
	free(p);
	return c;
}

/* tests/data/vendor/NAME (caller frees), through fixture.h's reader. */
static unsigned char *
fx_vendor_file(const char *name, size_t *n)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "../vendor/%s", name);
	return fx_csr(rel, n);
}

static void
vendor_register(int auto_register)
{
	unsigned char *p = NULL;
	size_t n = 0;
	struct lerr e;

	p = fx_vendor_file("vendor-root.pem", &n);
	if (vendor_add(t.x.store, p, n, auto_register, t.now, "unit", NULL, NULL, &e) != 0)
		ck_abort_msg("vendor_add: %s", e.msg);
	free(p);
}

/* A factory certificate of an auto-registering vendor issues without a
 * press, for its own device id only. */
START_TEST(test_vendor_auto)
{
	gnutls_x509_crt_t chain[2];
	struct enroll_result r;
	struct store_request *rq;
	struct lerr e;
	struct dev a, other;

	enroll_result_init(&r);
	vendor_register(1);
	chain[0] = vendor_crt("device.pem");	/* CN=acme-0001 */
	chain[1] = vendor_crt("vendor-int.pem");
	dev_make(&other, "acme-0009", NULL);
	ck_assert_int_eq(ask_with(&other, NULL, chain, 2, &r, &e), 0);
	ck_assert_int_eq(r.outcome, ENROLL_PENDING);
	rq = req_row(r.request_id);
	ck_assert_int_eq(rq->auth, STORE_AUTH_NONE);
	store_request_free(rq);
	dev_make(&a, "acme-0001", NULL);
	ck_assert_int_eq(ask_with(&a, NULL, chain, 2, &r, &e), 0);
	ck_assert_int_eq(r.outcome, ENROLL_ISSUED);
	rq = req_row(r.request_id);
	ck_assert_int_eq(rq->auth, STORE_AUTH_VENDOR);
	ck_assert_int_eq(rq->state, STORE_REQ_ISSUED);
	ck_assert_str_eq(enroll_request_via(rq), "vendor");
	store_request_free(rq);
	ck_assert_int_eq(device_certs(), 1);
	gnutls_x509_crt_deinit(chain[0]);
	gnutls_x509_crt_deinit(chain[1]);
	enroll_result_free(&r);
	dev_free(&a);
	dev_free(&other);
}
END_TEST

/* A vendor without auto-registration: recognised, waits for a press. */
START_TEST(test_vendor_manual)
{
	gnutls_x509_crt_t chain[2];
	struct enroll_result r;
	struct store_request *rq;
	struct lerr e;
	struct dev a;

	enroll_result_init(&r);
	vendor_register(0);
	chain[0] = vendor_crt("device.pem");
	chain[1] = vendor_crt("vendor-int.pem");
	dev_make(&a, "acme-0001", NULL);
	ck_assert_int_eq(ask_with(&a, NULL, chain, 2, &r, &e), 0);
	ck_assert_int_eq(r.outcome, ENROLL_PENDING);
	ck_assert_ptr_nonnull(strstr(r.reason, "factory certificate recognised"));
	rq = req_row(r.request_id);
	ck_assert_int_eq(rq->auth, STORE_AUTH_NONE);
	ck_assert_str_eq(rq->reason, r.reason);
	ck_assert_str_eq(enroll_request_via(rq), "vendor");
	store_request_free(rq);
	press(0, 0);
	assert_state(r.request_id, STORE_REQ_ISSUED, 0);
	gnutls_x509_crt_deinit(chain[0]);
	gnutls_x509_crt_deinit(chain[1]);
	enroll_result_free(&r);
	dev_free(&a);
}
END_TEST

/* ---- ownership ---- */

/* A name another device holds: pending with a conflict, even in an open
 * window and even pre-authorised; an admin's approval issues it. */
START_TEST(test_name_owned)
{
	struct enroll_result r;
	struct window_status ws;
	struct store_request *rq;
	struct lerr e;
	struct dev a, b;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", "printer.local", NULL);
	dev_make(&b, "dev-b", "scanner.local", "PRINTER.local", NULL);
	press(0, 0);
	ck_assert_int_eq(ask(&a, &r), ENROLL_ISSUED);
	press(0, 0);
	ck_assert_int_eq(ask(&b, &r), ENROLL_PENDING);
	ck_assert_int_eq(r.conflict, 1);
	ck_assert_ptr_nonnull(strstr(r.reason, "held by device dev-a"));
	rq = req_row(r.request_id);
	ck_assert_int_eq(rq->state, STORE_REQ_PENDING);
	ck_assert_str_eq(rq->reason, r.reason);
	store_request_free(rq);
	/* The window was not used up by it. */
	enroll_window(t.en, &ws);
	ck_assert_int_eq(ws.state, WINDOW_OPEN);
	ck_assert_int_eq(device_certs(), 1);
	ck_assert_int_eq(enroll_approve(t.en, r.request_id, "admin", &r, &e), 0);
	ck_assert_int_eq(r.outcome, ENROLL_ISSUED);
	ck_assert_int_eq(device_certs(), 2);
	enroll_result_free(&r);
	dev_free(&a);
	dev_free(&b);
}
END_TEST

/* A key that holds another device's certificate is refused outright,
 * before anything is recorded; the same device asking with a new key while
 * it holds a valid certificate waits for an admin. */
START_TEST(test_key_owned)
{
	struct enroll_result r;
	struct lerr e;
	struct dev a, a2;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", NULL);
	press(0, 0);
	ck_assert_int_eq(ask(&a, &r), ENROLL_ISSUED);
	dev_rename(&a, "dev-z", NULL);
	press(0, 0);
	ck_assert_int_eq(ask_with(&a, NULL, NULL, 0, &r, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_ptr_nonnull(strstr(e.msg, "dev-a"));
	ck_assert_int_eq(q_int("SELECT count(*) FROM requests"), 1);
	dev_make(&a2, "dev-a", NULL);
	ck_assert_int_eq(ask(&a2, &r), ENROLL_PENDING);
	ck_assert_int_eq(r.conflict, 1);
	ck_assert_ptr_nonnull(strstr(r.reason, "already holds a certificate for another key"));
	ck_assert_int_eq(device_certs(), 1);
	enroll_result_free(&r);
	dev_free(&a);
	dev_free(&a2);
}
END_TEST

/* ---- expiry ---- */

/* A pending request expires after pending_days: the poll says so, an
 * admin cannot approve it, and the key asking again gets a new request. */
START_TEST(test_pending_expiry)
{
	struct enroll_result r;
	char id[STORE_REQUEST_ID_LEN + 1];
	struct lerr e;
	struct dev a;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", NULL);
	ck_assert_int_eq(ask(&a, &r), ENROLL_PENDING);
	snprintf(id, sizeof(id), "%s", r.request_id);
	ck_assert_int_eq(q_int("SELECT expires_at - created_at FROM requests"), 7 * 86400);
	t.now += 7 * 86400 - 1;
	ck_assert_int_eq(poll_id(id, &r), ENROLL_PENDING);
	t.now += 1;
	ck_assert_int_eq(poll_id(id, &r), ENROLL_EXPIRED);
	ck_assert_int_eq(enroll_approve(t.en, id, "admin", &r, &e), -1);
	ck_assert_int_eq(e.code, LERR_EXPIRED);
	ck_assert_int_eq(ask(&a, &r), ENROLL_PENDING);
	ck_assert_str_ne(r.request_id, id);
	ck_assert_int_eq(q_int("SELECT count(*) FROM requests"), 2);
	ck_assert_int_eq(device_certs(), 0);
	enroll_result_free(&r);
	dev_free(&a);
}
END_TEST

/* Deny: the poll says denied; the request cannot be approved after. */
START_TEST(test_deny)
{
	struct enroll_result r;
	char id[STORE_REQUEST_ID_LEN + 1];
	struct lerr e;
	struct dev a;

	enroll_result_init(&r);
	dev_make(&a, "dev-a", NULL);
	ck_assert_int_eq(ask(&a, &r), ENROLL_PENDING);
	snprintf(id, sizeof(id), "%s", r.request_id);
	ck_assert_int_eq(enroll_deny(t.en, id, "not ours", "admin", &e), 0);
	ck_assert_int_eq(poll_id(id, &r), ENROLL_DENIED);
	ck_assert_str_eq(r.reason, "not ours");
	ck_assert_int_eq(enroll_approve(t.en, id, "admin", &r, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	assert_state(id, STORE_REQ_DENIED, 0);
	enroll_result_free(&r);
	dev_free(&a);
}
END_TEST

/* The state words: one mapping each way. */
START_TEST(test_state_words)
{
	enum store_req_state st;
	enum store_auth au;
	enum store_cert_status cs;
	enum policy_profile pp;

	ck_assert_int_eq(store_req_state_parse("expired", &st), 0);
	ck_assert_int_eq(st, STORE_REQ_EXPIRED);
	ck_assert_str_eq(store_req_state_str(STORE_REQ_PENDING), "pending");
	ck_assert_int_eq(store_req_state_parse("Pending", &st), -1);
	ck_assert_int_eq(store_auth_parse("vendor", &au), 0);
	ck_assert_int_eq(au, STORE_AUTH_VENDOR);
	ck_assert_str_eq(store_auth_str(STORE_AUTH_NONE), "none");
	ck_assert_int_eq(store_cert_status_parse("revoked", &cs), 0);
	ck_assert_int_eq(cs, STORE_CERT_REVOKED);
	ck_assert_int_eq(store_profile_parse("gateway", &pp), 0);
	ck_assert_int_eq(pp, POLICY_GATEWAY);
	ck_assert_int_eq(store_profile_parse("root", &pp), -1);
	ck_assert_str_eq(store_auth_str((enum store_auth)99), "?");
}
END_TEST

static Suite *
enroll_suite(void)
{
	Suite *s = suite_create("enroll");
	TCase *tc = tcase_create("decisions");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_press_none_waiting);
	tcase_add_test(tc, test_press_unrecorded_refused);
	tcase_add_test(tc, test_approve_unrecorded_refused);
	tcase_add_test(tc, test_window_closed_by_time);
	tcase_add_test(tc, test_window_closed_unrecorded);
	tcase_add_test(tc, test_press_overlap_unrecorded);
	tcase_add_test(tc, test_preauth_wrong_unrecorded);
	tcase_add_test(tc, test_refusal_unrecorded);
	tcase_add_test(tc, test_press_one_waiting);
	tcase_add_test(tc, test_press_two_waiting);
	tcase_add_test(tc, test_ask_overlap_in_window);
	tcase_add_test(tc, test_ask_overlap_unrecorded);
	tcase_add_test(tc, test_count_contested);
	tcase_add_test(tc, test_contested);
	tcase_add_test(tc, test_count);
	tcase_add_test(tc, test_repeat_and_monitor);
	tcase_add_test(tc, test_preauth);
	tcase_add_test(tc, test_vendor_auto);
	tcase_add_test(tc, test_vendor_manual);
	tcase_add_test(tc, test_name_owned);
	tcase_add_test(tc, test_key_owned);
	tcase_add_test(tc, test_pending_expiry);
	tcase_add_test(tc, test_deny);
	tcase_add_test(tc, test_state_words);
	tcase_add_test(tc, test_no_wait);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0 || gnutls_global_init() < 0)
		return 1;
	sr = srunner_create(enroll_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
