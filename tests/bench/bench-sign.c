/*
 * bench-sign.c - what a certificate costs lanca.
 *
 * Generates N P-256 requests up front, then measures:
 *   (a) the signing core in-process, durable commits, 1 and 2 threads
 *       (and 8 concurrent callers, to show what group commit buys);
 *   (b) the same through the signer process over its socketpairs;
 *   (c) `lanca sign` as one process per certificate;
 * and prints certificates/s, CPU microseconds per certificate, p50/p99
 * latency, database bytes per certificate, the idle daemon's RSS and the
 * stripped binary's size. Figures are printed, never asserted.
 *
 * usage: bench-sign [-n N] [-c PROCS] [-d DEPTH]   (LANCA names the lanca binary)
 * DEPTH: how many certificates one thread keeps in flight in the
 * pipelined runs (it signs the next while the previous are committed).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include <sodium.h>

#include "common/fileio.h"
#include "daemon/issue.h"
#include "signer/signer.h"
#include "daemon/init.h"
#include "daemon/state.h"
#include "store/store.h"
#include "measure.h"

struct csrs {
	gnutls_datum_t *der;
	size_t n;
};

#define BENCH_DEPTH_MAX	16

struct run {
	const struct issuer *is;
	const struct csrs *csrs;
	atomic_size_t next;
	size_t limit;
	unsigned depth;		/* certificates one thread keeps in flight */
	double *lat_us;
	atomic_int errors;
};

static int
make_csrs(struct csrs *c, size_t n)
{
	size_t i;

	c->der = calloc(n, sizeof(*c->der));
	c->n = n;
	for (i = 0; i < n; i++) {
		gnutls_x509_privkey_t key;
		gnutls_privkey_t pk;
		gnutls_x509_crq_t crq;
		char cn[64], san[80];

		snprintf(cn, sizeof(cn), "bench-%zu", i);
		snprintf(san, sizeof(san), "bench-%zu.local", i);
		if (gnutls_x509_privkey_init(&key) || gnutls_x509_privkey_generate2(key, GNUTLS_PK_ECDSA,
		    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0) ||
		    gnutls_privkey_init(&pk) || gnutls_privkey_import_x509(pk, key, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) ||
		    gnutls_x509_crq_init(&crq) ||
		    gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn)) ||
		    gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME, san, strlen(san), GNUTLS_FSAN_APPEND) ||
		    gnutls_x509_crq_set_key(crq, key) || gnutls_x509_crq_privkey_sign(crq, pk, GNUTLS_DIG_SHA256, 0) ||
		    gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, &c->der[i]))
			return -1;
		gnutls_x509_crq_deinit(crq);
		gnutls_privkey_deinit(pk);
	}
	return 0;
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

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Runs count issuances on threads callers; prints one result line. */
static void
bench_issue(const char *label, const struct issuer *is, const struct csrs *c, size_t count,
	    int threads, unsigned depth, pid_t signer)
{
	pthread_t tid[64];
	struct run r;
	double t0, c0, s0, wall, cpu;
	int i;

	memset(&r, 0, sizeof(r));
	r.is = is;
	r.csrs = c;
	r.limit = count;
	r.depth = depth;
	r.lat_us = calloc(count, sizeof(double));
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
	cpu = bench_cpu_s(RUSAGE_SELF) - c0 + (signer > 0 ? bench_proc_cpu_s(signer) - s0 : 0);
	qsort(r.lat_us, count, sizeof(double), cmp_double);
	printf("%-40s %2d thr x%2u  %7.0f certs/s  %6.0f us CPU/cert  p50 %7.0f us  p99 %7.0f us  errors %d\n",
	       label, threads, depth, (double)count / wall, cpu * 1e6 / (double)count,
	       r.lat_us[count / 2], r.lat_us[count * 99 / 100], atomic_load(&r.errors));
	fflush(stdout);
	free(r.lat_us);
}

/* (c): `lanca sign` as its own process, procs times. */
static void
bench_cli(const char *lanca, const char *dir, const char *csr_path, int procs)
{
	double t0, c0, *lat = calloc((size_t)procs, sizeof(double));
	int i, st;
	pid_t p;

	c0 = bench_cpu_s(RUSAGE_CHILDREN);
	t0 = bench_wall_s();
	for (i = 0; i < procs; i++) {
		double s = bench_wall_s();

		fflush(stdout);
		p = fork();
		if (p == 0) {
			if (freopen("/dev/null", "w", stdout) == NULL)
				_exit(127);
			execl(lanca, lanca, "sign", csr_path, "--dir", dir, (char *)NULL);
			_exit(127);
		}
		waitpid(p, &st, 0);
		lat[i] = (bench_wall_s() - s) * 1e6;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fprintf(stderr, "bench: lanca sign failed\n");
	}
	qsort(lat, (size_t)procs, sizeof(double), cmp_double);
	printf("%-40s %2d thr x%2d  %7.0f certs/s  %6.0f us CPU/cert  p50 %7.0f us  p99 %7.0f us\n",
	       "(c) lanca sign, one process per cert", 1, 1, procs / (bench_wall_s() - t0),
	       (bench_cpu_s(RUSAGE_CHILDREN) - c0) * 1e6 / procs, lat[procs / 2], lat[procs * 99 / 100]);
	free(lat);
}

/* The idle daemon's memory, measured on a real `lanca serve`. */
static void
bench_daemon_rss(const char *lanca, const char *dir)
{
	char https[64], http[64], path[STATE_PATH_MAX];
	pid_t p, signer = 0;
	int st, port = 20000 + (int)(getpid() % 20000);
	FILE *f;

	snprintf(https, sizeof(https), "127.0.0.1:%d", port);
	snprintf(http, sizeof(http), "127.0.0.1:%d", port + 1);
	fflush(stdout);
	p = fork();
	if (p == 0) {
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execl(lanca, lanca, "serve", "--dir", dir, "--https", https, "--http", http, (char *)NULL);
		_exit(127);
	}
	sleep(2);
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)p, (long)p);
	f = fopen(path, "r");
	if (f != NULL) {
		long c;

		if (fscanf(f, "%ld", &c) == 1)
			signer = (pid_t)c;
		fclose(f);
	}
	printf("idle daemon RSS: %ld KiB (serve) + %ld KiB (signer); peak %ld + %ld KiB; "
	       "PSS (shared pages counted once) %ld + %ld KiB\n",
	       bench_proc_kb(p, "status", "VmRSS:"), signer ? bench_proc_kb(signer, "status", "VmRSS:") : -1,
	       bench_proc_kb(p, "status", "VmHWM:"), signer ? bench_proc_kb(signer, "status", "VmHWM:") : -1,
	       bench_proc_kb(p, "smaps_rollup", "Pss:"), signer ? bench_proc_kb(signer, "smaps_rollup", "Pss:") : -1);
	kill(p, SIGTERM);
	waitpid(p, &st, 0);
}

int
main(int argc, char *argv[])
{
	const char *lanca = getenv("LANCA");
	char dir[] = "/tmp/lanca-bench.XXXXXX", state[STATE_PATH_MAX], path[STATE_PATH_MAX];
	char cmd[STATE_PATH_MAX * 3];
	struct state_init_opts o;
	struct signer *local = NULL, *remote = NULL;
	struct signer_config sc;
	struct store *s = NULL;
	struct ca_set ca;
	struct policy pol;
	struct issuer is;
	struct csrs c;
	struct lerr e;
	struct stat st;
	int64_t count = 0;
	size_t n = 20000;
	unsigned depth = 4;
	int procs = 50, opt;

	while ((opt = getopt(argc, argv, "n:c:d:")) != -1) {
		if (opt == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (opt == 'c')
			procs = (int)strtol(optarg, NULL, 10);
		else if (opt == 'd')
			depth = (unsigned)strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (n == 0 || procs < 1 || depth < 1 || depth > BENCH_DEPTH_MAX) {
		fprintf(stderr, "usage: bench-sign [-n N] [-c PROCS] [-d DEPTH 1..%d]\n", BENCH_DEPTH_MAX);
		return 2;
	}
	if (sodium_init() < 0 || gnutls_global_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	if (state_path(state, dir, "state") != 0)
		return 1;
	memset(&o, 0, sizeof(o));
	o.dir = state;
	o.name = "bench";
	o.key_type = KEYSTORE_ECDSA_P256;
	if (state_init(&o, NULL, &e) != 0) {
		fprintf(stderr, "bench: init: %s\n", e.msg);
		return 1;
	}
	/* The signer is forked before this process opens the database, as
	 * in `lanca serve`: SQLite connections must not cross a fork. */
	memset(&sc, 0, sizeof(sc));
	sc.dir = state;
	sc.threads = 2;
	if (signer_start(&sc, &remote, &e) != 0) {
		fprintf(stderr, "bench: signer: %s\n", e.msg);
		return 1;
	}
	printf("generating %zu P-256 requests...\n", n);
	if (make_csrs(&c, n) != 0)
		return 1;
	if (state_path(path, state, STORE_FILE) != 0)
		return 1;
	if (store_open(path, 0, &s, &e) != 0 || ca_set_load(s, &ca, &e) != 0 ||
	    policy_from_ca(&pol, ca.issuing, &e) != 0 ||
	    signer_open_local(state, NULL, &local, &e) != 0) {
		fprintf(stderr, "bench: %s\n", e.msg);
		return 1;
	}
	is.store = s;
	is.policy = &pol;
	is.ca_id = ca.issuing_id;
	is.signer = local;
	printf("thr = threads issuing; xD = certificates each keeps in flight\n");
	bench_issue("(a) signing core in-process, durable", &is, &c, n, 1, 1, 0);
	bench_issue("(a) signing core in-process, durable", &is, &c, n, 2, 1, 0);
	bench_issue("(a) signing core in-process, durable", &is, &c, n, 8, 1, 0);
	bench_issue("(a) signing core in-process, durable", &is, &c, n, 1, depth, 0);
	bench_issue("(a) signing core in-process, durable", &is, &c, n, 2, depth, 0);
	signer_stop(local);

	is.signer = remote;
	bench_issue("(b) through the signer process, durable", &is, &c, n, 1, 1, signer_pid(remote));
	bench_issue("(b) through the signer process, durable", &is, &c, n, 2, 1, signer_pid(remote));
	bench_issue("(b) through the signer process, durable", &is, &c, n, 8, 1, signer_pid(remote));
	bench_issue("(b) through the signer process, durable", &is, &c, n, 2, depth, signer_pid(remote));
	signer_stop(remote);

	store_cert_count(s, &count, &e);
	store_close(s);	/* checkpoints the WAL into the main file */
	if (stat(path, &st) == 0 && count > 0)
		printf("database: %lld certificates, %.0f bytes per certificate\n",
		       (long long)count, (double)st.st_size / (double)count);
	if (lanca != NULL) {
		if (state_path(path, dir, "one.csr") != 0)
			return 1;
		fileio_write_atomic(path, c.der[0].data, c.der[0].size, 0644, 0, &e);
		bench_cli(lanca, state, path, procs);
		bench_daemon_rss(lanca, state);
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s/lanca' && strip '%s/lanca'", lanca, dir, dir);
		if (state_path(path, dir, "lanca") != 0)
			return 1;
		if (system(cmd) == 0 && stat(path, &st) == 0)
			printf("stripped lanca binary: %lld bytes\n", (long long)st.st_size);
	} else {
		printf("(set LANCA to the lanca binary for (c), daemon RSS and binary size)\n");
	}
	ca_set_free(&ca);
	policy_free(&pol);
	fileio_remove_tree(dir);
	return 0;
}
