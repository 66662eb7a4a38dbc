/*
 * enroll_main.c - lanca-enroll, the device side of enrollment.
 *
 * `lanca-enroll enroll` makes a key that never leaves the device, fetches
 * the gateway's root over plain HTTP and checks it against a fingerprint
 * the user read off the gateway (or trusts it on first use and says so),
 * then speaks only HTTPS anchored at that root: it posts a CSR, waits out
 * "pending" answers until a button press or an admin approves it, checks
 * that what came back is for its key and chains to the root, and writes
 * the files atomically. `lanca-enroll renew` replaces the key and
 * certificate over mTLS with the current ones.
 *
 * Links GnuTLS only: no libsodium here, so secrets are wiped with
 * gnutls_memset.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/hex.h"
#include "common/buf.h"
#include "client/httpc.h"
#include "common/lerr.h"

#define ENROLL_OK		0
#define ENROLL_FAIL		1
#define ENROLL_USAGE		2
#define ENROLL_PENDING		3

#define ENROLL_MAX_NAMES	32
#define ENROLL_MAX_FILE		(256 * 1024)
#define ENROLL_MAX_CHAIN	8
#define ENROLL_DEFAULT_TIMEOUT	300
#define ENROLL_IO_TIMEOUT	30
#define ENROLL_DEFAULT_WAIT	5	/* when a pending answer has no usable Retry-After */
#define ENROLL_MAX_WAIT		60

#define CT_PKCS10	"Content-Type: application/pkcs10"
#define ACCEPT_CHAIN	"Accept: application/pem-certificate-chain"

struct enroll_opts {
	const char *gateway, *id, *out, *fingerprint, *http, *dir;
	const char *names[ENROLL_MAX_NAMES];
	size_t n_names;
	const char *ips[ENROLL_MAX_NAMES];
	size_t n_ips;
	int tofu, when_due;
	long timeout;
};

/* The names a CSR asks for, copied from the options or the current cert. */
struct enroll_sans {
	char dns[ENROLL_MAX_NAMES][256];
	size_t n_dns;
	unsigned char ip[ENROLL_MAX_NAMES][16];
	size_t ip_len[ENROLL_MAX_NAMES];
	size_t n_ip;
};

static void enroll_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "lanca-enroll: ..." and a newline on stderr. */
static void
enroll_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("lanca-enroll: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
enroll_usage(FILE *f)
{
	fputs("usage: lanca-enroll enroll --gateway https://HOST[:PORT] --id DEVICE_ID --out DIR\n"
	      "                           (--fingerprint SHA256 | --trust-on-first-use)\n"
	      "                           [--name NAME.local]... [--ip IP]... [--http URL] [--timeout S]\n"
	      "       lanca-enroll renew --dir DIR [--when-due] [--timeout S]\n"
	      "\n"
	      "enroll  make a key and get it a certificate from the gateway; the root is\n"
	      "        fetched from --http (default http://HOST/ca.crt) and checked against\n"
	      "        --fingerprint, the SHA-256 the gateway shows\n"
	      "renew   replace the key and certificate in DIR over mTLS\n"
	      "\n"
	      "exit: 0 issued, 1 refused or failed, 2 usage, 3 still pending at --timeout\n", f);
}

/* ---- small helpers ---- */

/* Seconds on a clock that never jumps. */
static double
enroll_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps s seconds, resuming after signals. */
static void
enroll_sleep(long s)
{
	struct timespec ts = { s, 0 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Parses a decimal in [min, max]; -1 otherwise. */
static int
enroll_parse_long(const char *s, long min, long max, long *v)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || x < min || x > max)
		return -1;
	*v = x;
	return 0;
}

/* dir + "/" + name into out; -1 if it does not fit. */
static int
enroll_join(char *out, size_t n, const char *dir, const char *name)
{
	int w = snprintf(out, n, "%s/%s", dir, name);

	return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

/* Wipes and frees a datum that held a secret. NULL-safe. */
static void
enroll_free_secret(gnutls_datum_t *d)
{
	if (d->data != NULL) {
		gnutls_memset(d->data, 0, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

/*
 * Reads a regular file of at most max bytes into d (gnutls_malloc'd, NUL-
 * terminated, the NUL not counted; free with gnutls_free or
 * enroll_free_secret). Returns 0, or -1 with a message printed.
 */
static int
enroll_read(const char *path, size_t max, gnutls_datum_t *d)
{
	struct stat st;
	size_t got = 0;
	ssize_t r;
	int fd = -1, rc = -1;

	d->data = NULL;
	d->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		enroll_msg("%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (unsigned long long)st.st_size > max) {
		enroll_msg("%s: not a regular file of at most %zu bytes", path, max);
		goto out;
	}
	d->data = gnutls_malloc((size_t)st.st_size + 1);
	if (d->data == NULL) {
		enroll_msg("out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, d->data + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			enroll_msg("%s: short read", path);
			goto out;
		}
		got += (size_t)r;
	}
	d->data[got] = '\0';
	d->size = (unsigned)got;
	rc = 0;
out:
	if (rc != 0 && d->data != NULL) {
		gnutls_memset(d->data, 0, (size_t)st.st_size);
		gnutls_free(d->data);
		d->data = NULL;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* fsyncs a directory so that a rename in it is durable. */
static int
enroll_sync_dir(const char *dir)
{
	int fd, rc = -1;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	if (fsync(fd) != 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		enroll_msg("%s: fsync: %s", dir, strerror(errno));
	return rc;
}

/*
 * Writes data to dir/name atomically and durably: a temporary file in the
 * same directory, created with the final mode, fsync'd, renamed over the
 * name, and the directory fsync'd. Returns 0 or -1 with a message printed
 * (the temporary file removed).
 */
static int
enroll_write(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	const unsigned char *p = data;
	ssize_t w;
	int fd = -1, rc = -1, made = 0;

	if (enroll_join(path, sizeof(path), dir, name) != 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		enroll_msg("%s: path too long", dir);
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		enroll_msg("%s: %s", tmp, strerror(errno));
		goto out;
	}
	made = 1;
	if (fchmod(fd, mode) != 0) {
		enroll_msg("%s: chmod: %s", tmp, strerror(errno));
		goto out;
	}
	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			enroll_msg("%s: write: %s", tmp, strerror(errno));
			goto out;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		enroll_msg("%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		enroll_msg("%s: rename: %s", path, strerror(errno));
		goto out;
	}
	made = 0;
	if (enroll_sync_dir(dir) != 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(tmp);
	return rc;
}

/* Renames dir/from to dir/to (both in dir, so atomic). */
static int
enroll_rename(const char *dir, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];

	if (enroll_join(a, sizeof(a), dir, from) != 0 || enroll_join(b, sizeof(b), dir, to) != 0) {
		enroll_msg("%s: path too long", dir);
		return -1;
	}
	if (rename(a, b) != 0) {
		enroll_msg("%s: rename to %s: %s", a, b, strerror(errno));
		return -1;
	}
	return 0;
}

/* Whether dir/name exists. */
static int
enroll_exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	return enroll_join(p, sizeof(p), dir, name) == 0 && lstat(p, &st) == 0;
}

/*
 * Copies a JSON string member "key" out of a server's error body into out,
 * with every byte that is not printable ASCII replaced by '?' (the text is
 * shown on a terminal). A deliberately small reader: it only has to find
 * one flat member in bodies like {"error": "x", "message": "y"}. Returns 0,
 * or -1 when the member is missing or not a string.
 */
static int
enroll_json_str(const unsigned char *body, size_t len, const char *key, char *out, size_t n)
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
enroll_print_refusal(const char *what, const struct httpc_response *r)
{
	char msg[512], code[64];

	if (enroll_json_str(r->body, r->body_len, "message", msg, sizeof(msg)) != 0 &&
	    enroll_json_str(r->body, r->body_len, "reason", msg, sizeof(msg)) != 0)
		snprintf(msg, sizeof(msg), "HTTP status %d", r->status);
	if (enroll_json_str(r->body, r->body_len, "error", code, sizeof(code)) != 0)
		snprintf(code, sizeof(code), "%d", r->status);
	enroll_msg("%s: %s (%s)", what, msg, code);
}

/* Normalises a SHA-256 fingerprint (hex, colons allowed, any case) into
 * 64 lower-case hex digits; -1 if it is not one. */
static int
enroll_norm_fp(const char *in, char out[65])
{
	size_t o = 0;

	for (; *in != '\0'; in++) {
		char c = *in;

		if (c == ':' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || o == 64)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return o == 64 ? 0 : -1;
}

/* ---- keys, requests, chains ---- */

/* Makes a new P-256 key. Returns 0 or -1 (message printed). */
static int
enroll_keygen(gnutls_x509_privkey_t *key)
{
	int g;

	if ((g = gnutls_x509_privkey_init(key)) < 0) {
		enroll_msg("key: %s", gnutls_strerror(g));
		return -1;
	}
	g = gnutls_x509_privkey_generate2(*key, GNUTLS_PK_ECDSA,
					  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0);
	if (g < 0) {
		enroll_msg("key generation: %s", gnutls_strerror(g));
		gnutls_x509_privkey_deinit(*key);
		*key = NULL;
		return -1;
	}
	return 0;
}

/* Loads a PEM private key file. Returns 0 or -1 (message printed). */
static int
enroll_key_load(const char *path, gnutls_x509_privkey_t *key)
{
	gnutls_datum_t d = { NULL, 0 };
	int g, rc = -1;

	*key = NULL;
	if (enroll_read(path, 64 * 1024, &d) != 0)
		goto out;
	if ((g = gnutls_x509_privkey_init(key)) < 0 ||
	    (g = gnutls_x509_privkey_import2(*key, &d, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		enroll_msg("%s: %s", path, gnutls_strerror(g));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && *key != NULL) {
		gnutls_x509_privkey_deinit(*key);
		*key = NULL;
	}
	enroll_free_secret(&d);
	return rc;
}

/* Writes key as unencrypted PKCS#8 PEM, mode 0600, to dir/name. */
static int
enroll_key_write(gnutls_x509_privkey_t key, const char *dir, const char *name)
{
	gnutls_datum_t d = { NULL, 0 };
	int g, rc = -1;

	g = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &d);
	if (g < 0) {
		enroll_msg("key export: %s", gnutls_strerror(g));
		goto out;
	}
	if (enroll_write(dir, name, d.data, d.size, 0600) != 0)
		goto out;
	rc = 0;
out:
	enroll_free_secret(&d);
	return rc;
}

/*
 * Builds a CSR for key with CN = cn and the SANs in s, signed with
 * SHA-256, as DER into *der (gnutls_malloc'd, the caller frees).
 */
static int
enroll_csr(gnutls_x509_privkey_t key, const char *cn, const struct enroll_sans *s,
	   gnutls_datum_t *der)
{
	gnutls_x509_crq_t crq = NULL;
	size_t i;
	int g, rc = -1;

	der->data = NULL;
	if ((g = gnutls_x509_crq_init(&crq)) < 0 ||
	    (g = gnutls_x509_crq_set_version(crq, 1)) < 0 ||
	    (g = gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
					       (unsigned)strlen(cn))) < 0 ||
	    (g = gnutls_x509_crq_set_key(crq, key)) < 0)
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
	if ((g = gnutls_x509_crq_sign2(crq, key, GNUTLS_DIG_SHA256, 0)) < 0 ||
	    (g = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, der)) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	enroll_msg("certificate request: %s", gnutls_strerror(g));
out:
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	return rc;
}

/* Exports one certificate as PEM and appends it to b. */
static int
enroll_append_pem(struct buf *b, gnutls_x509_crt_t crt)
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

/* A chain received from the server, checked. */
struct enroll_chain {
	gnutls_x509_crt_t *crts;
	unsigned n;
};

static void
enroll_chain_free(struct enroll_chain *c)
{
	unsigned i;

	for (i = 0; c->crts != NULL && i < c->n; i++)
		gnutls_x509_crt_deinit(c->crts[i]);
	gnutls_free(c->crts);
	c->crts = NULL;
	c->n = 0;
}

/*
 * Parses the PEM chain the server sent and checks it before anything is
 * written: leaf first and in order, at most ENROLL_MAX_CHAIN certificates,
 * the leaf's public key is key's, the leaf is not a CA, and the chain
 * verifies up to root_pem (the one anchor). Returns 0 with *out filled
 * (enroll_chain_free), or -1 with a message printed.
 */
static int
enroll_chain_check(const unsigned char *pem, size_t len, gnutls_x509_privkey_t key,
		   const gnutls_datum_t *root_pem, struct enroll_chain *out)
{
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_datum_t d, msg = { NULL, 0 };
	unsigned char a[64], b[64];
	size_t al = sizeof(a), bl = sizeof(b);
	unsigned status = 0, crit = 0;
	int g, rc = -1;

	out->crts = NULL;
	out->n = 0;
	d.data = (unsigned char *)(uintptr_t)pem;
	d.size = (unsigned)len;
	g = gnutls_x509_crt_list_import2(&out->crts, &out->n, &d, GNUTLS_X509_FMT_PEM,
					 GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
	if (g < 0 || out->n == 0) {
		enroll_msg("the server's answer is not a PEM certificate chain (leaf first): %s",
			   g < 0 ? gnutls_strerror(g) : "empty");
		goto out;
	}
	if (out->n > ENROLL_MAX_CHAIN) {
		enroll_msg("the server sent %u certificates, more than %d", out->n, ENROLL_MAX_CHAIN);
		goto out;
	}
	if (gnutls_x509_crt_get_key_id(out->crts[0], GNUTLS_KEYID_USE_SHA256, a, &al) < 0 ||
	    gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, b, &bl) < 0 ||
	    al != bl || memcmp(a, b, al) != 0) {
		enroll_msg("the certificate the server sent is not for this device's key");
		goto out;
	}
	if (gnutls_x509_crt_get_basic_constraints(out->crts[0], &crit, NULL, NULL) > 0) {
		enroll_msg("the server sent a CA certificate as the device's");
		goto out;
	}
	if ((g = gnutls_x509_trust_list_init(&tl, 0)) < 0 ||
	    (g = gnutls_x509_trust_list_add_trust_mem(tl, root_pem, NULL, GNUTLS_X509_FMT_PEM, 0, 0)) <= 0) {
		enroll_msg("root: %s", g < 0 ? gnutls_strerror(g) : "no certificate");
		goto out;
	}
	g = gnutls_x509_trust_list_verify_crt(tl, out->crts, out->n, 0, &status, NULL);
	if (g < 0 || status != 0) {
		if (g >= 0 && gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
									    &msg, 0) == 0)
			enroll_msg("the chain does not verify against the root: %s", (char *)msg.data);
		else
			enroll_msg("the chain does not verify against the root: %s",
				   g < 0 ? gnutls_strerror(g) : "invalid");
		goto out;
	}
	rc = 0;
out:
	gnutls_free(msg.data);
	if (tl != NULL)
		gnutls_x509_trust_list_deinit(tl, 1);
	if (rc != 0)
		enroll_chain_free(out);
	return rc;
}

/* Prints what was issued: serial, names, expiry, where. */
static void
enroll_report(const struct enroll_chain *c, const char *dir, const char *verb)
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

/* Writes cert (leaf) and chain PEM files under the given names. */
static int
enroll_write_chain(const struct enroll_chain *c, const char *dir, const char *cert_name,
		   const char *chain_name)
{
	struct buf leaf, all;
	unsigned i;
	int rc = -1;

	buf_init(&leaf, ENROLL_MAX_FILE);
	buf_init(&all, ENROLL_MAX_FILE);
	if (enroll_append_pem(&leaf, c->crts[0]) != 0) {
		enroll_msg("certificate export failed");
		goto out;
	}
	for (i = 0; i < c->n; i++) {
		if (enroll_append_pem(&all, c->crts[i]) != 0) {
			enroll_msg("certificate export failed");
			goto out;
		}
	}
	if (enroll_write(dir, cert_name, leaf.data, leaf.len, 0644) != 0 ||
	    enroll_write(dir, chain_name, all.data, all.len, 0644) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&leaf);
	buf_free(&all);
	return rc;
}

/* ---- the conversation ---- */

/*
 * Turns a Location header into a path on the gateway: "/..." as is, or an
 * absolute URL whose host and port are the gateway's (a pending request is
 * never followed elsewhere). Also sets id to its last path segment.
 */
static int
enroll_location(const char *loc, const struct httpc_url *gw, char *path, size_t n,
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
			enroll_msg("the server points the pending request at another place: %.200s", loc);
			return -1;
		}
		p = loc + strcspn(loc + 8, "/") + 8;
	}
	w = snprintf(path, n, "%s", p);
	if (w < 0 || (size_t)w >= n || strchr(path, ' ') != NULL) {
		enroll_msg("unusable Location from the server");
		return -1;
	}
	slash = strrchr(path, '/');
	w = snprintf(id, idn, "%s", slash != NULL ? slash + 1 : path);
	if (w < 0 || (size_t)w >= idn)
		id[0] = '\0';
	return 0;
}

/*
 * Posts the CSR to post_path on c and follows the answer: 201 gives the
 * chain; 202 (with Location) and 429 are waited out (Retry-After, bounded
 * to [1, 60] s and to the deadline) and polled or re-posted. Returns
 * ENROLL_OK with *chain (malloc'd PEM, the caller frees), ENROLL_PENDING
 * at the deadline, or ENROLL_FAIL; every outcome but success is printed.
 */
static int
enroll_converse(struct httpc_conn *c, const struct httpc_url *gw, const char *post_path,
		const gnutls_datum_t *csr, long timeout, double start,
		unsigned char **chain, size_t *chain_len)
{
	static const char *const post_hdrs[] = { CT_PKCS10, ACCEPT_CHAIN, NULL };
	static const char *const get_hdrs[] = { ACCEPT_CHAIN, NULL };
	struct httpc_response r;
	struct lerr e;
	char poll_path[1024] = "", id[256] = "";
	int rc = ENROLL_FAIL, polling = 0;
	long wait, left;

	memset(&r, 0, sizeof(r));
	*chain = NULL;
	for (;;) {
		httpc_response_free(&r);
		lerr_clear(&e);
		if (!polling) {
			if (httpc_request(c, "POST", post_path, post_hdrs, csr->data, csr->size, &r, &e) != 0) {
				enroll_msg("POST %s: %s", post_path, e.msg);
				goto out;
			}
		} else if (httpc_request(c, "GET", poll_path, get_hdrs, NULL, 0, &r, &e) != 0) {
			enroll_msg("GET %s: %s", poll_path, e.msg);
			goto out;
		}
		if (r.status == 200 || r.status == 201) {
			if (r.body == NULL) {
				enroll_msg("the server answered %d without a certificate", r.status);
				goto out;
			}
			*chain = r.body;
			*chain_len = r.body_len;
			r.body = NULL;
			rc = ENROLL_OK;
			goto out;
		}
		if (r.status == 202) {
			if (r.location != NULL) {
				if (enroll_location(r.location, gw, poll_path, sizeof(poll_path),
						    id, sizeof(id)) != 0)
					goto out;
				polling = 1;
			}
			if (id[0] == '\0' &&
			    enroll_json_str(r.body, r.body_len, "id", id, sizeof(id)) != 0)
				id[0] = '\0';
		} else if (r.status != 429) {
			if (polling && r.status == 403)
				enroll_print_refusal("denied", &r);
			else if (polling && r.status == 410)
				enroll_msg("request %s expired before anyone approved it", id);
			else if (polling && r.status == 404)
				enroll_msg("request %s is unknown to the gateway", id);
			else
				enroll_print_refusal("refused", &r);
			goto out;
		}
		/* Pending (or told to slow down): wait as asked, within bounds. */
		left = (long)(start + (double)timeout - enroll_now() + 0.5);
		if (left <= 0) {
			enroll_msg("still pending after %ld s: request %s", timeout, id[0] ? id : "(no id)");
			if (polling)
				enroll_msg("approve it on the gateway (lanca approve %s, or press its "
					   "button), then run this again; it polls https://%s%s%s:%s%s",
					   id, strchr(gw->host, ':') ? "[" : "", gw->host,
					   strchr(gw->host, ':') ? "]" : "", gw->port, poll_path);
			rc = ENROLL_PENDING;
			goto out;
		}
		wait = r.retry_after >= 0 ? r.retry_after : ENROLL_DEFAULT_WAIT;
		if (wait < 1)
			wait = 1;
		if (wait > ENROLL_MAX_WAIT)
			wait = ENROLL_MAX_WAIT;
		if (wait > left)
			wait = left;
		if (r.status == 202)
			fprintf(stderr, "lanca-enroll: pending%s%s; asking again in %ld s\n",
				id[0] ? ": request " : "", id, wait);
		enroll_sleep(wait);
	}
out:
	httpc_response_free(&r);
	return rc;
}

/* Opens an https connection to the gateway, with an optional client cert. */
static int
enroll_connect(const char *gateway, const gnutls_datum_t *root, const gnutls_datum_t *cert,
	       const gnutls_datum_t *key, long timeout, struct httpc_conn **c)
{
	struct httpc_tls tls;
	struct lerr e;

	memset(&tls, 0, sizeof(tls));
	tls.root_pem = (const char *)root->data;
	tls.root_len = root->size;
	if (cert != NULL) {
		tls.cert_pem = (const char *)cert->data;
		tls.cert_len = cert->size;
		tls.key_pem = (const char *)key->data;
		tls.key_len = key->size;
	}
	lerr_clear(&e);
	if (httpc_open(gateway, &tls, (int)(timeout < ENROLL_IO_TIMEOUT ? timeout : ENROLL_IO_TIMEOUT),
		       c, &e) != 0) {
		enroll_msg("%s: %s", gateway, e.msg);
		return -1;
	}
	return 0;
}

/* ---- enroll ---- */

/*
 * Fetches the root over plain HTTP and decides whether to trust it: the
 * SHA-256 of its DER must equal the fingerprint, or trust-on-first-use
 * prints it. Returns ENROLL_OK with *root_pem (gnutls_malloc'd), or
 * ENROLL_FAIL (message printed).
 */
static int
enroll_fetch_root(const struct enroll_opts *o, const struct httpc_url *gw, gnutls_datum_t *root_pem)
{
	struct httpc_conn *c = NULL;
	struct httpc_response r;
	struct httpc_url hu;
	struct lerr e;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d;
	unsigned char fp[32];
	size_t fl = sizeof(fp), n;
	char url[1400], got[65], want[65];
	unsigned crit = 0;
	int rc = ENROLL_FAIL, w, g, v6 = strchr(gw->host, ':') != NULL;

	memset(&r, 0, sizeof(r));
	root_pem->data = NULL;
	lerr_clear(&e);
	if (o->http == NULL) {
		w = snprintf(url, sizeof(url), "http://%s%s%s/ca.crt", v6 ? "[" : "", gw->host, v6 ? "]" : "");
	} else {
		n = strlen(o->http);
		while (n > 0 && o->http[n - 1] == '/')
			n--;
		if ((n >= 4 && strncasecmp(o->http + n - 4, ".crt", 4) == 0) ||
		    (n >= 4 && strncasecmp(o->http + n - 4, ".pem", 4) == 0))
			w = snprintf(url, sizeof(url), "%.*s", (int)n, o->http);
		else
			w = snprintf(url, sizeof(url), "%.*s/ca.crt", (int)n, o->http);
	}
	if (w < 0 || (size_t)w >= sizeof(url)) {
		enroll_msg("--http URL too long");
		goto out;
	}
	if (httpc_url_parse(url, &hu, &e) != 0 || hu.tls) {
		enroll_msg("--http %s: %s", url, hu.tls ? "must be an http:// URL" : e.msg);
		goto out;
	}
	if (httpc_open(url, NULL, (int)(o->timeout < ENROLL_IO_TIMEOUT ? o->timeout : ENROLL_IO_TIMEOUT),
		       &c, &e) != 0 ||
	    httpc_request(c, "GET", hu.path, NULL, NULL, 0, &r, &e) != 0) {
		enroll_msg("fetching the root from %s: %s", url, e.msg);
		goto out;
	}
	if (r.status != 200 || r.body == NULL) {
		enroll_msg("fetching the root from %s: HTTP status %d", url, r.status);
		goto out;
	}
	d.data = r.body;
	d.size = (unsigned)r.body_len;
	if ((g = gnutls_x509_crt_init(&crt)) < 0 ||
	    ((g = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER)) < 0 &&
	     (g = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM)) < 0)) {
		enroll_msg("%s is not a certificate: %s", url, gnutls_strerror(g));
		goto out;
	}
	if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &fl) < 0 || fl != 32) {
		enroll_msg("cannot fingerprint the root");
		goto out;
	}
	hex_encode(fp, fl, got);
	if (o->fingerprint != NULL) {
		if (enroll_norm_fp(o->fingerprint, want) != 0 || strcmp(want, got) != 0) {
			enroll_msg("root fingerprint mismatch: expected %s, got %s", want, got);
			goto out;
		}
	} else {
		enroll_msg("trusting the root on first use: SHA-256 fingerprint %s", got);
		enroll_msg("compare it with the one the gateway shows; pass --fingerprint next time");
	}
	if (gnutls_x509_crt_get_basic_constraints(crt, &crit, NULL, NULL) <= 0) {
		enroll_msg("the certificate at %s is not a CA", url);
		goto out;
	}
	if ((g = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, root_pem)) < 0) {
		enroll_msg("root export: %s", gnutls_strerror(g));
		goto out;
	}
	rc = ENROLL_OK;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	httpc_response_free(&r);
	httpc_close(c);
	return rc;
}

static int
enroll_cmd_enroll(const struct enroll_opts *o)
{
	struct httpc_url gw;
	struct enroll_sans sans;
	struct enroll_chain chain = { NULL, 0 };
	struct httpc_conn *c = NULL;
	struct lerr e;
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t root = { NULL, 0 }, csr = { NULL, 0 };
	unsigned char *pem = NULL;
	size_t pem_len = 0, i;
	char path[PATH_MAX], url[1100];
	double start = enroll_now();
	int rc = ENROLL_FAIL, w;

	memset(&sans, 0, sizeof(sans));
	lerr_clear(&e);
	if (httpc_url_parse(o->gateway, &gw, &e) != 0 || !gw.tls) {
		enroll_msg("--gateway %s: %s", o->gateway, gw.tls ? e.msg : "must be an https:// URL");
		return ENROLL_USAGE;
	}
	for (i = 0; i < o->n_names; i++) {
		w = snprintf(sans.dns[sans.n_dns++], sizeof(sans.dns[0]), "%s", o->names[i]);
		if (w <= 0 || (size_t)w >= sizeof(sans.dns[0])) {
			enroll_msg("--name %.60s...: too long", o->names[i]);
			return ENROLL_USAGE;
		}
	}
	for (i = 0; i < o->n_ips; i++) {
		size_t k = sans.n_ip++;

		if (inet_pton(AF_INET, o->ips[i], sans.ip[k]) == 1)
			sans.ip_len[k] = 4;
		else if (inet_pton(AF_INET6, o->ips[i], sans.ip[k]) == 1)
			sans.ip_len[k] = 16;
		else {
			enroll_msg("--ip %s: not an IPv4 or IPv6 address", o->ips[i]);
			return ENROLL_USAGE;
		}
	}

	if (mkdir(o->out, 0700) != 0 && errno != EEXIST) {
		enroll_msg("%s: %s", o->out, strerror(errno));
		goto out;
	}
	if (enroll_exists(o->out, "key.pem")) {
		enroll_msg("%s already holds key.pem: this device is enrolled (use renew), or "
			   "choose another --out", o->out);
		goto out;
	}
	if (enroll_fetch_root(o, &gw, &root) != ENROLL_OK)
		goto out;

	/* A key left from an enrollment that was still pending is used again,
	 * so that the request an admin approves is the one we ask about. */
	if (enroll_exists(o->out, "key.pem.new")) {
		if (enroll_join(path, sizeof(path), o->out, "key.pem.new") != 0 ||
		    enroll_key_load(path, &key) != 0)
			goto out;
		enroll_msg("using the key from the earlier attempt (%s)", path);
	} else {
		if (enroll_keygen(&key) != 0 || enroll_key_write(key, o->out, "key.pem.new") != 0)
			goto out;
	}
	if (enroll_csr(key, o->id, &sans, &csr) != 0)
		goto out;
	if (enroll_connect(o->gateway, &root, NULL, NULL, o->timeout, &c) != 0)
		goto out;
	rc = enroll_converse(c, &gw, "/api/v1/enroll", &csr, o->timeout, start, &pem, &pem_len);
	if (rc != ENROLL_OK)
		goto out;
	rc = ENROLL_FAIL;
	if (enroll_chain_check(pem, pem_len, key, &root, &chain) != 0)
		goto out;
	w = snprintf(url, sizeof(url), "%s\n", o->gateway);
	if (w < 0 || (size_t)w >= sizeof(url))
		goto out;
	/* The key becomes key.pem last: a crash before it leaves key.pem.new,
	 * which the next run uses again. */
	if (enroll_write_chain(&chain, o->out, "cert.pem", "chain.pem") != 0 ||
	    enroll_write(o->out, "root.pem", root.data, root.size, 0644) != 0 ||
	    enroll_write(o->out, "gateway.url", url, (size_t)w, 0644) != 0 ||
	    enroll_rename(o->out, "key.pem.new", "key.pem") != 0 || enroll_sync_dir(o->out) != 0)
		goto out;
	enroll_report(&chain, o->out, "issued");
	rc = ENROLL_OK;
out:
	enroll_chain_free(&chain);
	httpc_close(c);
	free(pem);
	gnutls_free(csr.data);
	gnutls_free(root.data);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

/* ---- renew ---- */

/* Copies the DNS and IP SANs of crt into s. */
static int
enroll_sans_from_crt(gnutls_x509_crt_t crt, struct enroll_sans *s)
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
			enroll_msg("current certificate's names: %s", gnutls_strerror(t));
			return -1;
		}
		if (t == GNUTLS_SAN_DNSNAME && s->n_dns < ENROLL_MAX_NAMES && vl < sizeof(s->dns[0])) {
			memcpy(s->dns[s->n_dns], v, vl);
			s->dns[s->n_dns++][vl] = '\0';
		} else if (t == GNUTLS_SAN_IPADDRESS && s->n_ip < ENROLL_MAX_NAMES && (vl == 4 || vl == 16)) {
			memcpy(s->ip[s->n_ip], v, vl);
			s->ip_len[s->n_ip++] = vl;
		}
	}
	return 0;
}

static int
enroll_cmd_renew(const struct enroll_opts *o)
{
	struct httpc_url gw;
	struct enroll_sans sans;
	struct enroll_chain chain = { NULL, 0 };
	struct httpc_conn *c = NULL;
	struct lerr e;
	gnutls_x509_crt_t cur = NULL;
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t root = { NULL, 0 }, cert = { NULL, 0 }, present = { NULL, 0 };
	gnutls_datum_t oldkey = { NULL, 0 }, gwd = { NULL, 0 }, csr = { NULL, 0 };
	unsigned char *pem = NULL;
	size_t pem_len = 0, cl;
	char path[PATH_MAX], cn[256], gateway[1100];
	time_t nb, na, now = time(NULL);
	double start = enroll_now();
	int rc = ENROLL_FAIL, g, staged = 0;

	lerr_clear(&e);
	if (enroll_join(path, sizeof(path), o->dir, "cert.pem") != 0 ||
	    enroll_read(path, ENROLL_MAX_FILE, &cert) != 0)
		goto out;
	if ((g = gnutls_x509_crt_init(&cur)) < 0 ||
	    (g = gnutls_x509_crt_import(cur, &cert, GNUTLS_X509_FMT_PEM)) < 0) {
		enroll_msg("%s: %s", path, gnutls_strerror(g));
		goto out;
	}
	nb = gnutls_x509_crt_get_activation_time(cur);
	na = gnutls_x509_crt_get_expiration_time(cur);
	if (nb == (time_t)-1 || na == (time_t)-1 || na <= nb) {
		enroll_msg("%s: unusable validity period", path);
		goto out;
	}
	if (o->when_due && now < nb + (na - nb) / 3 * 2) {
		char when[64];
		time_t due = nb + (na - nb) / 3 * 2;
		struct tm tm;

		if (gmtime_r(&due, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
			snprintf(when, sizeof(when), "later");
		printf("lanca-enroll: not due: renewal is due from %s\n", when);
		rc = ENROLL_OK;
		goto out;
	}

	if (enroll_join(path, sizeof(path), o->dir, "gateway.url") != 0 || enroll_read(path, 2048, &gwd) != 0)
		goto out;
	cl = gwd.size;
	while (cl > 0 && (gwd.data[cl - 1] == '\n' || gwd.data[cl - 1] == '\r' || gwd.data[cl - 1] == ' '))
		cl--;
	if (cl == 0 || cl >= sizeof(gateway) || memchr(gwd.data, '\n', cl) != NULL) {
		enroll_msg("%s: not one URL", path);
		goto out;
	}
	memcpy(gateway, gwd.data, cl);
	gateway[cl] = '\0';
	if (httpc_url_parse(gateway, &gw, &e) != 0 || !gw.tls) {
		enroll_msg("%s: %s", path, gw.tls ? e.msg : "not an https:// URL");
		goto out;
	}
	if (enroll_join(path, sizeof(path), o->dir, "root.pem") != 0 ||
	    enroll_read(path, ENROLL_MAX_FILE, &root) != 0)
		goto out;
	/* Present the whole chain when we have it, so that the gateway need
	 * not know the intermediate; else the leaf alone. */
	if (enroll_exists(o->dir, "chain.pem")) {
		if (enroll_join(path, sizeof(path), o->dir, "chain.pem") != 0 ||
		    enroll_read(path, ENROLL_MAX_FILE, &present) != 0)
			goto out;
	} else {
		present.data = gnutls_malloc(cert.size + 1);
		if (present.data == NULL) {
			enroll_msg("out of memory");
			goto out;
		}
		memcpy(present.data, cert.data, cert.size + 1);
		present.size = cert.size;
	}
	if (enroll_join(path, sizeof(path), o->dir, "key.pem") != 0 || enroll_read(path, 64 * 1024, &oldkey) != 0)
		goto out;

	cl = sizeof(cn);
	if ((g = gnutls_x509_crt_get_dn_by_oid(cur, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cl)) < 0) {
		enroll_msg("current certificate has no common name: %s", gnutls_strerror(g));
		goto out;
	}
	if (enroll_sans_from_crt(cur, &sans) != 0)
		goto out;
	staged = 1;
	if (enroll_keygen(&key) != 0 || enroll_key_write(key, o->dir, "key.pem.new") != 0 ||
	    enroll_csr(key, cn, &sans, &csr) != 0)
		goto out;
	if (enroll_connect(gateway, &root, &present, &oldkey, o->timeout, &c) != 0)
		goto out;
	enroll_free_secret(&oldkey);	/* GnuTLS holds its own copy now */
	rc = enroll_converse(c, &gw, "/api/v1/renew", &csr, o->timeout, start, &pem, &pem_len);
	if (rc != ENROLL_OK)
		goto out;
	rc = ENROLL_FAIL;
	if (enroll_chain_check(pem, pem_len, key, &root, &chain) != 0)
		goto out;
	/* The old files stay until every new one is on disk. */
	if (enroll_write_chain(&chain, o->dir, "cert.pem.new", "chain.pem.new") != 0 ||
	    enroll_rename(o->dir, "key.pem.new", "key.pem") != 0 ||
	    enroll_rename(o->dir, "cert.pem.new", "cert.pem") != 0 ||
	    enroll_rename(o->dir, "chain.pem.new", "chain.pem") != 0 || enroll_sync_dir(o->dir) != 0)
		goto out;
	enroll_report(&chain, o->dir, "renewed");
	rc = ENROLL_OK;
out:
	/* A renewal that did not finish leaves the current files as they
	 * were and nothing half-made beside them. */
	if (rc != ENROLL_OK && staged) {
		static const char *const staged_names[] = { "key.pem.new", "cert.pem.new", "chain.pem.new" };
		size_t i;

		for (i = 0; i < sizeof(staged_names) / sizeof(staged_names[0]); i++)
			if (enroll_join(path, sizeof(path), o->dir, staged_names[i]) == 0)
				unlink(path);
	}
	enroll_chain_free(&chain);
	httpc_close(c);
	free(pem);
	gnutls_free(csr.data);
	gnutls_free(root.data);
	gnutls_free(cert.data);
	gnutls_free(present.data);
	gnutls_free(gwd.data);
	enroll_free_secret(&oldkey);
	if (cur != NULL)
		gnutls_x509_crt_deinit(cur);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

/* ---- main ---- */

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "gateway", required_argument, NULL, 'g' },
		{ "id", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ "ip", required_argument, NULL, 'a' },
		{ "out", required_argument, NULL, 'o' },
		{ "dir", required_argument, NULL, 'd' },
		{ "fingerprint", required_argument, NULL, 'f' },
		{ "trust-on-first-use", no_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 't' },
		{ "http", required_argument, NULL, 'H' },
		{ "when-due", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct enroll_opts o;
	const char *cmd;
	int ch, enroll;

	memset(&o, 0, sizeof(o));
	o.timeout = ENROLL_DEFAULT_TIMEOUT;
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		enroll_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? ENROLL_USAGE : ENROLL_OK;
	}
	cmd = argv[1];
	if (strcmp(cmd, "enroll") == 0) {
		enroll = 1;
	} else if (strcmp(cmd, "renew") == 0) {
		enroll = 0;
	} else {
		enroll_msg("unknown command %s", cmd);
		enroll_usage(stderr);
		return ENROLL_USAGE;
	}
	optind = 1;
	while ((ch = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'g': o.gateway = optarg; break;
		case 'i': o.id = optarg; break;
		case 'o': o.out = optarg; break;
		case 'd': o.dir = optarg; break;
		case 'f': o.fingerprint = optarg; break;
		case 'T': o.tofu = 1; break;
		case 'H': o.http = optarg; break;
		case 'W': o.when_due = 1; break;
		case 'n':
			if (o.n_names == ENROLL_MAX_NAMES) {
				enroll_msg("at most %d --name", ENROLL_MAX_NAMES);
				return ENROLL_USAGE;
			}
			o.names[o.n_names++] = optarg;
			break;
		case 'a':
			if (o.n_ips == ENROLL_MAX_NAMES) {
				enroll_msg("at most %d --ip", ENROLL_MAX_NAMES);
				return ENROLL_USAGE;
			}
			o.ips[o.n_ips++] = optarg;
			break;
		case 't':
			if (enroll_parse_long(optarg, 1, 86400, &o.timeout) != 0) {
				enroll_msg("--timeout %s: want seconds from 1 to 86400", optarg);
				return ENROLL_USAGE;
			}
			break;
		case 'h':
			enroll_usage(stdout);
			return ENROLL_OK;
		default:
			enroll_usage(stderr);
			return ENROLL_USAGE;
		}
	}
	if (optind != argc - 1) {
		enroll_msg("unexpected argument %s", argv[optind + 1]);
		return ENROLL_USAGE;
	}
	if (enroll) {
		char fp[65];

		if (o.gateway == NULL || o.id == NULL || o.out == NULL || o.dir != NULL || o.when_due) {
			enroll_msg("enroll needs --gateway, --id and --out (and takes no --dir or --when-due)");
			return ENROLL_USAGE;
		}
		if ((o.fingerprint != NULL) == o.tofu) {
			enroll_msg("enroll needs exactly one of --fingerprint and --trust-on-first-use");
			return ENROLL_USAGE;
		}
		if (o.fingerprint != NULL && enroll_norm_fp(o.fingerprint, fp) != 0) {
			enroll_msg("--fingerprint: want 64 hex digits (colons allowed)");
			return ENROLL_USAGE;
		}
		if (o.id[0] == '\0' || strlen(o.id) > 64) {
			enroll_msg("--id: want 1 to 64 characters");
			return ENROLL_USAGE;
		}
		return enroll_cmd_enroll(&o);
	}
	if (o.dir == NULL || o.gateway != NULL || o.id != NULL || o.out != NULL || o.fingerprint != NULL ||
	    o.tofu || o.http != NULL || o.n_names > 0 || o.n_ips > 0) {
		enroll_msg("renew takes --dir and optionally --when-due and --timeout");
		return ENROLL_USAGE;
	}
	return enroll_cmd_renew(&o);
}
