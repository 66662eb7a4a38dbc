/*
 * test_acme_jws.c - ACME's JWS requests (http/acme/jws.h), signed here
 * with GnuTLS as an ACME client signs them: each of ES256, ES384, RS256
 * and EdDSA parses and verifies, with the account key in the header (jwk)
 * or given (kid); a changed payload or header, a signature of another
 * key, an alg that is not the key's, "none" and HS256, a header with both
 * or neither of jwk and kid, a missing nonce, "crit", an unprotected
 * header, a duplicate member and a payload that is not an object are each
 * refused with the code the ACME door maps to its problem type; weak and
 * malformed JWKs (RSA-1024, P-521, a short coordinate, a point off the
 * curve, a leading zero) are refused as badPublicKey; the RFC 7638
 * thumbprint is the hash of the required members in order, whatever the
 * JWK's member order and extra members.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <jansson.h>
#include <sodium.h>

#include "http/acme/jws.h"

/* base64url of n bytes at p, malloc'd. */
static char *
b64(const void *p, size_t n)
{
	size_t max = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = malloc(max);

	ck_assert_ptr_nonnull(out);
	sodium_bin2base64(out, max, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/* The integer d (big-endian, maybe with DER's leading zero) as exactly
 * n bytes into out. */
static void
fixed(const gnutls_datum_t *d, size_t n, unsigned char *out)
{
	const unsigned char *p = d->data;
	size_t len = d->size;

	while (len > n && *p == 0)
		p++, len--;
	ck_assert_uint_le(len, n);
	memset(out, 0, n);
	memcpy(out + n - len, p, len);
}

/* d as exactly n bytes, base64url. */
static char *
b64_fixed(const gnutls_datum_t *d, size_t n)
{
	unsigned char buf[128];

	fixed(d, n, buf);
	return b64(buf, n);
}

struct key {
	gnutls_privkey_t priv;
	gnutls_pubkey_t pub;
	json_t *jwk;
	enum jws_alg alg;
	gnutls_sign_algorithm_t salg;
	size_t half;	/* ECDSA's R and S size, 0 otherwise */
};

static void
key_make(struct key *k, enum jws_alg alg)
{
	gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 };
	gnutls_ecc_curve_t curve;
	gnutls_pk_algorithm_t pk;
	unsigned bits;
	char *a, *b;

	memset(k, 0, sizeof(*k));
	k->alg = alg;
	switch (alg) {
	case JWS_ES256:
		pk = GNUTLS_PK_ECDSA, bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1);
		k->salg = GNUTLS_SIGN_ECDSA_SHA256, k->half = 32;
		break;
	case JWS_ES384:
		pk = GNUTLS_PK_ECDSA, bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1);
		k->salg = GNUTLS_SIGN_ECDSA_SHA384, k->half = 48;
		break;
	case JWS_RS256:
		pk = GNUTLS_PK_RSA, bits = 2048, k->salg = GNUTLS_SIGN_RSA_SHA256;
		break;
	default:
		pk = GNUTLS_PK_EDDSA_ED25519, bits = 256, k->salg = GNUTLS_SIGN_EDDSA_ED25519;
		break;
	}
	ck_assert_int_eq(gnutls_privkey_init(&k->priv), 0);
	ck_assert_int_eq(gnutls_privkey_generate2(k->priv, pk, bits, 0, NULL, 0), 0);
	ck_assert_int_eq(gnutls_pubkey_init(&k->pub), 0);
	ck_assert_int_eq(gnutls_pubkey_import_privkey(k->pub, k->priv, 0, 0), 0);
	if (pk == GNUTLS_PK_RSA) {
		ck_assert_int_eq(gnutls_pubkey_export_rsa_raw2(k->pub, &x, &y, GNUTLS_EXPORT_FLAG_NO_LZ), 0);
		a = b64(x.data, x.size);
		b = b64(y.data, y.size);
		k->jwk = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", a, "e", b);
	} else if (pk == GNUTLS_PK_ECDSA) {
		ck_assert_int_eq(gnutls_pubkey_export_ecc_raw2(k->pub, &curve, &x, &y,
							     GNUTLS_EXPORT_FLAG_NO_LZ), 0);
		a = b64_fixed(&x, k->half);
		b = b64_fixed(&y, k->half);
		k->jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
				   k->half == 32 ? "P-256" : "P-384", "x", a, "y", b);
	} else {
		ck_assert_int_eq(gnutls_pubkey_export_ecc_raw2(k->pub, &curve, &x, NULL, 0), 0);
		a = b64(x.data, x.size);
		b = NULL;
		k->jwk = json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", a);
	}
	ck_assert_ptr_nonnull(k->jwk);
	free(a);
	free(b);
	gnutls_free(x.data);
	gnutls_free(y.data);
}

static void
key_free(struct key *k)
{
	gnutls_privkey_deinit(k->priv);
	gnutls_pubkey_deinit(k->pub);
	json_decref(k->jwk);
}

/* A flattened JWS of payload (NULL: POST-as-GET) under header, signed by
 * k, as JSON text (malloc'd). */
static char *
jws_make(const struct key *k, json_t *header, const char *payload)
{
	gnutls_datum_t in, sig = { NULL, 0 }, r = { NULL, 0 }, s = { NULL, 0 };
	char *htext, *hb, *pb, *sb, *input, *body;
	unsigned char raw[96];
	json_t *o;

	htext = json_dumps(header, JSON_COMPACT);
	hb = b64(htext, strlen(htext));
	pb = payload != NULL ? b64(payload, strlen(payload)) : strdup("");
	input = malloc(strlen(hb) + strlen(pb) + 2);
	sprintf(input, "%s.%s", hb, pb);
	in.data = (unsigned char *)input;
	in.size = (unsigned)strlen(input);
	ck_assert_int_eq(gnutls_privkey_sign_data2(k->priv, k->salg, 0, &in, &sig), 0);
	if (k->half != 0) {
		ck_assert_int_eq(gnutls_decode_rs_value(&sig, &r, &s), 0);
		fixed(&r, k->half, raw);
		fixed(&s, k->half, raw + k->half);
		sb = b64(raw, 2 * k->half);
	} else {
		sb = b64(sig.data, sig.size);
	}
	o = json_pack("{s:s, s:s, s:s}", "protected", hb, "payload", pb, "signature", sb);
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(htext);
	free(hb);
	free(pb);
	free(sb);
	free(input);
	gnutls_free(sig.data);
	gnutls_free(r.data);
	gnutls_free(s.data);
	return body;
}

/* The usual header of a new account's request by k. */
static json_t *
header_jwk(const struct key *k)
{
	return json_pack("{s:s, s:s, s:s, s:O}", "alg", jws_alg_name(k->alg), "nonce", "n0nce",
			 "url", "https://gw.lan/acme/new-account", "jwk", k->jwk);
}

static const enum jws_alg all_algs[] = { JWS_ES256, JWS_ES384, JWS_RS256, JWS_EDDSA };

START_TEST(test_each_alg_verifies)
{
	struct key k;
	struct jws j;
	struct lerr e;
	json_t *h;
	char *body;

	key_make(&k, all_algs[_i]);
	h = header_jwk(&k);
	body = jws_make(&k, h, "{\"termsOfServiceAgreed\":true}");
	lerr_clear(&e);
	ck_assert_msg(jws_parse(body, strlen(body), &j, &e) == 0, "%s: %s", jws_alg_name(k.alg),
		      e.msg);
	ck_assert_int_eq(j.alg, k.alg);
	ck_assert_str_eq(j.nonce, "n0nce");
	ck_assert_str_eq(j.url, "https://gw.lan/acme/new-account");
	ck_assert_str_eq(j.kid, "");
	ck_assert_ptr_nonnull(j.jwk);
	ck_assert_uint_eq(strlen(j.thumbprint), JWS_THUMBPRINT_LEN);
	ck_assert(json_is_true(json_object_get(j.payload, "termsOfServiceAgreed")));
	ck_assert_msg(jws_verify(&j, j.jwk, &e) == 0, "%s: %s", jws_alg_name(k.alg), e.msg);
	/* the account's stored key verifies the same */
	ck_assert_int_eq(jws_verify(&j, k.pub, &e), 0);
	jws_free(&j);
	free(body);

	/* kid, and POST-as-GET's empty payload */
	json_decref(h);
	h = json_pack("{s:s, s:s, s:s, s:s}", "alg", jws_alg_name(k.alg), "nonce", "n2",
		      "url", "https://gw.lan/acme/order/1", "kid", "https://gw.lan/acme/acct/7");
	body = jws_make(&k, h, NULL);
	ck_assert_int_eq(jws_parse(body, strlen(body), &j, &e), 0);
	ck_assert_str_eq(j.kid, "https://gw.lan/acme/acct/7");
	ck_assert_ptr_null(j.jwk);
	ck_assert_ptr_null(j.payload);
	ck_assert_int_eq(jws_verify(&j, k.pub, &e), 0);
	jws_free(&j);
	free(body);
	json_decref(h);
	key_free(&k);
}
END_TEST

/* Replaces member name of the body's JSON with value; returns new text. */
static char *
body_with(const char *body, const char *name, const char *value)
{
	json_t *o = json_loads(body, 0, NULL);
	char *out;

	ck_assert_ptr_nonnull(o);
	json_object_set_new(o, name, json_string(value));
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

START_TEST(test_tampering_refused)
{
	struct key k, other;
	struct jws j;
	struct lerr e;
	json_t *h, *o;
	char *body, *bad, *pb;

	key_make(&k, JWS_ES256);
	key_make(&other, JWS_ES256);
	h = header_jwk(&k);
	body = jws_make(&k, h, "{\"a\":1}");
	/* a changed payload */
	pb = b64("{\"a\":2}", 7);
	bad = body_with(body, "payload", pb);
	ck_assert_int_eq(jws_parse(bad, strlen(bad), &j, &e), 0);
	ck_assert_int_eq(jws_verify(&j, j.jwk, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
	jws_free(&j);
	free(bad);
	free(pb);
	/* another key's signature over the same input */
	ck_assert_int_eq(jws_parse(body, strlen(body), &j, &e), 0);
	ck_assert_int_eq(jws_verify(&j, other.pub, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
	/* a cut signature */
	j.sig_len--;
	ck_assert_int_eq(jws_verify(&j, j.jwk, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
	jws_free(&j);
	/* an unprotected header beside the three */
	o = json_loads(body, 0, NULL);
	json_object_set_new(o, "header", json_pack("{s:s}", "kid", "x"));
	bad = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	ck_assert_int_eq(jws_parse(bad, strlen(bad), &j, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a flattened JWS"));
	free(bad);
	free(body);
	json_decref(h);
	key_free(&k);
	key_free(&other);
}
END_TEST

/* Signs payload "{}" by k under h and expects jws_parse to refuse it with
 * code and a message holding expect. */
static void
parse_refused(const struct key *k, json_t *h, enum lerr_code code, const char *expect)
{
	struct jws j;
	struct lerr e;
	char *body = jws_make(k, h, "{}");

	lerr_clear(&e);
	ck_assert_msg(jws_parse(body, strlen(body), &j, &e) == -1, "accepted: %s", body);
	ck_assert_msg(e.code == code, "'%s': code %d, wanted %d", e.msg, e.code, code);
	ck_assert_msg(strstr(e.msg, expect) != NULL, "'%s' lacks '%s'", e.msg, expect);
	free(body);
	json_decref(h);
}

START_TEST(test_header_refusals)
{
	struct key k, p256;
	struct jws j;
	struct lerr e;
	json_t *h;
	char *body;
	static const char dup[] = "{\"protected\":\"e30\",\"protected\":\"e30\",\"payload\":\"\","
				  "\"signature\":\"AA\"}";

	key_make(&k, JWS_ES256);
	parse_refused(&k, json_pack("{s:s, s:s, s:s, s:O}", "alg", "none", "nonce", "n", "url", "u",
				    "jwk", k.jwk), LERR_UNSUPPORTED_KEY, "alg none");
	parse_refused(&k, json_pack("{s:s, s:s, s:s, s:O}", "alg", "HS256", "nonce", "n", "url", "u",
				    "jwk", k.jwk), LERR_UNSUPPORTED_KEY, "alg HS256");
	parse_refused(&k, json_pack("{s:s, s:s, s:s, s:O, s:s}", "alg", "ES256", "nonce", "n",
				    "url", "u", "jwk", k.jwk, "kid", "k"), LERR_BAD_REQUEST, "not both");
	parse_refused(&k, json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce", "n", "url", "u"),
		      LERR_BAD_REQUEST, "not neither");
	parse_refused(&k, json_pack("{s:s, s:s, s:O}", "alg", "ES256", "url", "u", "jwk", k.jwk),
		      LERR_BAD_REQUEST, "\"nonce\" is missing");
	parse_refused(&k, json_pack("{s:s, s:s, s:O}", "alg", "ES256", "nonce", "n", "jwk", k.jwk),
		      LERR_BAD_REQUEST, "\"url\" is missing");
	parse_refused(&k, json_pack("{s:s, s:s, s:s, s:O, s:[s]}", "alg", "ES256", "nonce", "n",
				    "url", "u", "jwk", k.jwk, "crit", "b64"), LERR_BAD_REQUEST,
		      "\"crit\"");
	lerr_clear(&e);
	ck_assert_int_eq(jws_parse(dup, strlen(dup), &j, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	/* a payload that is JSON but not an object */
	h = header_jwk(&k);
	body = jws_make(&k, h, "[1]");
	ck_assert_int_eq(jws_parse(body, strlen(body), &j, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "payload is not a JSON object"));
	free(body);
	json_decref(h);
	/* ES384 named over a P-256 key */
	h = json_pack("{s:s, s:s, s:s, s:O}", "alg", "ES384", "nonce", "n", "url", "u", "jwk", k.jwk);
	key_make(&p256, JWS_ES256);
	body = jws_make(&p256, h, "{}");
	ck_assert_int_eq(jws_parse(body, strlen(body), &j, &e), 0);
	ck_assert_int_eq(jws_verify(&j, j.jwk, &e), -1);
	ck_assert_int_eq(e.code, LERR_UNSUPPORTED_KEY);
	ck_assert_ptr_nonnull(strstr(e.msg, "does not go with"));
	jws_free(&j);
	free(body);
	json_decref(h);
	/* not JSON, too large */
	ck_assert_int_eq(jws_parse("{", 1, &j, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(jws_parse("{}", JWS_BODY_MAX + 1, &j, &e), -1);
	ck_assert_int_eq(e.code, LERR_TOO_LARGE);
	key_free(&k);
	key_free(&p256);
}
END_TEST

/* Expects jws_jwk_import of text to be refused with code. */
static void
jwk_refused(const char *text, enum lerr_code code, const char *expect)
{
	char tp[JWS_THUMBPRINT_LEN + 1];
	gnutls_pubkey_t pub;
	struct lerr e;
	json_t *jwk = json_loads(text, 0, NULL);

	ck_assert_ptr_nonnull(jwk);
	lerr_clear(&e);
	ck_assert_msg(jws_jwk_import(jwk, &pub, tp, &e) == -1, "accepted: %s", text);
	ck_assert_msg(e.code == code, "'%s': code %d, wanted %d", e.msg, e.code, code);
	ck_assert_msg(strstr(e.msg, expect) != NULL, "'%s' lacks '%s'", e.msg, expect);
	ck_assert_ptr_null(pub);
	json_decref(jwk);
}

START_TEST(test_weak_jwks)
{
	gnutls_privkey_t priv;
	gnutls_pubkey_t pub;
	gnutls_datum_t n, ex;
	char text[2048], *a, *b;
	unsigned char point[32];

	/* RSA-1024 */
	ck_assert_int_eq(gnutls_privkey_init(&priv), 0);
	ck_assert_int_eq(gnutls_privkey_generate2(priv, GNUTLS_PK_RSA, 1024, 0, NULL, 0), 0);
	ck_assert_int_eq(gnutls_pubkey_init(&pub), 0);
	ck_assert_int_eq(gnutls_pubkey_import_privkey(pub, priv, 0, 0), 0);
	ck_assert_int_eq(gnutls_pubkey_export_rsa_raw2(pub, &n, &ex, GNUTLS_EXPORT_FLAG_NO_LZ), 0);
	a = b64(n.data, n.size);
	b = b64(ex.data, ex.size);
	snprintf(text, sizeof(text), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", a, b);
	jwk_refused(text, LERR_WEAK_KEY, "1024 bits");
	/* a leading zero octet */
	free(a);
	{
		unsigned char z[600];

		z[0] = 0;
		memcpy(z + 1, n.data, n.size);
		a = b64(z, n.size + 1);
	}
	snprintf(text, sizeof(text), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", a, b);
	jwk_refused(text, LERR_BAD_REQUEST, "leading zero");
	free(a);
	free(b);
	gnutls_free(n.data);
	gnutls_free(ex.data);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(priv);

	jwk_refused("{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"}", LERR_WEAK_KEY,
		    "curve P-521");
	jwk_refused("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}", LERR_WEAK_KEY,
		    "is 3 bytes, not 32");
	/* (1, 1) is not on P-256 */
	memset(point, 0, sizeof(point));
	point[31] = 1;
	a = b64(point, 32);
	snprintf(text, sizeof(text), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", a,
		 a);
	jwk_refused(text, LERR_WEAK_KEY, "not");
	free(a);
	jwk_refused("{\"kty\":\"oct\",\"k\":\"AAAA\"}", LERR_WEAK_KEY, "type oct");
	jwk_refused("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"!!\",\"y\":\"AA\"}", LERR_BAD_REQUEST,
		    "not base64url");
	jwk_refused("[]", LERR_BAD_REQUEST, "not an object");
}
END_TEST

START_TEST(test_thumbprint)
{
	char tp[JWS_THUMBPRINT_LEN + 1], tp2[JWS_THUMBPRINT_LEN + 1], want[JWS_THUMBPRINT_LEN + 1];
	char canon[512];
	unsigned char digest[32];
	gnutls_pubkey_t pub;
	struct lerr e;
	struct key k;
	json_t *shuffled;

	key_make(&k, JWS_ES256);
	lerr_clear(&e);
	ck_assert_int_eq(jws_jwk_import(k.jwk, &pub, tp, &e), 0);
	gnutls_pubkey_deinit(pub);
	/* RFC 7638 section 3: the required members, lexicographic, compact */
	snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		 json_string_value(json_object_get(k.jwk, "x")),
		 json_string_value(json_object_get(k.jwk, "y")));
	ck_assert_int_eq(gnutls_hash_fast(GNUTLS_DIG_SHA256, canon, strlen(canon), digest), 0);
	sodium_bin2base64(want, sizeof(want), digest, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	ck_assert_str_eq(tp, want);
	/* the members' order and optional ones do not count */
	shuffled = json_pack("{s:O, s:s, s:O, s:s, s:s}", "y", json_object_get(k.jwk, "y"),
			     "use", "sig", "x", json_object_get(k.jwk, "x"), "crv", "P-256",
			     "kty", "EC");
	ck_assert_int_eq(jws_jwk_import(shuffled, &pub, tp2, &e), 0);
	gnutls_pubkey_deinit(pub);
	ck_assert_str_eq(tp, tp2);
	json_decref(shuffled);
	key_free(&k);
}
END_TEST

/* What another implementation signed verifies here: the fuzz corpus's
 * seeds with a jwk (tests/fuzz/make-jws-corpus.py: openssl's ES256,
 * ES384, RS256 and EdDSA signatures over bodies as ACME clients send
 * them). */
START_TEST(test_openssl_signed)
{
	static const char *const seeds[] = { "01-ES256", "04-ES384", "07-RS256", "10-EdDSA" };
	char path[1024], *body;
	struct jws j;
	struct lerr e;
	size_t i, n;
	FILE *f;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/jws/%s", TEST_SRCDIR, seeds[i]);
		f = fopen(path, "r");
		ck_assert_msg(f != NULL, "%s", path);
		body = malloc(JWS_BODY_MAX);
		n = fread(body, 1, JWS_BODY_MAX, f);
		fclose(f);
		lerr_clear(&e);
		ck_assert_msg(jws_parse(body, n, &j, &e) == 0, "%s: %s", seeds[i], e.msg);
		ck_assert_msg(jws_verify(&j, j.jwk, &e) == 0, "%s: %s", seeds[i], e.msg);
		ck_assert_str_eq(j.nonce, "abc_-123");
		jws_free(&j);
		free(body);
	}
}
END_TEST

static Suite *
jws_suite(void)
{
	Suite *s = suite_create("acme_jws");
	TCase *tc = tcase_create("jws");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_each_alg_verifies, 0, 4);
	tcase_add_test(tc, test_tampering_refused);
	tcase_add_test(tc, test_header_refusals);
	tcase_add_test(tc, test_weak_jwks);
	tcase_add_test(tc, test_thumbprint);
	tcase_add_test(tc, test_openssl_signed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(jws_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
