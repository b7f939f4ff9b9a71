package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

// revSetup writes a config (baseConfig, watched every 100ms) whose
// revocation file holds entries.
func revSetup(t *testing.T, extra, entries string) (cfgPath, revPath string) {
	t.Helper()
	dir := t.TempDir()
	revPath = filepath.Join(dir, "revocations")
	writeFile(t, revPath, entries)
	cfgPath = filepath.Join(dir, "config.toml")
	writeFile(t, cfgPath, watchTop+baseConfig+"\n[revocation]\nfile = \"revocations\"\n"+extra)
	return cfgPath, revPath
}

// revoke runs tktgate revoke -config cfgPath args in-process.
func revoke(t *testing.T, cfgPath string, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(append([]string{"revoke", "-config", cfgPath}, args...)...)
	if code != 0 {
		t.Fatalf("tktgate revoke %q: exit %d: %s", args, code, errOut)
	}
	return out
}

// authAs asks addr's /auth with ticket as the auth_tkt cookie.
func authAs(t *testing.T, addr, path, ticket string) answer {
	t.Helper()
	return do(t, addr, "GET", path, "Cookie: auth_tkt="+ticket, "X-Original-URL: https://app.example.com/page")
}

// wantRevoked checks the answer to a revoked ticket: as for an expired
// one (401, the cookie cleared, no identity), but to the login URL.
func wantRevoked(t *testing.T, a answer, what string) {
	t.Helper()
	loc := a.header.Get("Location")
	sc := a.header.Get("Set-Cookie")
	if a.status != 401 || !strings.HasPrefix(loc, "https://login.example.com/login?back=") ||
		!strings.HasPrefix(sc, "auth_tkt=;") || !strings.Contains(sc, "expires=") || a.header.Get("X-Remote-User") != "" {
		t.Errorf("%s: %d, Location %q, Set-Cookie %q, X-Remote-User %q; want 401 to the login URL, the cookie cleared, no user",
			what, a.status, loc, sc, a.header.Get("X-Remote-User"))
	}
}

func wantUser(t *testing.T, a answer, user, what string) {
	t.Helper()
	if a.status != 200 || a.header.Get("X-Remote-User") != user {
		t.Errorf("%s: %d, X-Remote-User %q; want 200 %s (Location %q)", what, a.status, a.header.Get("X-Remote-User"), user, a.header.Get("Location"))
	}
}

// Each kind of entry, in a file read at start-up: it refuses exactly the
// tickets it names, and "before T" means dated (in whole seconds) before
// T, so a ticket dated T itself, minted in T's second, is accepted.
func TestRevocationEntryKinds(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	T := now.Unix()
	sign := signer(t, verifier.Options{})
	at := func(uid, data string, ts time.Time) string { return sign(uid, "", data, "127.0.0.1", ts) }
	cfgPath, _ := revSetup(t, "", fmt.Sprintf(`# a comment, then a blank line

all %d
uid alice %d
uid "carol smith" %s 2020-01-01T00:00:00Z
`, T-3000, T, now.UTC().Format(time.RFC3339)))
	addr, _, logs, _ := startServerAt(t, cfgPath)

	wantRevoked(t, authAs(t, addr, "/auth", at("zoe", "", now.Add(-3600*time.Second))), "all: a ticket dated before it")
	wantUser(t, authAs(t, addr, "/auth", at("zoe", "", now.Add(-2999*time.Second))), "zoe", "all: a ticket dated after it")
	wantRevoked(t, authAs(t, addr, "/auth", at("alice", "", now.Add(-time.Second))), "uid: the user's ticket dated the second before")
	wantUser(t, authAs(t, addr, "/auth", at("alice", "", now)), "alice", "uid: the user's ticket dated the second itself")
	wantUser(t, authAs(t, addr, "/auth", at("bob", "", now.Add(-10*time.Second))), "bob", "uid: another user")
	wantRevoked(t, authAs(t, addr, "/auth", at("carol smith", "", now.Add(-10*time.Second))), "uid: a quoted user")
	wantUser(t, authAs(t, addr, "/auth", at("carol", "", now.Add(-10*time.Second))), "carol", "uid: a user that is a prefix of one revoked")
	// A policy answers the same.
	wantRevoked(t, do(t, addr, "GET", "/auth/admin", "Cookie: auth_tkt="+sign("alice", "admin", "", "127.0.0.1", now.Add(-time.Second))), "uid, on a policy")

	// One ticket: dave's first, not his second of the same second.
	dave1, dave2 := at("dave", "one", now.Add(-5*time.Second)), at("dave", "two", now.Add(-5*time.Second))
	out := revoke(t, cfgPath, "-ticket", "auth_tkt="+dave1)
	if !strings.Contains(out, `uid "dave"`) || strings.Contains(out, dave1) {
		t.Errorf("revoke -ticket says %q: want dave named, and never the ticket", out)
	}
	if ok, took := eventually(t, addr, "/auth", dave1, 401); !ok {
		t.Fatalf("the revoked ticket is still accepted %v after revoke -ticket", took)
	}
	wantRevoked(t, authAs(t, addr, "/auth", dave1), "ticket")
	wantUser(t, authAs(t, addr, "/auth", dave2), "dave", "ticket: another ticket of the same user and second")

	m := do(t, addr, "GET", "/metrics").body
	for _, want := range []string{
		`tktgate_auth_requests_total{policy="",status="401",reason="revoked"} `,
		`tktgate_auth_requests_total{policy="admin",status="401",reason="revoked"} 1`,
		"tktgate_revocation_entries 4\n",
		`tktgate_revocation_reloads_total{result="success"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	l := logs.String()
	for _, kind := range []string{"all", "uid", "ticket"} {
		if !strings.Contains(l, `"msg":"refused a revoked ticket","policy":"","uid":`) || !strings.Contains(l, `"entry":"`+kind+`"`) {
			t.Errorf("no log line for a ticket revoked by a %s entry:\n%s", kind, l)
		}
	}
	if strings.Contains(l, dave1) {
		t.Error("a ticket reached the log")
	}
}

// The acceptance: what tktgate revoke writes takes effect on a
// running tktgate within 2 seconds, without a signal; another user is
// not affected; a ticket minted after the revocation is accepted.
func TestRevokeTakesEffectWithoutSignal(t *testing.T) {
	cfgPath, revPath := revSetup(t, "", "")
	addr, hup, _, _ := startServerAt(t, cfgPath)
	sign := signer(t, verifier.Options{})
	alice, bob := sign("alice", "", "", "127.0.0.1", time.Now()), sign("bob", "", "", "127.0.0.1", time.Now())
	mustStatus(t, addr, "/auth", alice, 200, "before")

	start := time.Now()
	out := revoke(t, cfgPath, "-uid", "alice")
	end := time.Now()
	if !strings.HasPrefix(out, `revoked: tickets of uid "alice" issued before `) {
		t.Errorf("revoke -uid says %q", out)
	}
	ok, took := eventually(t, addr, "/auth", alice, 401)
	if !ok {
		t.Fatalf("alice's ticket is still accepted %v after tktgate revoke returned", took)
	}
	t.Logf("refused %v after tktgate revoke returned", took)
	if len(hup) != 0 {
		t.Fatal("a signal was sent")
	}
	mustStatus(t, addr, "/auth", bob, 200, "another user, after")

	// T is the revocation instant rounded up to a whole second.
	entries, err := readRevocationFile(revPath)
	if err != nil || len(entries) != 1 {
		t.Fatalf("the file holds %v, %v; want one entry", entries, err)
	}
	if e := entries[0]; e.kind != revUID || e.uid != "alice" || e.at < start.Unix()+1 || e.at > end.Unix()+1 || e.made < start.Unix() || e.made > end.Unix() {
		t.Errorf("the entry is %+v; want alice, before the second after %v..%v", e, start, end)
	}
	// A new login, minted after the revocation reached tktgate.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	mustStatus(t, addr, "/auth", sign("alice", "", "", "127.0.0.1", time.Now()), 200, "a ticket minted after the revocation")
	mustStatus(t, addr, "/auth", alice, 401, "the old ticket, still")
}

// The refresh path never hands a revoked ticket a new one: not when it
// is due for a refresh, nor as a URL ticket's cookie.
func TestRevokedTicketIsNeverRefreshed(t *testing.T) {
	now := time.Now()
	cfgPath, _ := revSetup(t, "", fmt.Sprintf("uid alice %d\n", now.Unix()+1))
	addr, _, _, _ := startServerAt(t, cfgPath)
	sign := signer(t, verifier.Options{})
	due := sign("alice", "", "", "127.0.0.1", now.Add(-90*time.Minute)) // past the refresh point of 2h x 0.5
	wantRevoked(t, authAs(t, addr, "/auth", due), "a ticket due for a refresh")
	a := do(t, addr, "GET", "/auth", "X-Original-URL: https://app.example.com/page?auth_tkt="+due)
	wantRevoked(t, a, "a URL ticket")

	// The same ticket of another user is refreshed: the test would see it.
	b := authAs(t, addr, "/auth", sign("bob", "", "", "127.0.0.1", now.Add(-90*time.Minute)))
	if sc := b.header.Get("Set-Cookie"); b.status != 200 || !strings.HasPrefix(sc, "auth_tkt=") || strings.HasPrefix(sc, "auth_tkt=;") {
		t.Errorf("bob's ticket due for a refresh: %d, Set-Cookie %q; want 200 and a new ticket", b.status, sc)
	}
}

// A revocation and a refresh racing each other: a running tktgate that
// refreshed alice's ticket before it loaded her revocation (the file
// arrived late) refuses the refreshed ticket too once it has, though it
// is dated after the revocation's time: the entry, new to it, also covers
// what it handed out until it loaded the entry. A ticket minted after
// that is accepted.
func TestRevocationCoversRefreshBeforeLoad(t *testing.T) {
	cfgPath, revPath := revSetup(t, "", "")
	addr, _, logs, _ := startServerAt(t, cfgPath)
	sign := signer(t, verifier.Options{})
	made := time.Now().Add(-30 * time.Second).Unix() // revoked 30 s ago; the file comes now
	old := sign("alice", "", "", "127.0.0.1", time.Now().Add(-90*time.Minute))
	a := authAs(t, addr, "/auth", old)
	refreshed, ok := strings.CutPrefix(strings.Split(a.header.Get("Set-Cookie"), ";")[0], "auth_tkt=")
	if a.status != 200 || !ok || refreshed == "" {
		t.Fatalf("no refresh before the revocation: %d %q", a.status, a.header.Get("Set-Cookie"))
	}
	mustStatus(t, addr, "/auth", refreshed, 200, "the refreshed ticket, before the revocation arrives")

	renameOver(t, revPath, fmt.Sprintf("uid alice %d %d\n", made, made))
	waitLog(t, logs, "revocation list reloaded", 1)
	wantRevoked(t, authAs(t, addr, "/auth", refreshed), "the ticket refreshed before the revocation arrived")
	wantRevoked(t, authAs(t, addr, "/auth", old), "the ticket it was refreshed from")
	later := sign("alice", "", "", "127.0.0.1", time.Now().Add(2*time.Second)) // within max_future
	wantUser(t, authAs(t, addr, "/auth", later), "alice", "a ticket minted after the load")

	// A tktgate started with the entry takes it as written: the ticket
	// refreshed later than T is not revoked there (it never handed it out
	// before the revocation).
	addr2, _, _, _ := startServerAt(t, cfgPath)
	wantUser(t, authAs(t, addr2, "/auth", refreshed), "alice", "a tktgate started after the revocation")
}

// The window an entry new to a running tktgate gets, by how it was made.
func TestRevocationNewEntryWindow(t *testing.T) {
	cfg, err := ParseConfig([]byte(baseConfig), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 300_000_000)
	load := now.Unix() + 1
	empty := compileRevocations(nil, cfg, nil, now)
	f := func(e revEntry, prev *revocations, want revWindow) {
		t.Helper()
		e.kind, e.uid = revUID, "u"
		got, _ := compileRevocations([]revEntry{e}, cfg, prev, now).user("u")
		if got.win != want {
			t.Errorf("%+v (prev %v): window %+v, want %+v", e, prev != nil, got.win, want)
		}
	}
	T := now.Unix() - 60
	f(revEntry{at: T, made: T - 1}, nil, revWindow{before: T})               // at start: as written
	f(revEntry{at: T, made: T - 1}, empty, revWindow{before: load})          // new: up to the load
	f(revEntry{at: T}, empty, revWindow{before: load})                       // MADE left out: at
	f(revEntry{at: load + 60, made: T}, empty, revWindow{before: load + 60}) // a later T covers it
	f(revEntry{at: T - 600, made: T}, empty, revWindow{before: T - 600, from: T, to: load})
	kept := compileRevocations([]revEntry{{kind: revUID, uid: "u", at: T, made: T}}, cfg, empty, now.Add(-time.Minute))
	ku, _ := kept.user("u")
	f(revEntry{at: T, made: T}, kept, ku.win)                      // known: its window stays
	f(revEntry{at: T + 1, made: T}, kept, revWindow{before: load}) // changed: new
}

// Entries that can no longer match a valid ticket are dropped, by the
// server and by every write of tktgate revoke; with a policy without
// timeout, never.
func TestRevocationEntriesExpire(t *testing.T) {
	cfg, err := ParseConfig([]byte(baseConfig), "config.toml") // timeout 2h, max_future 5m
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ago := func(d time.Duration) int64 { return now.Add(-d).Unix() }
	// Dropped 2h + 5m + 1s after the end of what they cover, plus the
	// hour's allowance for the trip.
	gone, kept := 3*time.Hour+6*time.Minute, 3*time.Hour+4*time.Minute
	entries := []revEntry{
		{kind: revAll, at: ago(gone)},
		{kind: revUID, uid: "old", at: ago(gone), made: ago(gone)},
		{kind: revUID, uid: "made-late", at: ago(4 * time.Hour), made: ago(kept)},
		{kind: revUID, uid: "recent", at: ago(kept)},
		{kind: revTicket, uid: "t", id: 1, at: ago(gone)},
		{kind: revTicket, uid: "t", id: 2, at: ago(kept)},
	}
	r := compileRevocations(entries, cfg, nil, now)
	_, old := r.user("old")
	tu, _ := r.user("t")
	if r.entries != 3 || r.all.win != noWindow || old || tu.n != 1 || r.tickets[0].id != 2 {
		t.Errorf("in force: %d entries, all %+v, old %v, tickets %v; want made-late, recent and ticket 2", r.entries, r.all.win, old, r.tickets)
	}
	if want := time.Unix(ago(kept), 0).Add(2*time.Hour + 5*time.Minute + time.Second + time.Hour); !r.nextDrop.Equal(want) {
		t.Errorf("next drop %v, want %v", r.nextDrop, want)
	}
	forever, err := ParseConfig([]byte(baseConfig+"[policy.forever]\ntimeout = 0\n"), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if r := compileRevocations(entries, forever, nil, now); r.entries != 6 || !r.nextDrop.IsZero() {
		t.Errorf("with a policy without timeout: %d entries, next drop %v; want all 6, never", r.entries, r.nextDrop)
	}

	// tktgate revoke drops them from the file, and -list marks them.
	var b []byte
	for _, e := range entries {
		b = append(appendRevEntry(b, e), '\n')
	}
	cfgPath, revPath := revSetup(t, "", string(b))
	_, list, _ := runCLI("revoke", "-config", cfgPath, "-list")
	if n := strings.Count(list, "# expired: "); n != 3 {
		t.Errorf("-list marks %d entries expired, want 3:\n%s", n, list)
	}
	if out := revoke(t, cfgPath, "-uid", "new"); !strings.Contains(out, "(dropped 3 expired entries)") {
		t.Errorf("revoke says %q; want 3 expired entries dropped", out)
	}
	if after, err := readRevocationFile(revPath); err != nil || len(after) != 4 {
		t.Errorf("after a write the file holds %d entries (%v), want 4", len(after), err)
	}
}

// A file that does not load keeps the list in force, and is reported
// once; a fixed one is loaded.
func TestRevocationBadFileKeepsList(t *testing.T) {
	cfgPath, revPath := revSetup(t, "", fmt.Sprintf("uid alice %d\n", time.Now().Unix()+1))
	addr, _, logs, _ := startServerAt(t, cfgPath)
	sign := signer(t, verifier.Options{})
	alice, bob := sign("alice", "", "", "127.0.0.1", time.Now()), sign("bob", "", "", "127.0.0.1", time.Now())
	mustStatus(t, addr, "/auth", alice, 401, "before")

	cookie := sign("mallory", "", "", "127.0.0.1", time.Now())
	renameOver(t, revPath, "uid bob 1\nbogus "+cookie+"\n")
	waitLog(t, logs, "revocation file reload failed", 1)
	time.Sleep(300 * time.Millisecond) // several polls: reported once
	l := logs.String()
	if n := strings.Count(l, "revocation file reload failed"); n != 1 || !strings.Contains(l, "revocations:2: unknown entry kind") {
		t.Errorf("reported %d times, want once, naming the line:\n%s", n, l)
	}
	if strings.Contains(l, cookie) {
		t.Error("the bad line's text reached the log")
	}
	mustStatus(t, addr, "/auth", alice, 401, "after a bad file")
	mustStatus(t, addr, "/auth", bob, 200, "after a bad file")
	if err := os.Remove(revPath); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, "revocation file reload failed", 2)
	mustStatus(t, addr, "/auth", alice, 401, "after the file went away")

	writeFile(t, revPath, fmt.Sprintf("uid bob %d\n", time.Now().Unix()+1))
	if ok, took := eventually(t, addr, "/auth", bob, 401); !ok {
		t.Fatalf("the fixed file is not in force %v after it was written", took)
	}
	mustStatus(t, addr, "/auth", alice, 200, "alice, no longer in the file")
	if m := do(t, addr, "GET", "/metrics").body; !strings.Contains(m, `tktgate_revocation_reloads_total{result="failure"} 2`) {
		t.Errorf("/metrics does not count 2 failed reloads")
	}
}

// At start-up (and for -check), a missing or bad file is an error of
// [revocation] file naming the file's line, and never its text.
func TestRevocationFileErrors(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	writeFile(t, cfgPath, baseConfig+"\n[revocation]\nfile = \"revocations\"\n")
	f := func(content string, want ...string) {
		t.Helper()
		os.Remove(filepath.Join(dir, "revocations"))
		if content != "-" {
			writeFile(t, filepath.Join(dir, "revocations"), content)
		}
		_, err := LoadConfig(cfgPath)
		code, _, stderr := runCLI("-check", "-config", cfgPath)
		if err == nil || code != 1 {
			t.Errorf("%q: LoadConfig %v, -check %d; want failures", content, err, code)
			return
		}
		for _, w := range append(want, "revocation.file") {
			if !strings.Contains(err.Error(), w) || !strings.Contains(stderr, w) {
				t.Errorf("%q: error %q, -check %q; want %q", content, err, stderr, w)
			}
		}
		if strings.Contains(err.Error(), "sekrit") {
			t.Errorf("%q: the error shows the line's text: %v", content, err)
		}
	}
	f("-", "cannot read", "no such file", "create it empty")
	f("uid alice\n", "revocations:1: want: uid USER BEFORE [MADE]")
	f("\n# c\nall now\n", "revocations:3: BEFORE: want unix seconds or an RFC 3339 time")
	f("sekrit 1\n", "revocations:1: unknown entry kind")
	f("uid \"al\nice\" 1\n", "revocations:1: a quoted field does not end")
	f("uid \"al\\x01ce\" 1\n", "revocations:1: the user contains a control character")
	f("uid \" alice\" 1\n", "begins or ends with a space")
	f("ticket 0123 1 alice\n", "ID: want 16 lowercase hex digits")
	f("ticket 0123456789abcdef 1\n", "want: ticket ID DATE USER")
	f("all 1 2 3\n", "want: all BEFORE [MADE]")
	f("all 99999999999999999999\n", "out of range")
	writeFile(t, filepath.Join(dir, "revocations"), "")
	if _, err := LoadConfig(cfgPath); err != nil {
		t.Errorf("an empty file: %v", err)
	}
}

// The file format: every user survives a write and a read.
func TestRevocationFileRoundTrip(t *testing.T) {
	var entries []revEntry
	for _, uid := range []string{"alice", "Alice Smith", "jürgen", "\xff\xfe", `qu"ote`, "a\\b", "#hash", ""} {
		entries = append(entries, revEntry{kind: revUID, uid: uid, at: 1800000000, made: 1799999999})
		entries = append(entries, revEntry{kind: revTicket, uid: uid, id: 0xfedcba9876543210, at: 1700000000})
	}
	entries = append(entries, revEntry{kind: revAll, at: 1800000001})
	var b []byte
	for _, e := range entries {
		b = append(appendRevEntry(b, e), '\n')
	}
	got, err := parseRevocations(b, "f")
	if err != nil || len(got) != len(entries) {
		t.Fatalf("read back: %d entries, %v:\n%s", len(got), err, b)
	}
	for i := range got {
		if got[i] != entries[i] {
			t.Errorf("%+v read back as %+v", entries[i], got[i])
		}
	}
	if !strings.Contains(string(b), "uid alice 2027-01-15T08:00:00Z 2027-01-15T07:59:59Z\n") {
		t.Errorf("the file does not read as documented:\n%s", b)
	}
	// Unix seconds and other offsets are read too; a fraction of a
	// second of BEFORE counts as the next second.
	got, err = parseRevocations([]byte("uid a 1800000000\nuid b 2027-01-15T09:00:00+01:00\nall 2027-01-15T08:00:00.2Z\n"), "f")
	if err != nil || got[0].at != 1800000000 || got[1].at != 1800000000 || got[2].at != 1800000001 {
		t.Errorf("times read as %+v, %v", got, err)
	}
}

// The ID of a ticket entry is part of the file format: a file written by
// one version must name the same tickets for the next.
func TestTicketIDStable(t *testing.T) {
	for sig, want := range map[string]uint64{
		// Also computed by a separate implementation of the same steps
		// (Python, from the description in revocation.go).
		"0123456789abcdef0123456789abcdef": 0x5eb4822fd73cac41,
		"":                                 0xd8a310150df90781,
		"abc":                              0xebb5a5fd20e8456e,
	} {
		if got := ticketID([]byte(sig)); got != want {
			t.Errorf("ticketID(%q) = %#x, want %#x", sig, got, want)
		}
	}
}

// tktgate revoke's flags and messages.
func TestRevokeCLI(t *testing.T) {
	cfgPath, revPath := revSetup(t, "", "")
	fails := func(code int, want string, args ...string) {
		t.Helper()
		got, _, stderr := runCLI(append([]string{"revoke", "-config", cfgPath}, args...)...)
		if got != code || !strings.Contains(stderr, want) {
			t.Errorf("revoke %q: exit %d, %q; want %d and %q", args, got, stderr, code, want)
		}
	}
	fails(2, "give one of")
	fails(2, "give one of", "-uid", "a", "-all")
	fails(2, "-before goes with -uid or -all", "-ticket", "x", "-before", "now")
	fails(2, "-id is for -remove", "-id", "0123456789abcdef")
	fails(2, "-before:", "-uid", "a", "-before", "yesterday")
	fails(2, "-uid: the user contains a control character", "-uid", "a\nb")
	fails(2, "-policy: no policy", "-ticket", "x", "-policy", "nosuch")
	fails(2, "-ticket: not a mod_auth_tkt ticket with a MD5 digest", "-ticket", "c2VrcmV0LWNvb2tpZQ==")
	fails(1, `no entry for uid "nobody"`, "-remove", "-uid", "nobody")
	if _, _, stderr := runCLI("revoke", "-config", cfgPath, "-ticket", "c2VrcmV0LWNvb2tpZQ=="); strings.Contains(stderr, "c2VrcmV0") {
		t.Errorf("a bad -ticket is echoed: %q", stderr)
	}
	if code, out, _ := runCLI("revoke", "-h"); code != 0 || !strings.Contains(out, "-remove (-uid U | -all | -ticket VALUE | -id ID)") {
		t.Errorf("revoke -h: %d %q", code, out)
	}
	noRev := filepath.Join(t.TempDir(), "c.toml")
	writeFile(t, noRev, baseConfig)
	if code, _, stderr := runCLI("revoke", "-config", noRev, "-all"); code != 1 || !strings.Contains(stderr, "has no [revocation] file") {
		t.Errorf("without [revocation]: %d %q", code, stderr)
	}

	// -before: relative, unix and RFC 3339, rounded up; the later of two
	// times for one user wins.
	now := time.Now()
	revoke(t, cfgPath, "-uid", "a", "-before", "-1h")
	revoke(t, cfgPath, "-uid", "b", "-before", "2030-01-01T00:00:00.5Z")
	revoke(t, cfgPath, "-uid", "c", "-before", "1900000000")
	if out := revoke(t, cfgPath, "-uid", "c", "-before", "1899999999"); !strings.HasPrefix(out, "already revoked: ") {
		t.Errorf("an earlier time for c: %q", out)
	}
	revoke(t, cfgPath, "-all")
	sign := signer(t, verifier.Options{})
	tk := sign("dave", "", "", "10.0.0.1", now)
	revoke(t, cfgPath, "-ticket", tk)
	if out := revoke(t, cfgPath, "-ticket", tk); !strings.HasPrefix(out, "already revoked: ticket ") {
		t.Errorf("the same ticket again: %q", out)
	}
	entries, err := readRevocationFile(revPath)
	if err != nil || len(entries) != 5 {
		t.Fatalf("the file: %v, %v; want 5 entries", entries, err)
	}
	h := now.Add(-time.Hour)
	if entries[0].at != h.Unix()+1 && entries[0].at != h.Unix()+2 || entries[1].at != 1893456001 || entries[2].at != 1900000000 ||
		entries[3].kind != revAll || entries[4].kind != revTicket || entries[4].uid != "dave" || entries[4].at != now.Unix() {
		t.Errorf("entries %+v", entries)
	}
	_, list, _ := runCLI("revoke", "-config", cfgPath, "-list")
	id := strings.Fields(strings.Split(list, "\n")[4])[1]
	if strings.Count(list, "\n") != 5 || !strings.HasPrefix(list, "uid a ") || strings.Contains(list, tk) {
		t.Errorf("-list:\n%s", list)
	}
	if out := revoke(t, cfgPath, "-remove", "-id", id); !strings.HasPrefix(out, "removed 1 entry: ticket "+id) {
		t.Errorf("-remove -id: %q", out)
	}
	revoke(t, cfgPath, "-remove", "-all")
	revoke(t, cfgPath, "-remove", "-uid", "b")
	if entries, _ := readRevocationFile(revPath); len(entries) != 2 || entries[0].uid != "a" || entries[1].uid != "c" {
		t.Errorf("after removals: %+v", entries)
	}
	// A broken file is not overwritten.
	writeFile(t, revPath, "uid a 1\nnonsense\n")
	fails(1, "revocations:2: unknown entry kind", "-uid", "x")
	if b, _ := os.ReadFile(revPath); string(b) != "uid a 1\nnonsense\n" {
		t.Errorf("the broken file was changed: %q", b)
	}
}

// A new file gets mode 0640; an existing one keeps its mode.
func TestRevokeFileMode(t *testing.T) {
	cfgPath, revPath := revSetup(t, "", "")
	os.Remove(revPath)
	revoke(t, cfgPath, "-uid", "a")
	if fi, err := os.Stat(revPath); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("a new file: %v %v; want 0640", fi.Mode(), err)
	}
	if err := os.Chmod(revPath, 0o604); err != nil {
		t.Fatal(err)
	}
	revoke(t, cfgPath, "-uid", "b")
	if fi, err := os.Stat(revPath); err != nil || fi.Mode().Perm() != 0o604 {
		t.Errorf("an existing file: %v %v; want its 0604 kept", fi.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(revPath), ".revocations.tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// Twenty tktgate revoke processes at once: every entry is kept.
func TestRevokeConcurrentRuns(t *testing.T) {
	cfgPath, revPath := revSetup(t, "", "")
	bin := binary(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "revoke", "-config", cfgPath, "-uid", fmt.Sprintf("user%d", i))
			<-start
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("user%d: %v: %s", i, err, out)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	entries, err := readRevocationFile(revPath)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.uid] = true
	}
	if len(seen) != n {
		t.Errorf("%d of %d concurrent revocations are in the file:\n%v", len(seen), n, entries)
	}
}

// A change of the revocation file alone reloads it alone; SIGHUP reads
// it with the config.
func TestRevocationReloadsAlone(t *testing.T) {
	cfgPath, revPath := revSetup(t, "", "")
	addr, hup, logs, _ := startServerAt(t, cfgPath)
	sign := signer(t, verifier.Options{})
	alice := sign("alice", "", "", "127.0.0.1", time.Now())
	writeFile(t, revPath, fmt.Sprintf("uid alice %d\n", time.Now().Unix()+1))
	waitLog(t, logs, "revocation list reloaded", 1)
	mustStatus(t, addr, "/auth", alice, 401, "after the file changed")
	if strings.Contains(logs.String(), "config reloaded") {
		t.Error("a change of the revocation file reloaded the config")
	}
	// Both change: the config is reloaded, with the file.
	bob := sign("bob", "", "", "127.0.0.1", time.Now())
	writeFile(t, revPath, fmt.Sprintf("uid bob %d\n", time.Now().Unix()+1))
	writeFile(t, cfgPath, watchTop+baseConfig+"\n[revocation]\nfile = \"revocations\"\n[policy.fresh]\n")
	waitLog(t, logs, "config reloaded", 1)
	mustStatus(t, addr, "/auth/fresh", bob, 401, "after both changed")
	mustStatus(t, addr, "/auth/fresh", alice, 200, "after both changed")

	// Without watching, SIGHUP.
	writeFile(t, cfgPath, "watch = false\n"+baseConfig+"\n[revocation]\nfile = \"revocations\"\n")
	waitLog(t, logs, "config reloaded", 2)
	writeFile(t, revPath, "")
	time.Sleep(300 * time.Millisecond)
	mustStatus(t, addr, "/auth", bob, 401, "watch off, before SIGHUP")
	hup <- nil
	waitLog(t, logs, "config reloaded", 3)
	mustStatus(t, addr, "/auth", bob, 200, "after SIGHUP")
}

// A revoked ticket on a policy with guest login and fallback becomes the
// guest, as an expired one does (with its cookie cleared); with guest
// login alone it is refused, as an expired one is.
func TestRevocationGuest(t *testing.T) {
	cfgPath, _ := revSetup(t, "[policy.guests]\nguest_login = true\nguest_fallback = true\n[policy.noguestfallback]\nguest_login = true\n",
		fmt.Sprintf("uid alice %d\n", time.Now().Unix()+1))
	addr, _, _, _ := startServerAt(t, cfgPath)
	alice := signer(t, verifier.Options{})("alice", "", "", "127.0.0.1", time.Now())
	a := authAs(t, addr, "/auth/guests", alice)
	if wantUser(t, a, "guest", "guest fallback"); !strings.HasPrefix(a.header.Get("Set-Cookie"), "auth_tkt=;") {
		t.Errorf("guest fallback: Set-Cookie %q; want the revoked cookie cleared", a.header.Get("Set-Cookie"))
	}
	wantRevoked(t, authAs(t, addr, "/auth/noguestfallback", alice), "guest login without fallback")
}

// The question tktgate explain asks: whether a ticket is revoked, and by
// which kind of entry.
func TestRevokedBy(t *testing.T) {
	cfgPath, _ := revSetup(t, "", fmt.Sprintf("uid alice %d\n", time.Now().Unix()+1))
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var tk verifier.Ticket
	v := cfg.Default.Verifier
	list := revocationsOf(cfg, time.Now())
	s := newServer(slog.New(slog.NewJSONHandler(io.Discard, nil)), newMetrics())
	s.load(cfg)
	snap := s.snap.Load()
	for uid, want := range map[string]string{"alice": "uid", "bob": ""} {
		val := v.Sign(nil, []byte(uid), nil, nil, netip.MustParseAddr("127.0.0.1"), time.Now())
		if err := v.Verify(&tk, val, netip.MustParseAddr("127.0.0.1"), time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := list.check(v, &tk).String(); got != want {
			t.Errorf("%s: revoked by %q, want %q", uid, got, want)
		}
		if got := snap.revokedBy(snap.def, &tk).String(); got != want {
			t.Errorf("%s: a server says revoked by %q, want %q", uid, got, want)
		}
	}
	if revocationsOf(&Config{}, time.Now()) != nil {
		t.Error("a config without [revocation] has a list")
	}
}

// [revocation] is strict like every table.
func TestRevocationConfigKeys(t *testing.T) {
	f := func(table, want string) {
		t.Helper()
		conf := baseConfig + table
		if !strings.HasPrefix(table, "[") {
			conf = table + baseConfig
		}
		_, err := ParseConfig([]byte(conf), filepath.Join(t.TempDir(), "c.toml"))
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want %q", table, err, want)
		}
	}
	f("[revocation]\nfil = \"x\"\n", "revocation.fil: unknown key (did you mean file?)")
	f("[revocation]\nFile = \"x\"\n", `revocation.File: key must be spelled "file"`)
	f("[revocation]\nfile = 5\n", "revocation.file: want a string, not an integer")
	f("[revocation]\nfile = \"\"\n", "revocation.file: empty file name")
	f("revocation = \"x\"\n", "revocation: must be a table ([revocation]), not a string")
	f("[ticket.revocation]\n", "ticket.revocation: unknown key")
}

// The memory a list of 100,000 entries takes, half users and half
// tickets (the benchmarks' shape), as README.md and benchmarks/README.md
// quote it: it must stay near that.
func TestRevocationMemory(t *testing.T) {
	path := revocationConfigFile(t, 100000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// Read, parsed and compiled, as a server does; what stays is the list.
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	r := compileRevocations(cfg.revoked, cfg, nil, time.Now())
	cfg.revoked = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(cfg)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("100,000 entries: %d entries in force, heap +%.1f MiB (%d bytes an entry)", r.entries, float64(grew)/(1<<20), grew/int64(r.entries))
	if per := grew / int64(r.entries); per > 150 {
		t.Errorf("%d bytes an entry; README.md says about 110", per)
	}
	runtime.KeepAlive(r)
}

// revocationConfigFile is a config file with revocationFile(n).
func revocationConfigFile(t *testing.T, n int) string {
	path := filepath.Join(t.TempDir(), "config.toml")
	writeFile(t, path, baseConfig+revocationFile(t, n, false))
	return path
}

// FuzzRevocationFile: any file text parses or is refused, never a panic,
// and what parses is written back and read again unchanged.
func FuzzRevocationFile(f *testing.F) {
	f.Add([]byte("all 1\nuid alice 2026-12-01T12:00:00Z 1\nticket 0123456789abcdef 5 \"Bob \\xff\"\n# c\n\n"))
	f.Add([]byte("uid \"a\\\"b\" 2026-12-01T12:00:00.5+01:00\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseRevocations(data, "f")
		if err != nil {
			return
		}
		var b []byte
		for _, e := range entries {
			b = append(appendRevEntry(b, e), '\n')
		}
		again, err := parseRevocations(b, "f")
		if err != nil || len(again) != len(entries) {
			t.Fatalf("%q written as %q reads back as %v, %v", data, b, again, err)
		}
		for i := range again {
			if again[i] != entries[i] {
				t.Fatalf("%+v written as %q reads back as %+v", entries[i], b, again[i])
			}
		}
	})
}

// A running tktgate drops an entry from memory when it is due, without a
// change of the file.
func TestRevocationDroppedWhileRunning(t *testing.T) {
	allowance, every := revocationAllowance, minDropEvery
	revocationAllowance, minDropEvery = 0, 100*time.Millisecond
	t.Cleanup(func() { revocationAllowance, minDropEvery = allowance, every })
	// Timeout 1s, no future tickets: alice's entry can match nothing 2 s
	// after its time.
	cfgPath, _ := revSetup(t, "", fmt.Sprintf("uid alice %d\nuid bob %d\n", time.Now().Unix(), time.Now().Unix()+3600))
	conf, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfgPath, strings.Replace(string(conf), "timeout = \"2h\"", "timeout = \"1s\"\nmax_future = \"0\"", 1))
	addr, _, logs, _ := startServerAt(t, cfgPath)
	if m := do(t, addr, "GET", "/metrics").body; !strings.Contains(m, "tktgate_revocation_entries 2\n") {
		t.Fatal("the list does not start with 2 entries")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(do(t, addr, "GET", "/metrics").body, "tktgate_revocation_entries 1\n") {
		if time.Now().After(deadline) {
			t.Fatalf("alice's entry is still in force 5 s after it could match anything:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The audit line of a revoked ticket has its reason and names its user:
// the signature held.
func TestRevocationAuditLine(t *testing.T) {
	g := newAuditGate(t, auditWith("denied")+revocationFile(t, 1000, false))
	alice := signer(t, verifier.Options{})("alice", "", "", "127.0.0.1", time.Now().Add(-2*time.Hour+time.Minute))
	if status := g.ask(t, "/auth", "127.0.0.1", "Cookie: auth_tkt="+alice); status != 401 {
		t.Fatalf("status %d, want 401", status)
	}
	ls := g.lines(t)
	if len(ls) != 1 || ls[0]["reason"] != "revoked" || ls[0]["uid"] != "alice" {
		t.Errorf("audit lines %v; want one, reason revoked, uid alice", ls)
	}
}
