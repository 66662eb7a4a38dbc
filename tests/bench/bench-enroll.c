/*
 * bench-enroll.c - what an enrollment over HTTPS costs the daemon.
 *
 * Sets up a state directory with `lanca init` (P-256), pre-authorises 2×N
 * devices with `lanca preauth import`, starts a real `lanca serve` on free
 * loopback ports and generates 2×N P-256 requests up front. Then C client
 * threads enroll N devices with a fresh TLS connection per enrollment, and
 * N more with one kept-alive connection per thread, each a POST of DER to
 * /api/v1/enroll that must answer 201 with a chain. For each run it prints
 * enrollments/s, p50/p99 latency, the CPU time the daemon spent per
 * enrollment (utime+stime of `lanca serve` and of its signer child, read
 * from /proc before and after, so the figure stays right while the client
 * shares the cores), the client's own CPU per enrollment and the daemon's
 * peak RSS, next to the targets. Figures are printed, never asserted; the
 * exit status is non-zero only when set-up failed or an enrollment did.
 *
 * usage: bench-enroll [-n N] [-c THREADS] [-m fresh|keepalive|both]
 *        (LANCA names the lanca binary)
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "client/httpc.h"

#define BENCH_THREADS_MAX	256
#define BENCH_N_MAX		1000000
#define BENCH_CSV_ROWS		10000	/* PREAUTH_ROWS_MAX: rows per imported file */
#define BENCH_TIMEOUT_S		30	/* per connect, handshake, read or write */
#define BENCH_START_S		10	/* how long the daemon may take to answer */

/* The targets from the issue, printed next to the figures. */
#define TARGET_KA_RATE		2000.0	/* enrollments/s, keep-alive */
#define TARGET_KA_CPU_US	500.0	/* daemon CPU per enrollment, keep-alive */
#define TARGET_FRESH_RATE	700.0
#define TARGET_FRESH_CPU_US	1100.0

/* DER requests, one per device; dev[i] is the device id in req[i]'s CN. */
struct bench_csrs {
	gnutls_datum_t *der;
	char (*dev)[32];
	size_t n;
};

/* One timed run: threads take the next request from a shared counter. */
struct bench_run {
	const char *url;
	const struct httpc_tls *tls;
	const struct bench_csrs *csrs;
	size_t first, count;		/* requests [first, first + count) */
	int keepalive;
	atomic_size_t next;
	atomic_int errors;
	atomic_int reported;
	double *lat_us;			/* count entries; < 0 for a failure */
};

/* The daemon under test. */
struct bench_daemon {
	pid_t serve, signer;
	const char *lanca, *state;	/* for `lanca stats` */
};

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This process's CPU seconds so far (all threads, user + system). */
static double
bench_self_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/*
 * CPU seconds a whole process (every thread, live or exited) has used so
 * far: utime + stime, fields 14 and 15 of /proc/PID/stat. Returns -1 when
 * the process is gone or the file unreadable.
 */
static double
bench_proc_cpu(pid_t pid)
{
	char path[64], line[1024], *p;
	unsigned long ut = 0, st = 0;
	long tck = sysconf(_SC_CLK_TCK);
	FILE *f;
	int ok;

	if (pid <= 0 || tck <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	/* The command name may hold spaces and parentheses: skip to the last ')'. */
	if (!ok || (p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)tck;
}

/* A "Field:" of /proc/PID/status (VmHWM, VmRSS) in KiB, or -1. */
static long
bench_proc_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	long kb = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && sscanf(line + fl, " %ld", &kb) != 1)
			kb = -1;
	fclose(f);
	return kb;
}

/* The first child of pid (the signer is serve's only child), or 0. */
static pid_t
bench_child_of(pid_t pid)
{
	char path[96];
	long c = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)pid, (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &c) != 1)
		c = 0;
	fclose(f);
	return (pid_t)c;
}

/*
 * Runs argv[0] with argv, its stdout and stderr appended to log. Returns
 * its exit status, or -1 when it could not run or died of a signal.
 */
static int
bench_run_cmd(char *const argv[], const char *log)
{
	pid_t p;
	int st, fd;

	fflush(stdout);
	p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it). */
static int
bench_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd, port = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Reads a whole small file into a new NUL-terminated buffer. */
static int
bench_read_file(const char *path, char **out, size_t *len)
{
	char *data = NULL;
	long sz;
	FILE *f;
	int rc = -1;

	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL)
		goto out;
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || sz > 1024 * 1024 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	data = malloc((size_t)sz + 1);
	if (data == NULL || fread(data, 1, (size_t)sz, f) != (size_t)sz)
		goto out;
	data[sz] = '\0';
	*out = data;
	*len = (size_t)sz;
	data = NULL;
	rc = 0;
out:
	free(data);
	if (f != NULL)
		fclose(f);
	return rc;
}

/*
 * Writes the device ids of csrs to CSV files of at most BENCH_CSV_ROWS rows
 * (the import's cap) and imports each with `lanca preauth import`.
 */
static int
bench_preauth(const char *lanca, const char *top, const char *state, const char *log,
	      const struct bench_csrs *c)
{
	char path[4096];
	size_t i, j;
	FILE *f;

	for (i = 0; i < c->n; i += BENCH_CSV_ROWS) {
		char *argv[] = { (char *)lanca, "preauth", "import", path, "--dir",
				 (char *)state, NULL };

		if (snprintf(path, sizeof(path), "%s/devices-%zu.csv", top, i) >= (int)sizeof(path))
			return -1;
		f = fopen(path, "w");
		if (f == NULL)
			return -1;
		fprintf(f, "ID,NAME\n");
		for (j = i; j < c->n && j < i + BENCH_CSV_ROWS; j++)
			fprintf(f, "%s,Bench device %zu\n", c->dev[j], j);
		if (fclose(f) != 0 || bench_run_cmd(argv, log) != 0)
			return -1;
	}
	return 0;
}

/* Frees the requests; NULL-safe on a partly filled set. */
static void
bench_csrs_free(struct bench_csrs *c)
{
	size_t i;

	if (c->der != NULL)
		for (i = 0; i < c->n; i++)
			gnutls_free(c->der[i].data);
	free(c->der);
	free(c->dev);
	memset(c, 0, sizeof(*c));
}

/*
 * Generates n P-256 keys and a DER PKCS#10 request for each, CN = the
 * device id: "bench-f-I" for the first n/2 (the fresh-connection run) and
 * "bench-k-I" for the rest. Keys are discarded: nobody uses the
 * certificates. Returns 0, or -1 with c freed.
 */
static int
bench_make_csrs(struct bench_csrs *c, size_t n)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crq_t crq = NULL;
	size_t i;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->der = calloc(n, sizeof(*c->der));
	c->dev = calloc(n, sizeof(*c->dev));
	if (c->der == NULL || c->dev == NULL)
		goto out;
	c->n = n;
	for (i = 0; i < n; i++) {
		snprintf(c->dev[i], sizeof(c->dev[i]), "bench-%c-%zu", i < n / 2 ? 'f' : 'k',
			 i < n / 2 ? i : i - n / 2);
		if (gnutls_x509_privkey_init(&key) < 0 ||
		    gnutls_x509_privkey_generate2(key, GNUTLS_PK_ECDSA,
			GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0) < 0 ||
		    gnutls_x509_crq_init(&crq) < 0 ||
		    gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, c->dev[i],
						  (unsigned)strlen(c->dev[i])) < 0 ||
		    gnutls_x509_crq_set_key(crq, key) < 0 ||
		    gnutls_x509_crq_sign2(crq, key, GNUTLS_DIG_SHA256, 0) < 0 ||
		    gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, &c->der[i]) < 0)
			goto out;
		gnutls_x509_crq_deinit(crq);
		crq = NULL;
		gnutls_x509_privkey_deinit(key);
		key = NULL;
	}
	rc = 0;
out:
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	if (rc != 0)
		bench_csrs_free(c);
	return rc;
}

/*
 * One TLS handshake with GnuTLS's default client priorities, as httpc
 * makes it, to print what is negotiated (version, key exchange group,
 * server key, cipher). Returns 0 or -1.
 */
static int
bench_tls_probe(int port, const char *root, size_t root_len)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	struct sockaddr_in sa;
	gnutls_datum_t d;
	char *desc;
	int fd, g, rc = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d.data = (unsigned char *)(uintptr_t)root;
	d.size = (unsigned)root_len;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_certificate_set_x509_trust_mem(cred, &d, GNUTLS_X509_FMT_PEM) <= 0 ||
	    gnutls_init(&s, GNUTLS_CLIENT) < 0 || gnutls_set_default_priority(s) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		goto out;
	gnutls_session_set_verify_cert(s, "127.0.0.1", 0);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, BENCH_TIMEOUT_S * 1000);
	do
		g = gnutls_handshake(s);
	while (g < 0 && !gnutls_error_is_fatal(g));
	if (g < 0) {
		fprintf(stderr, "bench: TLS probe: %s\n", gnutls_strerror(g));
		goto out;
	}
	desc = gnutls_session_get_desc(s);
	printf("TLS as negotiated by a GnuTLS client with default priorities: %s\n",
	       desc != NULL ? desc : "?");
	fflush(stdout);
	gnutls_free(desc);
	gnutls_bye(s, GNUTLS_SHUT_WR);
	rc = 0;
out:
	if (s != NULL)
		gnutls_deinit(s);
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Counts a failure; reports the first few on stderr (status 0: no answer). */
static void
bench_fail(struct bench_run *r, const char *what, const char *detail, int status)
{
	atomic_fetch_add(&r->errors, 1);
	if (atomic_fetch_add(&r->reported, 1) < 3)
		fprintf(stderr, "bench: %s: HTTP %d: %.200s\n", what, status, detail);
}

/*
 * Sends request i on c and checks the answer: 201 with a PEM chain.
 * Returns 0 when the device got its certificate, -1 otherwise (counted).
 */
static int
bench_enroll_one(struct bench_run *r, struct httpc_conn *c, size_t i)
{
	static const char *const hdrs[] = { "Content-Type: application/pkcs10",
					    "Accept: application/pem-certificate-chain", NULL };
	struct httpc_response resp;
	struct lerr e;
	int rc = -1;

	if (httpc_request(c, "POST", "/api/v1/enroll", hdrs, r->csrs->der[i].data,
			  r->csrs->der[i].size, &resp, &e) != 0) {
		bench_fail(r, "enroll", e.msg, 0);
		return -1;
	}
	if (resp.status != 201)
		bench_fail(r, "enroll", resp.body != NULL ? (const char *)resp.body : "",
			   resp.status);
	else if (resp.body == NULL || strstr((const char *)resp.body, "-----BEGIN CERTIFICATE-----") == NULL)
		bench_fail(r, "enroll", "201 without a certificate", resp.status);
	else
		rc = 0;
	httpc_response_free(&resp);
	return rc;
}

/* A client thread: enrolls requests from the shared counter until none are left. */
static void *
bench_worker(void *arg)
{
	struct bench_run *r = arg;
	struct httpc_conn *c = NULL;
	struct lerr e;
	size_t i;
	double t0;

	for (;;) {
		i = atomic_fetch_add(&r->next, 1);
		if (i >= r->count)
			break;
		t0 = bench_now();
		if (c == NULL && httpc_open(r->url, r->tls, BENCH_TIMEOUT_S, &c, &e) != 0) {
			bench_fail(r, "connect", e.msg, 0);
			r->lat_us[i] = -1;
			continue;
		}
		/* Keep-alive: the one handshake is in the run's time and CPU,
		 * but not in this request's latency. */
		if (r->keepalive)
			t0 = bench_now();
		if (bench_enroll_one(r, c, r->first + i) != 0) {
			r->lat_us[i] = -1;
			httpc_close(c);
			c = NULL;
			continue;
		}
		if (!r->keepalive) {
			httpc_close(c);
			c = NULL;
		}
		r->lat_us[i] = (bench_now() - t0) * 1e6;
	}
	httpc_close(c);
	return NULL;
}

static int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* "met" or "MISSED" for a figure against its target. */
static const char *
bench_verdict(int met)
{
	return met ? "met" : "MISSED";
}

/* The daemon store's counters (`lanca stats --json`): bytes appended to
 * the WAL and transactions committed so far. 0, or -1 if unreadable. */
static int
bench_store_stats(const struct bench_daemon *d, double *wal_bytes, double *commits)
{
	char cmd[600], line[256];
	const char *p;
	FILE *f;
	int got = 0;

	snprintf(cmd, sizeof(cmd), "'%s' stats --json --dir '%s'", d->lanca, d->state);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((p = strstr(line, "\"wal_bytes\":")) != NULL && sscanf(p + 12, "%lf", wal_bytes) == 1)
			got |= 1;
		if ((p = strstr(line, "\"commits\":")) != NULL && sscanf(p + 10, "%lf", commits) == 1)
			got |= 2;
	}
	return pclose(f) == 0 && got == 3 ? 0 : -1;
}

/*
 * Runs one mode over requests [first, first + count) with threads client
 * threads and prints its figures. Returns the number of failed enrollments,
 * or -1 when the run could not start.
 */
static int
bench_mode(const char *url, const struct httpc_tls *tls, const struct bench_csrs *csrs,
	   size_t first, size_t count, int threads, int keepalive, const struct bench_daemon *d)
{
	pthread_t tid[BENCH_THREADS_MAX];
	struct bench_run r;
	double t0, wall, c0, s0, g0, c1, s1, g1, serve_us, signer_us, client_us, rate, p50, p99;
	double w0, w1, k0, k1;
	double target_rate = keepalive ? TARGET_KA_RATE : TARGET_FRESH_RATE;
	double target_cpu = keepalive ? TARGET_KA_CPU_US : TARGET_FRESH_CPU_US;
	size_t i, ok = 0;
	int t, started = 0, rc = -1;

	memset(&r, 0, sizeof(r));
	r.url = url;
	r.tls = tls;
	r.csrs = csrs;
	r.first = first;
	r.count = count;
	r.keepalive = keepalive;
	atomic_init(&r.next, 0);
	atomic_init(&r.errors, 0);
	atomic_init(&r.reported, 0);
	r.lat_us = calloc(count, sizeof(double));
	if (r.lat_us == NULL)
		goto out;

	if (bench_store_stats(d, &w0, &k0) != 0)
		w0 = k0 = -1;
	s0 = bench_proc_cpu(d->serve);
	g0 = bench_proc_cpu(d->signer);
	c0 = bench_self_cpu();
	t0 = bench_now();
	for (t = 0; t < threads; t++) {
		if (pthread_create(&tid[t], NULL, bench_worker, &r) != 0)
			break;
		started++;
	}
	for (t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	wall = bench_now() - t0;
	c1 = bench_self_cpu();
	/* Let the daemon finish what the last closes started (connection
	 * threads exiting), so their CPU is counted; an idle daemon uses none. */
	usleep(100 * 1000);
	s1 = bench_proc_cpu(d->serve);
	g1 = bench_proc_cpu(d->signer);
	if (w0 < 0 || bench_store_stats(d, &w1, &k1) != 0)
		w1 = k1 = -1;
	if (started == 0 || s0 < 0 || s1 < 0 || g0 < 0 || g1 < 0) {
		fprintf(stderr, "bench: %s\n", started == 0 ? "no client thread started" :
			"cannot read the daemon's CPU time from /proc");
		goto out;
	}

	/* Failures sort first as negative latencies; percentiles are over
	 * the successful enrollments only. */
	qsort(r.lat_us, count, sizeof(double), bench_cmp_double);
	for (i = 0; i < count && r.lat_us[i] < 0; i++)
		;
	ok = count - i;
	p50 = ok > 0 ? r.lat_us[i + ok / 2] : 0;
	p99 = ok > 0 ? r.lat_us[i + (ok * 99) / 100 < count ? i + (ok * 99) / 100 : count - 1] : 0;
	rate = (double)ok / wall;
	serve_us = (s1 - s0) * 1e6 / (double)(ok > 0 ? ok : 1);
	signer_us = (g1 - g0) * 1e6 / (double)(ok > 0 ? ok : 1);
	client_us = (c1 - c0) * 1e6 / (double)(ok > 0 ? ok : 1);

	printf("\n%s, %d client threads: %zu enrolled, %d failed, %.2f s\n",
	       keepalive ? "keep-alive (one TLS connection per client thread)" :
			   "fresh TLS connection per enrollment",
	       started, ok, atomic_load(&r.errors), wall);
	printf("  throughput     %8.0f enrollments/s      target >= %.0f/s: %s\n", rate,
	       target_rate, bench_verdict(rate >= target_rate));
	printf("  latency        p50 %8.0f us  p99 %8.0f us\n", p50, p99);
	printf("  daemon CPU     %8.0f us/enrollment      target <= %.0f us: %s\n",
	       serve_us + signer_us, target_cpu, bench_verdict(serve_us + signer_us <= target_cpu));
	printf("                 (serve %.0f us + signer %.0f us)\n", serve_us, signer_us);
	printf("  client CPU     %8.0f us/enrollment (this process, all threads)\n", client_us);
	if (w1 >= 0 && ok > 0)
		printf("  store          %8.0f WAL bytes/enrollment, %.2f commits/enrollment\n",
		       (w1 - w0) / (double)ok, (k1 - k0) / (double)ok);
	printf("  daemon peak RSS (VmHWM so far): serve %ld KiB, signer %ld KiB\n",
	       bench_proc_kb(d->serve, "VmHWM:"), bench_proc_kb(d->signer, "VmHWM:"));
	fflush(stdout);
	rc = atomic_load(&r.errors);
out:
	free(r.lat_us);
	return rc;
}

/* nftw callback for bench_rmtree. */
static int
bench_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes a directory tree without following symbolic links. */
static void
bench_rmtree(const char *dir)
{
	if (nftw(dir, bench_rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "bench: cannot remove %s\n", dir);
}

/*
 * Starts `lanca serve` with stdout and stderr to log and waits until its
 * HTTPS port answers a status request. Returns 0 with d filled, or -1
 * (the daemon stopped again).
 */
static int
bench_start_daemon(const char *lanca, const char *state, const char *log, int https_port,
		   int http_port, const char *url, const struct httpc_tls *tls,
		   struct bench_daemon *d)
{
	char https[32], http[32];
	struct httpc_response resp;
	struct httpc_conn *c = NULL;
	struct lerr e;
	double until;
	int st, fd;
	pid_t p;

	snprintf(https, sizeof(https), "127.0.0.1:%d", https_port);
	snprintf(http, sizeof(http), "127.0.0.1:%d", http_port);
	memset(d, 0, sizeof(*d));
	fflush(stdout);
	p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(lanca, lanca, "serve", "--dir", state, "--https", https, "--http", http,
		      "--enroll-rate", "100000", "--enroll-burst", "100000", (char *)NULL);
		_exit(127);
	}
	d->serve = p;
	d->lanca = lanca;
	d->state = state;
	until = bench_now() + BENCH_START_S;
	while (bench_now() < until) {
		if (waitpid(p, &st, WNOHANG) == p) {
			fprintf(stderr, "bench: lanca serve exited while starting (see %s)\n", log);
			d->serve = 0;
			return -1;
		}
		if (httpc_open(url, tls, 2, &c, &e) == 0) {
			if (httpc_request(c, "GET", "/api/v1/status", NULL, NULL, 0, &resp, &e) == 0) {
				httpc_response_free(&resp);
				httpc_close(c);
				d->signer = bench_child_of(p);
				if (d->signer == 0)
					fprintf(stderr, "bench: no signer child found\n");
				return d->signer != 0 ? 0 : -1;
			}
			httpc_close(c);
			c = NULL;
		}
		usleep(50 * 1000);
	}
	fprintf(stderr, "bench: lanca serve did not answer within %d s\n", BENCH_START_S);
	return -1;
}

/* Stops the daemon with SIGTERM; returns its exit status or -1. */
static int
bench_stop_daemon(struct bench_daemon *d)
{
	int st;

	if (d->serve <= 0)
		return 0;
	kill(d->serve, SIGTERM);
	while (waitpid(d->serve, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	d->serve = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Parses a decimal option in [lo, hi]; -1 when it is not one. */
static long
bench_number(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

static void
bench_usage(void)
{
	fprintf(stderr, "usage: bench-enroll [-n N] [-c THREADS] [-m fresh|keepalive|both]\n"
			"  LANCA must name the lanca binary\n");
}

int
main(int argc, char *argv[])
{
	const char *lanca = getenv("LANCA");
	char top[] = "/tmp/lanca-bench-enroll.XXXXXX", state[256], log[256], path[256];
	char url[64];
	struct bench_daemon d = { 0, 0, NULL, NULL };
	struct bench_csrs csrs = { NULL, NULL, 0 };
	struct httpc_tls tls;
	char *root = NULL;
	size_t n = 2000, root_len = 0;
	int threads = 16, fresh = 1, keepalive = 1, https_port, http_port, opt, failed = 0;
	int have_top = 0, rc = 1, r;
	long v;
	double t0;

	while ((opt = getopt(argc, argv, "n:c:m:")) != -1) {
		switch (opt) {
		case 'n':
			if ((v = bench_number(optarg, 1, BENCH_N_MAX)) < 0) {
				bench_usage();
				return 2;
			}
			n = (size_t)v;
			break;
		case 'c':
			if ((v = bench_number(optarg, 1, BENCH_THREADS_MAX)) < 0) {
				bench_usage();
				return 2;
			}
			threads = (int)v;
			break;
		case 'm':
			fresh = strcmp(optarg, "keepalive") != 0;
			keepalive = strcmp(optarg, "fresh") != 0;
			if (strcmp(optarg, "fresh") != 0 && strcmp(optarg, "keepalive") != 0 &&
			    strcmp(optarg, "both") != 0) {
				bench_usage();
				return 2;
			}
			break;
		default:
			bench_usage();
			return 2;
		}
	}
	if (optind != argc || lanca == NULL || lanca[0] == '\0') {
		bench_usage();
		return 2;
	}
	/* httpc needs it: a daemon closing mid-write must be an error. */
	signal(SIGPIPE, SIG_IGN);
	if (gnutls_global_init() < 0 || mkdtemp(top) == NULL) {
		fprintf(stderr, "bench: set-up failed\n");
		return 1;
	}
	have_top = 1;
	if (snprintf(state, sizeof(state), "%s/state", top) >= (int)sizeof(state) ||
	    snprintf(log, sizeof(log), "%s/lanca.log", top) >= (int)sizeof(log) ||
	    snprintf(path, sizeof(path), "%s/root.pem", state) >= (int)sizeof(path))
		goto out;

	{
		char *iv[] = { (char *)lanca, "init", "--dir", state, "--name", "bench",
			       "--key-type", "ecdsa-p256", NULL };

		if (bench_run_cmd(iv, log) != 0) {
			fprintf(stderr, "bench: lanca init failed (see %s)\n", log);
			goto out_keep;
		}
	}
	printf("generating %zu P-256 requests (N = %zu per mode)...\n", 2 * n, n);
	fflush(stdout);
	t0 = bench_now();
	if (bench_make_csrs(&csrs, 2 * n) != 0) {
		fprintf(stderr, "bench: cannot generate the requests\n");
		goto out;
	}
	printf("  %.1f s; pre-authorising the %zu device ids...\n", bench_now() - t0, 2 * n);
	fflush(stdout);
	if (bench_preauth(lanca, top, state, log, &csrs) != 0) {
		fprintf(stderr, "bench: preauth import failed (see %s)\n", log);
		goto out_keep;
	}
	if (bench_read_file(path, &root, &root_len) != 0) {
		fprintf(stderr, "bench: cannot read %s\n", path);
		goto out;
	}
	memset(&tls, 0, sizeof(tls));
	tls.root_pem = root;
	tls.root_len = root_len;
	https_port = bench_free_port();
	http_port = bench_free_port();
	if (https_port < 0 || http_port < 0 ||
	    snprintf(url, sizeof(url), "https://127.0.0.1:%d", https_port) >= (int)sizeof(url))
		goto out;
	if (bench_start_daemon(lanca, state, log, https_port, http_port, url, &tls, &d) != 0)
		goto out_keep;
	printf("lanca serve pid %ld, signer pid %ld, %ld CPUs online; idle RSS serve %ld KiB, "
	       "signer %ld KiB\n", (long)d.serve, (long)d.signer, sysconf(_SC_NPROCESSORS_ONLN),
	       bench_proc_kb(d.serve, "VmRSS:"), bench_proc_kb(d.signer, "VmRSS:"));
	if (bench_tls_probe(https_port, root, root_len) != 0)
		goto out_keep;

	if (fresh) {
		r = bench_mode(url, &tls, &csrs, 0, n, threads, 0, &d);
		if (r < 0)
			goto out_keep;
		failed += r;
	}
	if (keepalive) {
		r = bench_mode(url, &tls, &csrs, n, n, threads, 1, &d);
		if (r < 0)
			goto out_keep;
		failed += r;
	}
	printf("\ndaemon peak RSS (VmHWM): serve %ld KiB, signer %ld KiB\n",
	       bench_proc_kb(d.serve, "VmHWM:"), bench_proc_kb(d.signer, "VmHWM:"));
	if (bench_stop_daemon(&d) != 0)
		fprintf(stderr, "bench: lanca serve did not exit cleanly (see %s)\n", log);
	rc = failed > 0 ? 1 : 0;
	if (failed > 0) {
		fprintf(stderr, "bench: %d enrollments failed; log kept in %s\n", failed, log);
		goto out_keep;
	}
out:
	bench_stop_daemon(&d);
	if (have_top)
		bench_rmtree(top);
	have_top = 0;
out_keep:
	if (have_top) {
		bench_stop_daemon(&d);
		fprintf(stderr, "bench: state kept in %s\n", top);
	}
	bench_csrs_free(&csrs);
	free(root);
	gnutls_global_deinit();
	return rc;
}
