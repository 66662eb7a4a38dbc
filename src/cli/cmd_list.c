/*
 * cmd_list.c - `lanca list`: the certificates, filtered by status, expiry
 * or device, as a table or as the admin API's JSON rows.
 *
 * Reads the store directly (read-only, beside a running daemon or
 * without one), through admin.c's listing, a page at a time: without
 * --limit or --cursor it prints page after page of ADMIN_LIST_MAX rows
 * as each arrives, so the whole table is never in memory; with either
 * it prints one page and the cursor of the next, as `lanca pending` does.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "common/hex.h"
#include "daemon/admin.h"
#include "store/store.h"

static void
list_usage(FILE *f)
{
	fprintf(f, "usage: lanca list [--dir DIR] [--status valid|revoked|expired] "
		"[--expiring DURATION]\n"
		"                  [--device ID] [--json] [--limit N] [--cursor NEXT]\n"
		"  DURATION: N (seconds), Ns, Nh or Nd, e.g. 30d\n");
}

/* How rows are printed: a table, or JSON rows one by one (an array over
 * every page). */
struct list_out {
	int json;
	size_t rows;
	int64_t now;
};

/* "2036-01-02T03:04:05Z". */
static const char *
list_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "?");
	return out;
}

static void
list_header(void)
{
	printf("%-40s  %-24s  %-20s  %-7s  %s\n", "SERIAL", "DEVICE", "NOT AFTER", "STATUS",
	       "NAMES");
}

/* One row, printed at once: a line of the table, or an element of the
 * JSON array. Non-zero when it could not be. */
static int
list_row(const struct store_cert *c, void *arg)
{
	struct list_out *o = arg;
	char serial[2 * STORE_SERIAL_MAX + 1], when[32];
	json_t *row;
	int rc;

	if (o->json) {
		if ((row = admin_cert_json(c)) == NULL)
			return 1;
		fputs(o->rows == 0 ? "[\n  " : ",\n  ", stdout);
		rc = json_dumpf(row, stdout, JSON_COMPACT) != 0;
		json_decref(row);
		o->rows++;
		return rc;
	}
	hex_encode(c->serial, c->serial_len, serial);
	printf("%-40s  %-24s  %-20s  %-7s  %s\n", serial, c->device_id,
	       list_time(c->not_after, when),
	       c->status == STORE_CERT_VALID && c->not_after <= o->now ? "expired" :
	       store_cert_status_str(c->status), c->sans != NULL ? c->sans : "");
	o->rows++;
	return 0;
}

/* Every page of l, printed as it comes. */
static int
list_all(struct store *s, struct admin_inventory *l, struct list_out *o, struct lerr *e)
{
	char next[ADMIN_CURSOR_MAX + 1];
	struct admin_inventory n;
	int64_t was;

	l->limit = ADMIN_LIST_MAX;
	if (!o->json)
		list_header();
	do {
		if (admin_inventory_each(s, l, o->now, list_row, o, next, e) != 0)
			return -1;
		if (next[0] == '\0')
			break;
		was = l->after;
		if (admin_inventory_text(NULL, NULL, NULL, NULL, next, &n, e) != 0 ||
		    n.after == was)
			return lerr_set(e, LERR_INTERNAL, "the listing gave a bad cursor");
		l->after = n.after;
	} while (1);
	if (o->json)
		fputs(o->rows == 0 ? "[]\n" : "\n]\n", stdout);
	return 0;
}

int
cmd_list(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "status", required_argument, NULL, 's' },
		{ "expiring", required_argument, NULL, 'e' },
		{ "device", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'l' },
		{ "cursor", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *status = NULL, *expiring = NULL, *device = NULL;
	const char *limit = NULL, *cursor = NULL;
	char next[ADMIN_CURSOR_MAX + 1];
	struct admin_inventory l;
	struct store *s = NULL;
	struct list_out o;
	json_t *page = NULL;
	struct lerr e;
	int c, rc = CMD_FAILED;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 's': status = optarg; break;
		case 'e': expiring = optarg; break;
		case 'D': device = optarg; break;
		case 'j': o.json = 1; break;
		case 'l': limit = optarg; break;
		case 'c': cursor = optarg; break;
		case 'h':
			list_usage(stdout);
			return CMD_OK;
		default:
			list_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		list_usage(stderr);
		return CMD_USAGE;
	}
	if (admin_inventory_text(status, expiring, device, limit, cursor, &l, &e) != 0) {
		cmd_error("list", "%s", e.msg);
		list_usage(stderr);
		return CMD_USAGE;
	}
	o.now = (int64_t)time(NULL);
	if (cmd_store_read(cmd_dir(dir), &s, &e) != 0) {
		cmd_error("list", "%s", e.msg);
		goto out;
	}
	if (limit == NULL && cursor == NULL) {
		if (list_all(s, &l, &o, &e) != 0) {
			cmd_error("list", "%s", e.msg);
			goto out;
		}
		rc = CMD_OK;
		goto out;
	}
	/* One page: as JSON, the API's shape ({"items", "next_cursor"}). */
	if (o.json) {
		if (admin_inventory_json(s, &l, o.now, &page, &e) != 0) {
			cmd_error("list", "%s", e.msg);
			goto out;
		}
		json_dumpf(page, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		list_header();
		if (admin_inventory_each(s, &l, o.now, list_row, &o, next, &e) != 0) {
			cmd_error("list", "%s", e.msg);
			goto out;
		}
		if (next[0] != '\0')
			printf("more: lanca list --cursor %s%s%s%s%s%s%s%s%s\n", next,
			       status != NULL ? " --status " : "", status != NULL ? status : "",
			       expiring != NULL ? " --expiring " : "", expiring != NULL ? expiring : "",
			       device != NULL ? " --device " : "", device != NULL ? device : "",
			       limit != NULL ? " --limit " : "", limit != NULL ? limit : "");
	}
	rc = CMD_OK;
out:
	json_decref(page);
	store_close(s);
	return rc;
}
