/*
 * test_acme_nonce.c - ACME's anti-replay nonces (http/acme/nonce.h): a
 * nonce is taken once; a forged one (a byte changed, tag or number),
 * garbage, a short or long string are refused; of the last
 * ACME_NONCES_KEPT nonces made each is good, one older is not; two sets
 * (two processes, or one before and after a restart) refuse each
 * other's; and from several threads at once no nonce is taken twice.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http/acme/nonce.h"

static struct acme_nonces *
nonces(void)
{
	struct acme_nonces *n = NULL;

	ck_assert_int_eq(acme_nonces_new(&n), 0);
	ck_assert_ptr_nonnull(n);
	return n;
}

START_TEST(test_taken_once)
{
	struct acme_nonces *n = nonces();
	char a[ACME_NONCE_LEN + 1], b[ACME_NONCE_LEN + 1];

	acme_nonce_make(n, a);
	acme_nonce_make(n, b);
	ck_assert_uint_eq(strlen(a), ACME_NONCE_LEN);
	ck_assert_str_ne(a, b);
	/* base64url only: it goes in a header as it is */
	ck_assert_uint_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				"0123456789-_"), ACME_NONCE_LEN);
	ck_assert_int_eq(acme_nonce_take(n, b), 1);
	ck_assert_int_eq(acme_nonce_take(n, b), 0);
	ck_assert_int_eq(acme_nonce_take(n, a), 1);
	ck_assert_int_eq(acme_nonce_take(n, a), 0);
	ck_assert_int_eq(acme_nonce_take(n, b), 0);
	acme_nonces_free(n);
	acme_nonces_free(NULL);
}
END_TEST

/* The base64url alphabet's next character after c (wrapping). */
static char
other_char(char c)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *p = strchr(abc, c);

	ck_assert_ptr_nonnull(p);
	return p[1] != '\0' ? p[1] : abc[0];
}

START_TEST(test_forged)
{
	struct acme_nonces *n = nonces();
	char good[ACME_NONCE_LEN + 1], bad[ACME_NONCE_LEN + 1];
	size_t i;

	acme_nonce_make(n, good);
	/* every position changed in turn: the number (first 8 bytes, 11
	 * characters) or the tag; the last character carries only 4 bits
	 * of the 24 bytes, and its low bits changed would not decode */
	for (i = 0; i < ACME_NONCE_LEN; i++) {
		memcpy(bad, good, sizeof(bad));
		bad[i] = other_char(bad[i]);
		ck_assert_msg(acme_nonce_take(n, bad) == 0, "changed at %zu: %s", i, bad);
	}
	/* the genuine one is still good after all that */
	ck_assert_int_eq(acme_nonce_take(n, good), 1);
	acme_nonces_free(n);
}
END_TEST

START_TEST(test_garbage)
{
	struct acme_nonces *n = nonces();
	char good[ACME_NONCE_LEN + 1], buf[2 * ACME_NONCE_LEN + 2];

	acme_nonce_make(n, good);
	ck_assert_int_eq(acme_nonce_take(n, NULL), 0);
	ck_assert_int_eq(acme_nonce_take(n, ""), 0);
	ck_assert_int_eq(acme_nonce_take(n, "abc"), 0);
	ck_assert_int_eq(acme_nonce_take(n, "................................"), 0);
	ck_assert_int_eq(acme_nonce_take(n, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 0);
	ck_assert_int_eq(acme_nonce_take(n, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), 0);
	/* one short, one long, with padding, in another alphabet */
	snprintf(buf, sizeof(buf), "%.*s", ACME_NONCE_LEN - 1, good);
	ck_assert_int_eq(acme_nonce_take(n, buf), 0);
	snprintf(buf, sizeof(buf), "%sA", good);
	ck_assert_int_eq(acme_nonce_take(n, buf), 0);
	snprintf(buf, sizeof(buf), "%s=", good);
	ck_assert_int_eq(acme_nonce_take(n, buf), 0);
	snprintf(buf, sizeof(buf), "%s%s", good, good);
	ck_assert_int_eq(acme_nonce_take(n, buf), 0);
	snprintf(buf, sizeof(buf), " %.*s", ACME_NONCE_LEN - 1, good);
	ck_assert_int_eq(acme_nonce_take(n, buf), 0);
	/* none of that used it up */
	ck_assert_int_eq(acme_nonce_take(n, good), 1);
	acme_nonces_free(n);
}
END_TEST

START_TEST(test_window)
{
	struct acme_nonces *n = nonces();
	char old[ACME_NONCE_LEN + 1], edge[ACME_NONCE_LEN + 1], x[ACME_NONCE_LEN + 1];
	char taken[ACME_NONCE_LEN + 1];
	size_t i;

	acme_nonce_make(n, old);
	acme_nonce_make(n, edge);
	acme_nonce_make(n, taken);
	ck_assert_int_eq(acme_nonce_take(n, taken), 1);
	/* old has ACME_NONCES_KEPT newer ones (edge, taken and these): it
	 * is one too many; edge has ACME_NONCES_KEPT - 1 (it is the
	 * KEPT-th newest): still good */
	for (i = 0; i < ACME_NONCES_KEPT - 2; i++)
		acme_nonce_make(n, x);
	ck_assert_int_eq(acme_nonce_take(n, old), 0);
	ck_assert_int_eq(acme_nonce_take(n, edge), 1);
	ck_assert_int_eq(acme_nonce_take(n, edge), 0);
	/* taken before, its slot reused since: still refused */
	acme_nonce_make(n, x);
	acme_nonce_make(n, x);
	ck_assert_int_eq(acme_nonce_take(n, taken), 0);
	/* the newest is good */
	ck_assert_int_eq(acme_nonce_take(n, x), 1);
	acme_nonces_free(n);
}
END_TEST

START_TEST(test_window_exact)
{
	struct acme_nonces *n = nonces();
	char first[ACME_NONCE_LEN + 1], x[ACME_NONCE_LEN + 1];
	size_t i;

	/* first and KEPT - 1 more: all KEPT are good */
	acme_nonce_make(n, first);
	for (i = 0; i < ACME_NONCES_KEPT - 1; i++)
		acme_nonce_make(n, x);
	ck_assert_int_eq(acme_nonce_take(n, first), 1);
	/* and one made, unused, then pushed out by exactly KEPT more */
	acme_nonce_make(n, first);
	for (i = 0; i < ACME_NONCES_KEPT; i++)
		acme_nonce_make(n, x);
	ck_assert_int_eq(acme_nonce_take(n, first), 0);
	acme_nonces_free(n);
}
END_TEST

START_TEST(test_two_sets)
{
	struct acme_nonces *a = nonces(), *b = nonces();
	char na[ACME_NONCE_LEN + 1], nb[ACME_NONCE_LEN + 1];
	int i;

	for (i = 0; i < 100; i++) {
		acme_nonce_make(a, na);
		acme_nonce_make(b, nb);
		ck_assert_int_eq(acme_nonce_take(b, na), 0);
		ck_assert_int_eq(acme_nonce_take(a, nb), 0);
		ck_assert_int_eq(acme_nonce_take(a, na), 1);
		ck_assert_int_eq(acme_nonce_take(b, nb), 1);
	}
	acme_nonces_free(a);
	acme_nonces_free(b);
}
END_TEST

#define THREADS		2
#define PER_THREAD	10000

static struct acme_nonces *shared;
static pthread_barrier_t between;
/* Every nonce made, by thread, and how often each was taken. */
static char made[THREADS][PER_THREAD][ACME_NONCE_LEN + 1];
static int takes[THREADS][PER_THREAD];

/* Makes PER_THREAD nonces while the other thread makes its own; then,
 * once both are done, both threads race to take every nonce of both,
 * each in its own order (this one from the first, the other from the
 * last), as two requests replaying one nonce would. */
static void *
worker(void *arg)
{
	int me = (int)(size_t)arg, i, k, t;

	for (i = 0; i < PER_THREAD; i++)
		acme_nonce_make(shared, made[me][i]);
	pthread_barrier_wait(&between);
	for (i = 0; i < THREADS * PER_THREAD; i++) {
		k = me == 0 ? i : THREADS * PER_THREAD - 1 - i;
		t = k / PER_THREAD;
		if (acme_nonce_take(shared, made[t][k % PER_THREAD]))
			__atomic_add_fetch(&takes[t][k % PER_THREAD], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t th[THREADS];
	int i, k;
	long total = 0;

	shared = nonces();
	ck_assert_int_eq(pthread_barrier_init(&between, NULL, THREADS), 0);
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker, (void *)(size_t)i), 0);
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	for (i = 0; i < THREADS; i++)
		for (k = 0; k < PER_THREAD; k++) {
			ck_assert_msg(takes[i][k] <= 1, "nonce %d of thread %d taken %d times", k, i,
				      takes[i][k]);
			total += takes[i][k];
		}
	/* each once: none lost, none twice (nor two threads handed one) */
	ck_assert_int_eq(total, THREADS * PER_THREAD);
	for (k = 0; k < PER_THREAD; k++)
		ck_assert_int_eq(acme_nonce_take(shared, made[0][k]), 0);
	pthread_barrier_destroy(&between);
	acme_nonces_free(shared);
}
END_TEST

static Suite *
nonce_suite(void)
{
	Suite *s = suite_create("acme_nonce");
	TCase *tc = tcase_create("nonce");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_taken_once);
	tcase_add_test(tc, test_forged);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_window_exact);
	tcase_add_test(tc, test_two_sets);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(nonce_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
