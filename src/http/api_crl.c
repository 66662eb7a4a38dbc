/*
 * api_crl.c - GET /crl and /crl/{id}: the newest CRL of the issuing CA
 * whose leaves point there (revocation_ca_at), as DER
 * (application/pkix-crl, RFC 5280 §4.2.1.13's distribution point), on
 * plain HTTP and HTTPS alike, for anyone: a CRL is signed and public.
 * Its number is its ETag and its thisUpdate its Last-Modified; caches
 * may keep it until its nextUpdate, and a client that has it already
 * gets 304. Which CRL is newest and what it holds is daemon/revocation.c's.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/revocation.h"
#include "http/api.h"
#include "http/app.h"

/* t as an HTTP date (RFC 9110 §5.6.7). */
static void
api_crl_date(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		snprintf(out, n, "Thu, 01 Jan 1970 00:00:00 GMT");
}

enum MHD_Result
api_crl(struct http_req *r)
{
	struct revocation_crl c;
	char etag[32], date[64], cache[64];
	const char *inm;
	int64_t left, ca_id = 0;
	enum MHD_Result ret;
	struct lerr e;

	lerr_clear(&e);
	if (revocation_ca_at(r->app->store, r->url, &ca_id, &e) != 0)
		return http_reply_lerr(r, &e);
	if (revocation_newest(r->app->store, ca_id, &c, &e) != 0) {
		if (e.code == LERR_NOT_FOUND)
			return http_reply_error(r, LERR_NOT_FOUND, "no CRL was made yet");
		return http_reply_lerr(r, &e);
	}
	snprintf(etag, sizeof(etag), "\"crl-%lld\"", (long long)c.number);
	left = c.next_update - (int64_t)time(NULL);
	snprintf(cache, sizeof(cache), "public, max-age=%lld", (long long)(left > 0 ? left : 0));
	api_crl_date(c.this_update, date, sizeof(date));
	if (http_req_add_header(r, "ETag", etag) != 0 ||
	    http_req_add_header(r, "Last-Modified", date) != 0 ||
	    http_req_add_header(r, "Cache-Control", cache) != 0) {
		revocation_crl_clear(&c);
		return http_reply_error(r, LERR_INTERNAL, "cannot add the CRL's headers");
	}
	inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (inm != NULL && strcmp(inm, etag) == 0)
		ret = http_reply(r, 304, "application/pkix-crl", "", 0);
	else
		ret = http_reply(r, 200, "application/pkix-crl", c.der, c.der_len);
	revocation_crl_clear(&c);
	return ret;
}
