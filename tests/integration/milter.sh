#!/bin/bash
# tests/integration/milter.sh - vrcpt-milter in front of the real vrcptd
# and a real PostgreSQL, driven with miltertest(8) and, when we may start
# one, a real Postfix.
#
#   tests/integration/milter.sh    (BUILD=build-x, VRCPTD=/path,
#                                   MILTER=/path, KEEP=1 keeps the work
#                                   directory)
#
# Starts a throwaway PostgreSQL (tests/lib/pgtmp.sh) with the ISPmail
# sample data, vrcptd, and two vrcpt-milter on the same vrcptd: A
# (lookup_failure_action = defer, milter_log_reject = yes) and B (dunno).
# miltertest (tests/integration/milter/rcpt.lua) checks what A
# negotiates and the reply to each RCPT: continue for a valid recipient;
# for an unknown one a reply with its own text whose length is that of
# "550 5.1.1 <r>: Recipient address rejected: User unknown in virtual
# mailbox table" (miltertest shows the length of the text, not the
# text). Then, as root with Postfix installed, the same recipients go
# through a native Postfix and a Postfix with smtpd_milters = A, and the
# SMTP replies must be identical byte for byte; with PostgreSQL down and
# with vrcptd down they must read "451 4.3.0 <r>: Temporary lookup
# failure". B must let mail through when vrcptd is down. Prints one line
# per failure and "milter: N passed, M failed".
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
HERE=$ROOT/tests/integration
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

harness_init milter
MILTER=${MILTER:-$BUILD/vrcpt-milter}
MILTERTEST=${MILTERTEST:-miltertest}
LUA=$HERE/milter/rcpt.lua
HARNESS_STOP_TIMEOUT=15	# seconds for a daemon to exit on SIGTERM
			# (libmilter looks at its stop flag every few s)

for b in "$VRCPTD" "$MILTER"; do
	if [ ! -x "$b" ]; then
		bad "$b not built (make)"
		finish
	fi
done
if ! command -v "$MILTERTEST" >/dev/null 2>&1; then
	bad "miltertest is not installed (scripts/deps.sh check)"
	finish
fi

# mt SOCKET RCPT...: one miltertest session, one "ARG KIND LEN" line per
# recipient (LEN: bytes of the reply text incl. NUL, "-" if none)
mt() {
	local sock=$1 rcpts
	shift
	rcpts=$(printf '%s|' "$@")
	"$MILTERTEST" -vv -D SOCK="unix:$sock" -D RCPTS="${rcpts%|}" \
	    -s "$LUA" 2>&1 | awk '
		/mt_milter_read\([0-9]+\): cmd y, len / { len = $NF; next }
		/^RCPT / { kind = $NF; arg = substr($0, 6,
			       length($0) - 5 - length(kind) - 1)
			   print arg, kind, (kind == "replycode" ? len : "-")
			   len = "-"; next }
		/^negotiation ok$/ { print; next }
		/rcpt.lua: |error|failed/ { print "ERROR " $0 }'
}

# want_len TEXT: what miltertest reports for a reply "TEXT"
want_len() {
	printf '%s' "$1" | wc -c | awk '{ print $1 + 1 }'
}

# --- PostgreSQL, vrcptd, the milters -----------------------------------------

pg_start policy/ispmail.sql policy/ispmail-sample.sql || finish
maps_write "$WORK/maps" || finish

# write_cf NAME LFA: a vrcptd.cf; vrcptd uses "a", the milters "a" and "b"
write_cf() {
	cat >"$WORK/$1.cf" <<EOF
# written by tests/integration/milter.sh
listen = unix:$WORK/policy.sock
milter_listen = unix:$WORK/milter-$1.sock
milter_log_reject = yes
$(maps_cf "$WORK/maps")
lookup_failure_action = $2
request_timeout = 1s
maillog_file = $WORK/$1.log
EOF
}
write_cf a defer
write_cf b dunno

start_vrcptd() {
	daemon_start vrcptd "$WORK/policy.sock" "$VRCPTD" -c "$WORK/a.cf"
}
start_vrcptd || finish
daemon_start milter-a "$WORK/milter-a.sock" "$MILTER" -c "$WORK/a.cf" ||
    finish
daemon_start milter-b "$WORK/milter-b.sock" "$MILTER" -c "$WORK/b.cf" ||
    finish

# --- vrcpt-milter -t ---------------------------------------------------------

"$MILTER" -t -c "$WORK/a.cf" >"$WORK/t-good.out" 2>&1
check "vrcpt-milter -t on a good configuration: exit status" "$?" 0
sed -e "s|^milter_listen = .*|milter_listen =|" "$WORK/a.cf" \
    >"$WORK/nolisten.cf"
"$MILTER" -t -c "$WORK/nolisten.cf" >"$WORK/t-nolisten.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q milter_listen "$WORK/t-nolisten.out"; then
	ok
else
	bad "vrcpt-milter -t without milter_listen: exit $rc," \
	    "$(head -c 300 "$WORK/t-nolisten.out")"
fi

# --- what miltertest sees ----------------------------------------------------

UNK='User unknown in virtual mailbox table'
REJ=': Recipient address rejected: '
TMP=': Temporary lookup failure'
# rej ADDR / tmp ADDR: the mt line for a 550 5.1.1 reject / a 451 4.3.0
rej() { echo "replycode $(want_len "550 5.1.1 <$1>$REJ$UNK")"; }
tmp() { echo "replycode $(want_len "451 4.3.0 <$1>$TMP")"; }

check "negotiation (rcpt.lua NEGOTIATE)" "$("$MILTERTEST" -D \
    SOCK="unix:$WORK/milter-a.sock" -D RCPTS='<john@example.com>' \
    -D NEGOTIATE=1 -s "$LUA" 2>&1 | grep -c '^negotiation ok$')" 1

# ARG  expected kind+len (the recipient in the reply is the internal form)
cases=(
	"<john@example.com>|continue -"
	"<nosuch@example.com>|$(rej nosuch@example.com)"
	"<JOHN@Example.COM>|continue -"
	"<\"john\"@example.com>|continue -"
	"<NoSuch@Example.COM>|$(rej NoSuch@Example.COM)"
	"<@r.example,@b.example:nosuch@example.com>|$(rej nosuch@example.com)"
	"<\"no such\"@example.com>|$(rej "no such@example.com")"
	"<john+tag@example.com>|continue -"
	"<nosuch+tag@example.com>|$(rej nosuch+tag@example.com)"
	"<Mixed.Case@example.com>|$(rej Mixed.Case@example.com)"
	"<empty@example.com>|$(rej empty@example.com)"
	"<postmaster@example.com>|continue -"
	"<anything@example.org>|continue -"
	"<anything@example.net>|continue -"
	"<jürgen@example.com>|continue -"
	"<someone@not-hosted.example>|continue -"
)
args=()
for c in "${cases[@]}"; do
	args+=("${c%%|*}")
done
mapfile -t lines < <(mt "$WORK/milter-a.sock" "${args[@]}")
for i in "${!cases[@]}"; do
	c=${cases[$i]}
	check "miltertest ${c%%|*}" "${lines[$i]:-(none)}" \
	    "${c%%|*} ${c#*|}"
done

# many SMTP sessions at once: libmilter runs them in parallel threads,
# which share the policy connection pool; every answer must still be
# the one for its own recipient
CONC=20		# simultaneous miltertest sessions
cpids=()
for ((i = 0; i < CONC; i++)); do
	mt "$WORK/milter-a.sock" "<john@example.com>" "<nosuch$i@example.com>" \
	    "<jane@example.com>" "<nosuch$i@example.com>" >"$WORK/conc.$i" &
	cpids+=($!)
done
wait "${cpids[@]}"	# not a bare wait: the daemons are children too
cbad=0
for ((i = 0; i < CONC; i++)); do
	want="<john@example.com> continue -|<nosuch$i@example.com> $(rej \
	    "nosuch$i@example.com")|<jane@example.com> continue -|"
	want="$want<nosuch$i@example.com> $(rej "nosuch$i@example.com")|"
	got=$(tr '\n' '|' <"$WORK/conc.$i")
	if [ "$got" != "$want" ]; then
		cbad=$((cbad + 1))
		[ "$cbad" -le 3 ] && bad "concurrent session $i: got \"$got\""
	fi
done
check "$CONC concurrent sessions with wrong answers" "$cbad" 0

# --- the log line ------------------------------------------------------------

sleep 0.3
want="NOQUEUE: reject: RCPT from mx.example.net[192.0.2.9]: 550 5.1.1"
want="$want <nosuch@example.com>$REJ$UNK; from=<a@example.net>"
want="$want to=<nosuch@example.com> proto=ESMTP helo=<mx.example.net>"
if grep -F -e "$want" "$WORK/a.log" 2>/dev/null |
    grep -q -E 'vrcpt-milter\[[0-9]+\]: NOQUEUE'; then
	ok
else
	bad "a.log lacks \"vrcpt-milter[PID]: $want\":" \
	    "$(grep -m 3 'vrcpt-milter' "$WORK/a.log" 2>/dev/null)"
fi
if grep -E 'vrcpt-milter\[[0-9]+\]: .*reject: .*<john@example.com>' \
    "$WORK/a.log" >/dev/null 2>&1; then
	bad "a.log has a reject line for a valid recipient"
else
	ok
fi

# --- Postfix: native and milter, the same replies ----------------------------

PF=0
if pf_available 2>"$WORK/pf_available.err"; then
	PF=1
	NAT=$WORK/pf-native
	MIL=$WORK/pf-milter
	NPORT=$(pf_free_port)
	MPORT=$(pf_free_port)
	if pf_new "$NAT" native "$NPORT" "$WORK/maps" &&
	    pf_new "$MIL" native "$MPORT" "$WORK/maps"; then
		cat >>"$MIL/etc/main.cf" <<EOF
# deploy/postfix-milter.cf
smtpd_reject_unlisted_recipient = no
smtpd_milters = unix:$WORK/milter-a.sock
milter_protocol = 6
milter_default_action = tempfail
EOF
		harness_on_exit "pf_stop '$NAT'; pf_stop '$MIL'"
		pf_start "$NAT" && pf_start "$MIL" || {
			bad "Postfix did not start"
			PF=0
		}
	else
		bad "pf_new failed"
		PF=0
	fi
else
	note "SKIP: no Postfix stage: $(cat "$WORK/pf_available.err")"
fi

PFR=(john@example.com nosuch@example.com JOHN@Example.COM
    NoSuch@Example.COM '"no such"@example.com' john+tag@example.com
    nosuch+tag@example.com Mixed.Case@example.com empty@example.com
    postmaster@example.com anything@example.org anything@example.net
    '@relay.example:nosuch@example.com' someone@not-hosted.example)
if [ "$PF" = 1 ]; then
	mapfile -t nat < <(pf_smtp "$NPORT" -s "${PFR[@]}" 2>&1)
	mapfile -t mil < <(pf_smtp "$MPORT" -s "${PFR[@]}" 2>&1)
	for i in "${!PFR[@]}"; do
		check "Postfix milter = native, RCPT TO:<${PFR[$i]}>" \
		    "${mil[$i]:-(none)}" "${nat[$i]:-(none)}"
	done
	check "Postfix milter, unknown user" "${mil[1]:-}" \
	    "550 5.1.1 <nosuch@example.com>$REJ$UNK"
	check "Postfix milter, quoted unknown user" "${mil[4]:-}" \
	    "550 5.1.1 <no such@example.com>$REJ$UNK"
	printf '%s\n' "${mil[@]}" >"$WORK/replies-up.txt"
	sleep 0.3
	want="NOQUEUE: milter-reject: RCPT from unknown[127.0.0.1]: 550 5.1.1"
	want="$want <nosuch@example.com>$REJ$UNK;"
	if grep -q -F "$want" "$MIL/maillog"; then
		ok
	else
		bad "Postfix did not log the milter-reject line:" \
		    "$(grep -m 2 milter "$MIL/maillog")"
	fi
fi

# --- PostgreSQL down: vrcptd answers 451 4.3.0, the milter says it natively --

pgtmp_down
FRESH=fresh-$$@example.com	# in no cache
mapfile -t lines < <(mt "$WORK/milter-a.sock" "<$FRESH>")
check "miltertest, PostgreSQL down" "${lines[0]:-(none)}" \
    "<$FRESH> $(tmp "$FRESH")"
if [ "$PF" = 1 ]; then
	pf_reload "$NAT"
	sleep 1
	FRESH2=fresh2-$$@example.com
	n=$(pf_smtp "$NPORT" "$FRESH2" 2>&1)
	m=$(pf_smtp "$MPORT" "$FRESH2" 2>&1)
	check "Postfix, PostgreSQL down: milter = native" "$m" "$n"
	check "Postfix milter, PostgreSQL down" "$m" "451 4.3.0 <$FRESH2>$TMP"
	echo "$m" >"$WORK/replies-pgdown.txt"
fi
pgtmp_up

# --- vrcptd down: lookup_failure_action in the milter ------------------------

daemon_stop vrcptd
mapfile -t lines < <(mt "$WORK/milter-a.sock" "<nosuch@example.com>" \
    "<john@example.com>")
check "miltertest, vrcptd down, defer: unknown" "${lines[0]:-(none)}" \
    "<nosuch@example.com> $(tmp nosuch@example.com)"
check "miltertest, vrcptd down, defer: valid" "${lines[1]:-(none)}" \
    "<john@example.com> $(tmp john@example.com)"
mapfile -t lines < <(mt "$WORK/milter-b.sock" "<nosuch@example.com>")
check "miltertest, vrcptd down, dunno" "${lines[0]:-(none)}" \
    "<nosuch@example.com> continue -"
want='vrcpt-milter\[[0-9]+\]: warning: policy service unix:.*policy.sock: '
want="$want"'connect to .*<nosuch@example.com>: answering lookup_failure_action'
if grep -q -E "$want" "$WORK/a.log"; then
	ok
else
	bad "no warning about the unreachable policy service in a.log"
fi
if [ "$PF" = 1 ]; then
	m=$(pf_smtp "$MPORT" nosuch@example.com 2>&1)
	check "Postfix milter, vrcptd down" "$m" \
	    "451 4.3.0 <nosuch@example.com>$TMP"
	echo "$m" >"$WORK/replies-vrcptd-down.txt"
fi

# vrcptd back: the milter reconnects by itself
start_vrcptd || finish
mapfile -t lines < <(mt "$WORK/milter-a.sock" "<nosuch@example.com>")
check "miltertest, vrcptd back" "${lines[0]:-(none)}" \
    "<nosuch@example.com> $(rej nosuch@example.com)"

# --- shutdown ----------------------------------------------------------------

for m in milter-a milter-b; do
	daemon_stop "$m"
	check "$m exits on SIGTERM" "$?" 0
	if [ -e "$WORK/$m.sock" ]; then
		bad "$m left its socket behind"
	else
		ok
	fi
done
if grep -E 'postfix/' "$WORK/a.log" "$WORK/b.log" >/dev/null 2>&1; then
	bad "vrcpt-milter logs under a postfix/ ident"
else
	ok
fi

finish
