/*
 * test_vendor.c - unit tests for vendor (manufacturer) CAs (vendor.c) over
 * the fixtures tests/data/make-vendor-fixtures.sh made (tests/data/vendor/):
 * which certificates may be registered, and vendor_check_chain's verdict
 * on chains a client could present, with a real store in a temporary
 * directory. The last test runs the `lanca` binary ($LANCA, as `make check`
 * sets it, else src/lanca) to check what `lanca vendor add` tells a user.
 *
 * The fixtures are valid from 2020-01-01 to 2099-12-31 (one expired on
 * 2021-01-01), so the tests pass "now" explicitly.
 */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <gnutls/gnutls.h>

#include "common/fileio.h"
#include "common/lerr.h"
#include "store/store.h"
#include "daemon/vendor.h"
#include "ca/x509.h"

#ifndef TEST_SRCDIR
#define TEST_SRCDIR "."
#endif

#define T_2019	((time_t)1546300800)	/* 2019-01-01: before every fixture */
#define T_2020	((time_t)1590969600)	/* 2020-06-01: device-expired still valid */
#define T_2027	((time_t)1800000000)	/* 2027-01-15 */
#define T_2100	((time_t)4102444800)	/* 2100-01-01: after every fixture */

static char tmpdir[256];
static char dbpath[320];
static struct store *st;

static void
setup(void)
{
	struct lerr e;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_vendor.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/%s", tmpdir, STORE_FILE);
	if (store_open(dbpath, STORE_CREATE, &st, &e) != 0)
		ck_abort_msg("store_open: %s", e.msg);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	fileio_remove_tree(tmpdir);
}

static char *
fx_path(const char *name)
{
	static char path[1024];
	int n;

	n = snprintf(path, sizeof(path), "%s/tests/data/vendor/%s", TEST_SRCDIR, name);
	ck_assert(n > 0 && (size_t)n < sizeof(path));
	return path;
}

static unsigned char *
fx_read(const char *name, size_t *len)
{
	unsigned char *p = NULL;
	struct lerr e;

	if (fileio_read(fx_path(name), VENDOR_CERT_MAX, 0, &p, len, &e) != 0)
		ck_abort_msg("%s: %s", name, e.msg);
	return p;
}

/* tests/data/vendor/NAME.pem parsed (caller deinits). */
static gnutls_x509_crt_t
fx_crt(const char *name)
{
	char file[128];
	unsigned char *p;
	size_t len;
	gnutls_x509_crt_t crt = NULL;
	struct lerr e;

	snprintf(file, sizeof(file), "%s.pem", name);
	p = fx_read(file, &len);
	if (x509_import(p, len, &crt, &e) != 0)
		ck_abort_msg("%s: %s", file, e.msg);
	free(p);
	return crt;
}

/* Registers tests/data/vendor/FILE as a vendor CA. */
static void
fx_add(const char *file, int auto_register)
{
	unsigned char *p;
	size_t len;
	struct lerr e;

	p = fx_read(file, &len);
	if (vendor_add(st, p, len, auto_register, T_2027, "test", NULL, NULL, &e) != 0)
		ck_abort_msg("vendor_add %s: %s", file, e.msg);
	free(p);
}

static int
count_one(const struct store_vendor *v, void *arg)
{
	(void)v;
	(*(int *)arg)++;
	return 0;
}

static int
vendor_count(void)
{
	struct lerr e;
	int n = 0;

	ck_assert_int_eq(store_vendor_each(st, count_one, &n, &e), 0);
	return n;
}

/* vendor_check_chain over the named fixtures (NULL-terminated list). */
static int
check(time_t now, struct vendor_match *m, struct lerr *e, const char *first, ...)
{
	gnutls_x509_crt_t chain[12];
	const char *name;
	unsigned n = 0, i;
	va_list ap;
	int rc;

	va_start(ap, first);
	for (name = first; name != NULL; name = va_arg(ap, const char *)) {
		ck_assert(n < 12);
		chain[n++] = fx_crt(name);
	}
	va_end(ap);
	rc = vendor_check_chain(st, chain, n, now, m, e);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(chain[i]);
	return rc;
}

/* ---- what may be registered ---- */

START_TEST(test_ca_ok)
{
	gnutls_x509_crt_t c;
	struct lerr e;

	c = fx_crt("vendor-root");
	ck_assert_int_eq(vendor_ca_ok(c, T_2027, &e), 0);
	ck_assert_int_eq(vendor_ca_ok(c, T_2100, &e), -1);
	ck_assert(strncmp(e.msg, "the CA certificate expired on 2099-12-31", 40) == 0);
	gnutls_x509_crt_deinit(c);

	c = fx_crt("vendor-int");
	ck_assert_int_eq(vendor_ca_ok(c, T_2027, &e), 0);
	gnutls_x509_crt_deinit(c);

	c = fx_crt("not-ca");
	ck_assert_int_eq(vendor_ca_ok(c, T_2027, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_str_eq(e.msg, "not a CA certificate: basicConstraints says CA:FALSE");
	gnutls_x509_crt_deinit(c);

	c = fx_crt("v1");
	ck_assert_int_eq(vendor_ca_ok(c, T_2027, &e), -1);
	ck_assert_str_eq(e.msg, "not a CA certificate: X.509 version 1, a CA must be v3");
	gnutls_x509_crt_deinit(c);
}
END_TEST

START_TEST(test_add)
{
	char subject[256], fp[65];
	unsigned char *p;
	size_t len;
	struct lerr e;

	p = fx_read("not-ca.pem", &len);
	ck_assert_int_eq(vendor_add(st, p, len, 1, T_2027, "test", NULL, NULL, &e), -1);
	ck_assert(strstr(e.msg, "CA:FALSE") != NULL);
	free(p);
	ck_assert_int_eq(vendor_count(), 0);

	p = fx_read("vendor-root.pem", &len);
	ck_assert_int_eq(vendor_add(st, p, len, 1, T_2027, "test", subject, fp, &e), 0);
	ck_assert_str_eq(subject, "CN=Acme Devices Root CA,O=Acme");
	ck_assert_uint_eq(strlen(fp), 64);
	free(p);
	ck_assert_int_eq(vendor_count(), 1);

	/* The same CA in DER: the same fingerprint, refused as known. */
	p = fx_read("vendor-root.der", &len);
	ck_assert_int_eq(vendor_add(st, p, len, 0, T_2027, "test", NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	free(p);
	ck_assert_int_eq(vendor_count(), 1);
}
END_TEST

/* ---- verdicts ---- */

START_TEST(test_chain_good)
{
	struct vendor_match m;
	struct lerr e;

	fx_add("vendor-root.pem", 1);
	ck_assert_int_eq(check(T_2027, &m, &e, "device", "vendor-int", NULL), 1);
	ck_assert_int_eq(m.vendor_id, 1);
	ck_assert_int_eq(m.auto_register, 1);
	ck_assert_str_eq(m.vendor_subject, "CN=Acme Devices Root CA,O=Acme");
	ck_assert_uint_eq(strlen(m.vendor_fingerprint), 64);
	ck_assert_str_eq(m.leaf_cn, "acme-0001");
	ck_assert_str_eq(m.leaf_subject, "CN=acme-0001,O=Acme");
	ck_assert_str_eq(m.leaf_serial, "0a0b0c0d");

	/* The root sent along, and an unrelated certificate in the middle:
	 * the path is built from what issued what. */
	ck_assert_int_eq(check(T_2027, &m, &e, "device", "vendor-int", "vendor-root", NULL), 1);
	ck_assert_int_eq(check(T_2027, &m, &e, "device", "other-root", "vendor-int", NULL), 1);
	/* An expired certificate that is not on the path does not matter. */
	ck_assert_int_eq(check(T_2027, &m, &e, "device", "device-expired", "vendor-int", NULL),
			 1);
}
END_TEST

START_TEST(test_chain_unregistered)
{
	struct vendor_match m;
	struct lerr e;

	/* No vendor at all. */
	ck_assert_int_eq(check(T_2027, &m, &e, "device", "vendor-int", NULL), 0);
	ck_assert_int_eq(e.code, LERR_NONE);

	fx_add("vendor-root.pem", 0);
	/* Another CA's device: simply no vendor, no reason to log. */
	ck_assert_int_eq(check(T_2027, &m, &e, "other-device", "other-root", NULL), 0);
	ck_assert_int_eq(e.code, LERR_NONE);
	ck_assert_int_eq(m.vendor_id, 0);
	/* Without its intermediate the device cannot reach the vendor. */
	ck_assert_int_eq(check(T_2027, &m, &e, "device", NULL), 0);
	ck_assert_int_eq(e.code, LERR_NONE);
	/* A self-signed end-entity certificate. */
	ck_assert_int_eq(check(T_2027, &m, &e, "not-ca", NULL), 0);
}
END_TEST

START_TEST(test_chain_refused)
{
	struct vendor_match m;
	struct lerr e;

	fx_add("vendor-root.pem", 1);

	ck_assert_int_eq(check(T_2027, &m, &e, "device-expired", "vendor-int", NULL), 0);
	ck_assert_int_ne(e.code, LERR_NONE);
	ck_assert_str_eq(e.msg, "factory certificate CN=acme-0002,O=Acme expired on "
		"2021-01-01T00:00:00Z");
	ck_assert_int_eq(m.vendor_id, 0);
	/* ... but it was good in 2020: "now" is the caller's, not the clock. */
	ck_assert_int_eq(check(T_2020, &m, &e, "device-expired", "vendor-int", NULL), 1);
	ck_assert_str_eq(m.leaf_cn, "acme-0002");
	/* Nothing is valid yet in 2019, the vendor CA included. */
	ck_assert_int_eq(check(T_2019, &m, &e, "device", "vendor-int", NULL), 0);
	ck_assert(strstr(e.msg, "is not valid before 2020-01-01") != NULL);
	ck_assert_int_eq(check(T_2100, &m, &e, "device", "vendor-int", NULL), 0);

	/* vendor-int has pathlen 0: sub-ca under it may not issue. */
	ck_assert_int_eq(check(T_2027, &m, &e, "device-deep", "sub-ca", "vendor-int", NULL), 0);
	ck_assert_int_ne(e.code, LERR_NONE);
	ck_assert_str_eq(e.msg, "factory certificate chain rejected: The certificate is NOT "
			 "trusted. The certificate chain violates the signer's constraints.");

	/* A CA certificate is not a device's. */
	ck_assert_int_eq(check(T_2027, &m, &e, "vendor-int", NULL), 0);
	ck_assert(strstr(e.msg, "is a CA certificate") != NULL);
}
END_TEST

START_TEST(test_chain_too_long)
{
	struct vendor_match m;
	struct lerr e;

	fx_add("vendor-root.pem", 1);
	ck_assert_int_eq(check(T_2027, &m, &e, "device", "vendor-int", "other-root",
			       "other-root", "other-root", "other-root", "other-root",
			       "other-root", "other-root", "other-root", NULL), 1);
	ck_assert_int_eq(check(T_2027, &m, &e, "device", "vendor-int", "other-root",
			       "other-root", "other-root", "other-root", "other-root",
			       "other-root", "other-root", "other-root", "other-root", NULL), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(e.http, 400);
}
END_TEST

START_TEST(test_chain_intermediate_vendor)
{
	struct vendor_match m;
	struct lerr e;

	/* Nothing cached: a vendor added between two checks counts. */
	ck_assert_int_eq(check(T_2027, &m, &e, "device", NULL), 0);
	fx_add("vendor-int.pem", 0);
	ck_assert_int_eq(check(T_2027, &m, &e, "device", NULL), 1);
	ck_assert_int_eq(m.auto_register, 0);
	ck_assert_str_eq(m.vendor_subject, "CN=Acme Factory CA 1,O=Acme");
	/* The registered intermediate's pathlen 0 still holds. */
	ck_assert_int_eq(check(T_2027, &m, &e, "device-deep", "sub-ca", NULL), 0);
	ck_assert(strstr(e.msg, "violates the signer's constraints") != NULL);
}
END_TEST

/* ---- the CLI ---- */

/* Runs lanca with args; returns its exit status and its stderr in err. */
static int
run_lanca(char *args[], char *err, size_t errn)
{
	char bin[1024], errpath[400];
	const char *env = getenv("LANCA");
	ssize_t got;
	int fd, status = -1;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s", env != NULL && env[0] != '\0' ? env :
		 TEST_SRCDIR "/src/lanca");
	snprintf(errpath, sizeof(errpath), "%s/stderr", tmpdir);
	if (access(bin, X_OK) != 0)
		ck_abort_msg("no lanca binary at %s (set LANCA)", bin);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(127);
		fd = open("/dev/null", O_WRONLY);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		args[0] = bin;
		execv(bin, args);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	fd = open(errpath, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	got = read(fd, err, errn - 1);
	close(fd);
	err[got > 0 ? got : 0] = '\0';
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_cli_add_not_ca)
{
	char err[1024];
	char *args[] = { NULL, "vendor", "add", NULL, "--dir", tmpdir, NULL };

	args[3] = strdup(fx_path("not-ca.pem"));
	ck_assert_int_eq(run_lanca(args, err, sizeof(err)), 1);
	ck_assert_msg(strstr(err, "lanca vendor: ") == err && strstr(err, "not-ca.pem: not a CA "
		      "certificate: basicConstraints says CA:FALSE") != NULL, "stderr: %s", err);
	free(args[3]);
	ck_assert_int_eq(vendor_count(), 0);

	args[3] = strdup(fx_path("vendor-root.pem"));
	ck_assert_msg(run_lanca(args, err, sizeof(err)) == 0, "stderr: %s", err);
	free(args[3]);
	ck_assert_int_eq(vendor_count(), 1);
}
END_TEST

static Suite *
vendor_suite(void)
{
	Suite *su = suite_create("vendor");
	TCase *tc = tcase_create("vendor");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ca_ok);
	tcase_add_test(tc, test_add);
	tcase_add_test(tc, test_chain_good);
	tcase_add_test(tc, test_chain_unregistered);
	tcase_add_test(tc, test_chain_refused);
	tcase_add_test(tc, test_chain_too_long);
	tcase_add_test(tc, test_chain_intermediate_vendor);
	tcase_add_test(tc, test_cli_add_not_ca);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	SRunner *sr = srunner_create(vendor_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
