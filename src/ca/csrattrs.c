/*
 * csrattrs.c - the CsrAttrs of RFC 7030 §4.5.2, built and read with
 * libtasn1 from the definitions in csrattrs.asn (see csrattrs.h for what
 * lanca announces). No DER is written or read by hand here: libtasn1
 * encodes and decodes every structure, and its TLV readers give the
 * outer-layer errors a name before the full decode runs.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <libtasn1.h>

#include "ca/csrattrs.h"

/* PKCS#9 challengePassword; GnuTLS has no constant or getter for it. */
#define CSRATTRS_OID_CHALLENGE_PASSWORD	"1.2.840.113549.1.9.7"

/* Generated from csrattrs.asn by asn1Parser (the file says how). */
static const asn1_static_node csrattrs_asn1_tab[] = {
	{ "LancaCsrAttrs", 536875024, NULL },
	{ NULL, 1073741836, NULL },
	{ "CsrAttrs", 1612709899, NULL },
	{ "MAX", 1074266122, "0" },
	{ NULL, 2, "AttrOrOID" },
	{ "AttrOrOID", 1610612754, NULL },
	{ "oid", 1073741836, NULL },
	{ "attribute", 2, "Attribute" },
	{ "Attribute", 1610612741, NULL },
	{ "type", 1073741836, NULL },
	{ "values", 538968079, NULL },
	{ "MAX", 1074266122, "1" },
	{ NULL, 2, "AttributeValue" },
	{ "AttributeValue", 1073741837, NULL },
	{ "ObjectId", 12, NULL },
	{ NULL, 0, NULL }
};

/* The definitions tree, made once and then only read: asn1_create_element
 * copies from it, so threads share it as GnuTLS shares its PKIX tree. */
static pthread_once_t csrattrs_once = PTHREAD_ONCE_INIT;
static asn1_node csrattrs_defs;
static int csrattrs_defs_rc = ASN1_GENERIC_ERROR;
static char csrattrs_defs_err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];

static void
csrattrs_defs_init(void)
{
	csrattrs_defs_rc = asn1_array2tree(csrattrs_asn1_tab, &csrattrs_defs,
					   csrattrs_defs_err);
}

/*
 * A new, empty structure of the named type ("CsrAttrs", "ObjectId") into
 * *node (asn1_delete_structure it). Returns 0 or -1 with e (internal: the
 * definitions are ours, so a failure here is a bug or no memory).
 */
static int
csrattrs_new(const char *type, asn1_node *node, struct lerr *e)
{
	char name[64];
	int r;

	*node = NULL;
	if (pthread_once(&csrattrs_once, csrattrs_defs_init) != 0 ||
	    csrattrs_defs_rc != ASN1_SUCCESS)
		return lerr_set(e, LERR_INTERNAL, "csrattrs: ASN.1 definitions: %s %s",
				asn1_strerror(csrattrs_defs_rc), csrattrs_defs_err);
	r = snprintf(name, sizeof(name), "LancaCsrAttrs.%s", type);
	if (r < 0 || (size_t)r >= sizeof(name))
		return lerr_set(e, LERR_INTERNAL, "csrattrs: type name %s too long", type);
	r = asn1_create_element(csrattrs_defs, name, node);
	if (r != ASN1_SUCCESS)
		return lerr_set(e, LERR_INTERNAL, "csrattrs: %s: %s", name, asn1_strerror(r));
	return 0;
}

/* Sets name in node to the dotted oid. 0 or -1 with e (internal). */
static int
csrattrs_write_oid(asn1_node node, const char *name, const char *oid, struct lerr *e)
{
	int r;

	if (oid == NULL)
		return lerr_set(e, LERR_INTERNAL, "csrattrs: GnuTLS knows no OID for %s", name);
	r = asn1_write_value(node, name, oid, 1);
	if (r != ASN1_SUCCESS)
		return lerr_set(e, LERR_INTERNAL, "csrattrs: writing %s = %s: %s", name, oid,
				asn1_strerror(r));
	return 0;
}

/* Appends a new AttrOrOID to attrs and selects alternative alt in it. */
static int
csrattrs_append(asn1_node attrs, const char *alt, struct lerr *e)
{
	int r;

	r = asn1_write_value(attrs, "", "NEW", 1);
	if (r == ASN1_SUCCESS)
		r = asn1_write_value(attrs, "?LAST", alt, 1);
	if (r != ASN1_SUCCESS)
		return lerr_set(e, LERR_INTERNAL, "csrattrs: new %s entry: %s", alt,
				asn1_strerror(r));
	return 0;
}

/*
 * The DER of node into *der (gnutls_malloc'd; the caller gnutls_frees it
 * on success). Returns 0 or -1 with e.
 */
static int
csrattrs_encode(asn1_node node, gnutls_datum_t *der, struct lerr *e)
{
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "";
	int len = 0, r;

	r = asn1_der_coding(node, "", NULL, &len, err);
	if (r != ASN1_MEM_ERROR || len <= 0)
		return lerr_set(e, LERR_INTERNAL, "csrattrs: encoding: %s %s",
				asn1_strerror(r), err);
	der->data = gnutls_malloc((size_t)len);
	if (der->data == NULL)
		return lerr_set(e, LERR_INTERNAL, "csrattrs: out of memory");
	r = asn1_der_coding(node, "", der->data, &len, err);
	if (r != ASN1_SUCCESS) {
		gnutls_free(der->data);
		der->data = NULL;
		return lerr_set(e, LERR_INTERNAL, "csrattrs: encoding: %s %s",
				asn1_strerror(r), err);
	}
	der->size = (unsigned)len;
	return 0;
}

/*
 * The entries, in order: challengePassword when w asks for channel
 * binding (first, as in RFC 7030's example), then the key (id-ecPublicKey
 * with the curve P-256 as its one value), then the signature algorithm.
 * The OIDs come from GnuTLS, which knows them by algorithm.
 */
int
csrattrs_build(const struct csrattrs_want *w, gnutls_datum_t *der, struct lerr *e)
{
	gnutls_datum_t curve = { NULL, 0 };
	asn1_node attrs = NULL, oid = NULL;
	int r, rc = -1;

	der->data = NULL;
	der->size = 0;
	/* The attribute value is an ANY: libtasn1 takes its DER, which the
	 * ObjectId type makes. */
	if (csrattrs_new("ObjectId", &oid, e) != 0 ||
	    csrattrs_write_oid(oid, "", gnutls_ecc_curve_get_oid(GNUTLS_ECC_CURVE_SECP256R1),
			       e) != 0 ||
	    csrattrs_encode(oid, &curve, e) != 0)
		goto out;

	if (csrattrs_new("CsrAttrs", &attrs, e) != 0)
		goto out;
	if (w->challenge_password &&
	    (csrattrs_append(attrs, "oid", e) != 0 ||
	     csrattrs_write_oid(attrs, "?LAST.oid", CSRATTRS_OID_CHALLENGE_PASSWORD, e) != 0))
		goto out;

	if (csrattrs_append(attrs, "attribute", e) != 0 ||
	    csrattrs_write_oid(attrs, "?LAST.attribute.type",
			       gnutls_pk_get_oid(GNUTLS_PK_ECDSA), e) != 0)
		goto out;
	r = asn1_write_value(attrs, "?LAST.attribute.values", "NEW", 1);
	if (r == ASN1_SUCCESS)
		r = asn1_write_value(attrs, "?LAST.attribute.values.?LAST", curve.data,
				     (int)curve.size);
	if (r != ASN1_SUCCESS) {
		lerr_set(e, LERR_INTERNAL, "csrattrs: the curve value: %s", asn1_strerror(r));
		goto out;
	}

	if (csrattrs_append(attrs, "oid", e) != 0 ||
	    csrattrs_write_oid(attrs, "?LAST.oid", gnutls_sign_get_oid(GNUTLS_SIGN_ECDSA_SHA256),
			       e) != 0)
		goto out;

	if (csrattrs_encode(attrs, der, e) != 0)
		goto out;
	rc = 0;
out:
	gnutls_free(curve.data);
	asn1_delete_structure(&attrs);
	asn1_delete_structure(&oid);
	return rc;
}

/* The name of a node ("?3.attribute.type") into buf. 0, or -1 with e
 * (internal: every name here is short and bounded by CSRATTRS_MAX). */
static int __attribute__((format(printf, 4, 5)))
csrattrs_name(char *buf, size_t size, struct lerr *e, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= size)
		return lerr_set(e, LERR_INTERNAL, "csrattrs: node name %s too long", fmt);
	return 0;
}

/*
 * Reads the OID at name in node into out (CSRATTRS_OID_MAX bytes) for
 * entry i. One too long for out, or missing, gives LERR_BAD_REQUEST.
 */
static int
csrattrs_read_oid(asn1_node node, const char *name, char *out, size_t i, struct lerr *e)
{
	int len = CSRATTRS_OID_MAX, r;

	r = asn1_read_value(node, name, out, &len);
	if (r == ASN1_MEM_ERROR)
		return lerr_set(e, LERR_BAD_REQUEST,
				"csrattrs: entry %zu: an OID longer than %d characters", i,
				CSRATTRS_OID_MAX - 1);
	/* len counts the NUL libtasn1 writes; an OID without text (no
	 * arcs) is no OID. */
	if (r != ASN1_SUCCESS || len < 2 || len > CSRATTRS_OID_MAX || out[len - 1] != '\0')
		return lerr_set(e, LERR_BAD_REQUEST, "csrattrs: entry %zu: no OID (%s)", i,
				asn1_strerror(r));
	return 0;
}

/*
 * The first value of the attribute at entry i (name "?i") into out->value
 * when it is a DER OBJECT IDENTIFIER and nothing else; else leaves it "".
 * An attribute with no value at all gives LERR_BAD_REQUEST (SIZE (1..MAX)).
 */
static int
csrattrs_read_value(asn1_node attrs, const char *entry, struct csrattrs_entry *out,
		    size_t i, struct lerr *e)
{
	unsigned char val[CSRATTRS_DER_MAX];
	char name[48];
	asn1_node oid = NULL;
	int count = 0, len = (int)sizeof(val), used, rc = -1;

	if (csrattrs_name(name, sizeof(name), e, "%s.attribute.values", entry) != 0)
		goto out;
	if (asn1_number_of_elements(attrs, name, &count) != ASN1_SUCCESS || count < 1) {
		lerr_set(e, LERR_BAD_REQUEST, "csrattrs: entry %zu: an attribute with no value",
			 i);
		goto out;
	}
	if (csrattrs_name(name, sizeof(name), e, "%s.attribute.values.?1", entry) != 0)
		goto out;
	if (asn1_read_value(attrs, name, val, &len) != ASN1_SUCCESS || len <= 0) {
		lerr_set(e, LERR_BAD_REQUEST,
			 "csrattrs: entry %zu: the attribute's first value does not read", i);
		goto out;
	}
	if (csrattrs_new("ObjectId", &oid, e) != 0)
		goto out;
	/* Exactly one OBJECT IDENTIFIER TLV, or the value is something else
	 * (a size, a template) that this reader reports as "". */
	used = len;
	if (asn1_der_decoding2(&oid, val, &used, ASN1_DECODE_FLAG_STRICT_DER, NULL) !=
	    ASN1_SUCCESS || used != len) {
		rc = 0;
		goto out;
	}
	if (csrattrs_read_oid(oid, "", out->value, i, e) != 0)
		goto out;
	rc = 0;
out:
	asn1_delete_structure(&oid);
	return rc;
}

/*
 * Checks the outer layer with libtasn1's TLV readers, so that the common
 * faults get their own words: not a SEQUENCE, a length running past the
 * input, bytes after it. Returns 0 or -1 with e.
 */
static int
csrattrs_outer(const unsigned char *der, int len, struct lerr *e)
{
	unsigned long tag = 0;
	unsigned char cls = 0;
	int tag_len = 0, len_len = 0;
	long body;

	if (asn1_get_tag_der(der, len, &cls, &tag_len, &tag) != ASN1_SUCCESS)
		return lerr_set(e, LERR_BAD_REQUEST, "csrattrs: %d bytes hold no DER tag", len);
	if (cls != (ASN1_CLASS_UNIVERSAL | ASN1_CLASS_STRUCTURED) || tag != ASN1_TAG_SEQUENCE)
		return lerr_set(e, LERR_BAD_REQUEST,
				"csrattrs: the outer tag is 0x%02x, not a SEQUENCE (0x30)",
				der[0]);
	body = asn1_get_length_der(der + tag_len, len - tag_len, &len_len);
	if (body == -1)
		return lerr_set(e, LERR_BAD_REQUEST,
				"csrattrs: an indefinite length (BER), not DER");
	if (body == -4)
		return lerr_set(e, LERR_BAD_REQUEST,
				"csrattrs: truncated: the SEQUENCE's length runs past the %d bytes given",
				len);
	if (body < 0)
		return lerr_set(e, LERR_BAD_REQUEST, "csrattrs: the SEQUENCE's length is invalid");
	if ((long)tag_len + len_len + body < len)
		return lerr_set(e, LERR_BAD_REQUEST,
				"csrattrs: %ld bytes of trailing data after the SEQUENCE",
				(long)len - tag_len - len_len - body);
	return 0;
}

/*
 * After libtasn1 refused the entries of der (whose outer layer passed
 * csrattrs_outer), names the first entry whose tag is neither form of
 * AttrOrOID, when there is one: the decoder itself only says DER_ERROR.
 * Returns the 1-based entry number, or 0 when every tag is a possible one.
 */
static int
csrattrs_odd_entry(const unsigned char *der, int len, unsigned char *tag0)
{
	unsigned long tag = 0;
	unsigned char cls = 0;
	int pos, tag_len = 0, len_len = 0, i;
	long body;

	if (asn1_get_tag_der(der, len, &cls, &tag_len, &tag) != ASN1_SUCCESS)
		return 0;
	body = asn1_get_length_der(der + tag_len, len - tag_len, &len_len);
	if (body < 0)
		return 0;
	pos = tag_len + len_len;
	for (i = 1; pos < len; i++) {
		if (asn1_get_tag_der(der + pos, len - pos, &cls, &tag_len, &tag) !=
		    ASN1_SUCCESS)
			return 0;
		if (!(cls == ASN1_CLASS_UNIVERSAL && tag == ASN1_TAG_OBJECT_ID) &&
		    !(cls == (ASN1_CLASS_UNIVERSAL | ASN1_CLASS_STRUCTURED) &&
		      tag == ASN1_TAG_SEQUENCE)) {
			*tag0 = der[pos];
			return i;
		}
		body = asn1_get_length_der(der + pos + tag_len, len - pos - tag_len, &len_len);
		if (body < 0)
			return 0;
		pos += tag_len + len_len + (int)body;
	}
	return 0;
}

/*
 * Reads untrusted DER: its outer layer first, then a strict-DER decode of
 * the whole, then each entry, bounded by max (at most CSRATTRS_MAX) and
 * by the OID text size.
 */
int
csrattrs_parse(const unsigned char *der, size_t len, struct csrattrs_entry *out,
	       size_t max, size_t *n, struct lerr *e)
{
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "";
	char entry[16], alt[16];
	asn1_node attrs = NULL;
	int used, count = 0, alen, odd, r, rc = -1;
	unsigned char odd_tag = 0;
	size_t i;

	*n = 0;
	if (max > CSRATTRS_MAX)
		max = CSRATTRS_MAX;
	if (len == 0) {
		lerr_set(e, LERR_BAD_REQUEST, "csrattrs: empty");
		goto out;
	}
	/* The cap keeps the node tree libtasn1 builds small (and int-sized)
	 * before a single entry has been counted. */
	if (len > CSRATTRS_DER_MAX) {
		lerr_set(e, LERR_BAD_REQUEST, "csrattrs: %zu bytes, more than %d", len,
			 CSRATTRS_DER_MAX);
		goto out;
	}
	if (csrattrs_outer(der, (int)len, e) != 0)
		goto out;
	if (csrattrs_new("CsrAttrs", &attrs, e) != 0)
		goto out;
	used = (int)len;
	r = asn1_der_decoding2(&attrs, der, &used, ASN1_DECODE_FLAG_STRICT_DER, err);
	if (r != ASN1_SUCCESS && (odd = csrattrs_odd_entry(der, (int)len, &odd_tag)) > 0) {
		lerr_set(e, LERR_BAD_REQUEST,
			 "csrattrs: entry %d (tag 0x%02x) is neither an OID nor an Attribute",
			 odd, odd_tag);
		goto out;
	}
	if (r != ASN1_SUCCESS) {
		lerr_set(e, LERR_BAD_REQUEST,
			 "csrattrs: not a SEQUENCE OF AttrOrOID in DER: %s%s%s",
			 asn1_strerror(r), err[0] != '\0' ? ": " : "", err);
		goto out;
	}
	r = asn1_number_of_elements(attrs, "", &count);
	if (r == ASN1_ELEMENT_NOT_FOUND)
		count = 0;	/* an empty SEQUENCE: nothing asked for */
	else if (r != ASN1_SUCCESS) {
		lerr_set(e, LERR_BAD_REQUEST, "csrattrs: cannot count the entries: %s",
			 asn1_strerror(r));
		goto out;
	}
	if ((size_t)count > max) {
		lerr_set(e, LERR_BAD_REQUEST, "csrattrs: %d entries, more than %zu", count, max);
		goto out;
	}
	for (i = 0; i < (size_t)count; i++) {
		struct csrattrs_entry *o = &out[i];
		char name[48];

		memset(o, 0, sizeof(*o));
		alen = (int)sizeof(alt);
		memset(alt, 0, sizeof(alt));
		/* A CHOICE reads as the name of the alternative present: the
		 * names are csrattrs.asn's, the only way libtasn1 tells. */
		if (csrattrs_name(entry, sizeof(entry), e, "?%zu", i + 1) != 0)
			goto out;
		if (asn1_read_value(attrs, entry, alt, &alen) != ASN1_SUCCESS) {
			lerr_set(e, LERR_BAD_REQUEST, "csrattrs: entry %zu does not read", i + 1);
			goto out;
		}
		if (strcmp(alt, "oid") == 0) {
			if (csrattrs_name(name, sizeof(name), e, "%s.oid", entry) != 0 ||
			    csrattrs_read_oid(attrs, name, o->oid, i + 1, e) != 0)
				goto out;
		} else if (strcmp(alt, "attribute") == 0) {
			o->is_attribute = 1;
			if (csrattrs_name(name, sizeof(name), e, "%s.attribute.type", entry) != 0 ||
			    csrattrs_read_oid(attrs, name, o->oid, i + 1, e) != 0 ||
			    csrattrs_read_value(attrs, entry, o, i + 1, e) != 0)
				goto out;
		} else {
			lerr_set(e, LERR_BAD_REQUEST,
				 "csrattrs: entry %zu is neither an OID nor an Attribute", i + 1);
			goto out;
		}
	}
	*n = (size_t)count;
	rc = 0;
out:
	asn1_delete_structure(&attrs);
	return rc;
}
