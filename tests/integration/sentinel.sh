#!/bin/bash
# tests/integration/sentinel.sh - "cache = redis-sentinel:..." against a
# real Redis master and replica watched by three real Sentinels (Debian's
# redis-sentinel), a throwaway PostgreSQL and two vrcptd sharing the
# shared tier: the master is found through the Sentinels; the master is
# killed while traffic flows, and vrcptd follows the failover with no
# wrong answer; a mailbox created just before, whose invalidation the
# replica never got, is answered right by the new master's clients (the
# new master is flushed before it is used); vrcptctl flush, query
# --direct and check --live work through the Sentinels; then SENTINEL
# FAILOVER moves the master back while a mailbox is created, and vrcptd
# follows again. Prints the failover times measured (never asserted:
# the machine is shared) and "sentinel: N passed, M failed".
#
#   tests/integration/sentinel.sh  (BUILD=build-x, KEEP=1 keeps the work
#                                   directory, VRCPTD_V=1 runs vrcptd -v)
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
WAIT_TIMEOUT=30		# seconds for a failover, a sync, a recovery
SETTLE_S=3		# seconds an answer may take to follow a COMMIT
USERS_N=300		# mailboxes besides the sample rows
MIX_N=400		# RCPTs of one pass of traffic
MASTER=vrcpt-test	# the Sentinels' name for the master
DOWN_AFTER_MS=1000	# Sentinel's down-after-milliseconds
export POLICYC_TIMEOUT=20	# seconds for one reply

# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

harness_init sentinel
VRCPTCTL=${VRCPTCTL:-$BUILD/vrcptctl}
for b in "$VRCPTD" "$VRCPTCTL"; do
	[ -x "$b" ] || { bad "$b not built (make)"; finish; }
done
for b in redis-server redis-sentinel redis-cli; do
	command -v "$b" >/dev/null || {
		bad "$b not installed (apt-get install redis-server" \
		    "redis-sentinel)"
		finish
	}
done

BGPIDS=()	# background traffic: killed at exit
kill_bg() {
	local p
	for p in "${BGPIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BGPIDS=()
}
harness_on_exit kill_bg

# wait_for WHAT CMD... - until CMD succeeds (WAIT_TIMEOUT)
wait_for() {
	local what=$1
	shift
	retry "$WAIT_TIMEOUT" "$@" && return 0
	bad "$what: not within ${WAIT_TIMEOUT}s"
	return 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- PostgreSQL ---------------------------------------------------------------

pg_start policy/ispmail.sql policy/ispmail-sample.sql \
    policy/triggers-ispmail.sql || finish
psql_q() { pgtmp_psql -At "$@"; }
psql_q -c "INSERT INTO virtual_users (domain_id, email, password)
    SELECT d.id, 'user' || g || '@example.com', '!'
    FROM virtual_domains d, generate_series(1, $USERS_N) g
    WHERE d.name = 'example.com'" >/dev/null ||
    { bad "adding mailboxes"; finish; }
ins_user() {
	psql_q -c "INSERT INTO virtual_users (domain_id, email, password)
	    SELECT id, '$1', '!' FROM virtual_domains
	    WHERE name = '${1#*@}'" >/dev/null
}
maps_write "$WORK/maps" || finish

# --- Redis: a master, a replica, three Sentinels ------------------------------

# Each listens on 127.0.0.1:PORT (what the Sentinels announce and vrcptd
# connects to) and on a unix socket in its directory, which is how
# daemon_start sees that it is up.
PM=$(pf_free_port) PR=$(pf_free_port)
PS=("$(pf_free_port)" "$(pf_free_port)" "$(pf_free_port)")
rc() { local p=$1; shift; redis-cli -h 127.0.0.1 -p "$p" "$@"; }

# redis_node NAME PORT [OPTION...]
redis_node() {
	local name=$1 port=$2
	shift 2
	mkdir -p "$WORK/$name"
	daemon_start "$name" "$WORK/$name/redis.sock" redis-server \
	    --port "$port" --bind 127.0.0.1 \
	    --unixsocket "$WORK/$name/redis.sock" --save "" \
	    --appendonly no --dir "$WORK/$name" \
	    --maxmemory-policy volatile-lru "$@"
}
# sentinel_node NAME PORT
sentinel_node() {
	local name=$1 port=$2
	mkdir -p "$WORK/$name"
	cat >"$WORK/$name/sentinel.conf" <<EOF
port $port
bind 127.0.0.1
unixsocket $WORK/$name/sentinel.sock
dir $WORK/$name
sentinel monitor $MASTER 127.0.0.1 $PM 2
sentinel down-after-milliseconds $MASTER $DOWN_AFTER_MS
sentinel failover-timeout $MASTER 10000
EOF
	daemon_start "$name" "$WORK/$name/sentinel.sock" redis-sentinel \
	    "$WORK/$name/sentinel.conf"
}
# synced PORT - the replica on PORT is in sync with its master
synced() {
	rc "$1" info replication | tr -d '\r' |
	    grep -qx 'master_link_status:up'
}
# sentinels_see PORT - every Sentinel knows all three and has the
# instance on PORT as a healthy replica of the master
sentinels_see() {
	local s
	for s in "${PS[@]}"; do
		rc "$s" sentinel ckquorum "$MASTER" | grep -q '^OK 3 usable' ||
		    return 1
		rc "$s" sentinel replicas "$MASTER" | awk -v p="$1" '
		    prev == "name" { name = $0 }
		    prev == "flags" && name == "127.0.0.1:" p &&
			$0 == "slave" { ok = 1 }
		    { prev = $0 } END { exit !ok }' || return 1
	done
}
# named PORT - every Sentinel names 127.0.0.1:PORT as the master
named() {
	local s
	for s in "${PS[@]}"; do
		[ "$(rc "$s" sentinel get-master-addr-by-name "$MASTER" |
		    tr '\n' ' ')" = "127.0.0.1 $1 " ] || return 1
	done
}

redis_node m1 "$PM" || finish
redis_node m2 "$PR" --replicaof 127.0.0.1 "$PM" || finish
for i in 0 1 2; do
	sentinel_node "s$i" "${PS[$i]}" || finish
done
wait_for "the replica in sync" synced "$PR" || finish
wait_for "the Sentinels watching the master and its replica" \
    sentinels_see "$PR" || finish

# --- vrcptd --------------------------------------------------------------------

SGROUP="127.0.0.1:${PS[0]},127.0.0.1:${PS[1]},127.0.0.1:${PS[2]}/$MASTER"
# write_cf NAME CACHE [extra "name = value" lines]
write_cf() {
	local name=$1 cache=$2 l
	shift 2
	{
		echo "# written by tests/integration/sentinel.sh"
		echo "listen = unix:$WORK/$name.sock"
		echo "control_listen = unix:$WORK/$name-ctl.sock"
		echo "metrics_listen = unix:$WORK/$name-metrics.sock"
		maps_cf "$WORK/maps"
		echo "cache = $cache"
		echo "redis_timeout = 200ms"
		echo "request_timeout = 5s"
		echo "workers = 2"
		echo "log_level = 1"
		echo "syslog_name = vrcptd-$name"
		echo "maillog_file = $WORK/$name.log"
		for l in "$@"; do
			echo "$l"
		done
	} >"$WORK/$name.cf"
}
# a: no in-process tier, so that every answer comes from Redis or the
# database; b: both tiers, the Sentinels in another order (a continued
# line); ref: no cache at all, the truth
write_cf a "redis-sentinel:$SGROUP" "cache_max_entries = 0"
write_cf b "redis-sentinel:127.0.0.1:${PS[2]}, 127.0.0.1:${PS[0]},
    127.0.0.1:${PS[1]}/$MASTER"
write_cf ref none "cache_max_entries = 0"
for n in a b ref; do
	vrcptd_start "$WORK/$n.cf" "$WORK/$n.sock" ${VRCPTD_V:+-v} || finish
done
# flushed NAME PORT - NAME uses the master on PORT (found, flushed)
flushed() {
	grep -q "the master at 127.0.0.1:$2 is flushed: using Redis" \
	    "$WORK/$1.log"
}
# followed NAME FROM TO - NAME logged the move from port FROM to port TO,
# then uses TO (flushed)
followed() {
	awk -v from="moved from 127.0.0.1:$2 to 127.0.0.1:$3;" \
	    -v to="the master at 127.0.0.1:$3 is flushed: using Redis" '
	    index($0, from) { moved = 1 }
	    moved && index($0, to) { found = 1 }
	    END { exit !found }' "$WORK/$1.log"
}
for n in a b; do
	wait_for "$n found the master through the Sentinels" flushed "$n" \
	    "$PM" || finish
done
grep -q "redis-sentinel:127.0.0.1:${PS[2]},127.0.0.1:${PS[0]},127.0.0.1:${PS[1]}/$MASTER: the master is 127.0.0.1:$PM" \
    "$WORK/b.log" || bad "b did not log the master it found: $(grep -i \
    sentinel "$WORK/b.log" | head -5)"

ask() { local n=$1; shift; pc "unix:$WORK/$n.sock" pipeline "$@"; }
compare() { pc "unix:$WORK/$1.sock" compare "$2"; }
redis_hits() {
	metric_value "unix:$WORK/$1-metrics.sock" \
	    'vrcpt_lookups_total{tier="redis",result="hit"}'
}
R550='550 5.1.1 User unknown in virtual mailbox table'

# the traffic: sample addresses, mailboxes and typos, with the answers of
# the instance without a cache
{
	printf '%s\n' john@example.com jane@example.com nosuch@example.com \
	    postmaster@example.com sales@example.com anything@example.org \
	    john@example.net nobody@example.net x@not-hosted.test \
	    john+tag@example.com o\'brien@example.com
	seq 1 "$USERS_N" | awk '{ print "user" $1 "@example.com" }'
	seq 1 100 | awk '{ print "typo" $1 "@example.com" }'
} | head -n "$MIX_N" >"$WORK/mix"
pc "unix:$WORK/ref.sock" file "$WORK/mix" >"$WORK/mix.out"
paste "$WORK/mix" "$WORK/mix.out" >"$WORK/truth"
grep -q -F "$R550" "$WORK/mix.out" && grep -q '^DUNNO$' "$WORK/mix.out" ||
    bad "reference answers lack accepts or rejects"

out=$(compare a "$WORK/truth")
check "a, cold: answers" "$(tail -n 1 <<<"$out")" "same $MIX_N defer 0 wrong 0"
out=$(compare b "$WORK/truth")
check "b, through Redis filled by a: answers" "$(tail -n 1 <<<"$out")" \
    "same $MIX_N defer 0 wrong 0"
h0=$(redis_hits a)
out=$(compare a "$WORK/truth")
check "a, warm: answers" "$(tail -n 1 <<<"$out")" "same $MIX_N defer 0 wrong 0"
check_ge "a, warm: Redis hits" "$(($(redis_hits a) - h0))" $((MIX_N / 2))
[ "$(rc "$PM" --scan --pattern 'vrcpt:*' | wc -l)" -gt 100 ] ||
    bad "the master holds no vrcpt: keys"
wait_for "the replica has the keys" sh -c "[ \"\$(redis-cli -h 127.0.0.1 \
    -p $PR dbsize)\" -ge \"\$(redis-cli -h 127.0.0.1 -p $PM dbsize)\" ]"

# --- vrcptctl through the Sentinels ------------------------------------------

ctl() { "$VRCPTCTL" -c "$WORK/a.cf" "$@"; }
# ctl_live PORT WHAT - check --live: every Sentinel names the master on
# PORT, the master answers, exit 0
ctl_live() {
	local out st
	out=$(ctl check --live 2>&1)
	st=$?
	check "vrcptctl check --live ($2): exit" "$st" 0
	check "vrcptctl check --live ($2): Sentinels naming the master" \
	    "$(grep -c "^  ok    Sentinel 127\.0\.0\.1:[0-9]*: master $MASTER is 127\.0\.0\.1:$1$" <<<"$out")" 3
	grep -q "^  ok    redis-sentinel:$SGROUP: answers" <<<"$out" ||
	    bad "vrcptctl check --live ($2): Redis does not answer: $out"
}
ctl_live "$PM" "master $PM"
ctl query --direct john@example.com >"$WORK/query.out" 2>&1
check "vrcptctl query --direct: exit" "$?" 0
grep -q 'redis: found "1", age [0-9]*s, fresh for' "$WORK/query.out" ||
    bad "vrcptctl query --direct shows no Redis answer:" \
    "$(cat "$WORK/query.out")"
e0=$(rc "$PM" get vrcpt:epoch)
ctl flush --all >"$WORK/flush.out" 2>&1
check "vrcptctl flush --all: exit" "$?" 0
[ -n "$e0" ] && [ "$(rc "$PM" get vrcpt:epoch)" != "$e0" ] ||
    bad "vrcptctl flush --all: the master's epoch is still \"$e0\""

# --- hostile Sentinels ----------------------------------------------------------

# fake_sentinel PORT MODE - a "Sentinel" that answers any command with
# MODE's bytes: an array too big to allocate, a bulk string that never
# ends, addresses that are not, nesting too deep, or nothing at all
fake_sentinel() {
	perl -MIO::Socket::INET -e '
		my ($port, $mode) = @ARGV;
		my $l = IO::Socket::INET->new(Listen => 16, ReuseAddr => 1,
		    LocalAddr => "127.0.0.1", LocalPort => $port) or die "$!\n";
		$SIG{CHLD} = "IGNORE";
		while (my $c = $l->accept) {
			next if fork;
			sysread($c, my $cmd, 4096);
			my %r = (
			    array => "*100000\r\n",
			    addr => "*2\r\n\$18\r\n127.0.0.1\r\nSET a b\r\n" .
				"\$4\r\n6379\r\n",
			    port => "*2\r\n\$9\r\n127.0.0.1\r\n\$5\r\n99999\r\n",
			    deep => ("*1\r\n" x 12) . ":1\r\n",
			    slow => "");
			if ($mode eq "bulk") {
				syswrite($c, "\$1073741824\r\n");
				for (1 .. 256) {
					syswrite($c, "x" x 65536) or last;
				}
			} else {
				syswrite($c, $r{$mode});
			}
			sleep 5;
			exit 0;
		}' "$@" &
	BGPIDS+=($!)
}
hostile=()
for mode in array bulk addr port deep slow; do
	p=$(pf_free_port)
	fake_sentinel "$p" "$mode"
	hostile+=("127.0.0.1:$p")
done
HGROUP="$(IFS=,; echo "${hostile[*]}"),127.0.0.1:${PS[0]}/$MASTER"
write_cf h "redis-sentinel:$HGROUP"
sleep 0.5	# the fakes listen
vt=()
[ -x /usr/bin/time ] && vt=(/usr/bin/time -f 'maxrss %M' -o "$WORK/h-rss")
"${vt[@]}" "$VRCPTCTL" -c "$WORK/h.cf" check --live >"$WORK/h-check" 2>&1
hfail() {	# hfail MODE TEXT - its Sentinel failed, saying TEXT
	grep -q "^  FAIL  Sentinel $1: .*$2" "$WORK/h-check" ||
	    bad "hostile Sentinel ($3): $(grep "Sentinel $1" "$WORK/h-check")"
}
hfail "${hostile[0]}" "" "array of 100000"
grep "Sentinel ${hostile[0]}" "$WORK/h-check" | grep -q 'timed out' &&
    bad "hostile Sentinel (array of 100000): allocated and waited"
hfail "${hostile[1]}" "reply too long" "endless bulk string"
hfail "${hostile[2]}" "names no usable address" "CRLF in the address"
hfail "${hostile[3]}" "names no usable address" "port 99999"
hfail "${hostile[4]}" "" "nested 12 deep"
hfail "${hostile[5]}" "timed out" "no answer"
grep -q "^  ok    Sentinel 127.0.0.1:${PS[0]}: master $MASTER is 127.0.0.1:$PM$" \
    "$WORK/h-check" || bad "the real Sentinel after the hostile ones:" \
    "$(cat "$WORK/h-check")"
grep -q "^  ok    redis-sentinel:.*: answers" "$WORK/h-check" ||
    bad "no master found past the hostile Sentinels: $(cat "$WORK/h-check")"
if [ -s "$WORK/h-rss" ]; then
	rss=$(awk '/^maxrss/ { print $2 }' "$WORK/h-rss")
	note "vrcptctl check --live past six hostile Sentinels: ${rss} kB" \
	    "at most"
	[ "$rss" -lt 65536 ] ||
	    bad "vrcptctl took ${rss} kB from hostile Sentinels"
fi
# and vrcptd's watcher: past them to the master (then it asks the one
# that answered first)
vrcptd_start "$WORK/h.cf" "$WORK/h.sock" ${VRCPTD_V:+-v} || finish
wait_for "h found the master past the hostile Sentinels" flushed h "$PM"
check "h: an answer through the master" "$(ask h john@example.com)" DUNNO
daemon_stop h || bad "vrcptd h did not stop on SIGTERM"
kill_bg

# --- failover: the master killed -----------------------------------------------

# traffic NAME OUT: three passes of the traffic, in the background
traffic() {
	{ compare "$1" "$WORK/truth"; compare "$1" "$WORK/truth"
	    compare "$1" "$WORK/truth"; } >"$2" 2>&1 &
	BGPIDS+=($!)
}
traffic_wait() {
	local p
	for p in "${BGPIDS[@]}"; do
		wait "$p"
	done
	BGPIDS=()
}
sum_traffic() {
	cat "$@" | grep '^same ' | awk '{ s += $2; d += $4; w += $6 }
	    END { printf "same %d defer %d wrong %d\n", s, d, w }'
	cat "$@" | grep '^WRONG' | head -n 5 >&2
}
# keys_of PORT RCPT - the Redis keys of RCPT's records
keys_of() { rc "$1" --scan --pattern "vrcpt:*:$2"; }
# tombstoned PORT RCPT - every record of RCPT is a tombstone
tombstoned() {
	local k n=0
	for k in $(keys_of "$1" "$2"); do
		case $(rc "$1" get "$k") in
		T\|*)	n=$((n + 1)) ;;
		*)	return 1 ;;
		esac
	done
	[ "$n" -gt 0 ]
}

# late@example.com: unknown, and known so in Redis (master and replica)
compare a "$WORK/truth" >/dev/null	# Redis warm again after the flush
check "late@: unknown" "$(ask a late@example.com)" "$R550"
check "late@: unknown (b)" "$(ask b late@example.com)" "$R550"
[ -n "$(keys_of "$PM" late@example.com)" ] ||
    bad "late@: no record in Redis"
wait_for "late@'s records on the replica" sh -c "[ -n \"\$(redis-cli -h \
    127.0.0.1 -p $PR --scan --pattern 'vrcpt:*:late@example.com')\" ]"
e1=$(rc "$PR" get vrcpt:epoch)

traffic a "$WORK/t1-a"
traffic b "$WORK/t1-b"
sleep 0.3
# The replica must miss the invalidation, as an asynchronous replica may
# when its master dies: stopped, and cut off from the master, while the
# mailbox is created and vrcptd tombstones its records on the master;
# then the master dies and the replica goes on. Stopped for well under
# down-after-milliseconds, or the Sentinels would not promote it.
kill -STOP "$(daemon_pid m2)"
rc "$PM" client kill type replica >/dev/null
ins_user late@example.com
for ((i = 0; i < 10; i++)); do
	tombstoned "$PM" late@example.com && break
	sleep 0.05
done
tombstoned "$PM" late@example.com ||
    note "late@: not yet tombstoned on the master when it was killed"
pid=$(daemon_pid m1) rpid=$(daemon_pid m2)
t0=$(now)
kill -KILL "$pid"
{ wait "$pid"; } 2>/dev/null	# reaped here: no "Killed" line from bash
kill -CONT "$rpid"
daemon_stop m1
if tombstoned "$PR" late@example.com; then
	bad "late@: the replica got the invalidation: the test proves nothing"
else
	ok
fi
wait_for "the Sentinels promote the replica" named "$PR" || finish
t_named=$(since "$t0")
wait_for "a follows the failover" followed a "$PM" "$PR" || finish
t_a=$(since "$t0")
wait_for "b follows the failover" followed b "$PM" "$PR" || finish
t_b=$(since "$t0")
# the change the new master never got: answered right, by both
check "late@ after the failover (a)" "$(ask a late@example.com)" DUNNO
check "late@ after the failover (b)" "$(ask b late@example.com)" DUNNO
check "late+x@ after the failover (a)" "$(ask a late+x@example.com)" DUNNO
e2=$(rc "$PR" get vrcpt:epoch)
[ -n "$e2" ] && [ "$e2" != "$e1" ] ||
    bad "the new master was not flushed (epoch \"$e1\" -> \"$e2\")"
traffic_wait
out=$(sum_traffic "$WORK/t1-a" "$WORK/t1-b")
note "traffic while the master was killed (a and b): $out"
check "traffic while the master was killed: wrong" \
    "$(awk '{ print $6 }' <<<"$out")" 0
# Redis in use again, on the new master
h1=$(redis_hits a)
redis_back() {
	compare a "$WORK/truth" >/dev/null
	[ "$(redis_hits a)" -gt "$h1" ]
}
wait_for "a answers from the new master" redis_back || finish
t_hits=$(since "$t0")
note "failover (master killed, down-after-milliseconds" \
    "${DOWN_AFTER_MS}ms): Sentinels named the replica after ${t_named}s;" \
    "vrcptd used it, flushed, after ${t_a}s (a) and ${t_b}s (b);" \
    "Redis hits again after ${t_hits}s"
out=$(compare a "$WORK/truth")
check "a after the failover: answers" "$(tail -n 1 <<<"$out")" \
    "same $MIX_N defer 0 wrong 0"
out=$(compare b "$WORK/truth")
check "b after the failover: answers" "$(tail -n 1 <<<"$out")" \
    "same $MIX_N defer 0 wrong 0"

# vrcptctl follows too
ctl_live "$PR" "after the failover"
ctl query --direct late@example.com >"$WORK/query.out" 2>&1
check "vrcptctl query --direct late@: exit" "$?" 0
if grep -q 'DIFFERS from the database' "$WORK/query.out"; then
	bad "vrcptctl query --direct: Redis holds late@'s old answer:" \
	    "$(cat "$WORK/query.out")"
else
	ok
fi
e3=$(rc "$PR" get vrcpt:epoch)
ctl flush --all >"$WORK/flush.out" 2>&1
check "vrcptctl flush --all after the failover: exit" "$?" 0
[ "$(rc "$PR" get vrcpt:epoch)" != "$e3" ] ||
    bad "vrcptctl flush --all did not reach the new master"

# --- SENTINEL FAILOVER: back to the first, while a mailbox is created --------

# the old master comes back as a replica of the new one
redis_node m1 "$PM" --replicaof 127.0.0.1 "$PR" || finish
wait_for "the old master in sync as a replica" synced "$PM" || finish
wait_for "the Sentinels see it as a replica" sentinels_see "$PM" || finish
compare a "$WORK/truth" >/dev/null
check "soon@: unknown" "$(ask a soon@example.com)" "$R550"
check "soon@: unknown (b)" "$(ask b soon@example.com)" "$R550"
traffic a "$WORK/t2-a"
traffic b "$WORK/t2-b"
sleep 0.3
t0=$(now)
check "SENTINEL FAILOVER" "$(rc "${PS[0]}" sentinel failover "$MASTER")" OK
# when the Sentinels name the new master, measured on the side
{ retry "$WAIT_TIMEOUT" named "$PM" && since "$t0" >"$WORK/t-named"; } &
BGPIDS+=($!)
ins_user soon@example.com
# answered right within SETTLE_S of the COMMIT, and ever after
settled() {
	local n=$1 i
	for ((i = 0; i < SETTLE_S * 10; i++)); do
		[ "$(ask "$n" soon@example.com)" = DUNNO ] && return 0
		sleep 0.1
	done
	return 1
}
settled a || bad "soon@ (a): not DUNNO ${SETTLE_S}s after the COMMIT"
settled b || bad "soon@ (b): not DUNNO ${SETTLE_S}s after the COMMIT"
wait_for "a follows the switch back" followed a "$PR" "$PM" || finish
t_a=$(since "$t0")
wait_for "b follows the switch back" followed b "$PR" "$PM" || finish
t_b=$(since "$t0")
check "soon@ after the switch (a)" "$(ask a soon@example.com)" DUNNO
check "soon@ after the switch (b)" "$(ask b soon@example.com)" DUNNO
traffic_wait
out=$(sum_traffic "$WORK/t2-a" "$WORK/t2-b")
note "traffic during SENTINEL FAILOVER (a and b): $out"
check "traffic during SENTINEL FAILOVER: wrong" \
    "$(awk '{ print $6 }' <<<"$out")" 0
note "SENTINEL FAILOVER: the Sentinels named the new master after" \
    "$(cat "$WORK/t-named" 2>/dev/null || echo '?')s; vrcptd used it," \
    "flushed, after ${t_a}s (a) and ${t_b}s (b)"
# the old master is demoted (Sentinel reconfigures it a few seconds
# later; it kills the clients then): the answers stay right throughout
demoted() { rc "$PR" role | head -n 1 | grep -qx slave; }
wait_for "the old master demoted" demoted
out=$(compare a "$WORK/truth")
check "a after the switch back: answers" "$(tail -n 1 <<<"$out")" \
    "same $MIX_N defer 0 wrong 0"
out=$(compare b "$WORK/truth")
check "b after the switch back: answers" "$(tail -n 1 <<<"$out")" \
    "same $MIX_N defer 0 wrong 0"
check "soon@ at the end (a)" "$(ask a soon@example.com)" DUNNO
check "late@ at the end (b)" "$(ask b late@example.com)" DUNNO

for n in a b ref; do
	daemon_stop "$n" || bad "vrcptd $n did not stop on SIGTERM"
done
for n in a b h; do
	if grep -E 'panic:|fatal:|ERROR: AddressSanitizer|runtime error' \
	    "$WORK/$n.log" "$WORK/$n.out" >&2; then
		bad "vrcptd $n: see above"
	fi
done
finish
