/*
 * root.c - fetching the gateway's root and deciding to trust it (see root.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "client/client.h"
#include "client/root.h"
#include "common/hex.h"
#include "common/lerr.h"

/* The SHA-256 fingerprint of crt's DER as 64 lower-case hex digits.
 * Returns 0, or -1 with a message printed. */
static int
root_fp(gnutls_x509_crt_t crt, char out[65])
{
	unsigned char fp[32];
	size_t fl = sizeof(fp);

	if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &fl) < 0 || fl != 32) {
		client_msg("cannot fingerprint the root");
		return -1;
	}
	hex_encode(fp, fl, out);
	return 0;
}

int
root_norm_fp(const char *in, char out[65])
{
	size_t o = 0;

	for (; *in != '\0'; in++) {
		char c = *in;

		if (c == ':' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || o == 64)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return o == 64 ? 0 : -1;
}

/*
 * Decides whether to trust crt, which came from where: its SHA-256 (of the
 * DER, whichever encoding the server sent, as `lanca status` prints it)
 * must be fingerprint's, or, when fingerprint is NULL, it is trusted on
 * first use and its fingerprint printed. It must be a CA. Returns 0 with
 * *root_pem (gnutls_malloc'd), or -1 with a message printed.
 */
static int
root_settle(gnutls_x509_crt_t crt, const char *fingerprint, const char *where,
	    gnutls_datum_t *root_pem)
{
	char got[65], want[65];
	unsigned crit = 0;
	int g;

	if (root_fp(crt, got) != 0)
		return -1;
	if (fingerprint != NULL) {
		if (root_norm_fp(fingerprint, want) != 0 || strcmp(want, got) != 0) {
			client_msg("root fingerprint mismatch: expected %s, got %s", want, got);
			return -1;
		}
	} else {
		client_msg("trusting the root on first use: SHA-256 fingerprint %s", got);
		client_msg("compare it with the one the gateway shows; pass --fingerprint next time");
	}
	if (gnutls_x509_crt_get_basic_constraints(crt, &crit, NULL, NULL) <= 0) {
		client_msg("the certificate at %s is not a CA", where);
		return -1;
	}
	if ((g = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, root_pem)) < 0) {
		client_msg("root export: %s", gnutls_strerror(g));
		return -1;
	}
	return 0;
}

/* See root.h. */
int
root_fetch(const char *http_url, const struct httpc_url *gw, const char *fingerprint,
	   long timeout, gnutls_datum_t *root_pem)
{
	struct httpc_conn *c = NULL;
	struct httpc_response r;
	struct httpc_url hu;
	struct lerr e;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d;
	size_t n;
	char url[1400];
	int rc = -1, w, g, v6 = strchr(gw->host, ':') != NULL;

	memset(&r, 0, sizeof(r));
	root_pem->data = NULL;
	lerr_clear(&e);
	if (http_url == NULL) {
		w = snprintf(url, sizeof(url), "http://%s%s%s/ca.crt", v6 ? "[" : "", gw->host, v6 ? "]" : "");
	} else {
		n = strlen(http_url);
		while (n > 0 && http_url[n - 1] == '/')
			n--;
		if ((n >= 4 && strncasecmp(http_url + n - 4, ".crt", 4) == 0) ||
		    (n >= 4 && strncasecmp(http_url + n - 4, ".pem", 4) == 0))
			w = snprintf(url, sizeof(url), "%.*s", (int)n, http_url);
		else
			w = snprintf(url, sizeof(url), "%.*s/ca.crt", (int)n, http_url);
	}
	if (w < 0 || (size_t)w >= sizeof(url)) {
		client_msg("--http URL too long");
		goto out;
	}
	if (httpc_url_parse(url, &hu, &e) != 0 || hu.tls) {
		client_msg("--http %s: %s", url, hu.tls ? "must be an http:// URL" : e.msg);
		goto out;
	}
	if (httpc_open(url, NULL, (int)(timeout < CLIENT_IO_TIMEOUT ? timeout : CLIENT_IO_TIMEOUT),
		       &c, &e) != 0 ||
	    httpc_request(c, "GET", hu.path, NULL, NULL, 0, &r, &e) != 0) {
		client_msg("fetching the root from %s: %s", url, e.msg);
		goto out;
	}
	if (r.status != 200 || r.body == NULL) {
		client_msg("fetching the root from %s: HTTP status %d", url, r.status);
		goto out;
	}
	d.data = r.body;
	d.size = (unsigned)r.body_len;
	if ((g = gnutls_x509_crt_init(&crt)) < 0 ||
	    ((g = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER)) < 0 &&
	     (g = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM)) < 0)) {
		client_msg("%s is not a certificate: %s", url, gnutls_strerror(g));
		goto out;
	}
	if (root_settle(crt, fingerprint, url, root_pem) != 0)
		goto out;
	rc = 0;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	httpc_response_free(&r);
	httpc_close(c);
	return rc;
}

/* Whether crt is self-signed: its own issuer, and its signature verifies
 * with its own key. */
static int
root_self_signed(gnutls_x509_crt_t crt)
{
	unsigned status = 1;

	return gnutls_x509_crt_check_issuer(crt, crt) == 1 &&
	       gnutls_x509_crt_verify(crt, &crt, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status) >= 0 &&
	       status == 0;
}

/*
 * See root.h. The candidates are the self-signed certificates of the set.
 * Without a fingerprint the one to offer is the root that signed a
 * certificate of the set that is not a root (the issuing CA): a backup
 * root beside it has signed nothing the gateway uses yet. A fingerprint
 * may name any candidate; a mismatch names the one offered, as root_fetch
 * does for the root it fetched.
 */
int
root_choose(const gnutls_x509_crt_t *crts, unsigned n, const char *fingerprint,
	    const char *where, gnutls_datum_t *root_pem)
{
	char fp[65], want[65];
	unsigned i, k, status, n_roots = 0;
	int offer = -1, only = -1;

	root_pem->data = NULL;
	for (i = 0; i < n; i++) {
		if (!root_self_signed(crts[i]))
			continue;
		n_roots++;
		only = (int)i;
		if (fingerprint != NULL && root_norm_fp(fingerprint, want) == 0 &&
		    root_fp(crts[i], fp) == 0 && strcmp(fp, want) == 0)
			return root_settle(crts[i], fingerprint, where, root_pem);
		for (k = 0; k < n && offer < 0; k++) {
			status = 1;
			if (k != i && !root_self_signed(crts[k]) &&
			    gnutls_x509_crt_verify(crts[k], &crts[i], 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS,
						   &status) >= 0 && status == 0)
				offer = (int)i;
		}
	}
	if (offer < 0 && n_roots == 1)
		offer = only;
	if (n_roots == 0) {
		client_msg("%s holds no root certificate", where);
		return -1;
	}
	if (offer < 0) {
		client_msg("%s holds %u roots and none of them signed its other certificates%s",
			   where, n_roots, fingerprint != NULL ? " or has the fingerprint given" :
			   "; give --fingerprint");
		return -1;
	}
	return root_settle(crts[offer], fingerprint, where, root_pem);
}
