package sim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage/memory"
)

// An attempt that loses its versioned write must have no effect: here the
// attempt that ends the instance (releasing its customId, reporting it
// completed) loses to a method dispatched onto the instance meanwhile; the
// instance then runs on, so neither may have gone out.

var (
	singleStep = weft.NewTask[int, int]("Single", "step")
	singleRun  = weft.NewWorkflow[int, int]("Single", "run")
	singlePing = weft.NewWorkflow[int, int]("Single", "ping")
)

func singleRegistry() *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, singleStep, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, singleRun, func(ctx weft.Context, n int) (int, error) { return weft.Call(ctx, singleStep, n) }))
	weft.MustRegister(weft.RegisterWorkflow(reg, singlePing, func(ctx weft.Context, n int) (int, error) {
		if err := weft.Sleep(ctx, time.Minute); err != nil {
			return 0, err
		}
		return n, nil
	}))
	return reg
}

// holdFirst runs the queue to the end, holding back (and returning) the
// first envelope for which hold is true.
func holdFirst(s *sim.Sim, hold func(core.Envelope) bool) *core.Envelope {
	var held *core.Envelope
	for len(s.Queue) > 0 {
		if env := s.Queue[0]; held == nil && hold(env) {
			held = &env
			s.Queue = s.Queue[1:]
			continue
		}
		s.Step()
	}
	return held
}

func TestLosingEndOfInstancePublishesNothing(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			var s *sim.Sim
			store := &hookStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now }))}
			s = sim.New(t, singleRegistry(), sim.Options{FastPath: fast, Store: store, Events: true})
			s.Send(core.Topic(core.PrefixWorkflowCmd, "Single"), "k1", &core.DispatchWorkflow{WorkflowID: "k1", Workflow: "Single", Method: "run",
				Input: []byte("1"), Tags: []string{"customId:one"}, Requester: &core.Requester{Client: "c1"}, ClientWaiting: true})
			// The handling that ends the main method: its task's result on
			// the fast path, the workflow task's result otherwise.
			ending := func(env core.Envelope) bool {
				if fast {
					return env.Type == "weft.engine.TaskCompleted"
				}
				return env.Type == "weft.engine.WorkflowTaskCompleted" && s.Count("weft.engine.TaskCompleted") == 1
			}
			held := holdFirst(s, ending)
			if held == nil {
				t.Fatal("setup: the ending input was not held")
			}
			raced := false
			store.hook = func() {
				raced = true
				ping := s.Send(core.Topic(core.PrefixWorkflowCmd, "Single"), "k1", &core.DispatchMethod{WorkflowID: "k1", Workflow: "Single",
					MethodRunID: "ping-1", Method: "ping", Input: []byte("7"), Requester: &core.Requester{Client: "c2"}, ClientWaiting: true})
				s.Queue = s.Queue[:len(s.Queue)-1]
				s.Handle(ping)
			}
			s.BeforeHandle = nil
			released := 0
			checkOthers := func(from int) int {
				for _, env := range s.Others[from:] {
					switch env.Type {
					case "weft.tag.RemoveTagFromWorkflow", "weft.event.workflow.completed":
						if st := s.State("k1"); st == nil || st.Result == nil {
							t.Errorf("%s published while the instance still runs", env.Type)
						}
						if env.Type == "weft.tag.RemoveTagFromWorkflow" {
							released++
						}
					}
				}
				return len(s.Others)
			}
			s.Handle(*held)
			seen := checkOthers(0)
			if !raced {
				t.Fatal("setup: the concurrent method was never dispatched")
			}
			s.Run()
			seen = checkOthers(seen)
			if st := s.State("k1"); st == nil || st.Result != nil || st.Method("ping-1") == nil {
				t.Fatalf("the instance should run on with its ping method: %+v", st)
			}
			s.RunAll()
			checkOthers(seen)
			if st := s.State("k1"); st == nil || st.Result == nil || st.Result.State != core.StateCompleted {
				t.Fatalf("the instance did not end: %+v", st)
			}
			if released != 1 {
				t.Errorf("customId released %d times, want once, at the end", released)
			}
			if o := clientOutcomes(s, "c1"); len(o) != 1 || string(o[0].Value) != "2" {
				t.Errorf("main method answers %+v, want one 2", o)
			}
			if o := clientOutcomes(s, "c2"); len(o) != 1 || string(o[0].Value) != "7" {
				t.Errorf("ping answers %+v, want one 7", o)
			}
		})
	}
}
