/*
 * test_sign.c - the signing core and the issuance path in-process: policy
 * is re-applied, requests never widen what is issued, the final check
 * stops a certificate even when policy was wrong, and issue_cert records
 * before it returns.
 */
#include "config.h"

#include <check.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "csr.h"
#include "issue.h"
#include "sign.h"
#include "signer.h"
#include "store.h"
#include "x509.h"
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
		code = e.code;
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
	ck_assert_str_eq(try_sign(&ctx, "public-san.pem", POLICY_DEVICE, 0, NULL), LERR_FORBIDDEN_NAME);
	ck_assert_str_eq(try_sign(&ctx, "public-ip.pem", POLICY_DEVICE, 0, NULL), LERR_FORBIDDEN_NAME);
	ck_assert_str_eq(try_sign(&ctx, "localhost.pem", POLICY_DEVICE, 0, NULL), LERR_FORBIDDEN_NAME);
	ck_assert_str_eq(try_sign(&ctx, "loopback.pem", POLICY_DEVICE, 0, NULL), LERR_FORBIDDEN_NAME);
	/* The gateway's own profile may carry localhost and loopback. */
	ck_assert_ptr_null(try_sign(&ctx, "localhost.pem", POLICY_GATEWAY, 0, NULL));
	ck_assert_str_eq(try_sign(&ctx, "p256.pem", POLICY_DEVICE, 826, NULL), LERR_BAD_VALIDITY);
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
	ck_assert_str_eq(try_sign(&ctx, "public-san.pem", POLICY_DEVICE, 0, NULL), LERR_INVARIANT);
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
	ck_assert_str_eq(e.code, LERR_INVARIANT);
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
	ck_assert_str_eq(again->status, "valid");
	ck_assert_int_eq(again->ca_id, ca.issuing_id);

	p = fx_csr("public-san.pem", &n);
	r.csr = p;
	r.csr_len = n;
	ck_assert_int_eq(issue_cert(&is, &r, &refused, &e), -1);
	ck_assert_ptr_null(refused);
	ck_assert_str_eq(e.code, LERR_FORBIDDEN_NAME);
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
