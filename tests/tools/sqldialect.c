/*
 * sqldialect.c - lanca's SQL as PostgreSQL reads it (store/dialect.h),
 * for psql: t_pg_dialect.sh feeds it to a throwaway PostgreSQL cluster.
 *
 * usage: sqldialect migrations   every migration translated, each in its
 *                                own transaction with ON_ERROR_STOP
 *        sqldialect queries      every query translated, as PREPARE qN
 *                                (the parameters it skips typed TEXT, as
 *                                the engine does), the transaction
 *                                statements left out
 *        sqldialect sqlite       every query as SQLite reads it, one a line
 * Exits 1 if a text does not translate.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/lerr.h"
#include "store/dialect.h"
#include "store/internal.h"
#include "store/migrate.h"

#define SQLDIALECT_PARAMS	64	/* more than any lanca query has */

static int
sqldialect_migrations(void)
{
	struct lerr e;
	char *pg;
	size_t i;

	for (i = 0; i < store_migrations_count; i++) {
		if (store_dialect_pg(store_migrations[i].sql, &pg, &e) != 0) {
			fprintf(stderr, "sqldialect: migration %u: %s\n",
				store_migrations[i].version, e.msg);
			return 1;
		}
		printf("\\echo migration %u\nBEGIN;\n%s\nCOMMIT;\n", store_migrations[i].version, pg);
		free(pg);
	}
	return 0;
}

/* 1 if q is a transaction's statement: the engine's, never prepared. */
static int
sqldialect_is_txn(enum store_q q)
{
	return q == Q_COMMIT || q == Q_ROLLBACK || q == Q_SAVEPOINT || q == Q_RELEASE ||
	       q == Q_ROLLBACK_TO;
}

static int
sqldialect_queries(void)
{
	unsigned char used[SQLDIALECT_PARAMS];
	struct lerr e;
	char *pg;
	int n, k;
	size_t q;

	for (q = 0; q < Q_COUNT; q++) {
		if (sqldialect_is_txn((enum store_q)q))
			continue;
		n = store_dialect_params(store_sql_text((enum store_q)q), used, sizeof(used), &e);
		if (n < 0 || n > SQLDIALECT_PARAMS ||
		    store_dialect_pg(store_sql_text((enum store_q)q), &pg, &e) != 0) {
			fprintf(stderr, "sqldialect: query %zu: %s\n", q,
				n > SQLDIALECT_PARAMS ? "too many parameters" : e.msg);
			return 1;
		}
		printf("\\echo query %zu\nPREPARE q%zu", q, q);
		for (k = 0; k < n; k++)
			printf("%s%s", k == 0 ? " (" : ", ", used[k] ? "unknown" : "text");
		printf("%s AS %s;\n", n > 0 ? ")" : "", pg);
		free(pg);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	size_t q;

	if (argc == 2 && strcmp(argv[1], "migrations") == 0)
		return sqldialect_migrations();
	if (argc == 2 && strcmp(argv[1], "queries") == 0)
		return sqldialect_queries();
	if (argc == 2 && strcmp(argv[1], "sqlite") == 0) {
		for (q = 0; q < Q_COUNT; q++)
			printf("%zu\t%s\n", q, store_sql_text((enum store_q)q));
		return 0;
	}
	fprintf(stderr, "usage: sqldialect migrations|queries|sqlite\n");
	return 2;
}
