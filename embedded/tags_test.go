package embedded_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

// Order waits for a "ship" signal and returns it with its start count.
var (
	orderRun  = weft.NewWorkflow[string, string]("Order", "run")
	orderShip = weft.NewChannel[string]("Order", "ship")
	// Shop starts two children with the same customId and returns both
	// answers.
	shopRun = weft.NewWorkflow[string, []string]("Shop", "run")
)

func tagRegistry(starts *atomic.Int32) *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, orderRun, func(ctx weft.Context, name string) (string, error) {
		if _, err := weft.Inline(ctx, func() (int32, error) { return starts.Add(1), nil }); err != nil {
			return "", err
		}
		how, err := weft.Receive(ctx, orderShip).Await()
		if err != nil {
			return "", err
		}
		return name + " shipped by " + how, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, shopRun, func(ctx weft.Context, custom string) ([]string, error) {
		a := weft.DispatchChild(ctx, orderRun, "first", weft.Tags("customId:"+custom, "shop"))
		b := weft.DispatchChild(ctx, orderRun, "second", weft.Tags("customId:"+custom, "shop"))
		va, err := a.Await()
		if err != nil {
			return nil, err
		}
		vb, err := b.Await()
		if err != nil {
			return nil, err
		}
		return []string{va, vb}, nil
	}))
	return reg
}

// eventually polls cond until it holds or the test's deadline nears.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func idsOf(t *testing.T, c *client.Client, ctx context.Context, workflow, tag string) []string {
	t.Helper()
	ids, err := c.WorkflowIDsByTag(ctx, workflow, tag)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestCustomIDFromClientsStartsOneInstance(t *testing.T) {
	var starts atomic.Int32
	c, ctx := start(t, tagRegistry(&starts), embedded.Options{})
	first, err := client.Dispatch(ctx, c, orderRun, "parcel", client.WithTags("customId:o-1", "region:eu"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "first instance tagged", func() bool { return len(idsOf(t, c, ctx, "Order", "customId:o-1")) == 1 })
	second, err := client.Dispatch(ctx, c, orderRun, "other parcel", client.WithTags("customId:o-1"))
	if err != nil {
		t.Fatal(err)
	}
	if ids := idsOf(t, c, ctx, "Order", "customId:o-1"); !slices.Equal(ids, []string{first.WorkflowID}) {
		t.Fatalf("customId ids = %v, want only %s", ids, first.WorkflowID)
	}
	// The other tags are added by the tag engine once the customId is won.
	eventually(t, "the other tag added", func() bool {
		return slices.Equal(idsOf(t, c, ctx, "Order", "region:eu"), []string{first.WorkflowID})
	})
	if err := c.SignalByTag(ctx, "Order", "customId:o-1", "ship", "", json.RawMessage(`"truck"`)); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*client.Handle[string]{first, second} {
		got, err := h.Await(ctx)
		if err != nil || got != "parcel shipped by truck" {
			t.Errorf("await %s = %q, %v; want the running instance's result", h.WorkflowID, got, err)
		}
	}
	if n := starts.Load(); n != 1 {
		t.Errorf("%d instances started, want 1", n)
	}
	eventually(t, "tags removed when the instance ends", func() bool {
		return len(idsOf(t, c, ctx, "Order", "customId:o-1")) == 0 && len(idsOf(t, c, ctx, "Order", "region:eu")) == 0
	})

	// The value is free again: a new dispatch starts a new instance.
	third, err := client.Dispatch(ctx, c, orderRun, "later parcel", client.WithTags("customId:o-1"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "third instance tagged", func() bool {
		return slices.Equal(idsOf(t, c, ctx, "Order", "customId:o-1"), []string{third.WorkflowID})
	})
	if err := c.SignalByTag(ctx, "Order", "customId:o-1", "ship", "", json.RawMessage(`"bike"`)); err != nil {
		t.Fatal(err)
	}
	if got, err := third.Await(ctx); err != nil || got != "later parcel shipped by bike" {
		t.Errorf("third = %q, %v", got, err)
	}
	if n := starts.Load(); n != 2 {
		t.Errorf("%d instances started in all, want 2", n)
	}
}

func TestCustomIDFromAWorkflowAttachesTheParent(t *testing.T) {
	var starts atomic.Int32
	c, ctx := start(t, tagRegistry(&starts), embedded.Options{})
	h, err := client.Dispatch(ctx, c, shopRun, "s-1")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "one child started", func() bool { return starts.Load() == 1 && len(idsOf(t, c, ctx, "Order", "shop")) == 1 })
	if err := c.SignalByTag(ctx, "Order", "customId:s-1", "ship", "", json.RawMessage(`"post"`)); err != nil {
		t.Fatal(err)
	}
	got, err := h.Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Both children are the same instance: whichever dispatch won, both
	// awaits get its result.
	if len(got) != 2 || got[0] != got[1] {
		t.Errorf("parent got %q, want one result twice", got)
	}
	if n := starts.Load(); n != 1 {
		t.Errorf("%d children started, want 1", n)
	}
}

func TestByTagCommandsReachEveryInstance(t *testing.T) {
	var starts atomic.Int32
	c, ctx := start(t, tagRegistry(&starts), embedded.Options{})
	const n = 30
	var hs []*client.Handle[string]
	for i := range n {
		tag := "wave:a"
		if i%2 == 1 {
			tag = "wave:b"
		}
		h, err := client.Dispatch(ctx, c, orderRun, fmt.Sprint("p", i), client.WithTags(tag, "all"))
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	eventually(t, "every instance tagged", func() bool { return len(idsOf(t, c, ctx, "Order", "all")) == n })
	if err := c.SignalByTag(ctx, "Order", "wave:a", "ship", "", json.RawMessage(`"air"`)); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelByTag(ctx, "Order", "wave:b"); err != nil {
		t.Fatal(err)
	}
	for i, h := range hs {
		got, err := h.Await(ctx)
		if i%2 == 0 {
			if want := fmt.Sprint("p", i, " shipped by air"); err != nil || got != want {
				t.Errorf("instance %d = %q, %v; want %q", i, got, err, want)
			}
		} else if !errors.Is(err, weft.ErrWorkflowCanceled) {
			t.Errorf("instance %d = %q, %v; want canceled", i, got, err)
		}
	}
	eventually(t, "every tag removed", func() bool { return len(idsOf(t, c, ctx, "Order", "all")) == 0 })
}

func TestTwoCustomIDTagsAreABadInput(t *testing.T) {
	var starts atomic.Int32
	c, ctx := start(t, tagRegistry(&starts), embedded.Options{})
	_, err := client.Dispatch(ctx, c, orderRun, "x", client.WithTags("customId:a", "customId:b"))
	var we *weft.Error
	if !errors.As(err, &we) || we.Code != "bad_input" {
		t.Errorf("dispatch with two customId tags: %v, want a bad_input error", err)
	}
}

var (
	packTask = weft.NewTask[int, int]("Packing", "pack")
	packFlow = weft.NewWorkflow[int, int]("Pack", "run")
)

// TestTaskTags checks a tagged task is listed under its tag while it runs,
// leaves the tag when it completes, and keeps it when it fails.
func TestTaskTags(t *testing.T) {
	release := make(chan struct{})
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, packTask, func(ctx weft.TaskContext, n int) (int, error) {
		if n < 0 {
			return 0, weft.NonRetryable(errors.New("nothing to pack"))
		}
		<-release
		return n * 2, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, packFlow, func(ctx weft.Context, n int) (int, error) {
		return weft.Call(ctx, packTask, n, weft.Tags("batch:7"))
	}))
	c, ctx := start(t, reg, embedded.Options{})
	h, err := client.Dispatch(ctx, c, packFlow, 21)
	if err != nil {
		t.Fatal(err)
	}
	taskIDs := func() []string {
		ids, err := c.TaskIDsByTag(ctx, "Packing", "batch:7")
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	eventually(t, "the running task listed under its tag", func() bool { return len(taskIDs()) == 1 })
	close(release)
	if got, err := h.Await(ctx); err != nil || got != 42 {
		t.Fatalf("workflow = %d, %v", got, err)
	}
	eventually(t, "the completed task leaves its tag", func() bool { return len(taskIDs()) == 0 })

	if _, err := client.Run(ctx, c, packFlow, -1); !errors.Is(err, weft.ErrTaskFailed) {
		t.Fatalf("failing task: %v", err)
	}
	// The failure is recorded after the tag was added (same order of
	// messages on the tag's key), so the tag is there by now or soon.
	eventually(t, "the failed task keeps its tag", func() bool { return len(taskIDs()) == 1 })
}

var coordinator = weft.NewWorkflow[string, string]("Coordinator", "run")

// TestByTagFromAWorkflow: a workflow signals every instance of one tag and
// cancels every instance of another, and runs a method on every instance
// of a third, through the tag engine.
func TestByTagFromAWorkflow(t *testing.T) {
	var starts atomic.Int32
	reg := tagRegistry(&starts)
	weft.MustRegister(weft.RegisterWorkflow(reg, coordinator, func(ctx weft.Context, how string) (string, error) {
		if err := weft.SendByTag(ctx, orderShip, "lane:fast", how); err != nil {
			return "", err
		}
		if err := weft.CancelByTag(ctx, "Order", "lane:stopped"); err != nil {
			return "", err
		}
		if err := weft.DispatchMethodByTag(ctx, counterAdd, "counters", 5); err != nil {
			return "", err
		}
		return "sent", nil
	}))
	registerCounter(reg)
	c, ctx := start(t, reg, embedded.Options{})
	fast, err := client.Dispatch(ctx, c, orderRun, "f", client.WithTags("lane:fast"))
	if err != nil {
		t.Fatal(err)
	}
	stopped, err := client.Dispatch(ctx, c, orderRun, "s", client.WithTags("lane:stopped"))
	if err != nil {
		t.Fatal(err)
	}
	counter, err := client.Dispatch(ctx, c, counterRun, 10, client.WithTags("counters"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "instances tagged", func() bool {
		return len(idsOf(t, c, ctx, "Order", "lane:fast")) == 1 && len(idsOf(t, c, ctx, "Order", "lane:stopped")) == 1 &&
			len(idsOf(t, c, ctx, "Counter", "counters")) == 1
	})
	if got, err := client.Run(ctx, c, coordinator, "drone"); err != nil || got != "sent" {
		t.Fatalf("coordinator: %q, %v", got, err)
	}
	if got, err := fast.Await(ctx); err != nil || got != "f shipped by drone" {
		t.Errorf("signalled by tag: %q, %v", got, err)
	}
	if _, err := stopped.Await(ctx); !errors.Is(err, weft.ErrWorkflowCanceled) {
		t.Errorf("cancelled by tag: %v", err)
	}
	eventually(t, "the method ran on the counter", func() bool {
		raw, err := c.Describe(ctx, counter.WorkflowID)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(raw), `"name": "add"`)
	})
	if err := client.Signal(ctx, c, counterStop, counter.WorkflowID, "stop"); err != nil {
		t.Fatal(err)
	}
	if got, err := counter.Await(ctx); err != nil || got.Total != 15 || got.Adds != 1 {
		t.Errorf("counter = %+v, %v; want total 15 after one add by tag", got, err)
	}
}

// TestAwaitingACustomIDDispatchGetsItsOwnInstance: a handle awaited after
// its instance ended and another one took the customId gets its own
// instance's result.
func TestAwaitingACustomIDDispatchGetsItsOwnInstance(t *testing.T) {
	var starts atomic.Int32
	c, ctx := start(t, tagRegistry(&starts), embedded.Options{})
	first, err := client.Dispatch(ctx, c, orderRun, "first", client.WithTags("customId:k"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "first tagged", func() bool { return len(idsOf(t, c, ctx, "Order", "customId:k")) == 1 })
	if err := c.SignalByTag(ctx, "Order", "customId:k", "ship", "", json.RawMessage(`"van"`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "first ended", func() bool { return len(idsOf(t, c, ctx, "Order", "customId:k")) == 0 })
	if _, err := client.Dispatch(ctx, c, orderRun, "second", client.WithTags("customId:k")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "second running", func() bool { return len(idsOf(t, c, ctx, "Order", "customId:k")) == 1 })
	if got, err := first.Await(ctx); err != nil || got != "first shipped by van" {
		t.Errorf("first = %q, %v; want its own result, not the running instance's", got, err)
	}
}
