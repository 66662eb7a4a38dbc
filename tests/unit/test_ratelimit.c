/*
 * test_ratelimit.c - per-address token buckets: bursts, refill,
 * Retry-After, address grouping, a full table under address cycling, and
 * many threads on one table; and the failed-login counter: the block and
 * its doubling, the window, attempts in flight, the IPv6 /64, the bounded
 * table, blocks and counts that survive the table being turned over, and
 * the overflow entry shared by addresses the table has no room for.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "daemon/ratelimit.h"

/* A sockaddr for text (IPv4 or IPv6) and port. */
static struct sockaddr_storage
sa_of(const char *text, unsigned port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
	}
	return ss;
}

static int
take(struct ratelimit *rl, const char *addr, double now, double *retry)
{
	struct sockaddr_storage ss = sa_of(addr, 40000);

	return ratelimit_take(rl, (struct sockaddr *)&ss, now, retry);
}

/* n takes in a row at now; returns how many were allowed. */
static int
take_n(struct ratelimit *rl, const char *addr, double now, int n)
{
	int i, got = 0;

	for (i = 0; i < n; i++)
		got += take(rl, addr, now, NULL) == 1;
	return got;
}

START_TEST(test_bad_args)
{
	struct sockaddr_un un;
	struct ratelimit *rl;

	ck_assert_ptr_null(ratelimit_new(0, 5, 10));
	ck_assert_ptr_null(ratelimit_new(-1, 5, 10));
	ck_assert_ptr_null(ratelimit_new(1, 0.5, 10));
	ck_assert_ptr_null(ratelimit_new(1, 5, 0));
	ck_assert_ptr_null(ratelimit_new(0.0 / 0.0, 5, 10));
	rl = ratelimit_new(1, 5, 10);
	ck_assert_ptr_nonnull(rl);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	ck_assert_int_eq(ratelimit_take(rl, (struct sockaddr *)&un, 1, NULL), -1);
	ck_assert_int_eq(ratelimit_take(rl, NULL, 1, NULL), -1);
	ck_assert_int_eq(take(rl, "192.0.2.1", 0.0 / 0.0, NULL), -1);
	ck_assert_uint_eq(ratelimit_count(rl), 0);
	ratelimit_free(rl);
	ratelimit_free(NULL);
}
END_TEST

START_TEST(test_burst_then_refuse)
{
	struct ratelimit *rl = ratelimit_new(1, 5, 100);
	double retry = -1;

	ck_assert_int_eq(take_n(rl, "192.0.2.1", 100, 5), 5);
	ck_assert_int_eq(take(rl, "192.0.2.1", 100, &retry), 0);
	ck_assert_double_eq_tol(retry, 1.0, 1e-9);
	/* Refusals take nothing: the wait does not grow with the flood. */
	ck_assert_int_eq(take_n(rl, "192.0.2.1", 100, 1000), 0);
	ck_assert_int_eq(take(rl, "192.0.2.1", 100, &retry), 0);
	ck_assert_double_eq_tol(retry, 1.0, 1e-9);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_refill)
{
	struct ratelimit *rl = ratelimit_new(2, 4, 100);
	double retry = -1;

	ck_assert_int_eq(take_n(rl, "192.0.2.1", 10, 4), 4);
	ck_assert_int_eq(take(rl, "192.0.2.1", 10, &retry), 0);
	ck_assert_double_eq_tol(retry, 0.5, 1e-9);
	/* A quarter of a second gives half a token: still refused, and the
	 * wait is the other half's time. */
	ck_assert_int_eq(take(rl, "192.0.2.1", 10.25, &retry), 0);
	ck_assert_double_eq_tol(retry, 0.25, 1e-9);
	ck_assert_int_eq(take(rl, "192.0.2.1", 10.5, &retry), 1);
	ck_assert_int_eq(take(rl, "192.0.2.1", 10.5, &retry), 0);
	/* 1.5 s later: three tokens, not more. */
	ck_assert_int_eq(take_n(rl, "192.0.2.1", 12, 10), 3);
	/* A long idle period refills to burst, never beyond. */
	ck_assert_int_eq(take_n(rl, "192.0.2.1", 1e6, 100), 4);
	/* Time going backwards gives nothing. */
	ck_assert_int_eq(take(rl, "192.0.2.1", 5, &retry), 0);
	ck_assert_int_eq(take(rl, "192.0.2.1", 1e6 + 0.5, &retry), 1);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_fractional_rate)
{
	/* One enrollment a minute, three at once. */
	struct ratelimit *rl = ratelimit_new(1.0 / 60, 3, 100);
	double retry = -1;

	ck_assert_int_eq(take_n(rl, "198.51.100.7", 0, 3), 3);
	ck_assert_int_eq(take(rl, "198.51.100.7", 20, &retry), 0);
	ck_assert_double_eq_tol(retry, 40, 1e-6);
	ck_assert_int_eq(take(rl, "198.51.100.7", 60, &retry), 1);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_independent)
{
	struct ratelimit *rl = ratelimit_new(1, 3, 100);

	ck_assert_int_eq(take_n(rl, "192.0.2.1", 0, 10), 3);
	ck_assert_int_eq(take_n(rl, "192.0.2.2", 0, 10), 3);
	ck_assert_int_eq(take_n(rl, "2001:db8::1", 0, 10), 3);
	/* Same address, other port: same bucket. */
	ck_assert_int_eq(take_n(rl, "192.0.2.1", 0, 1), 0);
	ck_assert_uint_eq(ratelimit_count(rl), 3);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_ipv6_grouping)
{
	struct ratelimit *rl = ratelimit_new(1, 4, 100);

	/* One /64: the host picks any interface id it likes. */
	ck_assert_int_eq(take_n(rl, "2001:db8:1:2::1", 0, 2), 2);
	ck_assert_int_eq(take_n(rl, "2001:db8:1:2:ffff:ffff:ffff:fffe", 0, 2), 2);
	ck_assert_int_eq(take_n(rl, "2001:db8:1:2:abcd::9", 0, 1), 0);
	/* The neighbouring /64 is someone else. */
	ck_assert_int_eq(take_n(rl, "2001:db8:1:3::1", 0, 4), 4);
	/* IPv4-mapped IPv6 is the IPv4 address (dual-stack sockets). */
	ck_assert_int_eq(take_n(rl, "::ffff:192.0.2.9", 0, 3), 3);
	ck_assert_int_eq(take_n(rl, "192.0.2.9", 0, 2), 1);
	/* ... but 192.0.2.9 is not 192.0.2.10. */
	ck_assert_int_eq(take_n(rl, "192.0.2.10", 0, 1), 1);
	ck_assert_uint_eq(ratelimit_count(rl), 4);
	ratelimit_free(rl);
}
END_TEST

/*
 * An attacker cycling through 100000 addresses against a 64-entry table:
 * the table never holds more than 64, and a throttled address stays
 * throttled, because every newcomer's bucket is fuller than its own.
 */
START_TEST(test_table_full_cycling)
{
	struct ratelimit *rl = ratelimit_new(0.1, 5, 64);
	char addr[64];
	double retry = -1;
	int i;

	ck_assert_int_eq(take_n(rl, "192.0.2.1", 0, 5), 5);
	ck_assert_int_eq(take(rl, "192.0.2.1", 0, NULL), 0);
	for (i = 0; i < 100000; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255,
			 i & 255);
		ck_assert_int_eq(take(rl, addr, 1, NULL), 1);
		ck_assert_uint_le(ratelimit_count(rl), 64);
		/* Fresh /64s each time too. */
		snprintf(addr, sizeof(addr), "2001:db8:%x:%x::1", (i >> 16) & 0xffff, i & 0xffff);
		ck_assert_int_eq(take(rl, addr, 1, NULL), 1);
	}
	ck_assert_uint_eq(ratelimit_count(rl), 64);
	ck_assert_int_eq(take(rl, "192.0.2.1", 1, &retry), 0);
	ck_assert_double_eq_tol(retry, 9, 1e-6);
	ratelimit_free(rl);
}
END_TEST

/*
 * With the table full of idle (refilled) buckets, a newcomer replaces one:
 * forgetting a full bucket is harmless, and new clients are not locked out.
 */
START_TEST(test_table_full_idle)
{
	struct ratelimit *rl = ratelimit_new(1, 2, 16);
	char addr[32];
	int i;

	for (i = 0; i < 200; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
		ck_assert_int_eq(take(rl, addr, 0, NULL), 1);
	}
	ck_assert_uint_eq(ratelimit_count(rl), 16);
	/* Much later every bucket is full again: newcomers get a full burst. */
	ck_assert_int_eq(take_n(rl, "192.0.2.50", 100, 3), 2);
	ck_assert_uint_eq(ratelimit_count(rl), 16);
	ratelimit_free(rl);
}
END_TEST

/*
 * Eviction order, seen in a table of 2 (one window): the fullest bucket
 * goes first, so the drained one survives a newcomer.
 */
START_TEST(test_eviction_prefers_fullest)
{
	struct ratelimit *rl = ratelimit_new(1, 10, 2);

	ck_assert_int_eq(take_n(rl, "192.0.2.1", 0, 10), 10);	/* drained */
	ck_assert_int_eq(take_n(rl, "192.0.2.2", 0, 1), 1);	/* 9 left */
	ck_assert_int_eq(take_n(rl, "192.0.2.3", 0, 1), 1);	/* evicts .2 */
	ck_assert_int_eq(take(rl, "192.0.2.1", 0, NULL), 0);
	ck_assert_int_eq(take_n(rl, "192.0.2.4", 0, 1), 1);	/* evicts .3 */
	ck_assert_int_eq(take(rl, "192.0.2.1", 0, NULL), 0);
	ck_assert_uint_eq(ratelimit_count(rl), 2);
	ratelimit_free(rl);
}
END_TEST

#define CONC_THREADS	8
#define CONC_TAKES	20000

struct conc_arg {
	struct ratelimit *rl;
	int id;
	int shared_ok, own_ok;
};

static void *
conc_main(void *p)
{
	struct conc_arg *a = p;
	char own[32];
	int i;

	snprintf(own, sizeof(own), "203.0.113.%d", a->id + 1);
	for (i = 0; i < CONC_TAKES; i++) {
		a->shared_ok += take(a->rl, "192.0.2.77", 5, NULL) == 1;
		a->own_ok += take(a->rl, own, 5, NULL) == 1;
	}
	return NULL;
}

/* Eight threads on one table: exactly burst tokens leave each bucket. */
START_TEST(test_concurrency)
{
	struct ratelimit *rl = ratelimit_new(1e-9, 1000, 256);
	struct conc_arg a[CONC_THREADS];
	pthread_t t[CONC_THREADS];
	int i, shared = 0;

	for (i = 0; i < CONC_THREADS; i++) {
		a[i] = (struct conc_arg){ .rl = rl, .id = i };
		ck_assert_int_eq(pthread_create(&t[i], NULL, conc_main, &a[i]), 0);
	}
	for (i = 0; i < CONC_THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		shared += a[i].shared_ok;
		ck_assert_int_eq(a[i].own_ok, 1000);
	}
	ck_assert_int_eq(shared, 1000);
	ck_assert_uint_eq(ratelimit_count(rl), CONC_THREADS + 1);
	ratelimit_free(rl);
}
END_TEST

/* ---- failed logins (ratelimit_fails_*) ---- */

/* A failed attempt from addr at now: begun (must be allowed), then noted. */
static void
fail_once(struct ratelimit_fails *f, const char *addr, int64_t now)
{
	struct sockaddr_storage ss = sa_of(addr, 40000);

	ck_assert_int_eq(ratelimit_fails_begin(f, (struct sockaddr *)&ss, now), 0);
	ratelimit_fails_note(f, (struct sockaddr *)&ss, now);
}

static long
fails_begin(struct ratelimit_fails *f, const char *addr, int64_t now)
{
	struct sockaddr_storage ss = sa_of(addr, 40001);

	return ratelimit_fails_begin(f, (struct sockaddr *)&ss, now);
}

static void
fails_end(struct ratelimit_fails *f, const char *addr)
{
	struct sockaddr_storage ss = sa_of(addr, 40002);

	ratelimit_fails_end(f, (struct sockaddr *)&ss);
}

START_TEST(test_fails_block_doubles)
{
	struct ratelimit_fails *f = ratelimit_fails_new();
	struct sockaddr_storage ss = sa_of("192.0.2.7", 1);
	int64_t t = 1000;
	int i;

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < RATELIMIT_FAIL_MAX - 1; i++)
		fail_once(f, "192.0.2.7", t + i);
	t += RATELIMIT_FAIL_MAX - 1;
	/* The fifth failure blocks for RATELIMIT_BLOCK_FIRST seconds. */
	fail_once(f, "192.0.2.7", t);
	ck_assert_int_eq(fails_begin(f, "192.0.2.7", t), RATELIMIT_BLOCK_FIRST);
	ck_assert_int_eq(fails_begin(f, "192.0.2.7", t + 10), RATELIMIT_BLOCK_FIRST - 10);
	/* Another address is not affected. */
	ck_assert_int_eq(fails_begin(f, "192.0.2.8", t), 0);
	/* Each further failure doubles the block, up to the maximum. */
	t += RATELIMIT_BLOCK_FIRST;
	fail_once(f, "192.0.2.7", t);
	ck_assert_int_eq(fails_begin(f, "192.0.2.7", t), 2 * RATELIMIT_BLOCK_FIRST);
	/* Right after a block, the next failure doubles it; blocks longer
	 * than the window keep doubling up to the maximum. */
	t += 2 * RATELIMIT_BLOCK_FIRST;
	fail_once(f, "192.0.2.7", t);
	ck_assert_int_eq(fails_begin(f, "192.0.2.7", t), 4 * RATELIMIT_BLOCK_FIRST);
	t += 4 * RATELIMIT_BLOCK_FIRST;
	fail_once(f, "192.0.2.7", t);
	ck_assert_int_eq(fails_begin(f, "192.0.2.7", t), 8 * RATELIMIT_BLOCK_FIRST);
	t += 8 * RATELIMIT_BLOCK_FIRST + 10;
	fail_once(f, "192.0.2.7", t);
	ck_assert_int_eq(fails_begin(f, "192.0.2.7", t), RATELIMIT_BLOCK_MAX);
	/* Once a block is over, attempts go one at a time. */
	t += RATELIMIT_BLOCK_MAX;
	ck_assert_int_eq(fails_begin(f, "192.0.2.7", t), 0);
	ck_assert_int_eq(fails_begin(f, "192.0.2.7", t), 1);
	fails_end(f, "192.0.2.7");
	/* A window after the block ran out, everything is forgotten. */
	t += RATELIMIT_FAIL_WINDOW + 1;
	for (i = 0; i < RATELIMIT_FAIL_MAX - 1; i++)
		fail_once(f, "192.0.2.7", t);
	ck_assert_int_eq(fails_begin(f, "192.0.2.7", t), 0);
	fails_end(f, "192.0.2.7");
	/* A success forgets everything. */
	ratelimit_fails_clear(f, (struct sockaddr *)&ss);
	ck_assert_int_eq(fails_begin(f, "192.0.2.7", t), 0);
	ratelimit_fails_free(f);
}
END_TEST

START_TEST(test_fails_window)
{
	struct ratelimit_fails *f = ratelimit_fails_new();
	int64_t t = 5000;
	int i;

	/* Failures further apart than the window never add up to a block. */
	for (i = 0; i < 3 * RATELIMIT_FAIL_MAX; i++) {
		fail_once(f, "198.51.100.1", t);
		t += RATELIMIT_FAIL_WINDOW + 1;
	}
	ck_assert_int_eq(fails_begin(f, "198.51.100.1", t), 0);
	ratelimit_fails_free(f);
}
END_TEST

START_TEST(test_fails_inflight)
{
	struct ratelimit_fails *f = ratelimit_fails_new();
	int64_t t = 100;
	int i;

	/* Attempts still being checked take the budget like failures. */
	for (i = 0; i < RATELIMIT_FAIL_MAX; i++)
		ck_assert_int_eq(fails_begin(f, "203.0.113.9", t), 0);
	ck_assert_int_eq(fails_begin(f, "203.0.113.9", t), 1);
	fails_end(f, "203.0.113.9");
	ck_assert_int_eq(fails_begin(f, "203.0.113.9", t), 0);
	ck_assert_int_eq(fails_begin(f, "203.0.113.9", t), 1);
	/* Two running, three failed: still the limit. */
	for (i = 0; i < RATELIMIT_FAIL_MAX; i++)
		fails_end(f, "203.0.113.9");
	for (i = 0; i < RATELIMIT_FAIL_MAX - 2; i++)
		fail_once(f, "203.0.113.9", t);
	ck_assert_int_eq(fails_begin(f, "203.0.113.9", t), 0);
	ck_assert_int_eq(fails_begin(f, "203.0.113.9", t), 0);
	ck_assert_int_eq(fails_begin(f, "203.0.113.9", t), 1);
	ratelimit_fails_free(f);
}
END_TEST

START_TEST(test_fails_ipv6_64)
{
	struct ratelimit_fails *f = ratelimit_fails_new();
	char addr[64];
	int i;

	/* A fresh address inside the same /64 each time counts as one client. */
	for (i = 0; i < RATELIMIT_FAIL_MAX; i++) {
		snprintf(addr, sizeof(addr), "2001:db8:1:2::%x", i + 1);
		fail_once(f, addr, 10);
	}
	ck_assert_int_eq(fails_begin(f, "2001:db8:1:2:ffff::1", 10), RATELIMIT_BLOCK_FIRST);
	ck_assert_int_eq(fails_begin(f, "2001:db8:1:3::1", 10), 0);
	/* IPv4 written IPv4-mapped is the IPv4 address. */
	for (i = 0; i < RATELIMIT_FAIL_MAX; i++)
		fail_once(f, "192.0.2.44", 10);
	ck_assert_int_eq(fails_begin(f, "::ffff:192.0.2.44", 10), RATELIMIT_BLOCK_FIRST);
	ratelimit_fails_free(f);
}
END_TEST

/* "10.X.Y.Z" for i: distinct IPv4 addresses, none of them 192.0.2.x. */
static void
addr_of(int i, char *out, size_t n)
{
	snprintf(out, n, "10.%d.%d.%d", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
}

/* An impossible login from addr at now: refused without hashing, and
 * counted as a failure (what the login handler does with a user name or
 * password that cannot be right). 1 if it was let through to be counted. */
static int
fail_cheap(struct ratelimit_fails *f, const char *addr, int64_t now)
{
	struct sockaddr_storage ss = sa_of(addr, 40003);

	if (ratelimit_fails_begin(f, (struct sockaddr *)&ss, now) != 0)
		return 0;
	ratelimit_fails_note(f, (struct sockaddr *)&ss, now);
	return 1;
}

/* Issue 13, defect 2: a blocked address stays blocked for its whole
 * period however many other addresses fail meanwhile (ten times the
 * table's size here, spread over the block), and its failures still
 * count afterwards (the next block doubles). */
START_TEST(test_fails_block_survives_turnover)
{
	struct ratelimit_fails *f = ratelimit_fails_new();
	char addr[32];
	int64_t t = 1000;
	int i;

	for (i = 0; i < RATELIMIT_FAIL_MAX; i++)
		fail_once(f, "192.0.2.1", t);
	ck_assert_int_eq(fails_begin(f, "192.0.2.1", t), RATELIMIT_BLOCK_FIRST);
	for (i = 0; i < 10 * RATELIMIT_FAIL_SLOTS; i++) {
		int64_t now = t + (int64_t)i * (RATELIMIT_BLOCK_FIRST - 1) / (10 * RATELIMIT_FAIL_SLOTS);

		addr_of(i, addr, sizeof(addr));
		(void)fail_cheap(f, addr, now);
		if (i % 97 == 0)
			ck_assert_int_eq(fails_begin(f, "192.0.2.1", now), t + RATELIMIT_BLOCK_FIRST - now);
	}
	ck_assert_int_eq(fails_begin(f, "192.0.2.1", t + RATELIMIT_BLOCK_FIRST - 1), 1);
	/* The block ran its course: one attempt, whose failure doubles it. */
	fail_once(f, "192.0.2.1", t + RATELIMIT_BLOCK_FIRST);
	ck_assert_int_eq(fails_begin(f, "192.0.2.1", t + RATELIMIT_BLOCK_FIRST),
			 2 * RATELIMIT_BLOCK_FIRST);
	ratelimit_fails_free(f);
}
END_TEST

/* Failures short of a block are not wiped by turning the table over
 * either: four, then a table's worth of other addresses, then the fifth
 * blocks. */
START_TEST(test_fails_count_survives_turnover)
{
	struct ratelimit_fails *f = ratelimit_fails_new();
	char addr[32];
	int i;

	for (i = 0; i < RATELIMIT_FAIL_MAX - 1; i++)
		fail_once(f, "192.0.2.2", 10);
	for (i = 0; i < 4 * RATELIMIT_FAIL_SLOTS; i++) {
		addr_of(i, addr, sizeof(addr));
		(void)fail_cheap(f, addr, 11);
	}
	fail_once(f, "192.0.2.2", 12);
	ck_assert_int_eq(fails_begin(f, "192.0.2.2", 12), RATELIMIT_BLOCK_FIRST);
	ratelimit_fails_free(f);
}
END_TEST

/* When every slot is blocked, new addresses share the overflow entry:
 * RATELIMIT_FAIL_MAX failures between them block all of them, the
 * blocked slots stay blocked, and once everything has run out new
 * addresses get entries of their own again. */
START_TEST(test_fails_overflow)
{
	struct ratelimit_fails *f = ratelimit_fails_new();
	char addr[32];
	int64_t t = 100;
	int i, j;

	for (i = 0; i < RATELIMIT_FAIL_SLOTS; i++) {
		addr_of(i, addr, sizeof(addr));
		for (j = 0; j < RATELIMIT_FAIL_MAX; j++)
			fail_once(f, addr, t);
	}
	/* Five new addresses, one failure each: the overflow is blocked. */
	for (i = 0; i < RATELIMIT_FAIL_MAX; i++) {
		addr_of(1000 + i, addr, sizeof(addr));
		fail_once(f, addr, t + 1);
	}
	ck_assert_int_eq(fails_begin(f, "192.0.2.3", t + 1), RATELIMIT_BLOCK_FIRST);
	addr_of(5000, addr, sizeof(addr));
	ck_assert_int_eq(fails_begin(f, addr, t + 2), RATELIMIT_BLOCK_FIRST - 1);
	/* Every slot is still blocked, for its own whole period. */
	for (i = 0; i < RATELIMIT_FAIL_SLOTS; i++) {
		addr_of(i, addr, sizeof(addr));
		ck_assert_int_eq(fails_begin(f, addr, t + 2), RATELIMIT_BLOCK_FIRST - 2);
	}
	/* All of it over: a new address has an entry of its own again, so
	 * its block is not another new address's. */
	t += RATELIMIT_BLOCK_MAX + RATELIMIT_FAIL_WINDOW + 10;
	for (j = 0; j < RATELIMIT_FAIL_MAX; j++)
		fail_once(f, "192.0.2.4", t);
	ck_assert_int_eq(fails_begin(f, "192.0.2.4", t), RATELIMIT_BLOCK_FIRST);
	ck_assert_int_eq(fails_begin(f, "192.0.2.5", t), 0);
	ratelimit_fails_end(f, NULL);	/* a stray end must not disturb anything */
	fails_end(f, "192.0.2.5");
	ratelimit_fails_free(f);
}
END_TEST

/* A block earned on the overflow is not lifted when a slot comes free:
 * the table fills with single failures, five new addresses block the
 * overflow just before those run out, and once the slots are free again
 * an address without an entry (one of the five, or any other) still waits
 * out the overflow's block on the slot it is given. */
START_TEST(test_fails_overflow_block_kept)
{
	struct ratelimit_fails *f = ratelimit_fails_new();
	char addr[32];
	int64_t t = 100, blocked = t + RATELIMIT_FAIL_WINDOW - 1;
	int i;

	for (i = 0; i < RATELIMIT_FAIL_SLOTS; i++) {
		addr_of(i, addr, sizeof(addr));
		fail_once(f, addr, t);
	}
	for (i = 0; i < RATELIMIT_FAIL_MAX; i++) {
		addr_of(1000 + i, addr, sizeof(addr));
		fail_once(f, addr, blocked);
	}
	addr_of(1000, addr, sizeof(addr));
	ck_assert_int_eq(fails_begin(f, addr, blocked), RATELIMIT_BLOCK_FIRST);
	/* The table's failures have run out: slots are free. */
	ck_assert_int_eq(fails_begin(f, addr, t + RATELIMIT_FAIL_WINDOW + 2),
			 blocked + RATELIMIT_BLOCK_FIRST - (t + RATELIMIT_FAIL_WINDOW + 2));
	ck_assert_int_eq(fails_begin(f, "192.0.2.9", t + RATELIMIT_FAIL_WINDOW + 3),
			 blocked + RATELIMIT_BLOCK_FIRST - (t + RATELIMIT_FAIL_WINDOW + 3));
	/* Past it, a new address starts clean. */
	t = blocked + RATELIMIT_BLOCK_FIRST + RATELIMIT_FAIL_WINDOW + 1;
	ck_assert_int_eq(fails_begin(f, "192.0.2.10", t), 0);
	fails_end(f, "192.0.2.10");
	ratelimit_fails_free(f);
}
END_TEST

/* Attempts that started on the overflow end there: the budget they held
 * comes back when they end, and their failures count there. */
START_TEST(test_fails_overflow_inflight)
{
	struct ratelimit_fails *f = ratelimit_fails_new();
	char addr[32];
	int64_t t = 100;
	int i, j;

	for (i = 0; i < RATELIMIT_FAIL_SLOTS; i++) {
		addr_of(i, addr, sizeof(addr));
		for (j = 0; j < RATELIMIT_FAIL_MAX; j++)
			fail_once(f, addr, t);
	}
	for (i = 0; i < RATELIMIT_FAIL_MAX; i++) {
		addr_of(1000 + i, addr, sizeof(addr));
		ck_assert_int_eq(fails_begin(f, addr, t), 0);
	}
	/* The shared budget is taken by attempts in flight. */
	ck_assert_int_eq(fails_begin(f, "192.0.2.6", t), 1);
	for (i = 0; i < RATELIMIT_FAIL_MAX; i++) {
		addr_of(1000 + i, addr, sizeof(addr));
		fails_end(f, addr);
	}
	ck_assert_int_eq(fails_begin(f, "192.0.2.6", t), 0);
	fails_end(f, "192.0.2.6");
	/* An attempt starts on the overflow; everything else runs out
	 * before its verdict, which must still reach the overflow: had it
	 * claimed a slot, the overflow would hold an attempt in flight for
	 * ever and the next new addresses would share its budget. */
	ck_assert_int_eq(fails_begin(f, "192.0.2.7", t), 0);
	t += RATELIMIT_BLOCK_MAX + RATELIMIT_FAIL_WINDOW + 10;
	{
		struct sockaddr_storage ss = sa_of("192.0.2.7", 1);

		ratelimit_fails_note(f, (struct sockaddr *)&ss, t);
	}
	for (j = 0; j < RATELIMIT_FAIL_MAX; j++)
		fail_once(f, "192.0.2.8", t);
	ck_assert_int_eq(fails_begin(f, "192.0.2.8", t), RATELIMIT_BLOCK_FIRST);
	ck_assert_int_eq(fails_begin(f, "192.0.2.9", t), 0);
	ratelimit_fails_free(f);
}
END_TEST

/* Memory is fixed at creation: a million distinct addresses later the
 * table still answers for the first blocked one, and nothing grew (the
 * struct is one allocation; under ASan a leak would show). */
START_TEST(test_fails_table_bounded)
{
	struct ratelimit_fails *f = ratelimit_fails_new();
	char addr[32];
	int i;

	for (i = 0; i < RATELIMIT_FAIL_MAX; i++)
		fail_once(f, "192.0.2.1", 1);
	for (i = 0; i < 1000000; i++) {
		addr_of(i, addr, sizeof(addr));
		(void)fail_cheap(f, addr, 2 + i / 100000);
	}
	ck_assert_int_gt(fails_begin(f, "192.0.2.1", 12), 0);
	ratelimit_fails_free(f);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_burst_then_refuse);
	tcase_add_test(tc, test_refill);
	tcase_add_test(tc, test_fractional_rate);
	tcase_add_test(tc, test_independent);
	tcase_add_test(tc, test_ipv6_grouping);
	tcase_add_test(tc, test_table_full_cycling);
	tcase_add_test(tc, test_table_full_idle);
	tcase_add_test(tc, test_eviction_prefers_fullest);
	tcase_add_test(tc, test_concurrency);
	tcase_add_test(tc, test_fails_block_doubles);
	tcase_add_test(tc, test_fails_window);
	tcase_add_test(tc, test_fails_inflight);
	tcase_add_test(tc, test_fails_ipv6_64);
	tcase_add_test(tc, test_fails_table_bounded);
	tcase_add_test(tc, test_fails_block_survives_turnover);
	tcase_add_test(tc, test_fails_count_survives_turnover);
	tcase_add_test(tc, test_fails_overflow);
	tcase_add_test(tc, test_fails_overflow_block_kept);
	tcase_add_test(tc, test_fails_overflow_inflight);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
