package sim_test

// Review tests: each demonstrates a suspected engine bug and is skipped so
// the suite stays green. Delete the t.Skip line to see a test fail.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
)

// runLog counts executions per "name/taskID" (an execLog keyed by name too).
type runLog struct{ execLog }

func newRunLog() *runLog { return &runLog{execLog{runs: map[string]int{}}} }

func (l *runLog) add(name, id string) { l.execLog.add(name + "/" + id) }

// ids returns how many distinct task ids ran under name.
func (l *runLog) ids(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k := range l.runs {
		if strings.HasPrefix(k, name+"/") {
			n++
		}
	}
	return n
}

func outcomesFor(s *sim.Sim, id, methodRunID string) []*core.MethodOutcome {
	var out []*core.MethodOutcome
	for _, o := range s.Outcomes(id) {
		if o.MethodRunID == methodRunID {
			out = append(out, o)
		}
	}
	return out
}

func clientOutcomes(s *sim.Sim, client string) []*core.MethodOutcome {
	var out []*core.MethodOutcome
	for _, env := range s.Responses {
		if env.Topic != core.Topic(core.PrefixResponse, client) {
			continue
		}
		m, err := core.DecodeMessage(env)
		if err != nil {
			s.T.Fatal(err)
		}
		out = append(out, m.(*core.MethodOutcome))
	}
	return out
}

// ---------------------------------------------------------------------------
// 1. RetryTasks clears run.Failure; if the retried task fails again the
// method is stuck with no failure recorded: late waiters hang for ever and
// RetryWorkflowTask no longer finds it.

var (
	revBroken = weft.NewTask[int, int]("RevBroken", "fail")
	revRetry  = weft.NewWorkflow[int, int]("RevRetry", "run")
)

func TestReviewRetryTasksFailingAgainLeavesMethodStuck(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			reg := weft.NewRegistry()
			weft.MustRegister(weft.RegisterTask(reg, revBroken, func(_ weft.TaskContext, n int) (int, error) {
				return 0, errors.New("still broken")
			}))
			weft.MustRegister(weft.RegisterWorkflow(reg, revRetry, func(ctx weft.Context, n int) (int, error) {
				return weft.Call(ctx, revBroken, n)
			}))
			s := sim.New(t, reg, sim.Options{FastPath: fast})
			dispatch(s, "RevRetry", "run", "w1", 1)
			s.Run()
			if outs := s.Outcomes("w1"); len(outs) != 1 || outs[0].Kind != core.MethodFailed {
				t.Fatalf("first run: %+v, want one failure", outs)
			}
			// Recovery attempt: retry the failed task; it fails again.
			s.Send(core.Topic(core.PrefixWorkflowCmd, "RevRetry"), "w1", &core.RetryTasks{WorkflowID: "w1", Workflow: "RevRetry"})
			s.RunAll()
			if got := s.Count("weft.engine.TaskFailed"); got != 2 {
				t.Fatalf("TaskFailed handled %d times, want 2", got)
			}
			st := s.State("w1")
			if st == nil || st.Method("w1") == nil {
				t.Fatalf("state gone: %+v", st)
			}
			if st.Method("w1").Failure == nil {
				t.Errorf("the method failed again but has no Failure recorded (RetryWorkflowTask cannot find it)")
			}
			// A client asking for the outcome now must be told it failed.
			s.Send(core.Topic(core.PrefixWorkflowCmd, "RevRetry"), "w1", &core.WaitWorkflow{WorkflowID: "w1", Workflow: "RevRetry", MethodRunID: "w1", Client: "late"})
			s.RunAll()
			if outs := clientOutcomes(s, "late"); len(outs) != 1 || outs[0].Kind != core.MethodFailed {
				t.Errorf("late waiter got %+v, want one MethodFailed (it hangs for ever)", outs)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 2. RetryTasks clears run.Failure even when the method failed for an
// unrelated reason (its own error after catching the task failure). After
// that, RetryWorkflowTask no longer re-runs the failed method.

var (
	revOnce   = weft.NewTask[int, int]("RevOnce", "flaky")
	revUnrel  = weft.NewWorkflow[int, int]("RevUnrel", "run")
	revFixed  atomic.Bool
	revOnceMu sync.Mutex
)

func TestReviewRetryTasksClearsUnrelatedMethodFailure(t *testing.T) {
	revOnceMu.Lock()
	defer revOnceMu.Unlock()
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			revFixed.Store(false)
			reg := weft.NewRegistry()
			weft.MustRegister(weft.RegisterTask(reg, revOnce, func(ctx weft.TaskContext, n int) (int, error) {
				if ctx.Info().RetrySeq == 0 {
					return 0, errors.New("first sequence fails")
				}
				return n, nil
			}))
			weft.MustRegister(weft.RegisterWorkflow(reg, revUnrel, func(ctx weft.Context, n int) (int, error) {
				v, err := weft.Call(ctx, revOnce, n)
				if err != nil {
					v = -1 // caught
				}
				if err := weft.Sleep(ctx, time.Minute); err != nil {
					return 0, err
				}
				if !revFixed.Load() {
					return 0, errors.New("bug in workflow code")
				}
				return v, nil
			}))
			s := sim.New(t, reg, sim.Options{FastPath: fast})
			dispatch(s, "RevUnrel", "run", "w1", 5)
			s.RunAll()
			if outs := s.Outcomes("w1"); len(outs) != 1 || outs[0].Kind != core.MethodFailed {
				t.Fatalf("first run: %+v, want one failure", outs)
			}
			// The operator retries failed tasks (they now succeed) ...
			s.Send(core.Topic(core.PrefixWorkflowCmd, "RevUnrel"), "w1", &core.RetryTasks{WorkflowID: "w1", Workflow: "RevUnrel"})
			s.RunAll()
			// ... then deploys the fix and retries the workflow task.
			revFixed.Store(true)
			s.Send(core.Topic(core.PrefixWorkflowCmd, "RevUnrel"), "w1", &core.RetryWorkflowTask{WorkflowID: "w1", Workflow: "RevUnrel"})
			s.Send(core.Topic(core.PrefixWorkflowCmd, "RevUnrel"), "w1", &core.WaitWorkflow{WorkflowID: "w1", Workflow: "RevUnrel", MethodRunID: "w1", Client: "late"})
			s.RunAll()
			outs := clientOutcomes(s, "late")
			if len(outs) != 1 || outs[0].Kind != core.MethodCompleted {
				st := s.State("w1")
				t.Fatalf("after RetryTasks + fix + RetryWorkflowTask the late waiter got %+v, want completed (method failure now %v, running %v)",
					outs, st.Method("w1").Failure, st.Running)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 3. Fast path: the result of an in-process workflow task is applied with
// Instant = wall clock. When it leads to another workflow task in the same
// Handle, that task's trigger (and so every command id it creates) depends
// on when the input was handled. A redelivery after a failed write, at a
// later time, dispatches the same work under new ids: it runs twice.

var (
	revDouble = weft.NewTask[int, int]("RevMath", "double")
	revSelfCh = weft.NewChannel[int]("RevSelfSig", "ch")
	revSelf   = weft.NewWorkflow[int, int]("RevSelfSig", "run")
)

func TestReviewFastPathRedeliveryDispatchesTaskTwice(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			log := newRunLog()
			reg := weft.NewRegistry()
			weft.MustRegister(weft.RegisterTask(reg, revDouble, func(ctx weft.TaskContext, n int) (int, error) {
				log.add("double", ctx.Info().TaskID)
				return 2 * n, nil
			}))
			weft.MustRegister(weft.RegisterWorkflow(reg, revSelf, func(ctx weft.Context, n int) (int, error) {
				r := weft.Receive(ctx, revSelfCh)
				if err := weft.Send(ctx, revSelfCh, weft.GetInfo(ctx).WorkflowID, n); err != nil {
					return 0, err
				}
				v, err := r.Await()
				if err != nil {
					return 0, err
				}
				return weft.Call(ctx, revDouble, v)
			}))
			var s *sim.Sim
			store := &flakyStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now })), failAt: 1}
			s = sim.New(t, reg, sim.Options{FastPath: fast, Store: store, Dedup: true})
			seen := map[string]int{}
			s.BeforeHandle = func(s *sim.Sim, env core.Envelope) {
				seen[env.ID]++
				if seen[env.ID] == 2 {
					s.Now = s.Now.Add(time.Second) // the redelivery comes a bit later
				}
			}
			dispatch(s, "RevSelfSig", "run", "w1", 4)
			s.RunAll()
			if !store.failed {
				t.Fatal("the injected write failure never happened")
			}
			if outs := s.Outcomes("w1"); len(outs) == 0 || outs[0].Kind != core.MethodCompleted || string(outs[0].Value) != "8" {
				t.Fatalf("outcomes %+v", outs)
			}
			if n := log.ids("double"); n != 1 {
				t.Errorf("the task was executed under %d different task ids, want 1 (duplicate work)", n)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 4. Fast path: in-process workflow tasks run on a state that may be stale,
// and the task commands they produce are published before the commit. On a
// version conflict (a timer handled concurrently on the unkeyed delay
// topic), the stale in-process task's commands have already been sent: a
// task the workflow never recorded is executed. The broker path is immune
// (a stale ExecuteWorkflowTask result is rejected by the engine).

var (
	revA    = weft.NewTask[int, int]("RevRace", "a")
	revX    = weft.NewTask[int, int]("RevRace", "x")
	revY    = weft.NewTask[int, int]("RevRace", "y")
	revRace = weft.NewWorkflow[int, int]("RevRace", "run")
)

// runHolding runs the queue to the end, holding back (and returning) the
// first envelope of type typ, so a test can deliver it at a chosen moment.
func runHolding(s *sim.Sim, typ string) *core.Envelope {
	var held *core.Envelope
	for len(s.Queue) > 0 {
		if env := s.Queue[0]; env.Type == typ && held == nil {
			held = &env
			s.Queue = s.Queue[1:]
			continue
		}
		s.Step()
	}
	return held
}

// hookStore runs hook once, just before the next Put.
type hookStore struct {
	storage.KeyValue
	hook func()
}

func (h *hookStore) Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error) {
	if f := h.hook; f != nil {
		h.hook = nil
		f()
	}
	return h.KeyValue.Put(ctx, key, value, expected, ttl)
}

func TestReviewFastPathConflictPublishesUnrecordedTask(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			log := newRunLog()
			reg := weft.NewRegistry()
			weft.MustRegister(weft.RegisterTask(reg, revA, func(ctx weft.TaskContext, n int) (int, error) { return n, nil }))
			weft.MustRegister(weft.RegisterTask(reg, revX, func(ctx weft.TaskContext, n int) (int, error) {
				log.add("x", ctx.Info().TaskID)
				return n, nil
			}))
			weft.MustRegister(weft.RegisterTask(reg, revY, func(ctx weft.TaskContext, n int) (int, error) {
				log.add("y", ctx.Info().TaskID)
				return n, nil
			}))
			weft.MustRegister(weft.RegisterWorkflow(reg, revRace, func(ctx weft.Context, n int) (int, error) {
				a := weft.Dispatch(ctx, revA, n)
				i, err := weft.Or(a, weft.Timer(ctx, time.Minute)).Await()
				if err != nil {
					return 0, err
				}
				if i == 0 {
					return weft.Call(ctx, revX, 1)
				}
				return weft.Call(ctx, revY, 2)
			}))
			var s *sim.Sim
			store := &hookStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now }))}
			s = sim.New(t, reg, sim.Options{FastPath: fast, Store: store})
			dispatch(s, "RevRace", "run", "w1", 1)
			// Run, holding back the result of task a.
			held := runHolding(s, "weft.engine.TaskCompleted")
			if held == nil || len(s.Delayed) != 1 {
				t.Fatalf("setup: held %v, delayed %d", held, len(s.Delayed))
			}
			timer := s.Delayed[0]
			s.Delayed = nil
			s.Now = timer.DeliverAtTime()
			// The timer (delay topic, unkeyed) is handled concurrently with the
			// task result and commits first.
			store.hook = func() {
				// The delay topic forwards the timer to the keyed engine
				// topic; handle the forward at once so it commits first.
				s.Handle(timer)
				fwd := s.Queue[len(s.Queue)-1]
				s.Queue = s.Queue[:len(s.Queue)-1]
				s.Handle(fwd)
			}
			s.Handle(*held)
			s.RunAll()
			if outs := s.Outcomes("w1"); len(outs) != 1 || outs[0].Kind != core.MethodCompleted || string(outs[0].Value) != "2" {
				t.Fatalf("outcomes %+v (the timer won, so y's value 2 is expected)", outs)
			}
			if n := log.ids("x"); n != 0 {
				t.Errorf("task x, which the recorded history never dispatched, was executed %d time(s)", n)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 5. A method dispatched on the workflow's own instance with a timeout
// never times out: carryOut returns the self-targeted DispatchMethod before
// scheduling the ChildTimedOut delay.

var (
	revSelfMain = weft.NewWorkflow[int, int]("RevSelfM", "run")
	revSelfSlow = weft.NewWorkflow[int, int]("RevSelfM", "slow")
)

func TestReviewSelfMethodTimeoutNeverFires(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			reg := weft.NewRegistry()
			weft.MustRegister(weft.RegisterWorkflow(reg, revSelfMain, func(ctx weft.Context, n int) (int, error) {
				v, err := weft.DispatchMethod(ctx, revSelfSlow, weft.GetInfo(ctx).WorkflowID, n, weft.Timeout(time.Minute)).Await()
				if errors.Is(err, weft.ErrWorkflowTimedOut) {
					return -1, nil
				}
				return v, err
			}))
			weft.MustRegister(weft.RegisterWorkflow(reg, revSelfSlow, func(ctx weft.Context, n int) (int, error) {
				return n, weft.Sleep(ctx, time.Hour)
			}))
			s := sim.New(t, reg, sim.Options{FastPath: fast})
			dispatch(s, "RevSelfM", "run", "w1", 7)
			s.Run()
			s.Advance(2 * time.Minute)
			outs := outcomesFor(s, "w1", "w1")
			if len(outs) != 1 || outs[0].Kind != core.MethodCompleted || string(outs[0].Value) != "-1" {
				t.Errorf("two minutes after a 1-minute timeout, the main method's outcomes are %+v, want completed -1", outs)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 6. Every ended method run of a live instance is kept in state.Ended for as
// long as the instance lives: a long-lived instance that serves method calls
// grows its state (and every write) without bound.

var (
	revEntity = weft.NewWorkflow[int, int]("RevEntity", "run")
	revPing   = weft.NewWorkflow[int, int]("RevEntity", "ping")
	revStopCh = weft.NewChannel[int]("RevEntity", "stop")
)

func TestReviewEndedMethodsGrowWithoutBound(t *testing.T) {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, revEntity, func(ctx weft.Context, n int) (int, error) {
		return weft.Receive(ctx, revStopCh).Await()
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, revPing, func(ctx weft.Context, n int) (int, error) { return n, nil }))
	s := sim.New(t, reg, sim.Options{FastPath: true})
	dispatch(s, "RevEntity", "run", "e1", 0)
	s.Run()
	const calls = 200
	for i := range calls {
		s.Send(core.Topic(core.PrefixWorkflowCmd, "RevEntity"), "e1", &core.DispatchMethod{WorkflowID: "e1", Workflow: "RevEntity",
			MethodRunID: fmt.Sprintf("ping-%d", i), Method: "ping", Input: []byte("1"), Requester: &core.Requester{Client: "c"}, ClientWaiting: true})
		s.Run()
	}
	st := s.State("e1")
	if st == nil || st.Result != nil {
		t.Fatalf("the entity should still be live: %+v", st)
	}
	raw, _ := core.EncodeState(st)
	if len(st.Ended) >= calls {
		t.Errorf("live state keeps %d ended method results (%d bytes) after %d calls: unbounded growth", len(st.Ended), len(raw), calls)
	}
}

// ---------------------------------------------------------------------------
// 7. A Deferred whose dispatch failed (its input does not encode) has no
// command; Or/And call stepNode on it and dereference the nil command, so
// the workflow code panics instead of getting the bad-input error that
// Await and AwaitAll return for the same deferred.

var (
	revFloatTask = weft.NewTask[float64, int]("RevFloat", "f")
	revOrBad     = weft.NewWorkflow[int, int]("RevOrBad", "run")
)

func TestReviewOrWithUnencodableDispatchPanics(t *testing.T) {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, revFloatTask, func(_ weft.TaskContext, f float64) (int, error) { return 1, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, revOrBad, func(ctx weft.Context, n int) (int, error) {
		d := weft.Dispatch(ctx, revFloatTask, math.NaN()) // NaN does not encode to JSON
		if _, err := weft.Or(d, weft.Timer(ctx, time.Hour)).Await(); errors.Is(err, weft.ErrBadInput) {
			return -1, nil
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}))
	s := sim.New(t, reg, sim.Options{FastPath: true})
	dispatch(s, "RevOrBad", "run", "w1", 1)
	s.RunAll()
	outs := s.Outcomes("w1")
	if len(outs) != 1 || outs[0].Kind != core.MethodCompleted || string(outs[0].Value) != "-1" {
		msg := ""
		if len(outs) == 1 && outs[0].Error != nil {
			msg = outs[0].Error.Error()
			if len(msg) > 160 {
				msg = msg[:160]
			}
		}
		t.Errorf("outcomes %d, first error %q: want the workflow to see ErrBadInput from Or", len(outs), msg)
	}
}
