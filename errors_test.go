package weft_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

var (
	reserve  = weft.NewTask[string, int]("Inventory", "reserve")
	checkout = weft.NewWorkflow[string, int]("Checkout", "run")
)

// TestClientSeesTheWrappedTaskError: a workflow returning its own error
// that wraps a deferred task error reaches the client as one error that
// matches both the workflow and the task failure, with the task's details
// somewhere in the chain and the user's messages in the text.
func TestClientSeesTheWrappedTaskError(t *testing.T) {
	t.Parallel()
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, reserve, func(_ weft.TaskContext, sku string) (int, error) {
		return 0, fmt.Errorf("%s is out of stock", sku)
	}))
	weft.MustRegister(weft.RegisterWorkflow(r, checkout, func(ctx weft.Context, sku string) (int, error) {
		n, err := weft.Dispatch(ctx, reserve, sku).Await()
		if err != nil {
			return 0, fmt.Errorf("checkout of %s: %w", sku, err)
		}
		return n, nil
	}))
	for _, o := range []embedded.Options{{}, {DisableFastPath: true}} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		rt, err := embedded.Start(ctx, r, o)
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.Run(ctx, rt.Client(), checkout, "sku-9")
		if stopErr := rt.Stop(); stopErr != nil {
			t.Error(stopErr)
		}
		cancel()
		if !errors.Is(err, weft.ErrWorkflowFailed) || !errors.Is(err, weft.ErrTaskFailed) {
			t.Fatalf("fast path %v: error %v (%s), want a workflow failure caused by a task failure", !o.DisableFastPath, err, codes(err))
		}
		var top *weft.Error
		if !errors.As(err, &top) || top.Workflow != "Checkout" {
			t.Fatalf("errors.As: %+v", top)
		}
		var task *weft.Error
		for e := top; e != nil; e = e.Cause {
			if e.Service != "" {
				task = e
			}
		}
		if task == nil || task.Service != "Inventory" || task.Method != "reserve" || task.TaskID == "" {
			t.Fatalf("no task error with the task's details in %s", codes(err))
		}
		for _, want := range []string{"checkout of sku-9", "sku-9 is out of stock"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%q does not mention %q", err, want)
			}
		}
	}
}
