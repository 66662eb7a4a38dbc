/*
 * cmd_revoke.c - `lanca revoke SERIAL [--reason TEXT]`: an admin revokes
 * a certificate; its status changes and the revocation is audited.
 * Through the running daemon when there is one, else through the same
 * admin.c here (a revocation needs the store, not the key).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "daemon/admin.h"
#include "daemon/control.h"

static void
revoke_usage(FILE *f)
{
	fprintf(f, "usage: lanca revoke SERIAL [--reason TEXT] [--dir DIR]\n");
}

/* No daemon: the same action, taken here; serial receives the serial
 * as lanca writes it. */
static int
revoke_local(const char *dir, const struct control_req *rq, char serial[2 * STORE_SERIAL_MAX + 1],
	     struct lerr *e)
{
	struct cmd_ca ca;
	char who[16 + CONTROL_ACTOR_MAX];
	int rc;

	if (cmd_ca_open(dir, NULL, 0, &ca, e) != 0)
		return -1;
	snprintf(who, sizeof(who), "cli %s", rq->actor);
	rc = admin_revoke(ca.store, rq->serial, rq->reason, who, serial, e);
	cmd_ca_close(&ca);
	return rc;
}

int
cmd_revoke(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned char bin[STORE_SERIAL_MAX];
	char serial[2 * STORE_SERIAL_MAX + 1] = "";
	const char *dir = NULL, *reason = NULL, *s;
	struct control_req rq;
	json_t *reply = NULL;
	struct lerr e;
	size_t len;
	int c, r, rc = CMD_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'r':
			if (admin_reason_check(optarg, &e) != 0) {
				cmd_error("revoke", "--reason: %s", e.msg);
				return CMD_USAGE;
			}
			reason = optarg;
			break;
		case 'h':
			revoke_usage(stdout);
			return CMD_OK;
		default:
			revoke_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc - 1) {
		revoke_usage(stderr);
		return CMD_USAGE;
	}
	if (admin_serial_parse(argv[optind], bin, &len, &e) != 0) {
		cmd_error("revoke", "%s", e.msg);
		return CMD_USAGE;
	}
	memset(&rq, 0, sizeof(rq));
	rq.op = CONTROL_REVOKE;
	snprintf(rq.serial, sizeof(rq.serial), "%s", argv[optind]);
	snprintf(rq.reason, sizeof(rq.reason), "%s", reason != NULL ? reason : "");
	cmd_actor(rq.actor);
	dir = cmd_dir(dir);
	r = control_call(dir, &rq, &reply, &e);
	if (r == CONTROL_NOT_RUNNING) {
		r = revoke_local(dir, &rq, serial, &e);
	} else if (r == 0) {
		s = json_string_value(json_object_get(reply, "serial"));
		snprintf(serial, sizeof(serial), "%s", s != NULL ? s : rq.serial);
	}
	if (r != 0) {
		cmd_error("revoke", "%s: %s", rq.serial, e.msg);
		goto out;
	}
	printf("revoked certificate %s\n", serial);
	rc = CMD_OK;
out:
	json_decref(reply);
	return rc;
}
