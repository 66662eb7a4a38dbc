/*
 * api_admin.c - administrator sessions: POST /api/v1/login, POST
 * /api/v1/logout, and api_admin_session(), the check the router makes
 * before every admin handler (routes.c's table names it; see api.h).
 *
 * A session is a random 32-byte token held by the browser in an HttpOnly,
 * Secure, SameSite=Strict cookie; the store keeps only its SHA-256, so a
 * copy of the database does not log anybody in. State-changing requests
 * also carry the session's CSRF token in an X-CSRF-Token header (the page
 * got it in the login answer), and, when the browser sends one, an Origin
 * that is ours.
 *
 * Failed logins are counted per client address in a small table; after
 * ADMIN_FAIL_MAX failures within ADMIN_FAIL_WINDOW seconds the address is
 * answered 429 with Retry-After, before any password work is done.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sodium.h>

#include "http/api.h"
#include "daemon/auth.h"
#include "http/httpd.h"
#include "common/log.h"
#include "store/store.h"

#define ADMIN_COOKIE		"__Host-lanca_session"	/* Secure, Path=/, no Domain */
#define ADMIN_CSRF_HEADER	"X-CSRF-Token"
#define ADMIN_COOKIE_ATTRS	"; Path=/; Secure; HttpOnly; SameSite=Strict"

/* Error codes of this module (lerr.h has none for these statuses). */

/* Failed-login counter. */
#define ADMIN_FAIL_SLOTS	256
#define ADMIN_FAIL_MAX		5
#define ADMIN_FAIL_WINDOW	300	/* seconds */
#define ADMIN_BLOCK_FIRST	60	/* seconds; doubles per further failure */
#define ADMIN_BLOCK_MAX		900

#define ADMIN_ADDR_MAX		INET6_ADDRSTRLEN

struct admin_fail {
	char addr[ADMIN_ADDR_MAX];	/* "" = free slot */
	unsigned fails;
	unsigned inflight;		/* attempts being checked right now */
	time_t last;			/* monotonic seconds of the last failure */
	time_t until;			/* refused until then (monotonic) */
};

static pthread_mutex_t admin_fail_lock = PTHREAD_MUTEX_INITIALIZER;
static struct admin_fail admin_fails[ADMIN_FAIL_SLOTS];

/* Seconds on a clock that wall-clock changes do not move. */
static time_t
admin_mono(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return time(NULL);
	return ts.tv_sec;
}

/* The slot for addr, or NULL. Caller holds admin_fail_lock. */
static struct admin_fail *
admin_fail_find(const char *addr)
{
	size_t i;

	for (i = 0; i < ADMIN_FAIL_SLOTS; i++)
		if (admin_fails[i].addr[0] != '\0' && strcmp(admin_fails[i].addr, addr) == 0)
			return &admin_fails[i];
	return NULL;
}

/* The slot for addr, claimed if it has none: a free one, else the one
 * whose last failure is oldest. Caller holds admin_fail_lock. */
static struct admin_fail *
admin_fail_slot(const char *addr)
{
	struct admin_fail *f, *oldest = NULL;
	size_t i;

	f = admin_fail_find(addr);
	if (f != NULL)
		return f;
	for (i = 0; i < ADMIN_FAIL_SLOTS; i++) {
		if (admin_fails[i].addr[0] == '\0') {
			f = &admin_fails[i];
			break;
		}
		if (oldest == NULL || admin_fails[i].last < oldest->last)
			oldest = &admin_fails[i];
	}
	if (f == NULL)
		f = oldest;
	memset(f, 0, sizeof(*f));
	snprintf(f->addr, sizeof(f->addr), "%s", addr);
	return f;
}

/*
 * Starts a login attempt from addr: 0 if it may go ahead (it then counts
 * as in flight until admin_fail_note, admin_fail_clear or
 * admin_attempt_end), else the seconds to wait. Attempts in flight count
 * against the limit like failures, so parallel guesses cannot slip
 * through while earlier ones are still being hashed.
 */
static long
admin_attempt_begin(const char *addr)
{
	struct admin_fail *f;
	time_t now = admin_mono();
	unsigned recent;
	long wait = 0;

	pthread_mutex_lock(&admin_fail_lock);
	f = admin_fail_slot(addr);
	recent = now - f->last <= ADMIN_FAIL_WINDOW ? f->fails : 0;
	if (f->until > now)
		wait = (long)(f->until - now);
	else if (recent + f->inflight >= ADMIN_FAIL_MAX)
		wait = 1;	/* the budget is taken by attempts still running */
	else
		f->inflight++;
	pthread_mutex_unlock(&admin_fail_lock);
	return wait;
}

/* An attempt that ended neither in success nor in a wrong password. */
static void
admin_attempt_end(const char *addr)
{
	struct admin_fail *f;

	pthread_mutex_lock(&admin_fail_lock);
	f = admin_fail_find(addr);
	if (f != NULL && f->inflight > 0)
		f->inflight--;
	pthread_mutex_unlock(&admin_fail_lock);
}

/* Counts a failed login from addr; past ADMIN_FAIL_MAX failures inside the
 * window the address is refused for a time that doubles with each further
 * failure. A full table gives up the slot whose last failure is oldest:
 * someone with many addresses can push others out, but then each of their
 * addresses is limited on its own anyway. */
static void
admin_fail_note(const char *addr)
{
	struct admin_fail *f;
	time_t now = admin_mono();
	unsigned shift;
	long block;

	pthread_mutex_lock(&admin_fail_lock);
	f = admin_fail_slot(addr);
	if (f->inflight > 0)
		f->inflight--;
	if (now - f->last > ADMIN_FAIL_WINDOW && f->until <= now)
		f->fails = 0;
	if (f->fails < 1000)
		f->fails++;
	f->last = now;
	if (f->fails >= ADMIN_FAIL_MAX) {
		shift = f->fails - ADMIN_FAIL_MAX;
		block = shift >= 4 ? ADMIN_BLOCK_MAX : (long)ADMIN_BLOCK_FIRST << shift;
		if (block > ADMIN_BLOCK_MAX)
			block = ADMIN_BLOCK_MAX;
		f->until = now + block;
	}
	pthread_mutex_unlock(&admin_fail_lock);
}

/* A successful login forgets the address's failures. */
static void
admin_fail_clear(const char *addr)
{
	struct admin_fail *f;

	pthread_mutex_lock(&admin_fail_lock);
	f = admin_fail_find(addr);
	if (f != NULL)
		memset(f, 0, sizeof(*f));
	pthread_mutex_unlock(&admin_fail_lock);
}

/* The client's address as text (httpd_client_addr), or "unknown". */
static void
admin_client_addr(const struct http_req *r, char out[ADMIN_ADDR_MAX])
{
	if (httpd_client_addr(r->conn, out, ADMIN_ADDR_MAX) != 0)
		snprintf(out, ADMIN_ADDR_MAX, "unknown");
}

/* What failed logins are counted against: the address itself, except
 * that an IPv6 client counts as its /64 (one host usually holds a whole
 * /64 and could otherwise try from a fresh address each time), as
 * ratelimit.c does. */
static void
admin_fail_key(const char *addr, char out[ADMIN_ADDR_MAX])
{
	unsigned char a6[16];
	char text[ADMIN_ADDR_MAX];

	if (strchr(addr, ':') != NULL && inet_pton(AF_INET6, addr, a6) == 1) {
		memset(a6 + 8, 0, 8);
		if (inet_ntop(AF_INET6, a6, text, sizeof(text)) != NULL &&
		    snprintf(out, ADMIN_ADDR_MAX, "%s/64", text) < ADMIN_ADDR_MAX)
			return;
	}
	snprintf(out, ADMIN_ADDR_MAX, "%s", addr);
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

/* The SHA-256 of the session token in the request's cookie. 0, or -1 if
 * there is no well-formed one. */
static int
admin_cookie_sha(const struct http_req *r, unsigned char sha[32])
{
	const char *v;

	v = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, ADMIN_COOKIE);
	return auth_token_sha(v, sha);
}

/* Appends an audit row with actor "api ADDR". 0, or -1 after logging why:
 * each caller decides whether a missing row must stop what it does. */
static int
admin_audit(struct http_req *r, const char *addr, const char *event, const char *subject,
	    const char *detail)
{
	char actor[16 + ADMIN_ADDR_MAX];
	struct lerr e;
	int w;

	lerr_clear(&e);
	w = snprintf(actor, sizeof(actor), "api %s", addr);
	if (w < 0 || (size_t)w >= sizeof(actor))
		return -1;	/* cannot happen: addr is bounded */
	if (store_audit(r->app->store, actor, event, subject, detail, &e) != 0) {
		log_err("admin: cannot record %s in the audit log: %s", event, e.msg);
		return -1;
	}
	return 0;
}

/* 1 if the store said "no such row" (codes compare by content: a literal
 * in another file need not share our pointer). */
static int
admin_not_found(const struct lerr *e)
{
	return e->code == LERR_NOT_FOUND;
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
 * session (cookie + CSRF token). A missing user and a wrong password get
 * the same answer after the same work. The body and every copy of the
 * password we control are wiped before returning.
 */
enum MHD_Result
api_login(struct http_req *r)
{
	char addr[ADMIN_ADDR_MAX], key[ADMIN_ADDR_MAX];
	char token[AUTH_TOKEN_HEX + 1], csrf[AUTH_TOKEN_HEX + 1];
	char cookie[192], when[32], retry[24];
	unsigned char sha[32];
	const char *user = NULL, *pw = NULL;
	char *hash = NULL;
	json_t *j = NULL, *ju, *jp = NULL;
	json_error_t jerr;
	struct lerr e;
	enum MHD_Result ret;
	size_t pwlen = 0;
	long wait;
	time_t now, expires;
	int known = 0, w, attempting = 0;

	lerr_clear(&e);
	admin_client_addr(r, addr);
	admin_fail_key(addr, key);
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
	wait = admin_attempt_begin(key);
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
	user = json_string_value(ju);
	pw = json_string_value(jp);
	pwlen = json_string_length(jp);

	/* A name that cannot exist or a password we never accept is a wrong
	 * login like any other, but needs no hashing to say so. */
	if (!auth_user_ok(user) || auth_password_ok(pw, pwlen, NULL) != 0)
		goto refuse;
	if (store_admin_hash(r->app->store, user, &hash, &e) != 0) {
		if (!admin_not_found(&e)) {
			ret = http_reply_lerr(r, &e);
			goto out;
		}
		(void)auth_verify_dummy(pw, pwlen);
		goto refuse;
	}
	known = 1;
	if (auth_verify_password(hash, pw, pwlen) != 0)
		goto refuse;

	now = time(NULL);
	expires = now + AUTH_SESSION_TTL;
	auth_token_new(token, sha);
	auth_csrf_new(csrf);
	if (store_session_add(r->app->store, sha, user, csrf, (int64_t)expires, &e) != 0) {
		ret = http_reply_lerr(r, &e);
		goto out;
	}
	/* A login nobody can see in the audit log must not happen. */
	if (admin_audit(r, addr, "login", user, NULL) != 0) {
		lerr_clear(&e);
		(void)store_session_delete(r->app->store, sha, &e);
		ret = http_reply_error(r, LERR_STORE, "cannot record the login");
		goto out;
	}
	admin_fail_clear(key);
	attempting = 0;
	log_info("admin: %s logged in from %s", user, addr);
	w = snprintf(cookie, sizeof(cookie), ADMIN_COOKIE "=%s" ADMIN_COOKIE_ATTRS "; Max-Age=%d",
		     token, AUTH_SESSION_TTL);
	if (w < 0 || (size_t)w >= sizeof(cookie) ||
	    http_req_add_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie) != 0) {
		lerr_clear(&e);
		(void)store_session_delete(r->app->store, sha, &e);
		ret = http_reply_error(r, LERR_INTERNAL, "session cookie too long");
		goto out;
	}
	admin_time(expires, when);
	ret = http_reply_json(r, 200, json_pack("{s:s, s:s, s:s}", "user", user, "csrf", csrf,
						"expires_at", when));
	goto out;

refuse:
	admin_fail_note(key);
	attempting = 0;
	/* An unknown name is not recorded: people type their password into
	 * the user field, and the audit log must never hold one. */
	(void)admin_audit(r, addr, "login-failed", known ? user : NULL,
			  known ? "{\"reason\":\"wrong password\"}" : "{\"reason\":\"unknown user\"}");
	log_info("admin: failed login from %s", addr);
	ret = http_reply_error(r, LERR_UNAUTHORIZED, "wrong user or password");
out:
	if (attempting)
		admin_attempt_end(key);
	admin_wipe_json_string(jp);
	json_decref(j);
	free(hash);
	sodium_memzero(token, sizeof(token));
	sodium_memzero(csrf, sizeof(csrf));
	sodium_memzero(cookie, sizeof(cookie));
	sodium_memzero(sha, sizeof(sha));
	/* libmicrohttpd has its own copy of the cookie by now. */
	sodium_memzero(r->extra, sizeof(r->extra));
	return ret;
}

/* POST /api/v1/logout: ends the request's session and clears the cookie. */
enum MHD_Result
api_logout(struct http_req *r)
{
	char addr[ADMIN_ADDR_MAX];
	unsigned char sha[32];
	struct lerr e;
	enum MHD_Result ret;

	lerr_clear(&e);
	admin_client_addr(r, addr);
	if (admin_cookie_sha(r, sha) != 0 ||
	    store_session_delete(r->app->store, sha, &e) != 0) {
		ret = e.code != LERR_NONE ? http_reply_lerr(r, &e)
				     : http_reply_error(r, LERR_INTERNAL, "session vanished");
		goto out;
	}
	(void)admin_audit(r, addr, "logout", r->user, NULL);
	if (http_req_add_header(r, MHD_HTTP_HEADER_SET_COOKIE,
				ADMIN_COOKIE "=" ADMIN_COOKIE_ATTRS "; Max-Age=0") != 0) {
		ret = http_reply_error(r, LERR_INTERNAL, "cannot clear the cookie");
		goto out;
	}
	ret = http_reply_json(r, 200, json_object());
out:
	sodium_memzero(sha, sizeof(sha));
	return ret;
}

int
api_admin_session(struct http_req *r, unsigned auth, enum MHD_Result *reply)
{
	char *user = r->user;
	unsigned char sha[32];
	char csrf[65] = "";
	const char *sent;
	struct lerr e;
	int rc = -1;

	lerr_clear(&e);
	user[0] = '\0';
	if (admin_cookie_sha(r, sha) != 0) {
		*reply = http_reply_error(r, LERR_UNAUTHORIZED, "login required");
		goto out;
	}
	if (store_session_get(r->app->store, sha, (int64_t)time(NULL), user, csrf, &e) != 0) {
		if (admin_not_found(&e))
			*reply = http_reply_error(r, LERR_UNAUTHORIZED, "login required");
		else
			*reply = http_reply_lerr(r, &e);
		user[0] = '\0';
		goto out;
	}
	if (auth == HTTP_AUTH_ADMIN_CSRF) {
		if (!admin_origin_ok(r)) {
			*reply = http_reply_error(r, LERR_FORBIDDEN,
						  "the request comes from another origin");
			user[0] = '\0';
			goto out;
		}
		sent = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, ADMIN_CSRF_HEADER);
		if (sent == NULL || csrf[0] == '\0' || !auth_equal(sent, csrf)) {
			*reply = http_reply_error(r, LERR_FORBIDDEN,
						  "missing or wrong CSRF token");
			user[0] = '\0';
			goto out;
		}
	}
	rc = 0;
out:
	sodium_memzero(sha, sizeof(sha));
	sodium_memzero(csrf, sizeof(csrf));
	return rc;
}
