/*
 * auditlog.c - checkpoints of the audit chain and its verification (see
 * auditlog.h).
 *
 * Verification compares each row with the stored hash of the row before
 * it, not with a hash recomputed from that row: one edited row is then
 * named alone, a removed row is named by the row after the gap, and two
 * rows whose contents were swapped by the first of them. A history
 * rewritten with every later hash recomputed is consistent again, which
 * only a checkpoint can tell: its signed head no longer matches, and the
 * rewrite lies after the checkpoint before it.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "ca/auditseal.h"
#include "common/fileio.h"
#include "common/log.h"
#include "daemon/auditlog.h"

/* Every action an audit row is written with, in the order of a device's
 * and an admin's life. */
static const char *const auditlog_events[] = {
	"init", "ca-create", "key-load", "backup-root-confirm",
	"rollover-start", "rollover-finish", "join", "gateway-ca", "gateway-ca-retire",
	"gateway-remove",
	"setup-code", "setup", "setup-failed", "admin-set",
	"login", "login-failed", "password-failed", "logout", "session-expired",
	"press", "overlap", "window-closed",
	"enroll", "preauth-import", "preauth_secret_wrong", "vendor-add",
	"issue", "est_serverkeygen", "refuse", "approve", "deny", "contested", "expire",
	"revoke", "crl", "metrics_token", "backup", "backup-failed", "key-to-token",
	"acme-account", "acme-approve", "acme-eab-new", "acme-order", "acme-validate",
	"acme-account-update", "acme-key-change", "acme-deactivate",
};

int
auditlog_event_known(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(auditlog_events) / sizeof(auditlog_events[0]); i++)
		if (strcmp(auditlog_events[i], name) == 0)
			return 1;
	return 0;
}

const char *
auditlog_event(size_t i)
{
	return i < sizeof(auditlog_events) / sizeof(auditlog_events[0]) ? auditlog_events[i] : NULL;
}

int
auditlog_unwritable(struct lerr *e, const struct lerr *cause)
{
	/* Copied first: cause may be e itself. */
	char why[sizeof(cause->msg)];
	/* A disk that is full, failing or read-only keeps its own code, as
	 * every other write it refuses does. */
	enum lerr_code code = cause->code == LERR_STORE_UNAVAILABLE ? LERR_STORE_UNAVAILABLE
								    : LERR_STORE;

	snprintf(why, sizeof(why), "%s", cause->msg);
	return lerr_set_http(e, code, 503, "the audit log cannot be written: %s", why);
}

int
auditlog_checkpoint(struct store *s, struct signer *sg, int64_t now, struct lerr *e)
{
	struct store_checkpoint c, last;
	struct lerr none;

	memset(&c, 0, sizeof(c));
	if (s == NULL || sg == NULL)
		return lerr_set(e, LERR_INTERNAL, "auditlog_checkpoint: bad arguments");
	if (store_audit_head(s, &c.row_id, c.head, e) != 0)
		return -1;
	if (c.row_id == 0)
		return 0;
	if (store_checkpoint_last(s, &last, &none) == 0 && last.row_id == c.row_id)
		return 0;
	c.at = now;
	if (signer_checkpoint(sg, c.row_id, c.head, c.at, c.sig, e) != 0 ||
	    store_checkpoint_add(s, &c, e) != 0)
		return -1;
	log_info("audit checkpoint of row %lld signed", (long long)c.row_id);
	return 0;
}

void
auditlog_tick(struct store *s, struct signer *sg, int64_t now)
{
	struct store_checkpoint last;
	unsigned char head[STORE_AUDIT_HASH_LEN];
	int64_t id = 0;
	size_t n = 0;
	struct lerr e;

	if (store_session_expire(s, now, AUDITLOG_ACTOR, &n, &e) != 0)
		log_warn("cannot end the sessions that ran out: %s", e.msg);
	if (store_audit_head(s, &id, head, &e) != 0) {
		log_warn("cannot read the audit log's head: %s", e.msg);
		return;
	}
	if (store_checkpoint_last(s, &last, &e) == 0) {
		if (last.row_id == id || now - last.at < AUDITLOG_EVERY_S)
			return;
	} else if (e.code != LERR_NOT_FOUND) {
		log_warn("cannot read the last audit checkpoint: %s", e.msg);
		return;
	}
	if (auditlog_checkpoint(s, sg, now, &e) != 0)
		log_err("cannot take an audit checkpoint: %s", e.msg);
}

int
auditlog_key_load(struct store *s, pid_t signer_pid, const char *fp, struct lerr *e)
{
	json_t *o = json_pack("{s:I, s:s}", "signer_pid", (json_int_t)signer_pid,
			      "issuing_sha256", fp != NULL ? fp : "");
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc;

	json_decref(o);
	if (text == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	rc = store_audit_first(s, AUDITLOG_ACTOR, "key-load", NULL, text, e);
	free(text);
	if (rc > 0) {
		/* Nothing can be signed and recorded before it: every
		 * issuance writes, and the row goes first. */
		log_err("%s: serving what can be read; the key-load row is written first once "
			"the database takes writes again", e->msg);
		rc = 0;
	}
	return rc;
}

int
auditlog_read_pub(const char *path, unsigned char pk[32], struct lerr *e)
{
	unsigned char *p = NULL;
	size_t n = 0;
	int rc;

	if (fileio_read(path, AUDITSEAL_KEY_TEXT_MAX, 0, &p, &n, e) != 0)
		return -1;
	rc = auditseal_pk_parse(path, (const char *)p, n, pk, e);
	free(p);
	return rc;
}

/* ---- verification ---- */

struct auditlog_walk {
	const unsigned char (*pks)[32];	/* the keys a checkpoint may be signed with */
	size_t npk;
	struct auditlog_report *r;
	struct store_checkpoint *cps;	/* in order of row, then id */
	size_t ncps, cap, next;		/* next: the first checkpoint not matched yet */
	int64_t prev_id;		/* the row before this one (0: none) */
	unsigned char prev[STORE_AUDIT_HASH_LEN];
	int64_t good_row;		/* the newest row a matching checkpoint vouches for */
	int oom;
};

/* Records a break at row (the first one found is kept: rows come in
 * order, checkpoints' signatures are checked before any row). */
static void
auditlog_broken(struct auditlog_walk *w, int64_t row, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
auditlog_broken(struct auditlog_walk *w, int64_t row, const char *fmt, ...)
{
	va_list ap;

	if (!w->r->ok && w->r->broken_row <= row)
		return;
	w->r->ok = 0;
	w->r->broken_row = row;
	va_start(ap, fmt);
	vsnprintf(w->r->why, sizeof(w->r->why), fmt, ap);
	va_end(ap);
}

static int
auditlog_walk_cp(const struct store_checkpoint *c, void *arg)
{
	struct auditlog_walk *w = arg;
	struct store_checkpoint *n;
	size_t i;

	w->r->checkpoints++;
	for (i = 0; i < w->npk; i++)
		if (auditseal_verify(w->pks[i], c->row_id, c->head, c->at, c->sig) == 0)
			break;
	if (i == w->npk) {
		auditlog_broken(w, c->row_id, "checkpoint %lld of row %lld: its signature does "
				"not verify with the audit key%s", (long long)c->id,
				(long long)c->row_id, w->npk > 1 ? "s given" : "");
		return 0;
	}
	if (w->ncps == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		if ((n = realloc(w->cps, w->cap * sizeof(*n))) == NULL) {
			w->oom = 1;
			return -1;
		}
		w->cps = n;
	}
	w->cps[w->ncps++] = *c;
	return 0;
}

/* The checkpoints of rows before id that were not matched: their rows
 * are gone. */
static void
auditlog_cps_missing(struct auditlog_walk *w, int64_t id)
{
	while (w->next < w->ncps && w->cps[w->next].row_id < id) {
		auditlog_broken(w, w->cps[w->next].row_id,
				"row %lld, which checkpoint %lld signed, is not in the log: "
				"rows were removed", (long long)w->cps[w->next].row_id,
				(long long)w->cps[w->next].id);
		w->next++;
	}
}

static int
auditlog_walk_row(const struct store_audit_row *row, void *arg)
{
	struct auditlog_walk *w = arg;
	struct auditseal_row ar = { row->id, row->at, row->actor, row->event, row->subject,
				    row->detail };
	unsigned char want[STORE_AUDIT_HASH_LEN];
	const struct store_checkpoint *c;

	w->r->rows++;
	w->r->last_row = row->id;
	auditlog_cps_missing(w, row->id);
	if (row->hash == NULL || row->hash_len != STORE_AUDIT_HASH_LEN) {
		auditlog_broken(w, row->id, "row %lld has no chain hash", (long long)row->id);
		memset(w->prev, 0, sizeof(w->prev));
	} else {
		if (auditseal_row_hash(w->prev_id != 0 ? w->prev : NULL, &ar, want) != 0)
			return -1;
		if (sodium_memcmp(want, row->hash, sizeof(want)) != 0) {
			if (row->id != w->prev_id + 1)
				auditlog_broken(w, row->id, "row %lld does not follow row %lld: "
						"the rows between them were removed",
						(long long)row->id, (long long)w->prev_id);
			else
				auditlog_broken(w, row->id, "row %lld does not match its hash: "
						"it was changed", (long long)row->id);
		}
		memcpy(w->prev, row->hash, sizeof(w->prev));
	}
	for (; w->next < w->ncps && w->cps[w->next].row_id == row->id; w->next++) {
		c = &w->cps[w->next];
		if (row->hash != NULL && row->hash_len == STORE_AUDIT_HASH_LEN &&
		    sodium_memcmp(c->head, row->hash, STORE_AUDIT_HASH_LEN) == 0) {
			w->good_row = row->id;
			w->r->checked_row = row->id;
			w->r->checked_at = c->at;
			continue;
		}
		/* The chain may hold together (every later hash recomputed):
		 * the rewrite lies between the last checkpoint that matched
		 * and this one. */
		auditlog_broken(w, w->good_row + 1, "rows %lld to %lld were rewritten: row %lld "
				"no longer has the hash checkpoint %lld signed",
				(long long)(w->good_row + 1), (long long)row->id,
				(long long)row->id, (long long)c->id);
	}
	w->prev_id = row->id;
	return 0;
}

int
auditlog_verify(struct store *s, const unsigned char pk[32], struct auditlog_report *r,
		struct lerr *e)
{
	return auditlog_verify_keys(s, (const unsigned char (*)[32])pk, 1, r, e);
}

int
auditlog_verify_keys(struct store *s, const unsigned char (*pks)[32], size_t npk,
		     struct auditlog_report *r, struct lerr *e)
{
	struct auditlog_walk w;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	memset(&w, 0, sizeof(w));
	if (npk == 0)
		return lerr_set(e, LERR_INTERNAL, "auditlog_verify: no key");
	r->ok = 1;
	w.pks = pks;
	w.npk = npk;
	w.r = r;
	if (store_audit_scan(s, auditlog_walk_cp, auditlog_walk_row, &w, e) != 0) {
		if (w.oom)
			lerr_set(e, LERR_INTERNAL, "out of memory reading the checkpoints");
		goto out;
	}
	auditlog_cps_missing(&w, INT64_MAX);
	rc = 0;
out:
	free(w.cps);
	return rc;
}
