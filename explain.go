package main

// tktgate explain: what the server would answer for a ticket, and why.

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tktgate/tktgate/internal/httpd"
	"github.com/tktgate/tktgate/verifier"
)

const explainUsage = `Usage:
  tktgate explain [-config FILE] [-policy NAME] [-ip ADDR] [-at TIME] [-json] VALUE|-

Says what the server would answer to a request carrying VALUE in the
policy's cookie, from client address ADDR at TIME, and why: the ticket's
fields, dialect, digest type, issue time, refresh point and expiry; for a
refused ticket, which of the ways the configured secrets allow it matches
(the other secret, the address 0.0.0.0 or ADDR, another digest type,
dialect or encoding). It never prints a secret or a digest.

VALUE is the cookie value as the browser sends it (base64, quoted,
escaped, or a raw ticket), optionally as NAME=VALUE; "-" reads it from
standard input. Exit status: 0 accepted, 1 refused, 2 usage or config error.

Flags:
`

// explainOpts are explain's command line.
type explainOpts struct {
	policy string
	ip     netip.Addr
	ipSet  bool // -ip was given
	at     time.Time
	json   bool
	// redis: the entries [revocation] redis holds, read once, joined to
	// the file's as the server joins them; redisErr, why they could not
	// be read.
	redis    []revEntry
	redisErr error
}

// runExplain is `tktgate explain`.
func runExplain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tktgate explain", flag.ContinueOnError)
	cfgPath := fs.String("config", "config.toml", "configuration `file`")
	policyName := fs.String("policy", "", "policy `NAME` (default: the default policy, /auth)")
	ipStr := fs.String("ip", "127.0.0.1", "the client `address` (as the server finds it: X-Real-IP or X-Forwarded-For from nginx)")
	atStr := fs.String("at", "", "when: RFC 3339 (2026-12-04T10:00:00Z) or unix seconds (default now)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	usage := func() {
		fmt.Fprint(fs.Output(), explainUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, usage, stdout, stderr); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "tktgate explain: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "tktgate explain: want exactly one VALUE (or - for standard input), after the flags")
		usage()
		return 2
	}
	o := explainOpts{policy: *policyName, json: *asJSON}
	fs.Visit(func(f *flag.Flag) { o.ipSet = o.ipSet || f.Name == "ip" })
	ip, err := netip.ParseAddr(*ipStr)
	if err != nil || ip.Zone() != "" {
		return fail("-ip: %q is not an IP address", *ipStr)
	}
	o.ip = ip.Unmap()
	o.at = time.Now()
	if *atStr != "" {
		if o.at, err = parseAt(*atStr); err != nil {
			return fail("-at: %v", err)
		}
	}
	value := []byte(fs.Arg(0))
	if fs.Arg(0) == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
		if err != nil {
			return fail("reading standard input: %v", err)
		}
		value = []byte(strings.TrimRight(string(b), "\r\n"))
	}
	cfg, err := LoadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	p := cfg.Default
	if o.policy != "" {
		if p = cfg.Policies[o.policy]; p == nil {
			names := make([]string, 0, len(cfg.Policies))
			for n := range cfg.Policies {
				names = append(names, n)
			}
			slices.Sort(names)
			return fail("no policy %q in %s (policies: %s)", o.policy, *cfgPath, strings.Join(names, ", "))
		}
	}
	// NAME=VALUE as copied from a Cookie header. No ticket starts like
	// that: a raw one starts with hex digits, a base64 one with M, N, Y
	// or Z (the encoding of a hex digit), a quoted one with '"'.
	for _, name := range []string{p.CookieName, verifier.ModAuthTkt.CookieName(), verifier.Passport.CookieName()} {
		if v, ok := strings.CutPrefix(string(value), name+"="); ok {
			value = []byte(v)
			break
		}
	}
	if i := strings.IndexAny(string(value), "\r\n\x00"); i >= 0 {
		return fail("VALUE holds a line break or NUL byte: no Cookie header can carry it")
	}
	if cfg.Redis != nil {
		ctx, cancel := context.WithTimeout(context.Background(), redisCLITimeout)
		o.redis, _, o.redisErr = readRedisEntries(ctx, cfg.Redis)
		cancel()
	}
	e := explain(cfg, p, value, o)
	if o.json {
		b, _ := json.MarshalIndent(e, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		e.writeText(stdout)
	}
	if e.Accepted {
		return 0
	}
	return 1
}

// parseAt reads -at: RFC 3339, or unix seconds.
func parseAt(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-12-04T10:00:00Z) nor unix seconds", s)
	}
	return t, nil
}

// explanation is explain's result; its JSON form is `explain -json`.
type explanation struct {
	Accepted bool   `json:"accepted"`
	Status   int    `json:"status"` // the HTTP status of the answer
	Reason   string `json:"reason"` // the /metrics and audit log label
	// TicketReason is the ticket's own verdict when the answer's reason
	// is another's (a guest let in instead).
	TicketReason string   `json:"ticket_reason,omitempty"`
	Policy       string   `json:"policy"` // "" for the default, as in /metrics
	IP           string   `json:"ip"`
	At           string   `json:"at"`
	UID          *string  `json:"uid"`
	Tokens       []string `json:"tokens"`
	Data         *string  `json:"data"`
	// Verified says the fields above are covered by a digest that
	// matches (under the policy, or one of the alternatives tried).
	Verified  bool    `json:"verified"`
	Dialect   *string `json:"dialect"`  // the dialect the digest matches in
	Digest    *string `json:"digest"`   // the digest type it matches with
	Encoding  *string `json:"encoding"` // how the value carries the ticket
	Secret    *string `json:"secret"`   // "current" or "old"
	SignedFor *string `json:"signed_for"`
	Issued    *string `json:"issued"`
	Refresh   *string `json:"refresh"` // under this policy
	Expires   *string `json:"expires"` // under this policy
	// Answer says what the server would send back besides the status.
	Answer []string `json:"answer"`
	// Diagnosis says why, in sentences.
	Diagnosis []string `json:"diagnosis"`
	// Matches lists every alternative the digest matches with, best
	// first, and how each differs from the policy.
	Matches []explainMatch `json:"matches"`
	// OtherPolicies names the policies with secrets of their own whose
	// secrets the ticket matches when none of this policy's does.
	OtherPolicies []string `json:"other_policies,omitempty"`
	// RedisError says why the revocation entries in Redis could not be
	// read: the answer then counts the file's only.
	RedisError string `json:"redis_error,omitempty"`

	policyDesc string
}

// explainMatch is one way of checking a ticket under which its digest
// matches.
type explainMatch struct {
	Dialect     string   `json:"dialect"`
	Options     []string `json:"options,omitempty"`
	Digest      string   `json:"digest"`
	Secret      string   `json:"secret"`
	SignedFor   string   `json:"signed_for"`
	Encoding    string   `json:"encoding"`
	Differences []string `json:"differences"`

	rank int
	tk   ticketFields
}

// ticketFields are what explain shows of a ticket.
type ticketFields struct {
	uid, tokens, data []byte
	ts                time.Time
	read              bool
	enc               verifier.Encoding
}

func fieldsOf(t *verifier.Ticket) ticketFields {
	return ticketFields{
		uid: slices.Clone(t.UID), tokens: slices.Clone(t.Tokens), data: slices.Clone(t.Data),
		ts: t.Time, read: t.UID != nil || !t.Time.IsZero(), enc: t.Encoding,
	}
}

// explainSecrets are the secrets p checks tickets with: explain takes
// them from here only.
func explainSecrets(p *Policy) (current, old []byte) {
	return p.Options.Secret, p.Options.OldSecret
}

// explain works out the answer to value under p, as the server would
// give it, and what the ticket's digest matches.
func explain(cfg *Config, p *Policy, value []byte, o explainOpts) *explanation {
	e := &explanation{Policy: p.Name, IP: o.ip.String(), At: o.at.UTC().Format(time.RFC3339), Tokens: []string{}, Answer: []string{}, Diagnosis: []string{}, Matches: []explainMatch{}}
	header := append([]byte(p.CookieName+"="), value...)

	// The answer: the server's own decision on a request carrying the
	// cookie, from o.ip (the peer, as no proxy header is sent), at o.at.
	status, r, answer, revs := simulate(cfg, p, header, o)
	e.Status, e.Reason = status, r.String()
	e.Answer = append(e.Answer, answer...)

	// The ticket's own verdict, as decide reached it.
	var tk verifier.Ticket
	c := p.Verifier.CookieTicket(header, []byte(p.CookieName))
	var err error = verifier.ErrNoTicket
	if c != nil && !o.ip.IsUnspecified() {
		err = p.Verifier.Verify(&tk, c, o.ip, o.at)
	}
	tr := reasonOf(err)
	if tr != r && r != reasonUnspecifiedIP && tr != reasonOK {
		e.TicketReason = tr.String()
	}
	switch r {
	case reasonOK, reasonRefreshed, reasonOldSecret:
		e.Accepted = true
	}
	f := fieldsOf(&tk)
	digestOK := err == nil || err == verifier.ErrExpired || err == verifier.ErrFuture
	if digestOK {
		e.Verified = true
		e.setSigned(p.Dialect.String(), p.Options.Digest.String(), tk.OldSecret, signedFor(p.Options.IgnoreIP, o.ip))
	}
	why := &e.Diagnosis
	say := func(format string, a ...any) { *why = append(*why, fmt.Sprintf(format, a...)) }
	if o.redisErr != nil {
		e.RedisError = o.redisErr.Error()
		say("The revocation entries in Redis (%s) could not be read (%v): the answer counts the revocation file's entries only, and the server's list may hold more.", cfg.Redis.URL, o.redisErr)
	}

	switch {
	case r == reasonUnspecifiedIP:
		say("The client address %s is refused whatever the ticket: no client has it, so a proxy that sends it is broken or hostile (tickets for ignore_ip are signed for 0.0.0.0). Give -ip the user's address.", o.ip)
	case digestOK && r == reasonRevoked:
		// Which source holds the entry: the file's list alone says
		// whether it is there; otherwise Redis has it.
		kind, from := revocationsOf(cfg, o.at).check(p.Verifier, &tk), "the revocation file "+cfg.RevocationFile
		if kind == revNone && cfg.Redis != nil {
			kind, from = revs.check(p.Verifier, &tk), "the revocation entries in Redis ("+cfg.Redis.URL+")"
		}
		say("Revoked: a valid ticket, issued %s, refused by a %s entry of %s; the answer sends the user to login_url and clears the cookie.",
			*timeStr(tk.Time), kind, from)
	case digestOK:
		e.explainVerified(p, &tk, err, r, o, say)
	default:
		e.explainRefused(cfg, p, value, c, err, o, say)
		if len(e.Matches) > 0 {
			f = e.Matches[0].tk
			e.Verified = true
		}
	}
	if r == reasonGuest {
		say("The policy lets a refused request in as a guest (guest_login): the answer is 200 for the guest user, not for this ticket.")
	}
	if f.read {
		uid, data := string(f.uid), string(f.data)
		e.UID, e.Data = &uid, &data
		for tok := range strings.SplitSeq(string(f.tokens), ",") {
			if tok != "" {
				e.Tokens = append(e.Tokens, tok)
			}
		}
		if !f.ts.IsZero() {
			e.Issued = timeStr(f.ts)
			refresh, expire := p.Verifier.Deadlines(f.ts)
			e.Refresh, e.Expires = deadlineStr(refresh), deadlineStr(expire)
		}
		enc := encodingName(f.enc, p.Dialect, value)
		if len(e.Matches) > 0 {
			enc = e.Matches[0].Encoding
		}
		e.Encoding = &enc
	}
	e.policyDesc = describePolicy(p)
	return e
}

// setSigned records how the digest matched.
func (e *explanation) setSigned(dialect, digest string, old bool, signedFor string) {
	secret := "current"
	if old {
		secret = "old"
	}
	e.Dialect, e.Digest, e.Secret, e.SignedFor = &dialect, &digest, &secret, &signedFor
}

// explainVerified says why a ticket whose digest matches under the
// policy got its answer.
func (e *explanation) explainVerified(p *Policy, tk *verifier.Ticket, err error, r reason, o explainOpts, say func(string, ...any)) {
	how := fmt.Sprintf("signed with the %s secret for %s (%s, %s)", *e.Secret, *e.SignedFor, p.Dialect, p.Options.Digest)
	switch {
	case err == verifier.ErrExpired:
		_, expire := p.Verifier.Deadlines(tk.Time)
		say("Expired: a valid ticket, %s, issued %s, but the policy's timeout (%v) ran out at %s.", how, *timeStr(tk.Time), p.Options.Timeout, *deadlineStr(expire))
	case err == verifier.ErrFuture:
		say("Dated in the future: a valid ticket, %s, but issued %s, more than max_future (%v) after %s: the signer's clock is ahead, or -at is wrong.", how, *timeStr(tk.Time), p.Options.MaxFuture, e.At)
	case r == reasonTokenDenied:
		need := make([]string, len(p.Tokens))
		for i, t := range p.Tokens {
			need[i] = string(t)
		}
		have := string(tk.Tokens)
		if have == "" {
			have = "none"
		}
		say("Valid, %s, but the policy needs one of the tokens %s and the ticket has %s.", how, strings.Join(need, ", "), have)
	case r == reasonOldSecret:
		say("Accepted: a valid ticket, %s; signed with secret_old, so the answer is never cached and, where the dialect allows, re-signs it with the current secret.", how)
	case r == reasonRefreshed:
		say("Accepted: a valid ticket, %s, past its refresh point: the answer carries a new ticket.", how)
	default:
		say("Accepted: a valid ticket, %s.", how)
	}
}

// explainRefused diagnoses a ticket refused before its time was looked
// at: no ticket, malformed, a client address no digest can hold, or a
// digest that matches neither secret.
func (e *explanation) explainRefused(cfg *Config, p *Policy, value, c []byte, err error, o explainOpts, say func(string, ...any)) {
	switch err {
	case verifier.ErrNoTicket:
		switch {
		case len(value) == 0:
			say("No ticket: the value is empty.")
		case p.Dialect == verifier.ModAuthTkt && c == nil:
			say("No ticket: a value of %d bytes is too short for a ticket (the %s digest and the timestamp take %d), and mod_auth_tkt ignores such a cookie.", len(value), p.Options.Digest, p.Options.Digest.HexLen()+8)
		default:
			say("No ticket: the %s dialect's cookie parser finds no value in %s=VALUE (for pyramid: a cookie that is not UTF-8 once unquoted fails the whole header).", p.Dialect, p.CookieName)
		}
	case verifier.ErrMalformed:
		say("Malformed: not a %s ticket (a %d-character hex digest, 8 hex digits of time, uid!tokens!data, no control bytes, no uid or token beginning or ending with white space).", p.Dialect, p.Options.Digest.HexLen())
	case verifier.ErrBadIP:
		say("The client address %s cannot be in a %s digest (IPv4 only, not 255.255.255.255), and this policy checks the address.", o.ip, p.Dialect)
	default:
		addr := "0.0.0.0 (ignore_ip)"
		if !p.Options.IgnoreIP {
			addr = o.ip.String()
		}
		secrets := "signed neither with secret nor with secret_old"
		if _, old := explainSecrets(p); old == nil {
			secrets = "not signed with the secret"
		}
		say("Bad digest: %s for %s, as this policy checks it (%s, %s).", secrets, addr, p.Dialect, p.Options.Digest)
	}
	if m := probe(p, value, o); m != nil {
		e.Matches = m
	}
	if len(e.Matches) == 0 {
		if err == verifier.ErrNoTicket || err == verifier.ErrMalformed {
			if len(value) > 0 {
				say("Nor does any other dialect, digest type or encoding read it as a valid ticket.")
			}
			return
		}
		tried := "the current and the old secret"
		if _, old := explainSecrets(p); old == nil {
			tried = "the secret"
		}
		hint := ""
		if !o.ipSet {
			hint = " (no -ip was given: 127.0.0.1 was tried; give the user's address)"
		}
		if sites := otherSites(cfg, p, value, o); len(sites) > 0 {
			e.OtherPolicies = sites
			say("Another site's ticket: it matches the secret of %s; a ticket signed for one site is never accepted on another's policy. The request reached the wrong site or location, or the login service signed for the wrong site.", strings.Join(quoted(sites), ", "))
			return
		}
		say("No alternative matches either: not with %s, for 0.0.0.0 or %s%s, with any digest type, dialect or encoding. The ticket was signed with another secret, for another address, or altered.", tried, o.ip, hint)
		return
	}
	m := e.Matches[0]
	e.setSigned(m.Dialect, m.Digest, m.Secret == "old", m.SignedFor)
	say("It matches %s.", m.describe())
	for _, d := range m.Differences {
		say("- %s.", d)
	}
	if fx := fixes(p, m); len(fx) > 0 {
		say("To accept it: %s.", strings.Join(fx, "; "))
	}
	for _, other := range e.Matches[1:] {
		if other.rank/10 == m.rank/10 { // as close to the policy: as likely
			say("It also matches %s.", other.describe())
		}
	}
}

// otherSites names the other policies with secrets of their own (a site
// of its own, as TKTAuthSecret in a <VirtualHost>) whose secrets the
// ticket's digest matches, "" for the default policy: a ticket sent to
// the wrong site is a configuration problem, not a forgery.
func otherSites(cfg *Config, p *Policy, value []byte, o explainOpts) []string {
	cur, old := explainSecrets(p)
	var names []string
	for _, q := range cfg.allPolicies() {
		if q == p {
			continue
		}
		qc, qo := explainSecrets(q)
		if string(qc) == string(cur) && string(qo) == string(old) {
			continue // the same secrets: probe has tried them
		}
		if len(probe(q, value, o)) > 0 {
			names = append(names, q.Name)
		}
	}
	return names
}

// quoted names policies for a sentence.
func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		if n == "" {
			out[i] = "the default policy ([ticket])"
		} else {
			out[i] = "policy " + strconv.Quote(n)
		}
	}
	return out
}

// describe says how m checks the ticket.
func (m *explainMatch) describe() string {
	s := fmt.Sprintf("as a %s ticket", m.Dialect)
	if len(m.Options) > 0 {
		s += " (" + strings.Join(m.Options, ", ") + ")"
	}
	s += fmt.Sprintf(" with digest %s, signed with the %s secret for %s", m.Digest, m.Secret, m.SignedFor)
	if m.Encoding == "url-encoded" {
		s += ", once the value is URL-decoded"
	}
	return s
}

// probeCase is one way of checking a ticket.
type probeCase struct {
	dialect verifier.Dialect
	do      verifier.DialectOptions
	opts    []string // do as config keys
	digest  verifier.Digest
	old     bool
	zero    bool // signed for 0.0.0.0
	decoded bool // the value URL-decoded first
}

// probe checks the ticket every way the configured secrets allow, and
// returns those under which its digest matches, closest to the policy
// first. Only whether each matches is kept: never a digest.
func probe(p *Policy, value []byte, o explainOpts) []explainMatch {
	cur, old := explainSecrets(p)
	values := [][]byte{value}
	if decoded := httpd.AppendUnescape(nil, value); string(decoded) != string(value) {
		values = append(values, decoded)
	}
	type dialectCase struct {
		d    verifier.Dialect
		do   verifier.DialectOptions
		opts []string
	}
	dialects := []dialectCase{
		{d: verifier.ModAuthTkt},
		{d: verifier.Pyramid},
	}
	for _, plain := range []bool{false, true} {
		for _, js := range []bool{false, true} {
			dialects = append(dialects, dialectCase{verifier.Passport, verifier.DialectOptions{PassportPlainUserData: plain, PassportJSONUserData: js}, passportKeys(plain, js)})
		}
	}
	var out []explainMatch
	seen := map[string]bool{}
	var tk verifier.Ticket
	for _, dc := range dialects {
		for _, dg := range []verifier.Digest{verifier.MD5, verifier.SHA256, verifier.SHA512} {
			for si, secret := range [][]byte{cur, old} {
				if secret == nil || si == 1 && string(old) == string(cur) {
					continue
				}
				for _, zero := range []bool{true, false} {
					dv, err := verifier.NewDialect(dc.d, verifier.Options{
						Secret: secret, Digest: dg, IgnoreIP: zero,
						MaxFuture: 200 * 365 * 24 * time.Hour, // the time is the policy's business, not the digest's
					}, dc.do)
					if err != nil {
						continue // passport knows MD5 only
					}
					for vi, v := range values {
						c := dv.CookieTicket(append([]byte(p.CookieName+"="), v...), []byte(p.CookieName))
						if c == nil {
							c = v
						}
						if dv.Verify(&tk, c, o.ip, o.at) != nil {
							continue
						}
						pc := probeCase{dialect: dc.d, do: dc.do, opts: dc.opts, digest: dg, old: si == 1, zero: zero, decoded: vi == 1}
						m := pc.match(p, o, &tk, v)
						if key := fmt.Sprint(m.Dialect, m.Options, m.Digest, m.Secret, m.SignedFor, m.Encoding); !seen[key] {
							seen[key] = true
							out = append(out, m)
						}
					}
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b explainMatch) int { return a.rank - b.rank })
	return out
}

// match describes a probe case that matched, and how it differs from p.
func (pc probeCase) match(p *Policy, o explainOpts, tk *verifier.Ticket, value []byte) explainMatch {
	m := explainMatch{Dialect: pc.dialect.String(), Options: pc.opts, Digest: pc.digest.String(), Secret: "current", SignedFor: signedFor(pc.zero, o.ip), tk: fieldsOf(tk)}
	m.Encoding = encodingName(tk.Encoding, pc.dialect, value)
	if pc.old {
		m.Secret = "old"
		m.rank++ // the server tries it too: not a difference, but second best
	}
	diff := func(format string, a ...any) {
		m.Differences = append(m.Differences, fmt.Sprintf(format, a...))
	}
	// The rank counts the config changes that would accept the ticket: a
	// switch to another dialect brings that dialect's defaults along, so
	// a Pyramid ticket (SHA512, 0.0.0.0) under an MD5 mod_auth_tkt policy
	// is one change away, not three.
	digest, ignoreIP := p.Options.Digest, p.Options.IgnoreIP
	plain, js := p.DialectOptions.PassportPlainUserData, p.DialectOptions.PassportJSONUserData
	if pc.decoded {
		m.Encoding = "url-encoded"
		m.rank += 10
		diff("the value holds %%-escapes (%%2B, %%3D, %%C3...) that the signer decoded before signing, or that its framework added: %s reads them as they are", p.Dialect)
	}
	if pc.dialect != p.Dialect {
		m.rank += 10
		digest, ignoreIP = pc.dialect.DefaultDigest(), pc.dialect.DefaultIgnoreIP()
		plain, js = false, false
		diff("a %s ticket, but this policy's dialect is %s", pc.dialect, p.Dialect)
	} else if pc.do.PassportPlainUserData != p.DialectOptions.PassportPlainUserData || pc.do.PassportJSONUserData != p.DialectOptions.PassportJSONUserData {
		diff("its user data is written as with %s, unlike this policy's", strings.Join(pc.opts, " and "))
	}
	if pc.dialect == verifier.Passport && (pc.do.PassportPlainUserData != plain || pc.do.PassportJSONUserData != js) {
		m.rank += 10
	}
	if pc.digest != p.Options.Digest {
		diff("a valid %s ticket, but digest_type is %s", pc.digest, p.Options.Digest)
	}
	if pc.digest != digest {
		m.rank += 10
	}
	switch {
	case pc.zero && !p.Options.IgnoreIP:
		diff("signed for 0.0.0.0: the login service ignores the address (TKTAuthIgnoreIP, ignore_ip), but this policy checks it")
	case !pc.zero && p.Options.IgnoreIP:
		diff("signed for %s: the login service binds tickets to the client's address, but this policy ignores it (ignore_ip = true)", o.ip)
	}
	if pc.zero != ignoreIP {
		m.rank += 10
	}
	return m
}

// passportKeys are the passport dialect's options as config lines.
func passportKeys(plain, json bool) []string {
	return []string{fmt.Sprintf("passport_encode_user_data = %v", !plain), fmt.Sprintf("passport_json_user_data = %v", json)}
}

// fixes says what to change in the config for m to be how p checks.
// Another dialect brings its own defaults of digest_type and ignore_ip,
// so only what differs from those is named besides it.
func fixes(p *Policy, m explainMatch) []string {
	table := "[ticket]"
	if p.Name != "" {
		table = "[policy." + p.Name + "]"
	}
	var out []string
	digest, ignoreIP := p.Options.Digest, p.Options.IgnoreIP
	if d, err := verifier.ParseDialect(m.Dialect); err == nil && d != p.Dialect {
		digest, ignoreIP = d.DefaultDigest(), d.DefaultIgnoreIP()
		out = append(out, fmt.Sprintf("set dialect = %q in %s (its defaults: digest_type %s, ignore_ip = %v)", m.Dialect, table, digest, ignoreIP))
	}
	have := passportKeys(false, false) // the defaults a switch to passport brings
	if p.Dialect == verifier.Passport {
		have = passportKeys(p.DialectOptions.PassportPlainUserData, p.DialectOptions.PassportJSONUserData)
	}
	for _, o := range m.Options {
		if !slices.Contains(have, o) {
			out = append(out, fmt.Sprintf("set %s in %s", o, table))
		}
	}
	if m.Digest != digest.String() {
		out = append(out, fmt.Sprintf("set digest_type = %q in [ticket], or have the signer use %s", m.Digest, digest))
	}
	if zero := m.SignedFor == "0.0.0.0"; zero != ignoreIP {
		out = append(out, fmt.Sprintf("set ignore_ip = %v in %s, or change the signer", zero, table))
	}
	return out
}

// signedFor is the address a digest covers.
func signedFor(ignoreIP bool, ip netip.Addr) string {
	if ignoreIP {
		return "0.0.0.0"
	}
	return ip.String()
}

// encodingName says how a cookie value carried its ticket.
func encodingName(enc verifier.Encoding, d verifier.Dialect, value []byte) string {
	quoted := len(value) > 1 && value[0] == '"' && value[len(value)-1] == '"'
	var s string
	switch {
	case d == verifier.Pyramid && quoted:
		return "quoted"
	case d == verifier.Pyramid:
		return "raw"
	case enc == verifier.Base64:
		s = "base64"
	case enc == verifier.Escaped:
		s = "escaped"
	default:
		s = "raw"
	}
	if quoted {
		s = "quoted " + s
	}
	return s
}

func timeStr(t time.Time) *string {
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// deadlineStr is the first whole second at which a deadline has passed
// (the dialects add a nanosecond to say "after this second"), or nil.
func deadlineStr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	if t.Nanosecond() != 0 {
		t = t.Truncate(time.Second).Add(time.Second)
	}
	return timeStr(t)
}

// describePolicy is one line of what p checks.
func describePolicy(p *Policy) string {
	addr := "checks the client address"
	if p.Options.IgnoreIP {
		addr = "ignores the client address (ignore_ip)"
	}
	timeout := "no timeout"
	if p.Options.Timeout > 0 {
		timeout = "timeout " + p.Options.Timeout.String()
	}
	secrets := "one secret"
	if _, old := explainSecrets(p); old != nil {
		secrets = "secret and secret_old"
	}
	s := fmt.Sprintf("dialect %s, digest %s, %s, %s, %s, cookie %s", p.Dialect, p.Options.Digest, addr, timeout, secrets, p.CookieName)
	if len(p.Tokens) > 0 {
		need := make([]string, len(p.Tokens))
		for i, t := range p.Tokens {
			need[i] = string(t)
		}
		s += ", tokens " + strings.Join(need, ",")
	}
	return s
}

// simulate runs the server's decision on a request carrying header as
// its Cookie, from o.ip, at o.at: the status, the reason and what else
// the answer says (never a cookie's value: a refreshed ticket is one),
// and the revocation list it was decided with.
func simulate(cfg *Config, p *Policy, header []byte, o explainOpts) (int, reason, []string, *revocations) {
	quiet := *cfg
	quiet.LogRequests = logNone
	s := newServer(newLogger(io.Discard, nil), newMetrics())
	// The list as a server connected to Redis has it (the file's
	// entries and Redis'), as at o.at: load compiled it as at now.
	s.load(&quiet)
	s.fileRevs, s.redisRevs = cfg.revoked, o.redis // load drops the file's
	if snap := *s.snap.Load(); snap.revs != nil {
		snap.revs = s.compileRevs(&quiet, nil, o.at)
		s.snap.Store(&snap)
	}
	snap := s.snap.Load()
	pp := snap.def
	if p.Name != "" {
		pp = snap.policies[p.Name]
	}
	var req fasthttp.Request
	// No Host (HTTP/1.0): a made-up one would show in Location.
	raw := "GET /auth HTTP/1.0\r\nCookie: " + string(header) + "\r\n\r\n"
	if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		return 0, reasonMalformed, []string{"no HTTP request can carry this value"}, snap.revs
	}
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, net.TCPAddrFromAddrPort(netip.AddrPortFrom(o.ip, 40000)), nil)
	r := s.decide(ctx, snap, pp, new(state), o.at)
	var answer []string
	resp := &ctx.Response.Header
	for _, h := range []string{"X-Remote-User", "X-Remote-User-Tokens", "X-Remote-User-Data"} {
		if v := resp.Peek(h); len(v) > 0 || ctx.Response.StatusCode() == 200 {
			answer = append(answer, fmt.Sprintf("%s: %s", h, v))
		}
	}
	if loc := string(resp.Peek("Location")); loc != "" {
		// Its back URL would be this made-up request's: name the target.
		for _, u := range []struct{ key, url string }{{"unauth_url", p.UnauthURL}, {"timeout_url", p.TimeoutURL}, {"post_timeout_url", p.PostTimeoutURL}, {"login_url", p.LoginURL}} {
			if u.url != "" && strings.HasPrefix(loc, u.url) {
				loc = u.key + " (" + u.url + ")"
				break
			}
		}
		answer = append(answer, "Location: "+loc)
	}
	if c := resp.Peek("Set-Cookie"); len(c) > 0 {
		name, v, _ := strings.Cut(string(c), "=")
		what := "a new ticket (refreshed)"
		if strings.HasPrefix(v, ";") || v == "" {
			what = "cleared"
		}
		answer = append(answer, fmt.Sprintf("Set-Cookie: %s=… (%s)", name, what))
	}
	return ctx.Response.StatusCode(), r, answer, snap.revs
}

// writeText prints e for a person.
func (e *explanation) writeText(w io.Writer) {
	verdict := "refused"
	if e.Accepted {
		verdict = "accepted"
	}
	name := e.Policy
	if name == "" {
		name = "(default)"
	}
	fmt.Fprintf(w, "policy:    %s (%s)\n", name, e.policyDesc)
	fmt.Fprintf(w, "request:   from %s at %s\n", e.IP, e.At)
	fmt.Fprintf(w, "answer:    %d %s, %s", e.Status, e.Reason, verdict)
	if e.TicketReason != "" {
		fmt.Fprintf(w, " (the ticket: %s)", e.TicketReason)
	}
	fmt.Fprintln(w)
	for _, a := range e.Answer {
		fmt.Fprintf(w, "           %s\n", quoteCtl(a))
	}
	if e.UID != nil {
		state := "verified"
		if !e.Verified {
			state = "unverified: no digest matches"
		}
		fmt.Fprintf(w, "ticket:    uid %q, tokens %q, data %q (%s)\n", *e.UID, e.Tokens, *e.Data, state)
		if e.Encoding != nil {
			fmt.Fprintf(w, "           encoding %s", *e.Encoding)
			if e.Dialect != nil {
				fmt.Fprintf(w, ", dialect %s, digest %s, %s secret, signed for %s", *e.Dialect, *e.Digest, *e.Secret, *e.SignedFor)
			}
			fmt.Fprintln(w)
		}
		if e.Issued != nil {
			fmt.Fprintf(w, "           issued %s, refresh %s, expires %s\n", *e.Issued, orNever(e.Refresh), orNever(e.Expires))
		}
	}
	for i, d := range e.Diagnosis {
		label := "why:       "
		if i > 0 {
			label = "           "
		}
		fmt.Fprintf(w, "%s%s\n", label, quoteCtl(d))
	}
}

func orNever(s *string) string {
	if s == nil {
		return "never"
	}
	return *s
}

// quoteCtl escapes control bytes in s (the fields of a ticket nobody
// vouches for end up in the diagnosis).
func quoteCtl(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
