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

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ca/csr.h"
#include "common/fileio.h"
#include "ca/keystore.h"
#include "signer/files.h"
#include "signer/popcache.h"
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

/* The path of keys/name in the fixture's state directory. */
static void
keys_path(char out[STATE_PATH_MAX], const char *name)
{
	char keys[STATE_PATH_MAX];

	ck_assert_int_eq(fileio_join(keys, sizeof(keys), fx_dir, SIGNER_KEYS_DIR), 0);
	ck_assert_int_eq(fileio_join(out, STATE_PATH_MAX, keys, name), 0);
}

/* Copies keys/from to keys/to in the fixture's state directory. */
static void
keys_copy(const char *from, const char *to, mode_t mode)
{
	char a[STATE_PATH_MAX], b[STATE_PATH_MAX];
	unsigned char *p = NULL;
	size_t n = 0;
	struct lerr e;

	keys_path(a, from);
	keys_path(b, to);
	ck_assert_msg(fileio_read(a, 1 << 20, 0, &p, &n, &e) == 0, "%s", e.msg);
	unlink(b);
	ck_assert_msg(fileio_write_atomic(b, p, n, mode, 1, &e) == 0, "%s", e.msg);
	free(p);
}

/* The previous generation of a root rollover: its issuing CA signs CRLs
 * (and nothing else); all three files or none; once expired it is let go
 * rather than refusing to start. */
START_TEST(test_previous_generation)
{
	struct sign_ctx ctx;
	struct crl_params p;
	gnutls_datum_t der = { NULL, 0 };
	gnutls_x509_crl_t crl = NULL;
	gnutls_x509_crt_t iss = NULL;
	char path[STATE_PATH_MAX];
	struct lerr e;

	/* None: a CRL of the previous generation is refused, not made. */
	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), 0);
	memset(&p, 0, sizeof(p));
	p.number = 1;
	p.this_update = time(NULL);
	p.next_update = p.this_update + 86400;
	ck_assert_int_eq(sign_crl(&ctx, SIGN_GEN_PREVIOUS, &p, &der, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	sign_ctx_free(&ctx);

	/* Only one of the three: refused. */
	keys_copy(SIGNER_ISSUING_PEM_NAME, SIGNER_PREV_ISSUING_PEM_NAME, 0644);
	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), -1);

	/* All three (here the current generation's own): the CRL is signed
	 * by that issuing CA. */
	keys_copy(SIGNER_ROOT_PEM_NAME, SIGNER_PREV_ROOT_PEM_NAME, 0644);
	keys_copy(SIGNER_ISSUING_KEY_NAME, SIGNER_PREV_ISSUING_KEY_NAME, 0600);
	ck_assert_msg(sign_ctx_load(&ctx, fx_dir, NULL, &e) == 0, "%s", e.msg);
	ck_assert_ptr_nonnull(ctx.prev_key);
	ck_assert_msg(sign_crl(&ctx, SIGN_GEN_PREVIOUS, &p, &der, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(gnutls_x509_crl_init(&crl), 0);
	ck_assert_int_eq(gnutls_x509_crl_import(crl, &der, GNUTLS_X509_FMT_DER), 0);
	iss = ctx.prev_chain[0];
	ck_assert_int_eq(gnutls_x509_crl_check_issuer(crl, iss), 1);
	gnutls_x509_crl_deinit(crl);
	gnutls_free(der.data);
	sign_ctx_free(&ctx);

	/* An expired previous generation: let go, the signer still starts. */
	{
		gnutls_x509_privkey_t rx = NULL, ix = NULL;
		gnutls_privkey_t rk = NULL, ik = NULL;
		gnutls_pubkey_t ipub = NULL;
		gnutls_x509_crt_t root = NULL, ca = NULL;
		gnutls_datum_t pem = { NULL, 0 };
		struct x509_ca_params cp;
		struct names permitted;
		unsigned char s1[X509_SERIAL_LEN] = { 0x21, 1 }, s2[X509_SERIAL_LEN] = { 0x22, 2 };
		time_t now = time(NULL);

		names_init(&permitted);
		ck_assert_int_eq(names_add_dns(&permitted, "local"), 0);
		ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &rx, &e), 0);
		ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &ix, &e), 0);
		ck_assert_int_eq(gnutls_privkey_init(&rk), 0);
		ck_assert_int_eq(gnutls_privkey_import_x509(rk, rx, 0), 0);
		ck_assert_int_eq(gnutls_privkey_init(&ik), 0);
		ck_assert_int_eq(gnutls_privkey_import_x509(ik, ix, 0), 0);
		ck_assert_int_eq(keystore_pubkey(ik, &ipub, &e), 0);
		memset(&cp, 0, sizeof(cp));
		cp.org = "lanca";
		cp.ou = "old Root CA";
		cp.permitted = &permitted;
		cp.pathlen = 1;
		cp.not_before = now - 10 * 86400;
		cp.not_after = now - 60;
		cp.serial = s1;
		ck_assert_msg(x509_make_root(&cp, rk, &root, &e) == 0, "%s", e.msg);
		cp.ou = "old Issuing CA";
		cp.pathlen = 0;
		cp.serial = s2;
		ck_assert_msg(x509_make_ca(&cp, ipub, root, rk, &ca, &e) == 0, "%s", e.msg);
		keys_path(path, SIGNER_PREV_ROOT_PEM_NAME);
		ck_assert_int_eq(x509_export_pem(root, &pem), 0);
		unlink(path);
		ck_assert_int_eq(fileio_write_atomic(path, pem.data, pem.size, 0644, 1, &e), 0);
		gnutls_free(pem.data);
		keys_path(path, SIGNER_PREV_ISSUING_PEM_NAME);
		ck_assert_int_eq(x509_export_pem(ca, &pem), 0);
		unlink(path);
		ck_assert_int_eq(fileio_write_atomic(path, pem.data, pem.size, 0644, 1, &e), 0);
		gnutls_free(pem.data);
		keys_path(path, SIGNER_PREV_ISSUING_KEY_NAME);
		unlink(path);
		ck_assert_int_eq(keystore_write(path, ix, NULL, &e), 0);
		ck_assert_msg(sign_ctx_load(&ctx, fx_dir, NULL, &e) == 0, "%s", e.msg);
		ck_assert_ptr_null(ctx.prev_key);
		sign_ctx_free(&ctx);
		gnutls_x509_crt_deinit(ca);
		gnutls_x509_crt_deinit(root);
		gnutls_pubkey_deinit(ipub);
		gnutls_privkey_deinit(ik);
		gnutls_privkey_deinit(rk);
		gnutls_x509_privkey_deinit(ix);
		gnutls_x509_privkey_deinit(rx);
		names_free(&permitted);
	}
}
END_TEST

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
	ck_assert_int_eq(state_path(path, fx_dir, SIGNER_ISSUING_KEY), 0);
	ck_assert_int_eq(state_path(root, fx_dir, SIGNER_ROOT_KEY), 0);
	ck_assert_int_eq(rename(root, path), 0);
	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
}
END_TEST

/* issue_cert: recorded, durable, audited; refusals audited, not recorded. */
START_TEST(test_issue_records)
{
	struct fx_issuer x;
	struct store_cert *cert = NULL, *again = NULL, *refused = NULL;
	struct issue_req r;
	struct lerr e;
	unsigned char *p;
	size_t n;
	int64_t count;

	fx_issuer_open(&x, FX_LOCAL_SIGNER);

	p = fx_csr("p256.pem", &n);
	memset(&r, 0, sizeof(r));
	r.csr = p;
	r.csr_len = n;
	r.profile = POLICY_DEVICE;
	r.actor = "unit";
	ck_assert_int_eq(issue_cert(&x.is, &r, &cert, &e), 0);
	free(p);
	ck_assert_int_eq(store_cert_by_serial(x.store, cert->serial, cert->serial_len, &again, &e), 0);
	ck_assert_uint_eq(again->der_len, cert->der_len);
	ck_assert_int_eq(memcmp(again->der, cert->der, cert->der_len), 0);
	ck_assert_int_eq(again->status, STORE_CERT_VALID);
	ck_assert_int_eq(again->ca_id, x.ca.issuing_id);

	p = fx_csr("public-san.pem", &n);
	r.csr = p;
	r.csr_len = n;
	ck_assert_int_eq(issue_cert(&x.is, &r, &refused, &e), -1);
	ck_assert_ptr_null(refused);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	free(p);
	ck_assert_int_eq(store_cert_count(x.store, &count, &e), 0);
	ck_assert_int_eq(count, 2);	/* the gateway's and one device's */

	store_cert_free(again);
	store_cert_free(cert);
	fx_issuer_close(&x);
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

/* A new P-256 request for CN "dev-<i>", DER, signed with key (the
 * caller gnutls_free's d->data). Distinct i, distinct bytes. */
static void
make_csr_der(gnutls_x509_privkey_t key, unsigned i, gnutls_datum_t *d)
{
	gnutls_x509_crq_t crq;
	char cn[32];
	int n = snprintf(cn, sizeof(cn), "dev-%u", i);

	ck_assert_int_eq(gnutls_x509_crq_init(&crq), 0);
	ck_assert_int_eq(gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
						       (unsigned)n), 0);
	ck_assert_int_eq(gnutls_x509_crq_set_key(crq, key), 0);
	ck_assert_int_eq(gnutls_x509_crq_sign2(crq, key, GNUTLS_DIG_SHA256, 0), 0);
	ck_assert_int_eq(gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, d), 0);
	gnutls_x509_crq_deinit(crq);
}

/* The proof of possession is verified once per request bytes: what
 * sign_verify checked, sign_parse (the ISSUE path) takes as verified;
 * bytes it never checked are verified, whatever a caller claims, and a
 * forgery of verified bytes is refused. */
START_TEST(test_verify_once)
{
	struct sign_ctx ctx;
	struct csr *c = NULL;
	unsigned char *p, *forged;
	struct lerr e;
	size_t n;

	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), 0);
	p = fx_csr("p256.der", &n);
	ck_assert_uint_eq(atomic_load(&ctx.verified), 0);
	ck_assert_int_eq(sign_verify(&ctx, p, n, &e), 0);
	ck_assert_uint_eq(atomic_load(&ctx.verified), 1);
	ck_assert_int_eq(sign_verify(&ctx, p, n, &e), 0);
	ck_assert_uint_eq(atomic_load(&ctx.verified), 1);
	ck_assert_int_eq(sign_parse(&ctx, p, n, POLICY_DEVICE, &c, &e), 0);
	ck_assert_uint_eq(atomic_load(&ctx.verified), 1);
	ck_assert_int_eq(c->sig_verified, 1);
	csr_free(c);

	/* The same request with one bit of its signature changed: other
	 * bytes, so verified, and refused as before. */
	forged = malloc(n);
	ck_assert_ptr_nonnull(forged);
	memcpy(forged, p, n);
	forged[n - 1] ^= 0x01;
	ck_assert_int_eq(sign_parse(&ctx, forged, n, POLICY_DEVICE, &c, &e), -1);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
	ck_assert_int_eq(e.http, 400);
	ck_assert_uint_eq(atomic_load(&ctx.verified), 2);
	/* A refused request is not remembered: asked again, checked again. */
	ck_assert_int_eq(sign_verify(&ctx, forged, n, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
	ck_assert_uint_eq(atomic_load(&ctx.verified), 3);
	free(forged);
	free(p);

	/* Bytes never verified are verified by the ISSUE path itself. */
	p = fx_csr("p256.pem", &n);
	ck_assert_int_eq(sign_parse(&ctx, p, n, POLICY_DEVICE, &c, &e), 0);
	ck_assert_int_eq(c->sig_verified, 1);
	ck_assert_uint_eq(atomic_load(&ctx.verified), 4);
	csr_free(c);
	free(p);
	sign_ctx_free(&ctx);
}
END_TEST

/* The table is bounded: after more than POPCACHE_SIZE distinct requests
 * the oldest is forgotten and verified again; the newest is not. */
START_TEST(test_verify_table_bounded)
{
	gnutls_x509_privkey_t key;
	gnutls_datum_t *d;
	struct sign_ctx ctx;
	struct csr *c = NULL;
	struct lerr e;
	unsigned i, total = POPCACHE_SIZE + 1;

	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), 0);
	ck_assert_int_eq(gnutls_x509_privkey_init(&key), 0);
	ck_assert_int_eq(gnutls_x509_privkey_generate2(key, GNUTLS_PK_ECDSA,
		GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0), 0);
	d = calloc(total, sizeof(*d));
	ck_assert_ptr_nonnull(d);
	for (i = 0; i < total; i++) {
		make_csr_der(key, i, &d[i]);
		ck_assert_int_eq(sign_verify(&ctx, d[i].data, d[i].size, &e), 0);
	}
	ck_assert_uint_eq(atomic_load(&ctx.verified), total);
	/* The second is still there (only the first made room). */
	ck_assert_int_eq(sign_verify(&ctx, d[1].data, d[1].size, &e), 0);
	ck_assert_uint_eq(atomic_load(&ctx.verified), total);
	ck_assert_int_eq(sign_parse(&ctx, d[total - 1].data, d[total - 1].size, POLICY_DEVICE, &c, &e), 0);
	csr_free(c);
	ck_assert_uint_eq(atomic_load(&ctx.verified), total);
	ck_assert_int_eq(sign_parse(&ctx, d[0].data, d[0].size, POLICY_DEVICE, &c, &e), 0);
	ck_assert_int_eq(c->sig_verified, 1);
	csr_free(c);
	ck_assert_uint_eq(atomic_load(&ctx.verified), total + 1);
	for (i = 0; i < total; i++)
		gnutls_free(d[i].data);
	free(d);
	gnutls_x509_privkey_deinit(key);
	sign_ctx_free(&ctx);
}
END_TEST

/* Through a signer process, issue_cert does not verify the request's
 * signature itself; the signer does, so a forged request is still
 * refused (and audited), and nothing is recorded for it. */
START_TEST(test_issue_remote_verifies_once)
{
	struct fx_issuer x;
	struct store_cert *cert = NULL, *refused = NULL;
	struct issue_req r;
	struct lerr e;
	unsigned char *p;
	size_t n;
	int64_t count;

	fx_issuer_open(&x, FX_SIGNER_PROCESS);
	memset(&r, 0, sizeof(r));
	r.profile = POLICY_DEVICE;
	r.actor = "unit";

	p = fx_csr("badsig.der", &n);
	r.csr = p;
	r.csr_len = n;
	ck_assert_int_eq(issue_cert(&x.is, &r, &refused, &e), -1);
	ck_assert_ptr_null(refused);
	ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
	ck_assert_int_eq(e.http, 400);
	free(p);

	p = fx_csr("p256.pem", &n);
	r.csr = p;
	r.csr_len = n;
	ck_assert_int_eq(issue_cert(&x.is, &r, &cert, &e), 0);
	free(p);
	ck_assert_int_eq(store_cert_count(x.store, &count, &e), 0);
	ck_assert_int_eq(count, 2);	/* the gateway's and the good one */

	store_cert_free(cert);
	ck_assert_int_eq(fx_issuer_close(&x), 0);
}
END_TEST

/* The row is the certificate's: a parse handed in with other bytes than
 * the signer signed is refused (the certificate is for another key), and
 * names the caller believed in but the signer did not put in the
 * certificate are not recorded. */
START_TEST(test_issue_row_is_the_certificate)
{
	struct fx_issuer x;
	struct store_cert *cert = NULL;
	struct csr *other, *same;
	struct names sans;
	struct issue_req r;
	struct lerr e;
	unsigned char *p;
	size_t n;
	int64_t before, after;

	fx_issuer_open(&x, FX_SIGNER_PROCESS);
	memset(&r, 0, sizeof(r));
	r.profile = POLICY_DEVICE;
	r.actor = "unit";
	p = fx_csr("p256.pem", &n);
	r.csr = p;
	r.csr_len = n;
	names_init(&sans);

	/* Bytes of one request, the parse of another. */
	other = parse("ca-true.pem");
	same = parse("p256.pem");
	ck_assert_int_ne(memcmp(other->key_id, same->key_id, 32), 0);
	ck_assert_int_eq(policy_names(&x.pol, other, POLICY_DEVICE, &sans, &e), 0);
	r.parsed = other;
	r.sans = &sans;
	ck_assert_int_eq(store_cert_count(x.store, &before, &e), 0);
	ck_assert_int_eq(issue_cert(&x.is, &r, &cert, &e), -1);
	ck_assert_ptr_null(cert);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_int_eq(store_cert_count(x.store, &after, &e), 0);
	ck_assert_int_eq(after, before);

	/* The right parse, with a name the signer never puts in. */
	names_free(&sans);
	names_init(&sans);
	ck_assert_int_eq(policy_names(&x.pol, same, POLICY_DEVICE, &sans, &e), 0);
	ck_assert_int_eq(names_add_dns(&sans, "extra.local"), 0);
	r.parsed = same;
	r.now = 1234567890;
	ck_assert_int_eq(issue_cert(&x.is, &r, &cert, &e), 0);
	ck_assert_ptr_null(strstr(cert->sans, "extra.local"));
	ck_assert_ptr_nonnull(strstr(cert->sans, "DNS:"));
	ck_assert_int_eq(cert->issued_at, 1234567890);	/* the decision's clock */

	store_cert_free(cert);
	names_free(&sans);
	csr_free(other);
	csr_free(same);
	free(p);
	ck_assert_int_eq(fx_issuer_close(&x), 0);
}
END_TEST

/* ---- what the signer trusts: keys/ only, verified at load ---- */

/* Copies a file (tests only). */
static void
copy_file(const char *from, const char *to, mode_t mode)
{
	unsigned char *p = NULL;
	size_t n = 0;
	struct lerr e;

	if (fileio_read(from, 1 << 20, 0, &p, &n, &e) != 0)
		ck_abort_msg("%s", e.msg);
	unlink(to);
	if (fileio_write_atomic(to, p, n, mode, 0, &e) != 0)
		ck_abort_msg("%s", e.msg);
	free(p);
}

/* sign_ctx_load must fail on fx_dir with code; the message names want. */
static void
load_fails(enum lerr_code code, const char *want)
{
	struct sign_ctx ctx;
	struct lerr e;

	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), -1);
	ck_assert_msg(e.code == code, "code %s, want %s: %s", lerr_str(e.code), lerr_str(code), e.msg);
	ck_assert_msg(strstr(e.msg, want) != NULL, "\"%s\" not in: %s", want, e.msg);
}

START_TEST(test_load_missing_file)
{
	static const char *const files[] = { SIGNER_ROOT_PEM, SIGNER_ISSUING_PEM, SIGNER_CONF };
	char path[STATE_PATH_MAX];

	ck_assert_int_eq(state_path(path, fx_dir, files[_i]), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(signer_files_missing(fx_dir), 1);
	load_fails(LERR_NOT_FOUND, files[_i] + strlen("keys/"));
}
END_TEST

START_TEST(test_load_wrong_owner)
{
	static const char *const files[] = { SIGNER_ROOT_PEM, SIGNER_ISSUING_PEM, SIGNER_CONF,
					     SIGNER_KEYS_DIR };
	char path[STATE_PATH_MAX];

	if (geteuid() != 0)
		return;	/* only root can give a file away */
	ck_assert_int_eq(state_path(path, fx_dir, files[_i]), 0);
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	load_fails(LERR_FORBIDDEN, "belongs to uid 65534");
}
END_TEST

START_TEST(test_load_writable_by_others)
{
	char path[STATE_PATH_MAX];

	ck_assert_int_eq(state_path(path, fx_dir, SIGNER_ISSUING_PEM), 0);
	ck_assert_int_eq(chmod(path, 0664), 0);
	load_fails(LERR_BAD_REQUEST, "writable by group or others");
}
END_TEST

START_TEST(test_load_bad_settings)
{
	char path[STATE_PATH_MAX];
	struct lerr e;

	ck_assert_int_eq(state_path(path, fx_dir, SIGNER_CONF), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(fileio_write_atomic(path, "crl_url = http://a.local/crl\nsign_anything = yes\n",
					     50, 0600, 0, &e), 0);
	load_fails(LERR_BAD_REQUEST, "line 2: unknown setting \"sign_anything\"");
}
END_TEST

/* The parser alone: what it takes and every way it refuses. */
START_TEST(test_conf_parse)
{
	static const struct {
		const char *text, *want;	/* want NULL: parses */
	} cases[] = {
		{ "# comment\n\ncrl_url = http://gw.local/crl\n", NULL },
		{ "crl_url=http://gw.local/crl", NULL },
		{ "crl_url =\n", NULL },
		{ "", "no crl_url" },
		{ "crl_url = http://a.local/crl\ncrl_url = http://b.local/crl\n", "line 2: crl_url set twice" },
		{ "crl_url = ftp://a.local/crl\n", "line 1: crl_url is not" },
		{ "crl_url = http://a b/\n", "line 1: crl_url is not" },
		{ "crl_url http://a.local/\n", "line 1: not \"key = value\"" },
		{ "crl_url = http://a.local/\r\n", "line 1: a control character" },
		{ "Crl_url = http://a.local/\n", "unknown setting" },
	};
	struct signer_conf c;
	char line[SIGNER_CONF_LINE_MAX + 16];
	struct lerr e;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = signer_conf_parse("f", cases[i].text, strlen(cases[i].text), &c, &e);

		if (cases[i].want == NULL) {
			ck_assert_msg(rc == 0, "%s: %s", cases[i].text, e.msg);
		} else {
			ck_assert_msg(rc == -1, "accepted: %s", cases[i].text);
			ck_assert_msg(strstr(e.msg, cases[i].want) != NULL, "%s: %s", cases[i].text, e.msg);
		}
	}
	ck_assert_int_eq(signer_conf_parse("f", cases[0].text, strlen(cases[0].text), &c, &e), 0);
	ck_assert_str_eq(c.crl_url, "http://gw.local/crl");
	/* An overlong line, even a comment. */
	memset(line, '#', sizeof(line));
	ck_assert_int_eq(signer_conf_parse("f", line, SIGNER_CONF_LINE_MAX + 1, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "longer than"));
	ck_assert_int_eq(signer_conf_parse("f", line, SIGNER_CONF_LINE_MAX, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "no crl_url"));
}
END_TEST

/* A second, unrelated CA (its own state directory under fx_tmp). */
static void
other_ca(char *dir, size_t n)
{
	struct state_init_opts o;
	struct lerr e;

	snprintf(dir, n, "%s/other", fx_tmp);
	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.name = "other";
	o.key_type = KEYSTORE_ECDSA_P256;
	if (state_init(&o, NULL, &e) != 0)
		ck_abort_msg("state_init: %s", e.msg);
}

START_TEST(test_load_foreign_issuing)
{
	char other[STATE_PATH_MAX], from[STATE_PATH_MAX], to[STATE_PATH_MAX];

	other_ca(other, sizeof(other));
	ck_assert_int_eq(state_path(from, other, SIGNER_ISSUING_PEM), 0);
	ck_assert_int_eq(state_path(to, fx_dir, SIGNER_ISSUING_PEM), 0);
	copy_file(from, to, 0644);
	load_fails(LERR_INVARIANT, "the issuing CA does not verify under the root");
}
END_TEST

START_TEST(test_load_foreign_root)
{
	char other[STATE_PATH_MAX], from[STATE_PATH_MAX], to[STATE_PATH_MAX];

	other_ca(other, sizeof(other));
	ck_assert_int_eq(state_path(from, other, SIGNER_ROOT_PEM), 0);
	ck_assert_int_eq(state_path(to, fx_dir, SIGNER_ROOT_PEM), 0);
	copy_file(from, to, 0644);
	load_fails(LERR_INVARIANT, "do not form a valid CA chain");
}
END_TEST

/* A self-issued "root" signed by another key, an expired root, a leaf
 * as issuing CA, and the root as its own issuing CA: all refused. */
START_TEST(test_verify_ca_chain)
{
	unsigned char serial_b[X509_SERIAL_LEN] = { 0x12, 2 };
	gnutls_x509_privkey_t xa = NULL, xb = NULL;
	gnutls_privkey_t a = NULL, b = NULL;
	gnutls_pubkey_t pa = NULL;
	gnutls_x509_crt_t ra = NULL, rb = NULL, forged = NULL, old = NULL, leaf = NULL;
	struct x509_ca_params cp;
	struct sign_ctx ctx;
	struct sign_out out;
	struct sign_req r = { POLICY_DEVICE, 0, serial };
	struct names permitted;
	struct csr *c;
	struct lerr e;
	time_t now = time(NULL);

	names_init(&permitted);
	ck_assert_int_eq(names_add_dns(&permitted, "local"), 0);
	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &xa, &e), 0);
	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &xb, &e), 0);
	ck_assert_int_eq(gnutls_privkey_init(&a), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(a, xa, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), 0);
	ck_assert_int_eq(gnutls_privkey_init(&b), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(b, xb, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), 0);
	ck_assert_int_eq(keystore_pubkey(a, &pa, &e), 0);
	memset(&cp, 0, sizeof(cp));
	cp.ou = "Same Root";
	cp.permitted = &permitted;
	cp.pathlen = 1;
	cp.not_before = now - 60;
	cp.not_after = now + 86400;
	cp.serial = serial;
	ck_assert_int_eq(x509_make_root(&cp, a, &ra, &e), 0);
	cp.serial = serial_b;
	ck_assert_int_eq(x509_make_root(&cp, b, &rb, &e), 0);
	/* rb's issuing CA under ra, and ra as its own issuing CA. */
	ck_assert_int_eq(x509_make_ca(&cp, pa, rb, b, &forged, &e), 0);
	ck_assert_int_eq(x509_verify_ca_chain(rb, forged, &e), 0);	/* control */
	ck_assert_int_eq(x509_verify_ca_chain(ra, forged, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "the issuing CA does not verify under the root"));
	ck_assert_int_eq(x509_verify_ca_chain(ra, ra, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "the root itself"));
	/* A root whose self-signature is damaged (last byte of the DER, the
	 * end of the signature value) is self-issued but not self-signed. */
	{
		gnutls_datum_t der = { NULL, 0 };
		gnutls_x509_crt_t bent = NULL;

		ck_assert_int_eq(x509_export_der(ra, &der), 0);
		der.data[der.size - 1] ^= 0x01;
		ck_assert_int_eq(x509_import(der.data, der.size, &bent, &e), 0);
		ck_assert_int_eq(gnutls_x509_crt_check_issuer(bent, bent), 1);
		ck_assert_int_eq(x509_verify_ca_chain(bent, rb, &e), -1);
		ck_assert_ptr_nonnull(strstr(e.msg, "the root does not verify under its own key"));
		gnutls_x509_crt_deinit(bent);
		gnutls_free(der.data);
	}
	gnutls_x509_crt_deinit(forged);
	forged = NULL;
	ck_assert_int_eq(x509_make_ca(&cp, pa, ra, a, &forged, &e), 0);
	ck_assert_int_eq(x509_verify_ca_chain(ra, forged, &e), 0);	/* control */
	cp.not_before = now - 2 * 86400;
	cp.not_after = now - 86400;
	ck_assert_int_eq(x509_make_root(&cp, a, &old, &e), 0);
	ck_assert_int_eq(x509_verify_ca_chain(old, forged, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "the root does not verify"));

	/* A leaf is not an issuing CA. */
	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), 0);
	ck_assert_int_eq(x509_verify_ca_chain(ctx.chain[1], ctx.chain[0], &e), 0);
	c = parse("p256.pem");
	ck_assert_int_eq(sign_leaf(&ctx, c, &r, &out, &e), 0);
	ck_assert_int_eq(x509_import(out.der.data, out.der.size, &leaf, &e), 0);
	ck_assert_int_eq(x509_verify_ca_chain(ctx.chain[1], leaf, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "the issuing CA is not a CA"));
	csr_free(c);
	sign_out_free(&out);
	sign_ctx_free(&ctx);

	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_crt_deinit(old);
	gnutls_x509_crt_deinit(forged);
	gnutls_x509_crt_deinit(rb);
	gnutls_x509_crt_deinit(ra);
	gnutls_pubkey_deinit(pa);
	gnutls_privkey_deinit(a);
	gnutls_privkey_deinit(b);
	names_free(&permitted);
}
END_TEST

/* The settings reach the leaves: the CRL URL comes from signer.conf. */
START_TEST(test_crl_url_from_conf)
{
	char path[STATE_PATH_MAX];
	const char conf[] = "crl_url = http://conf.local/crl\n";
	struct sign_ctx ctx;
	struct lerr e;

	ck_assert_int_eq(state_path(path, fx_dir, SIGNER_CONF), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(fileio_write_atomic(path, conf, sizeof(conf) - 1, 0600, 0, &e), 0);
	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), 0);
	ck_assert_str_eq(ctx.crl_url, "http://conf.local/crl");
	sign_ctx_free(&ctx);
}
END_TEST

/* An older state directory: the store's chain is adopted only when the
 * keys prove it, and never one they do not. */
START_TEST(test_adopt)
{
	char other[STATE_PATH_MAX], path[STATE_PATH_MAX];
	struct signer_adopt a, bad;
	struct sign_ctx ctx;
	struct lerr e;

	ck_assert_int_eq(state_signer_adopt(fx_dir, &a, &e), 0);
	other_ca(other, sizeof(other));
	ck_assert_int_eq(state_signer_adopt(other, &bad, &e), 0);
	ck_assert_int_eq(state_path(path, fx_dir, SIGNER_ISSUING_PEM), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(state_path(path, fx_dir, SIGNER_ROOT_PEM), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(signer_files_adopt(fx_dir, NULL, NULL, &e), -1);
	ck_assert_int_eq(signer_files_adopt(fx_dir, NULL, &bad, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_ptr_nonnull(strstr(e.msg, "root certificate is not for"));
	ck_assert_int_eq(signer_files_missing(fx_dir), 2);
	ck_assert_int_eq(signer_files_adopt(fx_dir, NULL, &a, &e), 0);
	ck_assert_int_eq(signer_files_missing(fx_dir), 0);
	ck_assert_int_eq(sign_ctx_load(&ctx, fx_dir, NULL, &e), 0);
	sign_ctx_free(&ctx);
	signer_adopt_free(&a);
	signer_adopt_free(&bad);
}
END_TEST

/* ---- keys/ is opened once: the daemon's user cannot swap it ---- */

/* a and b end to end into out (tests only). */
static void
cat2(char *out, size_t n, const char *a, const char *b)
{
	ck_assert_int_lt(snprintf(out, n, "%s%s", a, b), (int)n);
}

/* A copy of fx_dir's keys/ at fx_tmp/evil (into out) whose signer.conf
 * names another CRL URL: files the signer would accept, were it to read
 * them, and can be told from its own. */
static void
evil_keys(char *out, size_t n)
{
	static const char conf[] = "crl_url = http://evil.local/crl\n";
	static const char *const files[] = { "root.pem", "issuing.pem", "root.key", "issuing.key" };
	char keys[STATE_PATH_MAX], from[STATE_PATH_MAX], to[STATE_PATH_MAX];
	struct lerr e;
	size_t i;

	ck_assert_int_eq(state_path(keys, fx_dir, SIGNER_KEYS_DIR), 0);
	cat2(out, n, fx_tmp, "/evil");
	ck_assert_int_eq(mkdir(out, 0700), 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		ck_assert_int_eq(fileio_join(from, sizeof(from), keys, files[i]), 0);
		ck_assert_int_eq(fileio_join(to, sizeof(to), out, files[i]), 0);
		copy_file(from, to, strstr(files[i], ".key") != NULL ? 0600 : 0644);
	}
	ck_assert_int_eq(fileio_join(to, sizeof(to), out, "signer.conf"), 0);
	ck_assert_int_eq(fileio_write_atomic(to, conf, sizeof(conf) - 1, 0600, 0, &e), 0);
}

/* keys/ a symlink to a directory of valid files: refused. */
START_TEST(test_load_keys_symlink)
{
	char evil[STATE_PATH_MAX], keys[STATE_PATH_MAX], real[STATE_PATH_MAX];

	evil_keys(evil, sizeof(evil));
	ck_assert_int_eq(state_path(keys, fx_dir, SIGNER_KEYS_DIR), 0);
	cat2(real, sizeof(real), keys, ".real");
	ck_assert_int_eq(rename(keys, real), 0);
	ck_assert_int_eq(symlink(evil, keys), 0);
	load_fails(LERR_BAD_REQUEST, "keys");
}
END_TEST

/*
 * The race the descriptor closes: a process swaps keys/ with a symlink to
 * evil_keys() as fast as it can (renameat2 RENAME_EXCHANGE, atomic) while
 * the signer's files are loaded again and again. Checking keys/ and then
 * opening keys/<file> by path reads the evil signer.conf now and then;
 * reading everything relative to one checked descriptor never does (a load
 * may fail, when it catches the symlink, but never takes the other files).
 */
START_TEST(test_load_keys_swapped)
{
	char evil[STATE_PATH_MAX], keys[STATE_PATH_MAX], link[STATE_PATH_MAX];
	struct sign_ctx ctx;
	struct lerr e;
	int i, loaded = 0, status;
	pid_t pid;

	evil_keys(evil, sizeof(evil));
	ck_assert_int_eq(state_path(keys, fx_dir, SIGNER_KEYS_DIR), 0);
	cat2(link, sizeof(link), keys, ".link");
	ck_assert_int_eq(symlink(evil, link), 0);
	if (renameat2(AT_FDCWD, keys, AT_FDCWD, link, RENAME_EXCHANGE) != 0) {
		ck_assert_msg(errno == EINVAL || errno == ENOSYS, "renameat2: %s", strerror(errno));
		fprintf(stderr, "test_load_keys_swapped: skipped, no RENAME_EXCHANGE in %s\n",
			fx_tmp);
		return;
	}
	ck_assert_int_eq(renameat2(AT_FDCWD, keys, AT_FDCWD, link, RENAME_EXCHANGE), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		for (;;) {
			if (renameat2(AT_FDCWD, keys, AT_FDCWD, link, RENAME_EXCHANGE) != 0)
				_exit(1);
			sched_yield();	/* on a busy machine, let the loads run too */
		}
	}
	/* 300 loads, and more while none has succeeded yet (a loaded machine
	 * may schedule the swapper at every open of keys/ for a while). */
	for (i = 0; i < 300 || (loaded == 0 && i < 20000); i++) {
		if (sign_ctx_load(&ctx, fx_dir, NULL, &e) != 0)
			continue;
		loaded++;
		if (strcmp(ctx.crl_url, "http://evil.local/crl") == 0) {
			sign_ctx_free(&ctx);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			ck_abort_msg("load %d read a swapped keys/", i);
		}
		sign_ctx_free(&ctx);
	}
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status), "the swapping process stopped early");
	ck_assert_msg(loaded > 0, "no load succeeded while keys/ was swapped");
}
END_TEST

/* A FIFO where a file should be is refused at once: opening it must not
 * wait for a writer that never comes (the test case's timeout). */
START_TEST(test_load_fifo)
{
	static const char *const files[] = { SIGNER_ISSUING_PEM, SIGNER_CONF, SIGNER_ISSUING_KEY };
	char path[STATE_PATH_MAX];

	ck_assert_int_eq(state_path(path, fx_dir, files[_i]), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	load_fails(LERR_BAD_REQUEST, "not a regular file");
}
END_TEST

/* Adoption checks keys/ too: through a symlinked keys/ it writes nothing. */
START_TEST(test_adopt_keys_symlink)
{
	char keys[STATE_PATH_MAX], real[STATE_PATH_MAX], path[STATE_PATH_MAX];
	struct signer_adopt a;
	struct lerr e;

	ck_assert_int_eq(state_signer_adopt(fx_dir, &a, &e), 0);
	ck_assert_int_eq(state_path(path, fx_dir, SIGNER_ISSUING_PEM), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(state_path(keys, fx_dir, SIGNER_KEYS_DIR), 0);
	cat2(real, sizeof(real), keys, ".real");
	ck_assert_int_eq(rename(keys, real), 0);
	ck_assert_int_eq(symlink(real, keys), 0);
	ck_assert_int_eq(signer_files_adopt(fx_dir, NULL, &a, &e), -1);
	ck_assert_msg(strstr(e.msg, "keys") != NULL, "%s", e.msg);
	ck_assert_int_eq(fileio_join(path, sizeof(path), real, "issuing.pem"), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	signer_adopt_free(&a);
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
	tcase_add_test(tc, test_previous_generation);
	tcase_add_test(tc, test_ca_request_ignored);
	tcase_add_test(tc, test_policy_refusals);
	tcase_add_test(tc, test_final_check_catches_bad_policy);
	tcase_add_test(tc, test_wrong_key_refused);
	tcase_add_test(tc, test_issue_records);
	tcase_add_test(tc, test_leaf_key_ids);
	tcase_add_test(tc, test_unverified_request_refused);
	tcase_add_test(tc, test_issue_remote_verifies_once);
	tcase_add_test(tc, test_verify_once);
	tcase_add_test(tc, test_verify_table_bounded);
	tcase_add_test(tc, test_issue_row_is_the_certificate);
	tcase_add_loop_test(tc, test_load_missing_file, 0, 3);
	tcase_add_loop_test(tc, test_load_wrong_owner, 0, 4);
	tcase_add_test(tc, test_load_writable_by_others);
	tcase_add_test(tc, test_load_bad_settings);
	tcase_add_test(tc, test_conf_parse);
	tcase_add_test(tc, test_load_foreign_issuing);
	tcase_add_test(tc, test_load_foreign_root);
	tcase_add_test(tc, test_verify_ca_chain);
	tcase_add_test(tc, test_crl_url_from_conf);
	tcase_add_test(tc, test_adopt);
	tcase_add_test(tc, test_load_keys_symlink);
	tcase_add_test(tc, test_load_keys_swapped);
	tcase_add_test(tc, test_adopt_keys_symlink);
	suite_add_tcase(s, tc);

	/* A signer that blocks on a FIFO never gets here: a short timeout. */
	tc = tcase_create("fifo");
	tcase_add_checked_fixture(tc, fx_make_ca, fx_remove_ca);
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_load_fifo, 0, 3);
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
