/*
 * cmd_vendor.c - `lanca vendor add|list`: registers manufacturer CAs whose
 * factory certificates let devices enroll (see vendor.h), and lists them.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "common/fileio.h"
#include "daemon/state.h"
#include "store/store.h"
#include "daemon/vendor.h"
#include "ca/x509.h"

static void
vendor_usage(FILE *f)
{
	fprintf(f, "usage: lanca vendor add CAFILE [--auto-register] [--dir DIR]\n"
		   "       lanca vendor list [--json] [--dir DIR]\n");
}

/* RFC 3339 UTC. */
static const char *
vendor_time(time_t t, char *out, size_t n)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "?");
	return out;
}

/* The certificate is checked before the store is opened, so that a wrong
 * file is explained as such whatever the state directory holds. */
static int
vendor_cmd_add(const char *dir, const char *file, int auto_register)
{
	char subject[256], fp[65];
	unsigned char *data = NULL;
	size_t len = 0;
	gnutls_x509_crt_t crt = NULL;
	struct store *s = NULL;
	struct lerr e;
	time_t now = time(NULL);
	int rc = CMD_FAILED;

	if (fileio_read(file, VENDOR_CERT_MAX, 0, &data, &len, &e) != 0 ||
	    x509_import(data, len, &crt, &e) != 0 || vendor_ca_ok(crt, now, &e) != 0) {
		cmd_error("vendor", "%s: %s", file, e.msg);
		goto out;
	}
	if (state_store_open(dir, 0, &s, &e) != 0) {
		cmd_error("vendor", "%s", e.msg);
		goto out;
	}
	if (vendor_add(s, data, len, auto_register, now, "cli", subject, fp, &e) != 0) {
		cmd_error("vendor", "%s: %s", file, e.msg);
		goto out;
	}
	printf("registered vendor CA %s\n  SHA-256: %s\n  auto-register: %s\n", subject, fp,
	       auto_register ? "on" : "off");
	rc = CMD_OK;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	free(data);
	store_close(s);
	return rc;
}

struct vendor_list_ctx {
	json_t *arr;		/* NULL for text output */
	int failed;
};

/* store_vendor_each callback: one line of text, or one JSON object. */
static int
vendor_list_one(const struct store_vendor *v, void *arg)
{
	struct vendor_list_ctx *c = arg;
	gnutls_x509_crt_t crt = NULL;
	char created[32], until[32];
	time_t na = (time_t)-1;
	json_t *o;

	if (x509_import(v->der, v->der_len, &crt, NULL) == 0) {
		na = gnutls_x509_crt_get_expiration_time(crt);
		gnutls_x509_crt_deinit(crt);
	}
	vendor_time((time_t)v->created_at, created, sizeof(created));
	if (na == (time_t)-1)
		snprintf(until, sizeof(until), "?");
	else
		vendor_time(na, until, sizeof(until));
	if (c->arr == NULL) {
		printf("%-4lld %-4s %s  %s\n     until %s, added %s\n", (long long)v->id,
		       v->auto_register ? "auto" : "-", v->fingerprint, v->subject, until, created);
		return 0;
	}
	o = json_pack("{s:I, s:s, s:s, s:b, s:s, s:s}", "id", (json_int_t)v->id,
		      "subject", v->subject, "sha256", v->fingerprint,
		      "auto_register", v->auto_register != 0, "not_after", until,
		      "created_at", created);
	if (o == NULL || json_array_append_new(c->arr, o) != 0) {
		c->failed = 1;
		return 1;
	}
	return 0;
}

static int
vendor_cmd_list(const char *dir, int json)
{
	struct vendor_list_ctx c;
	struct store *s = NULL;
	struct lerr e;
	int rc = CMD_FAILED;

	memset(&c, 0, sizeof(c));
	if (json && (c.arr = json_array()) == NULL) {
		cmd_error("vendor", "out of memory");
		goto out;
	}
	if (state_store_open(dir, STORE_READONLY, &s, &e) != 0) {
		cmd_error("vendor", "%s", e.msg);
		goto out;
	}
	if (!json)
		printf("%-4s %-4s %-64s  %s\n", "ID", "AUTO", "SHA-256", "SUBJECT");
	if (store_vendor_each(s, vendor_list_one, &c, &e) != 0) {
		cmd_error("vendor", "%s", e.msg);
		goto out;
	}
	if (json) {
		if (c.failed || json_dumpf(c.arr, stdout, JSON_INDENT(2)) != 0) {
			cmd_error("vendor", "cannot encode JSON");
			goto out;
		}
		putchar('\n');
	}
	if (fflush(stdout) != 0) {
		cmd_error("vendor", "cannot write the list");
		goto out;
	}
	rc = CMD_OK;
out:
	json_decref(c.arr);
	store_close(s);
	return rc;
}

int
cmd_vendor(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "auto-register", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	int c, json = 0, auto_register = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'a': auto_register = 1; break;
		case 'j': json = 1; break;
		case 'h':
			vendor_usage(stdout);
			return CMD_OK;
		default:
			vendor_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind < argc && strcmp(argv[optind], "add") == 0 && optind + 2 == argc && !json)
		return vendor_cmd_add(cmd_dir(dir), argv[optind + 1], auto_register);
	if (optind < argc && strcmp(argv[optind], "list") == 0 && optind + 1 == argc &&
	    !auto_register)
		return vendor_cmd_list(cmd_dir(dir), json);
	vendor_usage(stderr);
	return CMD_USAGE;
}
