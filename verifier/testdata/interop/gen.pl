#!/usr/bin/perl
# Runs Apache::AuthTkt, the Perl generator shipped with mod_auth_tkt
# (Debian: /usr/share/doc/libapache2-mod-auth-tkt/examples/cgi/Apache/AuthTkt.pm),
# on a list of jobs and prints the results. Used by vectors.py (which writes
# vectors.json) and by TestInteropLive in ../../interop_test.go.
#
# stdin:  JSON array of jobs; every string is UTF-8 text.
#   {"op":"sign", "digest":"MD5|SHA256|SHA512", "encoding":"base64|raw",
#    "secret":..., "ip":"1.2.3.4", "ignore_ip":bool, "ts":int,
#    "uid":..., "tokens":"a,b", "data":...}
#   {"op":"validate", "digest":..., "secret":..., "ip":..., "ignore_ip":bool,
#    "cookie":...}
# stdout: JSON array, one object per job, in order:
#   sign:     {"generator":..., "cookie":...}
#   validate: {"generator":..., "ok":bool, "uid":..., "tokens":..., "data":..., "ts":int}
#
# For ignore_ip jobs the generator is asked with ignore_ip => 1 and no ip_addr,
# so its own 0.0.0.0 default is exercised.
use strict;
use warnings;
use JSON::PP ();
use Encode qw(encode_utf8 decode_utf8);

my $dir;
BEGIN {
    my $doc = '/usr/share/doc/libapache2-mod-auth-tkt/examples/cgi';
    $dir = $ENV{AUTHTKT_PM_DIR} || $doc;
    if (!-e "$dir/Apache/AuthTkt.pm" && -e "$dir/Apache/AuthTkt.pm.gz") {
        # Some packagings gzip the example; unpack it into a temp dir.
        require File::Temp;
        my $tmp = File::Temp::tempdir(CLEANUP => 1);
        mkdir "$tmp/Apache" or die "mkdir: $!";
        system("gzip -dc '$dir/Apache/AuthTkt.pm.gz' > '$tmp/Apache/AuthTkt.pm'") == 0
            or die "gunzip AuthTkt.pm.gz failed";
        $dir = $tmp;
    }
}
use lib $dir;
use Apache::AuthTkt;

my $generator = "perl Apache::AuthTkt $Apache::AuthTkt::VERSION";

my $json = JSON::PP->new->utf8->canonical;
my $in = do { local $/; <STDIN> };
my $jobs = $json->decode($in);

my @out;
for my $job (@$jobs) {
    my $op = $job->{op} || 'sign';
    my $at = Apache::AuthTkt->new(
        secret      => encode_utf8($job->{secret}),
        digest_type => $job->{digest},
    );
    my %ip = $job->{ignore_ip}
        ? (ignore_ip => 1)
        : (ip_addr => $job->{ip});
    if ($op eq 'sign') {
        my $tkt = $at->ticket(
            uid    => encode_utf8($job->{uid}),
            tokens => encode_utf8($job->{tokens}),
            data   => encode_utf8($job->{data}),
            ts     => $job->{ts},
            base64 => ($job->{encoding} eq 'base64' ? 1 : 0),
            %ip,
        );
        defined $tkt or die "ticket() failed: " . ($at->errstr // '?') . "\n";
        push @out, { generator => $generator, cookie => decode_utf8($tkt) };
    }
    elsif ($op eq 'validate') {
        my $info = eval { $at->validate_ticket(encode_utf8($job->{cookie}), %ip) };
        if ($info) {
            push @out, {
                generator => $generator,
                ok        => JSON::PP::true,
                uid       => decode_utf8($info->{uid}),
                tokens    => decode_utf8($info->{tokens}),
                data      => decode_utf8($info->{data}),
                ts        => 0 + $info->{ts},
            };
        }
        else {
            push @out, { generator => $generator, ok => JSON::PP::false };
        }
    }
    else {
        die "unknown op '$op'\n";
    }
}
print $json->encode(\@out), "\n";
