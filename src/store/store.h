/*
 * store.h - the store: the one interface the rest of lanca sees. Every SQL
 * statement lanca runs lives in this folder, all of them prepared: engine.c
 * (connections, writer, serials, settings), certs.c (CAs, certificates),
 * requests.c, devices.c (pre-authorisations, vendors), admins.c, audit.c
 * and migrate.c (the schema). A second engine (PostgreSQL) will sit
 * behind this same header.
 *
 * Owns: the database connections, the single writer thread and its group
 * commit, serial reservation, and the rows for CAs, certificates, requests,
 * settings and the append-only audit log.
 *
 * Concurrency: any number of threads may call any function at once. Reads
 * use a small pool of read-only connections (WAL readers never block the
 * writer). Every write is a job handed to one writer thread, which runs all
 * jobs queued at that moment inside one transaction (synchronous=FULL) and
 * wakes each caller only after COMMIT returned: a caller never learns of
 * success before its row is durable, and concurrent issuances share one
 * fsync. A job that fails is rolled back alone (SAVEPOINT per job).
 *
 * A later store (PostgreSQL, for multi-gateway sites) implements this same
 * interface; nothing outside engine.c knows it is SQLite.
 */
#ifndef LANCA_STORE_H
#define LANCA_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "common/lerr.h"
#include "ca/crl.h"
#include "ca/policy.h"

#define STORE_FILE		"lanca.db"
#define STORE_SERIAL_MAX	20
#define STORE_SERIAL_LEN	20	/* = X509_SERIAL_LEN */
#define STORE_REASON_MAX	255	/* bytes of a revocation's comment */

struct store;
struct store_request;

enum store_open_flags {
	STORE_CREATE = 1 << 0,		/* create the file if missing (init only) */
	STORE_READONLY = 1 << 1,	/* no writer thread; writes fail */
};

/* Opens path, applies missing migrations (each in its own transaction),
 * refuses a database whose schema is newer than this binary. */
int store_open(const char *path, unsigned flags, struct store **out, struct lerr *e);
/* Names the gateway of a shared site this store serves (its gateway.name;
 * "" for the site's first gateway), before any other use: store_ca_active
 * finds that gateway's issuing CA. 0 or -1 with e. */
#define STORE_GATEWAY_MAX	63
int store_set_gateway(struct store *s, const char *name, struct lerr *e);
void store_close(struct store *s);	/* NULL-safe; drains the writer first */
/* A consistent copy of the database as of one commit, made while others
 * write (SQLite's online backup), into a new file dest that is one file
 * (no WAL). 0 or -1 with e. */
int store_snapshot(struct store *s, const char *dest, struct lerr *e);
/* PRAGMA integrity_check of the database file at path, opened read-only;
 * 0, or -1 with e quoting the first problem. */
int store_check_file(const char *path, struct lerr *e);
int store_schema_version(struct store *s, int *version);

/* What the writer did since the store was opened: for benchmarks and the
 * daemon's counters. Frames are whole pages appended to the WAL, each
 * page_size bytes plus a 24-byte header (wal_bytes counts both). */
struct store_stats {
	uint64_t commits;		/* write transactions committed */
	uint64_t jobs;			/* writer jobs run in them */
	uint64_t wal_frames, wal_bytes;
	uint64_t checkpoints;		/* checkpoints run */
	uint64_t checkpointed_pages;	/* pages they copied into the database */
	uint64_t page_size;
};
void store_stats(struct store *s, struct store_stats *out);

/* ---- a store several gateways share ----
 * store_shared: 1 when gateways may share the store's database
 * (PostgreSQL): what belongs to the site, not to one gateway (the
 * onboarding window), then lives in the store. store_site_lock: the
 * site's lock, for a decision that reads, decides and writes back what
 * the gateways share: one holder at a time in the whole site, across
 * statements and transactions, until store_site_unlock (or the holder's
 * death). Within one process it is a mutex as well; on a store nobody
 * shares, only that. 0, or -1 with e (the lock's connection failed). */
int store_shared(const struct store *s);
int store_site_lock(struct store *s, struct lerr *e);
void store_site_unlock(struct store *s);

/* ---- states: enums in memory, TEXT in the schema ----
 * Decisions compare these enums, never the text. Each has one table
 * (states.c) mapping it to the word the schema stores and clients see;
 * *_parse() maps back (0, or -1 for a word that is not one). */
enum store_req_state {
	STORE_REQ_ANY = 0,		/* listing filter only: every state */
	STORE_REQ_PENDING,
	STORE_REQ_ISSUED,
	STORE_REQ_DENIED,
	STORE_REQ_EXPIRED,
};
/* Who vouched for a request besides an admin's approval. */
enum store_auth {
	STORE_AUTH_NONE = 0,		/* nobody yet: the button or an admin decides */
	STORE_AUTH_PREAUTH,		/* listed by a bulk import */
	STORE_AUTH_VENDOR,		/* a factory certificate of an auto-registering vendor */
	STORE_AUTH_RENEWAL,		/* the device's current certificate */
	STORE_AUTH_ADMIN,		/* an admin */
};
enum store_cert_status {
	STORE_CERT_VALID = 0,
	STORE_CERT_REVOKED,
};
/* The door a request came through. */
enum store_door {
	STORE_DOOR_API = 0,		/* lanca's API (POST /api/v1/enroll) */
	STORE_DOOR_EST,			/* EST (RFC 7030) */
};
const char *store_req_state_str(enum store_req_state st);	/* "pending", ... */
int store_req_state_parse(const char *s, enum store_req_state *out);
const char *store_auth_str(enum store_auth a);			/* "none", "preauth", ... */
int store_auth_parse(const char *s, enum store_auth *out);
const char *store_cert_status_str(enum store_cert_status st);	/* "valid", "revoked" */
int store_cert_status_parse(const char *s, enum store_cert_status *out);
const char *store_door_str(enum store_door d);			/* "api", "est" */
int store_door_parse(const char *s, enum store_door *out);
const char *store_profile_str(enum policy_profile p);		/* "device", "gateway" */
int store_profile_parse(const char *s, enum policy_profile *out);

/* ---- pages: how every listing is read ----
 * A listing hands out its rows a page at a time, newest first: at most
 * limit rows (1 to STORE_PAGE_MAX) that come after position after (0:
 * from the newest). next receives the position the following page starts
 * after, or 0 when this page was the last. A position is the row's own
 * key in the table (its rowid), so a page is one range of the table or
 * of an index, whatever the store's size: no OFFSET, no sort. Rows added
 * while a caller pages are newer than any position it holds: they show
 * on a new first page, never twice nor in the middle. */
#define STORE_PAGE_MAX		1000

struct store_page {
	int64_t after;			/* in: 0, or the previous page's next */
	size_t limit;			/* in: 1 to STORE_PAGE_MAX */
	int64_t next;			/* out: 0 when no row follows */
};

/* ---- CAs ---- */
struct store_ca {
	int64_t id;
	char role[16];		/* "root", "issuing", "backup-root" */
	char state[16];		/* "active", "retired", "offline" (key not here) */
	char subject[256];
	char fingerprint[65];	/* SHA-256 of the DER, hex */
	int64_t not_before, not_after;
	unsigned char *der;	/* owned */
	size_t der_len;
	int64_t confirmed_at;	/* offline: when the admin confirmed its key
				 * was stored (0: not yet) */
	char crl_url[256];	/* issuing: the CRL distribution point of its leaves ("" for none) */
	int64_t revoked_at;	/* issuing: revoked (a compromise), else 0 */
	int64_t distrusted_at;	/* root: to be dropped by devices (a compromise), else 0 */
	char gateway[STORE_GATEWAY_MAX + 1];	/* issuing: the gateway holding its key
						 * ("" for the site's) */
};
void store_ca_free(struct store_ca *ca);	/* NULL-safe, frees der and ca */
/* Inserts a CA row (state "active"); *id receives its rowid. Durable. */
int store_ca_insert(struct store *s, const char *role, const char *subject,
		    const char *fingerprint, int64_t not_before, int64_t not_after,
		    const unsigned char *der, size_t der_len, int64_t *id, struct lerr *e);
/* Inserts a CA whose key is not on this machine (state "offline"), with
 * cross, the certificate by which the primary root (store_ca_active's
 * "root") vouches for its key (required; recorded in crosses). Audited
 * "ca-create"; durable. */
int store_ca_insert_offline(struct store *s, const char *role, const char *subject,
			    const char *fingerprint, int64_t not_before, int64_t not_after,
			    const unsigned char *der, size_t der_len, const unsigned char *cross,
			    size_t cross_len, int64_t *id, struct lerr *e);
/* The active CA of a role; -1 with LERR_NOT_FOUND if none. Of several
 * active roots the primary (STORE_PRIMARY_ORDER): during a rollover the
 * old root, which every device still trusts, until it is finished. The
 * issuing CA is the store's gateway's own (store_set_gateway) when it has
 * one, else the site's (a cas row without a gateway). */
int store_ca_active(struct store *s, const char *role, struct store_ca **out, struct lerr *e);
/* The CA of row id; -1 with LERR_NOT_FOUND if none. */
int store_ca_get(struct store *s, int64_t id, struct store_ca **out, struct lerr *e);
/* The newest CA of a role in a state ("offline"...); -1 with LERR_NOT_FOUND
 * if none. */
int store_ca_find(struct store *s, const char *role, const char *state, struct store_ca **out,
		  struct lerr *e);
/* Records that the admin stored offline CA id's key (confirmed_at = now)
 * with its audit row "backup-root-confirm" (actor, subject, detail) in
 * the same transaction. LERR_CONFLICT if it was confirmed already. */
int store_ca_confirm(struct store *s, int64_t id, const char *actor, int64_t now,
		     const char *subject, const char *detail, struct lerr *e);

/* ---- serials ---- */
/* Hands out a fresh serial (STORE_SERIAL_LEN bytes: 4 that grow with time,
 * first byte 0x40..0x7f, then 128 random bits) that is recorded durably as reserved and is unique among all serials
 * ever reserved. Serials are reserved in batches so that the fsync is
 * shared; a drawn serial that already exists is redrawn. */
int store_serial_reserve(struct store *s, unsigned char serial[STORE_SERIAL_LEN], struct lerr *e);
/* Tests only: replace the random source (NULL restores libsodium). */
void store_set_random(struct store *s, void (*fill)(void *buf, size_t n));

/* ---- certificates ---- */
struct store_cert {
	int64_t id;
	unsigned char serial[STORE_SERIAL_MAX];
	size_t serial_len;
	int64_t ca_id;			/* issuing CA row */
	char device_id[65];		/* subject CN */
	char subject[256];
	char *sans;			/* "DNS:a,IP:10.0.0.2" (owned) */
	enum policy_profile profile;
	enum store_cert_status status;
	int64_t not_before, not_after, issued_at, revoked_at;
	unsigned char key_id[32];	/* SHA-256 of the SubjectPublicKeyInfo */
	char request_id[65];		/* enrollment request, "" when none */
	char preauth_id[65];		/* pre-authorisation consumed, "" when none */
	enum crl_reason revoke_reason;	/* when revoked (RFC 5280's code) */
	char revoke_comment[STORE_REASON_MAX + 1];	/* "" when none */
	unsigned char *der;		/* owned */
	size_t der_len;
	/* Insertion only (never read back): the certificate this one
	 * replaces (a renewal), revoked as superseded in the new one's
	 * transaction; supersedes_len 0 for none. */
	unsigned char supersedes[STORE_SERIAL_MAX];
	size_t supersedes_len;
	/* Insertion only: an admin approved request_id; the "approve" audit
	 * row ({"request", "serial"}) is written in the same transaction. */
	int approved;
	/* Insertion only: no other device may hold any of the names in a
	 * valid certificate when this one is committed. The caller checked on
	 * its snapshot; the store checks again under the database's write
	 * lock, so two requests racing for one name (through one gateway or
	 * two sharing a database) cannot both win: the later one fails with
	 * LERR_CONFLICT naming the name's holder. */
	int exclusive;
	/* Insertion only: the client address the device asked from
	 * ("192.0.2.7"), "" when none (store_host_names reads it). */
	char address[64];
};
void store_cert_free(struct store_cert *c);
/* Inserts a certificate row, marks its serial used, records each of its
 * names for ownership look-ups, and appends an "issue" audit row (actor),
 * all in one transaction; returns once durable. With supersedes set, that
 * certificate (which must be valid) is revoked as superseded, with its
 * "revoke" audit row, in the same transaction. With request_id set, the
 * request (which must be pending) becomes "issued" in the same
 * transaction; with preauth_id set, that pre-authorisation (which must be
 * unused) is consumed in it. LERR_CONFLICT if the serial was not reserved
 * or is used, the request is no longer pending, the pre-authorisation
 * was used already, or the superseded certificate is no longer valid:
 * nothing is written then. */
int store_cert_insert(struct store *s, const struct store_cert *c, const char *actor, struct lerr *e);
/* The same, in two halves: submit queues the insertion and returns at once;
 * the row is durable (or refused) when store_ticket_wait returns, which
 * also frees the ticket. c and actor must stay valid until then. One
 * thread may keep several certificates in flight this way. */
struct store_ticket;
int store_cert_submit(struct store *s, const struct store_cert *c, const char *actor,
		      struct store_ticket **t, struct lerr *e);
int store_ticket_wait(struct store_ticket *t, struct lerr *e);
/* store_cert_submit for a request decided at once (pre-authorised, a
 * vendor's device): rq, a new request for the certificate's key whose id
 * (from store_request_new_id) is c->request_id, is recorded as issued,
 * with its "enroll" audit row, in the certificate's own transaction, so
 * that the request and its certificate cost one commit and each page is
 * written once. LERR_CONFLICT, and nothing written, when the key has a
 * pending or issued request by then (a second ask raced this one). rq
 * must stay valid until the wait. */
int store_cert_submit_new(struct store *s, const struct store_cert *c,
			  const struct store_request *rq, const char *actor,
			  struct store_ticket **t, struct lerr *e);
int store_cert_by_serial(struct store *s, const unsigned char *serial, size_t len,
			 struct store_cert **out, struct lerr *e);
/* Calls fn for each certificate of a page (see "pages"), newest issued
 * first; fn returns non-zero to stop, and next then points after the
 * row it was given. The row is only valid during the call. */
int store_cert_page(struct store *s, struct store_page *pg,
		    int (*fn)(const struct store_cert *c, void *arg), void *arg, struct lerr *e);
int store_cert_count(struct store *s, int64_t *n, struct lerr *e);
/* The newest certificate for a key (any status); LERR_NOT_FOUND if none. */
int store_cert_by_key(struct store *s, const unsigned char key_id[32],
		      struct store_cert **out, struct lerr *e);
/* Ownership: the device id other than device_id that holds name ("DNS:x"
 * or "IP:a.b.c.d", as names_format writes it) in a certificate that is
 * valid and unexpired at now. Returns 1 and fills owner when there is
 * one, 0 when there is none, -1 on error. */
int store_name_owner(struct store *s, const char *name, const char *device_id, int64_t now,
		     char owner[65], struct lerr *e);
/* Likewise for a key: the other device id holding a valid, unexpired
 * certificate for key_id. */
int store_key_owner(struct store *s, const unsigned char key_id[32], const char *device_id,
		    int64_t now, char owner[65], struct lerr *e);
/* 1 when device_id holds a valid, unexpired certificate under a key other
 * than key_id (a new key claiming a known device id), 0 when not, -1 on
 * error. */
int store_device_holder(struct store *s, const char *device_id, const unsigned char key_id[32],
			int64_t now, struct lerr *e);
/* A revocation: why (RFC 5280's code), an admin's comment (NULL or at
 * most STORE_REASON_MAX bytes, kept with the certificate and in the audit
 * row), who and when (0: the real clock). */
struct store_revocation {
	enum crl_reason reason;
	const char *comment;
	const char *actor;
	int64_t now;
};
/* Marks a certificate revoked and appends its "revoke" audit row
 * ({"serial", "reason", "comment"}), in one job; durable on return.
 * LERR_NOT_FOUND for an unknown serial, LERR_CONFLICT when it is revoked
 * already, LERR_BAD_REQUEST for a reason or comment out of bounds. */
int store_cert_revoke(struct store *s, const unsigned char *serial, size_t len,
		      const struct store_revocation *r, struct lerr *e);
/* Revokes every certificate of device_id that is valid and unexpired at
 * r->now, each with its "revoke" audit row, in one job: all or none.
 * serials (may be NULL) receives the first max of their serials in hex,
 * *n how many were revoked. LERR_NOT_FOUND when the device has no
 * certificate at all, LERR_CONFLICT when none of them is valid. */
int store_device_revoke(struct store *s, const char *device_id, const struct store_revocation *r,
			char (*serials)[2 * STORE_SERIAL_MAX + 1], size_t max, size_t *n,
			struct lerr *e);

/* ---- CA generations (schema/0011): every CA, the certificates by which
 * roots vouch for each other, root rollovers, trust bundle fetches ---- */
#define STORE_CAS_MAX		256	/* CA rows (and vouchers) a site keeps: a
					 * rollover adds two CAs and up to six
					 * vouchers, a gateway joining with a CA
					 * of its own one CA */
/* Every CA on record, oldest first, into out[0..*n) (each store_ca_free'd
 * by store_ca_list_free). LERR_INVARIANT past max. */
int store_ca_list(struct store *s, struct store_ca **out, size_t max, size_t *n, struct lerr *e);
void store_ca_list_free(struct store_ca **v, size_t n);

struct store_cross {
	int64_t id;
	int64_t issuer_id;		/* the root whose key signed it */
	int64_t subject_id;		/* the root whose subject and key it carries */
	unsigned char *der;		/* owned */
	size_t der_len;
};
/* Sets issuing CA id's CRL distribution point (`lanca init`). */
int store_ca_set_crl_url(struct store *s, int64_t id, const char *url, struct lerr *e);

/* Every voucher on record, oldest first (store_cross_clear). */
int store_cross_list(struct store *s, struct store_cross *out, size_t max, size_t *n,
		     struct lerr *e);
void store_cross_clear(struct store_cross *v, size_t n);

struct store_rollover {
	int64_t id;
	int64_t old_root, old_issuing, new_root, new_issuing;	/* cas rows */
	int compromise;			/* the old generation was revoked and distrusted */
	int64_t started_at, finished_at;	/* finished_at 0: under way */
};
/* The newest rollover; -1 with LERR_NOT_FOUND when there was none. */
int store_rollover_newest(struct store *s, struct store_rollover *out, struct lerr *e);

/* A CA certificate to record. */
struct store_ca_new {
	const char *subject, *fingerprint;
	int64_t not_before, not_after;
	const unsigned char *der;
	size_t der_len;
};
/* Records gateway's own issuing CA c (active, CRL URL crl_url) and
 * audits it ("gateway-ca", actor, detail) in one transaction; an active
 * one of the same gateway's from a join that did not finish is retired.
 * *id receives the row. Durable. 0 or -1 with e. */
int store_ca_join(struct store *s, const char *gateway, const struct store_ca_new *c,
		  const char *crl_url, const char *actor, const char *detail, int64_t *id,
		  struct lerr *e);
/* Retires gateway's issuing CA of row id, or with id 0 every active one
 * recorded for gateway while no gateway of that name has joined (a join
 * that did not finish), with a "gateway-ca-retire" audit row when there
 * was one. A joined gateway's CA is never retired by id 0. 0 or -1. */
int store_ca_retire_gateway(struct store *s, const char *gateway, int64_t id,
			    const char *actor, struct lerr *e);
/* The site's issuing CAs in use, oldest first: active, not revoked, the
 * site's own and the joined gateways' (store_ca_list_free them).
 * LERR_INVARIANT past max. */
int store_ca_site_issuing(struct store *s, struct store_ca **out, size_t max, size_t *n,
			  struct lerr *e);
/* How many gateways joined the site (`lanca join`, the first not
 * counted). 0 or -1 with e. */
int store_gateway_count(struct store *s, int64_t *n, struct lerr *e);
/* A gateway that joined the site, as `lanca gateway list` shows it. */
struct store_gateway {
	char name[STORE_GATEWAY_MAX + 1];
	int64_t joined_at;
	char ca_subject[256];		/* its own issuing CA in use ("": the site's) */
	char ca_fingerprint[65];
};
/* Calls fn for each gateway that joined the site, by name; fn returns
 * non-zero to stop. 0 or -1 with e. */
typedef int (*store_gateway_fn)(const struct store_gateway *gw, void *arg);
int store_gateway_each(struct store *s, store_gateway_fn fn, void *arg, struct lerr *e);
/* Removes gateway from the site (`lanca gateway remove`): its join, its
 * own settings, and its own issuing CA retired, with a "gateway-remove"
 * audit row, in one transaction. Its certificates stay as they are.
 * LERR_NOT_FOUND when no gateway of that name joined. 0 or -1 with e. */
int store_gateway_remove(struct store *s, const char *gateway, const char *actor,
			 struct lerr *e);

#define STORE_ROLL_VOUCHERS_MAX	4
/* What `lanca rollover start` records, all in one transaction. */
struct store_rollover_start {
	int64_t old_root, old_issuing;	/* the generation succeeded */
	int64_t backup_id;		/* the backup root that becomes the new root, or 0 */
	struct store_ca_new root;	/* the new root, when backup_id is 0 */
	struct store_ca_new issuing;	/* the new issuing CA */
	const char *crl_url;		/* its CRL distribution point ("" for none) */
	/* NewWithOld (the new root's key, signed by the old root; with
	 * backup_id, NULL: the backup's voucher is on record already) and
	 * OldWithNew (the old root's key under the new root; NULL after a
	 * compromise, whose old root nobody should trust again). */
	const unsigned char *new_with_old, *old_with_new;
	size_t new_with_old_len, old_with_new_len;
	/* The old root's certificate of the new issuing CA, which chains
	 * carry while the old root is the primary (NULL after a compromise). */
	const unsigned char *issuing_by_old;
	size_t issuing_by_old_len;
	/* The new root's vouchers for the backup roots that stay. */
	struct { int64_t subject_id; const unsigned char *der; size_t len; }
		vouch[STORE_ROLL_VOUCHERS_MAX];
	size_t nvouch;
	int compromise;			/* also revoke every older issuing CA and its
					 * valid leaves, distrust old_root; recorded
					 * as finished at once */
	const char *actor, *detail;	/* the "rollover-start" audit row */
	int64_t now;
	/* out: */
	int64_t id, new_root, new_issuing;
};
/* Records a rollover: LERR_CONFLICT (nothing written) while another is
 * under way or when backup_id is not an offline backup root. */
int store_rollover_start(struct store *s, struct store_rollover_start *r, struct lerr *e);
/* Ends rollover id: its old root retired (out of the bundle), audited
 * "rollover-finish". LERR_CONFLICT when it is not under way. */
int store_rollover_finish(struct store *s, int64_t id, const char *actor, const char *detail,
			  int64_t now, struct lerr *e);

/* Device counts for `lanca rollover status`, at now: devices holding a
 * valid certificate; of them, those whose newest is under issuing CA
 * new_issuing; and those that fetched the trust bundle since since (the
 * rollover's start: every bundle since holds the new root). */
struct store_roll_counts { int64_t devices, renewed, refreshed; };
int store_rollover_counts(struct store *s, int64_t new_issuing, int64_t since, int64_t now,
			  struct store_roll_counts *out, struct lerr *e);
/* Records that device_id fetched a bundle led by root primary_fp at at
 * (one row per device, the newest kept). Not audited: a fetch changes
 * nothing a device is trusted with. */
int store_trust_fetch(struct store *s, const char *device_id, const char *primary_fp,
		      int64_t at, struct lerr *e);

/* ---- CRLs (schema/0007): every CRL published, numbered 1, 2, ... ---- */
struct store_crl {
	int64_t number;			/* the CRL number */
	int64_t ca_id;			/* the issuing CA that signed it */
	int64_t this_update, next_update, created_at;
	int64_t entries;		/* certificates it lists */
	int64_t revocations;		/* revoked certificates on record when made */
	unsigned char *der;		/* owned */
	size_t der_len;
};
void store_crl_free(struct store_crl *c);	/* NULL-safe */
/* The newest CRL (the highest number) of issuing CA ca_id, or of any CA
 * when ca_id is 0; -1 with LERR_NOT_FOUND when none was made yet. *out is
 * the caller's. With der 0 the DER is not read (out->der NULL): what a
 * metric needs costs no blob. Numbers are one sequence across CAs. */
int store_crl_newest(struct store *s, int64_t ca_id, int with_der, struct store_crl **out,
		     struct lerr *e);
/* Records c (c->number must be the newest's plus one, or 1 for the
 * first: LERR_CONFLICT otherwise, nothing written) with its "crl" audit
 * row ({"number", "entries", "next_update"}) as actor, in one job;
 * durable on return. */
int store_crl_insert(struct store *s, const struct store_crl *c, const char *actor,
		     struct lerr *e);
/* What a CRL of CA ca_id lists at now, from one snapshot: the revoked
 * certificates it issued that have not expired, oldest revocation
 * first, at most max into out; *n is how many were found, max + 1 when
 * more than max exist (they do not fit), *revocations how many
 * certificates are revoked on record (of any CA, expired or not). */
int store_crl_entries(struct store *s, int64_t ca_id, int64_t now, struct crl_entry *out,
		      size_t max, size_t *n, int64_t *revocations, struct lerr *e);
/* How many certificates are revoked on record (see crls.revocations). */
int store_revocations(struct store *s, int64_t *n, struct lerr *e);

/* ---- the inventory: certificates searched, filtered and sorted ----
 * A page (see "pages") in one of three orders, each one range of an
 * index after the cursor's row: issued (the order of issuance: the
 * table itself), expires (certificates_not_after) and device
 * (certificates_device_id); revoked ones alone come from the partial
 * indexes of schema/0006. ascending reverses the order. A position
 * is still a certificate's id: the page after it starts after that
 * row's place in the order. */
enum store_cert_sort {
	STORE_SORT_ISSUED = 0,
	STORE_SORT_EXPIRES,
	STORE_SORT_DEVICE,
};
#define STORE_SEARCH_MAX	64	/* bytes of a search text */
struct store_cert_filter {
	/* NULL or "": every certificate. Else the certificates whose
	 * device id starts with it, one of whose names (DNS or IP) starts
	 * with it ignoring ASCII case, or whose serial in hex starts with
	 * it. Each is one range of an index; the matches are then sorted,
	 * so a page costs the number of matches, not the store's size. */
	const char *q;
	int status;			/* -1: any; else an enum store_cert_status */
	enum store_cert_sort sort;
	int ascending;			/* smallest first (the default is newest first) */
};
int store_cert_find(struct store *s, const struct store_cert_filter *f, struct store_page *pg,
		    int (*fn)(const struct store_cert *c, void *arg), void *arg,
		    struct lerr *e);
/* ---- the shell's inventory (lanca list): certificates of one device,
 * and certificates by their expiry ----
 * A page (see "pages") of the certificates whose not_after is in [from,
 * until) and, when set, of one status and of one device, in one of three
 * orders. Each is one range of an index or of the table:
 *   STORE_RANGE_ISSUED, newest issued first: with a device, the range of
 *     certificates_device_id that holds its rows (a device has few);
 *     without one, the table newest first, skipping rows that do not
 *     match (meant for filters most rows pass, such as valid and
 *     unexpired: a rare match costs the rows walked past to reach it);
 *   STORE_RANGE_EXPIRES_ASC, soonest expiring first, and
 *   STORE_RANGE_EXPIRES_DESC, latest expiring first: the range [from,
 *     until) of certificates_not_after, the device and status checked on
 *     each row of it (no device is allowed with these: see the above).
 * A position is a certificate's id, as for store_cert_find. */
enum store_range_order {
	STORE_RANGE_ISSUED = 0,
	STORE_RANGE_EXPIRES_ASC,
	STORE_RANGE_EXPIRES_DESC,
};
struct store_cert_range {
	const char *device;		/* NULL or "": any; else exactly this device id */
	int status;			/* -1: any; else an enum store_cert_status */
	int64_t from, until;		/* not_after in [from, until): from < until */
	enum store_range_order order;
};
int store_cert_range(struct store *s, const struct store_cert_range *r, struct store_page *pg,
		     int (*fn)(const struct store_cert *c, void *arg), void *arg,
		     struct lerr *e);
/* Counts of valid certificates expiring in n consecutive spans of width
 * seconds from start (revoked ones are not counted), and of certificates
 * issued in n spans likewise. counts[n] are set. */
int store_cert_expiring(struct store *s, int64_t start, int64_t width, size_t n,
			int64_t *counts, struct lerr *e);
/* How many valid certificates expire in [from, to): two counts over
 * indexes, never a row of the table, so it costs the same few
 * milliseconds per 100,000 certificates in the range whatever they are
 * (store_cert_expiring reads each row for its status). */
int store_cert_expiring_count(struct store *s, int64_t from, int64_t to, int64_t *n,
			      struct lerr *e);
int store_cert_issued(struct store *s, int64_t start, int64_t width, size_t n,
		      int64_t *counts, struct lerr *e);
/* Certificates valid (not revoked) and unexpired at now, and revoked. */
int store_cert_totals(struct store *s, int64_t now, int64_t *valid, int64_t *revoked,
		      struct lerr *e);

/* ---- enrollment requests ---- */
#define STORE_REQUEST_ID_LEN	32	/* hex: 32 bits of time, 96 random bits */
#define STORE_PENDING_MAX	10000	/* pending requests at most; more: 503 */

struct store_request {
	char id[STORE_REQUEST_ID_LEN + 1];
	unsigned char key_id[32];	/* SHA-256 of the request's SubjectPublicKeyInfo */
	char device_id[65];
	unsigned char *csr;		/* owned; the request as received */
	size_t csr_len;
	enum store_req_state state;
	enum store_auth auth;
	enum store_door door;		/* the door it came through (last, when asked again) */
	char source[64];		/* client address */
	char reason[512];			/* why it waits or was denied, "" when none */
	int64_t created_at;		/* first asked */
	int64_t last_seen;		/* last asked (POST again or poll) */
	int64_t expires_at;		/* a pending request expires then */
	int64_t cert_id;		/* the certificate once issued, else 0 */
	int contested;			/* admitted, then another key asked in the window */
};
void store_request_free(struct store_request *r);	/* NULL-safe */

/* Records a request. If a request for the same key that is pending or
 * issued exists already, refreshes its last_seen (and source) instead and
 * returns that one with *created = 0: a device asking again never makes
 * a second request. A new one gets a fresh random id, state "pending",
 * and an "enroll" audit row. A non-empty in->reason becomes the pending
 * request's note in the same job. *out is owned by the caller. */
int store_request_upsert(struct store *s, const struct store_request *in,
			 struct store_request **out, int *created, struct lerr *e);
/* A new request's id: the time first asked (8 hex digits), 96 random bits. */
void store_request_new_id(int64_t now, char id[STORE_REQUEST_ID_LEN + 1]);
int store_request_get(struct store *s, const char *id, struct store_request **out,
		      struct lerr *e);
/* Refreshes last_seen (a poll). */
int store_request_touch(struct store *s, const char *id, int64_t now, struct lerr *e);
/* pending -> denied with a reason (shown to the device), audited "deny". */
int store_request_deny(struct store *s, const char *id, const char *reason,
		       const char *actor, struct lerr *e);
/* Sets the reason a pending request waits ("overlap", "name owned by ..."). */
int store_request_note(struct store *s, const char *id, const char *reason, struct lerr *e);
/* Marks an issued request contested, audited "contested". */
int store_request_contest(struct store *s, const char *id, const char *actor, struct lerr *e);
/* Keys that are waiting at now: pending, auth "none", last_seen >= since,
 * holding no valid certificate, and not for a device id whose certificate
 * was revoked (store_onboard's device_revoked): an admin decides those. Fills at most max ids (the request
 * ids) in keys order of first ask; *n is the number found (may exceed max). */
int store_waiting(struct store *s, int64_t since, int64_t now,
		  char (*ids)[STORE_REQUEST_ID_LEN + 1], unsigned char (*keys)[32],
		  size_t max, size_t *n, struct lerr *e);
/* Calls fn for each request of a page (see "pages") in state
 * (STORE_REQ_ANY: every state), newest recorded first; fn as for
 * store_cert_page. */
int store_request_page(struct store *s, enum store_req_state state, struct store_page *pg,
		       int (*fn)(const struct store_request *r, void *arg), void *arg,
		       struct lerr *e);
/* How many requests are pending. */
int store_request_count_pending(struct store *s, int64_t *n, struct lerr *e);
/* Pending requests past expires_at become "expired"; *n how many. */
int store_request_expire(struct store *s, int64_t now, size_t *n, struct lerr *e);

struct store_preauth;
struct store_vendor;

/*
 * Everything an onboarding decision reads, from one snapshot (one read
 * transaction on one pooled connection), so the decision sees one state of
 * the store and pays one round trip. The caller fills the inputs; the
 * outputs are the caller's (store_onboard_clear).
 */
struct store_onboard {
	/* in */
	const unsigned char *key_id;	/* 32 bytes: the request's key */
	const char *device_id;		/* the request's CN */
	const char *names;		/* its names as names_format writes them */
	int64_t now;
	int want_vendors;		/* the client presented a chain */
	/* out */
	char key_owner[65];		/* another device holding a valid cert for the key, or "" */
	struct store_request *request;	/* the key's pending or still-issued request, or NULL */
	struct store_cert *cert;	/* when request is issued: the key's newest certificate */
	int device_held;		/* device_id holds a valid cert under another key */
	/* device_id holds no valid, unexpired certificate and had one
	 * revoked for a reason other than superseded */
	int device_revoked;
	char name[NAMES_DNS_MAX + 8];	/* the first name another device holds, or "" */
	char name_owner[65];		/* that device */
	struct store_preauth *preauth;	/* device_id's pre-authorisation, or NULL */
	struct store_vendor *vendors;	/* every vendor CA (when want_vendors) */
	size_t nvendors;
};
/* Reads the snapshot at o->now. A key held by another device stops the
 * read there (nothing else matters then). 0, or -1 with e. */
int store_onboard_read(struct store *s, struct store_onboard *o, struct lerr *e);
void store_onboard_clear(struct store_onboard *o);	/* frees the outputs */

/* ---- ACME (schema/0012): accounts, orders, their authorisations ----
 * The rows of the ACME door (daemon/acme.c decides, http/acme/ speaks
 * the protocol). Ids are random (STORE_ACME_ID_LEN base64url characters),
 * made by the caller. An order holds one authorisation per identifier,
 * whose challenges share its token and keep one state: the type the
 * client tried (chall) and how it went (chall_status). */
#define STORE_ACME_ID_LEN	22	/* 16 random bytes, base64url */
#define STORE_ACME_THUMB_LEN	43	/* RFC 7638 SHA-256 thumbprint, base64url */
#define STORE_ACME_IDENTS_MAX	16	/* identifiers in one order */
#define STORE_ACME_VALUE_MAX	253	/* a DNS name's most */

enum store_acme_approval {
	STORE_ACME_WAITING = 0,		/* nobody yet: orders are refused */
	STORE_ACME_BY_ADMIN,		/* `lanca acme approve` or the console */
	STORE_ACME_BY_WINDOW,		/* made while a press window was open */
	STORE_ACME_BY_EAB,		/* bound to an admin's EAB key */
};
/* Every ACME object's status in one enum (RFC 8555 section 7.1.6); each
 * kind takes its subset, which the schema's CHECKs hold it to. */
enum store_acme_status {
	STORE_ACME_PENDING = 0,
	STORE_ACME_READY,
	STORE_ACME_PROCESSING,
	STORE_ACME_VALID,
	STORE_ACME_INVALID,
	STORE_ACME_DEACTIVATED,
	STORE_ACME_EXPIRED,
	STORE_ACME_REVOKED,
};
const char *store_acme_status_str(enum store_acme_status st);	/* "pending", ... */
const char *store_acme_approval_str(enum store_acme_approval a); /* "", "admin", ... */

struct store_acme_account {
	char id[STORE_ACME_ID_LEN + 1];
	char thumbprint[STORE_ACME_THUMB_LEN + 1];
	char *jwk;			/* the public JWK as JSON (owned) */
	enum store_acme_status status;	/* valid, deactivated or revoked */
	enum store_acme_approval approved;
	char *contact;			/* JSON array of URLs (owned) */
	char eab_kid[65];		/* the EAB key it was bound to, or "" */
	char source[64];		/* the address it was made from */
	int64_t created_at, approved_at;
};
void store_acme_account_free(struct store_acme_account *a);	/* NULL-safe */
/* Records a new account, audited "acme-account" (its EAB key, when
 * a->eab_kid is set, used up in the same transaction: LERR_FORBIDDEN
 * when it is unknown, used or expired at a->created_at). LERR_CONFLICT
 * when the key has an account already. */
int store_acme_account_new(struct store *s, const struct store_acme_account *a,
			   struct lerr *e);
/* By id, or by key thumbprint: 0 with *out, 1 when none, -1 with e. */
int store_acme_account_get(struct store *s, const char *id, struct store_acme_account **out,
			   struct lerr *e);
int store_acme_account_by_key(struct store *s, const char *thumbprint,
			      struct store_acme_account **out, struct lerr *e);
/* Approves a waiting account, audited "acme-approve" by actor:
 * LERR_NOT_FOUND, or LERR_CONFLICT when it is not waiting. */
int store_acme_account_approve(struct store *s, const char *id, enum store_acme_approval how,
			       const char *actor, int64_t now, struct lerr *e);
/* Sets contact (NULL: kept) and status, audited "acme-account-update"
 * (or "acme-deactivate"). A deactivated account stays so (LERR_FORBIDDEN). */
int store_acme_account_update(struct store *s, const char *id, const char *contact,
			      enum store_acme_status status, const char *actor, int64_t now,
			      struct lerr *e);
/* The account's key replaced (RFC 8555 section 7.3.5), audited
 * "acme-key-change": LERR_CONFLICT when the new key has an account. */
int store_acme_account_rekey(struct store *s, const char *id, const char *jwk,
			     const char *thumbprint, const char *actor, int64_t now,
			     struct lerr *e);
/* How many valid accounts wait for an approval: 0 with *n, or -1. */
int store_acme_accounts_waiting(struct store *s, int64_t *n, struct lerr *e);
/* Every account, oldest first, until fn returns non-zero. */
int store_acme_account_each(struct store *s,
			    int (*fn)(const struct store_acme_account *a, void *arg), void *arg,
			    struct lerr *e);

struct store_acme_authz {
	char id[STORE_ACME_ID_LEN + 1];
	char order_id[STORE_ACME_ID_LEN + 1];
	int ip;				/* an "ip" identifier, else "dns" */
	char value[STORE_ACME_VALUE_MAX + 1];
	enum store_acme_status status;	/* pending, valid, invalid, deactivated, ... */
	char token[STORE_ACME_THUMB_LEN + 1];
	char chall[16];			/* "http-01", "tls-alpn-01", or "" */
	enum store_acme_status chall_status;	/* pending, processing, valid, invalid */
	int64_t validated_at, expires_at;
	char error[1024];		/* the problem document (JSON) when invalid, or "" */
};
struct store_acme_order {
	char id[STORE_ACME_ID_LEN + 1];
	char account_id[STORE_ACME_ID_LEN + 1];
	enum store_acme_status status;	/* pending, ready, processing, valid, invalid */
	char identifiers[8192];		/* JSON, as the order was made */
	char error[1024];		/* the problem document (JSON) when invalid, or "" */
	char cert_serial[2 * STORE_SERIAL_MAX + 1];	/* hex, once valid, else "" */
	int64_t created_at, expires_at, updated_at;
	size_t nauthz;
	struct store_acme_authz authz[STORE_ACME_IDENTS_MAX];	/* in the order's order */
};
/* Records an order and its o->nauthz authorisations in one transaction. */
int store_acme_order_new(struct store *s, const struct store_acme_order *o, struct lerr *e);
/* An order with its authorisations: 0 with *out (free()), 1 when none, -1. */
int store_acme_order_get(struct store *s, const char *id, struct store_acme_order **out,
			 struct lerr *e);
/* The newest orders of an account, at most n ids into ids: 0 with *got. */
int store_acme_orders_of(struct store *s, const char *account_id,
			 char (*ids)[STORE_ACME_ID_LEN + 1], size_t n, size_t *got, struct lerr *e);
/* An authorisation: 0 with *out filled, 1 when none, -1. */
int store_acme_authz_get(struct store *s, const char *id, struct store_acme_authz *out,
			 struct lerr *e);
/* The client asks for challenge chall of a pending authorisation: it
 * becomes processing. 0, or 1 when the authorisation was not pending or
 * its challenge was not (nothing changed), -1 with e. */
int store_acme_chall_start(struct store *s, const char *authz_id, const char *chall,
			   int64_t now, struct lerr *e);
/* The validation's verdict, with the authorisation's and its order's in
 * one transaction: valid, or invalid with error (JSON); the order is
 * then ready when every authorisation is valid, invalid when one is not.
 * An authorisation deactivated while its challenge ran stays deactivated
 * (only the challenge takes the verdict). Audited "acme-validate"
 * (subject the identifier). */
int store_acme_chall_done(struct store *s, const char *authz_id, int ok, const char *error,
			  int64_t now, struct lerr *e);
/* Deactivates an authorisation (RFC 8555 section 7.5.2); its order, if
 * pending or ready, becomes invalid. 1 when it was not pending or valid. */
int store_acme_authz_deactivate(struct store *s, const char *authz_id, int64_t now,
				struct lerr *e);
/* Finalisation begins: a ready order becomes processing (0), or 1 when
 * it was not ready. */
int store_acme_order_begin(struct store *s, const char *id, int64_t now, struct lerr *e);
/* Finalisation ends: processing becomes valid with the certificate's
 * serial (hex), or invalid with error (JSON) when serial is NULL, or
 * ready again when both are NULL (the request was at fault). */
int store_acme_order_end(struct store *s, const char *id, const char *serial,
			 const char *error, int64_t now, struct lerr *e);
/* Pending or ready orders, and pending authorisations, whose time is up
 * at now become invalid (orders) or expired (authorisations): the tick's. */
int store_acme_expire(struct store *s, int64_t now, struct lerr *e);

/* After a restart: orders left processing become invalid with error
 * (JSON), and fn is called with each authorisation left processing, so
 * that its validation goes on. */
int store_acme_recover(struct store *s, int64_t now, const char *error,
		       int (*fn)(const char *authz_id, void *arg), void *arg, struct lerr *e);

/* External Account Binding keys: their ids only (the MAC key is derived,
 * never stored). */
int store_acme_eab_new(struct store *s, const char *kid, int64_t now, int64_t expires_at,
		       const char *actor, struct lerr *e);

/* ---- pre-authorised devices (bulk import) ---- */
struct store_preauth {
	char device_id[65];
	char name[129];
	char auth_type[33];		/* "", "CERTIFICATES", ... as imported */
	char *secret_hash;		/* Argon2id string, NULL when none (owned) */
	int64_t created_at, used_at;	/* used_at 0 = not used yet */
};
void store_preauth_free(struct store_preauth *p);
/* Imports n rows in one transaction: all or nothing (a device id already
 * listed is a LERR_CONFLICT naming it). Audited "preauth-import". */
int store_preauth_import(struct store *s, const struct store_preauth *rows, size_t n,
			 const char *actor, struct lerr *e);
int store_preauth_get(struct store *s, const char *device_id, struct store_preauth **out,
		      struct lerr *e);

/* ---- vendor (manufacturer) CAs ---- */
struct store_vendor {
	int64_t id;
	char subject[256];
	char fingerprint[65];
	int auto_register;
	unsigned char *der;		/* owned */
	size_t der_len;
	int64_t created_at;
};
void store_vendor_free(struct store_vendor *v);
int store_vendor_add(struct store *s, const char *subject, const char *fingerprint,
		     int auto_register, const unsigned char *der, size_t der_len,
		     const char *actor, struct lerr *e);
int store_vendor_each(struct store *s, int (*fn)(const struct store_vendor *v, void *arg),
		      void *arg, struct lerr *e);

/* ---- administrators and their sessions ---- */
/* A session to record: found later by the SHA-256 of its token (the token
 * itself is never stored); csrf is its CSRF token (hex). It ends at
 * expires_at or at idle_expires_at, whichever is first. */
struct store_session_new {
	const unsigned char *token_hash;	/* 32 bytes */
	const char *csrf;
	int64_t now, expires_at, idle_expires_at;
};
/* A recorded session, as store_session_get() reads it. */
struct store_session {
	char user[65];
	char csrf[65];
	int64_t created_at, expires_at, idle_expires_at;
};

/* Sets (creates or replaces) an admin's Argon2id password hash, audited
 * "admin-set", and in the same transaction ends every session of that
 * admin (a password change must not leave an old one open), consumes the
 * setup code (an admin exists now) and, when keep is set, records it as
 * the admin's one new session. */
int store_admin_set(struct store *s, const char *user, const char *hash,
		    const struct store_session_new *keep, const char *actor, struct lerr *e);
/* *hash malloc'd; LERR_NOT_FOUND if no such admin. */
int store_admin_hash(struct store *s, const char *user, char **hash, struct lerr *e);
/* *any: 1 if at least one admin exists, else 0. */
int store_admin_any(struct store *s, int *any, struct lerr *e);
/* Records a session of user, first dropping every session already ended
 * at ses->now (store_session_expire), and with actor set its "login" row
 * in the same job; durable on return. LERR_NOT_FOUND for an unknown user. */
int store_session_add(struct store *s, const char *user, const struct store_session_new *ses,
		      const char *actor, struct lerr *e);
/* The session whose token hashes to token_hash if it has not ended at now
 * (by either end); LERR_NOT_FOUND otherwise, out zeroed. */
int store_session_get(struct store *s, const unsigned char token_hash[32], int64_t now,
		      struct store_session *out, struct lerr *e);
/* Moves a session's idle end on to idle_expires_at (never back). */
int store_session_touch(struct store *s, const unsigned char token_hash[32],
			int64_t idle_expires_at, struct lerr *e);
/* Ends a session: with actor set, its "logout" row (subject user) is
 * written in the same job. */
int store_session_delete(struct store *s, const unsigned char token_hash[32], int64_t at,
			 const char *actor, const char *user, struct lerr *e);
/* Drops every session ended at now (by either end), each with its
 * "session-expired" row (actor, subject its user), in one job; *n (may
 * be NULL) how many. store_session_add drops them the same way. */
int store_session_expire(struct store *s, int64_t now, const char *actor, size_t *n,
			 struct lerr *e);

/* ---- the first-visit setup code (the code is auth.c's; only its hash is here) ---- */
/* Records the hash of a new setup code, replacing any older one; audited
 * "setup-code". LERR_CONFLICT once an admin exists: the code is for the
 * first one only. */
int store_setup_code_set(struct store *s, const char *hash, const char *actor, struct lerr *e);
/* The current setup code's hash (malloc'd); LERR_NOT_FOUND when there is
 * none (consumed, or never made). */
int store_setup_code_hash(struct store *s, char **hash, struct lerr *e);
/*
 * The first administrator, in one transaction: refuses with LERR_CONFLICT
 * when any admin exists, and with LERR_FORBIDDEN unless the setup code on
 * record is still the one whose hash is code_hash (the caller verified the
 * code against it); otherwise creates user with hash, deletes the setup
 * code, records ses and the "setup" audit row. Of two setups racing with
 * the right code, exactly one succeeds: the other gets LERR_CONFLICT.
 */
int store_setup_finish(struct store *s, const char *code_hash, const char *user,
		       const char *hash, const struct store_session_new *ses, const char *actor,
		       struct lerr *e);

/* ---- the metrics scraper's token (daemon/metrics_token.c makes it; only
 * its hash is here) ---- */
/* Records the hash of a new token, replacing any older one, or with hash
 * NULL removes it (LERR_NOT_FOUND when there was none); audited
 * "metrics_token" with {"action": "new"} or {"action": "revoked"}. */
int store_metrics_token_set(struct store *s, const char *hash, const char *actor, struct lerr *e);
/* The token's hash (malloc'd); LERR_NOT_FOUND when there is none. */
int store_metrics_token_hash(struct store *s, char **hash, struct lerr *e);

/* ---- the names a LAN's DNS should know ---- */
/* One name of a certificate valid at now (not revoked, not expired),
 * exactly as cert_names holds it ("DNS:nas.home.arpa", "IP:192.0.2.7"),
 * with the address the certificate was asked from ("" when none is
 * known). The strings are only valid during the call. */
struct store_host_name {
	int64_t cert_id;
	const char *device_id, *name, *address;
};
/* Calls fn for each name of each certificate valid at now, in order of
 * certificate, then name, in one snapshot; fn returns 0 to go on, 1 to
 * stop, -1 to fail (e set by it). */
int store_host_names(struct store *s, int64_t now,
		     int (*fn)(const struct store_host_name *h, void *arg), void *arg,
		     struct lerr *e);
/* How many committed transactions inserted or revoked a certificate since
 * the store was opened: a number that changes when the set of valid
 * certificates may have (not counting expiry by time). */
uint64_t store_cert_changes(struct store *s);

/* ---- settings (small key/value config written at init) ---- */
int store_setting_set(struct store *s, const char *key, const char *value, struct lerr *e);
/* *value is malloc'd; -1 with LERR_NOT_FOUND if unset. */
int store_setting_get(struct store *s, const char *key, char **value, struct lerr *e);
/* Sets key to value (NULL: leaves it) only if it still holds old (NULL:
 * it is unset), and appends the n audit rows, in one transaction under
 * the write lock: LERR_CONFLICT, and nothing written, when another writer
 * (another gateway) changed it since old was read. Durable on return. */
struct store_audit_new;
int store_setting_swap(struct store *s, const char *key, const char *old, const char *value,
		       const struct store_audit_new *rows, size_t n, struct lerr *e);

/* ---- audit (append-only: triggers refuse UPDATE and DELETE) ----
 * Every row is hash-chained (schema/0008, ca/auditseal.h): it is written
 * with the next id after the newest row and the BLAKE2b-256 of its
 * content and that row's hash, inside the job of the change it records,
 * so a change and its audit row commit or fail together. */
#define STORE_AUDIT_HASH_LEN	32
#define STORE_AUDIT_SIG_LEN	64

/* Appends one event. detail_json may be NULL. Durable on return. */
int store_audit(struct store *s, const char *actor, const char *event,
		const char *subject, const char *detail_json, struct lerr *e);
/* Several events that record one change (a press and the overlap it
 * found), in order, in one transaction: all are durable on return, or
 * none was written. */
struct store_audit_new {
	const char *actor, *event, *subject, *detail;	/* subject, detail may be NULL */
};
int store_audit_rows(struct store *s, const struct store_audit_new *rows, size_t n,
		     struct lerr *e);
/*
 * store_audit() for a row that must precede everything else written
 * through s (serve's "key-load"): 0 when it was written; when the store
 * cannot be written now (store_unavailable: a full disk, an I/O error, a
 * read-only database), 1 with e saying why, and the row is kept and
 * written in the first transaction that commits, before that
 * transaction's own rows; -1 with e for any other failure. One row at a
 * time; call it before other threads write.
 */
int store_audit_first(struct store *s, const char *actor, const char *event,
		      const char *subject, const char *detail_json, struct lerr *e);
struct store_audit_row {
	int64_t id, at;
	const char *actor, *event, *subject, *detail;
	const unsigned char *hash;	/* its chain hash (NULL when it has none) */
	size_t hash_len;
};
/* Calls fn for each audit row of a page (see "pages"), newest first; fn
 * as for store_cert_page, the strings only valid during the call. */
int store_audit_page(struct store *s, struct store_page *pg,
		     int (*fn)(const struct store_audit_row *r, void *arg), void *arg,
		     struct lerr *e);
/* The same, only the rows of event and/or about subject (a device id):
 * each NULL for any. Each filter is one range of its index (audit_event,
 * audit_subject); both together walk the subject's. */
int store_audit_find(struct store *s, const char *event, const char *subject,
		     struct store_page *pg,
		     int (*fn)(const struct store_audit_row *r, void *arg), void *arg,
		     struct lerr *e);

/* The newest row's id and hash: id 0 and a zero hash for an empty log. */
int store_audit_head(struct store *s, int64_t *id, unsigned char hash[STORE_AUDIT_HASH_LEN],
		     struct lerr *e);

/* A signed checkpoint: the signer's signature over "row row_id had hash
 * head at time at" (ca/auditseal.h). */
struct store_checkpoint {
	int64_t id;			/* its own row (out) */
	int64_t row_id, at;
	unsigned char head[STORE_AUDIT_HASH_LEN];
	unsigned char sig[STORE_AUDIT_SIG_LEN];
};
/* Records c after checking, in the same job, that audit row c->row_id
 * still has the hash c->head: LERR_CONFLICT (nothing written) when it
 * does not or is not there. Durable on return. */
int store_checkpoint_add(struct store *s, struct store_checkpoint *c, struct lerr *e);
/* The newest checkpoint (highest row, then latest); LERR_NOT_FOUND when
 * none was taken. */
int store_checkpoint_last(struct store *s, struct store_checkpoint *out, struct lerr *e);
/* Everything `lanca audit verify` reads, in one snapshot: every
 * checkpoint in order of its row (cp), then every audit row in order of
 * id (row; its strings and hash only valid during the call). Either
 * callback returns non-zero to stop (negative: fail, e set by it). */
int store_audit_scan(struct store *s,
		     int (*cp)(const struct store_checkpoint *c, void *arg),
		     int (*row)(const struct store_audit_row *r, void *arg), void *arg,
		     struct lerr *e);

#endif
