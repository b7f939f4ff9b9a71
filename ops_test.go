package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/e2e"
	"github.com/tktgate/tktgate/verifier"
)

// tktgate is the binary the signal tests run: they need a real process.
var tktgate e2e.Binary

func TestMain(m *testing.M) {
	code := m.Run()
	tktgate.Remove()
	os.Exit(code)
}

func binary(t *testing.T) string { return tktgate.Path(t) }

type proc struct {
	cmd    *exec.Cmd
	stderr *e2e.Buffer
	sock   string
	done   chan struct{} // closed when the process has exited
	err    error         // its exit status, once done is closed
}

// startProc runs the tktgate binary on a unix socket with config, and
// waits until it answers /readyz.
func startProc(t *testing.T, dir, config string) *proc {
	t.Helper()
	return startProcWith(t, dir, config, (*exec.Cmd).Start)
}

// startProcWith is startProc with start starting the process.
func startProcWith(t *testing.T, dir, config string, start func(*exec.Cmd) error) *proc {
	t.Helper()
	sock := filepath.Join(dir, "tktgate.sock")
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte("listen = \"unix:"+sock+"\"\n"+config), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &proc{stderr: &e2e.Buffer{}, sock: sock, done: make(chan struct{})}
	p.cmd = exec.Command(binary(t), "-config", cfgPath)
	p.cmd.Stderr = p.stderr
	if err := start(p.cmd); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := p.client()
		resp, err := c.Get("http://gate/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tktgate did not become ready: %v\n%s", err, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) client() *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", p.sock)
			},
			MaxIdleConnsPerHost: 64,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// The acceptance test: hammer /auth from many goroutines while
// SIGHUP swaps configs (one of them broken) and rotates the secret. Every
// request must get an answer, and every answer must be the one both
// configs agree on.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	common := "[redirect]\nlogin_url = \"https://login.test/\"\nunauth_url = \"https://login.test/unauth\"\n[policy.admin]\ntokens = [\"admin\"]\n"
	// watch = false: this test counts the reloads its own SIGHUPs make.
	configA := "watch = false\n[ticket]\nsecret = \"first-secret\"\ntimeout = \"2h\"\n" + common
	// B: rotated. The new secret signs, the first one is still accepted.
	configB := "watch = false\n[ticket]\nsecret = \"second-secret\"\nsecret_old = \"first-secret\"\ntimeout = \"2h\"\n" + common
	broken := "[ticket]\nsecret = \"x\"\ndigest_type = \"MD4\"\n"
	p := startProc(t, dir, configA)
	cfgPath := filepath.Join(dir, "config.toml")
	write := func(c string) {
		// Write-and-rename, as a config manager would: a reload never sees
		// half a file.
		tmp := cfgPath + ".tmp"
		if err := os.WriteFile(tmp, []byte("listen = \"unix:"+p.sock+"\"\n"+c), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, cfgPath); err != nil {
			t.Fatal(err)
		}
	}

	v1, _ := verifier.New(verifier.Options{Secret: []byte("first-secret")})
	now := time.Now()
	sign := func(v *verifier.Verifier, uid, tokens string) string {
		return string(verifier.AppendBase64(nil, v.Sign(nil, []byte(uid), []byte(tokens), nil, mustAddr("192.0.2.1"), now)))
	}
	type probe struct {
		path, cookie string
		want         int
		user         string
	}
	probes := []probe{
		{"/auth", sign(v1, "alice", "admin"), 200, "alice"},
		{"/auth/admin", sign(v1, "alice", "admin"), 200, "alice"},
		{"/auth/admin", sign(v1, "bob", "user"), 403, ""},
		{"/auth", "garbage-garbage-garbage-garbage-garbage-garbage", 401, ""},
		{"/auth", "", 401, ""},
	}

	var sent, wrong, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var firstWrong atomic.Value
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			c := p.client()
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				pr := probes[i%len(probes)]
				req, _ := http.NewRequest("GET", "http://gate"+pr.path, nil)
				req.Header.Set("X-Real-IP", "192.0.2.1")
				if pr.cookie != "" {
					req.Header.Set("Cookie", "auth_tkt="+pr.cookie)
				}
				resp, err := c.Do(req)
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					firstWrong.CompareAndSwap(nil, err.Error())
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != pr.want || resp.Header.Get("X-Remote-User") != pr.user {
					wrong.Add(1)
					firstWrong.CompareAndSwap(nil, fmt.Sprintf("%s %s: %d %q", pr.path, pr.cookie, resp.StatusCode, resp.Header.Get("X-Remote-User")))
				}
			}
		}(g)
	}
	configs := []string{configB, configA, broken, configB}
	for i := 0; i < 24; i++ {
		write(configs[i%len(configs)])
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(40 * time.Millisecond)
	}
	// End rotated: the old secret's tickets still pass, now re-signed.
	write(configB)
	p.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()

	t.Logf("%d requests during 25 reloads", sent.Load())
	if sent.Load() < 500 {
		t.Errorf("only %d requests: the hammer did not hammer", sent.Load())
	}
	if wrong.Load() != 0 || failed.Load() != 0 {
		t.Errorf("%d wrong answers and %d failed requests; first: %v", wrong.Load(), failed.Load(), firstWrong.Load())
	}
	logs := p.stderr.String()
	if n := strings.Count(logs, "config reload failed"); n != 6 {
		t.Errorf("the broken config was reported %d times, want 6:\n%s", n, logs)
	}
	if !strings.Contains(logs, "digest_type") {
		t.Errorf("the reload error does not name the key:\n%s", logs)
	}
	if strings.Contains(logs, "first-secret") || strings.Contains(logs, "second-secret") {
		t.Errorf("a secret reached the log:\n%s", logs)
	}
	resp, err := p.client().Get("http://gate/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`tktgate_config_reloads_total{result="success"} 19`, `tktgate_config_reloads_total{result="failure"} 6`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// After the rotation, the first secret's ticket is re-signed with the
	// second.
	req, _ := http.NewRequest("GET", "http://gate/auth", nil)
	req.Header.Set("X-Real-IP", "192.0.2.1")
	req.Header.Set("Cookie", "auth_tkt="+probes[0].cookie)
	resp, err = p.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	v2, _ := verifier.New(verifier.Options{Secret: []byte("second-secret")})
	val, _, _ := strings.Cut(strings.TrimPrefix(resp.Header.Get("Set-Cookie"), "auth_tkt="), ";")
	var tk verifier.Ticket
	if err := v2.Verify(&tk, []byte(val), mustAddr("192.0.2.1"), time.Now()); err != nil || string(tk.UID) != "alice" {
		t.Errorf("after rotation, old-secret ticket: %d Set-Cookie %q: %v", resp.StatusCode, resp.Header.Get("Set-Cookie"), err)
	}
}

// SIGTERM: the listener closes at once, a request already in flight is
// still answered, with Connection: close, an idle kept-alive connection is
// closed, and the process exits 0. The last two tell nginx not to send
// its next subrequest on either connection (nginx retries one that meets
// a closed connection on another tktgate: benchmarks/restarts.sh).
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir, "[ticket]\nsecret = \"s\"\n")
	// A kept-alive connection, idle after its first answer.
	idle, err := net.Dial("unix", p.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET /healthz HTTP/1.1\r\nHost: gate\r\n\r\n")
	idleR := bufio.NewReader(idle)
	if resp, err := http.ReadResponse(idleR, nil); err != nil || resp.Close {
		t.Fatalf("first answer on the kept-alive connection: %v (close %v)", err, resp != nil && resp.Close)
	} else {
		io.Copy(io.Discard, resp.Body)
	}
	// A request in flight: headers sent but not finished.
	c, err := net.Dial("unix", p.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: gate\r\n")
	time.Sleep(50 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused once the listener is closed.
	deadline := time.Now().Add(5 * time.Second)
	for {
		nc, err := net.Dial("unix", p.sock)
		if err != nil {
			break
		}
		nc.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 5s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The in-flight request completes.
	io.WriteString(c, "\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v\n%s", err, p.stderr.String())
	}
	if resp.StatusCode != 200 || !resp.Close {
		t.Errorf("in-flight request: %d, Connection %q; want 200 with Connection: close", resp.StatusCode, resp.Header.Get("Connection"))
	}
	// The idle connection was closed, not left to time out.
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := idleR.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle kept-alive connection after SIGTERM: read %d bytes, %v; want it closed (EOF)", n, err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("exit: %v\n%s", p.err, p.stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not exit after SIGTERM")
	}
	if _, err := os.Stat(p.sock); !os.IsNotExist(err) {
		t.Errorf("socket file left behind: %v", err)
	}
	if !strings.Contains(p.stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no stop log line:\n%s", p.stderr.String())
	}
}

// A socket file left by a crashed process is replaced; one that another
// process serves on is not.
func TestUnixSocketStale(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "tktgate.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := listen("unix:"+sock, 0o660); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("listen on a live socket: %v, want a refusal", err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // now stale
	l2, err := listen("unix:"+sock, 0o640)
	if err != nil {
		t.Fatalf("listen on a stale socket: %v", err)
	}
	defer l2.Close()
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("socket mode: %v %v, want 0640", fi.Mode(), err)
	}
	reg := filepath.Join(dir, "file")
	os.WriteFile(reg, nil, 0o600)
	if _, err := listen("unix:"+reg, 0o660); err == nil {
		t.Error("listen over a regular file succeeded")
	}
}
