package main

// tktgate revoke: adding, removing and listing revocation entries.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

const revokeUsage = `Usage:
  tktgate revoke [-config FILE] -uid U [-before TIME]    refuse U's tickets issued before TIME
  tktgate revoke [-config FILE] -all [-before TIME]      refuse every ticket issued before TIME
  tktgate revoke [-config FILE] [-policy P] -ticket VALUE
                                                        refuse one ticket (the cookie value)
  tktgate revoke [-config FILE] -list                   print the entries in the file
  tktgate revoke [-config FILE] -remove (-uid U | -all | -ticket VALUE | -id ID)
                                                        remove an entry

TIME is now (the default), +2m or -1h (from now), unix seconds, or an
RFC 3339 time (2026-12-01T12:00:00Z); it is rounded up to a whole second.
The entry goes to [revocation] file, and to [revocation] redis, whichever
the config has; a running tktgate reloads the file when it changes, and
has Redis' changes within a second. Entries that can match no valid ticket any more are
dropped on every write.
`

// revokeCmd is what one tktgate revoke run asks.
type revokeCmd struct {
	cfg    *Config
	now    time.Time
	uid    *string // -uid, when given
	all    bool
	ticket *string // -ticket, when given
	id     *string // -id, when given
	policy string
	before time.Time
	remove bool
}

// runRevoke is tktgate revoke.
func runRevoke(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tktgate revoke", flag.ContinueOnError)
	cfgPath := fs.String("config", "config.toml", "configuration `file` ([revocation] file, timeouts, dialect)")
	uid := fs.String("uid", "", "revoke this `user`'s tickets")
	all := fs.Bool("all", false, "revoke every ticket")
	ticket := fs.String("ticket", "", "revoke one ticket: the cookie `value` as the browser sends it")
	policy := fs.String("policy", "", "read -ticket with this `policy`'s dialect and digest (default: the default policy's)")
	before := fs.String("before", "now", "revoke tickets issued before `TIME`")
	list := fs.Bool("list", false, "print the entries")
	remove := fs.Bool("remove", false, "remove the entry named by -uid, -all, -ticket or -id instead of adding one")
	id := fs.String("id", "", "with -remove: the ticket entry of this `ID`, as -list shows it")
	usage := func() {
		fmt.Fprint(fs.Output(), revokeUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, usage, stdout, stderr); !ok {
		return code
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "tktgate revoke: "+format+"\n", a...)
		return code
	}
	if fs.NArg() > 0 {
		return fail(2, "unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	what := 0
	for _, n := range []string{"uid", "all", "ticket", "id", "list"} {
		if set[n] {
			what++
		}
	}
	switch {
	case what != 1:
		usage()
		return fail(2, "give one of -uid, -all, -ticket, -list (or -remove with -id)")
	case set["id"] && !*remove:
		return fail(2, "-id is for -remove")
	case set["before"] && (*remove || !(set["uid"] || set["all"])):
		return fail(2, "-before goes with -uid or -all")
	case set["policy"] && !set["ticket"]:
		return fail(2, "-policy goes with -ticket")
	case *list && *remove:
		return fail(2, "-list and -remove do not go together")
	}
	cfg, err := loadConfig(*cfgPath, false)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if cfg.RevocationFile == "" && cfg.Redis == nil {
		return fail(1, "%s has no [revocation] file or redis", *cfgPath)
	}
	c := revokeCmd{cfg: cfg, now: time.Now(), all: *all, policy: *policy, remove: *remove}
	if set["uid"] {
		c.uid = uid
	}
	if set["ticket"] {
		c.ticket = ticket
	}
	if set["id"] {
		c.id = id
	}
	if c.before, err = parseBefore(*before, c.now); err != nil {
		return fail(2, "-before: %v", err)
	}
	if *list {
		code := 0
		if cfg.RevocationFile != "" {
			code = c.list(stdout, stderr)
		}
		if cfg.Redis != nil && code == 0 {
			code = c.listRedis(stdout, stderr)
		}
		return code
	}
	e, err := c.entry()
	if err != nil {
		return fail(2, "%v", err)
	}
	if c.remove {
		e.at, e.made = 0, 0 // the entry is named, whatever its times
	}
	// Each source configured gets the entry: a file that tktgates read
	// beside Redis, or copies made from it, must not miss it.
	if cfg.RevocationFile != "" {
		msg, err := c.update(e)
		if err != nil {
			return fail(1, "%v", err)
		}
		fmt.Fprintln(stdout, msg)
	}
	if cfg.Redis != nil {
		msg, err := c.updateRedis(e)
		if err != nil {
			return fail(1, "redis: %v", err)
		}
		fmt.Fprintln(stdout, "redis: "+msg)
	}
	return 0
}

// parseBefore reads -before: now, +DURATION or -DURATION from now, unix
// seconds, or RFC 3339.
func parseBefore(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-"):
		d, err := time.ParseDuration(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not a duration such as +2m or -1h30m", s)
		}
		return now.Add(d), nil
	}
	secs, err := parseRevTime(s, true)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(secs, 0), nil
}

// entry is the entry the flags name (for -remove, what to match).
func (c *revokeCmd) entry() (revEntry, error) {
	switch {
	case c.uid != nil:
		if err := checkRevUID(*c.uid); err != nil {
			return revEntry{}, fmt.Errorf("-uid: %v", err)
		}
		return revEntry{kind: revUID, uid: *c.uid, at: revSeconds(c.before, true), made: c.now.Unix()}, nil
	case c.all:
		return revEntry{kind: revAll, at: revSeconds(c.before, true), made: c.now.Unix()}, nil
	case c.id != nil:
		id, err := parseTicketID(*c.id)
		if err != nil {
			return revEntry{}, fmt.Errorf("-id: %v", err)
		}
		return revEntry{kind: revTicket, id: id}, nil
	}
	return c.ticketEntry()
}

// ticketEntry names the -ticket cookie value by its signature, read with
// the policy's dialect and digest (the client address is unknown, so it
// is parsed, not verified).
func (c *revokeCmd) ticketEntry() (revEntry, error) {
	p := c.cfg.Default
	if c.policy != "" {
		if p = c.cfg.Policies[c.policy]; p == nil {
			return revEntry{}, fmt.Errorf("-policy: no policy %q in the config", c.policy)
		}
	}
	value := strings.TrimSpace(*c.ticket)
	// "auth_tkt=VALUE", as copied from a Cookie header, is fine too.
	value = strings.TrimPrefix(value, p.CookieName+"=")
	var tk verifier.Ticket
	if err := p.Verifier.Parse(&tk, []byte(value)); err != nil {
		// The value is not shown: it may be a working cookie.
		return revEntry{}, fmt.Errorf("-ticket: not a %s ticket with a %s digest (%v); for another policy's tickets, give -policy",
			p.Dialect, p.Options.Digest, strings.TrimPrefix(err.Error(), "verifier: "))
	}
	return revEntry{kind: revTicket, id: ticketID(p.Verifier.Signature(&tk)), at: tk.Time.Unix(), uid: string(tk.UID)}, nil
}

// update adds e to the file, or removes the entries it names, under the
// lock, dropping the entries past revDropAt, and says what it did.
func (c *revokeCmd) update(e revEntry) (string, error) {
	name := c.cfg.RevocationFile
	if real, err := filepath.EvalSymlinks(name); err == nil {
		name = real // write beside the file itself, not over a link to it
	}
	unlock, err := lockRevocations(name)
	if err != nil {
		return "", err
	}
	defer unlock()
	entries, old, err := readForUpdate(name)
	if err != nil {
		return "", err
	}
	horizon, expires := revHorizon(c.cfg)
	var msg string
	if c.remove {
		var n int
		entries, n = removeRevEntries(entries, e)
		if n == 0 {
			return "", fmt.Errorf("no %s", describeRevEntry(e))
		}
		msg = fmt.Sprintf("removed %d entr%s: %s", n, plural(n, "y", "ies"), describeRevEntry(e))
	} else {
		if at, drops := revDropAt(e, horizon, expires); drops && !c.now.Before(at) {
			return fmt.Sprintf("not written: %s can match no valid ticket any more", describeRevEntry(e)), nil
		}
		entries, msg = addRevEntry(entries, e)
	}
	kept := entries[:0]
	for _, x := range entries {
		if at, drops := revDropAt(x, horizon, expires); !drops || c.now.Before(at) {
			kept = append(kept, x)
		}
	}
	if n := len(entries) - len(kept); n > 0 {
		msg += fmt.Sprintf(" (dropped %d expired entr%s)", n, plural(n, "y", "ies"))
	}
	if err := writeRevocationFile(name, kept, old); err != nil {
		return "", err
	}
	return msg, nil
}

// addRevEntry adds e, or makes an entry of the same user (all, ticket)
// cover it: the later time wins.
func addRevEntry(entries []revEntry, e revEntry) ([]revEntry, string) {
	for i, x := range entries {
		if x.kind != e.kind || x.uid != e.uid && e.kind == revUID || x.id != e.id && e.kind == revTicket {
			continue
		}
		if e.kind == revTicket || x.at >= e.at {
			return entries, "already revoked: " + describeRevEntry(x)
		}
		entries[i] = e
		return entries, "revoked: " + describeRevEntry(e)
	}
	return append(entries, e), "revoked: " + describeRevEntry(e)
}

// removeRevEntries removes the entries e names: the user's, all, or the
// ticket's.
func removeRevEntries(entries []revEntry, e revEntry) ([]revEntry, int) {
	kept := entries[:0]
	for _, x := range entries {
		if x.kind == e.kind && (e.kind == revAll || e.kind == revUID && x.uid == e.uid || e.kind == revTicket && x.id == e.id) {
			continue
		}
		kept = append(kept, x)
	}
	return kept, len(entries) - len(kept)
}

// describeRevEntry says what e revokes, for people; never a signature.
func describeRevEntry(e revEntry) string {
	t := func(s int64) string { return time.Unix(s, 0).UTC().Format(time.RFC3339) }
	switch e.kind {
	case revAll:
		if e.at == 0 {
			return "all entry"
		}
		return "every ticket issued before " + t(e.at)
	case revUID:
		if e.at == 0 {
			return "entry for uid " + strconv.Quote(e.uid)
		}
		return "tickets of uid " + strconv.Quote(e.uid) + " issued before " + t(e.at)
	}
	s := fmt.Sprintf("ticket %016x", e.id)
	if e.at != 0 {
		s += fmt.Sprintf(" (uid %q, issued %s)", e.uid, t(e.at))
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// list prints the file's entries as they are written, those past
// revDropAt marked: the next write drops them.
func (c *revokeCmd) list(stdout, stderr io.Writer) int {
	entries, err := readRevocationFile(c.cfg.RevocationFile)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "tktgate revoke: %s does not exist: no entries\n", c.cfg.RevocationFile)
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	horizon, expires := revHorizon(c.cfg)
	var b []byte
	for _, e := range entries {
		if at, drops := revDropAt(e, horizon, expires); drops && !c.now.Before(at) {
			b = append(b, "# expired: "...)
		}
		b = append(appendRevEntry(b, e), '\n')
	}
	_, _ = stdout.Write(b)
	return 0
}

// lockRevocations takes the lock of the revocation file name: an flock
// on name+".lock" beside it, not on the file itself, which every write
// replaces (a lock on it would be on the old file). Two revoke runs
// thus read, change and write the file one after the other.
func lockRevocations(name string) (unlock func(), err error) {
	f, err := os.OpenFile(name+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot lock the revocation file: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot lock the revocation file: flock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

// readForUpdate reads the file to change: a missing one is empty, one
// that does not parse is an error (it is not overwritten: its entries
// would be lost). old is its mode and owner, for the new one.
func readForUpdate(name string) (entries []revEntry, old os.FileInfo, err error) {
	old, err = os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	entries, err = readRevocationFile(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%w\n(not changed: fix it by hand, or remove the lines named)", err)
	}
	return entries, old, nil
}

// revFileHeader starts every file tktgate revoke writes.
const revFileHeader = `# tktgate revocation list, written by tktgate revoke (see README.md,
# "Revocation"). One entry per line; times are RFC 3339 or unix seconds:
#   all    BEFORE [MADE]        every ticket issued before BEFORE
#   uid    USER BEFORE [MADE]   USER's tickets issued before BEFORE
#   ticket ID DATE USER         one ticket (ID: a hash of its signature)
`

// writeRevocationFile replaces name with entries, atomically: a new file
// beside it, synced, then renamed over it, so that a tktgate reading it
// sees the old list or the new one, never a part. It keeps old's mode and
// owner; a new file is 0640 in its directory's group (with the
// systemd/ layout, readable by tktgate and nobody else).
func writeRevocationFile(name string, entries []revEntry, old os.FileInfo) (err error) {
	b := []byte(revFileHeader)
	for _, e := range entries {
		b = append(appendRevEntry(b, e), '\n')
	}
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	mode, uid, gid := os.FileMode(0o640), -1, -1
	if old != nil {
		mode = old.Mode().Perm()
		if st, ok := old.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	} else if fi, err := os.Stat(dir); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			gid = int(st.Gid)
		}
	}
	// Best effort: only root may give a file away; then it is ours.
	if err := f.Chown(uid, gid); err != nil && uid >= 0 {
		_ = f.Chown(-1, gid)
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), name); err != nil {
		return err
	}
	// The rename itself must survive a crash.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
