/*
 * cmd_deny.c - `lanca deny ID [--reason TEXT]`: an admin refuses a
 * pending request; the device learns the reason when it polls. Through
 * the running daemon when there is one, else through the same admin.c
 * here (a denial needs the store, not the key).
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
#include "daemon/enroll.h"

static void
deny_usage(FILE *f)
{
	fprintf(f, "usage: lanca deny ID [--reason TEXT] [--dir DIR]\n");
}

/* No daemon: the same action, taken here. */
static int
deny_local(const char *dir, const struct control_req *rq, struct lerr *e)
{
	struct enroll *en = NULL;
	struct cmd_ca ca;
	char who[16 + CONTROL_ACTOR_MAX];
	int rc = -1;

	if (cmd_ca_open(dir, NULL, 0, &ca, e) != 0)
		return -1;
	snprintf(who, sizeof(who), "cli %s", rq->actor);
	if (enroll_new(&ca.is, &ca.ca, NULL, NULL, &en, e) != 0 ||
	    admin_deny(en, rq->id, rq->reason[0] != '\0' ? rq->reason : NULL, who, e) != 0)
		goto out;
	rc = 0;
out:
	enroll_free(en);
	cmd_ca_close(&ca);
	return rc;
}

int
cmd_deny(int argc, char *argv[])
{
	const char *dir, *reason, *id;
	struct control_req rq;
	json_t *reply = NULL;
	struct lerr e;
	int r, rc = CMD_FAILED;

	r = cmd_reason_args("deny", argc, argv, deny_usage, &dir, &reason, &id);
	if (r >= 0)
		return r;
	memset(&rq, 0, sizeof(rq));
	rq.op = CONTROL_DENY;
	if (admin_id_check(id, &e) != 0) {
		cmd_error("deny", "%s", e.msg);
		return CMD_FAILED;
	}
	snprintf(rq.id, sizeof(rq.id), "%s", id);
	snprintf(rq.reason, sizeof(rq.reason), "%s", reason != NULL ? reason : "");
	cmd_actor(rq.actor);
	dir = cmd_dir(dir);
	r = control_call(dir, &rq, &reply, &e);
	if (r == CONTROL_NOT_RUNNING)
		r = deny_local(dir, &rq, &e);
	if (r != 0) {
		cmd_error("deny", "%s: %s", rq.id, e.msg);
		goto out;
	}
	printf("denied request %s\n", rq.id);
	rc = CMD_OK;
out:
	json_decref(reply);
	return rc;
}
