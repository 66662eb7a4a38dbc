/*
 * dburl.h - the URL of a store on a database server: which strings are
 * one, and how one is shown.
 *
 * A store is named by a path (the SQLite file) or by a PostgreSQL
 * connection URI, postgresql://[user[:password]@][host][:port][/db][?...]
 * (libpq's two schemes, as libpq spells them: lower case). Such a URL
 * may carry the database password, so it never goes into a message, a
 * log line or output as it is: dburl_mask() gives the form to show.
 *
 * Owns: the schemes lanca takes for a PostgreSQL store, the longest URL
 * it takes, and the masking rule. libc only.
 */
#ifndef LANCA_DBURL_H
#define LANCA_DBURL_H

#include <stddef.h>
#include "common/lerr.h"

/* Bytes of a store URL at most, without its NUL. */
#define DBURL_MAX	1024
/* What dburl_mask() puts in place of a password. */
#define DBURL_MASK	"***"

/* Whether s begins with postgresql:// or postgres://: a PostgreSQL store
 * rather than a file's path. */
int dburl_is_postgres(const char *s);

/* Whether url is one lanca takes for a store on PostgreSQL: a scheme
 * above, something after it, at most DBURL_MAX bytes, and no control
 * characters or spaces (a URL percent-encodes those). 0, or -1 with e
 * (LERR_BAD_REQUEST), whose message never quotes url. */
int dburl_check(const char *url, struct lerr *e);

/* Copies url into out (n bytes, NUL-terminated) with its password
 * replaced by DBURL_MASK: the password of its user information
 * (scheme://user:PASSWORD@host) and the value of a password= parameter.
 * Where it cannot tell where a password ends it masks more, never less.
 * Returns 0, or -1 when the masked form does not fit (out then holds a
 * placeholder, never a part of url). */
int dburl_mask(const char *url, char *out, size_t n);

/* Replaces every copy of url in text (a NUL-terminated message in a
 * buffer of n bytes, such as a struct lerr's) by its masked form, cutting
 * what no longer fits. For a message from code that might quote the URL
 * it was given. */
void dburl_scrub(char *text, size_t n, const char *url);

#endif
