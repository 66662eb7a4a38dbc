/*
 * test_window.c - the onboarding window's rules (SPEC.md, "Button-press
 * onboarding"), one test per rule, with a fake clock: every call is given
 * its `now`, so time moves only when a test says so.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/window.h"

#define T0 1000000	/* the fake clock's press time */

/* Up to 8 keys and ids a test can put in a waiting set. */
struct wset {
	unsigned char keys[8][32];
	char ids[8][WINDOW_ID_LEN + 1];
	struct window_waiting w;
};

/* Key number i: 32 bytes of i, so keys differ in every byte. */
static void
key_make(unsigned char key[32], unsigned i)
{
	memset(key, (int)(0x10 + i), 32);
}

/* Request id of key i: "req-i". */
static void
id_make(char id[WINDOW_ID_LEN + 1], unsigned i)
{
	int r = snprintf(id, WINDOW_ID_LEN + 1, "req-%u", i);

	ck_assert(r > 0 && r <= WINDOW_ID_LEN);
}

/* A waiting set holding keys numbered nums[0..n-1]. */
static struct window_waiting *
wset_make(struct wset *s, const unsigned *nums, size_t n)
{
	size_t i;

	ck_assert(n <= 8);
	memset(s, 0, sizeof(*s));
	for (i = 0; i < n; i++) {
		key_make(s->keys[i], nums[i]);
		id_make(s->ids[i], nums[i]);
	}
	s->w.n = n;
	s->w.keys = (const unsigned char (*)[32])s->keys;
	s->w.ids = (const char (*)[WINDOW_ID_LEN + 1])s->ids;
	return &s->w;
}

/* Key number i asks at now with waiting set ws; returns the verdict. */
static enum window_verdict
ask(struct window *w, unsigned i, const struct window_waiting *ws, int64_t now,
    struct window_decision *d)
{
	unsigned char key[32];
	char id[WINDOW_ID_LEN + 1];

	key_make(key, i);
	id_make(id, i);
	window_request(w, key, id, ws, now, d);
	return d->verdict;
}

static enum window_state
state_at(struct window *w, int64_t now)
{
	struct window_status st;

	window_get_status(w, now, &st);
	return st.state;
}

START_TEST(test_press_one_waiting_admits)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	struct wset s;
	unsigned char k1[32];
	const unsigned one[] = { 1 };

	window_init(&w);
	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, one, 1), T0, &d), 0);
	ck_assert_int_eq(d.verdict, WINDOW_ADMIT);
	ck_assert_str_eq(d.admit_id, "req-1");
	key_make(k1, 1);
	ck_assert_mem_eq(d.admit_key, k1, 32);
	ck_assert_int_eq(d.changed, 1);
	window_get_status(&w, T0, &st);
	ck_assert_int_eq(st.state, WINDOW_CLOSED);
	ck_assert_uint_eq(st.admitted, 1);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_int_eq(st.opened_at, T0);
	ck_assert_int_eq(st.ends_at, T0 + WINDOW_SECONDS_DEFAULT);
	ck_assert_int_eq(st.seconds_left, 0);
	window_destroy(&w);
}
END_TEST

START_TEST(test_press_two_waiting_overlaps)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	struct wset s;
	const unsigned two[] = { 1, 2 };

	window_init(&w);
	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, two, 2), T0, &d), 0);
	ck_assert_int_eq(d.verdict, WINDOW_OVERLAPPED);
	ck_assert_uint_eq(d.overlap_keys, 2);
	ck_assert_int_eq(d.changed, 1);
	ck_assert_str_eq(d.admit_id, "");
	window_get_status(&w, T0 + 5, &st);
	ck_assert_int_eq(st.state, WINDOW_OVERLAP);
	ck_assert_str_eq(window_state_name(st.state), "overlap");
	ck_assert_uint_eq(st.overlap_keys, 2);
	ck_assert_int_eq(st.overlap_since, T0);
	ck_assert_uint_eq(st.admitted, 0);
	window_destroy(&w);
}
END_TEST

START_TEST(test_press_duplicate_keys_are_one_device)
{
	struct window w;
	struct window_decision d;
	struct wset s;
	const unsigned same[] = { 3, 3, 3 };

	/* The same key three times is one device, not overlap. */
	window_init(&w);
	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, same, 3), T0, &d), 0);
	ck_assert_int_eq(d.verdict, WINDOW_ADMIT);
	ck_assert_str_eq(d.admit_id, "req-3");
	window_destroy(&w);
}
END_TEST

START_TEST(test_open_admit_then_contest_then_expire)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	struct wset s;
	const unsigned k1[] = { 1 }, k2[] = { 2 }, k3[] = { 3 };

	window_init(&w);
	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, NULL, 0), T0, &d), 0);
	ck_assert_int_eq(d.verdict, WINDOW_WAIT);
	ck_assert_int_eq(d.changed, 1);
	ck_assert_int_eq(state_at(&w, T0), WINDOW_OPEN);

	/* The first key to ask inside the window is admitted. */
	ck_assert_int_eq(ask(&w, 1, wset_make(&s, k1, 1), T0 + 10, &d), WINDOW_ADMIT);
	ck_assert_str_eq(d.admit_id, "req-1");
	ck_assert_int_eq(d.changed, 1);
	ck_assert_int_eq(state_at(&w, T0 + 10), WINDOW_CLOSED);

	/* A different key before the window would have run out contests it. */
	ck_assert_int_eq(ask(&w, 2, wset_make(&s, k2, 1), T0 + 30, &d), WINDOW_CONTESTED);
	ck_assert_uint_eq(d.ncontest, 1);
	ck_assert_str_eq(d.contest_ids[0], "req-1");
	ck_assert_int_eq(d.changed, 1);
	window_get_status(&w, T0 + 30, &st);
	ck_assert_int_eq(st.contested, 1);
	ck_assert_int_eq(st.state, WINDOW_CLOSED);

	/* Yet another key still reports the ids, but changes nothing new. */
	ck_assert_int_eq(ask(&w, 3, wset_make(&s, k3, 1), T0 + 119, &d), WINDOW_CONTESTED);
	ck_assert_str_eq(d.contest_ids[0], "req-1");
	ck_assert_int_eq(d.changed, 0);

	/* At ends_at and after, a different key is only pending. */
	ck_assert_int_eq(ask(&w, 3, wset_make(&s, k3, 1), T0 + 120, &d), WINDOW_WAIT);
	ck_assert_uint_eq(d.ncontest, 0);
	ck_assert_int_eq(ask(&w, 2, wset_make(&s, k2, 1), T0 + 500, &d), WINDOW_WAIT);
	window_destroy(&w);
}
END_TEST

START_TEST(test_admitted_key_repeats_never_count)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	struct wset s;
	const unsigned k1[] = { 1 };
	int i;

	/* count 2 so the window stays open after the first admission: a
	 * repeat must still not use up the second place. */
	window_init(&w);
	ck_assert_int_eq(window_press(&w, 60, 2, wset_make(&s, NULL, 0), T0, &d), 0);
	ck_assert_int_eq(ask(&w, 1, wset_make(&s, k1, 1), T0 + 1, &d), WINDOW_ADMIT);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(ask(&w, 1, wset_make(&s, k1, 1), T0 + 2 + i, &d), WINDOW_WAIT);
		ck_assert_int_eq(d.changed, 0);
	}
	window_get_status(&w, T0 + 5, &st);
	ck_assert_int_eq(st.state, WINDOW_OPEN);
	ck_assert_uint_eq(st.admitted, 1);
	ck_assert_int_eq(st.contested, 0);

	/* count 1: once closed, the admitted key repeating is not a contest. */
	ck_assert_int_eq(window_press(&w, 0, 1, wset_make(&s, k1, 1), T0 + 10, &d), 0);
	ck_assert_int_eq(d.verdict, WINDOW_ADMIT);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(ask(&w, 1, wset_make(&s, k1, 1), T0 + 11 + i, &d), WINDOW_WAIT);
	window_get_status(&w, T0 + 20, &st);
	ck_assert_uint_eq(st.admitted, 1);
	ck_assert_int_eq(st.contested, 0);
	window_destroy(&w);
}
END_TEST

START_TEST(test_open_request_with_other_waiting_overlaps)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	struct wset s;
	const unsigned both[] = { 1, 2 };

	window_init(&w);
	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, NULL, 0), T0, &d), 0);
	/* Key 2 polled since the press; key 1 asks: two devices contend. */
	ck_assert_int_eq(ask(&w, 1, wset_make(&s, both, 2), T0 + 3, &d), WINDOW_OVERLAPPED);
	ck_assert_uint_eq(d.overlap_keys, 2);
	ck_assert_int_eq(d.changed, 1);
	ck_assert_str_eq(d.admit_id, "");
	window_get_status(&w, T0 + 3, &st);
	ck_assert_int_eq(st.state, WINDOW_OVERLAP);
	ck_assert_uint_eq(st.admitted, 0);
	ck_assert_int_eq(st.overlap_since, T0 + 3);
	ck_assert_uint_eq(st.overlap_keys, 2);
	window_destroy(&w);
}
END_TEST

START_TEST(test_asker_counted_once_even_if_absent)
{
	struct window w;
	struct window_decision d;
	struct wset s;
	const unsigned other[] = { 2 };

	/* The asker missing from the set still counts: 1 + 2 is overlap. */
	window_init(&w);
	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, NULL, 0), T0, &d), 0);
	ck_assert_int_eq(ask(&w, 1, wset_make(&s, other, 1), T0 + 3, &d), WINDOW_OVERLAPPED);
	ck_assert_uint_eq(d.overlap_keys, 2);
	window_destroy(&w);

	/* An empty set: the asker alone, admitted. */
	window_init(&w);
	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, NULL, 0), T0, &d), 0);
	ck_assert_int_eq(ask(&w, 1, wset_make(&s, NULL, 0), T0 + 3, &d), WINDOW_ADMIT);
	window_destroy(&w);
}
END_TEST

START_TEST(test_count_two)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	struct wset s;
	const unsigned k1[] = { 1 }, k12[] = { 1, 2 }, k3[] = { 3 };

	window_init(&w);
	ck_assert_int_eq(window_press(&w, 0, 2, wset_make(&s, NULL, 0), T0, &d), 0);
	ck_assert_int_eq(ask(&w, 1, wset_make(&s, k1, 1), T0 + 1, &d), WINDOW_ADMIT);
	ck_assert_int_eq(state_at(&w, T0 + 1), WINDOW_OPEN);
	/* Key 1 is admitted but not yet issued, so still in the waiting set:
	 * it must not make key 2 look like overlap. */
	ck_assert_int_eq(ask(&w, 2, wset_make(&s, k12, 2), T0 + 2, &d), WINDOW_ADMIT);
	ck_assert_str_eq(d.admit_id, "req-2");
	ck_assert_int_eq(d.changed, 1);
	window_get_status(&w, T0 + 2, &st);
	ck_assert_int_eq(st.state, WINDOW_CLOSED);
	ck_assert_uint_eq(st.admitted, 2);

	ck_assert_int_eq(ask(&w, 3, wset_make(&s, k3, 1), T0 + 3, &d), WINDOW_CONTESTED);
	ck_assert_uint_eq(d.ncontest, 2);
	ck_assert_str_eq(d.contest_ids[0], "req-1");
	ck_assert_str_eq(d.contest_ids[1], "req-2");
	window_destroy(&w);
}
END_TEST

START_TEST(test_window_expiry)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	struct window_end end;
	struct wset s;
	const unsigned k1[] = { 1 };

	window_init(&w);
	ck_assert_int_eq(window_press(&w, 30, 0, wset_make(&s, NULL, 0), T0, &d), 0);
	ck_assert_int_eq(window_due(&w, T0 + 29, &end), 0);
	/* At its end it decides as closed at once, but the end is the
	 * caller's to record: nothing in the decision changed. */
	ck_assert_int_eq(ask(&w, 1, wset_make(&s, k1, 1), T0 + 30, &d), WINDOW_WAIT);
	ck_assert_int_eq(d.changed, 0);
	window_get_status(&w, T0 + 30, &st);
	ck_assert_int_eq(st.state, WINDOW_CLOSED);
	ck_assert_uint_eq(st.admitted, 0);
	ck_assert_int_eq(st.seconds_left, 0);
	ck_assert_int_eq(window_due(&w, T0 + 30, &end), 1);
	ck_assert_int_eq(end.opened_at, T0);
	ck_assert_int_eq(end.ends_at, T0 + 30);
	ck_assert_uint_eq(end.count, 1);
	ck_assert_uint_eq(end.admitted, 0);
	/* Due until it is closed, once. */
	ck_assert_int_eq(window_due(&w, T0 + 40, &end), 1);
	ck_assert_int_eq(window_close(&w, &end), 1);
	ck_assert_int_eq(window_due(&w, T0 + 41, &end), 0);
	ck_assert_int_eq(window_close(&w, &end), 0);
	/* Nothing was admitted, so nothing can be contested either. */
	ck_assert_int_eq(ask(&w, 1, wset_make(&s, k1, 1), T0 + 31, &d), WINDOW_WAIT);
	ck_assert_int_eq(d.changed, 0);
	/* An end seen before a press does not close the press's window. */
	ck_assert_int_eq(window_press(&w, 30, 0, wset_make(&s, NULL, 0), T0 + 100, &d), 0);
	ck_assert_int_eq(window_due(&w, T0 + 130, &end), 1);
	ck_assert_int_eq(window_press(&w, 30, 0, wset_make(&s, NULL, 0), T0 + 131, &d), 0);
	ck_assert_int_eq(window_close(&w, &end), 0);
	ck_assert_int_eq(state_at(&w, T0 + 132), WINDOW_OPEN);
	window_destroy(&w);
}
END_TEST

START_TEST(test_seconds_left_counts_down)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	struct wset s;

	window_init(&w);
	window_get_status(&w, T0, &st);
	ck_assert_int_eq(st.state, WINDOW_CLOSED);
	ck_assert_int_eq(st.ends_at, 0);

	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, NULL, 0), T0, &d), 0);
	window_get_status(&w, T0, &st);
	ck_assert_int_eq(st.state, WINDOW_OPEN);
	ck_assert_str_eq(window_state_name(st.state), "open");
	ck_assert_int_eq(st.seconds_left, 120);
	window_get_status(&w, T0 + 45, &st);
	ck_assert_int_eq(st.seconds_left, 75);
	window_get_status(&w, T0 + 119, &st);
	ck_assert_int_eq(st.seconds_left, 1);
	window_get_status(&w, T0 + 120, &st);
	ck_assert_int_eq(st.state, WINDOW_CLOSED);
	ck_assert_str_eq(window_state_name(st.state), "closed");
	ck_assert_int_eq(st.seconds_left, 0);
	/* Once expired, a clock stepping back does not reopen it. */
	window_get_status(&w, T0 + 10, &st);
	ck_assert_int_eq(st.state, WINDOW_CLOSED);

	/* A clock set back before the press never shows more than W. */
	ck_assert_int_eq(window_press(&w, 60, 0, wset_make(&s, NULL, 0), T0, &d), 0);
	window_get_status(&w, T0 - 1000, &st);
	ck_assert_int_eq(st.seconds_left, 60);
	window_destroy(&w);
}
END_TEST

START_TEST(test_admission_failed_reopens)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	struct window_end end;
	struct wset s;
	unsigned char k1[32], k9[32];
	const unsigned n1[] = { 1 }, n2[] = { 2 };

	key_make(k1, 1);
	key_make(k9, 9);
	window_init(&w);
	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, NULL, 0), T0, &d), 0);
	ck_assert_int_eq(ask(&w, 1, wset_make(&s, n1, 1), T0 + 5, &d), WINDOW_ADMIT);
	ck_assert_int_eq(state_at(&w, T0 + 5), WINDOW_CLOSED);

	/* A key that was never admitted gives nothing back. */
	window_admission_failed(&w, k9, T0 + 6);
	ck_assert_int_eq(state_at(&w, T0 + 6), WINDOW_CLOSED);

	window_admission_failed(&w, k1, T0 + 6);
	window_get_status(&w, T0 + 6, &st);
	ck_assert_int_eq(st.state, WINDOW_OPEN);
	ck_assert_uint_eq(st.admitted, 0);
	ck_assert_int_eq(st.seconds_left, 114);

	/* The next key is admitted, not contested. */
	ck_assert_int_eq(ask(&w, 2, wset_make(&s, n2, 1), T0 + 7, &d), WINDOW_ADMIT);
	ck_assert_str_eq(d.admit_id, "req-2");
	ck_assert_int_eq(state_at(&w, T0 + 7), WINDOW_CLOSED);
	/* ...and key 1, no longer admitted, now contests key 2's admission. */
	ck_assert_int_eq(ask(&w, 1, wset_make(&s, n1, 1), T0 + 8, &d), WINDOW_CONTESTED);
	ck_assert_uint_eq(d.ncontest, 1);
	ck_assert_str_eq(d.contest_ids[0], "req-2");

	/* After the window's time, a failed admission does not reopen it. */
	ck_assert_int_eq(window_press(&w, 10, 0, wset_make(&s, n1, 1), T0 + 200, &d), 0);
	ck_assert_int_eq(d.verdict, WINDOW_ADMIT);
	window_admission_failed(&w, k1, T0 + 210);
	/* It did not reopen: had it, it would be open with its time run out
	 * (an end still to record). */
	ck_assert_int_eq(window_due(&w, T0 + 211, &end), 0);
	ck_assert_int_eq(ask(&w, 2, wset_make(&s, n2, 1), T0 + 211, &d), WINDOW_WAIT);
	ck_assert_int_eq(d.changed, 0);
	window_get_status(&w, T0 + 211, &st);
	ck_assert_int_eq(st.state, WINDOW_CLOSED);
	ck_assert_uint_eq(st.admitted, 0);
	window_destroy(&w);
}
END_TEST

START_TEST(test_overlap_persists_until_press)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	struct wset s;
	const unsigned two[] = { 1, 2 }, k3[] = { 3 }, k1[] = { 1 };

	window_init(&w);
	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, two, 2), T0, &d), 0);
	ck_assert_int_eq(d.verdict, WINDOW_OVERLAPPED);
	/* Inside and long after the window's time: everything stays pending. */
	ck_assert_int_eq(ask(&w, 3, wset_make(&s, k3, 1), T0 + 5, &d), WINDOW_WAIT);
	ck_assert_int_eq(d.changed, 0);
	ck_assert_int_eq(ask(&w, 1, wset_make(&s, two, 2), T0 + 6, &d), WINDOW_WAIT);
	window_get_status(&w, T0 + 10000, &st);
	ck_assert_int_eq(st.state, WINDOW_OVERLAP);
	ck_assert_uint_eq(st.overlap_keys, 2);
	ck_assert_int_eq(st.overlap_since, T0);

	/* The next press clears it: one waiting key is admitted. */
	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, k1, 1), T0 + 20000, &d), 0);
	ck_assert_int_eq(d.verdict, WINDOW_ADMIT);
	ck_assert_str_eq(d.admit_id, "req-1");
	window_get_status(&w, T0 + 20000, &st);
	ck_assert_int_eq(st.state, WINDOW_CLOSED);
	ck_assert_uint_eq(st.overlap_keys, 0);
	ck_assert_int_eq(st.overlap_since, 0);
	ck_assert_int_eq(st.contested, 0);
	window_destroy(&w);
}
END_TEST

START_TEST(test_press_clears_previous_window)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	struct wset s;
	const unsigned k1[] = { 1 }, k2[] = { 2 };

	window_init(&w);
	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, k1, 1), T0, &d), 0);
	ck_assert_int_eq(ask(&w, 2, wset_make(&s, k2, 1), T0 + 1, &d), WINDOW_CONTESTED);
	/* A new press forgets the old admissions and their contest. */
	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, NULL, 0), T0 + 2, &d), 0);
	window_get_status(&w, T0 + 2, &st);
	ck_assert_int_eq(st.state, WINDOW_OPEN);
	ck_assert_uint_eq(st.admitted, 0);
	ck_assert_int_eq(st.contested, 0);
	ck_assert_int_eq(st.opened_at, T0 + 2);
	/* key 1, admitted by the old press, is a new device for this one. */
	ck_assert_int_eq(ask(&w, 1, wset_make(&s, k1, 1), T0 + 3, &d), WINDOW_ADMIT);
	window_destroy(&w);
}
END_TEST

START_TEST(test_out_of_range)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	struct wset s;
	struct window_waiting bad = { 1, NULL, NULL };

	window_init(&w);
	ck_assert_int_eq(window_press(&w, WINDOW_SECONDS_MAX + 1, 0, wset_make(&s, NULL, 0), T0, &d), -1);
	ck_assert_int_eq(window_press(&w, 0, WINDOW_COUNT_MAX + 1, wset_make(&s, NULL, 0), T0, &d), -1);
	ck_assert_int_eq(window_press(&w, 0xffffffffu, 0xffffffffu, wset_make(&s, NULL, 0), T0, &d), -1);
	ck_assert_int_eq(window_press(&w, 10, 1, wset_make(&s, NULL, 0), INT64_MAX - 5, &d), -1);
	ck_assert_int_eq(window_press(&w, 0, 0, &bad, T0, &d), -1);
	/* A refused press leaves the window as it was. */
	window_get_status(&w, T0, &st);
	ck_assert_int_eq(st.state, WINDOW_CLOSED);
	ck_assert_int_eq(st.opened_at, 0);

	/* The edges are accepted. */
	ck_assert_int_eq(window_press(&w, WINDOW_SECONDS_MAX, WINDOW_COUNT_MAX, wset_make(&s, NULL, 0), T0, &d), 0);
	window_get_status(&w, T0, &st);
	ck_assert_int_eq(st.seconds_left, WINDOW_SECONDS_MAX);
	ck_assert_uint_eq(st.count, WINDOW_COUNT_MAX);
	ck_assert_int_eq(window_press(&w, 1, 1, NULL, T0, &d), 0);
	ck_assert_int_eq(state_at(&w, T0), WINDOW_OPEN);
	ck_assert_int_eq(state_at(&w, T0 + 1), WINDOW_CLOSED);
	window_destroy(&w);
}
END_TEST

START_TEST(test_long_ids_are_cut)
{
	const struct window_waiting empty = { 0 };
	struct window w;
	struct window_decision d;
	unsigned char k[32];
	char longid[100];

	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	key_make(k, 1);
	window_init(&w);
	ck_assert_int_eq(window_press(&w, 0, 0, NULL, T0, &d), 0);
	window_request(&w, k, longid, &empty, T0 + 1, &d);
	ck_assert_int_eq(d.verdict, WINDOW_ADMIT);
	ck_assert_uint_eq(strlen(d.admit_id), WINDOW_ID_LEN);
	ck_assert(strncmp(d.admit_id, longid, WINDOW_ID_LEN) == 0);
	window_destroy(&w);
}
END_TEST

/* ---- concurrency: one press, eight devices asking at once ---- */

#define NTHREADS 8

struct racer {
	struct window *w;
	pthread_barrier_t *start;
	unsigned num;
	struct window_decision d;
};

static void *
racer_run(void *arg)
{
	struct racer *r = arg;
	struct wset s;

	wset_make(&s, &r->num, 1);
	pthread_barrier_wait(r->start);
	ask(r->w, r->num, &s.w, T0 + 1, &r->d);
	return NULL;
}

START_TEST(test_concurrent_requests_admit_one)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	pthread_barrier_t start;
	pthread_t th[NTHREADS];
	struct racer r[NTHREADS];
	char winner[WINDOW_ID_LEN + 1] = "";
	unsigned i, admits = 0, contested = 0;
	int round;

	for (round = 0; round < 50; round++) {
		window_init(&w);
		ck_assert_int_eq(window_press(&w, 0, 0, NULL, T0, &d), 0);
		ck_assert_int_eq(pthread_barrier_init(&start, NULL, NTHREADS), 0);
		for (i = 0; i < NTHREADS; i++) {
			r[i].w = &w;
			r[i].start = &start;
			r[i].num = i + 1;
			ck_assert_int_eq(pthread_create(&th[i], NULL, racer_run, &r[i]), 0);
		}
		for (i = 0; i < NTHREADS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&start);

		admits = contested = 0;
		for (i = 0; i < NTHREADS; i++) {
			if (r[i].d.verdict == WINDOW_ADMIT) {
				admits++;
				memcpy(winner, r[i].d.admit_id, sizeof(winner));
			} else if (r[i].d.verdict == WINDOW_CONTESTED) {
				contested++;
			} else {
				ck_assert_int_eq(r[i].d.verdict, WINDOW_WAIT);
			}
		}
		ck_assert_uint_eq(admits, 1);
		/* Everyone after the winner asked inside the window: contested,
		 * naming the winner. */
		ck_assert_uint_eq(contested, NTHREADS - 1);
		for (i = 0; i < NTHREADS; i++)
			if (r[i].d.verdict == WINDOW_CONTESTED) {
				ck_assert_uint_eq(r[i].d.ncontest, 1);
				ck_assert_str_eq(r[i].d.contest_ids[0], winner);
			}
		window_get_status(&w, T0 + 1, &st);
		ck_assert_uint_eq(st.admitted, 1);
		ck_assert_int_eq(st.contested, 1);
		window_destroy(&w);
	}
}
END_TEST

/* ---- every entry point waits for w->mu ---- */

struct blocked {
	struct window *w;
	int op;
	atomic_int done;
};

static void *
blocked_run(void *arg)
{
	struct blocked *b = arg;
	struct window_decision d;
	struct window_status st;
	unsigned char k[32];

	key_make(k, 1);
	switch (b->op) {
	case 0:
		(void)window_press(b->w, 0, 0, NULL, T0, &d);
		break;
	case 1:
		window_request(b->w, k, "req-1", NULL, T0 + 1, &d);
		break;
	case 2:
		window_admission_failed(b->w, k, T0 + 2);
		break;
	default:
		window_get_status(b->w, T0 + 3, &st);
		break;
	}
	atomic_store(&b->done, 1);
	return NULL;
}

START_TEST(test_every_call_takes_the_lock)
{
	struct window w;
	struct blocked b;
	pthread_t th;
	const struct timespec pause = { 0, 100 * 1000 * 1000 };
	int done;

	window_init(&w);
	for (b.op = 0; b.op < 4; b.op++) {
		b.w = &w;
		atomic_store(&b.done, 0);
		ck_assert_int_eq(pthread_mutex_lock(&w.mu), 0);
		ck_assert_int_eq(pthread_create(&th, NULL, blocked_run, &b), 0);
		nanosleep(&pause, NULL);
		/* While we hold the window's mutex, no decision can be made. */
		done = atomic_load(&b.done);
		ck_assert_msg(done == 0, "op %d ran without the window's mutex", b.op);
		ck_assert_int_eq(pthread_mutex_unlock(&w.mu), 0);
		pthread_join(th, NULL);
		done = atomic_load(&b.done);
		ck_assert_int_eq(done, 1);
	}
	window_destroy(&w);
}
END_TEST

/* A caller may ask without the waiting set: an open window asks for it
 * (and changes nothing), a closed one decides without it. An admission
 * given back reopens the window, and the next ask must then bring it. */
START_TEST(test_waiting_set_only_when_open)
{
	struct window w;
	struct window_decision d;
	struct window_status st;
	struct wset s;
	const unsigned none[] = { 0 }, one[] = { 1 }, two[] = { 1, 2 };
	unsigned char k1[32];

	window_init(&w);
	ck_assert_int_eq(ask(&w, 1, NULL, T0, &d), WINDOW_WAIT);
	ck_assert_int_eq(d.changed, 0);
	ck_assert_int_eq(window_press(&w, 0, 0, wset_make(&s, none, 0), T0, &d), 0);
	ck_assert_int_eq(state_at(&w, T0), WINDOW_OPEN);
	ck_assert_int_eq(ask(&w, 1, NULL, T0 + 1, &d), WINDOW_NEED_WAITING);
	window_get_status(&w, T0 + 1, &st);
	ck_assert_int_eq(st.state, WINDOW_OPEN);
	ck_assert_uint_eq(st.admitted, 0);
	ck_assert_int_eq(ask(&w, 1, wset_make(&s, one, 1), T0 + 1, &d), WINDOW_ADMIT);
	ck_assert_int_eq(state_at(&w, T0 + 1), WINDOW_CLOSED);
	/* Given back: open again, and a second device's ask needs the set
	 * (which holds both keys: overlap, not an admission). */
	key_make(k1, 1);
	window_admission_failed(&w, k1, T0 + 2);
	ck_assert_int_eq(state_at(&w, T0 + 2), WINDOW_OPEN);
	ck_assert_int_eq(ask(&w, 2, NULL, T0 + 3, &d), WINDOW_NEED_WAITING);
	ck_assert_int_eq(ask(&w, 2, wset_make(&s, two, 2), T0 + 3, &d), WINDOW_OVERLAPPED);
	/* After the window's time, nothing needs the set. */
	ck_assert_int_eq(ask(&w, 3, NULL, T0 + WINDOW_SECONDS_DEFAULT + 1, &d), WINDOW_WAIT);
	window_destroy(&w);
}
END_TEST

/* Names and states map both ways through one table; anything else is
 * refused rather than read as a state. */
/* A window carried as text to another (the site's window, kept in a
 * shared store between decisions) decides exactly as the one it came
 * from: its admissions count, its admitted keys are known. Text that is
 * not a window's state is refused and changes nothing. */
START_TEST(test_export_import)
{
	static const char *const bad[] = {
		"", "{}", "[1]", "not json",
		"{\"state\":\"open\",\"opened_at\":1,\"ends_at\":2,\"count\":1,\"admitted\":2,"
		"\"overlap_since\":0,\"overlap_keys\":0,\"contested\":false,\"ended\":false,"
		"\"admissions\":[]}",
		"{\"state\":\"ajar\",\"opened_at\":1,\"ends_at\":2,\"count\":1,\"admitted\":0,"
		"\"overlap_since\":0,\"overlap_keys\":0,\"contested\":false,\"ended\":false,"
		"\"admissions\":[]}",
		"{\"state\":\"open\",\"opened_at\":1,\"ends_at\":2,\"count\":2,\"admitted\":1,"
		"\"overlap_since\":0,\"overlap_keys\":0,\"contested\":false,\"ended\":false,"
		"\"admissions\":[{\"key\":\"zz\",\"id\":\"req-1\"}]}",
	};
	struct window a, b;
	struct window_decision d;
	struct wset s;
	const unsigned k1[] = { 1 }, k2[] = { 2 }, k3[] = { 3 };
	char *text, *again;
	size_t i;

	window_init(&a);
	window_init(&b);
	ck_assert_int_eq(window_press(&a, 0, 2, wset_make(&s, NULL, 0), T0, &d), 0);
	ck_assert_int_eq(ask(&a, 1, wset_make(&s, k1, 1), T0 + 1, &d), WINDOW_ADMIT);
	text = window_export(&a);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(window_import(&b, text), 0);
	again = window_export(&b);
	ck_assert_str_eq(again, text);
	free(again);
	/* On the other gateway: key 1's repeat does not count, key 2 takes
	 * the last admission, key 3 contests both. */
	ck_assert_int_eq(ask(&b, 1, wset_make(&s, k1, 1), T0 + 2, &d), WINDOW_WAIT);
	ck_assert_int_eq(ask(&b, 2, wset_make(&s, k2, 1), T0 + 3, &d), WINDOW_ADMIT);
	ck_assert_int_eq(state_at(&b, T0 + 3), WINDOW_CLOSED);
	ck_assert_int_eq(ask(&b, 3, wset_make(&s, k3, 1), T0 + 4, &d), WINDOW_CONTESTED);
	ck_assert_uint_eq(d.ncontest, 2);
	ck_assert_str_eq(d.contest_ids[0], "req-1");
	ck_assert_str_eq(d.contest_ids[1], "req-2");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(window_import(&a, bad[i]) == -1, "accepted %s", bad[i]);
		again = window_export(&a);
		ck_assert_str_eq(again, text);
		free(again);
	}
	ck_assert_int_eq(window_import(&a, NULL), -1);
	free(text);
	window_destroy(&a);
	window_destroy(&b);
}
END_TEST

START_TEST(test_state_names)
{
	enum window_state st = WINDOW_OVERLAP;

	ck_assert_int_eq(window_state_parse("open", &st), 0);
	ck_assert_int_eq(st, WINDOW_OPEN);
	ck_assert_int_eq(window_state_parse("closed", &st), 0);
	ck_assert_int_eq(st, WINDOW_CLOSED);
	ck_assert_int_eq(window_state_parse(window_state_name(WINDOW_OVERLAP), &st), 0);
	ck_assert_int_eq(st, WINDOW_OVERLAP);
	ck_assert_int_eq(window_state_parse("Open", &st), -1);
	ck_assert_int_eq(window_state_parse("", &st), -1);
	ck_assert_int_eq(window_state_parse(NULL, &st), -1);
	ck_assert_int_eq(st, WINDOW_OVERLAP);
	ck_assert_str_eq(window_state_name((enum window_state)7), "unknown");
}
END_TEST

static Suite *
window_suite(void)
{
	Suite *s = suite_create("window");
	TCase *tc = tcase_create("rules");
	TCase *tcc = tcase_create("concurrency");

	tcase_add_test(tc, test_press_one_waiting_admits);
	tcase_add_test(tc, test_press_two_waiting_overlaps);
	tcase_add_test(tc, test_press_duplicate_keys_are_one_device);
	tcase_add_test(tc, test_open_admit_then_contest_then_expire);
	tcase_add_test(tc, test_admitted_key_repeats_never_count);
	tcase_add_test(tc, test_open_request_with_other_waiting_overlaps);
	tcase_add_test(tc, test_asker_counted_once_even_if_absent);
	tcase_add_test(tc, test_count_two);
	tcase_add_test(tc, test_window_expiry);
	tcase_add_test(tc, test_seconds_left_counts_down);
	tcase_add_test(tc, test_admission_failed_reopens);
	tcase_add_test(tc, test_overlap_persists_until_press);
	tcase_add_test(tc, test_press_clears_previous_window);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_long_ids_are_cut);
	tcase_add_test(tcc, test_concurrent_requests_admit_one);
	tcase_add_test(tcc, test_every_call_takes_the_lock);
	tcase_add_test(tc, test_state_names);
	tcase_add_test(tc, test_export_import);
	tcase_add_test(tc, test_waiting_set_only_when_open);
	tcase_set_timeout(tcc, 30);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tcc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(window_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
