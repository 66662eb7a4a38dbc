/*
 * bench-crl.c - what a CRL costs, by the number of certificates it lists.
 *
 * Makes a CA in a temporary state directory (state_init) and starts its
 * signer process, then for each size (1,000, 10,000 and CRL_ENTRIES_MAX
 * entries, every reason lanca uses, 20-byte serials) makes the CRL
 *   (a) in this process (signer_open_local: crl_make, its check included),
 *   (b) through the signer process (the entries sent in messages of
 *       SIGNER_CRL_ENTRIES_PER_MSG, the CRL back in pieces),
 * and prints, as the median of R runs, the wall time, this process's CPU
 * and (b) the signer's CPU per CRL, the CRL's size, and the peak memory
 * (VmHWM) of both processes so far. Figures are printed, never asserted.
 *
 * usage: bench-crl [-r RUNS]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <sodium.h>

#include "ca/crl.h"
#include "common/fileio.h"
#include "daemon/init.h"
#include "daemon/state.h"
#include "signer/signer.h"
#include "measure.h"

#define RUNS_MAX	15

static void
die(const char *what, const struct lerr *e)
{
	fprintf(stderr, "bench-crl: %s: %s\n", what, e != NULL ? e->msg : "failed");
	exit(1);
}

/* n entries revoked over the last n seconds before now, random serials. */
static void
entries(struct crl_entry *ent, size_t n, time_t now)
{
	static const enum crl_reason rs[] = {
		CRL_REASON_SUPERSEDED, CRL_REASON_KEY_COMPROMISE, CRL_REASON_UNSPECIFIED,
		CRL_REASON_CESSATION_OF_OPERATION, CRL_REASON_AFFILIATION_CHANGED,
		CRL_REASON_PRIVILEGE_WITHDRAWN,
	};
	size_t i;

	for (i = 0; i < n; i++) {
		randombytes_buf(ent[i].serial, CRL_SERIAL_MAX);
		ent[i].serial[0] = (unsigned char)((ent[i].serial[0] & 0x7f) | 0x01);
		ent[i].serial_len = CRL_SERIAL_MAX;
		ent[i].revoked_at = now - (time_t)(n - i);
		ent[i].reason = rs[i % (sizeof(rs) / sizeof(rs[0]))];
	}
}

/* Makes the CRL p describes runs times with s; prints the medians. */
static void
run(const char *how, struct signer *s, const struct crl_params *p, unsigned runs)
{
	double wall[RUNS_MAX], cpu[RUNS_MAX], peer[RUNS_MAX], w0, c0, s0;
	gnutls_datum_t der = { NULL, 0 };
	pid_t pid = signer_pid(s);
	size_t size = 0;
	unsigned i;
	struct lerr e;

	for (i = 0; i < runs; i++) {
		w0 = bench_wall_s();
		c0 = bench_cpu_s(RUSAGE_SELF);
		s0 = pid > 0 ? bench_proc_cpu_s(pid) : 0;
		if (signer_crl(s, 0, p, &der, &e) != 0)
			die("signer_crl", &e);
		wall[i] = bench_wall_s() - w0;
		cpu[i] = bench_cpu_s(RUSAGE_SELF) - c0;
		peer[i] = pid > 0 ? bench_proc_cpu_s(pid) - s0 : 0;
		size = der.size;
		gnutls_free(der.data);
	}
	printf("  %-7s %7zu entries %9.1f KiB  wall %8.1f ms  CPU here %8.1f ms",
	       how, p->n, size / 1024.0, 1e3 * bench_median(wall, runs),
	       1e3 * bench_median(cpu, runs));
	if (pid > 0)
		printf("  signer %8.1f ms  peak RSS here %ld KiB, signer %ld KiB\n",
		       1e3 * bench_median(peer, runs), bench_proc_kb(getpid(), "status", "VmHWM:"),
		       bench_proc_kb(pid, "status", "VmHWM:"));
	else
		printf("  (%.2f us per entry)  peak RSS %ld KiB\n",
		       p->n > 0 ? 1e6 * bench_median(cpu, runs) / (double)p->n : 0.0,
		       bench_proc_kb(getpid(), "status", "VmHWM:"));
}

int
main(int argc, char *argv[])
{
	static const size_t sizes[] = { 1000, 10000, CRL_ENTRIES_MAX };
	char dir[] = "/tmp/lanca-bench-crl.XXXXXX", state[STATE_PATH_MAX];
	struct state_init_opts o;
	struct signer_config sc;
	struct signer *local = NULL, *remote = NULL;
	struct crl_entry *ent;
	struct crl_params p;
	time_t now = time(NULL);
	unsigned runs = 3, i;
	struct lerr e;
	int opt;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		if (opt != 'r' || (runs = (unsigned)strtoul(optarg, NULL, 10)) == 0 ||
		    runs > RUNS_MAX) {
			fprintf(stderr, "usage: bench-crl [-r RUNS (1..%d)]\n", RUNS_MAX);
			return 2;
		}
	}
	if (sodium_init() < 0 || gnutls_global_init() < 0 || mkdtemp(dir) == NULL ||
	    state_path(state, dir, "state") != 0)
		die("set-up", NULL);
	memset(&o, 0, sizeof(o));
	o.dir = state;
	o.name = "bench";
	o.key_type = KEYSTORE_ECDSA_P256;
	if (state_init(&o, NULL, &e) != 0)
		die("init", &e);
	memset(&sc, 0, sizeof(sc));
	sc.dir = state;
	sc.threads = 1;
	if (signer_start(&sc, &remote, &e) != 0 || signer_open_local(state, NULL, &local, &e) != 0)
		die("signer", &e);
	if ((ent = calloc(CRL_ENTRIES_MAX, sizeof(*ent))) == NULL)
		die("out of memory", NULL);
	entries(ent, CRL_ENTRIES_MAX, now);
	printf("bench-crl: P-256 issuing CA, median of %u runs\n", runs);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.number = 1;
		p.this_update = now;
		p.next_update = now + 7 * 86400;
		p.entries = ent;
		p.n = sizes[i];
		run("local", local, &p, runs);
		run("signer", remote, &p, runs);
	}
	free(ent);
	signer_stop(local);
	signer_stop(remote);
	fileio_remove_tree(dir);
	return 0;
}
