package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// brokenListener is a listener whose Accept fails for good once broken is
// closed, as a listener whose socket is gone does.
type brokenListener struct {
	broken, closed chan struct{}
	once           sync.Once
}

var errBroken = errors.New("accept: listener broken")

func (l *brokenListener) Accept() (net.Conn, error) {
	select {
	case <-l.broken:
		return nil, errBroken
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *brokenListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *brokenListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// When one server fails, serve returns its error only after shutting the
// other down: a connection kept alive on the main listener is closed, not
// served on by a gate nobody stops any more.
func TestServeStopsEveryServerWhenOneFails(t *testing.T) {
	cfg, err := ParseConfig([]byte(baseConfig), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsLn := &brokenListener{broken: make(chan struct{}), closed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ready := make(chan []net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveOn(ctx, cfg, "config.toml", log, new(slog.LevelVar), nil, ready, []net.Listener{ln, metricsLn})
	}()
	addrs := <-ready
	c, err := net.Dial("tcp", addrs[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	get := func() error {
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: gate\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("before the failure: %v", err)
	}
	close(metricsLn.broken)
	select {
	case err := <-done:
		if !errors.Is(err, errBroken) {
			t.Fatalf("serve returned %v, want %v", err, errBroken)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return when the metrics server failed")
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := get(); err == nil {
		t.Fatal("the main server still answers on a kept-alive connection after serve returned")
	}
}
