/*
 * lerr.h - the error that travels from a check to whoever must explain it.
 *
 * Owns: the error codes shared by the CLI, the HTTP API, EST and the signer
 * channel. A check that refuses something fills a struct lerr with a stable
 * machine code (used as "error" in JSON bodies and carried over IPC), the
 * HTTP status that fits, and a message naming what was wrong.
 */
#ifndef LANCA_LERR_H
#define LANCA_LERR_H

#include <stddef.h>

/* Stable codes; they appear in API responses, never rename one. */
#define LERR_BAD_CSR		"bad_csr"	/* not a parseable PKCS#10 request */
#define LERR_BAD_SIGNATURE	"bad_signature"	/* CSR self-signature does not verify */
#define LERR_WEAK_KEY		"weak_key"	/* key too small / weak curve */
#define LERR_UNSUPPORTED_KEY	"unsupported_key" /* unknown algorithm */
#define LERR_FORBIDDEN_NAME	"forbidden_name"  /* SAN or CN outside policy */
#define LERR_BAD_NAME		"bad_name"	/* malformed or oversized name */
#define LERR_TOO_LARGE		"too_large"	/* input over its bound */
#define LERR_BAD_REQUEST	"bad_request"	/* other malformed input */
#define LERR_BAD_VALIDITY	"bad_validity"	/* requested lifetime not allowed */
#define LERR_INVARIANT		"invariant"	/* produced certificate failed a check */
#define LERR_NOT_FOUND		"not_found"
#define LERR_METHOD		"method_not_allowed"
#define LERR_CONFLICT		"conflict"
#define LERR_FORBIDDEN		"forbidden"	/* authenticated but not allowed */
#define LERR_STORE		"store"		/* database failure */
#define LERR_SIGNER		"signer"	/* signer process unavailable */
#define LERR_INTERNAL		"internal"

struct lerr {
	const char *code;	/* one of the LERR_ codes above (static string) */
	int http;		/* HTTP status that fits (400, 403, 409, 413, 500...) */
	char msg[256];		/* human text naming the problem */
};

/* Fills e (if non-NULL) and returns -1, so checks can `return lerr_set(...)`. */
int lerr_set(struct lerr *e, int http, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Resets e to "no error". */
void lerr_clear(struct lerr *e);
/* Maps a code string received from elsewhere (IPC) back to the static code. */
const char *lerr_code_intern(const char *code);

#endif
