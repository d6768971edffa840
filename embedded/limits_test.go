package embedded_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/transport/memory"
)

var (
	hugeTask = weft.NewTask[int, string]("Huge", "make")
	tinyTask = weft.NewTask[int, int]("Huge", "tiny")
	hugeWf   = weft.NewWorkflow[int, string]("HugeWf", "run")
	tinyWf   = weft.NewWorkflow[int, int]("TinyWf", "run")
)

// TestOversizedResultIsAFailureNotARetry: on the worker runtime, with a
// transport that takes 64 KiB messages, a task returning more fails (the
// caller sees ErrPayloadTooLarge) instead of being retried in place for
// ever, and workflows of every type on the process go on meanwhile.
func TestOversizedResultIsAFailureNotARetry(t *testing.T) {
	t.Parallel()
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, hugeTask, func(_ weft.TaskContext, n int) (string, error) { return strings.Repeat("z", n), nil }))
	weft.MustRegister(weft.RegisterTask(reg, tinyTask, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, hugeWf, func(ctx weft.Context, n int) (string, error) {
		s, err := weft.Call(ctx, hugeTask, n)
		return s[:min(len(s), 3)], err
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, tinyWf, func(ctx weft.Context, n int) (int, error) { return weft.Call(ctx, tinyTask, n) }))
	for _, fastPath := range []bool{true, false} {
		tr := memory.New(memory.WithMaxMessageSize(64 << 10))
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		rt, err := embedded.Start(ctx, reg, embedded.Options{Transport: tr, DisableFastPath: !fastPath, Concurrency: 1})
		if err != nil {
			t.Fatal(err)
		}
		c := rt.Client()
		huge, err := client.Dispatch(ctx, c, hugeWf, 100<<10)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 20 { // one lane per role: held-up keys would stop these
			if v, err := client.Run(ctx, c, tinyWf, i); err != nil || v != i+1 {
				t.Fatalf("fast path %v: tiny workflow %d: %v, %v", fastPath, i, v, err)
			}
		}
		if _, err := huge.Await(ctx); !errors.Is(err, weft.ErrPayloadTooLarge) || !errors.Is(err, weft.ErrTaskFailed) {
			t.Fatalf("fast path %v: huge workflow: %v, want a task failure: payload too large", fastPath, err)
		}
		if err := rt.Stop(); err != nil {
			t.Error(err)
		}
		cancel()
		_ = tr.Close()
	}
}
