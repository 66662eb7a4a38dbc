/*
 * ratelimit.h - per-client-address limits with bounded memory.
 *
 * Owns: what counts as one client address (an IPv4 address, or an IPv6
 * /64: one host usually holds a whole /64) and the two per-address limits
 * of the daemon, each in a fixed table allocated at creation (nothing is
 * allocated afterwards): a token bucket per address for enrollment
 * requests, and the failed-login counter (ratelimit_fails_*, below).
 * Callers: the enrollment handlers, which answer 429 with Retry-After when
 * ratelimit_take() refuses. Thread-safe: one mutex, held for O(1) work.
 *
 * Bounded memory has a price: when every slot an address may use holds
 * state, one entry is evicted. The victim is the entry whose bucket is
 * fullest once refilled (a full bucket carries no state at all, so evicting
 * it changes nothing). A throttled entry is therefore evicted only when
 * every other candidate is at least as throttled, which an attacker
 * cycling addresses can arrange only by keeping about max_addrs addresses
 * of its own drained, i.e. by spending rate_per_s accepted requests per
 * second on each of them. Slots are chosen by a keyed hash (SipHash, random
 * key per table), so an attacker cannot aim its addresses at one slot.
 */
#ifndef LANCA_RATELIMIT_H
#define LANCA_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Candidate slots per address (fewer if max_addrs is smaller). */
#define RATELIMIT_WINDOW	16

struct ratelimit;

/*
 * A table for max_addrs addresses whose buckets hold at most burst tokens
 * (burst >= 1) and refill at rate_per_s tokens a second (> 0). Returns NULL
 * on bad arguments or out of memory; free with ratelimit_free().
 */
struct ratelimit *ratelimit_new(double rate_per_s, double burst, size_t max_addrs);

/*
 * Takes one token for sa's address at time now (seconds on a monotonic
 * clock, e.g. ratelimit_now(); a now earlier than the last call for the
 * address counts as no time passed). IPv4-mapped IPv6 addresses count as
 * IPv4; IPv6 addresses are grouped by their /64; the port is ignored.
 * Returns 1 if allowed, 0 if refused (then *retry_after, if not NULL, is
 * the number of seconds until a token is available, > 0), -1 if sa is NULL
 * or neither AF_INET nor AF_INET6.
 */
int ratelimit_take(struct ratelimit *rl, const struct sockaddr *sa, double now,
		   double *retry_after);

/* Seconds on CLOCK_MONOTONIC, for ratelimit_take's now. */
double ratelimit_now(void);

/* Number of addresses with state in the table (for tests and status). */
size_t ratelimit_count(struct ratelimit *rl);

/* NULL-safe. */
void ratelimit_free(struct ratelimit *rl);

/*
 * Failed logins, counted per client address (the same key as the buckets:
 * IPv4, or the IPv6 /64) in a fixed table of RATELIMIT_FAIL_SLOTS entries.
 * After RATELIMIT_FAIL_MAX failures less than RATELIMIT_FAIL_WINDOW
 * seconds apart the address is refused for RATELIMIT_BLOCK_FIRST seconds,
 * doubling with each further failure up to RATELIMIT_BLOCK_MAX; after a
 * block one attempt at a time may go, and failures are forgotten
 * RATELIMIT_FAIL_WINDOW seconds after the last one or after the end of its
 * block, whichever is later. Attempts
 * still being checked count against the limit like failures, so parallel
 * guesses cannot slip through while earlier ones are being hashed.
 *
 * The table never forgets anything that still counts: an entry is given
 * to another address only once it is not blocked, has no failure that
 * still counts and no attempt in flight. Otherwise anyone with many
 * addresses could lift a block (or wipe four failures) by turning the
 * table over with logins that cost nothing to refuse. When every slot
 * holds live state, addresses without an entry share one more entry, the
 * overflow, under the same rules: together they get RATELIMIT_FAIL_MAX
 * attempts before the overflow is blocked, and while it is, an address
 * given a slot that came free starts with the overflow's block (it may be
 * one of those that earned it). Memory stays fixed
 * (RATELIMIT_FAIL_SLOTS + 1 entries); the price is that someone keeping
 * all 256 slots and the overflow blocked (256 addresses of its own, each
 * failing again whenever its block ends) keeps new addresses out of the
 * login until it stops, while every address already in the table keeps
 * its own count. The CLI (`lanca admin`) is not behind this limit.
 * Callers: the login handler (http/api_admin.c) and the enrollment
 * secrets (http/api_device.c). Times are seconds on a monotonic clock,
 * passed in. Thread-safe (one mutex).
 */
#define RATELIMIT_FAIL_SLOTS	256
#define RATELIMIT_FAIL_MAX	5
#define RATELIMIT_FAIL_WINDOW	300	/* seconds */
#define RATELIMIT_BLOCK_FIRST	60	/* seconds; doubles per further failure */
#define RATELIMIT_BLOCK_MAX	900

struct ratelimit_fails;

/* A table of RATELIMIT_FAIL_SLOTS entries and the overflow; NULL when
 * out of memory. */
struct ratelimit_fails *ratelimit_fails_new(void);
void ratelimit_fails_free(struct ratelimit_fails *f);	/* NULL-safe */

/*
 * Starts an attempt from sa (NULL or another family: all such share one
 * entry) at now: 0 if it may go ahead (it is then in flight until
 * ratelimit_fails_note, _clear or _end), else the seconds to wait (> 0).
 */
long ratelimit_fails_begin(struct ratelimit_fails *f, const struct sockaddr *sa, int64_t now);
/* The attempt ended in a wrong password: counted, maybe blocked. */
void ratelimit_fails_note(struct ratelimit_fails *f, const struct sockaddr *sa, int64_t now);
/* The attempt succeeded: the address's failures are forgotten (not the
 * overflow's, which are other addresses' too). */
void ratelimit_fails_clear(struct ratelimit_fails *f, const struct sockaddr *sa);
/* The attempt ended otherwise (bad input, store error): no longer in flight. */
void ratelimit_fails_end(struct ratelimit_fails *f, const struct sockaddr *sa);

#endif
