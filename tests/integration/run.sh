#!/bin/bash
# tests/integration/run.sh - the integration tests: each script below
# runs real daemons (PostgreSQL, vrcptd) in a temporary directory.
#
#   tests/integration/db.sh       the store layer against PostgreSQL
#                                 (run when present)
#   tests/integration/daemon.sh   vrcptd over the policy protocol
#   tests/integration/*.sh        then every other script here, by name
#                                 (milter.sh, ...)
#
# Scripts run two at a time (INTEGRATION_JOBS, below). Every script
# prints "NAME: N passed, M failed" as its last line; this
# runner passes their output through and adds them up. A script that
# exits non-zero without such a line counts as one failure. Prints
# "integration: N passed, M failed"; exit status 0 only if none failed.
set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
SCRIPTS=(db.sh daemon.sh)
for f in "$HERE"/*.sh; do
	f=${f##*/}
	case $f in
	run.sh|db.sh|daemon.sh) ;;
	*)	SCRIPTS+=("$f") ;;
	esac
done
# INTEGRATION_SCRIPTS="daemon.sh metrics.sh": run only those
if [ -n "${INTEGRATION_SCRIPTS:-}" ]; then
	read -r -a SCRIPTS <<<"$INTEGRATION_SCRIPTS"
fi

# INTEGRATION_JOBS=N: run N scripts at a time (default 2). The scripts
# spend most of their time waiting on daemons and timeouts, each in its
# own temporary directory with its own sockets and free ports, so two at
# a time nearly halve the wall time on 2 cores; each script's output is
# printed whole when it ends. INTEGRATION_JOBS=1 streams it as it runs.
JOBS=${INTEGRATION_JOBS:-2}
case $JOBS in
''|*[!0-9]*|0) echo "integration: INTEGRATION_JOBS must be a number > 0" >&2
	exit 2 ;;
esac
OUTDIR=$(mktemp -d "${TMPDIR:-/tmp}/vrcpt-integration.XXXXXX") || exit 1
trap 'rm -rf "$OUTDIR"' EXIT

# run_one SCRIPT - run it, its output into $OUTDIR/SCRIPT.out (and to
# stdout when one at a time), its exit status and time into .rc
run_one() {
	local s=$1 t0=$SECONDS rc

	if [ "$JOBS" -eq 1 ]; then
		bash "$HERE/$s" 2>&1 | tee "$OUTDIR/$s.out"
		rc=${PIPESTATUS[0]}
	else
		bash "$HERE/$s" >"$OUTDIR/$s.out" 2>&1
		rc=$?
	fi
	echo "$rc $((SECONDS - t0))" >"$OUTDIR/$s.rc"
}

total_pass=0
total_fail=0

# tally SCRIPT - print its output (when buffered) and add up its summary
tally() {
	local s=$1 out=$OUTDIR/$1.out rc secs summary p f

	read -r rc secs <"$OUTDIR/$s.rc"
	[ "$JOBS" -eq 1 ] || cat "$out"
	echo "integration: $s took ${secs}s"
	summary=$(grep -E '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed$' \
	    "$out" | tail -n 1)
	if [ -n "$summary" ]; then
		p=$(sed -E 's/^.*: ([0-9]+) passed, ([0-9]+) failed$/\1/' \
		    <<<"$summary")
		f=$(sed -E 's/^.*: ([0-9]+) passed, ([0-9]+) failed$/\2/' \
		    <<<"$summary")
		total_pass=$((total_pass + p))
		total_fail=$((total_fail + f))
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "integration: $s exited $rc"
			total_fail=$((total_fail + 1))
		fi
	elif [ "$rc" -ne 0 ]; then
		echo "integration: $s exited $rc without a summary"
		total_fail=$((total_fail + 1))
	fi
}

running=()
for s in "${SCRIPTS[@]}"; do
	[ -f "$HERE/$s" ] || continue
	while [ "${#running[@]}" -ge "$JOBS" ]; do
		wait -n
		still=()
		for r in "${running[@]}"; do
			if [ -f "$OUTDIR/$r.rc" ]; then
				tally "$r"
			else
				still+=("$r")
			fi
		done
		running=("${still[@]}")
	done
	run_one "$s" &
	running+=("$s")
done
wait
for r in "${running[@]}"; do
	tally "$r"
done
echo "integration: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
