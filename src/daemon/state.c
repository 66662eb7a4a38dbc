/*
 * state.c - the state directory's layout and the public side of the CA
 * hierarchy the daemon serves (see state.h). `lanca init`, which creates
 * the directory, is init.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "ca/x509.h"
#include "daemon/state.h"
#include "store/store.h"

int
state_path(char out[STATE_PATH_MAX], const char *dir, const char *rel)
{
	return fileio_join(out, STATE_PATH_MAX, dir, rel);
}

/* During a rollover the active issuing CA was signed by the new root,
 * which not every device trusts yet: what the gateway hands out in its
 * chains is the old (primary) root's certificate of the same CA (same
 * name and key, a cross-certificate on record), so that a device that
 * trusts only the old root verifies leaves of the new CA. Replaces
 * c->issuing by it when the issuing CA is not the root's own. */
static int
ca_set_chain_cert(struct store *s, struct ca_set *c, int64_t issuing_id, struct lerr *e)
{
	struct store_cross x[STORE_CAS_MAX];
	gnutls_x509_crt_t crt = NULL;
	size_t nx = 0, i;
	int rc = -1;

	if (gnutls_x509_crt_check_issuer(c->issuing, c->root))
		return 0;
	if (store_cross_list(s, x, STORE_CAS_MAX, &nx, e) != 0)
		return -1;
	for (i = 0; i < nx; i++)
		if (x[i].subject_id == issuing_id && x[i].issuer_id == c->root_id)
			break;
	if (i == nx) {
		lerr_set(e, LERR_INVARIANT, "the issuing CA is not the primary root's, and no "
			 "certificate of it by that root is on record");
		goto out;
	}
	if (x509_import(x[i].der, x[i].der_len, &crt, e) != 0)
		goto out;
	gnutls_x509_crt_deinit(c->issuing);
	c->issuing = crt;
	rc = 0;
out:
	store_cross_clear(x, nx);
	return rc;
}

int
ca_set_load(struct store *s, struct ca_set *c, struct lerr *e)
{
	struct store_ca *root = NULL, *issuing = NULL;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (store_ca_active(s, "root", &root, e) != 0 ||
	    store_ca_active(s, "issuing", &issuing, e) != 0)
		goto out;
	c->root_id = root->id;
	if (x509_import(root->der, root->der_len, &c->root, e) != 0 ||
	    x509_import(issuing->der, issuing->der_len, &c->issuing, e) != 0)
		goto out;
	/* Its own fingerprint and dates, whatever certificate of it the
	 * chains carry. */
	if (x509_fingerprint(c->issuing, c->issuing_fp) != 0 ||
	    x509_fingerprint_colon(c->issuing, c->issuing_fp_colon) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the CA certificates");
		goto out;
	}
	c->issuing_not_before = gnutls_x509_crt_get_activation_time(c->issuing);
	c->issuing_not_after = gnutls_x509_crt_get_expiration_time(c->issuing);
	if (ca_set_chain_cert(s, c, issuing->id, e) != 0)
		goto out;
	if (x509_export_der(c->root, &c->root_der) != 0 ||
	    x509_export_pem(c->root, &c->root_pem) != 0 ||
	    x509_export_der(c->issuing, &c->issuing_der) != 0 ||
	    x509_export_pem(c->issuing, &c->issuing_pem) != 0 ||
	    x509_fingerprint(c->root, c->root_fp) != 0 ||
	    x509_fingerprint_colon(c->root, c->root_fp_colon) != 0 ||
	    x509_subject(c->root, c->root_subject, sizeof(c->root_subject)) != 0 ||
	    x509_subject(c->issuing, c->issuing_subject, sizeof(c->issuing_subject)) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the CA certificates");
		goto out;
	}
	c->root_not_before = gnutls_x509_crt_get_activation_time(c->root);
	c->root_not_after = gnutls_x509_crt_get_expiration_time(c->root);
	c->issuing_id = issuing->id;
	rc = 0;
out:
	store_ca_free(root);
	store_ca_free(issuing);
	if (rc != 0)
		ca_set_free(c);
	return rc;
}

void
ca_set_free(struct ca_set *c)
{
	if (c == NULL)
		return;
	if (c->root != NULL)
		gnutls_x509_crt_deinit(c->root);
	if (c->issuing != NULL)
		gnutls_x509_crt_deinit(c->issuing);
	gnutls_free(c->root_der.data);
	gnutls_free(c->root_pem.data);
	gnutls_free(c->issuing_der.data);
	gnutls_free(c->issuing_pem.data);
	memset(c, 0, sizeof(*c));
}

/* See state.h. Reads the store read-only; the signer trusts none of this
 * until it has proven it with its keys. */
int
state_signer_adopt(const char *dir, struct signer_adopt *a, struct lerr *e)
{
	char path[STATE_PATH_MAX];
	struct store *s = NULL;
	struct ca_set ca;
	struct lerr none;
	char *url = NULL;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	memset(&ca, 0, sizeof(ca));
	if (state_path(path, dir, STORE_FILE) != 0) {
		lerr_set(e, LERR_INTERNAL, "state directory path too long");
		goto out;
	}
	if (store_open(path, STORE_READONLY, &s, e) != 0 || ca_set_load(s, &ca, e) != 0)
		goto out;
	if (store_setting_get(s, "crl_url", &url, &none) == 0) {
		if (strlen(url) >= sizeof(a->crl_url)) {
			lerr_set(e, LERR_INVARIANT, "the store's crl_url is too long");
			goto out;
		}
		memcpy(a->crl_url, url, strlen(url) + 1);
	}
	/* Hand over the DER copies ca_set_load made. */
	a->root = ca.root_der;
	a->issuing = ca.issuing_der;
	ca.root_der.data = ca.issuing_der.data = NULL;
	rc = 0;
out:
	free(url);
	ca_set_free(&ca);
	store_close(s);
	if (rc != 0)
		signer_adopt_free(a);
	return rc;
}
