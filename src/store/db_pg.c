/*
 * db_pg.c - the PostgreSQL driver (db.h): one database shared by several
 * gateways, through libpq.
 *
 * Owns: connecting (the URL from `lanca init --store` or `join`, with
 * libpq's own multi-host failover: every connection asks for a server that
 * takes writes), reconnecting after a lost server or a failover, the
 * session settings lanca relies on, preparing each query once per session
 * in PostgreSQL's dialect (dialect.c translates the store's one source),
 * binding, rows in binary form, transactions, and telling errors apart.
 *
 * Writes from every gateway take turns: begin_write takes one transaction-
 * level advisory lock (STORE_PG_WRITE_LOCK) after BEGIN, so a batch's
 * checks (a name's owner, a window's admissions, the audit chain's head)
 * still hold when it commits, exactly as under SQLite's single writer, and
 * a gateway killed mid-batch releases the lock with its session. Every
 * session runs with synchronous_commit=on whatever the server's default:
 * COMMIT returns once the WAL is flushed (and, with a synchronous standby
 * configured, once the standby has it too), and only then is anybody told.
 *
 * A whole result is read before its first row is handed out, so a row
 * callback may run other statements on the same connection (the SQLite
 * driver allows it too).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "common/log.h"
#include "store/db.h"
#include "store/dialect.h"
#include "store/internal.h"

/* The advisory lock every gateway's writer holds for its transaction:
 * "lanca" in ASCII, unlikely to meet another application's key. */
#define STORE_PG_WRITE_LOCK	"435459616451"
/* The site's lock (store_site_lock), held by one gateway across a
 * decision on what all of them share: the write lock's key plus one. */
#define STORE_PG_SITE_LOCK	"435459616452"
#define STORE_PG_CONNECT_TIMEOUT "5"	/* seconds per host tried */
#define STORE_PG_USER_TIMEOUT	"10000"	/* ms of unacknowledged data before a peer is dead */
/* The session's settings: the server notices a gateway that vanished
 * (keepalives: about 25 s) and ends its session, which lets go of any
 * lock it held; and no gateway waits longer than STORE_PG_LOCK_WAIT for
 * a lock another holds (the request is then refused as unavailable, to
 * come back, instead of piling up). */
#define STORE_PG_LOCK_WAIT	"10s"
/* ms a statement's whole answer may take (beyond the lock wait): a
 * server that takes the request and says nothing (frozen, or its host
 * half gone while its kernel still acknowledges) would otherwise hold the
 * writer, and every write behind it, until somebody kills it; neither
 * tcp_user_timeout nor keepalives see it. The connection is then dropped
 * and made again, which finds a promoted standby. */
#define STORE_PG_ANSWER_MS	15000
#define STORE_PG_SESSION \
	"SET synchronous_commit = on; SET client_min_messages = warning; " \
	"SET TIME ZONE 'UTC'; SET tcp_keepalives_idle = 10; " \
	"SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3; " \
	"SET lock_timeout = '" STORE_PG_LOCK_WAIT "'"

/* Type OIDs of the results lanca reads (PostgreSQL's pg_type.dat). */
#define PG_OID_BOOL		16
#define PG_OID_BYTEA		17
#define PG_OID_INT8		20
#define PG_OID_INT2		21
#define PG_OID_INT4		23

struct store_db {
	PGconn *conn;			/* NULL while disconnected */
	char *url;
	enum store_role role;
	unsigned flags;
	int txn;			/* a transaction of ours is open (or was, when lost) */
	int lost;			/* the connection was lost and not made again yet */
	uint64_t commits, analyzed_at;	/* the writer's: COMMITs, and at the last ANALYZE */
	unsigned char prepared[Q_COUNT];	/* prepared in this session */
};

/*
 * Each query as PostgreSQL prepares it, made once per process on first
 * use: its translation, how many parameters it takes (its largest
 * number: SQLite leaves any it is not given NULL, PostgreSQL wants them
 * all) and the types named for those it skips (TEXT: PostgreSQL cannot
 * infer the type of a parameter the statement never uses; 0, inferred,
 * for the others).
 */
struct pg_query {
	char *sql;
	int nparams;
	Oid types[STORE_ARGS_MAX];
};
static pthread_mutex_t pg_sql_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pg_query pg_queries[Q_COUNT];

/* ---- errors ---- */

/* 1 when the connection itself failed (lost server, shut down, a standby
 * that cannot take writes): a fault that clears, and a reason to connect
 * afresh before the next statement. */
static int
pg_lost(PGconn *conn, const char *state)
{
	if (PQstatus(conn) != CONNECTION_OK)
		return 1;
	if (state == NULL)
		return 0;
	return strncmp(state, "08", 2) == 0 ||	/* connection exception */
	       strncmp(state, "57P", 3) == 0 ||	/* admin shutdown, crash shutdown... */
	       strcmp(state, "25006") == 0;	/* read-only transaction: a standby now */
}

/* The first line of libpq's message, for an error message of our own. */
static void
pg_message(const char *m, char *out, size_t size)
{
	size_t n;

	if (m == NULL || *m == '\0')
		m = "no answer from the server";
	n = strcspn(m, "\n");
	if (n >= size)
		n = size - 1;
	memcpy(out, m, n);
	out[n] = '\0';
}

/*
 * Fills e from a failed result (res may be NULL: the connection's error):
 * LERR_CONFLICT for a unique violation, LERR_STORE_UNAVAILABLE for a lost
 * server, a full disk or a transaction the server cancelled (all clear by
 * themselves), LERR_STORE otherwise. Sets *violation when not NULL.
 * Returns -1.
 */
static int
pg_err(struct store_db *d, const PGresult *res, const char *what,
       enum store_violation *violation, struct lerr *e)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[200];

	pg_message(res != NULL ? PQresultErrorMessage(res) : d->conn != NULL ?
		   PQerrorMessage(d->conn) : "no answer in time", msg, sizeof(msg));
	if (violation != NULL)
		*violation = STORE_VIOLATION_NONE;
	if (state != NULL && strcmp(state, "23505") == 0) {
		if (violation != NULL)
			*violation = STORE_VIOLATION_UNIQUE;
		return lerr_set(e, LERR_CONFLICT, "%s: %s", what, msg);
	}
	if (state != NULL && strcmp(state, "23503") == 0 && violation != NULL)
		*violation = STORE_VIOLATION_FOREIGN_KEY;
	if (pg_lost(d->conn, state)) {
		/* libpq's words name the server's address: the log's, not
		 * the answer's a device reads. */
		log_warn("the certificate store's server: %s: %s", what, msg);
		return lerr_set(e, LERR_STORE_UNAVAILABLE, "the certificate store's server "
				"is unreachable: %s failed; try again later", what);
	}
	if (state != NULL && (strcmp(state, "53100") == 0 ||	/* disk full */
	    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0))	/* a lock not granted in lock_timeout */
		return lerr_set(e, LERR_STORE_UNAVAILABLE, "the certificate store cannot "
				"take it now: %s failed (%s); try again later", what, msg);
	return lerr_set(e, LERR_STORE, "%s: %s", what, msg);
}

/* ---- rows ---- */

/* A row of a result, as the accessors see it. */
struct pg_cursor {
	PGresult *res;
	int row;
};

static uint64_t
pg_be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int64_t
pg_get_int(void *h, int col)
{
	struct pg_cursor *c = h;
	const unsigned char *p;
	int n;

	if (PQgetisnull(c->res, c->row, col))
		return 0;
	p = (const unsigned char *)PQgetvalue(c->res, c->row, col);
	n = PQgetlength(c->res, c->row, col);
	switch (PQftype(c->res, col)) {
	case PG_OID_INT8:
		return n == 8 ? (int64_t)pg_be(p, 8) : 0;
	case PG_OID_INT4:
		return n == 4 ? (int64_t)(int32_t)(uint32_t)pg_be(p, 4) : 0;
	case PG_OID_INT2:
		return n == 2 ? (int64_t)(int16_t)(uint16_t)pg_be(p, 2) : 0;
	case PG_OID_BOOL:
		return n == 1 && p[0] != 0;
	default:
		/* A column the store reads as a number is one of the above:
		 * anything else is a query that needs a cast. */
		log_err("store: column %s of type %u read as a number",
			PQfname(c->res, col), (unsigned)PQftype(c->res, col));
		return 0;
	}
}

static int
pg_get_null(void *h, int col)
{
	struct pg_cursor *c = h;

	return PQgetisnull(c->res, c->row, col);
}

static const char *
pg_get_text(void *h, int col)
{
	struct pg_cursor *c = h;

	if (PQgetisnull(c->res, c->row, col))
		return NULL;
	/* libpq ends every value with a NUL, binary ones too; text has none
	 * inside. */
	return PQgetvalue(c->res, c->row, col);
}

static const void *
pg_get_blob(void *h, int col, size_t *len)
{
	struct pg_cursor *c = h;
	int n;

	*len = 0;
	if (PQgetisnull(c->res, c->row, col))
		return NULL;
	n = PQgetlength(c->res, c->row, col);
	*len = n > 0 ? (size_t)n : 0;
	return PQgetvalue(c->res, c->row, col);
}

static int
pg_count(void *h)
{
	return PQnfields(((struct pg_cursor *)h)->res);
}

static const char *
pg_name(void *h, int col)
{
	const char *n = PQfname(((struct pg_cursor *)h)->res, col);

	return n != NULL ? n : "column";
}

static const struct store_row_ops pg_row_ops = {
	pg_get_int, pg_get_null, pg_get_text, pg_get_blob, pg_count, pg_name,
};

/* ---- connections ---- */

static void
pg_disconnect(struct store_db *d)
{
	if (d->conn != NULL)
		PQfinish(d->conn);
	d->conn = NULL;
	memset(d->prepared, 0, sizeof(d->prepared));
}

static int64_t
pg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The answer to what a PQsend* call (sent: its result) put on d's
 * connection, waiting ms at most (-1: as long as it takes): its last
 * result (an error ends the statements, as PQexec's rule is), which the
 * caller clears. NULL when nothing could be sent (the connection's error
 * says why) or no whole answer came in time: the connection is then
 * dropped (d->txn stays as it is, so a transaction's later statements
 * fail, and pg_ready connects afresh after it), and pg_err reports the
 * server unreachable.
 */
static PGresult *
pg_answer(struct store_db *d, int sent, int ms)
{
	PGresult *res, *last = NULL;
	int64_t end = pg_now_ms() + ms, left = -1;
	struct pollfd p;

	if (!sent)
		return NULL;
	for (;;) {
		while (PQisBusy(d->conn)) {
			if (ms >= 0 && (left = end - pg_now_ms()) <= 0) {
				log_warn("the certificate store's server gave no answer in %d ms: "
					 "dropping the connection", ms);
				goto lost;
			}
			p.fd = PQsocket(d->conn);
			p.events = POLLIN;
			p.revents = 0;
			if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
				goto lost;
			if (!PQconsumeInput(d->conn))
				break;	/* PQgetResult reports it */
		}
		if ((res = PQgetResult(d->conn)) == NULL)
			break;
		PQclear(last);
		last = res;
	}
	return last;
lost:
	PQclear(last);
	pg_disconnect(d);
	return NULL;
}

/* libpq's notices (a server's WARNING as it shuts down, say) go to
 * lanca's log, not straight to standard error. */
static void
pg_notice(void *arg, const char *m)
{
	char msg[200];

	(void)arg;
	pg_message(m, msg, sizeof(msg));
	log_warn("the certificate store's server says: %s", msg);
}

/* Runs one or more statements without parameters or rows on d, waiting
 * ms at most for the answer (-1: no limit). */
static int
pg_simple_ms(struct store_db *d, const char *sql, const char *what, int ms, struct lerr *e)
{
	PGresult *res = pg_answer(d, PQsendQuery(d->conn, sql), ms);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pg_err(d, res, what, NULL, e);
	PQclear(res);
	return rc;
}

static int
pg_simple(struct store_db *d, const char *sql, const char *what, struct lerr *e)
{
	return pg_simple_ms(d, sql, what, STORE_PG_ANSWER_MS, e);
}

/*
 * Text compares bytewise in the store (SQLite's BINARY), and the listings'
 * pages and ranges depend on it: a database whose collation sorts by
 * language would page device ids differently on each engine. A database
 * for lanca is made with LC_COLLATE 'C' (docs/scaling.md).
 */
static int
pg_check_collation(struct store_db *d, struct lerr *e)
{
	/* Asked of the database itself, whatever provides its collation
	 * (libc or ICU): bytewise, 'B' (0x42) sorts before 'a' (0x61). */
	PGresult *res = pg_answer(d, PQsendQuery(d->conn, "SELECT CASE WHEN 'B' < 'a' AND "
						  "'Z' < 'a' THEN 1 ELSE 0 END, (SELECT datcollate "
						  "FROM pg_database WHERE datname = "
						  "current_database())"), STORE_PG_ANSWER_MS);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		rc = pg_err(d, res, "reading the database's collation", NULL, e);
	else if (strcmp(PQgetvalue(res, 0, 0), "1") != 0)
		rc = lerr_set(e, LERR_STORE, "the database sorts text by language (%s): lanca "
			      "needs it bytewise (CREATE DATABASE ... TEMPLATE template0 "
			      "LC_COLLATE 'C' LOCALE_PROVIDER libc)", PQgetvalue(res, 0, 1));
	PQclear(res);
	return rc;
}

/*
 * Connects d. libpq tries each host of the URL in turn and keeps the first
 * that takes writes (target_session_attrs=read-write, which nothing in the
 * URL can turn off): after a failover the promoted standby is found by the
 * same URL. A reader's session refuses writes of its own.
 */
static int
pg_connect(struct store_db *d, struct lerr *e)
{
	/* Processed in order, the last value of a key kept: the defaults
	 * before the URL (it may change them), the rules after it. */
	const char *const keys[] = {
		"connect_timeout", "keepalives_idle", "tcp_user_timeout", "application_name",
		"dbname", "target_session_attrs", NULL,
	};
	const char *const values[] = {
		STORE_PG_CONNECT_TIMEOUT, "10", STORE_PG_USER_TIMEOUT, "lanca",
		d->url, "read-write", NULL,
	};
	char msg[200];

	pg_disconnect(d);
	d->conn = PQconnectdbParams(keys, values, 1);
	if (d->conn == NULL)
		return lerr_set(e, LERR_STORE, "connecting to the certificate store: out of memory");
	(void)PQsetNoticeProcessor(d->conn, pg_notice, NULL);
	if (PQstatus(d->conn) != CONNECTION_OK) {
		pg_message(PQerrorMessage(d->conn), msg, sizeof(msg));
		pg_disconnect(d);
		/* The URL is not repeated (it may hold a password), nor are
		 * libpq's words, which name the server, in the answer. */
		log_warn("connecting to the certificate store's server: %s", msg);
		return lerr_set(e, LERR_STORE_UNAVAILABLE,
				"the certificate store's server is unreachable; try again later");
	}
	if (d->role == STORE_ROLE_WRITER && pg_check_collation(d, e) != 0) {
		pg_disconnect(d);
		return -1;
	}
	if (pg_simple(d, STORE_PG_SESSION, "setting up the session", e) != 0 ||
	    (d->role == STORE_ROLE_READER &&
	     pg_simple(d, "SET default_transaction_read_only = on", "setting up the session",
		       e) != 0)) {
		pg_disconnect(d);
		return -1;
	}
	return 0;
}

/*
 * Makes sure d is connected before a statement: connects afresh when the
 * connection was lost, but never inside a transaction, whose work is gone
 * with its session. Its statements fail until the caller's ROLLBACK
 * (which then succeeds: the server rolled it back), so no statement of a
 * failed batch ever runs on its own on a new session.
 */
static int
pg_ready(struct store_db *d, struct lerr *e)
{
	if (d->conn != NULL && PQstatus(d->conn) == CONNECTION_OK)
		return 0;
	if (d->txn)
		return lerr_set(e, LERR_STORE_UNAVAILABLE, "the certificate store's server "
				"was lost in the middle of a transaction; try again later");
	/* Once an outage, not at every try: each request tries again. */
	if (!d->lost)
		log_warn("the certificate store's connection was lost: connecting again");
	d->lost = 1;
	if (pg_connect(d, e) != 0)
		return -1;
	d->lost = 0;
	log_info("the certificate store's connection is back: %s port %s", PQhost(d->conn),
		 PQport(d->conn));
	return 0;
}

static void
pg_close(struct store_db *d)
{
	if (d == NULL)
		return;
	pg_disconnect(d);
	free(d->url);
	free(d);
}

static int
pg_open(const char *target, enum store_role role, unsigned flags, struct store_db **out,
	struct lerr *e)
{
	struct store_db *d;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL || (d->url = strdup(target)) == NULL) {
		free(d);
		return lerr_set(e, LERR_STORE, "out of memory");
	}
	d->role = role;
	d->flags = flags;
	if (pg_connect(d, e) != 0) {
		pg_close(d);
		return -1;
	}
	*out = d;
	return 0;
}

/* ---- statements ---- */

#define PG_OID_TEXT		25

/* q as PostgreSQL prepares it (translated on first use); NULL with e. */
static const struct pg_query *
pg_query_of(enum store_q q, const char *sql, struct lerr *e)
{
	struct pg_query *pq = &pg_queries[q];
	unsigned char used[STORE_ARGS_MAX];
	const struct pg_query *out = NULL;
	int i, n;

	pthread_mutex_lock(&pg_sql_lock);
	if (pq->sql == NULL) {
		if ((n = store_dialect_params(sql, used, STORE_ARGS_MAX, e)) < 0)
			goto out;
		if (n > STORE_ARGS_MAX) {
			lerr_set(e, LERR_INTERNAL, "store query %d takes %d parameters", (int)q, n);
			goto out;
		}
		for (i = 0; i < n; i++)
			pq->types[i] = used[i] ? 0 : PG_OID_TEXT;
		pq->nparams = n;
		if (store_dialect_pg(sql, &pq->sql, e) != 0)
			goto out;
	}
	out = pq;
out:
	pthread_mutex_unlock(&pg_sql_lock);
	return out;
}

/* Prepares q in d's session unless it is already. */
static int
pg_prepare(struct store_db *d, enum store_q q, const char *sql, struct lerr *e)
{
	const struct pg_query *pq;
	char name[24];
	PGresult *res;
	int rc = 0;

	if (d->prepared[q])
		return 0;
	if ((pq = pg_query_of(q, sql, e)) == NULL)
		return -1;
	snprintf(name, sizeof(name), "lanca_%d", (int)q);
	res = pg_answer(d, PQsendPrepare(d->conn, name, pq->sql, pq->nparams, pq->types),
			STORE_PG_ANSWER_MS);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_err(d, res, "preparing a statement", NULL, e);
	else
		d->prepared[q] = 1;
	PQclear(res);
	return rc;
}

/*
 * Each session prepares a statement once, and PostgreSQL keeps a generic
 * plan it made from the statistics of the moment: made on a new store's
 * nearly empty tables, the name owner's look-up scans every certificate
 * for as long as those statistics stand (docs/performance.md). So the
 * writer brings them up to date itself while the store is young, after
 * 64, 128, 256... commits, then every 65,536 (autovacuum's own ANALYZE
 * does the rest); new statistics make every session plan afresh. A
 * failure is logged: only speed is at stake.
 */
static void
pg_analyze_due(struct store_db *d)
{
	uint64_t next;
	struct lerr e;

	d->commits++;
	next = d->analyzed_at == 0 ? 64 : d->analyzed_at < 65536 ? 2 * d->analyzed_at :
	       d->analyzed_at + 65536;
	if (d->commits < next)
		return;
	d->analyzed_at = d->commits;
	if (pg_simple(d, "ANALYZE certificates, cert_names, requests, serials, audit, "
		      "acme_orders, acme_authz", "refreshing the statistics", &e) != 0)
		log_warn("%s", e.msg);
}

static int
pg_run(struct store_db *d, const struct store_query *x, const char *sql,
       store_db_row_fn row, void *arg, int *changed, enum store_violation *violation,
       struct lerr *e)
{
	const char *values[STORE_ARGS_MAX];
	int lengths[STORE_ARGS_MAX], formats[STORE_ARGS_MAX];
	char ints[STORE_ARGS_MAX][24];
	struct pg_cursor cur = { NULL, 0 };
	struct store_row r = { &pg_row_ops, &cur };
	const struct store_arg *a;
	ExecStatusType st;
	char name[24];
	int i, n, rows, rrc, ended = 0, in_txn, tries = 0, rc = -1;

	if (violation != NULL)
		*violation = STORE_VIOLATION_NONE;
	in_txn = d->txn;
	if (x->q == Q_COMMIT || x->q == Q_ROLLBACK) {
		/* Whatever the answer, the transaction is over: a COMMIT
		 * that fails rolls back, a lost one was rolled back, and
		 * neither is ever sent to a new session (which would answer
		 * it with a warning, and success). */
		d->txn = 0;
		if (in_txn && (d->conn == NULL || PQstatus(d->conn) != CONNECTION_OK))
			return x->q == Q_ROLLBACK ? 0 :
			       lerr_set(e, LERR_STORE_UNAVAILABLE, "the certificate store's "
					"server was lost before COMMIT; try again later");
	}
again:
	if (pg_ready(d, e) != 0)
		return -1;
	if (pg_prepare(d, x->q, sql, e) != 0) {
		/* A connection found dead at its first use since a failover
		 * or an idle kill: outside a transaction nothing is lost by
		 * connecting again and asking once more. */
		if (!in_txn && tries++ == 0 && PQstatus(d->conn) != CONNECTION_OK)
			goto again;
		return -1;
	}
	/* Numbers go as text, which PostgreSQL reads into whatever integer
	 * type the statement wants; blobs in binary, as they are. The
	 * parameters not given are NULL, as SQLite leaves them. */
	n = pg_queries[x->q].nparams;
	for (i = 0; i < n; i++) {
		a = &x->args[i];
		values[i] = NULL;
		lengths[i] = 0;
		formats[i] = 0;
		if (a->type == STORE_ARG_END)
			ended = 1;
		if (ended)
			continue;
		switch (a->type) {
		case STORE_ARG_NULL:
			break;
		case STORE_ARG_INT:
			snprintf(ints[i], sizeof(ints[i]), "%" PRId64, a->i);
			values[i] = ints[i];
			break;
		case STORE_ARG_TEXT:
			values[i] = a->p;
			break;
		case STORE_ARG_BLOB:
			if (a->len > INT32_MAX)
				return lerr_set(e, LERR_TOO_LARGE, "%s: a value is too large",
						x->what);
			/* libpq wants a pointer even for no bytes. */
			values[i] = a->len > 0 ? a->p : "";
			lengths[i] = (int)a->len;
			formats[i] = 1;
			break;
		default:
			return lerr_set(e, LERR_INTERNAL, "%s: bad parameter", x->what);
		}
	}
	if (n < STORE_ARGS_MAX && !ended && x->args[n].type != STORE_ARG_END)
		return lerr_set(e, LERR_INTERNAL, "%s: more parameters than the statement takes",
				x->what);
	snprintf(name, sizeof(name), "lanca_%d", (int)x->q);
	cur.res = pg_answer(d, PQsendQueryPrepared(d->conn, name, n, values, lengths, formats, 1),
			    STORE_PG_ANSWER_MS);
	st = PQresultStatus(cur.res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		if (!in_txn && tries++ == 0 && PQstatus(d->conn) != CONNECTION_OK) {
			PQclear(cur.res);
			cur.res = NULL;
			goto again;
		}
		pg_err(d, cur.res, x->what, violation, e);
		goto out;
	}
	/* COMMIT of a transaction the server had aborted answers ROLLBACK. */
	if (x->q == Q_COMMIT && strcmp(PQcmdStatus(cur.res), "ROLLBACK") == 0) {
		lerr_set(e, LERR_STORE, "%s: the transaction had failed and was rolled back",
			 x->what);
		goto out;
	}
	if (x->q == Q_COMMIT && d->role == STORE_ROLE_WRITER)
		pg_analyze_due(d);
	rows = st == PGRES_TUPLES_OK ? PQntuples(cur.res) : 0;
	for (cur.row = 0; row != NULL && cur.row < rows; cur.row++) {
		if ((rrc = row(&r, arg, e)) < 0)
			goto out;
		if (rrc > 0)
			break;
	}
	if (changed != NULL)
		*changed = atoi(PQcmdTuples(cur.res));
	rc = 0;
out:
	PQclear(cur.res);
	return rc;
}

static int
pg_script(struct store_db *d, const char *sql, const char *what, struct lerr *e)
{
	char *text = NULL;
	int rc;

	if (store_dialect_pg(sql, &text, e) != 0)
		return -1;
	/* A migration takes what it takes. */
	rc = pg_simple_ms(d, text, what, -1, e);
	free(text);
	return rc;
}

/* Begins a transaction with sql; d->txn says so until COMMIT or ROLLBACK.
 * A BEGIN that failed half-way is rolled back here. */
static int
pg_begin(struct store_db *d, const char *sql, const char *what, struct lerr *e)
{
	int tries = 0;

	d->txn = 0;
again:
	if (pg_ready(d, e) != 0)
		return -1;
	if (pg_simple(d, sql, what, e) != 0) {
		/* Nothing ran yet: a connection found dead now is replaced
		 * and the transaction begun on the new one. */
		if (tries++ == 0 && PQstatus(d->conn) != CONNECTION_OK)
			goto again;
		if (PQstatus(d->conn) == CONNECTION_OK &&
		    PQtransactionStatus(d->conn) != PQTRANS_IDLE)
			(void)pg_simple(d, "ROLLBACK", what, NULL);
		return -1;
	}
	d->txn = 1;
	return 0;
}

static int
pg_begin_write(struct store_db *d, struct lerr *e)
{
	/* One round trip: the lock is the transaction's, freed at its end. */
	return pg_begin(d, "BEGIN ISOLATION LEVEL READ COMMITTED; "
			"SELECT pg_advisory_xact_lock(" STORE_PG_WRITE_LOCK ")",
			"starting a write", e);
}

static int
pg_begin_read(struct store_db *d, struct lerr *e)
{
	/* Every statement of a REPEATABLE READ transaction sees the snapshot
	 * its first one took. */
	return pg_begin(d, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			"starting a read", e);
}

/* Ours, not the server's: a transaction lost with its connection is open
 * until the engine's ROLLBACK says it is over (see pg_ready). */
static int
pg_in_transaction(struct store_db *d)
{
	return d->txn;
}

static int
pg_has_table(struct store_db *d, const char *name, int *yes, struct lerr *e)
{
	const char *values[1] = { name };
	PGresult *res;
	int rc = 0;

	if (pg_ready(d, e) != 0)
		return -1;
	res = pg_answer(d, PQsendQueryParams(d->conn, "SELECT count(*) FROM "
					     "information_schema.tables WHERE table_schema = "
					     "current_schema() AND table_name = $1", 1, NULL, values,
					     NULL, NULL, 0), STORE_PG_ANSWER_MS);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		rc = pg_err(d, res, "reading the schema", NULL, e);
	else
		*yes = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
	PQclear(res);
	return rc;
}

static int
pg_site_lock(struct store_db *d, int lock, struct lerr *e)
{
	if (!lock) {
		/* A lost session let go of it already. */
		if (d->conn != NULL && PQstatus(d->conn) == CONNECTION_OK)
			(void)pg_simple(d, "SELECT pg_advisory_unlock(" STORE_PG_SITE_LOCK ")",
					"letting go of the site's lock", NULL);
		return 0;
	}
	if (pg_ready(d, e) != 0)
		return -1;
	if (pg_simple(d, "SELECT pg_advisory_lock(" STORE_PG_SITE_LOCK ")", "taking the site's lock",
		      e) == 0)
		return 0;
	/* Idle since the last decision, the connection may have died
	 * unseen: once more on a new one. */
	if (PQstatus(d->conn) == CONNECTION_OK || pg_ready(d, e) != 0)
		return -1;
	return pg_simple(d, "SELECT pg_advisory_lock(" STORE_PG_SITE_LOCK ")",
			 "taking the site's lock", e);
}

const struct store_driver store_driver_pg = {
	.name = "PostgreSQL",
	.open = pg_open,
	.close = pg_close,
	.run = pg_run,
	.script = pg_script,
	.begin_write = pg_begin_write,
	.begin_read = pg_begin_read,
	.in_transaction = pg_in_transaction,
	.has_table = pg_has_table,
	.writer_check = NULL,
	.stats = NULL,
	.shared = 1,
	.site_lock = pg_site_lock,
};
