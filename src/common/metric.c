/*
 * metric.c - lock-free counters and latency histograms (see metric.h).
 */
#include "config.h"

#include <time.h>

#include "common/metric.h"

/* Prometheus' default buckets start at 5 ms; a signer round trip is well
 * under a millisecond when all is well, so these start lower and keep
 * the default's 1-2.5-5 steps up to the 30 s after which the daemon gives
 * the signer up. */
const uint64_t metric_latency_bounds_ns[METRIC_LATENCY_BOUNDS] = {
	100000, 250000, 500000,				/* 100, 250, 500 µs */
	1000000, 2500000, 5000000,			/* 1, 2.5, 5 ms */
	10000000, 25000000, 50000000,			/* 10, 25, 50 ms */
	100000000, 250000000, 500000000,		/* 100, 250, 500 ms */
	1000000000, 2500000000, 5000000000,		/* 1, 2.5, 5 s */
	10000000000, 30000000000,			/* 10, 30 s */
};

uint64_t
metric_now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
metric_histogram_observe(struct metric_histogram *h, uint64_t ns)
{
	unsigned i = 0;

	/* Prometheus buckets are "less than or equal to" their bound. */
	while (i < METRIC_LATENCY_BOUNDS && ns > metric_latency_bounds_ns[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void
metric_histogram_read(const struct metric_histogram *h, struct metric_histogram_snap *out)
{
	uint64_t total = 0;
	unsigned i;

	for (i = 0; i <= METRIC_LATENCY_BOUNDS; i++) {
		total += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		out->cumulative[i] = total;
	}
	out->count = total;
	out->sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}
