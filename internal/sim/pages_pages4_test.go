package sim_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage/memory"
)

type advCounter struct {
	Total int `json:"total"`
}

var (
	advMultiRun  = weft.NewWorkflow[int, int]("AdvMulti", "run")
	advMultiSide = weft.NewWorkflow[int, int]("AdvMulti", "side")
	advMultiKid  = weft.NewWorkflow[int, int]("AdvKid", "run")
	advMultiStop = weft.NewChannel[int]("AdvMulti", "stop")
)

func advMultiRegistry() *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, pageStep, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, advMultiKid, func(ctx weft.Context, n int) (int, error) {
		return weft.Call(ctx, pageStep, n)
	}))
	weft.MustRegister(weft.RegisterMethod(reg, advMultiRun, func(c *advCounter, ctx weft.Context, n int) (int, error) {
		stop := weft.Receive(ctx, advMultiStop, weft.Limit(0))
		for i := range n {
			v, err := weft.CallChild(ctx, advMultiKid, i)
			if err != nil {
				return 0, err
			}
			c.Total += v
		}
		// a method on itself, long enough to page, awaited
		v, err := weft.DispatchMethod(ctx, advMultiSide, weft.GetInfo(ctx).WorkflowID, n).Await()
		if err != nil {
			return 0, err
		}
		c.Total += v
		for range 3 {
			s, err := stop.Await()
			if err != nil {
				return 0, err
			}
			c.Total += s
		}
		return c.Total, nil
	}))
	weft.MustRegister(weft.RegisterMethod(reg, advMultiSide, func(c *advCounter, ctx weft.Context, n int) (int, error) {
		total := 0
		for i := range n {
			v, err := weft.Call(ctx, pageStep, i)
			if err != nil {
				return 0, err
			}
			total += v
			c.Total++
		}
		return total, nil
	}))
	return reg
}

// A long main method with children and an unlimited reception, a long
// method run on itself that ends while main goes on (its pages go, main's
// stay), then a method run dispatched from outside that is long too and
// is canceled alone; main ends.
func TestAdvMethodRunsEndWhileOthersGoOn(t *testing.T) {
	const n = 300
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			var s *sim.Sim
			store := memory.New(memory.WithClock(func() time.Time { return s.Now }))
			s = sim.New(t, advMultiRegistry(), sim.Options{FastPath: fast, Store: store})
			var sidePages []core.PageRef
			s.OnPublish = func(s *sim.Sim, env core.Envelope) {
				st := s.State("m1")
				if st == nil {
					return
				}
				for _, r := range st.Methods {
					if r.ID != "m1" && len(r.Pages) > len(sidePages) {
						sidePages = r.Pages
					}
				}
			}
			dispatch(s, "AdvMulti", "run", "m1", n)
			// an outside method run, long too, dispatched while main runs
			s.Send(core.Topic(core.PrefixWorkflowCmd, "AdvMulti"), "m1", &core.DispatchMethod{WorkflowID: "m1", Workflow: "AdvMulti", MethodRunID: "ext-1", Method: "side", Input: []byte(fmt.Sprint(n)), Requester: &core.Requester{Client: "c2"}})
			s.RunAll()
			st := s.State("m1")
			if st == nil || st.Result != nil {
				t.Fatalf("main should wait for its signals; dead %+v", s.DeadLetters)
			}
			main := st.Method("m1")
			if main == nil || len(main.Pages) == 0 || len(sidePages) == 0 {
				t.Fatalf("setup: main pages %d, side pages %d", len(main.Pages), len(sidePages))
			}
			if len(st.Methods) != 1 {
				t.Fatalf("the side runs should have ended: %d runs", len(st.Methods))
			}
			for _, p := range sidePages {
				if _, v, _ := store.Get(context.Background(), p.Key); v != 0 {
					t.Errorf("page %s of an ended method run kept", p.Key)
				}
			}
			for _, p := range main.Pages {
				if _, v, _ := store.Get(context.Background(), p.Key); v == 0 {
					t.Errorf("page %s of the live main run gone", p.Key)
				}
			}
			whole, err := client.LoadState(context.Background(), store, "m1")
			if err != nil {
				t.Fatal(err)
			}
			if rep := advMultiRegistry().CheckReplay(whole); !rep.OK() {
				t.Fatalf("whole state does not replay: %+v", rep.Problems)
			}
			for i := range 3 {
				s.Send(core.Topic(core.PrefixWorkflowCmd, "AdvMulti"), "m1", &core.SendSignal{WorkflowID: "m1", Workflow: "AdvMulti", Channel: "stop", SignalID: fmt.Sprint("stop-", i), Data: []byte("1")})
				s.RunAll()
			}
			// main: sum children (i+1) + side(n) total + side's c.Total++ from both sides + 3
			st = s.State("m1")
			if st == nil || st.Result == nil {
				t.Fatalf("not ended; dead %+v", s.DeadLetters)
			}
			for _, p := range main.Pages {
				if _, v, _ := store.Get(context.Background(), p.Key); v != 0 {
					t.Errorf("page %s kept after the end", p.Key)
				}
			}
			if len(s.DeadLetters) > 0 {
				t.Fatalf("dead letters %+v", s.DeadLetters)
			}
			t.Logf("result %s", st.EndedMethod("m1").Value)
		})
	}
}
