/*
 * test_client_devkey.c - lanca-enroll's device key (src/client/devkey.c)
 * where no token is needed: a --key URL is checked (pkcs11: only, the key
 * named by object= or id=, both decoded, type=private or none, escapes,
 * bytes and length checked, each refusal naming its problem) and its
 * pin-value kept out of the recorded URL; key.token is written and read
 * back (mode 0600, the PIN never in it) and a malformed one is refused;
 * a file key goes through the same gnutls_privkey_t path as before
 * (written as PKCS#8, loaded again, the same key, a request it signs
 * verifies); devkey_load_dir finds a key file, or says there is none; and
 * a PIN file is read as the pre-authorisation secret is (one line, its
 * bounds, no control characters, NUL-terminated for GnuTLS).
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "client/client.h"
#include "client/device.h"
#include "client/devkey.h"
#include "common/fileio.h"

/* client_msg is main.c's; the tests keep the last message. */
static char last_msg[2048];

void
client_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
}

static struct p11key_ref tok;

/* Parses arg; with want_ok == 0 expects a refusal whose message holds
 * expect. */
static void
parse(const char *arg, int want_ok, const char *expect)
{
	int r;

	memset(&tok, 0, sizeof(tok));
	last_msg[0] = '\0';
	r = devkey_token_parse(arg, &tok);
	if (want_ok) {
		ck_assert_msg(r == 0, "%s refused: %s", arg, last_msg);
	} else {
		ck_assert_msg(r == -1, "%s accepted", arg);
		ck_assert_msg(strstr(last_msg, expect) != NULL, "%s: '%s' lacks '%s'", arg, last_msg,
			      expect);
	}
}

START_TEST(test_parse_names)
{
	parse("pkcs11:token=my%20tok;object=dev%2dx;id=%0a%01", 1, NULL);
	ck_assert_str_eq(tok.label, "dev-x");
	ck_assert_uint_eq(tok.id_len, 2);
	ck_assert_int_eq(tok.id[0], 0x0a);
	ck_assert_int_eq(tok.id[1], 0x01);
	ck_assert_str_eq(tok.record, "pkcs11:token=my%20tok;object=dev%2dx;id=%0a%01");
	ck_assert_str_eq(tok.url, tok.record);
	ck_assert_int_eq(tok.pin_in_url, 0);
	parse("pkcs11:id=%ff", 1, NULL);
	ck_assert_str_eq(tok.label, "");
	ck_assert_uint_eq(tok.id_len, 1);
	parse("PKCS11:object=k;type=private", 1, NULL);
	ck_assert_str_eq(tok.label, "k");
}
END_TEST

START_TEST(test_parse_pin_value_not_recorded)
{
	parse("pkcs11:token=t;object=o?pin-value=12%334&module-name=softhsm2", 1, NULL);
	ck_assert_int_eq(tok.pin_in_url, 1);
	ck_assert_str_eq(tok.url, "pkcs11:token=t;object=o?pin-value=12%334&module-name=softhsm2");
	ck_assert_str_eq(tok.record, "pkcs11:token=t;object=o?module-name=softhsm2");
	parse("pkcs11:token=t;object=o?module-name=m&pin-value=1234", 1, NULL);
	ck_assert_str_eq(tok.record, "pkcs11:token=t;object=o?module-name=m");
	parse("pkcs11:token=t;object=o?pin-value=1234", 1, NULL);
	ck_assert_str_eq(tok.record, "pkcs11:token=t;object=o");
	/* pin-source is a file's name, not the PIN: it stays. */
	parse("pkcs11:object=o?pin-source=file:/etc/pin", 1, NULL);
	ck_assert_int_eq(tok.pin_in_url, 1);
	ck_assert_str_eq(tok.record, "pkcs11:object=o?pin-source=file:/etc/pin");
}
END_TEST

START_TEST(test_parse_refusals)
{
	char longurl[P11KEY_URL_MAX + 16];

	parse("file:///etc/key.pem", 0, "not a pkcs11: URL");
	parse("/etc/key.pem", 0, "not a pkcs11: URL");
	parse("pkcs11:token=t", 0, "name the key with object=LABEL or id=");
	parse("pkcs11:token=t;object=", 0, "name the key with object=LABEL or id=");
	parse("pkcs11:token=t;object=o;type=cert", 0, "type=cert: the key is a private key");
	parse("pkcs11:object=a%zz", 0, "attribute 'object' has a bad percent-escape");
	parse("pkcs11:object=a%4", 0, "bad percent-escape");
	parse("pkcs11:object=a%00b", 0, "object= is too long or holds a NUL byte");
	parse("pkcs11:object=a b", 0, "holds a space");
	parse("pkcs11:object=a\nb", 0, "control character");
	parse("pkcs11:token;object=o", 0, "an attribute has no '=value'");
	/* A PIN in the path would be recorded: refused, and never quoted. */
	parse("pkcs11:token=t;object=o;pin-value=1234", 0, "go after '?', not in the path");
	ck_assert_ptr_null(strstr(last_msg, "1234"));
	parse("pkcs11:object=o;pin-source=file:/p", 0, "go after '?', not in the path");
	parse("pkcs11;object=o?pin-value=5678", 0, "not a pkcs11: URL");
	ck_assert_ptr_null(strstr(last_msg, "5678"));
	parse("pkcs11:object=o;pin-value:9012", 0, "an attribute has no '=value'");
	ck_assert_ptr_null(strstr(last_msg, "9012"));
	memset(longurl, 'a', sizeof(longurl) - 1);
	longurl[sizeof(longurl) - 1] = '\0';
	memcpy(longurl, "pkcs11:object=", 14);
	parse(longurl, 0, "longer than");
}
END_TEST

/* A fresh directory for the record and key tests. */
static char dir[64];

static void
mkdir_fresh(void)
{
	snprintf(dir, sizeof(dir), "/tmp/lanca-devkey.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
rm_dir(void)
{
	ck_assert_int_eq(fileio_remove_tree(dir), 0);
}

/* The whole of dir/name as a string (malloc'd). */
static char *
slurp(const char *name)
{
	gnutls_datum_t d = { NULL, 0 };

	ck_assert_int_eq(device_file_read(dir, name, 65536, 0, &d), 0);
	return (char *)d.data;
}

START_TEST(test_record_round_trip)
{
	struct p11key_ref back;
	struct stat st;
	char path[256], *text;

	mkdir_fresh();
	parse("pkcs11:token=t;object=dev;id=%01?pin-value=secret-pin", 1, NULL);
	snprintf(tok.module, sizeof(tok.module), "/usr/lib/softhsm/libsofthsm2.so");
	snprintf(tok.pin_file, sizeof(tok.pin_file), "/etc/lanca/pin");
	ck_assert_int_eq(devkey_token_write(&tok, dir, DEVKEY_TOKEN_FILE), 0);
	text = slurp(DEVKEY_TOKEN_FILE);
	ck_assert_str_eq(text, P11KEY_RECORD_HEAD "url=pkcs11:token=t;object=dev;id=%01\n"
			       "module=/usr/lib/softhsm/libsofthsm2.so\n"
			       "pin-file=/etc/lanca/pin\n");
	ck_assert_ptr_null(strstr(text, "secret-pin"));
	free(text);
	snprintf(path, sizeof(path), "%s/%s", dir, DEVKEY_TOKEN_FILE);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);

	memset(&back, 0, sizeof(back));
	ck_assert_int_eq(devkey_token_read(dir, DEVKEY_TOKEN_FILE, &back), 0);
	ck_assert_str_eq(back.url, "pkcs11:token=t;object=dev;id=%01");
	ck_assert_str_eq(back.record, back.url);
	ck_assert_str_eq(back.label, "dev");
	ck_assert_uint_eq(back.id_len, 1);
	ck_assert_str_eq(back.module, tok.module);
	ck_assert_str_eq(back.pin_file, tok.pin_file);
	ck_assert_int_eq(back.pin_in_url, 0);

	/* Without a module or a PIN file: the URL line alone. */
	tok.module[0] = tok.pin_file[0] = '\0';
	ck_assert_int_eq(devkey_token_write(&tok, dir, DEVKEY_TOKEN_FILE), 0);
	text = slurp(DEVKEY_TOKEN_FILE);
	ck_assert_str_eq(text, P11KEY_RECORD_HEAD "url=pkcs11:token=t;object=dev;id=%01\n");
	free(text);
	memset(&back, 0, sizeof(back));
	ck_assert_int_eq(devkey_token_read(dir, DEVKEY_TOKEN_FILE, &back), 0);
	ck_assert_str_eq(back.module, "");
	ck_assert_str_eq(back.pin_file, "");

	/* A path that would break the record's lines is refused. */
	snprintf(tok.pin_file, sizeof(tok.pin_file), "/etc/pin\nurl=pkcs11:object=evil");
	ck_assert_int_eq(devkey_token_write(&tok, dir, DEVKEY_TOKEN_FILE), -1);
	ck_assert_ptr_nonnull(strstr(last_msg, "control character"));
	rm_dir();
}
END_TEST

/* Writes text as dir/key.token and expects devkey_token_read to refuse it
 * with a message holding expect. */
static void
bad_record(const char *text, const char *expect)
{
	struct p11key_ref t;

	ck_assert_int_eq(device_file_write(dir, DEVKEY_TOKEN_FILE, text, strlen(text), 0600), 0);
	memset(&t, 0, sizeof(t));
	last_msg[0] = '\0';
	ck_assert_msg(devkey_token_read(dir, DEVKEY_TOKEN_FILE, &t) == -1, "accepted: %s", text);
	ck_assert_msg(strstr(last_msg, expect) != NULL, "'%s' lacks '%s'", last_msg, expect);
}

START_TEST(test_record_refusals)
{
	mkdir_fresh();
	bad_record("", "not a token key record");
	bad_record("module=/m.so\n", "not a token key record");
	bad_record("url=pkcs11:object=o", "not a token key record");	/* no newline */
	bad_record("url=pkcs11:object=o\nkey=-----BEGIN\n", "not a token key record");
	bad_record("url=file:///k.pem\n", "the recorded URL is not usable");
	bad_record("url=pkcs11:object=o\nurl=pkcs11:object=p\n", "each once");
	bad_record("url=pkcs11:object=o\nallow=relative\n", "absolute module=");
	bad_record("url=pkcs11:token=t\n", "the recorded URL is not usable");
	/* It names a library to load: relative paths, a record others may
	 * write, and a module others may write are refused. */
	bad_record("url=pkcs11:object=o\nmodule=libsofthsm2.so\n", "absolute module=");
	bad_record("url=pkcs11:object=o\npin-file=pin.txt\n", "absolute module=");
	{
		char mod[160], evil[128], path[128];
		struct p11key_ref t;

		snprintf(evil, sizeof(evil), "%s/evil.so", dir);
		snprintf(mod, sizeof(mod), "url=pkcs11:object=o\nmodule=%s\n", evil);
		ck_assert_int_eq(device_file_write(dir, "evil.so", "x", 1, 0600), 0);
		ck_assert_int_eq(chmod(evil, 0666), 0);
		bad_record(mod, "only its owner may write");
		/* The record itself, writable by others. */
		ck_assert_int_eq(device_file_write(dir, DEVKEY_TOKEN_FILE, "url=pkcs11:object=o\n", 20,
						   0600), 0);
		snprintf(path, sizeof(path), "%s/%s", dir, DEVKEY_TOKEN_FILE);
		ck_assert_int_eq(chmod(path, 0622), 0);
		memset(&t, 0, sizeof(t));
		last_msg[0] = '\0';
		ck_assert_int_eq(devkey_token_read(dir, DEVKEY_TOKEN_FILE, &t), -1);
		ck_assert_msg(strstr(last_msg, "only its owner may write") != NULL, "%s", last_msg);
	}
	rm_dir();
}
END_TEST

/* The SHA-256 key id of k into id (32 bytes). */
static void
key_id(const struct devkey *k, unsigned char id[32])
{
	size_t n = 32;

	ck_assert_int_eq(devkey_key_id(k->priv, id, &n), 0);
	ck_assert_uint_eq(n, 32);
}

START_TEST(test_file_key_path)
{
	struct devkey k = { NULL, 0 }, back = { NULL, 0 };
	gnutls_x509_crq_t crq = NULL;
	gnutls_datum_t csr = { NULL, 0 };
	struct device_sans sans;
	unsigned char a[32], b[32];
	unsigned bits = 0;
	struct stat st;
	char path[256], *text;

	mkdir_fresh();
	memset(&sans, 0, sizeof(sans));
	ck_assert_int_eq(devkey_load_dir(dir, NULL, &back), 1);
	ck_assert_int_eq(devkey_in_dir(dir), 0);

	ck_assert_int_eq(devkey_generate(&k), 0);
	ck_assert_int_eq(k.token, 0);
	ck_assert_int_eq(gnutls_privkey_get_pk_algorithm(k.priv, &bits), GNUTLS_PK_ECDSA);
	ck_assert_int_eq(devkey_write_file(&k, dir, DEVKEY_FILE), 0);
	text = slurp(DEVKEY_FILE);
	ck_assert_ptr_nonnull(strstr(text, "-----BEGIN PRIVATE KEY-----"));	/* PKCS#8 */
	free(text);
	snprintf(path, sizeof(path), "%s/%s", dir, DEVKEY_FILE);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);

	ck_assert_int_eq(devkey_in_dir(dir), 1);
	ck_assert_int_eq(devkey_load_dir(dir, NULL, &back), 0);
	ck_assert_int_eq(back.token, 0);
	key_id(&k, a);
	key_id(&back, b);
	ck_assert_mem_eq(a, b, 32);

	/* The request the loaded key signs carries its key and verifies. */
	ck_assert_int_eq(device_sans_add_dns(&sans, "dev.local"), 0);
	ck_assert_int_eq(device_csr(back.priv, "dev", &sans, NULL, &csr), 0);
	ck_assert_int_eq(gnutls_x509_crq_init(&crq), 0);
	ck_assert_int_eq(gnutls_x509_crq_import(crq, &csr, GNUTLS_X509_FMT_DER), 0);
	ck_assert_int_eq(gnutls_x509_crq_verify(crq, 0), 0);
	{
		size_t n = sizeof(b);

		ck_assert_int_eq(gnutls_x509_crq_get_key_id(crq, GNUTLS_KEYID_USE_SHA256, b, &n), 0);
		ck_assert_uint_eq(n, 32);
		ck_assert_mem_eq(a, b, 32);
	}
	gnutls_x509_crq_deinit(crq);
	gnutls_free(csr.data);
	devkey_free(&k);
	devkey_free(&back);
	devkey_free(&back);	/* NULL-safe */

	/* --pin-file or --pkcs11-module with a key file is a mistake. */
	{
		struct p11key_ref over;

		memset(&over, 0, sizeof(over));
		snprintf(over.pin_file, sizeof(over.pin_file), "/etc/pin");
		ck_assert_int_eq(devkey_load_dir(dir, &over, &back), -1);
		ck_assert_ptr_nonnull(strstr(last_msg, "are for a key in a token"));
		ck_assert_ptr_null(back.priv);
	}

	/* A key file that is not a key is refused, naming it. */
	ck_assert_int_eq(device_file_write(dir, DEVKEY_FILE, "junk\n", 5, 0600), 0);
	ck_assert_int_eq(devkey_load_dir(dir, NULL, &back), -1);
	ck_assert_ptr_nonnull(strstr(last_msg, DEVKEY_FILE));
	ck_assert_ptr_null(back.priv);
	rm_dir();
}
END_TEST

/* Writes text (n bytes) as dir/pin and reads it as --pin-file does. */
static int
read_pin(const char *text, size_t n, gnutls_datum_t *d, size_t *len)
{
	char path[256];

	ck_assert_int_eq(device_file_write(dir, "pin", text, n, 0600), 0);
	snprintf(path, sizeof(path), "%s/pin", dir);
	last_msg[0] = '\0';
	return device_secret_read("--pin-file", "PIN", path, 1, P11KEY_PIN_MAX, d, len);
}

START_TEST(test_pin_file)
{
	gnutls_datum_t d;
	size_t len = 0;
	char big[P11KEY_PIN_MAX + 2];

	mkdir_fresh();
	ck_assert_int_eq(read_pin("4711\r\n", 6, &d, &len), 0);
	ck_assert_uint_eq(len, 4);
	ck_assert_str_eq((const char *)d.data, "4711");	/* NUL-terminated for GnuTLS */
	device_file_free(&d, 1);
	ck_assert_int_eq(read_pin("pin with spaces", 15, &d, &len), 0);
	ck_assert_uint_eq(len, 15);
	device_file_free(&d, 1);
	ck_assert_int_eq(read_pin("\n", 1, &d, &len), -1);
	ck_assert_ptr_nonnull(strstr(last_msg, "want a PIN of 1 to 255 bytes, not 0"));
	ck_assert_ptr_null(d.data);
	ck_assert_int_eq(read_pin("12\n34\n", 6, &d, &len), -1);
	ck_assert_ptr_nonnull(strstr(last_msg, "the PIN holds a control character"));
	memset(big, '7', sizeof(big));
	ck_assert_int_eq(read_pin(big, P11KEY_PIN_MAX + 1, &d, &len), -1);
	ck_assert_ptr_nonnull(strstr(last_msg, "want a PIN of 1 to 255 bytes, not 256"));
	ck_assert_int_eq(device_secret_read("--pin-file", "PIN", "/nonexistent/pin", 1, 8, &d, &len),
			 -1);
	ck_assert_ptr_nonnull(strstr(last_msg, "--pin-file: "));
	rm_dir();
}
END_TEST

static Suite *
devkey_suite(void)
{
	Suite *s = suite_create("client_devkey");
	TCase *tc = tcase_create("devkey");

	tcase_add_test(tc, test_parse_names);
	tcase_add_test(tc, test_parse_pin_value_not_recorded);
	tcase_add_test(tc, test_parse_refusals);
	tcase_add_test(tc, test_record_round_trip);
	tcase_add_test(tc, test_record_refusals);
	tcase_add_test(tc, test_file_key_path);
	tcase_add_test(tc, test_pin_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(devkey_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
