/*
 * ratelimit.h - per-client-address token buckets with bounded memory.
 *
 * Owns: one token bucket per client address (an IPv4 address, or an IPv6
 * /64: one host usually holds a whole /64), kept in a fixed table of
 * max_addrs entries allocated at creation; nothing is allocated afterwards.
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

#endif
