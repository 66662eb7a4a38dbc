/*
 * cmd_approve.c - `lanca approve ID`: an admin issues a pending request.
 * Through the running daemon when there is one (its signer signs);
 * otherwise in-process, like `lanca sign`.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "daemon/control.h"
#include "daemon/enroll.h"

static void
approve_usage(FILE *f)
{
	fprintf(f, "usage: lanca approve ID [--dir DIR] [--passphrase-file FILE]\n");
}

/* No daemon: the same decision, made here. */
static int
approve_local(const char *dir, const char *pass_file, const char *id, const char *actor,
	      char serial[2 * STORE_SERIAL_MAX + 1], struct lerr *e)
{
	struct enroll_result res;
	struct enroll *en = NULL;
	struct cmd_ca ca;
	int rc = -1;

	enroll_result_init(&res);
	if (cmd_ca_open(dir, pass_file, 1, &ca, e) != 0)
		goto out;
	if (enroll_new(&ca.is, &ca.ca, NULL, NULL, &en, e) != 0 ||
	    enroll_approve(en, id, actor, &res, e) != 0)
		goto close;
	snprintf(serial, 2 * STORE_SERIAL_MAX + 1, "%s", res.serial);
	rc = 0;
close:
	enroll_free(en);
	cmd_ca_close(&ca);
out:
	enroll_result_free(&res);
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
	char serial[2 * STORE_SERIAL_MAX + 1] = "", actor[96];
	const char *dir = NULL, *pass_file = NULL, *user = getenv("USER");
	json_t *cmd = NULL, *reply = NULL;
	struct lerr e;
	int c, rc = CMD_FAILED;

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
	dir = cmd_dir(dir);
	cmd = json_pack("{s:s, s:s, s:s}", "cmd", "approve", "id", argv[optind],
			"actor", user ? user : "");
	if (cmd != NULL && control_call(dir, cmd, &reply, &e) == 0) {
		snprintf(serial, sizeof(serial), "%s",
			 json_string_value(json_object_get(reply, "serial")) ?
			 json_string_value(json_object_get(reply, "serial")) : "");
	} else if (cmd != NULL && e.code == LERR_NOT_FOUND &&
		   strstr(e.msg, "not running") != NULL) {
		snprintf(actor, sizeof(actor), "cli %s", user ? user : "");
		if (approve_local(dir, pass_file, argv[optind], actor, serial, &e) != 0) {
			cmd_error("approve", "%s: %s", argv[optind], e.msg);
			goto out;
		}
	} else {
		cmd_error("approve", "%s: %s", argv[optind], cmd == NULL ? "out of memory" : e.msg);
		goto out;
	}
	printf("issued certificate %s for request %s\n", serial, argv[optind]);
	rc = CMD_OK;
out:
	json_decref(cmd);
	json_decref(reply);
	return rc;
}
