package sqs_test

import (
	"sync"
	"testing"

	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/sqs"
	"github.com/weftio/weft/transport/transporttest"
)

// TestConformance runs the transport suite against the test server twice:
// with the suite's topics on FIFO queues (per-key order), and with every
// queue standard (no order declared). The transports of one subtest share
// a queue prefix, so a reopened transport sees what an earlier one
// published; subtests never share one.
func TestConformance(t *testing.T) {
	endpoint(t)
	for _, tc := range []struct {
		name string
		fifo sqs.Prefixes
	}{
		{"fifo", sqs.Prefixes{"weftconf"}},
		{"standard", sqs.Prefixes{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			configs := map[*testing.T]sqs.Config{}
			transporttest.Run(t, func(t *testing.T) transport.Transport {
				mu.Lock()
				defer mu.Unlock()
				cfg, ok := configs[t]
				if !ok {
					cfg = testConfig(t)
					cfg.FifoPrefixes = tc.fifo
					configs[t] = cfg
				}
				tr := open(t, cfg)
				if got, want := tr.Capabilities().KeyedOrder, len(tc.fifo) > 0; got != want {
					t.Errorf("Capabilities().KeyedOrder = %v with fifoPrefixes %v", got, tc.fifo)
				}
				return tr
			})
		})
	}
}
