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

#include "ca/csr.h"
#include "ca/names.h"
#include "common/buf.h"
#include "common/hex.h"
#include "daemon/admin.h"
#include "daemon/enroll.h"
#include "daemon/issue.h"
#include "daemon/revocation.h"
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

/* A listing's cursor: a letter naming the listing, then the position in
 * decimal. The letter keeps a cursor of one listing from being taken for
 * another's. */
#define ADMIN_CURSOR_TAG	'r'	/* requests */
#define ADMIN_CURSOR_CERTS	'c'
#define ADMIN_CURSOR_AUDIT	'a'

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
admin_cursor_parse(const char *text, size_t len, char tag, int64_t *after, struct lerr *e)
{
	int64_t v = 0;
	size_t i;
	int d;

	*after = 0;
	if (len < 2 || len > ADMIN_CURSOR_MAX || text[0] != tag || text[1] == '0')
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

/* The cursor of position after in the listing tag names ("" for 0). */
static void
admin_cursor_tag(char tag, int64_t after, char out[ADMIN_CURSOR_MAX + 1])
{
	out[0] = '\0';
	if (after > 0)
		snprintf(out, ADMIN_CURSOR_MAX + 1, "%c%lld", tag, (long long)after);
}

void
admin_cursor_format(int64_t after, char out[ADMIN_CURSOR_MAX + 1])
{
	admin_cursor_tag(ADMIN_CURSOR_TAG, after, out);
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
					       ADMIN_CURSOR_TAG, &out->after, e) != 0))
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

/* A limit as text (NULL: absent, *out 0) into *out: decimal digits
 * only, no sign, no space, no base prefix; 1 to ADMIN_LIST_MAX. */
static int
admin_limit_text(const char *limit, unsigned *out, struct lerr *e)
{
	unsigned v = 0;
	size_t i;

	*out = 0;
	if (limit == NULL)
		return 0;
	for (i = 0; limit[i] >= '0' && limit[i] <= '9' && v <= ADMIN_LIST_MAX; i++)
		v = v * 10 + (unsigned)(limit[i] - '0');
	if (i == 0 || limit[i] != '\0' || v < 1 || v > ADMIN_LIST_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, ADMIN_LIMIT_MSG, ADMIN_LIST_MAX);
	*out = v;
	return 0;
}

int
admin_list_text(const char *state, const char *limit, const char *cursor,
		struct admin_list *out, struct lerr *e)
{
	memset(out, 0, sizeof(*out));
	if (state != NULL && admin_state_parse(state, strlen(state), &out->state, e) != 0)
		goto bad;
	if (admin_limit_text(limit, &out->limit, e) != 0)
		goto bad;
	if (cursor != NULL &&
	    admin_cursor_parse(cursor, strlen(cursor), ADMIN_CURSOR_TAG, &out->after, e) != 0)
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

/* The word for a key type as the console shows it ("rsa-2048"). */
static void
admin_key_type(const struct csr *c, char out[24])
{
	switch (c->key_type) {
	case CSR_KEY_ECDSA_P256:
		snprintf(out, 24, "ecdsa-p256");
		break;
	case CSR_KEY_ECDSA_P384:
		snprintf(out, 24, "ecdsa-p384");
		break;
	case CSR_KEY_ED25519:
		snprintf(out, 24, "ed25519");
		break;
	case CSR_KEY_RSA:
		snprintf(out, 24, "rsa-%u", c->key_bits);
		break;
	default:
		snprintf(out, 24, "unknown");
		break;
	}
}

/* names as a JSON array of "DNS:x" and "IP:a" (names_format's words). */
static json_t *
admin_names_json(const struct names *n)
{
	char ip[64], word[NAMES_DNS_MAX + 8];
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n->ndns; i++) {
		snprintf(word, sizeof(word), "DNS:%s", n->dns[i]);
		if (json_array_append_new(a, json_string(word)) != 0)
			goto fail;
	}
	for (i = 0; a != NULL && i < n->nip; i++) {
		if (ipnet_format(&n->ip[i], ip, sizeof(ip)) != 0)
			snprintf(ip, sizeof(ip), "?");
		snprintf(word, sizeof(word), "IP:%s", ip);
		if (json_array_append_new(a, json_string(word)) != 0)
			goto fail;
	}
	return a;
fail:
	json_decref(a);
	return NULL;
}

json_t *
admin_request_json(const struct store_request *rq)
{
	char key[2 * sizeof(rq->key_id) + 1], key_type[24] = "unknown";
	struct csr *c = NULL;
	struct lerr e;
	json_t *row, *names;

	hex_encode(rq->key_id, sizeof(rq->key_id), key);
	/* The key type and names are the request's own: it was checked in
	 * full when it came, so its signature need not be checked again to
	 * show them. */
	if (csr_parse_flags(rq->csr, rq->csr_len, CSR_PARSE_NO_VERIFY, &c, &e) == 0) {
		admin_key_type(c, key_type);
		names = admin_names_json(&c->sans);
	} else {
		names = json_array();
	}
	csr_free(c);
	row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:I, s:I, "
			"s:I, s:b, s:s}",
			"id", rq->id, "device_id", rq->device_id, "key", key, "key_id", key,
			"key_type", key_type, "names", names,
			"state", store_req_state_str(rq->state), "auth", store_auth_str(rq->auth),
			"door", store_door_str(rq->door), "source", rq->source,
			"reason", rq->reason, "created_at", (json_int_t)rq->created_at,
			"last_seen", (json_int_t)rq->last_seen,
			"expires_at", (json_int_t)rq->expires_at, "contested", rq->contested,
			"via", enroll_request_via(rq));
	return row;
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

/* ---- the inventory ---- */

#define ADMIN_STATUS_MSG	"status is valid or revoked"
#define ADMIN_SORT_MSG		"sort is issued, expires or device"
#define ADMIN_ORDER_MSG		"order is asc or desc"

/* The sorts by the words a door names them with. */
static const struct {
	const char *word;
	enum store_cert_sort sort;
} admin_sorts[] = {
	{ "issued", STORE_SORT_ISSUED },
	{ "expires", STORE_SORT_EXPIRES },
	{ "device", STORE_SORT_DEVICE },
};

/* 0 if text (what names it in the message) is at most max bytes without
 * control characters; -1 with e otherwise. */
static int
admin_text_check(const char *what, const char *text, size_t max, struct lerr *e)
{
	size_t i, n = strlen(text);

	for (i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			break;
	if (n > max || i < n)
		return lerr_set(e, LERR_BAD_REQUEST,
				"%s is at most %zu bytes of text without control characters",
				what, max);
	return 0;
}

int
admin_cert_list_text(const char *q, const char *status, const char *sort,
		     const char *order, const char *limit, const char *cursor,
		     struct admin_cert_list *out, struct lerr *e)
{
	enum store_cert_status st;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->status = -1;
	if (q != NULL) {
		if (admin_text_check("q", q, STORE_SEARCH_MAX, e) != 0)
			goto bad;
		snprintf(out->q, sizeof(out->q), "%s", q);
	}
	if (status != NULL) {
		if (store_cert_status_parse(status, &st) != 0) {
			lerr_set(e, LERR_BAD_REQUEST, ADMIN_STATUS_MSG);
			goto bad;
		}
		out->status = (int)st;
	}
	if (sort != NULL) {
		for (i = 0; i < sizeof(admin_sorts) / sizeof(admin_sorts[0]); i++)
			if (strcmp(sort, admin_sorts[i].word) == 0)
				break;
		if (i == sizeof(admin_sorts) / sizeof(admin_sorts[0])) {
			lerr_set(e, LERR_BAD_REQUEST, ADMIN_SORT_MSG);
			goto bad;
		}
		out->sort = admin_sorts[i].sort;
	}
	if (order != NULL) {
		if (strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
			lerr_set(e, LERR_BAD_REQUEST, ADMIN_ORDER_MSG);
			goto bad;
		}
		out->ascending = strcmp(order, "asc") == 0;
	}
	if (admin_limit_text(limit, &out->limit, e) != 0)
		goto bad;
	if (cursor != NULL &&
	    admin_cursor_parse(cursor, strlen(cursor), ADMIN_CURSOR_CERTS, &out->after, e) != 0)
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	out->status = -1;
	return -1;
}

json_t *
admin_cert_json(const struct store_cert *c)
{
	char serial[2 * STORE_SERIAL_MAX + 1];
	const char *p, *comma;
	json_t *names = json_array();

	hex_encode(c->serial, c->serial_len, serial);
	/* The store keeps the names as names_format wrote them. */
	for (p = c->sans != NULL ? c->sans : ""; names != NULL && *p != '\0'; p = comma + 1) {
		if ((comma = strchr(p, ',')) == NULL)
			comma = p + strlen(p);
		if (comma > p && json_array_append_new(names, json_stringn(p, (size_t)(comma - p))) != 0) {
			json_decref(names);
			names = NULL;
		}
		if (*comma == '\0')
			break;
	}
	return json_pack("{s:s, s:s, s:o, s:I, s:I, s:s}", "serial", serial,
			 "device_id", c->device_id, "names", names,
			 "issued_at", (json_int_t)c->issued_at, "not_after", (json_int_t)c->not_after,
			 "status", store_cert_status_str(c->status));
}

/* A page's rows and its cursor: {"items": items, "next_cursor": ...}.
 * Takes items. NULL when out of memory. */
static json_t *
admin_page_json(json_t *items, char tag, int64_t next)
{
	char cursor[ADMIN_CURSOR_MAX + 1];

	admin_cursor_tag(tag, next, cursor);
	return json_pack("{s:o, s:o}", "items", items,
			 "next_cursor", cursor[0] != '\0' ? json_string(cursor) : json_null());
}

/* The end of a listing: items (taken) and pg's cursor as the page in
 * *out. A row the visitor could not add stopped the walk early: that is
 * not a page, but out of memory (what names the listing). */
static int
admin_page_end(json_t *items, const struct store_page *pg, char tag, const char *what,
	       json_t **out, struct lerr *e)
{
	if (pg->next != 0 && json_array_size(items) < pg->limit) {
		json_decref(items);
		return lerr_set(e, LERR_INTERNAL, "out of memory %s", what);
	}
	if ((*out = admin_page_json(items, tag, pg->next)) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory %s", what);
	return 0;
}

/* Appends one certificate to the array arg; non-zero when out of memory. */
static int
admin_cert_row(const struct store_cert *c, void *arg)
{
	json_t *row = admin_cert_json(c);

	return row == NULL || json_array_append_new(arg, row) != 0;
}

int
admin_cert_list_json(struct store *s, const struct admin_cert_list *l, json_t **out,
		     struct lerr *e)
{
	struct store_cert_filter f;
	struct store_page pg;
	json_t *items;

	*out = NULL;
	if (l->limit > ADMIN_LIST_MAX || l->after < 0 || (unsigned)l->sort > STORE_SORT_DEVICE)
		return lerr_set(e, LERR_BAD_REQUEST, "a certificate listing out of bounds");
	memset(&f, 0, sizeof(f));
	f.q = l->q;
	f.status = l->status;
	f.sort = l->sort;
	memset(&pg, 0, sizeof(pg));
	pg.after = l->after;
	pg.limit = l->limit != 0 ? l->limit : ADMIN_LIST_DEFAULT;
	f.ascending = l->ascending;
	if ((items = json_array()) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory listing certificates");
	if (store_cert_find(s, &f, &pg, admin_cert_row, items, e) != 0) {
		json_decref(items);
		return -1;
	}
	return admin_page_end(items, &pg, ADMIN_CURSOR_CERTS, "listing certificates", out, e);
}

int
admin_serial_parse(const char *text, unsigned char serial[STORE_SERIAL_MAX], size_t *len,
		   struct lerr *e)
{
	size_t n, i;
	int hi, lo;

	*len = 0;
	n = text != NULL ? strlen(text) : 0;
	if (n < 2 || n > 2 * STORE_SERIAL_MAX || n % 2 != 0)
		goto bad;
	for (i = 0; i < n; i += 2) {
		hi = hex_digit(text[i]);
		lo = hex_digit(text[i + 1]);
		if (hi < 0 || lo < 0)
			goto bad;
		serial[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
bad:
	return lerr_set(e, LERR_BAD_REQUEST,
			"a serial is 2 to %d hex digits, an even number of them",
			2 * STORE_SERIAL_MAX);
}

/* One audit row as the admin sees it; NULL when out of memory. */
json_t *
admin_audit_row_json(const struct store_audit_row *r)
{
	json_t *detail = NULL;
	json_error_t je;

	/* The store writes details with jansson: they parse. One that did
	 * not is shown as its text. */
	if (r->detail != NULL && (detail = json_loads(r->detail, 0, &je)) == NULL)
		detail = json_string(r->detail);
	return json_pack("{s:I, s:I, s:s, s:s, s:s?, s:o}", "id", (json_int_t)r->id,
			 "at", (json_int_t)r->at, "actor", r->actor, "event", r->event,
			 "subject", r->subject, "detail", detail != NULL ? detail : json_null());
}

/* Appends one audit row to the array arg; non-zero when out of memory. */
static int
admin_audit_row(const struct store_audit_row *r, void *arg)
{
	json_t *row = admin_audit_row_json(r);

	return row == NULL || json_array_append_new(arg, row) != 0;
}

int
admin_cert_get_json(struct store *s, const char *serial, json_t **out, struct lerr *e)
{
	unsigned char bin[STORE_SERIAL_MAX];
	struct store_cert *c = NULL;
	size_t len;
	int rc = -1;

	*out = NULL;
	if (admin_serial_parse(serial, bin, &len, e) == 0 &&
	    store_cert_by_serial(s, bin, len, &c, e) == 0)
		rc = admin_cert_detail_json(s, c, out, e);
	store_cert_free(c);
	return rc;
}

int
admin_cert_detail_json(struct store *s, const struct store_cert *c, json_t **out,
		       struct lerr *e)
{
	struct store_page pg;
	struct buf pem;
	json_t *row = NULL, *history = NULL;
	int rc = -1;

	*out = NULL;
	buf_init(&pem, 16 * 1024);
	if ((history = json_array()) == NULL)
		goto oom;
	memset(&pg, 0, sizeof(pg));
	pg.limit = ADMIN_HISTORY_MAX;
	if (store_audit_find(s, NULL, c->device_id, &pg, admin_audit_row, history, e) != 0)
		goto out;
	if ((pg.next != 0 && json_array_size(history) < pg.limit) ||
	    issue_cert_pem(c, &pem) != 0 || (row = admin_cert_json(c)) == NULL)
		goto oom;
	if (json_object_set_new(row, "subject", json_string(c->subject)) != 0 ||
	    json_object_set_new(row, "not_before", json_integer(c->not_before)) != 0 ||
	    json_object_set_new(row, "revoked_at", c->status == STORE_CERT_REVOKED ?
				json_integer(c->revoked_at) : json_null()) != 0 ||
	    json_object_set_new(row, "revoke_reason", c->status == STORE_CERT_REVOKED ?
				json_string(crl_reason_str((int)c->revoke_reason)) :
				json_null()) != 0 ||
	    json_object_set_new(row, "revoke_comment", c->status == STORE_CERT_REVOKED &&
				c->revoke_comment[0] != '\0' ?
				json_string(c->revoke_comment) : json_null()) != 0 ||
	    json_object_set_new(row, "request_id", c->request_id[0] != '\0' ?
				json_string(c->request_id) : json_null()) != 0 ||
	    json_object_set_new(row, "pem", json_stringn((const char *)pem.data, pem.len)) != 0 ||
	    json_object_set(row, "history", history) != 0)
		goto oom;
	*out = row;
	row = NULL;
	rc = 0;
	goto out;
oom:
	lerr_set(e, LERR_INTERNAL, "out of memory reading the certificate");
out:
	json_decref(row);
	json_decref(history);
	buf_free(&pem);
	return rc;
}

/* ---- the shell's inventory ---- */

#define ADMIN_DURATION_MSG \
	"a duration is N (seconds), Ns, Nh or Nd, from 1 second to 36500 days"
#define ADMIN_INV_STATUS_MSG	"status is valid, revoked or expired"

int
admin_duration_parse(const char *text, int64_t *out, struct lerr *e)
{
	int64_t v = 0, unit = 1;
	size_t i;

	*out = 0;
	if (text == NULL)
		goto bad;
	for (i = 0; text[i] >= '0' && text[i] <= '9'; i++) {
		v = v * 10 + (text[i] - '0');
		if (v > ADMIN_EXPIRING_MAX)
			goto bad;
	}
	if (i == 0)
		goto bad;
	if (text[i] != '\0') {
		if (text[i + 1] != '\0')
			goto bad;
		switch (text[i]) {
		case 's': unit = 1; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: goto bad;
		}
	}
	/* v is at most ADMIN_EXPIRING_MAX, so v * unit cannot overflow. */
	if (v < 1 || v * unit > ADMIN_EXPIRING_MAX)
		goto bad;
	*out = v * unit;
	return 0;
bad:
	return lerr_set(e, LERR_BAD_REQUEST, ADMIN_DURATION_MSG);
}

/* What a listing by device takes besides its own filters: device (NULL:
 * any) checked as a device id into dev (size bytes), then limit and a
 * cursor of the kind tag. 0, or -1 with e naming which is wrong. */
static int
admin_filter_page_text(const char *device, char *dev, size_t size, const char *limit,
		       const char *cursor, char tag, unsigned *limit_out, int64_t *after,
		       struct lerr *e)
{
	if (device != NULL) {
		if (device[0] == '\0' || admin_text_check("device", device, size - 1, e) != 0)
			return lerr_set(e, LERR_BAD_REQUEST, "device is a device id: 1 to %zu "
					"bytes of text without control characters", size - 1);
		snprintf(dev, size, "%s", device);
	}
	if (admin_limit_text(limit, limit_out, e) != 0)
		return -1;
	if (cursor != NULL && admin_cursor_parse(cursor, strlen(cursor), tag, after, e) != 0)
		return -1;
	return 0;
}

int
admin_inventory_text(const char *status, const char *expiring, const char *device,
		     const char *limit, const char *cursor, struct admin_inventory *out,
		     struct lerr *e)
{
	static const char *const words[] = {
		[ADMIN_INV_VALID] = "valid",
		[ADMIN_INV_REVOKED] = "revoked",
		[ADMIN_INV_EXPIRED] = "expired",
	};
	size_t i;

	memset(out, 0, sizeof(*out));
	if (status != NULL) {
		for (i = ADMIN_INV_VALID; i <= ADMIN_INV_EXPIRED; i++)
			if (strcmp(status, words[i]) == 0)
				break;
		if (i > ADMIN_INV_EXPIRED) {
			lerr_set(e, LERR_BAD_REQUEST, ADMIN_INV_STATUS_MSG);
			goto bad;
		}
		out->status = (enum admin_inv_status)i;
	}
	if (expiring != NULL) {
		if (admin_duration_parse(expiring, &out->expiring, e) != 0)
			goto bad;
		if (out->status == ADMIN_INV_REVOKED || out->status == ADMIN_INV_EXPIRED) {
			lerr_set(e, LERR_BAD_REQUEST, "expiring lists valid certificates: "
				 "it goes with status valid or none, not %s", status);
			goto bad;
		}
	}
	if (admin_filter_page_text(device, out->device, sizeof(out->device), limit, cursor,
				   ADMIN_CURSOR_CERTS, &out->limit, &out->after, e) != 0)
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -1;
}

/* Reads page pg of l at now: the filter in one of the store's ranges. */
static int
admin_inventory_page(struct store *s, const struct admin_inventory *l, int64_t now,
		     struct store_page *pg, int (*fn)(const struct store_cert *c, void *arg),
		     void *arg, struct lerr *e)
{
	struct store_cert_filter f;
	struct store_cert_range r;

	if (l->limit > ADMIN_LIST_MAX || l->after < 0 || l->expiring < 0 ||
	    l->expiring > ADMIN_EXPIRING_MAX || (unsigned)l->status > ADMIN_INV_EXPIRED ||
	    now <= INT64_MIN + 1 || now >= INT64_MAX - ADMIN_EXPIRING_MAX - 1)
		return lerr_set(e, LERR_BAD_REQUEST, "a certificate listing out of bounds");
	memset(pg, 0, sizeof(*pg));
	pg->after = l->after;
	pg->limit = l->limit != 0 ? l->limit : ADMIN_LIST_DEFAULT;
	/* Every certificate, or the revoked ones, of any device: the API's
	 * listing, from the table or the revoked ones' partial index. */
	if (l->device[0] == '\0' && l->expiring == 0 &&
	    (l->status == ADMIN_INV_ANY || l->status == ADMIN_INV_REVOKED)) {
		memset(&f, 0, sizeof(f));
		f.status = l->status == ADMIN_INV_REVOKED ? STORE_CERT_REVOKED : -1;
		f.sort = STORE_SORT_ISSUED;
		return store_cert_find(s, &f, pg, fn, arg, e);
	}
	memset(&r, 0, sizeof(r));
	r.device = l->device;
	r.status = l->status == ADMIN_INV_ANY ? -1 :
		   l->status == ADMIN_INV_REVOKED ? STORE_CERT_REVOKED : STORE_CERT_VALID;
	r.from = INT64_MIN;
	r.until = INT64_MAX;
	r.order = STORE_RANGE_ISSUED;
	/* Valid until the end of not_after's second: expired after it. */
	if (l->expiring > 0) {
		r.status = STORE_CERT_VALID;
		r.from = now + 1;
		r.until = now + l->expiring + 1;
		r.order = STORE_RANGE_EXPIRES_ASC;
	} else if (l->status == ADMIN_INV_VALID) {
		r.from = now + 1;
	} else if (l->status == ADMIN_INV_EXPIRED) {
		r.until = now + 1;
		r.order = STORE_RANGE_EXPIRES_DESC;
	}
	/* A device holds a few certificates: its own range, by issuance. */
	if (l->device[0] != '\0')
		r.order = STORE_RANGE_ISSUED;
	return store_cert_range(s, &r, pg, fn, arg, e);
}

/* admin_inventory_each's visit: the caller's fn, and what it answered. */
struct admin_inv_visit {
	int (*fn)(const struct store_cert *c, void *arg);
	void *arg;
	int stopped;
};

static int
admin_inv_row(const struct store_cert *c, void *arg)
{
	struct admin_inv_visit *v = arg;

	if (v->fn(c, v->arg) != 0)
		v->stopped = 1;
	return v->stopped;
}

int
admin_inventory_each(struct store *s, const struct admin_inventory *l, int64_t now,
		     int (*fn)(const struct store_cert *c, void *arg), void *arg,
		     char next[ADMIN_CURSOR_MAX + 1], struct lerr *e)
{
	struct admin_inv_visit v = { fn, arg, 0 };
	struct store_page pg;

	next[0] = '\0';
	if (admin_inventory_page(s, l, now, &pg, admin_inv_row, &v, e) != 0)
		return -1;
	if (v.stopped)
		return lerr_set(e, LERR_INTERNAL, "listing certificates stopped");
	admin_cursor_tag(ADMIN_CURSOR_CERTS, pg.next, next);
	return 0;
}

int
admin_inventory_json(struct store *s, const struct admin_inventory *l, int64_t now,
		     json_t **out, struct lerr *e)
{
	struct store_page pg;
	json_t *items;

	*out = NULL;
	if ((items = json_array()) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory listing certificates");
	if (admin_inventory_page(s, l, now, &pg, admin_cert_row, items, e) != 0) {
		json_decref(items);
		return -1;
	}
	return admin_page_end(items, &pg, ADMIN_CURSOR_CERTS, "listing certificates", out, e);
}

/* Appends a certificate's serial (hex) to the array arg; non-zero when
 * out of memory. */
static int
admin_serial_row(const struct store_cert *c, void *arg)
{
	char hex[2 * STORE_SERIAL_MAX + 1];

	hex_encode(c->serial, c->serial_len, hex);
	return json_array_append_new(arg, json_string(hex)) != 0;
}

int
admin_cert_lookup(struct store *s, const char *text, json_t **serials, struct lerr *e)
{
	unsigned char bin[STORE_SERIAL_MAX];
	struct store_cert *c = NULL;
	struct store_cert_range r;
	struct store_page pg;
	struct lerr se;
	size_t len, had;
	json_t *list;
	int lrc;

	*serials = NULL;
	if ((list = json_array()) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	/* A serial first: a device id that is also an even run of hex
	 * digits is named by its certificates' serials' text only when no
	 * serial is that text. */
	if (admin_serial_parse(text, bin, &len, &se) == 0) {
		lrc = store_cert_by_serial(s, bin, len, &c, e);
		if (lrc == 0) {
			lrc = admin_serial_row(c, list);
			store_cert_free(c);
			if (lrc != 0)
				goto oom;
			*serials = list;
			return 0;
		}
		if (e->code != LERR_NOT_FOUND)
			goto fail;
	}
	if (text == NULL || text[0] == '\0' || strlen(text) > ADMIN_DEVICE_MAX ||
	    admin_text_check("a device id", text, ADMIN_DEVICE_MAX, e) != 0) {
		lerr_set(e, LERR_BAD_REQUEST, "not a serial (2 to %d hex digits) nor a device "
			 "id (1 to %d bytes of text without control characters)",
			 2 * STORE_SERIAL_MAX, ADMIN_DEVICE_MAX);
		goto fail;
	}
	memset(&r, 0, sizeof(r));
	r.device = text;
	r.status = -1;
	r.from = INT64_MIN;
	r.until = INT64_MAX;
	r.order = STORE_RANGE_ISSUED;
	memset(&pg, 0, sizeof(pg));
	pg.limit = STORE_PAGE_MAX;
	do {
		pg.after = pg.next;
		had = json_array_size(list);
		if (store_cert_range(s, &r, &pg, admin_serial_row, list, e) != 0)
			goto fail;
		/* A page cut short was a row that could not be added. */
		if (pg.next != 0 && json_array_size(list) - had < pg.limit)
			goto oom;
	} while (pg.next != 0);
	if (json_array_size(list) == 0) {
		lerr_set(e, LERR_NOT_FOUND, "no certificate has serial or device id %s", text);
		goto fail;
	}
	*serials = list;
	return 0;
oom:
	lerr_set(e, LERR_INTERNAL, "out of memory");
fail:
	json_decref(list);
	return -1;
}

int
admin_revoke_parse(const char *target, const char *reason, const char *comment,
		   struct admin_revoke_req *out, struct lerr *e)
{
	memset(out, 0, sizeof(*out));
	if (target == NULL || target[0] == '\0' ||
	    admin_text_check("target", target, sizeof(out->target) - 1, e) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "revoke a certificate's serial (hex) or a "
				"device id: 1 to %zu bytes of text without control characters",
				sizeof(out->target) - 1);
	snprintf(out->target, sizeof(out->target), "%s", target);
	out->reason = CRL_REASON_UNSPECIFIED;
	if (reason != NULL && reason[0] != '\0' && (crl_reason_parse(reason, &out->reason) != 0 ||
						     out->reason == CRL_REASON_CA_COMPROMISE))
		return lerr_set(e, LERR_BAD_REQUEST, "unknown revocation reason '%.40s': one of "
				CRL_REASON_WORDS, reason);
	if (admin_reason_check(comment, e) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "a comment is text of at most %d bytes "
				"without control characters", ADMIN_REASON_MAX);
	if (comment != NULL)
		snprintf(out->comment, sizeof(out->comment), "%s", comment);
	return 0;
}

/* The certificates revoked, as admin_revoke answers them. */
static json_t *
admin_revoke_json(const struct admin_revoke_req *rq, int device,
		  char (*serials)[2 * STORE_SERIAL_MAX + 1], size_t n,
		  const struct revocation_made *made)
{
	json_t *o, *list = json_array();
	size_t i;

	for (i = 0; list != NULL && i < n; i++)
		if (json_array_append_new(list, json_string(serials[i])) != 0) {
			json_decref(list);
			list = NULL;
		}
	o = json_pack("{s:s, s:o*, s:s}", "status", "revoked", "revoked", list,
		      "reason", crl_reason_str((int)rq->reason));
	if (o != NULL && json_object_set_new(o, device ? "device_id" : "serial",
					     json_string(device ? rq->target : serials[0])) != 0) {
		json_decref(o);
		return NULL;
	}
	if (o != NULL && made != NULL &&
	    json_object_set_new(o, "crl_number", json_integer(made->number)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
admin_revoke(struct store *s, struct revocation *rv, const struct admin_revoke_req *rq,
	     const char *actor, json_t **out, struct lerr *e)
{
	char serials[ADMIN_REVOKE_LISTED][2 * STORE_SERIAL_MAX + 1];
	unsigned char bin[STORE_SERIAL_MAX];
	struct store_revocation r;
	struct revocation_made made;
	struct lerr ignored, ce;
	size_t len, n = 0;
	int device = 0;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	r.reason = rq->reason;
	r.comment = rq->comment[0] != '\0' ? rq->comment : NULL;
	r.actor = actor;
	/* A serial first (a device id may look like one: it is tried when no
	 * certificate has that serial), else a device's every valid one. */
	if (admin_serial_parse(rq->target, bin, &len, &ignored) == 0) {
		if (store_cert_revoke(s, bin, len, &r, e) == 0) {
			hex_encode(bin, len, serials[0]);
			n = 1;
		} else if (e->code != LERR_NOT_FOUND) {
			return -1;
		}
	}
	if (n == 0) {
		device = 1;
		if (store_device_revoke(s, rq->target, &r, serials, ADMIN_REVOKE_LISTED, &n, e) != 0) {
			if (e->code == LERR_NOT_FOUND)
				lerr_set(e, LERR_NOT_FOUND, "no certificate with serial %s and no "
					 "device %s", rq->target, rq->target);
			return -1;
		}
	}
	if (rv != NULL && revocation_crl_make(rv, actor, &made, &ce) != 0) {
		lerr_set_http(e, ce.code, lerr_http(ce.code), "revoked %s, but no CRL lists it yet: "
			      "%s (the daemon tries again every minute)", rq->target, ce.msg);
		return -1;
	}
	*out = admin_revoke_json(rq, device, serials, n < ADMIN_REVOKE_LISTED ? n :
				 ADMIN_REVOKE_LISTED, rv != NULL ? &made : NULL);
	if (*out == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	return 0;
}

int
admin_audit_list_text(const char *event, const char *device, const char *limit,
		      const char *cursor, struct admin_audit_list *out, struct lerr *e)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (event != NULL) {
		for (i = 0; event[i] != '\0'; i++)
			if (!((event[i] >= 'a' && event[i] <= 'z') ||
			      (event[i] >= '0' && event[i] <= '9') ||
			      event[i] == '-' || event[i] == '_'))
				break;
		if (i == 0 || event[i] != '\0' || i > ADMIN_EVENT_MAX) {
			lerr_set(e, LERR_BAD_REQUEST, "event is 1 to %d lower-case letters, "
				 "digits, '-' or '_'", ADMIN_EVENT_MAX);
			goto bad;
		}
		snprintf(out->event, sizeof(out->event), "%s", event);
	}
	if (admin_filter_page_text(device, out->device, sizeof(out->device), limit, cursor,
				   ADMIN_CURSOR_AUDIT, &out->limit, &out->after, e) != 0)
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -1;
}

int
admin_audit_json(struct store *s, const struct admin_audit_list *l, json_t **out,
		 struct lerr *e)
{
	struct store_page pg;
	json_t *items;

	*out = NULL;
	if (l->limit > ADMIN_LIST_MAX || l->after < 0)
		return lerr_set(e, LERR_BAD_REQUEST, "an audit listing out of bounds");
	memset(&pg, 0, sizeof(pg));
	pg.after = l->after;
	pg.limit = l->limit != 0 ? l->limit : ADMIN_LIST_DEFAULT;
	if ((items = json_array()) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory reading the audit log");
	if (store_audit_find(s, l->event[0] != '\0' ? l->event : NULL,
			     l->device[0] != '\0' ? l->device : NULL, &pg, admin_audit_row,
			     items, e) != 0) {
		json_decref(items);
		return -1;
	}
	return admin_page_end(items, &pg, ADMIN_CURSOR_AUDIT, "reading the audit log", out, e);
}

/* [{"key": start + i * width, "count": counts[i]}...] for n spans. */
static json_t *
admin_spans_json(const char *key, int64_t start, int64_t width, const int64_t *counts,
		 size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_pack("{s:I, s:I}", key,
				(json_int_t)(start + (int64_t)i * width),
				"count", (json_int_t)counts[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

int
admin_overview_json(struct store *s, int64_t now, json_t **out, struct lerr *e)
{
	int64_t weeks[ADMIN_OVERVIEW_WEEKS], days[ADMIN_OVERVIEW_DAYS];
	int64_t today, first_day, valid = 0, revoked = 0, pending = 0;

	*out = NULL;
	if (now < (int64_t)ADMIN_OVERVIEW_DAYS * 86400)
		return lerr_set(e, LERR_INTERNAL, "the clock is before 1970-02");
	today = now - now % 86400;
	first_day = today - (int64_t)(ADMIN_OVERVIEW_DAYS - 1) * 86400;
	if (store_cert_expiring(s, today, 7 * 86400, ADMIN_OVERVIEW_WEEKS, weeks, e) != 0 ||
	    store_cert_issued(s, first_day, 86400, ADMIN_OVERVIEW_DAYS, days, e) != 0 ||
	    store_cert_totals(s, now, &valid, &revoked, e) != 0 ||
	    store_request_count_pending(s, &pending, e) != 0)
		return -1;
	*out = json_pack("{s:o, s:o, s:{s:I, s:I, s:I}}",
			 "expiring_per_week", admin_spans_json("week_start", today, 7 * 86400,
							       weeks, ADMIN_OVERVIEW_WEEKS),
			 "enrollments_per_day", admin_spans_json("day", first_day, 86400, days,
								 ADMIN_OVERVIEW_DAYS),
			 "totals", "valid", (json_int_t)valid, "revoked", (json_int_t)revoked,
			 "pending", (json_int_t)pending);
	if (*out == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory making the overview");
	return 0;
}
