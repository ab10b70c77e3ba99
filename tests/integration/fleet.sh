#!/bin/bash
# tests/integration/fleet.sh - a fleet: three vrcptd (one per MX) sharing
# one Redis and one PostgreSQL, each serving the policy protocol and the
# socketmap. What cache.sh proves with two instances (answers equal
# without the cache, invalidation on a shared Redis, 0 SQL at steady
# state) is not repeated; this adds:
#   - one instance's misses fill Redis for the others: after instance a
#     answered a set of recipients and socketmap keys, b and c answer the
#     same set right with 0 SQL queries (their vrcpt_db_queries_total)
#     and Redis hits;
#   - a change reaches every instance: a mailbox created, an alias
#     changed, a mailbox deleted, each COMMIT followed at once by the
#     question at all three (policy and socketmap) until each answers
#     right; the time from COMMIT to the last right answer is measured
#     and printed (asserted only to be within WAIT_TIMEOUT).
# Prints "fleet: N passed, M failed".
set -u
T0=$SECONDS
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
WAIT_TIMEOUT=5		# seconds for a change to reach an instance
ROUNDS=${ROUNDS:-3}		# create/change/delete rounds
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"
# shellcheck source=../lib/redis.sh
. "$ROOT/tests/lib/redis.sh"

harness_init fleet
[ -x "$VRCPTD" ] || { bad "$VRCPTD not built"; finish; }
command -v redis-server >/dev/null || skip "redis-server not installed"
harness_on_exit redis_kill
pg_start policy/ispmail.sql policy/ispmail-sample.sql \
    policy/triggers-ispmail.sql || finish
maps_write "$WORK" || finish
psql_q() { pgtmp_psql -At -v ON_ERROR_STOP=1 "$@"; }
RSOCK=$WORK/redis.sock
redis_start "$RSOCK" --unixsocketperm 777 --maxmemory-policy volatile-lru ||
    { bad "redis-server did not start"; finish; }

NAMES=(a b c)
for n in "${NAMES[@]}"; do
	cat >"$WORK/$n.cf" <<EOC
listen = unix:$WORK/$n.sock
socketmap_listen = unix:$WORK/$n-smap.sock
metrics_listen = unix:$WORK/$n-metrics.sock
control_listen =
$(maps_cf "$WORK")
cache = redis:unix:$RSOCK
redis_timeout = 200ms
request_timeout = 5s
workers = 2
syslog_name = vrcptd-$n
maillog_file = $WORK/$n.log
EOC
	vrcptd_start "$WORK/$n.cf" "$WORK/$n.sock" ${VRCPTD_V:+-v} || finish
done
metric() { metric_value "unix:$WORK/$1-metrics.sock" "$2"; }
# trusted NAME - its listener is up and has flushed what it may have
# missed (a new Redis epoch: what was filled before is a miss)
trusted() { [ "$(metric "$1" vrcpt_cache_trusted)" = 1 ]; }
for n in "${NAMES[@]}"; do
	retry 20 trusted "$n" || bad "vrcptd $n: cache not trusted"
done
sql() { metric "$1" vrcpt_db_queries_total; }
rhits() { metric "$1" 'vrcpt_lookups_total{tier="redis",result="hit"}'; }
ask() { pc "unix:$WORK/$1.sock" pipeline "${@:2}"; }
sm() { perl "$ROOT/tests/lib/smapc.pl" "unix:$WORK/$1-smap.sock" "${@:2}"; }

# --- one instance's misses fill Redis for the others ---------------------------
RCPTS=(john@example.com jane@example.com bob@example.org sales@example.com
    nosuch@example.com nobody@example.org john+x@example.com
    anyone@example.net postmaster@example.com)
SKEYS=("virtual_mailbox_maps john+x@example.com"
    "virtual_alias_maps team@example.com" "virtual_alias_maps x@example.net"
    "virtual_mailbox_domains example.org" "virtual_alias_maps nosuch@example.com")
want_a=$(ask a "${RCPTS[@]}")
want_s=$(sm a "${SKEYS[@]}")
check_ge "instance a asked PostgreSQL" "$(sql a)" 1
# a's fills go to Redis without waiting for them: until they are all
# there (the key count stands still)
rkeys_still() {
	local k0
	k0=$(rcli dbsize)
	sleep 0.3
	[ "$(rcli dbsize)" = "$k0" ]
}
retry 20 rkeys_still || bad "Redis kept changing"
for n in b c; do
	q0=$(sql "$n")
	h0=$(rhits "$n")
	check "$n: policy answers as a" "$(ask "$n" "${RCPTS[@]}")" "$want_a"
	check "$n: socketmap answers as a" "$(sm "$n" "${SKEYS[@]}")" "$want_s"
	check "$n: SQL queries for what a looked up" "$(($(sql "$n") - q0))" 0
	check_ge "$n: Redis hits" "$(($(rhits "$n") - h0))" 1
done

# --- a change reaches every instance -------------------------------------------
# change KIND QUESTION WANT SQL - run SQL, then time until every
# instance answers QUESTION with WANT (tests/lib/untilright.pl: connected
# before the COMMIT, asking from the moment psql returns); prints the
# milliseconds, or "timeout" (a failure)
change() {
	local kind=$1 q=$2 want=$3 sql=$4 socks=() n line
	for n in "${NAMES[@]}"; do
		if [ "$kind" = policy ]; then
			socks+=("$WORK/$n.sock")
		else
			socks+=("$WORK/$n-smap.sock")
		fi
	done
	coproc UR { perl "$ROOT/tests/lib/untilright.pl" "$WAIT_TIMEOUT" \
	    "$kind" "$q" "$want" "${socks[@]}"; }
	read -r line <&"${UR[0]}"
	psql_q -c "$sql" >/dev/null
	echo go >&"${UR[1]}"
	read -r line <&"${UR[0]}"
	wait "$UR_PID" 2>/dev/null
	case $line in
	[0-9]*)	echo "$line" ;;
	*)	echo "timeout: $q: $line (want \"$want\" within" \
		    "${WAIT_TIMEOUT}s)" ;;
	esac
}
R550='550 5.1.1 User unknown in virtual mailbox table'
times=()
for ((r = 1; r <= ROUNDS; r++)); do
	u=fleet$r@example.com
	# everyone has the negative answers cached first
	for n in "${NAMES[@]}"; do
		check "$n: $u before" "$(ask "$n" "$u")" "$R550"
	done
	times+=("$(change policy "$u" DUNNO "INSERT INTO virtual_users
	    (domain_id, email, password) SELECT id, '$u', '!'
	    FROM virtual_domains WHERE name = 'example.com'")")
	times+=("$(change smap "virtual_alias_maps $u" "OK jane@example.com" \
	    "INSERT INTO virtual_aliases (domain_id, source, destination)
	    SELECT id, '$u', 'jane@example.com' FROM virtual_domains
	    WHERE name = 'example.com'")")
	times+=("$(change smap "virtual_alias_maps $u" "OK john@example.com" \
	    "UPDATE virtual_aliases SET destination = 'john@example.com'
	    WHERE source = '$u'")")
	times+=("$(change policy "$u" "$R550" "DELETE FROM virtual_aliases
	    WHERE source = '$u'; DELETE FROM virtual_users
	    WHERE email = '$u'")")
done
max=0
for t in "${times[@]}"; do
	case $t in
	[0-9]*)	ok
		[ "$t" -gt "$max" ] && max=$t ;;
	*)	bad "$t" ;;
	esac
done
note "a change at all three instances: ${#times[@]} changes, COMMIT to the" \
    "last right answer at most ${max}ms (each: ${times[*]})"
for n in "${NAMES[@]}"; do
	grep -q 'panic\|fatal' "$WORK/$n.log" &&
	    bad "vrcptd $n: $(grep -m1 'panic\|fatal' "$WORK/$n.log")"
done
note "took $((SECONDS - T0))s"
finish
