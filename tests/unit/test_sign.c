/*
 * test_sign.c - the signing core and the issuance path in-process: policy
 * is re-applied, requests never widen what is issued, the final check
 * stops a certificate even when policy was wrong, and issue_cert records
 * before it returns, verifying a request's signature exactly once (here,
 * or in the signer process when there is one).
 */
#include "config.h"

#include <check.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "ca/csr.h"
#include "daemon/issue.h"
#include "signer/sign.h"
#include "signer/signer.h"
#include "store/store.h"
#include "ca/x509.h"
#include "fixture.h"

static const unsigned char serial[X509_SERIAL_LEN] = { 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static struct csr *
parse(const char *name)
{
	unsigned char *p;
	struct csr *c = NULL;
	struct lerr e;
	size_t n;

	p = fx_csr(name, &n);
	if (csr_parse(p, n, &c, &e) != 0)
		ck_abort_msg("%s: %s", name, e.msg);
	free(p);
	return c;
}

/* Issues name with ctx; returns the error code or NULL on success. */
static const char *
try_sign(struct sign_ctx *ctx, const char *name, enum policy_profile prof, unsigned days,
	 gnutls_x509_crt_t *crt_out)
{
	struct sign_req r = { prof, days, serial };
	struct sign_out out;
	struct csr *c = parse(name);
	struct lerr e;
	const char *code = NULL;

	if (sign_leaf(ctx, c, &r, &out, &e) != 0) {
		code = lerr_str(e.code);
	} else if (crt_out != NULL) {
		ck_assert_int_eq(gnutls_x509_crt_init(crt_out), 0);
		ck_assert_int_eq(gnutls_x509_crt_import(*crt_out, &out.der, GNUTLS_X509_FMT_DER), 0);
	}
	sign_out_free(&out);
	csr_free(c);
	return code;
}

START_TEST(test_issue_valid)
{
	struct sign_ctx ctx;
	gnutls_x509_crt_t crt = NULL;
	unsigned ca = 99, critical = 0;
	struct lerr e;

	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), 0);
	ck_assert_ptr_null(try_sign(&ctx, "p256.pem", POLICY_DEVICE, 0, &crt));
	ck_assert_int_eq(gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca, NULL), 0);
	ck_assert_uint_eq(ca, 0);
	ck_assert_uint_eq(critical, 1);
	gnutls_x509_crt_deinit(crt);
	sign_ctx_free(&ctx);
}
END_TEST

START_TEST(test_ca_request_ignored)
{
	struct sign_ctx ctx;
	gnutls_x509_crt_t crt = NULL;
	unsigned ca = 99, critical = 0;
	struct lerr e;
	struct csr *c = parse("ca-true.pem");

	ck_assert_int_eq(c->asked_ca, 1);
	csr_free(c);
	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), 0);
	ck_assert_ptr_null(try_sign(&ctx, "ca-true.pem", POLICY_DEVICE, 0, &crt));
	ck_assert_int_eq(gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca, NULL), 0);
	ck_assert_uint_eq(ca, 0);	/* asked for CA:TRUE, got CA:FALSE */
	gnutls_x509_crt_deinit(crt);
	sign_ctx_free(&ctx);
}
END_TEST

START_TEST(test_policy_refusals)
{
	struct sign_ctx ctx;
	struct lerr e;

	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), 0);
	ck_assert_str_eq(try_sign(&ctx, "public-san.pem", POLICY_DEVICE, 0, NULL), lerr_str(LERR_FORBIDDEN_NAME));
	ck_assert_str_eq(try_sign(&ctx, "public-ip.pem", POLICY_DEVICE, 0, NULL), lerr_str(LERR_FORBIDDEN_NAME));
	ck_assert_str_eq(try_sign(&ctx, "localhost.pem", POLICY_DEVICE, 0, NULL), lerr_str(LERR_FORBIDDEN_NAME));
	ck_assert_str_eq(try_sign(&ctx, "loopback.pem", POLICY_DEVICE, 0, NULL), lerr_str(LERR_FORBIDDEN_NAME));
	/* The gateway's own profile may carry localhost and loopback. */
	ck_assert_ptr_null(try_sign(&ctx, "localhost.pem", POLICY_GATEWAY, 0, NULL));
	ck_assert_str_eq(try_sign(&ctx, "p256.pem", POLICY_DEVICE, 826, NULL), lerr_str(LERR_BAD_VALIDITY));
	sign_ctx_free(&ctx);
}
END_TEST

/* Even if policy were wrong (here: widened by hand to permit "com"), the
 * check of the produced bytes against the CAs' name constraints stops
 * the certificate. */
START_TEST(test_final_check_catches_bad_policy)
{
	struct sign_ctx ctx;
	struct lerr e;

	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), 0);
	ck_assert_int_eq(names_add_dns(&ctx.policy.permitted, "com"), 0);
	ck_assert_str_eq(try_sign(&ctx, "public-san.pem", POLICY_DEVICE, 0, NULL), lerr_str(LERR_INVARIANT));
	sign_ctx_free(&ctx);
}
END_TEST

START_TEST(test_wrong_key_refused)
{
	char path[STATE_PATH_MAX], root[STATE_PATH_MAX];
	struct sign_ctx ctx;
	struct lerr e;

	/* Put the root key where the issuing key belongs: the signer must
	 * notice that it does not match the issuing certificate. */
	ck_assert_int_eq(state_path(path, fx_dir, STATE_ISSUING_KEY), 0);
	ck_assert_int_eq(state_path(root, fx_dir, STATE_ROOT_KEY), 0);
	ck_assert_int_eq(rename(root, path), 0);
	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
}
END_TEST

/* issue_cert: recorded, durable, audited; refusals audited, not recorded. */
START_TEST(test_issue_records)
{
	char path[STATE_PATH_MAX];
	struct store *s = NULL;
	struct signer *signer = NULL;
	struct store_cert *cert = NULL, *again = NULL, *refused = NULL;
	struct policy pol;
	struct ca_set ca;
	struct issuer is;
	struct issue_req r;
	struct lerr e;
	unsigned char *p;
	size_t n;
	int64_t count;

	ck_assert_int_eq(state_path(path, fx_dir, STORE_FILE), 0);
	ck_assert_int_eq(store_open(path, 0, &s, &e), 0);
	ck_assert_int_eq(ca_set_load(s, &ca, &e), 0);
	ck_assert_int_eq(policy_from_ca(&pol, ca.issuing, &e), 0);
	ck_assert_int_eq(signer_open_local(fx_dir, NULL, &signer, &e), 0);
	is.store = s;
	is.signer = signer;
	is.policy = &pol;
	is.ca_id = ca.issuing_id;

	p = fx_csr("p256.pem", &n);
	memset(&r, 0, sizeof(r));
	r.csr = p;
	r.csr_len = n;
	r.profile = POLICY_DEVICE;
	r.actor = "unit";
	ck_assert_int_eq(issue_cert(&is, &r, &cert, &e), 0);
	free(p);
	ck_assert_int_eq(store_cert_by_serial(s, cert->serial, cert->serial_len, &again, &e), 0);
	ck_assert_uint_eq(again->der_len, cert->der_len);
	ck_assert_int_eq(memcmp(again->der, cert->der, cert->der_len), 0);
	ck_assert_int_eq(again->status, STORE_CERT_VALID);
	ck_assert_int_eq(again->ca_id, ca.issuing_id);

	p = fx_csr("public-san.pem", &n);
	r.csr = p;
	r.csr_len = n;
	ck_assert_int_eq(issue_cert(&is, &r, &refused, &e), -1);
	ck_assert_ptr_null(refused);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	free(p);
	ck_assert_int_eq(store_cert_count(s, &count, &e), 0);
	ck_assert_int_eq(count, 2);	/* the gateway's and one device's */

	store_cert_free(again);
	store_cert_free(cert);
	signer_stop(signer);
	policy_free(&pol);
	ca_set_free(&ca);
	store_close(s);
}
END_TEST

/* The leaf is for the request's key: GnuTLS's SHA-256 key id of the
 * certificate is csr->key_id, and the SKI is its first 160 bits. */
START_TEST(test_leaf_key_ids)
{
	static const char *const names[] = { "p256.pem", "p384.pem", "ed25519.pem", "rsa2048.pem" };
	struct sign_ctx ctx;
	struct sign_req r = { POLICY_DEVICE, 0, serial };
	struct sign_out out;
	gnutls_x509_crt_t crt;
	unsigned char id[64], ski[64];
	size_t i, n, m;
	unsigned critical;
	struct lerr e;

	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct csr *c = parse(names[i]);

		if (sign_leaf(&ctx, c, &r, &out, &e) != 0)
			ck_abort_msg("%s: %s", names[i], e.msg);
		ck_assert_int_eq(gnutls_x509_crt_init(&crt), 0);
		ck_assert_int_eq(gnutls_x509_crt_import(crt, &out.der, GNUTLS_X509_FMT_DER), 0);
		n = sizeof(id);
		ck_assert_int_eq(gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, id, &n), 0);
		ck_assert_uint_eq(n, sizeof(c->key_id));
		ck_assert_mem_eq(id, c->key_id, n);
		m = sizeof(ski);
		ck_assert_int_eq(gnutls_x509_crt_get_subject_key_id(crt, ski, &m, &critical), 0);
		ck_assert_uint_eq(m, X509_SKI_LEN);
		ck_assert_mem_eq(ski, c->key_id, X509_SKI_LEN);
		gnutls_x509_crt_deinit(crt);
		sign_out_free(&out);
		csr_free(c);
	}
	sign_ctx_free(&ctx);
}
END_TEST

/* sign_leaf never signs for a request whose signature nobody verified. */
START_TEST(test_unverified_request_refused)
{
	struct sign_ctx ctx;
	struct sign_req r = { POLICY_DEVICE, 0, serial };
	struct sign_out out;
	struct csr *c = NULL;
	unsigned char *p;
	struct lerr e;
	size_t n;

	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), 0);
	p = fx_csr("p256.pem", &n);
	ck_assert_int_eq(csr_parse_flags(p, n, CSR_PARSE_NO_VERIFY, &c, &e), 0);
	ck_assert_int_eq(sign_leaf(&ctx, c, &r, &out, &e), -1);
	ck_assert_int_eq(e.code, LERR_INTERNAL);
	ck_assert_ptr_null(out.der.data);
	csr_free(c);
	/* The same bytes parsed with the check sign. */
	ck_assert_int_eq(csr_parse(p, n, &c, &e), 0);
	ck_assert_int_eq(sign_leaf(&ctx, c, &r, &out, &e), 0);
	sign_out_free(&out);
	csr_free(c);
	free(p);
	sign_ctx_free(&ctx);
}
END_TEST

/* Through a signer process, issue_cert does not verify the request's
 * signature itself; the signer does, so a forged request is still
 * refused (and audited), and nothing is recorded for it. */
START_TEST(test_issue_remote_verifies_once)
{
	char path[STATE_PATH_MAX];
	struct signer_config sc;
	struct store *s = NULL;
	struct signer *signer = NULL;
	struct store_cert *cert = NULL, *refused = NULL;
	struct policy pol;
	struct ca_set ca;
	struct issuer is;
	struct issue_req r;
	struct lerr e;
	unsigned char *p;
	size_t n;
	int64_t count;

	memset(&sc, 0, sizeof(sc));
	sc.dir = fx_dir;
	sc.threads = 1;
	ck_assert_int_eq(signer_start(&sc, &signer, &e), 0);
	ck_assert_int_ne(signer_pid(signer), 0);
	ck_assert_int_eq(state_path(path, fx_dir, STORE_FILE), 0);
	ck_assert_int_eq(store_open(path, 0, &s, &e), 0);
	ck_assert_int_eq(ca_set_load(s, &ca, &e), 0);
	ck_assert_int_eq(policy_from_ca(&pol, ca.issuing, &e), 0);
	is.store = s;
	is.signer = signer;
	is.policy = &pol;
	is.ca_id = ca.issuing_id;
	memset(&r, 0, sizeof(r));
	r.profile = POLICY_DEVICE;
	r.actor = "unit";

	p = fx_csr("badsig.der", &n);
	r.csr = p;
	r.csr_len = n;
	ck_assert_int_eq(issue_cert(&is, &r, &refused, &e), -1);
	ck_assert_ptr_null(refused);
	ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
	ck_assert_int_eq(e.http, 400);
	free(p);

	p = fx_csr("p256.pem", &n);
	r.csr = p;
	r.csr_len = n;
	ck_assert_int_eq(issue_cert(&is, &r, &cert, &e), 0);
	free(p);
	ck_assert_int_eq(store_cert_count(s, &count, &e), 0);
	ck_assert_int_eq(count, 2);	/* the gateway's and the good one */

	store_cert_free(cert);
	ck_assert_int_eq(signer_stop(signer), 0);
	policy_free(&pol);
	ca_set_free(&ca);
	store_close(s);
}
END_TEST

static Suite *
sign_suite(void)
{
	Suite *s = suite_create("sign");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, fx_make_ca, fx_remove_ca);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_issue_valid);
	tcase_add_test(tc, test_ca_request_ignored);
	tcase_add_test(tc, test_policy_refusals);
	tcase_add_test(tc, test_final_check_catches_bad_policy);
	tcase_add_test(tc, test_wrong_key_refused);
	tcase_add_test(tc, test_issue_records);
	tcase_add_test(tc, test_leaf_key_ids);
	tcase_add_test(tc, test_unverified_request_refused);
	tcase_add_test(tc, test_issue_remote_verifies_once);
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
	sr = srunner_create(sign_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
