package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

// runTicket mints a ticket like Apache::AuthTkt's ticket().
func runTicket(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tktgate ticket", flag.ContinueOnError)
	cfgPath := fs.String("config", "config.toml", "configuration `file` (secret, digest_type, ignore_ip, dialect)")
	policy := fs.String("policy", "", "mint with the settings of policy `NAME` (its own secret, digest_type...) instead of [ticket]'s")
	uid := fs.String("uid", "", "user id (required)")
	ipStr := fs.String("ip", "127.0.0.1", "client IPv4 `address` the ticket is bound to (ignored with ignore_ip)")
	tokens := fs.String("tokens", "", "comma-separated tokens")
	data := fs.String("data", "", "user data")
	ts := fs.Int64("ts", 0, "timestamp, unix `seconds` (default now)")
	raw := fs.Bool("raw", false, "print the raw ticket instead of base64")
	usage := func() {
		fmt.Fprintf(fs.Output(), "Usage:\n  tktgate ticket [-config FILE] [-policy NAME] -uid U [-ip A] [-tokens a,b] [-data D] [-ts N] [-raw]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, usage, stdout, stderr); !ok {
		return code
	}
	if *uid == "" {
		fmt.Fprintln(stderr, "tktgate ticket: -uid is required")
		return 2
	}
	cfg, err := LoadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	p := cfg.Default
	if *policy != "" {
		if p = cfg.Policies[*policy]; p == nil {
			fmt.Fprintf(stderr, "tktgate ticket: -policy: %s has no [policy.%s] (it has: %s)\n", *cfgPath, *policy, policyList(cfg))
			return 2
		}
	}
	ip, err := netip.ParseAddr(*ipStr)
	if err != nil {
		fmt.Fprintf(stderr, "tktgate ticket: -ip: %v\n", err)
		return 2
	}
	dialect := p.Dialect
	if dialect == verifier.ModAuthTkt && !p.Options.IgnoreIP && !ip.Unmap().Is4() {
		fmt.Fprintln(stderr, "tktgate ticket: -ip must be IPv4 (mod_auth_tkt binds tickets to IPv4 only) unless ignore_ip is on")
		return 2
	}
	// Apache::AuthTkt strips white space around the commas.
	tk := strings.Split(*tokens, ",")
	for i := range tk {
		tk[i] = strings.TrimSpace(tk[i])
	}
	tokStr := strings.Join(tk, ",")
	if dialect != verifier.ModAuthTkt && *raw {
		fmt.Fprintf(stderr, "tktgate ticket: -raw is for mod_auth_tkt tickets (the dialect is %s)\n", dialect)
		return 2
	}
	if err := verifier.CheckFields([]byte(*uid), []byte(tokStr), []byte(*data)); dialect == verifier.ModAuthTkt && err != nil {
		fmt.Fprintf(stderr, "tktgate ticket: %v\n", err)
		return 2
	}
	when := time.Now()
	if *ts != 0 {
		if *ts < 0 || *ts > 1<<32-1 {
			fmt.Fprintln(stderr, "tktgate ticket: -ts must be within 0..4294967295")
			return 2
		}
		when = time.Unix(*ts, 0)
	}
	var t []byte
	if dialect == verifier.ModAuthTkt {
		t = p.Verifier.Verifier().Sign(nil, []byte(*uid), []byte(tokStr), []byte(*data), ip, when)
		if !*raw {
			t = verifier.AppendBase64(nil, t)
		}
	} else if t = p.Verifier.Sign(nil, []byte(*uid), []byte(tokStr), []byte(*data), ip, when); len(t) == 0 {
		// The cookie value as the dialect's library writes it.
		fmt.Fprintf(stderr, "tktgate ticket: the %s dialect cannot carry these fields (or this -ip)\n", dialect)
		return 2
	}
	fmt.Fprintln(stdout, string(t))
	return 0
}

// policyList names cfg's policies for a message.
func policyList(cfg *Config) string {
	if len(cfg.Policies) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(cfg.Policies)), ", ")
}
