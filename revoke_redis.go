package main

// tktgate revoke with [revocation] redis: the entry written to Redis (see
// redis.go for the keys).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisCLITimeout bounds one tktgate revoke's talk with Redis.
const redisCLITimeout = 10 * time.Second

// updateRedis sets e's key (or deletes the keys e names, for -remove),
// then publishes it so that every tktgate reads it at once.
func (c *revokeCmd) updateRedis(e revEntry) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), redisCLITimeout)
	defer cancel()
	quietRedisOnce.Do(func() { redis.SetLogger(quietRedis{}) })
	client := redis.NewClient(redisOptions(c.cfg.Redis))
	defer client.Close()
	key := redisKey(e)
	if c.remove {
		n, err := client.Del(ctx, key).Result()
		if err != nil {
			return "", err
		}
		if n == 0 {
			return "", fmt.Errorf("no %s", describeRevEntry(e))
		}
		if err := client.Publish(ctx, redisChannel, key).Err(); err != nil {
			return "", err
		}
		return "removed: " + describeRevEntry(e), nil
	}
	horizon, expires := revHorizon(c.cfg)
	var ttl time.Duration // 0: no expiry (a policy without timeout)
	if at, drops := revDropAt(e, horizon, expires); drops {
		// Whole seconds, rounded up: EX takes seconds, and 0 would be none.
		if ttl = at.Sub(c.now).Truncate(time.Second) + time.Second; at.Sub(c.now) <= 0 {
			return fmt.Sprintf("not written: %s can match no valid ticket any more", describeRevEntry(e)), nil
		}
	}
	// The later time wins, as in the file: an entry already there that
	// revokes more is kept.
	if old, err := client.Get(ctx, key).Result(); err == nil {
		if x, err := parseRevEntry(old); err == nil && x.kind == e.kind && (e.kind == revTicket || x.at >= e.at) {
			return "already revoked: " + describeRevEntry(x), nil
		}
	} else if !errors.Is(err, redis.Nil) {
		return "", err
	}
	line := string(appendRevEntry(nil, e))
	if err := client.Set(ctx, key, line, ttl).Err(); err != nil {
		return "", err
	}
	if err := client.Publish(ctx, redisChannel, key).Err(); err != nil {
		return "", err
	}
	return "revoked: " + describeRevEntry(e), nil
}

// listRedis prints the entries Redis holds, as the file would.
func (c *revokeCmd) listRedis(stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), redisCLITimeout)
	defer cancel()
	entries, bad, err := readRedisEntries(ctx, c.cfg.Redis)
	if err != nil {
		fmt.Fprintf(stderr, "tktgate revoke: redis: %v\n", err)
		return 1
	}
	b := []byte("# in redis " + c.cfg.Redis.URL + "\n")
	for _, k := range bad {
		b = append(b, fmt.Sprintf("# key %s does not hold an entry\n", k)...)
	}
	for _, e := range entries {
		b = append(appendRevEntry(b, e), '\n')
	}
	_, _ = stdout.Write(b)
	return 0
}

// readRedisEntries reads every entry src's Redis holds, for one-off
// commands (revoke -list, explain), as the server reads them; bad names,
// log-safe, the keys it would skip.
func readRedisEntries(ctx context.Context, src *RedisSource) (entries []revEntry, bad []string, err error) {
	quietRedisOnce.Do(func() { redis.SetLogger(quietRedis{}) })
	client := redis.NewClient(redisOptions(src))
	defer client.Close()
	err = scanRedis(ctx, client, func(key string, v any) {
		e, ok, err := redisValue(key, v)
		switch {
		case !ok:
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s (%v)", logSafeKey(key), err))
		default:
			entries = append(entries, e)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return entries, bad, nil
}
