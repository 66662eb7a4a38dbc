/*
 * test_crl.c - the CRL builder (ca/crl.c) with a CA made by state_init:
 * what crl_make produces verifies under the issuing CA and carries the
 * number, dates, AKI and entries asked for, each entry's reasonCode read
 * back through a tree parsed from src/ca/crl.asn (so crl.c's generated
 * table cannot drift from its source); the reasons' table; the bounds
 * (too many entries, bad parameters) and a key that is not the issuer's.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libtasn1.h>

#include "ca/crl.h"
#include "ca/x509.h"
#include "signer/sign.h"
#include "fixture.h"

static struct sign_ctx ctx;

static void
setup(void)
{
	struct lerr e;

	(void)fx_csr;	/* the fixture's, not needed here */
	fx_make_ca();
	if (sign_ctx_load(&ctx, fx_dir, NULL, &e) != 0)
		ck_abort_msg("sign_ctx_load: %s", e.msg);
}

static void
teardown(void)
{
	sign_ctx_free(&ctx);
	fx_remove_ca();
}

/* n entries: serial i+1 over 20 bytes, revoked an hour apart before t. */
static void
entries(struct crl_entry *ent, size_t n, time_t t, const enum crl_reason *reasons, size_t nr)
{
	size_t i;

	memset(ent, 0, n * sizeof(*ent));
	for (i = 0; i < n; i++) {
		ent[i].serial[0] = 0x41;
		ent[i].serial[18] = (unsigned char)((i + 1) >> 8);
		ent[i].serial[19] = (unsigned char)(i + 1);
		ent[i].serial_len = 20;
		ent[i].revoked_at = t - (time_t)(3600 * (n - i));
		ent[i].reason = reasons[i % nr];
	}
}

/* Each entry's reason in der, read through the tree of crl.asn itself:
 * -1 for no reasonCode. */
static void
read_reasons(const gnutls_datum_t *der, int *out, size_t n)
{
	char path[512], err[ASN1_MAX_ERROR_DESCRIPTION_SIZE], name[160];
	asn1_node defs = NULL, node = NULL, rn = NULL;
	unsigned char v[16];
	size_t i;
	int len, count;

	snprintf(path, sizeof(path), "%s/src/ca/crl.asn", TEST_SRCDIR);
	ck_assert_msg(asn1_parser2tree(path, &defs, err) == ASN1_SUCCESS, "%s", err);
	ck_assert_int_eq(asn1_create_element(defs, "LancaCrl.CertificateList", &node), 0);
	ck_assert_msg(asn1_der_decoding(&node, der->data, (int)der->size, err) == ASN1_SUCCESS,
		      "%s", err);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name),
			 "tbsCertList.revokedCertificates.?%zu.crlEntryExtensions", i + 1);
		count = 0;
		if (asn1_number_of_elements(node, name, &count) != ASN1_SUCCESS || count == 0) {
			out[i] = -1;
			continue;
		}
		ck_assert_int_eq(count, 1);
		snprintf(name, sizeof(name),
			 "tbsCertList.revokedCertificates.?%zu.crlEntryExtensions.?1.extnID", i + 1);
		len = sizeof(v);
		ck_assert_int_eq(asn1_read_value(node, name, v, &len), 0);
		ck_assert_str_eq((char *)v, "2.5.29.21");
		snprintf(name, sizeof(name),
			 "tbsCertList.revokedCertificates.?%zu.crlEntryExtensions.?1.extnValue", i + 1);
		len = sizeof(v);
		ck_assert_int_eq(asn1_read_value(node, name, v, &len), 0);
		ck_assert_int_eq(asn1_create_element(defs, "LancaCrl.CRLReason", &rn), 0);
		ck_assert_int_eq(asn1_der_decoding(&rn, v, len, NULL), 0);
		len = sizeof(v);
		ck_assert_int_eq(asn1_read_value(rn, "", v, &len), 0);
		ck_assert_int_eq(len, 1);
		out[i] = v[0];
		asn1_delete_structure(&rn);
	}
	asn1_delete_structure(&node);
	asn1_delete_structure(&defs);
}

START_TEST(test_crl_reasons_table)
{
	enum crl_reason r;

	ck_assert_int_eq(crl_reason_parse("keyCompromise", &r), 0);
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(crl_reason_parse("superseded", &r), 0);
	ck_assert_int_eq(r, 4);
	ck_assert_int_eq(crl_reason_parse("privilegeWithdrawn", &r), 0);
	ck_assert_int_eq(r, 9);
	ck_assert_int_eq(crl_reason_parse("KeyCompromise", &r), -1);
	/* Only the leaves of an issuing CA revoked by a rollover after a
	 * compromise carry it (an admin may not give it: test_admin). */
	ck_assert_int_eq(crl_reason_parse("cACompromise", &r), 0);
	ck_assert_int_eq(r, 2);
	ck_assert_int_eq(crl_reason_parse("aACompromise", &r), -1);
	ck_assert_int_eq(crl_reason_parse("key lost", &r), -1);
	ck_assert_int_eq(crl_reason_parse(NULL, &r), -1);
	ck_assert_str_eq(crl_reason_str(5), "cessationOfOperation");
	ck_assert_str_eq(crl_reason_str(2), "cACompromise");
	ck_assert_ptr_null(crl_reason_str(7));
}
END_TEST

START_TEST(test_crl_made_and_read_back)
{
	static const enum crl_reason rs[] = {
		CRL_REASON_KEY_COMPROMISE, CRL_REASON_UNSPECIFIED, CRL_REASON_SUPERSEDED,
		CRL_REASON_CESSATION_OF_OPERATION, CRL_REASON_AFFILIATION_CHANGED,
		CRL_REASON_PRIVILEGE_WITHDRAWN,
	};
	struct crl_entry ent[6];
	struct crl_params p = { 300, 1900000000, 1900000000 + 7 * 86400, ent, 6 };
	gnutls_datum_t der = { NULL, 0 };
	gnutls_x509_crl_t crl;
	unsigned char num[16], aki[64], id[X509_KEYID_MAX];
	size_t numlen = sizeof(num), akilen = sizeof(aki), idlen = 0;
	unsigned status = 1;
	int got[6];
	size_t i;
	struct lerr e;

	entries(ent, 6, p.this_update, rs, 6);
	ck_assert_msg(crl_make(&p, ctx.chain[0], ctx.key, &der, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(gnutls_x509_crl_init(&crl), 0);
	ck_assert_int_eq(gnutls_x509_crl_import(crl, &der, GNUTLS_X509_FMT_DER), 0);
	/* Made for 2030: only the date marks it (GnuTLS judges it by now). */
	ck_assert_int_eq(gnutls_x509_crl_verify(crl, &ctx.chain[0], 1, 0, &status), 0);
	ck_assert_int_eq(status & ~(unsigned)(GNUTLS_CERT_INVALID |
					      GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE), 0);
	ck_assert_int_eq(gnutls_x509_crl_get_version(crl), 2);
	ck_assert_int_eq(gnutls_x509_crl_get_crt_count(crl), 6);
	ck_assert_int_eq(gnutls_x509_crl_get_this_update(crl), p.this_update);
	ck_assert_int_eq(gnutls_x509_crl_get_next_update(crl), p.next_update);
	ck_assert_int_eq(gnutls_x509_crl_get_number(crl, num, &numlen, NULL), 0);
	/* 300 = 0x012c */
	ck_assert_int_eq(numlen, 2);
	ck_assert_int_eq(num[0], 0x01);
	ck_assert_int_eq(num[1], 0x2c);
	ck_assert_int_eq(gnutls_x509_crl_get_authority_key_id(crl, aki, &akilen, NULL), 0);
	idlen = sizeof(id);
	ck_assert_int_eq(gnutls_x509_crt_get_subject_key_id(ctx.chain[0], id, &idlen, NULL), 0);
	ck_assert_int_eq(akilen, idlen);
	ck_assert_int_eq(memcmp(aki, id, idlen), 0);
	/* The root did not sign it. */
	ck_assert_int_eq(gnutls_x509_crl_verify(crl, &ctx.chain[1], 1, 0, &status), 0);
	ck_assert_int_ne(status & (GNUTLS_CERT_SIGNATURE_FAILURE | GNUTLS_CERT_SIGNER_NOT_FOUND), 0);
	gnutls_x509_crl_deinit(crl);

	read_reasons(&der, got, 6);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(got[i], rs[i] == CRL_REASON_UNSPECIFIED ? -1 : (int)rs[i]);
	gnutls_free(der.data);
}
END_TEST

/* Without any reason no entry has extensions; with no entry, no list. */
START_TEST(test_crl_unspecified_only_and_empty)
{
	static const enum crl_reason rs[] = { CRL_REASON_UNSPECIFIED };
	struct crl_entry ent[3];
	struct crl_params p = { 1, 1900000000, 1900000000 + 3600, ent, 3 };
	gnutls_datum_t der = { NULL, 0 };
	int got[3];
	struct lerr e;

	entries(ent, 3, p.this_update, rs, 1);
	ck_assert_msg(crl_make(&p, ctx.chain[0], ctx.key, &der, &e) == 0, "%s", e.msg);
	read_reasons(&der, got, 3);
	ck_assert_int_eq(got[0], -1);
	ck_assert_int_eq(got[2], -1);
	gnutls_free(der.data);
	p.n = 0;
	ck_assert_msg(crl_make(&p, ctx.chain[0], ctx.key, &der, &e) == 0, "%s", e.msg);
	ck_assert_int_gt(der.size, 0);
	gnutls_free(der.data);
}
END_TEST

START_TEST(test_crl_bounds)
{
	static const enum crl_reason rs[] = { CRL_REASON_KEY_COMPROMISE };
	static struct crl_entry ent[CRL_ENTRIES_MAX + 1];
	struct crl_params p = { 2, 1900000000, 1900000000 + 3600, ent, CRL_ENTRIES_MAX + 1 };
	gnutls_datum_t der = { NULL, 0 };
	struct lerr e;

	entries(ent, CRL_ENTRIES_MAX + 1, p.this_update, rs, 1);
	ck_assert_int_eq(crl_make(&p, ctx.chain[0], ctx.key, &der, &e), -1);
	ck_assert_int_eq(e.code, LERR_TOO_LARGE);
	ck_assert_ptr_null(der.data);
	p.n = 2;
	p.number = 0;
	ck_assert_int_eq(crl_make(&p, ctx.chain[0], ctx.key, &der, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	p.number = 3;
	p.next_update = p.this_update;
	ck_assert_int_eq(crl_make(&p, ctx.chain[0], ctx.key, &der, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	p.next_update = p.this_update + 60;
	ent[1].reason = (enum crl_reason)7;	/* no reason has this code */
	ck_assert_int_eq(crl_make(&p, ctx.chain[0], ctx.key, &der, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ent[1].reason = CRL_REASON_SUPERSEDED;
	ent[1].revoked_at = p.this_update + 1;	/* revoked after the CRL was made */
	ck_assert_int_eq(crl_make(&p, ctx.chain[0], ctx.key, &der, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ent[1].revoked_at = p.this_update;
	ent[1].serial_len = 0;
	ck_assert_int_eq(crl_make(&p, ctx.chain[0], ctx.key, &der, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
}
END_TEST

/* Signed with a key that is not the named issuer's: the check refuses. */
START_TEST(test_crl_wrong_issuer_refused)
{
	static const enum crl_reason rs[] = { CRL_REASON_SUPERSEDED };
	struct crl_entry ent[1];
	struct crl_params p = { 9, 1900000000, 1900000000 + 3600, ent, 1 };
	gnutls_datum_t der = { NULL, 0 };
	struct lerr e;

	entries(ent, 1, p.this_update, rs, 1);
	ck_assert_int_eq(crl_make(&p, ctx.chain[1], ctx.key, &der, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_ptr_null(der.data);
	/* And a good CRL is refused against other parameters. */
	ck_assert_msg(crl_make(&p, ctx.chain[0], ctx.key, &der, &e) == 0, "%s", e.msg);
	p.number = 10;
	ck_assert_int_eq(crl_check(&der, &p, ctx.chain[0], &e), -1);
	p.number = 9;
	ent[0].reason = CRL_REASON_KEY_COMPROMISE;
	ck_assert_int_eq(crl_check(&der, &p, ctx.chain[0], &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ent[0].reason = CRL_REASON_SUPERSEDED;
	ck_assert_msg(crl_check(&der, &p, ctx.chain[0], &e) == 0, "%s", e.msg);
	gnutls_free(der.data);
}
END_TEST

/*
 * A CRL of many entries (more than the 1,000 one message to the signer
 * used to bound), with every reason and dates on both sides of 2050
 * (UTCTime, then GeneralizedTime: RFC 5280 §4.1.2.5), read back by
 * GnuTLS's own reader: the signature verifies under the issuing CA and
 * every serial and date is the one asked for, in order.
 */
START_TEST(test_crl_many_entries_read_by_gnutls)
{
	static const enum crl_reason rs[] = {
		CRL_REASON_SUPERSEDED, CRL_REASON_KEY_COMPROMISE, CRL_REASON_UNSPECIFIED,
		CRL_REASON_CESSATION_OF_OPERATION, CRL_REASON_AFFILIATION_CHANGED,
		CRL_REASON_PRIVILEGE_WITHDRAWN,
	};
	enum { N = 3000 };
	static struct crl_entry ent[N];
	/* thisUpdate in 2050, entries an hour apart back into 2049. */
	struct crl_params p = { 77, 2524608000 + 1800 * 3600, 2524608000 + 1900 * 3600, ent, N };
	gnutls_x509_crl_iter_t it = NULL;
	gnutls_datum_t der = { NULL, 0 };
	gnutls_x509_crl_t crl;
	unsigned char serial[64];
	unsigned status = 1;
	size_t i, len;
	time_t t;
	struct lerr e;

	entries(ent, N, p.this_update, rs, sizeof(rs) / sizeof(rs[0]));
	ck_assert_int_lt(ent[0].revoked_at, 2524608000);		/* 2049: UTCTime */
	ck_assert_int_ge(ent[N - 1].revoked_at, 2524608000);	/* 2050: GeneralizedTime */
	ck_assert_msg(crl_make(&p, ctx.chain[0], ctx.key, &der, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(gnutls_x509_crl_init(&crl), 0);
	ck_assert_int_eq(gnutls_x509_crl_import(crl, &der, GNUTLS_X509_FMT_DER), 0);
	ck_assert_int_eq(gnutls_x509_crl_verify(crl, &ctx.chain[0], 1, 0, &status), 0);
	ck_assert_int_eq(status & ~(unsigned)(GNUTLS_CERT_INVALID |
					      GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE), 0);
	ck_assert_int_eq(gnutls_x509_crl_get_crt_count(crl), N);
	for (i = 0; i < N; i++) {
		len = sizeof(serial);
		ck_assert_int_eq(gnutls_x509_crl_iter_crt_serial(crl, &it, serial, &len, &t), 0);
		ck_assert_uint_eq(len, ent[i].serial_len);
		ck_assert_int_eq(memcmp(serial, ent[i].serial, len), 0);
		ck_assert_int_eq(t, ent[i].revoked_at);
	}
	gnutls_x509_crl_iter_deinit(it);
	gnutls_x509_crl_deinit(crl);
	gnutls_free(der.data);
}
END_TEST

/* A CRL signed by the right key but not saying what was asked, or
 * damaged, is refused by the check, entry by entry. */
START_TEST(test_crl_check_refuses_other_entries)
{
	static const enum crl_reason rs[] = { CRL_REASON_KEY_COMPROMISE, CRL_REASON_UNSPECIFIED };
	struct crl_entry ent[4];
	struct crl_params p = { 5, 1900000000, 1900000000 + 3600, ent, 4 };
	gnutls_datum_t der = { NULL, 0 }, cut;
	struct lerr e;

	entries(ent, 4, p.this_update, rs, 2);
	ck_assert_msg(crl_make(&p, ctx.chain[0], ctx.key, &der, &e) == 0, "%s", e.msg);
	ck_assert_msg(crl_check(&der, &p, ctx.chain[0], &e) == 0, "%s", e.msg);
	ent[2].revoked_at--;				/* another date */
	ck_assert_int_eq(crl_check(&der, &p, ctx.chain[0], &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ent[2].revoked_at++;
	ent[3].serial[19] ^= 1;				/* another certificate */
	ck_assert_int_eq(crl_check(&der, &p, ctx.chain[0], &e), -1);
	ent[3].serial[19] ^= 1;
	p.n = 3;					/* one more listed than asked */
	ck_assert_int_eq(crl_check(&der, &p, ctx.chain[0], &e), -1);
	p.n = 4;
	p.next_update++;				/* other dates */
	ck_assert_int_eq(crl_check(&der, &p, ctx.chain[0], &e), -1);
	p.next_update--;
	der.data[der.size - 40] ^= 0x01;		/* a damaged signature */
	ck_assert_int_eq(crl_check(&der, &p, ctx.chain[0], &e), -1);
	der.data[der.size - 40] ^= 0x01;
	der.data[der.size / 2] ^= 0x01;			/* a damaged entry */
	ck_assert_int_eq(crl_check(&der, &p, ctx.chain[0], &e), -1);
	der.data[der.size / 2] ^= 0x01;
	cut.data = der.data;				/* cut short */
	cut.size = der.size - 1;
	ck_assert_int_eq(crl_check(&cut, &p, ctx.chain[0], &e), -1);
	ck_assert_msg(crl_check(&der, &p, ctx.chain[0], &e) == 0, "%s", e.msg);
	gnutls_free(der.data);
}
END_TEST

START_TEST(test_crl_pem)
{
	static const enum crl_reason rs[] = { CRL_REASON_SUPERSEDED };
	struct crl_entry ent[1];
	struct crl_params p = { 9, 1900000000, 1900000000 + 3600, ent, 1 };
	gnutls_datum_t der = { NULL, 0 }, pem = { NULL, 0 };
	gnutls_x509_crl_t crl;
	struct lerr e;

	entries(ent, 1, p.this_update, rs, 1);
	ck_assert_msg(crl_make(&p, ctx.chain[0], ctx.key, &der, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(crl_pem(der.data, der.size, &pem), 0);
	ck_assert_int_eq(strncmp((char *)pem.data, "-----BEGIN X509 CRL-----\n", 25), 0);
	ck_assert_int_eq(gnutls_x509_crl_init(&crl), 0);
	ck_assert_int_eq(gnutls_x509_crl_import(crl, &pem, GNUTLS_X509_FMT_PEM), 0);
	ck_assert_int_eq(gnutls_x509_crl_get_crt_count(crl), 1);
	gnutls_x509_crl_deinit(crl);
	gnutls_free(pem.data);
	gnutls_free(der.data);
}
END_TEST

static Suite *
crl_suite(void)
{
	Suite *s = suite_create("crl");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_crl_reasons_table);
	tcase_add_test(tc, test_crl_made_and_read_back);
	tcase_add_test(tc, test_crl_unspecified_only_and_empty);
	tcase_add_test(tc, test_crl_bounds);
	tcase_add_test(tc, test_crl_wrong_issuer_refused);
	tcase_add_test(tc, test_crl_many_entries_read_by_gnutls);
	tcase_add_test(tc, test_crl_check_refuses_other_entries);
	tcase_add_test(tc, test_crl_pem);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(crl_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
