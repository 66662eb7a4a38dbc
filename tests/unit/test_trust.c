/*
 * test_trust.c - lanca-enroll's trust store (src/client/trust.c): a root
 * vouched for by a trusted root is accepted, and so is one vouched for by
 * a root accepted in the same merge, whatever the bundle's order; a root
 * without a voucher, with a voucher from an untrusted root, with a
 * voucher for another key or another subject, or that is not a CA,
 * refuses the whole bundle; the new store is the bundle's roots in bundle
 * order, a trusted root the bundle no longer lists is dropped and named;
 * a bundle with no root, or that does not parse, or past the bounds, is
 * refused. And the chain check after a renewal: a leaf under the new
 * root's issuing CA, sent with the cross-certificate NewWithOld, verifies
 * for a device trusting the old root or the new one, and not for one
 * trusting an unrelated root.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "ca/keystore.h"
#include "ca/names.h"
#include "ca/policy.h"
#include "ca/x509.h"
#include "client/trust.h"

/* A CA: its certificate and key. */
struct ca {
	gnutls_x509_crt_t crt;
	gnutls_privkey_t key;
	gnutls_pubkey_t pub;
};

static struct policy pol;

static void
serial(unsigned char s[X509_SERIAL_LEN])
{
	randombytes_buf(s, X509_SERIAL_LEN);
	s[0] = (unsigned char)(0x40 | (s[0] & 0x3f));
}

static void
params(struct x509_ca_params *p, const char *ou, unsigned char *sn)
{
	time_t now = time(NULL);

	memset(p, 0, sizeof(*p));
	p->org = "lanca";
	p->ou = ou;
	p->permitted = &pol.permitted;
	p->pathlen = 1;
	p->not_before = now - 60;
	p->not_after = now + 3600 * 24 * 365;
	serial(sn);
	p->serial = sn;
}

/* A self-signed root named OU=ou with pathLenConstraint pathlen. */
static void
mkroot_len(struct ca *c, const char *ou, unsigned pathlen)
{
	unsigned char sn[X509_SERIAL_LEN];
	struct x509_ca_params p;
	gnutls_x509_privkey_t x;
	struct lerr e;

	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &x, &e), 0);
	ck_assert_int_eq(gnutls_privkey_init(&c->key), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(c->key, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), 0);
	ck_assert_int_eq(keystore_pubkey(c->key, &c->pub, &e), 0);
	params(&p, ou, sn);
	p.pathlen = pathlen;
	ck_assert_msg(x509_make_root(&p, c->key, &c->crt, &e) == 0, "%s", e.msg);
}

/* A self-signed root named OU=ou, pathLenConstraint 1 as init makes it. */
static void
mkroot(struct ca *c, const char *ou)
{
	mkroot_len(c, ou, 1);
}

/* issuer's certificate of subject key pub under the name OU=ou. */
static gnutls_x509_crt_t
mkcross(const struct ca *issuer, const char *ou, gnutls_pubkey_t pub)
{
	unsigned char sn[X509_SERIAL_LEN];
	struct x509_ca_params p;
	gnutls_x509_crt_t out = NULL;
	struct lerr e;

	params(&p, ou, sn);
	ck_assert_msg(x509_make_ca(&p, pub, issuer->crt, issuer->key, &out, &e) == 0, "%s", e.msg);
	return out;
}

static void
cafree(struct ca *c)
{
	gnutls_x509_crt_deinit(c->crt);
	gnutls_privkey_deinit(c->key);
	gnutls_pubkey_deinit(c->pub);
}

/* The PEM of n certificates, one after the other (gnutls_free it). */
static gnutls_datum_t
pem(const gnutls_x509_crt_t *crts, size_t n)
{
	gnutls_datum_t out = { NULL, 0 }, one;
	size_t i;

	for (i = 0; i < n; i++) {
		ck_assert_int_ge(gnutls_x509_crt_export2(crts[i], GNUTLS_X509_FMT_PEM, &one), 0);
		out.data = gnutls_realloc(out.data, out.size + one.size + 1);
		memcpy(out.data + out.size, one.data, one.size);
		out.size += one.size;
		out.data[out.size] = '\0';
		gnutls_free(one.data);
	}
	return out;
}

/* How many certificates a PEM list holds, and whether crt is one of them. */
static unsigned
count_has(const gnutls_datum_t *d, gnutls_x509_crt_t crt, int *has)
{
	gnutls_x509_crt_t list[TRUST_STORE_MAX];
	unsigned n = TRUST_STORE_MAX, i;

	*has = 0;
	ck_assert_int_ge(gnutls_x509_crt_list_import(list, &n, d, GNUTLS_X509_FMT_PEM, 0), 0);
	for (i = 0; i < n; i++) {
		*has |= gnutls_x509_crt_equals(list[i], crt) != 0;
		gnutls_x509_crt_deinit(list[i]);
	}
	return n;
}

static struct ca primary, backup, other;
static gnutls_x509_crt_t cross;

static void
setup(void)
{
	struct lerr e;

	ck_assert_int_eq(policy_init(&pol, NULL, 0, NULL, 0, &e), 0);
	mkroot(&primary, "t Root CA");
	mkroot(&backup, "t Backup Root CA");
	mkroot(&other, "Other Root CA");
	cross = mkcross(&primary, "t Backup Root CA", backup.pub);
}

static void
teardown(void)
{
	gnutls_x509_crt_deinit(cross);
	cafree(&primary);
	cafree(&backup);
	cafree(&other);
	policy_free(&pol);
}

/* Runs trust_merge on store = st[0..nst) and bundle = crts. */
static int
merge_from(const gnutls_x509_crt_t *st, size_t nst, const gnutls_x509_crt_t *crts, size_t n,
	   gnutls_datum_t *out, struct trust_result *res, struct lerr *e)
{
	gnutls_datum_t s = pem(st, nst), b = pem(crts, n);
	int rc = trust_merge(&s, &b, out, res, e);

	gnutls_free(s.data);
	gnutls_free(b.data);
	return rc;
}

/* Runs trust_merge on store = primary and bundle = crts. */
static int
merge(const gnutls_x509_crt_t *crts, size_t n, gnutls_datum_t *out, struct trust_result *res,
      struct lerr *e)
{
	return merge_from(&primary.crt, 1, crts, n, out, res, e);
}

/* Whether the PEM list d is exactly want[0..n), in that order. */
static int
is_list(const gnutls_datum_t *d, const gnutls_x509_crt_t *want, unsigned n)
{
	gnutls_x509_crt_t list[TRUST_STORE_MAX];
	unsigned got = TRUST_STORE_MAX, i;
	int same;

	ck_assert_int_ge(gnutls_x509_crt_list_import(list, &got, d, GNUTLS_X509_FMT_PEM, 0), 0);
	same = got == n;
	for (i = 0; i < got; i++) {
		if (same && !gnutls_x509_crt_equals(list[i], want[i]))
			same = 0;
		gnutls_x509_crt_deinit(list[i]);
	}
	return same;
}

START_TEST(test_vouched_root_added)
{
	gnutls_x509_crt_t b[3] = { primary.crt, backup.crt, cross };
	gnutls_datum_t out;
	struct trust_result res;
	struct lerr e;
	int has;

	ck_assert_msg(merge(b, 3, &out, &res, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(res.added, 1);
	ck_assert_uint_eq(res.ndropped, 0);
	ck_assert_uint_eq(count_has(&out, backup.crt, &has), 2);
	ck_assert(has);
	/* The cross-certificate is a voucher, never an anchor. */
	count_has(&out, cross, &has);
	ck_assert(!has);
	gnutls_free(out.data);
}
END_TEST

START_TEST(test_same_bundle_adds_nothing)
{
	gnutls_x509_crt_t b[1] = { primary.crt };
	gnutls_datum_t out;
	struct trust_result res;
	struct lerr e;
	int has;

	ck_assert_msg(merge(b, 1, &out, &res, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(res.added, 0);
	ck_assert_uint_eq(res.ndropped, 0);
	ck_assert_uint_eq(count_has(&out, primary.crt, &has), 1);
	ck_assert(has);
	gnutls_free(out.data);
}
END_TEST

static void
refused(const gnutls_x509_crt_t *b, size_t n, const char *why)
{
	gnutls_datum_t out = { (unsigned char *)"x", 1 };
	struct trust_result res;
	struct lerr e;

	res.added = 7;
	ck_assert_int_eq(merge(b, n, &out, &res, &e), -1);
	ck_assert_msg(strstr(e.msg, why) != NULL, "message: %s", e.msg);
	ck_assert_ptr_null(out.data);
	ck_assert_uint_eq(res.added, 0);
}

START_TEST(test_unvouched_root_refused)
{
	gnutls_x509_crt_t b[2] = { primary.crt, backup.crt };

	refused(b, 2, "not vouched for");
}
END_TEST

/* The primary's key vouches for a root of its own making whose name
 * constraints are wider (a public suffix added, or another site
 * domain): refused, so a stolen root key cannot lift the
 * constraints devices rely on. The same root with the primary's
 * constraints is accepted, so the constraints alone decide. */
START_TEST(test_wider_constraints_refused)
{
	static const char *const wide[] = { "com" };
	static const char *const other_site[] = { "intranet" };
	const char *const *lists[] = { wide, other_site };
	size_t sizes[] = { 1, 1 }, k;

	for (k = 0; k < 2; k++) {
		struct policy p2;
		struct x509_ca_params p;
		unsigned char sn[X509_SERIAL_LEN];
		gnutls_x509_crt_t wroot, wcross, b[3];
		struct lerr e;

		ck_assert_int_eq(policy_init(&p2, lists[k], sizes[k], NULL, 0, &e), 0);
		params(&p, "t Backup Root CA", sn);
		p.permitted = &p2.permitted;
		ck_assert_msg(x509_make_root(&p, backup.key, &wroot, &e) == 0, "%s", e.msg);
		wcross = mkcross(&primary, "t Backup Root CA", backup.pub);
		b[0] = primary.crt;
		b[1] = wroot;
		b[2] = wcross;
		refused(b, 3, "not vouched for");
		gnutls_x509_crt_deinit(wroot);
		gnutls_x509_crt_deinit(wcross);
		policy_free(&p2);
	}
	/* The same making with the primary's constraints: accepted. */
	{
		struct x509_ca_params p;
		unsigned char sn[X509_SERIAL_LEN];
		gnutls_x509_crt_t sroot, scross, b[3];
		gnutls_datum_t out;
		struct trust_result res;
		struct lerr e;

		params(&p, "t Backup Root CA", sn);
		ck_assert_msg(x509_make_root(&p, backup.key, &sroot, &e) == 0, "%s", e.msg);
		scross = mkcross(&primary, "t Backup Root CA", backup.pub);
		b[0] = primary.crt;
		b[1] = sroot;
		b[2] = scross;
		ck_assert_msg(merge(b, 3, &out, &res, &e) == 0, "%s", e.msg);
		ck_assert_uint_eq(res.added, 1);
		gnutls_free(out.data);
		gnutls_x509_crt_deinit(sroot);
		gnutls_x509_crt_deinit(scross);
	}
}
END_TEST

START_TEST(test_foreign_voucher_refused)
{
	gnutls_x509_crt_t x = mkcross(&other, "t Backup Root CA", backup.pub);
	gnutls_x509_crt_t b[3] = { primary.crt, backup.crt, x };

	refused(b, 3, "not vouched for");
	gnutls_x509_crt_deinit(x);
}
END_TEST

START_TEST(test_voucher_for_another_key_refused)
{
	/* The primary vouches for the name, but with other's key. */
	gnutls_x509_crt_t x = mkcross(&primary, "t Backup Root CA", other.pub);
	gnutls_x509_crt_t b[3] = { primary.crt, backup.crt, x };

	refused(b, 3, "not vouched for");
	gnutls_x509_crt_deinit(x);
}
END_TEST

START_TEST(test_voucher_for_another_name_refused)
{
	/* The primary vouches for the key, under another name. */
	gnutls_x509_crt_t x = mkcross(&primary, "Someone Else CA", backup.pub);
	gnutls_x509_crt_t b[3] = { primary.crt, backup.crt, x };

	refused(b, 3, "not vouched for");
	gnutls_x509_crt_deinit(x);
}
END_TEST

START_TEST(test_one_bad_root_refuses_all)
{
	/* The good backup root is not taken when another root is bad. */
	gnutls_x509_crt_t b[4] = { primary.crt, backup.crt, cross, other.crt };

	refused(b, 4, "Other Root CA");
}
END_TEST

START_TEST(test_not_a_ca_refused)
{
	gnutls_x509_crt_t leaf;
	gnutls_datum_t der;
	struct lerr e;

	/* A self-signed certificate with basicConstraints CA:FALSE. */
	ck_assert_int_eq(gnutls_x509_crt_init(&leaf), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_version(leaf, 3), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_serial(leaf, "\x41\x02", 2), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_activation_time(leaf, time(NULL) - 60), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_expiration_time(leaf, time(NULL) + 3600), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_dn_by_oid(leaf, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME,
						       0, "leaf", 4), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_pubkey(leaf, other.pub), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_basic_constraints(leaf, 0, -1), 0);
	ck_assert_int_eq(gnutls_x509_crt_privkey_sign(leaf, leaf, other.key, GNUTLS_DIG_SHA256, 0), 0);
	ck_assert_int_ge(gnutls_x509_crt_export2(leaf, GNUTLS_X509_FMT_DER, &der), 0);
	gnutls_x509_crt_deinit(leaf);
	ck_assert_int_eq(x509_import(der.data, der.size, &leaf, &e), 0);
	gnutls_free(der.data);
	{
		gnutls_x509_crt_t b[2] = { primary.crt, leaf };

		refused(b, 2, "not a CA");
	}
	gnutls_x509_crt_deinit(leaf);
}
END_TEST

/* A root the device trusts that the bundle no longer lists is dropped
 * and named, with its SHA-256; the others stay. */
START_TEST(test_unlisted_root_dropped)
{
	gnutls_x509_crt_t st[2] = { primary.crt, other.crt }, b[3] = { primary.crt, backup.crt, cross };
	gnutls_x509_crt_t want[2] = { primary.crt, backup.crt };
	gnutls_datum_t out;
	struct trust_result res;
	struct lerr e;
	char fp[65];

	ck_assert_msg(merge_from(st, 2, b, 3, &out, &res, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(res.added, 1);
	ck_assert_uint_eq(res.kept, 2);
	ck_assert(is_list(&out, want, 2));
	ck_assert_uint_eq(res.ndropped, 1);
	ck_assert_ptr_nonnull(strstr(res.dropped[0].subject, "Other Root CA"));
	ck_assert_int_eq(x509_fingerprint(other.crt, fp), 0);
	ck_assert_str_eq(res.dropped[0].sha256, fp);
	gnutls_free(out.data);
}
END_TEST

/* The store follows the bundle's order, not its own: the gateway lists
 * the root it issues under first. */
START_TEST(test_bundle_order_kept)
{
	gnutls_x509_crt_t st[2] = { primary.crt, backup.crt }, b[3] = { backup.crt, cross, primary.crt };
	gnutls_x509_crt_t want[2] = { backup.crt, primary.crt };
	gnutls_datum_t out;
	struct trust_result res;
	struct lerr e;

	ck_assert_msg(merge_from(st, 2, b, 3, &out, &res, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(res.added, 0);
	ck_assert_uint_eq(res.ndropped, 0);
	ck_assert(is_list(&out, want, 2));
	gnutls_free(out.data);
}
END_TEST

/* A rollover from primary (A) to next (B), with the backup (C) vouched
 * for by B alone: a device trusting A accepts B on NewWithOld and C on
 * B's voucher, in the gateway's order and in the reverse one (C listed
 * before the root that vouches for it). */
START_TEST(test_transitive)
{
	struct ca next;
	gnutls_x509_crt_t nwo, own, cbyb;
	gnutls_datum_t out;
	struct trust_result res;
	struct lerr e;

	mkroot(&next, "t Next Root CA");
	nwo = mkcross(&primary, "t Next Root CA", next.pub);
	own = mkcross(&next, "t Root CA", primary.pub);
	cbyb = mkcross(&next, "t Backup Root CA", backup.pub);
	{
		gnutls_x509_crt_t b[6] = { next.crt, primary.crt, backup.crt, nwo, own, cbyb };
		gnutls_x509_crt_t want[3] = { next.crt, primary.crt, backup.crt };

		ck_assert_msg(merge(b, 6, &out, &res, &e) == 0, "%s", e.msg);
		ck_assert_uint_eq(res.added, 2);
		ck_assert_uint_eq(res.ndropped, 0);
		ck_assert(is_list(&out, want, 3));
		gnutls_free(out.data);
	}
	{
		gnutls_x509_crt_t b[5] = { cbyb, backup.crt, next.crt, primary.crt, nwo };
		gnutls_x509_crt_t want[3] = { backup.crt, next.crt, primary.crt };

		ck_assert_msg(merge(b, 5, &out, &res, &e) == 0, "%s", e.msg);
		ck_assert_uint_eq(res.added, 2);
		ck_assert(is_list(&out, want, 3));
		gnutls_free(out.data);
	}
	/* After `rollover finish`: A no longer listed, NewWithOld still is.
	 * A device that never refreshed takes B and C and drops A. */
	{
		gnutls_x509_crt_t b[4] = { next.crt, backup.crt, nwo, cbyb };
		gnutls_x509_crt_t want[2] = { next.crt, backup.crt };

		ck_assert_msg(merge(b, 4, &out, &res, &e) == 0, "%s", e.msg);
		ck_assert_uint_eq(res.added, 2);
		ck_assert_uint_eq(res.ndropped, 1);
		ck_assert_ptr_nonnull(strstr(res.dropped[0].subject, "t Root CA"));
		ck_assert(is_list(&out, want, 2));
		gnutls_free(out.data);
	}
	/* A chain of vouchers is no excuse for one root nothing leads to. */
	{
		gnutls_x509_crt_t b[6] = { next.crt, primary.crt, backup.crt, nwo, cbyb, other.crt };

		refused(b, 6, "Other Root CA");
	}
	/* Nor does a voucher from the unvouched root itself count. */
	{
		gnutls_x509_crt_t b[4] = { primary.crt, next.crt, backup.crt, cbyb };

		refused(b, 4, "not vouched for");
	}
	gnutls_x509_crt_deinit(nwo);
	gnutls_x509_crt_deinit(own);
	gnutls_x509_crt_deinit(cbyb);
	cafree(&next);
}
END_TEST

/* A bundle that lists no root (a voucher alone) would leave the device
 * nothing: refused, whatever its vouchers. */
START_TEST(test_no_root_refused)
{
	gnutls_x509_crt_t b[1] = { cross };

	refused(b, 1, "lists no root");
}
END_TEST

/* A certificate of the backup root's name and key whose signature is not
 * the backup key's (dates changed, signed by another key): the voucher
 * matches its name and key, but the device keeps only what the root's own
 * key signed. */
START_TEST(test_forged_self_signature_refused)
{
	gnutls_x509_crt_t forged, b[3];
	gnutls_datum_t der;
	struct lerr e;

	ck_assert_int_ge(gnutls_x509_crt_export2(backup.crt, GNUTLS_X509_FMT_DER, &der), 0);
	ck_assert_int_eq(x509_import(der.data, der.size, &forged, &e), 0);
	gnutls_free(der.data);
	ck_assert_int_eq(gnutls_x509_crt_set_expiration_time(forged, time(NULL) + 3600 * 24 * 3650), 0);
	ck_assert_int_eq(gnutls_x509_crt_privkey_sign(forged, backup.crt, other.key, GNUTLS_DIG_SHA256,
						      0), 0);
	b[0] = primary.crt;
	b[1] = forged;
	b[2] = cross;
	refused(b, 3, "not signed by its own key");
	gnutls_x509_crt_deinit(forged);
}
END_TEST

/* A store or a bundle past its bound is refused, never cut short (a
 * store read short would be written back without the rest); a store of
 * TRUST_STORE_MAX distinct roots, listed by the bundle, is kept whole. */
START_TEST(test_store_bound)
{
	struct ca many[TRUST_STORE_MAX + 1];
	gnutls_x509_crt_t crts[TRUST_STORE_MAX + 1], rev[TRUST_STORE_MAX];
	gnutls_datum_t out;
	struct trust_result res;
	struct lerr e;
	char ou[32];
	unsigned i;

	for (i = 0; i <= TRUST_STORE_MAX; i++) {
		snprintf(ou, sizeof(ou), "t Root %u", i);
		mkroot(&many[i], ou);
		crts[i] = many[i].crt;
	}
	for (i = 0; i < TRUST_STORE_MAX; i++)
		rev[i] = crts[TRUST_STORE_MAX - 1 - i];
	ck_assert_msg(merge_from(crts, TRUST_STORE_MAX, rev, TRUST_STORE_MAX, &out, &res, &e) == 0,
		      "%s", e.msg);
	ck_assert_uint_eq(res.kept, TRUST_STORE_MAX);
	ck_assert(is_list(&out, rev, TRUST_STORE_MAX));
	gnutls_free(out.data);
	ck_assert_int_eq(merge_from(crts, TRUST_STORE_MAX + 1, rev, 1, &out, &res, &e), -1);
	ck_assert_msg(strstr(e.msg, "trust store holds more than") != NULL, "%s", e.msg);
	ck_assert_int_eq(merge_from(crts, TRUST_STORE_MAX, crts, TRUST_STORE_MAX + 1, &out, &res, &e),
			 -1);
	ck_assert_msg(strstr(e.msg, "trust bundle holds more than") != NULL, "%s", e.msg);
	ck_assert_ptr_null(out.data);
	for (i = 0; i <= TRUST_STORE_MAX; i++)
		cafree(&many[i]);
}
END_TEST

START_TEST(test_garbage_refused)
{
	gnutls_datum_t s = pem(&primary.crt, 1), out;
	gnutls_datum_t junk = { (unsigned char *)"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 0 };
	gnutls_datum_t empty = { (unsigned char *)"", 0 };
	struct trust_result res;
	struct lerr e;

	junk.size = (unsigned)strlen((const char *)junk.data);
	ck_assert_int_eq(trust_merge(&s, &junk, &out, &res, &e), -1);
	ck_assert_int_eq(trust_merge(&s, &empty, &out, &res, &e), -1);
	ck_assert_int_eq(trust_merge(&empty, &s, &out, &res, &e), -1);
	gnutls_free(s.data);
}
END_TEST

/* ---- the chain a renewal brings back ---- */

/* A key: private and public halves. */
static void
mkkey(gnutls_privkey_t *k, gnutls_pubkey_t *pub)
{
	gnutls_x509_privkey_t x;
	struct lerr e;

	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &x, &e), 0);
	ck_assert_int_eq(gnutls_privkey_init(k), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(*k, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), 0);
	ck_assert_int_eq(keystore_pubkey(*k, pub, &e), 0);
}

/* A device leaf for dev1.local issued by issuer. */
static gnutls_x509_crt_t
mkleaf(gnutls_x509_crt_t issuer, gnutls_privkey_t issuer_key)
{
	unsigned char sn[X509_SERIAL_LEN];
	struct x509_leaf_params lp;
	gnutls_privkey_t k;
	gnutls_pubkey_t pub;
	gnutls_x509_crt_t leaf;
	struct names sans;
	gnutls_datum_t der;
	struct lerr e;

	mkkey(&k, &pub);
	names_init(&sans);
	ck_assert_int_eq(names_add_dns(&sans, "dev1.local"), 0);
	memset(&lp, 0, sizeof(lp));
	serial(sn);
	lp.pubkey = pub;
	lp.cn = "dev1";
	lp.sans = &sans;
	lp.not_before = time(NULL) - 60;
	lp.not_after = time(NULL) + 3600 * 24 * 30;
	lp.serial = sn;
	ck_assert_msg(x509_make_leaf(&lp, issuer, issuer_key, &der, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(x509_import(der.data, der.size, &leaf, &e), 0);
	gnutls_free(der.data);
	names_free(&sans);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(k);
	return leaf;
}

/* Whether chain verifies for a device whose store is roots[0..n). */
static int
verifies(const gnutls_x509_crt_t *roots, size_t n, gnutls_x509_crt_t *chain, unsigned len)
{
	gnutls_datum_t st = pem(roots, n);
	struct lerr e;
	int rc;

	lerr_clear(&e);
	rc = trust_verify_chain(&st, chain, len, &e);
	ck_assert(rc == 0 || e.msg[0] != '\0');
	gnutls_free(st.data);
	return rc == 0;
}

/* An issuing CA named OU=ou for pub, signed by issuer (pathlen 0). */
static gnutls_x509_crt_t
mkissuing(const struct ca *issuer, const char *ou, gnutls_pubkey_t pub)
{
	unsigned char sn[X509_SERIAL_LEN];
	struct x509_ca_params p;
	gnutls_x509_crt_t out = NULL;
	struct lerr e;

	params(&p, ou, sn);
	p.pathlen = 0;
	ck_assert_msg(x509_make_ca(&p, pub, issuer->crt, issuer->key, &out, &e) == 0, "%s", e.msg);
	return out;
}

/* Two generations: the old root A, the new root B, B's issuing CA, and
 * NewWithOld (B's subject and key certified by A). The gateway returns
 * [leaf, issuing B, NewWithOld]. A's pathLenConstraint must allow the two
 * CAs (NewWithOld, issuing B) between it and the leaf: see
 * test_chain_pathlen for a root that does not. */
START_TEST(test_chain_across_generations)
{
	struct ca a, b;
	gnutls_privkey_t ik;
	gnutls_pubkey_t ipub;
	gnutls_x509_crt_t issuing, nwo, leaf, chain[3], old_chain[2];

	mkroot_len(&a, "t Old Root CA", 2);
	mkroot_len(&b, "t New Root CA", 2);
	mkkey(&ik, &ipub);
	issuing = mkissuing(&b, "t New Issuing CA", ipub);
	nwo = mkcross(&a, "t New Root CA", b.pub);
	leaf = mkleaf(issuing, ik);
	chain[0] = leaf;
	chain[1] = issuing;
	chain[2] = nwo;

	/* A device that never refreshed: the old root, through NewWithOld. */
	ck_assert(verifies(&a.crt, 1, chain, 3));
	/* A device that refreshed: the new root; NewWithOld not needed. */
	ck_assert(verifies(&b.crt, 1, chain, 3));
	ck_assert(verifies(&b.crt, 1, chain, 2));
	{
		gnutls_x509_crt_t both[2] = { b.crt, a.crt };

		ck_assert(verifies(both, 2, chain, 3));
	}
	/* Without NewWithOld the old root has no path; an unrelated root has
	 * none at all. */
	ck_assert(!verifies(&a.crt, 1, chain, 2));
	ck_assert(!verifies(&other.crt, 1, chain, 3));
	ck_assert(!verifies(&primary.crt, 1, chain, 3));
	/* The generation before: a leaf under A itself still verifies under
	 * A, and not under B. */
	old_chain[0] = mkleaf(a.crt, a.key);
	old_chain[1] = a.crt;
	ck_assert(verifies(&a.crt, 1, old_chain, 2));
	ck_assert(!verifies(&b.crt, 1, old_chain, 2));

	gnutls_x509_crt_deinit(old_chain[0]);
	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_crt_deinit(nwo);
	gnutls_x509_crt_deinit(issuing);
	gnutls_pubkey_deinit(ipub);
	gnutls_privkey_deinit(ik);
	cafree(&a);
	cafree(&b);
}
END_TEST

/* Roots as init makes them today (pathLenConstraint 1): the device does
 * not relax the old root's constraint, so NewWithOld + issuing B (two
 * CAs below A) does not verify under A. What does is a certificate of
 * issuing B's own name and key signed by A, sent after issuing B: the
 * device finds the path leaf → (issuing B by A) → A, and a device
 * trusting B the path leaf → issuing B → B. */
START_TEST(test_chain_pathlen)
{
	struct ca b;
	gnutls_privkey_t ik;
	gnutls_pubkey_t ipub;
	gnutls_x509_crt_t issuing, nwo, iwo, leaf, chain[3];

	mkroot(&b, "t New Root CA");
	mkkey(&ik, &ipub);
	issuing = mkissuing(&b, "t New Issuing CA", ipub);
	nwo = mkcross(&primary, "t New Root CA", b.pub);
	iwo = mkissuing(&primary, "t New Issuing CA", ipub);
	leaf = mkleaf(issuing, ik);
	chain[0] = leaf;
	chain[1] = issuing;
	chain[2] = nwo;
	ck_assert(!verifies(&primary.crt, 1, chain, 3));
	ck_assert(verifies(&b.crt, 1, chain, 3));
	chain[2] = iwo;
	ck_assert(verifies(&primary.crt, 1, chain, 3));
	ck_assert(verifies(&b.crt, 1, chain, 3));
	ck_assert(!verifies(&other.crt, 1, chain, 3));

	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_crt_deinit(iwo);
	gnutls_x509_crt_deinit(nwo);
	gnutls_x509_crt_deinit(issuing);
	gnutls_pubkey_deinit(ipub);
	gnutls_privkey_deinit(ik);
	cafree(&b);
}
END_TEST

static Suite *
trust_suite(void)
{
	Suite *s = suite_create("trust");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_vouched_root_added);
	tcase_add_test(tc, test_same_bundle_adds_nothing);
	tcase_add_test(tc, test_unvouched_root_refused);
	tcase_add_test(tc, test_foreign_voucher_refused);
	tcase_add_test(tc, test_wider_constraints_refused);
	tcase_add_test(tc, test_voucher_for_another_key_refused);
	tcase_add_test(tc, test_voucher_for_another_name_refused);
	tcase_add_test(tc, test_one_bad_root_refuses_all);
	tcase_add_test(tc, test_not_a_ca_refused);
	tcase_add_test(tc, test_unlisted_root_dropped);
	tcase_add_test(tc, test_bundle_order_kept);
	tcase_add_test(tc, test_transitive);
	tcase_add_test(tc, test_no_root_refused);
	tcase_add_test(tc, test_forged_self_signature_refused);
	tcase_add_test(tc, test_store_bound);
	tcase_add_test(tc, test_garbage_refused);
	tcase_add_test(tc, test_chain_across_generations);
	tcase_add_test(tc, test_chain_pathlen);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(trust_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
