/*
 * admin.c - the administrator's onboarding actions (see admin.h).
 *
 * Every bound is checked here, whichever door the action came through, and
 * then enroll.c decides. A door that checks again on its own (the CLI's
 * option parser, say) calls the same functions, so a bound is written once.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "daemon/admin.h"
#include "daemon/enroll.h"
#include "daemon/window.h"

/* Reads member key of args: absent leaves *out at 0; else an integer
 * from 1 to max. 0, or -1. */
static int
admin_json_uint(const json_t *args, const char *key, unsigned max, unsigned *out)
{
	json_t *v = args != NULL ? json_object_get(args, key) : NULL;

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > (json_int_t)max)
		return -1;
	*out = (unsigned)json_integer_value(v);
	return 0;
}

/* The press bounds, for every door: 0 (the default) or 1..max. */
static int
admin_press_check(const struct admin_press *p, struct lerr *e)
{
	if (p->seconds > WINDOW_SECONDS_MAX || p->count > WINDOW_COUNT_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "seconds is 1 to %d and count 1 to %d",
				WINDOW_SECONDS_MAX, WINDOW_COUNT_MAX);
	return 0;
}

int
admin_press_parse(const json_t *args, struct admin_press *out, struct lerr *e)
{
	memset(out, 0, sizeof(*out));
	if (args != NULL && !json_is_object(args))
		return lerr_set(e, LERR_BAD_REQUEST, "a press is a JSON object");
	if (admin_json_uint(args, "seconds", WINDOW_SECONDS_MAX, &out->seconds) != 0 ||
	    admin_json_uint(args, "count", WINDOW_COUNT_MAX, &out->count) != 0) {
		memset(out, 0, sizeof(*out));
		return lerr_set(e, LERR_BAD_REQUEST, "seconds is 1 to %d and count 1 to %d",
				WINDOW_SECONDS_MAX, WINDOW_COUNT_MAX);
	}
	return 0;
}

int
admin_id_check(const char *id, struct lerr *e)
{
	size_t i;

	if (id == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "a request id is %d hex digits",
				STORE_REQUEST_ID_LEN);
	for (i = 0; i < STORE_REQUEST_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			break;
	if (i != STORE_REQUEST_ID_LEN || id[i] != '\0')
		return lerr_set(e, LERR_BAD_REQUEST, "a request id is %d hex digits, not %.40s%s",
				STORE_REQUEST_ID_LEN, id, strlen(id) > 40 ? "..." : "");
	return 0;
}

int
admin_reason_check(const char *reason, struct lerr *e)
{
	size_t i;

	if (reason == NULL)
		return 0;
	if (strlen(reason) > ADMIN_REASON_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "a reason is at most %d bytes",
				ADMIN_REASON_MAX);
	/* `lanca pending` prints reasons on terminals. */
	for (i = 0; reason[i] != '\0'; i++)
		if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
			return lerr_set(e, LERR_BAD_REQUEST,
					"a reason is text without control characters");
	return 0;
}

/* A request listing's cursor: this letter, then the position in decimal.
 * The letter keeps a cursor of another listing, should one be offered
 * later, from being taken for one of these. */
#define ADMIN_CURSOR_TAG	'r'

#define ADMIN_LIMIT_MSG		"limit is 1 to %d rows"
#define ADMIN_CURSOR_MSG \
	"the cursor is not one a listing gave: pass back a page's \"next\" as it is"
#define ADMIN_STATE_MSG		"state is pending, issued, denied or expired"

/* The bounds of a listing, for every door. */
static int
admin_list_check(const struct admin_list *l, struct lerr *e)
{
	if (l->limit > ADMIN_LIST_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, ADMIN_LIMIT_MSG, ADMIN_LIST_MAX);
	if (l->after < 0)
		return lerr_set(e, LERR_BAD_REQUEST, ADMIN_CURSOR_MSG);
	if (l->state != STORE_REQ_ANY && store_req_state_str(l->state) == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, ADMIN_STATE_MSG);
	return 0;
}

/* Reads the cursor text[0..len) into *after: the tag, then a position
 * from 1 to INT64_MAX without leading zeros. 0, or -1 with e. */
static int
admin_cursor_parse(const char *text, size_t len, int64_t *after, struct lerr *e)
{
	int64_t v = 0;
	size_t i;
	int d;

	*after = 0;
	if (len < 2 || len > ADMIN_CURSOR_MAX || text[0] != ADMIN_CURSOR_TAG || text[1] == '0')
		return lerr_set(e, LERR_BAD_REQUEST, ADMIN_CURSOR_MSG);
	for (i = 1; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return lerr_set(e, LERR_BAD_REQUEST, ADMIN_CURSOR_MSG);
		d = text[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return lerr_set(e, LERR_BAD_REQUEST, ADMIN_CURSOR_MSG);
		v = v * 10 + d;
	}
	*after = v;
	return 0;
}

void
admin_cursor_format(int64_t after, char out[ADMIN_CURSOR_MAX + 1])
{
	out[0] = '\0';
	if (after > 0)
		snprintf(out, ADMIN_CURSOR_MAX + 1, "%c%lld", ADMIN_CURSOR_TAG, (long long)after);
}

/* Reads a state word (len bytes) into *out. 0, or -1 with e. */
static int
admin_state_parse(const char *text, size_t len, enum store_req_state *out, struct lerr *e)
{
	/* A state holding a NUL is unknown: it must not be read as the
	 * known one before the NUL. */
	if (len > ADMIN_STATE_MAX || strlen(text) != len ||
	    store_req_state_parse(text, out) != 0) {
		*out = STORE_REQ_ANY;
		return lerr_set(e, LERR_BAD_REQUEST, ADMIN_STATE_MSG);
	}
	return 0;
}

int
admin_list_parse(const json_t *args, struct admin_list *out, struct lerr *e)
{
	json_t *st = args != NULL ? json_object_get(args, "state") : NULL;
	json_t *cur = args != NULL ? json_object_get(args, "cursor") : NULL;

	memset(out, 0, sizeof(*out));
	if (args != NULL && !json_is_object(args))
		return lerr_set(e, LERR_BAD_REQUEST, "a listing is a JSON object");
	if (admin_json_uint(args, "limit", ADMIN_LIST_MAX, &out->limit) != 0)
		goto bad_limit;
	if (st != NULL && (!json_is_string(st) ||
			   admin_state_parse(json_string_value(st), json_string_length(st),
					     &out->state, e) != 0))
		goto bad_state;
	if (cur != NULL && (!json_is_string(cur) ||
			    strlen(json_string_value(cur)) != json_string_length(cur) ||
			    admin_cursor_parse(json_string_value(cur), json_string_length(cur),
					       &out->after, e) != 0))
		goto bad_cursor;
	if (admin_list_check(out, e) != 0)
		goto bad;
	return 0;
bad_limit:
	lerr_set(e, LERR_BAD_REQUEST, ADMIN_LIMIT_MSG, ADMIN_LIST_MAX);
	goto bad;
bad_state:
	lerr_set(e, LERR_BAD_REQUEST, ADMIN_STATE_MSG);
	goto bad;
bad_cursor:
	lerr_set(e, LERR_BAD_REQUEST, ADMIN_CURSOR_MSG);
bad:
	memset(out, 0, sizeof(*out));
	return -1;
}

int
admin_list_text(const char *state, const char *limit, const char *cursor,
		struct admin_list *out, struct lerr *e)
{
	unsigned v = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (state != NULL && admin_state_parse(state, strlen(state), &out->state, e) != 0)
		goto bad;
	if (limit != NULL) {
		/* Digits only: no sign, no space, no base prefix. */
		for (i = 0; limit[i] >= '0' && limit[i] <= '9' && v <= ADMIN_LIST_MAX; i++)
			v = v * 10 + (unsigned)(limit[i] - '0');
		if (i == 0 || limit[i] != '\0' || v < 1 || v > ADMIN_LIST_MAX) {
			lerr_set(e, LERR_BAD_REQUEST, ADMIN_LIMIT_MSG, ADMIN_LIST_MAX);
			goto bad;
		}
		out->limit = v;
	}
	if (cursor != NULL && admin_cursor_parse(cursor, strlen(cursor), &out->after, e) != 0)
		goto bad;
	if (admin_list_check(out, e) != 0)
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -1;
}

int
admin_press(struct enroll *en, const struct admin_press *p, const char *actor,
	    json_t **window, struct lerr *e)
{
	static const struct admin_press defaults = { 0, 0 };

	if (window != NULL)
		*window = NULL;
	if (p == NULL)
		p = &defaults;
	if (admin_press_check(p, e) != 0 ||
	    enroll_press(en, p->seconds, p->count, actor, e) != 0)
		return -1;
	if (window != NULL)
		*window = enroll_window_json(en);
	return 0;
}

int
admin_approve(struct enroll *en, const char *id, const char *actor,
	      char serial[2 * STORE_SERIAL_MAX + 1], struct lerr *e)
{
	struct enroll_result res;
	int rc = -1;

	serial[0] = '\0';
	if (admin_id_check(id, e) != 0)
		return -1;
	enroll_result_init(&res);
	if (enroll_approve(en, id, actor, &res, e) != 0)
		goto out;
	snprintf(serial, 2 * STORE_SERIAL_MAX + 1, "%s", res.serial);
	rc = 0;
out:
	enroll_result_free(&res);
	return rc;
}

int
admin_deny(struct enroll *en, const char *id, const char *reason, const char *actor,
	   struct lerr *e)
{
	if (admin_id_check(id, e) != 0 || admin_reason_check(reason, e) != 0)
		return -1;
	return enroll_deny(en, id, reason, actor, e);
}

json_t *
admin_request_json(const struct store_request *rq)
{
	char key[2 * sizeof(rq->key_id) + 1];

	hex_encode(rq->key_id, sizeof(rq->key_id), key);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b}",
			 "id", rq->id, "device_id", rq->device_id, "key", key,
			 "state", store_req_state_str(rq->state), "auth", store_auth_str(rq->auth),
			 "source", rq->source,
			 "reason", rq->reason, "created_at", (json_int_t)rq->created_at,
			 "last_seen", (json_int_t)rq->last_seen,
			 "expires_at", (json_int_t)rq->expires_at, "contested", rq->contested);
}

/* admin_list_each's visitor and its caller's. */
struct admin_visit {
	int (*fn)(const struct store_request *rq, void *arg);
	void *arg;
	int stopped;		/* fn asked to stop: the listing failed */
};

static int
admin_visit_row(const struct store_request *rq, void *arg)
{
	struct admin_visit *v = arg;

	if (v->fn(rq, v->arg) != 0) {
		v->stopped = 1;
		return 1;
	}
	return 0;
}

int
admin_list_each(struct store *s, const struct admin_list *l, int64_t now,
		int (*fn)(const struct store_request *rq, void *arg), void *arg,
		char next[ADMIN_CURSOR_MAX + 1], struct lerr *e)
{
	static const struct admin_list first = { STORE_REQ_ANY, 0, 0 };
	struct admin_visit v = { fn, arg, 0 };
	struct store_page pg;

	next[0] = '\0';
	if (l == NULL)
		l = &first;
	if (admin_list_check(l, e) != 0)
		return -1;
	pg.after = l->after;
	pg.limit = l->limit != 0 ? l->limit : ADMIN_LIST_DEFAULT;
	/* Requests nobody decided on in time are shown as what they are. */
	if (store_request_expire(s, now, NULL, e) != 0 ||
	    store_request_page(s, l->state, &pg, admin_visit_row, &v, e) != 0)
		return -1;
	if (v.stopped)
		return lerr_set(e, LERR_INTERNAL, "out of memory listing requests");
	admin_cursor_format(pg.next, next);
	return 0;
}

/* Appends one row to the array arg; non-zero when out of memory. */
static int
admin_row_json(const struct store_request *rq, void *arg)
{
	json_t *row = admin_request_json(rq);

	return row == NULL || json_array_append_new(arg, row) != 0;
}

int
admin_list_json(struct store *s, const struct admin_list *l, int64_t now, json_t **out,
		struct lerr *e)
{
	char next[ADMIN_CURSOR_MAX + 1];
	json_t *list, *page;

	*out = NULL;
	list = json_array();
	if (list == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory listing requests");
	if (admin_list_each(s, l, now, admin_row_json, list, next, e) != 0) {
		json_decref(list);
		return -1;
	}
	/* "o" steals list, also when json_pack fails. */
	page = json_pack("{s:o}", "requests", list);
	if (page == NULL || (next[0] != '\0' &&
			     json_object_set_new(page, "next", json_string(next)) != 0)) {
		json_decref(page);
		return lerr_set(e, LERR_INTERNAL, "out of memory listing requests");
	}
	*out = page;
	return 0;
}
