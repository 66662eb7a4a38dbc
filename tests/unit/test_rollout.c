/*
 * test_rollout.c - rollout.c and rollout_browser.c: the format table, the
 * Linux files, Firefox's policies.json and Chrome's managed policy, each
 * read back independently (PEM and DER through GnuTLS, JSON through
 * jansson, base64 through libsodium) and compared with the roots they were
 * made from. The files proven in the real clients: t_policy_browsers.sh.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <sodium.h>

#include "ca/keystore.h"
#include "ca/policy.h"
#include "ca/rollout.h"
#include "ca/x509.h"

#define DAY 86400

static gnutls_x509_crt_t roots[2];
static struct names permitted;	/* what the roots were made with */
static struct policy from_root;	/* what the CLI reads back: policy_from_ca */
static struct rollout_file files[ROLLOUT_FILES_MAX];
static size_t nfiles;

static gnutls_x509_crt_t
make_root(const char *cn)
{
	gnutls_x509_privkey_t x = NULL;
	gnutls_privkey_t k = NULL;
	gnutls_x509_crt_t r = NULL;
	unsigned char serial[X509_SERIAL_LEN];
	struct x509_ca_params p;
	struct lerr e;
	time_t now = time(NULL);

	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &x, &e), 0);
	ck_assert_int_eq(gnutls_privkey_init(&k), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(k, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), 0);
	randombytes_buf(serial, sizeof(serial));
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 1);
	memset(&p, 0, sizeof(p));
	p.cn = cn;
	p.org = "lanca";
	p.permitted = &permitted;
	p.pathlen = 1;
	p.not_before = now - 3600;
	p.not_after = now + 365 * (time_t)DAY;
	p.serial = serial;
	if (x509_make_root(&p, k, &r, &e) != 0)
		ck_abort_msg("x509_make_root: %s", e.msg);
	gnutls_privkey_deinit(k);
	return r;
}

static void
setup(void)
{
	static const char *const nets[] = { "10.0.0.0/8", "192.168.1.5", "fd00::/8", "::1" };
	struct ipnet ip;
	struct lerr e;
	size_t i;

	ck_assert_int_eq(sodium_init() >= 0, 1);
	names_init(&permitted);
	ck_assert_int_eq(names_add_dns(&permitted, "home.arpa"), 0);
	ck_assert_int_eq(names_add_dns(&permitted, "office.example"), 0);
	for (i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		ck_assert_int_eq(ipnet_parse(nets[i], &ip), 0);
		ck_assert_int_eq(names_add_ip(&permitted, &ip), 0);
	}
	roots[0] = make_root("test Root CA");
	roots[1] = make_root("test Backup Root CA");
	if (policy_from_ca(&from_root, roots[0], &e) != 0)
		ck_abort_msg("policy_from_ca: %s", e.msg);
	memset(files, 0, sizeof(files));
	nfiles = 0;
}

static void
teardown(void)
{
	rollout_files_free(files, nfiles);
	gnutls_x509_crt_deinit(roots[0]);
	gnutls_x509_crt_deinit(roots[1]);
	policy_free(&from_root);
	names_free(&permitted);
}

static struct rollout_in
input(size_t n)
{
	struct rollout_in in;

	memset(&in, 0, sizeof(in));
	in.roots = roots;
	in.n = n;
	in.ca_name = "test Root CA";
	in.permitted = &from_root.permitted;
	return in;
}

/* Runs format name over the first n roots into files; aborts on failure. */
static void
run(const char *name, size_t n)
{
	const struct rollout_format *f = rollout_find(name);
	struct rollout_in in = input(n);
	struct lerr e;

	ck_assert_ptr_nonnull(f);
	if (f->write(&in, files, ROLLOUT_FILES_MAX, &nfiles, &e) != 0)
		ck_abort_msg("%s: %s", name, e.msg);
}

static const struct rollout_file *
file(const char *name)
{
	size_t i;

	for (i = 0; i < nfiles; i++)
		if (strcmp(files[i].name, name) == 0)
			return &files[i];
	ck_abort_msg("no file %s", name);
	return NULL;
}

/* "lanca-" and the first 12 hex digits of the SHA-256 of the DER,
 * computed here from the certificate, not by rollout.c. */
static void
expected_name(gnutls_x509_crt_t crt, char out[64])
{
	unsigned char md[32];
	size_t len = sizeof(md), i;
	char hex[13];

	ck_assert_int_eq(gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, md, &len), 0);
	for (i = 0; i < 6; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(out, 64, "lanca-%s.crt", hex);
}

static void
der_of(gnutls_x509_crt_t crt, gnutls_datum_t *der)
{
	ck_assert_int_eq(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, der), 0);
}

/* The file is one PEM certificate whose DER is crt's. */
static void
assert_pem_is(const struct rollout_file *f, gnutls_x509_crt_t crt)
{
	gnutls_x509_crt_t got = NULL;
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };

	ck_assert_int_eq(memcmp(f->data.data, "-----BEGIN CERTIFICATE-----\n", 28), 0);
	ck_assert_int_eq(gnutls_x509_crt_init(&got), 0);
	ck_assert_int_eq(gnutls_x509_crt_import(got, &f->data, GNUTLS_X509_FMT_PEM), 0);
	der_of(got, &a);
	der_of(crt, &b);
	ck_assert_uint_eq(a.size, b.size);
	ck_assert_int_eq(memcmp(a.data, b.data, a.size), 0);
	gnutls_free(a.data);
	gnutls_free(b.data);
	gnutls_x509_crt_deinit(got);
}

static json_t *
parse(const struct rollout_file *f)
{
	json_error_t je;
	json_t *j = json_loadb((const char *)f->data.data, f->data.size, JSON_REJECT_DUPLICATES, &je);

	if (j == NULL)
		ck_abort_msg("%s does not parse: %s", f->name, je.text);
	ck_assert_int_eq(f->data.data[f->data.size - 1], '\n');
	return j;
}

/* A base64 string from Chrome's policy decodes to crt's DER. */
static void
assert_b64_is(json_t *s, gnutls_x509_crt_t crt)
{
	unsigned char bin[4096];
	size_t len = 0;
	gnutls_datum_t der = { NULL, 0 };
	const char *text = json_string_value(s);

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_null(strchr(text, '\n'));
	ck_assert_int_eq(sodium_base642bin(bin, sizeof(bin), text, strlen(text), NULL, &len, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	der_of(crt, &der);
	ck_assert_uint_eq(len, der.size);
	ck_assert_int_eq(memcmp(bin, der.data, len), 0);
	gnutls_free(der.data);
}

START_TEST(table_finds_each_format)
{
	size_t i, j;

	ck_assert_ptr_nonnull(rollout_find("linux"));
	ck_assert_ptr_nonnull(rollout_find("firefox"));
	ck_assert_ptr_nonnull(rollout_find("chrome"));
	ck_assert_ptr_null(rollout_find("all"));	/* the CLI's word, not a format */
	ck_assert_ptr_null(rollout_find("Linux"));
	ck_assert_ptr_null(rollout_find(""));
	ck_assert_ptr_null(rollout_find(NULL));
	for (i = 0; i < rollout_nformats; i++) {
		ck_assert_ptr_nonnull(rollout_formats[i].write);
		ck_assert_uint_gt(strlen(rollout_formats[i].what), 0);
		for (j = i + 1; j < rollout_nformats; j++)
			ck_assert_str_ne(rollout_formats[i].name, rollout_formats[j].name);
	}
}
END_TEST

START_TEST(linux_crt_per_root_and_installer)
{
	const struct rollout_file *sh;
	char name[2][64];
	gnutls_datum_t pem;
	size_t i;

	run("linux", 2);
	ck_assert_uint_eq(nfiles, 3);
	for (i = 0; i < 2; i++) {
		expected_name(roots[i], name[i]);
		assert_pem_is(file(name[i]), roots[i]);
	}
	ck_assert_str_ne(name[0], name[1]);
	sh = file("install-lanca-roots.sh");
	ck_assert_int_eq(memcmp(sh->data.data, "#!/bin/sh\n", 10), 0);
	ck_assert_uint_eq(strlen((const char *)sh->data.data), sh->data.size);
	/* Each root's PEM travels inside the script, under its file name. */
	for (i = 0; i < 2; i++) {
		char put[256];

		ck_assert_int_eq(gnutls_x509_crt_export2(roots[i], GNUTLS_X509_FMT_PEM, &pem), 0);
		ck_assert_ptr_nonnull(strstr((const char *)sh->data.data, (const char *)pem.data));
		snprintf(put, sizeof(put), "put %s <<'LANCA_PEM'\n-----BEGIN", name[i]);
		ck_assert_ptr_nonnull(strstr((const char *)sh->data.data, put));
		snprintf(put, sizeof(put), "held %s ", name[i]);
		ck_assert_ptr_nonnull(strstr((const char *)sh->data.data, put));
		gnutls_free(pem.data);
	}
	ck_assert_ptr_nonnull(strstr((const char *)sh->data.data, "update-ca-certificates"));
	ck_assert_ptr_nonnull(strstr((const char *)sh->data.data, "update-ca-trust extract"));
}
END_TEST

/* A CA name cannot break out of its comment line in the script. */
START_TEST(linux_ca_name_stays_a_comment)
{
	struct rollout_in in = input(1);
	const struct rollout_file *sh;
	struct lerr e;

	in.ca_name = "evil\nrm -rf /\r\n";
	ck_assert_int_eq(rollout_write_linux(&in, files, ROLLOUT_FILES_MAX, &nfiles, &e), 0);
	sh = file("install-lanca-roots.sh");
	ck_assert_ptr_null(strstr((const char *)sh->data.data, "\nrm -rf /"));
	ck_assert_ptr_nonnull(strstr((const char *)sh->data.data, "evil?rm -rf /??"));
}
END_TEST

START_TEST(firefox_install_names_the_root_files)
{
	json_t *j, *certs, *install, *dev;
	char name[2][64];
	size_t i;

	run("firefox", 2);
	ck_assert_uint_eq(nfiles, 4);
	for (i = 0; i < 2; i++) {
		expected_name(roots[i], name[i]);
		assert_pem_is(file(name[i]), roots[i]);
	}
	j = parse(file("policies.json"));
	certs = json_object_get(json_object_get(j, "policies"), "Certificates");
	ck_assert(json_is_true(json_object_get(certs, "ImportEnterpriseRoots")));
	install = json_object_get(certs, "Install");
	ck_assert_uint_eq(json_array_size(install), 2);
	for (i = 0; i < 2; i++)
		ck_assert_str_eq(json_string_value(json_array_get(install, i)), name[i]);
	json_decref(j);

	j = parse(file("policies-linux.json"));
	install = json_object_get(json_object_get(json_object_get(j, "policies"), "Certificates"),
				  "Install");
	ck_assert_uint_eq(json_array_size(install), 2);
	ck_assert_str_eq(json_string_value(json_array_get(install, 0)), name[0]);
	dev = json_object_get(json_object_get(json_object_get(j, "policies"), "SecurityDevices"),
			      "Add");
	ck_assert_uint_eq(json_object_size(dev), 1);
	ck_assert_str_eq(json_string_value(json_object_get(dev, "p11-kit-trust")),
			 "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so");
	json_decref(j);
}
END_TEST

/* The constraints are the ones the roots were made with, in Chrome's
 * form: DNS subtrees as names, every range as a CIDR block. */
START_TEST(chrome_constraints_match_the_roots)
{
	static const char *const cidrs[] = { "10.0.0.0/8", "192.168.1.5/32", "fd00::/8", "::1/128" };
	json_t *j, *list, *entry, *c, *a;
	size_t i, k;

	run("chrome", 2);
	ck_assert_uint_eq(nfiles, 2);
	j = parse(file("lanca.json"));
	ck_assert_uint_eq(json_object_size(j), 1);
	list = json_object_get(j, "CACertificatesWithConstraints");
	ck_assert_uint_eq(json_array_size(list), 2);
	for (i = 0; i < 2; i++) {
		entry = json_array_get(list, i);
		assert_b64_is(json_object_get(entry, "certificate"), roots[i]);
		c = json_object_get(entry, "constraints");
		a = json_object_get(c, "permitted_dns_names");
		ck_assert_uint_eq(json_array_size(a), permitted.ndns);
		for (k = 0; k < permitted.ndns; k++)
			ck_assert_str_eq(json_string_value(json_array_get(a, k)), permitted.dns[k]);
		a = json_object_get(c, "permitted_cidrs");
		ck_assert_uint_eq(json_array_size(a), 4);
		for (k = 0; k < 4; k++)
			ck_assert_str_eq(json_string_value(json_array_get(a, k)), cidrs[k]);
	}
	json_decref(j);

	j = parse(file("lanca-unconstrained.json"));
	ck_assert_uint_eq(json_object_size(j), 1);
	list = json_object_get(j, "CACertificates");
	ck_assert_uint_eq(json_array_size(list), 2);
	for (i = 0; i < 2; i++)
		assert_b64_is(json_array_get(list, i), roots[i]);
	json_decref(j);
}
END_TEST

/* Only the kinds of constraint the roots have are written: Chrome reads
 * an empty list as "nothing permitted" in that kind. */
START_TEST(chrome_dns_only_constraints)
{
	struct rollout_in in = input(1);
	struct names dns_only;
	json_t *j, *c;
	struct lerr e;

	names_init(&dns_only);
	ck_assert_int_eq(names_add_dns(&dns_only, "home.arpa"), 0);
	in.permitted = &dns_only;
	ck_assert_int_eq(rollout_write_chrome(&in, files, ROLLOUT_FILES_MAX, &nfiles, &e), 0);
	j = parse(file("lanca.json"));
	c = json_object_get(json_array_get(json_object_get(j, "CACertificatesWithConstraints"), 0),
			    "constraints");
	ck_assert_uint_eq(json_object_size(c), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(c,
				"permitted_dns_names"), 0)), "home.arpa");
	json_decref(j);
	names_free(&dns_only);
}
END_TEST

START_TEST(refuses_bad_input)
{
	struct rollout_in in = input(1);
	struct names none;
	struct lerr e;
	size_t i;

	for (i = 0; i < rollout_nformats; i++) {
		in.n = 0;
		ck_assert_int_eq(rollout_formats[i].write(&in, files, ROLLOUT_FILES_MAX, &nfiles, &e), -1);
		in.n = ROLLOUT_ROOTS_MAX + 1;
		ck_assert_int_eq(rollout_formats[i].write(&in, files, ROLLOUT_FILES_MAX, &nfiles, &e), -1);
		ck_assert_uint_eq(nfiles, 0);
	}
	/* Chrome's constrained policy needs at least one constraint. */
	in.n = 1;
	in.permitted = NULL;
	ck_assert_int_eq(rollout_write_chrome(&in, files, ROLLOUT_FILES_MAX, &nfiles, &e), -1);
	names_init(&none);
	in.permitted = &none;
	ck_assert_int_eq(rollout_write_chrome(&in, files, ROLLOUT_FILES_MAX, &nfiles, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "no name constraints"));
	/* Too little room: an error, and what was added is the caller's to free. */
	in = input(2);
	ck_assert_int_eq(rollout_write_linux(&in, files, 2, &nfiles, &e), -1);
	ck_assert_uint_eq(nfiles, 2);
}
END_TEST

START_TEST(file_names_are_plain)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "/etc/passwd",
		"0123456789012345678901234567890123456789012345678901234567890123" };
	struct lerr e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(rollout_file_add(files, ROLLOUT_FILES_MAX, &nfiles, bad[i], "x", 1, &e),
				 -1);
	ck_assert_uint_eq(nfiles, 0);
	ck_assert_int_eq(rollout_file_add(files, ROLLOUT_FILES_MAX, &nfiles, "ok.json", "", 0, &e), 0);
	ck_assert_uint_eq(nfiles, 1);
	ck_assert_uint_eq(files[0].data.size, 0);
	ck_assert_int_eq(files[0].data.data[0], '\0');
	ck_assert_int_eq(rollout_file_add(files, 1, &nfiles, "more.json", "x", 1, &e), -1);
}
END_TEST

static Suite *
rollout_suite(void)
{
	Suite *s = suite_create("rollout");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, table_finds_each_format);
	tcase_add_test(tc, linux_crt_per_root_and_installer);
	tcase_add_test(tc, linux_ca_name_stays_a_comment);
	tcase_add_test(tc, firefox_install_names_the_root_files);
	tcase_add_test(tc, chrome_constraints_match_the_roots);
	tcase_add_test(tc, chrome_dns_only_constraints);
	tcase_add_test(tc, refuses_bad_input);
	tcase_add_test(tc, file_names_are_plain);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(rollout_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
