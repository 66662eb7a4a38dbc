/*
 * lerr.c - filling and mapping struct lerr (see lerr.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/lerr.h"

int
lerr_set(struct lerr *e, int http, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code;
	e->http = http;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void
lerr_clear(struct lerr *e)
{
	if (e == NULL)
		return;
	e->code = NULL;
	e->http = 0;
	e->msg[0] = '\0';
}

const char *
lerr_code_intern(const char *code)
{
	static const char *const known[] = {
		LERR_BAD_CSR, LERR_BAD_SIGNATURE, LERR_WEAK_KEY, LERR_UNSUPPORTED_KEY,
		LERR_FORBIDDEN_NAME, LERR_BAD_NAME, LERR_TOO_LARGE, LERR_BAD_REQUEST,
		LERR_BAD_VALIDITY, LERR_INVARIANT, LERR_NOT_FOUND, LERR_METHOD, LERR_CONFLICT, LERR_FORBIDDEN,
		LERR_STORE, LERR_SIGNER, LERR_INTERNAL,
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i], code) == 0)
			return known[i];
	return LERR_INTERNAL;
}
