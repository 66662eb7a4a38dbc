/*
 * internal.h - what the store's query families share with its engine.
 *
 * Internal to the store: only the files of src/store/ include it.
 * Everyone else uses store.h.
 *
 * Statements: every query of every family has one value in enum store_q.
 * Each family file defines a table indexed by that enum holding the SQL
 * of its own queries only (NULL elsewhere), written once in SQLite's
 * dialect for both databases (db.h); store_sql_text() finds the text in
 * whichever table has it and the driver prepares it once per connection.
 * store_open() checks that each query has its text in exactly one table.
 *
 * Writes: a family hands a job to store_submit(); the job runs on the
 * writer's connection inside a savepoint of a group-committed transaction
 * (see engine.c) and must use only that connection. A write of one
 * statement and its audit row needs no job of its own: store_write().
 * Reads take a pooled connection with store_reader_get() and give it back
 * with store_reader_put(); store_lookup() and store_each() do both around
 * one query.
 *
 * Queries: a struct store_query names the statement, what it is for (the
 * start of its error messages) and its parameters; store_exec() runs one
 * that returns no row, store_conn_lookup() / store_lookup() one whose
 * first row is read by a row callback, store_each() one with many rows.
 */
#ifndef LANCA_STORE_INT_H
#define LANCA_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#include <jansson.h>

#include "common/lerr.h"
#include "store/db.h"
#include "store/store.h"

#define STORE_ACTOR		"lanca"		/* actor of the store's own audit rows */

enum store_q {
	/* engine (engine.c), certificates (certs.c), audit (audit.c) */
	Q_COMMIT,
	Q_ROLLBACK,
	Q_SAVEPOINT,
	Q_RELEASE,
	Q_ROLLBACK_TO,
	Q_SERIAL_INSERT,
	Q_SERIAL_USE,
	Q_CERT_INSERT,
	Q_CERT_NAMES_INSERT,
	Q_CERT_REQUEST_CLAIM,
	Q_CERT_REQUEST_STATE,
	Q_CERT_REQUEST_LINK,
	Q_CERT_PREAUTH_USE,
	Q_CERT_PREAUTH_STATE,
	Q_CERT_REVOKE_FIND,
	Q_CERT_REVOKE,
	Q_DEVICE_CERTS,
	Q_HOST_NAMES,
	Q_CRL_NEWEST,
	Q_CRL_NEWEST_DER,
	Q_CRL_INSERT,
	Q_CRL_MAX,
	Q_CRL_ENTRIES,
	Q_CERT_FIND,			/* the inventory's pages, 18 of them (certs.c) */
	Q_CERT_FIND_LAST = Q_CERT_FIND + 17,
	Q_CERT_FIND_KEY,
	Q_CERT_RANGE_DEVICE,		/* the shell's inventory (store_cert_range) */
	Q_CERT_RANGE_ISSUED,
	Q_CERT_RANGE_EXPIRES_ASC,
	Q_CERT_RANGE_EXPIRES_DESC,
	Q_CERT_EXPIRING,
	Q_CERT_ISSUED_SINCE,
	Q_CERT_UNEXPIRED,
	Q_CERT_REVOKED_UNEXPIRED,
	Q_CERT_REVOKED_COUNT,
	Q_CERT_EXPIRING_COUNT,
	Q_CERT_REVOKED_EXPIRING_COUNT,
	Q_AUDIT_PAGE_EVENT,
	Q_AUDIT_PAGE_SUBJECT,
	Q_AUDIT_PAGE_BOTH,
	Q_AUDIT_INSERT,
	Q_AUDIT_HEAD,
	Q_AUDIT_HASH_OF,
	Q_AUDIT_SCAN,
	Q_AUDIT_CHAIN_READ,
	Q_AUDIT_CHAIN_SET,
	Q_CKPT_INSERT,
	Q_CKPT_LAST,
	Q_CKPT_SCAN,
	Q_CA_INSERT,
	Q_SETTING_SET,
	Q_CA_ACTIVE,
	Q_CA_GET,
	Q_CA_RETIRE_GATEWAY,
	Q_CA_SITE_ISSUING,
	Q_CA_INSERT_GATEWAY,
	Q_GATEWAY_COUNT,
	Q_GATEWAY_LIST,
	Q_GATEWAY_UNJOIN,
	Q_GATEWAY_SETTINGS_DROP,
	Q_CA_INSERT_OFFLINE,
	Q_CA_FIND,
	Q_CA_CONFIRM,
	Q_CA_CROSS_PRIMARY,
	Q_CERT_BY_SERIAL,
	Q_CERT_BY_KEY,
	Q_CERT_PAGE,
	Q_CERT_COUNT,
	Q_NAME_OWNER,
	Q_KEY_OWNER,
	Q_DEVICE_HOLDER,
	Q_SETTING_GET,
	Q_AUDIT_PAGE,
	Q_SCHEMA_VERSION,		/* migrations (migrate.c) */
	Q_SCHEMA_RECORD,

	/* requests (requests.c) */
	Q_REQ_FIND_KEY,
	Q_REQ_REFRESH,
	Q_REQ_COUNT_PENDING,
	Q_REQ_INSERT,
	Q_REQ_GET,
	Q_REQ_TOUCH,
	Q_REQ_DENY,
	Q_REQ_NOTE,
	Q_REQ_CONTEST,
	Q_REQ_WAITING,
	Q_REQ_PAGE,
	Q_REQ_PAGE_STATE,
	Q_REQ_EXPIRE_DUE,
	Q_REQ_EXPIRE,

	/* pre-authorised devices and vendor CAs (devices.c) */
	Q_PREAUTH_INSERT,
	Q_PREAUTH_GET,
	Q_VENDOR_INSERT,
	Q_VENDOR_EACH,

	/* administrators and sessions (admins.c) */
	Q_ADMIN_SET,
	Q_ADMIN_INSERT,
	Q_ADMIN_HASH,
	Q_ADMIN_ANY,
	Q_SESSION_PURGE,
	Q_SESSION_ENDED,
	Q_SESSION_INSERT,
	Q_SESSION_GET,
	Q_SESSION_TOUCH,
	Q_SESSION_DELETE,
	Q_SESSION_END_USER,
	Q_SETUP_SET,
	Q_SETUP_HASH,
	Q_SETUP_DELETE,
	Q_METRICS_TOKEN_SET,
	Q_METRICS_TOKEN_GET,
	Q_METRICS_TOKEN_DELETE,

	/* the onboarding snapshot (onboard.c) */
	Q_DEVICE_REVOKED,

	/* CA generations: every CA, vouchers, rollovers (generations.c) */
	Q_CA_LIST,
	Q_CROSS_LIST,
	Q_CROSS_INSERT,
	Q_CA_INSERT_GEN,
	Q_CA_SET_CRL_URL,
	Q_CA_RETIRE,
	Q_CA_PROMOTE,
	Q_CA_REVOKE,
	Q_CA_DISTRUST,
	Q_ROLL_NEWEST,
	Q_ROLL_INSERT,
	Q_ROLL_FINISH,
	Q_ROLL_COUNT_VALID,
	Q_ROLL_COUNT_UNDER,
	Q_ROLL_COUNT_FETCHED,
	Q_FETCH_UPSERT,
	Q_ROLL_REVOKE_LEAVES,

	/* ACME accounts, orders, authorisations, EAB ids (acme.c) */
	Q_ACME_ACCT_INSERT,
	Q_ACME_ACCT_GET,
	Q_ACME_ACCT_BY_KEY,
	Q_ACME_ACCT_EACH,
	Q_ACME_ACCT_WAITING,
	Q_ACME_ACCT_APPROVE,
	Q_ACME_ACCT_UPDATE,
	Q_ACME_ACCT_REKEY,
	Q_ACME_EAB_INSERT,
	Q_ACME_EAB_USE,
	Q_ACME_ORDER_INSERT,
	Q_ACME_AUTHZ_INSERT,
	Q_ACME_ORDER_GET,
	Q_ACME_ORDER_AUTHZ,
	Q_ACME_ORDERS_OF,
	Q_ACME_AUTHZ_GET,
	Q_ACME_CHALL_START,
	Q_ACME_CHALL_DONE,
	Q_ACME_ORDER_SETTLE,
	Q_ACME_AUTHZ_DEACTIVATE,
	Q_ACME_ORDER_BEGIN,
	Q_ACME_ORDER_END,
	Q_ACME_EXPIRE_AUTHZ,
	Q_ACME_EXPIRE_ORDERS,
	Q_ACME_AUTHZ_PROCESSING,
	Q_ACME_ORDERS_PROCESSING,
	Q_ACME_ORDER_ABANDON,

	Q_COUNT
};

/* What store_ca_row reads, and the reader: a row of STORE_CA_COLS into a
 * new CA at *(struct store_ca **)arg (certs.c). */
#define STORE_CA_COLS \
	"id, role, state, subject, fingerprint, not_before, not_after, der, " \
	"confirmed_at, crl_url, revoked_at, distrusted_at, gateway"
int store_ca_row(struct store_row *st, void *arg, struct lerr *e);
/* The gateway store_set_gateway named ("" for none). */
const char *store_gateway(const struct store *s);
/* Which active root is the primary: while a rollover is under way (not
 * after a compromise) the old one, which every device still trusts;
 * else the newest rollover's new root; with no rollover the newest. */
#define STORE_PRIMARY_KEYS \
	"CASE WHEN cas.id = (SELECT CASE WHEN r.finished_at IS NULL AND " \
	"r.compromise = 0 THEN r.old_root ELSE r.new_root END FROM rollovers r " \
	"ORDER BY r.id DESC LIMIT 1) THEN 1 ELSE 0 END DESC, cas.id DESC"
#define STORE_PRIMARY_ORDER "ORDER BY " STORE_PRIMARY_KEYS

/* The SQL of each family, indexed by enum store_q (NULL: another family's). */
extern const char *const store_sql_engine[Q_COUNT];	/* engine.c */
extern const char *const store_sql_certs[Q_COUNT];	/* certs.c */
extern const char *const store_sql_requests[Q_COUNT];	/* requests.c */
extern const char *const store_sql_devices[Q_COUNT];	/* devices.c */
extern const char *const store_sql_admins[Q_COUNT];	/* admins.c */
extern const char *const store_sql_audit[Q_COUNT];	/* audit.c */
extern const char *const store_sql_onboard[Q_COUNT];	/* onboard.c */
extern const char *const store_sql_crls[Q_COUNT];	/* crls.c */
extern const char *const store_sql_generations[Q_COUNT];	/* generations.c */
extern const char *const store_sql_acme[Q_COUNT];	/* acme.c */
extern const char *const store_sql_migrate[Q_COUNT];	/* migrate.c */

/* One database connection (its driver's, with the driver's cache of
 * prepared statements), as the engine hands it out. */
struct store_conn {
	const struct store_driver *drv;
	struct store_db *db;		/* NULL until opened */
	int busy;			/* readers: handed out to a thread */
	int certs_changed;		/* writer: this batch inserted or revoked a certificate */
};

/* A writer job: runs on w inside its own savepoint; returns 0, or -1 with
 * e set (the job's changes are then rolled back, the others' kept). A job
 * returns at its first failed statement: on PostgreSQL a failure aborts
 * everything after it up to the job's savepoint. */
typedef int (*store_job_fn)(struct store_conn *w, void *arg, struct lerr *e);

/* Queues run(w, arg, e) for the writer and waits until its transaction
 * committed (0) or failed (-1, e set). arg stays the caller's. */
int store_submit(struct store *s, store_job_fn run, void *arg, struct lerr *e);

/* A unit of work for the writer; lives on the caller's stack. */
struct store_job {
	store_job_fn run;
	void *arg;
	struct lerr err;
	int rc;
	int done;			/* under qlock */
	pthread_cond_t cond;		/* signalled (under qlock) once done */
	struct store_job *next;
};
/* The two halves of store_submit(), for a caller that does other work
 * while its job is committed: enqueue returns at once; wait blocks until
 * the job's transaction committed (0) or failed (-1, e set). job and its
 * arg stay the caller's until wait returned. */
int store_enqueue(struct store *s, struct store_job *job, struct lerr *e);
int store_wait(struct store *s, struct store_job *job, struct lerr *e);

/* A pooled read connection (waits while all are busy); NULL with e set on
 * failure. Give it back with store_reader_put() (NULL-safe). */
struct store_conn *store_reader_get(struct store *s, struct lerr *e);
void store_reader_put(struct store *s, struct store_conn *c);

/* Appends an audit row on the writer's connection (inside a job): the
 * next id after the newest row, chained to that row's hash (audit.c).
 * The one way an audit row is written. */
int store_audit_row(struct store_conn *w, int64_t at, const char *actor,
		    const char *event, const char *subject, const char *detail,
		    struct lerr *e);
/* The migration step of schema/0008 (a store_migrate_step): chains the
 * rows written before it. Does nothing for any other version. */
int store_audit_chain_step(struct store_conn *c, int version, struct lerr *e);
/* Serialises o compactly into *out (caller frees); always drops o's
 * reference. LERR_BAD_REQUEST when o is NULL (json_pack refused a string
 * that is not UTF-8, or ran out of memory). */
int store_json_detail(json_t *o, char **out, struct lerr *e);

/*
 * One statement and its parameters, run by store_exec(), store_lookup(),
 * store_conn_lookup() or store_each(). Parameters are built with the
 * store_arg_*() constructors below and bound to ?1, ?2... up to the first
 * STORE_ARG_END; text and blobs are bound without a copy, so what they
 * point to must outlive the run. what names the work in error messages
 * ("reading a setting: <the database's message>").
 */
enum store_arg_type {
	STORE_ARG_END = 0,		/* no more parameters */
	STORE_ARG_NULL,
	STORE_ARG_INT,
	STORE_ARG_TEXT,			/* NUL-terminated; a NULL pointer binds NULL */
	STORE_ARG_BLOB,
};

struct store_arg {
	enum store_arg_type type;
	int64_t i;			/* STORE_ARG_INT */
	const void *p;			/* STORE_ARG_TEXT, STORE_ARG_BLOB */
	size_t len;			/* STORE_ARG_BLOB */
};

#define STORE_ARGS_MAX		16	/* the most any query takes (Q_CERT_INSERT) */

struct store_query {
	enum store_q q;
	const char *what;
	struct store_arg args[STORE_ARGS_MAX];
};

static inline struct store_arg
store_arg_null(void)
{
	return (struct store_arg){ .type = STORE_ARG_NULL };
}

static inline struct store_arg
store_arg_int(int64_t i)
{
	return (struct store_arg){ .type = STORE_ARG_INT, .i = i };
}

static inline struct store_arg
store_arg_text(const char *s)
{
	return (struct store_arg){ .type = STORE_ARG_TEXT, .p = s };
}

static inline struct store_arg
store_arg_blob(const void *p, size_t len)
{
	return (struct store_arg){ .type = STORE_ARG_BLOB, .p = p, .len = len };
}

/* Reads the row st stands on (db.h's store_get_*()) into arg: 0, 1 to stop
 * (store_each only), or -1 with e set. */
typedef store_db_row_fn store_row_fn;

/* Runs x on c expecting no row; *changed (may be NULL) receives how many
 * rows it changed. 0, or -1 with e set. */
int store_exec(struct store_conn *c, const struct store_query *x, int *changed,
	       struct lerr *e);

/* Likewise for a statement that may break one constraint the caller wants
 * to name itself: 1 (e untouched) when it failed on that kind of
 * constraint, else as store_exec(). */
int store_exec_constraint(struct store_conn *c, const struct store_query *x,
			  enum store_violation v, struct lerr *e);

/* Runs x on c and hands its first row to row(st, arg, e) (row may be NULL:
 * only whether there is one matters). 0 when a row was read, 1 when there
 * is none (e untouched: the caller says what is missing), -1 with e set. */
int store_conn_lookup(struct store_conn *c, const struct store_query *x,
		      store_row_fn row, void *arg, struct lerr *e);
/* Runs the INSERT x, whose SQL ends in RETURNING id, on the writer's
 * connection w and reads the new row's id into *id: 0, or -1 with e. */
int store_insert(struct store_conn *w, const struct store_query *x, int64_t *id,
		 struct lerr *e);
/* Likewise on a read connection borrowed from s for the call. */
int store_lookup(struct store *s, const struct store_query *x, store_row_fn row,
		 void *arg, struct lerr *e);

/* Runs x on a read connection and hands each row to row(st, arg, e) until
 * it returns non-zero (1 stops: 0 returned; -1 fails) or the rows end. */
int store_each(struct store *s, const struct store_query *x, store_row_fn row,
	       void *arg, struct lerr *e);

/*
 * A page of a listing (store.h, "pages") on a read connection. x's
 * statement takes its own parameters first (x->args up to the first
 * STORE_ARG_END), then the position to start after and the number of
 * rows; it selects the rows whose position is below the first, in
 * descending order of position, at most the second, with the position
 * as its last column: "... WHERE ... rowid < ?N ORDER BY rowid DESC
 * LIMIT ?N+1". store_page_each fills those two (it fetches one row more
 * than the page, which only says that another page follows), hands the
 * page's rows to row(st, arg, e) (1 stops early) and sets pg->next.
 * store_page_walk with ascending set is the mirror image: positions
 * above the first, in ascending order.
 * 0, or -1 with e (bad_request for a limit or position out of bounds).
 */
int store_page_each(struct store *s, struct store_query *x, struct store_page *pg,
		    store_row_fn row, void *arg, struct lerr *e);
int store_page_walk(struct store *s, struct store_query *x, struct store_page *pg, int ascending,
		    store_row_fn row, void *arg, struct lerr *e);

/* store_each() on a connection the caller holds (inside a read
 * transaction, say). */
int store_conn_each(struct store_conn *c, const struct store_query *x, store_row_fn row,
		    void *arg, struct lerr *e);

/* A read transaction on a read connection c: every read between the two
 * sees one snapshot of the database. */
int store_read_begin(struct store_conn *c, struct lerr *e);
int store_read_end(struct store_conn *c, struct lerr *e);

/* Row readers of the families, for a query that reads their rows on a
 * connection of its own (onboard.c): each fills a new row at
 * *(struct store_<row> **)arg, the caller's. */
int store_cert_row(struct store_row *st, void *arg, struct lerr *e);	/* STORE_CERT_COLS */
int store_preauth_row(struct store_row *st, void *arg, struct lerr *e);	/* Q_PREAUTH_GET */
/* A row of Q_VENDOR_EACH into v (v->der allocated, the caller's). */
int store_vendor_from_row(struct store_row *st, struct store_vendor *v, struct lerr *e);
/* Request id on c into a new row: 0, 1 when there is none, -1. */
int store_req_read(struct store_conn *c, const char *id, struct store_request **out,
		   struct lerr *e);
/* Inside a job: inserts a request row as id in state st with its "enroll"
 * audit row (requests.c); the issued variant first checks that the key has
 * no pending or issued request (LERR_CONFLICT). */
int store_req_insert(struct store_conn *w, const struct store_request *in, const char *id,
		     enum store_req_state st, int64_t first, const char *source,
		     const char *reason, struct lerr *e);
int store_req_insert_issued(struct store_conn *w, const struct store_request *in,
			    const char *id, int64_t now, struct lerr *e);
/* Column col as the word of an enum (states.c): 0, or -1 with e naming
 * the word that is not one. */
int store_col_req_state(struct store_row *st, int col, enum store_req_state *out, struct lerr *e);
int store_col_auth(struct store_row *st, int col, enum store_auth *out, struct lerr *e);
int store_col_cert_status(struct store_row *st, int col, enum store_cert_status *out,
			  struct lerr *e);
int store_col_profile(struct store_row *st, int col, enum policy_profile *out, struct lerr *e);
int store_col_door(struct store_row *st, int col, enum store_door *out, struct lerr *e);
int store_col_acme_status(struct store_row *st, int col, enum store_acme_status *out,
			  struct lerr *e);
int store_col_acme_approval(struct store_row *st, int col, enum store_acme_approval *out,
			    struct lerr *e);

/* Row readers for one-column answers: column 0 as text into a fixed array
 * (arg is a struct store_text_buf), or into a new string (arg is a char **
 * the caller frees). NULL reads as "". */
struct store_text_buf {
	char *p;
	size_t size;
};
int store_row_text(struct store_row *st, void *arg, struct lerr *e);
int store_row_text_dup(struct store_row *st, void *arg, struct lerr *e);
/* Row reader: column 0 as an integer into *(int64_t *)arg. */
int store_row_int(struct store_row *st, void *arg, struct lerr *e);

/*
 * A write of one statement and, when event is set, its audit row (at,
 * actor, event, subject, detail), as one writer job: store_write() returns
 * once both are durable (0), or -1 with e set. Everything pointed to stays
 * the caller's.
 */
struct store_write {
	struct store_query x;
	int64_t at;
	const char *actor, *event, *subject, *detail;
};
int store_write(struct store *s, struct store_write *wr, struct lerr *e);

/* The SQL of q, from whichever family's table holds it; NULL if none (the
 * unit tests read the query plans of the listings from it). */
const char *store_sql_text(enum store_q q);

/* Small helpers. */
void store_hex(const unsigned char *p, size_t n, char *out, size_t outsz);
int store_fits(const char *s, size_t size);	/* NUL within size bytes */
int store_col_text(struct store_row *st, int col, char *dst, size_t size, struct lerr *e);
int store_col_text_dup(struct store_row *st, int col, char **dst, struct lerr *e);
int store_col_blob(struct store_row *st, int col, unsigned char *dst, size_t size,
		   size_t *len, struct lerr *e);
int store_col_blob_dup(struct store_row *st, int col, unsigned char **dst, size_t *len,
		       struct lerr *e);

#endif
