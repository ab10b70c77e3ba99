# cache-client.pl - a Postfix policy client for tests/integration/cache.sh.
#
#   perl cache-client.pl ask EP RCPT...     one connection, one request
#                                           per RCPT in turn; prints one
#                                           action per line
#   perl cache-client.pl file EP FILE       the same for the recipients
#                                           of FILE (one per line), in
#                                           pipelined windows of 32
#   perl cache-client.pl compare EP FILE    FILE has "rcpt<TAB>action"
#                                           lines (the answers without a
#                                           cache); prints "same N defer
#                                           N wrong N" and one line per
#                                           wrong answer. A 4xx where the
#                                           reference had something else
#                                           is "defer" (lookup failure),
#                                           never "same".
#   perl cache-client.pl concurrent EP N RCPT   N connections at once, one
#                                           request each; prints actions
#   perl cache-client.pl gen SEED N PCT FILE_VALID FILE_UNKNOWN
#                                           N recipients, PCT% drawn from
#                                           FILE_VALID, the rest from
#                                           FILE_UNKNOWN (deterministic)
#   perl cache-client.pl random SEED N DOMAIN   N random local parts
#
# EP is unix:/path. Every read has a timeout; the loops are bounded by
# their input.
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;

my $TIMEOUT = 20;	# seconds for one reply
my $WINDOW = 32;	# requests in the air on one connection
$SIG{PIPE} = 'IGNORE';

sub connect_ep {
	my ($ep) = @_;
	$ep =~ /^unix:(.*)$/ or die "cache-client: bad endpoint $ep\n";
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $1)
	    or die "cache-client: connect $ep: $!\n";
	binmode $s;
	return $s;
}

sub request {
	my ($rcpt) = @_;
	return "request=smtpd_access_policy\nprotocol_state=RCPT\n" .
	    "protocol_name=ESMTP\nclient_address=203.0.113.9\n" .
	    "client_name=mail.example.net\nhelo_name=mail.example.net\n" .
	    "sender=a\@example.net\nrecipient=$rcpt\n" .
	    "instance=1a2b.6b06c2a0.3c4d5.0\n\n";
}

sub read_reply {
	my ($s, $buf) = @_;
	my $sel = IO::Select->new($s);
	while ($$buf !~ /\n\n/) {
		return "(timeout)" unless $sel->can_read($TIMEOUT);
		my $n = sysread($s, $$buf, 65536, length $$buf);
		return "(closed)" if !$n;
	}
	$$buf =~ s/\A(.*?\n)\n//s;
	my $r = $1;
	return $r =~ /^action=(.*)$/m ? $1 : "(no action)";
}

# ask_all EP RCPTS: the actions, in order, pipelined in windows
sub ask_all {
	my ($ep, @rcpts) = @_;
	my $s = connect_ep($ep);
	my ($buf, @out) = ('');
	for (my $i = 0; $i < @rcpts; $i += $WINDOW) {
		my $j = $i + $WINDOW - 1;
		$j = $#rcpts if $j > $#rcpts;
		syswrite($s, join('', map { request($_) } @rcpts[$i .. $j]));
		push @out, read_reply($s, \$buf) for $i .. $j;
	}
	close $s;
	return @out;
}

sub lines {
	my ($f) = @_;
	open(my $fh, '<:raw', $f) or die "cache-client: $f: $!\n";
	chomp(my @l = <$fh>);
	return grep { $_ ne '' } @l;
}

my ($cmd, @a) = @ARGV;
die "usage: cache-client.pl ask|file|compare|concurrent|gen|random ...\n"
    unless defined $cmd;
if ($cmd eq 'ask') {
	my $ep = shift @a;
	print "$_\n" for ask_all($ep, @a);
} elsif ($cmd eq 'file') {
	my ($ep, $f) = @a;
	print "$_\n" for ask_all($ep, lines($f));
} elsif ($cmd eq 'compare') {
	my ($ep, $f) = @a;
	my (@r, @want);
	for (lines($f)) {
		my ($rc, $w) = split /\t/, $_, 2;
		push @r, $rc;
		push @want, $w;
	}
	my @got = ask_all($ep, @r);
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
	my ($ep, $n, $rcpt) = @a;
	my @c = map { connect_ep($ep) } 1 .. $n;
	syswrite($_, request($rcpt)) for @c;
	for my $s (@c) {
		my $buf = '';
		print read_reply($s, \$buf), "\n";
	}
} elsif ($cmd eq 'gen') {
	my ($seed, $n, $pct, $fv, $fu) = @a;
	my @v = lines($fv);
	my @u = lines($fu);
	srand($seed);
	for (1 .. $n) {
		my $l = rand(100) < $pct ? \@v : \@u;
		print $l->[int(rand(@$l))], "\n";
	}
} elsif ($cmd eq 'random') {
	my ($seed, $n, $dom) = @a;
	srand($seed);
	my @ch = ('a' .. 'z', '0' .. '9');
	for (1 .. $n) {
		my $len = 5 + int(rand(8));
		print join('', map { $ch[int(rand(@ch))] } 1 .. $len),
		    "\@$dom\n";
	}
} else {
	die "cache-client: unknown command $cmd\n";
}
