#!/usr/bin/perl
# tests/lib/sockproxy.pl - a unix-socket relay: a second way to reach a
# server, that a test can kill (every relayed connection drops with it)
# or stop (SIGSTOP: connections hang). One process, no fork.
#
#   perl sockproxy.pl LISTEN_PATH TARGET_PATH
#
# Accepts on LISTEN_PATH (removed first if it is a stale socket) and
# relays each connection to the unix socket TARGET_PATH, both ways, until
# either side closes. Prints "listening" on stdout once it accepts.
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;
use Socket qw(SOCK_STREAM SHUT_WR);

my ($listen, $target) = @ARGV;
die "usage: sockproxy.pl LISTEN_PATH TARGET_PATH\n" unless defined $target;
$SIG{PIPE} = 'IGNORE';
unlink $listen if -S $listen;
my $l = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $listen,
    Listen => 128) or die "sockproxy: $listen: $!\n";
chmod 0777, $listen;
$| = 1;
print "listening\n";

my $sel = IO::Select->new($l);
my %peer;	# fileno -> the other socket
my %sock;	# fileno -> socket

sub drop {
	my ($s) = @_;
	my $o = $peer{fileno $s};
	for my $x ($s, defined $o ? $o : ()) {
		next unless defined fileno $x;
		$sel->remove($x);
		delete $peer{fileno $x};
		delete $sock{fileno $x};
		close $x;
	}
}

while (1) {
	for my $s ($sel->can_read) {
		if ($s == $l) {
			my $c = $l->accept or next;
			my $u = IO::Socket::UNIX->new(Type => SOCK_STREAM,
			    Peer => $target);
			unless ($u) {
				close $c;
				next;
			}
			$peer{fileno $c} = $u;
			$peer{fileno $u} = $c;
			$sock{fileno $c} = $c;
			$sock{fileno $u} = $u;
			$sel->add($c, $u);
			next;
		}
		next unless defined fileno $s && exists $peer{fileno $s};
		my $buf;
		my $n = sysread($s, $buf, 65536);
		if (!$n) {
			drop($s);
			next;
		}
		my $o = $peer{fileno $s};
		my $off = 0;
		while ($off < $n) {
			my $w = syswrite($o, $buf, $n - $off, $off);
			unless (defined $w) {
				drop($s);
				last;
			}
			$off += $w;
		}
	}
}
