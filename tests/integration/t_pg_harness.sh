#!/bin/sh
# t_pg_harness.sh - the PostgreSQL harness itself (pg.sh, and lib.sh's
# LANCA_TEST_STORE=postgresql mode), with no lanca store on it: a cluster
# started by pg_start answers on 127.0.0.1 only, with password
# authentication (SCRAM), fsync and synchronous commits on; pg_createdb
# makes a second database; pg_stop leaves no process of the cluster
# behind, nor does a test that exits with one running (lib.sh's cleanup);
# and the wrapper gives each `lanca init` without --store a database of
# its own and leaves every other command alone.
. "$(dirname "$0")/lib.sh"

pg_skip_unless_available

pg_start a || fail "pg_start a"
# shellcheck disable=SC2154 # set by pg_start (eval)
url=$PG_URL_a
# shellcheck disable=SC2154
port=$PG_PORT_a
case $url in
postgresql://lanca:?*@127.0.0.1:"$port"/lanca) ;;
*) fail "PG_URL_a is not lanca's URL on 127.0.0.1:$port: $url" ;;
esac
[ "$PG_URL" = "$url" ] || fail "PG_URL is not the last cluster's"
ok "pg_start: a cluster on 127.0.0.1:$port, its URL in PG_URL_a"

# psql as lanca with the URL's password, over TCP on the loopback (a
# connection over a Unix socket has no server address).
q() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}
[ "$(q "$url" 'SELECT current_user')" = lanca ] || fail "current_user is not lanca"
[ "$(q "$url" 'SELECT current_database()')" = lanca ] || fail "not the database lanca"
[ "$(q "$url" 'SELECT host(inet_server_addr())')" = 127.0.0.1 ] ||
	fail "not a TCP connection to 127.0.0.1"
[ "$(q "$url" 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')" = f ] ||
	fail "unexpected TLS on the loopback"
ok "psql connects with the URL: lanca, over TCP on 127.0.0.1"

# The password is what lets lanca in: a wrong one, or none, is refused
# (PGPASSFILE=/dev/null: no ~/.pgpass helps; -w: no prompt).
wrong=$(echo "$url" | sed 's|//lanca:[^@]*@|//lanca:wrong@|')
if PGPASSFILE=/dev/null psql -X -w -d "$wrong" -c 'SELECT 1' >/dev/null 2>"$T/psql.err"; then
	fail "a wrong password was accepted"
fi
grep -q 'password authentication failed' "$T/psql.err" || fail "wrong password: $(cat "$T/psql.err")"
nopass=$(echo "$url" | sed 's|//lanca:[^@]*@|//lanca@|')
if PGPASSFILE=/dev/null psql -X -w -d "$nopass" -c 'SELECT 1' >/dev/null 2>"$T/psql.err"; then
	fail "no password was accepted"
fi
# The superuser has no password: it cannot come in over TCP at all.
su=$(echo "$url" | sed 's|//lanca:|//postgres:|')
if PGPASSFILE=/dev/null psql -X -w -d "$su" -c 'SELECT 1' >/dev/null 2>&1; then
	fail "the superuser logged in over TCP"
fi
[ "$(pg_psql_admin a -A -t -c "SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE type = 'host'")" = scram-sha-256 ] ||
	fail "TCP connections are not scram-sha-256 only"
[ "$(pg_psql_admin a -A -t -c "SELECT rolpassword LIKE 'SCRAM-SHA-256\$%' FROM pg_authid WHERE rolname = 'lanca'")" = t ] ||
	fail "lanca's password is not stored as a SCRAM verifier"
ok "password authentication: SCRAM only; a wrong or missing password, or the superuser, refused"

[ "$(q "$url" 'SHOW synchronous_commit')" = on ] || fail "synchronous_commit is not on"
[ "$(q "$url" 'SHOW fsync')" = on ] || fail "fsync is not on"
[ "$(q "$url" 'SHOW full_page_writes')" = on ] || fail "full_page_writes is not on"
[ "$(q "$url" 'SHOW listen_addresses')" = 127.0.0.1 ] || fail "it listens beyond 127.0.0.1"
[ "$(pg_psql_admin a -A -t -c 'SHOW unix_socket_directories')" = "$T/pg-a" ] ||
	fail "its Unix socket is not in its data directory"
[ -S "$T/pg-a/.s.PGSQL.$port" ] || fail "no Unix socket in $T/pg-a"
# Nothing of it on the wildcard or IPv6 addresses: only 127.0.0.1:PORT.
hexport=$(printf '%04X' "$port")
awk -v p=":$hexport" '$4 == "0A" && $2 ~ p"$" { print $2 }' /proc/net/tcp /proc/net/tcp6 >"$T/listen"
[ "$(cat "$T/listen")" = "0100007F:$hexport" ] || fail "listening sockets on port $port: $(cat "$T/listen")"
ok "fsync, synchronous_commit and full_page_writes on; TCP on 127.0.0.1:$port only"

if [ "$(id -u)" -eq 0 ]; then
	[ "$(stat -c %U:%a "$T/pg-a")" = postgres:700 ] ||
		fail "the data directory is $(stat -c %U:%a "$T/pg-a"), not postgres:700"
	ok "as root the cluster is the postgres user's (data directory postgres, 0700)"
fi

# A second database, lanca's, on the same server.
url2=$(pg_createdb a second) || fail "pg_createdb a second"
[ "$url2" = "${url%/lanca}/second" ] || fail "pg_createdb printed $url2"
[ "$(q "$url2" 'SELECT current_database()')" = second ] || fail "not the database second"
q "$url2" 'CREATE TABLE t (x int); INSERT INTO t VALUES (7)' || fail "lanca cannot write in second"
[ "$(q "$url2" 'SELECT x FROM t')" = 7 ] || fail "second holds no row"
[ "$(q "$url" "SELECT count(*) FROM pg_tables WHERE tablename = 't'")" = 0 ] ||
	fail "second's table shows in lanca"
[ "$(pg_psql_admin a -A -t -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'second'")" = lanca ] ||
	fail "second is not lanca's"
if pg_createdb a 'x;DROP' >/dev/null 2>&1; then
	fail "pg_createdb took a name that is no identifier"
fi
ok "pg_createdb: a second database of lanca's, apart from the first"

# pg_stop: the postmaster and every process of it are gone.
pm=$(pg_postmaster_pid "$T/pg-a") || fail "no postmaster.pid for a"
kids=$(for p in /proc/[0-9]*; do
	if [ "$(awk '/^PPid:/ { print $2 }' "$p/status" 2>/dev/null)" = "$pm" ]; then
		echo "${p#/proc/}"
	fi
done)
[ -n "$kids" ] || fail "the postmaster $pm has no child processes (checkpointer, walwriter...)"
pg_stop a || fail "pg_stop a"
for p in $pm $kids; do
	if pg_alive "$p" && grep -q postgres "/proc/$p/cmdline" 2>/dev/null; then
		fail "process $p of cluster a still runs after pg_stop"
	fi
done
[ ! -e "$T/pg-a/postmaster.pid" ] || fail "postmaster.pid left behind"
if psql -X -w -d "$url" -c 'SELECT 1' >/dev/null 2>&1; then
	fail "something still answers on port $port"
fi
ok "pg_stop: the postmaster ($pm) and its $(echo "$kids" | wc -w) processes are gone"

# A test that ends (here: fails) with a cluster running: lib.sh's cleanup
# stops it. The child test is this harness sourced by another script.
cat >"$T/child.sh" <<EOF
. '$TOP_SRCDIR/tests/integration/lib.sh'
pg_start c || exit 3
pg_postmaster_pid "\$T/pg-c" >'$T/child.pid'
echo "\$T" >'$T/child.T'
fail "ending with the cluster running"
EOF
st=0
LANCA_WRAPPER='' LANCA_TEST_STORE='' sh "$T/child.sh" >"$T/child.log" 2>&1 || st=$?
[ $st -eq 1 ] || fail "the child test exited $st: $(cat "$T/child.log")"
cpm=$(cat "$T/child.pid")
[ -n "$cpm" ] || fail "the child's cluster had no postmaster"
if pg_alive "$cpm"; then
	fail "the child test's postmaster $cpm outlived it"
fi
[ ! -e "$(cat "$T/child.T")" ] || fail "the child test's directory was left"
ok "a test's cleanup stops the clusters it started"

# A test killed outright runs no cleanup: pg.sh's watchdog stops its
# cluster once the test's shell is gone.
cat >"$T/child3.sh" <<EOF
. '$TOP_SRCDIR/tests/integration/lib.sh'
pg_start k || exit 3
pg_postmaster_pid "\$T/pg-k" >'$T/child3.pid'
echo "\$T" >'$T/child3.T'
sleep 600
EOF
LANCA_WRAPPER='' LANCA_TEST_STORE='' sh "$T/child3.sh" >"$T/child3.log" 2>&1 &
kpid=$!
i=0
until [ -s "$T/child3.T" ]; do
	[ $i -lt 600 ] && kill -0 "$kpid" 2>/dev/null || fail "the child test did not start its cluster: $(cat "$T/child3.log")"
	sleep 0.1
	i=$((i + 1))
done
kill -KILL "$kpid"
wait "$kpid" 2>/dev/null || true
kpm=$(cat "$T/child3.pid")
i=0
while pg_alive "$kpm" && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
# What the killed test left besides: its sleep (now init's), by the pid
# it wrote, and its directory.
for p in /proc/[0-9]*; do
	if [ "$(cat "$p/cmdline" 2>/dev/null | tr '\0' ' ')" = "sleep 600 " ] &&
		grep -q "^PPid:[[:space:]]*1\$" "$p/status" 2>/dev/null &&
		[ "$(cat "$p/environ" 2>/dev/null | tr '\0' '\n' | sed -n 's/^LANCA_TEST_PID=//p')" = "$kpid" ]; then
		kill "${p#/proc/}" 2>/dev/null || true
	fi
done
rm -rf "$(cat "$T/child3.T")"
if pg_alive "$kpm"; then
	kill -KILL "$kpm" 2>/dev/null || true
	fail "the cluster of a test killed with SIGKILL outlived it"
fi
ok "a test killed outright: its cluster is stopped by pg.sh's watchdog"

# LANCA_TEST_STORE=postgresql: $LANCA is a wrapper that adds --store URL
# (a new database each time, one cluster per test) to every init without
# one, and passes everything else as it is. A stand-in lanca prints what
# it was given, so this needs no PostgreSQL store in lanca.
cat >"$T/echo-lanca" <<'EOF'
#!/bin/sh
for a; do printf '[%s]' "$a"; done
echo
EOF
chmod 755 "$T/echo-lanca"
cat >"$T/child2.sh" <<EOF
. '$TOP_SRCDIR/tests/integration/lib.sh'
[ "\$LANCA" != '$T/echo-lanca' ] || fail "LANCA is not wrapped"
"\$LANCA" init --dir /x/one >'$T/w.1'
"\$LANCA" init --dir /x/two --name n >'$T/w.2'
"\$LANCA" status --dir /x/one >'$T/w.3'
"\$LANCA" init --dir /x/three --store postgres://given/db >'$T/w.4'
"\$LANCA" init --help >'$T/w.5'
ls "\$T" >'$T/w.ls'
url1=\$(sed -n 's/.*\[--store\]\[\([^]]*\)\]\$/\1/p' '$T/w.1')
psql -X -A -t -d "\$url1" -c 'SELECT current_database()' >'$T/w.db1' || fail "psql to \$url1"
pg_postmaster_pid "\$T/pg-test" >'$T/w.pid'
EOF
st=0
LANCA="$T/echo-lanca" LANCA_WRAPPER='' LANCA_TEST_STORE=postgresql sh "$T/child2.sh" \
	>"$T/child2.log" 2>&1 || st=$?
[ $st -eq 0 ] || fail "the wrapper's test exited $st: $(cat "$T/child2.log")"
grep -q '^\[init\]\[--dir\]\[/x/one\]\[--store\]\[postgresql://lanca:[^]@]*@127\.0\.0\.1:[0-9]*/lanca_1\]$' "$T/w.1" ||
	fail "init 1 got: $(cat "$T/w.1")"
grep -q '^\[init\]\[--dir\]\[/x/two\]\[--name\]\[n\]\[--store\]\[postgresql://lanca:[^]@]*@127\.0\.0\.1:[0-9]*/lanca_2\]$' "$T/w.2" ||
	fail "init 2 got: $(cat "$T/w.2")"
[ "$(cat "$T/w.3")" = "[status][--dir][/x/one]" ] || fail "status got: $(cat "$T/w.3")"
[ "$(cat "$T/w.4")" = "[init][--dir][/x/three][--store][postgres://given/db]" ] ||
	fail "init with --store got: $(cat "$T/w.4")"
[ "$(cat "$T/w.5")" = "[init][--help]" ] || fail "init --help got: $(cat "$T/w.5")"
[ "$(cat "$T/w.db1")" = lanca_1 ] || fail "the first init's database: $(cat "$T/w.db1")"
# One cluster for both inits, stopped with the test.
[ "$(grep -c '^pg-[a-z]*$' "$T/w.ls")" = 1 ] || fail "clusters made: $(cat "$T/w.ls")"
if pg_alive "$(cat "$T/w.pid")"; then
	fail "the wrapper's cluster outlived its test"
fi
ok "LANCA_TEST_STORE=postgresql: each init without --store gets a database of its own"

echo "1..$n_ok"
