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

/* The bounds of a listing, for every door. */
static int
admin_list_check(const struct admin_list *l, struct lerr *e)
{
	if (l->limit > ADMIN_LIST_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "a listing is 1 to %d requests",
				ADMIN_LIST_MAX);
	if (l->state != STORE_REQ_ANY && store_req_state_str(l->state) == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "state is pending, issued, denied or expired");
	return 0;
}

int
admin_list_parse(const json_t *args, struct admin_list *out, struct lerr *e)
{
	json_t *st = args != NULL ? json_object_get(args, "state") : NULL;

	memset(out, 0, sizeof(*out));
	if (args != NULL && !json_is_object(args))
		return lerr_set(e, LERR_BAD_REQUEST, "a listing is a JSON object");
	if (admin_json_uint(args, "limit", ADMIN_LIST_MAX, &out->limit) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "a listing is 1 to %d requests",
				ADMIN_LIST_MAX);
	if (st != NULL) {
		/* A state holding a NUL is unknown: it must not be read as
		 * the known one before the NUL. */
		if (!json_is_string(st) || json_string_length(st) > ADMIN_STATE_MAX ||
		    strlen(json_string_value(st)) != json_string_length(st) ||
		    store_req_state_parse(json_string_value(st), &out->state) != 0) {
			memset(out, 0, sizeof(*out));
			return lerr_set(e, LERR_BAD_REQUEST,
					"state is pending, issued, denied or expired");
		}
	}
	if (admin_list_check(out, e) != 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
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
		struct lerr *e)
{
	static const struct admin_list all = { STORE_REQ_ANY, 0 };
	struct admin_visit v = { fn, arg, 0 };

	if (l == NULL)
		l = &all;
	if (admin_list_check(l, e) != 0)
		return -1;
	/* Requests nobody decided on in time are shown as what they are. */
	if (store_request_expire(s, now, NULL, e) != 0 ||
	    store_request_each(s, l->state, l->limit != 0 ? l->limit : ADMIN_LIST_MAX,
			       admin_visit_row, &v, e) != 0)
		return -1;
	if (v.stopped)
		return lerr_set(e, LERR_INTERNAL, "out of memory listing requests");
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
	json_t *list;

	*out = NULL;
	list = json_array();
	if (list == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory listing requests");
	if (admin_list_each(s, l, now, admin_row_json, list, e) != 0) {
		json_decref(list);
		return -1;
	}
	*out = list;
	return 0;
}
