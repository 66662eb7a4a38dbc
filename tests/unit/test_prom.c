/*
 * test_prom.c - the Prometheus text writer and the lock-free histogram:
 * label values and HELP text escaped as format 0.0.4 asks, bad names
 * refused, a histogram's lines cumulative and ending in +Inf = _count,
 * durations on a bucket's bound counted in that bucket, seconds written
 * exactly.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "common/metric.h"
#include "common/prom.h"

START_TEST(test_escaping)
{
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(prom_family(&b, "lanca_x_total", "counter",
				     "a \"quoted\" back\\slash\nand a new line"), 0);
	ck_assert_int_eq(prom_sample_u64(&b, "lanca_x_total",
					 (const char *[]){ "door", "a\"b\\c\nd", "op", "", NULL },
					 18446744073709551615ULL), 0);
	ck_assert_int_eq(prom_sample_i64(&b, "lanca_y", NULL, -42), 0);
	/* HELP escapes backslash and line feed, not quotes; label values all three. */
	ck_assert_str_eq((char *)b.data,
			 "# HELP lanca_x_total a \"quoted\" back\\\\slash\\nand a new line\n"
			 "# TYPE lanca_x_total counter\n"
			 "lanca_x_total{door=\"a\\\"b\\\\c\\nd\",op=\"\"} 18446744073709551615\n"
			 "lanca_y -42\n");
	ck_assert(!buf_failed(&b));
	buf_free(&b);
}
END_TEST

START_TEST(test_bad_names)
{
	static const char *const bad_metric[] = { "", "9lanca", "lanca-x", "lanca x", "lanca\n" };
	static const char *const bad_label[] = { "", "__name", "le:x", "0op", "o p" };
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(bad_metric) / sizeof(bad_metric[0]); i++) {
		buf_init(&b, 256);
		ck_assert_int_eq(prom_sample_u64(&b, bad_metric[i], NULL, 1), -1);
		ck_assert(buf_failed(&b));
		buf_free(&b);
		buf_init(&b, 256);
		ck_assert_int_eq(prom_family(&b, bad_metric[i], "gauge", "x"), -1);
		buf_free(&b);
	}
	for (i = 0; i < sizeof(bad_label) / sizeof(bad_label[0]); i++) {
		buf_init(&b, 256);
		ck_assert_int_eq(prom_sample_u64(&b, "lanca_ok",
						 (const char *[]){ bad_label[i], "v", NULL }, 1), -1);
		ck_assert(buf_failed(&b));
		buf_free(&b);
	}
	/* A label without its value is a caller's bug, not a crash. */
	buf_init(&b, 256);
	ck_assert_int_eq(prom_sample_u64(&b, "lanca_ok", (const char *[]){ "op", NULL }, 1), -1);
	buf_free(&b);
	/* Colons are for metric names (recording rules), fine there. */
	buf_init(&b, 256);
	ck_assert_int_eq(prom_sample_u64(&b, "lanca:ok_1", (const char *[]){ "o_p1", "v", NULL }, 1),
			 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_seconds)
{
	char s[32];

	prom_seconds(0, s);
	ck_assert_str_eq(s, "0");
	prom_seconds(250000, s);
	ck_assert_str_eq(s, "0.00025");
	prom_seconds(2500000000ULL, s);
	ck_assert_str_eq(s, "2.5");
	prom_seconds(30000000000ULL, s);
	ck_assert_str_eq(s, "30");
	prom_seconds(1, s);
	ck_assert_str_eq(s, "0.000000001");
	prom_seconds(UINT64_MAX, s);
	ck_assert_str_eq(s, "18446744073.709551615");
}
END_TEST

START_TEST(test_histogram)
{
	struct metric_histogram h;
	struct metric_histogram_snap snap;
	struct buf b;
	const char *p;
	unsigned i;

	memset(&h, 0, sizeof(h));
	metric_histogram_observe(&h, 100000);		/* on the first bound: in it */
	metric_histogram_observe(&h, 100001);		/* just past it: the next */
	metric_histogram_observe(&h, 3000000);		/* 3 ms: le 0.005 */
	metric_histogram_observe(&h, 60000000000ULL);	/* past 30 s: +Inf only */
	metric_histogram_read(&h, &snap);
	ck_assert_uint_eq(snap.count, 4);
	ck_assert_uint_eq(snap.cumulative[0], 1);
	ck_assert_uint_eq(snap.cumulative[1], 2);
	ck_assert_uint_eq(snap.cumulative[4], 2);	/* le 0.0025 */
	ck_assert_uint_eq(snap.cumulative[5], 3);	/* le 0.005 */
	ck_assert_uint_eq(snap.cumulative[METRIC_LATENCY_BOUNDS - 1], 3);
	ck_assert_uint_eq(snap.cumulative[METRIC_LATENCY_BOUNDS], 4);
	for (i = 0; i < METRIC_LATENCY_BOUNDS; i++)
		ck_assert_uint_le(snap.cumulative[i], snap.cumulative[i + 1]);
	ck_assert_uint_eq(snap.sum_ns, 100000 + 100001 + 3000000 + 60000000000ULL);

	buf_init(&b, 8192);
	ck_assert_int_eq(prom_histogram(&b, "lanca_rt_seconds",
					(const char *[]){ "op", "issue", NULL }, &snap), 0);
	p = (const char *)b.data;
	ck_assert_ptr_nonnull(strstr(p, "lanca_rt_seconds_bucket{op=\"issue\",le=\"0.0001\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(p, "lanca_rt_seconds_bucket{op=\"issue\",le=\"0.00025\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(p, "lanca_rt_seconds_bucket{op=\"issue\",le=\"0.005\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(p, "lanca_rt_seconds_bucket{op=\"issue\",le=\"30\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(p, "lanca_rt_seconds_bucket{op=\"issue\",le=\"+Inf\"} 4\n"
					"lanca_rt_seconds_sum{op=\"issue\"} 60.003200001\n"
					"lanca_rt_seconds_count{op=\"issue\"} 4\n"));
	buf_free(&b);

	/* No labels: le is the only one. */
	buf_init(&b, 8192);
	ck_assert_int_eq(prom_histogram(&b, "lanca_rt_seconds", NULL, &snap), 0);
	ck_assert_ptr_nonnull(strstr((char *)b.data, "lanca_rt_seconds_bucket{le=\"+Inf\"} 4\n"));
	ck_assert_ptr_nonnull(strstr((char *)b.data, "lanca_rt_seconds_count 4\n"));
	buf_free(&b);
}
END_TEST

/* A page that does not fit fails as a whole, never half written silently. */
START_TEST(test_cap)
{
	struct metric_histogram_snap snap;
	struct buf b;

	memset(&snap, 0, sizeof(snap));
	buf_init(&b, 200);
	ck_assert_int_eq(prom_histogram(&b, "lanca_rt_seconds", NULL, &snap), -1);
	ck_assert(buf_failed(&b));
	ck_assert_int_eq(prom_sample_u64(&b, "lanca_a", NULL, 1), -1);
	buf_free(&b);
}
END_TEST

static Suite *
prom_suite(void)
{
	Suite *s = suite_create("prom");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_bad_names);
	tcase_add_test(tc, test_seconds);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_cap);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(prom_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
