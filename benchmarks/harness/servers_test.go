package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// directives are the non-comment lines of an nginx file, trimmed.
func directives(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// Comparison 3 measures the shipped nginx files: each setup's auth
// location must be the shipped file with only proxy_pass changed (and,
// for the "every header forwarded" row, proxy_pass_request_headers), so
// that a change there cannot leave the benchmark measuring something
// else; and nginx must accept the whole configuration.
func TestNginxSetupsAreTheShippedFiles(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{root: root}
	dir := t.TempDir()
	listen := map[string]string{}
	for i, st := range nginxSetups {
		listen[st.name] = "127.0.0.1:" + strconv.Itoa(18001+i)
	}
	ups := map[string]string{"tkt_tcp": "127.0.0.1:18101", "tkt_unix": "unix:" + filepath.Join(dir, "s.sock"), "tkt_ceiling": "127.0.0.1:18102", "tkt_cached": "127.0.0.1:18103",
		"tkt_tcp_batch": "127.0.0.1:18104", "tkt_unix_batch": "unix:" + filepath.Join(dir, "b.sock"), "tkt_ceiling_batch": "127.0.0.1:18105"}
	conf, err := h.nginxFiles(dir, filepath.Join(dir, "www"), ups, listen, false)
	if err != nil {
		t.Fatal(err)
	}
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, st := range nginxSetups {
		if st.upstream == "" {
			continue
		}
		file := "tktgate-auth.conf"
		if st.name == nameNginxCached {
			file = "tktgate-auth-cached.conf"
		}
		want := directives(read(filepath.Join(root, "nginx", file)))
		got := directives(read(filepath.Join(dir, st.auth)))
		if len(got) != len(want) {
			t.Fatalf("%s: %d directives, the shipped %s has %d", st.name, len(got), file, len(want))
		}
		var diff []string
		for i := range want {
			if got[i] != want[i] {
				diff = append(diff, got[i])
			}
		}
		wantDiff := []string{"proxy_pass http://" + st.upstream + "/;"}
		if st.name == nameNginxAllHeaders {
			wantDiff = append(wantDiff, "proxy_pass_request_headers on;")
		}
		if !slices.Equal(diff, wantDiff) {
			t.Errorf("%s: differs from the shipped %s in %q; want only %q", st.name, file, diff, wantDiff)
		}
		if !strings.Contains(conf, "include "+filepath.Join(dir, st.auth)+";") {
			t.Errorf("%s: its auth location is not included", st.name)
		}
	}
	if !strings.Contains(conf, "keepalive 256;") || !strings.Contains(conf, "proxy_cache_path "+filepath.Join(dir, "auth-cache")) {
		t.Errorf("the upstreams or the cache are not the shipped ones:\n%s", conf)
	}
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx not installed: not checking the configuration with nginx -t")
	}
	full := "error_log " + filepath.Join(dir, "error.log") + ";\npid " + filepath.Join(dir, "nginx.pid") + ";\nevents {}\nhttp {\n" + conf + "}\n"
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(full), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginx, "-t", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log")).CombinedOutput(); err != nil {
		t.Errorf("nginx -t: %v\n%s", err, out)
	}
}

// What comparisons 1, 2 and 7 send tktgate is what nginx sends it with
// the shipped tktgate-auth.conf: the headers that file sets, and Cookie.
// (nginx/wiring_test.go checks what a real nginx sends.)
func TestSubrequestIsTheShippedOne(t *testing.T) {
	b, err := os.ReadFile("../../nginx/tktgate-auth.conf")
	if err != nil {
		t.Fatal(err)
	}
	var set []string
	for _, m := range regexp.MustCompile(`(?m)^\s*proxy_set_header\s+(\S+)\s+(.*);`).FindAllStringSubmatch(string(b), -1) {
		// Empty: never sent. $http_traceparent: only when the browser's
		// request has one, which a page view has not.
		if v := strings.TrimSpace(m[2]); v != `""` && v != "$http_traceparent" {
			set = append(set, strings.ToLower(m[1]))
		}
	}
	var sent []string
	for _, h := range subrequestHeaders("x") {
		name, _, _ := strings.Cut(h, ":")
		sent = append(sent, strings.ToLower(name))
	}
	slices.Sort(set)
	slices.Sort(sent)
	if !slices.Equal(set, sent) {
		t.Errorf("tktgate-auth.conf sets %q; the harness sends %q", set, sent)
	}
	if !strings.Contains(string(b), "proxy_pass_request_headers off;") {
		t.Errorf("tktgate-auth.conf forwards the browser's headers: the harness's subrequest is not what nginx sends")
	}
}

// The page view is the size of a real one: about 1.2 KB, of which about
// 400 bytes of cookies.
func TestBrowserRequestSize(t *testing.T) {
	tk := strings.Repeat("A", 92) // an MD5 ticket in base64, as the harness's
	c := len("Cookie: " + browserCookie(tk))
	n := requestSize(clientHeaders(browserCookie(tk)))
	t.Logf("Cookie header %d bytes, request %d bytes", c, n)
	if c < 380 || c > 440 {
		t.Errorf("Cookie header %d bytes; want about 400", c)
	}
	if n < 1100 || n > 1300 {
		t.Errorf("request %d bytes; want about 1.2 KB", n)
	}
}
