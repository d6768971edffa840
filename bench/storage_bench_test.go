package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/internal/testenv"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
	storagemysql "github.com/weftio/weft/storage/mysql"
	storagepostgres "github.com/weftio/weft/storage/postgres"
	storageredis "github.com/weftio/weft/storage/redis"
)

// backend opens one storage backend for the storage benchmark, or reports
// that its service is not configured.
type backend struct {
	name string
	env  string // variable holding the service URL ("" for memory)
	open func(ctx context.Context, url, prefix string) (storage.KeyValue, func() error, error)
}

var backends = []backend{
	{"memory", "", func(context.Context, string, string) (storage.KeyValue, func() error, error) {
		m := memory.New()
		return m, m.Close, nil
	}},
	{"redis", testenv.RedisURL, func(ctx context.Context, url, prefix string) (storage.KeyValue, func() error, error) {
		cfg, err := storageredis.ParseURL(url)
		if err != nil {
			return nil, nil, err
		}
		cfg.KeyPrefix = prefix
		s, err := storageredis.New(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	}},
	{"postgres", testenv.PostgresURL, func(ctx context.Context, url, prefix string) (storage.KeyValue, func() error, error) {
		cfg, err := storagepostgres.ParseURL(url)
		if err != nil {
			return nil, nil, err
		}
		cfg.Schema = "weft_bench"
		s, err := storagepostgres.New(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	}},
	{"mysql", testenv.MySQLURL, func(ctx context.Context, url, prefix string) (storage.KeyValue, func() error, error) {
		cfg, err := storagemysql.ParseURL(url)
		if err != nil {
			return nil, nil, err
		}
		cfg.Database = "weft_bench"
		s, err := storagemysql.New(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	}},
}

// countingStore counts the state writes the engine makes and their size.
type countingStore struct {
	storage.KeyValue
	puts, bytes atomic.Int64
}

func (c *countingStore) Put(ctx context.Context, key string, v []byte, expected uint64, ttl time.Duration) (uint64, error) {
	c.puts.Add(1)
	c.bytes.Add(int64(len(v)))
	return c.KeyValue.Put(ctx, key, v, expected, ttl)
}

// BenchmarkStorageEngineVsRaw measures, per backend, the state engine's
// read-modify-write cycles per second (one per workflow step: load, decode,
// apply, encode, versioned write), and in the same run the backend alone
// doing the same number of versioned single-row writes of the same average
// size with the same concurrency. The ratio is the engine's overhead over
// the database.
func BenchmarkStorageEngineVsRaw(b *testing.B) {
	const inflight = 32
	workflows := 1000
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			url := ""
			if be.env != "" {
				if url = os.Getenv(be.env); url == "" {
					b.Skipf("%s is not set", be.env)
				}
			}
			ctx := context.Background()
			kv, closeKV, err := be.open(ctx, url, fmt.Sprintf("bench-%d:", time.Now().UnixNano()))
			if err != nil {
				b.Fatal(err)
			}
			defer closeKV()
			for range b.N {
				counted := &countingStore{KeyValue: kv}
				rec := newRecorder()
				rt, err := embedded.Start(ctx, registry(rec), embedded.Options{Store: counted})
				if err != nil {
					b.Fatal(err)
				}
				engine := runWorkflows(ctx, b, rt, rec, workflows, inflight)
				if err := rt.Stop(); err != nil {
					b.Fatal(err)
				}
				writes := int(counted.puts.Load())
				size := int(counted.bytes.Load()) / max(writes, 1)
				raw := rawWrites(ctx, b, kv, writes, inflight, size)
				engineRate := float64(writes) / engine.Seconds()
				rawRate := float64(writes) / raw.Seconds()
				stepRate := float64(workflows*stepsPerWorkflow) / engine.Seconds()
				b.ReportMetric(stepRate, "steps/s")
				b.ReportMetric(engineRate, "engine-rmw/s")
				b.ReportMetric(rawRate, "raw-writes/s")
				b.ReportMetric(rawRate/engineRate, "raw/engine")
				b.Logf("%s: %.0f workflow steps/s; engine %.0f read-modify-writes/s, raw %.0f versioned writes/s of %d B, ratio %.2f (%d writes, %d in flight)",
					be.name, stepRate, engineRate, rawRate, size, rawRate/engineRate, writes, inflight)
			}
		})
	}
}

// runWorkflows runs total sequential workflows, inflight at a time, and
// returns the wall time.
func runWorkflows(ctx context.Context, b *testing.B, rt *embedded.Runtime, rec *recorder, total, inflight int) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	ids := make([]string, total)
	stamp := time.Now().UnixNano()
	for i := range ids {
		ids[i] = fmt.Sprintf("storage-%d-%d", stamp, i)
		rec.add(ids[i])
	}
	start := time.Now()
	for range inflight {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				if got, err := client.Run(ctx, rt.Client(), seq, 0, client.WithID(ids[i])); err != nil || got != stepsPerWorkflow {
					b.Errorf("workflow %s: %v, %v", ids[i], got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// rawWrites makes n versioned writes of size bytes from inflight goroutines,
// each on its own key, and returns the wall time.
func rawWrites(ctx context.Context, b *testing.B, kv storage.KeyValue, n, inflight, size int) time.Duration {
	value := make([]byte, size)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	stamp := time.Now().UnixNano()
	start := time.Now()
	for g := range inflight {
		wg.Go(func() {
			key := fmt.Sprintf("raw-%d-%d", stamp, g)
			var version uint64
			for next.Add(1) <= int64(n) {
				v, err := kv.Put(ctx, key, value, version, 0)
				if err != nil {
					b.Errorf("raw write: %v", err)
					return
				}
				version = v
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}
