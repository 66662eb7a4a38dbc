/*
 * cmd_revoke.c - `lanca revoke SERIAL|DEVICE_ID [--reason CODE]
 * [--comment TEXT]`: an admin revokes a certificate, or every valid
 * certificate of a device; the status changes, the revocation is audited
 * and the running daemon makes a new CRL before it answers. Without a
 * daemon the same admin.c acts here (a revocation needs the store, not
 * the key) and the daemon makes the CRL when it next starts.
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
	fprintf(f, "usage: lanca revoke SERIAL|DEVICE_ID [--reason CODE] [--comment TEXT] "
		"[--dir DIR]\n"
		"  CODE: " CRL_REASON_WORDS " (default unspecified)\n");
}

/* No daemon: the same action, taken here. */
static int
revoke_local(const char *dir, const struct control_req *rq, json_t **reply, struct lerr *e)
{
	struct cmd_ca ca;
	char who[16 + CONTROL_ACTOR_MAX];
	int rc;

	if (cmd_ca_open(dir, NULL, 0, &ca, e) != 0)
		return -1;
	snprintf(who, sizeof(who), "cli %s", rq->actor);
	rc = admin_revoke(ca.store, NULL, &rq->revoke, who, reply, e);
	cmd_ca_close(&ca);
	return rc;
}

int
cmd_revoke(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "reason", required_argument, NULL, 'r' },
		{ "comment", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *reason = NULL, *comment = NULL;
	struct control_req rq;
	json_t *reply = NULL, *list, *num;
	struct lerr e;
	size_t i;
	int c, r, local = 0, rc = CMD_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'r': reason = optarg; break;
		case 'c': comment = optarg; break;
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
	memset(&rq, 0, sizeof(rq));
	rq.op = CONTROL_REVOKE;
	if (admin_revoke_parse(argv[optind], reason, comment, &rq.revoke, &e) != 0) {
		cmd_error("revoke", "%s", e.msg);
		return CMD_USAGE;
	}
	cmd_actor(rq.actor);
	dir = cmd_dir(dir);
	r = control_call(dir, &rq, &reply, &e);
	if (r == CONTROL_NOT_RUNNING) {
		local = 1;
		r = revoke_local(dir, &rq, &reply, &e);
	}
	if (r != 0) {
		cmd_error("revoke", "%s: %s", rq.revoke.target, e.msg);
		goto out;
	}
	list = json_object_get(reply, "revoked");
	for (i = 0; i < json_array_size(list); i++)
		printf("revoked certificate %s (%s)\n", json_string_value(json_array_get(list, i)),
		       crl_reason_str((int)rq.revoke.reason));
	num = json_object_get(reply, "crl_number");
	if (json_is_integer(num))
		printf("CRL %lld lists it\n", (long long)json_integer_value(num));
	else if (local)
		printf("no daemon is running: it makes the CRL when it starts\n");
	rc = CMD_OK;
out:
	json_decref(reply);
	return rc;
}
