/*
 * fuzz_preauth.c - fuzz target for the pre-authorised device CSV import
 * (preauth_parse in preauth.c): a file an administrator uploads, often
 * exported from a spreadsheet or another system, so anything at all.
 *
 * Secrets are hashed with Argon2id (32 MiB, 3 passes: a tenth of a second
 * or more each), which would slow the fuzzer to a crawl on every valid
 * file with a SECRET column. Skipping such files would leave the secret
 * checks and the arena that holds clear secrets (the sizing argument in
 * preauth_parse) unfuzzed, so instead this program is linked with
 * -Wl,--wrap=auth_hash_secret (Makefile.am): preauth.c's calls land in
 * __wrap_auth_hash_secret below, which checks what it was handed and
 * returns a fixed string at once. Nothing else is changed, and the real
 * hashing has its own unit tests (test_auth, test_preauth).
 *
 * Besides memory errors and leaks, the target aborts when preauth_parse
 * breaks its contract (preauth.h): rows on failure, an internal error for
 * bad input (the arena "cannot" run out), or rows that do not satisfy the
 * rules every row was checked against.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/auth.h"
#include "common/lerr.h"
#include "daemon/preauth.h"
#include "store/store.h"

#define FUZZ_PREAUTH_HASH	"$argon2id$fuzz"	/* what the stand-in returns */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __wrap_auth_hash_secret(const char *secret, char **hash, struct lerr *e);

/*
 * Stands in for auth_hash_secret (see the file comment). preauth.c only
 * hands over secrets it has validated: NUL-terminated, 8..256 bytes.
 * Reading the secret to its NUL makes a missing terminator show up (the
 * arena is sodium_malloc'd: its end is a guard page).
 */
int
__wrap_auth_hash_secret(const char *secret, char **hash, struct lerr *e)
{
	size_t n = strlen(secret);

	if (n < PREAUTH_SECRET_MIN || n > PREAUTH_SECRET_MAX)
		abort();
	*hash = strdup(FUZZ_PREAUTH_HASH);
	if (*hash == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	return 0;
}

/* Aborts unless row r satisfies what preauth_parse promises. */
static void
fuzz_preauth_row(const struct store_preauth *r)
{
	if (!preauth_id_ok(r->device_id) || r->name[0] == '\0' ||
	    memchr(r->name, '\0', sizeof(r->name)) == NULL ||
	    (r->auth_type[0] != '\0' && strcmp(r->auth_type, "CERTIFICATES") != 0) ||
	    (r->secret_hash != NULL && strcmp(r->secret_hash, FUZZ_PREAUTH_HASH) != 0) ||
	    r->created_at != 0 || r->used_at != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_preauth *rows = NULL;
	struct lerr e;
	size_t n = 99, i, j;

	lerr_clear(&e);
	if (preauth_parse(data, size, &rows, &n, &e) == 0) {
		if (rows == NULL || n == 0 || n > PREAUTH_ROWS_MAX)
			abort();
		for (i = 0; i < n; i++) {
			fuzz_preauth_row(&rows[i]);
			/* Duplicate ids are refused; compare only a few, so
			 * a big file does not make this quadratic. */
			for (j = i + 1; j < n && j < i + 64; j++)
				if (strcmp(rows[i].device_id, rows[j].device_id) == 0)
					abort();
		}
	} else if (rows != NULL || n != 0 || e.code == LERR_NONE || e.http < 400 || e.http >= 500) {
		abort();
	}
	preauth_rows_free(rows, n);
	return 0;
}
