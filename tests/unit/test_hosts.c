/*
 * test_hosts.c - names that resolve (src/daemon/hosts.c) over a store in
 * a temporary directory: which certificates and names are listed, which
 * address each gets (an IP SAN other than loopback wins over the address
 * the device asked from; a name two certificates hold: the newest one's),
 * the three formats byte for byte, the store's change counter, and the
 * daemon's file rewritten after an issuance and a revocation only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "common/buf.h"
#include "common/fileio.h"
#include "daemon/hosts.h"
#include "store/store.h"

#define NOW	((int64_t)1800000000)

static char dir[256], dbpath[320], hostspath[320];
static struct store *s;
static int64_t ca_id;

static void
setup(void)
{
	static const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	struct lerr e;

	snprintf(dir, sizeof(dir), "/tmp/lanca-hosts.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/%s", dir, STORE_FILE);
	snprintf(hostspath, sizeof(hostspath), "%s/hosts", dir);
	ck_assert_msg(store_open(dbpath, STORE_CREATE, &s, &e) == 0, "open: %s", e.msg);
	ck_assert_int_eq(store_ca_insert(s, "issuing", "CN=Test CA", "fp", 1000, 2000, der,
					 sizeof(der), &ca_id, &e), 0);
}

static void
teardown(void)
{
	static const char *const files[] = { "", "-wal", "-shm" };
	char p[400];
	size_t i;

	store_close(s);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", dbpath, files[i]);
		unlink(p);
	}
	unlink(hostspath);
	rmdir(dir);
}

/* A certificate n for device with names (as cert_names holds them),
 * asked from address ("" none), valid until not_after; its serial into
 * serial. */
static void
add(int n, const char *device, const char *names, const char *address, int64_t not_after,
    unsigned char serial[STORE_SERIAL_LEN])
{
	struct store_cert c;
	unsigned char der[8];
	char sans[256];
	struct lerr e;
	size_t i;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(store_serial_reserve(s, serial, &e), 0);
	memcpy(c.serial, serial, STORE_SERIAL_LEN);
	c.serial_len = STORE_SERIAL_LEN;
	c.ca_id = ca_id;
	snprintf(c.device_id, sizeof(c.device_id), "%s", device);
	snprintf(c.subject, sizeof(c.subject), "CN=%s", device);
	snprintf(sans, sizeof(sans), "%s", names);
	c.sans = sans;
	c.profile = POLICY_DEVICE;
	c.not_before = NOW - 86400;
	c.not_after = not_after;
	c.issued_at = NOW - 3600 + n;
	for (i = 0; i < sizeof(c.key_id); i++)
		c.key_id[i] = (unsigned char)(n * 31 + (int)i);
	for (i = 0; i < sizeof(der); i++)
		der[i] = (unsigned char)(n + (int)i);
	c.der = der;
	c.der_len = sizeof(der);
	snprintf(c.address, sizeof(c.address), "%s", address);
	ck_assert_msg(store_cert_insert(s, &c, "unit", &e) == 0, "insert %d: %s", n, e.msg);
}

static void
revoke_serial(const unsigned char serial[STORE_SERIAL_LEN])
{
	struct store_revocation r = { CRL_REASON_KEY_COMPROMISE, NULL, "unit", NOW };
	struct lerr e;

	ck_assert_msg(store_cert_revoke(s, serial, STORE_SERIAL_LEN, &r, &e) == 0, "%s", e.msg);
}

/* The certificates of the tests: which are listed and with what. */
static void
add_all(void)
{
	unsigned char serial[STORE_SERIAL_LEN];

	/* Only its home.arpa name: not the mDNS one, the wildcard or localhost. */
	add(1, "nas", "DNS:nas.home.arpa,DNS:nas.local,DNS:*.nas.home.arpa,DNS:localhost",
	    "192.0.2.7", NOW + 86400, serial);
	/* Its IP SAN wins over where it asked from; its loopback SAN never. */
	add(2, "printer", "DNS:printer.example.lan,IP:192.168.77.5,IP:127.0.0.1", "192.0.2.8",
	    NOW + 86400, serial);
	add(3, "old", "DNS:old.home.arpa", "192.0.2.9", NOW + 86400, serial);
	revoke_serial(serial);
	add(4, "gone", "DNS:gone.home.arpa", "192.0.2.10", NOW, serial);	/* expired at NOW */
	add(5, "nowhere", "DNS:nowhere.home.arpa", "", NOW + 86400, serial);
	/* The same name in a newer certificate: its address. */
	add(6, "nas2", "DNS:nas.home.arpa,DNS:NAS2.home.arpa", "2001:db8::7", NOW + 86400,
	    serial);
}

static void
render_is(enum hosts_format f, const char *want)
{
	struct buf b;
	struct lerr e;
	size_t n = 0;

	buf_init(&b, 1 << 20);
	ck_assert_msg(hosts_render(s, f, NOW, &b, &n, &e) == 0, "%s", e.msg);
	ck_assert_str_eq((const char *)b.data, want);
	ck_assert_uint_eq(n, 3);
	buf_free(&b);
}

START_TEST(test_render)
{
	enum hosts_format f;

	add_all();
	render_is(HOSTS_HOSTS,
		  "# hosts file, written by lanca: the names of its valid certificates\n"
		  "2001:db8::7 nas.home.arpa\n"
		  "2001:db8::7 NAS2.home.arpa\n"
		  "192.168.77.5 printer.example.lan\n");
	render_is(HOSTS_DNSMASQ,
		  "# dnsmasq host-record lines, written by lanca: the names of its valid "
		  "certificates\n"
		  "host-record=nas.home.arpa,2001:db8::7\n"
		  "host-record=NAS2.home.arpa,2001:db8::7\n"
		  "host-record=printer.example.lan,192.168.77.5\n");
	render_is(HOSTS_UNBOUND,
		  "# unbound local-data, written by lanca: the names of its valid certificates\n"
		  "server:\n"
		  "\tlocal-data: \"nas.home.arpa. IN AAAA 2001:db8::7\"\n"
		  "\tlocal-data-ptr: \"2001:db8::7 nas.home.arpa.\"\n"
		  "\tlocal-data: \"NAS2.home.arpa. IN AAAA 2001:db8::7\"\n"
		  "\tlocal-data-ptr: \"2001:db8::7 NAS2.home.arpa.\"\n"
		  "\tlocal-data: \"printer.example.lan. IN A 192.168.77.5\"\n"
		  "\tlocal-data-ptr: \"192.168.77.5 printer.example.lan.\"\n");
	ck_assert_int_eq(hosts_format_parse("dnsmasq", &f), 0);
	ck_assert_int_eq(f, HOSTS_DNSMASQ);
	ck_assert_int_eq(hosts_format_parse("bind", &f), -1);
	ck_assert_int_eq(hosts_format_parse(NULL, &f), -1);
}
END_TEST

/* Issuances and revocations move the store's counter; other writes do
 * not. */
START_TEST(test_cert_changes)
{
	unsigned char serial[STORE_SERIAL_LEN];
	struct lerr e;
	uint64_t c0 = store_cert_changes(s);

	add(1, "nas", "DNS:nas.home.arpa", "192.0.2.7", NOW + 86400, serial);
	ck_assert_uint_gt(store_cert_changes(s), c0);
	c0 = store_cert_changes(s);
	ck_assert_int_eq(store_audit(s, "unit", "press", NULL, NULL, &e), 0);
	ck_assert_int_eq(store_setting_set(s, "window", "{}", &e), 0);
	ck_assert_uint_eq(store_cert_changes(s), c0);
	revoke_serial(serial);
	ck_assert_uint_gt(store_cert_changes(s), c0);
}
END_TEST

static char *
slurp(const char *path)
{
	unsigned char *p = NULL;
	size_t n = 0;
	struct lerr e;

	ck_assert_msg(fileio_read(path, 1 << 20, 0, &p, &n, &e) == 0, "%s", e.msg);
	return (char *)p;
}

/* Waits up to 5 s for the file to hold (with has) or not hold text. */
static int
file_has(const char *text, int has)
{
	char *p;
	int i, found = 0;

	for (i = 0; i < 50; i++) {
		p = slurp(hostspath);
		found = strstr(p, text) != NULL;
		free(p);
		if (found == has)
			return 1;
		usleep(100 * 1000);
	}
	return 0;
}

static time_t
fake_now(void *arg)
{
	(void)arg;
	return (time_t)NOW;
}

/* The daemon's file: written at start, rewritten within a second of an
 * issuance and of a revocation, and not touched when nothing it lists
 * changed. */
START_TEST(test_hosts_file)
{
	unsigned char serial[STORE_SERIAL_LEN];
	struct hosts_file *h = NULL;
	struct stat st0, st1;
	struct lerr e;

	ck_assert_msg(hosts_file_start(s, hostspath, fake_now, NULL, &h, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(stat(hostspath, &st0), 0);
	ck_assert_uint_eq(st0.st_mode & 0777, 0644);
	add(1, "nas", "DNS:nas.home.arpa", "192.0.2.7", NOW + 86400, serial);
	ck_assert(file_has("192.0.2.7 nas.home.arpa\n", 1));
	ck_assert_int_eq(stat(hostspath, &st0), 0);
	/* A certificate without a name for the LAN: the same bytes, the
	 * same file. */
	add(2, "cam", "DNS:cam.local", "192.0.2.8", NOW + 86400, serial);
	sleep(2);
	ck_assert_int_eq(stat(hostspath, &st1), 0);
	ck_assert_uint_eq(st0.st_ino, st1.st_ino);
	add(3, "tv", "DNS:tv.home.arpa", "192.0.2.9", NOW + 86400, serial);
	ck_assert(file_has("192.0.2.9 tv.home.arpa\n", 1));
	revoke_serial(serial);
	ck_assert(file_has("tv.home.arpa", 0));
	ck_assert(file_has("192.0.2.7 nas.home.arpa\n", 1));
	hosts_file_stop(h);
	/* A file that cannot be written: serve does not start with it. */
	ck_assert_int_eq(hosts_file_start(s, "/nonexistent-dir/hosts", NULL, NULL, &h, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent-dir/hosts"));
	ck_assert_ptr_null(h);
}
END_TEST

static Suite *
hosts_suite(void)
{
	Suite *su = suite_create("hosts");
	TCase *tc = tcase_create("hosts");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_render);
	tcase_add_test(tc, test_cert_changes);
	tcase_add_test(tc, test_hosts_file);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	SRunner *sr = srunner_create(hosts_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
