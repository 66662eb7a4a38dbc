/*
 * state.c - the state directory's layout and the public side of the CA
 * hierarchy the daemon serves (see state.h). `lanca init`, which creates
 * the directory, is init.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "common/dburl.h"
#include "common/fileio.h"
#include "common/log.h"
#include "ca/x509.h"
#include "daemon/state.h"
#include "store/store.h"

int
state_path(char out[STATE_PATH_MAX], const char *dir, const char *rel)
{
	return fileio_join(out, STATE_PATH_MAX, dir, rel);
}

/* store.url holds one line; a few more bytes (a comment an operator
 * added below it) are tolerated, a large file is not ours. */
#define STATE_STORE_URL_FILE_MAX	(DBURL_MAX + 1024)

/* Whether root may take st (dir's store.url, another user's) as its own:
 * the file the daemon's user was handed (handover.h), in a directory
 * that is root:GROUP with the file in GROUP. That user writes lanca.db
 * in the same directory, which root opens as well. */
static int
state_store_url_handed(const char *dir, const struct stat *st)
{
	struct stat d;

	return geteuid() == 0 && stat(dir, &d) == 0 && S_ISDIR(d.st_mode) && d.st_uid == 0 &&
	       d.st_gid != 0 && st->st_gid == d.st_gid;
}

/* Reads the first line of dir/store.url into url (see state.h for what
 * is refused). 1 when there is one, 0 when dir has no store.url, -1 with
 * e. Messages name the file, never quote what it holds. */
static int
state_store_url_read(const char *dir, char url[DBURL_MAX + 1], struct lerr *e)
{
	char path[STATE_PATH_MAX], buf[STATE_STORE_URL_FILE_MAX + 1];
	struct stat st;
	struct lerr ce;
	size_t size = 0, got = 0, len;
	ssize_t n;
	int fd, rc = -1;

	url[0] = '\0';
	if (state_path(path, dir, STATE_STORE_URL) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
	/* No symbolic link, FIFO or device; at most the size above. */
	fd = fileio_open_read_at(AT_FDCWD, path, NULL, 0, STATE_STORE_URL_FILE_MAX, &size, e);
	if (fd < 0) {
		if (e->code != LERR_NOT_FOUND)
			return -1;
		lerr_clear(e);
		return 0;
	}
	if (fstat(fd, &st) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot inspect %s: %s", path, strerror(errno));
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		lerr_set(e, LERR_FORBIDDEN, "%s is mode %04o: it may hold the database's password, "
			 "so it must be 0600 or stricter (chmod 600 %s)", path,
			 (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0 && !state_store_url_handed(dir, &st)) {
		lerr_set(e, LERR_FORBIDDEN, "%s belongs to uid %u, neither this user (uid %u) nor "
			 "root: refusing the store it names", path, (unsigned)st.st_uid,
			 (unsigned)geteuid());
		goto out;
	}
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			lerr_set(e, LERR_INTERNAL, "cannot read %s: %s", path,
				 n < 0 ? strerror(errno) : "it shrank while being read");
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	len = strcspn(buf, "\n");
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len == 0) {
		lerr_set(e, LERR_BAD_REQUEST, "%s is empty: its first line must be the store's "
			 "postgresql:// URL", path);
		goto out;
	}
	if (len > DBURL_MAX) {
		lerr_set(e, LERR_BAD_REQUEST, "%s: its first line is longer than %d bytes", path,
			 DBURL_MAX);
		goto out;
	}
	memcpy(url, buf, len);
	url[len] = '\0';
	if (dburl_check(url, &ce) != 0) {
		lerr_set(e, LERR_BAD_REQUEST, "%s: %s", path, ce.msg);
		goto out;
	}
	rc = 1;
out:
	sodium_memzero(buf, sizeof(buf));
	if (rc != 1)
		sodium_memzero(url, DBURL_MAX + 1);
	close(fd);
	return rc;
}

int
state_gateway_name(const char *dir, char out[STATE_GATEWAY_NAME_MAX + 1], struct lerr *e)
{
	char path[STATE_PATH_MAX];
	unsigned char *name = NULL;
	size_t len = 0;
	struct lerr why;

	out[0] = '\0';
	if (state_path(path, dir, STATE_GATEWAY_NAME) != 0)
		return lerr_set(e, LERR_INTERNAL, "state directory path too long");
	if (fileio_read(path, STATE_GATEWAY_NAME_MAX + 2, 0, &name, &len, &why) != 0) {
		if (why.code == LERR_NOT_FOUND)
			return 0;
		if (e != NULL)
			*e = why;
		return -1;
	}
	while (len > 0 && name[len - 1] == '\n')
		len--;
	if (len == 0 || len > STATE_GATEWAY_NAME_MAX || memchr(name, '\0', len) != NULL ||
	    memchr(name, '\n', len) != NULL) {
		free(name);
		return lerr_set(e, LERR_INVARIANT, "%s is not one gateway name", path);
	}
	memcpy(out, name, len);
	out[len] = '\0';
	free(name);
	return 0;
}

/* The URL is wiped as soon as store_open has it: the store keeps what
 * it needs to reconnect. A joined gateway's store knows its name. */
int
state_store_open(const char *dir, unsigned flags, struct store **out, struct lerr *e)
{
	char path[STATE_PATH_MAX], url[DBURL_MAX + 1], name[STATE_GATEWAY_NAME_MAX + 1];
	int r;

	*out = NULL;
	r = state_store_url_read(dir, url, e);
	if (r < 0)
		return -1;
	if (r == 0) {
		if (state_path(path, dir, STORE_FILE) != 0)
			return lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
		return store_open(path, flags, out, e);
	}
#ifdef HAVE_POSTGRESQL
	/* Whatever the driver's message quotes, never the password. */
	if ((r = store_open(url, flags, out, e)) != 0) {
		dburl_scrub(e->msg, sizeof(e->msg), url);
	} else if (state_gateway_name(dir, name, e) != 0 ||
		   store_set_gateway(*out, name, e) != 0) {
		store_close(*out);
		*out = NULL;
		r = -1;
	}
#else
	r = lerr_set(e, LERR_BAD_REQUEST, "%s/%s names a store on PostgreSQL, and this lanca was "
		     "built without PostgreSQL (configure found no libpq: install libpq-dev and "
		     "build again)", dir, STATE_STORE_URL);
#endif
	sodium_memzero(url, sizeof(url));
	return r;
}

int
state_store_describe(const char *dir, char *out, size_t n, struct lerr *e)
{
	char url[DBURL_MAX + 1];
	int r;

	if (n > 0)
		out[0] = '\0';
	r = state_store_url_read(dir, url, e);
	if (r < 0)
		return -1;
	if (r == 1) {
		(void)dburl_mask(url, out, n);
		sodium_memzero(url, sizeof(url));
		return 0;
	}
	if (fileio_join(out, n, dir, STORE_FILE) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
	return 0;
}

int
state_store_present(const char *dir)
{
	char path[STATE_PATH_MAX];
	struct stat st;

	return (state_path(path, dir, STATE_STORE_URL) == 0 && lstat(path, &st) == 0) ||
	       (state_path(path, dir, STORE_FILE) == 0 && lstat(path, &st) == 0);
}

int
state_store_need_file(const char *dir, struct lerr *e)
{
	char path[STATE_PATH_MAX];
	struct stat st;

	if (state_path(path, dir, STATE_STORE_URL) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
	if (lstat(path, &st) == 0)
		return lerr_set(e, LERR_CONFLICT, "the store is PostgreSQL: back it up with pg_dump "
				"(docs/scaling.md); %s names it, and a backup copies only a SQLite "
				"store's %s", path, STORE_FILE);
	if (errno != ENOENT)
		return lerr_set(e, LERR_INTERNAL, "cannot inspect %s: %s", path, strerror(errno));
	return 0;
}

/* Writes all of p to fd. 0, or -1 with errno. */
static int
state_write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
state_store_url_write(const char *dir, const char *url, struct lerr *e)
{
	char path[STATE_PATH_MAX];
	int fd, rc = -1;

	if (dburl_check(url, e) != 0)
		return -1;
	if (state_path(path, dir, STATE_STORE_URL) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0)
		return lerr_set(e, errno == EEXIST ? LERR_CONFLICT : LERR_INTERNAL,
				"cannot create %s: %s", path, strerror(errno));
	/* 0600 exactly, whatever the umask made of it: its reader refuses
	 * more, and its owner needs to read it. */
	if (fchmod(fd, 0600) != 0 || state_write_all(fd, url, strlen(url)) != 0 ||
	    state_write_all(fd, "\n", 1) != 0 || fsync(fd) != 0) {
		lerr_set(e, errno == ENOSPC || errno == EDQUOT ? LERR_STORE_UNAVAILABLE :
			 LERR_INTERNAL, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		lerr_set(e, LERR_INTERNAL, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (fileio_sync_dir(dir) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot sync %s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(path);
	return rc;
}

/* During a rollover the active issuing CA was signed by the new root,
 * which not every device trusts yet: what the gateway hands out in its
 * chains is the old (primary) root's certificate of the same CA (same
 * name and key, a cross-certificate on record), so that a device that
 * trusts only the old root verifies leaves of the new CA. Replaces
 * c->issuing by it when the issuing CA is not the root's own. */
static int
ca_set_chain_cert(struct store *s, struct ca_set *c, int64_t issuing_id, struct lerr *e)
{
	struct store_cross x[STORE_CAS_MAX];
	gnutls_x509_crt_t crt = NULL;
	size_t nx = 0, i;
	int rc = -1;

	if (gnutls_x509_crt_check_issuer(c->issuing, c->root))
		return 0;
	if (store_cross_list(s, x, STORE_CAS_MAX, &nx, e) != 0)
		return -1;
	for (i = 0; i < nx; i++)
		if (x[i].subject_id == issuing_id && x[i].issuer_id == c->root_id)
			break;
	if (i == nx) {
		lerr_set(e, LERR_INVARIANT, "the issuing CA is not the primary root's, and no "
			 "certificate of it by that root is on record");
		goto out;
	}
	if (x509_import(x[i].der, x[i].der_len, &crt, e) != 0)
		goto out;
	gnutls_x509_crt_deinit(c->issuing);
	c->issuing = crt;
	rc = 0;
out:
	store_cross_clear(x, nx);
	return rc;
}

int
ca_set_load(struct store *s, struct ca_set *c, struct lerr *e)
{
	struct store_ca *root = NULL, *issuing = NULL;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (store_ca_active(s, "root", &root, e) != 0 ||
	    store_ca_active(s, "issuing", &issuing, e) != 0)
		goto out;
	c->root_id = root->id;
	if (x509_import(root->der, root->der_len, &c->root, e) != 0 ||
	    x509_import(issuing->der, issuing->der_len, &c->issuing, e) != 0)
		goto out;
	/* Its own fingerprint and dates, whatever certificate of it the
	 * chains carry. */
	if (x509_fingerprint(c->issuing, c->issuing_fp) != 0 ||
	    x509_fingerprint_colon(c->issuing, c->issuing_fp_colon) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the CA certificates");
		goto out;
	}
	c->issuing_not_before = gnutls_x509_crt_get_activation_time(c->issuing);
	c->issuing_not_after = gnutls_x509_crt_get_expiration_time(c->issuing);
	if (ca_set_chain_cert(s, c, issuing->id, e) != 0)
		goto out;
	if (x509_export_der(c->root, &c->root_der) != 0 ||
	    x509_export_pem(c->root, &c->root_pem) != 0 ||
	    x509_export_der(c->issuing, &c->issuing_der) != 0 ||
	    x509_export_pem(c->issuing, &c->issuing_pem) != 0 ||
	    x509_fingerprint(c->root, c->root_fp) != 0 ||
	    x509_fingerprint_colon(c->root, c->root_fp_colon) != 0 ||
	    x509_subject(c->root, c->root_subject, sizeof(c->root_subject)) != 0 ||
	    x509_subject(c->issuing, c->issuing_subject, sizeof(c->issuing_subject)) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the CA certificates");
		goto out;
	}
	c->root_not_before = gnutls_x509_crt_get_activation_time(c->root);
	c->root_not_after = gnutls_x509_crt_get_expiration_time(c->root);
	c->issuing_id = issuing->id;
	rc = 0;
out:
	store_ca_free(root);
	store_ca_free(issuing);
	if (rc != 0)
		ca_set_free(c);
	return rc;
}

int
ca_set_others(struct store *s, const struct ca_set *c, gnutls_datum_t *out, size_t max,
	      size_t *n, struct lerr *e)
{
	struct store_ca *cas[STORE_CAS_MAX];
	size_t ncas = 0, i;
	int rc = 0;

	*n = 0;
	if (store_ca_site_issuing(s, cas, STORE_CAS_MAX, &ncas, e) != 0)
		return -1;
	for (i = 0; i < ncas && rc == 0; i++) {
		if (cas[i]->id == c->issuing_id)
			continue;
		if (*n == max) {
			log_warn("the site has more than %zu other issuing CAs: the others are left "
				 "out of the list", max);
			break;
		}
		if (cas[i]->der_len > UINT_MAX ||
		    (out[*n].data = gnutls_malloc(cas[i]->der_len)) == NULL) {
			rc = lerr_set(e, LERR_INTERNAL, "out of memory");
			break;
		}
		memcpy(out[*n].data, cas[i]->der, cas[i]->der_len);
		out[(*n)++].size = (unsigned)cas[i]->der_len;
	}
	store_ca_list_free(cas, ncas);
	if (rc != 0) {
		ca_set_others_free(out, *n);
		*n = 0;
	}
	return rc;
}

void
ca_set_others_free(gnutls_datum_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		gnutls_free(v[i].data);
		v[i].data = NULL;
	}
}

void
ca_set_free(struct ca_set *c)
{
	if (c == NULL)
		return;
	if (c->root != NULL)
		gnutls_x509_crt_deinit(c->root);
	if (c->issuing != NULL)
		gnutls_x509_crt_deinit(c->issuing);
	gnutls_free(c->root_der.data);
	gnutls_free(c->root_pem.data);
	gnutls_free(c->issuing_der.data);
	gnutls_free(c->issuing_pem.data);
	memset(c, 0, sizeof(*c));
}

/* See state.h. Reads the store read-only; the signer trusts none of this
 * until it has proven it with its keys. */
int
state_signer_adopt(const char *dir, struct signer_adopt *a, struct lerr *e)
{
	struct store *s = NULL;
	struct ca_set ca;
	struct lerr none;
	char *url = NULL;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	memset(&ca, 0, sizeof(ca));
	if (state_store_open(dir, STORE_READONLY, &s, e) != 0 || ca_set_load(s, &ca, e) != 0)
		goto out;
	if (store_setting_get(s, "crl_url", &url, &none) == 0) {
		if (strlen(url) >= sizeof(a->crl_url)) {
			lerr_set(e, LERR_INVARIANT, "the store's crl_url is too long");
			goto out;
		}
		memcpy(a->crl_url, url, strlen(url) + 1);
	}
	/* Hand over the DER copies ca_set_load made. */
	a->root = ca.root_der;
	a->issuing = ca.issuing_der;
	ca.root_der.data = ca.issuing_der.data = NULL;
	rc = 0;
out:
	free(url);
	ca_set_free(&ca);
	store_close(s);
	if (rc != 0)
		signer_adopt_free(a);
	return rc;
}
