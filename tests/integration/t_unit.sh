#!/bin/sh
# t_unit.sh - the daemon under contrib/lanca.service's limits: `lanca serve`
# with the unit's ExecStart arguments (--user ...), started as root as
# systemd starts it, inside a namespace and with the limits below, all read
# from the unit (LANCA_UNIT names another), over a state directory made as
# the unit's header says (`lanca init --user`); it must start, enroll a
# device, serve on a port below 1024, stop cleanly, and start again over the
# state it left. A state directory made by root alone is refused with the
# chown that mends it, and starts once that is run.
#
# Emulated (the unit's setting -> how):
#   CapabilityBoundingSet, AmbientCapabilities, NoNewPrivileges -> setpriv
#   Limit*= (LimitMEMLOCK...) -> prlimit; where this host cannot raise the
#     memory-lock limit (no CAP_SYS_RESOURCE: this container), CAP_IPC_LOCK
#     stands in for LimitMEMLOCK=infinity, said in the output
#   UMask -> umask
#   PrivateMounts -> a mount namespace (unshare -m)
#   ProtectHostname -> a UTS namespace (unshare -u)
#   ProtectSystem=strict, ProtectKernelTunables, ProtectControlGroups ->
#     every mount remounted read-only but /dev, /proc, the private /tmp and
#     /var/tmp and ReadWritePaths (the test's state directory in place of
#     the unit's --dir); /proc/sys read-only too
#   ProtectHome -> empty read-only tmpfs on /home, /root, /run/user
#   PrivateTmp -> fresh tmpfs on /tmp and /var/tmp
#   PrivateDevices -> a tmpfs /dev holding null, zero, full, random,
#     urandom, tty and an empty /dev/shm
#   ProtectProc, ProcSubset -> a new /proc with hidepid= and subset=
#   StateDirectory, StateDirectoryMode, Group -> before each start, the
#     state directory chmod'ed, and chown'ed root:GROUP, the whole tree when
#     its top was owned otherwise (systemd's path_chown_recursive)
#   Group -> serve's real, effective and saved gid (setpriv --regid), no
#     supplementary groups
#   the unit's --user and Group -> an account and its group in this
#     namespace's /etc/passwd and /etc/group (bind-mounted), none is added
#     to the host
# Not emulated (systemd puts them in place with seccomp, BPF or cgroups):
#   SystemCallFilter, SystemCallArchitectures, SystemCallErrorNumber,
#   RestrictAddressFamilies, RestrictNamespaces, RestrictRealtime,
#   RestrictSUIDSGID, LockPersonality, MemoryDenyWriteExecute, the system
#   calls ProtectClock and ProtectKernelLogs take away, DevicePolicy,
#   IPAddressDeny and IPAddressAllow (a BPF program on the cgroup: this test
#   talks to 127.0.0.1 only, which the unit allows).
#
# Needs root, setpriv, prlimit, unshare and mount namespaces; skipped
# (exit 77) otherwise.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "skip: needs root to start lanca as systemd does"; exit 77; }
for c in setpriv prlimit unshare mount python3; do
	command -v "$c" >/dev/null || { echo "skip: needs $c"; exit 77; }
done
unshare -m -u true 2>/dev/null || { echo "skip: cannot make mount namespaces here"; exit 77; }

# ---- the unit, read ----
caps=$(unit_caps)
exec_start=$(unit_get ExecStart)
set -f
# shellcheck disable=SC2086 # the unit's command line, split into words
set -- $exec_start
set +f
[ "${2:-}" = serve ] || fail "ExecStart does not run lanca serve: $exec_start"
shift 2
unit_dir=
unit_user=
serve_args=
while [ $# -gt 0 ]; do
	case $1 in
	--dir) unit_dir=$2; shift 2 ;;
	--user) unit_user=$2; serve_args="$serve_args $1 $2"; shift 2 ;;
	*) serve_args="$serve_args $1"; shift ;;
	esac
done
[ -n "$unit_dir" ] || fail "ExecStart names no --dir"
[ -n "$unit_user" ] || fail "ExecStart names no --user: the daemon would serve as root"
[ -z "$(unit_get User)" ] || fail "User= is set: this test emulates a unit started as root"
unit_group=$(unit_get Group)
rw_paths=$(unit_get ReadWritePaths)
case " $rw_paths " in
*" $unit_dir "*) ;;
*) fail "ReadWritePaths=$rw_paths lacks the state directory $unit_dir" ;;
esac
case $(unit_get ProtectSystem) in
strict) ;;
*) fail "ProtectSystem=$(unit_get ProtectSystem): this test emulates strict" ;;
esac

# Limit*=: prlimit's names are systemd's, lower case.
limits=
ipc_lock=
for l in $(sed -n 's/^Limit\([A-Z]*\)=\(.*\)/\1=\2/p' "$UNIT"); do
	name=$(echo "${l%%=*}" | tr 'A-Z' 'a-z')
	val=${l#*=}
	[ "$val" = infinity ] && val=unlimited
	if prlimit "--$name=$val:$val" true 2>/dev/null; then
		limits="$limits --$name=$val:$val"
	elif [ "$name" = memlock ] && [ "$val" = unlimited ]; then
		ipc_lock=",+ipc_lock"
		echo "# LimitMEMLOCK=infinity cannot be set here (no CAP_SYS_RESOURCE): CAP_IPC_LOCK stands in"
	else
		fail "cannot apply Limit${l%%=*}=$val here"
	fi
done
ambient=$(unit_get AmbientCapabilities | tr ' ' '\n' | sed -n 's/^CAP_\(.*\)/+\1/p' |
	tr 'A-Z' 'a-z' | paste -sd, -)
if [ -n "$ambient" ]; then
	setpriv_caps="--inh-caps=-all,$ambient --ambient-caps=-all,$ambient"
else
	setpriv_caps="--inh-caps=-all"
fi
nnp=
case $(unit_get NoNewPrivileges) in yes | true | 1 | on) nnp=--no-new-privs ;; esac
umask_unit=$(unit_get UMask)
umask_unit=${umask_unit:-0022}
state_mode=$(unit_get StateDirectoryMode)
state_mode=${state_mode:-0755}
protect_proc=$(unit_get ProtectProc)
proc_subset=$(unit_get ProcSubset)
# The system-call settings, for unitfilter.py (libseccomp through ctypes).
PY=/usr/bin/python3
sysfilter=
if "$PY" -c 'import ctypes; ctypes.CDLL("libseccomp.so.2")' 2>/dev/null; then
	sysfilter="$PY $TOP_SRCDIR/tests/integration/unitfilter.py"
	sysfilter="$sysfilter $(sed -n "s/^SystemCallFilter=\(.*\)/--filter '\1'/p" "$UNIT" | paste -sd' ' -)"
	sysfilter="$sysfilter --errno '$(unit_get SystemCallErrorNumber)'"
	sysfilter="$sysfilter --archs '$(unit_get SystemCallArchitectures)'"
	sysfilter="$sysfilter --families '$(unit_get RestrictAddressFamilies)'"
	sysfilter="$sysfilter --namespaces '$(unit_get RestrictNamespaces)'"
	sysfilter="$sysfilter --mdwe '$(unit_get MemoryDenyWriteExecute)' --"
else
	echo "# no libseccomp.so.2 for $PY: the unit's system-call settings are not emulated"
fi
yes_to() { case $(unit_get "$1") in yes | true | 1 | on) return 0 ;; esac; return 1; }

D="$T/state"
# The unit's user reaches the state directory through $T, as it does
# through /var/lib.
chmod 711 "$T"
REAL_LANCA=$LANCA

# The unit's user and its own group (useradd --user-group), in the
# namespace only: a uid and gid no account or group holds here.
uid=61000
while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
gid=$uid
if getent passwd "$unit_user" >/dev/null; then
	cp /etc/passwd "$T/passwd"
	cp /etc/group "$T/group"
	uid=$(id -u "$unit_user")
	gid=$(id -g "$unit_user")
else
	{ cat /etc/passwd; echo "$unit_user:x:$uid:$gid::/nonexistent:/usr/sbin/nologin"; } >"$T/passwd"
	{ cat /etc/group; echo "$unit_user:x:$gid:"; } >"$T/group"
fi
if [ -n "$unit_group" ]; then
	g=$(awk -F: -v g="$unit_group" '$1 == g { print $3 }' "$T/group")
	[ "$g" = "$gid" ] ||
		fail "Group=$unit_group is not $unit_user's own group: the daemon's user writes the directory through it"
fi
chmod 644 "$T/passwd" "$T/group"
# Group=: serve's gid from the start, and the state directory's group.
setpriv_gid=
state_gid=0
if [ -n "$unit_group" ]; then
	setpriv_gid="--regid=$gid --clear-groups"
	state_gid=$gid
fi

# as_admin CMD...: CMD as root with the unit's user known, as the admin's
# shell on the gateway (the user exists in this namespace only).
as_admin() {
	unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1" /etc/passwd &&
		mount --bind "$2" /etc/group && shift 2 && exec "$@"' sh "$T/passwd" "$T/group" "$@"
}

# ---- 0. the state directory, made as the unit's header says ----
as_admin "$LANCA" init --dir "$D" --name unit --user "$unit_user" >"$T/init.out" 2>&1 ||
	fail "init --user $unit_user: $(cat "$T/init.out")"
ROOT_PEM="$D/root.pem"
[ "$(stat -c '%u:%g %a' "$D")" = "0:$gid 770" ] || fail "init --user left $D $(stat -c '%u:%g %a' "$D")"
for f in "$(basename "$(store_file "$D")")" gateway.key gateway.pem; do
	[ "$(stat -c %u "$D/$f")" = "$uid" ] || fail "init --user left $f owned by $(stat -c %u "$D/$f")"
done
[ "$(stat -c '%u %a' "$D/keys")" = "0 700" ] || fail "keys/ is $(stat -c '%u %a' "$D/keys")"
find "$D/keys" ! -user 0 | grep -q . && fail "init --user handed over something in keys/"
ok "init --user $unit_user: $D root:$unit_user 0770, the store and the gateway's files $unit_user's, keys/ root's"
for u in no-such-user-here root; do
	st=0
	as_admin "$LANCA" init --dir "$T/other-$u" --user "$u" >"$T/init-$u.out" 2>&1 || st=$?
	[ $st = 2 ] && [ ! -e "$T/other-$u" ] || fail "init --user $u: status $st, $(cat "$T/init-$u.out")"
done
grep -q "no such user" "$T/init-no-such-user-here.out" && grep -q "must not be root" "$T/init-root.out" ||
	fail "init --user refusals unclear: $(cat "$T/init-no-such-user-here.out" "$T/init-root.out")"
ok "init --user refuses an unknown user and root before making anything"

# The namespace's set-up, run by unshare as root before the limits: then
# the unit's limits and lanca, exec'd in turn (SERVE_PID is lanca).
keep_rw=" /tmp /var/tmp /dev /dev/shm /proc $D "
# The trees the test runs from (lanca, unitfilter.py): kept through the
# private /tmp when they are in it, as a clean clone in /tmp is.
src_abs=$(cd "$TOP_SRCDIR" && pwd)
bin_abs=$(cd "$(dirname "$REAL_LANCA")" && pwd)
cat >"$T/ns.sh" <<EOF
set -eu
mount --make-rprivate /
mount --bind "$T/passwd" /etc/passwd
mount --bind "$T/group" /etc/group
# Held on /mnt while /tmp and /dev are replaced.
mount -t tmpfs -o mode=700 tmpfs /mnt
mkdir /mnt/state /mnt/dev /mnt/src /mnt/bin
mount --bind "$D" /mnt/state
mount --bind "$src_abs" /mnt/src
mount --bind "$bin_abs" /mnt/bin
for n in null zero full random urandom tty; do
	touch "/mnt/dev/\$n"
	mount --bind "/dev/\$n" "/mnt/dev/\$n"
done
$(yes_to PrivateTmp && echo 'mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp')
mkdir -p "$src_abs" "$bin_abs" "$D"
mount --move /mnt/src "$src_abs"
mount --move /mnt/bin "$bin_abs"
mount --move /mnt/state "$D"
if $(yes_to PrivateDevices && echo true || echo false); then
	mount -t tmpfs -o mode=755,nosuid,noexec tmpfs /dev
	for n in null zero full random urandom tty; do
		touch "/dev/\$n"
		mount --move "/mnt/dev/\$n" "/dev/\$n"
	done
	mkdir /dev/shm
	mount -t tmpfs -o mode=1777,nosuid,nodev,noexec tmpfs /dev/shm
fi
umount -l /mnt
if [ -n "$protect_proc$proc_subset" ]; then
	opts=
	[ -z "$protect_proc" ] || [ "$protect_proc" = default ] || opts="hidepid=$protect_proc"
	[ "$proc_subset" != pid ] || opts="\${opts:+\$opts,}subset=pid"
	mount -t proc -o "\${opts:-defaults}" proc /proc ||
		{ echo "t_unit: cannot mount /proc with \$opts" >&2; exit 99; }
fi
if [ -d /proc/sys ]; then
	mount --bind /proc/sys /proc/sys
	mount -o remount,bind,ro /proc/sys
fi
if $(yes_to ProtectHome && echo true || echo false); then
	for h in /home /root /run/user; do
		[ -d "\$h" ] && mount -t tmpfs -o ro,mode=000 tmpfs "\$h"
	done
fi
# ProtectSystem=strict: everything else read-only.
awk '{ print \$5 }' /proc/self/mountinfo | sort -u | while read -r mp; do
	case "$keep_rw" in *" \$mp "*) continue ;; esac
	case \$mp in /proc/* | /dev/*) continue ;; esac
	mount -o remount,bind,ro "\$mp" 2>/dev/null ||
		{ echo "t_unit: cannot make \$mp read-only" >&2; exit 99; }
done
umask $umask_unit
exec prlimit $limits setpriv $nnp $setpriv_gid $setpriv_caps --bounding-set=$caps$ipc_lock $sysfilter "$REAL_LANCA" "\$@"
EOF
cat >"$T/lanca-unit" <<EOF
#!/bin/sh
# LeakSanitizer stops the process with ptrace at exit, which the unit's
# filter (no @debug) and the dropped privileges forbid: the other tests
# look for leaks.
ASAN_OPTIONS="\${ASAN_OPTIONS:-}:detect_leaks=0"
export ASAN_OPTIONS
exec unshare -m -u sh "$T/ns.sh" "\$@"
EOF
chmod 755 "$T/lanca-unit"

# A free port below 1024 on 127.0.0.1: binding it needs the unit's
# CAP_NET_BIND_SERVICE.
low_port() {
	python3 -c '
import random, socket
for p in random.sample(range(600, 1024), 424):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: s.close()'
}

# status_of PID FIELD: a field of /proc/PID/status.
status_of() {
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"
}

# systemd_state_dir: what StateDirectory= does to it at each start.
systemd_state_dir() {
	chmod "$state_mode" "$D"
	if [ "$(stat -c %u:%g "$D")" != "0:$state_gid" ]; then
		chown -R "0:$state_gid" "$D"
	fi
}

# unit_start: the state directory as systemd leaves it, then serve.
unit_start() {
	systemd_state_dir
	LOW=$(low_port)
	[ -n "$LOW" ] || fail "no free port below 1024"
	LANCA=$T/lanca-unit
	# shellcheck disable=SC2086 # the unit's arguments, split as systemd does
	start_serve "$D" $serve_args --http "127.0.0.1:$LOW"
	LANCA=$REAL_LANCA
}

# ---- 1. it starts under the unit, each process as the unit leaves it ----
unit_start
SIGNER=$(child_pids "$SERVE_PID" | head -n 1)
[ -n "$SIGNER" ] || fail "no signer under serve"
[ "$(readlink "/proc/$SERVE_PID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
	fail "serve runs in the test's mount namespace"
for p in "$SERVE_PID" "$SIGNER"; do
	[ "$(status_of "$p" Uid)" = "$uid $uid $uid $uid" ] || fail "pid $p: Uid $(status_of "$p" Uid), want $uid"
	[ "$(status_of "$p" Gid)" = "$uid $uid $uid $uid" ] || fail "pid $p: Gid $(status_of "$p" Gid)"
	# Only the signer keeps CAP_IPC_LOCK (0x4000), and only where it
	# stands in for LimitMEMLOCK=infinity: it had it, and keeps it so
	# that what it maps later is locked too.
	want=0000000000000000
	[ "$p" = "$SIGNER" ] && [ -n "$ipc_lock" ] && want=0000000000004000
	[ "$(status_of "$p" CapEff)" = $want ] || fail "pid $p keeps capabilities: $(status_of "$p" CapEff), want $want"
	[ "$(status_of "$p" NoNewPrivs)" = 1 ] || fail "pid $p: NoNewPrivs $(status_of "$p" NoNewPrivs)"
done
# The emulation took: read-only /, the state directory writable, a private /tmp.
mnt_opts() { awk -v m="$2" '$5 == m { print $6 " " $9 }' "/proc/$1/mountinfo" | tail -n 1; }
case $(mnt_opts "$SERVE_PID" /) in ro,*) ;; *) fail "/ is not read-only for serve: $(mnt_opts "$SERVE_PID" /)" ;; esac
case $(mnt_opts "$SERVE_PID" "$D") in rw,*) ;; *) fail "$D is not writable for serve" ;; esac
! yes_to PrivateTmp || [ "$(mnt_opts "$SERVE_PID" /tmp | cut -d' ' -f2)" = tmpfs ] || fail "no private /tmp"
[ "$(status_of "$SERVE_PID" Umask)" = "$(printf '%04o' "$((0$umask_unit))")" ] ||
	fail "serve's umask $(status_of "$SERVE_PID" Umask), want $umask_unit"
if ! grep -qa __asan_init "$LANCA_BIN"; then
	[ "$(status_of "$SIGNER" VmLck | awk '{ print $1 }')" -gt 0 ] || fail "the signer's memory is not locked"
fi
ok "serve starts under the unit (serve and signer as $unit_user, no capabilities, no_new_privs, umask $umask_unit)"

# ---- 2. it serves: a port below 1024, a device enrolled ----
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$LOW/" || fail "nothing on http port $LOW"
"$LANCA" press --dir "$D" >"$T/press.out" || fail "press: $(cat "$T/press.out")"
make_csr a dev-a "DNS:dev-a.local"
st=$(post_csr a)
[ "$st" = 201 ] || fail "enroll under the unit: $st $(cat "$T/a.resp")"
verify_chain "$T/a.resp" || fail "the chain issued under the unit does not verify"
[ "$(sql "SELECT count(*) FROM certificates")" -ge 1 ] || fail "no certificate in the store"
ok "under the unit: http on port $LOW, press, a device enrolled with a chain that verifies"

# ---- 3. it stops cleanly, and starts again over what it left ----
stop_serve || fail "serve under the unit did not stop cleanly"
grep -q "cannot\|error" "$T/serve.log" && fail "errors in the log: $(cat "$T/serve.log")"
unit_start
make_csr b dev-b
"$LANCA" press --dir "$D" >/dev/null || fail "press after a restart"
st=$(post_csr b)
[ "$st" = 201 ] || fail "enroll after a restart: $st $(cat "$T/b.resp")"
stop_serve || fail "serve did not stop cleanly after a restart"
ok "stops cleanly (exit 0), starts again over its own state and enrolls"
# What serve wrote is the user's: root owns the directory, keys/, the lock
# it takes and the root's certificate, nothing else.
root_owned=$(find "$D" -path "$D/keys" -prune -o -user 0 -print | sort | paste -sd' ' -)
[ "$root_owned" = "$D $D/lanca.lock $D/root.pem" ] || fail "root owns more than it should: $root_owned"
ok "nothing the daemon writes is root's: $(find "$D" -maxdepth 1 -user "$uid" | wc -l) files of $unit_user's"

# ---- 4. a state directory made by root alone (init without --user) ----
# systemd, finding it root:root, chowns the tree root:GROUP at the first
# start; serve may not give the store to its user then (no CAP_CHOWN) and
# says which chown does.
chown -R 0:0 "$D"
chmod 700 "$D"
systemd_state_dir
st=0
# shellcheck disable=SC2086 # the unit's arguments, split as systemd does
timeout 30 "$T/lanca-unit" serve --dir "$D" $serve_args --https "127.0.0.1:$(free_port)" \
	--http "127.0.0.1:$(low_port)" --web-dir "$TOP_SRCDIR/web" >"$T/refused.log" 2>&1 || st=$?
[ $st = 1 ] || fail "serve over root's files: exit status $st, want 1: $(cat "$T/refused.log")"
mend=$(sed -n 's/.*run `\([^`]*\)`.*/\1/p' "$T/refused.log")
[ "$mend" = "chown $unit_user: $(store_file "$D") $D/gateway.key $D/gateway.pem" ] ||
	fail "the refusal does not name the chown: $(cat "$T/refused.log")"
as_admin sh -c "$mend" || fail "the chown it names failed: $mend"
unit_start
make_csr c dev-c
"$LANCA" press --dir "$D" >/dev/null || fail "press after the chown"
st=$(post_csr c)
[ "$st" = 201 ] || fail "enroll after the chown: $st $(cat "$T/c.resp")"
stop_serve || fail "serve did not stop cleanly after the chown"
ok "root's state directory: refused with \`$mend\`; started and enrolled once that ran"

# ---- 5. outside the unit (root with every capability) ----
# serve --user hands a root-made directory over itself, but follows no
# link the user planted there: root would give the user the file it names.
chown -R 0:0 "$D"
chmod 700 "$D"
echo "root's" >"$T/victim"
mv "$D/gateway.pem" "$T/gateway.pem"
ln -s "$T/victim" "$D/gateway.pem"
st=0
as_admin "$LANCA" serve --dir "$D" --user "$unit_user" --https "127.0.0.1:$(free_port)" \
	--http "127.0.0.1:$(free_port)" --web-dir "$TOP_SRCDIR/web" >"$T/planted.log" 2>&1 || st=$?
[ $st = 1 ] || fail "serve with a planted link: exit status $st: $(cat "$T/planted.log")"
grep -q "gateway.pem is not a plain file" "$T/planted.log" || fail "no clear refusal: $(cat "$T/planted.log")"
[ "$(stat -c %u "$T/victim")" = 0 ] || fail "serve gave $T/victim to $unit_user through a link"
rm "$D/gateway.pem"
mv "$T/gateway.pem" "$D/gateway.pem"
cat >"$T/lanca-root" <<EOF
#!/bin/sh
exec unshare -m sh -c 'mount --make-rprivate / && mount --bind "$T/passwd" /etc/passwd &&
	mount --bind "$T/group" /etc/group && exec "\$0" "\$@"' "$REAL_LANCA" "\$@"
EOF
chmod 755 "$T/lanca-root"
LANCA=$T/lanca-root
start_serve "$D" --user "$unit_user"
LANCA=$REAL_LANCA
[ "$(stat -c '%u:%g' "$D")" = "0:$gid" ] && [ "$(stat -c %A "$D" | cut -c5-7)" = rwx ] ||
	fail "serve --user left $D $(stat -c '%u:%g %A' "$D")"
for f in "$(basename "$(store_file "$D")")" gateway.key gateway.pem; do
	[ "$(stat -c %u "$D/$f")" = "$uid" ] || fail "serve --user left $f owned by $(stat -c %u "$D/$f")"
done
stop_serve || fail "serve outside the unit did not stop cleanly"
ok "outside the unit serve --user hands a root-made directory over itself, and refuses a planted link"

echo "1..$n_ok"
