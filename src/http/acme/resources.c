/*
 * resources.c - the ACME resources behind POST (RFC 8555 section 7):
 * newAccount and the account, newOrder, orders, an order and its
 * finalisation, authorisations and challenges, certificates, revokeCert
 * and keyChange. Each handler runs door.c's pipeline, hands what the
 * verified request asks to daemon/acme.c, and answers with the object
 * as it is then (see acme.h for the routes' list).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "ca/csr.h"
#include "common/buf.h"
#include "daemon/acme.h"
#include "http/acme/acme.h"
#include "http/acme/door.h"
#include "http/app.h"
#include "http/httpd.h"
#include "http/reply.h"

#define ACME_CHAIN_TYPE	"application/pem-certificate-chain"

/* The {id} parameter as an ACME id, or NULL. */
static const char *
acme_param_id(const struct http_req *r, const char *name)
{
	const char *id = http_param(r, name);

	return id != NULL && strlen(id) == STORE_ACME_ID_LEN ? id : NULL;
}

/* The payload must be POST-as-GET's "" (RFC 8555 6.3). */
static int
acme_post_as_get(struct http_req *r, const struct acme_req *q, enum MHD_Result *ret)
{
	if (q->jws.payload == NULL)
		return 0;
	*ret = acme_problem(r, 400, "malformed", "this resource is fetched with POST-as-GET: "
			    "an empty payload");
	return -1;
}

/* The payload's member name as base64url bytes (a CSR, a certificate):
 * 0 with *out (malloc'd) and *len, or -1 when it is missing, empty,
 * longer than max characters or not base64url. */
static int
acme_payload_b64(const struct acme_req *q, const char *name, size_t max, unsigned char **out,
		 size_t *len)
{
	const char *b64;
	size_t n;

	*out = NULL;
	*len = 0;
	b64 = q->jws.payload != NULL ? json_string_value(json_object_get(q->jws.payload, name)) :
				       NULL;
	n = b64 != NULL ? strlen(b64) : 0;
	if (n == 0 || n > max || (*out = malloc(n)) == NULL)
		return -1;
	if (sodium_base642bin(*out, n, b64, n, NULL, len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || *len == 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Location: the URL of object kind ("acct", "order") id. */
static void
acme_location(struct http_req *r, const char *kind, const char *id)
{
	char url[ACME_URL_MAX];

	if (acme_url(r, url, sizeof(url), ACME_PREFIX "%s/%s", kind, id) == 0)
		(void)http_req_add_header(r, MHD_HTTP_HEADER_LOCATION, url);
}

/* The client's address, for the records. */
static void
acme_source(const struct http_req *r, char *out, size_t n)
{
	if (httpd_client_addr(r->conn, out, n) != 0)
		snprintf(out, n, "?");
}

/* ---- accounts ---- */

/* Checks an externalAccountBinding for the new account's key: 0 with
 * kid (the EAB key's id), or -1 with the problem queued. */
static int
acme_eab_check(struct http_req *r, const struct acme_req *q, const json_t *eab,
	       char kid[JWS_EAB_KID_MAX + 1], enum MHD_Result *ret)
{
	unsigned char key[ACME_EAB_KEY_LEN];
	struct jws_eab x;
	struct lerr e;
	int rc = -1;

	if (jws_eab_parse(eab, &x, &e) != 0) {
		*ret = acme_problem_lerr(r, &e, "malformed");
		return -1;
	}
	if (strcmp(x.url, q->jws.url) != 0 || strcmp(x.thumbprint, q->jws.thumbprint) != 0) {
		*ret = acme_problem(r, 400, "malformed", "the external account binding is for "
				    "another URL or another key");
		goto out;
	}
	if (acme_eab_key(r->app->acme, x.kid, key, &e) != 0) {
		*ret = acme_problem_lerr(r, &e, "unauthorized");
		goto out;
	}
	if (jws_eab_verify(&x, key, sizeof(key), &e) != 0) {
		*ret = acme_problem_lerr(r, &e, "unauthorized");
		goto out;
	}
	memcpy(kid, x.kid, sizeof(x.kid));
	rc = 0;
out:
	sodium_memzero(key, sizeof(key));
	jws_eab_free(&x);
	return rc;
}

enum MHD_Result
acme_new_account(struct http_req *r)
{
	struct store_acme_account *acct = NULL;
	struct acme_account_ask ask;
	char kid[JWS_EAB_KID_MAX + 1], source[64], *contact = NULL;
	const json_t *p, *c;
	enum MHD_Result ret;
	struct acme_req q;
	struct lerr e;
	int lrc;

	if (acme_rate_limited(r, &ret))
		return ret;
	if (acme_req_begin(r, ACME_BY_JWK, &q, &ret) != 0)
		goto out;
	p = q.jws.payload;
	if (p == NULL) {
		ret = acme_problem(r, 400, "malformed", "newAccount needs a JSON payload");
		goto out;
	}
	if ((lrc = acme_account_by_key(r->app->acme, q.jws.thumbprint, &acct, &e)) < 0) {
		ret = acme_problem_lerr(r, &e, NULL);
		goto out;
	}
	if (lrc == 0) {
		/* RFC 8555 7.3.1: the key has an account: that one, 200. */
		acme_location(r, "acct", acct->id);
		ret = acme_reply_json(r, 200, acme_account_json(r, acct));
		goto out;
	}
	if (json_is_true(json_object_get(p, "onlyReturnExisting"))) {
		ret = acme_problem(r, 400, "accountDoesNotExist", "this key has no account");
		goto out;
	}
	c = json_object_get(p, "contact");
	if (acme_contact_check(c, &e) != 0) {
		ret = acme_problem_lerr(r, &e, "invalidContact");
		goto out;
	}
	memset(&ask, 0, sizeof(ask));
	if (json_object_get(p, "externalAccountBinding") != NULL) {
		if (acme_eab_check(r, &q, json_object_get(p, "externalAccountBinding"), kid,
				   &ret) != 0)
			goto out;
		ask.eab_kid = kid;
	}
	if (c != NULL && (contact = json_dumps(c, JSON_COMPACT)) == NULL) {
		ret = acme_problem(r, 500, "serverInternal", "out of memory");
		goto out;
	}
	acme_source(r, source, sizeof(source));
	ask.jwk = q.jws.jwk_text;
	ask.thumbprint = q.jws.thumbprint;
	ask.contact = contact;
	ask.source = source;
	if (acme_account_new(r->app->acme, &ask, &acct, &e) != 0) {
		ret = acme_problem_lerr(r, &e, NULL);
		goto out;
	}
	acme_location(r, "acct", acct->id);
	ret = acme_reply_json(r, 201, acme_account_json(r, acct));
out:
	free(contact);
	acme_account_free(acct);
	acme_req_free(&q);
	return ret;
}

enum MHD_Result
acme_account(struct http_req *r)
{
	const char *id = acme_param_id(r, "id");
	struct store_acme_account *now = NULL;
	enum store_acme_status status;
	const json_t *p, *c, *st;
	char *contact = NULL;
	enum MHD_Result ret;
	struct acme_req q;
	struct lerr e;

	if (acme_req_begin(r, ACME_BY_KID, &q, &ret) != 0)
		goto out;
	if (id == NULL || strcmp(id, q.acct->id) != 0) {
		ret = acme_problem(r, 403, "unauthorized", "this is not the signer's account");
		goto out;
	}
	p = q.jws.payload;
	c = p != NULL ? json_object_get(p, "contact") : NULL;
	st = p != NULL ? json_object_get(p, "status") : NULL;
	if (c == NULL && st == NULL) {
		ret = acme_reply_json(r, 200, acme_account_json(r, q.acct));
		goto out;
	}
	if (acme_contact_check(c, &e) != 0) {
		ret = acme_problem_lerr(r, &e, "invalidContact");
		goto out;
	}
	status = STORE_ACME_VALID;
	if (st != NULL) {
		if (!json_is_string(st) || strcmp(json_string_value(st), "deactivated") != 0) {
			ret = acme_problem(r, 400, "malformed", "an account's status can only be "
					   "set to \"deactivated\"");
			goto out;
		}
		status = STORE_ACME_DEACTIVATED;
	}
	if (c != NULL && (contact = json_dumps(c, JSON_COMPACT)) == NULL) {
		ret = acme_problem(r, 500, "serverInternal", "out of memory");
		goto out;
	}
	if (acme_account_update(r->app->acme, q.acct, contact, status == STORE_ACME_DEACTIVATED,
				&now, &e) != 0) {
		ret = acme_problem_lerr(r, &e, NULL);
		goto out;
	}
	ret = acme_reply_json(r, 200, acme_account_json(r, now));
out:
	free(contact);
	acme_account_free(now);
	acme_req_free(&q);
	return ret;
}

enum MHD_Result
acme_account_orders(struct http_req *r)
{
	char ids[64][STORE_ACME_ID_LEN + 1], url[ACME_URL_MAX];
	const char *id = acme_param_id(r, "id");
	enum MHD_Result ret;
	struct acme_req q;
	json_t *list;
	size_t i, n = 0;
	struct lerr e;

	if (acme_req_begin(r, ACME_BY_KID, &q, &ret) != 0 || acme_post_as_get(r, &q, &ret) != 0)
		goto out;
	if (id == NULL || strcmp(id, q.acct->id) != 0) {
		ret = acme_problem(r, 403, "unauthorized", "this is not the signer's account");
		goto out;
	}
	if (acme_orders_of(r->app->acme, q.acct, ids, 64, &n, &e) != 0) {
		ret = acme_problem_lerr(r, &e, NULL);
		goto out;
	}
	list = json_array();
	for (i = 0; list != NULL && i < n; i++)
		if (acme_url(r, url, sizeof(url), ACME_PREFIX "order/%s", ids[i]) == 0)
			json_array_append_new(list, json_string(url));
	ret = acme_reply_json(r, 200, json_pack("{s:o}", "orders", list));
out:
	acme_req_free(&q);
	return ret;
}

/* ---- orders ---- */

enum MHD_Result
acme_new_order(struct http_req *r)
{
	struct store_acme_order *o = NULL;
	const json_t *id;
	const char *type;
	enum MHD_Result ret;
	struct acme_req q;
	struct lerr e;
	size_t i;

	if (acme_rate_limited(r, &ret))
		return ret;
	if (acme_req_begin(r, ACME_BY_KID, &q, &ret) != 0)
		goto out;
	if (q.jws.payload == NULL) {
		ret = acme_problem(r, 400, "malformed", "newOrder needs a JSON payload");
		goto out;
	}
	if (json_object_get(q.jws.payload, "notBefore") != NULL ||
	    json_object_get(q.jws.payload, "notAfter") != NULL) {
		ret = acme_problem(r, 400, "malformed", "lanca sets a certificate's validity "
				   "itself: leave out notBefore and notAfter");
		goto out;
	}
	/* RFC 8555 6.7: a type lanca never issues for (acme_order_new takes
	 * "dns" and "ip") is unsupported, not a rejected value. */
	json_array_foreach(json_object_get(q.jws.payload, "identifiers"), i, id) {
		type = json_string_value(json_object_get(id, "type"));
		if (type != NULL && strcmp(type, "dns") != 0 && strcmp(type, "ip") != 0) {
			ret = acme_problem(r, 400, "unsupportedIdentifier", "identifier type "
					   "\"%.32s\": lanca takes \"dns\" and \"ip\"", type);
			goto out;
		}
	}
	if (acme_order_new(r->app->acme, q.acct, json_object_get(q.jws.payload, "identifiers"),
			   &o, &e) != 0) {
		ret = acme_problem_lerr(r, &e, NULL);
		goto out;
	}
	acme_location(r, "order", o->id);
	ret = acme_reply_json(r, 201, acme_order_json(r, o));
out:
	free(o);
	acme_req_free(&q);
	return ret;
}

enum MHD_Result
acme_order(struct http_req *r)
{
	struct store_acme_order *o = NULL;
	const char *id = acme_param_id(r, "id");
	enum MHD_Result ret;
	struct acme_req q;
	struct lerr e;

	if (acme_req_begin(r, ACME_BY_KID, &q, &ret) != 0 || acme_post_as_get(r, &q, &ret) != 0)
		goto out;
	if (id == NULL || acme_order_get(r->app->acme, q.acct, id, &o, &e) != 0) {
		ret = acme_problem(r, 404, "malformed", "no such order");
		goto out;
	}
	ret = acme_reply_json(r, 200, acme_order_json(r, o));
out:
	free(o);
	acme_req_free(&q);
	return ret;
}

enum MHD_Result
acme_finalize_post(struct http_req *r)
{
	struct store_acme_order *o = NULL;
	const char *id = acme_param_id(r, "id");
	unsigned char *der = NULL;
	size_t der_len = 0;
	char source[64];
	enum MHD_Result ret;
	struct acme_req q;
	struct lerr e;

	if (acme_rate_limited(r, &ret))
		return ret;
	if (acme_req_begin(r, ACME_BY_KID, &q, &ret) != 0)
		goto out;
	if (id == NULL) {
		ret = acme_problem(r, 404, "malformed", "no such order");
		goto out;
	}
	if (acme_payload_b64(&q, "csr", 2 * CSR_MAX_BYTES, &der, &der_len) != 0) {
		ret = acme_problem(r, 400, "badCSR", "the payload's \"csr\" must be a PKCS#10 "
				   "request in base64url DER");
		goto out;
	}
	acme_source(r, source, sizeof(source));
	if (acme_finalize(r->app->acme, q.acct, id, der, der_len, source, &o, &e) != 0) {
		ret = e.code == LERR_CONFLICT ?
			acme_problem(r, 403, "orderNotReady", "%s", e.msg) :
			e.code == LERR_NOT_FOUND ? acme_problem(r, 404, "malformed", "%s", e.msg) :
			acme_problem_lerr(r, &e, NULL);
		goto out;
	}
	acme_location(r, "order", o->id);
	ret = acme_reply_json(r, 200, acme_order_json(r, o));
out:
	free(der);
	free(o);
	acme_req_free(&q);
	return ret;
}

/* ---- authorisations and challenges ---- */

static int acme_chall_offered(const struct http_req *r, const struct store_acme_authz *z,
			      const char *type);

enum MHD_Result
acme_authz(struct http_req *r)
{
	const char *id = acme_param_id(r, "id");
	struct store_acme_authz z;
	const json_t *st;
	enum MHD_Result ret;
	struct acme_req q;
	struct lerr e;
	int rc;

	if (acme_req_begin(r, ACME_BY_KID, &q, &ret) != 0)
		goto out;
	st = q.jws.payload != NULL ? json_object_get(q.jws.payload, "status") : NULL;
	if (q.jws.payload != NULL &&
	    (!json_is_string(st) || strcmp(json_string_value(st), "deactivated") != 0 ||
	     json_object_size(q.jws.payload) != 1)) {
		ret = acme_problem(r, 400, "malformed", "an authorization takes POST-as-GET, or "
				   "{\"status\": \"deactivated\"}");
		goto out;
	}
	if (id == NULL) {
		ret = acme_problem(r, 404, "malformed", "no such authorization");
		goto out;
	}
	rc = st != NULL ? acme_authz_deactivate(r->app->acme, q.acct, id, &z, &e) :
			  acme_authz_get(r->app->acme, q.acct, id, &z, &e);
	if (rc != 0) {
		ret = acme_problem_lerr(r, &e, NULL);
		goto out;
	}
	if (z.status == STORE_ACME_PENDING)
		(void)http_req_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "2");
	ret = acme_reply_json(r, 200, acme_authz_json(r, &z));
out:
	acme_req_free(&q);
	return ret;
}

enum MHD_Result
acme_chall(struct http_req *r)
{
	const char *id = acme_param_id(r, "id"), *type = http_param(r, "type");
	char up[ACME_URL_MAX], link[ACME_URL_MAX + 16];
	struct store_acme_authz z;
	enum MHD_Result ret;
	struct acme_req q;
	struct lerr e;
	int rc;

	if (acme_req_begin(r, ACME_BY_KID, &q, &ret) != 0)
		goto out;
	if (id == NULL || type == NULL) {
		ret = acme_problem(r, 404, "malformed", "no such challenge");
		goto out;
	}
	if (q.jws.payload != NULL && acme_rate_limited(r, &ret))
		goto out;
	/* "{}" says the client is ready (RFC 8555 7.5.1); "" only asks. */
	rc = q.jws.payload != NULL ? acme_challenge(r->app->acme, q.acct, id, type, &z, &e) :
				     acme_authz_get(r->app->acme, q.acct, id, &z, &e);
	if (rc != 0) {
		ret = acme_problem_lerr(r, &e, NULL);
		goto out;
	}
	if (!acme_chall_offered(r, &z, type)) {
		ret = acme_problem(r, 404, "malformed", "no such challenge");
		goto out;
	}
	if (acme_url(r, up, sizeof(up), ACME_PREFIX "authz/%s", id) == 0) {
		snprintf(link, sizeof(link), "<%s>;rel=\"up\"", up);
		(void)http_req_add_header(r, "Link", link);
	}
	ret = acme_reply_json(r, 200, acme_chall_json(r, &z, type));
out:
	acme_req_free(&q);
	return ret;
}

/* 1 if the authorisation offers challenge type. */
static int
acme_chall_offered(const struct http_req *r, const struct store_acme_authz *z, const char *type)
{
	const char *types[ACME_CHALL_TYPES];
	size_t i, n = acme_chall_types(r->app->acme, z, types);

	for (i = 0; i < n; i++)
		if (strcmp(types[i], type) == 0)
			return 1;
	return 0;
}

/* ---- certificates ---- */

enum MHD_Result
acme_cert(struct http_req *r)
{
	const char *id = acme_param_id(r, "id");
	enum MHD_Result ret;
	struct acme_req q;
	struct lerr e;
	struct buf pem;

	buf_init(&pem, 64 * 1024);
	if (acme_req_begin(r, ACME_BY_KID, &q, &ret) != 0 || acme_post_as_get(r, &q, &ret) != 0)
		goto out;
	if (id == NULL || acme_cert_chain(r->app->acme, q.acct, id, &pem, &e) != 0) {
		ret = acme_problem(r, 404, "malformed", "no such certificate");
		goto out;
	}
	ret = acme_reply(r, 200, ACME_CHAIN_TYPE, pem.data, pem.len);
out:
	buf_free(&pem);
	acme_req_free(&q);
	return ret;
}

enum MHD_Result
acme_revoke_cert(struct http_req *r)
{
	unsigned char *der = NULL;
	size_t der_len = 0;
	const json_t *reason;
	enum MHD_Result ret;
	struct acme_req q;
	struct lerr e;
	json_int_t code = 0;

	if (acme_rate_limited(r, &ret))
		return ret;
	if (acme_req_begin(r, ACME_BY_EITHER, &q, &ret) != 0)
		goto out;
	if (acme_payload_b64(&q, "certificate", JWS_BODY_MAX, &der, &der_len) != 0) {
		ret = acme_problem(r, 400, "malformed", "the payload's \"certificate\" must be a "
				   "certificate in base64url DER");
		goto out;
	}
	reason = json_object_get(q.jws.payload, "reason");
	if (reason != NULL) {
		if (!json_is_integer(reason) || (code = json_integer_value(reason)) < 0 ||
		    code > 10) {
			ret = acme_problem(r, 400, "badRevocationReason", "reason must be an RFC 5280 "
					   "reason code");
			goto out;
		}
	}
	if (acme_revoke(r->app->acme, q.acct, q.jws.jwk, der, der_len, (enum crl_reason)code,
			&e) != 0) {
		ret = e.code == LERR_CONFLICT ?
			acme_problem(r, 400, "alreadyRevoked", "%s", e.msg) :
			e.code == LERR_BAD_REQUEST ?
			acme_problem(r, 400, "badRevocationReason", "lanca takes reasons 0, 1, 3, "
				     "4 and 5") :
			acme_problem_lerr(r, &e, NULL);
		goto out;
	}
	ret = acme_reply(r, 200, NULL, "", 0);
out:
	free(der);
	acme_req_free(&q);
	return ret;
}

/* ---- key rollover ---- */

/* 1 if the JWK text stored for the account is the key in jwk (both
 * imported: their thumbprints agree). */
static int
acme_same_key(const char *stored, const json_t *jwk)
{
	char a[JWS_THUMBPRINT_LEN + 1], b[JWS_THUMBPRINT_LEN + 1];
	gnutls_pubkey_t ka = NULL, kb = NULL;
	json_t *s = json_loads(stored, 0, NULL);
	int same = 0;

	if (s != NULL && jws_jwk_import(s, &ka, a, NULL) == 0 &&
	    jws_jwk_import(jwk, &kb, b, NULL) == 0)
		same = strcmp(a, b) == 0;
	if (ka != NULL)
		gnutls_pubkey_deinit(ka);
	if (kb != NULL)
		gnutls_pubkey_deinit(kb);
	json_decref(s);
	return same;
}

enum MHD_Result
acme_key_change(struct http_req *r)
{
	char acct_url[ACME_URL_MAX], *text = NULL;
	struct jws inner;
	const char *account;
	enum MHD_Result ret;
	struct acme_req q;
	struct lerr e;

	memset(&inner, 0, sizeof(inner));
	if (acme_rate_limited(r, &ret))
		return ret;
	if (acme_req_begin(r, ACME_BY_KID, &q, &ret) != 0)
		goto out;
	if (q.jws.payload == NULL || (text = json_dumps(q.jws.payload, JSON_COMPACT)) == NULL ||
	    jws_parse_flags(text, strlen(text), JWS_INNER, &inner, &e) != 0) {
		ret = q.jws.payload == NULL || text == NULL ?
			acme_problem(r, 400, "malformed", "keyChange's payload is a JWS signed "
				     "with the new key") :
			acme_problem_lerr(r, &e, NULL);
		goto out;
	}
	/* RFC 8555 7.3.5: the same URL, signed by the new key, naming the
	 * account and its old key. */
	if (strcmp(inner.url, q.jws.url) != 0 || inner.payload == NULL ||
	    (account = json_string_value(json_object_get(inner.payload, "account"))) == NULL ||
	    json_object_get(inner.payload, "oldKey") == NULL) {
		ret = acme_problem(r, 400, "malformed", "the inner JWS must have the outer url and "
				   "a payload of \"account\" and \"oldKey\"");
		goto out;
	}
	if (jws_verify(&inner, inner.jwk, &e) != 0) {
		ret = acme_problem_lerr(r, &e, e.code == LERR_BAD_SIGNATURE ? "malformed" : NULL);
		goto out;
	}
	if (acme_url(r, acct_url, sizeof(acct_url), ACME_PREFIX "acct/%s", q.acct->id) != 0 ||
	    strcmp(account, acct_url) != 0 || strcmp(q.jws.kid, acct_url) != 0 ||
	    !acme_same_key(q.acct->jwk, json_object_get(inner.payload, "oldKey"))) {
		ret = acme_problem(r, 400, "malformed", "the inner JWS names another account or "
				   "another old key");
		goto out;
	}
	if (acme_account_rekey(r->app->acme, q.acct, inner.jwk_text, inner.thumbprint, &e) != 0) {
		if (e.code == LERR_CONFLICT) {
			struct store_acme_account *holder = NULL;

			/* RFC 8555 7.3.5: Location names the account that has it. */
			if (acme_account_by_key(r->app->acme, inner.thumbprint, &holder, &e) == 0)
				acme_location(r, "acct", holder->id);
			acme_account_free(holder);
			ret = acme_problem(r, 409, "malformed", "the new key has an ACME account "
					   "already");
		} else {
			ret = acme_problem_lerr(r, &e, NULL);
		}
		goto out;
	}
	ret = acme_reply_json(r, 200, acme_account_json(r, q.acct));
out:
	free(text);
	jws_free(&inner);
	acme_req_free(&q);
	return ret;
}
