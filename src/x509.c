/*
 * x509.c - building and checking certificates through GnuTLS (see x509.h).
 *
 * Every builder starts from an empty certificate and sets the whole
 * extension list itself; nothing is ever copied from a request. The leaf
 * path (x509_make_leaf, x509_check_leaf) runs for every issuance, so it
 * avoids work that does not change the result: no PEM round trips, one
 * export, one parse for the check.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509-ext.h>

#include "lerr.h"
#include "names.h"
#include "x509.h"

#define X509_KEYID_MAX	64	/* SKI/AKI bytes we are prepared to carry */
#define X509_SAN_MAX	512	/* one SAN value read back from a certificate */

/* The digest that goes with the issuer's key: SHA-384 for P-384 (as
 * RFC 5480 pairs them), SHA-512 for P-521, SHA-256 for P-256 and RSA.
 * Other algorithms (EdDSA) get GNUTLS_DIG_UNKNOWN, which lets GnuTLS use
 * the only digest they allow. */
static gnutls_digest_algorithm_t
x509_sign_digest(gnutls_privkey_t key)
{
	unsigned bits = 0;
	int pk;

	pk = gnutls_privkey_get_pk_algorithm(key, &bits);
	switch (pk) {
	case GNUTLS_PK_ECDSA:
		if (bits > 384)
			return GNUTLS_DIG_SHA512;
		if (bits > 256)
			return GNUTLS_DIG_SHA384;
		return GNUTLS_DIG_SHA256;
	case GNUTLS_PK_RSA:
	case GNUTLS_PK_RSA_PSS:
		return GNUTLS_DIG_SHA256;
	default:
		return GNUTLS_DIG_UNKNOWN;
	}
}

/* A serial must be X509_SERIAL_LEN bytes with a first byte of 0x01..0x7f,
 * so that the DER INTEGER is positive and minimal with no padding byte. */
static int
x509_serial_ok(const unsigned char *serial)
{
	return serial != NULL && serial[0] >= 0x01 && serial[0] <= 0x7f;
}

/* Sets the fields every certificate we make shares: v3, serial, validity.
 * Returns 0 or -1 with e filled. */
static int
x509_set_common(gnutls_x509_crt_t crt, const unsigned char *serial,
		time_t not_before, time_t not_after, struct lerr *e)
{
	int ret;

	if (!x509_serial_ok(serial))
		return lerr_set(e, 500, LERR_INTERNAL,
				"certificate serial missing or not a positive %d-byte integer",
				X509_SERIAL_LEN);
	if (not_after <= not_before)
		return lerr_set(e, 500, LERR_INTERNAL,
				"certificate validity ends before it starts");
	if ((ret = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (ret = gnutls_x509_crt_set_serial(crt, serial, X509_SERIAL_LEN)) < 0 ||
	    (ret = gnutls_x509_crt_set_activation_time(crt, not_before)) < 0 ||
	    (ret = gnutls_x509_crt_set_expiration_time(crt, not_after)) < 0)
		return lerr_set(e, 500, LERR_INTERNAL, "setting certificate fields: %s",
				gnutls_strerror(ret));
	return 0;
}

/* Sets the SKI from the subject's public key: GnuTLS's SHA-1 key id of
 * the key (RFC 5280 4.2.1.2 lets the CA pick the method; it only has to
 * be stable, and the AKI of what this CA signs copies it). 0 or -1. */
static int
x509_set_ski(gnutls_x509_crt_t crt, gnutls_pubkey_t pub, struct lerr *e)
{
	unsigned char id[X509_KEYID_MAX];
	size_t idlen = sizeof(id);
	int ret;

	if ((ret = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA1, id, &idlen)) < 0 ||
	    (ret = gnutls_x509_crt_set_subject_key_id(crt, id, idlen)) < 0)
		return lerr_set(e, 500, LERR_INTERNAL, "setting subject key id: %s",
				gnutls_strerror(ret));
	return 0;
}

/* Sets the AKI to the issuer's SKI (or, for an issuer without one, the
 * key id GnuTLS derives from its key, which is what its SKI would be).
 * Returns 0 or -1. */
static int
x509_set_aki(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer, struct lerr *e)
{
	unsigned char id[X509_KEYID_MAX];
	size_t idlen = sizeof(id);
	unsigned critical;
	int ret;

	ret = gnutls_x509_crt_get_subject_key_id(issuer, id, &idlen, &critical);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		idlen = sizeof(id);
		ret = gnutls_x509_crt_get_key_id(issuer, GNUTLS_KEYID_USE_SHA1, id, &idlen);
	}
	if (ret < 0 || (ret = gnutls_x509_crt_set_authority_key_id(crt, id, idlen)) < 0)
		return lerr_set(e, 500, LERR_INTERNAL, "setting authority key id: %s",
				gnutls_strerror(ret));
	return 0;
}

/* Fills mask (len bytes) with prefix leading one bits. */
static void
x509_prefix_mask(unsigned char *mask, unsigned len, unsigned prefix)
{
	unsigned i, bits;

	for (i = 0; i < len; i++) {
		bits = prefix > 8 * i ? prefix - 8 * i : 0;
		if (bits >= 8)
			mask[i] = 0xff;
		else
			mask[i] = (unsigned char)(0xff00u >> bits);
	}
}

/* Builds the critical nameConstraints extension from the permitted
 * subtrees: DNS suffixes as dNSName, networks as iPAddress holding the
 * address followed by its mask (RFC 5280 4.2.1.10: 8 or 32 bytes). An
 * empty list is refused: a lanca CA is always constrained, and an empty
 * extension would be invalid DER besides. Returns 0 or -1. */
static int
x509_set_name_constraints(gnutls_x509_crt_t crt, const struct names *permitted,
			  struct lerr *e)
{
	gnutls_x509_name_constraints_t nc = NULL;
	unsigned char ipbuf[32];
	gnutls_datum_t d;
	const struct ipnet *ip;
	size_t i;
	unsigned j;
	int ret, rc = -1;

	if (permitted == NULL || permitted->ndns + permitted->nip == 0) {
		lerr_set(e, 500, LERR_INTERNAL, "a CA needs at least one permitted name subtree");
		goto out;
	}
	if ((ret = gnutls_x509_name_constraints_init(&nc)) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "name constraints: %s", gnutls_strerror(ret));
		goto out;
	}
	for (i = 0; i < permitted->ndns; i++) {
		d.data = (unsigned char *)permitted->dns[i];
		d.size = (unsigned)strlen(permitted->dns[i]);
		if ((ret = gnutls_x509_name_constraints_add_permitted(nc,
				GNUTLS_SAN_DNSNAME, &d)) < 0) {
			lerr_set(e, 500, LERR_INTERNAL, "name constraint %s: %s",
				 permitted->dns[i], gnutls_strerror(ret));
			goto out;
		}
	}
	for (i = 0; i < permitted->nip; i++) {
		ip = &permitted->ip[i];
		if ((ip->len != 4 && ip->len != 16) || ip->prefix > 8 * ip->len) {
			lerr_set(e, 500, LERR_INTERNAL, "name constraint: malformed network");
			goto out;
		}
		x509_prefix_mask(ipbuf + ip->len, ip->len, ip->prefix);
		/* Host bits are cleared: "10.1.2.3/8" means 10.0.0.0/8. */
		for (j = 0; j < ip->len; j++)
			ipbuf[j] = ip->addr[j] & ipbuf[ip->len + j];
		d.data = ipbuf;
		d.size = 2 * ip->len;
		if ((ret = gnutls_x509_name_constraints_add_permitted(nc,
				GNUTLS_SAN_IPADDRESS, &d)) < 0) {
			lerr_set(e, 500, LERR_INTERNAL, "name constraint (address): %s",
				 gnutls_strerror(ret));
			goto out;
		}
	}
	if ((ret = gnutls_x509_crt_set_name_constraints(crt, nc, 1)) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "setting name constraints: %s",
			 gnutls_strerror(ret));
		goto out;
	}
	rc = 0;
out:
	if (nc != NULL)
		gnutls_x509_name_constraints_deinit(nc);
	return rc;
}

static int x509_check_nc(gnutls_x509_crt_t leaf, gnutls_x509_crt_t ca, struct lerr *e);

/* Builds a CA certificate for subject_key. issuer == NULL makes it
 * self-signed (the issuer DN is then the subject's and there is no AKI).
 * On success *out is a new certificate owned by the caller. */
static int
x509_make_ca_cert(const struct x509_ca_params *p, gnutls_pubkey_t subject_key,
		  gnutls_x509_crt_t issuer, gnutls_privkey_t sign_key,
		  gnutls_x509_crt_t *out, struct lerr *e)
{
	gnutls_x509_crt_t crt = NULL, parsed = NULL;
	gnutls_datum_t der = { NULL, 0 };
	int ret, rc = -1;

	*out = NULL;
	if ((p->cn == NULL || p->cn[0] == '\0') && (p->ou == NULL || p->ou[0] == '\0')) {
		lerr_set(e, 500, LERR_INTERNAL, "a CA needs a common name or a unit name");
		goto out;
	}
	if (p->pathlen > 8) {
		lerr_set(e, 500, LERR_INTERNAL, "CA path length %u is out of range", p->pathlen);
		goto out;
	}
	if ((ret = gnutls_x509_crt_init(&crt)) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "certificate: %s", gnutls_strerror(ret));
		goto out;
	}
	if (x509_set_common(crt, p->serial, p->not_before, p->not_after, e) != 0)
		goto out;
	/* RDNs go most significant first, so O precedes CN. */
	if (p->org != NULL && p->org[0] != '\0' &&
	    (ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME,
				0, p->org, (unsigned)strlen(p->org))) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "setting CA organisation: %s", gnutls_strerror(ret));
		goto out;
	}
	if (p->ou != NULL && p->ou[0] != '\0' &&
	    (ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME,
				0, p->ou, (unsigned)strlen(p->ou))) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "setting CA unit: %s", gnutls_strerror(ret));
		goto out;
	}
	if (p->cn != NULL && p->cn[0] != '\0' &&
	    (ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
				p->cn, (unsigned)strlen(p->cn))) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "setting CA common name: %s", gnutls_strerror(ret));
		goto out;
	}
	if ((ret = gnutls_x509_crt_set_pubkey(crt, subject_key)) < 0 ||
	    (ret = gnutls_x509_crt_set_basic_constraints(crt, 1, (int)p->pathlen)) < 0 ||
	    (ret = gnutls_x509_crt_set_key_usage(crt,
				GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "setting CA fields: %s", gnutls_strerror(ret));
		goto out;
	}
	if (x509_set_ski(crt, subject_key, e) != 0)
		goto out;
	if (issuer != NULL && x509_set_aki(crt, issuer, e) != 0)
		goto out;
	if (x509_set_name_constraints(crt, p->permitted, e) != 0)
		goto out;
	if ((ret = gnutls_x509_crt_privkey_sign(crt, issuer != NULL ? issuer : crt,
				sign_key, x509_sign_digest(sign_key), 0)) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "signing CA certificate: %s", gnutls_strerror(ret));
		goto out;
	}
	/* A certificate built in memory lacks the raw DNs GnuTLS caches at
	 * import, and its verification then fails to find the issuer; hand
	 * out the parsed form of the DER, as every later load will see it. */
	if ((ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der)) < 0 ||
	    (ret = gnutls_x509_crt_init(&parsed)) < 0 ||
	    (ret = gnutls_x509_crt_import(parsed, &der, GNUTLS_X509_FMT_DER)) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "re-reading CA certificate: %s",
			 gnutls_strerror(ret));
		goto out;
	}
	/* GnuTLS clients check an intermediate's names (its CN, as a DNS
	 * name, when it has no DNS SAN) against its issuer's constraints:
	 * refuse a CA they would reject rather than ship a dead chain. */
	if (issuer != NULL && x509_check_nc(parsed, issuer, e) != 0)
		goto out;
	*out = parsed;
	parsed = NULL;
	rc = 0;
out:
	gnutls_free(der.data);
	if (parsed != NULL)
		gnutls_x509_crt_deinit(parsed);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

/* See x509.h. The root's public key is derived from key. */
int
x509_make_root(const struct x509_ca_params *p, gnutls_privkey_t key,
	       gnutls_x509_crt_t *out, struct lerr *e)
{
	gnutls_pubkey_t pub = NULL;
	int ret, rc = -1;

	*out = NULL;
	if ((ret = gnutls_pubkey_init(&pub)) < 0 ||
	    (ret = gnutls_pubkey_import_privkey(pub, key, 0, 0)) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "root public key: %s", gnutls_strerror(ret));
		goto out;
	}
	if (x509_make_ca_cert(p, pub, NULL, key, out, e) != 0)
		goto out;
	rc = 0;
out:
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

/* See x509.h. Also refuses (LERR_INVARIANT) a CA whose own names its
 * issuer's constraints reject: GnuTLS checks an intermediate's CN as a
 * DNS name when it carries no DNS SAN, so the CN of an issuing CA under a
 * constrained root must be a name the root permits (e.g. "ca.gw.local"),
 * or GnuTLS clients would refuse every chain through it. */
int
x509_make_ca(const struct x509_ca_params *p, gnutls_pubkey_t subject_key,
	     gnutls_x509_crt_t issuer, gnutls_privkey_t issuer_key,
	     gnutls_x509_crt_t *out, struct lerr *e)
{
	*out = NULL;
	if (issuer == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "an intermediate CA needs an issuer");
	return x509_make_ca_cert(p, subject_key, issuer, issuer_key, out, e);
}

/* Writes the leaf's SANs from the policy-filtered list. Addresses go in
 * raw (4 or 16 bytes), never as text. Returns 0 or -1. */
static int
x509_set_leaf_sans(gnutls_x509_crt_t crt, const struct names *sans, struct lerr *e)
{
	size_t i;
	int ret;

	for (i = 0; i < sans->ndns; i++) {
		if ((ret = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME,
					sans->dns[i], (unsigned)strlen(sans->dns[i]),
					GNUTLS_FSAN_APPEND)) < 0)
			return lerr_set(e, 500, LERR_INTERNAL, "setting SAN %s: %s",
					sans->dns[i], gnutls_strerror(ret));
	}
	for (i = 0; i < sans->nip; i++) {
		if (sans->ip[i].len != 4 && sans->ip[i].len != 16)
			return lerr_set(e, 500, LERR_INTERNAL, "SAN address of length %u",
					sans->ip[i].len);
		if ((ret = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS,
					sans->ip[i].addr, sans->ip[i].len,
					GNUTLS_FSAN_APPEND)) < 0)
			return lerr_set(e, 500, LERR_INTERNAL, "setting SAN address: %s",
					gnutls_strerror(ret));
	}
	return 0;
}

/* See x509.h. On success der->data is gnutls_malloc'd and the caller
 * gnutls_free's it; on failure der is {NULL, 0}. */
int
x509_make_leaf(const struct x509_leaf_params *p, gnutls_x509_crt_t issuer,
	       gnutls_privkey_t issuer_key, gnutls_datum_t *der, struct lerr *e)
{
	gnutls_x509_crt_t crt = NULL;
	unsigned usage = GNUTLS_KEY_DIGITAL_SIGNATURE;
	int ret, rc = -1;

	der->data = NULL;
	der->size = 0;
	if (p->pubkey == NULL || p->cn == NULL || p->cn[0] == '\0' || p->sans == NULL) {
		lerr_set(e, 500, LERR_INTERNAL, "leaf parameters incomplete");
		goto out;
	}
	if ((ret = gnutls_x509_crt_init(&crt)) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "certificate: %s", gnutls_strerror(ret));
		goto out;
	}
	if (x509_set_common(crt, p->serial, p->not_before, p->not_after, e) != 0)
		goto out;
	if ((ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
				p->cn, (unsigned)strlen(p->cn))) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "setting common name: %s", gnutls_strerror(ret));
		goto out;
	}
	/* keyEncipherment only means something for RSA key transport. */
	if (gnutls_pubkey_get_pk_algorithm(p->pubkey, NULL) == GNUTLS_PK_RSA)
		usage |= GNUTLS_KEY_KEY_ENCIPHERMENT;
	if ((ret = gnutls_x509_crt_set_pubkey(crt, p->pubkey)) < 0 ||
	    (ret = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (ret = gnutls_x509_crt_set_key_usage(crt, usage)) < 0 ||
	    (ret = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (ret = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "setting leaf fields: %s", gnutls_strerror(ret));
		goto out;
	}
	if (x509_set_leaf_sans(crt, p->sans, e) != 0 ||
	    x509_set_ski(crt, p->pubkey, e) != 0 ||
	    x509_set_aki(crt, issuer, e) != 0)
		goto out;
	if (p->crl_url != NULL && p->crl_url[0] != '\0' &&
	    (ret = gnutls_x509_crt_set_crl_dist_points2(crt, GNUTLS_SAN_URI, p->crl_url,
				(unsigned)strlen(p->crl_url), 0)) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "setting CRL distribution point: %s",
			 gnutls_strerror(ret));
		goto out;
	}
	if ((ret = gnutls_x509_crt_privkey_sign(crt, issuer, issuer_key,
				x509_sign_digest(issuer_key), 0)) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "signing certificate: %s", gnutls_strerror(ret));
		goto out;
	}
	if ((ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, der)) < 0) {
		lerr_set(e, 500, LERR_INTERNAL, "exporting certificate: %s", gnutls_strerror(ret));
		goto out;
	}
	rc = 0;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

/* Copies the text form of a certificate's subject into out, or "?" when
 * it cannot be read; for messages only. */
static void
x509_subject_or_unknown(gnutls_x509_crt_t crt, char *out, size_t n)
{
	if (x509_subject(crt, out, n) != 0)
		snprintf(out, n, "?");
}

/* Finds the name in leaf that nc refuses, for the error message: the
 * first DNS or IP SAN refused, else the CN (which GnuTLS checks as a DNS
 * name when there is no DNS SAN). Runs only after a refusal. */
static void
x509_nc_offender(gnutls_x509_name_constraints_t nc, gnutls_x509_crt_t leaf,
		 char *out, size_t n)
{
	unsigned char san[X509_SAN_MAX];
	size_t len;
	unsigned idx, type;
	gnutls_datum_t d;
	int ret;

	for (idx = 0;; idx++) {
		len = sizeof(san) - 1;
		ret = gnutls_x509_crt_get_subject_alt_name2(leaf, idx, san, &len, &type, NULL);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (ret < 0)
			continue;
		if (type != GNUTLS_SAN_DNSNAME && type != GNUTLS_SAN_IPADDRESS)
			continue;
		d.data = san;
		d.size = (unsigned)len;
		if (gnutls_x509_name_constraints_check(nc, type, &d))
			continue;
		if (type == GNUTLS_SAN_DNSNAME) {
			snprintf(out, n, "%.*s", (int)len, (const char *)san);
			return;
		}
		if (inet_ntop(len == 4 ? AF_INET : AF_INET6, san, out, (socklen_t)n) == NULL)
			snprintf(out, n, "an IP address");
		return;
	}
	len = sizeof(san) - 1;
	if (gnutls_x509_crt_get_dn_by_oid(leaf, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
					  san, &len) >= 0) {
		snprintf(out, n, "%.*s (common name, checked as a DNS name)", (int)len,
			 (const char *)san);
		return;
	}
	snprintf(out, n, "its names");
}

/* Reads the DER of ca's nameConstraints extension into ext (gnutls_free
 * it). Returns 1 if present, 0 if absent, -1 with e on error. */
static int
x509_nc_ext(gnutls_x509_crt_t ca, gnutls_datum_t *ext, struct lerr *e)
{
	char subj[256];
	unsigned critical;
	int ret;

	ext->data = NULL;
	ext->size = 0;
	ret = gnutls_x509_crt_get_extension_by_oid2(ca, "2.5.29.30", 0, ext, &critical);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	if (ret < 0) {
		x509_subject_or_unknown(ca, subj, sizeof(subj));
		return lerr_set(e, 500, LERR_INVARIANT,
				"cannot read the name constraints of %s: %s", subj,
				gnutls_strerror(ret));
	}
	return 1;
}

/* Checks cert (a leaf, or an intermediate at creation) against the name
 * constraints ext taken from ca, as GnuTLS applies them: DNS SANs (or,
 * without one, the CN as a DNS name) and IP SANs. Returns 0, or -1 with e
 * (LERR_INVARIANT) naming the refused name and the CA. */
static int
x509_check_nc_der(gnutls_x509_crt_t cert, gnutls_x509_crt_t ca, const gnutls_datum_t *ext,
		  struct lerr *e)
{
	gnutls_x509_name_constraints_t nc = NULL;
	char who[X509_SAN_MAX + 64], subj[256];
	int ret, rc = -1;

	if ((ret = gnutls_x509_name_constraints_init(&nc)) < 0 ||
	    (ret = gnutls_x509_ext_import_name_constraints(ext, nc, 0)) < 0) {
		x509_subject_or_unknown(ca, subj, sizeof(subj));
		lerr_set(e, 500, LERR_INVARIANT, "cannot read the name constraints of %s: %s",
			 subj, gnutls_strerror(ret));
		goto out;
	}
	if (!gnutls_x509_name_constraints_check_crt(nc, GNUTLS_SAN_DNSNAME, cert) ||
	    !gnutls_x509_name_constraints_check_crt(nc, GNUTLS_SAN_IPADDRESS, cert)) {
		x509_nc_offender(nc, cert, who, sizeof(who));
		x509_subject_or_unknown(ca, subj, sizeof(subj));
		lerr_set(e, 500, LERR_INVARIANT,
			 "certificate for %s violates the name constraints of %s", who, subj);
		goto out;
	}
	rc = 0;
out:
	if (nc != NULL)
		gnutls_x509_name_constraints_deinit(nc);
	return rc;
}

/* x509_check_nc_der with ca's own extension; a CA without the extension
 * constrains nothing. */
static int
x509_check_nc(gnutls_x509_crt_t cert, gnutls_x509_crt_t ca, struct lerr *e)
{
	gnutls_datum_t ext;
	int ret;

	ret = x509_nc_ext(ca, &ext, e);
	if (ret == 1)
		ret = x509_check_nc_der(cert, ca, &ext, e);
	gnutls_free(ext.data);
	return ret < 0 ? -1 : 0;
}

/* See x509.h. Thread-safe: reads the chain certificates only, keeps no
 * state between calls. The checks that can name a culprit run before the
 * signature check so that the message says what is wrong. */
int
x509_check_leaf(const gnutls_datum_t *der, const struct x509_leaf_params *p,
		gnutls_x509_crt_t *chain, size_t nchain, struct lerr *e)
{
	gnutls_x509_crt_t leaf = NULL;
	gnutls_datum_t issuer_dn = { NULL, 0 }, ca_dn = { NULL, 0 };
	gnutls_datum_t ext = { NULL, 0 }, prev = { NULL, 0 };
	unsigned char serial[64], id1[X509_KEYID_MAX], id2[X509_KEYID_MAX];
	size_t serial_len = sizeof(serial), id1_len = sizeof(id1), id2_len = sizeof(id2);
	unsigned critical = 0, ca = 0;
	int pathlen, ret, rc = -1;
	time_t nb, na, ca_nb, ca_na;
	char subj[256];
	size_t i;

	if (der == NULL || der->data == NULL || p == NULL || chain == NULL || nchain == 0) {
		lerr_set(e, 500, LERR_INVARIANT, "certificate check called without a chain");
		goto out;
	}
	if ((ret = gnutls_x509_crt_init(&leaf)) < 0 ||
	    (ret = gnutls_x509_crt_import(leaf, der, GNUTLS_X509_FMT_DER)) < 0) {
		lerr_set(e, 500, LERR_INVARIANT, "new certificate does not parse: %s",
			 gnutls_strerror(ret));
		goto out;
	}

	ret = gnutls_x509_crt_get_basic_constraints(leaf, &critical, &ca, &pathlen);
	if (ret < 0 || !critical || ca) {
		lerr_set(e, 500, LERR_INVARIANT,
			 "new certificate is not marked CA:FALSE with a critical basicConstraints");
		goto out;
	}

	ret = gnutls_x509_crt_get_serial(leaf, serial, &serial_len);
	if (ret < 0 || p->serial == NULL || serial_len != X509_SERIAL_LEN ||
	    memcmp(serial, p->serial, X509_SERIAL_LEN) != 0) {
		lerr_set(e, 500, LERR_INVARIANT, "new certificate does not carry the expected serial");
		goto out;
	}

	/* The certificate must be for the key that was approved. */
	if (p->pubkey == NULL ||
	    gnutls_x509_crt_get_key_id(leaf, GNUTLS_KEYID_USE_SHA256, id1, &id1_len) < 0 ||
	    gnutls_pubkey_get_key_id(p->pubkey, GNUTLS_KEYID_USE_SHA256, id2, &id2_len) < 0 ||
	    id1_len != id2_len || memcmp(id1, id2, id1_len) != 0) {
		lerr_set(e, 500, LERR_INVARIANT, "new certificate is not for the requested key");
		goto out;
	}

	nb = gnutls_x509_crt_get_activation_time(leaf);
	na = gnutls_x509_crt_get_expiration_time(leaf);
	if (nb == (time_t)-1 || na == (time_t)-1 || nb != p->not_before || na != p->not_after) {
		lerr_set(e, 500, LERR_INVARIANT,
			 "new certificate does not carry the expected validity");
		goto out;
	}
	for (i = 0; i < nchain; i++) {
		ca_nb = gnutls_x509_crt_get_activation_time(chain[i]);
		ca_na = gnutls_x509_crt_get_expiration_time(chain[i]);
		if (ca_nb == (time_t)-1 || ca_na == (time_t)-1 || nb < ca_nb || na > ca_na) {
			x509_subject_or_unknown(chain[i], subj, sizeof(subj));
			lerr_set(e, 500, LERR_INVARIANT,
				 "new certificate's validity is outside that of %s", subj);
			goto out;
		}
	}

	if ((ret = gnutls_x509_crt_get_raw_issuer_dn(leaf, &issuer_dn)) < 0 ||
	    (ret = gnutls_x509_crt_get_raw_dn(chain[0], &ca_dn)) < 0 ||
	    issuer_dn.size != ca_dn.size ||
	    memcmp(issuer_dn.data, ca_dn.data, ca_dn.size) != 0) {
		x509_subject_or_unknown(chain[0], subj, sizeof(subj));
		lerr_set(e, 500, LERR_INVARIANT, "new certificate's issuer is not %s", subj);
		goto out;
	}

	/* Root and issuing CA normally carry the same constraints: parsing
	 * byte-identical ones twice cannot change the verdict. */
	for (i = 0; i < nchain; i++) {
		ret = x509_nc_ext(chain[i], &ext, e);
		if (ret < 0)
			goto out;
		if (ret == 1 && !(prev.data != NULL && prev.size == ext.size &&
				  memcmp(prev.data, ext.data, ext.size) == 0) &&
		    x509_check_nc_der(leaf, chain[i], &ext, e) != 0)
			goto out;
		if (ret == 1) {
			gnutls_free(prev.data);
			prev = ext;
		} else {
			gnutls_free(ext.data);
		}
		ext.data = NULL;
		ext.size = 0;
	}

	/*
	 * The signature itself is not verified again here: the key was
	 * matched to chain[0]'s certificate when it was loaded (sign.c), and
	 * an ECDSA P-256 verification costs about 140 us, a third of the
	 * whole budget for a certificate. Everything a relying party would
	 * judge by (names, CA flag, validity, issuer, subject key) is checked
	 * above on the re-parsed bytes.
	 */
	rc = 0;
out:
	gnutls_free(ext.data);
	gnutls_free(prev.data);
	gnutls_free(issuer_dn.data);
	gnutls_free(ca_dn.data);
	if (leaf != NULL)
		gnutls_x509_crt_deinit(leaf);
	return rc;
}

/* See x509.h. PEM is recognised by its armour; anything else is taken as
 * DER. *out is new, the caller deinits it. */
int
x509_import(const unsigned char *data, size_t len, gnutls_x509_crt_t *out, struct lerr *e)
{
	static const char armour[] = "-----BEGIN";
	gnutls_x509_crt_t crt = NULL;
	gnutls_x509_crt_fmt_t fmt = GNUTLS_X509_FMT_DER;
	gnutls_datum_t d;
	size_t i;
	int ret, rc = -1;

	*out = NULL;
	if (data == NULL || len == 0 || len > 0x7fffffffu) {
		lerr_set(e, 400, LERR_BAD_REQUEST, "not a certificate: empty or oversized");
		goto out;
	}
	for (i = 0; i < len && (data[i] == ' ' || data[i] == '\t' ||
				data[i] == '\r' || data[i] == '\n'); i++)
		;
	if (len - i >= sizeof(armour) - 1 && memcmp(data + i, armour, sizeof(armour) - 1) == 0)
		fmt = GNUTLS_X509_FMT_PEM;
	d.data = (unsigned char *)data;
	d.size = (unsigned)len;
	if ((ret = gnutls_x509_crt_init(&crt)) < 0 ||
	    (ret = gnutls_x509_crt_import(crt, &d, fmt)) < 0) {
		lerr_set(e, 400, LERR_BAD_REQUEST, "not a certificate: %s", gnutls_strerror(ret));
		goto out;
	}
	*out = crt;
	crt = NULL;
	rc = 0;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

int
x509_export_der(gnutls_x509_crt_t crt, gnutls_datum_t *out)
{
	out->data = NULL;
	out->size = 0;
	return gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, out) < 0 ? -1 : 0;
}

int
x509_export_pem(gnutls_x509_crt_t crt, gnutls_datum_t *out)
{
	out->data = NULL;
	out->size = 0;
	return gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, out) < 0 ? -1 : 0;
}

/* The SHA-256 of the certificate's DER into md; 0 or -1. */
static int
x509_sha256(gnutls_x509_crt_t crt, unsigned char md[32])
{
	size_t len = 32;

	if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, md, &len) < 0 || len != 32)
		return -1;
	return 0;
}

int
x509_fingerprint(gnutls_x509_crt_t crt, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	size_t i;

	if (x509_sha256(crt, md) != 0)
		return -1;
	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0f];
	}
	hex[64] = '\0';
	return 0;
}

int
x509_fingerprint_colon(gnutls_x509_crt_t crt, char out[96])
{
	static const char digits[] = "0123456789ABCDEF";
	unsigned char md[32];
	size_t i;

	if (x509_sha256(crt, md) != 0)
		return -1;
	for (i = 0; i < 32; i++) {
		out[3 * i] = digits[md[i] >> 4];
		out[3 * i + 1] = digits[md[i] & 0x0f];
		out[3 * i + 2] = i == 31 ? '\0' : ':';
	}
	return 0;
}

/* See x509.h. -1 if the DN cannot be read or does not fit in n bytes. */
int
x509_subject(gnutls_x509_crt_t crt, char *out, size_t n)
{
	gnutls_datum_t dn = { NULL, 0 };
	int rc = -1, w;

	if (n == 0)
		return -1;
	out[0] = '\0';
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) < 0)
		goto out;
	w = snprintf(out, n, "%.*s", (int)dn.size, (const char *)dn.data);
	if (w < 0 || (size_t)w >= n)
		goto out;
	rc = 0;
out:
	gnutls_free(dn.data);
	return rc;
}

/* See x509.h. Reads DNS and IP SANs; other SAN types are skipped (lanca
 * writes none). -1 on a malformed SAN or when n is full. */
int
x509_sans(gnutls_x509_crt_t crt, struct names *n)
{
	char san[X509_SAN_MAX];
	struct ipnet ip;
	size_t len;
	unsigned idx, type;
	int ret;

	for (idx = 0;; idx++) {
		len = sizeof(san);
		ret = gnutls_x509_crt_get_subject_alt_name2(crt, idx, san, &len, &type, NULL);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return 0;
		if (ret < 0)
			return -1;
		if (type == GNUTLS_SAN_DNSNAME) {
			/* GnuTLS NUL-terminates text SANs; an embedded NUL is malformed. */
			if (len >= sizeof(san) || strlen(san) != len)
				return -1;
			if (names_add_dns(n, san) != 0)
				return -1;
		} else if (type == GNUTLS_SAN_IPADDRESS) {
			if (len != 4 && len != 16)
				return -1;
			memset(&ip, 0, sizeof(ip));
			memcpy(ip.addr, san, len);
			ip.len = (unsigned)len;
			ip.prefix = 8 * (unsigned)len;
			if (names_add_ip(n, &ip) != 0)
				return -1;
		}
	}
}

int
x509_serial_hex(gnutls_x509_crt_t crt, char *out, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char serial[64];
	size_t len = sizeof(serial), i;

	if (gnutls_x509_crt_get_serial(crt, serial, &len) < 0 || len == 0 ||
	    n < 2 * len + 1)
		return -1;
	for (i = 0; i < len; i++) {
		out[2 * i] = digits[serial[i] >> 4];
		out[2 * i + 1] = digits[serial[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return 0;
}

/* See x509.h. The SPKI is re-encoded by GnuTLS from the parsed key, so a
 * CSR's key id must be computed the same way (csr.c does) to match. */
int
x509_key_id(gnutls_x509_crt_t crt, unsigned char out[32])
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t spki = { NULL, 0 };
	int rc = -1;

	if (gnutls_pubkey_init(&pub) < 0 ||
	    gnutls_pubkey_import_x509(pub, crt, 0) < 0 ||
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki) < 0 ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size, out) < 0)
		goto out;
	rc = 0;
out:
	gnutls_free(spki.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}
