/*
 * trust.c - which roots of a trust bundle a device accepts (see trust.h).
 *
 * Everything a decision rests on is checked with GnuTLS: that a
 * certificate is self-issued, that a voucher carries the new root's exact
 * subject (raw DER) and key (SHA-256 key id), and that the voucher
 * verifies under the roots trusted now (a trust list of those alone, at
 * the current time). The gateway's TLS connection was verified with the
 * same roots, but a root is accepted only on a voucher: whoever controls
 * the gateway's key still cannot add a root the device's roots never
 * signed for.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "client/trust.h"
#include "common/lerr.h"

/* A parsed PEM list: up to max certificates into crts[], *n of them. */
static int
trust_parse(const gnutls_datum_t *pem, gnutls_x509_crt_t *crts, unsigned max, unsigned *n,
	    const char *what, struct lerr *e)
{
	unsigned got = max;
	int g;

	*n = 0;
	if (pem == NULL || pem->data == NULL || pem->size == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the %s is empty", what);
	/* Past max, refuse rather than keep the first max: a store read
	 * short would be written back without the rest. */
	g = gnutls_x509_crt_list_import(crts, &got, pem, GNUTLS_X509_FMT_PEM,
					GNUTLS_X509_CRT_LIST_IMPORT_FAIL_IF_EXCEED);
	if (g == GNUTLS_E_SHORT_MEMORY_BUFFER)
		return lerr_set(e, LERR_TOO_LARGE, "the %s holds more than %u certificates", what, max);
	if (g < 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the %s does not parse: %s", what,
				gnutls_strerror(g));
	if (g == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the %s holds no certificate", what);
	*n = (unsigned)g;
	return 0;
}

static void
trust_free_list(gnutls_x509_crt_t *crts, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
}

/* 1 if a and b are the same certificate, byte for byte, else 0. (Not
 * gnutls_x509_crt_equals, which finds a certificate of the same name and
 * key, other dates and another signature, "equal".) */
static int
trust_same(gnutls_x509_crt_t a, gnutls_x509_crt_t b)
{
	unsigned char fa[32], fb[32];
	size_t la = sizeof(fa), lb = sizeof(fb);

	return gnutls_x509_crt_get_fingerprint(a, GNUTLS_DIG_SHA256, fa, &la) == 0 &&
	       gnutls_x509_crt_get_fingerprint(b, GNUTLS_DIG_SHA256, fb, &lb) == 0 &&
	       la == lb && memcmp(fa, fb, la) == 0;
}

/* 1 if crt is a CA certificate (basicConstraints cA). */
static int
trust_is_ca(gnutls_x509_crt_t crt)
{
	unsigned critical = 0, ca = 0;
	int pathlen = -1;

	return gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca, &pathlen) >= 0 && ca;
}

/* 1 if a and b have the same subject (raw DER) and the same key. */
static int
trust_same_subject_key(gnutls_x509_crt_t a, gnutls_x509_crt_t b)
{
	gnutls_datum_t da = { NULL, 0 }, db = { NULL, 0 };
	unsigned char ka[64], kb[64];
	size_t la = sizeof(ka), lb = sizeof(kb);
	int same = 0;

	if (gnutls_x509_crt_get_raw_dn(a, &da) >= 0 && gnutls_x509_crt_get_raw_dn(b, &db) >= 0 &&
	    da.size == db.size && memcmp(da.data, db.data, da.size) == 0 &&
	    gnutls_x509_crt_get_key_id(a, GNUTLS_KEYID_USE_SHA256, ka, &la) >= 0 &&
	    gnutls_x509_crt_get_key_id(b, GNUTLS_KEYID_USE_SHA256, kb, &lb) >= 0 &&
	    la == lb && memcmp(ka, kb, la) == 0)
		same = 1;
	gnutls_free(da.data);
	gnutls_free(db.data);
	return same;
}

/* The subject of crt, for messages. */
static void
trust_name(gnutls_x509_crt_t crt, char *out, size_t n)
{
	size_t len = n;

	if (gnutls_x509_crt_get_dn(crt, out, &len) < 0)
		snprintf(out, n, "?");
}

/* 1 if some certificate of bundle other than the root itself certifies
 * root's subject and key and verifies under the trusted roots in tl. */
static int
trust_vouched(gnutls_x509_crt_t root, gnutls_x509_crt_t *bundle, unsigned n,
	      gnutls_x509_trust_list_t tl)
{
	unsigned i, status;

	for (i = 0; i < n; i++) {
		if (bundle[i] == root || gnutls_x509_crt_check_issuer(bundle[i], bundle[i]) ||
		    !trust_is_ca(bundle[i]) || !trust_same_subject_key(bundle[i], root))
			continue;
		status = 0;
		if (gnutls_x509_trust_list_verify_crt(tl, &bundle[i], 1, 0, &status, NULL) >= 0 &&
		    status == 0)
			return 1;
	}
	return 0;
}

/* Appends crt's PEM to the growing *out. */
static int
trust_append(gnutls_datum_t *out, gnutls_x509_crt_t crt, struct lerr *e)
{
	gnutls_datum_t pem = { NULL, 0 };
	unsigned char *p;

	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem) < 0)
		return lerr_set(e, LERR_INTERNAL, "cannot encode a certificate");
	p = gnutls_realloc(out->data, out->size + pem.size + 1);
	if (p == NULL) {
		gnutls_free(pem.data);
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	}
	memcpy(p + out->size, pem.data, pem.size);
	out->data = p;
	out->size += pem.size;
	out->data[out->size] = '\0';
	gnutls_free(pem.data);
	return 0;
}

int
trust_merge(const gnutls_datum_t *store, const gnutls_datum_t *bundle, gnutls_datum_t *out,
	    unsigned *added, struct lerr *e)
{
	gnutls_x509_crt_t have[TRUST_STORE_MAX], got[TRUST_BUNDLE_CERTS_MAX];
	gnutls_x509_crt_t fresh[TRUST_BUNDLE_CERTS_MAX];
	gnutls_x509_trust_list_t tl = NULL;
	unsigned nhave = 0, ngot = 0, nfresh = 0, i, j, known, status;
	char name[256];
	int rc = -1;

	out->data = NULL;
	out->size = 0;
	*added = 0;
	if (trust_parse(store, have, TRUST_STORE_MAX, &nhave, "trust store", e) != 0 ||
	    trust_parse(bundle, got, TRUST_BUNDLE_CERTS_MAX, &ngot, "trust bundle", e) != 0)
		goto out;
	/* Only the roots trusted now: a trust list that borrows nothing. */
	if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < nhave; i++) {
		gnutls_datum_t der = { NULL, 0 };
		int g;

		if (gnutls_x509_crt_export2(have[i], GNUTLS_X509_FMT_DER, &der) < 0) {
			lerr_set(e, LERR_INTERNAL, "cannot encode a trusted root");
			goto out;
		}
		g = gnutls_x509_trust_list_add_trust_mem(tl, &der, NULL, GNUTLS_X509_FMT_DER, 0, 0);
		gnutls_free(der.data);
		if (g <= 0) {
			lerr_set(e, LERR_INTERNAL, "cannot use a trusted root");
			goto out;
		}
	}
	for (i = 0; i < ngot; i++) {
		/* Not self-issued: a voucher, used only to accept a root. */
		if (!gnutls_x509_crt_check_issuer(got[i], got[i]))
			continue;
		for (known = 0, j = 0; j < nhave && !known; j++)
			known = trust_same(got[i], have[j]);
		for (j = 0; j < nfresh && !known; j++)
			known = trust_same(got[i], fresh[j]);
		if (known)
			continue;
		trust_name(got[i], name, sizeof(name));
		if (!trust_is_ca(got[i])) {
			lerr_set(e, LERR_BAD_REQUEST, "the bundle's root %s is not a CA: bundle refused",
				 name);
			goto out;
		}
		/* The root's own signature: the bytes kept are exactly what its
		 * key signed, not another certificate of the same name and key
		 * (other extensions, other dates). */
		status = 0;
		if (gnutls_x509_crt_verify(got[i], &got[i], 1, GNUTLS_VERIFY_DO_NOT_ALLOW_SAME,
					   &status) < 0 || status != 0) {
			lerr_set(e, LERR_BAD_REQUEST, "the bundle's root %s is not signed by its "
				 "own key: bundle refused", name);
			goto out;
		}
		if (!trust_vouched(got[i], got, ngot, tl)) {
			lerr_set(e, LERR_BAD_REQUEST,
				 "the bundle's root %s is not vouched for by a root this device "
				 "trusts: bundle refused", name);
			goto out;
		}
		if (nhave + nfresh >= TRUST_STORE_MAX) {
			lerr_set(e, LERR_TOO_LARGE, "the trust store would hold more than %d roots: "
				 "bundle refused", TRUST_STORE_MAX);
			goto out;
		}
		fresh[nfresh++] = got[i];
	}
	for (i = 0; i < nhave; i++)
		if (trust_append(out, have[i], e) != 0)
			goto out;
	for (i = 0; i < nfresh; i++)
		if (trust_append(out, fresh[i], e) != 0)
			goto out;
	*added = nfresh;
	rc = 0;
out:
	if (tl != NULL)
		gnutls_x509_trust_list_deinit(tl, 1);	/* with the roots add_trust_mem made */
	trust_free_list(have, nhave);
	trust_free_list(got, ngot);
	if (rc != 0) {
		gnutls_free(out->data);
		out->data = NULL;
		out->size = 0;
	}
	return rc;
}
