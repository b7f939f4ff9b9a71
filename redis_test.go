package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tktgate/tktgate/internal/e2e"
	"github.com/tktgate/tktgate/verifier"
)

// redisServer is a real redis-server (the Debian package test.sh
// installs) on a free loopback port, its files in a temp dir. It keeps
// its data across a restart (appendonly, fsync always), as the README
// asks of a production Redis.
type redisServer struct {
	bin, dir string
	port     int
	args     []string
	cmd      *exec.Cmd
	done     chan struct{}
	log      *e2e.Buffer
}

func startRedisServer(t *testing.T, args ...string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		e2e.SkipOrFail(t, "redis-server is not installed (Debian package redis-server): %v", err)
	}
	r := &redisServer{bin: bin, dir: t.TempDir(), port: freePort(t), args: args, log: &e2e.Buffer{}}
	r.start(t)
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			t.Logf("redis-server's log:\n%s", r.log.String())
		}
	})
	return r
}

// freePort is a loopback TCP port nothing listens on (for a moment).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }
func (r *redisServer) url() string  { return "redis://" + r.addr() + "/0" }

// start runs redis-server (again) and waits until it answers PING.
func (r *redisServer) start(t *testing.T) {
	t.Helper()
	args := append([]string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--dir", r.dir}, r.args...)
	r.cmd = exec.Command(r.bin, args...)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(r.cmd, r.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server does not listen on %s: %v\n%s", r.addr(), err, r.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends redis-server, if running, and waits for it.
func (r *redisServer) stop(t *testing.T) {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// client talks to the redis-server as a login service would.
func (r *redisServer) client(t *testing.T, password string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.addr(), Password: password})
	t.Cleanup(func() { c.Close() })
	return c
}

// cutter is a TCP relay to a target that can be cut (every connection
// closed, new ones refused) and restored, to cut one replica off Redis
// while the others stay connected.
type cutter struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func startCutter(t *testing.T, target string) *cutter {
	c := &cutter{addr: "127.0.0.1:" + strconv.Itoa(freePort(t)), target: target, conns: map[net.Conn]bool{}}
	c.restore(t)
	t.Cleanup(c.cut)
	return c
}

func (c *cutter) restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", c.target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns[in], c.conns[out] = true, true
			c.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	for conn := range c.conns {
		conn.Close()
	}
	clear(c.conns)
}

// redisGateConfig is baseConfig reading revocations from url, fully
// loaded every resync.
func redisGateConfig(url, resync, extra string) string {
	return baseConfig + "[revocation]\nredis = \"" + url + "\"\nredis_resync = \"" + resync + "\"\n" + extra
}

// gateStatus asks p's /auth with ticket, from 192.0.2.1.
func gateStatus(t *testing.T, p *proc, ticket string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://gate/auth", nil)
	req.Header.Set("X-Real-IP", "192.0.2.1")
	req.Header.Set("Cookie", "auth_tkt="+ticket)
	resp, err := p.client().Do(req)
	if err != nil {
		t.Fatalf("/auth: %v\n%s", err, p.stderr.String())
	}
	resp.Body.Close()
	return resp.StatusCode
}

func procMetrics(t *testing.T, p *proc) string {
	t.Helper()
	resp, err := p.client().Get("http://gate/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// within waits up to d for p to answer ticket with want, and says how
// long it took.
func within(t *testing.T, p *proc, ticket string, want int, d time.Duration) (bool, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		if gateStatus(t, p, ticket) == want {
			return true, time.Since(start)
		}
		if time.Since(start) > d {
			return false, time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// untilMetric waits up to d for p's /metrics to hold line.
func untilMetric(t *testing.T, p *proc, line string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(procMetrics(t, p), line) {
		if time.Now().After(deadline) {
			t.Fatalf("/metrics does not show %q within %v:\n%s", line, d, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// revokeProc runs the tktgate binary's revoke with p's config.
func revokeProc(t *testing.T, p *proc, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"revoke", "-config", filepath.Join(filepath.Dir(p.sock), "config.toml")}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tktgate revoke %q: %v: %s", args, err, out)
	}
	return string(out)
}

// The acceptance, on three tktgate processes sharing one Redis:
// tktgate revoke -uid reaches every replica within a second, another
// user unaffected; a replica cut off from Redis while a revocation is
// made has it within the resync interval once it is back; with Redis
// stopped, every replica answers from what it holds; Redis restarted,
// they follow it again.
func TestRedisReplicas(t *testing.T) {
	rs := startRedisServer(t)
	cut := startCutter(t, rs.addr())
	const resync = 2 * time.Second
	a := startProc(t, t.TempDir(), redisGateConfig(rs.url(), resync.String(), ""))
	b := startProc(t, t.TempDir(), redisGateConfig(rs.url(), resync.String(), ""))
	c := startProc(t, t.TempDir(), redisGateConfig("redis://"+cut.addr+"/0", resync.String(), ""))
	all := []*proc{a, b, c}
	sign := signer(t, verifier.Options{})
	ts := time.Now().Add(-5 * time.Second)
	alice, bob, carol, dave := sign("alice", "", "", "192.0.2.1", ts), sign("bob", "", "", "192.0.2.1", ts),
		sign("carol", "", "", "192.0.2.1", ts), sign("dave", "", "", "192.0.2.1", ts)
	for i, p := range all {
		untilMetric(t, p, "tktgate_revocation_redis_up 1\n", 5*time.Second)
		for _, tk := range []string{alice, bob, carol, dave} {
			if got := gateStatus(t, p, tk); got != 200 {
				t.Fatalf("replica %d: a valid ticket answered %d before any revocation", i, got)
			}
		}
	}

	// One revocation, every replica within a second.
	out := revokeProc(t, a, "-uid", "alice")
	if !strings.Contains(out, `redis: revoked: tickets of uid "alice"`) {
		t.Errorf("tktgate revoke says %q", out)
	}
	for i, p := range all {
		if ok, took := within(t, p, alice, 401, time.Second); !ok {
			t.Errorf("replica %d still accepts alice's ticket %v after tktgate revoke", i, took)
		}
		if got := gateStatus(t, p, bob); got != 200 {
			t.Errorf("replica %d: bob's ticket answered %d after alice's revocation", i, got)
		}
	}
	m := procMetrics(t, b)
	for _, want := range []string{"tktgate_revocation_redis_entries 1\n", "tktgate_revocation_redis_updates_total 1\n", "tktgate_revocation_entries 1\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("replica 1's /metrics lacks %q", want)
		}
	}

	// Replica 2 cut off while carol is revoked: the others have it at
	// once, it has it within the resync interval of being back.
	cut.cut()
	untilMetric(t, c, "tktgate_revocation_redis_up 0\n", 5*time.Second)
	revokeProc(t, a, "-uid", "carol")
	for i, p := range all[:2] {
		if ok, took := within(t, p, carol, 401, time.Second); !ok {
			t.Errorf("replica %d still accepts carol's ticket %v after tktgate revoke", i, took)
		}
	}
	if got := gateStatus(t, c, carol); got != 200 {
		t.Fatalf("the replica cut off from Redis answered carol %d: is it cut off?", got)
	}
	if got := gateStatus(t, c, alice); got != 401 {
		t.Errorf("the replica cut off from Redis forgot alice's revocation: %d", got)
	}
	cut.restore(t)
	if ok, took := within(t, c, carol, 401, resync); !ok {
		t.Errorf("the replica back in touch with Redis still accepts carol's ticket %v later (resync %v)", took, resync)
	} else {
		t.Logf("the replica cut off converged %v after it could reach Redis again", took)
	}

	// Redis stopped: every replica answers from what it has, for longer
	// than a resync.
	rs.stop(t)
	for _, p := range all {
		untilMetric(t, p, "tktgate_revocation_redis_up 0\n", 5*time.Second)
	}
	for end := time.Now().Add(resync + time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		for i, p := range all {
			if got := gateStatus(t, p, alice); got != 401 {
				t.Fatalf("replica %d, Redis stopped: alice's revoked ticket answered %d", i, got)
			}
			if got := gateStatus(t, p, carol); got != 401 {
				t.Fatalf("replica %d, Redis stopped: carol's revoked ticket answered %d", i, got)
			}
			if got := gateStatus(t, p, bob); got != 200 {
				t.Fatalf("replica %d, Redis stopped: bob's ticket answered %d", i, got)
			}
		}
	}
	if l := a.stderr.String(); !strings.Contains(l, "redis unreachable; answering with the entries already loaded") {
		t.Errorf("losing Redis is not logged:\n%s", l)
	}

	// Redis back: they reconnect, and the next revocation reaches all.
	rs.start(t)
	for _, p := range all {
		untilMetric(t, p, "tktgate_revocation_redis_up 1\n", resync+time.Second)
	}
	revokeProc(t, b, "-uid", "dave")
	for i, p := range all {
		if ok, took := within(t, p, dave, 401, time.Second); !ok {
			t.Errorf("replica %d, Redis restarted: dave's ticket still accepted %v after tktgate revoke", i, took)
		}
		for _, tk := range []string{alice, carol} {
			if got := gateStatus(t, p, tk); got != 401 {
				t.Errorf("replica %d, Redis restarted: a ticket revoked before answered %d", i, got)
			}
		}
		if got := gateStatus(t, p, bob); got != 200 {
			t.Errorf("replica %d, Redis restarted: bob's ticket answered %d", i, got)
		}
	}
}

// A Redis that hangs (stopped, not gone: connections open, no answer)
// does not slow an answer: the hot path never waits on Redis.
func TestRedisHangs(t *testing.T) {
	rs := startRedisServer(t)
	p := startProc(t, t.TempDir(), redisGateConfig(rs.url(), "1s", ""))
	untilMetric(t, p, "tktgate_revocation_redis_up 1\n", 5*time.Second)
	sign := signer(t, verifier.Options{})
	bob := sign("bob", "", "", "192.0.2.1", time.Now().Add(-5*time.Second))
	if err := rs.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer rs.cmd.Process.Signal(syscall.SIGCONT)
	var slowest time.Duration
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		start := time.Now()
		if got := gateStatus(t, p, bob); got != 200 {
			t.Fatalf("Redis hanging: bob's ticket answered %d", got)
		}
		slowest = max(slowest, time.Since(start))
	}
	if slowest > 200*time.Millisecond {
		t.Errorf("Redis hanging: an answer took %v", slowest)
	}
	// Noticed: commands time out (1 s, one retry) at the next resync.
	untilMetric(t, p, "tktgate_revocation_redis_up 0\n", 3*time.Second)
	rs.cmd.Process.Signal(syscall.SIGCONT)
	untilMetric(t, p, "tktgate_revocation_redis_up 1\n", 5*time.Second)
}

// Redis unreachable at start-up: by default tktgate starts, ready, with
// the file's entries, and loads Redis' once it is up (both in force);
// with redis_required it is not ready until then.
func TestRedisStartUnreachable(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		e2e.SkipOrFail(t, "redis-server is not installed (Debian package redis-server): %v", err)
	}
	port := freePort(t)
	url := "redis://127.0.0.1:" + strconv.Itoa(port) + "/0"
	sign := signer(t, verifier.Options{})
	ts := time.Now().Add(-5 * time.Second)
	alice, bob, carol := sign("alice", "", "", "127.0.0.1", ts), sign("bob", "", "", "127.0.0.1", ts), sign("carol", "", "", "127.0.0.1", ts)

	cfgPath, revPath := revSetup(t, "redis = \""+url+"\"\nredis_resync = \"2s\"\n", "uid alice "+strconv.FormatInt(time.Now().Unix(), 10)+"\n")
	addr, hup, logs, _ := startServerAt(t, cfgPath)
	dir := t.TempDir()
	reqPath := filepath.Join(dir, "config.toml")
	writeFile(t, reqPath, baseConfig+"[revocation]\nredis = \""+url+"\"\nredis_resync = \"2s\"\nredis_required = true\n")
	reqAddr, _, _, _ := startServerAt(t, reqPath)

	if a := do(t, addr, "GET", "/readyz"); a.status != 200 {
		t.Errorf("Redis unreachable at start-up: /readyz %d, want 200 (redis_required is false)", a.status)
	}
	if a := do(t, reqAddr, "GET", "/readyz"); a.status != 503 {
		t.Errorf("Redis unreachable at start-up with redis_required: /readyz %d, want 503", a.status)
	}
	wantRevoked(t, authAs(t, addr, "/auth", alice), "Redis unreachable: the file's entry")
	wantUser(t, authAs(t, addr, "/auth", bob), "bob", "Redis unreachable: another user")
	if m := do(t, addr, "GET", "/metrics").body; !strings.Contains(m, "tktgate_revocation_redis_up 0\n") {
		t.Errorf("/metrics does not say Redis is down")
	}
	if !strings.Contains(logs.String(), "redis unreachable") {
		t.Errorf("Redis unreachable at start-up is not logged:\n%s", logs.String())
	}

	// Redis comes up holding bob's entry (a login service wrote it).
	rs := &redisServer{bin: "redis-server", dir: t.TempDir(), port: port, log: &e2e.Buffer{}}
	rs.start(t)
	t.Cleanup(func() { rs.stop(t) })
	cl := rs.client(t, "")
	ctx := context.Background()
	line := fmt.Sprintf("uid bob %d %d", time.Now().Unix()+1, time.Now().Unix())
	if err := cl.Set(ctx, "tktgate:rev:uid:bob", line, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, took := eventually(t, addr, "/auth", bob, 401); !ok {
		t.Fatalf("Redis up: bob's entry is not in force %v later", took)
	}
	wantRevoked(t, authAs(t, addr, "/auth", alice), "Redis up: the file's entry still")
	deadline := time.Now().Add(3 * time.Second)
	for do(t, reqAddr, "GET", "/readyz").status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("redis_required: not ready 3 s after Redis came up")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The file changes alone: Redis' entry stays. Redis changes (a
	// PUBLISH, no resync): the file's entries stay.
	writeFile(t, revPath, "uid carol "+strconv.FormatInt(time.Now().Unix(), 10)+"\n")
	if ok, took := eventually(t, addr, "/auth", carol, 401); !ok {
		t.Fatalf("the file's new entry is not in force %v later", took)
	}
	wantRevoked(t, authAs(t, addr, "/auth", bob), "the file reloaded: Redis' entry")
	if err := cl.Del(ctx, "tktgate:rev:uid:bob").Err(); err != nil {
		t.Fatal(err)
	}
	if err := cl.Publish(ctx, redisChannel, "tktgate:rev:uid:bob").Err(); err != nil {
		t.Fatal(err)
	}
	if ok, took := eventually(t, addr, "/auth", bob, 200); !ok {
		t.Fatalf("bob's entry removed from Redis, still refused %v later", took)
	}
	wantRevoked(t, authAs(t, addr, "/auth", carol), "Redis changed: the file's entry")

	// A config reload that keeps [revocation] redis keeps Redis' entries
	// in force from the first request on; one that drops it drops them.
	line = fmt.Sprintf("uid bob %d %d", time.Now().Unix()+1, time.Now().Unix())
	cl.Set(ctx, "tktgate:rev:uid:bob", line, time.Hour)
	cl.Publish(ctx, redisChannel, "tktgate:rev:uid:bob")
	if ok, took := eventually(t, addr, "/auth", bob, 401); !ok {
		t.Fatalf("bob's entry is not in force %v later", took)
	}
	hup <- syscall.SIGHUP
	waitLog(t, logs, `"msg":"config reloaded"`, 1)
	wantRevoked(t, authAs(t, addr, "/auth", bob), "the config reloaded: Redis' entry")
	wantRevoked(t, authAs(t, addr, "/auth", carol), "the config reloaded: the file's entry")
	cfgText, _ := os.ReadFile(cfgPath)
	writeFile(t, cfgPath, strings.NewReplacer("redis = ", "# redis = ", "redis_resync = ", "# redis_resync = ").Replace(string(cfgText)))
	waitLog(t, logs, `"msg":"config reloaded"`, 2)
	wantUser(t, authAs(t, addr, "/auth", bob), "bob", "[revocation] redis removed: Redis' entry")
	wantRevoked(t, authAs(t, addr, "/auth", carol), "[revocation] redis removed: the file's entry")
}

// What writers put in Redis: tktgate revoke's keys, values and TTLs
// (the README's Python does the same), -list, -remove; with a password
// from redis_password_file, never logged; values that are no entry are
// skipped, counted and logged by key, and the rest is in force.
func TestRedisWritersAndValues(t *testing.T) {
	password := testSecret + "-redis"
	rs := startRedisServer(t, "--requirepass", password)
	cl := rs.client(t, password)
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "redis-password"), password+"\n")
	cfgPath := filepath.Join(dir, "config.toml")
	writeFile(t, cfgPath, redisGateConfig(rs.url(), "1s", "redis_password_file = \"redis-password\"\n"))
	addr, _, logs, _ := startServerAt(t, cfgPath)
	if cfg, err := LoadConfig(cfgPath); err != nil || strings.Contains(fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg.Redis), password) {
		t.Errorf("the config, printed, shows the Redis password (or does not load: %v)", err)
	}
	sign := signer(t, verifier.Options{})
	ts := time.Now().Add(-5 * time.Second)
	erin := sign("erin smith", "", "", "127.0.0.1", ts)

	now := time.Now()
	revoke(t, cfgPath, "-uid", "erin smith")
	v, err := cl.Get(ctx, `tktgate:rev:uid:erin smith`).Result()
	if err != nil {
		t.Fatalf("tktgate revoke -uid wrote no key tktgate:rev:uid:USER: %v", err)
	}
	before := now.Unix() + 1
	if want := fmt.Sprintf(`uid "erin smith" %s %s`, time.Unix(before, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)); v != want {
		t.Errorf("the key holds %q, want %q", v, want)
	}
	// 2h timeout + 5m default max_future + 1 s + the hour of allowance,
	// after MADE.
	ttl, _ := cl.TTL(ctx, `tktgate:rev:uid:erin smith`).Result()
	if want := 2*time.Hour + 5*time.Minute + time.Second + time.Hour; ttl < want-2*time.Second || ttl > want+2*time.Second {
		t.Errorf("TTL %v, want about %v", ttl, want)
	}
	if ok, took := eventually(t, addr, "/auth", erin, 401); !ok {
		t.Fatalf("the revocation is not in force %v later", took)
	}
	if out := revoke(t, cfgPath, "-uid", "erin smith", "-before", "-1h"); !strings.Contains(out, "redis: already revoked") {
		t.Errorf("an earlier revocation of the same user says %q; want already revoked", out)
	}
	if out := revoke(t, cfgPath, "-list"); !strings.Contains(out, `uid "erin smith" `) {
		t.Errorf("-list shows %q", out)
	}

	// Values that are not entries, and one whose key is another's.
	for k, v := range map[string]string{"tktgate:rev:uid:x": "", "tktgate:rev:uid:y": "garbage", "tktgate:rev:uid:z": "uid w 1700000000", "tktgate:rev:all": "   "} {
		if err := cl.Set(ctx, k, v, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		cl.Publish(ctx, redisChannel, k)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(do(t, addr, "GET", "/metrics").body, "tktgate_revocation_redis_bad_values_total 4\n") {
		if time.Now().After(deadline) {
			t.Fatalf("4 bad values are not counted:\n%s", do(t, addr, "GET", "/metrics").body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantRevoked(t, authAs(t, addr, "/auth", erin), "beside bad values")
	if !strings.Contains(logs.String(), `"key":"\"tktgate:rev:uid:z\""`) {
		t.Errorf("a bad value is not logged by its key:\n%s", logs.String())
	}

	revoke(t, cfgPath, "-remove", "-uid", "erin smith")
	if n, _ := cl.Exists(ctx, `tktgate:rev:uid:erin smith`).Result(); n != 0 {
		t.Error("-remove left the key")
	}
	if ok, took := eventually(t, addr, "/auth", erin, 200); !ok {
		t.Fatalf("the removed revocation is still in force %v later", took)
	}

	// A wrong password: an error, logged without the password.
	bad := filepath.Join(dir, "bad.toml")
	writeFile(t, filepath.Join(dir, "wrong"), "wrong-"+password)
	writeFile(t, bad, redisGateConfig(rs.url(), "1s", "redis_password_file = \"wrong\"\n"))
	code, _, errOut := runCLI("revoke", "-config", bad, "-uid", "x")
	if code != 1 || !strings.Contains(errOut, "redis: ") || strings.Contains(errOut, password) {
		t.Errorf("a wrong password: exit %d, %q", code, errOut)
	}
}

// [revocation] redis is checked when the config loads, and the errors
// name the key and never show a password.
func TestRedisConfigErrors(t *testing.T) {
	for _, c := range []struct{ conf, want string }{
		{`redis = "redis://user:hunter2@127.0.0.1:6379/0"`, "revocation.redis: holds a password: put it in redis_password_file"},
		{`redis = "http://127.0.0.1:6379/0"`, "revocation.redis: redis: invalid URL scheme: http"},
		{`redis = "redis://127.0.0.1:6379/x"`, "revocation.redis: redis: invalid database number"},
		{`redis_resync = "1m"`, "revocation.redis_resync: set without [revocation] redis"},
		{"redis = \"redis://127.0.0.1:6379/0\"\nredis_resync = \"100ms\"", "revocation.redis_resync: 100ms is too short (at least 1s)"},
		{"redis = \"redis://127.0.0.1:6379/0\"\nredis_password_file = \"/nonexistent/pw\"", "revocation.redis_password_file: cannot read /nonexistent/pw"},
		{"redis = \"redis://127.0.0.1:6379/0\"\nredis_required = \"yes\"", "revocation.redis_required: want a boolean"},
	} {
		path := filepath.Join(t.TempDir(), "config.toml")
		writeFile(t, path, baseConfig+"[revocation]\n"+c.conf+"\n")
		_, err := LoadConfig(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: %v; want %q", c.conf, err, c.want)
		}
	}
	for _, u := range []string{"redis://127.0.0.1:6379/2", "rediss://redis.example:6380/0", "unix:///run/redis/redis.sock?db=1", "redis://tktgate@127.0.0.1/0"} {
		path := filepath.Join(t.TempDir(), "config.toml")
		writeFile(t, path, baseConfig+"[revocation]\nredis = \""+u+"\"\n")
		cfg, err := LoadConfig(path)
		if err != nil {
			t.Errorf("%s: %v", u, err)
		} else if cfg.Redis == nil || cfg.Redis.Resync != 30*time.Second || cfg.Redis.Required {
			t.Errorf("%s: %+v, want the defaults (30s, not required)", u, cfg.Redis)
		}
	}
}

// readmeBlock is the indented block of README.md that starts with the
// line first, up to the next blank line, unindented.
func readmeBlock(t *testing.T, first string) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n    "+first)
	if i < 0 {
		t.Fatalf("README.md has no block starting %q", first)
	}
	s = s[i+1:]
	if j := strings.Index(s, "\n\n"); j >= 0 {
		s = s[:j]
	}
	var out []string
	for _, l := range strings.Split(s, "\n") {
		out = append(out, strings.TrimPrefix(l, "    "))
	}
	return strings.Join(out, "\n") + "\n"
}

// The README's writers for a login service (redis-cli, Python), run as
// printed: the user is refused within a second, and the key expires when
// tktgate revoke's would (2h timeout + 5 m max_future + 1 s + 1 h, from
// BEFORE).
func TestREADMERedisWriters(t *testing.T) {
	rs := startRedisServer(t)
	if _, err := exec.LookPath("redis-cli"); err != nil {
		e2e.SkipOrFail(t, "redis-cli is not installed (Debian package redis-tools): %v", err)
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import redis").Run(); err != nil {
		e2e.SkipOrFail(t, "/usr/bin/python3 cannot import redis (Debian package python3-redis): %v", err)
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	writeFile(t, path, redisGateConfig(rs.url(), "30s", ""))
	addr, _, _, _ := startServerAt(t, path)
	sign := signer(t, verifier.Options{})
	ts := time.Now().Add(-5 * time.Second)
	cl := rs.client(t, "")
	wantTTL := 2*time.Hour + 5*time.Minute + time.Second + time.Hour + time.Second
	for _, w := range []struct {
		name, user string
		cmd        *exec.Cmd
	}{
		{"redis-cli", "alice", exec.Command("bash", "-ec", strings.ReplaceAll(readmeBlock(t, "NOW=$(date +%s)"), "redis://redis.example:6379/0", rs.url()))},
		{"python", "bob", exec.Command("/usr/bin/python3", "-c", readmeBlock(t, "import time, redis")+
			"revoke_user(redis.Redis.from_url("+strconv.Quote(rs.url())+"), 'bob')\n")},
	} {
		tk := sign(w.user, "", "", "127.0.0.1", ts)
		wantUser(t, authAs(t, addr, "/auth", tk), w.user, w.name+": before")
		w.cmd.Env = append(os.Environ(), "USER="+w.user)
		if out, err := w.cmd.CombinedOutput(); err != nil {
			t.Fatalf("the README's %s: %v\n%s", w.name, err, out)
		}
		if ok, took := eventually(t, addr, "/auth", tk, 401); !ok || took > time.Second {
			t.Errorf("the README's %s: the user is refused only %v later (ok %v)", w.name, took, ok)
		}
		ttl, _ := cl.TTL(context.Background(), "tktgate:rev:uid:"+w.user).Result()
		if ttl < wantTTL-2*time.Second || ttl > wantTTL {
			t.Errorf("the README's %s: TTL %v, want about %v", w.name, ttl, wantTTL)
		}
	}
}
