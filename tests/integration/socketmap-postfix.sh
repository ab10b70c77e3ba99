#!/bin/bash
# tests/integration/socketmap-postfix.sh - Postfix with its maps served by
# vrcptd's socketmap against Postfix with its own pgsql: maps, same
# tables, same mail: every RCPT reply and, with each accepted message
# delivered (virtual(8) into maildirs; relay and bounces deferred), the
# final recipients after virtual alias expansion (to=, orig_to=, relay=,
# dsn=, status= of every delivery attempt) and the mailboxes written,
# identical. Cases: mailboxes with and without extensions, unknown
# users of each class, aliases to one and to many targets (400), an
# alias chain, catch-alls, @domain -> @otherdomain, user@domain ->
# @otherdomain, an alias domain, a relay domain and its recipients (in
# a subdomain too: relay_domains matches parent domains), mixed case,
# quotes, an empty alias value, a domain not hosted; then vrcptd
# stopped.
# Prints "socketmap-postfix: N passed, M failed".
set -u
T0=$SECONDS
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"
# shellcheck source=../lib/socketmap.sh
. "$ROOT/tests/lib/socketmap.sh"
SETTLE_TIMEOUT=40	# seconds for both queues to deliver what they can

harness_init socketmap-postfix
[ -x "$VRCPTD" ] || { bad "$VRCPTD not built"; finish; }
pf_available || skip "Postfix (postfix, postfix-pgsql) not installed, or not root"
pg_start policy/ispmail.sql policy/ispmail-sample.sql \
    policy/triggers-ispmail.sql || finish
maps_write "$WORK/maps" || finish
smap_rows || finish
smap_maps "$WORK/maps" || finish

SOCK=$WORK/smap.sock
cat >"$WORK/vrcptd.cf" <<EOC
listen = unix:$WORK/policy.sock
socketmap_listen = unix:$SOCK
listen_mode = 0666
control_listen =
$(smap_maps_cf "$WORK/maps")
maillog_file = $WORK/vrcptd.log
EOC
vrcptd_start "$WORK/vrcptd.cf" "$SOCK" || finish

NOBODY=$(id -u nobody)
NOGROUP=$(id -g nobody)
# mk NAME - an instance that delivers: virtual(8) into DIR/mail, the
# rest deferred
mk() {
	local d=$WORK/$1 port
	port=$(pf_free_port)
	pf_new "$d" native "$port" "$WORK/maps" || return 1
	mkdir -p "$d/mail" && chown "$NOBODY:$NOGROUP" "$d/mail"
	cat >>"$d/etc/master.cf" <<EOM
virtual   unix  -     n     n     -     -     virtual
error     unix  -     -     n     -     -     error
retry     unix  -     -     n     -     -     error
discard   unix  -     -     n     -     -     discard
EOM
	pf_set "$d" "defer_transports = smtp relay local lmtp" \
	    "virtual_mailbox_base = $d/mail" \
	    "virtual_uid_maps = static:$NOBODY" \
	    "virtual_gid_maps = static:$NOGROUP" \
	    "virtual_mailbox_maps = pgsql:$WORK/maps/mailbox-path.cf" \
	    "relay_domains = pgsql:$WORK/maps/relay-domains.cf" \
	    "relay_recipient_maps = pgsql:$WORK/maps/relay-users.cf" \
	    "message_size_limit = 1000000" \
	    "smtpd_relay_restrictions = reject_unauth_destination" \
	    "smtpd_recipient_restrictions =" || return 1
}
mk native || finish
mk smap || finish
S="socketmap:unix:$SOCK"
pf_set "$WORK/smap" \
    "virtual_mailbox_domains = $S:virtual_mailbox_domains" \
    "virtual_mailbox_maps = $S:virtual_mailbox_maps" \
    "virtual_alias_maps = $S:virtual_alias_maps" \
    "virtual_alias_domains = $S:virtual_alias_domains" \
    "relay_domains = $S:relay_domains" \
    "relay_recipient_maps = $S:relay_recipient_maps" || finish
# virtual(8) opens virtual_mailbox_maps with DICT_FLAG_NO_UNAUTH: a
# socketmap "is not allowed for security-sensitive data" (the value is a
# path it writes to). Delivery keeps its own table; smtpd checks
# recipients with the socketmap (README: the hookup)
sed -i "s|^virtual   unix.*|& -o virtual_mailbox_maps=pgsql:$WORK/maps/mailbox-path.cf|" \
    "$WORK/smap/etc/master.cf"
harness_on_exit "pf_stop '$WORK/native'; pf_stop '$WORK/smap'"
pf_start "$WORK/native" || { bad "native Postfix did not start"; finish; }
pf_start "$WORK/smap" || { bad "socketmap Postfix did not start"; finish; }
# the main.cf of the socketmap instance names no pgsql: table at all
# (master.cf gives virtual(8) its own, above)
grep -c 'pgsql:' "$WORK/smap/etc/main.cf" | grep -qx 0 ||
    bad "the socketmap instance still has pgsql: tables"

CASES='john@example.com
john+foo@example.com
John+Foo@Example.COM
jane@example.com
nosuch@example.com
nosuch+x@example.com
postmaster@example.com
team@example.com
team+t@example.com
sales@example.com
sales+x@example.com
chain@example.com
chain+c@example.com
empty@example.com
redirect@example.com
redirect+q@example.com
big@example.com
anyone@example.org
anyone+x@example.org
bob@example.org
bob+b@example.org
john@example.net
john+z@example.net
Jane@Example.NET
nosuch@example.net
a1@aliasonly.test
a1+e@aliasonly.test
a2@aliasonly.test
r1@relay.test
r1+x@relay.test
r2@relay.test
x@sub.relay.test
r1@sub.relay.test
x@notours.test
Mixed.Case@example.com
o'"'"'brien@example.com
"john"@example.com
"a b"@example.com
john@example.com.'

# send PORT - each case in its own transaction: RCPT, and DATA when it
# was accepted (Message-ID <caseN@vrcpt.test>); one RCPT reply a line
send() {
	perl -e '
use strict;
use warnings;
use IO::Socket::INET;
my ($port, @cases) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port,
    Proto => "tcp", Timeout => 30) or die "send: connect: $!\n";
binmode $s;
sub reply {
	my @l;
	local $SIG{ALRM} = sub { die "send: timeout\n" };
	alarm 60;
	while (defined(my $l = <$s>)) {
		$l =~ s/\r?\n\z//;
		push @l, $l;
		last unless $l =~ /^\d{3}-/;
	}
	alarm 0;
	return join("\\n", @l);
}
sub cmd { print $s $_[0], "\r\n"; return reply(); }
reply();
cmd("EHLO client.vrcpt.test");
my $n = 0;
for my $c (@cases) {
	$n++;
	my $r = cmd("MAIL FROM:<sender\@sender.test>");
	die "send: MAIL: $r\n" unless $r =~ /^250/;
	$r = cmd("RCPT TO:<$c>");
	print "$r\n";
	if ($r =~ /^250/) {
		my $d = cmd("DATA");
		die "send: DATA: $d\n" unless $d =~ /^354/;
		print $s "Message-ID: <case$n\@vrcpt.test>\r\n",
		    "Subject: case $n\r\n\r\ncase $n\r\n.\r\n";
		$d = reply();
		die "send: end of DATA: $d\n" unless $d =~ /^250/;
	} else {
		cmd("RSET");
	}
}
cmd("QUIT");
' "$1" "${@:2}"
}
mapfile -t cases <<<"$CASES"
send "$(cat "$WORK/native/port")" "${cases[@]}" >"$WORK/native.rcpt" ||
    bad "sending to native Postfix"
send "$(cat "$WORK/smap/port")" "${cases[@]}" >"$WORK/smap.rcpt" ||
    bad "sending to socketmap Postfix"
n=0
while IFS= read -r a && IFS= read -r b <&3; do
	check "RCPT ${cases[$n]}" "$b" "$a"
	n=$((n + 1))
done <"$WORK/native.rcpt" 3<"$WORK/smap.rcpt"
check "RCPT replies" "$n" "${#cases[@]}"
accepted=$(grep -c '^250' "$WORK/native.rcpt")

# settled DIR - nothing in incoming or active, and the log still
settled() {
	local d=$1 f
	[ -z "$(find "$d/queue/incoming" "$d/queue/active" -type f 2>/dev/null)" ] ||
	    return 1
	f=$(wc -c <"$d/maillog")
	sleep 0.5
	[ "$f" = "$(wc -c <"$d/maillog")" ] &&
	    [ -z "$(find "$d/queue/incoming" "$d/queue/active" -type f 2>/dev/null)" ]
}
# deliveries DIR - per case: the delivery attempts of its message,
# sorted; "caseN: to=<..>, orig_to=<..>, relay=.., dsn=.., status=.. (..)"
deliveries() {
	perl -e '
		my (%case, %out);
		while (<>) {
			if (/ ([0-9A-F]+): message-id=<(case\d+)\@vrcpt\.test>/) {
				$case{$1} = $2;
			} elsif (/ ([0-9A-F]+): (to=<.*)$/ && $case{$1}) {
				my ($q, $t) = ($1, $2);
				$t =~ s/, (delay|delays|conn_use)=[^,]*//g;
				push @{$out{$case{$q}}}, $t;
			}
		}
		for my $c (sort keys %out) {
			print "$c: $_\n" for sort @{$out{$c}};
		}' "$1/maillog"
}
for i in native smap; do
	retry "$SETTLE_TIMEOUT" settled "$WORK/$i" ||
	    bad "$i Postfix did not settle within ${SETTLE_TIMEOUT}s"
done
deliveries "$WORK/native" >"$WORK/native.dlv"
deliveries "$WORK/smap" >"$WORK/smap.dlv"
ncases=$(cut -d: -f1 "$WORK/native.dlv" | sort -u | wc -l)
check "messages with deliveries (native)" "$ncases" "$accepted"
check_ge "delivery attempts (native)" "$(wc -l <"$WORK/native.dlv")" "$accepted"
if diff "$WORK/native.dlv" "$WORK/smap.dlv" >"$WORK/dlv.diff"; then
	ok
else
	bad "deliveries differ (native <, socketmap >): $(head -c 1500 "$WORK/dlv.diff")"
fi
# the mailboxes written: the same paths, the same number of messages
boxes() {
	(cd "$1/mail" && find . -path '*/new/*' -type f | sed 's|/new/.*||' |
	    sort | uniq -c)
}
check_ge "mailboxes written (native)" "$(boxes "$WORK/native" | wc -l)" 4
check "mailboxes" "$(boxes "$WORK/smap")" "$(boxes "$WORK/native")"
# extension propagation reached delivery: jane+x via sales+x
grep -q 'to=<jane+x@example.com>, orig_to=<sales+x@example.com>' \
    "$WORK/smap.dlv" && ok || bad "sales+x@example.com not delivered to jane+x@example.com"
grep -q 'to=<john+z@example.com>, orig_to=<john+z@example.net>' \
    "$WORK/smap.dlv" && ok || bad "john+z@example.net not delivered to john+z@example.com"
# Postfix asked vrcptd, and nothing came back as an error
check_ge "socketmap answers given" "$(grep -c . "$WORK/smap.rcpt")" 1
grep -E 'warning: .*(socketmap|sockmap)' "$WORK/smap/maillog" |
    head -3 | while IFS= read -r l; do bad "socketmap instance: $l"; done
# vrcptd away: a lookup error, Postfix defers (no fallback, no accept)
daemon_stop vrcptd
r=$(pf_smtp "$(cat "$WORK/smap/port")" john@example.com)
case $r in
"451 4.3.0 <john@example.com>: Temporary lookup failure") ok ;;
*)	bad "vrcptd stopped: got \"$r\", want 451 4.3.0 Temporary lookup failure" ;;
esac
note "$n RCPTs, $accepted accepted, $(wc -l <"$WORK/native.dlv") delivery attempts compared; took $((SECONDS - T0))s"
finish
