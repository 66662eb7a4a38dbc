/*
 * test_caexpiry.c - the CA expiry warning: the 90-day threshold for the
 * root and the issuing CA, each on its own; the daemon's log line once a
 * day and not in between, on a clock the test moves; the wording for
 * people, before and after the end.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/caexpiry.h"
#include "daemon/state.h"

#define DAY	86400
#define T0	2000000000		/* the test's clock starts here */

/* A CA set whose root ends root_days and issuing CA issuing_days after
 * T0 (only what caexpiry reads: subjects and ends). */
static void
cas(struct ca_set *ca, int64_t root_days, int64_t issuing_days)
{
	memset(ca, 0, sizeof(*ca));
	snprintf(ca->root_subject, sizeof(ca->root_subject), "CN=t Root CA");
	snprintf(ca->issuing_subject, sizeof(ca->issuing_subject), "OU=t Issuing CA");
	ca->root_not_after = (time_t)(T0 + root_days * DAY);
	ca->issuing_not_after = (time_t)(T0 + issuing_days * DAY);
}

/* Runs caexpiry_tick with stderr (the log) caught into out. */
static int
tick_logged(struct caexpiry_watch *w, const struct ca_set *ca, int64_t now, char *out,
	    size_t size)
{
	FILE *f = tmpfile();
	int saved, n;
	size_t got;

	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	saved = dup(2);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fileno(f), 2), 2);
	n = caexpiry_tick(w, ca, now);
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	rewind(f);
	got = fread(out, 1, size - 1, f);
	out[got] = '\0';
	fclose(f);
	return n;
}

START_TEST(test_threshold)
{
	struct caexpiry x[CAEXPIRY_CAS];
	struct ca_set ca;

	cas(&ca, 7300, 91);
	caexpiry_check(&ca, T0, x);
	ck_assert_str_eq(x[0].role, "root");
	ck_assert_str_eq(x[1].role, "issuing");
	ck_assert_int_eq(x[0].warn, 0);
	ck_assert_int_eq(x[1].warn, 0);
	ck_assert_int_eq(x[1].left, 91 * DAY);
	/* One second inside the 90 days. */
	caexpiry_check(&ca, T0 + DAY + 1, x);
	ck_assert_int_eq(x[1].warn, 1);
	ck_assert_int_eq(x[0].warn, 0);
	/* The root on its own, and both past their end. */
	cas(&ca, 30, 3000);
	caexpiry_check(&ca, T0, x);
	ck_assert_int_eq(x[0].warn, 1);
	ck_assert_int_eq(x[1].warn, 0);
	caexpiry_check(&ca, T0 + 4000 * (int64_t)DAY, x);
	ck_assert_int_eq(x[0].warn && x[1].warn, 1);
	ck_assert_int_lt(x[0].left, 0);
}
END_TEST

START_TEST(test_text)
{
	struct caexpiry x[CAEXPIRY_CAS];
	char text[CAEXPIRY_TEXT_MAX];
	struct ca_set ca;

	cas(&ca, 7300, 31);
	caexpiry_check(&ca, T0 + 12 * 3600, x);
	caexpiry_text(&x[1], text);
	ck_assert_msg(strstr(text, "the issuing CA OU=t Issuing CA expires in 30 days, on ") ==
		      text, "%s", text);
	caexpiry_check(&ca, T0 + 40 * DAY, x);
	caexpiry_text(&x[1], text);
	ck_assert_msg(strstr(text, "the issuing CA OU=t Issuing CA expired on ") == text, "%s", text);
}
END_TEST

/* The daemon's warning: at once, then not again for a day, then again;
 * each CA on its own clock; nothing while neither is near its end. */
START_TEST(test_daily)
{
	struct caexpiry_watch w;
	char log[2048];
	struct ca_set ca;
	int64_t t;

	memset(&w, 0, sizeof(w));
	cas(&ca, 7300, 120);
	ck_assert_int_eq(tick_logged(&w, &ca, T0, log, sizeof(log)), 0);
	ck_assert_str_eq(log, "");
	/* 31 days on, the issuing CA has 89 days left. */
	t = T0 + 31 * DAY;
	ck_assert_int_eq(tick_logged(&w, &ca, t, log, sizeof(log)), 1);
	ck_assert_msg(strstr(log, "warning") != NULL && strstr(log, "the issuing CA OU=t Issuing "
		      "CA expires in 89 days") != NULL, "%s", log);
	/* Every minute of the next day: silent. */
	for (t += 60; t < T0 + 32 * DAY; t += 60)
		ck_assert_int_eq(tick_logged(&w, &ca, t, log, sizeof(log)), 0);
	ck_assert_int_eq(tick_logged(&w, &ca, T0 + 32 * DAY, log, sizeof(log)), 1);
	ck_assert_msg(strstr(log, "expires in 88 days") != NULL, "%s", log);
	/* The root comes within its 90 days later: warned about at once,
	 * while the issuing CA keeps its own day. */
	cas(&ca, 32 + 90, 120);
	ck_assert_int_eq(tick_logged(&w, &ca, T0 + 32 * DAY + 3600, log, sizeof(log)), 1);
	ck_assert_msg(strstr(log, "the root CA CN=t Root CA expires in 89 days") != NULL, "%s", log);
	ck_assert_int_eq(tick_logged(&w, &ca, T0 + 33 * DAY + 3600, log, sizeof(log)), 2);
	/* A clock set back does not silence it for the time it went back. */
	ck_assert_int_eq(tick_logged(&w, &ca, T0 + 33 * DAY, log, sizeof(log)), 2);
}
END_TEST

static Suite *
caexpiry_suite(void)
{
	Suite *s = suite_create("caexpiry");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_threshold);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_daily);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(caexpiry_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
