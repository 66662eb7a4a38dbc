/*
 * test_revocation.c - the daemon's CRLs (daemon/revocation.c) over a CA
 * made by state_init, with a fake clock: the first CRL when there is
 * none, none again until less than half its period is left (and one
 * then, not a second before), one after a revocation made behind the
 * daemon's back, only unexpired certificates of the issuing CA listed
 * with their reasons, and concurrent revocations each followed by a CRL
 * that lists them, with numbers that never repeat.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "daemon/revocation.h"
#include "signer/proto.h"
#include "fixture.h"

static time_t fake_now;

static time_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

struct fx {
	struct fx_issuer x;
	struct revocation *rv;
};

static void
fx_open_with(struct fx *f, unsigned days, enum fx_signing how)
{
	struct revocation_config c = { days, fake_clock, NULL, 0 };
	struct lerr e;

	fx_make_ca();
	fx_issuer_open(&f->x, how);
	ck_assert_msg(revocation_new(&f->x.is, &c, &f->rv, &e) == 0, "%s", e.msg);
	fake_now = time(NULL);
}

static void
fx_open(struct fx *f, unsigned days)
{
	fx_open_with(f, days, FX_LOCAL_SIGNER);
}

static void
fx_close(struct fx *f)
{
	revocation_free(f->rv);
	fx_issuer_close(&f->x);
	fx_remove_ca();
}

/* Issues a certificate for fixture name; its serial into serial[20]. */
static void
issue_one(struct fx *f, const char *name, unsigned char serial[STORE_SERIAL_LEN])
{
	struct store_cert *c = NULL;
	struct issue_req r;
	struct lerr e;
	size_t n;
	unsigned char *p = fx_csr(name, &n);

	memset(&r, 0, sizeof(r));
	r.csr = p;
	r.csr_len = n;
	r.profile = POLICY_DEVICE;
	r.actor = "unit";
	ck_assert_msg(issue_cert(&f->x.is, &r, &c, &e) == 0, "%s: %s", name, e.msg);
	memcpy(serial, c->serial, STORE_SERIAL_LEN);
	store_cert_free(c);
	free(p);
}

static void
revoke_one(struct fx *f, const unsigned char *serial, enum crl_reason reason, int64_t at)
{
	struct store_revocation r = { reason, NULL, "unit", at };
	struct lerr e;

	ck_assert_msg(store_cert_revoke(f->x.store, serial, STORE_SERIAL_LEN, &r, &e) == 0, "%s",
		      e.msg);
}

/* The newest CRL: it verifies under the issuing CA; its number, entries. */
static struct store_crl *
newest(struct fx *f, gnutls_x509_crl_t *out)
{
	struct store_crl *c = NULL;
	gnutls_datum_t d;
	unsigned status = 1;
	struct lerr e;

	ck_assert_msg(store_crl_newest(f->x.store, 0, 1, &c, &e) == 0, "%s", e.msg);
	d.data = c->der;
	d.size = (unsigned)c->der_len;
	ck_assert_int_eq(gnutls_x509_crl_init(out), 0);
	ck_assert_int_eq(gnutls_x509_crl_import(*out, &d, GNUTLS_X509_FMT_DER), 0);
	ck_assert_int_eq(gnutls_x509_crl_verify(*out, &f->x.ca.issuing, 1, 0, &status), 0);
	ck_assert_int_eq(status & GNUTLS_CERT_SIGNATURE_FAILURE, 0);
	ck_assert_int_eq(gnutls_x509_crl_get_crt_count(*out), (int)c->entries);
	ck_assert_int_eq(gnutls_x509_crl_get_this_update(*out), c->this_update);
	ck_assert_int_eq(gnutls_x509_crl_get_next_update(*out), c->next_update);
	return c;
}

START_TEST(test_first_crl_then_none_until_due)
{
	struct fx f;
	struct store_crl *c;
	gnutls_x509_crl_t crl;
	struct lerr e;
	time_t t0;

	fx_open(&f, 2);
	t0 = fake_now;
	ck_assert_int_eq(store_crl_newest(f.x.store, 0, 0, &c, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(revocation_tick(f.rv, &e), 1);
	c = newest(&f, &crl);
	ck_assert_int_eq(c->number, 1);
	ck_assert_int_eq(c->entries, 0);
	ck_assert_int_eq(c->this_update, t0);
	ck_assert_int_eq(c->next_update, t0 + 2 * 86400);
	store_crl_free(c);
	gnutls_x509_crl_deinit(crl);
	/* Half the period is 86400 s: a second before it, nothing is due. */
	fake_now = t0 + 60;
	ck_assert_int_eq(revocation_tick(f.rv, &e), 0);
	fake_now = t0 + 86400 - 1;
	ck_assert_int_eq(revocation_tick(f.rv, &e), 0);
	ck_assert_int_eq(store_crl_newest(f.x.store, 0, 0, &c, &e), 0);
	ck_assert_int_eq(c->number, 1);
	store_crl_free(c);
	/* Then it is, once. */
	fake_now = t0 + 86400;
	ck_assert_int_eq(revocation_tick(f.rv, &e), 1);
	ck_assert_int_eq(revocation_tick(f.rv, &e), 0);
	c = newest(&f, &crl);
	ck_assert_int_eq(c->number, 2);
	ck_assert_int_eq(c->this_update, t0 + 86400);
	ck_assert_int_eq(c->next_update, t0 + 3 * 86400);
	store_crl_free(c);
	gnutls_x509_crl_deinit(crl);
	fx_close(&f);
}
END_TEST

/* A revocation the daemon did not see (`lanca revoke` while it was
 * stopped) makes a CRL due at once, which lists it with its reason. */
START_TEST(test_revocation_behind_the_daemon)
{
	unsigned char s1[STORE_SERIAL_LEN], s2[STORE_SERIAL_LEN], got[64];
	gnutls_x509_crl_t crl;
	struct store_crl *c;
	struct fx f;
	struct lerr e;
	size_t len = sizeof(got);
	time_t t;

	fx_open(&f, 0);
	issue_one(&f, "p256.pem", s1);
	issue_one(&f, "p384.pem", s2);
	ck_assert_int_eq(revocation_tick(f.rv, &e), 1);
	fake_now += 10;
	ck_assert_int_eq(revocation_tick(f.rv, &e), 0);
	revoke_one(&f, s2, CRL_REASON_KEY_COMPROMISE, fake_now);
	ck_assert_int_eq(revocation_tick(f.rv, &e), 1);
	c = newest(&f, &crl);
	ck_assert_int_eq(c->number, 2);
	ck_assert_int_eq(c->entries, 1);
	ck_assert_int_eq(c->next_update - c->this_update, REVOCATION_DAYS_DEFAULT * 86400);
	ck_assert_int_eq(gnutls_x509_crl_get_crt_serial(crl, 0, got, &len, &t), 0);
	ck_assert_int_eq(len, STORE_SERIAL_LEN);
	ck_assert_int_eq(memcmp(got, s2, len), 0);
	ck_assert_int_eq(t, fake_now);
	store_crl_free(c);
	gnutls_x509_crl_deinit(crl);
	ck_assert_int_eq(revocation_tick(f.rv, &e), 0);
	fx_close(&f);
}
END_TEST

/* A revoked certificate that has expired is no longer listed. */
START_TEST(test_expired_not_listed)
{
	unsigned char s1[STORE_SERIAL_LEN], s2[STORE_SERIAL_LEN];
	struct revocation_made m;
	struct store_cert *c = NULL;
	struct fx f;
	struct lerr e;

	fx_open(&f, 0);
	issue_one(&f, "p256.pem", s1);
	issue_one(&f, "p384.pem", s2);
	revoke_one(&f, s1, CRL_REASON_SUPERSEDED, fake_now);
	revoke_one(&f, s2, CRL_REASON_UNSPECIFIED, fake_now);
	ck_assert_msg(revocation_crl_make(f.rv, "unit", &m, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(m.number, 1);
	ck_assert_int_eq(m.entries, 2);
	/* Both expired at their notAfter (the second may have been issued
	 * a second after the first). */
	ck_assert_int_eq(store_cert_by_serial(f.x.store, s1, STORE_SERIAL_LEN, &c, &e), 0);
	fake_now = (time_t)c->not_after;
	store_cert_free(c);
	ck_assert_int_eq(store_cert_by_serial(f.x.store, s2, STORE_SERIAL_LEN, &c, &e), 0);
	if ((time_t)c->not_after > fake_now)
		fake_now = (time_t)c->not_after;
	store_cert_free(c);
	ck_assert_msg(revocation_crl_make(f.rv, "unit", &m, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(m.number, 2);
	ck_assert_int_eq(m.entries, 0);
	fx_close(&f);
}
END_TEST

/*
 * More revoked certificates than one message to the signer carries
 * (SIGNER_CRL_ENTRIES_PER_MSG, what used to bound a CRL): the daemon's
 * CRL, made through a signer process, lists every one with its reason.
 */
START_TEST(test_crl_past_one_message)
{
	enum { N = SIGNER_CRL_ENTRIES_PER_MSG + 3 };
	static unsigned char serial[N][STORE_SERIAL_LEN];
	gnutls_x509_crl_t crl;
	struct revocation_made m;
	struct store_crl *c;
	struct fx f;
	struct lerr e;
	size_t i;

	fx_open_with(&f, 0, FX_SIGNER_PROCESS);
	for (i = 0; i < N; i++) {
		issue_one(&f, "p256.pem", serial[i]);
		revoke_one(&f, serial[i], i % 2 ? CRL_REASON_SUPERSEDED : CRL_REASON_KEY_COMPROMISE,
			   fake_now);
	}
	ck_assert_msg(revocation_crl_make(f.rv, "unit", &m, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(m.entries, N);
	c = newest(&f, &crl);
	ck_assert_int_eq(c->entries, N);
	ck_assert_uint_gt(c->der_len, SIGNER_CRL_PIECE);	/* and back in two pieces */
	store_crl_free(c);
	gnutls_x509_crl_deinit(crl);
	fx_close(&f);
}
END_TEST

/* A clock behind the newest revocation does not make a CRL older than
 * what it lists. */
START_TEST(test_clock_behind)
{
	unsigned char s1[STORE_SERIAL_LEN];
	struct revocation_made m;
	struct fx f;
	struct lerr e;

	fx_open(&f, 1);
	issue_one(&f, "p256.pem", s1);
	revoke_one(&f, s1, CRL_REASON_KEY_COMPROMISE, fake_now + 500);
	ck_assert_msg(revocation_crl_make(f.rv, "unit", &m, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(m.this_update, fake_now + 500);
	ck_assert_int_eq(m.next_update, fake_now + 500 + 86400);
	fx_close(&f);
}
END_TEST

#define RACERS	8

struct racer {
	struct fx *f;
	const unsigned char *serial;
	int64_t number;
	int rc;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct store_revocation rv = { CRL_REASON_CESSATION_OF_OPERATION, "race", "unit", 0 };
	struct revocation_made m;
	struct lerr e;

	r->rc = store_cert_revoke(r->f->x.store, r->serial, STORE_SERIAL_LEN, &rv, &e);
	if (r->rc == 0)
		r->rc = revocation_crl_make(r->f->rv, "unit", &m, &e);
	r->number = r->rc == 0 ? m.number : 0;
	return NULL;
}

/* Revocations at once: each gets a CRL, numbers 1..RACERS once each,
 * and the last lists them all. */
START_TEST(test_concurrent_revocations)
{
	unsigned char serials[RACERS][STORE_SERIAL_LEN];
	struct racer r[RACERS];
	pthread_t t[RACERS];
	int seen[RACERS + 1];
	gnutls_x509_crl_t crl;
	struct store_crl *c;
	struct fx f;
	int i;

	fx_open(&f, 0);
	fake_now = time(NULL) + 3600;	/* after every revocation of the real clock */
	for (i = 0; i < RACERS; i++)
		issue_one(&f, i % 2 ? "p256.pem" : "p384.pem", serials[i]);
	for (i = 0; i < RACERS; i++) {
		r[i].f = &f;
		r[i].serial = serials[i];
		ck_assert_int_eq(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(r[i].rc, 0);
		ck_assert(r[i].number >= 1 && r[i].number <= RACERS);
		seen[r[i].number]++;
	}
	for (i = 1; i <= RACERS; i++)
		ck_assert_int_eq(seen[i], 1);
	c = newest(&f, &crl);
	ck_assert_int_eq(c->number, RACERS);
	ck_assert_int_eq(c->entries, RACERS);
	store_crl_free(c);
	gnutls_x509_crl_deinit(crl);
	fx_close(&f);
}
END_TEST

/* The store takes the newest's number plus one only. */
START_TEST(test_store_numbers)
{
	struct store_crl row;
	struct fx f;
	struct lerr e;
	unsigned char der[1] = { 0x30 };

	fx_open(&f, 0);
	memset(&row, 0, sizeof(row));
	row.number = 2;
	row.ca_id = f.x.is.ca_id;
	row.this_update = 100;
	row.next_update = 200;
	row.der = der;
	row.der_len = 1;
	ck_assert_int_eq(store_crl_insert(f.x.store, &row, "unit", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	row.number = 1;
	ck_assert_msg(store_crl_insert(f.x.store, &row, "unit", &e) == 0, "%s", e.msg);
	ck_assert_int_eq(store_crl_insert(f.x.store, &row, "unit", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	row.number = 2;
	row.next_update = 100;
	ck_assert_int_eq(store_crl_insert(f.x.store, &row, "unit", &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	fx_close(&f);
}
END_TEST

static Suite *
revocation_suite(void)
{
	Suite *s = suite_create("revocation");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_first_crl_then_none_until_due);
	tcase_add_test(tc, test_revocation_behind_the_daemon);
	tcase_add_test(tc, test_expired_not_listed);
	tcase_add_test(tc, test_clock_behind);
	tcase_add_test(tc, test_concurrent_revocations);
	tcase_add_test(tc, test_store_numbers);
	tcase_add_test(tc, test_crl_past_one_message);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(revocation_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
