/*
 * test_x509.c - the CA hierarchy, leaves, and the check before issuance.
 *
 * Builds a P-256 root and issuing CA constrained to local names once, then
 * checks what they carry by reading it back with GnuTLS, that GnuTLS's own
 * path validation accepts a good leaf, and that x509_check_leaf refuses
 * leaves GnuTLS signs without complaint but that break an invariant (names
 * outside the constraints, validity past the CA, wrong serial, key or
 * issuer), with and without a prepared x509_issuer (shared extensions
 * encoded and every CA's constraints parsed once, then used from several
 * threads). What make_leaf and check_leaf cost is tests/bench/bench-x509.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <sodium.h>

#include "ca/keystore.h"
#include "common/lerr.h"
#include "ca/names.h"
#include "ca/x509.h"

#define DAY	(24 * 3600)

static const char *const permitted_dns[] = { "local", "home.arpa", "localhost" };
static const char *const permitted_ip[] = {
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "fc00::/7", "::1/128",
};

/* Built once by ca_setup (an unchecked fixture: every test's fork sees them). */
static gnutls_privkey_t root_key, ca_key, leaf_key;
static gnutls_pubkey_t ca_pub, leaf_pub;
static gnutls_x509_crt_t root, ca;
static gnutls_x509_crt_t chain[2];	/* issuer first, root last */
static struct names permitted;
static unsigned char root_serial[X509_SERIAL_LEN], ca_serial[X509_SERIAL_LEN];
static time_t now;

static void
random_serial(unsigned char s[X509_SERIAL_LEN])
{
	randombytes_buf(s, X509_SERIAL_LEN);
	s[0] &= 0x7f;
	if (s[0] == 0)
		s[0] = 1;
}

static gnutls_privkey_t
new_key(enum keystore_type t)
{
	gnutls_x509_privkey_t x = NULL;
	gnutls_privkey_t k = NULL;
	struct lerr e;

	ck_assert_int_eq(keystore_generate(t, &x, &e), 0);
	ck_assert_int_eq(gnutls_privkey_init(&k), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(k, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), 0);
	return k;
}

static gnutls_pubkey_t
pub_of(gnutls_privkey_t k)
{
	gnutls_pubkey_t p = NULL;
	struct lerr e;

	ck_assert_int_eq(keystore_pubkey(k, &p, &e), 0);
	return p;
}

static void
add_ip(struct names *n, const char *text)
{
	struct ipnet ip;

	ck_assert_int_eq(ipnet_parse(text, &ip), 0);
	ck_assert_int_eq(names_add_ip(n, &ip), 0);
}

static void
ca_setup(void)
{
	struct x509_ca_params p;
	struct lerr e;
	size_t i;

	now = time(NULL);
	names_init(&permitted);
	for (i = 0; i < sizeof(permitted_dns) / sizeof(permitted_dns[0]); i++)
		ck_assert_int_eq(names_add_dns(&permitted, permitted_dns[i]), 0);
	for (i = 0; i < sizeof(permitted_ip) / sizeof(permitted_ip[0]); i++)
		add_ip(&permitted, permitted_ip[i]);

	root_key = new_key(KEYSTORE_ECDSA_P256);
	ca_key = new_key(KEYSTORE_ECDSA_P256);
	leaf_key = new_key(KEYSTORE_ECDSA_P256);
	ca_pub = pub_of(ca_key);
	leaf_pub = pub_of(leaf_key);

	random_serial(root_serial);
	memset(&p, 0, sizeof(p));
	p.cn = "lanca root CA (gw.local)";
	p.org = "lanca test";
	p.permitted = &permitted;
	p.pathlen = 1;
	p.not_before = now - 3600;
	p.not_after = now + 20 * 365 * (time_t)DAY;
	p.serial = root_serial;
	if (x509_make_root(&p, root_key, &root, &e) != 0) {
		fprintf(stderr, "make_root: %s\n", e.msg);
		abort();
	}

	random_serial(ca_serial);
	/* A CN GnuTLS will check as a DNS name against the root's constraints. */
	p.cn = "issuing-ca.gw.local";
	p.pathlen = 0;
	p.not_after = now + 5 * 365 * (time_t)DAY;
	p.serial = ca_serial;
	if (x509_make_ca(&p, ca_pub, root, root_key, &ca, &e) != 0) {
		fprintf(stderr, "make_ca: %s\n", e.msg);
		abort();
	}
	chain[0] = ca;
	chain[1] = root;
}

static void
ca_teardown(void)
{
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_crt_deinit(root);
	gnutls_pubkey_deinit(leaf_pub);
	gnutls_pubkey_deinit(ca_pub);
	gnutls_privkey_deinit(leaf_key);
	gnutls_privkey_deinit(ca_key);
	gnutls_privkey_deinit(root_key);
	names_free(&permitted);
}

/* A leaf request: CN dev1, 90 days, the shared leaf key; sans filled by
 * the caller (owned by the caller too). */
static void
leaf_params(struct x509_leaf_params *lp, struct names *sans, unsigned char *serial)
{
	random_serial(serial);
	memset(lp, 0, sizeof(*lp));
	lp->pubkey = leaf_pub;
	lp->cn = "dev1";
	lp->sans = sans;
	lp->not_before = now - 300;
	lp->not_after = now + 90 * (time_t)DAY;
	lp->serial = serial;
	lp->crl_url = "http://gw.local/crl";
}

static gnutls_x509_crt_t
import_der(const gnutls_datum_t *der)
{
	gnutls_x509_crt_t c = NULL;
	struct lerr e;

	ck_assert_int_eq(x509_import(der->data, der->size, &c, &e), 0);
	return c;
}

/* Full path validation the way a GnuTLS client does it, with the root as
 * the only anchor. Returns the verification status (0 = trusted). */
static unsigned
trust_verify(gnutls_x509_crt_t leaf, const char *host)
{
	gnutls_x509_trust_list_t tl;
	gnutls_x509_crt_t list[2];
	gnutls_typed_vdata_st vd[2];
	gnutls_x509_crt_t anchor = NULL;
	gnutls_datum_t d;
	unsigned status = 0xffffffffu, nvd = 0;
	struct lerr e;

	/* The trust list takes ownership of the anchor: give it a copy. */
	ck_assert_int_eq(x509_export_der(root, &d), 0);
	ck_assert_int_eq(x509_import(d.data, d.size, &anchor, &e), 0);
	gnutls_free(d.data);
	ck_assert_int_eq(gnutls_x509_trust_list_init(&tl, 0), 0);
	ck_assert_int_eq(gnutls_x509_trust_list_add_cas(tl, &anchor, 1, 0), 1);
	list[0] = leaf;
	list[1] = ca;
	memset(vd, 0, sizeof(vd));
	vd[nvd].type = GNUTLS_DT_KEY_PURPOSE_OID;
	vd[nvd++].data = (void *)GNUTLS_KP_TLS_WWW_SERVER;
	if (host != NULL) {
		vd[nvd].type = GNUTLS_DT_DNS_HOSTNAME;
		vd[nvd++].data = (void *)host;
	}
	ck_assert_int_eq(gnutls_x509_trust_list_verify_crt2(tl, list, 2, vd, nvd, 0,
							     &status, NULL), 0);
	gnutls_x509_trust_list_deinit(tl, 1);
	return status;
}

START_TEST(test_root_extensions)
{
	gnutls_x509_name_constraints_t nc;
	gnutls_datum_t sdn, idn, name;
	unsigned critical = 0, ca_flag = 0, usage = 0, type, status = 1, i;
	unsigned char serial[32], ski[64], mask[16];
	size_t serial_len = sizeof(serial), ski_len = sizeof(ski);
	char subj[256];
	int pathlen = -1;
	struct ipnet want;

	ck_assert_int_eq(gnutls_x509_crt_get_version(root), 3);
	ck_assert_int_eq(gnutls_x509_crt_get_serial(root, serial, &serial_len), 0);
	ck_assert_uint_eq(serial_len, X509_SERIAL_LEN);
	ck_assert_mem_eq(serial, root_serial, X509_SERIAL_LEN);

	ck_assert_int_eq(x509_subject(root, subj, sizeof(subj)), 0);
	ck_assert_str_eq(subj, "CN=lanca root CA (gw.local),O=lanca test");
	ck_assert_int_eq(gnutls_x509_crt_get_raw_dn(root, &sdn), 0);
	ck_assert_int_eq(gnutls_x509_crt_get_raw_issuer_dn(root, &idn), 0);
	ck_assert_uint_eq(sdn.size, idn.size);
	ck_assert_mem_eq(sdn.data, idn.data, sdn.size);
	gnutls_free(sdn.data);
	gnutls_free(idn.data);

	ck_assert_int_eq(gnutls_x509_crt_get_activation_time(root), now - 3600);
	ck_assert_int_eq(gnutls_x509_crt_get_expiration_time(root),
			 now + 20 * 365 * (time_t)DAY);

	ck_assert_int_eq(gnutls_x509_crt_get_basic_constraints(root, &critical, &ca_flag,
								 &pathlen), 1);
	ck_assert_uint_eq(critical, 1);
	ck_assert_uint_eq(ca_flag, 1);
	ck_assert_int_eq(pathlen, 1);

	ck_assert_int_ge(gnutls_x509_crt_get_key_usage(root, &usage, &critical), 0);
	ck_assert_uint_eq(critical, 1);
	ck_assert_uint_eq(usage, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);

	ck_assert_int_eq(gnutls_x509_crt_get_subject_key_id(root, ski, &ski_len, &critical), 0);
	ck_assert_uint_eq(critical, 0);
	ck_assert_uint_gt(ski_len, 0);

	/* Exactly the configured subtrees, in order, masks per RFC 5280. */
	ck_assert_int_eq(gnutls_x509_name_constraints_init(&nc), 0);
	critical = 0;
	ck_assert_int_eq(gnutls_x509_crt_get_name_constraints(root, nc, 0, &critical), 0);
	ck_assert_uint_eq(critical, 1);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(gnutls_x509_name_constraints_get_permitted(nc, i, &type, &name), 0);
		ck_assert_uint_eq(type, GNUTLS_SAN_DNSNAME);
		ck_assert_uint_eq(name.size, strlen(permitted_dns[i]));
		ck_assert_mem_eq(name.data, permitted_dns[i], name.size);
	}
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(gnutls_x509_name_constraints_get_permitted(nc, 3 + i, &type,
									    &name), 0);
		ck_assert_uint_eq(type, GNUTLS_SAN_IPADDRESS);
		ck_assert_int_eq(ipnet_parse(permitted_ip[i], &want), 0);
		ck_assert_uint_eq(name.size, 2 * want.len);
		ck_assert_mem_eq(name.data, want.addr, want.len);
		memset(mask, 0, sizeof(mask));
		memset(mask, 0xff, want.prefix / 8);
		if (want.prefix % 8)
			mask[want.prefix / 8] = (unsigned char)(0xff00u >> (want.prefix % 8));
		ck_assert_mem_eq(name.data + want.len, mask, want.len);
	}
	ck_assert_int_eq(gnutls_x509_name_constraints_get_permitted(nc, 9, &type, &name),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	ck_assert_int_eq(gnutls_x509_name_constraints_get_excluded(nc, 0, &type, &name),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	gnutls_x509_name_constraints_deinit(nc);

	/* Self-signed with ECDSA-SHA256, and the signature verifies. */
	ck_assert_int_eq(gnutls_x509_crt_get_signature_algorithm(root), GNUTLS_SIGN_ECDSA_SHA256);
	ck_assert_int_eq(gnutls_x509_crt_verify(root, &root, 1, 0, &status), 0);
	ck_assert_uint_eq(status, 0);
}
END_TEST

START_TEST(test_issuing_ca)
{
	unsigned char aki[64], ski[64];
	size_t aki_len = sizeof(aki), ski_len = sizeof(ski);
	unsigned critical = 0, ca_flag = 0, usage = 0, status = 1;
	gnutls_x509_name_constraints_t nc;
	gnutls_x509_crt_t list[1], impostor = NULL;
	gnutls_privkey_t k;
	struct x509_ca_params p;
	unsigned char serial[X509_SERIAL_LEN];
	struct lerr e;
	char subj[256];
	int pathlen = -1;

	ck_assert_int_eq(gnutls_x509_crt_get_basic_constraints(ca, &critical, &ca_flag,
								 &pathlen), 1);
	ck_assert_uint_eq(critical, 1);
	ck_assert_int_eq(pathlen, 0);
	ck_assert_int_ge(gnutls_x509_crt_get_key_usage(ca, &usage, &critical), 0);
	ck_assert_uint_eq(critical, 1);
	ck_assert_uint_eq(usage, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);

	/* AKI is the root's SKI. */
	ck_assert_int_eq(gnutls_x509_crt_get_authority_key_id(ca, aki, &aki_len, &critical), 0);
	ck_assert_int_eq(gnutls_x509_crt_get_subject_key_id(root, ski, &ski_len, &critical), 0);
	ck_assert_uint_eq(aki_len, ski_len);
	ck_assert_mem_eq(aki, ski, ski_len);

	ck_assert_int_eq(gnutls_x509_name_constraints_init(&nc), 0);
	ck_assert_int_eq(gnutls_x509_crt_get_name_constraints(ca, nc, 0, &critical), 0);
	ck_assert_uint_eq(critical, 1);
	gnutls_x509_name_constraints_deinit(nc);

	ck_assert_int_eq(x509_subject(ca, subj, sizeof(subj)), 0);
	ck_assert_str_eq(subj, "CN=issuing-ca.gw.local,O=lanca test");
	ck_assert_int_eq(gnutls_x509_crt_check_issuer(ca, root), 1);

	/* Verifies against the root as the only trusted CA. */
	list[0] = ca;
	ck_assert_int_eq(gnutls_x509_crt_list_verify(list, 1, &root, 1, NULL, 0, 0, &status), 0);
	ck_assert_uint_eq(status, 0);
	/* ... and not against an impostor root with the same name. */
	k = new_key(KEYSTORE_ECDSA_P256);
	random_serial(serial);
	memset(&p, 0, sizeof(p));
	p.cn = "lanca root CA (gw.local)";
	p.org = "lanca test";
	p.permitted = &permitted;
	p.pathlen = 1;
	p.not_before = now - 3600;
	p.not_after = now + 365 * (time_t)DAY;
	p.serial = serial;
	ck_assert_int_eq(x509_make_root(&p, k, &impostor, &e), 0);
	ck_assert_int_eq(gnutls_x509_crt_list_verify(list, 1, &impostor, 1, NULL, 0, 0,
						     &status), 0);
	ck_assert_uint_ne(status, 0);
	gnutls_x509_crt_deinit(impostor);
	gnutls_privkey_deinit(k);
}
END_TEST

/* A P-384 issuer signs with SHA-384. */
/* A second root (no CN, as lanca names rollover roots) and the cross-
 * certificates between it and the fixture's root (which has a CN). */
START_TEST(test_cross_certificates)
{
	struct x509_ca_params p;
	gnutls_privkey_t k2 = new_key(KEYSTORE_ECDSA_P256);
	gnutls_x509_crt_t root2 = NULL, nwo = NULL, own = NULL, iss = NULL;
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	unsigned char serial[X509_SERIAL_LEN], ka[32], kb[32];
	unsigned status = 0;
	struct lerr e;

	random_serial(serial);
	memset(&p, 0, sizeof(p));
	p.org = "lanca test";
	p.ou = "gw Root CA 2";
	p.permitted = &permitted;
	p.pathlen = 2;
	p.not_before = now - 60;
	p.not_after = now + 30 * 365 * (time_t)DAY;
	p.serial = serial;
	ck_assert_msg(x509_make_root(&p, k2, &root2, &e) == 0, "%s", e.msg);

	/* NewWithOld: root2's exact name and key, under the old root, no
	 * longer valid than either root. */
	random_serial(serial);
	ck_assert_msg(x509_make_cross(root2, &permitted, root, root_key, now + 40 * 365 * (time_t)DAY,
				      serial, &nwo, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(gnutls_x509_crt_get_raw_dn(root2, &a), 0);
	ck_assert_int_eq(gnutls_x509_crt_get_raw_dn(nwo, &b), 0);
	ck_assert_uint_eq(a.size, b.size);
	ck_assert(memcmp(a.data, b.data, a.size) == 0);
	gnutls_free(a.data);
	gnutls_free(b.data);
	ck_assert_int_eq(x509_key_id(root2, ka), 0);
	ck_assert_int_eq(x509_key_id(nwo, kb), 0);
	ck_assert(memcmp(ka, kb, 32) == 0);
	ck_assert(gnutls_x509_crt_get_expiration_time(nwo) <= gnutls_x509_crt_get_expiration_time(root));
	ck_assert_int_eq(gnutls_x509_crt_verify(nwo, &root, 1, 0, &status), 0);
	ck_assert_uint_eq(status, 0);
	ck_assert(x509_voucher_status_ok(status));

	/* OldWithNew: the old root has a CN, which GnuTLS reads as a DNS name
	 * under root2's constraints: only that fails, and it is let through;
	 * a bad signature beside it is not. */
	random_serial(serial);
	ck_assert_msg(x509_make_cross(root, &permitted, root2, k2, now + 40 * 365 * (time_t)DAY,
				      serial, &own, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(gnutls_x509_crt_get_raw_dn(root, &a), 0);
	ck_assert_int_eq(gnutls_x509_crt_get_raw_dn(own, &b), 0);
	ck_assert(a.size == b.size && memcmp(a.data, b.data, a.size) == 0);
	gnutls_free(a.data);
	gnutls_free(b.data);
	ck_assert_int_eq(gnutls_x509_crt_verify(own, &root2, 1, 0, &status), 0);
	ck_assert_uint_eq(status, GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE);
	ck_assert(x509_voucher_status_ok(status));
	ck_assert(!x509_voucher_status_ok(status | GNUTLS_CERT_SIGNATURE_FAILURE));
	/* Under the wrong root: not a voucher. */
	ck_assert_int_eq(gnutls_x509_crt_verify(own, &root, 1, 0, &status), 0);
	ck_assert(!x509_voucher_status_ok(status));

	/* The issuing CA under root2 (same name and key: a leaf of it
	 * verifies under either root). */
	random_serial(serial);
	ck_assert_msg(x509_make_cross(ca, &permitted, root2, k2, now + 40 * 365 * (time_t)DAY,
				      serial, &iss, &e) == 0, "%s", e.msg);
	ck_assert(gnutls_x509_crt_check_issuer(iss, root2));
	ck_assert_int_eq(gnutls_x509_crt_verify(iss, &root2, 1, 0, &status), 0);
	ck_assert_uint_eq(status, 0);

	/* Not a CA: refused. */
	{
		struct x509_leaf_params lp;
		struct names sans;
		unsigned char ls[X509_SERIAL_LEN];
		gnutls_datum_t der = { NULL, 0 };
		gnutls_x509_crt_t leaf = NULL, bad = NULL;

		names_init(&sans);
		ck_assert_int_eq(names_add_dns(&sans, "dev1.local"), 0);
		leaf_params(&lp, &sans, ls);
		ck_assert_msg(x509_make_leaf(&lp, ca, ca_key, &der, &e) == 0, "%s", e.msg);
		ck_assert_int_eq(x509_import(der.data, der.size, &leaf, &e), 0);
		random_serial(serial);
		ck_assert_int_eq(x509_make_cross(leaf, &permitted, root2, k2, now + DAY, serial, &bad,
						 &e), -1);
		ck_assert_int_eq(e.code, LERR_INVARIANT);
		gnutls_x509_crt_deinit(leaf);
		gnutls_free(der.data);
		names_free(&sans);
	}
	gnutls_x509_crt_deinit(iss);
	gnutls_x509_crt_deinit(own);
	gnutls_x509_crt_deinit(nwo);
	gnutls_x509_crt_deinit(root2);
	gnutls_privkey_deinit(k2);
}
END_TEST

START_TEST(test_p384_digest)
{
	gnutls_privkey_t k = new_key(KEYSTORE_ECDSA_P384);
	gnutls_x509_crt_t r = NULL;
	struct x509_ca_params p;
	unsigned char serial[X509_SERIAL_LEN];
	unsigned status = 1;
	struct lerr e;

	random_serial(serial);
	memset(&p, 0, sizeof(p));
	p.cn = "p384 root";
	p.permitted = &permitted;
	p.pathlen = 1;
	p.not_before = now;
	p.not_after = now + 365 * (time_t)DAY;
	p.serial = serial;
	ck_assert_int_eq(x509_make_root(&p, k, &r, &e), 0);
	ck_assert_int_eq(gnutls_x509_crt_get_signature_algorithm(r), GNUTLS_SIGN_ECDSA_SHA384);
	ck_assert_int_eq(gnutls_x509_crt_verify(r, &r, 1, 0, &status), 0);
	ck_assert_uint_eq(status, 0);
	gnutls_x509_crt_deinit(r);
	gnutls_privkey_deinit(k);
}
END_TEST

/* CA parameters that must be refused rather than signed. */
START_TEST(test_bad_ca_params)
{
	gnutls_x509_crt_t r = NULL;
	struct x509_ca_params p;
	struct names empty;
	unsigned char serial[X509_SERIAL_LEN];
	struct lerr e;

	names_init(&empty);
	random_serial(serial);
	memset(&p, 0, sizeof(p));
	p.cn = "bad";
	p.permitted = &empty;
	p.pathlen = 1;
	p.not_before = now;
	p.not_after = now + DAY;
	p.serial = serial;
	ck_assert_int_eq(x509_make_root(&p, root_key, &r, &e), -1);	/* no constraints */
	ck_assert_ptr_null(r);
	p.permitted = &permitted;
	serial[0] = 0x80;						/* negative */
	ck_assert_int_eq(x509_make_root(&p, root_key, &r, &e), -1);
	serial[0] = 0x00;						/* not minimal */
	ck_assert_int_eq(x509_make_root(&p, root_key, &r, &e), -1);
	serial[0] = 0x01;
	p.not_after = p.not_before;					/* empty validity */
	ck_assert_int_eq(x509_make_root(&p, root_key, &r, &e), -1);
	p.not_after = now + DAY;
	ck_assert_int_eq(x509_make_root(&p, root_key, &r, &e), 0);
	gnutls_x509_crt_deinit(r);
	r = NULL;

	/* An intermediate whose CN GnuTLS clients would check against the
	 * root's DNS constraints, and reject, is refused at creation. */
	p.cn = "lanca issuing CA (gw.local)";
	p.pathlen = 0;
	lerr_clear(&e);
	ck_assert_int_eq(x509_make_ca(&p, ca_pub, root, root_key, &r, &e), -1);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_ptr_nonnull(strstr(e.msg, "certificate for lanca issuing CA (gw.local) "
				     "(common name, checked as a DNS name) violates"));
	p.cn = "ca2.home.arpa";
	ck_assert_int_eq(x509_make_ca(&p, ca_pub, root, root_key, &r, &e), 0);
	gnutls_x509_crt_deinit(r);
}
END_TEST

START_TEST(test_good_leaf)
{
	struct x509_leaf_params lp;
	struct names sans, back;
	unsigned char serial[X509_SERIAL_LEN], ski[64], aki[64], kid[64], buf[256];
	size_t ski_len = sizeof(ski), aki_len = sizeof(aki), kid_len = sizeof(kid), len;
	unsigned critical = 0, ca_flag = 1, usage = 0, i, reason, seen = 0;
	gnutls_datum_t der;
	gnutls_x509_crt_t leaf;
	char oid[128], subj[128], text[64];
	int pathlen, ret;
	struct lerr e;

	names_init(&sans);
	ck_assert_int_eq(names_add_dns(&sans, "dev1.local"), 0);
	add_ip(&sans, "192.168.1.10");
	leaf_params(&lp, &sans, serial);
	ck_assert_int_eq(x509_make_leaf(&lp, ca, ca_key, &der, &e), 0);
	lerr_clear(&e);
	if (x509_check_leaf(&der, &lp, chain, 2, &e) != 0)
		ck_abort_msg("check_leaf refused a good leaf: %s", e.msg);

	leaf = import_der(&der);
	ck_assert_uint_eq(trust_verify(leaf, "dev1.local"), 0);
	ck_assert_uint_ne(trust_verify(leaf, "dev2.local"), 0);
	ck_assert_int_eq(gnutls_x509_crt_check_ip(leaf, (const unsigned char *)"\xc0\xa8\x01\x0a",
						  4, 0), 1);

	ck_assert_int_eq(gnutls_x509_crt_get_version(leaf), 3);
	ck_assert_int_eq(x509_subject(leaf, subj, sizeof(subj)), 0);
	ck_assert_str_eq(subj, "CN=dev1");
	ck_assert_int_eq(gnutls_x509_crt_get_activation_time(leaf), lp.not_before);
	ck_assert_int_eq(gnutls_x509_crt_get_expiration_time(leaf), lp.not_after);
	ck_assert_int_eq(gnutls_x509_crt_get_signature_algorithm(leaf), GNUTLS_SIGN_ECDSA_SHA256);

	/* CA:FALSE, critical. */
	ck_assert_int_eq(gnutls_x509_crt_get_basic_constraints(leaf, &critical, &ca_flag,
								 &pathlen), 0);
	ck_assert_uint_eq(critical, 1);
	ck_assert_uint_eq(ca_flag, 0);
	/* digitalSignature only for an EC key, critical. */
	ck_assert_int_ge(gnutls_x509_crt_get_key_usage(leaf, &usage, &critical), 0);
	ck_assert_uint_eq(critical, 1);
	ck_assert_uint_eq(usage, GNUTLS_KEY_DIGITAL_SIGNATURE);
	/* EKU: exactly serverAuth then clientAuth, not critical. */
	len = sizeof(oid);
	ck_assert_int_eq(gnutls_x509_crt_get_key_purpose_oid(leaf, 0, oid, &len, &critical), 0);
	ck_assert_str_eq(oid, GNUTLS_KP_TLS_WWW_SERVER);
	ck_assert_uint_eq(critical, 0);
	len = sizeof(oid);
	ck_assert_int_eq(gnutls_x509_crt_get_key_purpose_oid(leaf, 1, oid, &len, &critical), 0);
	ck_assert_str_eq(oid, GNUTLS_KP_TLS_WWW_CLIENT);
	len = sizeof(oid);
	ck_assert_int_eq(gnutls_x509_crt_get_key_purpose_oid(leaf, 2, oid, &len, &critical),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);

	/* SANs read back exactly. */
	names_init(&back);
	ck_assert_int_eq(x509_sans(leaf, &back), 0);
	ck_assert_uint_eq(back.ndns, 1);
	ck_assert_str_eq(back.dns[0], "dev1.local");
	ck_assert_uint_eq(back.nip, 1);
	ck_assert_uint_eq(back.ip[0].len, 4);
	ck_assert_uint_eq(back.ip[0].prefix, 32);
	ck_assert_int_eq(ipnet_format(&back.ip[0], text, sizeof(text)), 0);
	ck_assert_str_eq(text, "192.168.1.10");
	names_free(&back);

	/* SKI: the leftmost 160 bits of the SHA-256 key id of the subject
	 * key, AKI = the issuing CA's SKI. */
	ck_assert_int_eq(gnutls_x509_crt_get_subject_key_id(leaf, ski, &ski_len, &critical), 0);
	ck_assert_uint_eq(critical, 0);
	ck_assert_int_eq(gnutls_pubkey_get_key_id(leaf_pub, GNUTLS_KEYID_USE_SHA256, kid, &kid_len), 0);
	ck_assert_uint_eq(kid_len, X509_KEY_ID_LEN);
	ck_assert_uint_eq(ski_len, X509_SKI_LEN);
	ck_assert_mem_eq(ski, kid, X509_SKI_LEN);
	ck_assert_int_eq(gnutls_x509_crt_get_authority_key_id(leaf, aki, &aki_len, &critical), 0);
	ski_len = sizeof(ski);
	ck_assert_int_eq(gnutls_x509_crt_get_subject_key_id(ca, ski, &ski_len, &critical), 0);
	ck_assert_uint_eq(aki_len, ski_len);
	ck_assert_mem_eq(aki, ski, ski_len);

	/* CRL distribution point. */
	len = sizeof(buf);
	ret = gnutls_x509_crt_get_crl_dist_points(leaf, 0, buf, &len, &reason, &critical);
	ck_assert_int_eq(ret, GNUTLS_SAN_URI);
	ck_assert_uint_eq(len, strlen(lp.crl_url));
	ck_assert_mem_eq(buf, lp.crl_url, len);

	/* No extension beyond the ones we set, each with the right criticality. */
	for (i = 0;; i++) {
		len = sizeof(oid);
		ret = gnutls_x509_crt_get_extension_info(leaf, i, oid, &len, &critical);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		ck_assert_int_eq(ret, 0);
		if (strcmp(oid, "2.5.29.19") == 0 && critical)
			seen |= 1;
		else if (strcmp(oid, "2.5.29.15") == 0 && critical)
			seen |= 2;
		else if (strcmp(oid, "2.5.29.37") == 0 && !critical)
			seen |= 4;
		else if (strcmp(oid, "2.5.29.17") == 0 && !critical)
			seen |= 8;
		else if (strcmp(oid, "2.5.29.14") == 0 && !critical)
			seen |= 16;
		else if (strcmp(oid, "2.5.29.35") == 0 && !critical)
			seen |= 32;
		else if (strcmp(oid, "2.5.29.31") == 0 && !critical)
			seen |= 64;
		else
			ck_abort_msg("unexpected extension %s (critical %u)", oid, critical);
	}
	ck_assert_uint_eq(i, 7);
	ck_assert_uint_eq(seen, 127);

	gnutls_x509_crt_deinit(leaf);
	gnutls_free(der.data);
	names_free(&sans);
}
END_TEST

/* No CRL URL: no CRL DP extension. RSA subject key: keyEncipherment. */
START_TEST(test_rsa_leaf_no_crl)
{
	gnutls_x509_privkey_t x;
	gnutls_privkey_t k;
	gnutls_pubkey_t pub;
	struct x509_leaf_params lp;
	struct names sans;
	unsigned char serial[X509_SERIAL_LEN], buf[256];
	size_t len = sizeof(buf);
	unsigned usage = 0, critical = 0, reason;
	gnutls_datum_t der;
	gnutls_x509_crt_t leaf;
	struct lerr e;

	ck_assert_int_eq(gnutls_x509_privkey_init(&x), 0);
	ck_assert_int_eq(gnutls_x509_privkey_generate2(x, GNUTLS_PK_RSA, 2048, 0, NULL, 0), 0);
	ck_assert_int_eq(gnutls_privkey_init(&k), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(k, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), 0);
	pub = pub_of(k);

	names_init(&sans);
	ck_assert_int_eq(names_add_dns(&sans, "nas.home.arpa"), 0);
	add_ip(&sans, "fd00::10");
	leaf_params(&lp, &sans, serial);
	lp.pubkey = pub;
	lp.crl_url = NULL;
	ck_assert_int_eq(x509_make_leaf(&lp, ca, ca_key, &der, &e), 0);
	ck_assert_int_eq(x509_check_leaf(&der, &lp, chain, 2, &e), 0);
	leaf = import_der(&der);
	ck_assert_uint_eq(trust_verify(leaf, "nas.home.arpa"), 0);
	ck_assert_int_ge(gnutls_x509_crt_get_key_usage(leaf, &usage, &critical), 0);
	ck_assert_uint_eq(usage, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT);
	ck_assert_int_eq(gnutls_x509_crt_get_crl_dist_points(leaf, 0, buf, &len, &reason,
							     &critical),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);

	gnutls_x509_crt_deinit(leaf);
	gnutls_free(der.data);
	names_free(&sans);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(k);
}
END_TEST

/* Makes a leaf with the given SANs (bypassing policy), asserts GnuTLS
 * signs it, and returns x509_check_leaf's verdict with e. */
static int
check_with_sans(const char *const *dns, size_t ndns, const char *const *ips, size_t nip,
		struct lerr *e)
{
	struct x509_leaf_params lp;
	struct names sans;
	unsigned char serial[X509_SERIAL_LEN];
	gnutls_datum_t der;
	size_t i;
	int rc;

	names_init(&sans);
	for (i = 0; i < ndns; i++)
		ck_assert_int_eq(names_add_dns(&sans, dns[i]), 0);
	for (i = 0; i < nip; i++)
		add_ip(&sans, ips[i]);
	leaf_params(&lp, &sans, serial);
	ck_assert_int_eq(x509_make_leaf(&lp, ca, ca_key, &der, e), 0);
	lerr_clear(e);
	rc = x509_check_leaf(&der, &lp, chain, 2, e);
	gnutls_free(der.data);
	names_free(&sans);
	return rc;
}

START_TEST(test_outside_constraints_refused)
{
	static const char *const bad_dns[] = { "www.example.com" };
	static const char *const mixed_dns[] = { "dev1.local", "evil.com" };
	static const char *const suffix_dns[] = { "evillocal" };
	static const char *const bad_ip[] = { "8.8.8.8" };
	static const char *const good_ip[] = { "192.168.1.10" };
	static const char *const bad_ip6[] = { "2001:db8::1" };
	static const char *const good_dns[] = { "dev1.local" };
	struct lerr e;

	ck_assert_int_eq(check_with_sans(bad_dns, 1, NULL, 0, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_str_eq(e.msg, "certificate for www.example.com violates the name constraints "
				"of CN=issuing-ca.gw.local,O=lanca test");

	ck_assert_int_eq(check_with_sans(mixed_dns, 2, good_ip, 1, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_ptr_nonnull(strstr(e.msg, "certificate for evil.com violates"));

	ck_assert_int_eq(check_with_sans(suffix_dns, 1, NULL, 0, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "evillocal"));

	ck_assert_int_eq(check_with_sans(good_dns, 1, bad_ip, 1, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_ptr_nonnull(strstr(e.msg, "certificate for 8.8.8.8 violates the name constraints"));

	ck_assert_int_eq(check_with_sans(good_dns, 1, bad_ip6, 1, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "2001:db8::1"));

	/* Sanity: the same builder with good names passes. */
	ck_assert_int_eq(check_with_sans(good_dns, 1, good_ip, 1, &e), 0);
}
END_TEST

/* What x509_check_leaf guards against really happens: GnuTLS signs a leaf
 * for a public name, and clients would reject it. */
START_TEST(test_gnutls_signs_anything)
{
	struct x509_leaf_params lp;
	struct names sans;
	unsigned char serial[X509_SERIAL_LEN];
	gnutls_datum_t der;
	gnutls_x509_crt_t leaf;
	struct lerr e;

	names_init(&sans);
	ck_assert_int_eq(names_add_dns(&sans, "www.example.com"), 0);
	leaf_params(&lp, &sans, serial);
	ck_assert_int_eq(x509_make_leaf(&lp, ca, ca_key, &der, &e), 0);
	leaf = import_der(&der);
	ck_assert(trust_verify(leaf, "www.example.com") & GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE);
	gnutls_x509_crt_deinit(leaf);
	gnutls_free(der.data);
	names_free(&sans);
}
END_TEST

/* With no DNS SAN, GnuTLS checks the CN of a serverAuth certificate as a
 * DNS name against the constraints, so a bare device id as CN with only
 * IP SANs is refused; a CN inside the constraints passes. */
START_TEST(test_cn_checked_without_dns_san)
{
	static const char *const good_ip[] = { "192.168.1.10" };
	struct x509_leaf_params lp;
	struct names sans;
	unsigned char serial[X509_SERIAL_LEN];
	gnutls_datum_t der;
	struct lerr e;

	ck_assert_int_eq(check_with_sans(NULL, 0, good_ip, 1, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_ptr_nonnull(strstr(e.msg, "certificate for dev1 (common name"));

	names_init(&sans);
	add_ip(&sans, "10.1.2.3");
	leaf_params(&lp, &sans, serial);
	lp.cn = "sensor.local";
	ck_assert_int_eq(x509_make_leaf(&lp, ca, ca_key, &der, &e), 0);
	ck_assert_int_eq(x509_check_leaf(&der, &lp, chain, 2, &e), 0);
	gnutls_free(der.data);
	names_free(&sans);
}
END_TEST

/* Builds a good leaf from lp, then checks it against want. */
static int
check_params(const struct x509_leaf_params *lp, const struct x509_leaf_params *want,
	     gnutls_x509_crt_t issuer, gnutls_privkey_t issuer_key,
	     gnutls_x509_crt_t *ch, size_t nch, struct lerr *e)
{
	gnutls_datum_t der;
	int rc;

	ck_assert_int_eq(x509_make_leaf(lp, issuer, issuer_key, &der, e), 0);
	lerr_clear(e);
	rc = x509_check_leaf(&der, want, ch, nch, e);
	gnutls_free(der.data);
	return rc;
}

START_TEST(test_invariants_refused)
{
	struct x509_leaf_params lp, want;
	struct names sans;
	unsigned char serial[X509_SERIAL_LEN], other[X509_SERIAL_LEN];
	gnutls_x509_crt_t wrong_chain[2] = { root, ca };
	gnutls_datum_t junk = { (unsigned char *)"\x30\x03\x02\x01\x01", 5 };
	gnutls_datum_t der = { NULL, 0 };
	struct x509_issuer *is = NULL;
	struct lerr e;

	names_init(&sans);
	ck_assert_int_eq(names_add_dns(&sans, "dev1.local"), 0);
	leaf_params(&lp, &sans, serial);

	/* Validity running past the issuing CA (GnuTLS signs it anyway). */
	lp.not_after = gnutls_x509_crt_get_expiration_time(ca) + 1;
	ck_assert_int_eq(check_params(&lp, &lp, ca, ca_key, chain, 2, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_ptr_nonnull(strstr(e.msg, "validity is outside that of CN=issuing-ca.gw.local"));
	lp.not_after = gnutls_x509_crt_get_expiration_time(ca);
	ck_assert_int_eq(check_params(&lp, &lp, ca, ca_key, chain, 2, &e), 0);
	/* ... or starting before it. */
	leaf_params(&lp, &sans, serial);
	lp.not_before = gnutls_x509_crt_get_activation_time(ca) - 1;
	ck_assert_int_eq(check_params(&lp, &lp, ca, ca_key, chain, 2, &e), -1);

	/* Wrong expected serial. */
	leaf_params(&lp, &sans, serial);
	want = lp;
	memcpy(other, serial, sizeof(other));
	other[X509_SERIAL_LEN - 1] ^= 1;
	want.serial = other;
	ck_assert_int_eq(check_params(&lp, &want, ca, ca_key, chain, 2, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_ptr_nonnull(strstr(e.msg, "serial"));

	/* Names other than those policy allowed: a name inside the
	 * constraints (localhost is permitted to the gateway) but not asked
	 * for must still stop the certificate. */
	{
		struct names more;

		names_init(&more);
		ck_assert_int_eq(names_add_dns(&more, "dev1.local"), 0);
		ck_assert_int_eq(names_add_dns(&more, "localhost"), 0);
		want = lp;
		want.sans = &more;
		ck_assert_int_eq(check_params(&lp, &want, ca, ca_key, chain, 2, &e), -1);
		ck_assert_ptr_nonnull(strstr(e.msg, "names differ"));
		lp.sans = &more;
		want.sans = &sans;
		ck_assert_int_eq(check_params(&lp, &want, ca, ca_key, chain, 2, &e), -1);
		ck_assert_ptr_nonnull(strstr(e.msg, "names differ"));
		lp.sans = &sans;
		names_free(&more);
	}

	/* Wrong expected dates. */
	want = lp;
	want.not_after = lp.not_after + 1;
	ck_assert_int_eq(check_params(&lp, &want, ca, ca_key, chain, 2, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "validity"));

	/* Certificate for another key than the one approved. */
	want = lp;
	want.pubkey = ca_pub;
	ck_assert_int_eq(check_params(&lp, &want, ca, ca_key, chain, 2, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "requested key"));

	/* Issued by the root while the chain says the issuing CA. */
	ck_assert_int_eq(check_params(&lp, &lp, root, root_key, chain, 2, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "issuer is not"));

	/* Right issuer name, wrong key: the signature would not verify, and
	 * no leaf is made (the key is matched with the issuer's certificate
	 * before anything is signed; check_leaf does not verify signatures). */
	ck_assert_int_eq(x509_make_leaf(&lp, ca, root_key, &der, &e), -1);
	ck_assert_ptr_null(der.data);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_ptr_nonnull(strstr(e.msg, "signing key does not match"));
	ck_assert_int_eq(x509_issuer_new(chain, 2, root_key, NULL, &is, &e), -1);
	ck_assert_ptr_null(is);
	ck_assert_int_eq(e.code, LERR_INVARIANT);

	/* Chain in the wrong order. */
	ck_assert_int_eq(check_params(&lp, &lp, ca, ca_key, wrong_chain, 2, &e), -1);

	/* Not a certificate at all; no chain. */
	ck_assert_int_eq(x509_check_leaf(&junk, &lp, chain, 2, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_int_eq(x509_check_leaf(&junk, &lp, chain, 0, &e), -1);

	names_free(&sans);
}
END_TEST

/* A CA certificate is refused as a leaf (CA:TRUE). */
START_TEST(test_ca_as_leaf_refused)
{
	struct x509_leaf_params lp;
	struct names sans;
	unsigned char serial[X509_SERIAL_LEN];
	gnutls_datum_t der;
	struct lerr e;

	names_init(&sans);
	leaf_params(&lp, &sans, serial);
	memcpy(serial, ca_serial, X509_SERIAL_LEN);
	lp.pubkey = ca_pub;
	lp.not_before = gnutls_x509_crt_get_activation_time(ca);
	lp.not_after = gnutls_x509_crt_get_expiration_time(ca);
	ck_assert_int_eq(x509_export_der(ca, &der), 0);
	ck_assert_int_eq(x509_check_leaf(&der, &lp, &root, 1, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "CA:FALSE"));
	gnutls_free(der.data);
	names_free(&sans);
}
END_TEST

START_TEST(test_helpers)
{
	gnutls_datum_t der, pem;
	gnutls_x509_crt_t c = NULL;
	gnutls_pubkey_t pub;
	unsigned char md[32], kid[32], want[32];
	char hex[65], colon[96], serial[64], expect[64];
	gnutls_datum_t spki;
	size_t i;
	struct lerr e;

	ck_assert_int_eq(x509_export_der(root, &der), 0);
	ck_assert_int_eq(gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, md), 0);
	ck_assert_int_eq(x509_fingerprint(root, hex), 0);
	ck_assert_uint_eq(strlen(hex), 64);
	ck_assert_int_eq(x509_fingerprint_colon(root, colon), 0);
	ck_assert_uint_eq(strlen(colon), 95);
	for (i = 0; i < 32; i++) {
		char two[3];

		snprintf(two, sizeof(two), "%02x", md[i]);
		ck_assert_mem_eq(hex + 2 * i, two, 2);
		snprintf(two, sizeof(two), "%02X", md[i]);
		ck_assert_mem_eq(colon + 3 * i, two, 2);
		if (i < 31)
			ck_assert_int_eq(colon[3 * i + 2], ':');
	}

	/* Import: DER, PEM (with leading whitespace), garbage. */
	ck_assert_int_eq(x509_import(der.data, der.size, &c, &e), 0);
	ck_assert(gnutls_x509_crt_equals(c, root));
	gnutls_x509_crt_deinit(c);
	ck_assert_int_eq(x509_export_pem(root, &pem), 0);
	ck_assert_ptr_nonnull(strstr((char *)pem.data, "-----BEGIN CERTIFICATE-----"));
	ck_assert_int_eq(x509_import(pem.data, pem.size, &c, &e), 0);
	ck_assert(gnutls_x509_crt_equals(c, root));
	gnutls_x509_crt_deinit(c);
	ck_assert_int_eq(x509_import((const unsigned char *)"hello", 5, &c, &e), -1);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(x509_import(der.data, der.size - 1, &c, &e), -1);
	gnutls_free(pem.data);
	gnutls_free(der.data);

	/* Serial as hex. */
	ck_assert_int_eq(x509_serial_hex(root, serial, sizeof(serial)), 0);
	for (i = 0; i < X509_SERIAL_LEN; i++)
		snprintf(expect + 2 * i, 3, "%02x", root_serial[i]);
	ck_assert_str_eq(serial, expect);
	ck_assert_int_eq(x509_serial_hex(root, serial, 2 * X509_SERIAL_LEN), -1);

	/* Key id: SHA-256 of the DER SubjectPublicKeyInfo. */
	ck_assert_int_eq(x509_key_id(ca, kid), 0);
	pub = pub_of(ca_key);
	ck_assert_int_eq(gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki), 0);
	ck_assert_int_eq(gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size, want), 0);
	ck_assert_mem_eq(kid, want, 32);
	gnutls_free(spki.data);
	gnutls_pubkey_deinit(pub);

	/* Subject too long for the buffer. */
	ck_assert_int_eq(x509_subject(root, hex, 10), -1);
}
END_TEST

/* A prepared issuer makes the same leaf the one-shot builder does, with
 * the extensions in a fixed order and criticality, the SKI taken from the
 * caller's key id, which is the SHA-256 of the DER SPKI and the very key
 * id GnuTLS reports for the certificate's key. */
START_TEST(test_issuer_leaf)
{
	static const char *const want_oid[] = {
		"2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.17", "2.5.29.14", "2.5.29.35",
		"2.5.29.31",
	};
	static const unsigned want_crit[] = { 1, 1, 0, 0, 0, 0, 0 };
	struct x509_issuer *is = NULL;
	struct x509_leaf_params lp;
	struct names sans;
	unsigned char serial[X509_SERIAL_LEN], kid[X509_KEY_ID_LEN], crt_kid[64];
	unsigned char ski[64], aki[64], ca_ski[64], buf[256];
	size_t crt_kid_len = sizeof(crt_kid), ski_len = sizeof(ski), aki_len = sizeof(aki);
	size_t ca_ski_len = sizeof(ca_ski), len;
	unsigned critical, reason, i;
	gnutls_datum_t der, spki;
	gnutls_x509_crt_t leaf;
	char oid[128];
	struct lerr e;
	int ret;

	ck_assert_int_eq(x509_issuer_new(chain, 2, ca_key, "http://gw.local/crl", &is, &e), 0);
	names_init(&sans);
	ck_assert_int_eq(names_add_dns(&sans, "dev1.local"), 0);
	add_ip(&sans, "10.0.0.7");
	leaf_params(&lp, &sans, serial);
	ck_assert_int_eq(gnutls_pubkey_export2(leaf_pub, GNUTLS_X509_FMT_DER, &spki), 0);
	ck_assert_int_eq(gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size, kid), 0);
	gnutls_free(spki.data);
	lp.key_id = kid;
	ck_assert_int_eq(x509_issuer_make_leaf(is, &lp, &der, &e), 0);
	if (x509_issuer_check_leaf(is, &der, &lp, &e) != 0)
		ck_abort_msg("issuer check refused a good leaf: %s", e.msg);
	leaf = import_der(&der);
	ck_assert_uint_eq(trust_verify(leaf, "dev1.local"), 0);

	/* The SHA-256 key id csr.c computes is what GnuTLS reports. */
	ck_assert_int_eq(gnutls_x509_crt_get_key_id(leaf, GNUTLS_KEYID_USE_SHA256, crt_kid,
						    &crt_kid_len), 0);
	ck_assert_uint_eq(crt_kid_len, X509_KEY_ID_LEN);
	ck_assert_mem_eq(crt_kid, kid, X509_KEY_ID_LEN);
	ck_assert_int_eq(gnutls_x509_crt_get_subject_key_id(leaf, ski, &ski_len, &critical), 0);
	ck_assert_uint_eq(ski_len, X509_SKI_LEN);
	ck_assert_mem_eq(ski, kid, X509_SKI_LEN);
	ck_assert_int_eq(gnutls_x509_crt_get_authority_key_id(leaf, aki, &aki_len, &critical), 0);
	ck_assert_int_eq(gnutls_x509_crt_get_subject_key_id(ca, ca_ski, &ca_ski_len, &critical), 0);
	ck_assert_uint_eq(aki_len, ca_ski_len);
	ck_assert_mem_eq(aki, ca_ski, ca_ski_len);
	len = sizeof(buf);
	ck_assert_int_eq(gnutls_x509_crt_get_crl_dist_points(leaf, 0, buf, &len, &reason, &critical),
			 GNUTLS_SAN_URI);
	ck_assert_uint_eq(len, strlen("http://gw.local/crl"));
	ck_assert_mem_eq(buf, "http://gw.local/crl", len);

	for (i = 0;; i++) {
		len = sizeof(oid);
		ret = gnutls_x509_crt_get_extension_info(leaf, i, oid, &len, &critical);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		ck_assert_int_eq(ret, 0);
		ck_assert_uint_lt(i, 7);
		ck_assert_str_eq(oid, want_oid[i]);
		ck_assert_uint_eq(critical, want_crit[i]);
	}
	ck_assert_uint_eq(i, 7);
	gnutls_x509_crt_deinit(leaf);
	gnutls_free(der.data);

	/* Another URL than the prepared one is honoured; none means no CRL DP. */
	lp.crl_url = "http://other.local/x.crl";
	ck_assert_int_eq(x509_issuer_make_leaf(is, &lp, &der, &e), 0);
	leaf = import_der(&der);
	len = sizeof(buf);
	ck_assert_int_eq(gnutls_x509_crt_get_crl_dist_points(leaf, 0, buf, &len, &reason, &critical),
			 GNUTLS_SAN_URI);
	ck_assert_uint_eq(len, strlen(lp.crl_url));
	ck_assert_mem_eq(buf, lp.crl_url, len);
	gnutls_x509_crt_deinit(leaf);
	gnutls_free(der.data);
	lp.crl_url = NULL;
	ck_assert_int_eq(x509_issuer_make_leaf(is, &lp, &der, &e), 0);
	leaf = import_der(&der);
	len = sizeof(buf);
	ck_assert_int_eq(gnutls_x509_crt_get_crl_dist_points(leaf, 0, buf, &len, &reason, &critical),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	gnutls_x509_crt_deinit(leaf);

	/* A key id that is not the leaf's: refused as the wrong key. */
	kid[5] ^= 1;
	ck_assert_int_eq(x509_issuer_check_leaf(is, &der, &lp, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_ptr_nonnull(strstr(e.msg, "requested key"));
	kid[5] ^= 1;
	ck_assert_int_eq(x509_issuer_check_leaf(is, &der, &lp, &e), 0);
	gnutls_free(der.data);

	/* A check-only issuer cannot sign. */
	x509_issuer_free(is);
	ck_assert_int_eq(x509_issuer_new(chain, 2, NULL, NULL, &is, &e), 0);
	ck_assert_int_eq(x509_issuer_make_leaf(is, &lp, &der, &e), -1);
	ck_assert_ptr_null(der.data);
	x509_issuer_free(is);
	names_free(&sans);
}
END_TEST

/* Makes a leaf for dns with is (bypassing policy); is's check verdict. */
static int
issuer_check_dns(const struct x509_issuer *is, const char *dns, struct lerr *e)
{
	struct x509_leaf_params lp;
	struct names sans;
	unsigned char serial[X509_SERIAL_LEN];
	gnutls_datum_t der;
	int rc;

	names_init(&sans);
	ck_assert_int_eq(names_add_dns(&sans, dns), 0);
	leaf_params(&lp, &sans, serial);
	ck_assert_int_eq(x509_issuer_make_leaf(is, &lp, &der, e), 0);
	lerr_clear(e);
	rc = x509_issuer_check_leaf(is, &der, &lp, e);
	gnutls_free(der.data);
	names_free(&sans);
	return rc;
}

/* The constraints parsed once still refuse, and every CA's count: an
 * issuing CA whose own constraints are wider than the root's (x509 lets
 * one be made: only its own names are checked) cannot get a name past
 * the root's. */
START_TEST(test_issuer_constraints_every_ca)
{
	struct x509_ca_params p;
	struct names wide;
	struct x509_issuer *is = NULL;
	gnutls_x509_crt_t wide_ca = NULL, ch[2];
	unsigned char s[X509_SERIAL_LEN];
	struct lerr e;

	ck_assert_int_eq(x509_issuer_new(chain, 2, ca_key, NULL, &is, &e), 0);
	ck_assert_int_eq(issuer_check_dns(is, "www.example.com", &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_str_eq(e.msg, "certificate for www.example.com violates the name constraints "
				"of CN=issuing-ca.gw.local,O=lanca test");
	ck_assert_int_eq(issuer_check_dns(is, "dev1.local", &e), 0);
	x509_issuer_free(is);

	names_init(&wide);
	ck_assert_int_eq(names_add_dns(&wide, "local"), 0);
	ck_assert_int_eq(names_add_dns(&wide, "example.com"), 0);
	random_serial(s);
	memset(&p, 0, sizeof(p));
	p.cn = "wide-ca.gw.local";
	p.org = "lanca test";
	p.permitted = &wide;
	p.not_before = now - 3600;
	p.not_after = now + 365 * (time_t)DAY;
	p.serial = s;
	ck_assert_int_eq(x509_make_ca(&p, ca_pub, root, root_key, &wide_ca, &e), 0);
	ch[0] = wide_ca;
	ch[1] = root;
	ck_assert_int_eq(x509_issuer_new(ch, 2, ca_key, NULL, &is, &e), 0);
	ck_assert_int_eq(issuer_check_dns(is, "www.example.com", &e), -1);
	ck_assert_str_eq(e.msg, "certificate for www.example.com violates the name constraints "
				"of CN=lanca root CA (gw.local),O=lanca test");
	ck_assert_int_eq(issuer_check_dns(is, "dev1.local", &e), 0);
	/* With the root left out, only the issuing CA's constraints apply. */
	x509_issuer_free(is);
	ck_assert_int_eq(x509_issuer_new(ch, 1, ca_key, NULL, &is, &e), 0);
	ck_assert_int_eq(issuer_check_dns(is, "www.example.com", &e), 0);
	x509_issuer_free(is);
	gnutls_x509_crt_deinit(wide_ca);
	names_free(&wide);
}
END_TEST

struct issuer_worker {
	const struct x509_issuer *is;
	gnutls_datum_t good, bad;
	const struct x509_leaf_params *good_lp, *bad_lp;
	int failures;
};

static void *
issuer_worker_run(void *arg)
{
	struct issuer_worker *w = arg;
	struct lerr e;
	int i;

	for (i = 0; i < 300; i++) {
		if (x509_issuer_check_leaf(w->is, &w->good, w->good_lp, &e) != 0)
			w->failures++;
		if (x509_issuer_check_leaf(w->is, &w->bad, w->bad_lp, &e) != -1 ||
		    strstr(e.msg, "www.example.com violates") == NULL)
			w->failures++;
	}
	return NULL;
}

/* One issuer, its parsed constraints shared read-only by four threads
 * checking good and bad leaves at once. */
START_TEST(test_issuer_concurrent)
{
	struct x509_issuer *is = NULL;
	struct x509_leaf_params good_lp, bad_lp;
	struct names good_sans, bad_sans;
	unsigned char s1[X509_SERIAL_LEN], s2[X509_SERIAL_LEN];
	struct issuer_worker w[4];
	pthread_t t[4];
	struct lerr e;
	int i;

	ck_assert_int_eq(x509_issuer_new(chain, 2, ca_key, "http://gw.local/crl", &is, &e), 0);
	names_init(&good_sans);
	names_init(&bad_sans);
	ck_assert_int_eq(names_add_dns(&good_sans, "dev1.local"), 0);
	add_ip(&good_sans, "10.0.0.7");
	ck_assert_int_eq(names_add_dns(&bad_sans, "www.example.com"), 0);
	leaf_params(&good_lp, &good_sans, s1);
	leaf_params(&bad_lp, &bad_sans, s2);
	for (i = 0; i < 4; i++) {
		w[i].is = is;
		w[i].good_lp = &good_lp;
		w[i].bad_lp = &bad_lp;
		w[i].failures = 0;
		ck_assert_int_eq(x509_issuer_make_leaf(is, &good_lp, &w[i].good, &e), 0);
		ck_assert_int_eq(x509_issuer_make_leaf(is, &bad_lp, &w[i].bad, &e), 0);
	}
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, issuer_worker_run, &w[i]), 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(w[i].failures, 0);
		gnutls_free(w[i].good.data);
		gnutls_free(w[i].bad.data);
	}
	x509_issuer_free(is);
	names_free(&good_sans);
	names_free(&bad_sans);
}
END_TEST

struct worker {
	gnutls_datum_t der;
	const struct x509_leaf_params *lp;
	int failures;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct lerr e;
	int i;

	for (i = 0; i < 200; i++)
		if (x509_check_leaf(&w->der, w->lp, chain, 2, &e) != 0)
			w->failures++;
	return NULL;
}

/* check_leaf from several threads on the same chain certificates. */
START_TEST(test_concurrent_check)
{
	struct x509_leaf_params lp;
	struct names sans;
	unsigned char serial[X509_SERIAL_LEN];
	struct worker w[3];
	pthread_t t[3];
	struct lerr e;
	int i;

	names_init(&sans);
	ck_assert_int_eq(names_add_dns(&sans, "dev1.local"), 0);
	add_ip(&sans, "10.0.0.7");
	leaf_params(&lp, &sans, serial);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(x509_make_leaf(&lp, ca, ca_key, &w[i].der, &e), 0);
		w[i].lp = &lp;
		w[i].failures = 0;
	}
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(w[i].failures, 0);
		gnutls_free(w[i].der.data);
	}
	names_free(&sans);
}
END_TEST

static Suite *
x509_suite(void)
{
	Suite *s = suite_create("x509");
	TCase *tc = tcase_create("ca");

	tcase_add_unchecked_fixture(tc, ca_setup, ca_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_root_extensions);
	tcase_add_test(tc, test_issuing_ca);
	tcase_add_test(tc, test_p384_digest);
	tcase_add_test(tc, test_cross_certificates);
	tcase_add_test(tc, test_bad_ca_params);
	tcase_add_test(tc, test_good_leaf);
	tcase_add_test(tc, test_rsa_leaf_no_crl);
	tcase_add_test(tc, test_outside_constraints_refused);
	tcase_add_test(tc, test_gnutls_signs_anything);
	tcase_add_test(tc, test_cn_checked_without_dns_san);
	tcase_add_test(tc, test_invariants_refused);
	tcase_add_test(tc, test_ca_as_leaf_refused);
	tcase_add_test(tc, test_helpers);
	tcase_add_test(tc, test_concurrent_check);
	tcase_add_test(tc, test_issuer_leaf);
	tcase_add_test(tc, test_issuer_constraints_every_ca);
	tcase_add_test(tc, test_issuer_concurrent);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return 1;
	sr = srunner_create(x509_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
