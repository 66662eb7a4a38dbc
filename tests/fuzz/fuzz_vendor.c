/*
 * fuzz_vendor.c - fuzz target for the vendor CA import (vendor_read in
 * daemon/vendor.c: what `lanca vendor add FILE` and vendor_add read, PEM
 * or DER) and for the check of a factory certificate chain against a
 * registered vendor CA (vendor_check_chain_rows), which a TLS client's
 * chain reaches at enrollment.
 *
 * Every input is read as a vendor CA file. When it is a PEM bundle of two
 * or more certificates and the first one is accepted as a vendor CA, that
 * one is registered (as the store's row would hold it) and the others are
 * presented as a client's chain, leaf first.
 *
 * Besides memory errors and leaks, the target aborts on a broken
 * contract: a refusal without a 4xx code or with DER handed out; an
 * accepted CA without DER, with a fingerprint that is not 64 lower-case
 * hex digits or a subject without its NUL; an accepted CA whose stored DER
 * does not read back as the same CA (the check reads the rows again); and
 * a chain verdict that names another vendor or leaves its strings open.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/lerr.h"
#include "daemon/vendor.h"
#include "store/store.h"

/* The time the seeds were made at (2026-12-06 12:00 UTC): fixed, so a
 * replay decides today what it decided then. */
#define FUZZ_VENDOR_NOW		((time_t)1796558400)
#define FUZZ_VENDOR_ROW		42	/* the registered vendor's store id */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless a refusal is a client error with a terminated message. */
static void
fuzz_vendor_refused(const struct lerr *e)
{
	if (e->code == LERR_NONE || e->http < 400 || e->http > 499 ||
	    memchr(e->msg, '\0', sizeof(e->msg)) == NULL)
		abort();
}

static void
fuzz_vendor_fp_ok(const char fp[65])
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((fp[i] >= '0' && fp[i] <= '9') || (fp[i] >= 'a' && fp[i] <= 'f')))
			abort();
	if (fp[64] != '\0')
		abort();
}

/* The chain peer[1..n) checked against the vendor CA row holding der. */
static void
fuzz_vendor_chain(const gnutls_datum_t *der, const char *subject, const char *fp,
		  const gnutls_x509_crt_t *peer, unsigned n)
{
	struct store_vendor row;
	struct vendor_match m;
	struct lerr e;
	int rc;

	memset(&row, 0, sizeof(row));
	row.id = FUZZ_VENDOR_ROW;
	row.auto_register = 1;
	memcpy(row.subject, subject, sizeof(row.subject));
	memcpy(row.fingerprint, fp, sizeof(row.fingerprint));
	row.der = der->data;
	row.der_len = der->size;
	lerr_clear(&e);
	rc = vendor_check_chain_rows(&row, 1, peer, n, FUZZ_VENDOR_NOW, &m, &e);
	if (rc == 1) {
		if (m.vendor_id != FUZZ_VENDOR_ROW || m.auto_register != 1 ||
		    strcmp(m.vendor_fingerprint, fp) != 0 ||
		    memchr(m.leaf_subject, '\0', sizeof(m.leaf_subject)) == NULL ||
		    memchr(m.leaf_cn, '\0', sizeof(m.leaf_cn)) == NULL ||
		    memchr(m.leaf_serial, '\0', sizeof(m.leaf_serial)) == NULL)
			abort();
	} else if (rc == 0) {
		if (m.vendor_id != 0 || m.leaf_subject[0] != '\0')
			abort();
	} else if (rc != -1 || e.code == LERR_NONE) {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gnutls_datum_t der = { NULL, 0 }, again = { NULL, 0 }, bundle;
	gnutls_x509_crt_t *crts = NULL;
	char subject[256], fp[65], subject2[256], fp2[65];
	unsigned n = 0, i;
	struct lerr e;

	lerr_clear(&e);
	if (vendor_read(data, size, FUZZ_VENDOR_NOW, &der, subject, fp, &e) != 0) {
		fuzz_vendor_refused(&e);
		if (der.data != NULL || der.size != 0)
			abort();
		return 0;
	}
	if (der.data == NULL || der.size == 0 || memchr(subject, '\0', sizeof(subject)) == NULL)
		abort();
	fuzz_vendor_fp_ok(fp);
	/* The row holds the DER: read again, it is the same CA. */
	if (vendor_read(der.data, der.size, FUZZ_VENDOR_NOW, &again, subject2, fp2, &e) != 0 ||
	    again.size != der.size || memcmp(again.data, der.data, der.size) != 0 ||
	    strcmp(subject, subject2) != 0 || strcmp(fp, fp2) != 0)
		abort();
	gnutls_free(again.data);

	bundle.data = (unsigned char *)(uintptr_t)data;
	bundle.size = (unsigned)size;
	if (gnutls_x509_crt_list_import2(&crts, &n, &bundle, GNUTLS_X509_FMT_PEM, 0) >= 0 &&
	    n >= 2)
		fuzz_vendor_chain(&der, subject, fp, crts + 1, n - 1);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	gnutls_free(der.data);
	return 0;
}
