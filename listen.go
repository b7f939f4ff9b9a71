package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// listen opens a TCP address or "unix:/path". A socket file left behind by
// a crashed process is removed, but only when nothing answers on it.
func listen(addr string, mode os.FileMode) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, "unix:")
	if !ok {
		return net.Listen("tcp", addr)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("listen %s: file exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen %s: another process is serving on this socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("listen %s: removing stale socket: %w", path, err)
		}
	}
	if runtime.GOOS == "windows" {
		// No unix permissions to speak of: mode can only mark it read-only.
		ln, err := net.Listen("unix", path)
		if err != nil {
			return nil, err
		}
		if socketCreated != nil {
			socketCreated(path)
		}
		if err := os.Chmod(path, mode); err != nil {
			ln.Close()
			return nil, fmt.Errorf("listen %s: chmod: %w", path, err)
		}
		return ln, nil
	}
	return listenUnix(path, mode)
}

// listenUnix creates a unix socket at path that has its mode from the
// moment it is there. Unix-socket peers are trusted proxies (their
// X-Real-IP is believed), so a socket that is bound and then chmodded
// would, in between, admit any local user the umask lets in (umask 0002:
// the group; umask 0: everyone).
//
// The socket is bound in a fresh private directory (0700) next to path,
// chmodded there, where only this user can reach it, and then hard-linked
// to path; the private name and directory are removed. link, like bind,
// fails if path exists: a socket another process has bound there since the
// check above is not replaced, as rename would replace it.
//
// Not the umask around bind (systemd's way): the umask is the process's,
// so a file another goroutine creates meanwhile would get it too, and
// Windows has none. The costs: 13 more bytes of path while binding, and a
// .tkt* directory left behind by a process killed in the middle.
//
// The listener's Close removes the file at path if it is still this
// socket.
func listenUnix(path string, mode os.FileMode) (net.Listener, error) {
	// bind refused such paths; link does not, but clients could not
	// connect.
	limit := len(syscall.RawSockaddrUnix{}.Path) - 1 // and a NUL
	if runtime.GOOS == "linux" {
		limit++ // Linux needs no NUL
	}
	if len(path) > limit {
		return nil, fmt.Errorf("listen %s: the path has %d bytes, more than a unix socket's %d", path, len(path), limit)
	}
	if n := len(filepath.Join(filepath.Dir(path), ".tkt123456", "s")); n > limit {
		return nil, fmt.Errorf("listen %s: the socket is made in a private directory first, and its path there would have %d bytes, more than a unix socket's %d: use a shorter directory", path, n, limit)
	}
	dir, err := privateDir(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("listen %s: private directory: %w", path, err)
	}
	defer os.RemoveAll(dir) // the private name only: the socket stays at path
	private := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", private)
	if err != nil {
		return nil, err
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // its name is the private one; see unixListener
	fail := func(err error) (net.Listener, error) {
		ul.Close()
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Chmod(private, mode); err != nil {
		return fail(err)
	}
	if err := os.Link(private, path); err != nil {
		return fail(err)
	}
	if socketCreated != nil {
		socketCreated(path)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &unixListener{UnixListener: ul, path: path, fi: fi}, nil
}

// privateDir creates a new directory in parent that only this user can
// enter. Its name is short, ".tkt" and six hex digits, so that the socket
// path in it is no longer than parent + "/tktgate.sock" (os.MkdirTemp's
// names take up to 10 digits).
func privateDir(parent string) (string, error) {
	for range 1000 {
		dir := filepath.Join(parent, fmt.Sprintf(".tkt%06x", rand.Uint32()&0xffffff))
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", errors.New("no free name")
}

// unixListener removes its socket file on Close, unless another socket
// has taken the path since.
type unixListener struct {
	*net.UnixListener
	path string
	fi   os.FileInfo
	once sync.Once
}

// Close closes the listener and removes its socket file if it is still
// this socket.
func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if fi, e := os.Lstat(l.path); e == nil && os.SameFile(fi, l.fi) {
			os.Remove(l.path)
		}
	})
	return err
}

// socketCreated, if not nil, is called as soon as a unix socket file is at
// its path, before anything else is done (a test seam).
var socketCreated func(path string)
