#!/usr/bin/perl
# tests/lib/policyc.pl - a Postfix policy client (and misbehaving ones)
# for the tests. Usage: perl policyc.pl ENDPOINT COMMAND ARGS...
# ENDPOINT: unix:/path or inet:host:port.
#   ask [name=value...]         one request with Postfix 3.7's attributes
#                               (defaults below); prints the action (or
#                               "(closed)", "(timeout)")
#   pipeline RCPT...            one connection, the requests pipelined
#                               (in windows of 32); one action per line,
#                               in order. STATE:RCPT (DATA:a@b, with a
#                               Postfix protocol_state in capitals) asks
#                               with that protocol_state
#   file FILE                   pipeline the recipients of FILE (one per
#                               line, taken as they are)
#   compare FILE                FILE has "rcpt<TAB>action" lines (the
#                               reference answers); pipeline the rcpts,
#                               print one "WRONG <rcpt>: got ..., want
#                               ..." line per wrong answer, then "same N
#                               defer N wrong N". A 4xx where the
#                               reference had something else is "defer"
#                               (a lookup failure), never "same"
#   concurrent N RCPT...        N connections at once, connection i asks
#                               RCPT[i % count]; prints "RCPT action" lines
#   raw PERL-STRING             send these bytes (a Perl string literal),
#                               print "(closed)" if the server closes
#                               without sending anything, else what came
#   reply PERL-STRING           send these bytes, print the first reply
#                               whatever its attributes, one line (its
#                               newlines as spaces), or "(closed)",
#                               "(timeout)"
#   hold-ask SECONDS RCPT       connect, wait SECONDS, then ask
#   hold N SECONDS              open N idle connections, print
#                               "connected N", keep them SECONDS, then
#                               print "closed K": how many the server
#                               closed meanwhile
#   trickle SECONDS             send the first line of a request, then
#                               one byte a second; print "(closed)" when
#                               the server hangs up within SECONDS, else
#                               "(open)"
#   idle SECONDS                connect and send nothing; "(closed)" or
#                               "(open)" as for trickle
#   noread N                    send N requests in one go and never read;
#                               print "(closed)" when the server hangs up
#                               within 30 s, else "(open)"
# An action is printed when the reply is exactly one "action=" line;
# anything else shows as "(not one action line: ...)". POLICYC_TIMEOUT:
# seconds to wait for one reply (15).
use strict;
use warnings;
use IO::Socket;
use IO::Socket::INET;
use IO::Socket::UNIX;
use IO::Select;
use Time::HiRes qw(time);

my $TIMEOUT = $ENV{POLICYC_TIMEOUT} || 15;	# seconds for one reply
my $WINDOW = 32;	# pipelined requests in the air on one connection
$SIG{PIPE} = 'IGNORE';

my ($ep, $cmd, @args) = @ARGV;

sub connect_ep {
	my $s;
	if ($ep =~ /^unix:(.*)$/) {
		$s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $1);
	} elsif ($ep =~ /^inet:(.*):(\d+)$/) {
		$s = IO::Socket::INET->new(PeerAddr => $1, PeerPort => $2,
		    Proto => 'tcp', Timeout => $TIMEOUT);
	} else {
		die "policyc: bad endpoint $ep\n";
	}
	die "policyc: connect $ep: $!\n" unless $s;
	binmode $s;
	return $s;
}

# Postfix 3.7's attributes, in its order (smtpd_check.c)
my @ORDER = qw(request protocol_state protocol_name client_address
    client_name client_port reverse_client_name server_address server_port
    helo_name sender recipient recipient_count queue_id instance size
    etrn_domain stress sasl_method sasl_username sasl_sender ccert_subject
    ccert_issuer ccert_fingerprint ccert_pubkey_fingerprint
    encryption_protocol encryption_cipher encryption_keysize
    policy_context);
my %DEFAULT = (request => 'smtpd_access_policy', protocol_state => 'RCPT',
    protocol_name => 'ESMTP', client_address => '203.0.113.9',
    client_name => 'mail.example.net', client_port => '40000',
    reverse_client_name => 'mail.example.net',
    server_address => '192.0.2.25', server_port => '25',
    helo_name => 'mail.example.net', sender => 'a@example.net',
    recipient => 'john@example.com', recipient_count => '0',
    queue_id => '', instance => '1a2b.6b06c2a0.3c4d5.0', size => '0',
    etrn_domain => '', stress => '', sasl_method => '',
    sasl_username => '', sasl_sender => '', ccert_subject => '',
    ccert_issuer => '', ccert_fingerprint => '',
    ccert_pubkey_fingerprint => '', encryption_protocol => '',
    encryption_cipher => '', encryption_keysize => '0',
    policy_context => '');

sub request {
	my %a = (%DEFAULT, @_);
	return join('', map { "$_=$a{$_}\n" } @ORDER) . "\n";
}

# read_reply SOCK BUFREF: one reply's action, or (closed)/(timeout)
sub read_reply {
	my ($s, $buf) = @_;
	my $sel = IO::Select->new($s);
	while ($$buf !~ /\n\n/) {
		return "(timeout)" unless $sel->can_read($TIMEOUT);
		my $n = sysread($s, $$buf, 65536, length $$buf);
		return "(closed)" if !$n && $$buf eq '';
		return "(truncated: $$buf)" if !$n;
	}
	$$buf =~ s/\A(.*?\n)\n//s;
	my $r = $1;
	return $r =~ /\Aaction=(.*)\n\z/ ? $1 : "(not one action line: $r)";
}

# ask_all ARG...: the actions for pipeline's arguments, in order
my $STATES = qr/CONNECT|EHLO|HELO|MAIL|RCPT|DATA|END-OF-MESSAGE|VRFY|ETRN/;
sub ask_all {
	my @req = map { /\A($STATES):(.*)\z/s ?
	    request(protocol_state => $1, recipient => $2) :
	    request(recipient => $_) } @_;
	return ask_requests(@req);
}

# ask_requests REQUEST...: one connection, WINDOW requests at a time
sub ask_requests {
	my @req = @_;
	my $s = connect_ep();
	my ($buf, @out) = ('');
	for (my $i = 0; $i < @req; $i += $WINDOW) {
		my $j = $i + $WINDOW - 1;
		$j = $#req if $j > $#req;
		syswrite($s, join('', @req[$i .. $j]));
		push @out, read_reply($s, \$buf) for $i .. $j;
	}
	close $s;
	return @out;
}

# lines FILE: its non-empty lines, as bytes
sub lines {
	my ($f) = @_;
	open(my $fh, '<:raw', $f) or die "policyc: $f: $!\n";
	chomp(my @l = <$fh>);
	return grep { $_ ne '' } @l;
}

if ($cmd eq 'ask') {
	my %a = map { split /=/, $_, 2 } @args;
	my $s = connect_ep();
	syswrite($s, request(%a));
	my $buf = '';
	print read_reply($s, \$buf), "\n";
} elsif ($cmd eq 'pipeline') {
	print "$_\n" for ask_all(@args);
} elsif ($cmd eq 'file') {
	print "$_\n" for ask_requests(map { request(recipient => $_) }
	    lines($args[0]));
} elsif ($cmd eq 'compare') {
	my (@r, @want);
	for (lines($args[0])) {
		my ($rc, $w) = split /\t/, $_, 2;
		push @r, $rc;
		push @want, $w;
	}
	my @got = ask_requests(map { request(recipient => $_) } @r);
	my ($same, $defer, $wrong) = (0, 0, 0);
	for my $i (0 .. $#r) {
		if ($got[$i] eq $want[$i]) {
			$same++;
		} elsif ($got[$i] =~ /^4\d\d /) {
			$defer++;
		} else {
			$wrong++;
			print "WRONG <$r[$i]>: got \"$got[$i]\", want " .
			    "\"$want[$i]\"\n";
		}
	}
	print "same $same defer $defer wrong $wrong\n";
} elsif ($cmd eq 'concurrent') {
	my ($n, @rcpts) = @args;
	my @c = map { connect_ep() } 1 .. $n;
	syswrite($c[$_], request(recipient => $rcpts[$_ % @rcpts]))
	    for 0 .. $#c;
	for my $i (0 .. $#c) {
		my $buf = '';
		print $rcpts[$i % @rcpts], " ", read_reply($c[$i], \$buf), "\n";
	}
} elsif ($cmd eq 'raw') {
	my $bytes = eval $args[0];
	die "policyc: $@" if $@;
	my $s = connect_ep();
	syswrite($s, $bytes);
	my $sel = IO::Select->new($s);
	my $got = '';
	while (1) {
		unless ($sel->can_read($TIMEOUT)) {
			print "(timeout)\n";
			exit 0;
		}
		my $n = sysread($s, $got, 65536, length $got);
		last if !$n;	# EOF, or reset: both are "closed"
	}
	print $got eq '' ? "(closed)\n" : "$got\n";
} elsif ($cmd eq 'reply') {
	my $bytes = eval $args[0];
	die "policyc: $@" if $@;
	my $s = connect_ep();
	syswrite($s, $bytes);
	my ($buf, $sel) = ('', IO::Select->new($s));
	while ($buf !~ /\n\n/) {
		unless ($sel->can_read($TIMEOUT)) {
			print "(timeout)\n";
			exit 0;
		}
		my $n = sysread($s, $buf, 65536, length $buf);
		last if !$n;
	}
	if ($buf eq '') {
		print "(closed)\n";
	} else {
		$buf =~ s/\n\n.*\z//s;
		$buf =~ tr/\n/ /;
		print "$buf\n";
	}
} elsif ($cmd eq 'hold-ask') {
	my ($secs, $rcpt) = @args;
	my $s = connect_ep();
	select(undef, undef, undef, $secs);
	syswrite($s, request(recipient => $rcpt));
	my $buf = '';
	print read_reply($s, \$buf), "\n";
} elsif ($cmd eq 'hold') {
	my ($n, $secs) = @args;
	my @c = map { connect_ep() } 1 .. $n;
	$| = 1;
	print "connected $n\n";
	my $sel = IO::Select->new(@c);
	my %closed;
	my $end = time + $secs;
	while ((my $left = $end - time) > 0) {
		for my $s ($sel->can_read($left)) {
			my $junk;
			next if sysread($s, $junk, 4096);
			$closed{fileno $s} = 1;
			$sel->remove($s);
		}
	}
	print "closed ", scalar(keys %closed), "\n";
} elsif ($cmd eq 'trickle' || $cmd eq 'idle') {
	my ($secs) = @args;
	my $s = connect_ep();
	my $sel = IO::Select->new($s);
	my @bytes = split //, "protocol_state=RCPT\nrecipient=slow\@example.com\n";
	syswrite($s, "request=smtpd_access_policy\n") if $cmd eq 'trickle';
	my $end = time + $secs;
	while (time < $end) {
		if ($sel->can_read(1)) {
			my $junk;
			unless (sysread($s, $junk, 4096)) {
				print "(closed)\n";
				exit 0;
			}
		}
		syswrite($s, shift @bytes) if $cmd eq 'trickle' && @bytes;
	}
	print "(open)\n";
} elsif ($cmd eq 'noread') {
	my ($n) = @args;
	my $s = connect_ep();
	my $req = request(recipient => 'nosuch@example.com');
	# a small receive buffer, so that the replies back up quickly
	setsockopt($s, SOL_SOCKET, SO_RCVBUF, 4096);
	my $sel = IO::Select->new($s);
	my $sent = 0;
	my $end = time + 30;
	my $wsel = IO::Select->new($s);
	while (time < $end) {
		if ($sent < $n && $wsel->can_write(0.1)) {
			my $w = syswrite($s, $req);
			if (!defined $w) {
				print "(closed)\n";
				exit 0;
			}
			$sent++;
			next;
		}
		# the only way to see the hang-up without reading replies
		my $r = getsockopt($s, SOL_SOCKET, SO_ERROR);
		if (!defined send($s, '', 0) ||
		    ($r && unpack('i', $r) != 0)) {
			print "(closed)\n";
			exit 0;
		}
		select(undef, undef, undef, 0.2);
	}
	print "(open)\n";
} else {
	die "policyc: unknown command $cmd\n";
}
