/*
 * httpc.h - a small HTTP/1.1 client over TCP, with GnuTLS for https.
 *
 * Owns: how the device side talks to a gateway. One connection at a time,
 * one request at a time, kept alive between requests when the server
 * allows and reopened transparently when it closed. An https connection
 * trusts exactly one root (the one the caller fetched and checked) and
 * verifies the server's name against the URL's host; an optional client
 * certificate and key give mTLS. Everything read from the network is
 * bounded: the header block to HTTPC_MAX_HEADERS, the body to
 * HTTPC_MAX_BODY, and the parser (httpc_parse_response) works over a byte
 * buffer so that it can be tested without sockets.
 *
 * The caller must ignore SIGPIPE (a peer that closes mid-write must give
 * an error, not kill the process).
 */
#ifndef LANCA_HTTPC_H
#define LANCA_HTTPC_H

#include <stddef.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include "common/buf.h"
#include "common/lerr.h"

#define HTTPC_MAX_HEADERS	(16 * 1024)	/* status line + headers (+ trailers) */
#define HTTPC_MAX_BODY		(256 * 1024)	/* decoded body */
#define HTTPC_MAX_RETRY_AFTER	86400		/* larger values read as absent */

/* A parsed http:// or https:// URL. */
struct httpc_url {
	int tls;		/* 1 for https, 0 for http */
	char host[256];		/* name or address, without IPv6 brackets */
	char port[6];		/* decimal, defaulted from the scheme */
	char path[1024];	/* from the first '/', "/" when the URL had none */
};

/* Parses url into u. Accepts scheme://host[:port][/path], host may be an
 * IPv6 literal in brackets; refuses user-info, fragments, bytes that are
 * not printable ASCII, and oversized parts. Returns 0 or -1 with e. */
int httpc_url_parse(const char *url, struct httpc_url *u, struct lerr *e) LANCA_WUR;

/* One response. Strings are malloc'd and NUL-terminated, or NULL when the
 * header was absent; the body is malloc'd (NUL-terminated, not counted in
 * body_len) or NULL when empty. Free with httpc_response_free(). */
struct httpc_response {
	int status;		/* 100..599 */
	char *content_type;
	char *location;
	long retry_after;	/* delta-seconds, or -1 if absent or not a number */
	int close;		/* the server closes after this response */
	int auth_basic;		/* a WWW-Authenticate header offers the Basic scheme */
	unsigned char *body;
	size_t body_len;
};

/* Frees what r owns and zeroes it. NULL-safe. */
void httpc_response_free(struct httpc_response *r);

/*
 * Parses one response from data[0..len). eof says the peer has closed (so a
 * body delimited by the close is complete, and anything else short is
 * truncated); head says the request was HEAD (no body). Interim 1xx
 * responses are skipped.
 * Returns 1 when a whole response was parsed (resp filled, the caller owns
 * it; *used = bytes consumed), 0 when more bytes are needed (resp untouched),
 * or -1 when the bytes are malformed, over a cap, or truncated at eof (e
 * filled, resp untouched).
 */
int httpc_parse_response(const unsigned char *data, size_t len, int eof, int head,
			 struct httpc_response *resp, size_t *used, struct lerr *e);

/* TLS settings for httpc_open(). PEM text; lengths exclude any NUL. */
struct httpc_tls {
	const char *root_pem;	/* the only trust anchor (required for https) */
	size_t root_len;
	/* No anchor at all: the server's certificate is not checked. Only for
	 * EST's bootstrap (RFC 7030 section 4.1.1): fetching /cacerts, whose
	 * answer the caller then checks against the fingerprint the user read
	 * off the gateway, or shows for trust on first use. root_pem is then
	 * NULL, and no client certificate is sent. */
	int bootstrap;
	const char *cert_pem;	/* client chain (leaf first) for mTLS, or NULL */
	size_t cert_len;
	/* Its private key, in a file or a PKCS#11 token: borrowed, it must
	 * outlive the connection (every reconnect signs with it again). */
	gnutls_privkey_t key;
};

struct httpc_conn;

/*
 * Opens a connection to the scheme, host and port of url (its path is
 * ignored); for https, tls must name the root (or ask for bootstrap). timeout_s bounds the
 * connect, the handshake and every later read or write. Returns 0 with
 * *out owned by the caller (httpc_close), or -1 with e filled.
 */
int httpc_open(const char *url, const struct httpc_tls *tls, int timeout_s,
	       struct httpc_conn **out, struct lerr *e) LANCA_WUR;

/*
 * httpc_open, connecting from the numeric local address source ("127.0.0.5",
 * "::1"; port chosen by the kernel), reconnects included; NULL lets the
 * kernel choose. Only the URL host's addresses of source's family are
 * tried. Load clients use it to come from many loopback addresses, as
 * real devices do, under a server's per-address connection limit.
 */
int httpc_open_from(const char *url, const char *source, const struct httpc_tls *tls,
		    int timeout_s, struct httpc_conn **out, struct lerr *e) LANCA_WUR;

/*
 * The channel binding of c's TLS connection (connecting first when there is
 * none) into cb (gnutls_free it): tls-exporter (RFC 9266) on TLS 1.3,
 * tls-unique (RFC 5929) on TLS 1.2. The next httpc_request goes out on
 * that same connection unless it fails. Returns 0 or -1 with e.
 */
int httpc_channel_binding(struct httpc_conn *c, gnutls_datum_t *cb, struct lerr *e) LANCA_WUR;

/*
 * Sends one request and reads its response into resp (the caller frees it
 * with httpc_response_free). headers is a NULL-terminated list of
 * "Name: value" strings (no CR or LF), or NULL; Host, Content-Length and
 * User-Agent are added here. A body is sent with Content-Length (POST and
 * PUT always carry one, possibly 0). When the server had closed a kept-
 * alive connection before answering, the request is sent once more on a
 * fresh one. Returns 0 (any HTTP status) or -1 with e (network, TLS,
 * malformed or oversized response).
 */
int httpc_request(struct httpc_conn *c, const char *method, const char *path,
		  const char *const *headers, const void *body, size_t len,
		  struct httpc_response *resp, struct lerr *e) LANCA_WUR;

/* Closes the connection and frees c. NULL-safe. */
void httpc_close(struct httpc_conn *c);

#endif
