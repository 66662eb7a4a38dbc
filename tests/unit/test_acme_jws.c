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
 * JWK's member order and extra members. keyChange's inner JWS
 * (JWS_INNER) has neither nonce nor kid, where an outer one must have a
 * nonce. An External Account Binding MACed with HS256, HS384 and HS512
 * verifies under its key and under no other, nor cut short; one with a
 * nonce, an alg that is no MAC, or a payload that is no JWK is refused;
 * and the corpus's bindings, MACed by Python's hmac, verify here.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
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


/* ---- keyChange's inner JWS (RFC 8555 section 7.3.5) ---- */

/* jws_parse_flags(flags) of payload "{}" signed by k under h (taken). */
static int
parse_flags(const struct key *k, json_t *h, unsigned flags, struct jws *j, struct lerr *e)
{
	char *body = jws_make(k, h, "{\"account\":\"https://gw.lan/acme/acct/1\"}");
	int rc;

	lerr_clear(e);
	rc = jws_parse_flags(body, strlen(body), flags, j, e);
	free(body);
	json_decref(h);
	return rc;
}

START_TEST(test_inner)
{
	struct key k;
	struct jws j;
	struct lerr e;
	const char *url = "https://gw.lan/acme/key-change";

	key_make(&k, JWS_ES256);
	/* no nonce, the new key as jwk: the inner JWS */
	ck_assert_msg(parse_flags(&k, json_pack("{s:s, s:s, s:O}", "alg", "ES256", "url", url,
						"jwk", k.jwk), JWS_INNER, &j, &e) == 0, "%s",
		      e.msg);
	ck_assert_str_eq(j.nonce, "");
	ck_assert_str_eq(j.kid, "");
	ck_assert_str_eq(j.url, url);
	ck_assert_ptr_nonnull(j.jwk);
	ck_assert_ptr_nonnull(j.jwk_text);
	ck_assert_uint_eq(strlen(j.thumbprint), JWS_THUMBPRINT_LEN);
	ck_assert_str_eq(json_string_value(json_object_get(j.payload, "account")),
			 "https://gw.lan/acme/acct/1");
	ck_assert_int_eq(jws_verify(&j, j.jwk, &e), 0);
	jws_free(&j);
	/* as an outer JWS the same is refused: it has no nonce */
	ck_assert_int_eq(parse_flags(&k, json_pack("{s:s, s:s, s:O}", "alg", "ES256", "url", url,
						   "jwk", k.jwk), 0, &j, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_ptr_nonnull(strstr(e.msg, "\"nonce\" is missing"));
	/* an inner JWS with a nonce, or with a kid (with or without a jwk) */
	ck_assert_int_eq(parse_flags(&k, json_pack("{s:s, s:s, s:s, s:O}", "alg", "ES256", "nonce",
						   "n", "url", url, "jwk", k.jwk), JWS_INNER, &j,
				     &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_ptr_nonnull(strstr(e.msg, "neither"));
	ck_assert_int_eq(parse_flags(&k, json_pack("{s:s, s:s, s:s}", "alg", "ES256", "url", url,
						   "kid", "https://gw.lan/acme/acct/1"),
				     JWS_INNER, &j, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(parse_flags(&k, json_pack("{s:s, s:s, s:s, s:O}", "alg", "ES256", "url",
						   url, "kid", "k", "jwk", k.jwk), JWS_INNER, &j,
				     &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	/* an empty nonce is a nonce too */
	ck_assert_int_eq(parse_flags(&k, json_pack("{s:s, s:s, s:s, s:O}", "alg", "ES256", "nonce",
						   "", "url", url, "jwk", k.jwk), JWS_INNER, &j, &e),
			 -1);
	/* still a url, and a key */
	ck_assert_int_eq(parse_flags(&k, json_pack("{s:s, s:O}", "alg", "ES256", "jwk", k.jwk),
				     JWS_INNER, &j, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "\"url\" is missing"));
	ck_assert_int_eq(parse_flags(&k, json_pack("{s:s, s:s}", "alg", "ES256", "url", url),
				     JWS_INNER, &j, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "neither"));
	/* jws_parse is jws_parse_flags without flags: a nonce is required */
	ck_assert_int_eq(parse_flags(&k, json_pack("{s:s, s:s, s:s, s:O}", "alg", "ES256", "nonce",
						   "n", "url", url, "jwk", k.jwk), 0, &j, &e), 0);
	ck_assert_str_eq(j.nonce, "n");
	jws_free(&j);
	key_free(&k);
}
END_TEST

/* ---- External Account Binding (RFC 8555 section 7.3.4) ---- */

static const unsigned char eab_key[] = "an EAB key an admin made, 32 by.";

/* An EAB object: header h (taken) over payload text (the JWK as JSON),
 * MACed with mac under key. */
static json_t *
eab_make(json_t *h, const char *payload, gnutls_mac_algorithm_t mac, const unsigned char *key,
	 size_t key_len)
{
	unsigned char tag[64];
	char *htext = json_dumps(h, JSON_COMPACT), *hb, *pb, *input, *tb;
	json_t *o;

	hb = b64(htext, strlen(htext));
	pb = b64(payload, strlen(payload));
	input = malloc(strlen(hb) + strlen(pb) + 2);
	sprintf(input, "%s.%s", hb, pb);
	ck_assert_int_eq(gnutls_hmac_fast(mac, key, key_len, input, strlen(input), tag), 0);
	tb = b64(tag, gnutls_hmac_get_len(mac));
	o = json_pack("{s:s, s:s, s:s}", "protected", hb, "payload", pb, "signature", tb);
	free(htext);
	free(hb);
	free(pb);
	free(input);
	free(tb);
	json_decref(h);
	return o;
}

static json_t *
eab_header(const char *alg)
{
	return json_pack("{s:s, s:s, s:s}", "alg", alg, "kid", "kid-1",
			 "url", "https://gw.lan/acme/new-account");
}

START_TEST(test_eab_macs)
{
	static const struct {
		const char *name;
		gnutls_mac_algorithm_t mac;
	} macs[] = {
		{ "HS256", GNUTLS_MAC_SHA256 },
		{ "HS384", GNUTLS_MAC_SHA384 },
		{ "HS512", GNUTLS_MAC_SHA512 },
	};
	char want[JWS_THUMBPRINT_LEN + 1], *jwk;
	gnutls_pubkey_t pub;
	struct jws_eab x;
	struct key k;
	struct lerr e;
	json_t *o;
	size_t i;

	key_make(&k, JWS_ES256);
	ck_assert_int_eq(jws_jwk_import(k.jwk, &pub, want, &e), 0);
	gnutls_pubkey_deinit(pub);
	jwk = json_dumps(k.jwk, JSON_COMPACT);
	for (i = 0; i < 3; i++) {
		o = eab_make(eab_header(macs[i].name), jwk, macs[i].mac, eab_key,
			     sizeof(eab_key) - 1);
		lerr_clear(&e);
		ck_assert_msg(jws_eab_parse(o, &x, &e) == 0, "%s: %s", macs[i].name, e.msg);
		ck_assert_int_eq(x.mac, macs[i].mac);
		ck_assert_str_eq(x.kid, "kid-1");
		ck_assert_str_eq(x.url, "https://gw.lan/acme/new-account");
		ck_assert_str_eq(x.thumbprint, want);
		ck_assert_uint_eq(x.tag_len, gnutls_hmac_get_len(macs[i].mac));
		ck_assert_msg(jws_eab_verify(&x, eab_key, sizeof(eab_key) - 1, &e) == 0, "%s: %s",
			      macs[i].name, e.msg);
		/* another key */
		ck_assert_int_eq(jws_eab_verify(&x, eab_key, sizeof(eab_key) - 2, &e), -1);
		ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
		/* the tag cut short, by one byte or to half */
		x.tag_len--;
		ck_assert_int_eq(jws_eab_verify(&x, eab_key, sizeof(eab_key) - 1, &e), -1);
		ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
		x.tag_len = gnutls_hmac_get_len(macs[i].mac) / 2;
		ck_assert_int_eq(jws_eab_verify(&x, eab_key, sizeof(eab_key) - 1, &e), -1);
		x.tag_len = gnutls_hmac_get_len(macs[i].mac);
		/* a bit of the tag changed */
		x.tag[0] ^= 0x80;
		ck_assert_int_eq(jws_eab_verify(&x, eab_key, sizeof(eab_key) - 1, &e), -1);
		ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
		jws_eab_free(&x);
		json_decref(o);
	}
	/* a tag sent cut short (the header says HS512, the tag is HS256's) */
	o = eab_make(eab_header("HS512"), jwk, GNUTLS_MAC_SHA256, eab_key, sizeof(eab_key) - 1);
	ck_assert_int_eq(jws_eab_parse(o, &x, &e), 0);
	ck_assert_int_eq(jws_eab_verify(&x, eab_key, sizeof(eab_key) - 1, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
	jws_eab_free(&x);
	jws_eab_free(NULL);
	json_decref(o);
	free(jwk);
	key_free(&k);
}
END_TEST

/* Expects jws_eab_parse of o (taken) to be refused with code. */
static void
eab_refused(json_t *o, enum lerr_code code, const char *expect)
{
	static const struct jws_eab empty;
	struct jws_eab x;
	struct lerr e;
	char *text = json_dumps(o, JSON_COMPACT);

	lerr_clear(&e);
	ck_assert_msg(jws_eab_parse(o, &x, &e) == -1, "accepted: %s", text);
	ck_assert_msg(e.code == code, "'%s': code %d, wanted %d", e.msg, e.code, code);
	ck_assert_msg(strstr(e.msg, expect) != NULL, "'%s' lacks '%s'", e.msg, expect);
	ck_assert(memcmp(&x, &empty, sizeof(x)) == 0);
	free(text);
	json_decref(o);
}

START_TEST(test_eab_refusals)
{
	const unsigned char *k = eab_key;
	size_t kl = sizeof(eab_key) - 1;
	struct key key;
	char *jwk;
	json_t *o;

	key_make(&key, JWS_ES256);
	jwk = json_dumps(key.jwk, JSON_COMPACT);
	/* a nonce: the binding is no request of its own */
	eab_refused(eab_make(json_pack("{s:s, s:s, s:s, s:s}", "alg", "HS256", "kid", "kid-1",
				       "url", "u", "nonce", "n"), jwk, GNUTLS_MAC_SHA256, k, kl),
		    LERR_BAD_REQUEST, "no nonce");
	/* an alg that is a signature, or none */
	eab_refused(eab_make(eab_header("RS256"), jwk, GNUTLS_MAC_SHA256, k, kl),
		    LERR_UNSUPPORTED_KEY, "HS256");
	eab_refused(eab_make(eab_header("ES256"), jwk, GNUTLS_MAC_SHA256, k, kl),
		    LERR_UNSUPPORTED_KEY, "HS256");
	eab_refused(eab_make(eab_header("none"), jwk, GNUTLS_MAC_SHA256, k, kl),
		    LERR_UNSUPPORTED_KEY, "HS256");
	/* a payload that is no JWK: not JSON, JSON but not a key, a weak key */
	eab_refused(eab_make(eab_header("HS256"), "not json", GNUTLS_MAC_SHA256, k, kl),
		    LERR_BAD_REQUEST, "not a JWK");
	eab_refused(eab_make(eab_header("HS256"), "{\"termsOfServiceAgreed\":true}",
			     GNUTLS_MAC_SHA256, k, kl), LERR_BAD_REQUEST, "kty");
	eab_refused(eab_make(eab_header("HS256"), "[1,2]", GNUTLS_MAC_SHA256, k, kl),
		    LERR_BAD_REQUEST, "kty");
	eab_refused(eab_make(eab_header("HS256"), "{\"kty\":\"oct\",\"k\":\"AAAA\"}",
			     GNUTLS_MAC_SHA256, k, kl), LERR_WEAK_KEY, "oct");
	/* no kid, no url, something else besides */
	eab_refused(eab_make(json_pack("{s:s, s:s}", "alg", "HS256", "url", "u"), jwk,
			     GNUTLS_MAC_SHA256, k, kl), LERR_BAD_REQUEST, "alg, kid and url");
	eab_refused(eab_make(json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", "kid-1", "x", "u"),
			     jwk, GNUTLS_MAC_SHA256, k, kl), LERR_BAD_REQUEST, "\"url\"");
	eab_refused(eab_make(json_pack("{s:s, s:s, s:s, s:s}", "alg", "HS256", "kid", "kid-1",
				       "url", "u", "jwk", "x"), jwk, GNUTLS_MAC_SHA256, k, kl),
		    LERR_BAD_REQUEST, "alg, kid and url");
	/* a kid longer than an EAB key id */
	eab_refused(eab_make(json_pack("{s:s, s:s, s:s}", "alg", "HS256", "url", "u", "kid",
				       "0123456789012345678901234567890123456789012345678901234567890"
				       "123456789"), jwk, GNUTLS_MAC_SHA256, k, kl),
		    LERR_TOO_LARGE, "kid");
	/* not a flattened JWS */
	eab_refused(json_pack("{s:s, s:s}", "protected", "e30", "payload", "e30"),
		    LERR_BAD_REQUEST, "not a flattened JWS");
	eab_refused(json_pack("[s]", "x"), LERR_BAD_REQUEST, "not a flattened JWS");
	eab_refused(json_pack("{s:s, s:s, s:s}", "protected", "!!", "payload", "e30",
			      "signature", "AA"), LERR_BAD_REQUEST, "not base64url JSON");
	/* an empty tag */
	o = eab_make(eab_header("HS256"), jwk, GNUTLS_MAC_SHA256, k, kl);
	json_object_set_new(o, "signature", json_string(""));
	eab_refused(o, LERR_BAD_REQUEST, "signature");
	free(jwk);
	key_free(&key);
}
END_TEST

/* The corpus's bindings and inner JWSs (tests/fuzz/make-jws-corpus.py:
 * MACed by Python's hmac, signed by openssl) read and verify here. */
static char *
seed(const char *name, size_t *n)
{
	char path[1024], *body;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/jws/%s", TEST_SRCDIR, name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s", path);
	body = malloc(JWS_BODY_MAX);
	*n = fread(body, 1, JWS_BODY_MAX, f);
	fclose(f);
	return body;
}

START_TEST(test_corpus_eab_inner)
{
	static const char *const eabs[] = { "13-eab-HS256", "15-eab-HS384", "17-eab-HS512" };
	static const char *const accts[] = { "14-new-acct-eab-HS256", "16-new-acct-eab-HS384",
					     "18-new-acct-eab-HS512" };
	static const char *const inners[] = { "19-inner-ES256", "21-inner-EdDSA" };
	static const unsigned char key[] = "lanca-eab-seed-key-0123456789abc";
	struct jws_eab x;
	struct jws j;
	struct lerr e;
	json_t *o;
	size_t i, n;
	char *body;

	for (i = 0; i < 3; i++) {
		body = seed(eabs[i], &n);
		o = json_loadb(body, n, 0, NULL);
		lerr_clear(&e);
		ck_assert_msg(jws_eab_parse(o, &x, &e) == 0, "%s: %s", eabs[i], e.msg);
		ck_assert_msg(jws_eab_verify(&x, key, sizeof(key) - 1, &e) == 0, "%s: %s", eabs[i],
			      e.msg);
		jws_eab_free(&x);
		json_decref(o);
		free(body);
		/* inside a new account's request: the binding's JWK is the
		 * request's */
		body = seed(accts[i], &n);
		ck_assert_int_eq(jws_parse(body, n, &j, &e), 0);
		ck_assert_int_eq(jws_verify(&j, j.jwk, &e), 0);
		ck_assert_int_eq(jws_eab_parse(json_object_get(j.payload, "externalAccountBinding"),
					       &x, &e), 0);
		ck_assert_str_eq(x.thumbprint, j.thumbprint);
		ck_assert_int_eq(jws_eab_verify(&x, key, sizeof(key) - 1, &e), 0);
		jws_eab_free(&x);
		jws_free(&j);
		free(body);
	}
	for (i = 0; i < 2; i++) {
		body = seed(inners[i], &n);
		ck_assert_int_eq(jws_parse(body, n, &j, &e), -1);
		ck_assert_msg(jws_parse_flags(body, n, JWS_INNER, &j, &e) == 0, "%s: %s", inners[i],
			      e.msg);
		ck_assert_int_eq(jws_verify(&j, j.jwk, &e), 0);
		ck_assert_ptr_nonnull(json_object_get(j.payload, "oldKey"));
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
	tcase_add_test(tc, test_inner);
	tcase_add_test(tc, test_eab_macs);
	tcase_add_test(tc, test_eab_refusals);
	tcase_add_test(tc, test_corpus_eab_inner);
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
