/*
 * cmd_acme.c - `lanca acme`: the ACME door's accounts, as an admin sees
 * them (docs/acme.md).
 *
 *   lanca acme accounts [--json]   every account: id, approval, contact, since
 *   lanca acme approve ID          lets a waiting account order
 *   lanca acme eab new [--json]    an External Account Binding key (kid and
 *                                  MAC key) for a client to make its account
 *                                  with, approved at once; usable for
 *                                  ACME_EAB_DAYS days, once
 *
 * Each works on the store directly (SQLite keeps a running daemon's
 * writes apart), and the daemon sees the change at its next request.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "daemon/acme.h"
#include "store/store.h"

static void
acme_usage(FILE *f)
{
	fprintf(f, "usage: lanca acme accounts [--dir DIR] [--json]\n"
		   "       lanca acme approve [--dir DIR] ID\n"
		   "       lanca acme eab new [--dir DIR] [--json]\n");
}

static void
acme_when(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "-");
}

struct acme_list {
	int json;
	json_t *all;
	size_t n;
};

static int
acme_list_one(const struct store_acme_account *a, void *arg)
{
	struct acme_list *l = arg;
	char created[32];

	l->n++;
	if (l->json) {
		json_t *contact = json_loads(a->contact, 0, NULL);

		json_array_append_new(l->all, json_pack(
			"{s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:I}", "id", a->id,
			"status", store_acme_status_str(a->status),
			"approved", acme_approval_str(a->approved),
			"contact", contact != NULL ? contact : json_array(), "thumbprint", a->thumbprint,
			"source", a->source, "created_at", (json_int_t)a->created_at,
			"approved_at", (json_int_t)a->approved_at));
		return 0;
	}
	acme_when(a->created_at, created);
	printf("%s  %-11s  %-14s  %s  from %s  %s\n", a->id, store_acme_status_str(a->status),
	       a->approved == STORE_ACME_WAITING ? "WAITING" : store_acme_approval_str(a->approved),
	       created, a->source[0] ? a->source : "?", a->contact);
	return 0;
}

static int
acme_accounts(int argc, char *argv[])
{
	struct acme_list l = { 0, NULL, 0 };
	const char *dir = NULL;
	struct store *s = NULL;
	struct lerr e;
	int rc;

	if ((rc = cmd_dir_args(argc, argv, &dir, &l.json, acme_usage)) >= 0)
		return rc;
	rc = CMD_FAILED;
	l.all = json_array();
	if (cmd_store_read(dir, &s, &e) != 0 || store_acme_account_each(s, acme_list_one, &l, &e) != 0) {
		cmd_error("acme", "%s", e.msg);
		goto out;
	}
	if (l.json) {
		if (json_dumpf(l.all, stdout, JSON_INDENT(2)) != 0) {
			cmd_error("acme", "cannot encode JSON");
			goto out;
		}
		putchar('\n');
	} else if (l.n == 0) {
		printf("no ACME accounts\n");
	}
	rc = CMD_OK;
out:
	json_decref(l.all);
	store_close(s);
	return rc;
}

static int
acme_approve(int argc, char *argv[])
{
	char actor[CONTROL_ACTOR_MAX + 8], who[CONTROL_ACTOR_MAX + 1];
	const char *dir = NULL;
	struct store *s = NULL;
	struct lerr e;
	int rc;
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *id;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'h':
			acme_usage(stdout);
			return CMD_OK;
		default:
			acme_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc - 1) {
		acme_usage(stderr);
		return CMD_USAGE;
	}
	id = argv[optind];
	dir = cmd_dir(dir);
	if (strlen(id) != STORE_ACME_ID_LEN) {
		cmd_error("acme", "%s is not an ACME account id", id);
		return CMD_USAGE;
	}
	rc = CMD_FAILED;
	cmd_actor(who);
	snprintf(actor, sizeof(actor), "cli %s", who);
	if (state_store_open(dir, 0, &s, &e) != 0 ||
	    store_acme_account_approve(s, id, STORE_ACME_BY_ADMIN, actor,
				       (int64_t)time(NULL), &e) != 0) {
		cmd_error("acme", "%s", e.msg);
		goto out;
	}
	printf("approved ACME account %s: it may order certificates now\n", id);
	rc = CMD_OK;
out:
	store_close(s);
	return rc;
}

static int
acme_eab(int argc, char *argv[])
{
	char actor[CONTROL_ACTOR_MAX + 8], who[CONTROL_ACTOR_MAX + 1];
	char kid[33], key[64], until[32];
	const char *dir = NULL;
	struct store *s = NULL;
	int64_t expires = 0;
	struct lerr e;
	int json = 0, rc;

	if (argc < 2 || strcmp(argv[1], "new") != 0) {
		acme_usage(stderr);
		return CMD_USAGE;
	}
	if ((rc = cmd_dir_args(argc - 1, argv + 1, &dir, &json, acme_usage)) >= 0)
		return rc;
	rc = CMD_FAILED;
	cmd_actor(who);
	snprintf(actor, sizeof(actor), "cli %s", who);
	if (state_store_open(dir, 0, &s, &e) != 0 ||
	    acme_eab_make(s, dir, actor, kid, key, &expires, &e) != 0) {
		cmd_error("acme", "%s", e.msg);
		goto out;
	}
	acme_when(expires, until);
	if (json)
		printf("{\"kid\": \"%s\", \"hmac_key\": \"%s\", \"expires_at\": %lld}\n", kid, key,
		       (long long)expires);
	else
		printf("kid:      %s\nhmac key: %s\nuse once, before %s\n"
		       "certbot: --eab-kid %s --eab-hmac-key %s\n", kid, key, until, kid, key);
	rc = CMD_OK;
out:
	store_close(s);
	return rc;
}

static const struct cmd_sub acme_commands[] = {
	{ "accounts", acme_accounts, "list the ACME accounts and who approved them" },
	{ "approve", acme_approve, "let a waiting ACME account order certificates" },
	{ "eab", acme_eab, "`eab new`: a key a client binds its new account to (approved)" },
};

int
cmd_acme(int argc, char *argv[])
{
	return cmd_subcommand("acme", argc, argv, acme_commands,
			      sizeof(acme_commands) / sizeof(acme_commands[0]), acme_usage);
}
