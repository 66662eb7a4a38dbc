/*
 * test_policy.c - policy.c: the permitted name space, label-boundary
 * suffix checks, bare suffixes and IDNA labels refused, the device/gateway split for localhost and loopback,
 * filtering a request's SANs, reading a CA's nameConstraints back, and
 * leaf validity.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>

#include "ca/csr.h"
#include "common/lerr.h"
#include "ca/names.h"
#include "ca/policy.h"

#define DAY 86400

static struct policy pol;

static void
setup(void)
{
	static const char *const domains[] = { "Site.Example" };
	struct ipnet net;
	struct lerr e;

	ck_assert_int_eq(ipnet_parse("100.64.0.0/10", &net), 0);
	ck_assert_int_eq(policy_init(&pol, domains, 1, &net, 1, &e), 0);
}

static void
teardown(void)
{
	policy_free(&pol);
}

/* Reads a fixture from tests/data/csr/ into a malloc'd buffer. */
static unsigned char *
fixture(const char *name, size_t *len)
{
	char path[512];
	unsigned char *data;
	FILE *f;
	int w;

	w = snprintf(path, sizeof(path), "%s/tests/data/csr/%s", TEST_SRCDIR, name);
	ck_assert(w > 0 && (size_t)w < sizeof(path));
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	data = malloc(64 * 1024);
	ck_assert_ptr_nonnull(data);
	*len = fread(data, 1, 64 * 1024, f);
	ck_assert(ferror(f) == 0);
	fclose(f);
	return data;
}

static struct csr *
load_csr(const char *name)
{
	struct csr *c = NULL;
	struct lerr e;
	unsigned char *data;
	size_t len;

	data = fixture(name, &len);
	ck_assert_msg(csr_parse(data, len, &c, &e) == 0, "%s: %s", name, e.msg);
	free(data);
	return c;
}

static int
dns_ok(const char *name, enum policy_profile prof)
{
	struct lerr e;

	lerr_clear(&e);
	return policy_check_dns(&pol, name, prof, &e);
}

static int
ip_ok(const char *text, enum policy_profile prof, struct lerr *e)
{
	struct ipnet ip;

	ck_assert_int_eq(ipnet_parse(text, &ip), 0);
	lerr_clear(e);
	return policy_check_ip(&pol, &ip, prof, e);
}

START_TEST(init_defaults)
{
	struct policy p;
	struct lerr e;
	char text[64];
	static const char *const want_ip[] = {
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "fc00::/7", "::1",
	};
	size_t i;

	ck_assert_int_eq(policy_init(&p, NULL, 0, NULL, 0, &e), 0);
	ck_assert_uint_eq(p.leaf_days, POLICY_LEAF_DAYS_DEFAULT);
	ck_assert_uint_eq(p.permitted.ndns, 3);
	ck_assert_str_eq(p.permitted.dns[0], "local");
	ck_assert_str_eq(p.permitted.dns[1], "home.arpa");
	ck_assert_str_eq(p.permitted.dns[2], "localhost");
	ck_assert_uint_eq(p.permitted.nip, 6);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(ipnet_format(&p.permitted.ip[i], text, sizeof(text)), 0);
		ck_assert_str_eq(text, want_ip[i]);
	}
	policy_free(&p);
}
END_TEST

START_TEST(init_bad_domain)
{
	static const char *const bad[] = { "ok.example", "bad..example" };
	static const char *const wild[] = { "*.example" };
	struct policy p;
	struct lerr e;

	ck_assert_int_eq(policy_init(&p, bad, 2, NULL, 0, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_NAME);
	ck_assert_ptr_nonnull(strstr(e.msg, "bad..example"));
	ck_assert_uint_eq(p.permitted.ndns, 0);	/* nothing half-built left behind */
	ck_assert_int_eq(policy_init(&p, wild, 1, NULL, 0, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_NAME);
}
END_TEST

START_TEST(label_boundary)
{
	ck_assert_int_eq(dns_ok("x.local", POLICY_DEVICE), 0);
	ck_assert_int_eq(dns_ok("a.b.c.local", POLICY_DEVICE), 0);
	ck_assert_int_eq(dns_ok("local", POLICY_DEVICE), -1);	/* the suffix itself */
	ck_assert_int_eq(dns_ok("X.LOCAL", POLICY_DEVICE), 0);
	ck_assert_int_eq(dns_ok("nas.home.arpa", POLICY_DEVICE), 0);
	ck_assert_int_eq(dns_ok("evillocal", POLICY_DEVICE), -1);
	ck_assert_int_eq(dns_ok("x.evillocal", POLICY_DEVICE), -1);
	ck_assert_int_eq(dns_ok("xhome.arpa", POLICY_DEVICE), -1);
	ck_assert_int_eq(dns_ok("arpa", POLICY_DEVICE), -1);
	ck_assert_int_eq(dns_ok("local.example.com", POLICY_DEVICE), -1);
	ck_assert_int_eq(dns_ok("home.arpa.evil.com", POLICY_DEVICE), -1);
	ck_assert_int_eq(dns_ok("notsite.example", POLICY_DEVICE), -1);
}
END_TEST

START_TEST(site_domain)
{
	ck_assert_int_eq(dns_ok("nas.site.example", POLICY_DEVICE), 0);
	ck_assert_int_eq(dns_ok("site.example", POLICY_DEVICE), -1);	/* the domain itself */
	ck_assert_int_eq(dns_ok("nas.othersite.example", POLICY_DEVICE), -1);
	ck_assert_int_eq(dns_ok("example", POLICY_DEVICE), -1);
}
END_TEST

/* Issue 13, defect 4: a permitted suffix itself (a default one or a site
 * domain, even one that lies under another suffix) is no device name. */
START_TEST(bare_suffix_refused)
{
	static const char *const domains[] = { "site.example", "office.home.arpa" };
	static const char *const bare[] = {
		"local", "LOCAL", "home.arpa", "site.example", "Site.Example", "office.home.arpa",
	};
	struct policy p;
	struct lerr e;
	size_t i;

	ck_assert_int_eq(policy_init(&p, domains, 2, NULL, 0, &e), 0);
	for (i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
		lerr_clear(&e);
		ck_assert_msg(policy_check_dns(&p, bare[i], POLICY_DEVICE, &e) == -1, "%s issued",
			      bare[i]);
		ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
		ck_assert_int_eq(e.http, 400);
		ck_assert_msg(strstr(e.msg, "is a permitted domain itself: a device name needs at "
				      "least one label below it") != NULL, "%s", e.msg);
	}
	lerr_clear(&e);
	ck_assert_int_eq(policy_check_dns(&p, "home.arpa", POLICY_DEVICE, &e), -1);
	ck_assert_str_eq(e.msg, "home.arpa is a permitted domain itself: a device name needs at "
			 "least one label below it (such as device.home.arpa)");
	/* One label below is enough, under each of them. */
	ck_assert_int_eq(policy_check_dns(&p, "nas.local", POLICY_DEVICE, &e), 0);
	ck_assert_int_eq(policy_check_dns(&p, "nas.home.arpa", POLICY_DEVICE, &e), 0);
	ck_assert_int_eq(policy_check_dns(&p, "nas.site.example", POLICY_DEVICE, &e), 0);
	ck_assert_int_eq(policy_check_dns(&p, "nas.office.home.arpa", POLICY_DEVICE, &e), 0);
	/* The gateway's names are the administrator's: unchanged. */
	ck_assert_int_eq(policy_check_dns(&p, "site.example", POLICY_GATEWAY, &e), 0);
	ck_assert_int_eq(policy_check_dns(&p, "localhost", POLICY_GATEWAY, &e), 0);
	policy_free(&p);
}
END_TEST

/* Issue 13, defect 5: a name with an "xn--" label that is not IDNA is
 * refused for every profile, naming the label; real IDNA passes. */
START_TEST(idna_refused)
{
	struct lerr e;

	lerr_clear(&e);
	ck_assert_int_eq(policy_check_dns(&pol, "xn--zz.local", POLICY_DEVICE, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_NAME);
	ck_assert_int_eq(e.http, 400);
	ck_assert_str_eq(e.msg, "\"xn--zz.local\" is not a valid DNS name: its label \"xn--zz\" "
			 "is not valid IDNA (an xn-- label must be the punycode of a Unicode label)");
	lerr_clear(&e);
	ck_assert_int_eq(policy_check_dns(&pol, "cam.XN--ZZ.site.example", POLICY_GATEWAY, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_NAME);
	ck_assert_ptr_nonnull(strstr(e.msg, "its label \"xn--zz\""));
	ck_assert_int_eq(dns_ok("xn--bcher-kva.local", POLICY_DEVICE), 0);
	ck_assert_int_eq(dns_ok("XN--BCHER-KVA.local", POLICY_DEVICE), 0);
}
END_TEST

START_TEST(public_name_message)
{
	struct lerr e;

	lerr_clear(&e);
	ck_assert_int_eq(policy_check_dns(&pol, "www.example.com", POLICY_DEVICE, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	ck_assert_int_eq(e.http, 400);
	/* Everything a device may have, and what is kept for the gateway. */
	ck_assert_msg(strstr(e.msg, "www.example.com is not under a permitted domain (permitted: "
			      "names under local, home.arpa, site.example; addresses in 10.0.0.0/8, "
			      "172.16.0.0/12, 192.168.0.0/16, fc00::/7, 100.64.0.0/10; for the "
			      "gateway's own certificate only: localhost, 127.0.0.0/8, ::1)") != NULL,
		      "%s", e.msg);
	/* The gateway is told the whole space as its own. */
	lerr_clear(&e);
	ck_assert_int_eq(policy_check_dns(&pol, "www.example.com", POLICY_GATEWAY, &e), -1);
	ck_assert_msg(strstr(e.msg, "(permitted: names under local, home.arpa, localhost, "
			      "site.example; addresses in 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, "
			      "127.0.0.0/8, fc00::/7, ::1, 100.64.0.0/10)") != NULL, "%s", e.msg);
	lerr_clear(&e);
	ck_assert_int_eq(policy_check_dns(&pol, "bad..name", POLICY_DEVICE, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_NAME);
	ck_assert_int_eq(policy_check_dns(&pol, "*.x.local", POLICY_GATEWAY, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_NAME);
	/* the refused name is quoted, but never with raw control characters */
	ck_assert_int_eq(policy_check_dns(&pol, "a\n\"b.local", POLICY_DEVICE, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_NAME);
	ck_assert_ptr_nonnull(strstr(e.msg, "\"a??b.local\""));
}
END_TEST

START_TEST(localhost_device_vs_gateway)
{
	struct lerr e;

	lerr_clear(&e);
	ck_assert_int_eq(policy_check_dns(&pol, "localhost", POLICY_DEVICE, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	ck_assert_ptr_nonnull(strstr(e.msg, "localhost is reserved for the gateway's own certificate"));
	ck_assert_int_eq(dns_ok("app.localhost", POLICY_DEVICE), -1);
	ck_assert_int_eq(dns_ok("LocalHost", POLICY_DEVICE), -1);
	ck_assert_int_eq(dns_ok("localhost", POLICY_GATEWAY), 0);
	ck_assert_int_eq(dns_ok("app.localhost", POLICY_GATEWAY), 0);
	ck_assert_int_eq(dns_ok("notlocalhost", POLICY_GATEWAY), -1);
	ck_assert_int_eq(dns_ok("www.example.com", POLICY_GATEWAY), -1);
}
END_TEST

START_TEST(ip_checks)
{
	struct lerr e;

	ck_assert_int_eq(ip_ok("192.168.1.10", POLICY_DEVICE, &e), 0);
	ck_assert_int_eq(ip_ok("10.255.255.255", POLICY_DEVICE, &e), 0);
	ck_assert_int_eq(ip_ok("172.31.0.1", POLICY_DEVICE, &e), 0);
	ck_assert_int_eq(ip_ok("fd00::10", POLICY_DEVICE, &e), 0);
	ck_assert_int_eq(ip_ok("100.64.3.4", POLICY_DEVICE, &e), 0);	/* gateway net from init */
	ck_assert_int_eq(ip_ok("10.0.0.0/8", POLICY_DEVICE, &e), 0);
	ck_assert_int_eq(ip_ok("10.0.0.0/7", POLICY_DEVICE, &e), -1);	/* wider than permitted */
	ck_assert_int_eq(ip_ok("172.32.0.1", POLICY_DEVICE, &e), -1);
	ck_assert_int_eq(ip_ok("fe80::1", POLICY_DEVICE, &e), -1);
	ck_assert_int_eq(ip_ok("::ffff:192.168.1.1", POLICY_DEVICE, &e), -1);
	ck_assert_int_eq(ip_ok("8.8.8.8", POLICY_DEVICE, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	ck_assert_int_eq(e.http, 400);
	ck_assert_msg(strstr(e.msg, "8.8.8.8 is not in a permitted network (permitted: names under "
			      "local, home.arpa, site.example; addresses in 10.0.0.0/8, 172.16.0.0/12, "
			      "192.168.0.0/16, fc00::/7, 100.64.0.0/10; for the gateway's own "
			      "certificate only: localhost, 127.0.0.0/8, ::1)") != NULL, "%s", e.msg);
	ck_assert_int_eq(ip_ok("8.8.8.8", POLICY_GATEWAY, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
}
END_TEST

START_TEST(loopback_device_vs_gateway)
{
	struct lerr e;

	ck_assert_int_eq(ip_ok("127.0.0.1", POLICY_DEVICE, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	ck_assert_ptr_nonnull(strstr(e.msg, "127.0.0.1"));
	ck_assert_ptr_nonnull(strstr(e.msg, "reserved for the gateway"));
	ck_assert_int_eq(ip_ok("127.8.9.10", POLICY_DEVICE, &e), -1);
	ck_assert_int_eq(ip_ok("::1", POLICY_DEVICE, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	ck_assert_int_eq(ip_ok("0.0.0.0/0", POLICY_DEVICE, &e), -1);	/* overlaps loopback */
	ck_assert_int_eq(ip_ok("127.0.0.1", POLICY_GATEWAY, &e), 0);
	ck_assert_int_eq(ip_ok("127.8.9.10", POLICY_GATEWAY, &e), 0);
	ck_assert_int_eq(ip_ok("::1", POLICY_GATEWAY, &e), 0);
	ck_assert_int_eq(ip_ok("::2", POLICY_GATEWAY, &e), -1);
}
END_TEST

/* policy_names over a request: the outcome for each profile, and out. */
static int
names_of(const char *file, enum policy_profile prof, struct names *out, struct lerr *e)
{
	struct csr *c = load_csr(file);
	int rc;

	lerr_clear(e);
	rc = policy_names(&pol, c, prof, out, e);
	csr_free(c);
	return rc;
}

START_TEST(names_allowed)
{
	struct names out;
	struct lerr e;

	ck_assert_int_eq(names_of("p256.pem", POLICY_DEVICE, &out, &e), 0);
	/* the SANs, and not the CN "dev-p256" */
	ck_assert_uint_eq(out.ndns, 1);
	ck_assert_str_eq(out.dns[0], "x.local");
	ck_assert_uint_eq(out.nip, 1);
	ck_assert_uint_eq(out.ip[0].addr[3], 10);
	names_free(&out);
	/* No DNS SAN asked for: the device's mDNS name, from its id. */
	ck_assert_int_eq(names_of("no-san.pem", POLICY_DEVICE, &out, &e), 0);
	ck_assert_uint_eq(out.ndns, 1);
	ck_assert_uint_eq(out.nip, 0);
	ck_assert_int_eq(strcmp(out.dns[0] + strlen(out.dns[0]) - 6, ".local"), 0);
	names_free(&out);
	ck_assert_int_eq(names_of("p384.pem", POLICY_DEVICE, &out, &e), 0);
	names_free(&out);
}
END_TEST

START_TEST(names_public_san)
{
	struct names out;
	struct lerr e;

	/* x.local is fine, www.example.com is not: the whole request is refused */
	ck_assert_int_eq(names_of("public-san.pem", POLICY_DEVICE, &out, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	ck_assert_ptr_nonnull(strstr(e.msg, "www.example.com"));
	ck_assert_uint_eq(out.ndns + out.nip, 0);
	names_free(&out);
	ck_assert_int_eq(names_of("public-san.pem", POLICY_GATEWAY, &out, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	names_free(&out);
}
END_TEST

START_TEST(names_public_ip)
{
	struct names out;
	struct lerr e;

	ck_assert_int_eq(names_of("public-ip.pem", POLICY_DEVICE, &out, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	ck_assert_ptr_nonnull(strstr(e.msg, "8.8.8.8"));
	ck_assert_uint_eq(out.nip, 0);
	names_free(&out);
}
END_TEST

START_TEST(names_localhost)
{
	struct names out;
	struct lerr e;

	ck_assert_int_eq(names_of("localhost.pem", POLICY_DEVICE, &out, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	ck_assert_ptr_nonnull(strstr(e.msg, "localhost is reserved"));
	names_free(&out);
	ck_assert_int_eq(names_of("localhost.pem", POLICY_GATEWAY, &out, &e), 0);
	ck_assert_uint_eq(out.ndns, 1);
	ck_assert_str_eq(out.dns[0], "localhost");
	names_free(&out);
}
END_TEST

START_TEST(names_loopback)
{
	struct names out;
	struct lerr e;

	ck_assert_int_eq(names_of("loopback.pem", POLICY_DEVICE, &out, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	ck_assert_ptr_nonnull(strstr(e.msg, "127.0.0.1"));
	names_free(&out);
	ck_assert_int_eq(names_of("loopback6.pem", POLICY_DEVICE, &out, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	names_free(&out);
	ck_assert_int_eq(names_of("loopback.pem", POLICY_GATEWAY, &out, &e), 0);
	ck_assert_uint_eq(out.nip, 1);
	names_free(&out);
	ck_assert_int_eq(names_of("loopback6.pem", POLICY_GATEWAY, &out, &e), 0);
	names_free(&out);
}
END_TEST

START_TEST(validity_default_and_days)
{
	time_t now = 1700000000, ca_end = now + 5 * 365 * (time_t)DAY, nb, na;
	struct lerr e;

	ck_assert_int_eq(policy_validity(&pol, 0, now, ca_end, &nb, &na, &e), 0);
	ck_assert_int_eq(nb, now - 60);
	ck_assert_int_eq(na, now + 90 * (time_t)DAY);
	ck_assert_int_eq(policy_validity(&pol, 825, now, ca_end, &nb, &na, &e), 0);
	ck_assert_int_eq(na, now + 825 * (time_t)DAY);
	ck_assert_int_eq(policy_validity(&pol, POLICY_GATEWAY_DAYS, now, ca_end, &nb, &na, &e), 0);
	ck_assert_int_eq(na, now + 365 * (time_t)DAY);
	pol.leaf_days = 30;
	ck_assert_int_eq(policy_validity(&pol, 0, now, ca_end, &nb, &na, &e), 0);
	ck_assert_int_eq(na, now + 30 * (time_t)DAY);
}
END_TEST

START_TEST(validity_refused)
{
	time_t now = 1700000000, nb = 0, na = 0;
	struct lerr e;

	lerr_clear(&e);
	ck_assert_int_eq(policy_validity(&pol, 826, now, now + 3650 * (time_t)DAY, &nb, &na, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_VALIDITY);
	ck_assert_int_eq(e.http, 400);
	ck_assert_int_eq(policy_validity(&pol, 100000, now, now + 3650 * (time_t)DAY, &nb, &na, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_VALIDITY);
	lerr_clear(&e);
	ck_assert_int_eq(policy_validity(&pol, 0, now, now, &nb, &na, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_VALIDITY);
	ck_assert_ptr_nonnull(strstr(e.msg, "issuing CA expired"));
	ck_assert_int_eq(policy_validity(&pol, 0, now, now - 1, &nb, &na, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_VALIDITY);
	pol.leaf_days = 1000;	/* a misconfigured default is refused too */
	ck_assert_int_eq(policy_validity(&pol, 0, now, now + 3650 * (time_t)DAY, &nb, &na, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_VALIDITY);
}
END_TEST

START_TEST(validity_clamped)
{
	time_t now = 1700000000, ca_end = now + 10 * (time_t)DAY, nb, na;
	struct lerr e;

	ck_assert_int_eq(policy_validity(&pol, 0, now, ca_end, &nb, &na, &e), 0);
	ck_assert_int_eq(nb, now - 60);
	ck_assert_int_eq(na, ca_end);
	ck_assert_int_eq(policy_validity(&pol, 365, now, now + 1, &nb, &na, &e), 0);
	ck_assert_int_eq(na, now + 1);
	/* exactly at the CA's end: not cut, not past */
	ck_assert_int_eq(policy_validity(&pol, 10, now, ca_end, &nb, &na, &e), 0);
	ck_assert_int_eq(na, ca_end);
}
END_TEST

/* Reads tests/data/csr/ca-nc.pem (made with certtool's nc_permit_*). */
START_TEST(from_ca_fixture)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;
	struct policy p;
	struct lerr e;
	char text[64];
	size_t len;

	d.data = fixture("ca-nc.pem", &len);
	d.size = (unsigned)len;
	ck_assert_int_eq(gnutls_x509_crt_init(&crt), 0);
	ck_assert_int_eq(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
	free(d.data);
	ck_assert_int_eq(policy_from_ca(&p, crt, &e), 0);
	gnutls_x509_crt_deinit(crt);
	ck_assert_uint_eq(p.permitted.ndns, 3);	/* the email subtree is skipped */
	ck_assert_str_eq(p.permitted.dns[0], "local");
	ck_assert_str_eq(p.permitted.dns[1], "home.arpa");
	ck_assert_str_eq(p.permitted.dns[2], "site.example");
	ck_assert_uint_eq(p.permitted.nip, 4);
	ck_assert_int_eq(ipnet_format(&p.permitted.ip[0], text, sizeof(text)), 0);
	ck_assert_str_eq(text, "10.0.0.0/8");
	ck_assert_int_eq(ipnet_format(&p.permitted.ip[1], text, sizeof(text)), 0);
	ck_assert_str_eq(text, "192.168.0.0/16");
	ck_assert_int_eq(ipnet_format(&p.permitted.ip[2], text, sizeof(text)), 0);
	ck_assert_str_eq(text, "fc00::/7");
	ck_assert_int_eq(ipnet_format(&p.permitted.ip[3], text, sizeof(text)), 0);
	ck_assert_str_eq(text, "::1");
	ck_assert_int_eq(policy_check_dns(&p, "nas.site.example", POLICY_DEVICE, &e), 0);
	ck_assert_int_eq(policy_check_dns(&p, "localhost", POLICY_GATEWAY, &e), -1);
	policy_free(&p);
}
END_TEST

/* Makes a self-signed CA carrying (if nc_from) nc_from's permitted names. */
static gnutls_x509_crt_t
make_ca(const struct policy *nc_from)
{
	gnutls_x509_name_constraints_t nc = NULL;
	gnutls_privkey_t key;
	gnutls_pubkey_t pub;
	gnutls_x509_crt_t crt;
	unsigned char serial[1] = { 1 };
	size_t i;

	ck_assert_int_eq(gnutls_privkey_init(&key), 0);
	ck_assert_int_eq(gnutls_privkey_generate(key, GNUTLS_PK_ECDSA,
			 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0), 0);
	ck_assert_int_eq(gnutls_pubkey_init(&pub), 0);
	ck_assert_int_eq(gnutls_pubkey_import_privkey(pub, key, 0, 0), 0);
	ck_assert_int_eq(gnutls_x509_crt_init(&crt), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_version(crt, 3), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_serial(crt, serial, 1), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_activation_time(crt, 1700000000), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_expiration_time(crt, 1800000000), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
						       "test CA", 7), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_pubkey(crt, pub), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_basic_constraints(crt, 1, 0), 0);
	if (nc_from != NULL) {
		ck_assert_int_eq(gnutls_x509_name_constraints_init(&nc), 0);
		for (i = 0; i < nc_from->permitted.ndns; i++) {
			gnutls_datum_t d = { (unsigned char *)nc_from->permitted.dns[i],
					     (unsigned)strlen(nc_from->permitted.dns[i]) };

			ck_assert_int_eq(gnutls_x509_name_constraints_add_permitted(nc,
					 GNUTLS_SAN_DNSNAME, &d), 0);
		}
		for (i = 0; i < nc_from->permitted.nip; i++) {
			const struct ipnet *ip = &nc_from->permitted.ip[i];
			unsigned char buf[32];
			gnutls_datum_t d = { buf, ip->len * 2 };
			unsigned b;

			memset(buf, 0, sizeof(buf));
			memcpy(buf, ip->addr, ip->len);
			for (b = 0; b < ip->prefix; b++)
				buf[ip->len + b / 8] |= (unsigned char)(0x80 >> (b % 8));
			ck_assert_int_eq(gnutls_x509_name_constraints_add_permitted(nc,
					 GNUTLS_SAN_IPADDRESS, &d), 0);
		}
		ck_assert_int_eq(gnutls_x509_crt_set_name_constraints(crt, nc, 1), 0);
		gnutls_x509_name_constraints_deinit(nc);
	}
	ck_assert_int_eq(gnutls_x509_crt_privkey_sign(crt, crt, key, GNUTLS_DIG_SHA256, 0), 0);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(key);
	return crt;
}

/* What policy_init builds survives a round trip through a certificate. */
START_TEST(from_ca_round_trip)
{
	gnutls_x509_crt_t crt = make_ca(&pol);
	struct policy back;
	struct lerr e;
	size_t i;

	ck_assert_int_eq(policy_from_ca(&back, crt, &e), 0);
	gnutls_x509_crt_deinit(crt);
	ck_assert_uint_eq(back.permitted.ndns, pol.permitted.ndns);
	for (i = 0; i < pol.permitted.ndns; i++)
		ck_assert_str_eq(back.permitted.dns[i], pol.permitted.dns[i]);
	ck_assert_uint_eq(back.permitted.nip, pol.permitted.nip);
	for (i = 0; i < pol.permitted.nip; i++) {
		ck_assert_uint_eq(back.permitted.ip[i].len, pol.permitted.ip[i].len);
		ck_assert_uint_eq(back.permitted.ip[i].prefix, pol.permitted.ip[i].prefix);
		ck_assert_mem_eq(back.permitted.ip[i].addr, pol.permitted.ip[i].addr,
				 pol.permitted.ip[i].len);
	}
	policy_free(&back);
}
END_TEST

START_TEST(from_ca_without_constraints)
{
	gnutls_x509_crt_t crt = make_ca(NULL);
	struct policy back;
	struct lerr e;

	lerr_clear(&e);
	ck_assert_int_eq(policy_from_ca(&back, crt, &e), -1);
	ck_assert_int_ne(e.code, LERR_NONE);
	ck_assert_uint_eq(back.permitted.ndns + back.permitted.nip, 0);
	gnutls_x509_crt_deinit(crt);
	policy_free(&back);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, init_defaults);
	tcase_add_test(tc, init_bad_domain);
	tcase_add_test(tc, label_boundary);
	tcase_add_test(tc, site_domain);
	tcase_add_test(tc, public_name_message);
	tcase_add_test(tc, bare_suffix_refused);
	tcase_add_test(tc, idna_refused);
	tcase_add_test(tc, localhost_device_vs_gateway);
	tcase_add_test(tc, ip_checks);
	tcase_add_test(tc, loopback_device_vs_gateway);
	tcase_add_test(tc, names_allowed);
	tcase_add_test(tc, names_public_san);
	tcase_add_test(tc, names_public_ip);
	tcase_add_test(tc, names_localhost);
	tcase_add_test(tc, names_loopback);
	tcase_add_test(tc, validity_default_and_days);
	tcase_add_test(tc, validity_refused);
	tcase_add_test(tc, validity_clamped);
	tcase_add_test(tc, from_ca_fixture);
	tcase_add_test(tc, from_ca_round_trip);
	tcase_add_test(tc, from_ca_without_constraints);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
