package pulsar

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

// BenchmarkPublishReceive publishes b.N envelopes in Publish calls of
// batch envelopes over 64 keys while 4 members of a group receive and
// acknowledge them; msgs/s counts messages through the whole path.
func BenchmarkPublishReceive(b *testing.B) {
	for _, tc := range []struct {
		keyed bool
		batch int
	}{{false, 100}, {true, 100}, {true, 1}} {
		keyed, size := tc.keyed, tc.batch
		b.Run(fmt.Sprintf("keyed=%v/batch=%d", keyed, size), func(b *testing.B) {
			cfg := brokerConfig(b)
			cfg.Logger = nil
			tr := open(b, cfg)
			topic := fmt.Sprintf("bench:keyed-%v-%d", keyed, b.N)
			opts := transport.SubscribeOptions{Group: "g", Keyed: keyed}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var (
				wg       sync.WaitGroup
				received = make(chan struct{}, b.N)
			)
			for range 4 {
				sub := subscribe(b, tr, topic, opts)
				wg.Go(func() {
					for {
						d, err := sub.Receive(ctx)
						if err != nil {
							return
						}
						if err := d.Ack(ctx); err != nil {
							b.Error(err)
							return
						}
						received <- struct{}{}
					}
				})
			}
			data := []byte(`{"payload":"0123456789abcdef0123456789abcdef0123456789abcdef"}`)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i += size {
				var batch []core.Envelope
				for j := i; j < min(i+size, b.N); j++ {
					e := testEnv(topic, fmt.Sprintf("m-%d", j), fmt.Sprintf("key-%d", j%64))
					e.Data = data
					batch = append(batch, e)
				}
				if err := tr.Publish(ctx, batch...); err != nil {
					b.Fatal(err)
				}
			}
			published := time.Since(start)
			timeout := time.After(time.Minute)
			for range b.N {
				select {
				case <-received:
				case <-timeout:
					b.Fatal("timed out waiting for deliveries")
				}
			}
			total := time.Since(start)
			b.StopTimer()
			cancel()
			wg.Wait()
			b.ReportMetric(float64(b.N)/published.Seconds(), "published/s")
			b.ReportMetric(float64(b.N)/total.Seconds(), "msgs/s")
		})
	}
}
