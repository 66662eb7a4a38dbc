/*
 * auth.h - administrator passwords, enrollment secrets, session and CSRF
 * tokens.
 *
 * Owns: the password-hashing parameters (Argon2id through libsodium), the
 * shape of passwords, user names and tokens, and a cap on how many hashes
 * run at once in this process (each one holds AUTH_MEMLIMIT bytes).
 * and the administrators' logins and sessions over the store (a session
 * is found by the SHA-256 of its token; the store never sees the token),
 * the sessions' expiry rules, password changes and the one-time setup
 * code that lets the first visitor create the first administrator.
 * Callers: api_admin.c (setup, login, sessions, password changes),
 * cmd_admin.c (`lanca admin passwd`, `setup-code`), init.c (the first
 * setup code), preauth.c (enrollment secrets of pre-authorised devices).
 *
 * Secrets: every buffer here that held a password, secret or token is
 * wiped before it is freed or goes out of scope. A session token leaves
 * this module only as hex for the cookie and as its SHA-256 for the
 * store: the store never sees the token itself.
 *
 * Cost: Argon2id, t=3, m=32 MiB, one lane. libsodium's INTERACTIVE preset
 * is t=2, m=64 MiB (56 ms on the 2-core x86 build host) and MODERATE is
 * t=3, m=256 MiB (370 ms): a gateway with 256-512 MiB of RAM cannot give
 * a quarter of it to one login. 32 MiB with one more pass costs about the
 * same per guess (33 ms on the build host, a few hundred ms on a small ARM
 * board) while staying above OWASP's floor (19 MiB, t=2). Verification
 * reads the parameters from the stored string, so hashes made with other
 * parameters keep working if these change.
 */
#ifndef LANCA_AUTH_H
#define LANCA_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include "common/lerr.h"

#define AUTH_OPSLIMIT		3ULL
#define AUTH_MEMLIMIT		((size_t)32 * 1024 * 1024)
#define AUTH_HASH_MAX		128	/* = crypto_pwhash_STRBYTES, with the NUL */
#define AUTH_HASHES_AT_ONCE	2	/* concurrent Argon2id runs per process */

#define AUTH_PASSWORD_MIN	8
#define AUTH_PASSWORD_MAX	1024
#define AUTH_USER_MAX		64	/* bytes, without the NUL */

#define AUTH_TOKEN_BYTES	32
#define AUTH_TOKEN_HEX		(2 * AUTH_TOKEN_BYTES)	/* without the NUL */
/* A session ends AUTH_SESSION_TTL seconds after login whatever happens,
 * and AUTH_SESSION_IDLE seconds after its last use. Use moves the idle end
 * on at most once every AUTH_SESSION_TOUCH seconds, so that an admin
 * clicking through the console does not cost a database commit per
 * request: the idle end may come up to that much early. */
#define AUTH_SESSION_TTL	(12 * 3600)
#define AUTH_SESSION_IDLE	(30 * 60)
#define AUTH_SESSION_TOUCH	60

/* The setup code: 16 characters of Crockford's base32 (80 bits from
 * libsodium), printed in groups of four ("7KQ4-M2XP-9WFD-3HJA"). Typed
 * back, case, dashes and spaces do not matter, and O, I and L read as 0,
 * 1 and 1. */
#define AUTH_SETUP_CODE_CHARS	16
#define AUTH_SETUP_CODE_SIZE	(AUTH_SETUP_CODE_CHARS + AUTH_SETUP_CODE_CHARS / 4)	/* printed, with the NUL */
#define AUTH_SETUP_CODE_IN_MAX	64	/* longest code accepted as typed */

/* 1 if user is a plausible administrator name: 1..AUTH_USER_MAX bytes of
 * [A-Za-z0-9._@-], not starting with '-' or '.'. */
int auth_user_ok(const char *user);

/* 0 if a password of len bytes is acceptable: AUTH_PASSWORD_MIN ..
 * AUTH_PASSWORD_MAX bytes and no NUL byte; -1 with e (400) otherwise. */
int auth_password_ok(const char *pw, size_t len, struct lerr *e);

/* Hashes a password (checked with auth_password_ok) into a new Argon2id
 * string ("$argon2id$v=19$..."), malloc'd into *hash for the caller to
 * free. 0, or -1 with e. */
int auth_hash_password(const char *pw, size_t len, char **hash, struct lerr *e);

/* 0 if pw matches hash, -1 if it does not or hash is not a valid Argon2id
 * string. Takes as long as hashing pw with hash's parameters. */
int auth_verify_password(const char *hash, const char *pw, size_t len);

/* Spends the work of a verification against a fixed hash made with our
 * parameters and always returns -1: called when the user does not exist,
 * so that a wrong user name costs what a wrong password costs. */
int auth_verify_dummy(const char *pw, size_t len);

/* The same for enrollment secrets of pre-authorised devices, which are
 * NUL-terminated and may be of any length from 1 to AUTH_PASSWORD_MAX. */
int auth_hash_secret(const char *secret, char **hash, struct lerr *e);
/* 0 if secret matches hash, -1 otherwise (as auth_verify_password). */
int auth_verify_secret(const char *hash, const char *secret);

/* A new session token: 32 random bytes, as lowercase hex into hex (for
 * the cookie) and as their SHA-256 into sha (for the store). */
void auth_token_new(char hex[AUTH_TOKEN_HEX + 1], unsigned char sha[32]);
/* The SHA-256 of the token a cookie carries. 0, or -1 unless hex is
 * exactly AUTH_TOKEN_HEX hex digits (either case). */
int auth_token_sha(const char *hex, unsigned char sha[32]);
/* A new CSRF token: 32 random bytes as lowercase hex. */
void auth_csrf_new(char hex[AUTH_TOKEN_HEX + 1]);
/* 1 if the two strings are equal, 0 if not. When their lengths match the
 * comparison takes the same time wherever they differ (sodium_memcmp);
 * NULL never equals anything. */
int auth_equal(const char *a, const char *b);

/* ---- administrators' logins and sessions ---- */
struct store;

/* A session: as opened (token set, for the cookie) or as read back for a
 * request (token ""). Wipe with auth_session_wipe(). */
struct auth_session {
	char user[AUTH_USER_MAX + 1];
	char token[AUTH_TOKEN_HEX + 1];	/* the cookie's value */
	char csrf[AUTH_TOKEN_HEX + 1];	/* for the X-CSRF-Token header */
	int64_t expires_at;		/* the absolute end */
	int64_t idle_expires_at;	/* the end if it is not used before */
};
void auth_session_wipe(struct auth_session *out);

/*
 * Checks user and pw (pwlen bytes) against the store and, when they match,
 * opens a session at now into *out, audited "login" as actor (a session
 * whose audit row cannot be written is closed again: a login nobody can
 * see must not happen). A name that cannot exist and a password we never
 * accept are wrong like any other, without hashing; an unknown user costs
 * what a wrong password costs. A wrong login is audited "login-failed"
 * (the user named only if it exists: people type passwords into the user
 * field) and returns 1 with LERR_UNAUTHORIZED; anything else that fails,
 * -1 with its own code.
 *
 * A wrong secret here, in a password change and in a setup returns 1
 * whatever the answer, so that the caller counts the guess against its
 * address; when its audit row cannot be written, the answer is not the
 * refusal but the audit log's 503 (auditlog_unwritable): an attempt that
 * leaves no trace is not answered.
 */
int auth_login(struct store *s, const char *user, const char *pw, size_t pwlen,
	       const char *actor, int64_t now, struct auth_session *out, struct lerr *e);

/* The session whose token the cookie (hex) carries, if it has not ended
 * at now: fills out (token left ""). Unless background is set, moves its
 * idle end on when it is more than AUTH_SESSION_TOUCH seconds old (a
 * failure to is logged, not fatal): a page refreshing itself on a timer
 * is not a person using the console, and must not keep the session from
 * ending when idle. -1 with LERR_UNAUTHORIZED when there is none (or the
 * cookie is malformed), other codes for store failures. */
int auth_session_get(struct store *s, const char *cookie, int64_t now, int background,
		     struct auth_session *out, struct lerr *e);

/* Ends the session the cookie carries; with actor set, audited "logout"
 * of user (an audit failure is logged, the session ends anyway). */
int auth_session_end(struct store *s, const char *cookie, const char *actor, const char *user,
		     struct lerr *e);

/*
 * An admin's password change: checks old against user's password (wrong:
 * 1 with LERR_FORBIDDEN, audited "password-failed"), hashes new (checked
 * with auth_password_ok: 400), and in one transaction stores it, ends
 * every session of user and opens a new one at now into *out, the
 * caller's (audited "admin-set" as actor).
 */
int auth_password_change(struct store *s, const char *user, const char *old, size_t oldlen,
			 const char *pw, size_t pwlen, const char *actor, int64_t now,
			 struct auth_session *out, struct lerr *e);

/* ---- the first-visit setup ---- */

/* Makes a new setup code into code (as printed) and records its Argon2id
 * hash in the store, replacing any older code; audited "setup-code" as
 * actor. LERR_CONFLICT once an admin exists. Wipe code after printing. */
int auth_setup_code_new(struct store *s, const char *actor, char code[AUTH_SETUP_CODE_SIZE],
			struct lerr *e);
/* The code as typed, in its canonical form (16 upper-case characters of
 * the alphabet), into out: 0, or -1 if it cannot be a setup code. */
int auth_setup_code_canon(const char *in, char out[AUTH_SETUP_CODE_CHARS + 1]);
/* *needed: 1 while no administrator exists (a setup may happen), else 0. */
int auth_setup_needed(struct store *s, int *needed, struct lerr *e);

/*
 * The first visitor's setup: creates the administrator user with password
 * pw, if code is the setup code, and opens a session at now into *out.
 * Refusals: LERR_CONFLICT once any admin exists (checked first, and again
 * in the transaction that creates the admin, so of two racing setups one
 * wins); LERR_BAD_REQUEST (or LERR_TOO_LARGE) for a user name or password
 * `lanca admin passwd` would refuse; 1 with LERR_FORBIDDEN for a wrong code
 * (audited "setup-failed"), which costs an Argon2id verification like a
 * right one. The code is consumed with the account's creation.
 */
int auth_setup(struct store *s, const char *code, const char *user, const char *pw,
	       size_t pwlen, const char *actor, int64_t now, struct auth_session *out,
	       struct lerr *e);

#endif
