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
	unsigned char bin[STORE_SERIAL_MAX];
	char serial[2 * STORE_SERIAL_MAX + 1] = "";
	const char *dir, *reason, *arg, *s;
	struct control_req rq;
	json_t *reply = NULL;
	struct lerr e;
	size_t len;
	int r, rc = CMD_FAILED;

	r = cmd_reason_args("revoke", argc, argv, revoke_usage, &dir, &reason, &arg);
	if (r >= 0)
		return r;
	if (admin_serial_parse(arg, bin, &len, &e) != 0) {
		cmd_error("revoke", "%s", e.msg);
		return CMD_USAGE;
	}
	memset(&rq, 0, sizeof(rq));
	rq.op = CONTROL_REVOKE;
	snprintf(rq.serial, sizeof(rq.serial), "%s", arg);
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
