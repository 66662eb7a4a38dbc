/*
 * bench-enroll.c - what an enrollment over HTTPS costs the daemon.
 *
 * Sets up a state directory with `lanca init` (P-256), pre-authorises every
 * device id the run needs with `lanca preauth import` (files of at most
 * 10,000 rows, the import's cap), generates the P-256 requests up front
 * and starts a real `lanca serve` on free loopback ports. Client threads
 * then POST the requests as DER to /api/v1/enroll, each answer a 201 with
 * a chain: with a fresh TLS connection per enrollment, or with one
 * kept-alive connection per thread. Client threads connect from sixteen
 * loopback addresses in turn (127.0.0.1-16), as devices come from their
 * own, so the server's per-address connection limit stays set.
 *
 * Each run prints enrollments/s, p50/p99 latency, the CPU time `lanca
 * serve` and its signer each spent per enrollment (utime+stime from /proc
 * before and after, so the figure holds while the client shares the
 * cores), the client's own CPU and both processes' peak RSS during the run
 * (VmHWM, reset before it through /proc/PID/clear_refs), and the store's
 * WAL bytes and commits per enrollment (`lanca stats`, when the binary
 * has it). After start-up it prints both processes' idle proportional set
 * size (smaps_rollup).
 *
 * Comparison: with -b OTHER (or LANCA2 set) a second binary ("B", say the
 * tree before a change) runs in the same invocation against a state
 * directory of its own, its rounds alternating with LANCA's ("A"), so
 * that before and after see the same machine. Every round starts each
 * daemon afresh and runs every client count in every mode; the summary
 * gives, per binary, client count and mode, the median and the range over
 * the rounds, next to the targets.
 *
 * Stores: LANCA's store is SQLite (DIR/lanca.db) as `lanca init` makes
 * it. -s URL adds a configuration "P" of the same binary whose store is
 * the empty PostgreSQL database URL (`lanca init --store URL`); -g URL
 * one "G" of two gateways on the database URL: two `lanca serve`, the
 * second joined to the first's site with an issuing CA of its own
 * (`lanca join --site-root-key`), the client threads split
 * between them (odd threads to one, even to the other). Their rounds
 * alternate with A's, with the same client counts. -p PID names the
 * database server (PostgreSQL's postmaster): the CPU time of it and of
 * every process it forked (its backends, live or reaped) is counted per
 * enrollment as the store's, next to serve's and the signer's; with
 * SQLite the store runs inside serve. -l CMD is a shell command that
 * prints the server's WAL position in bytes, read before and after each
 * run for the WAL bytes per enrollment (with SQLite they come from
 * `lanca stats`, as the commits do for both).
 * tests/bench/bench-enroll-pg.sh starts a server of its own and passes
 * all four (`make bench-enroll-pg`).
 *
 * Scaling (-S TOTAL -k STEP): enrolls TOTAL devices against one daemon in
 * steps of STEP, keep-alive, with the first client count of -c, and prints
 * rate and CPU per enrollment of each step and their spread around the
 * median, to see whether the cost grows with the store.
 *
 * Figures are printed, never asserted; the exit status is non-zero only
 * when set-up failed or an enrollment did.
 *
 * usage: bench-enroll [-n N] [-c LIST] [-m fresh|keepalive|both] [-r ROUNDS]
 *                     [-b OTHER-LANCA] [-S TOTAL -k STEP]
 *                     [-s URL] [-g URL] [-p STORE-PID] [-l WAL-CMD]
 *        (LANCA names the lanca binary; LANCA2, like -b, a second one)
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
#include "measure.h"

#define BENCH_THREADS_MAX	256
#define BENCH_N_MAX		1000000
#define BENCH_CLIENTS_MAX	8	/* client counts in one -c list */
#define BENCH_ROUNDS_MAX	15
#define BENCH_STEPS_MAX		100	/* -S / -k */
#define BENCH_SOURCES		16	/* client source addresses 127.0.0.1..16 */
#define BENCH_SETTLE_US		(1000 * 1000)	/* after start-up, before idle PSS */
#define BENCH_CSV_ROWS		10000	/* PREAUTH_ROWS_MAX: rows per imported file */
#define BENCH_TIMEOUT_S		30	/* per connect, handshake, read or write */
#define BENCH_START_S		10	/* how long the daemon may take to answer */
#define BENCH_GW_MAX		2	/* gateways sharing one store (-g) */
#define BENCH_BINS_MAX		4	/* A, B, P, G */

/* The targets of issue 8, printed next to the figures (16 clients). */
#define TARGET_KA_RATE		3000.0	/* enrollments/s, keep-alive */
#define TARGET_KA_CPU_US	450.0	/* serve + signer CPU per enrollment, keep-alive */
#define TARGET_FRESH_RATE	1200.0
#define TARGET_FRESH_CPU_US	1100.0
#define TARGET_IDLE_PSS_KB	(6 * 1024)	/* serve + signer, idle */
#define TARGET_HWM_SERVE_KB	(10 * 1024)	/* peak under 16 clients */
#define TARGET_HWM_SIGNER_KB	(4 * 1024)
#define TARGET_SCALE_SPREAD	15.0	/* %, rate and CPU per step around the median */

/* DER requests, one per device; dev[i] is the device id in req[i]'s CN. */
struct bench_csrs {
	gnutls_datum_t *der;
	char (*dev)[32];
	size_t n;
};

/* One timed run: threads take the next request from a shared counter. */
struct bench_run {
	const char *url[BENCH_GW_MAX];	/* thread t talks to url[t % nurl] */
	int nurl;
	const struct httpc_tls *tls;
	const struct bench_csrs *csrs;
	size_t first, count;		/* requests [first, first + count) */
	int keepalive;
	atomic_size_t next;
	atomic_int thread_no;		/* hands each thread its source address */
	atomic_int errors;
	atomic_int reported;
	double *lat_us;			/* count entries; < 0 for a failure */
};

/* A daemon under test. */
struct bench_daemon {
	pid_t serve, signer;
	const char *lanca, *state;	/* for `lanca stats` */
};

/* The gateways of one configuration and their store's server. */
struct bench_site {
	struct bench_daemon gw[BENCH_GW_MAX];
	int n;
	pid_t store;			/* the database server; 0: in serve (SQLite) */
	const char *wal_cmd;		/* prints the server's WAL position, or NULL */
};

/* What one run measured. */
struct bench_fig {
	double rate;			/* enrollments/s */
	double serve_us, signer_us;	/* CPU per enrollment, every gateway's */
	double store_us;		/* the database server's; < 0 without one */
	double client_us;
	double p50_us, p99_us;
	long hwm_serve_kb, hwm_signer_kb;	/* peak RSS during the run (the larger gateway's) */
	double wal_bytes, commits;	/* per enrollment; < 0 when unknown */
	size_t ok;
	int errors;
};

/* A binary under test, its state directory and its figures. */
struct bench_bin {
	const char *lanca;
	char name;			/* 'A' (LANCA), 'B' (-b / LANCA2), 'P' (-s), 'G' (-g) */
	const char *store;		/* a PostgreSQL URL; NULL: SQLite */
	int gateways;			/* lanca serve processes on the store */
	pid_t store_pid;		/* -p, for a PostgreSQL store */
	const char *wal_cmd;		/* -l, likewise */
	char state[BENCH_GW_MAX][256];
	/* [client count][mode: 0 fresh, 1 keep-alive][round] */
	struct bench_fig fig[BENCH_CLIENTS_MAX][2][BENCH_ROUNDS_MAX];
	long pss_serve_kb[BENCH_ROUNDS_MAX], pss_signer_kb[BENCH_ROUNDS_MAX];
};

/* A "Field:" of /proc/PID/status (VmHWM, VmRSS) in KiB, or -1. */
static long
bench_status_kb(pid_t pid, const char *field)
{
	return bench_proc_kb(pid, "status", field);
}

/* Proportional set size of pid in KiB (smaps_rollup: shared library
 * pages divided among the processes mapping them), or -1. */
static long
bench_proc_pss(pid_t pid)
{
	return bench_proc_kb(pid, "smaps_rollup", "Pss:");
}

/* Resets pid's VmHWM to its current RSS ("5" to clear_refs), so that the
 * next reading is the peak of what follows. Best effort. */
static void
bench_reset_hwm(pid_t pid)
{
	char path[64];
	FILE *f;

	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%ld/clear_refs", (long)pid);
	f = fopen(path, "w");
	if (f == NULL)
		return;
	fputs("5", f);
	fclose(f);
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
 * device id "bench-I". Keys are discarded: nobody uses the certificates.
 * Returns 0, or -1 with c freed.
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
		snprintf(c->dev[i], sizeof(c->dev[i]), "bench-%zu", i);
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
	const char *url;
	char src[32];
	size_t i;
	double t0;
	int no;

	no = atomic_fetch_add(&r->thread_no, 1);
	url = r->url[no % r->nurl];
	snprintf(src, sizeof(src), "127.0.0.%d", 1 + no % BENCH_SOURCES);
	for (;;) {
		i = atomic_fetch_add(&r->next, 1);
		if (i >= r->count)
			break;
		t0 = bench_wall_s();
		if (c == NULL && httpc_open_from(url, src, r->tls, BENCH_TIMEOUT_S, &c, &e) != 0) {
			bench_fail(r, "connect", e.msg, 0);
			r->lat_us[i] = -1;
			continue;
		}
		/* Keep-alive: the one handshake is in the run's time and CPU,
		 * but not in this request's latency. */
		if (r->keepalive)
			t0 = bench_wall_s();
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
		r->lat_us[i] = (bench_wall_s() - t0) * 1e6;
	}
	httpc_close(c);
	return NULL;
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

	snprintf(cmd, sizeof(cmd), "'%s' stats --json --dir '%s' 2>/dev/null", d->lanca, d->state);
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

/* The WAL position, in bytes, that site's wal_cmd prints. 0 or -1. */
static int
bench_server_wal(const struct bench_site *site, double *pos)
{
	char line[128];
	FILE *f;
	int got;

	if ((f = popen(site->wal_cmd, "r")) == NULL)
		return -1;
	got = fgets(line, sizeof(line), f) != NULL && sscanf(line, "%lf", pos) == 1;
	return pclose(f) == 0 && got ? 0 : -1;
}

/* The site's counters: commits of every gateway's store, and the WAL
 * written: the server's (wal_cmd) when it has one, else the gateways'
 * own (SQLite's WAL). 0, or -1 if one is unreadable. */
static int
bench_site_stats(const struct bench_site *site, double *wal_bytes, double *commits)
{
	double w, k;
	int i;

	*wal_bytes = *commits = 0;
	for (i = 0; i < site->n; i++) {
		if (bench_store_stats(&site->gw[i], &w, &k) != 0)
			return -1;
		*wal_bytes += w;
		*commits += k;
	}
	if (site->wal_cmd != NULL && bench_server_wal(site, wal_bytes) != 0)
		return -1;
	return 0;
}

/* CPU seconds so far of every gateway's serve and signer, and of the
 * store's server (0 without one). 0, or -1 when one is unreadable. */
static int
bench_site_cpu(const struct bench_site *site, double *serve, double *signer, double *store)
{
	double v;
	int i;

	*serve = *signer = *store = 0;
	for (i = 0; i < site->n; i++) {
		if ((v = bench_proc_cpu_s(site->gw[i].serve)) < 0)
			return -1;
		*serve += v;
		if ((v = bench_proc_cpu_s(site->gw[i].signer)) < 0)
			return -1;
		*signer += v;
	}
	if (site->store > 0 && (*store = bench_proc_tree_cpu_s(site->store)) < 0)
		return -1;
	return 0;
}

/*
 * Runs count requests from first with threads client threads against d,
 * fresh or keep-alive, into *f. Returns the number of failed enrollments,
 * or -1 when the run could not start.
 */
static int
bench_mode(char (*url)[64], const struct httpc_tls *tls, const struct bench_csrs *csrs,
	   size_t first, size_t count, int threads, int keepalive, const struct bench_site *site,
	   struct bench_fig *f)
{
	pthread_t tid[BENCH_THREADS_MAX];
	struct bench_run r;
	double t0, wall, c0, s0, g0, d0, c1, s1, g1, d1, okd, w0, w1, k0, k1;
	long kb;
	size_t i;
	int t, started = 0, rc = -1, cpu_ok;

	memset(f, 0, sizeof(*f));
	memset(&r, 0, sizeof(r));
	for (t = 0; t < site->n; t++)
		r.url[t] = url[t];
	r.nurl = site->n;
	r.tls = tls;
	r.csrs = csrs;
	r.first = first;
	r.count = count;
	r.keepalive = keepalive;
	atomic_init(&r.next, 0);
	atomic_init(&r.thread_no, 0);
	atomic_init(&r.errors, 0);
	atomic_init(&r.reported, 0);
	r.lat_us = calloc(count, sizeof(double));
	if (r.lat_us == NULL)
		goto out;

	for (t = 0; t < site->n; t++) {
		bench_reset_hwm(site->gw[t].serve);
		bench_reset_hwm(site->gw[t].signer);
	}
	if (bench_site_stats(site, &w0, &k0) != 0)
		w0 = k0 = -1;
	/* The backend that answered wal_cmd exits now: not this run's CPU. */
	if (site->wal_cmd != NULL)
		usleep(100 * 1000);
	cpu_ok = bench_site_cpu(site, &s0, &g0, &d0) == 0;
	c0 = bench_cpu_s(RUSAGE_SELF);
	t0 = bench_wall_s();
	for (t = 0; t < threads; t++) {
		if (pthread_create(&tid[t], NULL, bench_worker, &r) != 0)
			break;
		started++;
	}
	for (t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	wall = bench_wall_s() - t0;
	c1 = bench_cpu_s(RUSAGE_SELF);
	/* Let the daemon finish what the last closes started, so that their
	 * CPU is counted; an idle daemon uses none. */
	usleep(100 * 1000);
	cpu_ok = cpu_ok && bench_site_cpu(site, &s1, &g1, &d1) == 0;
	if (w0 < 0 || bench_site_stats(site, &w1, &k1) != 0)
		w1 = k1 = -1;
	if (started == 0 || !cpu_ok) {
		fprintf(stderr, "bench: %s\n", started == 0 ? "no client thread started" :
			"cannot read the daemon's CPU time from /proc");
		goto out;
	}

	/* Failures sort first as negative latencies; percentiles are over
	 * the successful enrollments only. */
	bench_sort(r.lat_us, count);
	for (i = 0; i < count && r.lat_us[i] < 0; i++)
		;
	f->ok = count - i;
	f->errors = atomic_load(&r.errors);
	if (f->ok > 0) {
		f->p50_us = r.lat_us[i + f->ok / 2];
		f->p99_us = r.lat_us[i + (f->ok * 99) / 100 < count ? i + (f->ok * 99) / 100 :
				     count - 1];
	}
	okd = (double)(f->ok > 0 ? f->ok : 1);
	f->rate = (double)f->ok / wall;
	f->serve_us = (s1 - s0) * 1e6 / okd;
	f->signer_us = (g1 - g0) * 1e6 / okd;
	f->store_us = site->store > 0 ? (d1 - d0) * 1e6 / okd : -1;
	f->client_us = (c1 - c0) * 1e6 / okd;
	for (t = 0; t < site->n; t++) {
		if ((kb = bench_status_kb(site->gw[t].serve, "VmHWM:")) > f->hwm_serve_kb)
			f->hwm_serve_kb = kb;
		if ((kb = bench_status_kb(site->gw[t].signer, "VmHWM:")) > f->hwm_signer_kb)
			f->hwm_signer_kb = kb;
	}
	f->wal_bytes = f->commits = -1;
	if (w1 >= 0 && f->ok > 0) {
		f->wal_bytes = (w1 - w0) / okd;
		f->commits = (k1 - k0) / okd;
	}
	rc = f->errors;
out:
	free(r.lat_us);
	return rc;
}

/* Prints one run's figures on one line. */
static void
bench_print_run(const char *what, const struct bench_fig *f)
{
	printf("  %-30s %6.0f/s  p50 %6.1f ms  p99 %6.1f ms  CPU us serve %5.0f + signer %4.0f ",
	       what, f->rate, f->p50_us / 1000, f->p99_us / 1000, f->serve_us, f->signer_us);
	if (f->store_us >= 0)
		printf("+ store %5.0f = %5.0f", f->store_us,
		       f->serve_us + f->signer_us + f->store_us);
	else
		printf("= %5.0f", f->serve_us + f->signer_us);
	printf("  client %5.0f  peak KiB serve %6ld signer %5ld", f->client_us, f->hwm_serve_kb,
	       f->hwm_signer_kb);
	if (f->wal_bytes >= 0)
		printf("  WAL %5.0f B, %.2f commits", f->wal_bytes, f->commits);
	printf("%s\n", f->errors > 0 ? "  (FAILURES)" : "");
	fflush(stdout);
}

/* Median, min and max of v[0..n) (n >= 1; v is reordered). */
static void
bench_stats(double *v, size_t n, double *med, double *lo, double *hi)
{
	bench_sort(v, n);
	*lo = v[0];
	*hi = v[n - 1];
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* "median [min-max]" of one figure over rounds, at width w. */
static void
bench_print_stat(double *v, size_t n, const char *fmt_unit)
{
	double med, lo, hi;

	bench_stats(v, n, &med, &lo, &hi);
	printf(" %7.0f [%5.0f-%5.0f]%s", med, lo, hi, fmt_unit);
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
	char *const argv[] = { (char *)lanca, "serve", "--dir", (char *)state, "--https", https,
			       "--http", http, "--enroll-rate", "100000", "--enroll-burst", "100000",
			       NULL };
	struct httpc_response resp;
	struct httpc_conn *c = NULL;
	struct lerr e;
	double until;
	int st;
	pid_t p;

	snprintf(https, sizeof(https), "127.0.0.1:%d", https_port);
	snprintf(http, sizeof(http), "127.0.0.1:%d", http_port);
	memset(d, 0, sizeof(*d));
	p = bench_spawn(argv, log);
	if (p < 0)
		return -1;
	d->serve = p;
	d->lanca = lanca;
	d->state = state;
	until = bench_wall_s() + BENCH_START_S;
	while (bench_wall_s() < until) {
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
	fprintf(stderr,
		"usage: bench-enroll [-n N] [-c LIST] [-m fresh|keepalive|both] [-r ROUNDS]\n"
		"                    [-b OTHER-LANCA] [-S TOTAL -k STEP]\n"
		"                    [-s URL] [-g URL] [-p STORE-PID] [-l WAL-CMD]\n"
		"  -n N       enrollments per run (default 2000)\n"
		"  -c LIST    client threads, comma-separated (default 16; e.g. 1,4,16,64)\n"
		"  -r ROUNDS  rounds, each daemon started afresh (default 3)\n"
		"  -b LANCA   a second binary, alternating rounds with LANCA (or set LANCA2)\n"
		"  -S TOTAL -k STEP   scaling: TOTAL keep-alive enrollments in steps of STEP\n"
		"  -s URL     also LANCA on the empty PostgreSQL database URL (P)\n"
		"  -g URL     also two LANCA gateways sharing the empty database URL (G)\n"
		"  -p PID     the database server's pid (postmaster): its CPU counted too\n"
		"  -l CMD     shell command printing the server's WAL position in bytes\n"
		"  LANCA must name the lanca binary; BENCH_KEEP=1 keeps the state directory\n");
}

/* Parses "1,4,16,64" into out (at most BENCH_CLIENTS_MAX). Count or -1. */
static int
bench_clients(const char *s, int *out)
{
	char buf[128], *p, *comma;
	int n = 0;
	long v;

	if (strlen(s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	for (p = buf; p != NULL; p = comma) {
		comma = strchr(p, ',');
		if (comma != NULL)
			*comma++ = '\0';
		if (n >= BENCH_CLIENTS_MAX || (v = bench_number(p, 1, BENCH_THREADS_MAX)) < 0)
			return -1;
		out[n++] = (int)v;
	}
	return n;
}

/* `lanca init` (on b's store) and the pre-authorisation of every
 * request's device id, in b's own state directory under top; for a
 * second gateway, `lanca join` with an issuing CA of its own, as a site
 * of several gateways is deployed (docs/scaling.md). 0 or -1 (said on
 * stderr). */
static int
bench_setup_bin(struct bench_bin *b, const char *top, const char *log,
		const struct bench_csrs *csrs)
{
	char csvdir[256];
	char *iv[] = { (char *)b->lanca, "init", "--dir", b->state[0], "--name", "bench",
		       "--key-type", "ecdsa-p256", NULL, NULL, NULL };
	char root_key[300];
	char *jv[] = { (char *)b->lanca, "join", "--dir", b->state[1], "--name", "gw2",
		       "--store", (char *)b->store, "--site-root-key", root_key,
		       "--key-type", "ecdsa-p256", NULL };
	int i;

	for (i = 0; i < b->gateways; i++)
		if (snprintf(b->state[i], sizeof(b->state[i]), "%s/state-%c%d", top, b->name,
			     i + 1) >= (int)sizeof(b->state[i]))
			return -1;
	if (snprintf(csvdir, sizeof(csvdir), "%s/csv-%c", top, b->name) >= (int)sizeof(csvdir) ||
	    mkdir(csvdir, 0700) != 0)
		return -1;
	if (b->store != NULL) {
		iv[8] = "--store";
		iv[9] = (char *)b->store;
	}
	if (bench_run_cmd(iv, log) != 0) {
		fprintf(stderr, "bench: %s init failed (see %s)\n", b->lanca, log);
		return -1;
	}
	if (bench_preauth(b->lanca, csvdir, b->state[0], log, csrs) != 0) {
		fprintf(stderr, "bench: preauth import failed (see %s)\n", log);
		return -1;
	}
	if (b->gateways > 1 &&
	    (snprintf(root_key, sizeof(root_key), "%s/keys/root.key", b->state[0]) >=
	     (int)sizeof(root_key) || bench_run_cmd(jv, log) != 0)) {
		fprintf(stderr, "bench: the second gateway's join failed (see %s)\n", log);
		return -1;
	}
	return 0;
}

/* Stops every gateway of site; the number that did not exit cleanly. */
static int
bench_down(struct bench_site *site)
{
	int i, bad = 0;

	for (i = 0; i < site->n; i++)
		if (bench_stop_daemon(&site->gw[i]) != 0)
			bad++;
	return bad;
}

/* Starts b's gateways on fresh ports, fills url[i] (gateway i's) and tls
 * (root read from b's state; *root owned by the caller) and lets them
 * settle. 0, or -1 with every gateway stopped. */
static int
bench_up(struct bench_bin *b, const char *log, char (*url)[64], struct httpc_tls *tls,
	 char **root, struct bench_site *site, int *https_port)
{
	char path[300];
	size_t root_len;
	int http_port, port, i;

	free(*root);
	*root = NULL;
	memset(site, 0, sizeof(*site));
	site->store = b->store_pid;
	site->wal_cmd = b->wal_cmd;
	if (snprintf(path, sizeof(path), "%s/root.pem", b->state[0]) >= (int)sizeof(path) ||
	    bench_read_file(path, root, &root_len) != 0) {
		fprintf(stderr, "bench: cannot read %s\n", path);
		return -1;
	}
	memset(tls, 0, sizeof(*tls));
	tls->root_pem = *root;
	tls->root_len = root_len;
	for (i = 0; i < b->gateways; i++) {
		port = bench_free_port();
		http_port = bench_free_port();
		if (port < 0 || http_port < 0 ||
		    snprintf(url[i], 64, "https://127.0.0.1:%d", port) >= 64)
			goto fail;
		site->n = i + 1;
		if (bench_start_daemon(b->lanca, b->state[i], log, port, http_port, url[i], tls,
				       &site->gw[i]) != 0)
			goto fail;
		if (i == 0)
			*https_port = port;
	}
	/* Idle means after start-up has settled, not while it runs. */
	usleep(BENCH_SETTLE_US);
	return 0;
fail:
	bench_down(site);
	return -1;
}

/* The summary over rounds: per mode and client count, each binary's
 * median [range] of rate, CPU per enrollment and peak memory; then the
 * idle memory. */
static void
bench_summary(struct bench_bin *bins, int nbins, const int *clients, int nc, int fresh,
	      int keepalive, int rounds)
{
	double v[BENCH_ROUNDS_MAX], med, lo, hi;
	int bi, ci, m, r;

	printf("\nSummary over %d round%s: median [min-max]\n", rounds, rounds > 1 ? "s" : "");
	for (m = 0; m < 2; m++) {
		if ((m == 0 && !fresh) || (m == 1 && !keepalive))
			continue;
		printf("\n%s (targets with 16 clients: >= %.0f/s, <= %.0f us serve + signer)\n",
		       m ? "keep-alive" : "fresh TLS connection per enrollment",
		       m ? TARGET_KA_RATE : TARGET_FRESH_RATE,
		       m ? TARGET_KA_CPU_US : TARGET_FRESH_CPU_US);
		printf("  bin clients   enrollments/s         CPU us serve+signer   serve             "
		       "   signer               store                all            p50 ms  p99 ms"
		       "  peak KiB serve   signer   verdict\n");
		for (ci = 0; ci < nc; ci++) {
			for (bi = 0; bi < nbins; bi++) {
				const struct bench_bin *b = &bins[bi];
				double rate_med, cpu_med;

				printf("  %c   %7d", b->name, clients[ci]);
				for (r = 0; r < rounds; r++)
					v[r] = b->fig[ci][m][r].rate;
				bench_stats(v, (size_t)rounds, &rate_med, &lo, &hi);
				printf(" %7.0f [%5.0f-%5.0f]", rate_med, lo, hi);
				for (r = 0; r < rounds; r++)
					v[r] = b->fig[ci][m][r].serve_us + b->fig[ci][m][r].signer_us;
				bench_stats(v, (size_t)rounds, &cpu_med, &lo, &hi);
				printf(" %7.0f [%5.0f-%5.0f]", cpu_med, lo, hi);
				for (r = 0; r < rounds; r++)
					v[r] = b->fig[ci][m][r].serve_us;
				bench_print_stat(v, (size_t)rounds, "");
				for (r = 0; r < rounds; r++)
					v[r] = b->fig[ci][m][r].signer_us;
				bench_print_stat(v, (size_t)rounds, "");
				if (b->store_pid > 0) {
					for (r = 0; r < rounds; r++)
						v[r] = b->fig[ci][m][r].store_us;
					bench_print_stat(v, (size_t)rounds, "");
				} else {
					printf(" %19s", "(in serve)");
				}
				for (r = 0; r < rounds; r++)
					v[r] = b->fig[ci][m][r].serve_us + b->fig[ci][m][r].signer_us +
					       (b->store_pid > 0 ? b->fig[ci][m][r].store_us : 0);
				bench_print_stat(v, (size_t)rounds, "");
				for (r = 0; r < rounds; r++)
					v[r] = b->fig[ci][m][r].p50_us / 1000;
				bench_stats(v, (size_t)rounds, &med, &lo, &hi);
				printf("  %6.1f", med);
				for (r = 0; r < rounds; r++)
					v[r] = b->fig[ci][m][r].p99_us / 1000;
				bench_stats(v, (size_t)rounds, &med, &lo, &hi);
				printf("  %6.1f", med);
				for (r = 0; r < rounds; r++)
					v[r] = (double)b->fig[ci][m][r].hwm_serve_kb;
				bench_stats(v, (size_t)rounds, &med, &lo, &hi);
				printf("  %7.0f", med);
				for (r = 0; r < rounds; r++)
					v[r] = (double)b->fig[ci][m][r].hwm_signer_kb;
				bench_stats(v, (size_t)rounds, &med, &lo, &hi);
				printf(" %7.0f", med);
				if (clients[ci] == 16)
					printf("   rate %s, CPU %s",
					       bench_verdict(rate_med >= (m ? TARGET_KA_RATE :
									TARGET_FRESH_RATE)),
					       bench_verdict(cpu_med <= (m ? TARGET_KA_CPU_US :
									TARGET_FRESH_CPU_US)));
				printf("\n");
			}
		}
	}
	for (bi = 0; bi < nbins; bi++)
		printf("%c: %s, %d gateway%s, store %s\n", bins[bi].name, bins[bi].lanca,
		       bins[bi].gateways, bins[bi].gateways > 1 ? "s" : "",
		       bins[bi].store != NULL ? "PostgreSQL" : "SQLite");
	printf("CPU per enrollment: serve+signer is every gateway's; store is the database "
	       "server's (its processes'); all is the sum; p50 and p99 are medians too\n");
	printf("\nidle PSS after start-up, KiB (target serve + signer <= %d):\n",
	       TARGET_IDLE_PSS_KB);
	for (bi = 0; bi < nbins; bi++) {
		const struct bench_bin *b = &bins[bi];
		double tot;

		printf("  %c  serve", b->name);
		for (r = 0; r < rounds; r++)
			v[r] = (double)b->pss_serve_kb[r];
		bench_print_stat(v, (size_t)rounds, "");
		printf("  signer");
		for (r = 0; r < rounds; r++)
			v[r] = (double)b->pss_signer_kb[r];
		bench_print_stat(v, (size_t)rounds, "");
		printf("  together");
		for (r = 0; r < rounds; r++)
			v[r] = (double)(b->pss_serve_kb[r] + b->pss_signer_kb[r]);
		bench_stats(v, (size_t)rounds, &tot, &lo, &hi);
		printf(" %7.0f [%5.0f-%5.0f]  %s\n", tot, lo, hi,
		       bench_verdict(tot <= TARGET_IDLE_PSS_KB));
	}
	printf("peak RSS (VmHWM) targets under 16 clients: serve <= %d KiB, signer <= %d KiB\n",
	       TARGET_HWM_SERVE_KB, TARGET_HWM_SIGNER_KB);
	fflush(stdout);
}

/*
 * The comparison: rounds x binaries (alternating which goes first) x
 * client counts x modes, n enrollments each, then the summary. Returns
 * the failed enrollments, or -1 when a daemon did not start.
 */
static int
bench_compare(struct bench_bin *bins, int nbins, const char *log, const struct bench_csrs *csrs,
	      size_t n, const int *clients, int nc, int fresh, int keepalive, int rounds)
{
	struct bench_site site;
	struct httpc_tls tls;
	char url[BENCH_GW_MAX][64], what[64], *root = NULL;
	size_t next;
	int r, k, bi, ci, m, port, failed = 0, probed = 0, got;

	memset(&site, 0, sizeof(site));

	for (r = 0; r < rounds; r++) {
		for (k = 0; k < nbins; k++) {
			struct bench_bin *b;

			/* Alternate who goes first, so neither always meets a
			 * quieter or busier moment. */
			bi = (r % 2 == 0) ? k : nbins - 1 - k;
			b = &bins[bi];
			if (bench_up(b, log, url, &tls, &root, &site, &port) != 0)
				goto fail;
			b->pss_serve_kb[r] = bench_proc_pss(site.gw[0].serve);
			b->pss_signer_kb[r] = bench_proc_pss(site.gw[0].signer);
			printf("\nround %d, %c (%s, %s, %d gateway%s): serve pid %ld, signer pid %ld; "
			       "idle PSS serve %ld KiB, signer %ld KiB\n", r + 1, b->name, b->lanca,
			       b->store != NULL ? "PostgreSQL" : "SQLite", site.n,
			       site.n > 1 ? "s" : "", (long)site.gw[0].serve,
			       (long)site.gw[0].signer, b->pss_serve_kb[r], b->pss_signer_kb[r]);
			if (!probed++ && bench_tls_probe(port, root, strlen(root)) != 0)
				goto fail;
			/* Every round and binary enrolls the same slice of
			 * requests; each binary has its own CA and store. */
			next = (size_t)r * (size_t)nc * 2 * n;
			for (ci = 0; ci < nc; ci++) {
				for (m = 0; m < 2; m++, next += n) {
					if ((m == 0 && !fresh) || (m == 1 && !keepalive))
						continue;
					got = bench_mode(url, &tls, csrs, next, n, clients[ci], m, &site,
							 &b->fig[ci][m][r]);
					if (got < 0)
						goto fail;
					failed += got;
					snprintf(what, sizeof(what), "%c %3d clients %s", b->name,
						 clients[ci], m ? "keep-alive" : "fresh");
					bench_print_run(what, &b->fig[ci][m][r]);
				}
			}
			if (bench_down(&site) != 0)
				fprintf(stderr, "bench: lanca serve did not exit cleanly (see %s)\n", log);
		}
	}
	bench_summary(bins, nbins, clients, nc, fresh, keepalive, rounds);
	free(root);
	return failed;
fail:
	bench_down(&site);
	free(root);
	return -1;
}

/*
 * The scaling run for b: total keep-alive enrollments in steps of step
 * against one daemon, threads clients; prints each step and the spread.
 * Returns the failed enrollments, or -1 when the daemon did not start.
 */
static int
bench_scale(struct bench_bin *b, const char *log, const struct bench_csrs *csrs, size_t total,
	    size_t step, int threads)
{
	struct bench_site site;
	struct bench_fig f;
	struct httpc_tls tls;
	double rate[BENCH_STEPS_MAX], cpu[BENCH_STEPS_MAX], rmed, rlo, rhi, cmed, clo, chi;
	char url[BENCH_GW_MAX][64], what[64], *root = NULL;
	size_t at, ns = 0;
	int port, failed = 0, got;

	memset(&site, 0, sizeof(site));
	if (bench_up(b, log, url, &tls, &root, &site, &port) != 0)
		goto fail;
	printf("\nscaling, %c (%s): %zu enrollments in steps of %zu, keep-alive, %d clients\n",
	       b->name, b->lanca, total, step, threads);
	for (at = 0; at < total; at += step) {
		got = bench_mode(url, &tls, csrs, at, at + step <= total ? step : total - at,
				 threads, 1, &site, &f);
		if (got < 0)
			goto fail;
		failed += got;
		snprintf(what, sizeof(what), "%c %7zu-%-7zu", b->name, at + 1,
			 at + (at + step <= total ? step : total - at));
		bench_print_run(what, &f);
		rate[ns] = f.rate;
		cpu[ns] = f.serve_us + f.signer_us + (f.store_us > 0 ? f.store_us : 0);
		ns++;
	}
	bench_stats(rate, ns, &rmed, &rlo, &rhi);
	bench_stats(cpu, ns, &cmed, &clo, &chi);
	printf("  %c rate: median %.0f/s, steps within %+.0f%% .. %+.0f%% of it\n", b->name, rmed,
	       (rlo / rmed - 1) * 100, (rhi / rmed - 1) * 100);
	printf("  %c CPU:  median %.0f us, steps within %+.0f%% .. %+.0f%% of it "
	       "(target: flat within +-%.0f%%: %s)\n", b->name, cmed, (clo / cmed - 1) * 100,
	       (chi / cmed - 1) * 100, TARGET_SCALE_SPREAD,
	       bench_verdict((rlo / rmed - 1) * 100 >= -TARGET_SCALE_SPREAD &&
			     (rhi / rmed - 1) * 100 <= TARGET_SCALE_SPREAD &&
			     (clo / cmed - 1) * 100 >= -TARGET_SCALE_SPREAD &&
			     (chi / cmed - 1) * 100 <= TARGET_SCALE_SPREAD));
	fflush(stdout);
	if (bench_down(&site) != 0)
		fprintf(stderr, "bench: lanca serve did not exit cleanly (see %s)\n", log);
	free(root);
	return failed;
fail:
	bench_down(&site);
	free(root);
	return -1;
}

int
main(int argc, char *argv[])
{
	static struct bench_bin bins[BENCH_BINS_MAX];
	const char *other = getenv("LANCA2"), *pg1 = NULL, *pg2 = NULL, *wal_cmd = NULL;
	pid_t store_pid = 0;
	char top[] = "/tmp/lanca-bench-enroll.XXXXXX", log[256];
	struct bench_csrs csrs = { NULL, NULL, 0 };
	size_t n = 2000, total = 0, step = 0, need;
	int clients[BENCH_CLIENTS_MAX] = { 16 }, nc = 1, rounds = 3, nbins = 1;
	int fresh = 1, keepalive = 1, opt, failed, bi, have_top = 0, rc = 1;
	long v;
	double t0;

	bins[0].lanca = getenv("LANCA");
	while ((opt = getopt(argc, argv, "n:c:m:r:b:S:k:s:g:p:l:")) != -1) {
		switch (opt) {
		case 'n':
			if ((v = bench_number(optarg, 1, BENCH_N_MAX)) < 0)
				goto usage;
			n = (size_t)v;
			break;
		case 'c':
			if ((nc = bench_clients(optarg, clients)) < 0)
				goto usage;
			break;
		case 'm':
			fresh = strcmp(optarg, "keepalive") != 0;
			keepalive = strcmp(optarg, "fresh") != 0;
			if (strcmp(optarg, "fresh") != 0 && strcmp(optarg, "keepalive") != 0 &&
			    strcmp(optarg, "both") != 0)
				goto usage;
			break;
		case 'r':
			if ((v = bench_number(optarg, 1, BENCH_ROUNDS_MAX)) < 0)
				goto usage;
			rounds = (int)v;
			break;
		case 'b':
			other = optarg;
			break;
		case 'S':
			if ((v = bench_number(optarg, 1, BENCH_N_MAX)) < 0)
				goto usage;
			total = (size_t)v;
			break;
		case 'k':
			if ((v = bench_number(optarg, 1, BENCH_N_MAX)) < 0)
				goto usage;
			step = (size_t)v;
			break;
		case 's':
			pg1 = optarg;
			break;
		case 'g':
			pg2 = optarg;
			break;
		case 'p':
			if ((v = bench_number(optarg, 1, 0x7fffffff)) < 0)
				goto usage;
			store_pid = (pid_t)v;
			break;
		case 'l':
			wal_cmd = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || bins[0].lanca == NULL || bins[0].lanca[0] == '\0' ||
	    (total > 0) != (step > 0) || (total > 0 && (total + step - 1) / step > BENCH_STEPS_MAX))
		goto usage;
	bins[0].name = 'A';
	bins[0].gateways = 1;
	if (other != NULL && other[0] != '\0') {
		bins[nbins].lanca = other;
		bins[nbins].name = 'B';
		bins[nbins++].gateways = 1;
	}
	/* The PostgreSQL configurations run LANCA's binary. */
	if (pg1 != NULL) {
		bins[nbins] = bins[0];
		bins[nbins].name = 'P';
		bins[nbins++].store = pg1;
	}
	if (pg2 != NULL) {
		bins[nbins] = bins[0];
		bins[nbins].name = 'G';
		bins[nbins].store = pg2;
		bins[nbins++].gateways = 2;
	}
	for (bi = 0; bi < nbins; bi++) {
		if (bins[bi].store == NULL)
			continue;
		bins[bi].store_pid = store_pid;
		bins[bi].wal_cmd = wal_cmd;
	}
	/* httpc needs it: a daemon closing mid-write must be an error. */
	signal(SIGPIPE, SIG_IGN);
	if (gnutls_global_init() < 0 || mkdtemp(top) == NULL) {
		fprintf(stderr, "bench: set-up failed\n");
		return 1;
	}
	have_top = 1;
	if (snprintf(log, sizeof(log), "%s/lanca.log", top) >= (int)sizeof(log))
		goto out;

	need = total > 0 ? total : (size_t)rounds * (size_t)nc * 2 * n;
	for (bi = 0; bi < nbins; bi++)
		printf("%c = %s on %s, %d gateway%s\n", bins[bi].name, bins[bi].lanca,
		       bins[bi].store != NULL ? "PostgreSQL" : "SQLite", bins[bi].gateways,
		       bins[bi].gateways > 1 ? "s" : "");
	printf("generating %zu P-256 requests...\n", need);
	fflush(stdout);
	t0 = bench_wall_s();
	if (bench_make_csrs(&csrs, need) != 0) {
		fprintf(stderr, "bench: cannot generate the requests\n");
		goto out;
	}
	printf("  %.1f s; pre-authorising the %zu device ids per binary...\n", bench_wall_s() - t0,
	       need);
	fflush(stdout);
	for (bi = 0; bi < nbins; bi++)
		if (bench_setup_bin(&bins[bi], top, log, &csrs) != 0)
			goto out_keep;
	printf("%ld CPUs online\n", sysconf(_SC_NPROCESSORS_ONLN));

	if (total > 0) {
		failed = 0;
		for (bi = 0; bi < nbins; bi++) {
			int got = bench_scale(&bins[bi], log, &csrs, total, step, clients[0]);

			if (got < 0)
				goto out_keep;
			failed += got;
		}
	} else {
		failed = bench_compare(bins, nbins, log, &csrs, n, clients, nc, fresh, keepalive,
				       rounds);
		if (failed < 0)
			goto out_keep;
	}
	rc = failed > 0 ? 1 : 0;
	if (failed > 0) {
		fprintf(stderr, "bench: %d enrollments failed; log kept in %s\n", failed, log);
		goto out_keep;
	}
	/* BENCH_KEEP=1 keeps the state directory, to look at a store of the
	 * size a scaling run made (`lanca pending --dir ...`). */
	if (getenv("BENCH_KEEP") != NULL && strcmp(getenv("BENCH_KEEP"), "1") == 0)
		goto out_keep;
out:
	if (have_top)
		bench_rmtree(top);
	have_top = 0;
out_keep:
	if (have_top)
		fprintf(stderr, "bench: state kept in %s\n", top);
	bench_csrs_free(&csrs);
	gnutls_global_deinit();
	return rc;
usage:
	bench_usage();
	return 2;
}
