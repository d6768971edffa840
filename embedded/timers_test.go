package embedded_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

var (
	napMain  = weft.NewWorkflow[int, string]("Napper", "run")
	napExtra = weft.NewWorkflow[int, string]("Napper", "nap")
)

// TestCompleteTimersOfOneMethodRun completes the timers of one method run
// only, then those of every run.
func TestCompleteTimersOfOneMethodRun(t *testing.T) {
	reg := weft.NewRegistry()
	sleeper := func(name string) func(weft.Context, int) (string, error) {
		return func(ctx weft.Context, _ int) (string, error) {
			if err := weft.Sleep(ctx, 24*time.Hour); err != nil {
				return "", err
			}
			return name + " woke", nil
		}
	}
	weft.MustRegister(weft.RegisterWorkflow(reg, napMain, sleeper("main")))
	weft.MustRegister(weft.RegisterWorkflow(reg, napExtra, sleeper("extra")))
	c, ctx := start(t, reg, embedded.Options{})
	main, err := client.Dispatch(ctx, c, napMain, 0)
	if err != nil {
		t.Fatal(err)
	}
	extra, err := client.DispatchMethod(ctx, c, napExtra, main.WorkflowID, 0)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "both runs asleep", func() bool {
		raw, err := c.Describe(ctx, main.WorkflowID)
		return err == nil && strings.Count(string(raw), `"kind": "timer"`) == 2
	})
	if err := c.CompleteTimers(ctx, "Napper", main.WorkflowID, extra.MethodRunID); err != nil {
		t.Fatal(err)
	}
	if got, err := extra.Await(ctx); err != nil || got != "extra woke" {
		t.Fatalf("extra = %q, %v", got, err)
	}
	raw, err := c.Describe(ctx, main.WorkflowID)
	if err != nil || strings.Contains(string(raw), `"result"`) {
		t.Fatalf("the main run ended with the other run's timers: %v\n%s", err, raw)
	}
	if err := c.CompleteTimers(ctx, "Napper", main.WorkflowID, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := main.Await(ctx); err != nil || got != "main woke" {
		t.Fatalf("main = %q, %v", got, err)
	}
}
