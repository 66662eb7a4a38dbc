/*
 * jws.c - ACME's JSON Web Signatures (see jws.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <jansson.h>
#include <sodium.h>

#include "http/acme/jws.h"

#define JWS_RSA_MIN_BITS	2048
#define JWS_RSA_MAX_BITS	8192

static const struct {
	const char *name;
	enum jws_alg alg;
} jws_algs[] = {
	{ "ES256", JWS_ES256 },
	{ "ES384", JWS_ES384 },
	{ "RS256", JWS_RS256 },
	{ "EdDSA", JWS_EDDSA },
};

const char *
jws_alg_name(enum jws_alg alg)
{
	size_t i;

	for (i = 0; i < sizeof(jws_algs) / sizeof(jws_algs[0]); i++)
		if (jws_algs[i].alg == alg)
			return jws_algs[i].name;
	return "?";
}

/* Decodes the base64url text s (n bytes, no padding, as JWS writes it)
 * into malloc'd *out (NUL-terminated, not counted in *len). 0, or -1. */
static int
jws_b64(const char *s, size_t n, unsigned char **out, size_t *len)
{
	const char *end = NULL;
	size_t max = n / 4 * 3 + 3;

	*out = malloc(max + 1);
	if (*out == NULL)
		return -1;
	if (sodium_base642bin(*out, max, s, n, NULL, len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || end != s + n) {
		free(*out);
		*out = NULL;
		return -1;
	}
	(*out)[*len] = '\0';
	return 0;
}

/* A member of o that must be a string: its value and length, or NULL. */
static const char *
jws_str(const json_t *o, const char *name, size_t *len)
{
	const json_t *v = json_object_get(o, name);

	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

/* Decodes a base64url member of a JWK (what names it in messages) into
 * a datum; want != 0 asks for exactly that many bytes. */
static int
jws_jwk_bytes(const json_t *jwk, const char *name, size_t want, gnutls_datum_t *d,
	      struct lerr *e)
{
	const char *s;
	unsigned char *p;
	size_t n, len;

	if ((s = jws_str(jwk, name, &n)) == NULL || n == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the JWK has no \"%s\" string", name);
	if (jws_b64(s, n, &p, &len) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the JWK's \"%s\" is not base64url", name);
	if (want != 0 && len != want) {
		free(p);
		return lerr_set(e, LERR_WEAK_KEY, "the JWK's \"%s\" is %zu bytes, not %zu", name, len,
				want);
	}
	d->data = p;
	d->size = (unsigned)len;
	return 0;
}

/* RFC 7638: SHA-256 over the required members, in lexicographic order,
 * without white space, as base64url. The values are the JWK's as given
 * (base64url, or a plain name), checked to need no JSON escaping. */
static int
jws_thumbprint(const char *const *names, const char *const *values, size_t n,
	       char out[JWS_THUMBPRINT_LEN + 1], struct lerr *e)
{
	char canon[4096];	/* an RSA key of JWS_RSA_MAX_BITS is 1,366 of them */
	unsigned char digest[32];
	size_t i, at = 0, k;
	int w;

	canon[at++] = '{';
	for (i = 0; i < n; i++) {
		for (k = 0; values[i][k] != '\0'; k++)
			if (values[i][k] == '"' || values[i][k] == '\\' ||
			    (unsigned char)values[i][k] < 0x20)
				return lerr_set(e, LERR_BAD_REQUEST, "the JWK's \"%s\" holds a "
						"character it may not", names[i]);
		w = snprintf(canon + at, sizeof(canon) - at, "%s\"%s\":\"%s\"", i > 0 ? "," : "",
			     names[i], values[i]);
		if (w < 0 || (size_t)w >= sizeof(canon) - at - 1)
			return lerr_set(e, LERR_TOO_LARGE, "the JWK is too large");
		at += (size_t)w;
	}
	canon[at++] = '}';
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, canon, at, digest) < 0)
		return lerr_set(e, LERR_INTERNAL, "SHA-256 failed");
	sodium_bin2base64(out, JWS_THUMBPRINT_LEN + 1, digest, sizeof(digest),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

int
jws_jwk_import(const json_t *jwk, gnutls_pubkey_t *out, char thumbprint[JWS_THUMBPRINT_LEN + 1],
	       struct lerr *e)
{
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	gnutls_pubkey_t pub = NULL;
	const char *kty, *crv = NULL, *names[4], *values[4];
	size_t n, coord = 0;
	unsigned bits = 0;
	int g, rc = -1;

	*out = NULL;
	thumbprint[0] = '\0';
	if (!json_is_object(jwk) || (kty = jws_str(jwk, "kty", &n)) == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "the JWK is not an object with a \"kty\"");
	if ((g = gnutls_pubkey_init(&pub)) < 0)
		return lerr_set(e, LERR_INTERNAL, "public key: %s", gnutls_strerror(g));
	if (strcmp(kty, "EC") == 0 || strcmp(kty, "OKP") == 0) {
		if ((crv = jws_str(jwk, "crv", &n)) == NULL) {
			lerr_set(e, LERR_BAD_REQUEST, "the %s JWK has no \"crv\"", kty);
			goto out;
		}
		if (strcmp(kty, "EC") == 0 && strcmp(crv, "P-256") == 0) {
			curve = GNUTLS_ECC_CURVE_SECP256R1;
			coord = 32;
		} else if (strcmp(kty, "EC") == 0 && strcmp(crv, "P-384") == 0) {
			curve = GNUTLS_ECC_CURVE_SECP384R1;
			coord = 48;
		} else if (strcmp(kty, "OKP") == 0 && strcmp(crv, "Ed25519") == 0) {
			curve = GNUTLS_ECC_CURVE_ED25519;
			coord = 32;
		} else {
			lerr_set(e, LERR_WEAK_KEY, "a %s key on curve %.32s: lanca takes EC P-256 and "
				 "P-384, and OKP Ed25519", kty, crv);
			goto out;
		}
		if (jws_jwk_bytes(jwk, "x", coord, &a, e) != 0 ||
		    (curve != GNUTLS_ECC_CURVE_ED25519 && jws_jwk_bytes(jwk, "y", coord, &b, e) != 0))
			goto out;
		g = gnutls_pubkey_import_ecc_raw(pub, curve, &a,
						 curve != GNUTLS_ECC_CURVE_ED25519 ? &b : NULL);
		names[0] = "crv";
		values[0] = crv;
		names[1] = "kty";
		values[1] = kty;
		names[2] = "x";
		values[2] = json_string_value(json_object_get(jwk, "x"));
		names[3] = "y";
		values[3] = curve != GNUTLS_ECC_CURVE_ED25519 ?
			    json_string_value(json_object_get(jwk, "y")) : NULL;
		n = curve != GNUTLS_ECC_CURVE_ED25519 ? 4 : 3;
	} else if (strcmp(kty, "RSA") == 0) {
		if (jws_jwk_bytes(jwk, "n", 0, &a, e) != 0 || jws_jwk_bytes(jwk, "e", 0, &b, e) != 0)
			goto out;
		/* RFC 7518: no leading zero octet in either. */
		if (a.data[0] == 0 || b.data[0] == 0) {
			lerr_set(e, LERR_BAD_REQUEST, "the RSA JWK's n or e has a leading zero octet");
			goto out;
		}
		g = gnutls_pubkey_import_rsa_raw(pub, &a, &b);
		names[0] = "e";
		values[0] = json_string_value(json_object_get(jwk, "e"));
		names[1] = "kty";
		values[1] = kty;
		names[2] = "n";
		values[2] = json_string_value(json_object_get(jwk, "n"));
		n = 3;
	} else {
		lerr_set(e, LERR_WEAK_KEY, "a JWK of type %.16s: lanca takes EC, RSA and OKP keys", kty);
		goto out;
	}
	if (g < 0) {
		lerr_set(e, LERR_WEAK_KEY, "the JWK is not a usable %s key: %s", kty,
			 gnutls_strerror(g));
		goto out;
	}
	if (strcmp(kty, "RSA") == 0) {
		(void)gnutls_pubkey_get_pk_algorithm(pub, &bits);
		if (bits < JWS_RSA_MIN_BITS || bits > JWS_RSA_MAX_BITS) {
			lerr_set(e, LERR_WEAK_KEY, "an RSA key of %u bits: lanca takes %d to %d",
				 bits, JWS_RSA_MIN_BITS, JWS_RSA_MAX_BITS);
			goto out;
		}
	}
	/* GnuTLS checks an EC point is on its curve when it verifies; check
	 * now, so that a bad key is told as one. */
	if (curve == GNUTLS_ECC_CURVE_SECP256R1 || curve == GNUTLS_ECC_CURVE_SECP384R1) {
		if ((g = gnutls_pubkey_verify_params(pub)) < 0) {
			lerr_set(e, LERR_WEAK_KEY, "the JWK's point is not on %s: %s", crv,
				 gnutls_strerror(g));
			goto out;
		}
	}
	if (jws_thumbprint(names, values, n, thumbprint, e) != 0)
		goto out;
	*out = pub;
	pub = NULL;
	rc = 0;
out:
	free(a.data);
	free(b.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

/* Copies a protected-header string member into out (size max + 1). */
static int
jws_header_str(const json_t *h, const char *name, char *out, size_t max, int required,
	       struct lerr *e)
{
	const char *s;
	size_t n;

	out[0] = '\0';
	if (json_object_get(h, name) == NULL && !required)
		return 0;
	if ((s = jws_str(h, name, &n)) == NULL || n == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the protected header's \"%s\" is missing or "
				"not a string", name);
	if (n > max || memchr(s, '\0', n) != NULL)
		return lerr_set(e, LERR_TOO_LARGE, "the protected header's \"%s\" is longer than %zu "
				"bytes or holds a NUL", name, max);
	memcpy(out, s, n + 1);
	return 0;
}

/* Reads the protected header h into j. */
static int
jws_header(const json_t *h, struct jws *j, unsigned flags, struct lerr *e)
{
	const char *alg;
	const json_t *jwk;
	size_t i, n;

	if (!json_is_object(h))
		return lerr_set(e, LERR_BAD_REQUEST, "the protected header is not a JSON object");
	if ((alg = jws_str(h, "alg", &n)) == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "the protected header has no \"alg\"");
	for (i = 0; i < sizeof(jws_algs) / sizeof(jws_algs[0]); i++)
		if (strcmp(alg, jws_algs[i].name) == 0)
			j->alg = jws_algs[i].alg;
	if (j->alg == 0)
		return lerr_set(e, LERR_UNSUPPORTED_KEY, "alg %.16s: lanca verifies ES256, ES384, "
				"RS256 and EdDSA", alg);
	/* RFC 7515 4.1.11: extensions this code does not know are not
	 * ignored; lanca knows none. */
	if (json_object_get(h, "crit") != NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "the protected header has \"crit\" extensions");
	/* keyChange's inner JWS (RFC 8555 7.3.5): no nonce, and the new key. */
	if ((flags & JWS_INNER) &&
	    (json_object_get(h, "nonce") != NULL || json_object_get(h, "kid") != NULL))
		return lerr_set(e, LERR_BAD_REQUEST, "the inner JWS's header must have neither "
				"\"nonce\" nor \"kid\"");
	if (jws_header_str(h, "nonce", j->nonce, JWS_NONCE_MAX, !(flags & JWS_INNER), e) != 0 ||
	    jws_header_str(h, "url", j->url, JWS_URL_MAX, 1, e) != 0 ||
	    jws_header_str(h, "kid", j->kid, JWS_URL_MAX, 0, e) != 0)
		return -1;
	jwk = json_object_get(h, "jwk");
	if ((jwk != NULL) == (j->kid[0] != '\0'))
		return lerr_set(e, LERR_BAD_REQUEST, "the protected header must have one of \"jwk\" "
				"and \"kid\", not %s", jwk != NULL ? "both" : "neither");
	if (jwk != NULL && (j->jwk_text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	if (jwk != NULL && jws_jwk_import(jwk, &j->jwk, j->thumbprint, e) != 0)
		return -1;
	return 0;
}

int
jws_parse(const char *body, size_t len, struct jws *j, struct lerr *e)
{
	return jws_parse_flags(body, len, 0, j, e);
}

int
jws_parse_flags(const char *body, size_t len, unsigned flags, struct jws *j, struct lerr *e)
{
	json_error_t jerr;
	json_t *root = NULL, *header = NULL;
	const char *prot, *payload, *sig;
	unsigned char *p = NULL;
	size_t np, npay, nsig, n;
	int rc = -1;

	memset(j, 0, sizeof(*j));
	if (len > JWS_BODY_MAX)
		return lerr_set(e, LERR_TOO_LARGE, "the request body is over %d bytes", JWS_BODY_MAX);
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		lerr_set(e, LERR_BAD_REQUEST, "the request body is not JSON: %s", jerr.text);
		goto out;
	}
	if (!json_is_object(root) || json_object_size(root) != 3 ||
	    (prot = jws_str(root, "protected", &np)) == NULL ||
	    (payload = jws_str(root, "payload", &npay)) == NULL ||
	    (sig = jws_str(root, "signature", &nsig)) == NULL) {
		lerr_set(e, LERR_BAD_REQUEST, "the request body is not a flattened JWS: an object of "
			 "\"protected\", \"payload\" and \"signature\" strings, nothing else");
		goto out;
	}
	if (jws_b64(prot, np, &p, &n) != 0 || n == 0) {
		lerr_set(e, LERR_BAD_REQUEST, "the protected header is not base64url");
		goto out;
	}
	header = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
	free(p);
	p = NULL;
	if (header == NULL) {
		lerr_set(e, LERR_BAD_REQUEST, "the protected header is not JSON: %s", jerr.text);
		goto out;
	}
	if (jws_header(header, j, flags, e) != 0)
		goto out;
	if (npay > 0) {
		if (jws_b64(payload, npay, &p, &n) != 0) {
			lerr_set(e, LERR_BAD_REQUEST, "the payload is not base64url");
			goto out;
		}
		j->payload = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
		free(p);
		p = NULL;
		if (j->payload == NULL || !json_is_object(j->payload)) {
			lerr_set(e, LERR_BAD_REQUEST, "the payload is not a JSON object");
			goto out;
		}
	}
	if (jws_b64(sig, nsig, &j->sig, &j->sig_len) != 0 || j->sig_len == 0) {
		lerr_set(e, LERR_BAD_REQUEST, "the signature is not base64url");
		goto out;
	}
	/* What was signed: the two members as sent, joined by '.'. */
	j->input_len = np + 1 + npay;
	if ((j->input = malloc(j->input_len + 1)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	memcpy(j->input, prot, np);
	j->input[np] = '.';
	memcpy(j->input + np + 1, payload, npay);
	j->input[j->input_len] = '\0';
	rc = 0;
out:
	free(p);
	json_decref(header);
	json_decref(root);
	if (rc != 0)
		jws_free(j);
	return rc;
}

int
jws_verify(const struct jws *j, gnutls_pubkey_t key, struct lerr *e)
{
	gnutls_datum_t input = { j->input, (unsigned)j->input_len };
	gnutls_datum_t sig = { j->sig, (unsigned)j->sig_len }, r, s, der = { NULL, 0 };
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	gnutls_sign_algorithm_t salg;
	int pk, g, rc = -1;
	size_t half = 0;

	pk = gnutls_pubkey_get_pk_algorithm(key, NULL);
	if (pk == GNUTLS_PK_ECDSA || pk == GNUTLS_PK_EDDSA_ED25519)
		(void)gnutls_pubkey_export_ecc_raw(key, &curve, NULL, NULL);
	switch (j->alg) {
	case JWS_ES256:
		salg = GNUTLS_SIGN_ECDSA_SHA256;
		half = 32;
		if (pk != GNUTLS_PK_ECDSA || curve != GNUTLS_ECC_CURVE_SECP256R1)
			goto mismatch;
		break;
	case JWS_ES384:
		salg = GNUTLS_SIGN_ECDSA_SHA384;
		half = 48;
		if (pk != GNUTLS_PK_ECDSA || curve != GNUTLS_ECC_CURVE_SECP384R1)
			goto mismatch;
		break;
	case JWS_RS256:
		salg = GNUTLS_SIGN_RSA_SHA256;
		if (pk != GNUTLS_PK_RSA)
			goto mismatch;
		break;
	case JWS_EDDSA:
		salg = GNUTLS_SIGN_EDDSA_ED25519;
		if (pk != GNUTLS_PK_EDDSA_ED25519)
			goto mismatch;
		break;
	default:
		return lerr_set(e, LERR_UNSUPPORTED_KEY, "no signature algorithm");
	}
	/* JWS's ECDSA signature is R || S, each the curve's size (RFC 7518
	 * 3.4); GnuTLS verifies the DER of X9.62. */
	if (half != 0) {
		if (j->sig_len != 2 * half)
			return lerr_set(e, LERR_BAD_SIGNATURE, "an %s signature of %zu bytes, not %zu",
					jws_alg_name(j->alg), j->sig_len, 2 * half);
		r.data = j->sig;
		r.size = (unsigned)half;
		s.data = j->sig + half;
		s.size = (unsigned)half;
		if ((g = gnutls_encode_rs_value(&der, &r, &s)) < 0)
			return lerr_set(e, LERR_INTERNAL, "encoding the signature: %s",
					gnutls_strerror(g));
		sig = der;
	}
	g = gnutls_pubkey_verify_data2(key, salg, 0, &input, &sig);
	if (g < 0) {
		lerr_set(e, LERR_BAD_SIGNATURE, "the JWS signature does not verify (%s)",
			 jws_alg_name(j->alg));
		goto out;
	}
	rc = 0;
out:
	gnutls_free(der.data);
	return rc;
mismatch:
	return lerr_set(e, LERR_UNSUPPORTED_KEY, "alg %s does not go with the account's key",
			jws_alg_name(j->alg));
}

void
jws_free(struct jws *j)
{
	if (j == NULL)
		return;
	if (j->jwk != NULL)
		gnutls_pubkey_deinit(j->jwk);
	json_decref(j->payload);
	free(j->jwk_text);
	free(j->input);
	free(j->sig);
	memset(j, 0, sizeof(*j));
}

/* ---- External Account Binding ---- */

int
jws_eab_parse(const json_t *eab, struct jws_eab *x, struct lerr *e)
{
	static const struct {
		const char *name;
		gnutls_mac_algorithm_t mac;
	} macs[] = {
		{ "HS256", GNUTLS_MAC_SHA256 },
		{ "HS384", GNUTLS_MAC_SHA384 },
		{ "HS512", GNUTLS_MAC_SHA512 },
	};
	const char *prot, *payload, *sig, *alg;
	json_t *header = NULL, *jwk = NULL;
	gnutls_pubkey_t key = NULL;
	unsigned char *p = NULL;
	size_t np, npay, nsig, n, i;
	json_error_t jerr;
	int rc = -1;

	memset(x, 0, sizeof(*x));
	if (!json_is_object(eab) || json_object_size(eab) != 3 ||
	    (prot = jws_str(eab, "protected", &np)) == NULL ||
	    (payload = jws_str(eab, "payload", &npay)) == NULL ||
	    (sig = jws_str(eab, "signature", &nsig)) == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "externalAccountBinding is not a flattened JWS");
	if (jws_b64(prot, np, &p, &n) != 0 ||
	    (header = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(header)) {
		lerr_set(e, LERR_BAD_REQUEST, "externalAccountBinding's protected header is not "
			 "base64url JSON");
		goto out;
	}
	free(p);
	p = NULL;
	if (json_object_get(header, "nonce") != NULL || json_object_size(header) != 3 ||
	    (alg = json_string_value(json_object_get(header, "alg"))) == NULL) {
		lerr_set(e, LERR_BAD_REQUEST, "externalAccountBinding's protected header must hold "
			 "alg, kid and url, and no nonce");
		goto out;
	}
	for (i = 0; i < sizeof(macs) / sizeof(macs[0]); i++)
		if (strcmp(alg, macs[i].name) == 0)
			x->mac = macs[i].mac;
	if (x->mac == GNUTLS_MAC_UNKNOWN) {
		lerr_set(e, LERR_UNSUPPORTED_KEY, "externalAccountBinding's alg must be HS256, "
			 "HS384 or HS512");
		goto out;
	}
	if (jws_header_str(header, "kid", x->kid, JWS_EAB_KID_MAX, 1, e) != 0 ||
	    jws_header_str(header, "url", x->url, JWS_URL_MAX, 1, e) != 0)
		goto out;
	if (jws_b64(payload, npay, &p, &n) != 0 ||
	    (jwk = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		lerr_set(e, LERR_BAD_REQUEST, "externalAccountBinding's payload is not a JWK");
		goto out;
	}
	if (jws_jwk_import(jwk, &key, x->thumbprint, e) != 0)
		goto out;
	if (jws_b64(sig, nsig, &x->tag, &x->tag_len) != 0 || x->tag_len == 0) {
		lerr_set(e, LERR_BAD_REQUEST, "externalAccountBinding's signature is not base64url");
		goto out;
	}
	x->input_len = np + 1 + npay;
	if ((x->input = malloc(x->input_len + 1)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	memcpy(x->input, prot, np);
	x->input[np] = '.';
	memcpy(x->input + np + 1, payload, npay);
	x->input[x->input_len] = '\0';
	rc = 0;
out:
	free(p);
	if (key != NULL)
		gnutls_pubkey_deinit(key);
	json_decref(jwk);
	json_decref(header);
	if (rc != 0)
		jws_eab_free(x);
	return rc;
}

int
jws_eab_verify(const struct jws_eab *x, const unsigned char *key, size_t key_len,
	       struct lerr *e)
{
	unsigned char tag[64];
	size_t n = gnutls_hmac_get_len(x->mac);

	if (n == 0 || n > sizeof(tag) ||
	    gnutls_hmac_fast(x->mac, key, key_len, x->input, x->input_len, tag) < 0)
		return lerr_set(e, LERR_INTERNAL, "cannot compute the binding's MAC");
	if (x->tag_len != n || sodium_memcmp(tag, x->tag, n) != 0)
		return lerr_set(e, LERR_BAD_SIGNATURE, "the external account binding's MAC does "
				"not verify under key %s", x->kid);
	return 0;
}

void
jws_eab_free(struct jws_eab *x)
{
	if (x == NULL)
		return;
	free(x->input);
	free(x->tag);
	memset(x, 0, sizeof(*x));
}
