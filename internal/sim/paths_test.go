package sim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

// The fast path (workflow tasks run inside the state engine) and the
// broker path (through the executor) must record the same history, and so
// must suspended runs kept parked and resumed (weft.Sessions) and runs
// replayed from the start at every task: every workflow task receives the
// same bytes and returns the same bytes (task ids, command ids, Now, timer
// instants, indexes), and the same task ids run. Each scenario runs every
// way and the recorded workflow tasks of each instance are compared byte
// for byte.

type pathScenario struct {
	name string
	reg  func(t testing.TB) (*weft.Registry, *execLog)
	run  func(s *sim.Sim)
}

var (
	counterRun  = weft.NewWorkflow[int, int]("PathCounter", "run")
	counterAdd  = weft.NewWorkflow[int, int]("PathCounter", "add")
	counterStop = weft.NewChannel[string]("PathCounter", "stop")
	counterNote = weft.NewTask[int, int]("PathNote", "note")
)

type pathTotals struct{ Total, Adds int }

func counterRegistry(t testing.TB) (*weft.Registry, *execLog) {
	log := &execLog{runs: map[string]int{}}
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, counterNote, func(ctx weft.TaskContext, n int) (int, error) {
		log.add(ctx.Info().TaskID)
		return n, nil
	}))
	weft.MustRegister(weft.RegisterMethod(reg, counterRun, func(p *pathTotals, ctx weft.Context, n int) (int, error) {
		p.Total = n
		// A method on this very instance, and a signal to itself.
		d := weft.DispatchMethod(ctx, counterAdd, weft.GetInfo(ctx).WorkflowID, 2)
		if _, err := d.Await(); err != nil {
			return 0, err
		}
		stop := weft.Receive(ctx, counterStop)
		if err := weft.Send(ctx, counterStop, weft.GetInfo(ctx).WorkflowID, "self"); err != nil {
			return 0, err
		}
		if _, err := stop.Await(); err != nil {
			return 0, err
		}
		at, err := weft.Timer(ctx, 30*time.Second).Await()
		if err != nil {
			return 0, err
		}
		if _, err := weft.Call(ctx, counterNote, int(at.Sub(weft.Now(ctx)))); err != nil {
			return 0, err
		}
		return p.Total*1000 + p.Adds, nil
	}))
	weft.MustRegister(weft.RegisterMethod(reg, counterAdd, func(p *pathTotals, ctx weft.Context, n int) (int, error) {
		if _, err := weft.Call(ctx, counterNote, n); err != nil {
			return 0, err
		}
		p.Total += n
		p.Adds++
		return p.Total, nil
	}))
	return reg, log
}

var (
	retryBroken = weft.NewTask[int, int]("PathRetry", "broken")
	retryWf     = weft.NewWorkflow[int, int]("PathRetry", "run")
	retryFixed  = false
)

func retryRegistry(t testing.TB) (*weft.Registry, *execLog) {
	log := &execLog{runs: map[string]int{}}
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, retryBroken, func(ctx weft.TaskContext, n int) (int, error) {
		log.add(ctx.Info().TaskID)
		if ctx.Info().RetrySeq == 0 {
			return 0, errors.New("broken until retried")
		}
		return n * 3, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, retryWf, func(ctx weft.Context, n int) (int, error) {
		t1 := weft.Timer(ctx, time.Hour)
		v, err := weft.Call(ctx, retryBroken, n)
		if err != nil {
			return 0, err
		}
		if _, err := t1.Await(); err != nil {
			return 0, err
		}
		return v, nil
	}))
	return reg, log
}

func tillScenario(t testing.TB) (*weft.Registry, *execLog) {
	return tillRegistry(), &execLog{runs: map[string]int{}}
}

// duplicating delivers every envelope twice: at once and after everything
// else queued.
func duplicating(run func(*sim.Sim)) func(*sim.Sim) {
	return func(s *sim.Sim) {
		seen := map[string]bool{}
		s.BeforeHandle = func(s *sim.Sim, env core.Envelope) {
			if !seen[env.ID] {
				seen[env.ID] = true
				s.Queue = append(append([]core.Envelope{env}, s.Queue...), env)
			}
		}
		run(s)
	}
}

var pathScenarios = []pathScenario{
	{name: "kitchen sink", reg: kitchenSink, run: runKitchenSink},
	{name: "methods, self-signals, properties, timer", reg: counterRegistry, run: func(s *sim.Sim) {
		dispatch(s, "PathCounter", "run", "c1", 10)
		s.Advance(time.Second)
		s.Send(core.Topic(core.PrefixWorkflowCmd, "PathCounter"), "c1", &core.DispatchMethod{WorkflowID: "c1", Workflow: "PathCounter",
			MethodRunID: "add-x", Method: "add", Input: []byte("5"), Requester: &core.Requester{Client: "c2"}, ClientWaiting: true})
		s.RunAll()
	}},
	{name: "retry tasks, complete timers", reg: retryRegistry, run: func(s *sim.Sim) {
		dispatch(s, "PathRetry", "run", "r1", 7)
		s.Run()
		s.Advance(time.Minute)
		s.Send(core.Topic(core.PrefixWorkflowCmd, "PathRetry"), "r1", &core.RetryTasks{WorkflowID: "r1", Workflow: "PathRetry"})
		s.Run()
		s.Advance(time.Minute)
		s.Send(core.Topic(core.PrefixWorkflowCmd, "PathRetry"), "r1", &core.CompleteTimers{WorkflowID: "r1", Workflow: "PathRetry"})
		s.RunAll()
	}},
	{name: "signals filtered by JSONPath, a duplicate signal", reg: tillScenario, run: func(s *sim.Sim) {
		dispatch(s, "Till", "run", "t1", 0)
		s.Run()
		for _, p := range []payment{{"p1", 5, "USD"}, {"p2", 500, "EUR"}, {"p3", 900, "USD"}, {"p4", 20, "EUR"}, {"p4", 20, "EUR"}, {"p5", 30, "EUR"}} {
			data, _ := json.Marshal(p)
			s.Send(core.Topic(core.PrefixWorkflowCmd, "Till"), "t1", &core.SendSignal{WorkflowID: "t1", Workflow: "Till", Channel: "pay", SignalID: p.ID, Data: data})
		}
		s.RunAll()
	}},
	{name: "kitchen sink, every message delivered twice", reg: kitchenSink, run: duplicating(runKitchenSink)},
}

func TestFastAndBrokerPathsRecordTheSameHistory(t *testing.T) {
	for _, sc := range pathScenarios {
		t.Run(sc.name, func(t *testing.T) {
			// The broker path replaying every task from the start is the
			// reference; the fast path, and parked runs resumed (sessions)
			// instead of replays, must record the same.
			type variant struct{ fast, replay bool }
			ref := variant{fast: false, replay: true}
			tasks := map[variant]map[string][]sim.WorkflowTask{}
			executed := map[variant][]string{}
			for _, v := range []variant{ref, {false, false}, {true, true}, {true, false}} {
				reg, log := sc.reg(t)
				s := sim.New(t, reg, sim.Options{FastPath: v.fast, ReplayEveryTask: v.replay})
				sc.run(s)
				if len(s.DeadLetters) > 0 {
					t.Fatalf("%+v: dead letters %+v", v, s.DeadLetters)
				}
				tasks[v] = byInstance(t, s.WorkflowTasks)
				for id := range log.runs {
					executed[v] = append(executed[v], id)
				}
				slices.Sort(executed[v])
			}
			if len(tasks[ref]) == 0 {
				t.Fatal("no workflow task recorded")
			}
			for v, got := range tasks {
				if v == ref {
					continue
				}
				if !slices.Equal(executed[ref], executed[v]) {
					t.Errorf("%+v: task ids executed differ:\n want %v\n got  %v", v, executed[ref], executed[v])
				}
				for id, want := range tasks[ref] {
					have := got[id]
					if len(have) != len(want) {
						t.Errorf("%+v: %s: %d workflow tasks, want %d", v, id, len(have), len(want))
						continue
					}
					for i := range want {
						for _, part := range []struct {
							what       string
							want, have json.RawMessage
						}{{"task", want[i].Task, have[i].Task}, {"result", want[i].Result, have[i].Result}} {
							if !bytes.Equal(part.want, part.have) {
								t.Errorf("%+v: %s: workflow task %d: the %s differs:\n want %s\n got  %s", v, id, i, part.what, part.want, part.have)
							}
						}
					}
				}
				for id := range got {
					if _, ok := tasks[ref][id]; !ok {
						t.Errorf("%+v: %s ran workflow tasks the reference did not", v, id)
					}
				}
			}
		})
	}
}

// byInstance groups the recorded workflow tasks by instance, in order; a
// task run again (a redelivery) counts once.
func byInstance(t *testing.T, wts []sim.WorkflowTask) map[string][]sim.WorkflowTask {
	t.Helper()
	out := map[string][]sim.WorkflowTask{}
	seen := map[string]bool{}
	for _, wt := range wts {
		if k := string(wt.Task) + string(wt.Result); seen[k] {
			continue
		} else {
			seen[k] = true
		}
		var m struct {
			WorkflowID string `json:"workflowId"`
		}
		if err := json.Unmarshal(wt.Task, &m); err != nil || m.WorkflowID == "" {
			t.Fatalf("recorded task %s: %v", wt.Task, err)
		}
		out[m.WorkflowID] = append(out[m.WorkflowID], wt)
	}
	return out
}

// TestStepRunAgainAfterALostWriteKeepsItsTaskIDs: when storage loses a
// commit (rolled back to an earlier state), the step is run again from the
// earlier state, its task completing at another time; the tasks it then
// dispatches have the ids they had the first time, so an idempotency key
// built on task ids finds the duplicate.
func TestStepRunAgainAfterALostWriteKeepsItsTaskIDs(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			s := sim.New(t, seqRegistry(t), sim.Options{FastPath: fast})
			dispatch(s, "Seq", "run", "w1", 1)
			first := runHoldingTasks(s)
			if len(first) != 1 {
				t.Fatalf("setup: %d tasks", len(first))
			}
			ctx := t.Context()
			saved, _, err := s.Store.Get(ctx, core.StateKey("w1"))
			if err != nil {
				t.Fatal(err)
			}
			taskIDs := func(envs []core.Envelope) []string {
				var ids []string
				for _, env := range envs {
					m, err := core.DecodeMessage(env)
					if err != nil {
						t.Fatal(err)
					}
					ids = append(ids, m.(*core.ExecuteTask).TaskID)
				}
				return ids
			}
			s.Advance(time.Second)
			s.Handle(first[0]) // the task runs
			next := taskIDs(runHoldingTasks(s))
			// The commit recording the first task's result is lost.
			_, v, err := s.Store.Get(ctx, core.StateKey("w1"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Store.Put(ctx, core.StateKey("w1"), saved, v, 0); err != nil {
				t.Fatal(err)
			}
			s.Advance(7 * time.Second)
			s.Handle(first[0]) // the task runs again, later
			// (The restored state's outbox goes out again: the first task.)
			again := slices.DeleteFunc(taskIDs(runHoldingTasks(s)), func(id string) bool { return id == taskIDs(first)[0] })
			if len(next) != 1 || !slices.Equal(next, again) {
				t.Fatalf("the step dispatched %v the first time and %v after the lost write", next, again)
			}
		})
	}
}
