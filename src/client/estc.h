/*
 * estc.h - lanca-enroll's EST conversation (RFC 7030, as updated by RFC
 * 8951), the other protocol beside lanca's /api/v1 (exchange.c).
 *
 * Owns: the URL layout (/.well-known/est[/LABEL]/OP), fetching /cacerts
 * (over TLS anchored at the root, or as RFC 7030's bootstrap over TLS that
 * checks nothing, for root.c to judge), posting the request to
 * simpleenroll or simplereenroll as base64 in 64-character lines, waiting
 * out 202 answers by the same rule as exchange.c, answering a Basic
 * challenge with the device id and its pre-authorisation secret, showing a
 * refusal's text/plain reason, and turning the certs-only PKCS#7 answer
 * into the PEM chain (leaf, then the CAs up to the root) that
 * device_chain_check() reads, taking the CAs from /cacerts when the answer
 * holds only the leaf. The encodings themselves are common/estwire.c's.
 * Callers are cmd_enroll.c, cmd_renew.c and root.c.
 */
#ifndef LANCA_CLIENT_ESTC_H
#define LANCA_CLIENT_ESTC_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>

#include "client/httpc.h"
#include "common/estwire.h"

#define ESTC_LABEL_MAX		128	/* as the server takes (http/route.h) */

/* Certificates read from a PKCS#7. */
struct estc_certs {
	gnutls_x509_crt_t crts[ESTWIRE_CERTS_MAX];
	unsigned n;
};

/* NULL-safe; leaves c empty. */
void estc_certs_free(struct estc_certs *c);

/* Whether label may name a CA in the path: 1 to ESTC_LABEL_MAX letters,
 * digits, '.', '_', '~' or '-' (what `lanca serve --est-label` takes), and
 * not "." or "..". */
int estc_label_ok(const char *label);

/*
 * GETs /cacerts (under label, or NULL) on c and reads its certificates
 * into *out (estc_certs_free). Returns 0, or -1 with a message printed.
 */
int estc_cacerts(struct httpc_conn *c, const char *label, struct estc_certs *out);

/*
 * RFC 7030's bootstrap: fetches /cacerts from gateway over TLS that checks
 * nothing (no request is sent but this GET) and lets root_choose() pick the
 * root by fingerprint (or on first use). Returns 0 with *root_pem (PEM,
 * gnutls_malloc'd), or -1 with a message printed.
 */
int estc_bootstrap_root(const char *gateway, const char *label, const char *fingerprint,
			long timeout, gnutls_datum_t *root_pem);

/* HTTP Basic credentials, sent only after a challenge (RFC 7030 3.2.3). */
struct estc_basic {
	const char *user;		/* the device id */
	const unsigned char *secret;	/* its pre-authorisation secret */
	size_t secret_len;
};

/* A request bound to its connection (RFC 7030 §3.5; lanca-enroll --bind):
 * made anew for each connection, from key, cn and sans, with the
 * connection's channel binding, base64, as its challengePassword. */
struct estc_bind {
	gnutls_privkey_t key;
	const char *cn;
	const struct device_sans *sans;
};

/*
 * Posts the DER request csr to op ("simpleenroll" or "simplereenroll",
 * under label or NULL) on c and follows the answer: 200 gives the
 * certificate; 202 is waited out (exchange_wait) and the same request
 * posted again; a 401 offering Basic is answered once with basic (when
 * not NULL); anything else is a refusal, its reason printed. With bind
 * (not NULL) csr is not sent: each POST carries a request made for its
 * own connection (struct estc_bind). key is the
 * request's key: the answer's leaf is the certificate for it.
 *
 * Returns CLIENT_OK with *chain (malloc'd PEM: the leaf, then its CAs
 * below the root; the caller frees it), CLIENT_PENDING at the deadline,
 * or CLIENT_FAIL; every outcome but success is printed. *held (when not
 * NULL) says whether the gateway may hold a request for csr's key, as
 * for exchange_run().
 */
int estc_run(struct httpc_conn *c, const char *label, const char *op,
	     const gnutls_datum_t *csr, const struct estc_bind *bind,
	     gnutls_privkey_t key, const struct estc_basic *basic,
	     long timeout, double start, unsigned char **chain, size_t *chain_len, int *held);

#endif
