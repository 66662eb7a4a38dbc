/*
 * acmecheck.h - ACME's challenge validations, as the CA performs them:
 * http-01 (RFC 8555 §8.3) and tls-alpn-01 (RFC 8737), for DNS names and,
 * by RFC 8738, for IP addresses.
 *
 * Owns: reaching the device (name resolution, each address asked of the
 * daemon's address policy before any connection, bounded connects), the
 * one HTTP/1.1 response parser lanca uses as a client (a pure function,
 * fuzzed), which redirects are followed, the TLS handshake with ALPN
 * "acme-tls/1" and the checks of the validation certificate (its one
 * subjectAltName, its critical acmeIdentifier extension decoded with
 * libtasn1 from acmecheck.asn), and the words an admin reads when a
 * challenge fails.
 * Callers: the ACME door's challenge worker, in the daemon's network
 * process (it opens sockets; it never holds a CA key). Each call is
 * blocking and bounded by the target's timeout; nothing here is global,
 * so worker threads may run validations side by side.
 */
#ifndef LANCA_ACMECHECK_H
#define LANCA_ACMECHECK_H

#include <stddef.h>
#include <sys/socket.h>

#include "common/lerr.h"

#define ACMECHECK_BODY_MAX	8192	/* http-01 body bytes read, at most */
#define ACMECHECK_HEAD_MAX	8192	/* status line and headers, at most */
/* The raw bytes of one response: headers, then a body with its chunk
 * framing. A body under its cap in sensible chunks fits; one padded with
 * tiny chunks is refused as too large. */
#define ACMECHECK_RAW_MAX	(ACMECHECK_HEAD_MAX + 2 * ACMECHECK_BODY_MAX)
#define ACMECHECK_REDIRECTS_MAX	3	/* redirects followed; the 4th is refused */
#define ACMECHECK_LOCATION_MAX	1024	/* a Location header's value, at most */
#define ACMECHECK_TOKEN_MIN	22	/* a challenge token's length, base64url */
#define ACMECHECK_TOKEN_MAX	128
#define ACMECHECK_TIMEOUT_MAX	600000	/* timeout_ms, at most (10 minutes) */
#define ACMECHECK_ALPN		"acme-tls/1"	/* RFC 8737 §6.2 */
#define ACMECHECK_OID_ACME_IDENTIFIER	"1.3.6.1.5.5.7.1.31"	/* id-pe-acmeIdentifier */
/* The longest reverse-DNS name acmecheck_ip_sni writes, with its NUL:
 * 32 nibbles and dots of an IPv6 address, then "ip6.arpa". */
#define ACMECHECK_SNI_MAX	(64 + sizeof("ip6.arpa"))

struct acmecheck_target {
	const char *identifier;	/* the order's identifier: a DNS name ("nas.home.arpa")
				 * or, with is_ip, an address ("10.1.2.3", "fd00::5") */
	int is_ip;		/* 1 for an "ip" identifier (RFC 8738) */
	const char *token;	/* the challenge's token: base64url, 22..128 characters */
	const char *key_auth;	/* token "." base64url(account JWK thumbprint) */
	unsigned short port;	/* 80 for http-01, 443 for tls-alpn-01 (other ports
				 * only as an admin's test-time override) */
	unsigned timeout_ms;	/* the whole validation: connects, TLS, reads,
				 * redirects; 1..ACMECHECK_TIMEOUT_MAX */
	/* Every address the identifier (or a redirect's host) resolves to is
	 * asked of this predicate before any connection is made; 0 refuses it
	 * (the daemon's policy: say no loopback or public addresses). sa is
	 * AF_INET or AF_INET6 with the port that would be connected to; an
	 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) is handed over, and
	 * connected to, as the AF_INET address it is. NULL: all may be used.
	 * Called on the validating thread. */
	int (*addr_ok)(const struct sockaddr *sa, socklen_t len, void *arg);
	void *addr_arg;
};

/*
 * http-01 (RFC 8555 §8.3; RFC 8738 §4 for IP identifiers): GET
 * http://IDENTIFIER/.well-known/acme-challenge/TOKEN (HTTP/1.1, Host the
 * identifier, an IPv6 one in brackets, with ":port" when the port is not
 * 80; Connection: close). The answer must be 200 with a body (at most
 * ACMECHECK_BODY_MAX bytes: Content-Length, chunked or up to the close)
 * that, without its trailing spaces, tabs, CRs and LFs, is key_auth
 * exactly. Up to ACMECHECK_REDIRECTS_MAX redirects (301, 302, 303, 307,
 * 308) are followed, only to http:// URLs on t->port (an absolute path
 * stays on the same host); their hosts' addresses pass addr_ok as the
 * first did. A name's addresses are tried in turn while connecting fails;
 * an answer, good or bad, is final.
 *
 * Returns 0 when the challenge holds. -1 with e: LERR_FORBIDDEN when it
 * does not, e->msg naming the URL or address:port and what went wrong
 * ("connection to 10.0.0.5:80 refused", "got HTTP 404 for http://...",
 * "... the key authorization does not match", "no address for
 * nas.home.arpa", "... timed out after 10 s"); LERR_BAD_REQUEST when t is
 * not a valid target (an identifier, token, key_auth, port or timeout
 * out of shape; an IPv4-mapped IPv6 identifier). Name resolution uses
 * getaddrinfo, which the timeout does not bound (the resolver's own
 * settings do).
 */
int acmecheck_http01(const struct acmecheck_target *t, struct lerr *e);

/*
 * tls-alpn-01 (RFC 8737; RFC 8738 §6 for IP identifiers): a TLS handshake
 * (1.2 or 1.3, the certificate not verified: it is self-signed) with the
 * identifier's address on t->port, SNI the DNS identifier or, for an IP
 * one, its reverse-DNS name (acmecheck_ip_sni), offering only ALPN
 * "acme-tls/1", which the server must select. The first certificate it
 * sends must then pass acmecheck_alpn_cert. Addresses are tried in turn
 * while connecting fails, as for http-01. Returns as acmecheck_http01.
 */
int acmecheck_tlsalpn01(const struct acmecheck_target *t, struct lerr *e);

/*
 * dns-01 (RFC 8555 §8.4), for a DNS identifier only: a TXT query for
 * _acme-challenge.IDENTIFIER through the system's resolver (resolv.conf,
 * res_nquery, the answer read with ns_parserr), each try bounded by the
 * timeout. One TXT record, its strings joined, must be the base64url
 * SHA-256 of key_auth. t->port and addr_ok are not used: the resolver
 * asks the DNS servers the admin configured, nobody else. Returns as
 * acmecheck_http01 ("no TXT record at _acme-challenge.x", "the DNS
 * server did not answer", "... none holds the key authorization's
 * digest").
 */
int acmecheck_dns01(const struct acmecheck_target *t, struct lerr *e);

/*
 * The checks of RFC 8737 §3 on a tls-alpn-01 validation certificate (DER,
 * len bytes): exactly one subjectAltName entry, a dNSName equal to the
 * identifier (ignoring case) or, for an IP identifier, an iPAddress equal
 * to it; exactly one id-pe-acmeIdentifier extension, marked critical,
 * whose value decodes (libtasn1, strict DER, nothing after it) as an OCTET
 * STRING of 32 bytes equal to SHA-256(key_auth). 0, or -1 with e
 * (LERR_FORBIDDEN, the message naming what is wrong, prefixed with
 * "the certificate"; LERR_BAD_REQUEST for a bad target).
 */
int acmecheck_alpn_cert(const unsigned char *der, size_t len, const struct acmecheck_target *t,
			struct lerr *e);

/*
 * The TLS server name for an IP identifier (RFC 8738 §6, the reverse
 * mapping of RFC 1034 / RFC 3596): "3.2.1.10.in-addr.arpa" for 10.1.2.3,
 * 32 dot-separated nibbles then "ip6.arpa" for an IPv6 address. Written to
 * out (size outsz, ACMECHECK_SNI_MAX suffices). 0, or -1 with e
 * (LERR_BAD_REQUEST: not an address, or out too small).
 */
int acmecheck_ip_sni(const char *ip, char *out, size_t outsz, struct lerr *e);

/* One HTTP/1.x response as acmecheck_http_parse reads it. */
struct acmecheck_http_resp {
	int status;			/* 100..599 */
	size_t head_len;		/* bytes of the status line and headers */
	int has_location;		/* a Location header was sent */
	char location[ACMECHECK_LOCATION_MAX + 1];	/* its value, trimmed, NUL-ended */
	int body_read;			/* the body below is the response's (status 200) */
	size_t body_len;
	unsigned char body[ACMECHECK_BODY_MAX];	/* de-chunked */
};

/*
 * Parses the bytes of one response received so far (buf, len; eof: the
 * peer has closed the connection, nothing more will come). A pure
 * function over its input, so it runs again after every read and fuzzes
 * alone. The status line ("HTTP/1.0" or "HTTP/1.1", three digits), then
 * headers (token names, no folded lines, no bare CR, all within
 * ACMECHECK_HEAD_MAX bytes; Content-Length digits only and one value;
 * Transfer-Encoding only "chunked", which wins over Content-Length; at
 * most one Location). For a status other than 200 the response is
 * complete at the end of its headers: its body is never needed. For 200
 * the body is read by Content-Length, chunks (trailers ignored) or up to
 * eof, at most ACMECHECK_BODY_MAX bytes. r is filled on every call.
 *
 * Returns 1 when the response is complete, 0 when more bytes are needed
 * (never when eof is set), -1 with e (LERR_FORBIDDEN, a message without
 * the URL: "the body is over 8192 bytes") when it is malformed, too large
 * or cut short.
 */
int acmecheck_http_parse(const unsigned char *buf, size_t len, int eof,
			 struct acmecheck_http_resp *r, struct lerr *e);

#endif
