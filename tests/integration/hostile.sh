#!/bin/bash
# tests/integration/hostile.sh - hostile clients against the policy and
# metrics listeners: 10,000 concurrent connections (connection_limit
# sheds), slowloris, oversize lines and requests, NUL bytes, invalid
# UTF-8, 10,000 attributes, pipelined floods, half-closed sockets with
# requests pending, clients that never read; then the metrics listener
# abused the same ways. The load tools are tests/lib/abuse.c (C) and
# tests/lib/policyc.pl.
#
# After each abuse: a well-behaved client is answered, rightly, within
# ANSWER_MAX_S (the time it took is reported, not asserted); vrcptd's
# memory (VmRSS) stays within RSS_GROWTH_MAX_KB of what it was before
# the first abuse; vrcptd is alive. One row per abuse. Prints
# "hostile: N passed, M failed".
#
#   FLOOD_N=10000 (connections of each flood; lowered when the open-file
#   limit cannot be raised that far)
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
FLOOD_N=${FLOOD_N:-10000}	# concurrent connections of a flood
CONN_LIMIT=1000			# vrcptd's connection_limit
IO_TIMEOUT=3			# vrcptd's io_timeout, seconds
ANSWER_MAX_S=5			# a well-behaved client is answered within
RSS_GROWTH_MAX_KB=$((64 * 1024))	# VmRSS may grow by this much at most
SLOW_N=500			# slowloris connections
NOREAD_N=50			# connections that never read
PIPE_CONNS=4			# pipelined floods: connections ...
PIPE_N=20000			# ... and requests on each
HALF_N=300			# requests before a half-close
export POLICYC_TIMEOUT=$ANSWER_MAX_S

# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

harness_init hostile
[ -x "$VRCPTD" ] || { bad "$VRCPTD not built (make)"; finish; }
tool_build abuse || finish

# every flood connection is a descriptor here, and one in vrcptd (which
# raises its own soft limit to connection_limit plus what it needs)
ulimit -n "$(ulimit -Hn)" 2>/dev/null
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] && [ "$nofile" -lt $((FLOOD_N + 200)) ]; then
	note "open-file limit $nofile: floods of $((nofile - 200))" \
	    "connections instead of $FLOOD_N"
	FLOOD_N=$((nofile - 200))
fi

pg_start policy/ispmail.sql policy/ispmail-sample.sql \
    policy/triggers-ispmail.sql || finish
maps_write "$WORK/maps" || finish

PORT=$(pf_free_port)
SOCK=$WORK/h.sock
MSOCK=$WORK/h.metrics
EP=unix:$SOCK
EPI=inet:127.0.0.1:$PORT
MEP=unix:$MSOCK
cat >"$WORK/h.cf" <<EOF
# written by tests/integration/hostile.sh
listen = $EP, $EPI
metrics_listen = $MEP
$(maps_cf "$WORK/maps")
connection_limit = $CONN_LIMIT
io_timeout = ${IO_TIMEOUT}s
request_timeout = 1s
workers = 2
syslog_name = vrcptd-h
maillog_file = $WORK/h.log
EOF
# Under ASan (make check-sanitize) vrcptd answers several times slower:
# a client that never reads is cut off only once vrcptd has filled the
# socket with replies, thousands of them, so fewer of those, and
# shorter pipelined floods. ASan keeps freed memory in quarantine (256 MB
# by default) and its allocator holds on to what it got, which would
# read as growth: a small quarantine still catches use after free, and
# the bound is doubled.
if [ -n "${SANITIZE:-}" ]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16:allocator_release_to_os_interval_ms=100
	NOREAD_N=10
	PIPE_N=5000
	RSS_GROWTH_MAX_KB=$((RSS_GROWTH_MAX_KB * 2))
	note "built with SANITIZE=$SANITIZE: $NOREAD_N clients that never" \
	    "read, pipelined floods of $PIPE_N, VmRSS bound" \
	    "+$((RSS_GROWTH_MAX_KB / 1024)) MB"
fi
vrcptd_start "$WORK/h.cf" "$SOCK" || finish
VPID=$VRCPTD_PID

R550='550 5.1.1 User unknown in virtual mailbox table'
abuse() { "$WORK/abuse" "$@"; }
ask() { pc "$EP" ask recipient="$1"; }

# recipients of the pipelined floods: cached ones and fresh keys (the
# database answers those: requests stay in flight meanwhile)
{
	printf 'john@example.com\tDUNNO\njane@example.com\tDUNNO\n'
	printf 'sales@example.com\tDUNNO\nanything@example.org\tDUNNO\n'
	printf 'nosuch@example.com\t%s\ntypo@example.com\t%s\n' "$R550" "$R550"
	printf 'john+p%%u@example.com\tDUNNO\n'
	printf 'p%%u@example.com\t%s\n' "$R550"
} >"$WORK/rcpts"

# warm up, then the memory every later reading is held against
pc "$EP" pipeline john@example.com nosuch@example.com jane@example.com \
    >/dev/null
abuse "$EP" pipeline 2 2000 "$WORK/rcpts" >/dev/null
RSS0=$(proc_rss "$VPID")
RSS_MAX=$RSS0
ROWS=()

# after CASE RESULT - the checks every abuse ends with; one row
after() {
	local name=$1 result=$2 t0 t1 got ms rss hz
	t0=$(date +%s%N)
	got=$(ask john@example.com)
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	check "$name: then a well-behaved client (within ${ANSWER_MAX_S}s)" \
	    "$got" DUNNO
	check "$name: then nosuch@ over inet" \
	    "$(pc "$EPI" ask recipient=nosuch@example.com)" "$R550"
	hz=$(http_get "$MEP" /healthz | head -n 1)
	check "$name: then GET /healthz" "$hz" 200
	if kill -0 "$VPID" 2>/dev/null; then ok; else
		bad "$name: vrcptd died"
		ROWS+=("$(printf '%-34s %-44s %s' "$name" "$result" "(dead)")")
		return 1
	fi
	rss=$(proc_rss "$VPID")
	[ "$rss" -gt "$RSS_MAX" ] && RSS_MAX=$rss
	[ "$rss" -le $((RSS0 + RSS_GROWTH_MAX_KB)) ] ||
	    bad "$name: VmRSS grew from $RSS0 kB to $rss kB" \
	    "(at most +$RSS_GROWTH_MAX_KB kB)"
	ROWS+=("$(printf '%-34s %-44s %6s ms %8s kB' "$name" "$result" \
	    "$ms" "$rss")")
}
field() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$1"; }

# --- 10,000 connections -----------------------------------------------------

# idle ones: at connection_limit the longest idle one is closed for each
# new one; a client meanwhile gets room too
abuse "$EPI" flood "$FLOOD_N" 6 >"$WORK/flood1" &
fl=$!
sleep 3
t0=$(date +%s%N)
during=$(ask john@example.com)
during_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$fl"
out=$(cat "$WORK/flood1")
check "$FLOOD_N idle connections: a client during the flood" "$during" DUNNO
note "$FLOOD_N idle connections: a client during the flood answered in" \
    "${during_ms} ms"
check "$FLOOD_N idle connections: all connected" \
    "$(field "$out" connected)" "$FLOOD_N"
check_ge "$FLOOD_N idle connections: shed at connection_limit" \
    "$(field "$out" closed)" $((FLOOD_N - CONN_LIMIT - 10))
after "$FLOOD_N idle connections (inet)" \
    "$(field "$out" connected) connected, $(field "$out" closed) shed"
# each asking at once: every answer that comes is right
abuse "$EP" flood "$FLOOD_N" 4 ask >"$WORK/flood2"
out=$(cat "$WORK/flood2")
check "$FLOOD_N asking connections: wrong answers" "$(field "$out" wrong)" 0
check_ge "$FLOOD_N asking connections: answered" \
    "$(field "$out" answered)" $((FLOOD_N / 2))
after "$FLOOD_N connections, each asking" \
    "$(field "$out" answered) answered, $(field "$out" wrong) wrong"

# --- slow, oversize, malformed ----------------------------------------------

out=$(abuse "$EP" slowloris "$SLOW_N" $((IO_TIMEOUT * 3 + 5)))
check "slowloris x$SLOW_N: all cut off (io_timeout)" \
    "$(field "$out" closed)" "$SLOW_N"
check "slowloris x$SLOW_N: nothing answered" "$(field "$out" replied)" 0
after "slowloris x$SLOW_N (1 byte/s)" \
    "closed $(field "$out" closed) after $(field "$out" after) s"

check "line of 8 KB: closed without a reply" "$(pc "$EP" raw \
    '"request=smtpd_access_policy\nrecipient=" . ("a" x 8192) . "\@example.com\n\n"')" \
    "(closed)"
check "request of 1 MB: closed without a reply" "$(pc "$EP" raw \
    '"request=smtpd_access_policy\n" . ("x_attr=" . ("y" x 1000) . "\n") x 1000 . "\n"')" \
    "(closed)"
# a line that never ends: cut at the line limit, not buffered
out=$(abuse "$EP" stream $((64 * 1024 * 1024)))
check "endless line: closed" "$(awk '{ print $1 }' <<<"$out")" closed
check "endless line: nothing answered" "$(field "$out" replied)" 0
[ "$(field "$out" after)" -lt $((8 * 1024 * 1024)) ] && ok ||
    bad "endless line: $(field "$out" after) bytes taken before the close"
after "oversize line/request, endless line" \
    "closed after $(field "$out" after) bytes"

check "NUL in a value: closed without a reply" "$(pc "$EP" raw \
    '"request=smtpd_access_policy\nrecipient=jo\0hn\@example.com\n\n"')" \
    "(closed)"
check "NUL in a name: closed without a reply" "$(pc "$EP" raw \
    '"request=smtpd_access_policy\nrecip\0ient=john\@example.com\n\n"')" \
    "(closed)"
after "NUL bytes" "closed without reply"

# invalid UTF-8: Postfix's resolver gives a malformed address the
# default class (trivial-rewrite resolve_addr), so vrcptd leaves it to
# Postfix (other_domain_action); logged sanitised (the log stays valid
# UTF-8)
for r in '\xff\xfe\@example.com' 'j\xc3(hn\@example.com' \
    '\xed\xa0\x80\@example.com' 'john\xc0\xaf\@example.com' \
    'ok\@exa\xffmple.com'; do
	check "invalid UTF-8 <$r>" "$(pc "$EP" reply \
	    "\"request=smtpd_access_policy\\nprotocol_state=RCPT\\nrecipient=$r\\n\\n\"")" \
	    action=reject_unlisted_recipient
done
# in what is logged with a reject: sender, HELO name, client name
check "invalid UTF-8 in sender, helo_name, client_name" "$(pc "$EP" reply \
    '"request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=nosuch\@example.com\nsender=\xff\xfe\@evil.test\nhelo_name=\xc0\xafh\x01\x1b[31m\nclient_name=c\xed\xa0\x80\nclient_address=192.0.2.7\n\n"')" \
    "action=$R550"
retry 5 grep -q '\[192.0.2.7\]: 550 .*<nosuch@example.com>' "$WORK/h.log" ||
    bad "the reject with invalid UTF-8 attributes was not logged"
if iconv -f UTF-8 -t UTF-8 "$WORK/h.log" >/dev/null 2>&1; then ok; else
	bad "the log is not valid UTF-8 after invalid UTF-8 attributes:" \
	    "$(grep -a -n -m 2 -P '[\x80-\xff]' "$WORK/h.log" | cat -v)"
fi
if grep -a -q -P '[\x00-\x08\x0b-\x1f\x7f]' "$WORK/h.log"; then
	bad "control characters from a client reached the log:" \
	    "$(grep -a -n -m 2 -P '[\x00-\x08\x0b-\x1f\x7f]' "$WORK/h.log" | cat -v)"
else
	ok
fi
after "invalid UTF-8" "left to Postfix, logged sanitised"

check "10,000 attributes: closed without a reply" "$(pc "$EP" raw \
    '"request=smtpd_access_policy\nrecipient=john\@example.com\n" . ("a=b\n" x 10000) . "\n"')" \
    "(closed)"
check "10,000 empty-valued attributes in 64 KB: closed" "$(pc "$EP" raw \
    '"request=smtpd_access_policy\n" . join("", map { "a$_=\n" } 1 .. 10000) . "\n"')" \
    "(closed)"
after "10,000 attributes" "closed without reply"

# --- floods on open connections ------------------------------------------------

out=$(abuse "$EP" pipeline "$PIPE_CONNS" "$PIPE_N" "$WORK/rcpts")
check "pipelined flood: replies" "$(field "$out" replies)" \
    $((PIPE_CONNS * PIPE_N))
check "pipelined flood: wrong" "$(field "$out" wrong)" 0
after "pipelined flood ${PIPE_CONNS}x$PIPE_N" \
    "$(field "$out" replies) replies in $(field "$out" seconds) s"

# a burst written whole before the first reply is read: one fresh key
# (in flight while the rest arrives), then cached ones whose replies
# exceed half the reply buffer. vrcptd used to stop at that cap, write
# everything at once and then wait for input that never came: the rest
# went unanswered until io_timeout cut the client off as "incomplete".
{
	printf 'b%%u@example.com\t%s\n' "$R550"
	for ((i = 0; i < 1000; i++)); do
		printf 'nosuch@example.com\t%s\n' "$R550"
	done
} >"$WORK/burst"
bursts=0
for n in 900 1001 1100; do
	out=$(abuse "$EP" pipeline 1 "$n" "$WORK/burst" burst)
	[ "$(field "$out" replies)" = "$n" ] && bursts=$((bursts + 1)) ||
	    echo "hostile: burst of $n: $out" >&2
done
check "pipelined bursts written before reading: all answered" "$bursts" 3
after "pipelined bursts (900-1100)" "$bursts of 3 answered whole"

out=$(abuse "$EP" pipeline "$PIPE_CONNS" "$HALF_N" "$WORK/rcpts" half)
check "half-closed with requests pending: replies" "$(field "$out" replies)" \
    $((PIPE_CONNS * HALF_N))
check "half-closed: wrong" "$(field "$out" wrong)" 0
check "half-closed: closed after the last reply" "$(field "$out" eof)" \
    "$PIPE_CONNS"
after "half-closed (SHUT_WR) x$PIPE_CONNS" \
    "$(field "$out" replies) replies, $(field "$out" eof) closed after"

out=$(abuse "$EP" noread "$NOREAD_N" 100000 $((IO_TIMEOUT * 4 + 10)))
check "never reading x$NOREAD_N: all cut off (io_timeout)" \
    "$(field "$out" closed)" "$NOREAD_N"
after "never reading x$NOREAD_N" \
    "closed $(field "$out" closed) after $(field "$out" after) s"

# --- the metrics listener, abused the same ways ----------------------------------

out=$(abuse "$MEP" flood "$FLOOD_N" 3 http)
check "metrics: $FLOOD_N connections: all connected" \
    "$(field "$out" connected)" "$FLOOD_N"
after "metrics: $FLOOD_N connections" \
    "$(field "$out" connected) connected, $(field "$out" closed) closed"
out=$(abuse "$MEP" slowloris 200 12 http)
check "metrics: slowloris x200: all cut off" "$(field "$out" closed)" 200
after "metrics: slowloris x200" \
    "closed $(field "$out" closed) after $(field "$out" after) s"
got=$(pc "$MEP" raw '"GET /metrics HTTP/1.0\r\nX: " . ("a" x 8192) . "\r\n\r\n"')
check "metrics: 8 KB request: 413" "$(head -n 1 <<<"$got" | tr -d '\r')" \
    "HTTP/1.0 413 Request Entity Too Large"
got=$(pc "$MEP" raw '"GET /he\0althz HTTP/1.0\r\n\r\n"')
check "metrics: NUL: 400" "$(head -n 1 <<<"$got" | tr -d '\r')" \
    "HTTP/1.0 400 Bad Request"
got=$(pc "$MEP" raw '"GET /\xff\xfe HTTP/1.0\r\n\r\n"')
check "metrics: invalid UTF-8 path: 404" "$(head -n 1 <<<"$got" | tr -d '\r')" \
    "HTTP/1.0 404 Not Found"
out=$(abuse "$MEP" stream $((16 * 1024 * 1024)) http)
check "metrics: endless header: closed" "$(awk '{ print $1 }' <<<"$out")" closed
after "metrics: oversize, NUL, UTF-8, endless" \
    "closed after $(field "$out" after) bytes"
out=$(abuse "$MEP" pipeline 4 100 - http)
check "metrics: 100 pipelined GETs: one answer each" \
    "$(field "$out" replies)" 4
out=$(abuse "$MEP" pipeline 4 1 - half http)
check "metrics: GET then SHUT_WR: answered" "$(field "$out" replies)" 4
out=$(abuse "$MEP" noread 50 2000 8 http)
check "metrics: never reading x50: closed" "$(field "$out" closed)" 50
after "metrics: pipelined, half-closed, never read" "one answer each, closed"

# --- the table ------------------------------------------------------------

note "$(printf '%-34s %-44s %9s %11s' abuse result 'client' 'VmRSS')"
note "$(printf '%-34s %-44s %9s %8s kB' "(before)" "" "" "$RSS0")"
for r in "${ROWS[@]}"; do note "$r"; done
note "VmRSS before $RSS0 kB, at most $RSS_MAX kB" \
    "(+$(( (RSS_MAX - RSS0) / 1024 )) MB; bound +$((RSS_GROWTH_MAX_KB / 1024)) MB)"
check "vrcptd exits on SIGTERM after all this" \
    "$(daemon_stop h && echo yes)" yes
CRASH='\]: (panic|fatal): |AddressSanitizer|runtime error'
if grep -a -h -E "$CRASH" "$WORK"/*.log "$WORK"/*.out >/dev/null 2>&1; then
	bad "crash: $(grep -a -h -E "$CRASH" "$WORK"/*.log "$WORK"/*.out |
	    head -n 3)"
fi
finish
