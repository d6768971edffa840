package bench

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/testenv"
)

var brokerWorkflows = flag.Int("bench.broker-workflows", 600,
	"workflows run per combination by BenchmarkTransports (each runs "+fmt.Sprint(stepsPerWorkflow)+" task steps)")

// BenchmarkTransports runs workflows of ten sequential trivial tasks with
// every role in one process, on each transport × storage combination, and
// on the embedded runtime (memory × memory) in the same run for reference.
// It reports task steps per second and the latency of a step (from one
// task's start to the next one's) at p50 and p99. Services whose URL is
// not set are skipped.
func BenchmarkTransports(b *testing.B) {
	const inflight = 50
	combos := [][2]string{{"memory", "memory"}}
	for _, tr := range []string{"pulsar", "pgqueue"} {
		for _, st := range []string{"redis", "postgres", "mysql"} {
			combos = append(combos, [2]string{tr, st})
		}
	}
	for _, c := range combos {
		tr, st := c[0], c[1]
		b.Run(tr+"+"+st, func(b *testing.B) {
			env := testenv.Settings(b, st, tr, "bench_"+testenv.Suffix())
			cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) {
				v, ok := env[k]
				return v, ok
			}})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			stores, err := bootstrap.OpenStorage(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer stores.Close()
			trans, err := bootstrap.OpenTransport(ctx, cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer trans.Close()
			h, err := newHarnessWith(ctx, embedded.Options{Store: stores.KeyValue, Tags: stores.KeySet, Transport: trans})
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := h.stop(); err != nil {
					b.Error(err)
				}
			}()
			total := max(*brokerWorkflows, 1)
			if w := h.run(ctx, min(inflight*2, total), inflight); w.failed > 0 {
				b.Fatalf("warm-up: %d workflows failed: %v", w.failed, w.firstErr)
			}
			m := h.measure(ctx, b, total, inflight)
			rate, p50, p99 := m.rate, m.p50, m.p99
			b.Logf("%-18s %8.0f steps/s  step p50 %6.2f ms  p99 %7.2f ms  (%d workflows × %d steps, %d in flight)",
				tr+" + "+st, rate, ms(p50), ms(p99), total*b.N, stepsPerWorkflow, inflight)
			if h.warns.n.Load() > 0 {
				b.Logf("the runtime logged %v", h.warns)
			}
		})
	}
}
