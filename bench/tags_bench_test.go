package bench

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

var cancelInstances = flag.Int("bench.cancel-instances", 10000, "instances BenchmarkCancelByTag starts and cancels by tag")

var (
	idle     = weft.NewWorkflow[int, int]("BenchIdle", "run")
	idleWake = weft.NewChannel[int]("BenchIdle", "wake")
)

// BenchmarkCancelByTag starts instances that wait for a signal, all tagged
// alike, then cancels them with one by-tag command and reports how long
// the fan-out took until every instance had ended (its tag removed).
func BenchmarkCancelByTag(b *testing.B) {
	n := max(*cancelInstances, 1)
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, idle, func(ctx weft.Context, x int) (int, error) {
		return weft.Receive(ctx, idleWake).Await()
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	rt, err := embedded.Start(ctx, reg, embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Stop()
	c := rt.Client()
	for i := range b.N {
		tag := fmt.Sprint("bulk-", i)
		startAt := time.Now()
		for j := range n {
			if _, err := client.Dispatch(ctx, c, idle, j, client.WithTags(tag)); err != nil {
				b.Fatal(err)
			}
		}
		waitIDs(ctx, b, c, tag, n)
		started := time.Since(startAt)
		b.ResetTimer()
		t0 := time.Now()
		if err := c.CancelByTag(ctx, idle.Workflow(), tag); err != nil {
			b.Fatal(err)
		}
		waitIDs(ctx, b, c, tag, 0)
		took := time.Since(t0)
		b.StopTimer()
		b.ReportMetric(took.Seconds(), "cancel-s")
		b.ReportMetric(float64(n)/took.Seconds(), "cancels/s")
		b.Logf("cancel by tag of %d instances: %v (%.0f instances/s); starting them took %v", n, took.Round(time.Millisecond),
			float64(n)/took.Seconds(), started.Round(time.Millisecond))
	}
}

// waitIDs polls until tag holds want ids.
func waitIDs(ctx context.Context, b *testing.B, c *client.Client, tag string, want int) {
	for {
		ids, err := c.WorkflowIDsByTag(ctx, idle.Workflow(), tag)
		if err != nil {
			b.Fatal(err)
		}
		if len(ids) == want {
			return
		}
		select {
		case <-ctx.Done():
			b.Fatalf("tag %s holds %d ids, want %d", tag, len(ids), want)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
