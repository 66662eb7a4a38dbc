/*
 * cmd_preauth.c - `lanca preauth import FILE.csv`: pre-authorises devices
 * in bulk from a CSV file (layout in preauth.h). The file is imported
 * whole or not at all.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"
#include "common/fileio.h"
#include "daemon/preauth.h"
#include "daemon/state.h"
#include "store/store.h"

static void
preauth_usage(FILE *f)
{
	fprintf(f, "usage: lanca preauth import FILE.csv [--dir DIR]\n"
		   "  FILE.csv: a header naming ID and NAME (and optionally SECRET,\n"
		   "  AUTH_TYPE), then one device per line\n");
}

/* Reads and checks the whole file first (the secrets in locked memory,
 * wiped after hashing), then imports every row in one transaction. */
static int
preauth_import(const char *dir, const char *file)
{
	unsigned char *data = NULL;
	size_t len = 0, n = 0, i, secrets = 0;
	struct store_preauth *rows = NULL;
	struct store *s = NULL;
	struct lerr e;
	int rc = CMD_FAILED;

	/* The store first: a missing state directory is better learnt
	 * before the secrets are hashed. */
	if (state_store_open(dir, 0, &s, &e) != 0) {
		cmd_error("preauth", "%s", e.msg);
		goto out;
	}
	if (fileio_read(file, PREAUTH_FILE_MAX, 1, &data, &len, &e) != 0 ||
	    preauth_parse(data, len, &rows, &n, &e) != 0) {
		cmd_error("preauth", "%s: %s", file, e.msg);
		goto out;
	}
	if (store_preauth_import(s, rows, n, "cli", &e) != 0) {
		cmd_error("preauth", "%s: nothing imported: %s", file, e.msg);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (rows[i].secret_hash != NULL)
			secrets++;
	printf("imported %zu device%s (%zu with an enrollment secret)\n", n,
	       n == 1 ? "" : "s", secrets);
	rc = CMD_OK;
out:
	if (data != NULL)
		fileio_free_secret(data, len);
	preauth_rows_free(rows, n);
	store_close(s);
	return rc;
}

int
cmd_preauth(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'h':
			preauth_usage(stdout);
			return CMD_OK;
		default:
			preauth_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind + 2 != argc || strcmp(argv[optind], "import") != 0) {
		preauth_usage(stderr);
		return CMD_USAGE;
	}
	return preauth_import(cmd_dir(dir), argv[optind + 1]);
}
