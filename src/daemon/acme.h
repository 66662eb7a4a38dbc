/*
 * acme.h - the ACME door's decisions (RFC 8555, 8737, 8738, 9773):
 * accounts and who approves them, orders and the identifiers lanca
 * takes, challenge validation, finalisation through the one issuance
 * path, revocation and renewal information.
 *
 * Owns: the account approval rules (an admin's approval, a press window
 * as a device gets one, or an admin's External Account Binding key,
 * whose MAC key is derived from the gateway's EAB secret and never
 * stored); which identifiers an order may hold (DNS names under the
 * permitted suffixes and private addresses, the device rules of
 * policy.c; no wildcards, no dns-01); the validation threads, which
 * connect from the gateway to the name asked for (acmecheck.c) and only
 * to addresses the policy permits; and the order's life from pending to
 * valid. It speaks no HTTP and reads no JWS: http/acme/ does, and hands
 * over verified accounts and payloads. Certificates are issued by
 * enroll_order(), recorded for the account as its device
 * ("acme-<account id>"), so that the names an account holds are owned
 * as a device's are.
 */
#ifndef LANCA_DAEMON_ACME_H
#define LANCA_DAEMON_ACME_H

#include <stddef.h>
#include <stdint.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/lerr.h"
#include "ca/crl.h"
#include "ca/policy.h"
#include "store/store.h"

#define ACME_DEVICE_PREFIX	"acme-"
#define ACME_ORDER_HOURS	24	/* an order and its authorisations live for */
#define ACME_VALIDATE_MS	10000	/* one validation's whole time */
#define ACME_QUEUE_MAX		256	/* validations waiting at once */
#define ACME_THREADS		2	/* validations at once */
#define ACME_QUEUE_PER_ACCOUNT	16	/* of those waiting, one account's */
#define ACME_EAB_KEY_LEN	32	/* an EAB MAC key's bytes */
#define ACME_EAB_DAYS		7	/* an EAB key can be used within */
#define ACME_EAB_SECRET		"acme-eab.secret"	/* in the state directory */

struct enroll;
struct store;
struct revocation;
struct ca_set;

struct acme_config {
	/* The ports challenges are validated on: 80 (http-01) and 443
	 * (tls-alpn-01), as RFC 8555 and 8737 fix them. Other ports are for
	 * tests only (`serve --acme-insecure-ports`). */
	uint16_t http_port, tls_port;
	unsigned validate_ms;		/* 0: ACME_VALIDATE_MS */
	const char *dir;		/* the state directory (the EAB secret) */
	/* The clock every decision reads; NULL is time(). */
	time_t (*now)(void *arg);
	void *now_arg;
};

struct acme;

/* Starts the door's decisions and its validation threads; re-queues the
 * validations a restart interrupted and fails the orders it interrupted
 * while finalizing. Everything passed must outlive it. */
int acme_new(struct enroll *en, struct store *s, const struct policy *p,
	     struct revocation *rv, const struct ca_set *ca, const struct acme_config *c,
	     struct acme **out, struct lerr *e);
void acme_free(struct acme *a);		/* stops the threads; NULL-safe */
/* The serve tick: orders and authorisations whose time is up expire. */
void acme_tick(struct acme *a);

/* in as a problem's detail that is always UTF-8 and escapes short, into
 * out (n bytes): printable ASCII, '"' and '\\' as ', anything else as
 * '?', cut with "..." to fit. */
void acme_detail_ascii(const char *in, char *out, size_t n);

/* The device id an account's certificates are recorded under. */
void acme_device_id(const char *account_id, char out[sizeof(ACME_DEVICE_PREFIX) +
						     STORE_ACME_ID_LEN]);

/* What the door did since the daemon started, for GET /metrics. */
enum acme_count {
	ACME_COUNT_HTTP01_VALID = 0,
	ACME_COUNT_HTTP01_INVALID,
	ACME_COUNT_TLSALPN01_VALID,
	ACME_COUNT_TLSALPN01_INVALID,
	ACME_COUNT_DNS01_VALID,
	ACME_COUNT_DNS01_INVALID,
	ACME_COUNT_ISSUED,		/* finalizations that issued */
	ACME_COUNT_REFUSED,		/* finalizations that did not */
	ACME_COUNTS,
};
/* One counter (relaxed atomics); 0 for a NULL door. */
uint64_t acme_count_get(const struct acme *a, enum acme_count c);
/* Accounts waiting for an admin's approval now: 0 with *n, or -1. */
int acme_waiting(struct acme *a, int64_t *n, struct lerr *e);

/* ---- accounts ---- */
/* The account of id, or of the key with thumbprint: 0 with *out
 * (acme_account_free), 1 when there is none, -1 with e. */
int acme_account_get(struct acme *a, const char *id, struct store_acme_account **out,
		     struct lerr *e);
int acme_account_by_key(struct acme *a, const char *thumbprint,
			struct store_acme_account **out, struct lerr *e);
void acme_account_free(struct store_acme_account *acct);	/* NULL-safe */
/* An admin lets a waiting account order (audited "acme-approve" by
 * actor): LERR_NOT_FOUND, or LERR_CONFLICT when it is not waiting. */
int acme_account_approve(struct acme *a, const char *id, const char *actor, struct lerr *e);
/* Every account, oldest first, until fn returns non-zero. */
int acme_account_each(struct acme *a, int (*fn)(const struct store_acme_account *acct, void *arg),
		      void *arg, struct lerr *e);
/* The word of an approval as the admin sees it: "waiting", "admin",
 * "window" or "eab". */
const char *acme_approval_str(enum store_acme_approval how);
/* The word of an ACME status ("valid", ...). */
const char *acme_status_str(enum store_acme_status st);
/* The account asks to change its contact (JSON text, NULL: kept) or to be
 * deactivated (RFC 8555 7.3.2, 7.3.6): *out is the account then. */
int acme_account_update(struct acme *a, const struct store_acme_account *acct,
			const char *contact, int deactivate, struct store_acme_account **out,
			struct lerr *e);
/* The account's key becomes jwk (RFC 8555 7.3.5): LERR_CONFLICT when
 * that key has an account already. */
int acme_account_rekey(struct acme *a, const struct store_acme_account *acct, const char *jwk,
		       const char *thumbprint, struct lerr *e);
/* Its newest orders' ids, at most n: 0 with *got. */
int acme_orders_of(struct acme *a, const struct store_acme_account *acct,
		   char (*ids)[STORE_ACME_ID_LEN + 1], size_t n, size_t *got, struct lerr *e);
struct acme_account_ask {
	const char *jwk;		/* the account key as JSON */
	const char *thumbprint;		/* its RFC 7638 thumbprint */
	const char *contact;		/* JSON array of mailto: URLs, checked here; NULL: [] */
	const char *eab_kid;		/* a binding whose MAC the caller verified, or NULL */
	const char *source;		/* the client's address */
};
/* A new account for a key without one: approved at once with an EAB key
 * or when the press window admits it (as a device: overlap holds it),
 * else waiting for an admin. *out is the new row. */
int acme_account_new(struct acme *a, const struct acme_account_ask *ask,
		     struct store_acme_account **out, struct lerr *e);
/* The MAC key of EAB key id kid (derived from the gateway's secret):
 * LERR_FORBIDDEN when there is no secret. */
int acme_eab_key(struct acme *a, const char *kid, unsigned char key[ACME_EAB_KEY_LEN],
		 struct lerr *e);
/* Makes an EAB key for `lanca acme eab new`: a new kid recorded in s,
 * and its MAC key, base64url, into key_b64 (the secret file in dir is
 * made when there is none, owned as dir is). */
int acme_eab_make(struct store *s, const char *dir, const char *actor, char kid[33],
		  char key_b64[64], int64_t *expires_at, struct lerr *e);
/* Checks a contact array (mailto: URLs only, at most 4): 0 or -1 with e
 * (LERR_BAD_REQUEST: invalidContact). */
int acme_contact_check(const json_t *contact, struct lerr *e);

/* ---- orders ---- */
/* A new order of identifiers ([{"type": "dns"|"ip", "value"}], 1 to
 * STORE_ACME_IDENTS_MAX) for an approved account. LERR_FORBIDDEN_NAME
 * (rejectedIdentifier) names a refused identifier; LERR_UNAUTHORIZED an
 * account nobody approved yet. */
int acme_order_new(struct acme *a, const struct store_acme_account *acct,
		   const json_t *identifiers, struct store_acme_order **out, struct lerr *e);
/* An order or authorisation of the account: LERR_NOT_FOUND otherwise
 * (as for one that does not exist: nobody learns another's ids). */
int acme_order_get(struct acme *a, const struct store_acme_account *acct, const char *id,
		   struct store_acme_order **out, struct lerr *e);
int acme_authz_get(struct acme *a, const struct store_acme_account *acct, const char *id,
		   struct store_acme_authz *out, struct lerr *e);
/* The challenge types an authorisation offers, into types (at most
 * ACME_CHALL_TYPES): http-01 and tls-alpn-01 always; dns-01 for a name
 * below a site domain (policy_site_name), whose zone can prove it.
 * Returns how many. */
#define ACME_CHALL_TYPES	3
size_t acme_chall_types(const struct acme *a, const struct store_acme_authz *z,
			const char *types[ACME_CHALL_TYPES]);
/* The client says challenge type of authorisation id is ready: it is
 * validated on a thread (the authorisation is processing meanwhile).
 * Asking again changes nothing. *out is the authorisation as it is. */
int acme_challenge(struct acme *a, const struct store_acme_account *acct, const char *id,
		   const char *type, struct store_acme_authz *out, struct lerr *e);
/* Deactivates an authorisation of the account (RFC 8555 section 7.5.2). */
int acme_authz_deactivate(struct acme *a, const struct store_acme_account *acct,
			  const char *id, struct store_acme_authz *out, struct lerr *e);
/* Finalizes a ready order with csr (DER): issued through enroll_order()
 * with the order's identifiers as the proven names. The order is then
 * valid; or ready again when the request was at fault (badCSR,
 * badPublicKey: a better one may follow); or invalid with the problem.
 * e says why. LERR_CONFLICT (orderNotReady) only for an order that is
 * not ready. */
int acme_finalize(struct acme *a, const struct store_acme_account *acct, const char *id,
		  const unsigned char *csr, size_t len, const char *source,
		  struct store_acme_order **out, struct lerr *e);
/* The PEM chain of a valid order's certificate, appended to pem. */
int acme_cert_chain(struct acme *a, const struct store_acme_account *acct, const char *id,
		    struct buf *pem, struct lerr *e);

/* ---- revocation and renewal information ---- */
/* Revokes the certificate der (RFC 8555 section 7.6) with reason, asked
 * by account acct (whose certificate it must be), or, when acct is NULL,
 * by a request signed with key, which must be the certificate's.
 * LERR_CONFLICT (alreadyRevoked), LERR_UNAUTHORIZED otherwise. */
int acme_revoke(struct acme *a, const struct store_acme_account *acct, gnutls_pubkey_t key,
		const unsigned char *der, size_t len, enum crl_reason reason,
		struct lerr *e);
/* RFC 9773's suggested window for certid ("AKI.serial", base64url):
 * inside the last third of the certificate's life, or, once revoked,
 * now. LERR_NOT_FOUND for a certificate lanca did not issue. */
int acme_renewal_info(struct acme *a, const char *certid, int64_t *start, int64_t *end,
		      struct lerr *e);

#endif
