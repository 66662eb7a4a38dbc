/*
 * issue.h - issuance: the one path from request bytes to a certificate
 * that is recorded and may be handed out.
 *
 * Owns the order SPEC.md fixes: the request is parsed and checked (for a
 * clear error before any work), a serial is reserved durably, the signer
 * builds, signs and checks the certificate, the certificate row and its
 * audit entry are committed, and only then does the caller get the
 * bytes. Refusals are audited too. Every caller (CLI, HTTP API, EST,
 * ACME, renewals, the gateway's own certificate) comes through here.
 */
#ifndef LANCA_ISSUE_H
#define LANCA_ISSUE_H

#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"
#include "common/lerr.h"
#include "ca/policy.h"
#include "daemon/state.h"

struct store_request;

struct csr;
struct names;
struct store;
struct signer;
struct store_cert;

struct issuer {
	struct store *store;
	struct signer *signer;
	const struct policy *policy;	/* for early, clear refusals */
	int64_t ca_id;			/* the issuing CA's store row */
};

struct issue_req {
	const unsigned char *csr;	/* PEM or DER, untrusted */
	size_t csr_len;
	/* The caller's parse of csr, when it has one (the enrollment paths):
	 * issue then neither parses nor checks the names again. It must be a
	 * csr_parse() of these very bytes, with the self-signature verified
	 * here when the signer is local (it signs this very parse); a
	 * remote signer verifies the bytes it is sent itself (signer_verify
	 * already did, or its ISSUE does). sans: the names
	 * policy_names() accepted for profile (NULL: checked here). */
	const struct csr *parsed;
	const struct names *sans;
	enum policy_profile profile;
	/* The device the certificate is recorded for; NULL: the request's
	 * CN (an ACME account's servers are recorded under the account). */
	const char *device_id;
	unsigned days;			/* 0 = the profile's default */
	const char *actor;		/* who asked, for the audit log: "cli", "api 10.0.0.5" */
	const char *request_id;		/* enrollment request, may be NULL */
	/* A new request decided at once, recorded with the certificate in one
	 * transaction (store_cert_submit_new); its id is request_id. NULL:
	 * request_id, if any, is a recorded pending request. */
	const struct store_request *record;
	const char *preauth_id;		/* pre-authorisation consumed with it, may be NULL */
	/* A renewal: the certificate it replaces (valid), revoked as
	 * superseded in the new one's transaction; NULL for none. */
	const unsigned char *supersedes;
	size_t supersedes_len;
	/* An admin approved request_id: its "approve" audit row is written
	 * in the certificate's own transaction (no certificate without it). */
	int approved;
	/* The names must be the device's alone when the certificate is
	 * recorded (store_cert's exclusive): every path whose decision
	 * checked them (not an admin's, who decides over conflicts). */
	int exclusive;
	/* The client address the device asked from ("192.0.2.7"), kept with
	 * the certificate for the LAN's DNS (daemon/hosts.h); NULL: none. */
	const char *address;
	int64_t now;			/* the decision's clock (0: read the real one) */
};

/* Issues a certificate. On success *out is the committed row (with the
 * DER); free it with store_cert_free. The row's key id and names are read
 * back from the certificate the signer made, which must be for the
 * parsed request's key (else LERR_INVARIANT, nothing recorded). */
int issue_cert(const struct issuer *is, const struct issue_req *r,
	       struct store_cert **out, struct lerr *e);

/* The same in two halves, so that one thread can sign the next
 * certificate while the previous one is being committed: submit parses,
 * reserves, signs and queues the commit; finish waits until the row is
 * durable, then hands it over (*out, as issue_cert) and frees p. Every
 * submitted certificate must be finished. */
struct issue_pending;
int issue_cert_submit(const struct issuer *is, const struct issue_req *r,
		      struct issue_pending **p, struct lerr *e);
int issue_cert_finish(struct issue_pending *p, struct store_cert **out, struct lerr *e);

/* Appends the PEM chain a client gets: the leaf, then its issuing CA. For
 * a leaf of ca's issuing CA, that CA as chains carry it (state.h's
 * ca_set: during a rollover the old root's certificate of it, which every
 * device can verify); for one of another (an earlier generation's, or
 * another gateway's of the site), that CA's own certificate from s. 0 or
 * -1 with e. */
int issue_chain_pem(struct store *s, const struct store_cert *c, const struct ca_set *ca,
		    struct buf *out, struct lerr *e) LANCA_WUR;
/* Appends the leaf alone, as it begins that chain. */
int issue_cert_pem(const struct store_cert *c, struct buf *out) LANCA_WUR;

#endif
