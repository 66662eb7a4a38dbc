/*
 * admins.c - the store's administrators, their web sessions, the
 * first-visit setup code and the metrics scraper's token (see store.h).
 *
 * Runs on the store engine (internal.h); every statement is in
 * store_sql_admins[] below. Passwords and the setup code arrive here
 * already hashed (Argon2id, auth.c); sessions are keyed by the SHA-256 of
 * their token, so a copy of the database does not hand out live sessions.
 * Whatever must happen together happens in one writer job: a password and
 * the end of the sessions it replaces; the first admin, the consumption
 * of the setup code and the first session.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "common/lerr.h"
#include "store/store.h"
#include "store/internal.h"

#define STORE_ADMIN_USER_MAX	64	/* struct store_session's user[65] */
#define STORE_ADMIN_CSRF_MAX	64	/* and csrf[65] */

const char *const store_sql_admins[Q_COUNT] = {
	[Q_ADMIN_SET] =
		"INSERT INTO admins (user, hash, created_at, updated_at) "
		"VALUES (?1, ?2, ?3, ?3) ON CONFLICT (user) DO UPDATE "
		"SET hash = excluded.hash, updated_at = excluded.updated_at",
	[Q_ADMIN_INSERT] =
		"INSERT INTO admins (user, hash, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
	[Q_ADMIN_HASH] = "SELECT hash FROM admins WHERE user = ?",
	[Q_ADMIN_ANY] = "SELECT CASE WHEN EXISTS (SELECT 1 FROM admins) THEN 1 ELSE 0 END",
	[Q_SESSION_PURGE] = "DELETE FROM sessions WHERE expires_at <= ?1 OR idle_expires_at <= ?1",
	[Q_SESSION_ENDED] =
		"SELECT user, CASE WHEN idle_expires_at < expires_at THEN idle_expires_at "
		"ELSE expires_at END FROM sessions "
		"WHERE expires_at <= ?1 OR idle_expires_at <= ?1",
	[Q_SESSION_INSERT] =
		"INSERT INTO sessions (token_hash, user, csrf, created_at, expires_at, "
		"idle_expires_at) VALUES (?, ?, ?, ?, ?, ?)",
	[Q_SESSION_GET] =
		"SELECT user, csrf, created_at, expires_at, idle_expires_at FROM sessions "
		"WHERE token_hash = ?1 AND expires_at > ?2 AND idle_expires_at > ?2",
	[Q_SESSION_TOUCH] =
		"UPDATE sessions SET idle_expires_at = "
		"CASE WHEN expires_at < ?2 THEN expires_at ELSE ?2 END "
		"WHERE token_hash = ?1 AND "
		"idle_expires_at < CASE WHEN expires_at < ?2 THEN expires_at ELSE ?2 END",
	[Q_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = ?",
	[Q_SESSION_END_USER] = "DELETE FROM sessions WHERE user = ?",
	[Q_SETUP_SET] =
		"INSERT INTO setup_code (id, hash, created_at) VALUES (1, ?1, ?2) "
		"ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, "
		"created_at = excluded.created_at",
	[Q_SETUP_HASH] = "SELECT hash FROM setup_code WHERE id = 1",
	[Q_SETUP_DELETE] = "DELETE FROM setup_code",
	/* One row of the settings table: no migration for one value. */
	[Q_METRICS_TOKEN_SET] =
		"INSERT INTO settings (key, value) VALUES ('metrics_token', ?1) "
		"ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[Q_METRICS_TOKEN_GET] = "SELECT value FROM settings WHERE key = 'metrics_token'",
	[Q_METRICS_TOKEN_DELETE] = "DELETE FROM settings WHERE key = 'metrics_token'",
};

/* 0 if a session record is well formed (the arguments' shape, not their
 * meaning); -1 with e otherwise. */
static int
store_session_check(const char *user, const struct store_session_new *ses, struct lerr *e)
{
	if (user == NULL || ses == NULL || ses->token_hash == NULL || ses->csrf == NULL)
		return lerr_set(e, LERR_INTERNAL, "session record: bad arguments");
	if (user[0] == '\0' || strlen(user) > STORE_ADMIN_USER_MAX || ses->csrf[0] == '\0' ||
	    strlen(ses->csrf) > STORE_ADMIN_CSRF_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "bad session record");
	return 0;
}

/* store_session_purge's row reader: one "session-expired" row per
 * session that ended, under its user. */
struct store_session_purge_arg {
	struct store_conn *w;
	int64_t now;
	const char *actor;
	size_t n;
};

static int
store_session_ended_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_session_purge_arg *a = arg;
	char user[STORE_ADMIN_USER_MAX + 1], detail[64];

	if (store_col_text(st, 0, user, sizeof(user), e) != 0)
		return -1;
	snprintf(detail, sizeof(detail), "{\"ended_at\":%lld}",
		 (long long)store_get_int(st, 1));
	a->n++;
	return store_audit_row(a->w, a->now, a->actor, "session-expired", user, detail, e) != 0 ?
	       -1 : 0;
}

/*
 * Inside a job: the sessions that have ended at now are dropped, each
 * with its "session-expired" audit row (an end of a session is on
 * record whether it was a logout or its time). *n (may be NULL) how many.
 */
static int
store_session_purge(struct store_conn *w, int64_t now, const char *actor, size_t *n,
		    struct lerr *e)
{
	const struct store_query ended = {
		Q_SESSION_ENDED, "reading ended sessions", { store_arg_int(now) },
	};
	const struct store_query purge = {
		Q_SESSION_PURGE, "dropping ended sessions", { store_arg_int(now) },
	};
	struct store_session_purge_arg a = { w, now, actor, 0 };

	if (store_conn_each(w, &ended, store_session_ended_row, &a, e) != 0 ||
	    store_exec(w, &purge, NULL, e) != 0)
		return -1;
	if (n != NULL)
		*n = a.n;
	return 0;
}

struct store_session_expire_job {
	int64_t now;
	const char *actor;
	size_t n;
};

static int
store_session_expire_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_session_expire_job *j = arg;

	return store_session_purge(w, j->now, j->actor, &j->n, e);
}

int
store_session_expire(struct store *s, int64_t now, const char *actor, size_t *n,
		     struct lerr *e)
{
	struct store_session_expire_job j = { now, actor, 0 };
	const struct store_query ended = {
		Q_SESSION_ENDED, "reading ended sessions", { store_arg_int(now) },
	};
	int lrc;

	if (s == NULL || actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_session_expire: bad arguments");
	if (n != NULL)
		*n = 0;
	/* Called every minute: a read first, so that a minute without an
	 * ended session costs the writer nothing. */
	if ((lrc = store_lookup(s, &ended, NULL, NULL, e)) < 0)
		return -1;
	if (lrc == 1)
		return 0;
	if (store_submit(s, store_session_expire_run, &j, e) != 0)
		return -1;
	if (n != NULL)
		*n = j.n;
	return 0;
}

/*
 * Inside a job: drops the sessions that have ended at ses->now (so the
 * table stays small without a sweeper), then records this one. An unknown
 * user breaks the foreign key: LERR_NOT_FOUND.
 */
static int
store_session_insert(struct store_conn *w, const char *user, const struct store_session_new *ses,
		     struct lerr *e)
{
	const struct store_query insert = {
		Q_SESSION_INSERT, "recording the session",
		{ store_arg_blob(ses->token_hash, 32), store_arg_text(user),
		  store_arg_text(ses->csrf), store_arg_int(ses->now),
		  store_arg_int(ses->expires_at), store_arg_int(ses->idle_expires_at) },
	};
	int xrc;

	if (store_session_purge(w, ses->now, STORE_ACTOR, NULL, e) != 0)
		return -1;
	if ((xrc = store_exec_constraint(w, &insert, STORE_VIOLATION_FOREIGN_KEY, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no administrator %s", user);
	return xrc;
}

/* ---- administrators ---- */

struct store_admin_job {
	const char *user, *hash, *actor, *code_hash;
	const struct store_session_new *ses;
	int64_t at;
};

/* Writer job of store_admin_set(). */
static int
store_admin_set_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_admin_job *j = arg;
	const struct store_query set = {
		Q_ADMIN_SET, "saving the administrator",
		{ store_arg_text(j->user), store_arg_text(j->hash), store_arg_int(j->at) },
	};
	const struct store_query end = {
		Q_SESSION_END_USER, "ending the administrator's sessions", { store_arg_text(j->user) },
	};
	const struct store_query consume = { Q_SETUP_DELETE, "consuming the setup code", { { 0 } } };
	char detail[64];
	int ended = 0;

	if (store_exec(w, &set, NULL, e) != 0 || store_exec(w, &end, &ended, e) != 0 ||
	    store_exec(w, &consume, NULL, e) != 0)
		return -1;
	if (j->ses != NULL && store_session_insert(w, j->user, j->ses, e) != 0)
		return -1;
	/* The audit row names the user, never the hash. */
	snprintf(detail, sizeof(detail), "{\"sessions_ended\":%d}", ended);
	return store_audit_row(w, j->at, j->actor, "admin-set", j->user,
			       ended > 0 ? detail : NULL, e);
}

int
store_admin_set(struct store *s, const char *user, const char *hash,
		const struct store_session_new *keep, const char *actor, struct lerr *e)
{
	struct store_admin_job j;

	if (s == NULL || user == NULL || hash == NULL || actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_admin_set: bad arguments");
	if (user[0] == '\0' || strlen(user) > STORE_ADMIN_USER_MAX || hash[0] == '\0')
		return lerr_set(e, LERR_BAD_REQUEST, "bad administrator name or hash");
	if (keep != NULL && store_session_check(user, keep, e) != 0)
		return -1;
	memset(&j, 0, sizeof(j));
	j.user = user;
	j.hash = hash;
	j.actor = actor;
	j.ses = keep;
	j.at = keep != NULL ? keep->now : (int64_t)time(NULL);
	return store_submit(s, store_admin_set_run, &j, e);
}

/* The admin's password hash in a new string (caller frees); -1 with
 * LERR_NOT_FOUND if there is no such admin. */
int
store_admin_hash(struct store *s, const char *user, char **hash, struct lerr *e)
{
	const struct store_query x = {
		Q_ADMIN_HASH, "reading the administrator", { store_arg_text(user) },
	};
	int lrc;

	if (hash != NULL)
		*hash = NULL;
	if (s == NULL || user == NULL || hash == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_admin_hash: bad arguments");
	if ((lrc = store_lookup(s, &x, store_row_text_dup, hash, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no administrator %s", user);
	return lrc;
}

int
store_admin_any(struct store *s, int *any, struct lerr *e)
{
	const struct store_query x = { Q_ADMIN_ANY, "counting administrators", { { 0 } } };
	int64_t v = 0;

	if (s == NULL || any == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_admin_any: bad arguments");
	*any = 0;
	if (store_lookup(s, &x, store_row_int, &v, e) < 0)
		return -1;
	*any = v != 0;
	return 0;
}

/* ---- sessions ---- */

struct store_session_job {
	const char *user;
	const struct store_session_new *ses;
	const char *actor;
};

static int
store_session_add_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_session_job *j = arg;

	if (store_session_insert(w, j->user, j->ses, e) != 0)
		return -1;
	if (j->actor != NULL &&
	    store_audit_row(w, j->ses->now, j->actor, "login", j->user, NULL, e) != 0)
		return -1;
	return 0;
}

int
store_session_add(struct store *s, const char *user, const struct store_session_new *ses,
		  const char *actor, struct lerr *e)
{
	struct store_session_job j = { user, ses, actor };

	if (s == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_session_add: bad arguments");
	if (store_session_check(user, ses, e) != 0)
		return -1;
	return store_submit(s, store_session_add_run, &j, e);
}

/* Row reader of Q_SESSION_GET into a struct store_session. */
static int
store_session_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_session *out = arg;

	if (store_col_text(st, 0, out->user, sizeof(out->user), e) != 0 ||
	    store_col_text(st, 1, out->csrf, sizeof(out->csrf), e) != 0)
		return -1;
	out->created_at = store_get_int(st, 2);
	out->expires_at = store_get_int(st, 3);
	out->idle_expires_at = store_get_int(st, 4);
	return 0;
}

/*
 * Fills out for the session whose token hashes to token_hash, if neither
 * of its ends has come at now; -1 with LERR_NOT_FOUND otherwise (an ended
 * session is not told apart from an unknown one). On failure out is
 * zeroed.
 */
int
store_session_get(struct store *s, const unsigned char token_hash[32], int64_t now,
		  struct store_session *out, struct lerr *e)
{
	const struct store_query x = {
		Q_SESSION_GET, "reading the session",
		{ store_arg_blob(token_hash, 32), store_arg_int(now) },
	};
	int rc = -1;
	int lrc;

	if (s == NULL || token_hash == NULL || out == NULL) {
		lerr_set(e, LERR_INTERNAL, "store_session_get: bad arguments");
		goto out;
	}
	memset(out, 0, sizeof(*out));
	if ((lrc = store_lookup(s, &x, store_session_row, out, e)) < 0)
		goto out;
	if (lrc > 0) {
		lerr_set(e, LERR_NOT_FOUND, "no such session");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && out != NULL)
		sodium_memzero(out, sizeof(*out));
	return rc;
}

/* A write of one statement, without an audit row: use is not an event. */
int
store_session_touch(struct store *s, const unsigned char token_hash[32], int64_t idle_expires_at,
		    struct lerr *e)
{
	struct store_write wr;

	if (s == NULL || token_hash == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_session_touch: bad arguments");
	memset(&wr, 0, sizeof(wr));
	wr.x = (struct store_query){
		Q_SESSION_TOUCH, "refreshing the session",
		{ store_arg_blob(token_hash, 32), store_arg_int(idle_expires_at) },
	};
	return store_write(s, &wr, e);
}

/* Ends a session (logout), with its "logout" row when actor is set;
 * deleting one that is gone already succeeds. */
int
store_session_delete(struct store *s, const unsigned char token_hash[32], int64_t at,
		     const char *actor, const char *user, struct lerr *e)
{
	struct store_write wr;

	if (s == NULL || token_hash == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_session_delete: bad arguments");
	memset(&wr, 0, sizeof(wr));
	wr.x = (struct store_query){
		Q_SESSION_DELETE, "ending the session", { store_arg_blob(token_hash, 32) },
	};
	if (actor != NULL) {
		wr.at = at;
		wr.actor = actor;
		wr.event = "logout";
		wr.subject = user;
	}
	return store_write(s, &wr, e);
}

/* ---- the first-visit setup code ---- */

/* Inside a job: LERR_CONFLICT when an administrator exists. */
static int
store_no_admin_yet(struct store_conn *w, struct lerr *e)
{
	const struct store_query any = { Q_ADMIN_ANY, "counting administrators", { { 0 } } };
	int64_t v = 0;

	if (store_conn_lookup(w, &any, store_row_int, &v, e) < 0)
		return -1;
	if (v != 0)
		return lerr_set(e, LERR_CONFLICT, "an administrator exists already");
	return 0;
}

static int
store_setup_code_set_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_admin_job *j = arg;
	const struct store_query set = {
		Q_SETUP_SET, "saving the setup code",
		{ store_arg_text(j->code_hash), store_arg_int(j->at) },
	};

	if (store_no_admin_yet(w, e) != 0 || store_exec(w, &set, NULL, e) != 0)
		return -1;
	return store_audit_row(w, j->at, j->actor, "setup-code", NULL, NULL, e);
}

int
store_setup_code_set(struct store *s, const char *hash, const char *actor, struct lerr *e)
{
	struct store_admin_job j;

	if (s == NULL || hash == NULL || hash[0] == '\0' || actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_setup_code_set: bad arguments");
	memset(&j, 0, sizeof(j));
	j.code_hash = hash;
	j.actor = actor;
	j.at = (int64_t)time(NULL);
	return store_submit(s, store_setup_code_set_run, &j, e);
}

int
store_setup_code_hash(struct store *s, char **hash, struct lerr *e)
{
	const struct store_query x = { Q_SETUP_HASH, "reading the setup code", { { 0 } } };
	int lrc;

	if (hash != NULL)
		*hash = NULL;
	if (s == NULL || hash == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_setup_code_hash: bad arguments");
	if ((lrc = store_lookup(s, &x, store_row_text_dup, hash, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no setup code");
	return lrc;
}

/* Writer job of store_setup_finish(): the writer runs jobs one at a time,
 * so the checks and the insert cannot interleave with another setup. */
static int
store_setup_finish_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_admin_job *j = arg;
	const struct store_query code = { Q_SETUP_HASH, "reading the setup code", { { 0 } } };
	const struct store_query insert = {
		Q_ADMIN_INSERT, "creating the administrator",
		{ store_arg_text(j->user), store_arg_text(j->hash), store_arg_int(j->at) },
	};
	const struct store_query consume = { Q_SETUP_DELETE, "consuming the setup code", { { 0 } } };
	char *current = NULL;
	int lrc, same;

	if (store_no_admin_yet(w, e) != 0)
		return -1;
	if ((lrc = store_conn_lookup(w, &code, store_row_text_dup, &current, e)) < 0)
		return -1;
	/* Hashes are not secret: a plain compare. A code replaced since it
	 * was verified is no longer the code. */
	same = lrc == 0 && current != NULL && strcmp(current, j->code_hash) == 0;
	free(current);
	if (!same)
		return lerr_set(e, LERR_FORBIDDEN, "the setup code is no longer valid");
	if (store_exec(w, &insert, NULL, e) != 0 || store_exec(w, &consume, NULL, e) != 0 ||
	    store_session_insert(w, j->user, j->ses, e) != 0)
		return -1;
	return store_audit_row(w, j->at, j->actor, "setup", j->user, NULL, e);
}

int
store_setup_finish(struct store *s, const char *code_hash, const char *user, const char *hash,
		   const struct store_session_new *ses, const char *actor, struct lerr *e)
{
	struct store_admin_job j;

	if (s == NULL || code_hash == NULL || hash == NULL || hash[0] == '\0' || actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_setup_finish: bad arguments");
	if (store_session_check(user, ses, e) != 0)
		return -1;
	memset(&j, 0, sizeof(j));
	j.user = user;
	j.hash = hash;
	j.actor = actor;
	j.code_hash = code_hash;
	j.ses = ses;
	j.at = ses->now;
	return store_submit(s, store_setup_finish_run, &j, e);
}

/* ---- the metrics scraper's token ---- */

/* Writer job of store_metrics_token_set(): the token and its audit row
 * commit together or not at all. */
static int
store_metrics_token_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_admin_job *j = arg;
	const struct store_query set = {
		Q_METRICS_TOKEN_SET, "saving the metrics token", { store_arg_text(j->hash) },
	};
	const struct store_query del = {
		.q = Q_METRICS_TOKEN_DELETE, .what = "removing the metrics token",
	};
	int changed = 0;

	if (j->hash != NULL) {
		if (store_exec(w, &set, NULL, e) != 0)
			return -1;
	} else {
		if (store_exec(w, &del, &changed, e) != 0)
			return -1;
		if (changed == 0)
			return lerr_set(e, LERR_NOT_FOUND, "no metrics token is set");
	}
	return store_audit_row(w, j->at, j->actor, "metrics_token", NULL,
			       j->hash != NULL ? "{\"action\":\"new\"}" : "{\"action\":\"revoked\"}",
			       e);
}

int
store_metrics_token_set(struct store *s, const char *hash, const char *actor, struct lerr *e)
{
	struct store_admin_job j;

	if (s == NULL || (hash != NULL && hash[0] == '\0') || actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_metrics_token_set: bad arguments");
	memset(&j, 0, sizeof(j));
	j.hash = hash;
	j.actor = actor;
	j.at = (int64_t)time(NULL);
	return store_submit(s, store_metrics_token_run, &j, e);
}

int
store_metrics_token_hash(struct store *s, char **hash, struct lerr *e)
{
	const struct store_query x = {
		.q = Q_METRICS_TOKEN_GET, .what = "reading the metrics token",
	};
	int lrc;

	if (hash != NULL)
		*hash = NULL;
	if (s == NULL || hash == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_metrics_token_hash: bad arguments");
	if ((lrc = store_lookup(s, &x, store_row_text_dup, hash, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no metrics token is set");
	return lrc;
}
