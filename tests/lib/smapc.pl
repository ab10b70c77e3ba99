#!/usr/bin/perl
# smapc.pl - a socketmap_table(5) client for tests.
#
#   smapc.pl SOCKET 'name key' ...     one request each, on one connection;
#                                      prints each reply's payload
#   smapc.pl --raw SOCKET < bytes      sends stdin as it is, half-closes,
#                                      prints what comes back (or "EOF")
# SOCKET is unix:/path or inet:host:port (or a bare /path). A request
# argument may hold \xNN escapes. Exit status 1 when the connection
# closed before a reply.
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Socket::INET;

my $raw = 0;
if (@ARGV && $ARGV[0] eq '--raw') { $raw = 1; shift @ARGV; }
my $where = shift @ARGV or die "usage: smapc.pl [--raw] SOCKET [request...]\n";
my $s;
if ($where =~ /^inet:(.*):(\d+)$/) {
	$s = IO::Socket::INET->new(PeerAddr => $1, PeerPort => $2, Proto => 'tcp');
} else {
	$where =~ s/^unix://;
	$s = IO::Socket::UNIX->new(Peer => $where, Type => SOCK_STREAM);
}
die "smapc.pl: connect $where: $!\n" unless $s;
binmode $s;

# read one netstring; undef at EOF
sub get_ns {
	my ($len, $c) = ('', '');
	while (1) {
		my $n = sysread($s, $c, 1);
		return undef unless $n;
		last if $c eq ':';
		$len .= $c;
		return "BAD-LENGTH:$len" if length($len) > 7 || $c !~ /\d/;
	}
	my $data = '';
	while (length($data) < $len + 1) {
		my $n = sysread($s, my $buf, $len + 1 - length($data));
		return undef unless $n;
		$data .= $buf;
	}
	return "BAD-NO-COMMA" unless substr($data, -1) eq ',';
	return substr($data, 0, $len);
}

if ($raw) {
	local $/;
	my $in = <STDIN>;
	$in = '' unless defined $in;
	print $s $in;
	$s->flush;
	shutdown($s, 1);
	while (defined(my $r = get_ns())) { print "$r\n"; }
	print "EOF\n";
	exit 0;
}
for my $q (@ARGV) {
	(my $b = $q) =~ s/\\x([0-9a-fA-F]{2})/chr(hex($1))/ge;
	print $s length($b) . ":" . $b . ",";
	$s->flush;
	my $r = get_ns();
	if (!defined $r) { print "EOF\n"; exit 1; }
	print "$r\n";
}
exit 0;
