/*
 * metrics.h - what GET /metrics says: the CA's state for Prometheus.
 *
 * Owns: the metric names, their help text and where each value comes
 * from. The store's counts (certificates issued, valid, revoked, expiring
 * within 30 days; requests pending) are read at each scrape with the same
 * indexed queries as the console's overview; the window's state is
 * enroll.c's; the decisions by door are enroll.c's counters and the
 * signer's round trips client.c's histograms, both in memory since the
 * daemon started; the CA expiry times are the loaded certificates'. The
 * text format is common/prom.c's; who may read it, api_metrics.c's and
 * metrics_token.c's.
 * Callers: api_metrics.c; tests.
 */
#ifndef LANCA_METRICS_H
#define LANCA_METRICS_H

#include <stdint.h>

#include "common/buf.h"
#include "common/lerr.h"

#define METRICS_PAGE_MAX	(64 * 1024)	/* the page is about 9 KiB */
#define METRICS_EXPIRING_DAYS	30

struct store;
struct enroll;
struct signer;
struct ca_set;
struct backupsched;
struct acme;

/* Where a scrape reads from; enroll and signer may be NULL (then their
 * metrics say closed and nothing counted). */
struct metrics_src {
	struct store *store;
	struct enroll *enroll;
	const struct signer *signer;
	const struct ca_set *ca;
	int64_t started;		/* when the daemon started (Unix time) */
	struct backupsched *backups;	/* scheduled backups, or NULL (no family) */
	struct acme *acme;		/* the ACME door, or NULL (no family) */
};

/* Writes the whole page at now into out (initialised by the caller with
 * buf_init(out, METRICS_PAGE_MAX)). 0, or -1 with e (a store failure, or
 * a page that does not fit: a bug). */
int metrics_render(const struct metrics_src *m, int64_t now, struct buf *out, struct lerr *e);

#endif
