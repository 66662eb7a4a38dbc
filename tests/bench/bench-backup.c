/*
 * bench-backup.c - what `lanca backup` and `lanca restore` cost (issue
 * 14), by the size of the store.
 *
 * Makes a state directory as `lanca init` does (state_init), fills its
 * store with N certificates (fill.h; default 10,000), then times, CPU and
 * wall (the median of R runs, default 3):
 *   - backup_write sealed to a passphrase (Argon2id at its default cost,
 *     64 MiB and 3 passes, then XChaCha20-Poly1305), and plain
 *     (--insecure-plaintext: the same work without the key derivation and
 *     the cipher);
 *   - restore_run of each into a new directory: the stream, the store's
 *     integrity check, the keys against their certificates, the chain, the
 *     store's root and the whole audit chain.
 * It prints the store's and the backups' sizes and this process's peak
 * resident memory after each phase (getrusage: a high-water mark, so a
 * phase that needs less than an earlier one shows the earlier figure).
 * Printed, never asserted. The files live in DIR (default $TMPDIR or /tmp).
 *
 * usage: bench-backup [-n CERTIFICATES] [-r REPEATS] [-d DIR]
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "common/fileio.h"
#include "common/lerr.h"
#include "daemon/backup.h"
#include "daemon/init.h"
#include "ca/keystore.h"
#include "daemon/state.h"
#include "store/store.h"
#include "fill.h"
#include "measure.h"

#define REPEATS_MAX	15
#define PASS		"a benchmark's backup passphrase"

static unsigned
arg_uint(const char *s, unsigned lo, unsigned hi)
{
	return bench_arg_uint(s, lo, hi, "usage: bench-backup [-n CERTIFICATES] [-r REPEATS] [-d DIR]");
}

static long
peak_kib(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static long long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Makes dir/state with n certificates in its store. */
static int
make_state(const char *state, unsigned n)
{
	struct state_init_opts o;
	char path[STATE_PATH_MAX], first[2 * STORE_SERIAL_LEN + 1];
	struct store *s = NULL;
	struct ca_set ca;
	struct lerr e;
	int rc = -1;

	memset(&o, 0, sizeof(o));
	memset(&ca, 0, sizeof(ca));
	o.dir = state;
	o.name = "bench";
	o.key_type = KEYSTORE_ECDSA_P256;
	if (state_init(&o, NULL, &e) != 0 || state_path(path, state, STORE_FILE) != 0 ||
	    store_open(path, 0, &s, &e) != 0 || ca_set_load(s, &ca, &e) != 0) {
		fprintf(stderr, "bench-backup: %s\n", e.msg);
		goto out;
	}
	rc = bench_fill(s, n, (int64_t)time(NULL), ca.issuing_id, first);
out:
	ca_set_free(&ca);
	store_close(s);
	return rc;
}

/* Times R backups of state (sealed or plain) to base/NAME-i.bk and R
 * restores of the first into base/NAME-r-i; prints a line each. */
static int
run(const char *base, const char *state, const char *name, int sealed, unsigned repeats)
{
	double bcpu[REPEATS_MAX], bwall[REPEATS_MAX], rcpu[REPEATS_MAX], rwall[REPEATS_MAX], w, c;
	char out[600], dir[600];
	struct backup_summary sum;
	struct backup_opts o;
	struct restore_opts ro;
	struct lerr e;
	long bpeak, rpeak;
	unsigned i;

	memset(&o, 0, sizeof(o));
	memset(&ro, 0, sizeof(ro));
	if (sealed) {
		o.pass = ro.pass = PASS;
		o.pass_len = ro.pass_len = strlen(PASS);
	} else {
		ro.allow_plain = 1;	/* --insecure-plaintext */
	}
	for (i = 0; i < repeats; i++) {
		snprintf(out, sizeof(out), "%s/%s-%u.bk", base, name, i);
		w = bench_wall_s();
		c = bench_cpu_s(RUSAGE_SELF);
		if (backup_write(state, out, &o, &sum, &e) != 0) {
			fprintf(stderr, "bench-backup: backup: %s\n", e.msg);
			return -1;
		}
		bcpu[i] = (bench_cpu_s(RUSAGE_SELF) - c) * 1e3;
		bwall[i] = (bench_wall_s() - w) * 1e3;
	}
	bpeak = peak_kib();
	snprintf(out, sizeof(out), "%s/%s-0.bk", base, name);
	for (i = 0; i < repeats; i++) {
		snprintf(dir, sizeof(dir), "%s/%s-r-%u", base, name, i);
		w = bench_wall_s();
		c = bench_cpu_s(RUSAGE_SELF);
		if (restore_run(out, dir, &ro, &sum, &e) != 0) {
			fprintf(stderr, "bench-backup: restore: %s\n", e.msg);
			return -1;
		}
		rcpu[i] = (bench_cpu_s(RUSAGE_SELF) - c) * 1e3;
		rwall[i] = (bench_wall_s() - w) * 1e3;
		fileio_remove_tree(dir);
	}
	rpeak = peak_kib();
	printf("%-8s backup  %10.1f %10.1f %12lld %10ld\n", name, bench_median(bcpu, repeats),
	       bench_median(bwall, repeats), file_size(out), bpeak);
	printf("%-8s restore %10.1f %10.1f %12s %10ld\n", name, bench_median(rcpu, repeats),
	       bench_median(rwall, repeats), "-", rpeak);
	return 0;
}

int
main(int argc, char *argv[])
{
	unsigned n = 10000, repeats = 3;
	const char *base = getenv("TMPDIR");
	char dir[512], state[600], path[700];
	double w;
	int opt, rc = 1;

	while ((opt = getopt(argc, argv, "n:r:d:")) != -1) {
		switch (opt) {
		case 'n': n = arg_uint(optarg, 4, 10000000); break;
		case 'r': repeats = arg_uint(optarg, 1, REPEATS_MAX); break;
		case 'd': base = optarg; break;
		default: arg_uint("", 1, 0);
		}
	}
	if (sodium_init() < 0)
		return 1;
	snprintf(dir, sizeof(dir), "%s/bench-backup.XXXXXX",
		 base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("bench-backup: mkdtemp");
		return 1;
	}
	snprintf(state, sizeof(state), "%s/state", dir);
	w = bench_wall_s();
	if (make_state(state, n) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", state, STORE_FILE);
	printf("state: %u certificates, store %lld bytes, made in %.1f s; peak RSS %ld KiB\n", n,
	       file_size(path), bench_wall_s() - w, peak_kib());
	printf("%-8s %-7s %10s %10s %12s %10s\n", "backup", "step", "CPU ms", "wall ms", "bytes",
	       "peak KiB");
	if (run(dir, state, "sealed", 1, repeats) != 0 || run(dir, state, "plain", 0, repeats) != 0)
		goto out;
	rc = 0;
out:
	fileio_remove_tree(dir);
	return rc;
}
