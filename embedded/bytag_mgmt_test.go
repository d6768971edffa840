package embedded_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

var (
	batchTask  = weft.NewTask[int, int]("BatchJob", "work")
	batchFlow  = weft.NewWorkflow[int, int]("Batch", "run")
	batchBonus = weft.NewWorkflow[int, int]("Batch", "bonus")
)

// TestManagementByTag: RetryTasksByTag resumes every failed instance of a
// tag, CompleteTimersByTag wakes every sleeping one, and
// DispatchMethodByTag from a client runs a method on each.
func TestManagementByTag(t *testing.T) {
	var healthy atomic.Bool
	var bonuses atomic.Int32
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, batchTask, func(ctx weft.TaskContext, n int) (int, error) {
		if !healthy.Load() {
			return 0, errors.New("job backend down")
		}
		return n * 2, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, batchFlow, func(ctx weft.Context, n int) (int, error) {
		v, err := weft.Call(ctx, batchTask, n)
		if err != nil {
			return 0, err
		}
		if err := weft.Sleep(ctx, 24*time.Hour); err != nil {
			return 0, err
		}
		return v, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, batchBonus, func(ctx weft.Context, n int) (int, error) {
		bonuses.Add(1)
		return n, nil
	}))
	c, ctx := start(t, reg, embedded.Options{})
	const n = 5
	var hs []*client.Handle[int]
	for i := range n {
		h, err := client.Dispatch(ctx, c, batchFlow, i, client.WithTags("night-batch"))
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	for _, h := range hs {
		if _, err := h.Await(ctx); !errors.Is(err, weft.ErrTaskFailed) {
			t.Fatalf("before the fix: %v, want a task failure", err)
		}
	}
	healthy.Store(true)
	if err := c.RetryTasksByTag(ctx, "Batch", "night-batch", client.TaskFilter{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DispatchMethodByTag(ctx, "Batch", "night-batch", "bonus", json.RawMessage(`7`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the bonus method ran on every instance", func() bool { return bonuses.Load() == n })
	// The retried tasks completed and every instance now sleeps a day;
	// complete their timers by tag (again until each has reached its sleep).
	deadline := time.Now().Add(10 * time.Second)
	for i, h := range hs {
		for {
			if err := c.CompleteTimersByTag(ctx, "Batch", "night-batch"); err != nil {
				t.Fatal(err)
			}
			actx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			got, err := h.Await(actx)
			cancel()
			if err == nil {
				if got != i*2 {
					t.Errorf("instance %d = %d, want %d", i, got, i*2)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %d did not finish: %v", i, err)
			}
		}
	}
}
