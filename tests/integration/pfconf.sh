#!/bin/bash
# tests/integration/pfconf.sh - vrcptd takes the parameters Postfix has
# from Postfix's own main.cf (postfix_config_directory): a main.cf with
# $name, ${name}, $(name) references, continuation lines and a comment
# among them; a vrcptd.cf that lists no table answers from it; vrcptctl
# check names main.cf:LINE and "postfix default"; every value vrcptd took
# is what "postconf -c DIR -x -h NAME" prints; an override in vrcptd.cf
# wins, is flagged and logged; a main.cf edit alone plus SIGHUP applies,
# also after vrcptd dropped its privileges (as root: user = nobody); a
# main.cf that postconf refuses is a refused reload. Needs postconf, no
# database (texthash: tables). Prints "pfconf: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

harness_init pfconf
VRCPTCTL=${VRCPTCTL:-$BUILD/vrcptctl}
POSTCONF=/usr/sbin/postconf
[ -x "$POSTCONF" ] || { bad "no $POSTCONF (Postfix)"; finish; }
PF=$WORK/pf
mkdir -p "$PF/maps"
chmod 755 "$PF" "$PF/maps"
printf 'john@example.com ok\njane@example.net ok\n' >"$PF/maps/mailboxes"
printf 'info@example.com john@example.com\n' >"$PF/maps/aliases"
chmod 644 "$PF/maps/mailboxes" "$PF/maps/aliases"

# main.cf; its line numbers matter below: 5 virtual_mailbox_maps,
# 8 virtual_alias_maps, 9 recipient_delimiter. $1: a mailbox table more
write_main() {
	{
		echo '# main.cf of tests/integration/pfconf.sh'
		echo 'compatibility_level = 3.6'
		echo 'maps = $config_directory/maps'
		echo 'virtual_mailbox_domains = example.com, ${maps?example.net}'
		echo "virtual_mailbox_maps = texthash:\$maps/mailboxes $1"
		echo '  # a comment among continuation lines'
		echo '    texthash:$(maps)/mailboxes'
		echo 'virtual_alias_maps = texthash:${maps}/aliases'
		echo 'recipient_delimiter = +'
		echo 'unknown_virtual_mailbox_reject_code = 550'
	} >"$PF/main.cf"
	chmod 644 "$PF/main.cf"
}
write_main ""
PRIV=""
[ "$(id -u)" = 0 ] && PRIV="user = nobody"
# vrcptd.cf without a table; $1: a line more (line 6)
write_cf() {
	{
		echo "listen = unix:$WORK/p.sock"
		echo "control_listen ="
		echo "maillog_file = $WORK/log"
		echo "postfix_config_directory = $PF"
		echo "$PRIV"
		echo "$1"
	} >"$WORK/v.cf"
}
write_cf ""
ask() { pc "unix:$WORK/p.sock" ask recipient="$1"; }
ctl() { "$VRCPTCTL" -c "$WORK/v.cf" "$@"; }
# wait_for ADDR WANT: a reload is applied by each worker asynchronously
wait_for() {
	local got i
	for ((i = 0; i < 100; i++)); do
		got=$(ask "$1")
		[ "$got" = "$2" ] && break
		sleep 0.1
	done
	printf '%s' "$got"
}
# origin NAME: where vrcptctl check (in $out) says NAME's value is from
origin() {
	printf '%s\n' "$out" | awk -F'\t# ' -v n="$1" \
	    'index($1, n " =") == 1 { print $2 }'
}
UNK="550 5.1.1 User unknown in virtual mailbox table"

# --- vrcptctl check: values and origins -----------------------------------

out=$(ctl check -a 2>"$WORK/check.err")
check "vrcptctl check: exit status" "$?" 0
check "vrcptctl check: no message" "$(cat "$WORK/check.err")" ""
check "says main.cf was read" \
    "$(printf '%s\n' "$out" | grep -c "^$PF/main.cf: read (postconf)")" 1
check "virtual_mailbox_maps from main.cf:5" \
    "$(origin virtual_mailbox_maps)" "$PF/main.cf:5"
check "recipient_delimiter from main.cf:9" \
    "$(origin recipient_delimiter)" "$PF/main.cf:9"
check "virtual_alias_domains: Postfix's default" \
    "$(origin virtual_alias_domains)" "postfix default"
check "postfix_config_directory from vrcptd.cf:4" \
    "$(origin postfix_config_directory)" "$WORK/v.cf:4"
check "vrcpt's own parameters: vrcpt's defaults" \
    "$(origin other_domain_action)" "default"
check "without -a, Postfix's defaults are not listed" \
    "$(ctl check 2>/dev/null | grep -c '# postfix default')" 0

# exactness: every parameter taken from Postfix is what postconf says
n=0
while IFS=$'\t' read -r line o; do
	case "$o" in
	"# $PF/main.cf:"*|"# postfix default") ;;
	*) continue ;;
	esac
	name=${line%% = *}
	got=${line#* = }
	want=$("$POSTCONF" -c "$PF" -x -h "$name" 2>/dev/null)
	check "$name = postconf -x -h $name" "$got" "$want"
	n=$((n + 1))
done <<<"$out"
check_ge "parameters compared with postconf" "$n" 14
check "virtual_mailbox_maps: \$maps, \$(maps), continuation joined" \
    "$("$POSTCONF" -c "$PF" -x -h virtual_mailbox_maps 2>/dev/null)" \
    "texthash:$PF/maps/mailboxes texthash:$PF/maps/mailboxes"

# --- vrcptd answers from main.cf --------------------------------------------

vrcptd_start "$WORK/v.cf" "$WORK/p.sock" || finish
VPID=$VRCPTD_PID
check "mailbox" "$(ask john@example.com)" DUNNO
check "mailbox, extension (main.cf's delimiter)" \
    "$(ask john+x@example.com)" DUNNO
check "alias (main.cf's virtual_alias_maps)" "$(ask info@example.com)" DUNNO
check "second domain (\${maps?...})" "$(ask jane@example.net)" DUNNO
check "unknown user" "$(ask nosuch@example.com)" "$UNK"
if [ -n "$PRIV" ]; then
	check "privileges dropped" \
	    "$(ps -o user= -p "$VPID" | tr -d ' ')" nobody
fi

# --- an override in vrcptd.cf wins and is flagged -------------------------

write_cf "recipient_delimiter = -"
out=$(ctl check 2>"$WORK/check.err")
check "override: check exit status" "$?" 0
check "override: origin" "$(origin recipient_delimiter)" \
    "$WORK/v.cf:6, overrides $PF/main.cf:9 (differs)"
check "override: warning" "$(cat "$WORK/check.err")" \
    "vrcptctl: $WORK/v.cf:6: warning: recipient_delimiter differs from $PF/main.cf:9: vrcpt answers as if Postfix had this value, and Postfix does not"
kill -HUP "$VPID"
check "override applied on SIGHUP" "$(wait_for john-x@example.com DUNNO)" \
    DUNNO
check "override: main.cf's delimiter no longer" \
    "$(ask john+x@example.com)" "$UNK"
check "override: the warning is logged" \
    "$(grep -c "warning: recipient_delimiter differs from $PF/main.cf:9" \
    "$WORK/log")" 1
write_cf "recipient_delimiter = +"
out=$(ctl check 2>"$WORK/check.err")
check "the same value: not flagged" \
    "$(origin recipient_delimiter)/$(cat "$WORK/check.err")" \
    "$WORK/v.cf:6, overrides $PF/main.cf:9/"

# --- a main.cf edit alone, then SIGHUP ------------------------------------

write_cf ""
kill -HUP "$VPID"
check "back to main.cf's delimiter" \
    "$(wait_for john+x@example.com DUNNO)" DUNNO
printf 'new@example.com ok\n' >"$PF/maps/more"
chmod 644 "$PF/maps/more"
check "before the main.cf edit: unknown" "$(ask new@example.com)" "$UNK"
write_main "texthash:\$maps/more"
kill -HUP "$VPID"
check "main.cf edit + SIGHUP applies" "$(wait_for new@example.com DUNNO)" \
    DUNNO
check "three reloads, postconf run by vrcptd as ${PRIV:-itself}" \
    "$(grep -c 'reload: new configuration in use' "$WORK/log")" 3

# --- compatibility_level < 2: relay_domains = $mydestination --------------
# Postfix's default relay_domains is then its local domains, which stay
# local (mydestination first): handed back to Postfix's own check, not
# the relay recipient check

sed -i -e 's/^compatibility_level = .*/compatibility_level = 0/' "$PF/main.cf"
echo 'mydestination = old.example, localhost' >>"$PF/main.cf"
out=$(ctl check -a 2>"$WORK/check.err")
check "compatibility_level 0: relay_domains is Postfix's \$mydestination" \
    "$(printf '%s\n' "$out" | grep -c "^relay_domains = old.example, localhost"$'\t'"# postfix default")" 1
check "mydestination from main.cf" \
    "$(origin mydestination)" "$PF/main.cf:11"
kill -HUP "$VPID"
check "a local domain is left to Postfix's own check" \
    "$(wait_for nosuch@old.example reject_unlisted_recipient)" \
    reject_unlisted_recipient
check "the hosted domains as before" \
    "$(ask new@example.com)/$(ask nosuch@example.com)" "DUNNO/$UNK"

# --- main.cf that postconf refuses: the reload is refused -----------------

printf 'a = $b\nb = $a\nvirtual_mailbox_maps = $a\n' >"$PF/main.cf"
kill -HUP "$VPID"
retry 5 grep -q 'reload failed' "$WORK/log"
check "a main.cf postconf refuses: reload refused" \
    "$(grep -c 'reload failed; still running with the previous' \
    "$WORK/log")" 1
check "the error names vrcptd.cf's line and main.cf" \
    "$(grep -c "$WORK/v.cf:4: postfix_config_directory: $PF/main.cf: .*postconf failed" \
    "$WORK/log")" 1
check "old configuration still answers" \
    "$(ask new@example.com)/$(ask nosuch@example.com)" "DUNNO/$UNK"

# --- set, without main.cf: an error ---------------------------------------

rm "$PF/main.cf"
"$VRCPTD" -t -c "$WORK/v.cf" >"$WORK/t.out" 2>&1
check "vrcptd -t without main.cf: exit status" "$?" 1
check "vrcptd -t without main.cf: the error" \
    "$(grep -c "v.cf:4: postfix_config_directory: cannot read $PF/main.cf: No such file or directory" \
    "$WORK/t.out")" 1
finish
