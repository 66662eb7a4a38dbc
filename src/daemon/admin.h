/*
 * admin.h - the administrator's actions: press the button, approve or
 * deny a pending request, list requests; and the inventory: certificates
 * searched and sorted, one certificate with its history, revocation, the
 * audit log and the overview; and the shell's inventory (`lanca list`,
 * `show`): certificates by status, expiry or device, looked up by serial
 * or device id, with the API's rows.
 *
 * Owns: the one copy of every bound these actions have (press seconds and
 * count, the length of a reason, the shape of a request id and of a
 * serial, the states, sorts and filters and the size of a listing) and
 * the one JSON shape of each row they answer. Every door calls these functions and only translates: the admin
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
#include "ca/crl.h"
#include "store/store.h"

#define ADMIN_REASON_MAX	200	/* bytes of a denial's reason */
#define ADMIN_LIST_DEFAULT	100	/* rows in a page when no limit is named */
#define ADMIN_LIST_MAX		STORE_PAGE_MAX	/* rows in one page at most */
#define ADMIN_CURSOR_MAX	24	/* bytes of a cursor, without the NUL */
#define ADMIN_STATE_MAX		15	/* bytes of a state name, without the NUL */

struct enroll;
struct revocation;

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

/* One request as the admin sees it: {"id", "device_id", "key" (and the
 * same as "key_id"), "key_type" ("ecdsa-p256", "ecdsa-p384", "ed25519",
 * "rsa-BITS"), "names" (["DNS:...", "IP:..."], as the request asks),
 * "state", "auth", "door" ("api", "est"), "source", "reason",
 * "created_at", "last_seen", "expires_at", "contested", "via"
 * (enroll_request_via())}. A new
 * reference; NULL when out of memory. */
json_t *admin_request_json(const struct store_request *rq);

/* ---- the inventory ---- */

#define ADMIN_HISTORY_MAX	50	/* audit rows in a certificate's history */
#define ADMIN_EVENT_MAX		32	/* bytes of an audit event's name */
#define ADMIN_OVERVIEW_WEEKS	13
#define ADMIN_OVERVIEW_DAYS	30

/*
 * A page of certificates: q (a search, STORE_SEARCH_MAX bytes at most,
 * "" for all), status (-1 any), sort and order, then limit and after as
 * in struct admin_list.
 */
struct admin_cert_list {
	char q[STORE_SEARCH_MAX + 1];
	int status;
	enum store_cert_sort sort;
	int ascending;
	unsigned limit;
	int64_t after;
};

/* Reads a certificate listing from text (a query string's arguments,
 * each NULL when absent): q, status ("valid", "revoked"), sort
 * ("issued", the default, "expires", "device"), order ("desc", the
 * default, "asc"), limit (1 to ADMIN_LIST_MAX) and cursor (a page's
 * "next_cursor"). 0, or -1 with e (bad_request naming the argument). */
int admin_cert_list_text(const char *q, const char *status, const char *sort,
			 const char *order, const char *limit, const char *cursor,
			 struct admin_cert_list *out, struct lerr *e);

/* A page of certificates: {"items": [admin_cert_json() rows],
 * "next_cursor": cursor or null}. 0, or -1 with e (*out NULL). */
int admin_cert_list_json(struct store *s, const struct admin_cert_list *l, json_t **out,
			 struct lerr *e);

/* One certificate in a listing: {"serial" (hex), "device_id", "names",
 * "issued_at", "not_after", "status"}. NULL when out of memory. */
json_t *admin_cert_json(const struct store_cert *c);

/* Reads a serial in hex (2 to 2 * STORE_SERIAL_MAX digits, an even
 * number, either case) into serial[*len]. 0, or -1 with e
 * (bad_request). */
int admin_serial_parse(const char *text, unsigned char serial[STORE_SERIAL_MAX], size_t *len,
		       struct lerr *e);

/* One certificate by serial (hex): admin_cert_json()'s members and
 * "subject", "not_before", "revoked_at" (null while valid),
 * "revoke_reason" (the RFC 5280 reason's word, null while valid),
 * "revoke_comment" (null when none), "request_id" (null when none),
 * "pem" (the certificate as the device got it) and "history" (the newest
 * ADMIN_HISTORY_MAX audit rows about its device, as admin_audit_json
 * writes them, newest first). bad_request for a serial that is not one,
 * not_found for one that is unknown. */
int admin_cert_get_json(struct store *s, const char *serial, json_t **out, struct lerr *e);

/* The detail admin_cert_get_json gives, of certificate c. */
int admin_cert_detail_json(struct store *s, const struct store_cert *c, json_t **out,
			   struct lerr *e);

/* ---- the shell's inventory (lanca list, show, export) ---- */

#define ADMIN_EXPIRING_MAX	(36500LL * 86400)	/* --expiring at most 100 years */
#define ADMIN_DEVICE_MAX	64	/* bytes of a device id (struct store_cert) */

/* What `lanca list --status` names. Unlike the API's status (the stored
 * one), valid here means valid now: not revoked and not past not_after;
 * expired means not revoked but past not_after (a revoked certificate is
 * revoked, expired or not). */
enum admin_inv_status {
	ADMIN_INV_ANY = 0,
	ADMIN_INV_VALID,
	ADMIN_INV_REVOKED,
	ADMIN_INV_EXPIRED,
};

/*
 * A page of the shell's listing: status, expiring (seconds: only valid
 * certificates whose not_after is within that long from now; 0 for no
 * such filter), device (exactly this device id's; "" for any), then
 * limit and after as in struct admin_list. The order follows the
 * filter: soonest expiring first with expiring, the latest expired
 * first for expired, else newest issued first.
 */
struct admin_inventory {
	enum admin_inv_status status;
	int64_t expiring;
	char device[ADMIN_DEVICE_MAX + 1];
	unsigned limit;
	int64_t after;
};

/* Reads a span of time: decimal digits, alone (seconds) or followed by
 * "s" (seconds), "h" (hours) or "d" (days), from 1 second to
 * ADMIN_EXPIRING_MAX. 0, or -1 with e (bad_request naming the forms). */
int admin_duration_parse(const char *text, int64_t *out, struct lerr *e);

/* Reads a listing from text, each NULL when absent: status ("valid",
 * "revoked", "expired"), expiring (admin_duration_parse; not with
 * revoked or expired), device (a device id), limit and cursor (a page's
 * "next_cursor"). 0, or -1 with e (bad_request naming the argument). */
int admin_inventory_text(const char *status, const char *expiring, const char *device,
			 const char *limit, const char *cursor, struct admin_inventory *out,
			 struct lerr *e);

/* Calls fn for each certificate of a page of l at now; next receives the
 * page's "next_cursor" ("" on the last page). A non-zero return of fn
 * stops the page: -1 with e (internal). 0, or -1 with e. */
int admin_inventory_each(struct store *s, const struct admin_inventory *l, int64_t now,
			 int (*fn)(const struct store_cert *c, void *arg), void *arg,
			 char next[ADMIN_CURSOR_MAX + 1], struct lerr *e);

/* A page as admin_cert_list_json gives one: {"items": [admin_cert_json()
 * rows], "next_cursor": cursor or null}. 0, or -1 with e. */
int admin_inventory_json(struct store *s, const struct admin_inventory *l, int64_t now,
			 json_t **out, struct lerr *e);

/*
 * What `lanca show` and `lanca export` name: a serial (hex) when one
 * certificate has it, else a device id, whose certificates are all
 * named, newest issued first. serials receives a new array of their
 * serials (hex strings). not_found when neither names a certificate,
 * bad_request when text is neither a serial nor a device id.
 */
int admin_cert_lookup(struct store *s, const char *text, json_t **serials, struct lerr *e);

/* A revocation as an admin asks for it. */
#define ADMIN_TARGET_MAX	64	/* bytes of a serial (hex) or device id */
#define ADMIN_REVOKE_LISTED	64	/* serials a device's revocation answers with */
struct admin_revoke_req {
	char target[ADMIN_TARGET_MAX + 1];	/* a serial in hex, or a device id */
	enum crl_reason reason;
	char comment[ADMIN_REASON_MAX + 1];	/* "" for none */
};

/* Reads a revocation: target (a serial or device id: text of 1 to
 * ADMIN_TARGET_MAX bytes), reason (NULL or "": unspecified; else one of
 * CRL_REASON_WORDS) and comment (NULL or "": none; admin_reason_check's
 * bounds). 0, or -1 with e (bad_request naming what is wrong). */
int admin_revoke_parse(const char *target, const char *reason, const char *comment,
		       struct admin_revoke_req *out, struct lerr *e);

/*
 * Revokes rq's target as actor: the certificate with that serial or,
 * when no certificate has it, every valid unexpired certificate of the
 * device with that id (all or none). The status, reason and comment and
 * each "revoke" audit row are written in one job. Then, with rv (the
 * running daemon's; NULL without one: the daemon makes the CRL when it
 * starts), a new CRL listing it is made before this returns. *out:
 * {"serial" or "device_id", "status": "revoked", "reason", "revoked":
 * [serials, at most ADMIN_REVOKE_LISTED], "crl_number" (with rv)}.
 * not_found for a target that is neither, conflict for a certificate
 * revoked already or a device without a valid one; when the CRL cannot
 * be made, its error, saying that the revocation itself holds.
 */
int admin_revoke(struct store *s, struct revocation *rv, const struct admin_revoke_req *rq,
		 const char *actor, json_t **out, struct lerr *e);

/* A page of the audit log, newest first, only event's rows and/or those
 * about device ("" for any). */
struct admin_audit_list {
	char event[ADMIN_EVENT_MAX + 1];
	char device[65];
	unsigned limit;
	int64_t after;
};
/* Reads it from text: event (lower-case letters, digits, '-' and '_'),
 * device (a device id: at most 64 bytes, no control characters), limit
 * and cursor. 0, or -1 with e (bad_request naming the argument). */
int admin_audit_list_text(const char *event, const char *device, const char *limit,
			  const char *cursor, struct admin_audit_list *out, struct lerr *e);
/* {"items": [{"id", "at", "actor", "event", "subject", "detail"}],
 * "next_cursor": cursor or null}; detail is the row's JSON object (or
 * null). 0, or -1 with e. */
int admin_audit_json(struct store *s, const struct admin_audit_list *l, json_t **out,
		     struct lerr *e);
/* One row as admin_audit_json writes it (a new reference; NULL when out
 * of memory): `lanca audit --json` shows the same. */
json_t *admin_audit_row_json(const struct store_audit_row *r);

/*
 * What the CA holds at now: {"expiring_per_week": [{"week_start",
 * "count"} x ADMIN_OVERVIEW_WEEKS], "enrollments_per_day": [{"day",
 * "count"} x ADMIN_OVERVIEW_DAYS], "totals": {"valid", "revoked",
 * "pending"}}. Weeks start at the start of now's day (UTC) and count
 * valid certificates whose not_after falls in them; days end with now's
 * day, oldest first, and count certificates issued (renewals included).
 * valid counts unexpired, unrevoked certificates. 0, or -1 with e.
 */
int admin_overview_json(struct store *s, int64_t now, json_t **out, struct lerr *e);

#endif
