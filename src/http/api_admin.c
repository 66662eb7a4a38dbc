/*
 * api_admin.c - the administrator's door: the first-visit setup (GET and
 * POST /api/v1/setup), POST /api/v1/login and /api/v1/logout, GET
 * /api/v1/session, POST /api/v1/password, api_admin_session() (the check
 * the router makes before every admin handler: routes.c's table names
 * it; for GET /metrics it also takes api_metrics.c's bearer token), and
 * the onboarding actions POST /api/v1/press, GET /api/v1/requests, POST /api/v1/requests/{id}/approve and .../deny.
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
 * address is answered 429 with Retry-After, before any password work. A
 * wrong setup code and a wrong current password in a password change
 * count the same, in the same counter: one guess is one guess.
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
#define ADMIN_BACKGROUND	"X-Lanca-Background"	/* a timer's request: no use */
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

/* Whether the request is a page refreshing itself on a timer
 * (X-Lanca-Background: 1), which does not count as use of the session. */
static int
admin_background(const struct http_req *r)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, ADMIN_BACKGROUND);

	return v != NULL && strcmp(v, "1") == 0;
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

/* ---- requests that carry a secret: login, setup, password change ---- */

/* One such request in progress: who asks, its body, and whether it holds
 * one of the failed-login counter's places for its address. */
struct admin_secret_req {
	char addr[ADMIN_ADDR_MAX];
	char actor[16 + ADMIN_ADDR_MAX];
	const struct sockaddr *sa;
	json_t *body;
	int attempting;
};

json_t *
admin_secret_body_parse(const unsigned char *data, size_t len)
{
	json_error_t je;
	json_t *body;

	if (len == 0)
		return NULL;
	body = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
	if (body != NULL && !json_is_object(body)) {
		admin_wipe_json_string(body);
		json_decref(body);
		body = NULL;
	}
	return body;
}

/*
 * Starts a request whose body is a JSON object of secrets: checks the
 * media type and the Origin, takes a place in the failed-login counter
 * (429 with Retry-After while the address must wait, before any hashing)
 * and parses the body, wiping the raw bytes at once. 0 to go on; -1 when
 * the reply is queued (*ret). End with admin_secret_end() either way.
 */
static int
admin_secret_begin(struct http_req *r, struct admin_secret_req *q, const char *shape,
		   enum MHD_Result *ret)
{
	char retry[24];
	long wait;

	memset(q, 0, sizeof(*q));
	admin_client_addr(r, q->addr);
	admin_actor(q->addr, q->actor);
	q->sa = admin_client_sa(r);
	if (!admin_is_json(r)) {
		*ret = http_reply_error(r, LERR_MEDIA_TYPE,
					"the body must be JSON (Content-Type: application/json)");
		return -1;
	}
	/* Another site's page must not log the browser in either (login
	 * CSRF); JSON bodies already need a CORS preflight, this is belt and
	 * braces. */
	if (!admin_origin_ok(r)) {
		*ret = http_reply_error(r, LERR_FORBIDDEN, "the request comes from another origin");
		return -1;
	}
	wait = ratelimit_fails_begin(r->app->login_fails, q->sa, (int64_t)ratelimit_now());
	if (wait > 0) {
		snprintf(retry, sizeof(retry), "%ld", wait);
		(void)http_req_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
		*ret = http_reply_error(r, LERR_RATE_LIMITED,
					"too many failed attempts; try again in %ld s", wait);
		return -1;
	}
	q->attempting = 1;
	q->body = admin_secret_body_parse(r->body.data, r->body.len);
	/* The body held a secret: wipe it now rather than at completion. */
	if (r->body.data != NULL)
		sodium_memzero(r->body.data, r->body.len);
	if (q->body == NULL) {
		*ret = http_reply_error(r, LERR_BAD_REQUEST, "the body must be a JSON object %s",
					shape);
		return -1;
	}
	return 0;
}

/* The verdict on the secrets: a wrong guess counts against the address,
 * a right one clears its count; anything else (a store failure, a weak
 * new password) does neither. */
static void
admin_secret_verdict(struct http_req *r, struct admin_secret_req *q, int wrong, int right)
{
	if (wrong)
		ratelimit_fails_note(r->app->login_fails, q->sa, (int64_t)ratelimit_now());
	else if (right)
		ratelimit_fails_clear(r->app->login_fails, q->sa);
	else
		return;
	q->attempting = 0;
}

/* Gives the counter's place back and wipes every string of the body. */
static void
admin_secret_end(struct http_req *r, struct admin_secret_req *q)
{
	const char *k;
	json_t *v;

	if (q->attempting)
		ratelimit_fails_end(r->app->login_fails, q->sa);
	q->attempting = 0;
	if (q->body != NULL && json_is_object(q->body))
		json_object_foreach(q->body, k, v)
			admin_wipe_json_string(v);
	json_decref(q->body);
	q->body = NULL;
}

int
admin_body_string(const json_t *body, const char *name, const char **out, size_t *len)
{
	json_t *v = json_object_get(body, name);

	*out = NULL;
	if (!json_is_string(v))
		return -1;
	if (len == NULL && strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	*out = json_string_value(v);
	if (len != NULL)
		*len = json_string_length(v);
	return 0;
}

/* RFC 3339 of a Unix time, for the JSON answers. */
static json_t *
admin_json_time(int64_t t)
{
	char when[32];

	admin_time((time_t)t, when);
	return json_string(when);
}

/* What the page needs of a session: {"user", "csrf", "expires_at",
 * "idle_expires_at"}. */
static json_t *
admin_session_json(const struct auth_session *ses)
{
	return json_pack("{s:s, s:s, s:o, s:o}", "user", ses->user, "csrf", ses->csrf,
			 "expires_at", admin_json_time(ses->expires_at), "idle_expires_at",
			 admin_json_time(ses->idle_expires_at));
}

/*
 * 200 with a new session: its cookie (Max-Age up to the absolute end) and
 * admin_session_json(). A cookie that cannot be sent ends the session.
 */
static enum MHD_Result
admin_reply_session(struct http_req *r, const struct auth_session *ses, int64_t now)
{
	char cookie[192];
	enum MHD_Result ret;
	struct lerr e;
	int w;

	w = snprintf(cookie, sizeof(cookie), ADMIN_COOKIE "=%s" ADMIN_COOKIE_ATTRS "; Max-Age=%lld",
		     ses->token, (long long)(ses->expires_at - now));
	if (w < 0 || (size_t)w >= sizeof(cookie) ||
	    http_req_add_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie) != 0) {
		lerr_clear(&e);
		(void)auth_session_end(r->app->store, ses->token, NULL, NULL, &e);
		ret = http_reply_error(r, LERR_INTERNAL, "session cookie too long");
	} else {
		ret = http_reply_json(r, 200, admin_session_json(ses));
	}
	sodium_memzero(cookie, sizeof(cookie));
	/* libmicrohttpd has its own copy of the cookie by now. */
	sodium_memzero(r->extra, sizeof(r->extra));
	return ret;
}

/*
 * POST /api/v1/login: checks {"user", "password"} and on success opens a
 * session (cookie + CSRF token). The body and every copy of the password
 * we control are wiped before returning.
 */
enum MHD_Result
api_login(struct http_req *r)
{
	struct admin_secret_req q;
	struct auth_session ses;
	const char *user, *pw;
	size_t pwlen;
	struct lerr e;
	enum MHD_Result ret;
	int64_t now = (int64_t)time(NULL);
	int rc;

	lerr_clear(&e);
	memset(&ses, 0, sizeof(ses));
	if (admin_secret_begin(r, &q, "{\"user\", \"password\"}", &ret) != 0)
		goto out;
	if (admin_body_string(q.body, "user", &user, NULL) != 0 ||
	    admin_body_string(q.body, "password", &pw, &pwlen) != 0) {
		ret = http_reply_error(r, LERR_BAD_REQUEST,
				       "\"user\" and \"password\" must be strings");
		goto out;
	}
	rc = auth_login(r->app->store, user, pw, pwlen, q.actor, now, &ses, &e);
	if (rc != 0) {
		/* A wrong password counts whatever the answer (a 503 when its
		 * audit row could not be written): a full disk must not give
		 * unlimited guesses. */
		admin_secret_verdict(r, &q, rc > 0, 0);
		if (rc > 0)
			log_info("admin: failed login from %s", q.addr);
		ret = http_reply_lerr(r, &e);
		goto out;
	}
	admin_secret_verdict(r, &q, 0, 1);
	log_info("admin: %s logged in from %s", ses.user, q.addr);
	ret = admin_reply_session(r, &ses, now);
out:
	admin_secret_end(r, &q);
	auth_session_wipe(&ses);
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
	struct auth_session ses;
	const char *sent, *authz;
	struct lerr e;
	int rc = -1;

	lerr_clear(&e);
	r->user[0] = '\0';
	if (auth == HTTP_AUTH_METRICS) {
		authz = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
		if (authz != NULL)
			return api_metrics_bearer(r, authz, reply);
	}
	if (auth_session_get(r->app->store, admin_cookie(r), (int64_t)time(NULL),
			     admin_background(r), &ses, &e) != 0) {
		if (auth == HTTP_AUTH_METRICS && e.code == LERR_UNAUTHORIZED)
			*reply = api_metrics_unauthorized(r);
		else
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
		if (sent == NULL || ses.csrf[0] == '\0' || !auth_equal(sent, ses.csrf)) {
			*reply = http_reply_error(r, LERR_FORBIDDEN,
						  "missing or wrong CSRF token");
			goto out;
		}
	}
	snprintf(r->user, sizeof(r->user), "%s", ses.user);
	rc = 0;
out:
	auth_session_wipe(&ses);
	return rc;
}

/* GET /api/v1/session: the caller's session, so that a page reloaded in
 * the browser gets its CSRF token back (the cookie is HttpOnly). */
enum MHD_Result
api_session_get(struct http_req *r)
{
	struct auth_session ses;
	enum MHD_Result ret;
	struct lerr e;

	lerr_clear(&e);
	if (auth_session_get(r->app->store, admin_cookie(r), (int64_t)time(NULL),
			     admin_background(r), &ses, &e) != 0)
		ret = http_reply_lerr(r, &e);
	else
		ret = http_reply_json(r, 200, admin_session_json(&ses));
	auth_session_wipe(&ses);
	return ret;
}

/* POST /api/v1/password {"old", "new"}: the caller's own password. Every
 * session of the caller ends, this one included; the answer carries a
 * new one. A wrong old password counts as a failed login. */
enum MHD_Result
api_password(struct http_req *r)
{
	char actor[16 + HTTP_USER_MAX];
	struct admin_secret_req q;
	struct auth_session ses;
	const char *old, *pw;
	size_t oldlen, pwlen;
	struct lerr e;
	enum MHD_Result ret;
	int64_t now = (int64_t)time(NULL);
	int rc;

	lerr_clear(&e);
	memset(&ses, 0, sizeof(ses));
	if (admin_secret_begin(r, &q, "{\"old\", \"new\"}", &ret) != 0)
		goto out;
	if (admin_body_string(q.body, "old", &old, &oldlen) != 0 ||
	    admin_body_string(q.body, "new", &pw, &pwlen) != 0) {
		ret = http_reply_error(r, LERR_BAD_REQUEST, "\"old\" and \"new\" must be strings");
		goto out;
	}
	snprintf(actor, sizeof(actor), "admin %s", r->user);
	rc = auth_password_change(r->app->store, r->user, old, oldlen, pw, pwlen, actor, now, &ses,
				  &e);
	if (rc != 0) {
		admin_secret_verdict(r, &q, rc > 0, 0);
		ret = http_reply_lerr(r, &e);
		goto out;
	}
	admin_secret_verdict(r, &q, 0, 1);
	log_info("admin: %s changed their password from %s; their other sessions ended",
		 r->user, q.addr);
	ret = admin_reply_session(r, &ses, now);
out:
	admin_secret_end(r, &q);
	auth_session_wipe(&ses);
	return ret;
}

/* GET /api/v1/setup: {"needed": true} while no administrator exists. */
enum MHD_Result
api_setup_get(struct http_req *r)
{
	struct lerr e;
	int needed;

	lerr_clear(&e);
	if (auth_setup_needed(r->app->store, &needed, &e) != 0)
		return http_reply_lerr(r, &e);
	return http_reply_json(r, 200, json_pack("{s:b}", "needed", needed));
}

/* POST /api/v1/setup {"code", "user", "password"}: the first
 * administrator, from the setup code `lanca init` printed; logged in on
 * success. A wrong code counts as a failed login. */
enum MHD_Result
api_setup(struct http_req *r)
{
	struct admin_secret_req q;
	struct auth_session ses;
	const char *code, *user, *pw;
	size_t pwlen;
	struct lerr e;
	enum MHD_Result ret;
	int64_t now = (int64_t)time(NULL);
	int rc;

	lerr_clear(&e);
	memset(&ses, 0, sizeof(ses));
	if (admin_secret_begin(r, &q, "{\"code\", \"user\", \"password\"}", &ret) != 0)
		goto out;
	if (admin_body_string(q.body, "code", &code, NULL) != 0 ||
	    admin_body_string(q.body, "user", &user, NULL) != 0 ||
	    admin_body_string(q.body, "password", &pw, &pwlen) != 0) {
		ret = http_reply_error(r, LERR_BAD_REQUEST,
				       "\"code\", \"user\" and \"password\" must be strings");
		goto out;
	}
	rc = auth_setup(r->app->store, code, user, pw, pwlen, q.actor, now, &ses, &e);
	if (rc != 0) {
		admin_secret_verdict(r, &q, rc > 0, 0);
		if (rc > 0)
			log_info("admin: wrong setup code from %s", q.addr);
		ret = http_reply_lerr(r, &e);
		goto out;
	}
	admin_secret_verdict(r, &q, 0, 1);
	log_info("admin: %s set up as the first administrator from %s", ses.user, q.addr);
	ret = admin_reply_session(r, &ses, now);
out:
	admin_secret_end(r, &q);
	auth_session_wipe(&ses);
	return ret;
}

/* ---- the onboarding actions: admin.c checks and acts ---- */

int
admin_json_body_parse(const unsigned char *data, size_t len, json_t **out)
{
	json_error_t je;

	*out = NULL;
	if (len == 0)
		return 0;
	*out = json_loadb((const char *)data, len, 0, &je);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Reads an optional JSON object body (NULL when the body is empty). */
int
admin_json_body(struct http_req *r, json_t **out, enum MHD_Result *ret)
{
	if (admin_json_body_parse(r->body.data, r->body.len, out) != 0) {
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

int
admin_body_member_text(const json_t *body, const char *member, const char **out)
{
	json_t *v = body != NULL ? json_object_get(body, member) : NULL;

	*out = NULL;
	/* A NUL inside the string must not cut the text short unseen. */
	if (v != NULL && (!json_is_string(v) ||
			  strlen(json_string_value(v)) != json_string_length(v)))
		return -1;
	if (v != NULL)
		*out = json_string_value(v);
	return 0;
}

int
admin_body_text(struct http_req *r, json_t *body, const char *member, const char **out,
		enum MHD_Result *ret)
{
	if (admin_body_member_text(body, member, out) != 0) {
		*ret = http_reply_error(r, LERR_BAD_REQUEST, "%s must be text", member);
		return -1;
	}
	return 0;
}

int
admin_body_reason(struct http_req *r, json_t *body, const char **reason, enum MHD_Result *ret)
{
	return admin_body_text(r, body, "reason", reason, ret);
}

enum MHD_Result
api_request_deny(struct http_req *r)
{
	const char *id = http_param(r, "id"), *reason = NULL;
	char actor[16 + HTTP_USER_MAX];
	enum MHD_Result ret;
	json_t *body = NULL;
	struct lerr e;

	lerr_clear(&e);
	if (admin_json_body(r, &body, &ret) != 0)
		return ret;
	if (admin_id_check(id, &e) != 0) {
		ret = http_reply_error(r, LERR_NOT_FOUND, "no such request");
		goto out;
	}
	if (admin_body_reason(r, body, &reason, &ret) != 0)
		goto out;
	snprintf(actor, sizeof(actor), "admin %s", r->user);
	if (admin_deny(r->app->enroll, id, reason, actor, &e) != 0)
		ret = http_reply_lerr(r, &e);
	else
		ret = http_reply_json(r, 200, json_pack("{s:s, s:s}", "id", id, "state", "denied"));
out:
	json_decref(body);
	return ret;
}
