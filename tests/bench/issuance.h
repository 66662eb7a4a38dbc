/*
 * issuance.h - certificates issued for the benchmarks through the path
 * every caller uses (daemon/issue.c): P-256 requests made up front, then
 * issued by several threads, each keeping some in flight, each counted
 * only once its row is durable. Shared by bench-sign and bench-token.
 */
#ifndef LANCA_BENCH_ISSUANCE_H
#define LANCA_BENCH_ISSUANCE_H

#include <stddef.h>
#include <sys/types.h>
#include <gnutls/gnutls.h>
#include "daemon/issue.h"

#define BENCH_DEPTH_MAX		16
#define BENCH_THREADS_MAX	64

/* Requests, DER. */
struct bench_csrs {
	gnutls_datum_t *der;
	size_t n;
};

/* Makes n requests, each for a new P-256 key, with a CN and a DNS name
 * "bench-I.local". 0, or -1; free c with bench_csrs_free either way. */
int bench_csrs_make(struct bench_csrs *c, size_t n);
void bench_csrs_free(struct bench_csrs *c);

/* What one run measured. CPU is per certificate, in microseconds: of this
 * process (every thread: the daemon's side) and of the signer process
 * (0 when the signer is local). */
struct bench_issued {
	double certs_s;
	double cpu_self_us;
	double cpu_signer_us;
	double p50_us, p99_us;	/* from submit to durable */
	int errors;		/* the first is said on stderr */
};

/* Issues count certificates through is from c's requests (reused round
 * the list) on threads threads (1..BENCH_THREADS_MAX), each keeping depth
 * (1..BENCH_DEPTH_MAX) in flight; signer is the signer process's id, or 0.
 * 0, or -1 (out of memory). */
int bench_issue_run(const struct issuer *is, const struct bench_csrs *c, size_t count,
		    int threads, unsigned depth, pid_t signer, struct bench_issued *out);

#endif
