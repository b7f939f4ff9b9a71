//go:build linux

// Package systemd_test checks tktgate.service and tktgate.sysusers with
// the real systemd tools: `systemd-analyze verify` (and, where the
// installed systemd has it, `systemd-analyze security --offline=true`),
// and `systemd-sysusers --root` into a scratch directory. The tools skip
// when missing, and fail under TKTGATE_REQUIRE_E2E=1.
package systemd_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/e2e"
)

// installedBinary is the path the unit runs tktgate from; the verify
// tests replace it, and only it, with a freshly built binary, because
// systemd-analyze verify checks that ExecStart's program exists.
const installedBinary = "/usr/local/bin/tktgate"

// tktgate is the binary under test, built once from the repository root.
var tktgate = e2e.Binary{Root: ".."}

func TestMain(m *testing.M) {
	code := m.Run()
	tktgate.Remove()
	os.Exit(code)
}

func tktgateBinary(t *testing.T) string { return tktgate.Path(t) }

// tool returns the path of a systemd program, or skips (fails under
// TKTGATE_REQUIRE_E2E=1) when it is not installed.
func tool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/bin", "/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	e2e.SkipOrFail(t, "%s not installed (Debian package systemd)", name)
	return ""
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testableUnit is tktgate.service with installedBinary replaced by bin,
// written as dir/tktgate.service (verify takes the unit's name from the
// file's).
func testableUnit(t *testing.T, unit, bin string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tktgate.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, installedBinary, bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// verify runs systemd-analyze verify on the unit text; a unit passes
// when the command exits 0 and prints nothing (verify only warns, exit
// 0, about an unknown key or a bad value, which systemd ignores at run
// time too).
func verify(t *testing.T, unit string) (string, error) {
	t.Helper()
	analyze := tool(t, "systemd-analyze")
	path := testableUnit(t, unit, tktgateBinary(t))
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	return string(out), err
}

func TestUnitVerifies(t *testing.T) {
	unit := readFile(t, "tktgate.service")
	if !strings.Contains(unit, "\nExecStart="+installedBinary+" ") {
		t.Fatalf("the unit's ExecStart does not run %s: the substitution would test nothing", installedBinary)
	}
	out, err := verify(t, unit)
	if err != nil || out != "" {
		t.Fatalf("systemd-analyze verify tktgate.service: %v\n%s", err, out)
	}
}

// TestVerifyCatchesBrokenUnits proves TestUnitVerifies can fail: each
// broken copy of the unit must make verify exit non-zero or complain,
// naming what is wrong.
func TestVerifyCatchesBrokenUnits(t *testing.T) {
	unit := readFile(t, "tktgate.service")
	for _, c := range []struct{ name, old, new, want string }{
		{"misspelled directive", "\nProtectSystem=strict\n", "\nProtectSytem=strict\n", "ProtectSytem"},
		{"bad value", "\nRestart=on-failure\n", "\nRestart=sometimes\n", "sometimes"},
		{"missing binary", "\nExecStart=" + installedBinary + " ", "\nExecStart=/nonexistent/tktgate ", "/nonexistent/tktgate"},
		{"misspelled section", "\n[Service]\n", "\n[Servce]\n", "Servce"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(unit, c.old) {
				t.Fatalf("the unit has no %q to break", c.old)
			}
			out, err := verify(t, strings.Replace(unit, c.old, c.new, 1))
			if err == nil && out == "" {
				t.Fatal("systemd-analyze verify accepted the broken unit silently")
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("verify's complaint does not name %q:\n%s", c.want, out)
			}
		})
	}
}

// directives parses a unit file: section -> key -> values, in order
// (comments and blank lines skipped; no continuation lines in ours).
func directives(unit string) map[string]map[string][]string {
	m := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			if m[section] == nil {
				m[section] = map[string][]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if ok && section != "" {
				m[section][strings.TrimSpace(k)] = append(m[section][strings.TrimSpace(k)], strings.TrimSpace(v))
			}
		}
	}
	return m
}

// required are the [Service] lines the unit must have, exactly: how it
// runs, reloads and restarts, and its sandbox.
var required = []string{
	"ExecStart=" + installedBinary + " -config /etc/tktgate/config.toml",
	"ExecReload=/bin/kill -HUP $MAINPID",
	"Restart=on-failure",
	// Measured: nginx hands a tktgate that does not preempt it its
	// subrequests in batches (benchmarks/README.md, comparison 3).
	"CPUSchedulingPolicy=batch",
	"User=tktgate",
	"RuntimeDirectory=tktgate",
	"NoNewPrivileges=yes",
	"CapabilityBoundingSet=",
	"AmbientCapabilities=",
	"ProtectSystem=strict",
	"ProtectHome=yes",
	"PrivateTmp=yes",
	"PrivateDevices=yes",
	"ProtectKernelTunables=yes",
	"ProtectKernelModules=yes",
	"ProtectKernelLogs=yes",
	"ProtectControlGroups=yes",
	"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
	"RestrictNamespaces=yes",
	"LockPersonality=yes",
	"MemoryDenyWriteExecute=yes",
	"SystemCallArchitectures=native",
	"SystemCallFilter=@system-service",
}

// checkUnit returns what the unit lacks or gets wrong, beyond what
// systemd-analyze verify sees.
func checkUnit(unit, configToml string) []string {
	var problems []string
	svc := directives(unit)["Service"]
	for _, r := range required {
		k, v, _ := strings.Cut(r, "=")
		if !slices.Contains(svc[k], v) {
			problems = append(problems, fmt.Sprintf("[Service] lacks %s (has %q)", r, svc[k]))
		}
	}
	// Every key the tests rely on is set once, so a later line cannot
	// undo it (an empty assignment resets most list settings).
	for _, r := range required {
		k, _, _ := strings.Cut(r, "=")
		if k != "SystemCallFilter" && len(svc[k]) > 1 {
			problems = append(problems, fmt.Sprintf("[Service] sets %s %d times", k, len(svc[k])))
		}
	}
	// A graceful stop: systemd waits longer than tktgate drains.
	m := regexp.MustCompile(`(?m)^#? *shutdown_timeout = "([^"]+)"`).FindStringSubmatch(configToml)
	if m == nil {
		return append(problems, "config.toml documents no shutdown_timeout default")
	}
	drain, err := time.ParseDuration(m[1])
	if err != nil {
		return append(problems, fmt.Sprintf("config.toml's shutdown_timeout %q: %v", m[1], err))
	}
	if len(svc["TimeoutStopSec"]) != 1 {
		return append(problems, "[Service] needs one TimeoutStopSec")
	}
	stop, err := time.ParseDuration(svc["TimeoutStopSec"][0])
	if err != nil {
		return append(problems, fmt.Sprintf("TimeoutStopSec %q: write it as Go and systemd both read it (30s): %v", svc["TimeoutStopSec"][0], err))
	}
	if stop <= drain {
		problems = append(problems, fmt.Sprintf("TimeoutStopSec=%v is not above the default shutdown_timeout %v", stop, drain))
	}
	if rs := svc["RestartSec"]; len(rs) != 1 {
		problems = append(problems, "[Service] needs one RestartSec")
	} else if d, err := time.ParseDuration(rs[0]); err != nil || d < time.Second {
		problems = append(problems, fmt.Sprintf("RestartSec=%s: want at least 1s", rs[0]))
	}
	return problems
}

func TestUnitDirectives(t *testing.T) {
	unit, conf := readFile(t, "tktgate.service"), readFile(t, "../config.toml")
	for _, p := range checkUnit(unit, conf) {
		t.Error(p)
	}
}

// TestUnitDirectivesCatchRemovals proves TestUnitDirectives can fail:
// the unit without any one required line, or with a short stop timeout,
// has a problem.
func TestUnitDirectivesCatchRemovals(t *testing.T) {
	unit, conf := readFile(t, "tktgate.service"), readFile(t, "../config.toml")
	for _, r := range required {
		if !strings.Contains(unit, "\n"+r+"\n") {
			t.Errorf("the unit has no line %q", r)
			continue
		}
		if len(checkUnit(strings.Replace(unit, "\n"+r+"\n", "\n", 1), conf)) == 0 {
			t.Errorf("the unit without %q passes", r)
		}
	}
	if len(checkUnit(strings.Replace(unit, "\nProtectHome=yes\n", "\nProtectHome=yes\nProtectHome=no\n", 1), conf)) == 0 {
		t.Error("the unit with ProtectHome=yes undone by a later line passes")
	}
	short := regexp.MustCompile(`(?m)^TimeoutStopSec=.*$`).ReplaceAllString(unit, "TimeoutStopSec=5s")
	if len(checkUnit(short, conf)) == 0 {
		t.Error("the unit with TimeoutStopSec=5s passes")
	}
}

// TestUnitSecurity logs `systemd-analyze security --offline=true`'s
// exposure score (systemd 250 and later); it fails only when the command
// does.
func TestUnitSecurity(t *testing.T) {
	analyze := tool(t, "systemd-analyze")
	if help, _ := exec.Command(analyze, "--help").CombinedOutput(); !strings.Contains(string(help), "--offline") {
		t.Skipf("this systemd-analyze has no security --offline (systemd < 250)")
	}
	path := testableUnit(t, readFile(t, "tktgate.service"), tktgateBinary(t))
	out, err := exec.Command(analyze, "security", "--offline=true", "--no-pager", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security --offline=true: %v\n%s", err, out)
	}
	score := regexp.MustCompile(`Overall exposure level for tktgate\.service: [0-9.]+ \S+`).Find(out)
	if score == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	t.Log(string(score))
}

// TestSysusers creates the users of tktgate.sysusers in a scratch root
// and checks the unit's User=, Group= and SupplementaryGroups= are among
// them.
func TestSysusers(t *testing.T) {
	sysusers := tool(t, "systemd-sysusers")
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf, err := filepath.Abs("tktgate.sysusers") // relative names are looked up in root
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sysusers, "--root="+root, conf).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	names := func(file string) []string {
		var n []string
		for line := range strings.Lines(readFile(t, filepath.Join(root, "etc", file))) {
			name, _, _ := strings.Cut(line, ":")
			n = append(n, name)
		}
		return n
	}
	users, groups := names("passwd"), names("group")
	svc := directives(readFile(t, "tktgate.service"))["Service"]
	for _, u := range svc["User"] {
		if !slices.Contains(users, u) {
			t.Errorf("User=%s is not created by tktgate.sysusers (users: %v)", u, users)
		}
	}
	for _, g := range slices.Concat(svc["Group"], svc["SupplementaryGroups"]) {
		for f := range strings.FieldsSeq(g) {
			if !slices.Contains(groups, f) {
				t.Errorf("group %s is not created by tktgate.sysusers (groups: %v)", f, groups)
			}
		}
	}
	if len(svc["Group"]) != 1 {
		t.Errorf("want one Group= (the socket's group), have %q", svc["Group"])
	}
}
