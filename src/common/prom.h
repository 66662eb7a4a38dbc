/*
 * prom.h - the Prometheus text exposition format, version 0.0.4: what a
 * scrape of GET /metrics reads.
 *
 * Owns: the format's syntax and nothing about what is measured: a
 * family's HELP and TYPE lines, one sample line with its labels (values
 * escaped as the format asks: backslash, double quote and line feed), a
 * histogram's _bucket/_sum/_count lines from a metric.h snapshot.
 * Metric and label names are checked against the format's character set
 * (a bad one is a bug: the append fails). Everything goes into a struct
 * buf whose errors are sticky, so a caller appends a whole page and
 * checks once.
 * Callers: daemon/metrics.c; tests/unit/test_prom.c.
 *
 * Labels are passed as a NULL-terminated array of name, value pairs:
 * (const char *[]){ "door", "api", NULL }, or NULL for none.
 */
#ifndef LANCA_PROM_H
#define LANCA_PROM_H

#include <stdint.h>

#include "common/buf.h"
#include "common/metric.h"

#define PROM_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge,
 * histogram...). 0, or -1 (also sticky in b) for a bad name. */
int prom_family(struct buf *b, const char *name, const char *type, const char *help) LANCA_WUR;
/* "name{labels} value". */
int prom_sample_u64(struct buf *b, const char *name, const char *const *labels,
		    uint64_t value) LANCA_WUR;
int prom_sample_i64(struct buf *b, const char *name, const char *const *labels,
		    int64_t value) LANCA_WUR;
/* name_bucket{labels,le="..."} for each bound and +Inf, name_sum (in
 * seconds) and name_count, from a snapshot. */
int prom_histogram(struct buf *b, const char *name, const char *const *labels,
		   const struct metric_histogram_snap *h) LANCA_WUR;
/* Nanoseconds as seconds in decimal, exactly ("0.00025", "2.5", "30"),
 * into out (32 bytes: a u64 needs 21). */
void prom_seconds(uint64_t ns, char out[32]);

#endif
