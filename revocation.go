package main

// Revocation: refusing tickets that are still valid, without sessions.
//
// A ticket carries its signed issue time, so "uid U's tickets issued
// before T" is one small entry, and it stops mattering once T is older
// than the longest timeout: the list only ever holds recent revocations.
// Three kinds of entry, in a text file (`[revocation] file`):
//
//	all    BEFORE [MADE]        every ticket dated before BEFORE
//	uid    USER BEFORE [MADE]   USER's tickets dated before BEFORE
//	ticket ID DATE USER         USER's ticket whose signature hashes to ID
//
// "Dated before T" means ts < T, ts being the ticket's timestamp in whole
// seconds. `tktgate revoke` writes T as the revocation instant rounded up
// to the next second, so that every ticket minted before the revocation,
// a refresh racing it included, is dated before T; a login in the rest of
// that second is refused too and must be repeated.
//
// MADE is when the revocation was made. A running tktgate that loads a
// uid or all entry it did not have also refuses the tickets dated from
// MADE up to the second it loads it: it may have refreshed the user's
// revoked tickets in between (the file takes watch_interval, or for a
// Kubernetes volume up to a minute, to arrive), and a refreshed ticket
// is dated when it was refreshed. It cannot tell those from new logins,
// which are refused once more. So no refresh handed out before the
// revocation reached this tktgate outlives it here.

import (
	"errors"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

// revKind is the kind of a revocation entry, and says which kind revokes
// a ticket (revNone: none).
type revKind uint8

const (
	revNone   revKind = iota
	revAll            // every ticket dated before a time
	revUID            // one user's tickets dated before a time
	revTicket         // one ticket
)

var revKindNames = [...]string{"", "all", "uid", "ticket"}

// String is the kind as the file and the logs name it ("" for revNone).
func (k revKind) String() string { return revKindNames[k] }

// revEntry is one entry of the revocation file.
type revEntry struct {
	kind revKind
	uid  string // revUID: the user; revTicket: who the ticket is for
	id   uint64 // revTicket: ticketID of its signature
	// at is, for revAll and revUID, the time before which tickets are
	// revoked; for revTicket, the ticket's own date. Unix seconds.
	at int64
	// made is when the revocation was made, unix seconds; 0 when the
	// file does not say (taken as at).
	made int64
}

// revocationAllowance is how long an entry is kept in the file beyond the
// last moment it can match a ticket, so that it still reaches every
// tktgate when the file takes time to get there (a Kubernetes volume, a
// config-management run).
var revocationAllowance = time.Hour // a variable for the tests

// errRevoked is decide's error for a ticket the list revokes, beside the
// verifier's.
var errRevoked = errors.New("ticket revoked")

// revWindow is the ticket dates an entry revokes: before before, or from
// from up to (not including) to.
type revWindow struct{ before, from, to int64 }

// noWindow revokes nothing (ts, from Verify, may be negative in pyramid).
var noWindow = revWindow{before: math.MinInt64}

func (w *revWindow) covers(ts int64) bool {
	return ts < w.before || ts >= w.from && ts < w.to
}

// revBound is a uid or all entry in force: its window, and the file's
// values it came from, to tell at the next load whether it is new.
type revBound struct {
	win      revWindow
	at, made int64
}

// revUser is what the list holds for one user: the window of a uid
// entry (noWindow when there is only ticket entries), and the user's
// ticket entries, tickets[first:first+n] of the list.
type revUser struct {
	uid string
	revBound
	first, n int32
}

// revTicketRef is a ticket entry in force.
type revTicketRef struct {
	id   uint64 // ticketID of its signature
	date int64
}

// revocations is the revocation list in force: immutable once built, and
// swapped whole (with the snapshot) on reload, so the hot path reads it
// without a lock. The nil list revokes nothing.
//
// Ticket entries are found through their user, so that a request costs
// one look-up, by uid, whatever the list holds; a signature is hashed
// only for a ticket dated the same second as one of its user's ticket
// entries.
type revocations struct {
	all     revBound
	users   uidIndex
	byUser  []revUser      // every user with an entry, indexed by users
	tickets []revTicketRef // grouped by user
	entries int            // entries in force
	// nextDrop is the first moment an entry could be dropped; zero for
	// never.
	nextDrop time.Time
}

// check says which kind of entry revokes tk, a ticket dv accepted:
// revNone, usually. It allocates nothing: m[string(b)] does not copy.
func (r *revocations) check(dv *verifier.DialectVerifier, tk *verifier.Ticket) revKind {
	if r == nil {
		return revNone
	}
	ts := tk.Time.Unix()
	if r.all.win.covers(ts) {
		return revAll
	}
	if len(r.byUser) == 0 {
		return revNone
	}
	u := r.users.find(r.byUser, tk.UID)
	switch {
	case u == nil:
		return revNone
	case u.win.covers(ts):
		return revUID
	case u.n > 0:
		// By date first: the signature is hashed only for a ticket of
		// the same second as one revoked, which is rare.
		var id uint64
		hashed := false
		for _, t := range r.tickets[u.first : u.first+u.n] {
			if t.date != ts {
				continue
			}
			if !hashed {
				id, hashed = ticketID(dv.Signature(tk)), true
			}
			if t.id == id {
				return revTicket
			}
		}
	}
	return revNone
}

// revHorizon is how long after the end of its window an entry can still
// match a valid ticket: the longest timeout in force plus max_future, and
// a second for the dialects that compare with <=. ok is false when some
// policy has no timeout: its tickets never expire, nor do the entries.
func revHorizon(cfg *Config) (d time.Duration, ok bool) {
	for _, p := range cfg.allPolicies() {
		if p.Options.Timeout == 0 {
			return 0, false
		}
		d = max(d, p.Options.Timeout)
	}
	switch f := cfg.Default.Options.MaxFuture; {
	case f == 0:
		d += verifier.DefaultMaxFuture
	case f > 0:
		d += f
	}
	return d + time.Second, true
}

// allPolicies is the default policy, then the named ones in name order
// (the order explain lists them in).
func (cfg *Config) allPolicies() []*Policy {
	ps := []*Policy{cfg.Default}
	for _, name := range slices.Sorted(maps.Keys(cfg.Policies)) {
		ps = append(ps, cfg.Policies[name])
	}
	return ps
}

// revDropAt is when an entry may be dropped, from the file and from
// memory alike: once it can match no valid ticket (horizon after the
// later of its time and when it was made, since a tktgate may revoke up
// to the moment it loads it) and revocationAllowance more have passed,
// for the trip to every tktgate. ok false (no timeout): never.
//
// One rule for both, so that an entry a running tktgate has dropped is
// dropped again, never taken as new, at its next load.
func revDropAt(e revEntry, horizon time.Duration, ok bool) (at time.Time, drops bool) {
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(max(e.at, e.made), 0).Add(horizon + revocationAllowance), true
}

// compileRevocations builds the list in force from the file's entries,
// for cfg's timeouts, at now. prev is the list it replaces in a running
// tktgate (nil at start): a uid or all entry that prev does not have also
// revokes tickets dated from when it was made up to now's second (see the
// top of this file), and one prev has keeps the window it had. Entries
// past revDropAt are left out; of several for the same user, or several
// all entries, the latest counts.
func compileRevocations(entries []revEntry, cfg *Config, prev *revocations, now time.Time) *revocations {
	horizon, expires := revHorizon(cfg)
	load := now.Unix() + 1 // tickets refreshed until now are dated before it
	r := &revocations{all: revBound{win: noWindow}}
	bound := func(e revEntry, old revBound) revBound {
		b := revBound{at: e.at, made: e.made, win: revWindow{before: e.at}}
		switch {
		case old.win != noWindow && old.at == e.at && old.made == e.made:
			b.win = old.win
		case prev == nil:
		case e.made == 0 || e.made <= e.at:
			b.win.before = max(e.at, load)
		case e.made < load:
			b.win.from, b.win.to = e.made, load
		}
		return b
	}
	users := map[string]revBound{}
	byUser := map[string][]revTicketRef{}
	for _, e := range entries {
		if at, drops := revDropAt(e, horizon, expires); drops {
			if !now.Before(at) {
				continue
			}
			if r.nextDrop.IsZero() || at.Before(r.nextDrop) {
				r.nextDrop = at
			}
		}
		switch e.kind {
		case revAll:
			if r.all.win != noWindow && e.at <= r.all.at {
				continue
			}
			old := revBound{win: noWindow}
			if prev != nil {
				old = prev.all
			}
			r.all = bound(e, old)
		case revUID:
			if cur, ok := users[e.uid]; ok && e.at <= cur.at {
				continue
			}
			old := revBound{win: noWindow}
			if pu, ok := prev.user(e.uid); ok {
				old = pu.revBound
			}
			users[e.uid] = bound(e, old)
		case revTicket:
			t := revTicketRef{e.id, e.at}
			if !slices.Contains(byUser[e.uid], t) {
				byUser[e.uid] = append(byUser[e.uid], t)
			}
		}
	}
	r.byUser = make([]revUser, 0, len(users)+len(byUser))
	for uid, b := range users {
		u := revUser{uid: uid, revBound: b}
		if ts := byUser[uid]; len(ts) > 0 {
			u.first, u.n = int32(len(r.tickets)), int32(len(ts))
			r.tickets = append(r.tickets, ts...)
		}
		r.byUser = append(r.byUser, u)
	}
	for uid, ts := range byUser {
		if _, ok := users[uid]; !ok {
			r.byUser = append(r.byUser, revUser{uid: uid, revBound: revBound{win: noWindow}, first: int32(len(r.tickets)), n: int32(len(ts))})
			r.tickets = append(r.tickets, ts...)
		}
	}
	if len(r.byUser) > 0 {
		r.users = newUIDIndex(r.byUser)
	}
	r.entries = len(users) + len(r.tickets)
	if r.all.win != noWindow {
		r.entries++
	}
	return r
}

// user is the list's entry for uid; nil-safe.
func (r *revocations) user(uid string) (revUser, bool) {
	if r == nil {
		return revUser{}, false
	}
	if u := r.users.find(r.byUser, []byte(uid)); u != nil {
		return *u, true
	}
	return revUser{}, false
}

// revocationsOf is the list cfg's revocation file held when cfg was
// loaded, as a tktgate starting with cfg at now would use it; nil when
// cfg has none. For one-off checks such as tktgate explain: with
// check(p.Verifier, tk) it tells whether, and by which kind of entry, a
// ticket p accepted is revoked. Ask before cfg is given to a Server,
// which keeps the list it compiles and drops the entries read (or ask
// the server's snapshot: revokedBy).
func revocationsOf(cfg *Config, now time.Time) *revocations {
	if cfg.RevocationFile == "" {
		return nil
	}
	return compileRevocations(cfg.revoked, cfg, nil, now)
}

// revokedBy says whether the list in force in snap revokes tk, a ticket
// p's verifier accepted, and by which kind of entry (revNone: it does
// not). The decision itself (decide) asks the same, for tktgate explain
// to report reason "revoked" with the entry's kind.
func (snap *snapshot) revokedBy(p *policy, tk *verifier.Ticket) revKind {
	return snap.revs.check(p.v, tk)
}
