/*
 * cmd_audit.c - `lanca audit`: the audit log, newest first, and `lanca
 * audit verify`: every link of its hash chain and every signed
 * checkpoint (auditlog.h). Both read the store directly, read-only: the
 * store is WAL, so they run beside a daemon as well as without one.
 */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "daemon/admin.h"
#include "daemon/auditlog.h"
#include "daemon/state.h"
#include "signer/files.h"
#include "store/store.h"

#define AUDIT_PAGE	500
#define AUDIT_KEYS_MAX	16	/* --key values: a site's gateways */

static void
audit_usage(FILE *f)
{
	fprintf(f, "usage: lanca audit [--dir DIR] [--since T] [--action A] [--json]\n"
		   "       lanca audit verify [--dir DIR] [--key FILE]...\n"
		   "T is Unix seconds or an RFC 3339 date or time (2026-12-01, "
		   "2026-12-01T10:00:00Z).\n"
		   "verify checks the checkpoints with DIR/keys/audit.pub, or with each --key\n"
		   "given: on a site whose gateways share a store, every gateway's audit.pub.\n");
}

/* Digits of s[0..n) as a number into *v. */
static int
audit_digits(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/*
 * Parses T: Unix seconds, or RFC 3339's full-date ("2026-12-01", midnight
 * UTC) or date-time ("2026-12-01T10:00:00Z", "...T10:00:00.5+02:00"). 0,
 * or -1 with e naming what is wrong.
 */
static int
audit_parse_time(const char *t, int64_t *out, struct lerr *e)
{
	int y, mo, d, h = 0, mi = 0, se = 0, oh = 0, om = 0, sign = 0;
	const char *p;
	struct tm tm, chk;
	time_t v;
	char *end;
	long long n;

	if (t[0] != '\0' && strspn(t, "0123456789") == strlen(t)) {
		n = strtoll(t, &end, 10);
		if (*end != '\0' || n < 0 || n >= INT64_MAX / 2 || strlen(t) > 18)
			goto bad;
		*out = n;
		return 0;
	}
	if (strlen(t) < 10 || audit_digits(t, 4, &y) != 0 || t[4] != '-' ||
	    audit_digits(t + 5, 2, &mo) != 0 || t[7] != '-' || audit_digits(t + 8, 2, &d) != 0)
		goto bad;
	p = t + 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if (strlen(p) < 9 || audit_digits(p + 1, 2, &h) != 0 || p[3] != ':' ||
		    audit_digits(p + 4, 2, &mi) != 0 || p[6] != ':' ||
		    audit_digits(p + 7, 2, &se) != 0)
			goto bad;
		p += 9;
		if (*p == '.') {
			if (!isdigit((unsigned char)p[1]))
				goto bad;
			for (p++; isdigit((unsigned char)*p); p++)
				;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p == '-' ? -1 : 1;
			if (strlen(p) != 6 || audit_digits(p + 1, 2, &oh) != 0 || p[3] != ':' ||
			    audit_digits(p + 4, 2, &om) != 0 || oh > 23 || om > 59)
				goto bad;
			p += 6;
		} else {
			goto bad;
		}
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		goto bad;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se > 59 ? 59 : se;
	v = timegm(&tm);
	/* timegm carries 2026-02-30 into March: a date that is not one. */
	if (v == (time_t)-1 || gmtime_r(&v, &chk) == NULL || chk.tm_mday != d ||
	    chk.tm_mon != mo - 1)
		goto bad;
	*out = (int64_t)v - (int64_t)sign * (oh * 3600 + om * 60);
	return 0;
bad:
	return lerr_set(e, LERR_BAD_REQUEST, "--since %s is not a time: give Unix seconds or "
			"an RFC 3339 date or time (2026-12-01, 2026-12-01T10:00:00Z)", t);
}

/* "2026-12-06T01:54:04Z" for t. */
static void
audit_time_str(int64_t t, char out[32])
{
	time_t v = (time_t)t;
	struct tm tm;

	if (gmtime_r(&v, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

struct audit_list {
	int64_t since;
	int json, stop;
	json_t *rows;			/* --json: every row shown */
	size_t n;
};

static int
audit_row(const struct store_audit_row *r, void *arg)
{
	struct audit_list *l = arg;
	char when[32];
	json_t *j;

	/* Rows come newest first; their times follow their order. */
	if (r->at < l->since) {
		l->stop = 1;
		return 1;
	}
	l->n++;
	if (l->json) {
		j = admin_audit_row_json(r);
		return j == NULL || json_array_append_new(l->rows, j) != 0 ? -1 : 0;
	}
	audit_time_str(r->at, when);
	printf("%-8lld  %-20s  %-24s  %-20s  %-24s  %s\n", (long long)r->id, when, r->actor,
	       r->event, r->subject != NULL ? r->subject : "-", r->detail != NULL ? r->detail : "");
	return 0;
}

/* Opens the store of dir read-only for cmd. NULL after saying why. */
static struct store *
audit_open(const char *cmd, const char *dir)
{
	struct store *s = NULL;
	struct lerr e;

	if (state_store_open(dir, STORE_READONLY, &s, &e) != 0) {
		cmd_error(cmd, "%s", e.msg);
		return NULL;
	}
	return s;
}

static int
audit_verify(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *keys[AUDIT_KEYS_MAX];
	char path[STATE_PATH_MAX], when[32];
	unsigned char pks[AUDIT_KEYS_MAX][32];
	size_t nkeys = 0, i;
	struct auditlog_report r;
	struct store *s = NULL;
	struct lerr e;
	int c, rc = CMD_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'k':
			if (nkeys == AUDIT_KEYS_MAX) {
				cmd_error("audit verify", "at most %d --key values", AUDIT_KEYS_MAX);
				return CMD_USAGE;
			}
			keys[nkeys++] = optarg;
			break;
		case 'h':
			audit_usage(stdout);
			return CMD_OK;
		default:
			audit_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		audit_usage(stderr);
		return CMD_USAGE;
	}
	dir = cmd_dir(dir);
	if (nkeys == 0) {
		if (state_path(path, dir, SIGNER_AUDIT_PUB) != 0) {
			cmd_error("audit verify", "state directory path too long");
			return CMD_FAILED;
		}
		keys[nkeys++] = path;
	}
	for (i = 0; i < nkeys; i++) {
		if (auditlog_read_pub(keys[i], pks[i], &e) != 0) {
			cmd_error("audit verify", "the audit key: %s", e.msg);
			return CMD_FAILED;
		}
	}
	if ((s = audit_open("audit verify", dir)) == NULL)
		return CMD_FAILED;
	if (auditlog_verify_keys(s, (const unsigned char (*)[32])pks, nkeys, &r, &e) != 0) {
		cmd_error("audit verify", "%s", e.msg);
		goto out;
	}
	if (!r.ok) {
		cmd_error("audit verify", "BROKEN at row %lld: %s", (long long)r.broken_row, r.why);
		goto out;
	}
	printf("OK: %lld rows, %lld checkpoints", (long long)r.rows, (long long)r.checkpoints);
	if (r.checked_row > 0) {
		audit_time_str(r.checked_at, when);
		printf(", rows up to %lld checkpointed (signed %s)", (long long)r.checked_row, when);
	}
	printf("\n");
	if (r.last_row > r.checked_row)
		printf("not yet checkpointed: rows %lld to %lld (the chain holds; no signature "
		       "covers them yet)\n", (long long)(r.checked_row + 1), (long long)r.last_row);
	rc = CMD_OK;
out:
	store_close(s);
	return rc;
}

int
cmd_audit(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "since", required_argument, NULL, 's' },
		{ "action", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *action = NULL;
	struct audit_list l;
	struct store_page pg;
	struct store *s = NULL;
	struct lerr e;
	size_t i;
	int c, rc = CMD_FAILED;

	if (argc > 1 && strcmp(argv[1], "verify") == 0)
		return audit_verify(argc - 1, argv + 1);
	memset(&l, 0, sizeof(l));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 's':
			if (audit_parse_time(optarg, &l.since, &e) != 0) {
				cmd_error("audit", "%s", e.msg);
				return CMD_USAGE;
			}
			break;
		case 'a':
			if (!auditlog_event_known(optarg)) {
				fprintf(stderr, "lanca audit: --action %s is not an action; the actions "
					"are:", optarg);
				for (i = 0; auditlog_event(i) != NULL; i++)
					fprintf(stderr, " %s", auditlog_event(i));
				fprintf(stderr, "\n");
				return CMD_USAGE;
			}
			action = optarg;
			break;
		case 'j': l.json = 1; break;
		case 'h':
			audit_usage(stdout);
			return CMD_OK;
		default:
			audit_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		cmd_error("audit", "unexpected argument %s", argv[optind]);
		audit_usage(stderr);
		return CMD_USAGE;
	}
	if ((s = audit_open("audit", cmd_dir(dir))) == NULL)
		return CMD_FAILED;
	if (l.json && (l.rows = json_array()) == NULL) {
		cmd_error("audit", "out of memory");
		goto out;
	}
	if (!l.json)
		printf("%-8s  %-20s  %-24s  %-20s  %-24s  %s\n", "ID", "TIME", "ACTOR", "ACTION",
		       "SUBJECT", "DETAIL");
	/* A page at a time from the store, until the rows are older than
	 * --since or run out. */
	memset(&pg, 0, sizeof(pg));
	pg.limit = AUDIT_PAGE;
	do {
		if (store_audit_find(s, action, NULL, &pg, audit_row, &l, &e) != 0) {
			cmd_error("audit", "%s", e.msg);
			goto out;
		}
		pg.after = pg.next;
	} while (pg.next != 0 && !l.stop);
	if (l.json) {
		if (json_dumpf(l.rows, stdout, JSON_INDENT(2)) != 0) {
			cmd_error("audit", "cannot encode JSON");
			goto out;
		}
		putchar('\n');
	}
	rc = CMD_OK;
out:
	json_decref(l.rows);
	store_close(s);
	return rc;
}
