/*
 * prom.c - the Prometheus text exposition format 0.0.4 (see prom.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/prom.h"

/* 1 if s is a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, with colon 0, a
 * label name (the same without ':'; "__" prefixes are reserved). */
static int
prom_name_ok(const char *s, int colon)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || (!colon && strncmp(s, "__", 2) == 0))
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		      (colon && c == ':') || (i > 0 && c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/* Fails b for good (buf's errors are sticky: the page is dropped). */
static int
prom_fail(struct buf *b)
{
	b->failed = 1;
	return -1;
}

/* s with backslash and line feed escaped, and double quote too when
 * quote is set (label values; HELP text leaves quotes alone). */
static int
prom_escaped(struct buf *b, const char *s, int quote)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" :
				  quote && *s == '"' ? "\\\"" : NULL;

		if (esc == NULL)
			continue;
		if (buf_append(b, run, (size_t)(s - run)) != 0 || buf_puts(b, esc) != 0)
			return -1;
		run = s + 1;
	}
	return buf_puts(b, run);
}

int
prom_family(struct buf *b, const char *name, const char *type, const char *help)
{
	if (!prom_name_ok(name, 1) || !prom_name_ok(type, 0))
		return prom_fail(b);
	if (buf_printf(b, "# HELP %s ", name) != 0 || prom_escaped(b, help, 0) != 0 ||
	    buf_printf(b, "\n# TYPE %s %s\n", name, type) != 0)
		return -1;
	return 0;
}

/* "name{k="v",...,extra_k="extra_v"} " (the braces only when there is a
 * label); extra_k may be NULL. */
static int
prom_head(struct buf *b, const char *name, const char *suffix, const char *const *labels,
	  const char *extra_k, const char *extra_v)
{
	int any = 0;
	size_t i;

	if (!prom_name_ok(name, 1))
		return prom_fail(b);
	if (buf_puts(b, name) != 0 || buf_puts(b, suffix) != 0)
		return -1;
	for (i = 0; labels != NULL && labels[i] != NULL; i += 2) {
		if (!prom_name_ok(labels[i], 0) || labels[i + 1] == NULL)
			return prom_fail(b);
		if (buf_printf(b, "%s%s=\"", any ? "," : "{", labels[i]) != 0 ||
		    prom_escaped(b, labels[i + 1], 1) != 0 || buf_puts(b, "\"") != 0)
			return -1;
		any = 1;
	}
	if (extra_k != NULL) {
		if (buf_printf(b, "%s%s=\"", any ? "," : "{", extra_k) != 0 ||
		    prom_escaped(b, extra_v, 1) != 0 || buf_puts(b, "\"") != 0)
			return -1;
		any = 1;
	}
	return buf_puts(b, any ? "} " : " ");
}

int
prom_sample_u64(struct buf *b, const char *name, const char *const *labels, uint64_t value)
{
	if (prom_head(b, name, "", labels, NULL, NULL) != 0)
		return -1;
	return buf_printf(b, "%" PRIu64 "\n", value);
}

int
prom_sample_i64(struct buf *b, const char *name, const char *const *labels, int64_t value)
{
	if (prom_head(b, name, "", labels, NULL, NULL) != 0)
		return -1;
	return buf_printf(b, "%" PRId64 "\n", value);
}

void
prom_seconds(uint64_t ns, char out[32])
{
	uint64_t frac = ns % 1000000000u;
	int n, i;

	n = snprintf(out, 32, "%" PRIu64, ns / 1000000000u);
	if (frac == 0 || n < 0 || n > 20)
		return;
	snprintf(out + n, (size_t)(32 - n), ".%09" PRIu64, frac);
	/* Trailing zeros of the fraction say nothing: 0.000250000 is 0.00025. */
	for (i = n + 9; out[i] == '0'; i--)
		out[i] = '\0';
}

int
prom_histogram(struct buf *b, const char *name, const char *const *labels,
	       const struct metric_histogram_snap *h)
{
	char le[32];
	unsigned i;

	for (i = 0; i <= METRIC_LATENCY_BOUNDS; i++) {
		if (i < METRIC_LATENCY_BOUNDS)
			prom_seconds(metric_latency_bounds_ns[i], le);
		else
			snprintf(le, sizeof(le), "+Inf");
		if (prom_head(b, name, "_bucket", labels, "le", le) != 0 ||
		    buf_printf(b, "%" PRIu64 "\n", h->cumulative[i]) != 0)
			return -1;
	}
	prom_seconds(h->sum_ns, le);
	if (prom_head(b, name, "_sum", labels, NULL, NULL) != 0 || buf_printf(b, "%s\n", le) != 0 ||
	    prom_head(b, name, "_count", labels, NULL, NULL) != 0 ||
	    buf_printf(b, "%" PRIu64 "\n", h->count) != 0)
		return -1;
	return 0;
}
