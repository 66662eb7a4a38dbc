/*
 * test_trust.c - lanca-enroll's rule for accepting a new root
 * (src/client/trust.c): a root vouched for by a trusted root is added
 * after the roots already trusted; a root without a voucher, with a
 * voucher from an untrusted root, with a voucher for another key or
 * another subject, or that is not a CA, refuses the whole bundle; roots
 * already trusted are never dropped; a bundle that does not parse is
 * refused.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "ca/keystore.h"
#include "ca/policy.h"
#include "ca/x509.h"
#include "client/trust.h"

/* A CA: its certificate and key. */
struct ca {
	gnutls_x509_crt_t crt;
	gnutls_privkey_t key;
	gnutls_pubkey_t pub;
};

static struct policy pol;

static void
serial(unsigned char s[X509_SERIAL_LEN])
{
	randombytes_buf(s, X509_SERIAL_LEN);
	s[0] = (unsigned char)(0x40 | (s[0] & 0x3f));
}

static void
params(struct x509_ca_params *p, const char *ou, unsigned char *sn)
{
	time_t now = time(NULL);

	memset(p, 0, sizeof(*p));
	p->org = "lanca";
	p->ou = ou;
	p->permitted = &pol.permitted;
	p->pathlen = 1;
	p->not_before = now - 60;
	p->not_after = now + 3600 * 24 * 365;
	serial(sn);
	p->serial = sn;
}

/* A self-signed root named OU=ou. */
static void
mkroot(struct ca *c, const char *ou)
{
	unsigned char sn[X509_SERIAL_LEN];
	struct x509_ca_params p;
	gnutls_x509_privkey_t x;
	struct lerr e;

	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &x, &e), 0);
	ck_assert_int_eq(gnutls_privkey_init(&c->key), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(c->key, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), 0);
	ck_assert_int_eq(keystore_pubkey(c->key, &c->pub, &e), 0);
	params(&p, ou, sn);
	ck_assert_msg(x509_make_root(&p, c->key, &c->crt, &e) == 0, "%s", e.msg);
}

/* issuer's certificate of subject key pub under the name OU=ou. */
static gnutls_x509_crt_t
mkcross(const struct ca *issuer, const char *ou, gnutls_pubkey_t pub)
{
	unsigned char sn[X509_SERIAL_LEN];
	struct x509_ca_params p;
	gnutls_x509_crt_t out = NULL;
	struct lerr e;

	params(&p, ou, sn);
	ck_assert_msg(x509_make_ca(&p, pub, issuer->crt, issuer->key, &out, &e) == 0, "%s", e.msg);
	return out;
}

static void
cafree(struct ca *c)
{
	gnutls_x509_crt_deinit(c->crt);
	gnutls_privkey_deinit(c->key);
	gnutls_pubkey_deinit(c->pub);
}

/* The PEM of n certificates, one after the other (gnutls_free it). */
static gnutls_datum_t
pem(const gnutls_x509_crt_t *crts, size_t n)
{
	gnutls_datum_t out = { NULL, 0 }, one;
	size_t i;

	for (i = 0; i < n; i++) {
		ck_assert_int_ge(gnutls_x509_crt_export2(crts[i], GNUTLS_X509_FMT_PEM, &one), 0);
		out.data = gnutls_realloc(out.data, out.size + one.size + 1);
		memcpy(out.data + out.size, one.data, one.size);
		out.size += one.size;
		out.data[out.size] = '\0';
		gnutls_free(one.data);
	}
	return out;
}

/* How many certificates a PEM list holds, and whether crt is one of them. */
static unsigned
count_has(const gnutls_datum_t *d, gnutls_x509_crt_t crt, int *has)
{
	gnutls_x509_crt_t list[TRUST_STORE_MAX];
	unsigned n = TRUST_STORE_MAX, i;

	*has = 0;
	ck_assert_int_ge(gnutls_x509_crt_list_import(list, &n, d, GNUTLS_X509_FMT_PEM, 0), 0);
	for (i = 0; i < n; i++) {
		*has |= gnutls_x509_crt_equals(list[i], crt) != 0;
		gnutls_x509_crt_deinit(list[i]);
	}
	return n;
}

static struct ca primary, backup, other;
static gnutls_x509_crt_t cross;

static void
setup(void)
{
	struct lerr e;

	ck_assert_int_eq(policy_init(&pol, NULL, 0, NULL, 0, &e), 0);
	mkroot(&primary, "t Root CA");
	mkroot(&backup, "t Backup Root CA");
	mkroot(&other, "Other Root CA");
	cross = mkcross(&primary, "t Backup Root CA", backup.pub);
}

static void
teardown(void)
{
	gnutls_x509_crt_deinit(cross);
	cafree(&primary);
	cafree(&backup);
	cafree(&other);
	policy_free(&pol);
}

/* Runs trust_merge on store = primary and bundle = crts. */
static int
merge(const gnutls_x509_crt_t *crts, size_t n, gnutls_datum_t *out, unsigned *added,
      struct lerr *e)
{
	gnutls_datum_t s = pem(&primary.crt, 1), b = pem(crts, n);
	int rc = trust_merge(&s, &b, out, added, e);

	gnutls_free(s.data);
	gnutls_free(b.data);
	return rc;
}

START_TEST(test_vouched_root_added)
{
	gnutls_x509_crt_t b[3] = { primary.crt, backup.crt, cross };
	gnutls_datum_t out;
	unsigned added;
	struct lerr e;
	int has;

	ck_assert_msg(merge(b, 3, &out, &added, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(added, 1);
	ck_assert_uint_eq(count_has(&out, backup.crt, &has), 2);
	ck_assert(has);
	/* The cross-certificate is a voucher, never an anchor. */
	count_has(&out, cross, &has);
	ck_assert(!has);
	gnutls_free(out.data);
}
END_TEST

START_TEST(test_same_bundle_adds_nothing)
{
	gnutls_x509_crt_t b[1] = { primary.crt };
	gnutls_datum_t out;
	unsigned added;
	struct lerr e;
	int has;

	ck_assert_msg(merge(b, 1, &out, &added, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(added, 0);
	ck_assert_uint_eq(count_has(&out, primary.crt, &has), 1);
	ck_assert(has);
	gnutls_free(out.data);
}
END_TEST

static void
refused(const gnutls_x509_crt_t *b, size_t n, const char *why)
{
	gnutls_datum_t out = { (unsigned char *)"x", 1 };
	unsigned added = 7;
	struct lerr e;

	ck_assert_int_eq(merge(b, n, &out, &added, &e), -1);
	ck_assert_msg(strstr(e.msg, why) != NULL, "message: %s", e.msg);
	ck_assert_ptr_null(out.data);
	ck_assert_uint_eq(added, 0);
}

START_TEST(test_unvouched_root_refused)
{
	gnutls_x509_crt_t b[2] = { primary.crt, backup.crt };

	refused(b, 2, "not vouched for");
}
END_TEST

START_TEST(test_foreign_voucher_refused)
{
	gnutls_x509_crt_t x = mkcross(&other, "t Backup Root CA", backup.pub);
	gnutls_x509_crt_t b[3] = { primary.crt, backup.crt, x };

	refused(b, 3, "not vouched for");
	gnutls_x509_crt_deinit(x);
}
END_TEST

START_TEST(test_voucher_for_another_key_refused)
{
	/* The primary vouches for the name, but with other's key. */
	gnutls_x509_crt_t x = mkcross(&primary, "t Backup Root CA", other.pub);
	gnutls_x509_crt_t b[3] = { primary.crt, backup.crt, x };

	refused(b, 3, "not vouched for");
	gnutls_x509_crt_deinit(x);
}
END_TEST

START_TEST(test_voucher_for_another_name_refused)
{
	/* The primary vouches for the key, under another name. */
	gnutls_x509_crt_t x = mkcross(&primary, "Someone Else CA", backup.pub);
	gnutls_x509_crt_t b[3] = { primary.crt, backup.crt, x };

	refused(b, 3, "not vouched for");
	gnutls_x509_crt_deinit(x);
}
END_TEST

START_TEST(test_one_bad_root_refuses_all)
{
	/* The good backup root is not taken when another root is bad. */
	gnutls_x509_crt_t b[4] = { primary.crt, backup.crt, cross, other.crt };

	refused(b, 4, "Other Root CA");
}
END_TEST

START_TEST(test_not_a_ca_refused)
{
	gnutls_x509_crt_t leaf;
	gnutls_datum_t der;
	struct lerr e;

	/* A self-signed certificate with basicConstraints CA:FALSE. */
	ck_assert_int_eq(gnutls_x509_crt_init(&leaf), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_version(leaf, 3), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_serial(leaf, "\x41\x02", 2), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_activation_time(leaf, time(NULL) - 60), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_expiration_time(leaf, time(NULL) + 3600), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_dn_by_oid(leaf, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME,
						       0, "leaf", 4), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_pubkey(leaf, other.pub), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_basic_constraints(leaf, 0, -1), 0);
	ck_assert_int_eq(gnutls_x509_crt_privkey_sign(leaf, leaf, other.key, GNUTLS_DIG_SHA256, 0), 0);
	ck_assert_int_ge(gnutls_x509_crt_export2(leaf, GNUTLS_X509_FMT_DER, &der), 0);
	gnutls_x509_crt_deinit(leaf);
	ck_assert_int_eq(x509_import(der.data, der.size, &leaf, &e), 0);
	gnutls_free(der.data);
	{
		gnutls_x509_crt_t b[2] = { primary.crt, leaf };

		refused(b, 2, "not a CA");
	}
	gnutls_x509_crt_deinit(leaf);
}
END_TEST

START_TEST(test_never_drops)
{
	/* A device that trusts two roots keeps both, whatever the bundle. */
	gnutls_x509_crt_t st[2] = { primary.crt, other.crt }, b[3] = { primary.crt, backup.crt, cross };
	gnutls_datum_t s = pem(st, 2), bb = pem(b, 3), out;
	unsigned added;
	struct lerr e;
	int has;

	ck_assert_msg(trust_merge(&s, &bb, &out, &added, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(added, 1);
	ck_assert_uint_eq(count_has(&out, other.crt, &has), 3);
	ck_assert(has);
	gnutls_free(out.data);
	gnutls_free(s.data);
	gnutls_free(bb.data);
}
END_TEST

/* A certificate of the backup root's name and key whose signature is not
 * the backup key's (dates changed, signed by another key): the voucher
 * matches its name and key, but the device keeps only what the root's own
 * key signed. */
START_TEST(test_forged_self_signature_refused)
{
	gnutls_x509_crt_t forged, b[3];
	gnutls_datum_t der;
	struct lerr e;

	ck_assert_int_ge(gnutls_x509_crt_export2(backup.crt, GNUTLS_X509_FMT_DER, &der), 0);
	ck_assert_int_eq(x509_import(der.data, der.size, &forged, &e), 0);
	gnutls_free(der.data);
	ck_assert_int_eq(gnutls_x509_crt_set_expiration_time(forged, time(NULL) + 3600 * 24 * 3650), 0);
	ck_assert_int_eq(gnutls_x509_crt_privkey_sign(forged, backup.crt, other.key, GNUTLS_DIG_SHA256,
						      0), 0);
	b[0] = primary.crt;
	b[1] = forged;
	b[2] = cross;
	refused(b, 3, "not signed by its own key");
	gnutls_x509_crt_deinit(forged);
}
END_TEST

/* A store or a merge past TRUST_STORE_MAX roots is refused, never cut
 * short (a store read short would be written back without the rest). */
START_TEST(test_store_bound)
{
	gnutls_x509_crt_t many[TRUST_STORE_MAX + 1], b[3] = { primary.crt, backup.crt, cross };
	gnutls_datum_t s, bb = pem(b, 3), out;
	unsigned added, i;
	struct lerr e;

	for (i = 0; i <= TRUST_STORE_MAX; i++)
		many[i] = i % 2 ? other.crt : primary.crt;
	s = pem(many, TRUST_STORE_MAX + 1);
	ck_assert_int_eq(trust_merge(&s, &bb, &out, &added, &e), -1);
	ck_assert_msg(strstr(e.msg, "more than") != NULL, "%s", e.msg);
	gnutls_free(s.data);
	/* A full store takes no new root. */
	s = pem(many, TRUST_STORE_MAX);
	ck_assert_int_eq(trust_merge(&s, &bb, &out, &added, &e), -1);
	ck_assert_msg(strstr(e.msg, "would hold more than") != NULL, "%s", e.msg);
	ck_assert_ptr_null(out.data);
	gnutls_free(s.data);
	gnutls_free(bb.data);
}
END_TEST

START_TEST(test_garbage_refused)
{
	gnutls_datum_t s = pem(&primary.crt, 1), out;
	gnutls_datum_t junk = { (unsigned char *)"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 0 };
	gnutls_datum_t empty = { (unsigned char *)"", 0 };
	unsigned added;
	struct lerr e;

	junk.size = (unsigned)strlen((const char *)junk.data);
	ck_assert_int_eq(trust_merge(&s, &junk, &out, &added, &e), -1);
	ck_assert_int_eq(trust_merge(&s, &empty, &out, &added, &e), -1);
	ck_assert_int_eq(trust_merge(&empty, &s, &out, &added, &e), -1);
	gnutls_free(s.data);
}
END_TEST

static Suite *
trust_suite(void)
{
	Suite *s = suite_create("trust");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_vouched_root_added);
	tcase_add_test(tc, test_same_bundle_adds_nothing);
	tcase_add_test(tc, test_unvouched_root_refused);
	tcase_add_test(tc, test_foreign_voucher_refused);
	tcase_add_test(tc, test_voucher_for_another_key_refused);
	tcase_add_test(tc, test_voucher_for_another_name_refused);
	tcase_add_test(tc, test_one_bad_root_refuses_all);
	tcase_add_test(tc, test_not_a_ca_refused);
	tcase_add_test(tc, test_never_drops);
	tcase_add_test(tc, test_forged_self_signature_refused);
	tcase_add_test(tc, test_store_bound);
	tcase_add_test(tc, test_garbage_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(trust_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
