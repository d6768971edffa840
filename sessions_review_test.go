package weft_test

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
)

var (
	revOK   = weft.NewTask[int, int]("Rev", "ok")
	revFail = weft.NewTask[int, int]("Rev", "fail")
	revWf   = weft.NewWorkflow[int, int]("RevTwo", "run")
)

// mustSame compares a session's result with a replay from the start of the
// same task, byte for byte.
func mustSame(t *testing.T, reg *weft.Registry, wt *core.ExecuteWorkflowTask, got core.Message) {
	t.Helper()
	want, _ := reg.RunWorkflowTask(wt)
	wb, _ := core.EncodeMessage(want)
	gb, _ := core.EncodeMessage(got)
	if !bytes.Equal(wb, gb) {
		t.Fatalf("resumed result differs from a replay from the start:\n want %s\n got  %s", wb, gb)
	}
}

func cmdByKind(t *testing.T, res core.Message, service, method string) *core.Command {
	t.Helper()
	for _, c := range res.(*core.WorkflowTaskCompleted).Commands {
		if c.Service == service && c.Method == method {
			return c
		}
	}
	t.Fatalf("no %s.%s command in %+v", service, method, res)
	return nil
}

// Two replicas (two Sessions): A runs task 1 and parks at step P; B runs
// task 2 (from P to Q, awaiting a task that then fails: Q stays the
// current, currently failed step). Task 3 goes to A: its run parked at P
// must not resume from P.
func TestReviewSessionsStaleParkedRunBehindACurrentlyFailedStep(t *testing.T) {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, revWf, func(ctx weft.Context, n int) (int, error) {
		if _, err := weft.Call(ctx, revOK, 1); err != nil { // step P
			return 0, err
		}
		if _, err := weft.Call(ctx, revFail, 2); err != nil { // step Q
			return -1, nil // caught
		}
		return 1, nil
	}))
	a, b := reg.NewSessions(0), reg.NewSessions(0)
	defer a.Close()
	defer b.Close()
	s, wt1 := applyAll(t, nil, "d", &core.DispatchWorkflow{WorkflowID: "w", Workflow: "RevTwo", Method: "run", Input: []byte("0")})
	res1, _ := a.RunWorkflowTask(wt1, nil) // A parks at P
	s, _ = applyAll(t, s, "wt1", res1)
	ok := cmdByKind(t, res1, "Rev", "ok")
	s, wt2 := applyAll(t, s, "r1", &core.CommandResult{Kind: core.TaskCompleted, Workflow: "RevTwo", WorkflowID: "w", MethodRunID: "w", CommandID: ok.ID, Value: []byte("1")})
	res2, _ := b.RunWorkflowTask(wt2, nil) // B goes from P to Q
	s, _ = applyAll(t, s, "wt2", res2)
	fail := cmdByKind(t, res2, "Rev", "fail")
	s, wt3 := applyAll(t, s, "r2", &core.CommandResult{Kind: core.TaskFailed, Workflow: "RevTwo", WorkflowID: "w", MethodRunID: "w", CommandID: fail.ID,
		Error: &core.Error{Code: core.CodeTaskFailed, Message: "boom"}})
	if wt3 == nil {
		t.Fatal("setup: no task after the failure")
	}
	res3, err := a.RunWorkflowTask(wt3, nil) // A: parked at P, the history is at Q
	if err != nil {
		t.Fatal(err)
	}
	mustSame(t, reg, wt3, res3)
}

// One Sessions: a late duplicate of task 1 arrives after task 2 ran (the
// run parks at P again), then task 3 (Q currently failed).
func TestReviewSessionsLateDuplicateThenCurrentlyFailedStep(t *testing.T) {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, revWf, func(ctx weft.Context, n int) (int, error) {
		if _, err := weft.Call(ctx, revOK, 1); err != nil {
			return 0, err
		}
		if _, err := weft.Call(ctx, revFail, 2); err != nil {
			return -1, nil
		}
		return 1, nil
	}))
	a := reg.NewSessions(0)
	defer a.Close()
	s, wt1 := applyAll(t, nil, "d", &core.DispatchWorkflow{WorkflowID: "w", Workflow: "RevTwo", Method: "run", Input: []byte("0")})
	dup1 := cloneTask(t, wt1) // as delivered
	res1, _ := a.RunWorkflowTask(wt1, nil)
	s, _ = applyAll(t, s, "wt1", res1)
	ok := cmdByKind(t, res1, "Rev", "ok")
	s, wt2 := applyAll(t, s, "r1", &core.CommandResult{Kind: core.TaskCompleted, Workflow: "RevTwo", WorkflowID: "w", MethodRunID: "w", CommandID: ok.ID, Value: []byte("1")})
	res2, _ := a.RunWorkflowTask(wt2, nil)
	s, _ = applyAll(t, s, "wt2", res2)
	a.RunWorkflowTask(dup1, nil) // late duplicate delivery of task 1 (its result is stale)
	fail := cmdByKind(t, res2, "Rev", "fail")
	s, wt3 := applyAll(t, s, "r2", &core.CommandResult{Kind: core.TaskFailed, Workflow: "RevTwo", WorkflowID: "w", MethodRunID: "w", CommandID: fail.ID,
		Error: &core.Error{Code: core.CodeTaskFailed, Message: "boom"}})
	res3, _ := a.RunWorkflowTask(wt3, nil)
	mustSame(t, reg, wt3, res3)
}

func cloneTask(t *testing.T, wt *core.ExecuteWorkflowTask) *core.ExecuteWorkflowTask {
	t.Helper()
	b, err := core.EncodeMessage(wt)
	if err != nil {
		t.Fatal(err)
	}
	m, err := core.DecodeMessage(core.Envelope{ID: "x", Type: wt.MessageType(), Data: b})
	if err != nil {
		t.Fatal(err)
	}
	return m.(*core.ExecuteWorkflowTask)
}

// A resumed run that overruns its workflow task timeout: the caller builds
// the timeout failure from the run's context while its goroutine, resumed,
// has just written to that context (park sets c.task). Run with -race.
func TestReviewSessionsTimeoutAfterResume(t *testing.T) {
	wf := weft.NewWorkflow[int, int]("RevSlow", "run")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, wf, func(ctx weft.Context, n int) (int, error) {
		if err := weft.Sleep(ctx, time.Minute); err != nil {
			return 0, err
		}
		time.Sleep(300 * time.Millisecond) // slow code after the resume
		return 1, nil
	}, weft.WithWorkflowTaskTimeout(100*time.Millisecond)))
	sess := reg.NewSessions(0)
	defer sess.Close()
	s, wt := applyAll(t, nil, "d", &core.DispatchWorkflow{WorkflowID: "sl", Workflow: "RevSlow", Method: "run", Input: []byte("0")})
	res, _ := sess.RunWorkflowTask(wt, nil)
	s, _ = applyAll(t, s, "wt1", res)
	timer := res.(*core.WorkflowTaskCompleted).Commands[0]
	s, wt = applyAll(t, s, "tm", &core.CommandResult{Kind: core.TimerCompleted, Workflow: "RevSlow", WorkflowID: "sl", MethodRunID: "sl", CommandID: timer.ID})
	res, _ = sess.RunWorkflowTask(wt, nil)
	if _, ok := res.(*core.WorkflowTaskFailed); !ok {
		t.Fatalf("result %#v, want the timeout failure", res)
	}
	time.Sleep(400 * time.Millisecond)
}

// Eviction (NewSessions(1)) with two runs interleaved, and Close while
// parked; then two runs driven concurrently on one Sessions. Every result is
// compared with a replay from the start.
func TestReviewSessionsEvictionCloseConcurrent(t *testing.T) {
	wf := weft.NewWorkflow[int, int]("RevEvict", "run")
	type P struct{ N []int }
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterMethod(reg, wf, func(p *P, ctx weft.Context, n int) (int, error) {
		for i := range n {
			v, err := weft.Call(ctx, revOK, i)
			if err != nil {
				return 0, err
			}
			p.N = append(p.N, v)
			if _, err := weft.Inline(ctx, func() (int, error) { return len(p.N), nil }); err != nil {
				return 0, err
			}
		}
		return len(p.N), nil
	}))
	drive := func(t *testing.T, sess *weft.Sessions, id string, steps int, between func(i int)) {
		s, wt := applyAll(t, nil, "d", &core.DispatchWorkflow{WorkflowID: id, Workflow: "RevEvict", Method: "run", Input: []byte("6")})
		for i := 0; wt != nil; i++ {
			snap := cloneTask(t, wt)
			res, err := sess.RunWorkflowTask(wt, nil)
			if err != nil {
				t.Error(err)
				return
			}
			want, _ := reg.RunWorkflowTask(snap)
			wb, _ := core.EncodeMessage(want)
			gb, _ := core.EncodeMessage(res)
			if !bytes.Equal(wb, gb) {
				t.Errorf("%s task %d:\n want %s\n got  %s", id, i, wb, gb)
				return
			}
			s, _ = applyAll(t, s, id+"wt"+string(rune('a'+i)), res)
			c, ok := res.(*core.WorkflowTaskCompleted)
			if !ok || c.Returned {
				return
			}
			var cmd *core.Command
			for _, x := range c.Commands {
				if x.Kind == core.KindTask {
					cmd = x
				}
			}
			if between != nil {
				between(i)
			}
			s, wt = applyAll(t, s, id+"r"+string(rune('a'+i)), &core.CommandResult{Kind: core.TaskCompleted, Workflow: "RevEvict", WorkflowID: id, MethodRunID: id, CommandID: cmd.ID, Value: []byte("3")})
		}
	}
	one := reg.NewSessions(1)
	done := make(chan bool)
	go func() { drive(t, one, "e1", 6, func(int) { done <- true; <-done }); close(done) }()
	for range done {
		drive(t, one, "e2", 6, nil) // evicts e1 every time
		done <- true
	}
	one.Close()
	many := reg.NewSessions(0)
	var wg sync.WaitGroup
	for _, id := range []string{"c1", "c2", "c3", "c4"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			drive(t, many, id, 6, func(i int) {
				if i == 2 && id == "c1" {
					many.Close()
				}
			})
		}()
	}
	wg.Wait()
}

type revErrA struct{}

func (revErrA) Error() string { return "same message" }

type revErrB struct{}

func (revErrB) Error() string { return "same message" }

// Two replicas run the same task, whose inline side effect fails with
// errors of different types but the same message; the second one's is
// recorded. The first one's parked code must not go on with its own error.
func TestReviewSessionsInlineErrorsThatPrintTheSame(t *testing.T) {
	var draws atomic.Int32
	wf := weft.NewWorkflow[int, int]("RevInlineErr", "run")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, wf, func(ctx weft.Context, _ int) (int, error) {
		_, ierr := weft.Inline(ctx, func() (int, error) {
			if draws.Add(1) == 1 {
				return 0, revErrA{}
			}
			return 0, revErrB{}
		})
		if _, err := weft.Call(ctx, revOK, 0); err != nil {
			return 0, err
		}
		return 0, ierr
	}))
	a, b := reg.NewSessions(0), reg.NewSessions(0)
	defer a.Close()
	defer b.Close()
	s, wt := applyAll(t, nil, "d", &core.DispatchWorkflow{WorkflowID: "ie", Workflow: "RevInlineErr", Method: "run", Input: []byte("0")})
	a.RunWorkflowTask(wt, nil)            // revErrA
	resB, _ := b.RunWorkflowTask(wt, nil) // revErrB: recorded
	s, _ = applyAll(t, s, "wt-b", resB)
	_, next := applyAll(t, s, "done", &core.CommandResult{Kind: core.TaskCompleted, Workflow: "RevInlineErr", WorkflowID: "ie", MethodRunID: "ie",
		CommandID: cmdByKind(t, resB, "Rev", "ok").ID, Value: []byte("0")})
	snap := cloneTask(t, next)
	final, _ := a.RunWorkflowTask(next, nil)
	mustSame(t, reg, snap, final)
}

func cloneState(t *testing.T, s *core.WorkflowState) *core.WorkflowState {
	t.Helper()
	b, err := core.EncodeState(s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := core.DecodeState(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Two state engines apply different messages to the same stored state
// (a signal on one, the timer on the other): both run the workflow task
// with index 2 through the Sessions, with different histories (the Or won
// by the signal, by the timer). The engine that ran second loses the
// versioned write, yet its parked run is the one kept; the run's next task
// resumes code that saw the losing history.
func TestReviewSessionsLosingEngineAttemptIsKept(t *testing.T) {
	wf := weft.NewWorkflow[int, int]("RevLose", "run")
	sig := weft.NewChannel[string]("RevLose", "sig")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, wf, func(ctx weft.Context, _ int) (int, error) {
		w, err := weft.Or(weft.Receive(ctx, sig), weft.Timer(ctx, time.Hour)).Await()
		if err != nil {
			return 0, err
		}
		if err := weft.Sleep(ctx, time.Minute); err != nil { // the same step whoever won
			return 0, err
		}
		return w, nil
	}))
	sess := reg.NewSessions(0)
	defer sess.Close()
	s, wt := applyAll(t, nil, "d", &core.DispatchWorkflow{WorkflowID: "lo", Workflow: "RevLose", Method: "run", Input: []byte("0")})
	res, _ := sess.RunWorkflowTask(wt, nil)
	s, _ = applyAll(t, s, "wt1", res)
	hour := res.(*core.WorkflowTaskCompleted).Commands[1]
	sA, sB := cloneState(t, s), cloneState(t, s)
	sA, wtA := applyAll(t, sA, "signal", &core.SendSignal{WorkflowID: "lo", Workflow: "RevLose", Channel: "sig", SignalID: "s1", Data: []byte(`"x"`)})
	_, wtB := applyAll(t, sB, "hour", &core.CommandResult{Kind: core.TimerCompleted, Workflow: "RevLose", WorkflowID: "lo", MethodRunID: "lo", CommandID: hour.ID})
	resA, _ := sess.RunWorkflowTask(wtA, nil) // engine A
	sess.RunWorkflowTask(wtB, nil)            // engine B, which will lose the write
	sA, _ = applyAll(t, sA, "wt2", resA)      // A's state is the one written
	minute := resA.(*core.WorkflowTaskCompleted).Commands[0]
	_, wt3 := applyAll(t, sA, "minute", &core.CommandResult{Kind: core.TimerCompleted, Workflow: "RevLose", WorkflowID: "lo", MethodRunID: "lo", CommandID: minute.ID})
	snap := cloneTask(t, wt3)
	final, _ := sess.RunWorkflowTask(wt3, nil)
	mustSame(t, reg, snap, final)
}

// The same workflow task delivered twice at once to one Sessions (two
// workers of one executor), at every step.
func TestReviewSessionsConcurrentDuplicates(t *testing.T) {
	wf := weft.NewWorkflow[int, int]("RevConc", "run")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, wf, func(ctx weft.Context, n int) (int, error) {
		total := 0
		for i := range n {
			v, err := weft.Call(ctx, revOK, i)
			if err != nil {
				return 0, err
			}
			total += v
		}
		return total, nil
	}))
	sess := reg.NewSessions(0)
	defer sess.Close()
	s, wt := applyAll(t, nil, "d", &core.DispatchWorkflow{WorkflowID: "cc", Workflow: "RevConc", Method: "run", Input: []byte("8")})
	for i := 0; wt != nil; i++ {
		snaps := []*core.ExecuteWorkflowTask{cloneTask(t, wt), cloneTask(t, wt), cloneTask(t, wt)}
		results := make([]core.Message, 2)
		var wg sync.WaitGroup
		for k := range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); results[k], _ = sess.RunWorkflowTask(snaps[k], nil) }()
		}
		wg.Wait()
		for _, r := range results {
			mustSame(t, reg, snaps[2], r)
		}
		s, _ = applyAll(t, s, fmt.Sprint("wt", i), results[0])
		c := results[0].(*core.WorkflowTaskCompleted)
		if c.Returned {
			break
		}
		s, wt = applyAll(t, s, fmt.Sprint("r", i), &core.CommandResult{Kind: core.TaskCompleted, Workflow: "RevConc", WorkflowID: "cc", MethodRunID: "cc", CommandID: c.Commands[0].ID, Value: []byte("2")})
	}
}
