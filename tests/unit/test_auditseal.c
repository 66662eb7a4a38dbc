/*
 * test_auditseal.c - the audit chain's hash and checkpoint signatures
 * (ca/auditseal.h): every field counts, NULL is not "", fields cannot
 * slide into each other, a checkpoint signs exactly its row, head and
 * time with its key, and key files parse strictly.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "ca/auditseal.h"

static const struct auditseal_row base = { 7, 1700000000, "admin", "revoke", "dev-a",
					   "{\"reason\":\"keyCompromise\"}" };

/* hash(prev, r) */
static void
h(const unsigned char *prev, const struct auditseal_row *r, unsigned char out[32])
{
	ck_assert_int_eq(auditseal_row_hash(prev, r, out), 0);
}

START_TEST(test_every_field_counts)
{
	unsigned char a[32], b[32], prev[32];
	struct auditseal_row r;

	h(NULL, &base, a);
	h(NULL, &base, b);
	ck_assert_int_eq(memcmp(a, b, 32), 0);	/* a function of its input */
	/* The first row's prev is 32 zero bytes. */
	memset(prev, 0, sizeof(prev));
	h(prev, &base, b);
	ck_assert_int_eq(memcmp(a, b, 32), 0);
	prev[0] = 1;
	h(prev, &base, b);
	ck_assert_int_ne(memcmp(a, b, 32), 0);

	r = base; r.id = 8; h(NULL, &r, b); ck_assert_int_ne(memcmp(a, b, 32), 0);
	r = base; r.at++; h(NULL, &r, b); ck_assert_int_ne(memcmp(a, b, 32), 0);
	r = base; r.actor = "admin2"; h(NULL, &r, b); ck_assert_int_ne(memcmp(a, b, 32), 0);
	r = base; r.event = "revokE"; h(NULL, &r, b); ck_assert_int_ne(memcmp(a, b, 32), 0);
	r = base; r.subject = "dev-b"; h(NULL, &r, b); ck_assert_int_ne(memcmp(a, b, 32), 0);
	r = base; r.detail = "{}"; h(NULL, &r, b); ck_assert_int_ne(memcmp(a, b, 32), 0);
}
END_TEST

START_TEST(test_null_is_not_empty)
{
	unsigned char a[32], b[32];
	struct auditseal_row r = base;

	r.subject = NULL;
	h(NULL, &r, a);
	r.subject = "";
	h(NULL, &r, b);
	ck_assert_int_ne(memcmp(a, b, 32), 0);
	r = base;
	r.detail = NULL;
	h(NULL, &r, a);
	r.detail = "";
	h(NULL, &r, b);
	ck_assert_int_ne(memcmp(a, b, 32), 0);
}
END_TEST

/* Moving bytes from one field to the next changes the hash: each field
 * carries its length. */
START_TEST(test_fields_do_not_slide)
{
	unsigned char a[32], b[32];
	struct auditseal_row r = base;

	r.actor = "ab";
	r.event = "c";
	h(NULL, &r, a);
	r.actor = "a";
	r.event = "bc";
	h(NULL, &r, b);
	ck_assert_int_ne(memcmp(a, b, 32), 0);
	/* A NULL subject is not an empty subject followed by "" detail. */
	r = base;
	r.subject = NULL;
	r.detail = "x";
	h(NULL, &r, a);
	r.subject = "x";
	r.detail = NULL;
	h(NULL, &r, b);
	ck_assert_int_ne(memcmp(a, b, 32), 0);
}
END_TEST

START_TEST(test_sign_verify)
{
	char seed[AUDITSEAL_KEY_TEXT_MAX], pub[AUDITSEAL_KEY_TEXT_MAX], pub2[AUDITSEAL_KEY_TEXT_MAX];
	unsigned char sk[AUDITSEAL_SK_LEN], pk[AUDITSEAL_PK_LEN], head[32], sig[64];
	unsigned char osk[AUDITSEAL_SK_LEN], opk[AUDITSEAL_PK_LEN];
	struct lerr e;

	ck_assert_int_eq(auditseal_keygen(seed, pub, &e), 0);
	ck_assert_int_eq(auditseal_sk_parse("k", seed, strlen(seed), sk, &e), 0);
	ck_assert_int_eq(auditseal_pk_parse("p", pub, strlen(pub), pk, &e), 0);
	auditseal_pk_text(sk, pub2);
	ck_assert_str_eq(pub, pub2);
	memset(head, 0x5a, sizeof(head));
	ck_assert_int_eq(auditseal_sign(sk, 10, head, 1000, sig), 0);
	ck_assert_int_eq(auditseal_verify(pk, 10, head, 1000, sig), 0);
	ck_assert_int_ne(auditseal_verify(pk, 11, head, 1000, sig), 0);
	ck_assert_int_ne(auditseal_verify(pk, 10, head, 999, sig), 0);
	head[0] ^= 1;
	ck_assert_int_ne(auditseal_verify(pk, 10, head, 1000, sig), 0);
	head[0] ^= 1;
	sig[63] ^= 1;
	ck_assert_int_ne(auditseal_verify(pk, 10, head, 1000, sig), 0);
	sig[63] ^= 1;
	/* Another key's public half does not verify it. */
	crypto_sign_keypair(opk, osk);
	ck_assert_int_ne(auditseal_verify(opk, 10, head, 1000, sig), 0);
	/* A plain Ed25519 signature of the same fields without the domain
	 * is not a checkpoint. */
	{
		unsigned char raw[8 + 32 + 8] = { 0 }, rs[64];

		raw[7] = 10;
		memcpy(raw + 8, head, 32);
		raw[8 + 32 + 6] = 0x03;
		raw[8 + 32 + 7] = 0xe8;
		crypto_sign_detached(rs, NULL, raw, sizeof(raw), sk);
		ck_assert_int_ne(auditseal_verify(pk, 10, head, 1000, rs), 0);
	}
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
}
END_TEST

START_TEST(test_key_text_strict)
{
	char seed[AUDITSEAL_KEY_TEXT_MAX], pub[AUDITSEAL_KEY_TEXT_MAX], bad[AUDITSEAL_KEY_TEXT_MAX];
	unsigned char sk[AUDITSEAL_SK_LEN], pk[AUDITSEAL_PK_LEN];
	struct lerr e;

	ck_assert_int_eq(auditseal_keygen(seed, pub, &e), 0);
	/* Without its newline it still parses; one byte short does not. */
	ck_assert_int_eq(auditseal_pk_parse("p", pub, strlen(pub) - 1, pk, &e), 0);
	ck_assert_int_eq(auditseal_pk_parse("p", pub, strlen(pub) - 2, pk, &e), -1);
	ck_assert_msg(strstr(e.msg, "p is not an audit key") != NULL, "%s", e.msg);
	/* A secret key is not a public key, nor the reverse. */
	ck_assert_int_eq(auditseal_pk_parse("p", seed, strlen(seed), pk, &e), -1);
	ck_assert_int_eq(auditseal_sk_parse("k", pub, strlen(pub), sk, &e), -1);
	/* Not hex. */
	snprintf(bad, sizeof(bad), "%s", pub);
	bad[10] = 'g';
	ck_assert_int_eq(auditseal_pk_parse("p", bad, strlen(bad), pk, &e), -1);
	/* Trailing bytes. */
	snprintf(bad, sizeof(bad), "%.*s00\n", (int)strlen(pub) - 1, pub);
	ck_assert_int_eq(auditseal_pk_parse("p", bad, strlen(bad), pk, &e), -1);
	ck_assert_int_eq(auditseal_pk_parse("p", "", 0, pk, &e), -1);
	sodium_memzero(seed, sizeof(seed));
}
END_TEST

static Suite *
auditseal_suite(void)
{
	Suite *s = suite_create("auditseal");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_every_field_counts);
	tcase_add_test(tc, test_null_is_not_empty);
	tcase_add_test(tc, test_fields_do_not_slide);
	tcase_add_test(tc, test_sign_verify);
	tcase_add_test(tc, test_key_text_strict);
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
	sr = srunner_create(auditseal_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
