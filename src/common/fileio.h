/*
 * fileio.h - bounded reads and atomic, durable writes of small files.
 *
 * Owns: how lanca puts bytes on disk. Every file it writes (keys,
 * certificates, exported PEM) goes through fileio_write_atomic(): written to
 * a temporary name in the same directory with the final mode from the start,
 * fsync'd, renamed, and the directory fsync'd, so a reader sees the old file
 * or the new one, never half of either.
 *
 * libc and GnuTLS only: linked by the daemon, the CLI and lanca-enroll.
 */
#ifndef LANCA_FILEIO_H
#define LANCA_FILEIO_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/stat.h>
#include "common/lerr.h"

/*
 * Every read and write has a form relative to a directory descriptor
 * (*_at, dirfd and name as for openat; dirfd may be AT_FDCWD, and the
 * path forms are that): a directory opened and checked once cannot be
 * swapped under the caller between the check and the files it holds.
 */

/* Opens dirfd's name for reading: no symlink at name, no waiting on a
 * FIFO, only a regular file of at most max bytes (its size in *size).
 * what != NULL names the file in messages and also checks it with
 * fileio_check_owned(deny). Returns the descriptor (the caller closes
 * it), or -1 with e (LERR_NOT_FOUND for a missing file). */
int fileio_open_read_at(int dirfd, const char *name, const char *what, mode_t deny, size_t max,
			size_t *size, struct lerr *e);

/* Reads a whole regular file of at most max bytes into malloc'd memory
 * (NUL-terminated, not counted in *len); the caller frees it. secret != 0
 * reads into locked pages of their own instead, to be released (wiped)
 * with fileio_free_secret(p, *len). Returns 0, or -1 with e filled
 * (LERR_NOT_FOUND for a missing file, too large, not regular). */
int fileio_read(const char *path, size_t max, int secret,
		unsigned char **out, size_t *len, struct lerr *e);
int fileio_read_at(int dirfd, const char *name, size_t max, int secret,
		   unsigned char **out, size_t *len, struct lerr *e);
void fileio_free_secret(unsigned char *p, size_t len);
/* fileio_read of a file lanca trusts: it must also belong to the
 * effective user and be writable by nobody else (what names it in
 * messages, e.g. "certificate"). LERR_FORBIDDEN for another owner. */
int fileio_read_owned(const char *path, const char *what, size_t max,
		      unsigned char **out, size_t *len, struct lerr *e);
int fileio_read_owned_at(int dirfd, const char *name, const char *what, size_t max,
			 unsigned char **out, size_t *len, struct lerr *e);
/* Whether st (of path) belongs to the effective user and has none of the
 * mode bits in deny (077: private; 022: not writable by others). 0, or
 * -1 with e naming what and path. */
int fileio_check_owned(const struct stat *st, const char *path, const char *what, mode_t deny,
		       struct lerr *e);

/* Writes len bytes to path atomically with the given mode.
 * excl != 0 refuses to replace an existing file (or symlink). Returns 0
 * or -1 with e. The _at form writes dirfd's name (a name, no '/'): the
 * temporary file, the link or rename and the fsync all go through dirfd. */
int fileio_write_atomic(const char *path, const void *data, size_t len,
			mode_t mode, int excl, struct lerr *e);
int fileio_write_atomic_at(int dirfd, const char *name, const void *data, size_t len,
			   mode_t mode, int excl, struct lerr *e);

/* fsyncs the directory dir itself, so that renames and unlinks in it are
 * durable. Returns 0, or -1 with errno set. */
int fileio_sync_dir(const char *dir);

/* snprintf into out (size n) of "dir/name"; -1 if it does not fit. */
int fileio_join(char *out, size_t n, const char *dir, const char *name);

/* Removes a directory tree that lanca created (no symlinks followed). */
int fileio_remove_tree(const char *path);

#endif
