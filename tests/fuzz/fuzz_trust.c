/*
 * fuzz_trust.c - fuzz target for the device's trust store rule
 * (client/trust.c's trust_merge): what a device does with the trust
 * bundle a gateway serves, the bytes an attacker in the middle of a
 * refresh, or a gateway that was taken over, controls.
 *
 * Input: the store (PEM: the roots the device trusts now), a line "==",
 * then the bundle (PEM). Without the line, everything is the bundle and
 * the store is empty (refused).
 *
 * Aborts on a broken contract: a merge that succeeds with an output that
 * does not parse, holds no root or more than TRUST_STORE_MAX, holds a
 * certificate that is not self-issued or is not byte for byte one of the
 * bundle's, or whose counts disagree with it (kept, added, dropped); a
 * merge that fails and still hands out bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "client/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TRUST_SEP	"\n==\n"

/* Whether der is, byte for byte, one of the certificates of pem. */
static int
fuzz_trust_in(const gnutls_datum_t *der, const gnutls_datum_t *pem)
{
	gnutls_x509_crt_t *l = NULL;
	gnutls_datum_t d;
	unsigned n = 0, i;
	int found = 0;

	if (gnutls_x509_crt_list_import2(&l, &n, pem, GNUTLS_X509_FMT_PEM, 0) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (!found && gnutls_x509_crt_export2(l[i], GNUTLS_X509_FMT_DER, &d) >= 0) {
			found = d.size == der->size && memcmp(d.data, der->data, d.size) == 0;
			gnutls_free(d.data);
		}
		gnutls_x509_crt_deinit(l[i]);
	}
	gnutls_free(l);
	return found;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gnutls_datum_t store = { NULL, 0 }, bundle, out = { NULL, 0 }, der;
	gnutls_x509_crt_t *l = NULL;
	struct trust_result res;
	struct lerr e;
	const uint8_t *sep = NULL;
	unsigned n = 0, i;
	size_t k;
	char *buf;

	/* NUL-terminated copies: GnuTLS's PEM reader wants to find an end. */
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (k = 0; k + 4 <= size; k++)
		if (memcmp(buf + k, FUZZ_TRUST_SEP, 4) == 0) {
			sep = (const uint8_t *)buf + k;
			break;
		}
	if (sep != NULL) {
		store.data = (unsigned char *)buf;
		store.size = (unsigned)(sep - (const uint8_t *)buf);
		bundle.data = (unsigned char *)sep + 4;
		bundle.size = (unsigned)(size - store.size - 4);
	} else {
		store.data = (unsigned char *)buf;
		store.size = 0;
		bundle.data = (unsigned char *)buf;
		bundle.size = (unsigned)size;
	}
	memset(&res, 0, sizeof(res));
	if (trust_merge(&store, &bundle, &out, &res, &e) != 0) {
		if (out.data != NULL)
			abort();
		free(buf);
		return 0;
	}
	if (gnutls_x509_crt_list_import2(&l, &n, &out, GNUTLS_X509_FMT_PEM, 0) < 0 || n == 0 ||
	    n > TRUST_STORE_MAX || res.kept != n || res.added > n || res.ndropped > TRUST_STORE_MAX)
		abort();
	for (i = 0; i < n; i++) {
		if (!gnutls_x509_crt_check_issuer(l[i], l[i]) ||
		    gnutls_x509_crt_export2(l[i], GNUTLS_X509_FMT_DER, &der) < 0)
			abort();
		if (!fuzz_trust_in(&der, &bundle))
			abort();
		gnutls_free(der.data);
		gnutls_x509_crt_deinit(l[i]);
	}
	gnutls_free(l);
	gnutls_free(out.data);
	free(buf);
	return 0;
}
