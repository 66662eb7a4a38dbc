/*
 * control.h - the running daemon's local control socket.
 *
 * Owns: DIR/control.sock (a Unix stream socket, mode 0600, answered only
 * for root or the daemon's own user, checked with SO_PEERCRED) through
 * which `lanca press`, `lanca approve` and `lanca deny` reach the daemon
 * that holds the onboarding window and the signer. One request per
 * connection: a JSON object on one line, at most CONTROL_MSG_MAX bytes;
 * the answer is one JSON object: {"ok": true, ...} or {"error", "message"}.
 */
#ifndef LANCA_CONTROL_H
#define LANCA_CONTROL_H

#include <jansson.h>
#include "common/lerr.h"

#define CONTROL_SOCK	"control.sock"
#define CONTROL_MSG_MAX	4096

struct control;
struct enroll;

/* Listens on DIR/control.sock; refuses if another daemon answers there.
 * A state directory whose path is too long for a Unix socket gets no
 * control socket (a warning; *out NULL, 0 returned). */
int control_start(const char *dir, struct enroll *en, struct control **out, struct lerr *e);
void control_stop(struct control *c);	/* NULL-safe; removes the socket */

/* Sends cmd to the daemon of dir and returns its answer (*reply owned by
 * the caller). LERR_NOT_FOUND when no daemon is listening; an answer
 * carrying "error" is returned as -1 with e filled from it. */
int control_call(const char *dir, json_t *cmd, json_t **reply, struct lerr *e);

#endif
