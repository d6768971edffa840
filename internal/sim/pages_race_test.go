package sim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
)

var advRaceWf = weft.NewWorkflow[int, int]("AdvRace", "run")

func advRaceRegistry() *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, pageStep, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, advRaceWf, func(ctx weft.Context, k int) (int, error) {
		total, err := weft.Inline(ctx, func() (int, error) { return 0, nil })
		if err != nil {
			return 0, err
		}
		for i := range k {
			v, err := weft.Call(ctx, pageStep, i)
			if err != nil {
				return 0, err
			}
			total += v
		}
		x := weft.Dispatch(ctx, pageStep, 7001)
		y := weft.Dispatch(ctx, pageStep, 7002)
		if err := weft.Sleep(ctx, time.Hour); err != nil {
			return 0, err
		}
		if _, err := weft.And(x, y).Await(); err != nil {
			return 0, err
		}
		a, _ := x.Await()
		b, _ := y.Await()
		return total + a + b, nil
	}))
	return reg
}

// pageStore hooks the first batch write that adds a page, and tracks
// every page key written and deleted.
type pageStore struct {
	storage.KeyValue
	hook    func()
	written map[string]bool
}

func (p *pageStore) PutMany(ctx context.Context, writes []storage.Write) ([]uint64, error) {
	hasPage := false
	for _, w := range writes {
		if strings.HasPrefix(w.Key, "workflow.history.") && w.Value != nil {
			hasPage = true
		}
	}
	if f := p.hook; f != nil && hasPage {
		p.hook = nil
		f()
	}
	vs, err := p.KeyValue.PutMany(ctx, writes)
	if err == nil {
		for _, w := range writes {
			if strings.HasPrefix(w.Key, "workflow.history.") {
				p.written[w.Key] = true
			}
		}
	}
	return vs, err
}

func TestAdvRaceOnAWriteAddingAPage(t *testing.T) {
	for _, fast := range []bool{false, true} {
		for _, kind := range []string{"y", "cancel", "complete-timers", "retry-workflow-task"} {
			for k := 126; k <= 129; k++ {
				t.Run(fmt.Sprintf("fast=%v/%s/k=%d", fast, kind, k), func(t *testing.T) {
					var s *sim.Sim
					ps := &pageStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now })), written: map[string]bool{}}
					s = sim.New(t, advRaceRegistry(), sim.Options{FastPath: fast, Store: ps})
					dispatch(s, "AdvRace", "run", "r1", k)
					var held []core.Envelope
					for len(s.Queue) > 0 {
						env := s.Queue[0]
						if env.Type == "weft.executor.ExecuteTask" && strings.Contains(string(env.Data), `"input":700`) {
							held = append(held, env)
							s.Queue = s.Queue[1:]
							continue
						}
						s.Step()
					}
					if len(held) != 2 {
						t.Fatalf("setup: %d held", len(held))
					}
					result := func(env core.Envelope) core.Envelope {
						res, err := s.Executor.Handle(context.Background(), env)
						if err != nil || len(res.Outputs) != 1 {
							t.Fatalf("task: %v %+v", err, res.Outputs)
						}
						return res.Outputs[0]
					}
					a := result(held[0])
					var b core.Envelope
					send := func(m core.Message) core.Envelope {
						env := s.Send(core.Topic(core.PrefixWorkflowCmd, "AdvRace"), "r1", m)
						s.Queue = s.Queue[:len(s.Queue)-1]
						return env
					}
					switch kind {
					case "y":
						b = result(held[1])
						held = held[:0]
					case "cancel":
						b = send(&core.CancelWorkflow{WorkflowID: "r1", Workflow: "AdvRace", Reason: core.ReasonCanceledByClient})
						held = held[1:]
					case "complete-timers":
						b = send(&core.CompleteTimers{WorkflowID: "r1", Workflow: "AdvRace"})
						held = held[1:]
					case "retry-workflow-task":
						b = send(&core.RetryWorkflowTask{WorkflowID: "r1", Workflow: "AdvRace"})
						held = held[1:]
					}
					other := s.OtherEngine()
					raced := false
					ps.hook = func() { raced = true; s.HandleOn(other, b) }
					s.HandleOn(s.Engine, a)
					if !raced {
						ps.hook = nil
						s.HandleOn(other, b)
					}
					t.Logf("raced on a page write: %v", raced)
					if st := s.State("r1"); st != nil && st.Result == nil {
						whole, err := client.LoadState(context.Background(), ps, "r1")
						if err != nil {
							t.Fatalf("load whole: %v", err)
						}
						if rep := advRaceRegistry().CheckReplay(whole); !rep.OK() {
							t.Fatalf("whole state after the race does not replay: %+v", rep.Problems)
						}
					}
					s.Queue = append(s.Queue, held...)
					s.RunAll()
					st := s.State("r1")
					if st == nil || st.Result == nil {
						t.Fatalf("not ended; dead %+v", s.DeadLetters)
					}
					if kind != "cancel" {
						want := k*(k+1)/2 + 7002 + 7003
						if v := st.EndedMethod("r1"); v == nil || string(v.Value) != fmt.Sprint(want) {
							b, _ := json.Marshal(v)
							t.Fatalf("result %s, want %d", b, want)
						}
					}
					for key := range ps.written {
						if _, v, _ := ps.Get(context.Background(), key); v != 0 {
							t.Errorf("page %s left behind after the end", key)
						}
					}
					if len(s.DeadLetters) > 0 {
						t.Fatalf("dead letters %+v", s.DeadLetters)
					}
				})
			}
		}
	}
}
