#!/bin/bash
# tests/e2e/run.sh - end-to-end: the same RCPTs to a native Postfix and to
# a Postfix that asks vrcptd, compared byte for byte.
#
#   tests/e2e/run.sh            (BUILD=build-x to test another build dir;
#                                VRCPTD=/path overrides the binary;
#                                E2E_KEEP=1 keeps the work directory)
#   tests/e2e/run.sh --native   only the native Postfix: print its replies
#                                (to record expected values; no vrcptd)
#
# It starts a throwaway PostgreSQL (tests/lib/pgtmp.sh) with
# policy/ispmail.sql and policy/ispmail-sample.sql, vrcptd on a unix
# socket, and two Postfix 3.7 instances (tests/lib/postfix.sh) on
# 127.0.0.1: "native" (Postfix checks recipients itself) and "policy"
# (smtpd_reject_unlisted_recipient = no, check_policy_service vrcptd).
# For every case it checks:
#   - the native reply is the one recorded below (so that a broken setup,
#     say an empty database, cannot pass by being equally broken twice);
#   - the policy reply equals the native one, byte for byte (or, for the
#     few documented cases where vrcpt is deliberately right where Postfix
#     3.7 is wrong, the recorded policy reply);
#   - the "NOQUEUE: reject:" lines of the two maillogs are the same;
#   - vrcptd logged, for each reject it caused, the same line (plus its
#     extras after "helo=<...>").
# Prints one line per mismatch, then "e2e: N passed, M failed"; exit 0
# only if nothing failed. Needs root (postfix start).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BUILD=${BUILD:-build}
case $BUILD in
/*)	;;
*)	BUILD=$ROOT/$BUILD ;;
esac
VRCPTD=${VRCPTD:-$BUILD/vrcptd}
START_TIMEOUT=20	# seconds for vrcptd to listen
STOP_TIMEOUT=10		# seconds for vrcptd to exit on SIGTERM

native_only=0
[ "${1:-}" = --native ] && native_only=1

# shellcheck source=../lib/pgtmp.sh
. "$ROOT/tests/lib/pgtmp.sh"
# shellcheck source=../lib/postfix.sh
. "$ROOT/tests/lib/postfix.sh"

# The cases. Fields, separated by " | ":
#   SMTP options for pf_smtp (-u: MAIL FROM ... SMTPUTF8; "-" for none)
#   RCPT TO address (between < and >)
#   the reply native Postfix 3.7 gives (measured)
#   the reply through vrcptd: "=" for the same, or the reply (deliberate
#   difference, explained in the comment above the row)
# R550 is short for the unknown-user reply with the address inserted.
R250='250 2.1.5 Ok'
R550='550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table'
R554='554 5.7.1 <%s>: Relay access denied'
CASES=$(cat <<'EOF'
- | john@example.com | R250 | =
- | nosuch@example.com | R550 | =
- | jane@example.com | R250 | =
# alias to a mailbox; alias-only address (no mailbox); two alias rows
- | postmaster@example.com | R250 | =
- | sales@example.com | R250 | =
- | team@example.com | R250 | =
# alias whose destination is '': Postfix ignores the empty value
- | empty@example.com | R550 | =
# catch-all '@example.org'; the mailbox of that domain
- | anything@example.org | R250 | =
- | bob@example.org | R250 | =
- | postmaster@example.org | R250 | =
# alias domain: '@example.net' -> '@example.com' accepts every user
- | anything@example.net | R250 | =
- | john@example.net | R250 | =
# extensions (recipient_delimiter = +)
- | john+tag@example.com | R250 | =
- | john+tag+more@example.com | R250 | =
- | sales+tag@example.com | R250 | =
- | nosuch+tag@example.com | R550 | =
- | +tag@example.com | R550 | =
- | john+@example.com | R250 | =
# case: keys are lower-cased, the reply keeps the client's spelling
- | JOHN@EXAMPLE.COM | R250 | =
- | John@Example.Com | R250 | =
- | NoSuch@Example.COM | R550 | =
- | POSTMASTER@EXAMPLE.NET | R250 | =
# stored as 'Mixed.Case@example.com': never found by a lower-case key
- | Mixed.Case@example.com | R550 | =
- | mixed.case@example.com | R550 | =
# trailing dot
- | john@example.com. | R250 | =
- | nosuch@example.com. | R550 | =
# domains not hosted here: reject_unauth_destination, before the policy
- | x@not-hosted.test | R554 | =
- | john@sub.example.com | R554 | =
- | john@example.com.evil.test | R554 | =
# IP literals: our own address is a local-class destination (no
# local_recipient_maps here: accepted); any other is relayed (denied)
- | nosuch@[127.0.0.1] | R250 | =
- | john@[192.0.2.1] | R554 | =
# bare postmaster: accepted by smtpd before any restriction
- | postmaster | R250 | =
# SQL metacharacters in the local part
- | o'brien@example.com | R250 | =
- | o'nosuch@example.com | R550 | =
- | x'or'1'='1@example.com | R550 | =
- | x\'--@example.com | R550 | =
# the percent hack (allow_percent_hack) makes it a non-hosted address
- | 100%@example.com | R554 | =
# quoted local parts
- | "john"@example.com | R250 | =
- | "no such"@example.com | R550 | =
# UTF-8 (SMTPUTF8). Postfix 3.7 sends keys to PostgreSQL as LATIN1, so a
# UTF-8 row never matches natively; vrcpt uses UTF8 (as Postfix 3.8+
# does) and finds the mailbox. Upper-case UTF-8 is case-folded first.
-u | jürgen@example.com | R550 | R250
-u | JÜRGEN@example.com | R550 | R250
-u | nosüch@example.com | R550 | =
-u | john@example.com | R250 | =
-u | user@exämple.com | R554 | =
EOF
)

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); printf 'e2e: FAIL: %s\n' "$*"; }

# expand R250/R550/R554 for address $2
expand() {
	case $1 in
	R250)	printf '%s' "$R250" ;;
	R550)	# shellcheck disable=SC2059
		printf "$R550" "$(internal "$2")" ;;
	R554)	# shellcheck disable=SC2059
		printf "$R554" "$(internal "$2")" ;;
	*)	printf '%s' "$1" ;;
	esac
}

# internal ADDR - the address as smtpd shows it inside <...>: quotes
# around the local part removed, trailing dot kept
internal() {
	local a=$1
	case $a in
	\"*\"@*)	a=${a#\"}; a=${a/\"@/@} ;;
	esac
	a=$(printf '%s' "$a" | sed -E 's/\\(.)/\1/g')
	printf '%s' "$a"
}

# trim STRING - without leading and trailing white space
trim() {
	local s=$1
	s=${s#"${s%%[![:space:]]*}"}
	s=${s%"${s##*[![:space:]]}"}
	printf '%s' "$s"
}

skip() {
	printf 'e2e: skipped: %s\n' "$*"
	exit 0
}

# --- setup ---------------------------------------------------------------

pf_available 2>/dev/null || skip "$(pf_available 2>&1)"
if [ "$native_only" = 0 ] && [ ! -x "$VRCPTD" ]; then
	echo "e2e: $VRCPTD not built (make)" >&2
	echo "e2e: 0 passed, 1 failed"
	exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vrcpt-e2e.XXXXXX") || exit 1
chmod 755 "$WORK"
VRCPTD_PID=
PF_DIRS=()

cleanup() {
	local d i
	for d in "${PF_DIRS[@]}"; do
		pf_stop "$d"
	done
	if [ -n "$VRCPTD_PID" ] && kill -0 "$VRCPTD_PID" 2>/dev/null; then
		kill -TERM "$VRCPTD_PID"
		for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
			kill -0 "$VRCPTD_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$VRCPTD_PID" 2>/dev/null; then
			echo "e2e: vrcptd did not exit on SIGTERM" >&2
			kill -KILL "$VRCPTD_PID"
		fi
		wait "$VRCPTD_PID" 2>/dev/null
	fi
	VRCPTD_PID=
	PF_DIRS=()
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "e2e: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
# until PostgreSQL runs, only the directory; then everything, PostgreSQL
# last (pgtmp_start installs its own EXIT trap: replaced below)
trap 'rm -rf "$WORK"' EXIT

pgtmp_start "" || { echo "e2e: 0 passed, 1 failed"; exit 1; }
trap 'cleanup; pgtmp_stop' EXIT
if ! pgtmp_psql -f "$ROOT/policy/ispmail.sql" \
    -f "$ROOT/policy/ispmail-sample.sql" >"$WORK/load.log" 2>&1; then
	cat "$WORK/load.log" >&2
	echo "e2e: 0 passed, 1 failed"
	exit 1
fi

mkdir -p "$WORK/maps"
chmod 755 "$WORK/maps"
for f in pgsql-virtual-mailbox-domains.cf pgsql-virtual-mailbox-maps.cf \
    pgsql-virtual-alias-maps.cf pgsql-email2email.cf; do
	pf_write_cf "$ROOT/policy/$f" "$WORK/maps/$f" || exit 1
done

# --- vrcptd ----------------------------------------------------------------

SOCK=$WORK/policy.sock
start_vrcptd() {
	local i
	cat >"$WORK/vrcptd.cf" <<EOF
# written by tests/e2e/run.sh
listen = unix:$SOCK
virtual_mailbox_domains = pgsql:$WORK/maps/pgsql-virtual-mailbox-domains.cf
virtual_mailbox_maps = pgsql:$WORK/maps/pgsql-virtual-mailbox-maps.cf
virtual_alias_maps = pgsql:$WORK/maps/pgsql-virtual-alias-maps.cf,
    pgsql:$WORK/maps/pgsql-email2email.cf
recipient_delimiter = +
lookup_failure_action = defer
syslog_name = vrcptd
maillog_file = $WORK/vrcptd.log
EOF
	"$VRCPTD" -c "$WORK/vrcptd.cf" >"$WORK/vrcptd.out" 2>&1 &
	VRCPTD_PID=$!
	for ((i = 0; i < START_TIMEOUT * 10; i++)); do
		if ! kill -0 "$VRCPTD_PID" 2>/dev/null; then
			echo "e2e: vrcptd exited at start:" >&2
			cat "$WORK/vrcptd.out" "$WORK/vrcptd.log" >&2 2>/dev/null
			VRCPTD_PID=
			return 1
		fi
		if [ -S "$SOCK" ] && perl -MIO::Socket::UNIX -e '
			IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 1' "$SOCK"
		then
			return 0
		fi
		sleep 0.1
	done
	echo "e2e: vrcptd does not listen on $SOCK" >&2
	return 1
}

if [ "$native_only" = 0 ]; then
	start_vrcptd || { echo "e2e: 0 passed, 1 failed"; exit 1; }
fi

# --- Postfix ------------------------------------------------------------

NPORT=$(pf_free_port)
pf_new "$WORK/native" native "$NPORT" "$WORK/maps" || exit 1
PF_DIRS+=("$WORK/native")
pf_start "$WORK/native" || { echo "e2e: 0 passed, 1 failed"; exit 1; }
if [ "$native_only" = 0 ]; then
	PPORT=$(pf_free_port)
	while [ "$PPORT" = "$NPORT" ]; do PPORT=$(pf_free_port); done
	pf_new "$WORK/policy" policy "$PPORT" "$WORK/maps" "unix:$SOCK" ||
	    exit 1
	PF_DIRS+=("$WORK/policy")
	pf_start "$WORK/policy" || { echo "e2e: 0 passed, 1 failed"; exit 1; }
fi

# --- the cases ------------------------------------------------------------

# split the table into two sessions: plain and SMTPUTF8
declare -a OPTS RCPTS EXP_N EXP_P
while IFS= read -r line; do
	case $line in
	'#'*|'')	continue ;;
	esac
	IFS='|' read -r o r n p <<<"$line"
	o=$(trim "$o"); r=$(trim "$r"); n=$(trim "$n"); p=$(trim "$p")
	OPTS+=("$o"); RCPTS+=("$r")
	EXP_N+=("$(expand "$n" "$r")")
	if [ "$p" = "=" ]; then
		EXP_P+=("=")
	else
		EXP_P+=("$(expand "$p" "$r")")
	fi
done <<<"$CASES"

# run_session PORT OPT -> replies of the cases with that option, in order
run_session() {
	local port=$1 opt=$2 i list=()
	for i in "${!RCPTS[@]}"; do
		[ "${OPTS[$i]}" = "$opt" ] && list+=("${RCPTS[$i]}")
	done
	[ ${#list[@]} -gt 0 ] || return 0
	if [ "$opt" = - ]; then
		pf_smtp "$port" -s "${list[@]}"
	else
		pf_smtp "$port" "$opt" -s "${list[@]}"
	fi
}

# collect NAME PORT: REPLY_<NAME>[i] for every case
declare -a REPLY_native REPLY_policy
collect() {
	local name=$1 port=$2 opt i k out
	local -a got idx
	for opt in - -u; do
		idx=()
		for i in "${!RCPTS[@]}"; do
			[ "${OPTS[$i]}" = "$opt" ] && idx+=("$i")
		done
		mapfile -t got < <(run_session "$port" "$opt")
		for k in "${!idx[@]}"; do
			out=${got[$k]-(no reply)}
			case $name in
			native)	REPLY_native[idx[k]]=$out ;;
			policy)	REPLY_policy[idx[k]]=$out ;;
			esac
		done
	done
}

collect native "$NPORT"
if [ "$native_only" = 1 ]; then
	for i in "${!RCPTS[@]}"; do
		printf '%-4s %-32s %s\n' "${OPTS[$i]}" "${RCPTS[$i]}" \
		    "${REPLY_native[$i]}"
	done
	sleep 1	# postlogd writes asynchronously
	echo "--- native NOQUEUE lines"
	pf_rejects "$WORK/native"
	exit 0
fi
collect policy "$PPORT"

# The plain cases once more, all in one transaction as real clients send
# them: after the first accepted RCPT, smtpd has a queue file, sends its
# queue_id to the policy server and logs it instead of NOQUEUE.
plain=()
plain_rcpts=()
for i in "${!RCPTS[@]}"; do
	if [ "${OPTS[$i]}" = - ]; then
		plain+=("$i")
		plain_rcpts+=("${RCPTS[$i]}")
	fi
done
mapfile -t SN < <(pf_smtp "$NPORT" "${plain_rcpts[@]}")
mapfile -t SP < <(pf_smtp "$PPORT" "${plain_rcpts[@]}")

divergent=()
for i in "${!RCPTS[@]}"; do
	r=${RCPTS[$i]}
	nat=${REPLY_native[$i]}
	pol=${REPLY_policy[$i]}
	if [ "$nat" = "${EXP_N[$i]}" ]; then
		ok
	else
		bad "native <$r>: got \"$nat\", recorded \"${EXP_N[$i]}\""
	fi
	if [ "${EXP_P[$i]}" = "=" ]; then
		if [ "$pol" = "$nat" ]; then
			ok
		else
			bad "<$r>: native \"$nat\", via vrcptd \"$pol\""
		fi
	else
		divergent+=("$(internal "$r")")
		if [ "$pol" = "${EXP_P[$i]}" ]; then
			ok
		else
			bad "<$r>: via vrcptd \"$pol\", expected \"${EXP_P[$i]}\""
		fi
	fi
done

for k in "${!plain[@]}"; do
	i=${plain[k]}
	r=${RCPTS[$i]}
	if [ "${SN[k]-(no reply)}" = "${REPLY_native[$i]}" ]; then
		ok
	else
		bad "native <$r> in one transaction: \"${SN[k]-(no reply)}\"," \
		    "alone: \"${REPLY_native[$i]}\""
	fi
	want=${SN[k]-(no reply)}
	[ "${EXP_P[$i]}" = "=" ] || want=${EXP_P[$i]}
	if [ "${SP[k]-(no reply)}" = "$want" ]; then
		ok
	else
		bad "<$r> in one transaction: via vrcptd" \
		    "\"${SP[k]-(no reply)}\", want \"$want\""
	fi
done

# --- the logs --------------------------------------------------------------

# postlogd and vrcptd write asynchronously: wait until the reject counts
# stop changing (at most 5 s)
want_native=0
for l in "${REPLY_native[@]}" "${SN[@]}"; do
	case $l in [45]*) want_native=$((want_native + 1)) ;; esac
done
for ((i = 0; i < 50; i++)); do
	[ "$(pf_rejects "$WORK/native" | wc -l)" -ge "$want_native" ] && break
	sleep 0.1
done
sleep 0.3

# drop the lines of the deliberately divergent recipients
filter_div() {
	local a
	local -a args=()
	for a in "${divergent[@]}"; do
		args+=(-e "to=<$a>")
	done
	if [ ${#args[@]} -gt 0 ]; then
		grep -v -F "${args[@]}"
	else
		cat
	fi
}

# queue ids differ between the two instances
unqid() { sed -E 's/^[0-9A-F]+: reject/QUEUEID: reject/'; }
mapfile -t LN < <(pf_rejects "$WORK/native" | filter_div | unqid)
mapfile -t LP < <(pf_rejects "$WORK/policy" | filter_div | unqid)
mapfile -t LPRAW < <(pf_rejects "$WORK/policy" | filter_div)
if [ ${#LN[@]} -eq 0 ]; then
	bad "native maillog has no reject lines"
fi
# a diff, so that one missing line does not shift all the others
nonly=0
while IFS= read -r d; do
	case $d in
	"<"*)	nonly=$((nonly + 1))
		bad "log line only native: ${d#< }" ;;
	">"*)	bad "log line only via vrcptd: ${d#> }" ;;
	esac
done < <(diff <(printf '%s\n' "${LN[@]}") <(printf '%s\n' "${LP[@]}"))
for ((i = 0; i < ${#LN[@]} - nonly; i++)); do
	ok
done

# vrcptd's own line for every reject it made: Postfix's line, then extras
# (" name=value" fields), under its own ident; with the same queue id
for l in "${LPRAW[@]}"; do
	case $l in
	*"Recipient address rejected:"*) ;;
	*)	continue ;;	# relay denied: vrcptd was not asked
	esac
	if L=$l awk '
		BEGIN { l = ENVIRON["L"] }
		{ i = index($0, l); if (i == 0) next
		  rest = substr($0, i + length(l))
		  if ((rest == "" || rest ~ /^ [a-z_]+=/) &&
		      substr($0, 1, i - 1) ~ /vrcptd\[[0-9]+\]: $/) found = 1 }
		END { exit !found }' "$WORK/vrcptd.log" 2>/dev/null; then
		ok
	else
		bad "vrcptd log lacks: vrcptd[PID]: $l"
	fi
done

if [ "$fail" -gt 0 ]; then
	echo "e2e: work directory: $WORK (E2E_KEEP=1 keeps it)" >&2
fi
echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
