/*
 * x509.c - building and checking certificates through GnuTLS (see x509.h).
 *
 * Every builder starts from an empty certificate and sets the whole
 * extension list itself; nothing is ever copied from a request. The leaf
 * path (x509_issuer_make_leaf, x509_issuer_check_leaf) runs for every
 * issuance, so it avoids work that does not change the result: what is
 * the same for every leaf of a CA (the DER of five extensions, the CAs'
 * names, dates and parsed name constraints) is computed once per issuer,
 * the subject key id comes from the request's parse, and there is no PEM
 * round trip: one export, one parse for the check.
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

#include "common/hex.h"
#include "common/lerr.h"
#include "ca/names.h"
#include "ca/x509.h"

#define X509_SAN_MAX	512	/* one SAN value read back from a certificate */
#define X509_SUBJ_MAX	256	/* a CA subject as text, for messages */

/* See x509.h. EdDSA allows one digest only: GNUTLS_DIG_UNKNOWN lets
 * GnuTLS use it. */
gnutls_digest_algorithm_t
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
		return lerr_set(e, LERR_INTERNAL,
				"certificate serial missing or not a positive %d-byte integer",
				X509_SERIAL_LEN);
	if (not_after <= not_before)
		return lerr_set(e, LERR_INTERNAL,
				"certificate validity ends before it starts");
	if ((ret = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (ret = gnutls_x509_crt_set_serial(crt, serial, X509_SERIAL_LEN)) < 0 ||
	    (ret = gnutls_x509_crt_set_activation_time(crt, not_before)) < 0 ||
	    (ret = gnutls_x509_crt_set_expiration_time(crt, not_after)) < 0)
		return lerr_set(e, LERR_INTERNAL, "setting certificate fields: %s",
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
		return lerr_set(e, LERR_INTERNAL, "setting subject key id: %s",
				gnutls_strerror(ret));
	return 0;
}

/* See x509.h. */
int
x509_authority_key_id(gnutls_x509_crt_t issuer, unsigned char id[X509_KEYID_MAX], size_t *len)
{
	unsigned critical;
	int ret;

	*len = X509_KEYID_MAX;
	ret = gnutls_x509_crt_get_subject_key_id(issuer, id, len, &critical);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		*len = X509_KEYID_MAX;
		ret = gnutls_x509_crt_get_key_id(issuer, GNUTLS_KEYID_USE_SHA1, id, len);
	}
	return ret;
}

/* Sets the AKI to the issuer's key id (x509_authority_key_id). Returns 0
 * or -1. */
static int
x509_set_aki(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer, struct lerr *e)
{
	unsigned char id[X509_KEYID_MAX];
	size_t idlen;
	int ret;

	ret = x509_authority_key_id(issuer, id, &idlen);
	if (ret < 0 || (ret = gnutls_x509_crt_set_authority_key_id(crt, id, idlen)) < 0)
		return lerr_set(e, LERR_INTERNAL, "setting authority key id: %s",
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
		lerr_set(e, LERR_INTERNAL, "a CA needs at least one permitted name subtree");
		goto out;
	}
	if ((ret = gnutls_x509_name_constraints_init(&nc)) < 0) {
		lerr_set(e, LERR_INTERNAL, "name constraints: %s", gnutls_strerror(ret));
		goto out;
	}
	for (i = 0; i < permitted->ndns; i++) {
		d.data = (unsigned char *)permitted->dns[i];
		d.size = (unsigned)strlen(permitted->dns[i]);
		if ((ret = gnutls_x509_name_constraints_add_permitted(nc,
				GNUTLS_SAN_DNSNAME, &d)) < 0) {
			lerr_set(e, LERR_INTERNAL, "name constraint %s: %s",
				 permitted->dns[i], gnutls_strerror(ret));
			goto out;
		}
	}
	for (i = 0; i < permitted->nip; i++) {
		ip = &permitted->ip[i];
		if ((ip->len != 4 && ip->len != 16) || ip->prefix > 8 * ip->len) {
			lerr_set(e, LERR_INTERNAL, "name constraint: malformed network");
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
			lerr_set(e, LERR_INTERNAL, "name constraint (address): %s",
				 gnutls_strerror(ret));
			goto out;
		}
	}
	if ((ret = gnutls_x509_crt_set_name_constraints(crt, nc, 1)) < 0) {
		lerr_set(e, LERR_INTERNAL, "setting name constraints: %s",
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
		  gnutls_x509_crt_t issuer, gnutls_privkey_t sign_key, int check_nc,
		  gnutls_x509_crt_t *out, struct lerr *e)
{
	gnutls_x509_crt_t crt = NULL, parsed = NULL;
	gnutls_datum_t der = { NULL, 0 };
	int ret, rc = -1;

	*out = NULL;
	if ((p->cn == NULL || p->cn[0] == '\0') && (p->ou == NULL || p->ou[0] == '\0')) {
		lerr_set(e, LERR_INTERNAL, "a CA needs a common name or a unit name");
		goto out;
	}
	if (p->pathlen > 8) {
		lerr_set(e, LERR_INTERNAL, "CA path length %u is out of range", p->pathlen);
		goto out;
	}
	if ((ret = gnutls_x509_crt_init(&crt)) < 0) {
		lerr_set(e, LERR_INTERNAL, "certificate: %s", gnutls_strerror(ret));
		goto out;
	}
	if (x509_set_common(crt, p->serial, p->not_before, p->not_after, e) != 0)
		goto out;
	/* RDNs go most significant first, so O precedes CN. */
	if (p->org != NULL && p->org[0] != '\0' &&
	    (ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME,
				0, p->org, (unsigned)strlen(p->org))) < 0) {
		lerr_set(e, LERR_INTERNAL, "setting CA organisation: %s", gnutls_strerror(ret));
		goto out;
	}
	if (p->ou != NULL && p->ou[0] != '\0' &&
	    (ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME,
				0, p->ou, (unsigned)strlen(p->ou))) < 0) {
		lerr_set(e, LERR_INTERNAL, "setting CA unit: %s", gnutls_strerror(ret));
		goto out;
	}
	if (p->cn != NULL && p->cn[0] != '\0' &&
	    (ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
				p->cn, (unsigned)strlen(p->cn))) < 0) {
		lerr_set(e, LERR_INTERNAL, "setting CA common name: %s", gnutls_strerror(ret));
		goto out;
	}
	if ((ret = gnutls_x509_crt_set_pubkey(crt, subject_key)) < 0 ||
	    (ret = gnutls_x509_crt_set_basic_constraints(crt, 1, (int)p->pathlen)) < 0 ||
	    (ret = gnutls_x509_crt_set_key_usage(crt,
				GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) < 0) {
		lerr_set(e, LERR_INTERNAL, "setting CA fields: %s", gnutls_strerror(ret));
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
		lerr_set(e, LERR_INTERNAL, "signing CA certificate: %s", gnutls_strerror(ret));
		goto out;
	}
	/* A certificate built in memory lacks the raw DNs GnuTLS caches at
	 * import, and its verification then fails to find the issuer; hand
	 * out the parsed form of the DER, as every later load will see it. */
	if ((ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der)) < 0 ||
	    (ret = gnutls_x509_crt_init(&parsed)) < 0 ||
	    (ret = gnutls_x509_crt_import(parsed, &der, GNUTLS_X509_FMT_DER)) < 0) {
		lerr_set(e, LERR_INTERNAL, "re-reading CA certificate: %s",
			 gnutls_strerror(ret));
		goto out;
	}
	/* GnuTLS clients check an intermediate's names (its CN, as a DNS
	 * name, when it has no DNS SAN) against its issuer's constraints:
	 * refuse a CA they would reject rather than ship a dead chain. */
	if (issuer != NULL && check_nc && x509_check_nc(parsed, issuer, e) != 0)
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
		lerr_set(e, LERR_INTERNAL, "root public key: %s", gnutls_strerror(ret));
		goto out;
	}
	if (x509_make_ca_cert(p, pub, NULL, key, 1, out, e) != 0)
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
		return lerr_set(e, LERR_INTERNAL, "an intermediate CA needs an issuer");
	return x509_make_ca_cert(p, subject_key, issuer, issuer_key, 1, out, e);
}

/* One attribute of crt's subject (oid) into out ("" when absent). */
static int
x509_dn_part(gnutls_x509_crt_t crt, const char *oid, char *out, size_t n)
{
	size_t len = n;
	int ret;

	out[0] = '\0';
	ret = gnutls_x509_crt_get_dn_by_oid(crt, oid, 0, 0, out, &len);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	return ret < 0 ? -1 : 0;
}

/* See x509.h. The subject's name is rebuilt from its O, OU and CN in the
 * order x509_make_ca_cert writes them, and then compared byte for byte
 * with the original: a root lanca did not lay out that way is refused
 * rather than vouched for under a name that differs from its own. */
int
x509_make_cross(gnutls_x509_crt_t subject, const struct names *permitted,
		gnutls_x509_crt_t issuer, gnutls_privkey_t issuer_key, time_t not_after,
		const unsigned char *serial, gnutls_x509_crt_t *out, struct lerr *e)
{
	char org[128], ou[128], cn[128];
	struct x509_ca_params cp;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	unsigned int pathlen = 0, ca = 0;
	time_t end;
	int ret, rc = -1;

	*out = NULL;
	if (x509_dn_part(subject, GNUTLS_OID_X520_ORGANIZATION_NAME, org, sizeof(org)) != 0 ||
	    x509_dn_part(subject, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, ou, sizeof(ou)) != 0 ||
	    x509_dn_part(subject, GNUTLS_OID_X520_COMMON_NAME, cn, sizeof(cn)) != 0 ||
	    gnutls_x509_crt_get_basic_constraints(subject, NULL, &ca, (int *)&pathlen) < 0 ||
	    !ca) {
		lerr_set(e, LERR_INVARIANT, "the root to vouch for is not a CA lanca can read");
		goto out;
	}
	if ((ret = gnutls_pubkey_init(&pub)) < 0 ||
	    (ret = gnutls_pubkey_import_x509(pub, subject, 0)) < 0) {
		lerr_set(e, LERR_INTERNAL, "the root's public key: %s", gnutls_strerror(ret));
		goto out;
	}
	memset(&cp, 0, sizeof(cp));
	cp.org = org;
	cp.ou = ou;
	cp.cn = cn;
	cp.permitted = permitted;
	cp.pathlen = pathlen;
	cp.not_before = time(NULL) - 60;
	/* No longer than either root: the voucher means nothing past them. */
	end = gnutls_x509_crt_get_expiration_time(subject);
	cp.not_after = not_after;
	if (end != (time_t)-1 && end < cp.not_after)
		cp.not_after = end;
	end = gnutls_x509_crt_get_expiration_time(issuer);
	if (end != (time_t)-1 && end < cp.not_after)
		cp.not_after = end;
	cp.serial = serial;
	/* No check of the subject's own names against the issuer's
	 * constraints: a cross-certificate's subject is a root whose name
	 * was chosen long before (a CN "X Root CA" that GnuTLS would read
	 * as a DNS name); see x509.h. */
	if (x509_make_ca_cert(&cp, pub, issuer, issuer_key, 0, out, e) != 0)
		goto out;
	if (gnutls_x509_crt_get_raw_dn(subject, &a) < 0 || gnutls_x509_crt_get_raw_dn(*out, &b) < 0 ||
	    a.size != b.size || memcmp(a.data, b.data, a.size) != 0) {
		lerr_set(e, LERR_INVARIANT, "cannot vouch for a root under its exact name");
		gnutls_x509_crt_deinit(*out);
		*out = NULL;
		goto out;
	}
	rc = 0;
out:
	gnutls_free(a.data);
	gnutls_free(b.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
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

/* ------------------------------------------------------------------ */
/* Name constraints                                                    */
/* ------------------------------------------------------------------ */

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
	char subj[X509_SUBJ_MAX];
	unsigned critical;
	int ret;

	ext->data = NULL;
	ext->size = 0;
	ret = gnutls_x509_crt_get_extension_by_oid2(ca, GNUTLS_X509EXT_OID_NAME_CONSTRAINTS, 0,
						    ext, &critical);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	if (ret < 0) {
		x509_subject_or_unknown(ca, subj, sizeof(subj));
		return lerr_set(e, LERR_INVARIANT,
				"cannot read the name constraints of %s: %s", subj,
				gnutls_strerror(ret));
	}
	return 1;
}

/* Parses the nameConstraints DER ext (of the CA named subj) into *nc, a
 * new object the caller deinits. Returns 0 or -1 with e. */
static int
x509_nc_import(const gnutls_datum_t *ext, const char *subj,
	       gnutls_x509_name_constraints_t *nc, struct lerr *e)
{
	int ret;

	*nc = NULL;
	if ((ret = gnutls_x509_name_constraints_init(nc)) < 0) {
		*nc = NULL;
		return lerr_set(e, LERR_INVARIANT, "cannot read the name constraints of %s: %s",
				subj, gnutls_strerror(ret));
	}
	if ((ret = gnutls_x509_ext_import_name_constraints(ext, *nc, 0)) < 0) {
		gnutls_x509_name_constraints_deinit(*nc);
		*nc = NULL;
		return lerr_set(e, LERR_INVARIANT, "cannot read the name constraints of %s: %s",
				subj, gnutls_strerror(ret));
	}
	return 0;
}

/* Checks cert (a leaf, or an intermediate at creation) against nc, the
 * parsed constraints of the CA named subj, as GnuTLS applies them: DNS
 * SANs (or, without one, the CN as a DNS name) and IP SANs. nc is only
 * read (gnutls_x509_name_constraints_check_crt walks it with the
 * _get_permitted/_get_excluded accessors), so one parsed object may serve
 * several threads. Returns 0, or -1 with e (LERR_INVARIANT) naming the
 * refused name and the CA. */
static int
x509_nc_verdict(gnutls_x509_name_constraints_t nc, gnutls_x509_crt_t cert, const char *subj,
		struct lerr *e)
{
	char who[X509_SAN_MAX + 64];

	if (gnutls_x509_name_constraints_check_crt(nc, GNUTLS_SAN_DNSNAME, cert) &&
	    gnutls_x509_name_constraints_check_crt(nc, GNUTLS_SAN_IPADDRESS, cert))
		return 0;
	x509_nc_offender(nc, cert, who, sizeof(who));
	return lerr_set(e, LERR_INVARIANT,
			"certificate for %s violates the name constraints of %s", who, subj);
}

/* cert against ca's own nameConstraints (parsed for this one call); a CA
 * without the extension constrains nothing. Returns 0 or -1 with e. */
static int
x509_check_nc(gnutls_x509_crt_t cert, gnutls_x509_crt_t ca, struct lerr *e)
{
	gnutls_x509_name_constraints_t nc = NULL;
	gnutls_datum_t ext = { NULL, 0 };
	char subj[X509_SUBJ_MAX];
	int ret, rc = -1;

	ret = x509_nc_ext(ca, &ext, e);
	if (ret < 0)
		goto out;
	if (ret == 1) {
		x509_subject_or_unknown(ca, subj, sizeof(subj));
		if (x509_nc_import(&ext, subj, &nc, e) != 0 ||
		    x509_nc_verdict(nc, cert, subj, e) != 0)
			goto out;
	}
	rc = 0;
out:
	if (nc != NULL)
		gnutls_x509_name_constraints_deinit(nc);
	gnutls_free(ext.data);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The issuer: what every leaf shares, prepared once                   */
/* ------------------------------------------------------------------ */

struct x509_issuer {
	gnutls_x509_crt_t chain[X509_CHAIN_MAX];	/* borrowed; issuer first */
	size_t nchain;
	gnutls_privkey_t key;		/* borrowed; NULL for a check-only issuer */
	gnutls_digest_algorithm_t dig;	/* goes with key */
	char *crl_url;			/* NULL for none */
	/* DER of the extensions identical in every leaf. */
	gnutls_datum_t bc;		/* CA:FALSE */
	gnutls_datum_t ku;		/* digitalSignature */
	gnutls_datum_t ku_rsa;		/* digitalSignature + keyEncipherment */
	gnutls_datum_t eku;		/* serverAuth, clientAuth */
	gnutls_datum_t aki;		/* chain[0]'s key id */
	gnutls_datum_t crl_dp;		/* crl_url; empty when none */
	gnutls_datum_t dn;		/* chain[0]'s raw subject DN */
	time_t not_before[X509_CHAIN_MAX], not_after[X509_CHAIN_MAX];
	char subject[X509_CHAIN_MAX][X509_SUBJ_MAX];	/* for messages */
	/* Each CA's parsed constraints; NULL when it has none, or when they
	 * are byte-identical to an earlier CA's (same verdict). Read-only. */
	gnutls_x509_name_constraints_t nc[X509_CHAIN_MAX];
};

/* See x509.h (SHA-256 key ids compared). */
int
x509_key_matches(gnutls_privkey_t key, gnutls_x509_crt_t crt, const char *subj,
		 struct lerr *e)
{
	gnutls_pubkey_t pub = NULL;
	unsigned char a[X509_KEYID_MAX], b[X509_KEYID_MAX];
	size_t alen = sizeof(a), blen = sizeof(b);
	int rc = -1;

	if (gnutls_pubkey_init(&pub) < 0) {
		pub = NULL;
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (gnutls_pubkey_import_privkey(pub, key, 0, 0) < 0 ||
	    gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &alen) < 0 ||
	    gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, b, &blen) < 0 ||
	    alen != blen || memcmp(a, b, alen) != 0) {
		lerr_set(e, LERR_INVARIANT,
			 "the signing key does not match the certificate of %s", subj);
		goto out;
	}
	rc = 0;
out:
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

int
x509_key_signs(gnutls_privkey_t key, gnutls_x509_crt_t crt, struct lerr *e)
{
	unsigned char nonce[32];
	gnutls_datum_t data = { nonce, sizeof(nonce) }, sig = { NULL, 0 };
	gnutls_pubkey_t pub = NULL;
	gnutls_sign_algorithm_t alg;
	int g, rc = -1;

	if ((g = gnutls_rnd(GNUTLS_RND_NONCE, nonce, sizeof(nonce))) < 0 ||
	    (g = gnutls_pubkey_init(&pub)) < 0 || (g = gnutls_pubkey_import_x509(pub, crt, 0)) < 0) {
		lerr_set(e, LERR_INTERNAL, "a test signature: %s", gnutls_strerror(g));
		goto out;
	}
	if ((g = gnutls_privkey_sign_data(key, GNUTLS_DIG_SHA256, 0, &data, &sig)) < 0) {
		lerr_set(e, LERR_INTERNAL, "the key cannot sign: %s", gnutls_strerror(g));
		goto out;
	}
	alg = gnutls_pk_to_sign(gnutls_pubkey_get_pk_algorithm(pub, NULL), GNUTLS_DIG_SHA256);
	if ((g = gnutls_pubkey_verify_data2(pub, alg, 0, &data, &sig)) < 0) {
		lerr_set(e, LERR_INVARIANT, "the key made a signature its certificate does not "
			 "verify: %s", gnutls_strerror(g));
		goto out;
	}
	rc = 0;
out:
	gnutls_free(sig.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

/* The AKI extension for leaves of issuer: its SKI, or for an issuer
 * without one the key id GnuTLS derives from its key (what its SKI would
 * be). der is gnutls_malloc'd. Returns 0 or -1 with e. */
static int
x509_aki_der(gnutls_x509_crt_t issuer, gnutls_datum_t *der, struct lerr *e)
{
	unsigned char id[X509_KEYID_MAX];
	size_t idlen = sizeof(id);
	gnutls_x509_aki_t aki = NULL;
	gnutls_datum_t d;
	unsigned critical;
	int ret, rc = -1;

	ret = gnutls_x509_crt_get_subject_key_id(issuer, id, &idlen, &critical);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		idlen = sizeof(id);
		ret = gnutls_x509_crt_get_key_id(issuer, GNUTLS_KEYID_USE_SHA1, id, &idlen);
	}
	if (ret < 0)
		goto fail;
	if ((ret = gnutls_x509_aki_init(&aki)) < 0) {
		aki = NULL;
		goto fail;
	}
	d.data = id;
	d.size = (unsigned)idlen;
	if ((ret = gnutls_x509_aki_set_id(aki, &d)) < 0 ||
	    (ret = gnutls_x509_ext_export_authority_key_id(aki, der)) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	lerr_set(e, LERR_INTERNAL, "authority key id: %s", gnutls_strerror(ret));
out:
	if (aki != NULL)
		gnutls_x509_aki_deinit(aki);
	return rc;
}

/* The EKU extension every leaf carries: serverAuth then clientAuth.
 * Returns 0 or -1 with e. */
static int
x509_eku_der(gnutls_datum_t *der, struct lerr *e)
{
	gnutls_x509_key_purposes_t kp = NULL;
	int ret, rc = -1;

	if ((ret = gnutls_x509_key_purpose_init(&kp)) < 0) {
		kp = NULL;
		goto fail;
	}
	if ((ret = gnutls_x509_key_purpose_set(kp, GNUTLS_KP_TLS_WWW_SERVER)) < 0 ||
	    (ret = gnutls_x509_key_purpose_set(kp, GNUTLS_KP_TLS_WWW_CLIENT)) < 0 ||
	    (ret = gnutls_x509_ext_export_key_purposes(kp, der)) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	lerr_set(e, LERR_INTERNAL, "extended key usage: %s", gnutls_strerror(ret));
out:
	if (kp != NULL)
		gnutls_x509_key_purpose_deinit(kp);
	return rc;
}

/* The CRL distribution point extension for url (one URI, no reasons).
 * Returns 0 or -1 with e. */
static int
x509_crl_dp_der(const char *url, gnutls_datum_t *der, struct lerr *e)
{
	gnutls_x509_crl_dist_points_t dp = NULL;
	gnutls_datum_t d;
	int ret, rc = -1;

	if ((ret = gnutls_x509_crl_dist_points_init(&dp)) < 0) {
		dp = NULL;
		goto fail;
	}
	d.data = (unsigned char *)url;
	d.size = (unsigned)strlen(url);
	if ((ret = gnutls_x509_crl_dist_points_set(dp, GNUTLS_SAN_URI, &d, 0)) < 0 ||
	    (ret = gnutls_x509_ext_export_crl_dist_points(dp, der)) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	lerr_set(e, LERR_INTERNAL, "CRL distribution point: %s", gnutls_strerror(ret));
out:
	if (dp != NULL)
		gnutls_x509_crl_dist_points_deinit(dp);
	return rc;
}

/* Reads each CA's nameConstraints and parses those that differ from an
 * earlier CA's into is->nc. Returns 0 or -1 with e. */
static int
x509_issuer_load_nc(struct x509_issuer *is, struct lerr *e)
{
	gnutls_datum_t ext[X509_CHAIN_MAX];
	int present[X509_CHAIN_MAX], ret, rc = -1;
	size_t i, j;

	memset(ext, 0, sizeof(ext));
	memset(present, 0, sizeof(present));
	for (i = 0; i < is->nchain; i++) {
		ret = x509_nc_ext(is->chain[i], &ext[i], e);
		if (ret < 0)
			goto out;
		present[i] = ret;
		if (!present[i])
			continue;
		/* Root and issuing CA normally carry the same constraints:
		 * byte-identical ones cannot change the verdict. */
		for (j = 0; j < i; j++)
			if (present[j] && ext[j].size == ext[i].size &&
			    memcmp(ext[j].data, ext[i].data, ext[i].size) == 0)
				break;
		if (j < i)
			continue;
		if (x509_nc_import(&ext[i], is->subject[i], &is->nc[i], e) != 0)
			goto out;
	}
	rc = 0;
out:
	for (i = 0; i < X509_CHAIN_MAX; i++)
		gnutls_free(ext[i].data);
	return rc;
}

/* See x509.h. */
int
x509_issuer_new(gnutls_x509_crt_t *chain, size_t nchain, gnutls_privkey_t key,
		const char *crl_url, struct x509_issuer **out, struct lerr *e)
{
	struct x509_issuer *is = NULL;
	size_t i;
	int ret, rc = -1;

	*out = NULL;
	if (chain == NULL || nchain == 0 || nchain > X509_CHAIN_MAX) {
		lerr_set(e, LERR_INVARIANT, "a leaf needs a chain of 1 to %d CAs",
			 X509_CHAIN_MAX);
		goto out;
	}
	is = calloc(1, sizeof(*is));
	if (is == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	is->nchain = nchain;
	for (i = 0; i < nchain; i++) {
		if (chain[i] == NULL) {
			lerr_set(e, LERR_INVARIANT, "CA chain with a hole in it");
			goto out;
		}
		is->chain[i] = chain[i];
		x509_subject_or_unknown(chain[i], is->subject[i], sizeof(is->subject[i]));
		is->not_before[i] = gnutls_x509_crt_get_activation_time(chain[i]);
		is->not_after[i] = gnutls_x509_crt_get_expiration_time(chain[i]);
		if (is->not_before[i] == (time_t)-1 || is->not_after[i] == (time_t)-1) {
			lerr_set(e, LERR_INVARIANT, "cannot read the validity of %s",
				 is->subject[i]);
			goto out;
		}
	}
	if ((ret = gnutls_x509_crt_get_raw_dn(chain[0], &is->dn)) < 0) {
		lerr_set(e, LERR_INVARIANT, "cannot read the name of %s: %s",
			 is->subject[0], gnutls_strerror(ret));
		goto out;
	}
	if (key != NULL) {
		if (x509_key_matches(key, chain[0], is->subject[0], e) != 0)
			goto out;
		is->key = key;
		is->dig = x509_sign_digest(key);
	}
	if ((ret = gnutls_x509_ext_export_basic_constraints(0, -1, &is->bc)) < 0 ||
	    (ret = gnutls_x509_ext_export_key_usage(GNUTLS_KEY_DIGITAL_SIGNATURE, &is->ku)) < 0 ||
	    (ret = gnutls_x509_ext_export_key_usage(GNUTLS_KEY_DIGITAL_SIGNATURE |
						     GNUTLS_KEY_KEY_ENCIPHERMENT, &is->ku_rsa)) < 0) {
		lerr_set(e, LERR_INTERNAL, "leaf extensions: %s", gnutls_strerror(ret));
		goto out;
	}
	if (x509_eku_der(&is->eku, e) != 0 || x509_aki_der(chain[0], &is->aki, e) != 0)
		goto out;
	if (crl_url != NULL && crl_url[0] != '\0') {
		is->crl_url = strdup(crl_url);
		if (is->crl_url == NULL) {
			lerr_set(e, LERR_INTERNAL, "out of memory");
			goto out;
		}
		if (x509_crl_dp_der(crl_url, &is->crl_dp, e) != 0)
			goto out;
	}
	if (x509_issuer_load_nc(is, e) != 0)
		goto out;
	*out = is;
	is = NULL;
	rc = 0;
out:
	x509_issuer_free(is);
	return rc;
}

void
x509_issuer_free(struct x509_issuer *is)
{
	size_t i;

	if (is == NULL)
		return;
	for (i = 0; i < X509_CHAIN_MAX; i++)
		if (is->nc[i] != NULL)
			gnutls_x509_name_constraints_deinit(is->nc[i]);
	gnutls_free(is->bc.data);
	gnutls_free(is->ku.data);
	gnutls_free(is->ku_rsa.data);
	gnutls_free(is->eku.data);
	gnutls_free(is->aki.data);
	gnutls_free(is->crl_dp.data);
	gnutls_free(is->dn.data);
	free(is->crl_url);
	free(is);
}

/* ------------------------------------------------------------------ */
/* Leaves                                                              */
/* ------------------------------------------------------------------ */

/* Adds the extension oid with the DER value der. Returns 0 or -1 with e. */
static int
x509_add_ext(gnutls_x509_crt_t crt, const char *oid, const gnutls_datum_t *der,
	     unsigned critical, struct lerr *e)
{
	int ret;

	ret = gnutls_x509_crt_set_extension_by_oid(crt, oid, der->data, der->size, critical);
	if (ret < 0)
		return lerr_set(e, LERR_INTERNAL, "setting extension %s: %s", oid,
				gnutls_strerror(ret));
	return 0;
}

/* Writes the leaf's SANs from the policy-filtered list as one extension,
 * DNS names first, then addresses (raw 4 or 16 bytes, never as text),
 * critical when the subject is empty (RFC 5280 section 4.2.1.6).
 * An empty list writes nothing. Returns 0 or -1. */
static int
x509_set_leaf_sans(gnutls_x509_crt_t crt, const struct names *sans, unsigned critical,
		   struct lerr *e)
{
	gnutls_subject_alt_names_t sn = NULL;
	gnutls_datum_t d, der = { NULL, 0 };
	size_t i;
	int ret, rc = -1;

	if (sans->ndns + sans->nip == 0)
		return 0;
	if ((ret = gnutls_subject_alt_names_init(&sn)) < 0) {
		sn = NULL;
		lerr_set(e, LERR_INTERNAL, "SAN: %s", gnutls_strerror(ret));
		goto out;
	}
	for (i = 0; i < sans->ndns; i++) {
		d.data = (unsigned char *)sans->dns[i];
		d.size = (unsigned)strlen(sans->dns[i]);
		if ((ret = gnutls_subject_alt_names_set(sn, GNUTLS_SAN_DNSNAME, &d, NULL)) < 0) {
			lerr_set(e, LERR_INTERNAL, "setting SAN %s: %s", sans->dns[i],
				 gnutls_strerror(ret));
			goto out;
		}
	}
	for (i = 0; i < sans->nip; i++) {
		if (sans->ip[i].len != 4 && sans->ip[i].len != 16) {
			lerr_set(e, LERR_INTERNAL, "SAN address of length %u", sans->ip[i].len);
			goto out;
		}
		d.data = (unsigned char *)sans->ip[i].addr;
		d.size = sans->ip[i].len;
		if ((ret = gnutls_subject_alt_names_set(sn, GNUTLS_SAN_IPADDRESS, &d, NULL)) < 0) {
			lerr_set(e, LERR_INTERNAL, "setting SAN address: %s",
				 gnutls_strerror(ret));
			goto out;
		}
	}
	if ((ret = gnutls_x509_ext_export_subject_alt_names(sn, &der)) < 0) {
		lerr_set(e, LERR_INTERNAL, "encoding SANs: %s", gnutls_strerror(ret));
		goto out;
	}
	if (x509_add_ext(crt, GNUTLS_X509EXT_OID_SAN, &der, critical, e) != 0)
		goto out;
	rc = 0;
out:
	gnutls_free(der.data);
	if (sn != NULL)
		gnutls_subject_alt_names_deinit(sn);
	return rc;
}

/* The SHA-256 key id of p's subject key into id: p->key_id when the
 * caller has it, else computed. Returns 0 or -1. */
static int
x509_leaf_key_id(const struct x509_leaf_params *p, unsigned char id[X509_KEY_ID_LEN])
{
	size_t len = X509_KEY_ID_LEN;

	if (p->key_id != NULL) {
		memcpy(id, p->key_id, X509_KEY_ID_LEN);
		return 0;
	}
	if (gnutls_pubkey_get_key_id(p->pubkey, GNUTLS_KEYID_USE_SHA256, id, &len) < 0 ||
	    len != X509_KEY_ID_LEN)
		return -1;
	return 0;
}

/* Sets the leaf's SKI: the leftmost 160 bits of the SHA-256 key id (RFC
 * 7093 section 2, applied to the whole SubjectPublicKeyInfo; RFC 5280
 * 4.2.1.2 lets the CA pick the method, it only has to be stable). The id
 * is already known from the request, so nothing is hashed here. */
static int
x509_set_leaf_ski(gnutls_x509_crt_t crt, const unsigned char id[X509_KEY_ID_LEN],
		  struct lerr *e)
{
	gnutls_datum_t d, der = { NULL, 0 };
	int ret, rc;

	d.data = (unsigned char *)id;
	d.size = X509_SKI_LEN;
	if ((ret = gnutls_x509_ext_export_subject_key_id(&d, &der)) < 0)
		return lerr_set(e, LERR_INTERNAL, "subject key id: %s", gnutls_strerror(ret));
	rc = x509_add_ext(crt, GNUTLS_X509EXT_OID_SUBJECT_KEY_ID, &der, 0, e);
	gnutls_free(der.data);
	return rc;
}

/* See x509.h. On success der->data is gnutls_malloc'd and the caller
 * gnutls_free's it; on failure der is {NULL, 0}. The extensions go in a
 * fixed order: basicConstraints, keyUsage, EKU, SAN, SKI, AKI, CRL DP. */
int
x509_issuer_make_leaf(const struct x509_issuer *is, const struct x509_leaf_params *p,
		      gnutls_datum_t *der, struct lerr *e)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t crl_dp = { NULL, 0 };
	const gnutls_datum_t *dp = NULL;
	unsigned char id[X509_KEY_ID_LEN];
	int ret, rc = -1;

	der->data = NULL;
	der->size = 0;
	if (is == NULL || is->key == NULL) {
		lerr_set(e, LERR_INTERNAL, "no signing key for leaves");
		goto out;
	}
	/* No CN only with names, which then are the subject (x509.h). */
	if (p->pubkey == NULL || p->cn == NULL || p->sans == NULL ||
	    (p->cn[0] == '\0' && p->sans->ndns + p->sans->nip == 0)) {
		lerr_set(e, LERR_INTERNAL, "leaf parameters incomplete");
		goto out;
	}
	if (x509_leaf_key_id(p, id) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot compute the subject key id");
		goto out;
	}
	/* The prepared CRL DP unless the caller names another URL. */
	if (p->crl_url != NULL && p->crl_url[0] != '\0') {
		if (is->crl_url != NULL && strcmp(p->crl_url, is->crl_url) == 0) {
			dp = &is->crl_dp;
		} else {
			if (x509_crl_dp_der(p->crl_url, &crl_dp, e) != 0)
				goto out;
			dp = &crl_dp;
		}
	}
	if ((ret = gnutls_x509_crt_init(&crt)) < 0) {
		crt = NULL;
		lerr_set(e, LERR_INTERNAL, "certificate: %s", gnutls_strerror(ret));
		goto out;
	}
	if (x509_set_common(crt, p->serial, p->not_before, p->not_after, e) != 0)
		goto out;
	if (p->cn[0] != '\0' &&
	    (ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
				p->cn, (unsigned)strlen(p->cn))) < 0) {
		lerr_set(e, LERR_INTERNAL, "setting common name: %s", gnutls_strerror(ret));
		goto out;
	}
	if ((ret = gnutls_x509_crt_set_pubkey(crt, p->pubkey)) < 0) {
		lerr_set(e, LERR_INTERNAL, "setting leaf key: %s", gnutls_strerror(ret));
		goto out;
	}
	/* keyEncipherment only means something for RSA key transport. */
	if (x509_add_ext(crt, GNUTLS_X509EXT_OID_BASIC_CONSTRAINTS, &is->bc, 1, e) != 0 ||
	    x509_add_ext(crt, GNUTLS_X509EXT_OID_KEY_USAGE,
			 gnutls_pubkey_get_pk_algorithm(p->pubkey, NULL) == GNUTLS_PK_RSA ?
			 &is->ku_rsa : &is->ku, 1, e) != 0 ||
	    x509_add_ext(crt, GNUTLS_X509EXT_OID_EXTENDED_KEY_USAGE, &is->eku, 0, e) != 0 ||
	    x509_set_leaf_sans(crt, p->sans, p->cn[0] == '\0', e) != 0 ||
	    x509_set_leaf_ski(crt, id, e) != 0 ||
	    x509_add_ext(crt, GNUTLS_X509EXT_OID_AUTHORITY_KEY_ID, &is->aki, 0, e) != 0)
		goto out;
	if (dp != NULL && x509_add_ext(crt, GNUTLS_X509EXT_OID_CRL_DIST_POINTS, dp, 0, e) != 0)
		goto out;
	if ((ret = gnutls_x509_crt_privkey_sign(crt, is->chain[0], is->key, is->dig, 0)) < 0) {
		lerr_set(e, LERR_INTERNAL, "signing certificate: %s", gnutls_strerror(ret));
		goto out;
	}
	if ((ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, der)) < 0) {
		der->data = NULL;
		der->size = 0;
		lerr_set(e, LERR_INTERNAL, "exporting certificate: %s", gnutls_strerror(ret));
		goto out;
	}
	rc = 0;
out:
	gnutls_free(crl_dp.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

/* See x509.h. */
int
x509_make_leaf(const struct x509_leaf_params *p, gnutls_x509_crt_t issuer,
	       gnutls_privkey_t issuer_key, gnutls_datum_t *der, struct lerr *e)
{
	struct x509_issuer *is = NULL;
	int rc = -1;

	der->data = NULL;
	der->size = 0;
	if (issuer == NULL || issuer_key == NULL) {
		lerr_set(e, LERR_INTERNAL, "a leaf needs an issuer and its key");
		goto out;
	}
	if (x509_issuer_new(&issuer, 1, issuer_key, p->crl_url, &is, e) != 0)
		goto out;
	rc = x509_issuer_make_leaf(is, p, der, e);
out:
	x509_issuer_free(is);
	return rc;
}

static int x509_sans_equal(gnutls_x509_crt_t leaf, const struct names *want, struct lerr *e);

/* See x509.h. Thread-safe: reads the issuer only, keeps no state between
 * calls. Every check runs on the bytes parsed back from der. */
int
x509_issuer_check_leaf(const struct x509_issuer *is, const gnutls_datum_t *der,
		       const struct x509_leaf_params *p, struct lerr *e)
{
	gnutls_x509_crt_t leaf = NULL;
	gnutls_datum_t issuer_dn = { NULL, 0 };
	unsigned char serial[64], want[X509_KEY_ID_LEN], got[X509_KEYID_MAX];
	size_t serial_len = sizeof(serial), got_len = sizeof(got);
	unsigned critical = 0, ca = 0;
	int pathlen, ret, rc = -1;
	time_t nb, na;
	size_t i;

	if (is == NULL || der == NULL || der->data == NULL || p == NULL) {
		lerr_set(e, LERR_INVARIANT, "certificate check called without a chain");
		goto out;
	}
	if ((ret = gnutls_x509_crt_init(&leaf)) < 0) {
		leaf = NULL;
		lerr_set(e, LERR_INVARIANT, "new certificate does not parse: %s",
			 gnutls_strerror(ret));
		goto out;
	}
	if ((ret = gnutls_x509_crt_import(leaf, der, GNUTLS_X509_FMT_DER)) < 0) {
		lerr_set(e, LERR_INVARIANT, "new certificate does not parse: %s",
			 gnutls_strerror(ret));
		goto out;
	}

	ret = gnutls_x509_crt_get_basic_constraints(leaf, &critical, &ca, &pathlen);
	if (ret < 0 || !critical || ca) {
		lerr_set(e, LERR_INVARIANT,
			 "new certificate is not marked CA:FALSE with a critical basicConstraints");
		goto out;
	}

	ret = gnutls_x509_crt_get_serial(leaf, serial, &serial_len);
	if (ret < 0 || p->serial == NULL || serial_len != X509_SERIAL_LEN ||
	    memcmp(serial, p->serial, X509_SERIAL_LEN) != 0) {
		lerr_set(e, LERR_INVARIANT, "new certificate does not carry the expected serial");
		goto out;
	}

	/* The certificate must be for the key that was approved: its SHA-256
	 * key id (GnuTLS re-encodes the SPKI it parsed, as csr.c does) is the
	 * one the request was checked and recorded under. */
	if (p->pubkey == NULL || x509_leaf_key_id(p, want) != 0 ||
	    gnutls_x509_crt_get_key_id(leaf, GNUTLS_KEYID_USE_SHA256, got, &got_len) < 0 ||
	    got_len != X509_KEY_ID_LEN || memcmp(got, want, X509_KEY_ID_LEN) != 0) {
		lerr_set(e, LERR_INVARIANT, "new certificate is not for the requested key");
		goto out;
	}

	nb = gnutls_x509_crt_get_activation_time(leaf);
	na = gnutls_x509_crt_get_expiration_time(leaf);
	if (nb == (time_t)-1 || na == (time_t)-1 || nb != p->not_before || na != p->not_after) {
		lerr_set(e, LERR_INVARIANT,
			 "new certificate does not carry the expected validity");
		goto out;
	}
	for (i = 0; i < is->nchain; i++) {
		if (nb < is->not_before[i] || na > is->not_after[i]) {
			lerr_set(e, LERR_INVARIANT,
				 "new certificate's validity is outside that of %s", is->subject[i]);
			goto out;
		}
	}

	if ((ret = gnutls_x509_crt_get_raw_issuer_dn(leaf, &issuer_dn)) < 0 ||
	    issuer_dn.size != is->dn.size ||
	    memcmp(issuer_dn.data, is->dn.data, is->dn.size) != 0) {
		lerr_set(e, LERR_INVARIANT, "new certificate's issuer is not %s",
			 is->subject[0]);
		goto out;
	}

	/* Every CA's constraints, parsed once when the issuer was made. */
	for (i = 0; i < is->nchain; i++)
		if (is->nc[i] != NULL && x509_nc_verdict(is->nc[i], leaf, is->subject[i], e) != 0)
			goto out;

	/* Exactly the names policy allowed: the constraints permit more
	 * (localhost, loopback) than a device may have. */
	if (x509_sans_equal(leaf, p->sans, e) != 0)
		goto out;

	/*
	 * The signature itself is not verified again here: the key was
	 * matched to chain[0]'s certificate when the issuer was made
	 * (x509_issuer_new), and an ECDSA P-256 verification costs about
	 * 140 us, a third of the whole budget for a certificate. Everything
	 * a relying party would judge by (names, CA flag, validity, issuer,
	 * subject key) is checked above on the re-parsed bytes.
	 */
	rc = 0;
out:
	gnutls_free(issuer_dn.data);
	if (leaf != NULL)
		gnutls_x509_crt_deinit(leaf);
	return rc;
}

/* 0 when leaf's SANs are exactly the set want, else -1 (LERR_INVARIANT). */
static int
x509_sans_equal(gnutls_x509_crt_t leaf, const struct names *want, struct lerr *e)
{
	struct names got;
	size_t i, j;
	int rc = -1;

	names_init(&got);
	if (x509_sans(leaf, &got) != 0) {
		lerr_set(e, LERR_INVARIANT, "new certificate's names cannot be read back");
		goto out;
	}
	if (got.ndns != want->ndns || got.nip != want->nip)
		goto differ;
	for (i = 0; i < got.ndns; i++) {
		for (j = 0; j < want->ndns && strcmp(got.dns[i], want->dns[j]) != 0; j++)
			;
		if (j == want->ndns)
			goto differ;
	}
	for (i = 0; i < got.nip; i++) {
		for (j = 0; j < want->nip; j++)
			if (got.ip[i].len == want->ip[j].len &&
			    memcmp(got.ip[i].addr, want->ip[j].addr, got.ip[i].len) == 0)
				break;
		if (j == want->nip)
			goto differ;
	}
	rc = 0;
	goto out;
differ:
	lerr_set(e, LERR_INVARIANT, "new certificate's names differ from those policy allowed");
out:
	names_free(&got);
	return rc;
}

/* See x509.h. */
int
x509_check_leaf(const gnutls_datum_t *der, const struct x509_leaf_params *p,
		gnutls_x509_crt_t *chain, size_t nchain, struct lerr *e)
{
	struct x509_issuer *is = NULL;
	int rc = -1;

	if (der == NULL || der->data == NULL || p == NULL || chain == NULL || nchain == 0) {
		lerr_set(e, LERR_INVARIANT, "certificate check called without a chain");
		goto out;
	}
	if (x509_issuer_new(chain, nchain, NULL, NULL, &is, e) != 0)
		goto out;
	rc = x509_issuer_check_leaf(is, der, p, e);
out:
	x509_issuer_free(is);
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
		lerr_set(e, LERR_BAD_REQUEST, "not a certificate: empty or oversized");
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
		lerr_set(e, LERR_BAD_REQUEST, "not a certificate: %s", gnutls_strerror(ret));
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
	unsigned char md[32];

	if (x509_sha256(crt, md) != 0)
		return -1;
	hex_encode(md, sizeof(md), hex);
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
	unsigned char serial[64];
	size_t len = sizeof(serial);

	if (gnutls_x509_crt_get_serial(crt, serial, &len) < 0 || len == 0 ||
	    n < 2 * len + 1)
		return -1;
	hex_encode(serial, len, out);
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

/* -1 with e unless crt (named what) says CA:TRUE. */
static int
x509_require_ca(gnutls_x509_crt_t crt, const char *what, struct lerr *e)
{
	unsigned critical = 0, ca = 0;
	int pathlen = -1;

	/* pathlen's return value is its own; ca says CA:TRUE. */
	if (gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca, &pathlen) < 0 || !ca)
		return lerr_set(e, LERR_INVARIANT, "%s is not a CA (no CA:TRUE)", what);
	return 0;
}

/* Verifies crt's signature, dates and issuer (a CA) against issuer, at
 * the current time. DO_NOT_ALLOW_SAME: GnuTLS otherwise takes a
 * certificate identical to its trusted issuer as trusted without checking
 * anything, and a root's self-signature is exactly that case.
 *
 * GnuTLS also applies the issuer's name constraints to the certificate
 * at the end of the chain, taking a CN as a DNS name: a root named "X
 * Root CA" fails its own constraints when verified against itself. That
 * one verdict (signer-constraints, confirmed by our own check of the
 * root against its constraints, with keyCertSign present, the bit's other
 * cause) is set aside for a self-check; the signature, the dates and
 * CA:TRUE keep their own bits and still count. */
static int
x509_verify_one(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer, const char *what,
		const char *by, struct lerr *e)
{
	gnutls_datum_t why = { NULL, 0 };
	unsigned status = 0, usage = 0;
	struct lerr nc;
	int ret;

	ret = gnutls_x509_crt_verify(crt, &issuer, 1, GNUTLS_VERIFY_DO_NOT_ALLOW_SAME, &status);
	if (ret < 0)
		return lerr_set(e, LERR_INVARIANT, "cannot verify %s: %s", what, gnutls_strerror(ret));
	if (crt == issuer && (status & GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE) &&
	    gnutls_x509_crt_get_key_usage(crt, &usage, NULL) >= 0 &&
	    (usage & GNUTLS_KEY_KEY_CERT_SIGN) && x509_check_nc(crt, crt, &nc) != 0) {
		status &= ~GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE;
		if (status == GNUTLS_CERT_INVALID)
			status = 0;
	}
	if (status == 0)
		return 0;
	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0) < 0)
		why.data = NULL;
	lerr_set(e, LERR_INVARIANT, "%s does not verify under %s: %s", what, by,
		 why.data != NULL ? (const char *)why.data : "rejected");
	gnutls_free(why.data);
	return -1;
}

/* See x509.h. */
int
x509_verify_ca_chain(gnutls_x509_crt_t root, gnutls_x509_crt_t issuing, struct lerr *e)
{
	if (x509_require_ca(root, "the root", e) != 0)
		return -1;
	if (!gnutls_x509_crt_check_issuer(root, root))
		return lerr_set(e, LERR_INVARIANT, "the root is not self-issued");
	if (x509_verify_one(root, root, "the root", "its own key", e) != 0 ||
	    x509_require_ca(issuing, "the issuing CA", e) != 0)
		return -1;
	if (gnutls_x509_crt_equals(root, issuing))
		return lerr_set(e, LERR_INVARIANT, "the issuing CA is the root itself");
	return x509_verify_one(issuing, root, "the issuing CA", "the root", e);
}
