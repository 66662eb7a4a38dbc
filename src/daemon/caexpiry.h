/*
 * caexpiry.h - the CA certificates' expiry: how long the root and the
 * issuing CA have left, the warning when either is within
 * CAEXPIRY_WARN_S of its end (`lanca status` shows it), and the daemon's
 * daily log line about it.
 *
 * Owns: the warning's threshold and period and its wording. The
 * gateway's own certificate is not here: the daemon renews it itself.
 * Time is a parameter of every function, so a test moves the clock.
 */
#ifndef LANCA_CAEXPIRY_H
#define LANCA_CAEXPIRY_H

#include <stddef.h>
#include <stdint.h>

#define CAEXPIRY_WARN_S		(90 * 86400)	/* warn from 90 days before the end */
#define CAEXPIRY_EVERY_S	86400		/* the daemon repeats it daily */
#define CAEXPIRY_CAS		2		/* the root, then the issuing CA */
#define CAEXPIRY_TEXT_MAX	384

struct ca_set;

/* One CA's expiry at a moment. */
struct caexpiry {
	const char *role;		/* "root", "issuing" */
	const char *subject;		/* the ca_set's: valid while it is */
	int64_t not_after;
	int64_t left;			/* seconds to not_after; <= 0: expired */
	int warn;			/* left < CAEXPIRY_WARN_S */
};

/* The root's and the issuing CA's expiry at now, in that order. */
void caexpiry_check(const struct ca_set *ca, int64_t now, struct caexpiry out[CAEXPIRY_CAS]);

/* The warning about x for people, one line without a newline ("the
 * issuing CA CN=... expires in 31 days, on 2036-01-02T03:04:05Z: ..."). */
void caexpiry_text(const struct caexpiry *x, char out[CAEXPIRY_TEXT_MAX]);

/* What the daemon warned about last: zeroed, it has warned about nothing. */
struct caexpiry_watch {
	int64_t warned_at[CAEXPIRY_CAS];	/* 0: never */
};

/* Logs caexpiry_text as a warning for each CA within CAEXPIRY_WARN_S of
 * its end at now, unless w says it did less than CAEXPIRY_EVERY_S ago.
 * Returns how many it logged. */
int caexpiry_tick(struct caexpiry_watch *w, const struct ca_set *ca, int64_t now);

/* caexpiry_tick on the daemon's own watch (one per process): what `lanca
 * serve` calls when it starts and on every tick. */
int caexpiry_daily(const struct ca_set *ca, int64_t now);

#endif
