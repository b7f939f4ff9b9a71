package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Binary is the tktgate program, built once per test binary with
// `go build` from the repository root, for the tests that need a real
// process. The zero value is ready; Root is the root relative to the
// test's package directory ("" for the root package itself). Call
// Remove from TestMain after m.Run.
type Binary struct {
	Root string

	once sync.Once
	dir  string
	path string
	err  error
}

// Path builds the binary the first time and returns its path; a failed
// build fails the test.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "tktgate-test-bin-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "tktgate")
		cmd := exec.Command("go", "build", "-o", b.path, ".")
		cmd.Dir = b.Root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build of tktgate: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Remove deletes the built binary, if any.
func (b *Binary) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}
