# tests/lib/harness.sh - what every test script shares: counting checks,
# the summary line, the work directory and starting vrcptd. Source it
# from bash after setting ROOT (the top of the tree).
#
#   harness_init NAME       NAME prefixes every line; sets BUILD (absolute),
#                           VRCPTD (default $BUILD/vrcptd), WORK (a fresh
#                           temp dir, removed at exit unless KEEP=1)
#   ok                      one check passed
#   bad TEXT...             one check failed: "NAME: FAIL: TEXT"
#   check WHAT GOT WANT     ok if GOT = WANT, else bad with both
#   check_ge WHAT GOT MIN   ok if the number GOT >= MIN
#   finish                  "NAME: N passed, M failed"; exit status 0 only
#                           when none failed
#   harness_on_exit CMD     run CMD at exit, before WORK is removed (the
#                           last added runs first)
#   vrcptd_start CF SOCKET  start $VRCPTD -c CF in the background, wait
#                           until the unix socket SOCKET accepts (or it
#                           exits); sets VRCPTD_PID; stopped at exit
#   vrcptd_stop PID         SIGTERM and wait (tests/lib/proc.sh)
#
# The summary line is what tests/integration/run.sh adds up.

# shellcheck source=proc.sh
. "$ROOT/tests/lib/proc.sh"

HARNESS_START_TIMEOUT=20	# seconds for vrcptd to listen
HARNESS_STOP_TIMEOUT=10		# seconds for vrcptd to exit on SIGTERM

harness_init() {
	HARNESS_NAME=$1
	pass=0
	fail=0
	BUILD=${BUILD:-build}
	case $BUILD in
	/*)	;;
	*)	BUILD=$ROOT/$BUILD ;;
	esac
	VRCPTD=${VRCPTD:-$BUILD/vrcptd}
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/vrcpt-$HARNESS_NAME.XXXXXX") ||
	    exit 1
	chmod 755 "$WORK"
	HARNESS_EXIT=()
	HARNESS_PIDS=()
	trap harness_cleanup EXIT
}

ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	printf '%s: FAIL: %s\n' "$HARNESS_NAME" "$*"
}
check() {
	if [ "$2" = "$3" ]; then
		ok
	else
		bad "$1: got \"$2\", want \"$3\""
	fi
}
check_ge() {
	if [ "$2" -ge "$3" ] 2>/dev/null; then
		ok
	else
		bad "$1: got \"$2\", want at least $3"
	fi
}
finish() {
	echo "$HARNESS_NAME: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

harness_on_exit() { HARNESS_EXIT=("$1" "${HARNESS_EXIT[@]}"); }

harness_cleanup() {
	local p c
	for p in "${HARNESS_PIDS[@]}"; do
		vrcptd_stop "$p"
	done
	HARNESS_PIDS=()
	for c in "${HARNESS_EXIT[@]}"; do
		eval "$c"
	done
	HARNESS_EXIT=()
	if [ "${KEEP:-0}" = 1 ] || [ "$fail" -gt 0 ]; then
		echo "$HARNESS_NAME: work directory kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}

vrcptd_stop() {
	proc_stop "$1" "$HARNESS_NAME: vrcptd" "$HARNESS_STOP_TIMEOUT"
}

vrcptd_start() {
	local cf=$1 sock=$2 i out
	out=${cf%.cf}.out
	"$VRCPTD" -c "$cf" >"$out" 2>&1 &
	VRCPTD_PID=$!
	HARNESS_PIDS+=("$VRCPTD_PID")
	for ((i = 0; i < HARNESS_START_TIMEOUT * 10; i++)); do
		if ! kill -0 "$VRCPTD_PID" 2>/dev/null; then
			bad "vrcptd -c $cf exited at start: $(cat "$out")"
			return 1
		fi
		proc_listening "$sock" && return 0
		sleep 0.1
	done
	bad "vrcptd -c $cf does not listen on $sock"
	return 1
}
