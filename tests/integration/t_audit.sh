#!/bin/sh
# t_audit.sh - the audit log against the real daemon: a history made by a
# press, an enrollment, logins and a logout, each on record; `lanca audit`
# and its filters; signed checkpoints and `lanca audit verify`; an action
# whose audit row cannot be written is refused; and every kind of
# tampering with the database (an edited row, a removed row, two rows
# swapped, a forged checkpoint, and a row rewritten with every later hash
# recomputed, as someone who can write the database but not reach the
# signer would) caught, naming the first broken row.
. "$(dirname "$0")/lib.sh"
skip_on_postgresql "it tampers with copies of lanca.db (SQLite triggers, Python's sqlite3)"

D="$T/state"
PW='Aud1t-pass:phrase-3e7b'
"$LANCA" init --dir "$D" --name audit >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
[ "$(stat -c %a "$D/keys/audit.key")" = 600 ] || fail "keys/audit.key mode $(stat -c %a "$D/keys/audit.key")"
grep -q '^ed25519 [0-9a-f]\{64\}$' "$D/keys/audit.pub" || fail "keys/audit.pub: $(cat "$D/keys/audit.pub")"
"$LANCA" audit verify --dir "$D" >"$T/v" 2>&1 || fail "verify after init: $(cat "$T/v")"
grep -q "^OK: .* 1 checkpoints" "$T/v" || fail "init takes the first checkpoint: $(cat "$T/v")"
ok "init makes keys/audit.key (0600) and audit.pub, and signs its first rows"

printf '%s\n' "$PW" >"$T/pw"
"$LANCA" admin passwd admin --dir "$D" --password-file "$T/pw" >/dev/null 2>&1 || fail "admin passwd"
start_serve "$D"
ORIGIN="https://localhost:$HTTPS_PORT"

# ---- a history ----
"$LANCA" press --dir "$D" >/dev/null || fail "press"
make_csr a dev-a "DNS:dev-a.local"
st=$(post_csr a); [ "$st" = 201 ] || fail "enroll after the press: $st $(cat "$T/a.resp")"
login() {
	tcurl -X POST -D "$T/h" -o "$T/b" -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "Origin: $ORIGIN" --data-binary "{\"user\": \"admin\", \"password\": \"$1\"}" \
		"$HTTPS_URL/api/v1/login"
}
[ "$(login wrong-password-1)" = 401 ] || fail "a wrong password is not refused"
[ "$(login "$PW")" = 200 ] || fail "login: $(cat "$T/b")"
TOKEN=$(tr -d '\r' <"$T/h" | sed -n 's/^[Ss]et-[Cc]ookie: __Host-lanca_session=\([0-9a-f]*\);.*/\1/p')
CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$T/b")
st=$(tcurl -X POST -o /dev/null -w '%{http_code}' -b "__Host-lanca_session=$TOKEN" \
	-H "X-CSRF-Token: $CSRF" -H "Origin: $ORIGIN" "$HTTPS_URL/api/v1/logout")
[ "$st" = 200 ] || [ "$st" = 204 ] || fail "logout: $st"

# ---- lanca audit, beside the running daemon ----
"$LANCA" audit --dir "$D" --json >"$T/all.json" || fail "lanca audit --json"
python3 - "$T/all.json" <<'PY' || fail "the history's rows: $(cat "$T/all.json")"
import json, sys
rows = json.load(open(sys.argv[1]))
ids = [r["id"] for r in rows]
assert ids == sorted(ids, reverse=True), "not newest first"
events = [r["event"] for r in rows]
for want in ("init", "key-load", "press", "enroll", "issue", "login-failed", "login", "logout"):
    assert want in events, (want, events)
press = [r for r in rows if r["event"] == "press"][0]
assert press["detail"]["result"] == "open", press
assert [r for r in rows if r["event"] == "issue" and r["subject"] == "dev-a"], "issue of dev-a"
PY
ok "press, enrollment, issue, key load, login, failed login and logout are each one audit row"

"$LANCA" audit --dir "$D" >"$T/text" || fail "lanca audit"
head -n 1 "$T/text" | grep -q "^ID *TIME *ACTOR *ACTION *SUBJECT *DETAIL" || fail "header: $(head -n 1 "$T/text")"
grep -q " login-failed " "$T/text" || fail "text listing: $(cat "$T/text")"
"$LANCA" audit --dir "$D" --action login --json >"$T/login.json" || fail "--action login"
python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 1 and rows[0]["event"] == "login", rows' "$T/login.json" ||
	fail "--action login: $(cat "$T/login.json")"
"$LANCA" audit --dir "$D" --since 2100-01-01 --json >"$T/none.json" || fail "--since in the future"
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/none.json")" = 0 ] ||
	fail "--since 2100-01-01 lists rows: $(cat "$T/none.json")"
now=$(date +%s)
"$LANCA" audit --dir "$D" --since "$((now - 3600))" --json >"$T/recent.json" || fail "--since seconds"
"$LANCA" audit --dir "$D" --since "$(date -u -d @$((now - 3600)) +%Y-%m-%dT%H:%M:%SZ)" --json \
	>"$T/recent2.json" || fail "--since RFC 3339"
cmp -s "$T/recent.json" "$T/recent2.json" || fail "--since as seconds and as RFC 3339 differ"
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/recent.json")" -ge 8 ] ||
	fail "--since an hour ago: $(cat "$T/recent.json")"
ok "lanca audit lists newest first, as text or JSON; --action and --since (seconds or RFC 3339) filter"

st=0; "$LANCA" audit --dir "$D" --action frobnicate 2>"$T/err" || st=$?
[ $st = 2 ] && grep -q "frobnicate is not an action; the actions are: .*press" "$T/err" ||
	fail "unknown action: exit $st, $(cat "$T/err")"
for bad in yesterday 2026-13-01 2026-02-30 2026-12-01T25:00:00Z 2026-12-01T10:00:00 -5; do
	st=0; "$LANCA" audit --dir "$D" --since "$bad" 2>"$T/err" || st=$?
	[ $st = 2 ] && grep -q -- "--since $bad is not a time" "$T/err" ||
		fail "--since $bad: exit $st, $(cat "$T/err")"
done
st=0; "$LANCA" audit --dir "$T/nowhere" 2>"$T/err" || st=$?
[ $st = 1 ] && grep -q "^lanca audit: " "$T/err" || fail "no state directory: exit $st, $(cat "$T/err")"
ok "an unknown action or a time that is not one: exit 2 naming it"

# ---- a window that runs out is one row of its own ----
"$LANCA" press --dir "$D" --seconds 1 >/dev/null || fail "press --seconds 1"
sleep 2
# The first look after its end (here a status read) records it, once.
for i in 1 2; do
	st=$(tcurl -o /dev/null -w '%{http_code}' "$HTTPS_URL/api/v1/status")
	[ "$st" = 200 ] || fail "status: $st"
done
"$LANCA" audit --dir "$D" --action window-closed --json >"$T/closed.json" ||
	fail "--action window-closed"
python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 1, rows
r = rows[0]
assert r["event"] == "window-closed" and r["actor"] == "lanca", r
d = r["detail"]
assert d["result"] == "nothing" and d["admitted"] == 0 and d["count"] == 1, d
assert d["ends_at"] - d["opened_at"] == 1, d' "$T/closed.json" ||
	fail "the window's end: $(cat "$T/closed.json")"
"$LANCA" audit verify --dir "$D" >"$T/v" 2>&1 || fail "verify after the window's end: $(cat "$T/v")"
ok "a window whose time runs out is one window-closed row (lanca audit --action lists it; verify: OK)"

# ---- a failed attempt whose audit row cannot be written ----
# is answered 503, not as a wrong password, and still counts against the
# address: a full disk gives no free guesses.
sqlite3 "$D/lanca.db" "CREATE TRIGGER test_nofail BEFORE INSERT ON audit
	WHEN NEW.event = 'login-failed' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END" ||
	fail "test trigger"
i=0
while [ $i -lt 5 ]; do
	st=$(login "wrong-password-$i")
	[ "$st" = 503 ] && grep -q 'the audit log cannot be written' "$T/b" ||
		fail "wrong password $i, unrecorded: $st $(cat "$T/b")"
	i=$((i + 1))
done
[ "$(login wrong-password-6)" = 429 ] || fail "a sixth unrecorded wrong password: not 429"
[ "$(login "$PW")" = 429 ] || fail "the right password during the backoff: not 429"
sqlite3 "$D/lanca.db" "DROP TRIGGER test_nofail" || fail "drop test trigger"
[ "$(sqlite3 "$D/lanca.db" "SELECT count(*) FROM audit WHERE event = 'login-failed'")" = 1 ] ||
	fail "unrecorded attempts left rows"
ok "wrong passwords that cannot be audited: 503 (the audit log cannot be written), and counted (429)"

# ---- an action whose audit row cannot be written is refused ----
sqlite3 "$D/lanca.db" "CREATE TRIGGER test_full BEFORE INSERT ON audit WHEN NEW.event = 'press'
	BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END" || fail "test trigger"
st=0; "$LANCA" press --dir "$D" >"$T/out" 2>&1 || st=$?
[ $st != 0 ] || fail "a press that cannot be audited succeeded: $(cat "$T/out")"
"$LANCA" status --dir "$D" --json >"$T/status.json" || fail "status"
python3 -c '
import json, sys
w = json.load(open(sys.argv[1]))["window"]
assert w["state"] == "closed", w' "$T/status.json" || fail "the window opened: $(cat "$T/status.json")"
make_csr b dev-b
st=$(post_csr b); [ "$st" = 202 ] || fail "a device after the refused press: $st, not 202 (pending)"
sqlite3 "$D/lanca.db" "DROP TRIGGER test_full" || fail "drop test trigger"
ok "a press whose audit row cannot be written is refused: the window stays closed"

# A clean stop signs the last rows; a new start records the key load
# and signs again.
stop_serve || fail "serve did not stop cleanly"
start_serve "$D"
stop_serve || fail "serve did not stop cleanly"
"$LANCA" audit verify --dir "$D" >"$T/v" 2>&1 || fail "verify: $(cat "$T/v")"
rows=$(sqlite3 "$D/lanca.db" "SELECT count(*) FROM audit")
last=$(sqlite3 "$D/lanca.db" "SELECT max(id) FROM audit")
ncp=$(sqlite3 "$D/lanca.db" "SELECT count(*) FROM audit_checkpoints")
[ "$ncp" -ge 4 ] || fail "$ncp checkpoints after init, two starts and two stops"
grep -q "^OK: $rows rows, $ncp checkpoints, rows up to $last checkpointed" "$T/v" ||
	fail "verify: $(cat "$T/v")"
ok "checkpoints at init, start and stop; lanca audit verify: OK, every row checkpointed"

# The test's own BLAKE2b of the chain (ca/auditseal.h's encoding) agrees
# with every stored hash: the rewrite below is what lanca would compute.
cat >"$T/chain.py" <<'PY'
import hashlib, sqlite3, struct, sys

def enc(v):
    if v is None:
        return b"\0"
    b = v.encode()
    return b"\1" + struct.pack(">I", len(b)) + b

def row_hash(prev, r):
    h = hashlib.blake2b(digest_size=32)
    h.update(b"lanca audit row v1\0")
    h.update(prev if prev is not None else bytes(32))
    h.update(struct.pack(">qq", r[0], r[1]))
    for f in r[2:6]:
        h.update(enc(f))
    return h.digest()

db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT id, at, actor, event, subject, detail, hash FROM audit ORDER BY id").fetchall()
if sys.argv[2] == "check":
    prev = None
    for r in rows:
        assert row_hash(prev, r) == r[6], "row %d" % r[0]
        prev = r[6]
else:
    # rewrite K: change row K's actor, recompute K and every later hash.
    k = int(sys.argv[3])
    db.execute("UPDATE audit SET actor = 'mallory' WHERE id = ?", (k,))
    rows = db.execute("SELECT id, at, actor, event, subject, detail, hash FROM audit ORDER BY id").fetchall()
    prev = None
    for r in rows:
        h = row_hash(prev, r) if r[0] >= k else r[6]
        db.execute("UPDATE audit SET hash = ? WHERE id = ?", (h, r[0]))
        prev = h
    db.commit()
    prev = None
    for r in db.execute("SELECT id, at, actor, event, subject, detail, hash FROM audit ORDER BY id"):
        assert row_hash(prev, r) == r[6]
        prev = r[6]
PY
python3 "$T/chain.py" "$D/lanca.db" check || fail "the test's chain hash differs from lanca's"
ok "every stored hash is BLAKE2b-256 of its row and the previous hash"

# ---- tampering ----
# A copy of the state directory per case, its triggers dropped as an
# attacker with the database file would.
copy() {
	rm -rf "$T/$1"
	cp -a "$D" "$T/$1"
	sqlite3 "$T/$1/lanca.db" "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;
		DROP TRIGGER audit_checkpoints_no_update; DROP TRIGGER audit_checkpoints_no_delete;
		DROP TRIGGER audit_chained" || fail "dropping the triggers"
}
# broken NAME WHAT...: verify of copy NAME fails and its message names WHAT.
broken() {
	name=$1
	shift
	st=0; "$LANCA" audit verify --dir "$T/$name" >"$T/out" 2>"$T/err" || st=$?
	[ $st = 1 ] || fail "$name: verify exit $st: $(cat "$T/out" "$T/err")"
	for w in "$@"; do
		grep -q -- "$w" "$T/err" || fail "$name: expected '$w' in: $(cat "$T/err")"
	done
}
# A row in the middle, between the first serve's checkpoint and the last.
K=$(sqlite3 "$D/lanca.db" "SELECT min(id) FROM audit WHERE event = 'login'")
P=$(sqlite3 "$D/lanca.db" "SELECT max(row_id) FROM audit_checkpoints WHERE row_id < $K")
R=$(sqlite3 "$D/lanca.db" "SELECT min(row_id) FROM audit_checkpoints WHERE row_id >= $K")
[ -n "$P" ] && [ -n "$R" ] && [ "$R" -lt "$last" ] || fail "no checkpoints around row $K ($P, $R)"

copy edit
sqlite3 "$T/edit/lanca.db" "UPDATE audit SET actor = 'mallory' WHERE id = $K"
broken edit "BROKEN at row $K:" "row $K does not match its hash"
ok "an edited row is caught, naming it"

copy delete
sqlite3 "$T/delete/lanca.db" "DELETE FROM audit WHERE id = $K"
broken delete "BROKEN at row $((K + 1)):" "row $((K + 1)) does not follow row $((K - 1))"
ok "a removed row is caught, naming the row after the gap"

copy swap
sqlite3 "$T/swap/lanca.db" "
CREATE TEMP TABLE a AS SELECT * FROM audit WHERE id IN ($K, $((K + 1)));
UPDATE audit SET at = (SELECT at FROM a WHERE id = $((K + 1))),
	actor = (SELECT actor FROM a WHERE id = $((K + 1))),
	event = (SELECT event FROM a WHERE id = $((K + 1))),
	subject = (SELECT subject FROM a WHERE id = $((K + 1))),
	detail = (SELECT detail FROM a WHERE id = $((K + 1))) WHERE id = $K;
UPDATE audit SET at = (SELECT at FROM a WHERE id = $K), actor = (SELECT actor FROM a WHERE id = $K),
	event = (SELECT event FROM a WHERE id = $K), subject = (SELECT subject FROM a WHERE id = $K),
	detail = (SELECT detail FROM a WHERE id = $K) WHERE id = $((K + 1));"
[ "$(sqlite3 "$T/swap/lanca.db" "SELECT event FROM audit WHERE id = $((K + 1))")" = login ] ||
	fail "the swap did not happen"
broken swap "BROKEN at row $K:"
ok "two rows swapped are caught, naming the first"

copy truncate
sqlite3 "$T/truncate/lanca.db" "DELETE FROM audit WHERE id >= $R"
broken truncate "BROKEN at row $R:" "checkpoint [0-9]* signed, is not in the log"
ok "rows removed up to the end are caught by the checkpoint that signed them"

copy forged
sqlite3 "$T/forged/lanca.db" "UPDATE audit_checkpoints SET signature = zeroblob(64) WHERE row_id = $R"
broken forged "BROKEN at row $R:" "signature does not verify"
ok "a checkpoint with a signature that is not the signer's is caught"

copy rewrite
python3 "$T/chain.py" "$T/rewrite/lanca.db" rewrite "$K" || fail "rewriting the chain"
[ "$(sqlite3 "$T/rewrite/lanca.db" "SELECT actor FROM audit WHERE id = $K")" = mallory ] ||
	fail "the rewrite did not happen"
broken rewrite "BROKEN at row $((P + 1)):" "rows $((P + 1)) to $R were rewritten"
ok "a row rewritten with every later hash recomputed is caught by the checkpoint after it"

# Rows after the last checkpoint are reported, not an error.
copy tail
sqlite3 "$T/tail/lanca.db" "DELETE FROM audit_checkpoints WHERE row_id > $P"
"$LANCA" audit verify --dir "$T/tail" >"$T/out" 2>&1 || fail "verify with an unsigned tail: $(cat "$T/out")"
grep -q "^not yet checkpointed: rows $((P + 1)) to $last" "$T/out" || fail "unsigned tail: $(cat "$T/out")"
ok "rows after the newest checkpoint are reported as not yet checkpointed"

# Another key's audit.pub does not verify the checkpoints.
python3 -c 'import os; print("ed25519 " + os.urandom(32).hex())' >"$T/other.pub"
st=0; "$LANCA" audit verify --dir "$D" --key "$T/other.pub" >/dev/null 2>"$T/err" || st=$?
[ $st = 1 ] && grep -q "signature does not verify" "$T/err" || fail "another key: exit $st $(cat "$T/err")"
printf 'not a key\n' >"$T/bad.pub"
st=0; "$LANCA" audit verify --dir "$D" --key "$T/bad.pub" >/dev/null 2>"$T/err" || st=$?
[ $st = 1 ] && grep -q "is not an audit key" "$T/err" || fail "a bad key file: exit $st $(cat "$T/err")"
ok "verify --key: another key's checkpoints fail, a file that is not a key is named"

echo "t_audit: $n_ok passed, 0 failed"
