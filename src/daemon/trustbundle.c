/*
 * trustbundle.c - the current trust bundle from the store (see
 * trustbundle.h).
 *
 * The store is the daemon's, but what it says is checked here before a
 * device is told to trust it: a cross-certificate that does not certify
 * the backup root's own subject and key under the primary root would make
 * every careful client refuse the whole bundle, so it is refused here
 * first, with a message that names the problem.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <gnutls/crypto.h>

#include "ca/x509.h"
#include "daemon/trustbundle.h"
#include "store/store.h"

const char *
trust_role_name(enum trust_role r)
{
	switch (r) {
	case TRUST_PRIMARY: return "primary";
	case TRUST_NEXT: return "next";
	case TRUST_BACKUP: return "backup";
	case TRUST_CROSS: return "cross";
	}
	return "unknown";
}

/* Appends a new entry of role r made from der (copied) to b. */
static int
trustbundle_add(struct trust_bundle *b, enum trust_role r, const unsigned char *der,
		size_t len, int64_t ca_id, struct lerr *e)
{
	struct trust_entry *t;

	if (b->n == TRUSTBUNDLE_MAX)
		return lerr_set(e, LERR_TOO_LARGE, "more than %d certificates in the trust bundle",
				TRUSTBUNDLE_MAX);
	t = &b->entry[b->n];
	memset(t, 0, sizeof(*t));
	t->role = r;
	t->ca_id = ca_id;
	t->vouches_for = -1;
	if (x509_import(der, len, &t->crt, e) != 0)
		return -1;
	b->n++;		/* from here trustbundle_free frees it */
	if (x509_export_der(t->crt, &t->der) != 0 || x509_export_pem(t->crt, &t->pem) != 0 ||
	    x509_fingerprint(t->crt, t->fp) != 0 || x509_fingerprint_colon(t->crt, t->fp_colon) != 0 ||
	    x509_subject(t->crt, t->subject, sizeof(t->subject)) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot encode the %s certificate",
				trust_role_name(r));
	t->not_before = gnutls_x509_crt_get_activation_time(t->crt);
	t->not_after = gnutls_x509_crt_get_expiration_time(t->crt);
	return 0;
}

/* Takes back the entry trustbundle_add added last. */
static void
trustbundle_drop_last(struct trust_bundle *b)
{
	struct trust_entry *t = &b->entry[--b->n];

	gnutls_x509_crt_deinit(t->crt);
	gnutls_free(t->der.data);
	gnutls_free(t->pem.data);
	memset(t, 0, sizeof(*t));
}

/* 0 if cross certifies root's subject and key and verifies under issuer;
 * -1 with e (LERR_INVARIANT) saying what is wrong. */
static int
trustbundle_check_cross(gnutls_x509_crt_t cross, gnutls_x509_crt_t root,
			gnutls_x509_crt_t issuer, struct lerr *e)
{
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	unsigned char ka[32], kb[32];
	unsigned status = 0;
	int same, ret;

	if (gnutls_x509_crt_get_raw_dn(cross, &a) < 0 || gnutls_x509_crt_get_raw_dn(root, &b) < 0) {
		gnutls_free(a.data);
		gnutls_free(b.data);
		return lerr_set(e, LERR_INVARIANT, "cannot read a cross-certificate's subject");
	}
	same = a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
	gnutls_free(a.data);
	gnutls_free(b.data);
	if (!same)
		return lerr_set(e, LERR_INVARIANT,
				"a cross-certificate names another subject than its root");
	if (x509_key_id(cross, ka) != 0 || x509_key_id(root, kb) != 0 || memcmp(ka, kb, 32) != 0)
		return lerr_set(e, LERR_INVARIANT,
				"a cross-certificate carries another key than its root");
	ret = gnutls_x509_crt_verify(cross, &issuer, 1, 0, &status);
	if (ret < 0 || !x509_voucher_status_ok(status))
		return lerr_set(e, LERR_INVARIANT,
				"a cross-certificate does not verify under the root that signed it");
	return 0;
}

/* Whether some voucher in b certifies entry i. */
static int
trustbundle_vouched(const struct trust_bundle *b, size_t i)
{
	size_t j;

	for (j = 0; j < b->n; j++)
		if (b->entry[j].role == TRUST_CROSS && b->entry[j].vouches_for == (int)i)
			return 1;
	return 0;
}

/* Joins every entry's PEM into b->pem and names it by its SHA-256. */
static int
trustbundle_finish(struct trust_bundle *b, struct lerr *e)
{
	unsigned char d[32];
	size_t i, len = 0, at = 0;
	char hex[65];

	for (i = 0; i < b->n; i++)
		len += b->entry[i].pem.size;
	if ((b->pem.data = gnutls_malloc(len + 1)) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	for (i = 0; i < b->n; i++) {
		memcpy(b->pem.data + at, b->entry[i].pem.data, b->entry[i].pem.size);
		at += b->entry[i].pem.size;
	}
	b->pem.data[len] = '\0';
	b->pem.size = (unsigned)len;
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, b->pem.data, len, d) < 0)
		return lerr_set(e, LERR_INTERNAL, "cannot hash the trust bundle");
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	snprintf(b->etag, sizeof(b->etag), "\"%s\"", hex);
	for (i = 0; i < b->n; i++)
		if (b->entry[i].role != TRUST_CROSS)
			b->roots[b->nroots++] = b->entry[i].crt;
	return 0;
}

/* The row of cas[0..n) with id, or NULL. */
static const struct store_ca *
trustbundle_ca(struct store_ca **cas, size_t n, int64_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cas[i]->id == id)
			return cas[i];
	return NULL;
}

/* The index of the anchor of b with row id, or -1. */
static int
trustbundle_anchor(const struct trust_bundle *b, int64_t id)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->entry[i].role != TRUST_CROSS && b->entry[i].ca_id == id)
			return (int)i;
	return -1;
}

/* Adds every voucher of the store whose subject is an anchor of b and
 * whose issuer is a root nobody distrusts (an anchor, or an old root
 * retired by `lanca rollover finish`, whose NewWithOld still lets a device
 * that trusts only it move on), each checked. */
static int
trustbundle_add_crosses(struct store *s, struct trust_bundle *b, struct store_ca **cas,
			size_t ncas, struct lerr *e)
{
	struct store_cross x[STORE_CAS_MAX];
	const struct store_ca *issuer;
	gnutls_x509_crt_t icrt = NULL;
	size_t nx = 0, i;
	int subj, rc = -1;

	if (store_cross_list(s, x, STORE_CAS_MAX, &nx, e) != 0)
		return -1;
	for (i = 0; i < nx; i++) {
		subj = trustbundle_anchor(b, x[i].subject_id);
		issuer = trustbundle_ca(cas, ncas, x[i].issuer_id);
		/* An expired root vouches for nothing any more: its vouchers
		 * (no longer valid than it) are left out, not refused. */
		if (subj < 0 || issuer == NULL || strcmp(issuer->role, "root") != 0 ||
		    issuer->distrusted_at != 0 || issuer->not_after <= (int64_t)time(NULL))
			continue;
		if (trustbundle_add(b, TRUST_CROSS, x[i].der, x[i].der_len, x[i].subject_id, e) != 0)
			goto out;
		if (b->entry[b->n - 1].not_after <= time(NULL) ||
		    b->entry[b->n - 1].not_before > time(NULL)) {
			trustbundle_drop_last(b);
			continue;
		}
		b->entry[b->n - 1].vouches_for = subj;
		b->entry[b->n - 1].issuer_ca_id = x[i].issuer_id;
		if (x509_import(issuer->der, issuer->der_len, &icrt, e) != 0 ||
		    trustbundle_check_cross(b->entry[b->n - 1].crt, b->entry[subj].crt, icrt,
					    e) != 0)
			goto out;
		gnutls_x509_crt_deinit(icrt);
		icrt = NULL;
	}
	rc = 0;
out:
	if (icrt != NULL)
		gnutls_x509_crt_deinit(icrt);
	store_cross_clear(x, nx);
	return rc;
}

int
trustbundle_load(struct store *s, struct trust_bundle *b, struct lerr *e)
{
	struct store_ca *primary = NULL, *cas[STORE_CAS_MAX];
	size_t ncas = 0, i;
	int rc = -1;

	memset(b, 0, sizeof(*b));
	if (store_ca_active(s, "root", &primary, e) != 0 ||
	    trustbundle_add(b, TRUST_PRIMARY, primary->der, primary->der_len, primary->id, e) != 0)
		goto out;
	if (store_ca_list(s, cas, STORE_CAS_MAX, &ncas, e) != 0)
		goto out;
	/* The new root while a rollover is under way (active, not the
	 * primary), then the backup roots; never a distrusted one. */
	for (i = 0; i < ncas; i++)
		if (strcmp(cas[i]->role, "root") == 0 && strcmp(cas[i]->state, "active") == 0 &&
		    cas[i]->id != primary->id && cas[i]->distrusted_at == 0 &&
		    trustbundle_add(b, TRUST_NEXT, cas[i]->der, cas[i]->der_len, cas[i]->id,
				    e) != 0)
			goto out;
	for (i = 0; i < ncas; i++) {
		if (strcmp(cas[i]->role, "backup-root") != 0 || strcmp(cas[i]->state, "offline") != 0 ||
		    cas[i]->distrusted_at != 0)
			continue;
		if (trustbundle_add(b, TRUST_BACKUP, cas[i]->der, cas[i]->der_len, cas[i]->id, e) != 0)
			goto out;
		b->entry[b->n - 1].confirmed_at = cas[i]->confirmed_at;
	}
	if (trustbundle_add_crosses(s, b, cas, ncas, e) != 0)
		goto out;
	/* A backup root nobody vouches for would make careful clients
	 * refuse the whole bundle: refuse it here, where it can be named. */
	for (i = 0; i < b->n; i++)
		if (b->entry[i].role == TRUST_BACKUP && !trustbundle_vouched(b, i)) {
			lerr_set(e, LERR_INVARIANT, "the backup root has no cross-certificate");
			goto out;
		}
	if (trustbundle_finish(b, e) != 0)
		goto out;
	rc = 0;
out:
	store_ca_free(primary);
	store_ca_list_free(cas, ncas);
	return rc;
}

void
trustbundle_free(struct trust_bundle *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n && i < TRUSTBUNDLE_MAX; i++) {
		if (b->entry[i].crt != NULL)
			gnutls_x509_crt_deinit(b->entry[i].crt);
		gnutls_free(b->entry[i].der.data);
		gnutls_free(b->entry[i].pem.data);
	}
	gnutls_free(b->pem.data);
	memset(b, 0, sizeof(*b));
}

const struct trust_entry *
trustbundle_find(const struct trust_bundle *b, enum trust_role r)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->entry[i].role == r)
			return &b->entry[i];
	return NULL;
}

int
trustbundle_note_fetch(struct store *s, const struct trust_bundle *b, gnutls_x509_crt_t peer,
		       struct lerr *e)
{
	unsigned char serial[STORE_SERIAL_MAX + 4];
	size_t len = sizeof(serial);
	gnutls_datum_t der = { NULL, 0 };
	struct store_cert *cur = NULL;
	int rc = -1;

	if (b->n == 0 || b->entry[0].role != TRUST_PRIMARY)
		return lerr_set(e, LERR_INTERNAL, "trustbundle_note_fetch: no primary root");
	if (gnutls_x509_crt_get_serial(peer, serial, &len) < 0 ||
	    store_cert_by_serial(s, serial, len, &cur, e) != 0) {
		lerr_set(e, LERR_FORBIDDEN, "the client certificate is not on record");
		goto out;
	}
	/* Counted only for the certificate lanca issued, byte for byte. */
	if (gnutls_x509_crt_export2(peer, GNUTLS_X509_FMT_DER, &der) < 0 ||
	    der.size != cur->der_len || memcmp(der.data, cur->der, der.size) != 0 ||
	    cur->status != STORE_CERT_VALID) {
		lerr_set(e, LERR_FORBIDDEN, "the client certificate is not a valid one on record");
		goto out;
	}
	rc = store_trust_fetch(s, cur->device_id, b->entry[0].fp, (int64_t)time(NULL), e);
out:
	gnutls_free(der.data);
	store_cert_free(cur);
	return rc;
}
