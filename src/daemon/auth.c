/*
 * auth.c - administrator passwords, enrollment secrets, session and CSRF
 * tokens, session expiry, password changes and the setup code (see auth.h
 * for the parameters and why).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include <sodium.h>

#include "common/hex.h"
#include "daemon/auditlog.h"
#include "daemon/auth.h"
#include "common/log.h"
#include "store/store.h"

/* Each Argon2id run holds AUTH_MEMLIMIT bytes; a burst of logins on the
 * daemon's per-connection threads must not add up to more than a few of
 * those, so runs wait here for one of AUTH_HASHES_AT_ONCE slots. */
static pthread_mutex_t auth_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t auth_cond = PTHREAD_COND_INITIALIZER;
static unsigned auth_running;

static void
auth_slot_take(void)
{
	pthread_mutex_lock(&auth_lock);
	while (auth_running >= AUTH_HASHES_AT_ONCE)
		pthread_cond_wait(&auth_cond, &auth_lock);
	auth_running++;
	pthread_mutex_unlock(&auth_lock);
}

static void
auth_slot_give(void)
{
	pthread_mutex_lock(&auth_lock);
	auth_running--;
	pthread_cond_signal(&auth_cond);
	pthread_mutex_unlock(&auth_lock);
}

int
auth_user_ok(const char *user)
{
	size_t i;

	if (user == NULL || user[0] == '\0' || user[0] == '-' || user[0] == '.')
		return 0;
	for (i = 0; user[i] != '\0'; i++) {
		char c = user[i];

		if (i >= AUTH_USER_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '@'))
			return 0;
	}
	return 1;
}

int
auth_password_ok(const char *pw, size_t len, struct lerr *e)
{
	if (pw == NULL || len < AUTH_PASSWORD_MIN)
		return lerr_set(e, LERR_BAD_REQUEST,
				"the password must have at least %d characters", AUTH_PASSWORD_MIN);
	if (len > AUTH_PASSWORD_MAX)
		return lerr_set(e, LERR_TOO_LARGE,
				"the password must have at most %d characters", AUTH_PASSWORD_MAX);
	/* A NUL inside would be cut off by any C caller that re-reads it. */
	if (memchr(pw, '\0', len) != NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "the password contains a NUL byte");
	return 0;
}

/* Hashes len bytes of pw into a malloc'd Argon2id string. No shape
 * checks: the callers made them. 0, or -1 with e. */
static int
auth_hash(const char *pw, size_t len, char **hash, struct lerr *e)
{
	char out[crypto_pwhash_STRBYTES];
	int rc = -1, st;

	*hash = NULL;
	auth_slot_take();
	st = crypto_pwhash_str_alg(out, pw, len, AUTH_OPSLIMIT, AUTH_MEMLIMIT,
				   crypto_pwhash_ALG_ARGON2ID13);
	auth_slot_give();
	if (st != 0) {
		/* libsodium's only failure here is running out of memory. */
		lerr_set(e, LERR_INTERNAL, "cannot hash: out of memory");
		goto out;
	}
	*hash = strdup(out);
	if (*hash == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	/* The string is not secret, but it is derived from one. */
	sodium_memzero(out, sizeof(out));
	return rc;
}

/* 0 if len bytes of pw match hash (an Argon2id string, nothing else), -1
 * otherwise. */
static int
auth_verify(const char *hash, const char *pw, size_t len)
{
	int st;

	if (hash == NULL || pw == NULL || strnlen(hash, AUTH_HASH_MAX) >= AUTH_HASH_MAX ||
	    strncmp(hash, crypto_pwhash_argon2id_STRPREFIX,
		    strlen(crypto_pwhash_argon2id_STRPREFIX)) != 0)
		return -1;
	auth_slot_take();
	st = crypto_pwhash_argon2id_str_verify(hash, pw, len);
	auth_slot_give();
	return st == 0 ? 0 : -1;
}

int
auth_hash_password(const char *pw, size_t len, char **hash, struct lerr *e)
{
	*hash = NULL;
	if (auth_password_ok(pw, len, e) != 0)
		return -1;
	return auth_hash(pw, len, hash, e);
}

int
auth_verify_password(const char *hash, const char *pw, size_t len)
{
	/* No length check here: a stored hash decides, and a too-long
	 * candidate was refused by the caller's input bound already. */
	return auth_verify(hash, pw, len);
}

int
auth_verify_dummy(const char *pw, size_t len)
{
	unsigned char salt[crypto_pwhash_SALTBYTES], out[32];

	/* A verification is one Argon2id run with the stored parameters and a
	 * compare; a run with ours on a throwaway salt costs the same. */
	randombytes_buf(salt, sizeof(salt));
	auth_slot_take();
	if (crypto_pwhash(out, sizeof(out), pw != NULL ? pw : "", pw != NULL ? len : 0, salt,
			  AUTH_OPSLIMIT, AUTH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		/* Out of memory: nothing to hide then, the request fails anyway. */
	}
	auth_slot_give();
	sodium_memzero(out, sizeof(out));
	return -1;
}

int
auth_hash_secret(const char *secret, char **hash, struct lerr *e)
{
	size_t len;

	*hash = NULL;
	if (secret == NULL || secret[0] == '\0')
		return lerr_set(e, LERR_BAD_REQUEST, "the secret is empty");
	len = strnlen(secret, AUTH_PASSWORD_MAX + 1);
	if (len > AUTH_PASSWORD_MAX)
		return lerr_set(e, LERR_TOO_LARGE,
				"the secret must have at most %d characters", AUTH_PASSWORD_MAX);
	return auth_hash(secret, len, hash, e);
}

int
auth_verify_secret(const char *hash, const char *secret)
{
	size_t len;

	if (secret == NULL)
		return -1;
	len = strnlen(secret, AUTH_PASSWORD_MAX + 1);
	if (len == 0 || len > AUTH_PASSWORD_MAX)
		return auth_verify_dummy(secret, 0);
	return auth_verify(hash, secret, len);
}

void
auth_token_new(char hex[AUTH_TOKEN_HEX + 1], unsigned char sha[32])
{
	unsigned char raw[AUTH_TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), hex);
	crypto_hash_sha256(sha, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
}

int
auth_token_sha(const char *hex, unsigned char sha[32])
{
	unsigned char raw[AUTH_TOKEN_BYTES];
	const char *end = NULL;
	size_t n = 0;
	int rc = -1;

	if (hex == NULL || strnlen(hex, AUTH_TOKEN_HEX + 1) != AUTH_TOKEN_HEX)
		goto out;
	if (sodium_hex2bin(raw, sizeof(raw), hex, AUTH_TOKEN_HEX, NULL, &n, &end) != 0 ||
	    n != sizeof(raw) || end != hex + AUTH_TOKEN_HEX)
		goto out;
	crypto_hash_sha256(sha, raw, sizeof(raw));
	rc = 0;
out:
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

void
auth_csrf_new(char hex[AUTH_TOKEN_HEX + 1])
{
	unsigned char raw[AUTH_TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), hex);
	sodium_memzero(raw, sizeof(raw));
}

int
auth_equal(const char *a, const char *b)
{
	size_t la, lb;

	if (a == NULL || b == NULL)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	/* Tokens have a fixed, public length: only their contents need the
	 * constant-time compare. */
	if (la != lb)
		return 0;
	return sodium_memcmp(a, b, la) == 0;
}

/* ---- administrators' logins and sessions ---- */

void
auth_session_wipe(struct auth_session *out)
{
	sodium_memzero(out, sizeof(*out));
}

/*
 * A wrong secret (a failed login, password check or setup code): audited
 * as event, and refused with the refusal (code, text). A guess nobody
 * could see is not answered as one: when its row cannot be written the
 * answer is the audit log's 503 instead. Either way it returns 1, so the
 * caller counts the guess against its address.
 */
static int
auth_wrong(struct store *s, const char *actor, const char *event, const char *subject,
	   const char *detail, enum lerr_code code, const char *text, struct lerr *e)
{
	struct lerr ae;

	lerr_clear(&ae);
	if (store_audit(s, actor, event, subject, detail, &ae) != 0) {
		log_err("admin: cannot record %s in the audit log: %s", event, ae.msg);
		auditlog_unwritable(e, &ae);
	} else {
		lerr_set(e, code, "%s", text);
	}
	return 1;
}

/* Checks user and pw against the store: 0 if they match; 1 if they do
 * not (*known: whether user exists); -1 with e when the store fails. */
static int
auth_check_login(struct store *s, const char *user, const char *pw, size_t pwlen, int *known,
		 struct lerr *e)
{
	char *hash = NULL;
	int rc;

	*known = 0;
	if (!auth_user_ok(user) || auth_password_ok(pw, pwlen, NULL) != 0)
		return 1;
	if (store_admin_hash(s, user, &hash, e) != 0) {
		if (e->code != LERR_NOT_FOUND)
			return -1;
		lerr_clear(e);
		(void)auth_verify_dummy(pw, pwlen);
		return 1;
	}
	*known = 1;
	rc = auth_verify_password(hash, pw, pwlen) == 0 ? 0 : 1;
	free(hash);
	return rc;
}

/* A new session of user at now into *out, and the record the store keeps
 * of it into *rec (which points into *out and into sha). */
static void
auth_session_open(const char *user, int64_t now, struct auth_session *out, unsigned char sha[32],
		  struct store_session_new *rec)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->user, sizeof(out->user), "%s", user);
	out->expires_at = now + AUTH_SESSION_TTL;
	out->idle_expires_at = now + AUTH_SESSION_IDLE;
	if (out->idle_expires_at > out->expires_at)
		out->idle_expires_at = out->expires_at;
	auth_token_new(out->token, sha);
	auth_csrf_new(out->csrf);
	memset(rec, 0, sizeof(*rec));
	rec->token_hash = sha;
	rec->csrf = out->csrf;
	rec->now = now;
	rec->expires_at = out->expires_at;
	rec->idle_expires_at = out->idle_expires_at;
}

int
auth_login(struct store *s, const char *user, const char *pw, size_t pwlen,
	   const char *actor, int64_t now, struct auth_session *out, struct lerr *e)
{
	struct store_session_new rec;
	unsigned char sha[32];
	int known, r, rc = -1;

	memset(out, 0, sizeof(*out));
	memset(sha, 0, sizeof(sha));
	r = auth_check_login(s, user, pw, pwlen, &known, e);
	if (r < 0)
		goto out;
	if (r > 0) {
		rc = auth_wrong(s, actor, "login-failed", known ? user : NULL,
				known ? "{\"reason\":\"wrong password\"}" :
					"{\"reason\":\"unknown user\"}",
				LERR_UNAUTHORIZED, "wrong user or password", e);
		goto out;
	}
	auth_session_open(user, now, out, sha, &rec);
	/* The session and its "login" row commit together, or neither. */
	if (store_session_add(s, user, &rec, actor, e) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		auth_session_wipe(out);
	sodium_memzero(sha, sizeof(sha));
	return rc;
}

int
auth_session_get(struct store *s, const char *cookie, int64_t now, int background,
		 struct auth_session *out, struct lerr *e)
{
	struct store_session row;
	unsigned char sha[32];
	struct lerr te;
	int64_t idle;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&row, 0, sizeof(row));
	if (auth_token_sha(cookie, sha) != 0) {
		lerr_set(e, LERR_UNAUTHORIZED, "login required");
		goto out;
	}
	if (store_session_get(s, sha, now, &row, e) != 0) {
		if (e->code == LERR_NOT_FOUND)
			lerr_set(e, LERR_UNAUTHORIZED, "login required");
		goto out;
	}
	snprintf(out->user, sizeof(out->user), "%s", row.user);
	snprintf(out->csrf, sizeof(out->csrf), "%s", row.csrf);
	out->expires_at = row.expires_at;
	out->idle_expires_at = row.idle_expires_at;
	/* The idle end moves on only when it is AUTH_SESSION_TOUCH seconds
	 * behind where this use would put it: at most one write a minute. */
	idle = now + AUTH_SESSION_IDLE;
	if (idle > row.expires_at)
		idle = row.expires_at;
	if (!background && idle - row.idle_expires_at >= AUTH_SESSION_TOUCH) {
		lerr_clear(&te);
		if (store_session_touch(s, sha, idle, &te) != 0)
			log_warn("admin: cannot refresh the session of %s: %s", row.user, te.msg);
		else
			out->idle_expires_at = idle;
	}
	rc = 0;
out:
	if (rc != 0)
		auth_session_wipe(out);
	sodium_memzero(&row, sizeof(row));
	sodium_memzero(sha, sizeof(sha));
	return rc;
}

int
auth_session_end(struct store *s, const char *cookie, const char *actor, const char *user,
		 struct lerr *e)
{
	unsigned char sha[32];
	int rc = -1;

	if (auth_token_sha(cookie, sha) != 0) {
		lerr_set(e, LERR_UNAUTHORIZED, "login required");
		goto out;
	}
	/* The logout and its audit row commit together, or neither. */
	if (store_session_delete(s, sha, (int64_t)time(NULL), actor, user, e) != 0)
		goto out;
	rc = 0;
out:
	sodium_memzero(sha, sizeof(sha));
	return rc;
}

int
auth_password_change(struct store *s, const char *user, const char *old, size_t oldlen,
		     const char *pw, size_t pwlen, const char *actor, int64_t now,
		     struct auth_session *out, struct lerr *e)
{
	struct store_session_new rec;
	unsigned char sha[32];
	char *hash = NULL;
	int known, r, rc = -1;

	memset(out, 0, sizeof(*out));
	memset(sha, 0, sizeof(sha));
	/* The new password's shape first: it costs no hashing. */
	if (auth_password_ok(pw, pwlen, e) != 0)
		goto out;
	r = auth_check_login(s, user, old, oldlen, &known, e);
	if (r < 0)
		goto out;
	if (r > 0) {
		rc = auth_wrong(s, actor, "password-failed", user,
				"{\"reason\":\"wrong current password\"}", LERR_FORBIDDEN,
				"the current password is wrong", e);
		goto out;
	}
	if (auth_hash_password(pw, pwlen, &hash, e) != 0)
		goto out;
	auth_session_open(user, now, out, sha, &rec);
	if (store_admin_set(s, user, hash, &rec, actor, e) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		auth_session_wipe(out);
	free(hash);
	sodium_memzero(sha, sizeof(sha));
	return rc;
}

/* ---- the first-visit setup ---- */

/* Crockford's base32: no I, L, O or U, which read as other characters. */
static const char auth_code_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int
auth_setup_code_canon(const char *in, char out[AUTH_SETUP_CODE_CHARS + 1])
{
	size_t i, n = 0;

	out[0] = '\0';
	if (in == NULL || strnlen(in, AUTH_SETUP_CODE_IN_MAX + 1) > AUTH_SETUP_CODE_IN_MAX)
		return -1;
	for (i = 0; in[i] != '\0'; i++) {
		char c = in[i];

		if (c == '-' || c == ' ')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c == 'O')
			c = '0';
		else if (c == 'I' || c == 'L')
			c = '1';
		if (c == '\0' || strchr(auth_code_alphabet, c) == NULL || n >= AUTH_SETUP_CODE_CHARS) {
			sodium_memzero(out, AUTH_SETUP_CODE_CHARS + 1);
			return -1;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	if (n != AUTH_SETUP_CODE_CHARS) {
		sodium_memzero(out, AUTH_SETUP_CODE_CHARS + 1);
		return -1;
	}
	return 0;
}

int
auth_setup_code_new(struct store *s, const char *actor, char code[AUTH_SETUP_CODE_SIZE],
		    struct lerr *e)
{
	char canon[AUTH_SETUP_CODE_CHARS + 1];
	char *hash = NULL;
	size_t i, n = 0;
	int rc = -1;

	for (i = 0; i < AUTH_SETUP_CODE_CHARS; i++) {
		canon[i] = auth_code_alphabet[randombytes_uniform(sizeof(auth_code_alphabet) - 1)];
		if (i > 0 && i % 4 == 0)
			code[n++] = '-';
		code[n++] = canon[i];
	}
	canon[i] = '\0';
	code[n] = '\0';
	if (auth_hash_secret(canon, &hash, e) != 0 || store_setup_code_set(s, hash, actor, e) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		sodium_memzero(code, AUTH_SETUP_CODE_SIZE);
	sodium_memzero(canon, sizeof(canon));
	free(hash);
	return rc;
}

int
auth_setup_needed(struct store *s, int *needed, struct lerr *e)
{
	int any = 1;

	*needed = 0;
	if (store_admin_any(s, &any, e) != 0)
		return -1;
	*needed = !any;
	return 0;
}

/* 0 if code is the setup code whose hash the store holds (a copy goes to
 * *hash, the caller's); 1 if it is not; -1 with e when the store fails.
 * A code that cannot be one, or no code on record, costs the same
 * verification as a wrong one. */
static int
auth_setup_code_check(struct store *s, const char *code, char **hash, struct lerr *e)
{
	char canon[AUTH_SETUP_CODE_CHARS + 1];
	int shaped, rc = -1;

	*hash = NULL;
	shaped = auth_setup_code_canon(code, canon) == 0;
	if (store_setup_code_hash(s, hash, e) != 0 && e->code != LERR_NOT_FOUND)
		goto out;
	lerr_clear(e);
	rc = 1;
	if (*hash == NULL || !shaped) {
		(void)auth_verify_dummy(code, code != NULL ? strnlen(code, AUTH_SETUP_CODE_IN_MAX) : 0);
		goto out;
	}
	if (auth_verify_secret(*hash, canon) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		free(*hash);
		*hash = NULL;
	}
	sodium_memzero(canon, sizeof(canon));
	return rc;
}

int
auth_setup(struct store *s, const char *code, const char *user, const char *pw, size_t pwlen,
	   const char *actor, int64_t now, struct auth_session *out, struct lerr *e)
{
	struct store_session_new rec;
	unsigned char sha[32];
	char *code_hash = NULL, *hash = NULL;
	int needed, r, rc = -1;

	memset(out, 0, sizeof(*out));
	memset(sha, 0, sizeof(sha));
	if (auth_setup_needed(s, &needed, e) != 0)
		goto out;
	if (!needed) {
		lerr_set(e, LERR_CONFLICT, "an administrator exists already: log in instead");
		goto out;
	}
	/* The same rules as `lanca admin passwd`: its checks, not a copy. */
	if (!auth_user_ok(user)) {
		lerr_set(e, LERR_BAD_REQUEST, "invalid user name: use 1 to %d of A-Z a-z 0-9 . _ - @",
			 AUTH_USER_MAX);
		goto out;
	}
	if (auth_password_ok(pw, pwlen, e) != 0)
		goto out;
	r = auth_setup_code_check(s, code, &code_hash, e);
	if (r > 0)
		rc = auth_wrong(s, actor, "setup-failed", NULL, "{\"reason\":\"wrong setup code\"}",
				LERR_FORBIDDEN, "wrong setup code", e);
	if (r != 0)
		goto out;
	if (auth_hash_password(pw, pwlen, &hash, e) != 0)
		goto out;
	auth_session_open(user, now, out, sha, &rec);
	if (store_setup_finish(s, code_hash, user, hash, &rec, actor, e) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		auth_session_wipe(out);
	free(code_hash);
	free(hash);
	sodium_memzero(sha, sizeof(sha));
	return rc;
}
