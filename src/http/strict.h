/*
 * strict.h - the HTTP that libmicrohttpd 0.9.75 lets through and lanca
 * refuses before any route is looked up.
 *
 * Owns: the judgement of a request line as libmicrohttpd saw it before
 * decoding it (an encoded NUL, too many query parameters, too long), and
 * of a request's headers once they are all in (Host missing or repeated,
 * Content-Length repeated or beside Transfer-Encoding, a transfer coding
 * other than chunked). It judges; httpd.c calls it from its URI log
 * callback and access handler and answers with the verdict.
 * The judging functions take plain values, so tests and fuzz targets call
 * them without a server.
 */
#ifndef LANCA_HTTP_STRICT_H
#define LANCA_HTTP_STRICT_H

#include <stddef.h>
#include <microhttpd.h>

#include "common/lerr.h"

/* Query parameters a request may carry. lanca's routes take a handful;
 * libmicrohttpd 0.9.75 stores each one in the connection's 32 KiB memory
 * pool and, when they do not fit, drops the connection without an answer
 * (its own 431 has no memory left to be written in). */
#define HTTP_STRICT_PARAMS_MAX	32

/* What the request line says, judged before libmicrohttpd decodes it. */
enum http_strict_uri {
	HTTP_STRICT_URI_OK = 0,
	HTTP_STRICT_URI_NUL,		/* "%00" somewhere: decodes to a NUL */
	HTTP_STRICT_URI_PARAMS,		/* more than HTTP_STRICT_PARAMS_MAX parameters */
	HTTP_STRICT_URI_RAW_NUL,	/* a NUL byte in the URI as sent */
	HTTP_STRICT_URI_LONG,		/* over HTTP_STRICT_RAW_URI_MAX bytes as sent */
	HTTP_STRICT_URI_COUNT
};

/* The longest URI, as sent, whose length is followed exactly (four times
 * the decoded limit, HTTPD_URL_MAX: nothing longer can decode to less). */
#define HTTP_STRICT_RAW_URI_MAX	4096

/* Judges a raw request URI (path and query, as sent). *query_at is set to
 * the offset of '?' or to -1 when there is none. */
enum http_strict_uri http_strict_uri_judge(const char *uri, long *query_at);

/* The verdict on a URI once its whole length as sent is known: sent is
 * the length libmicrohttpd found on the request line, seen the length the
 * URI's string had (libmicrohttpd hands over strings, which end at a NUL
 * byte, so /index.html<NUL>.png would be served as /index.html).
 * sent_known is 0 when the line gave no length (no HTTP version). */
enum http_strict_uri http_strict_uri_whole(enum http_strict_uri v, size_t seen, size_t sent,
					   int sent_known);

/* The framing headers of a request, counted as sent (each repeat apart). */
struct http_strict_headers {
	unsigned host;			/* Host headers */
	unsigned content_length;	/* Content-Length headers */
	unsigned transfer_encoding;	/* Transfer-Encoding headers */
	int te_chunked;			/* the (one) Transfer-Encoding is "chunked" */
};

/* A refusal: the status, the error code and a message for people. */
struct http_strict_verdict {
	unsigned status;		/* 0: nothing to refuse */
	enum lerr_code code;
	char msg[160];
};

/* Counts r's framing headers from libmicrohttpd's list. */
void http_strict_headers_count(struct MHD_Connection *c, struct http_strict_headers *h);
/* Judges the request line's verdict and the headers of a request in HTTP
 * version `version` ("HTTP/1.1", "HTTP/1.0"). v->status is 0 when the
 * request may go on to the router. */
void http_strict_judge(enum http_strict_uri uri, const char *version,
		       const struct http_strict_headers *h, struct http_strict_verdict *v);

#endif
