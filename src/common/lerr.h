/*
 * lerr.h - the error that travels from a check to whoever must explain it.
 *
 * Owns: the one list of error codes shared by the CLI, the HTTP API, EST,
 * the control socket and the signer channel, and the one table that maps
 * each code to the string clients see (the "error" of a JSON body, the
 * code carried over IPC), the HTTP status that fits it, and a default
 * text. A check that refuses something fills a struct lerr with a code
 * and a message naming what was wrong; decisions look at the code (an
 * enum), never at text.
 */
#ifndef LANCA_LERR_H
#define LANCA_LERR_H

#include <stddef.h>

/* The codes. Their strings (lerr.c) appear in API responses: never rename
 * one. LERR_NONE (0) means "no error". */
enum lerr_code {
	LERR_NONE = 0,
	LERR_BAD_CSR,		/* bad_csr: not a parseable PKCS#10 request */
	LERR_BAD_SIGNATURE,	/* bad_signature: the CSR's self-signature fails */
	LERR_WEAK_KEY,		/* weak_key: key too small or weak curve */
	LERR_UNSUPPORTED_KEY,	/* unsupported_key: unknown algorithm */
	LERR_FORBIDDEN_NAME,	/* forbidden_name: a SAN or CN outside policy */
	LERR_BAD_NAME,		/* bad_name: malformed or oversized name */
	LERR_TOO_LARGE,		/* too_large: input over its bound */
	LERR_BAD_REQUEST,	/* bad_request: other malformed input */
	LERR_BAD_VALIDITY,	/* bad_validity: requested lifetime not allowed */
	LERR_INVARIANT,		/* invariant: a produced certificate failed a check */
	LERR_NOT_FOUND,		/* not_found */
	LERR_METHOD,		/* method_not_allowed */
	LERR_CONFLICT,		/* conflict: someone else holds it */
	LERR_FORBIDDEN,		/* forbidden: known but not allowed */
	LERR_UNAUTHORIZED,	/* unauthorized: log in first */
	LERR_MEDIA_TYPE,	/* unsupported_media_type */
	LERR_RATE_LIMITED,	/* rate_limited: too many requests (429) */
	LERR_DENIED,		/* denied: an admin refused the request */
	LERR_EXPIRED,		/* expired: the request is too old to decide */
	LERR_STORE,		/* store: database failure */
	LERR_SIGNER,		/* signer: signer process unavailable */
	LERR_INTERNAL,		/* internal */
	LERR_BAD_SECRET,	/* bad_secret: a pre-authorisation secret missing or wrong */
	LERR_STORE_UNAVAILABLE,	/* store_unavailable: the store cannot be written now
				 * (disk full, I/O error, read-only): 503, try later */
	LERR_COUNT
};

struct lerr {
	enum lerr_code code;	/* LERR_NONE when nothing failed */
	int http;		/* HTTP status that fits (the table's, or a caller's) */
	char msg[512];		/* human text naming the problem */
};

/* Fills e (if non-NULL) with code, the table's HTTP status for it and the
 * message, and returns -1, so checks can `return lerr_set(...)`. */
int lerr_set(struct lerr *e, enum lerr_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same with another HTTP status than the table's (say 413 for an
 * oversized body, 503 for a full queue). */
int lerr_set_http(struct lerr *e, enum lerr_code code, int http, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Resets e to "no error". */
void lerr_clear(struct lerr *e);

/* The string clients see for code ("bad_csr"); "internal" if unknown. */
const char *lerr_str(enum lerr_code code);
/* The HTTP status that fits code (500 if unknown). */
int lerr_http(enum lerr_code code);
/* The default text for code ("the request is not a valid PKCS#10 CSR"). */
const char *lerr_text(enum lerr_code code);
/* Maps a string received from elsewhere (IPC, the control socket) back to
 * its code; LERR_INTERNAL for one we do not know. */
enum lerr_code lerr_from_str(const char *s);

#endif
