package embedded_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/functions"
)

var (
	flaky     = weft.NewTask[int, int]("Flaky", "run")
	flakyFlow = weft.NewWorkflow[int, int]("FlakyFlow", "run")
)

// TestTaskEventsReachTheSink runs a task that fails once, is retried and
// succeeds, with a sink that is down for its first delivery: the sink gets
// started, retry scheduled, started, completed, each at least once, as
// CloudEvents with the documented type and subject.
func TestTaskEventsReachTheSink(t *testing.T) {
	var attempts, sinkCalls atomic.Int32
	reg := weft.NewRegistry()
	policy := weft.DefaultRetryPolicy()
	policy.Minimum, policy.Maximum, policy.RandomFactor = 10*time.Millisecond, 10*time.Millisecond, 0
	weft.MustRegister(weft.RegisterTask(reg, flaky, func(ctx weft.TaskContext, n int) (int, error) {
		if attempts.Add(1) == 1 {
			return 0, errors.New("first attempt fails")
		}
		return n + 1, nil
	}, weft.WithRetry(policy)))
	weft.MustRegister(weft.RegisterWorkflow(reg, flakyFlow, func(ctx weft.Context, n int) (int, error) {
		return weft.Call(ctx, flaky, n)
	}))
	var mu sync.Mutex
	var kinds []core.EventKind
	var taskID string
	sink := functions.EventSink(func(ctx context.Context, env core.Envelope, ev *core.Event) error {
		if sinkCalls.Add(1) == 1 {
			return errors.New("sink briefly down") // retried, not lost
		}
		mu.Lock()
		defer mu.Unlock()
		isTask := strings.HasPrefix(string(ev.Kind), "task.")
		switch {
		case env.Type != "weft.event."+string(ev.Kind):
			t.Errorf("event type %s for kind %s", env.Type, ev.Kind)
		case isTask && (env.Subject != ev.TaskID || env.Topic != "task-events:Flaky"):
			t.Errorf("task event subject %s topic %s for %+v", env.Subject, env.Topic, ev)
		case !isTask && (env.Subject != ev.WorkflowID || env.Topic != "workflow-events:FlakyFlow"):
			t.Errorf("workflow event subject %s topic %s for %+v", env.Subject, env.Topic, ev)
		}
		if !slices.Contains(kinds, ev.Kind) || ev.Kind == core.EventTaskStarted {
			kinds = append(kinds, ev.Kind)
		}
		if isTask {
			taskID = ev.TaskID
		}
		return nil
	})
	c, ctx := start(t, reg, embedded.Options{EventSink: sink})
	if got, err := client.Run(ctx, c, flakyFlow, 41); err != nil || got != 42 {
		t.Fatalf("workflow = %d, %v", got, err)
	}
	eventually(t, "every task event delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range []core.EventKind{core.EventTaskDispatched, core.EventWorkflowDispatched, core.EventWorkflowTaskDispatched,
			core.EventMethodCompleted, core.EventWorkflowCompleted} {
			if !slices.Contains(kinds, k) {
				return false
			}
		}
		return slices.Contains(kinds, core.EventTaskCompleted) && slices.Contains(kinds, core.EventTaskRetryScheduled) &&
			len(slices.DeleteFunc(slices.Clone(kinds), func(k core.EventKind) bool { return k != core.EventTaskStarted })) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	if taskID == "" {
		t.Error("events carry no task id")
	}
}

// TestDelegationCompletedEvent checks the tag engine reports the completion
// of a delegated task.
func TestDelegationCompletedEvent(t *testing.T) {
	reg := weft.NewRegistry()
	var c *client.Client
	weft.MustRegister(weft.RegisterTask(reg, review, func(ctx weft.TaskContext, text string) (string, error) {
		id := ctx.Info().TaskID
		go func() { _ = client.CompleteTask(context.Background(), c, review, id, "ok: "+text) }()
		return "", nil
	}, weft.Delegated()))
	weft.MustRegister(weft.RegisterWorkflow(reg, reviewFlow, func(ctx weft.Context, text string) (string, error) {
		return weft.Call(ctx, review, text)
	}))
	var mu sync.Mutex
	var got []*core.Event
	c, ctx := start(t, reg, embedded.Options{EventSink: func(_ context.Context, _ core.Envelope, ev *core.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, ev)
		return nil
	}})
	if v, err := client.Run(ctx, c, reviewFlow, "doc"); err != nil || v != "ok: doc" {
		t.Fatalf("workflow = %q, %v", v, err)
	}
	eventually(t, "delegated and delegationCompleted events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		var delegated, done bool
		for _, ev := range got {
			delegated = delegated || ev.Kind == core.EventTaskDelegated
			done = done || (ev.Kind == core.EventTaskDelegationComplete && string(ev.Value) == `"ok: doc"` && ev.WorkflowID != "")
		}
		return delegated && done
	})
}
