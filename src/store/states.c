/*
 * states.c - the one mapping between the store's state enums (request
 * state, authority, certificate status, door, profile, ACME status and
 * approval) and the TEXT the
 * schema keeps and clients see (see store.h, "states"). Nothing else in
 * lanca spells these words for a decision.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>


#include "store/store.h"
#include "store/internal.h"

static const char *const store_req_states[] = {
	[STORE_REQ_PENDING] = "pending",
	[STORE_REQ_ISSUED] = "issued",
	[STORE_REQ_DENIED] = "denied",
	[STORE_REQ_EXPIRED] = "expired",
};

static const char *const store_auths[] = {
	[STORE_AUTH_NONE] = "none",
	[STORE_AUTH_PREAUTH] = "preauth",
	[STORE_AUTH_VENDOR] = "vendor",
	[STORE_AUTH_RENEWAL] = "renewal",
	[STORE_AUTH_ADMIN] = "admin",
};

static const char *const store_cert_statuses[] = {
	[STORE_CERT_VALID] = "valid",
	[STORE_CERT_REVOKED] = "revoked",
};

static const char *const store_doors[] = {
	[STORE_DOOR_API] = "api",
	[STORE_DOOR_EST] = "est",
};

static const char *const store_acme_statuses[] = {
	[STORE_ACME_PENDING] = "pending",
	[STORE_ACME_READY] = "ready",
	[STORE_ACME_PROCESSING] = "processing",
	[STORE_ACME_VALID] = "valid",
	[STORE_ACME_INVALID] = "invalid",
	[STORE_ACME_DEACTIVATED] = "deactivated",
	[STORE_ACME_EXPIRED] = "expired",
	[STORE_ACME_REVOKED] = "revoked",
};

/* "" is an account nobody approved yet (schema/0012). */
static const char *const store_acme_approvals[] = {
	[STORE_ACME_WAITING] = "",
	[STORE_ACME_BY_ADMIN] = "admin",
	[STORE_ACME_BY_WINDOW] = "window",
	[STORE_ACME_BY_EAB] = "eab",
};

static const char *const store_profiles[] = {
	[POLICY_DEVICE] = "device",
	[POLICY_GATEWAY] = "gateway",
};

#define STORE_NWORDS(t)	(sizeof(t) / sizeof((t)[0]))

/* The word for v in t, or "?" for a value outside it (never NULL, so a
 * caller may print it). */
static const char *
store_word(const char *const *t, size_t n, int v)
{
	return v >= 0 && (size_t)v < n && t[v] != NULL ? t[v] : "?";
}

/* The value whose word is s in t: 0 with *v set, or -1. */
static int
store_word_parse(const char *const *t, size_t n, const char *s, int *v)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (t[i] != NULL && strcmp(t[i], s) == 0) {
			*v = (int)i;
			return 0;
		}
	return -1;
}

const char *
store_req_state_str(enum store_req_state st)
{
	return store_word(store_req_states, STORE_NWORDS(store_req_states), (int)st);
}

int
store_req_state_parse(const char *s, enum store_req_state *out)
{
	int v;

	if (store_word_parse(store_req_states, STORE_NWORDS(store_req_states), s, &v) != 0)
		return -1;
	*out = (enum store_req_state)v;
	return 0;
}

const char *
store_auth_str(enum store_auth a)
{
	return store_word(store_auths, STORE_NWORDS(store_auths), (int)a);
}

int
store_auth_parse(const char *s, enum store_auth *out)
{
	int v;

	if (store_word_parse(store_auths, STORE_NWORDS(store_auths), s, &v) != 0)
		return -1;
	*out = (enum store_auth)v;
	return 0;
}

const char *
store_cert_status_str(enum store_cert_status st)
{
	return store_word(store_cert_statuses, STORE_NWORDS(store_cert_statuses), (int)st);
}

int
store_cert_status_parse(const char *s, enum store_cert_status *out)
{
	int v;

	if (store_word_parse(store_cert_statuses, STORE_NWORDS(store_cert_statuses), s,
			     &v) != 0)
		return -1;
	*out = (enum store_cert_status)v;
	return 0;
}

const char *
store_door_str(enum store_door d)
{
	return store_word(store_doors, STORE_NWORDS(store_doors), (int)d);
}

int
store_door_parse(const char *s, enum store_door *out)
{
	int v;

	if (store_word_parse(store_doors, STORE_NWORDS(store_doors), s, &v) != 0)
		return -1;
	*out = (enum store_door)v;
	return 0;
}

const char *
store_profile_str(enum policy_profile p)
{
	return store_word(store_profiles, STORE_NWORDS(store_profiles), (int)p);
}

int
store_profile_parse(const char *s, enum policy_profile *out)
{
	int v;

	if (store_word_parse(store_profiles, STORE_NWORDS(store_profiles), s, &v) != 0)
		return -1;
	*out = (enum policy_profile)v;
	return 0;
}

const char *
store_acme_status_str(enum store_acme_status st)
{
	return store_word(store_acme_statuses, STORE_NWORDS(store_acme_statuses), (int)st);
}

const char *
store_acme_approval_str(enum store_acme_approval a)
{
	return store_word(store_acme_approvals, STORE_NWORDS(store_acme_approvals), (int)a);
}

/* ---- reading them from a row ---- */

/* Column col's word in t: 0 with *v set, or -1 with e naming it. */
static int
store_col_word(struct store_row *st, int col, const char *const *t, size_t n, const char *what,
	       int *v, struct lerr *e)
{
	char word[32];

	if (store_col_text(st, col, word, sizeof(word), e) != 0)
		return -1;
	if (store_word_parse(t, n, word, v) != 0)
		return lerr_set(e, LERR_STORE, "unknown %s \"%s\" in the database", what, word);
	return 0;
}

int
store_col_req_state(struct store_row *st, int col, enum store_req_state *out, struct lerr *e)
{
	int v;

	if (store_col_word(st, col, store_req_states, STORE_NWORDS(store_req_states),
			   "request state", &v, e) != 0)
		return -1;
	*out = (enum store_req_state)v;
	return 0;
}

int
store_col_auth(struct store_row *st, int col, enum store_auth *out, struct lerr *e)
{
	int v;

	if (store_col_word(st, col, store_auths, STORE_NWORDS(store_auths), "authority", &v,
			   e) != 0)
		return -1;
	*out = (enum store_auth)v;
	return 0;
}

int
store_col_cert_status(struct store_row *st, int col, enum store_cert_status *out, struct lerr *e)
{
	int v;

	if (store_col_word(st, col, store_cert_statuses, STORE_NWORDS(store_cert_statuses),
			   "certificate status", &v, e) != 0)
		return -1;
	*out = (enum store_cert_status)v;
	return 0;
}

int
store_col_profile(struct store_row *st, int col, enum policy_profile *out, struct lerr *e)
{
	int v;

	if (store_col_word(st, col, store_profiles, STORE_NWORDS(store_profiles), "profile",
			   &v, e) != 0)
		return -1;
	*out = (enum policy_profile)v;
	return 0;
}

int
store_col_door(struct store_row *st, int col, enum store_door *out, struct lerr *e)
{
	int v;

	if (store_col_word(st, col, store_doors, STORE_NWORDS(store_doors), "door", &v,
			   e) != 0)
		return -1;
	*out = (enum store_door)v;
	return 0;
}

int
store_col_acme_status(struct store_row *st, int col, enum store_acme_status *out, struct lerr *e)
{
	int v;

	if (store_col_word(st, col, store_acme_statuses, STORE_NWORDS(store_acme_statuses),
			   "ACME status", &v, e) != 0)
		return -1;
	*out = (enum store_acme_status)v;
	return 0;
}

int
store_col_acme_approval(struct store_row *st, int col, enum store_acme_approval *out,
			struct lerr *e)
{
	int v;

	if (store_col_word(st, col, store_acme_approvals, STORE_NWORDS(store_acme_approvals),
			   "ACME approval", &v, e) != 0)
		return -1;
	*out = (enum store_acme_approval)v;
	return 0;
}
