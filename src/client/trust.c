/*
 * trust.c - which roots of a trust bundle a device keeps, and whether a
 * chain leads to one of them (see trust.h).
 *
 * Everything a decision rests on is checked with GnuTLS: that a
 * certificate is self-issued, that a voucher carries the new root's exact
 * subject (raw DER) and key (SHA-256 key id), and that the voucher
 * verifies, at the current time, under one of the roots trusted now or
 * accepted earlier in the merge whose name constraints are the new
 * root's, byte for byte. The gateway's TLS connection was verified with
 * the same roots, but a root is accepted only on a voucher: whoever
 * controls the gateway's key still cannot add a root the device's roots
 * never signed for, and whoever holds a root's key cannot add one that
 * escapes its constraints.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "client/trust.h"
#include "common/hex.h"
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

/* 1 if a and b carry the same name constraints: the extension's DER and
 * criticality equal, or neither has one. */
static int
trust_same_constraints(gnutls_x509_crt_t a, gnutls_x509_crt_t b)
{
	gnutls_datum_t da = { NULL, 0 }, db = { NULL, 0 };
	unsigned ca = 0, cb = 0;
	int ga, gb, same;

	ga = gnutls_x509_crt_get_extension_by_oid2(a, GNUTLS_X509EXT_OID_NAME_CONSTRAINTS, 0,
						   &da, &ca);
	gb = gnutls_x509_crt_get_extension_by_oid2(b, GNUTLS_X509EXT_OID_NAME_CONSTRAINTS, 0,
						   &db, &cb);
	if (ga == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE && gb == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		same = 1;
	else
		same = ga >= 0 && gb >= 0 && ca == cb && da.size == db.size &&
		       memcmp(da.data, db.data, da.size) == 0;
	gnutls_free(da.data);
	gnutls_free(db.data);
	return same;
}

/* 1 if some certificate of bundle other than the root itself certifies
 * root's subject and key and verifies under one of the anchors[0..na)
 * (the roots trusted now or accepted earlier) whose name constraints are
 * exactly root's. Without that last rule whoever holds a trusted root's
 * key could vouch for an unconstrained root and escape the constraints
 * every device relies on. */
static int
trust_vouched(gnutls_x509_crt_t root, gnutls_x509_crt_t *bundle, unsigned n,
	      gnutls_x509_crt_t *anchors, unsigned na)
{
	unsigned i, k, status;

	for (i = 0; i < n; i++) {
		if (bundle[i] == root || gnutls_x509_crt_check_issuer(bundle[i], bundle[i]) ||
		    !trust_is_ca(bundle[i]) || !trust_same_subject_key(bundle[i], root))
			continue;
		for (k = 0; k < na; k++) {
			if (!trust_same_constraints(anchors[k], root))
				continue;
			status = 0;
			if (gnutls_x509_crt_verify(bundle[i], &anchors[k], 1, 0, &status) >= 0 &&
			    status == 0)
				return 1;
		}
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

/* Checks a root of the bundle the device does not trust yet: a CA whose
 * bytes are exactly what its own key signed (not another certificate of
 * the same name and key, other extensions, other dates). */
static int
trust_check_new(gnutls_x509_crt_t crt, struct lerr *e)
{
	char name[256];
	unsigned status = 0;

	trust_name(crt, name, sizeof(name));
	if (!trust_is_ca(crt))
		return lerr_set(e, LERR_BAD_REQUEST, "the bundle's root %s is not a CA: bundle refused",
				name);
	if (gnutls_x509_crt_verify(crt, &crt, 1, GNUTLS_VERIFY_DO_NOT_ALLOW_SAME, &status) < 0 ||
	    status != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the bundle's root %s is not signed by its own "
				"key: bundle refused", name);
	return 0;
}

/* What the merge knows of each root of the bundle. */
enum trust_state {
	TRUST_NOT_ROOT,		/* a voucher, or a root listed twice */
	TRUST_KNOWN,		/* trusted already */
	TRUST_PENDING,		/* new, no voucher found yet */
	TRUST_ACCEPTED		/* new, vouched for */
};

int
trust_merge(const gnutls_datum_t *store, const gnutls_datum_t *bundle, gnutls_datum_t *out,
	    struct trust_result *res, struct lerr *e)
{
	gnutls_x509_crt_t have[TRUST_STORE_MAX], got[TRUST_BUNDLE_CERTS_MAX];
	gnutls_x509_crt_t anchors[TRUST_STORE_MAX + TRUST_BUNDLE_CERTS_MAX];
	enum trust_state st[TRUST_BUNDLE_CERTS_MAX];
	unsigned nhave = 0, ngot = 0, nanchors = 0, i, j, kept, progress;
	unsigned char fp[32];
	size_t fl;
	char name[256];
	int rc = -1;

	out->data = NULL;
	out->size = 0;
	memset(res, 0, sizeof(*res));
	if (trust_parse(store, have, TRUST_STORE_MAX, &nhave, "trust store", e) != 0 ||
	    trust_parse(bundle, got, TRUST_BUNDLE_CERTS_MAX, &ngot, "trust bundle", e) != 0)
		goto out;
	/* Only the roots trusted now, and those accepted in this merge: no
	 * system store is borrowed. */
	for (i = 0; i < nhave; i++)
		anchors[nanchors++] = have[i];
	/* Sort the bundle: vouchers (not self-issued) and repeats are no
	 * roots; each root is trusted already or must pass its own checks. */
	for (i = 0; i < ngot; i++) {
		st[i] = gnutls_x509_crt_check_issuer(got[i], got[i]) ? TRUST_PENDING : TRUST_NOT_ROOT;
		for (j = 0; j < i && st[i] != TRUST_NOT_ROOT; j++)
			if (st[j] != TRUST_NOT_ROOT && trust_same(got[i], got[j]))
				st[i] = TRUST_NOT_ROOT;
		for (j = 0; j < nhave && st[i] == TRUST_PENDING; j++)
			if (trust_same(got[i], have[j]))
				st[i] = TRUST_KNOWN;
		if (st[i] == TRUST_PENDING && trust_check_new(got[i], e) != 0)
			goto out;
	}
	/* Accept transitively: a voucher may verify under a root accepted in
	 * an earlier round (the old root vouches for the new, the new for the
	 * backup), whatever the bundle's order. Each round accepts at least
	 * one root or ends the loop. */
	do {
		progress = 0;
		for (i = 0; i < ngot; i++) {
			if (st[i] != TRUST_PENDING ||
			    !trust_vouched(got[i], got, ngot, anchors, nanchors))
				continue;
			anchors[nanchors++] = got[i];
			st[i] = TRUST_ACCEPTED;
			res->added++;
			progress = 1;
		}
	} while (progress);
	for (kept = 0, i = 0; i < ngot; i++) {
		if (st[i] == TRUST_PENDING) {
			trust_name(got[i], name, sizeof(name));
			lerr_set(e, LERR_BAD_REQUEST,
				 "the bundle's root %s is not vouched for by a root this device "
				 "trusts: bundle refused", name);
			goto out;
		}
		kept += st[i] != TRUST_NOT_ROOT;
	}
	/* Never a store without a root: the roots the fetch was verified with
	 * stay unless the bundle gives at least one in their place. */
	if (kept == 0) {
		lerr_set(e, LERR_BAD_REQUEST, "the trust bundle lists no root: bundle refused");
		goto out;
	}
	if (kept > TRUST_STORE_MAX) {
		lerr_set(e, LERR_TOO_LARGE, "the trust store would hold more than %d roots: "
			 "bundle refused", TRUST_STORE_MAX);
		goto out;
	}
	for (i = 0; i < ngot; i++)
		if (st[i] != TRUST_NOT_ROOT && trust_append(out, got[i], e) != 0)
			goto out;
	res->kept = kept;
	/* What the store held and the bundle no longer lists, each once. */
	for (i = 0; i < nhave; i++) {
		int listed = 0;

		for (j = 0; j < ngot && !listed; j++)
			listed = st[j] == TRUST_KNOWN && trust_same(have[i], got[j]);
		for (j = 0; j < i && !listed; j++)
			listed = trust_same(have[i], have[j]);
		if (listed)
			continue;
		fl = sizeof(fp);
		if (gnutls_x509_crt_get_fingerprint(have[i], GNUTLS_DIG_SHA256, fp, &fl) < 0 ||
		    fl != sizeof(fp)) {
			lerr_set(e, LERR_INTERNAL, "cannot fingerprint a trusted root");
			goto out;
		}
		trust_name(have[i], res->dropped[res->ndropped].subject,
			   sizeof(res->dropped[0].subject));
		hex_encode(fp, fl, res->dropped[res->ndropped].sha256);
		res->ndropped++;
	}
	rc = 0;
out:
	trust_free_list(have, nhave);
	trust_free_list(got, ngot);
	if (rc != 0) {
		gnutls_free(out->data);
		out->data = NULL;
		out->size = 0;
		memset(res, 0, sizeof(*res));
	}
	return rc;
}

/*
 * 1 if some path from path[depth - 1] through certificates of chain[1..n)
 * verifies under tl: path[0..depth) first, then each way of going on
 * with a certificate of chain that names the last one's issuer (each used
 * once, so the search ends). The gateway's chain may hold a
 * cross-certificate for a device trusting the old root that a device
 * trusting the new one must skip, or the other way round.
 */
static int
trust_path(gnutls_x509_trust_list_t tl, gnutls_x509_crt_t *chain, unsigned n,
	   gnutls_x509_crt_t *path, unsigned depth, unsigned used)
{
	unsigned j, status = 0;

	if (gnutls_x509_trust_list_verify_crt(tl, path, depth,
					      GNUTLS_VERIFY_DO_NOT_ALLOW_UNSORTED_CHAIN, &status,
					      NULL) >= 0 && status == 0)
		return 1;
	for (j = 1; j < n; j++) {
		if ((used & (1u << j)) != 0 || !gnutls_x509_crt_check_issuer(path[depth - 1], chain[j]))
			continue;
		path[depth] = chain[j];
		if (trust_path(tl, chain, n, path, depth + 1, used | (1u << j)))
			return 1;
	}
	return 0;
}

int
trust_verify_chain(const gnutls_datum_t *store, gnutls_x509_crt_t *chain, unsigned n,
		   struct lerr *e)
{
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_datum_t msg = { NULL, 0 };
	gnutls_x509_crt_t path[TRUST_CHAIN_MAX];
	unsigned s0 = 0;
	int g, g0, rc = -1;

	if (n == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the chain is empty");
	if ((g = gnutls_x509_trust_list_init(&tl, 0)) < 0 ||
	    (g = gnutls_x509_trust_list_add_trust_mem(tl, store, NULL, GNUTLS_X509_FMT_PEM, 0,
						      0)) <= 0) {
		lerr_set(e, LERR_BAD_REQUEST, "the trust store: %s",
			 g < 0 ? gnutls_strerror(g) : "no certificate");
		goto out;
	}
	if (n > TRUST_CHAIN_MAX) {
		lerr_set(e, LERR_TOO_LARGE, "the chain holds more than %d certificates",
			 TRUST_CHAIN_MAX);
		goto out;
	}
	path[0] = chain[0];
	if (trust_path(tl, chain, n, path, 1, 1u)) {
		rc = 0;
		goto out;
	}
	/* No path: the chain as sent says best why. */
	g0 = gnutls_x509_trust_list_verify_crt(tl, chain, n, 0, &s0, NULL);
	if (g0 >= 0 && s0 == 0)
		rc = 0;
	else if (g0 < 0)
		lerr_set(e, LERR_BAD_REQUEST, "%s", gnutls_strerror(g0));
	else if (gnutls_certificate_verification_status_print(s0, GNUTLS_CRT_X509, &msg, 0) == 0)
		lerr_set(e, LERR_BAD_REQUEST, "%s", (char *)msg.data);
	else
		lerr_set(e, LERR_BAD_REQUEST, "invalid");
out:
	gnutls_free(msg.data);
	if (tl != NULL)
		gnutls_x509_trust_list_deinit(tl, 1);
	return rc;
}
