/*
 * api_status.c - GET /api/v1/status: the CA hierarchy's identity and the
 * onboarding window's state, for the web page and for scripts (see api.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

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

enum MHD_Result
api_status(struct http_req *r)
{
	const struct ca_set *ca = &r->app->ca;
	json_t *root, *issuing;

	root = api_status_ca(ca->root_subject, ca->root_fp, ca->root_not_before,
			     ca->root_not_after);
	issuing = api_status_ca(ca->issuing_subject, ca->issuing_fp, ca->issuing_not_before,
				ca->issuing_not_after);
	if (root == NULL || issuing == NULL) {
		json_decref(root);
		json_decref(issuing);
		return http_reply_error(r, LERR_INTERNAL, "cannot encode the CA status");
	}
	/* "o" steals root, issuing and the window, also when json_pack fails. */
	return http_reply_json(r, MHD_HTTP_OK,
		json_pack("{s:s, s:o, s:o, s:o}", "version", PACKAGE_VERSION,
			  "root", root, "issuing", issuing,
			  "window", r->app->enroll != NULL ? enroll_window_json(r->app->enroll) :
				    json_pack("{s:s}", "state", "closed")));
}
