#!/bin/bash
# tests/integration/ctl.sh - vrcptctl against a running vrcptd and a real
# PostgreSQL: query through the daemon (control_listen) and --direct, the
# exit codes (postmap -q's), stats, flush's arguments, check --live, and
# check --live through pgbouncer in transaction mode (which breaks
# prepared statements and LISTEN) and in session mode (which does not).
# Prints "ctl: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

harness_init ctl
VRCPTCTL=${VRCPTCTL:-$BUILD/vrcptctl}
for b in "$VRCPTD" "$VRCPTCTL"; do
	[ -x "$b" ] || { bad "$b not built"; finish; }
done
pg_start policy/ispmail.sql policy/ispmail-sample.sql \
    policy/triggers-ispmail.sql || finish
maps_write "$WORK/maps" || finish
cat > "$WORK/vrcptd.cf" <<EOC
listen = unix:$WORK/policy.sock
control_listen = unix:$WORK/control.sock
$(maps_cf "$WORK/maps")
maillog_file = $WORK/vrcptd.log
EOC
vrcptd_start "$WORK/vrcptd.cf" "$WORK/policy.sock" || finish
retry 10 test -S "$WORK/control.sock" || bad "no control socket"
EP=unix:$WORK/policy.sock
ctl() { "$VRCPTCTL" -c "$WORK/vrcptd.cf" "$@"; }
# field NAME FILE - the value after "NAME:" in vrcptctl's output
field() { sed -n "s/^$1: *//p" "$2" | head -1; }

check "control socket mode" "$(stat -c %a "$WORK/control.sock")" 600

# --- query through the daemon ----------------------------------------------
ctl query john@example.com >"$WORK/q1" 2>&1
check "query valid: exit" "$?" 0
check "query valid: decision" "$(field decision "$WORK/q1")" \
    "valid (virtual mailbox)"
check "query valid: action" "$(field action "$WORK/q1")" DUNNO
case $(field answered "$WORK/q1") in
"by vrcptd from PostgreSQL"*) ok ;;
*)	bad "first query: not from PostgreSQL: $(cat "$WORK/q1")" ;;
esac
# the same again: the decision cache answers (the triggers are there)
retry 5 sh -c "'$VRCPTCTL' -c '$WORK/vrcptd.cf' query john@example.com |
    grep -q \"decision cache\"" ||
    bad "second query: not from the decision cache: $(ctl query \
    john@example.com 2>&1)"
ok

ctl query nosuch@example.com >"$WORK/q2" 2>&1
check "query unknown: exit" "$?" 1
check "query unknown: smtp" "$(field smtp "$WORK/q2")" \
    "550 5.1.1 <nosuch@example.com>: Recipient address rejected: User unknown in virtual mailbox table"
# what Postfix gets on the policy socket is the same action
check "query unknown: same as the policy socket" \
    "$(pc "$EP" ask recipient=nosuch@example.com)" \
    "$(field action "$WORK/q2")"

ctl query nobody@not-ours.example >"$WORK/q3" 2>&1
check "query other domain: exit (other_domain_action passes it on)" "$?" 0
ctl query john@example.com nosuch@example.com >/dev/null 2>&1
check "query two addresses: the highest exit" "$?" 1
# longer than any recipient vrcpt takes (core/addr.h ADDR_MAX)
ctl query "$(printf 'x%.0s' $(seq 3000))@example.com" >"$WORK/q4" 2>&1
check "query unparsable: exit" "$?" 2
grep -q "vrcptd: recipient address too long" "$WORK/q4" ||
    bad "query unparsable: $(head -c 300 "$WORK/q4")"
ok

# queries are not traffic: the decision counters did not move
ctl stats >"$WORK/stats" 2>&1
check "stats: exit" "$?" 0
check "stats: queries are not counted as RCPTs" \
    "$(sed -n 's/^rcpt = //p' "$WORK/stats")" 1
check "stats: cache trusted" \
    "$(sed -n 's/^cache_trusted = //p' "$WORK/stats")" 1
grep -q '^decided_unknown = 1$' "$WORK/stats" ||
    bad "stats: decided_unknown: $(cat "$WORK/stats")"
ok

# the policy socket does not answer control requests: Postfix's smtpd
# (or anyone who can reach it) gets DUNNO, never counters
got=$(pc "$EP" reply '"request=vrcpt_stats\n\n"')
check "policy socket ignores vrcpt_stats" "$got" "action=DUNNO"
# and the control socket refuses what it does not know
got=$(pc "unix:$WORK/control.sock" reply '"request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=john\@example.com\n\n"')
case $got in
error=unknown\ request*) ok ;;
*)	bad "control socket answered a policy request: $got" ;;
esac

# --- --direct --------------------------------------------------------------
ctl query --direct nosuch@example.com >"$WORK/d1" 2>&1
check "query --direct unknown: exit" "$?" 1
grep -q '^queries: ' "$WORK/d1" || bad "--direct: no trace: $(cat "$WORK/d1")"
ok
ctl query --direct john@example.com >/dev/null 2>&1
check "query --direct valid: exit" "$?" 0

# --- flush's arguments -----------------------------------------------------
ctl flush >/dev/null 2>&1
check "bare flush: usage error" "$?" 2
ctl flush all >/dev/null 2>&1
check "flush all (not --all): refused" "$?" 2
ctl flush --all >"$WORK/f1" 2>&1
check "flush --all: exit" "$?" 0
ctl flush john@example.com >"$WORK/f2" 2>&1
check "flush ADDRESS: exit" "$?" 0

# --- check --live ----------------------------------------------------------
ctl check --live >"$WORK/live1" 2>&1
check "check --live: exit" "$?" 0
for want in "pgsql-virtual-mailbox-maps.cf: the query runs" \
    "vrcpt_\* triggers: the caches are trusted" \
    "LISTEN/NOTIFY: a notification arrives" \
    "each connection has a server session of its own" \
    "control_listen unix:$WORK/control.sock: vrcptd answers" \
    "listen unix:$WORK/policy.sock: vrcptd answers"; do
	grep -q "ok  *.*$want" "$WORK/live1" ||
	    bad "check --live lacks \"$want\": $(cat "$WORK/live1")"
done
ok

# a map whose query names a column that does not exist
sed 's/SELECT 1 FROM virtual_users/SELECT nosuchcolumn FROM virtual_users/' \
    "$WORK/maps/pgsql-virtual-mailbox-maps.cf" >"$WORK/maps/broken.cf"
if cmp -s "$WORK/maps/broken.cf" "$WORK/maps/pgsql-virtual-mailbox-maps.cf"
then
	bad "could not break the query: $(grep query \
	    "$WORK/maps/pgsql-virtual-mailbox-maps.cf")"
fi
ctl -o "virtual_mailbox_maps=pgsql:$WORK/maps/broken.cf" check --live \
    >"$WORK/live2" 2>&1
check "check --live, broken query: exit" "$?" 2
grep -q "FAIL  .*broken.cf: the query .*column \"nosuchcolumn\" does not exist" \
    "$WORK/live2" || bad "broken query not named: $(cat "$WORK/live2")"
ok

# no triggers: the caches would not be trusted
pgtmp_psql -q -c "DROP TRIGGER IF EXISTS vrcpt_virtual_users ON virtual_users" \
    >/dev/null 2>&1
pgtmp_psql -q -At -c "SELECT 'DROP TRIGGER ' || tgname || ' ON ' ||
    tgrelid::regclass || ';' FROM pg_trigger WHERE tgname LIKE 'vrcpt\_%'
    AND NOT tgisinternal" >"$WORK/drop.sql" 2>/dev/null
pgtmp_psql -q -f "$WORK/drop.sql" >/dev/null 2>&1
ctl check --live >"$WORK/live3" 2>&1
check "check --live without triggers: exit" "$?" 2
grep -q "FAIL  no vrcpt_\* triggers" "$WORK/live3" ||
    bad "missing triggers not named: $(cat "$WORK/live3")"
ok
pgtmp_psql -q -f "$ROOT/policy/triggers-ispmail.sql" >/dev/null 2>&1

# --- pgbouncer between vrcpt and PostgreSQL ---------------------------------
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
# pgbouncer_start MODE - a pgbouncer in pool_mode MODE on $WORK/pgb-MODE
pgbouncer_start() {
	local d=$WORK/pgb-$1
	mkdir -p "$d" && chown "$PGTMP_USER" "$d"
	cat > "$d/pgbouncer.ini" <<EOI
[databases]
$PGDATABASE = host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER
[pgbouncer]
listen_addr =
unix_socket_dir = $d
listen_port = $PGPORT
auth_type = any
pool_mode = $1
logfile = $d/pgbouncer.log
pidfile = $d/pgbouncer.pid
EOI
	daemon_start "pgbouncer-$1" "$d/.s.PGSQL.$PGPORT" \
	    runuser -u "$PGTMP_USER" -- "$PGBOUNCER" "$d/pgbouncer.ini"
}
# maps_via DIR - the maps, pointing at pgbouncer's socket directory DIR
maps_via() {
	local f
	mkdir -p "$1/maps"
	for f in "$WORK"/maps/pgsql-*.cf; do
		sed "s|^hosts = .*|hosts = unix:$1|" "$f" >"$1/maps/${f##*/}"
	done
}
# pooled - traffic through the pooled vrcptd until its log names the cause
pooled() {
	pc "unix:$d/policy.sock" concurrent 8 "p$RANDOM@example.com" \
	    john@example.com >/dev/null
	grep -q "(a connection pooler in transaction mode" "$d/pooled.log"
}
if [ ! -x "$PGBOUNCER" ]; then
	bad "pgbouncer is not installed (scripts/deps.sh check installs it)"
else
	for mode in transaction session; do
		pgbouncer_start "$mode" || continue
		d=$WORK/pgb-$mode
		maps_via "$d"
		sed -e "s|$WORK/maps/|$d/maps/|g" \
		    -e "s|$WORK/policy.sock|$d/policy.sock|" \
		    -e "s|^control_listen = .*|control_listen =|" \
		    -e "s|$WORK/vrcptd.log|$d/pooled.log|" \
		    "$WORK/vrcptd.cf" >"$d/pooled.cf"
		vrcptd_start "$d/pooled.cf" "$d/policy.sock" || continue
		"$VRCPTCTL" -c "$d/pooled.cf" check --live >"$d/live" 2>&1
		rc=$?
		if [ "$mode" = session ]; then
			check "pgbouncer session mode: check --live passes" \
			    "$rc" 0
			[ "$rc" = 0 ] || note "$(cat "$d/live")"
			check "pgbouncer session mode: vrcptd answers" \
			    "$(pc "unix:$d/policy.sock" ask \
			    recipient=nosuch@example.com)" \
			    "550 5.1.1 User unknown in virtual mailbox table"
			daemon_stop pooled
			daemon_stop "pgbouncer-$mode"
			continue
		fi
		check "pgbouncer transaction mode: check --live fails" "$rc" 2
		grep -q "FAIL  sessions are shared" "$d/live" ||
		    bad "pooler not named: $(cat "$d/live")"
		grep -q "FAIL  LISTEN/NOTIFY: a notification from another connection did not arrive" "$d/live" ||
		    bad "LISTEN failure not named: $(cat "$d/live")"
		ok
		# vrcptd itself through it: its log names the cause once its
		# prepared statements meet shared sessions
		if retry 30 pooled; then
			ok
		else
			bad "vrcptd through pgbouncer (transaction): no hint" \
			    "in its log"
		fi
		daemon_stop pooled
		daemon_stop "pgbouncer-$mode"
	done
fi

# --- the daemon is not there -----------------------------------------------
daemon_stop vrcptd
ctl query john@example.com >"$WORK/q9" 2>&1
check "query with vrcptd stopped: exit" "$?" 2
grep -q "query --direct reads the database instead" "$WORK/q9" ||
    bad "no hint at --direct: $(cat "$WORK/q9")"
ok
ctl query --direct john@example.com >/dev/null 2>&1
check "query --direct with vrcptd stopped: exit" "$?" 0
# PostgreSQL down too: a temporary failure, as Postfix would defer
pgtmp_down >/dev/null 2>&1
ctl query --direct john@example.com >"$WORK/q10" 2>&1
check "query --direct with PostgreSQL down: exit" "$?" 3
finish
