//go:build unix

package nginx_test

import (
	"os"
	"os/exec"
	"testing"
)

// benchmarks/restarts.sh quick: real nginx on tktgate-upstream-replicas.conf
// and the snippets, two tktgates, wrk's 64 connections; SIGTERM and
// restart each tktgate, SIGHUP both, rewrite both configs, kill -9 one:
// not one request may fail. It loads every CPU for about 45 s, which would
// upset the timing tests running beside it under `go test ./...`, so it
// runs only when asked: test.sh does, in a step of its own.
func TestRestartsUnderLoad(t *testing.T) {
	if os.Getenv("TKTGATE_RESTARTS") != "1" {
		t.Skip("set TKTGATE_RESTARTS=1 to run benchmarks/restarts.sh quick (45 s of load on every CPU; test.sh runs it in a step of its own)")
	}
	needBinary(t, "/usr/sbin/nginx", "nginx")
	needBinary(t, "/usr/bin/wrk", "wrk")
	cmd := exec.Command("../benchmarks/restarts.sh", "quick")
	cmd.Env = append(os.Environ(), "TKTGATE_BIN="+tktgateBinary(t))
	out, err := cmd.CombinedOutput()
	t.Logf("benchmarks/restarts.sh quick:\n%s", out)
	if err != nil {
		t.Fatalf("benchmarks/restarts.sh quick: %v", err)
	}
}
