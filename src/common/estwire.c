/*
 * estwire.c - EST's base64 bodies and certs-only PKCS#7 (see estwire.h).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs7.h>

#include "common/estwire.h"

/* The alphabet of RFC 4648 §4 and '=' for padding. */
static int
estwire_b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

int
estwire_b64_decode(const unsigned char *in, size_t len, gnutls_datum_t *out, struct lerr *e)
{
	unsigned char *text;
	gnutls_datum_t t;
	size_t i, n = 0;
	int rc;

	out->data = NULL;
	out->size = 0;
	/* What is left once line breaks and blanks are gone must be base64;
	 * RFC 8951 lets a client leave the padding out, GnuTLS wants it. */
	text = gnutls_malloc(len + 3);
	if (text == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	for (i = 0; i < len; i++) {
		if (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n')
			continue;
		if (!estwire_b64_char(in[i])) {
			gnutls_free(text);
			return lerr_set(e, LERR_BAD_REQUEST,
					"the body is not base64: byte 0x%02x at offset %zu",
					in[i], i);
		}
		text[n++] = in[i];
	}
	if (n == 0) {
		gnutls_free(text);
		return lerr_set(e, LERR_BAD_REQUEST, "the body is empty: base64 expected");
	}
	if (n % 4 == 1) {
		gnutls_free(text);
		return lerr_set(e, LERR_BAD_REQUEST,
				"the body is not base64: %zu characters cannot be", n);
	}
	while (n % 4 != 0)
		text[n++] = '=';
	t.data = text;
	t.size = (unsigned)n;
	rc = gnutls_base64_decode2(&t, out);
	/* The text may be a password (HTTP Basic): no copy is left about. */
	gnutls_memset(text, 0, n);
	gnutls_free(text);
	if (rc < 0 || out->size == 0) {
		gnutls_free(out->data);
		out->data = NULL;
		out->size = 0;
		return lerr_set(e, LERR_BAD_REQUEST, "the body is not base64 (padding in the middle?)");
	}
	return 0;
}

int
estwire_b64_encode(const unsigned char *in, size_t len, struct buf *out)
{
	gnutls_datum_t raw = { (unsigned char *)(uintptr_t)in, (unsigned)len }, b64;
	size_t off, line;
	int bad = 0;

	if (len > (size_t)0x3fffffff || gnutls_base64_encode2(&raw, &b64) < 0)
		return -1;
	for (off = 0; off < b64.size; off += line) {
		line = b64.size - off < ESTWIRE_LINE ? b64.size - off : ESTWIRE_LINE;
		bad |= buf_append(out, b64.data + off, line) != 0;
		bad |= buf_append(out, "\r\n", 2) != 0;
	}
	/* It may be a private key's (serverkeygen): wiped, not just freed. */
	gnutls_memset(b64.data, 0, b64.size);
	gnutls_free(b64.data);
	return bad ? -1 : 0;
}

int
estwire_pkcs7_build(const gnutls_datum_t *certs, size_t n, gnutls_datum_t *der, struct lerr *e)
{
	gnutls_pkcs7_t p7 = NULL;
	size_t i;
	int rc = -1;

	der->data = NULL;
	der->size = 0;
	if (n == 0)
		return lerr_set(e, LERR_INTERNAL, "a PKCS#7 answer needs a certificate");
	if (gnutls_pkcs7_init(&p7) < 0)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	for (i = 0; i < n; i++)
		if (gnutls_pkcs7_set_crt_raw(p7, &certs[i]) < 0) {
			lerr_set(e, LERR_INTERNAL, "cannot put certificate %zu in a PKCS#7", i + 1);
			goto out;
		}
	if (gnutls_pkcs7_export2(p7, GNUTLS_X509_FMT_DER, der) < 0) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the PKCS#7");
		goto out;
	}
	rc = 0;
out:
	gnutls_pkcs7_deinit(p7);
	return rc;
}

int
estwire_pkcs7_read(const unsigned char *der, size_t len, gnutls_x509_crt_t *certs,
		   unsigned max, unsigned *n, struct lerr *e)
{
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)der, (unsigned)len }, raw;
	gnutls_pkcs7_t p7 = NULL;
	unsigned i, got = 0;
	int count, g, rc = -1;

	*n = 0;
	if (len == 0 || len > (size_t)0x3fffffff)
		return lerr_set(e, LERR_BAD_REQUEST, "the PKCS#7 is empty or too large");
	if (gnutls_pkcs7_init(&p7) < 0)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	if (gnutls_pkcs7_import(p7, &d, GNUTLS_X509_FMT_DER) < 0) {
		lerr_set(e, LERR_BAD_REQUEST, "the answer is not a PKCS#7 SignedData");
		goto out;
	}
	count = gnutls_pkcs7_get_crt_count(p7);
	if (count <= 0 || (unsigned)count > max) {
		lerr_set(e, LERR_BAD_REQUEST, "the PKCS#7 holds %d certificates: 1 to %u expected",
			 count < 0 ? 0 : count, max);
		goto out;
	}
	for (got = 0; got < (unsigned)count; got++) {
		if (gnutls_pkcs7_get_crt_raw2(p7, got, &raw) < 0) {
			lerr_set(e, LERR_BAD_REQUEST, "certificate %u of the PKCS#7 is unreadable",
				 got + 1);
			goto out;
		}
		g = gnutls_x509_crt_init(&certs[got]);
		if (g >= 0 && (g = gnutls_x509_crt_import(certs[got], &raw,
							   GNUTLS_X509_FMT_DER)) < 0)
			gnutls_x509_crt_deinit(certs[got]);
		gnutls_free(raw.data);
		if (g < 0) {
			lerr_set(e, LERR_BAD_REQUEST, "certificate %u of the PKCS#7 does not parse",
				 got + 1);
			goto out;
		}
	}
	*n = got;
	rc = 0;
out:
	if (rc != 0)
		for (i = 0; i < got; i++)
			gnutls_x509_crt_deinit(certs[i]);
	gnutls_pkcs7_deinit(p7);
	return rc;
}
