/*
 * crl.c - revocation reasons and the CRL builder (see crl.h).
 *
 * GnuTLS builds and signs the CRL: version 2, the dates, the entries,
 * the CRL number and the AKI. Its API has no way to give an entry an
 * extension, so when some entry has a reason other than unspecified
 * (which RFC 5280 says to leave out), the CRL is read through crl.asn
 * with libtasn1 (the ASN.1 library GnuTLS itself uses), a tbsCertList is
 * made again of GnuTLS's parts (each copied as its DER) and the
 * entries' reasonCodes, and signed again with the algorithm GnuTLS
 * chose. Whatever the path, crl_check() re-reads the
 * final bytes with GnuTLS and verifies the signature under the issuer
 * before anyone sees them.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include <libtasn1.h>

#include "ca/crl.h"
#include "ca/x509.h"

#define CRL_OID_REASON		"2.5.29.21"	/* id-ce-cRLReasons */
#define CRL_NAME_MAX		96		/* a path into the tree */

static const struct {
	enum crl_reason reason;
	const char *word;			/* RFC 5280's name, as crl.asn spells it */
} crl_reasons[] = {
	{ CRL_REASON_UNSPECIFIED, "unspecified" },
	{ CRL_REASON_KEY_COMPROMISE, "keyCompromise" },
	{ CRL_REASON_AFFILIATION_CHANGED, "affiliationChanged" },
	{ CRL_REASON_SUPERSEDED, "superseded" },
	{ CRL_REASON_CESSATION_OF_OPERATION, "cessationOfOperation" },
	{ CRL_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
};

const char *
crl_reason_str(int r)
{
	size_t i;

	for (i = 0; i < sizeof(crl_reasons) / sizeof(crl_reasons[0]); i++)
		if ((int)crl_reasons[i].reason == r)
			return crl_reasons[i].word;
	return NULL;
}

int
crl_reason_parse(const char *s, enum crl_reason *out)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(crl_reasons) / sizeof(crl_reasons[0]); i++) {
		if (strcmp(crl_reasons[i].word, s) == 0) {
			*out = crl_reasons[i].reason;
			return 0;
		}
	}
	return -1;
}

/* Generated from crl.asn by asn1Parser (the file says how). */
static const asn1_static_node crl_asn1_tab[] = {
	{ "LancaCrl", 536875024, NULL },
	{ NULL, 1073741836, NULL },
	{ "CertificateList", 1610612741, NULL },
	{ "tbsCertList", 1073741826, "TBSCertList" },
	{ "signatureAlgorithm", 1073741826, "AlgorithmIdentifier" },
	{ "signature", 6, NULL },
	{ "TBSCertList", 1610612741, NULL },
	{ "version", 1073758211, NULL },
	{ "signature", 1073741826, "AlgorithmIdentifier" },
	{ "issuer", 1073741837, NULL },
	{ "thisUpdate", 1073741826, "Time" },
	{ "nextUpdate", 1073758210, "Time" },
	{ "revokedCertificates", 1610629131, NULL },
	{ NULL, 536870917, NULL },
	{ "userCertificate", 1073741827, NULL },
	{ "revocationDate", 1073741826, "Time" },
	{ "crlEntryExtensions", 16386, "Extensions" },
	{ "crlExtensions", 536895490, "Extensions" },
	{ NULL, 2056, "0" },
	{ "AlgorithmIdentifier", 1610612741, NULL },
	{ "algorithm", 1073741836, NULL },
	{ "parameters", 541081613, NULL },
	{ "algorithm", 1, NULL },
	{ "Time", 1610612754, NULL },
	{ "utcTime", 1073741860, NULL },
	{ "generalTime", 37, NULL },
	{ "Extensions", 1612709899, NULL },
	{ "MAX", 1074266122, "1" },
	{ NULL, 2, "Extension" },
	{ "Extension", 1610612741, NULL },
	{ "extnID", 1073741836, NULL },
	{ "critical", 1610645508, NULL },
	{ NULL, 131081, NULL },
	{ "extnValue", 7, NULL },
	{ "CertificateListOut", 1610612741, NULL },
	{ "tbsCertList", 1073741837, NULL },
	{ "signatureAlgorithm", 1073741837, NULL },
	{ "signature", 6, NULL },
	{ "TBSCertListOut", 1610612741, NULL },
	{ "version", 1073741837, NULL },
	{ "signature", 1073741837, NULL },
	{ "issuer", 1073741837, NULL },
	{ "thisUpdate", 1073741837, NULL },
	{ "nextUpdate", 1073741837, NULL },
	{ "revokedCertificates", 1610629131, NULL },
	{ NULL, 536870917, NULL },
	{ "userCertificate", 1073741837, NULL },
	{ "revocationDate", 1073741837, NULL },
	{ "crlEntryExtensions", 16386, "Extensions" },
	{ "crlExtensions", 16397, NULL },
	{ "CRLReason", 537133077, NULL },
	{ "unspecified", 1073741825, "0" },
	{ "keyCompromise", 1073741825, "1" },
	{ "cACompromise", 1073741825, "2" },
	{ "affiliationChanged", 1073741825, "3" },
	{ "superseded", 1073741825, "4" },
	{ "cessationOfOperation", 1073741825, "5" },
	{ "certificateHold", 1073741825, "6" },
	{ "removeFromCRL", 1073741825, "8" },
	{ "privilegeWithdrawn", 1073741825, "9" },
	{ "aACompromise", 1, "10" },
	{ NULL, 0, NULL }
};

/* The definitions tree, made once and then only read (as csrattrs.c's). */
static pthread_once_t crl_once = PTHREAD_ONCE_INIT;
static asn1_node crl_defs;
static int crl_defs_rc = ASN1_GENERIC_ERROR;
static char crl_defs_err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];

static void
crl_defs_init(void)
{
	crl_defs_rc = asn1_array2tree(crl_asn1_tab, &crl_defs, crl_defs_err);
}

/* A new structure of type ("CertificateList", "CRLReason") in *node. */
static int
crl_asn_new(const char *type, asn1_node *node, struct lerr *e)
{
	char name[CRL_NAME_MAX];
	int r;

	pthread_once(&crl_once, crl_defs_init);
	if (crl_defs_rc != ASN1_SUCCESS)
		return lerr_set(e, LERR_INTERNAL, "crl: the ASN.1 definitions: %s %s",
				asn1_strerror(crl_defs_rc), crl_defs_err);
	snprintf(name, sizeof(name), "LancaCrl.%s", type);
	*node = NULL;
	if ((r = asn1_create_element(crl_defs, name, node)) != ASN1_SUCCESS)
		return lerr_set(e, LERR_INTERNAL, "crl: %s: %s", name, asn1_strerror(r));
	return 0;
}

/* DER of node's element name ("" for all) into *out (gnutls_free). */
static int
crl_asn_der(asn1_node node, const char *name, gnutls_datum_t *out, struct lerr *e)
{
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];
	int len = 0, r;

	out->data = NULL;
	out->size = 0;
	r = asn1_der_coding(node, name, NULL, &len, err);
	if (r != ASN1_MEM_ERROR || len <= 0)
		return lerr_set(e, LERR_INTERNAL, "crl: encoding %s: %s %s", name,
				asn1_strerror(r), err);
	if ((out->data = gnutls_malloc((size_t)len)) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	r = asn1_der_coding(node, name, out->data, &len, err);
	if (r != ASN1_SUCCESS) {
		gnutls_free(out->data);
		out->data = NULL;
		return lerr_set(e, LERR_INTERNAL, "crl: encoding %s: %s %s", name,
				asn1_strerror(r), err);
	}
	out->size = (unsigned)len;
	return 0;
}

/* The CRL number as a DER INTEGER's content: minimal, positive. */
static size_t
crl_number_bytes(uint64_t n, unsigned char out[9])
{
	unsigned char be[9];
	size_t i = 0, len;
	int k;

	be[0] = 0;
	for (k = 0; k < 8; k++)
		be[1 + k] = (unsigned char)(n >> (56 - 8 * k));
	/* Drop leading zeros but keep one before a byte with its top bit set. */
	while (i < 8 && be[i] == 0 && (be[i + 1] & 0x80) == 0)
		i++;
	len = 9 - i;
	memcpy(out, be + i, len);
	return len;
}

static int
crl_params_check(const struct crl_params *p, struct lerr *e)
{
	size_t i;

	if (p->n > CRL_ENTRIES_MAX)
		return lerr_set(e, LERR_TOO_LARGE, "a CRL lists at most %d certificates; "
				"%zu unexpired revoked certificates do not fit",
				CRL_ENTRIES_MAX, p->n);
	if (p->number == 0 || p->number > INT64_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "a CRL number is 1 to 2^63-1");
	if (p->this_update <= 0 || p->next_update <= p->this_update)
		return lerr_set(e, LERR_BAD_REQUEST, "a CRL's nextUpdate must follow its thisUpdate");
	if (p->n > 0 && p->entries == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "a CRL's entries are missing");
	for (i = 0; i < p->n; i++) {
		if (p->entries[i].serial_len == 0 || p->entries[i].serial_len > CRL_SERIAL_MAX ||
		    (p->entries[i].serial[0] & 0x80) != 0)
			return lerr_set(e, LERR_BAD_REQUEST, "CRL entry %zu: a serial is 1 to %d "
					"bytes of a positive number", i, CRL_SERIAL_MAX);
		if (p->entries[i].revoked_at <= 0 || p->entries[i].revoked_at > p->this_update)
			return lerr_set(e, LERR_BAD_REQUEST, "CRL entry %zu: revoked after the "
					"CRL's thisUpdate", i);
		if (crl_reason_str((int)p->entries[i].reason) == NULL)
			return lerr_set(e, LERR_BAD_REQUEST, "CRL entry %zu: unknown reason %d", i,
					(int)p->entries[i].reason);
	}
	return 0;
}

/* GnuTLS's CRL for p, signed, in *der; *sig its signature algorithm. */
static int
crl_build(const struct crl_params *p, gnutls_x509_crt_t issuer, gnutls_privkey_t key,
	  gnutls_datum_t *der, gnutls_sign_algorithm_t *sig, struct lerr *e)
{
	unsigned char id[X509_KEYID_MAX], num[9];
	gnutls_x509_crl_t crl = NULL;
	size_t i, idlen;
	int ret, rc = -1;

	if ((ret = gnutls_x509_crl_init(&crl)) < 0 ||
	    (ret = gnutls_x509_crl_set_version(crl, 2)) < 0 ||
	    (ret = gnutls_x509_crl_set_this_update(crl, p->this_update)) < 0 ||
	    (ret = gnutls_x509_crl_set_next_update(crl, p->next_update)) < 0)
		goto fail;
	for (i = 0; i < p->n; i++)
		if ((ret = gnutls_x509_crl_set_crt_serial(crl, p->entries[i].serial,
							  p->entries[i].serial_len,
							  p->entries[i].revoked_at)) < 0)
			goto fail;
	if ((ret = x509_authority_key_id(issuer, id, &idlen)) < 0 ||
	    (ret = gnutls_x509_crl_set_authority_key_id(crl, id, idlen)) < 0 ||
	    (ret = gnutls_x509_crl_set_number(crl, num, crl_number_bytes(p->number, num))) < 0 ||
	    (ret = gnutls_x509_crl_privkey_sign(crl, issuer, key, x509_sign_digest(key), 0)) < 0 ||
	    (ret = gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_DER, der)) < 0)
		goto fail;
	*sig = (gnutls_sign_algorithm_t)gnutls_x509_crl_get_signature_algorithm(crl);
	rc = 0;
	goto out;
fail:
	lerr_set(e, LERR_INTERNAL, "building the CRL: %s", gnutls_strerror(ret));
out:
	gnutls_x509_crl_deinit(crl);
	return rc;
}

/* The DER of reason as a CRLReason (the reasonCode's extnValue). */
static int
crl_reason_der(enum crl_reason reason, gnutls_datum_t *out, struct lerr *e)
{
	asn1_node node = NULL;
	int r, rc = -1;

	if (crl_asn_new("CRLReason", &node, e) != 0)
		return -1;
	if ((r = asn1_write_value(node, "", crl_reason_str((int)reason), 0)) != ASN1_SUCCESS) {
		lerr_set(e, LERR_INTERNAL, "crl: writing a reason: %s", asn1_strerror(r));
		goto out;
	}
	rc = crl_asn_der(node, "", out, e);
out:
	asn1_delete_structure(&node);
	return rc;
}

/* Copies the DER of element name of the CRL in der (decoded into in) to
 * element to of out, as an ANY. */
static int
crl_copy(asn1_node in, const gnutls_datum_t *der, const char *name, asn1_node out,
	 const char *to, struct lerr *e)
{
	int start, end, r;

	r = asn1_der_decoding_startEnd(in, der->data, (int)der->size, name, &start, &end);
	if (r == ASN1_SUCCESS)
		r = asn1_write_value(out, to, der->data + start, end - start + 1);
	if (r != ASN1_SUCCESS)
		return lerr_set(e, LERR_INTERNAL, "crl: copying %s: %s", name, asn1_strerror(r));
	return 0;
}

/* Entry i (from 0) of in as the last entry of out, with reason's
 * reasonCode unless it is unspecified. */
static int
crl_copy_entry(asn1_node in, const gnutls_datum_t *der, size_t i, enum crl_reason reason,
	       asn1_node out, struct lerr *e)
{
	const char *ext = "revokedCertificates.?LAST.crlEntryExtensions";
	char from[CRL_NAME_MAX], name[CRL_NAME_MAX];
	gnutls_datum_t val = { NULL, 0 };
	int r;

	if ((r = asn1_write_value(out, "revokedCertificates", "NEW", 1)) != ASN1_SUCCESS)
		return lerr_set(e, LERR_INTERNAL, "crl: entry %zu: %s", i, asn1_strerror(r));
	snprintf(from, sizeof(from), "tbsCertList.revokedCertificates.?%zu.userCertificate", i + 1);
	if (crl_copy(in, der, from, out, "revokedCertificates.?LAST.userCertificate", e) != 0)
		return -1;
	snprintf(from, sizeof(from), "tbsCertList.revokedCertificates.?%zu.revocationDate", i + 1);
	if (crl_copy(in, der, from, out, "revokedCertificates.?LAST.revocationDate", e) != 0)
		return -1;
	if (reason == CRL_REASON_UNSPECIFIED) {
		/* RFC 5280 §5.3.1: no reasonCode rather than unspecified. */
		r = asn1_write_value(out, ext, NULL, 0);
		goto done;
	}
	if (crl_reason_der(reason, &val, e) != 0)
		return -1;
	r = asn1_write_value(out, ext, "NEW", 1);
	if (r == ASN1_SUCCESS) {
		snprintf(name, sizeof(name), "%s.?LAST.extnID", ext);
		r = asn1_write_value(out, name, CRL_OID_REASON, 1);
	}
	if (r == ASN1_SUCCESS) {
		snprintf(name, sizeof(name), "%s.?LAST.critical", ext);
		r = asn1_write_value(out, name, "FALSE", 1);
	}
	if (r == ASN1_SUCCESS) {
		snprintf(name, sizeof(name), "%s.?LAST.extnValue", ext);
		r = asn1_write_value(out, name, val.data, (int)val.size);
	}
	gnutls_free(val.data);
done:
	if (r != ASN1_SUCCESS)
		return lerr_set(e, LERR_INTERNAL, "crl: entry %zu's reason: %s", i,
				asn1_strerror(r));
	return 0;
}

/*
 * in, GnuTLS's signed CRL, with each entry's reasonCode added: a new
 * tbsCertList made of GnuTLS's parts (copied as their DER) and the
 * entries' extensions, signed with sig (the algorithm GnuTLS chose and
 * named in the CRL), into *out (gnutls_free).
 */
static int
crl_with_reasons(const gnutls_datum_t *in, const struct crl_params *p, gnutls_privkey_t key,
		 gnutls_sign_algorithm_t sig, gnutls_datum_t *out, struct lerr *e)
{
	static const char *const parts[] = {
		"version", "signature", "issuer", "thisUpdate", "nextUpdate",
	};
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE], from[CRL_NAME_MAX];
	gnutls_datum_t tbs = { NULL, 0 }, s = { NULL, 0 };
	asn1_node gl = NULL, t = NULL, cl = NULL;
	size_t i;
	int r, rc = -1;

	if (crl_asn_new("CertificateList", &gl, e) != 0 ||
	    crl_asn_new("TBSCertListOut", &t, e) != 0 ||
	    crl_asn_new("CertificateListOut", &cl, e) != 0)
		goto out;
	if ((r = asn1_der_decoding(&gl, in->data, (int)in->size, err)) != ASN1_SUCCESS) {
		lerr_set(e, LERR_INTERNAL, "crl: reading GnuTLS's CRL: %s %s", asn1_strerror(r),
			 err);
		goto out;
	}
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		snprintf(from, sizeof(from), "tbsCertList.%s", parts[i]);
		if (crl_copy(gl, in, from, t, parts[i], e) != 0)
			goto out;
	}
	for (i = 0; i < p->n; i++)
		if (crl_copy_entry(gl, in, i, p->entries[i].reason, t, e) != 0)
			goto out;
	if (crl_copy(gl, in, "tbsCertList.crlExtensions", t, "crlExtensions", e) != 0 ||
	    crl_asn_der(t, "", &tbs, e) != 0)
		goto out;
	if ((r = gnutls_privkey_sign_data2(key, sig, 0, &tbs, &s)) < 0) {
		lerr_set(e, LERR_INTERNAL, "signing the CRL: %s", gnutls_strerror(r));
		goto out;
	}
	r = asn1_write_value(cl, "tbsCertList", tbs.data, (int)tbs.size);
	if (r == ASN1_SUCCESS)
		r = asn1_write_value(cl, "signature", s.data, (int)s.size * 8);
	if (r != ASN1_SUCCESS) {
		lerr_set(e, LERR_INTERNAL, "crl: writing the CRL: %s", asn1_strerror(r));
		goto out;
	}
	if (crl_copy(gl, in, "signatureAlgorithm", cl, "signatureAlgorithm", e) != 0)
		goto out;
	rc = crl_asn_der(cl, "", out, e);
out:
	gnutls_free(tbs.data);
	gnutls_free(s.data);
	asn1_delete_structure(&gl);
	asn1_delete_structure(&t);
	asn1_delete_structure(&cl);
	return rc;
}

int
crl_make(const struct crl_params *p, gnutls_x509_crt_t issuer, gnutls_privkey_t key,
	 gnutls_datum_t *der, struct lerr *e)
{
	gnutls_datum_t plain = { NULL, 0 };
	gnutls_sign_algorithm_t sig;
	size_t i, reasons = 0;
	int rc = -1;

	der->data = NULL;
	der->size = 0;
	if (crl_params_check(p, e) != 0 || crl_build(p, issuer, key, &plain, &sig, e) != 0)
		goto out;
	for (i = 0; i < p->n; i++)
		reasons += p->entries[i].reason != CRL_REASON_UNSPECIFIED;
	if (reasons == 0) {
		*der = plain;
		plain.data = NULL;
	} else if (crl_with_reasons(&plain, p, key, sig, der, e) != 0) {
		goto out;
	}
	if (crl_check(der, p, issuer, e) != 0)
		goto out;
	rc = 0;
out:
	gnutls_free(plain.data);
	if (rc != 0) {
		gnutls_free(der->data);
		der->data = NULL;
		der->size = 0;
	}
	return rc;
}

/* Entry i's (from 0) reason as the CRL in node says it: 0 with *out, or -1. */
static int
crl_read_reason(asn1_node node, size_t i, enum crl_reason *out, struct lerr *e)
{
	char ext[CRL_NAME_MAX], name[CRL_NAME_MAX + 32], oid[64];
	unsigned char val[16];
	asn1_node rn = NULL;
	int count = 0, len, r;

	*out = CRL_REASON_UNSPECIFIED;
	snprintf(ext, sizeof(ext), "tbsCertList.revokedCertificates.?%zu.crlEntryExtensions",
		 i + 1);
	r = asn1_number_of_elements(node, ext, &count);
	if (r == ASN1_ELEMENT_NOT_FOUND || count == 0)
		return 0;	/* no extensions: unspecified */
	if (r != ASN1_SUCCESS || count != 1)
		return lerr_set(e, LERR_INVARIANT, "CRL entry %zu has %d extensions", i, count);
	snprintf(name, sizeof(name), "%s.?1.extnID", ext);
	len = sizeof(oid);
	if (asn1_read_value(node, name, oid, &len) != ASN1_SUCCESS ||
	    strcmp(oid, CRL_OID_REASON) != 0)
		return lerr_set(e, LERR_INVARIANT, "CRL entry %zu has an extension that is not "
				"its reasonCode", i);
	snprintf(name, sizeof(name), "%s.?1.extnValue", ext);
	len = sizeof(val);
	if (asn1_read_value(node, name, val, &len) != ASN1_SUCCESS ||
	    crl_asn_new("CRLReason", &rn, e) != 0)
		return lerr_set(e, LERR_INVARIANT, "CRL entry %zu: unreadable reasonCode", i);
	r = asn1_der_decoding(&rn, val, len, NULL);
	len = sizeof(val);
	if (r == ASN1_SUCCESS)
		r = asn1_read_value(rn, "", val, &len);
	asn1_delete_structure(&rn);
	if (r != ASN1_SUCCESS || len != 1 || crl_reason_str(val[0]) == NULL)
		return lerr_set(e, LERR_INVARIANT, "CRL entry %zu: unreadable reasonCode", i);
	*out = (enum crl_reason)val[0];
	return 0;
}

/* The entries of der (count checked by the caller) against p's. */
static int
crl_check_entries(gnutls_x509_crl_t crl, const gnutls_datum_t *der, const struct crl_params *p,
		  struct lerr *e)
{
	gnutls_x509_crl_iter_t it = NULL;
	unsigned char serial[64];
	size_t i, len;
	asn1_node node = NULL;
	enum crl_reason reason;
	time_t t;
	int rc = -1;

	if (crl_asn_new("CertificateList", &node, e) != 0)
		return -1;
	if (asn1_der_decoding(&node, der->data, (int)der->size, NULL) != ASN1_SUCCESS) {
		lerr_set(e, LERR_INVARIANT, "the CRL does not read as a CertificateList");
		goto out;
	}
	for (i = 0; i < p->n; i++) {
		len = sizeof(serial);
		if (gnutls_x509_crl_iter_crt_serial(crl, &it, serial, &len, &t) < 0 ||
		    len != p->entries[i].serial_len ||
		    memcmp(serial, p->entries[i].serial, len) != 0 ||
		    t != p->entries[i].revoked_at) {
			lerr_set(e, LERR_INVARIANT, "CRL entry %zu is not the certificate asked for",
				 i);
			goto out;
		}
		if (crl_read_reason(node, i, &reason, e) != 0)
			goto out;
		if (reason != p->entries[i].reason) {
			lerr_set(e, LERR_INVARIANT, "CRL entry %zu carries reason %d, not %d", i,
				 (int)reason, (int)p->entries[i].reason);
			goto out;
		}
	}
	rc = 0;
out:
	gnutls_x509_crl_iter_deinit(it);
	asn1_delete_structure(&node);
	return rc;
}

int
crl_check(const gnutls_datum_t *der, const struct crl_params *p, gnutls_x509_crt_t issuer,
	  struct lerr *e)
{
	unsigned char id[X509_KEYID_MAX], aki[X509_KEYID_MAX], num[16], want[9];
	size_t idlen, akilen = sizeof(aki), numlen = sizeof(num), wantlen;
	gnutls_x509_crl_t crl = NULL;
	unsigned status = 0, critical = 0;
	int rc = -1;

	if (gnutls_x509_crl_init(&crl) < 0 ||
	    gnutls_x509_crl_import(crl, der, GNUTLS_X509_FMT_DER) < 0) {
		lerr_set(e, LERR_INVARIANT, "the CRL does not parse");
		goto out;
	}
	/* The dates are compared with p's below: the daemon's clock (a
	 * test's, too) decides them, not this process's. GnuTLS judges them
	 * by the time now whatever the flags, marking the CRL invalid for
	 * them alone; any other mark (a signature that fails sets
	 * GNUTLS_CERT_SIGNATURE_FAILURE) refuses it. */
	if (gnutls_x509_crl_verify(crl, &issuer, 1, 0, &status) < 0 ||
	    (status & ~(unsigned)(GNUTLS_CERT_INVALID | GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE |
				  GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED)) != 0 ||
	    ((status & GNUTLS_CERT_INVALID) &&
	     !(status & (GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE |
			 GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED))) ||
	    gnutls_x509_crl_check_issuer(crl, issuer) == 0) {
		lerr_set(e, LERR_INVARIANT, "the CRL's signature does not verify under its issuer "
			 "(status 0x%x)", status);
		goto out;
	}
	if (gnutls_x509_crl_get_version(crl) != 2) {
		lerr_set(e, LERR_INVARIANT, "the CRL is not version 2");
		goto out;
	}
	wantlen = crl_number_bytes(p->number, want);
	if (gnutls_x509_crl_get_number(crl, num, &numlen, &critical) < 0 || critical ||
	    numlen != wantlen || memcmp(num, want, wantlen) != 0) {
		lerr_set(e, LERR_INVARIANT, "the CRL number is not %llu",
			 (unsigned long long)p->number);
		goto out;
	}
	if (x509_authority_key_id(issuer, id, &idlen) < 0 ||
	    gnutls_x509_crl_get_authority_key_id(crl, aki, &akilen, &critical) < 0 ||
	    akilen != idlen || memcmp(aki, id, idlen) != 0) {
		lerr_set(e, LERR_INVARIANT, "the CRL's AKI does not name its issuer's key");
		goto out;
	}
	if (gnutls_x509_crl_get_this_update(crl) != p->this_update ||
	    gnutls_x509_crl_get_next_update(crl) != p->next_update) {
		lerr_set(e, LERR_INVARIANT, "the CRL's dates are not the ones asked for");
		goto out;
	}
	if (gnutls_x509_crl_get_crt_count(crl) != (int)p->n) {
		lerr_set(e, LERR_INVARIANT, "the CRL lists %d certificates, not %zu",
			 gnutls_x509_crl_get_crt_count(crl), p->n);
		goto out;
	}
	if (crl_check_entries(crl, der, p, e) != 0)
		goto out;
	rc = 0;
out:
	gnutls_x509_crl_deinit(crl);
	return rc;
}

int
crl_pem(const unsigned char *der, size_t len, gnutls_datum_t *pem)
{
	gnutls_datum_t d = { (unsigned char *)der, (unsigned)len };

	pem->data = NULL;
	pem->size = 0;
	return gnutls_pem_base64_encode2("X509 CRL", &d, pem) == 0 ? 0 : -1;
}
