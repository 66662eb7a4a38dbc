/*
 * csrattrs.h - the CSR attributes an EST server announces (RFC 7030
 * §4.5.2: CsrAttrs ::= SEQUENCE OF AttrOrOID), built and read with
 * libtasn1, the ASN.1 library GnuTLS itself runs on.
 *
 * Owns: what lanca asks a device to put in its request, as DER: the key
 * it prefers (an Attribute of type id-ecPublicKey whose value is the
 * curve, as in RFC 7030's example), the signature algorithm
 * (ecdsa-with-SHA256) and, when channel binding is asked for, the
 * challengePassword OID; and the reader (for tests, the fuzz target and
 * any client that wants to honour them).
 * Callers: http/est.c (GET /.well-known/est/csrattrs).
 */
#ifndef LANCA_CSRATTRS_H
#define LANCA_CSRATTRS_H

#include <stddef.h>
#include <gnutls/gnutls.h>

#include "common/lerr.h"

#define CSRATTRS_MAX	16	/* entries the reader accepts */
#define CSRATTRS_OID_MAX	64	/* bytes of a dotted OID, NUL included */
#define CSRATTRS_DER_MAX	4096	/* bytes of DER the reader accepts */

struct csrattrs_want {
	int challenge_password;		/* ask for channel binding (RFC 7030 §3.5) */
};

/* One entry: an OID alone, or an attribute with its first value when that
 * value is an OID (the curve of id-ecPublicKey), else value = "". */
struct csrattrs_entry {
	char oid[CSRATTRS_OID_MAX];
	char value[CSRATTRS_OID_MAX];
	int is_attribute;
};

/* The DER CsrAttrs for w into der (gnutls_free it). 0 or -1 with e. */
int csrattrs_build(const struct csrattrs_want *w, gnutls_datum_t *der, struct lerr *e);
/* Parses DER CsrAttrs (untrusted) into out[0..*n). Bad DER (not a
 * SEQUENCE, truncated, trailing bytes, BER), more than CSRATTRS_DER_MAX
 * bytes, an entry that is neither form, an OID longer than its buffer, or
 * more than max (at most CSRATTRS_MAX) entries gives LERR_BAD_REQUEST
 * naming it. 0 or -1 with e. */
int csrattrs_parse(const unsigned char *der, size_t len, struct csrattrs_entry *out,
		   size_t max, size_t *n, struct lerr *e);

#endif
