/*
 * cmd_approve.c - `lanca approve ID`: an admin issues a pending request.
 * Through the running daemon when there is one (its signer signs);
 * otherwise in-process, like `lanca sign`, through the same admin.c.
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
approve_usage(FILE *f)
{
	fprintf(f, "usage: lanca approve ID [--dir DIR] [--passphrase-file FILE]\n");
}

/* No daemon: the same action, taken here with a local signer. */
static int
approve_local(const char *dir, const char *pass_file, const struct control_req *rq,
	      char serial[2 * STORE_SERIAL_MAX + 1], struct lerr *e)
{
	struct enroll *en = NULL;
	struct cmd_ca ca;
	char who[16 + CONTROL_ACTOR_MAX];
	int rc = -1;

	if (cmd_ca_open(dir, pass_file, 1, &ca, e) != 0)
		return -1;
	snprintf(who, sizeof(who), "cli %s", rq->actor);
	if (enroll_new(&ca.is, &ca.ca, NULL, NULL, &en, e) != 0 ||
	    admin_approve(en, rq->id, who, serial, e) != 0)
		goto out;
	rc = 0;
out:
	enroll_free(en);
	cmd_ca_close(&ca);
	return rc;
}

int
cmd_approve(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char serial[2 * STORE_SERIAL_MAX + 1] = "";
	const char *dir = NULL, *pass_file = NULL, *s;
	struct control_req rq;
	json_t *reply = NULL;
	struct lerr e;
	int c, r, rc = CMD_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'p': pass_file = optarg; break;
		case 'h':
			approve_usage(stdout);
			return CMD_OK;
		default:
			approve_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc - 1) {
		approve_usage(stderr);
		return CMD_USAGE;
	}
	memset(&rq, 0, sizeof(rq));
	rq.op = CONTROL_APPROVE;
	if (admin_id_check(argv[optind], &e) != 0) {
		cmd_error("approve", "%s", e.msg);
		return CMD_FAILED;
	}
	snprintf(rq.id, sizeof(rq.id), "%s", argv[optind]);
	cmd_actor(rq.actor);
	dir = cmd_dir(dir);
	r = control_call(dir, &rq, &reply, &e);
	if (r == 0) {
		s = json_string_value(json_object_get(reply, "serial"));
		snprintf(serial, sizeof(serial), "%s", s != NULL ? s : "");
	} else if (r == CONTROL_NOT_RUNNING) {
		if (approve_local(dir, pass_file, &rq, serial, &e) != 0) {
			cmd_error("approve", "%s: %s", rq.id, e.msg);
			goto out;
		}
	} else {
		cmd_error("approve", "%s: %s", rq.id, e.msg);
		goto out;
	}
	printf("issued certificate %s for request %s\n", serial, rq.id);
	rc = CMD_OK;
out:
	json_decref(reply);
	return rc;
}
