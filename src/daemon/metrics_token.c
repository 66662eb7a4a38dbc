/*
 * metrics_token.c - the metrics scraper's bearer token (see
 * metrics_token.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "daemon/metrics_token.h"
#include "store/store.h"

#define METRICS_TOKEN_HASH	32	/* BLAKE2b-256 */

/* The hash the store keeps of a token's bytes, as lowercase hex. */
static void
metrics_token_hash_hex(const unsigned char tok[METRICS_TOKEN_BYTES],
		       char hex[2 * METRICS_TOKEN_HASH + 1])
{
	unsigned char h[METRICS_TOKEN_HASH];

	crypto_generichash(h, sizeof(h), tok, METRICS_TOKEN_BYTES, NULL, 0);
	sodium_bin2hex(hex, 2 * METRICS_TOKEN_HASH + 1, h, sizeof(h));
}

int
metrics_token_new(struct store *s, const char *actor, char out[METRICS_TOKEN_CHARS + 1],
		  struct lerr *e)
{
	unsigned char tok[METRICS_TOKEN_BYTES];
	char hex[2 * METRICS_TOKEN_HASH + 1];
	int rc;

	randombytes_buf(tok, sizeof(tok));
	sodium_bin2base64(out, METRICS_TOKEN_CHARS + 1, tok, sizeof(tok),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	metrics_token_hash_hex(tok, hex);
	sodium_memzero(tok, sizeof(tok));
	rc = store_metrics_token_set(s, hex, actor, e);
	if (rc != 0)
		sodium_memzero(out, METRICS_TOKEN_CHARS + 1);
	return rc;
}

int
metrics_token_revoke(struct store *s, const char *actor, struct lerr *e)
{
	return store_metrics_token_set(s, NULL, actor, e);
}

int
metrics_token_check(struct store *s, const char *bearer, struct lerr *e)
{
	unsigned char tok[METRICS_TOKEN_BYTES], want[METRICS_TOKEN_HASH], got[METRICS_TOKEN_HASH];
	const char *end = NULL;
	char *stored = NULL;
	size_t n = 0;
	int rc = -1;

	if (bearer == NULL || strlen(bearer) != METRICS_TOKEN_CHARS ||
	    sodium_base642bin(tok, sizeof(tok), bearer, METRICS_TOKEN_CHARS, NULL, &n, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != sizeof(tok) || end != bearer + METRICS_TOKEN_CHARS) {
		lerr_set(e, LERR_UNAUTHORIZED, "the bearer token is not a metrics token "
			 "(`lanca metrics token` makes one)");
		goto out;
	}
	if (store_metrics_token_hash(s, &stored, e) != 0) {
		if (e->code == LERR_NOT_FOUND)
			lerr_set(e, LERR_UNAUTHORIZED, "wrong or revoked metrics token");
		goto out;
	}
	crypto_generichash(got, sizeof(got), tok, sizeof(tok), NULL, 0);
	if (sodium_hex2bin(want, sizeof(want), stored, strlen(stored), NULL, &n, NULL) != 0 ||
	    n != sizeof(want)) {
		lerr_set(e, LERR_STORE, "the metrics token on record is malformed");
		goto out;
	}
	if (sodium_memcmp(got, want, sizeof(want)) != 0) {
		lerr_set(e, LERR_UNAUTHORIZED, "wrong or revoked metrics token");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(tok, sizeof(tok));
	free(stored);
	return rc;
}
