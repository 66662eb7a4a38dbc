/*
 * preauth.c - pre-authorised devices: the CSV import and the enrollment
 * check (see preauth.h for the file layout and the error codes).
 *
 * The CSV is tokenised by libcsv in strict mode. libcsv has no notion of
 * line numbers, so the file is fed to it one physical line at a time and
 * every record remembers the line it started on: errors name that line.
 * libcsv's own field buffer may hold a secret, so it is given allocation
 * functions that wipe whatever they free; the clear secrets themselves are
 * collected in one sodium_malloc'd arena, hashed once the whole file has
 * passed, and wiped with it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>
#include <sodium.h>

#include "daemon/auth.h"
#include "daemon/preauth.h"

enum pa_col {
	PA_COL_IGNORED = 0,
	PA_COL_ID,
	PA_COL_NAME,
	PA_COL_SECRET,
	PA_COL_AUTH_TYPE,
};

static const char *const pa_col_names[] = {
	[PA_COL_ID] = "ID",
	[PA_COL_NAME] = "NAME",
	[PA_COL_SECRET] = "SECRET",
	[PA_COL_AUTH_TYPE] = "AUTH_TYPE",
};

/* What the rows array does not hold: where a row came from and where its
 * secret waits in the arena. */
struct pa_meta {
	size_t line;
	size_t secret_off;
	int has_secret;
};

struct pa_ctx {
	struct lerr *e;
	int failed;

	/* position: the physical line being fed, the line the current
	 * record started on, whether a record is open */
	size_t line, start_line;
	int open;

	/* header */
	int have_header;
	enum pa_col map[PREAUTH_COLS_MAX];
	size_t ncols;

	/* the record being read */
	size_t field;			/* fields seen in it */
	int seen[PA_COL_AUTH_TYPE + 1];	/* header: columns named so far */
	struct store_preauth cur;
	struct pa_meta cur_meta;

	/* rows so far */
	struct store_preauth *rows;
	struct pa_meta *meta;
	size_t n, alloc;

	/* the clear secrets, NUL-terminated, in locked memory */
	unsigned char *arena;
	size_t arena_size, arena_used;
};

/* ---- libcsv's allocator: wipe everything it lets go of ---- */

/* A size header in front of each block, so that realloc knows how much
 * to copy and wipe. */
union pa_hdr {
	size_t size;
	max_align_t align;
};

static void *
pa_csv_realloc(void *old, size_t n)
{
	union pa_hdr *h, *oh;
	size_t keep;

	if (n > SIZE_MAX - sizeof(*h) || (h = malloc(sizeof(*h) + n)) == NULL)
		return NULL;
	h->size = n;
	if (old != NULL) {
		oh = (union pa_hdr *)old - 1;
		keep = oh->size < n ? oh->size : n;
		memcpy(h + 1, old, keep);
		sodium_memzero(oh, sizeof(*oh) + oh->size);
		free(oh);
	}
	return h + 1;
}

static void
pa_csv_free(void *p)
{
	union pa_hdr *h;

	if (p == NULL)
		return;
	h = (union pa_hdr *)p - 1;
	sodium_memzero(h, sizeof(*h) + h->size);
	free(h);
}

/* ---- field checks ---- */

int
preauth_id_ok(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++) {
		char c = id[i];

		if (i >= PREAUTH_ID_MAX)
			return 0;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '@' || c == '-'))
			return 0;
	}
	return i > 0;
}

/* 1 if p[0..n) is well-formed UTF-8 without control characters (C0,
 * DEL, C1): a name shown to admins must not move their cursor. */
static int
pa_printable(const unsigned char *p, size_t n)
{
	size_t i = 0, k, more;
	uint32_t cp, min;

	while (i < n) {
		unsigned char c = p[i];

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			more = 1; cp = c & 0x1f; min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			more = 2; cp = c & 0x0f; min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			more = 3; cp = c & 0x07; min = 0x10000;
		} else {
			return 0;
		}
		if (n - i <= more)
			return 0;
		for (k = 1; k <= more; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		i += more + 1;
	}
	return 1;
}

/* Copies at most 32 bytes of a field into out for an error message,
 * with anything unprintable as '?' (the file may hold anything). */
static const char *
pa_quote(const unsigned char *p, size_t n, char out[40])
{
	size_t i, m = n > 32 ? 32 : n;

	for (i = 0; i < m; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	if (n > m) {
		out[i++] = '.'; out[i++] = '.'; out[i++] = '.';
	}
	out[i] = '\0';
	return out;
}

/* Records the first error (a later one is a consequence) and returns -1. */
static int
pa_fail(struct pa_ctx *c, int http, enum lerr_code code, const char *what, const char *detail)
{
	if (c->failed)
		return -1;
	c->failed = 1;
	if (c->start_line > 0)
		lerr_set_http(c->e, code, http, "line %zu: %s%s", c->start_line, what, detail);
	else
		lerr_set_http(c->e, code, http, "%s%s", what, detail);
	return -1;
}

/* ---- the header row ---- */

static void
pa_header_field(struct pa_ctx *c, const unsigned char *p, size_t n)
{
	char name[16];
	enum pa_col col = PA_COL_IGNORED;
	size_t k;

	if (c->field >= PREAUTH_COLS_MAX) {
		pa_fail(c, 400, LERR_BAD_REQUEST, "the header has more than 64 columns", "");
		return;
	}
	if (n < sizeof(name)) {
		if (n > 0)
			memcpy(name, p, n);
		name[n] = '\0';
		for (k = PA_COL_ID; k <= PA_COL_AUTH_TYPE; k++)
			if (strcasecmp(name, pa_col_names[k]) == 0)
				col = (enum pa_col)k;
	}
	if (col != PA_COL_IGNORED) {
		if (c->seen[col]) {
			pa_fail(c, 400, LERR_BAD_REQUEST, "the header names a column twice: ",
				pa_col_names[col]);
			return;
		}
		c->seen[col] = 1;
	}
	c->map[c->field] = col;
}

static void
pa_header_end(struct pa_ctx *c)
{
	if (!c->seen[PA_COL_ID] || !c->seen[PA_COL_NAME]) {
		pa_fail(c, 400, LERR_BAD_REQUEST, "the first line must be a header naming ",
			!c->seen[PA_COL_ID] ? "an ID column (ID,NAME[,SECRET][,AUTH_TYPE])"
					    : "a NAME column (ID,NAME[,SECRET][,AUTH_TYPE])");
		return;
	}
	c->ncols = c->field;
	c->have_header = 1;
}

/* ---- data rows ---- */

static void
pa_data_field(struct pa_ctx *c, const unsigned char *p, size_t n)
{
	char q[40], hdr[24];

	if (c->field >= c->ncols) {
		snprintf(hdr, sizeof(hdr), "%zu", c->ncols);
		pa_fail(c, 400, LERR_BAD_REQUEST, "more fields than the header's ", hdr);
		return;
	}
	switch (c->map[c->field]) {
	case PA_COL_ID:
		if (n == 0) {
			pa_fail(c, 400, LERR_BAD_REQUEST, "empty ID", "");
			return;
		}
		if (n > PREAUTH_ID_MAX || memchr(p, '\0', n) != NULL) {
			pa_fail(c, 400, LERR_BAD_REQUEST, "ID is not a device id (1..64 of "
				"A-Z a-z 0-9 . _ : @ -): ", pa_quote(p, n, q));
			return;
		}
		memcpy(c->cur.device_id, p, n);
		c->cur.device_id[n] = '\0';
		if (!preauth_id_ok(c->cur.device_id)) {
			pa_fail(c, 400, LERR_BAD_REQUEST, "ID is not a device id (1..64 of "
				"A-Z a-z 0-9 . _ : @ -): ", pa_quote(p, n, q));
			return;
		}
		break;
	case PA_COL_NAME:
		if (n == 0) {
			pa_fail(c, 400, LERR_BAD_REQUEST, "empty NAME", "");
			return;
		}
		if (n > PREAUTH_NAME_MAX) {
			pa_fail(c, 400, LERR_BAD_REQUEST, "NAME longer than 128 bytes", "");
			return;
		}
		if (!pa_printable(p, n)) {
			pa_fail(c, 400, LERR_BAD_REQUEST,
				"NAME holds control characters or invalid UTF-8", "");
			return;
		}
		memcpy(c->cur.name, p, n);
		c->cur.name[n] = '\0';
		break;
	case PA_COL_SECRET:
		/* The message never shows the secret, not even in part. */
		if (n == 0)
			break;
		if (n < PREAUTH_SECRET_MIN || n > PREAUTH_SECRET_MAX) {
			pa_fail(c, 400, LERR_BAD_REQUEST, "SECRET must be empty or "
				"8 to 256 bytes long", "");
			return;
		}
		if (memchr(p, '\0', n) != NULL) {
			pa_fail(c, 400, LERR_BAD_REQUEST, "SECRET holds a NUL byte", "");
			return;
		}
		if (c->arena_size - c->arena_used <= n) {
			pa_fail(c, 500, LERR_INTERNAL, "secret arena exhausted", "");
			return;
		}
		c->cur_meta.has_secret = 1;
		c->cur_meta.secret_off = c->arena_used;
		memcpy(c->arena + c->arena_used, p, n);
		c->arena[c->arena_used + n] = '\0';
		c->arena_used += n + 1;
		break;
	case PA_COL_AUTH_TYPE:
		if (n == 0)
			break;
		if (n != strlen("CERTIFICATES") || strncasecmp((const char *)p, "CERTIFICATES", n) != 0) {
			pa_fail(c, 400, LERR_BAD_REQUEST, "AUTH_TYPE must be empty or "
				"CERTIFICATES, not ", pa_quote(p, n, q));
			return;
		}
		memcpy(c->cur.auth_type, "CERTIFICATES", sizeof("CERTIFICATES"));
		break;
	case PA_COL_IGNORED:
		break;
	}
}

static void
pa_data_end(struct pa_ctx *c)
{
	char detail[48];
	size_t na;
	void *p;

	if (c->field != c->ncols) {
		snprintf(detail, sizeof(detail), "%zu fields, the header has %zu",
			 c->field, c->ncols);
		pa_fail(c, 400, LERR_BAD_REQUEST, "", detail);
		return;
	}
	if (c->n >= PREAUTH_ROWS_MAX) {
		pa_fail(c, 413, LERR_TOO_LARGE, "more than 10000 devices in one file", "");
		return;
	}
	if (c->n == c->alloc) {
		na = c->alloc == 0 ? 64 : c->alloc * 2;
		if (na > PREAUTH_ROWS_MAX)
			na = PREAUTH_ROWS_MAX;
		if ((p = realloc(c->rows, na * sizeof(*c->rows))) == NULL) {
			pa_fail(c, 500, LERR_INTERNAL, "out of memory", "");
			return;
		}
		c->rows = p;
		if ((p = realloc(c->meta, na * sizeof(*c->meta))) == NULL) {
			pa_fail(c, 500, LERR_INTERNAL, "out of memory", "");
			return;
		}
		c->meta = p;
		c->alloc = na;
	}
	c->cur_meta.line = c->start_line;
	c->rows[c->n] = c->cur;
	c->meta[c->n] = c->cur_meta;
	c->n++;
}

/* ---- libcsv callbacks ---- */

/* A record may begin mid-line (after a bare CR): its first field then
 * opens it. */
static void
pa_open(struct pa_ctx *c)
{
	if (c->open)
		return;
	c->open = 1;
	c->start_line = c->line;
}

static void
pa_cb_field(void *field, size_t n, void *arg)
{
	struct pa_ctx *c = arg;

	if (c->failed)
		return;
	pa_open(c);
	if (c->have_header)
		pa_data_field(c, field, n);
	else
		pa_header_field(c, field, n);
	c->field++;
}

static void
pa_cb_record(int term, void *arg)
{
	struct pa_ctx *c = arg;

	(void)term;
	if (c->failed)
		return;
	pa_open(c);
	if (c->have_header)
		pa_data_end(c);
	else
		pa_header_end(c);
	c->open = 0;
	c->field = 0;
	memset(&c->cur, 0, sizeof(c->cur));
	memset(&c->cur_meta, 0, sizeof(c->cur_meta));
}

/* ---- duplicates ---- */

struct pa_sorted {
	const char *id;
	size_t line;
};

static int
pa_sorted_cmp(const void *a, const void *b)
{
	const struct pa_sorted *x = a, *y = b;
	int d = strcmp(x->id, y->id);

	if (d != 0)
		return d;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Refuses a file that lists a device id twice, naming the earliest line
 * that repeats one, and the line that listed it first. */
static int
pa_check_dups(struct pa_ctx *c)
{
	struct pa_sorted *v = NULL;
	size_t i, bad = 0, first = 0;
	const char *id = NULL;
	char detail[128];
	int rc = -1;

	if (c->n < 2)
		return 0;
	if ((v = calloc(c->n, sizeof(*v))) == NULL) {
		pa_fail(c, 500, LERR_INTERNAL, "out of memory", "");
		goto out;
	}
	for (i = 0; i < c->n; i++) {
		v[i].id = c->rows[i].device_id;
		v[i].line = c->meta[i].line;
	}
	qsort(v, c->n, sizeof(*v), pa_sorted_cmp);
	for (i = 1; i < c->n; i++) {
		if (strcmp(v[i].id, v[i - 1].id) != 0 || (bad != 0 && v[i].line >= bad))
			continue;
		/* v[i - 1] is the first line of this id only if the run
		 * started there; walk back to it. */
		first = i - 1;
		while (first > 0 && strcmp(v[first - 1].id, v[i].id) == 0)
			first--;
		bad = v[i].line;
		id = v[i].id;
		first = v[first].line;
	}
	if (bad != 0) {
		c->start_line = bad;
		snprintf(detail, sizeof(detail), "%s (first on line %zu)", id, first);
		pa_fail(c, 400, LERR_BAD_REQUEST, "duplicate ID ", detail);
		goto out;
	}
	rc = 0;
out:
	free(v);
	return rc;
}

/* ---- the parse ---- */

void
preauth_rows_free(struct store_preauth *rows, size_t n)
{
	size_t i;

	if (rows == NULL)
		return;
	for (i = 0; i < n; i++)
		free(rows[i].secret_hash);
	free(rows);
}

/*
 * Feeds data to libcsv line by line (see the file comment), then checks
 * what only the whole file can tell (no rows, duplicates), then hashes the
 * secrets. On success the rows pass to the caller.
 */
int
preauth_parse(const unsigned char *data, size_t len, struct store_preauth **rows,
	      size_t *n, struct lerr *e)
{
	static const unsigned char bom[] = { 0xef, 0xbb, 0xbf };
	struct csv_parser p;
	struct pa_ctx c;
	const unsigned char *lf;
	size_t off = 0, chunk, i;
	int csv_ready = 0, rc = -1;

	*rows = NULL;
	*n = 0;
	memset(&c, 0, sizeof(c));
	c.e = e;
	if (len > PREAUTH_FILE_MAX) {
		lerr_set_http(e, LERR_TOO_LARGE, 413, "larger than %d bytes", PREAUTH_FILE_MAX);
		goto out;
	}
	if (sodium_init() < 0) {
		lerr_set(e, LERR_INTERNAL, "libsodium failed to initialise");
		goto out;
	}
	/* Secrets take at most the bytes of the file, each plus its NUL,
	 * and a field is at least as long as its value plus a separator,
	 * except the last one. */
	c.arena_size = len + 2;
	if ((c.arena = sodium_malloc(c.arena_size)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	csv_ready = 1;
	csv_set_realloc_func(&p, pa_csv_realloc);
	csv_set_free_func(&p, pa_csv_free);

	/* Spreadsheets like to start with a UTF-8 byte order mark. */
	if (len >= sizeof(bom) && memcmp(data, bom, sizeof(bom)) == 0)
		off = sizeof(bom);
	for (c.line = 1; off < len && !c.failed; c.line++) {
		lf = memchr(data + off, '\n', len - off);
		chunk = lf != NULL ? (size_t)(lf - (data + off)) + 1 : len - off;
		if (!c.open) {
			/* libcsv skips blank lines; a record starts on the
			 * first line that has something else. */
			for (i = 0; i < chunk; i++) {
				unsigned char ch = data[off + i];

				if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
					break;
			}
			if (i < chunk) {
				c.open = 1;
				c.start_line = c.line;
			}
		}
		if (csv_parse(&p, data + off, chunk, pa_cb_field, pa_cb_record, &c) != chunk) {
			c.start_line = c.line;
			pa_fail(&c, 400, LERR_BAD_REQUEST, "malformed quoting: a quote inside "
				"an unquoted field, or text after a closing quote", "");
			break;
		}
		off += chunk;
	}
	if (c.failed)
		goto out;
	if (csv_fini(&p, pa_cb_field, pa_cb_record, &c) != 0) {
		pa_fail(&c, 400, LERR_BAD_REQUEST, "a quoted field is never closed", "");
		goto out;
	}
	if (c.failed)
		goto out;
	if (!c.have_header) {
		lerr_set(e, LERR_BAD_REQUEST, "empty file: expected a header "
			 "(ID,NAME[,SECRET][,AUTH_TYPE]) and at least one device");
		goto out;
	}
	if (c.n == 0) {
		lerr_set(e, LERR_BAD_REQUEST, "no devices after the header");
		goto out;
	}
	if (pa_check_dups(&c) != 0)
		goto out;
	for (i = 0; i < c.n; i++) {
		if (!c.meta[i].has_secret)
			continue;
		if (auth_hash_secret((const char *)c.arena + c.meta[i].secret_off,
				     &c.rows[i].secret_hash, e) != 0)
			goto out;
	}
	*rows = c.rows;
	*n = c.n;
	c.rows = NULL;
	c.n = 0;
	rc = 0;
out:
	if (csv_ready)
		csv_free(&p);
	if (c.arena != NULL)
		sodium_free(c.arena);	/* wipes */
	preauth_rows_free(c.rows, c.n);
	free(c.meta);
	return rc;
}

/* ---- the enrollment check ---- */

int
preauth_check(struct store *s, const char *device_id, const char *secret,
	      struct store_preauth **out, struct lerr *e)
{
	struct store_preauth *p = NULL;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (device_id == NULL || !preauth_id_ok(device_id)) {
		lerr_set(e, LERR_NOT_FOUND, "not a pre-authorised device id");
		goto out;
	}
	if (store_preauth_get(s, device_id, &p, e) != 0)
		goto out;	/* LERR_NOT_FOUND when not listed */
	if (preauth_check_row(p, device_id, secret, e) != 0)
		goto out;
	if (out != NULL) {
		*out = p;
		p = NULL;
	}
	rc = 0;
out:
	store_preauth_free(p);
	return rc;
}

int
preauth_check_row(const struct store_preauth *p, const char *device_id, const char *secret,
		  struct lerr *e)
{
	if (device_id == NULL || !preauth_id_ok(device_id))
		return lerr_set(e, LERR_NOT_FOUND, "not a pre-authorised device id");
	if (p == NULL)
		return lerr_set(e, LERR_NOT_FOUND, "device %s is not pre-authorised", device_id);
	if (p->used_at != 0)
		return lerr_set(e, LERR_CONFLICT, "the pre-authorisation of %s was used already",
				device_id);
	if (p->secret_hash != NULL && p->secret_hash[0] != '\0' &&
	    (secret == NULL || auth_verify_secret(p->secret_hash, secret) != 0))
		return lerr_set(e, LERR_BAD_SECRET,
				"%s is pre-authorised with a secret: missing or wrong secret",
				device_id);
	return 0;
}
