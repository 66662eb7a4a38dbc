/*
 * root.h - settling the gateway's root before anything is sent.
 *
 * Owns: fetching the root certificate over plain HTTP (the only request
 * lanca-enroll makes without TLS; with EST, estc.c fetches /cacerts over
 * TLS that checks nothing instead), and deciding whether to trust it: its
 * SHA-256 fingerprint must equal the one the user read off the gateway,
 * or, on trust on first use, it is taken and its fingerprint printed for
 * the user to compare. Called by cmd_enroll.c; renew trusts the root.pem
 * that enroll wrote.
 */
#ifndef LANCA_CLIENT_ROOT_H
#define LANCA_CLIENT_ROOT_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "client/httpc.h"

/* Normalises a SHA-256 fingerprint (hex, colons or spaces allowed, any
 * case) into 64 lower-case hex digits. Returns 0, or -1 if it is not one. */
int root_norm_fp(const char *in, char out[65]);

/*
 * Fetches the root from http_url (NULL: http://HOST/ca.crt of gw; a URL not
 * ending in .crt or .pem gets /ca.crt appended) and checks it against
 * fingerprint, or trusts it on first use when fingerprint is NULL. It must
 * be a CA certificate. Returns 0 with *root_pem (PEM, gnutls_malloc'd: the
 * caller gnutls_frees it), or -1 with a message printed.
 */
int root_fetch(const char *http_url, const struct httpc_url *gw, const char *fingerprint,
	       long timeout, gnutls_datum_t *root_pem);

/*
 * Chooses the root among the n certificates of an EST /cacerts answer
 * (where names it in messages): the self-signed one with fingerprint's
 * SHA-256, or, on trust on first use (fingerprint NULL), the root that
 * signed the set's issuing CA, its fingerprint printed. It must be a CA.
 * Returns 0 with *root_pem (PEM, gnutls_malloc'd: the caller gnutls_frees
 * it), or -1 with a message printed.
 */
int root_choose(const gnutls_x509_crt_t *crts, unsigned n, const char *fingerprint,
		const char *where, gnutls_datum_t *root_pem);

#endif
