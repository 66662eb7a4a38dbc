/*
 * test_acme_issue.c - a LAN server's certificate through ACME, from the
 * request to the store: csr_parse with and without CSR_PARSE_CN_OPTIONAL
 * (ca/csr.c), POLICY_SERVER's names and leaf CN (ca/policy.c), the leaf
 * the signing core makes for it (ca/x509.c: no CN, an empty subject and
 * a critical subjectAltName) verified by GnuTLS as a TLS client does,
 * for an address-only server too; and enroll_order (daemon/enroll.c):
 * the request names exactly what the order proved, a name or key of
 * another device is refused with nothing issued, and the account renews
 * its own names, recorded as device "acme-<id>". Requests are made here
 * with GnuTLS; the CA is a fresh one per test (fixture.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdarg.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <sqlite3.h>

#include "ca/csr.h"
#include "ca/keystore.h"
#include "ca/names.h"
#include "ca/policy.h"
#include "ca/x509.h"
#include "daemon/enroll.h"
#include "signer/sign.h"
#include "signer/signer.h"
#include "store/store.h"
#include "fixture.h"

#define END	((const char *)NULL)

/* ---- requests ---- */

struct req {
	gnutls_x509_privkey_t key;
	gnutls_datum_t der;
};

/* A request by r->key (made when NULL) with subject CN cn (NULL: none),
 * then "dns:NAME" and "ip:ADDRESS" subjectAltNames up to END. */
static void
req_make(struct req *r, const char *cn, ...)
{
	gnutls_x509_crq_t crq = NULL;
	unsigned char addr[16];
	const char *san;
	struct lerr e;
	va_list ap;

	if (r->key == NULL)
		ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &r->key, &e), 0);
	ck_assert_int_eq(gnutls_x509_crq_init(&crq), 0);
	if (cn != NULL)
		ck_assert_int_eq(gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0,
							       cn, strlen(cn)), 0);
	va_start(ap, cn);
	while ((san = va_arg(ap, const char *)) != NULL) {
		if (strncmp(san, "dns:", 4) == 0) {
			ck_assert_int_eq(gnutls_x509_crq_set_subject_alt_name(
				crq, GNUTLS_SAN_DNSNAME, san + 4, strlen(san + 4),
				GNUTLS_FSAN_APPEND), 0);
		} else {
			int v6 = strchr(san + 3, ':') != NULL;

			ck_assert(strncmp(san, "ip:", 3) == 0);
			ck_assert_int_eq(inet_pton(v6 ? AF_INET6 : AF_INET, san + 3, addr), 1);
			ck_assert_int_eq(gnutls_x509_crq_set_subject_alt_name(
				crq, GNUTLS_SAN_IPADDRESS, addr, v6 ? 16 : 4,
				GNUTLS_FSAN_APPEND), 0);
		}
	}
	va_end(ap);
	ck_assert_int_eq(gnutls_x509_crq_set_key(crq, r->key), 0);
	ck_assert_int_eq(gnutls_x509_crq_sign2(crq, r->key, GNUTLS_DIG_SHA256, 0), 0);
	gnutls_free(r->der.data);
	r->der.data = NULL;
	ck_assert_int_eq(gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, &r->der), 0);
	gnutls_x509_crq_deinit(crq);
}

static void
req_free(struct req *r)
{
	gnutls_free(r->der.data);
	if (r->key != NULL)
		gnutls_x509_privkey_deinit(r->key);
	memset(r, 0, sizeof(*r));
}

/* r parsed with flags; aborts the test when refused. */
static struct csr *
req_parse(const struct req *r, unsigned flags)
{
	struct csr *c = NULL;
	struct lerr e;

	lerr_clear(&e);
	if (csr_parse_flags(r->der.data, r->der.size, flags, &c, &e) != 0)
		ck_abort_msg("csr_parse_flags: %s", e.msg);
	return c;
}

/* ---- ca/csr.c: CSR_PARSE_CN_OPTIONAL ---- */

START_TEST(test_csr_cn_optional)
{
	struct req r = { NULL, { NULL, 0 } };
	struct csr *c = NULL;
	struct lerr e;

	/* without a CN: refused as a device's, taken as a server's */
	req_make(&r, NULL, "dns:srv.lan.local", "dns:www.lan.local", "ip:10.0.0.5", END);
	lerr_clear(&e);
	ck_assert_int_eq(csr_parse(r.der.data, r.der.size, &c, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_NAME);
	ck_assert_ptr_nonnull(strstr(e.msg, "no subject CN"));
	ck_assert_ptr_null(c);
	ck_assert_int_eq(csr_parse_flags(r.der.data, r.der.size, policy_csr_flags(POLICY_DEVICE),
					 &c, &e), -1);
	c = req_parse(&r, CSR_PARSE_CN_OPTIONAL);
	ck_assert_str_eq(c->cn, "srv.lan.local");
	ck_assert_int_eq(c->cn_given, 0);
	ck_assert_int_eq(c->sig_verified, 1);
	csr_free(c);
	/* addresses only: no CN at all */
	req_make(&r, NULL, "ip:10.0.0.5", "ip:fd00::5", END);
	c = req_parse(&r, policy_csr_flags(POLICY_SERVER));
	ck_assert_str_eq(c->cn, "");
	ck_assert_int_eq(c->cn_given, 0);
	ck_assert_uint_eq(c->sans.nip, 2);
	csr_free(c);
	/* nothing at all: still refused */
	req_make(&r, NULL, END);
	lerr_clear(&e);
	ck_assert_int_eq(csr_parse_flags(r.der.data, r.der.size, CSR_PARSE_CN_OPTIONAL, &c, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_NAME);
	ck_assert_ptr_nonnull(strstr(e.msg, "names nothing"));
	/* a CN given is kept, and said so */
	req_make(&r, "www.lan.local", "dns:srv.lan.local", END);
	c = req_parse(&r, CSR_PARSE_CN_OPTIONAL);
	ck_assert_str_eq(c->cn, "www.lan.local");
	ck_assert_int_eq(c->cn_given, 1);
	csr_free(c);
	c = req_parse(&r, 0);
	ck_assert_int_eq(c->cn_given, 1);
	csr_free(c);
	req_free(&r);
}
END_TEST

/* ---- ca/policy.c: POLICY_SERVER ---- */

static struct policy pol;

static void
pol_setup(void)
{
	struct lerr e;

	ck_assert_int_eq(policy_init(&pol, NULL, 0, NULL, 0, &e), 0);
}

static void
pol_teardown(void)
{
	policy_free(&pol);
}

/* policy_names of a new request (CN cn or none, SANs up to END) for
 * prof: its rc, with out filled (names_free) and e. */
static int
names_of(enum policy_profile prof, struct names *out, struct lerr *e, const char *cn, ...)
{
	struct req r = { NULL, { NULL, 0 } };
	gnutls_x509_crq_t crq = NULL;
	unsigned char addr[16];
	const char *san;
	struct csr *c;
	va_list ap;
	int rc;

	/* req_make with a va_list */
	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &r.key, e), 0);
	ck_assert_int_eq(gnutls_x509_crq_init(&crq), 0);
	if (cn != NULL)
		ck_assert_int_eq(gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0,
							       cn, strlen(cn)), 0);
	va_start(ap, cn);
	while ((san = va_arg(ap, const char *)) != NULL) {
		int v6 = strchr(san + 3, ':') != NULL;

		if (strncmp(san, "dns:", 4) == 0)
			ck_assert_int_eq(gnutls_x509_crq_set_subject_alt_name(
				crq, GNUTLS_SAN_DNSNAME, san + 4, strlen(san + 4),
				GNUTLS_FSAN_APPEND), 0);
		else {
			ck_assert_int_eq(inet_pton(v6 ? AF_INET6 : AF_INET, san + 3, addr), 1);
			ck_assert_int_eq(gnutls_x509_crq_set_subject_alt_name(
				crq, GNUTLS_SAN_IPADDRESS, addr, v6 ? 16 : 4,
				GNUTLS_FSAN_APPEND), 0);
		}
	}
	va_end(ap);
	ck_assert_int_eq(gnutls_x509_crq_set_key(crq, r.key), 0);
	ck_assert_int_eq(gnutls_x509_crq_sign2(crq, r.key, GNUTLS_DIG_SHA256, 0), 0);
	ck_assert_int_eq(gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, &r.der), 0);
	gnutls_x509_crq_deinit(crq);
	c = req_parse(&r, policy_csr_flags(prof));
	lerr_clear(e);
	rc = policy_names(&pol, c, prof, out, e);
	csr_free(c);
	req_free(&r);
	return rc;
}

START_TEST(test_policy_server_names)
{
	struct names n;
	struct lerr e;
	char text[64];

	ck_assert_int_eq(policy_profile_kind(POLICY_SERVER), 1);
	ck_assert_int_eq(policy_profile_kind(POLICY_DEVICE), 1);
	ck_assert_int_eq(policy_profile_kind(POLICY_GATEWAY), 0);
	ck_assert_int_eq(policy_profile_kind((enum policy_profile)0), -1);
	ck_assert_uint_eq(policy_csr_flags(POLICY_SERVER), CSR_PARSE_CN_OPTIONAL);
	ck_assert_uint_eq(policy_csr_flags(POLICY_DEVICE), 0);
	ck_assert_uint_eq(policy_csr_flags(POLICY_GATEWAY), 0);

	/* no SAN: a device gets "<cn>.local", a server nothing made up */
	ck_assert_int_eq(names_of(POLICY_DEVICE, &n, &e, "nas", END), 0);
	ck_assert_uint_eq(n.ndns, 1);
	ck_assert_str_eq(n.dns[0], "nas.local");
	names_free(&n);
	ck_assert_int_eq(names_of(POLICY_SERVER, &n, &e, "nas", END), -1);
	ck_assert_int_eq(e.code, LERR_BAD_NAME);
	ck_assert_uint_eq(n.ndns + n.nip, 0);
	names_free(&n);
	/* a server's DNS names stay as asked, none added */
	ck_assert_int_eq(names_of(POLICY_SERVER, &n, &e, "nas", "ip:10.0.0.8", END), 0);
	ck_assert_uint_eq(n.ndns, 0);
	ck_assert_uint_eq(n.nip, 1);
	names_free(&n);
	ck_assert_int_eq(names_of(POLICY_SERVER, &n, &e, NULL, "dns:Srv.Lan.Local", END), 0);
	ck_assert_uint_eq(n.ndns, 1);
	ck_assert_str_eq(n.dns[0], "srv.lan.local");
	names_free(&n);
	/* a dNSName that is an address (lego) is the address */
	ck_assert_int_eq(names_of(POLICY_SERVER, &n, &e, NULL, "dns:10.0.0.7", END), 0);
	ck_assert_uint_eq(n.ndns, 0);
	ck_assert_uint_eq(n.nip, 1);
	ck_assert_int_eq(ipnet_format(&n.ip[0], text, sizeof(text)), 0);
	ck_assert_str_eq(text, "10.0.0.7");
	names_free(&n);
	/* the same address both ways: once */
	ck_assert_int_eq(names_of(POLICY_SERVER, &n, &e, NULL, "dns:10.0.0.7", "ip:10.0.0.7",
				  "dns:nas.local", END), 0);
	ck_assert_uint_eq(n.ndns, 1);
	ck_assert_uint_eq(n.nip, 1);
	names_free(&n);
	/* a device's dNSName address is no DNS name under a permitted domain */
	ck_assert_int_eq(names_of(POLICY_DEVICE, &n, &e, "nas", "dns:10.0.0.7", END), -1);
	names_free(&n);
	/* an address outside the permitted networks, either way */
	ck_assert_int_eq(names_of(POLICY_SERVER, &n, &e, NULL, "dns:8.8.8.8", END), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	names_free(&n);
	/* loopback and localhost are the gateway's, as for a device */
	ck_assert_int_eq(names_of(POLICY_SERVER, &n, &e, NULL, "ip:127.0.0.1", END), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	ck_assert_ptr_nonnull(strstr(e.msg, "loopback"));
	names_free(&n);
	ck_assert_int_eq(names_of(POLICY_SERVER, &n, &e, NULL, "dns:127.0.0.1", END), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	names_free(&n);
	ck_assert_int_eq(names_of(POLICY_SERVER, &n, &e, NULL, "ip:::1", END), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	names_free(&n);
	ck_assert_int_eq(names_of(POLICY_SERVER, &n, &e, NULL, "dns:localhost", END), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	names_free(&n);
	ck_assert_int_eq(names_of(POLICY_SERVER, &n, &e, NULL, "dns:a.localhost", END), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	names_free(&n);
	/* nor a permitted domain itself */
	ck_assert_int_eq(names_of(POLICY_SERVER, &n, &e, NULL, "dns:local", END), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN_NAME);
	names_free(&n);
	/* the gateway's profile may */
	ck_assert_int_eq(names_of(POLICY_GATEWAY, &n, &e, "gw", "dns:localhost", "ip:127.0.0.1",
				  END), 0);
	names_free(&n);
}
END_TEST

/* names from "dns:" / "ip:" words up to END (names_free). */
static void
names_make(struct names *n, ...)
{
	struct ipnet ip;
	const char *w;
	va_list ap;

	names_init(n);
	va_start(ap, n);
	while ((w = va_arg(ap, const char *)) != NULL) {
		if (strncmp(w, "dns:", 4) == 0) {
			ck_assert_int_eq(names_add_dns(n, w + 4), 0);
		} else {
			ck_assert_int_eq(ipnet_parse(w + 3, &ip), 0);
			ck_assert_int_eq(names_add_ip(n, &ip), 0);
		}
	}
	va_end(ap);
}

START_TEST(test_policy_leaf_cn)
{
	struct csr c;
	struct names n;
	char longname[128];

	memset(&c, 0, sizeof(c));
	/* a device's is its CN, whatever its names */
	snprintf(c.cn, sizeof(c.cn), "sensor-1");
	c.cn_given = 1;
	names_make(&n, "dns:other.local", END);
	ck_assert_str_eq(policy_leaf_cn(&c, &n, POLICY_DEVICE), "sensor-1");
	ck_assert_str_eq(policy_leaf_cn(&c, &n, POLICY_GATEWAY), "sensor-1");
	/* a server's CN that is not one of its names gives way to its first */
	ck_assert_str_eq(policy_leaf_cn(&c, &n, POLICY_SERVER), "other.local");
	names_free(&n);
	/* one that is, in any case, is kept */
	snprintf(c.cn, sizeof(c.cn), "WWW.lan.local");
	names_make(&n, "dns:srv.lan.local", "dns:www.lan.local", END);
	ck_assert_str_eq(policy_leaf_cn(&c, &n, POLICY_SERVER), "WWW.lan.local");
	names_free(&n);
	/* no CN: the first DNS name */
	c.cn[0] = '\0';
	c.cn_given = 0;
	names_make(&n, "ip:10.0.0.5", "dns:srv.lan.local", END);
	ck_assert_str_eq(policy_leaf_cn(&c, &n, POLICY_SERVER), "srv.lan.local");
	names_free(&n);
	/* addresses only: none, whatever the CN said (an address in a CN
	 * is checked as a DNS name) */
	snprintf(c.cn, sizeof(c.cn), "10.0.0.5");
	names_make(&n, "ip:10.0.0.5", END);
	ck_assert_str_eq(policy_leaf_cn(&c, &n, POLICY_SERVER), "");
	names_free(&n);
	/* a first name too long for a CN: none */
	c.cn[0] = '\0';
	snprintf(longname, sizeof(longname), "dns:%.40s.%.40s.local",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	names_make(&n, longname, "ip:10.0.0.5", END);
	ck_assert_uint_gt(strlen(n.dns[0]), CSR_CN_MAX);
	ck_assert_str_eq(policy_leaf_cn(&c, &n, POLICY_SERVER), "");
	names_free(&n);
}
END_TEST

/* ---- ca/x509.c through the signing core: the server's leaf ---- */

static const unsigned char serial[X509_SERIAL_LEN] = { 0x21, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
						       13, 14, 15, 16, 17 };

/* Path validation as a GnuTLS TLS client does it, the root the only
 * anchor, for a server named by host (DNS) or addr (raw address of
 * addr_len bytes). The verification status (0 = trusted). */
static unsigned
client_verify(const struct sign_ctx *ctx, gnutls_x509_crt_t leaf, const char *host,
	      const unsigned char *addr, unsigned addr_len)
{
	gnutls_x509_trust_list_t tl;
	gnutls_x509_crt_t list[2], anchor = NULL;
	gnutls_typed_vdata_st vd[2];
	gnutls_datum_t d;
	unsigned status = 0xffffffffu, nvd = 0;
	struct lerr e;

	ck_assert_int_eq(x509_export_der(ctx->chain[1], &d), 0);
	ck_assert_int_eq(x509_import(d.data, d.size, &anchor, &e), 0);
	gnutls_free(d.data);
	ck_assert_int_eq(gnutls_x509_trust_list_init(&tl, 0), 0);
	ck_assert_int_eq(gnutls_x509_trust_list_add_cas(tl, &anchor, 1, 0), 1);
	list[0] = leaf;
	list[1] = ctx->chain[0];
	memset(vd, 0, sizeof(vd));
	vd[nvd].type = GNUTLS_DT_KEY_PURPOSE_OID;
	vd[nvd++].data = (void *)GNUTLS_KP_TLS_WWW_SERVER;
	if (host != NULL) {
		vd[nvd].type = GNUTLS_DT_DNS_HOSTNAME;
		vd[nvd++].data = (void *)host;
	} else if (addr != NULL) {
		vd[nvd].type = GNUTLS_DT_IP_ADDRESS;
		vd[nvd].data = (void *)addr;
		vd[nvd++].size = addr_len;
	}
	ck_assert_int_eq(gnutls_x509_trust_list_verify_crt2(tl, list, 2, vd, nvd, 0, &status,
							     NULL), 0);
	gnutls_x509_trust_list_deinit(tl, 1);
	return status;
}

/* Signs r as a server's (POLICY_SERVER) with ctx: the leaf, imported. */
static gnutls_x509_crt_t
sign_server(const struct sign_ctx *ctx, const struct req *r)
{
	struct sign_req sr = { POLICY_SERVER, 0, serial };
	struct sign_out out;
	gnutls_x509_crt_t crt = NULL;
	struct csr *c = req_parse(r, policy_csr_flags(POLICY_SERVER));
	struct lerr e;

	lerr_clear(&e);
	if (sign_leaf(ctx, c, &sr, &out, &e) != 0)
		ck_abort_msg("sign_leaf: %s", e.msg);
	ck_assert_int_eq(gnutls_x509_crt_init(&crt), 0);
	ck_assert_int_eq(gnutls_x509_crt_import(crt, &out.der, GNUTLS_X509_FMT_DER), 0);
	sign_out_free(&out);
	csr_free(c);
	return crt;
}

/* The leaf's subject as text (size 0 when it is empty: its DER an
 * empty SEQUENCE), and whether its SAN extension is critical. */
static void
leaf_subject(gnutls_x509_crt_t crt, gnutls_datum_t *dn, unsigned *san_critical)
{
	gnutls_datum_t raw = { NULL, 0 };
	char buf[1024];
	size_t size = sizeof(buf);

	ck_assert_int_eq(gnutls_x509_crt_get_raw_dn(crt, &raw), 0);
	ck_assert_uint_ge(raw.size, 2);
	if (raw.size == 2) {
		ck_assert(raw.data[0] == 0x30 && raw.data[1] == 0);
		dn->data = NULL;
		dn->size = 0;
		ck_assert_int_eq(gnutls_x509_crt_get_dn3(crt, &raw, 0),
				 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	} else {
		ck_assert_int_eq(gnutls_x509_crt_get_dn3(crt, dn, 0), 0);
	}
	gnutls_free(raw.data);
	*san_critical = 99;
	ck_assert_int_eq(gnutls_x509_crt_get_extension_by_oid(crt, GNUTLS_X509EXT_OID_SAN, 0, buf,
							       &size, san_critical), 0);
}

START_TEST(test_leaf_ip_only_verifies)
{
	struct sign_ctx ctx;
	struct req r = { NULL, { NULL, 0 } };
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn = { NULL, 0 };
	unsigned char a4[4], a6[16], other[4];
	unsigned crit = 0;
	struct lerr e;

	fx_make_ca();
	ck_assert_msg(sign_ctx_load(&ctx, fx_dir, NULL, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(inet_pton(AF_INET, "10.0.0.5", a4), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "fd00::5", a6), 1);
	ck_assert_int_eq(inet_pton(AF_INET, "10.0.0.6", other), 1);

	/* addresses only, no CN */
	req_make(&r, NULL, "ip:10.0.0.5", "ip:fd00::5", END);
	crt = sign_server(&ctx, &r);
	leaf_subject(crt, &dn, &crit);
	ck_assert_uint_eq(dn.size, 0);
	ck_assert_uint_eq(crit, 1);
	gnutls_free(dn.data);
	ck_assert_msg(client_verify(&ctx, crt, NULL, a4, 4) == 0, "10.0.0.5 does not verify");
	ck_assert_msg(client_verify(&ctx, crt, NULL, a6, 16) == 0, "fd00::5 does not verify");
	ck_assert_uint_ne(client_verify(&ctx, crt, NULL, other, 4), 0);
	ck_assert_int_ne(gnutls_x509_crt_check_ip(crt, a4, 4, 0), 0);
	gnutls_x509_crt_deinit(crt);

	/* lego's way: the address as a dNSName, so the request's CN is it */
	req_make(&r, NULL, "dns:10.0.0.5", END);
	crt = sign_server(&ctx, &r);
	leaf_subject(crt, &dn, &crit);
	ck_assert_uint_eq(dn.size, 0);
	ck_assert_uint_eq(crit, 1);
	gnutls_free(dn.data);
	ck_assert_msg(client_verify(&ctx, crt, NULL, a4, 4) == 0, "lego's 10.0.0.5 does not verify");
	gnutls_x509_crt_deinit(crt);

	/* a DNS name without a CN: the name is the CN, the SAN not critical */
	req_make(&r, NULL, "dns:srv.lan.local", "ip:10.0.0.5", END);
	crt = sign_server(&ctx, &r);
	leaf_subject(crt, &dn, &crit);
	ck_assert_str_eq((const char *)dn.data, "CN=srv.lan.local");
	ck_assert_uint_eq(crit, 0);
	gnutls_free(dn.data);
	ck_assert_uint_eq(client_verify(&ctx, crt, "srv.lan.local", NULL, 0), 0);
	ck_assert_uint_eq(client_verify(&ctx, crt, NULL, a4, 4), 0);
	ck_assert_uint_ne(client_verify(&ctx, crt, "other.lan.local", NULL, 0), 0);
	gnutls_x509_crt_deinit(crt);

	/* a CN that is none of the names is not carried */
	req_make(&r, "certbot", "dns:srv.lan.local", END);
	crt = sign_server(&ctx, &r);
	leaf_subject(crt, &dn, &crit);
	ck_assert_str_eq((const char *)dn.data, "CN=srv.lan.local");
	gnutls_free(dn.data);
	ck_assert_uint_eq(client_verify(&ctx, crt, "srv.lan.local", NULL, 0), 0);
	gnutls_x509_crt_deinit(crt);

	req_free(&r);
	sign_ctx_free(&ctx);
	fx_remove_ca();
}
END_TEST

/* ---- daemon/enroll.c: enroll_order ---- */

static struct {
	struct fx_issuer x;
	struct window w;
	struct enroll *en;
	time_t now;
} t;

static time_t
fake_now(void *arg)
{
	return *(time_t *)arg;
}

static void
en_open(enum fx_signing how)
{
	struct enroll_config c;
	struct lerr e;

	fx_make_ca();
	fx_issuer_open(&t.x, how);
	window_init(&t.w);
	t.now = time(NULL);
	memset(&c, 0, sizeof(c));
	c.monitor_s = 120;
	c.pending_days = 7;
	c.now = fake_now;
	c.now_arg = &t.now;
	ck_assert_int_eq(enroll_new(&t.x.is, &t.x.ca, &t.w, &c, &t.en, &e), 0);
}

static void
en_setup(void)
{
	en_open(FX_LOCAL_SIGNER);
}

/* As serve runs: the signer a process of its own, which parses the
 * request again with the profile's flags. */
static void
en_setup_remote(void)
{
	en_open(FX_SIGNER_PROCESS);
}

static void
en_teardown(void)
{
	enroll_free(t.en);
	window_destroy(&t.w);
	fx_issuer_close(&t.x);
	fx_remove_ca();
}

static int64_t
q_int(const char *fmt, ...)
{
	char sql[1024];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	va_list ap;
	int64_t v;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	ck_assert_int_eq(sqlite3_open_v2(t.x.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* enroll_order of r for account device id dev with the proven names
 * (made with names_make's words up to END): its rc, res and e. */
static int
order(const struct req *r, const char *dev, struct enroll_result *res, struct lerr *e, ...)
{
	struct enroll_order_ask a;
	struct names proven;
	struct ipnet ip;
	const char *w;
	va_list ap;
	int rc;

	names_init(&proven);
	va_start(ap, e);
	while ((w = va_arg(ap, const char *)) != NULL) {
		if (strncmp(w, "dns:", 4) == 0) {
			ck_assert_int_eq(names_add_dns(&proven, w + 4), 0);
		} else {
			ck_assert_int_eq(ipnet_parse(w + 3, &ip), 0);
			ck_assert_int_eq(names_add_ip(&proven, &ip), 0);
		}
	}
	va_end(ap);
	memset(&a, 0, sizeof(a));
	a.csr = r->der.data;
	a.csr_len = r->der.size;
	a.device_id = dev;
	a.proven = &proven;
	a.source = "192.0.2.7";
	enroll_result_free(res);
	enroll_result_init(res);
	lerr_clear(e);
	rc = enroll_order(t.en, &a, res, e);
	names_free(&proven);
	return rc;
}

static const char acct_a[] = "acme-AAAAAAAAAAAAAAAAAAAAAA";
static const char acct_b[] = "acme-BBBBBBBBBBBBBBBBBBBBBB";

/* Certificates issued since the test began (the CA's own state holds
 * some already). */
static int64_t certs_before = -1;

static int64_t
certs(void)
{
	int64_t n = q_int("SELECT count(*) FROM certificates");

	if (certs_before < 0)
		certs_before = n;
	return n - certs_before;
}

START_TEST(test_order_exact_names)
{
	struct req r = { NULL, { NULL, 0 } };
	struct enroll_result res;
	struct lerr e;

	enroll_result_init(&res);
	ck_assert_int_eq(certs(), 0);
	req_make(&r, NULL, "dns:srv.lan.local", "ip:10.0.0.5", END);
	/* the order proved more, fewer, or other names */
	ck_assert_int_eq(order(&r, acct_a, &res, &e, "dns:srv.lan.local", "ip:10.0.0.5",
			       "dns:www.lan.local", END), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	ck_assert_int_eq(order(&r, acct_a, &res, &e, "dns:srv.lan.local", END), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	ck_assert_int_eq(order(&r, acct_a, &res, &e, "dns:srv.lan.local", "ip:10.0.0.6", END), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	ck_assert_int_eq(order(&r, acct_a, &res, &e, "dns:www.lan.local", "ip:10.0.0.5", END), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	ck_assert_int_eq(certs(), 0);
	/* a CN that is not one of them */
	req_make(&r, "nas.lan.local", "dns:srv.lan.local", END);
	ck_assert_int_eq(order(&r, acct_a, &res, &e, "dns:srv.lan.local", END), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	ck_assert_ptr_nonnull(strstr(e.msg, "CN"));
	ck_assert_int_eq(certs(), 0);
	/* one name twice does not stand for two */
	req_make(&r, NULL, "dns:srv.lan.local", "dns:SRV.lan.local", END);
	ck_assert_int_eq(order(&r, acct_a, &res, &e, "dns:srv.lan.local", "dns:www.lan.local", END),
			 -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	ck_assert_int_eq(certs(), 0);
	/* the same names in another order and case: issued */
	req_make(&r, "SRV.lan.local", "ip:10.0.0.5", "dns:SRV.LAN.local", END);
	ck_assert_msg(order(&r, acct_a, &res, &e, "dns:srv.lan.local", "ip:10.0.0.5", END) == 0,
		      "%s", e.msg);
	ck_assert_int_eq(res.outcome, ENROLL_ISSUED);
	ck_assert_uint_gt(res.chain.len, 0);
	ck_assert_int_eq(certs(), 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM certificates WHERE device_id = '%s'", acct_a),
			 1);
	/* lego's dNSName address is the proven address */
	req_free(&r);
	req_make(&r, NULL, "dns:10.0.0.9", END);
	ck_assert_msg(order(&r, acct_a, &res, &e, "ip:10.0.0.9", END) == 0, "%s", e.msg);
	ck_assert_int_eq(certs(), 2);
	enroll_result_free(&res);
	req_free(&r);
}
END_TEST

START_TEST(test_order_ownership)
{
	struct req dev = { NULL, { NULL, 0 } }, r = { NULL, { NULL, 0 } };
	struct issue_req ir;
	struct store_cert *cert = NULL;
	struct enroll_result res;
	struct lerr e;
	char serial1[2 * STORE_SERIAL_MAX + 1];

	enroll_result_init(&res);
	ck_assert_int_eq(certs(), 0);
	/* a device holds nas.lan.local */
	req_make(&dev, "nas", "dns:nas.lan.local", END);
	memset(&ir, 0, sizeof(ir));
	ir.csr = dev.der.data;
	ir.csr_len = dev.der.size;
	ir.profile = POLICY_DEVICE;
	ir.actor = "unit";
	ir.now = t.now;
	lerr_clear(&e);
	ck_assert_msg(issue_cert(&t.x.is, &ir, &cert, &e) == 0, "%s", e.msg);
	store_cert_free(cert);
	ck_assert_int_eq(certs(), 1);
	/* an account asking for it: forbidden, nothing issued */
	req_make(&r, NULL, "dns:nas.lan.local", END);
	ck_assert_int_eq(order(&r, acct_a, &res, &e, "dns:nas.lan.local", END), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_ptr_nonnull(strstr(e.msg, "nas"));
	ck_assert_int_eq(certs(), 1);
	/* the device's key, for another name: refused */
	req_make(&dev, NULL, "dns:other.lan.local", END);
	ck_assert_int_eq(order(&dev, acct_a, &res, &e, "dns:other.lan.local", END), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	ck_assert_int_eq(certs(), 1);
	/* the account's own name, renewed with a new key and with the same */
	req_free(&r);
	req_make(&r, NULL, "dns:srv.lan.local", END);
	ck_assert_msg(order(&r, acct_a, &res, &e, "dns:srv.lan.local", END) == 0, "%s", e.msg);
	snprintf(serial1, sizeof(serial1), "%s", res.serial);
	req_free(&r);
	req_make(&r, NULL, "dns:srv.lan.local", END);
	t.now += 3600;
	ck_assert_msg(order(&r, acct_a, &res, &e, "dns:srv.lan.local", END) == 0, "%s", e.msg);
	ck_assert_str_ne(res.serial, serial1);
	req_make(&r, NULL, "dns:srv.lan.local", END);
	ck_assert_msg(order(&r, acct_a, &res, &e, "dns:srv.lan.local", END) == 0, "%s", e.msg);
	ck_assert_int_eq(q_int("SELECT count(*) FROM certificates WHERE device_id = '%s'", acct_a),
			 3);
	/* another account may not have it, nor that key */
	ck_assert_int_eq(order(&r, acct_b, &res, &e, "dns:srv.lan.local", END), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	req_free(&r);
	req_make(&r, NULL, "dns:srv.lan.local", END);
	ck_assert_int_eq(order(&r, acct_b, &res, &e, "dns:srv.lan.local", END), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_int_eq(q_int("SELECT count(*) FROM certificates WHERE device_id = '%s'", acct_b),
			 0);
	ck_assert_int_eq(certs(), 4);
	enroll_result_free(&res);
	req_free(&r);
	req_free(&dev);
}
END_TEST

/* An address-only server without a CN, through a signer process: issued,
 * and the chain handed back holds a leaf with an empty subject and a
 * critical subjectAltName. */
START_TEST(test_order_remote_ip_only)
{
	struct req r = { NULL, { NULL, 0 } };
	struct enroll_result res;
	gnutls_x509_crt_t list[4];
	unsigned n = 4, crit = 0, i;
	gnutls_datum_t pem, dn = { NULL, 0 };
	struct lerr e;

	enroll_result_init(&res);
	ck_assert_int_eq(certs(), 0);
	req_make(&r, NULL, "ip:10.0.0.5", "ip:fd00::5", END);
	ck_assert_msg(order(&r, acct_a, &res, &e, "ip:10.0.0.5", "ip:fd00::5", END) == 0, "%s",
		      e.msg);
	ck_assert_int_eq(res.outcome, ENROLL_ISSUED);
	ck_assert_int_eq(q_int("SELECT count(*) FROM certificates WHERE device_id = '%s'", acct_a),
			 1);
	pem.data = (unsigned char *)res.chain.data;
	pem.size = (unsigned)res.chain.len;
	ck_assert_int_ge(gnutls_x509_crt_list_import(list, &n, &pem, GNUTLS_X509_FMT_PEM, 0), 1);
	leaf_subject(list[0], &dn, &crit);
	ck_assert_uint_eq(dn.size, 0);
	ck_assert_uint_eq(crit, 1);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(list[i]);
	/* a CN not among the names is refused there too */
	req_make(&r, "nas.lan.local", "ip:10.0.0.5", END);
	ck_assert_int_eq(order(&r, acct_a, &res, &e, "ip:10.0.0.5", END), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	ck_assert_int_eq(certs(), 1);
	enroll_result_free(&res);
	req_free(&r);
}
END_TEST

static Suite *
acme_issue_suite(void)
{
	Suite *s = suite_create("acme_issue");
	TCase *tc;

	tc = tcase_create("csr");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_csr_cn_optional);
	suite_add_tcase(s, tc);
	tc = tcase_create("policy");
	tcase_add_checked_fixture(tc, pol_setup, pol_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_policy_server_names);
	tcase_add_test(tc, test_policy_leaf_cn);
	suite_add_tcase(s, tc);
	tc = tcase_create("leaf");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_leaf_ip_only_verifies);
	suite_add_tcase(s, tc);
	tc = tcase_create("enroll_order");
	tcase_add_checked_fixture(tc, en_setup, en_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_order_exact_names);
	tcase_add_test(tc, test_order_ownership);
	suite_add_tcase(s, tc);
	tc = tcase_create("enroll_order_remote");
	tcase_add_checked_fixture(tc, en_setup_remote, en_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_order_remote_ip_only);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0 || gnutls_global_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(acme_issue_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	gnutls_global_deinit();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
