/*
 * api_enroll.c - the enrollment endpoints and the admin's onboarding
 * actions. Each handler checks what HTTP can check (content type, rate,
 * session), calls enroll.c, and turns the result into a status code:
 *   201 issued (PEM chain), 202 pending (Location, Retry-After, JSON),
 *   409 pending because a name or key is another device's,
 *   403 denied or refused renewal, 410 expired, 4xx JSON for bad input.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <gnutls/x509.h>

#include "common/hex.h"
#include "http/api.h"
#include "daemon/enroll.h"
#include "http/httpd.h"
#include "daemon/ratelimit.h"
#include "store/store.h"

#define API_CHAIN_TYPE	"application/pem-certificate-chain"

/* Copies the {id} path parameter (the router has checked its characters
 * and length) if it has a request id's form; -1 otherwise. */
static int
api_request_id(const char *p, char id[STORE_REQUEST_ID_LEN + 1])
{
	size_t i;

	if (p == NULL)
		return -1;
	for (i = 0; i < STORE_REQUEST_ID_LEN; i++) {
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return -1;
		id[i] = p[i];
	}
	if (p[i] != '\0')
		return -1;
	id[i] = '\0';
	return 0;
}

/* Only PKCS#10 in DER (application/pkcs10) or PEM (application/x-pem-file). */
static int
api_csr_type_ok(struct http_req *r)
{
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n;

	if (ct == NULL)
		return 0;
	n = strcspn(ct, ";");
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	return (n == 18 && strncasecmp(ct, "application/pkcs10", 18) == 0) ||
	       (n == 22 && strncasecmp(ct, "application/x-pem-file", 22) == 0);
}

/* 429 when this address has asked too often. Returns 1 if it replied. */
static int
api_rate_limited(struct http_req *r, enum MHD_Result *ret)
{
	const union MHD_ConnectionInfo *ci;
	struct timespec ts;
	double retry = 0;
	char ra[16];

	if (r->app->ratelimit == NULL)
		return 0;
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ratelimit_take(r->app->ratelimit, ci->client_addr,
			   (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, &retry))
		return 0;
	snprintf(ra, sizeof(ra), "%u", (unsigned)(retry < 1 ? 1 : retry + 0.999));
	(void)http_req_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	*ret = http_reply_error(r, LERR_RATE_LIMITED,
				"too many requests from this address: retry in %s s", ra);
	return 1;
}

/* Turns an enrollment result into the response. */
static enum MHD_Result
api_enroll_reply(struct http_req *r, const struct enroll_result *res, int created_status)
{
	char loc[64], ra[16];
	json_t *j;

	if (res->request_id[0] != '\0') {
		snprintf(loc, sizeof(loc), "/api/v1/requests/%s", res->request_id);
		(void)http_req_add_header(r, MHD_HTTP_HEADER_LOCATION, loc);
	}
	switch (res->outcome) {
	case ENROLL_ISSUED:
		return http_reply(r, created_status, API_CHAIN_TYPE, res->chain.data, res->chain.len);
	case ENROLL_DENIED:
		return http_reply_error(r, LERR_DENIED, "%s",
					res->reason[0] ? res->reason : "denied by an admin");
	case ENROLL_EXPIRED:
		return http_reply_error(r, LERR_EXPIRED,
					"the request expired before anyone decided on it");
	case ENROLL_PENDING:
		break;
	}
	snprintf(ra, sizeof(ra), "%u", res->retry_after);
	(void)http_req_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	j = json_pack("{s:s, s:s, s:s, s:i}", "id", res->request_id, "state", "pending",
		      "reason", res->reason, "retry_after", (int)res->retry_after);
	if (res->conflict) {
		json_object_set_new(j, "error", json_string(lerr_str(LERR_CONFLICT)));
		json_object_set_new(j, "message", json_string(res->reason));
		return http_reply_json(r, 409, j);
	}
	return http_reply_json(r, 202, j);
}

/* The TLS client's chain (factory or current certificate), if any. */
static int
api_peer(struct http_req *r, gnutls_x509_crt_t *peer, unsigned *npeer)
{
	*npeer = 0;
	if (!r->tls)
		return 0;
	return httpd_peer_chain(r->conn, peer, ENROLL_PEER_MAX, npeer);
}

static void
api_peer_free(gnutls_x509_crt_t *peer, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(peer[i]);
}

/* POST /api/v1/enroll and POST /api/v1/renew share everything but the call. */
static enum MHD_Result
api_device_post(struct http_req *r, int renew)
{
	gnutls_x509_crt_t peer[ENROLL_PEER_MAX];
	struct enroll_result res;
	struct enroll_ask a;
	char addr[64];
	unsigned npeer = 0;
	enum MHD_Result ret;
	struct lerr e;
	int rc;

	if (api_rate_limited(r, &ret))
		return ret;
	if (!api_csr_type_ok(r))
		return http_reply_error(r, LERR_MEDIA_TYPE,
					"send the PKCS#10 request as application/pkcs10 (DER) "
					"or application/x-pem-file (PEM)");
	if (r->body.len == 0)
		return http_reply_error(r, LERR_BAD_CSR, "the request body is empty");
	if (r->body.len > CSR_MAX_BYTES)
		return http_reply_error_status(r, 413, LERR_TOO_LARGE,
					"a certificate request of %zu bytes exceeds the limit of %d",
					r->body.len, CSR_MAX_BYTES);
	if (api_peer(r, peer, &npeer) != 0)
		return http_reply_error(r, LERR_BAD_REQUEST,
					"the TLS client certificate chain is unusable or too long");
	if (httpd_client_addr(r->conn, addr, sizeof(addr)) != 0)
		snprintf(addr, sizeof(addr), "?");
	memset(&a, 0, sizeof(a));
	a.csr = r->body.data;
	a.csr_len = r->body.len;
	a.source = addr;
	a.secret = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Lanca-Secret");
	a.peer = peer;
	a.npeer = npeer;
	enroll_result_init(&res);
	lerr_clear(&e);
	rc = renew ? enroll_renew(r->app->enroll, &a, &res, &e) :
		     enroll_submit(r->app->enroll, &a, &res, &e);
	ret = rc == 0 ? api_enroll_reply(r, &res, 201) : http_reply_lerr(r, &e);
	enroll_result_free(&res);
	api_peer_free(peer, npeer);
	return ret;
}

enum MHD_Result
api_enroll(struct http_req *r)
{
	return api_device_post(r, 0);
}

enum MHD_Result
api_renew(struct http_req *r)
{
	return api_device_post(r, 1);
}

/* GET /api/v1/requests/{id}: JSON by default; with Accept:
 * application/pem-certificate-chain, the chain itself once issued. */
enum MHD_Result
api_request_get(struct http_req *r)
{
	char id[STORE_REQUEST_ID_LEN + 1];
	struct enroll_result res;
	const char *accept;
	enum MHD_Result ret;
	struct lerr e;
	json_t *j;

	if (api_request_id(http_param(r, "id"), id) != 0)
		return http_reply_error(r, LERR_NOT_FOUND, "no such request");
	enroll_result_init(&res);
	if (enroll_poll(r->app->enroll, id, &res, &e) != 0) {
		ret = http_reply_lerr(r, &e);
		goto out;
	}
	accept = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	if (accept != NULL && strstr(accept, API_CHAIN_TYPE) != NULL) {
		ret = api_enroll_reply(r, &res, 200);
		goto out;
	}
	j = json_pack("{s:s, s:s, s:s}", "id", res.request_id, "state",
		      res.outcome == ENROLL_ISSUED ? "issued" : res.outcome == ENROLL_DENIED ?
		      "denied" : res.outcome == ENROLL_EXPIRED ? "expired" : "pending",
		      "reason", res.reason);
	if (j != NULL && res.outcome == ENROLL_ISSUED) {
		json_object_set_new(j, "serial", json_string(res.serial));
		json_object_set_new(j, "chain", json_stringn((const char *)res.chain.data,
							     res.chain.len));
	}
	if (j != NULL && res.outcome == ENROLL_PENDING)
		json_object_set_new(j, "retry_after", json_integer(res.retry_after));
	ret = http_reply_json(r, 200, j);
out:
	enroll_result_free(&res);
	return ret;
}

/* ---- admin actions ---- */

/* Reads an optional JSON object body (NULL when the body is empty). */
static int
api_json_body(struct http_req *r, json_t **out, enum MHD_Result *ret)
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

/* Reads an integer member in [0, max] (absent: 0). */
static int
api_json_uint(json_t *body, const char *key, unsigned max, unsigned *out)
{
	json_t *v = body != NULL ? json_object_get(body, key) : NULL;

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
		return -1;
	*out = (unsigned)json_integer_value(v);
	return 0;
}

enum MHD_Result
api_press(struct http_req *r)
{
	char actor[96];
	unsigned seconds, count;
	enum MHD_Result ret;
	json_t *body = NULL;
	struct lerr e;

	if (api_json_body(r, &body, &ret) != 0)
		return ret;
	if (api_json_uint(body, "seconds", WINDOW_SECONDS_MAX, &seconds) != 0 ||
	    api_json_uint(body, "count", WINDOW_COUNT_MAX, &count) != 0) {
		json_decref(body);
		return http_reply_error(r, LERR_BAD_REQUEST,
					"seconds is 1 to %d and count 1 to %d",
					WINDOW_SECONDS_MAX, WINDOW_COUNT_MAX);
	}
	json_decref(body);
	snprintf(actor, sizeof(actor), "admin %s", r->user);
	if (enroll_press(r->app->enroll, seconds, count, actor, &e) != 0)
		return http_reply_lerr(r, &e);
	return http_reply_json(r, 200, json_pack("{s:o}", "window", enroll_window_json(r->app->enroll)));
}

static int
api_request_row_json(const struct store_request *rq, void *arg)
{
	char key[65];
	json_t *row;

	hex_encode(rq->key_id, sizeof(rq->key_id), key);
	row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b}",
			"id", rq->id, "device_id", rq->device_id, "key", key,
			"state", store_req_state_str(rq->state),
			"auth", store_auth_str(rq->auth), "source", rq->source, "reason", rq->reason,
			"created_at", (json_int_t)rq->created_at,
			"last_seen", (json_int_t)rq->last_seen, "contested", rq->contested);
	return row != NULL && json_array_append_new((json_t *)arg, row) == 0 ? 0 : -1;
}

/* GET /api/v1/requests[?state=pending] */
enum MHD_Result
api_requests_list(struct http_req *r)
{
	const char *state = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "state");
	enum store_req_state want = STORE_REQ_ANY;
	struct lerr e;
	json_t *list;

	if (state != NULL && store_req_state_parse(state, &want) != 0)
		return http_reply_error(r, LERR_BAD_REQUEST, "unknown state %.32s", state);
	list = json_array();
	if (list == NULL || store_request_each(r->app->store, want, 1000,
					       api_request_row_json, list, &e) != 0) {
		json_decref(list);
		return http_reply_lerr(r, &e);
	}
	return http_reply_json(r, 200, json_pack("{s:o, s:o}", "requests", list,
						 "window", enroll_window_json(r->app->enroll)));
}

enum MHD_Result
api_request_approve(struct http_req *r)
{
	char id[STORE_REQUEST_ID_LEN + 1], actor[96];
	struct enroll_result res;
	enum MHD_Result ret;
	struct lerr e;

	if (api_request_id(http_param(r, "id"), id) != 0)
		return http_reply_error(r, LERR_NOT_FOUND, "no such request");
	snprintf(actor, sizeof(actor), "admin %s", r->user);
	enroll_result_init(&res);
	if (enroll_approve(r->app->enroll, id, actor, &res, &e) != 0)
		ret = http_reply_lerr(r, &e);
	else
		ret = http_reply_json(r, 200, json_pack("{s:s, s:s, s:s}", "id", id,
							"state", "issued", "serial", res.serial));
	enroll_result_free(&res);
	return ret;
}

enum MHD_Result
api_request_deny(struct http_req *r)
{
	char id[STORE_REQUEST_ID_LEN + 1], actor[96];
	const char *reason = NULL;
	enum MHD_Result ret;
	json_t *body = NULL, *v;
	struct lerr e;

	if (api_json_body(r, &body, &ret) != 0)
		return ret;
	if (api_request_id(http_param(r, "id"), id) != 0) {
		json_decref(body);
		return http_reply_error(r, LERR_NOT_FOUND, "no such request");
	}
	v = body != NULL ? json_object_get(body, "reason") : NULL;
	if (v != NULL && (!json_is_string(v) || json_string_length(v) > 200)) {
		json_decref(body);
		return http_reply_error(r, LERR_BAD_REQUEST, "reason must be text of at most 200 bytes");
	}
	reason = v != NULL ? json_string_value(v) : NULL;
	snprintf(actor, sizeof(actor), "admin %s", r->user);
	if (enroll_deny(r->app->enroll, id, reason, actor, &e) != 0)
		ret = http_reply_lerr(r, &e);
	else
		ret = http_reply_json(r, 200, json_pack("{s:s, s:s}", "id", id, "state", "denied"));
	json_decref(body);
	return ret;
}
