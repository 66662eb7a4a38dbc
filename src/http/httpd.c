/*
 * httpd.c - the HTTP and HTTPS servers: sockets, TLS, limits (see httpd.h).
 *
 * Both servers are libmicrohttpd daemons with a fixed pool of threads,
 * each polling (poll()) the connections it accepted: no thread is made
 * per connection, so a fresh connection costs no thread creation and
 * thousands of them over time, or hundreds at once, cost no more threads.
 * Handlers block (a store commit, the signer's round trip: milliseconds),
 * and a blocked pool thread stalls the other connections it owns for that
 * long, so the pool is larger than the core count; HTTPD_POOL was chosen
 * by measuring 4, 8, 16 and 32 threads with 1 to 64 clients (see
 * docs/performance.md, "Serving from a fixed pool of threads").
 * LANCA_HTTPD_POOL overrides it for such measurements.
 *
 * Not epoll: in libmicrohttpd 0.9.75's epoll mode a pool thread spins at
 * 100 % of a core for as long as a TLS handshake waits for the client (a
 * partial or unanswered ClientHello: measured, and t_pool.sh checks it);
 * poll() mode sleeps. poll() is linear in a thread's connections, which at
 * HTTPD_CONN_MAX / HTTPD_POOL each costs nothing measurable.
 *
 * Every limit is set on the pool: libmicrohttpd divides the connection
 * limit among the threads and keeps the per-address limit across them.
 *
 * Between libmicrohttpd and the router (route.c) sit this file's URI log
 * callback, access handler and completion callback: strict.c judges what
 * libmicrohttpd 0.9.75 lets through (an encoded NUL, too many query
 * parameters, Host, Content-Length and Transfer-Encoding) and the refusal
 * is answered here; guard.c is told when a request has arrived and when
 * it is done, and closes connections whose request takes too long.
 *
 * TLS material is not handed to libmicrohttpd as PEM. A certificate
 * callback returns the current chain and key, so httpd_set_tls() can
 * replace them on renewal without a restart. GnuTLS keeps using what the
 * callback returned until the handshake ends and tells us nothing when it
 * does, so replaced material is retired, not freed, until httpd_stop()
 * (renewals come months apart; the list stays tiny).
 *
 * Client certificates: /api/v1/renew and /api/v1/enroll read the chain the
 * client presented, so every handshake asks for one (GNUTLS_CERT_REQUEST,
 * set per session when libmicrohttpd announces the connection, before the
 * handshake thread starts). MHD_OPTION_HTTPS_MEM_TRUST is not used: it
 * would do the same request but also load a trust list that GnuTLS sends
 * as certificate_authorities, and lanca has no list worth sending (factory
 * certificates come from vendor CAs). Neither GnuTLS (no verify function,
 * no gnutls_session_set_verify_cert) nor libmicrohttpd (it only looks at
 * gnutls_handshake's result) judges the presented chain; GnuTLS still
 * checks the client's CertificateVerify signature, so a presented leaf is
 * one whose key the client holds. Handlers verify chains themselves.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "http/httpd.h"
#include "http/guard.h"
#include "http/reply.h"
#include "http/route.h"
#include "http/strict.h"
#include "common/log.h"

#define HTTPD_CHAIN_MAX		8
#define HTTPD_STACK_SIZE	(256 * 1024)
#define HTTPD_BACKLOG		128
#define HTTPD_POOL		16	/* HTTPS pool threads (see the top comment) */
#define HTTPD_POOL_PLAIN	2	/* plain HTTP: first contact, static answers */
#define HTTPD_POOL_MAX		64
/* Largest handshake message GnuTLS buffers per connection (its default is
 * 128 KiB). Now that clients send certificate chains: ten certificates
 * and a ClientHello fit well within 64 KiB. */
#define HTTPD_HANDSHAKE_MAX	(64 * 1024)

/* TLS 1.2 and 1.3 only; forward-secret key exchange (ECDHE, or TLS 1.3's
 * own) and AEAD ciphers only; no SHA-1 handshake signatures; the server's
 * preference order wins. `gnutls-cli -l --priority '...'` lists the result. */
#define HTTPD_TLS_PRIORITIES \
	"NONE:+VERS-TLS1.3:+VERS-TLS1.2:+ECDHE-ECDSA:+ECDHE-RSA:" \
	"+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:+AEAD:" \
	"+SIGN-ALL:-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:" \
	"+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+CTYPE-X509:" \
	"%SERVER_PRECEDENCE"

/* One certificate chain and its key, as GnuTLS wants them in a handshake. */
struct httpd_tls {
	gnutls_pcert_st pcert[HTTPD_CHAIN_MAX];
	unsigned npcert;
	gnutls_privkey_t key;
	struct httpd_tls *next;		/* retired list */
};

struct httpd_listener {
	int fd;				/* -1 once libmicrohttpd owns it */
	int v6, dual;
	uint16_t port;
	struct MHD_Daemon *d;
	struct http_server srv;
	struct http_guard *guard;	/* the bound on requests' arrival */
	const gnutls_datum_t *ticket_key;	/* HTTPS: the session ticket key */
};

struct httpd {
	struct httpd_listener https, http;
	int have_http;
	unsigned request_s;		/* a request's deadline (guard.h) */
	gnutls_datum_t ticket_key;	/* session ticket master key; never leaves memory */
	struct httpd_tls *tls;		/* current; guarded by httpd_tls_lock */
	struct httpd_tls *retired;
};

/*
 * The certificate callback gets no user pointer, so the daemon whose
 * material it serves is process-wide. One `lanca serve` runs one HTTPS
 * server; httpd_start refuses a second.
 */
static pthread_mutex_t httpd_tls_lock = PTHREAD_MUTEX_INITIALIZER;
static struct httpd *httpd_tls_owner;

/* ---- TLS material ---- */

static void
httpd_tls_free(struct httpd_tls *t)
{
	unsigned i;

	if (t == NULL)
		return;
	for (i = 0; i < t->npcert; i++)
		gnutls_pcert_deinit(&t->pcert[i]);
	/* gnutls_privkey_deinit wipes the key's parameters. */
	gnutls_privkey_deinit(t->key);
	free(t);
}

/*
 * Imports a PEM chain (leaf first) and a PEM private key and checks that
 * the key belongs to the leaf. On success *out is new and owned by the
 * caller (httpd_tls_free). The PEM inputs are not kept.
 */
static int
httpd_tls_load(const char *chain_pem, const char *key_pem, struct httpd_tls **out,
	       struct lerr *e)
{
	struct httpd_tls *t = NULL;
	gnutls_datum_t d;
	gnutls_pubkey_t pub = NULL;
	unsigned char id1[64], id2[64];
	size_t l1 = sizeof(id1), l2 = sizeof(id2);
	unsigned n = HTTPD_CHAIN_MAX;
	int rc = -1, grc;

	if (chain_pem == NULL || key_pem == NULL) {
		lerr_set(e, LERR_INTERNAL, "no TLS certificate or key");
		goto out;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	d.data = (unsigned char *)(uintptr_t)chain_pem;
	d.size = (unsigned)strlen(chain_pem);
	grc = gnutls_pcert_list_import_x509_raw(t->pcert, &n, &d, GNUTLS_X509_FMT_PEM,
						GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
	if (grc < 0) {
		lerr_set(e, LERR_INTERNAL, "TLS certificate chain: %s", gnutls_strerror(grc));
		goto out;
	}
	t->npcert = n;
	if ((grc = gnutls_privkey_init(&t->key)) < 0) {
		lerr_set(e, LERR_INTERNAL, "TLS key: %s", gnutls_strerror(grc));
		goto out;
	}
	d.data = (unsigned char *)(uintptr_t)key_pem;
	d.size = (unsigned)strlen(key_pem);
	grc = gnutls_privkey_import_x509_raw(t->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (grc < 0) {
		lerr_set(e, LERR_INTERNAL, "TLS key: %s", gnutls_strerror(grc));
		goto out;
	}
	/* A renewal that pairs the wrong key would fail every handshake. */
	if ((grc = gnutls_pubkey_init(&pub)) < 0 ||
	    (grc = gnutls_pubkey_import_privkey(pub, t->key, 0, 0)) < 0 ||
	    (grc = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, id1, &l1)) < 0 ||
	    (grc = gnutls_pubkey_get_key_id(t->pcert[0].pubkey, GNUTLS_KEYID_USE_SHA256,
					    id2, &l2)) < 0) {
		lerr_set(e, LERR_INTERNAL, "TLS key: %s", gnutls_strerror(grc));
		goto out;
	}
	if (l1 != l2 || memcmp(id1, id2, l1) != 0) {
		lerr_set(e, LERR_INTERNAL, "the TLS key does not match the certificate");
		goto out;
	}
	*out = t;
	t = NULL;
	rc = 0;
out:
	gnutls_pubkey_deinit(pub);
	httpd_tls_free(t);
	return rc;
}

/* GnuTLS asks for our certificate: hand out the current material. */
static int
httpd_cert_cb(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
	      const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
	      gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	struct httpd_tls *t = NULL;

	(void)session;
	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	pthread_mutex_lock(&httpd_tls_lock);
	if (httpd_tls_owner != NULL)
		t = httpd_tls_owner->tls;
	pthread_mutex_unlock(&httpd_tls_lock);
	if (t == NULL)
		return -1;
	*pcert = t->pcert;
	*pcert_length = t->npcert;
	*privkey = t->key;
	return 0;
}

int
httpd_set_tls(struct httpd *h, const char *chain_pem, const char *key_pem, struct lerr *e)
{
	struct httpd_tls *t = NULL;
	int replaced;

	if (httpd_tls_load(chain_pem, key_pem, &t, e) != 0)
		return -1;
	pthread_mutex_lock(&httpd_tls_lock);
	replaced = h->tls != NULL;
	if (replaced) {
		h->tls->next = h->retired;
		h->retired = h->tls;
	}
	h->tls = t;
	pthread_mutex_unlock(&httpd_tls_lock);
	if (replaced)
		log_info("httpd: TLS certificate replaced");
	return 0;
}

/*
 * libmicrohttpd announces each new connection here, and each close. The
 * guard keeps its record of the connection (see guard.h). On HTTPS this
 * comes after libmicrohttpd made the GnuTLS session and before any
 * handshake byte is read: ask for a client certificate without requiring
 * one, and send no certificate_authorities list (any CA is welcome; see
 * the top comment). With the server's ticket key, a device that comes
 * back with a ticket resumes its session instead of paying for a full
 * handshake.
 */
static void
httpd_conn_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
	      enum MHD_ConnectionNotificationCode toe)
{
	struct httpd_listener *l = cls;
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t session;

	http_guard_notify(l->guard, conn, socket_context, toe);
	if (toe != MHD_CONNECTION_NOTIFY_STARTED || l->srv.on != HTTP_ON_TLS)
		return;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return;
	session = (gnutls_session_t)ci->tls_session;
	gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
	gnutls_certificate_send_x509_rdn_sequence(session, 1);
	gnutls_handshake_set_max_packet_length(session, HTTPD_HANDSHAKE_MAX);
	/* Without tickets the handshake still works: resumption is a saving,
	 * not a feature anyone depends on. */
	if (l->ticket_key != NULL && l->ticket_key->data != NULL)
		(void)gnutls_session_ticket_enable_server(session, l->ticket_key);
}

int
httpd_peer_chain(struct MHD_Connection *c, gnutls_x509_crt_t *out, unsigned max, unsigned *n)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *peers;
	gnutls_session_t session;
	unsigned i, got = 0, np = 0;
	int rc = -1;

	*n = 0;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL) {
		rc = 0;			/* plain HTTP */
		goto out;
	}
	session = (gnutls_session_t)ci->tls_session;
	peers = gnutls_certificate_get_peers(session, &np);
	if (peers == NULL || np == 0) {
		rc = 0;			/* the client sent no certificate */
		goto out;
	}
	/* Only X.509 is in our priorities; anything else is not a chain. */
	if (gnutls_certificate_type_get2(session, GNUTLS_CTYPE_PEERS) != GNUTLS_CRT_X509)
		goto out;
	if (np > max)
		goto out;
	for (got = 0; got < np; got++) {
		if (gnutls_x509_crt_init(&out[got]) < 0)
			goto out;
		if (gnutls_x509_crt_import(out[got], &peers[got], GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(out[got]);
			goto out;
		}
	}
	*n = np;
	rc = 0;
out:
	if (rc != 0)
		for (i = 0; i < got; i++) {
			gnutls_x509_crt_deinit(out[i]);
			out[i] = NULL;
		}
	return rc;
}

int
httpd_channel_binding(struct MHD_Connection *c, gnutls_datum_t *cb, const char **kind)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t session;
	gnutls_channel_binding_t type;

	cb->data = NULL;
	cb->size = 0;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return -1;
	session = (gnutls_session_t)ci->tls_session;
	if (gnutls_protocol_get_version(session) == GNUTLS_TLS1_3) {
		type = GNUTLS_CB_TLS_EXPORTER;
		*kind = "tls-exporter";
	} else {
		type = GNUTLS_CB_TLS_UNIQUE;
		*kind = "tls-unique";
		/* Without the extended master secret (RFC 7627) tls-unique can
		 * be made equal on two connections (the triple handshake). */
		if (!gnutls_session_ext_master_secret_status(session))
			return -2;
	}
	if (gnutls_session_channel_binding(session, type, cb) < 0 || cb->size == 0) {
		gnutls_free(cb->data);
		cb->data = NULL;
		cb->size = 0;
		return -1;
	}
	return 0;
}

int
httpd_client_addr(struct MHD_Connection *c, char *out, size_t n)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;
	const unsigned char *a6;
	const void *addr;
	int af, rc = -1;

	if (n == 0)
		return -1;
	out[0] = '\0';
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		goto out;
	if (sa->sa_family == AF_INET) {
		af = AF_INET;
		addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		a6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		/* A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d. */
		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			af = AF_INET;
			addr = a6 + 12;
		} else {
			af = AF_INET6;
			addr = a6;
		}
	} else {
		goto out;
	}
	if (n > INT32_MAX || inet_ntop(af, addr, out, (socklen_t)n) == NULL) {
		out[0] = '\0';
		goto out;
	}
	rc = 0;
out:
	return rc;
}

/* ---- addresses and sockets ---- */

int
httpd_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len,
		 uint16_t *port, struct lerr *e)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	const char *hs, *he, *ps;
	char host[64], *end;
	unsigned long p;
	size_t hl;
	int bracket = 0;

	if (text == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "no address given");
	if (text[0] == '[') {
		hs = text + 1;
		he = strchr(hs, ']');
		if (he == NULL || he[1] != ':')
			return lerr_set(e, LERR_BAD_REQUEST,
					"bad address \"%s\": expected [V6]:PORT", text);
		ps = he + 2;
		bracket = 1;
	} else {
		hs = text;
		he = strrchr(text, ':');
		if (he == NULL)
			return lerr_set(e, LERR_BAD_REQUEST,
					"bad address \"%s\": expected HOST:PORT", text);
		if (memchr(hs, ':', (size_t)(he - hs)) != NULL)
			return lerr_set(e, LERR_BAD_REQUEST,
					"bad address \"%s\": write IPv6 addresses as [V6]:PORT", text);
		ps = he + 1;
	}
	if (ps[0] < '0' || ps[0] > '9')
		return lerr_set(e, LERR_BAD_REQUEST, "bad port in \"%s\"", text);
	errno = 0;
	p = strtoul(ps, &end, 10);
	if (errno != 0 || *end != '\0' || p > 65535)
		return lerr_set(e, LERR_BAD_REQUEST, "bad port in \"%s\"", text);
	hl = (size_t)(he - hs);
	if (hl >= sizeof(host))
		return lerr_set(e, LERR_BAD_REQUEST, "bad address \"%s\": host too long", text);
	memcpy(host, hs, hl);
	host[hl] = '\0';

	memset(ss, 0, sizeof(*ss));
	if (hl == 0 && !bracket) {
		/* ":PORT": every address; httpd_bind falls back to IPv4 if
		 * the kernel has no IPv6. */
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*s6);
	} else if (bracket) {
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return lerr_set(e, LERR_BAD_REQUEST,
					"bad address \"%s\": not an IPv6 address", text);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*s6);
	} else {
		if (strcmp(host, "localhost") == 0) {
			s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		} else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
			return lerr_set(e, LERR_BAD_REQUEST,
					"bad address \"%s\": not a numeric IPv4 address", text);
		}
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*len = sizeof(*s4);
	}
	*port = (uint16_t)p;
	return 0;
}

/* Makes one listening socket for text into l. 0 or -1 with e. */
static int
httpd_listen(const char *text, struct httpd_listener *l, struct lerr *e)
{
	struct sockaddr_storage ss, got;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	socklen_t len, glen = sizeof(got);
	uint16_t port;
	int fd = -1, one = 1, v6only, rc = -1, fl;

	if (httpd_parse_addr(text, &ss, &len, &port, e) != 0)
		goto out;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && ss.ss_family == AF_INET6 && errno == EAFNOSUPPORT &&
	    memcmp(&s6->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0) {
		memset(&ss, 0, sizeof(ss));
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		s4->sin_port = htons(port);
		len = sizeof(*s4);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	}
	if (fd < 0) {
		lerr_set(e, LERR_INTERNAL, "socket for %s: %s", text, strerror(errno));
		goto out;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
		lerr_set(e, LERR_INTERNAL, "SO_REUSEADDR for %s: %s", text, strerror(errno));
		goto out;
	}
	l->v6 = ss.ss_family == AF_INET6;
	l->dual = 0;
	if (l->v6) {
		/* The wildcard also takes IPv4 (dual stack); a specific
		 * address takes only itself. */
		l->dual = memcmp(&s6->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0;
		v6only = !l->dual;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) != 0) {
			lerr_set(e, LERR_INTERNAL, "IPV6_V6ONLY for %s: %s", text,
				 strerror(errno));
			goto out;
		}
	}
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		lerr_set(e, LERR_INTERNAL, "bind %s: %s", text, strerror(errno));
		goto out;
	}
	if (listen(fd, HTTPD_BACKLOG) != 0) {
		lerr_set(e, LERR_INTERNAL, "listen %s: %s", text, strerror(errno));
		goto out;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		lerr_set(e, LERR_INTERNAL, "O_NONBLOCK for %s: %s", text, strerror(errno));
		goto out;
	}
	/* Port 0 asks the kernel to choose; report what it chose. */
	if (getsockname(fd, (struct sockaddr *)&got, &glen) != 0) {
		lerr_set(e, LERR_INTERNAL, "getsockname %s: %s", text, strerror(errno));
		goto out;
	}
	l->port = got.ss_family == AF_INET6 ?
		ntohs(((struct sockaddr_in6 *)&got)->sin6_port) :
		ntohs(((struct sockaddr_in *)&got)->sin_port);
	l->fd = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
httpd_bind(const struct httpd_config *c, struct httpd **out, struct lerr *e)
{
	struct httpd *h;
	int rc = -1, grc;

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	h->https.fd = h->http.fd = -1;
	h->request_s = c->request_s != 0 ? c->request_s : HTTPD_REQUEST_S;
	/* TLS first: a bad certificate should fail before any socket exists.
	 * Without one here, httpd_set_tls gives it before httpd_start (serve
	 * binds as root and reads the gateway's key as its user). */
	if (c->tls_chain_pem != NULL &&
	    httpd_tls_load(c->tls_chain_pem, c->tls_key_pem, &h->tls, e) != 0)
		goto out;
	/* GnuTLS derives the keys that encrypt tickets from this one and
	 * rotates them itself (a new one each ticket lifetime, 6 hours by
	 * default); a restart makes a new master key, so old tickets simply
	 * fall back to a full handshake. */
	if ((grc = gnutls_session_ticket_key_generate(&h->ticket_key)) < 0) {
		lerr_set(e, LERR_INTERNAL, "TLS session ticket key: %s", gnutls_strerror(grc));
		goto out;
	}
	if (httpd_listen(c->https_addr, &h->https, e) != 0)
		goto out;
	if (c->http_addr != NULL) {
		if (httpd_listen(c->http_addr, &h->http, e) != 0)
			goto out;
		h->have_http = 1;
	}
	*out = h;
	h = NULL;
	rc = 0;
out:
	httpd_stop(h);
	return rc;
}

/* ---- the daemons ---- */

/* libmicrohttpd's diagnostics. Most are about peers (failed handshakes,
 * malformed requests), so they are informational, not errors of ours. */
static void httpd_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
httpd_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_info("httpd: %s", line);
}

/* ---- requests, before the router ---- */

/*
 * The URI log callback's verdict on a request line reaches the access
 * handler as the request's first *con_cls: one of these marks, never
 * allocated, so nothing leaks when a request dies before its handler.
 * The mark also carries the URI string's length (capped), which the
 * access handler compares with the URI's length on the request line.
 */
#define HTTPD_MARK_LENS	(HTTP_STRICT_RAW_URI_MAX + 2)
static char httpd_uri_marks[HTTP_STRICT_URI_COUNT * HTTPD_MARK_LENS];

static enum http_strict_uri
httpd_uri_mark_of(const void *p, size_t *len, int *is_mark)
{
	uintptr_t at = (uintptr_t)p, base = (uintptr_t)httpd_uri_marks;

	*is_mark = at >= base && at < base + sizeof(httpd_uri_marks);
	if (!*is_mark)
		return HTTP_STRICT_URI_OK;
	*len = (size_t)(at - base) % HTTPD_MARK_LENS;
	return (enum http_strict_uri)((at - base) / HTTPD_MARK_LENS);
}

/*
 * libmicrohttpd calls this with the request line's URI as sent, before it
 * decodes it or splits off the query. A query with too many parameters
 * would exhaust the connection's memory pool while libmicrohttpd stores
 * them, and it then drops the connection unanswered; so its parameters are
 * cut off here, where libmicrohttpd 0.9.75 has found the '?' but not yet
 * read what follows (uri is its own writable line buffer, NUL-terminated),
 * and the access handler answers 431 from the verdict. Nothing else of the
 * line is touched.
 */
static void *
httpd_uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
	enum http_strict_uri v;
	size_t len = strlen(uri);
	long q;

	(void)cls;
	(void)conn;
	v = http_strict_uri_judge(uri, &q);
	if (v == HTTP_STRICT_URI_PARAMS && q >= 0)
		((char *)(uintptr_t)uri)[q + 1] = '\0';
	if (len > HTTP_STRICT_RAW_URI_MAX)
		len = HTTP_STRICT_RAW_URI_MAX + 1;
	return &httpd_uri_marks[(size_t)v * HTTPD_MARK_LENS + len];
}

/*
 * The URI's length on the request line: libmicrohttpd 0.9.75 ends the URI
 * where it puts a NUL in place of the space before the version, so the
 * version string starts one byte after the URI's last. The URL the access
 * handler gets starts where the URI callback's did. 0 when the line had
 * no version (then the version is a constant elsewhere).
 */
static int
httpd_uri_sent(const char *url, const char *version, size_t *sent)
{
	uintptr_t u = (uintptr_t)url, v = (uintptr_t)version;

	if (url == NULL || version == NULL || version[0] == '\0' || v <= u)
		return 0;
	/* Past the limit the exact length does not matter: it is 414. */
	*sent = v - u - 1 > HTTP_STRICT_RAW_URI_MAX + 1 ? HTTP_STRICT_RAW_URI_MAX + 1 :
							 (size_t)(v - u - 1);
	return 1;
}

/* Answers a refusal the strict checks decided, at once: libmicrohttpd
 * then closes the connection after it, which is what a request whose
 * framing is in doubt must get. The request state is made as the router
 * makes it, so http_route_completed frees it. */
static enum MHD_Result
httpd_refuse(struct httpd_listener *l, struct MHD_Connection *conn, const char *url,
	     const char *method, const struct http_strict_verdict *v, void **con_cls)
{
	struct http_req *r;
	enum MHD_Result ret;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return MHD_NO;
	r->conn = conn;
	r->srv = &l->srv;
	r->app = l->srv.app;
	r->method = method;
	r->url = url;
	r->tls = l->srv.on == HTTP_ON_TLS;
	buf_init(&r->body, 0);
	r->err_status = v->status;
	r->err_code = v->code;
	snprintf(r->err_msg, sizeof(r->err_msg), "%s", v->msg);
	*con_cls = r;
	ret = http_reply_error_status(r, v->status, v->code, "%s", v->msg);
	r->queued = ret == MHD_YES;
	return ret;
}

/*
 * The access handler libmicrohttpd calls: the strict checks on the first
 * call (the headers are in, no body byte has been handed over), then the
 * router. The guard's clock stops when the request has arrived whole (the
 * first call without body data after the first call of a request).
 *
 * A chunked body over its route's cap: the router has decided on 413 but
 * libmicrohttpd 0.9.75 will not queue an answer while a body is arriving,
 * and the router hangs up after HTTP_DISCARD_MAX. Such a body is read and
 * dropped here up to HTTPD_DRAIN_MAX, at HTTPD_DRAIN_RATE at least (the
 * guard's deadline), so that the client gets its 413 when the body ends;
 * past either it is cut off.
 */
static enum MHD_Result
httpd_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	     const char *version, const char *upload_data, size_t *upload_data_size,
	     void **con_cls)
{
	struct httpd_listener *l = cls;
	struct http_strict_headers h;
	struct http_strict_verdict v;
	enum http_strict_uri uri;
	struct http_req *r;
	size_t seen = 0, sent = 0;
	int first, known;

	uri = httpd_uri_mark_of(*con_cls, &seen, &first);
	if (first) {
		*con_cls = NULL;
		known = httpd_uri_sent(url, version, &sent);
		uri = http_strict_uri_whole(uri, seen, sent, known);
		http_strict_headers_count(conn, &h);
		http_strict_judge(uri, version, &h, &v);
		if (v.status != 0) {
			http_guard_arrived(conn);
			return httpd_refuse(l, conn, url, method, &v, con_cls);
		}
		return http_route_access(&l->srv, conn, url, method, version, upload_data,
					 upload_data_size, con_cls);
	}
	r = *con_cls;
	if (*upload_data_size > 0 && r != NULL && r->route != NULL && !r->queued &&
	    r->err_status == MHD_HTTP_CONTENT_TOO_LARGE &&
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL) {
		if (r->discarded > HTTPD_DRAIN_MAX - *upload_data_size) {
			log_info("httpd: dropping a connection whose chunked body passed %u MiB",
				 (unsigned)(HTTPD_DRAIN_MAX >> 20));
			return MHD_NO;
		}
		r->discarded += *upload_data_size;
		http_guard_progress(conn, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size == 0)
		http_guard_arrived(conn);
	return http_route_access(&l->srv, conn, url, method, version, upload_data,
				 upload_data_size, con_cls);
}

/* The request is over: free its state (a mark needs none) and start the
 * guard's clock for the next request on the connection. */
static void
httpd_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		enum MHD_RequestTerminationCode toe)
{
	size_t len;
	int mark;

	(void)httpd_uri_mark_of(*con_cls, &len, &mark);
	if (mark)
		*con_cls = NULL;
	else
		http_route_completed(cls, conn, con_cls, toe);
	http_guard_next(conn);
}

/* Pool threads for a daemon: the HTTPS pool by default, or what
 * LANCA_HTTPD_POOL says (1..HTTPD_POOL_MAX), for measuring. */
static unsigned
httpd_pool_size(unsigned on)
{
	const char *s = getenv("LANCA_HTTPD_POOL");
	unsigned long v;
	char *end;

	if (on != HTTP_ON_TLS)
		return HTTPD_POOL_PLAIN;
	if (s == NULL || s[0] == '\0')
		return HTTPD_POOL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > HTTPD_POOL_MAX)
		return HTTPD_POOL;
	return (unsigned)v;
}

/* Starts one daemon on l. The listening socket belongs to libmicrohttpd
 * from here on, whether or not it starts. */
static int
httpd_daemon(struct httpd *h, struct httpd_listener *l, struct app *app,
	     const struct http_table *table, unsigned on, struct lerr *e)
{
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	unsigned pool = httpd_pool_size(on);
	unsigned idle_s = h->request_s > HTTPD_TIMEOUT_S ? h->request_s : HTTPD_TIMEOUT_S;
	int fd = l->fd;

	if (l->v6)
		flags |= l->dual ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	l->srv.app = app;
	l->srv.table = table;
	l->srv.on = on;
	l->fd = -1;
	l->guard = http_guard_new(h->request_s * 1000u, HTTPD_WAITING_MAX, HTTPD_DRAIN_RATE, e);
	if (l->guard == NULL) {
		close(fd);
		return -1;
	}
	if (on == HTTP_ON_TLS) {
		flags |= MHD_USE_TLS;
		l->ticket_key = &h->ticket_key;
		l->d = MHD_start_daemon(flags, 0, NULL, NULL, httpd_access, l,
			/* First, or libmicrohttpd logs the other options' issues itself. */
			MHD_OPTION_EXTERNAL_LOGGER, httpd_mhd_log, (void *)NULL,
			MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
			MHD_OPTION_THREAD_POOL_SIZE, pool,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTPD_CONN_MAX,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)HTTPD_CONN_PER_IP,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_CONN_MEMORY,
			MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
			MHD_OPTION_THREAD_STACK_SIZE, (size_t)HTTPD_STACK_SIZE,
			MHD_OPTION_URI_LOG_CALLBACK, httpd_uri_cb, (void *)NULL,
			MHD_OPTION_NOTIFY_COMPLETED, httpd_completed, (void *)NULL,
			MHD_OPTION_NOTIFY_CONNECTION, httpd_conn_cb, (void *)l,
			MHD_OPTION_SIGPIPE_HANDLED_BY_APP, (int)1,
			MHD_OPTION_HTTPS_PRIORITIES, HTTPD_TLS_PRIORITIES,
			MHD_OPTION_HTTPS_CERT_CALLBACK, httpd_cert_cb,
			MHD_OPTION_END);
	} else {
		l->d = MHD_start_daemon(flags, 0, NULL, NULL, httpd_access, l,
			/* First, or libmicrohttpd logs the other options' issues itself. */
			MHD_OPTION_EXTERNAL_LOGGER, httpd_mhd_log, (void *)NULL,
			MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
			MHD_OPTION_THREAD_POOL_SIZE, pool,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTPD_CONN_MAX,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)HTTPD_CONN_PER_IP,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_CONN_MEMORY,
			MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
			MHD_OPTION_THREAD_STACK_SIZE, (size_t)HTTPD_STACK_SIZE,
			MHD_OPTION_URI_LOG_CALLBACK, httpd_uri_cb, (void *)NULL,
			MHD_OPTION_NOTIFY_COMPLETED, httpd_completed, (void *)NULL,
			MHD_OPTION_NOTIFY_CONNECTION, httpd_conn_cb, (void *)l,
			MHD_OPTION_SIGPIPE_HANDLED_BY_APP, (int)1,
			MHD_OPTION_END);
	}
	if (l->d == NULL)
		return lerr_set(e, LERR_INTERNAL, "cannot start the %s server on port %u",
				on == HTTP_ON_TLS ? "HTTPS" : "HTTP", (unsigned)l->port);
	return 0;
}

int
httpd_start(struct httpd *h, struct app *app, const struct http_table *table, struct lerr *e)
{
	int rc = -1;

	if (h->tls == NULL)
		return lerr_set(e, LERR_INTERNAL, "httpd_start: no TLS certificate (httpd_set_tls)");
	pthread_mutex_lock(&httpd_tls_lock);
	if (httpd_tls_owner != NULL && httpd_tls_owner != h) {
		pthread_mutex_unlock(&httpd_tls_lock);
		return lerr_set(e, LERR_INTERNAL, "an HTTPS server is already running");
	}
	httpd_tls_owner = h;
	pthread_mutex_unlock(&httpd_tls_lock);

	/* Writes to a peer that went away must fail with EPIPE, not kill the
	 * daemon; we tell libmicrohttpd so below. */
	signal(SIGPIPE, SIG_IGN);
	/* Redirects name the HTTPS port; a caller that left it 0 (or bound
	 * port 0) gets the real one. */
	if (app->https_port == 0)
		app->https_port = h->https.port;
	if (app->http_port == 0 && h->have_http)
		app->http_port = h->http.port;
	if (httpd_daemon(h, &h->https, app, table, HTTP_ON_TLS, e) != 0)
		goto out;
	if (h->have_http && httpd_daemon(h, &h->http, app, table, HTTP_ON_PLAIN, e) != 0)
		goto out;
	log_info("httpd: serving HTTPS on port %u%s", (unsigned)h->https.port,
		 h->have_http ? ", plain HTTP for first contact" : "");
	rc = 0;
out:
	return rc;
}

void
httpd_stop(struct httpd *h)
{
	struct httpd_tls *t;

	if (h == NULL)
		return;
	/* Daemons first: after this no handshake can use the material. */
	if (h->http.d != NULL)
		MHD_stop_daemon(h->http.d);
	if (h->https.d != NULL)
		MHD_stop_daemon(h->https.d);
	if (h->http.fd >= 0)
		close(h->http.fd);
	if (h->https.fd >= 0)
		close(h->https.fd);
	/* After the daemons: they announced every connection's close. */
	http_guard_free(h->http.guard);
	http_guard_free(h->https.guard);
	pthread_mutex_lock(&httpd_tls_lock);
	if (httpd_tls_owner == h)
		httpd_tls_owner = NULL;
	pthread_mutex_unlock(&httpd_tls_lock);
	httpd_tls_free(h->tls);
	if (h->ticket_key.data != NULL) {
		gnutls_memset(h->ticket_key.data, 0, h->ticket_key.size);
		gnutls_free(h->ticket_key.data);
	}
	while ((t = h->retired) != NULL) {
		h->retired = t->next;
		httpd_tls_free(t);
	}
	free(h);
}
