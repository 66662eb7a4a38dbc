/*
 * test_keystore.c - key generation, PKCS#8 files, loading and passphrases.
 *
 * Every test works in its own temporary directory. A loaded key is proved
 * to be the written one by signing with it and verifying with the public
 * half of the key that was generated.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <sodium.h>

#include "ca/keystore.h"
#include "common/lerr.h"

static char tmpdir[64];

static void
tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_keystore.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int
tmp_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes our mkdtemp directory; symlinks are removed, not followed. */
static void
tmp_teardown(void)
{
	if (nftw(tmpdir, tmp_remove_one, 8, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static void
tmp_path(char *out, size_t n, const char *name)
{
	int w = snprintf(out, n, "%s/%s", tmpdir, name);

	ck_assert(w > 0 && (size_t)w < n);
}

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* Reads a small file into a static buffer (NUL-terminated). */
static const char *
slurp(const char *path)
{
	static char buf[16384];
	ssize_t r;
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	r = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_ge(r, 0);
	buf[r] = '\0';
	close(fd);
	return buf;
}

/* Signs a message with loaded and verifies it with the public half of
 * orig; also checks that a different message does not verify. */
static void
assert_same_key(gnutls_privkey_t loaded, gnutls_x509_privkey_t orig)
{
	gnutls_privkey_t opk;
	gnutls_pubkey_t pub;
	gnutls_datum_t msg = { (unsigned char *)"lanca test message", 18 };
	gnutls_datum_t other = { (unsigned char *)"lanca test messagE", 18 };
	gnutls_datum_t sig = { NULL, 0 };
	gnutls_sign_algorithm_t salg;
	int pk;

	ck_assert_int_eq(gnutls_privkey_init(&opk), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(opk, orig, 0), 0);
	ck_assert_int_eq(gnutls_pubkey_init(&pub), 0);
	ck_assert_int_eq(gnutls_pubkey_import_privkey(pub, opk, 0, 0), 0);

	pk = gnutls_privkey_get_pk_algorithm(loaded, NULL);
	ck_assert_int_eq(pk, gnutls_x509_privkey_get_pk_algorithm(orig));
	salg = gnutls_pk_to_sign(pk, GNUTLS_DIG_SHA256);
	ck_assert_int_eq(gnutls_privkey_sign_data2(loaded, salg, 0, &msg, &sig), 0);
	ck_assert_int_ge(gnutls_pubkey_verify_data2(pub, salg, 0, &msg, &sig), 0);
	ck_assert_int_lt(gnutls_pubkey_verify_data2(pub, salg, 0, &other, &sig), 0);

	gnutls_free(sig.data);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(opk);
}

static void
assert_mode_0600(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
}

START_TEST(test_type_parse)
{
	enum keystore_type t = 0;

	ck_assert_int_eq(keystore_type_parse("ecdsa-p256", &t), 0);
	ck_assert_int_eq(t, KEYSTORE_ECDSA_P256);
	ck_assert_int_eq(keystore_type_parse("ecdsa-p384", &t), 0);
	ck_assert_int_eq(t, KEYSTORE_ECDSA_P384);
	ck_assert_int_eq(keystore_type_parse("rsa-3072", &t), 0);
	ck_assert_int_eq(t, KEYSTORE_RSA_3072);
	ck_assert_int_eq(keystore_type_parse("ecdsa-p521", &t), -1);
	ck_assert_int_eq(keystore_type_parse("ECDSA-P256", &t), -1);
	ck_assert_int_eq(keystore_type_parse("", &t), -1);
	ck_assert_int_eq(keystore_type_parse(NULL, &t), -1);
}
END_TEST

static const enum keystore_type all_types[] = {
	KEYSTORE_ECDSA_P256, KEYSTORE_ECDSA_P384, KEYSTORE_RSA_3072,
};

/* Generate, write plain and encrypted, load both back, prove the keys. */
START_TEST(test_roundtrip)
{
	enum keystore_type t = all_types[_i];
	gnutls_x509_privkey_t key = NULL;
	gnutls_privkey_t loaded = NULL;
	char plain[128], enc[128];
	unsigned bits = 0;
	struct lerr e;
	int pk;

	ck_assert_int_eq(keystore_generate(t, &key, &e), 0);
	pk = gnutls_x509_privkey_get_pk_algorithm2(key, &bits);
	switch (t) {
	case KEYSTORE_ECDSA_P256:
		ck_assert_int_eq(pk, GNUTLS_PK_ECDSA);
		ck_assert_uint_eq(bits, 256);
		break;
	case KEYSTORE_ECDSA_P384:
		ck_assert_int_eq(pk, GNUTLS_PK_ECDSA);
		ck_assert_uint_eq(bits, 384);
		break;
	case KEYSTORE_RSA_3072:
		ck_assert_int_eq(pk, GNUTLS_PK_RSA);
		ck_assert_uint_eq(bits, 3072);
		break;
	}

	tmp_path(plain, sizeof(plain), "plain.key");
	tmp_path(enc, sizeof(enc), "enc.key");
	ck_assert_int_eq(keystore_write(plain, key, NULL, &e), 0);
	ck_assert_int_eq(keystore_write(enc, key, "correct horse", &e), 0);
	assert_mode_0600(plain);
	assert_mode_0600(enc);
	ck_assert_ptr_nonnull(strstr(slurp(plain), "-----BEGIN PRIVATE KEY-----"));
	ck_assert_ptr_nonnull(strstr(slurp(enc), "-----BEGIN ENCRYPTED PRIVATE KEY-----"));

	ck_assert_int_eq(keystore_load(plain, NULL, &loaded, &e), 0);
	assert_same_key(loaded, key);
	gnutls_privkey_deinit(loaded);
	loaded = NULL;

	ck_assert_int_eq(keystore_load(enc, "correct horse", &loaded, &e), 0);
	assert_same_key(loaded, key);
	gnutls_privkey_deinit(loaded);

	gnutls_x509_privkey_deinit(key);
}
END_TEST

/* The encryption really is PBES2 with AES-256. */
START_TEST(test_encryption_scheme)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t d;
	unsigned schema = 0, cipher = 0, salt_size = 64, iter = 0;
	unsigned char salt[64];
	char *oid = NULL;
	const char *pem;
	char path[128];
	struct lerr e;

	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &key, &e), 0);
	tmp_path(path, sizeof(path), "enc.key");
	ck_assert_int_eq(keystore_write(path, key, "pw", &e), 0);
	pem = slurp(path);
	d.data = (unsigned char *)pem;
	d.size = (unsigned)strlen(pem);
	ck_assert_int_eq(gnutls_pkcs8_info(&d, GNUTLS_X509_FMT_PEM, &schema, &cipher,
					   salt, &salt_size, &iter, &oid), 0);
	ck_assert_uint_ge(iter, 10000);
	gnutls_free(oid);
	ck_assert_uint_eq(schema, GNUTLS_PKCS_PBES2_AES_256);
	ck_assert_uint_eq(cipher, GNUTLS_CIPHER_AES_256_CBC);
	gnutls_x509_privkey_deinit(key);
}
END_TEST

START_TEST(test_mode_despite_umask)
{
	gnutls_x509_privkey_t key = NULL;
	char path[128];
	struct lerr e;
	mode_t old;

	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &key, &e), 0);
	tmp_path(path, sizeof(path), "umask.key");
	old = umask(0277);
	ck_assert_int_eq(keystore_write(path, key, NULL, &e), 0);
	umask(old);
	assert_mode_0600(path);
	gnutls_x509_privkey_deinit(key);
}
END_TEST

START_TEST(test_wrong_passphrase)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_privkey_t loaded = NULL;
	char path[128];
	struct lerr e;

	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &key, &e), 0);
	tmp_path(path, sizeof(path), "enc.key");
	ck_assert_int_eq(keystore_write(path, key, "right", &e), 0);

	lerr_clear(&e);
	ck_assert_int_eq(keystore_load(path, "wrong", &loaded, &e), -1);
	ck_assert_ptr_null(loaded);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_ptr_nonnull(strstr(e.msg, "wrong passphrase for"));
	ck_assert_ptr_nonnull(strstr(e.msg, path));

	lerr_clear(&e);
	ck_assert_int_eq(keystore_load(path, NULL, &loaded, &e), -1);
	ck_assert_ptr_null(loaded);
	ck_assert_ptr_nonnull(strstr(e.msg, "encrypted"));

	/* An empty passphrase is not a passphrase. */
	ck_assert_int_eq(keystore_write(path, key, "", &e), -1);
	gnutls_x509_privkey_deinit(key);
}
END_TEST

START_TEST(test_loose_mode_refused)
{
	/* Each refusal names what is wrong: a file only group-writable is
	 * not "readable". */
	static const struct {
		mode_t mode;
		const char *want;
	} modes[] = {
		{ 0644, "readable by group or others: chmod 600" },
		{ 0640, "readable by group or others: chmod 600" },
		{ 0604, "readable by group or others: chmod 600" },
		{ 0660, "readable by group or others: chmod 600" },
		{ 0620, "writable by group or others: chmod go-w" },
		{ 0602, "writable by group or others: chmod go-w" },
		{ 0601, "has permissions for group or others: chmod 600" },
	};
	gnutls_x509_privkey_t key = NULL;
	gnutls_privkey_t loaded = NULL;
	char path[128];
	struct lerr e;
	size_t i;

	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &key, &e), 0);
	tmp_path(path, sizeof(path), "loose.key");
	ck_assert_int_eq(keystore_write(path, key, NULL, &e), 0);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		ck_assert_int_eq(chmod(path, modes[i].mode), 0);
		lerr_clear(&e);
		ck_assert_int_eq(keystore_load(path, NULL, &loaded, &e), -1);
		ck_assert_ptr_null(loaded);
		ck_assert_msg(strstr(e.msg, modes[i].want) != NULL, "%o: %s", modes[i].mode, e.msg);
	}
	/* 0400 is fine: only the owner can read it. */
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_int_eq(keystore_load(path, NULL, &loaded, &e), 0);
	gnutls_privkey_deinit(loaded);
	gnutls_x509_privkey_deinit(key);
}
END_TEST

START_TEST(test_never_overwrite)
{
	gnutls_x509_privkey_t key = NULL;
	char path[128], target[128], link[128];
	struct lerr e;

	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &key, &e), 0);
	tmp_path(path, sizeof(path), "exists.key");
	write_file(path, "old contents\n", 13, 0600);
	lerr_clear(&e);
	ck_assert_int_eq(keystore_write(path, key, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_str_eq(slurp(path), "old contents\n");

	/* A symlink at the path is neither followed nor replaced, even a
	 * dangling one. */
	tmp_path(target, sizeof(target), "target");
	tmp_path(link, sizeof(link), "link.key");
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(keystore_write(link, key, NULL, &e), -1);
	ck_assert_int_eq(access(target, F_OK), -1);

	/* Writing twice to a fresh path: the second attempt fails. */
	tmp_path(path, sizeof(path), "twice.key");
	ck_assert_int_eq(keystore_write(path, key, NULL, &e), 0);
	ck_assert_int_eq(keystore_write(path, key, "pw", &e), -1);
	ck_assert_ptr_null(strstr(slurp(path), "ENCRYPTED"));
	gnutls_x509_privkey_deinit(key);
}
END_TEST

START_TEST(test_bad_files_refused)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_privkey_t loaded = NULL;
	char path[128], link[128];
	static char big[70 * 1024];
	struct lerr e;

	tmp_path(path, sizeof(path), "garbage.key");
	write_file(path, "this is not a key\n", 18, 0600);
	lerr_clear(&e);
	ck_assert_int_eq(keystore_load(path, NULL, &loaded, &e), -1);
	ck_assert_ptr_null(loaded);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);

	/* Armour around garbage. */
	tmp_path(path, sizeof(path), "armour.key");
	write_file(path, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		   59, 0600);
	ck_assert_int_eq(keystore_load(path, NULL, &loaded, &e), -1);

	tmp_path(path, sizeof(path), "empty.key");
	write_file(path, "", 0, 0600);
	ck_assert_int_eq(keystore_load(path, NULL, &loaded, &e), -1);

	tmp_path(path, sizeof(path), "big.key");
	memset(big, 'A', sizeof(big));
	write_file(path, big, sizeof(big), 0600);
	lerr_clear(&e);
	ck_assert_int_eq(keystore_load(path, NULL, &loaded, &e), -1);
	ck_assert_int_eq(e.code, LERR_TOO_LARGE);

	/* A directory is not a key file. */
	tmp_path(path, sizeof(path), "dir.key");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(keystore_load(path, NULL, &loaded, &e), -1);

	tmp_path(path, sizeof(path), "missing.key");
	lerr_clear(&e);
	ck_assert_int_eq(keystore_load(path, NULL, &loaded, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);

	/* A symlink to a good key is not followed. */
	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P256, &key, &e), 0);
	tmp_path(path, sizeof(path), "good.key");
	ck_assert_int_eq(keystore_write(path, key, NULL, &e), 0);
	tmp_path(link, sizeof(link), "via-link.key");
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(keystore_load(link, NULL, &loaded, &e), -1);
	ck_assert_ptr_null(loaded);
	ck_assert_int_eq(keystore_load(path, NULL, &loaded, &e), 0);
	gnutls_privkey_deinit(loaded);
	gnutls_x509_privkey_deinit(key);
}
END_TEST

/* Reads a passphrase file written with the given bytes; returns the
 * keystore_pass_read result and leaves the passphrase in *pass. */
static int
pass_from(const char *bytes, size_t len, mode_t mode, char **pass, struct lerr *e)
{
	char path[128];
	static unsigned n;
	char name[32];

	snprintf(name, sizeof(name), "pass%u", n++);
	tmp_path(path, sizeof(path), name);
	write_file(path, bytes, len, mode);
	return keystore_pass_read(path, pass, e);
}

START_TEST(test_pass_read)
{
	char *pass = NULL;
	static char longpass[KEYSTORE_PASS_MAX + 8];
	struct lerr e;

	ck_assert_int_eq(pass_from("secret\n", 7, 0600, &pass, &e), 0);
	ck_assert_str_eq(pass, "secret");
	keystore_pass_free(pass);

	ck_assert_int_eq(pass_from("secret\r\nsecond line\n", 20, 0600, &pass, &e), 0);
	ck_assert_str_eq(pass, "secret");
	keystore_pass_free(pass);

	ck_assert_int_eq(pass_from("no newline", 10, 0400, &pass, &e), 0);
	ck_assert_str_eq(pass, "no newline");
	keystore_pass_free(pass);

	ck_assert_int_eq(pass_from("  spaces kept \n", 15, 0600, &pass, &e), 0);
	ck_assert_str_eq(pass, "  spaces kept ");
	keystore_pass_free(pass);

	pass = (char *)"sentinel";
	ck_assert_int_eq(pass_from("", 0, 0600, &pass, &e), -1);
	ck_assert_ptr_null(pass);
	ck_assert_ptr_nonnull(strstr(e.msg, "empty"));
	ck_assert_int_eq(pass_from("\n", 1, 0600, &pass, &e), -1);
	ck_assert_int_eq(pass_from("\r\nafter", 7, 0600, &pass, &e), -1);

	/* Exactly KEYSTORE_PASS_MAX bytes, with and without line ends. */
	memset(longpass, 'p', sizeof(longpass));
	ck_assert_int_eq(pass_from(longpass, KEYSTORE_PASS_MAX, 0600, &pass, &e), 0);
	ck_assert_uint_eq(strlen(pass), KEYSTORE_PASS_MAX);
	keystore_pass_free(pass);
	longpass[KEYSTORE_PASS_MAX] = '\r';
	longpass[KEYSTORE_PASS_MAX + 1] = '\n';
	ck_assert_int_eq(pass_from(longpass, KEYSTORE_PASS_MAX + 2, 0600, &pass, &e), 0);
	ck_assert_uint_eq(strlen(pass), KEYSTORE_PASS_MAX);
	keystore_pass_free(pass);
	memset(longpass, 'p', sizeof(longpass));
	lerr_clear(&e);
	ck_assert_int_eq(pass_from(longpass, KEYSTORE_PASS_MAX + 1, 0600, &pass, &e), -1);
	ck_assert_int_eq(e.code, LERR_TOO_LARGE);
	ck_assert_int_eq(pass_from(longpass, sizeof(longpass), 0600, &pass, &e), -1);

	/* A passphrase file others can read is refused like a key file. */
	ck_assert_int_eq(pass_from("secret\n", 7, 0644, &pass, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "chmod 600"));

	ck_assert_int_eq(pass_from("nul\0byte\n", 9, 0600, &pass, &e), -1);

	keystore_pass_free(NULL);
}
END_TEST

/* The whole path the signer takes: passphrase file, encrypted key. */
START_TEST(test_pass_file_with_key)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_privkey_t loaded = NULL;
	gnutls_pubkey_t pub = NULL;
	unsigned char id1[64], id2[64];
	size_t n1 = sizeof(id1), n2 = sizeof(id2);
	char *pass = NULL, path[128];
	struct lerr e;

	ck_assert_int_eq(pass_from("hunter2 hunter2\n", 16, 0600, &pass, &e), 0);
	ck_assert_int_eq(keystore_generate(KEYSTORE_ECDSA_P384, &key, &e), 0);
	tmp_path(path, sizeof(path), "ca.key");
	ck_assert_int_eq(keystore_write(path, key, pass, &e), 0);
	ck_assert_int_eq(keystore_load(path, pass, &loaded, &e), 0);
	keystore_pass_free(pass);
	assert_same_key(loaded, key);

	ck_assert_int_eq(keystore_pubkey(loaded, &pub, &e), 0);
	ck_assert_int_eq(gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, id1, &n1), 0);
	ck_assert_int_eq(gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, id2, &n2), 0);
	ck_assert_uint_eq(n1, n2);
	ck_assert_mem_eq(id1, id2, n1);

	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(loaded);
	gnutls_x509_privkey_deinit(key);
}
END_TEST

static Suite *
keystore_suite(void)
{
	Suite *s = suite_create("keystore");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_type_parse);
	tcase_add_loop_test(tc, test_roundtrip, 0,
			    (int)(sizeof(all_types) / sizeof(all_types[0])));
	tcase_add_test(tc, test_encryption_scheme);
	tcase_add_test(tc, test_mode_despite_umask);
	tcase_add_test(tc, test_wrong_passphrase);
	tcase_add_test(tc, test_loose_mode_refused);
	tcase_add_test(tc, test_never_overwrite);
	tcase_add_test(tc, test_bad_files_refused);
	tcase_add_test(tc, test_pass_read);
	tcase_add_test(tc, test_pass_file_with_key);
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
	sr = srunner_create(keystore_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
