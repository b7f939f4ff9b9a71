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
	m := newMetrics()
	s := newServer(log, m)
	s.load(cfg)
	m.lastReloadOK.Store(time.Now().Unix())

	newHTTP := func(h fasthttp.RequestHandler) *fasthttp.Server {
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
	main := newHTTP(s.Handler)
	ln, err := listen(cfg.Listen, cfg.SocketMode)
	if err != nil {
		return err
	}
	// Shutdown closes the listeners; this is for the other ways out. A
	// unix socket's file goes with its listener.
	defer ln.Close()
	addrs := []net.Addr{ln.Addr()}
	var metricsSrv *fasthttp.Server
	var mln net.Listener
	if cfg.MetricsListen != "" {
		mln, err = listen(cfg.MetricsListen, cfg.SocketMode)
		if err != nil {
			return err
		}
		defer mln.Close()
		metricsSrv = newHTTP(s.ops)
		addrs = append(addrs, mln.Addr())
	}
	errc := make(chan error, 2)
	go func() { errc <- main.Serve(ln) }()
	if metricsSrv != nil {
		go func() { errc <- metricsSrv.Serve(mln) }()
	}
	names := make([]string, 0, len(cfg.Policies))
	for n := range cfg.Policies {
		names = append(names, n)
	}
	log.Info("tktgate listening", "listen", cfg.Listen, "metrics_listen", cfg.MetricsListen, "digest", cfg.Default.Options.Digest.String(),
		"policies", names, "version", version, "config", path)
	if ready != nil {
		ready <- addrs
	}

	for {
		select {
		case <-hup:
			newCfg, err := LoadConfig(path)
			if err != nil {
				m.reloadFails.Add(1)
				log.Error("config reload failed; keeping the running config", "config", path, "error", err.Error())
				continue
			}
			if newCfg.Listen != cfg.Listen || newCfg.MetricsListen != cfg.MetricsListen || newCfg.Limits != cfg.Limits {
				log.Warn("listen addresses and [limits] change only on restart; the rest of the new config is in use")
			}
			s.load(newCfg)
			level.Set(newCfg.LogLevel)
			m.reloads.Add(1)
			m.lastReloadOK.Store(time.Now().Unix())
			log.Info("config reloaded", "config", path, "digest", newCfg.Default.Options.Digest.String(), "policies", len(newCfg.Policies))
		case err := <-errc:
			return err
		case <-ctx.Done():
			log.Info("shutting down: draining in-flight requests", "timeout", cfg.Limits.ShutdownTimeout.String())
			s.ready.Store(false)
			sctx, cancel := context.WithTimeout(context.Background(), cfg.Limits.ShutdownTimeout)
			defer cancel()
			err := main.ShutdownWithContext(sctx)
			if metricsSrv != nil {
				if e := metricsSrv.ShutdownWithContext(sctx); err == nil {
					err = e
				}
			}
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			if err != nil {
				log.Warn("shutdown timeout reached; remaining connections closed")
			}
			log.Info("stopped")
			return nil
		}
	}
}

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
