/*
 * cmd_backup.c - `lanca backup FILE [--dir DIR] (--passphrase-file F |
 * --insecure-plaintext)`: the state directory as one file, sealed to a
 * passphrase, taken while the daemon serves (daemon/backup.h).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/keystore.h"
#include "cli/cmd.h"
#include "daemon/backup.h"

static void
backup_usage(FILE *f)
{
	fprintf(f,
		"usage: lanca backup FILE [--dir DIR] (--passphrase-file F | --insecure-plaintext)\n"
		"                    [--kdf-memory MIB]\n"
		"Writes the CA (keys, certificates, store, audit log) to FILE, which must not\n"
		"exist, encrypted with a key derived from the passphrase (its first line).\n"
		"Safe while lanca serve runs. Restore it with lanca restore.\n"
		"--kdf-memory: Argon2id's memory, 8 to 1024 MiB (default 64); restoring\n"
		"needs as much.\n");
}

/* Prints what a backup holds (also `lanca restore`'s report). */
void
cmd_backup_summary(const char *verb, const char *file, const struct backup_summary *s)
{
	char when[32];
	time_t t = (time_t)s->created;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)s->created);
	printf("%s %s: %u files, %llu bytes, %s\n", verb, file, s->files,
	       (unsigned long long)s->bytes,
	       s->sealed ? "encrypted (Argon2id, XChaCha20-Poly1305)" : "NOT ENCRYPTED");
	printf("  made %s by lanca %s, schema %d, certificates: %lld\n", when, s->version,
	       s->schema, (long long)s->certificates);
	printf("  root SHA-256 %s\n", s->root_fp);
	if (s->root_in_token && s->token_key[0] != '\0')
		printf("  CA keys: none: both are in PKCS#11 tokens\n");
	else
		printf("  CA keys: %s%s\n", s->keys_encrypted ? "under their own passphrase" :
		       "in the clear inside the backup", s->root_in_token ? " (the root's: "
		       "in a PKCS#11 token, the backup holds its URL)" : "");
	if (s->token_key[0] != '\0')
		printf("  issuing CA key: in a PKCS#11 token; the backup holds its URL, not the "
		       "key: %s\n", s->token_key);
}

int
cmd_backup(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "insecure-plaintext", no_argument, NULL, 'I' },
		{ "kdf-memory", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *pass_file = NULL;
	struct backup_summary s;
	struct backup_opts o;
	struct bkf_kdf kdf = { BKF_OPS_DEFAULT, BKF_MEM_DEFAULT_KIB };
	struct lerr e;
	unsigned long n;
	char *pass = NULL, *end;
	int c, plain = 0, rc = CMD_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'P': pass_file = optarg; break;
		case 'I': plain = 1; break;
		case 'm':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || optarg[0] == '-' || n < 8 ||
			    n > BKF_MEM_MAX_KIB / 1024) {
				cmd_error("backup", "--kdf-memory %s: from 8 to %d MiB", optarg,
					  BKF_MEM_MAX_KIB / 1024);
				return CMD_USAGE;
			}
			kdf.mem_kib = (uint32_t)n * 1024;
			break;
		case 'h':
			backup_usage(stdout);
			return CMD_OK;
		default:
			backup_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind + 1 != argc) {
		backup_usage(stderr);
		return CMD_USAGE;
	}
	if (pass_file == NULL && !plain) {
		cmd_error("backup", "a backup holds the CA keys: give --passphrase-file to encrypt "
			  "it, or --insecure-plaintext to write the keys unencrypted");
		return CMD_USAGE;
	}
	if (pass_file != NULL && plain) {
		cmd_error("backup", "--passphrase-file and --insecure-plaintext exclude each other");
		return CMD_USAGE;
	}
	memset(&o, 0, sizeof(o));
	o.kdf = &kdf;
	if (pass_file != NULL) {
		if (keystore_pass_read(pass_file, &pass, &e) != 0) {
			cmd_error("backup", "%s", e.msg);
			return CMD_FAILED;
		}
		o.pass = pass;
		o.pass_len = strlen(pass);
	}
	if (backup_write(cmd_dir(dir), argv[optind], &o, &s, &e) != 0) {
		cmd_error("backup", "%s", e.msg);
		goto out;
	}
	cmd_backup_summary("wrote", argv[optind], &s);
	if (plain)
		fprintf(stderr, "lanca backup: warning: %s holds the CA keys unencrypted: keep it "
			"where only you can read it\n", argv[optind]);
	rc = CMD_OK;
out:
	keystore_pass_free(pass);
	return rc;
}
