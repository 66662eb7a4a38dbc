/*
 * bench-x509.c - what building and checking one leaf costs, without the
 * store, the signer process or the network around it.
 *
 * Builds a P-256 root and issuing CA constrained to local names, then
 * times N leaves four ways: x509_make_leaf and x509_check_leaf (every
 * call encodes the shared extensions and parses the CAs' constraints
 * again), and the same through a prepared x509_issuer (what the signer
 * uses); then the device's request: csr_verify (the proof of possession)
 * and csr_parse without it. The last line adds up what the signer
 * cannot avoid per enrollment with GnuTLS's X.509 API: one verification,
 * one prepared leaf (built and signed) and its check. Prints wall and
 * CPU microseconds per call; asserts nothing.
 * (Moved here from the unit tests, where a timing has no place.)
 *
 * usage: bench-x509 [-n N]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <sodium.h>

#include "ca/csr.h"
#include "ca/keystore.h"
#include "ca/names.h"
#include "ca/x509.h"
#include "common/lerr.h"
#include "measure.h"

#define DAY	(24 * 3600)

static void
die(const char *what, const struct lerr *e)
{
	fprintf(stderr, "bench-x509: %s: %s\n", what, e != NULL ? e->msg : "failed");
	exit(1);
}

static void
serial_new(unsigned char s[X509_SERIAL_LEN])
{
	randombytes_buf(s, X509_SERIAL_LEN);
	s[0] &= 0x7f;
	if (s[0] == 0)
		s[0] = 1;
}

static gnutls_privkey_t
key_new(void)
{
	gnutls_x509_privkey_t x = NULL;
	gnutls_privkey_t k = NULL;
	struct lerr e;

	if (keystore_generate(KEYSTORE_ECDSA_P256, &x, &e) != 0)
		die("key", &e);
	if (gnutls_privkey_init(&k) != 0 ||
	    gnutls_privkey_import_x509(k, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) != 0)
		die("key import", NULL);
	return k;
}

static void
add_ip(struct names *n, const char *text)
{
	struct ipnet ip;

	if (ipnet_parse(text, &ip) != 0 || names_add_ip(n, &ip) != 0)
		die(text, NULL);
}

/* Prints one line and returns the CPU microseconds per call. */
static double
report(const char *what, unsigned n, double w0, double w1, double c0, double c1)
{
	printf("  %-34s %8.1f us/call wall  %8.1f us/call CPU  %8.0f /s\n", what,
	       (w1 - w0) / n, (c1 - c0) / n, n / ((w1 - w0) / 1e6));
	return (c1 - c0) / n;
}

/* A device's request for "dev1" with one DNS name, signed by key. */
static void
request_new(gnutls_privkey_t key, gnutls_datum_t *der)
{
	gnutls_x509_crq_t crq = NULL;
	gnutls_pubkey_t pub = NULL;
	struct lerr e;

	if (keystore_pubkey(key, &pub, &e) != 0)
		die("request key", &e);
	if (gnutls_x509_crq_init(&crq) < 0 ||
	    gnutls_x509_crq_set_dn(crq, "CN=dev1", NULL) < 0 ||
	    gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME, "dev1.local",
						 strlen("dev1.local"), GNUTLS_FSAN_SET) < 0 ||
	    gnutls_x509_crq_set_pubkey(crq, pub) < 0 ||
	    gnutls_x509_crq_privkey_sign(crq, key, GNUTLS_DIG_SHA256, 0) < 0 ||
	    gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, der) < 0)
		die("request", NULL);
	gnutls_x509_crq_deinit(crq);
	gnutls_pubkey_deinit(pub);
}

int
main(int argc, char *argv[])
{
	static const char *const dns[] = { "local", "home.arpa", "localhost" };
	static const char *const ips[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
					   "127.0.0.0/8", "fc00::/7", "::1/128" };
	unsigned char root_serial[X509_SERIAL_LEN], ca_serial[X509_SERIAL_LEN];
	unsigned char serial[X509_SERIAL_LEN];
	gnutls_privkey_t root_key, ca_key, leaf_key;
	gnutls_pubkey_t ca_pub = NULL, leaf_pub = NULL;
	gnutls_x509_crt_t root = NULL, ca = NULL, chain[2];
	struct x509_ca_params p;
	struct x509_leaf_params lp;
	struct x509_issuer *is = NULL;
	struct names permitted, sans;
	gnutls_datum_t *der, req;
	struct csr *parsed;
	double w0, w1, c0, c1, floor_us;
	time_t now = time(NULL);
	unsigned n = 500, i;
	struct lerr e;
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n' || (n = (unsigned)strtoul(optarg, NULL, 10)) == 0 || n > 100000) {
			fprintf(stderr, "usage: bench-x509 [-n N (1..100000)]\n");
			return 2;
		}
	}
	if (sodium_init() < 0 || gnutls_global_init() != 0)
		die("library initialisation", NULL);
	der = calloc(n, sizeof(*der));
	if (der == NULL)
		die("out of memory", NULL);

	names_init(&permitted);
	for (i = 0; i < sizeof(dns) / sizeof(dns[0]); i++)
		if (names_add_dns(&permitted, dns[i]) != 0)
			die(dns[i], NULL);
	for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
		add_ip(&permitted, ips[i]);
	root_key = key_new();
	ca_key = key_new();
	leaf_key = key_new();
	if (keystore_pubkey(ca_key, &ca_pub, &e) != 0 || keystore_pubkey(leaf_key, &leaf_pub, &e) != 0)
		die("public key", &e);

	memset(&p, 0, sizeof(p));
	serial_new(root_serial);
	p.cn = "lanca bench root";
	p.org = "lanca bench";
	p.permitted = &permitted;
	p.pathlen = 1;
	p.not_before = now - 3600;
	p.not_after = now + 20 * 365 * (time_t)DAY;
	p.serial = root_serial;
	if (x509_make_root(&p, root_key, &root, &e) != 0)
		die("root", &e);
	serial_new(ca_serial);
	p.cn = "issuing-ca.gw.local";	/* checked as a DNS name: under .local */
	p.pathlen = 0;
	p.not_after = now + 5 * 365 * (time_t)DAY;
	p.serial = ca_serial;
	if (x509_make_ca(&p, ca_pub, root, root_key, &ca, &e) != 0)
		die("issuing CA", &e);
	chain[0] = ca;
	chain[1] = root;

	names_init(&sans);
	if (names_add_dns(&sans, "dev1.local") != 0)
		die("name", NULL);
	add_ip(&sans, "192.168.1.10");
	serial_new(serial);
	memset(&lp, 0, sizeof(lp));
	lp.pubkey = leaf_pub;
	lp.cn = "dev1";
	lp.sans = &sans;
	lp.not_before = now - 300;
	lp.not_after = now + 90 * (time_t)DAY;
	lp.serial = serial;
	lp.crl_url = "http://gw.local/crl";

	printf("bench-x509: P-256 leaves, %u calls each\n", n);
	w0 = (bench_wall_s() * 1e6), c0 = (bench_cpu_s(RUSAGE_SELF) * 1e6);
	for (i = 0; i < n; i++)
		if (x509_make_leaf(&lp, ca, ca_key, &der[i], &e) != 0)
			die("make_leaf", &e);
	w1 = (bench_wall_s() * 1e6), c1 = (bench_cpu_s(RUSAGE_SELF) * 1e6);
	report("x509_make_leaf", n, w0, w1, c0, c1);
	w0 = w1, c0 = c1;
	for (i = 0; i < n; i++)
		if (x509_check_leaf(&der[i], &lp, chain, 2, &e) != 0)
			die("check_leaf", &e);
	w1 = (bench_wall_s() * 1e6), c1 = (bench_cpu_s(RUSAGE_SELF) * 1e6);
	report("x509_check_leaf", n, w0, w1, c0, c1);
	for (i = 0; i < n; i++)
		gnutls_free(der[i].data);

	if (x509_issuer_new(chain, 2, ca_key, lp.crl_url, &is, &e) != 0)
		die("issuer", &e);
	w0 = (bench_wall_s() * 1e6), c0 = (bench_cpu_s(RUSAGE_SELF) * 1e6);
	for (i = 0; i < n; i++)
		if (x509_issuer_make_leaf(is, &lp, &der[i], &e) != 0)
			die("issuer make_leaf", &e);
	w1 = (bench_wall_s() * 1e6), c1 = (bench_cpu_s(RUSAGE_SELF) * 1e6);
	floor_us = report("x509_issuer_make_leaf (prepared)", n, w0, w1, c0, c1);
	w0 = w1, c0 = c1;
	for (i = 0; i < n; i++)
		if (x509_issuer_check_leaf(is, &der[i], &lp, &e) != 0)
			die("issuer check_leaf", &e);
	w1 = (bench_wall_s() * 1e6), c1 = (bench_cpu_s(RUSAGE_SELF) * 1e6);
	floor_us += report("x509_issuer_check_leaf (prepared)", n, w0, w1, c0, c1);
	for (i = 0; i < n; i++)
		gnutls_free(der[i].data);

	request_new(leaf_key, &req);
	w0 = (bench_wall_s() * 1e6), c0 = (bench_cpu_s(RUSAGE_SELF) * 1e6);
	for (i = 0; i < n; i++)
		if (csr_verify(req.data, req.size, &e) != 0)
			die("csr_verify", &e);
	w1 = (bench_wall_s() * 1e6), c1 = (bench_cpu_s(RUSAGE_SELF) * 1e6);
	floor_us += report("csr_verify (proof of possession)", n, w0, w1, c0, c1);
	w0 = w1, c0 = c1;
	for (i = 0; i < n; i++) {
		if (csr_parse_flags(req.data, req.size, CSR_PARSE_NO_VERIFY, &parsed, &e) != 0)
			die("csr_parse", &e);
		csr_free(parsed);
	}
	w1 = (bench_wall_s() * 1e6), c1 = (bench_cpu_s(RUSAGE_SELF) * 1e6);
	report("csr_parse, signature not checked", n, w0, w1, c0, c1);
	gnutls_free(req.data);
	printf("  the signer's floor per enrollment (verify + prepared leaf + check): %.0f us CPU\n",
	       floor_us);

	x509_issuer_free(is);
	free(der);
	names_free(&sans);
	names_free(&permitted);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_crt_deinit(root);
	gnutls_pubkey_deinit(leaf_pub);
	gnutls_pubkey_deinit(ca_pub);
	gnutls_privkey_deinit(leaf_key);
	gnutls_privkey_deinit(ca_key);
	gnutls_privkey_deinit(root_key);
	gnutls_global_deinit();
	return 0;
}
