package client_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
)

// TestCommandsToAnUnknownInstance: a client that reads states refuses a
// signal, a cancel, a retry or a timer completion for an instance that does
// not exist (or is an instance of another workflow) with ErrWorkflowUnknown,
// instead of sending what the state engine would drop.
func TestCommandsToAnUnknownInstance(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	c, ctx := start(t, gatedRegistry(&runs))
	cmds := map[string]func(workflow, id string) error{
		"signal":              func(w, id string) error { return c.SignalJSON(ctx, w, id, "open", "", []byte(`"x"`)) },
		"cancel":              func(w, id string) error { return c.Cancel(ctx, w, id, "") },
		"retry-workflow-task": func(w, id string) error { return c.RetryWorkflowTask(ctx, w, id) },
		"retry-tasks":         func(w, id string) error { return c.RetryTasks(ctx, w, id, client.TaskFilter{}) },
		"complete-timers":     func(w, id string) error { return c.CompleteTimers(ctx, w, id, "") },
	}
	h, err := client.Dispatch(ctx, c, gated, 1, client.WithID("known"))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := c.Describe(ctx, "known"); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the instance was never stored: %v", err)
		}
	}
	for name, cmd := range cmds {
		err := cmd("Gated", "never-started")
		var ce *core.Error
		if !errors.Is(err, weft.ErrWorkflowUnknown) || !errors.As(err, &ce) || ce.WorkflowID != "never-started" ||
			!strings.Contains(err.Error(), "no such workflow instance") {
			t.Errorf("%s to an unknown instance = %v, want ErrWorkflowUnknown naming it", name, err)
		}
		if err := cmd("Other", "known"); !errors.Is(err, weft.ErrWorkflowUnknown) || !strings.Contains(err.Error(), "instance of workflow Gated") {
			t.Errorf("%s to another workflow's id = %v, want ErrWorkflowUnknown naming Gated", name, err)
		}
		// Nobody runs an unregistered workflow: no engine is asked.
		if err := cmd("Other", "never-started"); !errors.Is(err, weft.ErrWorkflowUnknown) || !strings.Contains(err.Error(), "not registered") {
			t.Errorf("%s to an unregistered workflow = %v, want ErrWorkflowUnknown saying so", name, err)
		}
	}
	if err := client.Signal(ctx, c, gate, h.WorkflowID, "abc"); err != nil {
		t.Fatal(err)
	}
	if got, err := h.Await(ctx); err != nil || got != 2+3 {
		t.Fatalf("Await = %d, %v; want 5", got, err)
	}
}

// TestCommandRightAfterDispatch: a signal sent right after the dispatch,
// before the state engine stored the instance, is not taken for one to an
// unknown instance: the client asks the engine, which handles the dispatch
// first.
func TestCommandRightAfterDispatch(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	c, ctx := start(t, gatedRegistry(&runs))
	var hs []*client.Handle[int]
	for range 50 {
		h, err := client.Dispatch(ctx, c, gated, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := client.Signal(ctx, c, gate, h.WorkflowID, "abc"); err != nil {
			t.Fatalf("signal right after the dispatch of %s: %v", h.WorkflowID, err)
		}
		hs = append(hs, h)
	}
	for _, h := range hs {
		if got, err := h.Await(ctx); err != nil || got != 5 {
			t.Fatalf("Await %s = %d, %v; want 5", h.WorkflowID, got, err)
		}
	}
}
