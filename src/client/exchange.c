/*
 * exchange.c - the CSR's conversation with the gateway (see exchange.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client/client.h"
#include "client/exchange.h"
#include "common/lerr.h"

#define EXCHANGE_DEFAULT_WAIT	5	/* when a pending answer has no usable Retry-After */
#define EXCHANGE_MAX_WAIT	60

#define CT_PKCS10	"Content-Type: application/pkcs10"
#define ACCEPT_CHAIN	"Accept: application/pem-certificate-chain"

void
exchange_sleep(long s)
{
	struct timespec ts = { s, 0 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

long
exchange_wait(const struct httpc_response *r, long timeout, double start)
{
	long wait, left = (long)(start + (double)timeout - client_now() + 0.5);

	if (left <= 0)
		return 0;
	wait = r->retry_after >= 0 ? r->retry_after : EXCHANGE_DEFAULT_WAIT;
	if (wait < 1)
		wait = 1;
	if (wait > EXCHANGE_MAX_WAIT)
		wait = EXCHANGE_MAX_WAIT;
	return wait > left ? left : wait;
}

int
exchange_json_str(const unsigned char *body, size_t len, const char *key, char *out, size_t n)
{
	char pat[64];
	size_t i, o = 0, kl;
	const unsigned char *p;
	int w;

	if (body == NULL || n == 0)
		return -1;
	w = snprintf(pat, sizeof(pat), "\"%s\"", key);
	if (w < 0 || (size_t)w >= sizeof(pat))
		return -1;
	kl = (size_t)w;
	for (i = 0; i + kl <= len; i++) {
		if (memcmp(body + i, pat, kl) != 0)
			continue;
		p = body + i + kl;
		while (p < body + len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		if (p >= body + len || *p != ':')
			continue;
		p++;
		while (p < body + len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		if (p >= body + len || *p != '"')
			return -1;
		for (p++; p < body + len && *p != '"' && o + 1 < n; p++) {
			unsigned char c = *p;

			if (c == '\\' && p + 1 < body + len) {
				p++;
				c = *p;
				if (c == 'u') {
					/* \uXXXX: keep printable ASCII, else '?' */
					unsigned v = 0, k;

					for (k = 0; k < 4 && p + 1 < body + len; k++) {
						unsigned char h = *++p;

						v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' :
							 h >= 'a' && h <= 'f' ? h - 'a' + 10 :
							 h >= 'A' && h <= 'F' ? h - 'A' + 10 : 0);
					}
					c = (unsigned char)(v >= 0x20 && v < 0x7f ? v : '?');
				} else if (c == 'n' || c == 't' || c == 'r' || c == 'b' || c == 'f') {
					c = ' ';
				}
			}
			out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		}
		out[o] = '\0';
		return 0;
	}
	return -1;
}

/* Prints "<what>: <message> (<code>)" from a JSON error body, falling back
 * to the HTTP status when the body says nothing usable. */
static void
exchange_print_refusal(const char *what, const struct httpc_response *r)
{
	char msg[512], code[64];

	if (exchange_json_str(r->body, r->body_len, "message", msg, sizeof(msg)) != 0 &&
	    exchange_json_str(r->body, r->body_len, "reason", msg, sizeof(msg)) != 0)
		snprintf(msg, sizeof(msg), "HTTP status %d", r->status);
	if (exchange_json_str(r->body, r->body_len, "error", code, sizeof(code)) != 0)
		snprintf(code, sizeof(code), "%d", r->status);
	client_msg("%s: %s (%s)", what, msg, code);
}

/*
 * Turns a Location header into a path on the gateway: "/..." as is, or an
 * absolute URL whose host and port are the gateway's (a pending request is
 * never followed elsewhere). Also sets id to its last path segment.
 */
static int
exchange_location(const char *loc, const struct httpc_url *gw, char *path, size_t n,
		  char *id, size_t idn)
{
	struct httpc_url u;
	struct lerr e;
	const char *p, *slash;
	int w;

	if (loc[0] == '/') {
		p = loc;
	} else {
		if (httpc_url_parse(loc, &u, &e) != 0 || !u.tls || strcasecmp(u.host, gw->host) != 0 ||
		    strcmp(u.port, gw->port) != 0) {
			client_msg("the server points the pending request at another place: %.200s", loc);
			return -1;
		}
		p = loc + strcspn(loc + 8, "/") + 8;
	}
	w = snprintf(path, n, "%s", p);
	if (w < 0 || (size_t)w >= n || strchr(path, ' ') != NULL) {
		client_msg("unusable Location from the server");
		return -1;
	}
	slash = strrchr(path, '/');
	w = snprintf(id, idn, "%s", slash != NULL ? slash + 1 : path);
	if (w < 0 || (size_t)w >= idn)
		id[0] = '\0';
	return 0;
}

/*
 * See exchange.h. A 403, 404 or 410 while polling is about the pending
 * request (denied, unknown, expired); any other status is a refusal.
 */
int
exchange_run(struct httpc_conn *c, const struct httpc_url *gw, const char *post_path,
	     const gnutls_datum_t *csr, long timeout, double start,
	     unsigned char **chain, size_t *chain_len, int *held)
{
	static const char *const post_hdrs[] = { CT_PKCS10, ACCEPT_CHAIN, NULL };
	static const char *const get_hdrs[] = { ACCEPT_CHAIN, NULL };
	struct httpc_response r;
	struct lerr e;
	char poll_path[1024] = "", id[256] = "";
	int rc = CLIENT_FAIL, polling = 0, accepted = 0, dummy;
	long wait;

	memset(&r, 0, sizeof(r));
	*chain = NULL;
	if (held == NULL)
		held = &dummy;
	*held = 0;
	for (;;) {
		httpc_response_free(&r);
		lerr_clear(&e);
		if (!polling) {
			/* From here until a refusal says otherwise, the gateway
			 * may have recorded the request. */
			*held = 1;
			if (httpc_request(c, "POST", post_path, post_hdrs, csr->data, csr->size, &r, &e) != 0) {
				client_msg("POST %s: %s", post_path, e.msg);
				goto out;
			}
		} else if (httpc_request(c, "GET", poll_path, get_hdrs, NULL, 0, &r, &e) != 0) {
			client_msg("GET %s: %s", poll_path, e.msg);
			goto out;
		}
		if (r.status == 200 || r.status == 201 || r.status == 202)
			accepted = 1;
		else if (!accepted && r.status >= 400 && r.status < 500)
			*held = 0;
		if (r.status == 200 || r.status == 201) {
			if (r.body == NULL) {
				client_msg("the server answered %d without a certificate", r.status);
				goto out;
			}
			*chain = r.body;
			*chain_len = r.body_len;
			r.body = NULL;
			rc = CLIENT_OK;
			goto out;
		}
		if (r.status == 202) {
			if (r.location != NULL) {
				if (exchange_location(r.location, gw, poll_path, sizeof(poll_path),
						    id, sizeof(id)) != 0)
					goto out;
				polling = 1;
			}
			if (id[0] == '\0' &&
			    exchange_json_str(r.body, r.body_len, "id", id, sizeof(id)) != 0)
				id[0] = '\0';
		} else if (r.status != 429) {
			if (polling && r.status == 403)
				exchange_print_refusal("denied", &r);
			else if (polling && r.status == 410)
				client_msg("request %s expired before anyone approved it", id);
			else if (polling && r.status == 404)
				client_msg("request %s is unknown to the gateway", id);
			else
				exchange_print_refusal("refused", &r);
			goto out;
		}
		/* Pending (or told to slow down): wait as asked, within bounds. */
		wait = exchange_wait(&r, timeout, start);
		if (wait == 0) {
			client_msg("still pending after %ld s: request %s", timeout, id[0] ? id : "(no id)");
			if (polling)
				client_msg("approve it on the gateway (lanca approve %s, or press its "
					   "button), then run this again; it polls https://%s%s%s:%s%s",
					   id, strchr(gw->host, ':') ? "[" : "", gw->host,
					   strchr(gw->host, ':') ? "]" : "", gw->port, poll_path);
			rc = CLIENT_PENDING;
			goto out;
		}
		if (r.status == 202)
			fprintf(stderr, "lanca-enroll: pending%s%s; asking again in %ld s\n",
				id[0] ? ": request " : "", id, wait);
		exchange_sleep(wait);
	}
out:
	httpc_response_free(&r);
	return rc;
}

int
exchange_connect(const char *gateway, const gnutls_datum_t *root, const gnutls_datum_t *cert,
		 gnutls_privkey_t key, long timeout, struct httpc_conn **c)
{
	struct httpc_tls tls;
	struct lerr e;

	memset(&tls, 0, sizeof(tls));
	tls.root_pem = (const char *)root->data;
	tls.root_len = root->size;
	if (cert != NULL) {
		tls.cert_pem = (const char *)cert->data;
		tls.cert_len = cert->size;
		tls.key = key;
	}
	lerr_clear(&e);
	if (httpc_open(gateway, &tls, (int)(timeout < CLIENT_IO_TIMEOUT ? timeout : CLIENT_IO_TIMEOUT),
		       c, &e) != 0) {
		client_msg("%s: %s", gateway, e.msg);
		return -1;
	}
	return 0;
}
