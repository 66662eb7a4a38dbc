/*
 * api_policy.c - GET /policy/{format}/{file}: one enterprise policy file of
 * the current trust bundle, the same bytes `lanca export policy` writes
 * (daemon/policyfiles.h), for an IT department that takes them from the
 * onboarding page. Public like the roots themselves, on both ports; the
 * signed Apple profile stays with the shell (`--sign` issues a
 * certificate).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "daemon/policyfiles.h"
#include "http/api.h"
#include "http/app.h"

/* What a browser should do with each kind of file, by its name's end. */
static const struct {
	const char *suffix, *type;
} api_policy_types[] = {
	{ ".json", "application/json" },
	{ ".onc", "application/json" },
	{ ".mobileconfig", "application/x-apple-aspen-config" },
	{ ".p12", "application/x-pkcs12" },
	{ ".sh", "text/x-shellscript; charset=utf-8" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".ps1", "text/plain; charset=utf-8" },
	{ ".crt", "application/x-x509-ca-cert" },
};

static const char *
api_policy_type(const char *name)
{
	size_t i, n = strlen(name), k;

	for (i = 0; i < sizeof(api_policy_types) / sizeof(api_policy_types[0]); i++) {
		k = strlen(api_policy_types[i].suffix);
		if (n > k && strcmp(name + n - k, api_policy_types[i].suffix) == 0)
			return api_policy_types[i].type;
	}
	return "application/octet-stream";	/* .reg, .pol */
}

enum MHD_Result
api_policy_file(struct http_req *r)
{
	struct rollout_file files[ROLLOUT_FILES_MAX];
	const struct rollout_format *f = rollout_find(http_param(r, "format"));
	const char *name = http_param(r, "file");
	char disp[128];
	enum MHD_Result ret;
	struct lerr e;
	size_t n = 0, i;

	if (f == NULL)
		return http_reply_error(r, LERR_NOT_FOUND, "no policy format \"%s\": see "
					"lanca export policy --help", http_param(r, "format"));
	memset(files, 0, sizeof(files));
	lerr_clear(&e);
	if (policyfiles_make(r->app->store, f, NULL, files, ROLLOUT_FILES_MAX, &n, &e) != 0) {
		rollout_files_free(files, n);
		return http_reply_lerr(r, &e);
	}
	for (i = 0; i < n && strcmp(files[i].name, name) != 0; i++)
		;
	if (i == n) {
		ret = http_reply_error(r, LERR_NOT_FOUND, "the %s policy has no file \"%s\"",
				       f->name, name);
	} else if (snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", files[i].name) >=
			   (int)sizeof(disp) ||
		   http_req_add_header(r, "Content-Disposition", disp) != 0 ||
		   http_req_add_header(r, "Cache-Control", "no-cache") != 0) {
		ret = http_reply_error(r, LERR_INTERNAL, "cannot add the download's headers");
	} else {
		ret = http_reply(r, MHD_HTTP_OK, api_policy_type(files[i].name),
				 files[i].data.data, files[i].data.size);
	}
	rollout_files_free(files, n);
	return ret;
}
