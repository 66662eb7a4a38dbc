/*
 * caexpiry.c - the CA certificates' expiry and its warning (see
 * caexpiry.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "daemon/caexpiry.h"
#include "daemon/state.h"

void
caexpiry_check(const struct ca_set *ca, int64_t now, struct caexpiry out[CAEXPIRY_CAS])
{
	const int64_t ends[CAEXPIRY_CAS] = { ca->root_not_after, ca->issuing_not_after };
	static const char *const roles[CAEXPIRY_CAS] = { "root", "issuing" };
	size_t i;

	for (i = 0; i < CAEXPIRY_CAS; i++) {
		out[i].role = roles[i];
		out[i].subject = i == 0 ? ca->root_subject : ca->issuing_subject;
		out[i].not_after = ends[i];
		out[i].left = ends[i] - now;
		out[i].warn = out[i].left < CAEXPIRY_WARN_S;
	}
}

void
caexpiry_text(const struct caexpiry *x, char out[CAEXPIRY_TEXT_MAX])
{
	char when[32];
	struct tm tm;
	time_t t = (time_t)x->not_after;

	if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	/* Whole days, rounded down: "in 0 days" is within the last day. */
	if (x->left <= 0)
		snprintf(out, CAEXPIRY_TEXT_MAX, "the %s CA %s expired on %s: nothing it "
			 "signed verifies any more; make a new CA", x->role, x->subject, when);
	else
		snprintf(out, CAEXPIRY_TEXT_MAX, "the %s CA %s expires in %lld days, on %s: "
			 "plan its replacement before then", x->role, x->subject,
			 (long long)(x->left / 86400), when);
}

int
caexpiry_tick(struct caexpiry_watch *w, const struct ca_set *ca, int64_t now)
{
	struct caexpiry x[CAEXPIRY_CAS];
	char text[CAEXPIRY_TEXT_MAX];
	int n = 0;
	size_t i;

	caexpiry_check(ca, now, x);
	for (i = 0; i < CAEXPIRY_CAS; i++) {
		/* A clock set back re-arms the warning rather than muting it. */
		if (!x[i].warn || (w->warned_at[i] != 0 && now >= w->warned_at[i] &&
				   now - w->warned_at[i] < CAEXPIRY_EVERY_S))
			continue;
		caexpiry_text(&x[i], text);
		log_warn("%s", text);
		w->warned_at[i] = now;
		n++;
	}
	return n;
}

int
caexpiry_daily(const struct ca_set *ca, int64_t now)
{
	static struct caexpiry_watch watch;

	return caexpiry_tick(&watch, ca, now);
}
