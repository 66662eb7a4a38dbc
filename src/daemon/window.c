/*
 * window.c - the onboarding window (see window.h for the rules).
 *
 * Every decision is made under w->mu, so the state a decision reads is the
 * state it leaves behind: two devices asking at once are serialised, and
 * the second sees the first one's admission (and is contested, not
 * admitted). Time is only ever the caller's `now`; the window never reads
 * a clock, which keeps it testable. An open window whose time has run out
 * decides as a closed one at once, but stays open in its state until the
 * caller has recorded its end (window_due, window_close): the end is a
 * state change with an audit row of its own, written once.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/hex.h"
#include "daemon/window.h"

/* Copies the state fields of from into to (not the mutex). */
static void
window_copy(struct window *to, const struct window *from)
{
	to->state = from->state;
	to->opened_at = from->opened_at;
	to->ends_at = from->ends_at;
	to->count = from->count;
	to->admitted = from->admitted;
	to->overlap_since = from->overlap_since;
	to->overlap_keys = from->overlap_keys;
	to->contested = from->contested;
	to->ended = from->ended;
	memcpy(to->admitted_keys, from->admitted_keys, sizeof(to->admitted_keys));
	memcpy(to->admitted_ids, from->admitted_ids, sizeof(to->admitted_ids));
}

void
window_save(struct window *w, struct window *saved)
{
	pthread_mutex_lock(&w->mu);
	window_copy(saved, w);
	pthread_mutex_unlock(&w->mu);
}

void
window_restore(struct window *w, const struct window *saved)
{
	pthread_mutex_lock(&w->mu);
	window_copy(w, saved);
	pthread_mutex_unlock(&w->mu);
}

void
window_init(struct window *w)
{
	memset(w, 0, sizeof(*w));
	/* A default mutex cannot fail to initialise on the platforms we build
	 * for; if it ever did, running without the lock would let one press
	 * admit two devices, so stopping is the only safe answer. */
	if (pthread_mutex_init(&w->mu, NULL) != 0)
		abort();
	w->state = WINDOW_CLOSED;
}

void
window_destroy(struct window *w)
{
	if (w == NULL)
		return;
	pthread_mutex_destroy(&w->mu);
}

/* The one mapping between the states and the words the daemon writes
 * (the status JSON, the "window" setting). */
static const char *const window_state_names[] = {
	[WINDOW_CLOSED] = "closed",
	[WINDOW_OPEN] = "open",
	[WINDOW_OVERLAP] = "overlap",
};

const char *
window_state_name(enum window_state s)
{
	if ((unsigned)s >= sizeof(window_state_names) / sizeof(window_state_names[0]))
		return "unknown";
	return window_state_names[s];
}

int
window_state_parse(const char *text, enum window_state *out)
{
	unsigned i;

	for (i = 0; text != NULL && i < sizeof(window_state_names) / sizeof(window_state_names[0]);
	     i++) {
		if (strcmp(window_state_names[i], text) == 0) {
			*out = (enum window_state)i;
			return 0;
		}
	}
	return -1;
}
char *
window_export(struct window *w)
{
	char key[2 * 32 + 1];
	json_t *o, *adm;
	char *text = NULL;
	unsigned i;

	pthread_mutex_lock(&w->mu);
	o = json_pack("{s:s, s:I, s:I, s:i, s:i, s:I, s:i, s:b, s:b, s:[]}",
		      "state", window_state_name(w->state), "opened_at", (json_int_t)w->opened_at,
		      "ends_at", (json_int_t)w->ends_at, "count", (int)w->count,
		      "admitted", (int)w->admitted, "overlap_since", (json_int_t)w->overlap_since,
		      "overlap_keys", (int)w->overlap_keys, "contested", w->contested,
		      "ended", w->ended, "admissions");
	adm = o != NULL ? json_object_get(o, "admissions") : NULL;
	for (i = 0; adm != NULL && i < w->admitted && i < WINDOW_COUNT_MAX; i++) {
		hex_encode(w->admitted_keys[i], 32, key);
		if (json_array_append_new(adm, json_pack("{s:s, s:s}", "key", key, "id",
							  w->admitted_ids[i])) != 0)
			adm = NULL;
	}
	pthread_mutex_unlock(&w->mu);
	if (adm != NULL)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* 32 bytes from 64 hex digits: 0, or -1. */
static int
window_key_parse(const char *hex, unsigned char key[32])
{
	int hi, lo;
	size_t i;

	if (hex == NULL || strlen(hex) != 64)
		return -1;
	for (i = 0; i < 32; i++) {
		if ((hi = hex_digit(hex[2 * i])) < 0 || (lo = hex_digit(hex[2 * i + 1])) < 0)
			return -1;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
window_import(struct window *w, const char *text)
{
	struct window in;
	json_t *o, *adm = NULL, *a;
	json_int_t opened, ends, since;
	int count, admitted, okeys, contested, ended;
	const char *state, *key, *id;
	size_t i;
	int rc = -1;

	memset(&in, 0, sizeof(in));
	if ((o = json_loads(text != NULL ? text : "", 0, NULL)) == NULL ||
	    json_unpack(o, "{s:s, s:I, s:I, s:i, s:i, s:I, s:i, s:b, s:b, s:o}", "state", &state,
			"opened_at", &opened, "ends_at", &ends, "count", &count,
			"admitted", &admitted, "overlap_since", &since, "overlap_keys", &okeys,
			"contested", &contested, "ended", &ended, "admissions", &adm) != 0 ||
	    window_state_parse(state, &in.state) != 0 || !json_is_array(adm) ||
	    count < 0 || count > WINDOW_COUNT_MAX || admitted < 0 || admitted > count ||
	    okeys < 0 || json_array_size(adm) != (size_t)admitted)
		goto out;
	in.opened_at = opened;
	in.ends_at = ends;
	in.count = (unsigned)count;
	in.admitted = (unsigned)admitted;
	in.overlap_since = since;
	in.overlap_keys = (unsigned)okeys;
	in.contested = contested;
	in.ended = ended;
	json_array_foreach(adm, i, a) {
		if (json_unpack(a, "{s:s, s:s}", "key", &key, "id", &id) != 0 ||
		    window_key_parse(key, in.admitted_keys[i]) != 0 || strlen(id) > WINDOW_ID_LEN)
			goto out;
		memcpy(in.admitted_ids[i], id, strlen(id) + 1);
	}
	window_restore(w, &in);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* Copies a request id into a WINDOW_ID_LEN + 1 buffer, cutting it at
 * WINDOW_ID_LEN bytes; a NULL id becomes "". */
static void
window_copy_id(char dst[WINDOW_ID_LEN + 1], const char *src)
{
	size_t n = 0;

	if (src != NULL)
		n = strnlen(src, WINDOW_ID_LEN);
	memcpy(dst, src != NULL ? src : "", n);
	dst[n] = '\0';
}

/* Looks at w at now: an open window whose time has run out has ended,
 * and stays ended if the clock then steps back. Returns 1 when w is open
 * but ended: it decides as a closed window, though its end is not
 * recorded yet. Called with w->mu held. */
static int
window_look(struct window *w, int64_t now)
{
	if (w->state == WINDOW_OPEN && now >= w->ends_at)
		w->ended = 1;
	return w->state == WINDOW_OPEN && w->ended;
}

/* The state decisions and readers see at now. Called with w->mu held. */
static enum window_state
window_state_at(struct window *w, int64_t now)
{
	return window_look(w, now) ? WINDOW_CLOSED : w->state;
}

/* Index of key among this press's admissions, or -1. Called with w->mu held. */
static int
window_admitted_index(const struct window *w, const unsigned char key[32])
{
	unsigned i;

	for (i = 0; i < w->admitted; i++)
		if (memcmp(w->admitted_keys[i], key, 32) == 0)
			return (int)i;
	return -1;
}

/* Records an admission of key/id and closes the window once count devices
 * have been admitted. Called with w->mu held and admitted < count. */
static void
window_admit(struct window *w, const unsigned char key[32], const char *id,
	     struct window_decision *d)
{
	memcpy(w->admitted_keys[w->admitted], key, 32);
	window_copy_id(w->admitted_ids[w->admitted], id);
	w->admitted++;
	d->verdict = WINDOW_ADMIT;
	memcpy(d->admit_key, key, 32);
	window_copy_id(d->admit_id, id);
	if (w->admitted >= w->count) {
		w->state = WINDOW_CLOSED;
		d->changed = 1;
	}
}

/* Puts the window in overlap with nkeys distinct keys seen at now. Called
 * with w->mu held. */
static void
window_overlap(struct window *w, unsigned nkeys, int64_t now, struct window_decision *d)
{
	w->state = WINDOW_OVERLAP;
	w->overlap_since = now;
	w->overlap_keys = nkeys;
	d->verdict = WINDOW_OVERLAPPED;
	d->overlap_keys = nkeys;
	d->changed = 1;
}

/*
 * Counts the distinct keys that count towards overlap: those in waiting,
 * plus `self` if given and absent from waiting, leaving out keys already
 * admitted by this press; stops counting at `limit`. Called with w->mu
 * held.
 *
 * The caller already dedups, so the set is normally all distinct; we
 * dedup again because counting one device twice would be a false
 * overlap. Deciding (limit 2) stops at the second distinct key, so on a
 * deduped set it costs little whatever its size; the exact count for the
 * audit is quadratic, but is only taken when overlap is entered, at most
 * once per press (overlap then holds until the next press).
 */
static unsigned
window_count_contenders(const struct window *w, const unsigned char *self,
			const struct window_waiting *waiting, unsigned limit)
{
	size_t n = 0, i, j;
	unsigned count = 0;
	int self_seen = 0, dup;

	if (self != NULL && window_admitted_index(w, self) < 0) {
		count = 1;	/* the asker, whether or not it is in the set */
		self_seen = 1;
	}
	if (waiting != NULL && waiting->keys != NULL)
		n = waiting->n;
	for (i = 0; i < n && count < limit; i++) {
		const unsigned char *k = waiting->keys[i];

		if (self_seen && memcmp(k, self, 32) == 0)
			continue;
		if (window_admitted_index(w, k) >= 0)
			continue;
		dup = 0;
		for (j = 0; j < i && !dup; j++)
			dup = memcmp(waiting->keys[j], k, 32) == 0;
		if (!dup)
			count++;
	}
	return count;
}

/* Enters overlap if more than one distinct key contends; returns 1 if it
 * did. Called with w->mu held. */
static int
window_check_overlap(struct window *w, const unsigned char *self,
		     const struct window_waiting *waiting, int64_t now,
		     struct window_decision *d)
{
	if (window_count_contenders(w, self, waiting, 2) < 2)
		return 0;
	window_overlap(w, window_count_contenders(w, self, waiting, UINT_MAX), now, d);
	return 1;
}

/*
 * A press at now: replaces whatever the window held (an overlap included)
 * and applies the at-press rule to the waiting set. Fills *d; returns 0,
 * or -1 with the window untouched for an out-of-range seconds or count,
 * a window end that cannot be represented, or a waiting set without keys.
 */
int
window_press(struct window *w, unsigned seconds, unsigned count,
	     const struct window_waiting *waiting, int64_t now, struct window_decision *d)
{
	size_t n = 0;
	int rc = -1;

	memset(d, 0, sizeof(*d));
	d->verdict = WINDOW_WAIT;
	if (seconds == 0)
		seconds = WINDOW_SECONDS_DEFAULT;
	if (count == 0)
		count = 1;
	if (seconds > WINDOW_SECONDS_MAX || count > WINDOW_COUNT_MAX)
		goto out;
	if (now > INT64_MAX - (int64_t)seconds)
		goto out;
	if (waiting != NULL)
		n = waiting->n;
	if (n > 0 && (waiting->keys == NULL || waiting->ids == NULL))
		goto out;

	pthread_mutex_lock(&w->mu);
	w->state = WINDOW_OPEN;
	w->opened_at = now;
	w->ends_at = now + (int64_t)seconds;
	w->count = count;
	w->admitted = 0;
	w->overlap_since = 0;
	w->overlap_keys = 0;
	w->contested = 0;
	w->ended = 0;
	memset(w->admitted_keys, 0, sizeof(w->admitted_keys));
	memset(w->admitted_ids, 0, sizeof(w->admitted_ids));
	d->changed = 1;

	/* One waiting key (n may exceed 1 only through duplicates of it) is
	 * admitted at once; more than one is overlap. */
	if (!window_check_overlap(w, NULL, waiting, now, d) && n > 0)
		window_admit(w, waiting->keys[0], waiting->ids[0], d);
	pthread_mutex_unlock(&w->mu);
	rc = 0;
out:
	return rc;
}

/*
 * key asks at now with no other authorisation; waiting is the waiting set
 * at now. Decides admit / overlap / contest / wait into *d (see window.h).
 */
void
window_request(struct window *w, const unsigned char key[32], const char *id,
	       const struct window_waiting *waiting, int64_t now, struct window_decision *d)
{
	unsigned i;

	memset(d, 0, sizeof(*d));
	d->verdict = WINDOW_WAIT;
	if (key == NULL)
		return;

	pthread_mutex_lock(&w->mu);
	switch (window_state_at(w, now)) {
	case WINDOW_OPEN:
		/* A repeat from an admitted key is neither a new device nor a
		 * second admission. */
		if (window_admitted_index(w, key) >= 0)
			break;
		if (waiting == NULL) {
			d->verdict = WINDOW_NEED_WAITING;
			break;
		}
		if (!window_check_overlap(w, key, waiting, now, d))
			window_admit(w, key, id, d);
		break;
	case WINDOW_CLOSED:
		/* Contest: the press's admissions closed the window early and a
		 * different device turned up while it would still have been
		 * open, so the admitted device may not be the one the user
		 * meant. After the window's time, arrivals are just pending. */
		if (w->admitted == 0 || now >= w->ends_at ||
		    window_admitted_index(w, key) >= 0)
			break;
		d->verdict = WINDOW_CONTESTED;
		for (i = 0; i < w->admitted; i++)
			memcpy(d->contest_ids[i], w->admitted_ids[i], WINDOW_ID_LEN + 1);
		d->ncontest = w->admitted;
		if (!w->contested) {
			w->contested = 1;
			d->changed = 1;
		}
		break;
	case WINDOW_OVERLAP:
		/* Everything stays pending for the admin until the next press. */
		break;
	}
	pthread_mutex_unlock(&w->mu);
}

/*
 * The admission of key could not be carried out: forget it, and reopen
 * the window if it closed only because this admission filled it and its
 * time has not run out.
 */
void
window_admission_failed(struct window *w, const unsigned char key[32], int64_t now)
{
	int idx;
	unsigned i, was;

	if (key == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	(void)window_look(w, now);
	idx = window_admitted_index(w, key);
	if (idx < 0)
		goto out;
	was = w->admitted;
	for (i = (unsigned)idx; i + 1 < w->admitted; i++) {
		memcpy(w->admitted_keys[i], w->admitted_keys[i + 1], 32);
		memcpy(w->admitted_ids[i], w->admitted_ids[i + 1], WINDOW_ID_LEN + 1);
	}
	w->admitted--;
	memset(w->admitted_keys[w->admitted], 0, 32);
	memset(w->admitted_ids[w->admitted], 0, WINDOW_ID_LEN + 1);
	if (w->state == WINDOW_CLOSED && was >= w->count && now < w->ends_at)
		w->state = WINDOW_OPEN;
out:
	pthread_mutex_unlock(&w->mu);
}

/* Fills *st with the window as it stands at now (a due window: closed). */
void
window_get_status(struct window *w, int64_t now, struct window_status *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&w->mu);
	st->state = window_state_at(w, now);
	st->opened_at = w->opened_at;
	st->ends_at = w->ends_at;
	if (st->state == WINDOW_OPEN) {
		/* A clock set back before the press must not show more time
		 * than the window was opened for (nor overflow). */
		if (now < w->opened_at)
			st->seconds_left = w->ends_at - w->opened_at;
		else
			st->seconds_left = w->ends_at - now;
	}
	st->count = w->count;
	st->admitted = w->admitted;
	st->overlap_since = w->overlap_since;
	st->overlap_keys = w->overlap_keys;
	st->contested = w->contested;
	pthread_mutex_unlock(&w->mu);
}

int
window_due(struct window *w, int64_t now, struct window_end *end)
{
	int due;

	memset(end, 0, sizeof(*end));
	pthread_mutex_lock(&w->mu);
	due = window_look(w, now);
	if (due) {
		end->opened_at = w->opened_at;
		end->ends_at = w->ends_at;
		end->count = w->count;
		end->admitted = w->admitted;
	}
	pthread_mutex_unlock(&w->mu);
	return due;
}

int
window_close(struct window *w, const struct window_end *end)
{
	int closed = 0;

	pthread_mutex_lock(&w->mu);
	/* Only the window end describes: a press in between made another. */
	if (w->state == WINDOW_OPEN && w->opened_at == end->opened_at &&
	    w->ends_at == end->ends_at) {
		w->state = WINDOW_CLOSED;
		closed = 1;
	}
	pthread_mutex_unlock(&w->mu);
	return closed;
}
