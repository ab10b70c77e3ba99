#!/bin/bash
# tests/integration/priv.sh - started as root, vrcptd gives root up
# after binding ("user ="), still answers, and refuses a user that does
# not exist; keeps the user's supplementary groups, so that a SIGHUP
# reload after the drop re-reads a 0640 root:GROUP configuration (as
# Debian keeps Postfix's map files, root:postfix); reopens its log file
# on SIGUSR1 after a rotation, and never opens it through a symbolic
# link. Needs no database (inline: maps). Skipped when not root.
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

# --- a user whose supplementary group may read the configuration ----------

TUSER=vrcpt-priv-test
TGROUP=vrcpt-priv-grp
groupadd --system "$TGROUP" 2>/dev/null
useradd --system --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$TUSER" 2>/dev/null
usermod -a -G "$TGROUP" "$TUSER"
harness_on_exit "userdel $TUSER 2>/dev/null; groupdel $TGROUP 2>/dev/null"
D=$WORK/etc
mkdir -p "$D" "$WORK/logs"
chmod 755 "$D"
chown "$TUSER" "$WORK/logs"
write_g() {	# mailbox map contents: the file 0640 root:TGROUP, as Debian's
	cat > "$D/v.cf" <<EOC
listen = unix:$WORK/g.sock
virtual_mailbox_domains = example.com
virtual_mailbox_maps = inline:{$1}
user = $TUSER
maillog_file = $WORK/logs/log
EOC
	chown root:"$TGROUP" "$D/v.cf"
	chmod 0640 "$D/v.cf"
}
write_g "john@example.com=ok"
vrcptd_start "$D/v.cf" "$WORK/g.sock" || finish
GPID=$VRCPTD_PID
sleep 0.2
check "supplementary group kept" \
    "$(id -Gn "$TUSER" | tr ' ' '\n' | grep -cx "$TGROUP")/$(grep -c "^Groups:.* $(getent group "$TGROUP" | cut -d: -f3)\b" /proc/"$GPID"/status)" "1/1"
check "before the reload" "$(pc "unix:$WORK/g.sock" ask recipient=jim@example.com)" \
    "550 5.1.1 User unknown in virtual mailbox table"
write_g "john@example.com=ok, jim@example.com=ok"
kill -HUP "$GPID"
got=
for _ in $(seq 100); do
	got=$(pc "unix:$WORK/g.sock" ask recipient=jim@example.com)
	[ "$got" = DUNNO ] && break
	sleep 0.1
done
check "SIGHUP after the drop re-reads the 0640 root:group file" "$got" DUNNO
check "no reload error" "$(grep -c 'reload failed' "$WORK/logs/log")" 0

# --- log rotation ---------------------------------------------------------------

mv "$WORK/logs/log" "$WORK/logs/log.1"
# what logrotate's "create 0640 $TUSER adm" does
install -m 0640 -o "$TUSER" /dev/null "$WORK/logs/log"
kill -USR1 "$GPID"
for _ in $(seq 50); do
	grep -q 'SIGUSR1: log reopened' "$WORK/logs/log" 2>/dev/null && break
	sleep 0.1
done
check "SIGUSR1: lines go to the new file" \
    "$(grep -c 'SIGUSR1: log reopened' "$WORK/logs/log")" 1
pc "unix:$WORK/g.sock" ask recipient=nobody@example.com >/dev/null
sleep 0.2
check "the old file gets nothing more" \
    "$(grep -c 'nobody@example.com' "$WORK/logs/log.1")/$(grep -c 'nobody@example.com' "$WORK/logs/log")" "0/1"
daemon_stop g

# --- no symbolic link ---------------------------------------------------------

ln -s "$WORK/elsewhere" "$WORK/logs/link"
sed -i "s|^maillog_file = .*|maillog_file = $WORK/logs/link|" "$D/v.cf"
out=$("$VRCPTD" -c "$D/v.cf" 2>&1 </dev/null; echo "rc=$?")
check "a log file that is a symbolic link is refused" \
    "$(grep -c 'cannot open log' <<< "$out")/${out##*rc=}/$([ -e "$WORK/elsewhere" ] && echo created || echo none)" \
    "1/1/none"
finish
