//go:build unix

package nginx_test

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/e2e"
)

// redisProc is a real redis-server on a free loopback port that keeps
// its data across a restart (appendonly), as the README asks.
type redisProc struct {
	bin, dir, addr string
	cmd            *exec.Cmd
	done           chan struct{}
	out            *e2e.Buffer
}

func startRedis(t *testing.T) *redisProc {
	t.Helper()
	r := &redisProc{bin: needBinary(t, "/usr/bin/redis-server", "redis-server"), dir: t.TempDir(), addr: freeAddr(t), out: &e2e.Buffer{}}
	r.start(t)
	t.Cleanup(r.stop)
	return r
}

func (r *redisProc) start(t *testing.T) {
	t.Helper()
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command(r.bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", r.dir)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func(c *exec.Cmd, d chan struct{}) { c.Wait(); close(d) }(r.cmd, r.done)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", r.addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server does not listen:\n%s", r.out.String())
		}
	}
}

func (r *redisProc) stop() {
	if r.cmd != nil {
		r.cmd.Process.Kill()
		<-r.done
		r.cmd = nil
	}
}

// The acceptance under load: wrk through nginx
// (tktgate-upstream-replicas.conf) to two tktgates sharing a Redis. A
// tktgate revoke changes nginx's answer within a second, and while Redis
// is stopped and restarted not one of wrk's requests fails, the revoked
// user stays refused and the other accepted.
func TestNginxRedisRevocationUnderLoad(t *testing.T) {
	wrk := needBinary(t, "/usr/bin/wrk", "wrk")
	rs := startRedis(t)
	extra := "\n[revocation]\nredis = \"redis://" + rs.addr + "/0\"\nredis_resync = \"2s\"\n"
	var gates [2]*gate
	for i := range gates {
		listen := freeAddr(t)
		gates[i] = startTktgate(t, listen, tktgateConfig(listen, true, "X-Real-IP", extra))
	}
	app := startApp(t)
	addr := startNginxFiles(t, shippedFiles(t, "tktgate-upstream-replicas.conf",
		[]string{shippedGate, gates[0].addr, shippedGate2, gates[1].addr}, "", shippedApp, app))
	g := gates[0]
	alice := g.ticket(t, "alice", "127.0.0.1", "", "", time.Now().Add(-5*time.Second), false)
	bob := g.ticket(t, "bob", "127.0.0.1", "", "", time.Now().Add(-5*time.Second), false)
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(ticket string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Header.Set("Cookie", "auth_tkt="+ticket)
		resp, err := client.Do(req)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := get(alice), get(bob); a != 200 || b != 200 {
		t.Fatalf("before any revocation: alice %d, bob %d; want 200", a, b)
	}

	// wrk: bob's ticket, on 8 connections, for 6 s (short: other packages' timing tests run beside it).
	type result struct {
		out string
		err error
	}
	wrkDone := make(chan result, 1)
	go func() {
		out, err := exec.Command(wrk, "-t1", "-c8", "-d6s", "-H", "Cookie: auth_tkt="+bob, "http://"+addr+"/").CombinedOutput()
		wrkDone <- result{string(out), err}
	}()
	time.Sleep(time.Second)

	// A prober asks as alice and as bob every 20 ms, through nginx.
	var revokedAt atomic.Int64 // unix ns, when tktgate revoke returned
	var firstRefused atomic.Int64
	var mu sync.Mutex
	var wrong []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			a, b := get(alice), get(bob)
			now := time.Now().UnixNano()
			if a != 200 && firstRefused.Load() == 0 && revokedAt.Load() != 0 {
				firstRefused.Store(now)
			}
			mu.Lock()
			if b != 200 {
				wrong = append(wrong, fmt.Sprintf("bob's ticket answered %d", b))
			}
			if firstRefused.Load() != 0 && a == 200 {
				wrong = append(wrong, "alice's ticket accepted again after it was refused")
			}
			mu.Unlock()
		}
	}()

	if out, err := exec.Command(g.bin, "revoke", "-config", g.config, "-uid", "alice").CombinedOutput(); err != nil {
		t.Fatalf("tktgate revoke: %v: %s", err, out)
	}
	revokedAt.Store(time.Now().UnixNano())
	time.Sleep(1500 * time.Millisecond)
	// Redis restarted under load.
	rs.stop()
	time.Sleep(1500 * time.Millisecond)
	rs.start(t)
	res := <-wrkDone
	close(stop)
	wg.Wait()

	t.Logf("wrk:\n%s", res.out)
	if res.err != nil {
		t.Fatalf("wrk: %v", res.err)
	}
	if f := firstRefused.Load(); f == 0 {
		t.Error("alice's ticket is never refused after tktgate revoke")
	} else if d := time.Duration(f - revokedAt.Load()); d > time.Second {
		t.Errorf("nginx refused alice's ticket %v after tktgate revoke; want within 1 s", d)
	} else {
		t.Logf("nginx refused alice's ticket %v after tktgate revoke returned", d)
	}
	for _, w := range wrong {
		t.Error(w)
	}
	if m := regexp.MustCompile(`(Non-2xx or 3xx responses|Socket errors):.*`).FindString(res.out); m != "" {
		t.Errorf("wrk saw failed requests while Redis restarted: %s", m)
	}
	n := regexp.MustCompile(`(\d+) requests in`).FindStringSubmatch(res.out)
	if n == nil {
		t.Fatalf("wrk's output has no request count")
	}
	if c, _ := strconv.Atoi(n[1]); c < 1000 {
		t.Errorf("only %d requests: the load did not load", c)
	}
}
