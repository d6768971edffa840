package embedded_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

func start(t *testing.T, reg *weft.Registry, o embedded.Options) (*client.Client, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	rt, err := embedded.Start(ctx, reg, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Stop(); err != nil {
			t.Error(err)
		}
		cancel()
	})
	return rt.Client(), ctx
}

// Counter shares its properties between the main method and "add" runs.
type Counter struct {
	Total int `json:"total"`
	Adds  int `json:"adds"`
}

var (
	counterRun  = weft.NewWorkflow[int, Counter]("Counter", "run")
	counterAdd  = weft.NewWorkflow[int, int]("Counter", "add")
	counterStop = weft.NewChannel[string]("Counter", "stop")
)

func counterRegistry() *weft.Registry {
	reg := weft.NewRegistry()
	registerCounter(reg)
	return reg
}

// registerCounter adds the Counter workflow's two methods to reg.
func registerCounter(reg *weft.Registry) {
	weft.MustRegister(weft.RegisterMethod(reg, counterRun, func(c *Counter, ctx weft.Context, start int) (Counter, error) {
		c.Total = start
		if _, err := weft.Receive(ctx, counterStop).Await(); err != nil {
			return Counter{}, err
		}
		return *c, nil
	}))
	weft.MustRegister(weft.RegisterMethod(reg, counterAdd, func(c *Counter, ctx weft.Context, n int) (int, error) {
		c.Total += n
		c.Adds++
		return c.Total, nil
	}))
}

func TestMethodsShareProperties(t *testing.T) {
	for _, fast := range []bool{true, false} {
		c, ctx := start(t, counterRegistry(), embedded.Options{DisableFastPath: !fast})
		h, err := client.Dispatch(ctx, c, counterRun, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{5, 7} {
			a, err := client.DispatchMethod(ctx, c, counterAdd, h.WorkflowID, n)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Await(ctx); err != nil {
				t.Fatalf("add %d: %v", n, err)
			}
		}
		if err := client.Signal(ctx, c, counterStop, h.WorkflowID, "now"); err != nil {
			t.Fatal(err)
		}
		got, err := h.Await(ctx)
		if err != nil || got.Total != 22 || got.Adds != 2 {
			t.Fatalf("counter = %+v, %v; want total 22 after 2 adds", got, err)
		}
		res, err := readResult(ctx, c, h.WorkflowID)
		if err != nil || res.State != "completed" || string(res.Value) != `{"total":22,"adds":2}` {
			t.Fatalf("result record = %+v, %v", res, err)
		}
		if _, err := client.DispatchMethod(ctx, c, counterAdd, h.WorkflowID, 1); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	childSleep = weft.NewWorkflow[int, int]("Sleeper", "run")
	parentWait = weft.NewWorkflow[int, int]("Waiter", "run")
)

func TestCancelCascadesToChildren(t *testing.T) {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, childSleep, func(ctx weft.Context, n int) (int, error) {
		return n, weft.Sleep(ctx, time.Hour)
	}))
	var childID atomic.Value
	weft.MustRegister(weft.RegisterWorkflow(reg, parentWait, func(ctx weft.Context, n int) (int, error) {
		d := weft.DispatchChild(ctx, childSleep, n)
		childID.Store(d.ID())
		return d.Await()
	}))
	c, ctx := start(t, reg, embedded.Options{})
	h, err := client.Dispatch(ctx, c, parentWait, 1)
	if err != nil {
		t.Fatal(err)
	}
	for childID.Load() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	child := client.Get(c, childSleep, childID.Load().(string))
	// Wait until the child is really running before cancelling the parent.
	for {
		if _, err := c.Describe(ctx, child.WorkflowID); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.Cancel(ctx, "Waiter", h.WorkflowID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Await(ctx); !errors.Is(err, weft.ErrWorkflowCanceled) {
		t.Fatalf("parent: %v, want canceled", err)
	}
	if _, err := child.Await(ctx); !errors.Is(err, weft.ErrWorkflowCanceled) {
		t.Fatalf("child: %v, want canceled by its parent", err)
	}
	// Answers are published before the state is written: poll the record.
	res, err := readResult(ctx, c, child.WorkflowID)
	if err != nil || res.State != "canceled" {
		t.Fatalf("child result = %+v, %v", res, err)
	}
}

var (
	fragile  = weft.NewTask[int, int]("Fragile", "run")
	recovers = weft.NewWorkflow[int, int]("Recovers", "run")
)

func TestRetryTasksResumesAFailedWorkflow(t *testing.T) {
	var healthy atomic.Bool
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, fragile, func(_ weft.TaskContext, n int) (int, error) {
		if !healthy.Load() {
			return 0, errors.New("downstream is down")
		}
		return n * 3, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, recovers, func(ctx weft.Context, n int) (int, error) {
		return weft.Call(ctx, fragile, n)
	}))
	c, ctx := start(t, reg, embedded.Options{})
	h, err := client.Dispatch(ctx, c, recovers, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Await(ctx); !errors.Is(err, weft.ErrTaskFailed) {
		t.Fatalf("first await: %v, want the task failure", err)
	}
	healthy.Store(true)
	if err := c.RetryTasks(ctx, "Recovers", h.WorkflowID, client.TaskFilter{}); err != nil {
		t.Fatal(err)
	}
	got, err := h.Await(ctx)
	if err != nil || got != 12 {
		t.Fatalf("after RetryTasks: %v, %v; want 12", got, err)
	}
}

var (
	events   = weft.NewChannel[Event]("Inbox", "events")
	inbox    = weft.NewWorkflow[int, []string]("Inbox", "collect")
	deadline = weft.NewWorkflow[int, string]("Deadline", "run")
)

// Event is a signal with a kind used by filters.
type Event struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
}

func TestSignalsFiltersAndLimits(t *testing.T) {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, inbox, func(ctx weft.Context, n int) ([]string, error) {
		urgent := weft.Receive(ctx, events, weft.Where("kind", "urgent"))
		rest := weft.Receive(ctx, events, weft.Limit(n))
		var got []string
		u, err := urgent.Await()
		if err != nil {
			return nil, err
		}
		got = append(got, "urgent:"+u.Text)
		for range n {
			e, err := rest.Await()
			if err != nil {
				return nil, err
			}
			got = append(got, e.Kind+":"+e.Text)
		}
		return got, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, deadline, func(ctx weft.Context, _ int) (string, error) {
		if err := weft.Sleep(ctx, 24*time.Hour); err != nil {
			return "", err
		}
		return "woke up at " + weft.Now(ctx).Format(time.RFC3339), nil
	}))
	c, ctx := start(t, reg, embedded.Options{})
	h, err := client.Dispatch(ctx, c, inbox, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Event{{"info", "a"}, {"urgent", "fire"}, {"info", "b"}, {"info", "c"}} {
		if err := client.Signal(ctx, c, events, h.WorkflowID, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := h.Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"urgent:fire", "info:a", "info:b"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("received %v, want %v (the third info exceeds the limit and is discarded)", got, want)
	}

	// CompleteTimers ends a day-long sleep at once.
	d, err := client.Dispatch(ctx, c, deadline, 0)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := c.Describe(ctx, d.WorkflowID); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if err := c.CompleteTimers(ctx, "Deadline", d.WorkflowID, ""); err != nil {
		t.Fatal(err)
	}
	if s, err := d.Await(ctx); err != nil || len(s) == 0 {
		t.Fatalf("deadline: %q, %v", s, err)
	}
}

// readResult polls until the instance's result record is written.
func readResult(ctx context.Context, c *client.Client, id string) (*client.Result, error) {
	for {
		res, err := c.ReadResult(ctx, id)
		if !errors.Is(err, client.ErrNotEnded) {
			return res, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
