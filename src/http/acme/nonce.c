/*
 * nonce.c - ACME's anti-replay nonces (see nonce.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http/acme/nonce.h"

#define ACME_NONCE_TAG	16
#define ACME_NONCE_RAW	(8 + ACME_NONCE_TAG)

struct acme_nonces {
	pthread_mutex_t mu;
	unsigned char key[crypto_generichash_KEYBYTES];
	uint64_t next;				/* the sequence number of the next nonce */
	uint8_t used[ACME_NONCES_KEPT / 8];	/* bit seq % KEPT: taken */
};

int
acme_nonces_new(struct acme_nonces **out)
{
	struct acme_nonces *n;

	*out = NULL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -1;
	if (pthread_mutex_init(&n->mu, NULL) != 0) {
		free(n);
		return -1;
	}
	crypto_generichash_keygen(n->key);
	/* Numbers start anywhere: a nonce says nothing of how many came before. */
	randombytes_buf(&n->next, sizeof(n->next));
	n->next >>= 2;
	*out = n;
	return 0;
}

void
acme_nonces_free(struct acme_nonces *n)
{
	if (n == NULL)
		return;
	pthread_mutex_destroy(&n->mu);
	sodium_memzero(n->key, sizeof(n->key));
	free(n);
}

static void
acme_nonce_tag(const struct acme_nonces *n, const unsigned char seq[8],
	       unsigned char tag[ACME_NONCE_TAG])
{
	crypto_generichash(tag, ACME_NONCE_TAG, seq, 8, n->key, sizeof(n->key));
}

static void
acme_nonce_seq_put(uint64_t v, unsigned char b[8])
{
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

void
acme_nonce_make(struct acme_nonces *n, char out[ACME_NONCE_LEN + 1])
{
	unsigned char raw[ACME_NONCE_RAW];
	uint64_t seq;

	pthread_mutex_lock(&n->mu);
	seq = n->next++;
	/* The slot's previous owner is now too old to be taken. */
	n->used[(seq % ACME_NONCES_KEPT) / 8] &= (uint8_t)~(1u << (seq % 8));
	pthread_mutex_unlock(&n->mu);
	acme_nonce_seq_put(seq, raw);
	acme_nonce_tag(n, raw, raw + 8);
	sodium_bin2base64(out, ACME_NONCE_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
acme_nonce_take(struct acme_nonces *n, const char *s)
{
	unsigned char raw[ACME_NONCE_RAW], tag[ACME_NONCE_TAG];
	const char *end = NULL;
	size_t len = 0;
	uint64_t seq = 0;
	uint8_t bit;
	int i, ok = 0;

	if (s == NULL || strlen(s) != ACME_NONCE_LEN ||
	    sodium_base642bin(raw, sizeof(raw), s, ACME_NONCE_LEN, NULL, &len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    len != sizeof(raw) || *end != '\0')
		return 0;
	acme_nonce_tag(n, raw, tag);
	if (sodium_memcmp(tag, raw + 8, ACME_NONCE_TAG) != 0)
		return 0;
	for (i = 0; i < 8; i++)
		seq = seq << 8 | raw[i];
	bit = (uint8_t)(1u << (seq % 8));
	pthread_mutex_lock(&n->mu);
	if (seq < n->next && n->next - seq <= ACME_NONCES_KEPT &&
	    !(n->used[(seq % ACME_NONCES_KEPT) / 8] & bit)) {
		n->used[(seq % ACME_NONCES_KEPT) / 8] |= bit;
		ok = 1;
	}
	pthread_mutex_unlock(&n->mu);
	return ok;
}
