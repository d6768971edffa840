package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/weftio/weft/internal/testenv"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/redis"
	"github.com/weftio/weft/storage/storagetest"
)

// serverConfig is the configuration of the test server from
// WEFT_TEST_REDIS_URL; the test skips (or fails, under
// TEST_REQUIRE_INTEGRATION=1) without it.
func serverConfig(t *testing.T) redis.Config {
	t.Helper()
	u := testenv.URL(t, testenv.RedisURL)
	cfg, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("%s: %v", testenv.RedisURL, err)
	}
	return cfg
}

// uniquePrefix keeps parallel tests, and leftovers of crashed runs, apart on
// the shared server. It contains no glob characters, so cleanup can SCAN
// for it.
func uniquePrefix(t *testing.T) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "weft-test:" + hex.EncodeToString(b[:]) + ":"
}

// newStore opens a Store on the test server under a fresh key prefix,
// after edit (if any) adjusts the configuration. Cleanup closes it and
// deletes every key under the prefix.
func newStore(t *testing.T, edit func(*redis.Config)) *redis.Store {
	t.Helper()
	cfg := serverConfig(t)
	cfg.KeyPrefix = uniquePrefix(t)
	if edit != nil {
		edit(&cfg)
	}
	s, err := redis.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New(%v): %v", cfg, err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		dropPrefix(t, cfg.KeyPrefix)
	})
	return s
}

// rawClient is a plain go-redis client on the test server, for looking
// under the driver.
func rawClient(t *testing.T) *goredis.Client {
	t.Helper()
	opt, err := goredis.ParseURL(testenv.URL(t, testenv.RedisURL))
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// dropPrefix deletes what a test left behind (the suite writes megabytes).
func dropPrefix(t *testing.T, prefix string) {
	t.Helper()
	// t.Context is already cancelled when cleanups run.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := rawClient(t)
	it := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var batch []string
	flush := func() {
		if len(batch) > 0 {
			if err := c.Unlink(ctx, batch...).Err(); err != nil {
				t.Logf("cleanup of %s: %v", prefix, err)
			}
			batch = batch[:0]
		}
	}
	for it.Next(ctx) {
		if batch = append(batch, it.Val()); len(batch) == 500 {
			flush()
		}
	}
	flush()
	if err := it.Err(); err != nil {
		t.Logf("cleanup of %s: %v", prefix, err)
	}
}

func TestKeyValue(t *testing.T) {
	storagetest.RunKeyValue(t, func(t *testing.T) storage.KeyValue { return newStore(t, nil) })
}

func TestKeySet(t *testing.T) {
	storagetest.RunKeySet(t, func(t *testing.T) storage.KeySet { return newStore(t, nil) })
}

// TestLayout pins the documented data layout: it is what other tools (and
// later versions of weft) find on the server.
func TestLayout(t *testing.T) {
	t.Parallel()
	var prefix string
	s := newStore(t, func(c *redis.Config) { prefix = c.KeyPrefix })
	ctx := t.Context()
	if _, err := s.Put(ctx, "k", []byte("value"), 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "k", []byte("value2"), 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Same name in the other namespace: no WRONGTYPE, no interference.
	if err := s.Add(ctx, "k", []byte("member")); err != nil {
		t.Fatal(err)
	}

	c := rawClient(t)
	h, err := c.HGetAll(ctx, prefix+"kv:k").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h["v"] != "value2" || h["ver"] != "2" {
		t.Fatalf("hash %skv:k = %v, want {v: value2, ver: 2}", prefix, h)
	}
	if ttl, err := c.PTTL(ctx, prefix+"kv:k").Result(); err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("PTTL = %v, %v; want within (0, 1h]", ttl, err)
	}
	zs, err := c.ZRangeWithScores(ctx, prefix+"set:k", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(zs) != 1 || zs[0].Member != "member" || zs[0].Score != 0 {
		t.Fatalf("sorted set %sset:k = %v, want [member with score 0]", prefix, zs)
	}
	if v, ver, err := s.Get(ctx, "k"); err != nil || ver != 2 || string(v) != "value2" {
		t.Fatalf("Get = %q, %d, %v", v, ver, err)
	}
}

// TestPrefixesAreIndependent: two deployments sharing a database see only
// their own keys.
func TestPrefixesAreIndependent(t *testing.T) {
	t.Parallel()
	a, b := newStore(t, nil), newStore(t, nil)
	ctx := t.Context()
	if _, err := a.Put(ctx, "k", []byte("a"), 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.Add(ctx, "s", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if v, ver, err := b.Get(ctx, "k"); err != nil || ver != 0 || v != nil {
		t.Fatalf("other prefix Get = %q, %d, %v; want absent", v, ver, err)
	}
	if ms, next, err := b.Page(ctx, "s", "", 10); err != nil || len(ms) != 0 || next != "" {
		t.Fatalf("other prefix Page = %q, %q, %v; want empty", ms, next, err)
	}
}

// TestScriptCacheFlushed: after a restart the server has forgotten the
// script; writes must load it again by themselves.
func TestScriptCacheFlushed(t *testing.T) {
	t.Parallel()
	s := newStore(t, nil)
	ctx := t.Context()
	if _, err := s.Put(ctx, "k", []byte("a"), 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := rawClient(t).ScriptFlush(ctx).Err(); err != nil {
		t.Skipf("SCRIPT FLUSH not allowed here: %v", err)
	}
	if v, err := s.Put(ctx, "k", []byte("b"), 1, 0); err != nil || v != 2 {
		t.Fatalf("Put after SCRIPT FLUSH = %d, %v; want 2", v, err)
	}
}

func TestCloseAndReuse(t *testing.T) {
	cfg := serverConfig(t)
	cfg.KeyPrefix = uniquePrefix(t)
	t.Cleanup(func() { dropPrefix(t, cfg.KeyPrefix) })
	storagetest.RunReopen(t, func(t *testing.T) (storage.KeyValue, storage.KeySet) {
		s, err := redis.New(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s, s
	})
}
