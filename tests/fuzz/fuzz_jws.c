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
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct jws empty;
	json_t *root;
	struct jws j;
	struct lerr e;
	const char *prot, *pay;

	lerr_clear(&e);
	if (jws_parse((const char *)data, size, &j, &e) != 0) {
		if (e.code == LERR_NONE || e.msg[0] == '\0' || memcmp(&j, &empty, sizeof(j)) != 0)
			abort();
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
	return 0;
}
