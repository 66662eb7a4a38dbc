/*
 * fileio.c - bounded reads and atomic, durable writes (see fileio.h).
 *
 * libc and GnuTLS only, like the rest of common/: lanca-enroll links this
 * file without libsodium. Secret buffers are therefore pages of their own
 * (mmap), locked against swapping, kept out of core dumps, and wiped with
 * gnutls_memset before they are unmapped.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gnutls/gnutls.h>

#include "common/fileio.h"

int
fileio_join(char *out, size_t n, const char *dir, const char *name)
{
	int w = snprintf(out, n, "%s/%s", dir, name);

	return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

/* The bytes a secret buffer of len (+ its NUL) occupies: whole pages. */
static size_t
fileio_secret_span(size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t pg = page > 0 ? (size_t)page : 4096;

	return (len + 1 + pg - 1) / pg * pg;
}

/*
 * A buffer for len bytes and a NUL on pages of its own: locked so it is
 * never swapped out, left out of core dumps. Both are best effort (a low
 * RLIMIT_MEMLOCK or an old kernel must not stop lanca from reading its key),
 * as libsodium's sodium_malloc treats them. NULL when out of memory or
 * when len + 1 overflows.
 */
static unsigned char *
fileio_secret_alloc(size_t len)
{
	size_t span;
	void *p;

	if (len > SIZE_MAX / 2)
		return NULL;
	span = fileio_secret_span(len);
	p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)mlock(p, span);
#ifdef MADV_DONTDUMP
	(void)madvise(p, span, MADV_DONTDUMP);
#endif
	return p;
}

void
fileio_free_secret(unsigned char *p, size_t len)
{
	size_t span;

	if (p == NULL)
		return;
	span = fileio_secret_span(len);
	gnutls_memset(p, 0, span);
	(void)munlock(p, span);
	munmap(p, span);
}

/* Refuses a file that is not the reader's own, or that deny's mode bits
 * allow others to read or write (see fileio.h). */
int
fileio_check_owned(const struct stat *st, const char *path, const char *what, mode_t deny,
		   struct lerr *e)
{
	mode_t extra = st->st_mode & deny;

	/* Someone else's file is not ours to trust: under `serve --user`
	 * that user may write the state directory, and must not be able to
	 * hand root's signer a key, a certificate or a setting of its choosing. */
	if (st->st_uid != geteuid())
		return lerr_set(e, LERR_FORBIDDEN, "%s %s belongs to uid %ld, not to uid %ld",
				what, path, (long)st->st_uid, (long)geteuid());
	if ((extra & 044) != 0)
		return lerr_set(e, LERR_BAD_REQUEST,
				"%s %s is readable by group or others: chmod 600", what, path);
	if ((extra & 022) != 0)
		return lerr_set(e, LERR_BAD_REQUEST,
				"%s %s is writable by group or others: chmod go-w", what, path);
	if (extra != 0)
		return lerr_set(e, LERR_BAD_REQUEST,
				"%s %s has permissions for group or others: chmod 600", what, path);
	return 0;
}

int
fileio_open_read_at(int dirfd, const char *name, const char *what, mode_t deny, size_t max,
		    size_t *size, struct lerr *e)
{
	const char *sp = what != NULL ? " " : "";
	struct stat st;
	int fd;

	if (what == NULL)
		what = "";
	/* O_NONBLOCK: a FIFO planted at name would block open() until a
	 * writer came, before fstat could refuse it. It stays set: on the
	 * regular files accepted below it changes nothing. */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		lerr_set(e, errno == ENOENT ? LERR_NOT_FOUND : LERR_INTERNAL,
			 "cannot open %s%s%s: %s", what, sp, name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		lerr_set(e, LERR_BAD_REQUEST, "%s%s%s is not a regular file", what, sp, name);
		goto fail;
	}
	if (what[0] != '\0' && fileio_check_owned(&st, name, what, deny, e) != 0)
		goto fail;
	if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
		lerr_set_http(e, LERR_TOO_LARGE, 413, "%s%s%s is %jd bytes, more than the limit of %zu",
			      what, sp, name, (intmax_t)st.st_size, max);
		goto fail;
	}
	*size = (size_t)st.st_size;
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * Reads all of dirfd's name (see fileio_open_read_at). The buffer is one
 * byte longer than the content and NUL-terminated, so text callers may
 * treat it as a string. Secret buffers come from fileio_secret_alloc
 * (locked pages of their own) and must go back through fileio_free_secret
 * with the length this function gave. what (NULL for any file) names the
 * file in messages and asks for the ownership check.
 */
static int
fileio_read_checked(int dirfd, const char *name, const char *what, size_t max, int secret,
		    unsigned char **out, size_t *len, struct lerr *e)
{
	unsigned char *p = NULL;
	size_t size = 0, got = 0;
	ssize_t n;
	int fd = -1, rc = -1;

	fd = fileio_open_read_at(dirfd, name, what, 022, max, &size, e);
	if (fd < 0)
		goto out;
	p = secret ? fileio_secret_alloc(size) : malloc(size + 1);
	if (p == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory reading %s", name);
		goto out;
	}
	while (got < size) {
		n = read(fd, p + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			lerr_set(e, LERR_INTERNAL, "cannot read %s: %s", name,
				 n < 0 ? strerror(errno) : "file shrank while reading");
			goto out;
		}
		got += (size_t)n;
	}
	p[size] = '\0';
	*out = p;
	*len = size;
	p = NULL;
	rc = 0;
out:
	if (p != NULL) {
		if (secret)
			fileio_free_secret(p, size);
		else
			free(p);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int
fileio_read_at(int dirfd, const char *name, size_t max, int secret,
	       unsigned char **out, size_t *len, struct lerr *e)
{
	return fileio_read_checked(dirfd, name, NULL, max, secret, out, len, e);
}

int
fileio_read(const char *path, size_t max, int secret,
	    unsigned char **out, size_t *len, struct lerr *e)
{
	return fileio_read_at(AT_FDCWD, path, max, secret, out, len, e);
}

int
fileio_read_owned_at(int dirfd, const char *name, const char *what, size_t max,
		     unsigned char **out, size_t *len, struct lerr *e)
{
	return fileio_read_checked(dirfd, name, what, max, 0, out, len, e);
}

int
fileio_read_owned(const char *path, const char *what, size_t max,
		  unsigned char **out, size_t *len, struct lerr *e)
{
	return fileio_read_owned_at(AT_FDCWD, path, what, max, out, len, e);
}

int
fileio_sync_dir(const char *dir)
{
	int fd, rc;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* fileio_write_atomic_at, naming the file shown in messages. */
static int
fileio_write_in(int dirfd, const char *name, const char *shown, const void *data, size_t len,
		mode_t mode, int excl, struct lerr *e)
{
	char tmp[4096];
	const unsigned char *p = data;
	struct stat st;
	size_t off = 0;
	ssize_t n;
	int fd = -1, rc = -1, made = 0;

	/* One directory, dirfd's: the temporary file, the rename and the
	 * fsync below must all be in it. */
	if (name[0] == '\0' || strchr(name, '/') != NULL) {
		lerr_set(e, LERR_INTERNAL, "not a file name: %s", shown);
		goto out;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", name, (long)getpid()) >= (int)sizeof(tmp)) {
		lerr_set(e, LERR_INTERNAL, "path too long: %s", shown);
		goto out;
	}
	if (excl && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		lerr_set(e, LERR_CONFLICT, "%s already exists", shown);
		goto out;
	}
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		lerr_set(e, LERR_INTERNAL, "cannot create %s.tmp: %s", shown, strerror(errno));
		goto out;
	}
	made = 1;
	if (fchmod(fd, mode) != 0)	/* the umask may have narrowed it */
		goto io_error;
	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto io_error;
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto io_error;
	if (close(fd) != 0) {
		fd = -1;
		goto io_error;
	}
	fd = -1;
	if (excl) {
		/* linkat() fails if name appeared meanwhile: never replace. */
		if (linkat(dirfd, tmp, dirfd, name, 0) != 0)
			goto io_error;
		unlinkat(dirfd, tmp, 0);
	} else if (renameat(dirfd, tmp, dirfd, name) != 0) {
		goto io_error;
	}
	made = 0;
	if (fsync(dirfd) != 0)
		goto io_error;
	rc = 0;
	goto out;
io_error:
	lerr_set(e, LERR_INTERNAL, "cannot write %s: %s", shown, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (made)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

int
fileio_write_atomic_at(int dirfd, const char *name, const void *data, size_t len,
		       mode_t mode, int excl, struct lerr *e)
{
	return fileio_write_in(dirfd, name, name, data, len, mode, excl, e);
}

int
fileio_write_atomic(const char *path, const void *data, size_t len,
		    mode_t mode, int excl, struct lerr *e)
{
	char parent[4096];
	const char *slash = strrchr(path, '/');
	size_t plen;
	int dirfd, rc;

	if (slash == NULL) {
		snprintf(parent, sizeof(parent), ".");
	} else {
		plen = slash == path ? 1 : (size_t)(slash - path);
		if (plen >= sizeof(parent))
			return lerr_set(e, LERR_INTERNAL, "path too long: %s", path);
		memcpy(parent, path, plen);
		parent[plen] = '\0';
	}
	dirfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return lerr_set(e, LERR_INTERNAL, "cannot write %s: %s: %s", path, parent,
				strerror(errno));
	rc = fileio_write_in(dirfd, slash != NULL ? slash + 1 : path, path, data, len, mode,
			     excl, e);
	close(dirfd);
	return rc;
}

/* Removes what lies below dirfd's directory, then the directory itself. */
static int
fileio_remove_at(int parent, const char *name)
{
	struct dirent *d;
	DIR *dir;
	int fd, rc = 0;

	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return unlinkat(parent, name, 0) == 0 || errno == ENOENT ? 0 : -1;
	dir = fdopendir(fd);
	if (dir == NULL) {
		close(fd);
		return -1;
	}
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (fileio_remove_at(dirfd(dir), d->d_name) != 0)
			rc = -1;
	}
	closedir(dir);
	if (unlinkat(parent, name, AT_REMOVEDIR) != 0)
		rc = -1;
	return rc;
}

int
fileio_remove_tree(const char *path)
{
	return fileio_remove_at(AT_FDCWD, path);
}
