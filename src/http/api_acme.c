/*
 * api_acme.c - the administrator's view of the ACME door's accounts: GET
 * /api/v1/acme/accounts[?approved=WORD] and POST
 * /api/v1/acme/accounts/{id}/approve, so that an admin who never opens a
 * shell can let a waiting account order (docs/acme.md, "Accounts"). The
 * router has checked the session (and, for the approval, the CSRF token)
 * before either runs; the approval is daemon/acme.c's, as it is for
 * `lanca acme approve`: this file reads HTTP and writes HTTP.
 *
 * With the door off (`lanca serve --no-acme`, app->acme NULL) both answer
 * 404: there are no accounts to see or approve through this daemon.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "http/api.h"
#include "daemon/acme.h"
#include "http/app.h"

#define API_ACME_OFF	"the ACME door is off (lanca serve --no-acme)"

/* 1 if id may be an account id: STORE_ACME_ID_LEN base64url characters. */
static int
api_acme_id_ok(const char *id)
{
	size_t i;

	if (id == NULL || strlen(id) != STORE_ACME_ID_LEN)
		return 0;
	for (i = 0; i < STORE_ACME_ID_LEN; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* The approval named word ("waiting", "admin", "window", "eab": the words
 * acme_approval_str gives) into *out: 0, or -1 when it names none. */
static int
api_acme_approval_parse(const char *word, enum store_acme_approval *out)
{
	static const enum store_acme_approval all[] = {
		STORE_ACME_WAITING, STORE_ACME_BY_ADMIN, STORE_ACME_BY_WINDOW, STORE_ACME_BY_EAB,
	};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(word, acme_approval_str(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

struct api_acme_list {
	int filter;			/* only accounts approved as `approved` */
	enum store_acme_approval approved;
	json_t *items;
	int oom;
};

/* One account as the admin sees it. Its contact is the JSON array the
 * door checked when it was made; should it not parse, it is shown empty
 * rather than hiding the account. */
static int
api_acme_list_one(const struct store_acme_account *a, void *arg)
{
	struct api_acme_list *l = arg;
	json_t *contact, *item;

	if (l->filter && a->approved != l->approved)
		return 0;
	contact = a->contact != NULL ? json_loads(a->contact, 0, NULL) : NULL;
	if (!json_is_array(contact)) {
		json_decref(contact);
		contact = json_array();
	}
	item = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:I}", "id", a->id,
			 "status", acme_status_str(a->status),
			 "approved", acme_approval_str(a->approved), "contact", contact,
			 "thumbprint", a->thumbprint, "source", a->source,
			 "created_at", (json_int_t)a->created_at,
			 "approved_at", (json_int_t)a->approved_at);
	if (item == NULL || json_array_append_new(l->items, item) != 0) {
		l->oom = 1;
		return 1;
	}
	return 0;
}

/* GET /api/v1/acme/accounts[?approved=WORD]: every account, oldest first,
 * or those approved as WORD ("waiting" for the ones to decide). */
enum MHD_Result
api_acme_accounts(struct http_req *r)
{
	struct api_acme_list l = { 0, STORE_ACME_WAITING, NULL, 0 };
	const char *approved;
	struct lerr e;

	lerr_clear(&e);
	if (r->app->acme == NULL)
		return http_reply_error(r, LERR_NOT_FOUND, API_ACME_OFF);
	if (admin_query(r, "approved", &approved, &e) != 0)
		return http_reply_lerr(r, &e);
	if (approved != NULL) {
		if (api_acme_approval_parse(approved, &l.approved) != 0)
			return http_reply_error(r, LERR_BAD_REQUEST,
						"approved=%.40s is none of waiting, admin, "
						"window, eab", approved);
		l.filter = 1;
	}
	if ((l.items = json_array()) == NULL)
		return http_reply_error(r, LERR_INTERNAL, "out of memory");
	if (acme_account_each(r->app->acme, api_acme_list_one, &l, &e) != 0) {
		json_decref(l.items);
		return http_reply_lerr(r, &e);
	}
	if (l.oom) {
		json_decref(l.items);
		return http_reply_error(r, LERR_INTERNAL, "out of memory");
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "items", l.items));
}

/* POST /api/v1/acme/accounts/{id}/approve: a waiting account may order,
 * audited "acme-approve" by "admin USER". 404 for an unknown account, 409
 * for one approved already (however it was). */
enum MHD_Result
api_acme_approve(struct http_req *r)
{
	const char *id = http_param(r, "id");
	char actor[16 + HTTP_USER_MAX];
	struct lerr e;

	lerr_clear(&e);
	if (r->app->acme == NULL)
		return http_reply_error(r, LERR_NOT_FOUND, API_ACME_OFF);
	if (!api_acme_id_ok(id))
		return http_reply_error(r, LERR_BAD_REQUEST, "not an ACME account id: %d "
					"characters of A-Z, a-z, 0-9, - and _", STORE_ACME_ID_LEN);
	snprintf(actor, sizeof(actor), "admin %s", r->user);
	if (acme_account_approve(r->app->acme, id, actor, &e) != 0)
		return http_reply_lerr(r, &e);
	return http_reply_json(r, 200, json_pack("{s:s, s:s}", "id", id, "approved",
						 acme_approval_str(STORE_ACME_BY_ADMIN)));
}
