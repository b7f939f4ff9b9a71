package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/apachetest"
	"github.com/tktgate/tktgate/internal/e2e"
	"github.com/tktgate/tktgate/verifier"
)

// Two sites on one tktgate, each signed by its own login service: site A
// is [ticket] (the default policy and policy a, which inherits it), site
// B is policy b with a secret, old secret and digest of its own, site C
// is policy c with its secret in a file. The secrets are distinctive
// strings that no log line, metric, -check output or error may carry.
const (
	siteASecret = "SiteAlphaCurrentKq7"
	siteAOld    = "SiteAlphaPreviousZx4"
	siteBSecret = "SiteBravoCurrentWm2"
	siteBOld    = "SiteBravoPreviousPy8"
	siteCSecret = "SiteCharlieFileNr5"
)

var siteSecrets = []string{siteASecret, siteAOld, siteBSecret, siteBOld, siteCSecret}

// siteConfig is the config of the three sites, siteC's secret in
// secretFile.
func siteConfig(secretFile string) string {
	return `
[ticket]
secret = "` + siteASecret + `"
secret_old = "` + siteAOld + `"
timeout = "2h"
[redirect]
login_url = "https://login.example.com/login"
[cache]
max_age = "60s"
[policy.a]
[policy.b]
secret = "` + siteBSecret + `"
secret_old = "` + siteBOld + `"
digest_type = "SHA256"
[policy.c]
secret_file = "` + secretFile + `"
`
}

// siteSigners sign fresh tickets for 127.0.0.1 as each site's login
// service does.
func siteSigner(t *testing.T, secret string, d verifier.Digest) func(uid string, ts time.Time) string {
	sign := signer(t, verifier.Options{Secret: []byte(secret), Digest: d})
	return func(uid string, ts time.Time) string { return sign(uid, "", "", "127.0.0.1", ts) }
}

// noSecretIn fails when text carries any of the sites' secrets.
func noSecretIn(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range siteSecrets {
		if strings.Contains(text, s) {
			t.Errorf("%s shows the secret %q:\n%s", what, s, text)
		}
	}
}

// TestSiteSecrets: each site's policy accepts its own tickets only, both
// ways; refreshes and re-signs with its own secret; never caches an
// approval on its own old secret; and no secret leaves the process.
func TestSiteSecrets(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "site-c.secret")
	writeFile(t, secretFile, siteCSecret+"\n")
	path := filepath.Join(dir, "config.toml")
	writeFile(t, path, siteConfig(secretFile))
	addr, _, logs, _ := startServerAt(t, path)

	now := time.Now()
	a := siteSigner(t, siteASecret, verifier.MD5)
	aOld := siteSigner(t, siteAOld, verifier.MD5)
	b := siteSigner(t, siteBSecret, verifier.SHA256)
	bOld := siteSigner(t, siteBOld, verifier.SHA256)
	bMD5 := siteSigner(t, siteBSecret, verifier.MD5)
	c := siteSigner(t, siteCSecret, verifier.MD5)

	f := func(path, ticket string, want int, user string) {
		t.Helper()
		r := do(t, addr, "GET", path, "Cookie: auth_tkt="+ticket)
		if r.status != want || (want == 200 && r.header.Get("X-Remote-User") != user) {
			t.Errorf("GET %s: %d %q, want %d %q", path, r.status, r.header.Get("X-Remote-User"), want, user)
		}
	}
	for _, p := range []string{"/auth", "/auth/a"} {
		f(p, a("alice", now), 200, "alice")
		f(p, b("bob", now), 401, "")
		f(p, bOld("bob", now), 401, "")
		f(p, bMD5("bob", now), 401, "") // B's secret, A's digest
		f(p, c("carol", now), 401, "")
	}
	f("/auth/b", b("bob", now), 200, "bob")
	f("/auth/b", a("alice", now), 401, "")
	f("/auth/b", aOld("alice", now), 401, "") // [ticket]'s old secret is not B's
	f("/auth/b", c("carol", now), 401, "")
	f("/auth/c", c("carol", now), 200, "carol")
	f("/auth/c", a("alice", now), 401, "")
	f("/auth/c", aOld("alice", now), 401, "") // a secret of its own drops [ticket]'s old one
	f("/auth/c", b("bob", now), 401, "")

	// A new cookie is signed with the policy's own secret and digest, and
	// is good on that site only.
	vb, err := verifier.New(verifier.Options{Secret: []byte(siteBSecret), Digest: verifier.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	newCookie := func(r answer) string {
		t.Helper()
		val, _, _ := strings.Cut(strings.TrimPrefix(r.header.Get("Set-Cookie"), "auth_tkt="), ";")
		if r.status != 200 || val == "" {
			t.Fatalf("%d, Set-Cookie %q: want 200 with a new ticket", r.status, r.header.Get("Set-Cookie"))
		}
		var tk verifier.Ticket
		if err := vb.Verify(&tk, []byte(val), netip.MustParseAddr("127.0.0.1"), time.Now()); err != nil || string(tk.UID) != "bob" {
			t.Fatalf("the new ticket %q does not verify with site B's secret and digest: %v", val, err)
		}
		return val
	}
	for _, r := range []struct {
		name string
		tkt  string
		acc  string
	}{
		{"refreshed", b("bob", now.Add(-90*time.Minute)), "0"},
		{"re-signed from the old secret", bOld("bob", now), "0"},
	} {
		resp := do(t, addr, "GET", "/auth/b", "Cookie: auth_tkt="+r.tkt)
		if got := resp.header.Get("X-Accel-Expires"); got != r.acc {
			t.Errorf("%s: X-Accel-Expires %q, want %q", r.name, got, r.acc)
		}
		fresh := newCookie(resp)
		f("/auth/b", fresh, 200, "bob")
		f("/auth", fresh, 401, "")
		f("/auth/c", fresh, 401, "")
	}
	// A fresh ticket on the current secret may be cached; an approval on
	// B's old secret never is (old_secret, counted for b).
	if r := do(t, addr, "GET", "/auth/b", "Cookie: auth_tkt="+b("bob", now)); r.header.Get("X-Accel-Expires") == "0" {
		t.Errorf("fresh ticket at /auth/b: X-Accel-Expires 0, want it cacheable")
	}
	m := do(t, addr, "GET", "/metrics")
	for _, want := range []string{
		`tktgate_auth_requests_total{policy="b",status="200",reason="old_secret"} 1`,
		`tktgate_auth_requests_total{policy="b",status="401",reason="bad_digest"}`,
		`tktgate_auth_requests_total{policy="c",status="401",reason="bad_digest"}`,
	} {
		if !strings.Contains(m.body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	noSecretIn(t, "/metrics", m.body)

	// The ticket subcommand mints with a policy's secret and digest.
	mint := func(args ...string) (int, string, string) {
		var out, errb strings.Builder
		code := run(append([]string{"ticket", "-config", path}, args...), &out, &errb)
		return code, strings.TrimSpace(out.String()), errb.String()
	}
	code, tb, _ := mint("-policy", "b", "-uid", "bob")
	if code != 0 {
		t.Fatalf("ticket -policy b: exit %d", code)
	}
	f("/auth/b", tb, 200, "bob")
	f("/auth", tb, 401, "")
	_, tc, _ := mint("-policy", "c", "-uid", "carol")
	f("/auth/c", tc, 200, "carol")
	f("/auth/b", tc, 401, "")
	_, ta, _ := mint("-uid", "alice")
	f("/auth/a", ta, 200, "alice")
	f("/auth/b", ta, 401, "")
	if code, out, stderr := mint("-policy", "nope", "-uid", "x"); code != 2 || out != "" || !strings.Contains(stderr, "has no [policy.nope] (it has: a, b, c)") {
		t.Errorf("ticket -policy nope: exit %d, %q %q; want 2 and the policies named", code, out, stderr)
	}

	// -check's report, and the log so far.
	var out, errb strings.Builder
	if code := run([]string{"-check", "-config", path}, &out, &errb); code != 0 {
		t.Errorf("-check: exit %d %s", code, errb.String())
	}
	noSecretIn(t, "-check", out.String()+errb.String())
	noSecretIn(t, "the log", logs.String())
}

// TestSiteSecretErrors: a config whose policies' secrets are wrong names
// each key and never a secret, in -check, in the error of a load, and in
// the log line of a refused reload.
func TestSiteSecretErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "empty"), "")
	bad := `
[ticket]
secret = "` + siteASecret + `"
secret_old = 42
[policy.b]
secret = "` + siteBSecret + `"
secret_file = "c.secret"
secret_old = ["` + siteBOld + `"]
digest_type = "` + siteCSecret + `"
[policy.c]
secret_file = "empty"
secret_old_file = "missing"
[policy.d]
secret = ""
`
	path := filepath.Join(dir, "bad.toml")
	writeFile(t, path, bad)
	_, err := LoadConfig(path)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("LoadConfig: %v, want a *ConfigError", err)
	}
	for _, want := range []string{
		"ticket.secret_old: want a string, not an integer",
		"policy.b.secret_file: set only one of policy.b.secret and policy.b.secret_file",
		"policy.b.secret_old: want a string, not an array",
		"policy.b.digest_type: unknown digest",
		"policy.c.secret_file: " + filepath.Join(dir, "empty") + " is empty",
		"policy.c.secret_old_file: cannot read " + filepath.Join(dir, "missing"),
		"policy.d.secret: empty secret",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// digest_type's value is shown (it names a digest), the secrets not:
	// leave the one planted there out.
	text := strings.ReplaceAll(err.Error(), `unknown digest "`+siteCSecret+`"`, "")
	noSecretIn(t, "the error", text)

	var out, errb strings.Builder
	if code := run([]string{"-check", "-config", path}, &out, &errb); code != 1 {
		t.Errorf("-check: exit %d, want 1", code)
	}
	noSecretIn(t, "-check", strings.ReplaceAll(out.String()+errb.String(), `unknown digest "`+siteCSecret+`"`, ""))

	// A reload to the bad config is refused and logged without secrets.
	good := filepath.Join(dir, "config.toml")
	writeFile(t, filepath.Join(dir, "site-c.secret"), siteCSecret)
	writeFile(t, good, siteConfig("site-c.secret"))
	_, hup, logs, _ := startServerAt(t, good)
	writeFile(t, good, strings.ReplaceAll(bad, siteCSecret, "MD4"))
	hup <- os.Interrupt
	waitLog(t, logs, "config reload failed", 1)
	noSecretIn(t, "the log", logs.String())
}

// TestWatchPolicySecretFile: a policy's own secret file is watched like
// [ticket]'s, and so is its old secret file.
func TestWatchPolicySecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	writeFile(t, filepath.Join(dir, "b.secret"), "b-first\n")
	writeFile(t, filepath.Join(dir, "b.old"), "")
	writeFile(t, path, watchTop+"[ticket]\nsecret = \"a-secret\"\n[policy.b]\nsecret_file = \"b.secret\"\nsecret_old_file = \"b.old\"\n")
	addr, _, _ := startWatched(t, path)
	first := ticketFor(t, "b-first")
	mustStatus(t, addr, "/auth/b", first, 200, "before")

	renameOver(t, filepath.Join(dir, "b.secret"), "b-second\n")
	if ok, took := eventually(t, addr, "/auth/b", ticketFor(t, "b-second"), 200); !ok {
		t.Fatalf("policy b's new secret is not in use %v after its secret_file changed", took)
	}
	mustStatus(t, addr, "/auth/b", first, 401, "after the secret file changed")
	writeFile(t, filepath.Join(dir, "b.old"), "b-first\n")
	if ok, took := eventually(t, addr, "/auth/b", first, 200); !ok {
		t.Fatalf("policy b's old secret is not in use %v after its secret_old_file changed", took)
	}
	mustStatus(t, addr, "/auth", first, 401, "at the default policy")
}

// TestDebugLogNoForeignDigest: another site's SHA256 ticket at an MD5
// policy parses with the rest of its digest in the uid; the debug line of
// the refusal does not show it.
func TestDebugLogNoForeignDigest(t *testing.T) {
	addr, _, logs := startServer(t, "[ticket]\nsecret = \"a\"\n[policy.b]\nsecret = \"b\"\ndigest_type = \"SHA256\"\n")
	sb := signer(t, verifier.Options{Secret: []byte("b"), Digest: verifier.SHA256})
	tkt := sb("bob", "", "", "127.0.0.1", time.Now())
	if r := do(t, addr, "GET", "/auth", "Cookie: auth_tkt="+tkt); r.status != 401 {
		t.Fatalf("B's ticket at /auth: %d, want 401", r.status)
	}
	if r := do(t, addr, "GET", "/auth/b", "Cookie: auth_tkt="+sb("bob", "", "", "127.0.0.1", time.Now().Add(-3*time.Hour))); r.status != 401 {
		t.Fatalf("B's expired ticket at /auth/b: %d, want 401", r.status)
	}
	waitLog(t, logs, `"reason":"expired","uid":"bob"`, 1)
	raw, _ := base64.StdEncoding.DecodeString(tkt)
	if tail := string(raw[40:64]); strings.Contains(logs.String(), tail) {
		t.Errorf("the log shows part of the ticket's digest %q:\n%s", tail, logs.String())
	}
	waitLog(t, logs, `"reason":"bad_digest","uid":""`, 1)
}

// TestMigrationTableCoversEveryDirective: the README's migration table
// names every directive of the installed mod_auth_tkt, read from its
// command table's names in the module itself (26 in 2.3.99), each with
// its key or the reason it has none.
func TestMigrationTableCoversEveryDirective(t *testing.T) {
	so := filepath.Join(apachetest.ModulesDir, "mod_auth_tkt.so")
	bin, err := os.ReadFile(so)
	if err != nil {
		e2e.SkipOrFail(t, "mod_auth_tkt not installed: %v", err)
	}
	names := map[string]bool{}
	directive := regexp.MustCompile(`^TKTAuth[A-Za-z]+$`)
	for _, s := range bytes.Split(bin, []byte{0}) { // C strings
		if directive.Match(s) {
			names[string(s)] = true
		}
	}
	if len(names) < 20 {
		t.Fatalf("%s: found only %d directive names: %v", so, len(names), names)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(readme), "### Migrating from Apache TKTAuth* directives")
	table, _, _ = strings.Cut(table, "\n### ")
	for name := range names {
		if !regexp.MustCompile("`" + name + "[` ]").MatchString(table) {
			t.Errorf("README's migration table does not name %s", name)
		}
	}
}
