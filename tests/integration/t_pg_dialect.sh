#!/bin/sh
# t_pg_dialect.sh - lanca's one SQL source as PostgreSQL reads it
# (src/store/dialect.c): on a throwaway PostgreSQL cluster of its own
# (Unix socket in a private directory, no TCP), every migration applies in
# order, each in one transaction; every query prepares against the schema
# they make; the triggers refuse what SQLite's refuse, with the same
# messages; and the data migrations (0002's names, 0011's vouchers) move
# rows as they do in SQLite. Skipped (77) where no PostgreSQL server is
# installed.
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

TOOL="$TOP_BUILDDIR/tests/tools/sqldialect"
[ -x "$TOOL" ] || fail "no $TOOL: run through make check"

PGBIN=
for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
	if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
		PGBIN=$d
		break
	fi
done
if [ -z "$PGBIN" ] || ! command -v psql >/dev/null 2>&1; then
	echo "skip: no PostgreSQL server installed (initdb, pg_ctl, psql)"
	exit 77
fi
# initdb refuses root: the cluster belongs to the postgres user then.
AS=
if [ "$(id -u)" -eq 0 ]; then
	if ! id postgres >/dev/null 2>&1 || ! command -v runuser >/dev/null 2>&1; then
		echo "skip: running as root without a postgres user to own the cluster"
		exit 77
	fi
	AS="runuser -u postgres --"
fi

# The cluster lives outside $T (private to root); stopped and removed first.
PGD=$(mktemp -d "${TMPDIR:-/tmp}/lanca-pg.XXXXXX")
PG_STARTED=
pg_cleanup() {
	if [ -n "$PG_STARTED" ]; then
		$AS "$PGBIN/pg_ctl" -D "$PGD/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$PGD"
}
trap 'pg_cleanup; cleanup' EXIT INT TERM
[ -z "$AS" ] || chown postgres "$PGD"

$AS "$PGBIN/initdb" -D "$PGD/data" -U postgres -A trust -E UTF8 --locale=C \
	>"$T/initdb.log" 2>&1 || fail "initdb: $(tail -5 "$T/initdb.log")"
PG_STARTED=1
$AS "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/log" -w -t 60 \
	-o "-p 5432 -k $PGD -c listen_addresses=''" start >/dev/null 2>&1 ||
	fail "pg_ctl start: $(tail -5 "$PGD/log" 2>/dev/null)"

# psql on the private socket, stopping at the first error.
pg() {
	psql -X -q -v ON_ERROR_STOP=1 -h "$PGD" -p 5432 -U postgres "$@"
}
pg -d postgres -c "CREATE DATABASE lanca" >/dev/null || fail "CREATE DATABASE"
# The version table migrate.c makes before any migration.
pg -d lanca -c "CREATE TABLE schema_version (version BIGINT PRIMARY KEY,
	name TEXT NOT NULL, applied_at BIGINT NOT NULL)" || fail "schema_version"

"$TOOL" migrations >"$T/migrations.sql" || fail "a migration does not translate"
"$TOOL" queries >"$T/queries.sql" || fail "a query does not translate"
n_mig=$(grep -c '^\\echo migration' "$T/migrations.sql")
[ "$n_mig" -ge 11 ] || fail "only $n_mig migrations"

# Each migration in a file of its own, to put rows between them.
awk -v d="$T" '/^\\echo migration /{ f = sprintf("%s/v%04d.sql", d, $3) } { print > f }' \
	"$T/migrations.sql"

pg -d lanca -f "$T/migrations.sql" >"$T/apply.log" 2>&1 ||
	fail "migrations on PostgreSQL: $(grep -A3 ERROR "$T/apply.log" | head -20)"
ok "all $n_mig migrations apply on PostgreSQL, each in one transaction"

tables=$(pg -d lanca -At -c "SELECT table_name FROM information_schema.tables
	WHERE table_schema = 'public' ORDER BY 1" | tr '\n' ' ')
want="acme_accounts acme_authz acme_eab acme_orders admins audit audit_checkpoints \
cas cert_names certificates crls crosses preauth requests rollovers schema_version \
serials sessions settings setup_code trust_fetches vendors "
[ "$tables" = "$want" ] || fail "tables: $tables"
types=$(pg -d lanca -At -c "SELECT DISTINCT data_type FROM information_schema.columns
	WHERE table_schema = 'public' ORDER BY 1" | tr '\n' ' ')
[ "$types" = "bigint bytea text " ] || fail "column types: $types"
ok "the schema has lanca's tables, in BIGINT, BYTEA and TEXT"

n_q=$(grep -c '^PREPARE' "$T/queries.sql")
pg -d lanca -f "$T/queries.sql" >"$T/prepare.log" 2>&1 ||
	fail "a query does not prepare: $(grep -B1 -A3 ERROR "$T/prepare.log" | head -20)"
[ "$n_q" -ge 100 ] || fail "only $n_q queries"
ok "all $n_q queries prepare on PostgreSQL"

# The triggers: what SQLite's RAISE(ABORT) refuses, with its message.
refused() {	# what message sql
	if pg -d lanca -c "$3" >"$T/out" 2>&1; then
		fail "$1 was not refused"
	fi
	grep -q "$2" "$T/out" || fail "$1: $(cat "$T/out")"
}
h32="decode(repeat('ab', 32), 'hex')"
pg -d lanca -c "INSERT INTO audit (id, at, actor, event, hash) VALUES (1, 1, 'a', 'e', $h32)" ||
	fail "a chained audit row is refused"
refused "an audit row without its hash" "an audit row needs its chain hash" \
	"INSERT INTO audit (id, at, actor, event) VALUES (2, 1, 'a', 'e')"
refused "an audit row with a short hash" "an audit row needs its chain hash" \
	"INSERT INTO audit (id, at, actor, event, hash) VALUES (2, 1, 'a', 'e', '\\x00')"
refused "changing an audit row" "audit log is append-only" "UPDATE audit SET detail = 'x'"
refused "deleting an audit row" "audit log is append-only" "DELETE FROM audit"
# A row from before 0008 (no hash: the insertion trigger set aside) may
# receive its hash once, and nothing else.
pg -d lanca -c "ALTER TABLE audit DISABLE TRIGGER audit_chained;
	INSERT INTO audit (id, at, actor, event) VALUES (2, 1, 'a', 'e');
	ALTER TABLE audit ENABLE TRIGGER audit_chained" || fail "an old audit row"
refused "changing an old row with its hash" "audit log is append-only" \
	"UPDATE audit SET hash = $h32, actor = 'b' WHERE id = 2"
pg -d lanca -c "UPDATE audit SET hash = $h32 WHERE id = 2" || fail "an old row got no hash"
refused "hashing a row twice" "audit log is append-only" \
	"UPDATE audit SET hash = decode(repeat('cd', 32), 'hex') WHERE id = 2"
ok "the audit log's triggers refuse as SQLite's do, with the same messages"

pg -d lanca -c "INSERT INTO cas (role, fingerprint, der, created_at) VALUES ('root', 'f', '\\x00', 1);
	INSERT INTO crls (number, ca_id, this_update, next_update, entries, revocations, der,
	created_at) VALUES (1, 1, 1, 2, 0, 0, '\\x00', 1);
	INSERT INTO audit_checkpoints (row_id, head, at, signature)
	VALUES (1, $h32, 1, decode(repeat('ab', 64), 'hex'))" || fail "a CRL, a checkpoint"
refused "changing a CRL" "crls are append-only" "UPDATE crls SET entries = 1"
refused "deleting a CRL" "crls are append-only" "DELETE FROM crls"
refused "changing a checkpoint" "audit checkpoints are append-only" \
	"UPDATE audit_checkpoints SET at = 2"
refused "deleting a checkpoint" "audit checkpoints are append-only" "DELETE FROM audit_checkpoints"
pg -d lanca -c "INSERT INTO rollovers (old_root, old_issuing, new_root, new_issuing,
	started_at) VALUES (1, 1, 1, 1, 1)" || fail "a rollover"
refused "a second open rollover" "rollovers_one_open" "INSERT INTO rollovers (old_root,
	old_issuing, new_root, new_issuing, started_at) VALUES (1, 1, 1, 1, 2)"
pg -d lanca -c "UPDATE rollovers SET finished_at = 3; INSERT INTO rollovers (old_root,
	old_issuing, new_root, new_issuing, started_at) VALUES (1, 1, 1, 1, 4)" ||
	fail "a rollover after a finished one"
ok "CRLs and checkpoints are append-only, one rollover at a time is open"

# The data migrations on rows: a database at 0001 with two certificates,
# then 0002's names; at 0009 a backup root's voucher, then 0011 moves it.
pg -d postgres -c "CREATE DATABASE moved" >/dev/null || fail "CREATE DATABASE moved"
pg -d moved -c "CREATE TABLE schema_version (version BIGINT PRIMARY KEY,
	name TEXT NOT NULL, applied_at BIGINT NOT NULL)" >/dev/null
for f in "$T"/v[0-9]*.sql; do
	v=$(basename "$f" .sql)
	case $v in
	v0002)
		pg -d moved -c "INSERT INTO cas (role, fingerprint, der, created_at)
		VALUES ('root', 'r', '\\x00', 1), ('issuing', 'i', '\\x00', 1);
		INSERT INTO serials (serial, reserved_at) VALUES ('\\x01', 1), ('\\x02', 1);
		INSERT INTO certificates (serial, ca_id, device_id, subject, sans, profile,
		not_before, not_after, issued_at, key_id, der) VALUES
		('\\x01', 2, 'd1', 'CN=a', 'DNS:a.example,IP:10.0.0.1,DNS:a.example', 'device',
		1, 2, 1, '\\xaa', '\\x00'),
		('\\x02', 2, 'd2', 'CN=b', '', 'device', 1, 2, 1, '\\xbb', '\\x00')" ||
			fail "rows at 0001"
		;;
	v0011)
		pg -d moved -c "INSERT INTO settings (key, value) VALUES ('crl_url', 'http://g/crl');
		INSERT INTO cas (role, state, fingerprint, der, created_at, cross_der)
		VALUES ('backup-root', 'offline', 'b', '\\x00', 5, '\\xcc')" || fail "rows at 0010"
		;;
	esac
	pg -d moved -f "$f" >/dev/null 2>&1 || fail "$v on rows"
done
names=$(pg -d moved -At -F' ' -c "SELECT cert_id, name FROM cert_names ORDER BY 1, 2" | tr '\n' ';')
[ "$names" = "1 DNS:a.example;1 IP:10.0.0.1;" ] || fail "0002's names: $names"
moved=$(pg -d moved -At -F' ' -c "SELECT issuer_id, subject_id, encode(der, 'hex'), created_at
	FROM crosses; SELECT id, coalesce(crl_url, '-') FROM cas ORDER BY id" | tr '\n' ';')
[ "$moved" = "1 3 cc 5;1 -;2 http://g/crl;3 -;" ] || fail "0011's vouchers and URLs: $moved"
ok "0002 splits the names and 0011 moves the vouchers as in SQLite"

echo "t_pg_dialect: $n_ok passed, 0 failed"
