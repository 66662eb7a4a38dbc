/*
 * metrics_token.h - the bearer token a Prometheus server scrapes GET
 * /metrics with, when it has no admin session.
 *
 * Owns: the token's shape and how it is checked. A token is 32 random
 * bytes from libsodium, shown once as 43 characters of URL-safe base64
 * without padding; the store keeps only its BLAKE2b-256 (a 256-bit random
 * token needs no slow hash: nobody can guess it, so a copy of the
 * database gives nothing to try offline), under the setting
 * "metrics_token". There is at most one: a new one replaces the old, and
 * --revoke removes it. The daemon reads the hash from the store on every
 * scrape (one indexed read of the settings table), so `lanca metrics
 * token` works on a running daemon's state directory, with no restart and
 * no control socket, and a replaced or revoked token stops working at the
 * next scrape.
 * Callers: cmd_metrics.c (new, revoke), api_metrics.c (check).
 */
#ifndef LANCA_METRICS_TOKEN_H
#define LANCA_METRICS_TOKEN_H

#include "common/lerr.h"

#define METRICS_TOKEN_BYTES	32
#define METRICS_TOKEN_CHARS	43	/* URL-safe base64, no padding */

struct store;

/* Makes a new token into out (NUL-terminated; wipe it after printing)
 * and records its hash, replacing any older token; audited
 * "metrics_token" as actor. 0, or -1 with e. */
int metrics_token_new(struct store *s, const char *actor, char out[METRICS_TOKEN_CHARS + 1],
		      struct lerr *e);
/* Removes the token; audited. -1 with LERR_NOT_FOUND when there is none. */
int metrics_token_revoke(struct store *s, const char *actor, struct lerr *e);
/* 0 if bearer (the text after "Bearer " in an Authorization header) is
 * the token on record, compared in constant time; -1 with
 * LERR_UNAUTHORIZED when it is not, when it is malformed or when no
 * token is set, with another code when the store cannot be read. */
int metrics_token_check(struct store *s, const char *bearer, struct lerr *e);

#endif
