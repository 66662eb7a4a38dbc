/*
 * backup.c - backup_write and restore_run (backup.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <sodium.h>

#include "ca/keystore.h"
#include "ca/x509.h"
#include "common/fileio.h"
#include "common/hex.h"
#include "common/log.h"
#include "daemon/auditlog.h"
#include "daemon/backup.h"
#include "daemon/handover.h"
#include "daemon/init.h"
#include "daemon/rollover.h"
#include "daemon/state.h"
#include "signer/files.h"
#include "signer/sign.h"
#include "store/store.h"

#define BACKUP_FORMAT		1
#define BACKUP_FILE_MAX		((uint64_t)1 << 20)	/* any file but the store */
#define BACKUP_META_MAX		4096

/* What a backup holds after keys/ (signer/files.h's signer_backup_files),
 * in its order; the store last. */
static const struct signer_backup_file backup_state_files[] = {
	{ STATE_GATEWAY_KEY, 0600, 1, 1 },
	{ STATE_GATEWAY_PEM, 0644, 1, 0 },
	{ STATE_ROOT_PEM, 0644, 1, 0 },
	{ STATE_BACKUP_ROOT_PEM, 0644, 0, 0 },
	{ STORE_FILE, 0600, 1, 0 },
};
#define BACKUP_NSTATE	(sizeof(backup_state_files) / sizeof(backup_state_files[0]))
#define BACKUP_FILES_MAX	32
/* The daemon's backups hold keys/ as the signer sealed it, a backup
 * stream of its own inside this file record (restore opens it with the
 * same passphrase). */
#define BACKUP_SEALED_KEYS	"keys.bkf"

/* keys/root.pem's place in signer_backup_files (signer/files.c), checked
 * at the start of backup_compose. */
#define BACKUP_ROOT_PEM_IX	2

/* Every file a backup may hold: keys/'s, then the rest. */
static size_t
backup_nfiles(void)
{
	return signer_backup_nfiles + BACKUP_NSTATE;
}

static const struct signer_backup_file *
backup_file(size_t i)
{
	return i < signer_backup_nfiles ? &signer_backup_files[i] :
	       &backup_state_files[i - signer_backup_nfiles];
}

static int
backup_is_store(size_t i)
{
	return i == backup_nfiles() - 1;
}

static void
put64(unsigned char p[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
get64(const unsigned char p[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* ---- writing ---- */

/* One file: FILE with its size, then DATA records. */
static int
backup_put_bytes(struct bkf_writer *w, const char *name, const unsigned char *p, size_t len,
		 struct lerr *e)
{
	unsigned char size[8];
	size_t n;

	put64(size, len);
	if (bkf_put(w, BKF_FILE, name, size, sizeof(size), e) != 0)
		return -1;
	for (; len > 0; p += n, len -= n) {
		n = len < BKF_DATA_MAX ? len : BKF_DATA_MAX;
		if (bkf_put(w, BKF_DATA, NULL, p, n, e) != 0)
			return -1;
	}
	return 0;
}

/* The store's snapshot, from its file, in records. */
static int
backup_put_store(struct bkf_writer *w, const char *path, struct lerr *e)
{
	unsigned char size[8], *chunk;
	struct stat st;
	uint64_t left;
	ssize_t k;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0) {
		lerr_set(e, LERR_INTERNAL, "the store's snapshot: %s", strerror(errno));
		goto out;
	}
	chunk = malloc(BKF_DATA_MAX);
	if (chunk == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	left = (uint64_t)st.st_size;
	put64(size, left);
	if (bkf_put(w, BKF_FILE, STORE_FILE, size, sizeof(size), e) != 0)
		goto done;
	while (left > 0) {
		k = read(fd, chunk, left < BKF_DATA_MAX ? (size_t)left : BKF_DATA_MAX);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			lerr_set(e, LERR_INTERNAL, "reading the store's snapshot: %s",
				 k < 0 ? strerror(errno) : "it got shorter");
			goto done;
		}
		if (bkf_put(w, BKF_DATA, NULL, chunk, (size_t)k, e) != 0)
			goto done;
		left -= (uint64_t)k;
	}
	rc = 0;
done:
	free(chunk);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
backup_put_meta(struct bkf_writer *w, const struct backup_summary *s, struct lerr *e)
{
	json_t *j;
	char *text;
	int rc;

	/* A token's key is not in the backup: its record, the URL, is. */
	j = json_pack("{s:i, s:s, s:I, s:i, s:I, s:s, s:{s:s, s:b}}",
		      "format", BACKUP_FORMAT, "lanca", PACKAGE_VERSION,
		      "created", (json_int_t)s->created, "schema", s->schema,
		      "certificates", (json_int_t)s->certificates, "root_sha256", s->root_fp,
		      "keys", "storage", s->token_key[0] != '\0' ? "pkcs11" : "file",
		      "encrypted", s->keys_encrypted);
	if (j != NULL && s->token_key[0] != '\0' &&
	    json_object_set_new(json_object_get(j, "keys"), "issuing_url",
				json_string(s->token_key)) != 0) {
		json_decref(j);
		j = NULL;
	}
	text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (text == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	rc = bkf_put(w, BKF_META, NULL, text, strlen(text), e);
	free(text);
	return rc;
}

/* A snapshot of st (or of dir's store, opened here, when st is NULL)
 * into dest, and what it says: schema, certificates, root. */
static int
backup_snapshot(const char *dir, struct store *st, const char *dest, struct backup_summary *s,
		struct lerr *e)
{
	char path[STATE_PATH_MAX];
	struct store *own = NULL;
	struct ca_set ca;
	int rc = -1;

	memset(&ca, 0, sizeof(ca));
	if (st == NULL) {
		if (state_path(path, dir, STORE_FILE) != 0)
			return lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
		if (access(path, F_OK) != 0)
			return lerr_set(e, LERR_NOT_FOUND, "no CA in %s (no %s)", dir, STORE_FILE);
		/* The file itself: backup_compose refused a PostgreSQL store. */
		if (store_open(path, STORE_READONLY, &own, e) != 0)
			return -1;
		st = own;
	}
	if (store_snapshot(st, dest, e) != 0 || ca_set_load(st, &ca, e) != 0 ||
	    store_cert_count(st, &s->certificates, e) != 0)
		goto out;
	store_schema_version(st, &s->schema);
	memcpy(s->root_fp, ca.root_fp, sizeof(s->root_fp));
	rc = 0;
out:
	ca_set_free(&ca);
	store_close(own);
	return rc;
}

/* 0 when the certificate in pem is the one of SHA-256 fp (hex). */
static int
backup_same_root(const unsigned char *pem, size_t len, const char *fp)
{
	gnutls_x509_crt_t crt = NULL;
	char got[65];
	struct lerr e;
	int rc = -1;

	if (pem != NULL && x509_import(pem, len, &crt, &e) == 0 && x509_fingerprint(crt, got) == 0)
		rc = strcmp(got, fp) == 0 ? 0 : -1;
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

/* Gives tmp the name out unless out exists, and makes it durable. */
static int
backup_publish(const char *tmp, const char *out, struct lerr *e)
{
	char parent[STATE_PATH_MAX];

	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_NOREPLACE) != 0) {
		/* A file system without the flag (some FUSE ones): look, then
		 * rename; the window is the caller's own directory. */
		if (errno != EINVAL || access(out, F_OK) == 0)
			return lerr_set(e, errno == EEXIST || errno == EINVAL ? LERR_CONFLICT :
					LERR_INTERNAL, "cannot name the backup %s: %s", out,
					errno == EINVAL ? "it exists" : strerror(errno));
		if (rename(tmp, out) != 0)
			return lerr_set(e, LERR_INTERNAL, "cannot name the backup %s: %s", out,
					strerror(errno));
	}
	snprintf(parent, sizeof(parent), "%s", out);
	if (fileio_sync_dir(dirname(parent)) != 0)
		return lerr_set(e, LERR_INTERNAL, "syncing the directory of %s: %s", out,
				strerror(errno));
	return 0;
}

/*
 * The backup of dir into out, sealed to `to` (NULL: plain). keys/ is
 * read here, or given sealed by the signer (sealed != NULL); the store is
 * st, or dir's opened here.
 */
static int
backup_compose(const char *dir, const char *out, const struct bkf_recipient *to,
	       bkf_tag_fn tag, void *tag_ctx, const unsigned char *sealed, size_t sealed_len,
	       int sealed_encrypted, struct store *st, struct backup_summary *s, struct lerr *e)
{
	char tmp[STATE_PATH_MAX], dbtmp[STATE_PATH_MAX], path[STATE_PATH_MAX];
	unsigned char *data[BACKUP_FILES_MAX] = { NULL };
	size_t len[BACKUP_FILES_MAX] = { 0 }, i, n = backup_nfiles() - 1;
	enum keystore_kind root_kind = KEYSTORE_KIND_FILE, issuing_kind = KEYSTORE_KIND_FILE;
	struct bkf_writer *w = NULL;
	struct stat sb;
	struct lerr fe;
	int fd = -1, dbfd = -1, rc = -1;

	memset(s, 0, sizeof(*s));
	tmp[0] = dbtmp[0] = '\0';
	/* A backup is of lanca.db (SQLite's online backup): a store on
	 * PostgreSQL is the server's to back up, for all the gateways on it. */
	if (state_store_need_file(dir, e) != 0)
		return -1;
	if (strcmp(signer_backup_files[BACKUP_ROOT_PEM_IX].name, SIGNER_ROOT_PEM) != 0)
		return lerr_set(e, LERR_INTERNAL, "backup: keys/'s list changed order");
	if (access(out, F_OK) == 0)
		return lerr_set(e, LERR_CONFLICT, "%s exists: a backup never replaces a file", out);
	if (state_path(path, dir, ROLLOVER_STAGE) == 0 && lstat(path, &sb) == 0)
		return lerr_set(e, LERR_CONFLICT, "a root rollover in %s was interrupted: start "
				"lanca serve (or lanca rollover status) to settle it, then back up", dir);
	/* keys/ first: whatever the store holds at its snapshot, a moment
	 * later, was signed by keys that are in this backup. */
	for (i = sealed != NULL ? signer_backup_nfiles : 0; i < n; i++) {
		if (state_path(path, dir, backup_file(i)->name) != 0) {
			lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
			goto out;
		}
		if (fileio_read(path, BACKUP_FILE_MAX, backup_file(i)->secret, &data[i], &len[i],
				&fe) != 0) {
			if (fe.code == LERR_NOT_FOUND && !backup_file(i)->required)
				continue;
			if (fe.code == LERR_NOT_FOUND && i == 0)
				lerr_set(e, LERR_NOT_FOUND, "no CA in %s (no %s)", dir,
					 backup_file(i)->name);
			else if (fe.code == LERR_NOT_FOUND)
				lerr_set(e, LERR_NOT_FOUND, "%s is missing from %s: a backup needs it",
					 backup_file(i)->name, dir);
			else
				*e = fe;
			goto out;
		}
	}
	/* Sealed by the signer, keys/ cannot be looked into here: serve
	 * says whether it started the signer with a passphrase. */
	if (sealed == NULL) {
		root_kind = keystore_kind(data[0], len[0], NULL);
		issuing_kind = keystore_kind(data[1], len[1], s->token_key);
	}
	s->keys_encrypted = sealed != NULL ? sealed_encrypted :
			    root_kind == KEYSTORE_KIND_ENCRYPTED ||
			    issuing_kind == KEYSTORE_KIND_ENCRYPTED;
	s->root_in_token = root_kind == KEYSTORE_KIND_TOKEN;
	/* The snapshot is the store in clear: it is made in the state
	 * directory, which holds the store in clear anyway, never beside the
	 * backup (a USB stick, a NAS share). */
	if (snprintf(tmp, sizeof(tmp), "%s" BACKUP_TMP_INFIX "XXXXXX", out) >= (int)sizeof(tmp) ||
	    state_path(dbtmp, dir, BACKUP_SNAPSHOT_PREFIX "XXXXXX") != 0) {
		tmp[0] = dbtmp[0] = '\0';
		lerr_set(e, LERR_BAD_REQUEST, "%s: path too long", out);
		goto out;
	}
	dbfd = mkstemp(dbtmp);
	if (dbfd < 0) {
		dbtmp[0] = '\0';
		lerr_set(e, LERR_INTERNAL, "cannot create the store's snapshot in %s: %s", dir,
			 strerror(errno));
		goto out;
	}
	/* Held while in use: a serve starting meanwhile sweeps only the
	 * leftovers nobody holds (backupsched.c). SQLite's own locks are
	 * fcntl()'s, which this does not touch. */
	(void)flock(dbfd, LOCK_EX);
	if (backup_snapshot(dir, st, dbtmp, s, e) != 0)
		goto out;
	/* keys/ was read before the snapshot; a rollover in between (serve
	 * stopped, `lanca rollover` run meanwhile) would pair the keys of
	 * one root with the store of the next. */
	if (sealed == NULL && backup_same_root(data[BACKUP_ROOT_PEM_IX], len[BACKUP_ROOT_PEM_IX],
						s->root_fp) != 0) {
		lerr_set(e, LERR_CONFLICT, "the store's root changed while the backup was taken "
			 "(a rollover?): back up again");
		goto out;
	}
	fd = mkstemp(tmp);	/* 0600 */
	if (fd < 0) {
		tmp[0] = '\0';
		lerr_set(e, LERR_INTERNAL, "cannot create a file beside %s: %s", out, strerror(errno));
		goto out;
	}
	(void)flock(fd, LOCK_EX);	/* as the snapshot's */
	s->created = (int64_t)time(NULL);
	s->sealed = to != NULL;
	snprintf(s->version, sizeof(s->version), "%s", PACKAGE_VERSION);
	if (bkf_writer_new(fd, to, &w, e) != 0 || backup_put_meta(w, s, e) != 0)
		goto out;
	if (sealed != NULL) {
		if (backup_put_bytes(w, BACKUP_SEALED_KEYS, sealed, sealed_len, e) != 0)
			goto out;
		s->files++;
	}
	for (i = 0; i < n; i++) {
		if (data[i] == NULL)
			continue;
		if (backup_put_bytes(w, backup_file(i)->name, data[i], len[i], e) != 0)
			goto out;
		s->files++;
	}
	if (backup_put_store(w, dbtmp, e) != 0 || bkf_finish(w, tag, tag_ctx, e) != 0)
		goto out;
	s->files++;
	if (fsync(fd) != 0 || fstat(fd, &sb) != 0) {
		lerr_set(e, errno == ENOSPC || errno == EDQUOT ? LERR_STORE_UNAVAILABLE :
			 LERR_INTERNAL, "writing the backup: %s", strerror(errno));
		goto out;
	}
	s->bytes = (uint64_t)sb.st_size;
	close(fd);
	fd = -1;
	if (backup_publish(tmp, out, e) != 0)
		goto out;
	tmp[0] = '\0';
	rc = 0;
out:
	bkf_writer_free(w);
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	if (dbtmp[0] != '\0')
		unlink(dbtmp);
	if (dbfd >= 0)
		close(dbfd);
	for (i = 0; i < n; i++)
		if (data[i] != NULL && backup_file(i)->secret)
			fileio_free_secret(data[i], len[i]);
		else
			free(data[i]);
	return rc;
}

int
backup_write(const char *dir, const char *out, const struct backup_opts *o,
	     struct backup_summary *s, struct lerr *e)
{
	struct bkf_recipient to;
	struct bkf_author author;
	int rc;

	memset(s, 0, sizeof(*s));
	if (o->pass != NULL &&
	    bkf_recipient_derive(o->pass, o->pass_len, o->kdf, &to, &author, e) != 0)
		return -1;
	backup_sweep(dir, NULL, NULL);
	rc = backup_compose(dir, out, o->pass != NULL ? &to : NULL, bkf_tag_author, &author, NULL, 0,
			    0, NULL, s, e);
	sodium_memzero(&author, sizeof(author));
	return rc;
}

int
backup_write_sealed(const char *dir, const char *out, const struct bkf_recipient *to,
		    bkf_tag_fn tag, void *tag_ctx, const unsigned char *keys, size_t keys_len,
		    int keys_encrypted, struct store *st, struct backup_summary *s, struct lerr *e)
{
	return backup_compose(dir, out, to, tag, tag_ctx, keys, keys_len, keys_encrypted, st, s, e);
}

/* Whether nobody holds path's flock: a backup running now holds its
 * files' (backup_compose). A file this process may not open is left. */
static int
backup_unheld(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), unheld;

	if (fd < 0)
		return 0;
	unheld = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return unheld;
}

void
backup_sweep(const char *state_dir, const char *dir, const char *prefix)
{
	const char *dirs[2] = { state_dir, dir };
	char path[STATE_PATH_MAX];
	struct dirent *d;
	DIR *dh;
	int i, left;

	for (i = 0; i < 2; i++) {
		if (dirs[i] == NULL || (dh = opendir(dirs[i])) == NULL)
			continue;
		left = 0;
		while ((d = readdir(dh)) != NULL) {
			if (i == 0 ? strncmp(d->d_name, BACKUP_SNAPSHOT_PREFIX,
					     strlen(BACKUP_SNAPSHOT_PREFIX)) != 0 :
				     prefix == NULL || strncmp(d->d_name, prefix, strlen(prefix)) != 0 ||
				     strstr(d->d_name, BACKUP_TMP_INFIX) == NULL)
				continue;
			if (fileio_join(path, sizeof(path), dirs[i], d->d_name) == 0 &&
			    backup_unheld(path) && unlink(path) == 0) {
				log_info("removed %s, left by an interrupted backup", path);
				left = 1;
			}
		}
		closedir(dh);
		if (left)
			(void)fileio_sync_dir(dirs[i]);
	}
}

/* ---- restoring ---- */

struct restore {
	const char *stage;		/* the new directory beside DIR */
	const struct restore_opts *o;
	int fd;				/* the file being written, or -1 */
	size_t ix;			/* its backup_file index */
	uint64_t left;			/* bytes it still expects */
	unsigned char seen[BACKUP_FILES_MAX];
	int have_meta;
	/* keys/ as the signer sealed it: gathered whole, then opened */
	unsigned char *sealed;
	size_t sealed_len;
	int gathering, inner;
	struct backup_summary *sum;
};

static ssize_t
restore_read(void *ctx, void *buf, size_t n)
{
	return read(*(int *)ctx, buf, n);
}

static int
restore_meta(struct restore *r, const struct bkf_record *rec, const struct restore_opts *o,
	     struct lerr *e)
{
	json_error_t jerr;
	json_t *j, *keys;
	const char *version = NULL, *fp = NULL;
	json_int_t format = 0, created = 0, certs = 0;
	int schema = 0, encrypted = 0, rc = -1;

	if (rec->len > BACKUP_META_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "the backup's description is too long");
	j = json_loadb((const char *)rec->data, rec->len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "the backup's description is not JSON: %s",
				jerr.text);
	if (json_unpack_ex(j, &jerr, 0, "{s:I, s:s, s:I, s:i, s:I, s:s, s:o}", "format", &format,
			   "lanca", &version, "created", &created, "schema", &schema,
			   "certificates", &certs, "root_sha256", &fp, "keys", &keys) != 0 ||
	    json_unpack_ex(keys, &jerr, 0, "{s:b}", "encrypted", &encrypted) != 0) {
		lerr_set(e, LERR_BAD_REQUEST, "the backup's description: %s", jerr.text);
		goto out;
	}
	if (format != BACKUP_FORMAT) {
		lerr_set(e, LERR_BAD_REQUEST, "the backup holds format %lld of a state directory, "
			 "from lanca %s: this lanca restores format %d", (long long)format, version,
			 BACKUP_FORMAT);
		goto out;
	}
	if (strlen(fp) != 64) {
		lerr_set(e, LERR_BAD_REQUEST, "the backup's description: a root fingerprint of "
			 "%zu characters", strlen(fp));
		goto out;
	}
	if (encrypted && o->keys_pass == NULL) {
		lerr_set(e, LERR_BAD_SECRET, "the CA keys in this backup are under a passphrase: "
			 "give it (--keys-passphrase-file) so that restore can check them");
		goto out;
	}
	r->sum->created = (int64_t)created;
	r->sum->schema = schema;
	r->sum->certificates = (int64_t)certs;
	r->sum->keys_encrypted = encrypted;
	snprintf(r->sum->root_fp, sizeof(r->sum->root_fp), "%s", fp);
	snprintf(r->sum->version, sizeof(r->sum->version), "%s", version);
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* Finishes the file being written: all its bytes came; durable. */
static int
restore_close_file(struct restore *r, struct lerr *e)
{
	int bad;

	if (r->gathering)
		return lerr_set(e, LERR_BAD_REQUEST, "the backup's %s lacks %llu of its bytes",
				BACKUP_SEALED_KEYS, (unsigned long long)r->left);
	if (r->fd < 0)
		return 0;
	if (r->left > 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the backup's %s lacks %llu of its bytes",
				backup_file(r->ix)->name, (unsigned long long)r->left);
	bad = fsync(r->fd) != 0;
	bad |= close(r->fd) != 0;
	r->fd = -1;
	return bad ? lerr_set(e, LERR_INTERNAL, "writing %s: %s", backup_file(r->ix)->name,
			      strerror(errno)) : 0;
}

static int
restore_file(struct restore *r, const struct bkf_record *rec, struct lerr *e)
{
	char path[STATE_PATH_MAX];
	uint64_t size;
	size_t i;

	if (restore_close_file(r, e) != 0)
		return -1;
	if (rec->len != 8)
		return lerr_set(e, LERR_BAD_REQUEST, "the backup's record of %.64s is malformed",
				rec->name);
	size = get64(rec->data);
	if (strcmp(rec->name, BACKUP_SEALED_KEYS) == 0) {
		if (r->inner || r->sealed != NULL)
			return lerr_set(e, LERR_BAD_REQUEST, "the backup holds %s twice, or within "
					"itself", BACKUP_SEALED_KEYS);
		if (size == 0 || size > SIGNER_SEALED_KEYS_MAX)
			return lerr_set(e, LERR_BAD_REQUEST, "the backup's %s is %llu bytes",
					BACKUP_SEALED_KEYS, (unsigned long long)size);
		r->sealed = malloc((size_t)size);
		if (r->sealed == NULL)
			return lerr_set(e, LERR_INTERNAL, "out of memory");
		r->sealed_len = 0;
		r->left = size;
		r->gathering = 1;
		return 0;
	}
	for (i = 0; i < backup_nfiles(); i++)
		if (strcmp(rec->name, backup_file(i)->name) == 0)
			break;
	/* What the signer sealed is keys/ and nothing else. */
	if (i == backup_nfiles() || (r->inner && i >= signer_backup_nfiles))
		return lerr_set(e, LERR_BAD_REQUEST, "the backup holds a file lanca does not "
				"restore: \"%.64s\"", rec->name);
	if (r->seen[i])
		return lerr_set(e, LERR_BAD_REQUEST, "the backup holds %s twice", rec->name);
	if (!backup_is_store(i) && size > BACKUP_FILE_MAX)
		return lerr_set(e, LERR_TOO_LARGE, "the backup's %s is %llu bytes, over the %llu "
				"allowed", rec->name, (unsigned long long)size,
				(unsigned long long)BACKUP_FILE_MAX);
	r->seen[i] = 1;
	if (state_path(path, r->stage, rec->name) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
	r->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     (mode_t)backup_file(i)->mode);
	if (r->fd < 0)
		return lerr_set(e, LERR_INTERNAL, "creating %s: %s", path, strerror(errno));
	r->ix = i;
	r->left = size;
	return 0;
}

static int restore_inner(struct restore *r, struct lerr *e);

static int
restore_data(struct restore *r, const struct bkf_record *rec, struct lerr *e)
{
	const unsigned char *p = rec->data;
	size_t n = rec->len;
	ssize_t w;

	if (r->gathering) {
		if (n > r->left)
			return lerr_set(e, LERR_BAD_REQUEST, "the backup's %s is longer than it says",
					BACKUP_SEALED_KEYS);
		memcpy(r->sealed + r->sealed_len, p, n);
		r->sealed_len += n;
		r->left -= n;
		if (r->left > 0)
			return 0;
		r->gathering = 0;
		return restore_inner(r, e);
	}
	if (r->fd < 0 || n > r->left)
		return lerr_set(e, LERR_BAD_REQUEST, "the backup holds bytes of no file");
	r->left -= n;
	while (n > 0) {
		w = write(r->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return lerr_set(e, errno == ENOSPC || errno == EDQUOT ?
					LERR_STORE_UNAVAILABLE : LERR_INTERNAL, "writing %s: %s",
					backup_file(r->ix)->name, strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* keys/ as the signer sealed it (r->sealed): a stream of its own, sealed
 * to the same passphrase, of keys/'s files alone. */
static int
restore_inner(struct restore *r, struct lerr *e)
{
	struct bkf_mem m = { r->sealed, r->sealed_len, 0 };
	struct bkf_reader *rd = NULL;
	struct bkf_record rec;
	int k, rc = -1;

	if (bkf_reader_new(bkf_read_mem, &m, r->o->pass, r->o->pass_len, 0, &rd, e) != 0)
		return -1;
	if (bkf_reader_sealed(rd) != r->sum->sealed) {
		lerr_set(e, LERR_BAD_REQUEST, "the backup's %s is not sealed as the backup is",
			 BACKUP_SEALED_KEYS);
		goto out;
	}
	r->inner = 1;
	while ((k = bkf_next(rd, &rec, e)) == 1) {
		if ((rec.type == BKF_FILE && restore_file(r, &rec, e) != 0) ||
		    (rec.type == BKF_DATA && restore_data(r, &rec, e) != 0))
			goto out;
		if (rec.type != BKF_FILE && rec.type != BKF_DATA) {
			lerr_set(e, LERR_BAD_REQUEST, "the backup's %s holds an unexpected record",
				 BACKUP_SEALED_KEYS);
			goto out;
		}
	}
	if (k < 0 || restore_close_file(r, e) != 0)
		goto out;
	rc = 0;
out:
	r->inner = 0;
	sodium_memzero(r->sealed, r->sealed_len);
	bkf_reader_free(rd);
	return rc;
}

/* Reads the whole backup into r->stage. */
static int
restore_unpack(int fd, const struct restore_opts *o, struct restore *r, struct lerr *e)
{
	struct bkf_reader *rd = NULL;
	struct bkf_record rec;
	size_t i;
	int k, rc = -1;

	if (bkf_reader_new(restore_read, &fd, o->pass, o->pass_len, 0, &rd, e) != 0)
		return -1;
	r->sum->sealed = bkf_reader_sealed(rd);
	/* A plain file vouches for nothing: anyone could have written it. */
	if (!r->sum->sealed && !o->allow_plain) {
		lerr_set(e, LERR_BAD_REQUEST, "the backup is not encrypted (written with "
			 "--insecure-plaintext), so nothing shows who wrote it: restore it only "
			 "if you made it so, with --insecure-plaintext");
		goto out;
	}
	while ((k = bkf_next(rd, &rec, e)) == 1) {
		if (!r->have_meta && rec.type != BKF_META) {
			lerr_set(e, LERR_BAD_REQUEST, "the backup does not begin with its description");
			goto out;
		}
		switch (rec.type) {
		case BKF_META:
			if (r->have_meta) {
				lerr_set(e, LERR_BAD_REQUEST, "the backup has two descriptions");
				goto out;
			}
			if (restore_meta(r, &rec, o, e) != 0)
				goto out;
			r->have_meta = 1;
			break;
		case BKF_FILE:
			if (restore_file(r, &rec, e) != 0)
				goto out;
			break;
		case BKF_DATA:
			if (restore_data(r, &rec, e) != 0)
				goto out;
			break;
		default:
			lerr_set(e, LERR_BAD_REQUEST, "the backup holds an unexpected record");
			goto out;
		}
	}
	if (k < 0 || restore_close_file(r, e) != 0)
		goto out;
	if (!r->have_meta) {
		lerr_set(e, LERR_BAD_REQUEST, "the backup holds nothing");
		goto out;
	}
	for (i = 0; i < backup_nfiles(); i++) {
		if (backup_file(i)->required && !r->seen[i]) {
			lerr_set(e, LERR_BAD_REQUEST, "the backup lacks %s", backup_file(i)->name);
			goto out;
		}
		r->sum->files += r->seen[i];
	}
	rc = 0;
out:
	bkf_reader_free(rd);
	return rc;
}

/* A certificate file of the stage, parsed. */
static int
restore_crt(const char *stage, const char *name, gnutls_x509_crt_t *crt, struct lerr *e)
{
	char path[STATE_PATH_MAX];
	unsigned char *p = NULL;
	size_t n;
	int rc;

	*crt = NULL;
	if (state_path(path, stage, name) != 0 || fileio_read(path, BACKUP_FILE_MAX, 0, &p, &n, e) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the backup's %s cannot be read", name);
	rc = x509_import(p, n, crt, e);
	free(p);
	return rc == 0 ? 0 : lerr_set(e, LERR_BAD_REQUEST, "the backup's %s is not a certificate",
				      name);
}

/* Whether the key file name of the stage is the one of certificate crt. */
static int
restore_key_pair(const char *stage, const char *key, gnutls_x509_crt_t crt, const char *pass,
		 struct lerr *e)
{
	char path[STATE_PATH_MAX];
	gnutls_privkey_t k = NULL;
	struct lerr ke;
	int rc;

	if (state_path(path, stage, key) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
	if (keystore_load(path, pass, &k, &ke) != 0)
		return lerr_set(e, ke.code == LERR_BAD_SECRET ? LERR_BAD_SECRET : LERR_BAD_REQUEST,
				"the backup's %s cannot be loaded: %s", key, ke.msg);
	rc = x509_key_matches(k, crt, key, &ke);
	gnutls_privkey_deinit(k);
	return rc == 0 ? 0 : lerr_set(e, LERR_BAD_REQUEST, "the backup's %s is not the key of "
				      "its certificate", key);
}

static int
restore_same_der(gnutls_x509_crt_t a, const gnutls_datum_t *b)
{
	gnutls_datum_t d = { NULL, 0 };
	int same;

	if (x509_export_der(a, &d) != 0)
		return 0;
	same = d.size == b->size && memcmp(d.data, b->data, d.size) == 0;
	gnutls_free(d.data);
	return same;
}

/* Whether want (hex, any case, colons or spaces allowed) is fp (lower-
 * case hex). */
static int
restore_fp_is(const char *want, const char fp[65])
{
	size_t i = 0;

	for (; *want != '\0'; want++) {
		if (*want == ':' || *want == ' ')
			continue;
		if (i >= 64 || hex_digit(*want) < 0 || hex_digit(*want) != hex_digit(fp[i]))
			return 0;
		i++;
	}
	return i == 64;
}

/* gateway.pem's first certificate verifies under keys/issuing.pem. */
static int
restore_gateway_issued(const char *stage, struct lerr *e)
{
	gnutls_x509_crt_t gw = NULL, ca = NULL;
	unsigned status = 0;
	int rc = -1;

	if (restore_crt(stage, STATE_GATEWAY_PEM, &gw, e) != 0 ||
	    restore_crt(stage, SIGNER_ISSUING_PEM, &ca, e) != 0)
		goto out;
	if (gnutls_x509_crt_verify(gw, &ca, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status) < 0 ||
	    status != 0) {
		lerr_set(e, LERR_BAD_REQUEST, "the backup's %s was not issued by its %s",
			 STATE_GATEWAY_PEM, SIGNER_ISSUING_PEM);
		goto out;
	}
	rc = 0;
out:
	if (gw != NULL)
		gnutls_x509_crt_deinit(gw);
	if (ca != NULL)
		gnutls_x509_crt_deinit(ca);
	return rc;
}

/* Whether the staged issuing key is a PKCS#11 token's record: its URL
 * into s (the META of a scheduled backup cannot say, since the signer
 * sealed keys/). 0 or -1 with e. */
static int
restore_token(const char *stage, struct backup_summary *s, struct lerr *e)
{
	char path[STATE_PATH_MAX];
	unsigned char *data = NULL;
	size_t len = 0;

	if (state_path(path, stage, SIGNER_ISSUING_KEY) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
	if (fileio_read(path, BACKUP_FILE_MAX, 1, &data, &len, e) != 0)
		return -1;
	(void)keystore_kind(data, len, s->token_key);
	fileio_free_secret(data, len);
	if (state_path(path, stage, SIGNER_ROOT_KEY) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
	if (fileio_read(path, BACKUP_FILE_MAX, 1, &data, &len, e) != 0)
		return -1;
	s->root_in_token = keystore_kind(data, len, NULL) == KEYSTORE_KIND_TOKEN;
	fileio_free_secret(data, len);
	return 0;
}

/* Everything a restored directory must be before it is given its name. */
static int
restore_check(const char *stage, const struct restore_opts *o, const struct backup_summary *sum,
	      struct lerr *e)
{
	char path[STATE_PATH_MAX], fp[65], why[sizeof(e->msg)];
	gnutls_x509_crt_t root = NULL, pub_root = NULL, gw = NULL, prev = NULL;
	gnutls_datum_t pub_der = { NULL, 0 };
	struct auditlog_report ar;
	struct sign_ctx ctx;
	struct store *st = NULL;
	struct ca_set ca;
	unsigned char pk[32];
	int rc = -1;

	memset(&ca, 0, sizeof(ca));
	if (state_path(path, stage, STORE_FILE) != 0 || store_check_file(path, e) != 0)
		return -1;
	/* The signer's own check: the chain, and the issuing key its own. */
	if (sign_ctx_load(&ctx, stage, o->keys_pass, e) != 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		/* The token is not in the backup: restore checks the key in it. */
		if (sum->token_key[0] != '\0')
			return lerr_set(e, LERR_BAD_REQUEST, "the backup's keys do not hold together "
					"(its issuing CA key is in a PKCS#11 token, which restore must "
					"reach to check it: connect the token, install its module, put "
					"its PIN file where keys/issuing.key says): %s", why);
		return lerr_set(e, e->code == LERR_BAD_SECRET ? LERR_BAD_SECRET : LERR_BAD_REQUEST,
				"the backup's keys do not hold together: %s", why);
	}
	sign_ctx_free(&ctx);
	if (restore_crt(stage, SIGNER_ROOT_PEM, &root, e) != 0 ||
	    restore_key_pair(stage, SIGNER_ROOT_KEY, root, o->keys_pass, e) != 0 ||
	    restore_crt(stage, STATE_GATEWAY_PEM, &gw, e) != 0 ||
	    restore_key_pair(stage, STATE_GATEWAY_KEY, gw, NULL, e) != 0 ||
	    restore_crt(stage, STATE_ROOT_PEM, &pub_root, e) != 0)
		goto out;
	if (x509_export_der(pub_root, &pub_der) != 0 || !restore_same_der(root, &pub_der)) {
		lerr_set(e, LERR_BAD_REQUEST, "the backup's %s is not %s", STATE_ROOT_PEM,
			 SIGNER_ROOT_PEM);
		goto out;
	}
	if (state_path(path, stage, SIGNER_KEYS_DIR "/" SIGNER_PREV_ROOT_KEY_NAME) == 0 &&
	    access(path, F_OK) == 0 &&
	    (restore_crt(stage, SIGNER_KEYS_DIR "/" SIGNER_PREV_ROOT_PEM_NAME, &prev, e) != 0 ||
	     restore_key_pair(stage, SIGNER_KEYS_DIR "/" SIGNER_PREV_ROOT_KEY_NAME, prev,
			      o->keys_pass, e) != 0))
		goto out;
	if (x509_fingerprint(root, fp) != 0 || strcmp(fp, sum->root_fp) != 0) {
		lerr_set(e, LERR_BAD_REQUEST, "the backup's root is not the one its description "
			 "names (%.16s...)", sum->root_fp);
		goto out;
	}
	if (o->root_fp != NULL && !restore_fp_is(o->root_fp, fp)) {
		lerr_set(e, LERR_FORBIDDEN, "the backup's root is %s, not the one you named "
			 "(--root-sha256)", fp);
		goto out;
	}
	/* The gateway's certificate is the issuing CA's, as the keys are. */
	if (restore_gateway_issued(stage, e) != 0)
		goto out;
	/* The store: schema brought up to date, its root the keys' root,
	 * and its audit chain whole under the keys' audit key. */
	if (state_path(path, stage, STORE_FILE) != 0 || store_open(path, 0, &st, e) != 0 ||
	    ca_set_load(st, &ca, e) != 0)
		goto out;
	if (!restore_same_der(root, &ca.root_der)) {
		lerr_set(e, LERR_BAD_REQUEST, "the backup's store names another root (%.16s...) "
			 "than its keys/", ca.root_fp);
		goto out;
	}
	if (state_path(path, stage, SIGNER_AUDIT_PUB) != 0 || auditlog_read_pub(path, pk, e) != 0 ||
	    auditlog_verify(st, pk, &ar, e) != 0)
		goto out;
	if (!ar.ok) {
		lerr_set(e, LERR_BAD_REQUEST, "the backup's audit log is broken at row %lld: %s",
			 (long long)ar.broken_row, ar.why);
		goto out;
	}
	rc = 0;
out:
	ca_set_free(&ca);
	store_close(st);
	gnutls_free(pub_der.data);
	if (root != NULL)
		gnutls_x509_crt_deinit(root);
	if (pub_root != NULL)
		gnutls_x509_crt_deinit(pub_root);
	if (gw != NULL)
		gnutls_x509_crt_deinit(gw);
	if (prev != NULL)
		gnutls_x509_crt_deinit(prev);
	return rc;
}

int
restore_run(const char *in, const char *dir, const struct restore_opts *o,
	    struct backup_summary *s, struct lerr *e)
{
	char stage[STATE_PATH_MAX], path[STATE_PATH_MAX], parent[STATE_PATH_MAX];
	char target[STATE_PATH_MAX];
	struct restore r;
	struct stat st;
	size_t n;
	int fd = -1, made = 0, rc = -1;

	memset(s, 0, sizeof(*s));
	memset(&r, 0, sizeof(r));
	r.fd = -1;
	r.sum = s;
	r.o = o;
	/* "DIR/" is DIR: the new directory goes beside it, not into it. */
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n >= sizeof(target) || (n == 1 && dir[0] == '/'))
		return lerr_set(e, LERR_BAD_REQUEST, "%s: not a place for a state directory", dir);
	memcpy(target, dir, n);
	target[n] = '\0';
	dir = target;
	if (init_dir_free(dir, e) != 0)
		return -1;
	fd = open(in, O_RDONLY | O_CLOEXEC | O_NONBLOCK);	/* a FIFO does not hang us */
	if (fd < 0)
		return lerr_set(e, errno == ENOENT ? LERR_NOT_FOUND : LERR_INTERNAL, "%s: %s", in,
				strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		lerr_set(e, LERR_BAD_REQUEST, "%s is not a regular file", in);
		goto out;
	}
	s->bytes = (uint64_t)st.st_size;
	if (snprintf(stage, sizeof(stage), "%s.restore-XXXXXX", dir) >= (int)sizeof(stage)) {
		lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
		goto out;
	}
	if (mkdtemp(stage) == NULL) {
		lerr_set(e, LERR_INTERNAL, "cannot create a directory beside %s: %s", dir,
			 strerror(errno));
		goto out;
	}
	made = 1;
	r.stage = stage;
	if (chmod(stage, 0700) != 0 || state_path(path, stage, SIGNER_KEYS_DIR) != 0 ||
	    mkdir(path, 0700) != 0) {
		lerr_set(e, LERR_INTERNAL, "preparing %s: %s", stage, strerror(errno));
		goto out;
	}
	if (restore_unpack(fd, o, &r, e) != 0 || restore_token(stage, s, e) != 0 ||
	    restore_check(stage, o, s, e) != 0)
		goto out;
	if (o->user != NULL && handover_state(stage, o->user, e) != 0)
		goto out;
	if (fileio_sync_dir(path) != 0 || fileio_sync_dir(stage) != 0) {
		lerr_set(e, LERR_INTERNAL, "syncing %s: %s", stage, strerror(errno));
		goto out;
	}
	/* Replaces DIR if it is an empty directory; fails if it filled up. */
	if (rename(stage, dir) != 0) {
		lerr_set(e, LERR_CONFLICT, "cannot move the restored state into %s: %s", dir,
			 strerror(errno));
		goto out;
	}
	made = 0;
	snprintf(parent, sizeof(parent), "%s", dir);
	(void)fileio_sync_dir(dirname(parent));
	rc = 0;
out:
	free(r.sealed);
	if (r.fd >= 0)
		close(r.fd);
	if (fd >= 0)
		close(fd);
	if (made)
		fileio_remove_tree(stage);
	return rc;
}
