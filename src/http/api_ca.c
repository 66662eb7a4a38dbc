/*
 * api_ca.c - first contact: the root certificate downloads and the
 * plain-HTTP page that shows the root's fingerprint (see api.h). The
 * router sends everything else on plain HTTP to HTTPS.
 *
 * Plain HTTP can be tampered with, so the page's whole point is the
 * fingerprint: a person compares it with what `lanca status` or the
 * gateway's display shows before trusting the root.
 */
#include "config.h"

#include <string.h>

#include "http/api.h"
#include "common/buf.h"
#include "common/log.h"

#define API_CA_PAGE_MAX	(16 * 1024)

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

/*
 * GET / on plain HTTP: a self-contained page (no scripts, no external
 * style) with the root's subject and SHA-256 fingerprint, the two
 * downloads and a link to the HTTPS onboarding page.
 */
enum MHD_Result
api_ca_page(struct http_req *r)
{
	const struct ca_set *ca = &r->app->ca;
	enum MHD_Result ret;
	struct buf b;
	char url[1400];
	int bad = 0;

	if (api_ca_missing(r))
		return http_reply_error(r, LERR_INTERNAL, "the root certificate is not loaded");
	if (http_https_url(r, "/", url, sizeof(url)) != 0)
		return http_reply_error(r, LERR_INTERNAL, "cannot build the HTTPS address");
	buf_init(&b, API_CA_PAGE_MAX);
	bad |= buf_puts(&b,
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<title>lanca: trust this network's certificate authority</title>\n"
		"</head>\n<body>\n<h1>This network's certificate authority</h1>\n"
		"<p>Devices on this network use certificates issued by the root below. "
		"Before you install it, check that its fingerprint matches the one shown "
		"by the gateway (<code>lanca status</code>).</p>\n<dl>\n<dt>Subject</dt>\n<dd>");
	bad |= api_ca_html_escape(&b, ca->root_subject);
	bad |= buf_puts(&b, "</dd>\n<dt>SHA-256 fingerprint</dt>\n<dd><code>");
	bad |= api_ca_html_escape(&b, ca->root_fp_colon);
	bad |= buf_puts(&b, "</code></dd>\n</dl>\n<ul>\n"
		"<li><a href=\"/ca.crt\">Download the root (DER, lanca-root.crt)</a></li>\n"
		"<li><a href=\"/ca.pem\">Download the root (PEM, lanca-root.pem)</a></li>\n"
		"</ul>\n<p>Once the root is installed, continue on the secure "
		"<a href=\"");
	bad |= api_ca_html_escape(&b, url);
	bad |= buf_puts(&b, "\">onboarding page</a>.</p>\n</body>\n</html>\n");
	if (bad) {
		buf_free(&b);
		return http_reply_error(r, LERR_INTERNAL, "out of memory");
	}
	ret = http_reply(r, MHD_HTTP_OK, "text/html; charset=utf-8", b.data, b.len);
	buf_free(&b);
	return ret;
}
