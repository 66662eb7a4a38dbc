/*
 * rollout_java.c - a Java truststore of lanca's roots:
 *   lanca-truststore.p12   PKCS#12 (store password "changeit", as Java's
 *                          own cacerts), one trusted certificate entry per
 *                          root, alias lanca-root-N
 *   java-install-root.sh   imports them into a JDK's cacerts with keytool
 *                          and lists them back
 * Java takes a key-less certificate of a PKCS#12 file as a trusted entry
 * only when its bag carries Oracle's trusted-key-usage attribute, which
 * GnuTLS cannot write: the bags are laid out with libtasn1 from
 * pkcs12trust.asn, and GnuTLS imports the file and computes its MAC.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <libtasn1.h>
#include <gnutls/pkcs12.h>

#include "ca/rollout.h"

#define JAVA_P12	"lanca-truststore.p12"
#define JAVA_PASS	"changeit"
#define OID_SHA256	"2.16.840.1.101.3.4.2.1"
#define OID_DATA	"1.2.840.113549.1.7.1"
#define OID_CERT_BAG	"1.2.840.113549.1.12.10.1.3"
#define OID_X509_CERT	"1.2.840.113549.1.9.22.1"
#define OID_FRIENDLY	"1.2.840.113549.1.9.20"
#define OID_JAVA_TRUST	"2.16.840.1.113894.746875.1.1"	/* ORACLE_TrustedKeyUsage */
#define OID_ANY_EKU	"2.5.29.37.0"			/* anyExtendedKeyUsage */

/* Generated from pkcs12trust.asn by asn1Parser (the file says how). */
static const asn1_static_node pkcs12trust_asn1_tab[] = {
	{ "LancaPkcs12Trust", 536875024, NULL },
	{ NULL, 1073741836, NULL },
	{ "PFX", 1610612741, NULL },
	{ "version", 1073741827, NULL },
	{ "authSafe", 1073741826, "ContentInfo"},
	{ "macData", 2, "MacData"},
	{ "MacData", 1610612741, NULL },
	{ "mac", 1610612741, NULL },
	{ "digestAlgorithm", 1610612741, NULL },
	{ "algorithm", 1073741836, NULL },
	{ "parameters", 16397, NULL },
	{ "digest", 7, NULL },
	{ "macSalt", 1073741831, NULL },
	{ "iterations", 3, NULL },
	{ "ContentInfo", 1610612741, NULL },
	{ "contentType", 1073741836, NULL },
	{ "content", 536895501, NULL },
	{ NULL, 2056, "0"},
	{ "AuthenticatedSafe", 1610612747, NULL },
	{ NULL, 2, "ContentInfo"},
	{ "SafeContents", 1610612747, NULL },
	{ NULL, 2, "SafeBag"},
	{ "SafeBag", 1610612741, NULL },
	{ "bagId", 1073741836, NULL },
	{ "bagValue", 1610620941, NULL },
	{ NULL, 2056, "0"},
	{ "bagAttributes", 536887311, NULL },
	{ NULL, 2, "Attribute"},
	{ "CertBag", 1610612741, NULL },
	{ "certId", 1073741836, NULL },
	{ "certValue", 536879111, NULL },
	{ NULL, 2056, "0"},
	{ "Attribute", 1610612741, NULL },
	{ "attrId", 1073741836, NULL },
	{ "attrValues", 536870927, NULL },
	{ NULL, 13, NULL },
	{ "Data", 1073741831, NULL },
	{ "ObjectId", 1073741836, NULL },
	{ "FriendlyName", 33, NULL },
	{ NULL, 0, NULL }
};

/* The definitions, parsed once per call: a truststore is made rarely. */
struct p12asn {
	asn1_node defs;
	struct lerr *e;
};

static int
asn_new(struct p12asn *a, const char *type, asn1_node *node)
{
	char name[64];
	int r;

	snprintf(name, sizeof(name), "LancaPkcs12Trust.%s", type);
	if ((r = asn1_create_element(a->defs, name, node)) != ASN1_SUCCESS)
		return lerr_set(a->e, LERR_INTERNAL, JAVA_P12 ": %s: %s", type, asn1_strerror(r));
	return 0;
}

static int
asn_write(struct p12asn *a, asn1_node node, const char *name, const void *v, int len)
{
	int r;

	if ((r = asn1_write_value(node, name, v, len)) != ASN1_SUCCESS)
		return lerr_set(a->e, LERR_INTERNAL, JAVA_P12 ": writing %s: %s", name,
				asn1_strerror(r));
	return 0;
}

/* node's DER into out (gnutls_free); node is deleted either way. */
static int
asn_der(struct p12asn *a, asn1_node *node, gnutls_datum_t *out)
{
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];
	int len = 0, r;

	out->data = NULL;
	r = asn1_der_coding(*node, "", NULL, &len, err);
	if (r == ASN1_MEM_ERROR && (out->data = gnutls_malloc((size_t)len)) != NULL)
		r = asn1_der_coding(*node, "", out->data, &len, err);
	asn1_delete_structure(node);
	if (r != ASN1_SUCCESS) {
		gnutls_free(out->data);
		out->data = NULL;
		return lerr_set(a->e, LERR_INTERNAL, JAVA_P12 ": encoding: %s: %s",
				asn1_strerror(r), err);
	}
	out->size = (unsigned)len;
	return 0;
}

/* The DER of a one-field type (ObjectId, Data, FriendlyName) holding v. */
static int
asn_value(struct p12asn *a, const char *type, const void *v, int len, gnutls_datum_t *out)
{
	asn1_node node = NULL;

	if (asn_new(a, type, &node) != 0)
		return -1;
	if (asn_write(a, node, "", v, len) != 0) {
		asn1_delete_structure(&node);
		return -1;
	}
	return asn_der(a, &node, out);
}

/* A ContentInfo of type data holding der, appended to the
 * AuthenticatedSafe node (or set as the PFX's authSafe at prefix). */
static int
asn_content(struct p12asn *a, asn1_node node, const char *prefix, const gnutls_datum_t *der)
{
	gnutls_datum_t data = { NULL, 0 };
	char name[64];
	int rc;

	if (asn_value(a, "Data", der->data, (int)der->size, &data) != 0)
		return -1;
	snprintf(name, sizeof(name), "%s.contentType", prefix);
	rc = asn_write(a, node, name, OID_DATA, 1);
	snprintf(name, sizeof(name), "%s.content", prefix);
	if (rc == 0)
		rc = asn_write(a, node, name, data.data, (int)data.size);
	gnutls_free(data.data);
	return rc;
}

/* One attribute with one value (DER) on the last bag of sc. */
static int
bag_attr(struct p12asn *a, asn1_node sc, const char *oid, const gnutls_datum_t *value)
{
	if (asn_write(a, sc, "?LAST.bagAttributes", "NEW", 1) != 0 ||
	    asn_write(a, sc, "?LAST.bagAttributes.?LAST.attrId", oid, 1) != 0 ||
	    asn_write(a, sc, "?LAST.bagAttributes.?LAST.attrValues", "NEW", 1) != 0 ||
	    asn_write(a, sc, "?LAST.bagAttributes.?LAST.attrValues.?LAST", value->data,
		      (int)value->size) != 0)
		return -1;
	return 0;
}

/* Root i's bag, appended to sc: the certificate, its alias and the
 * trust Java looks for. */
static int
java_bag(struct p12asn *a, const struct rollout_in *in, size_t i, asn1_node sc)
{
	gnutls_datum_t der = { NULL, 0 }, cert = { NULL, 0 }, alias = { NULL, 0 },
		       any = { NULL, 0 };
	unsigned char bmp[64];
	char name[32];
	asn1_node bag = NULL;
	size_t k, len;
	int rc = -1;

	/* The alias as a BMPString: UTF-16BE, ASCII here. */
	len = (size_t)snprintf(name, sizeof(name), "lanca-root-%zu", i + 1);
	for (k = 0; k < len; k++) {
		bmp[2 * k] = 0;
		bmp[2 * k + 1] = (unsigned char)name[k];
	}
	if (rollout_der(in, i, &der, a->e) != 0 || asn_new(a, "CertBag", &bag) != 0 ||
	    asn_write(a, bag, "certId", OID_X509_CERT, 1) != 0 ||
	    asn_write(a, bag, "certValue", der.data, (int)der.size) != 0 ||
	    asn_der(a, &bag, &cert) != 0 ||
	    asn_value(a, "FriendlyName", bmp, (int)(2 * len), &alias) != 0 ||
	    asn_value(a, "ObjectId", OID_ANY_EKU, 1, &any) != 0)
		goto out;
	if (asn_write(a, sc, "", "NEW", 1) != 0 ||
	    asn_write(a, sc, "?LAST.bagId", OID_CERT_BAG, 1) != 0 ||
	    asn_write(a, sc, "?LAST.bagValue", cert.data, (int)cert.size) != 0 ||
	    bag_attr(a, sc, OID_FRIENDLY, &alias) != 0 || bag_attr(a, sc, OID_JAVA_TRUST, &any) != 0)
		goto out;
	rc = 0;
out:
	asn1_delete_structure(&bag);
	gnutls_free(der.data);
	gnutls_free(cert.data);
	gnutls_free(alias.data);
	gnutls_free(any.data);
	return rc;
}

/* A macData for GnuTLS to fill in (pkcs12trust.asn says why): every
 * field present, none meaningful. */
static int
java_mac_placeholder(struct p12asn *a, asn1_node p)
{
	static const unsigned char zero[32];

	if (asn_write(a, p, "macData.mac.digestAlgorithm.algorithm", OID_SHA256, 1) != 0 ||
	    asn_write(a, p, "macData.mac.digestAlgorithm.parameters", NULL, 0) != 0 ||
	    asn_write(a, p, "macData.mac.digest", zero, sizeof(zero)) != 0 ||
	    asn_write(a, p, "macData.macSalt", zero, 8) != 0 ||
	    asn_write(a, p, "macData.iterations", "2", 0) != 0)
		return -1;
	return 0;
}

/* The PFX with a placeholder MAC: version 3, one unencrypted SafeContents. */
static int
java_pfx(struct p12asn *a, const struct rollout_in *in, gnutls_datum_t *pfx)
{
	gnutls_datum_t sc_der = { NULL, 0 }, as_der = { NULL, 0 };
	asn1_node sc = NULL, as = NULL, p = NULL;
	size_t i;
	int rc = -1;

	pfx->data = NULL;
	if (asn_new(a, "SafeContents", &sc) != 0)
		goto out;
	for (i = 0; i < in->n; i++)
		if (java_bag(a, in, i, sc) != 0)
			goto out;
	if (asn_der(a, &sc, &sc_der) != 0 || asn_new(a, "AuthenticatedSafe", &as) != 0 ||
	    asn_write(a, as, "", "NEW", 1) != 0 || asn_content(a, as, "?LAST", &sc_der) != 0 ||
	    asn_der(a, &as, &as_der) != 0 || asn_new(a, "PFX", &p) != 0 ||
	    asn_write(a, p, "version", "3", 0) != 0 ||
	    asn_content(a, p, "authSafe", &as_der) != 0 || java_mac_placeholder(a, p) != 0 ||
	    asn_der(a, &p, pfx) != 0)
		goto out;
	rc = 0;
out:
	asn1_delete_structure(&sc);
	asn1_delete_structure(&as);
	asn1_delete_structure(&p);
	gnutls_free(sc_der.data);
	gnutls_free(as_der.data);
	return rc;
}

static int
java_p12(const struct rollout_in *in, struct rollout_file *out, size_t max, size_t *n,
	 struct lerr *e)
{
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];
	struct p12asn a = { NULL, e };
	gnutls_datum_t pfx = { NULL, 0 }, p12der = { NULL, 0 };
	gnutls_pkcs12_t p12 = NULL;
	int r, rc = -1;

	if ((r = asn1_array2tree(pkcs12trust_asn1_tab, &a.defs, err)) != ASN1_SUCCESS)
		return lerr_set(e, LERR_INTERNAL, JAVA_P12 ": definitions: %s: %s",
				asn1_strerror(r), err);
	if (java_pfx(&a, in, &pfx) != 0)
		goto out;
	if ((r = gnutls_pkcs12_init(&p12)) < 0 ||
	    (r = gnutls_pkcs12_import(p12, &pfx, GNUTLS_X509_FMT_DER, 0)) < 0 ||
	    (r = gnutls_pkcs12_generate_mac2(p12, GNUTLS_MAC_SHA256, JAVA_PASS)) < 0 ||
	    (r = gnutls_pkcs12_export2(p12, GNUTLS_X509_FMT_DER, &p12der)) < 0) {
		lerr_set(e, LERR_INTERNAL, JAVA_P12 ": %s", gnutls_strerror(r));
		goto out;
	}
	rc = rollout_file_add(out, max, n, JAVA_P12, p12der.data, p12der.size, e);
out:
	gnutls_pkcs12_deinit(p12);
	gnutls_free(pfx.data);
	gnutls_free(p12der.data);
	asn1_delete_structure(&a.defs);
	return rc;
}

static int
java_script(const struct rollout_in *in, struct rollout_file *out, size_t max, size_t *n,
	    struct lerr *e)
{
	struct buf b;
	size_t i;
	int bad = 0;

	buf_init(&b, ROLLOUT_FILE_MAX);
	bad |= buf_puts(&b,
		"#!/bin/sh\n"
		"# Imports lanca's roots from " JAVA_P12 " (beside this script) into a Java\n"
		"# keystore: KEYSTORE when given, else this JDK's cacerts (run as root for\n"
		"# that). Or use the truststore as it is:\n"
		"#   java -Djavax.net.ssl.trustStore=" JAVA_P12 " \\\n"
		"#     -Djavax.net.ssl.trustStorePassword=" JAVA_PASS
		" -Djavax.net.ssl.trustStoreType=PKCS12 ...\n"
		"# usage: java-install-root.sh [KEYSTORE]  (STOREPASS: its password, default "
		JAVA_PASS ")\n"
		"set -eu\n"
		"here=$(dirname \"$0\")\n"
		"pass=${STOREPASS:-" JAVA_PASS "}\n"
		"if [ $# -gt 0 ]; then\n"
		"  store=$1\n"
		"else\n"
		"  # A JDK's cacerts: $JAVA_HOME's, else that of the java on PATH.\n"
		"  home=${JAVA_HOME:-$(dirname \"$(dirname \"$(readlink -f \"$(command -v java)\")\")\")}\n"
		"  store=$home/lib/security/cacerts\n"
		"fi\n"
		"keytool -importkeystore -noprompt -srckeystore \"$here/" JAVA_P12 "\" \\\n"
		"  -srcstoretype PKCS12 -srcstorepass " JAVA_PASS
		" -destkeystore \"$store\" -deststorepass \"$pass\"\n"
		"# Check: each root is in the store now.\n");
	for (i = 0; i < in->n; i++)
		bad |= buf_printf(&b, "keytool -list -keystore \"$store\" -storepass \"$pass\" "
				  "-alias lanca-root-%zu\n", i + 1);
	if (bad)
		b.failed = 1;
	return rollout_add_buf(out, max, n, "java-install-root.sh", &b, e);
}

int
rollout_write_java(const struct rollout_in *in, struct rollout_file *out, size_t max,
		   size_t *n, struct lerr *e)
{
	size_t first = *n;

	if (rollout_in_check(in, e) != 0)
		return -1;
	if (java_p12(in, out, max, n, e) != 0 || java_script(in, out, max, n, e) != 0) {
		rollout_files_free(out + first, *n - first);
		*n = first;
		return -1;
	}
	return 0;
}
