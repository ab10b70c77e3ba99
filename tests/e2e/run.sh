#!/bin/bash
# tests/e2e/run.sh - the differential end-to-end suite: real Postfix 3.7
# with its own pgsql: lookups against Postfix + vrcptd and Postfix +
# vrcpt-milter, on the same data, every reply and log line compared.
#
#   tests/e2e/run.sh            (BUILD=build-x tests another build dir;
#                                VRCPTD=, MILTER= override the binaries;
#                                KEEP=1 keeps the work directory, as a
#                                failure does)
#   tests/e2e/run.sh --record   only the native Postfix: print corpus.txt
#                                with the replies it measured (to record
#                                new cases; review before committing);
#                                --native is the same
#
# What runs, all in one temporary directory, on loopback and unix sockets
# only (tests/lib/pgtmp.sh, tests/lib/postfix.sh); everything started
# here is stopped here, by pid:
#   PostgreSQL    policy/ispmail.sql + ispmail-sample.sql + fixture.sql
#   Postfix "native"   pgsql: maps as in the ISPmail guide
#   Postfix "policy"   the same + smtpd_reject_unlisted_recipient = no +
#                      check_policy_service -> vrcptd
#   Postfix "milter"   the same + smtpd_milters -> vrcpt-milter -> its
#                      own vrcptd (skipped when vrcpt-milter is not built)
#   two Postfix "outage" instances (static domain lists, nothing from
#                      PostgreSQL) -> a vrcptd with lookup_failure_action
#                      = defer, and one with dunno
#   Redis (cache runs only)
# All instances share recipient_delimiter = +-, virtual_alias_domains =
# aliasdom.test, bothdom.test, relay_domains = relay.test with
# relay_recipient_maps, and Postfix has mydestination = localdom.test.
#
# Checks (tests/e2e/e2e.pl check):
#   - native Postfix answers every case of corpus.txt as recorded (a
#     broken setup cannot pass by being broken the same way twice);
#   - policy and milter: the same reply byte for byte, except the cases
#     of differences.txt, which must give the reply listed there;
#   - the "reject:" log line of every case is the same (milter:
#     "milter-reject:", by Postfix's design), and vrcptd's (vrcpt-
#     milter's) own line is Postfix's plus " name=value" extras;
#   - the same in one transaction (queue ids instead of NOQUEUE);
#   - vrcpt's lines are attributed to cases by the HELO name of each
#     case (c<N>.e2e.test), or, for lines Postfix and vrcpt cut at 2000
#     bytes, by their order;
#   - pflogsumm and fail2ban-regex (Debian's postfix filter) over the
#     logs of each path as syslog would hold them (Postfix's and vrcpt's
#     lines in one file): the same reject counts, groupings and matched
#     lines. The milter path is read the way README tells admins:
#     vrcpt-milter -o syslog_name=vrcpt-milter/smtpd, pflogsumm
#     --syslog-name=vrcpt-milter;
#   - with the cache on (Redis and in-process, then Redis alone), cold
#     then warm: the same replies as without it, the warm runs answered
#     from the cache;
#   - PostgreSQL stopped: every RCPT that vrcptd decided from the
#     database gets 4xx (lookup_failure_action = defer) or is accepted
#     (dunno).
# Prints one line per mismatch, the counts, then "e2e: N passed, M
# failed"; exit 0 only if nothing failed. Needs root (postfix start).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
HERE=$ROOT/tests/e2e
LOG_SETTLE=50		# tenths of a second to wait for log writers
HELO=e2e.test		# e2e.pl: cases say HELO c<N>.e2e.test
PG_CONNECTIONS=300	# PostgreSQL max_connections
MARK_DOMAIN=snapshot.invalid	# e2e.pl: log marks, relay access denied
REQUEST_TIMEOUT=10s	# vrcptd request_timeout (default 1s)
REDIS_TIMEOUT=1s	# vrcptd redis_timeout (default 5ms)
MILTER_IDENT=vrcpt-milter/smtpd	# e2e.pl, README

record=0
case ${1:-} in
--record|--native)
	record=1 ;;
esac

# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"
# shellcheck source=../lib/redis.sh
. "$ROOT/tests/lib/redis.sh"

harness_init e2e
MILTER=${MILTER:-$BUILD/vrcpt-milter}
HARNESS_STOP_TIMEOUT=15	# seconds for a daemon to exit on SIGTERM
			# (libmilter looks at its stop flag every few s)

# --- prerequisites -----------------------------------------------------------

pf_available 2>/dev/null || skip "$(pf_available 2>&1)"
if [ "$record" = 0 ]; then
	[ -x "$VRCPTD" ] || { bad "$VRCPTD not built (make)"; finish; }
	for t in pflogsumm fail2ban-regex; do
		command -v "$t" >/dev/null ||
		    { bad "$t not installed (scripts/deps.sh check)"; finish; }
	done
fi
F2B_FILTER=/etc/fail2ban/filter.d/postfix.conf
[ "$record" = 1 ] || [ -r "$F2B_FILTER" ] ||
    { bad "$F2B_FILTER missing (fail2ban)"; finish; }
HAVE_MILTER=0
[ "$record" = 0 ] && [ -x "$MILTER" ] && HAVE_MILTER=1

# --- PostgreSQL and the data -------------------------------------------------

pg_start || finish
# Every Postfix process keeps its own connection per pgsql: map (smtpd,
# trivial-rewrite, each cleanup), five instances and five vrcptd pools:
# more than pgtmp's 50 slots ("sorry, too many clients" = 451 replies)
pgtmp_psql -c "ALTER SYSTEM SET max_connections = $PG_CONNECTIONS" &&
    pgtmp_down && pgtmp_up ||
    { bad "PostgreSQL: max_connections = $PG_CONNECTIONS"; finish; }
# the triggers that tell vrcptd's cache about changes, as README asks
sql=(-f "$ROOT/policy/ispmail.sql")
[ -f "$ROOT/policy/triggers-ispmail.sql" ] &&
    sql+=(-f "$ROOT/policy/triggers-ispmail.sql")
sql+=(-f "$ROOT/policy/ispmail-sample.sql" -f "$HERE/fixture.sql")
if ! pgtmp_psql "${sql[@]}" >"$WORK/load.log" 2>&1; then
	cat "$WORK/load.log" >&2
	bad "loading ${sql[*]}"
	finish
fi

M=$WORK/maps
maps_write "$M" || finish

# the parameters Postfix and vrcptd share, as the admin copies them
aliases=pgsql:$M/pgsql-virtual-alias-maps.cf
email2email=pgsql:$M/pgsql-email2email.cf
COMMON=(
	"virtual_mailbox_domains = pgsql:$M/pgsql-virtual-mailbox-domains.cf"
	"virtual_mailbox_maps = pgsql:$M/pgsql-virtual-mailbox-maps.cf"
	"virtual_alias_maps = $aliases, $email2email"
	"virtual_alias_domains = aliasdom.test, bothdom.test"
	"relay_domains = relay.test"
	"relay_recipient_maps = pgsql:$M/pgsql-virtual-mailbox-maps.cf"
	"recipient_delimiter = +-"
)
# Postfix only: a local domain, checked by Postfix itself
PF_ONLY=(
	"mydestination = localdom.test"
	"local_recipient_maps = inline:{ localuser=yes }"
)

CASES=$WORK/cases
perl "$HERE/e2e.pl" cases "$HERE/corpus.txt" >"$CASES" ||
    { bad "corpus.txt does not parse"; finish; }
ncases=$(wc -l <"$CASES")
cp "$HERE/corpus.txt" "$HERE/differences.txt" "$WORK/"

# --- vrcptd and vrcpt-milter -------------------------------------------------

# vrcptd_cf NAME [LINE...]: $WORK/NAME.cf, listening on $WORK/NAME.sock,
# logging to $WORK/NAME.log; the lines given last win
vrcptd_cf() {
	local name=$1 l
	shift
	{
		echo "# written by tests/e2e/run.sh"
		echo "listen = unix:$WORK/$name.sock"
		printf '%s\n' "${COMMON[@]}"
		echo "lookup_failure_action = defer"
		echo "syslog_name = vrcptd"
		echo "maillog_file = $WORK/$name.log"
		echo "log_level = 1"
		# a loaded machine must not turn a decision into a timeout:
		# what is compared here is the decision (timeouts: daemon.sh,
		# cache.sh)
		echo "request_timeout = $REQUEST_TIMEOUT"
		echo "redis_timeout = $REDIS_TIMEOUT"
		echo "cache = none"
		echo "cache_max_entries = 0"
		for l in "$@"; do
			echo "$l"
		done
	} >"$WORK/$name.cf"
}

if [ "$record" = 0 ]; then
	# the policy path; its log is vrcptd.log (e2e.pl)
	vrcptd_cf vrcptd
	# the milter path: vrcpt-milter and its vrcptd share one file, as
	# deploy/ suggests; the milter's ident comes from -o (README)
	vrcptd_cf vrcptd-m "milter_listen = unix:$WORK/milter.sock" \
	    "milter_log_reject = yes"
	# PostgreSQL stopped
	vrcptd_cf vrcptd-defer "lookup_failure_action = defer"
	vrcptd_cf vrcptd-dunno "lookup_failure_action = dunno"
	for n in vrcptd vrcptd-m vrcptd-defer vrcptd-dunno; do
		vrcptd_start "$WORK/$n.cf" "$WORK/$n.sock" || finish
	done
	if [ "$HAVE_MILTER" = 1 ]; then
		daemon_start milter "$WORK/milter.sock" "$MILTER" \
		    -c "$WORK/vrcptd-m.cf" -o "syslog_name=$MILTER_IDENT" \
		    -o "maillog_file=$WORK/milter.log" || finish
	else
		note "vrcpt-milter not built: milter path skipped"
	fi
fi

# --- Postfix -----------------------------------------------------------------

declare -A PORT=()
# instance NAME FLAVOUR [ENDPOINT]: write $WORK/pf-NAME, remember its port
instance() {
	local name=$1 flavour=$2 ep=${3:-} d=$WORK/pf-$1 p
	p=$(pf_free_port)
	while [[ " ${PORT[*]} " == *" $p "* ]]; do
		p=$(pf_free_port)
	done
	pf_new "$d" "$flavour" "$p" "$M" "$ep" || return 1
	pf_set "$d" "${COMMON[@]}" "${PF_ONLY[@]}" || return 1
	PORT[$name]=$p
}
instance native native || { bad "pf_new native"; finish; }
names=(native)
if [ "$record" = 0 ]; then
	instance policy policy "unix:$WORK/vrcptd.sock" ||
	    { bad "pf_new policy"; finish; }
	names+=(policy)
	if [ "$HAVE_MILTER" = 1 ]; then
		instance milter milter "unix:$WORK/milter.sock" ||
		    { bad "pf_new milter"; finish; }
		names+=(milter)
	fi
	# outage: the domain classes from static lists, so that nothing
	# in Postfix needs PostgreSQL and every hosted RCPT reaches vrcptd
	hosted=$(pgtmp_psql -A -t -c "SELECT string_agg(name, ', ' ORDER BY
	    name) FROM virtual_domains WHERE name = lower(name) AND name
	    ~ '^[a-z0-9_.-]*[a-z][a-z0-9_.-]*[a-z0-9]\$'") ||
	    { bad "reading virtual_domains"; finish; }
	for lfa in defer dunno; do
		instance "outage-$lfa" policy "unix:$WORK/vrcptd-$lfa.sock" &&
		    pf_set "$WORK/pf-outage-$lfa" \
		    "virtual_mailbox_domains = $hosted" \
		    "virtual_mailbox_maps =" "virtual_alias_maps =" \
		    "relay_recipient_maps =" "mydestination =" ||
		    { bad "pf_new outage-$lfa"; finish; }
		names+=("outage-$lfa")
	done
fi
declare -A spid=()
for n in "${names[@]}"; do
	harness_on_exit "pf_stop '$WORK/pf-$n'"
	pf_start "$WORK/pf-$n" >"$WORK/pf-$n.start" 2>&1 &
	spid[$n]=$!
done
for n in "${names[@]}"; do
	wait "${spid[$n]}"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		cat "$WORK/pf-$n.start" >&2
		bad "Postfix $n did not start"
		finish
	fi
done

# --- the corpus, every path at once ------------------------------------------

# session NAME IN OUT [pf_smtp_cases options]: cases IN to instance NAME
session() {
	local name=$1 in=$2 out=$3
	shift 3
	pf_smtp_cases "${PORT[$name]}" "$@" <"$in" >"$WORK/$out" \
	    2>"$WORK/$out.err"
}
# sessions IN OUT-PREFIX NAME... [-- options]: in parallel, one per
# instance, into OUT-PREFIX.NAME
sessions() {
	local in=$1 pfx=$2 n want pids=() names=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		names+=("$1")
		shift
	done
	[ "${1:-}" = -- ] && shift
	want=$(wc -l <"$in")
	for n in "${names[@]}"; do
		session "$n" "$in" "$pfx.$n" "$@" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for n in "${names[@]}"; do
		if [ -s "$WORK/$pfx.$n.err" ]; then
			bad "SMTP session with $n: $(head -c 500 \
			    "$WORK/$pfx.$n.err")"
		fi
		if [ "$(wc -l <"$WORK/$pfx.$n")" -ne "$want" ]; then
			bad "SMTP session with $n: $(wc -l <"$WORK/$pfx.$n")" \
			    "replies for $want cases"
		fi
	done
}

main_paths=(native)
[ "$record" = 0 ] && main_paths+=(policy)
[ "$HAVE_MILTER" = 1 ] && main_paths+=(milter)
t0=$SECONDS
if [ "$record" = 1 ]; then
	sessions "$CASES" replies native -- -e -h "$HELO"
	perl "$HERE/e2e.pl" record "$HERE/corpus.txt" "$WORK/replies.native"
	exit 0
fi

# the logs of each run, apart: main/ (above) and batch/ (below)
declare -A LOGS=([native.maillog]=$WORK/pf-native/maillog
    [policy.maillog]=$WORK/pf-policy/maillog [vrcptd.log]=$WORK/vrcptd.log)
[ "$HAVE_MILTER" = 1 ] && LOGS+=([milter.maillog]=$WORK/pf-milter/maillog
    [milter.log]=$WORK/milter.log [vrcptd-m.log]=$WORK/vrcptd-m.log)
declare -A LOGOFF=()
# snapshot DIR: what each log got since the last snapshot, into $WORK/DIR.
# postlogd writes asynchronously: a last RCPT (rejected, relay access
# denied, before any policy or milter) with HELO snap-DIR marks the end
# of the run in each maillog. vrcptd and vrcpt-milter write their line
# before they answer.
snapshot() {
	local dir=$WORK/$1 n off i mark="helo=<snap-$1.$HELO>"
	mkdir -p "$dir"
	for n in "${main_paths[@]}"; do
		printf '<>\t<snapshot@%s>\t0\n' "$MARK_DOMAIN" |
		    pf_smtp_cases "${PORT[$n]}" -h "snap-$1.$HELO" >/dev/null
	done
	for n in "${main_paths[@]}"; do
		for ((i = 0; i < LOG_SETTLE; i++)); do
			grep -q -F "$mark" "$WORK/pf-$n/maillog" && break
			sleep 0.1
		done
		grep -q -F "$mark" "$WORK/pf-$n/maillog" ||
		    bad "$n: no \"$mark\" in the maillog"
	done
	for n in "${!LOGS[@]}"; do
		off=${LOGOFF[$n]:-0}
		tail -c +$((off + 1)) "${LOGS[$n]}" >"$dir/$n" 2>/dev/null
		LOGOFF[$n]=$((off + $(wc -c <"$dir/$n")))
	done
}

# the cases without a deliberate difference, then those with one: the
# log tools read the first run only
perl "$HERE/e2e.pl" split "$WORK" || { bad "e2e.pl split"; finish; }
snapshot start
sessions "$WORK/cases.main" replies.main "${main_paths[@]}" -- -e -h "$HELO"
snapshot main
sessions "$WORK/cases.div" replies.div "${main_paths[@]}" -- -e -h "$HELO"
snapshot div
for n in "${main_paths[@]}"; do
	perl "$HERE/e2e.pl" merge "$WORK" "$n" || bad "e2e.pl merge $n"
done

# one transaction: the cases with the default sender, no SMTPUTF8 and no
# deliberate difference, after one accepted RCPT (the queue id path)
perl "$HERE/e2e.pl" batch "$WORK" || bad "e2e.pl batch"
declare -A bpid=()
for n in "${main_paths[@]}"; do
	pf_smtp_cases "${PORT[$n]}" -t -h "batch.$HELO" \
	    <"$WORK/batch.cases" >"$WORK/batch.$n" 2>"$WORK/batch.$n.err" &
	bpid[$n]=$!
done
for n in "${main_paths[@]}"; do
	wait "${bpid[$n]}"
	[ -s "$WORK/batch.$n.err" ] &&
	    bad "one transaction with $n: $(head -c 500 "$WORK/batch.$n.err")"
done
snapshot batch
note "corpus: $ncases cases to ${#main_paths[@]} instances, then" \
    "$(($(wc -l <"$WORK/batch.ids"))) in one transaction, in" \
    "$((SECONDS - t0))s"

# --- the log tools -----------------------------------------------------------

# each path's log as syslog would hold it, less the cases that differ
# on purpose; pflogsumm and fail2ban-regex as an admin runs them
for p in "${main_paths[@]}"; do
	perl "$HERE/e2e.pl" toolinput "$WORK" "$p" >"$WORK/tools.$p" ||
	    bad "e2e.pl toolinput $p"
	case $p in
	milter)	sn=(--syslog-name="${MILTER_IDENT%%/*}") ;;
	*)	sn=() ;;
	esac
	pflogsumm "${sn[@]}" "$WORK/tools.$p" >"$WORK/pflogsumm.$p" \
	    2>"$WORK/pflogsumm.$p.err" || bad "pflogsumm on the $p log failed"
	fail2ban-regex -r --print-all-matched "$WORK/tools.$p" \
	    "$F2B_FILTER" >"$WORK/fail2ban.$p" 2>&1 ||
	    bad "fail2ban-regex on the $p log failed"
done
# what an admin who forgets --syslog-name gets: shown, not checked
[ "$HAVE_MILTER" = 1 ] && pflogsumm "$WORK/tools.milter" \
    >"$WORK/pflogsumm.milter-plain" 2>/dev/null

# --- the cache: cold, then warm; Redis and in-process, then Redis alone ------

run_cache() {
	local rsock=$WORK/redis.sock err
	if ! command -v redis-server >/dev/null; then
		note "cache runs skipped: redis-server not installed"
		return 0
	fi
	vrcptd_cf vrcptd-cache "listen = unix:$WORK/vrcptd.sock" \
	    "cache = redis:unix:$rsock" "cache_max_entries = 100000"
	if ! err=$("$VRCPTD" -t -c "$WORK/vrcptd-cache.cf" 2>&1); then
		note "cache runs skipped: vrcptd -t: $(head -c 300 <<<"$err")"
		return 0
	fi
	harness_on_exit redis_stop
	redis_start "$rsock" --unixsocketperm 770 ||
	    { bad "redis-server did not start"; return 1; }
	# the same socket: the policy Postfix does not notice the swap
	daemon_stop vrcptd
	vrcptd_start "$WORK/vrcptd-cache.cf" "$WORK/vrcptd.sock" || return 1
	session policy "$CASES" replies.cache-cold -e -h "cold.$HELO"
	session policy "$CASES" replies.cache-warm -e -h "warm.$HELO"
	note "cache: Redis holds $(rcli dbsize) keys"
	daemon_stop vrcptd-cache
	# the same with Redis alone, so that the warm run reads Redis (a
	# vrcptd that starts cannot know what it missed: it starts Redis
	# afresh)
	vrcptd_cf vrcptd-cache "listen = unix:$WORK/vrcptd.sock" \
	    "cache = redis:unix:$rsock" "cache_max_entries = 0"
	vrcptd_start "$WORK/vrcptd-cache.cf" "$WORK/vrcptd.sock" || return 1
	session policy "$CASES" replies.cache-rcold -e -h "rcold.$HELO"
	session policy "$CASES" replies.cache-rwarm -e -h "rwarm.$HELO"
	daemon_stop vrcptd-cache
	redis_stop
}
t0=$SECONDS
run_cache
note "cache runs in $((SECONDS - t0))s"

# --- PostgreSQL stopped ------------------------------------------------------

t0=$SECONDS
pgtmp_down
sessions "$CASES" replies outage-defer outage-dunno -- -e -h "outage.$HELO"
note "PostgreSQL stopped: corpus to 2 instances in $((SECONDS - t0))s"

# --- compare -----------------------------------------------------------------

# e2epl OUT COMMAND ARG...: perl e2e.pl COMMAND ARG... into $WORK/OUT;
# its lines shown, its "e2e-count PASSED FAILED" line added to ours
e2epl() {
	local out=$WORK/$1 cmd=$2 counts p f
	shift
	perl "$HERE/e2e.pl" "$@" >"$out" 2>&1
	grep -v '^e2e-count ' "$out"
	counts=$(grep '^e2e-count ' "$out" | tail -n 1)
	if [ -z "$counts" ]; then
		bad "e2e.pl $cmd did not finish"
	else
		read -r _ p f <<<"$counts"
		pass=$((pass + p))
		fail=$((fail + f))
	fi
}
e2epl check.out check "$WORK"
e2epl tools.out logtools "$WORK" "${main_paths[@]}"
finish
