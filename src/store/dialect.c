/*
 * dialect.c - one-source SQL turned into PostgreSQL's dialect (see
 * dialect.h for the rules).
 *
 * Two passes over a real tokenizer, never a pattern over the whole text:
 * the first resolves the @sqlite-only and @postgresql-only blocks (their
 * markers are comments that begin a line, found as comment tokens, so a
 * marker's text inside a string is only text), the second rewrites words
 * and parameters, copying strings, quoted identifiers and comments as
 * they are.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/dialect.h"
#include "common/buf.h"
#include "common/lerr.h"

#define DIALECT_MAX	(16u * 1024 * 1024)	/* bytes of SQL in or out */

enum dialect_tok {
	TOK_SPACE,	/* blanks and line ends */
	TOK_COMMENT,	/* -- to the line's end (not included), or a block comment */
	TOK_STRING,	/* '...' or $tag$...$tag$ */
	TOK_QIDENT,	/* "..." */
	TOK_WORD,	/* a keyword or a bare identifier */
	TOK_PARAM,	/* ? or ?NNN */
	TOK_OTHER,	/* a number, an operator, punctuation */
};

struct dialect_token {
	enum dialect_tok kind;
	size_t at, len;
};

static int
dialect_word_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       (unsigned char)c >= 0x80;
}

static int
dialect_word_char(char c)
{
	return dialect_word_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/* The line number (from 1) of offset at in s, for messages. */
static unsigned
dialect_line(const char *s, size_t at)
{
	unsigned line = 1;
	size_t i;

	for (i = 0; i < at; i++)
		line += s[i] == '\n';
	return line;
}

/*
 * Reads the token of s (n bytes) at offset i into *t. Returns 0, or -1
 * with e set for a string, identifier or comment that does not end.
 */
static int
dialect_next(const char *s, size_t n, size_t i, struct dialect_token *t, struct lerr *e)
{
	size_t j = i;
	char q;

	t->at = i;
	if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
	    s[i] == '\f' || s[i] == '\v') {
		while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' ||
				 s[j] == '\r' || s[j] == '\f' || s[j] == '\v'))
			j++;
		t->kind = TOK_SPACE;
	} else if (s[i] == '-' && i + 1 < n && s[i + 1] == '-') {
		while (j < n && s[j] != '\n')
			j++;
		t->kind = TOK_COMMENT;
	} else if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
		for (j = i + 2; j + 1 < n && !(s[j] == '*' && s[j + 1] == '/'); j++)
			;
		if (j + 1 >= n)
			return lerr_set(e, LERR_INTERNAL,
					"line %u: a comment that does not end", dialect_line(s, i));
		j += 2;
		t->kind = TOK_COMMENT;
	} else if (s[i] == '\'' || s[i] == '"') {
		/* A doubled quote is the quote itself, in both dialects. */
		q = s[i];
		for (j = i + 1;; j++) {
			if (j >= n)
				return lerr_set(e, LERR_INTERNAL, "line %u: a %s that does not end",
						dialect_line(s, i),
						q == '\'' ? "string" : "quoted identifier");
			if (s[j] == q) {
				if (j + 1 < n && s[j + 1] == q)
					j++;
				else
					break;
			}
		}
		j++;
		t->kind = q == '\'' ? TOK_STRING : TOK_QIDENT;
	} else if (s[i] == '$' && i + 1 < n && (s[i + 1] == '$' || dialect_word_start(s[i + 1]))) {
		/* PostgreSQL's $tag$...$tag$ (a function's body in a
		 * @postgresql-only block); SQLite's $name parameters are not
		 * used by lanca. */
		size_t tag;

		for (j = i + 1; j < n && s[j] != '$' && dialect_word_char(s[j]); j++)
			;
		if (j >= n || s[j] != '$')
			return lerr_set(e, LERR_INTERNAL, "line %u: '$' that starts no "
					"$tag$ string (named parameters are not portable)",
					dialect_line(s, i));
		tag = j + 1 - i;
		for (j = i + tag;; j++) {
			if (j + tag > n)
				return lerr_set(e, LERR_INTERNAL,
						"line %u: a $tag$ string that does not end",
						dialect_line(s, i));
			if (memcmp(s + j, s + i, tag) == 0)
				break;
		}
		j += tag;
		t->kind = TOK_STRING;
	} else if (s[i] == '?') {
		for (j = i + 1; j < n && s[j] >= '0' && s[j] <= '9'; j++)
			;
		t->kind = TOK_PARAM;
	} else if (s[i] >= '0' && s[i] <= '9') {
		while (j < n && (dialect_word_char(s[j]) || s[j] == '.'))
			j++;
		t->kind = TOK_OTHER;
	} else if (dialect_word_start(s[i])) {
		while (j < n && dialect_word_char(s[j]))
			j++;
		t->kind = TOK_WORD;
	} else {
		j = i + 1;
		t->kind = TOK_OTHER;
	}
	t->len = j - i;
	return 0;
}

enum dialect_marker {
	MARK_NONE,
	MARK_SQLITE_BEGIN,
	MARK_SQLITE_END,
	MARK_PG_BEGIN,
	MARK_PG_END,
};

/*
 * Which marker the -- comment token t is: one only when it begins its line
 * (nothing but blanks before it) and reads exactly as a marker (blanks
 * around it aside). A comment that looks like a marker but is not one
 * (a misspelt word, text after the brace, not at the line's start) is an
 * error rather than a comment, so that a typo never changes what runs.
 */
static int
dialect_marker(const char *s, const struct dialect_token *t, enum dialect_marker *m,
	       struct lerr *e)
{
	static const struct {
		const char *text;
		enum dialect_marker m;
	} marks[] = {
		{ "@sqlite-only {", MARK_SQLITE_BEGIN },
		{ "@sqlite-only }", MARK_SQLITE_END },
		{ "@postgresql-only {", MARK_PG_BEGIN },
		{ "@postgresql-only }", MARK_PG_END },
	};
	size_t a = t->at + 2, b = t->at + t->len, k;
	int line_start = 1;

	*m = MARK_NONE;
	if (t->len < 2 || s[t->at] != '-' || s[t->at + 1] != '-')
		return 0;
	while (a < b && (s[a] == ' ' || s[a] == '\t'))
		a++;
	while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r'))
		b--;
	if (a >= b || s[a] != '@')
		return 0;
	for (k = t->at; k > 0 && s[k - 1] != '\n'; k--)
		if (s[k - 1] != ' ' && s[k - 1] != '\t')
			line_start = 0;
	for (k = 0; k < sizeof(marks) / sizeof(marks[0]); k++) {
		if (strlen(marks[k].text) == b - a && memcmp(s + a, marks[k].text, b - a) == 0) {
			if (!line_start)
				return lerr_set(e, LERR_INTERNAL,
						"line %u: a block marker must begin its line",
						dialect_line(s, t->at));
			*m = marks[k].m;
			return 0;
		}
	}
	if ((b - a >= 7 && strncasecmp(s + a, "@sqlite", 7) == 0) ||
	    (b - a >= 9 && strncasecmp(s + a, "@postgres", 9) == 0))
		return lerr_set(e, LERR_INTERNAL, "line %u: not a block marker: %.*s",
				dialect_line(s, t->at), (int)(b - a), s + a);
	return 0;
}

/* Appends n newlines: dropped lines keep their place. */
static void
dialect_newlines(struct buf *o, const char *s, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++)
		if (s[i] == '\n' && buf_append(o, "\n", 1) != 0)
			return;
}

/*
 * The first pass: s with its blocks resolved into o. Returns 0 or -1 with
 * e set.
 */
static int
dialect_blocks(const char *s, size_t n, struct buf *o, struct lerr *e)
{
	enum { OUTSIDE, IN_SQLITE } mode = OUTSIDE;
	struct dialect_token t;
	enum dialect_marker m;
	size_t i = 0, open_at = 0, eol, a;

	while (i < n) {
		if (dialect_next(s, n, i, &t, e) != 0 || dialect_marker(s, &t, &m, e) != 0)
			return -1;
		if (m == MARK_NONE) {
			if (mode == OUTSIDE) {
				if (buf_append(o, s + t.at, t.len) != 0)
					break;
			} else {
				dialect_newlines(o, s, t.at, t.at + t.len);
			}
			i = t.at + t.len;
			continue;
		}
		if (mode == IN_SQLITE && m != MARK_SQLITE_END)
			return lerr_set(e, LERR_INTERNAL, "line %u: a marker inside the "
					"@sqlite-only block of line %u", dialect_line(s, t.at),
					dialect_line(s, open_at));
		if (mode == OUTSIDE && m != MARK_SQLITE_BEGIN && m != MARK_PG_BEGIN)
			return lerr_set(e, LERR_INTERNAL, "line %u: a block ends that did not begin",
					dialect_line(s, t.at));
		/* The marker's line goes, but for its line end. */
		i = t.at + t.len;
		if (m == MARK_SQLITE_END) {
			mode = OUTSIDE;
			continue;
		}
		if (m == MARK_SQLITE_BEGIN) {
			mode = IN_SQLITE;
			open_at = t.at;
			continue;
		}
		/* A @postgresql-only block: lines, each "-- text" (or "--", or
		 * blank), read as lines since SQLite reads them as comments. */
		open_at = t.at;
		if (i < n) {
			i++;	/* the marker's newline */
			if (buf_append(o, "\n", 1) != 0)
				break;
		}
		for (;;) {
			if (i >= n)
				return lerr_set(e, LERR_INTERNAL,
						"line %u: a @postgresql-only block that does not end",
						dialect_line(s, open_at));
			for (eol = i; eol < n && s[eol] != '\n'; eol++)
				;
			for (a = i; a < eol && (s[a] == ' ' || s[a] == '\t'); a++)
				;
			if (a + 1 < eol && s[a] == '-' && s[a + 1] == '-') {
				t.at = a;
				t.len = eol - a;
				if (dialect_marker(s, &t, &m, e) != 0)
					return -1;
				if (m == MARK_PG_END) {
					i = eol;	/* its line end is copied after */
					break;
				}
				if (m != MARK_NONE)
					return lerr_set(e, LERR_INTERNAL, "line %u: a marker inside "
							"the @postgresql-only block of line %u",
							dialect_line(s, a), dialect_line(s, open_at));
			}
			if (eol - a >= 3 && memcmp(s + a, "-- ", 3) == 0) {
				if (buf_append(o, s + a + 3, eol - a - 3) != 0)
					break;
			} else if (!(a == eol || (eol - a == 2 && memcmp(s + a, "--", 2) == 0) ||
				     (eol - a == 3 && memcmp(s + a, "--\r", 3) == 0))) {
				return lerr_set(e, LERR_INTERNAL, "line %u: a line of a @postgresql-"
						"only block must begin with '-- '", dialect_line(s, i));
			}
			if (eol < n && buf_append(o, "\n", 1) != 0)
				break;
			i = eol < n ? eol + 1 : eol;
		}
		if (buf_failed(o))
			break;
	}
	if (buf_failed(o))
		return lerr_set(e, LERR_INTERNAL, "translated SQL over %u bytes or out of memory",
				DIALECT_MAX);
	if (mode == IN_SQLITE)
		return lerr_set(e, LERR_INTERNAL, "line %u: a @sqlite-only block that does not end",
				dialect_line(s, open_at));
	return 0;
}

/* 1 if token t of s is the word w (ASCII, any case). */
static int
dialect_is(const char *s, const struct dialect_token *t, const char *w)
{
	return t != NULL && t->kind == TOK_WORD && strlen(w) == t->len &&
	       strncasecmp(s + t->at, w, t->len) == 0;
}

/*
 * The second pass: the words and parameters of s (n bytes, blocks already
 * resolved) rewritten into o. Tokens are read into an array first, so
 * that a rule may look at the words that follow. Sets used[k - 1] for
 * each parameter k <= nused the text names, and *maxp to the largest.
 */
static int
dialect_words(const char *s, size_t n, struct buf *o, unsigned char *used, size_t nused,
	      unsigned long *maxp_out, struct lerr *e)
{
	struct dialect_token *tk = NULL, *nt;
	size_t ntk = 0, cap = 0, i, k, *sig = NULL, nsig = 0;
	unsigned long maxp = 0, v;
	int rc = -1;

	for (i = 0; i < n; i += tk[ntk++].len) {
		if (ntk == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			if ((nt = realloc(tk, cap * sizeof(*tk))) == NULL) {
				lerr_set(e, LERR_INTERNAL, "out of memory");
				goto out;
			}
			tk = nt;
		}
		if (dialect_next(s, n, i, &tk[ntk], e) != 0)
			goto out;
	}
	/* sig[k]: the index of the k-th token that is neither blank nor a
	 * comment, for the rules that read the next words. */
	if (ntk > 0 && (sig = malloc(ntk * sizeof(*sig))) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < ntk; i++)
		if (tk[i].kind != TOK_SPACE && tk[i].kind != TOK_COMMENT)
			sig[nsig++] = i;

	for (k = 0, i = 0; i < ntk; i++) {
		const struct dialect_token *t = &tk[i];
		const struct dialect_token *n1, *n2, *n3;

		if (k < nsig && sig[k] == i)
			k++;
		if (t->kind == TOK_SPACE || t->kind == TOK_COMMENT ||
		    (t->kind != TOK_WORD && t->kind != TOK_PARAM)) {
			if (buf_append(o, s + t->at, t->len) != 0)
				break;
			continue;
		}
		/* sig[k] is now the first significant token after t. */
		n1 = k < nsig ? &tk[sig[k]] : NULL;
		n2 = k + 1 < nsig ? &tk[sig[k + 1]] : NULL;
		n3 = k + 2 < nsig ? &tk[sig[k + 2]] : NULL;
		if (t->kind == TOK_PARAM) {
			if (t->len == 1) {
				v = ++maxp;
			} else {
				/* SQLite allows ?1 to ?32766. */
				if (t->len > 6 || s[t->at + 1] == '0')
					break;
				v = strtoul(s + t->at + 1, NULL, 10);
				if (v > 32766)
					break;
				if (v > maxp)
					maxp = v;
			}
			if (v <= nused)
				used[v - 1] = 1;
			if (buf_printf(o, "$%lu", v) != 0)
				break;
		} else if (dialect_is(s, t, "INTEGER") && dialect_is(s, n1, "PRIMARY") &&
			   dialect_is(s, n2, "KEY")) {
			if (buf_puts(o, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY") != 0)
				break;
			/* Up to the end of KEY [AUTOINCREMENT]; what lay between
			 * (comments, blanks) goes with it. */
			i = dialect_is(s, n3, "AUTOINCREMENT") ? sig[k + 2] : sig[k + 1];
			k += dialect_is(s, n3, "AUTOINCREMENT") ? 3 : 2;
		} else if (dialect_is(s, t, "INTEGER")) {
			if (buf_puts(o, "BIGINT") != 0)
				break;
		} else if (dialect_is(s, t, "BLOB")) {
			if (buf_puts(o, "BYTEA") != 0)
				break;
		} else if ((dialect_is(s, t, "WITHOUT") && dialect_is(s, n1, "ROWID")) ||
			   (dialect_is(s, t, "COLLATE") && dialect_is(s, n1, "NOCASE"))) {
			/* Both words go, and the blanks before them. */
			while (o->len > 0 && (o->data[o->len - 1] == ' ' || o->data[o->len - 1] == '\t'))
				o->data[--o->len] = '\0';
			i = sig[k];
			k++;
		} else if (dialect_is(s, t, "instr") && n1 != NULL && n1->kind == TOK_OTHER &&
			   s[n1->at] == '(') {
			/* instr(X, Y) and strpos(X, Y): where Y first begins in X,
			 * from 1, or 0; the same function under two names. */
			if (buf_puts(o, "strpos") != 0)
				break;
		} else if (dialect_is(s, t, "user")) {
			if (buf_puts(o, "\"user\"") != 0)
				break;
		} else if (buf_append(o, s + t->at, t->len) != 0) {
			break;
		}
	}
	if (i < ntk && !buf_failed(o)) {
		lerr_set(e, LERR_INTERNAL, "line %u: parameter %.*s out of range",
			 dialect_line(s, tk[i].at), (int)tk[i].len, s + tk[i].at);
		goto out;
	}
	if (buf_failed(o)) {
		lerr_set(e, LERR_INTERNAL, "translated SQL over %u bytes or out of memory",
			 DIALECT_MAX);
		goto out;
	}
	*maxp_out = maxp;
	rc = 0;
out:
	free(sig);
	free(tk);
	return rc;
}

/* Both entry points: the translation into *out (if out is not NULL) and
 * the parameters into used and *maxp. */
static int
dialect_run(const char *sql, char **out, unsigned char *used, size_t nused,
	    unsigned long *maxp, struct lerr *e)
{
	struct buf mid, o;
	size_t n;
	int rc = -1;

	buf_init(&mid, DIALECT_MAX);
	buf_init(&o, DIALECT_MAX);
	if (out != NULL)
		*out = NULL;
	if (nused > 0)
		memset(used, 0, nused);
	if (sql == NULL) {
		lerr_set(e, LERR_INTERNAL, "store_dialect_pg: no SQL");
		goto out;
	}
	if ((n = strlen(sql)) > DIALECT_MAX) {
		lerr_set(e, LERR_INTERNAL, "SQL over %u bytes", DIALECT_MAX);
		goto out;
	}
	if (dialect_blocks(sql, n, &mid, e) != 0 ||
	    dialect_words(mid.len > 0 ? (const char *)mid.data : "", mid.len, &o,
			  used, nused, maxp, e) != 0)
		goto out;
	if (out == NULL) {
		rc = 0;
		goto out;
	}
	/* An empty result is still a string. */
	if (buf_append(&o, "", 0) != 0) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	*out = (char *)buf_steal(&o, NULL);
	if (*out == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	buf_free(&mid);
	buf_free(&o);
	return rc;
}

int
store_dialect_pg(const char *sql, char **out, struct lerr *e)
{
	unsigned long maxp;

	if (out == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_dialect_pg: no place for the result");
	return dialect_run(sql, out, NULL, 0, &maxp, e);
}

int
store_dialect_params(const char *sql, unsigned char *used, size_t n, struct lerr *e)
{
	unsigned long maxp = 0;

	if (used == NULL && n > 0)
		return lerr_set(e, LERR_INTERNAL, "store_dialect_params: no place for the result");
	if (dialect_run(sql, NULL, used, n, &maxp, e) != 0)
		return -1;
	return (int)maxp;
}
