/*
 * cmd_gateway.c - `lanca gateway list|remove`: the gateways that joined a
 * site whose store is a shared PostgreSQL database (daemon/join.h,
 * docs/scaling.md), and taking one out of it for good.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "daemon/control.h"
#include "daemon/state.h"
#include "store/store.h"

static void
gateway_usage(FILE *f)
{
	fputs("usage: lanca gateway list [--json] [--dir DIR]\n"
	      "       lanca gateway remove NAME [--dir DIR]\n"
	      "\n"
	      "list shows the gateways that joined this gateway's site (`lanca join`), each\n"
	      "with its own issuing CA if it has one. remove takes NAME out of the site for\n"
	      "good, from another gateway: its join and its settings go, and its issuing CA\n"
	      "is retired (no gateway lists it any more). Its certificates stay valid and\n"
	      "renew through the other gateways; its CA's last CRL is served until it\n"
	      "expires. Stop its daemon first: it will not start again. A root rollover,\n"
	      "refused while any gateway is joined, is possible once all are removed.\n",
	      f);
}

struct gateway_list_ctx {
	json_t *arr;		/* NULL for text output */
	int failed;
};

static int
gateway_list_one(const struct store_gateway *gw, void *arg)
{
	struct gateway_list_ctx *c = arg;
	char joined[32];
	time_t t = (time_t)gw->joined_at;
	struct tm tm;
	json_t *o;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(joined, sizeof(joined), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(joined, sizeof(joined), "?");
	if (c->arr == NULL) {
		printf("%-24s %s  %s\n", gw->name, joined,
		       gw->ca_subject[0] != '\0' ? gw->ca_subject : "(the site's issuing CA)");
		return 0;
	}
	o = json_pack("{s:s, s:s, s:s?, s:s?}", "name", gw->name, "joined_at", joined,
		      "issuing_ca", gw->ca_subject[0] != '\0' ? gw->ca_subject : NULL,
		      "issuing_sha256", gw->ca_fingerprint[0] != '\0' ? gw->ca_fingerprint : NULL);
	if (o == NULL || json_array_append_new(c->arr, o) != 0) {
		c->failed = 1;
		return 1;
	}
	return 0;
}

static int
gateway_cmd_list(int argc, char *argv[])
{
	struct gateway_list_ctx c;
	struct store *s = NULL;
	const char *dir = NULL;
	struct lerr e;
	int json = 0, rc;

	if ((rc = cmd_dir_args(argc, argv, &dir, &json, gateway_usage)) >= 0)
		return rc;
	rc = CMD_FAILED;
	memset(&c, 0, sizeof(c));
	if (json && (c.arr = json_array()) == NULL) {
		cmd_error("gateway", "out of memory");
		goto out;
	}
	if (cmd_store_read(dir, &s, &e) != 0) {
		cmd_error("gateway", "%s", e.msg);
		goto out;
	}
	if (!json)
		printf("%-24s %-20s  %s\n", "NAME", "JOINED", "ISSUING CA");
	if (store_gateway_each(s, gateway_list_one, &c, &e) != 0) {
		cmd_error("gateway", "%s", e.msg);
		goto out;
	}
	if (json) {
		if (c.failed || json_dumpf(c.arr, stdout, JSON_INDENT(2)) != 0) {
			cmd_error("gateway", "cannot encode JSON");
			goto out;
		}
		putchar('\n');
	}
	if (fflush(stdout) != 0) {
		cmd_error("gateway", "cannot write the list");
		goto out;
	}
	rc = CMD_OK;
out:
	json_decref(c.arr);
	store_close(s);
	return rc;
}

/* `remove NAME [--dir DIR]`, run from another gateway: one that removed
 * itself would go on serving with a CA the site no longer lists. */
static int
gateway_cmd_remove(int argc, char *argv[])
{
	char self[STATE_GATEWAY_NAME_MAX + 1], actor[CONTROL_ACTOR_MAX + 1];
	const char *dir = NULL, *name;
	struct store *s = NULL;
	struct lerr e;
	int rc;

	if (argc < 2 || argv[1][0] == '-') {
		gateway_usage(argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc == 2 && strcmp(argv[1], "--help") == 0 ? CMD_OK : CMD_USAGE;
	}
	/* NAME stands where the options' parser skips a program's name. */
	name = argv[1];
	if ((rc = cmd_dir_args(argc - 1, argv + 1, &dir, NULL, gateway_usage)) >= 0)
		return rc;
	rc = CMD_FAILED;
	if (state_gateway_name(dir, self, &e) != 0) {
		cmd_error("gateway", "%s", e.msg);
		return CMD_FAILED;
	}
	if (strcmp(self, name) == 0) {
		cmd_error("gateway", "%s is this gateway: remove it from another gateway of the "
			  "site, after stopping it", name);
		return CMD_FAILED;
	}
	cmd_actor(actor);
	if (state_store_open(dir, 0, &s, &e) != 0 || store_gateway_remove(s, name, actor, &e) != 0) {
		cmd_error("gateway", "%s", e.msg);
		goto out;
	}
	printf("removed gateway %s from the site: its issuing CA is retired; its certificates "
	       "stay valid and renew through the other gateways\n", name);
	rc = CMD_OK;
out:
	store_close(s);
	return rc;
}

static const struct cmd_sub gateway_commands[] = {
	{ "list", gateway_cmd_list, "the gateways that joined the site, with their issuing CAs" },
	{ "remove", gateway_cmd_remove, "take a gateway out of the site for good" },
};

int
cmd_gateway(int argc, char *argv[])
{
	return cmd_subcommand("gateway", argc, argv, gateway_commands,
			      sizeof(gateway_commands) / sizeof(gateway_commands[0]), gateway_usage);
}
