/*
 * cmd_status.c - `lanca status`: the CAs, fingerprints, dates and the
 * warning of one near its end (caexpiry.c), counts.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "ca/keystore.h"
#include "common/fileio.h"
#include "common/p11key.h"
#include "daemon/backuproot.h"
#include "daemon/backupsched.h"
#include "daemon/caexpiry.h"
#include "daemon/trustbundle.h"
#include "daemon/state.h"
#include "daemon/window.h"
#include "signer/files.h"
#include "store/store.h"

/* RFC 3339 UTC. */
static const char *
status_time(time_t t, char *out, size_t n)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "?");
	return out;
}

/* A CA, with its days left and its warning (null when not near its end). */
static json_t *
status_ca_json(const char *subject, const char *fp, const char *fp_colon, time_t nb, time_t na,
	       const struct caexpiry *x)
{
	char a[32], b[32], warning[CAEXPIRY_TEXT_MAX];

	caexpiry_text(x, warning);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s?}", "subject", subject, "sha256", fp,
			 "sha256_colon", fp_colon,
			 "not_before", status_time(nb, a, sizeof(a)),
			 "not_after", status_time(na, b, sizeof(b)),
			 "days_left", (json_int_t)(x->left > 0 ? x->left / 86400 : 0),
			 "warning", x->warn ? warning : NULL);
}

/* The warning line under a CA, when it is near its end. */
static void
status_ca_warning(const struct caexpiry *x)
{
	char warning[CAEXPIRY_TEXT_MAX];

	if (!x->warn)
		return;
	caexpiry_text(x, warning);
	printf("  WARNING:       %s\n", warning);
}

/* The state of a recorded window; closed when it names none. */
static enum window_state
status_window_state(json_t *w)
{
	enum window_state st;

	if (window_state_parse(json_string_value(json_object_get(w, "state")), &st) != 0)
		return WINDOW_CLOSED;
	return st;
}

/* The window as the daemon last recorded it, brought up to now: an open
 * window whose time ran out is closed. A new reference; never NULL. */
static json_t *
status_window(struct store *s, time_t now)
{
	json_error_t je;
	struct lerr e;
	char *text = NULL;
	json_t *w = NULL;
	json_int_t ends;

	if (store_setting_get(s, "window", &text, &e) == 0)
		w = json_loads(text, 0, &je);
	free(text);
	if (!json_is_object(w)) {
		json_decref(w);
		return json_pack("{s:s}", "state", "closed");
	}
	ends = json_integer_value(json_object_get(w, "ends_at"));
	if (status_window_state(w) == WINDOW_OPEN) {
		if (ends <= now) {
			json_object_set_new(w, "state", json_string(window_state_name(WINDOW_CLOSED)));
			json_object_set_new(w, "seconds_left", json_integer(0));
		} else {
			json_object_set_new(w, "seconds_left", json_integer(ends - now));
		}
	}
	return w;
}

/* One line for people. */
static void
status_window_text(json_t *w, time_t now)
{
	enum window_state state = status_window_state(w);
	char when[32];

	if (state == WINDOW_OPEN) {
		printf("window:          open, %lld s left, %lld of %lld device(s) admitted\n",
		       (long long)json_integer_value(json_object_get(w, "seconds_left")),
		       (long long)json_integer_value(json_object_get(w, "admitted")),
		       (long long)json_integer_value(json_object_get(w, "count")));
	} else if (state == WINDOW_OVERLAP) {
		printf("window:          overlap since %s: %lld devices asked; an admin must decide\n",
		       status_time((time_t)json_integer_value(json_object_get(w, "overlap_since")),
				   when, sizeof(when)),
		       (long long)json_integer_value(json_object_get(w, "overlap_keys")));
	} else {
		printf("window:          closed%s\n",
		       json_is_true(json_object_get(w, "contested")) ?
		       " (the last admission was contested: check the audit log)" : "");
	}
	(void)now;
}

/* {"state", "subject", "sha256", "warning"} for the backup root. */
static json_t *
status_backup_json(enum backuproot_state st, const struct trust_entry *t)
{
	return json_pack("{s:s, s:s?, s:s?, s:s?}", "state", backuproot_state_name(st),
			 "subject", t != NULL ? t->subject : NULL, "sha256", t != NULL ? t->fp : NULL,
			 "warning", backuproot_warning(st));
}

/* What serve's scheduled backups last did (the store's setting, as
 * backupsched.c writes it), or JSON null when serve never made any. */
static json_t *
status_backups(struct store *s)
{
	char *text = NULL;
	json_t *j = NULL;
	struct lerr e;

	if (store_setting_get(s, BACKUPSCHED_SETTING, &text, &e) == 0 && text != NULL)
		j = json_loads(text, 0, NULL);
	free(text);
	return j != NULL ? j : json_null();
}

/* Its lines for people; takes j. */
static void
status_backups_text(json_t *j)
{
	json_int_t ok, bad, next, bytes;
	const char *file, *why;
	char a[32];

	if (!json_is_object(j)) {
		printf("scheduled backups: none (lanca serve --backup-dir)\n");
		json_decref(j);
		return;
	}
	/* Times are null until they happen: 0 here. */
	ok = json_integer_value(json_object_get(j, "last_success"));
	bad = json_integer_value(json_object_get(j, "last_failure"));
	next = json_integer_value(json_object_get(j, "next"));
	bytes = json_integer_value(json_object_get(j, "bytes"));
	file = json_string_value(json_object_get(j, "file"));
	why = json_string_value(json_object_get(j, "error"));
	if (file == NULL)
		file = "?";
	if (why == NULL)
		why = "?";
	if (ok != 0)
		printf("last backup:     %s, %s (%lld bytes)\n", status_time((time_t)ok, a, sizeof(a)),
		       file, (long long)bytes);
	else
		printf("last backup:     none yet\n");
	if (bad > ok)
		printf("  WARNING:       scheduled backups are failing since %s: %s\n",
		       status_time((time_t)bad, a, sizeof(a)), why);
	if (next != 0)
		printf("  next due:      %s (while lanca serve runs)\n",
		       status_time((time_t)next, a, sizeof(a)));
	json_decref(j);
}

/* Where dir's key rel (keys/root.key, keys/issuing.key) is, into url
 * for a token's: -1 when it cannot be read here (not root: keys/ is
 * root's), else its keystore_kind. The bytes are read into locked
 * memory and wiped. */
static int
status_key_kind(const char *dir, const char *rel, char url[P11KEY_URL_MAX])
{
	char path[STATE_PATH_MAX];
	unsigned char *data = NULL;
	size_t len = 0;
	struct lerr e;
	int k;

	url[0] = '\0';
	if (state_path(path, dir, rel) != 0 || fileio_read(path, 64 * 1024, 1, &data, &len, &e) != 0)
		return -1;
	k = (int)keystore_kind(data, len, url);
	fileio_free_secret(data, len);
	return k;
}

/* The key's line of the text report, and its member of the JSON one
 * (into ca_json, when not NULL). */
static void
status_key(const char *dir, const char *rel, json_t *ca_json)
{
	char url[P11KEY_URL_MAX];
	int k = status_key_kind(dir, rel, url);

	if (k < 0)
		return;
	if (ca_json != NULL) {
		json_object_set_new(ca_json, "key", json_pack("{s:s, s:s*}", "storage",
			k == KEYSTORE_KIND_TOKEN ? "pkcs11" : k == KEYSTORE_KIND_ENCRYPTED ?
			"encrypted" : "file", "url", url[0] != '\0' ? url : NULL));
		return;
	}
	printf("  key:           %s%s%s\n", keystore_kind_name((enum keystore_kind)k),
	       url[0] != '\0' ? " " : "", url);
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
	char a[32], b[32], store[STATE_PATH_MAX + 16];
	const char *dir = NULL;
	struct store *s = NULL;
	struct caexpiry x[CAEXPIRY_CAS];
	struct ca_set ca;
	struct trust_bundle tb;
	const struct trust_entry *backup, *next;
	enum backuproot_state bst = BACKUPROOT_NONE;
	struct lerr e;
	int64_t count = 0;
	json_t *j = NULL, *w;
	int c, json = 0, rc = CMD_FAILED;

	memset(&ca, 0, sizeof(ca));
	memset(&tb, 0, sizeof(tb));
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
	if (state_store_describe(dir, store, sizeof(store), &e) != 0 ||
	    state_store_open(dir, STORE_READONLY, &s, &e) != 0 ||
	    ca_set_load(s, &ca, &e) != 0 || store_cert_count(s, &count, &e) != 0 ||
	    backuproot_state(s, &bst, NULL, &e) != 0 || trustbundle_load(s, &tb, &e) != 0) {
		cmd_error("status", "%s", e.msg);
		goto out;
	}
	backup = trustbundle_find(&tb, TRUST_BACKUP);
	next = trustbundle_find(&tb, TRUST_NEXT);
	caexpiry_check(&ca, (int64_t)time(NULL), x);
	if (json) {
		j = json_pack("{s:s, s:s, s:o, s:o, s:I, s:o}", "version", PACKAGE_VERSION, "dir", dir,
			      "root", status_ca_json(ca.root_subject, ca.root_fp, ca.root_fp_colon,
						     ca.root_not_before, ca.root_not_after, &x[0]),
			      "issuing", status_ca_json(ca.issuing_subject, ca.issuing_fp, ca.issuing_fp_colon,
							ca.issuing_not_before, ca.issuing_not_after,
							&x[1]),
			      "certificates", (json_int_t)count, "window", status_window(s, time(NULL)));
		if (j != NULL) {
			/* During a rollover keys/root.key is the next root's. */
			status_key(dir, next != NULL ? SIGNER_KEYS_DIR "/" SIGNER_PREV_ROOT_KEY_NAME :
				   SIGNER_ROOT_KEY, json_object_get(j, "root"));
			status_key(dir, SIGNER_ISSUING_KEY, json_object_get(j, "issuing"));
		}
		if (j != NULL)
			json_object_set_new(j, "store", json_string(store));
		if (j != NULL)
			json_object_set_new(j, "backup_root", status_backup_json(bst, backup));
		if (j != NULL)
			json_object_set_new(j, "scheduled_backups", status_backups(s));
		if (j != NULL && next != NULL) {
			json_object_set_new(j, "next_root", json_pack("{s:s, s:s}", "subject",
								      next->subject, "sha256",
								      next->fp));
			status_key(dir, SIGNER_ROOT_KEY, json_object_get(j, "next_root"));
		}
		if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2)) != 0) {
			cmd_error("status", "cannot encode JSON");
			goto out;
		}
		putchar('\n');
	} else {
		printf("state directory: %s\n", dir);
		printf("store:           %s\n", store);
		printf("root CA:         %s\n", ca.root_subject);
		printf("  SHA-256:       %s\n", ca.root_fp_colon);
		printf("  valid:         %s to %s\n", status_time(ca.root_not_before, a, sizeof(a)),
		       status_time(ca.root_not_after, b, sizeof(b)));
		status_key(dir, next != NULL ? SIGNER_KEYS_DIR "/" SIGNER_PREV_ROOT_KEY_NAME :
			   SIGNER_ROOT_KEY, NULL);
		status_ca_warning(&x[0]);
		if (backup != NULL) {
			printf("backup root:     %s\n", backup->subject);
			printf("  SHA-256:       %s\n", backup->fp_colon);
		} else {
			printf("backup root:     none\n");
		}
		if (backuproot_warning(bst) != NULL)
			printf("  WARNING:       %s\n", backuproot_warning(bst));
		if (next != NULL) {
			printf("next root:       %s (a rollover is under way: `lanca rollover status`)\n",
			       next->subject);
			printf("  SHA-256:       %s\n", next->fp_colon);
			status_key(dir, SIGNER_ROOT_KEY, NULL);
		}
		printf("issuing CA:      %s\n", ca.issuing_subject);
		printf("  SHA-256:       %s\n", ca.issuing_fp_colon);
		printf("  valid:         %s to %s\n", status_time(ca.issuing_not_before, a, sizeof(a)),
		       status_time(ca.issuing_not_after, b, sizeof(b)));
		status_key(dir, SIGNER_ISSUING_KEY, NULL);
		status_ca_warning(&x[1]);
		printf("certificates:    %lld\n", (long long)count);
		status_backups_text(status_backups(s));
		w = status_window(s, time(NULL));
		status_window_text(w, time(NULL));
		json_decref(w);
	}
	rc = CMD_OK;
out:
	json_decref(j);
	trustbundle_free(&tb);
	ca_set_free(&ca);
	store_close(s);
	return rc;
}
