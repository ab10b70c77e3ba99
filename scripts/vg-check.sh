#!/bin/sh
# vg-check.sh DIR - fail when any valgrind log in DIR reports an error
# or a definite leak; prints "valgrind: N passed, M failed" (processes).
dir=$1
pass=0
fail=0
for f in "$dir"/vg.*.log; do
	[ -e "$f" ] || continue
	if [ -s "$f" ]; then
		fail=$((fail + 1))
		echo "valgrind: FAIL: $f:"
		head -40 "$f"
	else
		pass=$((pass + 1))
	fi
done
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
