/*
 * test_auth.c - passwords, enrollment secrets, session and CSRF tokens
 * (src/daemon/auth.c); over a store in a temporary directory, with a
 * clock of the test's: sessions' idle and absolute ends, password changes
 * ending sessions, and the first-visit setup code.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include <unistd.h>

#include <sqlite3.h>

#include "daemon/auth.h"
#include "store/store.h"

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

/* ---- over a store ---- */

static char st_dir[256], st_path[320];

static void
st_setup(void)
{
	snprintf(st_dir, sizeof(st_dir), "/tmp/lanca-auth.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(st_dir));
	snprintf(st_path, sizeof(st_path), "%s/%s", st_dir, STORE_FILE);
}

static void
st_teardown(void)
{
	char p[400];
	static const char *const suffix[] = { "", "-wal", "-shm" };
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", st_path, suffix[i]);
		unlink(p);
	}
	rmdir(st_dir);
}

static struct store *
st_open(void)
{
	struct store *s = NULL;
	struct lerr e;

	lerr_clear(&e);
	ck_assert_msg(store_open(st_path, STORE_CREATE, &s, &e) == 0, "open: %s", e.msg);
	return s;
}

/* An admin user with password pw. */
static void
st_admin(struct store *s, const char *user, const char *pw)
{
	char *h = hash_of(pw);
	struct lerr e;

	ck_assert_int_eq(store_admin_set(s, user, h, NULL, "test", &e), 0);
	free(h);
}

/* 0 if the cookie's session is alive at now (out filled), else the code;
 * st_alive_bg asks as a page's own timer does (background). */
static enum lerr_code
st_alive_as(struct store *s, const char *cookie, int64_t now, int background,
	    struct auth_session *out)
{
	struct lerr e;

	lerr_clear(&e);
	if (auth_session_get(s, cookie, now, background, out, &e) == 0)
		return LERR_NONE;
	return e.code;
}

static enum lerr_code
st_alive(struct store *s, const char *cookie, int64_t now, struct auth_session *out)
{
	return st_alive_as(s, cookie, now, 0, out);
}

#define PW	"correct-horse-battery"
#define T0	((int64_t)2000000000)

START_TEST(test_session_idle_end)
{
	struct store *s = st_open();
	struct auth_session ses, got;
	struct lerr e;

	st_admin(s, "root", PW);
	ck_assert_int_eq(auth_login(s, "root", PW, strlen(PW), "test", T0, &ses, &e), 0);
	ck_assert_str_eq(ses.user, "root");
	ck_assert_int_eq(ses.expires_at, T0 + 12 * 3600);
	ck_assert_int_eq(ses.idle_expires_at, T0 + 30 * 60);
	/* Unused for 30 minutes: over. */
	ck_assert_int_eq(st_alive(s, ses.token, T0 + 30 * 60 - 1, &got), LERR_NONE);
	ck_assert_str_eq(got.user, "root");
	ck_assert_str_eq(got.csrf, ses.csrf);
	ck_assert_str_eq(got.token, "");
	/* That use moved the idle end on: 30 minutes from then. */
	ck_assert_int_eq(got.idle_expires_at, T0 + 60 * 60 - 1);
	ck_assert_int_eq(st_alive(s, ses.token, T0 + 60 * 60 - 2, &got), LERR_NONE);
	ck_assert_int_eq(st_alive(s, ses.token, T0 + 90 * 60 - 2, &got), LERR_UNAUTHORIZED);
	ck_assert_str_eq(got.user, "");
	store_close(s);
}
END_TEST

/* A page polling on a timer (background) does not keep an idle session
 * alive: 30 minutes after the last use by a person, it ends. */
START_TEST(test_session_background_no_touch)
{
	struct store *s = st_open();
	struct auth_session ses, got;
	struct lerr e;
	int64_t t;

	st_admin(s, "root", PW);
	ck_assert_int_eq(auth_login(s, "root", PW, strlen(PW), "test", T0, &ses, &e), 0);
	for (t = T0 + 120; t < T0 + 30 * 60; t += 120) {
		ck_assert_int_eq(st_alive_as(s, ses.token, t, 1, &got), LERR_NONE);
		ck_assert_int_eq(got.idle_expires_at, T0 + 30 * 60);
	}
	ck_assert_int_eq(st_alive_as(s, ses.token, T0 + 30 * 60, 1, &got), LERR_UNAUTHORIZED);
	store_close(s);
}
END_TEST

START_TEST(test_session_touch_once_a_minute)
{
	struct store *s = st_open();
	struct auth_session ses, got;
	struct lerr e;

	st_admin(s, "root", PW);
	ck_assert_int_eq(auth_login(s, "root", PW, strlen(PW), "test", T0, &ses, &e), 0);
	/* Uses within a minute of the last write leave the row alone. */
	ck_assert_int_eq(st_alive(s, ses.token, T0 + 59, &got), LERR_NONE);
	ck_assert_int_eq(got.idle_expires_at, T0 + 30 * 60);
	ck_assert_int_eq(st_alive(s, ses.token, T0 + 60, &got), LERR_NONE);
	ck_assert_int_eq(got.idle_expires_at, T0 + 60 + 30 * 60);
	ck_assert_int_eq(st_alive(s, ses.token, T0 + 100, &got), LERR_NONE);
	ck_assert_int_eq(got.idle_expires_at, T0 + 60 + 30 * 60);
	/* What was written is what the next read sees. */
	ck_assert_int_eq(st_alive(s, ses.token, T0 + 60 + 30 * 60 - 1, &got), LERR_NONE);
	store_close(s);
}
END_TEST

START_TEST(test_session_absolute_end)
{
	struct store *s = st_open();
	struct auth_session ses, got;
	struct lerr e;
	int64_t t;

	st_admin(s, "root", PW);
	ck_assert_int_eq(auth_login(s, "root", PW, strlen(PW), "test", T0, &ses, &e), 0);
	/* Used every 20 minutes, it still ends 12 hours after the login. */
	for (t = T0; t < T0 + 12 * 3600; t += 20 * 60)
		ck_assert_int_eq(st_alive(s, ses.token, t, &got), LERR_NONE);
	ck_assert_int_eq(st_alive(s, ses.token, T0 + 12 * 3600 - 1, &got), LERR_NONE);
	ck_assert_int_le(got.idle_expires_at, T0 + 12 * 3600);
	ck_assert_int_eq(st_alive(s, ses.token, T0 + 12 * 3600, &got), LERR_UNAUTHORIZED);
	ck_assert_int_eq(st_alive(s, "zz", T0, &got), LERR_UNAUTHORIZED);
	store_close(s);
}
END_TEST

START_TEST(test_password_change_ends_sessions)
{
	struct store *s = st_open();
	struct auth_session a, b, other, fresh, got;
	struct lerr e;
	const char *np = "a-new-password-2";

	st_admin(s, "root", PW);
	st_admin(s, "second", PW);
	ck_assert_int_eq(auth_login(s, "root", PW, strlen(PW), "test", T0, &a, &e), 0);
	ck_assert_int_eq(auth_login(s, "root", PW, strlen(PW), "test", T0, &b, &e), 0);
	ck_assert_int_eq(auth_login(s, "second", PW, strlen(PW), "test", T0, &other, &e), 0);
	/* A wrong current password or a weak new one changes nothing. */
	ck_assert_int_eq(auth_password_change(s, "root", "wrong-password", 14, np, strlen(np),
					      "admin root", T0 + 1, &fresh, &e), 1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_int_eq(auth_password_change(s, "root", PW, strlen(PW), "short", 5,
					      "admin root", T0 + 1, &fresh, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(st_alive(s, a.token, T0 + 2, &got), LERR_NONE);
	ck_assert_int_eq(st_alive(s, b.token, T0 + 2, &got), LERR_NONE);

	ck_assert_int_eq(auth_password_change(s, "root", PW, strlen(PW), np, strlen(np),
					      "admin root", T0 + 3, &fresh, &e), 0);
	ck_assert_int_eq(strlen(fresh.token), AUTH_TOKEN_HEX);
	ck_assert_str_ne(fresh.csrf, a.csrf);
	ck_assert_int_eq(st_alive(s, a.token, T0 + 4, &got), LERR_UNAUTHORIZED);
	ck_assert_int_eq(st_alive(s, b.token, T0 + 4, &got), LERR_UNAUTHORIZED);
	ck_assert_int_eq(st_alive(s, fresh.token, T0 + 4, &got), LERR_NONE);
	ck_assert_str_eq(got.user, "root");
	ck_assert_int_eq(st_alive(s, other.token, T0 + 4, &got), LERR_NONE);
	ck_assert_str_eq(got.user, "second");
	ck_assert_int_eq(auth_login(s, "root", PW, strlen(PW), "test", T0 + 5, &a, &e), 1);
	ck_assert_int_eq(auth_login(s, "root", np, strlen(np), "test", T0 + 5, &a, &e), 0);
	store_close(s);
}
END_TEST

START_TEST(test_setup_code_canon)
{
	char out[AUTH_SETUP_CODE_CHARS + 1];
	static const char *const bad[] = {
		"", "7KQ4-M2XP-9WFD", "7KQ4-M2XP-9WFD-3HJAX", "7KQ4-M2XP-9WFD-3HJU",
		"7KQ4_M2XP_9WFD_3HJA", "7KQ4-M2XP-9WFD-3HJ!",
		"7KQ4                                                            M2XP9WFD3HJA",
	};
	size_t i;

	ck_assert_int_eq(auth_setup_code_canon("7KQ4-M2XP-9WFD-3HJA", out), 0);
	ck_assert_str_eq(out, "7KQ4M2XP9WFD3HJA");
	ck_assert_int_eq(auth_setup_code_canon(" 7kq4 m2xp-9wfd3hja ", out), 0);
	ck_assert_str_eq(out, "7KQ4M2XP9WFD3HJA");
	/* O, I and L are read as the digits they look like. */
	ck_assert_int_eq(auth_setup_code_canon("OOOO-IIII-LLLL-oill", out), 0);
	ck_assert_str_eq(out, "0000111111110111");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(auth_setup_code_canon(bad[i], out) == -1, "accepted '%s'", bad[i]);
	ck_assert_int_eq(auth_setup_code_canon(NULL, out), -1);
}
END_TEST

START_TEST(test_setup)
{
	struct store *s = st_open();
	char code[AUTH_SETUP_CODE_SIZE], code2[AUTH_SETUP_CODE_SIZE], typed[AUTH_SETUP_CODE_SIZE];
	struct auth_session ses, got;
	struct lerr e;
	size_t i;
	int needed = -1;

	ck_assert_int_eq(auth_setup_needed(s, &needed, &e), 0);
	ck_assert_int_eq(needed, 1);
	ck_assert_int_eq(auth_setup_code_new(s, "test", code, &e), 0);
	/* XXXX-XXXX-XXXX-XXXX over the alphabet; a new one each time. */
	ck_assert_int_eq(strlen(code), 19);
	for (i = 0; i < 19; i++) {
		if (i % 5 == 4)
			ck_assert_int_eq(code[i], '-');
		else
			ck_assert_ptr_nonnull(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", code[i]));
	}
	ck_assert_int_eq(auth_setup_code_new(s, "test", code2, &e), 0);
	ck_assert_str_ne(code, code2);

	/* The first code was replaced: it is wrong now, like any other. */
	ck_assert_int_eq(auth_setup(s, code, "root", PW, strlen(PW), "test", T0, &ses, &e), 1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_int_eq(auth_setup(s, "not a code", "root", PW, strlen(PW), "test", T0, &ses, &e),
			 1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_int_eq(auth_setup(s, NULL, "root", PW, strlen(PW), "test", T0, &ses, &e), 1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	/* The rules of `lanca admin passwd`, with the right code. */
	ck_assert_int_eq(auth_setup(s, code2, "root", "short", 5, "test", T0, &ses, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(auth_setup(s, code2, "bad user", PW, strlen(PW), "test", T0, &ses, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(auth_setup_needed(s, &needed, &e), 0);
	ck_assert_int_eq(needed, 1);

	/* Typed in lower case without dashes: the same code. */
	for (i = 0; code2[i] != '\0'; i++)
		typed[i] = (char)(code2[i] >= 'A' && code2[i] <= 'Z' ? code2[i] - 'A' + 'a' : code2[i]);
	typed[i] = '\0';
	ck_assert_int_eq(auth_setup(s, typed, "root", PW, strlen(PW), "test", T0, &ses, &e), 0);
	ck_assert_str_eq(ses.user, "root");
	ck_assert_int_eq(ses.expires_at, T0 + 12 * 3600);
	ck_assert_int_eq(st_alive(s, ses.token, T0 + 1, &got), LERR_NONE);
	ck_assert_str_eq(got.csrf, ses.csrf);
	ck_assert_int_eq(auth_setup_needed(s, &needed, &e), 0);
	ck_assert_int_eq(needed, 0);
	/* Once: the same code again, or a new one, 409. */
	ck_assert_int_eq(auth_setup(s, code2, "other", PW, strlen(PW), "test", T0, &ses, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(auth_setup_code_new(s, "test", code, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(auth_login(s, "root", PW, strlen(PW), "test", T0, &ses, &e), 0);
	store_close(s);
}
END_TEST

/* Runs sql on the test's database from a connection of the test's own. */
static void
st_exec(const char *sql)
{
	sqlite3 *db;
	char *err = NULL;

	ck_assert_int_eq(sqlite3_open(st_path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err);
	sqlite3_close(db);
}

/* The rows of event in the audit log. */
static int
st_rows(const char *event)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;

	ck_assert_int_eq(sqlite3_open(st_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM audit WHERE event = ?",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* A wrong guess whose audit row cannot be written: not answered as a
 * refusal but as the audit log's 503, and still a wrong guess (1, which
 * the caller counts against the address). Once the row can be written,
 * the ordinary refusal and its row. */
START_TEST(test_failed_attempts_unrecorded)
{
	struct store *s = st_open();
	char code[AUTH_SETUP_CODE_SIZE];
	struct auth_session ses;
	struct lerr e;
	static const char *const events[] = { "login-failed", "password-failed", "setup-failed" };
	char sql[256];
	size_t i;

	ck_assert_int_eq(auth_setup_code_new(s, "test", code, &e), 0);
	for (i = 0; i < 3; i++) {
		snprintf(sql, sizeof(sql), "CREATE TRIGGER no_%zu BEFORE INSERT ON audit WHEN "
			 "NEW.event = '%s' BEGIN SELECT RAISE(ABORT, 'disk full'); END", i, events[i]);
		st_exec(sql);
	}
	ck_assert_int_eq(auth_setup(s, "AAAA-AAAA-AAAA-AAAA", "root", PW, strlen(PW), "test", T0,
				    &ses, &e), 1);
	ck_assert_int_eq(e.http, 503);
	ck_assert_int_eq(e.code, LERR_STORE);
	ck_assert_msg(strstr(e.msg, "the audit log cannot be written") != NULL &&
		      strstr(e.msg, "disk full") != NULL, "%s", e.msg);
	ck_assert_int_eq(auth_setup(s, code, "root", PW, strlen(PW), "test", T0, &ses, &e), 0);
	ck_assert_int_eq(auth_login(s, "root", "wrong-password", 14, "test", T0, &ses, &e), 1);
	ck_assert_int_eq(e.http, 503);
	ck_assert_ptr_nonnull(strstr(e.msg, "the audit log cannot be written"));
	ck_assert_int_eq(auth_login(s, "nobody", "wrong-password", 14, "test", T0, &ses, &e), 1);
	ck_assert_int_eq(e.http, 503);
	ck_assert_int_eq(auth_password_change(s, "root", "wrong-password", 14, "a-new-password-2",
					      16, "admin root", T0, &ses, &e), 1);
	ck_assert_int_eq(e.http, 503);
	ck_assert_ptr_nonnull(strstr(e.msg, "the audit log cannot be written"));
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(st_rows(events[i]), 0);

	st_exec("DROP TRIGGER no_0; DROP TRIGGER no_1");
	ck_assert_int_eq(auth_login(s, "root", "wrong-password", 14, "test", T0, &ses, &e), 1);
	ck_assert_int_eq(e.code, LERR_UNAUTHORIZED);
	ck_assert_int_eq(e.http, 401);
	ck_assert_int_eq(auth_password_change(s, "root", "wrong-password", 14, "a-new-password-2",
					      16, "admin root", T0, &ses, &e), 1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_int_eq(st_rows("login-failed"), 1);
	ck_assert_int_eq(st_rows("password-failed"), 1);
	store_close(s);
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
	tc = tcase_create("sessions");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, st_setup, st_teardown);
	tcase_add_test(tc, test_session_idle_end);
	tcase_add_test(tc, test_failed_attempts_unrecorded);
	tcase_add_test(tc, test_session_touch_once_a_minute);
	tcase_add_test(tc, test_session_background_no_touch);
	tcase_add_test(tc, test_session_absolute_end);
	tcase_add_test(tc, test_password_change_ends_sessions);
	tcase_add_test(tc, test_setup_code_canon);
	tcase_add_test(tc, test_setup);
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
