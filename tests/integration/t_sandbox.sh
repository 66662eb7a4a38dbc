#!/bin/sh
# t_sandbox.sh - the sandboxes of the running daemon (docs/reliability.md,
# "The signer's sandbox"). gdb, as root, makes the processes call what an
# attacker who took them over would: in the signer an allowed call first
# (getpid: it lives on, and still signs), then socket(), outside its
# seccomp allow list: the kernel kills it with SIGSYS and `serve` stops
# with status 1, naming the signer's death. In the network process, open()
# of the CA's issuing key and of a file outside its directories returns
# -1, while a file of its state directory opens.
#
# Needs root (ptrace of processes that are not dumpable) and gdb; skips
# (77) with the reason otherwise.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "# SKIP: needs root to ptrace the daemon"; exit 77; }
command -v gdb >/dev/null 2>&1 || { echo "# SKIP: gdb is not installed"; exit 77; }
if [ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)" = 3 ]; then
	echo "# SKIP: ptrace is disabled (kernel.yama.ptrace_scope=3)"
	exit 77
fi
# The probe is not dumpable, as the signer and the dropped network process
# are: attaching to those takes CAP_SYS_PTRACE, which root may lack (a
# container), and then every gdb call below would come back empty.
python3 -c 'import ctypes, time; ctypes.CDLL(None).prctl(4, 0); time.sleep(30)' &
probe=$!
sleep 0.3
if ! gdb -p "$probe" -batch -ex 'call (int)getpid()' >"$T/probe.out" 2>&1 ||
	! grep -q "= $probe" "$T/probe.out"; then
	kill "$probe" 2>/dev/null || true
	echo "# SKIP: gdb cannot attach to a process here: $(tail -n 1 "$T/probe.out")"
	exit 77
fi
kill "$probe" 2>/dev/null || true
wait "$probe" 2>/dev/null || true

# gdb_call PID EXPR...: runs `call EXPR` for each EXPR in one visit of
# PID and prints gdb's values, one per line; nothing for a call the
# process did not survive.
gdb_call() {
	pid=$1
	shift
	for x in "$@"; do
		set -- "$@" -ex "call $x"
		shift
	done
	gdb -p "$pid" -batch "$@" >"$T/gdb.out" 2>&1 || true
	sed -n 's/^\$[0-9]* = \(-*[0-9]*\)$/\1/p' "$T/gdb.out"
}

# gdb_open PID PATH: open(PATH, O_RDONLY) in PID; prints "FD ERRNO". The
# path is written into a buffer the call mallocs and frees, never as a
# string literal: gdb would leave a literal in the daemon's heap, and
# LeakSanitizer (in the sanitizer build) report it at exit. A file that
# opens is closed again.
gdb_open() {
	n=$(($(printf '%s' "$2" | wc -c) + 1))
	gdb -p "$1" -batch -ex 'set $b = (char *)malloc(4096)' \
		-ex "set {char[$n]} \$b = \"$2\"" -ex 'set $fd = (int)open($b, 0)' \
		-ex 'set $err = (int)*__errno_location()' -ex 'call (void)free($b)' \
		-ex 'if $fd >= 0' -ex 'call (int)close($fd)' -ex 'end' \
		-ex 'print $fd' -ex 'print $err' >"$T/gdb.out" 2>&1 || true
	sed -n 's/^\$[0-9]* = \(-*[0-9]*\)$/\1/p' "$T/gdb.out" | tail -n 2 | paste -sd' '
}

D="$T/state"
"$LANCA" init --dir "$D" --name sandbox >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
user_opt=
if id nobody >/dev/null 2>&1; then
	user_opt="--user nobody"
	chmod 755 "$T"	# nobody must reach the state directory below it
fi
# shellcheck disable=SC2086
start_serve "$D" $user_opt
signer=$(child_pids "$SERVE_PID")
[ -n "$signer" ] && [ "$(echo "$signer" | wc -l)" = 1 ] || fail "serve's signer: '$signer'"
[ "$(awk '/^Seccomp:/ { print $2 }' "/proc/$signer/status")" = 2 ] ||
	fail "the signer runs without a seccomp filter"
ok "the signer ($signer) runs under a seccomp filter"

# The network process: the CA's key (root's, 0600: refused to --user
# whatever Landlock says), a file outside its directories (readable by
# anyone, refused by Landlock alone) and a file of its own.
if [ -n "$user_opt" ]; then
	got=$(gdb_open "$SERVE_PID" "$D/keys/issuing.key")
	[ "${got%% *}" = -1 ] ||
		fail "the network process opened keys/issuing.key: '$got': $(tail -n 3 "$T/gdb.out")"
	ok "the network process cannot open keys/issuing.key"
fi
landlock=$(python3 -c 'import ctypes; print(ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1))')
if [ "$landlock" -gt 0 ]; then
	[ -r /etc/passwd ] || fail "/etc/passwd is not readable: the check below would prove nothing"
	got=$(gdb_open "$SERVE_PID" /etc/passwd)
	[ "$got" = "-1 13" ] ||
		fail "open(/etc/passwd) in the network process: '$got', not '-1 13' (EACCES): $(tail -n 3 "$T/gdb.out")"
	got=$(gdb_open "$SERVE_PID" "$D/root.pem")
	[ -n "$got" ] && [ "${got%% *}" -ge 0 ] ||
		fail "the network process cannot open its own root.pem: '$got': $(tail -n 3 "$T/gdb.out")"
	ok "Landlock (ABI $landlock): the network process cannot open /etc/passwd (EACCES), can open $D/root.pem"
else
	echo "# the kernel has no Landlock: the network process is not confined (only logged)"
	grep -q "no Landlock here" "$T/serve.log" || fail "a kernel without Landlock is not said in the log"
fi

# An allowed call: the signer lives on and still signs.
[ "$(gdb_call "$signer" '(int)getpid()')" = "$signer" ] ||
	fail "getpid() in the signer: $(tail -n 5 "$T/gdb.out")"
kill -0 "$signer" 2>/dev/null || fail "the signer died of an allowed call"
"$LANCA" press --dir "$D" >"$T/press.out" || fail "press: $(cat "$T/press.out")"
make_csr a dev-a "DNS:dev-a.local"
st=$(post_csr a)
[ "$st" = 201 ] || fail "enroll after gdb's visit: $st $(cat "$T/a.resp")"
ok "after an allowed call (getpid) made through gdb the signer lives and signs"

# A forbidden call: socket().
sys=$(python3 -c 'import signal; print(int(signal.SIGSYS))')
gdb_call "$signer" '(int)socket(2, 1, 0)' >/dev/null
i=0
while kill -0 "$signer" 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -0 "$signer" 2>/dev/null && fail "the signer survived socket(): $(tail -n 5 "$T/gdb.out")"
st=0
i=0
while kill -0 "$SERVE_PID" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -0 "$SERVE_PID" 2>/dev/null && fail "serve went on after its signer was killed"
wait "$SERVE_PID" || st=$?
SERVE_PID=
[ "$st" = 1 ] || fail "serve ended with status $st after its signer was killed"
grep -q "the signer process stopped (signal $sys)" "$T/serve.log" ||
	fail "serve's log does not name the signer's death by SIGSYS ($sys): $(tail -n 5 "$T/serve.log")"
ok "socket() in the signer: killed by SIGSYS ($sys); serve stopped with status 1, saying so"
