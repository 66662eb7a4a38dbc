/*
 * control.h - the running daemon's local control socket.
 *
 * Owns: DIR/control.sock (a Unix stream socket, mode 0600, answered only
 * for root or the daemon's own user, checked with SO_PEERCRED) through
 * which `lanca press`, `approve`, `deny`, `revoke`, `pending` and `stats` reach the daemon
 * that holds the onboarding window and the signer; the request line's
 * grammar (control_parse, which both sides share) and the table of
 * commands. One request per connection: a JSON object on one line, at
 * most CONTROL_MSG_MAX bytes, {"cmd": NAME, "actor": USER, ...arguments};
 * the answer is one JSON object: {"ok": true, ...} or {"error",
 * "message"}. Each command hands its arguments to admin.c, which checks
 * them and acts.
 */
#ifndef LANCA_CONTROL_H
#define LANCA_CONTROL_H

#include <stddef.h>
#include <jansson.h>
#include "common/lerr.h"
#include "daemon/admin.h"

#define CONTROL_SOCK		"control.sock"
#define CONTROL_MSG_MAX		4096		/* bytes of a request line */
#define CONTROL_REPLY_MAX	(2 * 1024 * 1024)	/* bytes of an answer (a listing) */
#define CONTROL_ACTOR_MAX	64		/* bytes of the actor's name */

/* control_call's result when no daemon listens on the directory. */
#define CONTROL_NOT_RUNNING	1

struct control;
struct enroll;
struct revocation;
struct store;

enum control_op {
	CONTROL_PRESS = 1,	/* {"seconds", "count"}: admin_press_parse */
	CONTROL_APPROVE,	/* {"id"} */
	CONTROL_DENY,		/* {"id", "reason"} */
	CONTROL_LIST,		/* {"state", "limit", "cursor"}: admin_list_parse */
	CONTROL_STATS,		/* no arguments: the daemon's counters */
	CONTROL_REVOKE,		/* {"target", "reason", "comment"}: admin_revoke_parse */
};

/* One request, checked. Strings the command does not take stay "". */
struct control_req {
	enum control_op op;
	char actor[CONTROL_ACTOR_MAX + 1];	/* printable, without control bytes */
	char id[STORE_REQUEST_ID_LEN + 1];
	char reason[ADMIN_REASON_MAX + 1];	/* "" = the default reason */
	struct admin_revoke_req revoke;
	struct admin_press press;
	struct admin_list list;
};

/*
 * Parses one request line of len bytes (no newline; not NUL-terminated)
 * into *out, checking every argument with admin.c's checks. 0, or -1 with
 * e (too_large, bad_request) and *out zeroed. Never reads past len.
 */
int control_parse(const char *line, size_t len, struct control_req *out, struct lerr *e);

/* The request as the line control_parse reads (a new reference; NULL when
 * out of memory or rq->op is not a command). */
json_t *control_req_json(const struct control_req *rq);

/* Listens on DIR/control.sock; refuses if another daemon answers there.
 * en, rv (the daemon's CRLs) and s must outlive the socket. A state directory whose path is too
 * long for a Unix socket gets no control socket (a warning; *out NULL, 0
 * returned). */
int control_start(const char *dir, struct enroll *en, struct revocation *rv, struct store *s,
		  struct control **out, struct lerr *e);
void control_stop(struct control *c);	/* NULL-safe; removes the socket */

/*
 * Sends rq to the daemon of dir and returns its answer (*reply owned by
 * the caller). 0; CONTROL_NOT_RUNNING when nothing listens there (no
 * socket, or a socket nobody accepts on: e says so); -1 with e otherwise,
 * an answer carrying "error" included (e filled from it).
 */
int control_call(const char *dir, const struct control_req *rq, json_t **reply,
		 struct lerr *e);

#endif
