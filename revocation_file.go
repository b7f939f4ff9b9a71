package main

// The revocation file: reading, parsing and writing its lines (the
// format is described in revocation.go).

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// maxRevocationFile bounds what readRevocationFile reads: about a million
// entries.
const maxRevocationFile = 64 << 20

// readRevocationFile reads and parses the revocation file at name: a
// regular file of at most maxRevocationFile bytes.
func readRevocationFile(name string) ([]revEntry, error) {
	data, err := readRegularFile(name, maxRevocationFile)
	if err != nil {
		if _, ok := errors.AsType[*fs.PathError](err); !ok {
			err = fmt.Errorf("%s: %w", name, err)
		}
		return nil, err
	}
	return parseRevocations(data, name)
}

// parseRevocations reads the file's text; name is for messages. Blank
// lines and lines starting with '#' are skipped. Problems name the line
// but never show its text: a slip could have pasted a cookie there.
func parseRevocations(data []byte, name string) ([]revEntry, error) {
	var entries []revEntry
	var probs []string
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimRight(line, "\r")
		s := strings.TrimLeft(string(line), " \t")
		if s == "" || s[0] == '#' {
			continue
		}
		e, err := parseRevEntry(s)
		if err != nil {
			if len(probs) == 10 {
				probs = append(probs, "(more problems not shown)")
				break
			}
			probs = append(probs, fmt.Sprintf("%s:%d: %v", name, n, err))
			continue
		}
		entries = append(entries, e)
	}
	if len(probs) > 0 {
		return nil, &revFileError{probs}
	}
	return entries, nil
}

// revFileError lists the problems of a revocation file, each naming its
// file and line.
type revFileError struct{ probs []string }

func (e *revFileError) Error() string { return strings.Join(e.probs, "\n") }

// parseRevEntry reads one entry line (see the top of this file).
func parseRevEntry(s string) (revEntry, error) {
	var f []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			break
		}
		field, rest, err := nextRevField(s)
		if err != nil {
			return revEntry{}, err
		}
		f, s = append(f, field), rest
	}
	var e revEntry
	var err error
	if len(f) == 0 {
		return e, errors.New("empty entry") // a Redis value may be
	}
	switch f[0] {
	case "all":
		e.kind = revAll
		if len(f) < 2 || len(f) > 3 {
			return e, errors.New("want: all BEFORE [MADE]")
		}
		e.at, e.made, err = revTimes(f[1], f[2:])
	case "uid":
		e.kind = revUID
		if len(f) < 3 || len(f) > 4 {
			return e, errors.New("want: uid USER BEFORE [MADE]")
		}
		e.uid = strings.Clone(f[1]) // not a view of the line, which it would keep
		if err := checkRevUID(e.uid); err != nil {
			return e, err
		}
		e.at, e.made, err = revTimes(f[2], f[3:])
	case "ticket":
		e.kind = revTicket
		if len(f) != 4 {
			return e, errors.New("want: ticket ID DATE USER")
		}
		if e.id, err = parseTicketID(f[1]); err != nil {
			return e, err
		}
		if e.at, err = parseRevTime(f[2], false); err != nil {
			return e, fmt.Errorf("DATE: %v", err)
		}
		e.uid = strings.Clone(f[3])
	default:
		return e, errors.New("unknown entry kind (want all, uid or ticket)")
	}
	return e, err
}

// revTimes reads BEFORE and the optional MADE.
func revTimes(before string, made []string) (at, madeAt int64, err error) {
	if at, err = parseRevTime(before, true); err != nil {
		return 0, 0, fmt.Errorf("BEFORE: %v", err)
	}
	if len(made) > 0 {
		if madeAt, err = parseRevTime(made[0], false); err != nil {
			return 0, 0, fmt.Errorf("MADE: %v", err)
		}
	}
	return at, madeAt, nil
}

// nextRevField splits off the first field of s: a Go-quoted string
// ("Alice Smith", "\xff") or a run of bytes up to a space or tab.
func nextRevField(s string) (field, rest string, err error) {
	if s[0] == '"' {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return "", "", errors.New("a quoted field does not end, or has a bad escape")
		}
		field, _ = strconv.Unquote(q)
		rest = s[len(q):]
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			return "", "", errors.New("no space after a quoted field")
		}
		return field, rest, nil
	}
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, "", nil
	}
	return s[:i], s[i:], nil
}

// parseRevTime reads unix seconds or an RFC 3339 time. A fraction of a
// second counts as the next second when up is set (a "before" bound, so
// that every ticket minted before the instant is dated before it), else
// as its own second.
func parseRevTime(s string, up bool) (int64, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > maxRevTime {
			return 0, errors.New("unix seconds out of range")
		}
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, errors.New("want unix seconds or an RFC 3339 time such as 2026-12-01T12:00:00Z")
	}
	return revSeconds(t, up), nil
}

// maxRevTime is the latest time a file may name: year 9999, the last
// RFC 3339 can write.
const maxRevTime = 253402300799

// revSeconds is t in unix seconds, a fraction rounded up when up is set.
func revSeconds(t time.Time, up bool) int64 {
	s := t.Unix()
	if up && t.Nanosecond() != 0 {
		s++
	}
	return s
}

// checkRevUID refuses a uid no ticket can carry: Verify refuses control
// bytes, and a uid that begins or ends with a space or tab.
func checkRevUID(uid string) error {
	for i := 0; i < len(uid); i++ {
		if c := uid[i]; c < 0x20 || c == 0x7f {
			return errors.New("the user contains a control character (no ticket can)")
		}
	}
	if uid != strings.Trim(uid, " ") {
		return errors.New("the user begins or ends with a space (no ticket can)")
	}
	return nil
}

// parseTicketID reads the 16 lowercase hex digits appendRevEntry writes.
func parseTicketID(s string) (uint64, error) {
	if len(s) != 16 || !isLowerHex(s) {
		return 0, errors.New("ID: want 16 lowercase hex digits, as tktgate revoke -list shows")
	}
	return strconv.ParseUint(s, 16, 64)
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// appendRevEntry writes e as a line of the file, without the newline.
func appendRevEntry(b []byte, e revEntry) []byte {
	b = append(b, e.kind.String()...)
	switch e.kind {
	case revAll, revUID:
		if e.kind == revUID {
			b = appendRevUID(append(b, ' '), e.uid)
		}
		b = appendRevTime(append(b, ' '), e.at)
		if e.made != 0 {
			b = appendRevTime(append(b, ' '), e.made)
		}
	case revTicket:
		b = append(b, ' ')
		b = append(b, fmt.Sprintf("%016x", e.id)...)
		b = appendRevTime(append(b, ' '), e.at)
		b = appendRevUID(append(b, ' '), e.uid)
	}
	return b
}

func appendRevTime(b []byte, t int64) []byte {
	return time.Unix(t, 0).UTC().AppendFormat(b, time.RFC3339)
}

// appendRevUID writes a user bare when it is printable ASCII without a
// space or quote, else Go-quoted.
func appendRevUID(b []byte, uid string) []byte {
	bare := uid != ""
	for i := 0; i < len(uid) && bare; i++ {
		bare = uid[i] > ' ' && uid[i] < 0x7f && uid[i] != '"'
	}
	if bare {
		return append(b, uid...)
	}
	return strconv.AppendQuote(b, uid)
}
