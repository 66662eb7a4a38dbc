/*
 * admin.h - the administrator's onboarding actions: press the button,
 * approve or deny a pending request, list requests.
 *
 * Owns: the one copy of every bound these actions have (press seconds and
 * count, the length of a denial's reason, the shape of a request id, the
 * states and the size of a listing) and the one JSON shape of a request
 * row. Every door calls these functions and only translates: the admin
 * API (http/api_admin.c), the control socket (control.c), SIGUSR1 (`lanca
 * serve`) and the CLI, through the control socket while a daemon runs and
 * directly when none does. The decisions themselves are enroll.c's.
 */
#ifndef LANCA_ADMIN_H
#define LANCA_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "common/lerr.h"
#include "store/store.h"

#define ADMIN_REASON_MAX	200	/* bytes of a denial's reason */
#define ADMIN_LIST_MAX		1000	/* rows in one listing */
#define ADMIN_STATE_MAX		15	/* bytes of a state name, without the NUL */

struct enroll;

/* A press: 0 takes the default (WINDOW_SECONDS_DEFAULT, one device). */
struct admin_press {
	unsigned seconds;
	unsigned count;
};

/* A listing: STORE_REQ_ANY lists every state; limit 0 means ADMIN_LIST_MAX. */
struct admin_list {
	enum store_req_state state;
	unsigned limit;
};

/*
 * Reads a press from a JSON object's "seconds" and "count" members: each
 * absent (the default) or an integer from 1 to its maximum. args may be
 * NULL (all defaults). 0, or -1 with e (bad_request) naming the bounds.
 */
int admin_press_parse(const json_t *args, struct admin_press *out, struct lerr *e);

/* 0 if id is a request id (STORE_REQUEST_ID_LEN lower-case hex digits);
 * -1 with e (bad_request) otherwise. NULL is not an id. */
int admin_id_check(const char *id, struct lerr *e);

/* 0 if reason may be a denial's reason: NULL or "" (the default reason),
 * or at most ADMIN_REASON_MAX bytes without control characters; -1 with
 * e (bad_request) otherwise. */
int admin_reason_check(const char *reason, struct lerr *e);

/*
 * Reads a listing from "state" (absent: every state; else pending,
 * issued, denied or expired) and "limit" (absent: ADMIN_LIST_MAX; else 1
 * to ADMIN_LIST_MAX) of a JSON object, which may be NULL. 0, or -1 with e.
 */
int admin_list_parse(const json_t *args, struct admin_list *out, struct lerr *e);

/*
 * Presses the button of en's window as actor. p NULL: the defaults. On
 * success *window (if not NULL) receives the window as
 * enroll_window_json() gives it (a new reference, NULL only when out of
 * memory). 0, or -1 with e.
 */
int admin_press(struct enroll *en, const struct admin_press *p, const char *actor,
		json_t **window, struct lerr *e);

/* Issues pending request id as actor; serial receives the certificate's
 * serial (hex). 0, or -1 with e. */
int admin_approve(struct enroll *en, const char *id, const char *actor,
		  char serial[2 * STORE_SERIAL_MAX + 1], struct lerr *e);

/* Denies pending request id as actor, with reason (NULL or "": the
 * default). 0, or -1 with e. */
int admin_deny(struct enroll *en, const char *id, const char *reason, const char *actor,
	       struct lerr *e);

/*
 * Lists requests of s as l says (NULL: every state, ADMIN_LIST_MAX rows),
 * newest first, after expiring those nobody decided on in time (at now).
 * *out receives a new JSON array of admin_request_json() rows. 0, or -1
 * with e (*out NULL).
 */
int admin_list_json(struct store *s, const struct admin_list *l, int64_t now, json_t **out,
		    struct lerr *e);

/* The same rows as data: fn is called for each (a non-zero return stops
 * the listing and is returned as -1 with e set to "internal"). */
int admin_list_each(struct store *s, const struct admin_list *l, int64_t now,
		    int (*fn)(const struct store_request *rq, void *arg), void *arg,
		    struct lerr *e);

/* One request as the admin sees it: {"id", "device_id", "key", "state",
 * "auth", "source", "reason", "created_at", "last_seen", "expires_at",
 * "contested"}. A new reference; NULL when out of memory. */
json_t *admin_request_json(const struct store_request *rq);

#endif
