/*
 * api_device.c - the endpoints devices call: enroll, poll a request,
 * renew (the admin's actions are api_admin.c's). Each handler checks what HTTP can check (content type, rate,
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

#include "http/api.h"
#include "daemon/admin.h"
#include "daemon/enroll.h"
#include "http/httpd.h"
#include "daemon/ratelimit.h"

#define API_CHAIN_TYPE	"application/pem-certificate-chain"

/* Copies the {id} path parameter if it is a request id (admin_id_check:
 * the one definition of the form); -1 otherwise. */
static int
api_request_id(const char *p, char id[STORE_REQUEST_ID_LEN + 1])
{
	struct lerr e;

	if (admin_id_check(p, &e) != 0)
		return -1;
	memcpy(id, p, STORE_REQUEST_ID_LEN + 1);
	return 0;
}

/* Only PKCS#10 in DER (application/pkcs10) or PEM (application/x-pem-file). */
static int
api_csr_type_ok(struct http_req *r)
{
	return http_media_type_is(r, "application/pkcs10") ||
	       http_media_type_is(r, "application/x-pem-file");
}

int
api_rate_take(struct http_req *r, char retry_s[16])
{
	const union MHD_ConnectionInfo *ci;
	struct timespec ts;
	double retry = 0;

	if (r->app->ratelimit == NULL)
		return 0;
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ratelimit_take(r->app->ratelimit, ci->client_addr,
			   (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, &retry))
		return 0;
	snprintf(retry_s, 16, "%u", (unsigned)(retry < 1 ? 1 : retry + 0.999));
	return 1;
}

/* 429 when this address has asked too often. Returns 1 if it replied. */
int
api_rate_limited(struct http_req *r, enum MHD_Result *ret)
{
	char ra[16];

	if (!api_rate_take(r, ra))
		return 0;
	(void)http_req_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	*ret = http_reply_error(r, LERR_RATE_LIMITED,
				"too many requests from this address: retry in %s s", ra);
	return 1;
}

enum MHD_Result
api_reply_closed(struct http_req *r, const struct enroll_result *res)
{
	if (res->outcome == ENROLL_DENIED)
		return http_reply_error(r, LERR_DENIED, "%s",
					res->reason[0] ? res->reason : "denied by an admin");
	return http_reply_error(r, LERR_EXPIRED,
				"the request expired before anyone decided on it");
}

/* The client's socket address for the wrong-secret counter. */
static const struct sockaddr *
api_client_sa(const struct http_req *r)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return ci != NULL ? ci->client_addr : NULL;
}

int
api_secret_begin(struct http_req *r, enum MHD_Result *ret)
{
	char retry[24];
	long wait;

	wait = ratelimit_fails_begin(r->app->secret_fails, api_client_sa(r),
				     (int64_t)ratelimit_now());
	if (wait <= 0)
		return 0;
	snprintf(retry, sizeof(retry), "%ld", wait);
	(void)http_req_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	*ret = http_reply_error(r, LERR_RATE_LIMITED, "too many wrong secrets; try again in %ld s",
				wait);
	return 1;
}

void
api_secret_end(struct http_req *r, int rc, const struct enroll_result *res)
{
	const struct sockaddr *sa = api_client_sa(r);

	/* A wrong secret counts whatever the answer (a 503 when its audit
	 * row could not be written): a full disk gives no free guesses. */
	if (rc != 0 && res != NULL && res->wrong_secret)
		ratelimit_fails_note(r->app->secret_fails, sa, (int64_t)ratelimit_now());
	else if (rc == 0 && res != NULL && res->auth == STORE_AUTH_PREAUTH)
		ratelimit_fails_clear(r->app->secret_fails, sa);	/* the secret was right */
	else
		ratelimit_fails_end(r->app->secret_fails, sa);
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
	case ENROLL_EXPIRED:
		return api_reply_closed(r, res);
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
int
api_peer(struct http_req *r, gnutls_x509_crt_t *peer, unsigned *npeer)
{
	*npeer = 0;
	if (!r->tls)
		return 0;
	return httpd_peer_chain(r->conn, peer, ENROLL_PEER_MAX, npeer);
}

void
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
	a.door = STORE_DOOR_API;
	a.secret = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Lanca-Secret");
	a.peer = peer;
	a.npeer = npeer;
	enroll_result_init(&res);
	if (a.secret != NULL && api_secret_begin(r, &ret)) {
		api_peer_free(peer, npeer);
		return ret;
	}
	lerr_clear(&e);
	rc = renew ? enroll_renew(r->app->enroll, &a, &res, &e) :
		     enroll_submit(r->app->enroll, &a, &res, &e);
	if (a.secret != NULL)
		api_secret_end(r, rc, &res);
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
