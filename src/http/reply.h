/*
 * reply.h - every HTTP response lanca sends.
 *
 * Owns: queuing responses with the headers every answer carries (security
 * headers, no-store on the API and on errors, Allow on a 405, a handler's
 * extra headers); the JSON error shape {"error": code, "message": text};
 * the redirect to HTTPS and the URLs that name this server over HTTPS,
 * built from the request's Host header (parsed strictly by
 * http_host_parse, since it ends up in a Location header) and the
 * configured HTTPS port.
 * Callers: route.c (its own refusals and the redirect) and every handler.
 */
#ifndef LANCA_HTTP_REPLY_H
#define LANCA_HTTP_REPLY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/lerr.h"
#include "http/route.h"

/* Replies. Each returns libmicrohttpd's verdict from MHD_queue_response.
 * http_reply copies data; http_reply_static does not (data must outlive
 * the server, e.g. the CA certificates in struct app). */
enum MHD_Result http_reply(struct http_req *r, unsigned status, const char *ctype,
			   const void *data, size_t len);
enum MHD_Result http_reply_static(struct http_req *r, unsigned status, const char *ctype,
				  const void *data, size_t len);
/* An answer holding a secret (a private key): takes b's memory, which is
 * wiped when libmicrohttpd is done with it (b is left empty). */
enum MHD_Result http_reply_secret(struct http_req *r, unsigned status, const char *ctype,
				  struct buf *b);
/* Like http_reply_static, plus a Content-Disposition: attachment header. */
enum MHD_Result http_reply_download(struct http_req *r, const char *ctype,
				    const void *data, size_t len, const char *filename);
/* Serialises j (the reference is stolen, NULL means out of memory: 500). */
enum MHD_Result http_reply_json(struct http_req *r, unsigned status, json_t *j);
/* {"error": code's string, "message": text}, with code's HTTP status. */
enum MHD_Result http_reply_error(struct http_req *r, enum lerr_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same with another status than the table's (413 for a body, say). */
enum MHD_Result http_reply_error_status(struct http_req *r, unsigned status, enum lerr_code code,
					const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The error a check filled in (e->http 0 is taken as 500). */
enum MHD_Result http_reply_lerr(struct http_req *r, const struct lerr *e);
/* Requests under this prefix are EST's (RFC 7030): their answers, errors
 * included, carry only the headers EST clients need, errors as text, and
 * close the connection. */
#define HTTP_EST_PREFIX	"/.well-known/est/"
int http_req_is_est(const struct http_req *r);

/* The Content-Security-Policy of every answer: the page's own scripts and
 * styles only (no 'unsafe-inline'), never framed. A handler may send a
 * longer one that starts with it. */
#define HTTP_CSP "default-src 'self'; base-uri 'none'; form-action 'self'; " \
		 "frame-ancestors 'none'"

/* Adds a header to the response the handler is about to queue. Refuses
 * (-1) a name or value that is too long or holds CR/LF, or a seventh header. */
int http_req_add_header(struct http_req *r, const char *name, const char *value);

/* 301 (GET, HEAD) or 308 (anything else) to location, which must already
 * be a safe URL. */
enum MHD_Result http_reply_redirect(struct http_req *r, const char *location);
/* The same request path on HTTPS (or "/" if it does not fit). */
enum MHD_Result http_reply_to_https(struct http_req *r);

/* Host header parsing, kept free of libmicrohttpd so it can be fuzzed. */
#define HTTP_HOST_MAX	255	/* a DNS name, or a bracketed IPv6 literal */

/* Checks a host (no port): a DNS name of letters, digits, '-' and '.'
 * (not starting with '.' or '-'), at most 253 bytes, or an "[IPv6]"
 * literal. 1 if valid. */
int http_host_ok(const char *host, size_t len);
/* Parses a Host header value "HOST[:PORT]" (PORT: 1 to 5 digits, which
 * are ignored): the host part into out (n bytes, NUL-terminated). 0, or
 * -1 (out untouched) if value is NULL, malformed or does not fit. */
int http_host_parse(const char *value, char *out, size_t n);
/* "https://HOST[:PORT]" + path (percent-encoded where needed) into out,
 * HOST from the Host header value (NULL or malformed: "localhost"), the
 * port left out when it is 443. 0, or -1 if it does not fit. */
int http_https_location(const char *host_header, uint16_t port, const char *path,
			char *out, size_t n);
/* The same for r's Host header and the configured HTTPS port. */
int http_https_url(const struct http_req *r, const char *path, char *out, size_t n);

#endif
