/*
 * exchange.h - the certificate request's conversation with the gateway.
 *
 * Owns: opening the HTTPS connection anchored at the settled root (with the
 * device's current certificate for mTLS when renewing), posting the CSR,
 * waiting out "pending" and "slow down" answers within the deadline,
 * following only Locations on the gateway itself, and explaining a refusal
 * from the server's JSON error body. Callers are cmd_enroll.c and
 * cmd_renew.c; what comes back is checked by device_chain_check.
 */
#ifndef LANCA_CLIENT_EXCHANGE_H
#define LANCA_CLIENT_EXCHANGE_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#include "client/httpc.h"

/*
 * Opens an https connection to gateway trusting root (PEM) alone; cert
 * (PEM chain) and key give a client certificate, or are NULL (key is
 * borrowed: it must outlive *c). Returns 0 with *c (the caller
 * httpc_closes it), or -1 with a message printed.
 */
int exchange_connect(const char *gateway, const gnutls_datum_t *root, const gnutls_datum_t *cert,
		     gnutls_privkey_t key, long timeout, struct httpc_conn **c);

/*
 * Posts the DER CSR to post_path on c and follows the answer: 200/201 give
 * the chain; 202 (with Location) and 429 are waited out (Retry-After,
 * bounded to [1, 60] s and to start + timeout on client_now's clock) and
 * polled or posted again. Returns CLIENT_OK with *chain (malloc'd PEM, the
 * caller frees it), CLIENT_PENDING at the deadline, or CLIENT_FAIL; every
 * outcome but success is printed.
 *
 * *held (when not NULL) tells whatever the result whether the gateway may
 * hold a request for csr's key: 1 once it answered with a certificate or
 * a pending request (or a POST went out and no answer, or a 5xx, came
 * back: it may have recorded it), 0 while nothing was sent or every
 * answer was a refusal (4xx) before any acceptance. A key the gateway may
 * hold is the device's identity there and must be kept for the next run.
 */
int exchange_run(struct httpc_conn *c, const struct httpc_url *gw, const char *post_path,
		 const gnutls_datum_t *csr, long timeout, double start,
		 unsigned char **chain, size_t *chain_len, int *held);

/*
 * How long to wait before asking again after a pending (202) or "slow
 * down" (429) answer r: its Retry-After bounded to [1, 60] s (5 s without
 * a usable one) and to what is left until start + timeout on client_now's
 * clock. Returns the seconds, or 0 when the deadline has passed. The EST
 * conversation (estc.c) waits by the same rule.
 */
long exchange_wait(const struct httpc_response *r, long timeout, double start);
/*
 * Copies a JSON string member "key" out of a server's answer body[0..len)
 * (an error, or a pending request's {"id": ...}) into out (n bytes,
 * NUL-terminated, cut short to fit), with every byte that is not printable
 * ASCII replaced by '?' (the text is shown on a terminal). A deliberately
 * small reader: it only has to find one flat member in bodies like
 * {"error": "x", "message": "y"}. Returns 0, or -1 (out untouched) when
 * the member is missing or not a string.
 */
int exchange_json_str(const unsigned char *body, size_t len, const char *key, char *out,
		      size_t n);
/* Sleeps s seconds, resuming after signals. */
void exchange_sleep(long s);

#endif
