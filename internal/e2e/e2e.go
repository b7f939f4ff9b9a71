// Package e2e holds what end-to-end tests share: a Buffer for the output
// of the processes they start, and the rule for what happens
// when the external software they drive (Apache httpd, nginx, Perl, Python
// generators) is not installed.
//
// By default such a test skips, so that `go test ./...` passes on a bare
// machine. CI sets TKTGATE_REQUIRE_E2E=1 to turn every such skip into a
// failure, so that a broken installation cannot pass silently as "skipped".
package e2e

import (
	"fmt"
	"os"
	"testing"
)

// RequireEnv is the environment variable that turns skips into failures
// when set to "1".
const RequireEnv = "TKTGATE_REQUIRE_E2E"

// SkipOrFail skips the test with the formatted message, or fails it when
// RequireEnv is "1".
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1)", msg, RequireEnv)
	}
	t.Skip(msg)
}
