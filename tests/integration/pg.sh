# pg.sh - PostgreSQL servers of a test's own (sourced by lib.sh, POSIX sh).
#
# pg_start NAME starts a cluster in $T/pg-NAME with PostgreSQL's own initdb
# and pg_ctl (the postgresql package's, contrib/debian-deps.sh; never the
# system's cluster): TCP on 127.0.0.1 only, on a free port, its Unix socket
# in the data directory, fsync and synchronous_commit on (a commit the
# store reports is on disk, as in production), password authentication
# (scram-sha-256) over TCP for a role lanca with a random password, which
# owns one database, lanca. It sets PG_URL_NAME to
# postgresql://lanca:PASSWORD@127.0.0.1:PORT/lanca (and PG_URL to the
# same), and PG_PORT_NAME. pg_createdb NAME DB makes another database of
# lanca's on that cluster and prints its URL. pg_stop NAME stops it
# (pg_ctl stop -m fast, then SIGKILL to what is left); lib.sh's cleanup
# calls pg_stop_all, which stops every cluster under $T, so no server
# outlives its test, even one a child process started (lib.sh's
# LANCA_TEST_STORE=postgresql wrapper does); and should the test be
# killed before its cleanup runs, a watchdog stops the server within a
# second or two (pg_watch).
#
# pg.sh needs T (the test's directory) and TOP_SRCDIR (the watchdog
# sources it again).
#
# initdb refuses to run as root: as root (as the tests run) the cluster is
# the postgres system user's, run through runuser, and $T is opened to
# traversal (0711) for it; as another user, that user's. What the test
# needs later is kept in $T/pg-NAME.env (root's, 0600): PG_DIR, PG_PORT,
# PG_PASS. Each call is bounded in time (pg_ctl -t). The functions print
# what went wrong on standard error and return 1: callers add `|| fail`.
#
# A failover (t_pg_failover.sh): pg_replica NAME PRIMARY makes NAME a
# streaming replica of PRIMARY's running cluster (pg_basebackup -R over
# 127.0.0.1 with a replication role of its own) on its own free port, and
# makes PRIMARY wait for it at every commit (synchronous_standby_names), so
# that a commit lanca was told of is on the replica too; NAME itself waits
# for nobody, so it takes writes once promoted. pg_crash NAME ends a
# cluster the way a box dies (pg_ctl stop -m immediate: no checkpoint, no
# goodbye to clients); pg_promote NAME makes a replica the primary and
# returns once it takes writes; pg_url_hosts NAME... prints one URL naming
# every host (postgresql://lanca:PW@127.0.0.1:P1,127.0.0.1:P2/lanca), which
# libpq tries in turn. A replica is stopped by pg_stop and pg_stop_all like
# any cluster.
#
# pg_skip_unless_available exits 77 (skip) when no PostgreSQL server
# binaries are installed. pg_test_database (below) is what lib.sh's
# LANCA_TEST_STORE=postgresql mode gives each lanca init.

PG_WAIT_S=${PG_WAIT_S:-30}

# lib.sh's free_port, or the same where pg.sh is sourced alone (the
# LANCA_TEST_STORE=postgresql wrapper).
command -v free_port >/dev/null 2>&1 ||
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# The newest installed server's bin directory (Debian: /usr/lib/postgresql/
# VERSION/bin), or PG_BINDIR when set.
pg_bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then
		echo "$PG_BINDIR"
		return 0
	fi
	pg_best=
	for pg_bd in /usr/lib/postgresql/*/bin; do
		[ -x "$pg_bd/initdb" ] && [ -x "$pg_bd/pg_ctl" ] || continue
		pg_v=${pg_bd%/bin}
		pg_v=${pg_v##*/}
		case $pg_v in
		*[!0-9]*) continue ;;
		esac
		if [ -z "$pg_best" ] || [ "$pg_v" -gt "${pg_best%%:*}" ]; then
			pg_best="$pg_v:$pg_bd"
		fi
	done
	[ -n "$pg_best" ] || return 1
	echo "${pg_best#*:}"
}

pg_skip_unless_available() {
	if ! pg_bindir >/dev/null || ! command -v psql >/dev/null 2>&1; then
		echo "SKIP: ${LANCA_TEST:-test}: no PostgreSQL server (initdb, pg_ctl) or psql" \
			"installed (Debian: postgresql; contrib/debian-deps.sh)"
		exit 77
	fi
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		echo "SKIP: ${LANCA_TEST:-test}: running as root and there is no postgres user" \
			"to run the server as"
		exit 77
	fi
}

# pg_as CMD...: CMD as the cluster's owner (postgres when we are root).
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# pg_name_ok NAME: a name that can be part of a shell variable's.
pg_name_ok() {
	case $1 in
	'' | *[!A-Za-z0-9_]*)
		echo "pg.sh: cluster name '$1': letters, digits and _ only" >&2
		return 1
		;;
	esac
}

# pg_env NAME: reads $T/pg-NAME.env (PG_DIR PG_PORT PG_PASS).
pg_env() {
	[ -f "$T/pg-$1.env" ] || {
		echo "pg.sh: no cluster $1 in $T (pg_start $1 first)" >&2
		return 1
	}
	# shellcheck disable=SC1090 # the cluster's own file, written by pg_start
	. "$T/pg-$1.env"
}

# pg_env_write NAME DIR PORT PASS: what later calls need of NAME's
# cluster, in $T/pg-NAME.env (root's, 0600; pg_env reads it).
pg_env_write() {
	( umask 077 && printf 'PG_DIR=%s\nPG_PORT=%s\nPG_PASS=%s\n' "$2" "$3" "$4" \
		>"$T/pg-$1.env" )
}

# pg_url NAME [DB]: the URL of DB (lanca's own database by default):
# over TCP to 127.0.0.1, or with PG_URL_VIA=socket over the cluster's Unix
# socket (in its data directory), which a process in another network
# namespace reaches too.
pg_url() {
	pg_env "$1" || return 1
	if [ "${PG_URL_VIA:-tcp}" = socket ]; then
		echo "postgresql://lanca:$PG_PASS@/${2:-lanca}?host=$PG_DIR&port=$PG_PORT"
	else
		echo "postgresql://lanca:$PG_PASS@127.0.0.1:$PG_PORT/${2:-lanca}"
	fi
}

# pg_psql_admin NAME [psql options...]: psql as the superuser over the
# cluster's Unix socket (peer authentication), stopping at the first error.
pg_psql_admin() {
	pg_n=$1
	shift
	pg_env "$pg_n" || return 1
	pg_as psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres "$@"
}

# pg_conf DIR PORT: the settings of every cluster here (pg_start's,
# pg_replica's), for DIR/postgresql.auto.conf.
pg_conf() {
	cat <<EOF
listen_addresses = '127.0.0.1'
port = $2
unix_socket_directories = '$1'
unix_socket_permissions = 0700
fsync = on
synchronous_commit = on
full_page_writes = on
password_encryption = 'scram-sha-256'
shared_buffers = 16MB
max_connections = 50
logging_collector = off
log_min_messages = warning
EOF
}

# pg_ctl_start NAME WHAT: starts the cluster in $pg_d (log $pg_log, the
# $pg_tries-th port tried) with pg_ctl -w. 0 when it runs; 2 when its port
# was taken meanwhile (another test may take it between free_port and the
# bind: the caller tries another, 5 times at most); 1 when it failed (said
# why, WHAT naming it; the cluster stopped). The server keeps no
# descriptor of ours (pg_ctl gives it /dev/null and the log): no pipe a
# caller reads from, nor pg_test_database's lock, stays open in it.
pg_ctl_start() {
	if pg_as "$pg_bin/pg_ctl" start -D "$pg_d" -l "$pg_log" -w -t "$PG_WAIT_S" -s \
		</dev/null >/dev/null 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; then
		return 0
	fi
	if [ "$pg_tries" -lt 5 ] && grep -q "could not bind\|Address already in use" "$pg_log"; then
		pg_as "$pg_bin/pg_ctl" stop -D "$pg_d" -m immediate -w -t 10 -s >/dev/null 2>&1 || true
		return 2
	fi
	echo "pg.sh: the $2 in $pg_d did not start:" >&2
	tail -n 20 "$pg_log" >&2
	pg_stop "$1" >/dev/null 2>&1 || true
	return 1
}

pg_start() {
	pg_name_ok "$1" || return 1
	pg_bin=$(pg_bindir) || {
		echo "pg.sh: no PostgreSQL server installed (initdb, pg_ctl)" >&2
		return 1
	}
	pg_d="$T/pg-$1"
	pg_log="$T/pg-$1.log"
	[ ! -e "$pg_d" ] || {
		echo "pg.sh: $pg_d exists: one pg_start $1 per test" >&2
		return 1
	}
	if [ "$(id -u)" -eq 0 ]; then
		# The postgres user must reach its data directory; nothing else
		# in $T becomes readable to it.
		case $(stat -c %a "$T") in
		700) chmod 711 "$T" ;;
		esac
		mkdir -m 700 "$pg_d" && chown postgres:postgres "$pg_d" || return 1
		: >"$pg_log" && chown postgres:postgres "$pg_log" || return 1
	else
		mkdir -m 700 "$pg_d" || return 1
	fi
	# Local (Unix socket) connections: the superuser, by peer; over TCP,
	# SCRAM passwords only. No password is given to the superuser, so
	# lanca's role is the only one that logs in over TCP.
	pg_as "$pg_bin/initdb" -D "$pg_d" -U postgres -E UTF8 --locale=C --auth-local=peer \
		--auth-host=scram-sha-256 --no-instructions >"$T/pg-$1.initdb.log" 2>&1 || {
		echo "pg.sh: initdb $pg_d failed:" >&2
		cat "$T/pg-$1.initdb.log" >&2
		return 1
	}
	# lanca's role may log in over the Unix socket too, with its
	# password (a daemon in a network namespace of its own reaches no
	# loopback of the host: PG_URL_VIA=socket).
	pg_as sh -c '{ echo "local all lanca scram-sha-256"; cat "$1/pg_hba.conf"; } \
		>"$1/pg_hba.new" && mv "$1/pg_hba.new" "$1/pg_hba.conf"' sh "$pg_d" || return 1
	pg_pw=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
	pg_tries=0
	while :; do
		pg_tries=$((pg_tries + 1))
		pg_port=$(free_port)
		# postgresql.auto.conf is read last: these win over the
		# defaults initdb wrote into postgresql.conf.
		pg_conf "$pg_d" "$pg_port" | pg_as sh -c 'cat >"$1/postgresql.auto.conf"' sh "$pg_d"
		pg_st=0
		pg_ctl_start "$1" server || pg_st=$?
		case $pg_st in
		0) break ;;
		2) continue ;;
		*) return 1 ;;
		esac
	done
	pg_env_write "$1" "$pg_d" "$pg_port" "$pg_pw" || return 1
	# The password goes in on standard input, not on a command line.
	pg_psql_admin "$1" -f - <<EOF || { pg_stop "$1" >/dev/null 2>&1; return 1; }
CREATE ROLE lanca LOGIN PASSWORD '$pg_pw';
CREATE DATABASE lanca OWNER lanca;
EOF
	pg_watch "$1"
	eval "PG_URL_$1=\$(pg_url \"\$1\")"
	eval "PG_PORT_$1=\$pg_port"
	eval "PG_URL=\$PG_URL_$1"
	return 0
}

# pg_watch NAME: a test killed outright (SIGKILL, a harness's timeout)
# runs no cleanup: a watchdog in the background stops NAME's server once
# the test's shell (LANCA_TEST_PID, lib.sh's $$) is gone and $T/pg-NAME is
# still there. A shell of its own (exec'd: none of the caller's
# descriptors, not even those the shell keeps aside, and no trap).
pg_watch() {
	sh -c '
		T=$1
		. "$2/tests/integration/pg.sh"
		while kill -0 "$3" 2>/dev/null; do
			sleep 1
		done
		[ ! -d "$T/pg-$4" ] || pg_stop "$4"
	' pg-watch "$T" "$TOP_SRCDIR" "${LANCA_TEST_PID:-$$}" "$1" \
		</dev/null >/dev/null 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
}

# pg_createdb NAME DB: a new database DB owned by lanca on NAME's cluster;
# prints its URL.
pg_createdb() {
	pg_name_ok "$2" || return 1
	pg_psql_admin "$1" -c "CREATE DATABASE $2 OWNER lanca" || return 1
	pg_url "$1" "$2"
}

# pg_postmaster_pid DIR: the server's pid from DIR/postmaster.pid, if it
# is running.
pg_postmaster_pid() {
	[ -f "$1/postmaster.pid" ] || return 1
	pg_p=$(head -n 1 "$1/postmaster.pid" 2>/dev/null)
	case $pg_p in
	'' | *[!0-9]*) return 1 ;;
	esac
	kill -0 "$pg_p" 2>/dev/null || return 1
	echo "$pg_p"
}

# pg_alive PID: PID runs (a zombie does not count: its parent may be
# slow to reap an orphan).
pg_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# pg_stop NAME: stops NAME's server: a fast shutdown (clients are
# disconnected, the WAL is flushed), waiting until the postmaster has
# exited (pg_ctl returns when it removed postmaster.pid, a moment before);
# after PG_WAIT_S seconds, SIGKILL to the postmaster and every process of
# its (found by their parent). 1 when it had to be killed.
pg_stop() {
	pg_d="$T/pg-$1"
	[ -d "$pg_d" ] || {
		echo "pg.sh: no cluster $1" >&2
		return 1
	}
	pg_bin=$(pg_bindir) || return 1
	pg_pm=$(pg_postmaster_pid "$pg_d") || pg_pm=
	pg_as "$pg_bin/pg_ctl" stop -D "$pg_d" -m fast -w -t "$PG_WAIT_S" -s >/dev/null 2>&1 || true
	[ -n "$pg_pm" ] || return 0
	pg_reap "$pg_d" "$pg_pm"
}

# pg_reap DIR PID: waits up to PG_WAIT_S seconds for DIR's postmaster PID
# to exit; then SIGKILL to it and every process of its (found by their
# parent). 1 when it had to be killed.
pg_reap() {
	pg_i=0
	while pg_alive "$2" && [ $pg_i -lt $((PG_WAIT_S * 10)) ]; do
		sleep 0.1
		pg_i=$((pg_i + 1))
	done
	pg_alive "$2" || return 0
	echo "pg.sh: $1 did not stop within $PG_WAIT_S s: killing $2" >&2
	for pg_p in /proc/[0-9]*; do
		pg_pp=$(awk '/^PPid:/ { print $2 }' "$pg_p/status" 2>/dev/null || true)
		[ "$pg_pp" != "$2" ] || kill -KILL "${pg_p#/proc/}" 2>/dev/null || true
	done
	kill -KILL "$2" 2>/dev/null || true
	pg_i=0
	while pg_alive "$2" && [ $pg_i -lt 50 ]; do
		sleep 0.1
		pg_i=$((pg_i + 1))
	done
	return 1
}

# pg_stop_all: every cluster under $T that still runs (lib.sh's cleanup).
pg_stop_all() {
	for pg_dd in "$T"/pg-*/; do
		[ -f "$pg_dd/PG_VERSION" ] || continue
		pg_dd=${pg_dd%/}
		pg_postmaster_pid "$pg_dd" >/dev/null || continue
		pg_stop "${pg_dd##*/pg-}" || true
	done
}

# ---- failover ----

# pg_admin_value NAME SQL: the one value SQL gives, as the superuser.
pg_admin_value() {
	pg_psql_admin "$1" -A -t -c "$2"
}

# pg_replica NAME PRIMARY: a streaming replica of PRIMARY's running cluster
# in $T/pg-NAME, on a free port of 127.0.0.1, and PRIMARY made to wait for
# it at every commit.
#
# The copy: pg_basebackup -R over TCP on 127.0.0.1 as repl_NAME, a role
# with REPLICATION and a random password of its own (initdb's pg_hba.conf
# lets replication in from 127.0.0.1 with SCRAM, as anybody else); the
# password is in $T/pg-NAME.pgpass (the cluster owner's, 0600), named by
# the primary_conninfo -R writes (with application_name=NAME), never on a
# command line. lanca's role and password come with the copy: the env
# file holds the primary's PG_PASS.
#
# The settings: pg_basebackup copies the primary's postgresql.conf (as
# initdb wrote it: nothing of ours) and postgresql.auto.conf (its port,
# its socket directory, and whatever ALTER SYSTEM put there). The
# replica's postgresql.auto.conf is written afresh: pg_conf's settings for
# its own directory and port, -R's primary_conninfo, and
# synchronous_standby_names empty: promoted, it must not wait for a
# standby that does not exist, or every commit of lanca's would hang.
#
# Then PRIMARY waits for it: ALTER SYSTEM SET synchronous_standby_names to
# NAME, reloaded; with synchronous_commit on (the cluster's, and every
# lanca session's), a COMMIT returns once the replica has flushed it, so
# a certificate lanca answered with survives a promotion. Returns once
# the primary reports NAME streaming and synchronous. Sets PG_URL_NAME and
# PG_PORT_NAME (PG_URL stays the primary's).
pg_replica() {
	pg_name_ok "$1" || return 1
	pg_name_ok "$2" || return 1
	pg_bin=$(pg_bindir) || {
		echo "pg.sh: no PostgreSQL server installed (initdb, pg_ctl)" >&2
		return 1
	}
	pg_env "$2" || return 1
	pg_postmaster_pid "$PG_DIR" >/dev/null || {
		echo "pg.sh: the primary $2 does not run" >&2
		return 1
	}
	pg_pport=$PG_PORT
	pg_ppass=$PG_PASS
	pg_d="$T/pg-$1"
	pg_log="$T/pg-$1.log"
	pg_pass="$T/pg-$1.pgpass"
	[ ! -e "$pg_d" ] || {
		echo "pg.sh: $pg_d exists: one cluster per name" >&2
		return 1
	}
	pg_rpw=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
	if [ "$(id -u)" -eq 0 ]; then
		mkdir -m 700 "$pg_d" && chown postgres:postgres "$pg_d" || return 1
		: >"$pg_log" && chown postgres:postgres "$pg_log" || return 1
		( umask 077 && echo "127.0.0.1:$pg_pport:*:repl_$1:$pg_rpw" >"$pg_pass" ) &&
			chown postgres:postgres "$pg_pass" || return 1
	else
		mkdir -m 700 "$pg_d" || return 1
		( umask 077 && echo "127.0.0.1:$pg_pport:*:repl_$1:$pg_rpw" >"$pg_pass" ) ||
			return 1
	fi
	pg_psql_admin "$2" -f - <<EOF || return 1
CREATE ROLE "repl_$1" LOGIN REPLICATION PASSWORD '$pg_rpw';
EOF
	# -X stream: the WAL written during the copy comes with it; -c fast:
	# no wait for the next checkpoint. Bounded: libpq's connect_timeout,
	# and timeout(1) for the copy itself.
	if ! pg_as timeout "$((PG_WAIT_S * 2))" "$pg_bin/pg_basebackup" -D "$pg_d" -R -X stream \
		-c fast -w -d "host=127.0.0.1 port=$pg_pport user=repl_$1 passfile=$pg_pass \
application_name=$1 connect_timeout=$PG_WAIT_S" \
		</dev/null >"$T/pg-$1.basebackup.log" 2>&1; then
		echo "pg.sh: pg_basebackup of $2 into $pg_d failed:" >&2
		cat "$T/pg-$1.basebackup.log" >&2
		return 1
	fi
	pg_ci=$(grep '^primary_conninfo' "$pg_d/postgresql.auto.conf") &&
		[ -f "$pg_d/standby.signal" ] || {
		echo "pg.sh: pg_basebackup -R wrote no primary_conninfo or standby.signal in $pg_d" >&2
		return 1
	}
	case $pg_ci in
	*"application_name=$1"*) ;;
	*)
		echo "pg.sh: primary_conninfo names no application_name=$1: $pg_ci" >&2
		return 1
		;;
	esac
	if grep -q '^[[:space:]]*synchronous_standby_names' "$pg_d/postgresql.conf"; then
		echo "pg.sh: $pg_d/postgresql.conf (the primary's copy) sets synchronous_standby_names" >&2
		return 1
	fi
	pg_tries=0
	while :; do
		pg_tries=$((pg_tries + 1))
		pg_port=$(free_port)
		{
			pg_conf "$pg_d" "$pg_port"
			echo "synchronous_standby_names = ''"
			echo "$pg_ci"
		} | pg_as sh -c 'cat >"$1/postgresql.auto.conf"' sh "$pg_d" || return 1
		# -w: a standby is ready once it has replayed to a consistent
		# state and takes read-only connections.
		pg_st=0
		pg_ctl_start "$1" replica || pg_st=$?
		case $pg_st in
		0) break ;;
		2) continue ;;
		*) return 1 ;;
		esac
	done
	pg_env_write "$1" "$pg_d" "$pg_port" "$pg_ppass" || return 1
	pg_watch "$1"
	[ "$(pg_admin_value "$1" 'SELECT pg_is_in_recovery()')" = t ] || {
		echo "pg.sh: $1 is not a standby" >&2
		return 1
	}
	[ -z "$(pg_admin_value "$1" 'SHOW synchronous_standby_names')" ] || {
		echo "pg.sh: the replica $1 would wait for a synchronous standby" >&2
		return 1
	}
	# ALTER SYSTEM runs outside a transaction: one statement at a time.
	pg_psql_admin "$2" -f - <<EOF >/dev/null || return 1
ALTER SYSTEM SET synchronous_standby_names = '"$1"';
SELECT pg_reload_conf();
EOF
	pg_i=0
	while [ "$(pg_admin_value "$2" "SELECT sync_state FROM pg_stat_replication
		WHERE application_name = '$1' AND state = 'streaming'")" != sync ]; do
		[ $pg_i -lt $((PG_WAIT_S * 10)) ] || {
			echo "pg.sh: $1 is not a synchronous standby of $2 after $PG_WAIT_S s:" >&2
			pg_admin_value "$2" 'SELECT application_name, state, sync_state FROM pg_stat_replication' >&2
			tail -n 20 "$pg_log" >&2
			return 1
		}
		sleep 0.1
		pg_i=$((pg_i + 1))
	done
	eval "PG_URL_$1=\$(pg_url \"\$1\")"
	eval "PG_PORT_$1=\$pg_port"
	return 0
}

# pg_crash NAME: NAME's server dies at once, the way a box does: pg_ctl
# stop -m immediate (every process quits without a checkpoint or a word to
# its clients; the next start recovers from the WAL), then SIGKILL to what
# is left after PG_WAIT_S seconds. 1 when it was not running.
pg_crash() {
	pg_d="$T/pg-$1"
	pg_bin=$(pg_bindir) || return 1
	pg_pm=$(pg_postmaster_pid "$pg_d") || {
		echo "pg.sh: cluster $1 does not run" >&2
		return 1
	}
	pg_as "$pg_bin/pg_ctl" stop -D "$pg_d" -m immediate -w -t "$PG_WAIT_S" -s >/dev/null 2>&1 || true
	pg_reap "$pg_d" "$pg_pm" || true
	! pg_alive "$pg_pm"
}

# pg_promote NAME: the replica NAME becomes a primary (pg_ctl promote);
# returns once it is out of recovery and takes a write (a transaction id
# is given only to a server that can write), within PG_WAIT_S seconds.
pg_promote() {
	pg_env "$1" || return 1
	pg_bin=$(pg_bindir) || return 1
	pg_as "$pg_bin/pg_ctl" promote -D "$PG_DIR" -w -t "$PG_WAIT_S" -s >/dev/null 2>&1 || {
		echo "pg.sh: pg_ctl promote $1 failed:" >&2
		tail -n 20 "$T/pg-$1.log" >&2
		return 1
	}
	pg_i=0
	until [ "$(pg_admin_value "$1" 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] &&
		pg_admin_value "$1" 'SELECT txid_current()' >/dev/null 2>&1; do
		[ $pg_i -lt $((PG_WAIT_S * 10)) ] || {
			echo "pg.sh: $1 takes no writes $PG_WAIT_S s after its promotion" >&2
			return 1
		}
		sleep 0.1
		pg_i=$((pg_i + 1))
	done
}

# pg_url_hosts NAME...: one URL of lanca's database naming every cluster's
# address in turn (libpq tries them in that order, and lanca keeps the
# first that takes writes). The clusters must share lanca's password (a
# replica and its primary do).
pg_url_hosts() {
	pg_hosts=
	pg_pw=
	for pg_n; do
		pg_env "$pg_n" || return 1
		if [ -n "$pg_pw" ] && [ "$pg_pw" != "$PG_PASS" ]; then
			echo "pg.sh: $pg_n has another password for lanca than $1" >&2
			return 1
		fi
		pg_pw=$PG_PASS
		pg_hosts="$pg_hosts${pg_hosts:+,}127.0.0.1:$PG_PORT"
	done
	[ -n "$pg_hosts" ] || {
		echo "pg.sh: pg_url_hosts: no cluster named" >&2
		return 1
	}
	echo "postgresql://lanca:$pg_pw@$pg_hosts/lanca"
}

# pg_test_database: for LANCA_TEST_STORE=postgresql (lib.sh), a new
# database of lanca's on the test's own cluster, "test", which the first
# call starts; prints its URL. Under a lock ($T/pg.lock): a test may run
# several lanca init side by side.
pg_test_database() {
	(
		flock -w "$((PG_WAIT_S * 4))" 9 || {
			echo "pg.sh: $T/pg.lock: held too long" >&2
			exit 1
		}
		if [ ! -f "$T/pg-test.env" ]; then
			pg_start test 9>&- >&2 || exit 1
		fi
		pg_n=$(($(cat "$T/pg-test.count" 2>/dev/null || echo 0) + 1))
		echo "$pg_n" >"$T/pg-test.count"
		pg_createdb test "lanca_$pg_n" 9>&-
	) 9>"$T/pg.lock"
}
