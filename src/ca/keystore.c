/*
 * keystore.c - CA private keys on disk and in memory (see keystore.h).
 *
 * Key files are PKCS#8 PEM, mode 0600, written once and never replaced.
 * Loading reads the file into sodium_malloc'd (locked, guarded) memory,
 * hands it to GnuTLS and wipes it on every path, so the key's encoding and
 * the passphrase never sit in ordinary heap memory on our side.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include <sodium.h>

#include "common/fileio.h"
#include "common/lerr.h"
#include "common/p11key.h"
#include "ca/keystore.h"

#define KEYSTORE_FILE_MAX	(64 * 1024)	/* a key file larger than this is not ours */

static const struct {
	const char *name;
	enum keystore_type type;
} keystore_types[] = {
	{ "ecdsa-p256", KEYSTORE_ECDSA_P256 },
	{ "ecdsa-p384", KEYSTORE_ECDSA_P384 },
	{ "rsa-3072", KEYSTORE_RSA_3072 },
};

int
keystore_type_parse(const char *s, enum keystore_type *t)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(keystore_types) / sizeof(keystore_types[0]); i++) {
		if (strcmp(s, keystore_types[i].name) == 0) {
			*t = keystore_types[i].type;
			return 0;
		}
	}
	return -1;
}

/* The algorithm and size (GnuTLS's bits) of key type t. */
static int
keystore_gen_params(enum keystore_type t, gnutls_pk_algorithm_t *pk, unsigned *bits,
		    struct lerr *e)
{
	switch (t) {
	case KEYSTORE_ECDSA_P256:
		*pk = GNUTLS_PK_ECDSA;
		*bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1);
		return 0;
	case KEYSTORE_ECDSA_P384:
		*pk = GNUTLS_PK_ECDSA;
		*bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1);
		return 0;
	case KEYSTORE_RSA_3072:
		*pk = GNUTLS_PK_RSA;
		*bits = 3072;
		return 0;
	}
	return lerr_set(e, LERR_INTERNAL, "unknown key type %d", (int)t);
}

/* See keystore.h. */
int
keystore_generate(enum keystore_type t, gnutls_x509_privkey_t *out, struct lerr *e)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_pk_algorithm_t pk = GNUTLS_PK_UNKNOWN;
	unsigned bits = 0;
	int ret, rc = -1;

	*out = NULL;
	if (keystore_gen_params(t, &pk, &bits, e) != 0)
		goto out;
	if ((ret = gnutls_x509_privkey_init(&key)) < 0 ||
	    (ret = gnutls_x509_privkey_generate2(key, pk, bits, 0, NULL, 0)) < 0) {
		lerr_set(e, LERR_INTERNAL, "generating key: %s", gnutls_strerror(ret));
		goto out;
	}
	*out = key;
	key = NULL;
	rc = 0;
out:
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

/* fsyncs the directory holding path, so that a new file's name is as
 * durable as its bytes. 0 or -1 with errno. */
static int
keystore_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash;
	size_t len;
	int fd, ret, saved;

	slash = strrchr(path, '/');
	if (slash == NULL) {
		dir[0] = '.';
		dir[1] = '\0';
	} else {
		len = slash == path ? 1 : (size_t)(slash - path);
		if (len >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, len);
		dir[len] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

/* Creates path (it must not exist; a symlink there is not followed) with
 * mode 0600 and writes len bytes to it durably. A file this call created
 * is removed again if anything fails, so a failed write never leaves a
 * half key behind that would block the next attempt. 0 or -1 with e. */
static int
keystore_write_new(const char *path, const unsigned char *data, size_t len, struct lerr *e)
{
	size_t done = 0;
	ssize_t w;
	int fd = -1, created = 0, rc = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			lerr_set(e, LERR_CONFLICT, "key file %s already exists: not replacing it",
				 path);
		else
			lerr_set(e, LERR_INTERNAL, "creating key file %s: %s", path,
				 strerror(errno));
		goto out;
	}
	created = 1;
	/* The umask may have taken bits away; the mode must be exactly 0600. */
	if (fchmod(fd, 0600) != 0) {
		lerr_set(e, LERR_INTERNAL, "chmod %s: %s", path, strerror(errno));
		goto out;
	}
	while (done < len) {
		w = write(fd, data + done, len - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			lerr_set(e, LERR_INTERNAL, "writing %s: %s", path, strerror(errno));
			goto out;
		}
		done += (size_t)w;
	}
	if (fsync(fd) != 0) {
		lerr_set(e, LERR_INTERNAL, "fsync %s: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		lerr_set(e, LERR_INTERNAL, "closing %s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (keystore_sync_dir(path) != 0) {
		lerr_set(e, LERR_INTERNAL, "fsync of the directory of %s: %s", path,
			 strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && created)
		unlink(path);
	return rc;
}

/* See keystore.h. The PEM export is wiped before it is freed. */
int
keystore_write(const char *path, gnutls_x509_privkey_t key, const char *pass, struct lerr *e)
{
	gnutls_datum_t pem = { NULL, 0 };
	unsigned flags;
	int ret, rc = -1;

	if (pass != NULL && pass[0] == '\0') {
		lerr_set(e, LERR_BAD_REQUEST, "empty passphrase for %s", path);
		goto out;
	}
	flags = pass != NULL ? GNUTLS_PKCS_PBES2_AES_256 : GNUTLS_PKCS_PLAIN;
	if ((ret = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, pass, flags,
						     &pem)) < 0) {
		lerr_set(e, LERR_INTERNAL, "encoding key for %s: %s", path,
			 gnutls_strerror(ret));
		goto out;
	}
	if (keystore_write_new(path, pem.data, pem.size, e) != 0)
		goto out;
	rc = 0;
out:
	if (pem.data != NULL) {
		gnutls_memset(pem.data, 0, pem.size);
		gnutls_free(pem.data);
	}
	return rc;
}

/* Reads up to cap bytes from fd into buf; *got is how many. Stops at EOF.
 * 0 or -1 with errno. */
static int
keystore_read_all(int fd, unsigned char *buf, size_t cap, size_t *got)
{
	ssize_t r;

	*got = 0;
	while (*got < cap) {
		r = read(fd, buf + *got, cap - *got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return 0;
}

/* ---- keys in a PKCS#11 token ---- */

/* The token this process opened keys in: GnuTLS's PKCS#11 layer and its
 * PIN callback are one per process, so there is one module and one PIN,
 * held (in locked memory) as long as the process may sign. */
static struct {
	struct p11key_ref *ref;		/* the first record loaded; NULL: none */
	char *pin;			/* keystore_pass_read's; NULL: none */
} keystore_tok;

/* Starts the PKCS#11 layer for r, once per process, and reads its PIN. */
static int
keystore_token_start(const struct p11key_ref *r, struct lerr *e)
{
	struct p11key_ref *keep;

	if (keystore_tok.ref != NULL) {
		if (!p11key_same_access(keystore_tok.ref, r))
			return lerr_set(e, LERR_BAD_REQUEST, "%s: another PKCS#11 module, PIN file or "
					"token paths than %s's: one process reaches its tokens one way",
					r->record, keystore_tok.ref->record);
		return 0;
	}
	/* Loading it runs its code with the keys in reach. */
	if (r->module[0] != '\0' && p11key_file_trusted("PKCS#11 module", r->module, e) != 0)
		return -1;
	if ((keep = malloc(sizeof(*keep))) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	*keep = *r;
	/* Only the URL without its PIN is kept. */
	memcpy(keep->url, keep->record, sizeof(keep->url));
	if (r->pin_file[0] != '\0') {
		if (keystore_pass_read(r->pin_file, &keystore_tok.pin, e) != 0)
			goto fail;
		if (strlen(keystore_tok.pin) > P11KEY_PIN_MAX) {
			lerr_set(e, LERR_TOO_LARGE, "the PIN in %s is longer than %d bytes",
				 r->pin_file, P11KEY_PIN_MAX);
			goto fail;
		}
	}
	if (p11key_start(r->module, e) != 0)
		goto fail;
	if (keystore_tok.pin != NULL)
		p11key_pin_set((const unsigned char *)keystore_tok.pin, strlen(keystore_tok.pin));
	keystore_tok.ref = keep;
	return 0;
fail:
	keystore_pass_free(keystore_tok.pin);
	keystore_tok.pin = NULL;
	free(keep);
	return -1;
}

enum keystore_kind
keystore_kind(const unsigned char *data, size_t len, char *url)
{
	struct p11key_ref *r;
	struct lerr ignored;

	if (url != NULL)
		url[0] = '\0';
	if (data == NULL || !p11key_is_record(data, len))
		return data != NULL && memmem(data, len, "ENCRYPTED PRIVATE KEY", 21) != NULL ?
		       KEYSTORE_KIND_ENCRYPTED : KEYSTORE_KIND_FILE;
	if (url != NULL && (r = malloc(sizeof(*r))) != NULL) {
		if (p11key_record_parse("key", data, len, r, &ignored) == 0)
			memcpy(url, r->record, P11KEY_URL_MAX);
		free(r);
	}
	return KEYSTORE_KIND_TOKEN;
}

const char *
keystore_kind_name(enum keystore_kind k)
{
	return k == KEYSTORE_KIND_TOKEN ? "PKCS#11 token" :
	       k == KEYSTORE_KIND_ENCRYPTED ? "encrypted file" : "file";
}

const struct p11key_ref *
keystore_token(void)
{
	return keystore_tok.ref;
}

/* Opens the key the record at text (the file path) names. */
static int
keystore_token_load(const char *path, const unsigned char *text, size_t len,
		    gnutls_privkey_t *out, struct lerr *e)
{
	struct p11key_ref *r;
	char why[sizeof(e->msg)];
	int rc = -1;

	if ((r = malloc(sizeof(*r))) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	if (p11key_record_parse(path, text, len, r, e) != 0 ||
	    keystore_token_start(r, e) != 0)
		goto out;
	if (p11key_open(r, NULL, out, NULL, e) != 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		lerr_set(e, e->code, "%s names a key in a PKCS#11 token: %s", path, why);
		goto out;
	}
	rc = 0;
out:
	gnutls_memset(r, 0, sizeof(*r));
	free(r);
	return rc;
}

int
keystore_token_ref(const char *opt, const char *url, const char *pin_file, const char *module,
		   const char *const *allow, size_t nallow, struct p11key_ref *r, struct lerr *e)
{
	const char *paths[2 + P11KEY_ALLOW_MAX];
	char *dst[2 + P11KEY_ALLOW_MAX];
	char cwd[PATH_MAX];
	struct stat st;
	size_t i, n = 0;
	int w;

	memset(r, 0, sizeof(*r));
	if (p11key_url_parse(opt, url, r, e) != 0)
		return -1;
	/* The signer reads its PIN from a file it checks; a PIN in the
	 * URL would show in the process list now and be gone at the start. */
	if (r->pin_in_url) {
		gnutls_memset(r, 0, sizeof(*r));
		return lerr_set(e, LERR_BAD_REQUEST, "%s: a CA key's PIN goes in --pin-file, not in "
				"the URL (pin-value, pin-source)", opt);
	}
	if (nallow > P11KEY_ALLOW_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "at most %d --token-path options",
				P11KEY_ALLOW_MAX);
	paths[n] = pin_file;
	dst[n++] = r->pin_file;
	paths[n] = module;
	dst[n++] = r->module;
	for (i = 0; i < nallow; i++) {
		paths[n] = allow[i];
		dst[n++] = r->allow[i];
	}
	r->nallow = nallow;
	/* The record is read from elsewhere later (the signer, a restore):
	 * absolute paths, of what exists now. */
	for (i = 0; i < n; i++) {
		if (paths[i] == NULL)
			continue;
		if (stat(paths[i], &st) != 0)
			return lerr_set(e, LERR_NOT_FOUND, "%s: %s", paths[i], strerror(errno));
		/* Links stay as they are: a module's link follows the
		 * library's upgrades. */
		if (paths[i][0] == '/')
			w = snprintf(dst[i], PATH_MAX, "%s", paths[i]);
		else if (getcwd(cwd, sizeof(cwd)) == NULL)
			return lerr_set(e, LERR_INTERNAL, "the current directory: %s", strerror(errno));
		else
			w = snprintf(dst[i], PATH_MAX, "%s/%s", cwd, paths[i]);
		if (w < 0 || w >= PATH_MAX)
			return lerr_set(e, LERR_BAD_REQUEST, "%s: path too long", paths[i]);
	}
	/* Before anything is made in the token. */
	for (i = 0; i < nallow; i++)
		if (p11key_allow_ok(r->allow[i], e) != 0)
			return -1;
	return 0;
}

/* Writes r as the record at path (0600, never replacing a file). */
int
keystore_token_write(const char *path, const struct p11key_ref *r, struct lerr *e)
{
	char text[P11KEY_RECORD_MAX];
	long n;

	n = p11key_record_format(r, text, sizeof(text), e);
	if (n < 0)
		return -1;
	return keystore_write_new(path, (const unsigned char *)text, (size_t)n, e);
}

int
keystore_token_make(const char *path, const struct p11key_ref *r, enum keystore_type t,
		    gnutls_privkey_t *out, int *made, struct lerr *e)
{
	struct p11key_gen gen = { GNUTLS_PK_UNKNOWN, 0, 0 };
	int m = 0;

	*out = NULL;
	if (keystore_gen_params(t, &gen.pk, &gen.bits, e) != 0)
		return -1;
	gen.usage = GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN | GNUTLS_KEY_DIGITAL_SIGNATURE;
	if (keystore_token_start(r, e) != 0 || p11key_open(r, &gen, out, &m, e) != 0)
		return -1;
	if (made != NULL)
		*made = m;
	/* A key found there was made by someone else, maybe exportable. */
	if (!m && p11key_check_kept(r, e) != 0) {
		gnutls_privkey_deinit(*out);
		*out = NULL;
		return -1;
	}
	if (keystore_token_write(path, r, e) != 0) {
		gnutls_privkey_deinit(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int
keystore_token_open(const struct p11key_ref *r, gnutls_privkey_t *out, struct lerr *e)
{
	*out = NULL;
	if (keystore_token_start(r, e) != 0)
		return -1;
	return p11key_open(r, NULL, out, NULL, e);
}

int
keystore_token_copy(const struct p11key_ref *r, gnutls_x509_privkey_t key,
		    gnutls_privkey_t *out, struct lerr *e)
{
	*out = NULL;
	if (keystore_token_start(r, e) != 0 ||
	    p11key_copy(r, key, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN |
			GNUTLS_KEY_DIGITAL_SIGNATURE, e) != 0)
		return -1;
	return p11key_open(r, NULL, out, NULL, e);
}

/* See keystore.h. The file's bytes live in sodium_malloc'd memory and are
 * wiped and freed on every path; *out is new, the caller deinits it.
 * Messages name the file as path (dirfd's name). */
int
keystore_load_at(int dirfd, const char *path, const char *pass, gnutls_privkey_t *out,
		 struct lerr *e)
{
	gnutls_x509_privkey_t xkey = NULL;
	gnutls_privkey_t key = NULL;
	unsigned char *data = NULL;
	size_t size = 0, alloc = 0, got;
	gnutls_x509_crt_fmt_t fmt;
	gnutls_datum_t d;
	int fd = -1, ret, rc = -1;

	*out = NULL;
	if (sodium_init() < 0) {
		lerr_set(e, LERR_INTERNAL, "libsodium failed to initialise");
		goto out;
	}
	fd = fileio_open_read_at(dirfd, path, "key file", 077, KEYSTORE_FILE_MAX, &size, e);
	if (fd < 0)
		goto out;
	/* One byte more than fstat said, to notice a file that grew. */
	alloc = size + 1;
	if ((data = sodium_malloc(alloc)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of locked memory reading %s", path);
		goto out;
	}
	if (keystore_read_all(fd, data, alloc, &got) != 0) {
		lerr_set(e, LERR_INTERNAL, "reading %s: %s", path, strerror(errno));
		goto out;
	}
	if (got != size) {
		lerr_set(e, LERR_INTERNAL, "key file %s changed while it was read", path);
		goto out;
	}
	if (got == 0) {
		lerr_set(e, LERR_BAD_REQUEST, "key file %s is empty", path);
		goto out;
	}
	if (p11key_is_record(data, got)) {
		rc = keystore_token_load(path, data, got, out, e);
		goto out;
	}
	fmt = got >= 5 && memcmp(data, "-----", 5) == 0 ? GNUTLS_X509_FMT_PEM
							 : GNUTLS_X509_FMT_DER;
	d.data = data;
	d.size = (unsigned)got;
	if ((ret = gnutls_x509_privkey_init(&xkey)) < 0) {
		lerr_set(e, LERR_INTERNAL, "key: %s", gnutls_strerror(ret));
		goto out;
	}
	ret = gnutls_x509_privkey_import2(xkey, &d, fmt, pass, 0);
	if (ret == GNUTLS_E_DECRYPTION_FAILED && pass != NULL) {
		lerr_set(e, LERR_BAD_REQUEST, "wrong passphrase for %s", path);
		goto out;
	}
	if (ret == GNUTLS_E_DECRYPTION_FAILED) {
		lerr_set(e, LERR_BAD_REQUEST,
			 "key file %s is encrypted and no passphrase was given", path);
		goto out;
	}
	if (ret < 0) {
		lerr_set(e, LERR_BAD_REQUEST, "key file %s is not a usable private key: %s",
			 path, gnutls_strerror(ret));
		goto out;
	}
	if ((ret = gnutls_privkey_init(&key)) < 0 ||
	    (ret = gnutls_privkey_import_x509(key, xkey,
					      GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE)) < 0) {
		lerr_set(e, LERR_INTERNAL, "key from %s: %s", path, gnutls_strerror(ret));
		goto out;
	}
	xkey = NULL;	/* key owns it now */
	*out = key;
	key = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (data != NULL) {
		sodium_memzero(data, alloc);
		sodium_free(data);
	}
	if (key != NULL)
		gnutls_privkey_deinit(key);
	if (xkey != NULL)
		gnutls_x509_privkey_deinit(xkey);
	return rc;
}

int
keystore_load(const char *path, const char *pass, gnutls_privkey_t *out, struct lerr *e)
{
	return keystore_load_at(AT_FDCWD, path, pass, out, e);
}

/* See keystore.h. The passphrase file gets the same checks as a key file
 * (regular, no symlink, mode without group/other bits). The line is cut
 * in place: *pass is the sodium_malloc'd buffer itself, with everything
 * after the first line wiped. */
int
keystore_pass_read(const char *path, char **pass, struct lerr *e)
{
	/* The longest passphrase, its "\r\n", and one byte to see more. */
	const size_t cap = KEYSTORE_PASS_MAX + 3;
	unsigned char *buf = NULL;
	unsigned char *nl;
	size_t size, got, len;
	int fd = -1, rc = -1;

	*pass = NULL;
	if (sodium_init() < 0) {
		lerr_set(e, LERR_INTERNAL, "libsodium failed to initialise");
		goto out;
	}
	/* Only the first line counts, so a long file is not an error by
	 * itself; still, a passphrase file is never large. */
	fd = fileio_open_read_at(AT_FDCWD, path, "passphrase file", 077, KEYSTORE_FILE_MAX, &size,
				 e);
	if (fd < 0)
		goto out;
	if ((buf = sodium_malloc(cap + 1)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of locked memory reading %s", path);
		goto out;
	}
	if (keystore_read_all(fd, buf, cap, &got) != 0) {
		lerr_set(e, LERR_INTERNAL, "reading %s: %s", path, strerror(errno));
		goto out;
	}
	nl = memchr(buf, '\n', got);
	len = nl != NULL ? (size_t)(nl - buf) : got;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len > KEYSTORE_PASS_MAX) {
		lerr_set_http(e, LERR_TOO_LARGE, 413, "passphrase in %s is longer than %d bytes",
			 path, KEYSTORE_PASS_MAX);
		goto out;
	}
	if (len == 0) {
		lerr_set(e, LERR_BAD_REQUEST, "passphrase file %s is empty", path);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		lerr_set(e, LERR_BAD_REQUEST, "passphrase in %s contains a NUL byte", path);
		goto out;
	}
	sodium_memzero(buf + len, cap + 1 - len);
	*pass = (char *)buf;
	buf = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (buf != NULL) {
		sodium_memzero(buf, cap + 1);
		sodium_free(buf);
	}
	return rc;
}

void
keystore_pass_free(char *pass)
{
	if (pass == NULL)
		return;
	sodium_memzero(pass, strlen(pass));
	sodium_free(pass);
}

/* See keystore.h. */
int
keystore_pubkey(gnutls_privkey_t key, gnutls_pubkey_t *out, struct lerr *e)
{
	gnutls_pubkey_t pub = NULL;
	int ret, rc = -1;

	*out = NULL;
	if ((ret = gnutls_pubkey_init(&pub)) < 0 ||
	    (ret = gnutls_pubkey_import_privkey(pub, key, 0, 0)) < 0) {
		lerr_set(e, LERR_INTERNAL, "public key: %s", gnutls_strerror(ret));
		goto out;
	}
	*out = pub;
	pub = NULL;
	rc = 0;
out:
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}
