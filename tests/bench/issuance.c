/*
 * issuance.c - the benchmarks' requests and issuance runs (see issuance.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "store/store.h"
#include "issuance.h"
#include "measure.h"

struct run {
	const struct issuer *is;
	const struct bench_csrs *csrs;
	atomic_size_t next;
	size_t limit;
	unsigned depth;		/* certificates one thread keeps in flight */
	double *lat_us;
	atomic_int errors;
};

/* One request for a new P-256 key into *der. 0 or -1. */
static int
bench_csr_make(size_t i, gnutls_datum_t *der)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_privkey_t pk = NULL;
	gnutls_x509_crq_t crq = NULL;
	char cn[64], san[80];
	int rc = -1;

	snprintf(cn, sizeof(cn), "bench-%zu", i);
	snprintf(san, sizeof(san), "bench-%zu.local", i);
	if (gnutls_x509_privkey_init(&key) || gnutls_x509_privkey_generate2(key, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0) ||
	    gnutls_privkey_init(&pk) || gnutls_privkey_import_x509(pk, key, 0) ||
	    gnutls_x509_crq_init(&crq) ||
	    gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn)) ||
	    gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME, san, strlen(san), GNUTLS_FSAN_APPEND) ||
	    gnutls_x509_crq_set_key(crq, key) || gnutls_x509_crq_privkey_sign(crq, pk, GNUTLS_DIG_SHA256, 0) ||
	    gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, der))
		goto out;
	rc = 0;
out:
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	if (pk != NULL)
		gnutls_privkey_deinit(pk);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

int
bench_csrs_make(struct bench_csrs *c, size_t n)
{
	c->n = 0;
	if ((c->der = calloc(n, sizeof(*c->der))) == NULL)
		return -1;
	for (c->n = 0; c->n < n; c->n++)
		if (bench_csr_make(c->n, &c->der[c->n]) != 0)
			return -1;
	return 0;
}

void
bench_csrs_free(struct bench_csrs *c)
{
	size_t i;

	if (c == NULL || c->der == NULL)
		return;
	for (i = 0; i < c->n; i++)
		gnutls_free(c->der[i].data);
	free(c->der);
	c->der = NULL;
	c->n = 0;
}

/* Waits for one in-flight certificate to be durable. */
static void
finish_one(struct run *r, struct issue_pending *p, size_t i, double t0)
{
	struct store_cert *cert;
	struct lerr e;

	if (issue_cert_finish(p, &cert, &e) != 0) {
		if (atomic_fetch_add(&r->errors, 1) == 0)
			fprintf(stderr, "bench: %s\n", e.msg);
		return;
	}
	r->lat_us[i] = (bench_wall_s() - t0) * 1e6;
	store_cert_free(cert);
}

/* Issues certificates until none are left, keeping up to r->depth in
 * flight: it signs the next while the previous ones are committed. A
 * certificate counts only once its row is durable. */
static void *
worker(void *arg)
{
	struct run *r = arg;
	struct issue_pending *p[BENCH_DEPTH_MAX];
	double t0[BENCH_DEPTH_MAX];
	size_t idx[BENCH_DEPTH_MAX], head = 0, n = 0, i;
	struct issue_req req;
	struct lerr e;

	for (;;) {
		i = atomic_fetch_add(&r->next, 1);
		if (i >= r->limit)
			break;
		if (n == r->depth) {
			finish_one(r, p[head], idx[head], t0[head]);
			head = (head + 1) % r->depth;
			n--;
		}
		memset(&req, 0, sizeof(req));
		req.csr = r->csrs->der[i % r->csrs->n].data;
		req.csr_len = r->csrs->der[i % r->csrs->n].size;
		req.profile = POLICY_DEVICE;
		req.actor = "bench";
		t0[(head + n) % r->depth] = bench_wall_s();
		if (issue_cert_submit(r->is, &req, &p[(head + n) % r->depth], &e) != 0) {
			if (atomic_fetch_add(&r->errors, 1) == 0)
				fprintf(stderr, "bench: %s\n", e.msg);
			continue;
		}
		idx[(head + n) % r->depth] = i;
		n++;
	}
	while (n > 0) {
		finish_one(r, p[head], idx[head], t0[head]);
		head = (head + 1) % r->depth;
		n--;
	}
	return NULL;
}

int
bench_issue_run(const struct issuer *is, const struct bench_csrs *c, size_t count,
		int threads, unsigned depth, pid_t signer, struct bench_issued *out)
{
	pthread_t tid[BENCH_THREADS_MAX];
	struct run r;
	double t0, c0, s0, wall;
	int i;

	memset(out, 0, sizeof(*out));
	if (count == 0 || c->n == 0 || threads < 1 || threads > BENCH_THREADS_MAX ||
	    depth < 1 || depth > BENCH_DEPTH_MAX)
		return -1;
	memset(&r, 0, sizeof(r));
	r.is = is;
	r.csrs = c;
	r.limit = count;
	r.depth = depth;
	if ((r.lat_us = calloc(count, sizeof(double))) == NULL)
		return -1;
	atomic_init(&r.next, 0);
	atomic_init(&r.errors, 0);
	c0 = bench_cpu_s(RUSAGE_SELF);
	s0 = signer > 0 ? bench_proc_cpu_s(signer) : 0;
	t0 = bench_wall_s();
	for (i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, &r);
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	wall = bench_wall_s() - t0;
	out->cpu_self_us = (bench_cpu_s(RUSAGE_SELF) - c0) * 1e6 / (double)count;
	out->cpu_signer_us = signer > 0 ? (bench_proc_cpu_s(signer) - s0) * 1e6 / (double)count : 0;
	out->certs_s = (double)count / wall;
	bench_sort(r.lat_us, count);
	out->p50_us = r.lat_us[count / 2];
	out->p99_us = r.lat_us[count * 99 / 100];
	out->errors = atomic_load(&r.errors);
	free(r.lat_us);
	return 0;
}
