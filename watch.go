package main

// Reloading when the config file, a secret file it names or the
// revocation file changes; the revocation file alone reloads alone.
//
// The files are polled, not watched with inotify (fsnotify): a poll
// follows symlinks as open does, so it sees every way a file is replaced
// the same way: an edit in place (mtime, size), an editor's rename-over
// save (another inode), and Kubernetes' ConfigMap and Secret volumes,
// where config.toml is a symlink to ..data/config.toml and ..data, a
// symlink to a timestamped directory, is swapped by rename (another
// inode, another resolved path). inotify reports none of the latter on
// the watched path itself: the watch must be on the directory, follow
// ..data, and be re-armed after each rename, and it needs a dependency.
// Stat-ing one to three files a second costs nothing, and it is done by
// the goroutine that handles SIGHUP, off the request path.

import (
	"os"
	"path/filepath"
	"slices"
	"time"
)

// watchDebounce is how long a change must rest before it is loaded, so
// that a file written in several steps is read once it is whole.
const watchDebounce = 250 * time.Millisecond

// fileState is what a poll sees of one path.
type fileState struct {
	fi     os.FileInfo // of the file the path leads to; nil if err
	target string      // the path with every symlink resolved
	err    string
}

func statFile(path string) fileState {
	fi, err := os.Stat(path)
	if err != nil {
		return fileState{err: err.Error()}
	}
	target, _ := filepath.EvalSymlinks(path)
	return fileState{fi: fi, target: target}
}

func (a fileState) same(b fileState) bool {
	if a.fi == nil || b.fi == nil {
		return a.fi == nil && b.fi == nil && a.err == b.err
	}
	return os.SameFile(a.fi, b.fi) && a.fi.ModTime().Equal(b.fi.ModTime()) &&
		a.fi.Size() == b.fi.Size() && a.fi.Mode() == b.fi.Mode() && a.target == b.target
}

// watcher polls the config file, and the secret files and revocation
// file of the running config. It is driven by Server.wait, from one
// goroutine.
type watcher struct {
	paths   []string
	rev     int         // index of the revocation file in paths; -1: none
	loaded  []fileState // as they were when last loaded
	pending []fileState // a change waiting for watchDebounce, or nil
	ticker  *time.Ticker
	timer   *time.Timer
	on      bool
	every   time.Duration
}

// newWatcher watches path and cfg's secret and revocation files, as cfg
// says.
func newWatcher(path string, cfg *Config) *watcher {
	w := &watcher{timer: time.NewTimer(time.Hour)}
	w.timer.Stop()
	w.follow(path, cfg)
	w.loaded = w.poll()
	if w.rev >= 0 && cfg.revState.fi != nil {
		// As read at start-up, which may be a while ago: a change since
		// is a change.
		w.loaded[w.rev] = cfg.revState
	}
	return w
}

// follow takes on cfg's files and watch settings.
func (w *watcher) follow(path string, cfg *Config) {
	w.paths = append([]string{path}, cfg.SecretFiles...)
	w.rev = -1
	if cfg.RevocationFile != "" {
		w.rev = len(w.paths)
		w.paths = append(w.paths, cfg.RevocationFile)
	}
	if cfg.Watch == w.on && cfg.WatchInterval == w.every {
		return
	}
	w.on, w.every = cfg.Watch, cfg.WatchInterval
	switch {
	case !w.on && w.ticker != nil:
		w.ticker.Stop()
		w.ticker = nil
		w.pending = nil
	case w.on && w.ticker == nil:
		w.ticker = time.NewTicker(w.every)
	case w.on:
		w.ticker.Reset(w.every)
	}
}

func (w *watcher) poll() []fileState {
	st := make([]fileState, len(w.paths))
	for i, p := range w.paths {
		st[i] = statFile(p)
	}
	return st
}

// tick is the poll channel; nil, which never fires, when watching is off.
func (w *watcher) tick() <-chan time.Time {
	if w.ticker == nil {
		return nil
	}
	return w.ticker.C
}

// changed is called on tick: a change starts the debounce timer.
func (w *watcher) changed() {
	if w.pending != nil {
		return // the timer is running
	}
	if st := w.poll(); !slices.EqualFunc(st, w.loaded, fileState.same) {
		w.pending = st
		w.timer.Reset(watchDebounce)
	}
}

// change is what a settled change asks for.
type change uint8

const (
	noChange         change = iota
	configChange            // reload the config (and every file with it)
	revocationChange        // only the revocation file changed: reload it alone
)

// settled is called when the debounce timer fires, and says what is to
// be loaded: the files changed, and have not since.
func (w *watcher) settled() change {
	if w.pending == nil || !w.on {
		return noChange
	}
	st := w.poll()
	if !slices.EqualFunc(st, w.pending, fileState.same) {
		w.pending = st // still being written
		w.timer.Reset(watchDebounce)
		return noChange
	}
	w.pending = nil
	only := noChange
	for i := range st {
		switch {
		case st[i].same(w.loaded[i]):
		case i == w.rev && only == noChange:
			only = revocationChange
		default:
			return configChange
		}
	}
	return only
}

// reloading is called before a reload, whatever its cause: what is seen
// now is what gets loaded.
func (w *watcher) reloading() {
	w.loaded = w.poll()
	w.pending = nil
}

// reloadingRevocations is reloading for the revocation file alone: a
// change to another file, seen meanwhile, is still to be loaded.
func (w *watcher) reloadingRevocations() {
	if w.rev >= 0 {
		w.loaded[w.rev] = statFile(w.paths[w.rev])
	}
	w.pending = nil
}

// reloaded takes on the new config's files and settings; if it names
// other secret or revocation files, they are as loaded now.
func (w *watcher) reloaded(path string, cfg *Config) {
	old := w.paths
	w.follow(path, cfg)
	if !slices.Equal(old, w.paths) {
		w.loaded = w.poll()
	}
}

func (w *watcher) stop() {
	if w.ticker != nil {
		w.ticker.Stop()
	}
	w.timer.Stop()
}
