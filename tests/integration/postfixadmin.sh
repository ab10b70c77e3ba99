#!/bin/bash
# tests/integration/postfixadmin.sh - the PostfixAdmin schema and the
# .cf queries PostfixAdmin documents, native Postfix versus vrcptd.
#
# Loads policy/postfixadmin.sql into a throwaway PostgreSQL, points a
# native Postfix (pgsql: maps) and a policy Postfix (check_policy_service
# -> vrcptd, smtpd_reject_unlisted_recipient = no) at the same six
# policy/postfixadmin-*.cf files, sends the same RCPTs to both and
# requires byte-identical replies, plus the expected outcome for each
# case (so that both being wrong the same way fails too). Without root
# or Postfix it checks vrcptd's policy answers alone.
# Prints "postfixadmin: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
VRCPTD=${VRCPTD:-$BUILD/vrcptd}

# shellcheck source=../lib/pgtmp.sh
. "$ROOT/tests/lib/pgtmp.sh"
# shellcheck source=../lib/postfix.sh
. "$ROOT/tests/lib/postfix.sh"

pass=0 fail=0
bad() { fail=$((fail + 1)); printf 'postfixadmin: FAIL: %s\n' "$*"; }
finish() { echo "postfixadmin: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }
[ -x "$VRCPTD" ] || { bad "$VRCPTD not built"; finish; }

WORK=$(mktemp -d /tmp/vrcpt-pfa.XXXXXX) || exit 1
chmod 755 "$WORK"
VPID=
PFDIRS=()
cleanup() {
	local d
	for d in "${PFDIRS[@]}"; do pf_stop "$d" >/dev/null 2>&1; done
	if [ -n "$VPID" ]; then kill "$VPID" 2>/dev/null; wait "$VPID" 2>/dev/null; fi
	pgtmp_stop >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
PGTMP_NO_TRAP=1 pgtmp_start "" >/dev/null || { bad "PostgreSQL did not start"; finish; }
pgtmp_psql -q -f "$ROOT/policy/postfixadmin.sql" >/dev/null ||
    { bad "loading policy/postfixadmin.sql"; finish; }

mkdir -p "$WORK/maps"
for f in "$ROOT"/policy/postfixadmin-*.cf "$ROOT"/policy/pgsql-*.cf; do
	pf_write_cf "$f" "$WORK/maps/$(basename "$f")" || { bad "pf_write_cf $f"; finish; }
done
M=$WORK/maps
DOMAINS="pgsql:$M/postfixadmin-virtual-domains-maps.cf"
ALIASES="pgsql:$M/postfixadmin-virtual-alias-maps.cf, pgsql:$M/postfixadmin-virtual-alias-domain-maps.cf, pgsql:$M/postfixadmin-virtual-alias-domain-catchall-maps.cf"
MAILBOXES="pgsql:$M/postfixadmin-virtual-mailbox-maps.cf, pgsql:$M/postfixadmin-virtual-alias-domain-mailbox-maps.cf"

cat > "$WORK/vrcptd.cf" <<EOC
listen = unix:$WORK/policy.sock
virtual_mailbox_domains = $DOMAINS
virtual_mailbox_maps = $MAILBOXES
virtual_alias_maps = $ALIASES
recipient_delimiter = +
maillog_file = $WORK/vrcptd.log
EOC
"$VRCPTD" -c "$WORK/vrcptd.cf" & VPID=$!
for _ in $(seq 100); do [ -S "$WORK/policy.sock" ] && break; sleep 0.1; done

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
policy_ask() {
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => shift) or die "connect: $!";
		print $s "request=smtpd_access_policy\nprotocol_state=RCPT\n" .
		    "protocol_name=ESMTP\nclient_address=192.0.2.1\n" .
		    "client_name=mx.example.net\nhelo_name=mx.example.net\n" .
		    "sender=s\@example.net\nrecipient=" . shift() . "\n\n";
		local $/ = "\n\n"; my $r = <$s>; $r =~ s/\n+$//; print $r;' \
	    "$WORK/policy.sock" "$1"
}
while IFS='|' read -r rcpt class; do
	got=$(policy_ask "$rcpt")
	case $class in
	ok)	want="action=DUNNO" ;;
	unknown) want="action=550 5.1.1 User unknown in virtual mailbox table" ;;
	relay)	want="action=reject_unlisted_recipient" ;;
	esac
	if [ "$got" = "$want" ]; then pass=$((pass + 1)); else bad "policy $rcpt: got \"$got\", want \"$want\""; fi
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
	pf_start "$d" || { bad "pf_start $flavour"; finish; }
	PFDIRS+=("$d")
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
	if [ "$n" = "$want" ]; then pass=$((pass + 1)); else bad "native $rcpt: got \"$n\", want \"$want\""; fi
	if [ "$p" = "$n" ]; then pass=$((pass + 1)); else bad "$rcpt: policy \"$p\" != native \"$n\""; fi
done <<< "$CASES"
if diff <(pf_rejects "$WORK/pf-native") <(pf_rejects "$WORK/pf-policy") > "$WORK/rej.diff"; then
	pass=$((pass + 1))
else
	bad "reject log lines differ: $(head -5 "$WORK/rej.diff")"
fi
finish
