/*
 * api_admin.c - the administrator's door: POST /api/v1/login and
 * /api/v1/logout, api_admin_session() (the check the router makes before
 * every admin handler: routes.c's table names it), and the onboarding
 * actions POST /api/v1/press, GET
 * /api/v1/requests, POST /api/v1/requests/{id}/approve and .../deny.
 * Passwords and sessions are auth.c's, the failed-login counter is
 * ratelimit.c's and the actions are admin.c's: this file reads HTTP and
 * writes HTTP (see api.h).
 *
 * A session is a random 32-byte token held by the browser in an HttpOnly,
 * Secure, SameSite=Strict cookie; the store keeps only its SHA-256, so a
 * copy of the database does not log anybody in. State-changing requests
 * also carry the session's CSRF token in an X-CSRF-Token header (the page
 * got it in the login answer), and, when the browser sends one, an Origin
 * that is ours.
 *
 * Failed logins are counted per client address (ratelimit_fails_*): after
 * RATELIMIT_FAIL_MAX failures within RATELIMIT_FAIL_WINDOW seconds the
 * address is answered 429 with Retry-After, before any password work.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sodium.h>

#include "http/api.h"
#include "common/log.h"
#include "daemon/admin.h"
#include "daemon/auth.h"
#include "daemon/enroll.h"
#include "daemon/ratelimit.h"
#include "http/httpd.h"

#define ADMIN_COOKIE		"__Host-lanca_session"	/* Secure, Path=/, no Domain */
#define ADMIN_CSRF_HEADER	"X-CSRF-Token"
#define ADMIN_COOKIE_ATTRS	"; Path=/; Secure; HttpOnly; SameSite=Strict"

#define ADMIN_ADDR_MAX		INET6_ADDRSTRLEN

/* The client's address as text (httpd_client_addr), or "unknown". */
static void
admin_client_addr(const struct http_req *r, char out[ADMIN_ADDR_MAX])
{
	if (httpd_client_addr(r->conn, out, ADMIN_ADDR_MAX) != 0)
		snprintf(out, ADMIN_ADDR_MAX, "unknown");
}

/* The client's socket address for the failed-login counter; NULL when
 * libmicrohttpd has none (all such share one entry there). */
static const struct sockaddr *
admin_client_sa(const struct http_req *r)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return ci != NULL ? ci->client_addr : NULL;
}

/* "api ADDR", who acts in the audit log. */
static void
admin_actor(const char *addr, char out[16 + ADMIN_ADDR_MAX])
{
	snprintf(out, 16 + ADMIN_ADDR_MAX, "api %s", addr);
}

/* 1 if the request says its body is JSON ("application/json", any
 * parameters after ';'). */
static int
admin_is_json(const struct http_req *r)
{
	const char *ct;
	size_t n = strlen("application/json");

	ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* The session token the request's cookie carries, or NULL. */
static const char *
admin_cookie(const struct http_req *r)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, ADMIN_COOKIE);
}

/* RFC 3339 UTC, as the other answers write times. */
static void
admin_time(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "?");
}

/* Wipes a jansson string's bytes in place before the value is freed:
 * jansson frees without wiping, and this one held a password. */
static void
admin_wipe_json_string(json_t *s)
{
	if (s != NULL && json_is_string(s) && json_string_length(s) > 0)
		sodium_memzero((void *)(uintptr_t)json_string_value(s), json_string_length(s));
}

/* 1 if the request's Origin header is absent or names this server
 * ("https://HOST[:PORT]" as the request's Host gives it). */
static int
admin_origin_ok(const struct http_req *r)
{
	char own[320];
	const char *origin;

	origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	if (origin == NULL)
		return 1;
	if (http_https_url(r, "", own, sizeof(own)) != 0)
		return 0;
	/* Scheme and host compare without case; browsers send them lowercase. */
	return strcasecmp(origin, own) == 0;
}

/*
 * POST /api/v1/login: checks {"user", "password"} and on success opens a
 * session (cookie + CSRF token). The body and every copy of the password
 * we control are wiped before returning.
 */
enum MHD_Result
api_login(struct http_req *r)
{
	char addr[ADMIN_ADDR_MAX], actor[16 + ADMIN_ADDR_MAX];
	char cookie[192], when[32], retry[24];
	const struct sockaddr *sa = admin_client_sa(r);
	struct auth_session ses;
	json_t *j = NULL, *ju, *jp = NULL;
	json_error_t jerr;
	struct lerr e;
	enum MHD_Result ret;
	long wait;
	int w, attempting = 0;

	lerr_clear(&e);
	memset(&ses, 0, sizeof(ses));
	admin_client_addr(r, addr);
	admin_actor(addr, actor);
	if (!admin_is_json(r)) {
		ret = http_reply_error(r, LERR_MEDIA_TYPE,
				       "the body must be JSON (Content-Type: application/json)");
		goto out;
	}
	/* Another site's page must not log the browser in either (login
	 * CSRF); JSON bodies already need a CORS preflight, this is belt and
	 * braces. */
	if (!admin_origin_ok(r)) {
		ret = http_reply_error(r, LERR_FORBIDDEN,
				       "the request comes from another origin");
		goto out;
	}
	wait = ratelimit_fails_begin(r->app->login_fails, sa, (int64_t)ratelimit_now());
	if (wait > 0) {
		snprintf(retry, sizeof(retry), "%ld", wait);
		(void)http_req_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
		ret = http_reply_error(r, LERR_RATE_LIMITED,
				       "too many failed logins; try again in %ld s", wait);
		goto out;
	}
	attempting = 1;
	if (r->body.len > 0)
		j = json_loadb((const char *)r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
	/* The body held the password: wipe it now rather than at completion. */
	if (r->body.data != NULL)
		sodium_memzero(r->body.data, r->body.len);
	if (j == NULL || !json_is_object(j)) {
		ret = http_reply_error(r, LERR_BAD_REQUEST,
				       "the body must be a JSON object {\"user\", \"password\"}");
		goto out;
	}
	ju = json_object_get(j, "user");
	jp = json_object_get(j, "password");
	if (!json_is_string(ju) || !json_is_string(jp)) {
		ret = http_reply_error(r, LERR_BAD_REQUEST,
				       "\"user\" and \"password\" must be strings");
		goto out;
	}
	if (auth_login(r->app->store, json_string_value(ju), json_string_value(jp),
		       json_string_length(jp), actor, (int64_t)time(NULL), &ses, &e) != 0) {
		if (e.code != LERR_UNAUTHORIZED) {
			ret = http_reply_lerr(r, &e);
			goto out;
		}
		ratelimit_fails_note(r->app->login_fails, sa, (int64_t)ratelimit_now());
		attempting = 0;
		log_info("admin: failed login from %s", addr);
		ret = http_reply_lerr(r, &e);
		goto out;
	}
	ratelimit_fails_clear(r->app->login_fails, sa);
	attempting = 0;
	log_info("admin: %s logged in from %s", json_string_value(ju), addr);
	w = snprintf(cookie, sizeof(cookie), ADMIN_COOKIE "=%s" ADMIN_COOKIE_ATTRS "; Max-Age=%d",
		     ses.token, AUTH_SESSION_TTL);
	if (w < 0 || (size_t)w >= sizeof(cookie) ||
	    http_req_add_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie) != 0) {
		lerr_clear(&e);
		(void)auth_session_end(r->app->store, ses.token, NULL, NULL, &e);
		ret = http_reply_error(r, LERR_INTERNAL, "session cookie too long");
		goto out;
	}
	admin_time((time_t)ses.expires_at, when);
	ret = http_reply_json(r, 200, json_pack("{s:s, s:s, s:s}", "user", json_string_value(ju),
						"csrf", ses.csrf, "expires_at", when));
out:
	if (attempting)
		ratelimit_fails_end(r->app->login_fails, sa);
	admin_wipe_json_string(jp);
	json_decref(j);
	auth_session_wipe(&ses);
	sodium_memzero(cookie, sizeof(cookie));
	/* libmicrohttpd has its own copy of the cookie by now. */
	sodium_memzero(r->extra, sizeof(r->extra));
	return ret;
}

/* POST /api/v1/logout: ends the request's session and clears the cookie. */
enum MHD_Result
api_logout(struct http_req *r)
{
	char addr[ADMIN_ADDR_MAX], actor[16 + ADMIN_ADDR_MAX];
	struct lerr e;

	lerr_clear(&e);
	admin_client_addr(r, addr);
	admin_actor(addr, actor);
	if (auth_session_end(r->app->store, admin_cookie(r), actor, r->user, &e) != 0)
		return http_reply_lerr(r, &e);
	if (http_req_add_header(r, MHD_HTTP_HEADER_SET_COOKIE,
				ADMIN_COOKIE "=" ADMIN_COOKIE_ATTRS "; Max-Age=0") != 0)
		return http_reply_error(r, LERR_INTERNAL, "cannot clear the cookie");
	return http_reply_json(r, 200, json_object());
}

int
api_admin_session(struct http_req *r, unsigned auth, enum MHD_Result *reply)
{
	char csrf[AUTH_TOKEN_HEX + 1] = "";
	char *user = r->user;
	const char *sent;
	struct lerr e;
	int rc = -1;

	lerr_clear(&e);
	if (auth_session_get(r->app->store, admin_cookie(r), (int64_t)time(NULL), user, csrf,
			     &e) != 0) {
		*reply = http_reply_lerr(r, &e);
		goto out;
	}
	if (auth == HTTP_AUTH_ADMIN_CSRF) {
		if (!admin_origin_ok(r)) {
			*reply = http_reply_error(r, LERR_FORBIDDEN,
						  "the request comes from another origin");
			goto out;
		}
		sent = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, ADMIN_CSRF_HEADER);
		if (sent == NULL || csrf[0] == '\0' || !auth_equal(sent, csrf)) {
			*reply = http_reply_error(r, LERR_FORBIDDEN,
						  "missing or wrong CSRF token");
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		user[0] = '\0';
	sodium_memzero(csrf, sizeof(csrf));
	return rc;
}

/* ---- the onboarding actions: admin.c checks and acts ---- */

/* Reads an optional JSON object body (NULL when the body is empty). */
int
admin_json_body(struct http_req *r, json_t **out, enum MHD_Result *ret)
{
	json_error_t je;

	*out = NULL;
	if (r->body.len == 0)
		return 0;
	*out = json_loadb((const char *)r->body.data, r->body.len, 0, &je);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		*ret = http_reply_error(r, LERR_BAD_REQUEST, "the body must be a JSON object");
		return -1;
	}
	return 0;
}

enum MHD_Result
api_press(struct http_req *r)
{
	char actor[16 + HTTP_USER_MAX];
	struct admin_press p;
	enum MHD_Result ret;
	json_t *body = NULL, *window = NULL;
	struct lerr e;

	lerr_clear(&e);
	if (admin_json_body(r, &body, &ret) != 0)
		return ret;
	snprintf(actor, sizeof(actor), "admin %s", r->user);
	if (admin_press_parse(body, &p, &e) != 0 ||
	    admin_press(r->app->enroll, &p, actor, &window, &e) != 0)
		ret = http_reply_lerr(r, &e);
	else
		ret = http_reply_json(r, 200, json_pack("{s:o}", "window", window));
	json_decref(body);
	return ret;
}

/* Query argument key into *out (NULL when absent). 0, or -1 with e when
 * its value holds a NUL (%00), which would cut it short unseen. */
int
admin_query(const struct http_req *r, const char *key, const char **out, struct lerr *e)
{
	const char *v = NULL;
	size_t len = 0;

	*out = NULL;
	if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key),
					  &v, &len) != MHD_YES || v == NULL)
		return 0;
	if (strlen(v) != len)
		return lerr_set(e, LERR_BAD_REQUEST, "%s holds a NUL", key);
	*out = v;
	return 0;
}

/* GET /api/v1/requests[?state=STATE][&limit=N][&cursor=NEXT]: one page,
 * with "next" when another follows. */
enum MHD_Result
api_requests_list(struct http_req *r)
{
	const char *state, *limit, *cursor;
	struct admin_list l;
	struct lerr e;
	json_t *page;

	lerr_clear(&e);
	if (admin_query(r, "state", &state, &e) != 0 ||
	    admin_query(r, "limit", &limit, &e) != 0 ||
	    admin_query(r, "cursor", &cursor, &e) != 0 ||
	    admin_list_text(state, limit, cursor, &l, &e) != 0 ||
	    admin_list_json(r->app->store, &l, (int64_t)time(NULL), &page, &e) != 0)
		return http_reply_lerr(r, &e);
	if (json_object_set_new(page, "window", enroll_window_json(r->app->enroll)) != 0) {
		json_decref(page);
		return http_reply_error(r, LERR_INTERNAL, "out of memory");
	}
	return http_reply_json(r, 200, page);
}

enum MHD_Result
api_request_approve(struct http_req *r)
{
	const char *id = http_param(r, "id");
	char actor[16 + HTTP_USER_MAX], serial[2 * STORE_SERIAL_MAX + 1];
	struct lerr e;

	lerr_clear(&e);
	if (admin_id_check(id, &e) != 0)
		return http_reply_error(r, LERR_NOT_FOUND, "no such request");
	snprintf(actor, sizeof(actor), "admin %s", r->user);
	if (admin_approve(r->app->enroll, id, actor, serial, &e) != 0)
		return http_reply_lerr(r, &e);
	return http_reply_json(r, 200, json_pack("{s:s, s:s, s:s}", "id", id, "state", "issued",
						 "serial", serial));
}

enum MHD_Result
api_request_deny(struct http_req *r)
{
	const char *id = http_param(r, "id"), *reason = NULL;
	char actor[16 + HTTP_USER_MAX];
	enum MHD_Result ret;
	json_t *body = NULL, *v;
	struct lerr e;

	lerr_clear(&e);
	if (admin_json_body(r, &body, &ret) != 0)
		return ret;
	if (admin_id_check(id, &e) != 0) {
		ret = http_reply_error(r, LERR_NOT_FOUND, "no such request");
		goto out;
	}
	v = body != NULL ? json_object_get(body, "reason") : NULL;
	/* A NUL inside the string must not cut the reason short unseen. */
	if (v != NULL && (!json_is_string(v) ||
			  strlen(json_string_value(v)) != json_string_length(v))) {
		ret = http_reply_error(r, LERR_BAD_REQUEST, "reason must be text");
		goto out;
	}
	reason = v != NULL ? json_string_value(v) : NULL;
	snprintf(actor, sizeof(actor), "admin %s", r->user);
	if (admin_deny(r->app->enroll, id, reason, actor, &e) != 0)
		ret = http_reply_lerr(r, &e);
	else
		ret = http_reply_json(r, 200, json_pack("{s:s, s:s}", "id", id, "state", "denied"));
out:
	json_decref(body);
	return ret;
}
