/*
 * revocation.c - the CRL the CA publishes (see revocation.h).
 *
 * Generation is serialised by one mutex held from reading the newest
 * number to storing the new CRL: two revocations that commit at once
 * both read the store after their own commit, so whichever makes the
 * later CRL lists both, and the numbers never repeat. The store checks
 * the number again (the newest's plus one) in the CRL's own transaction.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>

#include "ca/crl.h"
#include "common/log.h"
#include "daemon/auditlog.h"
#include "daemon/revocation.h"
#include "signer/signer.h"
#include "store/store.h"

struct revocation {
	const struct issuer *is;
	struct revocation *also;	/* the previous generation's, made after this one's */
	struct revocation_config c;
	pthread_mutex_t mu;
	/* The lock CRLs are made under: mu, or for a previous generation the
	 * current one's, since CRL numbers are one sequence across CAs. */
	pthread_mutex_t *lock;
	struct crl_entry *ents;		/* CRL_ENTRIES_MAX, used under mu */
};

int
revocation_new(const struct issuer *is, const struct revocation_config *c,
	       struct revocation **out, struct lerr *e)
{
	struct revocation *rv = calloc(1, sizeof(*rv));

	*out = NULL;
	if (rv == NULL || (rv->ents = calloc(CRL_ENTRIES_MAX, sizeof(*rv->ents))) == NULL) {
		free(rv);
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	}
	if (pthread_mutex_init(&rv->mu, NULL) != 0) {
		free(rv->ents);
		free(rv);
		return lerr_set(e, LERR_INTERNAL, "out of resources");
	}
	rv->is = is;
	rv->lock = &rv->mu;
	if (c != NULL)
		rv->c = *c;
	if (rv->c.days == 0)
		rv->c.days = REVOCATION_DAYS_DEFAULT;
	*out = rv;
	return 0;
}

void
revocation_free(struct revocation *rv)
{
	if (rv == NULL)
		return;
	pthread_mutex_destroy(&rv->mu);
	free(rv->ents);
	free(rv);
}

static int64_t
revocation_now(const struct revocation *rv)
{
	return (int64_t)(rv->c.now != NULL ? rv->c.now(rv->c.now_arg) : time(NULL));
}

/* Every CRL is a checkpoint of the audit log: the signer signs the
 * chain's head, the CRL's own "crl" row included. The CRL stands
 * without it; the hourly checkpoint (auditlog_tick) tries again. */
static void
revocation_checkpoint(struct revocation *rv, int64_t number, int64_t now)
{
	struct lerr e;

	if (auditlog_checkpoint(rv->is->store, rv->is->signer, now, &e) != 0)
		log_warn("CRL %lld made, but no audit checkpoint: %s", (long long)number, e.msg);
}

/* revocation_crl_make's work, under rv->mu. */
static int
revocation_make_locked(struct revocation *rv, const char *actor, struct revocation_made *made,
		       struct lerr *e)
{
	struct store *s = rv->is->store;
	struct store_crl *newest = NULL, *mine = NULL, row;
	struct crl_params p;
	gnutls_datum_t der = { NULL, 0 };
	int64_t now = revocation_now(rv), revocations = 0;
	size_t n = 0, i;
	int rc = -1;

	/* One sequence of numbers across issuing CAs; the dates follow this
	 * CA's own newest. */
	if (store_crl_newest(s, 0, 0, &newest, e) != 0 && e->code != LERR_NOT_FOUND)
		goto out;
	lerr_clear(e);
	if (store_crl_newest(s, rv->is->ca_id, 0, &mine, e) != 0 && e->code != LERR_NOT_FOUND)
		goto out;
	lerr_clear(e);
	if (store_crl_entries(s, rv->is->ca_id, now, rv->ents, CRL_ENTRIES_MAX, &n, &revocations,
			      e) != 0)
		goto out;
	if (n > CRL_ENTRIES_MAX) {
		lerr_set(e, LERR_TOO_LARGE, "more than %d unexpired certificates are revoked: "
			 "a CRL lists at most %d, so none was made (the newest stays served)",
			 CRL_ENTRIES_MAX, CRL_ENTRIES_MAX);
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.number = newest != NULL ? (uint64_t)newest->number + 1 : 1;
	/* A CRL cannot be older than what it lists, nor than the one
	 * before it: a clock set back (a board without a real-time clock
	 * before NTP) moves thisUpdate forward instead. */
	p.this_update = (time_t)now;
	for (i = 0; i < n; i++)
		if (rv->ents[i].revoked_at > p.this_update)
			p.this_update = rv->ents[i].revoked_at;
	if (mine != NULL && mine->this_update > (int64_t)p.this_update)
		p.this_update = (time_t)mine->this_update;
	p.next_update = p.this_update + (time_t)rv->c.days * 86400;
	p.entries = rv->ents;
	p.n = n;
	if (signer_crl(rv->is->signer, rv->c.generation, &p, &der, e) != 0)
		goto out;
	memset(&row, 0, sizeof(row));
	row.number = (int64_t)p.number;
	row.ca_id = rv->is->ca_id;
	row.this_update = (int64_t)p.this_update;
	row.next_update = (int64_t)p.next_update;
	row.created_at = now;
	row.entries = (int64_t)n;
	row.revocations = revocations;
	row.der = der.data;
	row.der_len = der.size;
	if (store_crl_insert(s, &row, actor, e) != 0)
		goto out;
	log_info("made CRL %lld listing %zu certificates, next update %lld",
		 (long long)row.number, n, (long long)row.next_update);
	revocation_checkpoint(rv, row.number, now);
	if (made != NULL) {
		made->number = row.number;
		made->entries = row.entries;
		made->this_update = row.this_update;
		made->next_update = row.next_update;
	}
	rc = 0;
out:
	gnutls_free(der.data);
	store_crl_free(newest);
	store_crl_free(mine);
	return rc;
}

int
revocation_crl_make(struct revocation *rv, const char *actor, struct revocation_made *made,
		    struct lerr *e)
{
	int rc;

	if (rv == NULL || actor == NULL)
		return lerr_set(e, LERR_INTERNAL, "revocation_crl_make: bad arguments");
	pthread_mutex_lock(rv->lock);
	/* Gateways sharing a store number their CRLs in one sequence: one
	 * of them at a time reads the newest and stores the next. */
	if (store_site_lock(rv->is->store, e) != 0) {
		pthread_mutex_unlock(rv->lock);
		return -1;
	}
	rc = revocation_make_locked(rv, actor, made, e);
	/* A revocation of a leaf of the previous issuing CA is listed by its
	 * CRL; failing that, the next tick makes it. */
	if (rc == 0 && rv->also != NULL) {
		struct lerr ae;

		if (revocation_make_locked(rv->also, actor, NULL, &ae) != 0)
			log_err("no CRL of the previous issuing CA was made: %s", ae.msg);
	}
	store_site_unlock(rv->is->store);
	pthread_mutex_unlock(rv->lock);
	return rc;
}

void
revocation_chain(struct revocation *rv, struct revocation *also)
{
	rv->also = also;
	also->lock = rv->lock;
}

/* Why a CRL is due at now (NULL: none is). */
static const char *
revocation_due(struct revocation *rv, int64_t now, int *due, struct lerr *e)
{
	struct store_crl *newest = NULL;
	const char *why = NULL;
	int64_t revocations = 0;

	*due = 0;
	if (store_crl_newest(rv->is->store, rv->is->ca_id, 0, &newest, e) != 0) {
		if (e->code != LERR_NOT_FOUND)
			return NULL;
		*due = 1;
		return "no CRL yet";
	}
	if (store_revocations(rv->is->store, &revocations, e) != 0)
		goto out;
	if (revocations > newest->revocations)
		why = "a certificate was revoked since the newest CRL";
	else if (now - newest->this_update >= (newest->next_update - newest->this_update) / 2)
		why = "less than half of the newest CRL's period is left";
	*due = why != NULL;
out:
	store_crl_free(newest);
	return why;
}

int
revocation_tick(struct revocation *rv, struct lerr *e)
{
	const char *why;
	int due = 0, rc;

	if (rv == NULL)
		return lerr_set(e, LERR_INTERNAL, "revocation_tick: bad arguments");
	lerr_clear(e);
	pthread_mutex_lock(rv->lock);
	if (store_site_lock(rv->is->store, e) != 0) {
		pthread_mutex_unlock(rv->lock);
		return -1;
	}
	why = revocation_due(rv, revocation_now(rv), &due, e);
	if (!due) {
		store_site_unlock(rv->is->store);
		pthread_mutex_unlock(rv->lock);
		return e->code != LERR_NONE ? -1 : 0;
	}
	log_info("making a CRL of issuing CA %lld: %s", (long long)rv->is->ca_id, why);
	rc = revocation_make_locked(rv, "lanca", NULL, e);
	store_site_unlock(rv->is->store);
	pthread_mutex_unlock(rv->lock);
	return rc == 0 ? 1 : -1;
}

int
revocation_newest(struct store *s, int64_t ca_id, struct revocation_crl *out, struct lerr *e)
{
	struct store_crl *c = NULL;

	memset(out, 0, sizeof(*out));
	if (store_crl_newest(s, ca_id, 1, &c, e) != 0)
		return -1;
	out->number = c->number;
	out->this_update = c->this_update;
	out->next_update = c->next_update;
	out->der = c->der;
	out->der_len = c->der_len;
	c->der = NULL;
	store_crl_free(c);
	return 0;
}

void
revocation_crl_clear(struct revocation_crl *c)
{
	if (c == NULL)
		return;
	free(c->der);
	c->der = NULL;
	c->der_len = 0;
}

/* The path part of an http:// URL ("/crl" of "http://gw.local/crl"), or
 * NULL. */
static const char *
revocation_url_path(const char *url)
{
	if (strncmp(url, "http://", 7) != 0)
		return NULL;
	return strchr(url + 7, '/');
}

int
revocation_ca_at(struct store *s, const char *path, int64_t *ca_id, struct lerr *e)
{
	struct store_ca *cas[STORE_CAS_MAX], *active = NULL;
	const char *p;
	size_t n = 0, i;
	int rc = -1;

	*ca_id = 0;
	if (store_ca_list(s, cas, STORE_CAS_MAX, &n, e) != 0)
		return -1;
	for (i = 0; i < n && *ca_id == 0; i++)
		if (strcmp(cas[i]->role, "issuing") == 0 &&
		    (p = revocation_url_path(cas[i]->crl_url)) != NULL && strcmp(p, path) == 0)
			*ca_id = cas[i]->id;
	if (*ca_id == 0 && strcmp(path, REVOCATION_PATH) == 0) {
		/* A CRL URL elsewhere (--crl-url): /crl is the active CA's. */
		if (store_ca_active(s, "issuing", &active, e) != 0)
			goto out;
		*ca_id = active->id;
	}
	if (*ca_id == 0) {
		lerr_set(e, LERR_NOT_FOUND, "no issuing CA publishes its CRL at %s", path);
		goto out;
	}
	rc = 0;
out:
	store_ca_free(active);
	store_ca_list_free(cas, n);
	return rc;
}

/* See revocation.h. */
int
revocation_crl_url_next(const char *old, const char *given, const char *fp, char *out, size_t n,
	     struct lerr *e)
{
	const char *path, *slash;
	size_t base;

	if (given != NULL) {
		if (strncmp(given, "http://", 7) != 0 || strlen(given) >= n)
			return lerr_set(e, LERR_BAD_REQUEST, "--crl-url must be an http:// URL "
					"shorter than %zu bytes", n);
		snprintf(out, n, "%s", given);
		return 0;
	}
	if (old[0] == '\0') {
		out[0] = '\0';
		return 0;
	}
	path = strncmp(old, "http://", 7) == 0 ? strchr(old + 7, '/') : NULL;
	if (path != NULL && strcmp(path, REVOCATION_PATH) == 0) {
		base = (size_t)(path - old);
	} else if (path != NULL && strncmp(path, REVOCATION_PATH "/", 5) == 0 &&
		   (slash = strchr(path + 5, '/')) == NULL) {
		base = (size_t)(path - old);
	} else {
		return lerr_set(e, LERR_BAD_REQUEST, "the issuing CA's CRL URL %s is not lanca's own "
				"%s: name the new CA's with --crl-url", old, REVOCATION_PATH);
	}
	if (snprintf(out, n, "%.*s%s/%.16s", (int)base, old, REVOCATION_PATH, fp) >= (int)n)
		return lerr_set(e, LERR_BAD_REQUEST, "the new CRL URL would be too long");
	return 0;
}

/* See revocation.h. */
int
revocation_crl_url_free(struct store *s, const char *url, struct lerr *e)
{
	struct store_ca *cas[STORE_CAS_MAX];
	const char *p, *q;
	size_t n = 0, i;
	int rc = 0;

	if (url[0] == '\0' || (p = strchr(url + 7, '/')) == NULL)
		return 0;
	if (store_ca_list(s, cas, STORE_CAS_MAX, &n, e) != 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		if (strcmp(cas[i]->role, "issuing") == 0 && strncmp(cas[i]->crl_url, "http://", 7) == 0 &&
		    (q = strchr(cas[i]->crl_url + 7, '/')) != NULL && strcmp(p, q) == 0)
			rc = lerr_set(e, LERR_CONFLICT, "the CRL URL %s has the path of %s's (%s): "
				      "each issuing CA needs its own", url, cas[i]->subject,
				      cas[i]->crl_url);
	store_ca_list_free(cas, n);
	return rc;
}
