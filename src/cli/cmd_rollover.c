/*
 * cmd_rollover.c - `lanca rollover start|status|finish`: root rollover
 * (daemon/rollover.h) from the shell.
 *
 * start and finish change keys/, which the signer reads once when `lanca
 * serve` starts: they take the state directory's lock, which a running
 * serve holds (rollover_lock). The procedure is stop, start (or finish),
 * start the service again; docs/operations.md walks through it.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "ca/keystore.h"
#include "daemon/control.h"
#include "daemon/rollover.h"
#include "daemon/state.h"
#include "store/store.h"

static void
rollover_usage(FILE *f)
{
	fputs("usage: lanca rollover start [--dir DIR] [--passphrase-file FILE] [--key-type TYPE]\n"
	      "                            [--crl-url URL]\n"
	      "                            [--to-backup KEYFILE --backup-pass-file FILE]\n"
	      "       lanca rollover status [--dir DIR] [--json]\n"
	      "       lanca rollover finish [--dir DIR]\n"
	      "\n"
	      "start makes the next root and issuing CA and the cross-certificates by which\n"
	      "the old and new roots vouch for each other; from the next `lanca serve` on,\n"
	      "devices are issued under the new chain and told to trust both roots.\n"
	      "--to-backup makes the offline backup root the new root (its key from\n"
	      "KEYFILE): for a compromise, it also revokes the old issuing CA and\n"
	      "distrusts the old root. status counts the devices that refreshed their\n"
	      "trust store and renewed; finish retires the old root.\n"
	      "Stop `lanca serve` before start and finish, and start it again after.\n", f);
}

/* Opens dir's store for a change of keys/: takes the state directory's
 * lock (refused while serve runs), and finishes a switch a crash
 * interrupted first. */
static int
rollover_open(const char *dir, struct store **s, int *lock, struct lerr *e)
{
	*s = NULL;
	*lock = -1;
	if (!state_store_present(dir))
		return lerr_set(e, LERR_NOT_FOUND, "%s holds no CA (run `lanca init`)", dir);
	if (rollover_lock(dir, lock, e) != 0 || state_store_open(dir, 0, s, e) != 0)
		return -1;
	return rollover_recover(dir, *s, e);
}

/* `lanca rollover start` */
static int
rollover_cmd_start(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "crl-url", required_argument, NULL, 'c' },
		{ "to-backup", required_argument, NULL, 'B' },
		{ "backup-pass-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pass_file = NULL, *backup_pass_file = NULL;
	char actor[CONTROL_ACTOR_MAX + 1], *pass = NULL, *backup_pass = NULL;
	struct rollover_opts o;
	struct rollover_started st;
	struct store *s = NULL;
	struct lerr e;
	int ch, lock = -1, rc = CMD_FAILED;

	memset(&o, 0, sizeof(o));
	o.key_type = KEYSTORE_ECDSA_P256;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': o.dir = optarg; break;
		case 'p': pass_file = optarg; break;
		case 'c': o.crl_url = optarg; break;
		case 'B': o.backup_key = optarg; break;
		case 'P': backup_pass_file = optarg; break;
		case 'k':
			if (keystore_type_parse(optarg, &o.key_type) != 0) {
				cmd_error("rollover", "--key-type %s: use ecdsa-p256, ecdsa-p384 or "
					  "rsa-3072", optarg);
				return CMD_USAGE;
			}
			break;
		case 'h':
			rollover_usage(stdout);
			return CMD_OK;
		default:
			rollover_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc || (o.backup_key != NULL) != (backup_pass_file != NULL)) {
		if (optind == argc)
			cmd_error("rollover", "--to-backup and --backup-pass-file go together: the "
				  "backup root's key file is encrypted");
		rollover_usage(stderr);
		return CMD_USAGE;
	}
	o.dir = cmd_dir(o.dir);
	cmd_actor(actor);
	o.actor = actor;
	if ((pass_file != NULL && keystore_pass_read(pass_file, &pass, &e) != 0) ||
	    (backup_pass_file != NULL && keystore_pass_read(backup_pass_file, &backup_pass, &e) != 0) ||
	    rollover_open(o.dir, &s, &lock, &e) != 0) {
		cmd_error("rollover", "%s", e.msg);
		goto out;
	}
	o.pass = pass;
	o.backup_pass = backup_pass;
	if (rollover_start(s, &o, &st, &e) != 0) {
		cmd_error("rollover", "%s", e.msg);
		goto out;
	}
	printf("rollover %lld started%s\n", (long long)st.id,
	       st.compromise ? " from the backup root (compromise: the old issuing CA is revoked, "
			       "the old root distrusted)" : "");
	printf("new root SHA-256 fingerprint: %s\n", st.root_fp);
	printf("new issuing CA: %s\n", st.issuing_subject);
	if (st.crl_url[0] != '\0')
		printf("its CRL: %s\n", st.crl_url);
	printf("Start `lanca serve` again: devices are issued under the new chain and told to\n"
	       "trust the new root. Follow with `lanca rollover status`; when enough devices\n"
	       "have moved, run `lanca rollover finish`.\n");
	rc = CMD_OK;
out:
	keystore_pass_free(pass);
	keystore_pass_free(backup_pass);
	store_close(s);
	rollover_unlock(lock);
	return rc;
}

/* `lanca rollover finish` */
static int
rollover_cmd_finish(int argc, char *argv[])
{
	char actor[CONTROL_ACTOR_MAX + 1];
	const char *dir = NULL;
	struct store *s = NULL;
	struct lerr e;
	int lock = -1, rc;

	if ((rc = cmd_dir_args(argc, argv, &dir, NULL, rollover_usage)) >= 0)
		return rc;
	rc = CMD_FAILED;
	cmd_actor(actor);
	if (rollover_open(dir, &s, &lock, &e) != 0 || rollover_finish(s, dir, actor, &e) != 0) {
		cmd_error("rollover", "%s", e.msg);
		goto out;
	}
	printf("rollover finished: the old root is retired and no longer in the trust bundle\n");
	rc = CMD_OK;
out:
	store_close(s);
	rollover_unlock(lock);
	return rc;
}

/* `lanca rollover status` */
static int
rollover_cmd_status(int argc, char *argv[])
{
	const char *dir = NULL;
	struct rollover_status st;
	struct store *s = NULL;
	struct lerr e;
	json_t *j = NULL;
	int json = 0, rc;

	if ((rc = cmd_dir_args(argc, argv, &dir, &json, rollover_usage)) >= 0)
		return rc;
	rc = CMD_FAILED;
	if (cmd_store_read(dir, &s, &e) != 0 || rollover_status(s, &st, &e) != 0) {
		cmd_error("rollover", "%s", e.msg);
		goto out;
	}
	if (json) {
		j = !st.any ? json_pack("{s:s}", "state", "none") :
		    json_pack("{s:s, s:I, s:b, s:s, s:s, s:I, s:o?, s:I, s:I, s:I}",
			      "state", st.finished_at != 0 ? "finished" : "under way",
			      "id", (json_int_t)st.id, "compromise", st.compromise,
			      "old_root", st.old_root, "new_root", st.new_root,
			      "started_at", (json_int_t)st.started_at,
			      "finished_at", st.finished_at != 0 ?
			      json_integer((json_int_t)st.finished_at) : NULL,
			      "devices", (json_int_t)st.devices,
			      "refreshed", (json_int_t)st.refreshed,
			      "renewed", (json_int_t)st.renewed);
		if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2)) != 0) {
			cmd_error("rollover", "cannot encode JSON");
			goto out;
		}
		putchar('\n');
	} else if (!st.any) {
		printf("no root rollover (start one with `lanca rollover start`)\n");
	} else {
		printf("rollover %lld: %s%s\n", (long long)st.id,
		       st.finished_at != 0 ? "finished" : "under way",
		       st.compromise ? " (compromise: the old root is distrusted)" : "");
		printf("  old root: %s\n  new root: %s\n", st.old_root, st.new_root);
		printf("  devices with a valid certificate: %lld\n", (long long)st.devices);
		printf("  refreshed their trust store since: %lld\n", (long long)st.refreshed);
		printf("  renewed under the new issuing CA:  %lld\n", (long long)st.renewed);
	}
	rc = CMD_OK;
out:
	json_decref(j);
	store_close(s);
	return rc;
}

static const struct cmd_sub rollover_commands[] = {
	{ "start", rollover_cmd_start, "make the next root and issuing CA and switch to them" },
	{ "status", rollover_cmd_status, "how many devices have moved to the new root" },
	{ "finish", rollover_cmd_finish, "retire the old root" },
};

int
cmd_rollover(int argc, char *argv[])
{
	return cmd_subcommand("rollover", argc, argv, rollover_commands,
			      sizeof(rollover_commands) / sizeof(rollover_commands[0]),
			      rollover_usage);
}
