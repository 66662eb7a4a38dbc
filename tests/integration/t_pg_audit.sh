#!/bin/sh
# t_pg_audit.sh - the audit log on PostgreSQL (issue 16): the schema's
# triggers, translated from SQLite's (schema/0001, 0007, 0008), refuse to
# change or delete an audit row, a checkpoint or a CRL, and a row without
# its chain hash, with SQLite's messages; and a history rewritten by
# someone who could drop the triggers is named by `lanca audit verify`.
# (t_audit.sh checks the same on SQLite's file.) It uses PostgreSQL
# whatever LANCA_TEST_STORE says.
. "$(dirname "$0")/lib.sh"

pg_skip_unless_available
pg_start audit || fail "starting PostgreSQL"
URL=$(pg_url audit) || fail "pg_url"
D="$T/state"
"$LANCA" init --dir "$D" --name audit --store "$URL" >"$T/out" 2>&1 || fail "init: $(cat "$T/out")"
ROOT_PEM="$D/root.pem"
start_serve "$D"
make_csr a dev-a
"$LANCA" press --dir "$D" >/dev/null || fail "press"
[ "$(post_csr a)" = 201 ] || fail "enroll: $(cat "$T/a.resp")"
stop_serve || fail "serve exited non-zero"
"$LANCA" audit verify --dir "$D" >"$T/out" 2>&1 && grep -q "^OK" "$T/out" ||
	fail "audit verify of an untouched log: $(cat "$T/out")"

# refused SQL: the statement psql must fail with the message.
refused() {
	st=0
	psql -X -q -v ON_ERROR_STOP=1 -d "$URL" -c "$1" >"$T/psql.out" 2>&1 || st=$?
	[ $st != 0 ] && grep -q "$2" "$T/psql.out" || fail "$1: exit $st, $(cat "$T/psql.out")"
}
refused "UPDATE audit SET subject = 'x' WHERE id = 1" "audit log is append-only"
refused "DELETE FROM audit WHERE id = 1" "audit log is append-only"
refused "INSERT INTO audit (id, at, actor, event) VALUES (100000, 1, 'me', 'forged')" \
	"an audit row needs its chain hash"
refused "UPDATE audit_checkpoints SET at = 0" "audit checkpoints are append-only"
refused "DELETE FROM audit_checkpoints" "audit checkpoints are append-only"
refused "DELETE FROM crls" "crls are append-only"
ok "the triggers refuse to change or delete audit rows, checkpoints and CRLs, and a row without its hash"

# Someone who owns the database drops the trigger and rewrites a row: the
# chain names it.
row=$(sql_in "$D" "SELECT id FROM audit WHERE event = 'issue' ORDER BY id LIMIT 1")
[ -n "$row" ] || fail "no issue row"
psql -X -q -v ON_ERROR_STOP=1 -d "$URL" -c "DROP TRIGGER audit_no_update ON audit" \
	-c "UPDATE audit SET subject = 'someone-else' WHERE id = $row" >"$T/psql.out" 2>&1 ||
	fail "rewriting a row as the owner: $(cat "$T/psql.out")"
st=0; "$LANCA" audit verify --dir "$D" >"$T/out" 2>&1 || st=$?
[ $st = 1 ] && grep -q "BROKEN at row $row" "$T/out" ||
	fail "audit verify after a rewrite: exit $st, $(cat "$T/out")"
ok "a row rewritten behind the triggers' back is named by lanca audit verify"
