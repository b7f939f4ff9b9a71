package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHealthcheckAddr(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:9180":       "tcp 127.0.0.1:9180",
		"0.0.0.0:9180":         "tcp 127.0.0.1:9180",
		":9180":                "tcp 127.0.0.1:9180",
		"[::]:9180":            "tcp [::1]:9180",
		"[::1]:9180":           "tcp [::1]:9180",
		"gate.internal:9180":   "tcp gate.internal:9180",
		"unix:/run/tktgate.sk": "unix /run/tktgate.sk",
	} {
		if n, a := healthcheckAddr(listen); n+" "+a != want {
			t.Errorf("healthcheckAddr(%q) = %s %s; want %s", listen, n, a, want)
		}
	}
}

// writeConfig writes baseConfig listening on listen to a fresh file.
func writeConfig(t *testing.T, listen string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("listen = \""+listen+"\"\n"+baseConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// The server in-process on 127.0.0.1, the config saying 0.0.0.0: ready
// while it serves, not ready once it has stopped and nothing listens.
func TestHealthcheckTCP(t *testing.T) {
	cfg, err := ParseConfig([]byte(baseConfig), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	path := writeConfig(t, "0.0.0.0:"+port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan []net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveOn(ctx, cfg, path, slog.New(slog.NewJSONHandler(io.Discard, nil)), new(slog.LevelVar), nil, ready, []net.Listener{ln})
	}()
	<-ready
	if code, out, errOut := runCLI("healthcheck", "-config", path); code != 0 || out != "ready\n" || errOut != "" {
		t.Fatalf("serving: exit %d, stdout %q, stderr %q; want 0, \"ready\\n\", nothing", code, out, errOut)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI("healthcheck", "-config", path)
	if code != 1 || !strings.HasPrefix(out, "not ready: ") || strings.Count(out, "\n") != 1 || !strings.Contains(out, "127.0.0.1:"+port) {
		t.Fatalf("stopped: exit %d, stdout %q; want 1 and one \"not ready: \" line naming 127.0.0.1:%s", code, out, port)
	}
}

// Anything but 200 is not ready; so is a server that does not answer in
// time.
func TestHealthcheckNotReady(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			t.Errorf("asked %s; want /readyz", r.URL.Path)
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	code, out, _ := runCLI("healthcheck", "-config", writeConfig(t, srv.Listener.Addr().String()))
	if code != 1 || out != "not ready: /readyz answered 503 Service Unavailable\n" {
		t.Errorf("503: exit %d, stdout %q", code, out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered
		}
	}()
	start := time.Now()
	err = healthcheck(ln.Addr().String(), 200*time.Millisecond)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("silent server: %v after %v; want an error within the timeout", err, time.Since(start))
	}

	code, out, _ = runCLI("healthcheck", "-config", filepath.Join(t.TempDir(), "missing.toml"))
	if code != 1 || !strings.HasPrefix(out, "not ready: config: ") || strings.Count(out, "\n") != 1 {
		t.Errorf("no config: exit %d, stdout %q", code, out)
	}
}

// The built binary against the built binary on a unix socket, which an
// httpGet probe cannot reach.
func TestHealthcheckUnixSocket(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir, baseConfig)
	hc := func() (int, string) {
		cmd := exec.Command(binary(t), "healthcheck", "-config", filepath.Join(dir, "config.toml"))
		var out bytes.Buffer
		cmd.Stdout = &out
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), out.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, out.String()
	}
	if code, out := hc(); code != 0 || out != "ready\n" {
		t.Fatalf("serving: exit %d, stdout %q; want 0, \"ready\\n\"\n%s", code, out, p.stderr.String())
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("tktgate did not stop on SIGTERM")
	}
	if code, out := hc(); code != 1 || !strings.HasPrefix(out, "not ready: ") || !strings.Contains(out, p.sock) {
		t.Fatalf("stopped: exit %d, stdout %q; want 1, \"not ready: \" naming %s", code, out, p.sock)
	}
}

// Asking for help is not a mistake: usage on stdout, exit 0.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"-help"}, {"--help"}, {"help"}, {"-config", "x.toml", "-h"}} {
		code, out, errOut := runCLI(args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "tktgate healthcheck") || !strings.Contains(out, "-check") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", args, code, out, errOut)
		}
	}
	for _, sub := range []string{"ticket", "healthcheck"} {
		code, out, errOut := runCLI(sub, "-h")
		if code != 0 || errOut != "" || !strings.Contains(out, "tktgate "+sub) || !strings.Contains(out, "-config") {
			t.Errorf("%s -h: exit %d, stdout %q, stderr %q; want 0 and its usage on stdout", sub, code, out, errOut)
		}
	}
	// A wrong flag still is one.
	if code, out, errOut := runCLI("-nosuchflag"); code != 2 || out != "" || !strings.Contains(errOut, "Usage:") {
		t.Errorf("-nosuchflag: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", code, out, errOut)
	}
	// So is a stray argument, named with the command.
	for _, args := range [][]string{{"stray"}, {"healthcheck", "stray"}} {
		want := strings.Join(args[:len(args)-1], " ")
		want = strings.TrimSpace("tktgate "+want) + `: unexpected argument "stray"`
		if code, out, errOut := runCLI(args...); code != 2 || out != "" || !strings.HasPrefix(errOut, want+"\n") || !strings.Contains(errOut, "Usage:") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, %q and the usage on stderr", args, code, out, errOut, want)
		}
	}
}

// A start-up failure is logged like everything the server logs: one JSON
// line at ERROR, with the error and no secret. -check stays a report.
func TestStartupErrorIsJSON(t *testing.T) {
	const secret = "s3cr3t-startup-value"
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for name, c := range map[string]struct{ config, want string }{
		"bad config": {"[ticket]\nsecret = \"" + secret + "\"\ndigest_type = \"MD4\"\n", "digest_type"},
		"no config":  {"", "no such file"},
		"listen":     {"listen = \"" + busy.Addr().String() + "\"\n[ticket]\nsecret = \"" + secret + "\"\n", "address already in use"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if c.config != "" {
				if err := os.WriteFile(path, []byte(c.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(binary(t), "-config", path)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v; want status 1", err)
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			var last map[string]any
			for _, l := range lines {
				last = nil
				if err := json.Unmarshal([]byte(l), &last); err != nil {
					t.Fatalf("stderr line %q is not JSON: %v", l, err)
				}
			}
			if last["level"] != "ERROR" || last["msg"] == "" || !strings.Contains(last["error"].(string), c.want) {
				t.Errorf("last log line %v; want level ERROR, a msg, and an error with %q", last, c.want)
			}
			if strings.Contains(stderr.String(), secret) {
				t.Errorf("the secret is in the log: %s", stderr.String())
			}
			if name == "bad config" && len(lines) != 1 {
				t.Errorf("%d log lines; want one:\n%s", len(lines), stderr.String())
			}
		})
	}
	// -check prints the problems for people, as before.
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("[ticket]\nsecret = \"x\"\ndigest_type = \"MD4\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI("-check", "-config", path); code != 1 || strings.HasPrefix(errOut, "{") || !strings.Contains(errOut, path+":3: ticket.digest_type") {
		t.Errorf("-check: exit %d, stderr %q; want 1 and a plain report", code, errOut)
	}
}

// The container image's HEALTHCHECK, and the exec probe the manifest
// shows in a comment, run tktgate healthcheck in exec form (distroless has
// no shell) with the config the image's CMD serves.
func TestDeployHealthcheck(t *testing.T) {
	want := []string{"/usr/local/bin/tktgate", "healthcheck", "-config", "/etc/tktgate/config/config.toml"}
	docker, err := os.ReadFile("nginx/k8s/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := strings.ReplaceAll(string(docker), "\\\n", " ")
	var hc, cmd []string
	for _, line := range strings.Split(d, "\n") {
		if rest, ok := strings.CutPrefix(line, "HEALTHCHECK "); ok {
			_, form, ok := strings.Cut(rest, " CMD ")
			if !ok || json.Unmarshal([]byte(strings.TrimSpace(form)), &hc) != nil {
				t.Fatalf("Dockerfile: HEALTHCHECK %s is not CMD in exec form", rest)
			}
		}
		if rest, ok := strings.CutPrefix(line, "CMD "); ok {
			if err := json.Unmarshal([]byte(rest), &cmd); err != nil {
				t.Fatalf("Dockerfile: CMD %s: %v", rest, err)
			}
		}
	}
	if strings.Join(hc, " ") != strings.Join(want, " ") {
		t.Errorf("Dockerfile: HEALTHCHECK runs %q; want %q", hc, want)
	}
	if !strings.Contains(d, "COPY --from=build /out/tktgate "+want[0]+"\n") || strings.Join(cmd, " ") != strings.Join(want[2:], " ") {
		t.Errorf("Dockerfile: the HEALTHCHECK's binary or config is not the one the image copies and serves (CMD %q)", cmd)
	}
	manifest, err := os.ReadFile("nginx/k8s/base/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	probe, _ := json.Marshal(want)
	if !strings.Contains(string(manifest), "          #     command: "+strings.ReplaceAll(string(probe), ",", ", ")+"\n") {
		t.Errorf("nginx/k8s/base/deployment.yaml: no exec probe running %s in a comment", probe)
	}
}
