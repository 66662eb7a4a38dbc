/*
 * window.h - the onboarding window: button-press admission with session
 * overlap detection, after Wi-Fi Protected Setup's push-button rules.
 *
 * Owns: the window's state and every decision it makes. It does no I/O:
 * the caller (enroll.c) tells it what happened (a press, a device asking
 * to enroll) together with the set of keys waiting at that moment (from
 * the store), and gets back what to do (admit this request, mark these
 * admissions contested, leave everything pending because of overlap).
 * All functions lock the window's mutex, so one decision is made at a
 * time: two devices asking at once can never both be admitted by one
 * press.
 *
 * The rules (SPEC.md, "Button-press onboarding"):
 * - A device is the SHA-256 of its request's SubjectPublicKeyInfo. A key
 *   is waiting if it asked without other authorisation within the monitor
 *   time (default 120 s) and holds no certificate (the caller computes
 *   the waiting set; the window only counts distinct keys in it).
 * - A press opens the window for `seconds` (default 120) to admit up to
 *   `count` devices (default 1), one at a time. At the press, exactly one
 *   waiting key is admitted at once; more than one is overlap.
 * - While the window is open, a key that asks (POSTs a request) is
 *   admitted at once, unless more than one distinct key (not yet admitted
 *   in this window) is waiting then: overlap.
 * - Overlap admits nothing: the window closes in state "overlap" (with
 *   the time and the number of keys) until the next press.
 * - When the last admission closes the window early, a different key that
 *   asks before the window would have run out marks every admission of
 *   that press "contested". Repeats from an admitted key never count.
 * - A window whose time runs out decides as closed from that moment; its
 *   state says "open" until the caller records the end (window_due, then
 *   window_close once the end's audit row is written), so that the end is
 *   recorded once, by whichever caller sees it first.
 */
#ifndef LANCA_WINDOW_H
#define LANCA_WINDOW_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define WINDOW_SECONDS_DEFAULT	120
#define WINDOW_SECONDS_MAX	3600
#define WINDOW_MONITOR_DEFAULT	120
#define WINDOW_COUNT_MAX	64
#define WINDOW_ID_LEN		32	/* = STORE_REQUEST_ID_LEN */

enum window_state {
	WINDOW_CLOSED = 0,
	WINDOW_OPEN,
	WINDOW_OVERLAP,
};

/* The keys waiting at a moment (distinct keys; the caller dedups by key). */
struct window_waiting {
	size_t n;
	const unsigned char (*keys)[32];
	const char (*ids)[WINDOW_ID_LEN + 1];	/* their request ids */
};

enum window_verdict {
	WINDOW_WAIT = 0,	/* nothing to do: the request stays pending */
	WINDOW_ADMIT,		/* issue admit_id now */
	WINDOW_OVERLAPPED,	/* overlap detected: everything stays pending */
	WINDOW_CONTESTED,	/* mark contest_ids contested; the asker stays pending */
	WINDOW_NEED_WAITING,	/* the window is open: ask again with the waiting set */
};

struct window_decision {
	enum window_verdict verdict;
	char admit_id[WINDOW_ID_LEN + 1];
	unsigned char admit_key[32];
	char contest_ids[WINDOW_COUNT_MAX][WINDOW_ID_LEN + 1];
	size_t ncontest;
	unsigned overlap_keys;		/* distinct keys seen at the overlap */
	int changed;			/* the window's state changed (persist and audit it) */
};

struct window_status {
	enum window_state state;
	int64_t opened_at, ends_at;	/* of the last press (0 if none) */
	int64_t seconds_left;		/* while open */
	unsigned count, admitted;	/* of the last press */
	int64_t overlap_since;		/* while in overlap */
	unsigned overlap_keys;
	int contested;			/* an admission of the last press was contested */
};

struct window {
	pthread_mutex_t mu;
	enum window_state state;
	int64_t opened_at, ends_at;
	unsigned count, admitted;
	int64_t overlap_since;
	unsigned overlap_keys;
	int contested;
	int ended;			/* open, but its time was seen to run out */
	unsigned char admitted_keys[WINDOW_COUNT_MAX][32];
	char admitted_ids[WINDOW_COUNT_MAX][WINDOW_ID_LEN + 1];
};

void window_init(struct window *w);
void window_destroy(struct window *w);

/* A press at now. seconds 1..WINDOW_SECONDS_MAX, count 1..WINDOW_COUNT_MAX
 * (0 takes the defaults). Returns 0, or -1 for an out-of-range argument. */
int window_press(struct window *w, unsigned seconds, unsigned count,
		 const struct window_waiting *waiting, int64_t now, struct window_decision *d);

/* key (request id) asks to enroll without other authorisation at now;
 * waiting is the waiting set at now, which includes key. Only an open
 * window needs it: a caller may pass NULL to save reading it, and gets
 * WINDOW_NEED_WAITING (and nothing changed) when the window is open. */
void window_request(struct window *w, const unsigned char key[32], const char *id,
		    const struct window_waiting *waiting, int64_t now, struct window_decision *d);

/* The caller could not issue an admitted request after all (a name owned
 * by another device, a store error): the admission is given back, and
 * the window reopens if it had closed because of it. */
void window_admission_failed(struct window *w, const unsigned char key[32], int64_t now);

/* A copy of the window's state (saved), and putting it back (restore):
 * a caller that cannot record a decision (its audit row failed) undoes
 * it, so that nothing changed. saved is plain storage: only its state
 * fields are used, never its mutex. */
void window_save(struct window *w, struct window *saved);
void window_restore(struct window *w, const struct window *saved);

/* How an open window ended by time (window_due). */
struct window_end {
	int64_t opened_at, ends_at;
	unsigned count, admitted;	/* admitted < count: a full window closed already */
};

/* 1 with *end filled when the window is open and its time has run out at
 * now (its end is not recorded yet); 0 otherwise. Changes nothing. */
int window_due(struct window *w, int64_t now, struct window_end *end);

/* Closes the window whose end window_due described, once the caller has
 * recorded it: 1, or 0 when the window is no longer that one (a press
 * came in between). The caller serialises window_due and window_close
 * with its presses. */
int window_close(struct window *w, const struct window_end *end);

/*
 * The window's whole state as text (compact JSON, the caller frees it),
 * and back: the site's window, when gateways share a store, is kept there
 * between decisions (enroll.c). window_export returns NULL when out of
 * memory; window_import returns 0, or -1 for text that is not a window's
 * state (w unchanged).
 */
char *window_export(struct window *w);
int window_import(struct window *w, const char *text);

/* The window at now; a window whose time has run out reads as closed
 * whether or not its end has been recorded. */
void window_get_status(struct window *w, int64_t now, struct window_status *st);
const char *window_state_name(enum window_state s);	/* "closed", "open", "overlap" */
/* The state a name stands for; -1 for a word that is none of them. */
int window_state_parse(const char *text, enum window_state *out);

#endif
