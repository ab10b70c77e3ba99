#!/bin/bash
# tests/integration/daemon.sh - vrcptd against a real PostgreSQL, driven
# with the policy delegation protocol as Postfix speaks it.
#
#   tests/integration/daemon.sh     (BUILD=build-x, VRCPTD=/path,
#                                     KEEP=1 keeps the work dir)
#
# Starts a throwaway PostgreSQL (tests/lib/pgtmp.sh) with the ISPmail
# sample data and two vrcptd: A (lookup_failure_action = defer) on a unix
# socket and an inet port, B (dunno) on a unix socket. Checks the exact
# action= replies, pipelining, 50 concurrent connections, protocol
# violations (the connection is closed without a reply, others go on),
# a PostgreSQL outage and the recovery after it, "vrcptd -t" and the
# Postfix-shaped reject line in the log. Prints one line per failure and
# "daemon: N passed, M failed".
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
RECOVER_TIMEOUT=30	# seconds for vrcptd to use PostgreSQL again
CONCURRENCY=50		# simultaneous connections

# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

harness_init daemon
if [ ! -x "$VRCPTD" ]; then
	bad "$VRCPTD not built (make)"
	finish
fi

# --- PostgreSQL and vrcptd ------------------------------------------------

pg_start policy/ispmail.sql policy/ispmail-sample.sql || finish
maps_write "$WORK/maps" || finish

# write_cf NAME LFA LISTEN
write_cf() {
	cat >"$WORK/$1.cf" <<EOF
# written by tests/integration/daemon.sh
listen = $3
$(maps_cf "$WORK/maps")
lookup_failure_action = $2
request_timeout = 1s
syslog_name = vrcptd-$1
maillog_file = $WORK/$1.log
EOF
}

PORT=$(pf_free_port)
A_UNIX=unix:$WORK/a.sock
A_INET=inet:127.0.0.1:$PORT
B_UNIX=unix:$WORK/b.sock
write_cf a defer "$A_UNIX, $A_INET"
write_cf b dunno "$B_UNIX"
vrcptd_start "$WORK/a.cf" "$WORK/a.sock" || finish
vrcptd_start "$WORK/b.cf" "$WORK/b.sock" || finish

# --- vrcptd -t --------------------------------------------------------------

"$VRCPTD" -t -c "$WORK/a.cf" >"$WORK/t-good.out" 2>&1
check "vrcptd -t on a good configuration: exit status" "$?" 0

cp "$WORK/a.cf" "$WORK/unknown.cf"
echo "no_such_parameter = 1" >>"$WORK/unknown.cf"
uline=$(wc -l <"$WORK/unknown.cf")
"$VRCPTD" -t -c "$WORK/unknown.cf" >"$WORK/t-unknown.out" 2>&1
check "vrcptd -t, unknown parameter (a warning): exit status" "$?" 0
if grep -q "unknown.cf:$uline:" "$WORK/t-unknown.out"; then ok; else
	bad "vrcptd -t does not name unknown.cf:$uline:" \
	    "for an unknown parameter: $(head -c 300 "$WORK/t-unknown.out")"
fi

cat >"$WORK/broken.cf" <<EOF
# broken on purpose
listen = unix:$WORK/never.sock
virtual_mailbox_domains = pgsql:$WORK/maps/pgsql-virtual-mailbox-domains.cf
virtual_mailbox_maps = pgsql:$WORK/no-such-file.cf
lookup_failure_action = sometimes
recipient_delimiter = +
EOF
"$VRCPTD" -t -c "$WORK/broken.cf" >"$WORK/t-broken.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then ok; else
	bad "vrcptd -t on a broken configuration exits 0"
fi
for l in 4 5; do
	if grep -q "broken.cf:$l:" "$WORK/t-broken.out"; then ok; else
		bad "vrcptd -t does not name broken.cf:$l:" \
		    "($(head -c 300 "$WORK/t-broken.out"))"
	fi
done
if [ -e "$WORK/never.sock" ]; then
	bad "vrcptd -t opened its listener"
else
	ok
fi

# --- decisions ------------------------------------------------------------

UNK='550 5.1.1 User unknown in virtual mailbox table'
for ep in "$A_UNIX" "$A_INET"; do
	while read -r rcpt want; do
		check "$ep <$rcpt>" "$(pc "$ep" ask recipient="$rcpt")" "$want"
	done <<EOF
john@example.com DUNNO
nosuch@example.com $UNK
sales@example.com DUNNO
team@example.com DUNNO
empty@example.com $UNK
postmaster@example.com DUNNO
anything@example.org DUNNO
anything@example.net DUNNO
john+tag@example.com DUNNO
nosuch+tag@example.com $UNK
JOHN@Example.COM DUNNO
Mixed.Case@example.com $UNK
john@example.com. DUNNO
o'brien@example.com DUNNO
x'or'1'='1@example.com $UNK
jürgen@example.com DUNNO
EOF
done

# not RCPT: nothing to check
for st in CONNECT EHLO MAIL DATA END-OF-MESSAGE VRFY; do
	check "protocol_state=$st" \
	    "$(pc "$A_UNIX" ask protocol_state=$st recipient=nosuch@example.com)" \
	    DUNNO
done

# pipelined requests on one connection are answered in order
got=$(pc "$A_UNIX" pipeline john@example.com nosuch@example.com \
    sales@example.com nosuch2@example.com anything@example.org | tr '\n' '|')
check "pipelined replies" "$got" \
    "DUNNO|$UNK|DUNNO|$UNK|DUNNO|"

# many connections at once
got=$(pc "$A_INET" concurrent "$CONCURRENCY" john@example.com \
    nosuch@example.com | sort | uniq -c | awk '{$1 = $1; print}' |
    tr '\n' '|')
check "$CONCURRENCY concurrent connections" "$got" \
    "$((CONCURRENCY / 2)) john@example.com DUNNO|$((CONCURRENCY - CONCURRENCY / 2)) nosuch@example.com $UNK|"

# --- protocol violations ------------------------------------------------------

# a connection opened before the violations must still be served after;
# each violation is logged (a warning), whatever its words
nwarn() { grep -c 'warning: ' "$WORK/a.log" 2>/dev/null; }
warn_before=$(nwarn)
pc "$A_UNIX" hold-ask 3 nosuch-held@example.com >"$WORK/held.out" &
held=$!
sleep 0.5
long=$(( 8 * 1024 ))	# well over any sane line limit
check "line too long: closed without reply" "$(pc "$A_UNIX" raw \
    "\"request=smtpd_access_policy\\nrecipient=\" . (\"a\" x $long) . '@example.com' . \"\\n\\n\"")" \
    "(closed)"
check "NUL byte: closed without reply" "$(pc "$A_UNIX" raw \
    '"request=smtpd_access_policy\nrecipient=jo\0hn\@example.com\n\n"')" \
    "(closed)"
check "line without '=': closed without reply" "$(pc "$A_UNIX" raw \
    '"request=smtpd_access_policy\ngarbage\n\n"')" "(closed)"
check "request too large: closed without reply" "$(pc "$A_INET" raw \
    '"request=smtpd_access_policy\n" . ("x_attr=" . ("y" x 1000) . "\n") x 200 . "\n"')" \
    "(closed)"
wait "$held"
check "connection opened before the violations" "$(cat "$WORK/held.out")" "$UNK"
check "new connection after the violations" \
    "$(pc "$A_UNIX" ask recipient=nosuch@example.com)" "$UNK"
if kill -0 "$(daemon_pid a)" 2>/dev/null; then ok; else
	bad "vrcptd exited after a protocol violation"
fi
sleep 0.3
if [ "$(nwarn)" -ge $((warn_before + 4)) ]; then ok; else
	bad "protocol violations not logged as warnings:" \
	    "$((warn_before)) warnings before, $(nwarn) after"
fi

# --- the log line --------------------------------------------------------------

sleep 0.3
want="NOQUEUE: reject: RCPT from mail.example.net[203.0.113.9]: 550 5.1.1 <nosuch@example.com>: Recipient address rejected: User unknown in virtual mailbox table; from=<a@example.net> to=<nosuch@example.com> proto=ESMTP helo=<mail.example.net>"
if W=$want awk '
	BEGIN { w = ENVIRON["W"] }
	{ i = index($0, w); if (i == 0) next
	  rest = substr($0, i + length(w))
	  if ((rest == "" || rest ~ /^ [a-z_]+=/) &&
	      substr($0, 1, i - 1) ~ /vrcptd-a\[[0-9]+\]: $/) found = 1 }
	END { exit !found }' "$WORK/a.log" 2>/dev/null; then
	ok
else
	bad "a.log lacks \"vrcptd-a[PID]: $want\" (+ extras):" \
	    "$(grep -m 2 'reject' "$WORK/a.log" 2>/dev/null)"
fi
if grep -q -E ' postfix[-a-z0-9]*/[a-z0-9-]+\[[0-9]+\]: ' "$WORK/a.log" 2>/dev/null; then
	bad "vrcptd logs under a postfix/ ident"
else
	ok
fi

# --- PostgreSQL outage ---------------------------------------------------------

pgtmp_down
# addresses never asked before: no cache can answer them
check "PostgreSQL down, defer" \
    "$(pc "$A_UNIX" ask recipient=fresh-a1@example.com)" \
    "451 4.3.0 Temporary lookup failure"
check "PostgreSQL down, defer (inet)" \
    "$(pc "$A_INET" ask recipient=fresh-a2@example.com)" \
    "451 4.3.0 Temporary lookup failure"
check "PostgreSQL down, dunno" \
    "$(pc "$B_UNIX" ask recipient=fresh-b1@example.com)" DUNNO
if grep -q '451 4.3.0' "$WORK/a.log" 2>/dev/null; then ok; else
	bad "no 451 4.3.0 defer line in a.log"
fi
pgtmp_up || bad "PostgreSQL did not restart"

# recovered EP PREFIX: "yes" once EP answers a fresh address (PREFIX<i>)
# from the database, within RECOVER_TIMEOUT; else "no"
recovered() {
	local i
	for ((i = 0; i < RECOVER_TIMEOUT * 2; i++)); do
		if [ "$(pc "$1" ask recipient="$2$i@example.com")" = "$UNK" ]
		then
			echo yes
			return
		fi
		sleep 0.5
	done
	echo no
}
check "A answers from PostgreSQL again after the restart" \
    "$(recovered "$A_UNIX" fresh-a-after)" yes
# Each worker thread has its own pool, and one may still be in its
# reconnect backoff (up to 5 s): a 451 is fine for a moment, any other
# answer than DUNNO for a mailbox is wrong at once.
got=
for ((i = 0; i < RECOVER_TIMEOUT * 2; i++)); do
	got=$(pc "$A_INET" ask recipient=jane+after@example.com)
	[ "$got" = "451 4.3.0 Temporary lookup failure" ] || break
	sleep 0.5
done
check "A after the restart: a mailbox" "$got" DUNNO
check "B answers from PostgreSQL again after the restart" \
    "$(recovered "$B_UNIX" fresh-b-after)" yes

# --- shutdown ------------------------------------------------------------

for n in a b; do
	if daemon_stop "$n"; then ok; else
		bad "vrcptd $n did not exit on SIGTERM"
	fi
done

finish
