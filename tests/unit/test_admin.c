/*
 * test_admin.c - unit tests for admin.c: the bounds every door relies on,
 * and the actions against a real CA in a temporary directory, as the CLI
 * takes them when no daemon runs (an enroll context without a window, a
 * local signer). jansson's allocator is swapped for one that fails on
 * cue, to see that a listing never answers with a half-made list or an
 * unset error.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <jansson.h>

#include "fixture.h"
#include "ca/policy.h"
#include "daemon/admin.h"
#include "daemon/enroll.h"
#include "daemon/issue.h"
#include "common/buf.h"
#include "daemon/window.h"
#include "signer/signer.h"
#include "store/store.h"

/* ---- bounds ---- */

/* Parses text as JSON and hands it to admin_press_parse. */
static int
press_of(const char *text, struct admin_press *p, struct lerr *e)
{
	json_error_t je;
	json_t *j = text != NULL ? json_loads(text, 0, &je) : NULL;
	int rc;

	ck_assert(text == NULL || j != NULL);
	lerr_clear(e);
	rc = admin_press_parse(j, p, e);
	json_decref(j);
	return rc;
}

START_TEST(test_press_bounds)
{
	struct admin_press p;
	struct lerr e;
	char text[64];

	ck_assert_int_eq(press_of(NULL, &p, &e), 0);
	ck_assert_uint_eq(p.seconds, 0);
	ck_assert_uint_eq(p.count, 0);
	ck_assert_int_eq(press_of("{}", &p, &e), 0);
	snprintf(text, sizeof(text), "{\"seconds\": %d, \"count\": %d}", WINDOW_SECONDS_MAX,
		 WINDOW_COUNT_MAX);
	ck_assert_int_eq(press_of(text, &p, &e), 0);
	ck_assert_uint_eq(p.seconds, WINDOW_SECONDS_MAX);
	ck_assert_uint_eq(p.count, WINDOW_COUNT_MAX);
	ck_assert_int_eq(press_of("{\"seconds\": 1, \"count\": 1}", &p, &e), 0);
	ck_assert_uint_eq(p.seconds, 1);

	snprintf(text, sizeof(text), "{\"seconds\": %d}", WINDOW_SECONDS_MAX + 1);
	ck_assert_int_eq(press_of(text, &p, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_uint_eq(p.seconds, 0);
	snprintf(text, sizeof(text), "{\"count\": %d}", WINDOW_COUNT_MAX + 1);
	ck_assert_int_eq(press_of(text, &p, &e), -1);
	ck_assert_int_eq(press_of("{\"seconds\": 0}", &p, &e), -1);
	ck_assert_int_eq(press_of("{\"count\": -1}", &p, &e), -1);
	ck_assert_int_eq(press_of("{\"seconds\": \"30\"}", &p, &e), -1);
	ck_assert_int_eq(press_of("{\"seconds\": 30.5}", &p, &e), -1);
	ck_assert_int_eq(press_of("{\"seconds\": 9223372036854775807}", &p, &e), -1);
	ck_assert_int_eq(press_of("[30]", &p, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_id_bounds)
{
	struct lerr e;

	ck_assert_int_eq(admin_id_check("0123456789abcdef0123456789abcdef", &e), 0);
	ck_assert_int_eq(admin_id_check("0123456789ABCDEF0123456789abcdef", &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(admin_id_check("0123456789abcdef0123456789abcde", &e), -1);
	ck_assert_int_eq(admin_id_check("0123456789abcdef0123456789abcdef0", &e), -1);
	ck_assert_int_eq(admin_id_check("0123456789abcdef0123456789abcdeg", &e), -1);
	ck_assert_int_eq(admin_id_check("../../../../../../../etc/passwd", &e), -1);
	ck_assert_int_eq(admin_id_check("", &e), -1);
	ck_assert_int_eq(admin_id_check(NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_reason_bounds)
{
	char r[ADMIN_REASON_MAX + 2];
	struct lerr e;

	ck_assert_int_eq(admin_reason_check(NULL, &e), 0);
	ck_assert_int_eq(admin_reason_check("", &e), 0);
	memset(r, 'x', ADMIN_REASON_MAX);
	r[ADMIN_REASON_MAX] = '\0';
	ck_assert_int_eq(admin_reason_check(r, &e), 0);
	r[ADMIN_REASON_MAX] = 'x';
	r[ADMIN_REASON_MAX + 1] = '\0';
	ck_assert_int_eq(admin_reason_check(r, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(admin_reason_check("not your device \xc3\xa9", &e), 0);
	ck_assert_int_eq(admin_reason_check("a\nb", &e), -1);
	ck_assert_int_eq(admin_reason_check("\x1b[2J", &e), -1);
	ck_assert_int_eq(admin_reason_check("del\x7f", &e), -1);
}
END_TEST

static int
list_of(const char *text, struct admin_list *l, struct lerr *e)
{
	json_error_t je;
	json_t *j = text != NULL ? json_loads(text, JSON_ALLOW_NUL, &je) : NULL;
	int rc;

	ck_assert(text == NULL || j != NULL);
	lerr_clear(e);
	rc = admin_list_parse(j, l, e);
	json_decref(j);
	return rc;
}

START_TEST(test_list_bounds)
{
	struct admin_list l;
	struct lerr e;
	char text[64];

	ck_assert_int_eq(list_of(NULL, &l, &e), 0);
	ck_assert_int_eq(l.state, STORE_REQ_ANY);
	ck_assert_uint_eq(l.limit, 0);
	ck_assert_int_eq(list_of("{\"state\": \"pending\", \"limit\": 1}", &l, &e), 0);
	ck_assert_int_eq(l.state, STORE_REQ_PENDING);
	ck_assert_uint_eq(l.limit, 1);
	ck_assert_int_eq(list_of("{\"state\": \"expired\"}", &l, &e), 0);
	snprintf(text, sizeof(text), "{\"limit\": %d}", ADMIN_LIST_MAX);
	ck_assert_int_eq(list_of(text, &l, &e), 0);

	snprintf(text, sizeof(text), "{\"limit\": %d}", ADMIN_LIST_MAX + 1);
	ck_assert_int_eq(list_of(text, &l, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(list_of("{\"limit\": 0}", &l, &e), -1);
	ck_assert_int_eq(list_of("{\"state\": \"bogus\"}", &l, &e), -1);
	ck_assert_int_eq(list_of("{\"state\": \"\"}", &l, &e), -1);
	ck_assert_int_eq(list_of("{\"state\": \"Pending\"}", &l, &e), -1);
	/* Cut at the NUL it would read "pending": it must not. */
	ck_assert_int_eq(list_of("{\"state\": \"pending\\u0000x\"}", &l, &e), -1);
	ck_assert_int_eq(list_of("{\"state\": \"pendingpendingpending\"}", &l, &e), -1);
	ck_assert_int_eq(list_of("{\"state\": 1}", &l, &e), -1);
	ck_assert_int_eq(l.state, STORE_REQ_ANY);

	/* Cursors: what admin_cursor_format writes reads back; nothing
	 * else is one, and the refusal names the cursor. */
	ck_assert_int_eq(list_of("{\"cursor\": \"r42\", \"limit\": 5}", &l, &e), 0);
	ck_assert_int_eq(l.after, 42);
	ck_assert_uint_eq(l.limit, 5);
	ck_assert_int_eq(list_of("{\"cursor\": \"r9223372036854775807\"}", &l, &e), 0);
	ck_assert_int_eq(l.after, INT64_MAX);
	{
		static const char *const bad[] = {
			"\"\"", "\"r\"", "\"r0\"", "\"r042\"", "\"42\"", "\"c42\"", "\"r-1\"",
			"\"r4 2\"", "\"r9223372036854775808\"", "\"r99999999999999999999999\"",
			"\"r42\\u0000\"", "42", "null", "[\"r42\"]",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(text, sizeof(text), "{\"cursor\": %s}", bad[i]);
			ck_assert_msg(list_of(text, &l, &e) == -1, "%s", text);
			ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
			ck_assert_msg(strstr(e.msg, "cursor") != NULL, "%s", e.msg);
			ck_assert_int_eq(l.after, 0);
		}
	}
}
END_TEST

/* The same bounds from text, as the query string and the command line
 * give them. */
START_TEST(test_list_text)
{
	char cursor[ADMIN_CURSOR_MAX + 1];
	struct admin_list l;
	struct lerr e;

	ck_assert_int_eq(admin_list_text(NULL, NULL, NULL, &l, &e), 0);
	ck_assert_int_eq(l.state, STORE_REQ_ANY);
	ck_assert_uint_eq(l.limit, 0);
	ck_assert_int_eq(l.after, 0);
	ck_assert_int_eq(admin_list_text("pending", "1000", "r7", &l, &e), 0);
	ck_assert_int_eq(l.state, STORE_REQ_PENDING);
	ck_assert_uint_eq(l.limit, 1000);
	ck_assert_int_eq(l.after, 7);
	admin_cursor_format(123456789012345, cursor);
	ck_assert_int_eq(admin_list_text(NULL, NULL, cursor, &l, &e), 0);
	ck_assert_int_eq(l.after, 123456789012345);
	admin_cursor_format(0, cursor);
	ck_assert_str_eq(cursor, "");

	ck_assert_int_eq(admin_list_text(NULL, "0", NULL, &l, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_msg(strstr(e.msg, "limit is 1 to 1000") != NULL, "%s", e.msg);
	ck_assert_int_eq(admin_list_text(NULL, "1001", NULL, &l, &e), -1);
	ck_assert_int_eq(admin_list_text(NULL, "4294967297", NULL, &l, &e), -1);
	ck_assert_int_eq(admin_list_text(NULL, "", NULL, &l, &e), -1);
	ck_assert_int_eq(admin_list_text(NULL, "-5", NULL, &l, &e), -1);
	ck_assert_int_eq(admin_list_text(NULL, "+5", NULL, &l, &e), -1);
	ck_assert_int_eq(admin_list_text(NULL, "5 ", NULL, &l, &e), -1);
	ck_assert_int_eq(admin_list_text(NULL, "0x10", NULL, &l, &e), -1);
	ck_assert_uint_eq(l.limit, 0);
	ck_assert_int_eq(admin_list_text(NULL, NULL, "", &l, &e), -1);
	ck_assert_msg(strstr(e.msg, "cursor") != NULL, "%s", e.msg);
	ck_assert_int_eq(admin_list_text(NULL, NULL, "r1x", &l, &e), -1);
	ck_assert_int_eq(admin_list_text("", NULL, NULL, &l, &e), -1);
	ck_assert_msg(strstr(e.msg, "state is") != NULL, "%s", e.msg);
	ck_assert_int_eq(admin_list_text("bogus", NULL, "r1", &l, &e), -1);
	ck_assert_int_eq(l.after, 0);
}
END_TEST

/* ---- the actions on a real CA, as the CLI takes them without a daemon ---- */

struct fx_admin {
	struct fx_issuer x;
	struct enroll *en;
};

static void
fx_admin_open(struct fx_admin *f, int with_signer)
{
	struct lerr e;

	fx_issuer_open(&f->x, with_signer ? FX_LOCAL_SIGNER : FX_NO_SIGNER);
	ck_assert_int_eq(enroll_new(&f->x.is, &f->x.ca, NULL, NULL, &f->en, &e), 0);
}

static void
fx_admin_close(struct fx_admin *f)
{
	enroll_free(f->en);
	fx_issuer_close(&f->x);
}

/* Submits tests/data/csr/NAME; returns its (pending) request id. */
static void
fx_submit(struct fx_admin *f, const char *name, char id[STORE_REQUEST_ID_LEN + 1])
{
	struct enroll_result res;
	struct enroll_ask a;
	struct lerr e;
	size_t n;

	memset(&a, 0, sizeof(a));
	a.csr = fx_csr(name, &n);
	a.csr_len = n;
	a.source = "192.0.2.1";
	enroll_result_init(&res);
	ck_assert_msg(enroll_submit(f->en, &a, &res, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(res.outcome, ENROLL_PENDING);
	memcpy(id, res.request_id, STORE_REQUEST_ID_LEN + 1);
	enroll_result_free(&res);
	free((void *)a.csr);
}

/* The state of request id in the store. */
static void
fx_state(struct fx_admin *f, const char *id, char *state, size_t size, char *reason,
	 size_t rsize)
{
	struct store_request *rq = NULL;
	struct lerr e;

	ck_assert_int_eq(store_request_get(f->x.store, id, &rq, &e), 0);
	snprintf(state, size, "%s", store_req_state_str(rq->state));
	if (reason != NULL)
		snprintf(reason, rsize, "%s", rq->reason);
	store_request_free(rq);
}

/* The ids of a listing, checked against admin_request_json's shape. */
static size_t
fx_list(struct fx_admin *f, const char *state, const char *want_id)
{
	struct admin_list l;
	json_t *page = NULL, *list, *row;
	struct lerr e;
	size_t i, found = 0;

	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(store_req_state_parse(state, &l.state), 0);
	ck_assert_msg(admin_list_json(f->x.store, &l, (int64_t)time(NULL), &page, &e) == 0,
		      "%s", e.msg);
	list = json_object_get(page, "requests");
	ck_assert(json_is_array(list));
	ck_assert_ptr_null(json_object_get(page, "next"));	/* one page holds them */
	json_array_foreach(list, i, row) {
		ck_assert_str_eq(json_string_value(json_object_get(row, "state")), state);
		ck_assert_uint_eq(strlen(json_string_value(json_object_get(row, "key"))), 64);
		ck_assert(json_is_integer(json_object_get(row, "expires_at")));
		if (strcmp(json_string_value(json_object_get(row, "id")), want_id) == 0)
			found++;
	}
	json_decref(page);
	return found;
}

/* A listing a page at a time: each page names the next by a cursor, the
 * last names none, and the pages hold every request once, newest first. */
START_TEST(test_list_pages)
{
	char id1[STORE_REQUEST_ID_LEN + 1], id2[STORE_REQUEST_ID_LEN + 1];
	char id3[STORE_REQUEST_ID_LEN + 1];
	const char *next;
	struct fx_admin f;
	struct admin_list l;
	json_t *page, *rows;
	struct lerr e;

	fx_admin_open(&f, 0);
	fx_submit(&f, "p256.pem", id1);
	fx_submit(&f, "ed25519.pem", id2);
	ck_assert_int_eq(admin_list_text("pending", "1", NULL, &l, &e), 0);
	ck_assert_int_eq(admin_list_json(f.x.store, &l, (int64_t)time(NULL), &page, &e), 0);
	rows = json_object_get(page, "requests");
	ck_assert_uint_eq(json_array_size(rows), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "id")), id2);
	next = json_string_value(json_object_get(page, "next"));
	ck_assert_ptr_nonnull(next);
	/* A request made meanwhile is newer than the cursor: not on page 2. */
	fx_submit(&f, "p384.pem", id3);
	ck_assert_int_eq(admin_list_text("pending", "1", next, &l, &e), 0);
	json_decref(page);
	ck_assert_int_eq(admin_list_json(f.x.store, &l, (int64_t)time(NULL), &page, &e), 0);
	rows = json_object_get(page, "requests");
	ck_assert_uint_eq(json_array_size(rows), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "id")), id1);
	ck_assert_ptr_null(json_object_get(page, "next"));
	json_decref(page);
	/* Without a limit: the default page, which holds all three. */
	ck_assert_int_eq(admin_list_json(f.x.store, NULL, (int64_t)time(NULL), &page, &e), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(page, "requests")), 3);
	ck_assert_ptr_null(json_object_get(page, "next"));
	json_decref(page);
	fx_admin_close(&f);
}
END_TEST

START_TEST(test_deny_without_daemon)
{
	char id[STORE_REQUEST_ID_LEN + 1], state[16], reason[sizeof(((struct store_request *)0)->reason)];
	struct fx_admin f;
	struct lerr e;

	fx_admin_open(&f, 0);
	fx_submit(&f, "p256.pem", id);
	ck_assert_uint_eq(fx_list(&f, "pending", id), 1);

	/* Bounds first, whatever the door: nothing written. */
	ck_assert_int_eq(admin_deny(f.en, id, "tab\there", "cli unit", &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(admin_deny(f.en, "0123", NULL, "cli unit", &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	fx_state(&f, id, state, sizeof(state), NULL, 0);
	ck_assert_str_eq(state, "pending");

	ck_assert_msg(admin_deny(f.en, id, "not ours", "cli unit", &e) == 0, "%s", e.msg);
	fx_state(&f, id, state, sizeof(state), reason, sizeof(reason));
	ck_assert_str_eq(state, "denied");
	ck_assert_str_eq(reason, "not ours");
	ck_assert_uint_eq(fx_list(&f, "pending", id), 0);
	ck_assert_uint_eq(fx_list(&f, "denied", id), 1);
	/* Once decided, never again. */
	ck_assert_int_eq(admin_deny(f.en, id, NULL, "cli unit", &e), -1);
	ck_assert_int_ne(e.code, LERR_NONE);
	/* No window in this process: the button is the daemon's. */
	ck_assert_int_eq(admin_press(f.en, NULL, "cli unit", NULL, &e), -1);
	ck_assert_int_ne(e.code, LERR_NONE);
	fx_admin_close(&f);
}
END_TEST

START_TEST(test_approve_without_daemon)
{
	char id[STORE_REQUEST_ID_LEN + 1], state[16], serial[2 * STORE_SERIAL_MAX + 1];
	struct fx_admin f;
	struct lerr e;

	fx_admin_open(&f, 1);
	fx_submit(&f, "p256.pem", id);
	ck_assert_int_eq(admin_approve(f.en, "0123456789ABCDEF0123456789abcdef", "cli unit", serial,
				       &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_msg(admin_approve(f.en, id, "cli unit", serial, &e) == 0, "%s", e.msg);
	ck_assert_uint_gt(strlen(serial), 0);
	fx_state(&f, id, state, sizeof(state), NULL, 0);
	ck_assert_str_eq(state, "issued");
	ck_assert_uint_eq(fx_list(&f, "issued", id), 1);
	ck_assert_int_eq(admin_approve(f.en, id, "cli unit", serial, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_str_eq(serial, "");
	fx_admin_close(&f);
}
END_TEST

/* ---- listings when memory runs out ---- */

static int alloc_left = -1;	/* allocations that may still succeed; -1: all */

static void *
failing_malloc(size_t n)
{
	if (alloc_left == 0)
		return NULL;
	if (alloc_left > 0)
		alloc_left--;
	return malloc(n);
}

START_TEST(test_list_out_of_memory)
{
	char id1[STORE_REQUEST_ID_LEN + 1], id2[STORE_REQUEST_ID_LEN + 1];
	struct fx_admin f;
	json_t *list;
	struct lerr e;
	int n, failed = 0, whole = 0;

	fx_admin_open(&f, 0);
	fx_submit(&f, "p256.pem", id1);
	fx_submit(&f, "ed25519.pem", id2);
	json_set_alloc_funcs(failing_malloc, free);
	/* Whatever allocation fails, the answer is the whole list or an
	 * error with its code set, never a shorter list nor an unset error. */
	for (n = 0; n < 4096 && whole == 0; n++) {
		memset(&e, 0x5a, sizeof(e));
		list = (json_t *)&e;
		alloc_left = n;
		if (admin_list_json(f.x.store, NULL, (int64_t)time(NULL), &list, &e) == 0) {
			alloc_left = -1;
			ck_assert_msg(json_array_size(json_object_get(list, "requests")) == 2,
				      "%d allocations: %zu rows", n,
				      json_array_size(json_object_get(list, "requests")));
			json_decref(list);
			whole++;
		} else {
			alloc_left = -1;
			ck_assert_ptr_null(list);
			ck_assert_msg(e.code == LERR_INTERNAL, "%d allocations: code %d", n,
				      (int)e.code);
			ck_assert_ptr_nonnull(memchr(e.msg, '\0', sizeof(e.msg)));
			failed++;
		}
	}
	json_set_alloc_funcs(malloc, free);
	ck_assert_int_gt(failed, 1);	/* the array itself, and the rows */
	ck_assert_int_gt(whole, 0);
	fx_admin_close(&f);
}
END_TEST

/* ---- the inventory ---- */

/* Certificate listings from text: defaults, each word, each bound. */
START_TEST(test_cert_list_text)
{
	char q[STORE_SEARCH_MAX + 2];
	struct admin_cert_list l;
	struct lerr e;

	ck_assert_int_eq(admin_cert_list_text(NULL, NULL, NULL, NULL, NULL, NULL, &l, &e), 0);
	ck_assert_int_eq(l.status, -1);
	ck_assert_int_eq(l.sort, STORE_SORT_ISSUED);
	ck_assert_int_eq(l.ascending, 0);
	ck_assert_str_eq(l.q, "");
	ck_assert_int_eq(admin_cert_list_text("cam", "revoked", "device", "asc", "7", "c12", &l,
					      &e), 0);
	ck_assert_str_eq(l.q, "cam");
	ck_assert_int_eq(l.status, STORE_CERT_REVOKED);
	ck_assert_int_eq(l.sort, STORE_SORT_DEVICE);
	ck_assert_int_eq(l.ascending, 1);
	ck_assert_uint_eq(l.limit, 7);
	ck_assert_int_eq(l.after, 12);
	ck_assert_int_eq(admin_cert_list_text(NULL, "valid", "expires", "desc", NULL, NULL, &l,
					      &e), 0);
	ck_assert_int_eq(l.status, STORE_CERT_VALID);
	ck_assert_int_eq(l.sort, STORE_SORT_EXPIRES);

#define CERT_BAD(q_, st_, so_, or_, li_, cu_, text) do { \
	lerr_clear(&e); \
	ck_assert_int_eq(admin_cert_list_text(q_, st_, so_, or_, li_, cu_, &l, &e), -1); \
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST); \
	ck_assert_msg(strstr(e.msg, text) != NULL, "%s", e.msg); \
	ck_assert_int_eq(l.status, -1); \
	ck_assert_int_eq(l.after, 0); \
} while (0)
	CERT_BAD(NULL, "expired", NULL, NULL, NULL, NULL, "status is valid or revoked");
	CERT_BAD(NULL, "", NULL, NULL, NULL, NULL, "status is");
	CERT_BAD(NULL, NULL, "name", NULL, NULL, NULL, "sort is issued, expires or device");
	CERT_BAD(NULL, NULL, "Issued", NULL, NULL, NULL, "sort is");
	CERT_BAD(NULL, NULL, NULL, "up", NULL, NULL, "order is asc or desc");
	CERT_BAD(NULL, NULL, NULL, NULL, "0", NULL, "limit is 1 to 1000");
	CERT_BAD(NULL, NULL, NULL, NULL, "1001", NULL, "limit is");
	CERT_BAD(NULL, NULL, NULL, NULL, "+5", NULL, "limit is");
	CERT_BAD(NULL, NULL, NULL, NULL, NULL, "r12", "cursor");
	CERT_BAD(NULL, NULL, NULL, NULL, NULL, "a12", "cursor");
	CERT_BAD(NULL, NULL, NULL, NULL, NULL, "c0", "cursor");
	CERT_BAD("a\tb", NULL, NULL, NULL, NULL, NULL, "q is at most 64 bytes");
	memset(q, 'x', sizeof(q) - 1);
	q[sizeof(q) - 1] = '\0';
	CERT_BAD(q, NULL, NULL, NULL, NULL, NULL, "q is at most 64 bytes");
	q[STORE_SEARCH_MAX] = '\0';
	ck_assert_int_eq(admin_cert_list_text(q, NULL, NULL, NULL, NULL, NULL, &l, &e), 0);
#undef CERT_BAD
}
END_TEST

START_TEST(test_serial_and_audit_text)
{
	unsigned char bin[STORE_SERIAL_MAX];
	struct admin_audit_list a;
	char serial[2 * STORE_SERIAL_MAX + 4];
	struct lerr e;
	size_t len = 99;

	ck_assert_int_eq(admin_serial_parse("0aFf", bin, &len, &e), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(bin[0], 0x0a);
	ck_assert_uint_eq(bin[1], 0xff);
	memset(serial, 'a', 2 * STORE_SERIAL_MAX);
	serial[2 * STORE_SERIAL_MAX] = '\0';
	ck_assert_int_eq(admin_serial_parse(serial, bin, &len, &e), 0);
	ck_assert_uint_eq(len, STORE_SERIAL_MAX);
	serial[2 * STORE_SERIAL_MAX] = 'a';
	serial[2 * STORE_SERIAL_MAX + 1] = 'a';
	serial[2 * STORE_SERIAL_MAX + 2] = '\0';
	ck_assert_int_eq(admin_serial_parse(serial, bin, &len, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(admin_serial_parse("abc", bin, &len, &e), -1);
	ck_assert_int_eq(admin_serial_parse("", bin, &len, &e), -1);
	ck_assert_int_eq(admin_serial_parse(NULL, bin, &len, &e), -1);
	ck_assert_int_eq(admin_serial_parse("0g", bin, &len, &e), -1);
	ck_assert_int_eq(admin_serial_parse("0x12", bin, &len, &e), -1);
	ck_assert_msg(strstr(e.msg, "a serial is 2 to 40 hex digits") != NULL, "%s", e.msg);

	ck_assert_int_eq(admin_audit_list_text(NULL, NULL, NULL, NULL, &a, &e), 0);
	ck_assert_str_eq(a.event, "");
	ck_assert_int_eq(admin_audit_list_text("preauth_secret_wrong", "cam-1", "5", "a9", &a, &e), 0);
	ck_assert_str_eq(a.event, "preauth_secret_wrong");
	ck_assert_str_eq(a.device, "cam-1");
	ck_assert_uint_eq(a.limit, 5);
	ck_assert_int_eq(a.after, 9);
	ck_assert_int_eq(admin_audit_list_text("Issue", NULL, NULL, NULL, &a, &e), -1);
	ck_assert_msg(strstr(e.msg, "event is") != NULL, "%s", e.msg);
	ck_assert_int_eq(admin_audit_list_text("", NULL, NULL, NULL, &a, &e), -1);
	ck_assert_int_eq(admin_audit_list_text("a b", NULL, NULL, NULL, &a, &e), -1);
	ck_assert_int_eq(admin_audit_list_text(NULL, "", NULL, NULL, &a, &e), -1);
	ck_assert_msg(strstr(e.msg, "device is") != NULL, "%s", e.msg);
	ck_assert_int_eq(admin_audit_list_text(NULL, "a\nb", NULL, NULL, &a, &e), -1);
	ck_assert_int_eq(admin_audit_list_text(NULL, NULL, NULL, "c9", &a, &e), -1);
	ck_assert_msg(strstr(e.msg, "cursor") != NULL, "%s", e.msg);
	ck_assert_int_eq(admin_audit_list_text(NULL, NULL, "0", NULL, &a, &e), -1);
	ck_assert_str_eq(a.device, "");
}
END_TEST

/* A request row says its door, key type and names. */
START_TEST(test_request_row)
{
	char id[STORE_REQUEST_ID_LEN + 1];
	struct store_request *rq = NULL;
	struct fx_admin f;
	struct lerr e;
	json_t *row;
	char *text;

	fx_admin_open(&f, 0);
	fx_submit(&f, "p256.pem", id);
	ck_assert_int_eq(store_request_get(f.x.store, id, &rq, &e), 0);
	row = admin_request_json(rq);
	ck_assert_ptr_nonnull(row);
	text = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_msg(strstr(text, "\"door\":\"api\"") != NULL &&
		      strstr(text, "\"key_type\":\"ecdsa-p256\"") != NULL &&
		      strstr(text, "\"names\":[\"DNS:x.local\",\"IP:192.168.1.10\"]") != NULL, "%s", text);
	ck_assert_str_eq(json_string_value(json_object_get(row, "key_id")),
			 json_string_value(json_object_get(row, "key")));
	free(text);
	json_decref(row);
	rq->door = STORE_DOOR_EST;
	row = admin_request_json(rq);
	ck_assert_str_eq(json_string_value(json_object_get(row, "door")), "est");
	json_decref(row);
	store_request_free(rq);
	fx_admin_close(&f);
}
END_TEST

/* A revocation of target as the CLI makes one without a daemon. */
static int
revoke_json(struct fx_admin *f, const char *target, const char *reason, const char *comment,
	    json_t **out, struct lerr *e)
{
	struct admin_revoke_req rq;

	*out = NULL;
	if (admin_revoke_parse(target, reason, comment, &rq, e) != 0)
		return -1;
	return admin_revoke(f->x.store, NULL, &rq, "cli unit", out, e);
}

static int
revoke(struct fx_admin *f, const char *target, const char *reason, const char *comment,
       struct lerr *e)
{
	json_t *j = NULL;
	int rc = revoke_json(f, target, reason, comment, &j, e);

	json_decref(j);
	return rc;
}

/* Revocation: bounds first (nothing written), then the status and one
 * audit row, then a conflict; the detail shows it with its PEM and
 * history; the overview counts it. */
START_TEST(test_revoke_and_detail)
{
	char id[STORE_REQUEST_ID_LEN + 1], serial[2 * STORE_SERIAL_MAX + 1];
	char hex[2 * STORE_SERIAL_MAX + 1], upper[2 * STORE_SERIAL_MAX + 1], reason[ADMIN_REASON_MAX + 2];
	unsigned char bin[STORE_SERIAL_MAX];
	struct store_cert *c = NULL;
	struct admin_cert_list l;
	struct fx_admin f;
	struct buf pem;
	struct lerr e;
	json_t *j, *h;
	size_t len, i;
	int64_t now = (int64_t)time(NULL), today = now - now % 86400;

	fx_admin_open(&f, 1);
	fx_submit(&f, "p256.pem", id);
	ck_assert_msg(admin_approve(f.en, id, "cli unit", serial, &e) == 0, "%s", e.msg);
	for (i = 0; serial[i] != '\0'; i++)
		upper[i] = (char)(serial[i] >= 'a' ? serial[i] - 'a' + 'A' : serial[i]);
	upper[i] = '\0';

	/* The detail: the PEM of the DER the store holds, the history. */
	ck_assert_int_eq(admin_cert_get_json(f.x.store, upper, &j, &e), 0);
	ck_assert_int_eq(admin_serial_parse(serial, bin, &len, &e), 0);
	ck_assert_int_eq(store_cert_by_serial(f.x.store, bin, len, &c, &e), 0);
	buf_init(&pem, 65536);
	ck_assert_int_eq(issue_cert_pem(c, &pem), 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "pem")), (const char *)pem.data);
	ck_assert(strncmp((const char *)pem.data, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
	buf_free(&pem);
	ck_assert_str_eq(json_string_value(json_object_get(j, "serial")), serial);
	ck_assert_str_eq(json_string_value(json_object_get(j, "device_id")), "dev-p256");
	ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), id);
	ck_assert(json_is_null(json_object_get(j, "revoked_at")));
	h = json_object_get(j, "history");
	ck_assert_uint_ge(json_array_size(h), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(h, 0), "event")), "approve");
	json_decref(j);

	/* Bounds, whatever the door: nothing written. */
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	ck_assert_int_eq(revoke(&f, serial, NULL, reason, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(revoke(&f, serial, NULL, "a\x01", &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	/* The free text of old is no reason: RFC 5280's words are. */
	ck_assert_int_eq(revoke(&f, serial, "key lost", NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_ptr_nonnull(strstr(e.msg, "keyCompromise"));
	ck_assert_int_eq(revoke(&f, serial, "cACompromise", NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(revoke(&f, "", NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(revoke(&f, "xyz", NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(revoke(&f, "00ff", NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(admin_cert_get_json(f.x.store, "00ff", &j, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(admin_cert_get_json(f.x.store, "0", &j, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(admin_cert_list_text(NULL, "revoked", NULL, NULL, NULL, NULL, &l, &e), 0);
	ck_assert_int_eq(admin_cert_list_json(f.x.store, &l, &j, &e), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);

	ck_assert_msg(revoke_json(&f, upper, "keyCompromise", reason + 100, &j, &e) == 0, "%s",
		      e.msg);
	ck_assert_str_eq(json_string_value(json_object_get(j, "serial")), serial);
	ck_assert_str_eq(json_string_value(json_object_get(j, "reason")), "keyCompromise");
	ck_assert_ptr_null(json_object_get(j, "crl_number"));	/* no daemon: no CRL */
	json_decref(j);
	(void)hex;
	ck_assert_int_eq(revoke(&f, serial, NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	/* Its device holds no valid certificate now. */
	ck_assert_int_eq(revoke(&f, "dev-p256", NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(admin_cert_get_json(f.x.store, serial, &j, &e), 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "revoked");
	ck_assert_str_eq(json_string_value(json_object_get(j, "revoke_reason")), "keyCompromise");
	ck_assert_str_eq(json_string_value(json_object_get(j, "revoke_comment")), reason + 100);
	ck_assert(json_integer_value(json_object_get(j, "revoked_at")) >= now);
	h = json_array_get(json_object_get(j, "history"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(h, "event")), "revoke");
	ck_assert_str_eq(json_string_value(json_object_get(h, "actor")), "cli unit");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(h, "detail"), "serial")),
			 serial);
	json_decref(j);
	ck_assert_int_eq(admin_cert_list_json(f.x.store, &l, &j, &e), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 1);
	ck_assert(json_is_null(json_object_get(j, "next_cursor")));
	json_decref(j);

	/* The overview: the revoked certificate is no longer valid nor
	 * expiring; it was issued today. */
	ck_assert_int_eq(admin_overview_json(f.x.store, now, &j, &e), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "totals"), "revoked")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "totals"), "pending")), 0);
	h = json_object_get(j, "enrollments_per_day");
	ck_assert_uint_eq(json_array_size(h), ADMIN_OVERVIEW_DAYS);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(h, ADMIN_OVERVIEW_DAYS - 1),
							    "day")), today);
	ck_assert_int_ge(json_integer_value(json_object_get(json_array_get(h, ADMIN_OVERVIEW_DAYS - 1),
							    "count")), 1);
	h = json_object_get(j, "expiring_per_week");
	ck_assert_uint_eq(json_array_size(h), ADMIN_OVERVIEW_WEEKS);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(h, 0), "week_start")), today);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(h, 12), "week_start")),
			 today + 12 * 7 * 86400);
	for (i = 0; i < ADMIN_OVERVIEW_WEEKS; i++)
		ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(h, i), "count")), 0);
	json_decref(j);
	store_cert_free(c);
	fx_admin_close(&f);
}
END_TEST

/* The shell's listing from text: durations in seconds, hours or days
 * and nothing else; statuses by name; expiring only with valid ones. */
START_TEST(test_inventory_text)
{
	static const struct { const char *text; int64_t secs; } good[] = {
		{ "30d", 30 * 86400 }, { "12h", 12 * 3600 }, { "90", 90 }, { "90s", 90 },
		{ "1", 1 }, { "36500d", ADMIN_EXPIRING_MAX }, { "007d", 7 * 86400 },
	};
	static const char *const bad[] = {
		"", "d", "0", "0d", "-1", "+1", "1w", "1m", "1.5d", "30dd", "30D", "36501d",
		" 1", "1 ", "99999999999999999999", "3153600001", "1e3",
	};
	struct admin_inventory l;
	struct lerr e;
	int64_t v;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(admin_duration_parse(good[i].text, &v, &e) == 0, "%s", good[i].text);
		ck_assert_int_eq(v, good[i].secs);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(admin_duration_parse(bad[i], &v, &e) == -1, "%s", bad[i]);
		ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
		ck_assert_msg(strstr(e.msg, "Nh or Nd") != NULL, "%s", e.msg);
		ck_assert_int_eq(v, 0);
	}
	ck_assert_int_eq(admin_inventory_text(NULL, NULL, NULL, NULL, NULL, &l, &e), 0);
	ck_assert_int_eq(l.status, ADMIN_INV_ANY);
	ck_assert_int_eq(admin_inventory_text("expired", NULL, "dev-1", "5", "c42", &l, &e), 0);
	ck_assert_int_eq(l.status, ADMIN_INV_EXPIRED);
	ck_assert_str_eq(l.device, "dev-1");
	ck_assert_uint_eq(l.limit, 5);
	ck_assert_int_eq(l.after, 42);
	ck_assert_int_eq(admin_inventory_text("valid", "30d", NULL, NULL, NULL, &l, &e), 0);
	ck_assert_int_eq(l.expiring, 30 * 86400);
	ck_assert_int_eq(admin_inventory_text("revoked", NULL, NULL, NULL, NULL, &l, &e), 0);
	ck_assert_int_eq(l.status, ADMIN_INV_REVOKED);
	/* Each refusal names what was wrong, and leaves nothing behind. */
	ck_assert_int_eq(admin_inventory_text("Valid", NULL, NULL, NULL, NULL, &l, &e), -1);
	ck_assert_msg(strstr(e.msg, "status is valid, revoked or expired") != NULL, "%s", e.msg);
	ck_assert_int_eq(admin_inventory_text("revoked", "30d", NULL, NULL, NULL, &l, &e), -1);
	ck_assert_msg(strstr(e.msg, "expiring lists valid") != NULL, "%s", e.msg);
	ck_assert_int_eq(admin_inventory_text("expired", "1h", NULL, NULL, NULL, &l, &e), -1);
	ck_assert_int_eq(admin_inventory_text(NULL, "1w", NULL, NULL, NULL, &l, &e), -1);
	ck_assert_int_eq(admin_inventory_text(NULL, NULL, "", NULL, NULL, &l, &e), -1);
	ck_assert_msg(strstr(e.msg, "device is a device id") != NULL, "%s", e.msg);
	ck_assert_int_eq(admin_inventory_text(NULL, NULL, "a\tb", NULL, NULL, &l, &e), -1);
	ck_assert_int_eq(admin_inventory_text(NULL, NULL, NULL, "0", NULL, &l, &e), -1);
	ck_assert_int_eq(admin_inventory_text(NULL, NULL, NULL, NULL, "r42", &l, &e), -1);
	ck_assert_msg(strstr(e.msg, "cursor") != NULL, "%s", e.msg);
	ck_assert_int_eq(admin_inventory_text(NULL, NULL, "dev", NULL, "c0", &l, &e), -1);
	ck_assert_str_eq(l.device, "");
	ck_assert_int_eq(l.after, 0);
}
END_TEST

/* The rows of one page of the shell's listing at now. */
static size_t
inv_rows(struct store *s, const char *status, const char *expiring, const char *device,
	 int64_t now)
{
	struct admin_inventory l;
	struct lerr e;
	json_t *j;
	size_t n;

	ck_assert_msg(admin_inventory_text(status, expiring, device, NULL, NULL, &l, &e) == 0,
		      "%s", e.msg);
	ck_assert_msg(admin_inventory_json(s, &l, now, &j, &e) == 0, "%s", e.msg);
	ck_assert(json_is_null(json_object_get(j, "next_cursor")));
	n = json_array_size(json_object_get(j, "items"));
	json_decref(j);
	return n;
}

/* The shell's listing and look-up on a real CA: one issued certificate
 * is valid, then expiring, then expired as the clock moves; revoked, it
 * is only revoked; show finds it by serial and by device id. */
START_TEST(test_inventory_lookup)
{
	char id[STORE_REQUEST_ID_LEN + 1], serial[2 * STORE_SERIAL_MAX + 1];
	char upper[2 * STORE_SERIAL_MAX + 1];
	unsigned char bin[STORE_SERIAL_MAX];
	struct store_cert *c = NULL;
	struct fx_admin f;
	struct lerr e;
	json_t *j;
	size_t len, i;
	int64_t now = (int64_t)time(NULL), end;

	fx_admin_open(&f, 1);
	fx_submit(&f, "p256.pem", id);
	ck_assert_msg(admin_approve(f.en, id, "cli unit", serial, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(admin_serial_parse(serial, bin, &len, &e), 0);
	ck_assert_int_eq(store_cert_by_serial(f.x.store, bin, len, &c, &e), 0);
	end = c->not_after;
	store_cert_free(c);
	for (i = 0; serial[i] != '\0'; i++)
		upper[i] = (char)(serial[i] >= 'a' ? serial[i] - 'a' + 'A' : serial[i]);
	upper[i] = '\0';

	ck_assert_uint_eq(inv_rows(f.x.store, "valid", NULL, "dev-p256", now), 1);
	ck_assert_uint_eq(inv_rows(f.x.store, NULL, NULL, "dev-p256", now), 1);
	ck_assert_uint_eq(inv_rows(f.x.store, NULL, NULL, "dev-p25", now), 0);
	ck_assert_uint_eq(inv_rows(f.x.store, "expired", NULL, NULL, now), 0);
	ck_assert_uint_eq(inv_rows(f.x.store, NULL, "1h", NULL, now), 0);
	/* A day before its end it is expiring within 2 days, not 1 hour. */
	ck_assert_uint_eq(inv_rows(f.x.store, "valid", "2d", "dev-p256", end - 86400), 1);
	ck_assert_uint_eq(inv_rows(f.x.store, NULL, "2d", NULL, end - 86400), 1);
	ck_assert_uint_eq(inv_rows(f.x.store, NULL, "1h", NULL, end - 86400), 0);
	/* At its not_after it is expired (valid up to the second before). */
	ck_assert_uint_eq(inv_rows(f.x.store, NULL, "1s", NULL, end - 1), 1);
	ck_assert_uint_eq(inv_rows(f.x.store, "expired", NULL, NULL, end), 1);
	ck_assert_uint_eq(inv_rows(f.x.store, "expired", NULL, "dev-p256", end), 1);
	ck_assert_uint_eq(inv_rows(f.x.store, "valid", NULL, "dev-p256", end), 0);
	ck_assert_uint_eq(inv_rows(f.x.store, NULL, "2d", NULL, end), 0);

	/* Look-ups: a serial in either case, a device id, neither. */
	ck_assert_int_eq(admin_cert_lookup(f.x.store, upper, &j, &e), 0);
	ck_assert_uint_eq(json_array_size(j), 1);
	ck_assert_str_eq(json_string_value(json_array_get(j, 0)), serial);
	json_decref(j);
	ck_assert_int_eq(admin_cert_lookup(f.x.store, "dev-p256", &j, &e), 0);
	ck_assert_uint_eq(json_array_size(j), 1);
	ck_assert_str_eq(json_string_value(json_array_get(j, 0)), serial);
	json_decref(j);
	ck_assert_int_eq(admin_cert_lookup(f.x.store, "dev-none", &j, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(admin_cert_lookup(f.x.store, "00ff", &j, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(admin_cert_lookup(f.x.store, "a\x01", &j, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(admin_cert_lookup(f.x.store, "", &j, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);

	/* Revoked: in the revoked listing (of all, and of its device), in
	 * no other, however the clock moves. */
	ck_assert_int_eq(revoke(&f, serial, NULL, NULL, &e), 0);
	ck_assert_uint_eq(inv_rows(f.x.store, "revoked", NULL, NULL, now), 1);
	ck_assert_uint_eq(inv_rows(f.x.store, "revoked", NULL, "dev-p256", now), 1);
	ck_assert_uint_eq(inv_rows(f.x.store, "valid", NULL, "dev-p256", now), 0);
	ck_assert_uint_eq(inv_rows(f.x.store, NULL, "2d", NULL, end - 86400), 0);
	ck_assert_uint_eq(inv_rows(f.x.store, "expired", NULL, NULL, end), 0);
	fx_admin_close(&f);
}
END_TEST

static Suite *
admin_suite(void)
{
	Suite *s = suite_create("admin");
	TCase *b = tcase_create("bounds"), *a = tcase_create("actions");

	tcase_add_test(b, test_press_bounds);
	tcase_add_test(b, test_id_bounds);
	tcase_add_test(b, test_reason_bounds);
	tcase_add_test(b, test_list_bounds);
	tcase_add_test(b, test_list_text);
	tcase_add_test(b, test_cert_list_text);
	tcase_add_test(b, test_serial_and_audit_text);
	tcase_add_test(b, test_inventory_text);
	suite_add_tcase(s, b);
	tcase_add_checked_fixture(a, fx_make_ca, fx_remove_ca);
	tcase_set_timeout(a, 60);
	tcase_add_test(a, test_deny_without_daemon);
	tcase_add_test(a, test_approve_without_daemon);
	tcase_add_test(a, test_list_out_of_memory);
	tcase_add_test(a, test_list_pages);
	tcase_add_test(a, test_request_row);
	tcase_add_test(a, test_revoke_and_detail);
	tcase_add_test(a, test_inventory_lookup);
	suite_add_tcase(s, a);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(admin_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
