/*
 * route.c - the router: the matcher over a table handed to it, the checks
 * made before any handler runs, path parameters, body accumulation and
 * the per-request state (see route.h). It names no handler, so it links
 * (and fuzzes) with any table.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * when the headers are in (we decide the route and every early refusal
 * then), once per piece of body, and once more when the request is
 * complete. We answer on that last call, never the first: libmicrohttpd
 * 0.9.75 closes the connection after a response queued on the first call,
 * which would defeat keep-alive. The one exception is a body announced
 * bigger than the route allows, where closing is what we want.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/route.h"
#include "http/reply.h"
#include "http/httpd.h"
#include "common/log.h"

/* Body bytes read and dropped after a refusal before we hang up. */
#define HTTP_DISCARD_MAX	((uint64_t)4 * HTTPD_BODY_MAX)

int
http_param_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > HTTP_PARAM_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~'))
			return 0;
	}
	return 1;
}

/* 1 if path matches pattern segment by segment, with the "{name}"
 * segments' values in *params; a "{...}" segment matches one segment that
 * is a valid parameter. */
static int
route_path_match(const char *pat, const char *path, struct http_params *params)
{
	size_t pl, sl;

	params->n = 0;
	while (*pat == '/' && *path == '/') {
		pat++;
		path++;
		pl = strcspn(pat, "/");
		sl = strcspn(path, "/");
		if (pl >= 2 && pat[0] == '{' && pat[pl - 1] == '}') {
			if (!http_param_ok(path, sl) || params->n >= HTTP_PARAMS_MAX)
				return 0;
			params->p[params->n].name = pat + 1;
			params->p[params->n].name_len = pl - 2;
			memcpy(params->p[params->n].value, path, sl);
			params->p[params->n].value[sl] = '\0';
			params->n++;
		} else if (pl != sl || memcmp(pat, path, pl) != 0) {
			return 0;
		}
		pat += pl;
		path += sl;
	}
	return *pat == '\0' && *path == '\0';
}

/* 1 if a route declared for rmethod answers method (GET answers HEAD). */
static int
route_method_match(const char *rmethod, const char *method)
{
	if (strcmp(rmethod, method) == 0)
		return 1;
	return strcmp(rmethod, "GET") == 0 && strcmp(method, "HEAD") == 0;
}

/* Adds m to a comma-separated Allow list unless it is already there. */
static void
route_allow_add(char *allow, size_t n, const char *m)
{
	size_t used = strlen(allow), ml = strlen(m);
	const char *p = allow;
	int w;

	while ((p = strstr(p, m)) != NULL) {
		if ((p == allow || p[-1] == ' ') && (p[ml] == ',' || p[ml] == '\0'))
			return;
		p += ml;
	}
	w = snprintf(allow + used, n - used, "%s%s", used ? ", " : "", m);
	if (w < 0 || (size_t)w >= n - used)
		allow[used] = '\0';	/* a truncated list would lie: keep the old one */
}

const struct http_route *
http_route_match(const struct http_table *t, unsigned on, const char *method,
		 const char *path, struct http_match *m)
{
	struct http_params params;
	size_t i;

	m->path_known = 0;
	m->allow[0] = '\0';
	m->params.n = 0;
	for (i = 0; i < t->n; i++) {
		const struct http_route *rt = &t->routes[i];

		if ((rt->on & on) == 0 || !route_path_match(rt->path, path, &params))
			continue;
		if (route_method_match(rt->method, method)) {
			m->params = params;
			return rt;
		}
		m->path_known = 1;
		route_allow_add(m->allow, sizeof(m->allow), rt->method);
		if (strcmp(rt->method, "GET") == 0)
			route_allow_add(m->allow, sizeof(m->allow), "HEAD");
	}
	return NULL;
}

const char *
http_param(const struct http_req *r, const char *name)
{
	size_t i, nl = strlen(name);

	for (i = 0; i < r->params.n; i++)
		if (r->params.p[i].name_len == nl && memcmp(r->params.p[i].name, name, nl) == 0)
			return r->params.p[i].value;
	return NULL;
}

int
http_path_ok(const char *path)
{
	const unsigned char *p = (const unsigned char *)path;
	const char *seg;

	if (path[0] != '/')
		return -1;
	for (; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			return -1;
	/* Segments "." and "..": refused outright, never normalised. */
	for (seg = path; seg != NULL; seg = strchr(seg + 1, '/')) {
		const char *s = seg + 1;
		size_t len = strcspn(s, "/");

		if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
			return -1;
	}
	return 0;
}

static enum MHD_Result
route_sum_args(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	size_t *total = cls;

	(void)kind;
	*total += strlen(key) + 2 + (value != NULL ? strlen(value) : 0);
	return MHD_YES;
}

/* Records an answer decided before the handler; sent on the last call. */
static void
route_refuse(struct http_req *r, unsigned status, enum lerr_code code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
route_refuse(struct http_req *r, unsigned status, enum lerr_code code, const char *fmt, ...)
{
	va_list ap;

	r->err_status = status;
	r->err_code = code;
	va_start(ap, fmt);
	vsnprintf(r->err_msg, sizeof(r->err_msg), fmt, ap);
	va_end(ap);
}

/* Sends the answer decided before the handler. */
static enum MHD_Result
route_reply_decided(struct http_req *r)
{
	if (r->redirect)
		return http_reply_to_https(r);
	return http_reply_error_status(r, r->err_status, r->err_code, "%s", r->err_msg);
}

/* Checks the route's auth requirement with the table's checker. 0 to go
 * on to the handler, or -1 with the refusal queued and its verdict in *ret. */
static int
route_auth(struct http_req *r, enum MHD_Result *ret)
{
	if (r->route->auth == HTTP_AUTH_NONE)
		return 0;
	/* A row that asks for auth in a table without a checker is a bug:
	 * fail closed. */
	if (r->srv->table->auth == NULL) {
		*ret = http_reply_error(r, LERR_INTERNAL, "no authentication for %s", r->url);
		return -1;
	}
	return r->srv->table->auth(r, r->route->auth, ret);
}

/*
 * First call for a request: check the URL and find the route. Returns 1 if
 * the answer must go out at once, else 0 (answer on the last call, which
 * keeps the connection alive). At once means: a body is coming that we
 * will not read (announced over the cap, or sent to a request we refuse
 * anyway); libmicrohttpd then closes the connection after the answer
 * instead of making us drain the body.
 */
static int
route_first(struct http_req *r)
{
	const char *cl;
	size_t urllen;
	struct http_match m;
	int body;
	unsigned long long announced = 0;
	char *end;

	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL) {
		errno = 0;
		announced = strtoull(cl, &end, 10);
		if (errno != 0 || end == cl || *end != '\0' || cl[0] == '-') {
			route_refuse(r, MHD_HTTP_BAD_REQUEST, LERR_BAD_REQUEST,
				     "malformed Content-Length");
			return 1;
		}
	}
	body = announced > 0 ||
	       MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;

	urllen = strlen(r->url);
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, route_sum_args, &urllen);
	if (urllen > HTTPD_URL_MAX) {
		route_refuse(r, MHD_HTTP_URI_TOO_LONG, LERR_TOO_LARGE,
			     "request URI of %zu bytes exceeds the limit of %d", urllen, HTTPD_URL_MAX);
		return body;
	}
	if (http_path_ok(r->url) != 0) {
		route_refuse(r, MHD_HTTP_BAD_REQUEST, LERR_BAD_REQUEST,
			     "malformed request path");
		return body;
	}
	r->route = http_route_match(r->srv->table, r->srv->on, r->method, r->url, &m);
	if (r->route == NULL) {
		memcpy(r->allow, m.allow, sizeof(r->allow));
		if (m.path_known)
			route_refuse(r, MHD_HTTP_METHOD_NOT_ALLOWED, LERR_METHOD,
				     "method %s is not allowed on %s", r->method, r->url);
		else if (r->srv->on == HTTP_ON_PLAIN)
			r->redirect = 1;
		else
			route_refuse(r, MHD_HTTP_NOT_FOUND, LERR_NOT_FOUND,
				     "no such path: %s", r->url);
		return body;
	}
	buf_init(&r->body, r->route->max_body);
	/* A body announced bigger than the cap is refused before it is read;
	 * chunked bodies have no length and are capped as they arrive. */
	if (announced > r->route->max_body) {
		route_refuse(r, MHD_HTTP_CONTENT_TOO_LARGE, LERR_TOO_LARGE,
			     "request body of %llu bytes exceeds the limit of %zu",
			     announced, r->route->max_body);
		return 1;
	}
	r->params = m.params;
	return 0;
}

enum MHD_Result
http_route_access(void *cls, struct MHD_Connection *conn, const char *url,
		  const char *method, const char *version,
		  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	const struct http_server *srv = cls;
	struct http_req *r = *con_cls;
	enum MHD_Result ret;
	size_t n;

	(void)version;
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		r->conn = conn;
		r->srv = srv;
		r->app = srv->app;
		r->method = method;
		r->url = url;
		r->tls = srv->on == HTTP_ON_TLS;
		buf_init(&r->body, 0);
		*con_cls = r;
		if (route_first(r)) {
			ret = route_reply_decided(r);
			r->queued = ret == MHD_YES;
			return ret;
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		n = *upload_data_size;
		*upload_data_size = 0;
		if (r->queued)
			return MHD_YES;
		if (r->route != NULL && r->err_status == 0 && !r->redirect) {
			if (buf_append(&r->body, upload_data, n) == 0)
				return MHD_YES;
			route_refuse(r, MHD_HTTP_CONTENT_TOO_LARGE, LERR_TOO_LARGE,
				     "request body exceeds the limit of %zu bytes",
				     r->route->max_body);
			buf_free(&r->body);
		}
		/* libmicrohttpd 0.9.75 refuses to queue a response while a body
		 * is arriving, so past a refusal the rest of the body is read and
		 * dropped and the 413 goes out on the last call; but only up to
		 * HTTP_DISCARD_MAX: after that the peer is just keeping us busy,
		 * and the connection is dropped without an answer. */
		if (n > HTTP_DISCARD_MAX || r->discarded > HTTP_DISCARD_MAX - n) {
			log_info("httpd: dropping a connection that kept sending a refused body");
			return MHD_NO;
		}
		r->discarded += n;
		return MHD_YES;
	}
	if (r->queued)
		return MHD_YES;
	if (r->err_status != 0 || r->redirect)
		ret = route_reply_decided(r);
	else if (route_auth(r, &ret) == 0)
		ret = r->route->handler(r);
	r->queued = ret == MHD_YES;
	return ret;
}

void
http_route_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		     enum MHD_RequestTerminationCode toe)
{
	struct http_req *r = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (r == NULL)
		return;
	buf_free(&r->body);
	free(r);
	*con_cls = NULL;
}

int
http_media_type_is(const struct http_req *r, const char *type)
{
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n, want = strlen(type);

	if (ct == NULL)
		return 0;
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	return n == want && strncasecmp(ct, type, n) == 0;
}
