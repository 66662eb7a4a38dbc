/*
 * gateway.h - the gateway's own TLS certificate.
 *
 * Owns: gateway.key and gateway.pem in the state directory: making a
 * fresh key and request for the gateway's names (the "gateway_sans"
 * setting written at init, or "gateway_sans:NAME" at a join: the
 * gateway's own settings, gateway_setting_key), having it issued with the
 * gateway profile
 * (the only profile that may carry localhost and loopback addresses),
 * and deciding when it is due for renewal (a third of its life left).
 */
#ifndef LANCA_GATEWAY_H
#define LANCA_GATEWAY_H

#include <stddef.h>
#include <time.h>
#include "daemon/issue.h"
#include "common/lerr.h"

/* Issues a new certificate with a new key and replaces gateway.key and
 * gateway.pem (chain: leaf then issuing CA) in dir. The key file is
 * written before the certificate; each replacement is atomic. */
int gateway_issue(const struct issuer *is, const char *dir, const struct ca_set *ca,
		  struct lerr *e);

/* The key of this gateway's setting base (see above) into out: base, or
 * base:NAME on a gateway that joined the site as NAME. 0 or -1 with e. */
int gateway_setting_key(const char *dir, const char *base, char *out, size_t n, struct lerr *e);

/* 1 when dir's gateway certificate has a third or less of its lifetime
 * left at now, cannot be read, or (ca not NULL) was not issued by ca's
 * issuing CA or its chain lacks the CA certificate chains carry now (a
 * rollover's start or finish switched them); 0 otherwise. */
int gateway_due(const char *dir, const struct ca_set *ca, time_t now);

#endif
