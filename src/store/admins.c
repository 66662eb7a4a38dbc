/*
 * admins.c - the store's administrators and their web sessions (see
 * store.h).
 *
 * Runs on the store engine (internal.h); every statement is in
 * store_sql_admins[] below. Passwords arrive here already hashed (Argon2id,
 * auth.c); sessions are keyed by the SHA-256 of their token, so a copy of
 * the database does not hand out live sessions.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "common/lerr.h"
#include "store/store.h"
#include "store/internal.h"

#define STORE_ADMIN_USER_MAX	64	/* store_session_get fills user[65] */
#define STORE_ADMIN_CSRF_MAX	64	/* and csrf[65] */

const char *const store_sql_admins[Q_COUNT] = {
	[Q_ADMIN_SET] =
		"INSERT INTO admins (user, hash, created_at, updated_at) "
		"VALUES (?1, ?2, ?3, ?3) ON CONFLICT (user) DO UPDATE "
		"SET hash = excluded.hash, updated_at = excluded.updated_at",
	[Q_ADMIN_HASH] = "SELECT hash FROM admins WHERE user = ?",
	[Q_SESSION_PURGE] = "DELETE FROM sessions WHERE expires_at <= ?",
	[Q_SESSION_INSERT] =
		"INSERT INTO sessions (token_hash, user, csrf, created_at, expires_at) "
		"VALUES (?, ?, ?, ?, ?)",
	[Q_SESSION_GET] =
		"SELECT user, csrf FROM sessions WHERE token_hash = ? AND expires_at > ?",
	[Q_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = ?",
};

/* ---- administrators ---- */

/* Creates the admin user or replaces their password hash, audited
 * "admin-set"; durable on return. */
int
store_admin_set(struct store *s, const char *user, const char *hash, const char *actor,
		struct lerr *e)
{
	struct store_write wr;

	if (s == NULL || user == NULL || hash == NULL || actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_admin_set: bad arguments");
	if (user[0] == '\0' || strlen(user) > STORE_ADMIN_USER_MAX || hash[0] == '\0')
		return lerr_set(e, LERR_BAD_REQUEST, "bad administrator name or hash");
	memset(&wr, 0, sizeof(wr));
	wr.at = (int64_t)time(NULL);
	wr.x = (struct store_query){
		Q_ADMIN_SET, "saving the administrator",
		{ store_arg_text(user), store_arg_text(hash), store_arg_int(wr.at) },
	};
	/* The audit row names the user, never the hash. */
	wr.actor = actor;
	wr.event = "admin-set";
	wr.subject = user;
	return store_write(s, &wr, e);
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

/* ---- sessions ---- */

struct store_session_job {
	const unsigned char *token_hash;
	const char *user, *csrf;
	int64_t now, expires_at;
};

/*
 * Writer job: drops the sessions that have expired (so the table stays
 * small without a sweeper), then adds this one. An unknown user breaks the
 * foreign key: LERR_NOT_FOUND.
 */
static int
store_session_add_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct store_session_job *j = arg;
	const struct store_query purge = {
		Q_SESSION_PURGE, "dropping expired sessions", { store_arg_int(j->now) },
	};
	const struct store_query insert = {
		Q_SESSION_INSERT, "recording the session",
		{ store_arg_blob(j->token_hash, 32), store_arg_text(j->user),
		  store_arg_text(j->csrf), store_arg_int(j->now),
		  store_arg_int(j->expires_at) },
	};
	int xrc;

	if (store_exec(w, &purge, NULL, e) != 0)
		return -1;
	if ((xrc = store_exec_constraint(w, &insert, SQLITE_CONSTRAINT_FOREIGNKEY, e)) > 0)
		return lerr_set(e, LERR_NOT_FOUND, "no administrator %s", j->user);
	return xrc;
}

/* Records a session of user until expires_at, keyed by the hash of its
 * token; durable on return. */
int
store_session_add(struct store *s, const unsigned char token_hash[32], const char *user,
		  const char *csrf, int64_t expires_at, struct lerr *e)
{
	struct store_session_job j;

	if (s == NULL || token_hash == NULL || user == NULL || csrf == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_session_add: bad arguments");
	if (strlen(user) > STORE_ADMIN_USER_MAX || csrf[0] == '\0' ||
	    strlen(csrf) > STORE_ADMIN_CSRF_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "bad session record");
	memset(&j, 0, sizeof(j));
	j.token_hash = token_hash;
	j.user = user;
	j.csrf = csrf;
	j.now = (int64_t)time(NULL);
	j.expires_at = expires_at;
	return store_submit(s, store_session_add_run, &j, e);
}

/* Row reader: a session's user and csrf into the two char[65] of arg. */
static int
store_session_row(sqlite3_stmt *st, void *arg, struct lerr *e)
{
	char **dst = arg;

	if (store_col_text(st, 0, dst[0], 65, e) != 0 ||
	    store_col_text(st, 1, dst[1], 65, e) != 0)
		return -1;
	return 0;
}

/*
 * Fills user and csrf for the session whose token hashes to token_hash,
 * if it is unexpired at now; -1 with LERR_NOT_FOUND otherwise (an expired
 * session is not told apart from an unknown one). On failure both are "".
 */
int
store_session_get(struct store *s, const unsigned char token_hash[32], int64_t now,
		  char user[65], char csrf[65], struct lerr *e)
{
	const struct store_query x = {
		Q_SESSION_GET, "reading the session",
		{ store_arg_blob(token_hash, 32), store_arg_int(now) },
	};
	char *dst[2] = { user, csrf };
	int rc = -1;
	int lrc;

	if (user != NULL)
		user[0] = '\0';
	if (csrf != NULL)
		csrf[0] = '\0';
	if (s == NULL || token_hash == NULL || user == NULL || csrf == NULL) {
		lerr_set(e, LERR_INTERNAL, "store_session_get: bad arguments");
		goto out;
	}
	if ((lrc = store_lookup(s, &x, store_session_row, dst, e)) < 0)
		goto out;
	if (lrc > 0) {
		lerr_set(e, LERR_NOT_FOUND, "no such session");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && csrf != NULL)
		sodium_memzero(csrf, 65);
	if (rc != 0 && user != NULL)
		user[0] = '\0';
	return rc;
}

/* Ends a session (logout); deleting one that is gone already succeeds. */
int
store_session_delete(struct store *s, const unsigned char token_hash[32], struct lerr *e)
{
	struct store_write wr;

	if (s == NULL || token_hash == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_session_delete: bad arguments");
	memset(&wr, 0, sizeof(wr));
	wr.x = (struct store_query){
		Q_SESSION_DELETE, "ending the session", { store_arg_blob(token_hash, 32) },
	};
	return store_write(s, &wr, e);
}
