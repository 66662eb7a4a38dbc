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

int
ca_set_load(struct store *s, struct ca_set *c, struct lerr *e)
{
	struct store_ca *root = NULL, *issuing = NULL;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (store_ca_active(s, "root", &root, e) != 0 ||
	    store_ca_active(s, "issuing", &issuing, e) != 0)
		goto out;
	if (x509_import(root->der, root->der_len, &c->root, e) != 0 ||
	    x509_import(issuing->der, issuing->der_len, &c->issuing, e) != 0)
		goto out;
	if (x509_export_der(c->root, &c->root_der) != 0 ||
	    x509_export_pem(c->root, &c->root_pem) != 0 ||
	    x509_export_der(c->issuing, &c->issuing_der) != 0 ||
	    x509_export_pem(c->issuing, &c->issuing_pem) != 0 ||
	    x509_fingerprint(c->root, c->root_fp) != 0 ||
	    x509_fingerprint(c->issuing, c->issuing_fp) != 0 ||
	    x509_fingerprint_colon(c->root, c->root_fp_colon) != 0 ||
	    x509_fingerprint_colon(c->issuing, c->issuing_fp_colon) != 0 ||
	    x509_subject(c->root, c->root_subject, sizeof(c->root_subject)) != 0 ||
	    x509_subject(c->issuing, c->issuing_subject, sizeof(c->issuing_subject)) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the CA certificates");
		goto out;
	}
	c->root_not_before = gnutls_x509_crt_get_activation_time(c->root);
	c->root_not_after = gnutls_x509_crt_get_expiration_time(c->root);
	c->issuing_not_before = gnutls_x509_crt_get_activation_time(c->issuing);
	c->issuing_not_after = gnutls_x509_crt_get_expiration_time(c->issuing);
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
