/*
 * metric.h - counters and latency histograms that many threads update
 * at once without a lock, for GET /metrics (daemon/metrics.c).
 *
 * Owns: the instruments and their fixed latency buckets. An update is one
 * or two relaxed atomic additions (no lock, no allocation, no system call
 * but clock_gettime, which the vDSO answers), so the hot paths that are
 * measured (an enrollment, a signer round trip) pay a few nanoseconds.
 * Reading takes a snapshot bucket by bucket: a reader racing an update may
 * see the sum a little ahead of or behind the buckets, never buckets that
 * disagree with the count (the count is the buckets' total).
 * Callers: signer/client.c (round trips), daemon/enroll.c (decisions),
 * common/prom.c (the text exposition of a snapshot).
 */
#ifndef LANCA_METRIC_H
#define LANCA_METRIC_H

#include <stdatomic.h>
#include <stdint.h>

/* A count since the process started. */
struct metric_counter {
	atomic_uint_least64_t n;
};

static inline void
metric_counter_add(struct metric_counter *c)
{
	atomic_fetch_add_explicit(&c->n, 1, memory_order_relaxed);
}

static inline uint64_t
metric_counter_get(const struct metric_counter *c)
{
	return atomic_load_explicit(&c->n, memory_order_relaxed);
}

/* The latency buckets' upper bounds in nanoseconds, from 100 µs (a
 * VERIFY on a quiet machine) to 30 s (the signer's timeout); +Inf
 * follows the last. */
#define METRIC_LATENCY_BOUNDS	17
extern const uint64_t metric_latency_bounds_ns[METRIC_LATENCY_BOUNDS];

/* Durations observed, by bucket (not cumulative; the last is +Inf). All
 * zero is an empty histogram: embed one and zero it. */
struct metric_histogram {
	atomic_uint_least64_t bucket[METRIC_LATENCY_BOUNDS + 1];
	atomic_uint_least64_t sum_ns;
};

/* What a scrape reports: cumulative counts per bound (the last, +Inf,
 * equals count) and the sum. */
struct metric_histogram_snap {
	uint64_t cumulative[METRIC_LATENCY_BOUNDS + 1];
	uint64_t count;
	uint64_t sum_ns;
};

/* Now on the monotonic clock, in nanoseconds. */
uint64_t metric_now_ns(void);
/* Counts one duration of ns nanoseconds. */
void metric_histogram_observe(struct metric_histogram *h, uint64_t ns);
/* A snapshot of h into out. */
void metric_histogram_read(const struct metric_histogram *h, struct metric_histogram_snap *out);

#endif
