/*
 * ratelimit.c - per-client-address limits (see ratelimit.h): token
 * buckets for enrollment, and the failed-login counter at the end.
 *
 * The table is open addressing without deletion: an address may live only
 * in the RATELIMIT_WINDOW slots that follow its hash, so a lookup reads at
 * most that many slots and an insert replaces one of them (an empty one if
 * there is one, else the fullest bucket). Nothing ever moves, so there are
 * no tombstones and no rehashing, and memory is fixed at creation.
 */
#include "config.h"

#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "daemon/ratelimit.h"

/* Family byte, then 4 bytes of IPv4 or the 8 bytes of an IPv6 /64. */
#define RATELIMIT_KEY_LEN	9
#define RATELIMIT_FAM_V4	4
#define RATELIMIT_FAM_V6	6

struct ratelimit_entry {
	unsigned char key[RATELIMIT_KEY_LEN];
	unsigned char used;
	double tokens;		/* as of last */
	double last;		/* monotonic seconds of the last refill */
};

struct ratelimit {
	pthread_mutex_t lock;
	double rate, burst;
	size_t n, window, used;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	struct ratelimit_entry *tab;
};

struct ratelimit *
ratelimit_new(double rate_per_s, double burst, size_t max_addrs)
{
	struct ratelimit *rl = NULL, *ret = NULL;

	/* !(x > 0) also refuses NaN. */
	if (!(rate_per_s > 0) || !isfinite(rate_per_s) || !(burst >= 1) || !isfinite(burst) ||
	    max_addrs == 0)
		goto out;
	if (sodium_init() < 0)
		goto out;
	rl = calloc(1, sizeof(*rl));
	if (rl == NULL)
		goto out;
	/* calloc checks max_addrs * size for overflow. */
	rl->tab = calloc(max_addrs, sizeof(*rl->tab));
	if (rl->tab == NULL)
		goto out;
	if (pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl->tab);
		rl->tab = NULL;
		goto out;
	}
	rl->rate = rate_per_s;
	rl->burst = burst;
	rl->n = max_addrs;
	rl->window = max_addrs < RATELIMIT_WINDOW ? max_addrs : RATELIMIT_WINDOW;
	/* A secret hash key: addresses cannot be chosen to collide. */
	randombytes_buf(rl->hkey, sizeof(rl->hkey));
	ret = rl;
	rl = NULL;
out:
	if (rl != NULL) {
		free(rl->tab);
		free(rl);
	}
	return ret;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->tab);
	free(rl);
}

double
ratelimit_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The table key for sa: IPv4 (also when written IPv4-mapped in IPv6) or
 * the IPv6 /64. 0, or -1 for another family.
 */
static int
ratelimit_key(const struct sockaddr *sa, unsigned char key[RATELIMIT_KEY_LEN])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const unsigned char *a;

	memset(key, 0, RATELIMIT_KEY_LEN);
	if (sa->sa_family == AF_INET) {
		key[0] = RATELIMIT_FAM_V4;
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		key[0] = RATELIMIT_FAM_V4;
		memcpy(key + 1, a + 12, 4);
	} else {
		key[0] = RATELIMIT_FAM_V6;
		memcpy(key + 1, a, 8);
	}
	return 0;
}

/* e's tokens at now (not stored). */
static double
ratelimit_level(const struct ratelimit *rl, const struct ratelimit_entry *e, double now)
{
	double t = e->tokens;

	if (now > e->last)
		t += (now - e->last) * rl->rate;
	return t < rl->burst ? t : rl->burst;
}

int
ratelimit_take(struct ratelimit *rl, const struct sockaddr *sa, double now, double *retry_after)
{
	unsigned char key[RATELIMIT_KEY_LEN], h[crypto_shorthash_BYTES];
	struct ratelimit_entry *e, *hit = NULL, *empty = NULL, *victim = NULL;
	double lvl, vlvl = -1;
	uint64_t hv;
	size_t i, start;
	int rc = -1;

	if (rl == NULL || sa == NULL || !isfinite(now) || ratelimit_key(sa, key) != 0)
		return -1;
	crypto_shorthash(h, key, sizeof(key), rl->hkey);
	memcpy(&hv, h, sizeof(hv));
	start = (size_t)(hv % rl->n);

	pthread_mutex_lock(&rl->lock);
	for (i = 0; i < rl->window; i++) {
		e = &rl->tab[(start + i) % rl->n];
		if (!e->used) {
			if (empty == NULL)
				empty = e;
			continue;
		}
		if (memcmp(e->key, key, sizeof(key)) == 0) {
			hit = e;
			break;
		}
		/* The fullest bucket is the cheapest to forget; among equals
		 * the one idle longest. */
		lvl = ratelimit_level(rl, e, now);
		if (victim == NULL || lvl > vlvl || (lvl == vlvl && e->last < victim->last)) {
			victim = e;
			vlvl = lvl;
		}
	}
	if (hit == NULL) {
		hit = empty != NULL ? empty : victim;
		if (!hit->used)
			rl->used++;
		memcpy(hit->key, key, sizeof(key));
		hit->used = 1;
		hit->tokens = rl->burst;
		hit->last = now;
	}
	hit->tokens = ratelimit_level(rl, hit, now);
	if (now > hit->last)
		hit->last = now;
	if (hit->tokens >= 1) {
		hit->tokens -= 1;
		rc = 1;
	} else {
		if (retry_after != NULL)
			*retry_after = (1 - hit->tokens) / rl->rate;
		rc = 0;
	}
	pthread_mutex_unlock(&rl->lock);
	return rc;
}

size_t
ratelimit_count(struct ratelimit *rl)
{
	size_t n;

	if (rl == NULL)
		return 0;
	pthread_mutex_lock(&rl->lock);
	n = rl->used;
	pthread_mutex_unlock(&rl->lock);
	return n;
}

/* ---- failed logins ---- */

struct ratelimit_fail {
	unsigned char key[RATELIMIT_KEY_LEN];
	unsigned char used;
	unsigned fails;
	unsigned inflight;		/* attempts being checked right now */
	int64_t last;			/* the last failure */
	int64_t until;			/* refused until then */
};

struct ratelimit_fails {
	pthread_mutex_t lock;
	struct ratelimit_fail tab[RATELIMIT_FAIL_SLOTS];
	/* Every address the table has no room for (ratelimit.h). */
	struct ratelimit_fail overflow;
};

struct ratelimit_fails *
ratelimit_fails_new(void)
{
	struct ratelimit_fails *f = calloc(1, sizeof(*f));

	if (f != NULL && pthread_mutex_init(&f->lock, NULL) != 0) {
		free(f);
		f = NULL;
	}
	return f;
}

void
ratelimit_fails_free(struct ratelimit_fails *f)
{
	if (f == NULL)
		return;
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* sa's key; an address we cannot read shares the all-zero key. */
static void
ratelimit_fail_key(const struct sockaddr *sa, unsigned char key[RATELIMIT_KEY_LEN])
{
	if (sa == NULL || ratelimit_key(sa, key) != 0)
		memset(key, 0, RATELIMIT_KEY_LEN);
}

/* 1 if x's failures still count at now: until RATELIMIT_FAIL_WINDOW
 * seconds after the last one or after the end of its block, whichever is
 * later (counted from the last failure alone, a block longer than the
 * window would forget them, and the next block would not double). */
static int
ratelimit_fail_recent(const struct ratelimit_fail *x, int64_t now)
{
	return now - x->last <= RATELIMIT_FAIL_WINDOW ||
	       (x->until > 0 && now - x->until <= RATELIMIT_FAIL_WINDOW);
}

/* 1 if forgetting x at now would change a decision: it is blocked, has
 * failures that still count, or attempts in flight. Only an entry that
 * is not live may be given to another address. */
static int
ratelimit_fail_live(const struct ratelimit_fail *x, int64_t now)
{
	return x->used && (x->inflight > 0 || x->until > now ||
			   (x->fails > 0 && ratelimit_fail_recent(x, now)));
}

/* The entry for key in the table, or NULL. Caller holds f->lock. */
static struct ratelimit_fail *
ratelimit_fail_find(struct ratelimit_fails *f, const unsigned char *key)
{
	size_t i;

	for (i = 0; i < RATELIMIT_FAIL_SLOTS; i++)
		if (f->tab[i].used && memcmp(f->tab[i].key, key, RATELIMIT_KEY_LEN) == 0)
			return &f->tab[i];
	return NULL;
}

/*
 * The entry an attempt from key starts on at now: key's own, else a slot
 * that is free or holds nothing live (claimed for key; while the overflow
 * is blocked, with the overflow's failures and block: key may be one of
 * the addresses that blocked it, and a slot coming free must not lift
 * that block), else the overflow.
 * While attempts that started on the overflow are in flight, an address
 * without an entry joins them there even if a slot has come free: their
 * verdicts find no entry of their own and go to the overflow
 * (ratelimit_fail_owner), so none of them may have an entry by then.
 * Caller holds f->lock.
 */
static struct ratelimit_fail *
ratelimit_fail_start(struct ratelimit_fails *f, const unsigned char *key, int64_t now)
{
	struct ratelimit_fail *x;
	size_t i;

	x = ratelimit_fail_find(f, key);
	if (x != NULL)
		return x;
	if (f->overflow.inflight > 0)
		return &f->overflow;
	for (i = 0; i < RATELIMIT_FAIL_SLOTS; i++) {
		x = &f->tab[i];
		if (!ratelimit_fail_live(x, now)) {
			memset(x, 0, sizeof(*x));
			memcpy(x->key, key, RATELIMIT_KEY_LEN);
			x->used = 1;
			if (f->overflow.until > now) {
				x->fails = f->overflow.fails;
				x->last = f->overflow.last;
				x->until = f->overflow.until;
			}
			return x;
		}
	}
	return &f->overflow;
}

/* The entry the verdict on an attempt from key goes to: key's own, else
 * the overflow, where the attempt started (an entry with an attempt in
 * flight is live, so it is never given away). Caller holds f->lock. */
static struct ratelimit_fail *
ratelimit_fail_owner(struct ratelimit_fails *f, const unsigned char *key)
{
	struct ratelimit_fail *x = ratelimit_fail_find(f, key);

	return x != NULL ? x : &f->overflow;
}

long
ratelimit_fails_begin(struct ratelimit_fails *f, const struct sockaddr *sa, int64_t now)
{
	unsigned char key[RATELIMIT_KEY_LEN];
	struct ratelimit_fail *x;
	unsigned recent;
	long wait = 0;

	ratelimit_fail_key(sa, key);
	pthread_mutex_lock(&f->lock);
	x = ratelimit_fail_start(f, key, now);
	recent = ratelimit_fail_recent(x, now) ? x->fails : 0;
	/* Once a block has run out, one attempt at a time may go: its
	 * failure doubles the block. Counting the old failures against the
	 * budget there would refuse every attempt until the window ran out,
	 * and no block would ever double. */
	if (x->until > now)
		wait = (long)(x->until - now);
	else if (recent >= RATELIMIT_FAIL_MAX ? x->inflight > 0 :
		 recent + x->inflight >= RATELIMIT_FAIL_MAX)
		wait = 1;	/* the budget is taken by attempts still running */
	else
		x->inflight++;
	pthread_mutex_unlock(&f->lock);
	return wait;
}

void
ratelimit_fails_end(struct ratelimit_fails *f, const struct sockaddr *sa)
{
	unsigned char key[RATELIMIT_KEY_LEN];
	struct ratelimit_fail *x;

	ratelimit_fail_key(sa, key);
	pthread_mutex_lock(&f->lock);
	x = ratelimit_fail_owner(f, key);
	if (x->inflight > 0)
		x->inflight--;
	pthread_mutex_unlock(&f->lock);
}

void
ratelimit_fails_note(struct ratelimit_fails *f, const struct sockaddr *sa, int64_t now)
{
	unsigned char key[RATELIMIT_KEY_LEN];
	struct ratelimit_fail *x;
	unsigned shift;
	long block;

	ratelimit_fail_key(sa, key);
	pthread_mutex_lock(&f->lock);
	x = ratelimit_fail_owner(f, key);
	if (x->inflight > 0)
		x->inflight--;
	if (!ratelimit_fail_recent(x, now))
		x->fails = 0;
	if (x->fails < 1000)
		x->fails++;
	x->last = now;
	if (x->fails >= RATELIMIT_FAIL_MAX) {
		shift = x->fails - RATELIMIT_FAIL_MAX;
		block = shift >= 4 ? RATELIMIT_BLOCK_MAX : (long)RATELIMIT_BLOCK_FIRST << shift;
		if (block > RATELIMIT_BLOCK_MAX)
			block = RATELIMIT_BLOCK_MAX;
		x->until = now + block;
	}
	pthread_mutex_unlock(&f->lock);
}

/* A success forgets the failures of its address's own entry; the
 * overflow's are other addresses' too, and stay. Attempts of the same
 * address still in flight keep the entry (and their place in the
 * budget). */
void
ratelimit_fails_clear(struct ratelimit_fails *f, const struct sockaddr *sa)
{
	unsigned char key[RATELIMIT_KEY_LEN];
	struct ratelimit_fail *x;

	ratelimit_fail_key(sa, key);
	pthread_mutex_lock(&f->lock);
	x = ratelimit_fail_owner(f, key);
	if (x->inflight > 0)
		x->inflight--;
	if (x != &f->overflow) {
		x->fails = 0;
		x->last = 0;
		x->until = 0;
		if (x->inflight == 0)
			memset(x, 0, sizeof(*x));
	}
	pthread_mutex_unlock(&f->lock);
}
