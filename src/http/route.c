/*
 * http_route.c - the routing table, the checks made before any handler
 * runs, body accumulation, and the reply helpers (see http_route.h).
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

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/route.h"
#include "http/httpd.h"
#include "http/api.h"
#include "common/log.h"

/* Error code for 405; lerr.h has none for it yet. */
/* Body bytes read and dropped after a refusal before we hang up. */
#define HTTP_DISCARD_MAX	((uint64_t)4 * HTTPD_BODY_MAX)

/*
 * What each server answers. Order matters: the first row whose method,
 * path and server match wins, so exact paths come before "/{name}".
 * Plain HTTP answers only these rows and redirects everything else to
 * HTTPS (http_route_access), so a new first-contact download such as
 * /trust-bundle.pem or /crl is one HTTP_ON_BOTH row here.
 */
static const struct http_route http_routes[] = {
	{ "GET", "/ca.crt",		0, api_ca_der,	HTTP_ON_BOTH },
	{ "GET", "/ca.pem",		0, api_ca_pem,	HTTP_ON_BOTH },
	{ "GET", "/api/v1/status",	0, api_status,	HTTP_ON_TLS },
	{ "POST", "/api/v1/enroll",	HTTPD_BODY_MAX, api_enroll, HTTP_ON_TLS },
	{ "GET", "/api/v1/requests/{id}", 0, api_request_get, HTTP_ON_TLS },
	{ "POST", "/api/v1/renew",	HTTPD_BODY_MAX, api_renew, HTTP_ON_TLS },
	{ "POST", "/api/v1/login",	4096, api_login, HTTP_ON_TLS },
	{ "POST", "/api/v1/logout",	0, api_logout, HTTP_ON_TLS },
	{ "POST", "/api/v1/press",	4096, api_press, HTTP_ON_TLS },
	{ "GET", "/api/v1/requests",	0, api_requests_list, HTTP_ON_TLS },
	{ "POST", "/api/v1/requests/{id}/approve", 0, api_request_approve, HTTP_ON_TLS },
	{ "POST", "/api/v1/requests/{id}/deny", 4096, api_request_deny, HTTP_ON_TLS },
	{ "GET", "/",			0, api_ca_page,	HTTP_ON_PLAIN },
	{ "GET", "/",			0, web_index,	HTTP_ON_TLS },
	{ "GET", "/{name}",		0, web_file,	HTTP_ON_TLS },
};

static const struct http_route *http_extra;
static size_t http_nextra;

void
http_route_set_extra(const struct http_route *routes, size_t n)
{
	http_extra = routes;
	http_nextra = routes != NULL ? n : 0;
}

/* 1 if path matches pattern segment by segment; a "{...}" segment in the
 * pattern matches any one non-empty segment. */
static int
route_path_match(const char *pat, const char *path)
{
	size_t pl, sl;

	while (*pat == '/' && *path == '/') {
		pat++;
		path++;
		pl = strcspn(pat, "/");
		sl = strcspn(path, "/");
		if (pl >= 2 && pat[0] == '{' && pat[pl - 1] == '}') {
			if (sl == 0)
				return 0;
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

/* Looks path up for server `on`. Returns the matching row, or NULL with
 * *path_known set when some row has the path but not the method (allow
 * then lists the methods it does have). */
static const struct http_route *
route_find(unsigned on, const char *method, const char *path, int *path_known,
	   char *allow, size_t nallow)
{
	const struct http_route *tabs[2] = { http_extra, http_routes };
	size_t lens[2] = { http_nextra, sizeof(http_routes) / sizeof(http_routes[0]) };
	size_t t, i;

	*path_known = 0;
	allow[0] = '\0';
	for (t = 0; t < 2; t++) {
		for (i = 0; i < lens[t]; i++) {
			const struct http_route *rt = &tabs[t][i];

			if ((rt->on & on) == 0 || !route_path_match(rt->path, path))
				continue;
			if (route_method_match(rt->method, method))
				return rt;
			*path_known = 1;
			route_allow_add(allow, nallow, rt->method);
			if (strcmp(rt->method, "GET") == 0)
				route_allow_add(allow, nallow, "HEAD");
		}
	}
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
		return api_ca_redirect(r);
	return http_reply_error_status(r, r->err_status, r->err_code, "%s", r->err_msg);
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
	int path_known = 0, body;
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
	r->route = route_find(r->srv->on, r->method, r->url, &path_known,
			      r->allow, sizeof(r->allow));
	if (r->route == NULL) {
		if (path_known)
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
	else
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

/* ---- replies ---- */

/* Adds the headers every response carries, then queues it. Takes the
 * response (destroys our reference whatever happens). */
static enum MHD_Result
reply_queue(struct http_req *r, unsigned status, const char *ctype, struct MHD_Response *resp)
{
	enum MHD_Result ret = MHD_NO;
	size_t i;
	int bad = 0;

	if (resp == NULL) {
		log_err("httpd: out of memory building a response");
		return MHD_NO;
	}
	if (ctype != NULL)
		bad |= MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES;
	bad |= MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES;
	bad |= MHD_add_response_header(resp, "Referrer-Policy", "no-referrer") != MHD_YES;
	bad |= MHD_add_response_header(resp, "X-Frame-Options", "DENY") != MHD_YES;
	if (r->tls)
		bad |= MHD_add_response_header(resp, "Strict-Transport-Security",
					       "max-age=31536000") != MHD_YES;
	if (ctype != NULL && strncmp(ctype, "text/html", 9) == 0)
		bad |= MHD_add_response_header(resp, "Content-Security-Policy",
					       "default-src 'self'") != MHD_YES;
	/* API answers change with every press and issuance: never cache. */
	if (strncmp(r->url, "/api/", 5) == 0 || status >= 400)
		bad |= MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
					       "no-store") != MHD_YES;
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED && r->allow[0] != '\0')
		bad |= MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow) != MHD_YES;
	for (i = 0; i < r->nextra; i++)
		bad |= MHD_add_response_header(resp, r->extra[i].name, r->extra[i].value) != MHD_YES;
	if (!bad)
		ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int
http_req_add_header(struct http_req *r, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	if (r->nextra >= HTTP_EXTRA_HEADERS || nl == 0 || nl >= sizeof(r->extra[0].name) ||
	    vl >= sizeof(r->extra[0].value) || strpbrk(name, "\r\n:") != NULL ||
	    strpbrk(value, "\r\n") != NULL)
		return -1;
	memcpy(r->extra[r->nextra].name, name, nl + 1);
	memcpy(r->extra[r->nextra].value, value, vl + 1);
	r->nextra++;
	return 0;
}

enum MHD_Result
http_reply(struct http_req *r, unsigned status, const char *ctype, const void *data, size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data, MHD_RESPMEM_MUST_COPY);
	return reply_queue(r, status, ctype, resp);
}

enum MHD_Result
http_reply_static(struct http_req *r, unsigned status, const char *ctype,
		  const void *data, size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data, MHD_RESPMEM_PERSISTENT);
	return reply_queue(r, status, ctype, resp);
}

enum MHD_Result
http_reply_download(struct http_req *r, const char *ctype, const void *data, size_t len,
		    const char *filename)
{
	struct MHD_Response *resp;
	char disp[128];
	int n;

	n = snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
	if (n < 0 || (size_t)n >= sizeof(disp))
		return http_reply_error(r, LERR_INTERNAL, "file name too long");
	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data, MHD_RESPMEM_PERSISTENT);
	if (resp != NULL &&
	    MHD_add_response_header(resp, "Content-Disposition", disp) != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return reply_queue(r, MHD_HTTP_OK, ctype, resp);
}

enum MHD_Result
http_reply_json(struct http_req *r, unsigned status, json_t *j)
{
	static const char oom[] =
		"{\"error\":\"internal\",\"message\":\"out of memory\"}\n";
	struct MHD_Response *resp;
	char *s = NULL, *t;
	size_t len;

	if (j != NULL)
		s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(j);
	if (s == NULL)
		return http_reply_static(r, 500, "application/json", oom, sizeof(oom) - 1);
	/* A final newline, so that curl output and `read` behave. */
	len = strlen(s);
	t = realloc(s, len + 2);
	if (t == NULL) {
		free(s);
		return http_reply_static(r, 500, "application/json", oom, sizeof(oom) - 1);
	}
	t[len++] = '\n';
	t[len] = '\0';
	resp = MHD_create_response_from_buffer_with_free_callback(len, t, free);
	if (resp == NULL)
		free(t);
	return reply_queue(r, status, "application/json", resp);
}

static enum MHD_Result
reply_verror(struct http_req *r, unsigned status, enum lerr_code code, const char *fmt,
	     va_list ap) __attribute__((format(printf, 4, 0)));

static enum MHD_Result
reply_verror(struct http_req *r, unsigned status, enum lerr_code code, const char *fmt,
	     va_list ap)
{
	char msg[640];
	size_t i;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Messages may quote the request path, which is not guaranteed to be
	 * UTF-8; jansson refuses invalid UTF-8, so keep to printable ASCII. */
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] >= 0x7f)
			msg[i] = '?';
	if (status < 400 || status > 599)
		status = 500;
	return http_reply_json(r, status, json_pack("{s:s, s:s}", "error", lerr_str(code),
						    "message", msg));
}

enum MHD_Result
http_reply_error(struct http_req *r, enum lerr_code code, const char *fmt, ...)
{
	enum MHD_Result ret;
	va_list ap;

	va_start(ap, fmt);
	ret = reply_verror(r, (unsigned)lerr_http(code), code, fmt, ap);
	va_end(ap);
	return ret;
}

enum MHD_Result
http_reply_error_status(struct http_req *r, unsigned status, enum lerr_code code,
			const char *fmt, ...)
{
	enum MHD_Result ret;
	va_list ap;

	va_start(ap, fmt);
	ret = reply_verror(r, status, code, fmt, ap);
	va_end(ap);
	return ret;
}

enum MHD_Result
http_reply_lerr(struct http_req *r, const struct lerr *e)
{
	enum lerr_code code = e->code != LERR_NONE ? e->code : LERR_INTERNAL;
	unsigned status = e->http >= 400 && e->http <= 599 ? (unsigned)e->http
							    : (unsigned)lerr_http(code);

	return http_reply_error_status(r, status, code, "%s", e->msg);
}

enum MHD_Result
http_reply_redirect(struct http_req *r, const char *location)
{
	static const char body[] = "Moved to HTTPS\n";
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)(uintptr_t)body,
					       MHD_RESPMEM_PERSISTENT);
	if (resp != NULL &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location) != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	/* 308 keeps the method and body: a POST must not come back as a GET. */
	return reply_queue(r, strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0 ?
			   MHD_HTTP_MOVED_PERMANENTLY : MHD_HTTP_PERMANENT_REDIRECT,
			   "text/plain; charset=utf-8", resp);
}

/* ---- host and URL helpers ---- */

int
http_host_ok(const char *host, size_t len)
{
	char tmp[64];
	unsigned char addr[16];
	size_t i;

	if (len == 0 || len > 253)
		return 0;
	if (host[0] == '[') {
		if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(tmp))
			return 0;
		memcpy(tmp, host + 1, len - 2);
		tmp[len - 2] = '\0';
		return inet_pton(AF_INET6, tmp, addr) == 1;
	}
	if (host[0] == '.' || host[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		char c = host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

void
http_req_host(const struct http_req *r, char *out, size_t n)
{
	const char *h, *end;
	size_t len;
	int w;

	h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (h == NULL)
		goto fallback;
	if (h[0] == '[') {
		end = strchr(h, ']');
		if (end == NULL)
			goto fallback;
		end++;
	} else {
		end = h + strcspn(h, ":");
	}
	/* Whatever follows the host must be a port, which we ignore. */
	if (*end == ':') {
		if (end[1] == '\0' || strspn(end + 1, "0123456789") != strlen(end + 1) ||
		    strlen(end + 1) > 5)
			goto fallback;
	} else if (*end != '\0') {
		goto fallback;
	}
	len = (size_t)(end - h);
	if (!http_host_ok(h, len) || len >= n)
		goto fallback;
	memcpy(out, h, len);
	out[len] = '\0';
	return;
fallback:
	w = snprintf(out, n, "localhost");
	if (w < 0 || (size_t)w >= n)
		out[0] = '\0';
}

int
http_https_url(const struct http_req *r, const char *path, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char host[260], port[8] = "";
	size_t used;
	int w;

	http_req_host(r, host, sizeof(host));
	if (r->app->https_port != 443) {
		w = snprintf(port, sizeof(port), ":%u", (unsigned)r->app->https_port);
		if (w < 0 || (size_t)w >= sizeof(port))
			return -1;
	}
	w = snprintf(out, n, "https://%s%s", host, port);
	if (w < 0 || (size_t)w >= n)
		return -1;
	used = (size_t)w;
	/* The path arrives decoded; encode what may not appear raw in a
	 * Location header (spaces, non-ASCII, quotes, '%', '?', '#'). */
	for (; *path != '\0'; path++) {
		unsigned char c = (unsigned char)*path;
		int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || strchr("-._~/!$&'()*+,;=:@", c) != NULL;

		if (used + (plain ? 1 : 3) >= n)
			return -1;
		if (plain) {
			out[used++] = (char)c;
		} else {
			out[used++] = '%';
			out[used++] = hex[c >> 4];
			out[used++] = hex[c & 15];
		}
	}
	out[used] = '\0';
	return 0;
}
