package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// revocationFile writes a revocation file of n entries, the shape a busy
// site's list has: half users, half tickets, and one all entry older than
// every ticket in the tests. alice has both kinds, a uid entry of an hour
// ago and another ticket, so that her fresh ticket is found and checked
// against both. With sameSecond, alice's other tickets are dated around
// now: her fresh ticket shares a second with one of them, and takes the
// longest (and rare) way through, its signature hashed and compared. It
// returns the config lines naming the file.
func revocationFile(tb testing.TB, n int, sameSecond bool) string {
	tb.Helper()
	now := time.Now().Unix()
	var b strings.Builder
	i := 0
	if n > 0 {
		fmt.Fprintf(&b, "all %d\nuid alice %d\n", now-7200, now-3600)
		i = 2
		for d := int64(-1); sameSecond && d <= 5; d++ {
			fmt.Fprintf(&b, "ticket %016x %d alice\n", uint64(d+100), now+d)
			i++
		}
		if !sameSecond {
			fmt.Fprintf(&b, "ticket 0123456789abcdef %d alice\n", now-60)
			i++
		}
	}
	for ; i < n; i++ {
		if i%2 == 0 {
			fmt.Fprintf(&b, "uid user%d %d %d\n", i, now-int64(i%3600), now-int64(i%3600))
		} else {
			fmt.Fprintf(&b, "ticket %016x %d user%d\n", uint64(i)*0x9e3779b97f4a7c15, now-int64(i%3600), i)
		}
	}
	path := filepath.Join(tb.TempDir(), "revocations")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("\n[revocation]\nfile = %q\n", path)
}

// BenchmarkHandlerRevocations is BenchmarkHandler's MD5/ok with a
// revocation list of 0, 1,000 and 100,000 entries (see revocationFile:
// alice's ticket is looked up and found on every request), and with
// 100,000 where her ticket also shares its second with one of her
// revoked tickets. benchmarks/instructions.sh compares their
// instructions per request with MD5/ok's, which has no list.
func BenchmarkHandlerRevocations(b *testing.B) {
	for _, c := range []struct {
		name       string
		n          int
		sameSecond bool
	}{{"0", 0, false}, {"1000", 1000, false}, {"100000", 100000, false}, {"100000_same_second", 100000, true}} {
		b.Run(c.name, func(b *testing.B) {
			// No collection while the list is built: instructions.sh
			// takes the difference of two runs, which a collection in
			// one only would skew by a tenth.
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			s, ctx, run := handlerFixture(b, baseConfig+revocationFile(b, c.n, c.sameSecond), "")
			if got := s.snap.Load().revs.entries; got != c.n {
				b.Fatalf("%d entries in force, want %d", got, c.n)
			}
			run()
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("status %d", ctx.Response.StatusCode())
			}
			b.ReportAllocs()
			for b.Loop() {
				run()
			}
		})
	}
}
