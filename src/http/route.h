/*
 * route.h - the router: which handler answers a request, or why none does.
 *
 * Owns: the matcher over a route table handed to it (struct http_table;
 * the real one is routes.c's, a test or fuzz target brings its own); the
 * checks made before any handler runs (URL length 414, path shape 400,
 * 404, 405 with Allow, 413 on bodies, the route's auth requirement); the
 * redirect of unknown paths on plain HTTP to HTTPS; body accumulation into
 * a capped struct buf; path parameters ("{id}" segments), extracted with
 * bounded length and a fixed character set and handed to the handler; and
 * the per-request state (struct http_req) from libmicrohttpd's first
 * callback to its completion callback. It names no handler.
 * Callers: httpd.c registers http_route_access/http_route_completed with
 * libmicrohttpd; handlers read http_param() and r->user; tests and fuzz
 * targets call http_route_match() and http_path_ok() directly.
 */
#ifndef LANCA_HTTP_ROUTE_H
#define LANCA_HTTP_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "common/buf.h"
#include "common/lerr.h"
#include "http/app.h"

/* Which server(s) serve a route. */
#define HTTP_ON_PLAIN	1u	/* plain HTTP: first contact only */
#define HTTP_ON_TLS	2u
#define HTTP_ON_BOTH	(HTTP_ON_PLAIN | HTTP_ON_TLS)

/* What a route requires before its handler runs. */
#define HTTP_AUTH_NONE		0u
#define HTTP_AUTH_ADMIN		1u	/* an admin session (cookie) */
#define HTTP_AUTH_ADMIN_CSRF	2u	/* the same, state-changing: Origin + CSRF token */
#define HTTP_AUTH_METRICS	3u	/* an admin session, or the metrics bearer token */

#define HTTP_PARAMS_MAX		4	/* "{name}" segments in one pattern */
#define HTTP_PARAM_MAX		128	/* bytes in one parameter's value */
#define HTTP_USER_MAX		64	/* bytes in an authenticated user name */
#define HTTP_ALLOW_MAX		64	/* the Allow header of a 405 */
#define HTTP_EXTRA_HEADERS	6

struct http_table;

/* One server's context: passed to libmicrohttpd as the access handler's cls. */
struct http_server {
	struct app *app;
	const struct http_table *table;
	unsigned on;		/* HTTP_ON_PLAIN or HTTP_ON_TLS */
};

/* Path parameters of a matched route: name points into the pattern (not
 * NUL-terminated, name_len bytes), value is a copy of the segment, made
 * only of [A-Za-z0-9._~-], 1..HTTP_PARAM_MAX bytes. */
struct http_params {
	size_t n;
	struct {
		const char *name;
		size_t name_len;
		char value[HTTP_PARAM_MAX + 1];
	} p[HTTP_PARAMS_MAX];
};

struct http_route;

/* Per-request state, made on the first callback and freed on completion. */
struct http_req {
	struct MHD_Connection *conn;
	const struct http_server *srv;
	struct app *app;
	const char *method;	/* owned by libmicrohttpd, valid until completion */
	const char *url;	/* decoded path, no query; same lifetime */
	int tls;		/* 1 on the HTTPS server */
	const struct http_route *route;	/* NULL if the request was refused early */
	struct http_params params;	/* the route's "{name}" segments */
	char user[HTTP_USER_MAX + 1];	/* the admin, on routes with auth; else "" */
	struct buf body;	/* capped at route->max_body */
	/* An answer decided before the handler (error or redirect): */
	unsigned err_status;	/* 0 = none */
	enum lerr_code err_code;
	char err_msg[320];
	char allow[HTTP_ALLOW_MAX];	/* Allow header for a 405 */
	int redirect;		/* plain HTTP, unknown path: to HTTPS */
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

/* A handler answers with one of the http_reply_* helpers (reply.h) and
 * returns what it returned. It owns nothing of r. */
typedef enum MHD_Result (*http_handler_fn)(struct http_req *r);

/* Checks r against a route's auth requirement (HTTP_AUTH_*). Returns 0
 * with r->user filled; otherwise queues the 401/403 reply, stores
 * libmicrohttpd's verdict in *reply and returns -1. */
typedef int (*http_auth_fn)(struct http_req *r, unsigned auth, enum MHD_Result *reply);

/* Path patterns: segments separated by '/'; a segment written "{name}"
 * matches any one segment that is a valid parameter (see struct
 * http_params), e.g. "/api/v1/requests/{id}". */
struct http_route {
	const char *method;	/* "GET" also answers HEAD */
	const char *path;
	size_t max_body;	/* 0 = no body accepted */
	http_handler_fn handler;
	unsigned on;		/* HTTP_ON_* */
	unsigned auth;		/* HTTP_AUTH_* */
};

/* A route table. Order matters: the first row whose method, path and
 * server match wins, so exact paths come before "/{name}". auth checks
 * the rows whose auth is not HTTP_AUTH_NONE (with none, they get 500). */
struct http_table {
	const struct http_route *routes;
	size_t n;
	http_auth_fn auth;
};

/* What the matcher found besides the route. */
struct http_match {
	int path_known;			/* some row has the path, not the method */
	char allow[HTTP_ALLOW_MAX];	/* then: the methods it has ("GET, HEAD, POST") */
	struct http_params params;	/* on a match: the route's parameters */
};

/*
 * Looks method and path (decoded, no query) up in t for server `on`.
 * Returns the first matching row with m->params filled, or NULL: then
 * m->path_known says 405 (m->allow lists the methods) rather than 404.
 */
const struct http_route *http_route_match(const struct http_table *t, unsigned on,
					  const char *method, const char *path,
					  struct http_match *m);

/* Checks a decoded request path: starts with '/', no control bytes or
 * backslash, no "." or ".." segment. 0 if acceptable, -1 otherwise. */
int http_path_ok(const char *path);
/* 1 if s[0..len) may be a path parameter's value (see struct http_params). */
int http_param_ok(const char *s, size_t len);

/* The value of the matched route's parameter name, or NULL. */
const char *http_param(const struct http_req *r, const char *name);
/* 1 if the request's Content-Type is the media type type (compared
 * without case; parameters such as "; charset=" after it are allowed). */
int http_media_type_is(const struct http_req *r, const char *type);

/* libmicrohttpd's access handler and completion callback; cls is a
 * struct http_server. */
enum MHD_Result http_route_access(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls);
void http_route_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			  enum MHD_RequestTerminationCode toe);

#endif
