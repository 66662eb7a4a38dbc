/*
 * cmd_deny.c - `lanca deny ID [--reason TEXT]`: an admin refuses a
 * pending request; the device learns the reason when it polls.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "daemon/control.h"
#include "store/store.h"

static void
deny_usage(FILE *f)
{
	fprintf(f, "usage: lanca deny ID [--reason TEXT] [--dir DIR]\n");
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
	const char *dir = NULL, *reason = "denied by an admin", *user = getenv("USER");
	json_t *cmd = NULL, *reply = NULL;
	struct cmd_ca ca;
	char actor[96];
	struct lerr e;
	int c, rc = CMD_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'r':
			if (strlen(optarg) == 0 || strlen(optarg) > 200) {
				cmd_error("deny", "--reason: 1 to 200 characters");
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
	dir = cmd_dir(dir);
	cmd = json_pack("{s:s, s:s, s:s, s:s}", "cmd", "deny", "id", argv[optind],
			"reason", reason, "actor", user ? user : "");
	if (cmd == NULL) {
		cmd_error("deny", "out of memory");
		goto out;
	}
	if (control_call(dir, cmd, &reply, &e) != 0) {
		if (e.code != LERR_NOT_FOUND ||
		    strstr(e.msg, "not running") == NULL) {
			cmd_error("deny", "%s: %s", argv[optind], e.msg);
			goto out;
		}
		/* No daemon: a denial needs no key, only the store. */
		snprintf(actor, sizeof(actor), "cli %s", user ? user : "");
		if (cmd_ca_open(dir, NULL, 0, &ca, &e) != 0) {
			cmd_error("deny", "%s", e.msg);
			goto out;
		}
		c = store_request_deny(ca.store, argv[optind], reason, actor, &e);
		cmd_ca_close(&ca);
		if (c != 0) {
			cmd_error("deny", "%s: %s", argv[optind], e.msg);
			goto out;
		}
	}
	printf("denied request %s\n", argv[optind]);
	rc = CMD_OK;
out:
	json_decref(cmd);
	json_decref(reply);
	return rc;
}
