/*
 * auditlog.h - the audit log's signed checkpoints and its verification.
 *
 * Owns: when a checkpoint is taken (auditlog_checkpoint: now, after every
 * CRL and at serve's start; auditlog_tick: at least hourly while rows are
 * added), the "key-load" row serve writes once its signer is up, the
 * recording of sessions that ended by time, the answer to an action whose
 * row cannot be written (auditlog_unwritable), the table of known actions
 * and the one verification of the whole log (`lanca audit verify`). The chain itself is the store's
 * (store_audit_row) and ca/auditseal.h's; the key is the signer's.
 *
 * Callers: cmd_serve.c (start, serve_tick), init.c (the first checkpoint),
 * cmd_audit.c (verify), and whatever makes a CRL (a checkpoint after it).
 */
#ifndef LANCA_AUDITLOG_H
#define LANCA_AUDITLOG_H

#include <stdint.h>
#include <sys/types.h>

#include "common/lerr.h"
#include "signer/signer.h"
#include "store/store.h"

#define AUDITLOG_EVERY_S	3600	/* a checkpoint at least this often while rows come */
#define AUDITLOG_ACTOR		"lanca"	/* the daemon itself: time ran out, a key loaded */

/*
 * The answer to an action whose audit row could not be written, which
 * therefore fails (a failed attempt included: its refusal is not given,
 * since nothing would show it was tried): e becomes a 503 (LERR_STORE,
 * or LERR_STORE_UNAVAILABLE when that was cause's code) "the audit log
 * cannot be written: " and cause's message. cause may be e. Returns -1.
 */
int auditlog_unwritable(struct lerr *e, const struct lerr *cause);

/*
 * Takes a checkpoint now: the newest audit row's id and hash, signed by
 * the signer (sg: remote or local) with time now, recorded in the store
 * (which checks that the row still has that hash). Nothing to do, and 0,
 * when the log is empty or the newest checkpoint is of the newest row
 * already. 0, or -1 with e (nothing recorded). Safe from any thread.
 */
int auditlog_checkpoint(struct store *s, struct signer *sg, int64_t now, struct lerr *e);

/*
 * serve_tick's part: records the admin sessions that ended by time at now
 * (one "session-expired" row each), and takes a checkpoint when rows were
 * added since the newest one and it is AUDITLOG_EVERY_S old (or there is
 * none). Failures are logged.
 */
void auditlog_tick(struct store *s, struct signer *sg, int64_t now);

/* The "key-load" row: the signer (its process id) loaded its keys at
 * serve's start for the issuing CA whose SHA-256 fingerprint is fp.
 * 0, or -1 with e: serve does not start without it. A store that cannot
 * be written now (a full disk, an I/O error, a read-only database) keeps
 * the row to write before anything else once it can (store_audit_first):
 * that is 0 too, and logged. */
int auditlog_key_load(struct store *s, pid_t signer_pid, const char *fp, struct lerr *e);

/* What auditlog_verify found. */
struct auditlog_report {
	int ok;				/* 1: every link and checkpoint holds */
	int64_t rows;			/* rows in the log */
	int64_t last_row;		/* the newest row's id (0: empty) */
	int64_t checkpoints;		/* checkpoints taken */
	int64_t checked_row;		/* the newest row a checkpoint vouches for (0: none) */
	int64_t checked_at;		/* that checkpoint's time */
	int64_t broken_row;		/* when !ok: the first row that is broken */
	char why[512];			/* when !ok: what is wrong there */
};

/*
 * Checks the whole log in one snapshot: every row's hash against its
 * content and the row before it, every checkpoint's signature with pk
 * (keys/audit.pub), and that every checkpoint's row is there with the
 * head it signed. Rows after the newest checkpoint are reported
 * (checked_row), not an error. 0 with r filled (r->ok says the verdict),
 * or -1 with e when the log could not be read.
 */
int auditlog_verify(struct store *s, const unsigned char pk[32], struct auditlog_report *r,
		    struct lerr *e);
/* Likewise where a checkpoint may be signed with any of npk keys: the
 * gateways of a site that share a store each sign with their own
 * (keys/audit.pub of each; docs/scaling.md). */
int auditlog_verify_keys(struct store *s, const unsigned char (*pks)[32], size_t npk,
			 struct auditlog_report *r, struct lerr *e);

/* The actions (events) audit rows are written with, for a filter to
 * name one: 1 when name is one of them. auditlog_event(i) is the i-th
 * (NULL past the last), for listing them. A new kind of row adds its
 * name to the table in auditlog.c. */
int auditlog_event_known(const char *name);
const char *auditlog_event(size_t i);

/* Reads a public key file (ca/auditseal.h's "ed25519 HEX") into pk.
 * 0, or -1 with e naming the file. */
int auditlog_read_pub(const char *path, unsigned char pk[32], struct lerr *e);

#endif
