#!/bin/sh
# t_backup_sched.sh - scheduled backups in `lanca serve` (issue 14):
# --backup-dir, --backup-every, --backup-keep, --backup-passphrase-file.
# The daemon (as --user nobody) writes sealed backups on its period, keeps
# the newest N, audits each, and shows them in `lanca status`,
# /api/v1/status and /metrics; a backup it wrote restores with the
# passphrase (keys/ sealed by the signer inside it). A backup directory it
# cannot write is a failure logged, audited, shown everywhere and retried;
# once writable again, the next period succeeds. Bad options are refused
# before anything starts.
. "$(dirname "$0")/lib.sh"
skip_on_postgresql "scheduled backups copy lanca.db, and serve refuses --backup-dir on PostgreSQL"

id nobody >/dev/null 2>&1 || fail "no user nobody"
chmod 711 "$T"	# nobody must reach the state and backup directories below it
D="$T/state"
B="$T/backups"
"$LANCA" init --dir "$D" --name sched --user nobody >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
mkdir "$B"
chown nobody "$B"
chmod 700 "$B"
printf 'scheduled backup passphrase\n' >"$T/pw"
chmod 600 "$T/pw"

# ---- bad options ----
bad() {	# bad PATTERN ARGS...: serve refuses at once, exit 2, naming it
	pat=$1
	shift
	st=0
	"$LANCA" serve --dir "$D" --https "127.0.0.1:$(free_port)" --http "" "$@" >"$T/bad" 2>&1 || st=$?
	[ $st -eq 2 ] && grep -q -- "$pat" "$T/bad" || fail "serve $*: exit $st: $(cat "$T/bad")"
}
bad "need --backup-dir and --backup-passphrase-file together" --backup-dir "$B"
bad "need --backup-dir and --backup-passphrase-file together" --backup-keep 3
bad "backup-every 2s: a span of at least 5 s" --backup-dir "$B" --backup-passphrase-file "$T/pw" --backup-every 2s
bad "backup-keep 0: from 1 to 1000" --backup-dir "$B" --backup-passphrase-file "$T/pw" --backup-keep 0
bad "an absolute path" --backup-dir backups --backup-passphrase-file "$T/pw"
st=0
"$LANCA" serve --dir "$D" --https "127.0.0.1:$(free_port)" --http "" --backup-dir "$T/nowhere" \
	--backup-passphrase-file "$T/pw" >"$T/bad" 2>&1 || st=$?
[ $st -eq 1 ] && grep -q "backup-dir $T/nowhere: No such file" "$T/bad" || fail "a missing --backup-dir: $st $(cat "$T/bad")"
ok "bad backup options are refused before anything starts"

# ---- backups on their period ----
# A clock that once ran ahead: a backup named in 2099 in the directory,
# and the store's word that the last one was made in 2096. Neither may
# stop backups, nor have the newest one removed.
SITE=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | cut -c1-8 | tr 'A-F' 'a-f')
FUTURE=lanca-$SITE-20991231T000000Z.bk
printf 'from a clock that ran ahead\n' >"$B/$FUTURE"
# Another gateway's backup in the same directory: never ours to remove.
OTHER=lanca-00000000-20200101T000000Z.bk
printf 'another gateway\n' >"$B/$OTHER"
chown nobody "$B/$FUTURE" "$B/$OTHER"
sqlite3 "$D/lanca.db" "INSERT OR REPLACE INTO settings (key, value) VALUES ('backup', '{\"last_success\": 4000000000}')" ||
	fail "planting a future last backup"
# What interrupted backups left: swept at the start, but never a file a
# running backup holds (flock), nor a file of another name.
for f in "$D/.snapshot-left01" "$D/.snapshot-held01" "$D/.snapshotx" \
	"$B/lanca-$SITE-20200101T000000Z.bk.tmp-left01" "$B/lanca-$SITE-neighbour"; do
	printf 'x\n' >"$f"
	chown nobody "$f"
done
flock "$D/.snapshot-held01" sleep $((60 * LANCA_TIME_FACTOR)) &
held=$!
EVERY=$((5 * LANCA_TIME_FACTOR))
start_serve "$D" --user nobody --backup-dir "$B" --backup-passphrase-file "$T/pw" \
	--backup-every ${EVERY}s --backup-keep 2
i=0
until [ "$(ls "$B" | grep -v "$FUTURE" | grep -c "^lanca-$SITE-[0-9]\{8\}T[0-9]\{6\}Z\.bk\$")" -ge 1 ]; do
	[ $i -lt $((100 * LANCA_TIME_FACTOR)) ] || fail "no backup within $((10 * LANCA_TIME_FACTOR)) s of the start: $(ls -la "$B")"
	sleep 0.1
	i=$((i + 1))
done
[ ! -e "$D/.snapshot-left01" ] && [ ! -e "$B/lanca-$SITE-20200101T000000Z.bk.tmp-left01" ] ||
	fail "leftovers of an interrupted backup were not swept: $(ls -a "$D" "$B")"
[ -e "$D/.snapshot-held01" ] && [ -e "$D/.snapshotx" ] && [ -e "$B/lanca-$SITE-neighbour" ] ||
	fail "the sweep removed a held file or one of another name: $(ls -a "$D" "$B")"
kill "$held" 2>/dev/null || true
rm -f "$D/.snapshot-held01" "$D/.snapshotx" "$B/lanca-$SITE-neighbour"
first=$(ls "$B" | grep "^lanca-$SITE-" | grep -v "$FUTURE" | head -n 1)
[ "$(stat -c '%a %U' "$B/$first")" = "600 nobody" ] || fail "the backup's mode and owner: $(stat -c '%a %U' "$B/$first")"
! grep -aq "PRIVATE KEY" "$B/$first" || fail "a scheduled backup holds a key in clear"
# Three more periods: at least four made, the newest two kept.
sleep $((3 * EVERY + 2))
n=$(ls "$B" | grep -c "^lanca-$SITE-.*\.bk\$")
[ "$n" -eq 2 ] && [ -e "$B/$FUTURE" ] && [ -e "$B/$OTHER" ] || fail "--backup-keep 2 kept $n: $(ls "$B")"
grep -q "holds backups named after .*the clock ran ahead" "$T/serve.log" ||
	fail "no warning of a backup named in the future"
[ -z "$(ls "$B" | grep -v '\.bk$')" ] || fail "temporary files left in $B: $(ls "$B")"
ls "$B" | grep -q "^$first$" && fail "the oldest backup was not removed"
made=$("$LANCA" audit --dir "$D" --action backup --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$made" -ge 4 ] || fail "$made backups audited after 3 periods"
"$LANCA" status --dir "$D" >"$T/status" || fail "status"
grep -q "^last backup:     .*lanca-.*\.bk ([0-9]* bytes)" "$T/status" || fail "status: $(cat "$T/status")"
! grep -q "WARNING:.*backups are failing" "$T/status" || fail "status warns: $(cat "$T/status")"
tcurl -o "$T/api.json" "$HTTPS_URL/api/v1/status" || fail "GET /api/v1/status"
python3 - "$T/api.json" <<'PY' || fail "/api/v1/status: $(cat "$T/api.json")"
import json, sys
s = json.load(open(sys.argv[1]))["scheduled_backups"]
assert s["successes"] >= 4 and s["failures"] == 0 and not s["failing"], s
assert s["keep"] == 2 and s["last_success"] > 0, s
assert "file" not in s and "error" not in s, "the public status names files or reasons"
PY
"$LANCA" metrics token --dir "$D" >"$T/tok" 2>/dev/null || fail "metrics token"
tcurl -o "$T/metrics" -H "Authorization: Bearer $(cat "$T/tok")" "$HTTPS_URL/metrics" || fail "GET /metrics"
grep -q '^lanca_backups_total{result="ok"} [4-9]' "$T/metrics" &&
	grep -q '^lanca_backups_total{result="failed"} 0$' "$T/metrics" &&
	grep -q '^lanca_backup_last_success_timestamp_seconds [1-9]' "$T/metrics" ||
	fail "/metrics: $(grep backup "$T/metrics")"
ok "leftovers swept (not a held one); a sealed backup every ${EVERY} s as nobody, 0600, newest 2 of this site's kept (one named in 2099 among them: the newest made is never removed; another gateway's left alone), audited, in status, the API and /metrics"

# ---- a scheduled backup restores ----
# A copy: with the 2099 file counted, each new backup removes the last.
i=0
until newest=$(ls "$B" | grep "^lanca-$SITE-" | grep -v "$FUTURE" | tail -n 1) &&
	cp "$B/$newest" "$T/sched.bk" 2>/dev/null; do
	[ $i -lt 20 ] || fail "no scheduled backup to copy: $(ls "$B")"
	sleep 0.2
	i=$((i + 1))
done
R="$T/restored"
"$LANCA" restore "$T/sched.bk" --dir "$R" --passphrase-file "$T/pw" >"$T/out" 2>"$T/err" ||
	fail "restore of $newest: $(cat "$T/err")"
for f in keys/root.key keys/issuing.key keys/issuing.pem keys/audit.key keys/signer.conf gateway.key; do
	cmp -s "$D/$f" "$R/$f" || fail "$f differs in the restored copy"
done
printf 'wrong\n' >"$T/wrong"
chmod 600 "$T/wrong"
st=0
"$LANCA" restore "$T/sched.bk" --dir "$T/r2" --passphrase-file "$T/wrong" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "wrong passphrase" "$T/err" && [ ! -e "$T/r2" ] || fail "wrong passphrase: $st $(cat "$T/err")"
ok "a scheduled backup restores with its passphrase: keys/ from the signer's sealed copy"

# ---- a directory it cannot write: failing, shown, then recovered ----
chmod 000 "$B"
sleep $((EVERY + 2))
"$LANCA" status --dir "$D" >"$T/status" || fail "status"
grep -q "WARNING: *scheduled backups are failing since .*Permission denied" "$T/status" ||
	fail "status does not show the failure: $(cat "$T/status")"
grep -q "scheduled backup into $B failed: .*Permission denied" "$T/serve.log" || fail "no error logged: $(tail -5 "$T/serve.log")"
[ "$("$LANCA" audit --dir "$D" --action backup-failed --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -ge 1 ] ||
	fail "the failure is not audited"
tcurl -o "$T/api.json" "$HTTPS_URL/api/v1/status" || fail "GET /api/v1/status"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["scheduled_backups"]; assert s["failing"] and s["failures"] >= 1, s' "$T/api.json" ||
	fail "the API does not show the failure: $(cat "$T/api.json")"
tcurl -o "$T/metrics" -H "Authorization: Bearer $(cat "$T/tok")" "$HTTPS_URL/metrics" || fail "GET /metrics"
grep -q '^lanca_backups_total{result="failed"} [1-9]' "$T/metrics" || fail "/metrics: $(grep backup "$T/metrics")"
chmod 700 "$B"
sleep $((EVERY + 2))
tcurl -o "$T/api.json" "$HTTPS_URL/api/v1/status" || fail "GET /api/v1/status"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["scheduled_backups"]; assert not s["failing"], s' "$T/api.json" ||
	fail "still failing once writable: $(cat "$T/api.json")"
kill -0 "$SERVE_PID" || fail "the daemon died"
stop_serve || fail "serve did not stop cleanly"
ok "an unwritable backup directory: error logged, audited, in status, the API and /metrics; recovered at the next period"

echo "t_backup_sched: $n_ok passed, 0 failed"
