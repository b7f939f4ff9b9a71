package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// breakableListener is a TCP listener whose Accept fails for good once
// broken is closed (and a connection pokes it), as a listener whose socket
// is gone does.
type breakableListener struct {
	net.Listener
	broken chan struct{}
}

var errBroken = errors.New("accept: listener broken")

func (l *breakableListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	select {
	case <-l.broken:
		if c != nil {
			c.Close()
		}
		return nil, errBroken
	default:
		return c, err
	}
}

// When one server fails, serve returns its error only after shutting the
// other down: a connection kept alive on it is closed, not served on by a
// server nobody stops any more. Either way round: the gate's listener, or
// the metrics listener.
func TestServeStopsEveryServerWhenOneFails(t *testing.T) {
	for failing, name := range []string{"gate", "metrics"} {
		t.Run(name+" fails", func(t *testing.T) { testServeStopsAll(t, failing) })
	}
}

func testServeStopsAll(t *testing.T, failing int) {
	cfg, err := ParseConfig([]byte(baseConfig), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	lns := make([]net.Listener, 2)
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i] = &breakableListener{Listener: ln, broken: make(chan struct{})}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ready := make(chan []net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveOn(ctx, cfg, "config.toml", log, new(slog.LevelVar), nil, ready, lns)
	}()
	addrs := <-ready
	c, err := net.Dial("tcp", addrs[1-failing].String())
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
	close(lns[failing].(*breakableListener).broken)
	if poke, err := net.Dial("tcp", addrs[failing].String()); err == nil {
		poke.Close()
	}
	select {
	case err := <-done:
		if !errors.Is(err, errBroken) {
			t.Fatalf("serve returned %v, want %v", err, errBroken)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return when a server failed")
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := get(); err == nil {
		t.Fatal("the other server still answers on a kept-alive connection after serve returned")
	}
}
