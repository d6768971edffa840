package embedded_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

var (
	wideTask = weft.NewTask[int, int]("Wide", "part")
	wideFlow = weft.NewWorkflow[int, int]("WideFanout", "run")
)

// TestWideFanoutFailsThenRetried joins a fan-out wide enough for the
// engine's kept And evaluation and kept encodings (see core) with
// AwaitAll: three of its tasks fail, so the method fails with the others
// still completing; once those are retried the step completes with every
// value in order. The test targets check the kept evaluations against
// whole ones (WEFT_TEST_CORE_VERIFY).
func TestWideFanoutFailsThenRetried(t *testing.T) {
	const width = 48
	var healthy atomic.Bool
	var runs atomic.Int32
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, wideTask, func(_ weft.TaskContext, i int) (int, error) {
		runs.Add(1)
		if i%17 == 5 && !healthy.Load() {
			return 0, errors.New("part down")
		}
		return i * 10, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, wideFlow, func(ctx weft.Context, n int) (int, error) {
		ds := make([]*weft.Deferred[int], n)
		for i := range ds {
			ds[i] = weft.Dispatch(ctx, wideTask, i)
		}
		vs, err := weft.AwaitAll(ds)
		if err != nil {
			return 0, err
		}
		sum := 0
		for i, v := range vs {
			if v != i*10 {
				return 0, errors.New("values out of order")
			}
			sum += v
		}
		return sum, nil
	}))
	c, ctx := start(t, reg, embedded.Options{})
	h, err := client.Dispatch(ctx, c, wideFlow, width)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Await(ctx); !errors.Is(err, weft.ErrTaskFailed) {
		t.Fatalf("first run: %v, want a task failure", err)
	}
	eventually(t, "every task's outcome recorded", func() bool {
		raw, err := c.Describe(ctx, h.WorkflowID)
		return err == nil && strings.Count(string(raw), `"state": "failed"`) == 3 && strings.Count(string(raw), `"state": "completed"`) == width-3
	})
	healthy.Store(true)
	if err := c.RetryTasks(ctx, "WideFanout", h.WorkflowID, client.TaskFilter{Service: "Wide"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the failed tasks ran again", func() bool { return runs.Load() == width+3 })
	want := 10 * width * (width - 1) / 2
	if got, err := h.Await(ctx); err != nil || got != want {
		t.Fatalf("after the retry: %d, %v; want %d", got, err, want)
	}
	if n := runs.Load(); n != width+3 {
		t.Errorf("%d task runs, want %d (the three failed ones once more)", n, width+3)
	}
}
