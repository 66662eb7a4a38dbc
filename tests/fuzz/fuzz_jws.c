/*
 * fuzz_jws.c - fuzz target for ACME's request parser (http/acme/jws.c:
 * jws_parse, and jws_jwk_import through it), the first thing the ACME
 * door does with a body from the network.
 *
 * Every input is a request body. Besides memory errors and leaks, the
 * target aborts on a broken contract: a refusal without a code or with an
 * empty message, or one that leaves anything in the struct; an accepted
 * request with an alg lanca does not verify, with both or neither of jwk
 * and kid, with a thumbprint that is not 43 base64url characters (or one
 * without a jwk), a payload that is not an object, an empty nonce or url,
 * or a signing input that is not "protected.payload" as the body has
 * them. An accepted request with a jwk is then verified with it, which
 * must answer 0 or -1 with a code, never crash.
 *
 * The same bytes are then read as keyChange's inner JWS
 * (jws_parse_flags with JWS_INNER): the two readings never both accept
 * (one needs a nonce, the other refuses it), and an accepted inner JWS
 * has a jwk, its thumbprint, and neither nonce nor kid. Last, the body
 * as JSON, and the externalAccountBinding member of its payload when
 * there is one, go to jws_eab_parse: an accepted binding has an HMAC
 * lanca takes, a kid and url, the bound JWK's thumbprint, a tag, and a
 * MAC input that is its "protected.payload"; its MAC made here verifies
 * with jws_eab_verify and the tag it came with is answered 0 or -1 with
 * a code.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <jansson.h>
#include <sodium.h>

#include "http/acme/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_jws_b64url(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_'))
			return 0;
	return 1;
}

/* jws_parse_flags(JWS_INNER) of the body; plain_ok: jws_parse took it. */
static void
fuzz_jws_inner(const uint8_t *data, size_t size, int plain_ok)
{
	static const struct jws empty;
	struct jws j;
	struct lerr e;

	lerr_clear(&e);
	if (jws_parse_flags((const char *)data, size, JWS_INNER, &j, &e) != 0) {
		if (e.code == LERR_NONE || e.msg[0] == '\0' || memcmp(&j, &empty, sizeof(j)) != 0)
			abort();
		return;
	}
	if (plain_ok || j.nonce[0] != '\0' || j.kid[0] != '\0' || j.jwk == NULL ||
	    j.jwk_text == NULL || j.url[0] == '\0' || j.sig_len == 0 ||
	    strlen(j.thumbprint) != JWS_THUMBPRINT_LEN || !fuzz_jws_b64url(j.thumbprint) ||
	    j.alg < JWS_ES256 || j.alg > JWS_EDDSA)
		abort();
	jws_free(&j);
}

/* jws_eab_parse of the JSON value v, and its contract. */
static void
fuzz_jws_eab(const json_t *v)
{
	static const struct jws_eab empty;
	static const unsigned char key[] = "fuzz-eab-key";
	unsigned char tag[64], *theirs;
	struct jws_eab x;
	struct lerr e;
	const char *prot, *pay;
	size_t n, their_len;

	lerr_clear(&e);
	if (jws_eab_parse(v, &x, &e) != 0) {
		if (e.code == LERR_NONE || e.msg[0] == '\0' || memcmp(&x, &empty, sizeof(x)) != 0)
			abort();
		return;
	}
	prot = json_string_value(json_object_get(v, "protected"));
	pay = json_string_value(json_object_get(v, "payload"));
	n = gnutls_hmac_get_len(x.mac);
	if ((x.mac != GNUTLS_MAC_SHA256 && x.mac != GNUTLS_MAC_SHA384 &&
	     x.mac != GNUTLS_MAC_SHA512) || x.kid[0] == '\0' || x.url[0] == '\0' ||
	    strlen(x.thumbprint) != JWS_THUMBPRINT_LEN || !fuzz_jws_b64url(x.thumbprint) ||
	    x.tag_len == 0 || prot == NULL || pay == NULL ||
	    x.input_len != strlen(prot) + 1 + strlen(pay) ||
	    memcmp(x.input, prot, strlen(prot)) != 0 || x.input[strlen(prot)] != '.' ||
	    memcmp(x.input + strlen(prot) + 1, pay, strlen(pay)) != 0 || n == 0 || n > sizeof(tag))
		abort();
	/* the tag it came with: an answer, never a crash */
	lerr_clear(&e);
	if (jws_eab_verify(&x, key, sizeof(key) - 1, &e) != 0 &&
	    (e.code == LERR_NONE || e.msg[0] == '\0'))
		abort();
	/* the right tag verifies, one byte off does not */
	if (gnutls_hmac_fast(x.mac, key, sizeof(key) - 1, x.input, x.input_len, tag) < 0)
		abort();
	theirs = x.tag;
	their_len = x.tag_len;
	x.tag = tag;
	x.tag_len = n;
	if (jws_eab_verify(&x, key, sizeof(key) - 1, &e) != 0)
		abort();
	tag[n - 1] ^= 1;
	if (jws_eab_verify(&x, key, sizeof(key) - 1, &e) == 0 || e.code != LERR_BAD_SIGNATURE)
		abort();
	x.tag = theirs;
	x.tag_len = their_len;
	jws_eab_free(&x);
}

/* The body as JSON, and its payload's externalAccountBinding. */
static void
fuzz_jws_eabs(const uint8_t *data, size_t size)
{
	json_t *root, *payload = NULL;
	const char *pay;
	unsigned char *p;
	size_t max, len = 0;
	const char *end = NULL;

	if (size > JWS_BODY_MAX ||
	    (root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return;
	fuzz_jws_eab(root);
	pay = json_string_value(json_object_get(root, "payload"));
	if (pay != NULL) {
		max = strlen(pay) / 4 * 3 + 3;
		p = malloc(max + 1);
		if (p == NULL)
			abort();
		if (sodium_base642bin(p, max, pay, strlen(pay), NULL, &len, &end,
				      sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0)
			payload = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, NULL);
		free(p);
	}
	if (json_object_get(payload, "externalAccountBinding") != NULL)
		fuzz_jws_eab(json_object_get(payload, "externalAccountBinding"));
	json_decref(payload);
	json_decref(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct jws empty;
	json_t *root;
	struct jws j;
	struct lerr e;
	const char *prot, *pay;

	fuzz_jws_eabs(data, size);
	lerr_clear(&e);
	if (jws_parse((const char *)data, size, &j, &e) != 0) {
		if (e.code == LERR_NONE || e.msg[0] == '\0' || memcmp(&j, &empty, sizeof(j)) != 0)
			abort();
		fuzz_jws_inner(data, size, 0);
		return 0;
	}
	if (j.alg < JWS_ES256 || j.alg > JWS_EDDSA || (j.jwk != NULL) == (j.kid[0] != '\0') ||
	    j.nonce[0] == '\0' || j.url[0] == '\0' || j.sig_len == 0 ||
	    (j.payload != NULL && !json_is_object(j.payload)))
		abort();
	if (j.jwk != NULL ? strlen(j.thumbprint) != JWS_THUMBPRINT_LEN ||
			    !fuzz_jws_b64url(j.thumbprint) : j.thumbprint[0] != '\0')
		abort();
	root = json_loadb((const char *)data, size, 0, NULL);
	prot = json_string_value(json_object_get(root, "protected"));
	pay = json_string_value(json_object_get(root, "payload"));
	if (prot == NULL || pay == NULL || j.input_len != strlen(prot) + 1 + strlen(pay) ||
	    memcmp(j.input, prot, strlen(prot)) != 0 || j.input[strlen(prot)] != '.' ||
	    memcmp(j.input + strlen(prot) + 1, pay, strlen(pay)) != 0)
		abort();
	json_decref(root);
	if (j.jwk != NULL) {
		lerr_clear(&e);
		if (jws_verify(&j, j.jwk, &e) != 0 && (e.code == LERR_NONE || e.msg[0] == '\0'))
			abort();
	}
	jws_free(&j);
	fuzz_jws_inner(data, size, 1);
	return 0;
}
