package main

// The [revocation] table: where the revocation list comes from.

import (
	"errors"
	"io/fs"
	"path/filepath"
)

// rawRevocation is [revocation].
type rawRevocation struct {
	File opt[string] `toml:"file"`
}

// compileRevocation reads [revocation] file and, unless the compiler is
// told not to (tktgate revoke, which must work on a missing or broken
// file), the file itself: at start-up and on reload, a file that cannot
// be read or parsed is a problem of the key, naming the file's line.
func (c *compiler) compileRevocation(rr *rawRevocation, cfg *Config) {
	k := key("revocation", "file")
	name, ok := get(c, k, &rr.File)
	if !ok {
		return
	}
	if name == "" {
		c.problem(k, "empty file name")
		return
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(c.path), name)
	}
	cfg.RevocationFile = name
	if c.noRevocationFile {
		return
	}
	cfg.revState = statFile(name)
	entries, err := readRevocationFile(name)
	if err != nil {
		var pe *fs.PathError
		var fe *revFileError
		switch {
		case errors.As(err, &pe):
			c.problem(k, "cannot read %s: %v (create it empty to start with no revocations)", name, pe.Err)
		case errors.As(err, &fe):
			for _, p := range fe.probs {
				c.problem(k, "%s", p)
			}
		default:
			c.problem(k, "%v", err)
		}
		return
	}
	cfg.revoked = entries
}
