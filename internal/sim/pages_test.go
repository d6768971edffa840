package sim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage/memory"
)

// Long runs keep their settled history in history pages, written once,
// so the state written at every step stays small; the replay sees the
// whole history all the same, a step may wait for a command whose record
// is in a page, and the pages go when the run does.

var (
	pageStep = weft.NewTask[int, int]("Pages", "step")
	pageLoop = weft.NewWorkflow[int, int]("PagesLoop", "run")
)

func pagesRegistry() *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, pageStep, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, pageLoop, func(ctx weft.Context, n int) (int, error) {
		early := weft.Dispatch(ctx, pageStep, -1) // done long before it is awaited
		sig := weft.Receive(ctx, pagesSig, weft.Limit(0))
		total := 0
		for i := range n {
			v, err := weft.Call(ctx, pageStep, i)
			if err != nil {
				return 0, err
			}
			total += v
			if i%100 == 50 {
				// A timer too: pages hold commands of every kind.
				if err := weft.Sleep(ctx, time.Second); err != nil {
					return 0, err
				}
			}
		}
		// A step waiting for a command archived long ago, and a new one.
		vals, err := weft.AwaitAll([]*weft.Deferred[int]{early, weft.Dispatch(ctx, pageStep, 1000)})
		if err != nil {
			return 0, err
		}
		s, err := sig.Await()
		if err != nil {
			return 0, err
		}
		return total + vals[0] + vals[1] + len(s), nil
	}))
	return reg
}

var pagesSig = weft.NewChannel[string]("PagesLoop", "sig")

func TestLongRunsKeepTheirHistoryInPages(t *testing.T) {
	const steps = 400
	want := steps*(steps+1)/2 + 0 + 1001 + len("go")
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			var s *sim.Sim
			store := memory.New(memory.WithClock(func() time.Time { return s.Now }))
			s = sim.New(t, pagesRegistry(), sim.Options{FastPath: fast, Store: store})
			dispatch(s, "PagesLoop", "run", "p1", steps)
			s.RunAll()
			st := s.State("p1")
			if st == nil || st.Result != nil {
				t.Fatalf("the run should wait for its signal: %+v", st)
			}
			run := st.Method("p1")
			if run.Failure != nil {
				t.Fatalf("the run failed: %v", run.Failure)
			}
			if len(run.Pages) < 2 {
				t.Fatalf("%d history pages after %d steps, want several (%d commands, %d steps in the state); dead letters %+v", len(run.Pages), steps, len(run.Commands), len(run.Steps), s.DeadLetters)
			}
			raw, _, _ := store.Get(context.Background(), core.StateKey("p1"))
			if len(raw) > 64<<10 {
				t.Errorf("the state is %d bytes after %d steps: its history was not paged", len(raw), steps)
			}
			held := 0
			for _, p := range run.Pages {
				if _, v, _ := store.Get(context.Background(), p.Key); v == 0 {
					t.Errorf("page %s is not stored", p.Key)
				}
				held += p.Commands + p.Steps
			}
			t.Logf("%d pages holding %d entries; the state is %d bytes", len(run.Pages), held, len(raw))
			// Read whole, the state shows the whole history, which replays.
			whole, err := client.LoadState(context.Background(), store, "p1")
			if err != nil {
				t.Fatal(err)
			}
			if m := whole.Method("p1"); len(m.Pages) != 0 || len(m.Commands) < steps || len(m.Steps) < steps {
				t.Fatalf("the state read whole has %d commands, %d steps, %d pages", len(m.Commands), len(m.Steps), len(m.Pages))
			}
			if rep := pagesRegistry().CheckReplay(whole); !rep.OK() {
				t.Fatalf("the whole history does not replay: %+v", rep.Problems)
			}
			if rep := pagesRegistry().CheckReplay(st); rep.OK() {
				t.Fatal("the state without its pages replays, yet it lacks most of its history")
			}
			s.Send(core.Topic(core.PrefixWorkflowCmd, "PagesLoop"), "p1", &core.SendSignal{WorkflowID: "p1", Workflow: "PagesLoop", Channel: "sig", SignalID: "s-go", Data: []byte(`"go"`)})
			s.RunAll()
			checkCompleted(t, s, "p1", fmt.Sprint(want))
			for _, p := range run.Pages {
				if _, v, _ := store.Get(context.Background(), p.Key); v != 0 {
					t.Errorf("page %s is still stored after the run ended", p.Key)
				}
			}
			if len(s.DeadLetters) > 0 {
				t.Fatalf("dead letters: %+v", s.DeadLetters)
			}
		})
	}
}

// TestPagedHistoryIsTheSameOnBothPaths: the paged run records the same
// history through the executor and on the fast path.
func TestPagedHistoryIsTheSameOnBothPaths(t *testing.T) {
	type variant struct{ fast, replay bool }
	got := map[variant][]sim.WorkflowTask{}
	ref := variant{false, true}
	for _, v := range []variant{ref, {false, false}, {true, true}, {true, false}} {
		s := sim.New(t, pagesRegistry(), sim.Options{FastPath: v.fast, ReplayEveryTask: v.replay})
		dispatch(s, "PagesLoop", "run", "p1", 200)
		s.RunAll()
		s.Send(core.Topic(core.PrefixWorkflowCmd, "PagesLoop"), "p1", &core.SendSignal{WorkflowID: "p1", Workflow: "PagesLoop", Channel: "sig", SignalID: "s-go", Data: []byte(`"go"`)})
		s.RunAll()
		got[v] = s.WorkflowTasks
	}
	for v, tasks := range got {
		if len(tasks) != len(got[ref]) {
			t.Fatalf("%+v: %d workflow tasks, want %d", v, len(tasks), len(got[ref]))
		}
		for i := range tasks {
			if string(tasks[i].Task) != string(got[ref][i].Task) || string(tasks[i].Result) != string(got[ref][i].Result) {
				t.Fatalf("%+v: workflow task %d differs from the broker path replaying every task", v, i)
			}
		}
	}
	if last := got[ref][len(got[ref])-1].Task; !strings.Contains(string(last), `"position":0`) {
		t.Fatal("the last workflow task does not carry the whole history")
	}
}

// TestPagedOutboxRepublishedAsFirstSent: when publishing after the write
// fails, the workflow task kept (without its data) in the outbox of a paged
// run is rebuilt, pages merged, byte for byte as first built.
func TestPagedOutboxRepublishedAsFirstSent(t *testing.T) {
	run := func(failAt int) *sim.Sim {
		s := sim.New(t, pagesRegistry(), sim.Options{FailPublish: func(n int) bool { return n == failAt }})
		dispatch(s, "PagesLoop", "run", "p1", 200)
		s.RunAll()
		return s
	}
	clean := run(-1)
	if pages := clean.State("p1").Method("p1").Pages; len(pages) == 0 {
		t.Fatal("setup: no history pages")
	}
	for failAt := 700; failAt < 706; failAt++ { // late in the run, once pages exist
		s := run(failAt)
		if len(s.DeadLetters) > 0 {
			t.Fatalf("dead letters: %+v", s.DeadLetters)
		}
		want, got := byInstance(t, clean.WorkflowTasks)["p1"], byInstance(t, s.WorkflowTasks)["p1"]
		if len(got) != len(want) {
			t.Fatalf("publish %d failing: %d workflow tasks, want %d", failAt, len(got), len(want))
		}
		for i := range want {
			if string(got[i].Task) != string(want[i].Task) {
				t.Fatalf("publish %d failing: workflow task %d was sent with other data", failAt, i)
			}
		}
	}
}
