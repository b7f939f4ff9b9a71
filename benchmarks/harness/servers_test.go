package main

import (
	"os"
	"strings"
	"testing"
)

// The cached row measures nginx/tktgate-auth-cached.conf with
// nginx/tktgate-cache.conf: every line the harness puts into its auth
// location, and its cache map, must be the shipped files', so that a
// change there cannot leave the benchmark measuring something else.
func TestCachedRowIsTheShippedFile(t *testing.T) {
	var shipped string
	for _, f := range []string{"../../nginx/tktgate-auth-cached.conf", "../../nginx/tktgate-cache.conf"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		shipped += string(b)
	}
	lines := strings.Split(nginxCache+"\n"+nginxCacheMap, "\n")
	n := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		n++
		if !strings.Contains(shipped, l) {
			t.Errorf("the harness's cached row has %q, nginx/tktgate-auth-cached.conf and tktgate-cache.conf do not", l)
		}
	}
	if n < 8 {
		t.Fatalf("only %d lines compared", n)
	}
}
