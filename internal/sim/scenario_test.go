package sim_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

// The kitchen-sink scenario touches every message type of the engine and
// executor: tasks (one retried), And, a child workflow, an inline, a
// signal raced against a timer with Or, and a sleep.
var (
	add1   = weft.NewTask[int, int]("Calc", "add1")
	flaky  = weft.NewTask[int, int]("Calc", "flaky")
	broken = weft.NewTask[int, int]("Calc", "broken")
	child  = weft.NewWorkflow[int, int]("Child", "run")
	parent = weft.NewWorkflow[int, int]("Parent", "run")
	goCh   = weft.NewChannel[string]("Parent", "go")
)

// execLog records task executions per task id.
type execLog struct {
	mu   sync.Mutex
	runs map[string]int
}

func (l *execLog) add(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs[id]++
}

func (l *execLog) distinct() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.runs)
}

func kitchenSink(t testing.TB) (*weft.Registry, *execLog) {
	log := &execLog{runs: map[string]int{}}
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, add1, func(ctx weft.TaskContext, n int) (int, error) {
		log.add(ctx.Info().TaskID)
		return n + 1, nil
	}))
	weft.MustRegister(weft.RegisterTask(reg, flaky, func(ctx weft.TaskContext, n int) (int, error) {
		log.add(ctx.Info().TaskID)
		if ctx.Info().RetryIndex == 0 {
			return 0, errors.New("first attempt fails")
		}
		return n * 10, nil
	}, weft.WithRetry(weft.DefaultRetryPolicy())))
	weft.MustRegister(weft.RegisterTask(reg, broken, func(ctx weft.TaskContext, n int) (int, error) {
		log.add(ctx.Info().TaskID)
		return 0, errors.New("always fails")
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, child, func(ctx weft.Context, n int) (int, error) {
		return weft.Call(ctx, add1, n)
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, parent, func(ctx weft.Context, n int) (int, error) {
		sig := weft.Receive(ctx, goCh)
		a, err := weft.Call(ctx, add1, n)
		if err != nil {
			return 0, err
		}
		vals, err := weft.AwaitAll([]*weft.Deferred[int]{weft.Dispatch(ctx, add1, a), weft.Dispatch(ctx, add1, a+1)})
		if err != nil {
			return 0, err
		}
		c, err := weft.CallChild(ctx, child, vals[0]+vals[1])
		if err != nil {
			return 0, err
		}
		if _, err := weft.Call(ctx, broken, 0); !errors.Is(err, weft.ErrTaskFailed) {
			return 0, fmt.Errorf("broken task: got %v, want a task failure", err)
		}
		x, err := weft.Inline(ctx, func() (int, error) { return 7, nil })
		if err != nil {
			return 0, err
		}
		i, err := weft.Or(sig, weft.Timer(ctx, time.Hour)).Await()
		if err != nil {
			return 0, err
		}
		s := ""
		if i == 0 {
			if s, err = sig.Await(); err != nil {
				return 0, err
			}
		}
		f, err := weft.Call(ctx, flaky, 1)
		if err != nil {
			return 0, err
		}
		if err := weft.Sleep(ctx, time.Minute); err != nil {
			return 0, err
		}
		return c + x + len(s) + f, nil
	}))
	return reg, log
}

// runKitchenSink dispatches the parent, signals it once it waits, and runs
// everything to the end.
func runKitchenSink(s *sim.Sim) {
	dispatch(s, "Parent", "run", "p1", 1)
	s.Send(core.Topic(core.PrefixWorkflowCmd, "Parent"), "p1", &core.WaitWorkflow{WorkflowID: "p1", Workflow: "Parent", MethodRunID: "p1", Client: "c2"})
	s.Run()
	data, _ := json.Marshal("hello")
	s.Send(core.Topic(core.PrefixWorkflowCmd, "Parent"), "p1", &core.SendSignal{WorkflowID: "p1", Workflow: "Parent", Channel: "go", SignalID: "sig-1", Data: data})
	s.RunAll()
}

// 1+1=2; add1(2)=3, add1(3)=4; child(7)=8; inline 7; "hello" 5; flaky 10.
const kitchenSinkResult = "30"

func checkCompleted(t *testing.T, s *sim.Sim, id, want string) *core.WorkflowState {
	t.Helper()
	outs := s.Outcomes(id)
	if len(outs) == 0 {
		t.Fatalf("no outcome for %s; dead letters: %+v", id, s.DeadLetters)
	}
	for _, o := range outs {
		if o.Kind != core.MethodCompleted || string(o.Value) != want {
			t.Fatalf("outcome for %s = %s %s %v, want completed %s", id, o.Kind, o.Value, o.Error, want)
		}
	}
	st := s.State(id)
	if st == nil || st.Result == nil || st.Result.State != core.StateCompleted {
		t.Fatalf("state of %s = %+v, want a completed result record", id, st)
	}
	return st
}

func TestKitchenSink(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			reg, log := kitchenSink(t)
			s := sim.New(t, reg, sim.Options{FastPath: fast})
			runKitchenSink(s)
			st := checkCompleted(t, s, "p1", kitchenSinkResult)
			// add1 ×3, child's add1, broken, flaky (two attempts, one task id).
			if got := log.distinct(); got != 6 {
				t.Fatalf("distinct tasks executed = %d, want 6", got)
			}
			if len(s.DeadLetters) > 0 {
				t.Fatalf("dead letters: %+v", s.DeadLetters)
			}
			t.Logf("task index %d after %d messages", st.TaskIndex, len(s.Handled))
		})
	}
}
