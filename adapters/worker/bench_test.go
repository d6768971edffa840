package worker_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/weftio/weft/adapters/worker"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/transport/memory"
)

// BenchmarkWorkerStep measures one keyed step: receive, decode, handle,
// publish one output, commit, ack, on the memory transport.
func BenchmarkWorkerStep(b *testing.B) {
	mem := memory.New()
	defer mem.Close()
	var handled atomic.Int64
	done := make(chan struct{})
	n := int64(b.N)
	fn := newFn("bench-in:w", true, func(_ context.Context, in core.Envelope) (functions.Result, error) {
		out := in
		out.ID = "out-" + in.ID
		out.Topic = "bench-out:w"
		return functions.Result{
			Outputs: []core.Envelope{out},
			Commit: func(context.Context) error {
				if handled.Add(1) == n {
					close(done)
				}
				return nil
			},
		}, nil
	})
	w, err := worker.New(mem, fn, worker.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	<-w.Ready()
	b.ReportAllocs()
	b.ResetTimer()
	e := env("bench-in:w", "", "")
	e.Data = []byte(`{"workflow":"order","step":3,"input":{"sku":"A-1","qty":2}}`)
	for i := range b.N {
		e.ID = "m-" + strconv.Itoa(i)
		e.PartitionKey = "wf-" + strconv.Itoa(i%1000)
		if err := mem.Publish(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}
