/*
 * test_csrattrs.c - csrattrs.c against files openssl encoded from their
 * structure (tests/data/csrattrs/, made by make-csrattrs-fixtures.sh): the
 * builder reproduces the golden files byte for byte and reads back as it
 * was built, also through a tree parsed from csrattrs.asn (so the table
 * in csrattrs.c cannot drift from its source); the reader takes RFC
 * 7030's own example and refuses each hostile input with a message
 * naming the fault.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <libtasn1.h>

#include "ca/csrattrs.h"
#include "common/fileio.h"
#include "common/lerr.h"

#define OID_CHALLENGE_PASSWORD	"1.2.840.113549.1.9.7"
#define OID_EC_PUBLIC_KEY	"1.2.840.10045.2.1"
#define OID_SECP256R1		"1.2.840.10045.3.1.7"
#define OID_ECDSA_SHA256	"1.2.840.10045.4.3.2"

/* Reads tests/data/csrattrs/NAME (caller frees). */
static unsigned char *
fixture(const char *name, size_t *len)
{
	char path[512];
	unsigned char *p = NULL;
	struct lerr e;
	int w;

	w = snprintf(path, sizeof(path), "%s/tests/data/csrattrs/%s", TEST_SRCDIR, name);
	ck_assert(w > 0 && (size_t)w < sizeof(path));
	if (fileio_read(path, 1 << 16, 0, &p, len, &e) != 0)
		ck_abort_msg("%s", e.msg);
	return p;
}

/* csrattrs_build for challenge_password cp, failing the test on error. */
static gnutls_datum_t
build(int cp)
{
	struct csrattrs_want w = { .challenge_password = cp };
	gnutls_datum_t der = { NULL, 0 };
	struct lerr e;

	lerr_clear(&e);
	if (csrattrs_build(&w, &der, &e) != 0)
		ck_abort_msg("csrattrs_build: %s", e.msg);
	ck_assert_ptr_nonnull(der.data);
	return der;
}

/* Asserts that parsing data fails with LERR_BAD_REQUEST and a message
 * containing what, and that nothing is reported read. */
static void
refused(const unsigned char *data, size_t len, size_t max, const char *what)
{
	struct csrattrs_entry out[CSRATTRS_MAX];
	struct lerr e;
	size_t n = 99;

	lerr_clear(&e);
	ck_assert_int_eq(csrattrs_parse(data, len, out, max, &n, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_msg(strstr(e.msg, what) != NULL, "\"%s\" does not say \"%s\"", e.msg, what);
	ck_assert_uint_eq(n, 0);
}

static void
refused_file(const char *name, const char *what)
{
	unsigned char *p;
	size_t len;

	p = fixture(name, &len);
	refused(p, len, CSRATTRS_MAX, what);
	free(p);
}

/* Asserts entry o is an OID alone, or an attribute of type oid whose
 * first value is value. */
static void
is_oid(const struct csrattrs_entry *o, const char *oid)
{
	ck_assert_int_eq(o->is_attribute, 0);
	ck_assert_str_eq(o->oid, oid);
	ck_assert_str_eq(o->value, "");
}

static void
is_attr(const struct csrattrs_entry *o, const char *oid, const char *value)
{
	ck_assert_int_eq(o->is_attribute, 1);
	ck_assert_str_eq(o->oid, oid);
	ck_assert_str_eq(o->value, value);
}

/* The builder's output is what openssl encodes from the structure. */
static void
golden(int cp, const char *name)
{
	gnutls_datum_t der = build(cp);
	unsigned char *want;
	size_t len;

	want = fixture(name, &len);
	ck_assert_uint_eq(der.size, len);
	ck_assert_mem_eq(der.data, want, len);
	free(want);
	gnutls_free(der.data);
}

START_TEST(build_golden)
{
	golden(0, "lanca.der");
}
END_TEST

START_TEST(build_golden_binding)
{
	golden(1, "lanca-binding.der");
}
END_TEST

START_TEST(build_parse_back)
{
	struct csrattrs_entry out[CSRATTRS_MAX];
	gnutls_datum_t der = build(0);
	struct lerr e;
	size_t n = 0;

	lerr_clear(&e);
	ck_assert_msg(csrattrs_parse(der.data, der.size, out, CSRATTRS_MAX, &n, &e) == 0,
		      "%s", e.msg);
	ck_assert_uint_eq(n, 2);
	is_attr(&out[0], OID_EC_PUBLIC_KEY, OID_SECP256R1);
	is_oid(&out[1], OID_ECDSA_SHA256);
	gnutls_free(der.data);
}
END_TEST

START_TEST(build_parse_back_binding)
{
	struct csrattrs_entry out[CSRATTRS_MAX];
	gnutls_datum_t der = build(1);
	struct lerr e;
	size_t n = 0;

	lerr_clear(&e);
	ck_assert_msg(csrattrs_parse(der.data, der.size, out, CSRATTRS_MAX, &n, &e) == 0,
		      "%s", e.msg);
	ck_assert_uint_eq(n, 3);
	is_oid(&out[0], OID_CHALLENGE_PASSWORD);
	is_attr(&out[1], OID_EC_PUBLIC_KEY, OID_SECP256R1);
	is_oid(&out[2], OID_ECDSA_SHA256);
	gnutls_free(der.data);
}
END_TEST

/* Decodes what the builder made with definitions parsed from
 * csrattrs.asn itself, not with the table compiled into csrattrs.c. */
START_TEST(build_matches_asn_source)
{
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "", path[512], buf[64];
	asn1_node defs = NULL, attrs = NULL;
	gnutls_datum_t der = build(1);
	int len, w;

	w = snprintf(path, sizeof(path), "%s/src/ca/csrattrs.asn", TEST_SRCDIR);
	ck_assert(w > 0 && (size_t)w < sizeof(path));
	ck_assert_msg(asn1_parser2tree(path, &defs, err) == ASN1_SUCCESS, "%s", err);
	ck_assert_int_eq(asn1_create_element(defs, "LancaCsrAttrs.CsrAttrs", &attrs),
			 ASN1_SUCCESS);
	len = (int)der.size;
	ck_assert_msg(asn1_der_decoding2(&attrs, der.data, &len, ASN1_DECODE_FLAG_STRICT_DER,
					 err) == ASN1_SUCCESS, "%s", err);
	ck_assert_int_eq(len, (int)der.size);
	len = sizeof(buf);
	ck_assert_int_eq(asn1_read_value(attrs, "?2", buf, &len), ASN1_SUCCESS);
	ck_assert_str_eq(buf, "attribute");
	len = sizeof(buf);
	ck_assert_int_eq(asn1_read_value(attrs, "?2.attribute.type", buf, &len), ASN1_SUCCESS);
	ck_assert_str_eq(buf, OID_EC_PUBLIC_KEY);
	len = sizeof(buf);
	ck_assert_int_eq(asn1_read_value(attrs, "?3.oid", buf, &len), ASN1_SUCCESS);
	ck_assert_str_eq(buf, OID_ECDSA_SHA256);
	asn1_delete_structure(&attrs);
	asn1_delete_structure(&defs);
	gnutls_free(der.data);
}
END_TEST

/* RFC 7030 §4.5.2's example, an OID value of another attribute included. */
START_TEST(parse_rfc7030_example)
{
	struct csrattrs_entry out[CSRATTRS_MAX];
	unsigned char *p;
	struct lerr e;
	size_t len, n = 0;

	p = fixture("rfc7030.der", &len);
	lerr_clear(&e);
	ck_assert_msg(csrattrs_parse(p, len, out, CSRATTRS_MAX, &n, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(n, 4);
	is_oid(&out[0], OID_CHALLENGE_PASSWORD);
	is_attr(&out[1], OID_EC_PUBLIC_KEY, "1.3.132.0.34");
	is_attr(&out[2], "1.2.840.113549.1.9.14", "1.3.6.1.1.1.1.22");
	is_oid(&out[3], "1.2.840.10045.4.3.3");
	free(p);
}
END_TEST

/* A value that is not an OID (an RSA size) is read as "". */
START_TEST(parse_non_oid_value)
{
	struct csrattrs_entry out[CSRATTRS_MAX];
	unsigned char *p;
	struct lerr e;
	size_t len, n = 0;

	p = fixture("rsa-size.der", &len);
	lerr_clear(&e);
	ck_assert_msg(csrattrs_parse(p, len, out, CSRATTRS_MAX, &n, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(n, 1);
	is_attr(&out[0], "1.2.840.113549.1.1.1", "");
	free(p);
}
END_TEST

START_TEST(parse_empty_sequence)
{
	struct csrattrs_entry out[1];
	unsigned char *p;
	struct lerr e;
	size_t len, n = 99;

	p = fixture("empty.der", &len);
	lerr_clear(&e);
	ck_assert_msg(csrattrs_parse(p, len, out, 1, &n, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(n, 0);
	free(p);
}
END_TEST

START_TEST(truncated)
{
	refused_file("truncated.der", "truncated");
}
END_TEST

/* Every strict prefix of a valid CsrAttrs is refused. */
START_TEST(every_prefix)
{
	gnutls_datum_t der = build(1);
	size_t i;

	for (i = 1; i < der.size; i++)
		refused(der.data, i, CSRATTRS_MAX, "csrattrs: ");
	gnutls_free(der.data);
}
END_TEST

START_TEST(trailing_garbage)
{
	refused_file("trailing.der", "7 bytes of trailing data");
}
END_TEST

START_TEST(wrong_outer_tag)
{
	refused_file("set-outer.der", "not a SEQUENCE");
}
END_TEST

START_TEST(hundred_entries)
{
	refused_file("hundred.der", "100 entries, more than 16");
}
END_TEST

/* The caller's max binds too, below CSRATTRS_MAX. */
START_TEST(more_than_max)
{
	gnutls_datum_t der = build(1);

	refused(der.data, der.size, 2, "3 entries, more than 2");
	gnutls_free(der.data);
}
END_TEST

START_TEST(long_oid)
{
	refused_file("long-oid.der", "an OID longer than 63 characters");
}
END_TEST

START_TEST(attribute_without_values)
{
	refused_file("no-values.der", "an attribute with no value");
}
END_TEST

START_TEST(neither_form)
{
	refused_file("integer-entry.der", "entry 2 (tag 0x02) is neither an OID nor an Attribute");
}
END_TEST

/* BER's indefinite length around a valid entry. */
START_TEST(indefinite_length)
{
	gnutls_datum_t der = build(0);
	unsigned char *ber = malloc(der.size + 2);

	ck_assert_ptr_nonnull(ber);
	ber[0] = 0x30;
	ber[1] = 0x80;
	memcpy(ber + 2, der.data + 2, der.size - 2);
	ber[der.size] = 0;
	ber[der.size + 1] = 0;
	refused(ber, der.size + 2, CSRATTRS_MAX, "indefinite length");
	free(ber);
	gnutls_free(der.data);
}
END_TEST

START_TEST(oversized_and_empty)
{
	unsigned char *big = calloc(1, CSRATTRS_DER_MAX + 1);

	ck_assert_ptr_nonnull(big);
	refused(big, CSRATTRS_DER_MAX + 1, CSRATTRS_MAX, "4097 bytes, more than 4096");
	refused(big, 0, CSRATTRS_MAX, "empty");
	free(big);
}
END_TEST

static Suite *
csrattrs_suite(void)
{
	Suite *s = suite_create("csrattrs");
	TCase *ok = tcase_create("built and read");
	TCase *bad = tcase_create("refused");

	tcase_add_test(ok, build_golden);
	tcase_add_test(ok, build_golden_binding);
	tcase_add_test(ok, build_parse_back);
	tcase_add_test(ok, build_parse_back_binding);
	tcase_add_test(ok, build_matches_asn_source);
	tcase_add_test(ok, parse_rfc7030_example);
	tcase_add_test(ok, parse_non_oid_value);
	tcase_add_test(ok, parse_empty_sequence);
	suite_add_tcase(s, ok);

	tcase_add_test(bad, truncated);
	tcase_add_test(bad, every_prefix);
	tcase_add_test(bad, trailing_garbage);
	tcase_add_test(bad, wrong_outer_tag);
	tcase_add_test(bad, hundred_entries);
	tcase_add_test(bad, more_than_max);
	tcase_add_test(bad, long_oid);
	tcase_add_test(bad, attribute_without_values);
	tcase_add_test(bad, neither_form);
	tcase_add_test(bad, indefinite_length);
	tcase_add_test(bad, oversized_and_empty);
	suite_add_tcase(s, bad);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(csrattrs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
