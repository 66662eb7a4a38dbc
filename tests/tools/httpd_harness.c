/*
 * httpd_harness.c - runs the HTTP and HTTPS servers alone, for curl.
 *
 * A tool, not a test: it lets tests/integration/t_http.sh (or a person with
 * curl) reach what `lanca serve` cannot show, namely a route that echoes
 * the size of the body it got (POST /test/body, for the 413 checks on a
 * route that takes one) and GET /test/peer (the client's address and
 * certificate chain as handlers see them, for the client-certificate
 * checks). It makes a test root, issuing CA and gateway certificate with
 * certtool in a fresh temporary directory, fills a struct app by hand (no
 * store, no signer: the enrollment and admin routes are not usable),
 * hands httpd its own two rows followed by the real table (routes.c), and
 * serves until SIGTERM or SIGINT. SIGHUP re-issues the gateway certificate
 * and hot-swaps it with httpd_set_tls().
 *
 *   [BIND=ADDR] httpd_harness HTTPS_PORT HTTP_PORT WEB_DIR
 *
 * prints "ready DIR" on stdout once serving; DIR/root.pem is the trust
 * anchor for curl --cacert. DIR is removed on exit unless KEEP=1.
 *
 * Built only on request, from the build directory:
 *   make tests/tools/httpd_harness
 * then, for example:
 *   tests/tools/httpd_harness 8443 8080 $(srcdir)/web &   # prints "ready DIR"
 *   HTTP_URL=http://127.0.0.1:8080 HTTPS_URL=https://127.0.0.1:8443 \
 *     ROOT_PEM=DIR/root.pem BODY_URL=https://127.0.0.1:8443/test/body \
 *     PEER_URL=https://127.0.0.1:8443/test/peer sh tests/integration/t_http.sh
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <sys/socket.h>	/* httpd.h uses struct sockaddr_storage */
#include "http/httpd.h"
#include "http/reply.h"
#include "http/route.h"
#include "http/routes.h"
#include "common/log.h"

static char harness_dir[64];
#define HARNESS_KEYGEN \
	"certtool --generate-privkey --key-type ecdsa --curve secp256r1 " \
	"--outfile %s.key 2>/dev/null"

/* Writes text to DIR/name. */
static int
harness_write(const char *name, const char *text)
{
	char path[256];
	FILE *f;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", harness_dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

/* Reads DIR/name into a malloc'd NUL-terminated string. */
static char *
harness_read(const char *name)
{
	char path[256], *p = NULL;
	FILE *f;
	long len;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", harness_dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)len + 1)) != NULL) {
		if (fread(p, 1, (size_t)len, f) != (size_t)len) {
			free(p);
			p = NULL;
		} else {
			p[len] = '\0';
		}
	}
	fclose(f);
	return p;
}

/* Runs a shell command inside DIR (the path is mkdtemp's: no quoting needed). */
static int harness_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
harness_run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int n, m;

	n = snprintf(cmd, sizeof(cmd), "cd %s && ", harness_dir);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	va_start(ap, fmt);
	m = vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= sizeof(cmd) - (size_t)n)
		return -1;
	return system(cmd) == 0 ? 0 : -1;
}

/* Makes root, issuing and gateway certificates with certtool. */
static int
harness_make_pki(void)
{
	if (harness_write("root.tmpl",
			  "cn = \"lanca harness root <&>\"\norganization = \"lanca test\"\n"
			  "ca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 3650\n") != 0 ||
	    harness_write("issuing.tmpl",
			  "cn = \"lanca harness issuing\"\nca\npath_len = 0\n"
			  "cert_signing_key\ncrl_signing_key\nexpiration_days = 1825\n") != 0 ||
	    harness_write("gateway.tmpl",
			  "cn = \"gateway.local\"\ndns_name = \"localhost\"\n"
			  "dns_name = \"gateway.local\"\nip_address = \"127.0.0.1\"\n"
			  "ip_address = \"::1\"\ntls_www_server\nsigning_key\n"
			  "expiration_days = 365\n") != 0)
		return -1;
	if (harness_run(HARNESS_KEYGEN, "root") != 0 || harness_run(HARNESS_KEYGEN, "issuing") != 0 ||
	    harness_run(HARNESS_KEYGEN, "gateway") != 0)
		return -1;
	if (harness_run("certtool --generate-self-signed --load-privkey root.key "
			"--template root.tmpl --outfile %s 2>/dev/null", "root.pem") != 0 ||
	    harness_run("certtool --generate-certificate --load-privkey issuing.key "
			"--load-ca-certificate root.pem --load-ca-privkey root.key "
			"--template issuing.tmpl --outfile %s 2>/dev/null", "issuing.pem") != 0)
		return -1;
	return 0;
}

/* Issues a (new) gateway certificate and builds its chain file. */
static int
harness_make_gateway(void)
{
	return harness_run("certtool --generate-certificate --load-privkey gateway.key "
			   "--load-ca-certificate issuing.pem --load-ca-privkey issuing.key "
			   "--template gateway.tmpl --outfile gateway-leaf.pem 2>/dev/null && "
			   "cat gateway-leaf.pem issuing.pem > %s", "gateway.pem");
}

/* Fills one CA's fields of struct ca_set from a PEM file. */
static int
harness_load_ca(const char *name, gnutls_x509_crt_t *crt, gnutls_datum_t *der,
		gnutls_datum_t *pem, char fp[65], char *fp_colon, size_t ncolon,
		char *subject, size_t nsubject, time_t *nb, time_t *na)
{
	unsigned char md[32];
	size_t mdlen = sizeof(md), i;
	gnutls_datum_t d, dn = { NULL, 0 };
	char *text;
	int rc = -1;

	text = harness_read(name);
	if (text == NULL)
		return -1;
	d.data = (unsigned char *)text;
	d.size = (unsigned)strlen(text);
	if (gnutls_x509_crt_init(crt) < 0 ||
	    gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_PEM) < 0 ||
	    gnutls_x509_crt_export2(*crt, GNUTLS_X509_FMT_DER, der) < 0 ||
	    gnutls_x509_crt_export2(*crt, GNUTLS_X509_FMT_PEM, pem) < 0 ||
	    gnutls_x509_crt_get_fingerprint(*crt, GNUTLS_DIG_SHA256, md, &mdlen) < 0 ||
	    gnutls_x509_crt_get_dn3(*crt, &dn, 0) < 0)
		goto out;
	for (i = 0; i < mdlen; i++)
		snprintf(fp + 2 * i, 3, "%02x", md[i]);
	if (fp_colon != NULL)
		for (i = 0; i < mdlen && 3 * i + 3 <= ncolon; i++)
			snprintf(fp_colon + 3 * i, 4, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
	snprintf(subject, nsubject, "%s", (const char *)dn.data);
	*nb = gnutls_x509_crt_get_activation_time(*crt);
	*na = gnutls_x509_crt_get_expiration_time(*crt);
	rc = 0;
out:
	gnutls_free(dn.data);
	free(text);
	return rc;
}

/* POST /test/body: says how many bytes arrived. */
static enum MHD_Result
harness_body(struct http_req *r)
{
	return http_reply_json(r, MHD_HTTP_OK,
			       json_pack("{s:I}", "received", (json_int_t)r->body.len));
}

/*
 * GET /test/peer: what httpd_peer_chain() and httpd_client_addr() see:
 * {"addr": "127.0.0.1", "n": 2, "chain": ["CN=leaf", "CN=ca"]} (subject
 * DNs, leaf first), or 400 {"error": "bad_chain"} if it refused the chain.
 */
static enum MHD_Result
harness_peer(struct http_req *r)
{
	gnutls_x509_crt_t chain[HTTPD_PEER_CHAIN_MAX];
	gnutls_datum_t dn;
	json_t *arr = json_array();
	char addr[64];
	unsigned n = 0, i;

	if (httpd_client_addr(r->conn, addr, sizeof(addr)) != 0)
		snprintf(addr, sizeof(addr), "?");
	if (httpd_peer_chain(r->conn, chain, HTTPD_PEER_CHAIN_MAX, &n) != 0) {
		json_decref(arr);
		return http_reply_error(r, LERR_BAD_REQUEST,
					"the client certificate chain was refused");
	}
	for (i = 0; i < n; i++) {
		if (gnutls_x509_crt_get_dn3(chain[i], &dn, 0) >= 0) {
			json_array_append_new(arr, json_string((const char *)dn.data));
			gnutls_free(dn.data);
		}
		gnutls_x509_crt_deinit(chain[i]);
	}
	return http_reply_json(r, MHD_HTTP_OK,
			       json_pack("{s:s, s:I, s:o}", "addr", addr, "n", (json_int_t)n,
					 "chain", arr));
}

static const struct http_route harness_routes[] = {
	{ "POST", "/test/body", HTTPD_BODY_MAX, harness_body, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/test/peer", 0, harness_peer, HTTP_ON_BOTH, HTTP_AUTH_NONE },
};
#define HARNESS_NROUTES	(sizeof(harness_routes) / sizeof(harness_routes[0]))

/* This file's rows, then the real table's: the first match wins. */
static struct http_route *
harness_table(struct http_table *t)
{
	struct http_route *rows;

	rows = calloc(HARNESS_NROUTES + http_routes.n, sizeof(*rows));
	if (rows == NULL)
		return NULL;
	memcpy(rows, harness_routes, sizeof(harness_routes));
	memcpy(rows + HARNESS_NROUTES, http_routes.routes, http_routes.n * sizeof(*rows));
	t->routes = rows;
	t->n = HARNESS_NROUTES + http_routes.n;
	t->auth = http_routes.auth;
	return rows;
}

int
main(int argc, char *argv[])
{
	struct httpd_config cfg;
	struct httpd *h = NULL;
	struct http_table table;
	struct http_route *rows = NULL;
	struct app app;
	struct lerr e;
	char https_addr[128], http_addr[128], *chain = NULL, *key = NULL;
	const char *bind_host;
	sigset_t set;
	int sig, rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: httpd_harness HTTPS_PORT HTTP_PORT WEB_DIR\n");
		return 2;
	}
	memset(&app, 0, sizeof(app));
	lerr_clear(&e);
	log_set_tag("httpd_harness");
	log_set_level(getenv("DEBUG") != NULL ? LOG_DEBUG : LOG_INFO);
	snprintf(harness_dir, sizeof(harness_dir), "/tmp/lanca-httpd-XXXXXX");
	if (mkdtemp(harness_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (harness_make_pki() != 0 || harness_make_gateway() != 0) {
		fprintf(stderr, "httpd_harness: certtool failed\n");
		goto out;
	}
	app.dir = harness_dir;
	app.web_dir = argv[3];
	app.started = time(NULL);
	if (harness_load_ca("root.pem", &app.ca.root, &app.ca.root_der, &app.ca.root_pem,
			    app.ca.root_fp, app.ca.root_fp_colon, sizeof(app.ca.root_fp_colon),
			    app.ca.root_subject, sizeof(app.ca.root_subject),
			    &app.ca.root_not_before, &app.ca.root_not_after) != 0 ||
	    harness_load_ca("issuing.pem", &app.ca.issuing, &app.ca.issuing_der,
			    &app.ca.issuing_pem, app.ca.issuing_fp, NULL, 0,
			    app.ca.issuing_subject, sizeof(app.ca.issuing_subject),
			    &app.ca.issuing_not_before, &app.ca.issuing_not_after) != 0) {
		fprintf(stderr, "httpd_harness: cannot load the test CAs\n");
		goto out;
	}
	/* BIND="[::1]" or BIND="" (every address, dual stack) to try others. */
	bind_host = getenv("BIND") != NULL ? getenv("BIND") : "127.0.0.1";
	snprintf(https_addr, sizeof(https_addr), "%s:%s", bind_host, argv[1]);
	snprintf(http_addr, sizeof(http_addr), "%s:%s", bind_host, argv[2]);
	chain = harness_read("gateway.pem");
	key = harness_read("gateway.key");
	cfg.https_addr = https_addr;
	cfg.http_addr = http_addr;
	cfg.tls_chain_pem = chain;
	cfg.tls_key_pem = key;

	/* Signals are taken with sigwait; block them before any thread starts. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if ((rows = harness_table(&table)) == NULL) {
		fprintf(stderr, "httpd_harness: out of memory\n");
		goto out;
	}
	if (httpd_bind(&cfg, &h, &e) != 0 || httpd_start(h, &app, &table, &e) != 0) {
		fprintf(stderr, "httpd_harness: %s\n", e.msg);
		goto out;
	}
	printf("ready %s\n", harness_dir);
	fflush(stdout);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		free(chain);
		free(key);
		chain = key = NULL;
		/* A new key too, so the swap covers both halves. */
		lerr_clear(&e);
		if (harness_run(HARNESS_KEYGEN, "gateway") != 0 || harness_make_gateway() != 0 || (chain = harness_read("gateway.pem")) == NULL ||
		    (key = harness_read("gateway.key")) == NULL ||
		    httpd_set_tls(h, chain, key, &e) != 0)
			fprintf(stderr, "httpd_harness: renewal failed: %s\n", e.msg);
		else
			printf("renewed\n");
		fflush(stdout);
	}
	rc = 0;
out:
	httpd_stop(h);
	free(rows);
	free(chain);
	free(key);
	gnutls_x509_crt_deinit(app.ca.root);
	gnutls_x509_crt_deinit(app.ca.issuing);
	gnutls_free(app.ca.root_der.data);
	gnutls_free(app.ca.root_pem.data);
	gnutls_free(app.ca.issuing_der.data);
	gnutls_free(app.ca.issuing_pem.data);
	if (getenv("KEEP") == NULL)
		(void)harness_run("cd / && rm -rf %s", harness_dir);
	return rc;
}
