/*
 * test_rollout_os.c - the Windows, Apple, Java, ChromeOS and Android
 * policy files (ca/rollout_*.c), read back with the formats' own rules:
 * the .reg decoded from UTF-16LE and its hex Blob split into the
 * certificate property (0x20) and the DER; Registry.pol's PReg records
 * walked; the profile's payloads and stable UUIDs, and its CMS signature
 * verified by GnuTLS (and refused once a byte is flipped); the PKCS#12
 * MAC verified and its certificates read back; the ONC parsed with
 * jansson. Two roots each time, so that "every root" is tested, and bad
 * input refused. Real programs read the same files in
 * tests/integration/t_policy_os.sh (python3-samba, plistlib, openssl,
 * keytool, a Java client).
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/pkcs12.h>
#include <gnutls/pkcs7.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <sodium.h>

#include "ca/keystore.h"
#include "ca/rollout.h"
#include "ca/x509.h"

#define DAY	(24 * 3600)
#define NROOTS	2

static gnutls_privkey_t keys[NROOTS + 1];
static gnutls_x509_crt_t roots[NROOTS], leaf;
static gnutls_datum_t ders[NROOTS];
static struct names permitted;

static gnutls_privkey_t
new_key(void)
{
	gnutls_x509_privkey_t x = NULL;
	gnutls_privkey_t k = NULL;
	struct lerr e;

	if (keystore_generate(KEYSTORE_ECDSA_P256, &x, &e) != 0 || gnutls_privkey_init(&k) < 0 ||
	    gnutls_privkey_import_x509(k, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) < 0)
		abort();
	return k;
}

static void
random_serial(unsigned char s[X509_SERIAL_LEN])
{
	randombytes_buf(s, X509_SERIAL_LEN);
	s[0] = (unsigned char)((s[0] & 0x7f) | 1);
}

/* Two roots constrained to local names, and a leaf of the first (the
 * profile signer), made once before the tests fork. */
static void
setup(void)
{
	unsigned char serial[X509_SERIAL_LEN];
	struct x509_ca_params p;
	struct x509_leaf_params lp;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t der;
	struct names sans;
	time_t now = time(NULL);
	struct lerr e;
	size_t i;

	names_init(&permitted);
	names_init(&sans);
	if (names_add_dns(&permitted, "home.arpa") != 0 ||
	    names_add_dns(&sans, "signer.home.arpa") != 0)
		abort();
	for (i = 0; i < NROOTS; i++) {
		keys[i] = new_key();
		random_serial(serial);
		memset(&p, 0, sizeof(p));
		p.cn = i == 0 ? "Test <&> Root" : "Test Backup Root";
		p.org = "lanca";
		p.permitted = &permitted;
		p.pathlen = 1;
		p.not_before = now - 3600;
		p.not_after = now + 365 * (time_t)DAY;
		p.serial = serial;
		if (x509_make_root(&p, keys[i], &roots[i], &e) != 0 ||
		    x509_export_der(roots[i], &ders[i]) != 0)
			abort();
	}
	keys[NROOTS] = new_key();
	random_serial(serial);
	if (gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_privkey(pub, keys[NROOTS], 0, 0) < 0)
		abort();
	memset(&lp, 0, sizeof(lp));
	lp.pubkey = pub;
	lp.cn = "signer";
	lp.sans = &sans;
	lp.not_before = now - 60;
	lp.not_after = now + 30 * (time_t)DAY;
	lp.serial = serial;
	if (x509_make_leaf(&lp, roots[0], keys[0], &der, &e) != 0 ||
	    gnutls_x509_crt_init(&leaf) < 0 ||
	    gnutls_x509_crt_import(leaf, &der, GNUTLS_X509_FMT_DER) < 0)
		abort();
	gnutls_free(der.data);
	gnutls_pubkey_deinit(pub);
	names_free(&sans);
}

static struct rollout_in
input(size_t n)
{
	struct rollout_in in;

	memset(&in, 0, sizeof(in));
	in.roots = (const gnutls_x509_crt_t *)roots;
	in.n = n;
	in.ca_name = "lanca CA for home.arpa";
	in.permitted = &permitted;
	return in;
}

/* Runs a writer on both roots; aborts the test if it fails. */
static size_t
run(int (*w)(const struct rollout_in *, struct rollout_file *, size_t, size_t *,
	     struct lerr *), const struct rollout_in *in, struct rollout_file *f)
{
	struct lerr e;
	size_t n = 0;

	memset(f, 0, sizeof(*f) * ROLLOUT_FILES_MAX);
	ck_assert_msg(w(in, f, ROLLOUT_FILES_MAX, &n, &e) == 0, "%s", e.msg);
	return n;
}

static const struct rollout_file *
file(const struct rollout_file *f, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	ck_abort_msg("no file %s", name);
	return NULL;
}

static void
sha1_hex(size_t i, char out[41])
{
	unsigned char md[20];
	size_t len = sizeof(md), k;

	ck_assert_int_eq(gnutls_x509_crt_get_fingerprint(roots[i], GNUTLS_DIG_SHA1, md, &len), 0);
	for (k = 0; k < len; k++)
		snprintf(out + 2 * k, 3, "%02X", md[k]);
}

static uint32_t
u32le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A Blob is the certificate property: id 0x20, reserved 1, length, DER. */
static void
check_blob(const unsigned char *b, size_t len, size_t root)
{
	ck_assert_uint_ge(len, 12);
	ck_assert_uint_eq(u32le(b), 0x20);
	ck_assert_uint_eq(u32le(b + 4), 1);
	ck_assert_uint_eq(u32le(b + 8), ders[root].size);
	ck_assert_uint_eq(len, 12 + ders[root].size);
	ck_assert_mem_eq(b + 12, ders[root].data, ders[root].size);
}

START_TEST(test_windows_reg)
{
	struct rollout_file f[ROLLOUT_FILES_MAX];
	struct rollout_in in = input(NROOTS);
	const struct rollout_file *reg;
	size_t n = run(rollout_write_windows, &in, f), i, k, len;
	unsigned char blob[4096];
	char *text, *p, key[256], sha1[41];
	unsigned v;

	reg = file(f, n, "windows-root.reg");
	/* UTF-16LE with a BOM, all ASCII here: every high byte zero. */
	ck_assert_uint_eq(reg->data.size % 2, 0);
	ck_assert_int_eq(reg->data.data[0], 0xff);
	ck_assert_int_eq(reg->data.data[1], 0xfe);
	len = reg->data.size / 2 - 1;
	text = calloc(len + 1, 1);
	for (k = 0; k < len; k++) {
		ck_assert_int_eq(reg->data.data[2 + 2 * k + 1], 0);
		text[k] = (char)reg->data.data[2 + 2 * k];
	}
	ck_assert(strncmp(text, "Windows Registry Editor Version 5.00\r\n\r\n", 40) == 0);
	for (i = 0; i < NROOTS; i++) {
		sha1_hex(i, sha1);
		snprintf(key, sizeof(key), "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\"
			 "SystemCertificates\\ROOT\\Certificates\\%s]\r\n\"Blob\"=hex:", sha1);
		p = strstr(text, key);
		ck_assert_msg(p != NULL, "no key for root %zu", i);
		p += strlen(key);
		/* hex pairs, commas, and regedit's "\\\r\n  " continuations */
		for (len = 0; *p != '\0' && *p != '\r'; ) {
			if (strncmp(p, "\\\r\n  ", 5) == 0) {
				p += 5;
				continue;
			}
			ck_assert_int_eq(sscanf(p, "%2x", &v), 1);
			ck_assert_uint_lt(len, sizeof(blob));
			blob[len++] = (unsigned char)v;
			p += 2;
			if (*p == ',')
				p++;
		}
		check_blob(blob, len, i);
	}
	free(text);
	rollout_files_free(f, n);
}
END_TEST

/* Reads a NUL-terminated UTF-16LE string of ASCII at *p into out. */
static void
pol_string(const unsigned char **p, const unsigned char *end, char *out, size_t size)
{
	size_t k = 0;

	for (;;) {
		ck_assert((*p + 2) <= end);
		ck_assert_int_eq((*p)[1], 0);
		ck_assert_uint_lt(k, size);
		out[k++] = (char)(*p)[0];
		*p += 2;
		if (out[k - 1] == '\0')
			return;
	}
}

static void
pol_char(const unsigned char **p, char c)
{
	ck_assert_int_eq((*p)[0], c);
	ck_assert_int_eq((*p)[1], 0);
	*p += 2;
}

START_TEST(test_windows_pol)
{
	struct rollout_file f[ROLLOUT_FILES_MAX];
	struct rollout_in in = input(NROOTS);
	const struct rollout_file *pol;
	size_t n = run(rollout_write_windows, &in, f), i;
	const unsigned char *p, *end;
	char key[256], want[256], value[16], sha1[41];
	uint32_t size;

	pol = file(f, n, "Registry.pol");
	p = pol->data.data;
	end = p + pol->data.size;
	ck_assert(memcmp(p, "PReg", 4) == 0);
	ck_assert_uint_eq(u32le(p + 4), 1);
	p += 8;
	for (i = 0; i < NROOTS; i++) {
		pol_char(&p, '[');
		pol_string(&p, end, key, sizeof(key));
		sha1_hex(i, sha1);
		snprintf(want, sizeof(want),
			 "Software\\Policies\\Microsoft\\SystemCertificates\\Root\\Certificates\\%s",
			 sha1);
		ck_assert_str_eq(key, want);
		pol_char(&p, ';');
		pol_string(&p, end, value, sizeof(value));
		ck_assert_str_eq(value, "Blob");
		pol_char(&p, ';');
		ck_assert_uint_eq(u32le(p), 3);	/* REG_BINARY */
		p += 4;
		pol_char(&p, ';');
		size = u32le(p);
		p += 4;
		pol_char(&p, ';');
		ck_assert((p + size) <= end);
		check_blob(p, size, i);
		p += size;
		pol_char(&p, ']');
	}
	ck_assert_ptr_eq(p, end);
	rollout_files_free(f, n);
}
END_TEST

/* text holds "<prefix>BASE64<quote>" whose base64 is root i's DER. */
static void
check_b64_after(const char *text, const char *prefix, char quote, size_t i)
{
	const char *p = strstr(text, prefix), *q;
	gnutls_datum_t b64, der;

	ck_assert_msg(p != NULL, "no %s", prefix);
	p += strlen(prefix);
	q = strchr(p, quote);
	ck_assert_ptr_nonnull(q);
	b64.data = (unsigned char *)(uintptr_t)p;
	b64.size = (unsigned)(q - p);
	ck_assert_int_eq(gnutls_base64_decode2(&b64, &der), 0);
	ck_assert_uint_eq(der.size, ders[i].size);
	ck_assert_mem_eq(der.data, ders[i].data, der.size);
	gnutls_free(der.data);
}

START_TEST(test_windows_ps1)
{
	struct rollout_file f[ROLLOUT_FILES_MAX];
	struct rollout_in in = input(NROOTS);
	const struct rollout_file *ps1;
	size_t n = run(rollout_write_windows, &in, f), i;
	char want[128], sha1[41], *text;

	ps1 = file(f, n, "windows-install-root.ps1");
	text = strndup((const char *)ps1->data.data, ps1->data.size);
	for (i = 0; i < NROOTS; i++) {
		sha1_hex(i, sha1);
		snprintf(want, sizeof(want), "Thumbprint = '%s'; Der = '", sha1);
		check_b64_after(text, want, '\'', i);
	}
	ck_assert_ptr_nonnull(strstr(text, "Cert:\\LocalMachine\\Root"));
	ck_assert_ptr_nonnull(strstr(text, "certutil.exe -addstore -f Root"));
	free(text);
	rollout_files_free(f, n);
}
END_TEST

/* The value of "<key>K</key>\n...<string>V</string>" after from. */
static const char *
plist_string(const char *from, const char *k, char *out, size_t size)
{
	char key[64];
	const char *p, *q;

	snprintf(key, sizeof(key), "<key>%s</key>", k);
	p = strstr(from, key);
	ck_assert_msg(p != NULL, "no %s", k);
	p = strstr(p, "<string>");
	ck_assert_ptr_nonnull(p);
	p += strlen("<string>");
	q = strstr(p, "</string>");
	ck_assert_uint_lt((size_t)(q - p), size);
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return q;
}

START_TEST(test_apple_profile)
{
	struct rollout_file f[ROLLOUT_FILES_MAX], g[ROLLOUT_FILES_MAX];
	struct rollout_in in = input(NROOTS);
	size_t n = run(rollout_write_apple, &in, f), i;
	char uuid[NROOTS][64], top[64], name[256], *text;
	const char *p;

	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(f[0].name, "lanca.mobileconfig");
	text = strndup((const char *)f[0].data.data, f[0].data.size);
	p = text;
	for (i = 0; i < NROOTS; i++) {
		p = strstr(p, "<key>PayloadContent</key>\n\t\t\t<data>");
		ck_assert_ptr_nonnull(p);
		check_b64_after(p, "<data>", '<', i);
		plist_string(p, "PayloadType", name, sizeof(name));
		ck_assert_str_eq(name, "com.apple.security.root");
		p = plist_string(p, "PayloadUUID", uuid[i], sizeof(uuid[i]));
		/* RFC 4122 version 5, variant 10xx */
		ck_assert_uint_eq(strlen(uuid[i]), 36);
		ck_assert_int_eq(uuid[i][14], '5');
		ck_assert_ptr_nonnull(strchr("89AB", uuid[i][19]));
	}
	ck_assert_str_ne(uuid[0], uuid[1]);
	plist_string(p, "PayloadType", name, sizeof(name));
	ck_assert_str_eq(name, "Configuration");
	plist_string(p, "PayloadUUID", top, sizeof(top));
	ck_assert_str_ne(top, uuid[0]);
	/* The CA's name is text in the XML, escaped. */
	in.ca_name = "a <b> & c";
	plist_string(p, "PayloadDisplayName", name, sizeof(name));
	ck_assert_str_eq(name, "lanca CA for home.arpa");
	free(text);
	/* The same bundle gives the same profile, byte for byte; another
	 * bundle another top-level UUID. */
	ck_assert_uint_eq(run(rollout_write_apple, &in, g), 1);
	text = strndup((const char *)g[0].data.data, g[0].data.size);
	ck_assert_ptr_nonnull(strstr(text, "<string>a &lt;b&gt; &amp; c</string>"));
	ck_assert_ptr_nonnull(strstr(text, uuid[0]));
	ck_assert_ptr_nonnull(strstr(text, top));
	free(text);
	rollout_files_free(g, 1);
	in.n = 1;
	ck_assert_uint_eq(run(rollout_write_apple, &in, g), 1);
	text = strndup((const char *)g[0].data.data, g[0].data.size);
	ck_assert_ptr_nonnull(strstr(text, uuid[0]));
	ck_assert_ptr_null(strstr(text, top));
	free(text);
	rollout_files_free(g, 1);
	rollout_files_free(f, n);
}
END_TEST

/* Verifies a signed profile against roots[0]; 0 if it verifies. */
static int
verify_cms(const gnutls_datum_t *der, gnutls_datum_t *content)
{
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_pkcs7_t p7 = NULL;
	gnutls_x509_crt_t anchor = NULL;
	gnutls_datum_t d = { ders[0].data, ders[0].size };
	int r;

	ck_assert_int_eq(gnutls_pkcs7_init(&p7), 0);
	ck_assert_int_eq(gnutls_x509_trust_list_init(&tl, 0), 0);
	ck_assert_int_eq(gnutls_x509_crt_init(&anchor), 0);
	ck_assert_int_eq(gnutls_x509_crt_import(anchor, &d, GNUTLS_X509_FMT_DER), 0);
	ck_assert_int_eq(gnutls_x509_trust_list_add_cas(tl, &anchor, 1, 0), 1);
	r = gnutls_pkcs7_import(p7, der, GNUTLS_X509_FMT_DER);
	if (r >= 0)
		r = gnutls_pkcs7_verify(p7, tl, NULL, 0, 0, NULL, 0);
	if (r >= 0 && content != NULL)
		r = gnutls_pkcs7_get_embedded_data(p7, 0, content);
	gnutls_pkcs7_deinit(p7);
	gnutls_x509_trust_list_deinit(tl, 1);
	return r < 0 ? -1 : 0;
}

START_TEST(test_apple_signed)
{
	struct rollout_file f[ROLLOUT_FILES_MAX], g[ROLLOUT_FILES_MAX];
	struct rollout_in in = input(NROOTS);
	struct rollout_signer s = { leaf, keys[NROOTS], (const gnutls_x509_crt_t *)roots, 1 };
	gnutls_datum_t content = { NULL, 0 };
	size_t n = run(rollout_write_apple, &in, f);
	unsigned char *flip;
	size_t at;

	in.signer = &s;
	ck_assert_uint_eq(run(rollout_write_apple, &in, g), 1);
	ck_assert_str_eq(g[0].name, "lanca.mobileconfig");
	/* What is signed is the unsigned profile, as it is. */
	ck_assert_int_eq(verify_cms(&g[0].data, &content), 0);
	ck_assert_uint_eq(content.size, f[0].data.size);
	ck_assert_mem_eq(content.data, f[0].data.data, content.size);
	gnutls_free(content.data);
	/* A byte of the profile changed: refused. */
	flip = memmem(g[0].data.data, g[0].data.size, "PayloadDisplayName", 18);
	ck_assert_ptr_nonnull(flip);
	at = (size_t)(flip - g[0].data.data);
	g[0].data.data[at] ^= 1;
	ck_assert_int_ne(verify_cms(&g[0].data, NULL), 0);
	rollout_files_free(g, 1);
	rollout_files_free(f, n);
}
END_TEST

START_TEST(test_java)
{
	struct rollout_file f[ROLLOUT_FILES_MAX];
	struct rollout_in in = input(NROOTS);
	size_t n = run(rollout_write_java, &in, f), i;
	const struct rollout_file *p12f, *sh;
	/* DER of OID 2.16.840.1.113894.746875.1.1, Java's trusted-key-usage */
	static const unsigned char trust_oid[] = {
		0x06, 0x0c, 0x60, 0x86, 0x48, 0x01, 0x86, 0xf9, 0x66, 0xad, 0xca, 0x7b, 0x01, 0x01,
	};
	gnutls_pkcs12_t p12 = NULL;
	gnutls_pkcs12_bag_t bag = NULL;
	gnutls_datum_t d;
	const unsigned char *p, *end;
	unsigned trusted = 0;
	char *text, alias[32];

	p12f = file(f, n, "lanca-truststore.p12");
	ck_assert_int_eq(gnutls_pkcs12_init(&p12), 0);
	ck_assert_int_eq(gnutls_pkcs12_import(p12, &p12f->data, GNUTLS_X509_FMT_DER, 0), 0);
	ck_assert_int_eq(gnutls_pkcs12_verify_mac(p12, "changeit"), 0);
	ck_assert_int_ne(gnutls_pkcs12_verify_mac(p12, "changeme"), 0);
	ck_assert_int_eq(gnutls_pkcs12_bag_init(&bag), 0);
	ck_assert_int_eq(gnutls_pkcs12_get_bag(p12, 0, bag), 0);
	ck_assert_int_eq(gnutls_pkcs12_bag_get_count(bag), NROOTS);
	for (i = 0; i < NROOTS; i++) {
		char *fname = NULL;

		ck_assert_int_eq(gnutls_pkcs12_bag_get_type(bag, (unsigned)i), GNUTLS_BAG_CERTIFICATE);
		ck_assert_int_eq(gnutls_pkcs12_bag_get_data(bag, (unsigned)i, &d), 0);
		ck_assert_uint_eq(d.size, ders[i].size);
		ck_assert_mem_eq(d.data, ders[i].data, d.size);
		ck_assert_int_eq(gnutls_pkcs12_bag_get_friendly_name(bag, (unsigned)i, &fname), 0);
		snprintf(alias, sizeof(alias), "lanca-root-%zu", i + 1);
		ck_assert_str_eq(fname, alias);
	}
	ck_assert_int_lt(gnutls_pkcs12_get_bag(p12, 1, bag), 0);	/* one bag only */
	/* Every certificate carries the attribute (keytool in t_policy_os.sh
	 * shows what it is for). */
	for (p = p12f->data.data, end = p + p12f->data.size;
	     (p = memmem(p, (size_t)(end - p), trust_oid, sizeof(trust_oid))) != NULL; p++)
		trusted++;
	ck_assert_uint_eq(trusted, NROOTS);
	gnutls_pkcs12_bag_deinit(bag);
	gnutls_pkcs12_deinit(p12);
	sh = file(f, n, "java-install-root.sh");
	text = strndup((const char *)sh->data.data, sh->data.size);
	ck_assert_ptr_nonnull(strstr(text, "keytool -importkeystore"));
	ck_assert_ptr_nonnull(strstr(text, "-alias lanca-root-2"));
	free(text);
	rollout_files_free(f, n);
}
END_TEST

START_TEST(test_chromeos)
{
	struct rollout_file f[ROLLOUT_FILES_MAX];
	struct rollout_in in = input(NROOTS);
	size_t n = run(rollout_write_chromeos, &in, f), i;
	json_t *onc, *certs, *c;
	json_error_t je;
	gnutls_datum_t b64, der;
	const char *x509;

	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(f[0].name, "chromeos-lanca.onc");
	onc = json_loadb((const char *)f[0].data.data, f[0].data.size, 0, &je);
	ck_assert_msg(onc != NULL, "%s", je.text);
	ck_assert_str_eq(json_string_value(json_object_get(onc, "Type")),
			 "UnencryptedConfiguration");
	certs = json_object_get(onc, "Certificates");
	ck_assert_uint_eq(json_array_size(certs), NROOTS);
	for (i = 0; i < NROOTS; i++) {
		c = json_array_get(certs, i);
		ck_assert_str_eq(json_string_value(json_object_get(c, "Type")), "Authority");
		ck_assert_uint_eq(json_array_size(json_object_get(c, "TrustBits")), 1);
		ck_assert_str_eq(json_string_value(json_array_get(json_object_get(c, "TrustBits"), 0)),
				 "Web");
		ck_assert_ptr_nonnull(json_string_value(json_object_get(c, "GUID")));
		x509 = json_string_value(json_object_get(c, "X509"));
		ck_assert_ptr_nonnull(x509);
		b64.data = (unsigned char *)(uintptr_t)x509;
		b64.size = (unsigned)strlen(x509);
		ck_assert_int_eq(gnutls_base64_decode2(&b64, &der), 0);
		ck_assert_uint_eq(der.size, ders[i].size);
		ck_assert_mem_eq(der.data, ders[i].data, der.size);
		gnutls_free(der.data);
	}
	ck_assert_str_ne(json_string_value(json_object_get(json_array_get(certs, 0), "GUID")),
			 json_string_value(json_object_get(json_array_get(certs, 1), "GUID")));
	json_decref(onc);
	rollout_files_free(f, n);
}
END_TEST

START_TEST(test_android)
{
	struct rollout_file f[ROLLOUT_FILES_MAX];
	struct rollout_in in = input(NROOTS);
	size_t n = run(rollout_write_android, &in, f), i;
	const struct rollout_file *crt, *readme;
	char name[32];

	ck_assert_uint_eq(n, NROOTS + 1);
	readme = file(f, n, "android-README.txt");
	for (i = 0; i < NROOTS; i++) {
		snprintf(name, sizeof(name), "android-root-%zu.crt", i + 1);
		crt = file(f, n, name);
		ck_assert_uint_eq(crt->data.size, ders[i].size);
		ck_assert_mem_eq(crt->data.data, ders[i].data, ders[i].size);
		ck_assert_ptr_nonnull(memmem(readme->data.data, readme->data.size, name,
					     strlen(name)));
	}
	rollout_files_free(f, n);
}
END_TEST

/* No root, a root that is no CA, and no room for the files: refused,
 * nothing left behind. */
START_TEST(test_refused)
{
	struct rollout_file f[ROLLOUT_FILES_MAX];
	struct rollout_in in = input(0);
	gnutls_x509_crt_t not_ca[1] = { leaf };
	struct lerr e;
	size_t n, i;

	for (i = 0; i < rollout_nformats; i++) {
		n = 0;
		in = input(0);
		ck_assert_int_ne(rollout_formats[i].write(&in, f, ROLLOUT_FILES_MAX, &n, &e), 0);
		ck_assert_uint_eq(n, 0);
		ck_assert_ptr_nonnull(strstr(e.msg, "no root"));
		in.roots = (const gnutls_x509_crt_t *)not_ca;
		in.n = 1;
		ck_assert_int_ne(rollout_formats[i].write(&in, f, ROLLOUT_FILES_MAX, &n, &e), 0);
		ck_assert_uint_eq(n, 0);
		ck_assert_ptr_nonnull(strstr(e.msg, "not a CA"));
	}
	in = input(NROOTS);
	n = 0;
	ck_assert_int_ne(rollout_write_windows(&in, f, 2, &n, &e), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_ne(rollout_write_android(&in, f, 2, &n, &e), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_eq(rollout_find("nonesuch"), NULL);
	ck_assert_ptr_eq(rollout_find("windows")->write, rollout_write_windows);
}
END_TEST

static Suite *
rollout_suite(void)
{
	Suite *s = suite_create("rollout_os");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_windows_reg);
	tcase_add_test(tc, test_windows_pol);
	tcase_add_test(tc, test_windows_ps1);
	tcase_add_test(tc, test_apple_profile);
	tcase_add_test(tc, test_apple_signed);
	tcase_add_test(tc, test_java);
	tcase_add_test(tc, test_chromeos);
	tcase_add_test(tc, test_android);
	tcase_add_test(tc, test_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return 1;
	setup();
	sr = srunner_create(rollout_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
