/*
 * bench-inventory.c - what the inventory from the shell costs in a big
 * store (issue 11: `lanca list`, `show`, fast with 100,000 certificates).
 *
 * Fills a new store with N certificates (default 100,000) through the
 * store's own insertion (store_cert_submit, many in flight so the group
 * commit takes them in large batches, each with its names and its
 * "issue" audit row): N / 4 devices, each renewing every half year
 * over two years up to now (ids in the order of issuance, as in a real
 * store), each certificate valid 90 days, so about one in eight is
 * valid now, one in twenty-four expires within 30 days and the rest have
 * expired; one in a hundred is revoked. Then times,
 * CPU and wall per call (the median of R calls, default 9), the calls
 * `lanca list` and `lanca show` make (admin.c over the store):
 *   - list: the first page (100 rows) of every certificate, of the valid
 *     ones, the revoked, the expired, those expiring within 30 days, and
 *     of one device's;
 *   - list: every certificate, page after page of 1000, as `lanca list`
 *     prints them without --limit (rows built as JSON, not printed);
 *   - show: one certificate by serial, and a device's by its id, each
 *     with its PEM and its history.
 * With LANCA set to a lanca binary it also runs the commands themselves
 * on the store (their output to /dev/null), and times them whole:
 * process start, opening the store, the query, the printing; an empty
 * listing gives the floor of every command.
 * The store lives in DIR (default $TMPDIR or /tmp). Printed, never
 * asserted.
 *
 * usage: bench-inventory [-n CERTIFICATES] [-r REPEATS] [-d DIR]
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/hex.h"
#include "common/lerr.h"
#include "daemon/admin.h"
#include "store/store.h"
#include "fill.h"
#include "measure.h"

#define REPEATS_MAX	101

/* ---- the calls timed ---- */

struct ctx {
	struct store *s;
	int64_t now;
	char serial[2 * STORE_SERIAL_LEN + 1];	/* the newest certificate's */
	char device[32];			/* a device with four */
	const char *lanca, *dir;
	size_t rows;				/* rows the last call saw */
};

/* A first page of `lanca list` with these filters (admin_inventory_json). */
static int
list_page(struct ctx *x, const char *status, const char *expiring, const char *device)
{
	struct admin_inventory l;
	json_t *page = NULL;
	struct lerr e;

	if (admin_inventory_text(status, expiring, device, NULL, NULL, &l, &e) != 0 ||
	    admin_inventory_json(x->s, &l, x->now, &page, &e) != 0) {
		fprintf(stderr, "bench-inventory: list: %s\n", e.msg);
		return -1;
	}
	x->rows = json_array_size(json_object_get(page, "items"));
	json_decref(page);
	return 0;
}

static int c_list(struct ctx *x) { return list_page(x, NULL, NULL, NULL); }
static int c_valid(struct ctx *x) { return list_page(x, "valid", NULL, NULL); }
static int c_revoked(struct ctx *x) { return list_page(x, "revoked", NULL, NULL); }
static int c_expired(struct ctx *x) { return list_page(x, "expired", NULL, NULL); }
static int c_expiring(struct ctx *x) { return list_page(x, NULL, "30d", NULL); }
static int c_device(struct ctx *x) { return list_page(x, NULL, NULL, x->device); }

/* One row of a whole listing, built as `lanca list --json` builds it. */
static int
row_json(const struct store_cert *c, void *arg)
{
	json_t *row = admin_cert_json(c);

	(*(size_t *)arg)++;
	json_decref(row);
	return row == NULL;
}

/* Every certificate, page after page of ADMIN_LIST_MAX (cmd_list.c's
 * loop, without the printing). */
static int
c_list_all(struct ctx *x)
{
	char next[ADMIN_CURSOR_MAX + 1];
	struct admin_inventory l, n;
	struct lerr e;

	memset(&l, 0, sizeof(l));
	l.limit = ADMIN_LIST_MAX;
	x->rows = 0;
	do {
		if (admin_inventory_each(x->s, &l, x->now, row_json, &x->rows, next, &e) != 0 ||
		    (next[0] != '\0' &&
		     admin_inventory_text(NULL, NULL, NULL, NULL, next, &n, &e) != 0)) {
			fprintf(stderr, "bench-inventory: list all: %s\n", e.msg);
			return -1;
		}
		l.after = next[0] != '\0' ? n.after : 0;
	} while (next[0] != '\0');
	return 0;
}

/* `lanca show` of text: the look-up, then each certificate's detail. */
static int
show(struct ctx *x, const char *text)
{
	json_t *serials = NULL, *d, *v;
	struct lerr e;
	size_t i;

	if (admin_cert_lookup(x->s, text, &serials, &e) != 0)
		goto fail;
	x->rows = 0;
	json_array_foreach(serials, i, v) {
		if (admin_cert_get_json(x->s, json_string_value(v), &d, &e) != 0)
			goto fail;
		x->rows += 1 + json_array_size(json_object_get(d, "history"));
		json_decref(d);
	}
	json_decref(serials);
	return 0;
fail:
	fprintf(stderr, "bench-inventory: show %s: %s\n", text, e.msg);
	json_decref(serials);
	return -1;
}

static int c_show_serial(struct ctx *x) { return show(x, x->serial); }
static int c_show_device(struct ctx *x) { return show(x, x->device); }

/* Runs $LANCA with args (NULL-terminated, after the command name), its
 * output to /dev/null; the CPU it used is read by the caller from
 * RUSAGE_CHILDREN. */
static int
run_lanca(struct ctx *x, const char *const *args)
{
	const char *argv[16];
	size_t n = 0;
	pid_t pid;
	int st, fd;

	argv[n++] = x->lanca;
	while (*args != NULL && n < 13)
		argv[n++] = *args++;
	argv[n++] = "--dir";
	argv[n++] = x->dir;
	argv[n] = NULL;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			dup2(fd, 1);
		execv(x->lanca, (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench-inventory: %s %s failed\n", x->lanca, argv[1]);
		return -1;
	}
	x->rows = 0;
	return 0;
}

/* The floor: a command that opens the store and finds nothing. */
static int
p_floor(struct ctx *x)
{
	static const char *const a[] = { "list", "--device", "nobody", "--limit", "1", NULL };
	return run_lanca(x, a);
}

static int
p_list(struct ctx *x)
{
	static const char *const a[] = { "list", "--limit", "100", NULL };
	return run_lanca(x, a);
}

static int
p_expiring(struct ctx *x)
{
	static const char *const a[] = { "list", "--expiring", "30d", "--limit", "100", NULL };
	return run_lanca(x, a);
}

static int
p_show(struct ctx *x)
{
	const char *a[] = { "show", "--json", x->serial, NULL };
	return run_lanca(x, a);
}

static int
p_show_device(struct ctx *x)
{
	const char *a[] = { "show", x->device, NULL };
	return run_lanca(x, a);
}

static const struct bench_case {
	const char *name;
	int (*run)(struct ctx *x);
	int process;			/* runs $LANCA */
} cases[] = {
	{ "list (first page of all)", c_list, 0 },
	{ "list --status valid (first page)", c_valid, 0 },
	{ "list --status revoked (first page)", c_revoked, 0 },
	{ "list --status expired (first page)", c_expired, 0 },
	{ "list --expiring 30d (first page)", c_expiring, 0 },
	{ "list --device ID", c_device, 0 },
	{ "list (every certificate, pages of 1000)", c_list_all, 0 },
	{ "show SERIAL (detail, PEM, history)", c_show_serial, 0 },
	{ "show DEVICE_ID (its 4 certificates)", c_show_device, 0 },
	{ "$LANCA list --device nobody (the floor)", p_floor, 1 },
	{ "$LANCA list --limit 100", p_list, 1 },
	{ "$LANCA list --expiring 30d --limit 100", p_expiring, 1 },
	{ "$LANCA show --json SERIAL", p_show, 1 },
	{ "$LANCA show DEVICE_ID", p_show_device, 1 },
};

static unsigned
arg_uint(const char *s, unsigned lo, unsigned hi)
{
	return bench_arg_uint(s, lo, hi, "usage: bench-inventory [-n CERTIFICATES (4..10000000)] [-r REPEATS (1..101)] [-d DIR]");
}

/* Removes the store's files and dir. */
static void
cleanup(const char *dir)
{
	static const char *const files[] = { "", "-wal", "-shm" };
	char path[600];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s%s", dir, STORE_FILE, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int
main(int argc, char *argv[])
{
	static const unsigned char ca_der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	double cpu[REPEATS_MAX], wall[REPEATS_MAX], w0, c0, fill_s;
	unsigned n = 100000, repeats = 9, i, k;
	const char *base = getenv("TMPDIR");
	char dir[512], path[600];
	int64_t ca_id, valid = 0, revoked = 0;
	struct ctx x;
	struct lerr e;
	int opt, rc = 1, who;

	while ((opt = getopt(argc, argv, "n:r:d:")) != -1) {
		switch (opt) {
		case 'n': n = arg_uint(optarg, 4, 10000000); break;
		case 'r': repeats = arg_uint(optarg, 1, REPEATS_MAX); break;
		case 'd': base = optarg; break;
		default: arg_uint("", 1, 0);
		}
	}
	snprintf(dir, sizeof(dir), "%s/bench-inventory.XXXXXX",
		 base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(dir) == NULL || snprintf(path, sizeof(path), "%s/%s", dir, STORE_FILE) >=
	    (int)sizeof(path)) {
		perror("bench-inventory: mkdtemp");
		return 1;
	}
	memset(&x, 0, sizeof(x));
	x.now = (int64_t)time(NULL);
	x.lanca = getenv("LANCA");
	x.dir = dir;
	snprintf(x.device, sizeof(x.device), "dev-%06u", n / 4 / 2);
	if (store_open(path, STORE_CREATE, &x.s, &e) != 0 ||
	    store_ca_insert(x.s, "issuing", "CN=bench", "bench", 0, INT64_MAX / 2, ca_der,
			    sizeof(ca_der), &ca_id, &e) != 0) {
		fprintf(stderr, "bench-inventory: %s\n", e.msg);
		goto out;
	}
	w0 = bench_wall_s();
	if (bench_fill(x.s, n, x.now, ca_id, x.serial) != 0)
		goto out;
	fill_s = bench_wall_s() - w0;
	if (store_cert_totals(x.s, x.now, &valid, &revoked, &e) != 0) {
		fprintf(stderr, "bench-inventory: %s\n", e.msg);
		goto out;
	}
	printf("store: %u certificates of %u devices (%lld valid now, %lld revoked), filled in "
	       "%.1f s (%.0f/s) in %s\n", n, n / 4 > 0 ? n / 4 : 1, (long long)valid,
	       (long long)revoked, fill_s, (double)n / fill_s, dir);
	printf("%-44s %6s %10s %10s\n", "call (median of repeats)", "rows", "CPU ms", "wall ms");
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		if (cases[k].process && x.lanca == NULL)
			continue;
		who = cases[k].process ? RUSAGE_CHILDREN : RUSAGE_SELF;
		for (i = 0; i < repeats; i++) {
			w0 = bench_wall_s() * 1e3;
			c0 = bench_cpu_s(who) * 1e3;
			if (cases[k].run(&x) != 0)
				goto out;
			cpu[i] = bench_cpu_s(who) * 1e3 - c0;
			wall[i] = bench_wall_s() * 1e3 - w0;
		}
		if (cases[k].process)
			printf("%-44s %6s %10.3f %10.3f\n", cases[k].name, "-", bench_median(cpu, repeats),
			       bench_median(wall, repeats));
		else
			printf("%-44s %6zu %10.3f %10.3f\n", cases[k].name, x.rows,
			       bench_median(cpu, repeats), bench_median(wall, repeats));
	}
	if (x.lanca == NULL)
		printf("(set LANCA to a lanca binary to time the commands themselves too)\n");
	rc = 0;
out:
	store_close(x.s);
	cleanup(dir);
	return rc;
}
