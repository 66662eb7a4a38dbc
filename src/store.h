/*
 * store.h - the SQLite store: every SQL statement lanca runs lives in
 * store.c (and db_migrate.c for the schema), all of them prepared.
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
 * interface; nothing outside store.c knows it is SQLite.
 */
#ifndef LANCA_STORE_H
#define LANCA_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "lerr.h"

#define STORE_FILE		"lanca.db"
#define STORE_SERIAL_MAX	20
#define STORE_SERIAL_LEN	17	/* = X509_SERIAL_LEN */

struct store;

enum store_open_flags {
	STORE_CREATE = 1 << 0,		/* create the file if missing (init only) */
	STORE_READONLY = 1 << 1,	/* no writer thread; writes fail */
};

/* Opens path, applies missing migrations (each in its own transaction),
 * refuses a database whose schema is newer than this binary. */
int store_open(const char *path, unsigned flags, struct store **out, struct lerr *e);
void store_close(struct store *s);	/* NULL-safe; drains the writer first */
int store_schema_version(struct store *s, int *version);

/* ---- CAs ---- */
struct store_ca {
	int64_t id;
	char role[16];		/* "root", "issuing" ("backup-root" later) */
	char state[16];		/* "active", "retired" */
	char subject[256];
	char fingerprint[65];	/* SHA-256 of the DER, hex */
	int64_t not_before, not_after;
	unsigned char *der;	/* owned */
	size_t der_len;
};
void store_ca_free(struct store_ca *ca);	/* NULL-safe, frees der and ca */
/* Inserts a CA row (state "active"); *id receives its rowid. Durable. */
int store_ca_insert(struct store *s, const char *role, const char *subject,
		    const char *fingerprint, int64_t not_before, int64_t not_after,
		    const unsigned char *der, size_t der_len, int64_t *id, struct lerr *e);
/* The active CA of a role; -1 with LERR_NOT_FOUND if none. */
int store_ca_active(struct store *s, const char *role, struct store_ca **out, struct lerr *e);

/* ---- serials ---- */
/* Hands out a fresh serial (STORE_SERIAL_LEN bytes, first byte 0x01..0x7f)
 * that is recorded durably as reserved and is unique among all serials
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
	char profile[16];		/* "device", "gateway" */
	char status[16];		/* "valid", "revoked" */
	int64_t not_before, not_after, issued_at, revoked_at;
	unsigned char key_id[32];	/* SHA-256 of the SubjectPublicKeyInfo */
	char request_id[65];		/* enrollment request, "" when none */
	unsigned char *der;		/* owned */
	size_t der_len;
};
void store_cert_free(struct store_cert *c);
/* Inserts a certificate row, marks its serial used and appends an "issue"
 * audit row (actor) in the same transaction; returns once durable.
 * Fails with LERR_CONFLICT if the serial was not reserved or is used. */
int store_cert_insert(struct store *s, const struct store_cert *c, const char *actor, struct lerr *e);
int store_cert_by_serial(struct store *s, const unsigned char *serial, size_t len,
			 struct store_cert **out, struct lerr *e);
/* Calls fn for each certificate, newest first (at most limit, 0 = all);
 * fn returns non-zero to stop. The row is only valid during the call. */
int store_cert_each(struct store *s, size_t limit,
		    int (*fn)(const struct store_cert *c, void *arg), void *arg, struct lerr *e);
int store_cert_count(struct store *s, int64_t *n, struct lerr *e);

/* ---- settings (small key/value config written at init) ---- */
int store_setting_set(struct store *s, const char *key, const char *value, struct lerr *e);
/* *value is malloc'd; -1 with LERR_NOT_FOUND if unset. */
int store_setting_get(struct store *s, const char *key, char **value, struct lerr *e);

/* ---- audit (append-only: triggers refuse UPDATE and DELETE) ---- */
/* Appends one event. detail_json may be NULL. Durable on return. */
int store_audit(struct store *s, const char *actor, const char *event,
		const char *subject, const char *detail_json, struct lerr *e);
struct store_audit_row {
	int64_t id, at;
	const char *actor, *event, *subject, *detail;
};
int store_audit_each(struct store *s, size_t limit,
		     int (*fn)(const struct store_audit_row *r, void *arg), void *arg, struct lerr *e);

#endif
