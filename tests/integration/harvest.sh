#!/bin/bash
# tests/integration/harvest.sh - directory-harvest protection across a
# fleet: two vrcptd (A and B) sharing one Redis, a real PostgreSQL with
# the ISPmail sample data, harvest_limit = 5 per window (1h), blocks of
# 10s. Unknown-recipient rejects from one /24 sent to A and to B add up
# to a block that both answer (valid recipients too); another /24 is
# untouched; IPv6 clients count per /64; SASL-authenticated clients and
# harvest_exempt_networks are never counted nor blocked; a block ends
# by itself; with harvest protection off (the default, instance C on
# the same Redis) nothing is counted and no 4xx is ever answered; with
# Redis down nothing new is counted or blocked (rejects stay 550, valid
# recipients pass) and a block this vrcptd already knows still applies.
# The log line of a block (one per vrcptd) is matched with the fail2ban
# filter of deploy/fail2ban-vrcpt.conf when fail2ban-regex is installed.
# Prints "harvest: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
LIMIT=5			# harvest_limit
BLOCK=10		# harvest_block_time, seconds
WINDOW=3600		# harvest_window, seconds: the counts of one phase of
			# the test must fall in one window (fixed windows,
			# aligned to the clock)
SPAN=90			# seconds the test may take, at most, on a slow day
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"
# shellcheck source=../lib/redis.sh
. "$ROOT/tests/lib/redis.sh"

harness_init harvest
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || {
	bad "redis-server/redis-cli not installed"
	finish
}
[ -x "$VRCPTD" ] || { bad "$VRCPTD not built"; finish; }
harness_on_exit redis_kill
pg_start policy/ispmail.sql policy/ispmail-sample.sql \
    policy/triggers-ispmail.sql || finish
redis_start "$WORK/redis.sock" || { bad "Redis did not start"; finish; }
maps_write "$WORK/maps" || finish

REPLY="450 4.7.1 Too many unknown recipients from your network, try again later"
UNKNOWN="550 5.1.1 User unknown in virtual mailbox table"
for n in a b c; do
	cat >"$WORK/$n.cf" <<EOC
listen = unix:$WORK/$n.sock
control_listen =
$(maps_cf "$WORK/maps")
cache = redis:unix:$WORK/redis.sock
redis_timeout = 200ms
maillog_file = $WORK/$n.log
EOC
done
for n in a b; do
	cat >>"$WORK/$n.cf" <<EOC
harvest_limit = $LIMIT
harvest_window = ${WINDOW}s
harvest_block_time = ${BLOCK}s
EOC
done
echo "metrics_listen = unix:$WORK/metrics.sock" >>"$WORK/a.cf"
for n in a b c; do
	vrcptd_start "$WORK/$n.cf" "$WORK/$n.sock" || finish
done

# q INSTANCE CLIENT RCPT [name=value...] - the action for one RCPT
q() {
	local n=$1 client=$2 rcpt=$3
	shift 3
	pc "unix:$WORK/$n.sock" ask "client_address=$client" \
	    "recipient=$rcpt" "$@"
}
# unknowns INSTANCE CLIENT N [name=value...] - N unknown users; prints
# how many got each action
unknowns() {
	local n=$1 client=$2 count=$3 i
	shift 3
	for ((i = 0; i < count; i++)); do
		q "$n" "$client" "nosuch$RANDOM$i@example.com" "$@"
	done | sort | uniq -c | sed 's/^ *//'
}
counter() { rcli --raw keys "vrcpt:hc:*:$1" | head -1; }
# counted NET N - wait until NET's counter is N: a count is sent to Redis
# without waiting, so it may land just after the reply reached us
counted() {
	retry 5 sh -c "[ \"\$(redis-cli -s '$REDIS_SOCK' get \
	    \"\$(redis-cli -s '$REDIS_SOCK' --raw keys 'vrcpt:hc:*:$1' |
	    head -1)\")\" = '$2' ]"
}
# blocked NET - wait until NET's block is in Redis (the same reason)
blocked() { retry 5 sh -c "[ \"\$(redis-cli -s '$REDIS_SOCK' exists \
    'vrcpt:hb:$1')\" = 1 ]"; }
metric() { metric_value "unix:$WORK/metrics.sock" "$1"; }

# Windows are aligned to the clock: a test that straddled the end of one
# would count in two. Close to an end, let it pass first (rarely).
left=$((WINDOW - $(date +%s) % WINDOW))
if [ "$left" -lt "$SPAN" ]; then
	note "waiting ${left}s for the next harvest window"
	sleep $((left + 1))
fi

# Each vrcptd connects to Redis by itself: wait until each counts
# (an unknown from a network of its own is in Redis)
for n in a b; do
	net=100.64.$([ $n = a ] && echo 1 || echo 2)
	retry 10 sh -c "perl '$ROOT/tests/lib/policyc.pl' unix:$WORK/$n.sock \
	    ask client_address=$net.1 recipient=probe@example.com >/dev/null;
	    [ -n \"\$(redis-cli -s '$REDIS_SOCK' --raw keys \
	    'vrcpt:hc:*:$net.0/24')\" ]" || bad "vrcptd $n does not count"
done

# --- off by default: C shares the Redis, never counts, never defers ----
check "off: 12 unknowns from one /24" "$(unknowns c 198.51.100.7 12)" \
    "12 $UNKNOWN"
check "off: nothing counted" "$(counter 198.51.100.0/24)" ""
check "off: a valid recipient afterwards" \
    "$(q c 198.51.100.8 john@example.com)" DUNNO
check "off: A does not block that network either" \
    "$(q a 198.51.100.9 john@example.com)" DUNNO

# --- one /24 over two vrcptd -------------------------------------------
check "A: 3 unknowns from 192.0.2.10" "$(unknowns a 192.0.2.10 3)" \
    "3 $UNKNOWN"
check "B: 2 unknowns from 192.0.2.20" "$(unknowns b 192.0.2.20 2)" \
    "2 $UNKNOWN"
counted 192.0.2.0/24 5 || bad "the counter in Redis is not 5 (both" \
    "vrcptd): $(rcli get "$(counter 192.0.2.0/24)")"
ok
ttl=$(rcli pttl "$(counter 192.0.2.0/24)")
if [ "$ttl" -gt 0 ] 2>/dev/null && [ "$ttl" -le $((WINDOW * 1000)) ]; then
	ok; else
	bad "counter TTL: $ttl"; fi
check "at the limit: not blocked yet (B, valid)" \
    "$(q b 192.0.2.30 john@example.com)" DUNNO
check "the 6th unknown (B) is still a 550" \
    "$(q b 192.0.2.40 nosuch-six@example.com)" "$UNKNOWN"
blocked 192.0.2.0/24 || bad "no block in Redis after the 6th"
ok
ttl=$(rcli pttl vrcpt:hb:192.0.2.0/24)
if [ "$ttl" -gt 0 ] 2>/dev/null && [ "$ttl" -le $((BLOCK * 1000)) ]; then
	ok; else bad "block key TTL: $ttl"; fi
check "blocked: A answers a valid recipient with the harvest reply" \
    "$(q a 192.0.2.99 john@example.com)" "$REPLY"
check "blocked: B too" "$(q b 192.0.2.1 jane@example.com)" "$REPLY"
check "blocked: an unknown gets the harvest reply" \
    "$(q a 192.0.2.2 nosuch-x@example.com)" "$REPLY"
check "another /24 is not blocked (valid)" \
    "$(q a 192.0.3.5 john@example.com)" DUNNO
check "another /24 is not blocked (unknown)" \
    "$(q b 192.0.3.5 nosuch-y@example.com)" "$UNKNOWN"
check "a non-RCPT request from the network: DUNNO" \
    "$(q a 192.0.2.3 john@example.com protocol_state=DATA)" DUNNO

# one line per block and vrcptd, for fail2ban
lb=$(grep -c 'harvest: block: network=192.0.2.0/24 ' "$WORK/b.log")
la=$(grep -c 'harvest: block: network=192.0.2.0/24 ' "$WORK/a.log")
check "B logged the block once" "$lb" 1
check "A logged the block once" "$la" 1
# B started it: its line says so, unless the answer to its count came
# later than redis_timeout (a loaded machine), when B learnt of the
# block from Redis at its next RCPT, like A
if grep -q 'network=192.0.2.0/24 .* started=here' "$WORK/b.log"; then
	grep -q "warning: harvest: block: network=192.0.2.0/24 client=192.0.2.40 for=[0-9]*s started=here count=6 limit=5 window=${WINDOW}s\$" \
	    "$WORK/b.log" || bad "B's line: $(grep 'harvest:' "$WORK/b.log")"
else
	grep -q 'warning: harvest: block: network=192.0.2.0/24 client=192.0.2.1 for=[0-9]*s started=elsewhere count=- limit=- window=' \
	    "$WORK/b.log" || bad "B's line: $(grep 'harvest:' "$WORK/b.log")"
	note "B's count was answered late: B logged the block when it read it"
fi
ok
grep -q 'harvest: block: network=192.0.2.0/24 client=192.0.2.99 for=[0-9]*s started=elsewhere' \
    "$WORK/a.log" || bad "A's line: $(grep 'harvest:' "$WORK/a.log")"
ok
grep -q 'NOQUEUE: reject: RCPT from .*: 450 4.7.1 <john@example.com>: Recipient address rejected: Too many unknown recipients from your network, try again later; .* lookup=harvest ' \
    "$WORK/a.log" || bad "A's reject line: $(grep 'lookup=harvest' \
    "$WORK/a.log" | head -2)"
ok
if command -v fail2ban-regex >/dev/null; then
	filt=$(sed -n 's/^failregex *= *//p' "$ROOT/deploy/fail2ban-vrcpt.conf" |
	    head -1)
	# fail2ban wants a time stamp; the file log has one of its own
	out=$(fail2ban-regex "$WORK/a.log" "$filt" 2>&1)
	case $out in
	*"Lines: "*" lines, 0 ignored, 1 matched"*) ok ;;
	*)	bad "fail2ban-regex with \"$filt\": $(grep -E \
		    'Lines:|Failregex' <<<"$out")" ;;
	esac
	grep -q "192.0.2.0/24" <<<"$(fail2ban-regex --print-all-matched \
	    "$WORK/a.log" "$filt" 2>&1)" || bad "fail2ban: not 192.0.2.0/24"
	ok
else
	note "fail2ban-regex not installed: the filter line not tried"
fi
check "metric: blocks (A)" "$(metric vrcpt_harvest_blocks_total)" 1
# the gauge counts blocks not ended: asserted only when the block was
# still on well after the metric was read (a slow machine may be past it)
g=$(metric vrcpt_harvest_blocked_networks)
if [ "$(rcli pttl vrcpt:hb:192.0.2.0/24)" -gt 500 ] 2>/dev/null; then
	check "metric: blocked networks now (A)" "$g" 1
else
	note "the block ended before its gauge was checked"
fi
check "metric: RCPTs deferred (A)" \
    "$(metric vrcpt_harvest_deferred_total)" 2

# --- the block ends by itself ------------------------------------------
retry $((BLOCK + 10)) sh -c "[ \"\$(perl '$ROOT/tests/lib/policyc.pl' \
    unix:$WORK/a.sock ask client_address=192.0.2.99 \
    recipient=john@example.com)\" = DUNNO ]" ||
    bad "the block did not end after ${BLOCK}s"
ok
# Redis drops the key at the end it was given (PX), a moment after the
# end the value says
retry 5 sh -c "[ \"\$(redis-cli -s '$REDIS_SOCK' exists \
    vrcpt:hb:192.0.2.0/24)\" = 0 ]" || bad "ended: still in Redis"
ok
check "ended: B answers again" "$(q b 192.0.2.1 jane@example.com)" DUNNO
check "ended: metric of blocked networks (A)" \
    "$(metric vrcpt_harvest_blocked_networks)" 0

# --- never counted: SASL clients, harvest_exempt_networks --------------
check "SASL client: 8 unknowns" \
    "$(unknowns a 203.0.113.50 8 sasl_username=alice)" "8 $UNKNOWN"
check "SASL client: not counted" "$(counter 203.0.113.0/24)" ""
check "SASL client: a valid recipient" \
    "$(q b 203.0.113.50 john@example.com sasl_username=alice)" DUNNO
check "exempt (127.0.0.0/8): 8 unknowns" "$(unknowns b 127.0.0.5 8)" \
    "8 $UNKNOWN"
check "exempt: not counted" "$(counter 127.0.0.0/24)" ""

# --- IPv6: one /64 -------------------------------------------------------
i=0
for c in 2001:db8:1:2::a 2001:db8:1:2::b 2001:db8:1:2:ffff::1; do
	unknowns a "$c" 1 >/dev/null
	unknowns b "$c" 1 >/dev/null
	i=$((i + 2))
done
counted 2001:db8:1:2::/64 "$i" || bad "IPv6: not one counter of $i for" \
    "the /64: $(rcli --raw keys 'vrcpt:hc:*')"
ok
blocked 2001:db8:1:2::/64 || bad "IPv6: no block in Redis"
ok
check "IPv6: blocked, another address of the /64" \
    "$(q a 2001:db8:1:2:1234::9 john@example.com)" "$REPLY"
check "IPv6: the next /64 is not" \
    "$(q a 2001:db8:1:3::1 john@example.com)" DUNNO
check "IPv6: an IPv4-mapped client counts as IPv4 (not blocked)" \
    "$(q b ::ffff:192.0.2.5 john@example.com)" DUNNO

# --- Redis down ----------------------------------------------------------
redis_kill
check "Redis down: a block A knows still applies" \
    "$(q a 2001:db8:1:2:1234::9 jane@example.com)" "$REPLY"
check "Redis down: unknowns stay 550, not counted, not blocked" \
    "$(unknowns b 198.51.100.77 8)" "8 $UNKNOWN"
check "Redis down: valid recipients pass" \
    "$(q b 198.51.100.78 john@example.com)" DUNNO
grep -q 'harvest: Redis is not ready' "$WORK/b.log" ||
    bad "Redis down: not said in B's log"
ok
for n in a b c; do
	kill -0 "$(daemon_pid "$n")" 2>/dev/null || bad "vrcptd $n died"
done
finish
