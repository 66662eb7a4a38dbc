/*
 * web_qr.c - GET /qr.svg: a QR code of the plain-HTTP onboarding page's
 * address with the root's fingerprint in it, drawn as SVG (see api.h).
 *
 * A phone pointed at the admin's screen opens the first-contact page at
 * once, and the page can compare the fingerprint it was given with the
 * root it downloads. libqrencode does the encoding; this file only draws
 * its modules, one SVG path of horizontal runs, with the four-module
 * quiet zone the standard asks for.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <qrencode.h>

#include "http/api.h"
#include "common/buf.h"

#define QR_QUIET	4		/* modules of white around the code */
#define QR_SVG_MAX	(256 * 1024)	/* a version-40 code's path fits well inside */
#define QR_URL_MAX	(HTTP_HOST_MAX + 128)

/*
 * The address the code holds: http://HOST[:PORT]/?sha256=HEX, HOST from
 * the request's Host header (the name the admin's browser used, so the
 * phone is sent where the admin is), the plain server's port. Without a
 * plain server, the HTTPS page's address. 0, or -1 if it does not fit.
 */
static int
qr_url(const struct http_req *r, char *out, size_t n)
{
	char host[HTTP_HOST_MAX + 1], port[8] = "";
	const char *scheme = "http";
	uint16_t p = r->app->http_port, dflt = 80;
	int w;

	if (http_host_parse(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_HOST),
			    host, sizeof(host)) != 0)
		memcpy(host, "localhost", sizeof("localhost"));
	if (p == 0) {
		scheme = "https";
		p = r->app->https_port;
		dflt = 443;
	}
	if (p != dflt) {
		w = snprintf(port, sizeof(port), ":%u", (unsigned)p);
		if (w < 0 || (size_t)w >= sizeof(port))
			return -1;
	}
	w = snprintf(out, n, "%s://%s%s/?sha256=%s", scheme, host, port, r->app->ca.root_fp);
	return w < 0 || (size_t)w >= n ? -1 : 0;
}

/* Draws qr into b as an SVG document. 0, or -1 when b's cap is reached. */
static int
qr_svg(const QRcode *qr, struct buf *b)
{
	int size = qr->width + 2 * QR_QUIET, x, y, run, bad = 0;
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "0 0 %d %d", size, size);
	bad |= buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"");
	bad |= buf_puts(b, tmp);
	bad |= buf_puts(b, "\" shape-rendering=\"crispEdges\" role=\"img\">\n"
			"<title>QR code of this gateway's onboarding page</title>\n"
			"<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
			"<path fill=\"#000\" d=\"");
	for (y = 0; y < qr->width; y++) {
		for (x = 0; x < qr->width; x += run > 0 ? run : 1) {
			/* Bit 0 of each module is its colour: 1 is dark. */
			for (run = 0; x + run < qr->width &&
			     (qr->data[y * qr->width + x + run] & 1); run++)
				;
			if (run == 0)
				continue;
			snprintf(tmp, sizeof(tmp), "M%d %dh%dv1h-%dz", x + QR_QUIET, y + QR_QUIET,
				 run, run);
			bad |= buf_puts(b, tmp);
		}
	}
	bad |= buf_puts(b, "\"/>\n</svg>\n");
	return bad ? -1 : 0;
}

enum MHD_Result
web_qr(struct http_req *r)
{
	char url[QR_URL_MAX];
	enum MHD_Result ret;
	QRcode *qr;
	struct buf b;

	if (qr_url(r, url, sizeof(url)) != 0)
		return http_reply_error(r, LERR_INTERNAL, "the page's address is too long");
	/* Level M: a screen photographed at an angle still reads. */
	qr = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL)
		return http_reply_error(r, LERR_INTERNAL, "cannot encode the QR code");
	buf_init(&b, QR_SVG_MAX);
	if (qr_svg(qr, &b) != 0)
		ret = http_reply_error(r, LERR_INTERNAL, "the QR code does not fit");
	else
		ret = http_reply(r, MHD_HTTP_OK, "image/svg+xml", b.data, b.len);
	buf_free(&b);
	QRcode_free(qr);
	return ret;
}
