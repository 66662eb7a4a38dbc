/*
 * test_route.c - the router and the Host parser: matching against the real
 * table (404 vs 405 with the right Allow, HEAD on GET routes, parameters,
 * servers, auth), the path checks, the Host header and the redirect
 * Location; then the router on the wire (a libmicrohttpd daemon on
 * loopback with a table of this file's own): 414, 400, 404, 405 + Allow,
 * 413, parameters reaching the handler, the auth hook, the redirect.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/api.h"
#include "http/httpd.h"
#include "http/reply.h"
#include "http/route.h"
#include "http/routes.h"

/* ---- the real table, matched without a server ---- */

static const struct http_route *
match(unsigned on, const char *method, const char *path, struct http_match *m)
{
	return http_route_match(&http_routes, on, method, path, m);
}

START_TEST(test_real_found)
{
	const struct http_route *rt;
	struct http_match m;

	rt = match(HTTP_ON_TLS, "GET", "/api/v1/status", &m);
	ck_assert_ptr_nonnull(rt);
	ck_assert_ptr_eq(rt->handler, api_status);
	ck_assert_uint_eq(m.params.n, 0);
	/* HEAD is answered by GET rows. */
	rt = match(HTTP_ON_PLAIN, "HEAD", "/ca.crt", &m);
	ck_assert_ptr_nonnull(rt);
	ck_assert_ptr_eq(rt->handler, api_ca_der);
	/* The same page on both servers; the page's files, two handlers. */
	ck_assert_ptr_eq(match(HTTP_ON_PLAIN, "GET", "/", &m)->handler, api_ca_page);
	ck_assert_ptr_eq(match(HTTP_ON_TLS, "GET", "/", &m)->handler, api_ca_page);
	ck_assert_ptr_eq(match(HTTP_ON_PLAIN, "GET", "/public.js", &m)->handler, web_page_file);
	ck_assert_ptr_eq(match(HTTP_ON_PLAIN, "GET", "/style.css", &m)->handler, web_page_file);
	ck_assert_ptr_eq(match(HTTP_ON_TLS, "GET", "/admin.js", &m)->handler, web_file);
	ck_assert_ptr_eq(match(HTTP_ON_PLAIN, "GET", "/qr.svg", &m)->handler, web_qr);
	/* Exact rows win over "/{name}". */
	ck_assert_ptr_eq(match(HTTP_ON_TLS, "GET", "/ca.pem", &m)->handler, api_ca_pem);
}
END_TEST

START_TEST(test_real_params)
{
	const struct http_route *rt;
	struct http_match m;

	rt = match(HTTP_ON_TLS, "POST", "/api/v1/requests/0123abcd/approve", &m);
	ck_assert_ptr_nonnull(rt);
	ck_assert_ptr_eq(rt->handler, api_request_approve);
	ck_assert_uint_eq(rt->auth, HTTP_AUTH_ADMIN_CSRF);
	ck_assert_uint_eq(m.params.n, 1);
	ck_assert_uint_eq(m.params.p[0].name_len, 2);
	ck_assert_int_eq(memcmp(m.params.p[0].name, "id", 2), 0);
	ck_assert_str_eq(m.params.p[0].value, "0123abcd");

	rt = match(HTTP_ON_TLS, "GET", "/admin.css", &m);
	ck_assert_ptr_nonnull(rt);
	ck_assert_ptr_eq(rt->handler, web_file);
	ck_assert_str_eq(m.params.p[0].value, "admin.css");
	ck_assert_uint_eq(rt->auth, HTTP_AUTH_NONE);

	ck_assert_uint_eq(match(HTTP_ON_TLS, "GET", "/api/v1/requests", &m)->auth,
			  HTTP_AUTH_ADMIN);
}
END_TEST

START_TEST(test_real_405)
{
	struct http_match m;

	ck_assert_ptr_null(match(HTTP_ON_TLS, "POST", "/api/v1/status", &m));
	ck_assert_int_eq(m.path_known, 1);
	ck_assert_str_eq(m.allow, "GET, HEAD");
	ck_assert_ptr_null(match(HTTP_ON_TLS, "GET", "/api/v1/enroll", &m));
	ck_assert_int_eq(m.path_known, 1);
	ck_assert_str_eq(m.allow, "POST");
	ck_assert_ptr_null(match(HTTP_ON_TLS, "HEAD", "/api/v1/requests/ab/deny", &m));
	ck_assert_str_eq(m.allow, "POST");
	/* Two rows share the path: GET (and HEAD) once, in table order. */
	ck_assert_ptr_null(match(HTTP_ON_TLS, "DELETE", "/api/v1/requests/ab", &m));
	ck_assert_str_eq(m.allow, "GET, HEAD");
	ck_assert_uint_eq(m.params.n, 0);
}
END_TEST

START_TEST(test_real_404)
{
	static const char *const paths[] = {
		"/api/v1/nothing", "/api/v1/requests/ab/approve/more", "/a/b",
		"/api/v1/requests/a%20b", "/api/v1/requests/a b", "/api/v1/requests/",
		"/api/v1/status/", "//", "",
	};
	struct http_match m;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		ck_assert_msg(match(HTTP_ON_TLS, "GET", paths[i], &m) == NULL, "%s", paths[i]);
		ck_assert_msg(m.path_known == 0 && m.allow[0] == '\0', "%s", paths[i]);
	}
	/* HTTPS-only rows do not exist on plain HTTP (the router redirects). */
	ck_assert_ptr_null(match(HTTP_ON_PLAIN, "GET", "/api/v1/status", &m));
	ck_assert_int_eq(m.path_known, 0);
	ck_assert_ptr_null(match(HTTP_ON_PLAIN, "GET", "/index.html", &m));
	ck_assert_ptr_null(match(HTTP_ON_PLAIN, "GET", "/admin.html", &m));
}
END_TEST

START_TEST(test_param_bounds)
{
	char path[HTTP_PARAM_MAX + 32];
	struct http_match m;

	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[HTTP_PARAM_MAX + 1] = '\0';
	ck_assert_ptr_nonnull(match(HTTP_ON_TLS, "GET", path, &m));
	ck_assert_uint_eq(strlen(m.params.p[0].value), HTTP_PARAM_MAX);
	path[HTTP_PARAM_MAX + 1] = 'a';
	path[HTTP_PARAM_MAX + 2] = '\0';
	ck_assert_ptr_null(match(HTTP_ON_TLS, "GET", path, &m));

	ck_assert_int_eq(http_param_ok("a-Z_0.9~", 8), 1);
	ck_assert_int_eq(http_param_ok("", 0), 0);
	ck_assert_int_eq(http_param_ok("a/b", 3), 0);
	ck_assert_int_eq(http_param_ok("a%b", 3), 0);
	ck_assert_int_eq(http_param_ok("a\nb", 3), 0);
	ck_assert_int_eq(http_param_ok("\xc3\xa9", 2), 0);
}
END_TEST

/* A table with more "{...}" segments than HTTP_PARAMS_MAX never matches. */
START_TEST(test_too_many_params)
{
	static const struct http_route rows[] = {
		{ "GET", "/{a}/{b}/{c}/{d}/{e}", 0, NULL, HTTP_ON_BOTH, 0 },
		{ "GET", "/{a}/{b}/{c}/{d}", 0, NULL, HTTP_ON_BOTH, 0 },
	};
	const struct http_table t = { rows, 2, NULL };
	const struct http_route *rt;
	struct http_match m;

	ck_assert_ptr_null(http_route_match(&t, HTTP_ON_TLS, "GET", "/1/2/3/4/5", &m));
	rt = http_route_match(&t, HTTP_ON_TLS, "GET", "/1/2/3/4", &m);
	ck_assert_ptr_eq(rt, &rows[1]);
	ck_assert_uint_eq(m.params.n, 4);
	ck_assert_str_eq(m.params.p[3].value, "4");
	ck_assert_int_eq(memcmp(m.params.p[3].name, "d", 1), 0);
}
END_TEST

START_TEST(test_path_ok)
{
	static const char *const good[] = { "/", "/a", "/a/b.c", "/.x", "/x..", "/...",
					    "/a//b", "/%2e%2e", "/\xc3\xa9" };
	static const char *const bad[] = { "", "a", "/.", "/..", "/a/../b", "/a/./b", "/a/..",
					   "/a\\b", "/a\tb", "/a\x7f", "/\r\n" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(http_path_ok(good[i]) == 0, "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(http_path_ok(bad[i]) == -1, "%s", bad[i]);
}
END_TEST

/* ---- Host and Location ---- */

START_TEST(test_host_parse)
{
	static const struct { const char *in, *out; } good[] = {
		{ "gateway.local", "gateway.local" }, { "gateway.local:8443", "gateway.local" },
		{ "192.0.2.1:80", "192.0.2.1" }, { "[::1]", "[::1]" }, { "[::1]:8443", "[::1]" },
		{ "A-b.C", "A-b.C" }, { "x:0", "x" }, { "x:65535", "x" },
	};
	static const char *const bad[] = {
		"", ":80", "x:", "x:123456", "x:8a", "x:80:80", "a b", "a/b", "a@b", "a\r\nX: y",
		"-a", ".a", "[::1", "[::1]x", "[::1]:", "[zz]", "[]", "a_b", "a%2eb", "x:+80",
		"[fe80::1%eth0]",
	};
	char out[HTTP_HOST_MAX + 1], big[600];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(http_host_parse(good[i].in, out, sizeof(out)) == 0, "%s", good[i].in);
		ck_assert_str_eq(out, good[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(out, "untouched");
		ck_assert_msg(http_host_parse(bad[i], out, sizeof(out)) == -1, "%s", bad[i]);
		ck_assert_str_eq(out, "untouched");
	}
	ck_assert_int_eq(http_host_parse(NULL, out, sizeof(out)), -1);
	/* 253 bytes is a name, 254 is not; a small buffer refuses. */
	memset(big, 'a', sizeof(big));
	big[253] = '\0';
	ck_assert_int_eq(http_host_parse(big, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), 253);
	ck_assert_int_eq(http_host_parse(big, out, 253), -1);
	big[253] = 'a';
	big[254] = '\0';
	ck_assert_int_eq(http_host_parse(big, out, sizeof(out)), -1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(http_host_parse(big, out, sizeof(out)), -1);
}
END_TEST

START_TEST(test_location)
{
	char out[128];

	ck_assert_int_eq(http_https_location("gw.lan:8080", 8443, "/a/b", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "https://gw.lan:8443/a/b");
	ck_assert_int_eq(http_https_location("[::1]", 443, "/", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "https://[::1]/");
	/* A missing or hostile Host falls back to localhost. */
	ck_assert_int_eq(http_https_location(NULL, 443, "/x", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "https://localhost/x");
	ck_assert_int_eq(http_https_location("evil\r\nSet-Cookie: a=b", 8443, "/", out,
					     sizeof(out)), 0);
	ck_assert_str_eq(out, "https://localhost:8443/");
	ck_assert_int_eq(http_https_location("a@evil.example", 443, "/", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "https://localhost/");
	/* The path is percent-encoded where a Location may not hold it raw. */
	ck_assert_int_eq(http_https_location("h", 443, "/a b?c#d%\"\xc3\xa9", out, sizeof(out)),
			 0);
	ck_assert_str_eq(out, "https://h/a%20b%3Fc%23d%25%22%C3%A9");
	/* Too small: refused, never truncated. */
	ck_assert_int_eq(http_https_location("h", 443, "/abc", out, 13), -1);
	ck_assert_int_eq(http_https_location("h", 443, "/abc", out, 14), 0);
	ck_assert_str_eq(out, "https://h/abc");
	ck_assert_int_eq(http_https_location("h", 443, "/ ", out, 13), -1);
}
END_TEST

/* ---- on the wire: a daemon with this file's table ---- */

static enum MHD_Result
t_params(struct http_req *r)
{
	char text[2 * HTTP_PARAM_MAX + 8];
	const char *a = http_param(r, "a"), *b = http_param(r, "b");

	snprintf(text, sizeof(text), "a=%s b=%s c=%s", a ? a : "-", b ? b : "-",
		 http_param(r, "c") ? "yes" : "-");
	return http_reply(r, 200, "text/plain", text, strlen(text));
}

static enum MHD_Result
t_body(struct http_req *r)
{
	char text[32];

	snprintf(text, sizeof(text), "len=%zu", r->body.len);
	return http_reply(r, 200, "text/plain", text, strlen(text));
}

static enum MHD_Result
t_user(struct http_req *r)
{
	return http_reply(r, 200, "text/plain", r->user, strlen(r->user));
}

/* Lets in a request with "X-Test-User: NAME"; 401 otherwise. */
static int
t_auth(struct http_req *r, unsigned auth, enum MHD_Result *reply)
{
	const char *u = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Test-User");

	if (u == NULL || strlen(u) > HTTP_USER_MAX || auth != HTTP_AUTH_ADMIN) {
		*reply = http_reply_error(r, LERR_UNAUTHORIZED, "login required");
		return -1;
	}
	strcpy(r->user, u);
	return 0;
}

static const struct http_route t_rows[] = {
	{ "GET", "/p/{a}/x/{b}", 0, t_params, HTTP_ON_BOTH, 0 },
	{ "POST", "/p/{a}/x/{b}", 0, t_params, HTTP_ON_TLS, 0 },
	{ "POST", "/body", 10, t_body, HTTP_ON_BOTH, 0 },
	{ "GET", "/user", 0, t_user, HTTP_ON_BOTH, HTTP_AUTH_ADMIN },
};
static const struct http_table t_table = { t_rows, 4, t_auth };
static const struct http_table t_noauth = { t_rows, 4, NULL };

struct wire {
	struct MHD_Daemon *d;
	struct http_server srv;
	struct app app;
	uint16_t port;
};

static void
wire_start(struct wire *w, unsigned on, const struct http_table *t)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(w, 0, sizeof(*w));
	w->app.https_port = 8443;
	w->srv.app = &w->app;
	w->srv.table = t;
	w->srv.on = on;
	w->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL,
				http_route_access, &w->srv,
				MHD_OPTION_NOTIFY_COMPLETED, http_route_completed, (void *)NULL,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
	ck_assert_ptr_nonnull(w->d);
	info = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
	ck_assert_ptr_nonnull(info);
	w->port = info->port;
}

/* Sends req (a whole request) and returns the whole answer (malloc'd). */
static char *
wire_ask(const struct wire *w, const char *req)
{
	struct sockaddr_in sa;
	size_t len = 0, cap = 65536;
	char *out = malloc(cap + 1);
	ssize_t n;
	int fd;

	ck_assert_ptr_nonnull(out);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(w->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (len < cap && (n = read(fd, out + len, cap - len)) > 0)
		len += (size_t)n;
	close(fd);
	out[len] = '\0';
	return out;
}

/* Asserts that the answer to req has status and holds every needle. */
static void
wire_expect(const struct wire *w, const char *req, int status, const char *need1,
	    const char *need2)
{
	char *got = wire_ask(w, req), line[32];

	snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
	ck_assert_msg(strncmp(got, line, strlen(line)) == 0, "%s -> %s", req, got);
	if (need1 != NULL)
		ck_assert_msg(strstr(got, need1) != NULL, "%s -> %s (no %s)", req, got, need1);
	if (need2 != NULL)
		ck_assert_msg(strstr(got, need2) != NULL, "%s -> %s (no %s)", req, got, need2);
	free(got);
}

#define CLOSE	"Connection: close\r\n"

START_TEST(test_wire_tls)
{
	char *req, *got;
	size_t n = HTTPD_URL_MAX + 64;
	struct wire w;

	wire_start(&w, HTTP_ON_TLS, &t_table);
	wire_expect(&w, "GET /p/one/x/two HTTP/1.1\r\nHost: h\r\n" CLOSE "\r\n", 200,
		    "a=one b=two c=-", NULL);
	wire_expect(&w, "HEAD /p/one/x/two HTTP/1.1\r\nHost: h\r\n" CLOSE "\r\n", 200,
		    NULL, NULL);
	wire_expect(&w, "PUT /p/one/x/two HTTP/1.1\r\nHost: h\r\n" CLOSE "\r\n", 405,
		    "Allow: GET, HEAD, POST\r\n", "\"error\":\"method_not_allowed\"");
	wire_expect(&w, "GET /body HTTP/1.1\r\nHost: h\r\n" CLOSE "\r\n", 405,
		    "Allow: POST\r\n", NULL);
	wire_expect(&w, "GET /p/one/x HTTP/1.1\r\nHost: h\r\n" CLOSE "\r\n", 404,
		    "\"error\":\"not_found\"", "no such path: /p/one/x");
	/* A parameter with a byte outside its set matches nothing. */
	wire_expect(&w, "GET /p/o%21/x/two HTTP/1.1\r\nHost: h\r\n" CLOSE "\r\n", 404,
		    NULL, NULL);
	wire_expect(&w, "GET /p/../x/two HTTP/1.1\r\nHost: h\r\n" CLOSE "\r\n", 400,
		    "malformed request path", NULL);
	wire_expect(&w, "GET /p/%2e%2e/x/two HTTP/1.1\r\nHost: h\r\n" CLOSE "\r\n", 400,
		    "malformed request path", NULL);
	wire_expect(&w, "POST /body HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n" CLOSE
		    "\r\n0123456789", 200, "len=10", NULL);
	wire_expect(&w, "POST /body HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n" CLOSE
		    "\r\n0123456789a", 413, "exceeds the limit of 10", NULL);
	wire_expect(&w, "GET /user HTTP/1.1\r\nHost: h\r\n" CLOSE "\r\n", 401,
		    "\"error\":\"unauthorized\"", NULL);
	wire_expect(&w, "GET /user HTTP/1.1\r\nHost: h\r\nX-Test-User: ada\r\n" CLOSE "\r\n",
		    200, "\r\n\r\nada", NULL);
	/* Unknown paths on the HTTPS server are 404s, never redirects. */
	wire_expect(&w, "GET /nowhere HTTP/1.1\r\nHost: h\r\n" CLOSE "\r\n", 404,
		    "Strict-Transport-Security", NULL);

	/* The URL with its query counts against HTTPD_URL_MAX. */
	req = malloc(n + 100);
	ck_assert_ptr_nonnull(req);
	strcpy(req, "GET /p/a/x/b?q=");
	memset(req + strlen(req), 'q', HTTPD_URL_MAX);
	strcpy(req + strlen("GET /p/a/x/b?q=") + HTTPD_URL_MAX,
	       " HTTP/1.1\r\nHost: h\r\n" CLOSE "\r\n");
	got = wire_ask(&w, req);
	ck_assert_msg(strncmp(got, "HTTP/1.1 414 ", 13) == 0, "%s", got);
	free(got);
	free(req);
	MHD_stop_daemon(w.d);
}
END_TEST

START_TEST(test_wire_plain)
{
	struct wire w;

	wire_start(&w, HTTP_ON_PLAIN, &t_table);
	/* Rows for both servers answer on plain HTTP too. */
	wire_expect(&w, "GET /p/a/x/b HTTP/1.1\r\nHost: h\r\n" CLOSE "\r\n", 200, "a=a b=b",
		    NULL);
	/* The POST row is HTTPS-only: on plain HTTP the path is GET-only. */
	wire_expect(&w, "POST /p/a/x/b HTTP/1.1\r\nHost: h\r\n" CLOSE "\r\n", 405,
		    "Allow: GET, HEAD\r\n", NULL);
	/* Unknown paths: to the same path on HTTPS, port from the config. */
	wire_expect(&w, "GET /some/where%20else HTTP/1.1\r\nHost: gw.lan:8080\r\n" CLOSE "\r\n",
		    301, "Location: https://gw.lan:8443/some/where%20else\r\n", NULL);
	wire_expect(&w, "POST /else HTTP/1.1\r\nHost: [::1]:8080\r\n" CLOSE "\r\n", 308,
		    "Location: https://[::1]:8443/else\r\n", NULL);
	wire_expect(&w, "GET /x HTTP/1.1\r\nHost: a@evil\r\n" CLOSE "\r\n", 301,
		    "Location: https://localhost:8443/x\r\n", NULL);
	MHD_stop_daemon(w.d);
}
END_TEST

/* A row that asks for auth in a table without a checker fails closed. */
START_TEST(test_wire_no_checker)
{
	struct wire w;

	wire_start(&w, HTTP_ON_TLS, &t_noauth);
	wire_expect(&w, "GET /user HTTP/1.1\r\nHost: h\r\nX-Test-User: ada\r\n" CLOSE "\r\n",
		    500, "\"error\":\"internal\"", NULL);
	MHD_stop_daemon(w.d);
}
END_TEST

static Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("match");
	TCase *tw = tcase_create("wire");

	tcase_add_test(tc, test_real_found);
	tcase_add_test(tc, test_real_params);
	tcase_add_test(tc, test_real_405);
	tcase_add_test(tc, test_real_404);
	tcase_add_test(tc, test_param_bounds);
	tcase_add_test(tc, test_too_many_params);
	tcase_add_test(tc, test_path_ok);
	tcase_add_test(tc, test_host_parse);
	tcase_add_test(tc, test_location);
	suite_add_tcase(s, tc);
	tcase_add_test(tw, test_wire_tls);
	tcase_add_test(tw, test_wire_plain);
	tcase_add_test(tw, test_wire_no_checker);
	tcase_set_timeout(tw, 30);
	suite_add_tcase(s, tw);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(route_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
