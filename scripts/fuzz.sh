#!/bin/sh
# fuzz.sh - run the libFuzzer targets that "make fuzz-build" built.
#
#   scripts/fuzz.sh run SECONDS BUILD_DIR TARGET...
#	each target for SECONDS on tests/fuzz/corpus/TARGET; new inputs go
#	to BUILD_DIR/new/TARGET, crashes to BUILD_DIR/crash/TARGET-*
#   scripts/fuzz.sh check SECONDS BUILD_DIR TARGET...
#	"make check": the committed corpus (replayed first, under ASan and
#	UBSan), then SECONDS of fuzzing, new inputs thrown away
#   scripts/fuzz.sh merge 0 BUILD_DIR TARGET...
#	minimise BUILD_DIR/new/TARGET into tests/fuzz/corpus/TARGET
#	(-merge=1: only inputs that add coverage are kept)
#
# One fuzzer process at a time, at nice 19 (the machine is shared). Per
# target options: tests/fuzz/TARGET.options holds extra libFuzzer flags
# (one line), tests/fuzz/TARGET.dict a dictionary. Exits non-zero when a
# target crashed, leaked, timed out or broke an invariant.
set -u
cd "$(dirname "$0")/.." || exit 2

if [ $# -lt 4 ]; then
	sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
fi
mode=$1
secs=$2
build=$3
shift 3

# flags TARGET - the libFuzzer flags every run of TARGET gets
flags() {
	# -timeout: a hang, not a busy machine (a 0.05 s input once took
	# 13 s here while the machine was shared)
	f="-timeout=30 -rss_limit_mb=2048 -print_final_stats=1"
	[ -f "tests/fuzz/$1.dict" ] && f="$f -dict=tests/fuzz/$1.dict"
	[ -f "tests/fuzz/$1.options" ] && f="$f $(cat "tests/fuzz/$1.options")"
	echo "$f"
}

fail=0
for t in "$@"; do
	bin=$build/fuzz_$t
	corpus=tests/fuzz/corpus/$t
	if [ ! -x "$bin" ]; then
		echo "fuzz: $bin not built" >&2
		exit 2
	fi
	mkdir -p "$build/crash"
	case $mode in
	run)
		mkdir -p "$build/new/$t"
		echo "== fuzz $t: ${secs}s"
		# shellcheck disable=SC2046
		nice -n 19 "$bin" $(flags "$t") -max_total_time="$secs" \
		    -artifact_prefix="$build/crash/$t-" \
		    "$build/new/$t" "$corpus" >"$build/$t.log" 2>&1
		rc=$?
		grep -E '^(stat::|Done|#[0-9]+.*DONE)' "$build/$t.log"
		;;
	check)
		scratch=$(mktemp -d /tmp/vrcpt-fuzz.XXXXXX)
		# shellcheck disable=SC2046
		nice -n 19 "$bin" $(flags "$t") -max_total_time="$secs" \
		    -artifact_prefix="$build/crash/$t-" \
		    "$scratch" "$corpus" >"$build/$t.log" 2>&1
		rc=$?
		rm -rf "$scratch"
		printf 'fuzz %-16s %s\n' "$t" "$(grep -E '^#[0-9]+.*DONE' \
		    "$build/$t.log" | tail -1 | sed 's/ *DONE */ /')"
		;;
	merge)
		[ -d "$build/new/$t" ] || continue
		echo "== merge $t"
		# shellcheck disable=SC2046
		nice -n 19 "$bin" $(flags "$t") -merge=1 "$corpus" \
		    "$build/new/$t" >"$build/$t.merge.log" 2>&1
		rc=$?
		tail -1 "$build/$t.merge.log"
		;;
	*)
		echo "fuzz: unknown mode $mode" >&2
		exit 2
		;;
	esac
	if [ "$rc" -ne 0 ]; then
		echo "fuzz $t: FAILED (exit $rc); the end of $build/$t.log:"
		tail -40 "$build/$t.log"
		fail=1
	fi
done
exit $fail
