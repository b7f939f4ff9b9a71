package main

// Revocation entries shared through Redis ([revocation] redis).
//
// Each entry is one Redis key, its value the entry's line in the file's
// format, its TTL the time until the entry can be dropped (revDropAt), so
// that Redis holds only what can still match:
//
//	tktgate:rev:all            "all 2026-12-04T12:00:01Z 2026-12-04T12:00:00Z"
//	tktgate:rev:uid:USER       "uid alice 2026-12-04T12:00:01Z 2026-12-04T12:00:00Z"
//	tktgate:rev:ticket:ID      "ticket 89bb0ff61cbf7808 2026-12-04T11:42:17Z bob"
//
// A writer sets the key, then PUBLISHes its name on redisChannel. Every
// tktgate keeps the entries in memory, in the same immutable list as the
// file's (the two are one list: their union), so the hot path never
// waits on Redis. One goroutine per process keeps them current: a full
// load (SCAN, MGET) once subscribed, at start and after every reconnect;
// the published keys read as they come (GET); and a full load every
// redis_resync as a safety net (a publish lost while the subscriber's
// connection was down, a key that expired). Keyspace notifications would
// spare the PUBLISH but need notify-keyspace-events set on the server,
// which managed Redis services do not always allow.
//
// The client is go-redis (github.com/redis/go-redis/v9), Redis' own
// client for Go: maintained by Redis, the one oauth2-proxy and Authelia
// use, with pub/sub that reconnects and resubscribes on its own, TLS
// (rediss://) and unix sockets from one URL. rueidis is faster, which
// this does not need: it runs off the request path, a few commands a
// revocation.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	redisKeyPrefix = "tktgate:rev:"
	redisChannel   = "tktgate:revocations"
)

// redisKey is the key of e: one per user, one for all, one per ticket,
// as the file keeps one entry per user (the latest) and per ticket.
func redisKey(e revEntry) string {
	switch e.kind {
	case revAll:
		return redisKeyPrefix + "all"
	case revUID:
		return redisKeyPrefix + "uid:" + e.uid
	}
	return redisKeyPrefix + fmt.Sprintf("ticket:%016x", e.id)
}

// redisOptions are go-redis's options for src: short timeouts, since a
// replica that cannot reach Redis must say so quickly and keep its list.
func redisOptions(src *RedisSource) *redis.Options {
	opts, err := redis.ParseURL(src.URL)
	if err != nil {
		opts = &redis.Options{} // checked when the config was loaded
	}
	opts.Password = src.password
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = time.Second
	opts.WriteTimeout = 2 * time.Second
	opts.MaxRetries = 1
	opts.PoolSize = 2
	opts.DisableIdentity = true // no CLIENT SETINFO: fewer round trips, older servers
	return opts
}

// quietRedis drops go-redis's own log lines, which go to stderr and not
// as JSON: tktgate logs what matters (a lost connection, a failed load)
// itself.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

var quietRedisOnce sync.Once

// redisRunner is the goroutine that keeps the Redis entries of s current.
type redisRunner struct {
	s      *Server
	src    RedisSource
	cancel context.CancelFunc
	done   chan struct{}
	// keys are the entries loaded, by key; owned by the goroutine.
	keys map[string]revEntry
	up   bool // as last logged
}

// redisBackoff bounds the wait between connection attempts.
var redisBackoff = [2]time.Duration{100 * time.Millisecond, 5 * time.Second}

// startRedis starts keeping the Redis entries current, if src is set and
// differs from what runs (a reload that does not touch it keeps the
// connection and the entries). Called from the goroutine that loads the
// config.
func (s *Server) startRedis(src *RedisSource) {
	if s.redis != nil && src != nil && s.redis.src == *src {
		return
	}
	s.stopRedis()
	if src == nil {
		return
	}
	quietRedisOnce.Do(func() { redis.SetLogger(quietRedis{}) })
	ctx, cancel := context.WithCancel(context.Background())
	r := &redisRunner{s: s, src: *src, cancel: cancel, done: make(chan struct{})}
	s.redis = r
	s.redisWaiting.Store(src.Required && !s.redisSynced.Load())
	go r.run(ctx)
}

// stopRedis stops the goroutine, if any, and waits for it: after it, no
// Redis entries change the list.
func (s *Server) stopRedis() {
	if s.redis == nil {
		return
	}
	s.redis.cancel()
	<-s.redis.done
	s.redis = nil
	s.redisWaiting.Store(false)
	s.metrics.redisUp.Store(0)
}

func (r *redisRunner) run(ctx context.Context) {
	defer close(r.done)
	client := redis.NewClient(redisOptions(&r.src))
	defer client.Close()
	ps := client.Subscribe(ctx, redisChannel)
	defer func() { ps.Close() }()
	m := r.s.metrics
	var (
		lastTry     time.Time           // of a full load
		pending     = map[string]bool{} // published keys not yet read
		pendingFrom time.Time
		lastApply   time.Time
		applyTook   time.Duration
		wait        = redisBackoff[0]
		// Once Redis is back, a replica loads it within resync: the
		// longest it may answer differently from the others.
		maxWait = min(redisBackoff[1], r.src.Resync/2)
	)
	load := func() {
		lastTry = time.Now()
		clear(pending) // what was published is in what the load reads
		if r.fullLoad(ctx, client) {
			wait = redisBackoff[0]
			return
		}
		// Commands fail while the subscription says nothing: its
		// connection may be dead without knowing it (a peer gone without
		// a reset). A new one, and a full load once it is subscribed.
		ps.Close()
		ps = client.Subscribe(ctx, redisChannel)
	}
	for ctx.Err() == nil {
		timeout := time.Second
		if len(pending) > 0 {
			// Keys published together are read and compiled together.
			timeout = 5 * time.Millisecond
		}
		msg, err := ps.ReceiveTimeout(ctx, timeout)
		if ctx.Err() != nil {
			return
		}
		var ne net.Error
		switch {
		case err != nil && errors.As(err, &ne) && ne.Timeout():
			// Nothing published: a chance to apply what was, or to resync.
		case err != nil:
			// The connection is lost, or cannot be made: go-redis dials
			// again, and subscribes again, at the next Receive.
			r.down(err)
			clear(pending)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
			wait = min(2*wait, maxWait)
			continue
		}
		switch msg := msg.(type) {
		case *redis.Subscription:
			if msg.Kind == "subscribe" {
				load() // subscribed (again)
			}
		case *redis.Message:
			if len(pending) == 0 {
				pendingFrom = time.Now()
			}
			if strings.HasPrefix(msg.Payload, redisKeyPrefix) && len(pending) < 10000 {
				pending[msg.Payload] = true
			}
		}
		// Applied when nothing more came for 5 ms, or 50 ms after the
		// first; and no sooner after the last than it took: each change
		// builds the whole list again (86 ms for 100,000 entries), and a
		// storm of logouts must not take more than half a CPU.
		if len(pending) > 0 && (err != nil || time.Since(pendingFrom) > 50*time.Millisecond) && time.Since(lastApply) >= applyTook {
			start := time.Now()
			if r.apply(ctx, client, pending) {
				m.redisUpdates.Add(uint64(len(pending)))
			}
			clear(pending)
			lastApply = time.Now()
			applyTook = lastApply.Sub(start)
		}
		if time.Since(lastTry) >= r.src.Resync {
			load()
		}
	}
}

// fullLoad reads every entry in Redis and installs them; false (and the
// entries in force kept) when Redis does not answer.
func (r *redisRunner) fullLoad(ctx context.Context, client *redis.Client) bool {
	keys := map[string]revEntry{}
	if err := scanRedis(ctx, client, func(key string, v any) { r.take(keys, key, v) }); err != nil {
		r.down(err)
		return false
	}
	changed := !maps.Equal(keys, r.keys) || r.keys == nil
	r.keys = keys
	if changed {
		r.install(ctx)
	}
	m := r.s.metrics
	m.redisEntries.Store(int64(len(keys)))
	m.redisLastSync.Store(time.Now().Unix())
	m.redisSyncs.Add(1)
	r.s.redisSynced.Store(true)
	r.s.redisWaiting.Store(false)
	if !r.up {
		r.up = true
		m.redisUp.Store(1)
		r.s.log.Info("revocations: connected to redis and loaded its entries", "redis", r.src.URL, "entries", len(keys))
	}
	return true
}

// apply reads the published keys and installs the entries as they now
// are (a key gone is an entry removed).
func (r *redisRunner) apply(ctx context.Context, client *redis.Client, pending map[string]bool) bool {
	keys := slices.Collect(maps.Keys(pending))
	vals, err := client.MGet(ctx, keys...).Result()
	if err != nil {
		r.down(err)
		return false
	}
	for i, v := range vals {
		delete(r.keys, keys[i])
		r.take(r.keys, keys[i], v)
	}
	r.install(ctx)
	r.s.metrics.redisEntries.Store(int64(len(r.keys)))
	return true
}

// take adds the entry a key holds to keys; a value that is not an entry
// line is logged (by its key, never its text) and skipped.
func (r *redisRunner) take(keys map[string]revEntry, key string, v any) {
	e, ok, err := redisValue(key, v)
	if !ok {
		return
	}
	if err != nil {
		r.s.metrics.redisBadValues.Add(1)
		if r.s.metrics.logLimiter.allow(time.Now()) {
			r.s.log.Warn("revocations: a redis key does not hold an entry line; skipped", "key", logSafeKey(key), "error", err.Error())
		}
		return
	}
	keys[key] = e
}

// redisValue is the entry key's value v (from MGET) holds: ok false
// when the key is gone (expired or removed), an error when v is not an
// entry line or key does not name its entry. The server and the one-off
// commands (readRedisEntries) read Redis alike through it.
func redisValue(key string, v any) (e revEntry, ok bool, err error) {
	s, ok := v.(string)
	if !ok {
		return revEntry{}, false, nil
	}
	e, err = parseRevEntry(strings.TrimSpace(s))
	if err == nil && redisKey(e) != key {
		err = errors.New("the key does not name the entry its value holds (want " + redisKey(e) + ")")
	}
	return e, true, err
}

// scanRedis reads every key of the list, in MGET batches of 1,000, and
// hands each key and its value (nil: gone meanwhile) to visit.
func scanRedis(ctx context.Context, client *redis.Client, visit func(key string, v any)) error {
	iter := client.Scan(ctx, 0, redisKeyPrefix+"*", 1000).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		vals, err := client.MGet(ctx, batch...).Result()
		if err != nil {
			return err
		}
		for i, v := range vals {
			visit(batch[i], v)
		}
		batch = batch[:0]
		return nil
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	return flush()
}

// logSafeKey is key for the log: a user name may hold anything.
func logSafeKey(key string) string {
	if len(key) > 200 {
		key = key[:200] + "…"
	}
	return fmt.Sprintf("%q", key)
}

// install puts the loaded entries in force, unless the runner was
// stopped meanwhile (a reload replaced it).
func (r *redisRunner) install(ctx context.Context) {
	entries := slices.Collect(maps.Values(r.keys))
	r.s.setRedisRevocations(ctx, r.src, entries)
}

// down records a failure: the list in force stays, and is answered
// from; one log line per outage.
func (r *redisRunner) down(err error) {
	r.s.metrics.redisUp.Store(0)
	r.s.metrics.redisSyncFails.Add(1)
	if r.up || r.s.metrics.redisSyncFails.Load() == 1 {
		r.s.log.Error("revocations: redis unreachable; answering with the entries already loaded, retrying", "redis", r.src.URL, "error", err.Error())
	}
	r.up = false
}

// setRedisRevocations installs entries as Redis' part of the list.
func (s *Server) setRedisRevocations(ctx context.Context, src RedisSource, entries []revEntry) {
	s.revMu.Lock()
	defer s.revMu.Unlock()
	old := s.snap.Load()
	if ctx.Err() != nil || old.cfg.Redis == nil || *old.cfg.Redis != src {
		return // stopped, or a reload is about to stop it
	}
	s.redisRevs = entries
	snap := *old
	snap.revs = s.compileRevs(old.cfg, old.revs, time.Now())
	s.snap.Store(&snap)
	s.metrics.revocationsChanged(snap.revs)
}

// compileRevs is the list in force for cfg: the union of the file's and
// Redis' entries; nil when cfg has neither source.
func (s *Server) compileRevs(cfg *Config, prev *revocations, now time.Time) *revocations {
	if cfg.RevocationFile == "" && cfg.Redis == nil {
		return nil
	}
	entries := s.fileRevs
	if len(s.redisRevs) > 0 {
		entries = append(slices.Clip(entries), s.redisRevs...)
	}
	return compileRevocations(entries, cfg, prev, now)
}

// redisReadyLog is logged once when redis_required holds readiness back.
func (s *Server) redisReadyLog(log *slog.Logger) {
	if s.redisWaiting.Load() {
		log.Warn("revocations: not ready until redis is loaded (redis_required)", "redis", s.redis.src.URL)
	}
}
