package weft_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// workflowTask builds the first workflow task of a method run.
func workflowTask(t testing.TB, workflow, method string, input any) *core.ExecuteWorkflowTask {
	t.Helper()
	return &core.ExecuteWorkflowTask{TaskID: "wt-1", WorkflowID: "w-1", Workflow: workflow, Index: 1, Trigger: epoch,
		Method: &core.MethodRun{ID: "w-1", Name: method, Input: json.RawMessage(mustJSON(t, input)), IndexAtStart: 1}}
}

func runWorkflowTask(t *testing.T, r *weft.Registry, wt *core.ExecuteWorkflowTask) core.Message {
	t.Helper()
	msg, err := r.RunWorkflowTask(wt)
	if err != nil {
		t.Fatalf("RunWorkflowTask: %v", err)
	}
	return msg
}

func taskFailed(t *testing.T, msg core.Message) *core.WorkflowTaskFailed {
	t.Helper()
	f, ok := msg.(*core.WorkflowTaskFailed)
	if !ok {
		t.Fatalf("result %T %+v, want a WorkflowTaskFailed", msg, msg)
	}
	if f.Error == nil || f.TaskID != "wt-1" || f.WorkflowID != "w-1" {
		t.Fatalf("failure does not identify its task: %+v", f)
	}
	return f
}

func taskCompleted(t *testing.T, msg core.Message) *core.WorkflowTaskCompleted {
	t.Helper()
	c, ok := msg.(*core.WorkflowTaskCompleted)
	if !ok {
		if f, isF := msg.(*core.WorkflowTaskFailed); isF {
			t.Fatalf("workflow task failed: %v", f.Error)
		}
		t.Fatalf("result %T, want a WorkflowTaskCompleted", msg)
	}
	return c
}

// executorError checks a failure is an executor error mentioning all of texts.
func executorError(t *testing.T, f *core.WorkflowTaskFailed, texts ...string) {
	t.Helper()
	var err error = f.Error
	if !errors.Is(err, weft.ErrExecutorError) || !errors.Is(err, weft.ErrWorkflowFailed) {
		t.Fatalf("error %v (%s), want a workflow failure caused by an executor error", err, codes(err))
	}
	for _, s := range texts {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func TestWorkflowPanicFailsTheTask(t *testing.T) {
	t.Parallel()
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Crash", "run"), func(ctx weft.Context, n int) (int, error) {
		panic(fmt.Sprintf("kaboom %d", n))
	}))
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Crash", "afterCommand"), func(ctx weft.Context, n int) (int, error) {
		weft.Dispatch(ctx, weft.NewTask[int, int]("S", "m"), n)
		var p *struct{ X int }
		return p.X, nil // nil dereference after a command
	}))
	f := taskFailed(t, runWorkflowTask(t, r, workflowTask(t, "Crash", "run", 7)))
	executorError(t, f, "panicked", "kaboom 7")
	f = taskFailed(t, runWorkflowTask(t, r, workflowTask(t, "Crash", "afterCommand", 7)))
	executorError(t, f, "panicked", "nil pointer dereference")
	if f.Error.Workflow != "Crash" || f.Error.Method != "afterCommand" || f.Error.MethodRunID != "w-1" {
		t.Errorf("error %+v does not name the method run", f.Error)
	}
}

func TestWorkflowCallingGoexitIsAnExecutorError(t *testing.T) {
	t.Parallel()
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Quitter", "run"), func(ctx weft.Context, n int) (int, error) {
		runtime.Goexit()
		return n, nil
	}))
	executorError(t, taskFailed(t, runWorkflowTask(t, r, workflowTask(t, "Quitter", "run", 1))), "Goexit")
}

// TestRecoverCannotSwallowSuspension: user code that recovers panics still
// suspends at an undecided step instead of running on.
func TestRecoverCannotSwallowSuspension(t *testing.T) {
	t.Parallel()
	var after atomic.Bool
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Sneaky", "run"), func(ctx weft.Context, n int) (v int, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("recovered %v", p)
			}
		}()
		v, err = weft.Call(ctx, weft.NewTask[int, int]("S", "m"), n)
		after.Store(true)
		return v, err
	}))
	c := taskCompleted(t, runWorkflowTask(t, r, workflowTask(t, "Sneaky", "run", 1)))
	if c.Returned || c.Step == nil || len(c.Commands) != 1 || after.Load() {
		t.Fatalf("result %+v (ran on: %v), want a suspension at the task's step", c, after.Load())
	}
}

func TestWorkflowTaskTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	exited := make(chan struct{})
	var ranOn atomic.Bool
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Stuck", "run"), func(ctx weft.Context, n int) (int, error) {
		defer close(exited)
		select { // stands for a blocking call the workflow should not make
		case <-release:
		case <-time.After(time.Minute):
		}
		// Abandoned: the next weft call must stop the goroutine.
		v, err := weft.Call(ctx, weft.NewTask[int, int]("S", "m"), n)
		ranOn.Store(true)
		return v, err
	}, weft.WithWorkflowTaskTimeout(50*time.Millisecond)))
	f := taskFailed(t, runWorkflowTask(t, r, workflowTask(t, "Stuck", "run", 1)))
	executorError(t, f, "did not finish within 50ms")
	close(release)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the abandoned workflow goroutine did not stop at its next weft call")
	}
	if ranOn.Load() {
		t.Fatal("abandoned workflow code ran past a weft call")
	}
}

var (
	verRun = weft.NewWorkflow[int, weft.Info]("Versioned", "run")
)

func versionedRegistry() *weft.Registry {
	r := weft.NewRegistry()
	for _, v := range []int{2, 1} { // registration order does not matter
		weft.MustRegister(weft.RegisterWorkflow(r, verRun, func(ctx weft.Context, n int) (weft.Info, error) {
			return weft.GetInfo(ctx), nil
		}, weft.WithVersion(v)))
	}
	return r
}

func TestVersionsNewInstancesRunTheLatest(t *testing.T) {
	t.Parallel()
	r := versionedRegistry()
	cases := []struct {
		pinned  bool
		version int
		want    int
	}{
		{false, 0, 2}, // new instance: highest version
		{false, 1, 2}, // not pinned: CodeVersion is not a request
		{true, 1, 1},  // pinned instances stay on their version
		{true, 2, 2},
	}
	for _, c := range cases {
		wt := workflowTask(t, "Versioned", "run", 0)
		wt.Pinned, wt.CodeVersion = c.pinned, c.version
		if !r.HasWorkflowCode(wt) {
			t.Fatalf("%+v: HasWorkflowCode = false", c)
		}
		done := taskCompleted(t, runWorkflowTask(t, r, wt))
		var info weft.Info
		if err := json.Unmarshal(done.Value, &info); err != nil {
			t.Fatal(err)
		}
		if done.CodeVersion != c.want || info.Version != c.want {
			t.Errorf("pinned=%v version=%d: ran version %d (reported %d), want %d", c.pinned, c.version, info.Version, done.CodeVersion, c.want)
		}
	}
}

func TestUnregisteredCode(t *testing.T) {
	t.Parallel()
	r := versionedRegistry()
	pinned := workflowTask(t, "Versioned", "run", 0)
	pinned.Pinned, pinned.CodeVersion = true, 3
	cases := map[string]struct {
		wt   *core.ExecuteWorkflowTask
		want []string
	}{
		"unknown pinned version": {pinned, []string{"version 3", "[1 2]"}},
		"unknown method":         {workflowTask(t, "Versioned", "other", 0), []string{"other", "version 2"}},
		"unknown workflow":       {workflowTask(t, "Ghost", "run", 0), []string{"Ghost"}},
	}
	for name, c := range cases {
		if r.HasWorkflowCode(c.wt) {
			t.Errorf("%s: HasWorkflowCode = true", name)
		}
		msg, err := r.RunWorkflowTask(c.wt)
		if !errors.Is(err, weft.ErrNotRegistered) {
			t.Fatalf("%s: error %v, want not registered", name, err)
		}
		f := taskFailed(t, msg)
		if !errors.Is(f.Error, weft.ErrWorkflowFailed) || !errors.Is(f.Error, weft.ErrNotRegistered) {
			t.Errorf("%s: callers are told %v (%s), want a workflow failure caused by a missing registration", name, f.Error, codes(f.Error))
		}
		for _, s := range c.want {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not mention %q", name, err, s)
			}
		}
	}
}

// TestOptionsOfLaterMethodsOfAVersion: a version's options are given per
// registration; a second method of the same version registered with another
// check mode must either be rejected or run under the mode it asked for.
func TestOptionsOfLaterMethodsOfAVersion(t *testing.T) {
	t.Parallel()
	task := weft.NewTask[int, int]("S", "m")
	body := func(ctx weft.Context, n int) (int, error) { return weft.Call(ctx, task, n) }
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Mixed", "a"), body))
	err := weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Mixed", "b"), body, weft.WithCheckMode(core.CheckStrict))
	if err != nil {
		return // rejected: fine
	}
	// History: the task was dispatched with input 1; the code now sends 2.
	wt := workflowTask(t, "Mixed", "b", 2)
	wt.Method.Commands = []*core.Command{{ID: "cmd-0", Position: 0, Kind: core.KindTask, Name: "S.m", Service: "S", Method: "m", Input: json.RawMessage("1")}}
	msg := runWorkflowTask(t, r, wt)
	if f, ok := msg.(*core.WorkflowTaskFailed); ok && errors.Is(f.Error, weft.ErrWorkflowChanged) {
		return // strict, as asked
	}
	t.Fatal("a later method of a version asked for strict checks and runs under simple")
}
