/*
 * test_auth.c - passwords, enrollment secrets, session and CSRF tokens
 * (src/auth.c).
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "daemon/auth.h"

static char *
hash_of(const char *pw)
{
	struct lerr e;
	char *h = NULL;

	ck_assert_int_eq(auth_hash_password(pw, strlen(pw), &h, &e), 0);
	ck_assert_ptr_nonnull(h);
	return h;
}

static int
is_lower_hex(const char *s, size_t n)
{
	size_t i;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

START_TEST(test_round_trip)
{
	char *h = hash_of("correct horse battery");

	ck_assert_int_eq(auth_verify_password(h, "correct horse battery", 21), 0);
	ck_assert_int_eq(auth_verify_password(h, "correct horse batterY", 21), -1);
	ck_assert_int_eq(auth_verify_password(h, "correct horse battery!", 22), -1);
	/* A prefix is a different password: the length counts. */
	ck_assert_int_eq(auth_verify_password(h, "correct horse batter", 20), -1);
	free(h);
}
END_TEST

START_TEST(test_hash_format)
{
	char *a = hash_of("password1"), *b = hash_of("password1");
	char expect[64];

	ck_assert_int_eq(strncmp(a, "$argon2id$v=19$", 15), 0);
	snprintf(expect, sizeof(expect), "$m=%zu,t=%llu,p=1$", AUTH_MEMLIMIT / 1024,
		 (unsigned long long)AUTH_OPSLIMIT);
	ck_assert_ptr_nonnull(strstr(a, expect));
	ck_assert_uint_lt(strlen(a), AUTH_HASH_MAX);
	/* Fresh salt each time. */
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(auth_verify_password(b, "password1", 9), 0);
	ck_assert_int_eq(auth_verify_password(a, "password1", 9), 0);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_verify_refuses_other_strings)
{
	char argon2i[crypto_pwhash_STRBYTES], *h = hash_of("password1");

	/* Only Argon2id strings count, even when libsodium could check another. */
	ck_assert_int_eq(crypto_pwhash_str_alg(argon2i, "password1", 9, 3, 8192 * 1024,
					       crypto_pwhash_ALG_ARGON2I13), 0);
	ck_assert_int_eq(crypto_pwhash_str_verify(argon2i, "password1", 9), 0);
	ck_assert_int_eq(auth_verify_password(argon2i, "password1", 9), -1);
	ck_assert_int_eq(auth_verify_password("", "password1", 9), -1);
	ck_assert_int_eq(auth_verify_password("$argon2id$garbage", "password1", 9), -1);
	ck_assert_int_eq(auth_verify_password(NULL, "password1", 9), -1);
	ck_assert_int_eq(auth_verify_password(h, NULL, 0), -1);
	/* A truncated hash does not verify. */
	h[strlen(h) - 3] = '\0';
	ck_assert_int_eq(auth_verify_password(h, "password1", 9), -1);
	free(h);
}
END_TEST

START_TEST(test_password_bounds)
{
	static char big[AUTH_PASSWORD_MAX + 2];
	struct lerr e;
	char *h = (char *)0x1;

	memset(big, 'x', sizeof(big) - 1);
	ck_assert_int_eq(auth_password_ok("1234567", 7, &e), -1);
	ck_assert_int_eq(auth_password_ok("12345678", 8, &e), 0);
	ck_assert_int_eq(auth_password_ok(big, AUTH_PASSWORD_MAX, &e), 0);
	ck_assert_int_eq(auth_password_ok(big, AUTH_PASSWORD_MAX + 1, &e), -1);
	ck_assert_int_eq(e.code, LERR_TOO_LARGE);
	ck_assert_int_eq(auth_password_ok("1234\0" "567", 8, &e), -1);
	ck_assert_int_eq(auth_password_ok(NULL, 0, &e), -1);
	ck_assert_int_eq(auth_hash_password("short", 5, &h, &e), -1);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(e.http, 400);
}
END_TEST

/* A login for an unknown user runs the dummy check: it fails for any
 * password, and for none. What it costs next to a real check (it must be
 * the same) is measured by tests/bench/bench-auth.c. */
START_TEST(test_dummy_refuses)
{
	ck_assert_int_eq(auth_verify_dummy("password2", 9), -1);
	ck_assert_int_eq(auth_verify_dummy("", 0), -1);
	ck_assert_int_eq(auth_verify_dummy(NULL, 0), -1);
}
END_TEST

START_TEST(test_secret)
{
	static char big[AUTH_PASSWORD_MAX + 2];
	struct lerr e;
	char *h = NULL;

	/* Secrets may be short (device enrollment codes). */
	ck_assert_int_eq(auth_hash_secret("1234", &h, &e), 0);
	ck_assert_int_eq(strncmp(h, "$argon2id$", 10), 0);
	ck_assert_int_eq(auth_verify_secret(h, "1234"), 0);
	ck_assert_int_eq(auth_verify_secret(h, "1235"), -1);
	ck_assert_int_eq(auth_verify_secret(h, "12345"), -1);
	ck_assert_int_eq(auth_verify_secret(h, ""), -1);
	ck_assert_int_eq(auth_verify_secret(h, NULL), -1);
	ck_assert_int_eq(auth_verify_secret(NULL, "1234"), -1);
	free(h);
	h = NULL;
	ck_assert_int_eq(auth_hash_secret("", &h, &e), -1);
	ck_assert_ptr_null(h);
	memset(big, 'y', sizeof(big) - 1);
	ck_assert_int_eq(auth_hash_secret(big, &h, &e), -1);
	ck_assert_int_eq(e.code, LERR_TOO_LARGE);
	big[AUTH_PASSWORD_MAX] = '\0';
	ck_assert_int_eq(auth_hash_secret(big, &h, &e), 0);
	ck_assert_int_eq(auth_verify_secret(h, big), 0);
	big[AUTH_PASSWORD_MAX] = 'y';
	ck_assert_int_eq(auth_verify_secret(h, big), -1);
	free(h);
}
END_TEST

START_TEST(test_tokens)
{
	char a[AUTH_TOKEN_HEX + 1], b[AUTH_TOKEN_HEX + 1], up[AUTH_TOKEN_HEX + 1];
	unsigned char sa[32], sb[32], s2[32], raw[32];
	size_t i, n;

	auth_token_new(a, sa);
	auth_token_new(b, sb);
	ck_assert(is_lower_hex(a, AUTH_TOKEN_HEX));
	ck_assert(is_lower_hex(b, AUTH_TOKEN_HEX));
	ck_assert_str_ne(a, b);
	ck_assert(memcmp(sa, sb, 32) != 0);
	/* The stored hash is SHA-256 of the 32 raw bytes, not of the hex. */
	ck_assert_int_eq(sodium_hex2bin(raw, sizeof(raw), a, 64, NULL, &n, NULL), 0);
	ck_assert_uint_eq(n, 32);
	crypto_hash_sha256(s2, raw, sizeof(raw));
	ck_assert(memcmp(sa, s2, 32) == 0);
	memset(s2, 0, sizeof(s2));
	ck_assert_int_eq(auth_token_sha(a, s2), 0);
	ck_assert(memcmp(sa, s2, 32) == 0);
	/* The hash is not the token: a database copy does not give cookies. */
	ck_assert(memcmp(sa, raw, 32) != 0);
	for (i = 0; i <= AUTH_TOKEN_HEX; i++)
		up[i] = (a[i] >= 'a' && a[i] <= 'f') ? (char)(a[i] - 32) : a[i];
	ck_assert_int_eq(auth_token_sha(up, s2), 0);
	ck_assert(memcmp(sa, s2, 32) == 0);
}
END_TEST

START_TEST(test_token_sha_refuses)
{
	char t[AUTH_TOKEN_HEX + 2];
	unsigned char sha[32];

	ck_assert_int_eq(auth_token_sha(NULL, sha), -1);
	ck_assert_int_eq(auth_token_sha("", sha), -1);
	memset(t, 'a', sizeof(t));
	t[AUTH_TOKEN_HEX - 1] = '\0';
	ck_assert_int_eq(auth_token_sha(t, sha), -1);	/* 63 */
	t[AUTH_TOKEN_HEX - 1] = 'a';
	t[AUTH_TOKEN_HEX] = '\0';
	ck_assert_int_eq(auth_token_sha(t, sha), 0);	/* 64 */
	t[AUTH_TOKEN_HEX] = 'a';
	t[AUTH_TOKEN_HEX + 1] = '\0';
	ck_assert_int_eq(auth_token_sha(t, sha), -1);	/* 65 */
	t[AUTH_TOKEN_HEX] = '\0';
	t[10] = 'g';
	ck_assert_int_eq(auth_token_sha(t, sha), -1);
	t[10] = ' ';
	ck_assert_int_eq(auth_token_sha(t, sha), -1);
	t[10] = ':';
	ck_assert_int_eq(auth_token_sha(t, sha), -1);
	t[10] = 'a';
	t[63] = 'z';
	ck_assert_int_eq(auth_token_sha(t, sha), -1);
}
END_TEST

START_TEST(test_csrf)
{
	char a[AUTH_TOKEN_HEX + 1], b[AUTH_TOKEN_HEX + 1];

	auth_csrf_new(a);
	auth_csrf_new(b);
	ck_assert(is_lower_hex(a, AUTH_TOKEN_HEX));
	ck_assert(is_lower_hex(b, AUTH_TOKEN_HEX));
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_equal)
{
	char a[AUTH_TOKEN_HEX + 1], b[AUTH_TOKEN_HEX + 1];

	auth_csrf_new(a);
	memcpy(b, a, sizeof(a));
	ck_assert_int_eq(auth_equal(a, b), 1);
	b[0] = b[0] == '0' ? '1' : '0';
	ck_assert_int_eq(auth_equal(a, b), 0);
	b[0] = a[0];
	b[63] = b[63] == '0' ? '1' : '0';
	ck_assert_int_eq(auth_equal(a, b), 0);
	b[63] = '\0';
	ck_assert_int_eq(auth_equal(a, b), 0);	/* a prefix */
	ck_assert_int_eq(auth_equal(b, a), 0);
	ck_assert_int_eq(auth_equal(a, NULL), 0);
	ck_assert_int_eq(auth_equal(NULL, a), 0);
	ck_assert_int_eq(auth_equal(NULL, NULL), 0);
	ck_assert_int_eq(auth_equal("", a), 0);
}
END_TEST

START_TEST(test_user_ok)
{
	char big[AUTH_USER_MAX + 2];

	ck_assert_int_eq(auth_user_ok("admin"), 1);
	ck_assert_int_eq(auth_user_ok("ops.team_1-x@site"), 1);
	ck_assert_int_eq(auth_user_ok(""), 0);
	ck_assert_int_eq(auth_user_ok(NULL), 0);
	ck_assert_int_eq(auth_user_ok("-admin"), 0);
	ck_assert_int_eq(auth_user_ok(".admin"), 0);
	ck_assert_int_eq(auth_user_ok("ad min"), 0);
	ck_assert_int_eq(auth_user_ok("ad\nmin"), 0);
	ck_assert_int_eq(auth_user_ok("admin'--"), 0);
	ck_assert_int_eq(auth_user_ok("\xc3\xa9t\xc3\xa9"), 0);
	memset(big, 'a', sizeof(big));
	big[AUTH_USER_MAX] = '\0';
	ck_assert_int_eq(auth_user_ok(big), 1);
	big[AUTH_USER_MAX] = 'a';
	big[AUTH_USER_MAX + 1] = '\0';
	ck_assert_int_eq(auth_user_ok(big), 0);
}
END_TEST

static void *
hash_thread(void *arg)
{
	char *h = NULL;
	struct lerr e;
	long ok;

	(void)arg;
	ok = auth_hash_password("threaded pw", 11, &h, &e) == 0 &&
	     auth_verify_password(h, "threaded pw", 11) == 0 &&
	     auth_verify_password(h, "threaded pX", 11) == -1;
	free(h);
	return (void *)ok;
}

START_TEST(test_concurrent)
{
	pthread_t t[6];
	void *res;
	size_t i;

	/* More threads than slots: they queue, none deadlocks or fails. */
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hash_thread, NULL), 0);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(pthread_join(t[i], &res), 0);
		ck_assert_ptr_eq(res, (void *)1L);
	}
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_hash_format);
	tcase_add_test(tc, test_verify_refuses_other_strings);
	tcase_add_test(tc, test_password_bounds);
	tcase_add_test(tc, test_dummy_refuses);
	tcase_add_test(tc, test_secret);
	tcase_add_test(tc, test_tokens);
	tcase_add_test(tc, test_token_sha_refuses);
	tcase_add_test(tc, test_csrf);
	tcase_add_test(tc, test_equal);
	tcase_add_test(tc, test_user_ok);
	tcase_add_test(tc, test_concurrent);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return 1;
	sr = srunner_create(auth_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
