/*
 * popcache.h - the signer's memory of the request bytes whose proof of
 * possession (the PKCS#10 self-signature) it has verified itself.
 *
 * Owns: a bounded set of SHA-256 digests of request bytes, POPCACHE_SIZE
 * entries in memory fixed at creation; when full, the oldest entry makes
 * room for the newest. The daemon asks the signer to verify a request
 * before it records it under the key's identity (VERIFY, proto.h), then
 * sends the same bytes to be issued (ISSUE): the signer skips the second
 * verification only when the digest of the bytes it was sent is here,
 * i.e. when it verified those very bytes itself. Nothing the daemon says
 * ever puts a digest here. Safe for the signer's threads to share.
 */
#ifndef LANCA_POPCACHE_H
#define LANCA_POPCACHE_H

#include <stddef.h>
#include "common/buf.h"	/* LANCA_WUR */

#define POPCACHE_SIZE	512	/* entries: 32 times 16 clients' requests in flight */
#define POPCACHE_DIGEST	32	/* SHA-256 */

struct popcache;

/* A new, empty table (NULL when out of memory); free with popcache_free. */
struct popcache *popcache_new(void);
void popcache_free(struct popcache *pc);	/* NULL-safe */

/* The SHA-256 of bytes into d. Returns 0, or -1 if GnuTLS cannot hash. */
int popcache_digest(const unsigned char *bytes, size_t len,
		    unsigned char d[POPCACHE_DIGEST]) LANCA_WUR;
/* 1 if d is in the table, 0 if not (or pc is NULL). */
int popcache_has(struct popcache *pc, const unsigned char d[POPCACHE_DIGEST]);
/* Records d (nothing when it is there already), evicting the oldest entry
 * when the table is full. */
void popcache_add(struct popcache *pc, const unsigned char d[POPCACHE_DIGEST]);

#endif
