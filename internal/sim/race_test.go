package sim_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
)

// Two state engines over one storage apply messages to the same instance
// at the same moment (serverless runtimes give no per-key order): the
// first loads the state and applies its message; before it writes, the
// second applies another message and writes; the first's write conflicts
// and it handles its message again. Every pair of message kinds that can
// reach one waiting instance races so, in the same millisecond of the fake
// clock, on both paths. Then:
//   - nothing a losing attempt computed is published: every output of a
//     state engine agrees, when it goes out, with the stored state (a task
//     or workflow task dispatched is recorded as running, a tag released
//     or a completion reported belongs to an ended instance, an answer to
//     a run that ended so);
//   - every state written replays identically against the code (strict);
//   - the instance ends, and nothing is dead-lettered.

var (
	racerTask = weft.NewTask[int, int]("Racer", "work", weft.WithTimeout(time.Minute))
	racerSig  = weft.NewChannel[int]("Racer", "sig")
	racerRun  = weft.NewWorkflow[int, int]("Racer", "run")
	racerPoke = weft.NewWorkflow[int, int]("Racer", "poke")
	racerFail atomic.Bool
)

func racerRegistry() *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, racerTask, func(_ weft.TaskContext, n int) (int, error) {
		if racerFail.Load() {
			return 0, fmt.Errorf("raceRun task failed")
		}
		return n + 1, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, racerRun, func(ctx weft.Context, n int) (int, error) {
		work := weft.Dispatch(ctx, racerTask, n)
		sig := weft.Receive(ctx, racerSig)
		timer := weft.Timer(ctx, time.Hour)
		i, err := weft.Or(work, sig, timer).Await()
		if err != nil {
			return -1, nil // every child failed: a result all the same
		}
		if work.Status() == core.StateCompleted {
			i += 10
		}
		if _, err := weft.Call(ctx, racerTask, 100+i); err != nil {
			return -2, nil
		}
		return i, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, racerPoke, func(ctx weft.Context, n int) (int, error) { return n, nil }))
	return reg
}

// raceKinds name the messages that can reach the waiting instance.
var raceKinds = []string{"task-completed", "task-failed", "task-timed-out", "timer", "signal", "method", "cancel",
	"retry-workflow-task", "retry-tasks", "complete-timers", "wait", "dispatch-again"}

// writtenStore records every state written.
type writtenStore struct {
	storage.KeyValue
	hook   func()
	states [][]byte
}

func (w *writtenStore) Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error) {
	if f := w.hook; f != nil {
		w.hook = nil
		f()
	}
	v, err := w.KeyValue.Put(ctx, key, value, expected, ttl)
	if err == nil {
		w.states = append(w.states, value)
	}
	return v, err
}

type raceRun struct {
	t     *testing.T
	s     *sim.Sim
	store *writtenStore
	held  []core.Envelope // the first task's ExecuteTask, not run yet
}

// newRacer dispatches the instance and runs it to its Or, the task held.
func newRacer(t *testing.T, fast bool) *raceRun {
	r := &raceRun{t: t}
	r.store = &writtenStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return r.s.Now }))}
	r.s = sim.New(t, racerRegistry(), sim.Options{FastPath: fast, Store: r.store, Events: true})
	r.s.OnPublish = r.checkPublished
	r.s.Send(core.Topic(core.PrefixWorkflowCmd, "Racer"), "r1", &core.DispatchWorkflow{WorkflowID: "r1", Workflow: "Racer", Method: "run",
		Input: []byte("1"), Tags: []string{"customId:race"}, Requester: &core.Requester{Client: "c1"}, ClientWaiting: true})
	r.held = runHoldingTasks(r.s)
	if len(r.held) != 1 || len(r.s.Delayed) != 2 {
		t.Fatalf("setup: %d tasks held, %d delayed", len(r.held), len(r.s.Delayed))
	}
	return r
}

// message builds (or takes out of the queues) the message of a kind, at
// the current instant.
func (r *raceRun) message(kind string) core.Envelope {
	s := r.s
	send := func(m core.Message) core.Envelope {
		env := s.Send(core.Topic(core.PrefixWorkflowCmd, "Racer"), "r1", m)
		s.Queue = s.Queue[:len(s.Queue)-1]
		return env
	}
	delayed := func(k core.ResultKind) core.Envelope {
		for i, env := range s.Delayed {
			m, err := core.DecodeMessage(env)
			if err != nil {
				r.t.Fatal(err)
			}
			if res, ok := m.(*core.CommandResult); ok && res.Kind == k {
				s.Delayed = slices.Delete(s.Delayed, i, i+1)
				// Delivered now, as a due delayed message forwarded to the
				// instance's engine topic.
				env.Topic = core.Topic(core.PrefixWorkflowEngine, "Racer")
				env.SetDeliverAt(time.Time{})
				env.Time = s.Now
				return env
			}
		}
		r.t.Fatalf("no delayed %s", k)
		return core.Envelope{}
	}
	switch kind {
	case "task-completed", "task-failed":
		racerFail.Store(kind == "task-failed")
		defer racerFail.Store(false)
		if len(r.held) == 0 {
			r.t.Fatal("the task ran already")
		}
		res, err := s.Executor.Handle(context.Background(), r.held[0])
		r.held = nil
		if err != nil || len(res.Outputs) != 1 {
			r.t.Fatalf("running the task: %v, %+v", err, res.Outputs)
		}
		return res.Outputs[0]
	case "task-timed-out":
		return delayed(core.TaskTimedOut)
	case "timer":
		return delayed(core.TimerCompleted)
	case "signal":
		return send(&core.SendSignal{WorkflowID: "r1", Workflow: "Racer", Channel: "sig", SignalID: "sig-1", Data: []byte("7")})
	case "method":
		return send(&core.DispatchMethod{WorkflowID: "r1", Workflow: "Racer", MethodRunID: "poke-1", Method: "poke", Input: []byte("3"),
			Requester: &core.Requester{Client: "c2"}, ClientWaiting: true})
	case "cancel":
		return send(&core.CancelWorkflow{WorkflowID: "r1", Workflow: "Racer", Reason: core.ReasonCanceledByClient})
	case "retry-workflow-task":
		return send(&core.RetryWorkflowTask{WorkflowID: "r1", Workflow: "Racer"})
	case "retry-tasks":
		return send(&core.RetryTasks{WorkflowID: "r1", Workflow: "Racer"})
	case "complete-timers":
		return send(&core.CompleteTimers{WorkflowID: "r1", Workflow: "Racer"})
	case "wait":
		return send(&core.WaitWorkflow{WorkflowID: "r1", Workflow: "Racer", MethodRunID: "r1", Client: "c3"})
	case "dispatch-again":
		return send(&core.DispatchWorkflow{WorkflowID: "r1", Workflow: "Racer", Method: "run", Input: []byte("1"), Tags: []string{"customId:race"},
			Requester: &core.Requester{Client: "c4"}, ClientWaiting: true})
	}
	r.t.Fatalf("unknown kind %s", kind)
	return core.Envelope{}
}

// race handles a on one engine and, between its load and its write, b on
// another engine.
func (r *raceRun) race(a, b core.Envelope) {
	other := r.s.OtherEngine()
	raced := false
	r.store.hook = func() { raced = true; r.s.HandleOn(other, b) }
	r.s.HandleOn(r.s.Engine, a)
	if !raced { // a wrote nothing: b comes right after
		r.store.hook = nil
		r.s.HandleOn(other, b)
	}
}

// finish lets the instance run to its end: the held task runs, timers fire.
func (r *raceRun) finish() {
	r.s.Queue = append(r.s.Queue, r.held...) // sent before, delivered now
	r.held = nil
	r.s.RunAll()
}

// checkPublished: an output of a state engine agrees with the stored
// state as it goes out (right after the write that recorded it).
func (r *raceRun) checkPublished(s *sim.Sim, env core.Envelope) {
	if env.Source != "weft/state-engine" {
		return
	}
	m, err := core.DecodeMessage(env)
	if err != nil {
		r.t.Errorf("published %s does not decode: %v", env.Type, err)
		return
	}
	st := s.State("r1")
	bad := func(why string) {
		r.t.Errorf("published %s %s: %s; stored state %s", env.Type, env.ID, why, describe(st))
	}
	live := st != nil && st.Result == nil
	switch m := m.(type) {
	case *core.ExecuteTask:
		// (An instance may end in the very change that dispatched a task:
		// a buffered cancel after the workflow task asking for it.)
		if _, c := st.FindCommand(m.TaskID); st == nil || (live && (c == nil || c.RetrySeq != m.RetrySeq || c.Latest().State != core.StateOngoing)) {
			bad("the task is not recorded as running")
		}
	case *core.ExecuteWorkflowTask:
		if !live || st.Running == nil || st.Running.ID != m.TaskID {
			bad("the workflow task is not the one recorded as running")
		}
	case *core.RemoveTagFromWorkflow:
		if st == nil || st.Result == nil {
			bad("a tag is released while the instance runs")
		}
	case *core.Event:
		if (m.Kind == core.EventWorkflowCompleted || m.Kind == core.EventWorkflowCanceled) && (st == nil || st.Result == nil) {
			bad("the instance is reported ended while it runs")
		}
	case *core.MethodOutcome:
		run, ended := st.Method(m.MethodRunID), st.EndedMethod(m.MethodRunID)
		switch m.Kind {
		case core.MethodCompleted:
			if (run == nil || !run.Returned) && (ended == nil || ended.State != core.StateCompleted) {
				bad("the run is answered completed but did not return")
			}
		case core.MethodFailed:
			if (run == nil || run.Failure == nil) && (ended == nil || ended.State == core.StateCompleted) {
				bad("the run is answered failed but is not")
			}
		case core.MethodCanceled:
			if ended == nil || ended.State != core.StateCanceled {
				bad("the run is answered canceled but is not")
			}
		}
	case *core.CommandResult:
		if env.DeliverAt != "" {
			if _, c := st.FindCommand(m.CommandID); st == nil || (live && c == nil) {
				bad("a timeout or timer for a command not recorded")
			}
		}
	}
}

func describe(st *core.WorkflowState) string {
	if st == nil {
		return "none"
	}
	if st.Result != nil {
		return "ended " + string(st.Result.State)
	}
	running := ""
	if st.Running != nil {
		running = " running " + st.Running.ID
	}
	return fmt.Sprintf("live, %d method runs,%s", len(st.Methods), running)
}

// checkRun: the instance ended, nothing was dead-lettered, and every state
// written replays identically against the code.
func (r *raceRun) checkRun(reg *weft.Registry) {
	t, s := r.t, r.s
	if len(s.DeadLetters) > 0 {
		t.Errorf("dead letters: %+v", s.DeadLetters)
	}
	if st := s.State("r1"); st == nil || st.Result == nil {
		t.Errorf("the instance did not end: %s", describe(st))
	}
	var live []*core.WorkflowState
	for _, b := range r.store.states {
		st, err := core.DecodeState(b)
		if err != nil {
			t.Fatal(err)
		}
		if st.Result == nil {
			live = append(live, st)
		}
	}
	if rep := reg.CheckReplay(live...); !rep.OK() {
		t.Errorf("a written state does not replay: %+v", rep.Problems)
	}
}

func TestTwoEnginesRaceOnOneInstance(t *testing.T) {
	reg := racerRegistry()
	for _, fast := range []bool{false, true} {
		for _, a := range raceKinds {
			for _, b := range raceKinds {
				if a == b || (a == "task-completed" && b == "task-failed") || (a == "task-failed" && b == "task-completed") {
					continue // one task result per attempt
				}
				t.Run(fmt.Sprintf("fast=%v/%s+%s", fast, a, b), func(t *testing.T) {
					r := newRacer(t, fast)
					r.race(r.message(a), r.message(b))
					r.finish()
					r.checkRun(reg)
				})
			}
		}
	}
}

// TestTwoEnginesRaceWithAWorkflowTaskResult: on the broker path, the
// result of the running workflow task races with each other kind.
func TestTwoEnginesRaceWithAWorkflowTaskResult(t *testing.T) {
	reg := racerRegistry()
	for _, b := range raceKinds {
		if b == "task-completed" || b == "task-failed" || b == "timer" {
			continue // the task result and the timer decide the step itself
		}
		for _, first := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/result first=%v", b, first), func(t *testing.T) {
				r := newRacer(t, false)
				// The signal decides the Or: the second workflow task runs.
				r.s.Handle(r.message("signal"))
				var wt *core.Envelope
				for i, env := range r.s.Queue {
					if env.Type == "weft.executor.ExecuteWorkflowTask" {
						wt = &r.s.Queue[i]
					}
				}
				if wt == nil {
					t.Fatal("setup: no workflow task dispatched")
				}
				res, err := r.s.Executor.Handle(context.Background(), *wt)
				if err != nil || len(res.Outputs) != 1 {
					t.Fatalf("setup: %v", err)
				}
				r.s.Queue = slices.DeleteFunc(r.s.Queue, func(e core.Envelope) bool { return e.ID == wt.ID })
				if b == "signal" {
					b = "wait" // the signal is spent
				}
				result, other := res.Outputs[0], r.message(b)
				if first {
					r.race(result, other)
				} else {
					r.race(other, result)
				}
				r.finish()
				r.checkRun(reg)
			})
		}
	}
}
