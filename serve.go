package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// serve runs the server until ctx is done, reloading on hup. ready, if
// not nil, receives the bound addresses once listening (for tests).
func serve(ctx context.Context, cfg *Config, path string, log *slog.Logger, level *slog.LevelVar, hup <-chan os.Signal, ready chan<- []net.Addr) error {
	lns, err := openListeners(cfg)
	if err != nil {
		return err
	}
	return serveOn(ctx, cfg, path, log, level, hup, ready, lns)
}

// openListeners opens listen and, if set, metrics_listen, in that order;
// when one fails, none stays open.
func openListeners(cfg *Config) ([]net.Listener, error) {
	ln, err := listen(cfg.Listen, cfg.SocketMode)
	if err != nil {
		return nil, err
	}
	lns := []net.Listener{ln}
	if cfg.MetricsListen != "" {
		mln, err := listen(cfg.MetricsListen, cfg.SocketMode)
		if err != nil {
			ln.Close()
			return nil, err
		}
		lns = append(lns, mln)
	}
	return lns, nil
}

// serveOn serves the gate on lns[0] and the operational endpoints on
// lns[1], if there is one, until ctx is done or a server stops; either
// way it shuts every server down before it returns.
func serveOn(ctx context.Context, cfg *Config, path string, log *slog.Logger, level *slog.LevelVar, hup <-chan os.Signal, ready chan<- []net.Addr, lns []net.Listener) error {
	m := newMetrics()
	s := newServer(log, m)
	s.load(cfg)
	// The audit log's last lines are written once every server has
	// stopped (deferred first, so it runs last).
	auditCtx, stopAudit := context.WithCancel(context.Background())
	auditDone := make(chan struct{})
	go func() { s.audit.run(auditCtx); close(auditDone) }()
	defer func() { stopAudit(); <-auditDone }()
	m.lastReloadOK.Store(time.Now().Unix())
	srvs := []*fasthttp.Server{newHTTP(cfg, log, s.Handler)}
	if len(lns) > 1 {
		srvs = append(srvs, newHTTP(cfg, log, s.ops))
	}
	addrs := make([]net.Addr, len(srvs))
	errc := make(chan error, len(srvs))
	for i, srv := range srvs {
		// Shutdown closes the listeners; this is for the other ways out. A
		// unix socket's file goes with its listener.
		defer lns[i].Close()
		addrs[i] = lns[i].Addr()
		go func() { errc <- srv.Serve(lns[i]) }()
	}
	names := make([]string, 0, len(cfg.Policies))
	for n := range cfg.Policies {
		names = append(names, n)
	}
	log.Info("tktgate listening", "listen", cfg.Listen, "metrics_listen", cfg.MetricsListen, "digest", cfg.Default.Options.Digest.String(),
		"policies", names, "cpu_scheduling", cfg.CPUScheduling.String(), "cpu_policy", currentPolicy(), "version", version, "config", path)
	// Watching starts before anyone is told the server is up: a file
	// changed from then on is reloaded.
	w := newWatcher(path, cfg)
	defer w.stop()
	s.startRedis(cfg.Redis)
	defer s.stopRedis()
	s.redisReadyLog(log)
	if ready != nil {
		ready <- addrs
	}
	if stopped, err := s.wait(ctx, w, cfg, path, level, hup, errc); stopped {
		// One server is gone: the other must not go on serving alone (a
		// gate without its metrics, or metrics for a gate that is down).
		s.ready.Store(false)
		_ = shutdown(srvs, cfg.Limits.ShutdownTimeout)
		return err
	}
	return s.drain(srvs, cfg.Limits.ShutdownTimeout)
}

// newHTTP is the fasthttp server for h, with cfg's limits.
func newHTTP(cfg *Config, log *slog.Logger, h fasthttp.RequestHandler) *fasthttp.Server {
	l := cfg.Limits
	return &fasthttp.Server{
		Handler:               h,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		NoDefaultDate:         true,
		ReadBufferSize:        l.ReadBufferSize,
		ReadTimeout:           l.ReadTimeout,
		WriteTimeout:          l.WriteTimeout,
		IdleTimeout:           l.IdleTimeout,
		Concurrency:           l.MaxConns,
		// An auth subrequest has no body worth reading.
		MaxRequestBodySize:           64 << 10,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		SecureErrorLogMessage:        true,
		Logger:                       fasthttpLogger{log},
		// The handler looks request headers up by their canonical
		// names (PeekCanonical): fasthttp must normalise what it stores.
		DisableHeaderNamesNormalizing: false,
	}
}

// wait reloads the config on hup, and when w sees a watched file change
// (see watch.go), until ctx is done (stopped false) or a server stops (stopped
// true, with its error). running is the config the listeners were opened
// with. A change of the revocation file alone reloads it alone; the list
// is also read again when an entry is due to be dropped.
func (s *Server) wait(ctx context.Context, w *watcher, running *Config, path string, level *slog.LevelVar, hup <-chan os.Signal, errc <-chan error) (stopped bool, err error) {
	drop := time.NewTimer(time.Hour)
	defer drop.Stop()
	s.scheduleDrop(drop)
	reload := func() {
		w.reloading()
		if cfg := s.reload(running, path, level); cfg != nil {
			w.reloaded(path, cfg)
		}
		s.scheduleDrop(drop)
	}
	reloadRevocations := func() {
		w.reloadingRevocations()
		s.reloadRevocations()
		s.scheduleDrop(drop)
	}
	for {
		select {
		case <-hup:
			reload()
		case <-w.tick():
			w.changed()
		case <-w.timer.C:
			switch w.settled() {
			case configChange:
				s.log.Info("a watched file changed; reloading", "config", path)
				reload()
			case revocationChange:
				s.log.Info("the revocation file changed; reloading it", "file", s.snap.Load().cfg.RevocationFile)
				reloadRevocations()
			}
		case <-drop.C:
			reloadRevocations()
		case err := <-errc:
			return true, err
		case <-ctx.Done():
			return false, nil
		}
	}
}

// reload loads path again and installs it, and returns it; a config that
// does not load leaves the running one in place (and reload returns nil).
func (s *Server) reload(running *Config, path string, level *slog.LevelVar) *Config {
	m, log := s.metrics, s.log
	newCfg, err := LoadConfig(path)
	if err != nil {
		m.reloadFails.Add(1)
		log.Error("config reload failed; keeping the running config", "config", path, "error", err.Error())
		return nil
	}
	if newCfg.Listen != running.Listen || newCfg.MetricsListen != running.MetricsListen || newCfg.Limits != running.Limits || newCfg.CPUScheduling != running.CPUScheduling {
		log.Warn("listen addresses, cpu_scheduling and [limits] change only on restart; the rest of the new config is in use")
	}
	s.load(newCfg)
	s.startRedis(newCfg.Redis)
	level.Set(newCfg.LogLevel)
	m.reloads.Add(1)
	m.lastReloadOK.Store(time.Now().Unix())
	log.Info("config reloaded", "config", path, "digest", newCfg.Default.Options.Digest.String(), "policies", len(newCfg.Policies))
	return newCfg
}

// reloadRevocations reads the running config's revocation file again and
// installs its list with the rest of the snapshot unchanged; a file that
// does not load leaves the list in force in place.
func (s *Server) reloadRevocations() {
	s.revMu.Lock()
	defer s.revMu.Unlock()
	old := s.snap.Load()
	name := old.cfg.RevocationFile
	if name == "" {
		return
	}
	entries, err := readRevocationFile(name)
	if err != nil {
		s.metrics.revReloadFails.Add(1)
		s.log.Error("revocation file reload failed; keeping the list in force", "file", name, "entries", old.revs.entries, "error", err.Error())
		return
	}
	snap := *old
	s.fileRevs = entries
	snap.revs = s.compileRevs(old.cfg, old.revs, time.Now())
	if old.cfg.Redis == nil {
		s.fileRevs = nil // only needed to join Redis' entries to
	}
	s.snap.Store(&snap)
	s.metrics.revocationsInForce(snap.revs)
	s.metrics.revReloads.Add(1)
	s.log.Info("revocation list reloaded", "file", name, "entries", snap.revs.entries)
}

// scheduleDrop sets t to fire when the list in force has an entry to
// drop (see revDropAt), but not within minDropEvery of now: entries are
// dropped to save memory, and the file may be large.
func (s *Server) scheduleDrop(t *time.Timer) {
	t.Stop()
	if r := s.snap.Load().revs; r != nil && !r.nextDrop.IsZero() {
		t.Reset(max(time.Until(r.nextDrop), minDropEvery))
	}
}

// minDropEvery bounds how often the revocation file is read to drop
// entries that can no longer match. A variable for the tests.
var minDropEvery = 10 * time.Minute

// drain is the orderly stop: not ready, then in-flight requests get
// until timeout to finish.
func (s *Server) drain(srvs []*fasthttp.Server, timeout time.Duration) error {
	s.log.Info("shutting down: draining in-flight requests", "timeout", timeout.String())
	s.ready.Store(false)
	err := shutdown(srvs, timeout)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if err != nil {
		s.log.Warn("shutdown timeout reached; remaining connections closed")
	}
	s.log.Info("stopped")
	return nil
}

// shutdown stops every server within one shared timeout and returns the
// first error.
func shutdown(srvs []*fasthttp.Server, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var err error
	for _, srv := range srvs {
		if e := srv.ShutdownWithContext(ctx); err == nil {
			err = e
		}
	}
	return err
}

// fasthttpLogger sends fasthttp's messages to the log.
type fasthttpLogger struct{ log *slog.Logger }

// Printf logs fasthttp's own errors, which quote what the client sent
// (a bad header may be a whole ticket): quoted parts are redacted.
func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn("fasthttp: " + redactQuoted(fmt.Sprintf(format, args...)))
}

// redactQuoted replaces every double-quoted part of s with "…".
func redactQuoted(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+1])
		s = s[i+1:]
		// Skip to the closing quote, minding Go's %q escapes.
		j := 0
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		b.WriteString("…")
		if j >= len(s) {
			b.WriteByte('"')
			return b.String()
		}
		b.WriteByte('"')
		s = s[j+1:]
	}
}
