/*
 * files.c - the signer's own files in keys/ (see files.h).
 *
 * The signer trusts nothing the daemon can write: under `serve --user`
 * the daemon's user owns the state directory and the store, so the
 * certificates and settings the signer works from live beside its keys,
 * in root's keys/, and are read only when they are root's (the reading
 * user's) and writable by nobody else. keys/ is opened and checked once
 * per operation, and every file in it is read and written relative to
 * that descriptor (signer_keys_open says why).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "ca/auditseal.h"
#include "ca/backupfile.h"
#include "ca/keystore.h"
#include "ca/x509.h"
#include "common/fileio.h"
#include "signer/files.h"

#define SIGNER_CERT_MAX		(64 * 1024)
#define SIGNER_CONF_MAX		(16 * 1024)

/* The files files.c writes and reads, besides the keys. */
static const char *const signer_file_names[] = {
	SIGNER_ROOT_PEM_NAME, SIGNER_ISSUING_PEM_NAME, SIGNER_CONF_NAME,
};

void
signer_adopt_free(struct signer_adopt *a)
{
	if (a == NULL)
		return;
	gnutls_free(a->root.data);
	gnutls_free(a->issuing.data);
	memset(a, 0, sizeof(*a));
}

/* 0 if url is a CRL URL lanca will put in a leaf (see files.h). */
static int
signer_url_ok(const char *url, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	if (len >= SIGNER_CRL_URL_MAX || len <= 7 || strncmp(url, "http://", 7) != 0)
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return -1;
	return 0;
}

int
signer_conf_init(struct signer_conf *c, const char *crl_url, struct lerr *e)
{
	size_t len = crl_url != NULL ? strlen(crl_url) : 0;

	memset(c, 0, sizeof(*c));
	if (signer_url_ok(crl_url, len) != 0)
		return lerr_set(e, LERR_BAD_REQUEST,
				"CRL URL must be http://, printable, without spaces and "
				"shorter than %d bytes", SIGNER_CRL_URL_MAX);
	if (len > 0)
		memcpy(c->crl_url, crl_url, len + 1);
	return 0;
}

int
signer_conf_parse(const char *name, const char *text, size_t len, struct signer_conf *c,
		  struct lerr *e)
{
	const char *line = text, *end = text + len, *nl, *eq, *v, *vend;
	size_t n, klen, lineno = 0;
	int have_url = 0;

	memset(c, 0, sizeof(*c));
	while (line < end) {
		lineno++;
		nl = memchr(line, '\n', (size_t)(end - line));
		n = (size_t)((nl != NULL ? nl : end) - line);
		if (n > SIGNER_CONF_LINE_MAX)
			return lerr_set(e, LERR_BAD_REQUEST, "%s line %zu: longer than %d bytes",
					name, lineno, SIGNER_CONF_LINE_MAX);
		for (v = line; v < line + n; v++)
			if ((unsigned char)*v < 0x20 || (unsigned char)*v == 0x7f)
				return lerr_set(e, LERR_BAD_REQUEST,
						"%s line %zu: a control character", name, lineno);
		if (n == 0 || line[0] == '#')
			goto next;
		eq = memchr(line, '=', n);
		if (eq == NULL)
			return lerr_set(e, LERR_BAD_REQUEST, "%s line %zu: not \"key = value\"",
					name, lineno);
		for (klen = (size_t)(eq - line); klen > 0 && line[klen - 1] == ' '; klen--)
			;
		for (v = eq + 1; v < line + n && *v == ' '; v++)
			;
		for (vend = line + n; vend > v && vend[-1] == ' '; vend--)
			;
		if (klen == 7 && memcmp(line, "crl_url", 7) == 0) {
			if (have_url)
				return lerr_set(e, LERR_BAD_REQUEST, "%s line %zu: crl_url set twice",
						name, lineno);
			if (signer_url_ok(v, (size_t)(vend - v)) != 0)
				return lerr_set(e, LERR_BAD_REQUEST,
						"%s line %zu: crl_url is not an http:// URL "
						"shorter than %d bytes", name, lineno,
						SIGNER_CRL_URL_MAX);
			memcpy(c->crl_url, v, (size_t)(vend - v));
			c->crl_url[vend - v] = '\0';
			have_url = 1;
		} else {
			return lerr_set(e, LERR_BAD_REQUEST, "%s line %zu: unknown setting \"%.*s\"",
					name, lineno, (int)(klen > 64 ? 64 : klen), line);
		}
next:
		line += n + (nl != NULL ? 1 : 0);
	}
	if (!have_url)
		return lerr_set(e, LERR_BAD_REQUEST, "%s: no crl_url line", name);
	return 0;
}

int
signer_conf_format(const struct signer_conf *c, struct buf *b)
{
	return buf_printf(b,
			  "# The lanca signer's settings (written by lanca init; see files.h).\n"
			  "crl_url = %s\n", c->crl_url);
}

/*
 * Opens dir/keys once for everything that follows: a directory (never a
 * symlink) of the effective user's that nobody else may write. Under
 * `serve --user` that user owns dir and may rename its entries at any
 * time, so every file in keys/ is opened relative to this descriptor:
 * checking keys/ by path and then opening keys/<file> by path would read
 * whatever keys/ had become in between. Returns the descriptor (the
 * caller closes it) or -1 with e.
 */
int
signer_keys_open(const char *dir, struct lerr *e)
{
	char path[SIGNER_PATH_MAX];
	struct stat st;
	int fd;

	if (fileio_join(path, sizeof(path), dir, SIGNER_KEYS_DIR) != 0)
		return lerr_set(e, LERR_INTERNAL, "state directory path too long");
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			return lerr_set(e, LERR_BAD_REQUEST,
					"%s is not a directory (a symbolic link is not followed)",
					path);
		return lerr_set(e, errno == ENOENT ? LERR_NOT_FOUND : LERR_INTERNAL, "%s: %s",
				path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		lerr_set(e, LERR_INTERNAL, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fileio_check_owned(&st, path, "key directory", 022, e) != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* Puts "dir/keys: " before e's message, which names a file of keys/ by
 * its name only (the *_at functions see no more). Returns -1. */
static int
signer_keys_where(const char *dir, struct lerr *e)
{
	char why[sizeof(e->msg)];

	snprintf(why, sizeof(why), "%s", e->msg);
	return lerr_set_http(e, e->code, e->http, "%s/%s: %s", dir, SIGNER_KEYS_DIR, why);
}

/* Writes keys' name unless only_missing and it exists. */
static int
signer_write_one(int keys, const char *dir, const char *name, const void *p, size_t n,
		 mode_t mode, int only_missing, struct lerr *e)
{
	struct stat st;

	if (only_missing && fstatat(keys, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (fileio_write_atomic_at(keys, name, p, n, mode, 1, e) != 0)
		return signer_keys_where(dir, e);
	return 0;
}

/* Reads audit.key from keys into sk (64 bytes). A private file of the
 * reading user only, as the CA keys are. 0 or -1 with e. */
static int
signer_read_audit_key(int keys, const char *dir, unsigned char *sk, struct lerr *e)
{
	char text[AUDITSEAL_KEY_TEXT_MAX];
	size_t size = 0, got = 0;
	ssize_t n;
	int fd, rc = -1;

	fd = fileio_open_read_at(keys, SIGNER_AUDIT_KEY_NAME, "audit key", 077, sizeof(text) - 1,
				 &size, e);
	if (fd < 0)
		return signer_keys_where(dir, e);
	while (got < size) {
		n = read(fd, text + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			lerr_set(e, LERR_INTERNAL, "%s/%s: %s", dir, SIGNER_AUDIT_KEY,
				 n < 0 ? strerror(errno) : "shorter than it was");
			goto out;
		}
		got += (size_t)n;
	}
	if (auditseal_sk_parse(SIGNER_AUDIT_KEY, text, got, sk, e) != 0)
		goto out;
	rc = 0;
out:
	sodium_memzero(text, sizeof(text));
	close(fd);
	return rc;
}

/* signer_files_audit_key on the descriptor keys of dir/keys. */
static int
signer_audit_key_at(int keys, const char *dir, struct lerr *e)
{
	char seed[AUDITSEAL_KEY_TEXT_MAX], pub[AUDITSEAL_KEY_TEXT_MAX];
	unsigned char *sk = NULL;
	struct stat st;
	int rc = -1;

	if (fstatat(keys, SIGNER_AUDIT_KEY_NAME, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT) {
			lerr_set(e, LERR_INTERNAL, "%s/%s: %s", dir, SIGNER_AUDIT_KEY,
				 strerror(errno));
			goto out;
		}
		/* The public half first: a key left without it is given it
		 * below on the next start; a public key left without its key
		 * refuses to be overwritten, for the admin to look at. */
		if (auditseal_keygen(seed, pub, e) != 0 ||
		    signer_write_one(keys, dir, SIGNER_AUDIT_PUB_NAME, pub, strlen(pub), 0644, 0,
				     e) != 0 ||
		    signer_write_one(keys, dir, SIGNER_AUDIT_KEY_NAME, seed, strlen(seed), 0600, 0,
				     e) != 0)
			goto out;
		rc = 0;
		goto out;
	}
	if (fstatat(keys, SIGNER_AUDIT_PUB_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		rc = 0;
		goto out;
	}
	if ((sk = sodium_malloc(AUDITSEAL_SK_LEN)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (signer_read_audit_key(keys, dir, sk, e) != 0)
		goto out;
	auditseal_pk_text(sk, pub);
	if (signer_write_one(keys, dir, SIGNER_AUDIT_PUB_NAME, pub, strlen(pub), 0644, 1, e) != 0)
		goto out;
	rc = 0;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_free(sk);
	return rc;
}

int
signer_files_audit_key(const char *dir, struct lerr *e)
{
	int keys, rc;

	keys = signer_keys_open(dir, e);
	if (keys < 0)
		return -1;
	rc = signer_audit_key_at(keys, dir, e);
	close(keys);
	return rc;
}

/* signer_files_write into the descriptor keys of dir/keys. */
static int
signer_write_at(int keys, const char *dir, gnutls_x509_crt_t root, gnutls_x509_crt_t issuing,
		const struct signer_conf *c, int only_missing, struct lerr *e)
{
	gnutls_datum_t rpem = { NULL, 0 }, ipem = { NULL, 0 };
	struct buf b;
	int rc = -1;

	buf_init(&b, SIGNER_CONF_MAX);
	if (x509_export_pem(root, &rpem) != 0 || x509_export_pem(issuing, &ipem) != 0 ||
	    signer_conf_format(c, &b) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the signer's files");
		goto out;
	}
	if (signer_write_one(keys, dir, SIGNER_ROOT_PEM_NAME, rpem.data, rpem.size, 0644,
			     only_missing, e) != 0 ||
	    signer_write_one(keys, dir, SIGNER_ISSUING_PEM_NAME, ipem.data, ipem.size, 0644,
			     only_missing, e) != 0 ||
	    signer_write_one(keys, dir, SIGNER_CONF_NAME, b.data, b.len, 0600, only_missing,
			     e) != 0 ||
	    signer_audit_key_at(keys, dir, e) != 0)
		goto out;
	rc = 0;
out:
	gnutls_free(rpem.data);
	gnutls_free(ipem.data);
	buf_free(&b);
	return rc;
}

int
signer_files_write(const char *dir, gnutls_x509_crt_t root, gnutls_x509_crt_t issuing,
		   const struct signer_conf *c, int only_missing, struct lerr *e)
{
	int keys, rc;

	keys = signer_keys_open(dir, e);
	if (keys < 0)
		return -1;
	rc = signer_write_at(keys, dir, root, issuing, c, only_missing, e);
	close(keys);
	return rc;
}

/* How many of the files are missing from the descriptor keys. */
static int
signer_missing_at(int keys)
{
	struct stat st;
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(signer_file_names) / sizeof(signer_file_names[0]); i++)
		if (fstatat(keys, signer_file_names[i], &st, AT_SYMLINK_NOFOLLOW) != 0 &&
		    errno == ENOENT)
			n++;
	return n;
}

int
signer_files_missing(const char *dir)
{
	char path[SIGNER_PATH_MAX];
	int keys, n;

	if (fileio_join(path, sizeof(path), dir, SIGNER_KEYS_DIR) != 0)
		return 0;
	keys = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (keys < 0)
		return errno == ENOENT ? (int)(sizeof(signer_file_names) /
					       sizeof(signer_file_names[0])) : 0;
	n = signer_missing_at(keys);
	close(keys);
	return n;
}

/* Reads the certificate keys' name into *out. 0 or -1 with e. */
static int
signer_read_cert(int keys, const char *dir, const char *name, gnutls_x509_crt_t *out,
		 struct lerr *e)
{
	unsigned char *p = NULL;
	size_t n = 0;
	int rc = -1;

	if (fileio_read_owned_at(keys, name, "certificate", SIGNER_CERT_MAX, &p, &n, e) != 0) {
		signer_keys_where(dir, e);
		goto out;
	}
	if (x509_import(p, n, out, e) != 0) {
		lerr_set(e, LERR_INVARIANT, "%s/%s/%s is not a certificate", dir,
			 SIGNER_KEYS_DIR, name);
		goto out;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

/* Reads and parses signer.conf from keys into c. 0 or -1 with e. */
static int
signer_read_conf(int keys, const char *dir, struct signer_conf *c, struct lerr *e)
{
	char path[SIGNER_PATH_MAX];
	unsigned char *p = NULL;
	size_t n = 0;
	int rc = -1;

	if (fileio_join(path, sizeof(path), dir, SIGNER_CONF) != 0) {
		lerr_set(e, LERR_INTERNAL, "state directory path too long");
		goto out;
	}
	if (fileio_read_owned_at(keys, SIGNER_CONF_NAME, "settings file", SIGNER_CONF_MAX, &p, &n,
				 e) != 0) {
		signer_keys_where(dir, e);
		goto out;
	}
	if (signer_conf_parse(path, (const char *)p, n, c, e) != 0)
		goto out;
	rc = 0;
out:
	free(p);
	return rc;
}

/* Loads the key keys' name, decrypted with pass, into *key. */
static int
signer_read_key(int keys, const char *dir, const char *name, const char *pass,
		gnutls_privkey_t *key, struct lerr *e)
{
	if (keystore_load_at(keys, name, pass, key, e) != 0)
		return signer_keys_where(dir, e);
	return 0;
}

int
signer_files_read(const char *dir, const char *pass, struct signer_files *f, struct lerr *e)
{
	int keys = -1, rc = -1;

	memset(f, 0, sizeof(*f));
	keys = signer_keys_open(dir, e);
	if (keys < 0)
		goto out;
	if (signer_read_cert(keys, dir, SIGNER_ROOT_PEM_NAME, &f->root, e) != 0 ||
	    signer_read_cert(keys, dir, SIGNER_ISSUING_PEM_NAME, &f->issuing, e) != 0 ||
	    signer_read_conf(keys, dir, &f->conf, e) != 0 ||
	    signer_read_key(keys, dir, SIGNER_ISSUING_KEY_NAME, pass, &f->key, e) != 0)
		goto out;
	if ((f->audit_sk = sodium_malloc(AUDITSEAL_SK_LEN)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (signer_read_audit_key(keys, dir, f->audit_sk, e) != 0)
		goto out;
	/* The generation a rollover succeeded, all three or none. */
	if (faccessat(keys, SIGNER_PREV_ISSUING_PEM_NAME, F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (signer_read_cert(keys, dir, SIGNER_PREV_ROOT_PEM_NAME, &f->prev_root, e) != 0 ||
	     signer_read_cert(keys, dir, SIGNER_PREV_ISSUING_PEM_NAME, &f->prev_issuing, e) != 0 ||
	     signer_read_key(keys, dir, SIGNER_PREV_ISSUING_KEY_NAME, pass, &f->prev_key, e) != 0))
		goto out;
	rc = 0;
out:
	if (keys >= 0)
		close(keys);
	if (rc != 0)
		signer_files_free(f);
	return rc;
}

void
signer_files_free(struct signer_files *f)
{
	if (f == NULL)
		return;
	if (f->root != NULL)
		gnutls_x509_crt_deinit(f->root);
	if (f->issuing != NULL)
		gnutls_x509_crt_deinit(f->issuing);
	if (f->key != NULL)
		gnutls_privkey_deinit(f->key);
	if (f->prev_root != NULL)
		gnutls_x509_crt_deinit(f->prev_root);
	if (f->prev_issuing != NULL)
		gnutls_x509_crt_deinit(f->prev_issuing);
	if (f->prev_key != NULL)
		gnutls_privkey_deinit(f->prev_key);
	sodium_free(f->audit_sk);	/* wipes it; NULL-safe */
	memset(f, 0, sizeof(*f));
}

/* Loads keys' name (decrypted with pass) and checks it is crt's key. */
static int
signer_prove_key(int keys, const char *dir, const char *name, const char *pass,
		 gnutls_x509_crt_t crt, const char *what, struct lerr *e)
{
	gnutls_privkey_t key = NULL;
	int rc = -1;

	if (signer_read_key(keys, dir, name, pass, &key, e) != 0)
		goto out;
	if (x509_key_matches(key, crt, what, e) != 0) {
		lerr_set(e, LERR_INVARIANT, "the store's %s certificate is not for %s/%s/%s", what,
			 dir, SIGNER_KEYS_DIR, name);
		goto out;
	}
	rc = 0;
out:
	if (key != NULL)
		gnutls_privkey_deinit(key);
	return rc;
}

int
signer_files_adopt(const char *dir, const char *pass, const struct signer_adopt *a,
		   struct lerr *e)
{
	gnutls_x509_crt_t root = NULL, issuing = NULL;
	struct signer_conf conf;
	char why[sizeof(e->msg)];
	int keys = -1, rc = -1;

	/* Checked like the load path's, and the one directory everything
	 * below reads its keys from and writes the chain into. */
	keys = signer_keys_open(dir, e);
	if (keys < 0)
		goto out;
	/* A state directory older than the audit key gets one now. */
	if (signer_audit_key_at(keys, dir, e) != 0)
		goto out;
	if (signer_missing_at(keys) == 0) {
		rc = 0;
		goto out;
	}
	if (a == NULL || a->root.data == NULL || a->issuing.data == NULL) {
		lerr_set(e, LERR_NOT_FOUND, "%s/%s is missing and nothing was offered to recreate it",
			 dir, SIGNER_ISSUING_PEM);
		goto out;
	}
	if (x509_import(a->root.data, a->root.size, &root, e) != 0 ||
	    x509_import(a->issuing.data, a->issuing.size, &issuing, e) != 0)
		goto out;
	if (x509_verify_ca_chain(root, issuing, e) != 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		lerr_set(e, LERR_INVARIANT, "cannot recreate %s/keys: the store's CA chain: %s",
			 dir, why);
		goto out;
	}
	if (signer_prove_key(keys, dir, SIGNER_ROOT_KEY_NAME, pass, root, "root", e) != 0 ||
	    signer_prove_key(keys, dir, SIGNER_ISSUING_KEY_NAME, pass, issuing, "issuing", e) != 0 ||
	    signer_conf_init(&conf, a->crl_url, e) != 0 ||
	    signer_write_at(keys, dir, root, issuing, &conf, 1, e) != 0)
		goto out;
	rc = 0;
out:
	if (keys >= 0)
		close(keys);
	if (root != NULL)
		gnutls_x509_crt_deinit(root);
	if (issuing != NULL)
		gnutls_x509_crt_deinit(issuing);
	return rc;
}

const struct signer_backup_file signer_backup_files[] = {
	{ SIGNER_ROOT_KEY, 0600, 1, 1 },
	{ SIGNER_ISSUING_KEY, 0600, 1, 1 },
	{ SIGNER_ROOT_PEM, 0644, 1, 0 },
	{ SIGNER_ISSUING_PEM, 0644, 1, 0 },
	{ SIGNER_CONF, 0600, 1, 0 },
	{ SIGNER_AUDIT_KEY, 0600, 1, 1 },
	{ SIGNER_AUDIT_PUB, 0644, 1, 0 },
	{ SIGNER_KEYS_DIR "/" SIGNER_PREV_ROOT_PEM_NAME, 0644, 0, 0 },
	{ SIGNER_KEYS_DIR "/" SIGNER_PREV_ISSUING_PEM_NAME, 0644, 0, 0 },
	{ SIGNER_KEYS_DIR "/" SIGNER_PREV_ISSUING_KEY_NAME, 0600, 0, 1 },
	{ SIGNER_KEYS_DIR "/" SIGNER_PREV_ROOT_KEY_NAME, 0600, 0, 1 },
};
const size_t signer_backup_nfiles = sizeof(signer_backup_files) / sizeof(signer_backup_files[0]);

int
signer_files_seal(const char *dir, const struct bkf_recipient *to,
		  const struct bkf_author *author, unsigned char **blob, size_t *len, struct lerr *e)
{
	char path[SIGNER_PATH_MAX];
	unsigned char *data = NULL, size[8];
	struct bkf_writer *w = NULL;
	struct stat st;
	struct lerr fe;
	size_t n, i, off, k;
	int fd, rc = -1;

	*blob = NULL;
	*len = 0;
	/* The stream goes to memory: a file of no name, never on a disk. */
	fd = memfd_create("lanca-sealed-keys", MFD_CLOEXEC);
	if (fd < 0)
		return lerr_set(e, LERR_INTERNAL, "memfd_create: %s", strerror(errno));
	if (bkf_writer_new(fd, to, &w, e) != 0)
		goto out;
	for (i = 0; i < signer_backup_nfiles; i++) {
		if (fileio_join(path, sizeof(path), dir, signer_backup_files[i].name) != 0) {
			lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
			goto out;
		}
		if (fileio_read(path, SIGNER_SEALED_KEYS_MAX, 1, &data, &n, &fe) != 0) {
			if (fe.code == LERR_NOT_FOUND && !signer_backup_files[i].required)
				continue;
			*e = fe;
			goto out;
		}
		for (k = 0; k < 8; k++)
			size[k] = (unsigned char)((uint64_t)n >> (56 - 8 * k));
		if (bkf_put(w, BKF_FILE, signer_backup_files[i].name, size, sizeof(size), e) != 0)
			goto out;
		for (off = 0; off < n; off += k) {
			k = n - off < BKF_DATA_MAX ? n - off : BKF_DATA_MAX;
			if (bkf_put(w, BKF_DATA, NULL, data + off, k, e) != 0)
				goto out;
		}
		fileio_free_secret(data, n);
		data = NULL;
	}
	if (bkf_finish(w, bkf_tag_author, (void *)author, e) != 0)
		goto out;
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > SIGNER_SEALED_KEYS_MAX) {
		lerr_set(e, LERR_TOO_LARGE, "keys/ sealed for a backup is %lld bytes, over the %d "
			 "a backup takes", (long long)st.st_size, SIGNER_SEALED_KEYS_MAX);
		goto out;
	}
	*blob = malloc((size_t)st.st_size);
	if (*blob == NULL || pread(fd, *blob, (size_t)st.st_size, 0) != st.st_size) {
		free(*blob);
		*blob = NULL;
		lerr_set(e, LERR_INTERNAL, "reading back the sealed keys");
		goto out;
	}
	*len = (size_t)st.st_size;
	rc = 0;
out:
	if (data != NULL)
		fileio_free_secret(data, n);
	bkf_writer_free(w);
	close(fd);
	return rc;
}
