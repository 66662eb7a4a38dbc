/*
 * crl.c - revocation reasons and the CRL builder (see crl.h).
 *
 * GnuTLS builds and signs the CRL's header: version 2, the issuer, the
 * dates, the CRL number and the AKI. Its API cannot give an entry an
 * extension (the reasonCode), and it adds entries, and reads them back,
 * in time that grows with the square of their number (libtasn1 walks a
 * SEQUENCE OF from its start for each one). So the entries are encoded
 * here one by one with libtasn1 (the ASN.1 library GnuTLS itself uses)
 * through crl.asn, a tbsCertList is made of GnuTLS's header parts (each
 * copied as its DER) and that list, and signed again with the algorithm
 * GnuTLS chose. crl_check() then reads the final bytes back before anyone
 * sees them: the header through GnuTLS, the signature verified by GnuTLS
 * under the issuer, every entry decoded again on its own. Both take
 * time and memory that grow with the number of entries alone.
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
#include "common/buf.h"
#include "ca/x509.h"

#define CRL_OID_REASON		"2.5.29.21"	/* id-ce-cRLReasons */
#define CRL_NAME_MAX		96		/* a path into the tree */
#define CRL_REASON_CODES	11		/* RFC 5280's codes are 0 to 10 */

static const struct {
	enum crl_reason reason;
	const char *word;			/* RFC 5280's name, as crl.asn spells it */
} crl_reasons[] = {
	{ CRL_REASON_UNSPECIFIED, "unspecified" },
	{ CRL_REASON_KEY_COMPROMISE, "keyCompromise" },
	{ CRL_REASON_CA_COMPROMISE, "cACompromise" },
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
	{ NULL, 2, "RevokedCertificate" },
	{ "crlExtensions", 536895490, "Extensions" },
	{ NULL, 2056, "0" },
	{ "RevokedCertificate", 1610612741, NULL },
	{ "userCertificate", 1073741827, NULL },
	{ "revocationDate", 1073741826, "Time" },
	{ "crlEntryExtensions", 16386, "Extensions" },
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
	{ "revokedCertificates", 1073758221, NULL },
	{ "crlExtensions", 16397, NULL },
	{ "CertificateListScan", 1610612741, NULL },
	{ "tbsCertList", 1610612741, NULL },
	{ "version", 1073758211, NULL },
	{ "signature", 1073741826, "AlgorithmIdentifier" },
	{ "issuer", 1073741837, NULL },
	{ "thisUpdate", 1073741826, "Time" },
	{ "nextUpdate", 1073758210, "Time" },
	{ "revokedCertificates", 1610629131, NULL },
	{ NULL, 13, NULL },
	{ "crlExtensions", 536895501, NULL },
	{ NULL, 2056, "0" },
	{ "signatureAlgorithm", 1073741826, "AlgorithmIdentifier" },
	{ "signature", 6, NULL },
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

/*
 * GnuTLS's CRL for p without its entries, signed, in *der; *sig its
 * signature algorithm. Its header parts are what crl_assemble copies.
 */
static int
crl_build_head(const struct crl_params *p, gnutls_x509_crt_t issuer, gnutls_privkey_t key,
	       gnutls_datum_t *der, gnutls_sign_algorithm_t *sig, struct lerr *e)
{
	unsigned char id[X509_KEYID_MAX], num[9];
	gnutls_x509_crl_t crl = NULL;
	size_t idlen;
	int ret, rc = -1;

	if ((ret = gnutls_x509_crl_init(&crl)) < 0 ||
	    (ret = gnutls_x509_crl_set_version(crl, 2)) < 0 ||
	    (ret = gnutls_x509_crl_set_this_update(crl, p->this_update)) < 0 ||
	    (ret = gnutls_x509_crl_set_next_update(crl, p->next_update)) < 0 ||
	    (ret = x509_authority_key_id(issuer, id, &idlen)) < 0 ||
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

/*
 * t as a Time's text: UTCTime through 2049, GeneralizedTime from 2050
 * (RFC 5280 §4.1.2.5, which CRL dates follow: §5.1.2.6); *choice is the
 * alternative's name in crl.asn.
 */
static int
crl_time_text(time_t t, char out[32], const char **choice)
{
	struct tm tm;
	int year;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	year = tm.tm_year + 1900;
	*choice = year >= 1950 && year < 2050 ? "utcTime" : "generalTime";
	if (year < 0 || year > 9999)
		return -1;
	snprintf(out, 32, "%0*d%02d%02d%02d%02d%02dZ", year >= 1950 && year < 2050 ? 2 : 4,
		 year >= 1950 && year < 2050 ? year % 100 : year, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

/* The reasonCode extnValues of the reasons in use, made once per CRL. */
struct crl_reason_ders {
	gnutls_datum_t der[CRL_REASON_CODES];
};

static void
crl_reason_ders_free(struct crl_reason_ders *r)
{
	size_t i;

	for (i = 0; i < CRL_REASON_CODES; i++)
		gnutls_free(r->der[i].data);
}

/* Appends entry i of p to list, DER-encoded as a RevokedCertificate. */
static int
crl_entry_der(const struct crl_params *p, size_t i, struct crl_reason_ders *rd,
	      struct buf *list, struct lerr *e)
{
	const char *ext = "crlEntryExtensions", *choice;
	const struct crl_entry *en = &p->entries[i];
	char when[32], name[CRL_NAME_MAX], err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];
	gnutls_datum_t *val = &rd->der[en->reason];
	unsigned char *at;
	asn1_node node = NULL;
	int len = 0, r;

	if (crl_time_text(en->revoked_at, when, &choice) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "CRL entry %zu: a date out of range", i);
	if (en->reason != CRL_REASON_UNSPECIFIED && val->data == NULL &&
	    crl_reason_der(en->reason, val, e) != 0)
		return -1;
	if (crl_asn_new("RevokedCertificate", &node, e) != 0)
		return -1;
	r = asn1_write_value(node, "userCertificate", en->serial, (int)en->serial_len);
	if (r == ASN1_SUCCESS)
		r = asn1_write_value(node, "revocationDate", choice, 1);
	if (r == ASN1_SUCCESS) {
		snprintf(name, sizeof(name), "revocationDate.%s", choice);
		r = asn1_write_value(node, name, when, (int)strlen(when));
	}
	if (r == ASN1_SUCCESS && en->reason == CRL_REASON_UNSPECIFIED) {
		/* RFC 5280 §5.3.1: no reasonCode rather than unspecified. */
		r = asn1_write_value(node, ext, NULL, 0);
	} else if (r == ASN1_SUCCESS) {
		r = asn1_write_value(node, ext, "NEW", 1);
		if (r == ASN1_SUCCESS)
			r = asn1_write_value(node, "crlEntryExtensions.?LAST.extnID",
					     CRL_OID_REASON, 1);
		if (r == ASN1_SUCCESS)
			r = asn1_write_value(node, "crlEntryExtensions.?LAST.critical", "FALSE", 1);
		if (r == ASN1_SUCCESS)
			r = asn1_write_value(node, "crlEntryExtensions.?LAST.extnValue", val->data,
					     (int)val->size);
	}
	if (r == ASN1_SUCCESS) {
		r = asn1_der_coding(node, "", NULL, &len, err);
		if (r == ASN1_MEM_ERROR && len > 0 && (at = buf_extend(list, (size_t)len)) != NULL)
			r = asn1_der_coding(node, "", at, &len, err);
		else if (r == ASN1_MEM_ERROR)
			r = ASN1_MEM_ALLOC_ERROR;
	}
	asn1_delete_structure(&node);
	if (r != ASN1_SUCCESS)
		return lerr_set(e, LERR_INTERNAL, "crl: entry %zu: %s", i, asn1_strerror(r));
	return 0;
}

/*
 * The revokedCertificates of p into *out (gnutls_free): the entries,
 * each encoded by libtasn1 on its own, put together as one SEQUENCE OF
 * whose tag and length libtasn1 writes too (asn1_length_der). Time and
 * memory grow with the number of entries alone.
 */
static int
crl_entries_der(const struct crl_params *p, gnutls_datum_t *out, struct lerr *e)
{
	struct crl_reason_ders rd;
	unsigned char hdr[1 + sizeof(unsigned long) + 1];
	struct buf list;
	size_t i;
	int hlen = 0, rc = -1;

	memset(&rd, 0, sizeof(rd));
	buf_init(&list, (size_t)CRL_ENTRIES_MAX * CRL_ENTRY_DER_MAX);
	for (i = 0; i < p->n; i++)
		if (crl_entry_der(p, i, &rd, &list, e) != 0)
			goto out;
	if (buf_failed(&list)) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	hdr[0] = ASN1_CLASS_STRUCTURED | ASN1_TAG_SEQUENCE;
	asn1_length_der(list.len, hdr + 1, &hlen);
	if ((out->data = gnutls_malloc(1 + (size_t)hlen + list.len)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	memcpy(out->data, hdr, 1 + (size_t)hlen);
	memcpy(out->data + 1 + hlen, list.data, list.len);
	out->size = (unsigned)(1 + (size_t)hlen + list.len);
	rc = 0;
out:
	crl_reason_ders_free(&rd);
	buf_free(&list);
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

/*
 * A tbsCertList into *tbs (gnutls_free): the header parts of the CRL in
 * der (decoded into in as a CertificateList or CertificateListScan:
 * both name them alike), copied as their DER, with list (a whole
 * revokedCertificates, or NULL for none) between them.
 */
static int
crl_join(asn1_node in, const gnutls_datum_t *der, const gnutls_datum_t *list,
	 gnutls_datum_t *tbs, struct lerr *e)
{
	static const char *const parts[] = {
		"version", "signature", "issuer", "thisUpdate", "nextUpdate",
	};
	char from[CRL_NAME_MAX];
	asn1_node t = NULL;
	size_t i;
	int r, rc = -1;

	if (crl_asn_new("TBSCertListOut", &t, e) != 0)
		return -1;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		snprintf(from, sizeof(from), "tbsCertList.%s", parts[i]);
		if (crl_copy(in, der, from, t, parts[i], e) != 0)
			goto out;
	}
	/* RFC 5280 §5.1.2.6: no list at all when nothing is revoked. */
	r = list == NULL ? asn1_write_value(t, "revokedCertificates", NULL, 0)
			 : asn1_write_value(t, "revokedCertificates", list->data, (int)list->size);
	if (r != ASN1_SUCCESS) {
		lerr_set(e, LERR_INTERNAL, "crl: writing the entries: %s", asn1_strerror(r));
		goto out;
	}
	if (crl_copy(in, der, "tbsCertList.crlExtensions", t, "crlExtensions", e) != 0)
		goto out;
	rc = crl_asn_der(t, "", tbs, e);
out:
	asn1_delete_structure(&t);
	return rc;
}

/* A CertificateList into *out (gnutls_free): tbs, the signatureAlgorithm
 * of the CRL in der (decoded into in) and the signature sig. */
static int
crl_wrap(asn1_node in, const gnutls_datum_t *der, const gnutls_datum_t *tbs,
	 const gnutls_datum_t *sig, gnutls_datum_t *out, struct lerr *e)
{
	asn1_node cl = NULL;
	int r, rc = -1;

	if (crl_asn_new("CertificateListOut", &cl, e) != 0)
		return -1;
	r = asn1_write_value(cl, "tbsCertList", tbs->data, (int)tbs->size);
	if (r == ASN1_SUCCESS)
		r = asn1_write_value(cl, "signature", sig->data, (int)sig->size * 8);
	if (r != ASN1_SUCCESS) {
		lerr_set(e, LERR_INTERNAL, "crl: writing the CRL: %s", asn1_strerror(r));
		goto out;
	}
	if (crl_copy(in, der, "signatureAlgorithm", cl, "signatureAlgorithm", e) != 0)
		goto out;
	rc = crl_asn_der(cl, "", out, e);
out:
	asn1_delete_structure(&cl);
	return rc;
}

/*
 * The CRL: head's parts (GnuTLS's signed CRL without entries) and p's
 * entries as a new tbsCertList, signed with sig (the algorithm GnuTLS
 * chose and named in head), into *out (gnutls_free).
 */
static int
crl_assemble(const gnutls_datum_t *head, const struct crl_params *p, gnutls_privkey_t key,
	     gnutls_sign_algorithm_t sig, gnutls_datum_t *out, struct lerr *e)
{
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];
	gnutls_datum_t tbs = { NULL, 0 }, s = { NULL, 0 }, list = { NULL, 0 };
	asn1_node gl = NULL;
	int r, rc = -1;

	if (crl_asn_new("CertificateList", &gl, e) != 0)
		goto out;
	if ((r = asn1_der_decoding(&gl, head->data, (int)head->size, err)) != ASN1_SUCCESS) {
		lerr_set(e, LERR_INTERNAL, "crl: reading GnuTLS's CRL: %s %s", asn1_strerror(r),
			 err);
		goto out;
	}
	if ((p->n > 0 && crl_entries_der(p, &list, e) != 0) ||
	    crl_join(gl, head, p->n > 0 ? &list : NULL, &tbs, e) != 0)
		goto out;
	if ((r = gnutls_privkey_sign_data2(key, sig, 0, &tbs, &s)) < 0) {
		lerr_set(e, LERR_INTERNAL, "signing the CRL: %s", gnutls_strerror(r));
		goto out;
	}
	rc = crl_wrap(gl, head, &tbs, &s, out, e);
out:
	gnutls_free(list.data);
	gnutls_free(tbs.data);
	gnutls_free(s.data);
	asn1_delete_structure(&gl);
	return rc;
}

int
crl_make(const struct crl_params *p, gnutls_x509_crt_t issuer, gnutls_privkey_t key,
	 gnutls_datum_t *der, struct lerr *e)
{
	gnutls_datum_t head = { NULL, 0 };
	gnutls_sign_algorithm_t sig;
	int rc = -1;

	der->data = NULL;
	der->size = 0;
	if (crl_params_check(p, e) != 0 || crl_build_head(p, issuer, key, &head, &sig, e) != 0 ||
	    crl_assemble(&head, p, key, sig, der, e) != 0 || crl_check(der, p, issuer, e) != 0)
		goto out;
	rc = 0;
out:
	gnutls_free(head.data);
	if (rc != 0) {
		gnutls_free(der->data);
		der->data = NULL;
		der->size = 0;
	}
	return rc;
}

/* Entry i's (from 0) reason as the RevokedCertificate in node says it:
 * 0 with *out, or -1. */
static int
crl_read_reason(asn1_node node, size_t i, enum crl_reason *out, struct lerr *e)
{
	const char *ext = "crlEntryExtensions";
	char name[CRL_NAME_MAX], oid[64];
	unsigned char val[16];
	asn1_node rn = NULL;
	int count = 0, len, r;

	*out = CRL_REASON_UNSPECIFIED;
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

/*
 * Entry i of p against the RevokedCertificate at at (len bytes), decoded
 * on its own: its serial, its date (as crl_time_text writes p's) and its
 * reason. 0, or -1 with e (LERR_INVARIANT).
 */
static int
crl_check_entry(const unsigned char *at, long len, const struct crl_params *p, size_t i,
		struct lerr *e)
{
	const struct crl_entry *en = &p->entries[i];
	char want[32], got[32], choice[16], name[CRL_NAME_MAX];
	unsigned char serial[CRL_SERIAL_MAX + 1];
	const char *want_choice;
	enum crl_reason reason;
	asn1_node node = NULL;
	int n, rc = -1;

	if (crl_asn_new("RevokedCertificate", &node, e) != 0)
		return -1;
	if (asn1_der_decoding(&node, at, (int)len, NULL) != ASN1_SUCCESS) {
		lerr_set(e, LERR_INVARIANT, "CRL entry %zu does not read as one", i);
		goto out;
	}
	n = sizeof(serial);
	if (asn1_read_value(node, "userCertificate", serial, &n) != ASN1_SUCCESS ||
	    (size_t)n != en->serial_len || memcmp(serial, en->serial, en->serial_len) != 0) {
		lerr_set(e, LERR_INVARIANT, "CRL entry %zu is not the certificate asked for", i);
		goto out;
	}
	n = sizeof(choice);
	if (crl_time_text(en->revoked_at, want, &want_choice) != 0 ||
	    asn1_read_value(node, "revocationDate", choice, &n) != ASN1_SUCCESS ||
	    strcmp(choice, want_choice) != 0 ||
	    snprintf(name, sizeof(name), "revocationDate.%s", choice) < 0 ||
	    (n = sizeof(got) - 1, asn1_read_value(node, name, got, &n)) != ASN1_SUCCESS ||
	    (got[n] = '\0', strcmp(got, want)) != 0) {
		lerr_set(e, LERR_INVARIANT, "CRL entry %zu is not dated as asked", i);
		goto out;
	}
	if (crl_read_reason(node, i, &reason, e) != 0)
		goto out;
	if (reason != en->reason) {
		lerr_set(e, LERR_INVARIANT, "CRL entry %zu carries reason %d, not %d", i,
			 (int)reason, (int)en->reason);
		goto out;
	}
	rc = 0;
out:
	asn1_delete_structure(&node);
	return rc;
}

/* The size of the TLV at at (left bytes) whose tag is cls|tag, read with
 * libtasn1's decoders: 0 with *hdr (tag and length) and *len (all), or -1. */
static int
crl_tlv(const unsigned char *at, long left, unsigned char want_cls, unsigned long want_tag,
	long *hdr, long *len)
{
	unsigned char cls;
	unsigned long tag;
	int taglen, lenlen;
	long n;

	if (left <= 0 || left > INT32_MAX ||
	    asn1_get_tag_der(at, (int)left, &cls, &taglen, &tag) != ASN1_SUCCESS ||
	    cls != want_cls || tag != want_tag)
		return -1;
	n = asn1_get_length_der(at + taglen, (int)(left - taglen), &lenlen);
	if (n < 0 || n > left - taglen - lenlen)
		return -1;
	*hdr = taglen + lenlen;
	*len = taglen + lenlen + n;
	return 0;
}

/* The entries of the CRL in der (scanned into scan) against p's, in
 * order, each decoded on its own: time and memory grow with their
 * number alone. */
static int
crl_check_list(asn1_node scan, const gnutls_datum_t *der, const struct crl_params *p,
	       struct lerr *e)
{
	const unsigned char *at;
	long left, hdr, len;
	int start, end, r;
	size_t i;

	r = asn1_der_decoding_startEnd(scan, der->data, (int)der->size,
				       "tbsCertList.revokedCertificates", &start, &end);
	if (r == ASN1_ELEMENT_NOT_FOUND && p->n == 0)
		return 0;	/* none asked for, none listed */
	if (r != ASN1_SUCCESS ||
	    crl_tlv(der->data + start, end - start + 1, ASN1_CLASS_STRUCTURED,
		    ASN1_TAG_SEQUENCE, &hdr, &len) != 0)
		return lerr_set(e, LERR_INVARIANT, "the CRL's entries do not read as a list");
	at = der->data + start + hdr;
	left = len - hdr;
	for (i = 0; left > 0; i++, at += len, left -= len) {
		if (i >= p->n)
			return lerr_set(e, LERR_INVARIANT, "the CRL lists more than %zu "
					"certificates", p->n);
		if (crl_tlv(at, left, ASN1_CLASS_STRUCTURED, ASN1_TAG_SEQUENCE, &hdr, &len) != 0)
			return lerr_set(e, LERR_INVARIANT, "CRL entry %zu does not read as one", i);
		if (crl_check_entry(at, len, p, i, e) != 0)
			return -1;
	}
	if (i != p->n)
		return lerr_set(e, LERR_INVARIANT, "the CRL lists %zu certificates, not %zu", i,
				p->n);
	return 0;
}

/*
 * The header of the CRL in der (scanned into scan) through GnuTLS: the
 * same CRL without its entries (joined from its own parts, so GnuTLS
 * reads it in no time whatever their number) must be a version 2 CRL
 * from issuer with p's number, AKI and dates. *sig receives the
 * signature algorithm it names.
 */
static int
crl_check_head(asn1_node scan, const gnutls_datum_t *der, const struct crl_params *p,
	       gnutls_x509_crt_t issuer, const gnutls_datum_t *sigval,
	       gnutls_sign_algorithm_t *sig, struct lerr *e)
{
	unsigned char id[X509_KEYID_MAX], aki[X509_KEYID_MAX], num[16], want[9];
	size_t idlen, akilen = sizeof(aki), numlen = sizeof(num), wantlen;
	gnutls_datum_t tbs = { NULL, 0 }, head = { NULL, 0 };
	gnutls_x509_crl_t crl = NULL;
	unsigned critical = 0;
	int ret, rc = -1;

	if (crl_join(scan, der, NULL, &tbs, e) != 0 || crl_wrap(scan, der, &tbs, sigval, &head, e) != 0)
		goto out;
	if (gnutls_x509_crl_init(&crl) < 0 ||
	    gnutls_x509_crl_import(crl, &head, GNUTLS_X509_FMT_DER) < 0) {
		lerr_set(e, LERR_INVARIANT, "the CRL does not parse");
		goto out;
	}
	if (gnutls_x509_crl_check_issuer(crl, issuer) == 0) {
		lerr_set(e, LERR_INVARIANT, "the CRL does not name its issuer");
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
	if ((ret = gnutls_x509_crl_get_signature_algorithm(crl)) <= 0) {
		lerr_set(e, LERR_INVARIANT, "the CRL's signature algorithm is unknown");
		goto out;
	}
	*sig = (gnutls_sign_algorithm_t)ret;
	rc = 0;
out:
	gnutls_x509_crl_deinit(crl);
	gnutls_free(tbs.data);
	gnutls_free(head.data);
	return rc;
}

/* The bytes of element name of the CRL in der (scanned into scan), in
 * place: 0 with *out pointing into der, or -1. */
static int
crl_part(asn1_node scan, const gnutls_datum_t *der, const char *name, gnutls_datum_t *out)
{
	int start, end;

	if (asn1_der_decoding_startEnd(scan, der->data, (int)der->size, name, &start,
				       &end) != ASN1_SUCCESS)
		return -1;
	out->data = der->data + start;
	out->size = (unsigned)(end - start + 1);
	return 0;
}

/*
 * The check, in time and memory that grow with the number of entries
 * alone (GnuTLS's own CRL reader takes time that grows with its
 * square): the CRL is scanned with one node per entry; its header is
 * read by GnuTLS; its signature is verified by GnuTLS over the
 * tbsCertList's bytes with the issuer's key, under the algorithm named
 * both outside and inside it; each entry is decoded on its own.
 */
int
crl_check(const gnutls_datum_t *der, const struct crl_params *p, gnutls_x509_crt_t issuer,
	  struct lerr *e)
{
	gnutls_datum_t tbs, alg_in, alg_out, sigval = { NULL, 0 };
	gnutls_sign_algorithm_t sig;
	gnutls_pubkey_t pub = NULL;
	asn1_node scan = NULL;
	int len = 0, rc = -1;

	if (der->size == 0 || der->size > INT32_MAX || crl_asn_new("CertificateListScan", &scan, e) != 0)
		return lerr_set(e, LERR_INVARIANT, "the CRL does not parse");
	if (asn1_der_decoding(&scan, der->data, (int)der->size, NULL) != ASN1_SUCCESS ||
	    crl_part(scan, der, "tbsCertList", &tbs) != 0 ||
	    crl_part(scan, der, "tbsCertList.signature", &alg_in) != 0 ||
	    crl_part(scan, der, "signatureAlgorithm", &alg_out) != 0 ||
	    asn1_read_value(scan, "signature", NULL, &len) != ASN1_MEM_ERROR || len <= 0 ||
	    len % 8 != 0 || (sigval.data = gnutls_malloc((size_t)len / 8)) == NULL ||
	    asn1_read_value(scan, "signature", sigval.data, &len) != ASN1_SUCCESS) {
		lerr_set(e, LERR_INVARIANT, "the CRL does not parse");
		goto out;
	}
	sigval.size = (unsigned)len / 8;
	if (alg_in.size != alg_out.size || memcmp(alg_in.data, alg_out.data, alg_in.size) != 0) {
		lerr_set(e, LERR_INVARIANT, "the CRL names two signature algorithms");
		goto out;
	}
	if (crl_check_head(scan, der, p, issuer, &sigval, &sig, e) != 0)
		goto out;
	if (gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_x509(pub, issuer, 0) < 0 ||
	    gnutls_pubkey_verify_data2(pub, sig, 0, &tbs, &sigval) < 0) {
		lerr_set(e, LERR_INVARIANT, "the CRL's signature does not verify under its issuer");
		goto out;
	}
	rc = crl_check_list(scan, der, p, e);
out:
	gnutls_pubkey_deinit(pub);
	gnutls_free(sigval.data);
	asn1_delete_structure(&scan);
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
