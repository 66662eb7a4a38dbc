/*
 * revocation.h - the CRL the CA publishes: when a new one is made, with
 * which number and entries, and that it is kept.
 *
 * Owns: the numbering (each CRL is the newest's number plus one, in the
 * store), the one lock that makes CRLs one at a time (so concurrent
 * revocations each get a CRL that lists them, with increasing numbers),
 * what a CRL lists (the revoked, unexpired certificates of the issuing
 * CA, from the store) and when one is due. The signer builds and signs
 * it (signer_crl); the store keeps it (store_crl_insert) with its "crl"
 * audit row. A revocation calls revocation_crl_make() once it is
 * committed, before it answers; `lanca serve` calls revocation_tick() at
 * start and on every tick.
 */
#ifndef LANCA_REVOCATION_H
#define LANCA_REVOCATION_H

#include <stdint.h>
#include <time.h>
#include "common/lerr.h"
#include "daemon/issue.h"
#include "store/store.h"

#define REVOCATION_DAYS_DEFAULT	7	/* a CRL's nextUpdate: days after its thisUpdate */
#define REVOCATION_DAYS_MAX	365

struct revocation_config {
	unsigned days;			/* 0: REVOCATION_DAYS_DEFAULT */
	/* The clock (NULL: time()); tests pass a fake one. */
	time_t (*now)(void *arg);
	void *now_arg;
	/* Which of the signer's issuing CAs signs (signer.h's signer_crl):
	 * 0 the active one, 1 the one a rollover succeeded. The issuer's
	 * ca_id must be that CA's row. */
	unsigned generation;
};

/* What revocation_crl_make made. */
struct revocation_made {
	int64_t number;
	int64_t entries;
	int64_t this_update, next_update;
};

struct revocation;

/* is (its store, signer and issuing CA row) must outlive the handle. */
int revocation_new(const struct issuer *is, const struct revocation_config *c,
		   struct revocation **out, struct lerr *e);
void revocation_free(struct revocation *rv);	/* NULL-safe */

/*
 * Makes a new CRL now as actor and stores it: number the newest's plus
 * one, thisUpdate now (or the newest revocation it lists, should the
 * clock be behind it), nextUpdate the configured days later, listing
 * every revoked certificate of the issuing CA that has not expired.
 * One at a time; made (may be NULL) says what was made. 0, or -1 with e
 * (too_large when more than CRL_ENTRIES_MAX certificates would be
 * listed: no CRL is made then, and the newest stays the one served).
 */
int revocation_crl_make(struct revocation *rv, const char *actor, struct revocation_made *made,
			struct lerr *e);

/* Makes revocation_crl_make(rv) also make also's CRL (the issuing CA a
 * rollover succeeded: its leaves are revoked and renewed by the same
 * calls), and makes both take rv's lock: their CRL numbers are one
 * sequence. also must outlive rv's use. */
void revocation_chain(struct revocation *rv, struct revocation *also);

/*
 * Makes a CRL when one is due at now: this CA has none yet, a
 * certificate was revoked since its newest was made (`lanca revoke`
 * without a daemon), or less than half of the newest's period
 * (thisUpdate to nextUpdate) is left. 1 when it made one, 0 when
 * none was due, -1 with e.
 */
int revocation_tick(struct revocation *rv, struct lerr *e);

/* The newest CRL of issuing CA ca_id (0: of any), as /crl serves it and
 * `lanca crl` prints it. */
struct revocation_crl {
	int64_t number, this_update, next_update;
	unsigned char *der;		/* owned */
	size_t der_len;
};
/* 0 with *out filled (revocation_crl_clear it), or -1 with e
 * (LERR_NOT_FOUND when no CRL was made yet). */
int revocation_newest(struct store *s, int64_t ca_id, struct revocation_crl *out,
		      struct lerr *e);
void revocation_crl_clear(struct revocation_crl *c);

/* Where CRLs are served: each issuing CA's at the path of the CRL URL its
 * leaves carry (`lanca init`'s "http://HOST/crl" for the first; a
 * rollover's new CA at REVOCATION_PATH "/<the first 16 hex digits of its
 * SHA-256>"), so that the
 * leaves of every generation find their own issuer's CRL. */
#define REVOCATION_PATH		"/crl"
/* The issuing CA whose CRL is served at path: the one whose CRL URL has
 * that path; for REVOCATION_PATH when none has (a CRL URL on another
 * host), the active one. LERR_NOT_FOUND if none. 0 or -1 with e. */
int revocation_ca_at(struct store *s, const char *path, int64_t *ca_id, struct lerr *e);

/* A new issuing CA's CRL URL (a rollover's, a joining gateway's) into out
 * (n bytes): given (--crl-url, an http:// URL) if not NULL, else the
 * CA before it's (old) with its path REVOCATION_PATH (or
 * REVOCATION_PATH "/<id>") turned into REVOCATION_PATH "/<id>", id the
 * first 16 hex digits of the new CA's SHA-256 fingerprint fp. "" when old
 * is "". 0 or -1 with e. */
int revocation_crl_url_next(const char *old, const char *given, const char *fp, char *out,
			    size_t n, struct lerr *e);
/* Refuses (LERR_CONFLICT) a CRL URL whose path another issuing CA's CRL
 * is served at already: revocation_ca_at finds CRLs by path. 0 or -1. */
int revocation_crl_url_free(struct store *s, const char *url, struct lerr *e);

#endif
