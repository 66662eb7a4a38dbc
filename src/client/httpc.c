/*
 * httpc.c - the device side's HTTP/1.1 client (see httpc.h).
 *
 * The response parser is a pure function over the bytes received so far;
 * the connection code reads into a capped struct buf and re-runs the parser
 * after every read until it answers "complete" or "malformed". Responses are
 * small (a PEM chain, a JSON error), so re-parsing costs nothing that
 * matters and keeps the parser free of hidden state.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>

#include "client/httpc.h"

/* The raw bytes of one response: headers, body and chunk framing. A body
 * under its cap sent in sensible chunks fits in twice the cap; a server
 * that pads with tiny chunks or long extensions runs into this bound. */
#define HTTPC_MAX_RAW		(HTTPC_MAX_HEADERS + 2 * HTTPC_MAX_BODY)
#define HTTPC_MAX_CHUNK_LINE	1024
#define HTTPC_MAX_CLIENT_CHAIN	8

struct httpc_conn {
	struct httpc_url url;
	int timeout_s;
	struct sockaddr_storage src;	/* local address to connect from */
	socklen_t src_len;		/* 0: the kernel chooses */
	int fd;				/* -1 when not connected */
	gnutls_session_t session;	/* NULL for plain http or when closed */
	gnutls_certificate_credentials_t cred;	/* kept for reconnects */
	unsigned served;		/* responses read on this connection */
	int bootstrap;			/* https without any anchor (httpc_tls) */
	/* The client certificate (httpc_client_cert hands it out). */
	gnutls_pcert_st pcert[HTTPC_MAX_CLIENT_CHAIN];
	unsigned n_pcert;
	gnutls_privkey_t key;		/* borrowed (httpc_tls) */
};

/* ---- URL ---- */

int
httpc_url_parse(const char *url, struct httpc_url *u, struct lerr *e)
{
	const char *p, *host, *hend, *port = NULL, *path;
	size_t hlen, plen, i;
	int rc = -1;

	memset(u, 0, sizeof(*u));
	for (p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			lerr_set(e, LERR_BAD_REQUEST, "URL contains a space or a non-ASCII byte");
			goto out;
		}
	}
	if (strncasecmp(url, "https://", 8) == 0) {
		u->tls = 1;
		host = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		host = url + 7;
	} else {
		lerr_set(e, LERR_BAD_REQUEST, "URL must start with http:// or https://: %.100s", url);
		goto out;
	}
	path = host + strcspn(host, "/?#");
	if (*path == '#' || strchr(path, '#') != NULL) {
		lerr_set(e, LERR_BAD_REQUEST, "URL has a fragment");
		goto out;
	}
	if (memchr(host, '@', (size_t)(path - host)) != NULL) {
		lerr_set(e, LERR_BAD_REQUEST, "URL has user information");
		goto out;
	}
	if (*host == '[') {
		host++;
		hend = memchr(host, ']', (size_t)(path - host));
		if (hend == NULL) {
			lerr_set(e, LERR_BAD_REQUEST, "URL has an unclosed '['");
			goto out;
		}
		if (hend[1] == ':')
			port = hend + 2;
		else if (hend + 1 != path) {
			lerr_set(e, LERR_BAD_REQUEST, "URL has bytes after ']'");
			goto out;
		}
	} else {
		hend = memchr(host, ':', (size_t)(path - host));
		if (hend != NULL)
			port = hend + 1;
		else
			hend = path;
	}
	hlen = (size_t)(hend - host);
	if (hlen == 0 || hlen >= sizeof(u->host)) {
		lerr_set(e, LERR_BAD_REQUEST, "URL host is empty or too long");
		goto out;
	}
	memcpy(u->host, host, hlen);
	if (port != NULL) {
		unsigned long v = 0;

		plen = (size_t)(path - port);
		if (plen == 0 || plen > 5) {
			lerr_set(e, LERR_BAD_REQUEST, "URL port is empty or too long");
			goto out;
		}
		for (i = 0; i < plen; i++) {
			if (port[i] < '0' || port[i] > '9') {
				lerr_set(e, LERR_BAD_REQUEST, "URL port is not a number");
				goto out;
			}
			v = v * 10 + (unsigned long)(port[i] - '0');
		}
		if (v == 0 || v > 65535) {
			lerr_set(e, LERR_BAD_REQUEST, "URL port %lu is out of range", v);
			goto out;
		}
		snprintf(u->port, sizeof(u->port), "%lu", v);
	} else {
		snprintf(u->port, sizeof(u->port), "%s", u->tls ? "443" : "80");
	}
	if (*path == '\0') {
		u->path[0] = '/';
	} else {
		if (*path != '/') {	/* "http://host?x" */
			lerr_set(e, LERR_BAD_REQUEST, "URL path must start with '/'");
			goto out;
		}
		if (strlen(path) >= sizeof(u->path)) {
			lerr_set(e, LERR_BAD_REQUEST, "URL path is too long");
			goto out;
		}
		memcpy(u->path, path, strlen(path) + 1);
	}
	rc = 0;
out:
	return rc;
}

/* ---- response parsing ---- */

void
httpc_response_free(struct httpc_response *r)
{
	if (r == NULL)
		return;
	free(r->content_type);
	free(r->location);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/*
 * Finds the line that starts at pos: *eol is where its text ends (before
 * "\r\n" or "\n"), *next where the following line starts. Returns 1 when a
 * whole line is there, 0 when more bytes are needed, -1 for a bare CR or a
 * NUL inside the line (both are ways to smuggle a second meaning in).
 */
static int
httpc_line(const unsigned char *d, size_t len, size_t pos, size_t *eol, size_t *next)
{
	size_t i;

	for (i = pos; i < len; i++) {
		if (d[i] == '\n') {
			*eol = (i > pos && d[i - 1] == '\r') ? i - 1 : i;
			*next = i + 1;
			return 1;
		}
		if (d[i] == '\0')
			return -1;
		if (d[i] == '\r' && i + 1 < len && d[i + 1] != '\n')
			return -1;
	}
	return 0;
}

/* Parses a run of decimal digits (nothing else) into *v; -1 if empty, not
 * all digits or above max. */
static int
httpc_parse_decimal(const unsigned char *p, size_t n, unsigned long max, unsigned long *v)
{
	unsigned long x = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (x > (max - (unsigned long)(p[i] - '0')) / 10)
			return -1;
		x = x * 10 + (unsigned long)(p[i] - '0');
	}
	*v = x;
	return 0;
}

/* Copies n bytes into a new NUL-terminated string; NULL out of memory. */
static char *
httpc_strndup(const unsigned char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* Whether the comma-separated token list v[0..n) holds tok (any case). */
static int
httpc_has_token(const unsigned char *v, size_t n, const char *tok)
{
	size_t i = 0, s, t, tl = strlen(tok);

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		t = i;
		while (t > s && (v[t - 1] == ' ' || v[t - 1] == '\t'))
			t--;
		if (t - s == tl && strncasecmp((const char *)v + s, tok, tl) == 0)
			return 1;
	}
	return 0;
}

/* The RFC 7230 token characters (header names). */
static int
httpc_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * Whether a WWW-Authenticate value v[0..n) offers the auth scheme (any
 * case). A value may hold several challenges, each a scheme followed by
 * its parameters ("Digest realm=\"a\", nonce=\"b\", Basic realm=\"c\""):
 * a scheme is a token at the start or after a comma, followed by a space,
 * a comma or the end, and not by '=' (which makes it a parameter's name).
 * Quoted strings are skipped, so a realm's text never counts.
 */
static int
httpc_has_scheme(const unsigned char *v, size_t n, const char *scheme)
{
	size_t i = 0, sl = strlen(scheme), s;
	int quoted = 0, start = 1;

	while (i < n) {
		if (quoted) {
			if (v[i] == '\\')
				i++;
			else if (v[i] == '"')
				quoted = 0;
			i++;
			continue;
		}
		if (v[i] == '"') {
			quoted = 1;
			start = 0;
			i++;
			continue;
		}
		if (v[i] == ',') {
			start = 1;
			i++;
			continue;
		}
		if (v[i] == ' ' || v[i] == '\t') {
			i++;
			continue;
		}
		s = i;
		while (i < n && httpc_tchar(v[i]))
			i++;
		if (start && i - s == sl && strncasecmp((const char *)v + s, scheme, sl) == 0) {
			while (i < n && (v[i] == ' ' || v[i] == '\t'))
				i++;
			if (i == n || v[i] != '=')
				return 1;
		}
		start = 0;
		if (i == s)
			i++;	/* a byte that is not a token character */
	}
	return 0;
}

/* What the header block said, before the body is read. */
struct httpc_head {
	int status;
	int http10;
	int chunked;
	int have_length;
	unsigned long length;
	int close;
	int auth_basic;
	long retry_after;
	const unsigned char *ctype, *loc;
	size_t ctype_len, loc_len;
	size_t body_start;
};

/*
 * Parses the status line and headers starting at start. Returns 1 with h
 * filled, 0 for more bytes, -1 malformed or over the cap (e filled).
 */
static int
httpc_parse_head(const unsigned char *d, size_t len, size_t start, struct httpc_head *h,
		 struct lerr *e)
{
	size_t pos = start, eol, next, i, n;
	unsigned long v;
	int r;

	memset(h, 0, sizeof(*h));
	h->retry_after = -1;
	r = httpc_line(d, len, pos, &eol, &next);
	if (r < 0)
		return lerr_set(e, LERR_BAD_REQUEST, "bad byte in the status line");
	if (r == 0) {
		if (len - start > HTTPC_MAX_HEADERS)
			return lerr_set(e, LERR_TOO_LARGE, "response headers over %d bytes", HTTPC_MAX_HEADERS);
		return 0;
	}
	/* "HTTP/1.x SSS[ reason]" */
	n = eol - pos;
	if (n < 12 || memcmp(d + pos, "HTTP/1.", 7) != 0 || (d[pos + 7] != '0' && d[pos + 7] != '1') ||
	    d[pos + 8] != ' ' || (n > 12 && d[pos + 12] != ' '))
		return lerr_set(e, LERR_BAD_REQUEST, "not an HTTP/1.x status line");
	if (httpc_parse_decimal(d + pos + 9, 3, 999, &v) != 0 || v < 100 || v > 599)
		return lerr_set(e, LERR_BAD_REQUEST, "bad status code in the status line");
	h->status = (int)v;
	h->http10 = d[pos + 7] == '0';
	h->close = h->http10;
	pos = next;

	for (;;) {
		const unsigned char *name, *val;
		size_t nlen, vlen;

		if (pos - start > HTTPC_MAX_HEADERS)
			return lerr_set(e, LERR_TOO_LARGE, "response headers over %d bytes", HTTPC_MAX_HEADERS);
		r = httpc_line(d, len, pos, &eol, &next);
		if (r < 0)
			return lerr_set(e, LERR_BAD_REQUEST, "bad byte in a response header");
		if (r == 0) {
			if (len - start > HTTPC_MAX_HEADERS)
				return lerr_set(e, LERR_TOO_LARGE, "response headers over %d bytes",
						HTTPC_MAX_HEADERS);
			return 0;
		}
		if (next - start > HTTPC_MAX_HEADERS)
			return lerr_set(e, LERR_TOO_LARGE, "response headers over %d bytes", HTTPC_MAX_HEADERS);
		if (eol == pos)
			break;		/* the empty line */
		if (d[pos] == ' ' || d[pos] == '\t')
			return lerr_set(e, LERR_BAD_REQUEST, "folded response header");
		name = d + pos;
		for (i = pos; i < eol && d[i] != ':'; i++)
			if (!httpc_tchar(d[i]))
				return lerr_set(e, LERR_BAD_REQUEST, "bad response header name");
		if (i == eol || i == pos)
			return lerr_set(e, LERR_BAD_REQUEST, "response header without a name or ':'");
		nlen = i - pos;
		i++;
		while (i < eol && (d[i] == ' ' || d[i] == '\t'))
			i++;
		vlen = eol - i;
		val = d + i;
		while (vlen > 0 && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t'))
			vlen--;
		for (i = 0; i < vlen; i++)
			if (val[i] < 0x20 && val[i] != '\t')
				return lerr_set(e, LERR_BAD_REQUEST, "control byte in a response header");

#define HTTPC_IS(s) (nlen == sizeof(s) - 1 && strncasecmp((const char *)name, s, nlen) == 0)
		if (HTTPC_IS("Content-Length")) {
			if (httpc_parse_decimal(val, vlen, ULONG_MAX, &v) != 0)
				return lerr_set(e, LERR_BAD_REQUEST, "bad Content-Length");
			if (h->have_length && h->length != v)
				return lerr_set(e, LERR_BAD_REQUEST, "conflicting Content-Length headers");
			if (v > HTTPC_MAX_BODY)
				return lerr_set(e, LERR_TOO_LARGE, "response body of %lu bytes is over %d",
						v, HTTPC_MAX_BODY);
			h->have_length = 1;
			h->length = v;
		} else if (HTTPC_IS("Transfer-Encoding")) {
			if (vlen == 7 && strncasecmp((const char *)val, "chunked", 7) == 0 && !h->chunked)
				h->chunked = 1;
			else if (vlen != 8 || strncasecmp((const char *)val, "identity", 8) != 0)
				return lerr_set(e, LERR_BAD_REQUEST, "unsupported Transfer-Encoding");
		} else if (HTTPC_IS("Connection")) {
			if (httpc_has_token(val, vlen, "close"))
				h->close = 1;
			else if (h->http10 && httpc_has_token(val, vlen, "keep-alive"))
				h->close = 0;
		} else if (HTTPC_IS("Retry-After")) {
			/* Only delta-seconds; an HTTP-date or garbage reads as absent
			 * and the caller falls back to its own pace. */
			h->retry_after = httpc_parse_decimal(val, vlen, HTTPC_MAX_RETRY_AFTER, &v) == 0 ?
					 (long)v : -1;
		} else if (HTTPC_IS("WWW-Authenticate")) {
			if (httpc_has_scheme(val, vlen, "Basic"))
				h->auth_basic = 1;
		} else if (HTTPC_IS("Location")) {
			h->loc = val;
			h->loc_len = vlen;
		} else if (HTTPC_IS("Content-Type")) {
			h->ctype = val;
			h->ctype_len = vlen;
		}
#undef HTTPC_IS
		pos = next;
	}
	if (h->chunked && h->have_length)
		return lerr_set(e, LERR_BAD_REQUEST, "both Content-Length and chunked encoding");
	h->body_start = next;
	return 1;
}

/*
 * Decodes a chunked body starting at pos into body. Returns 1 with *end
 * past the trailers, 0 for more bytes, -1 malformed or too large.
 */
static int
httpc_parse_chunked(const unsigned char *d, size_t len, size_t pos, struct buf *body,
		    size_t *end, struct lerr *e)
{
	size_t eol, next, i, trailers;
	unsigned long size;
	int r;

	for (;;) {
		r = httpc_line(d, len, pos, &eol, &next);
		if (r < 0)
			return lerr_set(e, LERR_BAD_REQUEST, "bad byte in a chunk-size line");
		if (r == 0 ? len - pos > HTTPC_MAX_CHUNK_LINE : eol - pos > HTTPC_MAX_CHUNK_LINE)
			return lerr_set(e, LERR_BAD_REQUEST, "chunk-size line too long");
		if (r == 0)
			return 0;
		size = 0;
		for (i = pos; i < eol; i++) {
			unsigned char c = d[i];
			unsigned digit;

			if (c >= '0' && c <= '9')
				digit = (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				digit = (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				digit = (unsigned)(c - 'A' + 10);
			else
				break;
			size = size * 16 + digit;
			if (size > HTTPC_MAX_BODY)
				return lerr_set(e, LERR_TOO_LARGE, "chunk over %d bytes", HTTPC_MAX_BODY);
		}
		if (i == pos)
			return lerr_set(e, LERR_BAD_REQUEST, "chunk-size line without a size");
		/* Only whitespace or a chunk extension may follow the size. */
		if (i < eol && d[i] != ';' && d[i] != ' ' && d[i] != '\t')
			return lerr_set(e, LERR_BAD_REQUEST, "bad chunk size");
		pos = next;
		if (size == 0)
			break;
		if (size > HTTPC_MAX_BODY - body->len)
			return lerr_set(e, LERR_TOO_LARGE, "chunked body over %d bytes", HTTPC_MAX_BODY);
		if (len - pos < size + 2)
			return 0;
		if (d[pos + size] == '\r' && d[pos + size + 1] == '\n')
			next = pos + size + 2;
		else
			return lerr_set(e, LERR_BAD_REQUEST, "chunk not followed by CRLF");
		if (buf_append(body, d + pos, size) != 0)
			return lerr_set(e, LERR_TOO_LARGE, "chunked body over %d bytes", HTTPC_MAX_BODY);
		pos = next;
	}
	/* Trailers, ignored, up to the empty line. */
	trailers = pos;
	for (;;) {
		r = httpc_line(d, len, pos, &eol, &next);
		if (r < 0)
			return lerr_set(e, LERR_BAD_REQUEST, "bad byte in a trailer");
		if ((r == 0 ? len : next) - trailers > HTTPC_MAX_HEADERS)
			return lerr_set(e, LERR_TOO_LARGE, "trailers over %d bytes", HTTPC_MAX_HEADERS);
		if (r == 0)
			return 0;
		if (eol == pos) {
			pos = next;
			break;
		}
		pos = next;
	}
	*end = pos;
	return 1;
}

int
httpc_parse_response(const unsigned char *data, size_t len, int eof, int head,
		     struct httpc_response *resp, size_t *used, struct lerr *e)
{
	struct httpc_head h;
	struct buf body;
	size_t start = 0, end = 0;
	int r, rc = -1, nobody;

	buf_init(&body, HTTPC_MAX_BODY);
	for (;;) {
		r = httpc_parse_head(data, len, start, &h, e);
		if (r < 0)
			goto out;
		if (r == 0)
			goto more;
		/* Interim responses carry no body; the real one follows. */
		if (h.status >= 100 && h.status < 200 && h.status != 101) {
			start = h.body_start;
			continue;
		}
		break;
	}
	nobody = head || h.status == 204 || h.status == 304 || h.status == 101;
	if (nobody) {
		end = h.body_start;
	} else if (h.chunked) {
		r = httpc_parse_chunked(data, len, h.body_start, &body, &end, e);
		if (r < 0)
			goto out;
		if (r == 0)
			goto more;
	} else if (h.have_length) {
		if (len - h.body_start < h.length)
			goto more;
		if (buf_append(&body, data + h.body_start, h.length) != 0) {
			lerr_set(e, LERR_INTERNAL, "out of memory");
			goto out;
		}
		end = h.body_start + h.length;
	} else {
		/* Delimited by the close. */
		if (len - h.body_start > HTTPC_MAX_BODY) {
			lerr_set(e, LERR_TOO_LARGE, "response body over %d bytes", HTTPC_MAX_BODY);
			goto out;
		}
		if (!eof)
			goto more;
		if (buf_append(&body, data + h.body_start, len - h.body_start) != 0) {
			lerr_set(e, LERR_INTERNAL, "out of memory");
			goto out;
		}
		h.close = 1;
		end = len;
	}

	memset(resp, 0, sizeof(*resp));
	resp->status = h.status;
	resp->close = h.close;
	resp->retry_after = h.retry_after;
	resp->auth_basic = h.auth_basic;
	if ((h.ctype != NULL && (resp->content_type = httpc_strndup(h.ctype, h.ctype_len)) == NULL) ||
	    (h.loc != NULL && (resp->location = httpc_strndup(h.loc, h.loc_len)) == NULL)) {
		httpc_response_free(resp);
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (body.len > 0)
		resp->body = buf_steal(&body, &resp->body_len);
	*used = end;
	rc = 1;
	goto out;
more:
	if (eof) {
		lerr_set(e, LERR_BAD_REQUEST, "response truncated: the server closed the connection");
		goto out;
	}
	rc = 0;
out:
	buf_free(&body);
	return rc;
}

/* ---- connections ---- */

/* Drops the transport (socket and TLS session), keeping what a reconnect
 * needs. */
static void
httpc_disconnect(struct httpc_conn *c)
{
	if (c->session != NULL) {
		if (c->fd >= 0)
			gnutls_bye(c->session, GNUTLS_SHUT_WR);
		gnutls_deinit(c->session);
		c->session = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->served = 0;
}

/*
 * Connects a TCP socket to the URL's host and port, trying each address in
 * turn, each bounded by the timeout; leaves the socket blocking with send
 * and receive timeouts set. Returns 0 with c->fd set, or -1 with e.
 */
static int
httpc_tcp_connect(struct httpc_conn *c, struct lerr *e)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv;
	int fd = -1, rc = -1, g, err = 0, flags, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	g = getaddrinfo(c->url.host, c->url.port, &hints, &res);
	if (g != 0) {
		lerr_set(e, LERR_BAD_REQUEST, "%s: %s", c->url.host, gai_strerror(g));
		goto out;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t elen = sizeof(err);

		/* A source address reaches only the servers of its own family. */
		if (c->src_len != 0 && ai->ai_family != c->src.ss_family) {
			err = EAFNOSUPPORT;
			continue;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (c->src_len != 0 && bind(fd, (struct sockaddr *)&c->src, c->src_len) != 0) {
			err = errno;
			close(fd);
			fd = -1;
			continue;
		}
		/* Request and answer, one small message at a time: no Nagle. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			pfd.revents = 0;
			do
				g = poll(&pfd, 1, c->timeout_s * 1000);
			while (g < 0 && errno == EINTR);
			if (g == 0)
				err = ETIMEDOUT;
			else if (g < 0)
				err = errno;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
				err = errno;
			if (g > 0 && err == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		lerr_set(e, LERR_BAD_REQUEST, "cannot connect to %s port %s: %s", c->url.host,
			 c->url.port, strerror(err != 0 ? err : ECONNREFUSED));
		goto out;
	}
	flags = fcntl(fd, F_GETFL);
	tv.tv_sec = c->timeout_s;
	tv.tv_usec = 0;
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
		lerr_set(e, LERR_INTERNAL, "socket set-up: %s", strerror(errno));
		goto out;
	}
	c->fd = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (res != NULL)
		freeaddrinfo(res);
	return rc;
}

/* Whether s is an IP address literal (no SNI is sent for those). */
static int
httpc_is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/*
 * Opens the transport: TCP, and for https a TLS session that verifies the
 * server's chain against the one root and its name against the URL host.
 * Returns 0 or -1 with e (the transport closed again).
 */
static int
httpc_connect(struct httpc_conn *c, struct lerr *e)
{
	int rc = -1, g;

	if (httpc_tcp_connect(c, e) != 0)
		goto out;
	if (!c->url.tls) {
		rc = 0;
		goto out;
	}
	if ((g = gnutls_init(&c->session, GNUTLS_CLIENT)) < 0 ||
	    (g = gnutls_set_default_priority(c->session)) < 0 ||
	    (g = gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE, c->cred)) < 0) {
		lerr_set(e, LERR_INTERNAL, "TLS set-up: %s", gnutls_strerror(g));
		goto out;
	}
	gnutls_session_set_ptr(c->session, c);
	if (!httpc_is_ip(c->url.host) &&
	    (g = gnutls_server_name_set(c->session, GNUTLS_NAME_DNS, c->url.host,
					strlen(c->url.host))) < 0) {
		lerr_set(e, LERR_INTERNAL, "TLS server name: %s", gnutls_strerror(g));
		goto out;
	}
	/* The chain must lead to our root and name the host we asked for
	 * (an address is matched against the IP SANs); a bootstrap
	 * connection checks nothing, and its caller checks what it gets. */
	if (!c->bootstrap)
		gnutls_session_set_verify_cert(c->session, c->url.host, 0);
	gnutls_transport_set_int(c->session, c->fd);
	gnutls_handshake_set_timeout(c->session, (unsigned)c->timeout_s * 1000);
	do
		g = gnutls_handshake(c->session);
	while (g == GNUTLS_E_INTERRUPTED || (g < 0 && g != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(g)));
	if (g < 0) {
		if (g == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
			gnutls_datum_t msg = { NULL, 0 };
			unsigned st = gnutls_session_get_verify_cert_status(c->session);

			if (gnutls_certificate_verification_status_print(st, GNUTLS_CRT_X509, &msg, 0) == 0) {
				lerr_set(e, LERR_BAD_REQUEST, "TLS: %s does not present a certificate "
					 "valid for it under the root: %s", c->url.host, (char *)msg.data);
				gnutls_free(msg.data);
			} else {
				lerr_set(e, LERR_BAD_REQUEST, "TLS: certificate verification failed");
			}
		} else {
			lerr_set(e, LERR_BAD_REQUEST, "TLS handshake with %s: %s", c->url.host,
				 g == GNUTLS_E_AGAIN ? "timed out" : gnutls_strerror(g));
		}
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		httpc_disconnect(c);
	return rc;
}

int
httpc_open(const char *url, const struct httpc_tls *tls, int timeout_s,
	   struct httpc_conn **out, struct lerr *e)
{
	return httpc_open_from(url, NULL, tls, timeout_s, out, e);
}

/* Parses a numeric source address (port 0) into c. 0 or -1 with e. */
static int
httpc_set_source(struct httpc_conn *c, const char *source, struct lerr *e)
{
	struct addrinfo hints, *res = NULL;
	int g;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	g = getaddrinfo(source, "0", &hints, &res);
	if (g != 0 || res == NULL || res->ai_addrlen > sizeof(c->src)) {
		lerr_set(e, LERR_BAD_REQUEST, "source address %s: %s", source,
			 g != 0 ? gai_strerror(g) : "unusable");
		if (res != NULL)
			freeaddrinfo(res);
		return -1;
	}
	memcpy(&c->src, res->ai_addr, res->ai_addrlen);
	c->src_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/*
 * Hands GnuTLS the client certificate when the server asks for one. The
 * key is a gnutls_privkey_t, so that one in a PKCS#11 token signs the
 * handshake where it is; GnuTLS neither copies nor frees what this
 * callback gives (they live in c until httpc_close).
 */
static int
httpc_client_cert(gnutls_session_t s, const gnutls_datum_t *req_ca_rdn, int nreqs,
		  const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
		  gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *key)
{
	struct httpc_conn *c = gnutls_session_get_ptr(s);

	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (c == NULL || c->key == NULL || c->n_pcert == 0) {
		*pcert = NULL;
		*pcert_length = 0;
		*key = NULL;
		return 0;
	}
	*pcert = c->pcert;
	*pcert_length = c->n_pcert;
	*key = c->key;
	return 0;
}

/* Reads tls's client chain into c and checks that its leaf is for tls's
 * key (a mismatch would only show as a failed handshake). */
static int
httpc_set_client_cert(struct httpc_conn *c, const struct httpc_tls *tls, struct lerr *e)
{
	gnutls_datum_t d;
	gnutls_pubkey_t pub = NULL;
	unsigned char a[64], b[64];
	size_t al = sizeof(a), bl = sizeof(b);
	unsigned n = HTTPC_MAX_CLIENT_CHAIN;
	int g, rc = -1;

	d.data = (unsigned char *)(uintptr_t)tls->cert_pem;
	d.size = (unsigned)tls->cert_len;
	g = gnutls_pcert_list_import_x509_raw(c->pcert, &n, &d, GNUTLS_X509_FMT_PEM, 0);
	if (g < 0) {
		lerr_set(e, LERR_BAD_REQUEST, "client certificate: %s", gnutls_strerror(g));
		goto out;
	}
	c->n_pcert = n;
	if ((g = gnutls_pubkey_init(&pub)) < 0 ||
	    (g = gnutls_pubkey_import_privkey(pub, tls->key, 0, 0)) < 0 ||
	    (g = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &al)) < 0 ||
	    (g = gnutls_pubkey_get_key_id(c->pcert[0].pubkey, GNUTLS_KEYID_USE_SHA256, b, &bl)) < 0) {
		lerr_set(e, LERR_BAD_REQUEST, "client key: %s", gnutls_strerror(g));
		goto out;
	}
	if (al != bl || memcmp(a, b, al) != 0) {
		lerr_set(e, LERR_BAD_REQUEST, "the client certificate is not for the client key");
		goto out;
	}
	c->key = tls->key;
	gnutls_certificate_set_retrieve_function2(c->cred, httpc_client_cert);
	rc = 0;
out:
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

int
httpc_open_from(const char *url, const char *source, const struct httpc_tls *tls,
		int timeout_s, struct httpc_conn **out, struct lerr *e)
{
	struct httpc_conn *c = NULL;
	gnutls_datum_t d;
	int rc = -1, g;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	c->fd = -1;
	c->timeout_s = timeout_s > 0 ? timeout_s : 30;
	if (httpc_url_parse(url, &c->url, e) != 0)
		goto out;
	if (source != NULL && httpc_set_source(c, source, e) != 0)
		goto out;
	if (c->url.tls) {
		if (tls == NULL || (tls->root_pem == NULL && !tls->bootstrap)) {
			lerr_set(e, LERR_BAD_REQUEST, "https needs a root to trust");
			goto out;
		}
		if (tls->bootstrap && (tls->root_pem != NULL || tls->cert_pem != NULL)) {
			lerr_set(e, LERR_BAD_REQUEST, "a bootstrap connection takes no root or certificate");
			goto out;
		}
		if ((g = gnutls_certificate_allocate_credentials(&c->cred)) < 0) {
			lerr_set(e, LERR_INTERNAL, "TLS credentials: %s", gnutls_strerror(g));
			goto out;
		}
		c->bootstrap = tls->bootstrap != 0;
	}
	if (c->url.tls && !c->bootstrap) {
		d.data = (unsigned char *)(uintptr_t)tls->root_pem;
		d.size = (unsigned)tls->root_len;
		/* The root is the only anchor: no system trust store. */
		g = gnutls_certificate_set_x509_trust_mem(c->cred, &d, GNUTLS_X509_FMT_PEM);
		if (g <= 0) {
			lerr_set(e, LERR_BAD_REQUEST, "root certificate: %s",
				 g == 0 ? "no certificate in it" : gnutls_strerror(g));
			goto out;
		}
		if (tls->cert_pem != NULL && tls->key != NULL &&
		    httpc_set_client_cert(c, tls, e) != 0)
			goto out;
	}
	if (httpc_connect(c, e) != 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	httpc_close(c);
	return rc;
}

void
httpc_close(struct httpc_conn *c)
{
	unsigned i;

	if (c == NULL)
		return;
	httpc_disconnect(c);
	if (c->cred != NULL)
		gnutls_certificate_free_credentials(c->cred);
	for (i = 0; i < c->n_pcert; i++)
		gnutls_pcert_deinit(&c->pcert[i]);
	free(c);
}

/* Writes all n bytes; -1 with e on error or timeout. */
static int
httpc_write(struct httpc_conn *c, const unsigned char *p, size_t n, struct lerr *e)
{
	ssize_t w;

	while (n > 0) {
		if (c->session != NULL) {
			w = gnutls_record_send(c->session, p, n);
			if (w == GNUTLS_E_INTERRUPTED)
				continue;
			if (w < 0)
				return lerr_set(e, LERR_BAD_REQUEST, "TLS write: %s",
						w == GNUTLS_E_AGAIN ? "timed out" : gnutls_strerror((int)w));
		} else {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return lerr_set(e, LERR_BAD_REQUEST, "write: %s",
						errno == EAGAIN ? "timed out" : strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Waits until fd is readable or ms pass; 1 readable, 0 timeout, -1 error. */
static int
httpc_wait_readable(int fd, int ms)
{
	struct pollfd pfd;
	int r;

	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	do
		r = poll(&pfd, 1, ms);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Reads up to n bytes; returns the count, 0 at the peer's close, -1 with e
 * on error or timeout. A TLS peer that closes without close_notify is taken
 * as a close: the parser still refuses a response it cut short. GnuTLS may
 * answer "again" after a record that carried no data (a TLS 1.3 session
 * ticket), so each read waits on the socket itself, up to the timeout. */
static ssize_t
httpc_read(struct httpc_conn *c, unsigned char *p, size_t n, struct lerr *e)
{
	struct timespec t0, t1;
	long spent;
	ssize_t r;
	int w;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		spent = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (c->session == NULL || gnutls_record_check_pending(c->session) == 0) {
			w = spent >= (long)c->timeout_s * 1000 ? 0 :
			    httpc_wait_readable(c->fd, (int)((long)c->timeout_s * 1000 - spent));
			if (w == 0) {
				lerr_set(e, LERR_BAD_REQUEST, "read: timed out after %d s", c->timeout_s);
				return -1;
			}
			if (w < 0) {
				lerr_set(e, LERR_BAD_REQUEST, "read: %s", strerror(errno));
				return -1;
			}
		}
		if (c->session != NULL) {
			r = gnutls_record_recv(c->session, p, n);
			if (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN || r == GNUTLS_E_REHANDSHAKE)
				continue;
			if (r == GNUTLS_E_PREMATURE_TERMINATION)
				return 0;
			if (r < 0) {
				lerr_set(e, LERR_BAD_REQUEST, "TLS read: %s", gnutls_strerror((int)r));
				return -1;
			}
			return r;
		}
		r = recv(c->fd, p, n, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0 && errno == ECONNRESET)
			return 0;
		if (r < 0) {
			lerr_set(e, LERR_BAD_REQUEST, "read: %s", strerror(errno));
			return -1;
		}
		return r;
	}
}

/* Whether s is safe inside a request line or header (no CR, LF or NUL,
 * nothing below space except tab). */
static int
httpc_clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return 0;
	return 1;
}

/*
 * One attempt at a request on the current transport. Sets *retry when the
 * server had closed a reused connection before any response byte came, so
 * the caller may send again on a fresh one.
 */
static int
httpc_exchange(struct httpc_conn *c, const struct buf *req, const void *body, size_t len,
	       int head, struct httpc_response *resp, int *retry, struct lerr *e)
{
	struct buf in;
	unsigned char chunk[16384];
	size_t used = 0;
	ssize_t r;
	int rc = -1, pr, reused = c->served > 0;

	*retry = 0;
	buf_init(&in, HTTPC_MAX_RAW);
	if (httpc_write(c, req->data, req->len, e) != 0 ||
	    (len > 0 && httpc_write(c, body, len, e) != 0)) {
		*retry = reused;
		goto out;
	}
	for (;;) {
		r = httpc_read(c, chunk, sizeof(chunk), e);
		if (r < 0) {
			*retry = reused && in.len == 0;
			goto out;
		}
		if (r == 0 && in.len == 0 && reused) {
			lerr_set(e, LERR_BAD_REQUEST, "the server closed the connection");
			*retry = 1;
			goto out;
		}
		if (r > 0 && buf_append(&in, chunk, (size_t)r) != 0) {
			lerr_set(e, LERR_TOO_LARGE, "response over %d bytes", HTTPC_MAX_RAW);
			goto out;
		}
		pr = httpc_parse_response(in.data != NULL ? in.data : (const unsigned char *)"",
					  in.len, r == 0, head, resp, &used, e);
		if (pr < 0)
			goto out;
		if (pr == 1)
			break;
	}
	/* Bytes past the response were never asked for: do not trust the
	 * connection with another request. */
	if (used != in.len)
		resp->close = 1;
	c->served++;
	rc = 0;
out:
	buf_free(&in);
	return rc;
}

int
httpc_channel_binding(struct httpc_conn *c, gnutls_datum_t *cb, struct lerr *e)
{
	gnutls_channel_binding_t type;

	cb->data = NULL;
	cb->size = 0;
	/* A connection that already carried an answer may be closed by the
	 * server under the request, which would then go out on a new one
	 * with this one's binding: bind a fresh connection instead. */
	if (c->fd >= 0 && c->served > 0)
		httpc_disconnect(c);
	if (c->fd < 0 && httpc_connect(c, e) != 0)
		return -1;
	if (c->session == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "channel binding needs an https connection");
	type = gnutls_protocol_get_version(c->session) == GNUTLS_TLS1_3 ? GNUTLS_CB_TLS_EXPORTER
									 : GNUTLS_CB_TLS_UNIQUE;
	if (gnutls_session_channel_binding(c->session, type, cb) < 0 || cb->size == 0) {
		gnutls_free(cb->data);
		cb->data = NULL;
		return lerr_set(e, LERR_BAD_REQUEST, "the TLS connection has no channel binding");
	}
	return 0;
}

int
httpc_request(struct httpc_conn *c, const char *method, const char *path,
	      const char *const *headers, const void *body, size_t len,
	      struct httpc_response *resp, struct lerr *e)
{
	struct buf req;
	int rc = -1, retry = 0, attempt, head, v6;
	size_t i;

	memset(resp, 0, sizeof(*resp));
	if (len > HTTPC_MAX_BODY) {
		lerr_set(e, LERR_TOO_LARGE, "request body too long");
		return -1;
	}
	/* Headers and body go out in one write: a small body sent on its own
	 * waits for the server's delayed ACK of the headers (about 40 ms). */
	buf_init_secret(&req, HTTPC_MAX_HEADERS + len);
	if (!httpc_clean(method) || !httpc_clean(path) || strchr(path, ' ') != NULL || path[0] != '/') {
		lerr_set(e, LERR_BAD_REQUEST, "bad method or path");
		goto out;
	}
	head = strcmp(method, "HEAD") == 0;
	v6 = strchr(c->url.host, ':') != NULL;
	if (buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s%s%s", method, path, v6 ? "[" : "",
		       c->url.host, v6 ? "]" : "") != 0)
		goto toolong;
	if (strcmp(c->url.port, c->url.tls ? "443" : "80") != 0 &&
	    buf_printf(&req, ":%s", c->url.port) != 0)
		goto toolong;
	if (buf_puts(&req, "\r\nUser-Agent: lanca-enroll/" PACKAGE_VERSION "\r\n") != 0)
		goto toolong;
	for (i = 0; headers != NULL && headers[i] != NULL; i++) {
		if (!httpc_clean(headers[i]) || strchr(headers[i], ':') == NULL) {
			lerr_set(e, LERR_BAD_REQUEST, "bad request header");
			goto out;
		}
		if (buf_printf(&req, "%s\r\n", headers[i]) != 0)
			goto toolong;
	}
	if ((len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) &&
	    buf_printf(&req, "Content-Length: %zu\r\n", len) != 0)
		goto toolong;
	if (buf_puts(&req, "\r\n") != 0 || req.len > HTTPC_MAX_HEADERS)
		goto toolong;
	if (len > 0 && buf_append(&req, body, len) != 0)
		goto toolong;

	for (attempt = 0; attempt < 2; attempt++) {
		if (c->fd < 0 && httpc_connect(c, e) != 0)
			goto out;
		if (httpc_exchange(c, &req, NULL, 0, head, resp, &retry, e) == 0)
			break;
		httpc_disconnect(c);
		if (!retry || attempt == 1)
			goto out;
	}
	if (resp->close)
		httpc_disconnect(c);
	rc = 0;
	goto out;
toolong:
	lerr_set(e, LERR_TOO_LARGE, "request headers too long");
out:
	buf_free_secret(&req);	/* it may carry credentials (Authorization) */
	return rc;
}
