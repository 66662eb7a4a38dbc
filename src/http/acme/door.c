/*
 * door.c - the ACME door's framing (see door.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/log.h"
#include "daemon/acme.h"
#include "http/acme/door.h"
#include "http/acme/nonce.h"
#include "http/app.h"
#include "http/httpd.h"
#include "http/reply.h"
#include "http/api.h"

/* The algorithms a badSignatureAlgorithm problem lists (RFC 8555 6.2). */
#define ACME_ALGS	"[\"ES256\", \"ES384\", \"RS256\", \"EdDSA\"]"

int
acme_url(const struct http_req *r, char *out, size_t n, const char *fmt, ...)
{
	char path[ACME_URL_MAX];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(path))
		return -1;
	return http_https_url(r, path, out, n);
}

void
acme_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* The headers every ACME answer carries: a fresh nonce, the directory. */
static void
acme_headers(struct http_req *r)
{
	char nonce[ACME_NONCE_LEN + 1], dir[ACME_URL_MAX], link[ACME_URL_MAX + 32];

	if (r->app->acme_nonces != NULL) {
		acme_nonce_make(r->app->acme_nonces, nonce);
		(void)http_req_add_header(r, "Replay-Nonce", nonce);
	}
	if (acme_url(r, dir, sizeof(dir), ACME_PREFIX "directory") == 0) {
		snprintf(link, sizeof(link), "<%s>;rel=\"index\"", dir);
		(void)http_req_add_header(r, "Link", link);
	}
}

enum MHD_Result
acme_reply(struct http_req *r, unsigned status, const char *ctype, const void *data, size_t len)
{
	acme_headers(r);
	return http_reply(r, status, ctype, data, len);
}

enum MHD_Result
acme_reply_json(struct http_req *r, unsigned status, json_t *j)
{
	enum MHD_Result ret;
	char *text;

	text = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (text == NULL)
		return acme_problem(r, 500, "serverInternal", "out of memory");
	ret = acme_reply(r, status, "application/json", text, strlen(text));
	free(text);
	return ret;
}

/* A problem document with extra members (or NULL). */
static enum MHD_Result
acme_problem_with(struct http_req *r, unsigned status, const char *type, const char *detail,
		  const char *extra_json)
{
	enum MHD_Result ret;
	json_t *o, *x;
	char *text;

	o = json_pack("{s:s+, s:s, s:i}", "type", "urn:ietf:params:acme:error:", type, "detail",
		      detail, "status", (int)status);
	if (o == NULL) {
		/* The detail quoted a client's bytes that are not UTF-8 (an
		 * alg, a header): the answer goes out all the same, in ASCII. */
		char ascii[600];

		acme_detail_ascii(detail, ascii, sizeof(ascii));
		o = json_pack("{s:s+, s:s, s:i}", "type", "urn:ietf:params:acme:error:", type,
			      "detail", ascii, "status", (int)status);
	}
	if (o != NULL && extra_json != NULL && (x = json_loads(extra_json, 0, NULL)) != NULL)
		json_object_update(o, x), json_decref(x);
	text = o != NULL ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	if (text == NULL)
		return MHD_NO;
	ret = acme_reply(r, status, ACME_PROBLEM_TYPE, text, strlen(text));
	free(text);
	return ret;
}

enum MHD_Result
acme_problem(struct http_req *r, unsigned status, const char *type, const char *fmt, ...)
{
	char detail[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return acme_problem_with(r, status, type, detail, NULL);
}

enum MHD_Result
acme_problem_lerr(struct http_req *r, const struct lerr *e, const char *type)
{
	unsigned status = e->http >= 400 ? (unsigned)e->http : 500;
	const char *extra = NULL;

	/* One status for one type, whatever the code behind it. */
	if (type != NULL && strcmp(type, "unauthorized") == 0)
		status = 403;

	if (type == NULL) {
		switch (e->code) {
		case LERR_UNSUPPORTED_KEY:
			type = "badSignatureAlgorithm";
			extra = "{\"algorithms\": " ACME_ALGS "}";
			status = 400;
			break;
		case LERR_WEAK_KEY:
			type = "badPublicKey";
			status = 400;
			break;
		case LERR_BAD_CSR:
			type = "badCSR";
			status = 400;
			break;
		case LERR_FORBIDDEN_NAME:
		case LERR_BAD_NAME:
			type = "rejectedIdentifier";
			status = 400;
			break;
		case LERR_UNAUTHORIZED:
		case LERR_FORBIDDEN:
			type = "unauthorized";
			status = 403;
			break;
		case LERR_RATE_LIMITED:
			type = "rateLimited";
			break;
		case LERR_NOT_FOUND:
			type = "malformed";
			status = 404;
			break;
		case LERR_STORE:
		case LERR_STORE_UNAVAILABLE:
		case LERR_SIGNER:
		case LERR_INTERNAL:
		case LERR_INVARIANT:
			type = "serverInternal";
			break;
		default:
			type = "malformed";
			status = status >= 500 ? 400 : status;
			break;
		}
	}
	return acme_problem_with(r, status, type, e->msg, extra);
}

/* ---- the POST pipeline ---- */

int
acme_rate_limited(struct http_req *r, enum MHD_Result *ret)
{
	char ra[16];

	if (!api_rate_take(r, ra))
		return 0;
	(void)http_req_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	*ret = acme_problem(r, 429, "rateLimited", "too many requests from this address: retry "
			    "in %s s", ra);
	return 1;
}

void
acme_req_free(struct acme_req *q)
{
	jws_free(&q->jws);
	acme_account_free(q->acct);
	q->acct = NULL;
}

/* The account id in kid, which must be this server's account URL. */
static int
acme_kid_account(const struct http_req *r, const char *kid, char id[STORE_ACME_ID_LEN + 1])
{
	char prefix[ACME_URL_MAX];
	size_t n;

	if (acme_url(r, prefix, sizeof(prefix), ACME_PREFIX "acct/") != 0)
		return -1;
	n = strlen(prefix);
	if (strncmp(kid, prefix, n) != 0 || strlen(kid + n) != STORE_ACME_ID_LEN ||
	    !http_param_ok(kid + n, STORE_ACME_ID_LEN))
		return -1;
	memcpy(id, kid + n, STORE_ACME_ID_LEN + 1);
	return 0;
}

int
acme_req_begin(struct http_req *r, enum acme_signer by, struct acme_req *q, enum MHD_Result *ret)
{
	char url[ACME_URL_MAX], id[STORE_ACME_ID_LEN + 1], thumb[JWS_THUMBPRINT_LEN + 1];
	gnutls_pubkey_t key = NULL;
	json_t *jwk;
	struct lerr e;
	int lrc, rc = -1;

	memset(q, 0, sizeof(*q));
	q->r = r;
	if (r->app->acme == NULL || r->app->acme_nonces == NULL) {
		*ret = acme_problem(r, 503, "serverInternal", "ACME is not served here");
		return -1;
	}
	if (!http_media_type_is(r, "application/jose+json")) {
		*ret = acme_problem(r, 415, "malformed", "send the JWS as application/jose+json");
		return -1;
	}
	lerr_clear(&e);
	if (jws_parse((const char *)r->body.data, r->body.len, &q->jws, &e) != 0) {
		*ret = acme_problem_lerr(r, &e, NULL);
		return -1;
	}
	/* RFC 8555 6.4: the URL the client signed is the one it asked. */
	if (acme_url(r, url, sizeof(url), "%s", r->url) != 0 || strcmp(url, q->jws.url) != 0) {
		*ret = acme_problem(r, 403, "unauthorized", "the JWS url \"%s\" is not this "
				    "request's URL (%s)", q->jws.url, url);
		return -1;
	}
	if (!acme_nonce_take(r->app->acme_nonces, q->jws.nonce)) {
		*ret = acme_problem(r, 400, "badNonce", "the nonce is unknown, used or too old: "
				    "use the one in this answer");
		return -1;
	}
	if (q->jws.kid[0] != '\0') {
		if (!(by & ACME_BY_KID)) {
			*ret = acme_problem(r, 400, "malformed", "this request is signed with a "
					    "\"jwk\", not an account's \"kid\"");
			return -1;
		}
		if (acme_kid_account(r, q->jws.kid, id) != 0 ||
		    (lrc = acme_account_get(r->app->acme, id, &q->acct, &e)) > 0) {
			*ret = acme_problem(r, 400, "accountDoesNotExist", "no account %s",
					    q->jws.kid);
			return -1;
		}
		if (lrc < 0) {
			*ret = acme_problem_lerr(r, &e, NULL);
			return -1;
		}
		jwk = json_loads(q->acct->jwk, 0, NULL);
		if (jwk == NULL || jws_jwk_import(jwk, &key, thumb, &e) != 0) {
			json_decref(jwk);
			*ret = acme_problem(r, 500, "serverInternal", "account %s has an unusable key",
					    id);
			return -1;
		}
		json_decref(jwk);
		if (jws_verify(&q->jws, key, &e) != 0) {
			*ret = acme_problem_lerr(r, &e, e.code == LERR_BAD_SIGNATURE ? "malformed" :
						 NULL);
			goto out;
		}
		if (q->acct->status != STORE_ACME_VALID) {
			*ret = acme_problem(r, 403, "unauthorized", "account %s is %s", id,
					    acme_status_str(q->acct->status));
			goto out;
		}
	} else {
		if (!(by & ACME_BY_JWK)) {
			*ret = acme_problem(r, 400, "malformed", "this request must be signed by an "
					    "account: \"kid\", not \"jwk\"");
			return -1;
		}
		if (jws_verify(&q->jws, q->jws.jwk, &e) != 0) {
			*ret = acme_problem_lerr(r, &e, e.code == LERR_BAD_SIGNATURE ? "malformed" :
						 NULL);
			return -1;
		}
	}
	rc = 0;
out:
	if (key != NULL)
		gnutls_pubkey_deinit(key);
	return rc;
}

/* ---- objects as JSON ---- */

json_t *
acme_account_json(const struct http_req *r, const struct store_acme_account *a)
{
	char orders[ACME_URL_MAX];
	json_t *o, *contact;

	if (acme_url(r, orders, sizeof(orders), ACME_PREFIX "acct/%s/orders", a->id) != 0)
		return NULL;
	contact = json_loads(a->contact, 0, NULL);
	o = json_pack("{s:s, s:o, s:s, s:b}", "status", acme_status_str(a->status),
		      "contact", contact != NULL ? contact : json_array(), "orders", orders,
		      "termsOfServiceAgreed", 1);
	return o;
}

json_t *
acme_chall_json(const struct http_req *r, const struct store_acme_authz *z, const char *type)
{
	char url[ACME_URL_MAX], when[32];
	int tried = strcmp(z->chall, type) == 0;
	json_t *o, *err;

	if (acme_url(r, url, sizeof(url), ACME_PREFIX "chall/%s/%s", z->id, type) != 0)
		return NULL;
	o = json_pack("{s:s, s:s, s:s, s:s}", "type", type, "url", url, "token", z->token,
		      "status", tried ? acme_status_str(z->chall_status) : "pending");
	if (o != NULL && tried && z->chall_status == STORE_ACME_VALID) {
		acme_time(z->validated_at, when);
		json_object_set_new(o, "validated", json_string(when));
	}
	if (o != NULL && tried && z->error[0] != '\0' &&
	    (err = json_loads(z->error, 0, NULL)) != NULL)
		json_object_set_new(o, "error", err);
	return o;
}

json_t *
acme_authz_json(const struct http_req *r, const struct store_acme_authz *z)
{
	const char *types[ACME_CHALL_TYPES];
	char when[32];
	json_t *o, *challs, *c;
	size_t i, n;

	acme_time(z->expires_at, when);
	challs = json_array();
	o = json_pack("{s:{s:s, s:s}, s:s, s:s, s:o}", "identifier", "type", z->ip ? "ip" : "dns",
		      "value", z->value, "status", acme_status_str(z->status), "expires",
		      when, "challenges", challs);
	if (o == NULL)
		return NULL;
	n = acme_chall_types(r->app->acme, z, types);
	for (i = 0; i < n; i++) {
		/* Once decided, only the challenge that decided it. */
		if (z->status != STORE_ACME_PENDING && strcmp(z->chall, types[i]) != 0)
			continue;
		if ((c = acme_chall_json(r, z, types[i])) == NULL) {
			json_decref(o);
			return NULL;
		}
		json_array_append_new(challs, c);
	}
	return o;
}

json_t *
acme_order_json(const struct http_req *r, const struct store_acme_order *o)
{
	char url[ACME_URL_MAX], when[32];
	json_t *j, *authz, *ids, *err;
	size_t i;

	ids = json_loads(o->identifiers, 0, NULL);
	authz = json_array();
	acme_time(o->expires_at, when);
	if (acme_url(r, url, sizeof(url), ACME_PREFIX "order/%s/finalize", o->id) != 0)
		url[0] = '\0';
	j = json_pack("{s:s, s:s, s:o, s:o, s:s}", "status", acme_status_str(o->status),
		      "expires", when, "identifiers", ids != NULL ? ids : json_array(),
		      "authorizations", authz, "finalize", url);
	if (j == NULL)
		return NULL;
	for (i = 0; i < o->nauthz; i++)
		if (acme_url(r, url, sizeof(url), ACME_PREFIX "authz/%s", o->authz[i].id) == 0)
			json_array_append_new(authz, json_string(url));
	if (o->status == STORE_ACME_VALID &&
	    acme_url(r, url, sizeof(url), ACME_PREFIX "cert/%s", o->id) == 0)
		json_object_set_new(j, "certificate", json_string(url));
	if (o->error[0] != '\0' && (err = json_loads(o->error, 0, NULL)) != NULL)
		json_object_set_new(j, "error", err);
	return j;
}

/* ---- GET resources ---- */

enum MHD_Result
acme_directory(struct http_req *r)
{
	static const struct {
		const char *name, *path;
	} res[] = {
		{ "newNonce", "new-nonce" },
		{ "newAccount", "new-account" },
		{ "newOrder", "new-order" },
		{ "revokeCert", "revoke-cert" },
		{ "keyChange", "key-change" },
		{ "renewalInfo", "renewal-info" },
	};
	char url[ACME_URL_MAX], page[ACME_URL_MAX];
	json_t *d, *meta;
	size_t i;

	d = json_object();
	meta = json_pack("{s:b}", "externalAccountRequired", 0);
	if (d == NULL || meta == NULL) {
		json_decref(d);
		json_decref(meta);
		return acme_problem(r, 500, "serverInternal", "out of memory");
	}
	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++)
		if (acme_url(r, url, sizeof(url), ACME_PREFIX "%s", res[i].path) == 0)
			json_object_set_new(d, res[i].name, json_string(url));
	if (acme_url(r, page, sizeof(page), "/") == 0)
		json_object_set_new(meta, "website", json_string(page));
	json_object_set_new(d, "meta", meta);
	return acme_reply_json(r, 200, d);
}

enum MHD_Result
acme_new_nonce(struct http_req *r)
{
	/* Not limited: a flood of these pushes out older nonces, whose
	 * clients are told badNonce with a fresh one and retry (RFC 8555
	 * 6.5), which every client here does. */
	/* RFC 8555 7.2: HEAD is 200, GET 204; both only for the header. */
	return acme_reply(r, strcmp(r->method, "HEAD") == 0 ? 200 : 204, NULL, "", 0);
}

enum MHD_Result
acme_renewal_info_get(struct http_req *r)
{
	char start[32], end[32], retry[16];
	int64_t s = 0, e2 = 0;
	struct lerr e;

	if (r->app->acme == NULL)
		return acme_problem(r, 503, "serverInternal", "ACME is not served here");
	if (acme_renewal_info(r->app->acme, http_param(r, "certid"), &s, &e2, &e) != 0)
		return acme_problem_lerr(r, &e, NULL);
	acme_time(s, start);
	acme_time(e2, end);
	/* RFC 9773 4.2: ask again in six hours. */
	snprintf(retry, sizeof(retry), "%d", 6 * 3600);
	(void)http_req_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	return acme_reply_json(r, 200, json_pack("{s:{s:s, s:s}}", "suggestedWindow", "start",
						 start, "end", end));
}
