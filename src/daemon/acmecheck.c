/*
 * acmecheck.c - ACME's http-01 and tls-alpn-01 validations (see
 * acmecheck.h).
 *
 * Each validation has one deadline, read from the monotonic clock once at
 * the start; every connect, send, read and handshake step polls with what
 * is left of it, so a device that answers slowly, or not at all, costs
 * the worker thread timeout_ms and no more. Addresses are asked of the
 * caller's policy all at once before the first connection, so a name that
 * resolves to one allowed and one forbidden address never gets the
 * forbidden one tried. The HTTP response parser is a pure function over
 * the bytes read so far and is simply run again after every read (a
 * response is at most ACMECHECK_RAW_MAX bytes, re-parsing costs nothing
 * that matters and keeps the parser free of hidden state). Nothing here is
 * global: the ASN.1 definitions tree is built per certificate check, which
 * for one type is cheap.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <resolv.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <libtasn1.h>
#include <sodium.h>

#include "daemon/acmecheck.h"

#define ACMECHECK_ADDRS_MAX	16	/* addresses of one name tried, at most */
#define ACMECHECK_CHUNK_LINE_MAX 1024	/* a chunk-size line with its extensions */
#define ACMECHECK_KEYAUTH_MAX	(ACMECHECK_TOKEN_MAX + 1 + 86)	/* a thumbprint of up to 64 bytes */
#define ACMECHECK_DIGEST_LEN	32	/* SHA-256, RFC 8737 §3 */
#define ACMECHECK_WELL_KNOWN	"/.well-known/acme-challenge/"

/* Generated from acmecheck.asn by asn1Parser (the file says how). */
static const asn1_static_node acmecheck_asn1_tab[] = {
	{ "LancaAcmeCheck", 536875024, NULL },
	{ NULL, 1073741836, NULL },
	{ "Authorization", 538968071, NULL },
	{ NULL, 1048586, "32" },
	{ NULL, 0, NULL }
};

/* ---- the deadline ---- */

struct acmecheck_clock {
	struct timespec end;	/* CLOCK_MONOTONIC */
	unsigned total_ms;	/* for messages */
};

static void
acmecheck_clock_start(struct acmecheck_clock *c, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, &c->end);
	c->end.tv_sec += (time_t)(ms / 1000);
	c->end.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (c->end.tv_nsec >= 1000000000L) {
		c->end.tv_sec++;
		c->end.tv_nsec -= 1000000000L;
	}
	c->total_ms = ms;
}

/* Milliseconds left before the deadline, 0 once it has passed; a part of
 * a millisecond counts as one, so that poll never waits 0 too early. */
static int
acmecheck_left(const struct acmecheck_clock *c)
{
	struct timespec now;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = ((long long)c->end.tv_sec - now.tv_sec) * 1000000000LL + (c->end.tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	return (int)((ns + 999999) / 1000000);
}

/* "10 s" or "300 ms", the total timeout as an admin reads it. */
static const char *
acmecheck_clock_str(const struct acmecheck_clock *c, char *buf, size_t n)
{
	if (c->total_ms % 1000 == 0)
		snprintf(buf, n, "%u s", c->total_ms / 1000);
	else
		snprintf(buf, n, "%u ms", c->total_ms);
	return buf;
}

/* ---- the target ---- */

static int
acmecheck_b64url_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* A host name as lanca reaches it: LDH labels of 1..63 bytes separated by
 * dots, at most 253 bytes, an optional final dot. Underscores are allowed
 * (some LAN names have them); anything a URL or a Host header would treat
 * specially is not. */
static int
acmecheck_dns_name_ok(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > 254 || (len == 254 && s[253] != '.'))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

/* An address identifier or URL host: family and the address bytes (4 or
 * 16 into out). 0, or -1 when s is neither form (zone IDs included). */
static int
acmecheck_ip_parse(const char *s, int *family, unsigned char out[16])
{
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

/* ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), from its 16 bytes. */
static int
acmecheck_v4mapped(const unsigned char ip[16])
{
	static const unsigned char prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(ip, prefix, sizeof(prefix)) == 0;
}

static int
acmecheck_target_check(const struct acmecheck_target *t, struct lerr *e)
{
	size_t n, i;
	unsigned char ip[16];
	int fam;

	if (t == NULL || t->identifier == NULL || t->token == NULL || t->key_auth == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "ACME challenge: target incomplete");
	if (t->is_ip) {
		if (acmecheck_ip_parse(t->identifier, &fam, ip) != 0)
			return lerr_set(e, LERR_BAD_REQUEST,
					"ACME challenge: identifier \"%.64s\" is not an IP address",
					t->identifier);
		if (fam == AF_INET6 && acmecheck_v4mapped(ip))
			return lerr_set(e, LERR_BAD_REQUEST,
					"ACME challenge: identifier %s is an IPv4-mapped address",
					t->identifier);
	} else if (!acmecheck_dns_name_ok(t->identifier, strlen(t->identifier)) ||
		   acmecheck_ip_parse(t->identifier, &fam, ip) == 0) {
		return lerr_set(e, LERR_BAD_REQUEST,
				"ACME challenge: identifier \"%.64s\" is not a DNS name", t->identifier);
	}
	n = strlen(t->token);
	if (n < ACMECHECK_TOKEN_MIN || n > ACMECHECK_TOKEN_MAX)
		return lerr_set(e, LERR_BAD_REQUEST,
				"ACME challenge: token of %zu characters (%d..%d expected)", n,
				ACMECHECK_TOKEN_MIN, ACMECHECK_TOKEN_MAX);
	for (i = 0; i < n; i++)
		if (!acmecheck_b64url_char((unsigned char)t->token[i]))
			return lerr_set(e, LERR_BAD_REQUEST,
					"ACME challenge: token is not base64url");
	/* token "." thumbprint: the thumbprint base64url, not empty. */
	if (strncmp(t->key_auth, t->token, n) != 0 || t->key_auth[n] != '.' ||
	    t->key_auth[n + 1] == '\0' || strlen(t->key_auth) > ACMECHECK_KEYAUTH_MAX)
		return lerr_set(e, LERR_BAD_REQUEST,
				"ACME challenge: key authorization is not the token, a dot and a thumbprint");
	for (i = n + 1; t->key_auth[i] != '\0'; i++)
		if (!acmecheck_b64url_char((unsigned char)t->key_auth[i]))
			return lerr_set(e, LERR_BAD_REQUEST,
					"ACME challenge: key authorization's thumbprint is not base64url");
	if (t->port == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "ACME challenge: port 0");
	if (t->timeout_ms == 0 || t->timeout_ms > ACMECHECK_TIMEOUT_MAX)
		return lerr_set(e, LERR_BAD_REQUEST,
				"ACME challenge: timeout of %u ms (1..%d expected)", t->timeout_ms,
				ACMECHECK_TIMEOUT_MAX);
	return 0;
}

int
acmecheck_ip_sni(const char *ip, char *out, size_t outsz, struct lerr *e)
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char a[16];
	char buf[ACMECHECK_SNI_MAX];
	size_t at = 0;
	int fam, i, r;

	if (ip == NULL || acmecheck_ip_parse(ip, &fam, a) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "\"%.64s\" is not an IP address",
				ip != NULL ? ip : "");
	if (fam == AF_INET) {
		r = snprintf(buf, sizeof(buf), "%u.%u.%u.%u.in-addr.arpa", (unsigned)a[3],
			     (unsigned)a[2], (unsigned)a[1], (unsigned)a[0]);
		if (r < 0 || (size_t)r >= sizeof(buf))
			return lerr_set(e, LERR_INTERNAL, "reverse name too long");
	} else {
		/* Least significant nibble first (RFC 3596 §2.5). */
		for (i = 15; i >= 0; i--) {
			buf[at++] = hexd[a[i] & 0x0f];
			buf[at++] = '.';
			buf[at++] = hexd[a[i] >> 4];
			buf[at++] = '.';
		}
		memcpy(buf + at, "ip6.arpa", sizeof("ip6.arpa"));
	}
	if (strlen(buf) >= outsz)
		return lerr_set(e, LERR_BAD_REQUEST, "no room for the reverse name of %s", ip);
	memcpy(out, buf, strlen(buf) + 1);
	return 0;
}

/* ---- addresses and connections ---- */

struct acmecheck_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[INET6_ADDRSTRLEN + 8 + 3];	/* "10.0.0.5:80", "[fd00::5]:443" */
};

static void
acmecheck_addr_text(struct acmecheck_addr *a)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(a->text, sizeof(a->text), "[%s]:%u", host, port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(a->text, sizeof(a->text), "%s:%u", host, port);
	}
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d, which a name's AAAA record
 * or a redirect may give) made the AF_INET address it reaches, so that the
 * policy judges the address a connection really goes to. */
static void
acmecheck_unmap(struct acmecheck_addr *a)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in *s4;

	if (a->ss.ss_family != AF_INET6)
		return;
	memcpy(&s6, &a->ss, sizeof(s6));
	if (!acmecheck_v4mapped(s6.sin6_addr.s6_addr))
		return;
	memset(&a->ss, 0, sizeof(a->ss));
	s4 = (struct sockaddr_in *)&a->ss;
	s4->sin_family = AF_INET;
	s4->sin_port = s6.sin6_port;
	memcpy(&s4->sin_addr, &s6.sin6_addr.s6_addr[12], 4);
	a->len = sizeof(*s4);
}

/* Appends to msg (size n, NUL-ended) "; " and the formatted text, as far
 * as it fits: the reasons of several failed addresses in one message. */
__attribute__((format(printf, 3, 4)))
static void
acmecheck_note(char *msg, size_t n, const char *fmt, ...)
{
	size_t at = strlen(msg);
	va_list ap;

	if (at > 0 && at + 2 < n) {
		memcpy(msg + at, "; ", 3);
		at += 2;
	}
	if (at + 1 >= n)
		return;
	va_start(ap, fmt);
	vsnprintf(msg + at, n - at, fmt, ap);
	va_end(ap);
}

/*
 * The addresses of host (an IP literal when is_ip, else a name resolved
 * with getaddrinfo) on port into a[] (*n of them, duplicates dropped), and
 * how many of them the policy refused into *refused, with their text in
 * why. 0, or -1 with e when there is no address at all.
 */
static int
acmecheck_resolve(const char *host, int is_ip, unsigned short port,
		  const struct acmecheck_target *t, struct acmecheck_addr *a, size_t *n,
		  char *why, size_t whysz, struct lerr *e)
{
	struct acmecheck_addr cand[ACMECHECK_ADDRS_MAX];
	struct addrinfo hints, *res = NULL, *ai;
	char refused[sizeof(((struct lerr *)0)->msg)] = "";
	size_t nc = 0, i, j;
	int r;

	*n = 0;
	if (is_ip) {
		unsigned char ip[16];
		int fam;

		if (acmecheck_ip_parse(host, &fam, ip) != 0)
			return lerr_set(e, LERR_FORBIDDEN, "%.100s is not an IP address", host);
		memset(&cand[0], 0, sizeof(cand[0]));
		if (fam == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&cand[0].ss;

			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, ip, 4);
			cand[0].len = sizeof(*s4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&cand[0].ss;

			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, ip, 16);
			cand[0].len = sizeof(*s6);
		}
		acmecheck_unmap(&cand[0]);
		nc = 1;
	} else {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		r = getaddrinfo(host, NULL, &hints, &res);
		if (r != 0)
			return lerr_set(e, LERR_FORBIDDEN, "no address for %s (%s)", host,
					r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		for (ai = res; ai != NULL && nc < ACMECHECK_ADDRS_MAX; ai = ai->ai_next) {
			if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
			    ai->ai_addrlen > sizeof(cand[nc].ss))
				continue;
			memset(&cand[nc], 0, sizeof(cand[nc]));
			memcpy(&cand[nc].ss, ai->ai_addr, ai->ai_addrlen);
			cand[nc].len = ai->ai_addrlen;
			acmecheck_unmap(&cand[nc]);
			for (j = 0; j < nc; j++)
				if (cand[j].len == cand[nc].len &&
				    memcmp(&cand[j].ss, &cand[nc].ss, cand[nc].len) == 0)
					break;
			if (j == nc)
				nc++;
		}
		freeaddrinfo(res);
		if (nc == 0)
			return lerr_set(e, LERR_FORBIDDEN, "no address for %s", host);
	}
	for (i = 0; i < nc; i++) {
		if (cand[i].ss.ss_family == AF_INET)
			((struct sockaddr_in *)&cand[i].ss)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&cand[i].ss)->sin6_port = htons(port);
		acmecheck_addr_text(&cand[i]);
		if (t->addr_ok != NULL &&
		    !t->addr_ok((const struct sockaddr *)&cand[i].ss, cand[i].len, t->addr_arg)) {
			acmecheck_note(why, whysz, "%s skipped (outside the addresses lanca may validate)",
				       cand[i].text);
			acmecheck_note(refused, sizeof(refused), "%s", cand[i].text);
			continue;
		}
		a[(*n)++] = cand[i];
	}
	if (*n == 0)
		return is_ip ? lerr_set(e, LERR_FORBIDDEN,
					"%s is outside the addresses lanca may validate", refused)
			     : lerr_set(e, LERR_FORBIDDEN,
					"%s resolves only to addresses outside those lanca may validate: %s",
					host, refused);
	return 0;
}

/*
 * Connects to one address within ms milliseconds: a non-blocking socket
 * (which stays non-blocking) into *fd. 0, or -1 with the reason noted in
 * why.
 */
static int
acmecheck_connect_one(const struct acmecheck_addr *a, int ms, int *fd, char *why, size_t whysz)
{
	struct pollfd p;
	socklen_t sl = sizeof(int);
	int s, err = 0, r;

	*fd = -1;
	s = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		acmecheck_note(why, whysz, "no socket for %s: %s", a->text, strerror(errno));
		return -1;
	}
	if (connect(s, (const struct sockaddr *)&a->ss, a->len) != 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto fail;
		}
		p.fd = s;
		p.events = POLLOUT;
		do
			r = poll(&p, 1, ms);
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			acmecheck_note(why, whysz, "connection to %s timed out after %d ms", a->text, ms);
			close(s);
			return -1;
		}
		if (r < 0 || getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &sl) != 0)
			err = errno;
		if (err != 0)
			goto fail;
	}
	*fd = s;
	return 0;
fail:
	if (err == ECONNREFUSED)
		acmecheck_note(why, whysz, "connection to %s refused", a->text);
	else
		acmecheck_note(why, whysz, "connection to %s failed: %s", a->text, strerror(err));
	close(s);
	return -1;
}

/*
 * Resolves host and connects to its first allowed address that accepts,
 * each given an equal share of the time left. *fd and its address's text
 * into *used. 0, or -1 with e (LERR_FORBIDDEN, every address's reason).
 */
static int
acmecheck_connect(const char *host, int is_ip, const struct acmecheck_target *t,
		  const struct acmecheck_clock *c, int *fd, struct acmecheck_addr *used,
		  struct lerr *e)
{
	struct acmecheck_addr a[ACMECHECK_ADDRS_MAX];
	char why[sizeof(e->msg)] = "", tbuf[32];
	size_t n, i;
	int left, share;

	*fd = -1;
	if (acmecheck_resolve(host, is_ip, t->port, t, a, &n, why, sizeof(why), e) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		left = acmecheck_left(c);
		if (left == 0) {
			acmecheck_note(why, sizeof(why), "%s not tried: the validation's %s ran out",
				       a[i].text, acmecheck_clock_str(c, tbuf, sizeof(tbuf)));
			break;
		}
		share = left / (int)(n - i);
		if (acmecheck_connect_one(&a[i], share > 0 ? share : 1, fd, why, sizeof(why)) == 0) {
			*used = a[i];
			return 0;
		}
	}
	/* A name's addresses are listed: the admin sees which one failed. */
	return lerr_set(e, LERR_FORBIDDEN, "%s%s%s", is_ip ? "" : host, is_ip ? "" : ": ", why);
}

/* Waits until fd is ready for events or the deadline passes: 1 ready, 0
 * timed out, -1 error. */
static int
acmecheck_wait(int fd, short events, const struct acmecheck_clock *c)
{
	struct pollfd p;
	int left, r;

	for (;;) {
		left = acmecheck_left(c);
		if (left == 0)
			return 0;
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		r = poll(&p, 1, left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* ---- the HTTP response parser ---- */

static int
acmecheck_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A header value's byte: visible ASCII, space, tab, or obs-text. */
static int
acmecheck_vchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* The end of the line starting at buf[at] (the index of its '\n') within
 * buf[0..lim), or -1 when there is none yet. */
static long
acmecheck_line_end(const unsigned char *buf, size_t at, size_t lim)
{
	const unsigned char *nl;

	if (at >= lim)
		return -1;
	nl = memchr(buf + at, '\n', lim - at);
	return nl == NULL ? -1 : (long)(nl - buf);
}

/* Case-insensitive comparison of a header name of n bytes with a known one. */
static int
acmecheck_hname(const unsigned char *p, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp((const char *)p, name, n) == 0;
}

/* The status line (p, n bytes without its line ending). */
static int
acmecheck_status_line(const unsigned char *p, size_t n, struct acmecheck_http_resp *r,
		      struct lerr *e)
{
	size_t i;

	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
	    p[9] < '0' || p[9] > '9' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
	    (n > 12 && p[12] != ' '))
		return lerr_set(e, LERR_FORBIDDEN, "the answer is not an HTTP/1.x response");
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (r->status < 100 || r->status > 599)
		return lerr_set(e, LERR_FORBIDDEN, "the answer has status %d", r->status);
	for (i = 12; i < n; i++)
		if (!acmecheck_vchar(p[i]))
			return lerr_set(e, LERR_FORBIDDEN, "the status line has a control byte");
	return 0;
}

struct acmecheck_framing {
	int chunked;
	int have_cl;
	unsigned long long cl;
};

/* One header line (p, n bytes without its line ending). */
static int
acmecheck_header(const unsigned char *p, size_t n, struct acmecheck_http_resp *r,
		 struct acmecheck_framing *f, struct lerr *e)
{
	size_t name_len = 0, vs, ve, i;
	unsigned long long v = 0;

	if (p[0] == ' ' || p[0] == '\t')
		return lerr_set(e, LERR_FORBIDDEN, "the answer has a folded header line");
	while (name_len < n && acmecheck_tchar(p[name_len]))
		name_len++;
	if (name_len == 0 || name_len == n || p[name_len] != ':')
		return lerr_set(e, LERR_FORBIDDEN, "the answer has a malformed header line");
	for (vs = name_len + 1; vs < n && (p[vs] == ' ' || p[vs] == '\t'); vs++)
		;
	for (ve = n; ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'); ve--)
		;
	for (i = vs; i < ve; i++)
		if (!acmecheck_vchar(p[i]))
			return lerr_set(e, LERR_FORBIDDEN, "the answer has a control byte in a header");
	if (acmecheck_hname(p, name_len, "Content-Length")) {
		if (ve == vs || ve - vs > 19)
			return lerr_set(e, LERR_FORBIDDEN, "the answer has a bad Content-Length");
		for (i = vs; i < ve; i++) {
			if (p[i] < '0' || p[i] > '9')
				return lerr_set(e, LERR_FORBIDDEN, "the answer has a bad Content-Length");
			v = v * 10 + (unsigned)(p[i] - '0');	/* 19 digits cannot overflow */
		}
		if (f->have_cl && f->cl != v)
			return lerr_set(e, LERR_FORBIDDEN, "the answer has two different Content-Lengths");
		f->have_cl = 1;
		f->cl = v;
	} else if (acmecheck_hname(p, name_len, "Transfer-Encoding")) {
		if (f->chunked || ve - vs != 7 || strncasecmp((const char *)p + vs, "chunked", 7) != 0)
			return lerr_set(e, LERR_FORBIDDEN,
					"the answer has a Transfer-Encoding other than chunked: %.*s",
					(int)(ve - vs > 64 ? 64 : ve - vs), (const char *)p + vs);
		f->chunked = 1;
	} else if (acmecheck_hname(p, name_len, "Location")) {
		if (r->has_location)
			return lerr_set(e, LERR_FORBIDDEN, "the answer has two Location headers");
		if (ve - vs > ACMECHECK_LOCATION_MAX)
			return lerr_set(e, LERR_FORBIDDEN, "the answer's Location is over %d bytes",
					ACMECHECK_LOCATION_MAX);
		memcpy(r->location, p + vs, ve - vs);
		r->location[ve - vs] = '\0';
		r->has_location = 1;
	}
	return 0;
}

/* A line's length without its CR, and whether a CR stood anywhere else. */
static int
acmecheck_strip_cr(const unsigned char *p, size_t *n)
{
	if (*n > 0 && p[*n - 1] == '\r')
		(*n)--;
	return memchr(p, '\r', *n) == NULL ? 0 : -1;
}

/* The chunked body from buf[at]: 1, 0 or -1 as acmecheck_http_parse. */
static int
acmecheck_chunked(const unsigned char *buf, size_t len, size_t at, int eof,
		  struct acmecheck_http_resp *r, struct lerr *e)
{
	size_t n, i, size;
	long nl;
	int digits;

	for (;;) {
		size_t lim = len - at > ACMECHECK_CHUNK_LINE_MAX ? at + ACMECHECK_CHUNK_LINE_MAX : len;

		nl = acmecheck_line_end(buf, at, lim);
		if (nl < 0) {
			if (len - at >= ACMECHECK_CHUNK_LINE_MAX)
				return lerr_set(e, LERR_FORBIDDEN, "the answer has a chunk line over %d bytes",
						ACMECHECK_CHUNK_LINE_MAX);
			goto more;
		}
		n = (size_t)nl - at;
		if (acmecheck_strip_cr(buf + at, &n) != 0)
			return lerr_set(e, LERR_FORBIDDEN, "the answer has a bare CR in its chunks");
		size = 0;
		digits = 0;
		for (i = 0; i < n; i++) {
			unsigned char c = buf[at + i];
			unsigned d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				break;
			size = size * 16 + d;
			digits++;
			if (size > ACMECHECK_BODY_MAX)
				return lerr_set(e, LERR_FORBIDDEN, "the body is over %d bytes",
						ACMECHECK_BODY_MAX);
		}
		while (i < n && (buf[at + i] == ' ' || buf[at + i] == '\t'))
			i++;
		if (digits == 0 || (i < n && buf[at + i] != ';'))
			return lerr_set(e, LERR_FORBIDDEN, "the answer has a malformed chunk size");
		for (; i < n; i++)
			if (!acmecheck_vchar(buf[at + i]))
				return lerr_set(e, LERR_FORBIDDEN, "the answer has a control byte in a chunk extension");
		at = (size_t)nl + 1;
		if (size == 0)
			return 1;	/* the trailers are not needed: the connection closes */
		if (size > ACMECHECK_BODY_MAX - r->body_len)
			return lerr_set(e, LERR_FORBIDDEN, "the body is over %d bytes", ACMECHECK_BODY_MAX);
		if (len - at < size)
			goto more;
		memcpy(r->body + r->body_len, buf + at, size);
		r->body_len += size;
		at += size;
		if (at < len && buf[at] == '\r')
			at++;
		if (at >= len)
			goto more;
		if (buf[at] != '\n')
			return lerr_set(e, LERR_FORBIDDEN, "the answer has chunk data of the wrong size");
		at++;
	}
more:
	if (eof)
		return lerr_set(e, LERR_FORBIDDEN, "the connection closed in the middle of the body");
	return 0;
}

int
acmecheck_http_parse(const unsigned char *buf, size_t len, int eof,
		     struct acmecheck_http_resp *r, struct lerr *e)
{
	struct acmecheck_framing f = { 0, 0, 0 };
	size_t at = 0, n, lim, avail;
	long nl;
	int first = 1;

	r->status = 0;
	r->head_len = 0;
	r->has_location = 0;
	r->location[0] = '\0';
	r->body_read = 0;
	r->body_len = 0;
	lim = len < ACMECHECK_HEAD_MAX ? len : ACMECHECK_HEAD_MAX;
	for (;;) {
		nl = acmecheck_line_end(buf, at, lim);
		if (nl < 0) {
			if (len >= ACMECHECK_HEAD_MAX)
				return lerr_set(e, LERR_FORBIDDEN, "the answer's headers are over %d bytes",
						ACMECHECK_HEAD_MAX);
			if (eof)
				return lerr_set(e, LERR_FORBIDDEN, len == 0 ?
						"the connection closed without an answer" :
						"the connection closed in the middle of the headers");
			return 0;
		}
		n = (size_t)nl - at;
		if (acmecheck_strip_cr(buf + at, &n) != 0)
			return lerr_set(e, LERR_FORBIDDEN, "the answer has a bare CR in its headers");
		if (first) {
			if (acmecheck_status_line(buf + at, n, r, e) != 0)
				return -1;
			first = 0;
		} else if (n == 0) {
			at = (size_t)nl + 1;
			break;
		} else if (acmecheck_header(buf + at, n, r, &f, e) != 0) {
			return -1;
		}
		at = (size_t)nl + 1;
	}
	r->head_len = at;
	if (r->status != 200)
		return 1;
	r->body_read = 1;
	avail = len - at;
	if (f.chunked)
		return acmecheck_chunked(buf, len, at, eof, r, e);
	if (f.have_cl) {
		if (f.cl > ACMECHECK_BODY_MAX)
			return lerr_set(e, LERR_FORBIDDEN, "the body of %llu bytes is over %d bytes",
					f.cl, ACMECHECK_BODY_MAX);
		if (avail < f.cl) {
			if (eof)
				return lerr_set(e, LERR_FORBIDDEN,
						"the connection closed after %zu of %llu body bytes",
						avail, f.cl);
			return 0;
		}
		r->body_len = (size_t)f.cl;
		memcpy(r->body, buf + at, r->body_len);
		return 1;
	}
	if (avail > ACMECHECK_BODY_MAX)
		return lerr_set(e, LERR_FORBIDDEN, "the body is over %d bytes", ACMECHECK_BODY_MAX);
	if (!eof)
		return 0;
	r->body_len = avail;
	memcpy(r->body, buf + at, avail);
	return 1;
}

/* ---- http-01 ---- */

struct acmecheck_url {
	char host[256];		/* a name or an address, without brackets */
	int is_ip;
	char path[ACMECHECK_LOCATION_MAX + 1];
};

/* "http://HOST[:PORT]PATH" for messages and the Host header's value. */
static void
acmecheck_url_str(const struct acmecheck_url *u, unsigned short port, char *out, size_t n,
		  int host_only)
{
	int v6 = u->is_ip && strchr(u->host, ':') != NULL;
	char pbuf[8] = "";

	if (port != 80)
		snprintf(pbuf, sizeof(pbuf), ":%u", port);
	snprintf(out, n, "%s%s%s%s%s%s", host_only ? "" : "http://", v6 ? "[" : "", u->host,
		 v6 ? "]" : "", pbuf, host_only ? "" : u->path);
}

/* Bytes of a body an admin may see in a message: printable ASCII, the rest
 * as '?', at most 100 of them. */
static void
acmecheck_printable(const unsigned char *p, size_t n, char *out, size_t outsz)
{
	size_t i, m = n < outsz - 1 ? n : outsz - 1;

	if (m > 100)
		m = 100;
	for (i = 0; i < m; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[m] = '\0';
}

/*
 * Where a redirect goes: loc (a Location value) read against the current
 * URL cur into next. Only http:// on t->port, or an absolute path on the
 * same host. 0, or -1 with e naming from and loc.
 */
static int
acmecheck_redirect(const char *from, const char *loc, const struct acmecheck_url *cur,
		   const struct acmecheck_target *t, struct acmecheck_url *next, struct lerr *e)
{
	const char *p, *auth, *aend, *hend, *port = NULL, *path;
	unsigned char ip[16];
	unsigned long pv = 80;
	size_t hlen, plen;
	int bracket = 0;

	for (p = loc; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return lerr_set(e, LERR_FORBIDDEN,
					"%s redirects to a Location with a space or a non-ASCII byte",
					from);
	memset(next, 0, sizeof(*next));
	if (loc[0] == '/' && loc[1] != '/') {
		memcpy(next->host, cur->host, sizeof(next->host));
		next->is_ip = cur->is_ip;
		path = loc;
	} else if (strncasecmp(loc, "http://", 7) == 0) {
		auth = loc + 7;
		aend = auth + strcspn(auth, "/?#");
		if (memchr(auth, '@', (size_t)(aend - auth)) != NULL)
			return lerr_set(e, LERR_FORBIDDEN,
					"%s redirects to %s, a URL with user information", from, loc);
		if (*auth == '[') {
			hend = memchr(auth, ']', (size_t)(aend - auth));
			if (hend == NULL || (hend + 1 != aend && hend[1] != ':'))
				return lerr_set(e, LERR_FORBIDDEN, "%s redirects to %s, a malformed URL",
						from, loc);
			if (hend[1] == ':')
				port = hend + 2;
			auth++;
			bracket = 1;
		} else {
			hend = memchr(auth, ':', (size_t)(aend - auth));
			if (hend != NULL)
				port = hend + 1;
			else
				hend = aend;
		}
		hlen = (size_t)(hend - auth);
		if (hlen == 0 || hlen >= sizeof(next->host))
			return lerr_set(e, LERR_FORBIDDEN, "%s redirects to %s, a URL without a usable host",
					from, loc);
		memcpy(next->host, auth, hlen);
		next->host[hlen] = '\0';
		if (port != NULL) {
			if (port == aend || aend - port > 5)
				return lerr_set(e, LERR_FORBIDDEN, "%s redirects to %s, a bad port", from, loc);
			for (pv = 0, p = port; p < aend; p++) {
				if (*p < '0' || *p > '9')
					return lerr_set(e, LERR_FORBIDDEN, "%s redirects to %s, a bad port",
							from, loc);
				pv = pv * 10 + (unsigned long)(*p - '0');
			}
		}
		if (pv != t->port)
			return lerr_set(e, LERR_FORBIDDEN,
					"%s redirects to %s, on port %lu: lanca follows redirects on port %u only",
					from, loc, pv, t->port);
		if (bracket) {
			if (inet_pton(AF_INET6, next->host, ip) != 1)
				return lerr_set(e, LERR_FORBIDDEN,
						"%s redirects to %s, a bad IPv6 address", from, loc);
			next->is_ip = 1;
		} else if (inet_pton(AF_INET, next->host, ip) == 1) {
			next->is_ip = 1;
		} else if (!acmecheck_dns_name_ok(next->host, hlen)) {
			return lerr_set(e, LERR_FORBIDDEN, "%s redirects to %s, a bad host name", from, loc);
		}
		path = aend;
	} else if (strncasecmp(loc, "https://", 8) == 0) {
		return lerr_set(e, LERR_FORBIDDEN,
				"%s redirects to %s: lanca follows http:// redirects only", from, loc);
	} else {
		return lerr_set(e, LERR_FORBIDDEN,
				"%s redirects to %s: lanca follows http:// URLs and absolute paths only",
				from, loc);
	}
	plen = strcspn(path, "#");	/* a fragment is not sent */
	if (plen == 0 || path[0] == '?') {
		/* "http://host" or "http://host?q": the path is "/". */
		if (plen + 1 >= sizeof(next->path))
			return lerr_set(e, LERR_FORBIDDEN, "%s redirects to a URL too long", from);
		next->path[0] = '/';
		memcpy(next->path + 1, path, plen);
		next->path[plen + 1] = '\0';
	} else {
		if (plen >= sizeof(next->path))
			return lerr_set(e, LERR_FORBIDDEN, "%s redirects to a URL too long", from);
		memcpy(next->path, path, plen);
		next->path[plen] = '\0';
	}
	return 0;
}

/* Sends all of buf on the non-blocking fd before the deadline. 0, 1 timed
 * out, -1 failed (errno). */
static int
acmecheck_send(int fd, const char *buf, size_t len, const struct acmecheck_clock *c)
{
	ssize_t w;
	int r;

	while (len > 0) {
		w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w > 0) {
			buf += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		r = acmecheck_wait(fd, POLLOUT, c);
		if (r <= 0)
			return r == 0 ? 1 : -1;
	}
	return 0;
}

/*
 * One GET of url u: connects, asks, reads the response into r (raw, at
 * most ACMECHECK_RAW_MAX bytes, is a scratch buffer). 0, or -1 with e.
 */
static int
acmecheck_get(const struct acmecheck_url *u, const struct acmecheck_target *t,
	      const struct acmecheck_clock *c, unsigned char *raw, struct acmecheck_http_resp *r,
	      struct lerr *e)
{
	struct acmecheck_addr used;
	char url[ACMECHECK_LOCATION_MAX + 300], host[300], req[ACMECHECK_LOCATION_MAX + 512];
	char tbuf[32];
	size_t len = 0;
	ssize_t got;
	int fd = -1, rc = -1, eof = 0, w, p;

	acmecheck_url_str(u, t->port, url, sizeof(url), 0);
	acmecheck_url_str(u, t->port, host, sizeof(host), 1);
	w = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lanca/%s (ACME http-01 validation)\r\n"
		     "Accept: */*\r\nConnection: close\r\n\r\n", u->path, host, PACKAGE_VERSION);
	if (w < 0 || (size_t)w >= sizeof(req)) {
		lerr_set(e, LERR_FORBIDDEN, "%s: the request would be too long", url);
		goto out;
	}
	if (acmecheck_connect(u->host, u->is_ip, t, c, &fd, &used, e) != 0) {
		char why[sizeof(e->msg)];

		memcpy(why, e->msg, sizeof(why));
		lerr_set(e, LERR_FORBIDDEN, "fetching %s: %s", url, why);
		goto out;
	}
	w = acmecheck_send(fd, req, (size_t)w, c);
	if (w != 0) {
		if (w > 0)
			lerr_set(e, LERR_FORBIDDEN, "fetching %s from %s timed out after %s", url,
				 used.text, acmecheck_clock_str(c, tbuf, sizeof(tbuf)));
		else
			lerr_set(e, LERR_FORBIDDEN, "fetching %s from %s: sending failed: %s", url,
				 used.text, strerror(errno));
		goto out;
	}
	for (;;) {
		p = acmecheck_http_parse(raw, len, eof, r, e);
		if (p < 0) {
			char why[sizeof(e->msg)];

			memcpy(why, e->msg, sizeof(why));
			lerr_set(e, LERR_FORBIDDEN, "fetching %s from %s: %s", url, used.text, why);
			goto out;
		}
		if (p > 0)
			break;
		if (len == ACMECHECK_RAW_MAX) {
			lerr_set(e, LERR_FORBIDDEN, "fetching %s from %s: the answer is over %d bytes",
				 url, used.text, ACMECHECK_RAW_MAX);
			goto out;
		}
		w = acmecheck_wait(fd, POLLIN, c);
		if (w <= 0) {
			if (w == 0)
				lerr_set(e, LERR_FORBIDDEN, "fetching %s from %s timed out after %s", url,
					 used.text, acmecheck_clock_str(c, tbuf, sizeof(tbuf)));
			else
				lerr_set(e, LERR_FORBIDDEN, "fetching %s from %s: %s", url, used.text,
					 strerror(errno));
			goto out;
		}
		got = recv(fd, raw + len, ACMECHECK_RAW_MAX - len, 0);
		if (got < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			lerr_set(e, LERR_FORBIDDEN, "fetching %s from %s: %s", url, used.text,
				 errno == ECONNRESET ? "the connection was reset" : strerror(errno));
			goto out;
		}
		if (got == 0)
			eof = 1;
		len += (size_t)got;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
acmecheck_is_redirect(int status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

int
acmecheck_http01(const struct acmecheck_target *t, struct lerr *e)
{
	struct acmecheck_clock c;
	struct acmecheck_url u, next;
	struct acmecheck_http_resp *r = NULL;
	unsigned char *raw = NULL;
	char url[ACMECHECK_LOCATION_MAX + 300];
	size_t want, n;
	int hops, rc = -1;

	if (acmecheck_target_check(t, e) != 0)
		return -1;
	acmecheck_clock_start(&c, t->timeout_ms);
	r = malloc(sizeof(*r));
	raw = malloc(ACMECHECK_RAW_MAX);
	if (r == NULL || raw == NULL) {
		lerr_set(e, LERR_INTERNAL, "ACME http-01: out of memory");
		goto out;
	}
	memset(&u, 0, sizeof(u));
	snprintf(u.host, sizeof(u.host), "%s", t->identifier);
	u.is_ip = t->is_ip;
	snprintf(u.path, sizeof(u.path), "%s%s", ACMECHECK_WELL_KNOWN, t->token);
	for (hops = 0;; hops++) {
		acmecheck_url_str(&u, t->port, url, sizeof(url), 0);
		if (acmecheck_get(&u, t, &c, raw, r, e) != 0)
			goto out;
		if (r->status == 200)
			break;
		if (!acmecheck_is_redirect(r->status)) {
			lerr_set(e, LERR_FORBIDDEN, "got HTTP %d for %s", r->status, url);
			goto out;
		}
		if (!r->has_location) {
			lerr_set(e, LERR_FORBIDDEN, "got HTTP %d without a Location for %s", r->status, url);
			goto out;
		}
		if (hops == ACMECHECK_REDIRECTS_MAX) {
			lerr_set(e, LERR_FORBIDDEN,
				 "%s redirects again, to %s: lanca follows %d redirects at most", url,
				 r->location, ACMECHECK_REDIRECTS_MAX);
			goto out;
		}
		if (acmecheck_redirect(url, r->location, &u, t, &next, e) != 0)
			goto out;
		u = next;
	}
	n = r->body_len;
	while (n > 0 && (r->body[n - 1] == ' ' || r->body[n - 1] == '\t' || r->body[n - 1] == '\r' ||
			 r->body[n - 1] == '\n'))
		n--;
	want = strlen(t->key_auth);
	if (n != want || sodium_memcmp(r->body, t->key_auth, want) != 0) {
		/* Not what it said: the account would read, through the
		 * gateway, whatever a redirect led to on the LAN. */
		lerr_set(e, LERR_FORBIDDEN, "the key authorization does not match: %s answered "
			 "%zu bytes that are not it", url, n);
		goto out;
	}
	rc = 0;
out:
	free(r);
	free(raw);
	return rc;
}

/* ---- tls-alpn-01 ---- */

/* A subjectAltName entry described for a message: "dNSName x.example". */
static void
acmecheck_san_str(int type, const unsigned char *v, size_t n, char *out, size_t outsz)
{
	char text[INET6_ADDRSTRLEN + 1], shown[128];

	switch (type) {
	case GNUTLS_SAN_DNSNAME:
		acmecheck_printable(v, n, shown, sizeof(shown));
		snprintf(out, outsz, "dNSName %s", shown);
		break;
	case GNUTLS_SAN_IPADDRESS:
		if ((n == 4 && inet_ntop(AF_INET, v, text, sizeof(text)) != NULL) ||
		    (n == 16 && inet_ntop(AF_INET6, v, text, sizeof(text)) != NULL))
			snprintf(out, outsz, "iPAddress %s", text);
		else
			snprintf(out, outsz, "an iPAddress of %zu bytes", n);
		break;
	case GNUTLS_SAN_RFC822NAME:
		snprintf(out, outsz, "an rfc822Name");
		break;
	case GNUTLS_SAN_URI:
		snprintf(out, outsz, "a URI");
		break;
	default:
		snprintf(out, outsz, "a name of GnuTLS type %d", type);
		break;
	}
}

/* The acmeIdentifier value (DER) decoded into the 32-byte digest. */
static int
acmecheck_auth_decode(const gnutls_datum_t *v, unsigned char out[ACMECHECK_DIGEST_LEN],
		      struct lerr *e)
{
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "";
	asn1_node defs = NULL, node = NULL;
	unsigned char tmp[ACMECHECK_DIGEST_LEN + 1];
	int r, len, rc = -1;

	if (v->size > INT_MAX) {
		lerr_set(e, LERR_FORBIDDEN, "the certificate's acmeIdentifier value is too long");
		goto out;
	}
	r = asn1_array2tree(acmecheck_asn1_tab, &defs, err);
	if (r == ASN1_SUCCESS)
		r = asn1_create_element(defs, "LancaAcmeCheck.Authorization", &node);
	if (r != ASN1_SUCCESS) {
		lerr_set(e, LERR_INTERNAL, "acmecheck: ASN.1 definitions: %s %s", asn1_strerror(r), err);
		goto out;
	}
	len = (int)v->size;
	r = asn1_der_decoding2(&node, v->data, &len, ASN1_DECODE_FLAG_STRICT_DER, err);
	if (r != ASN1_SUCCESS || len != (int)v->size) {
		lerr_set(e, LERR_FORBIDDEN,
			 "the certificate's acmeIdentifier value is not a DER OCTET STRING%s%s",
			 r != ASN1_SUCCESS ? ": " : " (bytes follow it)",
			 r != ASN1_SUCCESS ? asn1_strerror(r) : "");
		goto out;
	}
	len = (int)sizeof(tmp);
	r = asn1_read_value(node, "", tmp, &len);
	if (r == ASN1_MEM_ERROR || (r == ASN1_SUCCESS && len != ACMECHECK_DIGEST_LEN)) {
		lerr_set(e, LERR_FORBIDDEN,
			 "the certificate's acmeIdentifier holds %d bytes, not a %d-byte SHA-256",
			 len, ACMECHECK_DIGEST_LEN);
		goto out;
	}
	if (r != ASN1_SUCCESS) {
		lerr_set(e, LERR_FORBIDDEN, "the certificate's acmeIdentifier cannot be read: %s",
			 asn1_strerror(r));
		goto out;
	}
	memcpy(out, tmp, ACMECHECK_DIGEST_LEN);
	rc = 0;
out:
	asn1_delete_structure(&node);
	asn1_delete_structure(&defs);
	return rc;
}

int
acmecheck_alpn_cert(const unsigned char *der, size_t len, const struct acmecheck_target *t,
		    struct lerr *e)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d, ext = { NULL, 0 };
	unsigned char san[512], ip[16], got[ACMECHECK_DIGEST_LEN], want[ACMECHECK_DIGEST_LEN];
	char desc[256];
	size_t size, first_size = 0;
	unsigned critical, i, count = 0;
	int r, first_type = -1, fam = 0, rc = -1;

	if (acmecheck_target_check(t, e) != 0)
		return -1;
	if (t->is_ip)
		(void)acmecheck_ip_parse(t->identifier, &fam, ip);
	if (len == 0 || len > UINT_MAX) {
		lerr_set(e, LERR_FORBIDDEN, "the certificate is empty or too large");
		goto out;
	}
	d.data = (unsigned char *)(uintptr_t)der;
	d.size = (unsigned)len;
	if (gnutls_x509_crt_init(&crt) < 0) {
		lerr_set(e, LERR_INTERNAL, "acmecheck: out of memory");
		goto out;
	}
	if ((r = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER)) < 0) {
		lerr_set(e, LERR_FORBIDDEN, "the certificate cannot be parsed: %s", gnutls_strerror(r));
		goto out;
	}

	/* One subjectAltName entry, the identifier (RFC 8737 §3, RFC 8738 §6). */
	for (i = 0; i < 64; i++) {
		size = sizeof(san);
		r = gnutls_x509_crt_get_subject_alt_name(crt, i, san, &size, &critical);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r == GNUTLS_E_SHORT_MEMORY_BUFFER) {
			count++;
			continue;
		}
		if (r < 0) {
			lerr_set(e, LERR_FORBIDDEN, "the certificate's subjectAltName cannot be read: %s",
				 gnutls_strerror(r));
			goto out;
		}
		if (count++ == 0) {
			first_type = r;
			first_size = size;
		}
	}
	if (count == 0) {
		lerr_set(e, LERR_FORBIDDEN, "the certificate has no subjectAltName; it must name %s",
			 t->identifier);
		goto out;
	}
	if (count > 1) {
		lerr_set(e, LERR_FORBIDDEN,
			 "the certificate's subjectAltName has %s%u entries; it must hold %s only",
			 i == 64 ? "over " : "", count, t->identifier);
		goto out;
	}
	if (first_type < 0) {
		lerr_set(e, LERR_FORBIDDEN, "the certificate's subjectAltName entry is over %zu bytes",
			 sizeof(san));
		goto out;
	}
	/* Read it again: the loop's buffer held the last entry tried. */
	size = sizeof(san);
	r = gnutls_x509_crt_get_subject_alt_name(crt, 0, san, &size, &critical);
	if (r != first_type || size != first_size) {
		lerr_set(e, LERR_INTERNAL, "acmecheck: subjectAltName read twice differs");
		goto out;
	}
	if (t->is_ip ? !(r == GNUTLS_SAN_IPADDRESS &&
			 size == (fam == AF_INET ? 4u : 16u) && memcmp(san, ip, size) == 0)
		     : !(r == GNUTLS_SAN_DNSNAME && size == strlen(t->identifier) &&
			 strncasecmp((const char *)san, t->identifier, size) == 0)) {
		acmecheck_san_str(r, san, size, desc, sizeof(desc));
		lerr_set(e, LERR_FORBIDDEN, "the certificate's subjectAltName is %s, not %s %s", desc,
			 t->is_ip ? "iPAddress" : "dNSName", t->identifier);
		goto out;
	}

	/* One critical acmeIdentifier holding SHA-256(key_auth) (RFC 8737 §3). */
	r = gnutls_x509_crt_get_extension_by_oid2(crt, ACMECHECK_OID_ACME_IDENTIFIER, 0, &ext,
						  &critical);
	if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		lerr_set(e, LERR_FORBIDDEN,
			 "the certificate has no acmeIdentifier extension (%s)",
			 ACMECHECK_OID_ACME_IDENTIFIER);
		goto out;
	}
	if (r < 0) {
		lerr_set(e, LERR_FORBIDDEN, "the certificate's acmeIdentifier cannot be read: %s",
			 gnutls_strerror(r));
		goto out;
	}
	{
		gnutls_datum_t again = { NULL, 0 };
		unsigned crit2;

		r = gnutls_x509_crt_get_extension_by_oid2(crt, ACMECHECK_OID_ACME_IDENTIFIER, 1,
							  &again, &crit2);
		gnutls_free(again.data);
		if (r != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
			lerr_set(e, LERR_FORBIDDEN, "the certificate has two acmeIdentifier extensions");
			goto out;
		}
	}
	if (!critical) {
		lerr_set(e, LERR_FORBIDDEN,
			 "the certificate's acmeIdentifier extension is not marked critical");
		goto out;
	}
	if (acmecheck_auth_decode(&ext, got, e) != 0)
		goto out;
	r = gnutls_hash_fast(GNUTLS_DIG_SHA256, t->key_auth, strlen(t->key_auth), want);
	if (r < 0) {
		lerr_set(e, LERR_INTERNAL, "acmecheck: SHA-256: %s", gnutls_strerror(r));
		goto out;
	}
	if (sodium_memcmp(got, want, sizeof(want)) != 0) {
		lerr_set(e, LERR_FORBIDDEN,
			 "the certificate's acmeIdentifier is not the SHA-256 of the key authorization %s",
			 t->key_auth);
		goto out;
	}
	rc = 0;
out:
	gnutls_free(ext.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

int
acmecheck_tlsalpn01(const struct acmecheck_target *t, struct lerr *e)
{
	static const char alpn[] = ACMECHECK_ALPN;
	struct acmecheck_clock c;
	struct acmecheck_addr used;
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	gnutls_datum_t proto = { (unsigned char *)(uintptr_t)alpn, sizeof(alpn) - 1 }, sel;
	const gnutls_datum_t *peers;
	char sni[ACMECHECK_SNI_MAX > 256 ? ACMECHECK_SNI_MAX : 256], tbuf[32], why[sizeof(e->msg)];
	unsigned npeers = 0;
	int fd = -1, r, w, rc = -1;

	if (acmecheck_target_check(t, e) != 0)
		return -1;
	acmecheck_clock_start(&c, t->timeout_ms);
	if (t->is_ip) {
		if (acmecheck_ip_sni(t->identifier, sni, sizeof(sni), e) != 0)
			return -1;
	} else {
		snprintf(sni, sizeof(sni), "%s", t->identifier);
	}
	if (acmecheck_connect(t->identifier, t->is_ip, t, &c, &fd, &used, e) != 0) {
		memcpy(why, e->msg, sizeof(why));
		lerr_set(e, LERR_FORBIDDEN, "tls-alpn-01 for %s: %s", t->identifier, why);
		goto out;
	}
	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0) {
		lerr_set(e, LERR_INTERNAL, "acmecheck: TLS set-up: out of memory");
		goto out;
	}
	/* No trust store and no verification: the validation certificate is
	 * self-signed by design; what counts is checked in acmecheck_alpn_cert.
	 * Nor its key usage: lego 4.9's says keyEncipherment alone for the
	 * key it signs the handshake with, which GnuTLS refuses mid-handshake
	 * unless %COMPAT lets a peer's key usage pass; nothing is kept of this
	 * session but the certificate it showed. */
	if ((r = gnutls_set_default_priority_append(s, "%COMPAT", NULL, 0)) < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred)) < 0 ||
	    (r = gnutls_server_name_set(s, GNUTLS_NAME_DNS, sni, strlen(sni))) < 0 ||
	    (r = gnutls_alpn_set_protocols(s, &proto, 1, 0)) < 0) {
		lerr_set(e, LERR_INTERNAL, "acmecheck: TLS set-up: %s", gnutls_strerror(r));
		goto out;
	}
	gnutls_transport_set_int(s, fd);
	for (;;) {
		r = gnutls_handshake(s);
		if (r == GNUTLS_E_SUCCESS)
			break;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			w = acmecheck_wait(fd, gnutls_record_get_direction(s) ? POLLOUT : POLLIN, &c);
			if (w <= 0) {
				if (w == 0)
					lerr_set(e, LERR_FORBIDDEN,
						 "TLS handshake with %s (SNI %s) timed out after %s",
						 used.text, sni, acmecheck_clock_str(&c, tbuf, sizeof(tbuf)));
				else
					lerr_set(e, LERR_FORBIDDEN, "TLS handshake with %s: %s", used.text,
						 strerror(errno));
				goto out;
			}
			continue;
		}
		if (gnutls_error_is_fatal(r)) {
			lerr_set(e, LERR_FORBIDDEN, "TLS handshake with %s (SNI %s, ALPN %s) failed: %s",
				 used.text, sni, alpn, gnutls_strerror(r));
			goto out;
		}
	}
	if (gnutls_alpn_get_selected_protocol(s, &sel) < 0) {
		lerr_set(e, LERR_FORBIDDEN, "the TLS server at %s (SNI %s) did not select ALPN %s",
			 used.text, sni, alpn);
		goto out;
	}
	if (sel.size != sizeof(alpn) - 1 || memcmp(sel.data, alpn, sel.size) != 0) {
		lerr_set(e, LERR_FORBIDDEN, "the TLS server at %s selected an ALPN other than %s",
			 used.text, alpn);
		goto out;
	}
	if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509 ||
	    (peers = gnutls_certificate_get_peers(s, &npeers)) == NULL || npeers == 0) {
		lerr_set(e, LERR_FORBIDDEN, "the TLS server at %s sent no X.509 certificate", used.text);
		goto out;
	}
	if (acmecheck_alpn_cert(peers[0].data, peers[0].size, t, e) != 0) {
		memcpy(why, e->msg, sizeof(why));
		lerr_set(e, e->code, "the TLS server at %s (SNI %s): %s", used.text, sni, why);
		goto out;
	}
	rc = 0;
out:
	if (s != NULL)
		gnutls_deinit(s);
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- dns-01 ---- */

int
acmecheck_dns01(const struct acmecheck_target *t, struct lerr *e)
{
	unsigned char digest[32], ans[NS_MAXMSG < 16384 ? NS_MAXMSG : 16384];
	char want[64], name[NS_MAXDNAME], got[512];
	struct __res_state st;
	const unsigned char *rd;
	size_t gl, k;
	ns_msg m;
	ns_rr rr;
	int n, i, count, found = 0, rc = -1;

	if (t == NULL || t->identifier == NULL || t->key_auth == NULL || t->is_ip ||
	    t->timeout_ms == 0 || t->timeout_ms > ACMECHECK_TIMEOUT_MAX ||
	    snprintf(name, sizeof(name), "_acme-challenge.%s", t->identifier) >= (int)sizeof(name))
		return lerr_set(e, LERR_BAD_REQUEST, "dns-01: a DNS identifier and a key "
				"authorization are needed");
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, t->key_auth, strlen(t->key_auth), digest) < 0)
		return lerr_set(e, LERR_INTERNAL, "dns-01: cannot hash the key authorization");
	sodium_bin2base64(want, sizeof(want), digest, sizeof(digest),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) != 0)
		return lerr_set(e, LERR_FORBIDDEN, "dns-01 for %s: the resolver's configuration "
				"cannot be read", t->identifier);
	/* Each server twice, the whole within about the target's time. */
	st.retry = 2;
	st.retrans = (int)(t->timeout_ms / 1000 / 4) > 0 ? (int)(t->timeout_ms / 1000 / 4) : 1;
	n = res_nquery(&st, name, ns_c_in, ns_t_txt, ans, sizeof(ans));
	if (n < 0) {
		lerr_set(e, LERR_FORBIDDEN, "dns-01 for %s: %s", t->identifier,
			 st.res_h_errno == HOST_NOT_FOUND ? "no such name as _acme-challenge there" :
			 st.res_h_errno == NO_DATA ? "no TXT record at _acme-challenge there" :
			 "the DNS server did not answer the TXT query");
		goto out;
	}
	if (ns_initparse(ans, n, &m) < 0) {
		lerr_set(e, LERR_FORBIDDEN, "dns-01 for %s: the DNS answer is malformed",
			 t->identifier);
		goto out;
	}
	count = ns_msg_count(m, ns_s_an);
	for (i = 0; i < count && !found; i++) {
		if (ns_parserr(&m, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_txt)
			continue;
		/* RDATA: character-strings, each a length byte and its bytes. */
		rd = ns_rr_rdata(rr);
		gl = 0;
		for (k = 0; k < ns_rr_rdlen(rr);) {
			size_t len = rd[k];

			if (k + 1 + len > ns_rr_rdlen(rr) || gl + len >= sizeof(got))
				break;
			memcpy(got + gl, rd + k + 1, len);
			gl += len;
			k += 1 + len;
		}
		found = k == ns_rr_rdlen(rr) && gl == strlen(want) && sodium_memcmp(got, want, gl) == 0;
	}
	if (!found) {
		lerr_set(e, LERR_FORBIDDEN, "dns-01 for %s: %d record(s) at %s, none a TXT record "
			 "holding the key authorization's digest", t->identifier, count, name);
		goto out;
	}
	rc = 0;
out:
	res_nclose(&st);
	return rc;
}
