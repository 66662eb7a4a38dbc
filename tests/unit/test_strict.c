/*
 * test_strict.c - the strict checks made before routing (http/strict.c):
 * the request line as sent (%00, the number of query parameters) and the
 * framing headers (Host, Content-Length, Transfer-Encoding), judged
 * without a server. t_strict.sh sends the same requests to the daemon.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/strict.h"

START_TEST(test_uri_nul)
{
	long q;

	ck_assert_int_eq(http_strict_uri_judge("/index.html%00.png", &q), HTTP_STRICT_URI_NUL);
	ck_assert_int_eq(q, -1);
	ck_assert_int_eq(http_strict_uri_judge("/a?x=%00", &q), HTTP_STRICT_URI_NUL);
	ck_assert_int_eq(q, 2);
	/* Other escapes, and "%0" followed by anything else, are bytes 1..255. */
	ck_assert_int_eq(http_strict_uri_judge("/a%01%0a%200", &q), HTTP_STRICT_URI_OK);
	ck_assert_int_eq(http_strict_uri_judge("/a%0", &q), HTTP_STRICT_URI_OK);
}
END_TEST

START_TEST(test_uri_params)
{
	char uri[16 * 1024];
	size_t n, i;
	long q;

	/* HTTP_STRICT_PARAMS_MAX pieces pass, one more does not. */
	n = (size_t)snprintf(uri, sizeof(uri), "/s?");
	for (i = 0; i < HTTP_STRICT_PARAMS_MAX; i++)
		n += (size_t)snprintf(uri + n, sizeof(uri) - n, "%sa=1", i ? "&" : "");
	ck_assert_int_eq(http_strict_uri_judge(uri, &q), HTTP_STRICT_URI_OK);
	ck_assert_int_eq(q, 2);
	snprintf(uri + n, sizeof(uri) - n, "&b");
	ck_assert_int_eq(http_strict_uri_judge(uri, &q), HTTP_STRICT_URI_PARAMS);
	/* Empty pieces count: libmicrohttpd makes a record for each. */
	memset(uri, '&', 5000);
	uri[0] = '/';
	uri[1] = '?';
	uri[5000] = '\0';
	ck_assert_int_eq(http_strict_uri_judge(uri, &q), HTTP_STRICT_URI_PARAMS);
	/* A '?' with nothing after it is no parameter. */
	ck_assert_int_eq(http_strict_uri_judge("/s?", &q), HTTP_STRICT_URI_OK);
	ck_assert_int_eq(http_strict_uri_judge("", &q), HTTP_STRICT_URI_OK);
}
END_TEST

/* The verdict's status for uri verdict u, version, and the counts. */
static unsigned
judge(enum http_strict_uri u, const char *version, unsigned host, unsigned cl, unsigned te,
      int chunked)
{
	struct http_strict_headers h = { host, cl, te, chunked };
	struct http_strict_verdict v;

	http_strict_judge(u, version, &h, &v);
	if (v.status != 0)
		ck_assert_msg(v.msg[0] != '\0' && v.code != LERR_NONE, "a refusal says why");
	return v.status;
}

START_TEST(test_judge)
{
	const char *h11 = MHD_HTTP_VERSION_1_1, *h10 = MHD_HTTP_VERSION_1_0;

	ck_assert_uint_eq(judge(HTTP_STRICT_URI_OK, h11, 1, 0, 0, 0), 0);
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_OK, h11, 1, 1, 0, 0), 0);
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_OK, h11, 1, 0, 1, 1), 0);
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_NUL, h11, 1, 0, 0, 0), 400);
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_PARAMS, h11, 1, 0, 0, 0), 431);
	/* Host: one on HTTP/1.1; none is fine on HTTP/1.0, two never are. */
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_OK, h11, 0, 0, 0, 0), 400);
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_OK, h10, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_OK, h10, 2, 0, 0, 0), 400);
	/* HTTP/1.2 to 1.9 are taken for 1.1: the same rule. */
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_OK, "HTTP/1.2", 0, 0, 0, 0), 400);
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_OK, "HTTP/1.9", 0, 0, 0, 0), 400);
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_OK, "HTTP/1.2", 1, 0, 0, 0), 0);
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_RAW_NUL, h11, 1, 0, 0, 0), 400);
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_LONG, h11, 1, 0, 0, 0), 414);
	/* Framing. */
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_OK, h11, 1, 2, 0, 0), 400);
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_OK, h11, 1, 1, 1, 1), 400);
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_OK, h11, 1, 0, 2, 1), 400);
	ck_assert_uint_eq(judge(HTTP_STRICT_URI_OK, h11, 1, 0, 1, 0), 501);
}
END_TEST

/* A URI whose string is shorter than the request line says held a NUL
 * byte; one too long to follow is 414; an earlier verdict stands. */
START_TEST(test_uri_whole)
{
	ck_assert_int_eq(http_strict_uri_whole(HTTP_STRICT_URI_OK, 11, 11, 1), HTTP_STRICT_URI_OK);
	ck_assert_int_eq(http_strict_uri_whole(HTTP_STRICT_URI_OK, 11, 15, 1),
			 HTTP_STRICT_URI_RAW_NUL);
	ck_assert_int_eq(http_strict_uri_whole(HTTP_STRICT_URI_OK, 11, 0, 0), HTTP_STRICT_URI_OK);
	ck_assert_int_eq(http_strict_uri_whole(HTTP_STRICT_URI_OK, HTTP_STRICT_RAW_URI_MAX,
					       HTTP_STRICT_RAW_URI_MAX, 1), HTTP_STRICT_URI_OK);
	ck_assert_int_eq(http_strict_uri_whole(HTTP_STRICT_URI_OK, HTTP_STRICT_RAW_URI_MAX + 1,
					       HTTP_STRICT_RAW_URI_MAX + 1, 1), HTTP_STRICT_URI_LONG);
	ck_assert_int_eq(http_strict_uri_whole(HTTP_STRICT_URI_OK, 10, HTTP_STRICT_RAW_URI_MAX + 1, 1),
			 HTTP_STRICT_URI_LONG);
	ck_assert_int_eq(http_strict_uri_whole(HTTP_STRICT_URI_NUL, 11, 15, 1), HTTP_STRICT_URI_NUL);
}
END_TEST

static Suite *
strict_suite(void)
{
	Suite *s = suite_create("strict");
	TCase *tc = tcase_create("judge");

	tcase_add_test(tc, test_uri_nul);
	tcase_add_test(tc, test_uri_params);
	tcase_add_test(tc, test_judge);
	tcase_add_test(tc, test_uri_whole);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(strict_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
