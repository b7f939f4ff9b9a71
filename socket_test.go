//go:build unix

package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/e2e"
)

// TestUnixSocketMode: a unix socket is never at its path with a mode more
// open than socket_mode, not even between its creation and a chmod; in
// that window any local user could connect, and unix-socket peers are
// trusted proxies. The server answers on it, and the file goes when it
// stops.
func TestUnixSocketMode(t *testing.T) {
	// The most permissive umask: a socket bound under it is 0777, open to
	// every local user, until chmodded.
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	for _, tc := range []struct {
		conf string
		want os.FileMode
	}{
		{"", 0o660},
		{`socket_mode = "0600"` + "\n", 0o600},
		{`socket_mode = "0666"` + "\n", 0o666},
	} {
		dir := t.TempDir()
		sock := filepath.Join(dir, "tktgate.sock")
		metrics := filepath.Join(dir, "metrics.sock")
		var seen []string
		socketCreated = func(path string) {
			fi, err := os.Lstat(path)
			if err != nil {
				t.Errorf("socketCreated(%s): %v", path, err)
				return
			}
			if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm()&^tc.want != 0 {
				t.Errorf("socket_mode %04o: %s appeared as %v", tc.want, path, fi.Mode())
			}
			seen = append(seen, path)
		}
		cfg, err := ParseConfig([]byte("listen = \"unix:"+sock+"\"\nmetrics_listen = \"unix:"+metrics+"\"\n"+tc.conf+sec), filepath.Join(dir, "c.toml"))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan []net.Addr, 1)
		done := make(chan error, 1)
		var logs e2e.Buffer
		log := slog.New(slog.NewJSONHandler(&logs, nil))
		go func() { done <- serve(ctx, cfg, cfg.Path, log, new(slog.LevelVar), make(chan os.Signal), ready) }()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("serve: %v", err)
		}
		socketCreated = nil
		if len(seen) != 2 || seen[0] != sock || seen[1] != metrics {
			t.Errorf("socketCreated saw %q, want %s and %s", seen, sock, metrics)
		}
		for _, p := range []string{sock, metrics} {
			if fi, err := os.Lstat(p); err != nil || fi.Mode().Perm() != tc.want || fi.Mode()&os.ModeSocket == 0 {
				t.Errorf("socket_mode %04o: %s is %v (%v)", tc.want, p, fi.Mode(), err)
			}
		}
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", sock)
			},
		}}
		resp, err := c.Get("http://gate/healthz")
		if err != nil {
			t.Fatalf("GET /healthz on the socket: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("/healthz: %d %q", resp.StatusCode, body)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		// Nothing left behind: neither the sockets nor a directory.
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("left in the socket directory after shutdown: %q", names)
		}
	}
}

// TestUnixSocketFailures: a unix listen that fails leaves nothing behind,
// and a socket is refused where another is served.
func TestUnixSocketFailures(t *testing.T) {
	dir := t.TempDir()
	entries := func() []string {
		var names []string
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	// A socket path too long for clients to connect to, as bind would
	// refuse it.
	long := filepath.Join(dir, strings.Repeat("x", 200))
	if _, err := listen("unix:"+long, 0o660); err == nil || !strings.Contains(err.Error(), long) {
		t.Errorf("listen on a %d-byte path: %v, want an error naming it", len(long), err)
	}
	if names := entries(); len(names) != 0 {
		t.Errorf("a failed listen left %q", names)
	}
	// A path that fits, in a directory where the private one does not: the
	// private directory goes.
	limit := len(syscall.RawSockaddrUnix{}.Path) - 1
	deep := filepath.Join(dir, strings.Repeat("d", limit-len(dir)-len("/s.sock")-1))
	if err := os.Mkdir(deep, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := listen("unix:"+filepath.Join(deep, "s.sock"), 0o660); err == nil || !strings.Contains(err.Error(), "private directory") {
		t.Errorf("listen where the private socket path is too long: %v, want an error saying so", err)
	}
	if ents, _ := os.ReadDir(deep); len(ents) != 0 {
		t.Errorf("a failed listen left %v", ents)
	}
	os.RemoveAll(deep)
	// No such directory.
	if _, err := listen("unix:"+filepath.Join(dir, "nodir", "s.sock"), 0o660); err == nil {
		t.Error("listen in a missing directory succeeded")
	}
	// A live socket is not replaced, and the private directory goes.
	sock := filepath.Join(dir, "tktgate.sock")
	l, err := listen("unix:"+sock, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := listen("unix:"+sock, 0o660); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("listen on a live socket: %v, want a refusal", err)
	}
	if names := entries(); len(names) != 1 || names[0] != "tktgate.sock" {
		t.Errorf("beside a live socket: %q, want only tktgate.sock", names)
	}
	// Close removes the socket only while it is this listener's.
	other := filepath.Join(dir, "other.sock")
	l2, err := net.Listen("unix", other)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	l2.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Rename(other, sock); err != nil { // another socket takes the path
		t.Fatal(err)
	}
	l.Close()
	if fi, err := os.Lstat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("Close removed a socket that was not its own: %v", err)
	}
	os.Remove(sock)
	l, err = listen("unix:"+sock, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if names := entries(); len(names) != 0 {
		t.Errorf("after Close: %q, want nothing", names)
	}
}
