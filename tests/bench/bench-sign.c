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
#include <signal.h>
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
#include "issuance.h"
#include "measure.h"

/* Runs count issuances on threads callers; prints one result line with
 * the CPU of both processes when signer is a process. */
static void
bench_issue(const char *label, const struct issuer *is, const struct bench_csrs *c, size_t count,
	    int threads, unsigned depth, pid_t signer)
{
	struct bench_issued f;

	if (bench_issue_run(is, c, count, threads, depth, signer, &f) != 0) {
		fprintf(stderr, "bench: out of memory\n");
		return;
	}
	printf("%-40s %2d thr x%2u  %7.0f certs/s  %6.0f us CPU/cert  p50 %7.0f us  p99 %7.0f us  errors %d\n",
	       label, threads, depth, f.certs_s, f.cpu_self_us + f.cpu_signer_us, f.p50_us, f.p99_us,
	       f.errors);
	fflush(stdout);
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
	bench_sort(lat, (size_t)procs);
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
	struct bench_csrs c;
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
	if (bench_csrs_make(&c, n) != 0)
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
	bench_csrs_free(&c);
	fileio_remove_tree(dir);
	return 0;
}
