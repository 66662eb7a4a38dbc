/*
 * lerr.c - the error table and filling struct lerr (see lerr.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/lerr.h"

static const struct lerr_info {
	const char *str;
	int http;
	const char *text;
} lerr_table[LERR_COUNT] = {
	[LERR_NONE] = { "none", 200, "no error" },
	[LERR_BAD_CSR] = { "bad_csr", 400, "the request is not a valid PKCS#10 CSR" },
	[LERR_BAD_SIGNATURE] = { "bad_signature", 400, "the request's signature does not verify" },
	[LERR_WEAK_KEY] = { "weak_key", 400, "the key is too weak" },
	[LERR_UNSUPPORTED_KEY] = { "unsupported_key", 400, "the key type is not supported" },
	[LERR_FORBIDDEN_NAME] = { "forbidden_name", 400, "a name is outside what this CA may sign" },
	[LERR_BAD_NAME] = { "bad_name", 400, "a name is malformed" },
	[LERR_TOO_LARGE] = { "too_large", 400, "the input is too large" },
	[LERR_BAD_REQUEST] = { "bad_request", 400, "the request is malformed" },
	[LERR_BAD_VALIDITY] = { "bad_validity", 400, "the requested lifetime is not allowed" },
	[LERR_INVARIANT] = { "invariant", 500, "a certificate failed its final check" },
	[LERR_NOT_FOUND] = { "not_found", 404, "not found" },
	[LERR_METHOD] = { "method_not_allowed", 405, "method not allowed" },
	[LERR_CONFLICT] = { "conflict", 409, "it belongs to someone else" },
	[LERR_FORBIDDEN] = { "forbidden", 403, "not allowed" },
	[LERR_UNAUTHORIZED] = { "unauthorized", 401, "login required" },
	[LERR_MEDIA_TYPE] = { "unsupported_media_type", 415, "wrong content type" },
	[LERR_RATE_LIMITED] = { "rate_limited", 429, "too many requests: try again later" },
	[LERR_DENIED] = { "denied", 403, "the request was denied" },
	[LERR_EXPIRED] = { "expired", 410, "the request has expired" },
	[LERR_STORE] = { "store", 500, "the database failed" },
	[LERR_SIGNER] = { "signer", 503, "the signer is not available" },
	[LERR_INTERNAL] = { "internal", 500, "internal error" },
	[LERR_BAD_SECRET] = { "bad_secret", 403, "missing or wrong pre-authorisation secret" },
	[LERR_STORE_UNAVAILABLE] = { "store_unavailable", 503,
				     "the certificate store cannot be written now" },
};

static const struct lerr_info *
lerr_info(enum lerr_code code)
{
	if ((int)code < 0 || code >= LERR_COUNT || lerr_table[code].str == NULL)
		return &lerr_table[LERR_INTERNAL];
	return &lerr_table[code];
}

static int
lerr_vset(struct lerr *e, enum lerr_code code, int http, const char *fmt, va_list ap)
{
	if (e == NULL)
		return -1;
	e->code = code;
	e->http = http;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return -1;
}

int
lerr_set(struct lerr *e, enum lerr_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lerr_vset(e, code, lerr_info(code)->http, fmt, ap);
	va_end(ap);
	return -1;
}

int
lerr_set_http(struct lerr *e, enum lerr_code code, int http, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lerr_vset(e, code, http >= 100 && http <= 599 ? http : lerr_info(code)->http, fmt, ap);
	va_end(ap);
	return -1;
}

void
lerr_clear(struct lerr *e)
{
	if (e == NULL)
		return;
	e->code = LERR_NONE;
	e->http = 0;
	e->msg[0] = '\0';
}

const char *
lerr_str(enum lerr_code code)
{
	return lerr_info(code)->str;
}

int
lerr_http(enum lerr_code code)
{
	return lerr_info(code)->http;
}

const char *
lerr_text(enum lerr_code code)
{
	return lerr_info(code)->text;
}

enum lerr_code
lerr_from_str(const char *s)
{
	int i;

	if (s == NULL)
		return LERR_INTERNAL;
	for (i = 1; i < LERR_COUNT; i++)
		if (lerr_table[i].str != NULL && strcmp(lerr_table[i].str, s) == 0)
			return (enum lerr_code)i;
	return LERR_INTERNAL;
}
