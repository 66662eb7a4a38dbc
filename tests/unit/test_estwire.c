/*
 * test_estwire.c - EST's base64 bodies (RFC 8951) and certs-only PKCS#7.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/estwire.h"

static void
decodes_to(const char *text, const char *want)
{
	gnutls_datum_t out;
	struct lerr e;

	lerr_clear(&e);
	ck_assert_msg(estwire_b64_decode((const unsigned char *)text, strlen(text), &out, &e) == 0,
		      "%s: %s", text, e.msg);
	ck_assert_uint_eq(out.size, strlen(want));
	ck_assert(memcmp(out.data, want, out.size) == 0);
	gnutls_free(out.data);
}

static void
refused(const char *text, const char *why)
{
	gnutls_datum_t out = { (unsigned char *)"x", 1 };
	struct lerr e;

	lerr_clear(&e);
	ck_assert_int_eq(estwire_b64_decode((const unsigned char *)text, strlen(text), &out, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_msg(strstr(e.msg, why) != NULL, "%s: %s", text, e.msg);
	ck_assert_ptr_null(out.data);
}

START_TEST(test_decode_rfc8951)
{
	decodes_to("aGVsbG8gd29ybGQ=", "hello world");
	/* Line breaks of either kind, blanks, and a final newline. */
	decodes_to("aGVsbG8g\r\nd29y\nbGQ=\r\n", "hello world");
	decodes_to("  aGVs bG8g\td29ybGQ=\n\n", "hello world");
	/* Padding left out (RFC 8951 clients may), one or two characters. */
	decodes_to("aGVsbG8gd29ybGQ", "hello world");
	decodes_to("aGVsbG8gd29ybA", "hello worl");
	refused("", "empty");
	refused(" \r\n", "empty");
	refused("aGVs*bG8=", "0x2a at offset 4");
	refused("-----BEGIN CERTIFICATE REQUEST-----", "0x2d at offset 0");
	refused("aGVsb", "5 characters");
	refused("aG==bG8g", "padding");
}
END_TEST

START_TEST(test_encode_lines)
{
	unsigned char raw[200];
	gnutls_datum_t back;
	struct buf b;
	struct lerr e;
	size_t i, col = 0, lines = 0;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 7 + 3);
	buf_init(&b, 4096);
	ck_assert_int_eq(estwire_b64_encode(raw, sizeof(raw), &b), 0);
	/* 200 bytes are 268 characters: four full lines and one of 12, each
	 * ended by CRLF. */
	for (i = 0; i < b.len; i++) {
		if (b.data[i] == '\r') {
			ck_assert_uint_lt(i + 1, b.len);
			ck_assert_int_eq(b.data[i + 1], '\n');
			ck_assert_uint_le(col, ESTWIRE_LINE);
			ck_assert(col == ESTWIRE_LINE || i + 2 == b.len);
			lines++;
			col = 0;
			i++;
			continue;
		}
		col++;
	}
	ck_assert_uint_eq(lines, 5);
	ck_assert_uint_eq(b.len, 268 + 2 * 5);
	ck_assert_int_eq(estwire_b64_decode(b.data, b.len, &back, &e), 0);
	ck_assert_uint_eq(back.size, sizeof(raw));
	ck_assert(memcmp(back.data, raw, sizeof(raw)) == 0);
	gnutls_free(back.data);
	buf_free(&b);

	/* A full buffer is an error, not a short answer. */
	buf_init(&b, 100);
	ck_assert_int_eq(estwire_b64_encode(raw, sizeof(raw), &b), -1);
	buf_free(&b);
}
END_TEST

/* A self-signed P-256 certificate named cn, DER. */
static void
cert_new(const char *cn, gnutls_datum_t *der)
{
	gnutls_x509_privkey_t k;
	gnutls_x509_crt_t c;
	unsigned char serial[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	char dn[64];

	snprintf(dn, sizeof(dn), "CN=%s", cn);
	ck_assert_int_ge(gnutls_x509_privkey_init(&k), 0);
	ck_assert_int_ge(gnutls_x509_privkey_generate2(k, GNUTLS_PK_ECDSA,
		GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0), 0);
	ck_assert_int_ge(gnutls_x509_crt_init(&c), 0);
	ck_assert_int_ge(gnutls_x509_crt_set_dn(c, dn, NULL), 0);
	ck_assert_int_ge(gnutls_x509_crt_set_issuer_dn(c, dn, NULL), 0);
	ck_assert_int_ge(gnutls_x509_crt_set_key(c, k), 0);
	ck_assert_int_ge(gnutls_x509_crt_set_serial(c, serial, sizeof(serial)), 0);
	ck_assert_int_ge(gnutls_x509_crt_set_activation_time(c, 1700000000), 0);
	ck_assert_int_ge(gnutls_x509_crt_set_expiration_time(c, 1900000000), 0);
	ck_assert_int_ge(gnutls_x509_crt_set_version(c, 3), 0);
	ck_assert_int_ge(gnutls_x509_crt_sign2(c, c, k, GNUTLS_DIG_SHA256, 0), 0);
	ck_assert_int_ge(gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_DER, der), 0);
	gnutls_x509_crt_deinit(c);
	gnutls_x509_privkey_deinit(k);
}

/* Whether one of the n certificates is named want. */
static int
has_cn(gnutls_x509_crt_t *c, unsigned n, const char *want)
{
	char cn[64];
	unsigned i;
	size_t len;

	for (i = 0; i < n; i++) {
		len = sizeof(cn);
		if (gnutls_x509_crt_get_dn_by_oid(c[i], GNUTLS_OID_X520_COMMON_NAME, 0, 0,
						  cn, &len) >= 0 && strcmp(cn, want) == 0)
			return 1;
	}
	return 0;
}

START_TEST(test_pkcs7_round_trip)
{
	gnutls_x509_crt_t got[ESTWIRE_CERTS_MAX];
	gnutls_datum_t certs[2], p7;
	unsigned n, i;
	struct lerr e;

	cert_new("issuing", &certs[0]);
	cert_new("root", &certs[1]);
	ck_assert_int_eq(estwire_pkcs7_build(certs, 2, &p7, &e), 0);
	ck_assert_int_eq(estwire_pkcs7_read(p7.data, p7.size, got, ESTWIRE_CERTS_MAX, &n, &e), 0);
	ck_assert_uint_eq(n, 2);
	/* Both, in the SET's order (DER sorts it), not necessarily ours. */
	ck_assert(has_cn(got, n, "issuing"));
	ck_assert(has_cn(got, n, "root"));
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(got[i]);

	/* More than the caller takes: refused, nothing left to free. */
	lerr_clear(&e);
	ck_assert_int_eq(estwire_pkcs7_read(p7.data, p7.size, got, 1, &n, &e), -1);
	ck_assert_uint_eq(n, 0);
	ck_assert_msg(strstr(e.msg, "2 certificates") != NULL, "%s", e.msg);
	/* Truncated, and not a PKCS#7 at all (a certificate). */
	ck_assert_int_eq(estwire_pkcs7_read(p7.data, p7.size / 2, got, 4, &n, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(estwire_pkcs7_read(certs[0].data, certs[0].size, got, 4, &n, &e), -1);
	ck_assert_msg(strstr(e.msg, "not a PKCS#7") != NULL, "%s", e.msg);
	gnutls_free(p7.data);

	/* An answer always carries a certificate. */
	ck_assert_int_eq(estwire_pkcs7_build(certs, 0, &p7, &e), -1);
	ck_assert_ptr_null(p7.data);
	gnutls_free(certs[0].data);
	gnutls_free(certs[1].data);
}
END_TEST

static Suite *
estwire_suite(void)
{
	Suite *s = suite_create("estwire");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_decode_rfc8951);
	tcase_add_test(tc, test_encode_lines);
	tcase_add_test(tc, test_pkcs7_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(estwire_suite());
	int failed;

	gnutls_global_init();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	gnutls_global_deinit();
	return failed == 0 ? 0 : 1;
}
