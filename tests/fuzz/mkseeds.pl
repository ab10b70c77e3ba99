#!/usr/bin/perl
# mkseeds.pl - write the seed inputs of the fuzz corpora (tests/fuzz/
# corpus/TARGET/seed-*) from what the project already has: the RCPT and
# MAIL arguments of tests/e2e/corpus.txt, the protocol exchanges of
# tests/golden/, the .cf files of policy/, deploy/vrcptd.cf and the
# configuration fixtures of tests/unit/data/config/. Seeds are the
# starting points; what the fuzzer adds is merged next to them
# (make fuzz-merge).
#
#   perl tests/fuzz/mkseeds.pl [TARGET...]	(from the repository root)
#
# The input formats are those of the targets' header comments: fields
# separated by NUL bytes, or the length-prefixed event stream of
# fuzz_milter_session.c.
use strict;
use warnings;

my %gen = (
	milter_addr => \&milter_addr,
	milter_session => \&milter_session,
	addr => \&addr,
	sqlmap => \&sqlmap,
	config => \&config,
	cachefmt => \&cachefmt,
	maps => \&maps,
	sentinelfmt => \&sentinelfmt,
	fence => \&fence,
	control => \&control,
	endpoint => \&endpoint,
);

# e2e_args - [mail from, rcpt to] of every case of tests/e2e/corpus.txt,
# decoded; "-" is the default sender
sub e2e_args {
	my @out;
	open(my $fh, '<', 'tests/e2e/corpus.txt') or die "corpus.txt: $!";
	while (my $l = <$fh>) {
		chomp $l;
		next if $l =~ /^#/ || $l !~ /\S/;
		my @f = split / \| /, $l;
		next if @f < 5;
		my ($from, $rcpt) = @f[1, 2];
		$from = '<sender@sender.test>' if $from eq '-';
		for ($from, $rcpt) {
			s/\$\{([^}*]+)\*(\d+)\}/$1 x $2/ge;
			s/\$\{SP\}/ /g;
			s/\$\{x([0-9A-Fa-f]{2})\}/chr(hex($1))/ge;
			# argv[0] only: ESMTP parameters are argv[1..]
			s/^(\s*<[^>]*>)\s.*/$1/;
		}
		push @out, [$from, $rcpt];
	}
	close $fh;
	return @out;
}

my @actions = (
	'DUNNO', 'OK', 'reject_unlisted_recipient',
	'550 5.1.1 User unknown in virtual mailbox table',
	'550 5.1.1 User unknown in virtual alias table',
	'451 4.3.0 Temporary lookup failure', '450 4.1.1 try later',
	'REJECT', 'REJECT 5.7.1 go away', 'DEFER', 'DEFER_IF_PERMIT 4.2.2 x',
	'550 5.1.1 100% sure', "550 5.1.1 a\tb\x01\xc3\xa9", 'HOLD', '',
	'550 5.1.8 sender detail', '554 Relay denied', 'garbage!',
);

my %written;

# seed TARGET NAME BYTES - write one seed file
sub seed {
	my ($t, $name, $bytes) = @_;
	my $dir = "tests/fuzz/corpus/$t";
	mkdir $dir unless -d $dir;
	$name =~ s/[^A-Za-z0-9._-]/_/g;
	open(my $fh, '>:raw', "$dir/seed-$name") or die "$dir/seed-$name: $!";
	print $fh $bytes;
	close $fh;
	$written{$t}++;
}

sub milter_addr {
	my @a = e2e_args();
	my $i = 0;
	for my $p (@a) {
		my $act = $actions[$i % @actions];
		my $reply = "action=$act\n\n";
		seed('milter_addr', sprintf('e2e-%03d', $i),
		    chr($i & 1) . "$p->[1]\0$p->[0]\0$act\0$reply");
		$i++;
	}
	for my $act (@actions) {
		seed('milter_addr', "action-$i", "\0<u\@example.com>\0<>\0$act\0" .
		    "x=y\r\naction=$act\r\n\r\n");
		$i++;
	}
}

# the session event stream (fuzz_milter_session.c)
sub ev_str {
	my ($s) = @_;
	return "\xff" unless defined $s;
	return "\xfe" . pack('v', length $s) . $s if length $s >= 254;
	return chr(length $s) . $s;
}
sub ev_reply {
	my ($mode, $r) = @_;
	return chr($mode) . pack('v', length $r) . $r;
}

sub milter_session {
	my @a = e2e_args();
	my $i = 0;
	while ($i < @a) {
		my $flags = $i % 4;
		my $s = chr($flags);
		# negotiate, connect (IPv4), macros, helo
		$s .= "\x00" . pack('V', 0x1ff) . pack('V', 0x3fffff);
		$s .= "\x01" . ev_str("client.example") . "\x04" .
		    pack('C4', 192, 0, 2, $i & 255);
		$s .= "\x07\x00" . ev_str('[192.0.2.1]');
		$s .= "\x07\x04" . ev_str('ESMTPSA');
		$s .= "\x02" . ev_str('helo.example');
		# a message with up to three recipients
		$s .= "\x03\x01" . ev_str($a[$i][0]);
		$s .= "\x07\x02" . ev_str('4Qx1y2z3');
		for my $k (0 .. 2) {
			last if $i >= @a;
			my $act = $actions[$i % @actions];
			$s .= "\x04\x01" . ev_str($a[$i][1]) .
			    ev_reply($k, "action=$act\n\n");
			$i++;
		}
		$s .= "\x05\x06";
		seed('milter_session', sprintf('e2e-%03d', $i), $s);
	}
	# no MAIL, NULL argv, IPv6, a vrcptd that hangs up or babbles
	seed('milter_session', 'odd', "\x01" . "\x01\xff\x06" . ("\x00" x 16) .
	    "\x04\x00" . ev_reply(2, '') .
	    "\x04\x01" . ev_str("<a\r\nb\@x>") . ev_reply(0, "action=OK\n\n") .
	    "\x04\x01" . ev_str('<u@x>') . ev_reply(0, "action=OK\n\nx") .
	    "\x04\x01" . ev_str('<u@x>') . ev_reply(1, "action=OK\n") .
	    "\x04\x01" . ev_str('<u@x>') . ev_reply(3, "a=b\nc\n\n") .
	    "\x06");
}

sub addr {
	my @a = e2e_args();
	my $i = 0;
	for my $p (@a) {
		my $r = $p->[1];
		$r =~ s/^\s*<(.*)>$/$1/;
		my $delim = ('+', '+-', '', '-', "\xc3\xa9")[$i % 5];
		seed('addr', sprintf('e2e-%03d', $i),
		    chr($i & 3) . "$delim\0double-bounce\0$r");
		$i++;
	}
}

# cf_files - the pgsql .cf files of the project
sub cf_files {
	return (glob('policy/*.cf'), glob('tests/unit/data/config/*.cf'));
}

sub slurp {
	my ($f) = @_;
	open(my $fh, '<:raw', $f) or die "$f: $!";
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s;
}

sub sqlmap {
	my @keys = ('john@example.com', 'a+b@example.com', '@example.com',
	    'example.com', 'x@a.b.c.d.e.f.g.h.i.j', "o'brien\@example.com");
	my $i = 0;
	for my $f (cf_files()) {
		my $k = $keys[$i % @keys];
		(my $n = $f) =~ s{.*/}{};
		seed('sqlmap', $n, "$k\0a\@b.example\0\0value\0$k\0" .
		    slurp($f));
		$i++;
	}
}

sub config {
	for my $f ('deploy/vrcptd.cf', glob('tests/unit/data/config/*')) {
		next unless -f $f;
		(my $n = $f) =~ s{/}{_}g;
		seed('config', $n, slurp($f));
	}
	# the .cf files fuzz_config.c writes next to its vrcptd.cf
	seed('config', 'maps', join("\n",
	    'virtual_mailbox_domains = example.com, pgsql:b.cf',
	    'virtual_mailbox_maps = pgsql:a.cf, proxy:pgsql:a.cf',
	    'virtual_alias_maps = pgsql:b.cf inline:{ a@example.com=b,' .
	    ' { c = d e } } static:{ x y }',
	    'relay_domains = ${relay?{relay.example}:{$mydomain}}',
	    'relay_recipient_maps = pgsql:c.cf',
	    'mydomain = Example.NET.',
	    'listen = unix:/run/vrcpt/p.sock, inet:[::1]:10023',
	    'milter_listen = inet:10024@127.0.0.1',
	    'cache = redis:unix:/run/redis.sock',
	    "recipient_delimiter = +-\n"));
	seed('config', 'overrides', "syslog_name = \$a\na = x\n\0a=y\0" .
	    "request_timeout=2s\0bad override\0listen=inet:10025\0" .
	    "cache=redis-sentinel:10.0.0.1:26379/m");
	seed('config', 'expand', join("\n",
	    'a = $b$b', 'b = ${c:x}$(d)$$', 'syslog_name = $a',
	    'other_domain_action = 554 5.7.1 ${a?{$b}}',
	    "  continued", '# comment', "double_bounce_sender = \$x\n"));
}

sub cachefmt {
	my @v = (
		"\0v1|123|0|F|1700000000000|john\@example.com",
		"\0v1|18446744073709551615|1|N|0|",
		"\0T|1700000000000",
		"\1a:john\@example.com",
		"\1d:example.com",
		"\1all",
		"\2123456",
		"\3john\@example.com\0value",
	);
	my $i = 0;
	seed('cachefmt', "v$i", $_), $i++ for @v;
}

# fuzz_maps: type byte (0 regexp, 1 pcre, 2 texthash, 3 inline, 4 static),
# key, NUL, text
sub maps {
	my $re = join("\n", '# comment', '/^(.*)\+.*@(example\.com)$/ $1@$2',
	    'if /@example\.org$/', '!/^postmaster@/ OK', 'endif',
	    '/^user@/i!/@other\./ ${1}x$$', '/[/ bad', "/./ DUNNO\n");
	my $pcre = join("\n", '/^(?<u>[^@]+)@example\.com$/ $1',
	    'IF /\.net$/', '/^a(b+)c$/sm $1 $2', 'ENDIF', '/(a|b)*+c/A x',
	    '!/x/E y', "/\\Qa.b\\E/U z\n");
	my $th = join("\n", '# postmap source', 'john@example.com OK',
	    '"quoted key"@example.com  value', '@example.org   catch-all',
	    'UPPER@Example.COM  x', "  continued value", 'key-only',
	    "dup\@example.com a\ndup\@example.com b\n");
	my @v = (
		"\0user+ext\@example.com\0$re",
		"\0postmaster\@example.org\0$re",
		"\1john\@example.com\0$pcre",
		"\1abbc\0$pcre",
		"\2john\@example.com\0$th",
		"\2\@example.org\0" . (split /dup/, $th)[0],
		"\3john\@example.com\0john\@example.com=OK, {x = y, z}",
		"\3a\0a=, b=c",
		"\4x\@y\0OK",
		"\4x\0{ text with spaces }",
	);
	my $i = 0;
	seed('maps', "v$i", $_), $i++ for @v;
}

# fuzz_sentinelfmt: master name, NUL, INFO text / payload
sub sentinelfmt {
	my $info = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n" .
	    "slave0:ip=10.0.0.2,port=6379,state=online,offset=42,lag=0\r\n" .
	    "master_failover_state:no-failover\r\n" .
	    "master_replid:8f1c2b5e6a7d9e0f1a2b3c4d5e6f708192a3b4c5\r\n" .
	    "master_replid2:0000000000000000000000000000000000000000\r\n" .
	    "master_repl_offset:42\r\n";
	my @v = (
		"mymaster\0$info",
		"mymaster\0mymaster 10.0.0.1 6379 10.0.0.2 6379",
		"mymaster\0mymaster2 10.0.0.1 6379 10.0.0.2 6379",
		"m\0master_replid:ABC\nmaster_replid:abc\n",
		"m\0master_replid:\r\n",
	);
	my $i = 0;
	seed('sentinelfmt', "v$i", $_), $i++ for @v;
}

# fuzz_fence: pg_lsn text, NUL, then operations (fuzz_fence.c)
sub fence {
	my $chk = sub { "\3$_[0]\0" . pack('v', $_[1]) };
	my @v = (
		"16/B374D848\0" . "\2\0\x10\0\1" . "\0a:new\@example.com\0" .
		    "\1\0\x20\0\1" . $chk->('new@example.com', 0x8000) .
		    $chk->('new@example.com', 1),
		"0/0\0" . "\0d:example.com\0" . "\0all\0" . "\2\1\x10\0\0" .
		    $chk->('x@example.com', 0x8000) . "\1\0\x01\0\xff" .
		    $chk->('x@example.com', 0x8000),
		"FFFFFFFF/FFFFFFFF\0" . "\0junk\0" . "\2\0\1\0\0" .
		    $chk->('a@b', 0x8001),
		"g/1\0",
	);
	my $i = 0;
	seed('fence', "v$i", $_), $i++ for @v;
}

# fuzz_control: switches, then a raw reply (also recipient, values)
sub control {
	my @v = (
		"\0action=550 5.1.1 User unknown\ndecision=unknown\nclass=" .
		    "virtual_mailbox\ntier=db\ncode=550\ndsn=5.1.1\ntext=User " .
		    "unknown in virtual mailbox table\nwarn_only=no\n" .
		    "stale=0\ndelay_us=123\n\n",
		"\1requests=10\r\ncache_hits=3\r\n\r\n",
		"\0error=unknown request\n\n",
		"\0john\@example.com\0DUNNO\0valid\0\x01ctl\x7f\0",
	);
	my $i = 0;
	seed('control', "v$i", $_), $i++ for @v;
}

# fuzz_endpoint: flags, endpoint, NUL, sentinel group, NUL, host 0xff port
sub endpoint {
	my @v = (
		"\0unix:/run/vrcpt/policy.sock\0" .
		    "10.0.0.1:26379,[::1]:26379/mymaster\0" . "10.0.0.2\xff6379",
		"\1inet:[::1]:10025\0s1:26379, s2:26379 /m\0::1\xff65535",
		"\4inet:10024\@127.0.0.1\0h:1/x\0" . "fe80::1%eth0\xff0",
		"\4inet6:10024\@[::1]\0\0host.example\xff65536",
		"\4local:/var/run/m.sock\0a:1,a:1/m\0\xff1",
		"\2127.0.0.1:6379\0\0",
		"\x08unix:/run/vrcpt/control.sock\0\0",
	);
	my $i = 0;
	seed('endpoint', "v$i", $_), $i++ for @v;
}

my @targets = @ARGV ? @ARGV : sort keys %gen;
for my $t (@targets) {
	die "unknown target $t\n" unless $gen{$t};
	$gen{$t}->();
	printf "%s: %d seeds\n", $t, $written{$t} // 0;
}
