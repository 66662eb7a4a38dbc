/*
 * bench-token.c - what keeping the issuing CA key in a PKCS#11 token
 * costs, against a key file, in one run on one machine.
 *
 * Makes its own SoftHSM2 token in a temporary directory and two state
 * directories: one with keys/issuing.key a key file, one with it a record
 * naming a key made in the token (as `lanca init --issuing-key pkcs11:...`
 * does). For each it measures:
 *   (a) raw signatures with the loaded key (gnutls_privkey_sign_data over
 *       a certificate-sized message, the digest the CA signs with), on 1
 *       thread, on 2 sharing one handle (as the signer's threads share
 *       its key) and on 2 with a handle each: signatures/s and this
 *       process's CPU per signature (SoftHSM runs inside the calling
 *       process, so its work is counted);
 *   (b) whole certificates through the real signer process (its sandbox,
 *       its channels) and the durable store, as bench-sign's (b):
 *       certificates/s, CPU per certificate of this process (the daemon's
 *       side) and of the signer, p50/p99 latency.
 * File and token runs alternate, each measured ROUNDS times, so that a
 * shared machine's load falls on both alike. The signer's CPU is read in
 * clock ticks (10 ms): N of a few thousand keeps that under 5 us per
 * certificate. Figures are printed, never asserted. Without
 * softhsm2-util or the SoftHSM2 module it says so and exits 0.
 *
 * usage: bench-token [-n N] [-r ROUNDS] [-k ecdsa-p256|ecdsa-p384|rsa-3072] [-d DEPTH]
 * N: signatures and certificates per measurement (2000); ROUNDS: how many
 * times each is measured, the median printed (3); DEPTH: certificates
 * each thread keeps in flight in (b)'s last runs (4).
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <sodium.h>

#include "common/fileio.h"
#include "common/p11key.h"
#include "ca/keystore.h"
#include "ca/x509.h"
#include "daemon/init.h"
#include "daemon/issue.h"
#include "daemon/state.h"
#include "signer/files.h"
#include "signer/signer.h"
#include "store/store.h"
#include "issuance.h"
#include "measure.h"

#define USAGE	"usage: bench-token [-n N] [-r ROUNDS 1..9] [-k ecdsa-p256|ecdsa-p384|rsa-3072] " \
		"[-d DEPTH 1..16]"
#define ROUNDS_MAX	9
#define TOKEN_LABEL	"lanca-bench"
#define TOKEN_PIN	"4711-bench-pin"
#define TOKEN_SO_PIN	"8642-bench-so-pin"
#define TOKEN_URL	"pkcs11:token=" TOKEN_LABEL ";object=issuing"
/* About the size of the to-be-signed part of a leaf certificate. */
#define SIGN_MSG_LEN	480

static const char *const softhsm_modules[] = {
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
	"/usr/lib/pkcs11/libsofthsm2.so",
};

/* One of the two set-ups being compared. */
struct side {
	const char *name;		/* "file" or "token" */
	char state[STATE_PATH_MAX];
	struct signer *signer;
	struct store *store;
	struct ca_set ca;
	struct policy pol;
	int loaded;			/* ca and pol to free */
	/* The issuing key loaded twice in this process, as the signer loads
	 * it: for a token, two handles with a PKCS#11 session each. */
	gnutls_privkey_t keys[2];
};

struct raw_run {
	gnutls_digest_algorithm_t dig;
	const gnutls_datum_t *msg;
	size_t limit;
	atomic_size_t next;
	atomic_int errors;
};

struct raw_thread {
	struct raw_run *run;
	gnutls_privkey_t key;
};

/* A SoftHSM2 token of this run's own under dir: its configuration
 * (SOFTHSM2_CONF, inherited by the signer), an initialised token and a
 * PIN file. *module is the SoftHSM2 module found. 1 when SoftHSM2 is
 * not installed (said on stdout), 0 done, -1 failed (said on stderr). */
static int
token_setup(const char *dir, char tokens[STATE_PATH_MAX], char pin_file[STATE_PATH_MAX],
	    const char **module)
{
	char conf[STATE_PATH_MAX], text[STATE_PATH_MAX + 128];
	char *init[] = { "softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL,
			 "--pin", TOKEN_PIN, "--so-pin", TOKEN_SO_PIN, NULL };
	char *probe[] = { "softhsm2-util", "--version", NULL };
	struct lerr e;
	size_t i;
	int w;

	*module = NULL;
	for (i = 0; i < sizeof(softhsm_modules) / sizeof(softhsm_modules[0]); i++)
		if (access(softhsm_modules[i], R_OK) == 0) {
			*module = softhsm_modules[i];
			break;
		}
	if (*module == NULL) {
		printf("bench-token: the SoftHSM2 module libsofthsm2.so was not found "
		       "(Debian: apt install softhsm2); nothing measured\n");
		return 1;
	}
	if (bench_run_cmd(probe, "/dev/null") != 0) {
		printf("bench-token: softhsm2-util is not installed (Debian: apt install softhsm2); "
		       "nothing measured\n");
		return 1;
	}
	if (state_path(tokens, dir, "tokens") != 0 || state_path(conf, dir, "softhsm2.conf") != 0 ||
	    state_path(pin_file, dir, "pin") != 0 || mkdir(tokens, 0700) != 0) {
		fprintf(stderr, "bench-token: %s: cannot make the token directory\n", dir);
		return -1;
	}
	w = snprintf(text, sizeof(text), "directories.tokendir = %s\nobjectstore.backend = file\n"
		     "log.level = ERROR\n", tokens);
	if (w < 0 || (size_t)w >= sizeof(text) ||
	    fileio_write_atomic(conf, text, (size_t)w, 0600, 1, &e) != 0 ||
	    fileio_write_atomic(pin_file, TOKEN_PIN "\n", strlen(TOKEN_PIN "\n"), 0600, 1, &e) != 0) {
		fprintf(stderr, "bench-token: writing the token's files: %s\n", e.msg);
		return -1;
	}
	if (setenv("SOFTHSM2_CONF", conf, 1) != 0 || bench_run_cmd(init, "/dev/null") != 0) {
		fprintf(stderr, "bench-token: softhsm2-util --init-token failed\n");
		return -1;
	}
	return 0;
}

/* Makes s->state with its issuing key in the token ref names (NULL: a
 * key file). In a child process, as `lanca init` is one: this process
 * has not touched PKCS#11 when it forks the signers, as `lanca serve`
 * has not. 0 or -1 (said on stderr). */
static int
side_init(struct side *s, const char *dir, enum keystore_type t, const struct p11key_ref *ref)
{
	struct state_init_opts o;
	struct lerr e;
	int made = 0, st;
	pid_t p;

	if (state_path(s->state, dir, s->name) != 0)
		return -1;
	fflush(stdout);
	p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		memset(&o, 0, sizeof(o));
		o.dir = s->state;
		o.name = "bench";
		o.key_type = t;
		o.issuing_token = ref;
		o.issuing_made = &made;
		if (state_init(&o, NULL, &e) != 0) {
			fprintf(stderr, "bench-token: init (%s key): %s\n", s->name, e.msg);
			_exit(1);
		}
		if (ref != NULL && !made) {
			fprintf(stderr, "bench-token: init used a key already in the token\n");
			_exit(1);
		}
		_exit(0);
	}
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return 0;
}

/* Opens s's store and CA set, after its signer was forked (SQLite
 * connections must not cross a fork). 0 or -1 (said on stderr). */
static int
side_open(struct side *s)
{
	char path[STATE_PATH_MAX];
	struct lerr e;

	if (state_path(path, s->state, STORE_FILE) != 0)
		return -1;
	if (store_open(path, 0, &s->store, &e) != 0 || ca_set_load(s->store, &s->ca, &e) != 0) {
		fprintf(stderr, "bench-token: %s: %s\n", s->name, e.msg);
		return -1;
	}
	if (policy_from_ca(&s->pol, s->ca.issuing, &e) != 0) {
		ca_set_free(&s->ca);
		fprintf(stderr, "bench-token: %s: %s\n", s->name, e.msg);
		return -1;
	}
	s->loaded = 1;
	return 0;
}

static void
side_close(struct side *s)
{
	gnutls_privkey_deinit(s->keys[0]);
	gnutls_privkey_deinit(s->keys[1]);
	s->keys[0] = s->keys[1] = NULL;
	signer_stop(s->signer);
	s->signer = NULL;
	store_close(s->store);
	s->store = NULL;
	if (s->loaded) {
		ca_set_free(&s->ca);
		policy_free(&s->pol);
		s->loaded = 0;
	}
}

static void *
raw_worker(void *arg)
{
	struct raw_thread *t = arg;
	struct raw_run *r = t->run;
	gnutls_datum_t sig;

	while (atomic_fetch_add(&r->next, 1) < r->limit) {
		if (gnutls_privkey_sign_data(t->key, r->dig, 0, r->msg, &sig) < 0) {
			atomic_fetch_add(&r->errors, 1);
			continue;
		}
		gnutls_free(sig.data);
	}
	return NULL;
}

/* (a) once: count signatures of msg on threads threads (1 or 2), thread i
 * with keys[i] (the same handle twice, or one each): signatures/s into
 * *rate, this process's CPU per signature into *cpu_us; the errors. */
static int
raw_once(gnutls_privkey_t keys[2], const gnutls_datum_t *msg, size_t count, int threads,
	 double *rate, double *cpu_us)
{
	pthread_t tid[2];
	struct raw_thread th[2];
	struct raw_run r;
	double t0, c0;
	int i;

	memset(&r, 0, sizeof(r));
	r.dig = x509_sign_digest(keys[0]);
	r.msg = msg;
	r.limit = count;
	atomic_init(&r.next, 0);
	atomic_init(&r.errors, 0);
	c0 = bench_cpu_s(RUSAGE_SELF);
	t0 = bench_wall_s();
	for (i = 0; i < threads; i++) {
		th[i].run = &r;
		th[i].key = keys[i];
		pthread_create(&tid[i], NULL, raw_worker, &th[i]);
	}
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	*rate = (double)count / (bench_wall_s() - t0);
	*cpu_us = (bench_cpu_s(RUSAGE_SELF) - c0) * 1e6 / (double)count;
	return atomic_load(&r.errors);
}

/* (a) for both sides, rounds times, alternating: how says which
 * handles (0: one thread; 1: two sharing one; 2: two with one each).
 * One line per side: the medians, and the rate's range. */
static void
bench_raw(struct side sides[2], int how, const gnutls_datum_t *msg, size_t count, unsigned rounds)
{
	static const char *const what[] = { "", "one handle", "a handle each" };
	double rate[2][ROUNDS_MAX], cpu[2][ROUNDS_MAX];
	gnutls_privkey_t keys[2];
	int errors[2] = { 0, 0 };
	unsigned r, i;

	for (r = 0; r < rounds; r++)
		for (i = 0; i < 2; i++) {
			keys[0] = sides[i].keys[0];
			keys[1] = sides[i].keys[how == 2];
			errors[i] += raw_once(keys, msg, count, how ? 2 : 1, &rate[i][r], &cpu[i][r]);
		}
	for (i = 0; i < 2; i++) {
		double med = bench_median(rate[i], rounds);

		printf("(a) raw signature, %-5s key  %d thr %-13s %7.0f sig/s (%6.0f-%6.0f)  "
		       "%5.0f us CPU/sig  errors %d\n", sides[i].name, how ? 2 : 1, what[how], med,
		       rate[i][0], rate[i][rounds - 1], bench_median(cpu[i], rounds), errors[i]);
	}
	fflush(stdout);
}

/* Loads s's issuing key into this process twice, as the signer would (a
 * record opens its token key), and checks that a signature with it
 * verifies under the issuing certificate (x509_key_signs, the signer's
 * own start-up check). 0 or -1 (said on stderr). */
static int
side_keys(struct side *s)
{
	char path[STATE_PATH_MAX];
	gnutls_x509_crt_t crt = NULL;
	unsigned char *pem = NULL;
	size_t len = 0;
	struct lerr e;
	int rc = -1;

	if (state_path(path, s->state, SIGNER_ISSUING_KEY) != 0)
		return -1;
	if (keystore_load(path, NULL, &s->keys[0], &e) != 0 ||
	    keystore_load(path, NULL, &s->keys[1], &e) != 0 ||
	    state_path(path, s->state, SIGNER_ISSUING_PEM) != 0 ||
	    fileio_read(path, 64 * 1024, 0, &pem, &len, &e) != 0 ||
	    x509_import(pem, len, &crt, &e) != 0 || x509_key_signs(s->keys[0], crt, &e) != 0) {
		fprintf(stderr, "bench-token: %s: %s\n", s->name, e.msg);
		goto out;
	}
	rc = 0;
out:
	free(pem);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

/* (b) for both sides, rounds times, alternating: count certificates
 * through each side's signer process. One line per side: the medians,
 * and the rate's range. */
static void
bench_issue(struct side sides[2], const struct bench_csrs *c, size_t count, int threads,
	    unsigned depth, unsigned rounds)
{
	/* Per side: certs/s, CPU of this process and of the signer, p50, p99. */
	double v[2][5][ROUNDS_MAX], med[5];
	struct bench_issued f;
	struct issuer is;
	int errors[2] = { 0, 0 };
	unsigned r, i, k;

	for (r = 0; r < rounds; r++)
		for (i = 0; i < 2; i++) {
			is.store = sides[i].store;
			is.policy = &sides[i].pol;
			is.ca_id = sides[i].ca.issuing_id;
			is.signer = sides[i].signer;
			if (bench_issue_run(&is, c, count, threads, depth, signer_pid(sides[i].signer),
					    &f) != 0) {
				fprintf(stderr, "bench-token: out of memory\n");
				return;
			}
			v[i][0][r] = f.certs_s;
			v[i][1][r] = f.cpu_self_us;
			v[i][2][r] = f.cpu_signer_us;
			v[i][3][r] = f.p50_us;
			v[i][4][r] = f.p99_us;
			errors[i] += f.errors;
		}
	for (i = 0; i < 2; i++) {
		for (k = 0; k < 5; k++)
			med[k] = bench_median(v[i][k], rounds);
		printf("(b) via signer,    %-5s key  %d thr x%-2u  %7.0f certs/s (%5.0f-%5.0f)  "
		       "%5.0f us CPU/cert (daemon %4.0f + signer %4.0f)  p50 %6.0f us  p99 %6.0f us  "
		       "errors %d\n", sides[i].name, threads, depth, med[0], v[i][0][0],
		       v[i][0][rounds - 1], med[1] + med[2], med[1], med[2], med[3], med[4], errors[i]);
	}
	fflush(stdout);
}

int
main(int argc, char *argv[])
{
	char dir[] = "/tmp/lanca-bench-token.XXXXXX", tokens[STATE_PATH_MAX], pin_file[STATE_PATH_MAX];
	const char *key_name = "ecdsa-p256", *module = NULL;
	const char *allow[1];
	unsigned char msg_bytes[SIGN_MSG_LEN];
	gnutls_datum_t msg = { msg_bytes, sizeof(msg_bytes) };
	struct side sides[2] = { { .name = "file" }, { .name = "token" } };
	struct signer_config sc;
	struct p11key_ref *ref = NULL;
	struct bench_csrs c = { NULL, 0 };
	enum keystore_type t = KEYSTORE_ECDSA_P256;
	unsigned n = 2000, depth = 4;
	/* (b)'s runs: threads issuing, certificates each keeps in flight
	 * (0: -d's). */
	static const struct { int threads; unsigned depth; } runs[] = { { 1, 1 }, { 2, 1 }, { 2, 0 } };
	unsigned rounds = 3;
	struct lerr e;
	size_t i, j;
	int opt, rc = 1, made_dir = 0;

	while ((opt = getopt(argc, argv, "n:k:d:r:")) != -1) {
		if (opt == 'n')
			n = bench_arg_uint(optarg, 1, 10000000, USAGE);
		else if (opt == 'r')
			rounds = bench_arg_uint(optarg, 1, ROUNDS_MAX, USAGE);
		else if (opt == 'd')
			depth = bench_arg_uint(optarg, 1, BENCH_DEPTH_MAX, USAGE);
		else if (opt == 'k' && keystore_type_parse(optarg, &t) == 0)
			key_name = optarg;
		else {
			fprintf(stderr, "%s\n", USAGE);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s\n", USAGE);
		return 2;
	}
	if (sodium_init() < 0 || gnutls_global_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	made_dir = 1;
	switch (token_setup(dir, tokens, pin_file, &module)) {
	case 1:
		rc = 0;
		goto out;
	case 0:
		break;
	default:
		goto out;
	}
	/* The signer's sandbox leaves the module the token directory, as
	 * `lanca init --token-path` records it. */
	allow[0] = tokens;
	if ((ref = malloc(sizeof(*ref))) == NULL ||
	    keystore_token_ref("--issuing-key", TOKEN_URL, pin_file, module, allow, 1, ref, &e) != 0) {
		fprintf(stderr, "bench-token: %s\n", ref == NULL ? "out of memory" : e.msg);
		goto out;
	}
	printf("issuing key %s: a key file, and made in a SoftHSM2 token (%s, %s)\n",
	       key_name, module, TOKEN_URL);
	if (side_init(&sides[0], dir, t, NULL) != 0 || side_init(&sides[1], dir, t, ref) != 0)
		goto out;
	/* Both signers are forked before this process opens a database or
	 * the token, as in `lanca serve`. */
	memset(&sc, 0, sizeof(sc));
	sc.threads = 2;
	for (i = 0; i < 2; i++) {
		sc.dir = sides[i].state;
		if (signer_start(&sc, &sides[i].signer, &e) != 0) {
			fprintf(stderr, "bench-token: signer (%s key): %s\n", sides[i].name, e.msg);
			goto out;
		}
	}
	printf("generating %u P-256 requests...\n", n);
	if (bench_csrs_make(&c, n) != 0) {
		fprintf(stderr, "bench-token: cannot make the requests\n");
		goto out;
	}
	for (i = 0; i < 2; i++)
		if (side_open(&sides[i]) != 0)
			goto out;
	randombytes_buf(msg_bytes, sizeof(msg_bytes));
	for (i = 0; i < 2; i++)
		if (side_keys(&sides[i]) != 0)
			goto out;
	printf("(a) %u signatures of %u bytes in this process; (b) %u certificates, durable, "
	       "through the signer process (2 signing threads). Medians of %u rounds, file and "
	       "token alternating; (lowest-highest) rate\n", n, SIGN_MSG_LEN, n, rounds);
	/* 1 thread; 2 sharing a handle, as the signer's signing threads
	 * share its key; 2 with a handle each. */
	for (j = 0; j < 3; j++)
		bench_raw(sides, (int)j, &msg, n, rounds);
	for (j = 0; j < sizeof(runs) / sizeof(runs[0]); j++)
		bench_issue(sides, &c, n, runs[j].threads, runs[j].depth ? runs[j].depth : depth,
			    rounds);
	rc = 0;
out:
	for (i = 0; i < 2; i++)
		side_close(&sides[i]);
	bench_csrs_free(&c);
	free(ref);
	if (made_dir)
		fileio_remove_tree(dir);
	return rc;
}
