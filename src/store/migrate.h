/*
 * migrate.h - the schema migration runner.
 *
 * Owns: the schema_version table and the order in which schema/NNNN-*.sql
 * files are applied, on either database (the driver translates each for
 * its dialect). The migrations themselves are C data generated at build
 * time by build-aux/embed-schema.sh into src/schema_sql.c.
 *
 * Only engine.c calls this, on its write connection, before anything else
 * touches the database.
 */
#ifndef LANCA_DB_MIGRATE_H
#define LANCA_DB_MIGRATE_H

#include <stddef.h>
#include "common/lerr.h"

struct store_conn;

struct store_migration {
	int version;		/* from the NNNN- prefix, strictly increasing */
	const char *name;	/* the rest of the file name, without .sql */
	const char *sql;	/* the whole file, one or more statements */
};

/* Defined in the generated src/schema_sql.c, oldest first. */
extern const struct store_migration store_migrations[];
extern const size_t store_migrations_count;

/* Reads the highest applied version into *version (0 for an empty
 * database). */
int store_migrate_version(struct store_conn *c, int *version, struct lerr *e);

/* What a migration needs done in C after its SQL, in its transaction
 * (data SQL cannot compute): called with every migration's version; 0,
 * or -1 with e, which fails the migration. */
typedef int (*store_migrate_step)(struct store_conn *c, int version, struct lerr *e);

/* Brings the database of c up to the newest of the n migrations (oldest
 * first), each in its own write transaction (the driver's begin_write:
 * two processes, or two gateways, never both apply one) that also records
 * it in schema_version and, after its SQL, runs step (may be NULL).
 * Refuses a database newer than the newest migration. *version (may be
 * NULL) receives the version the database is at. */
int store_migrate(struct store_conn *c, const struct store_migration *migrations, size_t n,
		  store_migrate_step step, int *version, struct lerr *e);

#endif
