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
#include <libgen.h>
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
	/* Someone else's file is not ours to trust: under `serve --user`
	 * that user may write the state directory, and must not be able to
	 * hand root's signer a key, a certificate or a setting of its choosing. */
	if (st->st_uid != geteuid())
		return lerr_set(e, LERR_FORBIDDEN, "%s %s belongs to uid %ld, not to uid %ld",
				what, path, (long)st->st_uid, (long)geteuid());
	if ((st->st_mode & deny) != 0 && (deny & 044) != 0)
		return lerr_set(e, LERR_BAD_REQUEST,
				"%s %s is readable by group or others: chmod 600", what, path);
	if ((st->st_mode & deny) != 0)
		return lerr_set(e, LERR_BAD_REQUEST,
				"%s %s is writable by group or others: chmod go-w", what, path);
	return 0;
}

/*
 * Reads all of path (regular file, at most max bytes). The buffer is one
 * byte longer than the content and NUL-terminated, so text callers may
 * treat it as a string. Secret buffers come from fileio_secret_alloc
 * (locked pages of their own) and must go back through fileio_free_secret
 * with the length this function gave. For fileio_read and
 * fileio_read_owned: what (NULL for any file) names the file in messages
 * and asks for the ownership check.
 */
static int
fileio_read_checked(const char *path, const char *what, size_t max, int secret,
		    unsigned char **out, size_t *len, struct lerr *e)
{
	unsigned char *p = NULL;
	struct stat st;
	size_t size, got = 0;
	ssize_t n;
	int fd = -1, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		lerr_set(e, errno == ENOENT ? LERR_NOT_FOUND : LERR_INTERNAL,
			 "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		lerr_set(e, LERR_BAD_REQUEST, "%s is not a regular file", path);
		goto out;
	}
	if (what != NULL && fileio_check_owned(&st, path, what, 022, e) != 0)
		goto out;
	if ((uintmax_t)st.st_size > max) {
		lerr_set_http(e, LERR_TOO_LARGE, 413, "%s is %jd bytes, more than the limit of %zu",
			 path, (intmax_t)st.st_size, max);
		goto out;
	}
	size = (size_t)st.st_size;
	p = secret ? fileio_secret_alloc(size) : malloc(size + 1);
	if (p == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory reading %s", path);
		goto out;
	}
	while (got < size) {
		n = read(fd, p + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			lerr_set(e, LERR_INTERNAL, "cannot read %s: %s", path,
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
fileio_read(const char *path, size_t max, int secret,
	    unsigned char **out, size_t *len, struct lerr *e)
{
	return fileio_read_checked(path, NULL, max, secret, out, len, e);
}

int
fileio_read_owned(const char *path, const char *what, size_t max,
		  unsigned char **out, size_t *len, struct lerr *e)
{
	return fileio_read_checked(path, what, max, 0, out, len, e);
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

/* fsync the directory holding path, so a rename in it is durable. */
static int
fileio_sync_parent(const char *path)
{
	char tmp[4096];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -1;
	return fileio_sync_dir(dirname(tmp));
}

int
fileio_write_atomic(const char *path, const void *data, size_t len,
		    mode_t mode, int excl, struct lerr *e)
{
	char tmp[4096];
	const unsigned char *p = data;
	size_t off = 0;
	ssize_t n;
	int fd = -1, rc = -1, made = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		lerr_set(e, LERR_INTERNAL, "path too long: %s", path);
		goto out;
	}
	if (excl && access(path, F_OK) == 0) {
		lerr_set(e, LERR_CONFLICT, "%s already exists", path);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		lerr_set(e, LERR_INTERNAL, "cannot create %s: %s", tmp, strerror(errno));
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
		/* link() fails if path appeared meanwhile: never replace. */
		if (link(tmp, path) != 0)
			goto io_error;
		unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		goto io_error;
	}
	made = 0;
	if (fileio_sync_parent(path) != 0)
		goto io_error;
	rc = 0;
	goto out;
io_error:
	lerr_set(e, LERR_INTERNAL, "cannot write %s: %s", path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(tmp);
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
