/*
 * cmd_pending.c - `lanca pending`: requests waiting for a decision.
 * Through the running daemon when there is one, else through the same
 * admin.c here; either way the rows are admin_request_json()'s.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "daemon/admin.h"
#include "daemon/control.h"

static void
pending_usage(FILE *f)
{
	fprintf(f, "usage: lanca pending [--dir DIR] [--json]\n");
}

/* No daemon: the same listing, made here. *out as admin_list_json's. */
static int
pending_local(const char *dir, const struct admin_list *l, json_t **out, struct lerr *e)
{
	struct cmd_ca ca;
	int rc;

	if (cmd_ca_open(dir, NULL, 0, &ca, e) != 0)
		return -1;
	rc = admin_list_json(ca.store, l, (int64_t)time(NULL), out, e);
	cmd_ca_close(&ca);
	return rc;
}

/* A row's string member, "" when the daemon sent none. */
static const char *
pending_str(const json_t *row, const char *key)
{
	const char *s = json_string_value(json_object_get(row, key));

	return s != NULL ? s : "";
}

static void
pending_print(const json_t *list)
{
	time_t now = time(NULL);
	json_t *row;
	size_t i;

	printf("%-32s  %-24s  %-15s  %6s  %s\n", "ID", "DEVICE", "FROM", "SEEN", "WHY");
	json_array_foreach(list, i, row) {
		printf("%-32s  %-24s  %-15s  %5llds  %s\n", pending_str(row, "id"),
		       pending_str(row, "device_id"), pending_str(row, "source"),
		       (long long)(now - json_integer_value(json_object_get(row, "last_seen"))),
		       pending_str(row, "reason"));
	}
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
	struct control_req rq;
	json_t *reply = NULL, *list = NULL;
	struct lerr e;
	int c, r, json = 0, rc = CMD_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			pending_usage(stdout);
			return CMD_OK;
		default:
			pending_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		pending_usage(stderr);
		return CMD_USAGE;
	}
	memset(&rq, 0, sizeof(rq));
	rq.op = CONTROL_LIST;
	rq.list.state = STORE_REQ_PENDING;
	cmd_actor(rq.actor);
	dir = cmd_dir(dir);
	r = control_call(dir, &rq, &reply, &e);
	if (r == 0) {
		list = json_incref(json_object_get(reply, "requests"));
		if (!json_is_array(list)) {
			cmd_error("pending", "the daemon's answer holds no list");
			goto out;
		}
	} else if (r != CONTROL_NOT_RUNNING || pending_local(dir, &rq.list, &list, &e) != 0) {
		cmd_error("pending", "%s", e.msg);
		goto out;
	}
	if (json) {
		json_dumpf(list, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		pending_print(list);
	}
	rc = CMD_OK;
out:
	json_decref(list);
	json_decref(reply);
	return rc;
}
