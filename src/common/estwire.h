/*
 * estwire.h - the encodings EST (RFC 7030, as updated by RFC 8951) puts
 * on the wire, for the server (http/est.c) and the client (lanca-enroll).
 *
 * Owns: decoding a base64 body the way RFC 8951 asks (line breaks and
 * white space anywhere, padding optional, any Content-Transfer-Encoding
 * header ignored by the caller); encoding one in lines of at most 64
 * characters, each ended by CRLF, which is what the reference client
 * needs; and the certs-only PKCS#7 SignedData (RFC 5652, no signers) that
 * carries certificates both ways. Everything goes through GnuTLS
 * (gnutls_base64_*, gnutls_pkcs7_*); no ASN.1 of our own.
 */
#ifndef LANCA_ESTWIRE_H
#define LANCA_ESTWIRE_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/buf.h"
#include "common/lerr.h"

#define ESTWIRE_LINE		64	/* base64 characters per output line */
#define ESTWIRE_CERTS_MAX	64	/* certificates in one PKCS#7 we read or
					 * send (/cacerts: a site's issuing CAs
					 * and its trust bundle) */

/* Decodes an RFC 8951 base64 body into out (gnutls_free it). An empty
 * body, a character outside the base64 alphabet and white space, or a
 * length no base64 text can have gives LERR_BAD_REQUEST naming it.
 * Returns 0 or -1 with e. */
int estwire_b64_decode(const unsigned char *in, size_t len, gnutls_datum_t *out,
		       struct lerr *e);
/* Appends the base64 of in to out, ESTWIRE_LINE characters and CRLF per
 * line (the last line too). Returns 0, or -1 when out is full. */
int estwire_b64_encode(const unsigned char *in, size_t len, struct buf *out);

/* A certs-only PKCS#7 (DER) holding the n DER certificates into der
 * (gnutls_free it). The certificates are a SET, which DER sorts: a reader
 * must not rely on their order. n is at least 1. Returns 0 or -1 with e. */
int estwire_pkcs7_build(const gnutls_datum_t *certs, size_t n, gnutls_datum_t *der,
			struct lerr *e);
/* Reads the certificates of a PKCS#7 (DER) into certs (at most max; the
 * caller deinits *n of them). A PKCS#7 that does not parse, holds none or
 * more than max gives LERR_BAD_REQUEST. Returns 0 or -1 with e. */
int estwire_pkcs7_read(const unsigned char *der, size_t len, gnutls_x509_crt_t *certs,
		       unsigned max, unsigned *n, struct lerr *e);

#endif
