/*
 * test_names.c - names.c: DNS name syntax, IDNA labels, IP network
 * parsing, masking, containment and the text forms.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "ca/names.h"

/* A name of n bytes: labels of 63 'a's separated by dots, then a filler. */
static char *
long_name(size_t n)
{
	char *s = malloc(n + 1);
	size_t i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < n; i++)
		s[i] = (i % 64 == 63) ? '.' : 'a';
	s[n] = '\0';
	if (s[n - 1] == '.')
		s[n - 1] = 'b';
	return s;
}

START_TEST(dns_accepts_and_lowercases)
{
	struct names n;

	names_init(&n);
	ck_assert_int_eq(names_add_dns(&n, "Printer.Home.ARPA"), 0);
	ck_assert_int_eq(names_add_dns(&n, "x.local"), 0);
	ck_assert_int_eq(names_add_dns(&n, "a-b.c0.local"), 0);
	ck_assert_int_eq(names_add_dns(&n, "xn--bcher-kva.local"), 0);
	ck_assert_int_eq(names_add_dns(&n, "localhost"), 0);
	ck_assert_uint_eq(n.ndns, 5);
	ck_assert_str_eq(n.dns[0], "printer.home.arpa");
	/* a set: the same name (in any case) is not stored twice */
	ck_assert_int_eq(names_add_dns(&n, "X.LOCAL"), 0);
	ck_assert_uint_eq(n.ndns, 5);
	names_free(&n);
	ck_assert_uint_eq(n.ndns, 0);
}
END_TEST

START_TEST(dns_rejects_malformed)
{
	static const char *const bad[] = {
		"", ".", "x.local.", ".x.local", "x..local", "-x.local", "x-.local",
		"x.local-", "*.x.local", "*", "x*.local", "x_y.local", "x y.local",
		"caf\xc3\xa9.local", "x.local\n", "a/b.local", "x:1.local",
	};
	struct names n;
	size_t i;

	names_init(&n);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(names_add_dns(&n, bad[i]) == -1, "accepted \"%s\"", bad[i]);
	ck_assert_uint_eq(n.ndns, 0);
	names_free(&n);
}
END_TEST

START_TEST(dns_label_and_total_length)
{
	char label63[64 + 7], label64[65 + 7];
	char *ok, *toolong;
	struct names n;

	memset(label63, 'a', 63);
	memcpy(label63 + 63, ".local", 7);
	memset(label64, 'a', 64);
	memcpy(label64 + 64, ".local", 7);
	ok = long_name(NAMES_DNS_MAX);
	toolong = long_name(NAMES_DNS_MAX + 1);
	names_init(&n);
	ck_assert_int_eq(names_add_dns(&n, label63), 0);
	ck_assert_int_eq(names_add_dns(&n, label64), -1);
	ck_assert_int_eq(names_add_dns(&n, ok), 0);
	ck_assert_int_eq(names_add_dns(&n, toolong), -1);
	ck_assert_uint_eq(n.ndns, 2);
	names_free(&n);
	free(ok);
	free(toolong);
}
END_TEST

START_TEST(dns_full)
{
	char name[32];
	struct names n;
	int i;

	names_init(&n);
	for (i = 0; i < NAMES_MAX; i++) {
		snprintf(name, sizeof(name), "d%d.local", i);
		ck_assert_int_eq(names_add_dns(&n, name), 0);
	}
	ck_assert_int_eq(names_add_dns(&n, "one-more.local"), -1);
	ck_assert_uint_eq(n.ndns, NAMES_MAX);
	names_free(&n);
}
END_TEST

/* Issue 13, defect 5: an "xn--" label must be real IDNA; the check names
 * the first label that is not. */
START_TEST(dns_idna_labels)
{
	static const char *const good[] = {
		"nas.local", "xn--bcher-kva.local", "cam.xn--e1afmkfd.home.arpa",
		"xn--fa-hia.local", "ab--cd.local", "xnx--a.local", "x.local",
	};
	static const struct {
		const char *name, *label;
	} bad[] = {
		{ "xn--zz.local", "xn--zz" },		/* punycode that does not decode */
		{ "xn--.local", "xn--" },		/* nothing to decode */
		{ "xn--a.local", "xn--a" },		/* decodes to nothing */
		{ "ok.xn--bcher-kva1.local", "xn--bcher-kva1" },
		{ "nas.xn--abc-.local", "xn--abc-" },	/* plain ASCII dressed as IDNA */
		{ "xn--a-ecp.local", "xn--a-ecp" },	/* "a" and U+2488, which IDNA disallows */
		{ "xn--xn--zz.home.arpa", "xn--xn--zz" },
		{ "a.b.xn--0", "xn--0" },		/* the last label too */
	};
	const char *at = NULL;
	size_t i, len = 0;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(names_dns_idna_check(good[i], &at, &len) == 0, "%s refused", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		at = NULL;
		len = 0;
		ck_assert_msg(names_dns_idna_check(bad[i].name, &at, &len) == -1, "%s accepted",
			      bad[i].name);
		ck_assert_ptr_nonnull(at);
		ck_assert_msg(len == strlen(bad[i].label) && memcmp(at, bad[i].label, len) == 0,
			      "%s: named \"%.*s\", want \"%s\"", bad[i].name, (int)len, at,
			      bad[i].label);
	}
}
END_TEST

START_TEST(ip_parse_good)
{
	static const unsigned char v4[4] = { 192, 168, 1, 5 };
	static const unsigned char ll[16] = { 0xfc };
	struct ipnet ip;

	ck_assert_int_eq(ipnet_parse("192.168.1.5", &ip), 0);
	ck_assert_uint_eq(ip.len, 4);
	ck_assert_uint_eq(ip.prefix, 32);
	ck_assert_mem_eq(ip.addr, v4, 4);
	ck_assert_int_eq(ipnet_parse("::1", &ip), 0);
	ck_assert_uint_eq(ip.len, 16);
	ck_assert_uint_eq(ip.prefix, 128);
	ck_assert_uint_eq(ip.addr[15], 1);
	ck_assert_int_eq(ipnet_parse("fc00::/7", &ip), 0);
	ck_assert_uint_eq(ip.prefix, 7);
	ck_assert_mem_eq(ip.addr, ll, 16);
	ck_assert_int_eq(ipnet_parse("0.0.0.0/0", &ip), 0);
	ck_assert_uint_eq(ip.prefix, 0);
	ck_assert_int_eq(ipnet_parse("10.0.0.0/32", &ip), 0);
	ck_assert_uint_eq(ip.prefix, 32);
	ck_assert_int_eq(ipnet_parse("::/128", &ip), 0);
}
END_TEST

START_TEST(ip_parse_masks_host_bits)
{
	static const unsigned char want4[4] = { 10, 0, 0, 0 };
	static const unsigned char want12[4] = { 172, 16, 0, 0 };
	static const unsigned char want6[16] = { 0xfd, 0x12, 0x30 };
	struct ipnet ip;

	ck_assert_int_eq(ipnet_parse("10.1.2.3/8", &ip), 0);
	ck_assert_mem_eq(ip.addr, want4, 4);
	ck_assert_int_eq(ipnet_parse("172.31.255.255/12", &ip), 0);
	ck_assert_mem_eq(ip.addr, want12, 4);
	ck_assert_int_eq(ipnet_parse("fd12:34ff::1/20", &ip), 0);
	ck_assert_mem_eq(ip.addr, want6, 16);
}
END_TEST

START_TEST(ip_parse_bad)
{
	static const char *const bad[] = {
		"", "/8", "256.1.1.1", "1.2.3", "1.2.3.4.5", "10.0.0.0/33", "10.0.0.0/",
		"10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8", "10.0.0.0/8x", "10.0.0.0/8/8",
		"10.0.0.0/4294967304", "::1/129", "fc00::/1000", "x.local", "::g",
		"1.2.3.4 ", " 1.2.3.4", "1:2:3:4:5:6:7:8:9",
	};
	struct ipnet ip;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ipnet_parse(bad[i], &ip) == -1, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(ipnet_parse(NULL, &ip), -1);
}
END_TEST

START_TEST(ip_contains)
{
	static const unsigned char in[4] = { 172, 31, 0, 1 };
	static const unsigned char out[4] = { 172, 32, 0, 1 };
	static const unsigned char v6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 };
	static const unsigned char v6out[16] = { 0xfe, 0x80 };
	struct ipnet net, ula, all;

	ck_assert_int_eq(ipnet_parse("172.16.0.0/12", &net), 0);
	ck_assert_int_eq(ipnet_contains(&net, in, 4), 1);
	ck_assert_int_eq(ipnet_contains(&net, out, 4), 0);
	ck_assert_int_eq(ipnet_contains(&net, v6, 16), 0);	/* family differs */
	ck_assert_int_eq(ipnet_parse("fc00::/7", &ula), 0);
	ck_assert_int_eq(ipnet_contains(&ula, v6, 16), 1);
	ck_assert_int_eq(ipnet_contains(&ula, v6out, 16), 0);
	ck_assert_int_eq(ipnet_contains(&ula, in, 4), 0);
	ck_assert_int_eq(ipnet_parse("0.0.0.0/0", &all), 0);
	ck_assert_int_eq(ipnet_contains(&all, out, 4), 1);
}
END_TEST

START_TEST(ip_format)
{
	char text[64], tiny[8];
	struct ipnet ip;

	ck_assert_int_eq(ipnet_parse("10.0.0.0/8", &ip), 0);
	ck_assert_int_eq(ipnet_format(&ip, text, sizeof(text)), 0);
	ck_assert_str_eq(text, "10.0.0.0/8");
	ck_assert_int_eq(ipnet_parse("192.168.1.10", &ip), 0);
	ck_assert_int_eq(ipnet_format(&ip, text, sizeof(text)), 0);
	ck_assert_str_eq(text, "192.168.1.10");
	ck_assert_int_eq(ipnet_parse("FC00::/7", &ip), 0);
	ck_assert_int_eq(ipnet_format(&ip, text, sizeof(text)), 0);
	ck_assert_str_eq(text, "fc00::/7");
	ck_assert_int_eq(ipnet_parse("::1", &ip), 0);
	ck_assert_int_eq(ipnet_format(&ip, text, sizeof(text)), 0);
	ck_assert_str_eq(text, "::1");
	ck_assert_int_eq(ipnet_parse("192.168.100.100", &ip), 0);
	ck_assert_int_eq(ipnet_format(&ip, tiny, sizeof(tiny)), -1);
	ip.len = 5;
	ck_assert_int_eq(ipnet_format(&ip, text, sizeof(text)), -1);
}
END_TEST

START_TEST(add_ip_and_format)
{
	struct names n;
	struct ipnet ip;
	struct buf b;
	int i;

	names_init(&n);
	ck_assert_int_eq(names_add_dns(&n, "a.local"), 0);
	ck_assert_int_eq(names_add_dns(&n, "b.home.arpa"), 0);
	ck_assert_int_eq(ipnet_parse("10.0.0.1", &ip), 0);
	ck_assert_int_eq(names_add_ip(&n, &ip), 0);
	ck_assert_int_eq(names_add_ip(&n, &ip), 0);	/* a set */
	ck_assert_int_eq(ipnet_parse("fd00::/8", &ip), 0);
	ck_assert_int_eq(names_add_ip(&n, &ip), 0);
	ck_assert_uint_eq(n.nip, 2);
	buf_init(&b, 1024);
	ck_assert_int_eq(names_format(&n, &b), 0);
	ck_assert_str_eq((char *)b.data, "DNS:a.local,DNS:b.home.arpa,IP:10.0.0.1,IP:fd00::/8");
	buf_free(&b);
	/* a buffer too small fails instead of cutting the list short */
	buf_init(&b, 10);
	ck_assert_int_eq(names_format(&n, &b), -1);
	buf_free(&b);
	/* invalid entries are refused */
	ip.len = 8;
	ck_assert_int_eq(names_add_ip(&n, &ip), -1);
	ip.len = 4;
	ip.prefix = 33;
	ck_assert_int_eq(names_add_ip(&n, &ip), -1);
	/* full */
	for (i = 2; i < NAMES_MAX; i++) {
		memset(&ip, 0, sizeof(ip));
		ip.len = 4;
		ip.prefix = 32;
		ip.addr[0] = 10;
		ip.addr[3] = (unsigned char)(i + 1);
		ck_assert_int_eq(names_add_ip(&n, &ip), 0);
	}
	ip.addr[3] = 200;
	ck_assert_int_eq(names_add_ip(&n, &ip), -1);
	ck_assert_uint_eq(n.nip, NAMES_MAX);
	names_free(&n);
}
END_TEST

START_TEST(format_empty)
{
	struct names n;
	struct buf b;

	names_init(&n);
	buf_init(&b, 16);
	ck_assert_int_eq(names_format(&n, &b), 0);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	names_free(&n);
	names_free(NULL);
}
END_TEST

static Suite *
names_suite(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, dns_accepts_and_lowercases);
	tcase_add_test(tc, dns_rejects_malformed);
	tcase_add_test(tc, dns_label_and_total_length);
	tcase_add_test(tc, dns_full);
	tcase_add_test(tc, dns_idna_labels);
	tcase_add_test(tc, ip_parse_good);
	tcase_add_test(tc, ip_parse_masks_host_bits);
	tcase_add_test(tc, ip_parse_bad);
	tcase_add_test(tc, ip_contains);
	tcase_add_test(tc, ip_format);
	tcase_add_test(tc, add_ip_and_format);
	tcase_add_test(tc, format_empty);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(names_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
