/*
 * api_metrics.c - GET /metrics, the Prometheus text exposition of the
 * CA's state (daemon/metrics.c says what is in it), and the bearer half
 * of its access check: a scraper sends "Authorization: Bearer TOKEN" with
 * the token `lanca metrics token` printed (daemon/metrics_token.c checks
 * it), an administrator's browser its session cookie. Either is enough;
 * without one the answer is 401 with a WWW-Authenticate challenge
 * (RFC 6750) and the usual JSON error.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/api.h"
#include "common/prom.h"
#include "daemon/metrics.h"
#include "daemon/metrics_token.h"

#define API_METRICS_CHALLENGE	"Bearer realm=\"lanca metrics\""

/* The challenge of RFC 6750 on every 401 of this route. */
static void
api_metrics_challenge(struct http_req *r)
{
	(void)http_req_add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, API_METRICS_CHALLENGE);
}

enum MHD_Result
api_metrics_unauthorized(struct http_req *r)
{
	api_metrics_challenge(r);
	return http_reply_error(r, LERR_UNAUTHORIZED, "/metrics takes an admin session or "
				"\"Authorization: Bearer TOKEN\" with the token `lanca metrics token` "
				"made");
}

int
api_metrics_bearer(struct http_req *r, const char *authorization, enum MHD_Result *reply)
{
	const char *tok = authorization;
	struct lerr e;

	lerr_clear(&e);
	/* RFC 7235: the scheme's name is case-insensitive. */
	if (strncasecmp(tok, "Bearer ", 7) != 0) {
		*reply = api_metrics_unauthorized(r);
		return -1;
	}
	tok += 7;
	while (*tok == ' ')
		tok++;
	if (metrics_token_check(r->app->store, tok, &e) != 0) {
		if (e.code == LERR_UNAUTHORIZED)
			api_metrics_challenge(r);
		*reply = http_reply_lerr(r, &e);
		return -1;
	}
	snprintf(r->user, sizeof(r->user), "metrics-token");
	return 0;
}

/* GET /metrics */
enum MHD_Result
api_metrics(struct http_req *r)
{
	const struct metrics_src m = {
		r->app->store, r->app->enroll, r->app->signer, &r->app->ca,
		(int64_t)r->app->started, r->app->backups, r->app->acme,
	};
	enum MHD_Result ret;
	struct lerr e;
	struct buf b;

	lerr_clear(&e);
	buf_init(&b, METRICS_PAGE_MAX);
	if (metrics_render(&m, (int64_t)time(NULL), &b, &e) != 0)
		ret = http_reply_lerr(r, &e);
	else
		ret = http_reply(r, 200, PROM_CONTENT_TYPE, b.data, b.len);
	buf_free(&b);
	return ret;
}
