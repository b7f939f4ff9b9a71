package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// brokenConfigs are configs that do not parse, or whose secret has the
// wrong type, each with a distinctive secret-like token that no message
// may show, and what the message must say instead: "LINE: ..." after the
// file name.
var brokenConfigs = []struct {
	name, conf, token, want string
}{
	{"unquoted secret (issue 16)", "[ticket]\nsecret = correcthorsebatterystaple\n", "correcthorsebatterystaple",
		"2: syntax error in key ticket.secret: invalid value"},
	{"unquoted secret", "[ticket]\nsecret = ZqxxWvhKps\n", "ZqxxWvhKps",
		"2: syntax error in key ticket.secret: invalid value"},
	{"unquoted secret_old", "[ticket]\nsecret = \"s\"\nsecret_old = YhorTneLmp\n", "YhorTneLmp",
		"3: syntax error in key ticket.secret_old: invalid value"},
	{"unterminated quote", "[ticket]\nsecret = \"XpiqRsyTuh\n", "XpiqRsyTuh",
		"2: syntax error in key ticket.secret: unterminated string"},
	{"unterminated quote, more lines", "[ticket]\nsecret = \"WkrjHgpFdm\ndigest_type = \"MD5\"\n", "WkrjHgpFdm",
		"2: syntax error in key ticket.secret: unterminated string"},
	{"unterminated literal string", "[ticket]\nsecret = 'VbanMcsXzb\n", "VbanMcsXzb",
		"2: syntax error in key ticket.secret: unterminated string"},
	{"garbage after the value", "[ticket]\nsecret = \"abc\" UrleWqbTyy\n", "UrleWqbTyy",
		"2: syntax error in key ticket.secret: unexpected text after the value"},
	{"garbage glued to the value", "[ticket]\nsecret = \"abc\"TsuyUijOpk\n", "TsuyUijOpk",
		"2: syntax error in key ticket.secret: unexpected text after the value"},
	{"number glued to garbage", "[ticket]\nsecret = 1.5SrdtYumIov\n", "SrdtYumIov",
		"2: syntax error in key ticket.secret: unexpected text after the value"},
	{"multi-line string left open", "[ticket]\nsecret = \"\"\"RqfwErvTys\nPociUyyTrp\n", "RqfwErvTys PociUyyTrp",
		"3: syntax error in key ticket.secret (line 2): unterminated multi-line string"},
	{"multi-line string left open, key-like line", "[ticket]\nsecret = \"\"\"QaisDfsGhb\nJkalZx = CvcbNm\n", "QaisDfsGhb JkalZx CvcbNm",
		"3: syntax error in key ticket.secret (line 2): unterminated multi-line string"},
	{"multi-line literal left open", "[ticket]\nsecret = \"s\"\nsecret_old = '''PzlxCvvBne\n", "PzlxCvvBne",
		"3: syntax error in key ticket.secret_old: unterminated multi-line string"},
	{"quotes after a multi-line string", "[ticket]\nsecret = \"\"\"OldkIjbUhy\"\"\"\"\"\"\n", "OldkIjbUhy",
		"2: syntax error in key ticket.secret: "},
	{"newline in a string", "[ticket]\nsecret = \"NmobVceXzp\nLkujHggFdv\"\n", "NmobVceXzp LkujHggFdv",
		"2: syntax error in key ticket.secret: unterminated string"},
	{"integer out of range", "[ticket]\nsecret = 99999999999999999999\n", "99999999999999999999",
		"2: syntax error in key ticket.secret: number out of range"},
	{"float out of range", "[ticket]\nsecret = 7e77777\n", "7e77777",
		"2: syntax error in key ticket.secret: number out of range"},
	{"leading zeroes", "[ticket]\nsecret = 0777135\n", "0777135",
		"2: syntax error in key ticket.secret: invalid number"},
	{"underscore", "[ticket]\nsecret = 1_Mj3nHb\n", "1_Mj3nHb",
		"2: syntax error in key ticket.secret: "},
	{"hexadecimal", "[ticket]\nsecret = 0xZZKi8uJy\n", "0xZZKi8uJy",
		"2: syntax error in key ticket.secret: invalid number"},
	{"signed hexadecimal", "[ticket]\nsecret = -0x1Hu7yGt\n", "-0x1Hu7yGt",
		"2: syntax error in key ticket.secret: invalid number"},
	{"date", "[ticket]\nsecret = 1979-05-27TGf5rDe\n", "1979-05-27TGf5rDe",
		"2: syntax error in key ticket.secret: invalid date/time"},
	{"boolean prefix", "[ticket]\nsecret = trueEd4wSq9\n", "trueEd4wSq9",
		"2: syntax error in key ticket.secret: invalid value"},
	{"bad escape", "[ticket]\nsecret = \"WsleDr\\qFt6gYh\"\n", "WsleDr\\qFt6gYh",
		"2: syntax error in key ticket.secret: invalid escape sequence"},
	{"bad unicode escape", "[ticket]\nsecret = \"\\u00zzAq1sWd\"\n", "\\u00zzAq1sWd",
		"2: syntax error in key ticket.secret: invalid escape sequence"},
	{"control character", "[ticket]\nsecret = \"ZxdcVb\x01Nm8mQw\"\n", "ZxdcVb\x01Nm8mQw",
		"2: syntax error in key ticket.secret: control character"},
	{"invalid UTF-8", "[ticket]\nsecret = \"QwieRt\xffYu6iOp\"\n", "QwieRt\xffYu6iOp",
		"2: syntax error in key ticket.secret: invalid UTF-8"},
	{"array of bare words", "[ticket]\nsecret = [AsrdFgbHj]\n", "AsrdFgbHj",
		"2: syntax error in key ticket.secret: invalid value"},
	{"inline table", "ticket = { secret = KllzXcvVb }\n", "KllzXcvVb",
		"1: syntax error in key ticket.secret: invalid value"},
	{"secret on a line of its own", "[ticket]\nsecret = \"s\"\nBnfmQwpEry\n", "BnfmQwpEry",
		"3: syntax error in table [ticket]: "},
	{"secret on the first line", "TyxuIohPam\n[ticket]\nsecret = \"s\"\n", "TyxuIohPam",
		"1: syntax error: "},
	{"YAML habit", "[ticket]\nsecret: SdifGhsJkb\n", "SdifGhsJkb",
		"2: syntax error in table [ticket]: "},
	{"duplicate key", "[ticket]\nsecret = \"LzaxCvgBnp\"\nsecret = \"MqfwErpTyy\"\n", "LzaxCvgBnp MqfwErpTyy",
		"3: syntax error in key ticket.secret: defined twice"},
	{"broken table header", "[ticket]\nsecret = \"s\"\n[policy.UiooPa\n", "UiooPa",
		"3: syntax error: invalid table header"},
	{"token in a policy", "[ticket]\nsecret = \"s\"\n[policy.x]\ntokens = [\"a\", DfugHjeKlj]\n", "DfugHjeKlj",
		"4: syntax error in key policy.x.tokens: invalid value"},
	{"url in a policy", "[ticket]\nsecret = \"s\"\n[policy.x]\nlogin_url = GhdjKljZxs\n", "GhdjKljZxs",
		"4: syntax error in key policy.x.login_url: invalid value"},
	// Valid TOML, wrong type: the value is not echoed either.
	{"integer secret", "[ticket]\nsecret = 12345678901234\n", "12345678901234",
		"2: ticket.secret: want a string, not an integer"},
	{"integer secret_old", "[ticket]\nsecret = \"s\"\nsecret_old = 98765432109876\n", "98765432109876",
		"3: ticket.secret_old: want a string, not an integer"},
	{"array secret", "[ticket]\nsecret = [\"HnrbGvbFck\"]\n", "HnrbGvbFck",
		"2: ticket.secret: want a string, not an array"},
	{"empty secret beside a secret_file", "[ticket]\nsecret = \"JmikLosPqb\"\nsecret_file = \"nothere\"\n", "JmikLosPqb",
		"3: ticket.secret_file: set only one of ticket.secret and ticket.secret_file"},
}

// leaks returns the first piece of token (any 3 bytes in a row, of any of
// its space-separated words) that msg contains, or "".
func leaks(msg, token string) string { return leaksN(msg, token, 3) }

// leaksN is leaks for pieces of n bytes (a whole word when shorter).
func leaksN(msg, token string, n int) string {
	for _, w := range strings.Fields(token) {
		for i := 0; i+min(n, len(w)) <= len(w); i++ {
			if p := w[i : i+min(n, len(w))]; strings.Contains(msg, p) {
				return p
			}
		}
	}
	return ""
}

// TestConfigErrorHidesValues: a config that does not parse names the
// file, the line and the key, and shows nothing else from the file; a
// secret of the wrong type is not echoed. Checked on LoadConfig's error and
// on what the CLI prints.
func TestConfigErrorHidesValues(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	for _, tc := range brokenConfigs {
		if err := os.WriteFile(path, []byte(tc.conf), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadConfig(path)
		if err == nil {
			t.Errorf("%s: loaded", tc.name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, path+":"+tc.want) {
			t.Errorf("%s: error\n%s\nwant it to start with\n%s", tc.name, msg, path+":"+tc.want)
		}
		if l := leaks(strings.ReplaceAll(msg, path, "FILE"), tc.token); l != "" {
			t.Errorf("%s: the error shows %q from the file:\n%s", tc.name, l, msg)
		}
		for _, args := range [][]string{
			{"-check", "-config", path},
			{"-config", path},
			{"ticket", "-config", path, "-uid", "alice"},
		} {
			var out, errb strings.Builder
			if code := run(args, &out, &errb); code != 1 {
				t.Errorf("%s: %q: exit %d, want 1", tc.name, args, code)
			}
			all := strings.ReplaceAll(out.String()+errb.String(), path, "FILE")
			if !strings.Contains(all, "FILE:"+tc.want) {
				t.Errorf("%s: %q printed\n%s\nwant it to name the line and key: %s", tc.name, args, all, tc.want)
			}
			if l := leaks(all, tc.token); l != "" {
				t.Errorf("%s: %q printed %q from the file:\n%s", tc.name, args, l, all)
			}
		}
	}
}

// lineNumber finds the line numbers in a want of brokenConfigs.
var lineNumber = regexp.MustCompile(`^[0-9]+|\(line [0-9]+\)`)

// TestReloadErrorHidesValues: a SIGHUP that finds a broken file logs the
// file, line and key, and nothing else from it.
func TestReloadErrorHidesValues(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir, "[ticket]\nsecret = \"s\"\n")
	cfgPath := filepath.Join(dir, "config.toml")
	failures := func() []string {
		var errs []string
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			var rec struct{ Msg, Error string }
			if json.Unmarshal([]byte(line), &rec) == nil && strings.HasPrefix(rec.Msg, "config reload failed") {
				errs = append(errs, rec.Error)
			}
		}
		return errs
	}
	for _, tc := range brokenConfigs {
		// The listen line comes first: every line number moves down by one.
		want := cfgPath + ":" + lineNumber.ReplaceAllStringFunc(tc.want, func(m string) string {
			digits := strings.Trim(m, "(line )")
			i, _ := strconv.Atoi(digits)
			return strings.Replace(m, digits, strconv.Itoa(i+1), 1)
		})
		before := len(failures())
		tmp := cfgPath + ".tmp"
		if err := os.WriteFile(tmp, []byte("listen = \"unix:"+p.sock+"\"\n"+tc.conf), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, cfgPath); err != nil {
			t.Fatal(err)
		}
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(failures()) == before {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no reload failure logged:\n%s", tc.name, p.stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		got := failures()[before]
		if !strings.HasPrefix(got, want) {
			t.Errorf("%s: reload error\n%s\nwant it to start with\n%s", tc.name, got, want)
		}
		if l := leaks(strings.ReplaceAll(got, cfgPath, "FILE"), tc.token); l != "" {
			t.Errorf("%s: the reload log shows %q from the file:\n%s", tc.name, l, got)
		}
	}
	// The whole log, not only the error fields (but without the times,
	// whose digits would match the numeric tokens).
	var log strings.Builder
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			log.WriteString(line + "\n")
			continue
		}
		delete(rec, "time")
		b, _ := json.Marshal(rec)
		log.Write(append(b, '\n'))
	}
	for _, tc := range brokenConfigs {
		if l := leaksN(strings.ReplaceAll(log.String(), dir, "DIR"), tc.token, 5); l != "" {
			t.Errorf("%s: the log shows %q from the file", tc.name, l)
		}
	}
}
