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
#define ADMIN_LIST_DEFAULT	100	/* rows in a page when no limit is named */
#define ADMIN_LIST_MAX		STORE_PAGE_MAX	/* rows in one page at most */
#define ADMIN_CURSOR_MAX	24	/* bytes of a cursor, without the NUL */
#define ADMIN_STATE_MAX		15	/* bytes of a state name, without the NUL */

struct enroll;

/* A press: 0 takes the default (WINDOW_SECONDS_DEFAULT, one device). */
struct admin_press {
	unsigned seconds;
	unsigned count;
};

/*
 * A listing is read a page at a time, newest first (the store's pages):
 * STORE_REQ_ANY lists every state; limit 0 means ADMIN_LIST_DEFAULT; after
 * 0 starts from the newest, else it is the position a cursor names. A
 * cursor is the text a page gives as its "next": opaque to its readers,
 * who only pass it back to get the page that follows.
 */
struct admin_list {
	enum store_req_state state;
	unsigned limit;
	int64_t after;
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
 * issued, denied or expired), "limit" (absent: ADMIN_LIST_DEFAULT; else 1
 * to ADMIN_LIST_MAX) and "cursor" (absent: the first page; else a page's
 * "next") of a JSON object, which may be NULL. 0, or -1 with e
 * (bad_request naming the member) and *out zeroed.
 */
int admin_list_parse(const json_t *args, struct admin_list *out, struct lerr *e);

/* The same from text, as a query string or command line gives it: each
 * of state, limit (decimal digits) and cursor NULL when absent. */
int admin_list_text(const char *state, const char *limit, const char *cursor,
		    struct admin_list *out, struct lerr *e);

/* The cursor of position after into out ("" for 0: no page follows). */
void admin_cursor_format(int64_t after, char out[ADMIN_CURSOR_MAX + 1]);

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
 * Lists a page of requests of s as l says (NULL: the first page of every
 * state, ADMIN_LIST_DEFAULT rows), newest first, after expiring those
 * nobody decided on in time (at now). *out receives a new JSON object
 * {"requests": [admin_request_json() rows], "next": cursor}, "next"
 * absent on the last page. 0, or -1 with e (*out NULL).
 */
int admin_list_json(struct store *s, const struct admin_list *l, int64_t now, json_t **out,
		    struct lerr *e);

/* The same rows as data: fn is called for each (a non-zero return stops
 * the listing and is returned as -1 with e set to "internal"); next
 * receives the cursor of the page that follows, "" when none does. */
int admin_list_each(struct store *s, const struct admin_list *l, int64_t now,
		    int (*fn)(const struct store_request *rq, void *arg), void *arg,
		    char next[ADMIN_CURSOR_MAX + 1], struct lerr *e);

/* One request as the admin sees it: {"id", "device_id", "key", "state",
 * "auth", "source", "reason", "created_at", "last_seen", "expires_at",
 * "contested"}. A new reference; NULL when out of memory. */
json_t *admin_request_json(const struct store_request *rq);

#endif
