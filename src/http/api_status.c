/*
 * api_status.c - GET /api/v1/status: the CA hierarchy's identity and the
 * onboarding window's state, for the web page and for scripts (see api.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/backuproot.h"
#include "daemon/trustbundle.h"
#include "daemon/backupsched.h"
#include "http/api.h"
#include "daemon/enroll.h"

/* RFC 3339 UTC ("2025-01-31T12:00:00Z") into out; "" if t is unusable. */
static void
api_status_time(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

/* {"subject","sha256","not_before","not_after"} for one CA; NULL on error. */
static json_t *
api_status_ca(const char *subject, const char *fp, time_t nb, time_t na)
{
	char snb[32], sna[32];

	api_status_time(nb, snb);
	api_status_time(na, sna);
	return json_pack("{s:s, s:s, s:s, s:s}", "subject", subject, "sha256", fp,
			 "not_before", snb, "not_after", sna);
}

/* {"state", "sha256", "warning"} for the backup root, read now: it can be
 * made or confirmed while the daemon runs; null without a store. NULL on
 * error. */
static json_t *
api_status_backup(struct http_req *r)
{
	enum backuproot_state st;
	struct trust_bundle b;
	const struct trust_entry *t;
	struct lerr e;
	json_t *j = NULL;

	memset(&b, 0, sizeof(b));
	lerr_clear(&e);
	/* A server without a store (the test harness) knows of none. */
	if (r->app->store == NULL)
		return json_null();
	if (backuproot_state(r->app->store, &st, NULL, &e) == 0 &&
	    trustbundle_load(r->app->store, &b, &e) == 0) {
		t = trustbundle_find(&b, TRUST_BACKUP);
		j = json_pack("{s:s, s:s?, s:s?}", "state", backuproot_state_name(st),
			      "sha256", t != NULL ? t->fp : NULL, "warning", backuproot_warning(st));
	}
	trustbundle_free(&b);
	return j;
}

enum MHD_Result
api_status(struct http_req *r)
{
	const struct ca_set *ca = &r->app->ca;
	json_t *root, *issuing, *backup;

	root = api_status_ca(ca->root_subject, ca->root_fp, ca->root_not_before,
			     ca->root_not_after);
	issuing = api_status_ca(ca->issuing_subject, ca->issuing_fp, ca->issuing_not_before,
				ca->issuing_not_after);
	backup = api_status_backup(r);
	if (root == NULL || issuing == NULL || backup == NULL) {
		json_decref(root);
		json_decref(issuing);
		json_decref(backup);
		return http_reply_error(r, LERR_INTERNAL, "cannot encode the CA status");
	}
	/* "o" steals root, issuing, backup, the window and the scheduled
	 * backups (without their files' names and reasons: this is public),
	 * also when json_pack fails. */
	return http_reply_json(r, MHD_HTTP_OK,
		json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "version", PACKAGE_VERSION,
			  "root", root, "issuing", issuing, "backup_root", backup,
			  "window", r->app->enroll != NULL ? enroll_window_json(r->app->enroll) :
				    json_pack("{s:s}", "state", "closed"),
			  "scheduled_backups", r->app->backups != NULL ?
				    backupsched_json(r->app->backups, 1) : json_null()));
}
