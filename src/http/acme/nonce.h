/*
 * nonce.h - ACME's anti-replay nonces (RFC 8555 section 6.5).
 *
 * Owns: making nonces and taking them back, each once. A nonce is a
 * sequence number and a tag (BLAKE2b keyed with a random key made at
 * start, so nobody can forge one), in base64url. The set remembers one
 * bit per nonce for the last ACME_NONCES_KEPT it made: a nonce is good
 * when its tag holds, it is among those, and its bit says unused. So
 * the memory is fixed whatever clients do, taking one is O(1) under one
 * lock, an old nonce is refused as a client that sat on it too long
 * would expect (badNonce, with a fresh one to retry), and a restart
 * refuses every nonce of the process before (a new key).
 */
#ifndef LANCA_HTTP_ACME_NONCE_H
#define LANCA_HTTP_ACME_NONCE_H

#include <stddef.h>

#define ACME_NONCES_KEPT	65536	/* nonces good at once (8 KiB of bits) */
#define ACME_NONCE_LEN		32	/* base64url of 8 + 16 bytes */

struct acme_nonces;

/* A new set (its key from libsodium): 0, or -1 (out of memory). */
int acme_nonces_new(struct acme_nonces **out);
void acme_nonces_free(struct acme_nonces *n);	/* NULL-safe */
/* A fresh nonce into out (ACME_NONCE_LEN characters and a NUL). */
void acme_nonce_make(struct acme_nonces *n, char out[ACME_NONCE_LEN + 1]);
/* 1 when s is a nonce of this set, not used and not too old: it is used
 * now; 0 otherwise. Safe from several threads. */
int acme_nonce_take(struct acme_nonces *n, const char *s);

#endif
