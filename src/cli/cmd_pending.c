/*
 * cmd_pending.c - `lanca pending`: requests waiting for a decision.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "store/store.h"

struct pending_out {
	int json;
	json_t *list;
	time_t now;
};

static int
pending_row(const struct store_request *rq, void *arg)
{
	struct pending_out *o = arg;

	if (o->json) {
		json_array_append_new(o->list,
			json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "id", rq->id,
				  "device_id", rq->device_id, "source", rq->source,
				  "auth", store_auth_str(rq->auth), "reason", rq->reason,
				  "created_at", (json_int_t)rq->created_at,
				  "last_seen", (json_int_t)rq->last_seen,
				  "expires_at", (json_int_t)rq->expires_at));
		return 0;
	}
	printf("%-32s  %-24s  %-15s  %5llds  %s\n", rq->id, rq->device_id, rq->source,
	       (long long)(o->now - rq->last_seen), rq->reason);
	return 0;
}

int
cmd_pending(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	struct pending_out o;
	struct cmd_ca ca;
	struct lerr e;
	size_t n;
	int c, rc = CMD_FAILED;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': o.json = 1; break;
		case 'h':
			printf("usage: lanca pending [--dir DIR] [--json]\n");
			return CMD_OK;
		default:
			fprintf(stderr, "usage: lanca pending [--dir DIR] [--json]\n");
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: lanca pending [--dir DIR] [--json]\n");
		return CMD_USAGE;
	}
	o.now = time(NULL);
	if (cmd_ca_open(cmd_dir(dir), NULL, 0, &ca, &e) != 0) {
		cmd_error("pending", "%s", e.msg);
		return CMD_FAILED;
	}
	/* Requests nobody decided on in time are expired first. */
	if (store_request_expire(ca.store, o.now, &n, &e) != 0)
		goto fail;
	o.list = json_array();
	if (!o.json)
		printf("%-32s  %-24s  %-15s  %6s  %s\n", "ID", "DEVICE", "FROM", "SEEN", "WHY");
	if (store_request_each(ca.store, STORE_REQ_PENDING, 0, pending_row, &o, &e) != 0)
		goto fail;
	if (o.json) {
		json_dumpf(o.list, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	rc = CMD_OK;
	goto out;
fail:
	cmd_error("pending", "%s", e.msg);
out:
	json_decref(o.list);
	cmd_ca_close(&ca);
	return rc;
}
