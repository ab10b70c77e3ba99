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
# Every script prints "NAME: N passed, M failed" as its last line; this
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

total_pass=0
total_fail=0
for s in "${SCRIPTS[@]}"; do
	[ -f "$HERE/$s" ] || continue
	out=$(mktemp "${TMPDIR:-/tmp}/vrcpt-integration.XXXXXX") || exit 1
	t0=$SECONDS
	bash "$HERE/$s" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	echo "integration: $s took $((SECONDS - t0))s"
	summary=$(grep -E '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed$' \
	    "$out" | tail -n 1)
	rm -f "$out"
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
done
echo "integration: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
