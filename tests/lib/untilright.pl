#!/usr/bin/perl
# untilright.pl - how long until every vrcptd answers a question right:
# for tests/integration/fleet.sh.
#
#   untilright.pl TIMEOUT KIND QUESTION WANT SOCKET...
#
# KIND "policy": QUESTION is a recipient, asked as a Postfix RCPT policy
# request, WANT the action; "smap": QUESTION is "name key" for the
# socketmap, WANT the reply's payload. Connects to every unix SOCKET,
# prints "ready", waits for a line on stdin (the change was committed),
# then asks each SOCKET again and again until it answers WANT. Prints
# the milliseconds from that line to the last right answer, or
# "timeout SOCKET GOT" after TIMEOUT seconds.
use strict;
use warnings;
use IO::Socket::UNIX;
use Time::HiRes qw(time);

$| = 1;
my ($timeout, $kind, $q, $want, @socks) = @ARGV;
my @c = map {
	IO::Socket::UNIX->new(Peer => $_, Type => SOCK_STREAM)
	    or die "untilright: connect $_: $!\n"
} @socks;

sub ask {
	my ($s) = @_;
	if ($kind eq 'policy') {
		print $s "request=smtpd_access_policy\nprotocol_state=RCPT\n" .
		    "protocol_name=ESMTP\nclient_address=203.0.113.9\n" .
		    "sender=a\@example.net\nrecipient=$q\n\n";
		my ($l, $action) = ('', '');
		while (defined($l = <$s>)) {
			last if $l eq "\n";
			$action = $1 if $l =~ /^action=(.*)\n/;
		}
		return $action;
	}
	print $s length($q) . ":$q,";
	my ($len, $ch) = ('', '');
	while (sysread($s, $ch, 1) && $ch ne ':') { $len .= $ch; }
	my $data = '';
	while (length($data) < $len + 1) {
		sysread($s, my $b, $len + 1 - length($data)) or last;
		$data .= $b;
	}
	return substr($data, 0, $len);
}

print "ready\n";
my $go = <STDIN>;
my $t0 = time;
for my $i (0 .. $#c) {
	my $got;
	while (($got = ask($c[$i])) ne $want) {
		if (time - $t0 > $timeout) {
			print "timeout $socks[$i] $got\n";
			exit 1;
		}
	}
}
printf "%d\n", (time - $t0) * 1000;
