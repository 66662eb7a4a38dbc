/*
 * device.c - the device's key, request, chain and files (see device.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "client/device.h"
#include "client/devkey.h"
#include "client/trust.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/hex.h"
#include "common/lerr.h"

/* ---- names ---- */

int
device_sans_add_dns(struct device_sans *s, const char *name)
{
	int w;

	if (s->n_dns == DEVICE_MAX_NAMES) {
		client_msg("at most %d --name", DEVICE_MAX_NAMES);
		return -1;
	}
	w = snprintf(s->dns[s->n_dns], sizeof(s->dns[0]), "%s", name);
	if (w <= 0 || (size_t)w >= sizeof(s->dns[0])) {
		client_msg("--name %.60s...: too long", name);
		return -1;
	}
	s->n_dns++;
	return 0;
}

int
device_sans_add_ip(struct device_sans *s, const char *text)
{
	size_t k = s->n_ip;

	if (k == DEVICE_MAX_NAMES) {
		client_msg("at most %d --ip", DEVICE_MAX_NAMES);
		return -1;
	}
	if (inet_pton(AF_INET, text, s->ip[k]) == 1) {
		s->ip_len[k] = 4;
	} else if (inet_pton(AF_INET6, text, s->ip[k]) == 1) {
		s->ip_len[k] = 16;
	} else {
		client_msg("--ip %s: not an IPv4 or IPv6 address", text);
		return -1;
	}
	s->n_ip++;
	return 0;
}

/* A renewal asks for what the current certificate holds; names past the
 * caps (which enroll never asks for) are left out rather than refused. */
int
device_sans_from_crt(gnutls_x509_crt_t crt, struct device_sans *s)
{
	unsigned char v[256];
	size_t vl;
	unsigned seq, crit;
	int t;

	memset(s, 0, sizeof(*s));
	for (seq = 0;; seq++) {
		vl = sizeof(v) - 1;
		t = gnutls_x509_crt_get_subject_alt_name(crt, seq, v, &vl, &crit);
		if (t == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (t < 0) {
			client_msg("current certificate's names: %s", gnutls_strerror(t));
			return -1;
		}
		if (t == GNUTLS_SAN_DNSNAME && s->n_dns < DEVICE_MAX_NAMES && vl < sizeof(s->dns[0])) {
			memcpy(s->dns[s->n_dns], v, vl);
			s->dns[s->n_dns++][vl] = '\0';
		} else if (t == GNUTLS_SAN_IPADDRESS && s->n_ip < DEVICE_MAX_NAMES &&
			   (vl == 4 || vl == 16)) {
			memcpy(s->ip[s->n_ip], v, vl);
			s->ip_len[s->n_ip++] = vl;
		}
	}
	return 0;
}

/* ---- the request ---- */

int
device_csr(gnutls_privkey_t key, const char *cn, const struct device_sans *s,
	   const char *challenge, gnutls_datum_t *der)
{
	gnutls_x509_crq_t crq = NULL;
	gnutls_pubkey_t pub = NULL;
	size_t i;
	int g, rc = -1;

	der->data = NULL;
	if ((g = gnutls_x509_crq_init(&crq)) < 0 ||
	    (g = gnutls_x509_crq_set_version(crq, 1)) < 0 ||
	    (g = gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
					       (unsigned)strlen(cn))) < 0 ||
	    (g = gnutls_pubkey_init(&pub)) < 0 ||
	    (g = gnutls_pubkey_import_privkey(pub, key, 0, 0)) < 0 ||
	    (g = gnutls_x509_crq_set_pubkey(crq, pub)) < 0)
		goto fail;
	for (i = 0; i < s->n_dns; i++) {
		g = gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME, s->dns[i],
							 (unsigned)strlen(s->dns[i]), GNUTLS_FSAN_APPEND);
		if (g < 0)
			goto fail;
	}
	for (i = 0; i < s->n_ip; i++) {
		g = gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_IPADDRESS, s->ip[i],
							 (unsigned)s->ip_len[i], GNUTLS_FSAN_APPEND);
		if (g < 0)
			goto fail;
	}
	if (challenge != NULL &&
	    (g = gnutls_x509_crq_set_challenge_password(crq, challenge)) < 0)
		goto fail;
	if ((g = gnutls_x509_crq_privkey_sign(crq, key, GNUTLS_DIG_SHA256, 0)) < 0 ||
	    (g = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, der)) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	client_msg("certificate request: %s", gnutls_strerror(g));
out:
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

/* ---- the chain ---- */

/* A chain device_chain_check takes is one trust_verify_chain takes. */
_Static_assert(DEVICE_MAX_CHAIN <= TRUST_CHAIN_MAX, "DEVICE_MAX_CHAIN exceeds TRUST_CHAIN_MAX");

void
device_chain_free(struct device_chain *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; c->crts != NULL && i < c->n; i++)
		gnutls_x509_crt_deinit(c->crts[i]);
	gnutls_free(c->crts);
	c->crts = NULL;
	c->n = 0;
}

int
device_chain_check(const unsigned char *pem, size_t len, gnutls_privkey_t key,
		   const gnutls_datum_t *root_pem, struct device_chain *out)
{
	gnutls_datum_t d;
	unsigned char a[64], b[64];
	size_t al = sizeof(a), bl = sizeof(b);
	unsigned crit = 0;
	struct lerr e;
	int g, rc = -1;

	out->crts = NULL;
	out->n = 0;
	d.data = (unsigned char *)(uintptr_t)pem;
	d.size = (unsigned)len;
	g = gnutls_x509_crt_list_import2(&out->crts, &out->n, &d, GNUTLS_X509_FMT_PEM,
					 GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
	if (g < 0 || out->n == 0) {
		client_msg("the server's answer is not a PEM certificate chain (leaf first): %s",
			   g < 0 ? gnutls_strerror(g) : "empty");
		goto out;
	}
	if (out->n > DEVICE_MAX_CHAIN) {
		client_msg("the server sent %u certificates, more than %d", out->n, DEVICE_MAX_CHAIN);
		goto out;
	}
	if (gnutls_x509_crt_get_key_id(out->crts[0], GNUTLS_KEYID_USE_SHA256, a, &al) < 0 ||
	    devkey_key_id(key, b, &bl) < 0 ||
	    al != bl || memcmp(a, b, al) != 0) {
		client_msg("the certificate the server sent is not for this device's key");
		goto out;
	}
	if (gnutls_x509_crt_get_basic_constraints(out->crts[0], &crit, NULL, NULL) > 0) {
		client_msg("the server sent a CA certificate as the device's");
		goto out;
	}
	lerr_clear(&e);
	if (trust_verify_chain(root_pem, out->crts, out->n, &e) != 0) {
		client_msg("the chain does not verify against the root: %s", e.msg);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		device_chain_free(out);
	return rc;
}

/* Exports one certificate as PEM and appends it to b. */
static int
device_append_pem(struct buf *b, gnutls_x509_crt_t crt)
{
	gnutls_datum_t d = { NULL, 0 };
	int rc = -1;

	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d) < 0)
		goto out;
	if (buf_append(b, d.data, d.size) != 0)
		goto out;
	rc = 0;
out:
	gnutls_free(d.data);
	return rc;
}

int
device_chain_write(const struct device_chain *c, const char *dir, const char *cert_name,
		   const char *chain_name)
{
	struct buf leaf, all;
	unsigned i;
	int rc = -1;

	buf_init(&leaf, CLIENT_MAX_FILE);
	buf_init(&all, CLIENT_MAX_FILE);
	if (device_append_pem(&leaf, c->crts[0]) != 0) {
		client_msg("certificate export failed");
		goto out;
	}
	for (i = 0; i < c->n; i++) {
		if (device_append_pem(&all, c->crts[i]) != 0) {
			client_msg("certificate export failed");
			goto out;
		}
	}
	if (device_file_write(dir, cert_name, leaf.data, leaf.len, 0644) != 0 ||
	    device_file_write(dir, chain_name, all.data, all.len, 0644) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&leaf);
	buf_free(&all);
	return rc;
}

void
device_report(const struct device_chain *c, const char *dir, const char *verb)
{
	unsigned char serial[40];
	size_t sl = sizeof(serial);
	char hex[81], cn[256], when[64];
	size_t cl = sizeof(cn);
	time_t t;
	struct tm tm;

	if (gnutls_x509_crt_get_serial(c->crts[0], serial, &sl) < 0)
		sl = 0;
	hex_encode(serial, sl, hex);
	if (gnutls_x509_crt_get_dn_by_oid(c->crts[0], GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cl) < 0)
		snprintf(cn, sizeof(cn), "?");
	t = gnutls_x509_crt_get_expiration_time(c->crts[0]);
	if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	printf("lanca-enroll: %s %s, serial %s, valid until %s; files in %s\n", verb, cn, hex, when, dir);
}

/* ---- files ---- */

/* dir/name into path; prints and returns -1 when it does not fit. */
static int
device_path(char *path, size_t n, const char *dir, const char *name)
{
	if (fileio_join(path, n, dir, name) != 0) {
		client_msg("%s: path too long", dir);
		return -1;
	}
	return 0;
}

int
device_file_read(const char *dir, const char *name, size_t max, int secret, gnutls_datum_t *d)
{
	char path[PATH_MAX];
	unsigned char *p = NULL;
	size_t len = 0;
	struct lerr e;

	d->data = NULL;
	d->size = 0;
	if (device_path(path, sizeof(path), dir, name) != 0)
		return -1;
	lerr_clear(&e);
	if (fileio_read(path, max, secret, &p, &len, &e) != 0) {
		client_msg("%s", e.msg);
		return -1;
	}
	d->data = p;
	d->size = (unsigned)len;	/* max is far below UINT_MAX */
	return 0;
}

void
device_file_free(gnutls_datum_t *d, int secret)
{
	if (d == NULL || d->data == NULL)
		return;
	if (secret)
		fileio_free_secret(d->data, d->size);
	else
		free(d->data);
	d->data = NULL;
	d->size = 0;
}

int
device_secret_read(const char *opt, const char *what, const char *path, size_t min, size_t max,
		   gnutls_datum_t *d, size_t *len)
{
	unsigned char *p = NULL;
	struct lerr e;
	size_t n = 0, i;

	d->data = NULL;
	d->size = 0;
	lerr_clear(&e);
	if (fileio_read(path, max + 2, 1, &p, &n, &e) != 0) {
		client_msg("%s: %s", opt, e.msg);
		return -1;
	}
	d->data = p;
	d->size = (unsigned)n;	/* at most max + 2 */
	if (n > 0 && p[n - 1] == '\n')
		n--;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f) {
			client_msg("%s %s: the %s holds a control character "
				   "(one line break at the end is allowed)", opt, path, what);
			device_file_free(d, 1);
			return -1;
		}
	}
	if (n < min || n > max) {
		client_msg("%s %s: want a %s of %zu to %zu bytes, not %zu", opt, path, what, min, max,
			   n);
		device_file_free(d, 1);
		return -1;
	}
	p[n] = '\0';	/* the line break, or fileio_read's NUL */
	*len = n;
	return 0;
}

int
device_file_write(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	char path[PATH_MAX];
	struct lerr e;

	if (device_path(path, sizeof(path), dir, name) != 0)
		return -1;
	lerr_clear(&e);
	if (fileio_write_atomic(path, data, len, mode, 0, &e) != 0) {
		client_msg("%s", e.msg);
		return -1;
	}
	return 0;
}

int
device_file_rename(const char *dir, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];

	if (device_path(a, sizeof(a), dir, from) != 0 || device_path(b, sizeof(b), dir, to) != 0)
		return -1;
	if (rename(a, b) != 0) {
		client_msg("%s: rename to %s: %s", a, b, strerror(errno));
		return -1;
	}
	return 0;
}

void
device_file_remove(const char *dir, const char *name)
{
	char path[PATH_MAX];

	if (fileio_join(path, sizeof(path), dir, name) == 0)
		(void)unlink(path);
}

int
device_file_exists(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	return fileio_join(path, sizeof(path), dir, name) == 0 && lstat(path, &st) == 0;
}

int
device_dir_sync(const char *dir)
{
	if (fileio_sync_dir(dir) != 0) {
		client_msg("%s: fsync: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int
device_trust_read(const char *dir, gnutls_datum_t *d, const char **name)
{
	const char *f = device_file_exists(dir, DEVICE_TRUST_FILE) ? DEVICE_TRUST_FILE :
			DEVICE_ROOT_FILE;

	if (name != NULL)
		*name = f;
	return device_file_read(dir, f, CLIENT_MAX_FILE, 0, d);
}

/*
 * Reads gateway.url in dir into gateway (size n): one https:// URL, a
 * trailing newline allowed. Returns 0 with *gw parsed, or -1 (printed).
 */
int
device_gateway_read(const char *dir, char *gateway, size_t n, struct httpc_url *gw)
{
	gnutls_datum_t d = { NULL, 0 };
	struct lerr e;
	size_t cl;
	int rc = -1;

	lerr_clear(&e);
	if (device_file_read(dir, "gateway.url", 2048, 0, &d) != 0)
		goto out;
	cl = d.size;
	while (cl > 0 && (d.data[cl - 1] == '\n' || d.data[cl - 1] == '\r' || d.data[cl - 1] == ' '))
		cl--;
	if (cl == 0 || cl >= n || memchr(d.data, '\n', cl) != NULL) {
		client_msg("%s/gateway.url: not one URL", dir);
		goto out;
	}
	memcpy(gateway, d.data, cl);
	gateway[cl] = '\0';
	if (httpc_url_parse(gateway, gw, &e) != 0 || !gw->tls) {
		client_msg("%s/gateway.url: %s", dir, gw->tls ? e.msg : "not an https:// URL");
		goto out;
	}
	rc = 0;
out:
	device_file_free(&d, 0);
	return rc;
}
