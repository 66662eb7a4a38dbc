/*
 * cmd_backup_root.c - `lanca backup-root create|confirm|status`: the
 * backup root of a state directory (daemon/backuproot.h).
 *
 * create makes one for a state directory that has none (one made before
 * backup roots, or by `lanca init` without --backup-key-out): it needs the
 * primary root's key, to vouch for the new root, so it runs where
 * keys/root.key is readable. confirm records, audited, that the admin put
 * the key file somewhere safe; until then `lanca status` and the web
 * console warn.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "ca/keystore.h"
#include "ca/x509.h"
#include "daemon/backuproot.h"
#include "daemon/trustbundle.h"
#include "signer/files.h"
#include "store/store.h"

static void
backup_root_usage(FILE *f)
{
	fputs("usage: lanca backup-root create [--dir DIR] --backup-key-out FILE --backup-pass-file FILE\n"
	      "                                [--passphrase-file FILE] [--key-type TYPE]\n"
	      "       lanca backup-root confirm [--dir DIR]\n"
	      "       lanca backup-root status [--dir DIR] [--json]\n"
	      "\n"
	      "create makes the backup root and writes its private key, once, to FILE,\n"
	      "encrypted (PKCS#8, AES-256) with the passphrase in --backup-pass-file;\n"
	      "--passphrase-file opens the primary root's key if it is encrypted.\n"
	      "Keep the key file offline, delete it from this machine, then run confirm.\n", f);
}

int
cmd_backup_root_report(struct store *s, const char *key_out)
{
	const struct trust_entry *t;
	struct trust_bundle b;
	struct lerr e;
	int rc = -1;

	if (trustbundle_load(s, &b, &e) != 0) {
		cmd_error("backup-root", "cannot read the backup root back: %s", e.msg);
		goto out;
	}
	if ((t = trustbundle_find(&b, TRUST_BACKUP)) == NULL) {
		cmd_error("backup-root", "the backup root is not in the store");
		goto out;
	}
	printf("backup root: %s\n", t->subject);
	printf("backup root SHA-256 fingerprint: %s\n", t->fp_colon);
	printf("backup root key: %s (PKCS#8, encrypted with your passphrase)\n", key_out);
	printf("  Store that file and its passphrase offline, apart from each other, delete it\n"
	       "  from this machine, then run `lanca backup-root confirm`.\n");
	rc = 0;
out:
	trustbundle_free(&b);
	return rc;
}

/* `lanca backup-root create` */
static int
backup_root_create(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "backup-key-out", required_argument, NULL, 'B' },
		{ "backup-pass-file", required_argument, NULL, 'P' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *pass_file = NULL, *backup_pass_file = NULL;
	char path[STATE_PATH_MAX], *pass = NULL, *backup_pass = NULL, *name = NULL;
	struct backuproot_opts o;
	gnutls_privkey_t root_key = NULL;
	struct cmd_ca c;
	struct lerr e;
	int ch, rc = CMD_FAILED;

	memset(&o, 0, sizeof(o));
	memset(&c, 0, sizeof(c));
	o.key_type = KEYSTORE_ECDSA_P256;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'B': o.key_out = optarg; break;
		case 'P': backup_pass_file = optarg; break;
		case 'p': pass_file = optarg; break;
		case 'k':
			if (keystore_type_parse(optarg, &o.key_type) != 0) {
				cmd_error("backup-root", "--key-type %s: use ecdsa-p256, ecdsa-p384 or rsa-3072",
					  optarg);
				return CMD_USAGE;
			}
			break;
		case 'h':
			backup_root_usage(stdout);
			return CMD_OK;
		default:
			backup_root_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc || o.key_out == NULL || backup_pass_file == NULL) {
		if (optind == argc)
			cmd_error("backup-root", "create needs --backup-key-out FILE and "
				  "--backup-pass-file FILE: the key is only ever written encrypted");
		backup_root_usage(stderr);
		return CMD_USAGE;
	}
	o.dir = cmd_dir(dir);
	if (keystore_pass_read(backup_pass_file, &backup_pass, &e) != 0 ||
	    (pass_file != NULL && keystore_pass_read(pass_file, &pass, &e) != 0) ||
	    cmd_ca_open(o.dir, NULL, 0, &c, &e) != 0) {
		cmd_error("backup-root", "%s", e.msg);
		goto out;
	}
	o.pass = backup_pass;
	if (store_setting_get(c.store, "name", &name, &e) != 0) {
		cmd_error("backup-root", "the store has no site name: %s", e.msg);
		goto out;
	}
	o.name = name;
	/* The primary vouches for its successor: its key, checked against it. */
	if (state_path(path, o.dir, SIGNER_ROOT_KEY) != 0 ||
	    keystore_load(path, pass, &root_key, &e) != 0 ||
	    x509_key_matches(root_key, c.ca.root, "the root", &e) != 0 ||
	    backuproot_create(c.store, c.ca.root, root_key, &o, NULL, &e) != 0) {
		cmd_error("backup-root", "%s", e.msg);
		goto out;
	}
	if (cmd_backup_root_report(c.store, o.key_out) != 0)
		goto out;
	rc = CMD_OK;
out:
	if (root_key != NULL)
		gnutls_privkey_deinit(root_key);
	free(name);
	keystore_pass_free(pass);
	keystore_pass_free(backup_pass);
	cmd_ca_close(&c);
	return rc;
}

/* `lanca backup-root confirm` */
static int
backup_root_confirm(int argc, char *argv[])
{
	char actor[CONTROL_ACTOR_MAX + 1];
	const char *dir = NULL;
	struct store *s = NULL;
	struct lerr e;
	int rc;

	if ((rc = cmd_dir_args(argc, argv, &dir, NULL, backup_root_usage)) >= 0)
		return rc;
	rc = CMD_FAILED;
	cmd_actor(actor);
	if (state_store_open(dir, 0, &s, &e) != 0 ||
	    backuproot_confirm(s, actor, &e) != 0) {
		cmd_error("backup-root", "%s", e.msg);
		goto out;
	}
	printf("recorded: the backup root's key is stored offline\n");
	rc = CMD_OK;
out:
	store_close(s);
	return rc;
}

/* `lanca backup-root status` */
static int
backup_root_status(int argc, char *argv[])
{
	const char *dir = NULL;
	const struct trust_entry *t = NULL;
	enum backuproot_state st = BACKUPROOT_NONE;
	struct trust_bundle b;
	struct store *s = NULL;
	struct lerr e;
	json_t *j = NULL;
	int json = 0, rc;

	memset(&b, 0, sizeof(b));
	if ((rc = cmd_dir_args(argc, argv, &dir, &json, backup_root_usage)) >= 0)
		return rc;
	rc = CMD_FAILED;
	if (cmd_store_read(dir, &s, &e) != 0 || backuproot_state(s, &st, NULL, &e) != 0 ||
	    trustbundle_load(s, &b, &e) != 0) {
		cmd_error("backup-root", "%s", e.msg);
		goto out;
	}
	t = trustbundle_find(&b, TRUST_BACKUP);
	if (json) {
		j = json_pack("{s:s, s:s?, s:s?}", "state", backuproot_state_name(st),
			      "subject", t != NULL ? t->subject : NULL,
			      "sha256", t != NULL ? t->fp : NULL);
		if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2)) != 0) {
			cmd_error("backup-root", "cannot encode JSON");
			goto out;
		}
		putchar('\n');
	} else if (t == NULL) {
		printf("backup root: none (make one with `lanca backup-root create`)\n");
	} else {
		printf("backup root: %s\n", t->subject);
		printf("  SHA-256:   %s\n", t->fp_colon);
		printf("  key:       %s\n", st == BACKUPROOT_CONFIRMED ? "stored offline (confirmed)" :
		       "NOT CONFIRMED stored: run `lanca backup-root confirm` once it is");
	}
	rc = CMD_OK;
out:
	json_decref(j);
	trustbundle_free(&b);
	store_close(s);
	return rc;
}

static const struct cmd_sub backup_root_commands[] = {
	{ "create", backup_root_create, "make the backup root; its key goes to a file, encrypted" },
	{ "confirm", backup_root_confirm, "record that the backup root's key is stored offline" },
	{ "status", backup_root_status, "show the backup root and whether its key was confirmed stored" },
};

int
cmd_backup_root(int argc, char *argv[])
{
	return cmd_subcommand("backup-root", argc, argv, backup_root_commands,
			      sizeof(backup_root_commands) / sizeof(backup_root_commands[0]),
			      backup_root_usage);
}
