/*
 * test_httpc.c - the device client's HTTP response parser and URL parser
 * over well-formed and hostile bytes: what a complete response yields,
 * when more bytes are needed, and that caps, bad numbers, bad framing and
 * truncation are refused rather than misread; and that a connection can
 * be made from a chosen local address.
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

#include "common/buf.h"
#include "client/httpc.h"
#include "common/lerr.h"

/* Runs the parser over a C string; returns its result, resp filled on 1. */
static int
parse(const char *s, int eof, struct httpc_response *r, size_t *used)
{
	struct lerr e;

	lerr_clear(&e);
	memset(r, 0, sizeof(*r));
	return httpc_parse_response((const unsigned char *)s, strlen(s), eof, 0, r, used, &e);
}

/* The parser's message for a refused input (for checks on what it names). */
static const char *
parse_err(const char *s, int eof)
{
	static struct lerr e;
	struct httpc_response r;
	size_t used;

	lerr_clear(&e);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(httpc_parse_response((const unsigned char *)s, strlen(s), eof, 0, &r, &used, &e), -1);
	ck_assert_ptr_null(r.body);
	return e.msg;
}

START_TEST(test_created_with_length)
{
	const char *s = "HTTP/1.1 201 Created\r\n"
			"Content-Type: application/pem-certificate-chain\r\n"
			"content-length: 5\r\n"
			"\r\n"
			"helloEXTRA";
	struct httpc_response r;
	size_t used = 0;

	ck_assert_int_eq(parse(s, 0, &r, &used), 1);
	ck_assert_int_eq(r.status, 201);
	ck_assert_uint_eq(r.body_len, 5);
	ck_assert_mem_eq(r.body, "hello", 5);
	ck_assert_str_eq(r.content_type, "application/pem-certificate-chain");
	ck_assert_ptr_null(r.location);
	ck_assert_int_eq(r.retry_after, -1);
	ck_assert_int_eq(r.close, 0);
	ck_assert_uint_eq(used, strlen(s) - 5);	/* "EXTRA" is not ours */
	httpc_response_free(&r);
	ck_assert_ptr_null(r.body);
}
END_TEST

START_TEST(test_pending_headers)
{
	struct httpc_response r;
	size_t used;

	ck_assert_int_eq(parse("HTTP/1.1 202 Accepted\r\nLocation:   /api/v1/requests/abc  \r\n"
			       "RETRY-AFTER: 7\r\nConnection: keep-alive, Close\r\n"
			       "Content-Length: 2\r\n\r\n{}", 0, &r, &used), 1);
	ck_assert_int_eq(r.status, 202);
	ck_assert_str_eq(r.location, "/api/v1/requests/abc");
	ck_assert_int_eq(r.retry_after, 7);
	ck_assert_int_eq(r.close, 1);
	httpc_response_free(&r);

	/* LF-only line ends are accepted too. */
	ck_assert_int_eq(parse("HTTP/1.1 204 No Content\nRetry-After: 0\n\n", 0, &r, &used), 1);
	ck_assert_int_eq(r.status, 204);
	ck_assert_int_eq(r.retry_after, 0);
	ck_assert_ptr_null(r.body);
	httpc_response_free(&r);
}
END_TEST

START_TEST(test_retry_after_garbage)
{
	static const char *const bad[] = {
		"-5", "5s", "abc", "", "1.5", "+3", "99999999999999999999999",
		"86401", "Wed, 21 Oct 2015 07:28:00 GMT", "0x10", "1 2",
	};
	struct httpc_response r;
	char msg[256];
	size_t i, used;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg), "HTTP/1.1 202 Accepted\r\nRetry-After: %s\r\n"
			 "Content-Length: 0\r\n\r\n", bad[i]);
		ck_assert_int_eq(parse(msg, 0, &r, &used), 1);
		ck_assert_msg(r.retry_after == -1, "Retry-After '%s' read as %ld", bad[i], r.retry_after);
		httpc_response_free(&r);
	}
	ck_assert_int_eq(parse("HTTP/1.1 429 Too Many\r\nRetry-After: 86400\r\nContent-Length: 0\r\n\r\n",
			       0, &r, &used), 1);
	ck_assert_int_eq(r.retry_after, 86400);
	httpc_response_free(&r);
}
END_TEST

/* A 401's WWW-Authenticate offers Basic only when a challenge's scheme is
 * Basic: not a parameter named so, not text inside a quoted realm. */
START_TEST(test_www_authenticate)
{
	static const struct {
		const char *value;
		int basic;
	} cases[] = {
		{ "Basic realm=\"lanca\"", 1 },
		{ "basic", 1 },
		{ "BASIC realm=x", 1 },
		{ "Digest realm=\"a\", nonce=\"b\", Basic realm=\"c\"", 1 },
		{ "Bearer realm=\"Basic realm\"", 0 },
		{ "Digest basic=1", 0 },
		{ "Digest realm=\"a\\\" Basic \"", 0 },
		{ "Basically", 0 },
		{ "Negotiate abc==", 0 },
		{ "", 0 },
	};
	struct httpc_response r;
	char msg[256];
	size_t i, used;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(msg, sizeof(msg), "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: %s\r\n"
			 "Content-Length: 0\r\n\r\n", cases[i].value);
		ck_assert_int_eq(parse(msg, 0, &r, &used), 1);
		ck_assert_msg(r.auth_basic == cases[i].basic, "'%s' read as %d", cases[i].value,
			      r.auth_basic);
		httpc_response_free(&r);
	}
	/* Any of several headers may offer it; a response without one does not. */
	ck_assert_int_eq(parse("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n"
			       "www-authenticate: Basic realm=x\r\nContent-Length: 0\r\n\r\n", 0, &r, &used), 1);
	ck_assert_int_eq(r.auth_basic, 1);
	httpc_response_free(&r);
	ck_assert_int_eq(parse("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", 0, &r, &used), 1);
	ck_assert_int_eq(r.auth_basic, 0);
	httpc_response_free(&r);
}
END_TEST

START_TEST(test_needs_more)
{
	const char *full = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
	struct httpc_response r;
	size_t n, used;
	struct lerr e;

	/* Every proper prefix asks for more; none is misread as complete. */
	for (n = 0; n < strlen(full); n++) {
		memset(&r, 0, sizeof(r));
		ck_assert_int_eq(httpc_parse_response((const unsigned char *)full, n, 0, 0, &r, &used, &e), 0);
		ck_assert_ptr_null(r.body);
	}
	/* The same prefixes at eof are truncated. */
	for (n = 0; n < strlen(full); n++) {
		memset(&r, 0, sizeof(r));
		ck_assert_int_eq(httpc_parse_response((const unsigned char *)full, n, 1, 0, &r, &used, &e), -1);
	}
	ck_assert_ptr_nonnull(strstr(parse_err("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234", 1),
				     "truncated"));
}
END_TEST

START_TEST(test_bad_status_lines)
{
	static const char *const bad[] = {
		"\r\n\r\n",
		"Content-Length: 0\r\n\r\n",
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/1.1 600 High\r\n\r\n",
		"HTTP/1.1 -01 Neg\r\n\r\n",
		"HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"ICY 200 OK\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_err(bad[i], 0);
}
END_TEST

START_TEST(test_bad_headers)
{
	parse_err("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", 0);
	parse_err("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", 0);
	parse_err("HTTP/1.1 200 OK\r\nSpace Name: x\r\n\r\n", 0);
	parse_err("HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", 0);
	parse_err("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", 0);
	parse_err("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", 0);		/* bare CR */
	parse_err("HTTP/1.1 200 OK\r\nX: a\x01" "b\r\nContent-Length: 0\r\n\r\n", 0);
	/* A NUL hidden in a header (strlen would stop at it, so build it). */
	{
		static const unsigned char s[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n";
		struct httpc_response r;
		struct lerr e;
		size_t used;

		ck_assert_int_eq(httpc_parse_response(s, sizeof(s) - 1, 0, 0, &r, &used, &e), -1);
	}
}
END_TEST

START_TEST(test_huge_headers)
{
	struct buf b;
	struct httpc_response r;
	struct lerr e;
	size_t used, i;

	/* Headers growing past 16 KiB are refused before the blank line comes. */
	buf_init(&b, 64 * 1024);
	ck_assert_int_eq(buf_puts(&b, "HTTP/1.1 200 OK\r\n"), 0);
	for (i = 0; b.len <= HTTPC_MAX_HEADERS; i++)
		ck_assert_int_eq(buf_printf(&b, "X-Pad-%zu: %0100d\r\n", i, 0), 0);
	ck_assert_int_eq(httpc_parse_response(b.data, b.len, 0, 0, &r, &used, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "headers"));
	/* ...and so is one endless status line. */
	b.len = 0;
	ck_assert_int_eq(buf_puts(&b, "HTTP/1.1 200 "), 0);
	while (b.len <= HTTPC_MAX_HEADERS)
		ck_assert_int_eq(buf_puts(&b, "AAAAAAAAAAAAAAAA"), 0);
	ck_assert_int_eq(httpc_parse_response(b.data, b.len, 0, 0, &r, &used, &e), -1);
	/* Just under the cap is fine. */
	b.len = 0;
	ck_assert_int_eq(buf_puts(&b, "HTTP/1.1 200 OK\r\nX: "), 0);
	while (b.len < HTTPC_MAX_HEADERS - 40)
		ck_assert_int_eq(buf_puts(&b, "a"), 0);
	ck_assert_int_eq(buf_puts(&b, "\r\nContent-Length: 0\r\n\r\n"), 0);
	ck_assert_int_eq(httpc_parse_response(b.data, b.len, 0, 0, &r, &used, &e), 1);
	httpc_response_free(&r);
	buf_free(&b);
}
END_TEST

START_TEST(test_content_length_hostile)
{
	struct httpc_response r;
	size_t used;
	char msg[128];

	parse_err("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0);
	parse_err("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", 0);
	parse_err("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551621\r\n\r\nhello", 0);
	parse_err("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 0);
	parse_err("HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello", 0);
	parse_err("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", 0);
	parse_err("HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx", 0);
	parse_err("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 0);
	/* Over the body cap: refused at once, not after 256 KiB arrive. */
	snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", HTTPC_MAX_BODY + 1);
	ck_assert_ptr_nonnull(strstr(parse_err(msg, 0), "over"));
	/* A repeated identical Content-Length is harmless. */
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
			       0, &r, &used), 1);
	httpc_response_free(&r);
	/* Both framings at once is a smuggling pattern. */
	parse_err("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "3\r\nabc\r\n0\r\n\r\n", 0);
	parse_err("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0);
}
END_TEST

START_TEST(test_chunked)
{
	const char *s = "HTTP/1.1 201 Created\r\nTransfer-Encoding: Chunked\r\n\r\n"
			"5;ext=1\r\nhello\r\n"
			"A\r\n, chunked!\r\n"
			"0\r\nX-Trailer: y\r\n\r\nNEXT";
	struct httpc_response r;
	size_t used, n;
	struct lerr e;

	ck_assert_int_eq(parse(s, 0, &r, &used), 1);
	ck_assert_uint_eq(r.body_len, 15);
	ck_assert_mem_eq(r.body, "hello, chunked!", 15);
	ck_assert_uint_eq(used, strlen(s) - 4);
	httpc_response_free(&r);
	/* Every prefix before the final CRLF needs more. */
	for (n = 0; n < strlen(s) - 4; n++) {
		ck_assert_int_eq(httpc_parse_response((const unsigned char *)s, n, 0, 0, &r, &used, &e), 0);
		ck_assert_int_eq(httpc_parse_response((const unsigned char *)s, n, 1, 0, &r, &used, &e), -1);
	}
}
END_TEST

START_TEST(test_chunked_hostile)
{
	struct buf b;
	struct httpc_response r;
	struct lerr e;
	size_t used, i;

#define CH "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	parse_err(CH "zz\r\nab\r\n0\r\n\r\n", 0);		/* not hex */
	parse_err(CH "\r\nab\r\n0\r\n\r\n", 0);			/* no size */
	parse_err(CH "-1\r\nab\r\n0\r\n\r\n", 0);		/* negative */
	parse_err(CH "2x\r\nab\r\n0\r\n\r\n", 0);		/* junk after size */
	parse_err(CH "FFFFFFFFFFFFFFFFFFFF\r\n", 0);		/* overflow */
	parse_err(CH "40001\r\n", 0);				/* one past the cap */
	parse_err(CH "2\r\nabc\r\n0\r\n\r\n", 0);		/* data longer than size */
	parse_err(CH "3\r\nab\r\n\r\n0\r\n\r\n", 0);		/* CRLF missing after data */
	parse_err(CH "2\r\nab\r\n", 1);				/* truncated at eof */
	/* An endless chunk-size line is refused, not buffered. */
	buf_init(&b, 64 * 1024);
	ck_assert_int_eq(buf_puts(&b, CH "1"), 0);
	for (i = 0; i < 2000; i++)
		ck_assert_int_eq(buf_puts(&b, ";"), 0);
	ck_assert_int_eq(httpc_parse_response(b.data, b.len, 0, 0, &r, &used, &e), -1);
	/* Many small chunks adding up past the body cap are refused. */
	b.len = 0;
	buf_free(&b);
	buf_init(&b, 2 * 1024 * 1024);
	ck_assert_int_eq(buf_puts(&b, CH), 0);
	for (i = 0; i <= HTTPC_MAX_BODY / 4096; i++) {
		ck_assert_int_eq(buf_puts(&b, "1000\r\n"), 0);
		ck_assert_ptr_nonnull(memset(buf_extend(&b, 4096), 'x', 4096));
		ck_assert_int_eq(buf_puts(&b, "\r\n"), 0);
	}
	ck_assert_int_eq(buf_puts(&b, "0\r\n\r\n"), 0);
	ck_assert_int_eq(httpc_parse_response(b.data, b.len, 0, 0, &r, &used, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "over"));
	buf_free(&b);
#undef CH
}
END_TEST

START_TEST(test_until_close_and_interim)
{
	struct httpc_response r;
	size_t used;

	/* No length: the body runs to the close, and only then is complete. */
	ck_assert_int_eq(parse("HTTP/1.0 200 OK\r\n\r\nbody", 0, &r, &used), 0);
	ck_assert_int_eq(parse("HTTP/1.0 200 OK\r\n\r\nbody", 1, &r, &used), 1);
	ck_assert_uint_eq(r.body_len, 4);
	ck_assert_int_eq(r.close, 1);
	httpc_response_free(&r);
	/* HTTP/1.0 closes unless it says keep-alive. */
	ck_assert_int_eq(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, &r, &used), 1);
	ck_assert_int_eq(r.close, 1);
	httpc_response_free(&r);
	ck_assert_int_eq(parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
			       0, &r, &used), 1);
	ck_assert_int_eq(r.close, 0);
	httpc_response_free(&r);
	/* A 100 Continue before the real answer is skipped. */
	ck_assert_int_eq(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 403 Forbidden\r\n"
			       "Content-Length: 2\r\n\r\n{}", 0, &r, &used), 1);
	ck_assert_int_eq(r.status, 403);
	httpc_response_free(&r);
	/* A HEAD answer has no body whatever Content-Length says. */
	{
		const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
		struct lerr e;

		memset(&r, 0, sizeof(r));
		ck_assert_int_eq(httpc_parse_response((const unsigned char *)s, strlen(s), 0, 1, &r, &used, &e), 1);
		ck_assert_ptr_null(r.body);
		ck_assert_uint_eq(used, strlen(s));
		httpc_response_free(&r);
	}
}
END_TEST

START_TEST(test_url)
{
	struct httpc_url u;
	struct lerr e;

	ck_assert_int_eq(httpc_url_parse("https://gw.local:8443", &u, &e), 0);
	ck_assert_int_eq(u.tls, 1);
	ck_assert_str_eq(u.host, "gw.local");
	ck_assert_str_eq(u.port, "8443");
	ck_assert_str_eq(u.path, "/");
	ck_assert_int_eq(httpc_url_parse("http://127.0.0.1/ca.crt", &u, &e), 0);
	ck_assert_int_eq(u.tls, 0);
	ck_assert_str_eq(u.port, "80");
	ck_assert_str_eq(u.path, "/ca.crt");
	ck_assert_int_eq(httpc_url_parse("https://[fd00::1]:443/x?y=1", &u, &e), 0);
	ck_assert_str_eq(u.host, "fd00::1");
	ck_assert_str_eq(u.path, "/x?y=1");
	ck_assert_int_eq(httpc_url_parse("ftp://x/", &u, &e), -1);
	ck_assert_int_eq(httpc_url_parse("https://", &u, &e), -1);
	ck_assert_int_eq(httpc_url_parse("https://h:0/", &u, &e), -1);
	ck_assert_int_eq(httpc_url_parse("https://h:65536/", &u, &e), -1);
	ck_assert_int_eq(httpc_url_parse("https://h:99999999999999999999/", &u, &e), -1);
	ck_assert_int_eq(httpc_url_parse("https://h:/", &u, &e), -1);
	ck_assert_int_eq(httpc_url_parse("https://h:8x/", &u, &e), -1);
	ck_assert_int_eq(httpc_url_parse("https://user@h/", &u, &e), -1);
	ck_assert_int_eq(httpc_url_parse("https://h/a#frag", &u, &e), -1);
	ck_assert_int_eq(httpc_url_parse("https://h/a b", &u, &e), -1);
	ck_assert_int_eq(httpc_url_parse("https://h/\r\nX: y", &u, &e), -1);
	ck_assert_int_eq(httpc_url_parse("https://[::1/", &u, &e), -1);
}
END_TEST

/* A listening socket on 127.0.0.1 with a kernel-chosen port in *port. */
static int
listen_local(int *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* The peer address of the next connection on lfd, as text. */
static void
accept_from(int lfd, char *out, size_t n)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = accept(lfd, (struct sockaddr *)&sa, &sl);

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(inet_ntop(AF_INET, &sa.sin_addr, out, (socklen_t)n));
	close(fd);
}

START_TEST(test_open_from)
{
	struct httpc_conn *c = NULL;
	struct lerr e;
	char url[64], peer[INET_ADDRSTRLEN];
	int lfd, port;

	lfd = listen_local(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	ck_assert_int_eq(httpc_open_from(url, "127.0.0.9", NULL, 5, &c, &e), 0);
	accept_from(lfd, peer, sizeof(peer));
	ck_assert_str_eq(peer, "127.0.0.9");
	httpc_close(c);
	ck_assert_int_eq(httpc_open(url, NULL, 5, &c, &e), 0);
	accept_from(lfd, peer, sizeof(peer));
	ck_assert_str_eq(peer, "127.0.0.1");
	httpc_close(c);
	/* Not a numeric address, or one of the other family: refused by name. */
	lerr_clear(&e);
	ck_assert_int_eq(httpc_open_from(url, "localhost", NULL, 5, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "source address localhost"));
	ck_assert_int_eq(httpc_open_from(url, "::1", NULL, 5, &c, &e), -1);
	ck_assert_ptr_null(c);
	close(lfd);
}
END_TEST

/* A bootstrap connection (no anchor, for EST's /cacerts) is asked for
 * explicitly: https without a root is still refused, and a bootstrap that
 * also names a root or a client certificate is a caller's mistake. All
 * refused before any connection is tried. */
START_TEST(test_bootstrap_settings)
{
	struct httpc_conn *c = NULL;
	struct httpc_tls tls;
	struct lerr e;

	memset(&tls, 0, sizeof(tls));
	lerr_clear(&e);
	ck_assert_int_eq(httpc_open("https://127.0.0.1:1/", &tls, 5, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "https needs a root to trust"));
	tls.bootstrap = 1;
	tls.root_pem = "x";
	tls.root_len = 1;
	lerr_clear(&e);
	ck_assert_int_eq(httpc_open("https://127.0.0.1:1/", &tls, 5, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "a bootstrap connection takes no root or certificate"));
	tls.root_pem = NULL;
	tls.cert_pem = "x";
	lerr_clear(&e);
	ck_assert_int_eq(httpc_open("https://127.0.0.1:1/", &tls, 5, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "a bootstrap connection takes no root or certificate"));
	ck_assert_ptr_null(c);
}
END_TEST

static Suite *
httpc_suite(void)
{
	Suite *s = suite_create("httpc");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_created_with_length);
	tcase_add_test(tc, test_pending_headers);
	tcase_add_test(tc, test_retry_after_garbage);
	tcase_add_test(tc, test_www_authenticate);
	tcase_add_test(tc, test_needs_more);
	tcase_add_test(tc, test_bad_status_lines);
	tcase_add_test(tc, test_bad_headers);
	tcase_add_test(tc, test_huge_headers);
	tcase_add_test(tc, test_content_length_hostile);
	tcase_add_test(tc, test_chunked);
	tcase_add_test(tc, test_chunked_hostile);
	tcase_add_test(tc, test_until_close_and_interim);
	tcase_add_test(tc, test_url);
	suite_add_tcase(s, tc);
	tc = tcase_create("connect");
	tcase_add_test(tc, test_open_from);
	tcase_add_test(tc, test_bootstrap_settings);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(httpc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
