/*
 * crl.h - certificate revocation lists through GnuTLS: the reasons a
 * certificate is revoked for, and the one builder of a CRL.
 *
 * Owns: the table of revocation reasons (RFC 5280 §5.3.1 CRLReason: the
 * enum's values are the codes, one table maps them to the words lanca
 * stores and clients send), and crl_make(), which builds a version 2 CRL
 * (CRL number, AKI of the issuer, thisUpdate and nextUpdate, an entry
 * per revoked certificate with its reasonCode), signs it with the
 * issuer's key and checks the bytes it produced before returning them.
 * Callers: signer/sign.c (the only holder of the key), store/ and
 * daemon/ for the reasons, cli/ for the PEM form.
 */
#ifndef LANCA_CRL_H
#define LANCA_CRL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include "common/lerr.h"

/* The reasons lanca revokes for; each value is its RFC 5280 code. */
enum crl_reason {
	CRL_REASON_UNSPECIFIED = 0,
	CRL_REASON_KEY_COMPROMISE = 1,
	/* Not an admin's: the leaves of an issuing CA revoked by a rollover
	 * after a compromise (daemon/rollover.h). */
	CRL_REASON_CA_COMPROMISE = 2,
	CRL_REASON_AFFILIATION_CHANGED = 3,
	CRL_REASON_SUPERSEDED = 4,
	CRL_REASON_CESSATION_OF_OPERATION = 5,
	CRL_REASON_PRIVILEGE_WITHDRAWN = 9,
};
#define CRL_REASON_WORDS \
	"unspecified, keyCompromise, superseded, cessationOfOperation, " \
	"affiliationChanged or privilegeWithdrawn"

/* The word of r ("keyCompromise"), or NULL for a code lanca does not use. */
const char *crl_reason_str(int r);
/* The reason whose word is s (case as RFC 5280 writes it): 0, or -1. */
int crl_reason_parse(const char *s, enum crl_reason *out);

#define CRL_SERIAL_MAX	20	/* bytes of an entry's serial (RFC 5280's bound) */
/*
 * Entries in one CRL at most: 100,000 unexpired revoked certificates (a
 * site of some 200,000 devices, since each renewal supersedes one until
 * it expires), a CRL of some 5.3 MB. crl_make takes time and memory that
 * grow with the number of entries alone (0.8 s of CPU and 47 MB at the
 * bound: docs/performance.md); past it, it refuses (LERR_TOO_LARGE)
 * rather than leave one out.
 */
#define CRL_ENTRIES_MAX		100000
/* An entry's DER at most: a 20-byte serial, a GeneralizedTime, the
 * reasonCode extension, and their tags and lengths (57 bytes). */
#define CRL_ENTRY_DER_MAX	64
/* A CRL's DER at most: its entries and its own fields. */
#define CRL_DER_MAX		((size_t)CRL_ENTRIES_MAX * CRL_ENTRY_DER_MAX + 4096)

struct crl_entry {
	unsigned char serial[CRL_SERIAL_MAX];
	size_t serial_len;
	time_t revoked_at;
	enum crl_reason reason;
};

struct crl_params {
	uint64_t number;		/* the CRL number, > 0 */
	time_t this_update, next_update;
	const struct crl_entry *entries;
	size_t n;			/* at most CRL_ENTRIES_MAX */
};

/*
 * Builds the CRL p describes for issuer (a CA certificate) and signs it
 * with key, which must be issuer's (LERR_INVARIANT otherwise, as the
 * check finds). Then checks the bytes: they parse, the signature
 * verifies under issuer (gnutls_x509_crl_verify), and version, number,
 * AKI, dates and every entry with its reason are what p asked for.
 * *der (gnutls_free) on success. 0, or -1 with e (bad_request for
 * parameters out of bounds, too_large past CRL_ENTRIES_MAX, invariant
 * when the check fails).
 */
int crl_make(const struct crl_params *p, gnutls_x509_crt_t issuer, gnutls_privkey_t key,
	     gnutls_datum_t *der, struct lerr *e);

/* The check crl_make ends with, on any bytes: 0, or -1 with e
 * (LERR_INVARIANT saying what differs). */
int crl_check(const gnutls_datum_t *der, const struct crl_params *p, gnutls_x509_crt_t issuer,
	      struct lerr *e);

/* der as PEM ("-----BEGIN X509 CRL-----"), *pem to gnutls_free. 0 or -1. */
int crl_pem(const unsigned char *der, size_t len, gnutls_datum_t *pem);

#endif
