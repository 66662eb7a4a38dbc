/*
 * popcache.c - the bounded table of request digests the signer has
 * verified itself (see popcache.h).
 *
 * A ring of POPCACHE_SIZE digests, filled in order and overwritten oldest
 * first, searched linearly: with a few hundred entries a scan of their
 * first eight bytes costs a few thousand instructions, far below the
 * verification (millions) it saves, and needs no index to keep in step
 * with the evictions.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "signer/popcache.h"

struct popcache {
	pthread_mutex_t mu;
	size_t n;			/* entries in use */
	size_t next;			/* where the next digest goes (the oldest when full) */
	uint64_t head[POPCACHE_SIZE];	/* each digest's first 8 bytes: the scan reads only these */
	unsigned char d[POPCACHE_SIZE][POPCACHE_DIGEST];
};

struct popcache *
popcache_new(void)
{
	struct popcache *pc = calloc(1, sizeof(*pc));

	if (pc == NULL)
		return NULL;
	if (pthread_mutex_init(&pc->mu, NULL) != 0) {
		free(pc);
		return NULL;
	}
	return pc;
}

void
popcache_free(struct popcache *pc)
{
	if (pc == NULL)
		return;
	pthread_mutex_destroy(&pc->mu);
	free(pc);
}

int
popcache_digest(const unsigned char *bytes, size_t len, unsigned char d[POPCACHE_DIGEST])
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, bytes, len, d) < 0 ? -1 : 0;
}

/* The index of d in pc, or -1; pc->mu held. */
static long
popcache_find(const struct popcache *pc, const unsigned char d[POPCACHE_DIGEST])
{
	uint64_t head;
	size_t i;

	memcpy(&head, d, sizeof(head));
	for (i = 0; i < pc->n; i++)
		if (pc->head[i] == head && memcmp(pc->d[i], d, POPCACHE_DIGEST) == 0)
			return (long)i;
	return -1;
}

int
popcache_has(struct popcache *pc, const unsigned char d[POPCACHE_DIGEST])
{
	int found;

	if (pc == NULL)
		return 0;
	pthread_mutex_lock(&pc->mu);
	found = popcache_find(pc, d) >= 0;
	pthread_mutex_unlock(&pc->mu);
	return found;
}

void
popcache_add(struct popcache *pc, const unsigned char d[POPCACHE_DIGEST])
{
	if (pc == NULL)
		return;
	pthread_mutex_lock(&pc->mu);
	if (popcache_find(pc, d) < 0) {
		memcpy(pc->d[pc->next], d, POPCACHE_DIGEST);
		memcpy(&pc->head[pc->next], d, sizeof(pc->head[0]));
		pc->next = (pc->next + 1) % POPCACHE_SIZE;
		if (pc->n < POPCACHE_SIZE)
			pc->n++;
	}
	pthread_mutex_unlock(&pc->mu);
}
