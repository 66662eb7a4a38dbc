/*
 * gateway.c - the gateway's own TLS certificate (see gateway.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>

#include "common/fileio.h"
#include "daemon/gateway.h"
#include "ca/keystore.h"
#include "ca/names.h"
#include "daemon/state.h"
#include "store/store.h"
#include "ca/x509.h"

/*
 * The key of a setting of this gateway's own: base for the gateway that
 * made the site (lanca init), base:NAME for one that joined it (its
 * gateway.name), whose settings sit beside the others' in the shared
 * store. 0, or -1 with e.
 */
int
gateway_setting_key(const char *dir, const char *base, char *out, size_t n, struct lerr *e)
{
	char name[STATE_GATEWAY_NAME_MAX + 1];
	int rc;

	if (state_gateway_name(dir, name, e) != 0)
		return -1;
	rc = name[0] == '\0' ? snprintf(out, n, "%s", base) : snprintf(out, n, "%s:%s", base, name);
	return rc < 0 || (size_t)rc >= n ? lerr_set(e, LERR_INTERNAL, "setting name too long") : 0;
}

/* Parses the "DNS:a,IP:b" setting into n. */
static int
gateway_parse_names(const char *text, struct names *n, struct lerr *e)
{
	char *copy = strdup(text), *item, *next;
	struct ipnet ip;
	int rc = -1;

	if (copy == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	for (item = copy; item != NULL; item = next) {
		next = strchr(item, ',');
		if (next != NULL)
			*next++ = '\0';
		if (strncmp(item, "DNS:", 4) == 0) {
			if (names_add_dns(n, item + 4) != 0) {
				lerr_set_http(e, LERR_BAD_NAME, 500, "bad gateway name %s", item + 4);
				goto out;
			}
		} else if (strncmp(item, "IP:", 3) == 0) {
			if (ipnet_parse(item + 3, &ip) != 0 || names_add_ip(n, &ip) != 0) {
				lerr_set_http(e, LERR_BAD_NAME, 500, "bad gateway address %s", item + 3);
				goto out;
			}
		}
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

int
gateway_issue(const struct issuer *is, const char *dir, const struct ca_set *ca,
	      struct lerr *e)
{
	char keypath[STATE_PATH_MAX], newkey[STATE_PATH_MAX], pempath[STATE_PATH_MAX];
	char sans_key[96], cn_key[96];
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t csr = { NULL, 0 };
	struct store_cert *cert = NULL;
	struct issue_req req;
	char *sans_text = NULL, *cn = NULL;
	struct names n;
	struct buf chain;
	int rc = -1, key_written = 0;

	names_init(&n);
	buf_init(&chain, 64 * 1024);
	if (state_path(keypath, dir, STATE_GATEWAY_KEY) != 0 ||
	    state_path(newkey, dir, STATE_GATEWAY_KEY ".new") != 0 ||
	    state_path(pempath, dir, STATE_GATEWAY_PEM) != 0) {
		lerr_set(e, LERR_INTERNAL, "state directory path too long");
		goto out;
	}
	if (gateway_setting_key(dir, "gateway_sans", sans_key, sizeof(sans_key), e) != 0 ||
	    gateway_setting_key(dir, "gateway_cn", cn_key, sizeof(cn_key), e) != 0 ||
	    store_setting_get(is->store, sans_key, &sans_text, e) != 0 ||
	    store_setting_get(is->store, cn_key, &cn, e) != 0 ||
	    gateway_parse_names(sans_text, &n, e) != 0)
		goto out;
	if (keystore_generate(KEYSTORE_ECDSA_P256, &key, e) != 0 ||
	    csr_make(key, cn, &n, &csr, e) != 0)
		goto out;
	unlink(newkey);	/* a leftover from an interrupted renewal */
	if (keystore_write(newkey, key, NULL, e) != 0)
		goto out;
	key_written = 1;
	memset(&req, 0, sizeof(req));
	req.csr = csr.data;
	req.csr_len = csr.size;
	req.profile = POLICY_GATEWAY;
	req.actor = "gateway";
	if (issue_cert(is, &req, &cert, e) != 0)
		goto out;
	if (issue_chain_pem(is->store, cert, ca, &chain, e) != 0)
		goto out;
	if (rename(newkey, keypath) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot install %s: %s", keypath, strerror(errno));
		goto out;
	}
	key_written = 0;
	if (fileio_write_atomic(pempath, chain.data, chain.len, 0644, 0, e) != 0)
		goto out;
	rc = 0;
out:
	if (key_written)
		unlink(newkey);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	gnutls_free(csr.data);
	store_cert_free(cert);
	buf_free(&chain);
	names_free(&n);
	free(sans_text);
	free(cn);
	return rc;
}

int
gateway_due(const char *dir, const struct ca_set *ca, time_t now)
{
	char path[STATE_PATH_MAX];
	gnutls_x509_crt_t crt = NULL;
	unsigned char *pem = NULL;
	size_t len;
	time_t nb, na;
	struct lerr e;
	int due = 1;

	if (state_path(path, dir, STATE_GATEWAY_PEM) != 0 ||
	    fileio_read(path, 256 * 1024, 0, &pem, &len, &e) != 0 ||
	    x509_import(pem, len, &crt, &e) != 0)
		goto out;
	nb = gnutls_x509_crt_get_activation_time(crt);
	na = gnutls_x509_crt_get_expiration_time(crt);
	/* After a rollover the gateway moves to the new issuing CA at once,
	 * and its chain to the CA certificate chains carry now (state.h). */
	due = na - now <= (na - nb) / 3 ||
	      (ca != NULL && (!gnutls_x509_crt_check_issuer(crt, ca->issuing) ||
			      memmem(pem, len, ca->issuing_pem.data, ca->issuing_pem.size) == NULL));
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	free(pem);
	return due;
}
