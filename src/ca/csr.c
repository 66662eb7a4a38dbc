/*
 * csr.c - PKCS#10 requests: parsing and the checks that need nothing but
 * the request itself (see csr.h).
 *
 * The bytes come straight from the network, so the order of the checks
 * matters: size first, then the structure (GnuTLS), then the key type and
 * size (before the signature, so that nobody can make us verify with an
 * 8192-bit RSA key or an exotic curve), then the self-signature, then the
 * names. Every refusal names what was wrong; strings taken from the request
 * are made printable before they go into a message. The other way, for
 * lanca's own keys (the gateway's, the profile signer's): csr_make.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509-ext.h>

#include "common/hex.h"
#include "ca/csr.h"

#define CSR_RSA_MIN	2048
#define CSR_RSA_MAX	4096
#define CSR_SHOW_MAX	64	/* bytes of an untrusted string shown in a message */

#define CSR_PEM_LABEL		"CERTIFICATE REQUEST"
#define CSR_PEM_LABEL_NEW	"NEW CERTIFICATE REQUEST"

/*
 * Copies at most CSR_SHOW_MAX bytes of an untrusted string into out (which
 * holds CSR_SHOW_MAX + 4 bytes) with anything but visible ASCII replaced by
 * '?', and "..." when it was cut: safe for log lines and JSON messages.
 */
static void
csr_show(const char *in, size_t len, char out[CSR_SHOW_MAX + 4])
{
	size_t i, n = len > CSR_SHOW_MAX ? CSR_SHOW_MAX : len;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (c > 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
	}
	if (n < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* A lookup in memory that may hold NUL bytes (memmem is a GNU extension). */
static const unsigned char *
csr_find(const unsigned char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle), i;

	if (m == 0 || m > n)
		return NULL;
	for (i = 0; i + m <= n; i++)
		if (hay[i] == (unsigned char)needle[0] && memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

/*
 * Imports the request's bytes into c->crq. DER starts with a SEQUENCE tag;
 * anything else is searched for a PEM block labelled "CERTIFICATE REQUEST"
 * or "NEW CERTIFICATE REQUEST" (certtool and older tools write the second,
 * and certtool puts a text dump before it). Returns 0 or -1 with e.
 */
static int
csr_import(struct csr *c, const unsigned char *data, size_t len, struct lerr *e)
{
	gnutls_datum_t in, der = { NULL, 0 };
	int rc = -1, ret;

	in.data = (unsigned char *)data;
	in.size = (unsigned)len;
	if (data[0] != 0x30) {
		if (csr_find(data, len, "-----BEGIN ") == NULL) {
			lerr_set(e, LERR_BAD_CSR,
				 "not a PKCS#10 certificate request (neither PEM nor DER)");
			goto out;
		}
		ret = gnutls_pem_base64_decode2(CSR_PEM_LABEL, &in, &der);
		if (ret < 0)
			ret = gnutls_pem_base64_decode2(CSR_PEM_LABEL_NEW, &in, &der);
		if (ret < 0) {
			if (csr_find(data, len, "-----BEGIN " CSR_PEM_LABEL) == NULL &&
			    csr_find(data, len, "-----BEGIN " CSR_PEM_LABEL_NEW) == NULL)
				lerr_set(e, LERR_BAD_CSR,
					 "PEM data holds no CERTIFICATE REQUEST block");
			else
				lerr_set(e, LERR_BAD_CSR,
					 "not a PKCS#10 certificate request (bad PEM encoding)");
			goto out;
		}
		in = der;
		if (in.size == 0) {
			lerr_set(e, LERR_BAD_CSR, "empty CERTIFICATE REQUEST PEM block");
			goto out;
		}
	}
	ret = gnutls_x509_crq_import(c->crq, &in, GNUTLS_X509_FMT_DER);
	if (ret < 0) {
		lerr_set(e, LERR_BAD_CSR,
			 "not a PKCS#10 certificate request (truncated or malformed DER)");
		goto out;
	}
	rc = 0;
out:
	gnutls_free(der.data);
	return rc;
}

/*
 * Imports the request's public key into c->pubkey and checks it: ECDSA on
 * P-256 or P-384, Ed25519, or RSA of 2048..4096 bits. Fills key_type and
 * key_bits. Returns 0 or -1 with e (weak_key or unsupported_key).
 */
static int
csr_check_key(struct csr *c, struct lerr *e)
{
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	unsigned bits = 0;
	const char *name;
	int alg, rc = -1, ret;

	alg = gnutls_x509_crq_get_pk_algorithm(c->crq, &bits);
	if (alg == GNUTLS_E_ECC_UNSUPPORTED_CURVE) {
		/* GnuTLS does not know the curve (secp256k1, brainpool...), so
		 * it cannot name it either. */
		lerr_set(e, LERR_UNSUPPORTED_KEY,
			 "unsupported elliptic curve: use P-256 or P-384");
		goto out;
	}
	if (alg < 0) {
		lerr_set(e, LERR_BAD_CSR, "the request's public key is malformed");
		goto out;
	}
	if (alg != GNUTLS_PK_RSA && alg != GNUTLS_PK_ECDSA && alg != GNUTLS_PK_EDDSA_ED25519) {
		name = gnutls_pk_algorithm_get_name((gnutls_pk_algorithm_t)alg);
		lerr_set(e, LERR_UNSUPPORTED_KEY,
			 "%s keys are not supported: use ECDSA P-256 or P-384, Ed25519 or RSA 2048-4096",
			 name != NULL ? name : "unknown");
		goto out;
	}
	/* Refuse sizes before importing: nothing past here works on a huge key. */
	if (alg == GNUTLS_PK_RSA && bits < CSR_RSA_MIN) {
		lerr_set(e, LERR_WEAK_KEY,
			 "RSA key of %u bits is too weak: at least %u required", bits, CSR_RSA_MIN);
		goto out;
	}
	if (alg == GNUTLS_PK_RSA && bits > CSR_RSA_MAX) {
		lerr_set(e, LERR_UNSUPPORTED_KEY,
			 "RSA key of %u bits is too large: at most %u supported", bits, CSR_RSA_MAX);
		goto out;
	}
	ret = gnutls_pubkey_import_x509_crq(c->pubkey, c->crq, 0);
	if (ret < 0) {
		if (alg == GNUTLS_PK_ECDSA)
			lerr_set(e, LERR_UNSUPPORTED_KEY,
				 "unsupported elliptic curve: use P-256 or P-384");
		else
			lerr_set(e, LERR_BAD_CSR, "the request's public key is malformed");
		goto out;
	}
	switch (alg) {
	case GNUTLS_PK_RSA:
		c->key_type = CSR_KEY_RSA;
		break;
	case GNUTLS_PK_EDDSA_ED25519:
		c->key_type = CSR_KEY_ED25519;
		bits = 256;
		break;
	default:	/* ECDSA */
		/* Only the curve is wanted: NULL coordinates are not copied. */
		ret = gnutls_pubkey_export_ecc_raw2(c->pubkey, &curve, NULL, NULL, 0);
		if (ret < 0) {
			lerr_set(e, LERR_BAD_CSR, "the request's public key is malformed");
			goto out;
		}
		if (curve == GNUTLS_ECC_CURVE_SECP256R1) {
			c->key_type = CSR_KEY_ECDSA_P256;
			bits = 256;
		} else if (curve == GNUTLS_ECC_CURVE_SECP384R1) {
			c->key_type = CSR_KEY_ECDSA_P384;
			bits = 384;
		} else {
			name = gnutls_ecc_curve_get_name(curve);
			bits = gnutls_ecc_curve_get_size(curve) * 8;
			lerr_set(e, bits < 256 ? LERR_WEAK_KEY : LERR_UNSUPPORTED_KEY,
				 "elliptic curve %s is not accepted: use P-256 or P-384",
				 name != NULL ? name : "unknown");
			goto out;
		}
		break;
	}
	c->key_bits = bits;
	rc = 0;
out:
	return rc;
}

/* 1 if b is allowed in a CN: it becomes a device id in paths, logs, JSON. */
static int
csr_cn_char(unsigned char b)
{
	return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') ||
	       b == '.' || b == '_' || b == ':' || b == '-' || b == '@';
}

/*
 * Reads the one subject CN into c->cn and checks it: present, exactly one,
 * 1..CSR_CN_MAX bytes of [A-Za-z0-9._:@-]. Returns 0 or -1 with e.
 */
static int
csr_read_cn(struct csr *c, unsigned flags, struct lerr *e)
{
	char cn[CSR_CN_MAX + 1], show[CSR_SHOW_MAX + 4], extra[8];
	size_t size = sizeof(cn), xsize, i;
	int ret;

	ret = gnutls_x509_crq_get_dn_by_oid(c->crq, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &size);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE && (flags & CSR_PARSE_CN_OPTIONAL))
		return 0;	/* csr_name_cn names it once the SANs are read */
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return lerr_set(e, LERR_BAD_NAME, "the request has no subject CN (the device id)");
	if (ret == GNUTLS_E_SHORT_MEMORY_BUFFER)
		return lerr_set(e, LERR_BAD_NAME,
				"subject CN is too long: at most %d bytes", CSR_CN_MAX);
	if (ret < 0)
		return lerr_set(e, LERR_BAD_CSR, "the request's subject is malformed");
	if (size > CSR_CN_MAX)	/* GnuTLS reports the length without the NUL */
		return lerr_set(e, LERR_BAD_NAME,
				"subject CN is too long: at most %d bytes", CSR_CN_MAX);
	cn[size] = '\0';
	if (size == 0)
		return lerr_set(e, LERR_BAD_NAME, "subject CN is empty");
	for (i = 0; i < size; i++) {
		if (!csr_cn_char((unsigned char)cn[i])) {
			csr_show(cn, size, show);
			return lerr_set(e, LERR_BAD_NAME,
					"subject CN \"%s\" has a character outside A-Z a-z 0-9 . _ : @ -",
					show);
		}
	}
	/* A second CN would make "the device id" ambiguous. */
	xsize = sizeof(extra);
	ret = gnutls_x509_crq_get_dn_by_oid(c->crq, GNUTLS_OID_X520_COMMON_NAME, 1, 0, extra, &xsize);
	if (ret != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return lerr_set(e, LERR_BAD_NAME, "the request's subject has more than one CN");
	memcpy(c->cn, cn, size + 1);	/* size <= CSR_CN_MAX, checked above */
	c->cn_given = 1;
	return 0;
}

/* A request without a CN (CSR_PARSE_CN_OPTIONAL) is named by its first
 * DNS subjectAltName. One with addresses only keeps cn empty: GnuTLS
 * checks a server certificate's CN against DNS name constraints when it
 * has no DNS name, so an address there would fail every verification;
 * the certificate's subject is then empty and its names are its subject.
 * 0, or -1 with e when it names nothing, or its name does not fit a CN. */
static int
csr_name_cn(struct csr *c, struct lerr *e)
{
	size_t n;

	if (c->cn_given)
		return 0;
	if (c->sans.ndns == 0 && c->sans.nip == 0)
		return lerr_set(e, LERR_BAD_NAME,
				"the request names nothing: no subject CN and no subjectAltName");
	if (c->sans.ndns == 0)
		return 0;
	/* A name longer than a CN may be is the certificate's by its SAN
	 * alone, as an address is. */
	n = strlen(c->sans.dns[0]);
	if (n <= CSR_CN_MAX)
		memcpy(c->cn, c->sans.dns[0], n + 1);
	return 0;
}

/* The name a refused SAN type is known by in openssl's and RFC 5280's terms. */
static const char *
csr_san_type_name(int type)
{
	switch (type) {
	case GNUTLS_SAN_RFC822NAME:		return "email (rfc822Name)";
	case GNUTLS_SAN_URI:			return "URI";
	case GNUTLS_SAN_DN:			return "directoryName";
	case GNUTLS_SAN_REGISTERED_ID:		return "registeredID";
	case GNUTLS_SAN_OTHERNAME:		return "otherName";
	case GNUTLS_SAN_OTHERNAME_XMPP:		return "otherName (XMPP)";
	case GNUTLS_SAN_OTHERNAME_KRB5PRINCIPAL: return "otherName (Kerberos principal)";
	case GNUTLS_SAN_OTHERNAME_MSUSERPRINCIPAL: return "otherName (Microsoft UPN)";
	default:				return "unknown";
	}
}

/* Adds one DNS SAN value (size bytes, not NUL-terminated) to c->sans:
 * no NUL byte, no wildcard, a well-formed name. Returns 0 or -1 with e. */
static int
csr_add_dns(struct csr *c, const unsigned char *val, size_t size, struct lerr *e)
{
	char name[NAMES_DNS_MAX + 1], show[CSR_SHOW_MAX + 4];

	if (memchr(val, '\0', size) != NULL)
		return lerr_set(e, LERR_BAD_NAME, "DNS name with a NUL byte in it");
	if (size > 2 && val[0] == '*' && val[1] == '.') {
		csr_show((const char *)val, size, show);
		return lerr_set(e, LERR_FORBIDDEN_NAME, "wildcard names are not issued: %s",
				show);
	}
	if (size <= NAMES_DNS_MAX) {
		memcpy(name, val, size);
		name[size] = '\0';
		if (names_add_dns(&c->sans, name) == 0)
			return 0;
	}
	csr_show((const char *)val, size, show);
	return lerr_set(e, LERR_BAD_NAME, "malformed DNS name \"%s\"", show);
}

/* Adds one IP SAN value (4 or 16 bytes) to c->sans. 0 or -1 with e. */
static int
csr_add_ip(struct csr *c, const unsigned char *val, size_t size, struct lerr *e)
{
	struct ipnet ip;

	if (size != 4 && size != 16)
		return lerr_set(e, LERR_BAD_NAME,
				"IP address SAN of %zu bytes (4 or 16 expected)", size);
	memset(&ip, 0, sizeof(ip));
	memcpy(ip.addr, val, size);
	ip.len = (unsigned)size;
	ip.prefix = ip.len * 8;
	if (names_add_ip(&c->sans, &ip) < 0)
		return lerr_set(e, LERR_TOO_LARGE, "too many IP address SANs");
	return 0;
}

/*
 * Reads the subjectAltName of the extension request into c->sans: DNS
 * names (syntax-checked, lower-cased) and IP addresses. Any other name type
 * is refused, as is more than NAMES_MAX names. The extension is fetched
 * and decoded once (asking GnuTLS name by name decodes the whole
 * extension request again for every name). Returns 0 or -1 with e.
 */
static int
csr_read_sans(struct csr *c, struct lerr *e)
{
	gnutls_subject_alt_names_t sn = NULL;
	gnutls_datum_t ext = { NULL, 0 }, val;
	unsigned critical = 0, seq, type;
	int rc = -1, ret;

	ret = gnutls_x509_crq_get_extension_by_oid2(c->crq, GNUTLS_X509EXT_OID_SAN, 0, &ext,
						    &critical);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		rc = 0;
		goto out;
	}
	if (ret < 0) {
		lerr_set(e, LERR_BAD_CSR, "the request's extensions are malformed");
		goto out;
	}
	if (gnutls_subject_alt_names_init(&sn) < 0) {
		sn = NULL;
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	ret = gnutls_x509_ext_import_subject_alt_names(&ext, sn, 0);
	if (ret == GNUTLS_E_X509_UNKNOWN_SAN) {
		lerr_set(e, LERR_FORBIDDEN_NAME,
			 "subject alternative name of an unknown type: only DNS and IP are issued");
		goto out;
	}
	if (ret < 0) {
		lerr_set(e, LERR_BAD_CSR, "the request's subjectAltName is malformed");
		goto out;
	}
	for (seq = 0;; seq++) {
		ret = gnutls_subject_alt_names_get(sn, seq, &type, &val, NULL);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (ret < 0) {
			lerr_set(e, LERR_BAD_CSR, "the request's subjectAltName is malformed");
			goto out;
		}
		if (seq >= NAMES_MAX) {
			lerr_set(e, LERR_TOO_LARGE,
				 "the request asks for more than %d subject alternative names", NAMES_MAX);
			goto out;
		}
		switch (type) {
		case GNUTLS_SAN_DNSNAME:
			if (csr_add_dns(c, val.data, val.size, e) != 0)
				goto out;
			break;
		case GNUTLS_SAN_IPADDRESS:
			if (csr_add_ip(c, val.data, val.size, e) != 0)
				goto out;
			break;
		default:
			lerr_set(e, LERR_FORBIDDEN_NAME,
				 "subject alternative name of type %s is not issued: only DNS and IP",
				 csr_san_type_name((int)type));
			goto out;
		}
	}
	rc = 0;
out:
	if (sn != NULL)
		gnutls_subject_alt_names_deinit(sn);
	gnutls_free(ext.data);
	return rc;
}

/*
 * Notes whether the request asked for CA:TRUE (only reported: the leaf
 * never gets it). A malformed basicConstraints refuses the request.
 */
static int
csr_read_ca(struct csr *c, struct lerr *e)
{
	unsigned critical = 0, ca = 0;
	int pathlen = -1, ret;

	ret = gnutls_x509_crq_get_basic_constraints(c->crq, &critical, &ca, &pathlen);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		c->asked_ca = 0;
		return 0;
	}
	if (ret < 0)
		return lerr_set(e, LERR_BAD_CSR, "the request's basicConstraints is malformed");
	c->asked_ca = ca != 0;
	return 0;
}

/* key_id = SHA-256 of the DER SubjectPublicKeyInfo. 0 or -1 with e. */
static int
csr_key_id(struct csr *c, struct lerr *e)
{
	gnutls_datum_t spki = { NULL, 0 };
	int rc = -1;

	if (gnutls_pubkey_export2(c->pubkey, GNUTLS_X509_FMT_DER, &spki) < 0 ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size, c->key_id) < 0) {
		lerr_set(e, LERR_INTERNAL, "could not hash the request's public key");
		goto out;
	}
	rc = 0;
out:
	gnutls_free(spki.data);
	return rc;
}

/* The bounds every request's bytes meet before GnuTLS sees them. */
static int
csr_check_size(const unsigned char *data, size_t len, struct lerr *e)
{
	if (len > CSR_MAX_BYTES)
		return lerr_set_http(e, LERR_TOO_LARGE, 413,
				     "certificate request of %zu bytes is too large: at most %d",
				     len, CSR_MAX_BYTES);
	if (data == NULL || len == 0)
		return lerr_set(e, LERR_BAD_CSR, "empty certificate request");
	return 0;
}

/*
 * The proof of possession: the request's self-signature, under its own
 * key. A signature that verifies but uses a hash GnuTLS holds broken for
 * it (MD5, MD2) is refused naming the algorithm, not as a bad signature.
 * SHA-1 is accepted (GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1, so that a
 * system crypto policy does not decide it): this signature only shows
 * that the sender holds the key. Nothing lanca issues carries it, and
 * forging it needs a second preimage, not the collisions SHA-1 has. Old
 * devices that can sign with nothing else keep enrolling.
 * Returns 0 or -1 with e.
 */
static int
csr_check_signature(gnutls_x509_crq_t crq, struct lerr *e)
{
	const char *name;
	int algo, ret;

	ret = gnutls_x509_crq_verify(crq, GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1);
	if (ret >= 0)
		return 0;
	if (ret == GNUTLS_E_INSUFFICIENT_SECURITY) {
		algo = gnutls_x509_crq_get_signature_algorithm(crq);
		name = algo > 0 ? gnutls_sign_get_name((gnutls_sign_algorithm_t)algo) : NULL;
		return lerr_set(e, LERR_BAD_SIGNATURE,
				"the request is signed with %s, which lanca does not accept "
				"(its hash is broken): sign it with SHA-256 or better",
				name != NULL ? name : "an algorithm GnuTLS does not trust");
	}
	return lerr_set(e, LERR_BAD_SIGNATURE, "the request's self-signature does not verify");
}

/* See csr.h: the size, structure and key checks of csr_parse_flags, then
 * the self-signature; nothing is kept. */
int
csr_verify(const unsigned char *data, size_t len, struct lerr *e)
{
	struct csr c;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	names_init(&c.sans);
	if (csr_check_size(data, len, e) != 0)
		goto out;
	if (gnutls_x509_crq_init(&c.crq) < 0 || gnutls_pubkey_init(&c.pubkey) < 0) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (csr_import(&c, data, len, e) < 0 || csr_check_key(&c, e) < 0)
		goto out;
	if (csr_check_signature(c.crq, e) != 0)
		goto out;
	rc = 0;
out:
	if (c.crq != NULL)
		gnutls_x509_crq_deinit(c.crq);
	if (c.pubkey != NULL)
		gnutls_pubkey_deinit(c.pubkey);
	names_free(&c.sans);
	return rc;
}

/* GnuTLS gives an attribute's text as it writes a DN (RFC 4514): a
 * backslash before ',', '+', '"', '\\', '<', '>', ';', '=' or a leading
 * '#' or space, or as "\\HH" hex. A password is compared as sent, so the
 * escapes go, in place. */
static void
csr_unescape(char *s)
{
	static const char hexd[] = "0123456789abcdef";
	const char *hi, *lo;
	char *w = s;

	while (*s != '\0') {
		if (*s == '\\' && s[1] != '\0') {
			hi = strchr(hexd, tolower((unsigned char)s[1]));
			lo = s[2] != '\0' ? strchr(hexd, tolower((unsigned char)s[2])) : NULL;
			if (hi != NULL && lo != NULL) {
				*w++ = (char)(((hi - hexd) << 4) | (lo - hexd));
				s += 3;
			} else {
				*w++ = s[1];
				s += 2;
			}
			continue;
		}
		*w++ = *s++;
	}
	*w = '\0';
}

int
csr_challenge_password(const unsigned char *data, size_t len, char *out, size_t n,
		       struct lerr *e)
{
	struct csr c;
	size_t sz = n;
	int rc = -1, ret;

	out[0] = '\0';
	memset(&c, 0, sizeof(c));
	names_init(&c.sans);
	if (csr_check_size(data, len, e) != 0)
		goto out;
	if (gnutls_x509_crq_init(&c.crq) < 0) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (csr_import(&c, data, len, e) < 0)
		goto out;
	ret = gnutls_x509_crq_get_challenge_password(c.crq, out, &sz);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		out[0] = '\0';
		rc = 0;
	} else if (ret < 0 || sz >= n) {
		out[0] = '\0';
		lerr_set(e, LERR_BAD_CSR, "the request's challengePassword is unreadable or "
			 "longer than %zu bytes", n - 1);
	} else {
		out[sz] = '\0';
		csr_unescape(out);
		rc = 1;
	}
out:
	if (c.crq != NULL)
		gnutls_x509_crq_deinit(c.crq);
	names_free(&c.sans);
	return rc;
}

/*
 * Parses and checks a request (see csr.h). On success *out is a new
 * struct csr owned by the caller (csr_free); on failure *out is NULL and
 * e says why (400, or 413 for oversized input).
 */
int
csr_parse(const unsigned char *data, size_t len, struct csr **out, struct lerr *e)
{
	return csr_parse_flags(data, len, 0, out, e);
}

/* See csr.h: csr_parse, without the self-signature check when flags has
 * CSR_PARSE_NO_VERIFY. */
int
csr_parse_flags(const unsigned char *data, size_t len, unsigned flags,
		struct csr **out, struct lerr *e)
{
	struct csr *c = NULL;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (out == NULL) {
		lerr_set(e, LERR_INTERNAL, "csr_parse: no output");
		goto out;
	}
	if (csr_check_size(data, len, e) != 0)
		goto out;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	names_init(&c->sans);
	if (gnutls_x509_crq_init(&c->crq) < 0) {
		c->crq = NULL;
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (gnutls_pubkey_init(&c->pubkey) < 0) {
		c->pubkey = NULL;
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (csr_import(c, data, len, e) < 0)
		goto out;
	if (csr_check_key(c, e) < 0)
		goto out;
	if (!(flags & CSR_PARSE_NO_VERIFY)) {
		if (csr_check_signature(c->crq, e) != 0)
			goto out;
		c->sig_verified = 1;
	}
	if (csr_read_cn(c, flags, e) < 0)
		goto out;
	if (csr_read_sans(c, e) < 0)
		goto out;
	if (csr_name_cn(c, e) < 0)
		goto out;
	if (csr_read_ca(c, e) < 0)
		goto out;
	if (csr_key_id(c, e) < 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	csr_free(c);
	return rc;
}

void
csr_free(struct csr *c)
{
	if (c == NULL)
		return;
	if (c->crq != NULL)
		gnutls_x509_crq_deinit(c->crq);
	if (c->pubkey != NULL)
		gnutls_pubkey_deinit(c->pubkey);
	names_free(&c->sans);
	free(c);
}

void
csr_key_id_hex(const struct csr *c, char out[65])
{
	hex_encode(c->key_id, sizeof(c->key_id), out);
}

/* The request's DER into d (gnutls_free d->data). 0 or -1. */
int
csr_export_der(const struct csr *c, gnutls_datum_t *d)
{
	if (c == NULL || d == NULL)
		return -1;
	d->data = NULL;
	d->size = 0;
	return gnutls_x509_crq_export2(c->crq, GNUTLS_X509_FMT_DER, d) < 0 ? -1 : 0;
}

int
csr_rekey(const unsigned char *data, size_t len, gnutls_privkey_t key, gnutls_datum_t *out,
	  struct lerr *e)
{
	gnutls_x509_crq_t crq = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t san = { NULL, 0 };
	struct csr *c = NULL;
	unsigned critical = 0;
	int rc = -1, ret;

	out->data = NULL;
	out->size = 0;
	if (csr_parse(data, len, &c, e) != 0)
		return -1;
	if (gnutls_x509_crq_init(&crq) < 0 || gnutls_pubkey_init(&pub) < 0) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	ret = gnutls_x509_crq_get_extension_by_oid2(c->crq, GNUTLS_X509EXT_OID_SAN, 0, &san,
						    &critical);
	if (ret < 0 && ret != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		lerr_set(e, LERR_BAD_CSR, "the request's subjectAltName is unreadable");
		goto out;
	}
	/* The SAN goes over as its DER, as GnuTLS read it: parsed and
	 * checked above, never re-encoded by hand. */
	if (gnutls_x509_crq_set_version(crq, 1) < 0 ||
	    gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, c->cn,
					  (unsigned)strlen(c->cn)) < 0 ||
	    (san.data != NULL &&
	     gnutls_x509_crq_set_extension_by_oid(crq, GNUTLS_X509EXT_OID_SAN, san.data, san.size,
						  critical) < 0) ||
	    gnutls_pubkey_import_privkey(pub, key, 0, 0) < 0 ||
	    gnutls_x509_crq_set_pubkey(crq, pub) < 0 ||
	    gnutls_x509_crq_privkey_sign(crq, key, GNUTLS_DIG_SHA256, 0) < 0 ||
	    gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, out) < 0) {
		lerr_set(e, LERR_INTERNAL, "cannot make the request for the new key");
		goto out;
	}
	rc = 0;
out:
	gnutls_free(san.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	csr_free(c);
	return rc;
}

/* See csr.h. */
int
csr_make(gnutls_x509_privkey_t key, const char *cn, const struct names *n,
		 gnutls_datum_t *der, struct lerr *e)
{
	gnutls_x509_crq_t crq = NULL;
	gnutls_privkey_t pk = NULL;
	size_t i;
	int rc = -1;

	if (gnutls_x509_crq_init(&crq) != 0 || gnutls_privkey_init(&pk) != 0 ||
	    gnutls_privkey_import_x509(pk, key, 0) != 0 ||
	    gnutls_x509_crq_set_version(crq, 1) != 0 ||
	    gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn)) != 0 ||
	    gnutls_x509_crq_set_key(crq, key) != 0)
		goto fail;
	for (i = 0; i < n->ndns; i++)
		if (gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME, n->dns[i],
							 strlen(n->dns[i]), GNUTLS_FSAN_APPEND) != 0)
			goto fail;
	for (i = 0; i < n->nip; i++)
		if (gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_IPADDRESS, n->ip[i].addr,
							 n->ip[i].len, GNUTLS_FSAN_APPEND) != 0)
			goto fail;
	if (gnutls_x509_crq_privkey_sign(crq, pk, GNUTLS_DIG_SHA256, 0) != 0 ||
	    gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, der) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	lerr_set(e, LERR_INTERNAL, "cannot build a certificate request for %s", cn);
out:
	gnutls_privkey_deinit(pk);
	gnutls_x509_crq_deinit(crq);
	return rc;
}
