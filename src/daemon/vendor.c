/*
 * vendor.c - manufacturer CAs: registering one, and deciding whether a
 * client's certificate chain leads to one (see vendor.h).
 *
 * The verdict is GnuTLS's (gnutls_x509_trust_list_verify_crt2 over a trust
 * list of every registered vendor CA) with one change: GnuTLS checks
 * validity against the clock, and the caller gives us "now", so the time
 * checks are switched off there and done here on exactly the certificates
 * of the path. That is why the path is built here first (leaf, then each
 * presented certificate that issued the previous one, until a vendor CA
 * issued one): extra certificates a client sends that are not on the
 * path must not fail it for being expired.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/vendor.h"
#include "ca/x509.h"

#define VENDOR_MAX	1024	/* registered vendor CAs read per check */

/* One registered vendor, parsed. */
struct vd_ca {
	gnutls_x509_crt_t crt;
	int64_t id;
	int auto_register;
	char subject[256];
	char fingerprint[65];
};

struct vd_list {
	struct vd_ca *v;
	size_t n, alloc;
	int failed;
	struct lerr *e;
};

/* The subject DN as text, cut (at a character boundary, marked "...") to
 * fit out: a subject is for people to read, a long one is no error. */
static void
vd_subject(gnutls_x509_crt_t crt, char *out, size_t n)
{
	gnutls_datum_t dn = { NULL, 0 };
	size_t m;

	out[0] = '\0';
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) < 0) {
		snprintf(out, n, "?");
		return;
	}
	if (dn.size < n) {
		memcpy(out, dn.data, dn.size);
		out[dn.size] = '\0';
	} else {
		m = n - 4;
		while (m > 0 && (dn.data[m] & 0xc0) == 0x80)
			m--;
		memcpy(out, dn.data, m);
		memcpy(out + m, "...", 4);
	}
	gnutls_free(dn.data);
}

/* RFC 3339 UTC of t into out, for messages. */
static const char *
vd_time(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "?");
	return out;
}

int
vendor_ca_ok(gnutls_x509_crt_t crt, time_t now, struct lerr *e)
{
	unsigned critical = 0, ca = 0, usage = 0;
	int pathlen = -1, ret;
	time_t t;
	char when[32];

	if (gnutls_x509_crt_get_version(crt) != 3)
		return lerr_set(e, LERR_BAD_REQUEST,
				"not a CA certificate: X.509 version %d, a CA must be v3",
				gnutls_x509_crt_get_version(crt));
	ret = gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca, &pathlen);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return lerr_set(e, LERR_BAD_REQUEST,
				"not a CA certificate: it has no basicConstraints extension");
	if (ret < 0)
		return lerr_set(e, LERR_BAD_REQUEST,
				"not a CA certificate: unreadable basicConstraints: %s",
				gnutls_strerror(ret));
	if (!ca)
		return lerr_set(e, LERR_BAD_REQUEST,
				"not a CA certificate: basicConstraints says CA:FALSE");
	ret = gnutls_x509_crt_get_key_usage(crt, &usage, &critical);
	if (ret >= 0 && !(usage & GNUTLS_KEY_KEY_CERT_SIGN))
		return lerr_set(e, LERR_BAD_REQUEST,
				"not a CA certificate: its keyUsage lacks keyCertSign");
	if (ret < 0 && ret != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return lerr_set(e, LERR_BAD_REQUEST, "unreadable keyUsage: %s",
				gnutls_strerror(ret));
	if ((t = gnutls_x509_crt_get_expiration_time(crt)) != (time_t)-1 && t < now)
		return lerr_set(e, LERR_BAD_REQUEST, "the CA certificate expired on %s",
				vd_time(t, when));
	return 0;
}

int
vendor_read(const unsigned char *data, size_t len, time_t now, gnutls_datum_t *der,
	    char subject[256], char fp[65], struct lerr *e)
{
	gnutls_x509_crt_t crt = NULL;
	int rc = -1;

	der->data = NULL;
	der->size = 0;
	if (len > VENDOR_CERT_MAX) {
		lerr_set_http(e, LERR_TOO_LARGE, 413, "larger than %d bytes", VENDOR_CERT_MAX);
		goto out;
	}
	if (x509_import(data, len, &crt, e) != 0 || vendor_ca_ok(crt, now, e) != 0)
		goto out;
	if (x509_export_der(crt, der) != 0 || x509_fingerprint(crt, fp) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the certificate");
		goto out;
	}
	vd_subject(crt, subject, 256);
	rc = 0;
out:
	if (rc != 0) {
		gnutls_free(der->data);
		der->data = NULL;
		der->size = 0;
	}
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

int
vendor_add(struct store *s, const unsigned char *data, size_t len, int auto_register,
	   time_t now, const char *actor, char out_subject[256], char out_fp[65],
	   struct lerr *e)
{
	gnutls_datum_t der = { NULL, 0 };
	char subject[256], fp[65];
	int rc = -1;

	if (vendor_read(data, len, now, &der, subject, fp, e) != 0)
		goto out;
	if (store_vendor_add(s, subject, fp, auto_register, der.data, der.size, actor, e) != 0)
		goto out;
	if (out_subject != NULL)
		memcpy(out_subject, subject, sizeof(subject));
	if (out_fp != NULL)
		memcpy(out_fp, fp, sizeof(fp));
	rc = 0;
out:
	gnutls_free(der.data);
	return rc;
}

/* ---- the registered vendors, read afresh for each check ---- */

static void
vd_list_free(struct vd_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		gnutls_x509_crt_deinit(l->v[i].crt);
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

/* store_vendor_each callback: parses one row into the list. A row that
 * no longer parses is skipped: the add checked it, so it means a damaged
 * row, and one bad row must not stop every other vendor's devices. */
static int
vd_list_add(const struct store_vendor *sv, void *arg)
{
	struct vd_list *l = arg;
	gnutls_x509_crt_t crt = NULL;
	struct vd_ca *p;
	size_t na;

	if (l->n >= VENDOR_MAX)
		return 1;
	if (x509_import(sv->der, sv->der_len, &crt, NULL) != 0)
		return 0;
	if (l->n == l->alloc) {
		na = l->alloc == 0 ? 8 : l->alloc * 2;
		if ((p = realloc(l->v, na * sizeof(*p))) == NULL) {
			gnutls_x509_crt_deinit(crt);
			l->failed = 1;
			lerr_set(l->e, LERR_INTERNAL, "out of memory");
			return 1;
		}
		l->v = p;
		l->alloc = na;
	}
	p = &l->v[l->n++];
	p->crt = crt;
	p->id = sv->id;
	p->auto_register = sv->auto_register;
	snprintf(p->subject, sizeof(p->subject), "%s", sv->subject);
	snprintf(p->fingerprint, sizeof(p->fingerprint), "%s", sv->fingerprint);
	return 0;
}

/* 1 if crt is vendor v itself or was issued by it (names only). */
static int
vd_near(gnutls_x509_crt_t crt, const struct vd_ca *v)
{
	return gnutls_x509_crt_equals(crt, v->crt) || gnutls_x509_crt_check_issuer(crt, v->crt);
}

/* 1 if some vendor CA is, or named the issuer of, crt. */
static int
vd_anchored(gnutls_x509_crt_t crt, const struct vd_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (vd_near(crt, &l->v[i]))
			return 1;
	return 0;
}

/* 0 if crt is valid at now; else -1 with why in e. */
static int
vd_valid_at(gnutls_x509_crt_t crt, const char *what, time_t now, struct lerr *e)
{
	char when[32], name[128];
	time_t nb, na;

	nb = gnutls_x509_crt_get_activation_time(crt);
	na = gnutls_x509_crt_get_expiration_time(crt);
	if (nb == (time_t)-1 || na == (time_t)-1) {
		vd_subject(crt, name, sizeof(name));
		return lerr_set(e, LERR_FORBIDDEN, "%s %s: unreadable validity", what, name);
	}
	if (now < nb) {
		vd_subject(crt, name, sizeof(name));
		return lerr_set(e, LERR_FORBIDDEN, "%s %s is not valid before %s", what,
				name, vd_time(nb, when));
	}
	if (now > na) {
		vd_subject(crt, name, sizeof(name));
		return lerr_set(e, LERR_FORBIDDEN, "%s %s expired on %s", what, name,
				vd_time(na, when));
	}
	return 0;
}

/* Fills the leaf's part of out; 0, or -1 with why it cannot be recorded. */
static int
vd_leaf_info(gnutls_x509_crt_t leaf, struct vendor_match *out, struct lerr *e)
{
	size_t sz = sizeof(out->leaf_cn);
	int ret;

	vd_subject(leaf, out->leaf_subject, sizeof(out->leaf_subject));
	ret = gnutls_x509_crt_get_dn_by_oid(leaf, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
					    out->leaf_cn, &sz);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		out->leaf_cn[0] = '\0';
	else if (ret < 0)
		return lerr_set(e, LERR_FORBIDDEN,
				"factory certificate: CN unreadable or longer than 64 bytes");
	if (x509_serial_hex(leaf, out->leaf_serial, sizeof(out->leaf_serial)) != 0)
		return lerr_set(e, LERR_FORBIDDEN,
				"factory certificate: serial number longer than 20 bytes");
	return 0;
}

/* 1 when crt may authenticate a TLS client: no extendedKeyUsage, or one
 * that lists clientAuth or anyExtendedKeyUsage. */
static int
vd_client_purpose(gnutls_x509_crt_t crt)
{
	char oid[128];
	size_t len;
	unsigned i, critical;
	int ret, any = 0;

	for (i = 0;; i++) {
		len = sizeof(oid);
		ret = gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &len, &critical);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (ret < 0)
			return 0;
		any = 1;
		if (strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0 || strcmp(oid, GNUTLS_KP_ANY) == 0)
			return 1;
	}
	return !any;
}

/*
 * See vendor.h. Ownership: peer is borrowed; the vendor CAs are parsed
 * twice, once for the trust list (which owns and frees its copies) and
 * once here to say which vendor matched.
 */
static int
vendor_check(struct store *s, const struct store_vendor *rows, size_t nrows,
	     const gnutls_x509_crt_t *peer, unsigned npeer, time_t now,
	     struct vendor_match *out, struct lerr *e)
{
	const unsigned flags = GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
			       GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS |
			       GNUTLS_VERIFY_DO_NOT_ALLOW_UNSORTED_CHAIN;
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_x509_crt_t path[VENDOR_CHAIN_MAX], *cas = NULL, last;
	gnutls_datum_t pr = { NULL, 0 };
	struct vd_list l;
	unsigned char used[VENDOR_CHAIN_MAX];
	unsigned npath, i, j, status = 0, ca = 0, critical = 0;
	struct lerr why;
	size_t k, nca = 0;
	int ret, rc = -1;

	memset(&l, 0, sizeof(l));
	memset(used, 0, sizeof(used));
	lerr_clear(e);
	lerr_clear(&why);
	memset(out, 0, sizeof(*out));
	l.e = e;
	if (npeer > VENDOR_CHAIN_MAX) {
		lerr_set(e, LERR_BAD_REQUEST,
			 "client certificate chain of %u certificates (at most %d)",
			 npeer, VENDOR_CHAIN_MAX);
		goto out;
	}
	if (npeer == 0 || peer == NULL) {
		rc = 0;
		goto out;
	}
	if (s != NULL && store_vendor_each(s, vd_list_add, &l, e) != 0)
		goto out;
	for (k = 0; s == NULL && k < nrows && vd_list_add(&rows[k], &l) == 0; k++)
		;
	if (l.failed)
		goto out;
	if (l.n == 0) {
		rc = 0;
		goto out;
	}

	/* The path, leaf first. */
	path[0] = peer[0];
	used[0] = 1;
	npath = 1;
	while (!vd_anchored(path[npath - 1], &l) && npath < npeer) {
		for (j = 1; j < npeer; j++)
			if (!used[j] && gnutls_x509_crt_check_issuer(path[npath - 1], peer[j]))
				break;
		if (j == npeer)
			break;
		used[j] = 1;
		path[npath++] = peer[j];
	}
	last = path[npath - 1];
	if (!vd_anchored(last, &l)) {
		rc = 0;		/* someone else's CA: not ours to judge */
		goto out;
	}
	/* From here on a registered vendor is involved, so a failure says
	 * why (in e, for the log) although it is still a plain "no". */
	if (gnutls_x509_crt_get_basic_constraints(peer[0], &critical, &ca, NULL) >= 0 && ca) {
		lerr_set(e, LERR_FORBIDDEN,
			 "the client certificate is a CA certificate, not a device's");
		rc = 0;
		goto out;
	}
	/* A factory certificate made for TLS clients (or for any purpose):
	 * a vendor's server or code-signing certificate vouches for nothing. */
	if (!vd_client_purpose(peer[0])) {
		lerr_set(e, LERR_FORBIDDEN,
			 "the client certificate is not meant for TLS client authentication");
		rc = 0;
		goto out;
	}

	/* The trust list owns its own copies of the vendor CAs. */
	if ((cas = calloc(l.n, sizeof(*cas))) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if ((ret = gnutls_x509_trust_list_init(&tl, 0)) < 0) {
		lerr_set(e, LERR_INTERNAL, "trust list: %s", gnutls_strerror(ret));
		goto out;
	}
	for (k = 0; k < l.n; k++) {
		gnutls_datum_t der = { NULL, 0 };

		if (x509_export_der(l.v[k].crt, &der) != 0 ||
		    x509_import(der.data, der.size, &cas[nca], e) != 0) {
			gnutls_free(der.data);
			lerr_set(e, LERR_INTERNAL, "cannot copy a vendor CA");
			goto out;
		}
		gnutls_free(der.data);
		nca++;
	}
	/* From here tl owns the copies and frees them. (GnuTLS does not say
	 * which ones it kept when an add fails part-way, out of memory: the
	 * rest then leak rather than risk a double free.) */
	ret = gnutls_x509_trust_list_add_cas(tl, cas, (unsigned)nca, 0);
	k = nca;
	nca = 0;
	if (ret < 0 || (size_t)ret != k) {
		lerr_set(e, LERR_INTERNAL, "trust list: %s",
			 ret < 0 ? gnutls_strerror(ret) : "not every CA was added");
		goto out;
	}

	ret = gnutls_x509_trust_list_verify_crt2(tl, path, npath, NULL, 0, flags, &status, NULL);
	if (ret < 0) {
		lerr_set(e, LERR_INTERNAL, "chain verification: %s", gnutls_strerror(ret));
		goto out;
	}
	if (status != 0) {
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
								  &pr, 0) < 0)
			pr.data = NULL;
		/* GnuTLS ends its sentences with a blank. */
		while (pr.data != NULL && pr.size > 0 && pr.data[pr.size - 1] == ' ')
			pr.data[--pr.size] = '\0';
		lerr_set(e, LERR_FORBIDDEN, "factory certificate chain rejected: %s",
			 pr.data != NULL ? (const char *)pr.data : "verification failed");
		rc = 0;
		goto out;
	}

	/* Which vendor: the first whose CA is the end of the path or signed
	 * it, with every certificate on the path and the CA valid at now. */
	for (k = 0; k < l.n; k++) {
		struct vd_ca *v = &l.v[k];
		unsigned st = 0;

		if (!vd_near(last, v))
			continue;
		if (!gnutls_x509_crt_equals(last, v->crt) &&
		    (gnutls_x509_crt_verify(last, &v->crt, 1, flags, &st) < 0 || st != 0))
			continue;
		for (i = 0; i < npath; i++)
			if (vd_valid_at(path[i], i == 0 ? "factory certificate" :
					"intermediate CA", now, &why) != 0)
				break;
		if (i < npath || vd_valid_at(v->crt, "vendor CA", now, &why) != 0)
			continue;
		if (vd_leaf_info(peer[0], out, &why) != 0)
			continue;
		out->vendor_id = v->id;
		out->auto_register = v->auto_register;
		snprintf(out->vendor_subject, sizeof(out->vendor_subject), "%s", v->subject);
		snprintf(out->vendor_fingerprint, sizeof(out->vendor_fingerprint), "%s",
			 v->fingerprint);
		rc = 1;
		goto out;
	}
	if (why.code != LERR_NONE && e != NULL)
		*e = why;
	else
		lerr_set(e, LERR_FORBIDDEN, "no registered vendor CA signed the chain");
	rc = 0;
out:
	if (rc != 1)
		memset(out, 0, sizeof(*out));
	gnutls_free(pr.data);
	if (tl != NULL)
		gnutls_x509_trust_list_deinit(tl, 1);
	for (k = 0; k < nca; k++)
		gnutls_x509_crt_deinit(cas[k]);
	free(cas);
	vd_list_free(&l);
	return rc;
}

int
vendor_check_chain(struct store *s, const gnutls_x509_crt_t *peer, unsigned npeer,
		   time_t now, struct vendor_match *out, struct lerr *e)
{
	if (s == NULL)
		return lerr_set(e, LERR_INTERNAL, "vendor_check_chain: no store");
	return vendor_check(s, NULL, 0, peer, npeer, now, out, e);
}

int
vendor_check_chain_rows(const struct store_vendor *rows, size_t nrows,
			const gnutls_x509_crt_t *peer, unsigned npeer, time_t now,
			struct vendor_match *out, struct lerr *e)
{
	return vendor_check(NULL, rows, nrows, peer, npeer, now, out, e);
}
