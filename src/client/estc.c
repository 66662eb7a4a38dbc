/*
 * estc.c - lanca-enroll's EST conversation (see estc.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client.h"
#include "client/device.h"
#include "client/devkey.h"
#include "client/estc.h"
#include "client/exchange.h"
#include "client/root.h"
#include "common/buf.h"
#include "common/lerr.h"

#define ESTC_PREFIX	"/.well-known/est/"
#define ESTC_P7_TYPE	"application/pkcs7-mime"
#define ESTC_CT_PKCS10	"Content-Type: application/pkcs10"
#define ESTC_BODY_MAX	(64 * 1024)	/* a base64 request: the CSR is at most 16 KiB */
#define ESTC_REASON_MAX	400		/* characters of a refusal's text shown */

void
estc_certs_free(struct estc_certs *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		gnutls_x509_crt_deinit(c->crts[i]);
	c->n = 0;
}

int
estc_label_ok(const char *label)
{
	size_t i, n = strlen(label);

	if (n == 0 || n > ESTC_LABEL_MAX || strcmp(label, ".") == 0 || strcmp(label, "..") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = label[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '~' || c == '-'))
			return 0;
	}
	return 1;
}

/* /.well-known/est/[LABEL/]OP into path (size n). 0, or -1 printed. */
static int
estc_path(const char *label, const char *op, char *path, size_t n)
{
	int w;

	w = snprintf(path, n, ESTC_PREFIX "%s%s%s", label != NULL ? label : "",
		     label != NULL ? "/" : "", op);
	if (w < 0 || (size_t)w >= n) {
		client_msg("EST path too long");
		return -1;
	}
	return 0;
}

/*
 * A refusal's reason for a terminal: the text/plain body (RFC 7030 answers
 * errors in text) with line breaks as spaces, runs of blanks as one, bytes
 * that are not printable ASCII as '?', cut at ESTC_REASON_MAX; the HTTP
 * status when the body says nothing.
 */
static void
estc_reason(const struct httpc_response *r, char *out, size_t n)
{
	size_t i, o = 0;
	int blank = 1;

	for (i = 0; r->body != NULL && i < r->body_len && o + 1 < n && o < ESTC_REASON_MAX; i++) {
		unsigned char c = r->body[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (!blank)
				out[o++] = ' ';
			blank = 1;
			continue;
		}
		out[o++] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
		blank = 0;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	if (o == 0)
		snprintf(out, n, "HTTP status %d", r->status);
}

/*
 * Reads the certificates of a 200 answer to what (a path, for messages):
 * application/pkcs7-mime, base64 of a certs-only PKCS#7. Returns 0 with
 * *out filled, or -1 printed.
 */
static int
estc_read_certs(const struct httpc_response *r, const char *what, struct estc_certs *out)
{
	gnutls_datum_t der = { NULL, 0 };
	struct lerr e;
	size_t tl = sizeof(ESTC_P7_TYPE) - 1;
	int rc = -1;

	out->n = 0;
	lerr_clear(&e);
	if (r->content_type == NULL || strncasecmp(r->content_type, ESTC_P7_TYPE, tl) != 0 ||
	    (r->content_type[tl] != '\0' && r->content_type[tl] != ';' && r->content_type[tl] != ' ')) {
		client_msg("%s: the server answered with %.100s, not " ESTC_P7_TYPE, what,
			   r->content_type != NULL ? r->content_type : "no Content-Type");
		goto out;
	}
	if (r->body == NULL) {
		client_msg("%s: the server answered %d with an empty body", what, r->status);
		goto out;
	}
	if (estwire_b64_decode(r->body, r->body_len, &der, &e) != 0 ||
	    estwire_pkcs7_read(der.data, der.size, out->crts, ESTWIRE_CERTS_MAX, &out->n, &e) != 0) {
		client_msg("%s: %s", what, e.msg);
		goto out;
	}
	rc = 0;
out:
	gnutls_free(der.data);
	return rc;
}

int
estc_cacerts(struct httpc_conn *c, const char *label, struct estc_certs *out)
{
	struct httpc_response r;
	struct lerr e;
	char path[256], why[ESTC_REASON_MAX + 1];
	int rc = -1;

	memset(&r, 0, sizeof(r));
	out->n = 0;
	lerr_clear(&e);
	if (estc_path(label, "cacerts", path, sizeof(path)) != 0)
		goto out;
	if (httpc_request(c, "GET", path, NULL, NULL, 0, &r, &e) != 0) {
		client_msg("GET %s: %s", path, e.msg);
		goto out;
	}
	if (r.status != 200) {
		estc_reason(&r, why, sizeof(why));
		client_msg("GET %s: %s (HTTP %d)", path, why, r.status);
		goto out;
	}
	if (estc_read_certs(&r, path, out) != 0)
		goto out;
	rc = 0;
out:
	httpc_response_free(&r);
	return rc;
}

int
estc_bootstrap_root(const char *gateway, const char *label, const char *fingerprint,
		    long timeout, gnutls_datum_t *root_pem)
{
	struct estc_certs ca = { { NULL }, 0 };
	struct httpc_conn *c = NULL;
	struct httpc_tls tls;
	struct lerr e;
	char where[1400];
	int rc = -1, w;

	root_pem->data = NULL;
	memset(&tls, 0, sizeof(tls));
	tls.bootstrap = 1;
	lerr_clear(&e);
	w = snprintf(where, sizeof(where), "%s" ESTC_PREFIX "%s%scacerts", gateway,
		     label != NULL ? label : "", label != NULL ? "/" : "");
	if (w < 0 || (size_t)w >= sizeof(where)) {
		client_msg("--gateway: too long");
		goto out;
	}
	if (httpc_open(gateway, &tls, (int)(timeout < CLIENT_IO_TIMEOUT ? timeout : CLIENT_IO_TIMEOUT),
		       &c, &e) != 0) {
		client_msg("fetching the root from %s: %s", where, e.msg);
		goto out;
	}
	if (estc_cacerts(c, label, &ca) != 0 ||
	    root_choose(ca.crts, ca.n, fingerprint, where, root_pem) != 0)
		goto out;
	rc = 0;
out:
	estc_certs_free(&ca);
	httpc_close(c);
	return rc;
}

/*
 * "Authorization: Basic ..." for basic into hdr (size n): RFC 7617, the
 * user id and the secret joined by ':'. The caller wipes hdr. Returns 0,
 * or -1 printed.
 */
static int
estc_basic_header(const struct estc_basic *basic, char *hdr, size_t n)
{
	unsigned char plain[512];	/* a 64-byte id, ":", a 256-byte secret */
	gnutls_datum_t d, b64 = { NULL, 0 };
	size_t ul = strlen(basic->user);
	int rc = -1, w, g;

	if (ul + 1 + basic->secret_len > sizeof(plain)) {
		client_msg("the device id and secret are too long for HTTP Basic");
		return -1;
	}
	memcpy(plain, basic->user, ul);
	plain[ul] = ':';
	memcpy(plain + ul + 1, basic->secret, basic->secret_len);
	d.data = plain;
	d.size = (unsigned)(ul + 1 + basic->secret_len);
	if ((g = gnutls_base64_encode2(&d, &b64)) < 0) {
		client_msg("HTTP Basic: %s", gnutls_strerror(g));
		goto out;
	}
	w = snprintf(hdr, n, "Authorization: Basic %.*s", (int)b64.size, (const char *)b64.data);
	if (w < 0 || (size_t)w >= n) {
		client_msg("the device id and secret are too long for HTTP Basic");
		goto out;
	}
	rc = 0;
out:
	gnutls_memset(plain, 0, sizeof(plain));
	if (b64.data != NULL) {
		gnutls_memset(b64.data, 0, b64.size);
		gnutls_free(b64.data);
	}
	return rc;
}

/* The certificate of set that issued crt, by name (the chain is verified
 * later, against the root), or NULL. */
static gnutls_x509_crt_t
estc_issuer(gnutls_x509_crt_t crt, const struct estc_certs *set)
{
	unsigned i;

	for (i = 0; i < set->n; i++)
		if (set->crts[i] != crt && gnutls_x509_crt_check_issuer(crt, set->crts[i]) == 1)
			return set->crts[i];
	return NULL;
}

/*
 * The PEM chain for key from the answer's certificates got: the one for
 * key first, then its issuers up to (not including) the root, as lanca's
 * API sends it. RFC 7030 answers may hold the leaf alone: the issuers then
 * come from /cacerts on c. Returns 0 with *pem (malloc'd), or -1 printed.
 */
static int
estc_chain(struct httpc_conn *c, const char *label, const struct estc_certs *got,
	   gnutls_privkey_t key, unsigned char **pem, size_t *pem_len)
{
	struct estc_certs ca = { { NULL }, 0 };
	gnutls_x509_crt_t chain[DEVICE_MAX_CHAIN], next;
	gnutls_datum_t d = { NULL, 0 };
	unsigned char a[64], b[64];
	size_t al, bl = sizeof(b);
	struct buf out;
	unsigned i, n = 0;
	int rc = -1, fetched = 0;

	buf_init(&out, CLIENT_MAX_FILE);
	if (devkey_key_id(key, b, &bl) < 0) {
		client_msg("cannot identify this device's key");
		goto out;
	}
	for (i = 0; i < got->n && n == 0; i++) {
		al = sizeof(a);
		if (gnutls_x509_crt_get_key_id(got->crts[i], GNUTLS_KEYID_USE_SHA256, a, &al) == 0 &&
		    al == bl && memcmp(a, b, al) == 0)
			chain[n++] = got->crts[i];
	}
	if (n == 0) {
		client_msg("the certificate the server sent is not for this device's key");
		goto out;
	}
	while (gnutls_x509_crt_check_issuer(chain[n - 1], chain[n - 1]) != 1) {
		next = estc_issuer(chain[n - 1], got);
		if (next == NULL && !fetched) {
			fetched = 1;
			if (estc_cacerts(c, label, &ca) != 0)
				goto out;
		}
		if (next == NULL)
			next = estc_issuer(chain[n - 1], &ca);
		/* What is missing shows when the chain is verified. */
		if (next == NULL || gnutls_x509_crt_check_issuer(next, next) == 1)
			break;
		if (n == DEVICE_MAX_CHAIN) {
			client_msg("the server's chain is longer than %d certificates", DEVICE_MAX_CHAIN);
			goto out;
		}
		chain[n++] = next;
	}
	for (i = 0; i < n; i++) {
		if (gnutls_x509_crt_export2(chain[i], GNUTLS_X509_FMT_PEM, &d) < 0 ||
		    buf_append(&out, d.data, d.size) != 0) {
			client_msg("certificate export failed");
			goto out;
		}
		gnutls_free(d.data);
		d.data = NULL;
	}
	*pem = buf_steal(&out, pem_len);
	rc = 0;
out:
	gnutls_free(d.data);
	buf_free(&out);
	estc_certs_free(&ca);
	return rc;
}

/* The body of a request bound to c's connection (struct estc_bind), in
 * place of what body held. 0 or -1, said. */
static int
estc_bound_body(struct httpc_conn *c, const struct estc_bind *bind, struct buf *body)
{
	gnutls_datum_t cb = { NULL, 0 }, b64 = { NULL, 0 }, der = { NULL, 0 };
	char challenge[128];
	struct lerr e;
	int rc = -1;

	lerr_clear(&e);
	if (httpc_channel_binding(c, &cb, &e) != 0) {
		client_msg("channel binding: %s", e.msg);
		return -1;
	}
	if (gnutls_base64_encode2(&cb, &b64) < 0 || b64.size >= sizeof(challenge)) {
		client_msg("channel binding: cannot encode it");
		goto out;
	}
	memcpy(challenge, b64.data, b64.size);
	challenge[b64.size] = '\0';
	if (device_csr(bind->key, bind->cn, bind->sans, challenge, &der) != 0)
		goto out;
	buf_free(body);
	buf_init(body, ESTC_BODY_MAX);
	if (estwire_b64_encode(der.data, der.size, body) != 0) {
		client_msg("the certificate request is too large");
		goto out;
	}
	rc = 0;
out:
	gnutls_free(cb.data);
	gnutls_free(b64.data);
	gnutls_free(der.data);
	return rc;
}

/* See estc.h. */
int
estc_run(struct httpc_conn *c, const char *label, const char *op,
	 const gnutls_datum_t *csr, const struct estc_bind *bind,
	 gnutls_privkey_t key, const struct estc_basic *basic,
	 long timeout, double start, unsigned char **chain, size_t *chain_len, int *held)
{
	struct estc_certs got = { { NULL }, 0 };
	struct httpc_response r;
	struct buf body;
	struct lerr e;
	const char *hdrs[3] = { ESTC_CT_PKCS10, NULL, NULL };
	char path[256], why[ESTC_REASON_MAX + 1], auth[1024];
	const char *shown;
	int rc = CLIENT_FAIL, accepted = 0, sent_basic = 0, dummy;
	long wait;

	memset(&r, 0, sizeof(r));
	auth[0] = '\0';
	*chain = NULL;
	if (held == NULL)
		held = &dummy;
	*held = 0;
	buf_init(&body, ESTC_BODY_MAX);
	if (estc_path(label, op, path, sizeof(path)) != 0)
		goto out;
	if (estwire_b64_encode(csr->data, csr->size, &body) != 0) {
		client_msg("the certificate request is too large");
		goto out;
	}
	for (;;) {
		httpc_response_free(&r);
		lerr_clear(&e);
		/* From here until a refusal says otherwise, the gateway may
		 * have recorded the request. */
		*held = 1;
		if (bind != NULL && estc_bound_body(c, bind, &body) != 0)
			goto out;
		if (httpc_request(c, "POST", path, hdrs, body.data, body.len, &r, &e) != 0) {
			client_msg("POST %s: %s", path, e.msg);
			goto out;
		}
		if (r.status == 200 || r.status == 202)
			accepted = 1;
		else if (!accepted && r.status >= 400 && r.status < 500)
			*held = 0;
		if (r.status == 200) {
			if (estc_read_certs(&r, path, &got) != 0 ||
			    estc_chain(c, label, &got, key, chain, chain_len) != 0)
				goto out;
			rc = CLIENT_OK;
			goto out;
		}
		if (r.status == 401 && r.auth_basic && basic != NULL && !sent_basic) {
			/* RFC 7030 3.2.3: credentials go only where asked for. */
			if (estc_basic_header(basic, auth, sizeof(auth)) != 0)
				goto out;
			hdrs[1] = auth;
			sent_basic = 1;
			continue;
		}
		estc_reason(&r, why, sizeof(why));
		if (r.status == 401 && sent_basic) {
			client_msg("the gateway refused the secret for %s: %s (HTTP 401)", basic->user, why);
			goto out;
		}
		if (r.status == 401 && r.auth_basic) {
			client_msg("the gateway asks for this device's pre-authorisation secret "
				   "(HTTP Basic): give --secret-file: %s (HTTP 401)", why);
			goto out;
		}
		if (r.status != 202 && r.status != 429) {
			client_msg("refused: %s (HTTP %d)", why, r.status);
			goto out;
		}
		/* Pending (or told to slow down): ask again as told, in bounds. */
		wait = exchange_wait(&r, timeout, start);
		/* lanca says "pending: request ID"; another server, anything. */
		shown = strncmp(why, "pending: ", 9) == 0 ? why + 9 : why;
		if (wait == 0) {
			client_msg("still pending after %ld s: %s", timeout, shown);
			client_msg("approve it on the gateway (lanca pending, lanca approve ID, or press "
				   "its button), then run this again: it asks with the same key");
			rc = CLIENT_PENDING;
			goto out;
		}
		if (r.status == 202)
			client_msg("pending: %s; asking again in %ld s", shown, wait);
		exchange_sleep(wait);
	}
out:
	gnutls_memset(auth, 0, sizeof(auth));
	estc_certs_free(&got);
	buf_free(&body);
	httpc_response_free(&r);
	return rc;
}
