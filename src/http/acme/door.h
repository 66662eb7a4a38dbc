/*
 * door.h - the ACME door's framing (RFC 8555 sections 6 and 7.1): what
 * every ACME request and answer has, whatever resource it is for.
 *
 * Owns: the POST pipeline (application/jose+json, the JWS read by jws.c,
 * its url against the request's own, the nonce taken once, the account
 * named by kid or the key in jwk, the signature verified), the answers'
 * headers (Replay-Nonce on every one, Link to the directory), RFC 7807
 * problem documents with ACME's error types, the URLs of lanca's ACME
 * objects and their JSON, and the three GET resources: the directory,
 * newNonce and renewalInfo (RFC 9773). The resources behind POST are
 * resources.c's; the decisions are daemon/acme.c's.
 */
#ifndef LANCA_HTTP_ACME_DOOR_H
#define LANCA_HTTP_ACME_DOOR_H

#include <jansson.h>
#include <microhttpd.h>

#include "common/lerr.h"
#include "http/route.h"
#include "http/acme/acme.h"
#include "http/acme/jws.h"
#include "daemon/acme.h"

#define ACME_PREFIX		"/acme/"
#define ACME_PROBLEM_TYPE	"application/problem+json"
#define ACME_URL_MAX		512

/* Which JWS a resource takes (RFC 8555 section 6.2). */
enum acme_signer {
	ACME_BY_KID = 1,	/* an account's request: kid, the account's key */
	ACME_BY_JWK = 2,	/* newAccount: jwk, a key with or without an account */
	ACME_BY_EITHER = 3,	/* revokeCert: an account's, or the certificate key's */
};

/* One POST's verified request. */
struct acme_req {
	struct http_req *r;
	struct jws jws;
	struct store_acme_account *acct;	/* the account (kid); NULL for jwk */
};

/* The POST pipeline for r (a route under ACME_PREFIX): 0 with q ready;
 * otherwise -1 with the problem document queued (*ret). Free q with
 * acme_req_free either way. */
int acme_req_begin(struct http_req *r, enum acme_signer by, struct acme_req *q,
		   enum MHD_Result *ret);
void acme_req_free(struct acme_req *q);
/* The per-address limit of every door (api_rate_take), for the requests
 * that make something: an account, an order, a validation, a
 * finalization, a revocation, a key change (polls are not counted: every
 * client polls). 1 when it queued 429 rateLimited (*ret). */
int acme_rate_limited(struct http_req *r, enum MHD_Result *ret);

/* base + path ("https://host:port/acme/...") into out: 0, or -1. */
int acme_url(const struct http_req *r, char *out, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Answers, each with a fresh Replay-Nonce and the directory's Link: a
 * problem document of type (ACME's word after
 * "urn:ietf:params:acme:error:"), JSON, or bytes. */
enum MHD_Result acme_problem(struct http_req *r, unsigned status, const char *type,
			     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* e's problem: the type that fits its code, or type when not NULL. */
enum MHD_Result acme_problem_lerr(struct http_req *r, const struct lerr *e, const char *type);
enum MHD_Result acme_reply_json(struct http_req *r, unsigned status, json_t *j);
enum MHD_Result acme_reply(struct http_req *r, unsigned status, const char *ctype,
			   const void *data, size_t len);

/* RFC 3339 text of t (UTC) into out (32 bytes). */
void acme_time(int64_t t, char out[32]);
/* The JSON of lanca's ACME objects (new references, NULL when out of
 * memory). */
json_t *acme_account_json(const struct http_req *r, const struct store_acme_account *a);
json_t *acme_order_json(const struct http_req *r, const struct store_acme_order *o);
json_t *acme_authz_json(const struct http_req *r, const struct store_acme_authz *z);
json_t *acme_chall_json(const struct http_req *r, const struct store_acme_authz *z,
			const char *type);

#endif
