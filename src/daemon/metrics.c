/*
 * metrics.c - the page GET /metrics serves (see metrics.h).
 *
 * Names follow Prometheus' conventions: the lanca_ namespace, the unit
 * last (_seconds, _timestamp_seconds), _total on counters, and one family
 * per quantity with labels for its parts (door, outcome, role, op). A
 * count that can only grow while the store does (certificates issued) is
 * a counter even though it is read from the store: it never goes down.
 */
#include "config.h"

#include <stdio.h>

#include "daemon/backupsched.h"
#include "daemon/acme.h"
#include "daemon/metrics.h"
#include "common/prom.h"
#include "daemon/enroll.h"
#include "daemon/state.h"
#include "signer/signer.h"
#include "store/store.h"

/* The store's counts: each one range of an index, read without touching
 * the table's rows (see store_cert_totals, store_cert_expiring_count);
 * issued is SQLite's count(*) of the table, which walks its smallest
 * index. About 7 ms with 100,000 certificates (bench-lists). */
static int
metrics_store(const struct metrics_src *m, int64_t now, struct buf *b, struct lerr *e)
{
	int64_t issued = 0, valid = 0, revoked = 0, pending = 0, expiring = 0;

	if (store_cert_count(m->store, &issued, e) != 0 ||
	    store_cert_totals(m->store, now, &valid, &revoked, e) != 0 ||
	    store_cert_expiring_count(m->store, now, now + (int64_t)METRICS_EXPIRING_DAYS * 86400,
				      &expiring, e) != 0 ||
	    store_request_count_pending(m->store, &pending, e) != 0)
		return -1;
	return prom_family(b, "lanca_certificates_issued_total", "counter",
			   "Certificates issued by this CA (devices and the gateway's own), "
			   "as recorded in the store.") ||
	       prom_sample_i64(b, "lanca_certificates_issued_total", NULL, issued) ||
	       prom_family(b, "lanca_certificates_valid", "gauge",
			   "Certificates neither expired nor revoked.") ||
	       prom_sample_i64(b, "lanca_certificates_valid", NULL, valid) ||
	       prom_family(b, "lanca_certificates_revoked", "gauge",
			   "Certificates revoked, expired ones included.") ||
	       prom_sample_i64(b, "lanca_certificates_revoked", NULL, revoked) ||
	       prom_family(b, "lanca_certificates_expiring_30d", "gauge",
			   "Valid certificates that expire within the next 30 days.") ||
	       prom_sample_i64(b, "lanca_certificates_expiring_30d", NULL, expiring) ||
	       prom_family(b, "lanca_requests_pending", "gauge",
			   "Enrollment requests waiting for a decision.") ||
	       prom_sample_i64(b, "lanca_requests_pending", NULL, pending) ? -1 : 0;
}

/* The onboarding window: one series per state, 1 for the current one. */
static int
metrics_window(const struct metrics_src *m, struct buf *b)
{
	static const enum window_state states[] = { WINDOW_CLOSED, WINDOW_OPEN, WINDOW_OVERLAP };
	struct window_status st = { .state = WINDOW_CLOSED };
	size_t i;

	if (m->enroll != NULL)
		enroll_window(m->enroll, &st);
	if (prom_family(b, "lanca_window_state", "gauge",
			"The onboarding window's state: 1 for the current one.") != 0)
		return -1;
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (prom_sample_u64(b, "lanca_window_state",
				    (const char *[]){ "state", window_state_name(states[i]), NULL },
				    st.state == states[i]) != 0)
			return -1;
	return prom_family(b, "lanca_window_remaining_seconds", "gauge",
			   "Seconds until the open onboarding window closes; 0 when it is not "
			   "open.") ||
	       prom_sample_i64(b, "lanca_window_remaining_seconds", NULL,
			       st.state == WINDOW_OPEN ? st.seconds_left : 0) ? -1 : 0;
}

/* Device requests decided since the daemon started. */
static int
metrics_enroll(const struct metrics_src *m, struct buf *b)
{
	static const enum store_door doors[] = { STORE_DOOR_API, STORE_DOOR_EST };
	size_t d;
	int renew;
	unsigned t;

	if (prom_family(b, "lanca_enroll_requests_total", "counter",
			  "Device requests decided since the daemon started, by door (api, est), "
			  "request (enroll, renew) and outcome (issued, pending, denied, expired, "
			  "refused: the request was at fault, error: lanca was).") != 0)
		return -1;
	for (d = 0; d < sizeof(doors) / sizeof(doors[0]); d++)
		for (renew = 0; renew <= 1; renew++)
			for (t = 0; t < ENROLL_TALLIES; t++)
				if (prom_sample_u64(b, "lanca_enroll_requests_total",
					(const char *[]){ "door", store_door_str(doors[d]),
							  "request", renew ? "renew" : "enroll",
							  "outcome", enroll_tally_str(t), NULL },
					enroll_tally_get(m->enroll, doors[d], renew, t)) != 0)
					return -1;
	return 0;
}

/* The signer's round trips since the daemon started, by operation. */
static int
metrics_signer(const struct metrics_src *m, struct buf *b)
{
	struct metric_histogram_snap h;
	const char *op;
	unsigned i;

	if (prom_family(b, "lanca_signer_roundtrip_seconds", "histogram",
			"Time from sending a request to the signer process to its answer, "
			"by operation.") != 0)
		return -1;
	for (i = 0; signer_roundtrip(m->signer, i, &op, &h) == 0; i++)
		if (prom_histogram(b, "lanca_signer_roundtrip_seconds",
				   (const char *[]){ "op", op, NULL }, &h) != 0)
			return -1;
	return 0;
}

/* The newest CRL: how old it is, when the next is due, its number. No
 * CRL yet: the families without samples. -1 with e only for a store
 * that cannot be read; -1 with e clear when out is full. */
static int
metrics_crl(const struct metrics_src *m, int64_t now, struct buf *b, struct lerr *e)
{
	struct store_crl *c = NULL;
	int rc;

	lerr_clear(e);
	if (store_crl_newest(m->store, 0, 0, &c, e) != 0) {
		if (e->code != LERR_NOT_FOUND)
			return -1;
		lerr_clear(e);
	}
	rc = prom_family(b, "lanca_crl_age_seconds", "gauge",
			 "Seconds since the newest CRL's thisUpdate.") ||
	     (c != NULL && prom_sample_i64(b, "lanca_crl_age_seconds", NULL,
					   now - c->this_update)) ||
	     prom_family(b, "lanca_crl_next_update_timestamp_seconds", "gauge",
			 "The newest CRL's nextUpdate (Unix time): a new one is made before it.") ||
	     (c != NULL && prom_sample_i64(b, "lanca_crl_next_update_timestamp_seconds", NULL,
					   c->next_update)) ||
	     prom_family(b, "lanca_crl_number", "gauge", "The newest CRL's number.") ||
	     (c != NULL && prom_sample_i64(b, "lanca_crl_number", NULL, c->number)) ? -1 : 0;
	store_crl_free(c);
	return rc;
}

/* When the CA certificates expire, and what this daemon is. */
static int
metrics_ca(const struct metrics_src *m, struct buf *b)
{
	return prom_family(b, "lanca_ca_not_after_timestamp_seconds", "gauge",
			   "When each CA certificate expires (Unix time).") ||
	       prom_sample_i64(b, "lanca_ca_not_after_timestamp_seconds",
			       (const char *[]){ "role", "root", NULL },
			       (int64_t)m->ca->root_not_after) ||
	       prom_sample_i64(b, "lanca_ca_not_after_timestamp_seconds",
			       (const char *[]){ "role", "issuing", NULL },
			       (int64_t)m->ca->issuing_not_after) ||
	       prom_family(b, "lanca_start_time_seconds", "gauge",
			   "When the daemon started (Unix time): the in-memory counters count "
			   "from then.") ||
	       prom_sample_i64(b, "lanca_start_time_seconds", NULL, m->started) ||
	       prom_family(b, "lanca_build_info", "gauge",
			   "Always 1; the version label says which lanca this is.") ||
	       prom_sample_u64(b, "lanca_build_info",
			       (const char *[]){ "version", PACKAGE_VERSION, NULL }, 1) ? -1 : 0;
}

/* The scheduled backups, when serve makes them: the last good one's
 * time and size, the last failure's time, and counts since the start
 * (alert on time() - lanca_backup_last_success_timestamp_seconds). */
static int
metrics_backups(const struct metrics_src *m, struct buf *b)
{
	struct backupsched_status st;

	if (m->backups == NULL)
		return 0;
	backupsched_status(m->backups, &st);
	return prom_family(b, "lanca_backup_last_success_timestamp_seconds", "gauge",
			   "When the last scheduled backup was written (Unix time; 0: never).") ||
	       prom_sample_i64(b, "lanca_backup_last_success_timestamp_seconds", NULL,
			       st.last_success) ||
	       prom_family(b, "lanca_backup_last_failure_timestamp_seconds", "gauge",
			   "When a scheduled backup last failed (Unix time; 0: never).") ||
	       prom_sample_i64(b, "lanca_backup_last_failure_timestamp_seconds", NULL,
			       st.last_failure) ||
	       prom_family(b, "lanca_backup_last_size_bytes", "gauge",
			   "The size of the last scheduled backup written.") ||
	       prom_sample_u64(b, "lanca_backup_last_size_bytes", NULL, st.last_bytes) ||
	       prom_family(b, "lanca_backups_total", "counter",
			   "Scheduled backups since the daemon started, by result.") ||
	       prom_sample_u64(b, "lanca_backups_total", (const char *[]){ "result", "ok", NULL },
			       st.successes) ||
	       prom_sample_u64(b, "lanca_backups_total",
			       (const char *[]){ "result", "failed", NULL }, st.failures) ? -1 : 0;
}

/* The ACME door: validations and finalizations since the start, and the
 * accounts waiting for an admin (alert when it stays above 0). */
static int
metrics_acme(const struct metrics_src *m, struct buf *b, struct lerr *e)
{
	static const char *const types[] = { "http-01", "tls-alpn-01", "dns-01" };
	int64_t waiting = 0;
	size_t i;

	if (m->acme == NULL)
		return 0;
	if (acme_waiting(m->acme, &waiting, e) != 0)
		return -1;
	if (prom_family(b, "lanca_acme_validations_total", "counter",
			"ACME challenges validated since the daemon started, by type and "
			"result.") != 0)
		return -1;
	for (i = 0; i < 3; i++)
		if (prom_sample_u64(b, "lanca_acme_validations_total",
				    (const char *[]){ "challenge", types[i], "result", "valid", NULL },
				    acme_count_get(m->acme, (enum acme_count)(2 * i))) != 0 ||
		    prom_sample_u64(b, "lanca_acme_validations_total",
				    (const char *[]){ "challenge", types[i], "result", "invalid", NULL },
				    acme_count_get(m->acme, (enum acme_count)(2 * i + 1))) != 0)
			return -1;
	return prom_family(b, "lanca_acme_finalizations_total", "counter",
			   "ACME orders finalized since the daemon started, by result (issued, "
			   "refused).") ||
	       prom_sample_u64(b, "lanca_acme_finalizations_total",
			       (const char *[]){ "result", "issued", NULL },
			       acme_count_get(m->acme, ACME_COUNT_ISSUED)) ||
	       prom_sample_u64(b, "lanca_acme_finalizations_total",
			       (const char *[]){ "result", "refused", NULL },
			       acme_count_get(m->acme, ACME_COUNT_REFUSED)) ||
	       prom_family(b, "lanca_acme_accounts_waiting", "gauge",
			   "ACME accounts waiting for an admin's approval.") ||
	       prom_sample_i64(b, "lanca_acme_accounts_waiting", NULL, waiting) ? -1 : 0;
}

int
metrics_render(const struct metrics_src *m, int64_t now, struct buf *out, struct lerr *e)
{
	if (metrics_store(m, now, out, e) != 0) {
		if (buf_failed(out))
			goto full;
		return -1;
	}
	if (metrics_crl(m, now, out, e) != 0) {
		if (e->code != LERR_NONE)
			return -1;
		goto full;
	}
	if (metrics_window(m, out) != 0 || metrics_enroll(m, out) != 0 ||
	    metrics_signer(m, out) != 0 || metrics_ca(m, out) != 0 ||
	    metrics_backups(m, out) != 0)
		goto full;
	if (metrics_acme(m, out, e) != 0) {
		if (e->code != LERR_NONE)
			return -1;
		goto full;
	}
	return 0;
full:
	return lerr_set(e, LERR_INTERNAL, "the metrics page does not fit in %d bytes "
			"(or names a metric badly)", METRICS_PAGE_MAX);
}
