/*
 * test_p11key.c - the token key record and the pkcs11: URL check
 * (common/p11key.h), as the CA's keystore and lanca-enroll both use them:
 * a record round-trips with its allow= lines and never holds a PIN; a
 * record with a repeated line, a relative path, more allow= lines than
 * allowed, a line without its newline or an unusable URL is refused; a
 * path that would break the record's lines is refused when it is
 * written; a record is told from a key file.
 *
 * Linked as lanca-enroll links common/: GnuTLS only.
 */
#include "config.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/p11key.h"

static struct p11key_ref ref, back;
static char text[P11KEY_RECORD_MAX];

/* Parses text (NUL-terminated) as a record into back: 0 or -1, e kept. */
static int
parse(const char *t, struct lerr *e)
{
	lerr_clear(e);
	return p11key_record_parse("rec", (const unsigned char *)t, strlen(t), &back, e);
}

START_TEST(test_round_trip)
{
	struct lerr e;
	long n;
	size_t i;

	memset(&ref, 0, sizeof(ref));
	lerr_clear(&e);
	ck_assert_int_eq(p11key_url_parse("--issuing-key",
					  "PKCS11:token=ca;object=issuing;id=%01%02?pin-value=1234&module-name=softhsm2",
					  &ref, &e), 0);
	ck_assert_str_eq(ref.url, "pkcs11:token=ca;object=issuing;id=%01%02?pin-value=1234&module-name=softhsm2");
	ck_assert_str_eq(ref.record, "pkcs11:token=ca;object=issuing;id=%01%02?module-name=softhsm2");
	ck_assert_str_eq(ref.label, "issuing");
	ck_assert_uint_eq(ref.id_len, 2);
	ck_assert_int_eq(ref.pin_in_url, 1);
	snprintf(ref.module, sizeof(ref.module), "/usr/lib/softhsm/libsofthsm2.so");
	snprintf(ref.pin_file, sizeof(ref.pin_file), "/etc/lanca/pin");
	ref.nallow = P11KEY_ALLOW_MAX;
	for (i = 0; i < ref.nallow; i++)
		snprintf(ref.allow[i], sizeof(ref.allow[i]), "/var/lib/softhsm/t%zu", i);
	n = p11key_record_format(&ref, text, sizeof(text), &e);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(strlen(text), (size_t)n);
	ck_assert_ptr_null(strstr(text, "1234"));
	ck_assert_ptr_nonnull(strstr(text, "\nallow=/var/lib/softhsm/t7\n"));
	ck_assert_int_eq(p11key_is_record((const unsigned char *)text, (size_t)n), 1);
	ck_assert_int_eq(parse(text, &e), 0);
	ck_assert_str_eq(back.url, ref.record);
	ck_assert_str_eq(back.record, ref.record);
	ck_assert_str_eq(back.module, ref.module);
	ck_assert_str_eq(back.pin_file, ref.pin_file);
	ck_assert_uint_eq(back.nallow, P11KEY_ALLOW_MAX);
	for (i = 0; i < back.nallow; i++)
		ck_assert_str_eq(back.allow[i], ref.allow[i]);
	ck_assert_int_eq(back.pin_in_url, 0);

	/* Without paths: the head and the URL. */
	ref.module[0] = ref.pin_file[0] = '\0';
	ref.nallow = 0;
	n = p11key_record_format(&ref, text, sizeof(text), &e);
	ck_assert_str_eq(text, P11KEY_RECORD_HEAD
			 "url=pkcs11:token=ca;object=issuing;id=%01%02?module-name=softhsm2\n");
	/* Too small a buffer is an error, not a cut record. */
	ck_assert_int_eq(p11key_record_format(&ref, text, 40, &e), -1);
}
END_TEST

START_TEST(test_url_twice)
{
	struct lerr e;

	lerr_clear(&e);
	ck_assert_int_eq(p11key_url_parse("--key", "pkcs11:id=%01a;object=;id=", &ref, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "--key: attribute 'id' appears twice"));
	ck_assert_int_eq(p11key_url_parse("--key", "pkcs11:object=;id=", &ref, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "name the key with object=LABEL or id="));
	/* Query attributes may repeat (module-name, module-path). */
	ck_assert_int_eq(p11key_url_parse("--key", "pkcs11:object=k?module-name=a&module-name=b",
					  &ref, &e), 0);
}
END_TEST

START_TEST(test_format_refusals)
{
	struct lerr e;

	memset(&ref, 0, sizeof(ref));
	lerr_clear(&e);
	ck_assert_int_eq(p11key_url_parse("--issuing-key", "pkcs11:object=k", &ref, &e), 0);
	snprintf(ref.pin_file, sizeof(ref.pin_file), "/etc/pin\nallow=/");
	ck_assert_int_eq(p11key_record_format(&ref, text, sizeof(text), &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "control character"));
	ref.pin_file[0] = '\0';
	ref.nallow = 1;
	snprintf(ref.allow[0], sizeof(ref.allow[0]), "/var/lib\r/x");
	ck_assert_int_eq(p11key_record_format(&ref, text, sizeof(text), &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not an absolute path on one line"));
}
END_TEST

/* The record refusals, each with what its message must say. */
START_TEST(test_parse_refusals)
{
	static const struct {
		const char *text, *expect;
	} bad[] = {
		{ "", "not a token key record" },
		{ "# only a comment\n", "not a token key record" },
		{ "url=pkcs11:object=o", "not a token key record" },
		{ "url=pkcs11:object=o\nurl=pkcs11:object=p\n", "each once" },
		{ "url=pkcs11:object=o\nmodule=/a.so\nmodule=/b.so\n", "each once" },
		{ "url=pkcs11:object=o\npin-file=/a\npin-file=/b\n", "each once" },
		{ "url=pkcs11:object=o\nallow=tokens\n", "absolute" },
		{ "url=pkcs11:object=o\nallow=\n", "not a token key record" },
		{ "url=pkcs11:object=o\nmodule=lib.so\n", "absolute" },
		{ "url=pkcs11:object=o\nkey=-----BEGIN\n", "not a token key record" },
		{ "url=/etc/k.pem\n", "the recorded URL is not usable" },
		{ "url=pkcs11:token=t\n", "the recorded URL is not usable" },
		{ "url=pkcs11:object=o;pin-value=1\n", "the recorded URL is not usable" },
		{ "url=pkcs11:object=%zz\n", "the recorded URL is not usable" },
		{ "url=pkcs11:object=o?pin-value=1234\n", "never holds the PIN" },
		{ "url=pkcs11:object=o\nallow=/\n", "is the root directory" },
		{ "url=pkcs11:object=o\nallow=//\n", "is the root directory" },
		{ "url=pkcs11:object=o\nallow=/tmp/..\n", "is the root directory" },
		{ "url=pkcs11:object=o\nallow=/./tmp/../.\n", "is the root directory" },
		{ "url=pkcs11:object=o\nallow=/var\rx\n", "not an absolute path on one line" },
		{ "url=pkcs11:object=o\nmodule=/lib/x\r.so\n", "not a token key record" },
		{ "url=pkcs11:object=o\npin-file=/etc/\x01pin\n", "not a token key record" },
		/* a second id= or object= would name another key; the last
		 * one empty would name none (fuzz_p11key found it) */
		{ "url=pkcs11:id=%01;id=\n", "the recorded URL is not usable" },
		{ "url=pkcs11:object=a;object=b\n", "the recorded URL is not usable" },
		{ "url=pkcs11:token=t;object=a;token=u\n", "the recorded URL is not usable" },
	};
	char many[2048];
	struct lerr e;
	size_t i;
	int w = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i].text, &e) == -1, "accepted: %s", bad[i].text);
		ck_assert_msg(strstr(e.msg, bad[i].expect) != NULL, "'%s': '%s' lacks '%s'",
			      bad[i].text, e.msg, bad[i].expect);
		ck_assert_str_eq(back.url, "");
	}
	/* One allow= line more than a record holds. */
	w = snprintf(many, sizeof(many), "url=pkcs11:object=o\n");
	for (i = 0; i <= P11KEY_ALLOW_MAX; i++)
		w += snprintf(many + w, sizeof(many) - (size_t)w, "allow=/p%zu\n", i);
	ck_assert_int_eq(parse(many, &e), -1);
	/* A record without the head line (as lanca-enroll wrote them before
	 * it) is still one. */
	ck_assert_int_eq(parse("url=pkcs11:object=o\n", &e), 0);
	ck_assert_str_eq(back.label, "o");
	/* A pin-source names where a PIN is, not the PIN: kept. Empty
	 * attributes are dropped, and what is opened is what a record
	 * would say. */
	ck_assert_int_eq(parse("url=pkcs11:object=o;;?pin-source=file:/p&&x=y\n", &e), 0);
	ck_assert_str_eq(back.url, "pkcs11:object=o?pin-source=file:/p&x=y");
	ck_assert_str_eq(back.url, back.record);
}
END_TEST

START_TEST(test_allow_ok)
{
	struct lerr e;

	lerr_clear(&e);
	ck_assert_int_eq(p11key_allow_ok("/var/lib/softhsm/tokens", &e), 0);
	ck_assert_int_eq(p11key_allow_ok("/dev/tpmrm0", &e), 0);
	ck_assert_int_eq(p11key_allow_ok("/tmp/../var", &e), 0);
	ck_assert_int_eq(p11key_allow_ok("/", &e), -1);
	ck_assert_int_eq(p11key_allow_ok("///", &e), -1);
	ck_assert_int_eq(p11key_allow_ok("/..", &e), -1);
	ck_assert_int_eq(p11key_allow_ok("/a/b/../..", &e), -1);
	ck_assert_int_eq(p11key_allow_ok("var/lib", &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not an absolute path"));
	/* The format refuses what the parse would. */
	memset(&ref, 0, sizeof(ref));
	ck_assert_int_eq(p11key_url_parse("--issuing-key", "pkcs11:object=k", &ref, &e), 0);
	ref.nallow = 1;
	snprintf(ref.allow[0], sizeof(ref.allow[0]), "//");
	ck_assert_int_eq(p11key_record_format(&ref, text, sizeof(text), &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "is the root directory"));
}
END_TEST

START_TEST(test_is_record)
{
	static const char pem[] = "-----BEGIN PRIVATE KEY-----\nMIGH\n";

	ck_assert_int_eq(p11key_is_record((const unsigned char *)pem, sizeof(pem) - 1), 0);
	ck_assert_int_eq(p11key_is_record((const unsigned char *)"\x30\x81", 2), 0);
	ck_assert_int_eq(p11key_is_record((const unsigned char *)"url", 3), 0);
	ck_assert_int_eq(p11key_is_record((const unsigned char *)"url=x", 5), 1);
	ck_assert_int_eq(p11key_is_record((const unsigned char *)P11KEY_RECORD_HEAD,
					  strlen(P11KEY_RECORD_HEAD)), 1);
}
END_TEST

static Suite *
p11key_suite(void)
{
	Suite *s = suite_create("p11key");
	TCase *tc = tcase_create("record");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_url_twice);
	tcase_add_test(tc, test_format_refusals);
	tcase_add_test(tc, test_parse_refusals);
	tcase_add_test(tc, test_allow_ok);
	tcase_add_test(tc, test_is_record);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(p11key_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
