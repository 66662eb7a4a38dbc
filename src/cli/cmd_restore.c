/*
 * cmd_restore.c - `lanca restore FILE --dir DIR [--passphrase-file F]
 * [--keys-passphrase-file F] [--user USER]`: a backup back into a new
 * state directory, checked whole before it is given DIR's name
 * (daemon/backup.h).
 */
#include "config.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ca/keystore.h"
#include "cli/cmd.h"
#include "daemon/backup.h"

static void
restore_usage(FILE *f)
{
	fprintf(f,
		"usage: lanca restore FILE --dir DIR [--passphrase-file F | --insecure-plaintext]\n"
		"                     [--root-sha256 FP] [--keys-passphrase-file F] [--user USER]\n"
		"Restores a backup into DIR, which must be absent or empty. Nothing is written\n"
		"under DIR unless the whole backup authenticates and holds together.\n"
		"--keys-passphrase-file: the CA keys' own passphrase, when they have one\n"
		"(lanca init --passphrase-file); --user as for lanca init.\n"
		"--root-sha256: refuse a backup of any other root (the fingerprint your\n"
		"devices show). --insecure-plaintext: restore a backup that is not\n"
		"encrypted (nothing shows who wrote such a file).\n");
}

int
cmd_restore(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "keys-passphrase-file", required_argument, NULL, 'K' },
		{ "user", required_argument, NULL, 'u' },
		{ "root-sha256", required_argument, NULL, 'R' },
		{ "insecure-plaintext", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *pass_file = NULL, *keys_file = NULL;
	struct backup_summary s;
	struct restore_opts o;
	struct lerr e;
	char *pass = NULL, *keys_pass = NULL;
	int c, rc = CMD_FAILED;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'P': pass_file = optarg; break;
		case 'K': keys_file = optarg; break;
		case 'u': o.user = optarg; break;
		case 'R': o.root_fp = optarg; break;
		case 'I': o.allow_plain = 1; break;
		case 'h':
			restore_usage(stdout);
			return CMD_OK;
		default:
			restore_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind + 1 != argc || dir == NULL) {
		if (dir == NULL)
			cmd_error("restore", "name the directory to restore into with --dir");
		restore_usage(stderr);
		return CMD_USAGE;
	}
	if (o.allow_plain && pass_file != NULL) {
		cmd_error("restore", "--passphrase-file and --insecure-plaintext exclude each other");
		return CMD_USAGE;
	}
	if (o.user != NULL) {
		struct passwd *pw = getpwnam(o.user);

		if (pw == NULL || pw->pw_uid == 0 || geteuid() != 0) {
			cmd_error("restore", "--user %s: %s", o.user,
				  pw == NULL ? "no such user" : pw->pw_uid == 0 ?
				  "the daemon's user must not be root" :
				  "only root can hand files to another user");
			return CMD_USAGE;
		}
	}
	if ((pass_file != NULL && keystore_pass_read(pass_file, &pass, &e) != 0) ||
	    (keys_file != NULL && keystore_pass_read(keys_file, &keys_pass, &e) != 0)) {
		cmd_error("restore", "%s", e.msg);
		goto out;
	}
	o.pass = pass;
	o.pass_len = pass != NULL ? strlen(pass) : 0;
	o.keys_pass = keys_pass;
	if (restore_run(argv[optind], dir, &o, &s, &e) != 0) {
		cmd_error("restore", "%s: %s", argv[optind], e.msg);
		goto out;
	}
	cmd_backup_summary("restored", argv[optind], &s);
	printf("  into %s: the keys, the chain, the store and its audit log were checked\n", dir);
	rc = CMD_OK;
out:
	keystore_pass_free(pass);
	keystore_pass_free(keys_pass);
	return rc;
}
