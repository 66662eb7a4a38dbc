/*
 * vendor.h - manufacturer (vendor) CAs: devices that arrive with a factory
 * certificate (an IEEE 802.1AR IDevID or the like) from a registered
 * vendor may enroll without a press when that vendor has auto-registration
 * on.
 *
 * Owns: what may be registered as a vendor CA (X.509 v3, basicConstraints
 * CA:TRUE, keyCertSign if keyUsage is present, not expired) and the
 * verdict on a chain a TLS client presented.
 * Callers: cmd_vendor.c (`lanca vendor add|list`), the enrollment API.
 *
 * Nothing is cached between calls: vendors may be added while the daemon
 * runs, and the next check sees them.
 */
#ifndef LANCA_VENDOR_H
#define LANCA_VENDOR_H

#include <stdint.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "common/lerr.h"
#include "store/store.h"

#define VENDOR_CHAIN_MAX	10	/* certificates a client may present */
#define VENDOR_CERT_MAX		(64 * 1024)	/* bytes of a CA file */

/* A chain that verified, for the enrollment decision and the audit log. */
struct vendor_match {
	int64_t vendor_id;		/* store row of the vendor CA */
	char vendor_subject[256];
	char vendor_fingerprint[65];	/* SHA-256 of the vendor CA's DER, hex */
	int auto_register;
	char leaf_subject[256];		/* RFC 4514 */
	char leaf_cn[65];		/* "" when the leaf has no CN */
	char leaf_serial[41];		/* lower-case hex */
};

/* Checks that crt may be registered as a vendor CA at now: X.509 v3,
 * basicConstraints CA:TRUE, keyCertSign when keyUsage is present, inside
 * its validity. 0, or -1 with e (LERR_BAD_REQUEST, 400) naming why not. */
int vendor_ca_ok(gnutls_x509_crt_t crt, time_t now, struct lerr *e);

/* Reads a CA certificate (PEM or DER, one certificate, at most
 * VENDOR_CERT_MAX bytes) as vendor_add stores it: checked with
 * vendor_ca_ok at now, its DER into *der (the caller gnutls_free's it),
 * its subject (cut to fit, for people) and SHA-256 fingerprint (hex).
 * 0, or -1 with e naming why not (*der empty). */
int vendor_read(const unsigned char *data, size_t len, time_t now, gnutls_datum_t *der,
		char subject[256], char fp[65], struct lerr *e);

/* Reads a CA certificate with vendor_read and stores it with its subject
 * and SHA-256 fingerprint. If out_subject/out_fp are non-NULL they
 * receive what was stored. 0, or -1 with e (a store conflict for a CA
 * registered already). */
int vendor_add(struct store *s, const unsigned char *data, size_t len, int auto_register,
	       time_t now, const char *actor, char out_subject[256], char out_fp[65],
	       struct lerr *e);

/*
 * Does the chain a TLS client presented (peer[0] its certificate, then
 * whatever intermediates it sent, as gnutls_certificate_get_peers gives
 * them) lead to a registered vendor CA, valid at now? The path is built
 * from the leaf through the presented certificates, then verified with a
 * GnuTLS trust list of every registered vendor CA (signatures, CA flags,
 * pathLenConstraint, keyUsage, name constraints); validity is checked
 * against now for every certificate on the path and the vendor CA.
 * Returns 1 and fills *out when it does; 0 when it does not (an unknown
 * CA is not an error; when a registered vendor was reached but the chain
 * failed, e->msg says why, for the log, e->code is LERR_NONE otherwise);
 * -1 with e on error (more than VENDOR_CHAIN_MAX certificates is
 * LERR_BAD_REQUEST 400; store failures as the store reports them).
 * The peer certificates are borrowed.
 */
int vendor_check_chain(struct store *s, const gnutls_x509_crt_t *peer, unsigned npeer,
		       time_t now, struct vendor_match *out, struct lerr *e);
/* The same against the vendor CAs rows[0..nrows) the caller read (the
 * enrollment decision's snapshot). */
int vendor_check_chain_rows(const struct store_vendor *rows, size_t nrows,
			    const gnutls_x509_crt_t *peer, unsigned npeer, time_t now,
			    struct vendor_match *out, struct lerr *e);

#endif
