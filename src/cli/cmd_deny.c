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
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *reason = NULL;
	struct control_req rq;
	json_t *reply = NULL;
	struct lerr e;
	int c, r, rc = CMD_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'r':
			if (admin_reason_check(optarg, &e) != 0) {
				cmd_error("deny", "--reason: %s", e.msg);
				return CMD_USAGE;
			}
			reason = optarg;
			break;
		case 'h':
			deny_usage(stdout);
			return CMD_OK;
		default:
			deny_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc - 1) {
		deny_usage(stderr);
		return CMD_USAGE;
	}
	memset(&rq, 0, sizeof(rq));
	rq.op = CONTROL_DENY;
	if (admin_id_check(argv[optind], &e) != 0) {
		cmd_error("deny", "%s", e.msg);
		return CMD_FAILED;
	}
	snprintf(rq.id, sizeof(rq.id), "%s", argv[optind]);
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
