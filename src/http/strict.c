/*
 * strict.c - requests libmicrohttpd 0.9.75 accepts and lanca refuses (see
 * strict.h).
 *
 * Why each check, as found against the running daemon:
 * - "%00": libmicrohttpd decodes it to a NUL and every string it hands
 *   over ends there, so /index.html%00.png was served as /index.html.
 * - Query parameters: stored one by one in the connection's memory pool;
 *   5,000 of them exhaust it and the connection is dropped unanswered.
 * - A raw NUL byte in the request line: the URI's string ends there, so
 *   /index.html<NUL>.png was served as /index.html too.
 * - Host: HTTP/1.1 requires exactly one (RFC 9112, 3.2); libmicrohttpd
 *   only checks in its pedantic mode, and then answers itself. It takes
 *   HTTP/1.2 to 1.9 for 1.1, so they need one as well.
 * - Content-Length twice: libmicrohttpd frames the body by the first one,
 *   a proxy in front might use the other (request smuggling).
 * - Content-Length beside Transfer-Encoding, or a transfer coding other
 *   than chunked: the body's length is ambiguous or unknown (RFC 9112,
 *   6.1 and 6.3); libmicrohttpd silently prefers one reading.
 * Each of these is answered and the connection closed: once framing is in
 * doubt, nothing after the headers can be trusted to start a request.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/strict.h"

enum http_strict_uri
http_strict_uri_judge(const char *uri, long *query_at)
{
	const char *q = strchr(uri, '?');
	size_t params = 0;

	*query_at = q != NULL ? (long)(q - uri) : -1;
	/* Only "%00" decodes to a NUL ('+' is a space, other escapes are
	 * bytes 1 to 255); anywhere in the URI, path or query. */
	if (strstr(uri, "%00") != NULL)
		return HTTP_STRICT_URI_NUL;
	if (q != NULL && q[1] != '\0') {
		/* libmicrohttpd makes one record per '&'-separated piece. */
		for (params = 1, q++; *q != '\0'; q++)
			if (*q == '&')
				params++;
		if (params > HTTP_STRICT_PARAMS_MAX)
			return HTTP_STRICT_URI_PARAMS;
	}
	return HTTP_STRICT_URI_OK;
}

enum http_strict_uri
http_strict_uri_whole(enum http_strict_uri v, size_t seen, size_t sent, int sent_known)
{
	if (v != HTTP_STRICT_URI_OK)
		return v;
	if (seen > HTTP_STRICT_RAW_URI_MAX || (sent_known && sent > HTTP_STRICT_RAW_URI_MAX))
		return HTTP_STRICT_URI_LONG;
	if (sent_known && seen != sent)
		return HTTP_STRICT_URI_RAW_NUL;
	return HTTP_STRICT_URI_OK;
}

static enum MHD_Result
strict_count(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct http_strict_headers *h = cls;

	(void)kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
		h->host++;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		h->content_length++;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		h->transfer_encoding++;
		h->te_chunked = value != NULL && strcasecmp(value, "chunked") == 0;
	}
	return MHD_YES;
}

void
http_strict_headers_count(struct MHD_Connection *c, struct http_strict_headers *h)
{
	memset(h, 0, sizeof(*h));
	MHD_get_connection_values(c, MHD_HEADER_KIND, strict_count, h);
}

static void
strict_refuse(struct http_strict_verdict *v, unsigned status, enum lerr_code code,
	      const char *msg)
{
	v->status = status;
	v->code = code;
	snprintf(v->msg, sizeof(v->msg), "%s", msg);
}

void
http_strict_judge(enum http_strict_uri uri, const char *version,
		  const struct http_strict_headers *h, struct http_strict_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (uri == HTTP_STRICT_URI_NUL) {
		strict_refuse(v, MHD_HTTP_BAD_REQUEST, LERR_BAD_REQUEST,
			      "the URL holds an encoded NUL (%00)");
		return;
	}
	if (uri == HTTP_STRICT_URI_RAW_NUL) {
		strict_refuse(v, MHD_HTTP_BAD_REQUEST, LERR_BAD_REQUEST,
			      "the request line holds a NUL byte");
		return;
	}
	if (uri == HTTP_STRICT_URI_LONG) {
		snprintf(v->msg, sizeof(v->msg), "request URI of more than %d bytes as sent",
			 HTTP_STRICT_RAW_URI_MAX);
		v->status = MHD_HTTP_URI_TOO_LONG;
		v->code = LERR_TOO_LARGE;
		return;
	}
	if (uri == HTTP_STRICT_URI_PARAMS) {
		snprintf(v->msg, sizeof(v->msg),
			 "the query has more than %d parameters", HTTP_STRICT_PARAMS_MAX);
		v->status = MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE;
		v->code = LERR_TOO_LARGE;
		return;
	}
	if (h->host > 1) {
		strict_refuse(v, MHD_HTTP_BAD_REQUEST, LERR_BAD_REQUEST,
			      "more than one Host header");
		return;
	}
	/* Every HTTP/1.x but 1.0: libmicrohttpd answers HTTP/1.2 to 1.9 as
	 * 1.1, so they must follow 1.1's rule. */
	if (h->host == 0 && version != NULL && strncmp(version, "HTTP/1.", 7) == 0 &&
	    strcmp(version, MHD_HTTP_VERSION_1_0) != 0) {
		snprintf(v->msg, sizeof(v->msg), "an %.16s request without a Host header",
			 version);
		v->status = MHD_HTTP_BAD_REQUEST;
		v->code = LERR_BAD_REQUEST;
		return;
	}
	if (h->content_length > 1) {
		strict_refuse(v, MHD_HTTP_BAD_REQUEST, LERR_BAD_REQUEST,
			      "more than one Content-Length header");
		return;
	}
	if (h->transfer_encoding > 1) {
		strict_refuse(v, MHD_HTTP_BAD_REQUEST, LERR_BAD_REQUEST,
			      "more than one Transfer-Encoding header");
		return;
	}
	if (h->transfer_encoding == 1 && h->content_length == 1) {
		strict_refuse(v, MHD_HTTP_BAD_REQUEST, LERR_BAD_REQUEST,
			      "both Content-Length and Transfer-Encoding");
		return;
	}
	if (h->transfer_encoding == 1 && !h->te_chunked) {
		/* RFC 9112, 6.1: a coding the server does not know is 501. */
		strict_refuse(v, MHD_HTTP_NOT_IMPLEMENTED, LERR_BAD_REQUEST,
			      "the only Transfer-Encoding accepted is chunked");
		return;
	}
}
