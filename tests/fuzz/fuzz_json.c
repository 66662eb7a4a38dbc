/*
 * fuzz_json.c - fuzz target for the admin's request bodies and query
 * arguments as the handlers read them (http/api_admin.c, api_certs.c):
 * the JSON of a login, a first-visit setup and a password change
 * (admin_secret_body_parse, admin_body_string), the optional JSON of a
 * press, a denial and a revocation (admin_json_body_parse,
 * admin_body_member_text, then daemon/admin.c's admin_press_parse,
 * admin_reason_check and admin_revoke_parse), and the query strings of
 * the three listings (admin_list_text, admin_audit_list_text,
 * admin_cert_list_text). An enrollment's or renewal's body is a PKCS#10
 * request, not JSON: fuzz_csr and fuzz_est have those.
 *
 * The first byte chooses the door (FUZZ_JSON_KINDS), the rest is the body,
 * or for a listing its arguments separated by NUL bytes (as libmicrohttpd
 * hands them over, decoded; a missing one, or one that is the single byte
 * 0xff, is absent).
 *
 * Besides memory errors and leaks, the target aborts on a broken
 * contract: a body of secrets that is not an object; a member read as a C
 * string that holds a NUL, or whose length is not the one returned; a
 * refusal without a 4xx code; a press, reason, revocation or listing
 * accepted outside admin.c's bounds; a listing's cursor that does not
 * read back as the same position.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/lerr.h"
#include "daemon/admin.h"
#include "daemon/window.h"
#include "http/api.h"

#define FUZZ_JSON_ARGS	6	/* query arguments at most (a certificate listing's) */

enum fuzz_json_kind {
	FUZZ_JSON_LOGIN, FUZZ_JSON_SETUP, FUZZ_JSON_PASSWORD, FUZZ_JSON_PRESS, FUZZ_JSON_DENY,
	FUZZ_JSON_REVOKE, FUZZ_JSON_REQUESTS, FUZZ_JSON_AUDIT, FUZZ_JSON_CERTS,
	FUZZ_JSON_KINDS
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless a refusal carries a client error with a terminated text. */
static void
fuzz_json_refused(const struct lerr *e)
{
	if (e->code == LERR_NONE || lerr_http(e->code) < 400 || lerr_http(e->code) > 499 ||
	    memchr(e->msg, '\0', sizeof(e->msg)) == NULL)
		abort();
}

/* Aborts when text has a control character (what a terminal shows). */
static void
fuzz_json_printable(const char *text)
{
	for (; *text != '\0'; text++)
		if ((unsigned char)*text < 0x20 || *text == 0x7f)
			abort();
}

/* The members names[0..n) of a body of secrets, as api_login, api_setup
 * and api_password read them: the last, the password, with its length. */
static void
fuzz_json_secrets(const uint8_t *data, size_t size, const char *const *names, size_t n)
{
	const char *v;
	json_t *body;
	size_t i, len;

	body = admin_secret_body_parse(data, size);
	if (body == NULL)
		return;
	if (!json_is_object(body))
		abort();
	for (i = 0; i < n; i++) {
		if (i + 1 < n) {
			if (admin_body_string(body, names[i], &v, NULL) == 0 &&
			    strlen(v) != json_string_length(json_object_get(body, names[i])))
				abort();
		} else if (admin_body_string(body, names[i], &v, &len) == 0 &&
			   len != json_string_length(json_object_get(body, names[i]))) {
			abort();
		}
	}
	json_decref(body);
}

static void
fuzz_json_press(const json_t *body)
{
	struct admin_press p;
	struct lerr e;

	lerr_clear(&e);
	if (admin_press_parse(body, &p, &e) != 0) {
		fuzz_json_refused(&e);
		if (p.seconds != 0 || p.count != 0)
			abort();
	} else if (p.seconds > WINDOW_SECONDS_MAX || p.count > WINDOW_COUNT_MAX) {
		abort();
	}
}

static void
fuzz_json_deny(const json_t *body)
{
	const char *reason;
	struct lerr e;

	if (admin_body_member_text(body, "reason", &reason) != 0)
		return;
	lerr_clear(&e);
	if (admin_reason_check(reason, &e) != 0) {
		fuzz_json_refused(&e);
		return;
	}
	if (reason != NULL) {
		if (strlen(reason) > ADMIN_REASON_MAX)
			abort();
		fuzz_json_printable(reason);
	}
}

/* target: the path's serial or device id, as the router hands it over. */
static void
fuzz_json_revoke(const json_t *body, const char *target)
{
	const char *reason, *comment;
	struct admin_revoke_req rq;
	struct lerr e;

	if (admin_body_member_text(body, "reason", &reason) != 0 ||
	    admin_body_member_text(body, "comment", &comment) != 0)
		return;
	lerr_clear(&e);
	if (admin_revoke_parse(target, reason, comment, &rq, &e) != 0) {
		fuzz_json_refused(&e);
		return;
	}
	if (strcmp(rq.target, target) != 0 ||
	    memchr(rq.comment, '\0', sizeof(rq.comment)) == NULL ||
	    strcmp(rq.comment, comment != NULL ? comment : "") != 0)
		abort();
	fuzz_json_printable(rq.comment);
}

/* A listing's arguments: a page at a position, within the bounds; and
 * the cursor of that position reads back as the same one. */
static void
fuzz_json_requests(const char *const *a)
{
	char cursor[ADMIN_CURSOR_MAX + 1];
	struct admin_list l, again;
	struct lerr e;

	lerr_clear(&e);
	if (admin_list_text(a[0], a[1], a[2], &l, &e) != 0) {
		fuzz_json_refused(&e);
		return;
	}
	if (l.limit > ADMIN_LIST_MAX || l.after < 0 ||
	    (l.state != STORE_REQ_ANY && store_req_state_str(l.state) == NULL))
		abort();
	admin_cursor_format(l.after, cursor);
	if (memchr(cursor, '\0', sizeof(cursor)) == NULL)
		abort();
	if (l.after > 0 && (admin_list_text(NULL, NULL, cursor, &again, &e) != 0 ||
			    again.after != l.after))
		abort();
}

static void
fuzz_json_audit(const char *const *a)
{
	struct admin_audit_list l;
	struct lerr e;

	lerr_clear(&e);
	if (admin_audit_list_text(a[0], a[1], a[2], a[3], &l, &e) != 0) {
		fuzz_json_refused(&e);
		return;
	}
	if (l.limit > ADMIN_LIST_MAX || l.after < 0 ||
	    memchr(l.event, '\0', sizeof(l.event)) == NULL ||
	    memchr(l.device, '\0', sizeof(l.device)) == NULL)
		abort();
	fuzz_json_printable(l.device);
}

static void
fuzz_json_certs(const char *const *a)
{
	struct admin_cert_list l;
	struct lerr e;

	lerr_clear(&e);
	if (admin_cert_list_text(a[0], a[1], a[2], a[3], a[4], a[5], &l, &e) != 0) {
		fuzz_json_refused(&e);
		return;
	}
	if (l.limit > ADMIN_LIST_MAX || l.after < 0 || memchr(l.q, '\0', sizeof(l.q)) == NULL)
		abort();
}

/*
 * Splits data[0..size) at NUL bytes into at most FUZZ_JSON_ARGS strings
 * copied into buf (size + 1 bytes); a[i] NULL for an argument that is
 * missing or the single byte 0xff. The copy makes each end where ASan
 * sees it.
 */
static void
fuzz_json_args(const uint8_t *data, size_t size, char *buf, const char *a[FUZZ_JSON_ARGS])
{
	size_t i, n = 0, start = 0;

	memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0; i < FUZZ_JSON_ARGS; i++)
		a[i] = NULL;
	for (i = 0; i <= size && n < FUZZ_JSON_ARGS; i++) {
		if (i < size && buf[i] != '\0')
			continue;
		if (i > start || i < size)
			a[n] = strcmp(buf + start, "\xff") == 0 ? NULL : buf + start;
		n++;
		start = i + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const login[] = { "user", "password" };
	static const char *const setup[] = { "code", "user", "password" };
	static const char *const password[] = { "old", "new" };
	const char *a[FUZZ_JSON_ARGS];
	json_t *body;
	char *buf;
	unsigned kind;

	if (size == 0)
		return 0;
	kind = data[0] % FUZZ_JSON_KINDS;
	data++;
	size--;
	switch (kind) {
	case FUZZ_JSON_LOGIN:
		fuzz_json_secrets(data, size, login, 2);
		return 0;
	case FUZZ_JSON_SETUP:
		fuzz_json_secrets(data, size, setup, 3);
		return 0;
	case FUZZ_JSON_PASSWORD:
		fuzz_json_secrets(data, size, password, 2);
		return 0;
	case FUZZ_JSON_PRESS:
	case FUZZ_JSON_DENY:
	case FUZZ_JSON_REVOKE:
		if (admin_json_body_parse(data, size, &body) != 0) {
			if (body != NULL)
				abort();
			return 0;
		}
		if (body != NULL && !json_is_object(body))
			abort();
		if (kind == FUZZ_JSON_PRESS)
			fuzz_json_press(body);
		else if (kind == FUZZ_JSON_DENY)
			fuzz_json_deny(body);
		else
			fuzz_json_revoke(body, data[-1] & 0x80 ? "printer-3" : "0a1b2c3d4e5f");
		json_decref(body);
		return 0;
	default:
		break;
	}
	buf = malloc(size + 1);
	if (buf == NULL)
		abort();
	fuzz_json_args(data, size, buf, a);
	if (kind == FUZZ_JSON_REQUESTS)
		fuzz_json_requests(a);
	else if (kind == FUZZ_JSON_AUDIT)
		fuzz_json_audit(a);
	else
		fuzz_json_certs(a);
	free(buf);
	return 0;
}
