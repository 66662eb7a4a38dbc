/*
 * preauth.h - pre-authorised devices: the bulk CSV import (`lanca preauth
 * import`, like Cumulocity's bulk registration) and the check the
 * enrollment path makes before issuing to one of them without a press.
 *
 * Owns: the CSV layout and the rules every row passes. A file is taken
 * whole or not at all: the first bad line rejects it, naming the line.
 *
 * CSV: RFC 4180 (libcsv in strict mode; CRLF or LF line ends; quoted
 * fields may hold commas, quotes doubled, and line breaks). The first row
 * is a header naming the columns, case-insensitively:
 *   ID        required  device id: 1..PREAUTH_ID_MAX bytes of [A-Za-z0-9._:@-]
 *   NAME      required  1..PREAUTH_NAME_MAX printable bytes (UTF-8 allowed)
 *   SECRET    optional  enrollment secret, PREAUTH_SECRET_MIN..MAX bytes,
 *                       or empty for none; stored only as Argon2id
 *   AUTH_TYPE optional  empty or CERTIFICATES (as Cumulocity writes it)
 * Other columns are ignored; a repeated known column is refused. Every data
 * row has as many fields as the header. The file is at most PREAUTH_FILE_MAX
 * bytes and PREAUTH_ROWS_MAX data rows.
 *
 * Callers: cmd_preauth.c (import), the enrollment API (preauth_check).
 */
#ifndef LANCA_PREAUTH_H
#define LANCA_PREAUTH_H

#include <stddef.h>
#include "common/lerr.h"
#include "store/store.h"

#define PREAUTH_FILE_MAX	(1024 * 1024)	/* bytes */
#define PREAUTH_ROWS_MAX	10000		/* data rows, header excluded */
#define PREAUTH_COLS_MAX	64		/* columns in a row */
#define PREAUTH_ID_MAX		64
#define PREAUTH_NAME_MAX	128
#define PREAUTH_SECRET_MIN	8
#define PREAUTH_SECRET_MAX	256

/* 1 if id is a valid device id (1..PREAUTH_ID_MAX of [A-Za-z0-9._:@-]). */
int preauth_id_ok(const char *id);

/*
 * Parses and validates a whole CSV file of len bytes (no NUL needed) into
 * a new array of *n rows (*rows, freed with preauth_rows_free). Secrets are
 * hashed with Argon2id (after every row has been validated, so a bad file
 * costs no hashing); the clear secrets live only in locked, wiped memory
 * while parsing. created_at and used_at are left 0 (the store sets them).
 * Returns 0, or -1 with e: LERR_BAD_REQUEST (400) "line N: <problem>" for
 * a malformed file, LERR_TOO_LARGE (413) past the caps; *rows is NULL and
 * *n 0 then. An empty file, or a header with no rows, is malformed.
 */
int preauth_parse(const unsigned char *data, size_t len, struct store_preauth **rows,
		  size_t *n, struct lerr *e);
/* Frees n rows and their secret hashes; NULL-safe. */
void preauth_rows_free(struct store_preauth *rows, size_t n);

/*
 * May device_id enroll as pre-authorised? secret may be NULL (none sent).
 * Returns 0 if the device id is listed, not used yet and, when it was
 * imported with a secret, secret verifies against the hash; *out (may be
 * NULL) then receives the row (store_preauth_free). Otherwise -1 with e:
 *   LERR_NOT_FOUND (404)    not listed: the caller falls back to the
 *                           ordinary (pending) path
 *   LERR_CONFLICT (409)     listed but used already
 *   LERR_BAD_REQUEST (403)  a secret is required and is missing or wrong
 *                           (one message for both, so a caller cannot
 *                           tell which)
 *   others                  store failure, as the store reports it
 * The secret is only read; the caller wipes it.
 */
int preauth_check(struct store *s, const char *device_id, const char *secret,
		  struct store_preauth **out, struct lerr *e);
/* The same judgement on a row the caller read already (p NULL: not
 * listed), as the enrollment decision does from its snapshot. */
int preauth_check_row(const struct store_preauth *p, const char *device_id,
		      const char *secret, struct lerr *e);

#endif
