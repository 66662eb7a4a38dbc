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

/* 0 if cross certifies root's subject and key and verifies under primary;
 * -1 with e (LERR_INVARIANT) saying what is wrong. */
static int
trustbundle_check_cross(gnutls_x509_crt_t cross, gnutls_x509_crt_t root,
			gnutls_x509_crt_t primary, struct lerr *e)
{
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	unsigned char ka[32], kb[32];
	unsigned status = 0;
	int same, ret;

	if (gnutls_x509_crt_get_raw_dn(cross, &a) < 0 || gnutls_x509_crt_get_raw_dn(root, &b) < 0) {
		gnutls_free(a.data);
		gnutls_free(b.data);
		return lerr_set(e, LERR_INVARIANT, "cannot read the backup root's subject");
	}
	same = a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
	gnutls_free(a.data);
	gnutls_free(b.data);
	if (!same)
		return lerr_set(e, LERR_INVARIANT,
				"the backup root's cross-certificate names another subject");
	if (x509_key_id(cross, ka) != 0 || x509_key_id(root, kb) != 0 || memcmp(ka, kb, 32) != 0)
		return lerr_set(e, LERR_INVARIANT,
				"the backup root's cross-certificate carries another key");
	ret = gnutls_x509_crt_verify(cross, &primary, 1, 0, &status);
	if (ret < 0 || status != 0)
		return lerr_set(e, LERR_INVARIANT,
				"the backup root's cross-certificate does not verify under the primary root");
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

int
trustbundle_load(struct store *s, struct trust_bundle *b, struct lerr *e)
{
	struct store_ca *primary = NULL, *backup = NULL;
	size_t bi;
	int rc = -1;

	memset(b, 0, sizeof(*b));
	if (store_ca_active(s, "root", &primary, e) != 0 ||
	    trustbundle_add(b, TRUST_PRIMARY, primary->der, primary->der_len, primary->id, e) != 0)
		goto out;
	if (store_ca_find(s, "backup-root", "offline", &backup, e) != 0) {
		if (e->code != LERR_NOT_FOUND)
			goto out;
		lerr_clear(e);
	} else {
		if (backup->cross_der == NULL) {
			lerr_set(e, LERR_INVARIANT, "the backup root has no cross-certificate");
			goto out;
		}
		bi = b->n;
		if (trustbundle_add(b, TRUST_BACKUP, backup->der, backup->der_len, backup->id, e) != 0)
			goto out;
		b->entry[bi].confirmed_at = backup->confirmed_at;
		if (trustbundle_add(b, TRUST_CROSS, backup->cross_der, backup->cross_der_len,
				    backup->id, e) != 0)
			goto out;
		b->entry[b->n - 1].vouches_for = (int)bi;
		if (trustbundle_check_cross(b->entry[b->n - 1].crt, b->entry[bi].crt,
					    b->entry[0].crt, e) != 0)
			goto out;
	}
	if (trustbundle_finish(b, e) != 0)
		goto out;
	rc = 0;
out:
	store_ca_free(primary);
	store_ca_free(backup);
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
