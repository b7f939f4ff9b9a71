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
	toolchain := goModToolchain(t)
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

// The image's build stage uses go.mod's toolchain exactly: the official
// golang images set GOTOOLCHAIN=local, so a looser tag would build with an
// older Go than go.mod names, silently.
func TestDockerfileToolchain(t *testing.T) {
	toolchain := goModToolchain(t)
	docker, err := os.ReadFile("nginx/k8s/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var from string
	for _, line := range strings.Split(string(docker), "\n") {
		if v, ok := strings.CutPrefix(line, "FROM golang:"); ok {
			from, _, _ = strings.Cut(v, " ")
		}
	}
	if want := strings.TrimPrefix(toolchain, "go") + "-bookworm"; from != want {
		t.Errorf("nginx/k8s/Dockerfile: FROM golang:%s; want golang:%s (go.mod: toolchain %s)", from, want, toolchain)
	}
}

// goModToolchain is go.mod's toolchain line ("go1.26.10"), "" without one.
func goModToolchain(t *testing.T) string {
	t.Helper()
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
	return toolchain
}
