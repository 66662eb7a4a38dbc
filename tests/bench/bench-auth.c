/*
 * bench-auth.c - what a password check costs, and that a login for an
 * unknown user costs the same.
 *
 * A failed login for a user that does not exist runs auth_verify_dummy(),
 * which must spend the same Argon2id work as auth_verify_password() on a
 * real hash, or the time of the answer tells who has an account. This
 * prints both (wall and CPU milliseconds per call) and their ratio, which
 * should be close to 1. Printed, never asserted: timings on a shared
 * machine belong here, not in the unit tests.
 *
 * usage: bench-auth [-n N]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "common/lerr.h"
#include "daemon/auth.h"
#include "measure.h"

int
main(int argc, char *argv[])
{
	double w0, w1, w2, c0, c1, c2;
	char *hash = NULL;
	unsigned n = 5, i;
	struct lerr e;
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n' || (n = (unsigned)strtoul(optarg, NULL, 10)) == 0 || n > 1000) {
			fprintf(stderr, "usage: bench-auth [-n N (1..1000)]\n");
			return 2;
		}
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "bench-auth: libsodium failed to initialise\n");
		return 1;
	}
	if (auth_hash_password("password1", 9, &hash, &e) != 0) {
		fprintf(stderr, "bench-auth: %s\n", e.msg);
		return 1;
	}
	w0 = (bench_wall_s() * 1e3), c0 = (bench_cpu_s(RUSAGE_SELF) * 1e3);
	for (i = 0; i < n; i++)
		if (auth_verify_password(hash, "password2", 9) != -1)
			return 1;
	w1 = (bench_wall_s() * 1e3), c1 = (bench_cpu_s(RUSAGE_SELF) * 1e3);
	for (i = 0; i < n; i++)
		if (auth_verify_dummy("password2", 9) != -1)
			return 1;
	w2 = (bench_wall_s() * 1e3), c2 = (bench_cpu_s(RUSAGE_SELF) * 1e3);
	printf("bench-auth: Argon2id, %u calls each\n", n);
	printf("  auth_verify_password (wrong)  %7.1f ms/call wall  %7.1f ms/call CPU\n",
	       (w1 - w0) / n, (c1 - c0) / n);
	printf("  auth_verify_dummy (no user)   %7.1f ms/call wall  %7.1f ms/call CPU\n",
	       (w2 - w1) / n, (c2 - c1) / n);
	printf("  dummy / real: %.2f (CPU), %.2f (wall)\n", (c2 - c1) / (c1 - c0),
	       (w2 - w1) / (w1 - w0));
	free(hash);
	return 0;
}
