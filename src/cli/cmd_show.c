/*
 * cmd_show.c - `lanca show`: one certificate, or every certificate of a
 * device (newest issued first), with its history from the audit log: the
 * admin API's detail (admin_cert_get_json), as text, as JSON or as PEM.
 *
 * What the argument names is admin_cert_lookup's to decide: a serial
 * when one certificate has it, else a device id. Reads the store
 * directly (read-only), with or without a running daemon.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "daemon/admin.h"
#include "store/store.h"

static void
show_usage(FILE *f)
{
	fprintf(f, "usage: lanca show [--dir DIR] [--pem | --json] SERIAL|DEVICE_ID\n");
}

static const char *
show_time(const json_t *v, char out[32])
{
	time_t t = (time_t)json_integer_value(v);
	struct tm tm;

	if (!json_is_integer(v))
		return "-";
	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "?");
	return out;
}

static const char *
show_str(const json_t *row, const char *key)
{
	const char *s = json_string_value(json_object_get(row, key));

	return s != NULL ? s : "-";
}

/* The detail d for people. */
static void
show_text(const json_t *d, int64_t now)
{
	enum store_cert_status st = STORE_CERT_VALID;
	char a[32], b[32];
	json_t *v, *h;
	size_t i;

	printf("serial:      %s\n", show_str(d, "serial"));
	printf("device:      %s\n", show_str(d, "device_id"));
	printf("subject:     %s\n", show_str(d, "subject"));
	printf("names:      ");
	json_array_foreach(json_object_get(d, "names"), i, v)
		printf("%s%s", i > 0 ? ", " : " ", json_string_value(v));
	putchar('\n');
	(void)store_cert_status_parse(show_str(d, "status"), &st);
	if (st == STORE_CERT_REVOKED)
		printf("status:      revoked at %s%s%s\n", show_time(json_object_get(d, "revoked_at"), a),
		       json_is_string(json_object_get(d, "revoke_reason")) ? ": " : "",
		       json_is_string(json_object_get(d, "revoke_reason")) ?
		       show_str(d, "revoke_reason") : "");
	else if (json_integer_value(json_object_get(d, "not_after")) <= now)
		printf("status:      expired\n");
	else
		printf("status:      valid\n");
	printf("valid:       %s to %s\n", show_time(json_object_get(d, "not_before"), a),
	       show_time(json_object_get(d, "not_after"), b));
	printf("issued at:   %s\n", show_time(json_object_get(d, "issued_at"), a));
	printf("request:     %s\n", show_str(d, "request_id"));
	printf("history (the device's audit rows, newest first):\n");
	json_array_foreach(json_object_get(d, "history"), i, h) {
		char *detail = NULL;

		v = json_object_get(h, "detail");
		if (v != NULL && !json_is_null(v))
			detail = json_dumps(v, JSON_COMPACT);
		printf("  %s  %-16s  %-20s  %s\n", show_time(json_object_get(h, "at"), a),
		       show_str(h, "event"), show_str(h, "actor"), detail != NULL ? detail : "");
		free(detail);
	}
}

int
cmd_show(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "pem", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	struct store *s = NULL;
	json_t *serials = NULL, *all = NULL, *d = NULL, *v;
	int64_t now = (int64_t)time(NULL);
	struct lerr e;
	int c, pem = 0, json = 0, rc = CMD_FAILED;
	size_t i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'p': pem = 1; break;
		case 'j': json = 1; break;
		case 'h':
			show_usage(stdout);
			return CMD_OK;
		default:
			show_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc - 1 || (pem && json)) {
		if (pem && json)
			cmd_error("show", "--pem and --json exclude each other");
		show_usage(stderr);
		return CMD_USAGE;
	}
	if (cmd_store_read(cmd_dir(dir), &s, &e) != 0) {
		cmd_error("show", "%s", e.msg);
		goto out;
	}
	if (admin_cert_lookup(s, argv[optind], &serials, &e) != 0) {
		cmd_error("show", "%s", e.msg);
		rc = e.code == LERR_BAD_REQUEST ? CMD_USAGE : CMD_FAILED;
		goto out;
	}
	if (json && (all = json_array()) == NULL) {
		cmd_error("show", "out of memory");
		goto out;
	}
	json_array_foreach(serials, i, v) {
		if (admin_cert_get_json(s, json_string_value(v), &d, &e) != 0) {
			cmd_error("show", "%s: %s", json_string_value(v), e.msg);
			goto out;
		}
		if (pem)
			fputs(show_str(d, "pem"), stdout);
		else if (json && json_array_append(all, d) != 0) {
			cmd_error("show", "out of memory");
			goto out;
		} else if (!json) {
			if (i > 0)
				putchar('\n');
			show_text(d, now);
		}
		json_decref(d);
		d = NULL;
	}
	if (json) {
		json_dumpf(all, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	rc = CMD_OK;
out:
	json_decref(d);
	json_decref(all);
	json_decref(serials);
	store_close(s);
	return rc;
}
