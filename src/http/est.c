/*
 * est.c - EST (RFC 7030 with RFC 8951): another door onto the onboarding
 * core (daemon/enroll.h), with the same press, pending, pre-authorisation
 * and vendor rules as lanca's own API; not a second CA.
 *
 * What is EST's own here: the base64 bodies and certs-only PKCS#7
 * (common/estwire.h), the ways a device proves who it is (HTTP Basic with
 * its pre-authorisation secret, a TLS client certificate: a factory
 * certificate or, for re-enrollment, its lanca certificate), the channel
 * binding a request may carry in its challengePassword (§3.5), and the
 * status codes: 200 with the certificate, 202 with Retry-After while a
 * request waits, 401 with a Basic challenge, 4xx with a text reason.
 * reply.c gives every answer under HTTP_EST_PREFIX the short header set
 * and closed connection EST clients need.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "daemon/trustbundle.h"
#include "http/api.h"
#include "ca/csr.h"
#include "ca/csrattrs.h"
#include "ca/keystore.h"
#include "common/estwire.h"
#include "daemon/enroll.h"
#include "daemon/state.h"
#include "http/httpd.h"

#define EST_CERTS_TYPE		"application/pkcs7-mime; smime-type=certs-only"
#define EST_CACERTS_TYPE	"application/pkcs7-mime"
#define EST_TEXT_TYPE		"text/plain; charset=us-ascii"
#define EST_ATTRS_TYPE		"application/csrattrs"
#define EST_CHALLENGE		"Basic realm=\"lanca\""
#define EST_PASSWORD_MAX	255	/* bytes of a challengePassword we read */
#define EST_BOUNDARY		"lanca-est-part"

/* Under /.well-known/est/{label}/ only the configured label names this
 * CA. 1 to go on; 0 when it replied (404). */
static int
est_label_ok(struct http_req *r, enum MHD_Result *ret)
{
	const char *label = http_param(r, "label");

	if (label == NULL ||
	    (r->app->est_label != NULL && strcmp(label, r->app->est_label) == 0))
		return 1;
	*ret = http_reply_error(r, LERR_NOT_FOUND, "no CA is labelled \"%s\" here", label);
	return 0;
}

/* 200 with der in base64 (RFC 8951: lines of 64 characters). */
static enum MHD_Result
est_reply_b64(struct http_req *r, const char *ctype, const gnutls_datum_t *der)
{
	enum MHD_Result ret;
	struct buf b;

	buf_init(&b, 2 * (size_t)der->size + 64);
	if (estwire_b64_encode(der->data, der->size, &b) != 0)
		ret = http_reply_error(r, LERR_INTERNAL, "cannot encode the answer");
	else
		ret = http_reply(r, MHD_HTTP_OK, ctype, b.data, b.len);
	buf_free(&b);
	return ret;
}

/* 200 with the base64 of a certs-only PKCS#7 holding certs. */
static enum MHD_Result
est_reply_certs(struct http_req *r, const char *ctype, const gnutls_datum_t *certs, size_t n)
{
	gnutls_datum_t p7;
	enum MHD_Result ret;
	struct lerr e;

	if (estwire_pkcs7_build(certs, n, &p7, &e) != 0)
		return http_reply_lerr(r, &e);
	ret = est_reply_b64(r, ctype, &p7);
	gnutls_free(p7.data);
	return ret;
}

/* Other gateways' issuing CAs /cacerts lists: what fits beside this
 * gateway's and a whole trust bundle in what an EST client of ours reads. */
#define EST_OTHER_CAS_MAX	(ESTWIRE_CERTS_MAX - 1 - TRUSTBUNDLE_MAX)

/* RFC 7030 §4.1.3: the CA certificates a client should trust and the
 * chain it needs: this gateway's issuing CA, the site's other gateways'
 * (a certificate approved through another gateway is signed by its CA,
 * and EST's answers carry the leaf alone), then the trust bundle (the
 * primary root, the backup root and the primary's certificate of the
 * backup's key, as §4.1.3's NewWithOld carries a new root's key under the
 * old one). */
enum MHD_Result
est_cacerts(struct http_req *r)
{
	gnutls_datum_t certs[1 + EST_OTHER_CAS_MAX + TRUSTBUNDLE_MAX], others[EST_OTHER_CAS_MAX];
	struct trust_bundle b;
	enum MHD_Result ret;
	struct lerr e;
	size_t i, n = 0, nothers = 0;

	if (!est_label_ok(r, &ret))
		return ret;
	lerr_clear(&e);
	if (ca_set_others(r->app->store, &r->app->ca, others, EST_OTHER_CAS_MAX, &nothers, &e) != 0)
		return http_reply_lerr(r, &e);
	if (trustbundle_load(r->app->store, &b, &e) != 0) {
		trustbundle_free(&b);
		ca_set_others_free(others, nothers);
		return http_reply_lerr(r, &e);
	}
	certs[n++] = r->app->ca.issuing_der;
	for (i = 0; i < nothers; i++)
		certs[n++] = others[i];
	for (i = 0; i < b.n; i++)
		certs[n++] = b.entry[i].der;
	ret = est_reply_certs(r, EST_CACERTS_TYPE, certs, n);
	trustbundle_free(&b);
	ca_set_others_free(others, nothers);
	return ret;
}

/* RFC 7030 §4.5: what lanca would like in a request, base64 DER; the
 * challengePassword only when the binding is required. */
enum MHD_Result
est_csrattrs(struct http_req *r)
{
	struct csrattrs_want w = { r->app->est_require_binding };
	gnutls_datum_t der;
	enum MHD_Result ret;
	struct lerr e;

	if (!est_label_ok(r, &ret))
		return ret;
	if (csrattrs_build(&w, &der, &e) != 0)
		return http_reply_lerr(r, &e);
	ret = est_reply_b64(r, EST_ATTRS_TYPE, &der);
	gnutls_free(der.data);
	return ret;
}


/*
 * RFC 7030 §3.5: a challengePassword in the request must be this
 * connection's channel binding, base64-encoded (tls-unique on TLS 1.2,
 * tls-exporter on TLS 1.3); without one the request goes on unless the
 * server asks for binding. 0 to go on; -1 when it replied (400).
 */
static int
est_binding_ok(struct http_req *r, const gnutls_datum_t *csr, enum MHD_Result *ret)
{
	char pw[EST_PASSWORD_MAX + 1];
	gnutls_datum_t cb, got = { NULL, 0 };
	const char *kind = "channel binding";
	struct lerr e;
	int has, same;

	lerr_clear(&e);
	has = csr_challenge_password(csr->data, csr->size, pw, sizeof(pw), &e);
	if (has < 0) {
		*ret = http_reply_lerr(r, &e);
		return -1;
	}
	if (has == 0) {
		if (!r->app->est_require_binding)
			return 0;
		*ret = http_reply_error(r, LERR_BAD_REQUEST,
					"this server requires the request to carry the TLS "
					"channel binding as its challengePassword (RFC 7030 3.5)");
		return -1;
	}
	switch (httpd_channel_binding(r->conn, &cb, &kind)) {
	case 0:
		break;
	case -2:
		*ret = http_reply_error(r, LERR_BAD_REQUEST,
					"tls-unique is not safe on this TLS 1.2 connection: it has "
					"no extended master secret (RFC 7627); use TLS 1.3 or a "
					"client that negotiates it");
		return -1;
	default:
		*ret = http_reply_error(r, LERR_BAD_REQUEST,
					"the request carries a challengePassword, but this "
					"connection has no channel binding to check it against");
		return -1;
	}
	same = estwire_b64_decode((const unsigned char *)pw, strlen(pw), &got, &e) == 0 &&
	       got.size == cb.size && sodium_memcmp(got.data, cb.data, cb.size) == 0;
	gnutls_free(got.data);
	gnutls_free(cb.data);
	if (same)
		return 0;
	*ret = http_reply_error(r, LERR_BAD_REQUEST,
				"the request's challengePassword is not this connection's "
				"%s channel binding (RFC 7030 3.5)", kind);
	return -1;
}

/* The leaf of a PEM chain (leaf first) as DER into der (gnutls_free it). */
static int
est_leaf_der(const struct buf *chain, gnutls_datum_t *der)
{
	gnutls_datum_t pem = { chain->data, (unsigned)chain->len };
	gnutls_x509_crt_t c = NULL;
	int rc = -1;

	der->data = NULL;
	if (chain->len == 0 || gnutls_x509_crt_init(&c) < 0)
		return -1;
	if (gnutls_x509_crt_import(c, &pem, GNUTLS_X509_FMT_PEM) >= 0 &&
	    gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_DER, der) >= 0)
		rc = 0;
	gnutls_x509_crt_deinit(c);
	return rc;
}

/* What the onboarding core decided, as EST says it. */
static enum MHD_Result
est_reply_result(struct http_req *r, const struct enroll_result *res)
{
	gnutls_datum_t leaf;
	enum MHD_Result ret;
	char text[sizeof(res->reason) + 96], ra[16];
	int n;

	switch (res->outcome) {
	case ENROLL_ISSUED:
		if (est_leaf_der(&res->chain, &leaf) != 0)
			return http_reply_error(r, LERR_INTERNAL, "cannot read the certificate");
		ret = est_reply_certs(r, EST_CERTS_TYPE, &leaf, 1);
		gnutls_free(leaf.data);
		return ret;
	case ENROLL_DENIED:
	case ENROLL_EXPIRED:
		return api_reply_closed(r, res);
	case ENROLL_PENDING:
		break;
	}
	/* RFC 7030 §4.2.3: 202 and Retry-After; the device sends the same
	 * request again, which finds the same record. */
	snprintf(ra, sizeof(ra), "%u", res->retry_after);
	(void)http_req_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	n = snprintf(text, sizeof(text), "pending: request %s%s%s\n", res->request_id,
		     res->reason[0] ? ": " : "", res->reason);
	if (n < 0 || (size_t)n >= sizeof(text))
		n = (int)strlen(text);
	return http_reply(r, MHD_HTTP_ACCEPTED, EST_TEXT_TYPE, text, (size_t)n);
}

/* The three POSTs share one path; what differs is what is signed and
 * what is answered. */
enum est_op {
	EST_ENROLL,		/* simpleenroll */
	EST_REENROLL,		/* simplereenroll: the device's current certificate */
	EST_KEYGEN,		/* serverkeygen: lanca makes the key */
};

/* serverkeygen: a new P-256 key, exported at once as PKCS#8 into p8 (a
 * secret buffer), and the device's request made again for it (*csr
 * replaced). The key is exported before anything is issued, so a
 * certificate never goes out without it. 0 to go on; -1 when it replied. */
static int
est_keygen_csr(struct http_req *r, gnutls_datum_t *csr, struct buf *p8, enum MHD_Result *ret)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_privkey_t signing = NULL;
	gnutls_datum_t der = { NULL, 0 }, again;
	struct lerr e;
	int rc = -1;

	lerr_clear(&e);
	if (keystore_generate(KEYSTORE_ECDSA_P256, &key, &e) != 0) {
		*ret = http_reply_lerr(r, &e);
		return -1;
	}
	if (gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN,
					      &der) < 0 ||
	    buf_append(p8, der.data, der.size) != 0 ||
	    gnutls_privkey_init(&signing) < 0 ||
	    gnutls_privkey_import_x509(signing, key, 0) < 0) {
		*ret = http_reply_error(r, LERR_INTERNAL, "cannot use the new key");
		goto out;
	}
	if (csr_rekey(csr->data, csr->size, signing, &again, &e) != 0) {
		*ret = http_reply_lerr(r, &e);
		goto out;
	}
	gnutls_free(csr->data);
	*csr = again;
	rc = 0;
out:
	if (der.data != NULL) {
		gnutls_memset(der.data, 0, der.size);
		gnutls_free(der.data);
	}
	if (signing != NULL)
		gnutls_privkey_deinit(signing);
	gnutls_x509_privkey_deinit(key);
	return rc;
}

/* The part of a multipart answer holding base64 of der. */
static int
est_part(struct buf *b, const char *ctype, const unsigned char *der, size_t len)
{
	if (buf_printf(b, "--" EST_BOUNDARY "\r\nContent-Type: %s\r\n"
		       "Content-Transfer-Encoding: base64\r\n\r\n", ctype) != 0)
		return -1;
	return estwire_b64_encode(der, len, b);
}

/*
 * RFC 7030 §4.4.2: multipart/mixed with the key (PKCS#8 from p8, not
 * encrypted: TLS protects it, and the device has no key to decrypt with)
 * and the certificate. The answer is a secret buffer, wiped once sent.
 */
static enum MHD_Result
est_reply_keygen(struct http_req *r, const struct enroll_result *res, const struct buf *p8)
{
	gnutls_datum_t leaf = { NULL, 0 }, p7 = { NULL, 0 };
	struct lerr e;
	struct buf b;
	int bad;

	buf_init_secret(&b, 64 * 1024);
	bad = est_leaf_der(&res->chain, &leaf) != 0 ||
	      estwire_pkcs7_build(&leaf, 1, &p7, &e) != 0 ||
	      est_part(&b, "application/pkcs8", p8->data, p8->len) != 0 ||
	      est_part(&b, EST_CERTS_TYPE, p7.data, p7.size) != 0 ||
	      buf_puts(&b, "--" EST_BOUNDARY "--\r\n") != 0;
	gnutls_free(leaf.data);
	gnutls_free(p7.data);
	if (bad) {
		buf_free_secret(&b);
		return http_reply_error(r, LERR_INTERNAL, "cannot encode the key and certificate");
	}
	return http_reply_secret(r, MHD_HTTP_OK, "multipart/mixed; boundary=" EST_BOUNDARY, &b);
}

/*
 * HTTP Basic credentials (RFC 7617), decoded here rather than by
 * libmicrohttpd so that no copy of the password outlives the request:
 * the password goes to secret (a secret buffer), the user name is not
 * used (the device id is the request's CN). 1 when there were
 * credentials, 0 when none, -1 when the header is malformed.
 */
static int
est_basic_secret(struct http_req *r, struct buf *secret)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	gnutls_datum_t raw = { NULL, 0 };
	const unsigned char *colon;
	struct lerr e;
	int rc = -1;

	if (h == NULL)
		return 0;
	if (strncasecmp(h, "Basic ", 6) != 0)
		return 0;	/* another scheme: not credentials we take */
	h += 6;
	if (estwire_b64_decode((const unsigned char *)h, strlen(h), &raw, &e) != 0)
		return -1;
	colon = memchr(raw.data, ':', raw.size);
	if (colon != NULL && memchr(raw.data, '\0', raw.size) == NULL &&
	    buf_append(secret, colon + 1, raw.size - (size_t)(colon + 1 - raw.data)) == 0)
		rc = 1;
	gnutls_memset(raw.data, 0, raw.size);
	gnutls_free(raw.data);
	return rc;
}

/* simpleenroll, simplereenroll and serverkeygen. */
static enum MHD_Result
est_enroll(struct http_req *r, enum est_op op)
{
	gnutls_x509_crt_t peer[ENROLL_PEER_MAX];
	gnutls_datum_t csr = { NULL, 0 };
	struct enroll_result res;
	struct enroll_ask a;
	struct buf secret, p8;
	char addr[64];
	unsigned npeer = 0;
	enum MHD_Result ret;
	struct lerr e;
	int rc, creds, guessing = 0;

	enroll_result_init(&res);
	buf_init_secret(&secret, 1024);
	buf_init_secret(&p8, 16 * 1024);
	if (!est_label_ok(r, &ret) || api_rate_limited(r, &ret))
		goto out;
	if (!http_media_type_is(r, "application/pkcs10")) {
		ret = http_reply_error(r, LERR_MEDIA_TYPE,
				       "send the PKCS#10 request as application/pkcs10, base64");
		goto out;
	}
	/* RFC 8951: the body is base64 whatever Content-Transfer-Encoding says. */
	lerr_clear(&e);
	if (estwire_b64_decode(r->body.data, r->body.len, &csr, &e) != 0) {
		ret = http_reply_lerr(r, &e);
		goto out;
	}
	if (est_binding_ok(r, &csr, &ret) != 0)
		goto out;
	creds = est_basic_secret(r, &secret);
	if (creds < 0) {
		ret = http_reply_error(r, LERR_BAD_REQUEST, "malformed HTTP Basic credentials");
		goto out;
	}
	/* Before any key is made: a guesser is turned away cheaply. */
	if (creds > 0) {
		if (api_secret_begin(r, &ret))
			goto out;
		guessing = 1;
	}
	if (op == EST_KEYGEN && est_keygen_csr(r, &csr, &p8, &ret) != 0)
		goto out;
	if (api_peer(r, peer, &npeer) != 0) {
		ret = http_reply_error(r, LERR_BAD_REQUEST,
				       "the TLS client certificate chain is unusable or too long");
		goto out;
	}
	if (httpd_client_addr(r->conn, addr, sizeof(addr)) != 0)
		snprintf(addr, sizeof(addr), "?");
	memset(&a, 0, sizeof(a));
	a.csr = csr.data;
	a.csr_len = csr.size;
	a.source = addr;
	a.door = STORE_DOOR_EST;
	a.secret = creds > 0 ? (const char *)secret.data : NULL;
	a.peer = peer;
	a.npeer = npeer;
	a.no_wait = op == EST_KEYGEN;
	a.audit_event = op == EST_KEYGEN ? "est_serverkeygen" : NULL;
	lerr_clear(&e);
	rc = op == EST_REENROLL ? enroll_renew(r->app->enroll, &a, &res, &e) :
				  enroll_submit(r->app->enroll, &a, &res, &e);
	if (guessing) {
		api_secret_end(r, rc, &res);
		guessing = 0;
	}
	if (rc == 0 && op == EST_KEYGEN && res.outcome == ENROLL_ISSUED) {
		ret = est_reply_keygen(r, &res, &p8);
	} else if (rc == 0) {
		ret = est_reply_result(r, &res);
	} else if (e.code == LERR_BAD_SECRET) {
		/* RFC 7030 §3.2.3: the challenge that makes a client send its
		 * credentials (the reference client sends them only then). */
		(void)http_req_add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, EST_CHALLENGE);
		ret = http_reply_error_status(r, MHD_HTTP_UNAUTHORIZED, LERR_BAD_SECRET, "%s",
					      e.msg);
	} else {
		ret = http_reply_lerr(r, &e);
	}
out:
	if (guessing)
		api_secret_end(r, -1, NULL);
	api_peer_free(peer, npeer);
	buf_free_secret(&secret);
	buf_free_secret(&p8);
	enroll_result_free(&res);
	gnutls_free(csr.data);
	return ret;
}

enum MHD_Result
est_simpleenroll(struct http_req *r)
{
	return est_enroll(r, EST_ENROLL);
}

enum MHD_Result
est_simplereenroll(struct http_req *r)
{
	return est_enroll(r, EST_REENROLL);
}

/* Off unless `lanca serve --est-serverkeygen`: a key made here is weaker
 * than one that never left the device (see docs/est.md). */
enum MHD_Result
est_serverkeygen(struct http_req *r)
{
	if (!r->app->est_serverkeygen)
		return http_reply_error(r, LERR_NOT_FOUND, "server-side key generation is off on "
					"this gateway (lanca serve --est-serverkeygen)");
	return est_enroll(r, EST_KEYGEN);
}
