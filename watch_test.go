package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/e2e"
	"github.com/tktgate/tktgate/verifier"
)

// The tests' watch_interval: a change must be served within watchWithin.
const (
	watchTop    = "watch_interval = \"100ms\"\n"
	watchWithin = 2 * time.Second
)

// watchConfig is a config signed with secret, whose policies are named.
func watchConfig(secret string, policies ...string) string {
	c := watchTop + "[ticket]\nsecret = \"" + secret + "\"\n"
	for _, p := range policies {
		c += "[policy." + p + "]\n"
	}
	return c
}

// startWatched serves the config at path until the test ends.
func startWatched(t *testing.T, path string) (addr string, hup chan os.Signal, logs *e2e.Buffer) {
	t.Helper()
	addr, hup, logs, _ = startServerAt(t, path)
	return addr, hup, logs
}

// waitLog waits until what occurs n times in the log.
func waitLog(t *testing.T, l *e2e.Buffer, what string, n int) {
	t.Helper()
	deadline := time.Now().Add(watchWithin)
	for strings.Count(l.String(), what) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%q is not logged %d times:\n%s", what, n, l.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// watchClient asks addr with keep-alive connections.
func watchClient() *http.Client {
	return &http.Client{
		Timeout:       5 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 16},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// status is the status of GET path with the ticket as auth_tkt cookie.
func status(c *http.Client, addr, path, ticket string) (int, error) {
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Cookie", "auth_tkt="+ticket)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// ticketFor signs a fresh ticket for alice at 127.0.0.1 with secret.
func ticketFor(t *testing.T, secret string) string {
	return signer(t, verifier.Options{Secret: []byte(secret)})("alice", "", "", "127.0.0.1", time.Now())
}

// eventually reports whether GET path with ticket is answered want within
// watchWithin, and how long it took.
func eventually(t *testing.T, addr, path, ticket string, want int) (bool, time.Duration) {
	t.Helper()
	c := watchClient()
	start := time.Now()
	for time.Since(start) < watchWithin {
		if got, err := status(c, addr, path, ticket); err != nil {
			t.Fatal(err)
		} else if got == want {
			return true, time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false, time.Since(start)
}

func mustStatus(t *testing.T, addr, path, ticket string, want int, when string) {
	t.Helper()
	if got, err := status(watchClient(), addr, path, ticket); err != nil || got != want {
		t.Fatalf("%s: GET %s: %d %v, want %d", when, path, got, err, want)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// renameOver saves as editors and config managers do: a new file renamed
// over the old one.
func renameOver(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// An edit in place (same inode) of the config file, then of the secret
// file it names, is served without a signal.
func TestWatchEditInPlace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	writeFile(t, path, watchConfig("first-secret"))
	addr, _, _ := startWatched(t, path)
	tk := ticketFor(t, "first-secret")
	mustStatus(t, addr, "/auth/fresh", tk, 500, "before")

	writeFile(t, path, watchConfig("first-secret", "fresh"))
	if ok, took := eventually(t, addr, "/auth/fresh", tk, 200); !ok {
		t.Fatalf("the new policy is not served %v after the config was edited", took)
	}

	secret := filepath.Join(dir, "secret")
	writeFile(t, secret, "second-secret\n")
	writeFile(t, path, watchTop+"[ticket]\nsecret_file = \"secret\"\n")
	tk2 := ticketFor(t, "second-secret")
	if ok, took := eventually(t, addr, "/auth", tk2, 200); !ok {
		t.Fatalf("secret_file is not in use %v after the config named it", took)
	}
	writeFile(t, secret, "third-secret\n")
	if ok, took := eventually(t, addr, "/auth", ticketFor(t, "third-secret"), 200); !ok {
		t.Fatalf("the new secret is not in use %v after the secret file was edited", took)
	}
	mustStatus(t, addr, "/auth", tk2, 401, "after the secret file changed")
}

// A rename-over save of the config file, then of the secret file.
func TestWatchRenameOver(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	secret := filepath.Join(dir, "secret")
	writeFile(t, secret, "first-secret\n")
	writeFile(t, path, watchTop+"[ticket]\nsecret_file = \"secret\"\n")
	addr, _, _ := startWatched(t, path)
	tk := ticketFor(t, "first-secret")
	mustStatus(t, addr, "/auth/fresh", tk, 500, "before")

	renameOver(t, path, watchTop+"[ticket]\nsecret_file = \"secret\"\n[policy.fresh]\n")
	if ok, took := eventually(t, addr, "/auth/fresh", tk, 200); !ok {
		t.Fatalf("the new policy is not served %v after the config was replaced", took)
	}
	renameOver(t, secret, "second-secret\n")
	if ok, took := eventually(t, addr, "/auth", ticketFor(t, "second-secret"), 200); !ok {
		t.Fatalf("the new secret is not in use %v after the secret file was replaced", took)
	}
}

// The acceptance: a Secret rotated the Kubernetes way takes effect
// within 2 seconds without a signal, with no failed request under load
// during the swap. A ConfigMap or Secret volume holds ..2026_a/ (the
// files), ..data -> ..2026_a, and config.toml -> ..data/config.toml; an
// update writes ..2026_b/ and renames a new symlink over ..data.
func TestWatchKubernetesSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(name, secret, old string) {
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		conf := watchTop + "[ticket]\nsecret_file = \"secret\"\n"
		if old != "" {
			conf += "secret_old = \"" + old + "\"\n"
		}
		writeFile(t, filepath.Join(d, "config.toml"), conf)
		writeFile(t, filepath.Join(d, "secret"), secret+"\n")
	}
	symlink := func(target, link string) {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	version("..2026_a", "first-secret", "")
	symlink("..2026_a", "..data")
	symlink("..data/config.toml", "config.toml")
	symlink("..data/secret", "secret")
	addr, hup, logs := startWatched(t, filepath.Join(dir, "config.toml"))
	tk1, tk2 := ticketFor(t, "first-secret"), ticketFor(t, "second-secret")
	mustStatus(t, addr, "/auth", tk1, 200, "before")
	mustStatus(t, addr, "/auth", tk2, 401, "before")

	// The load: tickets of the first secret, valid before and after.
	var sent, bad atomic.Int64
	var first atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := watchClient()
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := status(c, addr, "/auth", tk1)
				sent.Add(1)
				if err != nil || got != 200 {
					bad.Add(1)
					first.CompareAndSwap(nil, fmt.Sprintf("%d %v", got, err))
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)

	version("..2026_b", "second-secret", "first-secret")
	symlink("..2026_b", "..data_tmp")
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "..2026_a")); err != nil {
		t.Fatal(err)
	}
	ok, took := eventually(t, addr, "/auth", tk2, 200)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if !ok {
		t.Fatalf("the new secret is not in use %v after the ..data swap", took)
	}
	t.Logf("the new secret was in use %v after the swap; %d requests under load", took, sent.Load())
	if bad.Load() != 0 {
		t.Errorf("%d of %d requests under load failed during the swap; first: %v", bad.Load(), sent.Load(), first.Load())
	}
	if sent.Load() < 20 {
		t.Errorf("only %d requests under load", sent.Load())
	}
	if len(hup) != 0 {
		t.Fatal("a signal was sent")
	}
	if l := logs.String(); strings.Contains(l, "first-secret") || strings.Contains(l, "second-secret") {
		t.Errorf("a secret reached the log:\n%s", l)
	}
}

// A broken new file is logged once and the running config kept; the
// watch goes on, and a fixed file is loaded.
func TestWatchBrokenKept(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	writeFile(t, path, watchConfig("first-secret", "admin"))
	addr, _, logs := startWatched(t, path)
	tk := ticketFor(t, "first-secret")
	mustStatus(t, addr, "/auth/admin", tk, 200, "before")

	renameOver(t, path, watchTop+"[ticket]\nsecret = \"first-secret\"\ndigest_type = \"MD4\"\n")
	waitLog(t, logs, "config reload failed", 1)
	time.Sleep(500 * time.Millisecond) // several polls: reported once
	l := logs.String()
	if n := strings.Count(l, "config reload failed"); n != 1 {
		t.Errorf("the broken config was reported %d times, want once", n)
	}
	if !strings.Contains(l, "digest_type") {
		t.Errorf("the report does not name the key:\n%s", l)
	}
	mustStatus(t, addr, "/auth/admin", tk, 200, "after the broken config")

	renameOver(t, path, watchConfig("first-secret", "fresh"))
	if ok, took := eventually(t, addr, "/auth/fresh", tk, 200); !ok {
		t.Fatalf("the fixed config is not served %v after it was saved", took)
	}
	mustStatus(t, addr, "/auth/admin", tk, 500, "after the fix")
}

// watch = false: a change is not loaded until SIGHUP. Turning it on by a
// reload starts the watch.
func TestWatchOff(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	writeFile(t, path, "watch = false\n"+watchConfig("first-secret"))
	addr, hup, logs := startWatched(t, path)
	tk := ticketFor(t, "first-secret")

	writeFile(t, path, "watch = false\n"+watchConfig("first-secret", "fresh"))
	time.Sleep(time.Second) // 10 intervals
	mustStatus(t, addr, "/auth/fresh", tk, 500, "watch off, after an edit")
	if n := strings.Count(logs.String(), "config reloaded"); n != 0 {
		t.Fatalf("watch off: %d reloads without a signal", n)
	}
	hup <- nil
	waitLog(t, logs, "config reloaded", 1)
	mustStatus(t, addr, "/auth/fresh", tk, 200, "after SIGHUP")

	// Watch turned on by a reload: the next edit is loaded.
	writeFile(t, path, watchConfig("first-secret", "fresh"))
	hup <- nil
	waitLog(t, logs, "config reloaded", 2)
	writeFile(t, path, watchConfig("first-secret", "fresh", "later"))
	if ok, took := eventually(t, addr, "/auth/later", tk, 200); !ok {
		t.Fatalf("watch turned on by a reload: an edit is not served %v later", took)
	}
}
