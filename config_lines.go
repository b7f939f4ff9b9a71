package main

// Line numbers of keys, and syntax errors that show nothing of the file.

import (
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// ---- syntax errors ----

// What a configuration error may show. The file holds the ticket secrets
// (secret, secret_old), and an error message ends up in -check's output, in
// the log of a failed reload, in CI logs and in bug reports. So:
//
//   - A syntax error shows the file, the line, the key and words of our
//     own: "FILE:LINE: syntax error in key KEY: WHAT". The parser's message
//     quotes the token it stumbled on (for an unquoted secret = hunter2:
//     `expected value but found "hunter2"`), and the broken line may be any
//     line, so nothing of it is passed on: syntaxWording maps the parser's
//     message to a fixed phrase and drops the message. KEY is the key the
//     parser read last, or the longer key written at the start of the
//     broken line ("KEY =", outside multi-line strings); a line without one
//     (a secret pasted on a line of its own) names its table at most. Key
//     names are not secrets.
//   - A value of a secret-bearing key (secret, secret_old) is never shown,
//     whatever is wrong with it: its problems name the key and the type
//     found. The *_file keys are paths, and are shown.
//   - The values of other keys may be shown when they are refused (an
//     unknown digest, a bad URL): they are not secrets, and the message is
//     of little use without them.

// syntaxProblem turns a parse error into a Problem that shows nothing of
// the file but the line number and a key name.
func (c *compiler) syntaxProblem(pe toml.ParseError, scan keyScan) Problem {
	line := pe.Position.Line
	what, keyed := syntaxWording(pe.Message)
	if !keyed && line > 1 && strings.Contains(pe.Message, `'\n'`) {
		line-- // the parser counts a table header's missing ] on the next line
	}
	msg := "syntax error"
	if keyed {
		// The parser's last key, or the longer key written on the broken
		// line: after `secret = "x" garbage` the parser is back in [ticket],
		// and a table defined twice is no key of the parser's.
		k, own := pe.LastKey, false
		if onLine, ok := scan.keyOn[line]; ok && (k == "" || onLine == k || strings.HasPrefix(onLine, k+".")) {
			k, own = onLine, true
		}
		switch {
		case k == "":
		case scan.tables[strings.ToLower(k)]:
			msg += " in table [" + k + "]"
		default:
			msg += " in key " + k
			// The value began on an earlier line: a string or an array
			// left open.
			if kl := c.lineOfString(k); !own && kl > 0 && kl < line {
				msg += " (line " + strconv.Itoa(kl) + ")"
			}
		}
	}
	return Problem{Line: line, Msg: msg + ": " + what}
}

// lineOfString is lineOf for a key as the parser prints it; 0 when it is
// not found.
func (c *compiler) lineOfString(k string) int {
	for {
		if l, ok := c.lines[strings.ToLower(k)]; ok {
			return l
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			return 0
		}
		k = k[:i]
	}
}

// syntaxWordings map the messages of BurntSushi/toml's lexer and parser, by
// a part of them that quotes nothing from the file, to words of our own;
// the first match wins. A message not listed becomes "invalid TOML". keyed
// is false for errors in a table header, where the parser's last key is not
// the culprit.
var syntaxWordings = []struct {
	part  string
	what  string
	keyed bool
}{
	{`expected value but found '\n'`, "missing value", true},
	{"expected value but found", `invalid value (strings must be quoted: key = "...")`, true},
	{"unexpected EOF; expected value", "missing value", true},
	{`unexpected EOF; expected '"""'`, `unterminated multi-line string (no closing """)`, true},
	{`unexpected EOF; expected "'''"`, "unterminated multi-line string (no closing ''')", true},
	{`unexpected EOF; expected '"'`, `unterminated string (no closing ")`, true},
	{`unexpected EOF; expected "'"`, "unterminated string (no closing ')", true},
	{"strings cannot contain newlines", `unterminated string (a string ends on its line; use """ for several lines)`, true},
	{"unexpected EOF; expected key separator", "missing = after the key", true},
	{"expected a top-level item to end with", "unexpected text after the value (want a newline or a # comment)", true},
	{"expected end of table array name delimiter", "invalid table header (want [[name]])", false},
	{"unexpected end of table name", "invalid table header (empty name)", false},
	{"unexpected table separator", "invalid table header (empty name)", false},
	{"to end table name", "invalid table header (want [name])", false},
	{"key name appears blank", "missing key name before =", true},
	{"keys cannot start with a '.'", "invalid key name", true},
	{`unexpected '""""""'`, "too many quotes at the end of a multi-line string", true},
	{`unexpected "''''''"`, "too many quotes at the end of a multi-line string", true},
	{"expected '.' or '='", "want key = value", true},
	{"expected a comma (',') or array terminator", "invalid array (want values separated by commas, and a closing ])", true},
	{"expected a comma or an inline table terminator", "invalid inline table (want key = value pairs separated by commas, and a closing } on the same line)", true},
	{"newlines not allowed within inline tables", "an inline table must be on one line", true},
	{"unexpected comma", "unexpected comma", true},
	{" is out of range for ", "number out of range", true},
	{" is out of the safe ", "number out of range", true},
	{"floats must start with a digit", "invalid number", true},
	{"invalid float", "invalid number", true},
	{"Invalid float", "invalid number", true},
	{"Invalid integer", "invalid number", true},
	{"expected a digit", "invalid number", true},
	{"cannot use sign with non-decimal numbers", "invalid number", true},
	{"not a binary number", "invalid number", true},
	{"not an octal number", "invalid number", true},
	{"not a hexadecimal number", "invalid number", true},
	{"invalid datetime", "invalid date/time", true},
	{"invalid escape", `invalid escape sequence (in "..." write \\ for a backslash, or use '...')`, true},
	{"hexadecimal digits after", `invalid escape sequence (in "..." write \\ for a backslash, or use '...')`, true},
	{"is not valid UTF-8", "invalid escape sequence (not a Unicode character)", true},
	{"cannot contain control characters", `control character (write it as an escape such as \t, or remove it)`, true},
	{"invalid UTF-8", "invalid UTF-8 (the file must be UTF-8)", true},
	{"cannot contain NULL bytes", "NUL byte (the file must be UTF-8, not UTF-16)", false},
	{"has already been defined", "defined twice", true},
	{"was already created as a hash", "already defined as a table", true},
	{"cannot be used as an array", "already defined, so it cannot be an array of tables", true},
	{"is not a table", "not a table", true},
	{"unexpected '='", "invalid key name", true},
	{"unexpected '.'", "invalid key name", true},
	{"unexpected EOF", "unexpected end of file", true},
}

// syntaxWording returns our words for the parser's message msg, which is
// dropped.
func syntaxWording(msg string) (what string, keyed bool) {
	for _, w := range syntaxWordings {
		if strings.Contains(msg, w.part) {
			return w.what, w.keyed
		}
	}
	return "invalid TOML", true
}

// ---- finding lines ----

// keyScan is what scanKeys finds.
type keyScan struct {
	lines  map[string]int  // lower-cased key, with all its parents -> first line
	keyOn  map[int]string  // line -> the full key of its "key =" or [table], as toml.Key prints it
	tables map[string]bool // lower-cased keys written as [table] or [[table]]
}

// scanKeys maps every key written in data (lower-cased, with all its
// parent tables) to the line it first appears on. The TOML decoder knows
// positions but does not expose them for keys it decoded fine, so this
// reads table headers and "key =" lines; keys inside inline tables or
// multi-line values are found through their parent. Of a "key =" line it
// reads only the key.
func scanKeys(data []byte) keyScan {
	lines := map[string]int{}
	scan := keyScan{lines: lines, keyOn: map[int]string{}, tables: map[string]bool{}}
	record := func(full []string, n int) {
		for i := 1; i <= len(full); i++ {
			k := strings.ToLower(toml.Key(full[:i]).String())
			if _, ok := lines[k]; !ok {
				lines[k] = n
			}
		}
	}
	var table []string
	inString := "" // the closing delimiter of a multi-line string we are in
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		s := strings.TrimSpace(line)
		if inString != "" {
			if strings.Contains(s, inString) {
				inString = ""
			}
			continue
		}
		if s == "" || s[0] == '#' {
			continue
		}
		if s[0] == '[' {
			parts, rest, ok := parseKeyPath(strings.TrimPrefix(s[1:], "["))
			if ok && strings.HasPrefix(rest, "]") {
				table = parts
				record(parts, n)
				scan.tables[strings.ToLower(toml.Key(parts).String())] = true
				scan.keyOn[n] = toml.Key(parts).String()
			}
			continue
		}
		parts, rest, ok := parseKeyPath(s)
		if !ok || !strings.HasPrefix(rest, "=") {
			continue
		}
		full := append(slices.Clone(table), parts...)
		record(full, n)
		scan.keyOn[n] = toml.Key(full).String()
		v := strings.TrimSpace(rest[1:])
		for _, d := range []string{`"""`, `'''`} {
			if strings.HasPrefix(v, d) && !strings.Contains(v[3:], d) {
				inString = d
			}
		}
	}
	return scan
}

// parseKeyPath reads a dotted TOML key at the start of s and returns its
// parts and what follows it.
func parseKeyPath(s string) (parts []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		switch s[0] {
		case '"':
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, "", false
			}
			p, err := strconv.Unquote(s[:end+1])
			if err != nil {
				p = s[1:end]
			}
			parts = append(parts, p)
			s = s[end+1:]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, "", false
			}
			parts = append(parts, s[1:end+1])
			s = s[end+2:]
		default:
			end := 0
			for end < len(s) && (s[end] >= 'a' && s[end] <= 'z' || s[end] >= 'A' && s[end] <= 'Z' ||
				s[end] >= '0' && s[end] <= '9' || s[end] == '_' || s[end] == '-') {
				end++
			}
			if end == 0 {
				return nil, "", false
			}
			parts = append(parts, s[:end])
			s = s[end:]
		}
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return parts, s, true
		}
		s = s[1:]
	}
}
