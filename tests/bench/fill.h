/*
 * fill.h - a big store for the benchmarks (bench-inventory, bench-backup),
 * through the store's own insertion (store_cert_submit, many in flight so
 * that the group commit takes them in large batches, each with its names
 * and its "issue" audit row): n / 4 devices, each renewing every half
 * year over two years up to now (ids in the order of issuance, as in a
 * real store), each certificate valid 90 days, so about one in eight is
 * valid now, one in twenty-four expires within 30 days and the rest have
 * expired; one in a hundred is revoked. The certificates' DER is filler
 * of a P-256 leaf's size, not a certificate.
 */
#ifndef LANCA_BENCH_FILL_H
#define LANCA_BENCH_FILL_H

#include <stdint.h>
#include "store/store.h"

/* Fills s with n certificates of CA ca_id, oldest first; the newest
 * one's serial in hex into first. 0, or -1 (said on stderr). */
int bench_fill(struct store *s, unsigned n, int64_t now, int64_t ca_id,
	       char first[2 * STORE_SERIAL_LEN + 1]);

#endif
