package main

import (
	"os"
	"strings"
	"testing"
)

// The cached row measures nginx/tktgate-cached.conf: every line the
// harness puts into its auth location, and its cache map, must be the
// shipped file's, so that a change there cannot leave the benchmark
// measuring something else.
func TestCachedRowIsTheShippedFile(t *testing.T) {
	b, err := os.ReadFile("../../nginx/tktgate-cached.conf")
	if err != nil {
		t.Fatal(err)
	}
	shipped := string(b)
	lines := strings.Split(nginxCache+"\n"+nginxCacheMap, "\n")
	n := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		n++
		if !strings.Contains(shipped, l) {
			t.Errorf("the harness's cached row has %q, nginx/tktgate-cached.conf does not", l)
		}
	}
	if n < 8 {
		t.Fatalf("only %d lines compared", n)
	}
}
