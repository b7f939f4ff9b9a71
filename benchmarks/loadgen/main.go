// Command loadgen is an open-loop HTTP/1.1 load generator for latency
// percentiles at a fixed request rate, the part of wrk2 that wrk lacks.
//
// Requests are due on a fixed schedule, request i at start + i/rate, and
// each goes out on a free connection of a pool of -c keep-alive ones (no
// pipelining): when none is free the request waits for one. Latency
// is measured from the time a request was due, not from when it was
// actually written, so a server that stalls is charged for every request
// that queued behind the stall (no coordinated omission). The lag between
// due and written time is reported separately, as the generator's own
// error.
//
// It prints one JSON object and, with -samples, writes every latency as a
// little-endian int64 of nanoseconds so that several runs can be pooled.
//
//	loadgen -url http://127.0.0.1:9180/auth -rate 5000 -d 5s -c 32 -H 'Cookie: auth_tkt=...'
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type headerList []string

func (h *headerList) String() string     { return strings.Join(*h, "; ") }
func (h *headerList) Set(v string) error { *h = append(*h, v); return nil }

// Result is what loadgen prints.
type Result struct {
	URL         string  `json:"url"`
	Rate        float64 `json:"rate"`
	Conns       int     `json:"conns"`
	Seconds     float64 `json:"seconds"`
	Sent        int     `json:"sent"`
	OK          int     `json:"ok"`
	BadStatus   int     `json:"bad_status"`
	Errors      int     `json:"errors"`
	AchievedRPS float64 `json:"achieved_rps"`
	P50us       float64 `json:"p50_us"`
	P90us       float64 `json:"p90_us"`
	P99us       float64 `json:"p99_us"`
	P999us      float64 `json:"p999_us"`
	MaxUs       float64 `json:"max_us"`
	LagP99us    float64 `json:"lag_p99_us"` // how late the generator wrote requests
	FirstError  string  `json:"first_error,omitempty"`
}

type connStats struct {
	lat, lag  []time.Duration
	ok, bad   int
	errors    int
	requests  int
	lastError error
}

func main() {
	rawURL := flag.String("url", "", "target `URL` (http only)")
	rate := flag.Float64("rate", 1000, "requests per second, all connections together")
	dur := flag.Duration("d", 5*time.Second, "measured duration")
	warmup := flag.Duration("warmup", time.Second, "unmeasured time at the same rate before -d")
	conns := flag.Int("c", 16, "connections")
	want := flag.Int("status", 200, "expected status; others count as bad_status")
	samples := flag.String("samples", "", "write every measured latency to this `file` (int64 ns, little-endian)")
	var hdrs headerList
	flag.Var(&hdrs, "H", "request header `Name: value` (repeatable)")
	flag.Parse()

	u, err := url.Parse(*rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		fmt.Fprintf(os.Stderr, "loadgen: -url must be an http:// URL, got %q\n", *rawURL)
		os.Exit(2)
	}
	if *rate <= 0 || *conns <= 0 || *dur <= 0 {
		fmt.Fprintln(os.Stderr, "loadgen: -rate, -c and -d must be positive")
		os.Exit(2)
	}
	path := u.RequestURI()
	var req bytes.Buffer
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, u.Host)
	for _, h := range hdrs {
		fmt.Fprintf(&req, "%s\r\n", h)
	}
	req.WriteString("\r\n")

	interval := float64(time.Second) / *rate
	start := time.Now().Add(100 * time.Millisecond)
	measureFrom := start.Add(*warmup)
	end := measureFrom.Add(*dur)
	total := int(float64(end.Sub(start)) / interval)
	// One P for the dispatcher, whose thread spends its time in nanosleep,
	// one for the readers.
	runtime.GOMAXPROCS(2)

	idle := make(chan *conn, *conns)
	var wg sync.WaitGroup
	pool := make([]*conn, *conns)
	for k := range pool {
		cn := &conn{addr: u.Host, want: *want, measureFrom: measureFrom, idle: idle, done: make(chan struct{})}
		cn.lat = make([]time.Duration, 0, total / *conns + 16)
		cn.lag = make([]time.Duration, 0, total / *conns + 16)
		pool[k] = cn
		if err := cn.dial(); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cn.read()
		}()
		idle <- cn
	}
	dispatch(req.Bytes(), start, interval, total, idle, measureFrom)
	// Wait for the last answers, then stop the readers.
	for range pool {
		<-idle
	}
	for _, cn := range pool {
		close(cn.done)
		cn.c.Close()
	}
	wg.Wait()
	stats := make([]*connStats, len(pool))
	for i, cn := range pool {
		stats[i] = &cn.connStats
	}

	var r Result
	r.URL, r.Rate, r.Conns, r.Seconds = *rawURL, *rate, *conns, dur.Seconds()
	var lat, lag []time.Duration
	for _, st := range stats {
		lat = append(lat, st.lat...)
		lag = append(lag, st.lag...)
		r.OK += st.ok
		r.BadStatus += st.bad
		r.Errors += st.errors
		r.Sent += st.requests
		if st.lastError != nil && r.FirstError == "" {
			r.FirstError = st.lastError.Error()
		}
	}
	slices.Sort(lat)
	slices.Sort(lag)
	r.AchievedRPS = float64(r.OK) / dur.Seconds()
	r.P50us = pct(lat, 50)
	r.P90us = pct(lat, 90)
	r.P99us = pct(lat, 99)
	r.P999us = pct(lat, 99.9)
	r.MaxUs = pct(lat, 100)
	r.LagP99us = pct(lag, 99)
	if *samples != "" {
		b := make([]byte, 8*len(lat))
		for i, d := range lat {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(d))
		}
		if err := os.WriteFile(*samples, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(r)
}

// pct returns the p-th percentile (nearest rank) of sorted, in µs.
func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i]) / 1e3
}

// dispatch sends request i at start + i*interval on a free connection of
// the pool. When none is free it waits for one, and the wait counts in
// that request's latency, as do the dispatcher's own delays.
func dispatch(req []byte, start time.Time, interval float64, total int, idle chan *conn, measureFrom time.Time) {
	// Go's timers wake up to a millisecond late (the netpoller waits in
	// whole milliseconds); sleepUntil ends each wait with a nanosleep,
	// which blocks only this thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	preciseTimers()
	for i := 0; i < total; i++ {
		due := start.Add(time.Duration(float64(i) * interval))
		sleepUntil(due)
		cn := <-idle
		now := time.Now()
		cn.due.Store(due.UnixNano())
		cn.sentAt.Store(now.UnixNano())
		_ = cn.c.SetReadDeadline(now.Add(5 * time.Second))
		if _, err := cn.c.Write(req); err != nil {
			// The reader sees the failure on its side and reconnects.
			cn.c.Close()
		}
	}
}

// conn is one keep-alive connection of the pool. The dispatcher writes
// requests on it; its reader goroutine reads the answers, times them and
// returns it to the pool.
type conn struct {
	addr        string
	want        int
	measureFrom time.Time
	idle        chan *conn
	done        chan struct{}

	c           net.Conn
	br          *bufio.Reader
	due, sentAt atomic.Int64 // of the request in flight, unix ns; due 0 = none
	connStats
}

func (cn *conn) dial() error {
	c, err := net.DialTimeout("tcp", cn.addr, 2*time.Second)
	if err != nil {
		return err
	}
	cn.c, cn.br = c, bufio.NewReaderSize(c, 16<<10)
	return nil
}

func (cn *conn) read() {
	for {
		status, closing, err := readResponse(cn.br)
		done := time.Now()
		select {
		case <-cn.done:
			return
		default:
		}
		due := cn.due.Swap(0)
		measured := due != 0 && due >= cn.measureFrom.UnixNano()
		if measured {
			cn.requests++
		}
		if err != nil || closing {
			if err != nil && measured {
				cn.errors++
				cn.lastError = err
			}
			cn.c.Close()
			for {
				if err := cn.dial(); err == nil {
					break
				} else if measured {
					cn.errors++
					cn.lastError = err
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		if err == nil && measured {
			cn.lat = append(cn.lat, done.Sub(time.Unix(0, due)))
			cn.lag = append(cn.lag, time.Duration(cn.sentAt.Load()-due))
			if status == cn.want {
				cn.ok++
			} else {
				cn.bad++
				if cn.lastError == nil {
					cn.lastError = fmt.Errorf("status %d", status)
				}
			}
		}
		if due == 0 && err != nil {
			// Nothing was in flight: an idle connection the server
			// closed; it is already replaced, and still in the pool.
			continue
		}
		_ = cn.c.SetReadDeadline(time.Time{})
		cn.idle <- cn
	}
}

// readResponse reads one response, body included (by Content-Length;
// chunked bodies are not supported). closing says the server announced it
// closes the connection.
func readResponse(br *bufio.Reader) (status int, closing bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length := 0
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			length, err = strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil || length < 0 {
				return 0, false, fmt.Errorf("bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Connection")):
			closing = bytes.EqualFold(bytes.TrimSpace(v), []byte("close"))
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			return 0, false, errors.New("chunked responses are not supported")
		}
	}
	if _, err := br.Discard(length); err != nil {
		return 0, false, err
	}
	return status, closing, nil
}
