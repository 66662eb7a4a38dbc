/*
 * http_route.h - the routing table and the reply helpers.
 *
 * Owns: the one static table {method, path pattern, max body, handler,
 * servers} that says what each server answers; the checks made before any
 * handler runs (URL length, path shape, 404, 405 with Allow, 413 on bodies);
 * body accumulation into a capped struct buf; the per-request state
 * (struct http_req) from the first libmicrohttpd callback to the completion
 * callback; and every response, so that security headers and the JSON
 * error shape {"error": code, "message": text} are set in one place.
 * Callers: httpd.c registers http_route_access/http_route_completed with
 * libmicrohttpd; the api_*.c and web.c handlers use the http_reply_* helpers.
 */
#ifndef LANCA_HTTP_ROUTE_H
#define LANCA_HTTP_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/lerr.h"
#include "http/app.h"

/* Which server(s) serve a route. */
#define HTTP_ON_PLAIN	1u	/* plain HTTP: first contact only */
#define HTTP_ON_TLS	2u
#define HTTP_ON_BOTH	(HTTP_ON_PLAIN | HTTP_ON_TLS)

/* One server's context: passed to libmicrohttpd as the handler's cls. */
struct http_server {
	struct app *app;
	unsigned on;		/* HTTP_ON_PLAIN or HTTP_ON_TLS */
};

struct http_route;

#define HTTP_EXTRA_HEADERS	4

/* Per-request state, made on the first callback and freed on completion. */
struct http_req {
	struct MHD_Connection *conn;
	const struct http_server *srv;
	struct app *app;
	const char *method;	/* owned by libmicrohttpd, valid until completion */
	const char *url;	/* decoded path, no query; same lifetime */
	int tls;		/* 1 on the HTTPS server */
	const struct http_route *route;	/* NULL if the request was refused early */
	struct buf body;	/* capped at route->max_body */
	/* An answer decided before the handler (error or redirect): */
	unsigned err_status;	/* 0 = none */
	enum lerr_code err_code;
	char err_msg[320];
	char allow[64];		/* Allow header for a 405 */
	int redirect;		/* plain HTTP fallback: 301 to HTTPS */
	uint64_t discarded;	/* body bytes thrown away after a refusal */
	int queued;		/* a response is queued: ignore the rest */
	/* Headers a handler adds to its answer (Location, Retry-After,
	 * Set-Cookie), set with http_req_add_header before replying. */
	struct {
		char name[32];
		char value[512];
	} extra[HTTP_EXTRA_HEADERS];
	size_t nextra;
};

/* A handler answers with one of the http_reply_* helpers and returns what
 * it returned. It owns nothing of r. */
typedef enum MHD_Result (*http_handler_fn)(struct http_req *r);

/* Path patterns: segments separated by '/'; a segment written "{name}"
 * matches any one non-empty segment, e.g. "/api/v1/requests/{id}". */
struct http_route {
	const char *method;	/* "GET" also answers HEAD */
	const char *path;
	size_t max_body;	/* 0 = no body accepted */
	http_handler_fn handler;
	unsigned on;		/* HTTP_ON_* */
};

/* libmicrohttpd's access handler and completion callback; cls is a
 * struct http_server. */
enum MHD_Result http_route_access(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls);
void http_route_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			  enum MHD_RequestTerminationCode toe);

/* For tests only: extra rows consulted before the built-in table (e.g. a
 * POST route to exercise body limits). Must be called before the servers
 * start; the array must outlive them. NULL/0 removes them. */
void http_route_set_extra(const struct http_route *routes, size_t n);

/* Replies. Each returns libmicrohttpd's verdict from MHD_queue_response.
 * http_reply copies data; http_reply_static does not (data must outlive
 * the server, e.g. the CA certificates in struct app). */
enum MHD_Result http_reply(struct http_req *r, unsigned status, const char *ctype,
			   const void *data, size_t len);
enum MHD_Result http_reply_static(struct http_req *r, unsigned status, const char *ctype,
				  const void *data, size_t len);
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
/* Adds a header to the response the handler is about to queue. Refuses
 * (-1) a name or value that is too long or holds CR/LF, or a fifth header. */
int http_req_add_header(struct http_req *r, const char *name, const char *value);

/* 301 to location (which must already be a safe URL). */
enum MHD_Result http_reply_redirect(struct http_req *r, const char *location);

/* The Host header's host part if it is a valid DNS name, IPv4 address or
 * [IPv6] literal, else "localhost", into out. */
void http_req_host(const struct http_req *r, char *out, size_t n);
/* "https://HOST[:PORT]" + path (percent-encoded where needed) into out;
 * 0 or -1 if it does not fit. */
int http_https_url(const struct http_req *r, const char *path, char *out, size_t n);

/* Checks a decoded request path: starts with '/', no control bytes, no
 * "." or ".." segment. 0 if acceptable, -1 otherwise. */
int http_path_ok(const char *path);
/* Checks a Host header's host part (no port); 1 if valid. */
int http_host_ok(const char *host, size_t len);

#endif
