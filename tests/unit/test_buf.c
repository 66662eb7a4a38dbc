/*
 * test_buf.c - the capped buffer: caps hold, errors stick, bytes survive.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

START_TEST(test_append_and_cap)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_append(&b, "hello", 5), 0);
	ck_assert_int_eq(buf_puts(&b, "world"), 0);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq((char *)b.data, "helloworld");
	/* One byte past the cap fails, and keeps failing. */
	ck_assert_int_eq(buf_append(&b, "!", 1), -1);
	ck_assert(buf_failed(&b));
	ck_assert_int_eq(buf_append(&b, "", 0), -1);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq((char *)b.data, "helloworld");
	buf_free(&b);
}
END_TEST

START_TEST(test_overflow_safe)
{
	struct buf b;

	buf_init(&b, 100);
	ck_assert_int_eq(buf_append(&b, "x", 1), 0);
	/* A length that would wrap len + n must be refused, not wrap. */
	ck_assert_int_eq(buf_append(&b, "y", SIZE_MAX), -1);
	ck_assert_uint_eq(b.len, 1);
	buf_free(&b);
}
END_TEST

START_TEST(test_printf_and_extend)
{
	struct buf b;
	unsigned char *p;
	size_t len;

	buf_init(&b, 64);
	ck_assert_int_eq(buf_printf(&b, "%s=%d;", "a", 42), 0);
	p = buf_extend(&b, 3);
	ck_assert_ptr_nonnull(p);
	memcpy(p, "xyz", 3);
	ck_assert_str_eq((char *)b.data, "a=42;xyz");
	ck_assert_int_eq(buf_printf(&b, "%100s", "too long"), -1);
	ck_assert_ptr_null(buf_extend(&b, 1));	/* sticky */
	buf_free(&b);

	buf_init(&b, 64);
	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	p = buf_steal(&b, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_str_eq((char *)p, "abc");
	ck_assert_ptr_null(b.data);
	free(p);
	buf_free_secret(&b);
}
END_TEST

/* A secret buffer grows by copy and wipe; its bytes and cap hold as for
 * any other. */
START_TEST(test_secret_growth)
{
	unsigned char chunk[300];
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (unsigned char)i;
	buf_init_secret(&b, 2000);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(buf_append(&b, chunk, sizeof(chunk)), 0);
	ck_assert_uint_eq(b.len, 1800);
	ck_assert_uint_ge(b.alloc, 1801);
	for (i = 0; i < b.len; i++)
		ck_assert_uint_eq(b.data[i], (unsigned char)(i % sizeof(chunk)));
	ck_assert_int_eq(b.data[b.len], 0);
	ck_assert_int_eq(buf_append(&b, chunk, sizeof(chunk)), -1);
	buf_free_secret(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_append_and_cap);
	tcase_add_test(tc, test_overflow_safe);
	tcase_add_test(tc, test_printf_and_extend);
	tcase_add_test(tc, test_secret_growth);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
