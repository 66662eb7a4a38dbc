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
 * See root.h. The fingerprint is the SHA-256 of the certificate's DER,
 * whichever encoding the server sent, as `lanca status` prints it.
 */
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
	unsigned char fp[32];
	size_t fl = sizeof(fp), n;
	char url[1400], got[65], want[65];
	unsigned crit = 0;
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
	if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &fl) < 0 || fl != 32) {
		client_msg("cannot fingerprint the root");
		goto out;
	}
	hex_encode(fp, fl, got);
	if (fingerprint != NULL) {
		if (root_norm_fp(fingerprint, want) != 0 || strcmp(want, got) != 0) {
			client_msg("root fingerprint mismatch: expected %s, got %s", want, got);
			goto out;
		}
	} else {
		client_msg("trusting the root on first use: SHA-256 fingerprint %s", got);
		client_msg("compare it with the one the gateway shows; pass --fingerprint next time");
	}
	if (gnutls_x509_crt_get_basic_constraints(crt, &crit, NULL, NULL) <= 0) {
		client_msg("the certificate at %s is not a CA", url);
		goto out;
	}
	if ((g = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, root_pem)) < 0) {
		client_msg("root export: %s", gnutls_strerror(g));
		goto out;
	}
	rc = 0;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	httpc_response_free(&r);
	httpc_close(c);
	return rc;
}
