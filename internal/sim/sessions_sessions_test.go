package sim_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
)

var (
	revFlaky   = weft.NewTask[int, int]("RevFlaky", "flaky")
	revRetryWf = weft.NewWorkflow[int, int]("RevRetry", "run")
	revTagsWf  = weft.NewWorkflow[int, string]("RevTags", "run")
)

// A task fails, the workflow catches it and sleeps; meanwhile RetryTasks
// runs it again (RetrySeq 1) and it completes. After the sleep, an And
// waits for it and a timer: the new step's StepCommands carry the task's
// command, with its RetrySeq.
func revRetryRegistry(t testing.TB) (*weft.Registry, *execLog) {
	log := &execLog{runs: map[string]int{}}
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, revFlaky, func(ctx weft.TaskContext, n int) (int, error) {
		log.add(ctx.Info().TaskID)
		if ctx.Info().RetrySeq == 0 {
			return 0, errors.New("flaky")
		}
		return n, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, revRetryWf, func(ctx weft.Context, n int) (int, error) {
		x := weft.Dispatch(ctx, revFlaky, n)
		if _, err := x.Await(); err == nil {
			return 0, errors.New("the first attempt did not fail")
		}
		if err := weft.Sleep(ctx, time.Minute); err != nil {
			return 0, err
		}
		if _, err := weft.And(x, weft.Timer(ctx, time.Hour)).Await(); err != nil {
			return 0, err
		}
		return x.Await()
	}))
	return reg, log
}

// Info().Tags after the instance got a tag from a second dispatch.
func revTagsRegistry(t testing.TB) (*weft.Registry, *execLog) {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, revTagsWf, func(ctx weft.Context, n int) (string, error) {
		if err := weft.Sleep(ctx, time.Minute); err != nil {
			return "", err
		}
		return strings.Join(weft.GetInfo(ctx).Tags, ","), nil
	}))
	return reg, &execLog{runs: map[string]int{}}
}

func init() {
	pathScenarios = append(pathScenarios,
		pathScenario{name: "review: a caught failure retried while parked, then awaited in an And", reg: revRetryRegistry, run: func(s *sim.Sim) {
			dispatch(s, "RevRetry", "run", "rr1", 7)
			s.Run()
			s.Send(core.Topic(core.PrefixWorkflowCmd, "RevRetry"), "rr1", &core.RetryTasks{WorkflowID: "rr1", Workflow: "RevRetry"})
			s.Run()
			s.RunAll()
		}},
		pathScenario{name: "review: a tag added by a second dispatch while parked", reg: revTagsRegistry, run: func(s *sim.Sim) {
			s.Send(core.Topic(core.PrefixWorkflowCmd, "RevTags"), "tg1", &core.DispatchWorkflow{WorkflowID: "tg1", Workflow: "RevTags", Method: "run",
				Input: []byte("0"), Tags: []string{"a"}})
			s.Run()
			s.Send(core.Topic(core.PrefixWorkflowCmd, "RevTags"), "tg1", &core.DispatchWorkflow{WorkflowID: "tg1", Workflow: "RevTags", Method: "run",
				Input: []byte("0"), Tags: []string{"b"}})
			s.Run()
			s.RunAll()
		}},
	)
}

var (
	revPagesWf  = weft.NewWorkflow[int, int]("RevPages", "run")
	revPagesSig = weft.NewChannel[string]("RevPages", "go")
)

// A run that took one signal first, then makes many steps: once the closed
// reception is moved to a history page, is the run still resumed?
func TestReviewSessionsResumeAfterAClosedReceptionIsArchived(t *testing.T) {
	var starts atomic.Int32
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, pageStep, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, revPagesWf, func(ctx weft.Context, n int) (int, error) {
		starts.Add(1)
		if _, err := weft.Receive(ctx, revPagesSig).Await(); err != nil {
			return 0, err
		}
		for i := range n {
			if _, err := weft.Call(ctx, pageStep, i); err != nil {
				return 0, err
			}
		}
		return n, nil
	}))
	s := sim.New(t, reg, sim.Options{})
	dispatch(s, "RevPages", "run", "rp", 600)
	s.Run()
	s.Send(core.Topic(core.PrefixWorkflowCmd, "RevPages"), "rp", &core.SendSignal{WorkflowID: "rp", Workflow: "RevPages", Channel: "go", SignalID: "s1", Data: []byte(`"x"`)})
	s.RunAll()
	if outs := s.Outcomes("rp"); len(outs) != 1 || string(outs[0].Value) != "600" {
		t.Fatalf("outcomes %+v", outs)
	}
	// Pages are made about every 256 settled entries: a handful of replays
	// from the start are expected, not one per step.
	if n := starts.Load(); n > 10 {
		t.Errorf("the code started %d times for 602 workflow tasks", n)
	}
}

var (
	revOK    = weft.NewTask[int, int]("RevT", "ok")
	revBad   = weft.NewTask[int, int]("RevT", "bad")
	revDupWf = weft.NewWorkflow[int, int]("RevDup", "run")
)

func revDupRegistry(t testing.TB) (*weft.Registry, *execLog) {
	log := &execLog{runs: map[string]int{}}
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, revOK, func(ctx weft.TaskContext, n int) (int, error) { log.add(ctx.Info().TaskID); return n, nil }))
	weft.MustRegister(weft.RegisterTask(reg, revBad, func(ctx weft.TaskContext, n int) (int, error) {
		log.add(ctx.Info().TaskID)
		return 0, errors.New("bad")
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, revDupWf, func(ctx weft.Context, n int) (int, error) {
		if _, err := weft.Call(ctx, revOK, 1); err != nil {
			return 0, err
		}
		if _, err := weft.Call(ctx, revBad, 2); err != nil {
			return -1, nil // caught
		}
		return 1, nil
	}))
	return reg, log
}

func init() {
	pathScenarios = append(pathScenarios, pathScenario{name: "review: the first workflow task delivered again late", reg: revDupRegistry, run: func(s *sim.Sim) {
		var first *core.Envelope
		n := 0
		s.BeforeHandle = func(s *sim.Sim, env core.Envelope) {
			if env.Type != (&core.ExecuteWorkflowTask{}).MessageType() {
				return
			}
			n++
			switch n {
			case 1:
				first = &env
			case 3: // just before the third task: a redelivery of the first
				s.Handle(*first)
			}
		}
		dispatch(s, "RevDup", "run", "dp1", 0)
		s.RunAll()
	}})
}

// getHookStore runs hook once, right after a state is loaded.
type getHookStore struct {
	storage.KeyValue
	hook func()
}

func (g *getHookStore) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	b, v, err := g.KeyValue.Get(ctx, key)
	if f := g.hook; f != nil && strings.HasPrefix(key, "workflow.state.") {
		g.hook = nil
		f()
	}
	return b, v, err
}

var (
	revLoseWf  = weft.NewWorkflow[int, int]("RevLose", "run")
	revLoseSig = weft.NewChannel[string]("RevLose", "sig")
)

// Fast path, two state engines: engine A loads the state to apply a
// signal; meanwhile engine B applies the timer (the Or is won by the timer)
// and writes; A then runs its workflow task (the Or won by the signal) and
// loses the write. A's parked run is kept, and the run's next task resumes
// it.
func TestReviewSessionsLosingEngineOnTheFastPath(t *testing.T) {
	run := func(replay bool) string {
		reg := weft.NewRegistry()
		weft.MustRegister(weft.RegisterWorkflow(reg, revLoseWf, func(ctx weft.Context, _ int) (int, error) {
			w, err := weft.Or(weft.Receive(ctx, revLoseSig), weft.Timer(ctx, time.Hour)).Await()
			if err != nil {
				return 0, err
			}
			if err := weft.Sleep(ctx, time.Minute); err != nil {
				return 0, err
			}
			return w, nil
		}))
		var s *sim.Sim
		store := &getHookStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now }))}
		s = sim.New(t, reg, sim.Options{FastPath: true, Store: store, ReplayEveryTask: replay})
		dispatch(s, "RevLose", "run", "lo", 0)
		s.Run()
		s.Now = s.Now.Add(time.Hour)
		var hour core.Envelope
		for i, env := range s.Delayed { // the hour timer, due now
			hour = env
			s.Delayed = append(s.Delayed[:i], s.Delayed[i+1:]...)
			break
		}
		hour.Topic = core.Topic(core.PrefixWorkflowEngine, "RevLose")
		hour.SetDeliverAt(time.Time{})
		signal := s.Send(core.Topic(core.PrefixWorkflowCmd, "RevLose"), "lo", &core.SendSignal{WorkflowID: "lo", Workflow: "RevLose", Channel: "sig", SignalID: "s1", Data: []byte(`"x"`)})
		s.Queue = s.Queue[:len(s.Queue)-1]
		other := s.OtherEngine()
		store.hook = func() { s.HandleOn(other, hour) }
		s.HandleOn(s.Engine, signal) // loads, B wins meanwhile, A runs its task and conflicts, then handles again
		s.RunAll()
		outs := s.Outcomes("lo")
		if len(outs) != 1 {
			t.Fatalf("outcomes %+v", outs)
		}
		return string(outs[0].Value)
	}
	if want, got := run(true), run(false); want != got {
		t.Fatalf("the instance returned %s with sessions, %s when every task replays from the start", got, want)
	}
}
