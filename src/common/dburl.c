/*
 * dburl.c - store URLs: the PostgreSQL schemes, the check, and the
 * masked form that may be shown (see dburl.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/dburl.h"

static const char *const dburl_schemes[] = { "postgresql://", "postgres://" };

/* Length of s's scheme and "//" when it is one of ours, else 0. */
static size_t
dburl_scheme_len(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return 0;
	for (i = 0; i < sizeof(dburl_schemes) / sizeof(dburl_schemes[0]); i++) {
		n = strlen(dburl_schemes[i]);
		if (strncmp(s, dburl_schemes[i], n) == 0)
			return n;
	}
	return 0;
}

int
dburl_is_postgres(const char *s)
{
	return dburl_scheme_len(s) != 0;
}

int
dburl_check(const char *url, struct lerr *e)
{
	size_t n = dburl_scheme_len(url), i, len;

	if (url == NULL || url[0] == '\0')
		return lerr_set(e, LERR_BAD_REQUEST, "the store URL is empty");
	if (n == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the store URL must begin with postgresql:// "
				"or postgres:// (a PostgreSQL server's; the SQLite store needs none)");
	len = strnlen(url, DBURL_MAX + 1);
	if (len > DBURL_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "the store URL is longer than %d bytes",
				DBURL_MAX);
	if (len == n)
		return lerr_set(e, LERR_BAD_REQUEST, "the store URL names no server or database "
				"after its scheme");
	/* A second line, a tab or a space would be taken for the end of it
	 * by whoever reads store.url next; a URL percent-encodes them. */
	for (i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return lerr_set(e, LERR_BAD_REQUEST, "the store URL holds a space or a "
					"control character at byte %zu (percent-encode it)", i + 1);
	return 0;
}

/* An output buffer that remembers overflowing. */
struct dburl_out {
	char *p;
	size_t n, used;
	int full;
};

static void
dburl_put(struct dburl_out *o, const char *s, size_t len)
{
	if (o->full || len >= o->n - o->used) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->used, s, len);
	o->used += len;
	o->p[o->used] = '\0';
}

/* Whether the query key p (klen bytes) names a secret: password and
 * sslpassword (the client key's passphrase), in any case, and any key
 * written with a %-escape, which libpq decodes (pass%77ord). */
static int
dburl_secret_key(const char *p, size_t klen)
{
	size_t i, w = strlen("password");

	if (memchr(p, '%', klen) != NULL)
		return 1;
	for (i = 0; i + w <= klen; i++)
		if (strncasecmp(p + i, "password", w) == 0)
			return 1;
	return 0;
}

/* Appends the query string q (from its '?', len bytes) with the value of
 * every secret parameter masked (dburl_secret_key). */
static void
dburl_put_query(struct dburl_out *o, const char *q, size_t len)
{
	const char *end = q + len, *p = q, *amp, *eq;
	size_t klen;

	while (p < end) {
		/* One separator ('?' first, then '&'), then key=value. */
		dburl_put(o, p, 1);
		p++;
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		klen = eq != NULL ? (size_t)(eq - p) : 0;
		if (eq != NULL && dburl_secret_key(p, klen)) {
			dburl_put(o, p, klen + 1);
			dburl_put(o, DBURL_MASK, strlen(DBURL_MASK));
		} else {
			dburl_put(o, p, (size_t)(amp - p));
		}
		p = amp;
	}
}

int
dburl_mask(const char *url, char *out, size_t n)
{
	struct dburl_out o = { out, n, 0, 0 };
	const char *p, *q, *at, *colon, *rest;
	size_t sl;

	if (n == 0)
		return -1;
	out[0] = '\0';
	sl = dburl_scheme_len(url);
	if (sl == 0) {
		/* A file's path: nothing secret in it. */
		dburl_put(&o, url != NULL ? url : "", url != NULL ? strlen(url) : 0);
	} else {
		p = url + sl;
		/* libpq ends the user information at the first '@' or '/'; the
		 * last '@' of all masks a password that holds a raw '@', '/'
		 * or '?' too (and at worst more than the password). */
		at = strrchr(p, '@');
		colon = at != NULL ? memchr(p, ':', (size_t)(at - p)) : NULL;
		rest = url;
		if (colon != NULL) {
			dburl_put(&o, url, (size_t)(colon + 1 - url));
			dburl_put(&o, DBURL_MASK, strlen(DBURL_MASK));
			rest = at;
		}
		q = strchr(rest, '?');
		if (q == NULL)
			q = rest + strlen(rest);
		dburl_put(&o, rest, (size_t)(q - rest));
		dburl_put_query(&o, q, strlen(q));
	}
	if (o.full) {
		/* Never a truncated URL: its cut might fall inside a secret. */
		if (n > strlen("(store URL)"))
			memcpy(out, "(store URL)", strlen("(store URL)") + 1);
		else
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/* Where url's first secret begins: its user information's password, or
 * else the value of its first secret parameter. 0 when it has none. */
static size_t
dburl_secret_start(const char *url)
{
	size_t sl = dburl_scheme_len(url);
	const char *p, *at, *colon, *q, *eq, *amp;

	if (sl == 0)
		return 0;
	p = url + sl;
	at = strrchr(p, '@');
	colon = at != NULL ? memchr(p, ':', (size_t)(at - p)) : NULL;
	if (colon != NULL)
		return (size_t)(colon + 1 - url);
	for (q = strchr(p, '?'); q != NULL; q = strchr(q + 1, '&')) {
		amp = strchr(q + 1, '&');
		eq = strchr(q + 1, '=');
		if (eq != NULL && (amp == NULL || eq < amp) &&
		    dburl_secret_key(q + 1, (size_t)(eq - q - 1)))
			return (size_t)(eq + 1 - url);
	}
	return 0;
}

void
dburl_scrub(char *text, size_t n, const char *url)
{
	char masked[DBURL_MAX + 16], *p, *tmp;
	size_t ulen, mlen, tlen, off = 0, k, secret;

	if (text == NULL || n == 0 || url == NULL || !dburl_is_postgres(url))
		return;
	ulen = strlen(url);
	(void)dburl_mask(url, masked, sizeof(masked));
	mlen = strlen(masked);
	tmp = malloc(n);
	while ((p = strstr(text + off, url)) != NULL) {
		if (tmp == NULL) {
			/* No room to rebuild it: nothing of it is kept. */
			text[0] = '\0';
			return;
		}
		off = (size_t)(p - text);
		/* text[0..off) + masked + the rest, cut to n - 1 bytes. */
		snprintf(tmp, n, "%.*s%s%s", (int)off, text, masked, p + ulen);
		memcpy(text, tmp, n);
		text[n - 1] = '\0';
		tlen = strlen(text);
		off = off + mlen < tlen ? off + mlen : tlen;
	}
	if (tmp != NULL) {
		explicit_bzero(tmp, n);
		free(tmp);
	}
	/* A message cut short inside the URL: its tail is the URL's start,
	 * which may reach into the password. The tail is cut there. */
	secret = dburl_secret_start(url);
	tlen = strlen(text);
	if (secret == 0)
		return;
	for (k = ulen - 1 < tlen ? ulen - 1 : tlen; k > secret; k--) {
		if (memcmp(text + tlen - k, url, k) == 0) {
			text[tlen - k + secret] = '\0';
			if (tlen - k + secret + strlen(DBURL_MASK) < n)
				memcpy(text + tlen - k + secret, DBURL_MASK, strlen(DBURL_MASK) + 1);
			break;
		}
	}
}
