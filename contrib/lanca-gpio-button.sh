#!/bin/sh
# lanca-gpio-button.sh - a physical onboarding button for lanca: watches one
# GPIO line with libgpiod's gpiomon (Debian package gpiod, v1.6 syntax) and
# runs `lanca press` in the running daemon for each press.
#
# A mechanical button bounces, and people press twice to be sure: an event
# within --debounce seconds of the last press that was acted on is ignored,
# so one push opens one window (a second press would restart the window and
# could admit a second device).
#
# If `lanca press` fails (the daemon is not running yet) the failure is
# logged and the script goes on watching. When gpiomon itself ends, the
# script exits with gpiomon's status (non-zero for a missing chip or line),
# so that a service manager can restart it.
#
# For tests without hardware, GPIOMON names another program to run in
# gpiomon's place (it is given gpiomon's arguments and must print one line
# per event), and LANCA the lanca binary (default: lanca from PATH).
#
# Exit: 0 gpiomon ended normally, 1 gpiomon failed, 2 usage.
set -eu

prog=lanca-gpio-button.sh

# usage [STATUS]: the usage message, on stdout for --help (exit 0), else on
# stderr (exit 2).
usage() {
	if [ "${1:-2}" = 0 ]; then
		usage_text
		exit 0
	fi
	usage_text >&2
	exit 2
}

usage_text() {
	cat <<EOF
usage: $prog --line N [--chip CHIP] [--dir DIR] [--seconds N] [--count N]
              [--debounce S] [--edge falling|rising|both]
              [--bias as-is|pull-up|pull-down|disable]

  --line N        the GPIO line (offset on the chip) the button is wired to
  --chip CHIP     gpiochip name, number or label (default gpiochip0)
  --dir DIR       lanca's state directory (default \$LANCA_DIR or /var/lib/lanca)
  --seconds N     how long each press keeps the window open (default: lanca's, 120)
  --count N       devices one press admits (default: lanca's, 1)
  --debounce S    ignore events within S seconds of the last press (default 3)
  --edge E        which edge is a press (default falling: a button to ground)
  --bias B        line bias to ask for (default as-is; pull-up for a bare
                  button to ground)

environment: GPIOMON (default gpiomon), LANCA (default lanca)
EOF
}

log() {
	echo "$prog: $*" >&2
}

# is_uint VALUE MIN MAX: VALUE is a decimal integer in [MIN, MAX].
is_uint() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	# Long digit strings would overflow the shell's arithmetic.
	[ ${#1} -le 6 ] || return 1
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

# Seconds since boot: a clock that wall-clock changes (NTP setting the time
# on a gateway without a battery) do not move. Falls back to date(1).
now() {
	if [ -r /proc/uptime ]; then
		sed 's/[. ].*//' /proc/uptime
	else
		date +%s
	fi
}

CHIP=gpiochip0 LINE='' DIR=${LANCA_DIR:-/var/lib/lanca} SECONDS_OPT='' COUNT='' DEBOUNCE=3
EDGE=falling BIAS=''
while [ $# -gt 0 ]; do
	case $1 in
	--chip | --line | --dir | --seconds | --count | --debounce | --edge | --bias)
		[ $# -ge 2 ] || usage
		opt=$1 val=$2
		shift 2
		;;
	-h | --help) usage 0 ;;
	*) log "unknown argument $1"; usage ;;
	esac
	case $opt in
	--chip) CHIP=$val ;;
	--line) LINE=$val ;;
	--dir) DIR=$val ;;
	--seconds) SECONDS_OPT=$val ;;
	--count) COUNT=$val ;;
	--debounce) DEBOUNCE=$val ;;
	--edge) EDGE=$val ;;
	--bias) BIAS=$val ;;
	esac
done

[ -n "$LINE" ] || { log "--line is required"; usage; }
is_uint "$LINE" 0 65535 || { log "--line $LINE: want a line offset"; usage; }
case $CHIP in
'' | -* | *[!A-Za-z0-9._:/-]*) log "--chip $CHIP: want a chip name, number or label"; usage ;;
esac
[ -n "$DIR" ] || { log "--dir: empty"; usage; }
if [ -n "$SECONDS_OPT" ] && ! is_uint "$SECONDS_OPT" 1 3600; then
	log "--seconds $SECONDS_OPT: from 1 to 3600"
	usage
fi
if [ -n "$COUNT" ] && ! is_uint "$COUNT" 1 64; then
	log "--count $COUNT: from 1 to 64"
	usage
fi
is_uint "$DEBOUNCE" 0 3600 || { log "--debounce $DEBOUNCE: seconds from 0 to 3600"; usage; }
case $EDGE in
falling) EDGE_OPT=--falling-edge ;;
rising) EDGE_OPT=--rising-edge ;;
both) EDGE_OPT='' ;;
*) log "--edge $EDGE: falling, rising or both"; usage ;;
esac
case $BIAS in
'' | as-is | pull-up | pull-down | disable) ;;
*) log "--bias $BIAS: as-is, pull-up, pull-down or disable"; usage ;;
esac

GPIOMON=${GPIOMON:-gpiomon}
LANCA=${LANCA:-lanca}

# lanca press's arguments, as positional parameters (no word splitting).
set -- press --dir "$DIR"
[ -z "$SECONDS_OPT" ] || set -- "$@" --seconds "$SECONDS_OPT"
[ -z "$COUNT" ] || set -- "$@" --count "$COUNT"

log "watching $CHIP line $LINE ($EDGE edge) for the onboarding button; debounce $DEBOUNCE s"

# gpiomon prints one line per event (--line-buffered, so each arrives at
# once); its exit status follows as a last line, because a POSIX shell
# cannot read the status of the left side of a pipeline.
{
	st=0
	# shellcheck disable=SC2086 # EDGE_OPT is one word or nothing
	"$GPIOMON" $EDGE_OPT ${BIAS:+--bias="$BIAS"} --line-buffered --format='%e %s.%n' \
		"$CHIP" "$LINE" || st=$?
	echo "gpiomon-exit $st"
} | {
	last=''
	while IFS= read -r event; do
		case $event in
		"gpiomon-exit "*)
			st=${event#gpiomon-exit }
			if [ "$st" = 0 ]; then
				log "gpiomon ended"
				exit 0
			fi
			log "gpiomon failed (exit status $st)"
			exit 1
			;;
		esac
		t=$(now)
		if [ -n "$last" ] && [ "$t" -ge "$last" ] && [ $((t - last)) -lt "$DEBOUNCE" ]; then
			log "event ignored: within $DEBOUNCE s of the last press"
			continue
		fi
		log "button pressed on $CHIP line $LINE"
		if out=$("$LANCA" "$@" 2>&1); then
			log "$out"
		else
			log "lanca press failed: $out"
		fi
		# Counted from when the press was done: events that queued up
		# while lanca ran are bounces of the same push.
		last=$(now)
	done
	log "gpiomon ended without a status"
	exit 1
}
