/*
 * test_preauth.c - unit tests for the pre-authorised device import
 * (preauth.c): the CSV fixtures in tests/data/preauth/, inputs built here
 * (CRLF, a byte order mark, too many rows) and preauth_check against a
 * real store in a temporary directory.
 *
 * Every rejected file must name the line that is wrong: the tests compare
 * the whole "line N:" prefix, so an off-by-one in the line counting fails.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>
#include <sqlite3.h>

#include "daemon/auth.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/lerr.h"
#include "daemon/preauth.h"
#include "store/store.h"

#ifndef TEST_SRCDIR
#define TEST_SRCDIR "."
#endif

/* Reads tests/data/preauth/NAME (caller frees). */
static unsigned char *
fx_read(const char *name, size_t *len)
{
	char path[1024];
	unsigned char *p = NULL;
	struct lerr e;
	int n;

	n = snprintf(path, sizeof(path), "%s/tests/data/preauth/%s", TEST_SRCDIR, name);
	ck_assert(n > 0 && (size_t)n < sizeof(path));
	if (fileio_read(path, PREAUTH_FILE_MAX, 0, &p, len, &e) != 0)
		ck_abort_msg("%s: %s", path, e.msg);
	return p;
}

static int
parse_str(const char *s, struct store_preauth **rows, size_t *n, struct lerr *e)
{
	return preauth_parse((const unsigned char *)s, strlen(s), rows, n, e);
}

/* The file must be refused with a message starting with prefix. */
static void
expect_refused(const char *name, const char *prefix)
{
	struct store_preauth *rows = (struct store_preauth *)1;
	unsigned char *data;
	size_t len, n = 99;
	struct lerr e;

	data = fx_read(name, &len);
	lerr_clear(&e);
	ck_assert_int_eq(preauth_parse(data, len, &rows, &n, &e), -1);
	ck_assert_ptr_null(rows);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_ne(e.code, LERR_NONE);
	if (strncmp(e.msg, prefix, strlen(prefix)) != 0)
		ck_abort_msg("%s: expected \"%s...\", got \"%s\"", name, prefix, e.msg);
	free(data);
}

/* ---- accepted files ---- */

START_TEST(test_good_file)
{
	struct store_preauth *rows = NULL;
	unsigned char *data;
	size_t len, n = 0, i;
	struct lerr e;

	data = fx_read("good.csv", &len);
	if (preauth_parse(data, len, &rows, &n, &e) != 0)
		ck_abort_msg("good.csv refused: %s", e.msg);
	ck_assert_uint_eq(n, 4);

	ck_assert_str_eq(rows[0].device_id, "dev-001");
	ck_assert_str_eq(rows[0].name, "Boiler, basement");
	ck_assert_str_eq(rows[0].auth_type, "CERTIFICATES");
	ck_assert_ptr_nonnull(rows[0].secret_hash);
	ck_assert(strncmp(rows[0].secret_hash, "$argon2id$", 10) == 0);
	ck_assert_int_eq(auth_verify_secret(rows[0].secret_hash, "s3cret-pass"), 0);
	ck_assert_int_eq(auth_verify_secret(rows[0].secret_hash, "s3cret-pasS"), -1);

	ck_assert_str_eq(rows[1].device_id, "dev-002");
	ck_assert_str_eq(rows[1].name, "The \"big\" pump");
	ck_assert_str_eq(rows[1].auth_type, "");
	ck_assert_ptr_null(rows[1].secret_hash);

	/* Lower-case "certificates" is stored as Cumulocity writes it. */
	ck_assert_str_eq(rows[2].device_id, "dev.003:a@b_c");
	ck_assert_str_eq(rows[2].auth_type, "CERTIFICATES");
	ck_assert_ptr_nonnull(rows[2].secret_hash);
	ck_assert_int_eq(auth_verify_secret(rows[2].secret_hash, "quoted secret, with comma"), 0);

	/* Unquoted fields lose their surrounding blanks; the last line has
	 * no line end. */
	ck_assert_str_eq(rows[3].device_id, "dev-004");
	ck_assert_str_eq(rows[3].name, "Last one without a line end");

	/* Neither secret survives in clear anywhere in the rows. */
	for (i = 0; i < n; i++) {
		ck_assert_ptr_null(memmem(&rows[i], sizeof(rows[i]), "s3cret", 6));
		ck_assert_ptr_null(memmem(&rows[i], sizeof(rows[i]), "quoted secret", 13));
		if (rows[i].secret_hash != NULL) {
			ck_assert_ptr_null(strstr(rows[i].secret_hash, "s3cret"));
			ck_assert_ptr_null(strstr(rows[i].secret_hash, "quoted secret"));
			ck_assert_int_eq(rows[i].created_at, 0);
			ck_assert_int_eq(rows[i].used_at, 0);
		}
	}
	preauth_rows_free(rows, n);
	free(data);
}
END_TEST

START_TEST(test_crlf_bom_and_multiline)
{
	/* A BOM and CRLF line ends. A quoted NAME may not run over two lines
	 * (a name holds no control characters); a quoted field in another
	 * column may, and the lines after it are still counted right. */
	static const char cr_in_name[] = "\xef\xbb\xbfId,NAME,auth_type\r\n"
				   "a-1,\"first\r\nsecond\",CERTIFICATES\r\n"
				   "\r\n"
				   "a-2,\"x,y\",\r\n";
	static const char bad[] = "ID,NAME\r\n"
				  "a-1,\"multi\r\nline\r\nname\"\r\n"
				  "a 2,Bad\r\n";
	struct store_preauth *rows = NULL;
	size_t n = 0;
	struct lerr e;

	/* Control characters in NAME are refused (CR LF included). */
	ck_assert_int_eq(parse_str(cr_in_name, &rows, &n, &e), -1);
	ck_assert_str_eq(e.msg, "line 2: NAME holds control characters or invalid UTF-8");

	ck_assert_int_eq(parse_str("\xef\xbb\xbfId,NAME,auth_type\r\n"
				   "a-1,\"Caf\xc3\xa9, first\",CERTIFICATES\r\n"
				   "\r\n"
				   "a-2,\"x,y\",\r\n", &rows, &n, &e), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(rows[0].name, "Caf\xc3\xa9, first");
	ck_assert_str_eq(rows[1].device_id, "a-2");
	ck_assert_str_eq(rows[1].name, "x,y");
	preauth_rows_free(rows, n);

	/* Multi-line field in an ignored column: fine, and line numbers
	 * after it stay right. */
	ck_assert_int_eq(parse_str("ID,NAME,NOTE\r\na-1,One,\"two\r\nlines\"\r\n"
				   "a 2,Two,x\r\n", &rows, &n, &e), -1);
	ck_assert(strncmp(e.msg, "line 4: ID is not a device id", 29) == 0);
	ck_assert_int_eq(parse_str(bad, &rows, &n, &e), -1);
	ck_assert(strncmp(e.msg, "line 2: NAME holds control", 26) == 0);

	/* Invalid UTF-8 in a name. */
	ck_assert_int_eq(parse_str("ID,NAME\na-1,\xc3(\n", &rows, &n, &e), -1);
	ck_assert_str_eq(e.msg, "line 2: NAME holds control characters or invalid UTF-8");
}
END_TEST

/* ---- refused files: every one names the right line ---- */

START_TEST(test_unbalanced_quote)
{
	expect_refused("unbalanced-quote.csv", "line 3: a quoted field is never closed");
}
END_TEST

START_TEST(test_stray_quote)
{
	expect_refused("stray-quote.csv", "line 3: malformed quoting");
}
END_TEST

START_TEST(test_missing_id_column)
{
	expect_refused("missing-id.csv", "line 1: the first line must be a header naming an ID");
}
END_TEST

START_TEST(test_empty_id)
{
	expect_refused("empty-id.csv", "line 3: empty ID");
}
END_TEST

START_TEST(test_bad_id_chars)
{
	expect_refused("bad-id-chars.csv", "line 2: ID is not a device id");
}
END_TEST

START_TEST(test_duplicate_id)
{
	expect_refused("duplicate-id.csv", "line 4: duplicate ID dev-1 (first on line 2)");
}
END_TEST

START_TEST(test_short_secret)
{
	struct store_preauth *rows = NULL;
	unsigned char *data;
	size_t len, n;
	struct lerr e;

	expect_refused("short-secret.csv", "line 3: SECRET must be empty or 8 to 256 bytes");
	/* The message never shows the secret. */
	data = fx_read("short-secret.csv", &len);
	ck_assert_int_eq(preauth_parse(data, len, &rows, &n, &e), -1);
	ck_assert_ptr_null(strstr(e.msg, "short"));
	free(data);
}
END_TEST

START_TEST(test_bad_auth_type)
{
	expect_refused("bad-auth-type.csv",
		       "line 2: AUTH_TYPE must be empty or CERTIFICATES, not BASIC");
}
END_TEST

START_TEST(test_column_count)
{
	expect_refused("extra-field.csv", "line 3: more fields than the header's 2");
	expect_refused("missing-field.csv", "line 2: 2 fields, the header has 3");
}
END_TEST

START_TEST(test_other_layouts)
{
	struct store_preauth *rows = NULL;
	size_t n;
	struct lerr e;

	ck_assert_int_eq(parse_str("", &rows, &n, &e), -1);
	ck_assert(strncmp(e.msg, "empty file", 10) == 0);
	ck_assert_int_eq(parse_str("ID,NAME\r\n", &rows, &n, &e), -1);
	ck_assert_str_eq(e.msg, "no devices after the header");
	/* No header: the first device is taken for one and refused. */
	ck_assert_int_eq(parse_str("dev-1,One\n", &rows, &n, &e), -1);
	ck_assert(strncmp(e.msg, "line 1: the first line must be a header", 39) == 0);
	ck_assert_int_eq(parse_str("ID,Name\nx,y\n", &rows, &n, &e), 0);
	preauth_rows_free(rows, n);
	ck_assert_int_eq(parse_str("ID,NAME,id\na,b,c\n", &rows, &n, &e), -1);
	ck_assert_str_eq(e.msg, "line 1: the header names a column twice: ID");
	ck_assert_int_eq(parse_str("ID,NAME\nx,\n", &rows, &n, &e), -1);
	ck_assert_str_eq(e.msg, "line 2: empty NAME");
	/* 65 bytes of id, 129 of name, 257 of secret. */
	ck_assert_int_eq(parse_str("ID,NAME\n"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,y\n",
		&rows, &n, &e), -1);
	ck_assert(strncmp(e.msg, "line 2: ID is not a device id", 29) == 0);
	ck_assert_int_eq(parse_str("ID,NAME\n"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,y\n",
		&rows, &n, &e), 0);
	ck_assert_uint_eq(strlen(rows[0].device_id), 64);
	preauth_rows_free(rows, n);
	/* A NUL byte inside a field. */
	ck_assert_int_eq(preauth_parse((const unsigned char *)"ID,NAME\na\0b,c\n", 14,
				       &rows, &n, &e), -1);
	ck_assert(strncmp(e.msg, "line 2: ID is not a device id", 29) == 0);
}
END_TEST

START_TEST(test_too_many_rows)
{
	struct store_preauth *rows = NULL;
	struct buf b;
	size_t n = 0, i;
	struct lerr e;
	int ok = 1;

	buf_init(&b, PREAUTH_FILE_MAX);
	ok &= buf_puts(&b, "ID,NAME\n") == 0;
	for (i = 0; i < PREAUTH_ROWS_MAX; i++)
		ok &= buf_printf(&b, "d-%zu,n\n", i) == 0;
	ck_assert(ok);
	ck_assert_int_eq(preauth_parse(b.data, b.len, &rows, &n, &e), 0);
	ck_assert_uint_eq(n, PREAUTH_ROWS_MAX);
	preauth_rows_free(rows, n);

	ck_assert_int_eq(buf_puts(&b, "one-more,n\n"), 0);
	ck_assert_int_eq(preauth_parse(b.data, b.len, &rows, &n, &e), -1);
	ck_assert_int_eq(e.code, LERR_TOO_LARGE);
	ck_assert_str_eq(e.msg, "line 10002: more than 10000 devices in one file");
	buf_free(&b);

	/* The byte cap comes before anything is parsed. */
	ck_assert_int_eq(preauth_parse((const unsigned char *)"x", PREAUTH_FILE_MAX + 1,
				       &rows, &n, &e), -1);
	ck_assert_int_eq(e.code, LERR_TOO_LARGE);
}
END_TEST

/* ---- preauth_check against a real store ---- */

static char tmpdir[256];
static char dbpath[320];

static void
store_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_preauth.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/%s", tmpdir, STORE_FILE);
}

static void
store_teardown(void)
{
	fileio_remove_tree(tmpdir);
}

START_TEST(test_check)
{
	static const char csv[] = "ID,NAME,SECRET\n"
				  "open-1,No secret,\n"
				  "lock-1,With secret,correct horse\n"
				  "used-1,Used,\n";
	struct store_preauth *rows = NULL, *p = NULL;
	struct store *s = NULL;
	sqlite3 *db = NULL;
	size_t n = 0;
	struct lerr e;

	if (store_open(dbpath, STORE_CREATE, &s, &e) != 0)
		ck_abort_msg("store_open: %s", e.msg);
	ck_assert_int_eq(parse_str(csv, &rows, &n, &e), 0);
	if (store_preauth_import(s, rows, n, "test", &e) != 0)
		ck_abort_msg("import: %s", e.msg);
	/* All or nothing: a second import with one id already listed. */
	ck_assert_int_eq(store_preauth_import(s, rows, n, "test", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	preauth_rows_free(rows, n);

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE preauth SET used_at = 1700000000 "
				      "WHERE device_id = 'used-1'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	ck_assert_int_eq(preauth_check(s, "open-1", NULL, &p, &e), 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "No secret");
	store_preauth_free(p);
	ck_assert_int_eq(preauth_check(s, "open-1", "anything", NULL, &e), 0);

	ck_assert_int_eq(preauth_check(s, "lock-1", "correct horse", &p, &e), 0);
	ck_assert(strncmp(p->secret_hash, "$argon2id$", 10) == 0);
	store_preauth_free(p);
	ck_assert_int_eq(preauth_check(s, "lock-1", "correct horsE", &p, &e), -1);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(e.http, 403);
	ck_assert_int_eq(e.code, LERR_BAD_SECRET);
	ck_assert_int_eq(preauth_check(s, "lock-1", NULL, NULL, &e), -1);
	ck_assert_int_eq(e.http, 403);
	ck_assert_int_eq(e.code, LERR_BAD_SECRET);

	ck_assert_int_eq(preauth_check(s, "used-1", NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(preauth_check(s, "nobody", NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(preauth_check(s, "bad id", NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	store_close(s);
}
END_TEST

static Suite *
preauth_suite(void)
{
	Suite *su = suite_create("preauth");
	TCase *tc = tcase_create("parse");
	TCase *ts = tcase_create("check");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_crlf_bom_and_multiline);
	tcase_add_test(tc, test_unbalanced_quote);
	tcase_add_test(tc, test_stray_quote);
	tcase_add_test(tc, test_missing_id_column);
	tcase_add_test(tc, test_empty_id);
	tcase_add_test(tc, test_bad_id_chars);
	tcase_add_test(tc, test_duplicate_id);
	tcase_add_test(tc, test_short_secret);
	tcase_add_test(tc, test_bad_auth_type);
	tcase_add_test(tc, test_column_count);
	tcase_add_test(tc, test_other_layouts);
	tcase_add_test(tc, test_too_many_rows);
	suite_add_tcase(su, tc);
	tcase_set_timeout(ts, 60);
	tcase_add_checked_fixture(ts, store_setup, store_teardown);
	tcase_add_test(ts, test_check);
	suite_add_tcase(su, ts);
	return su;
}

int
main(void)
{
	SRunner *sr = srunner_create(preauth_suite());
	int failed;

	if (sodium_init() < 0)
		return 1;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
