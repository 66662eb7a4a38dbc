/*
 * test_acmecheck.c - ACME's challenge validations (daemon/acmecheck.h)
 * against tiny servers this test runs itself on 127.0.0.1, each on an
 * ephemeral port in a thread of its own: a plain HTTP responder answering
 * canned responses by path, one that accepts and never answers, and a
 * GnuTLS server with a validation certificate made here in memory (its
 * acmeIdentifier encoded through a libtasn1 tree parsed from
 * src/daemon/acmecheck.asn, so the table in acmecheck.c cannot drift from
 * the file unnoticed).
 *
 * http-01: the key authorization with a trailing newline passes, with the
 * request's Host, Connection and User-Agent as sent; chunked bodies pass;
 * a wrong body, a 404, a redirect loop, an https redirect, an oversized
 * body, a server that never answers (300 ms), a closed port and an
 * address the policy refuses (no connection made) each fail with a
 * message naming the URL or address; redirects are followed (one to an
 * IPv4-mapped address judged by the policy as the IPv4 address it is), a
 * name (localhost) is resolved, an IPv6 identifier is asked for with its
 * Host in brackets. tls-alpn-01: a good certificate passes for an IPv4
 * and an IPv6 identifier (SNI the in-addr.arpa and ip6.arpa names) and a
 * DNS one; a server that never answers times out; no ALPN, a
 * wrong digest, a non-critical extension, another SAN, two SANs, no
 * extension, a value of 31 bytes or of another type each fail. The
 * response parser and the reverse names are checked alone too.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <libtasn1.h>
#include <sodium.h>

#include "daemon/acmecheck.h"

#define TOKEN	"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define THUMB	"9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
#define KEYAUTH	TOKEN "." THUMB
#define WELL	"/.well-known/acme-challenge/" TOKEN

/* ---- the servers ---- */

enum srv_kind { SRV_HTTP, SRV_SLOW, SRV_TLS };

struct srv_route {
	const char *path;
	char *resp;		/* the whole response, malloc'd */
	size_t len;
};

struct srv {
	enum srv_kind kind;
	int lfd;
	unsigned short port;
	pthread_t th;
	atomic_int stop;
	atomic_int conns;	/* connections accepted */
	struct srv_route routes[8];
	size_t nroutes;
	char request[4096];	/* the last request's head (HTTP) */
	char sni[256];		/* the last SNI (TLS) */
	gnutls_certificate_credentials_t cred;
	int alpn;		/* TLS: offer acme-tls/1 */
};

/* Listens on 127.0.0.1 (or ::1 with v6) on an ephemeral port; 0, or -1
 * when v6 is asked for and the host has no IPv6 loopback. */
static int
srv_listen_af(struct srv *s, enum srv_kind kind, int v6)
{
	struct sockaddr_storage ss;
	socklen_t al = sizeof(ss);
	int one = 1;

	memset(s, 0, sizeof(*s));
	memset(&ss, 0, sizeof(ss));
	s->kind = kind;
	s->lfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (v6 && s->lfd < 0)
		return -1;
	ck_assert_int_ge(s->lfd, 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_loopback;
		al = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;

		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		al = sizeof(*a4);
	}
	if (bind(s->lfd, (struct sockaddr *)&ss, al) != 0) {
		ck_assert_msg(v6, "bind: %s", strerror(errno));
		close(s->lfd);
		return -1;
	}
	ck_assert_int_eq(listen(s->lfd, 8), 0);
	al = sizeof(ss);
	ck_assert_int_eq(getsockname(s->lfd, (struct sockaddr *)&ss, &al), 0);
	s->port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
			   : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

static void
srv_listen(struct srv *s, enum srv_kind kind)
{
	(void)srv_listen_af(s, kind, 0);
}

/* Adds a canned response (copied) for the request target path. */
static void
srv_route(struct srv *s, const char *path, const char *resp)
{
	ck_assert_uint_lt(s->nroutes, 8);
	s->routes[s->nroutes].path = path;
	s->routes[s->nroutes].resp = strdup(resp);
	ck_assert_ptr_nonnull(s->routes[s->nroutes].resp);
	s->routes[s->nroutes].len = strlen(resp);
	s->nroutes++;
}

/* The same with a response of len bytes the server takes and frees. */
static void
srv_route_raw(struct srv *s, const char *path, char *resp, size_t len)
{
	ck_assert_uint_lt(s->nroutes, 8);
	s->routes[s->nroutes].path = path;
	s->routes[s->nroutes].resp = resp;
	s->routes[s->nroutes].len = len;
	s->nroutes++;
}

static void
srv_send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void
srv_http(struct srv *s, int fd)
{
	static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found";
	char req[sizeof(s->request)], path[1024];
	size_t len = 0, i;
	ssize_t r;

	while (len < sizeof(req) - 1) {
		r = recv(fd, req + len, sizeof(req) - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[len] = '\0';
	memcpy(s->request, req, len + 1);
	if (sscanf(req, "GET %1023s ", path) != 1)
		return;
	for (i = 0; i < s->nroutes; i++) {
		if (strcmp(s->routes[i].path, path) == 0) {
			srv_send_all(fd, s->routes[i].resp, s->routes[i].len);
			return;
		}
	}
	srv_send_all(fd, nf, sizeof(nf) - 1);
}

static void
srv_tls(struct srv *s, int fd)
{
	static const char alpn[] = ACMECHECK_ALPN;
	gnutls_datum_t proto = { (unsigned char *)alpn, sizeof(alpn) - 1 };
	gnutls_session_t ses;
	char name[256];
	size_t nlen = sizeof(name) - 1;
	unsigned type;
	int r;

	if (gnutls_init(&ses, GNUTLS_SERVER) < 0)
		return;
	gnutls_set_default_priority(ses);
	gnutls_credentials_set(ses, GNUTLS_CRD_CERTIFICATE, s->cred);
	if (s->alpn)
		gnutls_alpn_set_protocols(ses, &proto, 1, 0);
	gnutls_transport_set_int(ses, fd);
	gnutls_handshake_set_timeout(ses, 3000);
	do
		r = gnutls_handshake(ses);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (gnutls_server_name_get(ses, name, &nlen, &type, 0) == 0) {
		name[nlen] = '\0';
		snprintf(s->sni, sizeof(s->sni), "%s", name);
	}
	if (r == 0)
		gnutls_bye(ses, GNUTLS_SHUT_WR);
	gnutls_deinit(ses);
}

static void *
srv_main(void *arg)
{
	struct srv *s = arg;
	struct pollfd p;
	struct timeval tv = { 3, 0 };
	int fd;

	while (!atomic_load(&s->stop)) {
		p.fd = s->lfd;
		p.events = POLLIN;
		if (poll(&p, 1, 20) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		atomic_fetch_add(&s->conns, 1);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (s->kind == SRV_HTTP)
			srv_http(s, fd);
		else if (s->kind == SRV_TLS)
			srv_tls(s, fd);
		else
			while (!atomic_load(&s->stop))
				usleep(10000);
		close(fd);
	}
	return NULL;
}

static void
srv_go(struct srv *s)
{
	ck_assert_int_eq(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void
srv_end(struct srv *s)
{
	size_t i;

	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
	close(s->lfd);
	for (i = 0; i < s->nroutes; i++)
		free(s->routes[i].resp);
	if (s->cred != NULL)
		gnutls_certificate_free_credentials(s->cred);
}

/* A target for the loopback server on port. */
static struct acmecheck_target
target(unsigned short port)
{
	struct acmecheck_target t;

	memset(&t, 0, sizeof(t));
	t.identifier = "127.0.0.1";
	t.is_ip = 1;
	t.token = TOKEN;
	t.key_auth = KEYAUTH;
	t.port = port;
	t.timeout_ms = 3000;
	return t;
}

/* printf into a malloc'd string. */
__attribute__((format(printf, 1, 2)))
static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;
	int r;

	va_start(ap, f);
	r = vasprintf(&s, f, ap);
	va_end(ap);
	ck_assert_int_ge(r, 0);
	return s;
}

/* ---- the parser alone ---- */

static int
parse(const char *raw, int eof, struct acmecheck_http_resp *r, struct lerr *e)
{
	lerr_clear(e);
	return acmecheck_http_parse((const unsigned char *)raw, strlen(raw), eof, r, e);
}

START_TEST(test_parse)
{
	struct acmecheck_http_resp *r = malloc(sizeof(*r));
	struct lerr e;
	char *big;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 0, r, &e), 1);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->body_len, 3);
	ck_assert_int_eq(memcmp(r->body, "abc", 3), 0);
	/* Bytes missing: more, or cut short at eof. */
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabc", 0, r, &e), 0);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabc", 1, r, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_ptr_nonnull(strstr(e.msg, "closed after 3 of 4"));
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Le", 0, r, &e), 0);
	ck_assert_int_eq(parse("", 1, r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "without an answer"));
	/* Up to eof, LF-only lines, HTTP/1.0. */
	ck_assert_int_eq(parse("HTTP/1.0 200 OK\n\nxyz\n", 0, r, &e), 0);
	ck_assert_int_eq(parse("HTTP/1.0 200 OK\n\nxyz\n", 1, r, &e), 1);
	ck_assert_uint_eq(r->body_len, 4);
	/* Chunked, with an extension, and Content-Length ignored. */
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"
			       "3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n", 0, r, &e), 1);
	ck_assert_uint_eq(r->body_len, 13);
	ck_assert_int_eq(memcmp(r->body, "abc0123456789", 13), 0);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", 0, r, &e), 0);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", 0, r, &e), -1);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, r, &e), -1);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFF\r\n", 0, r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "over 8192"));
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "Transfer-Encoding"));
	/* A non-200 answer is complete at its headers, body unread. */
	ck_assert_int_eq(parse("HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 99999\r\n\r\n", 0, r, &e), 1);
	ck_assert_int_eq(r->status, 302);
	ck_assert_int_eq(r->has_location, 1);
	ck_assert_str_eq(r->location, "/x");
	ck_assert_int_eq(r->body_read, 0);
	/* Refusals. */
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 9000\r\n\r\n", 0, r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "9000 bytes is over 8192"));
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 0, r, &e), -1);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 0, r, &e), 1);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, r, &e), -1);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", 0, r, &e), -1);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", 0, r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "folded"));
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nX a\r\n\r\n", 0, r, &e), -1);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", 0, r, &e), -1);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nLocation: /a\r\nLocation: /b\r\n\r\n", 0, r, &e), -1);
	ck_assert_int_eq(parse("HTTP/2 200 OK\r\n\r\n", 0, r, &e), -1);
	ck_assert_int_eq(parse("HTTP/1.1 20 OK\r\n\r\n", 0, r, &e), -1);
	ck_assert_int_eq(parse("HTTP/1.1 099 OK\r\n\r\n", 0, r, &e), -1);
	ck_assert_int_eq(parse("SSH-2.0-OpenSSH\r\n\r\n", 0, r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not an HTTP/1.x response"));
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n\x01", 0, r, &e), 1);
	/* Headers past the cap, with or without a line end in them. */
	big = malloc(ACMECHECK_HEAD_MAX + 64);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', ACMECHECK_HEAD_MAX + 63);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	big[ACMECHECK_HEAD_MAX + 63] = '\0';
	ck_assert_int_eq(parse(big, 0, r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "headers are over"));
	/* A body to eof past the cap is refused before eof. */
	snprintf(big, ACMECHECK_HEAD_MAX + 64, "HTTP/1.1 200 OK\r\n\r\n");
	memset(big + 19, 'b', ACMECHECK_BODY_MAX + 1);
	big[19 + ACMECHECK_BODY_MAX + 1] = '\0';
	ck_assert_int_eq(parse(big, 0, r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "body is over"));
	free(big);
	free(r);
}
END_TEST

START_TEST(test_ip_sni)
{
	char out[ACMECHECK_SNI_MAX];
	struct lerr e;

	ck_assert_int_eq(acmecheck_ip_sni("10.1.2.3", out, sizeof(out), &e), 0);
	ck_assert_str_eq(out, "3.2.1.10.in-addr.arpa");
	ck_assert_int_eq(acmecheck_ip_sni("2001:db8::567:89ab", out, sizeof(out), &e), 0);
	/* RFC 3596 §2.5's example, lower case. */
	ck_assert_str_eq(out, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	ck_assert_int_eq(acmecheck_ip_sni("nas.home.arpa", out, sizeof(out), &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(acmecheck_ip_sni("fe80::1%eth0", out, sizeof(out), &e), -1);
	ck_assert_int_eq(acmecheck_ip_sni("10.1.2.3", out, 10, &e), -1);
}
END_TEST

START_TEST(test_bad_targets)
{
	struct acmecheck_target t = target(80);
	struct lerr e;

	t.token = "short";
	t.key_auth = "short." THUMB;
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	t = target(80);
	t.token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ/PCt92wr-oA";
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	t = target(80);
	t.key_auth = "otherTokenABCDEFGHIJKLMNOPQRSTU." THUMB;
	ck_assert_int_eq(acmecheck_tlsalpn01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	t = target(80);
	t.key_auth = TOKEN ".";
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	t = target(80);
	t.identifier = "nas.home.arpa";
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);	/* is_ip, but a name */
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	t.is_ip = 0;
	t.identifier = "nas home/arpa";
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	t.identifier = "10.0.0.1";	/* an address as a DNS identifier */
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	t = target(80);
	t.timeout_ms = 0;
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	t = target(0);
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	t = target(80);
	t.identifier = "::ffff:127.0.0.1";
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_ptr_nonnull(strstr(e.msg, "IPv4-mapped"));
}
END_TEST

/* ---- http-01 ---- */

static int allow_v4_loopback(const struct sockaddr *sa, socklen_t len, void *arg);

START_TEST(test_http_ok)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;
	char *host;

	srv_listen(&s, SRV_HTTP);
	srv_route(&s, WELL, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 88\r\n\r\n"
		  KEYAUTH "\n");
	srv_go(&s);
	t = target(s.port);
	lerr_clear(&e);
	ck_assert_msg(acmecheck_http01(&t, &e) == 0, "%s", e.msg);
	srv_end(&s);
	ck_assert_int_eq(atomic_load(&s.conns), 1);
	host = fmt("\r\nHost: 127.0.0.1:%u\r\n", s.port);
	ck_assert_msg(strstr(s.request, host) != NULL, "%s", s.request);
	ck_assert_ptr_nonnull(strstr(s.request, "GET " WELL " HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strstr(s.request, "\r\nConnection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(s.request, "\r\nUser-Agent: lanca/"));
	free(host);
}
END_TEST

START_TEST(test_http_chunked_ok)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;

	srv_listen(&s, SRV_HTTP);
	srv_route(&s, WELL, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "2b\r\n" TOKEN "\r\n2d\r\n." THUMB " \r\n0\r\n\r\n");
	srv_go(&s);
	t = target(s.port);
	ck_assert_msg(acmecheck_http01(&t, &e) == 0, "%s", e.msg);
	srv_end(&s);
}
END_TEST

START_TEST(test_http_wrong_body)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;
	char *url;

	srv_listen(&s, SRV_HTTP);
	/* A prefix of the right one, and the right one with a leading space. */
	srv_route(&s, WELL, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" TOKEN ".\r\n");
	srv_go(&s);
	t = target(s.port);
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	url = fmt("http://127.0.0.1:%u" WELL, s.port);
	ck_assert_msg(strstr(e.msg, "the key authorization does not match") != NULL, "%s", e.msg);
	ck_assert_msg(strstr(e.msg, url) != NULL, "%s", e.msg);
	srv_end(&s);
	free(url);

	srv_listen(&s, SRV_HTTP);
	srv_route(&s, WELL, "HTTP/1.1 200 OK\r\nContent-Length: 88\r\n\r\n " KEYAUTH);
	srv_go(&s);
	t = target(s.port);
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_msg(strstr(e.msg, "does not match") != NULL, "%s", e.msg);
	srv_end(&s);
}
END_TEST

START_TEST(test_http_404)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;
	char *want;

	srv_listen(&s, SRV_HTTP);
	srv_go(&s);
	t = target(s.port);
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	want = fmt("got HTTP 404 for http://127.0.0.1:%u" WELL, s.port);
	ck_assert_msg(strcmp(e.msg, want) == 0, "%s", e.msg);
	srv_end(&s);
	free(want);
}
END_TEST

START_TEST(test_http_redirect_followed)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;
	char *r1;

	srv_listen(&s, SRV_HTTP);
	r1 = fmt("HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:%u/elsewhere?x=1#frag\r\n"
		 "Content-Length: 0\r\n\r\n", s.port);
	srv_route(&s, WELL, r1);
	srv_route(&s, "/elsewhere?x=1", "HTTP/1.1 307 Temporary\r\nLocation: /final\r\n\r\n");
	srv_route(&s, "/final", "HTTP/1.0 200 OK\r\n\r\n" KEYAUTH "\r\n\r\n");
	srv_go(&s);
	t = target(s.port);
	ck_assert_msg(acmecheck_http01(&t, &e) == 0, "%s", e.msg);
	srv_end(&s);
	ck_assert_int_eq(atomic_load(&s.conns), 3);
	free(r1);
}
END_TEST

/* A redirect to an IPv4-mapped address is judged, and connected to, as
 * the IPv4 address it is: a policy that knows 127.0.0.1 only sees it. */
START_TEST(test_http_redirect_mapped)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;
	char *r1;

	srv_listen(&s, SRV_HTTP);
	r1 = fmt("HTTP/1.1 302 Found\r\nLocation: http://[::ffff:127.0.0.1]:%u/m\r\n\r\n", s.port);
	srv_route(&s, WELL, r1);
	srv_route(&s, "/m", "HTTP/1.1 200 OK\r\nContent-Length: 87\r\n\r\n" KEYAUTH);
	srv_go(&s);
	t = target(s.port);
	t.addr_ok = allow_v4_loopback;
	t.addr_arg = &s.port;
	ck_assert_msg(acmecheck_http01(&t, &e) == 0, "%s", e.msg);
	srv_end(&s);
	ck_assert_int_eq(atomic_load(&s.conns), 2);
	free(r1);
}
END_TEST

START_TEST(test_http_redirect_loop)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;
	char *r[4];
	int i;

	srv_listen(&s, SRV_HTTP);
	r[0] = fmt("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%u/1\r\n\r\n", s.port);
	r[1] = fmt("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%u/2\r\n\r\n", s.port);
	r[2] = fmt("HTTP/1.1 303 See Other\r\nLocation: http://127.0.0.1:%u/3\r\n\r\n", s.port);
	r[3] = fmt("HTTP/1.1 308 Permanent\r\nLocation: http://127.0.0.1:%u/4\r\n\r\n", s.port);
	srv_route(&s, WELL, r[0]);
	srv_route(&s, "/1", r[1]);
	srv_route(&s, "/2", r[2]);
	srv_route(&s, "/3", r[3]);
	srv_route(&s, "/4", "HTTP/1.1 200 OK\r\nContent-Length: 87\r\n\r\n" KEYAUTH);
	srv_go(&s);
	t = target(s.port);
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_msg(strstr(e.msg, "redirects again") != NULL && strstr(e.msg, "/4") != NULL &&
		      strstr(e.msg, "3 redirects at most") != NULL, "%s", e.msg);
	srv_end(&s);
	ck_assert_int_eq(atomic_load(&s.conns), 4);
	for (i = 0; i < 4; i++)
		free(r[i]);
}
END_TEST

START_TEST(test_http_redirect_refused)
{
	static const char *const bad[] = {
		"https://127.0.0.1/x",		/* https */
		"ftp://127.0.0.1/x",		/* another scheme */
		"//127.0.0.1/x",		/* scheme-relative */
		"x",				/* relative */
		NULL,				/* user information (below) */
		"http://127.0.0.1:1/x",		/* another port */
		"http://bad_host!/x",		/* not a host name */
	};
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;
	char *loc, *resp;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		srv_listen(&s, SRV_HTTP);
		loc = bad[i] != NULL ? strdup(bad[i]) : fmt("http://user@127.0.0.1:%u/x", s.port);
		ck_assert_int_ge(asprintf(&resp, "HTTP/1.1 302 Found\r\nLocation: %s\r\n\r\n", loc), 0);
		srv_route(&s, WELL, resp);
		srv_route(&s, "/x", "HTTP/1.1 200 OK\r\nContent-Length: 87\r\n\r\n" KEYAUTH);
		srv_go(&s);
		t = target(s.port);
		ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
		ck_assert_int_eq(e.code, LERR_FORBIDDEN);
		ck_assert_msg(strstr(e.msg, "redirects to") != NULL, "%s", e.msg);
		if (i == 0)
			ck_assert_msg(strstr(e.msg, "https://127.0.0.1/x: lanca follows http:// redirects only") != NULL,
				      "%s", e.msg);
		srv_end(&s);
		ck_assert_int_eq(atomic_load(&s.conns), 1);
		free(loc);
		free(resp);
	}
}
END_TEST

START_TEST(test_http_oversized)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;
	char *big;
	size_t n;

	srv_listen(&s, SRV_HTTP);
	srv_route(&s, WELL, "HTTP/1.1 200 OK\r\nContent-Length: 9000\r\n\r\n");
	srv_go(&s);
	t = target(s.port);
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_msg(strstr(e.msg, "the body of 9000 bytes is over 8192 bytes") != NULL, "%s", e.msg);
	srv_end(&s);

	/* The same without a Content-Length: refused once past the cap. */
	n = 19 + 20000;
	big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "HTTP/1.1 200 OK\r\n\r\n", 19);
	memset(big + 19, 'z', n - 19);
	srv_listen(&s, SRV_HTTP);
	srv_route_raw(&s, WELL, big, n);
	srv_go(&s);
	t = target(s.port);
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_msg(strstr(e.msg, "the body is over 8192 bytes") != NULL, "%s", e.msg);
	srv_end(&s);
}
END_TEST

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_http_slow)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;
	double t0, dt;

	srv_listen(&s, SRV_SLOW);
	srv_go(&s);
	t = target(s.port);
	t.timeout_ms = 300;
	t0 = now_s();
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	dt = now_s() - t0;
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_msg(strstr(e.msg, "timed out after 300 ms") != NULL, "%s", e.msg);
	ck_assert_msg(dt >= 0.29 && dt < 1.5, "took %.3f s", dt);
	srv_end(&s);
}
END_TEST

START_TEST(test_http_refused)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;
	unsigned short port;
	char *want;

	srv_listen(&s, SRV_HTTP);	/* a free port, then closed */
	port = s.port;
	close(s.lfd);
	t = target(port);
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	want = fmt("connection to 127.0.0.1:%u refused", port);
	ck_assert_msg(strstr(e.msg, want) != NULL, "%s", e.msg);
	free(want);
}
END_TEST

static int
deny_all(const struct sockaddr *sa, socklen_t len, void *arg)
{
	(void)sa;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

/* Allows 127.0.0.1 on the expected port only. */
static int
allow_v4_loopback(const struct sockaddr *sa, socklen_t len, void *arg)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

	return sa->sa_family == AF_INET && len == sizeof(*s4) &&
	       s4->sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
	       ntohs(s4->sin_port) == *(unsigned short *)arg;
}

START_TEST(test_http_policy)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;
	int calls = 0;
	char *want;

	srv_listen(&s, SRV_HTTP);
	srv_route(&s, WELL, "HTTP/1.1 200 OK\r\nContent-Length: 87\r\n\r\n" KEYAUTH);
	srv_go(&s);
	t = target(s.port);
	t.addr_ok = deny_all;
	t.addr_arg = &calls;
	ck_assert_int_eq(acmecheck_http01(&t, &e), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	want = fmt("127.0.0.1:%u is outside the addresses lanca may validate", s.port);
	ck_assert_msg(strstr(e.msg, want) != NULL, "%s", e.msg);
	ck_assert_int_eq(calls, 1);
	/* tls-alpn-01 asks the same policy. */
	calls = 0;
	ck_assert_int_eq(acmecheck_tlsalpn01(&t, &e), -1);
	ck_assert_msg(strstr(e.msg, want) != NULL, "%s", e.msg);
	ck_assert_int_eq(calls, 1);
	usleep(100000);
	srv_end(&s);
	ck_assert_int_eq(atomic_load(&s.conns), 0);
	free(want);
}
END_TEST

START_TEST(test_http_localhost)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;
	char *host;

	srv_listen(&s, SRV_HTTP);
	srv_route(&s, WELL, "HTTP/1.1 200 OK\r\nContent-Length: 88\r\n\r\n" KEYAUTH "\n");
	srv_go(&s);
	t = target(s.port);
	t.identifier = "localhost";
	t.is_ip = 0;
	t.addr_ok = allow_v4_loopback;
	t.addr_arg = &s.port;
	ck_assert_msg(acmecheck_http01(&t, &e) == 0, "%s", e.msg);
	/* Without a policy, ::1 may come first and be refused: the next
	 * address is tried. */
	t.addr_ok = NULL;
	ck_assert_msg(acmecheck_http01(&t, &e) == 0, "%s", e.msg);
	srv_end(&s);
	host = fmt("\r\nHost: localhost:%u\r\n", s.port);
	ck_assert_msg(strstr(s.request, host) != NULL, "%s", s.request);
	free(host);
}
END_TEST

START_TEST(test_http_ipv6)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;
	char *host;

	if (srv_listen_af(&s, SRV_HTTP, 1) != 0) {
		fprintf(stderr, "test_http_ipv6: no IPv6 loopback here, not run\n");
		return;
	}
	srv_route(&s, WELL, "HTTP/1.1 200 OK\r\nContent-Length: 87\r\n\r\n" KEYAUTH);
	srv_go(&s);
	t = target(s.port);
	t.identifier = "::1";
	ck_assert_msg(acmecheck_http01(&t, &e) == 0, "%s", e.msg);
	srv_end(&s);
	host = fmt("\r\nHost: [::1]:%u\r\n", s.port);
	ck_assert_msg(strstr(s.request, host) != NULL, "%s", s.request);
	free(host);
}
END_TEST

/* ---- tls-alpn-01 ---- */

enum ext_mode { EXT_GOOD, EXT_WRONG_DIGEST, EXT_NONE, EXT_SHORT, EXT_INTEGER };

struct certspec {
	int san_types[2];	/* GNUTLS_SAN_*, 0 for none */
	const char *san_vals[2];
	enum ext_mode ext;
	int critical;
};

/* The DER of an Authorization (acmecheck.asn, parsed from the file here)
 * holding n bytes of p. */
static void
auth_der(const unsigned char *p, int n, unsigned char *out, int *outlen)
{
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];
	asn1_node defs = NULL, node = NULL;

	ck_assert_msg(asn1_parser2tree(TEST_SRCDIR "/src/daemon/acmecheck.asn", &defs, err) ==
		      ASN1_SUCCESS, "%s", err);
	ck_assert_int_eq(asn1_create_element(defs, "LancaAcmeCheck.Authorization", &node), ASN1_SUCCESS);
	ck_assert_int_eq(asn1_write_value(node, "", p, n), ASN1_SUCCESS);
	ck_assert_msg(asn1_der_coding(node, "", out, outlen, err) == ASN1_SUCCESS, "%s", err);
	asn1_delete_structure(&node);
	asn1_delete_structure(&defs);
}

/* A self-signed validation certificate after spec, its DER into *der
 * (gnutls_free it) and, when cred is not NULL, credentials serving it. */
static void
make_cert(const struct certspec *spec, gnutls_datum_t *der, gnutls_certificate_credentials_t *cred)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	unsigned char digest[32], enc[64], ip[16];
	unsigned char serial[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	int enclen = sizeof(enc), i;
	time_t now = time(NULL);

	ck_assert_int_eq(gnutls_x509_privkey_init(&key), 0);
	ck_assert_int_eq(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
			 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0), 0);
	ck_assert_int_eq(gnutls_x509_crt_init(&crt), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_version(crt, 3), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_activation_time(crt, now - 60), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_expiration_time(crt, now + 3600), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
						       "acme validation", 15), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_key(crt, key), 0);
	for (i = 0; i < 2; i++) {
		if (spec->san_types[i] == 0)
			continue;
		if (spec->san_types[i] == GNUTLS_SAN_IPADDRESS) {
			int v4 = inet_pton(AF_INET, spec->san_vals[i], ip) == 1;

			ck_assert(v4 || inet_pton(AF_INET6, spec->san_vals[i], ip) == 1);
			ck_assert_int_eq(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip,
					 v4 ? 4 : 16, GNUTLS_FSAN_APPEND), 0);
		} else {
			ck_assert_int_eq(gnutls_x509_crt_set_subject_alt_name(crt, spec->san_types[i],
					 spec->san_vals[i], strlen(spec->san_vals[i]),
					 GNUTLS_FSAN_APPEND), 0);
		}
	}
	ck_assert_int_eq(gnutls_hash_fast(GNUTLS_DIG_SHA256, KEYAUTH, strlen(KEYAUTH), digest), 0);
	switch (spec->ext) {
	case EXT_WRONG_DIGEST:
		digest[31] ^= 1;
		/* FALLTHROUGH */
	case EXT_GOOD:
		auth_der(digest, 32, enc, &enclen);
		break;
	case EXT_SHORT:
		auth_der(digest, 31, enc, &enclen);
		break;
	case EXT_INTEGER:
		enc[0] = 0x02;	/* INTEGER 5: the right tag is checked, not assumed */
		enc[1] = 0x01;
		enc[2] = 0x05;
		enclen = 3;
		break;
	case EXT_NONE:
		enclen = 0;
		break;
	}
	if (enclen > 0)
		ck_assert_int_eq(gnutls_x509_crt_set_extension_by_oid(crt, ACMECHECK_OID_ACME_IDENTIFIER,
				 enc, (size_t)enclen, (unsigned)spec->critical), 0);
	ck_assert_int_eq(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), 0);
	ck_assert_int_eq(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, der), 0);
	if (cred != NULL) {
		ck_assert_int_eq(gnutls_certificate_allocate_credentials(cred), 0);
		ck_assert_int_eq(gnutls_certificate_set_x509_key(*cred, &crt, 1, key), 0);
	}
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
}

/* Runs tls-alpn-01 against a server with spec's certificate: the result,
 * e filled, and the SNI the server saw into sni. */
static int
tls_run_af(const struct certspec *spec, int alpn, const char *identifier, int is_ip, int v6,
	   struct lerr *e, char *sni, size_t snisz)
{
	struct srv s;
	struct acmecheck_target t;
	gnutls_datum_t der;
	int r;

	if (srv_listen_af(&s, SRV_TLS, v6) != 0)
		return -2;
	make_cert(spec, &der, &s.cred);
	gnutls_free(der.data);
	s.alpn = alpn;
	srv_go(&s);
	t = target(s.port);
	t.identifier = identifier;
	t.is_ip = is_ip;
	lerr_clear(e);
	r = acmecheck_tlsalpn01(&t, e);
	srv_end(&s);
	ck_assert_int_eq(atomic_load(&s.conns), 1);
	if (sni != NULL)
		snprintf(sni, snisz, "%s", s.sni);
	return r;
}

static int
tls_run(const struct certspec *spec, int alpn, const char *identifier, int is_ip, struct lerr *e,
	char *sni, size_t snisz)
{
	return tls_run_af(spec, alpn, identifier, is_ip, 0, e, sni, snisz);
}

static const struct certspec good_ip = { { GNUTLS_SAN_IPADDRESS, 0 }, { "127.0.0.1", NULL },
					 EXT_GOOD, 1 };

START_TEST(test_tls_ok)
{
	struct certspec dns = { { GNUTLS_SAN_DNSNAME, 0 }, { "LocalHost", NULL }, EXT_GOOD, 1 };
	struct lerr e;
	char sni[256];
	int r;

	ck_assert_msg(tls_run(&good_ip, 1, "127.0.0.1", 1, &e, sni, sizeof(sni)) == 0, "%s", e.msg);
	ck_assert_str_eq(sni, "1.0.0.127.in-addr.arpa");
	ck_assert_msg(tls_run(&dns, 1, "localhost", 0, &e, sni, sizeof(sni)) == 0, "%s", e.msg);
	ck_assert_str_eq(sni, "localhost");
	dns.san_types[0] = GNUTLS_SAN_IPADDRESS;
	dns.san_vals[0] = "::1";
	r = tls_run_af(&dns, 1, "::1", 1, 1, &e, sni, sizeof(sni));
	if (r == -2) {
		fprintf(stderr, "test_tls_ok: no IPv6 loopback here, ::1 not tried\n");
		return;
	}
	ck_assert_msg(r == 0, "%s", e.msg);
	ck_assert_str_eq(sni, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
}
END_TEST

START_TEST(test_tls_no_alpn)
{
	struct lerr e;

	ck_assert_int_eq(tls_run(&good_ip, 0, "127.0.0.1", 1, &e, NULL, 0), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_msg(strstr(e.msg, "did not select ALPN acme-tls/1") != NULL &&
		      strstr(e.msg, "127.0.0.1:") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(test_tls_wrong_digest)
{
	struct certspec c = good_ip;
	struct lerr e;

	c.ext = EXT_WRONG_DIGEST;
	ck_assert_int_eq(tls_run(&c, 1, "127.0.0.1", 1, &e, NULL, 0), -1);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_msg(strstr(e.msg, "is not the SHA-256 of the key authorization") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(test_tls_not_critical)
{
	struct certspec c = good_ip;
	struct lerr e;

	c.critical = 0;
	ck_assert_int_eq(tls_run(&c, 1, "127.0.0.1", 1, &e, NULL, 0), -1);
	ck_assert_msg(strstr(e.msg, "not marked critical") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(test_tls_san_mismatch)
{
	struct certspec c = good_ip;
	struct lerr e;

	c.san_vals[0] = "127.0.0.2";
	ck_assert_int_eq(tls_run(&c, 1, "127.0.0.1", 1, &e, NULL, 0), -1);
	ck_assert_msg(strstr(e.msg, "subjectAltName is iPAddress 127.0.0.2, not iPAddress 127.0.0.1") != NULL,
		      "%s", e.msg);
	/* A dNSName does not stand for an IP identifier. */
	c.san_types[0] = GNUTLS_SAN_DNSNAME;
	c.san_vals[0] = "127.0.0.1";
	ck_assert_int_eq(tls_run(&c, 1, "127.0.0.1", 1, &e, NULL, 0), -1);
	ck_assert_msg(strstr(e.msg, "dNSName 127.0.0.1, not iPAddress") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(test_tls_two_sans)
{
	struct certspec c = { { GNUTLS_SAN_IPADDRESS, GNUTLS_SAN_DNSNAME }, { "127.0.0.1", "other.example" },
			      EXT_GOOD, 1 };
	struct lerr e;

	ck_assert_int_eq(tls_run(&c, 1, "127.0.0.1", 1, &e, NULL, 0), -1);
	ck_assert_msg(strstr(e.msg, "subjectAltName has 2 entries") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(test_tls_slow)
{
	struct srv s;
	struct acmecheck_target t;
	struct lerr e;

	srv_listen(&s, SRV_SLOW);
	srv_go(&s);
	t = target(s.port);
	t.timeout_ms = 300;
	ck_assert_int_eq(acmecheck_tlsalpn01(&t, &e), -1);
	ck_assert_msg(strstr(e.msg, "TLS handshake with 127.0.0.1:") != NULL &&
		      strstr(e.msg, "timed out after 300 ms") != NULL, "%s", e.msg);
	srv_end(&s);
}
END_TEST

/* The certificate checks without a handshake: every extension fault. */
START_TEST(test_alpn_cert)
{
	static const struct {
		struct certspec spec;
		const char *want;
	} cases[] = {
		{ { { GNUTLS_SAN_IPADDRESS, 0 }, { "127.0.0.1", NULL }, EXT_GOOD, 1 }, NULL },
		{ { { GNUTLS_SAN_IPADDRESS, 0 }, { "127.0.0.1", NULL }, EXT_NONE, 1 },
		  "no acmeIdentifier extension" },
		{ { { GNUTLS_SAN_IPADDRESS, 0 }, { "127.0.0.1", NULL }, EXT_SHORT, 1 },
		  "holds 31 bytes" },
		{ { { GNUTLS_SAN_IPADDRESS, 0 }, { "127.0.0.1", NULL }, EXT_INTEGER, 1 },
		  "not a DER OCTET STRING" },
		{ { { 0, 0 }, { NULL, NULL }, EXT_GOOD, 1 }, "no subjectAltName" },
		{ { { GNUTLS_SAN_IPADDRESS, 0 }, { "::1", NULL }, EXT_GOOD, 1 },
		  "iPAddress ::1, not iPAddress 127.0.0.1" },
	};
	struct acmecheck_target t = target(443);
	gnutls_datum_t der;
	struct lerr e;
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_cert(&cases[i].spec, &der, NULL);
		lerr_clear(&e);
		r = acmecheck_alpn_cert(der.data, der.size, &t, &e);
		if (cases[i].want == NULL) {
			ck_assert_msg(r == 0, "case %zu: %s", i, e.msg);
		} else {
			ck_assert_msg(r == -1 && e.code == LERR_FORBIDDEN &&
				      strstr(e.msg, cases[i].want) != NULL, "case %zu: %s", i, e.msg);
		}
		if (i == 0) {
			/* Garbage after the certificate and a cut one are refused. */
			ck_assert_int_eq(acmecheck_alpn_cert(der.data, der.size - 1, &t, &e), -1);
			ck_assert_ptr_nonnull(strstr(e.msg, "cannot be parsed"));
		}
		gnutls_free(der.data);
	}
}
END_TEST

static Suite *
acmecheck_suite(void)
{
	Suite *s = suite_create("acmecheck");
	TCase *tp = tcase_create("parse");
	TCase *th = tcase_create("http01");
	TCase *tt = tcase_create("tlsalpn01");

	tcase_add_test(tp, test_parse);
	tcase_add_test(tp, test_ip_sni);
	tcase_add_test(tp, test_bad_targets);
	tcase_set_timeout(th, 30);
	tcase_add_test(th, test_http_ok);
	tcase_add_test(th, test_http_chunked_ok);
	tcase_add_test(th, test_http_wrong_body);
	tcase_add_test(th, test_http_404);
	tcase_add_test(th, test_http_redirect_followed);
	tcase_add_test(th, test_http_redirect_mapped);
	tcase_add_test(th, test_http_redirect_loop);
	tcase_add_test(th, test_http_redirect_refused);
	tcase_add_test(th, test_http_oversized);
	tcase_add_test(th, test_http_slow);
	tcase_add_test(th, test_http_refused);
	tcase_add_test(th, test_http_policy);
	tcase_add_test(th, test_http_localhost);
	tcase_add_test(th, test_http_ipv6);
	tcase_set_timeout(tt, 30);
	tcase_add_test(tt, test_tls_ok);
	tcase_add_test(tt, test_tls_no_alpn);
	tcase_add_test(tt, test_tls_wrong_digest);
	tcase_add_test(tt, test_tls_not_critical);
	tcase_add_test(tt, test_tls_san_mismatch);
	tcase_add_test(tt, test_tls_two_sans);
	tcase_add_test(tt, test_tls_slow);
	tcase_add_test(tt, test_alpn_cert);
	suite_add_tcase(s, tp);
	suite_add_tcase(s, th);
	suite_add_tcase(s, tt);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(acmecheck_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
