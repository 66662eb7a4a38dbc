/*
 * httpd.h - the network-facing HTTP and HTTPS servers (libmicrohttpd).
 *
 * Owns: listening sockets, the threads that serve them (a fixed pool, no
 * thread per connection), TLS set-up (TLS 1.2/1.3, forward-secret AEAD
 * suites only, the gateway certificate with the issuing CA in the chain,
 * hot-swappable on renewal, session tickets so returning clients resume),
 * and every limit: connections in total and per address, per-connection
 * memory, timeouts (idle, and the time a request may take to arrive:
 * guard.c), header and URL sizes, body caps (413). Requests are checked
 * for what libmicrohttpd lets through (strict.c), then dispatched by
 * route.c through the table httpd_start() is given.
 *
 * The HTTPS server asks every client for a certificate but never requires
 * one and never judges it: GnuTLS and libmicrohttpd accept any chain the
 * client can prove it holds the key for (factory certificates come from
 * vendor CAs that are in no TLS trust store). Handlers that care fetch it
 * with httpd_peer_chain() and verify it themselves.
 *
 * Order of use in `lanca serve`: httpd_bind() (as root, may bind :443),
 * drop privileges, httpd_start(), ..., httpd_stop().
 */
#ifndef LANCA_HTTPD_H
#define LANCA_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <gnutls/x509.h>
#include "common/lerr.h"
#include "http/app.h"

#define HTTPD_BODY_MAX		(64 * 1024)
#define HTTPD_URL_MAX		1024
#define HTTPD_CONN_MAX		256
#define HTTPD_CONN_PER_IP	32
#define HTTPD_TIMEOUT_S		30	/* idle: no byte in either direction; at
					 * least the request deadline */
/* A request (TLS handshake, request line, headers, body) must arrive whole
 * within this many seconds of the connection's start or of the previous
 * response; the idle timeout alone lets a client that sends a byte every
 * 29 s keep a connection for ever (guard.h). The default; serve's
 * --request-timeout sets it from 1 to HTTPD_REQUEST_MAX_S. */
#define HTTPD_REQUEST_S		10
#define HTTPD_REQUEST_MAX_S	300
/* Connections waiting for their request beyond this close the oldest of
 * them: a quarter of HTTPD_CONN_MAX stays free for new clients. */
#define HTTPD_WAITING_MAX	(HTTPD_CONN_MAX * 3 / 4)
/* A chunked body over its route's cap is read and dropped up to this many
 * bytes so that its 413 can be sent (libmicrohttpd answers only after the
 * body); past it the connection is cut. So is one whose body comes slower
 * than HTTPD_DRAIN_RATE bytes per request deadline (its deadline starts
 * again each time that much came). */
#define HTTPD_DRAIN_MAX		((size_t)128 << 20)
#define HTTPD_DRAIN_RATE	((size_t)1 << 20)
/* Per connection: request line, headers and libmicrohttpd's buffers
 * (bodies go to route.c's own capped buffer). 32 KiB takes headers of
 * about 20 KB; libmicrohttpd zeroes the whole area after every request,
 * and above 32 KiB it maps a fresh area (mmap) for every connection. */
#define HTTPD_CONN_MEMORY	(32 * 1024)
#define HTTPD_PEER_CHAIN_MAX	10	/* certificates a client may present */

struct httpd;
struct MHD_Connection;

struct httpd_config {
	const char *https_addr;		/* "127.0.0.1:8443", "[::1]:8443", ":443" */
	const char *http_addr;		/* plain HTTP; NULL = none */
	const char *tls_chain_pem;	/* gateway cert then issuing CA (PEM, NUL-terminated) */
	const char *tls_key_pem;	/* gateway key (PEM, NUL-terminated) */
	unsigned request_s;		/* a request's deadline; 0: HTTPD_REQUEST_S */
};

/* Parses "HOST:PORT" / "[V6]:PORT" / ":PORT"; 0 or -1 with e. */
int httpd_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len,
		     uint16_t *port, struct lerr *e);

/* Creates and binds both listening sockets; loads the TLS certificate
 * when c has one (else httpd_set_tls must before httpd_start). */
int httpd_bind(const struct httpd_config *c, struct httpd **out, struct lerr *e);
struct http_table;
/* Starts serving on the bound sockets with the handlers' shared state,
 * answering with table's routes (routes.h's http_routes; a tool may bring
 * its own). table must outlive the servers. */
int httpd_start(struct httpd *h, struct app *app, const struct http_table *table,
		struct lerr *e);
/* Sets, or replaces for new handshakes, the TLS certificate and key. */
int httpd_set_tls(struct httpd *h, const char *chain_pem, const char *key_pem, struct lerr *e);
/* Stops both servers and closes the sockets. NULL-safe. */
void httpd_stop(struct httpd *h);

/*
 * The certificates the TLS client presented, leaf first, as sent and NOT
 * verified (the handshake only proved the client holds the leaf's key).
 * On success out[0..*n-1] are new and the caller deinits each; *n = 0 on
 * a plain HTTP connection or when the client sent none. Returns 0, or -1
 * (nothing to free) when the chain is longer than max, a certificate does
 * not parse, or the peer used a non-X.509 certificate type.
 */
int httpd_peer_chain(struct MHD_Connection *c, gnutls_x509_crt_t *out, unsigned max,
		     unsigned *n);

/*
 * The client's address as text into out (n bytes; 46 is enough):
 * "192.0.2.1", "2001:db8::1"; an IPv4-mapped IPv6 address (dual-stack
 * socket) is shown as IPv4. 0, or -1 if unknown or out is too small.
 */
int httpd_client_addr(struct MHD_Connection *c, char *out, size_t n);
/* The TLS connection's channel binding into cb (gnutls_free cb->data):
 * tls-exporter (RFC 9266) on TLS 1.3, tls-unique (RFC 5929, the first
 * Finished message of the latest handshake, resumed or not) on TLS 1.2.
 * *kind names the one used. Returns 0, -1 on plain HTTP or when GnuTLS
 * has none, -2 on a TLS 1.2 connection without the extended master secret
 * (RFC 7627), where tls-unique is not safe to rely on. */
int httpd_channel_binding(struct MHD_Connection *c, gnutls_datum_t *cb, const char **kind);

#endif
