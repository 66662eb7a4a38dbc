/*
 * reply.c - every HTTP response, its headers, the JSON error shape, and
 * the redirect to HTTPS with the Host parser behind it (see reply.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/reply.h"
#include "common/log.h"


/* What every answer ends with: Allow on a 405, the handler's headers,
 * then the queue (unless a header failed: bad). Takes the response. */
static enum MHD_Result
reply_queue_last(struct http_req *r, unsigned status, struct MHD_Response *resp, int bad)
{
	enum MHD_Result ret = MHD_NO;
	size_t i;

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
http_req_is_est(const struct http_req *r)
{
	return r->url != NULL && strncmp(r->url, HTTP_EST_PREFIX, strlen(HTTP_EST_PREFIX)) == 0;
}

/* An EST answer: what the reference client can read (it gives up past 15
 * header lines) and a closed connection (it waits for the close). */
static enum MHD_Result
reply_queue_est(struct http_req *r, unsigned status, const char *ctype,
		struct MHD_Response *resp)
{
	int bad = 0;

	if (ctype != NULL)
		bad |= MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES;
	bad |= MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES;
	bad |= MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES;
	return reply_queue_last(r, status, resp, bad);
}

/* 1 if the handler added a header of this name (http_req_add_header). */
static int
reply_has_extra(const struct http_req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nextra; i++)
		if (strcasecmp(r->extra[i].name, name) == 0)
			return 1;
	return 0;
}

/* Adds the headers every response carries, then queues it. Takes the
 * response (destroys our reference whatever happens). */
static enum MHD_Result
reply_queue(struct http_req *r, unsigned status, const char *ctype, struct MHD_Response *resp)
{
	int bad = 0;

	if (resp == NULL) {
		log_err("httpd: out of memory building a response");
		return MHD_NO;
	}
	if (http_req_is_est(r))
		return reply_queue_est(r, status, ctype, resp);
	if (ctype != NULL)
		bad |= MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES;
	bad |= MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES;
	bad |= MHD_add_response_header(resp, "Referrer-Policy", "no-referrer") != MHD_YES;
	bad |= MHD_add_response_header(resp, "X-Frame-Options", "DENY") != MHD_YES;
	if (r->tls)
		bad |= MHD_add_response_header(resp, "Strict-Transport-Security",
					       "max-age=31536000") != MHD_YES;
	/* Every answer, not only pages: an SVG or a JSON opened on its own is
	 * a document too. A handler that needs more (the plain-HTTP page's
	 * trust check) sets its own, built on HTTP_CSP. */
	if (!reply_has_extra(r, "Content-Security-Policy"))
		bad |= MHD_add_response_header(resp, "Content-Security-Policy",
					       HTTP_CSP) != MHD_YES;
	/* API and ACME answers change with every press, issuance and
	 * validation: never cache. */
	if (strncmp(r->url, "/api/", 5) == 0 || strncmp(r->url, "/acme/", 6) == 0 ||
	    status >= 400)
		bad |= MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
					       "no-store") != MHD_YES;
	return reply_queue_last(r, status, resp, bad);
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

/* libmicrohttpd's free callback for a secret answer: wiped, then freed. */
static void
reply_free_secret(void *cls)
{
	struct buf *b = cls;

	buf_free_secret(b);
	free(b);
}

enum MHD_Result
http_reply_secret(struct http_req *r, unsigned status, const char *ctype, struct buf *b)
{
	struct MHD_Response *resp;
	struct buf *own = malloc(sizeof(*own));

	if (own == NULL) {
		buf_free_secret(b);
		return http_reply_error(r, LERR_INTERNAL, "out of memory");
	}
	*own = *b;
	memset(b, 0, sizeof(*b));
	resp = MHD_create_response_from_buffer_with_free_callback_cls(own->len, own->data,
								      reply_free_secret, own);
	if (resp == NULL) {
		reply_free_secret(own);
		return MHD_NO;
	}
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
	if (http_req_is_est(r)) {
		/* EST clients show a text reason (RFC 7030 §4.2.3). */
		i = strlen(msg);
		if (i + 1 < sizeof(msg)) {
			msg[i++] = '\n';
			msg[i] = '\0';
		}
		return http_reply(r, status, "text/plain; charset=us-ascii", msg, i);
	}
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

/* ---- the Host header and URLs on HTTPS ---- */

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

int
http_host_parse(const char *value, char *out, size_t n)
{
	const char *end, *port;
	size_t len, plen;

	if (value == NULL)
		return -1;
	/* Never scan further than a valid value can reach. */
	len = strnlen(value, HTTP_HOST_MAX + 7);
	if (len > HTTP_HOST_MAX + 6)
		return -1;
	if (value[0] == '[') {
		end = memchr(value, ']', len);
		if (end == NULL)
			return -1;
		end++;
	} else {
		end = value + strcspn(value, ":");
	}
	/* Whatever follows the host must be a port, which we ignore. */
	if (*end == ':') {
		port = end + 1;
		plen = strlen(port);
		if (plen == 0 || plen > 5 || strspn(port, "0123456789") != plen)
			return -1;
	} else if (*end != '\0') {
		return -1;
	}
	len = (size_t)(end - value);
	if (!http_host_ok(value, len) || len >= n)
		return -1;
	memcpy(out, value, len);
	out[len] = '\0';
	return 0;
}

int
http_https_location(const char *host_header, uint16_t port, const char *path,
		    char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char host[HTTP_HOST_MAX + 1], portbuf[8] = "";
	size_t used;
	int w;

	/* A missing or suspicious Host still gets a working redirect. */
	if (http_host_parse(host_header, host, sizeof(host)) != 0)
		memcpy(host, "localhost", sizeof("localhost"));
	if (port != 443) {
		w = snprintf(portbuf, sizeof(portbuf), ":%u", (unsigned)port);
		if (w < 0 || (size_t)w >= sizeof(portbuf))
			return -1;
	}
	w = snprintf(out, n, "https://%s%s", host, portbuf);
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

int
http_https_url(const struct http_req *r, const char *path, char *out, size_t n)
{
	return http_https_location(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							       MHD_HTTP_HEADER_HOST),
				   r->app->https_port, path, out, n);
}

enum MHD_Result
http_reply_to_https(struct http_req *r)
{
	char url[4096];

	if (http_https_url(r, r->url, url, sizeof(url)) != 0 &&
	    http_https_url(r, "/", url, sizeof(url)) != 0)
		return http_reply_error(r, LERR_INTERNAL, "cannot build the HTTPS address");
	return http_reply_redirect(r, url);
}
