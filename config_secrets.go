package main

// The ticket secrets, inline or from files.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/BurntSushi/toml"
	"github.com/tktgate/tktgate/verifier"
)

// maxSecretFile bounds what readSecretFile reads.
const maxSecretFile = 64 << 10

// rawSecrets are the ticket secrets, read by compileSecrets.
type rawSecrets struct {
	Secret        opt[string] `toml:"secret"`
	SecretFile    opt[string] `toml:"secret_file"`
	SecretOld     opt[string] `toml:"secret_old"`
	SecretOldFile opt[string] `toml:"secret_old_file"`
}

// compileSecrets reads secret / secret_file and secret_old / secret_old_file
// of the table at table into o: [ticket], whose secret is required, or a
// policy, which keeps what it inherited from [ticket] unless it sets its
// own. A policy with a secret of its own does not inherit [ticket]'s old
// secret (Apache's <VirtualHost> would): that is another site's previous
// secret, and its tickets must not pass here. It reports false when
// [ticket] has no usable secret.
func (c *compiler) compileSecrets(table toml.Key, rs *rawSecrets, o *verifier.Options) bool {
	k := func(name string) toml.Key { return append(slices.Clone(table), name) }
	global := len(table) == 1
	ok := true
	if global || rs.Secret.Set || rs.SecretFile.Set {
		secret, sok := c.secret(k("secret"), &rs.Secret, k("secret_file"), &rs.SecretFile, true)
		switch {
		case sok && len(secret) == 0:
			c.problem(k("secret"), "empty secret")
			ok = false
		case sok:
			o.Secret, o.OldSecret = secret, nil
		default:
			ok = false
		}
	}
	if old, oldOK := c.secret(k("secret_old"), &rs.SecretOld, k("secret_old_file"), &rs.SecretOldFile, false); oldOK {
		o.OldSecret = nil // "" or an empty file: none, also in place of an inherited one
		if len(old) > 0 {
			o.OldSecret = old
		}
	}
	return ok
}

// secret returns the inline value or the file content (one trailing
// newline removed), and false if neither is usable. Unless required, a
// missing value or an empty file means none.
func (c *compiler) secret(inlineKey toml.Key, inline *opt[string], fileKey toml.Key, file *opt[string], required bool) ([]byte, bool) {
	if inline.Set && file.Set {
		c.problem(fileKey, "set only one of %s and %s", inlineKey, fileKey)
		return nil, false
	}
	if inline.Set {
		v, ok := get(c, inlineKey, inline)
		return []byte(v), ok
	}
	if !file.Set {
		if required && !c.reported["ticket"] { // a broken [ticket] is blamed already
			c.problem(inlineKey, "required (or %s)", fileKey)
		}
		return nil, false
	}
	name, ok := get(c, fileKey, file)
	if !ok {
		return nil, false
	}
	if name == "" {
		c.problem(fileKey, "empty file name")
		return nil, false
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(c.path), name)
	}
	if !slices.Contains(c.files, name) {
		c.files = append(c.files, name)
	}
	data, err := c.readSecretFile(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		c.problem(fileKey, "cannot read %s: %v", name, err)
		return nil, false
	}
	if bytes.HasSuffix(data, []byte("\r\n")) {
		data = data[:len(data)-2]
	} else if bytes.HasSuffix(data, []byte("\n")) {
		data = data[:len(data)-1]
	}
	if len(data) == 0 && required {
		c.problem(fileKey, "%s is empty", name)
		return nil, false
	}
	return data, true
}

// readSecretFile reads name once per load, so that every policy naming a
// file gets the same secret even if it changes meanwhile (the watcher then
// loads again).
func (c *compiler) readSecretFile(name string) ([]byte, error) {
	if r, ok := c.read[name]; ok {
		return r.data, r.err
	}
	data, err := readSecretFile(name)
	if c.read == nil {
		c.read = map[string]fileRead{}
	}
	c.read[name] = fileRead{data, err}
	return data, err
}

// fileRead is one secret file as read.
type fileRead struct {
	data []byte
	err  error
}

// readSecretFile reads a secret file: a regular file of at most
// maxSecretFile bytes.
func readSecretFile(name string) ([]byte, error) {
	return readRegularFile(name, maxSecretFile)
}

// readRegularFile reads a regular file of at most max bytes, so that a
// slip like /dev/zero or a FIFO cannot hang a reload. Its own errors do
// not name the file; those of package os do.
func readRegularFile(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return data, nil
}
