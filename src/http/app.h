/*
 * app.h - what the network-facing daemon's request handlers share.
 *
 * Owns: nothing; it is the bag of handles `lanca serve` builds once and
 * hands to httpd.c. Every member is safe to use from any request thread
 * (the store and the signer client do their own locking; the rest is
 * read-only after start-up).
 */
#ifndef LANCA_APP_H
#define LANCA_APP_H

#include <stdint.h>
#include "daemon/state.h"
#include "ca/policy.h"

struct store;
struct signer;
struct enroll;
struct revocation;
struct ratelimit;
struct ratelimit_fails;

struct backupsched;
struct acme;
struct acme_nonces;

struct app {
	const char *dir;		/* state directory */
	const char *web_dir;		/* static files for GET / */
	struct store *store;
	struct signer *signer;
	struct enroll *enroll;		/* onboarding: window, requests, decisions */
	struct revocation *revocation;	/* the CRLs: made at every revocation */
	/* The CRLs of the issuing CA a rollover succeeded (its leaves point
	 * at them until they expire), or NULL. */
	struct revocation *revocation_prev;
	struct ratelimit *ratelimit;	/* per-address limit on enrollment requests */
	struct ratelimit_fails *login_fails;	/* failed admin logins per address */
	struct ratelimit_fails *secret_fails;	/* wrong pre-authorisation secrets per address */
	const char *est_label;		/* the CA's EST label (/.well-known/est/LABEL/), or NULL */
	int est_require_binding;	/* EST requests must carry the channel binding */
	int est_serverkeygen;		/* EST serverkeygen is on */
	struct ca_set ca;		/* root and issuing CA, read-only */
	struct policy policy;		/* from the issuing CA's constraints */
	uint16_t https_port;		/* for redirects from plain HTTP */
	uint16_t http_port;
	time_t started;
	struct backupsched *backups;	/* scheduled backups, or NULL */
	struct acme *acme;		/* the ACME door's decisions, or NULL (no ACME) */
	struct acme_nonces *acme_nonces;	/* its nonces */
};

#endif
