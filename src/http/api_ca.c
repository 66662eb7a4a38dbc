/*
 * api_ca.c - first contact: the root certificate downloads and the
 * plain-HTTP page that shows the root's fingerprint (see api.h). The
 * router sends everything else on plain HTTP to HTTPS.
 *
 * Plain HTTP can be tampered with, so the page's whole point is the
 * fingerprint: a person compares it with what `lanca status` or the
 * gateway's display shows before trusting the root. The same page,
 * web_dir/index.html with the root's identity filled in here, is GET / on
 * HTTPS too.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "daemon/enroll.h"
#include "daemon/trustbundle.h"
#include "http/api.h"
#include "common/buf.h"
#include "common/log.h"

#define API_CA_PAGE_MAX	(16 * 1024)
/* RFC 8555 §9.1: PEM certificates one after the other. */
#define API_TRUST_BUNDLE_TYPE	"application/pem-certificate-chain"

/* 1 if the root was not loaded (a start-up bug: answer 500), else 0. */
static int
api_ca_missing(const struct http_req *r)
{
	return r->app->ca.root_der.data == NULL || r->app->ca.root_pem.data == NULL;
}

enum MHD_Result
api_ca_der(struct http_req *r)
{
	if (api_ca_missing(r))
		return http_reply_error(r, LERR_INTERNAL, "the root certificate is not loaded");
	return http_reply_download(r, "application/x-x509-ca-cert", r->app->ca.root_der.data,
				   r->app->ca.root_der.size, "lanca-root.crt");
}

enum MHD_Result
api_ca_pem(struct http_req *r)
{
	if (api_ca_missing(r))
		return http_reply_error(r, LERR_INTERNAL, "the root certificate is not loaded");
	return http_reply_download(r, "application/x-pem-file", r->app->ca.root_pem.data,
				   r->app->ca.root_pem.size, "lanca-root.pem");
}

/* GET /trust-bundle.pem: every root a device should trust now, and the
 * certificates by which the primary root vouches for the others
 * (daemon/trustbundle.h), PEM, read from the store at each request so
 * that a backup root made while the daemon runs is served at once. Its
 * SHA-256 is its ETag; caches may keep it an hour (a device that refreshes
 * daily sees a new root within a day). */
enum MHD_Result
api_trust_bundle(struct http_req *r)
{
	gnutls_x509_crt_t peer[ENROLL_PEER_MAX];
	struct trust_bundle b;
	enum MHD_Result ret;
	const char *inm;
	unsigned npeer = 0;
	struct lerr e;

	lerr_clear(&e);
	if (trustbundle_load(r->app->store, &b, &e) != 0) {
		trustbundle_free(&b);
		return http_reply_lerr(r, &e);
	}
	/* A device that shows its certificate is counted as refreshed (`lanca
	 * rollover status`); the bundle is everyone's, with or without one. */
	if (api_peer(r, peer, &npeer) == 0 && npeer > 0 &&
	    trustbundle_note_fetch(r->app->store, &b, peer[0], &e) != 0)
		log_info("trust bundle fetch not counted: %s", e.msg);
	api_peer_free(peer, npeer);
	lerr_clear(&e);
	if (http_req_add_header(r, "ETag", b.etag) != 0 ||
	    http_req_add_header(r, "Cache-Control", "public, max-age=3600") != 0 ||
	    http_req_add_header(r, "Content-Disposition",
				"attachment; filename=\"lanca-trust-bundle.pem\"") != 0) {
		trustbundle_free(&b);
		return http_reply_error(r, LERR_INTERNAL, "cannot add the bundle's headers");
	}
	inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (inm != NULL && strcmp(inm, b.etag) == 0)
		ret = http_reply(r, MHD_HTTP_NOT_MODIFIED, API_TRUST_BUNDLE_TYPE, "", 0);
	else
		ret = http_reply(r, MHD_HTTP_OK, API_TRUST_BUNDLE_TYPE, b.pem.data, b.pem.size);
	trustbundle_free(&b);
	return ret;
}

/* GET /backup-root.crt|pem and /next-root.crt|pem: the backup root, or
 * the new root of a rollover under way, alone, for stores that take one
 * certificate at a time (404 while there is none). */
static enum MHD_Result
api_other_root(struct http_req *r, enum trust_role role, int pem)
{
	const struct trust_entry *t;
	const char *what = role == TRUST_NEXT ? "next" : "backup";
	struct trust_bundle b;
	enum MHD_Result ret;
	char disp[96];
	struct lerr e;

	lerr_clear(&e);
	if (trustbundle_load(r->app->store, &b, &e) != 0) {
		trustbundle_free(&b);
		return http_reply_lerr(r, &e);
	}
	snprintf(disp, sizeof(disp), "attachment; filename=\"lanca-%s-root.%s\"", what,
		 pem ? "pem" : "crt");
	if ((t = trustbundle_find(&b, role)) == NULL) {
		ret = http_reply_error(r, LERR_NOT_FOUND, role == TRUST_NEXT ?
				       "no root rollover is under way" :
				       "this gateway has no backup root");
	} else if (http_req_add_header(r, "Content-Disposition", disp) != 0) {
		ret = http_reply_error(r, LERR_INTERNAL, "cannot add the download's headers");
	} else if (pem) {
		ret = http_reply(r, MHD_HTTP_OK, "application/x-pem-file", t->pem.data, t->pem.size);
	} else {
		ret = http_reply(r, MHD_HTTP_OK, "application/x-x509-ca-cert", t->der.data,
				 t->der.size);
	}
	trustbundle_free(&b);
	return ret;
}

enum MHD_Result
api_backup_root_der(struct http_req *r)
{
	return api_other_root(r, TRUST_BACKUP, 0);
}

enum MHD_Result
api_backup_root_pem(struct http_req *r)
{
	return api_other_root(r, TRUST_BACKUP, 1);
}

enum MHD_Result
api_next_root_der(struct http_req *r)
{
	return api_other_root(r, TRUST_NEXT, 0);
}

enum MHD_Result
api_next_root_pem(struct http_req *r)
{
	return api_other_root(r, TRUST_NEXT, 1);
}

/* Appends s to b with HTML's five special characters escaped. */
static int
api_ca_html_escape(struct buf *b, const char *s)
{
	int bad = 0;

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': bad |= buf_puts(b, "&lt;"); break;
		case '>': bad |= buf_puts(b, "&gt;"); break;
		case '&': bad |= buf_puts(b, "&amp;"); break;
		case '"': bad |= buf_puts(b, "&quot;"); break;
		case '\'': bad |= buf_puts(b, "&#39;"); break;
		default: bad |= buf_append(b, s, 1); break;
		}
	}
	return bad ? -1 : 0;
}

/* The CA's name, as `lanca init --name` gave it: the root's common name
 * without the " Root CA" that init appends. "" when it has none. */
void
api_ca_name(const struct ca_set *ca, char *out, size_t n)
{
	static const char suffix[] = " Root CA";
	size_t len = n;

	out[0] = '\0';
	if (ca->root == NULL || n == 0 ||
	    gnutls_x509_crt_get_dn_by_oid(ca->root, GNUTLS_OID_X520_COMMON_NAME, 0, 0, out,
					  &len) != 0) {
		if (n > 0)
			out[0] = '\0';
		return;
	}
	len = strlen(out);
	if (len > sizeof(suffix) - 1 && strcmp(out + len - (sizeof(suffix) - 1), suffix) == 0)
		out[len - (sizeof(suffix) - 1)] = '\0';
}

/* "ab12cd34..." as "AB12 CD34 ...": groups of four, as operating systems
 * show a fingerprint for people to compare. */
static void
api_ca_fp4(const char *hex, char *out, size_t n)
{
	size_t i, o = 0;

	for (i = 0; hex[i] != '\0' && o + 2 < n; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = ' ';
		out[o++] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 'a' + 'A' : hex[i]);
	}
	out[o] = '\0';
}

/* The page's fields: what {{key}} in index.html is replaced with. */
struct api_ca_field {
	const char *key;
	char value[HTTP_HOST_MAX + 64];
};

/* Copies tpl into b with each {{key}} of fields replaced by its value,
 * HTML-escaped; an unknown {{...}} is copied as it is. 0 or -1 (cap). */
static int
api_ca_fill(struct buf *b, const char *tpl, size_t len, const struct api_ca_field *f,
	    size_t nf)
{
	const char *p = tpl, *end = tpl + len, *open, *close;
	size_t i, kl;
	int bad = 0;

	while (p < end && !bad) {
		open = memmem(p, (size_t)(end - p), "{{", 2);
		if (open == NULL) {
			bad |= buf_append(b, p, (size_t)(end - p));
			break;
		}
		bad |= buf_append(b, p, (size_t)(open - p));
		close = memmem(open + 2, (size_t)(end - open - 2), "}}", 2);
		for (i = 0; close != NULL && i < nf; i++) {
			kl = strlen(f[i].key);
			if ((size_t)(close - open - 2) == kl && memcmp(open + 2, f[i].key, kl) == 0)
				break;
		}
		if (close == NULL || i == nf) {
			bad |= buf_append(b, open, 2);
			p = open + 2;
			continue;
		}
		bad |= api_ca_html_escape(b, f[i].value);
		p = close + 2;
	}
	return bad ? -1 : 0;
}

/*
 * The built-in first-contact page, for a daemon without its web files: no
 * scripts, no external style, the fingerprint and the downloads.
 */
static int
api_ca_builtin(const struct ca_set *ca, const struct trust_bundle *tb, const char *url,
	       struct buf *b)
{
	size_t i;
	int bad = 0;

	bad |= buf_puts(b,
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<title>lanca: trust this network's certificate authority</title>\n"
		"</head>\n<body>\n<h1>This network's certificate authority</h1>\n"
		"<p>Devices on this network use certificates issued by the root below. "
		"Before you install it, check that its fingerprint matches the one shown "
		"by the gateway (<code>lanca status</code>).</p>\n<dl>\n<dt>Subject</dt>\n<dd>");
	bad |= api_ca_html_escape(b, ca->root_subject);
	bad |= buf_puts(b, "</dd>\n<dt>SHA-256 fingerprint</dt>\n<dd><code>");
	bad |= api_ca_html_escape(b, ca->root_fp_colon);
	bad |= buf_puts(b, "</code></dd>\n</dl>\n");
	/* The other roots devices should trust now: the next root of a
	 * rollover, the backup root. */
	for (i = 0; tb != NULL && i < tb->n; i++) {
		if (tb->entry[i].role != TRUST_NEXT && tb->entry[i].role != TRUST_BACKUP)
			continue;
		bad |= buf_puts(b, tb->entry[i].role == TRUST_NEXT ?
				"<p>A new root is taking over (a root rollover is under way): "
				"install it too.</p>\n" :
				"<p>The backup root, kept offline in case the root above is lost: "
				"install it too.</p>\n");
		bad |= buf_puts(b, "<dl>\n<dt>Subject</dt>\n<dd>");
		bad |= api_ca_html_escape(b, tb->entry[i].subject);
		bad |= buf_puts(b, "</dd>\n<dt>SHA-256 fingerprint</dt>\n<dd><code>");
		bad |= api_ca_html_escape(b, tb->entry[i].fp_colon);
		bad |= buf_puts(b, "</code></dd>\n</dl>\n");
	}
	bad |= buf_puts(b, "<ul>\n"
		"<li><a href=\"/ca.crt\">Download the root (DER, lanca-root.crt)</a></li>\n"
		"<li><a href=\"/ca.pem\">Download the root (PEM, lanca-root.pem)</a></li>\n"
		"<li><a href=\"/trust-bundle.pem\">Download every root to trust (PEM, the trust "
		"bundle)</a></li>\n"
		"</ul>\n<p>Once the root is installed, continue on the secure "
		"<a href=\"");
	bad |= api_ca_html_escape(b, url);
	bad |= buf_puts(b, "\">onboarding page</a>.</p>\n</body>\n</html>\n");
	return bad ? -1 : 0;
}

/*
 * GET / on both servers: web_dir/index.html with the root's identity
 * filled in on the gateway, so that the fingerprint is on the page even
 * without scripts; the built-in page when there is no index.html. On
 * plain HTTP the page's policy also lets it load an image from the HTTPS
 * origin, and from nowhere else: that image loads only once this browser
 * trusts the root (the page's "is it installed yet?").
 */
enum MHD_Result
api_ca_page(struct http_req *r)
{
	const struct ca_set *ca = &r->app->ca;
	struct api_ca_field f[] = {
		{ "name", "" }, { "subject", "" }, { "fp", "" }, { "fp_colon", "" },
		{ "not_after", "" }, { "https", "" },
		{ "backup_hidden", "hidden" }, { "backup_fp", "" }, { "backup_fp_colon", "" },
		{ "backup_subject", "" },
		{ "next_hidden", "hidden" }, { "next_fp", "" }, { "next_fp_colon", "" },
		{ "next_subject", "" },
	};
	const struct trust_entry *backup, *next;
	struct trust_bundle tb;
	int have_tb;
	struct lerr e;
	enum MHD_Result ret;
	struct buf tpl, b;
	char url[1400], csp[512];
	struct tm tm;
	size_t ul;
	int rc, w;

	if (api_ca_missing(r))
		return http_reply_error(r, LERR_INTERNAL, "the root certificate is not loaded");
	if (http_https_url(r, "/", url, sizeof(url)) != 0)
		return http_reply_error(r, LERR_INTERNAL, "cannot build the HTTPS address");
	buf_init(&tpl, WEB_FILE_MAX);
	buf_init(&b, WEB_FILE_MAX + API_CA_PAGE_MAX);
	/* The other roots, when there are: the page hides their parts
	 * otherwise (and shows the root alone should the store fail). */
	lerr_clear(&e);
	have_tb = trustbundle_load(r->app->store, &tb, &e) == 0;
	rc = web_load(r->app->web_dir, "index.html", &tpl);
	if (rc == 1) {
		rc = api_ca_builtin(ca, have_tb ? &tb : NULL, url, &b);
	} else if (rc == 0) {
		api_ca_name(ca, f[0].value, sizeof(f[0].value));
		snprintf(f[1].value, sizeof(f[1].value), "%s", ca->root_subject);
		api_ca_fp4(ca->root_fp, f[2].value, sizeof(f[2].value));
		snprintf(f[3].value, sizeof(f[3].value), "%s", ca->root_fp_colon);
		if (gmtime_r(&ca->root_not_after, &tm) == NULL ||
		    strftime(f[4].value, sizeof(f[4].value), "%Y-%m-%d", &tm) == 0)
			f[4].value[0] = '\0';
		if (have_tb && (backup = trustbundle_find(&tb, TRUST_BACKUP)) != NULL) {
			f[6].value[0] = '\0';
			api_ca_fp4(backup->fp, f[7].value, sizeof(f[7].value));
			snprintf(f[8].value, sizeof(f[8].value), "%s", backup->fp_colon);
			snprintf(f[9].value, sizeof(f[9].value), "%s", backup->subject);
		}
		if (have_tb && (next = trustbundle_find(&tb, TRUST_NEXT)) != NULL) {
			f[10].value[0] = '\0';
			api_ca_fp4(next->fp, f[11].value, sizeof(f[11].value));
			snprintf(f[12].value, sizeof(f[12].value), "%s", next->fp_colon);
			snprintf(f[13].value, sizeof(f[13].value), "%s", next->subject);
		}
		/* The origin: the URL without its final "/". */
		ul = strlen(url);
		snprintf(f[5].value, sizeof(f[5].value), "%.*s", (int)(ul - 1), url);
		rc = api_ca_fill(&b, tpl.data != NULL ? (const char *)tpl.data : "", tpl.len, f,
				 sizeof(f) / sizeof(f[0]));
	}
	if (rc == 0 && !r->tls) {
		w = snprintf(csp, sizeof(csp), "%s; img-src 'self' %s", HTTP_CSP, f[5].value);
		if (w < 0 || (size_t)w >= sizeof(csp) ||
		    http_req_add_header(r, "Content-Security-Policy", csp) != 0)
			rc = -1;
	}
	if (rc != 0)
		ret = http_reply_error(r, LERR_INTERNAL, "cannot build the page");
	else
		ret = http_reply(r, MHD_HTTP_OK, "text/html; charset=utf-8", b.data, b.len);
	trustbundle_free(&tb);
	buf_free(&tpl);
	buf_free(&b);
	return ret;
}
