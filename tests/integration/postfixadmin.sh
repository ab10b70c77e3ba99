#!/bin/bash
# tests/integration/postfixadmin.sh - the PostfixAdmin schema and the
# .cf queries PostfixAdmin documents, native Postfix versus vrcptd.
#
# Loads policy/postfixadmin.sql into a throwaway PostgreSQL, points a
# native Postfix (pgsql: maps) and a policy Postfix (check_policy_service
# -> vrcptd, smtpd_reject_unlisted_recipient = no) at the same six
# policy/postfixadmin-*.cf files, sends the same RCPTs to both and
# requires byte-identical replies, plus the expected outcome for each
# case (so that both being wrong the same way fails too); then vrcptctl
# audit enumerates the PostfixAdmin tables and finds vrcpt and the
# native instance's postmap in agreement. Without root or Postfix it
# checks vrcptd's policy answers alone.
# Prints "postfixadmin: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

harness_init postfixadmin
[ -x "$VRCPTD" ] || { bad "$VRCPTD not built"; finish; }
pg_start policy/postfixadmin.sql || finish
maps_write "$WORK/maps" 'postfixadmin-*.cf' 'pgsql-*.cf' || finish
M=$WORK/maps
DOMAINS="pgsql:$M/postfixadmin-virtual-domains-maps.cf"
ALIASES="pgsql:$M/postfixadmin-virtual-alias-maps.cf, pgsql:$M/postfixadmin-virtual-alias-domain-maps.cf, pgsql:$M/postfixadmin-virtual-alias-domain-catchall-maps.cf"
MAILBOXES="pgsql:$M/postfixadmin-virtual-mailbox-maps.cf, pgsql:$M/postfixadmin-virtual-alias-domain-mailbox-maps.cf"

{
	echo "listen = unix:$WORK/policy.sock"
	tables_cf "$DOMAINS" "$MAILBOXES" "$ALIASES"
	echo "maillog_file = $WORK/vrcptd.log"
} >"$WORK/vrcptd.cf"
vrcptd_start "$WORK/vrcptd.cf" "$WORK/policy.sock" || finish

# case|expected class: ok (250), unknown (550 ... virtual mailbox table),
# relay (554 ... Relay access denied)
CASES="john@example.com|ok
jane@example.com|ok
JOHN@Example.COM|ok
john+tag@example.com|ok
team@example.com|ok
postmaster@example.com|ok
old@example.com|unknown
gone@example.com|unknown
nobody@example.com|unknown
bob@example.org|ok
anything@example.org|ok
john@example.net|ok
JANE+x@EXAMPLE.NET|ok
team@example.net|ok
nobody@example.net|unknown
old@example.net|unknown
x@example.info|relay
x@backup.test|relay"

# policy answers of vrcptd alone: expected action per class
while IFS='|' read -r rcpt class; do
	got=$(pc "unix:$WORK/policy.sock" ask recipient="$rcpt")
	case $class in
	ok)	want="DUNNO" ;;
	unknown) want="550 5.1.1 User unknown in virtual mailbox table" ;;
	relay)	want="reject_unlisted_recipient" ;;
	esac
	check "policy $rcpt" "$got" "$want"
done <<< "$CASES"

if ! pf_available 2>/dev/null; then
	echo "postfixadmin: Postfix comparison skipped (needs root and postfix-pgsql)"
	finish
fi
for flavour in native policy; do
	d=$WORK/pf-$flavour
	port=$(pf_free_port)
	pf_new "$d" "$flavour" "$port" "$M" "unix:$WORK/policy.sock" || { bad "pf_new $flavour"; finish; }
	postconf -c "$d/etc" -e "virtual_mailbox_domains = $DOMAINS" \
	    "virtual_mailbox_maps = $MAILBOXES" "virtual_alias_maps = $ALIASES"
	harness_on_exit "pf_stop '$d' >/dev/null 2>&1"
	pf_start "$d" || { bad "pf_start $flavour"; finish; }
	mapfile -t rcpts < <(cut -d'|' -f1 <<< "$CASES")
	pf_smtp "$port" -s "${rcpts[@]}" > "$WORK/$flavour.replies"
done
i=0
while IFS='|' read -r rcpt class; do
	i=$((i + 1))
	n=$(sed -n "${i}p" "$WORK/native.replies")
	p=$(sed -n "${i}p" "$WORK/policy.replies")
	case $class in
	ok)	want="250 2.1.5 Ok" ;;
	unknown) want="550 5.1.1 <$rcpt>: Recipient address rejected: User unknown in virtual mailbox table" ;;
	relay)	want="554 5.7.1 <$rcpt>: Relay access denied" ;;
	esac
	check "native $rcpt" "$n" "$want"
	if [ "$p" = "$n" ]; then ok; else bad "$rcpt: policy \"$p\" != native \"$n\""; fi
done <<< "$CASES"
if diff <(pf_rejects "$WORK/pf-native") <(pf_rejects "$WORK/pf-policy") > "$WORK/rej.diff"; then
	ok
else
	bad "reject log lines differ: $(head -5 "$WORK/rej.diff")"
fi
# vrcptctl audit finds the addresses in the PostfixAdmin tables and
# asks the native instance's postmap over its main.cf
VRCPTCTL=${VRCPTCTL:-$BUILD/vrcptctl}
"$VRCPTCTL" -c "$WORK/vrcptd.cf" audit --no-daemon \
    --postfix-config "$WORK/pf-native/etc" >"$WORK/audit" 2>&1
check "audit: exit" "$?" 0
grep -q '^addresses: [0-9]* from the PostfixAdmin tables, [0-9]* domains$' \
    "$WORK/audit" || bad "audit: $(head -5 "$WORK/audit")"
ok
grep -q '^audit: .* 0 disagreements' "$WORK/audit" ||
    bad "audit: $(tail -5 "$WORK/audit")"
ok
finish
