/*
 * db_admin.c - the store's administrators and their web sessions (see
 * store.h).
 *
 * Runs on the store engine (store_int.h); every statement is in
 * db_admin_sql[] below. Passwords arrive here already hashed (Argon2id,
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

#include "lerr.h"
#include "store.h"
#include "store_int.h"

#define DB_ADMIN_USER_MAX	64	/* store_session_get fills user[65] */
#define DB_ADMIN_CSRF_MAX	64	/* and csrf[65] */

const char *const db_admin_sql[Q_COUNT] = {
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

struct db_admin_job {
	const char *user, *hash, *actor;
	int64_t now;
};

/* Writer job: creates or replaces the admin's hash; audited "admin-set". */
static int
db_admin_set_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct db_admin_job *j = arg;
	sqlite3_stmt *st;
	int rc = -1;

	if ((st = store_stmt(w, Q_ADMIN_SET, e)) == NULL)
		goto out;
	if (store_bind_text(st, 1, j->user) != SQLITE_OK ||
	    store_bind_text(st, 2, j->hash) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, j->now) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		store_sqlerr(w->db, e, "saving the administrator");
		goto out;
	}
	/* The audit row names the user, never the hash. */
	if (store_audit_row(w, j->now, j->actor, "admin-set", j->user, NULL, e) != 0)
		goto out;
	rc = 0;
out:
	store_stmt_done(st);
	return rc;
}

/* Creates the admin user or replaces their password hash; durable on
 * return. */
int
store_admin_set(struct store *s, const char *user, const char *hash, const char *actor,
		struct lerr *e)
{
	struct db_admin_job j;

	if (s == NULL || user == NULL || hash == NULL || actor == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_admin_set: bad arguments");
	if (user[0] == '\0' || strlen(user) > DB_ADMIN_USER_MAX || hash[0] == '\0')
		return lerr_set(e, 400, LERR_BAD_REQUEST, "bad administrator name or hash");
	memset(&j, 0, sizeof(j));
	j.user = user;
	j.hash = hash;
	j.actor = actor;
	j.now = (int64_t)time(NULL);
	return store_submit(s, db_admin_set_run, &j, e);
}

/* The admin's password hash in a new string (caller frees); -1 with
 * LERR_NOT_FOUND if there is no such admin. */
int
store_admin_hash(struct store *s, const char *user, char **hash, struct lerr *e)
{
	struct store_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	int src;

	if (hash != NULL)
		*hash = NULL;
	if (s == NULL || user == NULL || hash == NULL) {
		lerr_set(e, 500, LERR_INTERNAL, "store_admin_hash: bad arguments");
		goto out;
	}
	if ((c = store_reader_get(s, e)) == NULL ||
	    (st = store_stmt(c, Q_ADMIN_HASH, e)) == NULL)
		goto out;
	if (store_bind_text(st, 1, user) != SQLITE_OK) {
		store_sqlerr(c->db, e, "reading the administrator");
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		lerr_set(e, 404, LERR_NOT_FOUND, "no administrator %s", user);
		goto out;
	}
	if (src != SQLITE_ROW) {
		store_sqlerr(c->db, e, "reading the administrator");
		goto out;
	}
	if (store_col_text_dup(st, 0, hash, e) != 0)
		goto out;
	rc = 0;
out:
	store_stmt_done(st);
	store_reader_put(s, c);
	return rc;
}

/* ---- sessions ---- */

struct db_session_job {
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
db_session_add_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct db_session_job *j = arg;
	sqlite3_stmt *st;
	int rc = -1;

	if ((st = store_stmt(w, Q_SESSION_PURGE, e)) == NULL)
		goto out;
	if (sqlite3_bind_int64(st, 1, j->now) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		store_sqlerr(w->db, e, "dropping expired sessions");
		goto out;
	}
	store_stmt_done(st);
	if ((st = store_stmt(w, Q_SESSION_INSERT, e)) == NULL)
		goto out;
	if (store_bind_blob(st, 1, j->token_hash, 32) != SQLITE_OK ||
	    store_bind_text(st, 2, j->user) != SQLITE_OK ||
	    store_bind_text(st, 3, j->csrf) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, j->now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, j->expires_at) != SQLITE_OK) {
		store_sqlerr(w->db, e, "recording the session");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(w->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
			lerr_set(e, 404, LERR_NOT_FOUND, "no administrator %s", j->user);
		else
			store_sqlerr(w->db, e, "recording the session");
		goto out;
	}
	rc = 0;
out:
	store_stmt_done(st);
	return rc;
}

/* Records a session of user until expires_at, keyed by the hash of its
 * token; durable on return. */
int
store_session_add(struct store *s, const unsigned char token_hash[32], const char *user,
		  const char *csrf, int64_t expires_at, struct lerr *e)
{
	struct db_session_job j;

	if (s == NULL || token_hash == NULL || user == NULL || csrf == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_session_add: bad arguments");
	if (strlen(user) > DB_ADMIN_USER_MAX || csrf[0] == '\0' ||
	    strlen(csrf) > DB_ADMIN_CSRF_MAX)
		return lerr_set(e, 400, LERR_BAD_REQUEST, "bad session record");
	memset(&j, 0, sizeof(j));
	j.token_hash = token_hash;
	j.user = user;
	j.csrf = csrf;
	j.now = (int64_t)time(NULL);
	j.expires_at = expires_at;
	return store_submit(s, db_session_add_run, &j, e);
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
	struct store_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	int src;

	if (user != NULL)
		user[0] = '\0';
	if (csrf != NULL)
		csrf[0] = '\0';
	if (s == NULL || token_hash == NULL || user == NULL || csrf == NULL) {
		lerr_set(e, 500, LERR_INTERNAL, "store_session_get: bad arguments");
		goto out;
	}
	if ((c = store_reader_get(s, e)) == NULL ||
	    (st = store_stmt(c, Q_SESSION_GET, e)) == NULL)
		goto out;
	if (store_bind_blob(st, 1, token_hash, 32) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, now) != SQLITE_OK) {
		store_sqlerr(c->db, e, "reading the session");
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		lerr_set(e, 404, LERR_NOT_FOUND, "no such session");
		goto out;
	}
	if (src != SQLITE_ROW) {
		store_sqlerr(c->db, e, "reading the session");
		goto out;
	}
	if (store_col_text(st, 0, user, 65, e) != 0 ||
	    store_col_text(st, 1, csrf, 65, e) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0 && csrf != NULL)
		sodium_memzero(csrf, 65);
	if (rc != 0 && user != NULL)
		user[0] = '\0';
	store_stmt_done(st);
	store_reader_put(s, c);
	return rc;
}

/* Writer job: forgets one session; an unknown one is not an error. */
static int
db_session_delete_run(struct store_conn *w, void *arg, struct lerr *e)
{
	struct db_session_job *j = arg;
	sqlite3_stmt *st;
	int rc = -1;

	if ((st = store_stmt(w, Q_SESSION_DELETE, e)) == NULL)
		goto out;
	if (store_bind_blob(st, 1, j->token_hash, 32) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		store_sqlerr(w->db, e, "ending the session");
		goto out;
	}
	rc = 0;
out:
	store_stmt_done(st);
	return rc;
}

/* Ends a session (logout); deleting one that is gone already succeeds. */
int
store_session_delete(struct store *s, const unsigned char token_hash[32], struct lerr *e)
{
	struct db_session_job j;

	if (s == NULL || token_hash == NULL)
		return lerr_set(e, 500, LERR_INTERNAL, "store_session_delete: bad arguments");
	memset(&j, 0, sizeof(j));
	j.token_hash = token_hash;
	return store_submit(s, db_session_delete_run, &j, e);
}
