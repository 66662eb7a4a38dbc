/*
 * bench-lists.c - what the admin listings and the status cost in a big
 * store (issue 8: they must not grow with it).
 *
 * Fills a new store with N enrollments (default 100,000: a request, its
 * certificate and their audit rows each) through the store API, from
 * many threads so that the group commit takes them in large batches, and
 * then P pending requests (default 100). Then times, CPU and wall per
 * call (the median of R calls, default 9):
 *   - GET /api/v1/requests: admin_list_json, every state, its default
 *     page, the largest page, and a page half way down;
 *   - ?state=pending, and the issued requests half way down;
 *   - `lanca pending`: every pending request, page after page;
 *   - the certificate and audit listings: first page and half way down;
 *   - the status: `lanca status` counts the certificates and reads the
 *     recorded window (GET /api/v1/status reads no table at all);
 *   - a scrape of GET /metrics (metrics_render: the store's counts and
 *     the in-memory rest), when no certificate expires within 30 days
 *     and 70 days later, when every one does.
 * The store lives in DIR (default $TMPDIR or /tmp; /dev/shm fills
 * fastest, and the reads are the same: the tables are in the page cache
 * either way). Printed, never asserted.
 *
 * usage: bench-lists [-n ENROLLMENTS] [-p PENDING] [-r REPEATS] [-d DIR]
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/lerr.h"
#include "daemon/admin.h"
#include "daemon/metrics.h"
#include "daemon/state.h"
#include "store/store.h"
#include "measure.h"

#define FILL_THREADS	32
#define REPEATS_MAX	101

struct fill {
	struct store *s;
	int64_t ca_id;
	unsigned next;			/* under lock */
	unsigned total;
	int failed;			/* under lock */
	pthread_mutex_t lock;
};

/* A request from key number i, made at t (a fake CSR: the store keeps
 * bytes, it does not parse them). */
static void
fill_request(struct store_request *in, unsigned i, int64_t t, unsigned char *csr, size_t n)
{
	memset(in, 0, sizeof(*in));
	memset(in->key_id, 0xa5, sizeof(in->key_id));
	memcpy(in->key_id, &i, sizeof(i));
	snprintf(in->device_id, sizeof(in->device_id), "device-%u", i);
	snprintf(in->source, sizeof(in->source), "10.%u.%u.%u", (i >> 16) & 255,
		 (i >> 8) & 255, i & 255);
	in->csr = csr;
	in->csr_len = n;
	in->created_at = t;
	in->expires_at = t + 7 * 86400;
}

/* One enrollment: the request, then its certificate (which issues it). */
static int
fill_one(struct fill *f, unsigned i, struct lerr *e)
{
	unsigned char csr[400], der[520], serial[STORE_SERIAL_LEN];
	char sans[160];
	struct store_request in, *r = NULL;
	struct store_cert c;
	int64_t t = 1800000000 + (int64_t)i / 16;
	int rc = -1;

	memset(csr, (int)(i & 0xff), sizeof(csr));
	memset(der, (int)(i & 0x7f), sizeof(der));
	fill_request(&in, i, t, csr, sizeof(csr));
	if (store_request_upsert(f->s, &in, &r, NULL, e) != 0 ||
	    store_serial_reserve(f->s, serial, e) != 0)
		goto out;
	memset(&c, 0, sizeof(c));
	memcpy(c.serial, serial, sizeof(serial));
	c.serial_len = sizeof(serial);
	c.ca_id = f->ca_id;
	snprintf(c.device_id, sizeof(c.device_id), "%s", in.device_id);
	snprintf(c.subject, sizeof(c.subject), "CN=%s", in.device_id);
	snprintf(sans, sizeof(sans), "DNS:%s.lan,IP:%s", in.device_id, in.source);
	c.sans = sans;
	c.profile = POLICY_DEVICE;
	c.not_before = t;
	c.not_after = t + 90 * 86400;
	c.issued_at = t;
	memcpy(c.key_id, in.key_id, sizeof(c.key_id));
	snprintf(c.request_id, sizeof(c.request_id), "%s", r->id);
	c.der = der;
	c.der_len = sizeof(der);
	if (store_cert_insert(f->s, &c, "bench", e) != 0)
		goto out;
	rc = 0;
out:
	store_request_free(r);
	return rc;
}

static void *
fill_main(void *arg)
{
	struct fill *f = arg;
	struct lerr e;
	unsigned i;

	for (;;) {
		pthread_mutex_lock(&f->lock);
		i = f->next < f->total && !f->failed ? f->next++ : f->total;
		pthread_mutex_unlock(&f->lock);
		if (i >= f->total)
			return NULL;
		if (fill_one(f, i, &e) != 0) {
			fprintf(stderr, "bench-lists: enrollment %u: %s\n", i, e.msg);
			pthread_mutex_lock(&f->lock);
			f->failed = 1;
			pthread_mutex_unlock(&f->lock);
			return NULL;
		}
	}
}

/* ---- the calls timed ---- */

struct ctx {
	struct store *s;
	int64_t now;
	int64_t mid_req, mid_cert, mid_audit;	/* positions half way down */
	size_t rows;				/* rows the last call saw */
};

/* One admin listing page; its rows counted into x->rows. */
static int
list_page(struct ctx *x, enum store_req_state state, unsigned limit, int64_t after)
{
	struct admin_list l = { state, limit, after };
	json_t *page = NULL;
	struct lerr e;

	if (admin_list_json(x->s, &l, x->now, &page, &e) != 0) {
		fprintf(stderr, "bench-lists: listing: %s\n", e.msg);
		return -1;
	}
	x->rows = json_array_size(json_object_get(page, "requests"));
	json_decref(page);
	return 0;
}

static int
c_requests(struct ctx *x)
{
	return list_page(x, STORE_REQ_ANY, 0, 0);
}

static int
c_requests_max(struct ctx *x)
{
	return list_page(x, STORE_REQ_ANY, ADMIN_LIST_MAX, 0);
}

static int
c_requests_deep(struct ctx *x)
{
	return list_page(x, STORE_REQ_ANY, 0, x->mid_req);
}

static int
c_pending(struct ctx *x)
{
	return list_page(x, STORE_REQ_PENDING, 0, 0);
}

static int
c_issued_deep(struct ctx *x)
{
	return list_page(x, STORE_REQ_ISSUED, 0, x->mid_req);
}

/* `lanca pending` without a daemon: every pending request, page after
 * page of ADMIN_LIST_MAX (cmd_pending.c's loop, without the printing). */
static int
c_lanca_pending(struct ctx *x)
{
	struct admin_list l = { STORE_REQ_PENDING, ADMIN_LIST_MAX, 0 };
	const char *next;
	json_t *page = NULL;
	struct lerr e;
	size_t rows = 0;
	int rc = -1;

	do {
		json_decref(page);
		if (admin_list_json(x->s, &l, x->now, &page, &e) != 0) {
			fprintf(stderr, "bench-lists: pending: %s\n", e.msg);
			goto out;
		}
		rows += json_array_size(json_object_get(page, "requests"));
		next = json_string_value(json_object_get(page, "next"));
		if (next != NULL && admin_list_text(NULL, NULL, next, &l, &e) != 0)
			goto out;
		l.state = STORE_REQ_PENDING;
		l.limit = ADMIN_LIST_MAX;
	} while (next != NULL);
	x->rows = rows;
	rc = 0;
out:
	json_decref(page);
	return rc;
}

static int
count_cert(const struct store_cert *c, void *arg)
{
	(void)c;
	(*(size_t *)arg)++;
	return 0;
}

static int
count_audit(const struct store_audit_row *r, void *arg)
{
	(void)r;
	(*(size_t *)arg)++;
	return 0;
}

static int
cert_page(struct ctx *x, int64_t after)
{
	struct store_page pg = { after, ADMIN_LIST_DEFAULT, 0 };
	struct lerr e;

	x->rows = 0;
	if (store_cert_page(x->s, &pg, count_cert, &x->rows, &e) != 0) {
		fprintf(stderr, "bench-lists: certificates: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int
audit_page(struct ctx *x, int64_t after)
{
	struct store_page pg = { after, ADMIN_LIST_DEFAULT, 0 };
	struct lerr e;

	x->rows = 0;
	if (store_audit_page(x->s, &pg, count_audit, &x->rows, &e) != 0) {
		fprintf(stderr, "bench-lists: audit: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int
c_certs(struct ctx *x)
{
	return cert_page(x, 0);
}

static int
c_certs_deep(struct ctx *x)
{
	return cert_page(x, x->mid_cert);
}

static int
c_audit(struct ctx *x)
{
	return audit_page(x, 0);
}

static int
c_audit_deep(struct ctx *x)
{
	return audit_page(x, x->mid_audit);
}

/* What `lanca status` reads: the certificate count and the window. */
static int
c_status(struct ctx *x)
{
	struct lerr e;
	char *w = NULL;
	int64_t n = 0;

	if (store_cert_count(x->s, &n, &e) != 0) {
		fprintf(stderr, "bench-lists: count: %s\n", e.msg);
		return -1;
	}
	(void)store_setting_get(x->s, "window", &w, &e);
	free(w);
	x->rows = (size_t)n;
	return 0;
}

/* A scrape of GET /metrics at now (no enroll context, no signer: their
 * parts are read from memory and cost nothing next to the store's). */
static int
metrics_at(struct ctx *x, int64_t now)
{
	struct ca_set ca;
	struct metrics_src m;
	struct buf b;
	struct lerr e;
	int rc;

	memset(&ca, 0, sizeof(ca));
	memset(&m, 0, sizeof(m));
	m.store = x->s;
	m.ca = &ca;
	buf_init(&b, METRICS_PAGE_MAX);
	rc = metrics_render(&m, now, &b, &e);
	if (rc != 0)
		fprintf(stderr, "bench-lists: metrics: %s\n", e.msg);
	x->rows = b.len;
	buf_free(&b);
	return rc;
}

static int
c_metrics(struct ctx *x)
{
	return metrics_at(x, x->now);
}

static int
c_metrics_late(struct ctx *x)
{
	return metrics_at(x, x->now + 70 * 86400);
}

static const struct bench_case {
	const char *name;
	int (*run)(struct ctx *x);
} cases[] = {
	{ "GET /api/v1/requests (first page, default limit)", c_requests },
	{ "GET /api/v1/requests?limit=1000 (first page)", c_requests_max },
	{ "GET /api/v1/requests (page half way down)", c_requests_deep },
	{ "GET /api/v1/requests?state=pending", c_pending },
	{ "GET /api/v1/requests?state=issued (half way down)", c_issued_deep },
	{ "lanca pending (every pending request)", c_lanca_pending },
	{ "certificates (first page)", c_certs },
	{ "certificates (page half way down)", c_certs_deep },
	{ "audit log (first page)", c_audit },
	{ "audit log (page half way down)", c_audit_deep },
	{ "lanca status (certificate count, window)", c_status },
	{ "GET /metrics (none expiring; rows = page bytes)", c_metrics },
	{ "GET /metrics (all expiring within 30 days)", c_metrics_late },
};

static unsigned
arg_uint(const char *s, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "usage: bench-lists [-n ENROLLMENTS] [-p PENDING (0..%d)] "
			"[-r REPEATS (1..%d)] [-d DIR]\n", STORE_PENDING_MAX, REPEATS_MAX);
		exit(2);
	}
	return (unsigned)v;
}

int
main(int argc, char *argv[])
{
	static const unsigned char ca_der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	double cpu[REPEATS_MAX], wall[REPEATS_MAX], w0, c0, fill_s;
	unsigned n = 100000, pending = 100, repeats = 9, i, k;
	const char *base = getenv("TMPDIR");
	char dir[512], path[600];
	unsigned char csr[400];
	pthread_t tid[FILL_THREADS];
	struct store_request in, *r;
	struct fill f;
	struct ctx x;
	struct lerr e;
	int opt, rc = 1;

	while ((opt = getopt(argc, argv, "n:p:r:d:")) != -1) {
		switch (opt) {
		case 'n': n = arg_uint(optarg, 1, 10000000); break;
		case 'p': pending = arg_uint(optarg, 0, STORE_PENDING_MAX); break;
		case 'r': repeats = arg_uint(optarg, 1, REPEATS_MAX); break;
		case 'd': base = optarg; break;
		default: arg_uint("", 1, 0);
		}
	}
	snprintf(dir, sizeof(dir), "%s/bench-lists.XXXXXX",
		 base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(dir) == NULL || snprintf(path, sizeof(path), "%s/%s", dir, STORE_FILE) >=
	    (int)sizeof(path)) {
		perror("bench-lists: mkdtemp");
		return 1;
	}
	memset(&f, 0, sizeof(f));
	memset(&x, 0, sizeof(x));
	pthread_mutex_init(&f.lock, NULL);
	if (store_open(path, STORE_CREATE, &f.s, &e) != 0 ||
	    store_ca_insert(f.s, "issuing", "CN=bench", "bench", 0, INT64_MAX / 2, ca_der,
			    sizeof(ca_der), &f.ca_id, &e) != 0) {
		fprintf(stderr, "bench-lists: %s\n", e.msg);
		goto out;
	}
	f.total = n;
	w0 = (bench_wall_s() * 1e3);
	for (k = 0; k < FILL_THREADS; k++)
		if (pthread_create(&tid[k], NULL, fill_main, &f) != 0)
			abort();
	for (k = 0; k < FILL_THREADS; k++)
		pthread_join(tid[k], NULL);
	if (f.failed)
		goto out;
	memset(csr, 0x42, sizeof(csr));
	for (i = 0; i < pending; i++) {
		fill_request(&in, n + i, 1800000000 + (int64_t)n / 16 + i, csr, sizeof(csr));
		if (store_request_upsert(f.s, &in, &r, NULL, &e) != 0) {
			fprintf(stderr, "bench-lists: pending %u: %s\n", i, e.msg);
			goto out;
		}
		store_request_free(r);
	}
	fill_s = ((bench_wall_s() * 1e3) - w0) / 1e3;
	printf("store: %u enrollments (request, certificate, 2 audit rows each) and %u pending "
	       "requests, filled in %.1f s (%.0f/s) in %s\n", n, pending, fill_s,
	       (double)n / fill_s, dir);

	x.s = f.s;
	x.now = 1800000000 + (int64_t)n / 16;
	/* Half way down: rowids count from 1 in the order rows were made. */
	x.mid_req = n / 2;
	x.mid_cert = n / 2;
	x.mid_audit = n;
	printf("%-52s %6s %10s %10s\n", "call (median of repeats)", "rows", "CPU ms", "wall ms");
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		for (i = 0; i < repeats; i++) {
			w0 = (bench_wall_s() * 1e3);
			c0 = (bench_cpu_s(RUSAGE_SELF) * 1e3);
			if (cases[k].run(&x) != 0)
				goto out;
			cpu[i] = (bench_cpu_s(RUSAGE_SELF) * 1e3) - c0;
			wall[i] = (bench_wall_s() * 1e3) - w0;
		}
		printf("%-52s %6zu %10.3f %10.3f\n", cases[k].name, x.rows, bench_median(cpu, repeats),
		       bench_median(wall, repeats));
	}
	printf("GET /api/v1/status reads no table: the CAs and the window are in memory.\n");
	rc = 0;
out:
	store_close(f.s);
	pthread_mutex_destroy(&f.lock);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s-wal", dir, STORE_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s-shm", dir, STORE_FILE);
	unlink(path);
	rmdir(dir);
	return rc;
}
