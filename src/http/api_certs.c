/*
 * api_certs.c - the administrator's inventory: GET /api/v1/certificates
 * (searched, filtered, sorted, paged), GET /api/v1/certificates/{serial},
 * POST /api/v1/certificates/{serial}/revoke, POST
 * /api/v1/devices/{device}/revoke, GET /api/v1/audit and GET
 * /api/v1/overview. The router has checked the session (and, for the
 * revocation, the CSRF token) before any of these runs; every bound and
 * every decision is admin.c's: this file reads HTTP and writes HTTP.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http/api.h"
#include "daemon/admin.h"
#include "http/app.h"

/* GET /api/v1/certificates[?q=][&status=][&sort=][&order=][&limit=][&cursor=] */
enum MHD_Result
api_certs_list(struct http_req *r)
{
	const char *q, *status, *sort, *order, *limit, *cursor;
	struct admin_cert_list l;
	struct lerr e;
	json_t *page;

	lerr_clear(&e);
	if (admin_query(r, "q", &q, &e) != 0 || admin_query(r, "status", &status, &e) != 0 ||
	    admin_query(r, "sort", &sort, &e) != 0 || admin_query(r, "order", &order, &e) != 0 ||
	    admin_query(r, "limit", &limit, &e) != 0 ||
	    admin_query(r, "cursor", &cursor, &e) != 0 ||
	    admin_cert_list_text(q, status, sort, order, limit, cursor, &l, &e) != 0 ||
	    admin_cert_list_json(r->app->store, &l, &page, &e) != 0)
		return http_reply_lerr(r, &e);
	return http_reply_json(r, 200, page);
}

/* GET /api/v1/certificates/{serial} */
enum MHD_Result
api_cert_get(struct http_req *r)
{
	struct lerr e;
	json_t *cert;

	lerr_clear(&e);
	if (admin_cert_get_json(r->app->store, http_param(r, "serial"), &cert, &e) != 0)
		return http_reply_lerr(r, &e);
	return http_reply_json(r, 200, cert);
}

/* A revocation of target from an optional body {"reason": RFC 5280's
 * word, "comment": text}. A "reason" that is not one of the words is
 * refused (400): before issue 11 it was the admin's free text, which is
 * now the "comment". */
static enum MHD_Result
api_revoke(struct http_req *r, const char *target)
{
	const char *reason = NULL, *comment = NULL;
	char actor[16 + HTTP_USER_MAX];
	struct admin_revoke_req rq;
	enum MHD_Result ret;
	json_t *body = NULL, *out = NULL;
	struct lerr e;

	lerr_clear(&e);
	if (admin_json_body(r, &body, &ret) != 0)
		return ret;
	if (admin_body_reason(r, body, &reason, &ret) != 0 ||
	    admin_body_text(r, body, "comment", &comment, &ret) != 0)
		goto out;
	snprintf(actor, sizeof(actor), "admin %s", r->user);
	if (admin_revoke_parse(target, reason, comment, &rq, &e) != 0 ||
	    admin_revoke(r->app->store, r->app->revocation, &rq, actor, &out, &e) != 0)
		ret = http_reply_lerr(r, &e);
	else
		ret = http_reply_json(r, 200, out);
out:
	json_decref(body);
	return ret;
}

/* POST /api/v1/certificates/{serial}/revoke: that certificate (or, as
 * lanca revoke, the device of that id when no certificate has it). */
enum MHD_Result
api_cert_revoke(struct http_req *r)
{
	return api_revoke(r, http_param(r, "serial"));
}

/* POST /api/v1/devices/{device}/revoke: every valid certificate of the
 * device. */
enum MHD_Result
api_device_revoke(struct http_req *r)
{
	return api_revoke(r, http_param(r, "device"));
}

/* GET /api/v1/audit[?event=][&device=][&limit=][&cursor=] */
enum MHD_Result
api_audit_list(struct http_req *r)
{
	const char *event, *device, *limit, *cursor;
	struct admin_audit_list l;
	struct lerr e;
	json_t *page;

	lerr_clear(&e);
	if (admin_query(r, "event", &event, &e) != 0 ||
	    admin_query(r, "device", &device, &e) != 0 ||
	    admin_query(r, "limit", &limit, &e) != 0 ||
	    admin_query(r, "cursor", &cursor, &e) != 0 ||
	    admin_audit_list_text(event, device, limit, cursor, &l, &e) != 0 ||
	    admin_audit_json(r->app->store, &l, &page, &e) != 0)
		return http_reply_lerr(r, &e);
	return http_reply_json(r, 200, page);
}

/* GET /api/v1/overview */
enum MHD_Result
api_overview(struct http_req *r)
{
	struct lerr e;
	json_t *o;

	lerr_clear(&e);
	if (admin_overview_json(r->app->store, (int64_t)time(NULL), &o, &e) != 0)
		return http_reply_lerr(r, &e);
	return http_reply_json(r, 200, o);
}
