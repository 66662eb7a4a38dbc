/*
 * cmd_status.c - `lanca status`: the CAs, fingerprints, dates, counts.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "cmd.h"
#include "state.h"
#include "store.h"

/* RFC 3339 UTC. */
static const char *
status_time(time_t t, char *out, size_t n)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "?");
	return out;
}

static json_t *
status_ca_json(const char *subject, const char *fp, time_t nb, time_t na)
{
	char a[32], b[32];

	return json_pack("{s:s, s:s, s:s, s:s}", "subject", subject, "sha256", fp,
			 "not_before", status_time(nb, a, sizeof(a)),
			 "not_after", status_time(na, b, sizeof(b)));
}

int
cmd_status(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char path[STATE_PATH_MAX], a[32], b[32];
	const char *dir = NULL;
	struct store *s = NULL;
	struct ca_set ca;
	struct lerr e;
	int64_t count = 0;
	json_t *j = NULL;
	int c, json = 0, rc = CMD_FAILED;

	memset(&ca, 0, sizeof(ca));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: lanca status [--dir DIR] [--json]\n");
			return CMD_OK;
		default:
			fprintf(stderr, "usage: lanca status [--dir DIR] [--json]\n");
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: lanca status [--dir DIR] [--json]\n");
		return CMD_USAGE;
	}
	dir = cmd_dir(dir);
	if (state_path(path, dir, STORE_FILE) != 0 || store_open(path, STORE_READONLY, &s, &e) != 0 ||
	    ca_set_load(s, &ca, &e) != 0 || store_cert_count(s, &count, &e) != 0) {
		cmd_error("status", "%s", e.msg);
		goto out;
	}
	if (json) {
		j = json_pack("{s:s, s:s, s:o, s:o, s:I}", "version", PACKAGE_VERSION, "dir", dir,
			      "root", status_ca_json(ca.root_subject, ca.root_fp,
						     ca.root_not_before, ca.root_not_after),
			      "issuing", status_ca_json(ca.issuing_subject, ca.issuing_fp,
							ca.issuing_not_before, ca.issuing_not_after),
			      "certificates", (json_int_t)count);
		if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2)) != 0) {
			cmd_error("status", "cannot encode JSON");
			goto out;
		}
		putchar('\n');
	} else {
		printf("state directory: %s\n", dir);
		printf("root CA:         %s\n", ca.root_subject);
		printf("  SHA-256:       %s\n", ca.root_fp_colon);
		printf("  valid:         %s to %s\n", status_time(ca.root_not_before, a, sizeof(a)),
		       status_time(ca.root_not_after, b, sizeof(b)));
		printf("issuing CA:      %s\n", ca.issuing_subject);
		printf("  SHA-256:       %s\n", ca.issuing_fp);
		printf("  valid:         %s to %s\n", status_time(ca.issuing_not_before, a, sizeof(a)),
		       status_time(ca.issuing_not_after, b, sizeof(b)));
		printf("certificates:    %lld\n", (long long)count);
	}
	rc = CMD_OK;
out:
	json_decref(j);
	ca_set_free(&ca);
	store_close(s);
	return rc;
}
