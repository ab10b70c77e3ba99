#!/bin/bash
# tests/integration/priv.sh - started as root, vrcptd gives root up
# after binding ("user ="), still answers, and refuses a user that does
# not exist. Needs no database (inline: maps). Skipped when not root.
# Prints "priv: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
VRCPTD=${VRCPTD:-$BUILD/vrcptd}
# shellcheck source=../lib/proc.sh
. "$ROOT/tests/lib/proc.sh"

pass=0 fail=0
check() { if [ "$2" = "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "priv: FAIL: $1: got \"$2\", want \"$3\""; fi; }
if [ "$(id -u)" != 0 ]; then
	echo "priv: skipped (not root)"
	echo "priv: 0 passed, 0 failed"
	exit 0
fi
WORK=$(mktemp -d /tmp/vrcpt-priv.XXXXXX) || exit 1
chmod 755 "$WORK"
VPID=
trap '[ -n "$VPID" ] && proc_stop "$VPID" "priv: vrcptd" 10; rm -rf "$WORK"' EXIT
cat > "$WORK/v.cf" <<EOC
listen = unix:$WORK/p.sock
listen_mode = 0600
virtual_mailbox_domains = example.com
virtual_mailbox_maps = inline:{john@example.com=ok}
user = nobody
maillog_file = $WORK/log
EOC
"$VRCPTD" -c "$WORK/v.cf" & VPID=$!
for _ in $(seq 100); do [ -S "$WORK/p.sock" ] && break; sleep 0.1; done
sleep 0.2
check "process user" "$(ps -o user= -p "$VPID" | tr -d ' ')" nobody
check "socket owner stays root, mode 0600" "$(stat -c '%U %a' "$WORK/p.sock")" "root 600"
got=$(printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=jim@example.com\n\n' |
    perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Peer => shift) or die "$!\n";
	print $s <STDIN>; $/ = "\n\n"; $_ = <$s>; s/\n+$//; print' "$WORK/p.sock")
check "answers after dropping root" "$got" "action=550 5.1.1 User unknown in virtual mailbox table"
proc_stop "$VPID" "priv: vrcptd" 10; VPID=
sed -i 's/^user = nobody/user = no-such-user-vrcpt/' "$WORK/v.cf"
out=$("$VRCPTD" -c "$WORK/v.cf" 2>&1 </dev/null; echo "rc=$?")
check "unknown user is fatal" "$(grep -c 'fatal: user "no-such-user-vrcpt" does not exist' "$WORK/log")/${out##*rc=}" "1/1"
echo "priv: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
