#!/bin/bash
# tests/integration/priv.sh - started as root, vrcptd gives root up
# after binding ("user ="), still answers, and refuses a user that does
# not exist. Needs no database (inline: maps). Skipped when not root.
# Prints "priv: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

harness_init priv
[ "$(id -u)" = 0 ] || skip "not root"
cat > "$WORK/v.cf" <<EOC
listen = unix:$WORK/p.sock
listen_mode = 0600
virtual_mailbox_domains = example.com
virtual_mailbox_maps = inline:{john@example.com=ok}
user = nobody
maillog_file = $WORK/log
EOC
vrcptd_start "$WORK/v.cf" "$WORK/p.sock" || finish
sleep 0.2
check "process user" "$(ps -o user= -p "$VRCPTD_PID" | tr -d ' ')" nobody
check "socket owner stays root, mode 0600" "$(stat -c '%U %a' "$WORK/p.sock")" "root 600"
check "answers after dropping root" \
    "$(pc "unix:$WORK/p.sock" ask recipient=jim@example.com)" \
    "550 5.1.1 User unknown in virtual mailbox table"
daemon_stop v
sed -i 's/^user = nobody/user = no-such-user-vrcpt/' "$WORK/v.cf"
out=$("$VRCPTD" -c "$WORK/v.cf" 2>&1 </dev/null; echo "rc=$?")
check "unknown user is fatal" "$(grep -c 'fatal: user "no-such-user-vrcpt" does not exist' "$WORK/log")/${out##*rc=}" "1/1"
finish
