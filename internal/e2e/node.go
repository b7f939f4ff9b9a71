package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// NodeEnv returns the environment under which a Node script in dir finds
// the packages of dir's package.json (the tests' package.json files all
// pin passport-authtkt, whose presence stands for the rest):
// dir/node_modules if present, else
// (with TKTGATE_INTEROP_NODE=1 or RequireEnv=1) a temporary `npm ci` of
// dir's pinned package-lock.json; otherwise the test skips. node itself
// must be installed.
func NodeEnv(t testing.TB, ctx context.Context, dir string) []string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		SkipOrFail(t, "node not installed")
	}
	modules, err := filepath.Abs(filepath.Join(dir, "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "passport-authtkt")); err != nil {
		if os.Getenv("TKTGATE_INTEROP_NODE") != "1" && os.Getenv(RequireEnv) != "1" {
			t.Skip("passport-authtkt not installed; set TKTGATE_INTEROP_NODE=1 to let the test npm-install it")
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			SkipOrFail(t, "npm not installed")
		}
		tmp := t.TempDir()
		for _, f := range []string{"package.json", "package-lock.json"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			SkipOrFail(t, "npm ci in %s: %v\n%s", dir, err, out)
		}
		modules = filepath.Join(tmp, "node_modules")
	}
	return []string{"NODE_PATH=" + modules}
}
