package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// go.mod names a toolchain without the standard-library vulnerabilities of
// Go 1.26.8 (README.md, govulncheck), so that go run and go build fetch it.
func TestGoModToolchain(t *testing.T) {
	data, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var toolchain string
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "toolchain "); ok {
			toolchain = strings.TrimSpace(v)
		}
	}
	if !goAtLeast(toolchain, 1, 26, 10) {
		t.Errorf("go.mod: toolchain %q; want go1.26.10 or newer", toolchain)
	}
}

// goAtLeast reports whether v ("go1.26.10") is at least major.minor.patch.
func goAtLeast(v string, want ...int) bool {
	parts := strings.Split(strings.TrimPrefix(v, "go"), ".")
	if !strings.HasPrefix(v, "go") || len(parts) != 3 {
		return false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		if n != want[i] {
			return n > want[i]
		}
	}
	return true
}
