package sim_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/sim"
)

var (
	double = weft.NewTask[int, int]("Math", "double")
	seq    = weft.NewWorkflow[int, int]("Seq", "run")
)

func seqRegistry(t testing.TB) *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, double, func(_ weft.TaskContext, n int) (int, error) { return n * 2, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, seq, func(ctx weft.Context, n int) (int, error) {
		for range 3 {
			v, err := weft.Call(ctx, double, n)
			if err != nil {
				return 0, err
			}
			n = v
		}
		return n, nil
	}))
	return reg
}

func dispatch(s *sim.Sim, workflow, method, id string, input any) {
	in, _ := json.Marshal(input)
	s.Send(core.Topic(core.PrefixWorkflowCmd, workflow), id, &core.DispatchWorkflow{
		WorkflowID: id, Workflow: workflow, Method: method, Input: in,
		Requester: &core.Requester{Client: "c1"}, ClientWaiting: true})
}

func TestSequentialTasks(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			s := sim.New(t, seqRegistry(t), sim.Options{FastPath: fast})
			dispatch(s, "Seq", "run", "w1", 3)
			s.Run()
			outs := s.Outcomes("w1")
			if len(outs) != 1 || outs[0].Kind != core.MethodCompleted || string(outs[0].Value) != "24" {
				t.Fatalf("outcomes = %+v", outs)
			}
			st := s.State("w1")
			if st == nil || st.Result == nil || st.Result.State != core.StateCompleted {
				t.Fatalf("state = %+v", st)
			}
			if len(s.DeadLetters) > 0 {
				t.Fatalf("dead letters: %+v", s.DeadLetters)
			}
		})
	}
}

// TestResultRecordRetention: an ended instance answers late waiters from its
// result record until the retention period passes, then it is unknown.
func TestResultRecordRetention(t *testing.T) {
	s := sim.New(t, seqRegistry(t), sim.Options{FastPath: true})
	dispatch(s, "Seq", "run", "w1", 1)
	s.Run()
	wait := func() *core.MethodOutcome {
		s.Responses = nil
		s.Send(core.Topic(core.PrefixWorkflowCmd, "Seq"), "w1", &core.WaitWorkflow{WorkflowID: "w1", Workflow: "Seq", MethodRunID: "w1", Client: "late"})
		s.Run()
		outs := s.Outcomes("w1")
		if len(outs) != 1 {
			t.Fatalf("late waiter got %d answers", len(outs))
		}
		return outs[0]
	}
	if o := wait(); o.Kind != core.MethodCompleted || string(o.Value) != "8" {
		t.Fatalf("within retention: %+v", o)
	}
	s.Advance(functions.DefaultRetention - time.Minute)
	if o := wait(); o.Kind != core.MethodCompleted {
		t.Fatalf("just before the end of retention: %+v", o)
	}
	s.Advance(2 * time.Minute)
	if o := wait(); o.Kind != core.MethodUnknown || !errors.Is(o.Error, weft.ErrWorkflowUnknown) {
		t.Fatalf("after retention: %+v, want unknown", o)
	}
}

// TestDuplicateDispatchDoesNotRestart: the same workflow id dispatched again
// after the end attaches to the result record instead of running again.
func TestDuplicateDispatchDoesNotRestart(t *testing.T) {
	s := sim.New(t, seqRegistry(t), sim.Options{FastPath: true})
	dispatch(s, "Seq", "run", "w1", 1)
	s.Run()
	tasks := s.Count("weft.executor.ExecuteTask")
	dispatch(s, "Seq", "run", "w1", 1)
	s.Run()
	if got := s.Count("weft.executor.ExecuteTask"); got != tasks {
		t.Fatalf("a second dispatch ran %d more tasks", got-tasks)
	}
	if outs := s.Outcomes("w1"); len(outs) != 2 || string(outs[1].Value) != "8" {
		t.Fatalf("outcomes = %+v", outs)
	}
}

// TestWaitForABufferedMethod: a client waiting for a method run whose
// dispatch is still buffered behind a running workflow task gets its
// outcome, not "unknown".
func TestWaitForABufferedMethod(t *testing.T) {
	run := weft.NewWorkflow[int, int]("Twice", "run")
	other := weft.NewWorkflow[int, int]("Twice", "other")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, run, func(ctx weft.Context, n int) (int, error) {
		return n, weft.Sleep(ctx, time.Hour)
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, other, func(ctx weft.Context, n int) (int, error) { return n + 1, nil }))
	s := sim.New(t, reg, sim.Options{FastPath: false})
	dispatch(s, "Twice", "run", "w1", 1)
	// Both arrive while the first workflow task is still running.
	s.Send(core.Topic(core.PrefixWorkflowCmd, "Twice"), "w1", &core.DispatchMethod{WorkflowID: "w1", Workflow: "Twice", MethodRunID: "m2", Method: "other", Input: []byte("5"), Requester: &core.Requester{Client: "c9"}})
	s.Send(core.Topic(core.PrefixWorkflowCmd, "Twice"), "w1", &core.WaitWorkflow{WorkflowID: "w1", Workflow: "Twice", MethodRunID: "m2", Client: "c9"})
	s.Run()
	var got []*core.MethodOutcome
	for _, o := range s.Outcomes("w1") {
		if o.MethodRunID == "m2" {
			got = append(got, o)
		}
	}
	if len(got) != 1 || got[0].Kind != core.MethodCompleted || string(got[0].Value) != "6" {
		t.Fatalf("outcomes for m2 = %+v", got)
	}
}

// TestTimedOutChildKeepsParentUntilItReports: a parent that stopped waiting
// for a child (caller-side timeout) and returned stays alive until the
// child reports, so the child's outcome is received and a cancel of the
// parent would still reach it.
func TestTimedOutChildKeepsParentUntilItReports(t *testing.T) {
	slow := weft.NewWorkflow[int, int]("SlowChild", "run")
	impatient := weft.NewWorkflow[int, int]("Impatient", "run")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, slow, func(ctx weft.Context, n int) (int, error) {
		return n, weft.Sleep(ctx, time.Hour)
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, impatient, func(ctx weft.Context, n int) (int, error) {
		v, err := weft.DispatchChild(ctx, slow, n, weft.Timeout(time.Minute)).Await()
		if errors.Is(err, weft.ErrWorkflowTimedOut) {
			return -1, nil
		}
		return v, err
	}))
	s := sim.New(t, reg, sim.Options{FastPath: true})
	dispatch(s, "Impatient", "run", "p1", 5)
	s.Run()
	s.Advance(2 * time.Minute)
	if outs := s.Outcomes("p1"); len(outs) != 1 || string(outs[0].Value) != "-1" {
		t.Fatalf("parent outcome %+v, want -1 after the timeout", outs)
	}
	if st := s.State("p1"); st == nil || st.Result != nil {
		t.Fatalf("the parent ended while its timed-out child still runs: %+v", st)
	}
	s.RunAll() // the child's hour passes; it reports to its parent
	if st := s.State("p1"); st == nil || st.Result == nil {
		t.Fatalf("the parent did not end once its child reported: %+v", st)
	}
}

// TestDuplicateSignalAfterItsReceiverEnded: a redelivered signal whose
// receiving method run has ended is not handed to a reception opened later.
func TestDuplicateSignalAfterItsReceiverEnded(t *testing.T) {
	ch := weft.NewChannel[int]("Inbox2", "in")
	main := weft.NewWorkflow[int, int]("Inbox2", "run")
	one := weft.NewWorkflow[int, int]("Inbox2", "takeOne")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, one, func(ctx weft.Context, _ int) (int, error) {
		return weft.Receive(ctx, ch).Await()
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, main, func(ctx weft.Context, _ int) (int, error) {
		if _, err := weft.DispatchMethod(ctx, one, weft.GetInfo(ctx).WorkflowID, 0).Await(); err != nil {
			return 0, err
		}
		return weft.Receive(ctx, ch).Await() // opened after takeOne ended
	}))
	for _, fast := range []bool{false, true} {
		s := sim.New(t, reg, sim.Options{FastPath: fast})
		dispatch(s, "Inbox2", "run", "w1", 0)
		s.Run()
		sig := func(id string, v int) {
			s.Send(core.Topic(core.PrefixWorkflowCmd, "Inbox2"), "w1", &core.SendSignal{WorkflowID: "w1", Workflow: "Inbox2", Channel: "in", SignalID: id, Data: []byte(fmt.Sprint(v))})
			s.Run()
		}
		sig("s1", 1) // takeOne receives it and ends
		sig("s1", 1) // a redelivery: must not reach the new reception
		sig("s2", 2)
		var got []string
		for _, o := range s.Outcomes("w1") {
			if o.MethodRunID == "w1" {
				got = append(got, string(o.Value))
			}
		}
		if len(got) != 1 || got[0] != "2" {
			t.Fatalf("fast=%v: main method got %v, want [2]", fast, got)
		}
	}
}
