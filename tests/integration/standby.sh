#!/bin/bash
# tests/integration/standby.sh - vrcptd with a PostgreSQL primary and a
# streaming standby that lags (pg_basebackup -R, recovery_min_apply_delay)
# in the maps' "hosts", both started here: invalidation stays exact
# whatever the lag (a change made on the primary is answered right once
# it has reached the standby an instance reads from, and no old answer
# stays in the in-process cache or Redis), db_read_target sends the
# pools where it says, steady load gets no wrong answer while the
# primary changes other rows, and a failover under load (the primary
# stopped, the standby promoted) gets no wrong answer either. Times are
# printed, never asserted.
#
# Four instances share one Redis:
#   a  db_read_target left at "any" (Postfix's host order), hosts
#      "unix:STANDBY, postgresql://...PRIMARY": unix sockets come first,
#      so a reads from the standby (issue 15 measured it: before the
#      fix, 12 of 12 changes stayed wrong for the cache TTL)
#   b  db_read_target = prefer-standby, both hosts as unix sockets
#      (Postfix's order is random between them)
#   c  db_read_target = primary, the standby listed first;
#      cache_stale_ttl = 0
#   d  as a, with db_replay_wait = 0: the standby's old answer is given
#      until it has replayed the change, and must not be kept
# and "ref" (no cache, the primary only) gives the reference answers.
#
#   tests/integration/standby.sh     (BUILD=build-x, KEEP=1 keeps the
#                                     work directory, VRCPTD_V=1 runs
#                                     vrcptd -v)
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
STANDBY_DELAY=250ms	# recovery_min_apply_delay of the standby
CHANGE_ROUNDS=3		# of 4 changes each: N = 12
SETTLE_S=10		# a change must be answered right within this
LOAD_S=5		# steady load
FRESH_N=3		# recipients never asked before, in each load pass
FAILOVER_GAP_S=2	# from stopping the primary to promoting the standby
RECOVER_S=60		# bound: answers right again after the promotion
WAIT_TIMEOUT=30		# seconds for something to start or connect
INST="a b c d"		# the instances with caches
export POLICYC_TIMEOUT=20	# seconds for one reply

# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"
# shellcheck source=../lib/redis.sh
. "$ROOT/tests/lib/redis.sh"
# shellcheck source=../lib/pgstandby.sh
. "$ROOT/tests/lib/pgstandby.sh"

harness_init standby
[ -x "$VRCPTD" ] || { bad "$VRCPTD not built (make)"; finish; }
need_cmd redis-server redis-server redis-cli

harness_on_exit redis_kill

R550='550 5.1.1 User unknown in virtual mailbox table'
ask() { local n=$1; shift; pc "unix:$WORK/$n.sock" pipeline "$@"; }
now() { date +%s.%N; }
# ms_since T0 - milliseconds from T0 (now's format) until now
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%d\n", (b - a) * 1000 }'; }
# wait_for WHAT CMD... - until CMD succeeds (WAIT_TIMEOUT)
wait_for() {
	local what=$1
	shift
	retry "$WAIT_TIMEOUT" "$@" && return 0
	bad "$what: not within ${WAIT_TIMEOUT}s"
	return 1
}

# --- the primary, the standby, Redis -----------------------------------------

pg_start policy/ispmail.sql policy/ispmail-sample.sql \
    policy/triggers-ispmail.sql || finish
psql_p() { pgtmp_psql -At "$@"; }
psql_s() { standby_psql -At "$@"; }
psql_p -c "INSERT INTO virtual_users (domain_id, email, password)
    SELECT d.id, 'user' || g || '@example.com', '!'
    FROM virtual_domains d, generate_series(1, 200) g
    WHERE d.name = 'example.com'" >/dev/null
harness_on_exit standby_stop
standby_start "$WORK/standby" \
    "recovery_min_apply_delay = $STANDBY_DELAY" || {
	bad "the standby did not start"
	finish
}
check "the standby is in recovery" "$(psql_s -c "SELECT pg_is_in_recovery()")" t
wait_for "the standby replays the primary" standby_caught_up || finish

RSOCK=$WORK/redis.sock
redis_start "$RSOCK" --unixsocketperm 777 --maxmemory-policy volatile-lru || {
	bad "redis-server did not start: $(tail -n 3 "$REDIS_LOG")"
	finish
}

# --- vrcptd ------------------------------------------------------------------

PRIMARY_UNIX=unix:$PGTMP_DIR
STANDBY_UNIX=unix:$STANDBY_DIR
PRIMARY_URI="postgresql://$PGTMP_SUPERUSER@/$PGDATABASE?host=$PGTMP_DIR&port=$PGPORT"

# maps NAME HOSTS - the four ISPmail maps in WORK/maps-NAME with HOSTS
maps() {
	local f
	maps_write "$WORK/maps-$1" || return 1
	for f in "$WORK/maps-$1"/*.cf; do
		H=$2 perl -pi -e 's/^hosts = .*/hosts = $ENV{H}/' "$f" ||
		    return 1
	done
}
# write_cf NAME [extra "name = value" lines]
write_cf() {
	local name=$1 l
	shift
	{
		echo "# written by tests/integration/standby.sh"
		echo "listen = unix:$WORK/$name.sock"
		echo "control_listen ="
		maps_cf "$WORK/maps-$name"
		echo "cache = redis:unix:$RSOCK"
		echo "redis_timeout = 200ms"
		echo "workers = 2"
		echo "log_level = 1"
		echo "syslog_name = vrcptd-$name"
		echo "maillog_file = $WORK/$name.log"
		for l in "$@"; do
			echo "$l"
		done
	} >"$WORK/$name.cf"
}
# activity SERVER APPNAME - client sessions of APPNAME on p(rimary) or
# s(tandby)
activity() {
	"psql_$1" -c "SELECT count(*) FROM pg_stat_activity
	    WHERE application_name = '$2'"
}
# pools_on SERVER NAME - vrcptd NAME has a pool connection on SERVER
pools_on() { [ "$(activity "$1" "vrcptd-$2")" -ge 1 ]; }
# listening SERVER NAME - vrcptd NAME's LISTEN connection is on SERVER
listening() { [ "$(activity "$1" "vrcptd-$2-listen")" -ge 1 ]; }
# vstat NAME FIELD - a counter of the "cache statistics" line at stop
vstat() {
	sed -n 's/.*cache statistics: .*[ ]'"$2"'=\([0-9]*\).*/\1/p' \
	    "$WORK/$1.log" | tail -n 1
}

maps a "$STANDBY_UNIX, $PRIMARY_URI" || finish
maps b "$PRIMARY_UNIX, $STANDBY_UNIX" || finish
maps c "$STANDBY_UNIX, $PRIMARY_UNIX" || finish
maps d "$STANDBY_UNIX, $PRIMARY_URI" || finish
maps ref "$PRIMARY_UNIX" || finish
write_cf a
write_cf b "db_read_target = prefer-standby"
write_cf c "db_read_target = primary" "cache_stale_ttl = 0"
write_cf d "db_replay_wait = 0"
write_cf ref "cache = none" "cache_max_entries = 0"
for n in $INST ref; do
	vrcptd_start "$WORK/$n.cf" "$WORK/$n.sock" ${VRCPTD_V:+-v} || finish
done
for n in $INST; do
	wait_for "vrcptd $n's invalidation listener" listening p "$n" || finish
done

# where the pools read: a, b and d on the standby only, c on the primary
# only (each pool connects at start; b moves off the primary)
for n in a b d; do
	wait_for "$n's pool on the standby" pools_on s "$n"
done
wait_for "c's pool on the primary" pools_on p c
sleep 1
check "a (any, the standby listed first): pool sessions on the primary" \
    "$(activity p vrcptd-a)" 0
check "b (prefer-standby): pool sessions on the primary" \
    "$(activity p vrcptd-b)" 0
check "c (primary): pool sessions on the standby" "$(activity s vrcptd-c)" 0

# --- the reference answers ---------------------------------------------------

cat >"$WORK/corpus" <<'EOF'
john@example.com
nosuch@example.com
jane@example.com
postmaster@example.com
sales@example.com
team@example.com
empty@example.com
anything@example.org
bob@example.org
anything@example.net
john+tag@example.com
sales+tag@example.com
nosuch+tag@example.com
JOHN@EXAMPLE.COM
Mixed.Case@example.com
x@not-hosted.test
o'brien@example.com
jürgen@example.com
user1@example.com
user200@example.com
user201@example.com
user7+x@example.com
nobody@example.info
@example.com
EOF
pc "unix:$WORK/ref.sock" file "$WORK/corpus" >"$WORK/ref.out"
paste "$WORK/corpus" "$WORK/ref.out" >"$WORK/truth"
grep -q -F "$R550" "$WORK/ref.out" && grep -q '^DUNNO$' "$WORK/ref.out" ||
    bad "reference answers lack accepts or rejects: $(sort "$WORK/ref.out" | uniq -c)"
ntruth=$(wc -l <"$WORK/truth")
for n in $INST; do
	for phase in cold warm; do
		check "corpus, $phase cache ($n)" \
		    "$(pc "unix:$WORK/$n.sock" compare "$WORK/truth" | tail -n 1)" \
		    "same $ntruth defer 0 wrong 0"
	done
done

# --- changes on the primary, read from the lagging standby -------------------

# change WHAT - one change on the primary, round ROUND: sets KEY, OLD and
# NEW (KEY's answers before and after)
change() {
	case $1 in
	user+)	KEY=chg$ROUND@example.com OLD=$R550 NEW=DUNNO
		psql_p -c "INSERT INTO virtual_users (domain_id, email, password)
		    SELECT id, '$KEY', '!' FROM virtual_domains
		    WHERE name = 'example.com'" ;;
	user-)	KEY=chg$ROUND@example.com OLD=DUNNO NEW=$R550
		psql_p -c "DELETE FROM virtual_users WHERE email = '$KEY'" ;;
	alias+)	KEY=fwd$ROUND@example.com OLD=$R550 NEW=DUNNO
		psql_p -c "INSERT INTO virtual_aliases (domain_id, source,
		    destination) SELECT id, '$KEY', 'john@example.com'
		    FROM virtual_domains WHERE name = 'example.com'" ;;
	alias-)	KEY=fwd$ROUND@example.com OLD=DUNNO NEW=$R550
		psql_p -c "DELETE FROM virtual_aliases WHERE source = '$KEY'" ;;
	esac >/dev/null
}
# settle NAME [MSFILE] - ask NAME for KEY until it answers NEW (SETTLE_S
# at most; the milliseconds since t_change to MSFILE), then twice more
# (it must stay right: nothing old was kept); status 0 when right
settle() {
	local n=$1 got i
	for ((i = 0; i < SETTLE_S * 20; i++)); do
		got=$(ask "$n" "$KEY")
		if [ "$got" = "$NEW" ]; then
			[ -z "${2:-}" ] || ms_since "$t_change" >"$2"
			[ "$(ask "$n" "$KEY" "$KEY")" = "$NEW"$'\n'"$NEW" ] &&
			    return 0
			echo "standby: $n answered \"$NEW\" for $KEY, then the old answer again" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "standby: $n still answers \"$got\" for $KEY ${SETTLE_S}s after the change" >&2
	return 1
}
# watch_change NAME - NAME's first answer for KEY after the COMMIT (to
# WORK/first-NAME, the ms it took to .ms), then settle (the ms from the
# COMMIT to the first right answer in WORK/settle-NAME.ms; .ok when right
# and kept)
watch_change() {
	local n=$1 t0
	rm -f "$WORK/settle-$n.ms" "$WORK/settle-$n.ok"
	t0=$(now)
	ask "$n" "$KEY" >"$WORK/first-$n"
	ms_since "$t0" >"$WORK/first-$n.ms"
	if [ "$(cat "$WORK/first-$n")" = "$NEW" ]; then
		ms_since "$t_change" >"$WORK/settle-$n.ms"
		settle "$n" && : >"$WORK/settle-$n.ok"
	else
		settle "$n" "$WORK/settle-$n.ms" && : >"$WORK/settle-$n.ok"
	fi
}
declare -A right=() first=() old=() first_ms=() first_max=() settle_ms=()
for n in $INST; do
	right[$n]=0 first[$n]=0 old[$n]=0 first_ms[$n]=0 first_max[$n]=0
	settle_ms[$n]=0
done
nchanges=0
for ((ROUND = 1; ROUND <= CHANGE_ROUNDS; ROUND++)); do
	for what in user+ user- alias+ alias-; do
		case $what in user*) k=chg ;; *) k=fwd ;; esac
		case $what in *+) warm=$R550 ;; *) warm=DUNNO ;; esac
		# every instance has the old answer cached (and Redis too)
		for n in $INST; do
			got=$(ask "$n" "$k$ROUND@example.com" "$k$ROUND@example.com")
			[ "$got" = "$warm"$'\n'"$warm" ] ||
			    bad "before $what $k$ROUND: $n answers \"$got\""
		done
		change "$what"
		t_change=$(now)
		nchanges=$((nchanges + 1))
		# every instance at once (one reading the standby must not
		# profit from another's wait): its first RCPT right after the
		# COMMIT, then until it is right
		pids=()
		for n in $INST; do
			watch_change "$n" &
			pids+=($!)
		done
		wait "${pids[@]}"
		for n in $INST; do
			got=$(cat "$WORK/first-$n")
			[ "$got" = "$NEW" ] && first[$n]=$((first[$n] + 1))
			[ "$got" = "$OLD" ] && old[$n]=$((old[$n] + 1))
			ms=$(cat "$WORK/first-$n.ms")
			first_ms[$n]=$((first_ms[$n] + ms))
			[ "$ms" -le "${first_max[$n]}" ] || first_max[$n]=$ms
			[ -e "$WORK/settle-$n.ok" ] || continue
			right[$n]=$((right[$n] + 1))
			settle_ms[$n]=$((settle_ms[$n] + $(cat "$WORK/settle-$n.ms")))
		done
	done
done
for n in $INST; do
	check "changes answered right by $n within ${SETTLE_S}s, and kept" \
	    "${right[$n]} of $nchanges" "$nchanges of $nchanges"
	note "$n: ${right[$n]} of $nchanges changes answered right and" \
	    "kept; ${first[$n]} at the first RCPT after the COMMIT (which" \
	    "took $((first_ms[$n] / nchanges)) ms on average," \
	    "${first_max[$n]} ms at most), ${old[$n]} answered from before" \
	    "the change first; answered right" \
	    "$((settle_ms[$n] / (right[$n] > 0 ? right[$n] : 1))) ms after" \
	    "the COMMIT on average, from then on (standby delay" \
	    "$STANDBY_DELAY)"
done

# --- steady load while the primary changes other rows ------------------------

wait_for "the standby catches up" standby_caught_up
churn() {
	local i=0
	while :; do
		i=$((i + 1))
		psql_p -c "INSERT INTO virtual_users (domain_id, email, password)
		    SELECT id, 'churn$i@example.com', '!' FROM virtual_domains
		    WHERE name = 'example.com';
		    DELETE FROM virtual_users WHERE email = 'churn$((i - 1))@example.com'" \
		    >/dev/null 2>&1
		sleep 0.05
	done
}
# load NAME SECONDS OUT - compare the truth, and FRESH_N recipients never
# asked before (no cache knows them: the database must answer), again
# and again; one line per pass: "START END same N defer N wrong N",
# WRONG lines to OUT.wrong
load() {
	local n=$1 until=$(($(date +%s) + $2)) out=$3 t0 r i pass=0
	while [ "$(date +%s)" -lt "$until" ]; do
		pass=$((pass + 1))
		{
			cat "$WORK/truth"
			for ((i = 1; i <= FRESH_N; i++)); do
				printf 'fresh-%s-%s-%d@example.com\t%s\n' \
				    "${out##*/}" "$pass" "$i" "$R550"
			done
		} >"$out.pass"
		t0=$(now)
		r=$(pc "unix:$WORK/$n.sock" compare "$out.pass" 2>&1)
		grep '^WRONG' <<<"$r" >>"$out.wrong"
		echo "$t0 $(now) $(tail -n 1 <<<"$r")" >>"$out"
	done
}
# sum FILE FIELD - the total of "same", "defer" or "wrong" in a load file
sum() {
	awk -v f="$2" '{ for (i = 3; i < NF; i++) if ($i == f) s += $(i + 1) }
	    END { print s + 0 }' "$1"
}
churn &
churn_pid=$!
BGPIDS+=("$churn_pid")
pids=()
for n in $INST; do
	: >"$WORK/steady-$n"
	load "$n" "$LOAD_S" "$WORK/steady-$n" &
	pids+=($!)
	BGPIDS+=($!)
done
wait "${pids[@]}"
kill_bg
nchurn=$(psql_p -c "SELECT max(substr(email, 6, length(email) - 17)::int)
    FROM virtual_users WHERE email LIKE 'churn%@example.com'")
for n in $INST; do
	check "steady load on $n while the primary changes other rows: wrong" \
	    "$(sum "$WORK/steady-$n" wrong)" 0
	note "steady load, $n: $(sum "$WORK/steady-$n" same) right," \
	    "$(sum "$WORK/steady-$n" defer) deferred," \
	    "$(sum "$WORK/steady-$n" wrong) wrong, in ${LOAD_S}s of" \
	    "${nchurn:-?} changes to other mailboxes"
	head -n 5 "$WORK/steady-$n.wrong" 2>/dev/null
done

# --- failover under load -----------------------------------------------------

wait_for "the standby catches up" standby_caught_up
for n in $INST; do
	: >"$WORK/fo-$n"
	load "$n" "$RECOVER_S" "$WORK/fo-$n" &
	BGPIDS+=($!)
done
sleep 2
t_stop=$(now)
pgtmp_down			# the primary crashes (immediate stop)
sleep "$FAILOVER_GAP_S"
t_promote=$(now)
standby_promote || bad "pg_ctl promote failed"
check "the standby is the primary now" \
    "$(psql_s -c "SELECT pg_is_in_recovery()")" f
# last_bad FILE T - when the last pass with a defer or a wrong answer that
# started after T ended (T when none did)
last_bad() {
	awk -v t="$2" 'BEGIN { e = t }
	    $1 > t && ($6 != 0 || $8 != 0) { e = $2 }
	    END { printf "%.6f\n", e }' "$1"
}
# recovered - for every instance, at least 3 passes that started after
# the promotion and after its last pass with a defer or a wrong answer
recovered() {
	local n since
	for n in $INST; do
		since=$(last_bad "$WORK/fo-$n" "$t_promote")
		[ "$(awk -v t="$since" '$1 > t { k++ } END { print k + 0 }' \
		    "$WORK/fo-$n")" -ge 3 ] || return 1
	done
}
retry "$RECOVER_S" recovered ||
    bad "answers not all right again within ${RECOVER_S}s of the promotion"
kill_bg
for n in $INST; do
	check "failover under load, $n: wrong answers" \
	    "$(sum "$WORK/fo-$n" wrong)" 0
	head -n 5 "$WORK/fo-$n.wrong" 2>/dev/null
	note "failover under load, $n: $(sum "$WORK/fo-$n" same) right," \
	    "$(sum "$WORK/fo-$n" defer) deferred," \
	    "$(sum "$WORK/fo-$n" wrong) wrong; every answer right again" \
	    "$(awk -v t0="$t_stop" -v r="$(last_bad "$WORK/fo-$n" "$t_stop")" \
	    'BEGIN { printf "%.1f", r - t0 }') s after the primary stopped" \
	    "(the standby promoted after ${FAILOVER_GAP_S}s)"
done

# the listeners follow the promoted primary: a change there reaches all
for n in $INST; do
	wait_for "vrcptd $n listens on the promoted primary" listening s "$n"
done
# not_known NAME - NAME rejects after@example.com, which does not exist
# yet; a 4xx is no answer (a worker whose pool is still waiting out its
# reconnect backoff defers: the load above may have been served by the
# other worker), anything else is wrong at once
not_known() {
	local ans
	ans=$(ask "$1" after@example.com)
	case $ans in
	"$R550") return 0 ;;
	4[0-9][0-9]\ *) return 1 ;;
	esac
	bad "$1: after@example.com before it was created: \"$ans\", not \"$R550\""
}
for n in $INST; do
	wait_for "$n answers after@example.com (a 4xx until then)" not_known "$n"
done
KEY=after@example.com OLD=$R550 NEW=DUNNO
psql_s -c "INSERT INTO virtual_users (domain_id, email, password)
    SELECT id, '$KEY', '!' FROM virtual_domains
    WHERE name = 'example.com'" >/dev/null
for n in $INST; do
	settle "$n" || bad "after the failover, $n does not see a new mailbox"
done

# what the instances counted (their "cache statistics" line at stop)
for n in $INST; do
	daemon_stop "$n"
	note "$n counted: $(vstat "$n" standby_wait) answers from the" \
	    "standby asked again, $(vstat "$n" standby_behind) used but not" \
	    "kept, $(vstat "$n" db_query) SQL queries, $(vstat "$n" rcpt) RCPTs"
done

finish
