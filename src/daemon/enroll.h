/*
 * enroll.h - onboarding: what happens when a device asks for a
 * certificate, when the button is pressed, and when an admin decides.
 *
 * Owns: the decisions that tie the pieces together — the request record
 * (store), the window (window.c), pre-authorisation (preauth.c), vendor
 * factory certificates (vendor.c), name and key ownership, renewal — and
 * hands every certificate to issue_cert(). The HTTP handlers, EST, the
 * control socket and the CLI call these functions and only translate
 * their results.
 */
#ifndef LANCA_ENROLL_H
#define LANCA_ENROLL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include "common/buf.h"
#include "common/metric.h"
#include "daemon/issue.h"
#include "common/lerr.h"
#include "daemon/state.h"
#include "store/store.h"
#include "daemon/window.h"

#define ENROLL_RETRY_AFTER_S	5
#define ENROLL_PENDING_DAYS	7
#define ENROLL_PEER_MAX		10

struct enroll_config {
	unsigned monitor_s;		/* how long a key counts as waiting (120) */
	unsigned pending_days;		/* a pending request expires after (7) */
	unsigned retry_after_s;		/* what pending devices are told (5) */
	unsigned renew_grace_days;	/* renewal after expiry allowed for (0) */
	/* The daemon's CRLs: a renewal, which revokes the certificate it
	 * replaces (superseded), makes a new CRL before it answers. NULL
	 * (the CLI): none is made. */
	struct revocation *revocation;
	/* The clock every decision reads, once per decision; NULL is the
	 * real one (time()). Tests pass a fake one. */
	time_t (*now)(void *arg);
	void *now_arg;
};

enum enroll_outcome {
	ENROLL_ISSUED = 1,
	ENROLL_PENDING,
	ENROLL_DENIED,
	ENROLL_EXPIRED,
};

struct enroll_result {
	enum enroll_outcome outcome;
	char request_id[STORE_REQUEST_ID_LEN + 1];	/* "" when there is none (renewal) */
	char reason[sizeof(((struct lerr *)0)->msg)];	/* why pending or denied */
	int conflict;			/* pending because a name or key is another device's */
	enum store_auth auth;		/* who vouched (STORE_AUTH_PREAUTH: the secret was right) */
	int wrong_secret;		/* a pre-authorisation secret was given and was wrong,
					 * whatever the answer (a guess to count) */
	unsigned retry_after;		/* seconds, when pending */
	struct buf chain;		/* PEM: leaf then issuing CA, when issued */
	char serial[2 * STORE_SERIAL_MAX + 1];	/* hex, when issued */
};
void enroll_result_init(struct enroll_result *r);
void enroll_result_free(struct enroll_result *r);

/* What a device sent. */
struct enroll_ask {
	const unsigned char *csr;	/* PEM or DER, untrusted */
	size_t csr_len;
	const char *source;		/* client address, for records */
	const char *secret;		/* pre-authorisation secret, may be NULL */
	const gnutls_x509_crt_t *peer;	/* TLS client chain, leaf first (may be empty) */
	unsigned npeer;
	/* The device cannot come back for its certificate (EST server-side
	 * key generation: nobody else holds the key): a request that would
	 * wait is refused (LERR_FORBIDDEN) and none is kept. */
	int no_wait;
	const char *audit_event;	/* when issued, also audited as this (or NULL) */
	enum store_door door;		/* the door it came through, kept with the request */
};

struct enroll;

/* is, ca and the window must outlive the enroll context. w may be NULL
 * (the CLI: no window, only decisions). */
int enroll_new(const struct issuer *is, const struct ca_set *ca, struct window *w,
	       const struct enroll_config *c, struct enroll **out, struct lerr *e);
void enroll_free(struct enroll *en);

/* A device asks for a certificate. */
int enroll_submit(struct enroll *en, const struct enroll_ask *a, struct enroll_result *res,
		  struct lerr *e);
/* A device polls its request. */
int enroll_poll(struct enroll *en, const char *id, struct enroll_result *res, struct lerr *e);
/* A device renews over mTLS with its current certificate (a->peer[0]),
 * which is revoked as superseded in the new certificate's transaction
 * (a crash leaves neither or both); then the CRL is made again. A
 * revoked or unknown certificate is refused (LERR_FORBIDDEN, 403). */
int enroll_renew(struct enroll *en, const struct enroll_ask *a, struct enroll_result *res,
		 struct lerr *e);
/* How a request came to be decided, or why it waits, for an admin:
 * "preauth", "vendor" (a factory certificate, auto-registered or
 * recognised and waiting), "window" (asked during the onboarding window,
 * held by an overlap), "renewal", "admin" or "none" (nothing but an
 * admin's decision or a press). Never NULL. */
const char *enroll_request_via(const struct store_request *rq);
/* The button. seconds/count 0 take the defaults. */
int enroll_press(struct enroll *en, unsigned seconds, unsigned count, const char *actor,
		 struct lerr *e);
/* A LAN server's certificate through ACME (daemon/acme.c), whose
 * account proved every name of proven with a challenge: nothing waits.
 * The request (POLICY_SERVER: its CN optional) must name exactly those
 * names (LERR_BAD_CSR otherwise, as for a key that holds another
 * device's certificate); a name that another device holds is refused
 * (LERR_FORBIDDEN) as it would wait for a device. The certificate is
 * recorded for device_id, the account ("acme-<id>"). */
struct enroll_order_ask {
	const unsigned char *csr;	/* PEM or DER, untrusted */
	size_t csr_len;
	const char *device_id;
	const struct names *proven;
	const char *source;		/* client address */
};
int enroll_order(struct enroll *en, const struct enroll_order_ask *a, struct enroll_result *res,
		 struct lerr *e);
/* An ACME account (daemon/acme.c) asks the window, as a device without
 * other authorisation does: key is its key's SHA-256 thumbprint, id the
 * account's. 1 when the window admits it (the caller approves the
 * account, or gives the admission back with enroll_window_account_failed
 * when it cannot), 0 when not (closed, or an overlap with devices or
 * other accounts asking at once: everything then waits for an admin),
 * -1 with e. */
int enroll_window_account(struct enroll *en, const unsigned char key[32], const char *id,
			  const char *actor, struct lerr *e);
void enroll_window_account_failed(struct enroll *en, const unsigned char key[32]);
/* An admin's decisions. approve issues even where a name is another
 * device's (that is the admin's decision to make). */
int enroll_approve(struct enroll *en, const char *id, const char *actor,
		   struct enroll_result *res, struct lerr *e);
int enroll_deny(struct enroll *en, const char *id, const char *reason, const char *actor,
		struct lerr *e);
/* The device requests enroll_submit and enroll_renew decided since the
 * context was made, by door, kind and how each ended, for GET /metrics:
 * one relaxed atomic addition per request. A request refused before it
 * reached a decision (rate limit, wrong media type) is the door's and is
 * not counted. */
enum enroll_tally {
	ENROLL_TALLY_ISSUED = 0,
	ENROLL_TALLY_PENDING,
	ENROLL_TALLY_DENIED,	/* an admin had denied it */
	ENROLL_TALLY_EXPIRED,	/* it had waited too long */
	ENROLL_TALLY_REFUSED,	/* the request was at fault: a 4xx (bad request, policy,
				 * conflict, wrong secret, no renewal) */
	ENROLL_TALLY_ERROR,	/* lanca was: a 5xx (the store, the signer) */
	ENROLL_TALLIES,
};
#define ENROLL_DOORS	(STORE_DOOR_EST + 1)
/* "issued", "pending", "denied", "expired", "refused", "error". */
const char *enroll_tally_str(enum enroll_tally t);
/* How many requests through door (renewals when renew is set) ended as t;
 * 0 for a NULL context or values out of range. */
uint64_t enroll_tally_get(const struct enroll *en, enum store_door door, int renew,
			  enum enroll_tally t);

/* The window as it is now (closed when there is none), and as JSON:
 * {"state", "seconds_left", "opened_at", "ends_at", "count", "admitted",
 *  "overlap_since", "overlap_keys", "contested"} (a new reference).
 * Every look at the window (these, a press, a device asking, the tick)
 * first records an end by time that nobody recorded yet: one
 * "window-closed" row per window, {"result": "issued" or "nothing",
 * "opened_at", "ends_at", "count", "admitted"}, actor "lanca". */
void enroll_window(struct enroll *en, struct window_status *st);
json_t *enroll_window_json(struct enroll *en);
/* serve_tick's look at the window, so that its end is on record even
 * when nobody asks (a failure is logged and tried again). */
void enroll_tick(struct enroll *en);

#endif
