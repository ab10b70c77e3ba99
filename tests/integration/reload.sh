#!/bin/bash
# tests/integration/reload.sh - SIGHUP reloads the configuration: a valid
# new one is used for the next request; a broken one is refused with the
# file:line error logged, and the old one keeps answering. Needs no
# database (inline: maps). Prints "reload: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

harness_init reload
write_cf() {	# mailbox map contents
	cat > "$WORK/v.cf" <<EOC
listen = unix:$WORK/p.sock
virtual_mailbox_domains = example.com
virtual_mailbox_maps = inline:{$1}
maillog_file = $WORK/log
EOC
}
ask() { pc "unix:$WORK/p.sock" ask recipient="$1"; }
# wait_for ADDR WANT: a reload is applied by each worker asynchronously
wait_for() {
	local got i
	for ((i = 0; i < 100; i++)); do
		got=$(ask "$1")
		[ "$got" = "$2" ] && break
		sleep 0.1
	done
	printf '%s' "$got"
}
UNK="550 5.1.1 User unknown in virtual mailbox table"
write_cf "john@example.com=ok"
vrcptd_start "$WORK/v.cf" "$WORK/p.sock" || finish
VPID=$VRCPTD_PID
check "before reload: jim unknown" "$(ask jim@example.com)" "$UNK"
write_cf "john@example.com=ok, jim@example.com=ok"
kill -HUP "$VPID"
check "after reload: jim exists" "$(wait_for jim@example.com DUNNO)" DUNNO
# every worker has the new one: ask on many connections
same=0
for i in $(seq 20); do [ "$(ask jim@example.com)" = DUNNO ] && same=$((same + 1)); done
check "all connections see the new configuration" "$same" 20
printf 'listen = unix:%s/p.sock\nvirtual_mailbox_maps = hash:/nonexistent\n' "$WORK" > "$WORK/v.cf"
kill -HUP "$VPID"
retry 5 grep -q 'reload failed' "$WORK/log"
check "broken configuration refused" "$(grep -c 'reload failed; still running with the previous configuration' "$WORK/log")" 1
check "error names file:line" "$(grep -c "$WORK/v.cf:2:" "$WORK/log")" 1
check "old configuration still answers" "$(ask jim@example.com)/$(ask nobody@example.com)" "DUNNO/$UNK"
check "still running" "$(kill -0 "$VPID" 2>/dev/null && echo yes)" yes
finish
