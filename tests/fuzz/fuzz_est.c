/*
 * fuzz_est.c - fuzz target for what EST reads from the network: a body
 * decoded as RFC 8951 base64 (estwire_b64_decode in common/estwire.c),
 * the PKCS#10 request inside it (csr.c), and the CSR attributes a client
 * reads (csrattrs_parse in ca/csrattrs.c), both as raw DER and as the
 * base64 body that carries them.
 *
 * Besides memory errors and leaks, the target aborts on a broken
 * contract: a refusal without a code, or with another code than
 * bad_request where the header promises it; decoded bytes that are empty,
 * longer than the text could hold, or that do not survive
 * estwire_b64_encode and a second decode unchanged; parsed attributes
 * beyond CSRATTRS_MAX or with text not terminated inside its array; and
 * what csrattrs_build makes (with or without channel binding, chosen by
 * the input) not reading back as the entries it wrote.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "ca/csr.h"
#include "ca/csrattrs.h"
#include "common/buf.h"
#include "common/estwire.h"
#include "common/lerr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless s is NUL-terminated inside its size bytes. */
static void
fuzz_est_terminated(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

/* csrattrs_parse over der: a refusal says bad_request and reports
 * nothing read; what it accepts stays inside the bounds. */
static void
fuzz_est_csrattrs(const unsigned char *der, size_t len)
{
	struct csrattrs_entry out[CSRATTRS_MAX];
	struct lerr e;
	size_t n = 99, i;

	lerr_clear(&e);
	if (csrattrs_parse(der, len, out, CSRATTRS_MAX, &n, &e) != 0) {
		if (e.code != LERR_BAD_REQUEST || n != 0)
			abort();
		return;
	}
	if (n > CSRATTRS_MAX || len > CSRATTRS_DER_MAX)
		abort();
	for (i = 0; i < n; i++) {
		fuzz_est_terminated(out[i].oid, sizeof(out[i].oid));
		fuzz_est_terminated(out[i].value, sizeof(out[i].value));
		if (out[i].oid[0] == '\0' || (!out[i].is_attribute && out[i].value[0] != '\0'))
			abort();
	}
}

/* The builder's one input is the flag: what it makes reads back as it
 * was made, challengePassword first when asked for. */
static void
fuzz_est_build(int cp)
{
	struct csrattrs_want w = { .challenge_password = cp };
	struct csrattrs_entry out[CSRATTRS_MAX];
	gnutls_datum_t der = { NULL, 0 };
	struct lerr e;
	size_t n = 0;

	lerr_clear(&e);
	if (csrattrs_build(&w, &der, &e) != 0 ||
	    csrattrs_parse(der.data, der.size, out, CSRATTRS_MAX, &n, &e) != 0 ||
	    n != (cp ? 3u : 2u) || out[n - 2].is_attribute != 1 ||
	    out[n - 2].value[0] == '\0' || out[n - 1].is_attribute != 0 ||
	    (cp && out[0].is_attribute != 0))
		abort();
	gnutls_free(der.data);
}

/* A PKCS#10 in decoded bytes, unverified then verified, as http/est.c
 * reads one: refusals carry a code, verifying only refuses more. */
static void
fuzz_est_csr(const unsigned char *der, size_t len)
{
	struct csr *loose = NULL, *strict = NULL;
	struct lerr e;
	int loose_rc, strict_rc;

	lerr_clear(&e);
	loose_rc = csr_parse_flags(der, len, CSR_PARSE_NO_VERIFY, &loose, &e);
	if ((loose_rc == 0) != (loose != NULL) || (loose_rc != 0 && e.code == LERR_NONE))
		abort();
	lerr_clear(&e);
	strict_rc = csr_parse(der, len, &strict, &e);
	if ((strict_rc == 0) != (strict != NULL) || (strict_rc != 0 && e.code == LERR_NONE))
		abort();
	if (strict_rc == 0 && (loose_rc != 0 || !strict->sig_verified ||
			       strcmp(strict->cn, loose->cn) != 0))
		abort();
	csr_free(strict);
	csr_free(loose);
}

/* The decoded bytes, encoded again in 64-character lines and decoded
 * again, are the same bytes. */
static void
fuzz_est_b64_again(const gnutls_datum_t *raw)
{
	gnutls_datum_t again = { NULL, 0 };
	struct lerr e;
	struct buf b;

	buf_init(&b, 2 * (size_t)raw->size + 64);
	if (estwire_b64_encode(raw->data, raw->size, &b) != 0)
		abort();
	lerr_clear(&e);
	if (estwire_b64_decode(b.data, b.len, &again, &e) != 0 ||
	    again.size != raw->size || memcmp(again.data, raw->data, raw->size) != 0)
		abort();
	gnutls_free(again.data);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gnutls_datum_t raw = { NULL, 0 };
	struct lerr e;

	fuzz_est_build(size > 0 && (data[0] & 1));
	/* The input as the DER a client fetched, then as the base64 body. */
	fuzz_est_csrattrs(data, size);

	lerr_clear(&e);
	if (estwire_b64_decode(data, size, &raw, &e) != 0) {
		if (e.code != LERR_BAD_REQUEST || raw.data != NULL || raw.size != 0)
			abort();
		return 0;
	}
	/* Four characters make at most three bytes. */
	if (raw.data == NULL || raw.size == 0 || raw.size > size / 4 * 3 + 3)
		abort();
	fuzz_est_b64_again(&raw);
	fuzz_est_csr(raw.data, raw.size);
	fuzz_est_csrattrs(raw.data, raw.size);
	gnutls_free(raw.data);
	return 0;
}
