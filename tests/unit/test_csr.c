/*
 * test_csr.c - csr.c over the committed requests in tests/data/csr/ (made
 * by tests/data/make-csr-fixtures.sh): the accepted key types and both PEM
 * labels, then one test per hostile input, each asserting its error code;
 * the unverified parse a daemon uses before a remote signer; SANs read
 * from requests made in memory.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>

#include "ca/csr.h"
#include "common/lerr.h"

#define FIXTURE_MAX	(64 * 1024)

/* Reads tests/data/csr/<name> into a malloc'd buffer; fails the test if absent. */
static unsigned char *
fixture(const char *name, size_t *len)
{
	char path[512];
	unsigned char *data;
	FILE *f;
	int w;

	w = snprintf(path, sizeof(path), "%s/tests/data/csr/%s", TEST_SRCDIR, name);
	ck_assert(w > 0 && (size_t)w < sizeof(path));
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	data = malloc(FIXTURE_MAX);
	ck_assert_ptr_nonnull(data);
	*len = fread(data, 1, FIXTURE_MAX, f);
	ck_assert(ferror(f) == 0 && *len < FIXTURE_MAX);
	fclose(f);
	return data;
}

/* Parses a fixture that must be accepted; the caller frees the result. */
static struct csr *
parse_ok(const char *name)
{
	struct csr *c = NULL;
	struct lerr e;
	unsigned char *data;
	size_t len;
	int rc;

	lerr_clear(&e);
	data = fixture(name, &len);
	rc = csr_parse(data, len, &c, &e);
	free(data);
	ck_assert_msg(rc == 0, "%s refused: %s: %s", name, lerr_str(e.code), e.msg);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* Parses a fixture that must be refused with code/http and a message containing want. */
static void
parse_bad(const char *name, enum lerr_code code, int http, const char *want)
{
	struct csr *c = (struct csr *)&c;	/* must be reset to NULL */
	struct lerr e;
	unsigned char *data;
	size_t len;

	lerr_clear(&e);
	data = fixture(name, &len);
	ck_assert_int_eq(csr_parse(data, len, &c, &e), -1);
	free(data);
	ck_assert_ptr_null(c);
	ck_assert_int_ne(e.code, LERR_NONE);
	ck_assert_msg(e.code == code, "%s: want %s, got %s (%s)", name, lerr_str(code), lerr_str(e.code), e.msg);
	ck_assert_int_eq(e.http, http);
	if (want != NULL)
		ck_assert_msg(strstr(e.msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"",
			      name, e.msg, want);
}

START_TEST(p256_pem)
{
	struct csr *c = parse_ok("p256.pem");
	static const unsigned char ip[4] = { 192, 168, 1, 10 };

	ck_assert_str_eq(c->cn, "dev-p256");
	ck_assert_int_eq(c->key_type, CSR_KEY_ECDSA_P256);
	ck_assert_uint_eq(c->key_bits, 256);
	ck_assert_uint_eq(c->sans.ndns, 1);
	ck_assert_str_eq(c->sans.dns[0], "x.local");
	ck_assert_uint_eq(c->sans.nip, 1);
	ck_assert_uint_eq(c->sans.ip[0].len, 4);
	ck_assert_uint_eq(c->sans.ip[0].prefix, 32);
	ck_assert_mem_eq(c->sans.ip[0].addr, ip, 4);
	ck_assert_int_eq(c->asked_ca, 0);
	ck_assert_ptr_nonnull(c->pubkey);
	csr_free(c);
}
END_TEST

/* key_id is the SHA-256 of the SPKI exactly as openssl computed it. */
START_TEST(p256_key_id)
{
	struct csr *c = parse_ok("p256.pem");
	char hex[65], want[80];
	unsigned char *data;
	size_t len;

	data = fixture("p256.keyid", &len);
	ck_assert_uint_ge(len, 64);
	memcpy(want, data, 64);
	want[64] = '\0';
	free(data);
	csr_key_id_hex(c, hex);
	ck_assert_str_eq(hex, want);
	csr_free(c);
}
END_TEST

/* DER and PEM of one request give the same result; export gives the DER back. */
START_TEST(p256_der_and_export)
{
	struct csr *pem = parse_ok("p256.pem");
	struct csr *der = parse_ok("p256.der");
	gnutls_datum_t out = { NULL, 0 };
	unsigned char *orig;
	size_t len;

	ck_assert_str_eq(der->cn, pem->cn);
	ck_assert_mem_eq(der->key_id, pem->key_id, sizeof(der->key_id));
	ck_assert_uint_eq(der->sans.ndns, 1);
	ck_assert_uint_eq(der->sans.nip, 1);
	ck_assert_int_eq(csr_export_der(der, &out), 0);
	orig = fixture("p256.der", &len);
	ck_assert_uint_eq(out.size, len);
	ck_assert_mem_eq(out.data, orig, len);
	free(orig);
	gnutls_free(out.data);
	csr_free(der);
	csr_free(pem);
}
END_TEST

START_TEST(new_header_pem)
{
	struct csr *c = parse_ok("new-header.pem");
	struct csr *ref = parse_ok("p256.pem");

	ck_assert_str_eq(c->cn, "dev-p256");
	ck_assert_mem_eq(c->key_id, ref->key_id, sizeof(c->key_id));
	csr_free(c);
	csr_free(ref);
}
END_TEST

/* certtool writes a text dump, then a NEW CERTIFICATE REQUEST block. */
START_TEST(certtool_request)
{
	struct csr *c = parse_ok("certtool.pem");
	static const unsigned char ip[4] = { 10, 1, 2, 3 };

	ck_assert_str_eq(c->cn, "dev-certtool");
	ck_assert_uint_eq(c->sans.ndns, 1);
	ck_assert_str_eq(c->sans.dns[0], "printer.local");
	ck_assert_uint_eq(c->sans.nip, 1);
	ck_assert_mem_eq(c->sans.ip[0].addr, ip, 4);
	csr_free(c);
}
END_TEST

START_TEST(p384)
{
	struct csr *c = parse_ok("p384.pem");

	ck_assert_int_eq(c->key_type, CSR_KEY_ECDSA_P384);
	ck_assert_uint_eq(c->key_bits, 384);
	ck_assert_str_eq(c->sans.dns[0], "sensor.home.arpa");
	ck_assert_uint_eq(c->sans.nip, 1);
	ck_assert_uint_eq(c->sans.ip[0].len, 16);
	ck_assert_uint_eq(c->sans.ip[0].prefix, 128);
	ck_assert_uint_eq(c->sans.ip[0].addr[0], 0xfd);
	ck_assert_uint_eq(c->sans.ip[0].addr[15], 0x10);
	csr_free(c);
}
END_TEST

START_TEST(ed25519)
{
	struct csr *c = parse_ok("ed25519.pem");

	ck_assert_int_eq(c->key_type, CSR_KEY_ED25519);
	ck_assert_str_eq(c->cn, "dev-ed25519");
	csr_free(c);
}
END_TEST

START_TEST(rsa2048)
{
	struct csr *c = parse_ok("rsa2048.pem");

	ck_assert_int_eq(c->key_type, CSR_KEY_RSA);
	ck_assert_uint_eq(c->key_bits, 2048);
	csr_free(c);
}
END_TEST

START_TEST(no_san)
{
	struct csr *c = parse_ok("no-san.pem");

	ck_assert_uint_eq(c->sans.ndns, 0);
	ck_assert_uint_eq(c->sans.nip, 0);
	csr_free(c);
}
END_TEST

START_TEST(max_cn)
{
	struct csr *c = parse_ok("max-cn.pem");

	ck_assert_uint_eq(strlen(c->cn), CSR_CN_MAX);
	csr_free(c);
}
END_TEST

/* Requests that parse, but whose names policy.c must refuse (test_policy). */
START_TEST(policy_names_still_parse)
{
	struct csr *c;

	c = parse_ok("public-san.pem");
	ck_assert_uint_eq(c->sans.ndns, 2);
	ck_assert_str_eq(c->sans.dns[1], "www.example.com");
	csr_free(c);
	c = parse_ok("public-ip.pem");
	ck_assert_uint_eq(c->sans.nip, 1);
	ck_assert_uint_eq(c->sans.ip[0].addr[0], 8);
	csr_free(c);
	c = parse_ok("localhost.pem");
	ck_assert_str_eq(c->sans.dns[0], "localhost");
	csr_free(c);
	c = parse_ok("loopback.pem");
	ck_assert_uint_eq(c->sans.ip[0].addr[0], 127);
	csr_free(c);
}
END_TEST

/* CA:TRUE in the extension request is reported, not refused. */
START_TEST(ca_true)
{
	struct csr *c = parse_ok("ca-true.pem");

	ck_assert_int_eq(c->asked_ca, 1);
	csr_free(c);
}
END_TEST

/* ---- one test per hostile input ---- */

START_TEST(rsa1024_weak)
{
	parse_bad("rsa1024.pem", LERR_WEAK_KEY, 400,
		  "RSA key of 1024 bits is too weak: at least 2048 required");
}
END_TEST

START_TEST(p224_weak)
{
	parse_bad("p224.pem", LERR_WEAK_KEY, 400, "SECP224R1");
}
END_TEST

START_TEST(p521_refused)
{
	parse_bad("p521.pem", LERR_UNSUPPORTED_KEY, 400, "SECP521R1");
}
END_TEST

START_TEST(secp256k1_refused)
{
	parse_bad("secp256k1.pem", LERR_UNSUPPORTED_KEY, 400, "curve");
}
END_TEST

START_TEST(dsa_unsupported)
{
	parse_bad("dsa.pem", LERR_UNSUPPORTED_KEY, 400, "DSA");
}
END_TEST

START_TEST(ed448_unsupported)
{
	parse_bad("ed448.pem", LERR_UNSUPPORTED_KEY, 400, "Ed448");
}
END_TEST

START_TEST(garbage)
{
	parse_bad("garbage.bin", LERR_BAD_CSR, 400, "not a PKCS#10 certificate request");
}
END_TEST

START_TEST(pem_garbage)
{
	parse_bad("pem-garbage.pem", LERR_BAD_CSR, 400, "not a PKCS#10 certificate request");
}
END_TEST

START_TEST(truncated_der)
{
	parse_bad("truncated.der", LERR_BAD_CSR, 400, "truncated or malformed DER");
}
END_TEST

START_TEST(bad_signature)
{
	parse_bad("badsig.der", LERR_BAD_SIGNATURE, 400, "signature");
}
END_TEST

/* Issue 13, defect 5: an MD5 self-signature is refused naming the
 * algorithm, not as a signature that does not verify. */
START_TEST(md5_signature_named)
{
	parse_bad("rsa2048-md5.pem", LERR_BAD_SIGNATURE, 400,
		  "the request is signed with RSA-MD5, which lanca does not accept (its hash is "
		  "broken): sign it with SHA-256 or better");
}
END_TEST

/* SHA-1 self-signatures stay accepted (docs/onboarding.md says why), with
 * RSA and ECDSA keys, whatever the system's crypto policy says. */
START_TEST(sha1_signature_accepted)
{
	static const char *const names[] = { "rsa2048-sha1.pem", "p256-sha1.pem" };
	gnutls_sign_algorithm_t algo;
	struct csr *c;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		c = parse_ok(names[i]);
		algo = (gnutls_sign_algorithm_t)gnutls_x509_crq_get_signature_algorithm(c->crq);
		ck_assert_int_eq(gnutls_sign_get_hash_algorithm(algo), GNUTLS_DIG_SHA1);
		ck_assert_int_eq(c->sig_verified, 1);
		csr_free(c);
	}
}
END_TEST

START_TEST(long_cn)
{
	parse_bad("long-cn.pem", LERR_BAD_NAME, 400, "CN is too long");
}
END_TEST

START_TEST(bad_cn_chars)
{
	parse_bad("bad-cn.pem", LERR_BAD_NAME, 400, "dev?one");
}
END_TEST

START_TEST(no_cn)
{
	parse_bad("no-cn.pem", LERR_BAD_NAME, 400, "no subject CN");
}
END_TEST

START_TEST(two_cn)
{
	parse_bad("two-cn.pem", LERR_BAD_NAME, 400, "more than one CN");
}
END_TEST

START_TEST(email_san)
{
	parse_bad("email-san.pem", LERR_FORBIDDEN_NAME, 400, "email");
}
END_TEST

START_TEST(uri_san)
{
	parse_bad("uri-san.pem", LERR_FORBIDDEN_NAME, 400, "URI");
}
END_TEST

START_TEST(wildcard_san)
{
	parse_bad("wildcard.pem", LERR_FORBIDDEN_NAME, 400, "*.w.local");
}
END_TEST

START_TEST(bad_dns_san)
{
	parse_bad("bad-dns.pem", LERR_BAD_NAME, 400, "-bad-.local");
}
END_TEST

START_TEST(many_sans)
{
	parse_bad("many-sans.pem", LERR_TOO_LARGE, 400, "more than 32");
}
END_TEST

START_TEST(oversized)
{
	parse_bad("oversized.pem", LERR_TOO_LARGE, 413, "too large");
}
END_TEST

/* Inputs made in memory: empty, one byte, a lone PEM header, a certificate. */
START_TEST(tiny_inputs)
{
	static const unsigned char one[1] = { 0x30 };
	static const char hdr[] = "-----BEGIN CERTIFICATE REQUEST-----\n";
	static const char cert[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	struct csr *c = NULL;
	struct lerr e;

	ck_assert_int_eq(csr_parse(one, 0, &c, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	ck_assert_int_eq(csr_parse(NULL, 0, &c, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	ck_assert_int_eq(csr_parse(one, 1, &c, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	ck_assert_int_eq(csr_parse((const unsigned char *)hdr, sizeof(hdr) - 1, &c, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	ck_assert_int_eq(csr_parse((const unsigned char *)cert, sizeof(cert) - 1, &c, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	ck_assert_ptr_null(c);
	csr_free(NULL);
}
END_TEST

/* The size cap is checked before anything else looks at the bytes. */
START_TEST(size_cap_exact)
{
	unsigned char *data, *big;
	struct csr *c = NULL;
	struct lerr e;
	size_t len;

	data = fixture("p256.der", &len);
	big = calloc(1, CSR_MAX_BYTES + 1);
	ck_assert_ptr_nonnull(big);
	memcpy(big, data, len);
	ck_assert_int_eq(csr_parse(big, CSR_MAX_BYTES + 1, &c, &e), -1);
	ck_assert_int_eq(e.code, LERR_TOO_LARGE);
	ck_assert_int_eq(e.http, 413);
	/* at the cap the size is fine; GnuTLS decides about the trailing zeros */
	if (csr_parse(big, CSR_MAX_BYTES, &c, &e) == 0)
		csr_free(c);
	else
		ck_assert_int_ne(e.code, LERR_TOO_LARGE);
	free(big);
	free(data);
}
END_TEST

/* Every prefix of a valid DER request is refused cleanly (no crash, no leak). */
START_TEST(every_prefix)
{
	unsigned char *data;
	struct csr *c = NULL;
	struct lerr e;
	size_t len, i;

	data = fixture("p256.der", &len);
	for (i = 0; i < len; i++) {
		ck_assert_int_eq(csr_parse(data, i, &c, &e), -1);
		ck_assert_ptr_null(c);
	}
	free(data);
}
END_TEST

/* The proof of possession is verified once, by csr_parse, and marked. */
START_TEST(verified_flag)
{
	struct csr *c = parse_ok("p256.pem");

	ck_assert_int_eq(c->sig_verified, 1);
	csr_free(c);
}
END_TEST

/* CSR_PARSE_NO_VERIFY leaves a bad signature for the remote signer to
 * find: the request parses, unmarked, with everything else read. */
START_TEST(no_verify_leaves_bad_signature)
{
	unsigned char *data;
	struct csr *c = NULL;
	struct lerr e;
	size_t len;

	data = fixture("badsig.der", &len);
	ck_assert_int_eq(csr_parse_flags(data, len, 0, &c, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(csr_parse_flags(data, len, CSR_PARSE_NO_VERIFY, &c, &e), 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->sig_verified, 0);
	ck_assert_str_eq(c->cn, "dev-p256");
	ck_assert_uint_eq(c->sans.ndns, 1);
	ck_assert_str_eq(c->sans.dns[0], "x.local");
	csr_free(c);
	free(data);
}
END_TEST

/* Without the signature check every other check still runs. */
START_TEST(no_verify_other_checks_run)
{
	static const struct {
		const char *name;
		enum lerr_code code;
	} bad[] = {
		{ "rsa1024.pem", LERR_WEAK_KEY },
		{ "p521.pem", LERR_UNSUPPORTED_KEY },
		{ "truncated.der", LERR_BAD_CSR },
		{ "no-cn.pem", LERR_BAD_NAME },
		{ "email-san.pem", LERR_FORBIDDEN_NAME },
		{ "wildcard.pem", LERR_FORBIDDEN_NAME },
		{ "bad-dns.pem", LERR_BAD_NAME },
		{ "many-sans.pem", LERR_TOO_LARGE },
	};
	unsigned char *data;
	struct csr *c = NULL;
	struct lerr e;
	size_t len, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		data = fixture(bad[i].name, &len);
		ck_assert_int_eq(csr_parse_flags(data, len, CSR_PARSE_NO_VERIFY, &c, &e), -1);
		ck_assert_ptr_null(c);
		ck_assert_msg(e.code == bad[i].code, "%s: want %s, got %s",
			      bad[i].name, lerr_str(bad[i].code), lerr_str(e.code));
		free(data);
	}
}
END_TEST

/* csr_verify: the proof of possession and what must come before it
 * (structure, key), with csr_parse's errors; names are not its business. */
START_TEST(verify_only_pop)
{
	static const struct {
		const char *name;
		enum lerr_code code;	/* LERR_NONE: verifies */
	} want[] = {
		{ "p256.pem", LERR_NONE },
		{ "p256.der", LERR_NONE },
		{ "ed25519.pem", LERR_NONE },
		{ "email-san.pem", LERR_NONE },
		{ "badsig.der", LERR_BAD_SIGNATURE },
		{ "rsa2048-md5.pem", LERR_BAD_SIGNATURE },
		{ "rsa2048-sha1.pem", LERR_NONE },
		{ "rsa1024.pem", LERR_WEAK_KEY },
		{ "p521.pem", LERR_UNSUPPORTED_KEY },
		{ "truncated.der", LERR_BAD_CSR },
		{ "garbage.bin", LERR_BAD_CSR },
		{ "oversized.pem", LERR_TOO_LARGE },
	};
	unsigned char *data;
	struct lerr e;
	size_t len, i;
	int rc;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		data = fixture(want[i].name, &len);
		lerr_clear(&e);
		rc = csr_verify(data, len, &e);
		ck_assert_msg(rc == (want[i].code == LERR_NONE ? 0 : -1) && e.code == want[i].code,
			      "%s: want %s, got %d %s", want[i].name, lerr_str(want[i].code), rc,
			      lerr_str(e.code));
		free(data);
	}
	ck_assert_int_eq(csr_verify(NULL, 0, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
}
END_TEST

/* key_id is the SHA-256 key id GnuTLS computes for the same key, for
 * every accepted key type (x509.c compares certificates against it). */
START_TEST(key_id_is_gnutls_sha256_key_id)
{
	static const char *const names[] = { "p256.pem", "p384.pem", "ed25519.pem", "rsa2048.pem" };
	unsigned char id[64];
	size_t i, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct csr *c = parse_ok(names[i]);

		n = sizeof(id);
		ck_assert_int_eq(gnutls_pubkey_get_key_id(c->pubkey, GNUTLS_KEYID_USE_SHA256, id, &n), 0);
		ck_assert_uint_eq(n, sizeof(c->key_id));
		ck_assert_mem_eq(id, c->key_id, n);
		csr_free(c);
	}
}
END_TEST

/* A request made here with the given DNS names, then IP addresses
 * (4-byte values); DER in *der (gnutls_free). */
static void
make_request(const char *const *dns, size_t ndns, const unsigned char (*ips)[4], size_t nip,
	     gnutls_datum_t *der)
{
	gnutls_x509_privkey_t key;
	gnutls_privkey_t pk;
	gnutls_x509_crq_t crq;
	size_t i;

	ck_assert_int_eq(gnutls_x509_privkey_init(&key), 0);
	ck_assert_int_eq(gnutls_x509_privkey_generate2(key, GNUTLS_PK_ECDSA,
			GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0), 0);
	ck_assert_int_eq(gnutls_privkey_init(&pk), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(pk, key, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), 0);
	ck_assert_int_eq(gnutls_x509_crq_init(&crq), 0);
	ck_assert_int_eq(gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, "dev-m", 5), 0);
	for (i = 0; i < nip; i++)
		ck_assert_int_eq(gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_IPADDRESS,
				ips[i], 4, GNUTLS_FSAN_APPEND), 0);
	for (i = 0; i < ndns; i++)
		ck_assert_int_eq(gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME,
				dns[i], (unsigned)strlen(dns[i]), GNUTLS_FSAN_APPEND), 0);
	ck_assert_int_eq(gnutls_x509_crq_set_key(crq, key), 0);
	ck_assert_int_eq(gnutls_x509_crq_privkey_sign(crq, pk, GNUTLS_DIG_SHA256, 0), 0);
	ck_assert_int_eq(gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, der), 0);
	gnutls_x509_crq_deinit(crq);
	gnutls_privkey_deinit(pk);
}

/* SANs read from one decode of the extension: every name, in order, of
 * both types mixed; exactly NAMES_MAX is fine; an over-long DNS name is
 * refused as malformed, not truncated. */
START_TEST(sans_decoded_once)
{
	static const unsigned char ips[2][4] = { { 10, 0, 0, 1 }, { 192, 168, 7, 9 } };
	static const char *const dns[] = { "A.Local", "b.home.arpa" };
	const char *many[NAMES_MAX];
	char names_buf[NAMES_MAX][16], longname[300];
	gnutls_datum_t der;
	struct csr *c = NULL;
	struct lerr e;
	const char *one[1];
	size_t i;

	make_request(dns, 2, ips, 2, &der);
	ck_assert_int_eq(csr_parse(der.data, der.size, &c, &e), 0);
	ck_assert_uint_eq(c->sans.ndns, 2);
	ck_assert_str_eq(c->sans.dns[0], "a.local");
	ck_assert_str_eq(c->sans.dns[1], "b.home.arpa");
	ck_assert_uint_eq(c->sans.nip, 2);
	ck_assert_mem_eq(c->sans.ip[0].addr, ips[0], 4);
	ck_assert_mem_eq(c->sans.ip[1].addr, ips[1], 4);
	csr_free(c);
	gnutls_free(der.data);

	for (i = 0; i < NAMES_MAX; i++) {
		snprintf(names_buf[i], sizeof(names_buf[i]), "d%zu.local", i);
		many[i] = names_buf[i];
	}
	make_request(many, NAMES_MAX, NULL, 0, &der);
	ck_assert_int_eq(csr_parse(der.data, der.size, &c, &e), 0);
	ck_assert_uint_eq(c->sans.ndns, NAMES_MAX);
	ck_assert_str_eq(c->sans.dns[NAMES_MAX - 1], "d31.local");
	csr_free(c);
	gnutls_free(der.data);

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (i = 60; i < sizeof(longname) - 1; i += 61)
		longname[i] = '.';
	one[0] = longname;
	make_request(one, 1, NULL, 0, &der);
	c = (struct csr *)&c;
	ck_assert_int_eq(csr_parse(der.data, der.size, &c, &e), -1);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(e.code, LERR_BAD_NAME);
	ck_assert_ptr_nonnull(strstr(e.msg, "malformed DNS name \"aaaa"));
	ck_assert_ptr_nonnull(strstr(e.msg, "...\""));
	gnutls_free(der.data);
}
END_TEST

static Suite *
csr_suite(void)
{
	Suite *s = suite_create("csr");
	TCase *ok = tcase_create("accepted");
	TCase *bad = tcase_create("refused");

	tcase_add_test(ok, p256_pem);
	tcase_add_test(ok, p256_key_id);
	tcase_add_test(ok, p256_der_and_export);
	tcase_add_test(ok, new_header_pem);
	tcase_add_test(ok, certtool_request);
	tcase_add_test(ok, p384);
	tcase_add_test(ok, ed25519);
	tcase_add_test(ok, rsa2048);
	tcase_add_test(ok, no_san);
	tcase_add_test(ok, max_cn);
	tcase_add_test(ok, policy_names_still_parse);
	tcase_add_test(ok, ca_true);
	tcase_add_test(ok, verified_flag);
	tcase_add_test(ok, key_id_is_gnutls_sha256_key_id);
	tcase_add_test(ok, sans_decoded_once);
	suite_add_tcase(s, ok);

	tcase_add_test(bad, rsa1024_weak);
	tcase_add_test(bad, p224_weak);
	tcase_add_test(bad, p521_refused);
	tcase_add_test(bad, secp256k1_refused);
	tcase_add_test(bad, dsa_unsupported);
	tcase_add_test(bad, ed448_unsupported);
	tcase_add_test(bad, garbage);
	tcase_add_test(bad, pem_garbage);
	tcase_add_test(bad, truncated_der);
	tcase_add_test(bad, bad_signature);
	tcase_add_test(bad, md5_signature_named);
	tcase_add_test(bad, sha1_signature_accepted);
	tcase_add_test(bad, long_cn);
	tcase_add_test(bad, bad_cn_chars);
	tcase_add_test(bad, no_cn);
	tcase_add_test(bad, two_cn);
	tcase_add_test(bad, email_san);
	tcase_add_test(bad, uri_san);
	tcase_add_test(bad, wildcard_san);
	tcase_add_test(bad, bad_dns_san);
	tcase_add_test(bad, many_sans);
	tcase_add_test(bad, oversized);
	tcase_add_test(bad, tiny_inputs);
	tcase_add_test(bad, size_cap_exact);
	tcase_add_test(bad, every_prefix);
	tcase_add_test(bad, no_verify_leaves_bad_signature);
	tcase_add_test(bad, no_verify_other_checks_run);
	tcase_add_test(bad, verify_only_pop);
	tcase_set_timeout(bad, 30);
	suite_add_tcase(s, bad);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(csr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
