#!/bin/sh
# bench-enroll-pg.sh - the enrollment benchmark on SQLite and on PostgreSQL
# in one run (`make bench-enroll-pg`).
#
# Starts a PostgreSQL server of its own with tests/integration/pg.sh's
# pg_start (the postgresql package's initdb and pg_ctl, as the postgres
# user when run as root; TCP on 127.0.0.1 only, fsync and
# synchronous_commit on, the C locale, so LC_COLLATE is 'C' as lanca
# needs), gives it PostgreSQL's default shared_buffers (128MB; pg.sh keeps
# test servers small), makes a second database of lanca's there, and runs
# bench-enroll with its arguments and:
#   -s URL  lanca's database: one gateway on PostgreSQL (P)
#   -g URL  the second one: two gateways on one database (G), unless
#           BENCH_PG_GATEWAYS=1
#   -p PID  the postmaster: the CPU of the server's processes is counted
#   -l CMD  psql as the superuser over the server's Unix socket, printing
#           its WAL position (pg_current_wal_lsn) in bytes
# so that each round runs SQLite (A), then P, then G, alternating the
# order. The server is stopped and its directory removed at the end,
# whatever happened. Without PostgreSQL's server binaries it says so and
# exits 0, as the other benchmarks do without what they need.
#
# usage: bench-enroll-pg.sh [bench-enroll options: -n N -c LIST -m MODE -r ROUNDS]
#        LANCA names the lanca binary (built with libpq); BENCH_ENROLL the
#        benchmark (default: bench-enroll beside this script). BENCH_PG_SET
#        "name=value ..." adds server settings; BENCH_PG_STATEMENTS=1 loads
#        pg_stat_statements and prints, after the run, what every statement
#        lanca ran cost, and the databases' and the WAL's counters.

set -u
here=$(cd "$(dirname "$0")" && pwd)
BENCH_ENROLL=${BENCH_ENROLL:-$here/bench-enroll}
[ -n "${LANCA:-}" ] || {
	echo "bench-enroll-pg: LANCA must name the lanca binary" >&2
	exit 2
}

T=$(mktemp -d /tmp/lanca-bench-pg.XXXXXX) || exit 1
# pg.sh's watchdog finds pg.sh again from the top of the tree.
TOP_SRCDIR=$(cd "$here/../.." && pwd)
. "$here/../integration/pg.sh"
bench_cleanup() {
	pg_stop_all
	rm -rf "$T"
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM HUP

if ! pg_bindir >/dev/null || ! command -v psql >/dev/null 2>&1 ||
	{ [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; }; then
	echo "bench-enroll-pg: no PostgreSQL server (initdb, pg_ctl, psql, and a postgres" \
		"user when root): not run (Debian: postgresql; contrib/debian-deps.sh)"
	exit 0
fi

pg_start bench || exit 1
pg_psql_admin bench -c "ALTER SYSTEM SET shared_buffers = '128MB'" || exit 1
# BENCH_PG_SET="name=value ...": server settings of a run's own (e.g.
# autovacuum_naptime=1 or autovacuum=off; what lanca sets per session,
# synchronous_commit, wins over them).
for pg_kv in ${BENCH_PG_SET:-}; do
	case $pg_kv in
	[a-z]*=*) ;;
	*)
		echo "bench-enroll-pg: BENCH_PG_SET: $pg_kv is not name=value" >&2
		exit 2
		;;
	esac
	pg_psql_admin bench -c "ALTER SYSTEM SET ${pg_kv%%=*} = '${pg_kv#*=}'" || exit 1
done
if [ -n "${BENCH_PG_STATEMENTS:-}" ]; then
	pg_psql_admin bench -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" || exit 1
fi
pg_env bench || exit 1
pg_as "$(pg_bindir)/pg_ctl" restart -D "$PG_DIR" -l "$T/pg-bench.log" -m fast -w \
	-t "$PG_WAIT_S" -s </dev/null >/dev/null 2>&1 || {
	echo "bench-enroll-pg: the server did not restart:" >&2
	tail -n 20 "$T/pg-bench.log" >&2
	exit 1
}
url1=$(pg_url bench) || exit 1
url2=$(pg_createdb bench lanca_g) || exit 1
if [ -n "${BENCH_PG_STATEMENTS:-}" ]; then
	pg_psql_admin bench -c "CREATE EXTENSION pg_stat_statements" || exit 1
fi
pm=$(pg_postmaster_pid "$PG_DIR") || {
	echo "bench-enroll-pg: no postmaster in $PG_DIR" >&2
	exit 1
}

# Run by bench-enroll's popen (sh -c): the superuser over the Unix socket,
# so no password is on a command line.
as=
[ "$(id -u)" -ne 0 ] || as="runuser -u postgres --"
walcmd="$as psql -X -q -A -t -h '$PG_DIR' -p $PG_PORT -U postgres -d postgres \
-c \"SELECT pg_current_wal_lsn() - '0/0'\""

echo "PostgreSQL: $(pg_psql_admin bench -A -t -c 'SELECT version()')"
echo "  $(pg_psql_admin bench -A -t -F ' ' -c "SELECT string_agg(name || '=' || setting ||
	coalesce(unit, ''), ' ' ORDER BY name) FROM pg_settings WHERE name IN
	('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'wal_buffers',
	 'commit_delay', 'max_connections', 'full_page_writes', 'lc_collate', 'autovacuum',
	 'autovacuum_naptime')")"
echo "  postmaster pid $pm, data directory $PG_DIR; load average before:" \
	"$(cut -d' ' -f1-3 /proc/loadavg)"

set -- "$@" -s "$url1" -p "$pm" -l "$walcmd"
[ "${BENCH_PG_GATEWAYS:-2}" = 1 ] || set -- "$@" -g "$url2"
"$BENCH_ENROLL" "$@"
rc=$?
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${BENCH_PG_STATEMENTS:-}" ]; then
	# Every statement lanca's sessions ran, over the whole run (all
	# rounds, modes and set-up): divide by the enrollments made.
	echo "statements on the server (BENCH_PG_STATEMENTS), by database:"
	pg_psql_admin bench -P pager=off -c "SELECT d.datname AS db, s.calls,
		round(s.total_exec_time::numeric, 0) AS exec_ms, s.rows,
		left(regexp_replace(s.query, '\s+', ' ', 'g'), 110) AS query
		FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname <> 'postgres' ORDER BY d.datname, s.calls DESC"
	pg_psql_admin bench -P pager=off -c "SELECT datname AS db, xact_commit, xact_rollback,
		blks_read, blks_hit, tup_inserted, tup_updated, tup_deleted
		FROM pg_stat_database WHERE datname LIKE 'lanca%' ORDER BY datname" \
		-c "SELECT wal_records, wal_fpi, wal_bytes, wal_write, wal_sync FROM pg_stat_wal"
fi
exit $rc
